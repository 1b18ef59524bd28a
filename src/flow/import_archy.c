/* Genesys Architect flows as Archy YAML (inboundCall: tasks of actions)
 * -> voxgate flow YAML. {{placeholders}} are substituted from --values
 * first (as archy's --optionsFile does). Each action list becomes a chain
 * of nodes joined by next; a branch that ends goes on with the action after
 * its parent, and the end of a task hangs up (docs/IMPORT.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/ydoc.h"
#include "core/strbuf.h"
#include "flow/flow.h"
#include "flow/import_int.h"
#include "flow/model.h"

#define NAME_LEN 72
#define MAX_TASKS 200

typedef const struct ydoc_node ynode;

struct ax {
	struct imp *im;
	ynode *tasks;
	size_t ntasks;
	ynode *task_nodes[MAX_TASKS];
	char task_names[MAX_TASKS][NAME_LEN]; /* the task's entry node */
	const char *task_refs[MAX_TASKS];
	unsigned depth;
};

static const char *text(ynode *n)
{
	return ydoc_scalar_text(n);
}

static ynode *get(ynode *m, const char *k)
{
	return ydoc_map_get(m, k);
}

/* ---- {{placeholder}} substitution ---- */

static int substitute(struct imp *im, const char *buf, size_t len,
		      struct strbuf *out)
{
	unsigned line = 1, col = 1;
	int err = 0;
	for (size_t i = 0; i < len && !err;) {
		if (i + 1 < len && buf[i] == '{' && buf[i + 1] == '{') {
			size_t j = i + 2;
			while (j + 1 < len && j - i < 200 &&
			       !(buf[j] == '}' && buf[j + 1] == '}') &&
			       buf[j] != '\n')
				j++;
			if (j + 1 < len && buf[j] == '}' && buf[j + 1] == '}') {
				char key[200];
				size_t a = i + 2, b = j;
				while (a < b && buf[a] == ' ')
					a++;
				while (b > a && buf[b - 1] == ' ')
					b--;
				snprintf(key, sizeof(key), "%.*s", (int)(b - a),
					 buf + a);
				const char *v = imp_value(im, key);
				if (!v) {
					imp_error(im, line, col,
						  "placeholder '{{%s}}' has no "
						  "value (give it in --values)",
						  key);
					v = "";
				}
				err = strbuf_addstr(out, v);
				col += (unsigned)(j + 2 - i);
				i = j + 2;
				continue;
			}
		}
		if (buf[i] == '\n') {
			line++;
			col = 1;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
			col++;
		}
		err = strbuf_add(out, buf + i, 1);
		i++;
	}
	return err;
}

/* ---- variables and expressions ---- */

/* Archy variable -> flow variable (new string), or NULL. */
static char *map_var(struct imp *im, const char *v, size_t n)
{
	static const struct {
		const char *archy, *var;
	} fixed[] = {
		{ "Call.Ani", "call.from" },
		{ "Call.CalledAddress", "call.to" },
		{ "Call.CalledAddressOriginal", "call.to" },
		{ "Call.ConversationId", "call.id" },
	};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (strlen(fixed[i].archy) == n &&
		    !strncmp(v, fixed[i].archy, n))
			return imp_strdup(im, fixed[i].var);
	}
	static const char *const scopes[] = { "Flow.", "Task.", "State." };
	for (size_t i = 0; i < 3; i++) {
		size_t k = strlen(scopes[i]);
		if (n <= k || strncmp(v, scopes[i], k))
			continue;
		char seg[130];
		size_t m = 0;
		for (size_t j = k; j < n && m + 1 < sizeof(seg); j++) {
			char c = v[j];
			bool ok = (c >= 'a' && c <= 'z') ||
				  (c >= 'A' && c <= 'Z') ||
				  (c >= '0' && c <= '9') || c == '_';
			seg[m++] = ok ? c : '_';
		}
		seg[m] = '\0';
		char *r = imp_printf(im, "%.*s%s", (int)(k - 1), scopes[i] + 0,
				     "");
		if (!r)
			return NULL;
		for (char *p = r; *p; p++)
			*p = (char)(*p | 0x20); /* Flow -> flow */
		char *full = imp_printf(
			im, "%s.%s%s", r,
			seg[0] >= '0' && seg[0] <= '9' ? "_" : "", seg);
		free(r);
		if (full)
			imp_declare(im, full);
		return full;
	}
	return NULL;
}

enum tok { T_END, T_STR, T_NUM, T_ID, T_OP, T_LP, T_RP, T_BAD };

struct lex {
	const char *s;
	size_t pos;
	enum tok t;
	char val[512];
};

