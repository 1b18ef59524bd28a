/* Unit tests for the flow runtime's failure paths and protocol: handlers,
 * the built-in escalation, the loop guard, subflow depth, mismatched
 * results, hangups at any time, and save/restore mid-call. */
#include "runtime_driver.h"

static const char *const recursive_yaml =
	"name: rec\n"
	"start: again\n"
	"nodes:\n"
	"  again: {type: subflow, flow: rec, next: end}\n"
	"  end: {type: hangup}\n";

static void too_deep_subflows_escalate_to_an_agent_with_the_reason(void **s)
{
	struct drv d;
	(void)s;
	drv_start(&d, recursive_yaml);
	drv_expect(&d, "transfer:agent");
	assert_true(d.act.transfer.to_agent);
	assert_int_equal(d.act.transfer.ncontext, 1);
	assert_string_equal(d.act.transfer.context_keys[0], "reason");
	assert_string_equal(d.act.transfer.context_values[0], "depth");
	assert_string_equal(drv_var(&d, "error.reason"), "depth");
	assert_string_equal(drv_var(&d, "error.node"), "again");
	/* 1 + 8 nested entries, then the refused ninth */
	assert_string_equal(d.path, "again,again,again,again,again,again,again,"
				    "again,again,");
	/* the agent does not answer: hang up with flow_error */
	drv_step(&d, NULL, "fail 480");
	drv_step(&d, "hangup:flow_error", "hangup");
	drv_expect(&d, "end:flow_error");
	drv_free(&d);

	drv_start(&d, recursive_yaml);
	drv_step(&d, "transfer:agent", "ok 202");
	drv_expect(&d, "end:transferred");
	drv_free(&d);
}

static const char *const handler_yaml =
	"name: hd\n"
	"start: call\n"
	"handlers: {error: oops, no_input: silent, no_match: confused}\n"
	"nodes:\n"
	"  call:\n"
	"    type: http\n"
	"    url: https://api.example.com/x\n"
	"    map: {v: value}\n"
	"    next: menu\n"
	"  oops:\n"
	"    type: say\n"
	"    text: 'error {{error.reason}} at {{error.node}} "
	"({{http.error}})'\n"
	"    next: call\n"
	"  menu:\n"
	"    type: menu\n"
	"    prompt: Press 1.\n"
	"    options: {1: call}\n"
	"    retries: 0\n"
	"  silent: {type: say, text: silent, next: end}\n"
	"  confused: {type: say, text: confused, next: end}\n"
	"  end: {type: hangup}\n";

static void errors_go_to_the_error_handler_then_escalate(void **s)
{
	struct drv d;
	(void)s;
	drv_start(&d, handler_yaml);
	static const char *const sc[][2] = {
		{ "http:GET https://api.example.com/x", "http 200 {bad" },
		{ "say:error http at call (json)", "played" },
		{ "http:*", "httperr -110" },
		{ "say:error http at call (timeout)", "played" },
		/* a third error on the handler's path: escalation */
		{ "http:*", "http 503" },
	};
	DRV_SCRIPT(&d, sc, "transfer:agent");
	assert_string_equal(d.act.transfer.context_values[0], "http");
	drv_free(&d);

	/* an answered turn leaves the error path: errors count afresh */
	drv_start(&d, handler_yaml);
	static const char *const sc2[][2] = {
		{ "http:*", "http 500" },
		{ "say:error*", "played" },
		{ "http:*", "http 200 {\"value\":1}" },
		{ "gather:Press 1.", "dtmf 1" },
		{ "http:*", "http 500" },
		{ "say:error*", "played" },
		{ "http:*", "http 500" },
		{ "say:error*", "played" },
	};
	DRV_SCRIPT(&d, sc2, "http:*");
	drv_free(&d);
}

