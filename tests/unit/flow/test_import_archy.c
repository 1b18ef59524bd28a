/* Unit tests for the Archy importer (flow/import.h): every supported
 * action of an inboundCall flow, {{placeholders}} from --values, tasks and
 * jumps, decisions and switches from expressions, unsupported actions and
 * fields with positions, lenient mode, malformed input. */
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

#define FROM FLOW_IMPORT_ARCHY
#define FILE_LABEL "t.yaml"
#include "import_test_util.h"

static void every_supported_action_imports_and_loads(void **state)
{
	(void)state;
	size_t len, vlen;
	char *src = read_data("archy_all.yaml", &len);
	char *vals = read_data("archy_values.yaml", &vlen);
	struct flow_import_opts o = { .values = vals, .values_len = vlen };
	struct out *r = import_text(src, len, &o);
	assert_int_equal(r->rc, 0);
	assert_has(r, "name: \"Archy_All\"\ndescription: \"Archy All\"\n"
		      "start: \"initial_greeting\"\n");
	/* initialGreeting with a placeholder */
	assert_has(r, "initial_greeting:\n    type: say\n    text: \"Welcome "
		      "to Example Bank.\"\n    next: task_Main\n");
	/* updateData */
	assert_has(r, "Init:\n    type: set\n    vars:\n      flow.tries: "
		      "\"none\"\n      flow.caller: \"{{call.from}}\"\n    "
		      "next: Account\n");
	/* collectInput */
	assert_has(r, "Account:\n    type: gather\n    prompt: \"Please enter "
		      "your six digit account number.\"\n    input: dtmf\n    "
		      "max_digits: 6\n    into: \"task.account\"\n    retries: "
		      "0\n    next: Known_account\n    on_max_retries: "
		      "Sorry_loop\n");
	/* decision: its branches go on with the action after it */
	assert_has(r, "Known_account:\n    type: switch\n    value: "
		      "\"{{task.account}}\"\n    cases:\n      - equals: "
		      "\"123456\"\n        next: Thanks\n    default: "
		      "To_the_bot\n");
	assert_has(r, "Thanks:\n    type: say\n    text: \"Thank you.\"\n    "
		      "next: Route\n");
	/* jumpToTask */
	assert_has(r, "To_the_bot:\n    type: goto\n    next: task_Bot\n");
	/* loop */
	assert_has(r, "Sorry_loop:\n    type: switch\n    value: "
		      "\"{{loop.Sorry_loop_count}}\"\n    cases:\n      - "
		      "equals: \"xx\"\n        next: Sorry_loop_done\n    "
		      "default: Sorry_loop_count\n");
	assert_has(r, "Retry_account:\n    type: gather\n");
	assert_has(r, "    next: Sorry_loop\n    on_max_retries: Sorry_loop\n");
	/* switch: one node per case */
	assert_has(r, "Route:\n    type: switch\n    value: "
		      "\"{{task.account}}\"\n    cases:\n      - empty: true\n"
		      "        next: No_account\n    default: Route_case2\n");
	assert_has(r, "Route_case2:\n    type: switch\n    value: "
		      "\"{{task.account}}\"\n    cases:\n      - not_equals: "
		      "\"000000\"\n        next: Account_known\n    default: "
		      "To_queue\n");
	/* transferToAcd with audio before and on failure, queue from
	 * --values */
	assert_has(r, "To_queue:\n    type: say\n    text: \"Connecting you "
		      "now.\"\n    next: To_queue_transfer\n");
	assert_has(r, "To_queue_transfer:\n    type: transfer\n    target: "
		      "\"queue:Support\"\n    on_fail: To_queue_failed\n");
	assert_has(r, "To_queue_failed:\n    type: say\n    text: \"Nobody is "
		      "available.\"\n    next: Hang_up\n");
	/* disconnect */
	assert_has(r, "Hang_up:\n    type: hangup\n");
	/* callBotFlow, with the playAudio before it as its prompt */
	assert_has(r, "Ask:\n    type: classify\n    prompt: \"How can I help "
		      "you?\"\n    model: default\n    high: Done\n    "
		      "no_match: Bot_failed\n");
	/* endTask */
	assert_has(r, "Done:\n    type: goto\n    next: end\n");
	assert_has(r, "# Archy collectInput 'Account'");
	assert_loads(r);
	out_free(r);
	free(src);
	free(vals);
}

