/* The flow runtime's state machine (flow/runtime.h): enters nodes, turns
 * them into actions, and decides from each action's result where to go:
 * retries and their prompts, menus by keys, words and intents, gather with
 * entities, classify with slot filling, set/switch/hours/goto, subflows,
 * handlers, the built-in escalation and the loop guard. No I/O, no clock:
 * time comes with the results. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "engines/nlu/classifier.h"
#include "engines/nlu/entities.h"
#include "engines/stt/stt.h"
#include "flow/runtime_int.h"

#define TEXT_RENDER_MAX (64u * 1024u) /* a rendered prompt or value */
#define SNAP_RATIO 0.34		      /* grammar snap distance (as v1) */

static const char *call_id(const struct flow_run *r)
{
	return r->call_id;
}

static const char *flow_of(struct flow_run *r)
{
	return rt_top(r)->flow->name;
}

/* ---- strings of the current action ---- */

static void pool_reset(struct flow_run *r)
{
	for (unsigned i = 0; i < r->nstrs; i++)
		free(r->strs[i]);
	r->nstrs = 0;
}

const char *rt_keep(struct flow_run *r, const char *s, size_t len)
{
	char *p;

	if (r->nstrs == r->cstrs) {
		unsigned cap = r->cstrs ? r->cstrs * 2 : 16;
		char **np = realloc(r->strs, cap * sizeof(*np));

		if (!np)
			return NULL;
		r->strs = np;
		r->cstrs = cap;
	}
	p = malloc(len + 1);
	if (!p)
		return NULL;
	if (len)
		memcpy(p, s, len);
	p[len] = '\0';
	r->strs[r->nstrs++] = p;
	return p;
}

static const char *keep_str(struct flow_run *r, const char *s)
{
	return rt_keep(r, s, strlen(s));
}

const char *rt_render(struct flow_run *r, const struct flow_tmpl *t,
		      const char *fallback, enum flow_tmpl_ctx ctx, size_t max)
{
	struct strbuf sb;
	const char *out;
	int err;

	if (!t)
		return fallback ? fallback : "";
	if (flow_tmpl_is_literal(t) && ctx == TMPL_CTX_TEXT)
		return flow_tmpl_literal(t);
	strbuf_init(&sb, max ? max : TEXT_RENDER_MAX);
	err = flow_tmpl_render(t, ctx, r->vars, &sb);
	if (err) {
		LOGW(call_id(r), "flow_template_failed",
		     "flow=%s node=%s err=%d", flow_of(r), rt_node(r)->name,
		     err);
		strbuf_fini(&sb);
		return NULL;
	}
	out = rt_keep(r, strbuf_str(&sb), sb.len);
	strbuf_fini(&sb);
	return out;
}

/* ---- variables ---- */

void rt_set(struct flow_run *r, const char *name, const char *value)
{
	int err = flow_vars_set(r->vars, name, value);

	if (err)
		LOGW(call_id(r), "flow_var_set_failed", "name=%s err=%d",
		     log_esc(name), err);
}

void rt_setf(struct flow_run *r, const char *name, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	rt_set(r, name, buf);
}

/* name "<base>.<suffix>" into buf; false when it does not fit. */
static bool join_name(char *buf, size_t cap, const char *base,
		      const char *suffix)
{
	int n = snprintf(buf, cap, "%s.%s", base, suffix);

	return n > 0 && (size_t)n < cap;
}

static void set_sub(struct flow_run *r, const char *base, const char *suffix,
		    const char *value)
{
	char name[FLOW_VAR_NAME_MAX + 1];

	if (join_name(name, sizeof(name), base, suffix))
		rt_set(r, name, value);
}

static void set_defaults(struct flow_run *r, const struct flow *f)
{
	for (unsigned i = 0; i < f->nvariables; i++) {
		const struct flow_kv *kv = &f->variables[i];

		if (flow_vars_get(r->vars, kv->name))
			continue;
		rt_set(r, kv->name,
		       kv->value ? flow_tmpl_source(kv->value) : "");
	}
}

/* ---- emitting ---- */

void rt_emit(struct flow_run *r, enum flow_act_type type, enum rt_wait wait)
{
	r->act.type = type;
	r->act.node = r->depth ? rt_node(r)->name : NULL;
	r->wait = wait;
	r->emitted = true;
}

static void emit_hangup(struct flow_run *r, const char *reason)
{
	memset(&r->act, 0, sizeof(r->act));
	r->act.hangup.reason = reason;
	r->hangup_reason = reason;
	rt_emit(r, FLOW_ACT_HANGUP, RW_HANGUP);
}

static void emit_end(struct flow_run *r, const char *reason)
{
	memset(&r->act, 0, sizeof(r->act));
	r->done = true;
	r->slot_on = false;
	if (!r->end_reason)
		r->end_reason = reason;
	r->act.type = FLOW_ACT_END;
	r->act.node = r->depth && rt_top(r)->node != FLOW_NO_NODE
			      ? rt_node(r)->name
			      : NULL;
	r->wait = RW_END;
	r->emitted = true;
}

void rt_jump(struct flow_run *r, unsigned next)
{
	r->want = next;
}

/* ---- handlers and errors ---- */

static void pop_frame(struct flow_run *r)
{
	struct rt_frame *t = rt_top(r);

	flow_deref(t->flow);
	t->flow = NULL;
	r->depth--;
}

/* Go to handler h of the innermost flow that has one (leaving the
 * subflows above it). */
static bool goto_handler(struct flow_run *r, enum flow_handler h)
{
	for (unsigned d = r->depth; d > 0; d--) {
		unsigned to = r->stack[d - 1].flow->handlers[h];

		if (to == FLOW_NO_NODE)
			continue;
		while (r->depth > d)
			pop_frame(r);
		rt_jump(r, to);
		return true;
	}
	return false;
}

static void escalate(struct flow_run *r, const char *reason)
{
	memset(&r->act, 0, sizeof(r->act));
	if (r->escalating) {
		emit_hangup(r, "flow_error");
		return;
	}
	LOGW(call_id(r), "flow_escalate", "flow=%s node=%s reason=%s",
	     flow_of(r), rt_node(r)->name, reason);
	r->escalating = true;
	snprintf(r->esc_reason, sizeof(r->esc_reason), "%s", reason);
	r->act.transfer.target = "agent";
	r->act.transfer.to_agent = true;
	r->act.transfer.context_keys[0] = "reason";
	r->act.transfer.context_values[0] = r->esc_reason;
	r->act.transfer.ncontext = 1;
	rt_emit(r, FLOW_ACT_TRANSFER, RW_TRANSFER);
}

