/* Unit tests for the control adapters' flow sessions (ctlsess): path and
 * turn records, call events, the saved state round trip, malformed saved
 * states, and held back-end requests (answer, timeout, session gone). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <cmocka.h>
#include <re.h>

#include "control/ctlsess.h"
#include "flow/flow.h"
#include "flow/runtime.h"
#include "metrics/metrics.h"

static const char *const menu_yaml = "name: menu\n"
				     "start: hello\n"
				     "nodes:\n"
				     "  hello:\n"
				     "    type: say\n"
				     "    text: Hello.\n"
				     "    next: main\n"
				     "  main:\n"
				     "    type: menu\n"
				     "    prompt: Press 1 or 2.\n"
				     "    input: both\n"
				     "    options:\n"
				     "      1: {next: one, say: [one]}\n"
				     "      2: two\n"
				     "    on_max_retries: bye\n"
				     "  one:\n"
				     "    type: say\n"
				     "    text: You chose one.\n"
				     "    next: bye\n"
				     "  two:\n"
				     "    type: say\n"
				     "    text: You chose two.\n"
				     "    next: bye\n"
				     "  bye:\n"
				     "    type: hangup\n";

static const char *const http_yaml = "name: web\n"
				     "start: ask\n"
				     "nodes:\n"
				     "  ask:\n"
				     "    type: http\n"
				     "    url: http://127.0.0.1/x\n"
				     "    next: ok\n"
				     "    on_error: bad\n"
				     "  ok:\n"
				     "    type: say\n"
				     "    text: fine\n"
				     "    next: bye\n"
				     "  bad:\n"
				     "    type: say\n"
				     "    text: broken\n"
				     "    next: bye\n"
				     "  bye:\n"
				     "    type: hangup\n";

/* The test's back-end and its record of what the sessions did. */
struct fx {
	struct flow *menu, *web;
	struct flow_backend backend;
	struct ctlsess_host host;
	char events[2048]; /* "name:fields;" */
	unsigned nturns_hook;
	unsigned ndrive, ntimeout;
	int drive_err;
	/* the http back-end's pending request */
	flow_backend_done_fn *done;
	void *done_arg;
	int http_refuse; /* returned by http when not 0 */
};

static struct fx *g_fx;

static void ev_fn(void *ctx, const char *event, const char *call_id,
		  const char *json)
{
	struct fx *x = ctx;
	size_t n = strlen(x->events);
	(void)call_id;
	snprintf(x->events + n, sizeof(x->events) - n, "%s:%s;", event, json);
}

static struct flow *find_flow_fn(void *ctx, const char *name)
{
	struct fx *x = ctx;
	if (!strcmp(name, "menu"))
		return x->menu;
	if (!strcmp(name, "web"))
		return x->web;
	return NULL;
}

static int http_fn(void *ctx, const struct flow_action *a, struct vg_loop *loop,
		   flow_backend_done_fn *done, void *arg)
{
	struct fx *x = ctx;
	(void)a;
	(void)loop;
	if (x->http_refuse)
		return x->http_refuse;
	x->done = done;
	x->done_arg = arg;
	return 0;
}

static void drive_fn(struct ctlsess *s, const struct flow_result *res)
{
	(void)s;
	g_fx->ndrive++;
	g_fx->drive_err = res->err;
}

static void timeout_fn(struct ctlsess *s)
{
	(void)s;
	g_fx->ntimeout++;
	re_cancel();
}

static void turn_fn(struct ctlsess *s, const struct flow_turn_info *ti)
{
	(void)s;
	(void)ti;
	g_fx->nturns_hook++;
}

static bool state_add_fn(struct ctlsess *s, cJSON *o)
{
	(void)s;
	return cJSON_AddStringToObject(o, "extra", "x") != NULL;
}

