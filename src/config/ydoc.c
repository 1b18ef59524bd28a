/* YAML document tree built from libyaml parser events. Refuses anchors,
 * aliases and tags outright: config and flow files never need them, and an
 * alias bomb ("billion laughs") is then impossible by construction. */
#include "config/ydoc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define HARD_MAX_BYTES (64u << 20)
#define HARD_MAX_DEPTH 256u
#define HARD_MAX_NODES 4000000u
#define HARD_MAX_SCALAR (16u << 20)
#define EXCERPT_CHARS 40

struct ydoc_node {
	enum ydoc_type type;
	bool quoted;
	unsigned line;
	unsigned col;
	char *text; /* scalar only, NUL-terminated */
	size_t len;
	/* seq: items; map: key, value, key, value, ... */
	struct ydoc_node **kids;
	size_t nkids;
	size_t cap;
};

struct ydoc {
	char *name;
	struct ydoc_node *root;
};

struct builder {
	const char *name;
	const char *buf;
	size_t len;
	struct ydoc_limits lim;
	struct ydoc *doc;
	struct ydoc_node **stack; /* open maps and seqs, innermost last */
	size_t depth;
	size_t nnodes;
	unsigned ndocs;
	char *err;
	size_t errlen;
};

static void node_free(struct ydoc_node *n)
{
	if (!n)
		return;
	/* Recursion is bounded by the depth limit (at most HARD_MAX_DEPTH). */
	for (size_t i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->text);
	free(n);
}

void ydoc_destroy(struct ydoc *doc)
{
	if (!doc)
		return;
	node_free(doc->root);
	free(doc->name);
	free(doc);
}

/* Copy up to EXCERPT_CHARS characters of s into buf, control bytes as '?',
 * never splitting a UTF-8 sequence, "..." when cut. */
static const char *excerpt_bytes(const char *s, size_t len, char *buf,
				 size_t size)
{
	size_t o = 0;
	unsigned chars = 0;
	size_t i = 0;

	if (!size)
		return buf;
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t w = 1;

		if (c >= 0xc0) {
			while (i + w < len &&
			       ((unsigned char)s[i + w] & 0xc0) == 0x80)
				w++;
		}
		/* Leave room for "..." and the NUL whatever follows. */
		if (chars == EXCERPT_CHARS || o + w + 4 > size)
			break;
		if (c < 0x20 || c == 0x7f) {
			buf[o++] = '?';
		} else {
			memcpy(buf + o, s + i, w);
			o += w;
		}
		i += w;
		chars++;
	}
	if (i < len && o + 4 <= size) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o < size ? o : size - 1] = '\0';
	return buf;
}

const char *ydoc_node_excerpt(const struct ydoc_node *n, char *buf, size_t size)
{
	if (!size)
		return buf;
	if (!n) {
		buf[0] = '\0';
		return buf;
	}
	if (n->type != YDOC_SCALAR) {
		snprintf(buf, size, "%s",
			 n->type == YDOC_MAP ? "a map" : "a list");
		return buf;
	}
	return excerpt_bytes(n->text, n->len, buf, size);
}

__attribute__((format(printf, 5, 6))) static int fail(struct builder *b, int rc,
						      unsigned line,
						      unsigned col,
						      const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!b->errlen)
		return rc;
	if (line)
		n = snprintf(b->err, b->errlen, "%s:%u:%u: ", b->name, line,
			     col);
	else
		n = snprintf(b->err, b->errlen, "%s: ", b->name);
	if (n < 0 || (size_t)n >= b->errlen)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->err + n, b->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return rc;
}

static unsigned mark_line(const yaml_mark_t *m)
{
	return m->line >= UINT32_MAX ? UINT32_MAX : (unsigned)m->line + 1;
}

static unsigned mark_col(const yaml_mark_t *m)
{
	return m->column >= UINT32_MAX ? UINT32_MAX : (unsigned)m->column + 1;
}

