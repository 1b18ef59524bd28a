/* Semantic endpointing's decision (engines/stt/turnend.h): a transcript
 * that ends in a word sentences do not end with, or where the domain LM
 * finds the end unlikely, is unfinished; anything else, and anything
 * malformed, is finished. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "engines/stt/turnend.h"

static void trailing_function_word_is_unfinished(void **s)
{
	(void)s;
	static const char *const open[] = {
		"I want to check my",
		"transfer it to",
		"I'd like a",
		"my card and",
		"Can I pay with",
		"it was declined because",
		"the fee for the",
		"Why can't I verify my,", /* punctuation after the word */
		"WHERE IS YOUR",	  /* case */
		"  can i top up from  ",  /* spaces */
		"why was I",		  /* "I" */
	};
	for (size_t i = 0; i < sizeof(open) / sizeof(open[0]); i++)
		assert_true(stt_turn_unfinished(open[i], NAN));
}

static void complete_sentence_is_finished(void **s)
{
	(void)s;
	static const char *const done[] = {
		"I want to check my balance.",
		"where is my card?",
		"I can't log in",
		"what is this charge about",
		"my card is on",
		"I'm",		/* a word that only starts with "i" */
		"the mythical", /* ends with "the"-like letters */
		"toad",
	};
	for (size_t i = 0; i < sizeof(done) / sizeof(done[0]); i++)
		assert_false(stt_turn_unfinished(done[i], NAN));
}

static void nothing_said_is_finished(void **s)
{
	(void)s;
	assert_false(stt_turn_unfinished(NULL, NAN));
	assert_false(stt_turn_unfinished("", NAN));
	assert_false(stt_turn_unfinished(" ... !? ", NAN));
	assert_false(stt_turn_unfinished(NULL, -20.0));
	/* longer than any transcript: finished, not a crash */
	static char big[4000];
	memset(big, 'a', sizeof(big) - 1);
	assert_false(stt_turn_unfinished(big, NAN));
	memcpy(big + sizeof(big) - 5, " my", 4);
	assert_false(stt_turn_unfinished(big, NAN));
}

static void unlikely_end_under_the_lm_is_unfinished(void **s)
{
	(void)s;
	assert_true(stt_turn_unfinished("i want to check",
					STT_TURN_EOS_LOGP - 0.5));
	assert_false(stt_turn_unfinished("i want to check", STT_TURN_EOS_LOGP));
	assert_false(stt_turn_unfinished("i want to check", -0.1));
	assert_true(stt_turn_unfinished("i want to check", -INFINITY));
	/* without an LM only the last word counts */
	assert_false(stt_turn_unfinished("i want to check", NAN));
	/* a dangling word stays unfinished whatever the LM says */
	assert_true(stt_turn_unfinished("i want to check my", -0.01));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(trailing_function_word_is_unfinished),
		cmocka_unit_test(complete_sentence_is_finished),
		cmocka_unit_test(nothing_said_is_finished),
		cmocka_unit_test(unlikely_end_under_the_lm_is_unfinished),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
