/* `voxgate simulate` results: the server's CDRs joined by SIP Call-ID
 * (GET /v1/calls, GET /v1/calls/{id}), the expectations, and the text and
 * JSON reports. Runs after the loop, on the main thread; blocking is fine. */
#include "sim/detect.h"
#include "sim/sim_int.h"

#include <cJSON.h>
#include <ctype.h>
#include <stdarg.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HTTP_MAX_BYTES (8u << 20)
#define CDR_WAIT_MS 10000
#define LIST_PAGES_MAX 50

struct body {
	char *buf;
	size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t add = size * n;
	if (b->len + add > HTTP_MAX_BYTES)
		return 0;
	char *nb = realloc(b->buf, b->len + add + 1);
	if (!nb)
		return 0;
	memcpy(nb + b->len, p, add);
	b->buf = nb;
	b->len += add;
	b->buf[b->len] = '\0';
	return add;
}

/* GET url: the parsed JSON body of a 200, or NULL. */
static cJSON *http_get_json(const char *url)
{
	CURL *e = curl_easy_init();
	if (!e)
		return NULL;
	struct body b = { 0 };
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	CURLcode rc = curl_easy_perform(e);
	long code = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(e);
	cJSON *j = NULL;
	if (rc == CURLE_OK && code == 200 && b.buf)
		j = cJSON_ParseWithLength(b.buf, b.len);
	free(b.buf);
	return j;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Find the CDR id of every call with a Call-ID; returns how many were
 * found ended. ids[i] gets a malloc'd id. */
static size_t find_ids(const char *api, struct sim_call_result *res, size_t n,
		       char **ids)
{
	size_t found = 0;
	char url[1024];
	long long before_ms = 0;
	char before_id[160] = "";
	for (int page = 0; page < LIST_PAGES_MAX; page++) {
		if (before_ms)
			snprintf(url, sizeof(url),
				 "%s/v1/calls?limit=1000&before_ms=%lld&"
				 "before_id=%s",
				 api, before_ms, before_id);
		else
			snprintf(url, sizeof(url), "%s/v1/calls?limit=1000",
				 api);
		cJSON *j = http_get_json(url);
		if (!j)
			return found;
		const cJSON *calls =
			cJSON_GetObjectItemCaseSensitive(j, "calls");
		const cJSON *it;
		cJSON_ArrayForEach(it, calls)
		{
			const char *cid = cJSON_GetStringValue(
				cJSON_GetObjectItemCaseSensitive(
					it, "sip_call_id"));
			const char *id = cJSON_GetStringValue(
				cJSON_GetObjectItemCaseSensitive(it, "id"));
			const cJSON *ended = cJSON_GetObjectItemCaseSensitive(
				it, "ended_ms");
			if (!cid || !id || !cJSON_IsNumber(ended) ||
			    ended->valuedouble <= 0)
				continue;
			for (size_t i = 0; i < n; i++)
				if (!ids[i] &&
				    !strcmp(res[i].sip_call_id, cid)) {
					ids[i] = strdup(id);
					found += ids[i] != NULL;
				}
		}
		const cJSON *nb =
			cJSON_GetObjectItemCaseSensitive(j, "next_before_ms");
		const char *nid = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(j, "next_before_id"));
		bool more = cJSON_IsNumber(nb) && nid && strlen(nid) < 150;
		if (more) {
			before_ms = (long long)nb->valuedouble;
			/* ids are printable ASCII without space or '/' */
			snprintf(before_id, sizeof(before_id), "%s", nid);
		}
		cJSON_Delete(j);
		if (!more)
			break;
	}
	return found;
}

static void fetch_cdrs(const char *api, struct sim_call_result *res, size_t n)
{
	char **ids = calloc(n ? n : 1, sizeof(*ids));
	if (!ids)
		return;
	size_t want = 0, have = 0;
	for (size_t i = 0; i < n; i++)
		want += res[i].sip_call_id[0] != '\0';
	/* the daemon writes a CDR when the call has ended: wait a little */
	for (int waited = 0; waited <= CDR_WAIT_MS; waited += 250) {
		have += find_ids(api, res, n, ids);
		if (have >= want)
			break;
		sleep_ms(250);
	}
	char url[1024];
	for (size_t i = 0; i < n; i++) {
		if (!ids[i])
			continue;
		snprintf(url, sizeof(url), "%s/v1/calls/%s", api, ids[i]);
		res[i].cdr = http_get_json(url);
		free(ids[i]);
	}
	free(ids);
}

/* ---------- expectations ---------- */

