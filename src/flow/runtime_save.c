/* Snapshots of a flow run as JSON (flow_run_save/flow_run_restore), so a
 * control adapter can keep a call across requests and restarts: the flow
 * stack by names, counters, slot state, the outstanding action's kind and
 * every variable. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "flow/runtime_int.h"

#define SNAPSHOT_VERSION 1
#define SNAPSHOT_MAX (4u * 1024u * 1024u)

static const char *const wait_names[] = {
	[RW_START] = "start",	[RW_PLAYED] = "played",
	[RW_INPUT] = "input",	[RW_TRANSFER] = "transfer",
	[RW_RECORD] = "record", [RW_HTTP] = "http",
	[RW_LOOKUP] = "lookup", [RW_HANGUP] = "hangup",
	[RW_END] = "end",
};

static const char *const fail_names[] = {
	[RF_NONE] = "none",
	[RF_NO_INPUT] = "no_input",
	[RF_NO_MATCH] = "no_match",
};

/* Reasons are static strings: a restored run points at these. */
static const char *const reasons[] = {
	"completed",  "no_input",    "invalid_input", "closed",
	"flow_error", "transferred", "caller_hangup",
};

static const char *static_reason(const char *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (!strcmp(reasons[i], s))
			return reasons[i];
	return "flow_error";
}

static int add_var(const char *name, const char *value, void *arg)
{
	return cJSON_AddStringToObject(arg, name, value) ? 0 : -ENOMEM;
}

static const char *node_name(const struct rt_frame *f, unsigned i)
{
	return i == FLOW_NO_NODE || i >= f->flow->nnodes
		       ? NULL
		       : f->flow->nodes[i].name;
}

static cJSON *add_str_or_null(cJSON *o, const char *k, const char *v)
{
	return v ? cJSON_AddStringToObject(o, k, v)
		 : cJSON_AddNullToObject(o, k);
}

int flow_run_save(const struct flow_run *r, struct strbuf *out)
{
	cJSON *root, *stack, *vars;
	char *text = NULL;
	int err = -ENOMEM;

	if (!r || !out)
		return -EINVAL;
	root = cJSON_CreateObject();
	if (!root)
		return -ENOMEM;
	if (!cJSON_AddNumberToObject(root, "v", SNAPSHOT_VERSION))
		goto out;
	stack = cJSON_AddArrayToObject(root, "stack");
	if (!stack)
		goto out;
	for (unsigned d = 0; d < r->depth; d++) {
		const struct rt_frame *f = &r->stack[d];
		cJSON *o = cJSON_CreateObject();
		const char *ret = NULL;

		if (!o || !cJSON_AddItemToArray(stack, o))
			goto out;
		if (d + 1 < r->depth && f->node != FLOW_NO_NODE)
			ret = node_name(f, f->flow->nodes[f->node].next);
		if (!cJSON_AddStringToObject(o, "flow", f->flow->name) ||
		    !add_str_or_null(o, "node", node_name(f, f->node)) ||
		    !add_str_or_null(o, "return", ret))
			goto out;
	}
	if (!cJSON_AddStringToObject(root, "wait", wait_names[r->wait]) ||
	    !cJSON_AddNumberToObject(root, "attempts", r->attempts) ||
	    !cJSON_AddStringToObject(root, "fail", fail_names[r->fail]) ||
	    !cJSON_AddNumberToObject(root, "hops", r->hops) ||
	    !cJSON_AddBoolToObject(root, "in_error", r->in_err) ||
	    !cJSON_AddNumberToObject(root, "error_count", r->err_count) ||
	    !cJSON_AddBoolToObject(root, "escalating", r->escalating) ||
	    !cJSON_AddStringToObject(root, "escalation_reason",
				     r->esc_reason) ||
	    !add_str_or_null(root, "hangup_reason", r->hangup_reason) ||
	    !cJSON_AddBoolToObject(root, "done", r->done) ||
	    !add_str_or_null(root, "end_reason", r->end_reason) ||
	    !cJSON_AddNumberToObject(root, "now_ms", (double)r->now_ms))
		goto out;
	if (r->slot_on && r->wait == RW_INPUT) {
		const struct flow *f = r->stack[r->depth - 1].flow;
		const struct flow_intent *fi = &f->intents[r->slot_intent];
		cJSON *s = cJSON_AddObjectToObject(root, "slot");

		if (!s || !cJSON_AddStringToObject(s, "intent", fi->name) ||
		    !cJSON_AddStringToObject(s, "slot",
					     fi->slots[r->slot_idx].name) ||
		    !cJSON_AddNumberToObject(s, "attempts", r->slot_attempts) ||
		    !add_str_or_null(
			    s, "next",
			    node_name(&r->stack[r->depth - 1], r->slot_next)))
			goto out;
	}
	vars = cJSON_AddObjectToObject(root, "vars");
	if (!vars || flow_vars_foreach(r->vars, add_var, vars))
		goto out;
	text = cJSON_PrintUnformatted(root);
	if (!text)
		goto out;
	err = strbuf_addstr(out, text);
out:
	cJSON_free(text);
	cJSON_Delete(root);
	return err;
}