static void next_tok(struct lex *l)
{
	const char *s = l->s;
	while (s[l->pos] == ' ' || s[l->pos] == '\t' || s[l->pos] == '\n')
		l->pos++;
	char c = s[l->pos];
	size_t n = 0;
	l->val[0] = '\0';
	if (!c) {
		l->t = T_END;
	} else if (c == '"' || c == '\'') {
		l->pos++;
		while (s[l->pos] && s[l->pos] != c && n + 1 < sizeof(l->val)) {
			if (s[l->pos] == '\\' && s[l->pos + 1])
				l->pos++;
			l->val[n++] = s[l->pos++];
		}
		l->val[n] = '\0';
		l->t = s[l->pos] == c ? T_STR : T_BAD;
		if (s[l->pos])
			l->pos++;
	} else if ((c >= '0' && c <= '9') || c == '-') {
		while (((s[l->pos] >= '0' && s[l->pos] <= '9') ||
			s[l->pos] == '.' || (n == 0 && s[l->pos] == '-')) &&
		       n + 1 < sizeof(l->val))
			l->val[n++] = s[l->pos++];
		l->val[n] = '\0';
		l->t = T_NUM;
	} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		   c == '_') {
		while (((s[l->pos] >= 'a' && s[l->pos] <= 'z') ||
			(s[l->pos] >= 'A' && s[l->pos] <= 'Z') ||
			(s[l->pos] >= '0' && s[l->pos] <= '9') ||
			s[l->pos] == '_' || s[l->pos] == '.') &&
		       n + 1 < sizeof(l->val))
			l->val[n++] = s[l->pos++];
		l->val[n] = '\0';
		l->t = T_ID;
	} else if (c == '(' || c == ')') {
		l->pos++;
		l->t = c == '(' ? T_LP : T_RP;
	} else if (strchr("=!<>+", c)) {
		l->val[n++] = s[l->pos++];
		if (s[l->pos] == '=' || (c == '<' && s[l->pos] == '>'))
			l->val[n++] = s[l->pos++];
		l->val[n] = '\0';
		l->t = T_OP;
	} else {
		l->t = T_BAD;
	}
}

/* term ("+" term)* -> a template appended to out. false: unsupported. */
static bool expr_text(struct imp *im, struct lex *l, struct strbuf *out)
{
	for (;;) {
		if (l->t == T_STR || l->t == T_NUM) {
			/* literal text as is; "{{" must not start a template */
			for (const char *p = l->val; *p; p++) {
				if (p[0] == '{' && p[1] == '{')
					strbuf_add(out, "{ ", 2);
				else if ((unsigned char)*p >= 0x20)
					strbuf_add(out, p, 1);
			}
			next_tok(l);
		} else if (l->t == T_ID) {
			char id[sizeof(l->val)];
			snprintf(id, sizeof(id), "%s", l->val);
			next_tok(l);
			if (l->t == T_LP && !strcmp(id, "ToString")) {
				next_tok(l);
				if (l->t != T_ID)
					return false;
				snprintf(id, sizeof(id), "%s", l->val);
				next_tok(l);
				if (l->t != T_RP)
					return false;
				next_tok(l);
			}
			char *v = map_var(im, id, strlen(id));
			if (!v)
				return false;
			strbuf_printf(out, "{{%s}}", v);
			free(v);
		} else {
			return false;
		}
		if (l->t != T_OP || strcmp(l->val, "+"))
			return true;
		next_tok(l);
	}
}

/* The text of an Archy value: scalar, {lit: x}, {exp: e}, {var: v},
 * {tts: t}, {noValue: true}. NULL: unsupported (reported). */
static char *value_text(struct ax *x, ynode *v, const char *what)
{
	struct imp *im = x->im;
	if (!v)
		return imp_strdup(im, "");
	if (ydoc_node_type(v) == YDOC_SCALAR)
		return imp_text(im, text(v), false);
	ynode *lit = get(v, "lit");
	ynode *tts = get(v, "tts");
	ynode *exp = get(v, "exp");
	ynode *var = get(v, "var");
	if (lit && ydoc_node_type(lit) == YDOC_SCALAR)
		return imp_text(im, text(lit), false);
	if (tts && ydoc_node_type(tts) == YDOC_SCALAR)
		return imp_text(im, text(tts), false);
	if (get(v, "noValue"))
		return imp_strdup(im, "");
	if ((exp || var) && ydoc_node_type(exp ? exp : var) == YDOC_SCALAR) {
		ynode *e = exp ? exp : var;
		struct lex l = { .s = text(e) };
		next_tok(&l);
		struct strbuf b;
		strbuf_init(&b, 64u << 10);
		bool ok = expr_text(im, &l, &b) && l.t == T_END;
		char *r = ok ? imp_strdup(im, strbuf_str(&b)) : NULL;
		strbuf_fini(&b);
		if (!ok)
			imp_unsupported(im, ydoc_node_line(e), ydoc_node_col(e),
					"unsupported Archy expression in %s: "
					"'%.60s'",
					what, text(e));
		return r;
	}
	imp_unsupported(im, ydoc_node_line(v), ydoc_node_col(v),
			"unsupported Archy value in %s", what);
	return NULL;
}

struct cond {
	char *value; /* template */
	const char *op;
	char *operand; /* template, or "true"/"false" for empty */
};

static void cond_free(struct cond *c)
{
	free(c->value);
	free(c->operand);
	c->value = c->operand = NULL;
}

/* A boolean expression: a op b, IsSet(v)/IsNotSet(v)/IsNotSetOrEmpty(v),
 * or a bare variable (== true). */
