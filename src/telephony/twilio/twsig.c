/* Twilio request signatures (twilio-node src/webhooks/webhooks.ts
 * semantics, written from the documented algorithm and the shared test
 * vectors). */
#include "telephony/twilio/twsig.h"

#include "core/strbuf.h"
#include "telephony/twilio/twform.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#define SIGNED_MAX (256 * 1024)

static int cmp_pairp(const void *a, const void *b)
{
	const struct twform_pair *x = *(const struct twform_pair *const *)a;
	const struct twform_pair *y = *(const struct twform_pair *const *)b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

int twilio_sig_compute(const char *auth_token, const char *url,
		       const struct twform *params, char *out)
{
	if (!auth_token || !url || !out)
		return -EINVAL;
	size_t n = params ? params->n : 0;
	const struct twform_pair **sorted = NULL;
	struct strbuf sb;
	strbuf_init(&sb, SIGNED_MAX);
	int err = strbuf_addstr(&sb, url);
	if (err)
		goto out;
	if (n) {
		err = -ENOMEM;
		sorted = malloc(n * sizeof(*sorted));
		if (!sorted)
			goto out;
		for (size_t i = 0; i < n; i++)
			sorted[i] = &params->pairs[i];
		qsort(sorted, n, sizeof(*sorted), cmp_pairp);
	}
	for (size_t i = 0; i < n; i++) {
		/* a repeated name with the same value counts once */
		if (i && !cmp_pairp(&sorted[i - 1], &sorted[i]))
			continue;
		err = strbuf_addstr(&sb, sorted[i]->name);
		if (!err)
			err = strbuf_addstr(&sb, sorted[i]->value);
		if (err)
			goto out;
	}
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned maclen = 0;
	err = -EIO;
	if (!HMAC(EVP_sha1(), auth_token, (int)strlen(auth_token),
		  (const unsigned char *)sb.buf, sb.len, mac, &maclen) ||
	    maclen != 20)
		goto out;
	if (EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen) !=
	    TWSIG_LEN)
		goto out;
	err = 0;
out:
	free(sorted);
	strbuf_fini(&sb);
	return err;
}

/* The URL with its port forced (with_port: explicit kept, else the
 * scheme's default added) or removed, as a new string (free it), or NULL
 * (ENOMEM; or the URL has no "scheme://"). */
static char *url_variant(const char *url, bool with_port)
{
	const char *sep = strstr(url, "://");
	if (!sep)
		return NULL;
	const char *auth = sep + 3;
	size_t alen = strcspn(auth, "/?#");
	const char *host = auth;
	for (const char *p = auth; p < auth + alen; p++) {
		if (*p == '@')
			host = p + 1;
	}
	const char *end = auth + alen;
	const char *colon = NULL;
	for (const char *p = host; p < end; p++) {
		if (*p == ']')
			colon = NULL; /* IPv6 literal: its colons are no port */
		else if (*p == ':')
			colon = p;
	}
	const char *def = NULL;
	size_t slen = (size_t)(sep - url);
	if (slen == 5 && !strncasecmp(url, "https", 5))
		def = ":443";
	else if (slen == 4 && !strncasecmp(url, "http", 4))
		def = ":80";

	const char *cut = end; /* where the port text starts */
	const char *ins = "";  /* what to put there */
	if (with_port) {
		if (colon)
			return strdup(url);
		ins = def ? def : "";
	} else if (colon) {
		cut = colon;
	}
	size_t total = (size_t)(cut - url) + strlen(ins) + strlen(end) + 1;
	char *v = malloc(total);
	if (!v)
		return NULL;
	memcpy(v, url, (size_t)(cut - url));
	strcpy(v + (cut - url), ins);
	strcat(v, end);
	return v;
}

static bool sig_matches(const char *token, const char *url,
			const struct twform *params, const char *header)
{
	char want[TWSIG_LEN + 1];
	if (twilio_sig_compute(token, url, params, want))
		return false;
	return CRYPTO_memcmp(want, header, TWSIG_LEN) == 0;
}

/* Does the URL's bodySHA256 parameter match the body's hash? */
static bool body_matches(const char *url, const char *body, size_t len)
{
	const char *q = strchr(url, '?');
	if (!q)
		return false;
	q++;
	struct twform f;
	twform_init(&f);
	if (twform_parse(&f, q, strcspn(q, "#")))
		return false;
	const char *hex = twform_get(&f, "bodySHA256");
	bool ok = false;
	unsigned char md[SHA256_DIGEST_LENGTH];
	if (hex && strlen(hex) == 2 * sizeof(md) &&
	    EVP_Digest(body, len, md, NULL, EVP_sha256(), NULL)) {
		static const char digits[] = "0123456789abcdef";
		char mine[2 * sizeof(md) + 1];
		for (size_t i = 0; i < sizeof(md); i++) {
			mine[2 * i] = digits[md[i] >> 4];
			mine[2 * i + 1] = digits[md[i] & 15];
		}
		ok = CRYPTO_memcmp(mine, hex, sizeof(mine) - 1) == 0;
	}
	twform_fini(&f);
	return ok;
}

bool twilio_sig_valid(const char *auth_token, const char *url,
		      const struct twform *params, const char *body,
		      size_t body_len, const char *header_value)
{
	if (!auth_token || !*auth_token || !url || !header_value ||
	    strlen(header_value) != TWSIG_LEN)
		return false;
	if (body) {
		if (!body_matches(url, body, body_len))
			return false;
		params = NULL; /* JSON: the URL alone is signed */
	}
	bool ok = false;
	for (int with_port = 1; with_port >= 0 && !ok; with_port--) {
		char *v = url_variant(url, with_port);
		if (v)
			ok = sig_matches(auth_token, v, params, header_value);
		free(v);
	}
	return ok;
}