static struct flow *load(const char *yaml)
{
	struct flow *f = NULL;
	struct flow_errors errs = { 0 };
	int err = flow_load_buf("/tmp/vg_ctlsess_test.yaml", yaml, strlen(yaml),
				&f, &errs);
	for (size_t i = 0; err && i < errs.count; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	flow_errors_clear(&errs);
	assert_int_equal(err, 0);
	return f;
}

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	if (!x)
		return -1;
	x->menu = load(menu_yaml);
	x->web = load(http_yaml);
	x->backend = (struct flow_backend){ .event = ev_fn,
					    .find_flow = find_flow_fn,
					    .http = http_fn,
					    .ctx = x };
	x->host = (struct ctlsess_host){
		.backend = &x->backend,
		.platform = "test",
		.channel = "test-ch",
		.log_name = "test",
		.stt_engine = "eng",
		.timeout_ms = 20,
		.drive = drive_fn,
		.timeout = timeout_fn,
		.turn = turn_fn,
		.state_add = state_add_fn,
	};
	g_fx = x;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;
	flow_deref(x->menu);
	flow_deref(x->web);
	free(x);
	g_fx = NULL;
	return 0;
}

/* Step s from res until a gather or the end; returns the last action. */
static enum flow_act_type run_to_wait(struct ctlsess *s,
				      const struct flow_result *first)
{
	struct flow_action act;
	struct flow_result next = *first;
	for (;;) {
		assert_int_equal(ctlsess_step(s, &next, &act), 0);
		next = (struct flow_result){ .now_ms = 1000 };
		switch (act.type) {
		case FLOW_ACT_SAY:
		case FLOW_ACT_PLAY:
			next.type = FLOW_RES_PLAYED;
			break;
		case FLOW_ACT_HANGUP:
			next.type = FLOW_RES_HANGUP;
			break;
		default:
			return act.type;
		}
	}
}

static const struct flow_result start = { .type = FLOW_RES_START,
					  .now_ms = 1000 };

static char *print(const cJSON *o)
{
	char *t = cJSON_PrintUnformatted(o);
	assert_non_null(t);
	return t;
}

static void a_session_records_its_path_turns_and_events(void **state)
{
	struct fx *x = *state;
	struct ctlsess s;
	assert_int_equal(ctlsess_init(&s, &x->host, "S1", "menu", "+1", "+2"),
			 0);
	assert_int_equal(ctlsess_run_create(&s, x->menu), 0);
	ctlsess_begin(&s);
	assert_true(s.started_ms > 0);
	assert_non_null(strstr(x->events, "started:{\"flow\":\"menu\","
					  "\"from\":\"+1\",\"to\":\"+2\","
					  "\"channel\":\"test-ch\"}"));
	assert_int_equal(run_to_wait(&s, &start), FLOW_ACT_GATHER);
	s.stt_conf = 0.75f;
	struct flow_result in = { .type = FLOW_RES_INPUT, .now_ms = 2000 };
	in.input.kind = FLOW_IN_SPEECH;
	in.input.transcript = "one";
	in.input.stt_confidence = 0.75f;
	assert_int_equal(run_to_wait(&s, &in), FLOW_ACT_END);
	char *path = print(s.path);
	assert_string_equal(path, "[\"hello\",\"main\",\"one\",\"bye\"]");
	free(path);
	assert_int_equal(cJSON_GetArraySize(s.turns), 1);
	const cJSON *t = cJSON_GetArrayItem(s.turns, 0);
	assert_string_equal(cJSON_GetObjectItem(t, "stt_engine")->valuestring,
			    "eng");
	assert_string_equal(cJSON_GetObjectItem(t, "transcript")->valuestring,
			    "one");
	assert_string_equal(cJSON_GetObjectItem(t, "end")->valuestring,
			    "speech");
	assert_string_equal(cJSON_GetObjectItem(t, "next")->valuestring, "one");
	assert_int_equal(x->nturns_hook, 1);
	ctlsess_end(&s, "completed");
	assert_non_null(strstr(x->events, "ended:{\"reason\":\"completed\","
					  "\"node\":\"bye\","
					  "\"flow\":\"menu\"}"));
	ctlsess_fini(&s);
}

