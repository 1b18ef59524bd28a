/* Shared by the importers: the voxgate YAML tree they build (with comments
 * naming the source action of each node), its printer, and the import
 * context (errors, lenient warnings, node names, variables, --values and
 * --intents). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/ydoc.h"
#include "core/log.h"
#include "core/strbuf.h"
#include "flow/flow.h"
#include "flow/import_int.h"
#include "flow/model.h"

#define NODE_NAME_MAX 64

char *imp_strdup(struct imp *im, const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d)
		im->oom = true;
	return d;
}

char *imp_printf(struct imp *im, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0) {
		s = NULL;
		im->oom = true;
	}
	va_end(ap);
	return s;
}

struct yv *yv_new(struct imp *im, enum ytype t, const char *text)
{
	struct yv *v = calloc(1, sizeof(*v));
	if (!v) {
		im->oom = true;
		return NULL;
	}
	v->type = t;
	if (text) {
		v->text = strdup(text);
		if (!v->text) {
			free(v);
			im->oom = true;
			return NULL;
		}
	}
	return v;
}

struct yv *yv_map(struct imp *im)
{
	return yv_new(im, Y_MAP, NULL);
}

struct yv *yv_seq(struct imp *im)
{
	return yv_new(im, Y_SEQ, NULL);
}

void yv_free(struct yv *v)
{
	while (v) {
		struct yv *next = v->next;
		yv_free(v->first);
		free(v->text);
		free(v->key);
		free(v->comment);
		free(v);
		v = next;
	}
}

static void append(struct yv *parent, struct yv *val)
{
	if (parent->last)
		parent->last->next = val;
	else
		parent->first = val;
	parent->last = val;
}

struct yv *yv_get(const struct yv *map, const char *key)
{
	if (!map)
		return NULL;
	for (struct yv *c = map->first; c; c = c->next) {
		if (c->key && !strcmp(c->key, key))
			return c;
	}
	return NULL;
}

struct yv *yv_put(struct imp *im, struct yv *map, const char *key,
		  struct yv *val)
{
	if (!val)
		return NULL;
	if (!map) {
		yv_free(val);
		return NULL;
	}
	val->key = strdup(key);
	if (!val->key) {
		im->oom = true;
		yv_free(val);
		return NULL;
	}
	/* Replace a member of the same key in place (keeps order). */
	for (struct yv **pp = &map->first; *pp; pp = &(*pp)->next) {
		struct yv *c = *pp;
		if (c->key && !strcmp(c->key, key)) {
			val->next = c->next;
			if (!val->comment) {
				val->comment = c->comment;
				c->comment = NULL;
			}
			*pp = val;
			if (map->last == c)
				map->last = val;
			c->next = NULL;
			yv_free(c);
			return val;
		}
	}
	append(map, val);
	return val;
}

struct yv *yv_puts(struct imp *im, struct yv *map, const char *key,
		   const char *text)
{
	return yv_put(im, map, key, yv_new(im, Y_STR, text ? text : ""));
}

struct yv *yv_putraw(struct imp *im, struct yv *map, const char *key,
		     const char *text)
{
	return yv_put(im, map, key, yv_new(im, Y_RAW, text));
}

struct yv *yv_push(struct yv *seq, struct yv *val)
{
	if (!val || !seq) {
		yv_free(val);
		return NULL;
	}
	append(seq, val);
	return val;
}

void yv_comment(struct imp *im, struct yv *v, const char *fmt, ...)
{
	if (!v)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0) {
		im->oom = true;
		va_end(ap);
		return;
	}
	va_end(ap);
	if (v->comment) {
		char *j = imp_printf(im, "%s\n%s", v->comment, s);
		free(s);
		if (!j)
			return;
		s = j;
	}
	free(v->comment);
	v->comment = s;
}

/* ---- printing ---- */

