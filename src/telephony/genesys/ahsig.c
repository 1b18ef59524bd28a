/* Genesys AudioHook upgrade signatures (see ahsig.h). The base is rebuilt
 * from the Signature-Input exactly as sent (its inner list and parameters
 * are copied, not re-serialized), so what we sign is what the client
 * signed. */
#include "telephony/genesys/ahsig.h"
#include "core/b64.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "telephony/twilio/mstream_msg.h"

enum { SIG_LEN = 32, NONCE_HASH = 16 };

static const char *const required[] = {
	"@request-target",	     "@authority",
	"audiohook-organization-id", "audiohook-session-id",
	"audiohook-correlation-id",  "x-api-key",
};

/* ---------- parsing ---------- */

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* A quoted string at *pp into out[cap]; *pp moves past it. */
static int read_quoted(const char **pp, const char *end, char *out, size_t cap)
{
	const char *p = *pp;
	if (p >= end || *p != '"')
		return -EBADMSG;
	p++;
	size_t n = 0;
	while (p < end && *p != '"') {
		if (*p == '\\' || (unsigned char)*p < 0x20 ||
		    (unsigned char)*p > 0x7e || n + 1 >= cap)
			return -EBADMSG;
		out[n++] = *p++;
	}
	if (p >= end)
		return -EBADMSG;
	out[n] = '\0';
	*pp = p + 1;
	return 0;
}

static int read_int(const char **pp, const char *end, int64_t *v)
{
	const char *p = *pp;
	int64_t x = 0;
	int digits = 0;
	while (p < end && isdigit((unsigned char)*p)) {
		if (++digits > 15)
			return -EBADMSG;
		x = x * 10 + (*p++ - '0');
	}
	if (!digits)
		return -EBADMSG;
	*v = x;
	*pp = p;
	return 0;
}

int ahsig_input_parse(const char *val, size_t len, struct ahsig_input *in)
{
	if (!val || !in)
		return -EINVAL;
	if (len >= AHSIG_HEADER_MAX)
		return -EBADMSG;
	memset(in, 0, sizeof(*in));
	const char *p = skip_ws(val, val + len);
	const char *end = val + len;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t ln = 0;
	while (p < end && (isalnum((unsigned char)*p) || *p == '-' ||
			   *p == '_' || *p == '*' || *p == '.')) {
		if (ln + 1 >= sizeof(in->label))
			return -EBADMSG;
		in->label[ln++] = *p++;
	}
	if (!ln || p >= end || *p++ != '=' || p >= end || *p++ != '(')
		return -EBADMSG;
	for (;;) {
		p = skip_ws(p, end);
		if (p < end && *p == ')') {
			p++;
			break;
		}
		if (in->ncomponents >= AHSIG_COMPONENTS_MAX)
			return -EBADMSG;
		char *c = in->components[in->ncomponents];
		if (read_quoted(&p, end, c, sizeof(in->components[0])))
			return -EBADMSG;
		for (char *q = c; *q; q++)
			if (isupper((unsigned char)*q))
				return -EBADMSG; /* names are lowercase */
		if (!c[0])
			return -EBADMSG;
		in->ncomponents++;
		if (p < end && *p != ' ' && *p != ')')
			return -EBADMSG;
	}
	/* everything after the list: the parameters, kept verbatim */
	size_t plen = (size_t)(end - p);
	memcpy(in->params, p, plen);
	in->params[plen] = '\0';
	while (p < end) {
		if (*p++ != ';')
			return -EBADMSG;
		char name[16];
		size_t nl = 0;
		while (p < end && (islower((unsigned char)*p) || *p == '-')) {
			if (nl + 1 >= sizeof(name))
				return -EBADMSG;
			name[nl++] = *p++;
		}
		name[nl] = '\0';
		if (!nl || p >= end || *p++ != '=')
			return -EBADMSG;
		int err = 0;
		if (!strcmp(name, "keyid")) {
			err = read_quoted(&p, end, in->keyid,
					  sizeof(in->keyid));
		} else if (!strcmp(name, "nonce")) {
			err = read_quoted(&p, end, in->nonce,
					  sizeof(in->nonce));
		} else if (!strcmp(name, "alg")) {
			err = read_quoted(&p, end, in->alg, sizeof(in->alg));
		} else if (!strcmp(name, "created")) {
			err = read_int(&p, end, &in->created);
			in->has_created = !err;
		} else if (!strcmp(name, "expires")) {
			err = read_int(&p, end, &in->expires);
			in->has_expires = !err;
		} else if (p < end && *p == '"') {
			char skip[AHSIG_HEADER_MAX];
			err = read_quoted(&p, end, skip, sizeof(skip));
		} else {
			int64_t skip;
			err = read_int(&p, end, &skip);
		}
		if (err)
			return -EBADMSG;
	}
	return 0;
}

