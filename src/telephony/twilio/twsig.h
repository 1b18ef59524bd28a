/* X-Twilio-Signature: base64(HMAC-SHA1(auth token, URL + the POST params
 * sorted by name, each name followed by its value)), checked against both
 * forms of the URL (port added/kept and port removed) in constant time.
 * JSON bodies are signed over the URL only and bound to it by the URL's
 * bodySHA256 query parameter (hex SHA-256 of the body). Pure; any thread. */
#ifndef VG_TELEPHONY_TWILIO_TWSIG_H
#define VG_TELEPHONY_TWILIO_TWSIG_H
#include <stdbool.h>
#include <stddef.h>

struct twform;

#define TWSIG_LEN 28 /* base64 of a 20-byte SHA-1 MAC, without NUL */

/* The signature of url + params (NULL or empty: the URL alone) under
 * auth_token, exactly as given (no URL variants), into out (TWSIG_LEN + 1
 * bytes, NUL-terminated). params need not be sorted; a repeated name's
 * values are de-duplicated and sorted. Returns 0, -EINVAL, -E2BIG (URL +
 * params over 256 KiB), -ENOMEM, -EIO (crypto failure). */
int twilio_sig_compute(const char *auth_token, const char *url,
		       const struct twform *params, char *out);

/* Is header_value a valid signature of the request? url is the full URL
 * Twilio requested (public base + path + query). Form requests: params is
 * the decoded POST body (or NULL for GET), body NULL. JSON requests: body
 * points to the raw body (params ignored) and the URL must carry a matching
 * bodySHA256 parameter. A NULL or empty auth_token or header_value is never
 * valid. Tries the URL with its port (explicit kept, else :443/:80 added)
 * and without it; compares in constant time. */
bool twilio_sig_valid(const char *auth_token, const char *url,
		      const struct twform *params, const char *body,
		      size_t body_len, const char *header_value);
#endif