static void text_turns_and_quiet_hosts(void **state)
{
	struct fx *x = *state;
	x->host.stt_engine = NULL;
	x->host.no_call_events = true;
	struct ctlsess s;
	assert_int_equal(ctlsess_init(&s, &x->host, "S2", "menu", NULL, NULL),
			 0);
	assert_string_equal(s.from, "");
	assert_int_equal(ctlsess_run_create(&s, x->menu), 0);
	ctlsess_begin(&s);
	assert_int_equal(run_to_wait(&s, &start), FLOW_ACT_GATHER);
	struct flow_result in = { .type = FLOW_RES_INPUT, .now_ms = 2000 };
	in.input.kind = FLOW_IN_DTMF;
	in.input.digits = "2";
	assert_int_equal(run_to_wait(&s, &in), FLOW_ACT_END);
	const cJSON *t = cJSON_GetArrayItem(s.turns, 0);
	assert_non_null(t);
	/* No STT engine: a text or keypad session, which cannot know them. */
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(t, "stt_engine")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(t, "barge_in")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(t, "speech_ms")));
	assert_string_equal(cJSON_GetObjectItem(t, "input")->valuestring,
			    "dtmf");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(
		cJSON_GetObjectItem(t, "t_ms"), "stt_final")));
	assert_string_equal(cJSON_GetObjectItem(t, "next")->valuestring, "two");
	ctlsess_end(&s, "completed");
	assert_string_equal(x->events, "");
	ctlsess_fini(&s);
}

static void the_saved_state_restores_the_run_path_and_turns(void **state)
{
	struct fx *x = *state;
	struct ctlsess a, b;
	assert_int_equal(ctlsess_init(&a, &x->host, "S3", "menu", "+1", "+2"),
			 0);
	char *txt = NULL;
	assert_int_equal(ctlsess_state_print(&a, &txt), -EINVAL); /* no run */
	assert_int_equal(ctlsess_run_create(&a, x->menu), 0);
	ctlsess_begin(&a);
	snprintf(a.dtmf, sizeof(a.dtmf), "9");
	assert_int_equal(run_to_wait(&a, &start), FLOW_ACT_GATHER);
	assert_int_equal(ctlsess_state_print(&a, &txt), 0);
	cJSON *o = cJSON_Parse(txt);
	free(txt);
	assert_int_equal(ctlsess_state_check(o), 0);
	assert_string_equal(ctlsess_state_str(o, "extra"), "x");
	assert_string_equal(ctlsess_state_str(o, "from"), "+1");
	assert_true(ctlsess_state_num(o, "started_ms", 0) ==
		    (double)a.started_ms);
	assert_int_equal(ctlsess_init(&b, &x->host, "S3",
				      ctlsess_state_str(o, "flow"), "+1", "+2"),
			 0);
	assert_int_equal(ctlsess_restore(&b, o), 0);
	cJSON_Delete(o);
	assert_true(b.started_ms == a.started_ms);
	assert_string_equal(b.dtmf, "9");
	assert_string_equal(flow_run_node(b.run), "main");
	struct flow_result in = { .type = FLOW_RES_INPUT, .now_ms = 2000 };
	in.input.kind = FLOW_IN_DTMF;
	in.input.digits = "1";
	assert_int_equal(run_to_wait(&b, &in), FLOW_ACT_END);
	char *path = print(b.path);
	assert_string_equal(path, "[\"hello\",\"main\",\"one\",\"bye\"]");
	free(path);
	ctlsess_fini(&a);
	ctlsess_fini(&b);
}

