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
#include "flow/model.h"

#define NO_NODE ((unsigned)-1)

#define MIN_TIMEOUT_MS 100u
#define MAX_TIMEOUT_MS 300000u
#define DEFAULT_TIMEOUT_MS 5000u
#define DEFAULT_INTERDIGIT_MS 3000u
#define DEFAULT_RETRIES 2u

/* Speech menus (docs/FLOWS.md "Speech menus and intents"). */
#define DEFAULT_CONF_HIGH 0.7f
#define DEFAULT_CONF_LOW 0.4f
#define MIN_END_SILENCE_MS 100u
#define MAX_END_SILENCE_MS 5000u
#define MIN_MAX_SPEECH_MS 1000u
#define MAX_MAX_SPEECH_MS 30000u
/* stt_grammar_create() takes up to this many LM sentences; the LM only
 * biases recognition, so a menu routing more examples keeps the first. */
#define LM_SENTENCES_MAX 100000u
/* An example is one caller utterance: the classifier reads no more. */
#define EXAMPLE_MAX NLU_TEXT_MAX

/* End reasons a hangup node may give. The channel keeps the pointer past
 * the flow's life (the CDR is written after a reload may have freed it), and
 * reasons become metric labels, so they come from this closed set. */
static const char *const hangup_reasons[] = {
	"completed", "no_input", "invalid_input", "closed", "flow_error",
};

struct loader {
	const char *file;
	struct flow_errors *errs;
	unsigned nerr;
	bool oom;
	struct flow *f;
	/* Named nodes sorted by name, for transitions in O(log n). */
	struct flow_node **by_name;
	unsigned nnamed;
};

