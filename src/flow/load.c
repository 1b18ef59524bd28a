/* The flow loader: a YAML tree (config/ydoc) checked field by field into a
 * struct flow. It keeps going after an error so that one run reports every
 * problem with its file:line:col, and builds nothing unless all is well. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/ydoc.h"
#include "engines/nlu/classifier.h"
#include "audio/clip.h"
#include "core/utf8.h"
#include "flow/builtin.h"
#include "flow/load_impl.h"
#include "flow/model.h"

/* End reasons a hangup node may give. The channel keeps the pointer past
 * the flow's life (the CDR is written after a reload may have freed it), and
 * reasons become metric labels, so they come from this closed set. */
static const char *const hangup_reasons[] = {
	"completed", "no_input", "invalid_input", "closed", "flow_error",
};

void flow_errors_clear(struct flow_errors *e)
{
	if (e)
		memset(e, 0, sizeof(*e));
}

void flow_errors_add(struct flow_errors *e, const char *file, unsigned line,
		     unsigned col, const char *fmt, ...)
{
	if (!e)
		return;
	if (e->count >= FLOW_ERRORS_MAX) {
		e->dropped++;
		return;
	}
	char *m = e->msg[e->count++];
	int n;
	if (line)
		n = snprintf(m, FLOW_ERROR_LEN, "%s:%u:%u: ", file, line, col);
	else
		n = snprintf(m, FLOW_ERROR_LEN, "%s: ", file);
	if (n < 0 || n >= FLOW_ERROR_LEN)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m + n, FLOW_ERROR_LEN - (size_t)n, fmt, ap);
	va_end(ap);
}

static void verr_at(struct loader *L, const struct ydoc_node *at,
		    const char *prefix, const char *fmt, va_list ap)
{
	char msg[FLOW_ERROR_LEN];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	L->nerr++;
	/* An empty document has no node to point at: its first line. */
	unsigned line = at ? ydoc_node_line(at) : 1;
	unsigned col = at ? ydoc_node_col(at) : 1;
	flow_errors_add(L->errs, L->file, line, col, "%s%s", prefix, msg);
}

void ld_err_at(struct loader *L, const struct ydoc_node *at, const char *fmt,
	       ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr_at(L, at, "", fmt, ap);
	va_end(ap);
}

/* An error about a node, pointing at `at` or, when NULL, at the node's
 * name. */
void ld_nerr(struct nctx *c, const struct ydoc_node *at, const char *fmt, ...)
{
	char prefix[2 * FLOW_NAME_MAX + 32];
	if (c->prefix)
		snprintf(prefix, sizeof(prefix), "%s", c->prefix);
	else
		snprintf(prefix, sizeof(prefix), "node '%s': ", c->fn->name);
	va_list ap;
	va_start(ap, fmt);
	if (at) {
		verr_at(c->L, at, prefix, fmt, ap);
	} else {
		char msg[FLOW_ERROR_LEN];
		vsnprintf(msg, sizeof(msg), fmt, ap);
		c->L->nerr++;
		flow_errors_add(c->L->errs, c->L->file, c->fn->line, c->fn->col,
				"%s%s", prefix, msg);
	}
	va_end(ap);
}

const char *ld_excerpt(const struct ydoc_node *n, char *buf, size_t size)
{
	return ydoc_node_excerpt(n, buf, size);
}

/* Flow, node and voice names: they end up in logs, CDRs and URLs. */
bool ld_valid_name(const char *s, size_t len)
{
	if (len == 0 || len > FLOW_NAME_MAX || strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '.'))
			return false;
	}
	return true;
}

bool ld_is_dtmf(char c)
{
	return (c >= '0' && c <= '9') || c == '*' || c == '#' ||
	       (c >= 'A' && c <= 'D');
}

char *ld_dup_or_oom(struct loader *L, const char *s)
{
	char *d = strdup(s);
	if (!d) {
		L->nerr++;
		L->oom = true;
	}
	return d;
}

/* Map keys compared with their length: "text\0x" is not "text". */
bool ld_key_is(const struct ydoc_node *k, const char *s)
{
	return ydoc_scalar_len(k) == strlen(s) &&
	       !strcmp(ydoc_scalar_text(k), s);
}

/* ---- typed values ---- */

bool ld_scalar_or_err(struct nctx *c, const char *field,
		      const struct ydoc_node *v)
{
	if (ydoc_node_type(v) == YDOC_SCALAR)
		return true;
	ld_nerr(c, v, "'%s' must be a single value, not a %s", field,
		ydoc_type_name(ydoc_node_type(v)));
	return false;
}

void ld_get_text(struct nctx *c, const char *field, const struct ydoc_node *v,
		 char **out)
{
	if (!ld_scalar_or_err(c, field, v))
		return;
	const char *s = ydoc_scalar_text(v);
	size_t len = ydoc_scalar_len(v);
	if (ydoc_scalar_is_null(v) || len == 0) {
		ld_nerr(c, v, "'%s' must not be empty", field);
		return;
	}
	if (len > FLOW_TEXT_MAX) {
		ld_nerr(c, v, "'%s' is longer than %u bytes", field,
			FLOW_TEXT_MAX);
		return;
	}
	if (strlen(s) != len) {
		ld_nerr(c, v, "'%s' contains a NUL byte", field);
		return;
	}
	*out = ld_dup_or_oom(c->L, s);
}

void ld_get_voice(struct loader *L, struct nctx *c, const struct ydoc_node *v,
		  char **out)
{
	char ex[64];
	if (ydoc_node_type(v) != YDOC_SCALAR ||
	    !ld_valid_name(ydoc_scalar_text(v), ydoc_scalar_len(v))) {
		if (c)
			ld_nerr(c, v,
				"invalid voice '%s': use 1-64 letters, "
				"digits, '_', '-' or '.'",
				ld_excerpt(v, ex, sizeof(ex)));
		else
			ld_err_at(L, v,
				  "invalid voice '%s': use 1-64 letters, "
				  "digits, '_', '-' or '.'",
				  ld_excerpt(v, ex, sizeof(ex)));
		return;
	}
	*out = ld_dup_or_oom(L, ydoc_scalar_text(v));
}

void ld_get_bool(struct nctx *c, const char *field, const struct ydoc_node *v,
		 bool *out)
{
	const char *s = ydoc_scalar_text(v);
	if (ydoc_node_type(v) == YDOC_SCALAR && !ydoc_scalar_quoted(v)) {
		if (!strcmp(s, "true")) {
			*out = true;
			return;
		}
		if (!strcmp(s, "false")) {
			*out = false;
			return;
		}
	}
	ld_nerr(c, v, "'%s' must be true or false", field);
}

/* A whole number in [min, max], written plainly (no sign, no unit). */
bool ld_get_uint(struct nctx *c, const char *field, const struct ydoc_node *v,
		 unsigned min, unsigned max, unsigned *out)
{
	const char *s = ydoc_scalar_text(v);
	size_t len = ydoc_scalar_len(v);
	unsigned long n = 0;
	bool ok = ydoc_node_type(v) == YDOC_SCALAR && len > 0 && len <= 6 &&
		  strlen(s) == len;
	for (size_t i = 0; ok && i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			ok = false;
		else
			n = n * 10 + (unsigned long)(s[i] - '0');
	}
	if (!ok || n < min || n > max) {
		ld_nerr(c, v, "'%s' must be a whole number from %u to %u",
			field, min, max);
		return false;
	}
	*out = (unsigned)n;
	return true;
}

/* "5s" or "800ms": whole numbers with a unit, nothing else. */
static int parse_duration_ms(const char *s, size_t len, unsigned long *ms)
{
	size_t i = 0;
	unsigned long n = 0;
	while (i < len && i < 9 && s[i] >= '0' && s[i] <= '9')
		n = n * 10 + (unsigned long)(s[i++] - '0');
	if (i == 0)
		return -EINVAL;
	const char *unit = s + i;
	size_t ulen = len - i;
	if (ulen == 2 && !memcmp(unit, "ms", 2))
		*ms = n;
	else if (ulen == 1 && unit[0] == 's')
		*ms = n * 1000;
	else
		return -EINVAL;
	return 0;
}

/* "5s" for whole seconds, else "800ms": bounds in messages. */
static const char *fmt_ms(unsigned ms, char *buf, size_t size)
{
	if (ms % 1000 == 0)
		snprintf(buf, size, "%us", ms / 1000);
	else
		snprintf(buf, size, "%ums", ms);
	return buf;
}