static void a_subflow_error_uses_the_callers_handler(void **s)
{
	struct drv d;
	(void)s;
	memset(&d, 0, sizeof(d));
	d.f = drv_load("name: top\n"
		       "start: sub\n"
		       "handlers: {error: oops}\n"
		       "nodes:\n"
		       "  sub: {type: subflow, flow: leaf, next: end}\n"
		       "  oops: {type: say, text: 'oops {{error.node}}', next:"
		       " end}\n"
		       "  end: {type: hangup}\n");
	/* leaf: a bad template target takes on_fail, a failed lookup
	 * on_error, which calls leaf2, whose subflow is missing */
	drv_add_sub(&d, "name: leaf\n"
			"start: go\n"
			"variables: {t: 'nowhere'}\n"
			"handlers: {no_input: back}\n"
			"nodes:\n"
			"  go: {type: transfer, target: '{{t}}', on_fail: q}\n"
			"  q: {type: lookup, query: customer, next: back,"
			" on_error: bad}\n"
			"  bad: {type: subflow, flow: leaf2, next: back}\n"
			"  back: {type: return}\n");
	drv_add_sub(&d, "name: leaf2\n"
			"start: x\n"
			"nodes:\n"
			"  x: {type: subflow, flow: missing, next: y}\n"
			"  y: {type: return}\n");
	drv_env(&d, true);
	assert_int_equal(flow_run_create(&d.r, d.f, &d.env), 0);
	drv_step(&d, NULL, "start");
	drv_step(&d, "lookup:1 ", "lookuperr");
	/* leaf2's missing subflow: no handler in leaf2 or leaf, so top's */
	drv_expect(&d, "say:oops x");
	assert_string_equal(flow_run_flow(d.r), "top");
	drv_step(&d, NULL, "played");
	drv_step(&d, "hangup:completed", "hangup");
	drv_free(&d);
}

static void retries_without_on_max_retries_use_the_handlers(void **s)
{
	struct drv d;
	(void)s;
	drv_start(&d, handler_yaml);
	drv_step(&d, "http:*", "http 200 {}");
	drv_step(&d, "gather:Press 1.", "noinput");
	drv_expect(&d, "say:silent");
	drv_free(&d);

	drv_start(&d, handler_yaml);
	drv_step(&d, "http:*", "http 200 {}");
	drv_step(&d, "gather:Press 1.", "dtmf 9");
	drv_expect(&d, "say:confused");
	assert_string_equal(drv_var(&d, "v"), "");
	drv_free(&d);

	/* only max_retries */
	drv_start(&d, "name: mr\n"
		      "start: m\n"
		      "handlers: {max_retries: out}\n"
		      "nodes:\n"
		      "  m: {type: menu, prompt: Go., options: {1: out},"
		      " retries: 1}\n"
		      "  out: {type: hangup, reason: no_input}\n");
	drv_step(&d, "gather:Go.", "dtmf 5");
	drv_step(&d, "gather:Go.", "noinput");
	drv_step(&d, "hangup:no_input", "hangup");
	drv_expect(&d, "end:no_input");
	drv_free(&d);
}

/* 205 gotos in a row (g0 .. g204 -> end), with or without an error
 * handler. */
static char *goto_chain(bool handler)
{
	size_t cap = 64 * 1024, n = 0;
	char *yaml = malloc(cap);
	assert_non_null(yaml);
	n += (size_t)snprintf(yaml + n, cap - n,
			      "name: chain\nstart: g0\n%s"
			      "nodes:\n  end: {type: hangup}\n",
			      handler ? "handlers: {error: bad}\n" : "");
	if (handler)
		n += (size_t)snprintf(yaml + n, cap - n,
				      "  bad: {type: say, text: 'loop at "
				      "{{error.node}}: {{error.reason}}', "
				      "next: end}\n");
	for (int i = 0; i < 205; i++) {
		char next[16];
		snprintf(next, sizeof(next), "g%d", i + 1);
		n += (size_t)snprintf(yaml + n, cap - n,
				      "  g%d: {type: goto, next: %s}\n", i,
				      i == 204 ? "end" : next);
	}
	return yaml;
}

static void a_flow_that_never_waits_trips_the_loop_guard(void **s)
{
	struct drv d;
	char *yaml = goto_chain(true);
	(void)s;
	/* entry 201 (g200) is refused: the error handler */
	drv_start(&d, yaml);
	drv_expect(&d, "say:loop at g200: loop");
	drv_free(&d);
	free(yaml);

	/* without a handler: the built-in escalation */
	yaml = goto_chain(false);
	drv_start(&d, yaml);
	drv_expect(&d, "transfer:agent");
	assert_string_equal(d.act.transfer.context_values[0], "loop");
	drv_free(&d);
	free(yaml);
}