/* 1-based line and column (in characters) of a byte offset in the input. */
static void offset_pos(const struct builder *b, size_t off, unsigned *line,
		       unsigned *col)
{
	unsigned l = 1, c = 1;

	for (size_t i = 0; i < off && i < b->len; i++) {
		unsigned char ch = (unsigned char)b->buf[i];

		if (ch == '\n') {
			l++;
			c = 1;
		} else if ((ch & 0xc0) != 0x80) {
			c++;
		}
	}
	*line = l;
	*col = c;
}

/* True if the leading whitespace of 0-based line contains a tab: the usual
 * cause of libyaml's "cannot start any token" on a hand-edited file. */
static bool line_indented_with_tab(const struct builder *b, size_t line)
{
	size_t i = 0;

	for (size_t l = 0; l < line && i < b->len; i++) {
		if (b->buf[i] == '\n')
			l++;
	}
	for (; i < b->len && (b->buf[i] == ' ' || b->buf[i] == '\t'); i++) {
		if (b->buf[i] == '\t')
			return true;
	}
	return false;
}

static int syntax_error(struct builder *b, const yaml_parser_t *p)
{
	unsigned line, col;
	const char *problem = p->problem ? p->problem : "syntax error";

	if (p->error == YAML_MEMORY_ERROR)
		return fail(b, -ENOMEM, 0, 0, "out of memory parsing YAML");
	if (p->error == YAML_READER_ERROR) {
		offset_pos(b, p->problem_offset, &line, &col);
		return fail(b, -EBADMSG, line, col, "%s", problem);
	}
	line = mark_line(&p->problem_mark);
	col = mark_col(&p->problem_mark);
	if (line_indented_with_tab(b, p->problem_mark.line))
		return fail(b, -EBADMSG, line, col,
			    "%s (tabs are not allowed for indentation)",
			    problem);
	if (p->context && (p->context_mark.line != p->problem_mark.line ||
			   p->context_mark.column != p->problem_mark.column))
		return fail(b, -EBADMSG, line, col,
			    "%s (%s at line %u, column %u)", problem,
			    p->context, mark_line(&p->context_mark),
			    mark_col(&p->context_mark));
	if (p->context)
		return fail(b, -EBADMSG, line, col, "%s (%s)", problem,
			    p->context);
	return fail(b, -EBADMSG, line, col, "%s", problem);
}

/* Refuse anchors and tags on a node event. */
static int check_props(struct builder *b, const yaml_event_t *ev,
		       const yaml_char_t *anchor, const yaml_char_t *tag)
{
	char ex[64];
	unsigned line = mark_line(&ev->start_mark);
	unsigned col = mark_col(&ev->start_mark);

	if (anchor) {
		excerpt_bytes((const char *)anchor,
			      strlen((const char *)anchor), ex, sizeof(ex));
		return fail(b, -EBADMSG, line, col,
			    "anchor '&%s' is not allowed (anchors and aliases "
			    "are not supported)",
			    ex);
	}
	if (tag) {
		const char *t = (const char *)tag;
		const char *core = "tag:yaml.org,2002:";
		bool short_form = !strncmp(t, core, strlen(core));

		/* libyaml hands back "!!str" resolved; show it as written. */
		if (short_form)
			t += strlen(core);
		excerpt_bytes(t, strlen(t), ex, sizeof(ex));
		return fail(
			b, -EBADMSG, line, col,
			"tag '%s%s' is not allowed (tags are not supported)",
			short_form ? "!!" : "", ex);
	}
	return 0;
}

static int attach(struct builder *b, struct ydoc_node *n)
{
	struct ydoc_node *p;

	if (b->depth == 0) {
		b->doc->root = n;
		return 0;
	}
	p = b->stack[b->depth - 1];
	if (p->nkids == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 4;
		struct ydoc_node **k = realloc(p->kids, cap * sizeof(*k));

		if (!k)
			return -ENOMEM;
		p->kids = k;
		p->cap = cap;
	}
	p->kids[p->nkids++] = n;
	return 0;
}

static int add_node(struct builder *b, const yaml_event_t *ev,
		    enum ydoc_type type)
{
	unsigned line = mark_line(&ev->start_mark);
	unsigned col = mark_col(&ev->start_mark);
	struct ydoc_node *parent = b->depth ? b->stack[b->depth - 1] : NULL;
	struct ydoc_node *n;
	int err;