/* Node-scoped context for messages: "node 'x': ..." */
struct nctx {
	struct loader *L;
	struct flow_node *fn;
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

__attribute__((format(printf, 3, 4))) static void
err_at(struct loader *L, const struct ydoc_node *at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr_at(L, at, "", fmt, ap);
	va_end(ap);
}

/* An error about a node, pointing at `at` or, when NULL, at the node's
 * name. */
__attribute__((format(printf, 3, 4))) static void
nerr(struct nctx *c, const struct ydoc_node *at, const char *fmt, ...)
{
	char prefix[FLOW_NAME_MAX + 16];
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

static const char *excerpt(const struct ydoc_node *n, char *buf, size_t size)
{
	return ydoc_node_excerpt(n, buf, size);
}

/* Flow, node and voice names: they end up in logs, CDRs and URLs. */
static bool valid_name(const char *s, size_t len)
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

static bool is_dtmf(char c)
{
	return (c >= '0' && c <= '9') || c == '*' || c == '#' ||
	       (c >= 'A' && c <= 'D');
}

static char *dup_or_oom(struct loader *L, const char *s)
{
	char *d = strdup(s);
	if (!d) {
		L->nerr++;
		L->oom = true;
	}
	return d;
}

/* Map keys compared with their length: "text\0x" is not "text". */
static bool key_is(const struct ydoc_node *k, const char *s)
{
	return ydoc_scalar_len(k) == strlen(s) &&
	       !strcmp(ydoc_scalar_text(k), s);
}

/* ---- typed values ---- */

static bool scalar_or_err(struct nctx *c, const char *field,
			  const struct ydoc_node *v)
{
	if (ydoc_node_type(v) == YDOC_SCALAR)
		return true;
	nerr(c, v, "'%s' must be a single value, not a %s", field,
	     ydoc_type_name(ydoc_node_type(v)));
	return false;
}

static void get_text(struct nctx *c, const char *field,
		     const struct ydoc_node *v, char **out)
{
	if (!scalar_or_err(c, field, v))
		return;
	const char *s = ydoc_scalar_text(v);
	size_t len = ydoc_scalar_len(v);
	if (ydoc_scalar_is_null(v) || len == 0) {
		nerr(c, v, "'%s' must not be empty", field);
		return;
	}
	if (len > FLOW_TEXT_MAX) {
		nerr(c, v, "'%s' is longer than %u bytes", field,
		     FLOW_TEXT_MAX);
		return;
	}
	if (strlen(s) != len) {
		nerr(c, v, "'%s' contains a NUL byte", field);
		return;
	}
	*out = dup_or_oom(c->L, s);
}

static void get_voice(struct loader *L, struct nctx *c,
		      const struct ydoc_node *v, char **out)
{
	char ex[64];
	if (ydoc_node_type(v) != YDOC_SCALAR ||
	    !valid_name(ydoc_scalar_text(v), ydoc_scalar_len(v))) {
		if (c)
			nerr(c, v,
			     "invalid voice '%s': use 1-64 letters, "
			     "digits, '_', '-' or '.'",
			     excerpt(v, ex, sizeof(ex)));
		else
			err_at(L, v,
			       "invalid voice '%s': use 1-64 letters, "
			       "digits, '_', '-' or '.'",
			       excerpt(v, ex, sizeof(ex)));
		return;
	}
	*out = dup_or_oom(L, ydoc_scalar_text(v));
}

static void get_bool(struct nctx *c, const char *field,
		     const struct ydoc_node *v, bool *out)
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
	nerr(c, v, "'%s' must be true or false", field);
}

/* A whole number in [min, max], written plainly (no sign, no unit). */
static bool get_uint(struct nctx *c, const char *field,
		     const struct ydoc_node *v, unsigned min, unsigned max,
		     unsigned *out)
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
		nerr(c, v, "'%s' must be a whole number from %u to %u", field,
		     min, max);
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

static bool get_duration_in(struct nctx *c, const char *field,
			    const struct ydoc_node *v, unsigned min,
			    unsigned max, unsigned *out)
{
	unsigned long ms = 0;
	char lo[16], hi[16];
	if (ydoc_node_type(v) != YDOC_SCALAR ||
	    parse_duration_ms(ydoc_scalar_text(v), ydoc_scalar_len(v), &ms) ||
	    ms < min || ms > max) {
		nerr(c, v,
		     "'%s' must be a duration like 5s or 800ms, from %s to %s",
		     field, fmt_ms(min, lo, sizeof(lo)),
		     fmt_ms(max, hi, sizeof(hi)));
		return false;
	}
	*out = (unsigned)ms;
	return true;
}

static void get_duration(struct nctx *c, const char *field,
			 const struct ydoc_node *v, unsigned *out)
{
	get_duration_in(c, field, v, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS, out);
}

static int cmp_node(const void *a, const void *b)
{
	const struct flow_node *na = *(struct flow_node *const *)a;
	const struct flow_node *nb = *(struct flow_node *const *)b;
	return strcmp(na->name, nb->name);
}

static unsigned find_node(const struct loader *L, const char *name)
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
static void get_ref(struct nctx *c, const char *what, const struct ydoc_node *v,
		    unsigned *out)
{
	char ex[64];
	if (ydoc_node_type(v) != YDOC_SCALAR) {
		nerr(c, v, "%s must be a node name, not a %s", what,
		     ydoc_type_name(ydoc_node_type(v)));
		return;
	}
	unsigned i = NO_NODE;
	if (!ydoc_scalar_is_null(v) &&
	    strlen(ydoc_scalar_text(v)) == ydoc_scalar_len(v))
		i = find_node(c->L, ydoc_scalar_text(v));
	if (i == NO_NODE) {
		nerr(c, v, "%s names no node '%s'", what,
		     excerpt(v, ex, sizeof(ex)));
		return;
	}
	*out = i;
}

static void get_target(struct nctx *c, const struct ydoc_node *v)
{
	struct flow_node *fn = c->fn;
	if (!scalar_or_err(c, "target", v))
		return;
	const char *s = ydoc_scalar_text(v);
	size_t len = ydoc_scalar_len(v);
	if (!strcmp(s, "agent")) {
		fn->to_agent = true;
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
		nerr(c, v,
		     "'target' must be a sip:, sips: or tel: URI (at most %u "
		     "bytes, no spaces) or the word agent",
		     FLOW_TARGET_MAX);
		return;
	}
	fn->target = dup_or_oom(c->L, s);
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
	nerr(c, v,
	     "unknown hangup reason '%s' (expected completed, no_input, "
	     "invalid_input, closed or flow_error)",
	     excerpt(v, ex, sizeof(ex)));
}

static void unknown_field(struct nctx *c, const struct ydoc_node *k,
			  const char *type, const char *expected)
{
	char ex[64];
	nerr(c, k, "unknown field '%s' for a %s node (expected %s)",
	     excerpt(k, ex, sizeof(ex)), type, expected);
}

static void missing(struct nctx *c, const char *field)
{
	nerr(c, NULL, "missing '%s'", field);
}

/* ---- speech: phrases, intents, thresholds, engines ---- */

/* Normalize in[0..len) into out (len + 1 bytes) with the rules of the
 * grammars (stt_text_normalize), so an option's words equal the phrases its
 * grammar gives back. Returns the length; 0: no word at all. */
static size_t normalize_phrase(const char *in, size_t len, char *out)
{
	int n = stt_text_normalize(in, len, out, len + 1);
	return n > 0 ? (size_t)n : 0;
}

/* A flow intent by name, or NULL. Intents with an invalid name were
 * reported already and are left out. */
static const struct flow_intent *find_intent(const struct flow *f,
					     const char *name)
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
		err_at(L, v,
		       "intent '%s': 'examples' must be a list of "
		       "sentences",
		       it->name);
		return;
	}
	if (n == 0) {
		err_at(L, v, "intent '%s' has no examples", it->name);
		return;
	}
	if (n > FLOW_EXAMPLES_MAX) {
		err_at(L, v, "intent '%s' has more than %u examples", it->name,
		       FLOW_EXAMPLES_MAX);
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
		    strlen(s) != len || !normalize_phrase(s, len, norm)) {
			err_at(L, e,
			       "intent '%s': example '%s' must be a sentence "
			       "of 1 to %u bytes with at least one word",
			       it->name, excerpt(e, ex, sizeof(ex)),
			       EXAMPLE_MAX);
			continue;
		}
		it->examples[it->nexamples] = dup_or_oom(L, s);
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
		err_at(L, v,
		       "'intents' must be a map of intent names to "
		       "{examples: [...]}");
		return;
	}
	if (n > FLOW_INTENTS_MAX) {
		err_at(L, v, "more than %u intents", FLOW_INTENTS_MAX);
		return;
	}
	if (n < 2)
		err_at(L, key,
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
		if (!valid_name(ydoc_scalar_text(k), ydoc_scalar_len(k))) {
			err_at(L, k,
			       "invalid intent name '%s': use 1-64 letters, "
			       "digits, '_', '-' or '.'",
			       excerpt(k, ex, sizeof(ex)));
			continue;
		}
		it->name = dup_or_oom(L, ydoc_scalar_text(k));
		if (!it->name)
			continue;
		if (ydoc_node_type(m) != YDOC_MAP) {
			err_at(L, m,
			       "intent '%s' must be a map with 'examples'",
			       it->name);
			continue;
		}
		const struct ydoc_node *examples = NULL;
		for (size_t j = 0; j < ydoc_node_count(m); j++) {
			const struct ydoc_node *mk = ydoc_map_key(m, j);
			if (key_is(mk, "examples"))
				examples = ydoc_map_value(m, j);
			else
				err_at(L, mk,
				       "intent '%s': unknown field '%s' "
				       "(expected examples)",
				       it->name, excerpt(mk, ex, sizeof(ex)));
		}
		if (examples)
			parse_examples(L, it, examples);
		else
			err_at(L, k, "intent '%s' has no examples", it->name);
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
		nerr(c, v,
		     "'intents' must be a map of intent names to node "
		     "names");
		return;
	}
	if (n > FLOW_INTENTS_MAX) {
		nerr(c, v, "more than %u intents", FLOW_INTENTS_MAX);
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
			it = find_intent(f, ydoc_scalar_text(k));
		if (!it) {
			if (f->nintents)
				nerr(c, k,
				     "unknown intent '%s' (the flow defines: "
				     "%s)",
				     excerpt(k, ex, sizeof(ex)),
				     intent_names(f, names, sizeof(names)));
			else
				nerr(c, k,
				     "unknown intent '%s' (the flow defines "
				     "no intents)",
				     excerpt(k, ex, sizeof(ex)));
			continue;
		}
		r->intent = dup_or_oom(c->L, it->name);
		snprintf(what, sizeof(what), "intent '%s'", it->name);
		get_ref(c, what, ydoc_map_value(v, i), &r->next);
	}
}

