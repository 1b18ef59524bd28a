/* Amazon Connect flow language (JSON: Version, StartAction, Actions[] with
 * Identifier/Type/Parameters/Transitions) and the seed's dialect
 * (StartAction object, States map, Type Message/GetCustomerInput/
 * InvokeLambdaFunction, Transitions Success/Error) -> voxgate flow YAML.
 * Mapping table: docs/IMPORT.md. */
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

struct cx {
	struct imp *im;
	struct jdoc doc;
	size_t n;
	const struct jnode **acts; /* Actions[] / States values */
	char (*names)[NAME_LEN];   /* node name per action */
	const char **ids;	   /* Identifier / state name */
	bool seed;
	struct yv *external; /* $.External.x seen: declared if no Lambda */
	struct yv *agents;   /* seed: missing agent state -> node name */
};

/* ---- references: $.Attributes.x -> {{attr.x}} ... ---- */

static bool path_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static void var_seg(const char *s, size_t n, char *out, size_t size)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 1 < size; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '.';
		out[k++] = ok ? c : '_';
	}
	out[k] = '\0';
	if (k && out[0] >= '0' && out[0] <= '9' && k + 1 < size) {
		memmove(out + 1, out, k + 1);
		out[0] = '_';
	}
}

/* The variable for a Connect reference path (after "$."), or NULL. */
static char *ref_var(struct cx *c, const char *p, size_t n)
{
	struct imp *im = c->im;
	static const struct {
		const char *path, *var;
	} fixed[] = {
		{ "StoredCustomerInput", "last.digits" },
		{ "CustomerEndpoint.Address", "call.from" },
		{ "SystemEndpoint.Address", "call.to" },
		{ "ContactId", "call.id" },
		{ "InitialContactId", "call.id" },
		{ "Channel", "call.channel" },
		{ "Lex.IntentName", "intent" },
		{ "Queue.Name", "queue" },
	};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (strlen(fixed[i].path) == n &&
		    !memcmp(p, fixed[i].path, n)) {
			if (!strcmp(fixed[i].var, "queue"))
				imp_declare(im, "queue");
			return imp_strdup(im, fixed[i].var);
		}
	}
	static const struct {
		const char *prefix, *var;
	} pre[] = {
		{ "Attributes.", "attr." },
		{ "External.", "external." },
		{ "Lex.Slots.", "slots." },
	};
	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
		size_t k = strlen(pre[i].prefix);
		if (n > k && !memcmp(p, pre[i].prefix, k)) {
			char seg[130];
			var_seg(p + k, n - k, seg, sizeof(seg));
			char *v = imp_printf(im, "%s%s", pre[i].var, seg);
			if (!v)
				return NULL;
			if (i == 1)
				yv_puts(im, c->external, v, "");
			else
				imp_declare(im, v);
			return v;
		}
	}
	return NULL;
}

/* Source text -> flow text: SSML stripped (ssml), "$.x.y" references
 * replaced by {{var}}. NULL on an unsupported reference (reported). */
static char *conv(struct cx *c, const struct jnode *node, bool ssml)
{
	struct imp *im = c->im;
	if (!node || !node->str)
		return imp_strdup(im, "");
	char *t = imp_text(im, node->str, ssml);
	if (!t)
		return NULL;
	struct strbuf b;
	strbuf_init(&b, 64u << 10);
	int err = 0;
	char *res = NULL;
	for (const char *p = t; *p && !err;) {
		if (p[0] != '$' || p[1] != '.') {
			err = strbuf_add(&b, p, 1);
			p++;
			continue;
		}
		const char *s = p + 2;
		size_t n = 0;
		while (path_char(s[n]))
			n++;
		while (n && s[n - 1] == '.')
			n--; /* a full stop after the reference */
		char *v = ref_var(c, s, n);
		if (!v) {
			imp_error(im, node->line, node->col,
				  "unsupported Connect reference '$.%.*s'",
				  (int)(n > 60 ? 60 : n), s);
			goto out;
		}
		err = strbuf_printf(&b, "{{%s}}", v);
		free(v);
		p = s + n;
	}
	if (err)
		im->oom = true;
	else
		res = imp_strdup(im, strbuf_str(&b));
out:
	strbuf_fini(&b);
	free(t);
	return res;
}

static void put_conv(struct cx *c, struct yv *node, const char *key,
		     const struct jnode *v, bool ssml)
{
	char *t = conv(c, v, ssml);
	if (t)
		yv_puts(c->im, node, key, t);
	free(t);
}

/* ---- transitions ---- */

static const char *target(struct cx *c, const struct jnode *v)
{
	if (!v)
		return NULL;
	if (v->type != J_STR) {
		imp_error(c->im, v->line, v->col,
			  "a transition must name an action");
		return NULL;
	}
	for (size_t i = 0; i < c->n; i++) {
		if (c->ids[i] && !strcmp(c->ids[i], v->str))
			return c->names[i];
	}
	if (c->seed && imp_is_agent_name(v->str)) {
		const struct yv *made = yv_get(c->agents, v->str);
		if (made)
			return made->text;
		char name[NAME_LEN];
		imp_node_name(c->im, v->str, name, sizeof(name));
		imp_agent(c->im, name, "a transition");
		struct yv *m = yv_putraw(c->im, c->agents, v->str, name);
		return m ? m->text : NULL;
	}
	imp_error(c->im, v->line, v->col,
		  "transition to '%.60s', which is no action of the flow",
		  v->str);
	return NULL;
}

