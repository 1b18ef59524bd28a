/* A small JSON parser that keeps line:col for every value and key, with a
 * JSON5-ish mode for JavaScript object literals (Genesys flow scripts):
 * comments, unquoted keys, single quotes, trailing commas, and an optional
 * `const NAME =` ... `;` around the object. Bounded in size and depth. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow.h"
#include "flow/import_int.h"
#include "flow/model.h"

#define JMAX_NODES 200000u
#define JMAX_STR (256u << 10)
#define JMAX_MEMBERS 10000u

struct jp {
	struct jdoc *d;
	const char *file;
	const char *s;
	size_t len, pos;
	unsigned line, col;
	bool json5;
	struct flow_errors *errs;
	int err;
};

static void fail(struct jp *p, const char *fmt, const char *arg)
{
	if (p->err)
		return;
	p->err = -EBADMSG;
	char msg[160];
	snprintf(msg, sizeof(msg), fmt, arg ? arg : "");
	flow_errors_add(p->errs, p->file, p->line, p->col, "%s", msg);
}

static int peek(const struct jp *p)
{
	return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static void adv(struct jp *p)
{
	if (p->pos >= p->len)
		return;
	unsigned char c = (unsigned char)p->s[p->pos++];
	if (c == '\n') {
		p->line++;
		p->col = 1;
	} else if ((c & 0xc0) != 0x80) {
		p->col++; /* characters, not UTF-8 continuation bytes */
	}
}

static void skip_ws(struct jp *p)
{
	for (;;) {
		int c = peek(p);
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			adv(p);
		} else if (p->json5 && c == '/' && p->pos + 1 < p->len &&
			   p->s[p->pos + 1] == '/') {
			while (peek(p) != -1 && peek(p) != '\n')
				adv(p);
		} else if (p->json5 && c == '/' && p->pos + 1 < p->len &&
			   p->s[p->pos + 1] == '*') {
			unsigned l = p->line, c0 = p->col;
			adv(p);
			adv(p);
			while (peek(p) != -1 &&
			       !(peek(p) == '*' && p->pos + 1 < p->len &&
				 p->s[p->pos + 1] == '/'))
				adv(p);
			if (peek(p) == -1) {
				p->line = l;
				p->col = c0;
				fail(p, "unclosed comment%s", NULL);
				return;
			}
			adv(p);
			adv(p);
		} else {
			return;
		}
	}
}

static struct jnode *jnew(struct jp *p, enum jtype t, unsigned line,
			  unsigned col)
{
	if (p->d->count >= JMAX_NODES) {
		if (!p->err) {
			p->err = -E2BIG;
			flow_errors_add(p->errs, p->file, line, col,
					"more than %u values", JMAX_NODES);
		}
		return NULL;
	}
	struct jnode *n = calloc(1, sizeof(*n));
	if (!n) {
		p->err = -ENOMEM;
		return NULL;
	}
	n->type = t;
	n->line = line;
	n->col = col;
	n->next_alloc = p->d->all;
	p->d->all = n;
	p->d->count++;
	return n;
}

static bool addc(struct jp *p, char **buf, size_t *n, size_t *cap, char c)
{
	if (*n + 2 > *cap) {
		if (*cap >= JMAX_STR) {
			fail(p, "string too long%s", NULL);
			return false;
		}
		size_t nc = *cap ? *cap * 2 : 32;
		char *b = realloc(*buf, nc);
		if (!b) {
			p->err = -ENOMEM;
			return false;
		}
		*buf = b;
		*cap = nc;
	}
	(*buf)[(*n)++] = c;
	(*buf)[*n] = '\0';
	return true;
}