bool ld_get_duration_in(struct nctx *c, const char *field,
			const struct ydoc_node *v, unsigned min, unsigned max,
			unsigned *out)
{
	unsigned long ms = 0;
	char lo[16], hi[16];
	if (ydoc_node_type(v) != YDOC_SCALAR ||
	    parse_duration_ms(ydoc_scalar_text(v), ydoc_scalar_len(v), &ms) ||
	    ms < min || ms > max) {
		ld_nerr(c, v,
			"'%s' must be a duration like 5s or 800ms, from %s to "
			"%s",
			field, fmt_ms(min, lo, sizeof(lo)),
			fmt_ms(max, hi, sizeof(hi)));
		return false;
	}
	*out = (unsigned)ms;
	return true;
}

void ld_get_duration(struct nctx *c, const char *field,
		     const struct ydoc_node *v, unsigned *out)
{
	ld_get_duration_in(c, field, v, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS, out);
}

static int cmp_node(const void *a, const void *b)
{
	const struct flow_node *na = *(struct flow_node *const *)a;
	const struct flow_node *nb = *(struct flow_node *const *)b;
	return strcmp(na->name, nb->name);
}

unsigned ld_find_node(const struct loader *L, const char *name)
{
	struct flow_node key = { .name = (char *)name };
	struct flow_node *kp = &key;
	if (!L->by_name)
		return NO_NODE;
	struct flow_node **hit = bsearch(&kp, L->by_name, L->nnamed,
					 sizeof(*L->by_name), cmp_node);
	return hit ? (unsigned)(*hit - L->f->nodes) : NO_NODE;
}

/* A transition: the name of a node defined in this flow. */
void ld_get_ref(struct nctx *c, const char *what, const struct ydoc_node *v,
		unsigned *out)
{
	char ex[64];
	if (ydoc_node_type(v) != YDOC_SCALAR) {
		ld_nerr(c, v, "%s must be a node name, not a %s", what,
			ydoc_type_name(ydoc_node_type(v)));
		return;
	}
	unsigned i = NO_NODE;
	if (!ydoc_scalar_is_null(v) &&
	    strlen(ydoc_scalar_text(v)) == ydoc_scalar_len(v))
		i = ld_find_node(c->L, ydoc_scalar_text(v));
	if (i == NO_NODE) {
		ld_nerr(c, v, "%s names no node '%s'", what,
			ld_excerpt(v, ex, sizeof(ex)));
		return;
	}
	*out = i;
}

static void get_target(struct nctx *c, const struct ydoc_node *v)
{
	struct flow_node *fn = c->fn;
	if (!ld_scalar_or_err(c, "target", v))
		return;
	const char *s = ydoc_scalar_text(v);
	size_t len = ydoc_scalar_len(v);
	if (!strcmp(s, "agent")) {
		fn->to_agent = true;
		return;
	}
	if (memmem(s, len, "{{", 2)) {
		/* Rendered and checked when the call gets there. */
		ld_get_tmpl(c, "target", v, FLOW_TARGET_MAX, false,
			    &fn->target_tmpl, NULL);
		return;
	}
	if (!strncmp(s, "queue:", 6)) {
		if (!ld_valid_name(s + 6, len - 6)) {
			char ex[64];
			ld_nerr(c, v,
				"'target' '%s': the queue name must be 1-64 "
				"letters, digits, '_', '-' or '.'",
				ld_excerpt(v, ex, sizeof(ex)));
			return;
		}
		fn->target = ld_dup_or_oom(c->L, s);
		return;
	}
	size_t scheme = !strncmp(s, "sip:", 4)	  ? 4
			: !strncmp(s, "sips:", 5) ? 5
			: !strncmp(s, "tel:", 4)  ? 4
						  : 0;
	/* The target goes into a Refer-To header: no whitespace, controls
	 * or header syntax (<>"). */
	bool ok = scheme && len > scheme && len <= FLOW_TARGET_MAX &&
		  strlen(s) == len;
	for (size_t i = 0; ok && i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch <= ' ' || ch == 0x7f || ch == '<' || ch == '>' ||
		    ch == '"')
			ok = false;
	}
	if (!ok) {
		ld_nerr(c, v,
			"'target' must be a sip:, sips: or tel: URI (at most "
			"%u "
			"bytes, no spaces) or the word agent",
			FLOW_TARGET_MAX);
		return;
	}
	fn->target = ld_dup_or_oom(c->L, s);
}

static void get_reason(struct nctx *c, const struct ydoc_node *v)
{
	char ex[64];
	if (ydoc_node_type(v) == YDOC_SCALAR) {
		const char *s = ydoc_scalar_text(v);
		for (size_t i = 0;
		     i < sizeof(hangup_reasons) / sizeof(hangup_reasons[0]);
		     i++) {
			if (!strcmp(s, hangup_reasons[i])) {
				c->fn->reason = hangup_reasons[i];
				return;
			}
		}
	}
	ld_nerr(c, v,
		"unknown hangup reason '%s' (expected completed, no_input, "
		"invalid_input, closed or flow_error)",
		ld_excerpt(v, ex, sizeof(ex)));
}

void ld_unknown_field(struct nctx *c, const struct ydoc_node *k,
		      const char *type, const char *expected)
{
	char ex[64];
	ld_nerr(c, k, "unknown field '%s' for a %s node (expected %s)",
		ld_excerpt(k, ex, sizeof(ex)), type, expected);
}

void ld_missing(struct nctx *c, const char *field)
{
	ld_nerr(c, NULL, "missing '%s'", field);
}

/* ---- speech: phrases, intents, thresholds, engines ---- */

/* Normalize in[0..len) into out (len + 1 bytes) with the rules of the
 * grammars (stt_text_normalize), so an option's words equal the phrases its
 * grammar gives back. Returns the length; 0: no word at all. */
size_t ld_normalize_phrase(const char *in, size_t len, char *out)
{
	int n = stt_text_normalize(in, len, out, len + 1);
	return n > 0 ? (size_t)n : 0;
}

/* A flow intent by name, or NULL. Intents with an invalid name were
 * reported already and are left out. */
const struct flow_intent *ld_find_intent(const struct flow *f, const char *name)
{
	for (unsigned i = 0; i < f->nintents; i++) {
		if (f->intents[i].name && !strcmp(f->intents[i].name, name))
			return &f->intents[i];
	}
	return NULL;
}

/* "a, b, c" (cut with "..."), for "unknown intent" messages. */
static const char *intent_names(const struct flow *f, char *buf, size_t size)
{
	size_t o = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < f->nintents; i++) {
		const char *n = f->intents[i].name;
		if (!n)
			continue;
		size_t need = strlen(n) + (o ? 2 : 0);
		if (o + need + 4 >= size) {
			snprintf(buf + o, size - o, "%s...", o ? ", " : "");
			break;
		}
		o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? ", " : "",
				      n);
	}
	return buf;
}

static void parse_examples(struct loader *L, struct flow_intent *it,
			   const struct ydoc_node *v)
{
	char ex[64];
	size_t n = ydoc_node_count(v);
	if (ydoc_node_type(v) != YDOC_SEQ) {
		ld_err_at(L, v,
			  "intent '%s': 'examples' must be a list of "
			  "sentences",
			  it->name);
		return;
	}
	if (n == 0) {
		ld_err_at(L, v, "intent '%s' has no examples", it->name);
		return;
	}
	if (n > FLOW_EXAMPLES_MAX) {
		ld_err_at(L, v, "intent '%s' has more than %u examples",
			  it->name, FLOW_EXAMPLES_MAX);
		return;
	}
	it->examples = calloc(n, sizeof(*it->examples));
	if (!it->examples) {
		L->nerr++;
		L->oom = true;
		return;
	}
	char norm[EXAMPLE_MAX + 1];
	for (size_t i = 0; i < n; i++) {
		const struct ydoc_node *e = ydoc_seq_item(v, i);
		const char *s = ydoc_scalar_text(e);
		size_t len = ydoc_scalar_len(e);
		if (ydoc_node_type(e) != YDOC_SCALAR ||
		    ydoc_scalar_is_null(e) || len == 0 || len > EXAMPLE_MAX ||
		    strlen(s) != len || !ld_normalize_phrase(s, len, norm)) {
			ld_err_at(
				L, e,
				"intent '%s': example '%s' must be a sentence "
				"of 1 to %u bytes with at least one word",
				it->name, ld_excerpt(e, ex, sizeof(ex)),
				EXAMPLE_MAX);
			continue;
		}
		it->examples[it->nexamples] = ld_dup_or_oom(L, s);
		if (it->examples[it->nexamples])
			it->nexamples++;
	}
}