/* NextAction; the seed dialect names it Success (or Next). */
static const char *next_action(struct cx *c, const struct jnode *tr)
{
	const char *t = target(c, jget(tr, "NextAction"));
	if (!t && c->seed)
		t = target(c, jget(tr, "Success"));
	if (!t && c->seed)
		t = target(c, jget(tr, "Next"));
	return t;
}

/* The target of the error of the given type (NULL: any type). */
static const char *error_target(struct cx *c, const struct jnode *tr,
				const char *type)
{
	const struct jnode *errs = jget(tr, "Errors");
	/* The seed dialect has one Error branch for every error but "no
	 * branch matched" (which is not an error there). */
	if (!errs && c->seed && (!type || strcmp(type, "NoMatchingCondition")))
		return target(c, jget(tr, "Error"));
	if (!errs || errs->type != J_ARR)
		return NULL;
	for (size_t i = 0; i < errs->n; i++) {
		const char *t = jstr(errs->items[i], "ErrorType");
		if (!type || (t && !strcmp(t, type)))
			return target(c, jget(errs->items[i], "NextAction"));
	}
	return NULL;
}

static const char *or_end(struct cx *c, const char *t)
{
	return t ? t : imp_end(c->im);
}

/* One Condition {Operator, Operands[0]} -> a switch case, or NULL. */
static struct yv *cond_case(struct cx *c, const struct jnode *cond,
			    const char *next)
{
	static const struct {
		const char *connect, *op;
	} ops[] = {
		{ "Equals", "equals" },
		{ "NumberGreaterThan", "gt" },
		{ "NumberGreaterOrEqualTo", "ge" },
		{ "NumberLessThan", "lt" },
		{ "NumberLessOrEqualTo", "le" },
		{ "TextStartsWith", "starts_with" },
		{ "TextEndsWith", "ends_with" },
		{ "TextContains", "contains" },
	};
	const struct jnode *cd = jget(cond, "Condition");
	const char *op = jstr(cd, "Operator");
	const struct jnode *ops_n = jget(cd, "Operands");
	const struct jnode *operand = ops_n && ops_n->type == J_ARR && ops_n->n
					      ? ops_n->items[0]
					      : NULL;
	if (!op || !operand || !operand->str) {
		imp_error(c->im, cond->line, cond->col,
			  "a condition needs an Operator and an Operand");
		return NULL;
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(op, ops[i].connect))
			continue;
		struct yv *cs = yv_map(c->im);
		put_conv(c, cs, ops[i].op, operand, false);
		yv_putraw(c->im, cs, "next", next);
		return cs;
	}
	const struct jnode *opn = jget(cd, "Operator");
	imp_unsupported(c->im, opn->line, opn->col,
			"unsupported Connect condition operator '%.40s'", op);
	return NULL;
}

/* A switch named name on value with the Conditions as cases. */
static void make_switch(struct cx *c, const char *name, const char *value,
			const struct jnode *tr, const char *def,
			const char *comment)
{
	struct imp *im = c->im;
	struct yv *sw = imp_node(im, name, "switch", comment);
	yv_puts(im, sw, "value", value);
	struct yv *cases = yv_put(im, sw, "cases", yv_seq(im));
	const struct jnode *conds = jget(tr, "Conditions");
	for (size_t i = 0; conds && conds->type == J_ARR && i < conds->n; i++) {
		const char *t = target(c, jget(conds->items[i], "NextAction"));
		if (t)
			yv_push(cases, cond_case(c, conds->items[i], t));
	}
	if (!cases->first) {
		/* A switch needs a case: one that can never match. */
		struct yv *cs = yv_push(cases, yv_map(im));
		yv_putraw(im, cs, "empty", "true");
		yv_putraw(im, cs, "next", def);
	}
	yv_putraw(im, sw, "default", def);
}

/* ---- fields ---- */

static const char *const p_message[] = { "Text", "SSML", "PromptId", "Media",
					 NULL };
static const char *const p_input[] = { "Text",
				       "SSML",
				       "PromptId",
				       "Media",
				       "InputTimeLimitSeconds",
				       "StoreInput",
				       "DTMFConfiguration",
				       "InputValidation",
				       "InputEncryption",
				       "LexV2Bot",
				       "LexBot",
				       "LexSessionAttributes",
				       "LexTimeoutSeconds",
				       NULL };
static const char *const p_lex[] = { "Text",
				     "SSML",
				     "PromptId",
				     "LexV2Bot",
				     "LexBot",
				     "LexSessionAttributes",
				     "LexTimeoutSeconds",
				     "BotName",
				     "BotAlias",
				     "LocaleId",
				     NULL };
static const char *const p_lambda[] = { "LambdaFunctionARN",
					"FunctionArn",
					"InvocationTimeLimitSeconds",
					"LambdaInvocationAttributes",
					"ResponseValidation",
					"InvocationType",
					NULL };
