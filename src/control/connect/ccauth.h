/* Authentication of requests to the Connect endpoints: the forwarding
 * Lambda (or API Gateway) sends X-Api-Key, X-Voxgate-Timestamp (Unix
 * seconds) and X-Voxgate-Signature: v1=hex(HMAC-SHA256(secret, timestamp
 * "." body)), the scheme of voxgate's own webhooks. Keys and signatures are
 * compared in constant time, timestamps outside the window are stale, and
 * a bounded cache of recently accepted signatures refuses exact replays.
 * The timestamp may be in milliseconds (13 digits; signed as sent), so
 * identical events forwarded within one second are not mistaken for a
 * replay. One object, one thread at a time (the web loop).
 * docs/CONNECT.md. */
#ifndef VG_CONTROL_CONNECT_CCAUTH_H
#define VG_CONTROL_CONNECT_CCAUTH_H
#include <stddef.h>
#include <stdint.h>

struct connect_auth;

#define CONNECT_AUTH_WINDOW_S 300 /* 5 minutes either way */
/* Signatures remembered: beyond CACHE_MAX / WINDOW_S accepted requests a
 * second sustained (436/s), the oldest are forgotten before their window
 * ends, so replay protection then covers the last CACHE_MAX requests. */
#define CONNECT_AUTH_CACHE_MAX 131072

/* api_key and secret are copied (wiped on destroy); window_s 0: the
 * default; cache_max 0: the default. Returns 0, -EINVAL (empty key or
 * secret), -ENOMEM. */
int connect_auth_create(struct connect_auth **ap, const char *api_key,
			const char *secret, unsigned window_s,
			unsigned cache_max);
void connect_auth_destroy(struct connect_auth *a); /* NULL-safe */

/* Check one request. Header values are (pointer, length), NULL when
 * absent; now_s is the wall clock in seconds. Order: API key, timestamp
 * syntax and window, signature, replay; the signature is remembered only
 * when everything passed. Returns 0, -EACCES (missing or wrong API key),
 * -EBADMSG (missing or malformed timestamp or signature), -ETIMEDOUT
 * (timestamp outside the window), -EPERM (wrong signature), -EALREADY
 * (replay of an accepted request). */
int connect_auth_check(struct connect_auth *a, const char *key, size_t keylen,
		       const char *ts, size_t tslen, const char *sig,
		       size_t siglen, const char *body, size_t len,
		       int64_t now_s);

/* A short name for a check result ("ok", "bad_api_key", ...). */
const char *connect_auth_reason(int err);

/* Signatures remembered now (tests). */
unsigned connect_auth_cached(const struct connect_auth *a);
#endif