/* The flow's "intents:" section: name -> {examples: [...]}. */
static void parse_intents(struct loader *L, const struct ydoc_node *key,
			  const struct ydoc_node *v)
{
	struct flow *f = L->f;
	char ex[64];
	size_t n = ydoc_node_count(v);
	if (ydoc_node_type(v) != YDOC_MAP || n == 0) {
		ld_err_at(L, v,
			  "'intents' must be a map of intent names to "
			  "{examples: [...]}");
		return;
	}
	if (n > FLOW_INTENTS_MAX) {
		ld_err_at(L, v, "more than %u intents", FLOW_INTENTS_MAX);
		return;
	}
	if (n < 2)
		ld_err_at(L, key,
			  "a classifier needs at least two intents (the flow "
			  "defines one)");
	f->intents = calloc(n, sizeof(*f->intents));
	if (!f->intents) {
		L->nerr++;
		L->oom = true;
		return;
	}
	f->nintents = (unsigned)n;
	for (size_t i = 0; i < n; i++) {
		const struct ydoc_node *k = ydoc_map_key(v, i);
		const struct ydoc_node *m = ydoc_map_value(v, i);
		struct flow_intent *it = &f->intents[i];
		it->line = ydoc_node_line(k);
		it->col = ydoc_node_col(k);
		if (!ld_valid_name(ydoc_scalar_text(k), ydoc_scalar_len(k))) {
			ld_err_at(L, k,
				  "invalid intent name '%s': use 1-64 letters, "
				  "digits, '_', '-' or '.'",
				  ld_excerpt(k, ex, sizeof(ex)));
			continue;
		}
		it->name = ld_dup_or_oom(L, ydoc_scalar_text(k));
		if (!it->name)
			continue;
		if (ydoc_node_type(m) != YDOC_MAP) {
			ld_err_at(L, m,
				  "intent '%s' must be a map with 'examples'",
				  it->name);
			continue;
		}
		const struct ydoc_node *examples = NULL;
		for (size_t j = 0; j < ydoc_node_count(m); j++) {
			const struct ydoc_node *mk = ydoc_map_key(m, j);
			if (ld_key_is(mk, "examples"))
				examples = ydoc_map_value(m, j);
			else if (ld_key_is(mk, "slots"))
				ld_parse_slots(L, it, ydoc_map_value(m, j));
			else
				ld_err_at(L, mk,
					  "intent '%s': unknown field '%s' "
					  "(expected examples or slots)",
					  it->name,
					  ld_excerpt(mk, ex, sizeof(ex)));
		}
		if (examples)
			parse_examples(L, it, examples);
		else
			ld_err_at(L, k, "intent '%s' has no examples",
				  it->name);
	}
}

/* A menu's "intents:": flow intent -> node. */
static void parse_routes(struct nctx *c, const struct ydoc_node *v)
{
	struct flow_node *fn = c->fn;
	const struct flow *f = c->L->f;
	char ex[64], names[160];
	char what[FLOW_NAME_MAX + 16];
	size_t n = ydoc_node_count(v);
	if (ydoc_node_type(v) != YDOC_MAP || n == 0) {
		ld_nerr(c, v,
			"'intents' must be a map of intent names to node "
			"names");
		return;
	}
	if (n > FLOW_INTENTS_MAX) {
		ld_nerr(c, v, "more than %u intents", FLOW_INTENTS_MAX);
		return;
	}
	fn->routes = calloc(n, sizeof(*fn->routes));
	if (!fn->routes) {
		c->L->nerr++;
		c->L->oom = true;
		return;
	}
	fn->nroutes = (unsigned)n;
	for (size_t i = 0; i < n; i++) {
		const struct ydoc_node *k = ydoc_map_key(v, i);
		struct flow_route *r = &fn->routes[i];
		r->next = NO_NODE;
		const struct flow_intent *it = NULL;
		if (strlen(ydoc_scalar_text(k)) == ydoc_scalar_len(k))
			it = ld_find_intent(f, ydoc_scalar_text(k));
		if (!it) {
			if (f->nintents)
				ld_nerr(c, k,
					"unknown intent '%s' (the flow "
					"defines: "
					"%s)",
					ld_excerpt(k, ex, sizeof(ex)),
					intent_names(f, names, sizeof(names)));
			else
				ld_nerr(c, k,
					"unknown intent '%s' (the flow defines "
					"no intents)",
					ld_excerpt(k, ex, sizeof(ex)));
			continue;
		}
		r->intent = ld_dup_or_oom(c->L, it->name);
		snprintf(what, sizeof(what), "intent '%s'", it->name);
		ld_get_ref(c, what, ydoc_map_value(v, i), &r->next);
	}
}

/* A plain number like 0.7 (no exponent, no quotes). */
bool ld_parse_number(const struct ydoc_node *v, float *out)
{
	const char *s = ydoc_scalar_text(v);
	size_t len = ydoc_scalar_len(v);
	if (ydoc_node_type(v) != YDOC_SCALAR || ydoc_scalar_quoted(v) ||
	    len == 0 || len > 16 || strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		      (i == 0 && (s[i] == '-' || s[i] == '+'))))
			return false;
	}
	char *end;
	double d = strtod(s, &end);
	if (end != s + len || d != d)
		return false;
	*out = (float)d;
	return true;
}

void ld_get_confidence(struct nctx *c, const struct ydoc_node *v)
{
	struct flow_node *fn = c->fn;
	char ex[64];
	if (ydoc_node_type(v) != YDOC_MAP || ydoc_node_count(v) == 0) {
		ld_nerr(c, v,
			"'confidence' must be a map like {high: 0.7, low: "
			"0.4}");
		return;
	}
	float high = fn->conf_high, low = fn->conf_low;
	bool ok = true;
	for (size_t i = 0; i < ydoc_node_count(v); i++) {
		const struct ydoc_node *k = ydoc_map_key(v, i);
		const struct ydoc_node *x = ydoc_map_value(v, i);
		float *dst = ld_key_is(k, "high")  ? &high
			     : ld_key_is(k, "low") ? &low
						   : NULL;
		if (!dst) {
			ld_nerr(c, k,
				"unknown field '%s' in 'confidence' (expected "
				"high or low)",
				ld_excerpt(k, ex, sizeof(ex)));
			ok = false;
		} else if (!ld_parse_number(x, dst)) {
			ld_nerr(c, x,
				"'confidence' %s must be a number like 0.7",
				ydoc_scalar_text(k));
			ok = false;
		}
	}
	if (!ok)
		return;
	if (!(low >= 0.0f && low <= high && high <= 1.0f)) {
		ld_nerr(c, v,
			"'confidence' thresholds out of range: need 0 <= low "
			"<= "
			"high <= 1, got low %g, high %g",
			(double)low, (double)high);
		return;
	}
	fn->conf_high = high;
	fn->conf_low = low;
}

/* STT engines a flow may name (docs/SPEECH.md); fixed here so a typo is a
 * load error, not a runtime fallback. */
static const char *const stt_names[] = { "moonshine", "pocketsphinx" };
#define NSTT_NAMES (sizeof(stt_names) / sizeof(stt_names[0]))

/* "moonshine, pocketsphinx" -> "moonshine,pocketsphinx". */
void ld_get_stt(struct nctx *c, const struct ydoc_node *v)
{
	const char *s = ydoc_scalar_text(v);
	size_t len = ydoc_scalar_len(v);
	if (ydoc_node_type(v) != YDOC_SCALAR || ydoc_scalar_is_null(v) ||
	    len == 0 || len > 128 || strlen(s) != len) {
		ld_nerr(c, v,
			"'stt' must be a comma-separated list of engines like "
			"moonshine,pocketsphinx");
		return;
	}
	bool used[NSTT_NAMES] = { false };
	char out[128 + 1];
	size_t o = 0, count = 0;
	bool ok = true;
	for (const char *p = s; ok;) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		const char *w = p;
		while (n && *w == ' ') {
			w++;
			n--;
		}
		while (n && w[n - 1] == ' ')
			n--;
		size_t j = 0;
		while (j < NSTT_NAMES && (strlen(stt_names[j]) != n ||
					  memcmp(stt_names[j], w, n)))
			j++;
		if (j == NSTT_NAMES) {
			ld_nerr(c, v,
				"'stt' names an unknown engine '%.*s' (known: "
				"moonshine, pocketsphinx)",
				(int)(n > 40 ? 40 : n), w);
			ok = false;
		} else if (used[j]) {
			ld_nerr(c, v, "'stt' names '%s' twice", stt_names[j]);
			ok = false;
		} else {
			used[j] = true;
			count++;
			o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s",
					      o ? "," : "", stt_names[j]);
		}
		if (!e)
			break;
		p = e + 1;
	}
	if (ok && count)
		c->fn->stt_engines = ld_dup_or_oom(c->L, out);
}

