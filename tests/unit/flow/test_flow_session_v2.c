/* The flow executor's v2 actions through a scripted text channel and a fake
 * back-end: record (start/pause/resume/stop, a channel that cannot
 * record), transfer with context, http and lookup results feeding the
 * flow, back-end refusals, webhook events, and a hangup while a back-end
 * request is out (the session is freed only after its callback). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "call/channel.h"
#include "flow/flow.h"
#include "flow/model.h"
#include "flow/runtime.h"
#include "fake_channel.h"

/* ---- a fake back-end: keeps the one request out, completes on demand */

struct backend {
	int refuse; /* returned by http/lookup when set */
	unsigned nhttp, nlookup;
	char method[16], url[256], body[256], hdr[128];
	int query;
	char key[64];
	flow_backend_done_fn *done;
	void *arg;
	char events[1024]; /* "started,intent,..." */
	char last_fields[1024];
};

static int be_http(void *ctx, const struct flow_action *a, struct vg_loop *loop,
		   flow_backend_done_fn *done, void *arg)
{
	struct backend *b = ctx;
	(void)loop;
	assert_int_equal(a->type, FLOW_ACT_HTTP);
	if (b->refuse)
		return b->refuse;
	b->nhttp++;
	snprintf(b->method, sizeof(b->method), "%s", a->http.method);
	snprintf(b->url, sizeof(b->url), "%s", a->http.url);
	snprintf(b->body, sizeof(b->body), "%.*s", (int)a->http.body_len,
		 a->http.body ? a->http.body : "");
	b->hdr[0] = '\0';
	for (unsigned i = 0; i < a->http.nheaders; i++)
		if (!strcmp(a->http.header_names[i], "X-Test"))
			snprintf(b->hdr, sizeof(b->hdr), "%s",
				 a->http.header_values[i]);
	b->done = done;
	b->arg = arg;
	return 0;
}

static int be_lookup(void *ctx, const struct flow_action *a,
		     struct vg_loop *loop, flow_backend_done_fn *done,
		     void *arg)
{
	struct backend *b = ctx;
	(void)loop;
	assert_int_equal(a->type, FLOW_ACT_LOOKUP);
	if (b->refuse)
		return b->refuse;
	b->nlookup++;
	b->query = a->lookup.query;
	snprintf(b->key, sizeof(b->key), "%s",
		 a->lookup.key ? a->lookup.key : "");
	b->done = done;
	b->arg = arg;
	return 0;
}

static void be_event(void *ctx, const char *event, const char *call_id,
		     const char *fields)
{
	struct backend *b = ctx;
	assert_string_equal(call_id, "call-1");
	size_t o = strlen(b->events);
	snprintf(b->events + o, sizeof(b->events) - o, "%s%s", o ? "," : "",
		 event);
	snprintf(b->last_fields, sizeof(b->last_fields), "%s",
		 fields ? fields : "");
}

static void complete_http(struct backend *b, int err, int status,
			  const char *body)
{
	assert_non_null(b->done);
	struct flow_result r = { .type = FLOW_RES_HTTP, .err = err };
	r.http.status = status;
	r.http.body = body;
	r.http.body_len = body ? strlen(body) : 0;
	flow_backend_done_fn *done = b->done;
	b->done = NULL;
	done(&r, b->arg);
}

static void complete_lookup(struct backend *b, int err, const char *json)
{
	assert_non_null(b->done);
	struct flow_result r = { .type = FLOW_RES_LOOKUP, .err = err };
	r.lookup.json = json;
	r.lookup.json_len = json ? strlen(json) : 0;
	flow_backend_done_fn *done = b->done;
	b->done = NULL;
	done(&r, b->arg);
}

/* ---- fixture ---- */

struct fixture {
	struct fake f;
	struct backend b;
	struct flow_backend be;
	struct flow_env env;
	struct flow *flow;
	struct flow_session *s;
};

static struct fixture *start(const struct channel_ops *ops, const char *yaml,
			     bool with_backend)
{
	struct fixture *x = calloc(1, sizeof(*x));
	assert_non_null(x);
	x->f.ch.ops = ops;
	x->f.ch.id = "call-1";
	x->f.ch.from = "+14155550101";
	x->f.ch.to = "1000";
	struct flow_errors errs = { 0 };
	int err = flow_load_buf("t.yaml", yaml, strlen(yaml), &x->flow, &errs);
	if (err)
		fprintf(stderr, "%s\n", errs.msg[0]);
	assert_int_equal(err, 0);
	x->be = (struct flow_backend){ .http = be_http,
				       .lookup = be_lookup,
				       .event = be_event,
				       .ctx = &x->b };
	x->env.backend = with_backend ? &x->be : NULL;
	x->env.agent_uri = "sip:agents@pbx";
	assert_int_equal(flow_session_create(&x->s, x->flow, &x->f.ch, &x->env),
			 0);
	assert_int_equal(flow_session_start(x->s), 0);
	deliver(&x->f);
	return x;
}