static bool parse_cond(struct imp *im, const char *e, struct cond *c)
{
	memset(c, 0, sizeof(*c));
	struct lex l = { .s = e };
	next_tok(&l);
	if (l.t == T_ID &&
	    (!strcmp(l.val, "IsSet") || !strcmp(l.val, "IsNotSet") ||
	     !strcmp(l.val, "IsNotSetOrEmpty") ||
	     !strcmp(l.val, "IsSetAndNotEmpty"))) {
		bool empty = !strcmp(l.val, "IsNotSet") ||
			     !strcmp(l.val, "IsNotSetOrEmpty");
		next_tok(&l);
		if (l.t != T_LP)
			return false;
		next_tok(&l);
		if (l.t != T_ID)
			return false;
		char *v = map_var(im, l.val, strlen(l.val));
		next_tok(&l);
		if (!v || l.t != T_RP) {
			free(v);
			return false;
		}
		next_tok(&l);
		if (l.t != T_END) {
			free(v);
			return false;
		}
		c->value = imp_printf(im, "{{%s}}", v);
		free(v);
		c->op = "empty";
		c->operand = imp_strdup(im, empty ? "true" : "false");
		if (!c->value || !c->operand) {
			cond_free(c);
			return false;
		}
		return true;
	}
	struct strbuf a, b;
	strbuf_init(&a, 64u << 10);
	strbuf_init(&b, 64u << 10);
	bool ok = expr_text(im, &l, &a);
	if (ok && l.t == T_END) {
		c->op = "equals";
		c->operand = imp_strdup(im, "true");
	} else if (ok && l.t == T_OP) {
		static const struct {
			const char *a, *op;
		} ops[] = { { "==", "equals" },	    { "!=", "not_equals" },
			    { "<>", "not_equals" }, { "<", "lt" },
			    { "<=", "le" },	    { ">", "gt" },
			    { ">=", "ge" } };
		for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
			if (!strcmp(l.val, ops[i].a))
				c->op = ops[i].op;
		}
		next_tok(&l);
		ok = c->op && expr_text(im, &l, &b) && l.t == T_END;
		if (ok)
			c->operand = imp_strdup(im, strbuf_str(&b));
	} else {
		ok = false;
	}
	if (ok)
		c->value = imp_strdup(im, strbuf_str(&a));
	strbuf_fini(&a);
	strbuf_fini(&b);
	if (!ok || !c->value || !c->operand) {
		cond_free(c);
		return false;
	}
	return true;
}

/* ---- actions ---- */

static const char *do_list(struct ax *x, ynode *actions, const char *cont);

/* outputs.<key>: {actions: [...]} or a list of actions. */
static const char *do_output(struct ax *x, ynode *outputs, const char *key,
			     const char *cont)
{
	ynode *o = get(outputs, key);
	if (!o)
		return cont;
	if (ydoc_node_type(o) == YDOC_MAP)
		o = get(o, "actions");
	return o ? do_list(x, o, cont) : cont;
}

static char *audio_text(struct ax *x, ynode *a, const char *what)
{
	return a ? value_text(x, a, what) : NULL;
}

/* A new node name derived from base (e.g. "X_pre"). */
static void derived(struct ax *x, const char *name, const char *suffix,
		    char *out)
{
	char *b = imp_printf(x->im, "%s_%s", name, suffix);
	imp_node_name(x->im, b ? b : suffix, out, NAME_LEN);
	free(b);
}

static void check_fields(struct ax *x, ynode *a, const char *type,
			 const char *const *known, struct yv *node)
{
	static const char *const common[] = { "name", "trackingId", "comments",
					      "refId", NULL };
	for (size_t i = 0; i < ydoc_node_count(a); i++) {
		ynode *k = ydoc_map_key(a, i);
		const char *key = text(k);
		bool ok = false;
		for (size_t j = 0; common[j] && !ok; j++)
			ok = !strcmp(key, common[j]);
		for (size_t j = 0; known[j] && !ok; j++)
			ok = !strcmp(key, known[j]);
		if (ok)
			continue;
		if (imp_unsupported(x->im, ydoc_node_line(k), ydoc_node_col(k),
				    "unsupported Archy field '%.40s' of %s",
				    key, type))
			yv_comment(x->im, node,
				   "unsupported field '%s' ignored", key);
	}
}

static const char *task_entry(struct ax *x, const char *ref)
{
	/* "/inboundCall/tasks/task[REF]" or a bare refId/name */
	const char *b = strrchr(ref, '[');
	char key[256];
	if (b) {
		snprintf(key, sizeof(key), "%s", b + 1);
		char *e = strchr(key, ']');
		if (e)
			*e = '\0';
	} else {
		snprintf(key, sizeof(key), "%s", ref);
	}
	for (size_t i = 0; i < x->ntasks; i++) {
		if (x->task_refs[i] && !strcmp(x->task_refs[i], key))
			return x->task_names[i];
	}
	return NULL;
}