	if (parent && parent->type == YDOC_MAP && parent->nkids % 2 == 0 &&
	    type != YDOC_SCALAR)
		return fail(b, -EBADMSG, line, col,
			    "a map key must be a plain value, not %s",
			    type == YDOC_MAP ? "a map" : "a list");
	if (b->nnodes >= b->lim.max_nodes)
		return fail(b, -E2BIG, line, col,
			    "document has more than %zu nodes",
			    b->lim.max_nodes);
	if (type != YDOC_SCALAR && b->depth >= b->lim.max_depth)
		return fail(b, -E2BIG, line, col,
			    "nesting is deeper than %zu levels",
			    b->lim.max_depth);
	if (type == YDOC_SCALAR &&
	    ev->data.scalar.length > b->lim.max_scalar_len)
		return fail(b, -E2BIG, line, col,
			    "value is %zu bytes long, the limit is %zu",
			    ev->data.scalar.length, b->lim.max_scalar_len);

	n = calloc(1, sizeof(*n));
	if (!n)
		return fail(b, -ENOMEM, 0, 0, "out of memory");
	n->type = type;
	n->line = line;
	n->col = col;
	if (type == YDOC_SCALAR) {
		n->len = ev->data.scalar.length;
		n->text = malloc(n->len + 1);
		if (!n->text) {
			free(n);
			return fail(b, -ENOMEM, 0, 0, "out of memory");
		}
		memcpy(n->text, ev->data.scalar.value, n->len);
		n->text[n->len] = '\0';
		n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
	}
	err = attach(b, n);
	if (err) {
		node_free(n);
		return fail(b, err, 0, 0, "out of memory");
	}
	b->nnodes++;
	if (type != YDOC_SCALAR)
		b->stack[b->depth++] = n;
	return 0;
}

struct keyref {
	const struct ydoc_node *key;
	size_t idx;
};