int ahsig_signature_get(const char *val, size_t len, const char *label,
			uint8_t *sig, size_t cap)
{
	if (!val || !label || !sig)
		return -EINVAL;
	size_t ll = strlen(label);
	const char *p = val, *end = val + len;
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		const char *item = p;
		while (p < end && *p != ',')
			p++;
		const char *iend = p;
		if ((size_t)(iend - item) > ll + 2 &&
		    !memcmp(item, label, ll) && item[ll] == '=' &&
		    item[ll + 1] == ':') {
			const char *b = item + ll + 2;
			const char *e = iend;
			while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			if (e <= b || e[-1] != ':')
				return -EBADMSG;
			int n = b64_decode(b, (size_t)(e - 1 - b), sig, cap);
			return n < 0 ? -EBADMSG : n;
		}
	}
	return -ENOENT;
}

int ahsig_base_build(char *out, size_t cap, const struct ahsig_input *in,
		     ahsig_lookup_fn *lookup, void *arg)
{
	if (!out || !in || !lookup || !cap)
		return -EINVAL;
	size_t o = 0;
	char list[AHSIG_COMPONENTS_MAX * 50 + 4];
	size_t lo = 0;
	list[lo++] = '(';
	for (unsigned i = 0; i < in->ncomponents; i++) {
		const char *name = in->components[i];
		const char *v = lookup(name, arg);
		if (!v)
			return -ENOENT;
		int n = snprintf(out + o, cap - o, "\"%s\": %s\n", name, v);
		if (n < 0 || (size_t)n >= cap - o)
			return -ENOSPC;
		o += (size_t)n;
		n = snprintf(list + lo, sizeof(list) - lo, "%s\"%s\"",
			     i ? " " : "", name);
		if (n < 0 || (size_t)n >= sizeof(list) - lo)
			return -ENOSPC;
		lo += (size_t)n;
	}
	list[lo++] = ')';
	list[lo] = '\0';
	int n = snprintf(out + o, cap - o, "\"@signature-params\": %s%s", list,
			 in->params);
	if (n < 0 || (size_t)n >= cap - o)
		return -ENOSPC;
	return (int)(o + (size_t)n);
}

static int hmac_raw(const uint8_t *key, size_t key_len, const char *base,
		    size_t base_len, uint8_t mac[SIG_LEN])
{
	unsigned int ml = 0;
	if (!HMAC(EVP_sha256(), key, (int)key_len, (const uint8_t *)base,
		  base_len, mac, &ml) ||
	    ml != SIG_LEN)
		return -EIO;
	return 0;
}

int ahsig_hmac_b64(const uint8_t *key, size_t key_len, const char *base,
		   size_t base_len, char *out, size_t cap)
{
	uint8_t mac[SIG_LEN];
	int err = hmac_raw(key, key_len, base, base_len, mac);
	if (err)
		return err;
	return b64_encode(mac, sizeof(mac), out, cap);
}

/* ---------- verifier ---------- */

struct ahkey {
	char api_key[AHSIG_KEY_LEN];
	uint8_t secret[AHSIG_SECRET_MAX];
	size_t secret_len;
};