static void placeholders_need_values(void **state)
{
	(void)state;
	size_t len;
	char *src = read_data("archy_all.yaml", &len);
	struct out *r = import_text(src, len, NULL);
	assert_int_equal(r->rc, -EBADMSG);
	assert_error(r, "t.yaml:10:22: placeholder '{{company}}' has no value "
			"(give it in --values)");
	assert_error(r, "placeholder '{{queue}}' has no value");
	out_free(r);
	free(src);
}

static const char *flow_with(const char *actions)
{
	static char buf[4096];
	snprintf(buf, sizeof(buf),
		 "inboundCall:\n"
		 "  name: T\n"
		 "  startUpRef: \"/inboundCall/tasks/task[t1]\"\n"
		 "  tasks:\n"
		 "    - task:\n"
		 "        name: One\n"
		 "        refId: t1\n"
		 "        actions:\n"
		 "%s",
		 actions);
	return buf;
}

static void unsupported_actions_and_fields_are_reported(void **state)
{
	(void)state;
	const char *src = flow_with("          - callData:\n"
				    "              name: Data\n"
				    "          - playAudio:\n"
				    "              name: Hi\n"
				    "              volume: 3\n"
				    "              audio:\n"
				    "                tts: Hello\n");
	struct out *r = import_str(src);
	assert_int_equal(r->rc, -EBADMSG);
	assert_int_equal(r->errs.count, 2);
	assert_string_equal(r->errs.msg[0],
			    "t.yaml:9:13: unsupported Archy action type "
			    "'callData' (action 'Data')");
	assert_string_equal(r->errs.msg[1],
			    "t.yaml:13:15: unsupported Archy field 'volume' of "
			    "playAudio");
	out_free(r);

	struct flow_import_opts o = { .lenient = true };
	r = import_text(src, strlen(src), &o);
	assert_int_equal(r->rc, 0);
	assert_has(r, "# Archy callData 'Data' (not imported: a no-op)\n  "
		      "Data:\n    type: goto\n    next: Hi\n");
	assert_has(r, "# unsupported field 'volume' ignored");
	assert_loads(r);
	out_free(r);
}

static void unsupported_expressions_are_reported(void **state)
{
	(void)state;
	struct out *r = import_str(
		flow_with("          - decision:\n"
			  "              condition:\n"
			  "                exp: Flow.a == 1 and Flow.b\n"
			  "              outputs:\n"
			  "                yes:\n"
			  "                  actions:\n"
			  "                    - disconnect:\n"
			  "                        name: Bye\n"));
	assert_int_equal(r->rc, -EBADMSG);
	assert_error(r, "t.yaml:11:22: unsupported Archy decision condition");
	out_free(r);
	r = import_str(flow_with("          - updateData:\n"
				 "              statements:\n"
				 "                - string:\n"
				 "                    variable: Flow.x\n"
				 "                    value:\n"
				 "                      exp: Len(Flow.y)\n"));
	assert_int_equal(r->rc, -EBADMSG);
	assert_error(r, "t.yaml:14:28: unsupported Archy expression in "
			"updateData: 'Len(Flow.y)'");
	out_free(r);
}

static void expressions_become_templates(void **state)
{
	(void)state;
	struct out *r = import_str(
		flow_with("          - updateData:\n"
			  "              name: Set\n"
			  "              statements:\n"
			  "                - string:\n"
			  "                    variable: Flow.greeting\n"
			  "                    value:\n"
			  "                      exp: \"\\\"Hi \\\" + "
			  "ToString(Call.Ani) + "
			  "Flow.name\"\n"
			  "          - decision:\n"
			  "              name: Check\n"
			  "              condition:\n"
			  "                exp: Flow.count >= 3\n"
			  "              outputs:\n"
			  "                no:\n"
			  "                  - playAudio:\n"
			  "                      name: Few\n"
			  "                      audio:\n"
			  "                        tts: few\n"));
	assert_int_equal(r->rc, 0);
	assert_has(r, "flow.greeting: \"Hi {{call.from}}{{flow.name}}\"");
	assert_has(r, "value: \"{{flow.count}}\"\n    cases:\n      - ge: "
		      "\"3\"\n        next: end\n    default: Few\n");
	assert_has(r, "variables:\n");
	assert_has(r, "  flow.name: \"\"\n");
	assert_loads(r);
	out_free(r);
}