static int keyref_cmp(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	size_t n = x->key->len < y->key->len ? x->key->len : y->key->len;
	int c = memcmp(x->key->text, y->key->text, n);

	if (c)
		return c;
	if (x->key->len != y->key->len)
		return x->key->len < y->key->len ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static bool same_key(const struct ydoc_node *a, const struct ydoc_node *b)
{
	return a->len == b->len && !memcmp(a->text, b->text, a->len);
}

/* Report the earliest repeated key of a finished map. Sorting keeps large
 * maps (route tables) at n log n instead of comparing every pair. */
static int check_dup_keys(struct builder *b, const struct ydoc_node *map)
{
	size_t npairs = map->nkids / 2;
	struct keyref *refs;
	const struct keyref *first = NULL, *second = NULL;
	char ex[64];

	if (npairs < 2)
		return 0;
	refs = malloc(npairs * sizeof(*refs));
	if (!refs)
		return fail(b, -ENOMEM, 0, 0, "out of memory");
	for (size_t i = 0; i < npairs; i++) {
		refs[i].key = map->kids[2 * i];
		refs[i].idx = i;
	}
	qsort(refs, npairs, sizeof(*refs), keyref_cmp);
	for (size_t i = 1; i < npairs; i++) {
		/* Within a run of equal keys, [0] is the first definition and
		 * [1] the first repeat; keep the repeat earliest in the file.
		 */
		if (!same_key(refs[i - 1].key, refs[i].key))
			continue;
		if (i >= 2 && same_key(refs[i - 2].key, refs[i].key))
			continue;
		if (!second || refs[i].idx < second->idx) {
			first = &refs[i - 1];
			second = &refs[i];
		}
	}
	if (second) {
		int rc = fail(b, -EBADMSG, second->key->line, second->key->col,
			      "duplicate key '%s' (first defined at line %u, "
			      "column %u)",
			      ydoc_node_excerpt(second->key, ex, sizeof(ex)),
			      first->key->line, first->key->col);
		free(refs);
		return rc;
	}
	free(refs);
	return 0;
}

static int handle_event(struct builder *b, const yaml_event_t *ev, bool *done)
{
	int err;

	switch (ev->type) {
	case YAML_STREAM_START_EVENT:
	case YAML_DOCUMENT_END_EVENT:
	case YAML_NO_EVENT:
		return 0;
	case YAML_STREAM_END_EVENT:
		*done = true;
		return 0;
	case YAML_DOCUMENT_START_EVENT:
		if (b->ndocs++)
			return fail(b, -EBADMSG, mark_line(&ev->start_mark),
				    mark_col(&ev->start_mark),
				    "a second document is not allowed (one "
				    "document per file)");
		return 0;
	case YAML_ALIAS_EVENT: {
		char ex[64];
		const char *a = (const char *)ev->data.alias.anchor;

		excerpt_bytes(a, strlen(a), ex, sizeof(ex));
		return fail(b, -EBADMSG, mark_line(&ev->start_mark),
			    mark_col(&ev->start_mark),
			    "alias '*%s' is not allowed (anchors and aliases "
			    "are not supported)",
			    ex);
	}
	case YAML_SCALAR_EVENT:
		err = check_props(b, ev, ev->data.scalar.anchor,
				  ev->data.scalar.tag);
		return err ? err : add_node(b, ev, YDOC_SCALAR);
	case YAML_SEQUENCE_START_EVENT:
		err = check_props(b, ev, ev->data.sequence_start.anchor,
				  ev->data.sequence_start.tag);
		return err ? err : add_node(b, ev, YDOC_SEQ);
	case YAML_MAPPING_START_EVENT:
		err = check_props(b, ev, ev->data.mapping_start.anchor,
				  ev->data.mapping_start.tag);
		return err ? err : add_node(b, ev, YDOC_MAP);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		/* libyaml balances start and end events. */
		if (!b->depth)
			return fail(b, -EBADMSG, mark_line(&ev->start_mark),
				    mark_col(&ev->start_mark),
				    "unbalanced end of collection");
		b->depth--;
		if (ev->type == YAML_MAPPING_END_EVENT)
			return check_dup_keys(b, b->stack[b->depth]);
		return 0;
	}
	return 0;
}

static size_t pick(size_t v, size_t def, size_t hard)
{
	if (!v)
		return def;
	return v > hard ? hard : v;
}

int ydoc_parse_limits(const char *name, const char *buf, size_t len,
		      const struct ydoc_limits *lim, struct ydoc **docp,
		      char *err, size_t errlen)
{
	struct builder b = {
		.name = name ? name : "<input>",
		.buf = buf,
		.len = len,
		.err = err,
		.errlen = err ? errlen : 0,
	};
	yaml_parser_t parser;
	bool done = false;
	int rc = 0;

	if (b.errlen)
		err[0] = '\0';
	if (!docp || (!buf && len))
		return fail(&b, -EINVAL, 0, 0, "invalid argument");
	b.lim.max_bytes = pick(lim ? lim->max_bytes : 0, YDOC_MAX_BYTES_DEFAULT,
			       HARD_MAX_BYTES);
	b.lim.max_depth = pick(lim ? lim->max_depth : 0, YDOC_MAX_DEPTH_DEFAULT,
			       HARD_MAX_DEPTH);
	b.lim.max_nodes = pick(lim ? lim->max_nodes : 0, YDOC_MAX_NODES_DEFAULT,
			       HARD_MAX_NODES);
	b.lim.max_scalar_len = pick(lim ? lim->max_scalar_len : 0,
				    YDOC_MAX_SCALAR_DEFAULT, HARD_MAX_SCALAR);
	/* libyaml counts a UTF-8 byte order mark as a column; drop it so
	 * positions match what an editor shows. */
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) {
		b.buf += 3;
		b.len -= 3;
	}
	if (len > b.lim.max_bytes)
		return fail(&b, -E2BIG, 0, 0,
			    "document is %zu bytes, the limit is %zu", len,
			    b.lim.max_bytes);

	b.doc = calloc(1, sizeof(*b.doc));
	b.stack = calloc(b.lim.max_depth, sizeof(*b.stack));
	if (b.doc)
		b.doc->name = strdup(b.name);
	if (!b.doc || !b.stack || !b.doc->name) {
		rc = fail(&b, -ENOMEM, 0, 0, "out of memory");
		goto out_nofree_parser;
	}
	if (!yaml_parser_initialize(&parser)) {
		rc = fail(&b, -ENOMEM, 0, 0, "out of memory");
		goto out_nofree_parser;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)b.buf,
				     b.len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);

	while (!done) {
		yaml_event_t ev;

		if (!yaml_parser_parse(&parser, &ev)) {
			rc = syntax_error(&b, &parser);
			break;
		}
		rc = handle_event(&b, &ev, &done);
		yaml_event_delete(&ev);
		if (rc)
			break;
	}
	yaml_parser_delete(&parser);