static void malformed_saved_states_are_refused(void **state)
{
	struct fx *x = *state;
	static const char *const bad[] = {
		"",
		"[]",
		"{\"flow\":\"menu\"}",
		"{\"flow\":\"menu\",\"run\":3}",
		"{\"flow\":7,\"run\":{}}",
		"{\"run\":{}}",
		"{\"flow\":\"menu\",\"run\":{\"v\":\"x\"}",
	};
	assert_int_equal(ctlsess_state_check(NULL), -EBADMSG);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *o = cJSON_Parse(bad[i]);
		struct ctlsess s;
		assert_int_equal(ctlsess_state_check(o), -EBADMSG);
		assert_int_equal(
			ctlsess_init(&s, &x->host, "B", "menu", NULL, NULL), 0);
		assert_int_equal(ctlsess_restore(&s, o), -EBADMSG);
		assert_null(s.run);
		ctlsess_fini(&s);
		cJSON_Delete(o);
	}
	/* Well formed, but the flow is gone or the run is not one. */
	struct ctlsess s;
	cJSON *o = cJSON_Parse("{\"flow\":\"gone\",\"run\":{}}");
	assert_int_equal(ctlsess_init(&s, &x->host, "B", "gone", NULL, NULL),
			 0);
	assert_int_equal(ctlsess_restore(&s, o), -ENOENT);
	ctlsess_fini(&s);
	cJSON_Delete(o);
	o = cJSON_Parse("{\"flow\":\"menu\",\"run\":{\"junk\":1}}");
	assert_int_equal(ctlsess_init(&s, &x->host, "B", "menu", NULL, NULL),
			 0);
	assert_int_not_equal(ctlsess_restore(&s, o), 0);
	assert_null(s.run);
	ctlsess_fini(&s);
	cJSON_Delete(o);
}

static void http_action(struct ctlsess *s, struct flow_action *act)
{
	assert_int_equal(ctlsess_step(s, &start, act), 0);
	assert_int_equal(act->type, FLOW_ACT_HTTP);
}

static void a_back_end_answer_continues_the_session(void **state)
{
	struct fx *x = *state;
	struct ctlsess s;
	struct flow_action act;
	struct flow_result fail;
	assert_int_equal(ctlsess_init(&s, &x->host, "H1", "web", NULL, NULL),
			 0);
	assert_int_equal(ctlsess_run_create(&s, x->web), 0);
	http_action(&s, &act);
	assert_int_equal(ctlsess_backend_start(&s, &act, &fail), 0);
	assert_non_null(s.breq);
	struct flow_result res = { .type = FLOW_RES_HTTP, .err = -EIO };
	x->done(&res, x->done_arg);
	assert_int_equal(x->ndrive, 1);
	assert_int_equal(x->drive_err, -EIO);
	assert_null(s.breq);
	/* a back-end that refuses, and none at all */
	x->http_refuse = -EAGAIN;
	assert_int_equal(ctlsess_backend_start(&s, &act, &fail), -EAGAIN);
	assert_int_equal(fail.err, -EAGAIN);
	assert_null(s.breq);
	x->backend.http = NULL;
	assert_int_equal(ctlsess_backend_start(&s, &act, &fail), -ENOTSUP);
	assert_int_equal(fail.type, FLOW_RES_HTTP);
	assert_int_equal(fail.err, -ENOTSUP);
	ctlsess_fini(&s);
}

static void an_answer_after_the_session_is_gone_is_dropped(void **state)
{
	struct fx *x = *state;
	struct ctlsess s;
	struct flow_action act;
	struct flow_result fail;
	assert_int_equal(ctlsess_init(&s, &x->host, "H2", "web", NULL, NULL),
			 0);
	assert_int_equal(ctlsess_run_create(&s, x->web), 0);
	http_action(&s, &act);
	assert_int_equal(ctlsess_backend_start(&s, &act, &fail), 0);
	ctlsess_fini(&s);
	struct flow_result res = { .type = FLOW_RES_HTTP };
	x->done(&res, x->done_arg); /* frees the request, nothing else */
	assert_int_equal(x->ndrive, 0);
	assert_int_equal(x->ntimeout, 0);
}

