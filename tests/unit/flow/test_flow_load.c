/* Unit tests for the flow loader: the built-in demo, parsed values, and
 * every validation error with its exact file:line:col. */
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

#include "flow/flow.h"
#include "flow/model.h"

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
	assert_int_equal(err, -EBADMSG);
	assert_ptr_equal(f, (struct flow *)0x1); /* untouched on failure */
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

struct prompts {
	char *voice[64];
	char *text[64];
	size_t n;
};

static void collect_prompt(const char *voice, const char *text, void *arg)
{
	struct prompts *p = arg;
	assert_true(p->n < 64);
	p->voice[p->n] = voice ? strdup(voice) : NULL;
	p->text[p->n] = strdup(text);
	p->n++;
}

static void prompts_free(struct prompts *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->voice[i]);
		free(p->text[i]);
	}
}

static bool has_prompt(const struct prompts *p, const char *text)
{
	for (size_t i = 0; i < p->n; i++) {
		if (!strcmp(p->text[i], text))
			return true;
	}
	return false;
}

/* ---- valid flows ---- */

static void builtin_bank_hotline_loads_with_its_menus(void **state)
{
	(void)state;
	struct flow *f = NULL;
	assert_int_equal(flow_load_builtin("bank-hotline", &f), 0);
	assert_string_equal(flow_name(f), "bank-hotline");
	assert_string_equal(flow_file(f), "flows/bank-hotline.yaml");
	assert_string_equal(f->nodes[f->start].name, "greeting");

	const struct flow_node *m = node(f, "main_menu");
	assert_int_equal(m->type, FLOW_NODE_MENU);
	assert_int_equal(m->noptions, 3);
	assert_string_equal(m->options[0].digits, "1");
	assert_string_equal(f->nodes[m->options[0].next].name, "balance");
	assert_string_equal(m->options[2].digits, "0");
	assert_string_equal(f->nodes[m->options[2].next].name, "agent_hold");
	assert_string_equal(m->text,
			    "In a few words, tell me what you need. Or press 1 "
			    "for your balance, 2 for card services, or 0 for "
			    "an agent.");
	/* Open speech with the flow's intents, and keys. */
	assert_int_equal(m->input, FLOW_INPUT_BOTH);
	assert_int_equal(m->stt_mode, STT_MODE_OPEN);
	assert_true(m->nroutes >= 2);
	assert_non_null(f->nlu);
	assert_string_equal(f->nodes[m->on_low].name, "short_menu");
	/* A grammar of a few words for the unsure. */
	const struct flow_node *s = node(f, "short_menu");
	assert_int_equal(s->stt_mode, STT_MODE_GRAMMAR);
	assert_non_null(s->grammar);
	assert_true(stt_grammar_count(s->grammar) >= 3);
	assert_string_equal(f->nodes[m->on_max_retries].name, "agent_hold");
	assert_true(node(f, "agent")->to_agent);
	assert_string_equal(f->nodes[node(f, "agent")->on_fail].name,
			    "no_agents");
	assert_string_equal(node(f, "greeting")->text,
			    "Welcome to voxgate bank.");
	assert_string_equal(node(f, "goodbye")->text,
			    "Thank you for calling voxgate bank. Goodbye.");
	flow_deref(f);
}

static void builtin_is_byte_identical_to_the_file_in_flows(void **state)
{
	(void)state;
	char path[4096];
	snprintf(path, sizeof(path), "%s/flows/bank-hotline.yaml",
		 VG_SOURCE_DIR);
	struct flow *a = NULL, *b = NULL;
	struct flow_errors errs = { 0 };
	assert_int_equal(flow_load_file(path, &a, &errs), 0);
	assert_int_equal(flow_load_builtin("bank-hotline", &b), 0);
	assert_int_equal(a->nnodes, b->nnodes);
	for (unsigned i = 0; i < a->nnodes; i++) {
		assert_string_equal(a->nodes[i].name, b->nodes[i].name);
		if (a->nodes[i].text)
			assert_string_equal(a->nodes[i].text, b->nodes[i].text);
	}
	flow_deref(a);
	flow_deref(b);
}

