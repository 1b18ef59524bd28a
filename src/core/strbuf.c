/* Capped growable text buffer (see strbuf.h). */
#include "core/strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strbuf_init(struct strbuf *sb, size_t max)
{
	sb->buf = NULL;
	sb->len = 0;
	sb->cap = 0;
	sb->max = max;
}

void strbuf_fini(struct strbuf *sb)
{
	free(sb->buf);
	strbuf_init(sb, sb->max);
}

static int reserve(struct strbuf *sb, size_t extra)
{
	if (extra > sb->max || sb->len > sb->max - extra)
		return -E2BIG;
	size_t need = sb->len + extra + 1;
	if (need <= sb->cap)
		return 0;
	size_t cap = sb->cap ? sb->cap : 64;
	while (cap < need)
		cap *= 2;
	if (cap > sb->max + 1)
		cap = sb->max + 1;
	char *b = realloc(sb->buf, cap);
	if (!b)
		return -ENOMEM;
	sb->buf = b;
	sb->cap = cap;
	return 0;
}

int strbuf_add(struct strbuf *sb, const char *s, size_t n)
{
	int err = reserve(sb, n);
	if (err)
		return err;
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
	return 0;
}

int strbuf_addstr(struct strbuf *sb, const char *s)
{
	return strbuf_add(sb, s, strlen(s));
}

int strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n < sizeof(tmp))
		return strbuf_add(sb, tmp, (size_t)n);
	int err = reserve(sb, (size_t)n);
	if (err)
		return err;
	va_start(ap, fmt);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
	return 0;
}

int strbuf_add_json_str(struct strbuf *sb, const char *s)
{
	size_t old = sb->len;
	int err = strbuf_add(sb, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)(s ? s : "");
	     !err && *p; p++) {
		char esc[8];
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			err = strbuf_add(sb, esc, 2);
		} else if (*p < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			err = strbuf_add(sb, esc, 6);
		} else {
			err = strbuf_add(sb, (const char *)p, 1);
		}
	}
	if (!err)
		err = strbuf_add(sb, "\"", 1);
	if (err && sb->buf) {
		sb->len = old;
		sb->buf[old] = '\0';
	}
	return err;
}

const char *strbuf_str(const struct strbuf *sb)
{
	return sb->buf ? sb->buf : "";
}
