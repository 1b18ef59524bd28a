/* The domain trigram of the Moonshine shallow fusion (ngram.h): every
 * conditional distribution sums to 1, seen trigrams beat their backoff,
 * unseen histories back off, unknown words keep their mass, prefixes find
 * their best completion, and bad input is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engines/stt/sherpa/ngram.h"

static const char *const text[] = {
	"i want to top up my card",
	"my card is lost",
	"where is my card",
	"i want to transfer money",
	"top up failed",
	"how do i top up",
	"my cash withdrawal is pending",
	"",
};
#define NTEXT (sizeof(text) / sizeof(text[0]))

static struct ngram_lm *build(void)
{
	struct ngram_lm *lm = NULL;

	assert_int_equal(ngram_lm_build(&lm, text, NTEXT, 0.02), 0);
	assert_non_null(lm);
	return lm;
}

static uint32_t id(const struct ngram_lm *lm, const char *w)
{
	return ngram_lm_word(lm, w, strlen(w));
}

static double sum_over_vocab(const struct ngram_lm *lm, uint32_t u, uint32_t v)
{
	double sum = 0;

	for (uint32_t w = NGRAM_EOS; w < ngram_lm_size(lm); w++)
		sum += exp(ngram_lm_logp(lm, u, v, w));
	return sum;
}

static void distributions_sum_to_one_for_every_history(void **state)
{
	struct ngram_lm *lm = build();
	uint32_t my = id(lm, "my"), card = id(lm, "card"), top = id(lm, "top");
	const uint32_t hist[][2] = {
		{ NGRAM_BOS, NGRAM_BOS }, /* sentence start */
		{ NGRAM_BOS, id(lm, "i") },
		{ top, id(lm, "up") }, /* seen, several followers */
		{ card, my },	       /* never seen together */
		{ NGRAM_UNK, NGRAM_UNK },
		{ my, NGRAM_UNK },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(hist) / sizeof(hist[0]); i++)
		assert_float_equal(sum_over_vocab(lm, hist[i][0], hist[i][1]),
				   1.0, 1e-9);
	ngram_lm_destroy(lm);
}

static void a_seen_trigram_beats_an_unseen_word(void **state)
{
	struct ngram_lm *lm = build();
	uint32_t up = id(lm, "up"), my = id(lm, "my"), card = id(lm, "card");
	uint32_t cash = id(lm, "cash");

	(void)state;
	/* "up my card" was seen; "up my cash" was not (cash follows my
	 * elsewhere), an unknown word even less */
	assert_true(ngram_lm_logp(lm, up, my, card) >
		    ngram_lm_logp(lm, up, my, cash));
	assert_true(ngram_lm_logp(lm, up, my, cash) >
		    ngram_lm_logp(lm, up, my, NGRAM_UNK));
	assert_true(ngram_lm_logp(lm, up, my, card) > log(0.3));
	ngram_lm_destroy(lm);
}

static void an_unseen_history_backs_off_to_the_bigram(void **state)
{
	struct ngram_lm *lm = build();
	uint32_t my = id(lm, "my"), card = id(lm, "card");
	uint32_t failed = id(lm, "failed"), money = id(lm, "money");

	(void)state;
	/* (failed, my) and (money, my) were never seen: both are P(.|my) */
	assert_float_equal(ngram_lm_logp(lm, failed, my, card),
			   ngram_lm_logp(lm, money, my, card), 1e-12);
	/* and that backoff still knows what follows "my" */
	assert_true(ngram_lm_logp(lm, failed, my, card) >
		    ngram_lm_logp(lm, failed, my, id(lm, "transfer")));
	ngram_lm_destroy(lm);
}

