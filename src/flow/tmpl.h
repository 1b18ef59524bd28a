/* Flow templates: text with {{ name }} and {{ name | filter }} references
 * to flow variables (docs/FLOWS.md "Templates"). Compiled once at load into
 * literal and variable segments; rendered by the runtime against a call's
 * variables. Immutable after compile: any thread renders. */
#ifndef VG_FLOW_TMPL_H
#define VG_FLOW_TMPL_H
#include <stdbool.h>
#include <stddef.h>

struct flow_vars;
struct strbuf;

#define FLOW_VAR_NAME_MAX 128 /* bytes of a variable name */

enum flow_tmpl_filter {
	TMPL_F_NONE,
	TMPL_F_DIGITS, /* "4111" -> "4 1 1 1" */
	TMPL_F_UPPER,
	TMPL_F_LOWER,
	TMPL_F_JSON, /* JSON string escape, no quotes */
	TMPL_F_URL,  /* percent-encode all but unreserved (RFC 3986) */
};

/* Where the rendered text goes: values (not literals) are escaped for it. */
enum flow_tmpl_ctx {
	TMPL_CTX_TEXT,	 /* as is */
	TMPL_CTX_URL,	 /* values percent-encoded unless filtered |url */
	TMPL_CTX_HEADER, /* CR and LF removed from values */
	TMPL_CTX_JSON,	 /* values JSON-string-escaped (no quotes added) */
};

struct flow_tmpl;

/* Compile text[0..len). On error returns -EINVAL with *err_off set to the
 * byte offset of the offending "{{" and a message in err (e.g. "unclosed
 * '{{'", "unknown filter 'foo'", "bad variable name 'a..b'"); -ENOMEM.
 * Does not check that variables are declared (the loader does, with
 * flow_tmpl_var()). */
int flow_tmpl_compile(const char *text, size_t len, struct flow_tmpl **out,
		      size_t *err_off, char *err, size_t errlen);
void flow_tmpl_free(struct flow_tmpl *t); /* NULL-safe */

/* The variables referenced, in order (borrowed), with the byte offset of
 * each reference's "{{" in the source text. */
size_t flow_tmpl_nvars(const struct flow_tmpl *t);
const char *flow_tmpl_var(const struct flow_tmpl *t, size_t i, size_t *off);

/* True when t has no variable: flow_tmpl_literal() is then its text (for
 * TTS pre-synthesis and static checks); NULL otherwise. */
bool flow_tmpl_is_literal(const struct flow_tmpl *t);
const char *flow_tmpl_literal(const struct flow_tmpl *t);

/* The source text (borrowed). */
const char *flow_tmpl_source(const struct flow_tmpl *t);

/* Append t rendered against v (unset variables render as "") to out.
 * Returns 0 or -E2BIG (out's cap) / -ENOMEM. */
int flow_tmpl_render(const struct flow_tmpl *t, enum flow_tmpl_ctx ctx,
		     const struct flow_vars *v, struct strbuf *out);

/* Valid variable name (segments of [A-Za-z_][A-Za-z0-9_]* or all digits,
 * joined by '.', 1..FLOW_VAR_NAME_MAX bytes)? */
bool flow_var_name_valid(const char *s, size_t len);
#endif