static const char *const p_attrs[] = { "Attributes", "TargetContact", NULL };
static const char *const p_compare[] = { "ComparisonValue", NULL };
static const char *const p_queue[] = { "QueueId", NULL };
static const char *const p_none[] = { NULL };
static const char *const p_record[] = { "RecordingBehavior",
					"AnalyticsBehavior", NULL };
static const char *const p_hours[] = { "Hours", NULL };
static const char *const p_loop[] = { "LoopCount", NULL };
static const char *const p_flow[] = { "ContactFlowId", NULL };

static void check_params(struct cx *c, const struct jnode *params,
			 const char *const *known, const char *type,
			 const char *id, struct yv *node)
{
	if (!params)
		return;
	if (params->type != J_OBJ) {
		imp_error(c->im, params->line, params->col,
			  "action '%s': Parameters must be an object", id);
		return;
	}
	for (size_t i = 0; i < params->n; i++) {
		bool ok = false;
		for (size_t k = 0; known[k] && !ok; k++)
			ok = !strcmp(params->keys[i], known[k]);
		if (ok)
			continue;
		if (imp_unsupported(c->im, params->kline[i], params->kcol[i],
				    "unsupported Connect parameter '%.40s' of "
				    "%s (action '%s')",
				    params->keys[i], type, id))
			yv_comment(c->im, node,
				   "unsupported parameter '%s' ignored",
				   params->keys[i]);
	}
}

/* "8" or 8 -> "8s", bounded; NULL when absent or bad (reported). */
static char *seconds(struct cx *c, const struct jnode *v, unsigned lo,
		     unsigned hi)
{
	if (!v || !v->str)
		return NULL;
	char *end;
	long s = strtol(v->str, &end, 10);
	if (*end || end == v->str || s < (long)lo || s > (long)hi) {
		imp_error(c->im, v->line, v->col,
			  "expected a whole number of seconds from %u to %u",
			  lo, hi);
		return NULL;
	}
	return imp_printf(c->im, "%lds", s);
}

static void put_prompt(struct cx *c, struct yv *node, const char *key,
		       const struct jnode *params, const char *id)
{
	const struct jnode *t = jget(params, "Text");
	const struct jnode *s = jget(params, "SSML");
	const struct jnode *pid = jget(params, "PromptId");
	if (t)
		put_conv(c, node, key, t, false);
	else if (s)
		put_conv(c, node, key, s, true);
	else if (pid)
		imp_unsupported(c->im, pid->line, pid->col,
				"action '%s': a prompt (PromptId) cannot be "
				"part of an input turn; put the text in Text",
				id);
}

/* ---- action types ---- */

static void do_message(struct cx *c, size_t i, const struct jnode *p,
		       const struct jnode *tr, const char *cm)
{
	struct imp *im = c->im;
	const char *name = c->names[i];
	const struct jnode *pid = jget(p, "PromptId");
	const struct jnode *media = jget(p, "Media");
	struct yv *n;
	if (pid || media) {
		const struct jnode *key = pid ? pid : jget(media, "Uri");
		const char *file =
			key && key->str ? imp_value(im, key->str) : NULL;
		if (!file) {
			const struct jnode *at = key ? key : media;
			imp_error(im, at->line, at->col,
				  "action '%s': prompt '%.80s' needs an audio "
				  "file: map it to a WAV file in --values",
				  c->ids[i], key && key->str ? key->str : "");
			return;
		}
		n = imp_node(im, name, "play", cm);
		yv_puts(im, n, "file", file);
	} else {
		n = imp_node(im, name, "say", cm);
		if (jget(p, "Text"))
			put_conv(c, n, "text", jget(p, "Text"), false);
		else if (jget(p, "SSML"))
			put_conv(c, n, "text", jget(p, "SSML"), true);
		else
			imp_error(im, c->acts[i]->line, c->acts[i]->col,
				  "action '%s': a message needs Text, SSML, "
				  "PromptId or Media",
				  c->ids[i]);
	}
	const char *next = next_action(c, tr);
	if (!next)
		next = error_target(c, tr, NULL);
	if (!next && c->seed) {
		/* The seed's StartAction has no transition: on to the first
		 * state. */
		if (i + 1 < c->n)
			next = c->names[i + 1];
		if (i == 0 && next)
			yv_comment(im, n,
				   "(no transition in the source: on to the "
				   "first state)");
	}
	yv_putraw(im, n, "next", or_end(c, next));
}

static bool is_lex(const struct jnode *p)
{
	return jget(p, "LexV2Bot") || jget(p, "LexBot") || jget(p, "BotName");
}