static void add_fail(struct sim_call_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_fail(struct sim_call_result *r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	size_t old = r->expect_fail ? strlen(r->expect_fail) : 0;
	if (old > 4096)
		return;
	char *nb = realloc(r->expect_fail, old + strlen(msg) + 3);
	if (!nb)
		return;
	if (old)
		memcpy(nb + old, "; ", 3);
	else
		nb[0] = '\0';
	strcat(nb, msg);
	r->expect_fail = nb;
}

static bool contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	if (!n)
		return true;
	for (; *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return true;
	return false;
}

/* Does any prompt (with name == node, or any when node is NULL) say
 * words? */
static bool prompts_say(const cJSON *cdr, const char *node, const char *words)
{
	const cJSON *p;
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(cdr, "prompts"))
	{
		const char *name = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(p, "name"));
		const char *text = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(p, "text"));
		if (node && (!name || strcmp(name, node)))
			continue;
		if (text && contains_ci(text, words))
			return true;
	}
	return false;
}

/* The CDR turn the k-th speaking/keying scenario turn produced: CDR turns
 * that ended in no_input belong to silences and are skipped. */
static const cJSON *cdr_turn(const cJSON *cdr, size_t k)
{
	const cJSON *t;
	size_t i = 0;
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(cdr, "turns"))
	{
		const char *end = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(t, "end"));
		if (end && !strcmp(end, "no_input"))
			continue;
		if (i++ == k)
			return t;
	}
	return NULL;
}

static const char *jstr(const cJSON *o, const char *key)
{
	const char *s =
		cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
	return s ? s : "null";
}

static void check_turns(const struct sim_scenario *sc,
			struct sim_call_result *r)
{
	size_t k = 0;
	for (size_t i = 0; i < sc->nturns; i++) {
		const struct sim_turn *t = &sc->turns[i];
		const struct sim_expect *e = &t->expect;
		const struct sim_turn_result *tr =
			i < r->nturns ? &r->turns[i] : NULL;
		if (t->kind == SIM_TURN_SILENCE)
			continue;
		size_t idx = k++;
		bool needs_cdr = *e->intent || *e->next || e->nsays;
		if (!needs_cdr)
			continue;
		if (*e->intent)
			r->intents_checked++;
		if (!tr || !tr->ran) {
			add_fail(r, "turn %zu (line %u): never ran", i + 1,
				 t->line);
			continue;
		}
		if (!r->cdr) {
			add_fail(r,
				 "turn %zu (line %u): no CDR to check "
				 "(pass --api)",
				 i + 1, t->line);
			continue;
		}
		const cJSON *ct = cdr_turn(r->cdr, idx);
		if (!ct) {
			add_fail(r,
				 "turn %zu (line %u): the server recorded "
				 "no turn for it",
				 i + 1, t->line);
			continue;
		}
		if (*e->intent) {
			const char *got = jstr(ct, "intent");
			if (strcmp(got, e->intent))
				add_fail(r,
					 "turn %zu (line %u): intent %s, "
					 "expected %s (transcript \"%s\")",
					 i + 1, t->line, got, e->intent,
					 jstr(ct, "transcript"));
			else
				r->intents_ok++;
		}
		if (*e->next && strcmp(jstr(ct, "next"), e->next))
			add_fail(r,
				 "turn %zu (line %u): next node %s, "
				 "expected %s",
				 i + 1, t->line, jstr(ct, "next"), e->next);
		const char *next = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(ct, "next"));
		for (size_t w = 0; w < e->nsays; w++)
			if (!prompts_say(r->cdr, next, e->says[w]))
				add_fail(r,
					 "turn %zu (line %u): the bot did "
					 "not say \"%s\" at %s",
					 i + 1, t->line, e->says[w],
					 next ? next : "any node");
	}
}