void rt_error(struct flow_run *r, const char *reason)
{
	const char *node = rt_node(r)->name;

	LOGW(call_id(r), "flow_node_error", "flow=%s node=%s reason=%s",
	     flow_of(r), node, reason);
	rt_set(r, "error.reason", reason);
	rt_set(r, "error.node", node);
	if (r->in_err)
		r->err_count++;
	if (r->err_count <= 1 && goto_handler(r, FLOW_H_ERROR)) {
		r->in_err = true;
		return;
	}
	escalate(r, reason);
}

/* A node used up its tries (r->fail tells the last failure). */
static void retries_out(struct flow_run *r, unsigned on_max)
{
	if (on_max != FLOW_NO_NODE) {
		rt_jump(r, on_max);
		return;
	}
	if (goto_handler(r, r->fail == RF_NO_INPUT ? FLOW_H_NO_INPUT
						   : FLOW_H_NO_MATCH))
		return;
	if (goto_handler(r, FLOW_H_MAX_RETRIES))
		return;
	rt_error(r, "max_retries");
}

/* ---- turns ---- */

static const char *input_name(enum flow_input_kind k)
{
	switch (k) {
	case FLOW_IN_DTMF:
		return "dtmf";
	case FLOW_IN_SPEECH:
		return "speech";
	default:
		return "none";
	}
}

static const char *match_name(enum nlu_match m)
{
	switch (m) {
	case NLU_MATCH_HIGH:
		return "high";
	case NLU_MATCH_LOW:
		return "low";
	default:
		return "none";
	}
}

struct turn {
	const char *input;
	const char *transcript;
	const char *intent;
	float conf;
	const char *match;
	unsigned next;
};

static void note_turn(struct flow_run *r, const struct turn *t)
{
	struct flow_turn_info ti = {
		.node = rt_node(r)->name,
		.input = t->input,
		.transcript = t->transcript ? t->transcript : "",
		.intent = t->intent,
		.intent_confidence = t->conf,
		.match = t->match,
		.next = t->next != FLOW_NO_NODE
				? rt_top(r)->flow->nodes[t->next].name
				: NULL,
	};

	LOGD(call_id(r), "flow_turn",
	     "flow=%s node=%s input=%s intent=%s conf=%.3f match=%s next=%s",
	     flow_of(r), ti.node, ti.input, ti.intent ? ti.intent : "-",
	     (double)ti.intent_confidence, ti.match ? ti.match : "-",
	     ti.next ? ti.next : "-");
	if (r->env.on_turn)
		r->env.on_turn(r->env.cb_arg, &ti);
}

static const char *voice_of(struct flow_run *r, const struct flow_node *n)
{
	return n->voice ? n->voice : rt_top(r)->flow->voice;
}

static unsigned act_input(struct flow_run *r, unsigned input)
{
	unsigned in = 0;

	if (input & FLOW_INPUT_DTMF)
		in |= FLOW_ACT_IN_DTMF;
	if ((input & FLOW_INPUT_SPEECH) && r->env.speech)
		in |= FLOW_ACT_IN_SPEECH;
	/* A speech step on a channel that cannot hear still prompts and
	 * takes keys (v1 menus did the same). */
	return in ? in : FLOW_ACT_IN_DTMF;
}

/* The node's hints (gather) or grammar phrases (menu words),
 * comma-separated, for platform recognizers; NULL: none. */
static const char *hints_of(struct flow_run *r, const struct flow_node *n)
{
	const struct stt_grammar *g = n->grammar;
	struct strbuf sb;
	const char *out;
	size_t cnt;

	if (n->nhints)
		cnt = n->nhints;
	else if (g && stt_grammar_mode(g) == STT_MODE_GRAMMAR)
		cnt = stt_grammar_count(g);
	else
		return NULL;
	if (!cnt)
		return NULL;
	strbuf_init(&sb, TEXT_RENDER_MAX);
	for (size_t i = 0; i < cnt; i++) {
		const char *p =
			n->nhints ? n->hints[i] : stt_grammar_phrase(g, i);

		if ((i && strbuf_add(&sb, ",", 1)) || strbuf_addstr(&sb, p))
			break;
	}
	out = rt_keep(r, strbuf_str(&sb), sb.len);
	strbuf_fini(&sb);
	return out;
}

static bool add_prompt(struct flow_run *r, const char *name,
		       const struct flow_tmpl *t, const char *text,
		       const char *voice)
{
	unsigned i = r->act.gather.nprompts;
	const char *s;

	if (!t && !text)
		return true;
	s = rt_render(r, t, text, TMPL_CTX_TEXT, 0);
	if (!s)
		return false;
	if (i >= FLOW_ACT_PROMPTS_MAX)
		return true;
	r->act.gather.prompts[i].name = name;
	r->act.gather.prompts[i].text = s;
	r->act.gather.prompts[i].voice = voice;
	r->act.gather.nprompts++;
	return true;
}

static const char *retry_name(struct flow_run *r, const struct flow_node *n,
			      enum rt_fail kind)
{
	char buf[FLOW_NAME_MAX * 2 + 16];
	const char *given =
		kind == RF_NO_INPUT ? n->no_input_name : n->invalid_name;

	if (given)
		return given;
	snprintf(buf, sizeof(buf), "%s.%s", n->name,
		 kind == RF_NO_INPUT ? "no_input" : "invalid");
	return keep_str(r, buf);
}

/* The retry message for kind (said before the prompt again). */
static bool add_retry_prompt(struct flow_run *r, const struct flow_node *n,
			     enum rt_fail kind)
{
	const char *voice = voice_of(r, n);

	if (kind == RF_NO_INPUT && (n->no_input_tmpl || n->no_input))
		return add_prompt(r, retry_name(r, n, kind), n->no_input_tmpl,
				  n->no_input, voice);
	if (kind == RF_NO_MATCH && (n->invalid_tmpl || n->invalid))
		return add_prompt(r, retry_name(r, n, kind), n->invalid_tmpl,
				  n->invalid, voice);
	return true;
}

static void fill_listen(struct flow_run *r, const struct flow_node *n)
{
	struct flow_action *a = &r->act;

	a->gather.barge_in = n->barge_in;
	a->gather.input = act_input(r, n->input ? n->input : FLOW_INPUT_DTMF);
	a->gather.max_digits = n->max_digits ? n->max_digits : 1;
	a->gather.terminator = n->terminator;
	a->gather.timeout_ms = n->timeout_ms;
	a->gather.interdigit_ms = n->interdigit_ms;
	if (a->gather.input & FLOW_ACT_IN_SPEECH) {
		bool open = n->stt_mode == STT_MODE_OPEN;

		a->gather.stt_engines = n->stt_engines;
		a->gather.stt_mode = (int)n->stt_mode;
		a->gather.grammar = open ? NULL : n->grammar;
		a->gather.lm = open ? n->lm : NULL;
		a->gather.end_silence_ms = n->end_silence_ms;
		a->gather.max_speech_ms = n->max_speech_ms;
		a->gather.continue_set = n->continue_set;
		a->gather.continue_ms = n->continue_ms;
		a->gather.hints = hints_of(r, n);
	}
}