static bool plain_key(const char *k)
{
	static const char *const words[] = { "true", "false", "null", "yes",
					     "no",   "on",    "off",  "y",
					     "n",    "~" };
	if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
	      *k == '_'))
		return false;
	for (const char *p = k; *p; p++) {
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX"
			    "YZ"
			    "0123456789_.-",
			    *p))
			return false;
	}
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (!strcasecmp(k, words[i]))
			return false;
	}
	return true;
}

/* Decode the UTF-8 sequence at s (valid or not): its code point and
 * length (an invalid byte is U+FFFD, length 1). */
static unsigned decode(const unsigned char *s, size_t *len)
{
	unsigned cp;
	size_t k;
	if (s[0] < 0x80) {
		*len = 1;
		return s[0];
	}
	if ((s[0] & 0xe0) == 0xc0) {
		k = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		k = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		k = 4;
		cp = s[0] & 0x07;
	} else {
		*len = 1;
		return 0xfffd;
	}
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*len = 1;
			return 0xfffd;
		}
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	static const unsigned min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	*len = k;
	if (cp < min[k] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
		*len = 1;
		return 0xfffd;
	}
	return cp;
}

/* YAML's printable set (what libyaml accepts in a stream). */
static bool printable(unsigned cp)
{
	return cp == 0x9 || cp == 0xa || cp == 0xd ||
	       (cp >= 0x20 && cp <= 0x7e) || cp == 0x85 ||
	       (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) ||
	       (cp >= 0x10000 && cp <= 0x10ffff);
}

static int put_quoted(struct strbuf *out, const char *s)
{
	int err = strbuf_add(out, "\"", 1);
	const unsigned char *p = (const unsigned char *)s;
	while (!err && *p) {
		size_t k;
		unsigned cp = decode(p, &k);
		if (cp == '"' || cp == '\\') {
			char e[2] = { '\\', (char)cp };
			err = strbuf_add(out, e, 2);
		} else if (cp == '\n') {
			err = strbuf_add(out, "\\n", 2);
		} else if (cp == '\t') {
			err = strbuf_add(out, "\\t", 2);
		} else if (cp < 0x20 || cp == 0x7f || !printable(cp) ||
			   cp == 0xfffd) {
			err = strbuf_printf(out, "\\u%04x",
					    cp > 0xffff ? 0xfffdu : cp);
		} else {
			err = strbuf_add(out, (const char *)p, k);
		}
		p += k;
	}
	return err ? err : strbuf_add(out, "\"", 1);
}

static int put_indent(struct strbuf *out, unsigned n)
{
	int err = 0;
	for (unsigned i = 0; !err && i < n; i++)
		err = strbuf_add(out, " ", 1);
	return err;
}

static int put_comment(struct strbuf *out, const char *c, unsigned indent)
{
	int err = 0;
	while (c && *c && !err) {
		size_t n = strcspn(c, "\n");
		err = put_indent(out, indent);
		if (!err)
			err = strbuf_add(out, "# ", 2);
		for (size_t i = 0; !err && i < n;) {
			size_t k;
			unsigned cp = decode((const unsigned char *)c + i, &k);
			if (cp < 0x20 || cp == 0x7f || cp == 0x85 ||
			    !printable(cp) || cp == 0xfffd || i + k > n)
				err = strbuf_add(out, "?", 1);
			else
				err = strbuf_add(out, c + i, k);
			i += k;
		}
		if (!err)
			err = strbuf_add(out, "\n", 1);
		c += n;
		if (*c == '\n')
			c++;
	}
	return err;
}

static int print_value(const struct yv *v, unsigned indent, struct strbuf *out);

static int print_scalar(const struct yv *v, struct strbuf *out)
{
	if (v->type == Y_RAW)
		return strbuf_addstr(out, v->text ? v->text : "");
	return put_quoted(out, v->text ? v->text : "");
}

/* Members of a map at indent; with first_inline the first member goes on
 * the current line (after "- "). */