/* continue_window: a duration up to MAX_CONTINUE_MS; 0 (off) needs no
 * unit, as in the daemon's config. */
static bool get_continue(struct nctx *c, const struct ydoc_node *v,
			 unsigned *out)
{
	if (ydoc_node_type(v) == YDOC_SCALAR && ydoc_scalar_len(v) == 1 &&
	    *ydoc_scalar_text(v) == '0') {
		*out = 0;
		return true;
	}
	return ld_get_duration_in(c, "continue_window", v, 0, MAX_CONTINUE_MS,
				  out);
}

bool ld_listen_field(struct nctx *c, const struct ydoc_node *k,
		     const struct ydoc_node *v)
{
	struct flow_node *fn = c->fn;
	if (ld_key_is(k, "stt"))
		ld_get_stt(c, v);
	else if (ld_key_is(k, "end_silence"))
		ld_get_duration_in(c, "end_silence", v, MIN_END_SILENCE_MS,
				   MAX_END_SILENCE_MS, &fn->end_silence_ms);
	else if (ld_key_is(k, "max_speech"))
		ld_get_duration_in(c, "max_speech", v, MIN_MAX_SPEECH_MS,
				   MAX_MAX_SPEECH_MS, &fn->max_speech_ms);
	else if (ld_key_is(k, "continue_window"))
		fn->continue_set = get_continue(c, v, &fn->continue_ms);
	else
		return false;
	return true;
}

/* ---- nodes ---- */

/* Where a phrase was first said, for "said twice" messages. */
static bool phrase_taken(const struct flow_node *fn, unsigned upto,
			 const char *w, const char **owner)
{
	for (unsigned i = 0; i <= upto && i < fn->noptions; i++) {
		const struct flow_option *o = &fn->options[i];
		for (unsigned j = 0; j < o->nwords; j++) {
			if (o->words[j] && !strcmp(o->words[j], w)) {
				*owner = o->digits ? o->digits : "?";
				return true;
			}
		}
	}
	return false;
}

/* An option's "say": one phrase or a list of them, normalized. */
static void parse_say_words(struct nctx *c, const char *what, unsigned idx,
			    const struct ydoc_node *v)
{
	struct flow_node *fn = c->fn;
	struct flow_option *o = &fn->options[idx];
	char ex[64];
	bool seq = ydoc_node_type(v) == YDOC_SEQ;
	size_t n = seq ? ydoc_node_count(v) : 1;
	if (ydoc_node_type(v) == YDOC_MAP || n == 0 || n > FLOW_WORDS_MAX) {
		ld_nerr(c, v,
			"%s: 'say' must be a phrase or a list of 1 to %u "
			"phrases",
			what, FLOW_WORDS_MAX);
		return;
	}
	o->words = calloc(n, sizeof(*o->words));
	if (!o->words) {
		c->L->nerr++;
		c->L->oom = true;
		return;
	}
	char norm[STT_PHRASE_MAX + 1];
	for (size_t i = 0; i < n; i++) {
		const struct ydoc_node *p = seq ? ydoc_seq_item(v, i) : v;
		const char *s = ydoc_scalar_text(p);
		size_t len = ydoc_scalar_len(p);
		if (ydoc_node_type(p) != YDOC_SCALAR ||
		    ydoc_scalar_is_null(p) || len == 0 ||
		    len > STT_PHRASE_MAX || strlen(s) != len) {
			ld_nerr(c, p,
				"%s: phrase '%s' must be 1 to %u bytes of "
				"text",
				what, ld_excerpt(p, ex, sizeof(ex)),
				STT_PHRASE_MAX);
			continue;
		}
		if (!ld_normalize_phrase(s, len, norm)) {
			ld_nerr(c, p, "%s: phrase '%s' has no words", what,
				ld_excerpt(p, ex, sizeof(ex)));
			continue;
		}
		const char *owner = NULL;
		if (phrase_taken(fn, idx, norm, &owner)) {
			if (o->digits && !strcmp(owner, o->digits))
				ld_nerr(c, p, "%s: phrase '%s' is listed twice",
					what, norm);
			else
				ld_nerr(c, p,
					"%s: phrase '%s' is also said for "
					"option "
					"'%s'",
					what, norm, owner);
			continue;
		}
		o->words[o->nwords] = ld_dup_or_oom(c->L, norm);
		if (o->words[o->nwords])
			o->nwords++;
	}
}

/* An option's value: a node name, or {next: node, say: phrases}. Returns
 * true when it has a "say". */
static bool parse_option_value(struct nctx *c, const char *what, unsigned idx,
			       const struct ydoc_node *v)
{
	struct flow_option *o = &c->fn->options[idx];
	char ex[64];
	if (ydoc_node_type(v) != YDOC_MAP) {
		ld_get_ref(c, what, v, &o->next);
		return false;
	}
	bool have_next = false, have_say = false;
	for (size_t i = 0; i < ydoc_node_count(v); i++) {
		const struct ydoc_node *k = ydoc_map_key(v, i);
		const struct ydoc_node *x = ydoc_map_value(v, i);
		if (ld_key_is(k, "next")) {
			have_next = true;
			ld_get_ref(c, what, x, &o->next);
		} else if (ld_key_is(k, "say")) {
			have_say = true;
			parse_say_words(c, what, idx, x);
		} else {
			ld_nerr(c, k,
				"%s: unknown field '%s' (expected next or say)",
				what, ld_excerpt(k, ex, sizeof(ex)));
		}
	}
	if (!have_next)
		ld_nerr(c, v, "%s: missing 'next'", what);
	return have_say;
}

static void parse_say(struct nctx *c, const struct ydoc_node *m)
{
	struct flow_node *fn = c->fn;
	bool have_text = false, have_next = false;
	for (size_t i = 0; i < ydoc_node_count(m); i++) {
		const struct ydoc_node *k = ydoc_map_key(m, i);
		const struct ydoc_node *v = ydoc_map_value(m, i);
		if (ld_key_is(k, "type") || ld_key_is(k, "description")) {
			continue;
		} else if (ld_key_is(k, "text")) {
			have_text = true;
			ld_get_tmpl(c, "text", v, FLOW_TEXT_MAX, false,
				    &fn->tmpl, &fn->text);
		} else if (ld_key_is(k, "voice")) {
			ld_get_voice(c->L, c, v, &fn->voice);
		} else if (ld_key_is(k, "barge_in")) {
			ld_get_bool(c, "barge_in", v, &fn->barge_in);
		} else if (ld_key_is(k, "next")) {
			have_next = true;
			ld_get_ref(c, "'next'", v, &fn->next);
		} else {
			ld_unknown_field(c, k, "say",
					 "text, voice, barge_in or next");
		}
	}
	if (!have_text)
		ld_missing(c, "text");
	if (!have_next)
		ld_missing(c, "next");
}