static void do_switch_chain(struct ax *x, const char *name, ynode *cases,
			    ynode *def_out, const char *cont, const char *cm,
			    ynode *at)
{
	struct imp *im = x->im;
	const char *def =
		def_out ? do_output(x, def_out, "default", cont) : cont;
	/* Last case first: each case's default is the next case. */
	size_t n = ydoc_node_count(cases);
	char(*names)[NAME_LEN] = calloc(n ? n : 1, NAME_LEN);
	if (!names) {
		im->oom = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (i == 0)
			snprintf(names[0], NAME_LEN, "%s", name);
		else {
			char s[32];
			snprintf(s, sizeof(s), "case%zu", i + 1);
			derived(x, name, s, names[i]);
		}
	}
	const char *next = def;
	for (size_t i = n; i-- > 0;) {
		ynode *c = ydoc_seq_item(cases, i);
		ynode *cc = get(c, "case");
		if (cc)
			c = cc;
		ynode *val = get(c, "value");
		ynode *e = get(val, "exp");
		if (!e)
			e = val;
		struct cond cd;
		if (!e || ydoc_node_type(e) != YDOC_SCALAR ||
		    !parse_cond(im, text(e), &cd)) {
			ynode *p = e ? e : c;
			if (imp_unsupported(im, ydoc_node_line(p),
					    ydoc_node_col(p),
					    "unsupported Archy switch case "
					    "expression"))
				yv_putraw(im,
					  imp_node(im, names[i], "goto",
						   "(an unsupported case)"),
					  "next", next);
			next = names[i];
			continue;
		}
		ynode *acts = get(c, "actions");
		const char *body = acts ? do_list(x, acts, cont) : cont;
		struct yv *sw =
			imp_node(im, names[i], "switch", i == 0 ? cm : NULL);
		yv_puts(im, sw, "value", cd.value);
		struct yv *cs = yv_push(yv_put(im, sw, "cases", yv_seq(im)),
					yv_map(im));
		if (!strcmp(cd.op, "empty"))
			yv_putraw(im, cs, "empty", cd.operand);
		else
			yv_puts(im, cs, cd.op, cd.operand);
		yv_putraw(im, cs, "next", body);
		yv_putraw(im, sw, "default", next);
		cond_free(&cd);
		next = names[i];
	}
	if (!n) {
		imp_error(im, ydoc_node_line(at), ydoc_node_col(at),
			  "a switch needs cases");
	}
	free(names);
}

static const char *queue_of(struct ax *x, ynode *a)
{
	ynode *q = get(a, "targetQueue");
	if (!q)
		q = get(a, "queueName");
	if (q && ydoc_node_type(q) == YDOC_SCALAR)
		return text(q);
	ynode *lit = get(q, "lit");
	if (lit && ydoc_node_type(lit) == YDOC_SCALAR)
		return text(lit);
	if (lit)
		return text(get(lit, "name"));
	if (get(q, "literalQueueName"))
		return text(get(q, "literalQueueName"));
	return text(get(q, "name"));
}

/* One action named name (a node made beforehand as a placeholder), whose
 * successor is next. */
