/* Signed call-event webhooks (see client.h): a JSON event posted to every
 * configured URL through the HTTP client, signed with HMAC-SHA256 over
 * "<timestamp>.<body>" so a receiver can check origin and freshness. Best
 * effort: posting only copies and queues; failures are logged and counted. */
#include "http/client.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "core/clock.h"
#include "core/log.h"
#include "http/client_priv.h"
#include "metrics/metrics.h"

enum {
	URLS_MAX = 16,
	EVENT_MAX = 32,
	EVENTS_MAX = 512,
	FIELDS_MAX = 64 * 1024, /* json_fields text */
	SIG_HEX = 64,
	SIG_LEN = 3 + SIG_HEX, /* "v1=" + hex */
};

struct webhooks {
	struct http_client *c;
	char *urls[URLS_MAX];
	unsigned nurls;
	char *secret;
	char events[EVENTS_MAX]; /* "" = all */
	unsigned timeout_ms;
	unsigned retries;
};

/* What a completion needs; independent of the webhooks object, which may
 * be gone by the time an answer comes back. */
struct sent {
	char event[EVENT_MAX + 1];
	unsigned url;
};

static void count(const char *result)
{
	char labels[32];

	snprintf(labels, sizeof(labels), "result=\"%s\"", result);
	metric_counter_add(metrics_counter("voxgate_webhooks_total", labels,
					   "Webhook deliveries by outcome."),
			   1);
}

static bool event_name_ok(const char *e)
{
	size_t n = 0;

	if (!e)
		return false;
	for (; e[n]; n++)
		if (!((e[n] >= 'a' && e[n] <= 'z') || e[n] == '_' ||
		      (e[n] >= '0' && e[n] <= '9')))
			return false;
	return n > 0 && n <= EVENT_MAX;
}

/* Events sent only when the list names them: "partial" comes several
 * times a turn, one HTTP request each, so "" (all) does not mean it. */
static bool event_opt_in(const char *event)
{
	return !strcmp(event, "partial");
}

/* Is event in the comma list (exact, whole entries)? "" means all but the
 * opt-in ones. */
static bool event_enabled(const char *list, const char *event)
{
	size_t n = strlen(event);

	if (!*list)
		return !event_opt_in(event);
	for (const char *p = list; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		while (len && *p == ' ') {
			p++;
			len--;
		}
		while (len && p[len - 1] == ' ')
			len--;
		if (len == n && !memcmp(p, event, n))
			return true;
		if (!end)
			break;
		p = end + 1;
	}
	return false;
}

int webhooks_sign(const char *secret, int64_t ts, const char *body, size_t len,
		  char *out, size_t cap)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	char tsbuf[32];
	size_t maclen = 0;
	EVP_MAC *alg = NULL;
	EVP_MAC_CTX *ctx = NULL;
	char digest[] = "SHA256";
	OSSL_PARAM params[2];
	int err = -EIO;

	if (!secret || (!body && len) || !out)
		return -EINVAL;
	if (cap < SIG_LEN + 1)
		return -ENOSPC;
	snprintf(tsbuf, sizeof(tsbuf), "%" PRId64 ".", ts);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (alg)
		ctx = EVP_MAC_CTX_new(alg);
	if (!ctx ||
	    !EVP_MAC_init(ctx, (const unsigned char *)secret, strlen(secret),
			  params) ||
	    !EVP_MAC_update(ctx, (const unsigned char *)tsbuf, strlen(tsbuf)) ||
	    (len && !EVP_MAC_update(ctx, (const unsigned char *)body, len)) ||
	    !EVP_MAC_final(ctx, mac, &maclen, sizeof(mac)) ||
	    maclen != SIG_HEX / 2)
		goto out;
	memcpy(out, "v1=", 3);
	for (size_t i = 0; i < maclen; i++) {
		static const char hex[] = "0123456789abcdef";

		out[3 + 2 * i] = hex[mac[i] >> 4];
		out[3 + 2 * i + 1] = hex[mac[i] & 15];
	}
	out[SIG_LEN] = '\0';
	err = 0;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(alg);
	return err;
}

static void free_strings(struct webhooks *w)
{
	for (unsigned i = 0; i < URLS_MAX; i++)
		free(w->urls[i]);
	if (w->secret) {
		OPENSSL_cleanse(w->secret, strlen(w->secret));
		free(w->secret);
	}
}

int webhooks_create(struct webhooks **wp, struct http_client *c,
		    const struct webhooks_opts *o)
{
	struct webhooks *w;

	if (!wp || !c || !o || !o->urls || !o->nurls || o->nurls > URLS_MAX ||
	    !o->secret || !*o->secret)
		return -EINVAL;
	if (o->events && strlen(o->events) >= EVENTS_MAX)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->c = c;
	w->timeout_ms = o->timeout_ms;
	w->retries = o->retries;
	snprintf(w->events, sizeof(w->events), "%s",
		 o->events ? o->events : "");
	w->secret = strdup(o->secret);
	for (unsigned i = 0; i < o->nurls; i++) {
		if (!o->urls[i]) {
			free_strings(w);
			free(w);
			return -EINVAL;
		}
		w->urls[i] = strdup(o->urls[i]);
		if (!w->urls[i])
			break;
	}
	w->nurls = o->nurls;
	if (!w->secret || !w->urls[o->nurls - 1]) {
		free_strings(w);
		free(w);
		return -ENOMEM;
	}
	*wp = w;
	return 0;
}