static char *slurp(const char *rel)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", VG_SOURCE_DIR, rel);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void docs_show_the_demo_flow_as_it_is(void **state)
{
	(void)state;
	char *doc = slurp("docs/FLOWS.md");
	char *yaml = slurp("flows/bank-hotline.yaml");
	/* The file minus its leading comment must appear verbatim. */
	const char *body = yaml;
	while (body[0] == '#')
		body = strchr(body, '\n') + 1;
	assert_non_null(strstr(doc, body));
	free(doc);
	free(yaml);
}

static void unknown_builtin_is_enoent(void **state)
{
	(void)state;
	struct flow *f = (struct flow *)0x1;
	assert_int_equal(flow_load_builtin("nope", &f), -ENOENT);
	assert_ptr_equal(f, (struct flow *)0x1);
}

static void menu_fields_parse_with_units_and_defaults(void **state)
{
	(void)state;
	struct flow *f =
		load_ok("name: m\n"
			"start: pin\n"
			"voice: slt\n"
			"nodes:\n"
			"  pin:\n"
			"    type: menu\n"
			"    prompt: Enter your code.\n"
			"    voice: kal\n"
			"    options: {'1234': ok, '*': pin2}\n"
			"    timeout: 800ms\n"
			"    interdigit_timeout: 2s\n"
			"    max_digits: 4\n"
			"    terminator: '#'\n"
			"    retries: 0\n"
			"    on_max_retries: bye\n"
			"  pin2:\n"
			"    type: menu\n"
			"    prompt: Again.\n"
			"    options: {'1': ok}\n"
			"    on_max_retries: bye\n"
			"  ok:\n"
			"    type: transfer\n"
			"    target: sip:desk@example.com;transport=tcp\n"
			"    on_fail: bye\n"
			"  bye:\n"
			"    type: hangup\n");
	const struct flow_node *p = node(f, "pin");
	assert_int_equal(p->timeout_ms, 800);
	assert_int_equal(p->interdigit_ms, 2000);
	assert_int_equal(p->max_digits, 4);
	assert_string_equal(p->terminator, "#");
	assert_int_equal(p->retries, 0);
	assert_string_equal(p->voice, "kal");
	assert_true(p->barge_in);
	assert_null(p->no_input);

	const struct flow_node *q = node(f, "pin2");
	assert_int_equal(q->timeout_ms, 5000);
	assert_int_equal(q->interdigit_ms, 3000);
	assert_int_equal(q->max_digits, 1);
	assert_int_equal(q->retries, 2);
	assert_string_equal(q->terminator, "");

	assert_string_equal(node(f, "ok")->target,
			    "sip:desk@example.com;transport=tcp");
	assert_false(node(f, "ok")->to_agent);
	assert_string_equal(node(f, "bye")->reason, "completed");
	assert_string_equal(f->voice, "slt");

	struct prompts pr = { 0 };
	flow_prompts_foreach(f, "kal", collect_prompt, &pr);
	assert_int_equal(pr.n, 2);
	assert_string_equal(pr.text[0], "Enter your code.");
	assert_string_equal(pr.voice[0], "kal"); /* the node's */
	assert_string_equal(pr.text[1], "Again.");
	assert_string_equal(pr.voice[1], "slt"); /* the flow's */
	prompts_free(&pr);
	flow_deref(f);
}

static void prompts_are_listed_once_with_resolved_voices(void **state)
{
	(void)state;
	struct flow *f = NULL;
	assert_int_equal(flow_load_builtin("bank-hotline", &f), 0);
	struct prompts pr = { 0 };
	flow_prompts_foreach(f, "kal", collect_prompt, &pr);
	/* 7 say texts + 3 menu prompts + 2 distinct no_input and 3 distinct
	 * invalid texts, each once. */
	assert_int_equal(pr.n, 15);
	assert_true(has_prompt(&pr, "Welcome to voxgate bank."));
	assert_true(has_prompt(&pr, "Sorry, I did not hear a choice."));
	assert_true(has_prompt(&pr, "Sorry, that is not a valid choice."));
	for (size_t i = 0; i < pr.n; i++)
		assert_string_equal(pr.voice[i], "kal");
	prompts_free(&pr);

	struct prompts none = { 0 };
	flow_prompts_foreach(f, NULL, collect_prompt, &none);
	assert_int_equal(none.n, 15);
	assert_null(none.voice[0]);
	prompts_free(&none);
	flow_deref(f);
}