/* ---- restore ---- */

static int find_name(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (names[i] && !strcmp(names[i], s))
			return (int)i;
	return -1;
}

static int node_index(const struct flow *f, const char *name, unsigned *out)
{
	if (!name) {
		*out = FLOW_NO_NODE;
		return 0;
	}
	for (unsigned i = 0; i < f->nnodes; i++) {
		if (!strcmp(f->nodes[i].name, name)) {
			*out = i;
			return 0;
		}
	}
	return -ENOENT;
}

static const char *str_of(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool uint_of(const cJSON *o, const char *k, unsigned max, unsigned *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
	    v->valuedouble > (double)max)
		return false;
	*out = (unsigned)v->valuedouble;
	return true;
}

static bool bool_of(const cJSON *o, const char *k)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* Does the top node fit the outstanding action's kind? */
static bool wait_fits(const struct flow_run *r)
{
	const struct rt_frame *t = &r->stack[r->depth - 1];
	enum flow_node_type ty;

	if (r->wait == RW_START)
		return r->depth == 1 && t->node == FLOW_NO_NODE;
	if (r->wait == RW_END || r->wait == RW_HANGUP)
		return true;
	if (r->wait == RW_TRANSFER && r->escalating)
		return true;
	if (t->node == FLOW_NO_NODE)
		return false;
	ty = t->flow->nodes[t->node].type;
	switch (r->wait) {
	case RW_PLAYED:
		return ty == FLOW_NODE_SAY || ty == FLOW_NODE_PLAY;
	case RW_INPUT:
		return ty == FLOW_NODE_MENU || ty == FLOW_NODE_GATHER ||
		       ty == FLOW_NODE_CLASSIFY;
	case RW_TRANSFER:
		return ty == FLOW_NODE_TRANSFER;
	case RW_RECORD:
		return ty == FLOW_NODE_RECORD;
	case RW_HTTP:
		return ty == FLOW_NODE_HTTP;
	case RW_LOOKUP:
		return ty == FLOW_NODE_LOOKUP;
	default:
		return false;
	}
}

static int restore_slot(struct flow_run *r, const cJSON *s)
{
	const struct flow *f = r->stack[r->depth - 1].flow;
	const char *intent = str_of(s, "intent"), *slot = str_of(s, "slot");

	if (!intent || !slot ||
	    !uint_of(s, "attempts", FLOW_RETRIES_MAX + 1, &r->slot_attempts))
		return -EBADMSG;
	for (unsigned i = 0; i < f->nintents; i++) {
		if (strcmp(f->intents[i].name, intent))
			continue;
		for (unsigned j = 0; j < f->intents[i].nslots; j++) {
			if (strcmp(f->intents[i].slots[j].name, slot))
				continue;
			r->slot_on = true;
			r->slot_intent = i;
			r->slot_idx = j;
			if (node_index(f, str_of(s, "next"), &r->slot_next) ||
			    r->slot_next == FLOW_NO_NODE)
				return -ENOENT;
			return 0;
		}
	}
	return -ENOENT;
}