static void check_call(const struct sim_scenario *sc, struct sim_call_result *r)
{
	const struct sim_expect *e = &sc->expect;
	if (*e->transfer) {
		bool none = !strcmp(e->transfer, "none");
		if (none && r->refer_to[0])
			add_fail(r, "transferred to %s, expected no transfer",
				 r->refer_to);
		else if (!none && !contains_ci(r->refer_to, e->transfer))
			add_fail(r,
				 "transfer target \"%s\", expected one "
				 "with \"%s\"",
				 r->refer_to[0] ? r->refer_to : "(none)",
				 e->transfer);
	}
	bool needs_cdr = e->nnodes || e->nsays || *e->end_reason;
	if (!needs_cdr)
		return;
	if (!r->cdr) {
		add_fail(r, "no CDR to check the call's expectations (pass "
			    "--api)");
		return;
	}
	for (size_t i = 0; i < e->nnodes; i++) {
		bool seen = false;
		const cJSON *n;
		cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(
					      r->cdr, "flow_path"))
		{
			const char *s = cJSON_GetStringValue(n);
			seen |= s && !strcmp(s, e->nodes[i]);
		}
		if (!seen)
			add_fail(r, "the flow never reached node %s",
				 e->nodes[i]);
	}
	for (size_t i = 0; i < e->nsays; i++)
		if (!prompts_say(r->cdr, NULL, e->says[i]))
			add_fail(r, "the bot never said \"%s\"", e->says[i]);
	if (*e->end_reason && strcmp(jstr(r->cdr, "end_reason"), e->end_reason))
		add_fail(r, "end_reason %s, expected %s",
			 jstr(r->cdr, "end_reason"), e->end_reason);
}

size_t sim_report_check(const struct sim_opts *o, const struct sim_scenario *sc,
			struct sim_call_result *res, size_t n)
{
	if (o->api) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		fetch_cdrs(o->api, res, n);
	}
	size_t bad = 0;
	for (size_t i = 0; i < n; i++) {
		struct sim_call_result *r = &res[i];
		if (r->answered) {
			check_turns(sc, r);
			check_call(sc, r);
		}
		bad += r->failed || r->expect_fail;
	}
	if (o->api)
		curl_global_cleanup();
	return bad;
}

/* ---------- figures ---------- */

struct series {
	double *v;
	size_t n, cap;
};

static void series_add(struct series *s, double x)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		double *nv = realloc(s->v, cap * sizeof(*nv));
		if (!nv)
			return;
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = x;
}

enum stage { ST_STT, ST_NLU, ST_BUSINESS, ST_TTS, ST_SEND, ST_SERVER, ST_N };
static const char *const stage_names[ST_N] = {
	"stt", "nlu", "business", "tts", "send", "server_total",
};

struct figures {
	struct series turn, setup, barge, dtmf, speech;
	struct series stage[ST_N];
	size_t calls, answered, failed, transferred, turns, replied;
	int intents_checked, intents_ok;
};

static bool tnum(const cJSON *t, const char *k, double *v)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(t, k);
	if (!cJSON_IsNumber(x))
		return false;
	*v = x->valuedouble;
	return true;
}

static void collect(const struct sim_scenario *sc,
		    const struct sim_call_result *res, size_t n,
		    struct figures *f)
{
	memset(f, 0, sizeof(*f));
	f->calls = n;
	for (size_t i = 0; i < n; i++) {
		const struct sim_call_result *r = &res[i];
		f->failed += r->failed || r->expect_fail;
		f->intents_checked += r->intents_checked;
		f->intents_ok += r->intents_ok;
		if (!r->answered)
			continue;
		f->answered++;
		f->transferred += r->refer_to[0] != '\0';
		series_add(&f->setup, r->setup_ms);
		for (size_t j = 0; j < r->nturns; j++) {
			const struct sim_turn_result *t = &r->turns[j];
			if (!t->ran)
				continue;
			f->turns++;
			if (t->barge_stop_ms >= 0)
				series_add(&f->barge, t->barge_stop_ms);
			if (!t->replied)
				continue;
			f->replied++;
			if (sc->turns[j].kind == SIM_TURN_DTMF)
				series_add(&f->dtmf, t->latency_ms);
			else
				series_add(&f->speech, t->latency_ms);
			series_add(&f->turn, t->latency_ms);
		}
		const cJSON *t;
		cJSON_ArrayForEach(
			t, cJSON_GetObjectItemCaseSensitive(r->cdr, "turns"))
		{
			const cJSON *tm =
				cJSON_GetObjectItemCaseSensitive(t, "t_ms");
			double stt, nlu, resp, tts, first;
			if (!tnum(tm, "stt_final", &stt) ||
			    !tnum(tm, "nlu_done", &nlu) ||
			    !tnum(tm, "response", &resp))
				continue;
			series_add(&f->stage[ST_STT], stt);
			series_add(&f->stage[ST_NLU], nlu - stt);
			series_add(&f->stage[ST_BUSINESS], resp - nlu);
			if (tnum(tm, "tts_ready", &tts)) {
				series_add(&f->stage[ST_TTS], tts - resp);
				if (tnum(tm, "first_rtp", &first)) {
					series_add(&f->stage[ST_SEND],
						   first - tts);
					series_add(&f->stage[ST_SERVER], first);
				}
			}
		}
	}
}