static void do_lex(struct cx *c, size_t i, const struct jnode *p,
		   const struct jnode *tr, const char *cm)
{
	struct imp *im = c->im;
	struct yv *n = imp_node(im, c->names[i], "classify", cm);
	put_prompt(c, n, "prompt", p, c->ids[i]);
	imp_classify_model(im, n);
	const char *bot = jstr(p, "BotName");
	const struct jnode *v2 = jget(p, "LexV2Bot");
	if (!bot)
		bot = jstr(v2, "AliasArn");
	if (bot)
		yv_comment(im, n, "Lex bot '%s': intents from %s", bot,
			   im->intents_map ? "--intents" : "the default model");
	const struct jnode *conds = jget(tr, "Conditions");
	struct yv *intents = NULL;
	for (size_t k = 0; conds && conds->type == J_ARR && k < conds->n; k++) {
		const struct jnode *cd = jget(conds->items[k], "Condition");
		const char *op = jstr(cd, "Operator");
		const struct jnode *ops = jget(cd, "Operands");
		const char *t = target(c, jget(conds->items[k], "NextAction"));
		if (!op || strcmp(op, "Equals") || !ops || ops->type != J_ARR ||
		    !ops->n || !ops->items[0]->str) {
			imp_unsupported(im, conds->items[k]->line,
					conds->items[k]->col,
					"action '%s': a Lex branch must be "
					"Equals an intent name",
					c->ids[i]);
			continue;
		}
		if (!t)
			continue;
		if (!intents)
			intents = yv_put(im, n, "intents", yv_map(im));
		yv_putraw(im, intents, ops->items[0]->str, t);
	}
	const char *success = c->seed ? target(c, jget(tr, "Success")) : NULL;
	const char *high = error_target(c, tr, "NoMatchingCondition");
	if (!high)
		high = success ? success : next_action(c, tr);
	if (!high && !intents)
		high = imp_end(im);
	if (high)
		yv_putraw(im, n, "high", high);
	const char *nm = c->seed ? target(c, jget(tr, "Error"))
				 : error_target(c, tr, "NoMatchingError");
	if (nm)
		yv_putraw(im, n, "no_match", nm);
	const char *to = error_target(c, tr, "InputTimeLimitExceeded");
	yv_putraw(im, n, "on_max_retries", or_end(c, to ? to : nm));
}

static void do_input(struct cx *c, size_t i, const struct jnode *p,
		     const struct jnode *tr, const char *cm)
{
	struct imp *im = c->im;
	if (is_lex(p)) {
		do_lex(c, i, p, tr, cm);
		return;
	}
	const char *name = c->names[i];
	const struct jnode *conds = jget(tr, "Conditions");
	bool branch = conds && conds->type == J_ARR && conds->n;
	char sw[NAME_LEN];
	if (branch) {
		char *b = imp_printf(im, "%s_branch", name);
		imp_node_name(im, b, sw, sizeof(sw));
		free(b);
	}
	struct yv *n = imp_node(im, name, "gather", cm);
	put_prompt(c, n, "prompt", p, c->ids[i]);
	yv_putraw(im, n, "input", "dtmf");
	char *to = seconds(c, jget(p, "InputTimeLimitSeconds"), 1, 180);
	if (to)
		yv_putraw(im, n, "timeout", to);
	free(to);
	const char *store = jstr(p, "StoreInput");
	bool stored = store && !strcasecmp(store, "true");
	const struct jnode *dc = jget(p, "DTMFConfiguration");
	const char *term = jstr(dc, "InputTerminationSequence");
	const struct jnode *inter = jget(dc, "InterdigitTimeLimitSeconds");
	if (stored) {
		const struct jnode *mx = jget(
			jget(jget(p, "InputValidation"), "CustomValidation"),
			"MaximumLength");
		long m = mx && mx->str ? strtol(mx->str, NULL, 10) : 20;
		if (m < 1 || m > 32)
			m = 20;
		char buf[16];
		snprintf(buf, sizeof(buf), "%ld", m);
		yv_putraw(im, n, "max_digits", buf);
		yv_puts(im, n, "terminator", term ? term : "#");
	} else {
		/* Get customer input: one key, no terminator. */
		yv_putraw(im, n, "max_digits", "1");
		yv_puts(im, n, "terminator", "");
	}
	if (inter) {
		char *s = seconds(c, inter, 1, 20);
		if (s)
			yv_putraw(im, n, "interdigit_timeout", s);
		free(s);
	}
	/* Connect takes the error branch at once: no retries. */
	yv_putraw(im, n, "retries", "0");
	const char *tmo = error_target(c, tr, "InputTimeLimitExceeded");
	const char *nme = error_target(c, tr, "NoMatchingError");
	const char *nmc = error_target(c, tr, "NoMatchingCondition");
	yv_putraw(im, n, "on_max_retries", or_end(c, tmo ? tmo : nme));
	if (!branch) {
		const char *next = next_action(c, tr);
		yv_putraw(im, n, "next", or_end(c, next ? next : nmc));
		return;
	}
	yv_putraw(im, n, "next", sw);
	make_switch(c, sw, "{{last.digits}}", tr, or_end(c, nmc ? nmc : nme),
		    "the branches of the input above");
}