static void references_keep_a_flow_alive(void **state)
{
	(void)state;
	struct flow *f = NULL;
	assert_int_equal(flow_load_builtin("bank-hotline", &f), 0);
	struct flow *g = flow_ref(f);
	assert_ptr_equal(g, f);
	assert_null(flow_deref(f));
	/* Still alive through g (ASan would flag a use after free). */
	assert_string_equal(flow_name(g), "bank-hotline");
	assert_null(flow_deref(g));
	assert_null(flow_ref(NULL));
	assert_null(flow_deref(NULL));
}

/* ---- errors ---- */

static void missing_start_is_reported_at_the_top(void **state)
{
	(void)state;
	expect_errors("name: x\n"
		      "nodes:\n"
		      "  a:\n"
		      "    type: hangup\n",
		      ERRORS("t.yaml:1:1: missing 'start'"));
}

static void missing_name_and_nodes_are_reported(void **state)
{
	(void)state;
	expect_errors("start: a\n", ERRORS("t.yaml:1:1: missing 'name'",
					   "t.yaml:1:1: missing 'nodes'"));
}

static void start_naming_no_node_points_at_the_value(void **state)
{
	(void)state;
	expect_errors("name: x\n"
		      "start: nowhere\n"
		      "nodes:\n"
		      "  a:\n"
		      "    type: hangup\n",
		      ERRORS("t.yaml:2:8: 'start' names no node 'nowhere'"));
}

static void unknown_node_type_points_at_the_type(void **state)
{
	(void)state;
	expect_errors("name: x\n"
		      "start: a\n"
		      "nodes:\n"
		      "  a:\n"
		      "    type: dance\n",
		      ERRORS("t.yaml:5:11: node 'a': unknown type 'dance' "
			     "(expected say, menu, transfer, hangup, play, "
			     "gather, classify, set, switch, http, lookup, "
			     "record, hours, goto, subflow or return)"));
}

static void missing_type_points_at_the_node_name(void **state)
{
	(void)state;
	expect_errors("name: x\n"
		      "start: a\n"
		      "nodes:\n"
		      "  a:\n"
		      "    text: hi\n",
		      ERRORS("t.yaml:4:3: node 'a': missing 'type'"));
}

static void unknown_fields_are_errors_at_the_key(void **state)
{
	(void)state;
	expect_errors("name: x\n"
		      "start: a\n"
		      "colour: red\n"
		      "nodes:\n"
		      "  a:\n"
		      "    type: say\n"
		      "    txt: hello\n"
		      "    next: b\n"
		      "  b:\n"
		      "    type: hangup\n"
		      "    after: 3s\n",
		      ERRORS("t.yaml:3:1: unknown field 'colour' (expected "
			     "name, start, voice, intents, nodes, "
			     "description, variables or handlers)",
			     "t.yaml:5:3: node 'a': missing 'text'",
			     "t.yaml:7:5: node 'a': unknown field 'txt' for a "
			     "say node (expected text, voice, barge_in or "
			     "next)",
			     "t.yaml:11:5: node 'b': unknown field 'after' "
			     "for a hangup node (expected reason)"));
}

static void transitions_to_undefined_nodes_point_at_the_value(void **state)
{
	(void)state;
	expect_errors("name: x\n"
		      "start: a\n"
		      "nodes:\n"
		      "  a:\n"
		      "    type: menu\n"
		      "    prompt: Pick.\n"
		      "    options:\n"
		      "      1: b\n"
		      "      2: c\n"
		      "    on_max_retries: d\n"
		      "  b:\n"
		      "    type: transfer\n"
		      "    target: tel:+15550100\n"
		      "    on_fail: e\n",
		      ERRORS("t.yaml:9:10: node 'a': option '2' names no node "
			     "'c'",
			     "t.yaml:10:21: node 'a': 'on_max_retries' names "
			     "no node 'd'",
			     "t.yaml:14:14: node 'b': 'on_fail' names no node "
			     "'e'"));
}

static void unreachable_nodes_are_errors(void **state)
{
	(void)state;
	expect_errors("name: x\n"
		      "start: a\n"
		      "nodes:\n"
		      "  a:\n"
		      "    type: say\n"
		      "    text: Hi.\n"
		      "    next: c\n"
		      "  b:\n"
		      "    type: hangup\n"
		      "  c:\n"
		      "    type: hangup\n"
		      "  orphan:\n"
		      "    type: say\n"
		      "    text: Never heard.\n"
		      "    next: b\n",
		      ERRORS("t.yaml:8:3: node 'b' is unreachable from start "
			     "node 'a'",
			     "t.yaml:12:3: node 'orphan' is unreachable from "
			     "start node 'a'"));
}