static void done_with(struct fixture *x)
{
	flow_session_destroy(x->s);
	flow_deref(x->flow);
	free(x);
}

/* ---- record and transfer ---- */

static const char *const rec_flow =
	"name: rec\n"
	"start: r1\n"
	"nodes:\n"
	"  r1: {type: record, action: start, next: hello}\n"
	"  hello: {type: say, text: Hello., next: r2}\n"
	"  r2: {type: record, action: pause, next: pin}\n"
	"  pin: {type: say, text: Key your PIN., next: r3}\n"
	"  r3: {type: record, action: resume, next: r4}\n"
	"  r4: {type: record, action: stop, next: agent}\n"
	"  agent:\n"
	"    type: transfer\n"
	"    target: agent\n"
	"    context:\n"
	"      caller: '{{call.from}}'\n"
	"      reason: card help\n"
	"    on_fail: bye\n"
	"  bye: {type: hangup}\n";

static void record_actions_reach_the_channel_in_order(void **s)
{
	(void)s;
	struct fixture *x = start(&rec_ops, rec_flow, true);
	struct fake *f = &x->f;
	assert_string_equal(f->log, "record:start\nplay:hello\n");
	play_ends(f);
	assert_string_equal(f->log, "record:start\nplay:hello\n"
				    "record:pause\nplay:pin\n");
	play_ends(f);
	assert_string_equal(f->log,
			    "record:start\nplay:hello\n"
			    "record:pause\nplay:pin\n"
			    "record:resume\nrecord:stop\n"
			    "transfer:sip:agents@pbx caller=+14155550101 "
			    "reason=card help\n");
	assert_string_equal(f->path, "r1,hello,r2,pin,r3,r4,agent");
	transfer_result(f, 0, 202);
	assert_true(flow_session_done(x->s));
	caller_hangs_up(f);
	assert_string_equal(x->b.events, "started,transferred,ended");
	assert_non_null(strstr(x->b.last_fields, "\"reason\":"));
	done_with(x);
}

static void a_channel_that_cannot_record_goes_on(void **s)
{
	(void)s;
	/* No record op at all, and one that refuses. */
	struct fixture *x = start(&text_ops, rec_flow, false);
	assert_string_equal(x->f.log, "play:hello\n");
	play_ends(&x->f);
	play_ends(&x->f);
	/* Without transfer_ctx the transfer still happens, context dropped. */
	assert_non_null(strstr(x->f.log, "transfer:sip:agents@pbx\n"));
	done_with(x);

	struct fixture *y = start(&rec_ops, rec_flow, false);
	y->f.record_err = -ENOTSUP;
	play_ends(&y->f);
	play_ends(&y->f);
	assert_non_null(strstr(y->f.log, "record:stop\ntransfer:"));
	done_with(y);
}

static void a_failed_transfer_takes_on_fail(void **s)
{
	(void)s;
	struct fixture *x = start(&rec_ops, rec_flow, true);
	play_ends(&x->f);
	play_ends(&x->f);
	transfer_result(&x->f, 0, 503);
	/* on_fail: bye hangs up (its HANGUP event is delivered at once) */
	assert_true(flow_session_done(x->s));
	assert_non_null(strstr(x->f.log, "hangup:completed\n"));
	assert_null(strstr(x->b.events, "transferred"));
	done_with(x);
}

/* ---- http and lookup ---- */

static const char *const biz_flow =
	"name: biz\n"
	"start: find\n"
	"nodes:\n"
	"  find:\n"
	"    type: lookup\n"
	"    query: customer_by_phone\n"
	"    next: crm\n"
	"    not_found: stranger\n"
	"    on_error: oops\n"
	"  crm:\n"
	"    type: http\n"
	"    method: POST\n"
	"    url: 'http://crm.test/c/{{customer.id}}'\n"
	"    headers: {X-Test: '{{customer.first_name}}'}\n"
	"    json: {id: '{{customer.id}}'}\n"
	"    map: {risk: risk}\n"
	"    next: route\n"
	"    on_error: oops\n"
	"  route:\n"
	"    type: switch\n"
	"    value: '{{risk}}'\n"
	"    cases:\n"
	"      - {equals: low, next: welcome}\n"
	"    default: oops\n"
	"  welcome: {type: say, text: 'Hi {{customer.first_name}}.', next: "
	"bye}\n"
	"  stranger: {type: say, text: Who are you?, next: bye}\n"
	"  oops: {type: say, text: 'Error {{http.status}}.', next: bye}\n"
	"  bye: {type: hangup}\n";