static void do_lambda(struct cx *c, size_t i, const struct jnode *p,
		      const struct jnode *tr, const char *cm)
{
	struct imp *im = c->im;
	struct yv *n = imp_node(im, c->names[i], "http", cm);
	const struct jnode *arn = jget(p, "LambdaFunctionARN");
	if (!arn)
		arn = jget(p, "FunctionArn");
	if (!arn || !arn->str) {
		imp_error(im, c->acts[i]->line, c->acts[i]->col,
			  "action '%s': no LambdaFunctionARN", c->ids[i]);
		return;
	}
	const char *fn = strrchr(arn->str, ':');
	fn = fn ? fn + 1 : arn->str;
	yv_putraw(im, n, "method", "POST");
	yv_putraw(im, n, "event", "connect");
	const char *url = imp_value(im, arn->str);
	if (!url)
		url = imp_value(im, fn);
	if (url) {
		yv_puts(im, n, "url", url);
	} else {
		char *u = imp_printf(im, "http://127.0.0.1:8080/lambda/%s", fn);
		struct yv *uv = yv_puts(im, n, "url", u);
		free(u);
		yv_comment(im, uv,
			   "set the URL of Lambda '%s' (--values: \"%s\": "
			   "URL)",
			   fn, arn->str);
	}
	char *to = seconds(c, jget(p, "InvocationTimeLimitSeconds"), 1, 30);
	if (to)
		yv_putraw(im, n, "timeout", to);
	free(to);
	const struct jnode *attrs = jget(p, "LambdaInvocationAttributes");
	if (attrs && attrs->type == J_OBJ && attrs->n) {
		struct yv *js = yv_put(im, n, "json", yv_map(im));
		for (size_t k = 0; k < attrs->n; k++)
			put_conv(c, js, attrs->keys[k], attrs->items[k], false);
	}
	im->has_connect_event = true;
	const char *next =
		c->seed ? target(c, jget(tr, "Success")) : next_action(c, tr);
	const char *err = c->seed ? target(c, jget(tr, "Error"))
				  : error_target(c, tr, NULL);
	if (!next && c->seed && !tr)
		yv_comment(im, n,
			   "(no transition in the source: the call ends "
			   "after the Lambda)");
	yv_putraw(im, n, "next", or_end(c, next));
	yv_putraw(im, n, "on_error", or_end(c, err));
}

static void do_attrs(struct cx *c, size_t i, const struct jnode *p,
		     const struct jnode *tr, const char *cm)
{
	struct imp *im = c->im;
	const struct jnode *attrs = jget(p, "Attributes");
	if (!attrs || attrs->type != J_OBJ || !attrs->n) {
		imp_error(im, c->acts[i]->line, c->acts[i]->col,
			  "action '%s': no Attributes to set", c->ids[i]);
		return;
	}
	struct yv *n = imp_node(im, c->names[i], "set", cm);
	struct yv *vars = yv_put(im, n, "vars", yv_map(im));
	for (size_t k = 0; k < attrs->n && k < 64; k++) {
		char seg[130];
		var_seg(attrs->keys[k], strlen(attrs->keys[k]), seg,
			sizeof(seg));
		char *var = imp_printf(im, "attr.%s", seg);
		if (var) {
			imp_declare(im, var);
			put_conv(c, vars, var, attrs->items[k], false);
		}
		free(var);
	}
	yv_putraw(im, n, "next", or_end(c, next_action(c, tr)));
}

static void do_compare(struct cx *c, size_t i, const struct jnode *p,
		       const struct jnode *tr, const char *cm)
{
	const struct jnode *v = jget(p, "ComparisonValue");
	if (!v || !v->str) {
		imp_error(c->im, c->acts[i]->line, c->acts[i]->col,
			  "action '%s': no ComparisonValue", c->ids[i]);
		return;
	}
	char *val = conv(c, v, false);
	if (!val)
		return;
	const char *def = error_target(c, tr, "NoMatchingCondition");
	make_switch(c, c->names[i], val, tr, or_end(c, def), cm);
	free(val);
}

/* A queue name from an ARN (--values may name it). */
static char *queue_name(struct cx *c, const char *arn)
{
	const char *v = imp_value(c->im, arn);
	const char *s = strrchr(arn, '/');
	char qn[NAME_LEN];
	imp_sanitize(v ? v : (s ? s + 1 : arn), qn, sizeof(qn));
	return imp_strdup(c->im, qn);
}

static void do_set_queue(struct cx *c, size_t i, const struct jnode *p,
			 const struct jnode *tr, const char *cm)
{
	struct imp *im = c->im;
	const char *q = jstr(p, "QueueId");
	if (!q) {
		imp_error(im, c->acts[i]->line, c->acts[i]->col,
			  "action '%s': no QueueId", c->ids[i]);
		return;
	}
	struct yv *n = imp_node(im, c->names[i], "set", cm);
	struct yv *vars = yv_put(im, n, "vars", yv_map(im));
	if (q[0] == '$' && q[1] == '.') {
		put_conv(c, vars, "queue", jget(p, "QueueId"), false);
	} else {
		char *name = queue_name(c, q);
		yv_puts(im, vars, "queue", name);
		free(name);
	}
	imp_declare(im, "queue");
	yv_putraw(im, n, "next", or_end(c, next_action(c, tr)));
}

static void do_transfer_queue(struct cx *c, size_t i, const struct jnode *tr,
			      const char *cm)
{
	struct imp *im = c->im;
	struct yv *n = imp_node(im, c->names[i], "transfer", cm);
	yv_puts(im, n, "target", "queue:{{queue}}");
	imp_declare(im, "queue");
	const char *f = error_target(c, tr, "QueueAtCapacity");
	if (!f)
		f = error_target(c, tr, NULL);
	yv_putraw(im, n, "on_fail", or_end(c, f));
}

static void do_hangup(struct cx *c, size_t i, const char *cm)
{
	struct yv *n = imp_node(c->im, c->names[i], "hangup", cm);
	yv_putraw(c->im, n, "reason", "completed");
}