/* Returns the number of options with a "say". */
unsigned ld_parse_options(struct nctx *c, const struct ydoc_node *v)
{
	struct flow_node *fn = c->fn;
	char ex[64];
	char what[FLOW_DIGITS_MAX + 16];
	unsigned nsay = 0, nwords = 0;
	if (ydoc_node_type(v) != YDOC_MAP || ydoc_node_count(v) == 0) {
		ld_nerr(c, v, "'options' must be a map of keys to node names");
		return 0;
	}
	size_t n = ydoc_node_count(v);
	if (n > FLOW_OPTIONS_MAX) {
		ld_nerr(c, v, "more than %u options", FLOW_OPTIONS_MAX);
		return 0;
	}
	fn->options = calloc(n, sizeof(*fn->options));
	if (!fn->options) {
		c->L->nerr++;
		c->L->oom = true;
		return 0;
	}
	fn->noptions = (unsigned)n;
	for (size_t i = 0; i < n; i++) {
		const struct ydoc_node *k = ydoc_map_key(v, i);
		const char *key = ydoc_scalar_text(k);
		size_t len = ydoc_scalar_len(k);
		bool ok =
			len > 0 && len <= FLOW_DIGITS_MAX && strlen(key) == len;
		for (size_t j = 0; ok && j < len; j++)
			ok = ld_is_dtmf(key[j]);
		if (!ok) {
			ld_nerr(c, k,
				"option '%s' is not 1-%u DTMF keys (0-9, *, #, "
				"A-D)",
				ld_excerpt(k, ex, sizeof(ex)), FLOW_DIGITS_MAX);
			continue;
		}
		fn->options[i].digits = ld_dup_or_oom(c->L, key);
		snprintf(what, sizeof(what), "option '%s'", key);
		if (parse_option_value(c, what, (unsigned)i,
				       ydoc_map_value(v, i)))
			nsay++;
		nwords += fn->options[i].nwords;
	}
	/* One grammar holds every phrase of the menu. */
	if (nwords > STT_PHRASES_MAX)
		ld_nerr(c, v, "more than %u spoken phrases in one menu",
			STT_PHRASES_MAX);
	return nsay;
}

/* Options against max_digits and terminator: needs all fields first. */
static void check_options(struct nctx *c, const struct ydoc_node *v)
{
	struct flow_node *fn = c->fn;
	char ex[64];
	for (unsigned i = 0; i < fn->noptions; i++) {
		const char *d = fn->options[i].digits;
		if (!d)
			continue;
		const struct ydoc_node *k = ydoc_map_key(v, i);
		if (strlen(d) > fn->max_digits)
			ld_nerr(c, k,
				"option '%s' is longer than max_digits %u",
				ld_excerpt(k, ex, sizeof(ex)), fn->max_digits);
		else if (fn->terminator[0] && strchr(d, fn->terminator[0]))
			ld_nerr(c, k,
				"option '%s' contains the terminator '%s'",
				ld_excerpt(k, ex, sizeof(ex)), fn->terminator);
	}
}

bool ld_get_terminator(struct nctx *c, const struct ydoc_node *v)
{
	const char *s = ydoc_scalar_text(v);
	if (ydoc_node_type(v) != YDOC_SCALAR || ydoc_scalar_len(v) != 1 ||
	    !ld_is_dtmf(s[0])) {
		ld_nerr(c, v,
			"'terminator' must be one DTMF key (0-9, *, #, A-D)");
		return false;
	}
	c->fn->terminator[0] = s[0];
	c->fn->terminator[1] = '\0';
	return true;
}

char *ld_prompt_name(struct loader *L, const char *node, const char *suffix)
{
	char buf[FLOW_NAME_MAX + 16];
	snprintf(buf, sizeof(buf), "%s.%s", node, suffix);
	return ld_dup_or_oom(L, buf);
}

/* Fields of a menu that only matter when it listens to speech. */
#define SPEECH_FIELDS 5

struct menu_keys {
	const struct ydoc_node *opts, *input, *intents;
	const struct ydoc_node *speech_only[SPEECH_FIELDS]; /* their keys */
	unsigned nspeech_only;
	unsigned nsay; /* options with a "say" */
};

/* "input": explicit or derived, and whether the spoken choices can be
 * heard. Needs every field first. */
static void check_input(struct nctx *c, const struct menu_keys *mk)
{
	struct flow_node *fn = c->fn;
	char ex[64];
	bool spoken = mk->intents || mk->nsay;
	fn->input = spoken ? FLOW_INPUT_BOTH : FLOW_INPUT_DTMF;
	if (mk->input) {
		const char *s = ydoc_node_type(mk->input) == YDOC_SCALAR
					? ydoc_scalar_text(mk->input)
					: "";
		if (!strcmp(s, "dtmf")) {
			fn->input = FLOW_INPUT_DTMF;
		} else if (!strcmp(s, "speech")) {
			fn->input = FLOW_INPUT_SPEECH;
		} else if (!strcmp(s, "both")) {
			fn->input = FLOW_INPUT_BOTH;
		} else {
			ld_nerr(c, mk->input,
				"unknown input '%s' (expected dtmf, speech or "
				"both)",
				ld_excerpt(mk->input, ex, sizeof(ex)));
			return;
		}
		if (fn->input == FLOW_INPUT_DTMF && spoken) {
			ld_nerr(c, mk->input, "%s never heard: input is dtmf",
				mk->intents && mk->nsay ? "'intents' and 'say' "
							  "are"
				: mk->intents		? "'intents' are"
							: "'say' phrases are");
			return;
		}
		if (fn->input != FLOW_INPUT_DTMF && !spoken) {
			ld_nerr(c, mk->input,
				"input %s needs 'intents' or an option with "
				"'say'",
				s);
			return;
		}
	}
	if (!spoken) {
		for (unsigned i = 0; i < mk->nspeech_only; i++)
			ld_nerr(c, mk->speech_only[i],
				"'%s' needs a menu that listens to speech "
				"('intents' or options with 'say')",
				ydoc_scalar_text(mk->speech_only[i]));
	}
	/* Keys of a speech-only menu would be dead options. */
	if (fn->input == FLOW_INPUT_SPEECH && spoken && mk->opts &&
	    fn->options) {
		for (unsigned i = 0; i < fn->noptions; i++) {
			if (fn->options[i].digits && !fn->options[i].nwords &&
			    !ydoc_map_get(ydoc_map_value(mk->opts, i), "say"))
				ld_nerr(c, ydoc_map_key(mk->opts, i),
					"option '%s' is never chosen: it has "
					"no "
					"'say' and input is speech",
					fn->options[i].digits);
		}
	}
}

static void parse_menu(struct nctx *c, const struct ydoc_node *m)
{
	struct flow_node *fn = c->fn;
	struct menu_keys mk = { 0 };
	bool have_prompt = false, have_max_retries = false;
	/* Checking options against a bad max_digits or terminator would only
	 * repeat that error. */
	bool keys_checkable = true;
	fn->barge_in = true;
	fn->timeout_ms = DEFAULT_TIMEOUT_MS;
	fn->interdigit_ms = DEFAULT_INTERDIGIT_MS;
	fn->max_digits = 1;
	fn->retries = DEFAULT_RETRIES;
	fn->conf_high = DEFAULT_CONF_HIGH;
	fn->conf_low = DEFAULT_CONF_LOW;
	for (size_t i = 0; i < ydoc_node_count(m); i++) {
		const struct ydoc_node *k = ydoc_map_key(m, i);
		const struct ydoc_node *v = ydoc_map_value(m, i);
		bool speech_only = false;
		if (ld_key_is(k, "type") || ld_key_is(k, "description")) {
			continue;
		} else if (ld_key_is(k, "prompt")) {
			have_prompt = true;
			ld_get_tmpl(c, "prompt", v, FLOW_TEXT_MAX, false,
				    &fn->tmpl, &fn->text);
		} else if (ld_key_is(k, "voice")) {
			ld_get_voice(c->L, c, v, &fn->voice);
		} else if (ld_key_is(k, "barge_in")) {
			ld_get_bool(c, "barge_in", v, &fn->barge_in);
		} else if (ld_key_is(k, "options")) {
			mk.opts = v;
			mk.nsay = ld_parse_options(c, v);
		} else if (ld_key_is(k, "input")) {
			mk.input = v;
		} else if (ld_key_is(k, "intents")) {
			mk.intents = v;
			parse_routes(c, v);
		} else if (ld_key_is(k, "confidence")) {
			speech_only = true;
			ld_get_confidence(c, v);
		} else if (ld_key_is(k, "on_low_confidence")) {
			speech_only = true;
			ld_get_ref(c, "'on_low_confidence'", v, &fn->on_low);
		} else if (ld_listen_field(c, k, v)) {
			speech_only = true;
		} else if (ld_key_is(k, "timeout")) {
			ld_get_duration(c, "timeout", v, &fn->timeout_ms);
		} else if (ld_key_is(k, "interdigit_timeout")) {
			ld_get_duration(c, "interdigit_timeout", v,
					&fn->interdigit_ms);
		} else if (ld_key_is(k, "max_digits")) {
			if (!ld_get_uint(c, "max_digits", v, 1, FLOW_DIGITS_MAX,
					 &fn->max_digits))
				keys_checkable = false;
		} else if (ld_key_is(k, "terminator")) {
			if (!ld_get_terminator(c, v))
				keys_checkable = false;
		} else if (ld_key_is(k, "retries")) {
			ld_get_uint(c, "retries", v, 0, FLOW_RETRIES_MAX,
				    &fn->retries);
		} else if (ld_key_is(k, "no_input")) {
			ld_get_tmpl(c, "no_input", v, FLOW_TEXT_MAX, false,
				    &fn->no_input_tmpl, &fn->no_input);
		} else if (ld_key_is(k, "invalid")) {
			ld_get_tmpl(c, "invalid", v, FLOW_TEXT_MAX, false,
				    &fn->invalid_tmpl, &fn->invalid);
		} else if (ld_key_is(k, "on_max_retries")) {
			have_max_retries = true;
			ld_get_ref(c, "'on_max_retries'", v,
				   &fn->on_max_retries);
		} else {
			ld_unknown_field(c, k, "menu",
					 "prompt, voice, barge_in, input, "
					 "options, intents, confidence, "
					 "on_low_confidence, stt, end_silence, "
					 "max_speech, continue_window, "
					 "timeout, "
					 "interdigit_timeout, max_digits, "
					 "terminator, retries, no_input, "
					 "invalid or on_max_retries");
		}
		if (speech_only && mk.nspeech_only < SPEECH_FIELDS)
			mk.speech_only[mk.nspeech_only++] = k;
	}
	if (!have_prompt)
		ld_missing(c, "prompt");
	/* A menu of intents alone has no keys to offer. */
	if (!mk.opts && !mk.intents)
		ld_missing(c, "options");
	if (!have_max_retries && !ld_retries_covered(c->L)) {
		if (c->L->have_handlers)
			ld_nerr(c, NULL,
				"missing 'on_max_retries' (no handler covers "
				"it: add handlers.max_retries, or both "
				"handlers.no_input and handlers.no_match)");
		else
			ld_missing(c, "on_max_retries");
	}
	if (mk.opts && fn->options && keys_checkable)
		check_options(c, mk.opts);
	check_input(c, &mk);
	if (fn->no_input)
		fn->no_input_name = ld_prompt_name(c->L, fn->name, "no_input");
	if (fn->invalid)
		fn->invalid_name = ld_prompt_name(c->L, fn->name, "invalid");
}