static void lookup_and_http_results_drive_the_flow(void **s)
{
	(void)s;
	struct fixture *x = start(&rec_ops, biz_flow, true);
	struct backend *b = &x->b;
	assert_int_equal(b->nlookup, 1);
	assert_int_equal(b->query, FLOW_LOOKUP_CUSTOMER_BY_PHONE);
	assert_string_equal(b->key, "+14155550101");
	assert_string_equal(x->f.log, "");
	complete_lookup(b, 0,
			"{\"id\":\"C7\",\"first_name\":\"Ada\",\"last_name\":"
			"\"L\",\"phone\":\"+14155550101\",\"email\":null,"
			"\"tier\":\"gold\",\"language\":\"en\",\"pin_set\":"
			"true}");
	assert_int_equal(b->nhttp, 1);
	assert_string_equal(b->method, "POST");
	assert_string_equal(b->url, "http://crm.test/c/C7");
	assert_string_equal(b->hdr, "Ada");
	assert_non_null(strstr(b->body, "\"C7\""));
	complete_http(b, 0, 200, "{\"risk\":\"low\"}");
	assert_string_equal(x->f.last_text, "Hi Ada.");
	assert_string_equal(x->f.path, "find,crm,route,welcome");
	done_with(x);
}

static void not_found_and_errors_take_their_branches(void **s)
{
	(void)s;
	struct fixture *x = start(&rec_ops, biz_flow, true);
	complete_lookup(&x->b, -ENOENT, NULL);
	assert_string_equal(x->f.last_text, "Who are you?");
	done_with(x);

	x = start(&rec_ops, biz_flow, true);
	complete_lookup(&x->b, 0, "{\"id\":\"C7\",\"first_name\":\"Ada\"}");
	complete_http(&x->b, 0, 500, "{}");
	assert_string_equal(x->f.last_text, "Error 500.");
	done_with(x);

	/* The back-end refuses the request outright (queue full). */
	struct fixture *y = start(&rec_ops, biz_flow, true);
	y->b.refuse = -EAGAIN;
	complete_lookup(&y->b, 0, "{\"id\":\"C7\",\"first_name\":\"Ada\"}");
	assert_non_null(strstr(y->f.last_text, "Error"));
	done_with(y);

	/* No back-end at all. */
	y = start(&rec_ops, biz_flow, false);
	assert_non_null(strstr(y->f.last_text, "Error"));
	done_with(y);
}

static void hangup_while_a_request_is_out_frees_after_the_callback(void **s)
{
	(void)s;
	struct fixture *x = start(&rec_ops, biz_flow, true);
	struct flow *keep = flow_ref(x->flow);
	/* The fixture's own reference goes: the session and keep remain. */
	x->flow = flow_deref(x->flow);
	caller_hangs_up(&x->f);
	assert_true(flow_session_done(x->s));
	flow_session_destroy(x->s);
	x->s = NULL;
	/* The lookup is still out: the session (and its flow ref) lives. */
	assert_true(atomic_load(&keep->refs) >= 2);
	complete_lookup(&x->b, 0, "{\"id\":\"C7\"}");
	assert_int_equal(atomic_load(&keep->refs), 1);
	assert_int_equal(x->b.nhttp, 0); /* nothing more was asked */
	flow_deref(keep);
	done_with(x);
}

/* ---- classified turns: turn record and "intent" event ---- */

static const char *const ask_flow =
	"name: ask\n"
	"start: q\n"
	"intents:\n"
	"  balance: {examples: [check my balance, what is my balance, how "
	"much money do i have]}\n"
	"  card: {examples: [i lost my card, my card was stolen, block my "
	"card]}\n"
	"nodes:\n"
	"  q:\n"
	"    type: classify\n"
	"    prompt: How can I help?\n"
	"    intents: {balance: bal, card: crd}\n"
	"    confidence: {high: 0.3, low: 0.1}\n"
	"  bal: {type: say, text: Balance., next: bye}\n"
	"  crd: {type: say, text: Card., next: bye}\n"
	"  bye: {type: hangup}\n";

static void a_classified_turn_is_recorded_and_posted(void **s)
{
	(void)s;
	struct fixture *x = start(&stt_ops, ask_flow, true);
	struct fake *f = &x->f;
	assert_string_equal(f->log, "play:q\nlisten:5000/-\n");
	play_ends(f);
	speak(f, "i lost my card");
	assert_int_equal(f->turns, 1);
	assert_string_equal(f->turn, "q speech card high crd platform");
	assert_string_equal(f->last_text, "Card.");
	assert_string_equal(x->b.events, "started,intent");
	assert_non_null(strstr(x->b.last_fields, "\"intent\":\"card\""));
	assert_non_null(strstr(x->b.last_fields, "\"match\":\"high\""));
	assert_non_null(
		strstr(x->b.last_fields, "\"transcript\":\"i lost my card\""));
	play_ends(f);
	assert_true(flow_session_done(x->s));
	assert_string_equal(x->b.events, "started,intent,ended");
	done_with(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(record_actions_reach_the_channel_in_order),
		cmocka_unit_test(a_channel_that_cannot_record_goes_on),
		cmocka_unit_test(a_failed_transfer_takes_on_fail),
		cmocka_unit_test(lookup_and_http_results_drive_the_flow),
		cmocka_unit_test(not_found_and_errors_take_their_branches),
		cmocka_unit_test(
			hangup_while_a_request_is_out_frees_after_the_callback),
		cmocka_unit_test(a_classified_turn_is_recorded_and_posted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