/* Ask the current menu/gather/classify node (again, after kind). */
static void ask(struct flow_run *r, enum rt_fail kind)
{
	const struct flow_node *n = rt_node(r);

	memset(&r->act, 0, sizeof(r->act));
	if (!add_retry_prompt(r, n, kind) ||
	    !add_prompt(r, n->name, n->tmpl, n->text, voice_of(r, n))) {
		rt_error(r, "template");
		return;
	}
	fill_listen(r, n);
	rt_emit(r, FLOW_ACT_GATHER, RW_INPUT);
}

static void try_again(struct flow_run *r, enum rt_fail kind)
{
	const struct flow_node *n = rt_node(r);

	r->fail = kind;
	r->attempts++;
	LOGD(call_id(r), "flow_retry", "flow=%s node=%s kind=%s try=%u",
	     flow_of(r), n->name, kind == RF_NO_INPUT ? "no_input" : "invalid",
	     r->attempts);
	if (r->attempts > n->retries)
		retries_out(r, n->on_max_retries);
	else
		ask(r, kind);
}

/* ---- entities ---- */

struct ent_val {
	char value[NLU_ENTITY_VALUE_MAX];
	char unit[8];
};

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static bool entity_accepts(int want, enum nlu_entity_type got,
			   const char *value)
{
	if ((int)got == want)
		return true;
	switch (want) {
	case NLU_ENTITY_DIGITS: /* any spoken digit run */
		return got == NLU_ENTITY_ACCOUNT || got == NLU_ENTITY_CARD ||
		       got == NLU_ENTITY_CARD_INVALID ||
		       (got == NLU_ENTITY_NUMBER && all_digits(value));
	case NLU_ENTITY_NUMBER:
		return got == NLU_ENTITY_DIGITS;
	default:
		return false;
	}
}

static void entity_opts(const struct flow_run *r, struct nlu_entities_opts *o)
{
	time_t t = (time_t)(r->now_ms / 1000);
	struct tm tm;

	memset(o, 0, sizeof(*o));
	if (r->now_ms > 0 && gmtime_r(&t, &tm)) {
		o->ref_year = tm.tm_year + 1900;
		o->ref_month = tm.tm_mon + 1;
		o->ref_day = tm.tm_mday;
	}
}

/* The first entity of type want in speech text. */
static bool entity_from_speech(const struct flow_run *r, int want,
			       const char *text, struct ent_val *out)
{
	struct nlu_entity e[16];
	struct nlu_entities_opts o;
	size_t n = 0;

	if (!text || !*text)
		return false;
	entity_opts(r, &o);
	if (nlu_entities_extract(text, &o, e, 16, &n))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!entity_accepts(want, e[i].type, e[i].value))
			continue;
		snprintf(out->value, sizeof(out->value), "%s", e[i].value);
		snprintf(out->unit, sizeof(out->unit), "%s", e[i].unit);
		return true;
	}
	return false;
}

/* Keys as an entity: the digit-like ones, plus 1/2 for confirm. */
static bool entity_from_dtmf(const struct flow_run *r, int want, const char *d,
			     struct ent_val *out)
{
	size_t len = strlen(d);

	memset(out, 0, sizeof(*out));
	if (want == NLU_ENTITY_CONFIRM) {
		if (strcmp(d, "1") && strcmp(d, "2"))
			return false;
		snprintf(out->value, sizeof(out->value), "%s",
			 d[0] == '1' ? "yes" : "no");
		return true;
	}
	if (!all_digits(d) || len >= sizeof(out->value))
		return false;
	switch (want) {
	case NLU_ENTITY_DIGITS:
	case NLU_ENTITY_NUMBER:
	case NLU_ENTITY_ORDINAL:
		break;
	case NLU_ENTITY_ACCOUNT:
		if (len < 6 || len > 12)
			return false;
		break;
	case NLU_ENTITY_CARD:
		if (len < 13 || len > 19 || !nlu_luhn_valid(d))
			return false;
		break;
	case NLU_ENTITY_PHONE:
		return entity_from_speech(r, want, d, out);
	default:
		return false;
	}
	memcpy(out->value, d, len + 1);
	return true;
}

static bool entity_keys(int entity)
{
	return entity == NLU_ENTITY_DIGITS || entity == NLU_ENTITY_ACCOUNT ||
	       entity == NLU_ENTITY_PHONE || entity == NLU_ENTITY_CARD ||
	       entity == NLU_ENTITY_NUMBER || entity == NLU_ENTITY_CONFIRM;
}

/* ---- NLU ---- */

struct pick {
	const char *intent; /* borrowed (model or result), NULL: none */
	float conf;
	enum nlu_match level;
};

static const struct nlu_model *model_of(struct flow_run *r,
					const struct flow_node *n)
{
	if (n->model_nlu)
		return n->model_nlu;
	if (n->model && r->env.find_model)
		return r->env.find_model(r->env.model_arg, n->model);
	return rt_top(r)->flow->nlu;
}

/* The platform's intent when it gave one, else the classifier's. */
static void pick_intent(const struct nlu_model *m, const char *text,
			const struct flow_result *res, float high, float low,
			struct pick *p)
{
	struct nlu_result nr;

	memset(p, 0, sizeof(*p));
	if (res && res->input.intent && res->input.intent[0]) {
		p->intent = res->input.intent;
		p->conf = res->input.intent_confidence;
	} else if (m && text && *text && !nlu_classify(m, text, &nr) && nr.n) {
		p->intent = nr.top[0].intent;
		p->conf = nr.top[0].confidence;
	}
	p->level = p->intent ? nlu_match_level(p->conf, high, low)
			     : NLU_MATCH_NONE;
}

static void set_intent_vars(struct flow_run *r, const struct pick *p,
			    enum nlu_match level)
{
	rt_set(r, "intent", level != NLU_MATCH_NONE ? p->intent : "");
	rt_setf(r, "intent.confidence", "%.2f", (double)p->conf);
	rt_set(r, "intent.match", match_name(level));
}

static const struct flow_route *route_of(const struct flow_node *n,
					 const char *intent)
{
	for (unsigned i = 0; intent && i < n->nroutes; i++)
		if (!strcmp(n->routes[i].intent, intent))
			return &n->routes[i];
	return NULL;
}

static unsigned option_by_digits(const struct flow_node *n, const char *d)
{
	for (unsigned i = 0; i < n->noptions; i++)
		if (n->options[i].digits && !strcmp(n->options[i].digits, d))
			return n->options[i].next;
	return FLOW_NO_NODE;
}