static void mismatched_results_are_refused_and_change_nothing(void **s)
{
	static const char *const yaml =
		"name: mm\n"
		"start: hi\n"
		"nodes:\n"
		"  hi: {type: say, text: Hi., next: m}\n"
		"  m: {type: menu, prompt: Key?, options: {1: end},"
		" on_max_retries: end}\n"
		"  end: {type: hangup}\n";
	struct drv d;
	struct flow_result res = { .type = FLOW_RES_INPUT };
	struct flow_action act;
	(void)s;
	drv_start(&d, yaml);
	drv_expect(&d, "say:Hi.");
	res.input.kind = FLOW_IN_DTMF;
	res.input.digits = "1";
	memset(&act, 0xab, sizeof(act));
	assert_int_equal(flow_run_step(d.r, &res, &act), -EPROTO);
	res.type = FLOW_RES_START;
	assert_int_equal(flow_run_step(d.r, &res, &act), -EPROTO);
	res.type = FLOW_RES_HTTP;
	assert_int_equal(flow_run_step(d.r, &res, &act), -EPROTO);
	assert_int_equal(flow_run_step(NULL, &res, &act), -EINVAL);
	assert_int_equal(flow_run_step(d.r, NULL, &act), -EINVAL);
	/* the outstanding action's strings are still valid */
	assert_string_equal(d.act.say.text, "Hi.");
	assert_string_equal(flow_run_node(d.r), "hi");
	drv_step(&d, "say:Hi.", "played");
	drv_step(&d, "gather:Key?", "dtmf 1");
	drv_step(&d, "hangup:completed", "hangup");
	drv_expect(&d, "end:completed");
	/* after the end: a hangup repeats END, anything else is refused */
	res.type = FLOW_RES_PLAYED;
	assert_int_equal(flow_run_step(d.r, &res, &act), -EPROTO);
	res.type = FLOW_RES_HANGUP;
	assert_int_equal(flow_run_step(d.r, &res, &act), 0);
	assert_int_equal(act.type, FLOW_ACT_END);
	drv_free(&d);
}

static void the_caller_may_hang_up_at_any_time(void **s)
{
	static const char *const yaml =
		"name: hu\n"
		"start: hi\n"
		"handlers: {error: end, max_retries: end}\n"
		"nodes:\n"
		"  hi: {type: say, text: Hi., next: m}\n"
		"  m: {type: menu, prompt: Key?, options: {1: q}}\n"
		"  q: {type: http, url: 'https://x.example/', next: t}\n"
		"  t: {type: transfer, target: agent}\n"
		"  end: {type: hangup}\n";
	static const char *const answers[] = { "played", "dtmf 1", "http 200",
					       "fail 500" };
	(void)s;
	for (size_t stop = 0; stop < 4; stop++) {
		struct drv d;
		drv_start(&d, yaml);
		for (size_t i = 0; i < stop; i++)
			drv_step(&d, NULL, answers[i]);
		assert_false(flow_run_done(d.r));
		drv_step(&d, NULL, "hangup");
		drv_expect(&d, "end:caller_hangup");
		assert_true(flow_run_done(d.r));
		assert_string_equal(flow_run_end_reason(d.r), "caller_hangup");
		drv_free(&d);
	}
}

/* ---- save / restore ---- */