static void parse_transfer(struct nctx *c, const struct ydoc_node *m)
{
	bool have_target = false, have_on_fail = false;
	for (size_t i = 0; i < ydoc_node_count(m); i++) {
		const struct ydoc_node *k = ydoc_map_key(m, i);
		const struct ydoc_node *v = ydoc_map_value(m, i);
		if (ld_key_is(k, "type") || ld_key_is(k, "description")) {
			continue;
		} else if (ld_key_is(k, "target")) {
			have_target = true;
			get_target(c, v);
		} else if (ld_key_is(k, "on_fail")) {
			have_on_fail = true;
			ld_get_ref(c, "'on_fail'", v, &c->fn->on_fail);
		} else if (ld_key_is(k, "context")) {
			ld_parse_context(c, v);
		} else {
			ld_unknown_field(c, k, "transfer",
					 "target, context or on_fail");
		}
	}
	if (!have_target)
		ld_missing(c, "target");
	if (!have_on_fail && c->L->f->handlers[FLOW_H_ERROR] == NO_NODE) {
		if (c->L->have_handlers)
			ld_nerr(c, NULL,
				"missing 'on_fail' (the flow has no "
				"handlers.error)");
		else
			ld_missing(c, "on_fail");
	}
}

static void parse_hangup(struct nctx *c, const struct ydoc_node *m)
{
	c->fn->reason = hangup_reasons[0];
	for (size_t i = 0; i < ydoc_node_count(m); i++) {
		const struct ydoc_node *k = ydoc_map_key(m, i);
		if (ld_key_is(k, "type") || ld_key_is(k, "description"))
			continue;
		else if (ld_key_is(k, "reason"))
			get_reason(c, ydoc_map_value(m, i));
		else
			ld_unknown_field(c, k, "hangup", "reason");
	}
}

static const struct {
	const char *name;
	enum flow_node_type type;
	void (*parse)(struct nctx *c, const struct ydoc_node *m);
} node_types[] = {
	{ "say", FLOW_NODE_SAY, parse_say },
	{ "menu", FLOW_NODE_MENU, parse_menu },
	{ "transfer", FLOW_NODE_TRANSFER, parse_transfer },
	{ "hangup", FLOW_NODE_HANGUP, parse_hangup },
	{ "play", FLOW_NODE_PLAY, ld_parse_play },
	{ "gather", FLOW_NODE_GATHER, ld_parse_gather },
	{ "classify", FLOW_NODE_CLASSIFY, ld_parse_classify },
	{ "set", FLOW_NODE_SET, ld_parse_set },
	{ "switch", FLOW_NODE_SWITCH, ld_parse_switch },
	{ "http", FLOW_NODE_HTTP, ld_parse_http },
	{ "lookup", FLOW_NODE_LOOKUP, ld_parse_lookup },
	{ "record", FLOW_NODE_RECORD, ld_parse_record },
	{ "hours", FLOW_NODE_HOURS, ld_parse_hours },
	{ "goto", FLOW_NODE_GOTO, ld_parse_goto },
	{ "subflow", FLOW_NODE_SUBFLOW, ld_parse_subflow },
	{ "return", FLOW_NODE_RETURN, ld_parse_return },
};

static void parse_node(struct loader *L, struct flow_node *fn,
		       const struct ydoc_node *m)
{
	struct nctx c = { L, fn, NULL };
	char ex[64];
	if (ydoc_node_type(m) != YDOC_MAP) {
		ld_nerr(&c, m, "a node must be a map with a 'type'");
		return;
	}
	const struct ydoc_node *t = NULL;
	for (size_t i = 0; i < ydoc_node_count(m); i++) {
		const struct ydoc_node *k = ydoc_map_key(m, i);
		const struct ydoc_node *v = ydoc_map_value(m, i);
		if (ld_key_is(k, "type"))
			t = v;
		else if (ld_key_is(k, "description") &&
			 ydoc_node_type(v) != YDOC_SCALAR)
			ld_nerr(&c, v, "'description' must be text, not a %s",
				ydoc_type_name(ydoc_node_type(v)));
	}
	if (!t) {
		ld_missing(&c, "type");
		return;
	}
	const char *type = ydoc_scalar_text(t);
	if (ydoc_node_type(t) != YDOC_SCALAR)
		type = "";
	for (size_t i = 0; i < sizeof(node_types) / sizeof(node_types[0]);
	     i++) {
		if (!strcmp(type, node_types[i].name)) {
			fn->type = node_types[i].type;
			node_types[i].parse(&c, m);
			return;
		}
	}
	ld_nerr(&c, t,
		"unknown type '%s' (expected say, menu, transfer, hangup, "
		"play, gather, classify, set, switch, http, lookup, record, "
		"hours, goto, subflow or return)",
		ld_excerpt(t, ex, sizeof(ex)));
}

/* ---- the document ---- */

static void free_kvs(struct flow_kv *kv, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		free(kv[i].name);
		flow_tmpl_free(kv[i].value);
	}
	free(kv);
}

static void node_fini(struct flow_node *fn)
{
	free(fn->name);
	free(fn->text);
	flow_tmpl_free(fn->tmpl);
	flow_tmpl_free(fn->no_input_tmpl);
	flow_tmpl_free(fn->invalid_tmpl);
	free(fn->voice);
	for (unsigned i = 0; i < fn->noptions; i++) {
		free(fn->options[i].digits);
		for (unsigned j = 0; j < fn->options[i].nwords; j++)
			free(fn->options[i].words[j]);
		free(fn->options[i].words);
	}
	free(fn->options);
	for (unsigned i = 0; i < fn->nroutes; i++)
		free(fn->routes[i].intent);
	free(fn->routes);
	free(fn->stt_engines);
	stt_grammar_deref(fn->grammar);
	stt_grammar_deref(fn->lm);
	free(fn->no_input);
	free(fn->invalid);
	free(fn->no_input_name);
	free(fn->invalid_name);
	free(fn->target);
	flow_tmpl_free(fn->target_tmpl);
	free_kvs(fn->context, fn->ncontext);
	free(fn->file);
	audio_clip_deref(fn->clip);
	free(fn->into);
	flow_tmpl_free(fn->classify_text);
	free(fn->model);
	free_kvs(fn->kvs, fn->nkvs);
	flow_tmpl_free(fn->value);
	for (unsigned i = 0; i < fn->ncases; i++)
		flow_tmpl_free(fn->cases[i].operand);
	free(fn->cases);
	free(fn->method);
	flow_tmpl_free(fn->url);
	flow_tmpl_free(fn->body);
	if (fn->json) {
		ld_json_free(fn->json);
		free(fn->json);
	}
	for (unsigned i = 0; i < fn->nmaps; i++) {
		free(fn->maps[i].var);
		free(fn->maps[i].path);
	}
	free(fn->maps);
	free(fn->map_all);
	flow_tmpl_free(fn->key);
	flow_tmpl_free(fn->subject);
	free(fn->lookup_into);
	free(fn->spans);
	free(fn->closed_dates);
	free(fn->subflow);
	for (unsigned i = 0; i < fn->nhints; i++)
		free(fn->hints[i]);
	free(fn->hints);
}

