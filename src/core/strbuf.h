/* A growable text buffer with a hard cap (curl DYNBUF style): appends past
 * the cap fail with -E2BIG and leave the buffer unchanged. */
#ifndef VG_CORE_STRBUF_H
#define VG_CORE_STRBUF_H
#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf; /* NUL-terminated when len > 0 */
	size_t len;
	size_t cap; /* allocated */
	size_t max; /* hard maximum length */
};

void strbuf_init(struct strbuf *sb, size_t max);
void strbuf_fini(struct strbuf *sb);
int strbuf_add(struct strbuf *sb, const char *s, size_t n);
int strbuf_addstr(struct strbuf *sb, const char *s);
int strbuf_printf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append s as a JSON string literal (quotes included, escaped). */
int strbuf_add_json_str(struct strbuf *sb, const char *s);
/* The text ("" when empty); valid until the next change. */
const char *strbuf_str(const struct strbuf *sb);
#endif