static const char *const saved_yaml =
	"name: sv\n"
	"start: pre\n"
	"intents:\n"
	"  transfer_money:\n"
	"    examples: [i want to send money, transfer money, send money to "
	"my friend]\n"
	"    slots:\n"
	"      amount: {entity: money, required: true, prompt: How much?}\n"
	"  balance:\n"
	"    examples: [what is my balance, check my balance]\n"
	"handlers: {error: end, max_retries: end}\n"
	"variables: {n: '0', name: ''}\n"
	"nodes:\n"
	"  pre: {type: set, vars: {n: '1'}, next: sub}\n"
	"  sub: {type: subflow, flow: inner, next: ask}\n"
	"  ask:\n"
	"    type: classify\n"
	"    prompt: 'Hello {{name}}, how can I help?'\n"
	"    intents: {transfer_money: send, balance: end}\n"
	"    confidence: {high: 0.5, low: 0.2}\n"
	"  send: {type: say, text: 'Send {{slots.amount}} for {{name}}', "
	"next: end}\n"
	"  end: {type: hangup}\n";

static const char *const inner_yaml =
	"name: inner\n"
	"start: who\n"
	"variables: {name: ''}\n"
	"handlers: {max_retries: back}\n"
	"nodes:\n"
	"  who: {type: gather, prompt: Name?, input: speech, into: name,"
	" next: back, no_input: Again., retries: 1}\n"
	"  back: {type: return}\n";

/* Run a and b (a restored copy) in lockstep on the same answers. */
static void lockstep(struct drv *a, struct flow_run *b,
		     const char *const *answers, size_t n)
{
	struct flow_action act_b;
	for (size_t i = 0; i < n; i++) {
		char scratch[512];
		struct flow_result res;
		drv_result(a, answers[i], &res, scratch, sizeof(scratch));
		assert_int_equal(flow_run_step(a->r, &res, &a->act), 0);
		assert_int_equal(flow_run_step(b, &res, &act_b), 0);
		/* same action from both */
		struct flow_run *keep = a->r;
		struct flow_action keep_act = a->act;
		drv_describe(a);
		char da[DRV_LOG_MAX];
		memcpy(da, a->desc, sizeof(da));
		a->r = b;
		a->act = act_b;
		drv_describe(a);
		assert_string_equal(da, a->desc);
		a->r = keep;
		a->act = keep_act;
	}
}

static int cmp_var(const char *name, const char *value, void *arg)
{
	const char *o = flow_vars_get(arg, name);
	if (!o || strcmp(o, value)) {
		fprintf(stderr, "var %s: %s vs %s\n", name, value,
			o ? o : "(unset)");
		return 1;
	}
	return 0;
}

static void a_saved_run_restores_and_continues_the_same(void **s)
{
	struct drv d;
	struct strbuf sb;
	struct flow_run *r2 = NULL;
	(void)s;
	memset(&d, 0, sizeof(d));
	d.now_ms = 1795500000000LL;
	d.f = drv_load(saved_yaml);
	drv_add_sub(&d, inner_yaml);
	drv_env(&d, true);
	assert_int_equal(flow_run_create(&d.r, d.f, &d.env), 0);
	drv_step(&d, NULL, "start");
	/* inside the subflow, after one failed try */
	drv_step(&d, "gather:Name?", "noinput");
	drv_expect(&d, "gather:Again. + Name?");

	strbuf_init(&sb, 1u << 20);
	assert_int_equal(flow_run_save(d.r, &sb), 0);
	assert_non_null(strstr(strbuf_str(&sb), "\"flow\":\"inner\""));
	assert_int_equal(flow_run_restore(&r2, sb.buf, sb.len, d.f, &d.env), 0);
	assert_string_equal(flow_run_flow(r2), "inner");
	assert_string_equal(flow_run_node(r2), "who");
	assert_int_equal(flow_vars_foreach(flow_run_vars(d.r), cmp_var,
					   (void *)flow_run_vars(r2)),
			 0);
	assert_int_equal(flow_vars_count(flow_run_vars(d.r)),
			 flow_vars_count(flow_run_vars(r2)));
	/* the retry count survived: one more no input is the last */
	static const char *const ans[] = { "noinput", "speech i want to send "
						      "money" };
	lockstep(&d, r2, ans, 1);
	drv_expect(&d, "gather:Hello , how can I help?");
	lockstep(&d, r2, ans + 1, 1);
	drv_expect(&d, "gather:How much?");

	/* mid slot filling: save, restore, continue */
	strbuf_fini(&sb);
	strbuf_init(&sb, 1u << 20);
	assert_int_equal(flow_run_save(d.r, &sb), 0);
	assert_non_null(strstr(strbuf_str(&sb), "\"slot\":{"));
	flow_run_destroy(r2);
	r2 = NULL;
	assert_int_equal(flow_run_restore(&r2, sb.buf, sb.len, d.f, &d.env), 0);
	static const char *const ans2[] = { "speech ten dollars", "played",
					    "hangup" };
	lockstep(&d, r2, ans2, 3);
	drv_expect(&d, "end:completed");
	assert_true(flow_run_done(r2));
	assert_string_equal(flow_run_end_reason(r2), "completed");
	assert_string_equal(flow_vars_get(flow_run_vars(r2), "slots.amount"),
			    "10.00");
	assert_string_equal(flow_vars_get(flow_run_vars(r2), "name"), "");
	flow_run_destroy(r2);
	strbuf_fini(&sb);
	drv_free(&d);
}