static void do_record(struct cx *c, size_t i, const struct jnode *p,
		      const struct jnode *tr, const char *cm)
{
	struct imp *im = c->im;
	const struct jnode *who =
		jget(jget(p, "RecordingBehavior"), "RecordedParticipants");
	if (!who || who->type != J_ARR) {
		imp_error(im, c->acts[i]->line, c->acts[i]->col,
			  "action '%s': no "
			  "RecordingBehavior.RecordedParticipants",
			  c->ids[i]);
		return;
	}
	struct yv *n = imp_node(im, c->names[i], "record", cm);
	yv_putraw(im, n, "action", who->n ? "start" : "stop");
	yv_putraw(im, n, "next", or_end(c, next_action(c, tr)));
}

static void do_hours(struct cx *c, size_t i, const struct jnode *p,
		     const struct jnode *tr, const char *cm)
{
	struct imp *im = c->im;
	const char *h = jstr(p, "Hours");
	struct yv *n = imp_node(im, c->names[i], "hours", cm);
	const struct ydoc_node *open = h ? imp_value_node(im, h) : NULL;
	struct yv *ov = yv_put(im, n, "open", yv_map(im));
	if (open && ydoc_node_count(open)) {
		for (size_t k = 0; k < ydoc_node_count(open); k++) {
			const char *d = ydoc_scalar_text(ydoc_map_key(open, k));
			const char *t =
				ydoc_scalar_text(ydoc_map_value(open, k));
			if (d && t)
				yv_puts(im, ov, d, t);
		}
	} else {
		yv_puts(im, ov, "mon-fri", "09:00-17:00");
		yv_comment(im, ov,
			   "hours of operation '%s' are not in the source: "
			   "set them (--values: \"%s\": {mon-fri: "
			   "\"09:00-17:00\"})",
			   h ? h : "", h ? h : "HOURS");
	}
	const char *in = NULL, *out = NULL;
	const struct jnode *conds = jget(tr, "Conditions");
	for (size_t k = 0; conds && conds->type == J_ARR && k < conds->n; k++) {
		const struct jnode *ops =
			jget(jget(conds->items[k], "Condition"), "Operands");
		const char *v = ops && ops->type == J_ARR && ops->n
					? ops->items[0]->str
					: NULL;
		const char *t = target(c, jget(conds->items[k], "NextAction"));
		if (v && !strcasecmp(v, "true"))
			in = t;
		else if (v && !strcasecmp(v, "false"))
			out = t;
	}
	const char *next = next_action(c, tr);
	yv_putraw(im, n, "in_hours", or_end(c, in ? in : next));
	yv_putraw(im, n, "out_of_hours", or_end(c, out ? out : next));
}

static void do_loop(struct cx *c, size_t i, const struct jnode *p,
		    const struct jnode *tr, const char *cm)
{
	struct imp *im = c->im;
	const struct jnode *cnt = jget(p, "LoopCount");
	long count = cnt && cnt->str ? strtol(cnt->str, NULL, 10) : 0;
	if (count < 1 || count > 100) {
		const struct jnode *at = cnt ? cnt : c->acts[i];
		imp_unsupported(im, at->line, at->col,
				"action '%s': LoopCount must be a number from "
				"1 to 100",
				c->ids[i]);
		return;
	}
	const char *body = NULL, *done = NULL;
	const struct jnode *conds = jget(tr, "Conditions");
	for (size_t k = 0; conds && conds->type == J_ARR && k < conds->n; k++) {
		const struct jnode *ops =
			jget(jget(conds->items[k], "Condition"), "Operands");
		const char *v = ops && ops->type == J_ARR && ops->n
					? ops->items[0]->str
					: NULL;
		const char *t = target(c, jget(conds->items[k], "NextAction"));
		if (v && !strcmp(v, "ContinueLooping"))
			body = t;
		else if (v && !strcmp(v, "DoneLooping"))
			done = t;
	}
	const char *name = c->names[i];
	char inc[NAME_LEN], fin[NAME_LEN];
	char *s = imp_printf(im, "%s_count", name);
	imp_node_name(im, s, inc, sizeof(inc));
	free(s);
	s = imp_printf(im, "%s_done", name);
	imp_node_name(im, s, fin, sizeof(fin));
	free(s);
	char seg[130];
	var_seg(name, strlen(name), seg, sizeof(seg));
	char *var = imp_printf(im, "loop.%s", seg);
	char *marks = calloc((size_t)count + 1, 1);
	if (!var || !marks) {
		im->oom = true;
		free(var);
		free(marks);
		return;
	}
	memset(marks, 'x', (size_t)count);
	imp_declare(im, var);
	/* Counting in text: one "x" per turn; `equals` ends the loop. */
	struct yv *sw = imp_node(im, name, "switch", cm);
	char *ref = imp_printf(im, "{{%s}}", var);
	yv_puts(im, sw, "value", ref);
	struct yv *cases = yv_put(im, sw, "cases", yv_seq(im));
	struct yv *cs = yv_push(cases, yv_map(im));
	yv_puts(im, cs, "equals", marks);
	yv_putraw(im, cs, "next", fin);
	yv_putraw(im, sw, "default", inc);
	struct yv *n = imp_node(im, inc, "set", NULL);
	struct yv *vars = yv_put(im, n, "vars", yv_map(im));
	char *more = imp_printf(im, "%sx", ref ? ref : "");
	yv_puts(im, vars, var, more);
	yv_putraw(im, n, "next", or_end(c, body));
	n = imp_node(im, fin, "set", NULL);
	vars = yv_put(im, n, "vars", yv_map(im));
	yv_puts(im, vars, var, "");
	yv_putraw(im, n, "next", or_end(c, done ? done : next_action(c, tr)));
	free(more);
	free(ref);
	free(var);
	free(marks);
}

