/* Genesys AudioHook upgrade authentication: X-API-KEY plus an HTTP message
 * signature (draft-ietf-httpbis-message-signatures, hmac-sha256) over
 * @request-target @authority audiohook-organization-id audiohook-session-id
 * audiohook-correlation-id x-api-key, keyid = the API key, with nonce,
 * created, expires. PROTOCOLS.md; vectors/audiohook_signature.json.
 *
 * The verifier owns a key table (API key -> client secret) and a bounded
 * nonce cache. Not thread-safe: one owner (the media loop). */
#ifndef VG_TELEPHONY_GENESYS_AHSIG_H
#define VG_TELEPHONY_GENESYS_AHSIG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	AHSIG_KEYS_MAX = 16,
	AHSIG_KEY_LEN = 128,	/* API key, bytes */
	AHSIG_SECRET_MAX = 128, /* decoded client secret, bytes */
	AHSIG_COMPONENTS_MAX = 12,
	AHSIG_HEADER_MAX = 2048, /* Signature-Input / Signature, bytes */
	AHSIG_BASE_MAX = 4096,	 /* signature base, bytes */
	AHSIG_NONCE_LEN = 128,
};

/* Signature-Input parsed ("sig1=(...);keyid=..;nonce=..;..."). */
struct ahsig_input {
	char label[32];
	char components[AHSIG_COMPONENTS_MAX][48]; /* lowercase names */
	unsigned ncomponents;
	char params[AHSIG_HEADER_MAX]; /* ";keyid=...;..." as sent */
	char keyid[AHSIG_KEY_LEN];
	char nonce[AHSIG_NONCE_LEN];
	char alg[32];
	bool has_created, has_expires;
	int64_t created, expires;
};

/* Parse a Signature-Input value. Returns 0 or -EBADMSG (syntax, too many
 * components, a quoted string too long), -EINVAL. Pure. */
int ahsig_input_parse(const char *val, size_t len, struct ahsig_input *in);

/* From a Signature value "sig1=:<base64>:" take the signature labelled
 * label: decoded into sig (cap bytes). Returns its length or -EBADMSG /
 * -ENOENT (no such label). Pure. */
int ahsig_signature_get(const char *val, size_t len, const char *label,
			uint8_t *sig, size_t cap);

/* One covered component's value, looked up by (lowercase) name. */
typedef const char *(ahsig_lookup_fn)(const char *name, void *arg);

/* The signature base: one line per component '"name": value', then
 * '"@signature-params": (names)params', joined by LF, no trailing LF.
 * Returns its length (out NUL-terminated) or -ENOENT (a component has no
 * value), -ENOSPC. Pure. */
int ahsig_base_build(char *out, size_t cap, const struct ahsig_input *in,
		     ahsig_lookup_fn *lookup, void *arg);

/* base64(HMAC-SHA256(key, base)) into out (>= 45 bytes). Returns the
 * length or -ENOSPC / -EIO. Pure. */
int ahsig_hmac_b64(const uint8_t *key, size_t key_len, const char *base,
		   size_t base_len, char *out, size_t cap);

struct ahsig;

struct ahsig_cfg {
	unsigned max_skew_s;  /* created in the future by more than this,
				 or older than max_age_s: stale (30) */
	unsigned max_age_s;   /* 300 */
	unsigned nonce_cache; /* nonces remembered (4096) */
};

/* cfg may be NULL (defaults). 0, -ENOMEM, -EINVAL. */
int ahsig_create(struct ahsig **sp, const struct ahsig_cfg *cfg);
/* Wipes the secrets. NULL is a no-op. */
void ahsig_destroy(struct ahsig *s);
/* Add a key: api_key and its client secret as configured (base64).
 * Returns 0, -EINVAL (empty key, secret not base64 or empty), -ENOSPC. */
int ahsig_key_add(struct ahsig *s, const char *api_key,
		  const char *client_secret_b64);

enum ahsig_result {
	AHSIG_OK = 0,
	AHSIG_NO_KEY,	   /* X-API-KEY missing: 401 */
	AHSIG_UNKNOWN_KEY, /* X-API-KEY not configured: 401 */
	AHSIG_MALFORMED,   /* headers missing or unparsable: 401 */
	AHSIG_BAD_SIG,	   /* mismatch, keyid != X-API-KEY, alg: 401 */
	AHSIG_STALE,	   /* created/expires out of the window: 401 */
	AHSIG_REPLAY,	   /* nonce seen before: 401 */
	AHSIG_NOT_COVERED, /* a required component is not signed: 401 */
};

/* Verify one upgrade. lookup gives header values by lowercase name and
 * "@request-target" / "@authority"; "signature-input" and "signature"
 * are looked up too. now_s is Unix time. When the API key is unknown
 * the same HMAC work is done over a dummy key before answering, so the
 * answer takes the same time. The nonce is remembered only when
 * everything else passed. When require_signature is false, a request
 * without Signature-Input is checked on X-API-KEY alone. */
enum ahsig_result ahsig_verify(struct ahsig *s, ahsig_lookup_fn *lookup,
			       void *arg, int64_t now_s,
			       bool require_signature);
const char *ahsig_result_name(enum ahsig_result r);
/* Nonces remembered now (tests). */
size_t ahsig_nonce_count(const struct ahsig *s);
#endif