static void a_late_back_end_times_out_once(void **state)
{
	struct fx *x = *state;
	struct ctlsess s;
	struct flow_action act;
	struct flow_result fail;
	assert_int_equal(ctlsess_init(&s, &x->host, "H3", "web", NULL, NULL),
			 0);
	assert_int_equal(ctlsess_run_create(&s, x->web), 0);
	http_action(&s, &act);
	assert_int_equal(ctlsess_backend_start(&s, &act, &fail), 0);
	(void)re_main(NULL); /* timeout_fn cancels */
	assert_int_equal(x->ntimeout, 1);
	assert_null(s.breq);
	struct flow_result res = { .type = FLOW_RES_HTTP };
	x->done(&res, x->done_arg); /* the late answer is dropped */
	assert_int_equal(x->ndrive, 0);
	assert_int_equal(x->ntimeout, 1);
	ctlsess_fini(&s);
}

static void sessions_are_found_by_id_and_unlinked(void **state)
{
	struct fx *x = *state;
	struct ctlsess a, b;
	struct ctlsess_list l = { 0 };
	assert_int_equal(ctlsess_init(&a, &x->host, "A", "menu", NULL, NULL),
			 0);
	assert_int_equal(ctlsess_init(&b, &x->host, "B", "menu", NULL, NULL),
			 0);
	ctlsess_link(&l, &a);
	ctlsess_link(&l, &b);
	assert_int_equal(l.n, 2);
	assert_ptr_equal(ctlsess_find(&l, "A"), &a);
	assert_ptr_equal(ctlsess_find(&l, "B"), &b);
	assert_null(ctlsess_find(&l, "C"));
	ctlsess_unlink(&l, &a);
	ctlsess_unlink(&l, &a); /* not in l: nothing */
	assert_int_equal(l.n, 1);
	assert_null(ctlsess_find(&l, "A"));
	ctlsess_unlink(&l, &b);
	assert_int_equal(l.n, 0);
	assert_null(l.head);
	/* no store: nothing to read, nothing called */
	assert_int_equal(ctlsess_read(&x->host, "A", NULL, NULL, NULL),
			 -EINVAL);
	ctlsess_fini(&a);
	ctlsess_fini(&b);
}

static void requests_are_counted_per_adapter(void **state)
{
	(void)state;
	ctlsess_count("tst", "Test adapter", "turn", 200, 0);
	ctlsess_count("tst", "Test adapter", "turn", 200, 0);
	size_t len = 0;
	char *txt = metrics_render(&len);
	assert_non_null(txt);
	assert_non_null(strstr(txt, "# HELP voxgate_tst_requests_total Test "
				    "adapter requests by route and status "
				    "code"));
	assert_non_null(strstr(
		txt,
		"voxgate_tst_requests_total{route=\"turn\",code=\"200\"} 2"));
	assert_non_null(strstr(txt, "# HELP voxgate_tst_request_seconds Test "
				    "adapter time from request to reply"));
	assert_non_null(strstr(
		txt, "voxgate_tst_request_seconds_count{route=\"turn\"} 2"));
	free(txt);
}

int main(void)
{
	if (libre_init())
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			a_session_records_its_path_turns_and_events, setup,
			teardown),
		cmocka_unit_test_setup_teardown(text_turns_and_quiet_hosts,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			the_saved_state_restores_the_run_path_and_turns, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			malformed_saved_states_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
			a_back_end_answer_continues_the_session, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			an_answer_after_the_session_is_gone_is_dropped, setup,
			teardown),
		cmocka_unit_test_setup_teardown(a_late_back_end_times_out_once,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			sessions_are_found_by_id_and_unlinked, setup, teardown),
		cmocka_unit_test(requests_are_counted_per_adapter),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	metrics_reset();
	libre_close();
	return rc;
}