static void figures_free(struct figures *f)
{
	free(f->turn.v);
	free(f->setup.v);
	free(f->barge.v);
	free(f->dtmf.v);
	free(f->speech.v);
	for (int i = 0; i < ST_N; i++)
		free(f->stage[i].v);
}

static cJSON *pct_json(struct series *s)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "n", (double)s->n);
	if (!s->n) {
		cJSON_AddNullToObject(o, "p50");
		cJSON_AddNullToObject(o, "p95");
		cJSON_AddNullToObject(o, "p99");
		cJSON_AddNullToObject(o, "max");
		return o;
	}
	cJSON_AddNumberToObject(o, "p50", sim_percentile(s->v, s->n, 50));
	cJSON_AddNumberToObject(o, "p95", sim_percentile(s->v, s->n, 95));
	cJSON_AddNumberToObject(o, "p99", sim_percentile(s->v, s->n, 99));
	cJSON_AddNumberToObject(o, "max", s->v[s->n - 1]);
	return o;
}

static void print_json(const struct sim_opts *o, const struct sim_scenario *sc,
		       const struct sim_call_result *res, size_t n,
		       struct figures *f, double wall_ms, FILE *out)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "scenario", sc->name);
	cJSON_AddStringToObject(j, "target", sc->target);
	cJSON_AddNumberToObject(j, "calls", (double)f->calls);
	cJSON_AddNumberToObject(j, "answered", (double)f->answered);
	cJSON_AddNumberToObject(j, "failed", (double)f->failed);
	cJSON_AddNumberToObject(j, "concurrency", o->concurrency);
	cJSON_AddNumberToObject(j, "wall_ms", wall_ms);
	cJSON_AddNumberToObject(j, "turns", (double)f->turns);
	cJSON_AddNumberToObject(j, "turns_replied", (double)f->replied);
	cJSON_AddItemToObject(j, "turn_latency_ms", pct_json(&f->turn));
	cJSON_AddItemToObject(j, "speech_latency_ms", pct_json(&f->speech));
	cJSON_AddItemToObject(j, "dtmf_latency_ms", pct_json(&f->dtmf));
	cJSON_AddItemToObject(j, "barge_in_stop_ms", pct_json(&f->barge));
	cJSON_AddItemToObject(j, "setup_ms", pct_json(&f->setup));
	cJSON *st = cJSON_AddObjectToObject(j, "stages_ms");
	for (int i = 0; i < ST_N; i++)
		cJSON_AddItemToObject(st, stage_names[i],
				      pct_json(&f->stage[i]));
	if (f->intents_checked)
		cJSON_AddNumberToObject(j, "intent_accuracy",
					(double)f->intents_ok /
						f->intents_checked);
	else
		cJSON_AddNullToObject(j, "intent_accuracy");
	if (f->answered)
		cJSON_AddNumberToObject(j, "containment",
					(double)(f->answered - f->transferred) /
						(double)f->answered);
	else
		cJSON_AddNullToObject(j, "containment");
	cJSON *fl = cJSON_AddArrayToObject(j, "failures");
	cJSON *calls = cJSON_AddArrayToObject(j, "call_results");
	for (size_t i = 0; i < n; i++) {
		const struct sim_call_result *r = &res[i];
		cJSON *c = cJSON_CreateObject();
		cJSON_AddNumberToObject(c, "call", (double)r->idx);
		cJSON_AddStringToObject(c, "sip_call_id", r->sip_call_id);
		const char *id = r->cdr ? jstr(r->cdr, "id") : NULL;
		if (id)
			cJSON_AddStringToObject(c, "cdr_id", id);
		else
			cJSON_AddNullToObject(c, "cdr_id");
		cJSON_AddBoolToObject(c, "answered", r->answered);
		cJSON_AddNumberToObject(c, "setup_ms", r->setup_ms);
		cJSON_AddNumberToObject(c, "rtp_rx", (double)r->rtp_rx);
		cJSON_AddNumberToObject(c, "rtp_tx", (double)r->rtp_tx);
		cJSON_AddStringToObject(c, "transfer", r->refer_to);
		cJSON_AddStringToObject(c, "hangup",
					r->server_bye	? "server"
					: r->caller_bye ? "caller"
							: "none");
		cJSON *ts = cJSON_AddArrayToObject(c, "turns");
		for (size_t k = 0; k < r->nturns; k++) {
			const struct sim_turn_result *t = &r->turns[k];
			cJSON *tj = cJSON_CreateObject();
			cJSON_AddBoolToObject(tj, "ran", t->ran);
			cJSON_AddNumberToObject(tj, "variant", t->variant);
			if (t->replied)
				cJSON_AddNumberToObject(tj, "latency_ms",
							t->latency_ms);
			else
				cJSON_AddNullToObject(tj, "latency_ms");
			cJSON_AddBoolToObject(tj, "overlap", t->overlap);
			cJSON_AddBoolToObject(tj, "barged", t->barged);
			if (t->barge_stop_ms >= 0)
				cJSON_AddNumberToObject(tj, "barge_in_stop_ms",
							t->barge_stop_ms);
			cJSON_AddItemToArray(ts, tj);
		}
		cJSON_AddItemToArray(calls, c);
		if (!r->failed && !r->expect_fail)
			continue;
		cJSON *x = cJSON_CreateObject();
		cJSON_AddNumberToObject(x, "call", (double)r->idx);
		cJSON_AddStringToObject(x, "sip_call_id", r->sip_call_id);
		char why[5120];
		snprintf(why, sizeof(why), "%s%s%s", r->failed ? r->reason : "",
			 r->failed && r->expect_fail ? "; " : "",
			 r->expect_fail ? r->expect_fail : "");
		cJSON_AddStringToObject(x, "reason", why);
		cJSON_AddItemToArray(fl, x);
	}
	char *s = cJSON_Print(j);
	if (s)
		fprintf(out, "%s\n", s);
	free(s);
	cJSON_Delete(j);
}

