/* TwiML writer (see twiml.h). */
#include "control/twilio/twiml.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "core/utf8.h"

static void add(struct twiml *t, const char *s, size_t n)
{
	if (!t->err)
		t->err = strbuf_add(&t->sb, s, n);
}

static void adds(struct twiml *t, const char *s)
{
	add(t, s, strlen(s));
}

static bool is_ident(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
			return false;
	}
	return true;
}

/* Escape text for an attribute value or character data. */
static void add_escaped(struct twiml *t, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	while (n && !t->err) {
		size_t run = 0; /* bytes that need no escaping */
		while (run < n && p[run] >= 0x20 && p[run] < 0x80 &&
		       !strchr("&<>\"'", p[run]))
			run++;
		add(t, (const char *)p, run);
		p += run;
		n -= run;
		if (!n)
			break;
		size_t len = 1;
		switch (*p) {
		case '&':
			adds(t, "&amp;");
			break;
		case '<':
			adds(t, "&lt;");
			break;
		case '>':
			adds(t, "&gt;");
			break;
		case '"':
			adds(t, "&quot;");
			break;
		case '\'':
			adds(t, "&apos;");
			break;
		case '\t':
		case '\n':
		case '\r':
			add(t, (const char *)p, 1);
			break;
		default:
			if (*p < 0x20) {
				adds(t, "?");
				break;
			}
			len = utf8_seq_len(p, n);
			if (len && !(len == 3 && p[0] == 0xEF && p[1] == 0xBF &&
				     (p[2] == 0xBE || p[2] == 0xBF))) {
				add(t, (const char *)p, len);
			} else { /* invalid, or U+FFFE/U+FFFF */
				adds(t, "?");
				len = len ? len : 1;
			}
			break;
		}
		p += len;
		n -= len;
	}
}

void twiml_init(struct twiml *t)
{
	memset(t, 0, sizeof(*t));
	strbuf_init(&t->sb, TWIML_MAX_BYTES);
	adds(t, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>");
}

void twiml_fini(struct twiml *t)
{
	if (t)
		strbuf_fini(&t->sb);
}

static void open_tag(struct twiml *t, const char *name,
		     const char *const *attrs)
{
	if (!is_ident(name)) {
		t->err = t->err ? t->err : -EINVAL;
		return;
	}
	adds(t, "<");
	adds(t, name);
	for (size_t i = 0; attrs && attrs[i]; i += 2) {
		if (!attrs[i + 1])
			continue;
		if (!is_ident(attrs[i])) {
			t->err = t->err ? t->err : -EINVAL;
			return;
		}
		adds(t, " ");
		adds(t, attrs[i]);
		adds(t, "=\"");
		add_escaped(t, attrs[i + 1]);
		adds(t, "\"");
	}
}

void twiml_begin(struct twiml *t, const char *name, const char *const *attrs)
{
	if (t->depth >= TWIML_MAX_DEPTH) {
		t->err = t->err ? t->err : -E2BIG;
		return;
	}
	open_tag(t, name, attrs);
	adds(t, ">");
	t->open[t->depth++] = name;
}

void twiml_end(struct twiml *t)
{
	if (!t->depth) {
		t->err = t->err ? t->err : -EINVAL;
		return;
	}
	const char *name = t->open[--t->depth];
	adds(t, "</");
	adds(t, name);
	adds(t, ">");
}

void twiml_text(struct twiml *t, const char *text)
{
	if (text)
		add_escaped(t, text);
}

void twiml_elem(struct twiml *t, const char *name, const char *const *attrs,
		const char *text)
{
	if (!text) {
		open_tag(t, name, attrs);
		adds(t, "/>");
		return;
	}
	twiml_begin(t, name, attrs);
	twiml_text(t, text);
	twiml_end(t);
}

int twiml_finish(struct twiml *t, const char **docp, size_t *lenp)
{
	while (t->depth && !t->err)
		twiml_end(t);
	adds(t, "</Response>");
	if (t->err)
		return t->err;
	*docp = strbuf_str(&t->sb);
	*lenp = t->sb.len;
	return 0;
}