void flow_free(struct flow *f)
{
	if (!f)
		return;
	for (unsigned i = 0; i < f->nnodes; i++)
		node_fini(&f->nodes[i]);
	free(f->nodes);
	for (unsigned i = 0; i < f->nintents; i++) {
		struct flow_intent *it = &f->intents[i];
		free(it->name);
		for (unsigned j = 0; j < it->nexamples; j++)
			free(it->examples[j]);
		free(it->examples);
		for (unsigned j = 0; j < it->nslots; j++) {
			free(it->slots[j].name);
			flow_tmpl_free(it->slots[j].prompt);
		}
		free(it->slots);
	}
	free(f->intents);
	free_kvs(f->variables, f->nvariables);
	nlu_model_destroy(f->nlu);
	free(f->name);
	free(f->file);
	free(f->voice);
	free(f->dir);
	free(f->description);
	free(f);
}

/* First pass: every node's name, so transitions can point forward. */
static void collect_nodes(struct loader *L, const struct ydoc_node *nodes)
{
	struct flow *f = L->f;
	char ex[64];
	size_t n = ydoc_node_count(nodes);
	if (ydoc_node_type(nodes) != YDOC_MAP || n == 0) {
		ld_err_at(L, nodes,
			  "'nodes' must be a map of node names to nodes");
		return;
	}
	if (n > FLOW_MAX_NODES) {
		ld_err_at(L, nodes, "more than %u nodes", FLOW_MAX_NODES);
		return;
	}
	f->nodes = calloc(n, sizeof(*f->nodes));
	if (!f->nodes) {
		ld_oom(L);
		return;
	}
	f->nnodes = (unsigned)n;
	for (size_t i = 0; i < n; i++) {
		const struct ydoc_node *k = ydoc_map_key(nodes, i);
		struct flow_node *fn = &f->nodes[i];
		fn->line = ydoc_node_line(k);
		fn->col = ydoc_node_col(k);
		fn->next = fn->on_max_retries = fn->on_fail = fn->on_low =
			NO_NODE;
		fn->on_high = fn->on_no_match = fn->on_default = NO_NODE;
		fn->on_error = fn->on_not_found = NO_NODE;
		fn->on_in_hours = fn->on_out_of_hours = NO_NODE;
		fn->entity = -1;
		if (!ld_valid_name(ydoc_scalar_text(k), ydoc_scalar_len(k))) {
			ld_err_at(L, k,
				  "invalid node name '%s': use 1-64 letters, "
				  "digits, '_', '-' or '.'",
				  ld_excerpt(k, ex, sizeof(ex)));
			continue;
		}
		fn->name = ld_dup_or_oom(L, ydoc_scalar_text(k));
	}
	L->by_name = calloc(n, sizeof(*L->by_name));
	if (!L->by_name) {
		ld_oom(L);
		return;
	}
	for (unsigned i = 0; i < f->nnodes; i++) {
		if (f->nodes[i].name)
			L->by_name[L->nnamed++] = &f->nodes[i];
	}
	qsort(L->by_name, L->nnamed, sizeof(*L->by_name), cmp_node);
}

/* "handlers: {no_input: N, no_match: N, max_retries: N, error: N}". */
static void parse_handlers(struct loader *L, const struct ydoc_node *v)
{
	static const char *const names[FLOW_H_COUNT] = {
		[FLOW_H_NO_INPUT] = "no_input",
		[FLOW_H_NO_MATCH] = "no_match",
		[FLOW_H_MAX_RETRIES] = "max_retries",
		[FLOW_H_ERROR] = "error",
	};
	char ex[64];
	if (ydoc_node_type(v) != YDOC_MAP) {
		ld_err_at(L, v,
			  "'handlers' must be a map like {error: node, "
			  "max_retries: node}");
		return;
	}
	for (size_t i = 0; i < ydoc_node_count(v); i++) {
		const struct ydoc_node *k = ydoc_map_key(v, i);
		const struct ydoc_node *x = ydoc_map_value(v, i);
		unsigned h = 0;
		while (h < FLOW_H_COUNT && !ld_key_is(k, names[h]))
			h++;
		if (h == FLOW_H_COUNT) {
			ld_err_at(L, k,
				  "unknown handler '%s' (expected no_input, "
				  "no_match, max_retries or error)",
				  ld_excerpt(k, ex, sizeof(ex)));
			continue;
		}
		unsigned n = NO_NODE;
		if (ydoc_node_type(x) == YDOC_SCALAR &&
		    strlen(ydoc_scalar_text(x)) == ydoc_scalar_len(x))
			n = ld_find_node(L, ydoc_scalar_text(x));
		if (n == NO_NODE) {
			ld_err_at(L, x, "handler '%s' names no node '%s'",
				  names[h], ld_excerpt(x, ex, sizeof(ex)));
			continue;
		}
		L->f->handlers[h] = n;
	}
}

/* "variables: {name: default}": declarations with literal defaults. */
static void parse_variables(struct loader *L, const struct ydoc_node *v)
{
	struct flow *f = L->f;
	char ex[64];
	size_t n = ydoc_node_count(v);
	if (ydoc_node_type(v) != YDOC_MAP) {
		ld_err_at(L, v,
			  "'variables' must be a map of names to default "
			  "values");
		return;
	}
	if (n > 512) {
		ld_err_at(L, v, "more than 512 variables");
		return;
	}
	if (!n)
		return;
	f->variables = calloc(n, sizeof(*f->variables));
	if (!f->variables) {
		ld_oom(L);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ydoc_node *k = ydoc_map_key(v, i);
		const struct ydoc_node *x = ydoc_map_value(v, i);
		const char *name = ydoc_scalar_text(k);
		size_t nlen = ydoc_scalar_len(k);
		if (strlen(name) != nlen || !flow_var_name_valid(name, nlen)) {
			ld_err_at(L, k,
				  "invalid variable name '%s': use segments "
				  "of letters, digits and '_' joined by '.', "
				  "at most %u bytes",
				  ld_excerpt(k, ex, sizeof(ex)),
				  FLOW_VAR_NAME_MAX);
			continue;
		}
		if (!strncmp(name, "call.", 5)) {
			ld_err_at(L, k, "variable '%s' is built in (read-only)",
				  name);
			continue;
		}
		if (ydoc_node_type(x) != YDOC_SCALAR) {
			ld_err_at(L, x,
				  "variable '%s': the default must be a single "
				  "value, not a %s",
				  name, ydoc_type_name(ydoc_node_type(x)));
			continue;
		}
		const char *s =
			ydoc_scalar_is_null(x) ? "" : ydoc_scalar_text(x);
		size_t len = ydoc_scalar_is_null(x) ? 0 : ydoc_scalar_len(x);
		if (len > 4096 || strlen(s) != len) {
			ld_err_at(L, x,
				  "variable '%s': the default must be text of "
				  "at most 4096 bytes",
				  name);
			continue;
		}
		struct flow_tmpl *t = NULL;
		int rc = flow_tmpl_compile(s, len, &t, NULL, NULL, 0);
		if (rc == -ENOMEM) {
			ld_oom(L);
			continue;
		}
		if (rc || !flow_tmpl_is_literal(t)) {
			flow_tmpl_free(t);
			ld_err_at(L, x,
				  "variable '%s': the default is literal text "
				  "('{{' is not allowed)",
				  name);
			continue;
		}
		struct flow_kv *kv = &f->variables[f->nvariables];
		kv->name = ld_dup_or_oom(L, name);
		kv->value = t;
		f->nvariables++;
	}
}