static unsigned option_by_words(const struct flow_node *n, const char *text)
{
	if (!text || !*text)
		return FLOW_NO_NODE;
	for (unsigned i = 0; i < n->noptions; i++)
		for (unsigned w = 0; w < n->options[i].nwords; w++)
			if (!strcmp(n->options[i].words[w], text))
				return n->options[i].next;
	return FLOW_NO_NODE;
}

/* A grammar-mode node: the transcript snapped to one of its phrases. */
static const char *snap(const struct flow_node *n, const char *norm)
{
	double conf = 0;

	if (n->stt_mode != STT_MODE_GRAMMAR || !n->grammar || !*norm)
		return NULL;
	return stt_grammar_snap(n->grammar, norm, SNAP_RATIO, &conf);
}

/* ---- input nodes ---- */

struct input {
	enum flow_input_kind kind; /* NO_INPUT also for empty answers */
	const char *digits;	   /* "" unless DTMF */
	const char *transcript;	   /* raw, "" unless SPEECH */
	char norm[STT_TEXT_MAX + 1];
	float stt_conf;
	const struct flow_result *res;
};

static void read_input(struct flow_run *r, const struct flow_result *res,
		       struct input *in)
{
	memset(in, 0, sizeof(*in));
	in->res = res;
	in->digits = "";
	in->transcript = "";
	in->kind = FLOW_IN_NO_INPUT;
	if (res->input.kind == FLOW_IN_DTMF && res->input.digits &&
	    res->input.digits[0]) {
		in->kind = FLOW_IN_DTMF;
		in->digits = res->input.digits;
	} else if (res->input.kind == FLOW_IN_SPEECH && res->input.transcript) {
		size_t len = strlen(res->input.transcript);
		int n;

		/* Normalizing never lengthens text: cut an over-long
		 * transcript to what the buffer holds. */
		if (len >= sizeof(in->norm))
			len = sizeof(in->norm) - 1;
		n = stt_text_normalize(res->input.transcript, len, in->norm,
				       sizeof(in->norm));
		if (n > 0) {
			in->kind = FLOW_IN_SPEECH;
			in->transcript = res->input.transcript;
			in->stt_conf = res->input.stt_confidence;
		} else {
			in->norm[0] = '\0';
		}
	}
	if (res->input.kind == FLOW_IN_ERROR)
		LOGW(call_id(r), "flow_input_failed", "flow=%s node=%s",
		     flow_of(r), rt_node(r)->name);

	rt_set(r, "last.input", input_name(in->kind));
	rt_set(r, "last.digits", in->digits);
	rt_set(r, "last.transcript", in->transcript);
	if (in->kind == FLOW_IN_SPEECH)
		rt_setf(r, "last.confidence", "%.2f", (double)in->stt_conf);
	else
		rt_set(r, "last.confidence", "");
	rt_set(r, "last",
	       in->kind == FLOW_IN_DTMF ? in->digits : in->transcript);
	if (in->kind != FLOW_IN_NO_INPUT) {
		/* The caller answered: the flow moves again. */
		r->in_err = false;
		r->err_count = 0;
	}
}

static void turn_of(const struct input *in, struct turn *t)
{
	memset(t, 0, sizeof(*t));
	t->input = input_name(in->kind);
	t->transcript = in->transcript;
	t->match = "none";
	t->next = FLOW_NO_NODE;
}

static void menu_input(struct flow_run *r, const struct flow_node *n,
		       const struct input *in)
{
	struct turn t;
	unsigned next = FLOW_NO_NODE;

	turn_of(in, &t);
	if (in->kind == FLOW_IN_DTMF) {
		next = option_by_digits(n, in->digits);
	} else if (in->kind == FLOW_IN_SPEECH) {
		const char *phrase = snap(n, in->norm);

		next = option_by_words(n, phrase ? phrase : in->norm);
		if (next == FLOW_NO_NODE &&
		    (n->nroutes ||
		     (in->res->input.intent && in->res->input.intent[0]))) {
			struct pick p;
			const struct flow_route *rt;

			pick_intent(rt_top(r)->flow->nlu, in->transcript,
				    in->res, n->conf_high, n->conf_low, &p);
			rt = route_of(n, p.intent);
			if (!rt)
				p.level = NLU_MATCH_NONE;
			t.intent = p.intent;
			t.conf = p.conf;
			if (p.intent)
				set_intent_vars(r, &p, p.level);
			if (p.level == NLU_MATCH_HIGH)
				next = rt->next;
			else if (p.level == NLU_MATCH_LOW)
				next = n->on_low;
			t.match = match_name(p.level);
		}
	}
	if (next != FLOW_NO_NODE && !t.intent)
		t.match = "high";
	t.next = next;
	note_turn(r, &t);
	if (next != FLOW_NO_NODE)
		rt_jump(r, next);
	else
		try_again(r, in->kind == FLOW_IN_NO_INPUT ? RF_NO_INPUT
							  : RF_NO_MATCH);
}

static void gather_input(struct flow_run *r, const struct flow_node *n,
			 const struct input *in)
{
	struct ent_val ev = { 0 };
	const char *value = NULL;
	unsigned min = n->min_digits ? n->min_digits : 1;
	struct turn t;

	turn_of(in, &t);
	if (in->kind == FLOW_IN_DTMF) {
		if (strlen(in->digits) < min)
			value = NULL;
		else if (n->entity < 0)
			value = in->digits;
		else if (entity_from_dtmf(r, n->entity, in->digits, &ev))
			value = ev.value;
	} else if (in->kind == FLOW_IN_SPEECH) {
		const char *phrase = snap(n, in->norm);

		if (n->stt_mode == STT_MODE_GRAMMAR && n->grammar) {
			value = phrase;
			if (value && n->entity >= 0)
				value = entity_from_speech(r, n->entity, value,
							   &ev)
						? ev.value
						: NULL;
		} else if (n->entity >= 0) {
			if (entity_from_speech(r, n->entity, in->transcript,
					       &ev))
				value = ev.value;
		} else {
			value = in->transcript;
		}
	}
	if (!value) {
		note_turn(r, &t);
		try_again(r, in->kind == FLOW_IN_NO_INPUT ? RF_NO_INPUT
							  : RF_NO_MATCH);
		return;
	}
	if (n->into) {
		rt_set(r, n->into, value);
		set_sub(r, n->into, "input", input_name(in->kind));
		set_sub(r, n->into, "original",
			in->kind == FLOW_IN_DTMF ? in->digits : in->transcript);
		if (in->kind == FLOW_IN_SPEECH) {
			char c[16];

			snprintf(c, sizeof(c), "%.2f", (double)in->stt_conf);
			set_sub(r, n->into, "confidence", c);
		} else {
			set_sub(r, n->into, "confidence", "");
		}
		if (n->entity == NLU_ENTITY_MONEY)
			set_sub(r, n->into, "unit", ev.unit);
	}
	t.match = "high";
	t.next = n->next;
	note_turn(r, &t);
	rt_jump(r, n->next);
}

