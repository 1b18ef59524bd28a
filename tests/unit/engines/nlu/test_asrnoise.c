/* Tests for engines/nlu/asrnoise: the confusion table (neighbours in broad
 * phone classes, splits, merges, only known words), the seeded noiser
 * (same seed same copy, rates honoured) and training with noisy copies
 * (deterministic, calibration kept clean, bad configurations refused). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engines/lexicon/cmudict.h"
#include "engines/nlu/asrnoise.h"
#include "engines/nlu/classifier.h"

static const char dict_txt[] = ";;; a tiny CMU-style dictionary\n"
			       "any EH N IY\n"
			       "anymore EH N IY M AO R\n"
			       "car K AA R\n"
			       "card K AA R D\n"
			       "cart K AA R T\n"
			       "cord K AO R D\n"
			       "for F AO R\n"
			       "for(2) F ER\n"
			       "gard G AA R D\n"
			       "heart HH AA R T\n"
			       "lost L AO S T\n"
			       "money M AH N IY\n"
			       "more M AO R\n"
			       "my M AY\n"
			       "trance T R AE N S\n"
			       "transfer T R AE N S F ER\n"
			       "xylophone Z AY L AH F OW N\n";

static const char data_tsv[] = "card_lost\tI lost my card\n"
			       "card_lost\tmy card is lost\n"
			       "transfer\ttransfer money\n"
			       "transfer\ti want no more money any more\n";

struct fix {
	struct cmudict *dict;
	struct nlu_dataset *ds;
	struct nlu_asrnoise *t;
};

static const char *const known[] = { "car",    "cart", "cord",	  "heart",
				     "trance", "for",  "anymore", "More" };

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(cmudict_parse(&f->dict, dict_txt, strlen(dict_txt)),
			 0);
	assert_int_equal(
		nlu_dataset_parse(data_tsv, strlen(data_tsv), &f->ds, NULL), 0);
	assert_int_equal(nlu_asrnoise_build(&f->t, f->dict, f->ds, known,
					    sizeof(known) / sizeof(*known)),
			 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	nlu_asrnoise_destroy(f->t);
	nlu_dataset_destroy(f->ds);
	cmudict_destroy(f->dict);
	free(f);
	return 0;
}

static int has(const char *const *a, size_t n, const char *w)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(a[i], w))
			return (int)i + 1;
	return 0;
}

static void card_sounds_like_cart_cord_car_heart(void **state)
{
	struct fix *f = *state;
	size_t n = 0;
	const char *const *a = nlu_asrnoise_find(f->t, "card", &n);
	assert_non_null(a);
	/* same classes (D/T voicing, AA/AO): distance 0, listed first */
	int cart = has(a, n, "cart"), cord = has(a, n, "cord");
	int car = has(a, n, "car"), heart = has(a, n, "heart");
	assert_true(cart && cord && car && heart);
	assert_true(cart < car && cord < car && cart < heart);
	/* "gard" is in the dictionary but not a known word */
	assert_false(has(a, n, "gard"));
	/* a word is never its own neighbour; xylophone is nowhere near */
	assert_false(has(a, n, "card"));
	assert_false(has(a, n, "xylophone"));
	/* not a training word: no entry */
	assert_null(nlu_asrnoise_find(f->t, "heart", &n));
	assert_int_equal(n, 0);
	assert_null(nlu_asrnoise_find(f->t, "zzz", &n));
}

static void transfer_splits_into_trance_for(void **state)
{
	struct fix *f = *state;
	size_t n = 0;
	const char *const *a = nlu_asrnoise_find(f->t, "transfer", &n);
	assert_non_null(a);
	assert_true(has(a, n, "trance for"));
	/* splits come after the single-word neighbours */
	assert_non_null(strchr(a[n - 1], ' '));
}

static void any_more_merges_into_anymore(void **state)
{
	struct fix *f = *state;
	assert_string_equal(nlu_asrnoise_merge_find(f->t, "any", "more"),
			    "anymore");
	assert_null(nlu_asrnoise_merge_find(f->t, "my", "card"));
	assert_null(nlu_asrnoise_merge_find(f->t, "more", "money"));
	assert_true(nlu_asrnoise_merges(f->t) >= 1);
	assert_true(nlu_asrnoise_words(f->t) >= 2);
}

static void extra_words_widen_the_table(void **state)
{
	struct fix *f = *state;
	struct nlu_asrnoise *t = NULL;
	const char *const w[] = { "GARD" };
	assert_int_equal(nlu_asrnoise_build(&t, f->dict, f->ds, w, 1), 0);
	size_t n = 0;
	const char *const *a = nlu_asrnoise_find(t, "card", &n);
	assert_true(has(a, n, "gard"));
	assert_false(has(a, n, "cart"));
	nlu_asrnoise_destroy(t);
	assert_int_equal(nlu_asrnoise_build(&t, NULL, f->ds, NULL, 0), -EINVAL);
	assert_int_equal(nlu_asrnoise_build(&t, f->dict, f->ds, NULL, 3),
			 -EINVAL);
}