struct ahsig {
	struct ahsig_cfg cfg;
	struct ahkey keys[AHSIG_KEYS_MAX];
	unsigned nkeys;
	/* nonces seen: a ring of hashes, oldest overwritten first */
	uint8_t (*nonces)[NONCE_HASH];
	size_t nnonces, next;
};

int ahsig_create(struct ahsig **sp, const struct ahsig_cfg *cfg)
{
	if (!sp)
		return -EINVAL;
	struct ahsig *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (cfg)
		s->cfg = *cfg;
	if (!s->cfg.max_skew_s)
		s->cfg.max_skew_s = 30;
	if (!s->cfg.max_age_s)
		s->cfg.max_age_s = 300;
	if (!s->cfg.nonce_cache)
		s->cfg.nonce_cache = 4096;
	s->nonces = calloc(s->cfg.nonce_cache, NONCE_HASH);
	if (!s->nonces) {
		free(s);
		return -ENOMEM;
	}
	*sp = s;
	return 0;
}

void ahsig_destroy(struct ahsig *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s->keys, sizeof(s->keys));
	free(s->nonces);
	free(s);
}

int ahsig_key_add(struct ahsig *s, const char *api_key,
		  const char *client_secret_b64)
{
	if (!s || !api_key || !api_key[0] || !client_secret_b64 ||
	    strlen(api_key) >= AHSIG_KEY_LEN)
		return -EINVAL;
	if (s->nkeys >= AHSIG_KEYS_MAX)
		return -ENOSPC;
	struct ahkey *k = &s->keys[s->nkeys];
	int n = b64_decode(client_secret_b64, strlen(client_secret_b64),
			   k->secret, sizeof(k->secret));
	if (n <= 0) {
		OPENSSL_cleanse(k, sizeof(*k));
		return -EINVAL;
	}
	k->secret_len = (size_t)n;
	snprintf(k->api_key, sizeof(k->api_key), "%s", api_key);
	s->nkeys++;
	return 0;
}

/* Constant time over every configured key: the position of a match and
 * whether there is one do not change the work done. */
static const struct ahkey *find_key(const struct ahsig *s, const char *api)
{
	char probe[AHSIG_KEY_LEN] = { 0 };
	snprintf(probe, sizeof(probe), "%s", api);
	const struct ahkey *found = NULL;
	for (unsigned i = 0; i < s->nkeys; i++) {
		char cand[AHSIG_KEY_LEN] = { 0 };
		/* api_key is NUL-terminated within AHSIG_KEY_LEN */
		memcpy(cand, s->keys[i].api_key, sizeof(cand));
		bool eq = !CRYPTO_memcmp(cand, probe, sizeof(cand)) &&
			  strlen(api) < AHSIG_KEY_LEN;
		if (eq)
			found = &s->keys[i];
	}
	return found;
}

static void nonce_hash(const char *nonce, uint8_t out[NONCE_HASH])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int ml = 0;
	(void)EVP_Digest(nonce, strlen(nonce), md, &ml, EVP_sha256(), NULL);
	memcpy(out, md, NONCE_HASH);
}

static bool nonce_seen(const struct ahsig *s, const uint8_t h[NONCE_HASH])
{
	for (size_t i = 0; i < s->nnonces; i++)
		if (!memcmp(s->nonces[i], h, NONCE_HASH))
			return true;
	return false;
}

static void nonce_add(struct ahsig *s, const uint8_t h[NONCE_HASH])
{
	memcpy(s->nonces[s->next], h, NONCE_HASH);
	s->next = (s->next + 1) % s->cfg.nonce_cache;
	if (s->nnonces < s->cfg.nonce_cache)
		s->nnonces++;
}

size_t ahsig_nonce_count(const struct ahsig *s)
{
	return s ? s->nnonces : 0;
}

