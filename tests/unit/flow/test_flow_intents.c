/* Unit tests for speech menus and flow intents in the flow loader: parsed
 * fields, the grammars and the classifier built at load, and every
 * validation error with its exact file:line:col. */
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

#include "core/clock.h"
#include "engines/nlu/classifier.h"
#include "engines/stt/stt.h"
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
	assert_ptr_equal(f, (struct flow *)0x1);
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

static const char *next_name(const struct flow *f, unsigned i)
{
	assert_true(i < f->nnodes);
	return f->nodes[i].name;
}

/* Two intents and a node for each, shared by the error cases. */
#define INTENTS2                                                 \
	"intents:\n"                                             \
	"  balance:\n"                                           \
	"    examples: [what is my balance, check my balance]\n" \
	"  lost_card:\n"                                         \
	"    examples: [i lost my card, my card was stolen]\n"

/* ---- valid flows ---- */

/* The example of docs/FLOWS.md "Speech menus and intents". */
static const char speech_yaml[] =
	"name: bank-hotline\n"
	"start: main_menu\n"
	"intents:\n"
	"  check_balance:\n"
	"    examples:\n"
	"      - what is my balance\n"
	"      - check my balance\n"
	"  lost_card:\n"
	"    examples: [i lost my card, my card was stolen]\n"
	"nodes:\n"
	"  main_menu:\n"
	"    type: menu\n"
	"    prompt: In a few words, tell me what you need.\n"
	"    input: both\n"
	"    options:\n"
	"      1: balance\n"
	"      2: {next: card_menu, say: [Cards, 'Card-Services!']}\n"
	"    intents:\n"
	"      check_balance: balance\n"
	"      lost_card: card_lost\n"
	"    confidence: {high: 0.8, low: 0.25}\n"
	"    on_low_confidence: confirm_menu\n"
	"    stt: moonshine, pocketsphinx\n"
	"    end_silence: 300ms\n"
	"    max_speech: 15s\n"
	"    continue_window: 400ms\n"
	"    barge_in: false\n"
	"    on_max_retries: bye\n"
	"  confirm_menu:\n"
	"    type: menu\n"
	"    prompt: Say balance or cards.\n"
	"    options:\n"
	"      1: {next: balance, say: balance}\n"
	"      2: {next: card_menu, say: [cards, card]}\n"
	"    on_max_retries: bye\n"
	"  card_menu:\n"
	"    type: menu\n"
	"    prompt: Press 1 if you lost your card.\n"
	"    options: {1: card_lost}\n"
	"    on_max_retries: bye\n"
	"  balance:\n"
	"    type: say\n"
	"    text: Your balance is zero.\n"
	"    next: bye\n"
	"  card_lost:\n"
	"    type: say\n"
	"    text: Your card is blocked.\n"
	"    next: bye\n"
	"  bye:\n"
	"    type: hangup\n";