static int print_members(const struct yv *m, unsigned indent, bool first_inline,
			 struct strbuf *out)
{
	int err = 0;
	for (const struct yv *c = m->first; c && !err; c = c->next) {
		bool inl = first_inline && c == m->first;
		if (!inl) {
			err = put_comment(out, c->comment, indent);
			if (!err)
				err = put_indent(out, indent);
		}
		if (err)
			break;
		err = plain_key(c->key) ? strbuf_addstr(out, c->key)
					: put_quoted(out, c->key);
		if (!err)
			err = strbuf_add(out, ":", 1);
		if (!err)
			err = print_value(c, indent + 2, out);
	}
	return err;
}

/* After "key:" or "-": the value, ending with a newline. */
static int print_value(const struct yv *v, unsigned indent, struct strbuf *out)
{
	int err = 0;
	if (v->type == Y_STR || v->type == Y_RAW) {
		err = strbuf_add(out, " ", 1);
		if (!err)
			err = print_scalar(v, out);
		return err ? err : strbuf_add(out, "\n", 1);
	}
	if (!v->first)
		return strbuf_addstr(out, v->type == Y_MAP ? " {}\n" : " []\n");
	if (v->type == Y_MAP) {
		err = strbuf_add(out, "\n", 1);
		return err ? err : print_members(v, indent, false, out);
	}
	err = strbuf_add(out, "\n", 1);
	for (const struct yv *c = v->first; c && !err; c = c->next) {
		err = put_comment(out, c->comment, indent);
		if (!err)
			err = put_indent(out, indent);
		if (!err)
			err = strbuf_add(out, "-", 1);
		if (err)
			break;
		if (c->type == Y_MAP && c->first) {
			err = strbuf_add(out, " ", 1);
			if (!err)
				err = print_members(c, indent + 2, true, out);
		} else {
			err = print_value(c, indent + 2, out);
		}
	}
	return err;
}

int yv_print(const struct yv *v, struct strbuf *out)
{
	if (v->type != Y_MAP)
		return -EINVAL;
	return print_members(v, 0, false, out);
}

/* ---- the context ---- */

static void verrorf(struct imp *im, const char *file, unsigned line,
		    unsigned col, const char *fmt, va_list ap)
{
	char msg[FLOW_ERROR_LEN];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	flow_errors_add(im->errs, file, line, col, "%s", msg);
}

void imp_error(struct imp *im, unsigned line, unsigned col, const char *fmt,
	       ...)
{
	va_list ap;
	va_start(ap, fmt);
	verrorf(im, im->file, line, col, fmt, ap);
	va_end(ap);
	im->nerrors++;
}

