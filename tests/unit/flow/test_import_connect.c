/* Unit tests for the Amazon Connect importer (flow/import.h): the seed's
 * example imports, loads and runs; every supported action type imports to
 * a flow that loads; references become variables; unsupported types and
 * fields are reported with positions (or become no-ops when lenient);
 * malformed JSON is reported at its position. */
#include <errno.h>
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
#include "flow/import.h"
#include "flow/runtime.h"

#define FROM FLOW_IMPORT_CONNECT
#define FILE_LABEL "t.json"
#include "import_test_util.h"

static void seed_example_imports_and_loads(void **state)
{
	(void)state;
	size_t len;
	char *src = read_data("seed_connect.json", &len);
	struct out *r = import_text(src, len, NULL);
	assert_int_equal(r->rc, 0);
	/* The start message is the bot turn's prompt. */
	assert_has(r, "start: \"start\"");
	assert_has(r, "type: classify\n    prompt: \"Hello! How can I help "
		      "you today?\"\n    model: default\n    high: "
		      "ProcessIntent\n    no_match: FallbackToAgent");
	/* The Lambda is a Connect-style http call, then the call ends. */
	assert_has(r, "type: http\n    method: POST\n    event: connect\n");
	assert_has(r, "url: \"http://127.0.0.1:8080/lambda/process-intent\"");
	assert_has(r, "next: end\n");
	/* The missing FallbackToAgent state becomes a transfer to agent. */
	assert_has(r, "FallbackToAgent:\n    type: say\n");
	assert_has(r, "target: agent");
	assert_loads(r);
	out_free(r);
	free(src);
}

/* Drive the imported seed flow through the runtime: the bot turn, the
 * Lambda, the end. */
static void seed_example_runs(void **state)
{
	(void)state;
	size_t len;
	char *src = read_data("seed_connect.json", &len);
	struct out *r = import_text(src, len, NULL);
	assert_int_equal(r->rc, 0);
	struct flow *f = NULL;
	assert_int_equal(
		flow_load_buf("t.yaml", yaml(r), r->yaml.len, &f, NULL), 0);
	struct flow_run_env env = { .call_id = "c1",
				    .from = "+15550001",
				    .to = "+15550002",
				    .channel = "sip",
				    .speech = true };
	struct flow_run *run = NULL;
	assert_int_equal(flow_run_create(&run, f, &env), 0);
	struct flow_result res = { .type = FLOW_RES_START, .now_ms = 1000 };
	struct flow_action act;
	assert_int_equal(flow_run_step(run, &res, &act), 0);
	assert_int_equal(act.type, FLOW_ACT_GATHER);
	assert_string_equal(act.gather.prompts[act.gather.nprompts - 1].text,
			    "Hello! How can I help you today?");
	/* The platform's NLU answered with a confident intent. */
	res = (struct flow_result){ .type = FLOW_RES_INPUT, .now_ms = 2000 };
	res.input.kind = FLOW_IN_SPEECH;
	res.input.transcript = "i lost my card";
	res.input.stt_confidence = 0.9f;
	res.input.intent = "lost_or_stolen_card";
	res.input.intent_confidence = 0.95f;
	assert_int_equal(flow_run_step(run, &res, &act), 0);
	assert_int_equal(act.type, FLOW_ACT_HTTP);
	assert_string_equal(act.http.method, "POST");
	assert_string_equal(act.http.url,
			    "http://127.0.0.1:8080/lambda/process-intent");
	assert_non_null(act.http.body);
	assert_non_null(strstr(act.http.body, "ContactFlowEvent"));
	res = (struct flow_result){ .type = FLOW_RES_HTTP, .now_ms = 2100 };
	res.http.status = 200;
	res.http.body = "{\"ok\":\"yes\"}";
	res.http.body_len = strlen(res.http.body);
	assert_int_equal(flow_run_step(run, &res, &act), 0);
	assert_int_equal(act.type, FLOW_ACT_HANGUP);
	assert_string_equal(act.hangup.reason, "completed");
	flow_run_destroy(run);
	flow_deref(f);
	out_free(r);
	free(src);
}

