/* application/x-www-form-urlencoded bodies and query strings, as Twilio
 * posts them: "a=b&c=d", '+' is a space, %XX escapes, repeated names kept.
 * Pure: no I/O, any thread. */
#ifndef VG_TELEPHONY_TWILIO_TWFORM_H
#define VG_TELEPHONY_TWILIO_TWFORM_H
#include <stdbool.h>
#include <stddef.h>

#define TWFORM_MAX_PAIRS 256	     /* pairs in one form */
#define TWFORM_MAX_BYTES (64 * 1024) /* encoded input */

struct twform_pair {
	const char *name; /* decoded, NUL-terminated (points into buf) */
	const char *value;
};

/* Caller storage; zero it or twform_init() it. */
struct twform {
	struct twform_pair *pairs; /* in input order, or sorted */
	size_t n;
	char *buf; /* decoded text the pairs point into */
};

void twform_init(struct twform *f);
/* Free what the form holds; the form can be parsed into again. */
void twform_fini(struct twform *f);

/* Parse s[0..len) (need not be NUL-terminated) into f, replacing what it
 * held. Empty segments ("a=1&&b=2", trailing '&') are skipped; "a" without
 * '=' is a name with an empty value. Returns 0, -EINVAL (NULL argument),
 * -EBADMSG (bad %XX escape, NUL byte or empty name), -E2BIG (more than
 * TWFORM_MAX_PAIRS pairs or TWFORM_MAX_BYTES bytes), -ENOMEM. On failure f
 * is left empty. */
int twform_parse(struct twform *f, const char *s, size_t len);

/* Sort by name, then value (bytewise), as the signature needs. */
void twform_sort(struct twform *f);

/* The value of the first pair called name (borrowed from f), or NULL. */
const char *twform_get(const struct twform *f, const char *name);
#endif