bool imp_unsupported(struct imp *im, unsigned line, unsigned col,
		     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (!im->o->lenient) {
		verrorf(im, im->file, line, col, fmt, ap);
		im->nerrors++;
		va_end(ap);
		return false;
	}
	char msg[FLOW_ERROR_LEN];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	LOGW(NULL, "flow_import_unsupported", "file=%s line=%u col=%u what=%s",
	     log_esc(im->file), line, col, log_esc(msg));
	return true;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

static void sanitize(const char *src, char *out, size_t size, size_t max)
{
	size_t n = 0;
	bool under = false;
	for (const char *p = src ? src : ""; *p && n + 1 < size && n < max;
	     p++) {
		char c = *p;
		if (!name_char(c)) {
			if (under || !n)
				continue;
			c = '_';
			under = true;
		} else {
			under = false;
		}
		out[n++] = c;
	}
	while (n && out[n - 1] == '_')
		n--;
	out[n] = '\0';
}

void imp_sanitize(const char *src, char *out, size_t size)
{
	sanitize(src, out, size, NODE_NAME_MAX);
}

void imp_node_name(struct imp *im, const char *src, char *out, size_t size)
{
	char base[NODE_NAME_MAX + 1];
	sanitize(src, base, sizeof(base), 56);
	if (!*base)
		snprintf(base, sizeof(base), "node");
	snprintf(out, size, "%s", base);
	for (unsigned i = 2; yv_get(im->used, out); i++)
		snprintf(out, size, "%s_%u", base, i);
	yv_putraw(im, im->used, out, "x");
}

struct yv *imp_node(struct imp *im, const char *name, const char *type,
		    const char *comment)
{
	if (!yv_get(im->nodes, name)) {
		if (im->nnodes == FLOW_MAX_NODES) {
			imp_error(im, 0, 0,
				  "the flow would have more than %u nodes",
				  FLOW_MAX_NODES);
			im->nnodes++;
		}
		if (im->nnodes > FLOW_MAX_NODES)
			return NULL;
		im->nnodes++;
	}
	struct yv *n = yv_map(im);
	if (!n)
		return NULL;
	if (comment)
		yv_comment(im, n, "%s", comment);
	yv_putraw(im, n, "type", type);
	return yv_put(im, im->nodes, name, n);
}

struct yv *imp_find_node(struct imp *im, const char *name)
{
	return yv_get(im->nodes, name);
}

void imp_declare(struct imp *im, const char *var)
{
	if (!yv_get(im->vars, var))
		yv_puts(im, im->vars, var, "");
}

const struct ydoc_node *imp_value_node(struct imp *im, const char *key)
{
	return im->values && key ? ydoc_map_get(im->values, key) : NULL;
}

const char *imp_value(struct imp *im, const char *key)
{
	return ydoc_scalar_text(imp_value_node(im, key));
}

void imp_classify_model(struct imp *im, struct yv *node)
{
	if (!im->intents_map)
		yv_putraw(im, node, "model", "default");
}

char *imp_text(struct imp *im, const char *s, bool ssml)
{
	struct strbuf b;
	strbuf_init(&b, 64u << 10);
	int err = 0;
	bool space = false;
	for (const char *p = s ? s : ""; *p && !err; p++) {
		if (ssml && *p == '<') {
			const char *e = strchr(p, '>');
			if (e) {
				p = e;
				space = b.len > 0;
				continue;
			}
		}
		char c = *p;
		if (ssml && c == '&') {
			static const struct {
				const char *ent;
				char c;
			} ents[] = { { "&amp;", '&' },
				     { "&lt;", '<' },
				     { "&gt;", '>' },
				     { "&quot;", '"' },
				     { "&apos;", '\'' } };
			for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]);
			     i++) {
				size_t k = strlen(ents[i].ent);
				if (!strncmp(p, ents[i].ent, k)) {
					c = ents[i].c;
					p += k - 1;
					break;
				}
			}
		}
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			space = b.len > 0;
			continue;
		}
		if (space) {
			err = strbuf_add(&b, " ", 1);
			space = false;
		}
		/* "{{" would start a template: keep the text literal. */
		if (!err && c == '{' && p[1] == '{')
			err = strbuf_add(&b, "{ ", 2);
		else if (!err)
			err = strbuf_add(&b, &c, 1);
	}
	char *r = err ? NULL : imp_strdup(im, strbuf_str(&b));
	if (err)
		im->oom = true;
	strbuf_fini(&b);
	return r;
}

static int parse_aux(struct imp *im, const char *file, const char *text,
		     size_t len, struct ydoc **docp,
		     const struct ydoc_node **mapp)
{
	char msg[FLOW_ERROR_LEN];
	int err = ydoc_parse(file, text, len, docp, msg, sizeof(msg));
	if (err) {
		flow_errors_add(im->errs, file, 0, 0, "%s", msg);
		im->nerrors++;
		return err;
	}
	const struct ydoc_node *r = ydoc_root(*docp);
	if (r && ydoc_node_type(r) != YDOC_MAP) {
		flow_errors_add(im->errs, file, ydoc_node_line(r),
				ydoc_node_col(r), "expected a map, not a %s",
				ydoc_type_name(ydoc_node_type(r)));
		im->nerrors++;
		return -EBADMSG;
	}
	*mapp = r;
	return 0;
}

