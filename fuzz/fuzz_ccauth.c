/* libFuzzer target for the Connect request authentication
 * (control/connect/ccauth.h). Input: one flags byte, then
 * "api-key\ntimestamp\nsignature\nbody". Flags: bit 0 replaces the key by
 * the right one, bit 1 the signature by the right one for the timestamp
 * and body as given, bit 2 sets the clock to the timestamp, so the
 * window, signature and replay paths are reached. No crash, no read past
 * the headers, only the documented results, a pass only for a request
 * really signed, and its replay refused. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/connect/ccauth.h"
#include "http/client.h"

static const char KEY[] = "api-key-1";
static const char SECRET[] = "fuzz-secret-0123456789";
static const int64_t NOW = 1790000000;

/* The next '\n'-terminated field of [*p, end), as an exact-size copy (so
 * ASan sees reads past it); *len its length. */
static char *field(const uint8_t **p, const uint8_t *end, size_t *len)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
	char *f = malloc(n ? n : 1);
	if (f)
		memcpy(f, *p, n);
	*p += n + (nl ? 1 : 0);
	*len = n;
	return f;
}

static int64_t ts_value(const char *s, size_t n)
{
	int64_t v = 0;
	for (size_t i = 0; i < n && i < 18; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return n ? v : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	unsigned flags = data[0];
	const uint8_t *p = data + 1, *end = data + size;
	size_t kl, tl, sl, bl;
	char *key = field(&p, end, &kl);
	char *ts = field(&p, end, &tl);
	char *sig = field(&p, end, &sl);
	bl = (size_t)(end - p);
	char *body = malloc(bl ? bl : 1);
	if (!key || !ts || !sig || !body)
		goto out;
	memcpy(body, p, bl);

	const char *k = key;
	if (flags & 1) {
		k = KEY;
		kl = strlen(KEY);
	}
	int64_t t = ts_value(ts, tl);
	int64_t now = NOW;
	if ((flags & 4) && t >= 0)
		now = t >= 100000000000LL ? t / 1000 : t;
	char good[80];
	const char *s = sig;
	bool signed_ok = false;
	if ((flags & 2) && t >= 0 &&
	    !webhooks_sign(SECRET, t, body, bl, good, sizeof(good))) {
		s = good;
		sl = strlen(good);
		signed_ok = true;
	}

	struct connect_auth *a = NULL;
	if (connect_auth_create(&a, KEY, SECRET, 0, 8))
		abort();
	int rc = connect_auth_check(a, k, kl, ts, tl, s, sl, body, bl, now);
	/* The right key, a well-formed timestamp that is now, signed: it
	 * must pass (the seeds signed_* reach the replay check this way). */
	if ((flags & 7) == 7 && t >= 0 && tl <= 14 && rc != 0)
		abort();
	switch (rc) {
	case 0:
		/* Only the right key and a signature we computed pass. */
		if (kl != strlen(KEY) || memcmp(k, KEY, kl) || !signed_ok)
			abort();
		if (connect_auth_cached(a) != 1 ||
		    connect_auth_check(a, k, kl, ts, tl, s, sl, body, bl,
				       now) != -EALREADY)
			abort();
		break;
	case -EACCES:
	case -EBADMSG:
	case -ETIMEDOUT:
	case -EPERM:
		if (connect_auth_cached(a) != 0)
			abort();
		break;
	default:
		abort();
	}
	if (!connect_auth_reason(rc)[0])
		abort();
	connect_auth_destroy(a);
out:
	free(key);
	free(ts);
	free(sig);
	free(body);
	return 0;
}