static void option_keys_must_be_dtmf_within_max_digits(void **state)
{
	(void)state;
	expect_errors("name: x\n"
		      "start: a\n"
		      "nodes:\n"
		      "  a:\n"
		      "    type: menu\n"
		      "    prompt: Pick.\n"
		      "    options:\n"
		      "      1: z\n"
		      "      x: z\n"
		      "      '12': z\n"
		      "      e: z\n"
		      "    on_max_retries: z\n"
		      "  b:\n"
		      "    type: menu\n"
		      "    prompt: Code.\n"
		      "    max_digits: 3\n"
		      "    terminator: '#'\n"
		      "    options: {'1#': z, '*9': z}\n"
		      "    on_max_retries: z\n"
		      "  z:\n"
		      "    type: hangup\n",
		      ERRORS("t.yaml:9:7: node 'a': option 'x' is not 1-32 "
			     "DTMF keys (0-9, *, #, A-D)",
			     "t.yaml:10:7: node 'a': option '12' is longer "
			     "than max_digits 1",
			     "t.yaml:11:7: node 'a': option 'e' is not 1-32 "
			     "DTMF keys (0-9, *, #, A-D)",
			     "t.yaml:18:15: node 'b': option '1#' contains "
			     "the terminator '#'"));
}

static void durations_need_a_unit_and_a_sane_range(void **state)
{
	(void)state;
	expect_errors("name: x\n"
		      "start: a\n"
		      "nodes:\n"
		      "  a:\n"
		      "    type: menu\n"
		      "    prompt: Pick.\n"
		      "    options: {1: z}\n"
		      "    timeout: 5\n"
		      "    interdigit_timeout: 50ms\n"
		      "    on_max_retries: z\n"
		      "  b:\n"
		      "    type: menu\n"
		      "    prompt: Pick.\n"
		      "    options: {1: z}\n"
		      "    timeout: 2m\n"
		      "    interdigit_timeout: 301s\n"
		      "    on_max_retries: z\n"
		      "  c:\n"
		      "    type: menu\n"
		      "    prompt: Pick.\n"
		      "    options: {1: z}\n"
		      "    timeout: -5s\n"
		      "    interdigit_timeout: 1.5s\n"
		      "    on_max_retries: z\n"
		      "  z:\n"
		      "    type: hangup\n",
		      ERRORS("t.yaml:8:14: node 'a': 'timeout' must be a "
			     "duration like 5s or 800ms, from 100ms to 300s",
			     "t.yaml:9:25: node 'a': 'interdigit_timeout' "
			     "must be a duration like 5s or 800ms, from 100ms "
			     "to 300s",
			     "t.yaml:15:14: node 'b': 'timeout' must be a "
			     "duration like 5s or 800ms, from 100ms to 300s",
			     "t.yaml:16:25: node 'b': 'interdigit_timeout' "
			     "must be a duration like 5s or 800ms, from 100ms "
			     "to 300s",
			     "t.yaml:22:14: node 'c': 'timeout' must be a "
			     "duration like 5s or 800ms, from 100ms to 300s",
			     "t.yaml:23:25: node 'c': 'interdigit_timeout' "
			     "must be a duration like 5s or 800ms, from 100ms "
			     "to 300s"));
}