static void start_and_tasks_are_checked(void **state)
{
	(void)state;
	struct out *r = import_str("inboundCall:\n  name: T\n  startUpRef: "
				   "\"/inboundCall/menus/menu[m]\"\n  tasks: "
				   "[]\n");
	assert_int_equal(r->rc, -EBADMSG);
	assert_error(r, "t.yaml:3:15: no start: startUpRef "
			"'/inboundCall/menus/menu[m]' names no task");
	out_free(r);
	r = import_str(flow_with("          - jumpToTask:\n"
				 "              targetTaskRef: "
				 "\"/inboundCall/tasks/task[nope]\"\n"));
	assert_int_equal(r->rc, -EBADMSG);
	assert_error(r, "t.yaml:10:30: jumpToTask: no task "
			"'/inboundCall/tasks/task[nope]'");
	out_free(r);
	/* startUpTaskActions: the start task inline */
	r = import_str("inboundCall:\n  name: S\n  startUpTaskActions:\n"
		       "    - disconnect:\n        name: Bye\n");
	assert_int_equal(r->rc, 0);
	assert_has(r, "start: \"Bye\"\n");
	assert_loads(r);
	out_free(r);
}

static void malformed_documents_are_reported(void **state)
{
	(void)state;
	static const struct {
		const char *src;
		const char *msg;
	} cases[] = {
		{ "inboundCall: [", "t.yaml:" },
		{ "outboundCall:\n  name: x\n", "t.yaml:1:1: not an Archy "
						"inbound call flow" },
		{ "", "not an Archy inbound call flow" },
		{ "inboundCall:\n  name: x\n  tasks: 5\n", "t.yaml:3:10: tasks "
							   "must be a list" },
		{ "inboundCall:\n  startUpTaskActions:\n    - a: 1\n      b: "
		  "2\n",
		  "t.yaml:3:7: an action is a map of one action type" },
		{ "inboundCall:\n  startUpTaskActions:\n    - playAudio: 1\n",
		  "t.yaml:3:18: action playAudio: expected a map" },
		{ "inboundCall:\n  startUpTaskActions: 1\n",
		  "t.yaml:2:23: expected a list of actions" },
		{ "inboundCall:\n  startUpTaskActions:\n    - loop:\n        "
		  "loopCount: 0\n",
		  "loopCount must be a number from 1 to 100" },
		{ "inboundCall:\n  startUpTaskActions:\n    - collectInput:\n  "
		  "      digits: {exactly: 40}\n",
		  "digits must be from 1 to 32" },
		{ "inboundCall:\n  menus: []\n  startUpTaskActions: []\n",
		  "t.yaml:2:3: unsupported Archy flow section 'menus'" },
		{ "inboundCall:\n  startUpTaskActions:\n    - transferToAcd:\n "
		  "       name: x\n",
		  "transferToAcd: no targetQueue name" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct out *r = import_str(cases[i].src);
		if (r->rc == 0)
			fail_msg("case %zu imported", i);
		assert_error(r, cases[i].msg);
		out_free(r);
	}
}

static void too_many_nodes_are_refused(void **state)
{
	(void)state;
	struct strbuf b;
	strbuf_init(&b, 1 << 20);
	assert_int_equal(strbuf_addstr(&b, "inboundCall:\n  name: big\n  "
					   "startUpTaskActions:\n"),
			 0);
	for (int i = 0; i < 1100; i++)
		assert_int_equal(strbuf_printf(&b,
					       "    - playAudio: {name: p%d, "
					       "audio: {tts: hi}}\n",
					       i),
				 0);
	struct out *r = import_text(strbuf_str(&b), b.len, NULL);
	assert_int_equal(r->rc, -EBADMSG);
	assert_error(r, "the flow would have more than 1000 nodes");
	out_free(r);
	strbuf_fini(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_supported_action_imports_and_loads),
		cmocka_unit_test(placeholders_need_values),
		cmocka_unit_test(unsupported_actions_and_fields_are_reported),
		cmocka_unit_test(unsupported_expressions_are_reported),
		cmocka_unit_test(expressions_become_templates),
		cmocka_unit_test(start_and_tasks_are_checked),
		cmocka_unit_test(malformed_documents_are_reported),
		cmocka_unit_test(too_many_nodes_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
