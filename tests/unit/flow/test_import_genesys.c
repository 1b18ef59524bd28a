/* Unit tests for the Genesys importer (flow/import.h): the seed's
 * `const flow = {...};` script imports, loads and runs as printed; the same
 * object as JSON imports alike; every state type; the JavaScript object
 * literal syntax (comments, unquoted keys, single quotes, trailing commas);
 * unsupported types/fields with positions; lenient mode; malformed input. */
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

#define FROM FLOW_IMPORT_GENESYS
#define FILE_LABEL "t.js"
#include "import_test_util.h"

static void seed_script_imports_and_loads(void **state)
{
	(void)state;
	size_t len;
	char *src = read_data("seed_genesys.js", &len);
	struct out *r = import_text(src, len, NULL);
	assert_int_equal(r->rc, 0);
	assert_has(r, "name: \"AI-Powered_Customer_Service\"\n"
		      "description: \"AI-Powered Customer Service\"\n"
		      "start: \"greeting\"\n");
	/* The greeting is the intent turn's prompt; confidenceThreshold is
	 * both thresholds. */
	assert_has(r, "greeting:\n    type: classify\n    prompt: \"Welcome "
		      "to our AI-powered customer service. How can I help "
		      "you?\"\n    model: default\n    confidence:\n      "
		      "high: 0.7\n      low: 0.7\n    high: processIntent\n"
		      "    low: escalateToAgent\n    no_match: "
		      "escalateToAgent\n");
	/* The action is a plain POST, then the call ends. */
	assert_has(r, "processIntent:\n    type: http\n    method: POST\n");
	assert_has(r, "url: \"http://127.0.0.1:8080/actions/"
		      "processCustomerRequest\"");
	assert_null(strstr(yaml(r), "event: connect"));
	/* escalateToAgent is named but never defined: say + agent. */
	assert_has(r, "# 'escalateToAgent' is named by state 'getIntent' but "
		      "not defined in the source: a transfer to an agent\n  "
		      "escalateToAgent:\n    type: say\n");
	assert_has(r, "escalateToAgent_transfer:\n    type: transfer\n    "
		      "target: agent\n");
	assert_loads(r);
	out_free(r);
	free(src);
}

static void run_to_end(struct flow *f, const char *intent, float conf,
		       enum flow_act_type want, const char *detail)
{
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
	res = (struct flow_result){ .type = FLOW_RES_INPUT, .now_ms = 2000 };
	res.input.kind = FLOW_IN_SPEECH;
	res.input.transcript = "something";
	res.input.stt_confidence = 0.9f;
	res.input.intent = intent;
	res.input.intent_confidence = conf;
	assert_int_equal(flow_run_step(run, &res, &act), 0);
	if (want == FLOW_ACT_SAY) {
		/* the low branch: say, then the agent transfer */
		assert_int_equal(act.type, FLOW_ACT_SAY);
		res = (struct flow_result){ .type = FLOW_RES_PLAYED,
					    .now_ms = 3000 };
		assert_int_equal(flow_run_step(run, &res, &act), 0);
		assert_int_equal(act.type, FLOW_ACT_TRANSFER);
		assert_true(act.transfer.to_agent);
	} else {
		assert_int_equal(act.type, want);
		assert_string_equal(act.http.url, detail);
		res = (struct flow_result){ .type = FLOW_RES_HTTP,
					    .now_ms = 3000 };
		res.http.status = 200;
		res.http.body = "{}";
		res.http.body_len = 2;
		assert_int_equal(flow_run_step(run, &res, &act), 0);
		assert_int_equal(act.type, FLOW_ACT_HANGUP);
	}
	flow_run_destroy(run);
}

static void seed_script_runs_both_branches(void **state)
{
	(void)state;
	size_t len;
	char *src = read_data("seed_genesys.js", &len);
	struct out *r = import_text(src, len, NULL);
	assert_int_equal(r->rc, 0);
	struct flow *f = NULL;
	assert_int_equal(
		flow_load_buf("t.yaml", yaml(r), r->yaml.len, &f, NULL), 0);
	run_to_end(f, "card_arrival", 0.9f, FLOW_ACT_HTTP,
		   "http://127.0.0.1:8080/actions/processCustomerRequest");
	run_to_end(f, "card_arrival", 0.5f, FLOW_ACT_SAY, NULL);
	flow_deref(f);
	out_free(r);
	free(src);
}