out_nofree_parser:
	free(b.stack);
	if (rc) {
		ydoc_destroy(b.doc);
		return rc;
	}
	*docp = b.doc;
	return 0;
}

int ydoc_parse(const char *name, const char *buf, size_t len,
	       struct ydoc **docp, char *err, size_t errlen)
{
	return ydoc_parse_limits(name, buf, len, NULL, docp, err, errlen);
}

const struct ydoc_node *ydoc_root(const struct ydoc *doc)
{
	return doc ? doc->root : NULL;
}

const char *ydoc_name(const struct ydoc *doc)
{
	return doc ? doc->name : NULL;
}

enum ydoc_type ydoc_node_type(const struct ydoc_node *n)
{
	return n->type;
}

unsigned ydoc_node_line(const struct ydoc_node *n)
{
	return n ? n->line : 0;
}

unsigned ydoc_node_col(const struct ydoc_node *n)
{
	return n ? n->col : 0;
}

const char *ydoc_type_name(enum ydoc_type t)
{
	switch (t) {
	case YDOC_SCALAR:
		return "scalar";
	case YDOC_SEQ:
		return "list";
	case YDOC_MAP:
		return "map";
	}
	return "?";
}

const char *ydoc_scalar_text(const struct ydoc_node *n)
{
	return n && n->type == YDOC_SCALAR ? n->text : NULL;
}

size_t ydoc_scalar_len(const struct ydoc_node *n)
{
	return n && n->type == YDOC_SCALAR ? n->len : 0;
}

bool ydoc_scalar_quoted(const struct ydoc_node *n)
{
	return n && n->type == YDOC_SCALAR && n->quoted;
}

bool ydoc_scalar_is_null(const struct ydoc_node *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

	if (!n || n->type != YDOC_SCALAR || n->quoted)
		return false;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++) {
		if (!strcmp(n->text, nulls[i]) && n->len == strlen(nulls[i]))
			return true;
	}
	return false;
}

size_t ydoc_node_count(const struct ydoc_node *n)
{
	if (!n || n->type == YDOC_SCALAR)
		return 0;
	return n->type == YDOC_MAP ? n->nkids / 2 : n->nkids;
}

const struct ydoc_node *ydoc_seq_item(const struct ydoc_node *n, size_t i)
{
	if (!n || n->type != YDOC_SEQ || i >= n->nkids)
		return NULL;
	return n->kids[i];
}

const struct ydoc_node *ydoc_map_key(const struct ydoc_node *n, size_t i)
{
	if (!n || n->type != YDOC_MAP || i >= n->nkids / 2)
		return NULL;
	return n->kids[2 * i];
}

const struct ydoc_node *ydoc_map_value(const struct ydoc_node *n, size_t i)
{
	if (!n || n->type != YDOC_MAP || i >= n->nkids / 2)
		return NULL;
	return n->kids[2 * i + 1];
}

const struct ydoc_node *ydoc_map_get(const struct ydoc_node *n, const char *key)
{
	size_t klen;

	if (!n || n->type != YDOC_MAP || !key)
		return NULL;
	klen = strlen(key);
	for (size_t i = 0; i + 1 < n->nkids; i += 2) {
		const struct ydoc_node *k = n->kids[i];

		if (k->len == klen && !memcmp(k->text, key, klen))
			return n->kids[i + 1];
	}
	return NULL;
}