const char *ahsig_result_name(enum ahsig_result r)
{
	switch (r) {
	case AHSIG_OK:
		return "ok";
	case AHSIG_NO_KEY:
		return "no_api_key";
	case AHSIG_UNKNOWN_KEY:
		return "unknown_api_key";
	case AHSIG_MALFORMED:
		return "malformed";
	case AHSIG_BAD_SIG:
		return "bad_signature";
	case AHSIG_STALE:
		return "stale";
	case AHSIG_REPLAY:
		return "replayed_nonce";
	case AHSIG_NOT_COVERED:
		return "not_covered";
	}
	return "?";
}

static bool covers_required(const struct ahsig_input *in)
{
	for (size_t r = 0; r < sizeof(required) / sizeof(required[0]); r++) {
		bool found = false;
		for (unsigned i = 0; i < in->ncomponents; i++)
			found = found ||
				!strcmp(in->components[i], required[r]);
		if (!found)
			return false;
	}
	return true;
}

enum ahsig_result ahsig_verify(struct ahsig *s, ahsig_lookup_fn *lookup,
			       void *arg, int64_t now_s, bool require_signature)
{
	if (!s || !lookup)
		return AHSIG_MALFORMED;
	const char *api = lookup("x-api-key", arg);
	if (!api || !api[0])
		return AHSIG_NO_KEY;
	const struct ahkey *key = find_key(s, api);
	/* The dummy key: an unknown API key costs the same HMAC. */
	static const uint8_t dummy[32] = { 0x5a };
	const uint8_t *kb = key ? key->secret : dummy;
	size_t kl = key ? key->secret_len : sizeof(dummy);
	const char *si = lookup("signature-input", arg);
	const char *sg = lookup("signature", arg);
	if (!si && !sg && !require_signature)
		return key ? AHSIG_OK : AHSIG_UNKNOWN_KEY;
	/* ~8 KB of parse state: heap, not the loop's stack */
	struct ahsig_input *in = malloc(sizeof(*in));
	char *base = malloc(AHSIG_BASE_MAX);
	enum ahsig_result res = AHSIG_MALFORMED;
	uint8_t got[64];
	uint8_t mac[SIG_LEN];
	int glen = -1;
	if (!in || !base)
		goto out;
	bool parsed = si && sg && !ahsig_input_parse(si, strlen(si), in);
	int blen =
		parsed ? ahsig_base_build(base, AHSIG_BASE_MAX, in, lookup, arg)
		       : -EBADMSG;
	if (blen < 0) {
		/* same HMAC work as a well-formed request */
		(void)hmac_raw(kb, kl, "", 0, mac);
		res = key ? AHSIG_MALFORMED : AHSIG_UNKNOWN_KEY;
		goto out;
	}
	if (hmac_raw(kb, kl, base, (size_t)blen, mac))
		goto out;
	glen = ahsig_signature_get(sg, strlen(sg), in->label, got, sizeof(got));
	if (!key) {
		res = AHSIG_UNKNOWN_KEY;
		goto out;
	}
	if (glen < 0) {
		res = AHSIG_MALFORMED;
		goto out;
	}
	if (glen != SIG_LEN || CRYPTO_memcmp(got, mac, SIG_LEN) ||
	    strcmp(in->keyid, api) ||
	    (in->alg[0] && strcmp(in->alg, "hmac-sha256"))) {
		res = AHSIG_BAD_SIG;
		goto out;
	}
	if (!covers_required(in)) {
		res = AHSIG_NOT_COVERED;
		goto out;
	}
	if (!in->has_created || !in->nonce[0]) {
		res = AHSIG_MALFORMED;
		goto out;
	}
	if (in->created > now_s + (int64_t)s->cfg.max_skew_s ||
	    now_s - in->created > (int64_t)s->cfg.max_age_s ||
	    (in->has_expires && now_s > in->expires)) {
		res = AHSIG_STALE;
		goto out;
	}
	uint8_t nh[NONCE_HASH];
	nonce_hash(in->nonce, nh);
	if (nonce_seen(s, nh)) {
		res = AHSIG_REPLAY;
		goto out;
	}
	nonce_add(s, nh);
	res = AHSIG_OK;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	free(in);
	free(base);
	return res;
}