/* A plain number like 0.7 (no exponent, no quotes). */
static bool parse_number(const struct ydoc_node *v, float *out)
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

static void get_confidence(struct nctx *c, const struct ydoc_node *v)
{
	struct flow_node *fn = c->fn;
	char ex[64];
	if (ydoc_node_type(v) != YDOC_MAP || ydoc_node_count(v) == 0) {
		nerr(c, v,
		     "'confidence' must be a map like {high: 0.7, low: "
		     "0.4}");
		return;
	}
	float high = fn->conf_high, low = fn->conf_low;
	bool ok = true;
	for (size_t i = 0; i < ydoc_node_count(v); i++) {
		const struct ydoc_node *k = ydoc_map_key(v, i);
		const struct ydoc_node *x = ydoc_map_value(v, i);
		float *dst = key_is(k, "high")	? &high
			     : key_is(k, "low") ? &low
						: NULL;
		if (!dst) {
			nerr(c, k,
			     "unknown field '%s' in 'confidence' (expected "
			     "high or low)",
			     excerpt(k, ex, sizeof(ex)));
			ok = false;
		} else if (!parse_number(x, dst)) {
			nerr(c, x, "'confidence' %s must be a number like 0.7",
			     ydoc_scalar_text(k));
			ok = false;
		}
	}
	if (!ok)
		return;
	if (!(low >= 0.0f && low <= high && high <= 1.0f)) {
		nerr(c, v,
		     "'confidence' thresholds out of range: need 0 <= low <= "
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
static void get_stt(struct nctx *c, const struct ydoc_node *v)
{
	const char *s = ydoc_scalar_text(v);
	size_t len = ydoc_scalar_len(v);
	if (ydoc_node_type(v) != YDOC_SCALAR || ydoc_scalar_is_null(v) ||
	    len == 0 || len > 128 || strlen(s) != len) {
		nerr(c, v,
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
			nerr(c, v,
			     "'stt' names an unknown engine '%.*s' (known: "
			     "moonshine, pocketsphinx)",
			     (int)(n > 40 ? 40 : n), w);
			ok = false;
		} else if (used[j]) {
			nerr(c, v, "'stt' names '%s' twice", stt_names[j]);
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
		c->fn->stt_engines = dup_or_oom(c->L, out);
}

/* ---- nodes ---- */

/* Where a phrase was first said, for "said twice" messages. */
static bool phrase_taken(const struct flow_node *fn, unsigned upto,
			 const char *w, const char **owner)
{
	for (unsigned i = 0; i <= upto && i < fn->noptions; i++) {
		const struct flow_option *o = &fn->options[i];
		for (unsigned j = 0; j < o->nwords; j++) {
			if (!strcmp(o->words[j], w)) {
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
		nerr(c, v,
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
			nerr(c, p,
			     "%s: phrase '%s' must be 1 to %u bytes of "
			     "text",
			     what, excerpt(p, ex, sizeof(ex)), STT_PHRASE_MAX);
			continue;
		}
		if (!normalize_phrase(s, len, norm)) {
			nerr(c, p, "%s: phrase '%s' has no words", what,
			     excerpt(p, ex, sizeof(ex)));
			continue;
		}
		const char *owner = NULL;
		if (phrase_taken(fn, idx, norm, &owner)) {
			if (o->digits && !strcmp(owner, o->digits))
				nerr(c, p, "%s: phrase '%s' is listed twice",
				     what, norm);
			else
				nerr(c, p,
				     "%s: phrase '%s' is also said for option "
				     "'%s'",
				     what, norm, owner);
			continue;
		}
		o->words[o->nwords] = dup_or_oom(c->L, norm);
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
		get_ref(c, what, v, &o->next);
		return false;
	}
	bool have_next = false, have_say = false;
	for (size_t i = 0; i < ydoc_node_count(v); i++) {
		const struct ydoc_node *k = ydoc_map_key(v, i);
		const struct ydoc_node *x = ydoc_map_value(v, i);
		if (key_is(k, "next")) {
			have_next = true;
			get_ref(c, what, x, &o->next);
		} else if (key_is(k, "say")) {
			have_say = true;
			parse_say_words(c, what, idx, x);
		} else {
			nerr(c, k,
			     "%s: unknown field '%s' (expected next or say)",
			     what, excerpt(k, ex, sizeof(ex)));
		}
	}
	if (!have_next)
		nerr(c, v, "%s: missing 'next'", what);
	return have_say;
}

static void parse_say(struct nctx *c, const struct ydoc_node *m)
{
	struct flow_node *fn = c->fn;
	bool have_text = false, have_next = false;
	for (size_t i = 0; i < ydoc_node_count(m); i++) {
		const struct ydoc_node *k = ydoc_map_key(m, i);
		const struct ydoc_node *v = ydoc_map_value(m, i);
		if (key_is(k, "type")) {
			continue;
		} else if (key_is(k, "text")) {
			have_text = true;
			get_text(c, "text", v, &fn->text);
		} else if (key_is(k, "voice")) {
			get_voice(c->L, c, v, &fn->voice);
		} else if (key_is(k, "barge_in")) {
			get_bool(c, "barge_in", v, &fn->barge_in);
		} else if (key_is(k, "next")) {
			have_next = true;
			get_ref(c, "'next'", v, &fn->next);
		} else {
			unknown_field(c, k, "say",
				      "text, voice, barge_in or next");
		}
	}
	if (!have_text)
		missing(c, "text");
	if (!have_next)
		missing(c, "next");
}

/* Returns the number of options with a "say". */
static unsigned parse_options(struct nctx *c, const struct ydoc_node *v)
{
	struct flow_node *fn = c->fn;
	char ex[64];
	char what[FLOW_DIGITS_MAX + 16];
	unsigned nsay = 0, nwords = 0;
	if (ydoc_node_type(v) != YDOC_MAP || ydoc_node_count(v) == 0) {
		nerr(c, v, "'options' must be a map of keys to node names");
		return 0;
	}
	size_t n = ydoc_node_count(v);
	if (n > FLOW_OPTIONS_MAX) {
		nerr(c, v, "more than %u options", FLOW_OPTIONS_MAX);
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
			ok = is_dtmf(key[j]);
		if (!ok) {
			nerr(c, k,
			     "option '%s' is not 1-%u DTMF keys (0-9, *, #, "
			     "A-D)",
			     excerpt(k, ex, sizeof(ex)), FLOW_DIGITS_MAX);
			continue;
		}
		fn->options[i].digits = dup_or_oom(c->L, key);
		snprintf(what, sizeof(what), "option '%s'", key);
		if (parse_option_value(c, what, (unsigned)i,
				       ydoc_map_value(v, i)))
			nsay++;
		nwords += fn->options[i].nwords;
	}
	/* One grammar holds every phrase of the menu. */
	if (nwords > STT_PHRASES_MAX)
		nerr(c, v, "more than %u spoken phrases in one menu",
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
			nerr(c, k, "option '%s' is longer than max_digits %u",
			     excerpt(k, ex, sizeof(ex)), fn->max_digits);
		else if (fn->terminator[0] && strchr(d, fn->terminator[0]))
			nerr(c, k, "option '%s' contains the terminator '%s'",
			     excerpt(k, ex, sizeof(ex)), fn->terminator);
	}
}

static bool get_terminator(struct nctx *c, const struct ydoc_node *v)
{
	const char *s = ydoc_scalar_text(v);
	if (ydoc_node_type(v) != YDOC_SCALAR || ydoc_scalar_len(v) != 1 ||
	    !is_dtmf(s[0])) {
		nerr(c, v,
		     "'terminator' must be one DTMF key (0-9, *, #, A-D)");
		return false;
	}
	c->fn->terminator[0] = s[0];
	c->fn->terminator[1] = '\0';
	return true;
}

static char *prompt_name(struct loader *L, const char *node, const char *suffix)
{
	char buf[FLOW_NAME_MAX + 16];
	snprintf(buf, sizeof(buf), "%s.%s", node, suffix);
	return dup_or_oom(L, buf);
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
			nerr(c, mk->input,
			     "unknown input '%s' (expected dtmf, speech or "
			     "both)",
			     excerpt(mk->input, ex, sizeof(ex)));
			return;
		}
		if (fn->input == FLOW_INPUT_DTMF && spoken) {
			nerr(c, mk->input, "%s never heard: input is dtmf",
			     mk->intents && mk->nsay ? "'intents' and 'say' "
						       "are"
			     : mk->intents	     ? "'intents' are"
						     : "'say' phrases are");
			return;
		}
		if (fn->input != FLOW_INPUT_DTMF && !spoken) {
			nerr(c, mk->input,
			     "input %s needs 'intents' or an option with "
			     "'say'",
			     s);
			return;
		}
	}
	if (!spoken) {
		for (unsigned i = 0; i < mk->nspeech_only; i++)
			nerr(c, mk->speech_only[i],
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
				nerr(c, ydoc_map_key(mk->opts, i),
				     "option '%s' is never chosen: it has no "
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
		if (key_is(k, "type")) {
			continue;
		} else if (key_is(k, "prompt")) {
			have_prompt = true;
			get_text(c, "prompt", v, &fn->text);
		} else if (key_is(k, "voice")) {
			get_voice(c->L, c, v, &fn->voice);
		} else if (key_is(k, "barge_in")) {
			get_bool(c, "barge_in", v, &fn->barge_in);
		} else if (key_is(k, "options")) {
			mk.opts = v;
			mk.nsay = parse_options(c, v);
		} else if (key_is(k, "input")) {
			mk.input = v;
		} else if (key_is(k, "intents")) {
			mk.intents = v;
			parse_routes(c, v);
		} else if (key_is(k, "confidence")) {
			speech_only = true;
			get_confidence(c, v);
		} else if (key_is(k, "on_low_confidence")) {
			speech_only = true;
			get_ref(c, "'on_low_confidence'", v, &fn->on_low);
		} else if (key_is(k, "stt")) {
			speech_only = true;
			get_stt(c, v);
		} else if (key_is(k, "end_silence")) {
			speech_only = true;
			get_duration_in(c, "end_silence", v, MIN_END_SILENCE_MS,
					MAX_END_SILENCE_MS,
					&fn->end_silence_ms);
		} else if (key_is(k, "max_speech")) {
			speech_only = true;
			get_duration_in(c, "max_speech", v, MIN_MAX_SPEECH_MS,
					MAX_MAX_SPEECH_MS, &fn->max_speech_ms);
		} else if (key_is(k, "timeout")) {
			get_duration(c, "timeout", v, &fn->timeout_ms);
		} else if (key_is(k, "interdigit_timeout")) {
			get_duration(c, "interdigit_timeout", v,
				     &fn->interdigit_ms);
		} else if (key_is(k, "max_digits")) {
			if (!get_uint(c, "max_digits", v, 1, FLOW_DIGITS_MAX,
				      &fn->max_digits))
				keys_checkable = false;
		} else if (key_is(k, "terminator")) {
			if (!get_terminator(c, v))
				keys_checkable = false;
		} else if (key_is(k, "retries")) {
			get_uint(c, "retries", v, 0, FLOW_RETRIES_MAX,
				 &fn->retries);
		} else if (key_is(k, "no_input")) {
			get_text(c, "no_input", v, &fn->no_input);
		} else if (key_is(k, "invalid")) {
			get_text(c, "invalid", v, &fn->invalid);
		} else if (key_is(k, "on_max_retries")) {
			have_max_retries = true;
			get_ref(c, "'on_max_retries'", v, &fn->on_max_retries);
		} else {
			unknown_field(c, k, "menu",
				      "prompt, voice, barge_in, input, "
				      "options, intents, confidence, "
				      "on_low_confidence, stt, end_silence, "
				      "max_speech, timeout, "
				      "interdigit_timeout, max_digits, "
				      "terminator, retries, no_input, "
				      "invalid or on_max_retries");
		}
		if (speech_only && mk.nspeech_only < SPEECH_FIELDS)
			mk.speech_only[mk.nspeech_only++] = k;
	}
	if (!have_prompt)
		missing(c, "prompt");
	/* A menu of intents alone has no keys to offer. */
	if (!mk.opts && !mk.intents)
		missing(c, "options");
	if (!have_max_retries)
		missing(c, "on_max_retries");
	if (mk.opts && fn->options && keys_checkable)
		check_options(c, mk.opts);
	check_input(c, &mk);
	if (fn->no_input)
		fn->no_input_name = prompt_name(c->L, fn->name, "no_input");
	if (fn->invalid)
		fn->invalid_name = prompt_name(c->L, fn->name, "invalid");
}

static void parse_transfer(struct nctx *c, const struct ydoc_node *m)
{
	bool have_target = false, have_on_fail = false;
	for (size_t i = 0; i < ydoc_node_count(m); i++) {
		const struct ydoc_node *k = ydoc_map_key(m, i);
		const struct ydoc_node *v = ydoc_map_value(m, i);
		if (key_is(k, "type")) {
			continue;
		} else if (key_is(k, "target")) {
			have_target = true;
			get_target(c, v);
		} else if (key_is(k, "on_fail")) {
			have_on_fail = true;
			get_ref(c, "'on_fail'", v, &c->fn->on_fail);
		} else {
			unknown_field(c, k, "transfer", "target or on_fail");
		}
	}
	if (!have_target)
		missing(c, "target");
	if (!have_on_fail)
		missing(c, "on_fail");
}

static void parse_hangup(struct nctx *c, const struct ydoc_node *m)
{
	c->fn->reason = hangup_reasons[0];
	for (size_t i = 0; i < ydoc_node_count(m); i++) {
		const struct ydoc_node *k = ydoc_map_key(m, i);
		if (key_is(k, "type"))
			continue;
		else if (key_is(k, "reason"))
			get_reason(c, ydoc_map_value(m, i));
		else
			unknown_field(c, k, "hangup", "reason");
	}
}

static void parse_node(struct loader *L, struct flow_node *fn,
		       const struct ydoc_node *m)
{
	struct nctx c = { L, fn };
	char ex[64];
	if (ydoc_node_type(m) != YDOC_MAP) {
		nerr(&c, m, "a node must be a map with a 'type'");
		return;
	}
	const struct ydoc_node *t = NULL;
	for (size_t i = 0; i < ydoc_node_count(m); i++) {
		if (key_is(ydoc_map_key(m, i), "type"))
			t = ydoc_map_value(m, i);
	}
	if (!t) {
		missing(&c, "type");
		return;
	}
	const char *type = ydoc_scalar_text(t);
	if (ydoc_node_type(t) != YDOC_SCALAR)
		type = "";
	if (!strcmp(type, "say")) {
		fn->type = FLOW_NODE_SAY;
		parse_say(&c, m);
	} else if (!strcmp(type, "menu")) {
		fn->type = FLOW_NODE_MENU;
		parse_menu(&c, m);
	} else if (!strcmp(type, "transfer")) {
		fn->type = FLOW_NODE_TRANSFER;
		parse_transfer(&c, m);
	} else if (!strcmp(type, "hangup")) {
		fn->type = FLOW_NODE_HANGUP;
		parse_hangup(&c, m);
	} else {
		nerr(&c, t,
		     "unknown type '%s' (expected say, menu, transfer or "
		     "hangup)",
		     excerpt(t, ex, sizeof(ex)));
	}
}

/* ---- the document ---- */

static void node_fini(struct flow_node *fn)
{
	free(fn->name);
	free(fn->text);
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
}

void flow_free(struct flow *f)
{
	if (!f)
		return;
	for (unsigned i = 0; i < f->nnodes; i++)
		node_fini(&f->nodes[i]);
	free(f->nodes);
	for (unsigned i = 0; i < f->nintents; i++) {
		free(f->intents[i].name);
		for (unsigned j = 0; j < f->intents[i].nexamples; j++)
			free(f->intents[i].examples[j]);
		free(f->intents[i].examples);
	}
	free(f->intents);
	nlu_model_destroy(f->nlu);
	free(f->name);
	free(f->file);
	free(f->voice);
	free(f);
}

/* First pass: every node's name, so transitions can point forward. */
static void collect_nodes(struct loader *L, const struct ydoc_node *nodes)
{
	struct flow *f = L->f;
	char ex[64];
	size_t n = ydoc_node_count(nodes);
	if (ydoc_node_type(nodes) != YDOC_MAP || n == 0) {
		err_at(L, nodes,
		       "'nodes' must be a map of node names to nodes");
		return;
	}
	if (n > FLOW_MAX_NODES) {
		err_at(L, nodes, "more than %u nodes", FLOW_MAX_NODES);
		return;
	}
	f->nodes = calloc(n, sizeof(*f->nodes));
	if (!f->nodes) {
		L->nerr++;
		L->oom = true;
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
		if (!valid_name(ydoc_scalar_text(k), ydoc_scalar_len(k))) {
			err_at(L, k,
			       "invalid node name '%s': use 1-64 letters, "
			       "digits, '_', '-' or '.'",
			       excerpt(k, ex, sizeof(ex)));
			continue;
		}
		fn->name = dup_or_oom(L, ydoc_scalar_text(k));
	}
	L->by_name = calloc(n, sizeof(*L->by_name));
	if (!L->by_name) {
		L->nerr++;
		L->oom = true;
		return;
	}
	for (unsigned i = 0; i < f->nnodes; i++) {
		if (f->nodes[i].name)
			L->by_name[L->nnamed++] = &f->nodes[i];
	}
	qsort(L->by_name, L->nnamed, sizeof(*L->by_name), cmp_node);
}

static void mark(const struct flow *f, unsigned i, unsigned char *seen,
		 unsigned *stack, unsigned *sp)
{
	if (i == NO_NODE || seen[i])
		return;
	seen[i] = 1;
	stack[(*sp)++] = i;
}

/* Every node must be reachable from start: an unreachable one is nearly
 * always a typo in a transition, so it is an error, not a warning. */
static void check_reachable(struct loader *L)
{
	struct flow *f = L->f;
	unsigned char *seen = calloc(f->nnodes, 1);
	unsigned *stack = calloc(f->nnodes, sizeof(*stack));
	unsigned sp = 0;
	if (!seen || !stack) {
		L->nerr++;
		L->oom = true;
		goto out;
	}
	mark(f, f->start, seen, stack, &sp);
	while (sp) {
		const struct flow_node *fn = &f->nodes[stack[--sp]];
		switch (fn->type) {
		case FLOW_NODE_SAY:
			mark(f, fn->next, seen, stack, &sp);
			break;
		case FLOW_NODE_MENU:
			for (unsigned j = 0; j < fn->noptions; j++)
				mark(f, fn->options[j].next, seen, stack, &sp);
			for (unsigned j = 0; j < fn->nroutes; j++)
				mark(f, fn->routes[j].next, seen, stack, &sp);
			mark(f, fn->on_max_retries, seen, stack, &sp);
			mark(f, fn->on_low, seen, stack, &sp);
			break;
		case FLOW_NODE_TRANSFER:
			mark(f, fn->on_fail, seen, stack, &sp);
			break;
		case FLOW_NODE_HANGUP:
		default: /* v2 nodes: the loader helper fills these in */
			break;
		}
	}
	for (unsigned i = 0; i < f->nnodes; i++) {
		if (!seen[i]) {
			L->nerr++;
			flow_errors_add(L->errs, L->file, f->nodes[i].line,
					f->nodes[i].col,
					"node '%s' is unreachable from start "
					"node '%s'",
					f->nodes[i].name,
					f->nodes[f->start].name);
		}
	}
out:
	free(seen);
	free(stack);
}

static void parse_root(struct loader *L, const struct ydoc_node *root)
{
	struct flow *f = L->f;
	char ex[64];
	if (!root || ydoc_node_type(root) != YDOC_MAP) {
		err_at(L, root,
		       "a flow must be a map with 'name', 'start' and 'nodes'");
		return;
	}
	const struct ydoc_node *name = NULL, *start = NULL, *nodes = NULL;
	const struct ydoc_node *intents_key = NULL, *intents = NULL;
	for (size_t i = 0; i < ydoc_node_count(root); i++) {
		const struct ydoc_node *k = ydoc_map_key(root, i);
		const struct ydoc_node *v = ydoc_map_value(root, i);
		if (key_is(k, "name")) {
			name = v;
		} else if (key_is(k, "start")) {
			start = v;
		} else if (key_is(k, "nodes")) {
			nodes = v;
		} else if (key_is(k, "voice")) {
			get_voice(L, NULL, v, &f->voice);
		} else if (key_is(k, "intents")) {
			intents_key = k;
			intents = v;
		} else {
			err_at(L, k,
			       "unknown field '%s' (expected name, start, "
			       "voice, intents or nodes)",
			       excerpt(k, ex, sizeof(ex)));
		}
	}
	/* Before the nodes: menus route to these intents. */
	if (intents)
		parse_intents(L, intents_key, intents);

	if (!name) {
		err_at(L, root, "missing 'name'");
	} else if (ydoc_node_type(name) != YDOC_SCALAR ||
		   !valid_name(ydoc_scalar_text(name), ydoc_scalar_len(name))) {
		err_at(L, name,
		       "invalid flow name '%s': use 1-64 letters, digits, "
		       "'_', '-' or '.'",
		       excerpt(name, ex, sizeof(ex)));
	} else {
		f->name = dup_or_oom(L, ydoc_scalar_text(name));
		f->name_line = ydoc_node_line(name);
		f->name_col = ydoc_node_col(name);
	}

	if (!nodes) {
		err_at(L, root, "missing 'nodes'");
		return;
	}
	collect_nodes(L, nodes);
	if (!f->nnodes)
		return;

	f->start = NO_NODE;
	if (!start) {
		err_at(L, root, "missing 'start'");
	} else {
		if (ydoc_node_type(start) == YDOC_SCALAR &&
		    strlen(ydoc_scalar_text(start)) == ydoc_scalar_len(start))
			f->start = find_node(L, ydoc_scalar_text(start));
		if (f->start == NO_NODE)
			err_at(L, start, "'start' names no node '%s'",
			       excerpt(start, ex, sizeof(ex)));
	}

	for (unsigned i = 0; i < f->nnodes; i++) {
		if (f->nodes[i].name)
			parse_node(L, &f->nodes[i], ydoc_map_value(nodes, i));
	}
	/* Reachability over a half-built graph would only add noise. */
	if (!L->nerr)
		check_reachable(L);
}

/* ---- built once the flow is valid ---- */

/* Below this many examples the classifier is not calibrated on held-out
 * examples: a tenth of a flow's few dozen examples is a handful the model
 * gets right, and fitting the temperature to them drives it to its lower
 * bound, so that every utterance (also "what's the weather") scores 1.00
 * and the menu's thresholds mean nothing. Uncalibrated (temperature 1),
 * paraphrases score about 0.9 and unrelated speech 0.3-0.6. */
#define CALIBRATE_MIN_EXAMPLES 500u
/* Up to this many bytes of examples a 2^16 feature space is plenty (a
 * model of ~0.3 MB instead of ~4 MB with the default 2^20). */
#define SMALL_FLOW_BYTES (64u * 1024u)

/* Training time grows with examples x intents x epochs (about 1 us each
 * at -O2). Up to this many examples x intents the default 30 epochs stay
 * under a second; above, the faster setting measured on BANKING77 (lr 0.3,
 * 12 epochs: 89.9% against 91.4%, docs/NLU.md) cuts a reload's wait by
 * 2.5 times. */
#define FULL_TRAIN_WORK 10000u

/* The classifier of a flow: nlu_train_cfg_default() (fixed seed, so a
 * flow always trains to the same model) adapted to the small data of
 * flows (docs/FLOWS.md, "Training"). */
static void flow_train_cfg(struct nlu_train_cfg *cfg, size_t nexamples,
			   size_t nintents, size_t bytes)
{
	nlu_train_cfg_default(cfg);
	if (nexamples < CALIBRATE_MIN_EXAMPLES)
		cfg->holdout = 0.0f;
	if (bytes <= SMALL_FLOW_BYTES)
		cfg->feat.dim_bits = 16;
	if (nexamples * nintents > FULL_TRAIN_WORK) {
		cfg->epochs = 12;
		cfg->lr = 0.3f;
	}
}

static int train_intents(struct flow *f)
{
	size_t n = 0;
	for (unsigned i = 0; i < f->nintents; i++)
		n += f->intents[i].nexamples;
	int err = -ENOMEM;
	char **text = calloc(n, sizeof(*text));
	uint32_t *label = calloc(n, sizeof(*label));
	char **labels = calloc(f->nintents, sizeof(*labels));
	if (!text || !label || !labels)
		goto out;
	size_t k = 0, bytes = 0;
	for (unsigned i = 0; i < f->nintents; i++) {
		labels[i] = f->intents[i].name;
		for (unsigned j = 0; j < f->intents[i].nexamples; j++) {
			text[k] = f->intents[i].examples[j];
			bytes += strlen(text[k]);
			label[k++] = i;
		}
	}
	/* Borrowed strings: the dataset is never destroyed. */
	struct nlu_dataset ds = { .text = text,
				  .label = label,
				  .n = n,
				  .labels = labels,
				  .nlabels = f->nintents };
	struct nlu_train_cfg cfg;
	flow_train_cfg(&cfg, n, f->nintents, bytes);
	err = nlu_model_train(&f->nlu, &ds, &cfg);
out:
	free(text);
	free(label);
	free(labels);
	return err;
}

/* What a speech menu's recognizer expects: its intents' examples (and its
 * options' phrases) as an LM for an open menu, else a grammar of its
 * phrases. */
static int build_menu_speech(const struct flow *f, struct flow_node *fn)
{
	size_t nwords = 0, n = 0;
	for (unsigned i = 0; i < fn->noptions; i++)
		nwords += fn->options[i].nwords;
	for (unsigned i = 0; i < fn->nroutes; i++)
		n += find_intent(f, fn->routes[i].intent)->nexamples;
	n += nwords;
	const char **list = calloc(n ? n : 1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	size_t k = 0;
	for (unsigned i = 0; i < fn->nroutes; i++) {
		const struct flow_intent *it =
			find_intent(f, fn->routes[i].intent);
		for (unsigned j = 0; j < it->nexamples; j++)
			list[k++] = it->examples[j];
	}
	for (unsigned i = 0; i < fn->noptions; i++) {
		for (unsigned j = 0; j < fn->options[i].nwords; j++)
			list[k++] = fn->options[i].words[j];
	}
	int err;
	if (fn->nroutes) {
		fn->stt_mode = STT_MODE_OPEN;
		err = stt_grammar_create(
			&fn->lm, STT_MODE_LM, list,
			k > LM_SENTENCES_MAX ? LM_SENTENCES_MAX : k, 0);
	} else {
		fn->stt_mode = STT_MODE_GRAMMAR;
		err = stt_grammar_create(&fn->grammar, STT_MODE_GRAMMAR, list,
					 k, 0);
	}
	free(list);
	return err;
}

static void build_speech(struct loader *L)
{
	struct flow *f = L->f;
	int err;
	if (f->nintents >= 2 && (err = train_intents(f))) {
		L->nerr++;
		L->oom = L->oom || err == -ENOMEM;
		flow_errors_add(L->errs, L->file, f->intents[0].line,
				f->intents[0].col,
				"cannot train the intent classifier: %s",
				strerror(-err));
	}
	for (unsigned i = 0; i < f->nnodes; i++) {
		struct flow_node *fn = &f->nodes[i];
		if (fn->type != FLOW_NODE_MENU ||
		    !(fn->input & FLOW_INPUT_SPEECH))
			continue;
		err = build_menu_speech(f, fn);
		if (!err)
			continue;
		L->nerr++;
		L->oom = L->oom || err == -ENOMEM;
		flow_errors_add(L->errs, L->file, fn->line, fn->col,
				"node '%s': cannot build its speech grammar: "
				"%s",
				fn->name, strerror(-err));
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

	struct loader L = { .file = file, .errs = errs };
	size_t first = errs ? errs->count : 0;
	L.f = calloc(1, sizeof(*L.f));
	if (!L.f) {
		ydoc_destroy(doc);
		return -ENOMEM;
	}
	atomic_init(&L.f->refs, 1);
	L.f->file = dup_or_oom(&L, file);
	parse_root(&L, ydoc_root(doc));
	if (!L.nerr)
		build_speech(&L);
	free(L.by_name);
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