void webhooks_destroy(struct webhooks *w)
{
	if (!w)
		return;
	free_strings(w);
	free(w);
}

static void on_sent(const struct http_resp *resp, void *arg)
{
	struct sent *s = arg;

	if (resp->err || resp->status < 200 || resp->status > 299) {
		LOGW(NULL, "webhook_failed",
		     "name=%s url=%u err=%d status=%d tries=%u", s->event,
		     s->url, resp->err, resp->status, resp->tries);
		count("failed");
	} else {
		count("sent");
	}
	free(s);
}

/* {"event": e, "call_id": id, "ts": ms, ...fields}; fields cannot
 * override the three envelope members. */
static char *build_body(const char *event, const char *call_id,
			const char *fields, int64_t ts_ms, int *errp)
{
	cJSON *doc = cJSON_CreateObject(), *extra = NULL;
	char *txt = NULL;

	*errp = -ENOMEM;
	if (!doc)
		return NULL;
	if (fields && *fields) {
		size_t n = strlen(fields);

		*errp = -EINVAL;
		if (n > FIELDS_MAX)
			goto out;
		extra = cJSON_ParseWithLength(fields, n);
		if (!extra || !cJSON_IsObject(extra))
			goto out;
		*errp = -ENOMEM;
	}
	if (!cJSON_AddStringToObject(doc, "event", event) ||
	    !cJSON_AddStringToObject(doc, "call_id", call_id ? call_id : "") ||
	    !cJSON_AddNumberToObject(doc, "ts", (double)ts_ms))
		goto out;
	while (extra && extra->child) {
		cJSON *it = cJSON_DetachItemViaPointer(extra, extra->child);

		if (!it->string || !strcmp(it->string, "event") ||
		    !strcmp(it->string, "call_id") ||
		    !strcmp(it->string, "ts") ||
		    cJSON_GetObjectItemCaseSensitive(doc, it->string)) {
			cJSON_Delete(it);
			continue;
		}
		cJSON_AddItemToObject(doc, it->string, it);
	}
	txt = cJSON_PrintUnformatted(doc);
	if (txt)
		*errp = 0;
out:
	cJSON_Delete(extra);
	cJSON_Delete(doc);
	return txt;
}

bool webhooks_wants(const struct webhooks *w, const char *event)
{
	return w && event_name_ok(event) && event_enabled(w->events, event);
}

int webhooks_post(struct webhooks *w, const char *event, const char *call_id,
		  const char *json_fields)
{
	char sig[SIG_LEN + 1], tsbuf[24];
	int64_t ts_ms = clock_wall_ms();
	int err, first = 0;
	char *body;

	if (!w || !event_name_ok(event)) {
		LOGW(call_id, "webhook_refused", "reason=bad_event");
		return -EINVAL;
	}
	if (!event_enabled(w->events, event))
		return 0;
	body = build_body(event, call_id, json_fields, ts_ms, &err);
	if (!body) {
		LOGW(call_id, "webhook_refused", "name=%s err=%d", event, err);
		count("dropped");
		return err;
	}
	snprintf(tsbuf, sizeof(tsbuf), "%" PRId64, ts_ms / 1000);
	err = webhooks_sign(w->secret, ts_ms / 1000, body, strlen(body), sig,
			    sizeof(sig));
	if (err) {
		LOGW(call_id, "webhook_refused", "name=%s err=%d", event, err);
		count("dropped");
		free(body);
		return err;
	}
	const char *names[] = { "Content-Type", "X-Voxgate-Event",
				"X-Voxgate-Timestamp", "X-Voxgate-Signature" };
	const char *values[] = { "application/json", event, tsbuf, sig };
	for (unsigned i = 0; i < w->nurls; i++) {
		struct http_req req = {
			.method = "POST",
			.url = w->urls[i],
			.header_names = names,
			.header_values = values,
			.nheaders = 4,
			.body = body,
			.body_len = strlen(body),
			.timeout_ms = w->timeout_ms,
			.retries = w->retries,
			.tag = "webhook",
		};
		struct sent *s = calloc(1, sizeof(*s));

		err = s ? 0 : -ENOMEM;
		if (s) {
			snprintf(s->event, sizeof(s->event), "%s", event);
			s->url = i;
			err = http_client_submit(
				w->c, &req, http_client_loop(w->c), on_sent, s);
		}
		if (err) {
			LOGW(call_id, "webhook_dropped",
			     "name=%s url=%u err=%d", event, i, err);
			count("dropped");
			free(s);
			if (!first)
				first = err;
		}
	}
	OPENSSL_cleanse(sig, sizeof(sig));
	free(body);
	return first;
}