static int restore_state(struct flow_run *r, const cJSON *doc,
			 struct flow *root)
{
	const cJSON *stack = cJSON_GetObjectItemCaseSensitive(doc, "stack");
	const cJSON *vars = cJSON_GetObjectItemCaseSensitive(doc, "vars");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "v");
	const cJSON *slot = cJSON_GetObjectItemCaseSensitive(doc, "slot");
	const cJSON *now = cJSON_GetObjectItemCaseSensitive(doc, "now_ms");
	const cJSON *it;
	int wait, fail, n, err;

	if (!cJSON_IsNumber(v) || v->valueint != SNAPSHOT_VERSION ||
	    !cJSON_IsArray(stack) || !cJSON_IsObject(vars))
		return -EBADMSG;
	n = cJSON_GetArraySize(stack);
	if (n < 1 || n > FLOW_RUN_MAX_DEPTH + 1)
		return -EBADMSG;
	for (int d = 0; d < n; d++) {
		const cJSON *fr = cJSON_GetArrayItem(stack, d);
		const char *fname = str_of(fr, "flow");
		const cJSON *node =
			cJSON_GetObjectItemCaseSensitive(fr, "node");
		struct flow *f;

		if (!fname || !(cJSON_IsString(node) || cJSON_IsNull(node)))
			return -EBADMSG;
		if (d == 0)
			f = strcmp(fname, root->name) ? NULL : root;
		else
			f = r->env.find_flow
				    ? r->env.find_flow(r->env.find_arg, fname)
				    : NULL;
		if (!f)
			return -ENOENT;
		if (d > 0) {
			const struct rt_frame *up = &r->stack[d - 1];

			/* the caller's node must be the subflow call of f */
			if (strcmp(up->flow->nodes[up->node].subflow
					   ? up->flow->nodes[up->node].subflow
					   : "",
				   fname))
				return -EBADMSG;
			r->stack[d].flow = flow_ref(f);
			r->depth = (unsigned)d + 1;
		}
		err = node_index(
			f, cJSON_IsString(node) ? node->valuestring : NULL,
			&r->stack[d].node);
		if (err)
			return err;
		if (d + 1 < n &&
		    (r->stack[d].node == FLOW_NO_NODE ||
		     f->nodes[r->stack[d].node].type != FLOW_NODE_SUBFLOW))
			return -EBADMSG;
	}
	wait = find_name(wait_names, sizeof(wait_names) / sizeof(*wait_names),
			 str_of(doc, "wait"));
	fail = find_name(fail_names, sizeof(fail_names) / sizeof(*fail_names),
			 str_of(doc, "fail"));
	if (wait < 0 || fail < 0 ||
	    !uint_of(doc, "attempts", FLOW_RETRIES_MAX + 1, &r->attempts) ||
	    !uint_of(doc, "hops", FLOW_RUN_MAX_HOPS, &r->hops) ||
	    !uint_of(doc, "error_count", 2, &r->err_count) ||
	    !cJSON_IsNumber(now))
		return -EBADMSG;
	r->wait = (enum rt_wait)wait;
	r->fail = (enum rt_fail)fail;
	r->now_ms = (int64_t)now->valuedouble;
	r->in_err = bool_of(doc, "in_error");
	r->escalating = bool_of(doc, "escalating");
	snprintf(r->esc_reason, sizeof(r->esc_reason), "%s",
		 str_of(doc, "escalation_reason")
			 ? str_of(doc, "escalation_reason")
			 : "");
	r->hangup_reason = static_reason(str_of(doc, "hangup_reason"));
	r->done = bool_of(doc, "done");
	r->end_reason = static_reason(str_of(doc, "end_reason"));
	if (r->done != (r->wait == RW_END))
		return -EBADMSG;
	if (r->wait == RW_HANGUP && !r->hangup_reason)
		return -EBADMSG;
	if (cJSON_IsObject(slot)) {
		err = restore_slot(r, slot);
		if (err)
			return err;
		if (r->wait != RW_INPUT)
			return -EBADMSG;
	}
	if (!wait_fits(r))
		return -EBADMSG;

	flow_vars_destroy(r->vars);
	r->vars = NULL;
	if (flow_vars_create(&r->vars))
		return -ENOMEM;
	cJSON_ArrayForEach(it, vars)
	{
		if (!cJSON_IsString(it) || !it->string)
			return -EBADMSG;
		err = flow_vars_set(r->vars, it->string, it->valuestring);
		if (err)
			return err == -ENOMEM ? err : -EBADMSG;
	}
	if (r->wait == RW_END) {
		r->act.type = FLOW_ACT_END;
		r->act.node = flow_run_node(r);
	}
	return 0;
}

int flow_run_restore(struct flow_run **rp, const char *json, size_t len,
		     struct flow *root, const struct flow_run_env *env)
{
	struct flow_run *r = NULL;
	cJSON *doc;
	int err;

	if (!rp || !json || !root || !env)
		return -EINVAL;
	if (len > SNAPSHOT_MAX)
		return -EBADMSG;
	doc = cJSON_ParseWithLength(json, len);
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		return -EBADMSG;
	}
	err = flow_run_create(&r, root, env);
	if (!err)
		err = restore_state(r, doc, root);
	cJSON_Delete(doc);
	if (err) {
		flow_run_destroy(r);
		return err;
	}
	*rp = r;
	return 0;
}