static void do_flow(struct cx *c, size_t i, const struct jnode *p,
		    const char *cm)
{
	struct imp *im = c->im;
	const char *id = jstr(p, "ContactFlowId");
	if (!id) {
		imp_error(im, c->acts[i]->line, c->acts[i]->col,
			  "action '%s': no ContactFlowId", c->ids[i]);
		return;
	}
	const char *v = imp_value(im, id);
	const char *s = strrchr(id, '/');
	char fname[72];
	imp_node_name(im, v ? v : (s ? s + 1 : id), fname, sizeof(fname));
	struct yv *n = imp_node(im, c->names[i], "subflow", cm);
	yv_puts(im, n, "flow", fname);
	if (!v)
		yv_comment(im, n,
			   "flow '%s' must be loaded under the name '%s' "
			   "(--values: \"%s\": NAME)",
			   id, fname, id);
	/* A transfer to another flow does not come back. */
	yv_putraw(im, n, "next", imp_end(im));
}

static void do_noop(struct cx *c, size_t i, const struct jnode *tr,
		    const char *what)
{
	struct yv *n = imp_node(c->im, c->names[i], "goto", NULL);
	yv_comment(c->im, n, "%s (not imported: a no-op)", what);
	const char *next = next_action(c, tr);
	yv_putraw(c->im, n, "next",
		  or_end(c, next ? next : error_target(c, tr, NULL)));
}

/* Set-up actions with nothing to do here: voxgate logs every call, and
 * the voice is the flow's `voice` (a comment names Connect's). */
static void do_setup(struct cx *c, size_t i, const struct jnode *p,
		     const struct jnode *tr, const char *cm)
{
	struct yv *n = imp_node(c->im, c->names[i], "goto", cm);
	const char *voice = jstr(p, "TextToSpeechVoice");
	if (voice)
		yv_comment(c->im, n,
			   "Connect voice '%s': set the flow's voice (or "
			   "leave the daemon's default)",
			   voice);
	else
		yv_comment(c->im, n,
			   "(voxgate logs every call: nothing to do)");
	yv_putraw(c->im, n, "next", or_end(c, next_action(c, tr)));
}

static void do_action(struct cx *c, size_t i)
{
	struct imp *im = c->im;
	const struct jnode *a = c->acts[i];
	const struct jnode *tn = jget(a, "Type");
	const char *type = tn ? tn->str : NULL;
	const struct jnode *p = jget(a, "Parameters");
	const struct jnode *tr = jget(a, "Transitions");
	const char *id = c->ids[i];
	if (!type) {
		imp_error(im, a->line, a->col, "action '%s': no Type", id);
		return;
	}
	char *cm = imp_printf(im, "Connect %s '%s' (%s)",
			      c->seed ? "state" : "action", id, type);
	const char *const *known = NULL;
	if (c->seed && !strcmp(type, "Message")) {
		known = p_message;
		do_message(c, i, p, tr, cm);
	} else if (c->seed && !strcmp(type, "GetCustomerInput")) {
		known = p_input;
		if (is_lex(p)) {
			known = p_lex;
			do_lex(c, i, p, tr, cm);
		} else {
			do_input(c, i, p, tr, cm);
		}
	} else if (!strcmp(type, "MessageParticipant")) {
		known = p_message;
		do_message(c, i, p, tr, cm);
	} else if (!strcmp(type, "GetParticipantInput")) {
		known = p_input;
		do_input(c, i, p, tr, cm);
	} else if (!strcmp(type, "ConnectParticipantWithLexBot")) {
		known = p_lex;
		do_lex(c, i, p, tr, cm);
	} else if (!strcmp(type, "InvokeLambdaFunction")) {
		known = p_lambda;
		do_lambda(c, i, p, tr, cm);
	} else if (!strcmp(type, "UpdateContactAttributes")) {
		known = p_attrs;
		do_attrs(c, i, p, tr, cm);
	} else if (!strcmp(type, "Compare")) {
		known = p_compare;
		do_compare(c, i, p, tr, cm);
	} else if (!strcmp(type, "UpdateContactTargetQueue")) {
		known = p_queue;
		do_set_queue(c, i, p, tr, cm);
	} else if (!strcmp(type, "TransferContactToQueue")) {
		known = p_none;
		do_transfer_queue(c, i, tr, cm);
	} else if (!strcmp(type, "DisconnectParticipant") ||
		   !strcmp(type, "EndFlowExecution")) {
		known = p_none;
		do_hangup(c, i, cm);
	} else if (!strcmp(type, "UpdateContactRecordingBehavior")) {
		known = p_record;
		do_record(c, i, p, tr, cm);
	} else if (!strcmp(type, "CheckHoursOfOperation")) {
		known = p_hours;
		do_hours(c, i, p, tr, cm);
	} else if (!strcmp(type, "Loop")) {
		known = p_loop;
		do_loop(c, i, p, tr, cm);
	} else if (!strcmp(type, "TransferToFlow")) {
		known = p_flow;
		do_flow(c, i, p, cm);
	} else if (!strcmp(type, "UpdateFlowLoggingBehavior") ||
		   !strcmp(type, "UpdateContactTextToSpeechVoice")) {
		static const char *const p_setup[] = {
			"FlowLoggingBehavior", "TextToSpeechVoice",
			"TextToSpeechEngine", "TextToSpeechStyle", NULL
		};
		known = p_setup;
		do_setup(c, i, p, tr, cm);
	} else if (imp_unsupported(im, tn->line, tn->col,
				   "unsupported Connect action type '%.60s' "
				   "(action '%s')",
				   type, id)) {
		do_noop(c, i, tr, cm);
	}
	if (known)
		check_params(c, p, known, type, id,
			     imp_find_node(im, c->names[i]));
	free(cm);
}