static void row(FILE *out, const char *name, struct series *s)
{
	if (!s->n) {
		fprintf(out, "  %-22s %6s %8s %8s %8s %8s\n", name, "0", "-",
			"-", "-", "-");
		return;
	}
	/* sim_percentile sorts: take max after it */
	double p50 = sim_percentile(s->v, s->n, 50);
	double p95 = sim_percentile(s->v, s->n, 95);
	double p99 = sim_percentile(s->v, s->n, 99);
	fprintf(out, "  %-22s %6zu %8.1f %8.1f %8.1f %8.1f\n", name, s->n, p50,
		p95, p99, s->v[s->n - 1]);
}

void sim_report_print(const struct sim_opts *o, const struct sim_scenario *sc,
		      const struct sim_call_result *res, size_t n,
		      double wall_ms, void *fp)
{
	FILE *out = fp;
	struct figures f;
	collect(sc, res, n, &f);
	if (o->json) {
		print_json(o, sc, res, n, &f, wall_ms, out);
		figures_free(&f);
		return;
	}
	fprintf(out,
		"scenario %s -> %s: %zu calls, %zu answered, %zu failed "
		"(%.1f s)\n",
		sc->name, sc->target, f.calls, f.answered, f.failed,
		wall_ms / 1000.0);
	fprintf(out, "  %-22s %6s %8s %8s %8s %8s\n", "ms", "n", "p50", "p95",
		"p99", "max");
	row(out, "turn latency", &f.turn);
	row(out, "  after speech", &f.speech);
	row(out, "  after dtmf", &f.dtmf);
	row(out, "barge-in stop", &f.barge);
	row(out, "call setup", &f.setup);
	for (int i = 0; i < ST_N; i++) {
		char name[40];
		snprintf(name, sizeof(name), "server %s", stage_names[i]);
		row(out, name, &f.stage[i]);
	}
	if (f.intents_checked)
		fprintf(out, "intent accuracy %.1f%% (%d/%d)\n",
			100.0 * f.intents_ok / f.intents_checked, f.intents_ok,
			f.intents_checked);
	if (f.answered)
		fprintf(out,
			"containment %.1f%% (%zu of %zu answered calls "
			"without transfer)\n",
			100.0 * (double)(f.answered - f.transferred) /
				(double)f.answered,
			f.answered - f.transferred, f.answered);
	size_t shown = 0;
	for (size_t i = 0; i < n && shown < 20; i++) {
		const struct sim_call_result *r = &res[i];
		if (!r->failed && !r->expect_fail)
			continue;
		shown++;
		fprintf(out, "FAIL call %llu (%s): %s%s%s\n",
			(unsigned long long)r->idx, r->sip_call_id,
			r->failed ? r->reason : "",
			r->failed && r->expect_fail ? "; " : "",
			r->expect_fail ? r->expect_fail : "");
	}
	if (f.failed > shown)
		fprintf(out, "... and %zu more failed calls\n",
			f.failed - shown);
	figures_free(&f);
}