static void every_supported_action_type_imports_and_loads(void **state)
{
	(void)state;
	size_t len, vlen;
	char *src = read_data("connect_all.json", &len);
	char *vals = read_data("connect_values.yaml", &vlen);
	struct flow_import_opts o = { .values = vals, .values_len = vlen };
	struct out *r = import_text(src, len, &o);
	assert_int_equal(r->rc, 0);
	/* Set-up actions: no-ops, with comments */
	assert_has(r, "logging:\n    type: goto\n    next: voice\n");
	assert_has(r, "# Connect voice 'Joanna': set the flow's voice");
	assert_has(r, "voice:\n    type: goto\n    next: rec-start\n");
	/* UpdateContactRecordingBehavior */
	assert_has(r, "rec-start:\n    type: record\n    action: start\n");
	assert_has(r, "rec-stop:\n    type: record\n    action: stop\n");
	/* CheckHoursOfOperation, hours from --values */
	assert_has(r, "type: hours\n    open:\n      mon-fri: "
		      "\"08:00-18:00\"\n      sat: \"09:00-12:00\"\n    "
		      "in_hours: welcome\n    out_of_hours: closed\n");
	/* MessageParticipant with SSML: tags and entities gone */
	assert_has(r, "text: \"Welcome to Example Bank & Trust.\"");
	/* UpdateContactAttributes */
	assert_has(r, "attr.caller: \"{{call.from}}\"");
	assert_has(r, "attr.segment: \"retail\"");
	/* InvokeLambdaFunction, URL by function name from --values */
	assert_has(r, "url: \"http://127.0.0.1:9000/lookup\"\n    timeout: "
		      "8s\n    json:\n      phone: \"{{call.from}}\"\n      "
		      "segment: \"{{attr.segment}}\"\n    next: is-vip\n    "
		      "on_error: menu\n");
	/* Compare */
	assert_has(r, "value: \"{{external.tier}}\"\n    cases:\n      - "
		      "equals: \"gold\"\n        next: vip-queue\n    "
		      "default: menu\n");
	/* UpdateContactTargetQueue + TransferContactToQueue */
	assert_has(r, "queue: \"VIP\"");
	assert_has(r, "target: \"queue:{{queue}}\"\n    on_fail: busy\n");
	/* GetParticipantInput: one key, branches in a switch */
	assert_has(r, "type: gather\n    prompt: \"Hello "
		      "{{external.first_name}}. For balances press 1.");
	assert_has(r,
		   "max_digits: 1\n    terminator: \"\"\n    retries: 0\n"
		   "    on_max_retries: retry-loop\n    next: menu_branch\n");
	assert_has(r, "value: \"{{last.digits}}\"\n    cases:\n      - "
		      "equals: \"1\"\n        next: account\n");
	/* Stored input: several keys and a terminator */
	assert_has(r, "max_digits: 10\n    terminator: \"#\"\n    "
		      "interdigit_timeout: 3s\n");
	assert_has(r, "text: \"You entered {{last.digits}}.\"");
	/* Loop: a counter in text */
	assert_has(r, "equals: \"xx\"\n        next: retry-loop_done\n");
	assert_has(r, "loop.retry_loop: \"{{loop.retry_loop}}x\"");
	/* TransferToFlow */
	assert_has(r, "type: subflow\n    flow: \"balance-flow\"\n");
	/* ConnectParticipantWithLexBot */
	assert_has(r, "type: classify\n    prompt: \"In a few words, what "
		      "can I help you with?\"\n    model: default\n    "
		      "intents:\n      lost_or_stolen_card: lost-card\n");
	assert_has(r, "text: \"I understood {{intent}}.");
	/* DisconnectParticipant / EndFlowExecution */
	assert_has(r, "bye:\n    type: hangup\n");
	assert_has(r, "end-flow:\n    type: hangup\n");
	/* Comments name the source action */
	assert_has(r, "# Connect action 'lookup' (InvokeLambdaFunction)");
	assert_loads(r);
	out_free(r);
	free(src);
	free(vals);
}

