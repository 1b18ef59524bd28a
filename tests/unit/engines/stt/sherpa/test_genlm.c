/* The generic LM scorer (genlm.h) on a tiny ARPA backoff trigram written by
 * the test: conditional scores against values computed by hand from the
 * file (log10 -> ln, backoff weights), unknown words, the prefix lookahead,
 * concurrent lookups (sphinxbase caches the last history in the model),
 * malformed and missing files, and a beam search that the LM turns from
 * "my car" to "my card". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engines/stt/sherpa/beam.h"
#include "engines/stt/sherpa/genlm.h"

#define OOV (-15.0)
#define TOL 1e-3 /* sphinxbase keeps scores in 1.0001-base integers */

static const char arpa[] = "\\data\\\n"
			   "ngram 1=5\n"
			   "ngram 2=4\n"
			   "ngram 3=2\n"
			   "\n"
			   "\\1-grams:\n"
			   "-1.0 </s>\n"
			   "-99 <s> -0.5\n"
			   "-0.6 my -0.3\n"
			   "-0.7 card -0.2\n"
			   "-0.8 car -0.1\n"
			   "\n"
			   "\\2-grams:\n"
			   "-0.3 <s> my -0.1\n"
			   "-0.4 card </s>\n"
			   "-0.5 my car\n"
			   "-0.2 my card -0.05\n"
			   "\n"
			   "\\3-grams:\n"
			   "-0.1 <s> my card\n"
			   "-0.25 my card </s>\n"
			   "\n"
			   "\\end\\\n";

struct fx {
	char path[64];
	struct genlm *g;
	struct beam_lm lm;
};

static void write_file(char *path, const char *text, size_t len)
{
	int fd;

	strcpy(path, "/tmp/vg-genlm-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	write_file(f->path, arpa, sizeof(arpa) - 1);
	assert_int_equal(genlm_create(&f->g, f->path, OOV), 0);
	genlm_beam_lm(f->g, &f->lm);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	genlm_destroy(f->g);
	unlink(f->path);
	free(f);
	return 0;
}

static uint32_t id(const struct fx *f, const char *w)
{
	return f->lm.word(f->lm.ctx, w, strlen(w));
}

static double lp(const struct fx *f, const char *u, const char *v,
		 const char *w)
{
	uint32_t iu = u ? id(f, u) : f->lm.bos;
	uint32_t iv = v ? id(f, v) : f->lm.bos;
	uint32_t iw = w ? id(f, w) : f->lm.eos;

	return f->lm.logp(f->lm.ctx, iu, iv, iw);
}

static double ln10(double x)
{
	return x * log(10.0);
}

static void scores_are_the_files_in_natural_log(void **state)
{
	struct fx *f = *state;

	assert_int_equal(genlm_size(f->g), 5);
	/* at the start (u = v = <s>) only "<s>" is history: bigram */
	assert_float_equal(lp(f, NULL, NULL, "my"), ln10(-0.3), TOL);
	/* trigram present */
	assert_float_equal(lp(f, NULL, "my", "card"), ln10(-0.1), TOL);
	/* no trigram "<s> my car": bigram + backoff of "<s> my" */
	assert_float_equal(lp(f, NULL, "my", "car"), ln10(-0.5 - 0.1), TOL);
	/* end of text after "my card": trigram */
	assert_float_equal(lp(f, "my", "card", NULL), ln10(-0.25), TOL);
	/* no bigram "card card": unigram + backoff of "card" (no "car card"
	 * bigram, so no trigram-level backoff) */
	assert_float_equal(lp(f, "car", "card", "card"), ln10(-0.7 - 0.2), TOL);
	assert_float_equal(lp(f, "card", "car", "my"), ln10(-0.6 - 0.1), TOL);
	/* a sentence: <s> my card </s> */
	assert_float_equal(lp(f, NULL, NULL, "my") + lp(f, NULL, "my", "card") +
				   lp(f, "my", "card", NULL),
			   ln10(-0.3 - 0.1 - 0.25), 3 * TOL);
}

static void unknown_words_score_the_penalty_and_cut_the_history(void **state)
{
	struct fx *f = *state;

	assert_int_equal(id(f, "zebra"), id(f, "cards"));
	assert_float_equal(lp(f, NULL, "my", "zebra"), OOV, 1e-12);
	/* "<s>" is never a word of the text */
	assert_float_equal(lp(f, NULL, "my", "<s>"), OOV, 1e-12);
	/* unknown u: the bigram "my card" alone, no backoff */
	assert_float_equal(lp(f, "zebra", "my", "card"), ln10(-0.2), TOL);
	/* unknown v: the unigram */
	assert_float_equal(lp(f, "my", "zebra", "card"), ln10(-0.7), TOL);
	/* longer than any word: unknown */
	char longw[200];
	memset(longw, 'a', sizeof(longw));
	assert_int_equal(f->lm.word(f->lm.ctx, longw, sizeof(longw)),
			 id(f, "zebra"));
}

static double pre(const struct fx *f, const char *p)
{
	return f->lm.prefix_logp(f->lm.ctx, f->lm.bos, f->lm.bos, p, strlen(p));
}

static void prefix_lookahead_is_the_best_unigram_of_the_prefix(void **state)
{
	struct fx *f = *state;

	assert_float_equal(pre(f, "ca"), ln10(-0.7), TOL); /* card > car */
	assert_float_equal(pre(f, "car"), ln10(-0.7), TOL);
	assert_float_equal(pre(f, "cars"), OOV, 1e-12);
	assert_float_equal(pre(f, "m"), ln10(-0.6), TOL);
	assert_float_equal(pre(f, "x"), OOV, 1e-12);
	/* "<s>" is not a word being spelled */
	assert_float_equal(pre(f, "<"), ln10(-1.0), TOL); /* </s> only */
}

struct worker {
	const struct fx *f;
	int which;
	int bad;
};

/* Two histories that both back off (no bigram "card card", no "car my"),
 * one per thread: without the lock a thread reads the other's cached
 * backoff weights. */
static void *hammer(void *arg)
{
	struct worker *w = arg;
	const double want = w->which ? ln10(-0.7 - 0.2) : ln10(-0.6 - 0.1);

	for (int i = 0; i < 200000; i++) {
		double got = w->which ? lp(w->f, "car", "card", "card")
				      : lp(w->f, "card", "car", "my");

		w->bad += fabs(got - want) > TOL;
	}
	return NULL;
}

static void concurrent_lookups_agree_with_single_ones(void **state)
{
	struct fx *f = *state;
	pthread_t t[4];
	struct worker w[4];

	for (size_t i = 0; i < 4; i++) {
		w[i] = (struct worker){ .f = f, .which = (int)(i % 2) };
		assert_int_equal(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
	}
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(w[i].bad, 0);
}

static void bad_files_and_arguments_are_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"hello world\n",
		"\\data\\\nngram 1=2\n\n\\1-grams:\n-1.0 a\n-1.0 "
		"b\n\n\\end\\\n",
	};
	struct genlm *g = NULL;
	char path[64];

	(void)state;
	assert_int_equal(genlm_create(&g, "/nonexistent/en-us.lm.bin", OOV),
			 -ENOENT);
	assert_int_equal(genlm_create(NULL, "/tmp", OOV), -EINVAL);
	assert_int_equal(genlm_create(&g, NULL, OOV), -EINVAL);
	assert_int_equal(genlm_create(&g, "/tmp", 0.0), -EINVAL);
	assert_int_equal(genlm_create(&g, "/tmp", NAN), -EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(path, bad[i], strlen(bad[i]));
		/* not a model, or one without <s> and </s> */
		assert_int_equal(genlm_create(&g, path, OOV), -EBADMSG);
		unlink(path);
	}
	assert_null(g);
	genlm_destroy(NULL);
}

