/* Unit tests for the v2 flow loader: every node type parsed into the model,
 * and every new check with its exact file:line:col. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "audio/clip.h"
#include "engines/nlu/entities.h"
#include "flow/flow.h"
#include "flow/model.h"
#include "flow/tmpl.h"

#define DATA_DIR VG_SOURCE_DIR "/tests/data/flows"

static struct flow *load_ok(const char *yaml)
{
	struct flow_errors errs = { 0 };
	struct flow *f = NULL;
	int err = flow_load_buf("t.yaml", yaml, strlen(yaml), &f, &errs);
	for (size_t i = 0; i < errs.count; i++)
		fprintf(stderr, "unexpected: %s\n", errs.msg[i]);
	assert_int_equal(err, 0);
	assert_int_equal(errs.count, 0);
	assert_non_null(f);
	return f;
}

/* Loading yaml must fail with exactly the messages in want (NULL-ended). */
static void expect_errors(const char *yaml, const char *const *want)
{
	struct flow_errors errs = { 0 };
	struct flow *f = (struct flow *)0x1;
	int err = flow_load_buf("t.yaml", yaml, strlen(yaml), &f, &errs);
	size_t n = 0;
	bool same = true;
	while (want[n]) {
		same = same && n < errs.count && !strcmp(want[n], errs.msg[n]);
		n++;
	}
	if (!same || errs.count != n) {
		for (size_t i = 0; i < errs.count; i++)
			fprintf(stderr, "got: %s\n", errs.msg[i]);
	}
	assert_int_equal(err, -EBADMSG);
	assert_ptr_equal(f, (struct flow *)0x1);
	assert_int_equal(errs.count, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(errs.msg[i], want[i]);
}

#define ERRORS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static const struct flow_node *node(const struct flow *f, const char *name)
{
	for (unsigned i = 0; i < f->nnodes; i++) {
		if (!strcmp(f->nodes[i].name, name))
			return &f->nodes[i];
	}
	fail_msg("no node %s", name);
	return NULL;
}

static unsigned idx(const struct flow *f, const char *name)
{
	return (unsigned)(node(f, name) - f->nodes);
}

/* "name: x / start: a / nodes:" then the nodes. */
#define HEAD "name: x\nstart: a\nnodes:\n"
#define BYE "  bye:\n    type: hangup\n"

static void the_all_nodes_example_loads_into_the_model(void **state)
{
	(void)state;
	struct flow_errors errs = { 0 };
	struct flow *f = NULL;
	int err = flow_load_file(DATA_DIR "/v2-all-nodes.yaml", &f, &errs);
	for (size_t i = 0; i < errs.count; i++)
		fprintf(stderr, "unexpected: %s\n", errs.msg[i]);
	assert_int_equal(err, 0);
	assert_string_equal(f->dir, DATA_DIR);
	assert_non_null(f->description);
	assert_int_equal(f->nvariables, 3);
	assert_string_equal(f->variables[1].name, "attr.segment");
	assert_string_equal(flow_tmpl_literal(f->variables[1].value), "retail");
	assert_int_equal(f->handlers[FLOW_H_ERROR], idx(f, "sorry"));
	assert_int_equal(f->handlers[FLOW_H_MAX_RETRIES], idx(f, "agent"));
	assert_non_null(f->nlu);

	/* Slots. */
	const struct flow_intent *tm = &f->intents[1];
	assert_int_equal(tm->nslots, 2);
	assert_string_equal(tm->slots[0].name, "amount");
	assert_int_equal(tm->slots[0].entity, NLU_ENTITY_MONEY);
	assert_true(tm->slots[0].required);
	assert_int_equal(tm->slots[0].retries, 2);
	assert_string_equal(flow_tmpl_literal(tm->slots[0].prompt),
			    "How much would you like to send?");
	assert_int_equal(tm->slots[1].entity, NLU_ENTITY_DATE);
	assert_false(tm->slots[1].required);

	const struct flow_node *n = node(f, "hours_check");
	assert_int_equal(n->type, FLOW_NODE_HOURS);
	assert_int_equal(n->utc_offset_min, -300);
	assert_int_equal(n->nspans, 5 + 2);
	assert_int_equal(n->spans[0].wday, 1);
	assert_int_equal(n->spans[0].from_min, 9 * 60);
	assert_int_equal(n->spans[0].to_min, 17 * 60 + 30);
	assert_int_equal(n->spans[6].wday, 6);
	assert_int_equal(n->spans[6].from_min, 13 * 60);
	assert_int_equal(n->nclosed, 2);
	assert_string_equal(n->closed_dates[1], "2027-01-01");
	assert_int_equal(n->on_in_hours, idx(f, "rec_start"));
	assert_int_equal(n->on_out_of_hours, idx(f, "closed"));

	n = node(f, "rec_start");
	assert_int_equal(n->type, FLOW_NODE_RECORD);
	assert_int_equal(n->rec_action, FLOW_REC_START);
	assert_int_equal(node(f, "pause_rec")->rec_action, FLOW_REC_PAUSE);

	n = node(f, "chime");
	assert_int_equal(n->type, FLOW_NODE_PLAY);
	assert_string_equal(n->file, "chime-16k.wav");
	assert_non_null(n->clip);
	assert_int_equal(n->clip->rate_hz, 8000);
	assert_int_equal(n->clip->nsamples, 800); /* 0.1 s at 16 kHz */
	assert_false(n->barge_in);
	assert_string_equal(flow_tmpl_literal(n->tmpl), "Welcome to the bank.");

	n = node(f, "find_customer");
	assert_int_equal(n->type, FLOW_NODE_LOOKUP);
	assert_int_equal(n->query, FLOW_LOOKUP_CUSTOMER_BY_PHONE);
	assert_string_equal(n->lookup_into, "customer");
	assert_null(n->key);
	assert_int_equal(n->on_not_found, idx(f, "ask_account"));
	assert_int_equal(n->on_error, idx(f, "sorry"));
	n = node(f, "accounts");
	assert_string_equal(n->lookup_into, "accts");
	assert_string_equal(flow_tmpl_source(n->key), "{{customer.id}}");
	assert_int_equal(n->on_not_found, FLOW_NO_NODE);
	n = node(f, "ticket");
	assert_int_equal(n->query, FLOW_LOOKUP_CREATE_TICKET);
	assert_string_equal(n->lookup_into, "ticket");
	assert_int_equal(flow_tmpl_nvars(n->subject), 2);

	n = node(f, "known");
	assert_int_equal(n->type, FLOW_NODE_SWITCH);
	assert_int_equal(n->ncases, 2);
	assert_int_equal(n->cases[0].op, FLOW_CMP_EQUALS);
	assert_string_equal(flow_tmpl_literal(n->cases[0].operand), "gold");
	assert_int_equal(n->cases[0].next, idx(f, "vip_hello"));
	assert_int_equal(n->cases[1].op, FLOW_CMP_EMPTY);
	assert_string_equal(flow_tmpl_literal(n->cases[1].operand), "true");
	assert_int_equal(n->on_default, idx(f, "hello"));
	assert_int_equal(node(f, "pin_ok")->cases[1].op, FLOW_CMP_GE);

	n = node(f, "vip_hello");
	assert_int_equal(n->type, FLOW_NODE_SET);
	assert_int_equal(n->nkvs, 2);
	assert_string_equal(n->kvs[0].name, "greeting_name");
	assert_string_equal(flow_tmpl_var(n->kvs[0].value, 0, NULL),
			    "customer.first_name");

	n = node(f, "ask_account");
	assert_int_equal(n->type, FLOW_NODE_GATHER);
	assert_int_equal(n->input, FLOW_INPUT_BOTH);
	assert_int_equal(n->min_digits, 6);
	assert_int_equal(n->max_digits, 12);
	assert_string_equal(n->terminator, "#");
	assert_int_equal(n->entity, NLU_ENTITY_ACCOUNT);
	assert_int_equal(n->nhints, 1);
	assert_string_equal(n->hints[0], "i don't know it");
	assert_int_equal(n->stt_mode, STT_MODE_OPEN);
	assert_non_null(n->lm);
	assert_string_equal(n->into, "account_no");
	assert_string_equal(n->no_input_name, "ask_account.no_input");
	assert_non_null(n->invalid_tmpl);
	assert_int_equal(n->on_max_retries, FLOW_NO_NODE);
	n = node(f, "ask_pin");
	assert_string_equal(n->terminator, "");
	assert_int_equal(n->input, FLOW_INPUT_DTMF);
	assert_null(n->lm);
	assert_int_equal(n->on_max_retries, idx(f, "agent"));

	n = node(f, "check_pin");
	assert_int_equal(n->type, FLOW_NODE_HTTP);
	assert_string_equal(n->method, "POST");
	assert_int_equal(n->http_timeout_ms, 2000);
	assert_int_equal(n->http_retries, 1);
	assert_int_equal(n->nkvs, 2);
	assert_string_equal(n->kvs[1].name, "X-Call-Id");
	assert_non_null(n->json);
	assert_int_equal(n->json->kind, FLOW_JSON_OBJECT);
	assert_int_equal(n->json->nitems, 4);
	assert_string_equal(n->json->items[0].key, "pin");
	assert_int_equal(n->json->items[0].kind, FLOW_JSON_STRING);
	assert_int_equal(n->json->items[2].kind, FLOW_JSON_NUMBER);
	assert_string_equal(n->json->items[2].literal, "1");
	assert_int_equal(n->json->items[3].kind, FLOW_JSON_OBJECT);
	assert_int_equal(n->json->items[3].items[1].kind, FLOW_JSON_BOOL);
	assert_int_equal(n->nmaps, 2);
	assert_string_equal(n->maps[1].var, "balance");
	assert_string_equal(n->maps[1].path, "account.balance");
	assert_null(n->body);
	assert_false(n->event_connect);
	n = node(f, "connect_event");
	assert_true(n->event_connect);
	assert_string_equal(n->method, "GET");
	assert_int_equal(n->http_timeout_ms, 3000);
	assert_int_equal(n->on_error, FLOW_NO_NODE);

	n = node(f, "main");
	assert_int_equal(n->type, FLOW_NODE_CLASSIFY);
	assert_non_null(n->tmpl);
	assert_int_equal(n->input, FLOW_INPUT_BOTH);
	assert_int_equal(n->noptions, 1);
	assert_int_equal(n->nroutes, 3);
	assert_int_equal(n->on_low, idx(f, "confirm_menu"));
	assert_int_equal(n->on_no_match, idx(f, "main_menu"));
	assert_int_equal(n->on_high, FLOW_NO_NODE);
	assert_true(n->fill_slots);
	assert_int_equal(n->stt_mode, STT_MODE_OPEN);
	assert_non_null(n->lm);
	n = node(f, "followup");
	assert_null(n->tmpl);
	assert_string_equal(flow_tmpl_source(n->classify_text),
			    "{{external.reason}}");
	assert_true(n->conf_high > 0.59f && n->conf_high < 0.61f);
	assert_true(n->conf_low > 0.59f && n->conf_low < 0.61f);
	assert_int_equal(n->on_high, idx(f, "bye"));
	assert_null(n->lm);

	n = node(f, "do_transfer");
	assert_int_equal(n->type, FLOW_NODE_SUBFLOW);
	assert_string_equal(n->subflow, "v2-all-nodes");
	assert_int_equal(n->next, idx(f, "ticket"));
	assert_int_equal(node(f, "goto_bye")->type, FLOW_NODE_GOTO);
	assert_int_equal(node(f, "finish")->type, FLOW_NODE_RETURN);

	n = node(f, "agent");
	assert_string_equal(n->target, "queue:support");
	assert_false(n->to_agent);
	assert_int_equal(n->ncontext, 3);
	assert_string_equal(n->context[2].name, "Segment");
	/* The menu without on_max_retries: the handlers cover it. */
	assert_int_equal(node(f, "main_menu")->on_max_retries, FLOW_NO_NODE);
	flow_deref(f);
}

static void collect_text(const char *voice, const char *text, void *arg)
{
	(void)voice;
	char *all = arg;
	strcat(all, text);
	strcat(all, "|");
}

static void prompts_with_variables_are_not_presynthesized(void **state)
{
	(void)state;
	struct flow_errors errs = { 0 };
	struct flow *all = NULL;
	assert_int_equal(
		flow_load_file(DATA_DIR "/v2-all-nodes.yaml", &all, &errs), 0);
	char texts[4096] = "";
	flow_prompts_foreach(all, NULL, collect_text, texts);
	/* Literal prompts and the slot's question; no play text, nothing
	 * with a variable. */
	assert_non_null(strstr(texts, "|Enter your four digit PIN.|"));
	assert_non_null(strstr(texts, "|How much would you like to send?|"));
	assert_null(strstr(texts, "Welcome to the bank."));
	assert_null(strstr(texts, "{{"));
	flow_deref(all);

	struct flow *f = load_ok(HEAD "  a:\n"
				      "    type: say\n"
				      "    text: \"Hi {{call.from}}\"\n"
				      "    next: b\n"
				      "  b:\n"
				      "    type: say\n"
				      "    text: Plain words.\n"
				      "    next: bye\n" BYE);
	assert_string_equal(node(f, "a")->text, "Hi {{call.from}}");
	assert_false(flow_tmpl_is_literal(node(f, "a")->tmpl));
	flow_deref(f);
}

static void template_errors_point_inside_the_scalar(void **state)
{
	(void)state;
	expect_errors(HEAD "  a:\n"
			   "    type: say\n"
			   "    text: Hi {{name\n"
			   "    next: b\n"
			   "  b:\n"
			   "    type: say\n"
			   "    text: \"é {{x | shout}}\"\n"
			   "    next: c\n"
			   "  c:\n"
			   "    type: say\n"
			   "    text: |\n"
			   "      Two lines, {{ }}\n"
			   "      here.\n"
			   "    next: d\n"
			   "  d:\n"
			   "    type: say\n"
			   "    text: 'a {{ok}} and {{1x}}'\n"
			   "    next: bye\n" BYE,
		      ERRORS("t.yaml:6:14: node 'a': 'text': unclosed '{{'",
			     "t.yaml:10:14: node 'b': 'text': unknown filter "
			     "'shout' (expected digits, upper, lower, json or "
			     "url)",
			     "t.yaml:14:11: node 'c': 'text': empty variable "
			     "name in '{{ }}'",
			     "t.yaml:20:25: node 'd': 'text': bad variable "
			     "name '1x'"));
}

static void undeclared_variables_are_errors_at_their_braces(void **state)
{
	(void)state;
	expect_errors(
		HEAD "  a:\n"
		     "    type: say\n"
		     "    text: \"Hi {{call.from}} {{nobody}}\"\n"
		     "    next: s\n"
		     "  s:\n"
		     "    type: switch\n"
		     "    value: \"{{tier}}\"\n"
		     "    cases:\n"
		     "      - {equals: \"{{gold}}\", next: bye}\n"
		     "    default: bye\n" BYE,
		ERRORS("t.yaml:6:29: node 'a': 'text' uses undeclared variable "
		       "'nobody' (declare it under 'variables')",
		       "t.yaml:10:13: node 's': 'value' uses undeclared "
		       "variable 'tier' (declare it under 'variables')",
		       "t.yaml:12:19: node 's': 'case 1 equals' uses "
		       "undeclared variable 'gold' (declare it under "
		       "'variables')"));
}

static void declarations_come_from_every_source(void **state)
{
	(void)state;
	/* variables, set (later node), gather into (+ suffixes), lookup
	 * prefix, http map / map_all / connect, slots, runtime names. */
	struct flow *f = load_ok(
		"name: x\nstart: a\n"
		"variables: {v1: \"\", v2: 3}\n"
		"intents:\n"
		"  pay: {examples: [pay my bill], slots: {amt: {entity: "
		"money}}}\n"
		"  other: {examples: [something else]}\n"
		"nodes:\n"
		"  a:\n"
		"    type: say\n"
		"    text: \"{{v1}}{{v2}}{{later}}{{acct}}{{acct.original}}"
		"{{acct.unit}}{{c.anything.0}}{{c}}{{m1}}{{all.k}}"
		"{{external.x}}{{slots.amt}}{{slots.amt.original}}"
		"{{last}}{{intent.match}}{{http.error}}{{transfer.status}}"
		"{{error.node}}\"\n"
		"    next: g\n"
		"  g:\n"
		"    type: gather\n"
		"    into: acct\n"
		"    next: l\n"
		"  l:\n"
		"    type: lookup\n"
		"    query: customer\n"
		"    into: c\n"
		"    next: h\n"
		"  h:\n"
		"    type: http\n"
		"    url: https://x.example/\n"
		"    map: {m1: a.b}\n"
		"    map_all: all\n"
		"    next: h2\n"
		"  h2:\n"
		"    type: http\n"
		"    url: https://x.example/c\n"
		"    event: connect\n"
		"    next: s\n"
		"  s:\n"
		"    type: set\n"
		"    vars: {later: \"{{v1}}\"}\n"
		"    next: bye\n" BYE);
	flow_deref(f);

	/* A prefix is a whole segment: "cx" is not under "c". */
	expect_errors(HEAD "  a:\n"
			   "    type: lookup\n"
			   "    query: cards\n"
			   "    into: c\n"
			   "    next: b\n"
			   "  b:\n"
			   "    type: say\n"
			   "    text: \"{{cx}} {{slots.none}}\"\n"
			   "    next: bye\n" BYE,
		      ERRORS("t.yaml:11:12: node 'b': 'text' uses undeclared "
			     "variable 'cx' (declare it under 'variables')",
			     "t.yaml:11:19: node 'b': 'text' uses undeclared "
			     "variable 'slots.none' (declare it under "
			     "'variables')"));
}

static void variables_section_is_checked(void **state)
{
	(void)state;
	expect_errors("name: x\nstart: a\n"
		      "variables:\n"
		      "  ok: fine\n"
		      "  bad..name: 1\n"
		      "  call.id: x\n"
		      "  lst: [1, 2]\n"
		      "  tm: \"{{ok}}\"\n"
		      "nodes:\n"
		      "  a:\n"
		      "    type: hangup\n",
		      ERRORS("t.yaml:5:3: invalid variable name 'bad..name': "
			     "use segments of letters, digits and '_' joined "
			     "by '.', at most 128 bytes",
			     "t.yaml:6:3: variable 'call.id' is built in "
			     "(read-only)",
			     "t.yaml:7:8: variable 'lst': the default must be "
			     "a single value, not a list",
			     "t.yaml:8:7: variable 'tm': the default is "
			     "literal text ('{{' is not allowed)"));
}

static void handlers_must_name_nodes(void **state)
{
	(void)state;
	expect_errors("name: x\nstart: a\n"
		      "handlers: {error: nowhere, panic: a}\n"
		      "nodes:\n"
		      "  a:\n"
		      "    type: hangup\n",
		      ERRORS("t.yaml:3:19: handler 'error' names no node "
			     "'nowhere'",
			     "t.yaml:3:28: unknown handler 'panic' (expected "
			     "no_input, no_match, max_retries or error)"));
}

static void handlers_make_exits_optional_and_say_what_is_missing(void **state)
{
	(void)state;
	/* Covered: max_retries and error handlers; handler nodes are
	 * reachable roots. */
	struct flow *f = load_ok("name: x\nstart: m\n"
				 "handlers: {max_retries: h, error: h}\n"
				 "nodes:\n"
				 "  m:\n"
				 "    type: menu\n"
				 "    prompt: Press 1.\n"
				 "    options: {1: t}\n"
				 "  t:\n"
				 "    type: transfer\n"
				 "    target: agent\n"
				 "  h:\n"
				 "    type: hangup\n");
	assert_int_equal(node(f, "m")->on_max_retries, FLOW_NO_NODE);
	assert_int_equal(node(f, "t")->on_fail, FLOW_NO_NODE);
	flow_deref(f);

	expect_errors("name: x\nstart: m\n"
		      "handlers: {no_input: h}\n"
		      "nodes:\n"
		      "  m:\n"
		      "    type: menu\n"
		      "    prompt: Press 1.\n"
		      "    options: {1: t}\n"
		      "  t:\n"
		      "    type: transfer\n"
		      "    target: agent\n"
		      "  h:\n"
		      "    type: hangup\n",
		      ERRORS("t.yaml:5:3: node 'm': missing 'on_max_retries' "
			     "(no handler covers it: add "
			     "handlers.max_retries, or both "
			     "handlers.no_input and handlers.no_match)",
			     "t.yaml:9:3: node 't': missing 'on_fail' (the "
			     "flow has no handlers.error)"));
}

static void unreachable_counts_every_transition(void **state)
{
	(void)state;
	/* Reached only through a switch case, an http on_error, an hours
	 * exit or a classify low: all count. */
	struct flow *f = load_ok(HEAD "  a:\n"
				      "    type: switch\n"
				      "    value: \"{{call.to}}\"\n"
				      "    cases: [{starts_with: \"+1\", next: "
				      "h}]\n"
				      "    default: bye\n"
				      "  h:\n"
				      "    type: http\n"
				      "    url: http://127.0.0.1/\n"
				      "    next: o\n"
				      "    on_error: e\n"
				      "  e:\n"
				      "    type: hangup\n"
				      "  o:\n"
				      "    type: hours\n"
				      "    open: {sun-sat: \"00:00-24:00\"}\n"
				      "    in_hours: bye\n"
				      "    out_of_hours: z\n"
				      "  z:\n"
				      "    type: hangup\n" BYE);
	flow_deref(f);
	expect_errors(HEAD "  a:\n"
			   "    type: goto\n"
			   "    next: bye\n"
			   "  lost:\n"
			   "    type: record\n"
			   "    action: stop\n"
			   "    next: bye\n" BYE,
		      ERRORS("t.yaml:7:3: node 'lost' is unreachable from "
			     "start node 'a'"));
}

static void loops_that_never_wait_are_reported_once_each(void **state)
{
	(void)state;
	expect_errors(HEAD "  a:\n"
			   "    type: say\n"
			   "    text: A.\n"
			   "    next: b\n"
			   "  b:\n"
			   "    type: http\n"
			   "    url: https://x.example/\n"
			   "    next: a\n"
			   "    on_error: a\n"
			   "  c:\n"
			   "    type: goto\n"
			   "    next: c\n",
		      ERRORS("t.yaml:4:3: node 'a': loop a -> b -> a never "
			     "waits for the caller",
			     "t.yaml:13:3: node 'c' is unreachable from start "
			     "node 'a'",
			     "t.yaml:13:3: node 'c': loop c -> c never waits "
			     "for the caller"));
	expect_errors("name: x\nstart: c\nnodes:\n"
		      "  c:\n"
		      "    type: goto\n"
		      "    next: c\n",
		      ERRORS("t.yaml:4:3: node 'c': loop c -> c never waits "
			     "for the caller"));
	/* A gather in the loop waits: fine. So does a classify with a
	 * prompt; one without a prompt does not. */
	struct flow *f = load_ok(HEAD "  a:\n"
				      "    type: gather\n"
				      "    next: b\n"
				      "  b:\n"
				      "    type: goto\n"
				      "    next: a\n");
	flow_deref(f);
	expect_errors("name: x\nstart: a\n"
		      "intents:\n"
		      "  yes: {examples: [yes please]}\n"
		      "  no: {examples: [no thanks]}\n"
		      "nodes:\n"
		      "  a:\n"
		      "    type: classify\n"
		      "    intents: {yes: b, no: b}\n"
		      "    no_match: b\n"
		      "  b:\n"
		      "    type: goto\n"
		      "    next: a\n",
		      ERRORS("t.yaml:7:3: node 'a': loop a -> b -> a never "
			     "waits for the caller"));
}

static void classify_fields_are_checked(void **state)
{
	(void)state;
	expect_errors("name: x\nstart: a\n"
		      "intents:\n"
		      "  one: {examples: [first thing]}\n"
		      "  two: {examples: [second thing]}\n"
		      "nodes:\n"
		      "  a:\n"
		      "    type: classify\n"
		      "    intents: {one: bye, three: bye}\n"
		      "    confidence: {high: 0.3, low: 0.5}\n"
		      "    threshold: 2\n"
		      "    retries: 1\n"
		      "  b:\n"
		      "    type: classify\n"
		      "    prompt: Say something.\n"
		      "    text: \"{{last}}\"\n"
		      "    options: {1: bye}\n"
		      "  c:\n"
		      "    type: classify\n"
		      "    model: banking77\n"
		      "    intents: {card_lost: bye}\n" BYE,
		      ERRORS("t.yaml:9:25: node 'a': unknown intent 'three' "
			     "(not in the flow's 'intents'; or give a "
			     "'model')",
			     "t.yaml:10:17: node 'a': 'confidence' thresholds "
			     "out of range: need 0 <= low <= high <= 1, got "
			     "low 0.5, high 0.3",
			     "t.yaml:11:16: node 'a': 'threshold' must be a "
			     "number from 0 to 1",
			     "t.yaml:11:16: node 'a': give 'confidence' or "
			     "'threshold', not both",
			     "t.yaml:12:5: node 'a': 'retries' needs a "
			     "'prompt' (without one the node classifies "
			     "'text')",
			     "t.yaml:13:3: node 'b': missing 'intents' (or "
			     "'high')",
			     "t.yaml:16:11: node 'b': 'text' is what a "
			     "classify without 'prompt' classifies: give one "
			     "or the other",
			     "t.yaml:17:14: node 'b': 'options' needs input "
			     "both (keys are not heard otherwise)"));
	expect_errors(HEAD "  a:\n"
			   "    type: classify\n"
			   "    high: bye\n" BYE,
		      ERRORS("t.yaml:4:3: node 'a': classify needs the flow's "
			     "'intents' (at least two) or a 'model'"));
}

static void slots_are_checked(void **state)
{
	(void)state;
	expect_errors("name: x\nstart: a\n"
		      "intents:\n"
		      "  pay:\n"
		      "    examples: [pay a bill]\n"
		      "    slots:\n"
		      "      amt: {entity: cash, required: true, prompt: "
		      "How much?}\n"
		      "      when: {entity: date, required: true}\n"
		      "      who: {required: yes}\n"
		      "      p: {entity: number, prompt: \"{{nope}}\", "
		      "colour: red}\n"
		      "  other: {examples: [other thing]}\n"
		      "nodes:\n"
		      "  a:\n"
		      "    type: hangup\n",
		      ERRORS("t.yaml:7:21: intent 'pay': slot 'amt': unknown "
			     "entity 'cash' (expected number, ordinal, "
			     "digits, money, date, account, phone, card or "
			     "confirm)",
			     "t.yaml:8:7: intent 'pay': slot 'when' is "
			     "required but has no 'prompt'",
			     "t.yaml:9:7: intent 'pay': slot 'who' has no "
			     "'entity'",
			     "t.yaml:9:23: intent 'pay': slot 'who': "
			     "'required' must be true or false",
			     "t.yaml:10:36: intent 'pay': slot 'p': 'prompt' "
			     "uses undeclared variable 'nope' (declare it "
			     "under 'variables')",
			     "t.yaml:10:47: intent 'pay': slot 'p': unknown "
			     "field 'colour' (expected entity, required, "
			     "prompt or retries)"));
}

static void gather_fields_are_checked(void **state)
{
	(void)state;
	expect_errors(HEAD "  a:\n"
			   "    type: gather\n"
			   "    hints: [yes, no]\n"
			   "    entity: date\n"
			   "    next: b\n"
			   "  b:\n"
			   "    type: gather\n"
			   "    input: speech\n"
			   "    mode: grammar\n"
			   "    max_digits: 4\n"
			   "    min_digits: 5\n"
			   "    terminator: x\n"
			   "    entity: iban\n"
			   "    into: call.from\n"
			   "    next: bye\n" BYE,
		      ERRORS("t.yaml:6:5: node 'a': 'hints' needs speech "
			     "input (input is dtmf)",
			     "t.yaml:7:13: node 'a': entity 'date' cannot be "
			     "typed on keys: use input speech or both",
			     "t.yaml:12:11: node 'b': mode grammar needs "
			     "'hints'",
			     "t.yaml:14:17: node 'b': 'min_digits' must be a "
			     "whole number from 1 to 4",
			     "t.yaml:15:17: node 'b': 'terminator' must be "
			     "one DTMF key (0-9, *, #, A-D) or '' for none",
			     "t.yaml:16:13: node 'b': unknown entity 'iban' "
			     "(expected number, ordinal, digits, money, "
			     "date, account, phone, card or confirm)",
			     "t.yaml:17:11: node 'b': 'into': variable "
			     "'call.from' is built in (read-only)"));
}

static void count_grammar(const struct stt_grammar *g, void *arg)
{
	assert_non_null(g);
	(*(unsigned *)arg)++;
}

static void grammar_mode_builds_a_grammar_of_the_hints(void **state)
{
	(void)state;
	struct flow *f = load_ok(HEAD "  a:\n"
				      "    type: gather\n"
				      "    input: speech\n"
				      "    mode: grammar\n"
				      "    hints: [\"Checking!\", savings]\n"
				      "    next: bye\n" BYE);
	const struct flow_node *n = node(f, "a");
	assert_int_equal(n->stt_mode, STT_MODE_GRAMMAR);
	assert_non_null(n->grammar);
	assert_null(n->lm);
	assert_string_equal(n->hints[0], "checking");
	unsigned count = 0;
	flow_grammars_foreach(f, count_grammar, &count);
	assert_int_equal(count, 1);
	flow_deref(f);
}

static void switch_needs_one_operator_per_case(void **state)
{
	(void)state;
	expect_errors(HEAD "  a:\n"
			   "    type: switch\n"
			   "    value: \"{{call.to}}\"\n"
			   "    cases:\n"
			   "      - {equals: a, contains: b, next: bye}\n"
			   "      - {next: bye}\n"
			   "      - {empty: maybe, next: bye}\n"
			   "      - {greater: 1, next: bye}\n"
			   "      - {gt: 1}\n" BYE,
		      ERRORS("t.yaml:4:3: node 'a': missing 'default'",
			     "t.yaml:8:21: node 'a': case 1: more than one "
			     "operator",
			     "t.yaml:9:9: node 'a': case 2: missing an "
			     "operator (equals, not_equals, contains, "
			     "starts_with, ends_with, gt, ge, lt, le or "
			     "empty)",
			     "t.yaml:10:17: node 'a': case 3 empty: must be "
			     "true or false",
			     "t.yaml:11:9: node 'a': case 4: missing an "
			     "operator (equals, not_equals, contains, "
			     "starts_with, ends_with, gt, ge, lt, le or "
			     "empty)",
			     "t.yaml:11:10: node 'a': case 4: unknown field "
			     "'greater' (expected next and one of equals, "
			     "not_equals, contains, starts_with, ends_with, "
			     "gt, ge, lt, le, empty)",
			     "t.yaml:12:9: node 'a': case 5: missing 'next'"));
}

static void http_fields_are_checked(void **state)
{
	(void)state;
	expect_errors("name: x\nstart: a\n"
		      "variables: {base: \"https://x\"}\n"
		      "nodes:\n"
		      "  a:\n"
		      "    type: http\n"
		      "    method: FETCH\n"
		      "    url: \"{{base}}/v1\"\n"
		      "    body: raw\n"
		      "    json: {a: 1}\n"
		      "    timeout: 60s\n"
		      "    retries: 9\n"
		      "    map: {ok: \"a..b\"}\n"
		      "    next: b\n"
		      "  b:\n"
		      "    type: http\n"
		      "    url: ftp://x/{{base}}\n"
		      "    headers: {\"Bad Header\": x}\n"
		      "    next: bye\n" BYE,
		      ERRORS("t.yaml:7:13: node 'a': unknown method 'FETCH' "
			     "(expected GET, POST, PUT, PATCH or DELETE)",
			     "t.yaml:8:10: node 'a': 'url' must start with "
			     "http:// or https:// (written out, not from a "
			     "variable)",
			     "t.yaml:10:11: node 'a': give 'json' or 'body', "
			     "not both (json sets the body)",
			     "t.yaml:11:14: node 'a': 'timeout' must be a "
			     "duration like 5s or 800ms, from 100ms to 30s",
			     "t.yaml:12:14: node 'a': 'retries' must be a "
			     "whole number from 0 to 5",
			     "t.yaml:13:15: node 'a': 'map' ok: bad response "
			     "path 'a..b' (like balance, account.balance or "
			     "items.0.id)",
			     "t.yaml:17:10: node 'b': 'url' must start with "
			     "http:// or https:// (written out, not from a "
			     "variable)",
			     "t.yaml:18:15: node 'b': 'headers': invalid name "
			     "'Bad Header' (1-64 letters, digits, '_' or "
			     "'-')"));
}

static void lookup_record_hours_subflow_fields_are_checked(void **state)
{
	(void)state;
	expect_errors(HEAD "  a:\n"
			   "    type: lookup\n"
			   "    query: weather\n"
			   "    next: b\n"
			   "  b:\n"
			   "    type: lookup\n"
			   "    query: create_ticket\n"
			   "    next: c\n"
			   "  c:\n"
			   "    type: record\n"
			   "    action: rewind\n"
			   "    next: d\n"
			   "  d:\n"
			   "    type: hours\n"
			   "    utc_offset: \"+15:00\"\n"
			   "    open:\n"
			   "      mon-fry: \"09:00-17:00\"\n"
			   "      tue: \"17:00-09:00\"\n"
			   "      wed: [\"9:00-10:00\"]\n"
			   "    closed_dates: [\"2026-02-30\"]\n"
			   "    in_hours: e\n"
			   "    out_of_hours: e\n"
			   "  e:\n"
			   "    type: subflow\n"
			   "    flow: \"bad name\"\n"
			   "  f:\n"
			   "    type: return\n"
			   "    next: bye\n" BYE,
		      ERRORS("t.yaml:6:12: node 'a': unknown query 'weather' "
			     "(expected customer_by_phone, customer, "
			     "accounts, cards, tickets or create_ticket)",
			     "t.yaml:8:3: node 'b': missing 'subject'",
			     "t.yaml:14:13: node 'c': unknown record action "
			     "'rewind' (expected start, pause, resume or "
			     "stop)",
			     "t.yaml:18:17: node 'd': 'utc_offset' must be "
			     "like \"-05:00\" or \"+01:00\" (at most 14 "
			     "hours)",
			     "t.yaml:20:7: node 'd': bad days 'mon-fry' (a "
			     "day mon tue wed thu fri sat sun, or a range "
			     "like mon-fri)",
			     "t.yaml:21:12: node 'd': bad hours "
			     "'17:00-09:00' (like \"09:00-17:30\": "
			     "HH:MM-HH:MM, start before end)",
			     "t.yaml:22:13: node 'd': bad hours '9:00-10:00' "
			     "(like \"09:00-17:30\": HH:MM-HH:MM, start "
			     "before end)",
			     "t.yaml:23:20: node 'd': bad date '2026-02-30' "
			     "(like 2026-12-25)",
			     "t.yaml:26:3: node 'e': missing 'next'",
			     "t.yaml:28:11: node 'e': invalid flow name 'bad "
			     "name': use 1-64 letters, digits, '_', '-' or "
			     "'.'",
			     "t.yaml:31:5: node 'f': unknown field 'next' for "
			     "a return node (it has no fields)"));
}

static void play_files_must_load(void **state)
{
	(void)state;
	expect_errors(HEAD "  a:\n"
			   "    type: play\n"
			   "    file: missing.wav\n"
			   "    next: b\n"
			   "  b:\n"
			   "    type: play\n"
			   "    file: " DATA_DIR "/v2-all-nodes.yaml\n"
			   "    next: c\n"
			   "  c:\n"
			   "    type: play\n"
			   "    file: /proc/self/status\n"
			   "    next: bye\n" BYE,
		      ERRORS("t.yaml:6:11: node 'a': cannot read 'file' "
			     "./missing.wav: No such file or directory",
			     "t.yaml:10:11: node 'b': 'file' " DATA_DIR
			     "/v2-all-nodes.yaml is not a usable WAV file: "
			     "not a RIFF/WAVE file",
			     "t.yaml:14:11: node 'c': 'file' /proc/self/status "
			     "is too short for a WAV file"));
}

static void transfer_targets_may_be_queues_or_templates(void **state)
{
	(void)state;
	struct flow *f = load_ok(HEAD "  a:\n"
				      "    type: transfer\n"
				      "    target: \"sip:{{call.to}}@pbx\"\n"
				      "    on_fail: b\n"
				      "  b:\n"
				      "    type: transfer\n"
				      "    target: queue:billing\n"
				      "    on_fail: bye\n" BYE);
	assert_null(node(f, "a")->target);
	assert_non_null(node(f, "a")->target_tmpl);
	assert_string_equal(node(f, "b")->target, "queue:billing");
	flow_deref(f);
	expect_errors(HEAD "  a:\n"
			   "    type: transfer\n"
			   "    target: \"queue:no way\"\n"
			   "    context: {\"bad key\": x, ok: \"{{zz}}\"}\n"
			   "    on_fail: bye\n" BYE,
		      ERRORS("t.yaml:6:13: node 'a': 'target' 'queue:no way': "
			     "the queue name must be 1-64 letters, digits, "
			     "'_', '-' or '.'",
			     "t.yaml:7:15: node 'a': 'context': invalid name "
			     "'bad key' (1-64 letters, digits, '_' or '-')",
			     "t.yaml:7:34: node 'a': 'context.ok' uses "
			     "undeclared variable 'zz' (declare it under "
			     "'variables')"));
}

static void set_targets_are_checked(void **state)
{
	(void)state;
	expect_errors(HEAD
		      "  a:\n"
		      "    type: set\n"
		      "    vars: {call.id: x, \"a b\": y, ok: \"{{ok}}\"}\n"
		      "    next: bye\n" BYE,
		      ERRORS("t.yaml:6:12: node 'a': 'vars': variable "
			     "'call.id' is built in (read-only)",
			     "t.yaml:6:24: node 'a': 'vars': invalid variable "
			     "name 'a b' (segments of letters, digits and "
			     "'_' joined by '.')"));
}

static void descriptions_are_accepted_everywhere(void **state)
{
	(void)state;
	struct flow *f = load_ok("name: x\nstart: a\n"
				 "description: Imported from Connect.\n"
				 "nodes:\n"
				 "  a:\n"
				 "    type: say\n"
				 "    description: the greeting\n"
				 "    text: Hi.\n"
				 "    next: b\n"
				 "  b:\n"
				 "    type: hangup\n"
				 "    description: done\n");
	assert_string_equal(f->description, "Imported from Connect.");
	flow_deref(f);
}

static struct flow *load_named(const char *file, const char *yaml)
{
	struct flow *f = NULL;
	struct flow_errors errs = { 0 };
	assert_int_equal(flow_load_buf(file, yaml, strlen(yaml), &f, &errs), 0);
	return f;
}

static void missing_subflows_are_errors_of_the_set(void **state)
{
	(void)state;
	struct flow *a = load_named("a.yaml", "name: main\n"
					      "start: s\n"
					      "nodes:\n"
					      "  s:\n"
					      "    type: subflow\n"
					      "    flow: helper\n"
					      "    next: t\n"
					      "  t:\n"
					      "    type: subflow\n"
					      "    flow: ghost\n"
					      "    next: e\n"
					      "  e:\n"
					      "    type: hangup\n");
	struct flow *b = load_named("b.yaml", "name: helper\n"
					      "start: r\n"
					      "nodes:\n"
					      "  r:\n"
					      "    type: return\n");
	struct flow *both[] = { a, b };
	struct flow_errors errs = { 0 };
	assert_int_equal(flow_check_subflows(both, 2, false, &errs), -EBADMSG);
	assert_int_equal(errs.count, 1);
	assert_string_equal(errs.msg[0], "a.yaml:10:11: node 't': subflow "
					 "'ghost' names no loaded flow");
	/* Without helper, both are missing. */
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(flow_check_subflows(both, 1, true, &errs), -EBADMSG);
	assert_int_equal(errs.count, 2);
	assert_string_equal(errs.msg[0], "a.yaml:6:11: node 's': subflow "
					 "'helper' names no loaded flow");
	/* helper alone is fine. */
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(flow_check_subflows(both + 1, 1, true, &errs), 0);
	assert_int_equal(errs.count, 0);
	flow_deref(a);
	flow_deref(b);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void the_set_load_fails_on_a_missing_subflow(void **state)
{
	(void)state;
	char dir[] = "/tmp/vg-flowset-XXXXXX";
	assert_non_null(mkdtemp(dir));
	write_file(dir, "main.yaml",
		   "name: main\nstart: s\nnodes:\n"
		   "  s:\n    type: subflow\n    flow: helper\n"
		   "    next: e\n"
		   "  e:\n    type: hangup\n");
	struct flow_set *set = NULL;
	struct flow_errors errs = { 0 };
	assert_int_equal(flow_set_load(&set, dir, &errs), -EBADMSG);
	assert_null(set);
	assert_int_equal(errs.count, 1);
	char want[600];
	snprintf(want, sizeof(want),
		 "%s/main.yaml:6:11: node 's': subflow 'helper' names no "
		 "loaded flow",
		 dir);
	assert_string_equal(errs.msg[0], want);

	write_file(dir, "helper.yaml",
		   "name: helper\nstart: r\nnodes:\n  r:\n    type: "
		   "return\n");
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(flow_set_load(&set, dir, &errs), 0);
	assert_non_null(flow_set_find(set, "helper"));
	flow_set_destroy(set);

	char path[600];
	snprintf(path, sizeof(path), "%s/main.yaml", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/helper.yaml", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_all_nodes_example_loads_into_the_model),
		cmocka_unit_test(prompts_with_variables_are_not_presynthesized),
		cmocka_unit_test(template_errors_point_inside_the_scalar),
		cmocka_unit_test(
			undeclared_variables_are_errors_at_their_braces),
		cmocka_unit_test(declarations_come_from_every_source),
		cmocka_unit_test(variables_section_is_checked),
		cmocka_unit_test(handlers_must_name_nodes),
		cmocka_unit_test(
			handlers_make_exits_optional_and_say_what_is_missing),
		cmocka_unit_test(unreachable_counts_every_transition),
		cmocka_unit_test(loops_that_never_wait_are_reported_once_each),
		cmocka_unit_test(classify_fields_are_checked),
		cmocka_unit_test(slots_are_checked),
		cmocka_unit_test(gather_fields_are_checked),
		cmocka_unit_test(grammar_mode_builds_a_grammar_of_the_hints),
		cmocka_unit_test(switch_needs_one_operator_per_case),
		cmocka_unit_test(http_fields_are_checked),
		cmocka_unit_test(
			lookup_record_hours_subflow_fields_are_checked),
		cmocka_unit_test(play_files_must_load),
		cmocka_unit_test(transfer_targets_may_be_queues_or_templates),
		cmocka_unit_test(set_targets_are_checked),
		cmocka_unit_test(descriptions_are_accepted_everywhere),
		cmocka_unit_test(missing_subflows_are_errors_of_the_set),
		cmocka_unit_test(the_set_load_fails_on_a_missing_subflow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
