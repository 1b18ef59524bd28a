/* The flow loader, part two: field helpers shared by the node parsers -
 * templates (compiled, their "{{" positions, the uses to check), variable
 * targets, entities, name/template maps - and intent slots. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/nlu/entities.h"
#include "flow/load_impl.h"

#define CONTEXT_MAX 32u
#define SLOTS_MAX 20u

/* ---- messages and templates ---- */

void ld_oom(struct loader *L)
{
	L->nerr++;
	L->oom = true;
}

void ld_nerr_pos(struct nctx *c, unsigned line, unsigned col, const char *fmt,
		 ...)
{
	char msg[FLOW_ERROR_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->L->nerr++;
	if (c->prefix)
		flow_errors_add(c->L->errs, c->L->file, line, col, "%s%s",
				c->prefix, msg);
	else
		flow_errors_add(c->L->errs, c->L->file, line, col,
				"node '%s': %s", c->fn->name, msg);
}

/* Characters (UTF-8 code points) in s[0..n). */
static unsigned count_chars(const char *s, size_t n)
{
	unsigned k = 0;
	for (size_t i = 0; i < n; i++)
		k += ((unsigned char)s[i] & 0xc0) != 0x80;
	return k;
}

/* Index of the "{{" at off among the "{{" of s, counted as the template
 * compiler scans (a pair is consumed whole). */
static size_t brace_index(const char *s, size_t off)
{
	size_t k = 0;
	for (size_t i = 0; i < off;) {
		if (s[i] == '{' && s[i + 1] == '{') {
			k++;
			i += 2;
		} else {
			i++;
		}
	}
	return k;
}

void ld_scalar_pos(const struct loader *L, const struct ydoc_node *v,
		   size_t off, unsigned *line, unsigned *col)
{
	*line = ydoc_node_line(v);
	*col = ydoc_node_col(v);
	const char *s = ydoc_scalar_text(v);
	if (!s || !L->buf || off + 1 >= ydoc_scalar_len(v) + 1 ||
	    s[off] != '{' || *line == 0 || *col == 0)
		return;
	size_t want = brace_index(s, off);
	/* The scalar's line in the source. */
	size_t p = 0;
	for (unsigned ln = 1; ln < *line; ln++) {
		const char *nl = memchr(L->buf + p, '\n', L->len - p);
		if (!nl)
			return;
		p = (size_t)(nl - L->buf) + 1;
	}
	size_t bol = p;
	for (unsigned ch = 1; ch < *col && p < L->len && L->buf[p] != '\n';) {
		p++;
		if (p < L->len && ((unsigned char)L->buf[p] & 0xc0) != 0x80)
			ch++;
	}
	/* Only on the scalar's first line: past it, quoting and folding make
	 * columns guesswork, and the scalar's start is the answer. */
	size_t k = 0;
	while (p + 1 < L->len && L->buf[p] != '\n') {
		if (L->buf[p] == '{' && L->buf[p + 1] == '{') {
			if (k == want) {
				*col = count_chars(L->buf + bol, p - bol) + 1;
				return;
			}
			k++;
			p += 2;
		} else {
			p++;
		}
	}
}

void ld_tmpl_use(struct loader *L, const struct flow_tmpl *t,
		 const struct ydoc_node *at, const char *prefix,
		 const char *field)
{
	if (!t || !flow_tmpl_nvars(t))
		return;
	if (L->nuses == L->cuses) {
		size_t n = L->cuses ? 2 * L->cuses : 64;
		struct tmpl_use *u = realloc(L->uses, n * sizeof(*u));
		if (!u) {
			ld_oom(L);
			return;
		}
		L->uses = u;
		L->cuses = n;
	}
	struct tmpl_use *u = &L->uses[L->nuses++];
	u->t = t;
	u->at = at;
	snprintf(u->what, sizeof(u->what), "%s'%s'", prefix, field);
}

bool ld_get_tmpl(struct nctx *c, const char *field, const struct ydoc_node *v,
		 size_t max, bool allow_empty, struct flow_tmpl **out,
		 char **text)
{
	if (!ld_scalar_or_err(c, field, v))
		return false;
	const char *s = ydoc_scalar_text(v);
	size_t len = ydoc_scalar_len(v);
	if (ydoc_scalar_is_null(v)) {
		s = "";
		len = 0;
	}
	if (len == 0 && !allow_empty) {
		ld_nerr(c, v, "'%s' must not be empty", field);
		return false;
	}
	if (len > max) {
		ld_nerr(c, v, "'%s' is longer than %zu bytes", field, max);
		return false;
	}
	if (strlen(s) != len) {
		ld_nerr(c, v, "'%s' contains a NUL byte", field);
		return false;
	}
	char msg[160];
	size_t off = 0;
	struct flow_tmpl *t = NULL;
	int rc = flow_tmpl_compile(s, len, &t, &off, msg, sizeof(msg));
	if (rc == -ENOMEM) {
		ld_oom(c->L);
		return false;
	}
	if (rc) {
		unsigned line, col;
		ld_scalar_pos(c->L, v, off, &line, &col);
		ld_nerr_pos(c, line, col, "'%s': %s", field, msg);
		return false;
	}
	if (text) {
		*text = ld_dup_or_oom(c->L, s);
		if (!*text) {
			flow_tmpl_free(t);
			return false;
		}
	}
	char prefix[2 * FLOW_NAME_MAX + 32];
	if (c->prefix)
		snprintf(prefix, sizeof(prefix), "%s", c->prefix);
	else
		snprintf(prefix, sizeof(prefix), "node '%s': ", c->fn->name);
	ld_tmpl_use(c->L, t, v, prefix, field);
	*out = t;
	return true;
}

struct flow_tmpl *ld_tmpl_const(struct loader *L, const char *text)
{
	struct flow_tmpl *t = NULL;
	if (flow_tmpl_compile(text, strlen(text), &t, NULL, NULL, 0))
		ld_oom(L);
	return t;
}

bool ld_get_var_target(struct nctx *c, const char *what,
		       const struct ydoc_node *v, char **out)
{
	char ex[64];
	const char *s = ydoc_scalar_text(v);
	size_t len = ydoc_scalar_len(v);
	if (ydoc_node_type(v) != YDOC_SCALAR || strlen(s) != len ||
	    !flow_var_name_valid(s, len)) {
		ld_nerr(c, v,
			"%s: invalid variable name '%s' (segments of letters, "
			"digits and '_' joined by '.')",
			what, ld_excerpt(v, ex, sizeof(ex)));
		return false;
	}
	if (!strncmp(s, "call.", 5) || !strcmp(s, "call")) {
		ld_nerr(c, v, "%s: variable '%s' is built in (read-only)", what,
			s);
		return false;
	}
	*out = ld_dup_or_oom(c->L, s);
	return *out != NULL;
}

static const struct {
	const char *name;
	int type;
} entity_names[] = {
	{ "number", NLU_ENTITY_NUMBER },   { "ordinal", NLU_ENTITY_ORDINAL },
	{ "digits", NLU_ENTITY_DIGITS },   { "money", NLU_ENTITY_MONEY },
	{ "date", NLU_ENTITY_DATE },	   { "account", NLU_ENTITY_ACCOUNT },
	{ "phone", NLU_ENTITY_PHONE },	   { "card", NLU_ENTITY_CARD },
	{ "confirm", NLU_ENTITY_CONFIRM },
};

int ld_entity_from_name(const char *s)
{
	for (size_t i = 0; i < sizeof(entity_names) / sizeof(entity_names[0]);
	     i++) {
		if (!strcmp(s, entity_names[i].name))
			return entity_names[i].type;
	}
	return -1;
}

bool ld_entity_keyable(int e)
{
	return e == NLU_ENTITY_DIGITS || e == NLU_ENTITY_ACCOUNT ||
	       e == NLU_ENTITY_PHONE || e == NLU_ENTITY_CARD ||
	       e == NLU_ENTITY_NUMBER;
}

bool ld_get_entity(struct nctx *c, const struct ydoc_node *v, int *out)
{
	char ex[64];
	int e = ydoc_node_type(v) == YDOC_SCALAR
			? ld_entity_from_name(ydoc_scalar_text(v))
			: -1;
	if (e < 0) {
		ld_nerr(c, v,
			"unknown entity '%s' (expected number, ordinal, "
			"digits, money, date, account, phone, card or "
			"confirm)",
			ld_excerpt(v, ex, sizeof(ex)));
		return false;
	}
	*out = e;
	return true;
}

bool ld_retries_covered(const struct loader *L)
{
	const unsigned *h = L->f->handlers;
	return h[FLOW_H_MAX_RETRIES] != NO_NODE ||
	       (h[FLOW_H_NO_INPUT] != NO_NODE && h[FLOW_H_NO_MATCH] != NO_NODE);
}

/* A map "name: (tmpl)" into kv[0..n) (set vars, headers, context). */
void ld_parse_kvs(struct nctx *c, const char *field, const struct ydoc_node *v,
		  unsigned max, size_t vmax, ld_kv_name_fn *name_ok,
		  struct flow_kv **kvp, unsigned *np)
{
	size_t n = ydoc_node_count(v);
	if (ydoc_node_type(v) != YDOC_MAP || n == 0 || n > max) {
		ld_nerr(c, v, "'%s' must be a map of 1 to %u entries", field,
			max);
		return;
	}
	struct flow_kv *kv = calloc(n, sizeof(*kv));
	if (!kv) {
		ld_oom(c->L);
		return;
	}
	*kvp = kv;
	char what[FLOW_NAME_MAX + 32];
	for (size_t i = 0; i < n; i++) {
		const struct ydoc_node *k = ydoc_map_key(v, i);
		char *name = NULL;
		snprintf(what, sizeof(what), "'%s'", field);
		if (!name_ok(c, what, k, &name))
			continue;
		struct flow_kv *e = &kv[*np];
		e->name = name;
		(*np)++;
		snprintf(what, sizeof(what), "%s.%s", field, name);
		ld_get_tmpl(c, what, ydoc_map_value(v, i), vmax, true,
			    &e->value, NULL);
	}
}

/* Transfer context keys and header names: [A-Za-z0-9_-]{1,64}. */
bool ld_key_name_ok(struct nctx *c, const char *what, const struct ydoc_node *k,
		    char **out)
{
	char ex[64];
	const char *s = ydoc_scalar_text(k);
	size_t len = ydoc_scalar_len(k);
	bool ok = len > 0 && len <= 64 && strlen(s) == len;
	for (size_t i = 0; ok && i < len; i++)
		ok = (s[i] >= 'a' && s[i] <= 'z') ||
		     (s[i] >= 'A' && s[i] <= 'Z') ||
		     (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-';
	if (!ok) {
		ld_nerr(c, k,
			"%s: invalid name '%s' (1-64 letters, digits, '_' or "
			"'-')",
			what, ld_excerpt(k, ex, sizeof(ex)));
		return false;
	}
	*out = ld_dup_or_oom(c->L, s);
	return *out != NULL;
}

bool ld_var_name_ok(struct nctx *c, const char *what, const struct ydoc_node *k,
		    char **out)
{
	return ld_get_var_target(c, what, k, out);
}

void ld_parse_context(struct nctx *c, const struct ydoc_node *v)
{
	ld_parse_kvs(c, "context", v, CONTEXT_MAX, FLOW_TEXT_MAX,
		     ld_key_name_ok, &c->fn->context, &c->fn->ncontext);
}

/* ---- intent slots ---- */

void ld_parse_slots(struct loader *L, struct flow_intent *it,
		    const struct ydoc_node *v)
{
	char ex[64];
	size_t n = ydoc_node_count(v);
	if (ydoc_node_type(v) != YDOC_MAP || n == 0 || n > SLOTS_MAX) {
		ld_err_at(L, v,
			  "intent '%s': 'slots' must be a map of 1 to %u slot "
			  "names to {entity: ...}",
			  it->name, SLOTS_MAX);
		return;
	}
	it->slots = calloc(n, sizeof(*it->slots));
	if (!it->slots) {
		ld_oom(L);
		return;
	}
	/* Slot prompts are templates; messages about them name the intent. */
	struct flow_node pseudo = { .name = it->name };
	char label[2 * FLOW_NAME_MAX + 32];
	struct nctx c = { L, &pseudo, label };
	for (size_t i = 0; i < n; i++) {
		const struct ydoc_node *k = ydoc_map_key(v, i);
		const struct ydoc_node *m = ydoc_map_value(v, i);
		const char *name = ydoc_scalar_text(k);
		size_t nlen = ydoc_scalar_len(k);
		if (strlen(name) != nlen || !ld_valid_name(name, nlen) ||
		    strchr(name, '.')) {
			ld_err_at(L, k,
				  "intent '%s': invalid slot name '%s': use "
				  "1-64 letters, digits, '_' or '-'",
				  it->name, ld_excerpt(k, ex, sizeof(ex)));
			continue;
		}
		if (ydoc_node_type(m) != YDOC_MAP) {
			ld_err_at(L, m,
				  "intent '%s': slot '%s' must be a map with "
				  "'entity'",
				  it->name, name);
			continue;
		}
		struct flow_slot *sl = &it->slots[it->nslots];
		sl->retries = DEFAULT_RETRIES;
		sl->entity = -1;
		sl->line = ydoc_node_line(k);
		sl->col = ydoc_node_col(k);
		bool ok = true;
		const struct ydoc_node *entity = NULL;
		for (size_t j = 0; j < ydoc_node_count(m); j++) {
			const struct ydoc_node *sk = ydoc_map_key(m, j);
			const struct ydoc_node *sv = ydoc_map_value(m, j);
			if (ld_key_is(sk, "entity")) {
				entity = sv;
				int e = ydoc_node_type(sv) == YDOC_SCALAR
						? ld_entity_from_name(
							  ydoc_scalar_text(sv))
						: -1;
				if (e < 0) {
					ld_err_at(
						L, sv,
						"intent '%s': slot '%s': "
						"unknown entity '%s' "
						"(expected number, ordinal, "
						"digits, money, date, "
						"account, phone, card or "
						"confirm)",
						it->name, name,
						ld_excerpt(sv, ex, sizeof(ex)));
					ok = false;
				}
				sl->entity = e;
			} else if (ld_key_is(sk, "required")) {
				const char *b = ydoc_scalar_text(sv);
				if (ydoc_node_type(sv) == YDOC_SCALAR &&
				    !ydoc_scalar_quoted(sv) &&
				    (!strcmp(b, "true") ||
				     !strcmp(b, "false"))) {
					sl->required = !strcmp(b, "true");
				} else {
					ld_err_at(L, sv,
						  "intent '%s': slot '%s': "
						  "'required' must be true or "
						  "false",
						  it->name, name);
					ok = false;
				}
			} else if (ld_key_is(sk, "prompt")) {
				snprintf(label, sizeof(label),
					 "intent '%s': slot '%s': ", it->name,
					 name);
				ok = ld_get_tmpl(&c, "prompt", sv,
						 FLOW_TEXT_MAX, false,
						 &sl->prompt, NULL) &&
				     ok;
			} else if (ld_key_is(sk, "retries")) {
				unsigned r = 0;
				const char *rs = ydoc_scalar_text(sv);
				size_t rl = ydoc_scalar_len(sv);
				bool num = ydoc_node_type(sv) == YDOC_SCALAR &&
					   rl > 0 && rl <= 2;
				for (size_t q = 0; num && q < rl; q++) {
					num = rs[q] >= '0' && rs[q] <= '9';
					r = r * 10 + (unsigned)(rs[q] - '0');
				}
				if (!num || r > FLOW_RETRIES_MAX) {
					ld_err_at(L, sv,
						  "intent '%s': slot '%s': "
						  "'retries' must be a whole "
						  "number from 0 to %u",
						  it->name, name,
						  FLOW_RETRIES_MAX);
					ok = false;
				}
				sl->retries = r;
			} else {
				ld_err_at(L, sk,
					  "intent '%s': slot '%s': unknown "
					  "field '%s' (expected entity, "
					  "required, prompt or retries)",
					  it->name, name,
					  ld_excerpt(sk, ex, sizeof(ex)));
				ok = false;
			}
		}
		if (!entity) {
			ld_err_at(L, k,
				  "intent '%s': slot '%s' has no 'entity'",
				  it->name, name);
			ok = false;
		}
		if (ok && sl->required && !sl->prompt) {
			ld_err_at(L, k,
				  "intent '%s': slot '%s' is required but has "
				  "no 'prompt'",
				  it->name, name);
			ok = false;
		}
		sl->name = ld_dup_or_oom(L, name);
		it->nslots++;
		(void)ok;
	}
}