/* A decoder that hesitates between " car" (logit 0.5) and " card" (0)
 * after " my": the generic LM's "my card" wins with fusion. */
enum { T_EOS, T_MY, T_CARD, T_CAR, V };
static const char *const texts[V] = {
	[T_MY] = " my", [T_CARD] = " card", [T_CAR] = " car"
};

struct fake {
	int32_t last[BEAM_WIDTH_MAX];
};

static void row(int32_t last, float *logits)
{
	for (size_t i = 0; i < V; i++)
		logits[i] = -20.0f;
	if (last < 0)
		logits[T_MY] = 0;
	else if (last == T_MY) {
		logits[T_CAR] = 0.5f;
		logits[T_CARD] = 0;
	} else {
		logits[T_EOS] = 0;
	}
}

static int fake_start(void *ctx, float *logits)
{
	(void)ctx;
	row(-1, logits);
	return 0;
}

static int fake_step(void *ctx, size_t n, const uint32_t *parent,
		     const int32_t *tok, float *logits)
{
	(void)ctx;
	(void)parent;
	for (size_t i = 0; i < n; i++)
		row(tok[i], logits + i * V);
	return 0;
}

static void fusion_turns_car_into_card(void **state)
{
	struct fx *f = *state;
	struct fake fk = { { 0 } };
	struct beam_model m = { .vocab = V,
				.eos = T_EOS,
				.text = texts,
				.ctx = &fk,
				.start = fake_start,
				.step = fake_step };
	struct beam_cfg cfg = { .width = 4, .max_tokens = 8, .lambda = 0.5 };
	char text[32];

	assert_int_equal(
		beam_search_lm(&m, NULL, &cfg, text, sizeof(text), NULL), 0);
	assert_string_equal(text, "my car");
	assert_int_equal(
		beam_search_lm(&m, &f->lm, &cfg, text, sizeof(text), NULL), 0);
	assert_string_equal(text, "my card");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			scores_are_the_files_in_natural_log, setup, teardown),
		cmocka_unit_test_setup_teardown(
			unknown_words_score_the_penalty_and_cut_the_history,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			prefix_lookahead_is_the_best_unigram_of_the_prefix,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			concurrent_lookups_agree_with_single_ones, setup,
			teardown),
		cmocka_unit_test(bad_files_and_arguments_are_refused),
		cmocka_unit_test_setup_teardown(fusion_turns_car_into_card,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