static void unknown_words_keep_their_mass(void **state)
{
	struct ngram_lm *lm = build();
	double p;

	(void)state;
	assert_int_equal(id(lm, "zebra"), NGRAM_UNK);
	assert_int_equal(ngram_lm_word(lm, "card", 3), NGRAM_UNK); /* "car" */
	assert_int_equal(ngram_lm_word(lm, "", 0), NGRAM_UNK);
	assert_true(id(lm, "card") >= NGRAM_FIRST_WORD);
	p = ngram_lm_logp(lm, NGRAM_BOS, NGRAM_BOS, NGRAM_UNK);
	assert_true(isfinite(p));
	assert_true(p < ngram_lm_logp(lm, NGRAM_BOS, NGRAM_BOS, id(lm, "i")));
	/* where nothing is known, <unk> gets the unigram share */
	assert_float_equal(
		exp(ngram_lm_logp(lm, NGRAM_UNK, NGRAM_UNK, NGRAM_UNK)), 0.02,
		1e-12);
	/* <s> is never predicted */
	assert_true(isinf(ngram_lm_logp(lm, NGRAM_BOS, NGRAM_BOS, NGRAM_BOS)));
	ngram_lm_destroy(lm);
}

/* Words longer than NGRAM_WORD_MAX are <unk>: a text of nothing else still
 * gives distributions that sum to 1 (found by fuzz_moon_lm). */
static void a_text_of_unknown_words_still_sums_to_one(void **state)
{
	char longw[NGRAM_WORD_MAX + 10], sent[2 * sizeof(longw) + 8];
	const char *const v[] = { sent };
	struct ngram_lm *lm = NULL;

	(void)state;
	memset(longw, 'a', sizeof(longw) - 1);
	longw[sizeof(longw) - 1] = '\0';
	snprintf(sent, sizeof(sent), "%s %s", longw, longw);
	assert_int_equal(ngram_lm_build(&lm, v, 1, 0.02), 0);
	assert_int_equal(ngram_lm_size(lm), NGRAM_FIRST_WORD);
	assert_float_equal(sum_over_vocab(lm, NGRAM_BOS, NGRAM_BOS), 1.0, 1e-9);
	assert_float_equal(sum_over_vocab(lm, NGRAM_BOS, NGRAM_UNK), 1.0, 1e-9);
	assert_float_equal(sum_over_vocab(lm, NGRAM_UNK, NGRAM_UNK), 1.0, 1e-9);
	ngram_lm_destroy(lm);
}

static void a_prefix_scores_its_best_completion(void **state)
{
	struct ngram_lm *lm = build();
	uint32_t up = id(lm, "up"), my = id(lm, "my");
	double card = ngram_lm_logp(lm, up, my, id(lm, "card"));
	double cash = ngram_lm_logp(lm, up, my, id(lm, "cash"));

	(void)state;
	assert_float_equal(ngram_lm_prefix_logp(lm, up, my, "ca", 2),
			   fmax(card, cash), 1e-12);
	assert_float_equal(ngram_lm_prefix_logp(lm, up, my, "card", 4), card,
			   1e-12);
	/* nothing starts with "zz": the word will be unknown */
	assert_float_equal(ngram_lm_prefix_logp(lm, up, my, "zz", 2),
			   ngram_lm_logp(lm, up, my, NGRAM_UNK), 1e-12);
	ngram_lm_destroy(lm);
}

static void bad_input_is_refused(void **state)
{
	struct ngram_lm *lm = NULL;
	const char *const empty[] = { "", "   " };
	const char *const with_null[] = { "a b", NULL };

	(void)state;
	assert_int_equal(ngram_lm_build(&lm, empty, 2, 0.02), -EINVAL);
	assert_int_equal(ngram_lm_build(&lm, text, NTEXT, 0.0), -EINVAL);
	assert_int_equal(ngram_lm_build(&lm, text, NTEXT, 0.9), -EINVAL);
	assert_int_equal(ngram_lm_build(&lm, with_null, 2, 0.02), -EINVAL);
	assert_int_equal(ngram_lm_build(NULL, text, NTEXT, 0.02), -EINVAL);
	assert_null(lm);
	assert_true(isinf(ngram_lm_logp(NULL, 0, 0, NGRAM_EOS)));
	ngram_lm_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(distributions_sum_to_one_for_every_history),
		cmocka_unit_test(a_seen_trigram_beats_an_unseen_word),
		cmocka_unit_test(an_unseen_history_backs_off_to_the_bigram),
		cmocka_unit_test(unknown_words_keep_their_mass),
		cmocka_unit_test(a_text_of_unknown_words_still_sums_to_one),
		cmocka_unit_test(a_prefix_scores_its_best_completion),
		cmocka_unit_test(bad_input_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