static void speech_menu_loads_with_routes_words_and_thresholds(void **state)
{
	(void)state;
	struct flow *f = load_ok(speech_yaml);
	assert_int_equal(f->nintents, 2);
	assert_string_equal(f->intents[0].name, "check_balance");
	assert_int_equal(f->intents[0].nexamples, 2);
	assert_string_equal(f->intents[0].examples[1], "check my balance");
	assert_int_equal(f->intents[0].line, 4);
	assert_int_equal(f->intents[0].col, 3);
	assert_string_equal(f->intents[1].name, "lost_card");
	assert_string_equal(f->intents[1].examples[1], "my card was stolen");

	const struct flow_node *m = node(f, "main_menu");
	assert_int_equal(m->input, FLOW_INPUT_BOTH);
	assert_int_equal(m->noptions, 2);
	assert_int_equal(m->options[0].nwords, 0);
	assert_null(m->options[0].words);
	assert_string_equal(next_name(f, m->options[0].next), "balance");
	assert_string_equal(m->options[1].digits, "2");
	assert_string_equal(next_name(f, m->options[1].next), "card_menu");
	assert_int_equal(m->options[1].nwords, 2);
	assert_string_equal(m->options[1].words[0], "cards");
	assert_string_equal(m->options[1].words[1], "card services");
	assert_int_equal(m->nroutes, 2);
	assert_string_equal(m->routes[0].intent, "check_balance");
	assert_string_equal(next_name(f, m->routes[0].next), "balance");
	assert_string_equal(m->routes[1].intent, "lost_card");
	assert_string_equal(next_name(f, m->routes[1].next), "card_lost");
	assert_float_equal(m->conf_high, 0.8f, 1e-6);
	assert_float_equal(m->conf_low, 0.25f, 1e-6);
	assert_string_equal(next_name(f, m->on_low), "confirm_menu");
	assert_string_equal(m->stt_engines, "moonshine,pocketsphinx");
	assert_int_equal(m->end_silence_ms, 300);
	assert_int_equal(m->max_speech_ms, 15000);
	assert_true(m->continue_set);
	assert_int_equal(m->continue_ms, 400);
	assert_false(m->barge_in);

	/* Open speech: no grammar, an LM of the routed intents' examples
	 * and the options' phrases. */
	assert_int_equal(m->stt_mode, STT_MODE_OPEN);
	assert_null(m->grammar);
	assert_non_null(m->lm);
	assert_int_equal(stt_grammar_mode(m->lm), STT_MODE_LM);
	assert_int_equal(stt_grammar_count(m->lm), 4 + 2);
	assert_string_equal(stt_grammar_phrase(m->lm, 0), "what is my balance");
	assert_string_equal(stt_grammar_phrase(m->lm, 5), "card services");

	/* Words only: a grammar of every option's phrases, defaults. */
	const struct flow_node *c = node(f, "confirm_menu");
	assert_int_equal(c->input, FLOW_INPUT_BOTH);
	assert_int_equal(c->stt_mode, STT_MODE_GRAMMAR);
	assert_null(c->lm);
	assert_non_null(c->grammar);
	assert_int_equal(stt_grammar_mode(c->grammar), STT_MODE_GRAMMAR);
	assert_int_equal(stt_grammar_count(c->grammar), 3);
	assert_int_equal(stt_grammar_classes(c->grammar), 0);
	assert_string_equal(stt_grammar_phrase(c->grammar, 0), "balance");
	assert_string_equal(stt_grammar_phrase(c->grammar, 2), "card");
	assert_int_equal(c->nroutes, 0);
	assert_float_equal(c->conf_high, 0.7f, 1e-6);
	assert_float_equal(c->conf_low, 0.4f, 1e-6);
	assert_int_equal(c->on_low, FLOW_NO_NODE);
	assert_null(c->stt_engines);
	assert_int_equal(c->end_silence_ms, 0);
	assert_int_equal(c->max_speech_ms, 0);
	assert_false(c->continue_set); /* the daemon's stt.continue_window */
	assert_true(c->barge_in);

	/* Keys only: a DTMF menu as before. */
	const struct flow_node *d = node(f, "card_menu");
	assert_int_equal(d->input, FLOW_INPUT_DTMF);
	assert_null(d->grammar);
	assert_null(d->lm);
	assert_int_equal(d->on_low, FLOW_NO_NODE);

	/* The classifier knows the flow's intents by name. */
	assert_non_null(f->nlu);
	assert_int_equal(nlu_model_nlabels(f->nlu), 2);
	assert_int_equal(nlu_model_label_find(f->nlu, "check_balance"), 0);
	assert_int_equal(nlu_model_label_find(f->nlu, "lost_card"), 1);
	flow_deref(f);
}

static void input_defaults_follow_what_the_menu_can_hear(void **state)
{
	(void)state;
	struct flow *f = load_ok("name: x\n"
				 "start: a\n" INTENTS2 "nodes:\n"
				 "  a:\n"
				 "    type: menu\n"
				 "    prompt: Say it.\n"
				 "    intents: {balance: b, lost_card: z}\n"
				 "    on_max_retries: z\n"
				 "  b:\n"
				 "    type: menu\n"
				 "    prompt: Say yes.\n"
				 "    input: speech\n"
				 "    options: {1: {next: z, say: yes}}\n"
				 "    on_max_retries: z\n"
				 "  z:\n"
				 "    type: hangup\n");
	/* A menu of intents alone needs no options. */
	const struct flow_node *a = node(f, "a");
	assert_int_equal(a->input, FLOW_INPUT_BOTH);
	assert_int_equal(a->noptions, 0);
	assert_int_equal(a->stt_mode, STT_MODE_OPEN);
	assert_int_equal(stt_grammar_count(a->lm), 4);
	const struct flow_node *b = node(f, "b");
	assert_int_equal(b->input, FLOW_INPUT_SPEECH);
	assert_int_equal(b->stt_mode, STT_MODE_GRAMMAR);
	assert_int_equal(stt_grammar_count(b->grammar), 1);
	flow_deref(f);
}

/* Nodes reached only through an intent or on_low_confidence are not
 * unreachable. */
static void intents_and_low_confidence_are_transitions(void **state)
{
	(void)state;
	struct flow *f = load_ok("name: x\n"
				 "start: a\n" INTENTS2 "nodes:\n"
				 "  a:\n"
				 "    type: menu\n"
				 "    prompt: Say it.\n"
				 "    intents: {balance: b}\n"
				 "    on_low_confidence: c\n"
				 "    on_max_retries: z\n"
				 "  b:\n"
				 "    type: hangup\n"
				 "  c:\n"
				 "    type: hangup\n"
				 "  z:\n"
				 "    type: hangup\n");
	/* lost_card is defined and trained but routed nowhere: fine. */
	assert_int_equal(nlu_model_nlabels(f->nlu), 2);
	assert_int_equal(stt_grammar_count(node(f, "a")->lm), 2);
	flow_deref(f);
}