static void defaults_are_commented_when_values_are_missing(void **state)
{
	(void)state;
	size_t len;
	char *src = read_data("connect_all.json", &len);
	struct out *r = import_text(src, len, NULL);
	assert_int_equal(r->rc, 0);
	assert_has(r, "url: \"http://127.0.0.1:8080/lambda/customer-lookup\"");
	assert_has(r, "# set the URL of Lambda 'customer-lookup'");
	assert_has(r, "mon-fri: \"09:00-17:00\"");
	assert_has(r, "are not in the source: set them");
	assert_loads(r);
	out_free(r);
	free(src);
}

static const char *one_action(const char *type, const char *params)
{
	static char buf[2048];
	snprintf(buf, sizeof(buf),
		 "{\n"
		 "  \"Version\": \"2019-10-30\",\n"
		 "  \"StartAction\": \"a\",\n"
		 "  \"Actions\": [\n"
		 "    {\"Identifier\": \"a\", \"Type\": \"%s\",\n"
		 "     \"Parameters\": %s,\n"
		 "     \"Transitions\": {\"NextAction\": \"b\"}},\n"
		 "    {\"Identifier\": \"b\", \"Type\": "
		 "\"DisconnectParticipant\",\n"
		 "     \"Parameters\": {}, \"Transitions\": {}}\n"
		 "  ]\n"
		 "}\n",
		 type, params);
	return buf;
}

static void unsupported_action_type_is_reported_at_its_type(void **state)
{
	(void)state;
	struct out *r = import_str(one_action("InvokeFlowModule", "{}"));
	assert_int_equal(r->rc, -EBADMSG);
	assert_int_equal(r->errs.count, 1);
	assert_string_equal(r->errs.msg[0],
			    "t.json:5:33: unsupported Connect action type "
			    "'InvokeFlowModule' (action 'a')");
	out_free(r);
}

static void unsupported_parameter_is_reported_at_its_key(void **state)
{
	(void)state;
	struct out *r = import_str(one_action(
		"MessageParticipant", "{\"Text\": \"hi\", \"Voice\": \"x\"}"));
	assert_int_equal(r->rc, -EBADMSG);
	assert_error(r, "t.json:6:35: unsupported Connect parameter 'Voice' "
			"of MessageParticipant (action 'a')");
	out_free(r);
}

static void lenient_mode_makes_a_commented_noop(void **state)
{
	(void)state;
	struct flow_import_opts o = { .lenient = true };
	const char *src = one_action("InvokeFlowModule", "{}");
	struct out *r = import_text(src, strlen(src), &o);
	assert_int_equal(r->rc, 0);
	assert_int_equal(r->errs.count, 0);
	assert_has(r, "# Connect action 'a' (InvokeFlowModule) (not "
		      "imported: a no-op)\n  a:\n    type: goto\n    next: "
		      "b\n");
	assert_loads(r);
	out_free(r);

	src = one_action("MessageParticipant",
			 "{\"Text\": \"hi\", \"Voice\": \"x\"}");
	r = import_text(src, strlen(src), &o);
	assert_int_equal(r->rc, 0);
	assert_has(r, "# unsupported parameter 'Voice' ignored");
	assert_loads(r);
	out_free(r);
}

static void references_become_flow_variables(void **state)
{
	(void)state;
	struct out *r = import_str(one_action(
		"MessageParticipant",
		"{\"Text\": \"Hi $.Attributes.first-name, from "
		"$.CustomerEndpoint.Address to $.SystemEndpoint.Address, "
		"slot $.Lex.Slots.amount, ext $.External.balance.\"}"));
	assert_int_equal(r->rc, 0);
	assert_has(r, "text: \"Hi {{attr.first_name}}, from {{call.from}} to "
		      "{{call.to}}, slot {{slots.amount}}, ext "
		      "{{external.balance}}.\"");
	/* Declared, since nothing else fills them. */
	assert_has(r, "variables:\n  attr.first_name: \"\"\n");
	assert_has(r, "  external.balance: \"\"\n");
	assert_loads(r);
	out_free(r);

	r = import_str(one_action("MessageParticipant",
				  "{\"Text\": \"Hi $.Foo.bar\"}"));
	assert_int_equal(r->rc, -EBADMSG);
	assert_error(r, "t.json:6:29: unsupported Connect reference "
			"'$.Foo.bar'");
	out_free(r);
}