static void scalar_fields_are_type_checked(void **state)
{
	(void)state;
	expect_errors("name: x\n"
		      "start: a\n"
		      "nodes:\n"
		      "  a:\n"
		      "    type: say\n"
		      "    text: [not, text]\n"
		      "    barge_in: yes\n"
		      "    voice: 'bad voice'\n"
		      "    next: b\n"
		      "  b:\n"
		      "    type: menu\n"
		      "    prompt: ''\n"
		      "    options: [1, 2]\n"
		      "    max_digits: 33\n"
		      "    retries: -1\n"
		      "    terminator: '##'\n"
		      "    on_max_retries: c\n"
		      "  c:\n"
		      "    type: hangup\n"
		      "    reason: bored\n",
		      ERRORS("t.yaml:6:11: node 'a': 'text' must be a single "
			     "value, not a list",
			     "t.yaml:7:15: node 'a': 'barge_in' must be true "
			     "or false",
			     "t.yaml:8:12: node 'a': invalid voice 'bad "
			     "voice': use 1-64 letters, digits, '_', '-' or "
			     "'.'",
			     "t.yaml:12:13: node 'b': 'prompt' must not be "
			     "empty",
			     "t.yaml:13:14: node 'b': 'options' must be a map "
			     "of keys to node names",
			     "t.yaml:14:17: node 'b': 'max_digits' must be a "
			     "whole number from 1 to 32",
			     "t.yaml:15:14: node 'b': 'retries' must be a "
			     "whole number from 0 to 10",
			     "t.yaml:16:17: node 'b': 'terminator' must be "
			     "one DTMF key (0-9, *, #, A-D)",
			     "t.yaml:20:13: node 'c': unknown hangup reason "
			     "'bored' (expected completed, no_input, "
			     "invalid_input, closed or flow_error)"));
}

static void required_fields_are_reported_per_node_type(void **state)
{
	(void)state;
	expect_errors("name: x\n"
		      "start: a\n"
		      "nodes:\n"
		      "  a:\n"
		      "    type: say\n"
		      "  b:\n"
		      "    type: menu\n"
		      "  c:\n"
		      "    type: transfer\n",
		      ERRORS("t.yaml:4:3: node 'a': missing 'text'",
			     "t.yaml:4:3: node 'a': missing 'next'",
			     "t.yaml:6:3: node 'b': missing 'prompt'",
			     "t.yaml:6:3: node 'b': missing 'options'",
			     "t.yaml:6:3: node 'b': missing "
			     "'on_max_retries'",
			     "t.yaml:8:3: node 'c': missing 'target'",
			     "t.yaml:8:3: node 'c': missing 'on_fail'"));
}

static void transfer_targets_are_uris_or_agent(void **state)
{
	(void)state;
	expect_errors("name: x\n"
		      "start: a\n"
		      "nodes:\n"
		      "  a:\n"
		      "    type: transfer\n"
		      "    target: http://example.com\n"
		      "    on_fail: b\n"
		      "  b:\n"
		      "    type: transfer\n"
		      "    target: 'sip:a b@example.com'\n"
		      "    on_fail: c\n"
		      "  c:\n"
		      "    type: transfer\n"
		      "    target: 'sip:'\n"
		      "    on_fail: d\n"
		      "  d:\n"
		      "    type: hangup\n",
		      ERRORS("t.yaml:6:13: node 'a': 'target' must be a sip:, "
			     "sips: or tel: URI (at most 256 bytes, no "
			     "spaces) or the word agent",
			     "t.yaml:10:13: node 'b': 'target' must be a "
			     "sip:, sips: or tel: URI (at most 256 bytes, no "
			     "spaces) or the word agent",
			     "t.yaml:14:13: node 'c': 'target' must be a "
			     "sip:, sips: or tel: URI (at most 256 bytes, no "
			     "spaces) or the word agent"));
}

static void names_are_restricted_to_safe_characters(void **state)
{
	(void)state;
	expect_errors("name: my flow\n"
		      "start: a\n"
		      "nodes:\n"
		      "  a:\n"
		      "    type: hangup\n"
		      "  'b/c':\n"
		      "    type: hangup\n",
		      ERRORS("t.yaml:1:7: invalid flow name 'my flow': use "
			     "1-64 letters, digits, '_', '-' or '.'",
			     "t.yaml:6:3: invalid node name 'b/c': use 1-64 "
			     "letters, digits, '_', '-' or '.'"));
}

static void non_map_documents_are_rejected(void **state)
{
	(void)state;
	expect_errors("", ERRORS("t.yaml:1:1: a flow must be a map with "
				 "'name', 'start' and 'nodes'"));
	expect_errors("# only a comment\n",
		      ERRORS("t.yaml:1:1: a flow must be a map with 'name', "
			     "'start' and 'nodes'"));
	expect_errors("\n- a\n- b\n",
		      ERRORS("t.yaml:2:1: a flow must be a map with 'name', "
			     "'start' and 'nodes'"));
	expect_errors("name: x\nstart: a\nnodes: []\n",
		      ERRORS("t.yaml:3:8: 'nodes' must be a map of node names "
			     "to nodes"));
	expect_errors("name: x\nstart: a\nnodes:\n  a: hangup\n",
		      ERRORS("t.yaml:4:6: node 'a': a node must be a map with "
			     "a 'type'"));
}