static void do_action(struct ax *x, ynode *item, const char *name,
		      const char *next)
{
	struct imp *im = x->im;
	if (ydoc_node_type(item) != YDOC_MAP || ydoc_node_count(item) != 1) {
		imp_error(im, ydoc_node_line(item), ydoc_node_col(item),
			  "an action is a map of one action type");
		return;
	}
	const char *type = text(ydoc_map_key(item, 0));
	ynode *tk = ydoc_map_key(item, 0);
	ynode *a = ydoc_map_value(item, 0);
	if (ydoc_node_type(a) != YDOC_MAP) {
		imp_error(im, ydoc_node_line(a), ydoc_node_col(a),
			  "action %s: expected a map", type);
		return;
	}
	/* A placeholder first keeps the nodes in document order (the real
	 * node replaces it in place, after its branches were made). */
	yv_putraw(im, imp_node(im, name, "goto", NULL), "next", next);
	const char *title = text(get(a, "name"));
	char *cm = imp_printf(im, "Archy %s%s%s%s", type, title ? " '" : "",
			      title ? title : "", title ? "'" : "");
	struct yv *n = NULL;
	ynode *out = get(a, "outputs");
	if (!strcmp(type, "playAudio")) {
		static const char *const k[] = { "audio", NULL };
		n = imp_node(im, name, "say", cm);
		char *t = audio_text(x, get(a, "audio"), "playAudio");
		if (!get(a, "audio"))
			imp_error(im, ydoc_node_line(a), ydoc_node_col(a),
				  "playAudio needs audio");
		yv_puts(im, n, "text", t ? t : "");
		free(t);
		yv_putraw(im, n, "next", next);
		check_fields(x, a, type, k, n);
	} else if (!strcmp(type, "collectInput") || !strcmp(type, "getInput")) {
		static const char *const k[] = { "inputData",
						 "digits",
						 "inputAudio",
						 "audio",
						 "outputs",
						 "interDigitTimeout",
						 "noEntryTimeout",
						 "verificationType",
						 "acceptJustStar",
						 "acceptJustPound",
						 NULL };
		const char *ok = do_output(x, out, "success", next);
		const char *fail = do_output(x, out, "failure", next);
		n = imp_node(im, name, "gather", cm);
		ynode *au = get(a, "inputAudio");
		if (!au)
			au = get(a, "audio");
		char *t = audio_text(x, au, type);
		if (t)
			yv_puts(im, n, "prompt", t);
		free(t);
		yv_putraw(im, n, "input", "dtmf");
		ynode *dg = get(a, "digits");
		ynode *mx = get(dg, "exactly");
		if (!mx)
			mx = get(dg, "max");
		if (mx && get(mx, "lit"))
			mx = get(mx, "lit");
		long m = mx && text(mx) ? strtol(text(mx), NULL, 10) : 16;
		if (m < 1 || m > 32) {
			imp_error(im, ydoc_node_line(mx), ydoc_node_col(mx),
				  "%s: digits must be from 1 to 32", type);
			m = 16;
		}
		char buf[16];
		snprintf(buf, sizeof(buf), "%ld", m);
		yv_putraw(im, n, "max_digits", buf);
		ynode *into = get(get(a, "inputData"), "var");
		if (into && text(into)) {
			char *v = map_var(im, text(into), strlen(text(into)));
			if (v)
				yv_puts(im, n, "into", v);
			else
				imp_unsupported(im, ydoc_node_line(into),
						ydoc_node_col(into),
						"unsupported Archy variable "
						"'%.60s'",
						text(into));
			free(v);
		}
		yv_putraw(im, n, "retries", "0");
		yv_putraw(im, n, "next", ok);
		yv_putraw(im, n, "on_max_retries", fail);
		check_fields(x, a, type, k, n);
	} else if (!strcmp(type, "decision")) {
		static const char *const k[] = { "condition", "outputs", NULL };
		const char *yes = do_output(x, out, "yes", next);
		const char *no = do_output(x, out, "no", next);
		ynode *c = get(a, "condition");
		ynode *e =
			c && ydoc_node_type(c) == YDOC_MAP ? get(c, "exp") : c;
		struct cond cd;
		if (!e || ydoc_node_type(e) != YDOC_SCALAR ||
		    !parse_cond(im, text(e), &cd)) {
			ynode *p = e ? e : a;
			if (imp_unsupported(im, ydoc_node_line(p),
					    ydoc_node_col(p),
					    "unsupported Archy decision "
					    "condition")) {
				n = imp_node(im, name, "goto", cm);
				yv_putraw(im, n, "next", no);
			}
		} else {
			n = imp_node(im, name, "switch", cm);
			yv_puts(im, n, "value", cd.value);
			struct yv *cs = yv_push(
				yv_put(im, n, "cases", yv_seq(im)), yv_map(im));
			if (!strcmp(cd.op, "empty"))
				yv_putraw(im, cs, "empty", cd.operand);
			else
				yv_puts(im, cs, cd.op, cd.operand);
			yv_putraw(im, cs, "next", yes);
			yv_putraw(im, n, "default", no);
			cond_free(&cd);
		}
		if (n)
			check_fields(x, a, type, k, n);
	} else if (!strcmp(type, "switch")) {
		static const char *const k[] = { "evaluate", NULL };
		ynode *ft = get(get(a, "evaluate"), "firstTrue");
		ynode *cases = get(ft, "cases");
		if (!ft || !cases || ydoc_node_type(cases) != YDOC_SEQ) {
			imp_error(im, ydoc_node_line(a), ydoc_node_col(a),
				  "switch: expected evaluate.firstTrue.cases");
		} else {
			do_switch_chain(x, name, cases, ft, next, cm, a);
			n = imp_find_node(im, name);
			if (n)
				check_fields(x, a, type, k, n);
		}
	} else if (!strcmp(type, "callBotFlow") ||
		   !strcmp(type, "callDigitalBot")) {
		static const char *const k[] = { "botFlow",	  "digitalBot",
						 "inputs",	  "outputs",
						 "initialPrompt", "prompt",
						 "inputAudio",	  NULL };
		const char *ok = do_output(x, out, "success", next);
		const char *fail = do_output(x, out, "failure", next);
		n = imp_node(im, name, "classify", cm);
		ynode *pr = get(a, "initialPrompt");
		if (!pr)
			pr = get(a, "prompt");
		if (!pr)
			pr = get(a, "inputAudio");
		char *t = audio_text(x, pr, type);
		if (t)
			yv_puts(im, n, "prompt", t);
		free(t);
		imp_classify_model(im, n);
		ynode *intents = get(out, "intents");
		struct yv *iv = NULL;
		for (size_t i = 0; i < ydoc_node_count(intents); i++) {
			const char *in = text(ydoc_map_key(intents, i));
			ynode *v = ydoc_map_value(intents, i);
			ynode *acts = ydoc_node_type(v) == YDOC_MAP
					      ? get(v, "actions")
					      : v;
			const char *to = acts ? do_list(x, acts, next) : next;
			if (!iv)
				iv = yv_put(im, n, "intents", yv_map(im));
			yv_putraw(im, iv, in, to);
		}
		yv_putraw(im, n, "high", ok);
		yv_putraw(im, n, "no_match", fail);
		yv_putraw(im, n, "on_max_retries", fail);
		check_fields(x, a, type, k, n);
	} else if (!strcmp(type, "transferToAcd")) {
		static const char *const k[] = {
			"targetQueue",	    "queueName",
			"preTransferAudio", "failureTransferAudio",
			"failureOutputs",   "priority",
			"preferredAgents",  NULL
		};
		const char *q = queue_of(x, a);
		if (!q) {
			imp_error(im, ydoc_node_line(a), ydoc_node_col(a),
				  "transferToAcd: no targetQueue name");
			q = "";
		}
		ynode *fo = get(a, "failureOutputs");
		ynode *fa = fo && ydoc_node_type(fo) == YDOC_MAP
				    ? get(fo, "actions")
				    : NULL;
		if (fo && ydoc_node_type(fo) == YDOC_SEQ)
			fa = fo;
		const char *fail = fa ? do_list(x, fa, next) : next;
		char *ft = audio_text(x, get(a, "failureTransferAudio"),
				      "failureTransferAudio");
		if (ft) {
			char fs[NAME_LEN];
			derived(x, name, "failed", fs);
			struct yv *s = imp_node(im, fs, "say", NULL);
			yv_puts(im, s, "text", ft);
			yv_putraw(im, s, "next", fail);
			fail = yv_get(im->nodes, fs)
				       ? yv_get(im->nodes, fs)->key
				       : fail;
		}
		free(ft);
		char *pre = audio_text(x, get(a, "preTransferAudio"),
				       "preTransferAudio");
		char xf[NAME_LEN];
		snprintf(xf, sizeof(xf), "%s", name);
		if (pre) {
			derived(x, name, "transfer", xf);
			n = imp_node(im, name, "say", cm);
			yv_puts(im, n, "text", pre);
			yv_putraw(im, n, "next", xf);
		}
		free(pre);
		struct yv *t = imp_node(im, xf, "transfer", n ? NULL : cm);
		char qn[NAME_LEN];
		imp_sanitize(q, qn, sizeof(qn));
		if (strcmp(qn, q))
			yv_comment(im, t, "queue '%s'", q);
		char *target = imp_printf(im, "queue:%s", qn);
		yv_puts(im, t, "target", target);
		free(target);
		yv_putraw(im, t, "on_fail", fail);
		check_fields(x, a, type, k, n ? n : t);
	} else if (!strcmp(type, "disconnect")) {
		static const char *const k[] = { NULL };
		n = imp_node(im, name, "hangup", cm);
		yv_putraw(im, n, "reason", "completed");
		check_fields(x, a, type, k, n);
	} else if (!strcmp(type, "endTask")) {
		static const char *const k[] = { "outputPath", NULL };
		n = imp_node(im, name, "goto", cm);
		yv_putraw(im, n, "next", imp_end(im));
		check_fields(x, a, type, k, n);
	} else if (!strcmp(type, "updateData")) {
		static const char *const k[] = { "statements", NULL };
		ynode *st = get(a, "statements");
		n = imp_node(im, name, "set", cm);
		struct yv *vars = yv_put(im, n, "vars", yv_map(im));
		for (size_t i = 0; i < ydoc_node_count(st) && i < 64; i++) {
			ynode *s = ydoc_seq_item(st, i);
			ynode *body = ydoc_node_count(s) == 1
					      ? ydoc_map_value(s, 0)
					      : NULL;
			ynode *var = get(body, "variable");
			const char *vn = text(var);
			char *v = vn ? map_var(im, vn, strlen(vn)) : NULL;
			if (!v || !strncmp(v, "call.", 5)) {
				ynode *p = var ? var : s;
				imp_unsupported(im, ydoc_node_line(p),
						ydoc_node_col(p),
						"updateData: unsupported "
						"variable '%.60s'",
						vn ? vn : "");
				free(v);
				continue;
			}
			char *val =
				value_text(x, get(body, "value"), "updateData");
			if (val)
				yv_puts(im, vars, v, val);
			free(val);
			free(v);
		}
		if (!vars->first) {
			struct yv *g = imp_node(im, name, "goto", cm);
			yv_comment(im, g, "(no statement imported)");
			n = g;
		}
		yv_putraw(im, n, "next", next);
		check_fields(x, a, type, k, n);
	} else if (!strcmp(type, "loop")) {
		static const char *const k[] = { "loopCount", "currentIndex",
						 "outputs", NULL };
		ynode *lc = get(a, "loopCount");
		if (lc && get(lc, "lit"))
			lc = get(lc, "lit");
		long count = lc && text(lc) ? strtol(text(lc), NULL, 10) : 0;
		if (count < 1 || count > 100) {
			ynode *p = lc ? lc : a;
			imp_error(im, ydoc_node_line(p), ydoc_node_col(p),
				  "loop: loopCount must be a number from 1 to "
				  "100");
			free(cm);
			return;
		}
		char inc[NAME_LEN], fin[NAME_LEN];
		derived(x, name, "count", inc);
		derived(x, name, "done", fin);
		const char *body = do_output(x, out, "loop", name);
		char *var = imp_printf(im, "loop.%s", inc);
		for (char *p = var; p && *p; p++) {
			if (*p == '-' || (*p == '.' && p > var + 4))
				*p = '_';
		}
		char *marks = calloc((size_t)count + 1, 1);
		char *ref = var ? imp_printf(im, "{{%s}}", var) : NULL;
		char *more = ref ? imp_printf(im, "%sx", ref) : NULL;
		if (!var || !marks || !ref || !more) {
			im->oom = true;
		} else {
			memset(marks, 'x', (size_t)count);
			imp_declare(im, var);
			n = imp_node(im, name, "switch", cm);
			yv_puts(im, n, "value", ref);
			struct yv *cs = yv_push(
				yv_put(im, n, "cases", yv_seq(im)), yv_map(im));
			yv_puts(im, cs, "equals", marks);
			yv_putraw(im, cs, "next", fin);
			yv_putraw(im, n, "default", inc);
			struct yv *s = imp_node(im, inc, "set", NULL);
			yv_puts(im, yv_put(im, s, "vars", yv_map(im)), var,
				more);
			yv_putraw(im, s, "next", body);
			s = imp_node(im, fin, "set", NULL);
			yv_puts(im, yv_put(im, s, "vars", yv_map(im)), var, "");
			yv_putraw(im, s, "next", next);
			check_fields(x, a, type, k, n);
		}
		free(var);
		free(marks);
		free(ref);
		free(more);
	} else if (!strcmp(type, "jumpToTask")) {
		static const char *const k[] = { "targetTaskRef", "targetTask",
						 NULL };
		ynode *r = get(a, "targetTaskRef");
		if (!r)
			r = get(a, "targetTask");
		const char *to = text(r) ? task_entry(x, text(r)) : NULL;
		if (!to) {
			ynode *p = r ? r : a;
			imp_error(im, ydoc_node_line(p), ydoc_node_col(p),
				  "jumpToTask: no task '%.60s'",
				  text(r) ? text(r) : "");
		} else {
			n = imp_node(im, name, "goto", cm);
			yv_putraw(im, n, "next", to);
			check_fields(x, a, type, k, n);
		}
	} else if (imp_unsupported(im, ydoc_node_line(tk), ydoc_node_col(tk),
				   "unsupported Archy action type '%.60s' "
				   "(action '%s')",
				   type, title ? title : name)) {
		n = imp_node(im, name, "goto", NULL);
		yv_comment(im, n, "%s (not imported: a no-op)", cm);
		yv_putraw(im, n, "next", next);
	}
	free(cm);
}