static void template_braces_in_text_stay_literal(void **state)
{
	(void)state;
	struct out *r = import_str(one_action(
		"MessageParticipant", "{\"Text\": \"Use {{code}} now\"}"));
	assert_int_equal(r->rc, 0);
	assert_has(r, "text: \"Use { {code}} now\"");
	assert_loads(r);
	out_free(r);
}

static void prompt_ids_need_a_file_mapping(void **state)
{
	(void)state;
	const char *src = one_action("MessageParticipant",
				     "{\"PromptId\": \"arn:prompt/1\"}");
	struct out *r = import_str(src);
	assert_int_equal(r->rc, -EBADMSG);
	assert_error(r, "t.json:6:33: action 'a': prompt 'arn:prompt/1' needs "
			"an audio file");
	out_free(r);
	const char *vals = "\"arn:prompt/1\": /tmp/hello.wav\n";
	struct flow_import_opts o = { .values = vals,
				      .values_len = strlen(vals) };
	r = import_text(src, strlen(src), &o);
	assert_int_equal(r->rc, 0);
	assert_has(r, "type: play\n    file: \"/tmp/hello.wav\"\n");
	out_free(r);
}

static void transitions_to_unknown_actions_are_errors(void **state)
{
	(void)state;
	struct out *r = import_str(
		"{\"StartAction\": \"a\", \"Actions\": [\n"
		"  {\"Identifier\": \"a\", \"Type\": \"MessageParticipant\",\n"
		"   \"Parameters\": {\"Text\": \"x\"},\n"
		"   \"Transitions\": {\"NextAction\": \"nowhere\"}}]}");
	assert_int_equal(r->rc, -EBADMSG);
	assert_error(r, "t.json:4:34: transition to 'nowhere', which is no "
			"action of the flow");
	out_free(r);
}