static bool add_utf8(struct jp *p, char **b, size_t *n, size_t *cap,
		     unsigned cp)
{
	char t[4];
	size_t k;
	if (cp < 0x80) {
		t[0] = (char)cp;
		k = 1;
	} else if (cp < 0x800) {
		t[0] = (char)(0xc0 | (cp >> 6));
		t[1] = (char)(0x80 | (cp & 0x3f));
		k = 2;
	} else if (cp < 0x10000) {
		t[0] = (char)(0xe0 | (cp >> 12));
		t[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		t[2] = (char)(0x80 | (cp & 0x3f));
		k = 3;
	} else {
		t[0] = (char)(0xf0 | (cp >> 18));
		t[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		t[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		t[3] = (char)(0x80 | (cp & 0x3f));
		k = 4;
	}
	for (size_t i = 0; i < k; i++) {
		if (!addc(p, b, n, cap, t[i]))
			return false;
	}
	return true;
}

static int hex4(struct jp *p, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		int c = peek(p);
		int d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v * 16 + (unsigned)d;
		adv(p);
	}
	*out = v;
	return 0;
}

/* Length of the valid UTF-8 sequence at s (1-4), 0 if invalid (overlong
 * forms, surrogates and code points past U+10FFFF are invalid). */
static size_t utf8_len(const char *s, size_t avail)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t k;
	unsigned cp;
	if (u[0] < 0x80)
		return 1;
	if ((u[0] & 0xe0) == 0xc0) {
		k = 2;
		cp = u[0] & 0x1f;
	} else if ((u[0] & 0xf0) == 0xe0) {
		k = 3;
		cp = u[0] & 0x0f;
	} else if ((u[0] & 0xf8) == 0xf0) {
		k = 4;
		cp = u[0] & 0x07;
	} else {
		return 0;
	}
	if (avail < k)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (u[i] & 0x3f);
	}
	static const unsigned min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (cp < min[k] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

/* A quoted string at the current position; returns a new string. */
static char *parse_string(struct jp *p)
{
	int q = peek(p);
	if (q == '\'' && !p->json5) {
		fail(p, "single-quoted string in JSON%s", NULL);
		return NULL;
	}
	adv(p);
	char *b = NULL;
	size_t n = 0, cap = 0;
	if (!addc(p, &b, &n, &cap, 'x'))
		return NULL;
	n = 0;
	b[0] = '\0';
	for (;;) {
		int c = peek(p);
		if (c == -1 || c == '\n') {
			fail(p, "unterminated string%s", NULL);
			break;
		}
		if (c == q) {
			adv(p);
			return b;
		}
		if (c < 0x20) {
			fail(p, "control character in a string%s", NULL);
			break;
		}
		if (c >= 0x80) {
			size_t k = utf8_len(p->s + p->pos, p->len - p->pos);
			if (!k) {
				fail(p, "invalid UTF-8 in a string%s", NULL);
				break;
			}
			bool ok = true;
			for (size_t i = 0; i < k && ok; i++) {
				ok = addc(p, &b, &n, &cap, p->s[p->pos]);
				adv(p);
			}
			if (!ok)
				break;
			continue;
		}
		if (c != '\\') {
			if (!addc(p, &b, &n, &cap, (char)c))
				break;
			adv(p);
			continue;
		}
		adv(p);
		c = peek(p);
		char e = 0;
		switch (c) {
		case '"':
		case '\\':
		case '/':
		case '\'':
			e = (char)c;
			break;
		case 'b':
			e = '\b';
			break;
		case 'f':
			e = '\f';
			break;
		case 'n':
			e = '\n';
			break;
		case 'r':
			e = '\r';
			break;
		case 't':
			e = '\t';
			break;
		case 'u': {
			adv(p);
			unsigned cp;
			if (hex4(p, &cp)) {
				fail(p, "bad \\u escape%s", NULL);
				goto bad;
			}
			if (cp >= 0xd800 && cp < 0xdc00 && peek(p) == '\\') {
				adv(p);
				unsigned lo;
				if (peek(p) != 'u') {
					fail(p, "bad surrogate pair%s", NULL);
					goto bad;
				}
				adv(p);
				if (hex4(p, &lo) || lo < 0xdc00 ||
				    lo > 0xdfff) {
					fail(p, "bad surrogate pair%s", NULL);
					goto bad;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     (lo - 0xdc00);
			} else if (cp >= 0xd800 && cp <= 0xdfff) {
				fail(p, "lone surrogate in \\u escape%s", NULL);
				goto bad;
			}
			if (cp == 0) {
				fail(p, "NUL in a string%s", NULL);
				goto bad;
			}
			if (!add_utf8(p, &b, &n, &cap, cp))
				goto bad;
			continue;
		}
		default:
			fail(p, "bad escape in a string%s", NULL);
			goto bad;
		}
		if (e == '\'' && !p->json5) {
			fail(p, "bad escape in a string%s", NULL);
			goto bad;
		}
		adv(p);
		if (!addc(p, &b, &n, &cap, e))
			goto bad;
	}
bad:
	free(b);
	return NULL;
}

static bool ident_char(int c, bool first)
{
	return c == '_' || c == '$' || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9');
}

static char *parse_ident(struct jp *p)
{
	size_t start = p->pos;
	while (peek(p) != -1 && ident_char(peek(p), p->pos == start))
		adv(p);
	size_t n = p->pos - start;
	if (!n) {
		fail(p, "expected a key%s", NULL);
		return NULL;
	}
	char *s = strndup(p->s + start, n);
	if (!s)
		p->err = -ENOMEM;
	return s;
}

static struct jnode *parse_value(struct jp *p, unsigned depth);

static bool grow(void **p, size_t n, size_t size)
{
	void *q = realloc(*p, n * size);
	if (!q)
		return false;
	*p = q;
	return true;
}

static bool push_item(struct jp *p, struct jnode *a, struct jnode *v, char *key,
		      unsigned kl, unsigned kc)
{
	if (a->n == JMAX_MEMBERS) {
		fail(p, "more than 10000 items in one object or array%s", NULL);
		free(key);
		return false;
	}
	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 8;
		bool ok = grow((void **)&a->items, nc, sizeof(*a->items));
		if (ok && a->type == J_OBJ)
			ok = grow((void **)&a->keys, nc, sizeof(*a->keys)) &&
			     grow((void **)&a->kline, nc, sizeof(*a->kline)) &&
			     grow((void **)&a->kcol, nc, sizeof(*a->kcol));
		if (!ok) {
			p->err = -ENOMEM;
			free(key);
			return false;
		}
		a->cap = nc;
	}
	if (a->type == J_OBJ) {
		a->keys[a->n] = key;
		a->kline[a->n] = kl;
		a->kcol[a->n] = kc;
	}
	a->items[a->n++] = v;
	return true;
}

static struct jnode *parse_container(struct jp *p, unsigned depth, bool obj)
{
	struct jnode *a = jnew(p, obj ? J_OBJ : J_ARR, p->line, p->col);
	if (!a)
		return NULL;
	if (depth >= FLOW_IMPORT_MAX_DEPTH) {
		fail(p, "nested more than 64 levels deep%s", NULL);
		return NULL;
	}
	int close = obj ? '}' : ']';
	adv(p);
	for (;;) {
		skip_ws(p);
		if (p->err)
			return NULL;
		if (peek(p) == close) {
			adv(p);
			return a;
		}
		char *key = NULL;
		unsigned kl = p->line, kc = p->col;
		if (obj) {
			int c = peek(p);
			if (c == '"' || c == '\'')
				key = parse_string(p);
			else if (p->json5 && ident_char(c, true))
				key = parse_ident(p);
			else
				fail(p, "expected a key in quotes%s", NULL);
			if (!key)
				return NULL;
			for (size_t i = 0; i < a->n; i++) {
				if (!strcmp(a->keys[i], key)) {
					p->line = kl;
					p->col = kc;
					fail(p, "duplicate key '%.60s'", key);
					free(key);
					return NULL;
				}
			}
			skip_ws(p);
			if (peek(p) != ':') {
				fail(p, "expected ':' after a key%s", NULL);
				free(key);
				return NULL;
			}
			adv(p);
			skip_ws(p);
		}
		struct jnode *v = parse_value(p, depth + 1);
		if (!v || !push_item(p, a, v, key, kl, kc)) {
			if (v)
				return NULL;
			free(key);
			return NULL;
		}
		skip_ws(p);
		if (peek(p) == ',') {
			adv(p);
			skip_ws(p);
			if (peek(p) == close && !p->json5) {
				fail(p, "trailing comma in JSON%s", NULL);
				return NULL;
			}
			continue;
		}
		if (peek(p) == close)
			continue;
		fail(p, obj ? "expected ',' or '}'%s" : "expected ',' or ']'%s",
		     NULL);
		return NULL;
	}
}

static struct jnode *parse_scalar(struct jp *p)
{
	unsigned l = p->line, c0 = p->col;
	size_t start = p->pos;
	int c = peek(p);
	if (c == '"' || c == '\'') {
		char *s = parse_string(p);
		if (!s)
			return NULL;
		struct jnode *n = jnew(p, J_STR, l, c0);
		if (!n) {
			free(s);
			return NULL;
		}
		n->str = s;
		return n;
	}
	while (peek(p) != -1 &&
	       (ident_char(peek(p), false) || strchr("+-.", peek(p)) != NULL))
		adv(p);
	size_t n = p->pos - start;
	const char *t = p->s + start;
	enum jtype type;
	if (n == 4 && !memcmp(t, "true", 4)) {
		type = J_BOOL;
	} else if (n == 5 && !memcmp(t, "false", 5)) {
		type = J_BOOL;
	} else if (n == 4 && !memcmp(t, "null", 4)) {
		type = J_NULL;
	} else {
		/* JSON number grammar */
		size_t i = 0;
		if (i < n && t[i] == '-')
			i++;
		size_t d0 = i;
		while (i < n && t[i] >= '0' && t[i] <= '9')
			i++;
		bool ok = i > d0 && !(t[d0] == '0' && i - d0 > 1);
		if (ok && i < n && t[i] == '.') {
			size_t f = ++i;
			while (i < n && t[i] >= '0' && t[i] <= '9')
				i++;
			ok = i > f;
		}
		if (ok && i < n && (t[i] == 'e' || t[i] == 'E')) {
			i++;
			if (i < n && (t[i] == '+' || t[i] == '-'))
				i++;
			size_t e = i;
			while (i < n && t[i] >= '0' && t[i] <= '9')
				i++;
			ok = i > e;
		}
		if (!ok || i != n || n == 0 || n > 64) {
			p->line = l;
			p->col = c0;
			fail(p, "expected a value%s", NULL);
			return NULL;
		}
		type = J_NUM;
	}
	struct jnode *v = jnew(p, type, l, c0);
	if (!v)
		return NULL;
	if (type != J_NULL) {
		v->str = strndup(t, n);
		if (!v->str) {
			p->err = -ENOMEM;
			return NULL;
		}
	}
	return v;
}

static struct jnode *parse_value(struct jp *p, unsigned depth)
{
	skip_ws(p);
	if (p->err)
		return NULL;
	int c = peek(p);
	if (c == '{' || c == '[')
		return parse_container(p, depth, c == '{');
	if (c == -1) {
		fail(p, "unexpected end of input%s", NULL);
		return NULL;
	}
	return parse_scalar(p);
}

/* JavaScript: `const|let|var NAME =` (or `export default`, `module.exports
 * =`) before the object. */
static void skip_js_prefix(struct jp *p)
{
	skip_ws(p);
	static const char *const kw[] = { "const", "let", "var" };
	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++) {
		size_t k = strlen(kw[i]);
		if (p->len - p->pos > k && !memcmp(p->s + p->pos, kw[i], k) &&
		    (p->s[p->pos + k] == ' ' || p->s[p->pos + k] == '\t')) {
			for (size_t j = 0; j < k; j++)
				adv(p);
			skip_ws(p);
			while (peek(p) != -1 && ident_char(peek(p), false))
				adv(p);
			skip_ws(p);
			if (peek(p) == '=')
				adv(p);
			else
				fail(p, "expected '=' after the variable%s",
				     NULL);
			return;
		}
	}
	const char *me = "module.exports";
	size_t k = strlen(me);
	if (p->len - p->pos > k && !memcmp(p->s + p->pos, me, k)) {
		for (size_t j = 0; j < k; j++)
			adv(p);
		skip_ws(p);
		if (peek(p) == '=')
			adv(p);
		else
			fail(p, "expected '=' after module.exports%s", NULL);
	}
}

int jdoc_parse(struct jdoc *d, const char *file, const char *buf, size_t len,
	       bool json5, struct flow_errors *errs)
{
	memset(d, 0, sizeof(*d));
	if (len > FLOW_IMPORT_MAX_INPUT) {
		flow_errors_add(errs, file, 0, 0, "larger than %u bytes",
				FLOW_IMPORT_MAX_INPUT);
		return -E2BIG;
	}
	struct jp p = { .d = d,
			.file = file,
			.s = buf,
			.len = len,
			.line = 1,
			.col = 1,
			.json5 = json5,
			.errs = errs };
	/* A UTF-8 byte order mark */
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		p.pos = 3;
	if (json5)
		skip_js_prefix(&p);
	struct jnode *root = p.err ? NULL : parse_value(&p, 0);
	if (!p.err) {
		skip_ws(&p);
		if (json5 && peek(&p) == ';') {
			adv(&p);
			skip_ws(&p);
		}
		if (!p.err && peek(&p) != -1)
			fail(&p, "unexpected text after the document%s", NULL);
	}
	if (!p.err && memchr(buf, '\0', len)) {
		p.line = p.col = 0;
		fail(&p, "NUL byte in the input%s", NULL);
	}
	if (p.err == -ENOMEM)
		flow_errors_add(errs, file, 0, 0, "out of memory");
	if (p.err) {
		jdoc_fini(d);
		return p.err;
	}
	d->root = root;
	return 0;
}

void jdoc_fini(struct jdoc *d)
{
	struct jnode *n = d->all;
	while (n) {
		struct jnode *next = n->next_alloc;
		if (n->type == J_OBJ) {
			for (size_t i = 0; i < n->n; i++)
				free(n->keys[i]);
		}
		free(n->keys);
		free(n->kline);
		free(n->kcol);
		free(n->items);
		free(n->str);
		free(n);
		n = next;
	}
	memset(d, 0, sizeof(*d));
}

const struct jnode *jget(const struct jnode *obj, const char *key)
{
	if (!obj || obj->type != J_OBJ)
		return NULL;
	for (size_t i = 0; i < obj->n; i++) {
		if (!strcmp(obj->keys[i], key))
			return obj->items[i];
	}
	return NULL;
}

const char *jstr(const struct jnode *obj, const char *key)
{
	const struct jnode *v = jget(obj, key);
	if (!v || v->type == J_NULL || v->type == J_ARR || v->type == J_OBJ)
		return NULL;
	return v->str;
}