static void flows_without_intents_have_no_classifier(void **state)
{
	(void)state;
	struct flow *f = load_ok(
		"name: x\n"
		"start: a\n"
		"nodes:\n"
		"  a:\n"
		"    type: menu\n"
		"    prompt: Say yes.\n"
		"    options: {1: {next: z, say: [yes, 'Yes, please!']}}\n"
		"    on_max_retries: z\n"
		"  z:\n"
		"    type: hangup\n");
	assert_null(f->nlu);
	assert_int_equal(f->nintents, 0);
	const struct flow_node *a = node(f, "a");
	assert_int_equal(a->options[0].nwords, 2);
	assert_string_equal(a->options[0].words[1], "yes please");
	assert_int_equal(stt_grammar_count(a->grammar), 2);
	flow_deref(f);
}

/* The loader and the grammar normalize alike: the runtime compares an
 * engine's grammar_phrase with an option's words. */
static void option_words_match_their_grammar_phrases(void **state)
{
	(void)state;
	struct flow *f = load_ok(
		"name: x\n"
		"start: a\n"
		"nodes:\n"
		"  a:\n"
		"    type: menu\n"
		"    prompt: Say it.\n"
		"    options:\n"
		"      1: {next: z, say: [\"That's it\", 'Caf\u00e9 "
		"Ol\u00c9']}\n"
		"      2: {next: z, say: [\"'quoted'\", ' rock--n  ROLL ']}\n"
		"      3: {next: z, say: [\"it's' \", 'A1 b2\tc3']}\n"
		"    on_max_retries: z\n"
		"  z:\n"
		"    type: hangup\n");
	const struct flow_node *a = node(f, "a");
	static const char *const want[] = {
		"that's it", "caf\xc3\xa9 ol\xc3\x89",
		"quoted",    "rock n roll",
		"it's",	     "a1 b2 c3",
	};
	size_t k = 0;
	for (unsigned i = 0; i < a->noptions; i++) {
		for (unsigned j = 0; j < a->options[i].nwords; j++, k++) {
			assert_string_equal(a->options[i].words[j], want[k]);
			assert_string_equal(stt_grammar_phrase(a->grammar, k),
					    a->options[i].words[j]);
		}
	}
	assert_int_equal(k, 6);
	assert_int_equal(stt_grammar_count(a->grammar), 6);
	flow_deref(f);
}

struct prompts {
	size_t n;
	bool saw_prompt;
};

static void count_prompt(const char *voice, const char *text, void *arg)
{
	struct prompts *p = arg;
	(void)voice;
	p->n++;
	if (!strcmp(text, "In a few words, tell me what you need."))
		p->saw_prompt = true;
}

static void speech_menus_list_their_prompts_as_before(void **state)
{
	(void)state;
	struct flow *f = load_ok(speech_yaml);
	struct prompts p = { 0 };
	flow_prompts_foreach(f, NULL, count_prompt, &p);
	/* 3 menu prompts + 2 say texts; phrases and examples are not
	 * prompts. */
	assert_int_equal(p.n, 5);
	assert_true(p.saw_prompt);
	flow_deref(f);
}

/* ---- the classifier ---- */

static const char banking_yaml[] =
	"name: banking\n"
	"start: menu\n"
	"intents:\n"
	"  check_balance:\n"
	"    examples:\n"
	"      - what is my balance\n"
	"      - check my balance\n"
	"      - how much money do i have\n"
	"      - tell me my account balance\n"
	"      - how much is in my account\n"
	"      - balance please\n"
	"      - i want to know my balance\n"
	"      - what is left in my checking account\n"
	"  lost_card:\n"
	"    examples:\n"
	"      - i lost my card\n"
	"      - my card was stolen\n"
	"      - someone stole my credit card\n"
	"      - i can't find my card\n"
	"      - report a lost card\n"
	"      - block my card\n"
	"      - my wallet was stolen\n"
	"      - i think i lost my debit card\n"
	"  pay_bill:\n"
	"    examples:\n"
	"      - i want to pay a bill\n"
	"      - pay my electricity bill\n"
	"      - make a payment\n"
	"      - pay my phone bill\n"
	"      - i need to pay an invoice\n"
	"      - set up a bill payment\n"
	"      - pay the gas company\n"
	"      - settle my bill\n"
	"  talk_to_agent:\n"
	"    examples:\n"
	"      - i want to talk to a person\n"
	"      - agent\n"
	"      - speak to a representative\n"
	"      - can i talk to someone\n"
	"      - operator\n"
	"      - get me a human\n"
	"      - connect me to an agent\n"
	"      - real person please\n"
	"nodes:\n"
	"  menu:\n"
	"    type: menu\n"
	"    prompt: How can I help?\n"
	"    intents:\n"
	"      check_balance: done\n"
	"      lost_card: done\n"
	"      pay_bill: done\n"
	"      talk_to_agent: done\n"
	"    on_max_retries: done\n"
	"  done:\n"
	"    type: hangup\n";