/* --intents: intent -> [examples] or {examples: [...], slots: ...}. */
static int load_intents(struct imp *im)
{
	const char *f = im->o->intents_file ? im->o->intents_file : "intents";
	int err = parse_aux(im, f, im->o->intents, im->o->intents_len,
			    &im->intents_doc, &im->intents_map);
	if (err)
		return err;
	size_t n = ydoc_node_count(im->intents_map);
	for (size_t i = 0; i < n; i++) {
		const struct ydoc_node *k = ydoc_map_key(im->intents_map, i);
		const struct ydoc_node *v = ydoc_map_value(im->intents_map, i);
		const struct ydoc_node *ex = v;
		if (ydoc_node_type(v) == YDOC_MAP)
			ex = ydoc_map_get(v, "examples");
		if (!ex || ydoc_node_type(ex) != YDOC_SEQ) {
			flow_errors_add(im->errs, f, ydoc_node_line(v),
					ydoc_node_col(v),
					"intent '%s': expected a list of "
					"examples",
					ydoc_scalar_text(k));
			im->nerrors++;
			continue;
		}
		struct yv *it = yv_put(im, im->intents, ydoc_scalar_text(k),
				       yv_map(im));
		struct yv *seq = yv_put(im, it, "examples", yv_seq(im));
		for (size_t j = 0; j < ydoc_node_count(ex); j++) {
			const char *t = ydoc_scalar_text(ydoc_seq_item(ex, j));
			if (t)
				yv_push(seq, yv_new(im, Y_STR, t));
		}
	}
	return im->nerrors ? -EBADMSG : 0;
}

int imp_init(struct imp *im, enum flow_import_from from, const char *file,
	     const struct flow_import_opts *o, struct flow_errors *errs)
{
	memset(im, 0, sizeof(*im));
	im->from = from;
	im->file = file;
	im->o = o;
	im->errs = errs;
	im->vars = yv_map(im);
	im->nodes = yv_map(im);
	im->intents = yv_map(im);
	im->handlers = yv_map(im);
	im->used = yv_map(im);
	if (im->oom)
		return -ENOMEM;
	int err = 0;
	if (o->values && o->values_len)
		err = parse_aux(im, o->values_file ? o->values_file : "values",
				o->values, o->values_len, &im->values_doc,
				&im->values);
	if (!err && o->intents && o->intents_len)
		err = load_intents(im);
	return err;
}

void imp_fini(struct imp *im)
{
	yv_free(im->vars);
	yv_free(im->nodes);
	yv_free(im->intents);
	yv_free(im->handlers);
	yv_free(im->used);
	ydoc_destroy(im->values_doc);
	ydoc_destroy(im->intents_doc);
	memset(im, 0, sizeof(*im));
}

int imp_finish(struct imp *im, const char *name, const char *start,
	       const char *header, struct strbuf *out)
{
	if (im->oom)
		return -ENOMEM;
	if (im->nerrors)
		return -EBADMSG;
	imp_prune(im, start);
	char fname[NODE_NAME_MAX + 1];
	sanitize(name, fname, sizeof(fname), NODE_NAME_MAX);
	if (!*fname)
		snprintf(fname, sizeof(fname), "imported");
	struct yv root = { .type = Y_MAP };
	yv_puts(im, &root, "name", fname);
	if (name && *name)
		yv_puts(im, &root, "description", name);
	yv_puts(im, &root, "start", start);
	int err = 0;
	if (header)
		err = put_comment(out, header, 0);
	if (!err && im->pruned)
		err = strbuf_printf(out,
				    "# Not reachable from the start, left "
				    "out: %s\n",
				    im->pruned);
	if (!err)
		err = yv_print(&root, out);
	yv_free(root.first);
	/* Sections borrowed into a temporary root, printed in order. */
	struct {
		const char *key;
		struct yv *v;
	} sec[] = { { "variables", im->vars },
		    { "intents", im->intents },
		    { "handlers", im->handlers },
		    { "nodes", im->nodes } };
	for (size_t i = 0; !err && i < sizeof(sec) / sizeof(sec[0]); i++) {
		if (!sec[i].v->first && i != 3)
			continue;
		err = strbuf_printf(out, "%s:", sec[i].key);
		if (!err)
			err = print_value(sec[i].v, 2, out);
	}
	if (im->oom)
		return -ENOMEM;
	return err;
}