static void bad_snapshots_are_refused(void **s)
{
	struct drv d;
	struct strbuf sb;
	struct flow_run *r2 = NULL;
	(void)s;
	memset(&d, 0, sizeof(d));
	d.f = drv_load(saved_yaml);
	drv_add_sub(&d, inner_yaml);
	drv_env(&d, true);
	assert_int_equal(flow_run_create(&d.r, d.f, &d.env), 0);
	drv_step(&d, NULL, "start");
	strbuf_init(&sb, 1u << 20);
	assert_int_equal(flow_run_save(d.r, &sb), 0);
	const char *good = strbuf_str(&sb);

	static const char *const bad[] = {
		"",
		"{",
		"[]",
		"{\"v\":1}",
		"{\"v\":2,\"stack\":[],\"vars\":{}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(flow_run_restore(&r2, bad[i], strlen(bad[i]),
						  d.f, &d.env),
				 -EBADMSG);
	/* edits of the good snapshot */
	static const struct {
		const char *from, *to;
		int err;
	} edits[] = {
		{ "\"flow\":\"inner\"", "\"flow\":\"gone\"", -ENOENT },
		{ "\"node\":\"who\"", "\"node\":\"nobody\"", -ENOENT },
		{ "\"wait\":\"input\"", "\"wait\":\"http\"", -EBADMSG },
		{ "\"wait\":\"input\"", "\"wait\":\"bogus\"", -EBADMSG },
		{ "\"hops\":", "\"hops\":-", -EBADMSG },
		{ "\"call.id\":\"call-1\"", "\"call..id\":\"x\"", -EBADMSG },
		{ "\"v\":1", "\"v\":7", -EBADMSG },
	};
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		char buf[8192];
		const char *at = strstr(good, edits[i].from);
		assert_non_null(at);
		snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - good), good,
			 edits[i].to, at + strlen(edits[i].from));
		int rc = flow_run_restore(&r2, buf, strlen(buf), d.f, &d.env);
		if (rc != edits[i].err)
			fail_msg("edit %zu: %d, want %d", i, rc, edits[i].err);
		assert_null(r2);
	}
	/* another root flow */
	struct flow *other = drv_load(inner_yaml);
	assert_int_equal(
		flow_run_restore(&r2, good, strlen(good), other, &d.env),
		-ENOENT);
	flow_deref(other);
	assert_int_equal(flow_run_restore(&r2, good, strlen(good), d.f, &d.env),
			 0);
	flow_run_destroy(r2);
	strbuf_fini(&sb);
	drv_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			too_deep_subflows_escalate_to_an_agent_with_the_reason),
		cmocka_unit_test(errors_go_to_the_error_handler_then_escalate),
		cmocka_unit_test(a_subflow_error_uses_the_callers_handler),
		cmocka_unit_test(
			retries_without_on_max_retries_use_the_handlers),
		cmocka_unit_test(a_flow_that_never_waits_trips_the_loop_guard),
		cmocka_unit_test(
			mismatched_results_are_refused_and_change_nothing),
		cmocka_unit_test(the_caller_may_hang_up_at_any_time),
		cmocka_unit_test(a_saved_run_restores_and_continues_the_same),
		cmocka_unit_test(bad_snapshots_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