static void yaml_syntax_errors_carry_their_position(void **state)
{
	(void)state;
	struct flow_errors errs = { 0 };
	struct flow *f = NULL;
	const char *y = "name: x\nstart: a\nnodes:\n  a: {type: hangup\n";
	assert_int_equal(flow_load_buf("t.yaml", y, strlen(y), &f, &errs),
			 -EBADMSG);
	assert_null(f);
	assert_int_equal(errs.count, 1);
	assert_string_equal(errs.msg[0],
			    "t.yaml:5:1: did not find expected ',' or '}' "
			    "(while parsing a flow mapping at line 4, column "
			    "6)");

	flow_errors_clear(&errs);
	const char *dup = "name: x\nname: y\n";
	assert_int_equal(flow_load_buf("t.yaml", dup, strlen(dup), &f, &errs),
			 -EBADMSG);
	assert_int_equal(errs.count, 1);
	assert_true(
		!strncmp(errs.msg[0], "t.yaml:2:1: duplicate key 'name'", 32));
}

static void error_list_is_capped_and_counts_the_rest(void **state)
{
	(void)state;
	/* 40 nodes, each with one bad field. */
	char yaml[8192];
	size_t o = (size_t)snprintf(yaml, sizeof(yaml),
				    "name: x\nstart: n0\nnodes:\n");
	for (int i = 0; i < 40; i++)
		o += (size_t)snprintf(yaml + o, sizeof(yaml) - o,
				      "  n%d:\n    type: hangup\n"
				      "    reason: nope\n",
				      i);
	struct flow_errors errs = { 0 };
	struct flow *f = NULL;
	assert_int_equal(flow_load_buf("t.yaml", yaml, o, &f, &errs), -EBADMSG);
	assert_int_equal(errs.count, FLOW_ERRORS_MAX);
	assert_int_equal(errs.dropped, 40 - FLOW_ERRORS_MAX);
	assert_true(!strncmp(errs.msg[0], "t.yaml:6:13: node 'n0': ", 24));
	/* Messages are cut to FLOW_ERROR_LEN, never overflow. */
	for (size_t i = 0; i < errs.count; i++)
		assert_true(strlen(errs.msg[i]) < FLOW_ERROR_LEN);
}

static void long_texts_and_bad_arguments_are_refused(void **state)
{
	(void)state;
	size_t n = FLOW_TEXT_MAX + 1;
	char *yaml = malloc(n + 200);
	assert_non_null(yaml);
	size_t o = (size_t)sprintf(yaml, "name: x\nstart: a\nnodes:\n  a:\n"
					 "    type: say\n    text: ");
	memset(yaml + o, 'a', n);
	o += n;
	o += (size_t)sprintf(yaml + o, "\n    next: b\n  b:\n"
				       "    type: hangup\n");
	struct flow_errors errs = { 0 };
	struct flow *f = NULL;
	assert_int_equal(flow_load_buf("t.yaml", yaml, o, &f, &errs), -EBADMSG);
	assert_int_equal(errs.count, 1);
	assert_string_equal(errs.msg[0], "t.yaml:6:11: node 'a': 'text' is "
					 "longer than 2000 bytes");
	free(yaml);

	assert_int_equal(flow_load_buf(NULL, "", 0, &f, NULL), -EINVAL);
	assert_int_equal(flow_load_buf("t", NULL, 3, &f, NULL), -EINVAL);
	assert_int_equal(flow_load_buf("t", "", 0, NULL, NULL), -EINVAL);
	/* errs may be NULL. */
	assert_int_equal(flow_load_buf("t", "x: 1", 4, &f, NULL), -EBADMSG);
	assert_null(f);
}

/* A chain of n nodes: n-1 says, then a hangup. */
static char *chain(unsigned n, size_t *lenp)
{
	size_t cap = 64 + (size_t)n * 80;
	char *y = malloc(cap);
	assert_non_null(y);
	size_t o = (size_t)snprintf(y, cap, "name: big\nstart: n0\nnodes:\n");
	for (unsigned i = 0; i + 1 < n; i++)
		o += (size_t)snprintf(y + o, cap - o,
				      "  n%u: {type: say, text: Step %u., "
				      "next: n%u}\n",
				      i, i, i + 1);
	o += (size_t)snprintf(y + o, cap - o, "  n%u: {type: hangup}\n", n - 1);
	*lenp = o;
	return y;
}

