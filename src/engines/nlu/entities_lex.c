/* Prints an entity as an Amazon Lex V2 slot value (the shape the Connect/Lex
 * adapter emits), with JSON escaping done here so no JSON library is needed. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/utf8.h"
#include "engines/nlu/entities.h"

struct out {
	char *buf;
	size_t cap, len;
	bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->full || o->len + n + 1 > o->cap) {
		o->full = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void puts_lit(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* s need not be NUL-terminated within max bytes (a caller-built entity). */
static void put_json_string(struct out *o, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strnlen(s, max);

	put(o, "\"", 1);
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		size_t k = utf8_seq_len(p + i, n - i);
		char esc[8];
		if (k == 0) {
			put(o, "\xef\xbf\xbd", 3); /* U+FFFD */
			i++;
			continue;
		}
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(o, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(o, esc, 6);
		} else {
			put(o, s + i, k);
		}
		i += k;
	}
	put(o, "\"", 1);
}

int nlu_entity_print_lex(const struct nlu_entity *e, char *buf, size_t cap)
{
	if (!e || !buf || cap == 0)
		return -EINVAL;
	struct out o = { .buf = buf, .cap = cap };
	char resolved[NLU_ENTITY_VALUE_MAX + sizeof(e->unit) + 1];

	buf[0] = '\0';
	snprintf(resolved, sizeof(resolved), "%.*s%s%.*s",
		 (int)strnlen(e->value, sizeof(e->value)), e->value,
		 e->unit[0] ? " " : "", (int)strnlen(e->unit, sizeof(e->unit)),
		 e->unit);
	puts_lit(&o, "{\"shape\":\"Scalar\",\"value\":{\"originalValue\":");
	put_json_string(&o, e->text, sizeof(e->text));
	puts_lit(&o, ",\"interpretedValue\":");
	put_json_string(&o, e->value, sizeof(e->value));
	puts_lit(&o, ",\"resolvedValues\":[");
	put_json_string(&o, resolved, sizeof(resolved));
	puts_lit(&o, "]}}");
	if (o.full) {
		buf[0] = '\0';
		return -E2BIG;
	}
	return (int)o.len;
}
