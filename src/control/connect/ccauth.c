/* API key + HMAC + timestamp + replay cache (see ccauth.h). */
#include "control/connect/ccauth.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "http/client.h"

enum {
	SIG_LEN = 3 + 64, /* "v1=" + hex */
	TS_DIGITS_MAX = 14,
};

#define TS_MS_MIN 100000000000LL /* above: a timestamp in milliseconds */

/* An accepted signature (hex, as compared) and its timestamp. */
struct seen {
	char sig[SIG_LEN];
	int64_t ts;
	int32_t next; /* chain in its hash bucket, -1: end */
};

struct connect_auth {
	char *key, *secret;
	unsigned window_s;
	/* A ring of accepted signatures, oldest at head, indexed by a chained
	 * hash table: bounded, O(1) per request, and every entry older than
	 * the window can go (its timestamp is stale anyway). */
	struct seen *ring;
	int32_t *buckets; /* nbuckets heads, -1: empty */
	unsigned cap, head, n, nbuckets;
};

int connect_auth_create(struct connect_auth **ap, const char *api_key,
			const char *secret, unsigned window_s,
			unsigned cache_max)
{
	if (!ap || !api_key || !api_key[0] || !secret || !secret[0])
		return -EINVAL;
	struct connect_auth *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->window_s = window_s ? window_s : CONNECT_AUTH_WINDOW_S;
	a->cap = cache_max ? cache_max : CONNECT_AUTH_CACHE_MAX;
	a->key = strdup(api_key);
	a->secret = strdup(secret);
	a->ring = calloc(a->cap, sizeof(*a->ring));
	for (a->nbuckets = 64; a->nbuckets < a->cap; a->nbuckets *= 2)
		;
	a->buckets = malloc(a->nbuckets * sizeof(*a->buckets));
	if (a->buckets)
		memset(a->buckets, 0xff, a->nbuckets * sizeof(*a->buckets));
	if (!a->key || !a->secret || !a->ring || !a->buckets) {
		connect_auth_destroy(a);
		return -ENOMEM;
	}
	*ap = a;
	return 0;
}

static void wipe_free(char *s)
{
	if (s)
		OPENSSL_cleanse(s, strlen(s));
	free(s);
}

void connect_auth_destroy(struct connect_auth *a)
{
	if (!a)
		return;
	wipe_free(a->key);
	wipe_free(a->secret);
	free(a->ring);
	free(a->buckets);
	free(a);
}

/* Constant time in the length of the secret side. */
static bool ct_equal(const char *want, const char *got, size_t gotlen)
{
	size_t wl = strlen(want);
	if (!got || gotlen != wl) {
		/* Same work as a real compare, then fail. */
		(void)CRYPTO_memcmp(want, want, wl);
		return false;
	}
	return CRYPTO_memcmp(want, got, wl) == 0;
}

static bool parse_ts(const char *s, size_t n, int64_t *out)
{
	int64_t v = 0;
	if (!s || !n || n > TS_DIGITS_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* FNV-1a over the hex signature. */
static unsigned bucket_of(const struct connect_auth *a, const char *sig)
{
	uint32_t h = 2166136261u;
	for (size_t i = 3; i < SIG_LEN; i++)
		h = (h ^ (unsigned char)sig[i]) * 16777619u;
	return h & (a->nbuckets - 1);
}

/* Drop the oldest entry (at head) from its chain and the ring. */
static void drop_oldest(struct connect_auth *a)
{
	int32_t idx = (int32_t)a->head;
	int32_t *pp = &a->buckets[bucket_of(a, a->ring[idx].sig)];
	while (*pp >= 0 && *pp != idx)
		pp = &a->ring[*pp].next;
	if (*pp == idx)
		*pp = a->ring[idx].next;
	a->head = (a->head + 1) % a->cap;
	a->n--;
}

static void expire(struct connect_auth *a, int64_t now_s)
{
	while (a->n && a->ring[a->head].ts < now_s - (int64_t)a->window_s)
		drop_oldest(a);
}

static bool seen_before(const struct connect_auth *a, const char *sig)
{
	for (int32_t i = a->buckets[bucket_of(a, sig)]; i >= 0;
	     i = a->ring[i].next)
		if (!memcmp(a->ring[i].sig, sig, SIG_LEN))
			return true;
	return false;
}

static void remember(struct connect_auth *a, const char *sig, int64_t ts)
{
	if (a->n == a->cap) /* full: the oldest goes, even inside the window */
		drop_oldest(a);
	unsigned idx = (a->head + a->n) % a->cap;
	struct seen *s = &a->ring[idx];
	unsigned b = bucket_of(a, sig);
	memcpy(s->sig, sig, SIG_LEN);
	s->ts = ts;
	s->next = a->buckets[b];
	a->buckets[b] = (int32_t)idx;
	a->n++;
}

int connect_auth_check(struct connect_auth *a, const char *key, size_t keylen,
		       const char *ts, size_t tslen, const char *sig,
		       size_t siglen, const char *body, size_t len,
		       int64_t now_s)
{
	if (!a)
		return -EACCES;
	if (!ct_equal(a->key, key, keylen))
		return -EACCES;
	int64_t t;
	if (!parse_ts(ts, tslen, &t) || !sig || siglen != SIG_LEN ||
	    strncmp(sig, "v1=", 3))
		return -EBADMSG;
	/* Milliseconds (13 digits) are accepted too: two identical events
	 * forwarded within one second then still sign differently. */
	int64_t t_s = t >= TS_MS_MIN ? t / 1000 : t;
	if (t_s < now_s - (int64_t)a->window_s ||
	    t_s > now_s + (int64_t)a->window_s)
		return -ETIMEDOUT;
	char want[SIG_LEN + 1];
	if (webhooks_sign(a->secret, t, body, len, want, sizeof(want)))
		return -EPERM;
	/* Hex digits may come in either case. */
	char got[SIG_LEN];
	for (size_t i = 0; i < SIG_LEN; i++) {
		char ch = sig[i];
		got[i] = (char)(ch >= 'A' && ch <= 'F' ? ch - 'A' + 'a' : ch);
	}
	bool ok = CRYPTO_memcmp(want, got, SIG_LEN) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	if (!ok)
		return -EPERM;
	expire(a, now_s);
	if (seen_before(a, got))
		return -EALREADY;
	remember(a, got, t_s);
	return 0;
}

const char *connect_auth_reason(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case -EACCES:
		return "bad_api_key";
	case -EBADMSG:
		return "bad_headers";
	case -ETIMEDOUT:
		return "stale";
	case -EPERM:
		return "bad_signature";
	case -EALREADY:
		return "replay";
	default:
		return "error";
	}
}

unsigned connect_auth_cached(const struct connect_auth *a)
{
	return a ? a->n : 0;
}