static void a_thousand_nodes_load_and_one_more_is_refused(void **state)
{
	(void)state;
	size_t len = 0;
	char *y = chain(FLOW_MAX_NODES, &len);
	struct flow *f = NULL;
	struct flow_errors errs = { 0 };
	assert_int_equal(flow_load_buf("t.yaml", y, len, &f, &errs), 0);
	assert_int_equal(f->nnodes, FLOW_MAX_NODES);
	assert_string_equal(f->nodes[f->nodes[0].next].name, "n1");
	flow_deref(f);
	free(y);

	y = chain(FLOW_MAX_NODES + 1, &len);
	assert_int_equal(flow_load_buf("t.yaml", y, len, &f, &errs), -EBADMSG);
	assert_int_equal(errs.count, 1);
	assert_string_equal(errs.msg[0], "t.yaml:4:3: more than 1000 nodes");
	free(y);
}

static void a_file_name_longer_than_a_message_is_cut_safely(void **state)
{
	(void)state;
	char name[600];
	memset(name, 'f', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	const char *y = "name: x\nstart: a\nnodes:\n  a:\n    type: say\n";
	struct flow_errors errs = { 0 };
	struct flow *f = NULL;
	assert_int_equal(flow_load_buf(name, y, strlen(y), &f, &errs),
			 -EBADMSG);
	assert_int_equal(errs.count, 2);
	assert_int_equal(strlen(errs.msg[0]), FLOW_ERROR_LEN - 1);
	assert_int_equal(strncmp(errs.msg[0], name, FLOW_ERROR_LEN - 1), 0);
}

static void unreadable_file_is_reported_with_its_path(void **state)
{
	(void)state;
	struct flow_errors errs = { 0 };
	struct flow *f = NULL;
	assert_int_equal(flow_load_file("/nonexistent/x.yaml", &f, &errs),
			 -ENOENT);
	assert_int_equal(errs.count, 1);
	assert_string_equal(errs.msg[0], "/nonexistent/x.yaml: cannot read: "
					 "No such file or directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(builtin_bank_hotline_loads_with_its_menus),
		cmocka_unit_test(
			builtin_is_byte_identical_to_the_file_in_flows),
		cmocka_unit_test(docs_show_the_demo_flow_as_it_is),
		cmocka_unit_test(unknown_builtin_is_enoent),
		cmocka_unit_test(menu_fields_parse_with_units_and_defaults),
		cmocka_unit_test(prompts_are_listed_once_with_resolved_voices),
		cmocka_unit_test(references_keep_a_flow_alive),
		cmocka_unit_test(missing_start_is_reported_at_the_top),
		cmocka_unit_test(missing_name_and_nodes_are_reported),
		cmocka_unit_test(start_naming_no_node_points_at_the_value),
		cmocka_unit_test(unknown_node_type_points_at_the_type),
		cmocka_unit_test(missing_type_points_at_the_node_name),
		cmocka_unit_test(unknown_fields_are_errors_at_the_key),
		cmocka_unit_test(
			transitions_to_undefined_nodes_point_at_the_value),
		cmocka_unit_test(unreachable_nodes_are_errors),
		cmocka_unit_test(option_keys_must_be_dtmf_within_max_digits),
		cmocka_unit_test(durations_need_a_unit_and_a_sane_range),
		cmocka_unit_test(scalar_fields_are_type_checked),
		cmocka_unit_test(required_fields_are_reported_per_node_type),
		cmocka_unit_test(transfer_targets_are_uris_or_agent),
		cmocka_unit_test(names_are_restricted_to_safe_characters),
		cmocka_unit_test(non_map_documents_are_rejected),
		cmocka_unit_test(yaml_syntax_errors_carry_their_position),
		cmocka_unit_test(error_list_is_capped_and_counts_the_rest),
		cmocka_unit_test(long_texts_and_bad_arguments_are_refused),
		cmocka_unit_test(a_thousand_nodes_load_and_one_more_is_refused),
		cmocka_unit_test(
			a_file_name_longer_than_a_message_is_cut_safely),
		cmocka_unit_test(unreadable_file_is_reported_with_its_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
