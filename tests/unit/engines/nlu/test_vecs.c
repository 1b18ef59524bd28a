/* Unit tests for precomputed sentence vectors (the bench_nlu NLU_VECS
 * experiment): parsing (both line shapes, malformed lines, repeated texts),
 * lookup, and training with them (appended or alone, not storable). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engines/nlu/classifier.h"
#include "engines/nlu/vecs.h"

static const char vecs_tsv[] = "card_lost\tI lost my card\t1 0 0\n"
			       "balance\twhat is my balance\t0 1 0\r\n"
			       "\n"
			       "plain text line\t0 0 1\n"
			       "x\tI lost my card\t5 5 5\n"
			       "x\t with spaces \t 0.5  -0.25 1e-1 \n";

static void lines_are_parsed_and_found_by_exact_text(void **state)
{
	struct nlu_vecs *v = NULL;
	size_t line = 0;
	assert_int_equal(nlu_vecs_parse(vecs_tsv, strlen(vecs_tsv), &v, &line),
			 0);
	assert_int_equal(nlu_vecs_dim(v), 3);
	assert_int_equal(nlu_vecs_count(v), 5);
	const float *p = nlu_vecs_find(v, "I lost my card");
	assert_non_null(p);
	/* A repeated text keeps its first vector. */
	assert_float_equal(p[0], 1.0f, 0);
	assert_float_equal(p[1], 0.0f, 0);
	p = nlu_vecs_find(v, "what is my balance");
	assert_non_null(p);
	assert_float_equal(p[1], 1.0f, 0);
	p = nlu_vecs_find(v, "plain text line");
	assert_non_null(p);
	assert_float_equal(p[2], 1.0f, 0);
	p = nlu_vecs_find(v, " with spaces ");
	assert_non_null(p);
	assert_float_equal(p[0], 0.5f, 0);
	assert_float_equal(p[1], -0.25f, 0);
	assert_float_equal(p[2], 0.1f, 1e-7);
	assert_null(nlu_vecs_find(v, "i lost my card"));
	assert_null(nlu_vecs_find(v, "I lost my car"));
	assert_null(nlu_vecs_find(v, "I lost my cards"));
	assert_null(nlu_vecs_find(v, ""));
	assert_null(nlu_vecs_find(NULL, "I lost my card"));
	nlu_vecs_destroy(v);
	nlu_vecs_destroy(NULL);
}