static const char *copy(struct fix *f, const struct nlu_asrnoise_rates *r,
			const char *text, uint64_t seed, char *buf, size_t cap)
{
	uint64_t rng = seed;
	int len = nlu_asrnoise_apply(f->t, r, text, &rng, buf, cap);
	assert_true(len >= 0);
	assert_int_equal((size_t)len, strlen(buf));
	return buf;
}

static void same_seed_same_copy(void **state)
{
	struct fix *f = *state;
	struct nlu_asrnoise_rates r = { 0.5f, 0.5f, 0.5f, 0.3f };
	char a[256], b[256];
	int differ = 0;
	for (uint64_t s = 0; s < 32; s++) {
		copy(f, &r, "I lost my card, any more money?", s, a, sizeof(a));
		copy(f, &r, "I lost my card, any more money?", s, b, sizeof(b));
		assert_string_equal(a, b);
		copy(f, &r, "I lost my card, any more money?", s + 1000, b,
		     sizeof(b));
		differ += strcmp(a, b) != 0;
	}
	assert_true(differ > 8);
}

static void zero_rates_keep_the_tokens(void **state)
{
	struct fix *f = *state;
	struct nlu_asrnoise_rates r = { 0, 0, 0, 0 };
	char buf[256];
	for (uint64_t s = 0; s < 16; s++)
		assert_string_equal(copy(f, &r, "I lost my CARD, any more!", s,
					 buf, sizeof(buf)),
				    "i lost my card any more");
}

static void full_rates_replace_every_word_they_can(void **state)
{
	struct fix *f = *state;
	struct nlu_asrnoise_rates r = { 1, 0, 1, 0 };
	char buf[256];
	for (uint64_t s = 0; s < 16; s++) {
		copy(f, &r, "card any more", s, buf, sizeof(buf));
		/* card replaced by a neighbour, "any more" merged */
		const char *sp = strchr(buf, ' ');
		assert_non_null(sp);
		assert_string_equal(sp + 1, "anymore");
		assert_memory_not_equal(buf, "card ", 5);
	}
	/* split share 1: transfer always becomes a split */
	r = (struct nlu_asrnoise_rates){ 1, 1, 0, 0 };
	for (uint64_t s = 0; s < 16; s++)
		assert_string_equal(
			copy(f, &r, "transfer", s, buf, sizeof(buf)),
			"trance for");
	/* every short word dropped, but one word always stays */
	r = (struct nlu_asrnoise_rates){ 0, 0, 0, 1 };
	assert_string_equal(copy(f, &r, "my card is lost", 1, buf, sizeof(buf)),
			    "card lost");
	assert_string_equal(copy(f, &r, "my", 1, buf, sizeof(buf)), "my");
}

static void rates_are_honoured(void **state)
{
	struct fix *f = *state;
	struct nlu_asrnoise_rates r = { 0.3f, 0, 0, 0.1f };
	char buf[256];
	int sub = 0, del = 0;
	const int n = 4000;
	uint64_t rng = 42;
	for (int i = 0; i < n; i++) {
		int len = nlu_asrnoise_apply(f->t, &r, "card my", &rng, buf,
					     sizeof(buf));
		assert_true(len > 0);
		sub += strncmp(buf, "card", 4) != 0 ||
		       (buf[4] != ' ' && buf[4] != '\0');
		del += strstr(buf, " my") == NULL;
	}
	assert_in_range(sub, n * 27 / 100, n * 33 / 100);
	assert_in_range(del, n * 8 / 100, n * 12 / 100);
}

static void apply_rejects_bad_arguments(void **state)
{
	struct fix *f = *state;
	struct nlu_asrnoise_rates r;
	nlu_asrnoise_rates_default(&r);
	char buf[8];
	uint64_t rng = 1;
	assert_int_equal(nlu_asrnoise_apply(NULL, &r, "x", &rng, buf, 8),
			 -EINVAL);
	assert_int_equal(nlu_asrnoise_apply(f->t, &r, NULL, &rng, buf, 8),
			 -EINVAL);
	assert_int_equal(nlu_asrnoise_apply(f->t, &r, "x", &rng, buf, 0),
			 -EINVAL);
	assert_int_equal(nlu_asrnoise_apply(f->t, &r, "transfer money now",
					    &rng, buf, sizeof(buf)),
			 -E2BIG);
	assert_string_equal(buf, "");
	assert_int_equal(nlu_asrnoise_apply(f->t, &r, "", &rng, buf, 8), 0);
}

static size_t model_bytes(const struct nlu_model *m, uint8_t **buf)
{
	size_t len = 0;
	assert_int_equal(nlu_model_save_mem(m, buf, &len), 0);
	return len;
}

