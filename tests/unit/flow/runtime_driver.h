/* A scripted caller for the flow runtime tests: loads YAML flows, answers
 * each action from a script on a virtual clock and checks what the runtime
 * asks for. Header-only (static functions): included by the
 * test_flow_runtime*.c binaries. */
#ifndef VG_TEST_FLOW_RUNTIME_DRIVER_H
#define VG_TEST_FLOW_RUNTIME_DRIVER_H
#include <errno.h>
#include <fnmatch.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/strbuf.h"
#include "flow/flow.h"
#include "flow/runtime.h"
#include "flow/vars.h"

#define DRV_SUBS_MAX 12
#define DRV_LOG_MAX 8192

struct drv {
	struct flow *f;
	struct flow_run *r;
	struct flow_run_env env;
	struct flow_action act;
	int64_t now_ms; /* virtual clock: +1 s per step */
	struct flow *subs[DRV_SUBS_MAX];
	unsigned nsubs;
	char path[DRV_LOG_MAX];	 /* on_node: "flow/node," ... */
	char turns[DRV_LOG_MAX]; /* on_turn: "node:input:match:next;" */
	char desc[DRV_LOG_MAX];	 /* the current action described */
};

static inline struct flow *drv_load(const char *yaml)
{
	struct flow_errors errs = { 0 };
	struct flow *f = NULL;
	int err = flow_load_buf("/tmp/vg_rt_test.yaml", yaml, strlen(yaml), &f,
				&errs);
	if (err) {
		for (size_t i = 0; i < errs.count; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		fail_msg("flow did not load: %d", err);
	}
	return f;
}

static inline struct flow *drv_find_flow(void *arg, const char *name)
{
	struct drv *d = arg;
	for (unsigned i = 0; i < d->nsubs; i++)
		if (!strcmp(flow_name(d->subs[i]), name))
			return d->subs[i];
	if (!strcmp(flow_name(d->f), name))
		return d->f;
	return NULL;
}

static inline void drv_on_node(void *arg, const char *flow, const char *node)
{
	struct drv *d = arg;
	size_t n = strlen(d->path);
	snprintf(d->path + n, sizeof(d->path) - n, "%s,", node);
	(void)flow;
}

static inline void drv_on_turn(void *arg, const struct flow_turn_info *t)
{
	struct drv *d = arg;
	size_t n = strlen(d->turns);
	snprintf(d->turns + n, sizeof(d->turns) - n, "%s:%s:%s:%s;", t->node,
		 t->input, t->match ? t->match : "-", t->next ? t->next : "-");
}

static inline void drv_env(struct drv *d, bool speech)
{
	memset(&d->env, 0, sizeof(d->env));
	d->env.find_flow = drv_find_flow;
	d->env.find_arg = d;
	d->env.on_node = drv_on_node;
	d->env.on_turn = drv_on_turn;
	d->env.cb_arg = d;
	d->env.call_id = "call-1";
	d->env.from = "+14155550100";
	d->env.to = "+18005550199";
	d->env.channel = "sip";
	d->env.speech = speech;
	d->env.audio = true;
}

static inline void drv_describe(struct drv *d)
{
	const struct flow_action *a = &d->act;
	char *b = d->desc;
	size_t cap = sizeof(d->desc);
	switch (a->type) {
	case FLOW_ACT_SAY:
		snprintf(b, cap, "say:%s", a->say.text);
		break;
	case FLOW_ACT_PLAY:
		snprintf(b, cap, "play:%s", a->play.file);
		break;
	case FLOW_ACT_GATHER: {
		size_t n = (size_t)snprintf(b, cap, "gather:");
		for (unsigned i = 0; i < a->gather.nprompts && n < cap; i++)
			n += (size_t)snprintf(b + n, cap - n, "%s%s",
					      i ? " + " : "",
					      a->gather.prompts[i].text);
		break;
	}
	case FLOW_ACT_TRANSFER:
		snprintf(b, cap, "transfer:%s", a->transfer.target);
		break;
	case FLOW_ACT_RECORD:
		snprintf(b, cap, "record:%d", a->record.action);
		break;
	case FLOW_ACT_HTTP:
		snprintf(b, cap, "http:%s %s", a->http.method, a->http.url);
		break;
	case FLOW_ACT_LOOKUP:
		snprintf(b, cap, "lookup:%d %s", a->lookup.query,
			 a->lookup.key);
		break;
	case FLOW_ACT_HANGUP:
		snprintf(b, cap, "hangup:%s", a->hangup.reason);
		break;
	case FLOW_ACT_END:
		snprintf(b, cap, "end:%s",
			 flow_run_end_reason(d->r) ? flow_run_end_reason(d->r)
						   : "?");
		break;
	}
}

/* Build a result from a script answer (see drv_step). */
static inline void drv_result(struct drv *d, const char *ans,
			      struct flow_result *res, char *scratch,
			      size_t cap)
{
	memset(res, 0, sizeof(*res));
	d->now_ms += 1000;
	res->now_ms = d->now_ms;
	snprintf(scratch, cap, "%s", ans);
	char *arg = strchr(scratch, ' ');
	if (arg)
		*arg++ = '\0';
	else
		arg = scratch + strlen(scratch);
	const char *w = scratch;
	if (!strcmp(w, "start")) {
		res->type = FLOW_RES_START;
	} else if (!strcmp(w, "played")) {
		res->type = FLOW_RES_PLAYED;
	} else if (!strcmp(w, "playfail")) {
		res->type = FLOW_RES_PLAYED;
		res->err = -EIO;
	} else if (!strcmp(w, "dtmf")) {
		res->type = FLOW_RES_INPUT;
		res->input.kind = FLOW_IN_DTMF;
		res->input.digits = arg;
	} else if (!strcmp(w, "speech")) {
		res->type = FLOW_RES_INPUT;
		res->input.kind = FLOW_IN_SPEECH;
		res->input.transcript = arg;
		res->input.stt_confidence = 0.87f;
		res->input.stt_engine = "test";
	} else if (!strcmp(w, "intent")) { /* intent NAME CONF TEXT */
		char *name = arg, *conf = strchr(name, ' ');
		assert_non_null(conf);
		*conf++ = '\0';
		char *text = strchr(conf, ' ');
		assert_non_null(text);
		*text++ = '\0';
		res->type = FLOW_RES_INPUT;
		res->input.kind = FLOW_IN_SPEECH;
		res->input.transcript = text;
		res->input.stt_confidence = 0.9f;
		res->input.intent = name;
		res->input.intent_confidence = strtof(conf, NULL);
	} else if (!strcmp(w, "noinput")) {
		res->type = FLOW_RES_INPUT;
		res->input.kind = FLOW_IN_NO_INPUT;
	} else if (!strcmp(w, "inerror")) {
		res->type = FLOW_RES_INPUT;
		res->input.kind = FLOW_IN_ERROR;
	} else if (!strcmp(w, "ok") || !strcmp(w, "fail")) {
		res->type = FLOW_RES_TRANSFERRED;
		res->transferred.ok = w[0] == 'o';
		res->transferred.status = atoi(arg);
	} else if (!strcmp(w, "recorded")) {
		res->type = FLOW_RES_RECORDED;
	} else if (!strcmp(w, "http")) { /* http STATUS BODY */
		res->type = FLOW_RES_HTTP;
		res->http.status = atoi(arg);
		char *body = strchr(arg, ' ');
		if (body) {
			res->http.body = body + 1;
			res->http.body_len = strlen(body + 1);
		}
	} else if (!strcmp(w, "httperr")) { /* httperr -ERRNO */
		res->type = FLOW_RES_HTTP;
		res->err = atoi(arg);
	} else if (!strcmp(w, "lookup")) { /* lookup JSON */
		res->type = FLOW_RES_LOOKUP;
		res->lookup.json = arg;
		res->lookup.json_len = strlen(arg);
	} else if (!strcmp(w, "notfound")) {
		res->type = FLOW_RES_LOOKUP;
		res->err = -ENOENT;
	} else if (!strcmp(w, "lookuperr")) {
		res->type = FLOW_RES_LOOKUP;
		res->err = -EIO;
	} else if (!strcmp(w, "hangup")) {
		res->type = FLOW_RES_HANGUP;
	} else {
		fail_msg("bad script answer '%s'", ans);
	}
}

/* Check the outstanding action against a pattern (fnmatch), then answer
 * it: start, played, playfail, dtmf KEYS, speech TEXT, intent NAME CONF
 * TEXT, noinput, inerror, ok|fail STATUS, recorded, http STATUS [BODY],
 * httperr -ERRNO, lookup JSON, notfound, lookuperr, hangup. */
static inline void drv_step(struct drv *d, const char *expect, const char *ans)
{
	char scratch[16384];
	struct flow_result res;
	if (expect) {
		drv_describe(d);
		if (fnmatch(expect, d->desc, 0))
			fail_msg("expected '%s', got '%s' (path %s)", expect,
				 d->desc, d->path);
	}
	drv_result(d, ans, &res, scratch, sizeof(scratch));
	int rc = flow_run_step(d->r, &res, &d->act);
	if (rc)
		fail_msg("step '%s' failed: %d", ans, rc);
}

static inline void drv_expect(struct drv *d, const char *expect)
{
	drv_describe(d);
	if (fnmatch(expect, d->desc, 0))
		fail_msg("expected '%s', got '%s' (path %s)", expect, d->desc,
			 d->path);
}

static inline void drv_start_with(struct drv *d, const char *yaml, bool speech)
{
	memset(d, 0, sizeof(*d));
	d->now_ms = 1795500000000LL; /* 2026-11-24 */
	d->f = drv_load(yaml);
	drv_env(d, speech);
	assert_int_equal(flow_run_create(&d->r, d->f, &d->env), 0);
	drv_step(d, NULL, "start");
}

static inline void drv_start(struct drv *d, const char *yaml)
{
	drv_start_with(d, yaml, true);
}

static inline void drv_add_sub(struct drv *d, const char *yaml)
{
	assert_true(d->nsubs < DRV_SUBS_MAX);
	d->subs[d->nsubs++] = drv_load(yaml);
}

static inline void drv_free(struct drv *d)
{
	flow_run_destroy(d->r);
	d->r = NULL;
	flow_deref(d->f);
	for (unsigned i = 0; i < d->nsubs; i++)
		flow_deref(d->subs[i]);
	d->nsubs = 0;
}

static inline const char *drv_var(struct drv *d, const char *name)
{
	const char *v = flow_vars_get(flow_run_vars(d->r), name);
	return v ? v : "(unset)";
}

/* Run a script of {expect, answer} pairs; then expect final (e.g.
 * "end:completed"). */
static inline void drv_script(struct drv *d, const char *const (*s)[2],
			      size_t n, const char *final)
{
	for (size_t i = 0; i < n; i++)
		drv_step(d, s[i][0], s[i][1]);
	if (final)
		drv_expect(d, final);
}

#define DRV_SCRIPT(d, s, final) \
	drv_script(d, s, sizeof(s) / sizeof(s[0]), final)
#endif
