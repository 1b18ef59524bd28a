/* The agent-assist knowledge file: the shipped example, JSON, lookups, and
 * the strict refusals with file:line:col. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/genesys/ahknow.h"

static void example_file_loads(void **state)
{
	(void)state;
	struct ahknow *k = NULL;
	char err[256] = "";
	int rc = ahknow_load(VG_SOURCE_DIR "/examples/genesys/knowledge.yaml",
			     &k, err, sizeof(err));
	if (rc)
		fail_msg("%d: %s", rc, err);
	assert_true(ahknow_intents(k) >= 10);
	size_t n = 0;
	const struct ahmsg_suggestion *s = ahknow_find(k, "card_arrival", &n);
	assert_non_null(s);
	assert_int_equal(n, 2);
	assert_string_equal(s[0].type, "faq");
	assert_non_null(strstr(s[0].answer, "working days"));
	assert_string_equal(s[1].type, "article");
	assert_string_equal(s[1].document_uri,
			    "https://kb.example.com/cards/delivery");
	assert_null(ahknow_find(k, "no_such_intent", &n));
	assert_int_equal(n, 0);
	ahknow_destroy(k);
	assert_int_equal(
		ahknow_load("/nonexistent/k.yaml", &k, err, sizeof(err)),
		-ENOENT);
}

static void json_is_accepted(void **state)
{
	(void)state;
	const char *j = "{\"intents\": {\"lost_or_stolen_card\": [{\"type\": "
			"\"faq\", \"question\": \"Lost?\", \"answer\": "
			"\"Freeze it.\"}]}}";
	struct ahknow *k = NULL;
	char err[256];
	assert_int_equal(
		ahknow_parse("k.json", j, strlen(j), &k, err, sizeof(err)), 0);
	size_t n;
	const struct ahmsg_suggestion *s =
		ahknow_find(k, "lost_or_stolen_card", &n);
	assert_int_equal(n, 1);
	assert_string_equal(s->answer, "Freeze it.");
	ahknow_destroy(k);
}

static void bad_files_are_refused_with_positions(void **state)
{
	(void)state;
	static const struct {
		const char *text, *error;
	} cases[] = {
		{ "intents: []\n", "k.yaml:1:10: 'intents' must be a map" },
		{ "intent: {}\n", "k.yaml:1:1: unknown key 'intent'" },
		{ "{}\n", "k.yaml:1:1: missing 'intents'" },
		{ "intents:\n  a: []\n", "k.yaml:2:6: intent 'a' needs" },
		{ "intents:\n  a/b: [{type: faq}]\n",
		  "k.yaml:2:3: bad intent name 'a/b'" },
		{ "intents:\n  a:\n    - type: faq\n      question: q\n",
		  "k.yaml:3:7: a faq has 'question' and 'answer' only" },
		{ "intents:\n  a:\n    - type: video\n",
		  "k.yaml:3:7: 'type' must be faq or article" },
		{ "intents:\n  a:\n    - type: faq\n      colour: x\n",
		  "k.yaml:4:7: unknown key 'colour' in a suggestion" },
		{ "intents:\n  a:\n    - type: article\n      title: t\n"
		  "      uri: ftp://x\n",
		  "k.yaml:3:7: 'uri' must be an http(s) URL" },
		{ "intents:\n  a:\n    - type: faq\n      question: [x]\n",
		  "k.yaml:4:17: 'question' must be a string" },
		{ "intents:\n  a:\n    - type: faq\n      question: \"\"\n",
		  "k.yaml:4:17: 'question' must be 1 to" },
		{ "intents:\n  a:\n    - just text\n",
		  "k.yaml:3:7: a suggestion must be a map" },
		{ "intents: {a: [{type: faq, question: q, answer: a}], "
		  "a: [{type: faq, question: q, answer: a}]}\n",
		  "k.yaml:1:" },
		{ "intents: [\n", "k.yaml:" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ahknow *k = NULL;
		char err[256] = "";
		int rc = ahknow_parse("k.yaml", cases[i].text,
				      strlen(cases[i].text), &k, err,
				      sizeof(err));
		if (rc != -EBADMSG || k)
			fail_msg("case %zu: rc %d", i, rc);
		if (strncmp(err, cases[i].error, strlen(cases[i].error)))
			fail_msg("case %zu:\n got: %s\nwant: %s", i, err,
				 cases[i].error);
	}
}

/* Inputs outside the table above: no buffer, too large, keys that are
 * not scalars or repeat, an empty map of intents. */
static void odd_inputs_are_refused_or_empty(void **state)
{
	(void)state;
	struct ahknow *k = NULL;
	char err[256] = "";
	assert_int_equal(ahknow_parse("k", NULL, 5, &k, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(ahknow_parse("k", "x", 1, NULL, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(ahknow_parse("k.yaml", NULL, 0, &k, err, sizeof(err)),
			 -EBADMSG);
	assert_null(k);
	char *big = malloc(AHKNOW_FILE_MAX + 1);
	assert_non_null(big);
	memset(big, ' ', AHKNOW_FILE_MAX + 1);
	assert_int_equal(ahknow_parse("k.yaml", big, AHKNOW_FILE_MAX + 1, &k,
				      err, sizeof(err)),
			 -E2BIG);
	assert_non_null(strstr(err, "larger than"));
	free(big);
	static const char *const bad[] = {
		"intents:\n  ? [a]\n  : [{type: faq, question: q, answer: "
		"a}]\n",
		"intents:\n  a:\n    - {type: faq, question: q, answer: a, "
		"answer: b}\n",
		"intents:\n  a:\n    - ? {x: 1}\n      : faq\n",
		"intents: {a: [{type: faq, question: q, answer: a}]}\n"
		"intents: {}\n",
		"intents:\n  a:\n    - {type: faq, question: ~, answer: a}\n",
		"intents:\n  a:\n    - {type: faq, question: \"a\\0b\", "
		"answer: a}\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = ahknow_parse("k.yaml", bad[i], strlen(bad[i]), &k, err,
				      sizeof(err));
		if (rc != -EBADMSG || k || strncmp(err, "k.yaml:", 7))
			fail_msg("case %zu: rc %d err %s", i, rc, err);
	}
	assert_int_equal(ahknow_parse("k.yaml", "intents: {}\n", 12, &k, err,
				      sizeof(err)),
			 0);
	assert_int_equal(ahknow_intents(k), 0);
	ahknow_destroy(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(example_file_loads),
		cmocka_unit_test(json_is_accepted),
		cmocka_unit_test(bad_files_are_refused_with_positions),
		cmocka_unit_test(odd_inputs_are_refused_or_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