/* ---- slots ---- */

static const struct flow_slot *cur_slot(struct flow_run *r)
{
	const struct flow *f = rt_top(r)->flow;

	return &f->intents[r->slot_intent].slots[r->slot_idx];
}

static bool slot_empty(struct flow_run *r, const struct flow_slot *s)
{
	char name[FLOW_VAR_NAME_MAX + 1];
	const char *v;

	if (!join_name(name, sizeof(name), "slots", s->name))
		return false;
	v = flow_vars_get(r->vars, name);
	return !v || !*v;
}

static void set_slot(struct flow_run *r, const struct flow_slot *s,
		     const struct ent_val *ev, const char *original)
{
	char name[FLOW_VAR_NAME_MAX + 1];

	if (!join_name(name, sizeof(name), "slots", s->name))
		return;
	rt_set(r, name, ev->value);
	set_sub(r, name, "original", original);
	if (ev->unit[0])
		set_sub(r, name, "unit", ev->unit);
}

/* The next required, still empty slot from index from; -1: none. */
static int next_slot(struct flow_run *r, unsigned from)
{
	const struct flow_intent *fi =
		&rt_top(r)->flow->intents[r->slot_intent];

	for (unsigned i = from; i < fi->nslots; i++)
		if (fi->slots[i].required && slot_empty(r, &fi->slots[i]))
			return (int)i;
	return -1;
}

static void ask_slot(struct flow_run *r, enum rt_fail kind)
{
	const struct flow_node *n = rt_node(r);
	const struct flow_slot *s = cur_slot(r);
	char name[FLOW_NAME_MAX * 3];
	const char *pname;

	memset(&r->act, 0, sizeof(r->act));
	snprintf(name, sizeof(name), "%s.%s", n->name, s->name);
	pname = keep_str(r, name);
	if (!pname || !add_retry_prompt(r, n, kind) ||
	    !add_prompt(r, pname, s->prompt, NULL, voice_of(r, n))) {
		rt_error(r, "template");
		return;
	}
	fill_listen(r, n);
	r->act.gather.input = act_input(
		r, FLOW_INPUT_SPEECH |
			   (entity_keys(s->entity) ? FLOW_INPUT_DTMF : 0));
	r->act.gather.max_digits = FLOW_DIGITS_MAX;
	r->act.gather.terminator = "#";
	/* Free speech: the node's grammar (its options) does not apply. */
	r->act.gather.stt_mode = STT_MODE_OPEN;
	r->act.gather.grammar = NULL;
	r->act.gather.hints = NULL;
	rt_emit(r, FLOW_ACT_GATHER, RW_INPUT);
}

static void fill_or_branch(struct flow_run *r, unsigned from)
{
	int s = next_slot(r, from);

	if (s < 0) {
		r->slot_on = false;
		rt_jump(r, r->slot_next);
		return;
	}
	r->slot_on = true;
	r->slot_idx = (unsigned)s;
	r->slot_attempts = 0;
	ask_slot(r, RF_NONE);
}

/* Branch to next, filling intent's required slots first. */
static void branch(struct flow_run *r, const struct flow_node *n, unsigned next,
		   const char *intent, const char *text)
{
	const struct flow *f = rt_top(r)->flow;
	const struct flow_intent *fi = NULL;

	if (n->type == FLOW_NODE_CLASSIFY && n->fill_slots && intent)
		for (unsigned i = 0; i < f->nintents; i++)
			if (!strcmp(f->intents[i].name, intent))
				fi = &f->intents[i];
	if (!fi || !fi->nslots) {
		rt_jump(r, next);
		return;
	}
	for (unsigned i = 0; i < fi->nslots; i++) {
		const struct flow_slot *s = &fi->slots[i];
		char name[FLOW_VAR_NAME_MAX + 1];
		struct ent_val ev;

		if (!join_name(name, sizeof(name), "slots", s->name))
			continue;
		flow_vars_unset_prefix(r->vars, name);
		if (entity_from_speech(r, s->entity, text, &ev))
			set_slot(r, s, &ev, text);
	}
	r->slot_intent = (unsigned)(fi - f->intents);
	r->slot_next = next;
	fill_or_branch(r, 0);
}

static void slot_input(struct flow_run *r, const struct flow_node *n,
		       const struct input *in)
{
	const struct flow_slot *s = cur_slot(r);
	struct ent_val ev = { 0 };
	bool ok = false;
	struct turn t;

	turn_of(in, &t);
	if (in->kind == FLOW_IN_DTMF)
		ok = entity_from_dtmf(r, s->entity, in->digits, &ev);
	else if (in->kind == FLOW_IN_SPEECH)
		ok = entity_from_speech(r, s->entity, in->transcript, &ev);
	if (ok) {
		set_slot(r, s, &ev,
			 in->kind == FLOW_IN_DTMF ? in->digits
						  : in->transcript);
		t.match = "high";
		if (next_slot(r, r->slot_idx + 1) < 0)
			t.next = r->slot_next;
		note_turn(r, &t);
		fill_or_branch(r, r->slot_idx + 1);
		return;
	}
	note_turn(r, &t);
	r->fail = in->kind == FLOW_IN_NO_INPUT ? RF_NO_INPUT : RF_NO_MATCH;
	r->slot_attempts++;
	if (r->slot_attempts > s->retries) {
		r->slot_on = false;
		retries_out(r, n->on_max_retries);
		return;
	}
	ask_slot(r, r->fail);
}

/* ---- classify ---- */

/* Decide a classify node from text (the prompt's answer or `text`). */
static void classify_decide(struct flow_run *r, const struct flow_node *n,
			    const char *text, const struct flow_result *res,
			    const char *input, bool prompted)
{
	const struct nlu_model *m = model_of(r, n);
	unsigned next = FLOW_NO_NODE;
	struct turn t = { .input = input, .transcript = text, .match = "none" };
	struct pick p;

	if (!m && !(res && res->input.intent && res->input.intent[0])) {
		rt_error(r, "no_model");
		return;
	}
	pick_intent(m, text, res, n->conf_high, n->conf_low, &p);
	if (p.level == NLU_MATCH_HIGH) {
		const struct flow_route *rt = route_of(n, p.intent);

		next = rt ? rt->next : n->on_high;
		if (next == FLOW_NO_NODE)
			p.level = NLU_MATCH_NONE;
	} else if (p.level == NLU_MATCH_LOW) {
		next = n->on_low;
		if (next == FLOW_NO_NODE)
			p.level = NLU_MATCH_NONE;
	}
	set_intent_vars(r, &p, p.level);
	t.intent = p.intent;
	t.conf = p.conf;
	t.match = match_name(p.level);
	if (next == FLOW_NO_NODE)
		next = n->on_no_match;
	t.next = next;
	note_turn(r, &t);
	if (next != FLOW_NO_NODE) {
		branch(r, n, next, p.level == NLU_MATCH_HIGH ? p.intent : NULL,
		       text);
		return;
	}
	if (prompted) {
		try_again(r, RF_NO_MATCH);
		return;
	}
	r->fail = RF_NO_MATCH;
	retries_out(r, n->on_max_retries);
}