static const char *do_list(struct ax *x, ynode *actions, const char *cont)
{
	struct imp *im = x->im;
	if (ydoc_node_type(actions) != YDOC_SEQ) {
		imp_error(im, ydoc_node_line(actions), ydoc_node_col(actions),
			  "expected a list of actions");
		return cont;
	}
	if (x->depth >= FLOW_IMPORT_MAX_DEPTH) {
		imp_error(im, ydoc_node_line(actions), ydoc_node_col(actions),
			  "actions nested too deep");
		return cont;
	}
	size_t n = ydoc_node_count(actions);
	if (!n)
		return cont;
	char(*names)[NAME_LEN] = calloc(n, NAME_LEN);
	if (!names) {
		im->oom = true;
		return cont;
	}
	x->depth++;
	/* Names first: each action's successor is the next one's node. */
	for (size_t i = 0; i < n; i++) {
		ynode *it = ydoc_seq_item(actions, i);
		const char *type = ydoc_node_count(it) == 1
					   ? text(ydoc_map_key(it, 0))
					   : "action";
		const char *title = text(get(ydoc_map_value(it, 0), "name"));
		imp_node_name(im, title ? title : type, names[i], NAME_LEN);
	}
	for (size_t i = 0; i < n; i++)
		do_action(x, ydoc_seq_item(actions, i), names[i],
			  i + 1 < n ? names[i + 1] : cont);
	struct yv *first = imp_find_node(im, names[0]);
	x->depth--;
	free(names);
	return first ? first->key : cont;
}