static void same_object_as_json_imports_alike(void **state)
{
	(void)state;
	const char *js = "{\"name\": \"j\", \"startState\": \"a\", \"states\": "
			 "{\"a\": {\"type\": \"message\", \"properties\": "
			 "{\"message\": \"Hi\"}, \"transitions\": {\"next\": "
			 "\"b\"}}, \"b\": {\"type\": \"disconnect\"}}}";
	struct out *r = import_str(js);
	assert_int_equal(r->rc, 0);
	assert_has(r, "a:\n    type: say\n    text: \"Hi\"\n    next: b\n");
	assert_has(r, "b:\n    type: hangup\n");
	assert_loads(r);
	out_free(r);
}

static void every_state_type_imports_and_loads(void **state)
{
	(void)state;
	size_t len, vlen, ilen;
	char *src = read_data("genesys_all.js", &len);
	char *vals = read_data("genesys_values.yaml", &vlen);
	char *ints = read_data("intents.yaml", &ilen);
	struct flow_import_opts o = { .values = vals,
				      .values_len = vlen,
				      .intents = ints,
				      .intents_len = ilen };
	struct out *r = import_text(src, len, &o);
	assert_int_equal(r->rc, 0);
	/* --intents: the flow's own intents, no model */
	assert_has(r, "intents:\n  check_balance:\n    examples:\n      - "
		      "\"what is my balance\"\n");
	assert_has(r, "  lost_card:\n    examples:\n      - \"i lost my "
		      "card\"\n");
	assert_null(strstr(yaml(r), "model: default"));
	assert_has(r, "greeting:\n    type: say\n    text: \"Welcome to "
		      "Example Bank.\"\n    next: getIntent\n");
	assert_has(r, "getIntent:\n    type: classify\n    prompt: \"How can "
		      "I help you today?\"\n");
	assert_has(r, "high: 0.6\n      low: 0.6\n    high: lookup\n    low: "
		      "toQueue\n    no_match: toQueue\n    on_max_retries: "
		      "goodbye\n");
	assert_has(r, "url: \"http://127.0.0.1:9000/customer\"");
	assert_has(r, "      source: \"ivr\"\n    next: goodbye\n    "
		      "on_error: toQueue\n");
	assert_has(r, "toQueue:\n    type: transfer\n    target: "
		      "\"queue:Support\"\n    on_fail: goodbye\n");
	assert_has(r, "goodbye:\n    type: hangup\n");
	assert_loads(r);
	out_free(r);
	free(src);
	free(vals);
	free(ints);
}

static void object_literal_syntax_is_accepted(void **state)
{
	(void)state;
	const char *js =
		"// header\n"
		"let f = {\n"
		"  /* multi\n     line */ startState: 'a', // trailing\n"
		"  states: {\n"
		"    a: {type: 'message', properties: {message: 'It\\'s \\u00e9"
		"\\n ok',}, transitions: {next: \"b\",},},\n"
		"    $b_2: {type: \"disconnect\"},\n"
		"    b: {type: \"end\",},\n"
		"  },\n"
		"}\n";
	struct out *r = import_str(js);
	assert_int_equal(r->rc, 0);
	assert_has(r, "text: \"It's \xc3\xa9 ok\"");
	out_free(r);
	/* module.exports form, and a bare object */
	r = import_str("module.exports = {startState: 'a', states: {a: "
		       "{type: 'disconnect'}}};");
	assert_int_equal(r->rc, 0);
	out_free(r);
}