static void classify_input(struct flow_run *r, const struct flow_node *n,
			   const struct input *in)
{
	struct turn t;

	if (in->kind == FLOW_IN_DTMF) {
		unsigned next = option_by_digits(n, in->digits);

		turn_of(in, &t);
		t.next = next;
		if (next != FLOW_NO_NODE)
			t.match = "high";
		note_turn(r, &t);
		if (next != FLOW_NO_NODE)
			rt_jump(r, next);
		else
			try_again(r, RF_NO_MATCH);
		return;
	}
	if (in->kind == FLOW_IN_NO_INPUT) {
		turn_of(in, &t);
		note_turn(r, &t);
		try_again(r, RF_NO_INPUT);
		return;
	}
	classify_decide(r, n, in->transcript, in->res, "speech", true);
}

static void classify_text(struct flow_run *r, const struct flow_node *n)
{
	const char *text;

	if (n->classify_text)
		text = rt_render(r, n->classify_text, NULL, TMPL_CTX_TEXT, 0);
	else
		text = flow_vars_get(r->vars, "last.transcript");
	if (!text) {
		rt_error(r, n->classify_text ? "template" : "no_text");
		return;
	}
	classify_decide(r, n, text, NULL, "text", false);
}

static void on_input(struct flow_run *r, const struct flow_result *res)
{
	const struct flow_node *n = rt_node(r);
	struct input *in = malloc(sizeof(*in));

	r->hops = 0;
	if (!in) {
		emit_hangup(r, "flow_error");
		return;
	}
	read_input(r, res, in);
	if (r->slot_on)
		slot_input(r, n, in);
	else if (n->type == FLOW_NODE_MENU)
		menu_input(r, n, in);
	else if (n->type == FLOW_NODE_GATHER)
		gather_input(r, n, in);
	else
		classify_input(r, n, in);
	free(in);
}

/* ---- other nodes ---- */

static bool num_of(const char *s, double *out)
{
	char *end;
	double d;

	if (!*s || strpbrk(s, "xXnNiI"))
		return false; /* no hex, nan or inf: decimal numbers only */
	d = strtod(s, &end);
	if (end == s || *end || !isfinite(d))
		return false;
	*out = d;
	return true;
}

static bool ends_with_ci(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcasecmp(s + a - b, suffix);
}

static bool contains_ci(const char *s, const char *needle)
{
	size_t nl = strlen(needle);

	for (; *s; s++)
		if (!strncasecmp(s, needle, nl))
			return true;
	return nl == 0;
}

static bool case_matches(enum flow_cmp op, const char *v, const char *o)
{
	double a, b;

	switch (op) {
	case FLOW_CMP_EQUALS:
		return !strcasecmp(v, o);
	case FLOW_CMP_NOT_EQUALS:
		return strcasecmp(v, o) != 0;
	case FLOW_CMP_CONTAINS:
		return contains_ci(v, o);
	case FLOW_CMP_STARTS_WITH:
		return !strncasecmp(v, o, strlen(o));
	case FLOW_CMP_ENDS_WITH:
		return ends_with_ci(v, o);
	case FLOW_CMP_EMPTY:
		return (*v == '\0') == !strcasecmp(o, "true");
	default:
		break;
	}
	if (!num_of(v, &a) || !num_of(o, &b))
		return false;
	switch (op) {
	case FLOW_CMP_GT:
		return a > b;
	case FLOW_CMP_GE:
		return a >= b;
	case FLOW_CMP_LT:
		return a < b;
	case FLOW_CMP_LE:
		return a <= b;
	default:
		return false;
	}
}

static void switch_enter(struct flow_run *r, const struct flow_node *n)
{
	const char *v = rt_render(r, n->value, NULL, TMPL_CTX_TEXT, 0);

	if (!v) {
		rt_error(r, "template");
		return;
	}
	for (unsigned i = 0; i < n->ncases; i++) {
		const struct flow_case *c = &n->cases[i];
		const char *o =
			rt_render(r, c->operand, NULL, TMPL_CTX_TEXT, 0);

		if (!o) {
			rt_error(r, "template");
			return;
		}
		if (case_matches(c->op, v, o)) {
			rt_jump(r, c->next);
			return;
		}
	}
	rt_jump(r, n->on_default);
}

static void set_enter(struct flow_run *r, const struct flow_node *n)
{
	for (unsigned i = 0; i < n->nkvs; i++) {
		const char *v =
			rt_render(r, n->kvs[i].value, NULL, TMPL_CTX_TEXT, 0);

		if (!v) {
			rt_error(r, "template");
			return;
		}
		rt_set(r, n->kvs[i].name, v);
	}
	rt_jump(r, n->next);
}

static void hours_enter(struct flow_run *r, const struct flow_node *n)
{
	int64_t ms = r->now_ms + (int64_t)n->utc_offset_min * 60000;
	int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	time_t t = (time_t)secs;
	struct tm tm;
	char date[48];
	unsigned min;
	bool open = false;

	if (!gmtime_r(&t, &tm)) {
		rt_error(r, "clock");
		return;
	}
	snprintf(date, sizeof(date), "%04d-%02d-%02d", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday);
	min = (unsigned)(tm.tm_hour * 60 + tm.tm_min);
	for (unsigned i = 0; i < n->nspans && !open; i++) {
		const struct flow_hours_span *s = &n->spans[i];

		open = s->wday == tm.tm_wday && min >= s->from_min &&
		       min < s->to_min;
	}
	for (unsigned i = 0; i < n->nclosed && open; i++)
		if (!strcmp(n->closed_dates[i], date))
			open = false;
	LOGD(call_id(r), "flow_hours", "flow=%s node=%s date=%s min=%u open=%d",
	     flow_of(r), n->name, date, min, open);
	rt_jump(r, open ? n->on_in_hours : n->on_out_of_hours);
}

/* A transfer target rendered at run time: agent, or a URI without
 * spaces or <>" and a known scheme. */