static int collect_actions(struct cx *c, const struct jnode *root)
{
	struct imp *im = c->im;
	const struct jnode *acts = jget(root, "Actions");
	const struct jnode *states = jget(root, "States");
	const struct jnode *sa = jget(root, "StartAction");
	c->seed = !acts && sa && sa->type == J_OBJ && states &&
		  states->type == J_OBJ;
	if (!c->seed && (!acts || acts->type != J_ARR)) {
		imp_error(im, root->line, root->col,
			  "not an Amazon Connect flow: no \"Actions\" list "
			  "(or \"StartAction\" object and \"States\" map)");
		return -EBADMSG;
	}
	size_t n = c->seed ? states->n + 1 : acts->n;
	if (n > FLOW_MAX_NODES / 4) {
		imp_error(im, root->line, root->col, "more than %u actions",
			  FLOW_MAX_NODES / 4);
		return -E2BIG;
	}
	c->acts = calloc(n ? n : 1, sizeof(*c->acts));
	c->names = calloc(n ? n : 1, sizeof(*c->names));
	c->ids = calloc(n ? n : 1, sizeof(*c->ids));
	if (!c->acts || !c->names || !c->ids)
		return -ENOMEM;
	c->n = n;
	for (size_t i = 0; i < n; i++) {
		const struct jnode *a;
		const char *id;
		if (c->seed) {
			a = i == 0 ? sa : states->items[i - 1];
			id = i == 0 ? jstr(sa, "Identifier")
				    : states->keys[i - 1];
			if (!id)
				id = "start";
		} else {
			a = acts->items[i];
			id = jstr(a, "Identifier");
		}
		c->acts[i] = a;
		if (a->type != J_OBJ || !id) {
			imp_error(im, a->line, a->col,
				  "action %zu: expected an object with an "
				  "Identifier",
				  i);
			continue;
		}
		for (size_t k = 0; k < i; k++) {
			if (c->ids[k] && !strcmp(c->ids[k], id)) {
				imp_error(im, a->line, a->col,
					  "duplicate action '%.60s'", id);
				id = NULL;
				break;
			}
		}
		c->ids[i] = id;
		if (id)
			imp_node_name(im, id, c->names[i], NAME_LEN);
	}
	return im->nerrors ? -EBADMSG : 0;
}

int import_connect(struct imp *im, const char *buf, size_t len,
		   struct strbuf *out)
{
	struct cx c = { .im = im };
	int err = jdoc_parse(&c.doc, im->file, buf, len, false, im->errs);
	if (err)
		return err;
	c.external = yv_map(im);
	c.agents = yv_map(im);
	const struct jnode *root = c.doc.root;
	if (root->type != J_OBJ) {
		imp_error(im, root->line, root->col,
			  "not an Amazon Connect flow: expected an object");
		err = -EBADMSG;
		goto out;
	}
	err = collect_actions(&c, root);
	if (err)
		goto out;
	for (size_t i = 0; i < c.n; i++) {
		if (c.ids[i])
			do_action(&c, i);
	}
	const char *start = c.n ? c.names[0] : NULL;
	if (!c.seed) {
		const struct jnode *sa = jget(root, "StartAction");
		start = target(&c, sa);
		if (!sa)
			imp_error(im, root->line, root->col,
				  "no \"StartAction\"");
	}
	if (!im->has_connect_event) {
		for (struct yv *e = c.external->first; e; e = e->next)
			imp_declare(im, e->key);
	}
	if (!start || im->nerrors) {
		err = -EBADMSG;
		goto out;
	}
	imp_fold_prompts(im, start);
	const char *name = jstr(jget(root, "Metadata"), "name");
	char *stem = imp_file_stem(im);
	char *hdr = imp_printf(im,
			       "Imported from the Amazon Connect flow %s by "
			       "voxgate flow import.",
			       im->file);
	err = imp_finish(im, name ? name : stem, start, hdr, out);
	free(hdr);
	free(stem);
out:
	yv_free(c.external);
	yv_free(c.agents);
	free(c.acts);
	free(c.names);
	free(c.ids);
	jdoc_fini(&c.doc);
	return err ? err : (im->nerrors ? -EBADMSG : 0);
}