static void malformed_lines_are_rejected_with_their_line(void **state)
{
	static const struct {
		const char *text;
		size_t line;
	} bad[] = {
		{ "a\t1 2\nno tab here\n", 2 },
		{ "a\t1 2\nb\t1 2 3\n", 2 },
		{ "a\t1 2\nb\t1\n", 2 },
		{ "a\t1 x\n", 1 },
		{ "a\t1 2x\n", 1 },
		{ "a\t1 nan\n", 1 },
		{ "a\t1 inf\n", 1 },
		{ "a\t\n", 1 },
		{ "a\t   \n", 1 },
		{ "\t1 2\n", 1 },
		{ "l\t\t1 2\n", 1 },
		{ "\n\n", 2 },
		{ "", 0 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct nlu_vecs *v = NULL;
		size_t line = 0;
		assert_int_equal(nlu_vecs_parse(bad[i].text,
						strlen(bad[i].text), &v, &line),
				 -EBADMSG);
		assert_null(v);
		assert_int_equal(line, bad[i].line);
	}
	/* Over the dimension cap. */
	size_t cap = 8 * (NLU_VECS_DIM_MAX + 2) + 8;
	char *big = malloc(cap);
	assert_non_null(big);
	size_t n = (size_t)snprintf(big, cap, "t\t");
	for (int d = 0; d <= NLU_VECS_DIM_MAX; d++)
		n += (size_t)snprintf(big + n, cap - n, "1 ");
	struct nlu_vecs *v = NULL;
	assert_int_equal(nlu_vecs_parse(big, n, &v, NULL), -EBADMSG);
	assert_null(v);
	free(big);
	assert_int_equal(nlu_vecs_parse(NULL, 0, &v, NULL), -EINVAL);
	assert_int_equal(nlu_vecs_load("/nonexistent/vecs.tsv", &v, NULL),
			 -ENOENT);
}

/* Three intents whose examples share no words with the probes: only the
 * precomputed vectors can tell them apart. */
static const char train_tsv[] = "a\tone\n"
				"a\ttwo\n"
				"a\tthree\n"
				"b\tfour\n"
				"b\tfive\n"
				"b\tsix\n"
				"c\tseven\n"
				"c\teight\n"
				"c\tnine\n";
static const char train_vecs[] = "one\t1 0 0\n"
				 "two\t0.9 0.1 0\n"
				 "three\t0.9 0 0.1\n"
				 "four\t0 1 0\n"
				 "five\t0.1 0.9 0\n"
				 "six\t0 0.9 0.1\n"
				 "seven\t0 0 1\n"
				 "eight\t0.1 0 0.9\n"
				 "nine\t0 0.1 0.9\n"
				 "probe a\t0.8 0.1 0.1\n"
				 "probe b\t0.1 0.8 0.1\n"
				 "probe c\t0.1 0.1 0.8\n";

static void trained_vectors_decide_unseen_texts(void **state)
{
	struct nlu_dataset *ds = NULL;
	assert_int_equal(
		nlu_dataset_parse(train_tsv, strlen(train_tsv), &ds, NULL), 0);
	struct nlu_vecs *v = NULL;
	assert_int_equal(
		nlu_vecs_parse(train_vecs, strlen(train_vecs), &v, NULL), 0);
	for (int only = 0; only <= 1; only++) {
		struct nlu_train_cfg cfg;
		nlu_train_cfg_default(&cfg);
		cfg.feat.dim_bits = 12;
		cfg.epochs = 30;
		cfg.holdout = 0;
		cfg.lr = 0.5f;
		cfg.emb_scale = 4.0f;
		cfg.vecs = v;
		cfg.vecs_only = only;
		struct nlu_model *m = NULL;
		assert_int_equal(nlu_model_train(&m, ds, &cfg), 0);
		static const char *const want[][2] = {
			{ "probe a", "a" },
			{ "probe b", "b" },
			{ "probe c", "c" },
		};
		float least = 1;
		for (size_t i = 0; i < 3; i++) {
			struct nlu_result r;
			assert_int_equal(nlu_classify(m, want[i][0], &r), 0);
			assert_string_equal(r.top[0].intent, want[i][1]);
			least = fminf(least, r.top[0].confidence);
		}
		/* A text without a vector still classifies (n-grams only,
		 * or the biases alone: less sure than any probe). */
		struct nlu_result r;
		assert_int_equal(nlu_classify(m, "no vector here", &r), 0);
		if (only)
			assert_true(r.top[0].confidence < least);
		/* The vectors are borrowed: such a model cannot be saved. */
		uint8_t *buf = NULL;
		size_t len = 0;
		assert_int_equal(nlu_model_save_mem(m, &buf, &len), -ENOTSUP);
		assert_null(buf);
		nlu_model_destroy(m);
	}
	/* vecs_only needs vectors. */
	struct nlu_train_cfg cfg;
	nlu_train_cfg_default(&cfg);
	cfg.vecs_only = 1;
	struct nlu_model *m = NULL;
	assert_int_equal(nlu_model_train(&m, ds, &cfg), -EINVAL);
	assert_null(m);
	nlu_vecs_destroy(v);
	nlu_dataset_destroy(ds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lines_are_parsed_and_found_by_exact_text),
		cmocka_unit_test(malformed_lines_are_rejected_with_their_line),
		cmocka_unit_test(trained_vectors_decide_unseen_texts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