static bool target_ok(const char *t)
{
	static const char *const schemes[] = { "sip:", "sips:", "tel:",
					       "queue:" };
	size_t len = strlen(t);

	if (!strcmp(t, "agent"))
		return true;
	if (len > FLOW_TARGET_MAX)
		return false;
	for (const char *p = t; *p; p++)
		if ((unsigned char)*p <= ' ' || strchr("<>\"", *p) ||
		    *p == 0x7f)
			return false;
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t sl = strlen(schemes[i]);

		if (!strncasecmp(t, schemes[i], sl) && len > sl)
			return true;
	}
	return false;
}

static void transfer_failed(struct flow_run *r, const struct flow_node *n)
{
	if (n->on_fail != FLOW_NO_NODE)
		rt_jump(r, n->on_fail);
	else
		rt_error(r, "transfer");
}

static void transfer_enter(struct flow_run *r, const struct flow_node *n)
{
	struct flow_action *a = &r->act;
	const char *target;

	memset(a, 0, sizeof(*a));
	if (n->target_tmpl) {
		const char *s = rt_render(r, n->target_tmpl, NULL,
					  TMPL_CTX_TEXT, FLOW_TARGET_MAX * 4);
		size_t b = 0, e;

		if (!s) {
			rt_error(r, "template");
			return;
		}
		e = strlen(s);
		while (b < e && isspace((unsigned char)s[b]))
			b++;
		while (e > b && isspace((unsigned char)s[e - 1]))
			e--;
		target = rt_keep(r, s + b, e - b);
		if (!target || !target_ok(target)) {
			LOGW(call_id(r), "flow_transfer_bad_target",
			     "flow=%s node=%s target=%s", flow_of(r), n->name,
			     log_esc(target ? target : ""));
			rt_set(r, "transfer.status", "");
			transfer_failed(r, n);
			return;
		}
	} else {
		target = n->to_agent ? "agent" : n->target;
	}
	a->transfer.target = target;
	a->transfer.to_agent = !strcmp(target ? target : "", "agent");
	for (unsigned i = 0; i < n->ncontext && i < FLOW_ACT_CONTEXT_MAX; i++) {
		const char *v = rt_render(r, n->context[i].value, NULL,
					  TMPL_CTX_TEXT, 0);

		if (!v) {
			rt_error(r, "template");
			return;
		}
		a->transfer.context_keys[i] = n->context[i].name;
		a->transfer.context_values[i] = v;
		a->transfer.ncontext++;
	}
	rt_emit(r, FLOW_ACT_TRANSFER, RW_TRANSFER);
}

static void on_transferred(struct flow_run *r, const struct flow_result *res)
{
	bool ok = res->transferred.ok && !res->err;

	if (res->transferred.status)
		rt_setf(r, "transfer.status", "%d", res->transferred.status);
	else
		rt_set(r, "transfer.status", "");
	if (ok) {
		emit_end(r, "transferred");
		return;
	}
	if (r->escalating) {
		LOGW(call_id(r), "flow_escalation_failed", "status=%d err=%d",
		     res->transferred.status, res->err);
		emit_hangup(r, "flow_error");
		return;
	}
	LOGW(call_id(r), "flow_transfer_failed",
	     "flow=%s node=%s status=%d err=%d", flow_of(r), rt_node(r)->name,
	     res->transferred.status, res->err);
	transfer_failed(r, rt_node(r));
}

static void say_enter(struct flow_run *r, const struct flow_node *n)
{
	const char *text = rt_render(r, n->tmpl, n->text, TMPL_CTX_TEXT, 0);

	if (!text) {
		rt_error(r, "template");
		return;
	}
	memset(&r->act, 0, sizeof(r->act));
	r->act.say.name = n->name;
	r->act.say.text = text;
	r->act.say.voice = voice_of(r, n);
	r->act.say.barge_in = n->barge_in;
	rt_emit(r, FLOW_ACT_SAY, RW_PLAYED);
}

static void play_enter(struct flow_run *r, const struct flow_node *n)
{
	const char *text = NULL;

	if (n->tmpl || n->text) {
		text = rt_render(r, n->tmpl, n->text, TMPL_CTX_TEXT, 0);
		if (!text) {
			rt_error(r, "template");
			return;
		}
	}
	memset(&r->act, 0, sizeof(r->act));
	if (r->env.audio && n->clip) {
		r->act.play.name = n->name;
		r->act.play.clip = n->clip;
		r->act.play.file = n->file;
		r->act.play.text = text;
		r->act.play.barge_in = n->barge_in;
		rt_emit(r, FLOW_ACT_PLAY, RW_PLAYED);
	} else if (text) {
		r->act.say.name = n->name;
		r->act.say.text = text;
		r->act.say.voice = voice_of(r, n);
		r->act.say.barge_in = n->barge_in;
		rt_emit(r, FLOW_ACT_SAY, RW_PLAYED);
	} else {
		rt_jump(r, n->next);
	}
}

static void subflow_enter(struct flow_run *r, const struct flow_node *n)
{
	struct flow *f;

	if (r->depth > FLOW_RUN_MAX_DEPTH) {
		rt_error(r, "depth");
		return;
	}
	f = r->env.find_flow && n->subflow
		    ? r->env.find_flow(r->env.find_arg, n->subflow)
		    : NULL;
	if (!f) {
		LOGW(call_id(r), "flow_subflow_missing",
		     "flow=%s node=%s sub=%s", flow_of(r), n->name,
		     n->subflow ? n->subflow : "-");
		rt_error(r, "subflow");
		return;
	}
	r->stack[r->depth].flow = flow_ref(f);
	r->stack[r->depth].node = FLOW_NO_NODE;
	r->depth++;
	set_defaults(r, f);
	rt_jump(r, f->start);
}

static void return_enter(struct flow_run *r)
{
	if (r->depth <= 1) {
		emit_hangup(r, "completed");
		return;
	}
	pop_frame(r);
	rt_jump(r, rt_node(r)->next);
}

