/* A TwiML document writer: <Response> with elements, attributes and text,
 * every string escaped so no variable text can inject markup. Text that is
 * not valid XML 1.0 character data (control characters, bad UTF-8) is
 * replaced by '?'. Errors are sticky: check once at the end. Caller
 * storage; pure, any thread. */
#ifndef VG_CONTROL_TWILIO_TWIML_H
#define VG_CONTROL_TWILIO_TWIML_H
#include <stddef.h>

#include "core/strbuf.h"

#define TWIML_MAX_BYTES (64 * 1024) /* whole document */
#define TWIML_MAX_DEPTH 8

struct twiml {
	struct strbuf sb;
	const char *open[TWIML_MAX_DEPTH]; /* element names (static) */
	unsigned depth;
	int err; /* first error: -E2BIG, -ENOMEM, -EINVAL */
};

/* Start a document (the XML declaration and <Response>). */
void twiml_init(struct twiml *t);
void twiml_fini(struct twiml *t);

/* <name a1="v1" ...>: attrs is NULL or name/value pairs ending with a NULL
 * name; a pair with a NULL value is left out. name and attribute names must
 * be static identifiers (not checked for escaping; -EINVAL if not
 * [A-Za-z]+). Closed by twiml_end(). */
void twiml_begin(struct twiml *t, const char *name, const char *const *attrs);
void twiml_end(struct twiml *t);
/* Escaped character data inside the open element. */
void twiml_text(struct twiml *t, const char *text);
/* <name attrs>text</name>, or <name attrs/> when text is NULL. */
void twiml_elem(struct twiml *t, const char *name, const char *const *attrs,
		const char *text);

/* Close every open element and </Response>. Returns 0 with the document in
 * *docp (borrowed from t, NUL-terminated) and its length in *lenp, or the
 * first error. */
int twiml_finish(struct twiml *t, const char **docp, size_t *lenp);
#endif