static void parse_root(struct loader *L, const struct ydoc_node *root)
{
	struct flow *f = L->f;
	char ex[64];
	if (!root || ydoc_node_type(root) != YDOC_MAP) {
		ld_err_at(L, root,
			  "a flow must be a map with 'name', 'start' and "
			  "'nodes'");
		return;
	}
	const struct ydoc_node *name = NULL, *start = NULL, *nodes = NULL;
	const struct ydoc_node *intents_key = NULL, *intents = NULL;
	const struct ydoc_node *handlers = NULL;
	for (size_t i = 0; i < ydoc_node_count(root); i++) {
		const struct ydoc_node *k = ydoc_map_key(root, i);
		const struct ydoc_node *v = ydoc_map_value(root, i);
		if (ld_key_is(k, "name")) {
			name = v;
		} else if (ld_key_is(k, "start")) {
			start = v;
		} else if (ld_key_is(k, "nodes")) {
			nodes = v;
		} else if (ld_key_is(k, "voice")) {
			ld_get_voice(L, NULL, v, &f->voice);
		} else if (ld_key_is(k, "intents")) {
			intents_key = k;
			intents = v;
		} else if (ld_key_is(k, "handlers")) {
			handlers = v;
			L->have_handlers = true;
		} else if (ld_key_is(k, "variables")) {
			parse_variables(L, v);
		} else if (ld_key_is(k, "description")) {
			if (ydoc_node_type(v) != YDOC_SCALAR)
				ld_err_at(L, v,
					  "'description' must be text, not a "
					  "%s",
					  ydoc_type_name(ydoc_node_type(v)));
			else if (!ydoc_scalar_is_null(v))
				f->description =
					ld_dup_or_oom(L, ydoc_scalar_text(v));
		} else {
			ld_err_at(L, k,
				  "unknown field '%s' (expected name, start, "
				  "voice, intents, nodes, description, "
				  "variables or handlers)",
				  ld_excerpt(k, ex, sizeof(ex)));
		}
	}
	/* Before the nodes: menus route to these intents. */
	if (intents)
		parse_intents(L, intents_key, intents);

	if (!name) {
		ld_err_at(L, root, "missing 'name'");
	} else if (ydoc_node_type(name) != YDOC_SCALAR ||
		   !ld_valid_name(ydoc_scalar_text(name),
				  ydoc_scalar_len(name))) {
		ld_err_at(L, name,
			  "invalid flow name '%s': use 1-64 letters, digits, "
			  "'_', '-' or '.'",
			  ld_excerpt(name, ex, sizeof(ex)));
	} else {
		f->name = ld_dup_or_oom(L, ydoc_scalar_text(name));
		f->name_line = ydoc_node_line(name);
		f->name_col = ydoc_node_col(name);
	}

	if (!nodes) {
		ld_err_at(L, root, "missing 'nodes'");
		return;
	}
	collect_nodes(L, nodes);
	if (!f->nnodes)
		return;
	/* Before the nodes: handlers make some exits optional. */
	if (handlers)
		parse_handlers(L, handlers);

	f->start = NO_NODE;
	if (!start) {
		ld_err_at(L, root, "missing 'start'");
	} else {
		if (ydoc_node_type(start) == YDOC_SCALAR &&
		    strlen(ydoc_scalar_text(start)) == ydoc_scalar_len(start))
			f->start = ld_find_node(L, ydoc_scalar_text(start));
		if (f->start == NO_NODE)
			ld_err_at(L, start, "'start' names no node '%s'",
				  ld_excerpt(start, ex, sizeof(ex)));
	}

	for (unsigned i = 0; i < f->nnodes; i++) {
		if (f->nodes[i].name)
			parse_node(L, &f->nodes[i], ydoc_map_value(nodes, i));
	}
	/* Templates whose syntax was fine: their variables must be declared
	 * (this needs every node: a later set may declare them). */
	bool graph_ok = !L->nerr;
	ld_check_vars(L);
	/* Reachability and loops over a half-built graph would only add
	 * noise. */
	if (graph_ok) {
		ld_check_reachable(L);
		ld_check_loops(L);
	}
}

/* Position of a message "file:line:col: ..." of this file. */
static void msg_pos(const char *msg, size_t flen, unsigned long *line,
		    unsigned long *col)
{
	char *end;
	/* A file name too long for the message leaves no position. */
	if (strnlen(msg, FLOW_ERROR_LEN) <= flen + 1) {
		*line = *col = 0;
		return;
	}
	*line = strtoul(msg + flen + 1, &end, 10);
	*col = *end == ':' ? strtoul(end + 1, NULL, 10) : 0;
}

/* The loader reports by pass (names, then fields, then reachability);
 * readers want file order. Stable insertion sort: at most
 * FLOW_ERRORS_MAX messages, and equal positions keep their order. */
static void sort_messages(struct flow_errors *e, size_t first, const char *file)
{
	size_t flen = strlen(file);
	char tmp[FLOW_ERROR_LEN];
	for (size_t i = first + 1; i < e->count; i++) {
		unsigned long li, ci;
		msg_pos(e->msg[i], flen, &li, &ci);
		size_t j = i;
		while (j > first) {
			unsigned long lj, cj;
			msg_pos(e->msg[j - 1], flen, &lj, &cj);
			if (lj < li || (lj == li && cj <= ci))
				break;
			j--;
		}
		if (j == i)
			continue;
		memcpy(tmp, e->msg[i], sizeof(tmp));
		memmove(e->msg[j + 1], e->msg[j], (i - j) * sizeof(tmp));
		memcpy(e->msg[j], tmp, sizeof(tmp));
	}
}

/* Where play paths are relative to: the file's directory, or flows/ of
 * the source tree for a built-in (recognized by its bytes). */
static char *flow_dir(struct loader *L, const char *file, const char *buf)
{
	for (const struct flow_builtin *b = flow_builtins; b->name; b++) {
		if (buf && buf == (const char *)b->data)
			return ld_dup_or_oom(L, VG_FLOWS_DIR);
	}
	const char *slash = strrchr(file, '/');
	if (!slash)
		return ld_dup_or_oom(L, ".");
	if (slash == file)
		return ld_dup_or_oom(L, "/");
	char *d = strndup(file, (size_t)(slash - file));
	if (!d)
		ld_oom(L);
	return d;
}

int flow_load_buf(const char *file, const char *buf, size_t len,
		  struct flow **fp, struct flow_errors *errs)
{
	struct ydoc *doc = NULL;
	char msg[FLOW_ERROR_LEN];
	if (!file || (!buf && len) || !fp)
		return -EINVAL;
	if (len > FLOW_MAX_FILE_BYTES) {
		flow_errors_add(errs, file, 0, 0, "larger than %u bytes",
				FLOW_MAX_FILE_BYTES);
		return -E2BIG;
	}
	struct ydoc_limits lim = { .max_bytes = FLOW_MAX_FILE_BYTES };
	int err = ydoc_parse_limits(file, buf ? buf : "", len, &lim, &doc, msg,
				    sizeof(msg));
	if (err) {
		/* ydoc's message already reads "file:line:col: ...". */
		if (errs && errs->count < FLOW_ERRORS_MAX)
			snprintf(errs->msg[errs->count++], FLOW_ERROR_LEN, "%s",
				 msg);
		else if (errs)
			errs->dropped++;
		return err == -ENOMEM ? -ENOMEM : -EBADMSG;
	}

	struct loader L = {
		.file = file, .buf = buf ? buf : "", .len = len, .errs = errs
	};
	size_t first = errs ? errs->count : 0;
	L.f = calloc(1, sizeof(*L.f));
	if (!L.f) {
		ydoc_destroy(doc);
		return -ENOMEM;
	}
	atomic_init(&L.f->refs, 1);
	L.f->file = ld_dup_or_oom(&L, file);
	for (unsigned h = 0; h < FLOW_H_COUNT; h++)
		L.f->handlers[h] = NO_NODE;
	L.f->dir = flow_dir(&L, file, buf);
	parse_root(&L, ydoc_root(doc));
	if (!L.nerr)
		ld_build_speech(&L);
	free(L.by_name);
	free(L.uses);
	ydoc_destroy(doc);
	if (L.nerr) {
		if (errs)
			sort_messages(errs, first, file);
		flow_free(L.f);
		return L.oom ? -ENOMEM : -EBADMSG;
	}
	*fp = L.f;
	return 0;
}