static void check_top(struct ax *x, ynode *ic)
{
	static const char *const k[] = { "name",
					 "description",
					 "division",
					 "startUpRef",
					 "defaultLanguage",
					 "supportedLanguages",
					 "initialGreeting",
					 "tasks",
					 "startUpTaskActions",
					 "settingsActionDefaults",
					 "settingsErrorHandling",
					 "settingsMenu",
					 "settingsPrompts",
					 "settingsSpeechRec",
					 "settingsInboundCall",
					 "variables",
					 NULL };
	for (size_t i = 0; i < ydoc_node_count(ic); i++) {
		ynode *kn = ydoc_map_key(ic, i);
		bool ok = false;
		for (size_t j = 0; k[j] && !ok; j++)
			ok = !strcmp(text(kn), k[j]);
		if (!ok)
			imp_unsupported(x->im, ydoc_node_line(kn),
					ydoc_node_col(kn),
					"unsupported Archy flow section "
					"'%.40s'",
					text(kn));
	}
}

int import_archy(struct imp *im, const char *buf, size_t len,
		 struct strbuf *out)
{
	struct strbuf src;
	strbuf_init(&src, FLOW_IMPORT_MAX_INPUT * 2);
	int err = substitute(im, buf, len, &src);
	if (err) {
		strbuf_fini(&src);
		return err;
	}
	if (im->nerrors) {
		strbuf_fini(&src);
		return -EBADMSG;
	}
	struct ydoc *doc = NULL;
	char msg[FLOW_ERROR_LEN];
	err = ydoc_parse(im->file, strbuf_str(&src), src.len, &doc, msg,
			 sizeof(msg));
	strbuf_fini(&src);
	if (err) {
		flow_errors_add(im->errs, im->file, 0, 0, "%s", msg);
		return err;
	}
	struct ax *x = calloc(1, sizeof(*x));
	if (!x) {
		ydoc_destroy(doc);
		return -ENOMEM;
	}
	x->im = im;
	ynode *root = ydoc_root(doc);
	ynode *ic = get(root, "inboundCall");
	const char *start = NULL;
	if (!ic || ydoc_node_type(ic) != YDOC_MAP) {
		imp_error(im, root ? ydoc_node_line(root) : 1,
			  root ? ydoc_node_col(root) : 1,
			  "not an Archy inbound call flow: no "
			  "\"inboundCall\" map");
		goto done;
	}
	check_top(x, ic);
	ynode *tasks = get(ic, "tasks");
	x->tasks = tasks;
	x->ntasks = ydoc_node_count(tasks);
	if (tasks && ydoc_node_type(tasks) != YDOC_SEQ) {
		imp_error(im, ydoc_node_line(tasks), ydoc_node_col(tasks),
			  "tasks must be a list");
		x->ntasks = 0;
	}
	if (x->ntasks > MAX_TASKS) {
		imp_error(im, ydoc_node_line(tasks), ydoc_node_col(tasks),
			  "more than %u tasks", MAX_TASKS);
		goto done;
	}
	for (size_t i = 0; i < x->ntasks; i++) {
		ynode *t = ydoc_seq_item(tasks, i);
		ynode *tt = get(t, "task");
		x->task_nodes[i] = tt ? tt : t;
		const char *tn = text(get(x->task_nodes[i], "name"));
		const char *ref = text(get(x->task_nodes[i], "refId"));
		x->task_refs[i] = ref ? ref : tn;
		char *b = imp_printf(im, "task_%s", tn ? tn : "unnamed");
		imp_node_name(im, b, x->task_names[i], NAME_LEN);
		free(b);
		imp_node(im, x->task_names[i], "goto", NULL);
	}
	for (size_t i = 0; i < x->ntasks; i++) {
		ynode *acts = get(x->task_nodes[i], "actions");
		const char *tn = text(get(x->task_nodes[i], "name"));
		const char *first =
			acts ? do_list(x, acts, imp_end(im)) : imp_end(im);
		struct yv *g = imp_node(im, x->task_names[i], "goto", NULL);
		yv_comment(im, g, "Archy task '%s'", tn ? tn : "");
		yv_putraw(im, g, "next", first);
	}
	ynode *sua = get(ic, "startUpTaskActions");
	if (sua) {
		start = do_list(x, sua, imp_end(im));
	} else {
		const char *ref = text(get(ic, "startUpRef"));
		start = ref ? task_entry(x, ref)
			    : (x->ntasks ? x->task_names[0] : NULL);
		if (!start) {
			ynode *p = get(ic, "startUpRef") ? get(ic, "startUpRef")
							 : ic;
			imp_error(im, ydoc_node_line(p), ydoc_node_col(p),
				  "no start: startUpRef '%.60s' names no task "
				  "(menus are not imported)",
				  ref ? ref : "");
			goto done;
		}
	}
	ynode *greet = get(ic, "initialGreeting");
	if (greet) {
		char *t = value_text(x, greet, "initialGreeting");
		if (t) {
			char gname[NAME_LEN];
			imp_node_name(im, "initial_greeting", gname, NAME_LEN);
			struct yv *g = imp_node(im, gname, "say",
						"Archy initialGreeting");
			yv_puts(im, g, "text", t);
			yv_putraw(im, g, "next", start);
			start = yv_get(im->nodes, gname)
					? yv_get(im->nodes, gname)->key
					: start;
		}
		free(t);
	}
done:;
	char *hdr = imp_printf(im,
			       "Imported from the Archy flow %s by voxgate "
			       "flow import.",
			       im->file);
	char *stem = imp_file_stem(im);
	const char *name = text(get(ic, "name"));
	err = -EBADMSG;
	if (start && !im->nerrors) {
		imp_fold_prompts(im, start);
		err = imp_finish(im, name ? name : stem, start, hdr, out);
	}
	free(hdr);
	free(stem);
	free(x);
	ydoc_destroy(doc);
	return err;
}