static void classifier_routes_unseen_paraphrases(void **state)
{
	(void)state;
	uint64_t t0 = clock_mono_us();
	struct flow *f = load_ok(banking_yaml);
	uint64_t t1 = clock_mono_us();
	/* A figure for the report, not an assertion (sanitizer build). */
	printf("# 4 intents x 8 examples: loaded and trained in %.1f ms\n",
	       (double)(t1 - t0) / 1000.0);
	static const struct {
		const char *text, *intent;
	} cases[] = {
		{ "how much do i have in my account", "check_balance" },
		{ "what's my balance", "check_balance" },
		{ "my credit card is lost", "lost_card" },
		{ "somebody stole my card", "lost_card" },
		{ "i would like to pay my water bill", "pay_bill" },
		{ "payment for my bill", "pay_bill" },
		{ "let me speak to a human", "talk_to_agent" },
		{ "can i talk to an operator", "talk_to_agent" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nlu_result r;
		assert_int_equal(nlu_classify(f->nlu, cases[i].text, &r), 0);
		assert_true(r.n > 0);
		printf("# '%s' -> %s %.2f\n", cases[i].text, r.top[0].intent,
		       (double)r.top[0].confidence);
		assert_string_equal(r.top[0].intent, cases[i].intent);
		assert_int_equal(
			nlu_match_level(r.top[0].confidence, 0.7f, 0.4f),
			NLU_MATCH_HIGH);
		/* The runtime maps a result to a route by name. */
		assert_int_equal(nlu_model_label_find(f->nlu, r.top[0].intent),
				 (int)r.top[0].label);
	}
	/* Speech the flow knows nothing about must not pass the default
	 * high threshold: the thresholds only mean something if the
	 * classifier is not sure of everything. */
	static const char *const unrelated[] = {
		"what's the weather like today",
		"hello",
		"um",
	};
	for (size_t i = 0; i < sizeof(unrelated) / sizeof(unrelated[0]); i++) {
		struct nlu_result r;
		assert_int_equal(nlu_classify(f->nlu, unrelated[i], &r), 0);
		printf("# '%s' -> %s %.2f\n", unrelated[i], r.top[0].intent,
		       (double)r.top[0].confidence);
		assert_true(r.top[0].confidence < 0.7f);
	}
	flow_deref(f);
}

static void builtin_demo_understands_its_callers(void **state)
{
	(void)state;
	struct flow *f = NULL;
	uint64_t t0 = clock_mono_us();
	assert_int_equal(flow_load_builtin("bank-hotline", &f), 0);
	printf("# bank-hotline: loaded and trained in %.1f ms\n",
	       (double)(clock_mono_us() - t0) / 1000.0);
	const struct flow_node *m = node(f, "main_menu");
	assert_int_equal(m->stt_mode, STT_MODE_OPEN);
	assert_non_null(m->lm);
	static const struct {
		const char *text, *intent;
	} cases[] = {
		{ "how much money is in my account", "check_balance" },
		{ "somebody took my wallet and my card", "lost_card" },
		{ "i need to activate the card i just got", "activate_card" },
		{ "can i speak to a real person", "talk_to_agent" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nlu_result r;
		assert_int_equal(nlu_classify(f->nlu, cases[i].text, &r), 0);
		printf("# '%s' -> %s %.2f\n", cases[i].text, r.top[0].intent,
		       (double)r.top[0].confidence);
		assert_string_equal(r.top[0].intent, cases[i].intent);
		/* Every intent the menu names is routed somewhere. */
		bool routed = false;
		for (unsigned j = 0; j < m->nroutes; j++)
			routed = routed ||
				 !strcmp(m->routes[j].intent, r.top[0].intent);
		assert_true(routed);
	}
	flow_deref(f);
}

static void training_is_deterministic(void **state)
{
	(void)state;
	struct flow *a = load_ok(banking_yaml);
	struct flow *b = load_ok(banking_yaml);
	uint8_t *ba = NULL, *bb = NULL;
	size_t la = 0, lb = 0;
	assert_int_equal(nlu_model_save_mem(a->nlu, &ba, &la), 0);
	assert_int_equal(nlu_model_save_mem(b->nlu, &bb, &lb), 0);
	assert_int_equal(la, lb);
	assert_memory_equal(ba, bb, la);
	free(ba);
	free(bb);
	flow_deref(a);
	flow_deref(b);
}

/* ---- errors ---- */

static void input_must_match_what_the_menu_offers(void **state)
{
	(void)state;
	expect_errors("name: x\n"
		      "start: a\n" INTENTS2 "nodes:\n"
		      "  a:\n"
		      "    type: menu\n"
		      "    prompt: Pick.\n"
		      "    input: dtmf\n"
		      "    options: {1: {next: b, say: one}}\n"
		      "    intents: {balance: b}\n"
		      "    on_max_retries: b\n"
		      "  b:\n"
		      "    type: menu\n"
		      "    prompt: Pick.\n"
		      "    input: speech\n"
		      "    options: {1: c}\n"
		      "    on_max_retries: c\n"
		      "  c:\n"
		      "    type: menu\n"
		      "    prompt: Pick.\n"
		      "    input: voice\n"
		      "    options: {1: d}\n"
		      "    on_max_retries: d\n"
		      "  d:\n"
		      "    type: menu\n"
		      "    prompt: Pick.\n"
		      "    input: speech\n"
		      "    options: {1: {next: z, say: one}, 2: z}\n"
		      "    on_max_retries: z\n"
		      "  z:\n"
		      "    type: hangup\n",
		      ERRORS("t.yaml:12:12: node 'a': 'intents' and 'say' are "
			     "never heard: input is dtmf",
			     "t.yaml:19:12: node 'b': input speech needs "
			     "'intents' or an option with 'say'",
			     "t.yaml:25:12: node 'c': unknown input 'voice' "
			     "(expected dtmf, speech or both)",
			     "t.yaml:32:39: node 'd': option '2' is never "
			     "chosen: it has no 'say' and input is speech"));
	expect_errors("name: x\n"
		      "start: a\n"
		      "nodes:\n"
		      "  a:\n"
		      "    type: menu\n"
		      "    prompt: Pick.\n"
		      "    input: dtmf\n"
		      "    options: {1: {next: z, say: [one, won]}}\n"
		      "    on_max_retries: z\n"
		      "  z:\n"
		      "    type: hangup\n",
		      ERRORS("t.yaml:7:12: node 'a': 'say' phrases are never "
			     "heard: input is dtmf"));
}

static void option_maps_need_next_and_valid_phrases(void **state)
{
	(void)state;
	expect_errors("name: x\n"
		      "start: a\n"
		      "nodes:\n"
		      "  a:\n"
		      "    type: menu\n"
		      "    prompt: Pick.\n"
		      "    options:\n"
		      "      1: {say: one}\n"
		      "      2: {next: z, say: two, key: 2}\n"
		      "      3: {next: z, say: []}\n"
		      "      4: {next: z, say: {a: b}}\n"
		      "      5: {next: z, say: ['...', '', [x]]}\n"
		      "      6: {next: nowhere, say: six}\n"
		      "    on_max_retries: z\n"
		      "  z:\n"
		      "    type: hangup\n",
		      ERRORS("t.yaml:8:10: node 'a': option '1': missing "
			     "'next'",
			     "t.yaml:9:30: node 'a': option '2': unknown field "
			     "'key' (expected next or say)",
			     "t.yaml:10:25: node 'a': option '3': 'say' must "
			     "be a phrase or a list of 1 to 20 phrases",
			     "t.yaml:11:25: node 'a': option '4': 'say' must "
			     "be a phrase or a list of 1 to 20 phrases",
			     "t.yaml:12:26: node 'a': option '5': phrase '...' "
			     "has no words",
			     "t.yaml:12:33: node 'a': option '5': phrase '' "
			     "must be 1 to 128 bytes of text",
			     "t.yaml:12:37: node 'a': option '5': phrase 'a "
			     "list' must be 1 to 128 bytes of text",
			     "t.yaml:13:17: node 'a': option '6' names no node "
			     "'nowhere'"));
}

static void a_phrase_belongs_to_one_option(void **state)
{
	(void)state;
	expect_errors("name: x\n"
		      "start: a\n"
		      "nodes:\n"
		      "  a:\n"
		      "    type: menu\n"
		      "    prompt: Pick.\n"
		      "    options:\n"
		      "      1: {next: z, say: [Card, card services]}\n"
		      "      2: {next: z, say: ['CARD!']}\n"
		      "      3: {next: z, say: [help, ' help ']}\n"
		      "    on_max_retries: z\n"
		      "  z:\n"
		      "    type: hangup\n",
		      ERRORS("t.yaml:9:26: node 'a': option '2': phrase "
			     "'card' is also said for option '1'",
			     "t.yaml:10:32: node 'a': option '3': phrase "
			     "'help' is listed twice"));
}

static void phrases_are_capped_per_option_and_per_menu(void **state)
{
	(void)state;
	/* 21 phrases on one option; 201 phrases in one menu. */
	char *y = malloc(64 * 1024);
	assert_non_null(y);
	size_t o = (size_t)sprintf(y, "name: x\n"
				      "start: a\n"
				      "nodes:\n"
				      "  a:\n"
				      "    type: menu\n"
				      "    prompt: Pick.\n"
				      "    options:\n"
				      "      1: {next: z, say: [");
	for (int i = 0; i < 21; i++)
		o += (size_t)sprintf(y + o, "%sw%d", i ? ", " : "", i);
	o += (size_t)sprintf(y + o, "]}\n"
				    "    on_max_retries: z\n"
				    "  b:\n"
				    "    type: menu\n"
				    "    prompt: Pick.\n"
				    "    max_digits: 2\n"
				    "    options:\n");
	for (int k = 0; k < 11; k++) {
		o += (size_t)sprintf(y + o, "      %d: {next: z, say: [",
				     k + 10);
		for (int i = 0; i < (k < 10 ? 20 : 1); i++)
			o += (size_t)sprintf(y + o, "%sp%d_%d", i ? ", " : "",
					     k, i);
		o += (size_t)sprintf(y + o, "]}\n");
	}
	sprintf(y + o, "    on_max_retries: z\n"
		       "  z:\n"
		       "    type: hangup\n");
	expect_errors(y, ERRORS("t.yaml:8:25: node 'a': option '1': 'say' "
				"must be a phrase or a list of 1 to 20 "
				"phrases",
				"t.yaml:15:7: node 'b': more than 200 spoken "
				"phrases in one menu"));
	free(y);
}

static void menus_route_only_intents_the_flow_defines(void **state)
{
	(void)state;
	expect_errors("name: x\n"
		      "start: a\n" INTENTS2 "nodes:\n"
		      "  a:\n"
		      "    type: menu\n"
		      "    prompt: Pick.\n"
		      "    intents:\n"
		      "      balance: z\n"
		      "      stolen_card: z\n"
		      "      lost_card: nowhere\n"
		      "    on_max_retries: z\n"
		      "  z:\n"
		      "    type: hangup\n",
		      ERRORS("t.yaml:14:7: node 'a': unknown intent "
			     "'stolen_card' (the flow defines: balance, "
			     "lost_card)",
			     "t.yaml:15:18: node 'a': intent 'lost_card' names "
			     "no node 'nowhere'"));
	expect_errors("name: x\n"
		      "start: a\n"
		      "nodes:\n"
		      "  a:\n"
		      "    type: menu\n"
		      "    prompt: Pick.\n"
		      "    intents: {balance: z}\n"
		      "    on_max_retries: z\n"
		      "  z:\n"
		      "    type: hangup\n",
		      ERRORS("t.yaml:7:15: node 'a': unknown intent 'balance' "
			     "(the flow defines no intents)"));
	expect_errors("name: x\n"
		      "start: a\n" INTENTS2 "nodes:\n"
		      "  a:\n"
		      "    type: menu\n"
		      "    prompt: Pick.\n"
		      "    intents: [balance]\n"
		      "    on_max_retries: z\n"
		      "  z:\n"
		      "    type: hangup\n",
		      ERRORS("t.yaml:12:14: node 'a': 'intents' must be a map "
			     "of intent names to node names"));
}

static void flow_intents_need_examples(void **state)
{
	(void)state;
	expect_errors("name: x\n"
		      "start: z\n"
		      "intents:\n"
		      "  a:\n"
		      "    examples: []\n"
		      "  b: {}\n"
		      "  c:\n"
		      "    examples: [ok, '', {x: y}, '?!']\n"
		      "    samples: [x]\n"
		      "  d: [x, y]\n"
		      "  bad name:\n"
		      "    examples: [x]\n"
		      "  e:\n"
		      "    examples: hello\n"
		      "nodes:\n"
		      "  z:\n"
		      "    type: hangup\n",
		      ERRORS("t.yaml:5:15: intent 'a' has no examples",
			     "t.yaml:6:3: intent 'b' has no examples",
			     "t.yaml:8:20: intent 'c': example '' must be a "
			     "sentence of 1 to 1024 bytes with at least one "
			     "word",
			     "t.yaml:8:24: intent 'c': example 'a map' must be "
			     "a sentence of 1 to 1024 bytes with at least one "
			     "word",
			     "t.yaml:8:32: intent 'c': example '?!' must be a "
			     "sentence of 1 to 1024 bytes with at least one "
			     "word",
			     "t.yaml:9:5: intent 'c': unknown field 'samples' "
			     "(expected examples or slots)",
			     "t.yaml:10:6: intent 'd' must be a map with "
			     "'examples'",
			     "t.yaml:11:3: invalid intent name 'bad name': use "
			     "1-64 letters, digits, '_', '-' or '.'",
			     "t.yaml:14:15: intent 'e': 'examples' must be a "
			     "list of sentences"));
}

static void long_phrases_and_too_many_examples_are_refused(void **state)
{
	(void)state;
	char *y = malloc(64 * 1024);
	assert_non_null(y);
	char phrase[130], example[1026];
	memset(phrase, 'a', 129);
	phrase[129] = '\0';
	memset(example, 'b', 1025);
	example[1025] = '\0';
	size_t o = (size_t)sprintf(y,
				   "name: x\n"
				   "start: a\n"
				   "intents:\n"
				   "  one:\n"
				   "    examples: [%s, ok]\n"
				   "  two:\n"
				   "    examples: [",
				   example);
	for (int i = 0; i < 1001; i++)
		o += (size_t)sprintf(y + o, "%se%d", i ? ", " : "", i);
	sprintf(y + o,
		"]\n"
		"nodes:\n"
		"  a:\n"
		"    type: menu\n"
		"    prompt: Pick.\n"
		"    options: {1: {next: z, say: [%s, '%.128s']}}\n"
		"    on_max_retries: z\n"
		"  z:\n"
		"    type: hangup\n",
		phrase, phrase);
	expect_errors(y, ERRORS("t.yaml:5:16: intent 'one': example "
				"'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb...' "
				"must be a sentence of 1 to 1024 bytes with at "
				"least one word",
				"t.yaml:7:15: intent 'two' has more than 1000 "
				"examples",
				"t.yaml:12:34: node 'a': option '1': phrase "
				"'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' "
				"must be 1 to 128 bytes of text"));
	free(y);
}

static void a_classifier_needs_two_intents(void **state)
{
	(void)state;
	expect_errors("name: x\n"
		      "start: z\n"
		      "intents:\n"
		      "  only:\n"
		      "    examples: [hello]\n"
		      "nodes:\n"
		      "  z:\n"
		      "    type: hangup\n",
		      ERRORS("t.yaml:3:1: a classifier needs at least two "
			     "intents (the flow defines one)"));
	expect_errors("name: x\n"
		      "start: z\n"
		      "intents: []\n"
		      "nodes:\n"
		      "  z:\n"
		      "    type: hangup\n",
		      ERRORS("t.yaml:3:10: 'intents' must be a map of intent "
			     "names to {examples: [...]}"));
}

static void confidence_thresholds_are_checked(void **state)
{
	(void)state;
	expect_errors("name: x\n"
		      "start: a\n" INTENTS2 "nodes:\n"
		      "  a:\n"
		      "    type: menu\n"
		      "    prompt: Pick.\n"
		      "    intents: {balance: b}\n"
		      "    confidence: {high: 0.3, low: 0.5}\n"
		      "    on_max_retries: b\n"
		      "  b:\n"
		      "    type: menu\n"
		      "    prompt: Pick.\n"
		      "    intents: {balance: c}\n"
		      "    confidence: {high: 1.5}\n"
		      "    on_max_retries: c\n"
		      "  c:\n"
		      "    type: menu\n"
		      "    prompt: Pick.\n"
		      "    intents: {balance: d}\n"
		      "    confidence: {high: '0.9', low: high, mid: 0.5}\n"
		      "    on_max_retries: d\n"
		      "  d:\n"
		      "    type: menu\n"
		      "    prompt: Pick.\n"
		      "    intents: {balance: z}\n"
		      "    confidence: {low: -0.1}\n"
		      "    on_max_retries: z\n"
		      "  z:\n"
		      "    type: hangup\n",
		      ERRORS("t.yaml:13:17: node 'a': 'confidence' thresholds "
			     "out of range: need 0 <= low <= high <= 1, got "
			     "low 0.5, high 0.3",
			     "t.yaml:19:17: node 'b': 'confidence' thresholds "
			     "out of range: need 0 <= low <= high <= 1, got "
			     "low 0.4, high 1.5",
			     "t.yaml:25:24: node 'c': 'confidence' high must "
			     "be a number like 0.7",
			     "t.yaml:25:36: node 'c': 'confidence' low must be "
			     "a number like 0.7",
			     "t.yaml:25:42: node 'c': unknown field 'mid' in "
			     "'confidence' (expected high or low)",
			     "t.yaml:31:17: node 'd': 'confidence' thresholds "
			     "out of range: need 0 <= low <= high <= 1, got "
			     "low -0.1, high 0.7"));
}

static void speech_fields_are_checked(void **state)
{
	(void)state;
	expect_errors("name: x\n"
		      "start: a\n" INTENTS2 "nodes:\n"
		      "  a:\n"
		      "    type: menu\n"
		      "    prompt: Pick.\n"
		      "    intents: {balance: b}\n"
		      "    stt: moonshine,whisper\n"
		      "    end_silence: 50ms\n"
		      "    max_speech: 31s\n"
		      "    continue_window: 3s\n"
		      "    on_low_confidence: nowhere\n"
		      "    on_max_retries: b\n"
		      "  b:\n"
		      "    type: menu\n"
		      "    prompt: Pick.\n"
		      "    intents: {balance: z}\n"
		      "    stt: pocketsphinx, pocketsphinx\n"
		      "    end_silence: 5s\n"
		      "    max_speech: 1s\n"
		      "    continue_window: 250\n"
		      "    on_max_retries: z\n"
		      "  z:\n"
		      "    type: hangup\n",
		      ERRORS("t.yaml:13:10: node 'a': 'stt' names an unknown "
			     "engine 'whisper' (known: moonshine, "
			     "pocketsphinx)",
			     "t.yaml:14:18: node 'a': 'end_silence' must be a "
			     "duration like 5s or 800ms, from 100ms to 5s",
			     "t.yaml:15:17: node 'a': 'max_speech' must be a "
			     "duration like 5s or 800ms, from 1s to 30s",
			     "t.yaml:16:22: node 'a': 'continue_window' must "
			     "be a duration like 5s or 800ms, from 0s to 2s",
			     "t.yaml:17:24: node 'a': 'on_low_confidence' "
			     "names no node 'nowhere'",
			     "t.yaml:23:10: node 'b': 'stt' names "
			     "'pocketsphinx' twice",
			     "t.yaml:26:22: node 'b': 'continue_window' must "
			     "be a duration like 5s or 800ms, from 0s to 2s"));
}

static void speech_fields_need_a_menu_that_listens(void **state)
{
	(void)state;
	expect_errors("name: x\n"
		      "start: a\n"
		      "nodes:\n"
		      "  a:\n"
		      "    type: menu\n"
		      "    prompt: Pick.\n"
		      "    options: {1: z}\n"
		      "    stt: moonshine\n"
		      "    confidence: {high: 0.9}\n"
		      "    on_low_confidence: z\n"
		      "    end_silence: 1s\n"
		      "    max_speech: 10s\n"
		      "    on_max_retries: z\n"
		      "  z:\n"
		      "    type: hangup\n",
		      ERRORS("t.yaml:8:5: node 'a': 'stt' needs a menu that "
			     "listens to speech ('intents' or options with "
			     "'say')",
			     "t.yaml:9:5: node 'a': 'confidence' needs a menu "
			     "that listens to speech ('intents' or options "
			     "with 'say')",
			     "t.yaml:10:5: node 'a': 'on_low_confidence' needs "
			     "a menu that listens to speech ('intents' or "
			     "options with 'say')",
			     "t.yaml:11:5: node 'a': 'end_silence' needs a "
			     "menu that listens to speech ('intents' or "
			     "options with 'say')",
			     "t.yaml:12:5: node 'a': 'max_speech' needs a menu "
			     "that listens to speech ('intents' or options "
			     "with 'say')"));
}

static void a_menu_needs_options_or_intents(void **state)
{
	(void)state;
	expect_errors("name: x\n"
		      "start: a\n"
		      "nodes:\n"
		      "  a:\n"
		      "    type: menu\n"
		      "    prompt: Pick.\n"
		      "    on_max_retries: a\n",
		      ERRORS("t.yaml:4:3: node 'a': missing 'options'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			speech_menu_loads_with_routes_words_and_thresholds),
		cmocka_unit_test(input_defaults_follow_what_the_menu_can_hear),
		cmocka_unit_test(intents_and_low_confidence_are_transitions),
		cmocka_unit_test(flows_without_intents_have_no_classifier),
		cmocka_unit_test(option_words_match_their_grammar_phrases),
		cmocka_unit_test(speech_menus_list_their_prompts_as_before),
		cmocka_unit_test(classifier_routes_unseen_paraphrases),
		cmocka_unit_test(builtin_demo_understands_its_callers),
		cmocka_unit_test(training_is_deterministic),
		cmocka_unit_test(input_must_match_what_the_menu_offers),
		cmocka_unit_test(option_maps_need_next_and_valid_phrases),
		cmocka_unit_test(a_phrase_belongs_to_one_option),
		cmocka_unit_test(phrases_are_capped_per_option_and_per_menu),
		cmocka_unit_test(menus_route_only_intents_the_flow_defines),
		cmocka_unit_test(flow_intents_need_examples),
		cmocka_unit_test(
			long_phrases_and_too_many_examples_are_refused),
		cmocka_unit_test(a_classifier_needs_two_intents),
		cmocka_unit_test(confidence_thresholds_are_checked),
		cmocka_unit_test(speech_fields_are_checked),
		cmocka_unit_test(speech_fields_need_a_menu_that_listens),
		cmocka_unit_test(a_menu_needs_options_or_intents),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