static void enter(struct flow_run *r, unsigned i)
{
	struct rt_frame *t = rt_top(r);
	const struct flow_node *n = &t->flow->nodes[i];

	t->node = i;
	r->attempts = 0;
	r->fail = RF_NONE;
	r->slot_on = false;
	if (++r->hops > FLOW_RUN_MAX_HOPS) {
		LOGE(call_id(r), "flow_loop", "flow=%s node=%s hops=%u",
		     t->flow->name, n->name, r->hops - 1);
		r->hops = 0;
		rt_error(r, "loop");
		return;
	}
	LOGD(call_id(r), "flow_node", "flow=%s node=%s", t->flow->name,
	     n->name);
	if (r->env.on_node)
		r->env.on_node(r->env.cb_arg, t->flow->name, n->name);
	switch (n->type) {
	case FLOW_NODE_SAY:
		say_enter(r, n);
		break;
	case FLOW_NODE_PLAY:
		play_enter(r, n);
		break;
	case FLOW_NODE_MENU:
	case FLOW_NODE_GATHER:
		ask(r, RF_NONE);
		break;
	case FLOW_NODE_CLASSIFY:
		if (n->tmpl || n->text)
			ask(r, RF_NONE);
		else
			classify_text(r, n);
		break;
	case FLOW_NODE_TRANSFER:
		transfer_enter(r, n);
		break;
	case FLOW_NODE_HANGUP:
		emit_hangup(r, n->reason ? n->reason : "completed");
		break;
	case FLOW_NODE_SET:
		set_enter(r, n);
		break;
	case FLOW_NODE_SWITCH:
		switch_enter(r, n);
		break;
	case FLOW_NODE_HTTP:
		rt_http_enter(r, n);
		break;
	case FLOW_NODE_LOOKUP:
		rt_lookup_enter(r, n);
		break;
	case FLOW_NODE_RECORD:
		memset(&r->act, 0, sizeof(r->act));
		r->act.record.action = (int)n->rec_action;
		rt_emit(r, FLOW_ACT_RECORD, RW_RECORD);
		break;
	case FLOW_NODE_HOURS:
		hours_enter(r, n);
		break;
	case FLOW_NODE_GOTO:
		rt_jump(r, n->next);
		break;
	case FLOW_NODE_SUBFLOW:
		subflow_enter(r, n);
		break;
	case FLOW_NODE_RETURN:
		return_enter(r);
		break;
	default:
		rt_error(r, "node_type");
		break;
	}
}

/* Enter nodes until one emits an action. Iterative: the loop guard, not
 * the stack, bounds a flow that never waits. */
static void run(struct flow_run *r)
{
	while (!r->emitted) {
		unsigned i = r->want;

		if (i == FLOW_NO_NODE || i >= rt_top(r)->flow->nnodes) {
			LOGE(call_id(r), "flow_no_next", "flow=%s", flow_of(r));
			emit_hangup(r, "flow_error");
			break;
		}
		r->want = FLOW_NO_NODE;
		enter(r, i);
	}
}

/* ---- public API ---- */

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

int flow_run_create(struct flow_run **rp, struct flow *f,
		    const struct flow_run_env *env)
{
	struct flow_run *r;

	if (!rp || !f || !env || !f->nnodes)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->env = *env;
	r->call_id = dup_or_empty(env->call_id);
	r->from = dup_or_empty(env->from);
	r->to = dup_or_empty(env->to);
	r->channel = dup_or_empty(env->channel);
	if (!r->call_id || !r->from || !r->to || !r->channel ||
	    flow_vars_create(&r->vars)) {
		flow_run_destroy(r);
		return -ENOMEM;
	}
	r->env.call_id = r->call_id;
	r->env.from = r->from;
	r->env.to = r->to;
	r->env.channel = r->channel;
	r->stack[0].flow = flow_ref(f);
	r->stack[0].node = FLOW_NO_NODE;
	r->depth = 1;
	r->want = FLOW_NO_NODE;
	r->wait = RW_START;
	rt_set(r, "call.id", r->call_id);
	rt_set(r, "call.from", r->from);
	rt_set(r, "call.to", r->to);
	rt_set(r, "call.channel", r->channel);
	set_defaults(r, f);
	*rp = r;
	return 0;
}

void flow_run_destroy(struct flow_run *r)
{
	if (!r)
		return;
	while (r->depth)
		pop_frame(r);
	pool_reset(r);
	free(r->strs);
	flow_vars_destroy(r->vars);
	free(r->call_id);
	free(r->from);
	free(r->to);
	free(r->channel);
	free(r);
}

static enum flow_res_type expected(enum rt_wait w)
{
	switch (w) {
	case RW_START:
		return FLOW_RES_START;
	case RW_PLAYED:
		return FLOW_RES_PLAYED;
	case RW_INPUT:
		return FLOW_RES_INPUT;
	case RW_TRANSFER:
		return FLOW_RES_TRANSFERRED;
	case RW_RECORD:
		return FLOW_RES_RECORDED;
	case RW_HTTP:
		return FLOW_RES_HTTP;
	case RW_LOOKUP:
		return FLOW_RES_LOOKUP;
	default:
		return FLOW_RES_HANGUP;
	}
}

int flow_run_step(struct flow_run *r, const struct flow_result *res,
		  struct flow_action *act)
{
	if (!r || !res || !act)
		return -EINVAL;
	if (r->wait == RW_END) {
		if (res->type != FLOW_RES_HANGUP)
			return -EPROTO;
		*act = r->act;
		return 0;
	}
	if (res->type != FLOW_RES_HANGUP && res->type != expected(r->wait))
		return -EPROTO;
	pool_reset(r);
	r->now_ms = res->now_ms;
	r->emitted = false;
	if (res->type == FLOW_RES_HANGUP) {
		emit_end(r, r->wait == RW_HANGUP ? r->hangup_reason
						 : "caller_hangup");
		*act = r->act;
		return 0;
	}
	switch (r->wait) {
	case RW_START:
		rt_jump(r, rt_top(r)->flow->start);
		break;
	case RW_PLAYED:
		if (res->err)
			LOGW(call_id(r), "flow_prompt_failed",
			     "flow=%s node=%s err=%d", flow_of(r),
			     rt_node(r)->name, res->err);
		rt_jump(r, rt_node(r)->next);
		break;
	case RW_INPUT:
		on_input(r, res);
		break;
	case RW_TRANSFER:
		on_transferred(r, res);
		break;
	case RW_RECORD:
		if (res->err)
			LOGW(call_id(r), "flow_record_failed",
			     "flow=%s node=%s err=%d", flow_of(r),
			     rt_node(r)->name, res->err);
		rt_jump(r, rt_node(r)->next);
		break;
	case RW_HTTP:
		rt_http_result(r, rt_node(r), res);
		break;
	case RW_LOOKUP:
		rt_lookup_result(r, rt_node(r), res);
		break;
	default:
		break;
	}
	run(r);
	*act = r->act;
	return 0;
}

const struct flow_vars *flow_run_vars(const struct flow_run *r)
{
	return r ? r->vars : NULL;
}

const char *flow_run_node(const struct flow_run *r)
{
	const struct rt_frame *t;

	if (!r || !r->depth)
		return NULL;
	t = &r->stack[r->depth - 1];
	return t->node == FLOW_NO_NODE ? NULL : t->flow->nodes[t->node].name;
}

const char *flow_run_flow(const struct flow_run *r)
{
	if (!r || !r->depth || r->wait == RW_START)
		return NULL;
	return r->stack[r->depth - 1].flow->name;
}

bool flow_run_done(const struct flow_run *r)
{
	return r && r->done;
}

const char *flow_run_end_reason(const struct flow_run *r)
{
	return r && r->done ? r->end_reason : NULL;
}