static void malformed_json_is_reported_at_its_position(void **state)
{
	(void)state;
	static const struct {
		const char *src;
		const char *msg;
	} cases[] = {
		{ "", "t.json:1:1: unexpected end of input" },
		{ "{", "t.json:1:2: expected a key in quotes" },
		{ "{\"a\": [1,]}", "t.json:1:10: trailing comma in JSON" },
		{ "{\"a\": 1,}", "t.json:1:9: trailing comma in JSON" },
		{ "{'a': 1}", "t.json:1:2: single-quoted string in JSON" },
		{ "{a: 1}", "t.json:1:2: expected a key in quotes" },
		{ "{\"a\" 1}", "t.json:1:6: expected ':' after a key" },
		{ "{\"a\": 1} x", "t.json:1:10: unexpected text after the "
				  "document" },
		{ "{\"a\": \"x\n\"}", "t.json:1:9: unterminated string" },
		{ "{\"a\": \"\\ud800\"}", "lone surrogate" },
		{ "{\"a\": \"\\q\"}", "bad escape in a string" },
		{ "{\"a\": 01}", "t.json:1:7: expected a value" },
		{ "{\"a\": 1, \"a\": 2}", "t.json:1:10: duplicate key 'a'" },
		{ "// c\n{}", "t.json:1:1: expected a value" },
		{ "[]", "not an Amazon Connect flow" },
		{ "{}", "not an Amazon Connect flow" },
		{ "{\"Actions\": [], \"StartAction\": \"x\"}",
		  "transition to 'x'" },
		{ "{\"Actions\": [1]}", "action 0: expected an object" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct out *r = import_str(cases[i].src);
		if (r->rc == 0)
			fail_msg("case %zu imported", i);
		assert_error(r, cases[i].msg);
		out_free(r);
	}
	/* Nesting and NUL bytes */
	char deep[300];
	memset(deep, '[', 200);
	deep[200] = '\0';
	struct out *r = import_str(deep);
	assert_int_equal(r->rc, -EBADMSG);
	assert_error(r, "nested more than 64 levels deep");
	out_free(r);
	/* Too many members for one array */
	char *wide = malloc(30000);
	assert_non_null(wide);
	size_t n = 0;
	wide[n++] = '[';
	for (int i = 0; i < 10001; i++) {
		wide[n++] = '0';
		wide[n++] = ',';
	}
	wide[n - 1] = ']';
	r = import_text(wide, n, NULL);
	assert_int_equal(r->rc, -EBADMSG);
	assert_error(r, "more than 10000 items in one object or array");
	out_free(r);
	free(wide);
	r = import_text("{\"a\"\0: 1}", 9, NULL);
	assert_int_not_equal(r->rc, 0);
	out_free(r);
}

static void files_are_recognized_by_name_and_content(void **state)
{
	(void)state;
	enum flow_import_from from = FLOW_IMPORT_ARCHY;
	const char *cj = "{\"Actions\": []}";
	assert_int_equal(flow_import_detect("a/x.json", cj, strlen(cj), &from),
			 0);
	assert_int_equal(from, FLOW_IMPORT_CONNECT);
	const char *sj = "{\"StartAction\": {}, \"States\": {}}";
	assert_int_equal(flow_import_detect("x.json", sj, strlen(sj), &from),
			 0);
	assert_int_equal(from, FLOW_IMPORT_CONNECT);
	const char *gj = "{\"startState\": \"a\", \"states\": {}}";
	assert_int_equal(flow_import_detect("x.json", gj, strlen(gj), &from),
			 0);
	assert_int_equal(from, FLOW_IMPORT_GENESYS);
	assert_int_equal(flow_import_detect("x.js", "x", 1, &from), 0);
	assert_int_equal(from, FLOW_IMPORT_GENESYS);
	const char *ay = "# c\ninboundCall:\n  name: x\n";
	assert_int_equal(flow_import_detect("x.yaml", ay, strlen(ay), &from),
			 0);
	assert_int_equal(from, FLOW_IMPORT_ARCHY);
	const char *vy = "name: x\nstart: a\n";
	assert_int_equal(flow_import_detect("x.yaml", vy, strlen(vy), &from),
			 -ENOENT);
	assert_int_equal(flow_import_detect(".x.json", cj, strlen(cj), &from),
			 -ENOENT);
	assert_int_equal(flow_import_detect("x.txt", cj, strlen(cj), &from),
			 -ENOENT);
	assert_int_equal(flow_import_from_parse("connect", &from), 0);
	assert_int_equal(from, FLOW_IMPORT_CONNECT);
	assert_int_equal(flow_import_from_parse("archy", &from), 0);
	assert_int_equal(from, FLOW_IMPORT_ARCHY);
	assert_int_equal(flow_import_from_parse("genesys", &from), 0);
	assert_int_equal(from, FLOW_IMPORT_GENESYS);
	assert_int_equal(flow_import_from_parse("five9", &from), -EINVAL);
}

static void unreachable_actions_are_left_out(void **state)
{
	(void)state;
	struct out *r = import_str(
		"{\"StartAction\": \"a\", \"Actions\": [\n"
		"  {\"Identifier\": \"a\", \"Type\": "
		"\"DisconnectParticipant\",\n"
		"   \"Parameters\": {}, \"Transitions\": {}},\n"
		"  {\"Identifier\": \"orphan\", \"Type\": "
		"\"MessageParticipant\","
		"\n   \"Parameters\": {\"Text\": \"x\"}, \"Transitions\": "
		"{}}]}");
	assert_int_equal(r->rc, 0);
	assert_has(r, "# Not reachable from the start, left out: orphan, end");
	assert_null(strstr(yaml(r), "orphan:"));
	assert_loads(r);
	out_free(r);
}

static void bad_values_file_is_reported(void **state)
{
	(void)state;
	const char *src = one_action("MessageParticipant", "{\"Text\": \"x\"}");
	struct flow_import_opts o = { .values = "- a\n- b\n",
				      .values_len = 8,
				      .values_file = "v.yaml" };
	struct out *r = import_text(src, strlen(src), &o);
	assert_int_not_equal(r->rc, 0);
	assert_error(r, "v.yaml:1:1: expected a map, not a list");
	out_free(r);
	o.values = "a: [";
	o.values_len = 4;
	r = import_text(src, strlen(src), &o);
	assert_int_not_equal(r->rc, 0);
	assert_error(r, "v.yaml:");
	out_free(r);
}

static void seed_dialect_success_and_error_transitions(void **state)
{
	(void)state;
	struct out *r = import_str(
		"{\"StartAction\": {\"Type\": \"Message\", \"Parameters\": "
		"{\"Text\": \"Hi\"}, \"Transitions\": {\"Success\": "
		"\"Menu\"}},\n"
		" \"States\": {\n"
		"  \"Menu\": {\"Type\": \"GetCustomerInput\", \"Parameters\": "
		"{\"Text\": \"Press 1\"},\n"
		"    \"Transitions\": {\"Success\": \"Done\", \"Error\": "
		"\"TalkToAgent\"}},\n"
		"  \"Done\": {\"Type\": \"Message\", \"Parameters\": "
		"{\"Text\": \"Bye\"}},\n"
		"  \"Oops\": {\"Type\": \"Message\", \"Parameters\": "
		"{\"Text\": \"x\"}, \"Transitions\": {\"Success\": "
		"\"Nowhere\"}}}}");
	/* A missing state is an agent only when its name says so. */
	assert_int_equal(r->rc, -EBADMSG);
	assert_error(r, "t.json:6:87: transition to 'Nowhere', which is no "
			"action of the flow");
	out_free(r);
	r = import_str(
		"{\"StartAction\": {\"Type\": \"Message\", \"Parameters\": "
		"{\"Text\": \"Hi\"}, \"Transitions\": {\"Success\": "
		"\"Menu\"}},\n"
		" \"States\": {\n"
		"  \"Menu\": {\"Type\": \"GetCustomerInput\", \"Parameters\": "
		"{\"Text\": \"Press 1\"},\n"
		"    \"Transitions\": {\"Success\": \"Done\", \"Error\": "
		"\"TalkToAgent\"}},\n"
		"  \"Done\": {\"Type\": \"Message\", \"Parameters\": "
		"{\"Text\": \"Bye\"}}}}");
	assert_int_equal(r->rc, 0);
	assert_has(r, "Menu:\n    type: gather\n    prompt: \"Press 1\"\n");
	assert_has(r, "    on_max_retries: TalkToAgent\n    next: Done\n");
	assert_has(r, "TalkToAgent_transfer:\n    type: transfer\n    target: "
		      "agent\n");
	assert_loads(r);
	out_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(seed_example_imports_and_loads),
		cmocka_unit_test(seed_example_runs),
		cmocka_unit_test(every_supported_action_type_imports_and_loads),
		cmocka_unit_test(
			defaults_are_commented_when_values_are_missing),
		cmocka_unit_test(
			unsupported_action_type_is_reported_at_its_type),
		cmocka_unit_test(unsupported_parameter_is_reported_at_its_key),
		cmocka_unit_test(lenient_mode_makes_a_commented_noop),
		cmocka_unit_test(references_become_flow_variables),
		cmocka_unit_test(template_braces_in_text_stay_literal),
		cmocka_unit_test(prompt_ids_need_a_file_mapping),
		cmocka_unit_test(transitions_to_unknown_actions_are_errors),
		cmocka_unit_test(malformed_json_is_reported_at_its_position),
		cmocka_unit_test(files_are_recognized_by_name_and_content),
		cmocka_unit_test(unreachable_actions_are_left_out),
		cmocka_unit_test(bad_values_file_is_reported),
		cmocka_unit_test(seed_dialect_success_and_error_transitions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