static void training_with_noise_is_deterministic(void **state)
{
	struct fix *f = *state;
	struct nlu_train_cfg cfg;
	nlu_train_cfg_default(&cfg);
	cfg.epochs = 5;
	cfg.holdout = 0.5f; /* 2 of 4 held out: the calibration path runs */
	cfg.noise = f->t;
	cfg.noise_copies = 3;
	struct nlu_model *a = NULL, *b = NULL, *c = NULL;
	assert_int_equal(nlu_model_train(&a, f->ds, &cfg), 0);
	assert_int_equal(nlu_model_train(&b, f->ds, &cfg), 0);
	cfg.noise_copies = 0;
	assert_int_equal(nlu_model_train(&c, f->ds, &cfg), 0);
	uint8_t *ba, *bb, *bc;
	size_t la = model_bytes(a, &ba), lb = model_bytes(b, &bb);
	size_t lc = model_bytes(c, &bc);
	assert_int_equal(la, lb);
	assert_memory_equal(ba, bb, la);
	assert_true(nlu_model_temperature(a) != 1.0f); /* calibrated */
	/* the copies add features ("cart", "trance", ...): more rows */
	assert_true(la > lc);
	/* one thread (calibration, then final fit) gives the same bytes as
	 * the two side by side */
	struct nlu_model *d = NULL;
	uint8_t *bd;
	cfg.noise_copies = 3;
	cfg.threads = 1;
	assert_int_equal(nlu_model_train(&d, f->ds, &cfg), 0);
	size_t ld = model_bytes(d, &bd);
	assert_int_equal(ld, la);
	assert_memory_equal(bd, ba, la);
	free(bd);
	nlu_model_destroy(d);
	free(ba);
	free(bb);
	free(bc);
	nlu_model_destroy(a);
	nlu_model_destroy(b);
	nlu_model_destroy(c);
}

static void training_refuses_bad_noise_config(void **state)
{
	struct fix *f = *state;
	struct nlu_train_cfg cfg;
	nlu_train_cfg_default(&cfg);
	struct nlu_model *m = NULL;
	cfg.noise_copies = 1; /* no table */
	assert_int_equal(nlu_model_train(&m, f->ds, &cfg), -EINVAL);
	cfg.noise = f->t;
	cfg.noise_copies = NLU_ASRNOISE_COPIES_MAX + 1;
	assert_int_equal(nlu_model_train(&m, f->ds, &cfg), -EINVAL);
	assert_null(m);
}

/* The real dictionary (pocketsphinx-en-us), when installed. */
static void real_dictionary_card_neighbours(void **state)
{
	(void)state;
	if (access(NLU_ASRNOISE_DICT, R_OK)) {
		skip();
		return;
	}
	struct cmudict *d = NULL;
	struct nlu_dataset *ds = NULL;
	struct nlu_asrnoise *t = NULL;
	const char tsv[] = "a\tmy card\nb\ttop up\nb\tmake a transfer\n";
	const char *const w[] = { "cart", "car",    "heart", "pop",
				  "for",  "trance", "the" };
	assert_int_equal(cmudict_load(&d, NLU_ASRNOISE_DICT), 0);
	assert_int_equal(nlu_dataset_parse(tsv, strlen(tsv), &ds, NULL), 0);
	assert_int_equal(nlu_asrnoise_build(&t, d, ds, w, 7), 0);
	size_t n = 0;
	const char *const *a = nlu_asrnoise_find(t, "card", &n);
	assert_true(has(a, n, "cart") && has(a, n, "car") &&
		    has(a, n, "heart"));
	a = nlu_asrnoise_find(t, "top", &n);
	assert_true(has(a, n, "pop"));
	a = nlu_asrnoise_find(t, "transfer", &n);
	assert_true(has(a, n, "trance for"));
	nlu_asrnoise_destroy(t);
	nlu_dataset_destroy(ds);
	cmudict_destroy(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(card_sounds_like_cart_cord_car_heart),
		cmocka_unit_test(transfer_splits_into_trance_for),
		cmocka_unit_test(any_more_merges_into_anymore),
		cmocka_unit_test(extra_words_widen_the_table),
		cmocka_unit_test(same_seed_same_copy),
		cmocka_unit_test(zero_rates_keep_the_tokens),
		cmocka_unit_test(full_rates_replace_every_word_they_can),
		cmocka_unit_test(rates_are_honoured),
		cmocka_unit_test(apply_rejects_bad_arguments),
		cmocka_unit_test(training_with_noise_is_deterministic),
		cmocka_unit_test(training_refuses_bad_noise_config),
	};
	const struct CMUnitTest real[] = {
		cmocka_unit_test(real_dictionary_card_neighbours),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	return rc + cmocka_run_group_tests(real, NULL, NULL);
}