static void unsupported_types_and_fields_are_reported(void **state)
{
	(void)state;
	const char *js = "const flow = {\n"
			 "  startState: 'a',\n"
			 "  states: {\n"
			 "    a: {type: 'survey', transitions: {next: 'b'}},\n"
			 "    b: {type: 'message', properties: {message: 'x', "
			 "voice: 'y'}, transitions: {next: 'c'}},\n"
			 "    c: {type: 'disconnect', color: 'red'},\n"
			 "  },\n"
			 "};\n";
	struct out *r = import_str(js);
	assert_int_equal(r->rc, -EBADMSG);
	assert_int_equal(r->errs.count, 3);
	assert_string_equal(r->errs.msg[0],
			    "t.js:4:15: unsupported Genesys state type "
			    "'survey' (state 'a')");
	assert_string_equal(r->errs.msg[1],
			    "t.js:5:53: unsupported Genesys property 'voice' "
			    "(state 'b')");
	assert_string_equal(r->errs.msg[2],
			    "t.js:6:29: unsupported Genesys field 'color' "
			    "(state 'c')");
	out_free(r);

	struct flow_import_opts o = { .lenient = true };
	r = import_text(js, strlen(js), &o);
	assert_int_equal(r->rc, 0);
	assert_has(r, "# Genesys state 'a' (survey) (not imported: a no-op)\n"
		      "  a:\n    type: goto\n    next: b\n");
	assert_has(r, "# unsupported property 'voice' ignored");
	assert_has(r, "# unsupported field 'color' ignored");
	assert_loads(r);
	out_free(r);
}

static void unknown_states_are_errors_unless_agents(void **state)
{
	(void)state;
	struct out *r = import_str(
		"{startState: 'a', states: {a: {type: 'message', properties: "
		"{message: 'x'}, transitions: {next: 'nowhere'}}}}");
	assert_int_equal(r->rc, -EBADMSG);
	assert_error(r, "t.js:1:97: state 'a': transition to 'nowhere', "
			"which is no state of the flow");
	out_free(r);
	r = import_str("{startState: 'x', states: {a: {type: 'disconnect'}}}");
	assert_int_equal(r->rc, -EBADMSG);
	assert_error(r, "transition to 'x'");
	out_free(r);
}

static void malformed_scripts_are_reported_at_their_position(void **state)
{
	(void)state;
	static const struct {
		const char *src;
		const char *msg;
	} cases[] = {
		{ "const flow = {", "t.js:1:15: expected a key in quotes" },
		{ "const flow {}",
		  "t.js:1:12: expected '=' after the variable" },
		{ "{a: 1 /* open", "t.js:1:7: unclosed comment" },
		{ "{a: 'x}", "t.js:1:8: unterminated string" },
		{ "{a: 1};;", "t.js:1:8: unexpected text after the document" },
		{ "{a: undefined}", "t.js:1:5: expected a value" },
		{ "{1a: 2}", "t.js:1:2: expected a key in quotes" },
		{ "{a: 1, a: 2}", "t.js:1:8: duplicate key 'a'" },
		{ "[1, 2]", "not a Genesys flow" },
		{ "{states: {}}", "not a Genesys flow" },
		{ "{startState: 1, states: {}}", "not a Genesys flow" },
		{ "{startState: 'a', states: {a: 5}}",
		  "state 'a': expected an object" },
		{ "{startState: 'a', states: {a: {}}}", "state 'a': no type" },
		{ "{startState: 'a', states: {a: {type: 'aiIntent', "
		  "properties: {confidenceThreshold: 2}}}}",
		  "confidenceThreshold must be a number from 0 to 1" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct out *r = import_str(cases[i].src);
		if (r->rc == 0)
			fail_msg("case %zu imported", i);
		assert_error(r, cases[i].msg);
		out_free(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(seed_script_imports_and_loads),
		cmocka_unit_test(seed_script_runs_both_branches),
		cmocka_unit_test(same_object_as_json_imports_alike),
		cmocka_unit_test(every_state_type_imports_and_loads),
		cmocka_unit_test(object_literal_syntax_is_accepted),
		cmocka_unit_test(unsupported_types_and_fields_are_reported),
		cmocka_unit_test(unknown_states_are_errors_unless_agents),
		cmocka_unit_test(
			malformed_scripts_are_reported_at_their_position),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
