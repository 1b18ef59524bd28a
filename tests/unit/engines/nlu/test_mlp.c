/* Unit tests for the perceptron (nlu_train_cfg.mlp, engines/nlu/mlp.h): it
 * learns what no linear model can (XOR of two dense inputs), training is
 * deterministic and the same on one or two threads, model files of
 * version 3 round-trip it and malformed ones are refused, and bad
 * configurations are refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "engines/nlu/classifier.h"
#include "engines/nlu/eval.h"
#include "engines/nlu/mlp.h"
#include "engines/nlu/vecs.h"

#include "banking77_rig.h"

/* XOR: label a where both inputs have the same sign, b where they differ.
 * 4 corners x 6 jittered copies; the texts only key the vectors. */
static void xor_data(struct nlu_dataset **ds, struct nlu_vecs **v)
{
	static const float corner[4][2] = {
		{ 1, 1 }, { -1, -1 }, { 1, -1 }, { -1, 1 }
	};
	char tsv[4096], vec[4096];
	size_t tl = 0, vl = 0;
	for (int c = 0; c < 4; c++) {
		for (int r = 0; r < 6; r++) {
			float j = 0.05f * (float)(r - 3);
			tl += (size_t)snprintf(tsv + tl, sizeof(tsv) - tl,
					       "%s\tpoint %d %d\n",
					       c < 2 ? "same" : "differ", c, r);
			vl += (size_t)snprintf(vec + vl, sizeof(vec) - vl,
					       "point %d %d\t%g %g\n", c, r,
					       (double)(corner[c][0] + j),
					       (double)(corner[c][1] - j));
		}
	}
	assert_int_equal(nlu_dataset_parse(tsv, tl, ds, NULL), 0);
	assert_int_equal(nlu_vecs_parse(vec, vl, v, NULL), 0);
}

static void xor_cfg(struct nlu_train_cfg *cfg, const struct nlu_vecs *v)
{
	nlu_train_cfg_default(cfg);
	cfg->vecs = v;
	cfg->vecs_only = 1;
	cfg->emb_scale = 1.0f;
	cfg->holdout = 0; /* 24 examples: keep them all */
	cfg->epochs = 50;
}

/* Training-set accuracy of m on ds, in examples. */
static size_t correct(const struct nlu_model *m, const struct nlu_dataset *ds)
{
	size_t ok = 0;
	for (size_t i = 0; i < ds->n; i++) {
		struct nlu_result r;
		assert_int_equal(nlu_classify(m, ds->text[i], &r), 0);
		ok += r.top[0].label == ds->label[i];
	}
	return ok;
}

static void perceptron_learns_xor_that_a_linear_model_cannot(void **state)
{
	struct nlu_dataset *ds = NULL;
	struct nlu_vecs *v = NULL;
	xor_data(&ds, &v);
	struct nlu_train_cfg cfg;
	struct nlu_model *lin = NULL, *mlp = NULL;
	xor_cfg(&cfg, v);
	assert_int_equal(nlu_model_train(&lin, ds, &cfg), 0);
	/* At most 3 of the 4 corners are on the right side of a line. */
	assert_true(correct(lin, ds) <= 18);

	cfg.mlp.hidden = 16;
	cfg.mlp.epochs = 60;
	cfg.mlp.lr = 0.1f;
	cfg.mlp.drop_h = 0;
	cfg.mlp.drop_in = 0;
	cfg.mlp.init = 1.0f;
	cfg.mlp_only = 1;
	assert_int_equal(nlu_model_train(&mlp, ds, &cfg), 0);
	assert_int_equal(correct(mlp, ds), ds->n);
	assert_true(nlu_model_mem_bytes(mlp) > nlu_model_mem_bytes(lin));
	nlu_model_destroy(lin);
	nlu_model_destroy(mlp);
	nlu_vecs_destroy(v);
	nlu_dataset_destroy(ds);
}

static const char text_tsv[] = "lost\ti lost my card\n"
			       "lost\tmy card is lost\n"
			       "lost\tcannot find my card\n"
			       "lost\tcard missing\n"
			       "lost\twhere is my card gone\n"
			       "balance\twhat is my balance\n"
			       "balance\thow much money do i have\n"
			       "balance\tshow my balance\n"
			       "balance\tbalance please\n"
			       "balance\tmoney left on account\n"
			       "transfer\tsend money to a friend\n"
			       "transfer\ttransfer funds\n"
			       "transfer\thow do i transfer money\n"
			       "transfer\twire money abroad\n"
			       "transfer\tmove money to savings\n";

static void training_is_deterministic_on_one_or_two_threads(void **state)
{
	struct nlu_dataset *ds = NULL;
	assert_int_equal(
		nlu_dataset_parse(text_tsv, strlen(text_tsv), &ds, NULL), 0);
	struct nlu_train_cfg cfg;
	nlu_train_cfg_default(&cfg);
	cfg.epochs = 5;
	cfg.holdout = 0.2f;
	cfg.mlp.hidden = 32;
	cfg.mlp.epochs = 5;
	cfg.mlp.drop_in = 0.1f;
	struct nlu_model *m[3] = { NULL, NULL, NULL };
	for (int i = 0; i < 3; i++) {
		cfg.threads = i == 2 ? 1 : 2;
		assert_int_equal(nlu_model_train(&m[i], ds, &cfg), 0);
	}
	const char *probe[] = { "i lost my card", "balance", "wire funds",
				"something else entirely" };
	for (size_t t = 0; t < sizeof(probe) / sizeof(probe[0]); t++) {
		float p[3][3];
		for (int i = 0; i < 3; i++)
			assert_int_equal(
				nlu_classify_probs(m[i], probe[t], p[i], 3), 0);
		assert_memory_equal(p[0], p[1], sizeof(p[0]));
		assert_memory_equal(p[0], p[2], sizeof(p[0]));
	}
	assert_float_equal(nlu_model_temperature(m[0]),
			   nlu_model_temperature(m[2]), 0);
	struct nlu_result r;
	assert_int_equal(nlu_classify(m[0], "i lost my card", &r), 0);
	assert_string_equal(r.top[0].intent, "lost");
	/* Another perceptron seed gives another model. */
	struct nlu_model *o = NULL;
	cfg.mlp.seed ^= 1;
	assert_int_equal(nlu_model_train(&o, ds, &cfg), 0);
	float a[3], b[3];
	assert_int_equal(nlu_classify_probs(m[0], "card balance", a, 3), 0);
	assert_int_equal(nlu_classify_probs(o, "card balance", b, 3), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	nlu_model_destroy(o);
	for (int i = 0; i < 3; i++)
		nlu_model_destroy(m[i]);
	nlu_dataset_destroy(ds);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Rewrites the trailing CRC after a deliberate change. */
static void fix_crc(uint8_t *b, size_t len)
{
	put_u32(b + len - 4, nlu_crc32(0, b, len - 4));
}

static void model_files_keep_the_perceptron_and_refuse_bad_ones(void **state)
{
	struct nlu_dataset *ds = NULL;
	assert_int_equal(
		nlu_dataset_parse(text_tsv, strlen(text_tsv), &ds, NULL), 0);
	struct nlu_train_cfg cfg;
	nlu_train_cfg_default(&cfg);
	cfg.epochs = 5;
	struct nlu_model *lin = NULL, *m = NULL, *back = NULL;
	assert_int_equal(nlu_model_train(&lin, ds, &cfg), 0);
	cfg.mlp.hidden = 32;
	cfg.mlp.epochs = 5;
	cfg.mlp_mix = 3.0f;
	assert_int_equal(nlu_model_train(&m, ds, &cfg), 0);

	/* Without a perceptron the file stays version 2. */
	uint8_t *buf = NULL;
	size_t len = 0;
	assert_int_equal(nlu_model_save_mem(lin, &buf, &len), 0);
	assert_int_equal(buf[8], 2);
	size_t lin_len = len;
	free(buf);

	assert_int_equal(nlu_model_save_mem(m, &buf, &len), 0);
	assert_int_equal(buf[8], 3);
	/* Same rows: the file grows by the block, (nin x 32) + 32 + 32 x 3
	 * + 3 floats after a 12-byte header. */
	size_t extra = 12 + 4 * (32 + 32 * 3 + 3);
	assert_true(len > lin_len + extra);
	assert_int_equal((len - lin_len - extra) % (4 * 32), 0);
	char err[256];
	assert_int_equal(nlu_model_load_mem(buf, len, &back, err, sizeof(err)),
			 0);
	const char *probe[] = { "i lost my card", "balance", "wire funds",
				"something else entirely" };
	for (size_t t = 0; t < sizeof(probe) / sizeof(probe[0]); t++) {
		float a[3], b[3];
		assert_int_equal(nlu_classify_probs(m, probe[t], a, 3), 0);
		assert_int_equal(nlu_classify_probs(back, probe[t], b, 3), 0);
		assert_memory_equal(a, b, sizeof(a));
	}
	assert_int_equal(nlu_model_mem_bytes(back), nlu_model_mem_bytes(m));
	nlu_model_destroy(back);
	back = NULL;

	/* The perceptron header: hidden 32, mix 3.0f, only 0. */
	static const uint8_t hdr[12] = { 32,   0,    0, 0, 0, 0,
					 0x40, 0x40, 0, 0, 0, 0 };
	uint8_t *h = memmem(buf, len, hdr, sizeof(hdr));
	assert_non_null(h);
	size_t at = (size_t)(h - buf);
	static const struct {
		size_t off;
		uint32_t v;
	} bad[] = {
		{ 0, 0 },	    /* no hidden units */
		{ 0, 4097 },	    /* over NLU_MLP_HIDDEN_MAX */
		{ 0, 33 },	    /* sizes no longer add up */
		{ 4, 0x7fc00000 },  /* mix NaN */
		{ 4, 0 },	    /* mix 0 */
		{ 8, 2 },	    /* mlp_only not 0/1 */
		{ 12, 0x7f800000 }, /* infinite first-layer weight */
		{ SIZE_MAX, 0 },    /* last output bias NaN */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t *c = malloc(len);
		assert_non_null(c);
		memcpy(c, buf, len);
		size_t o = bad[i].off == SIZE_MAX ? len - 8 : at + bad[i].off;
		put_u32(c + o, bad[i].off == SIZE_MAX ? 0x7fc00000 : bad[i].v);
		fix_crc(c, len);
		assert_int_equal(
			nlu_model_load_mem(c, len, &back, err, sizeof(err)),
			-EBADMSG);
		assert_null(back);
		free(c);
	}
	/* Cut after the linear weights: a version 3 file needs the block. */
	uint8_t *c = malloc(at + 4);
	assert_non_null(c);
	memcpy(c, buf, at);
	put_u32(c + 16, (uint32_t)(at + 4));
	put_u32(c + 20, 0);
	fix_crc(c, at + 4);
	assert_int_equal(nlu_model_load_mem(c, at + 4, &back, err, sizeof(err)),
			 -EBADMSG);
	/* The same bytes marked version 2 are the linear model. */
	c[8] = 2;
	fix_crc(c, at + 4);
	assert_int_equal(nlu_model_load_mem(c, at + 4, &back, err, sizeof(err)),
			 0);
	nlu_model_destroy(back);
	free(c);
	free(buf);
	nlu_model_destroy(m);
	nlu_model_destroy(lin);
	nlu_dataset_destroy(ds);
}

static void bad_configurations_are_refused(void **state)
{
	struct nlu_dataset *ds = NULL;
	assert_int_equal(
		nlu_dataset_parse(text_tsv, strlen(text_tsv), &ds, NULL), 0);
	struct nlu_train_cfg cfg;
	struct nlu_model *m = NULL;
	for (int c = 0; c < 6; c++) {
		nlu_train_cfg_default(&cfg);
		cfg.epochs = 1;
		cfg.mlp.hidden = 8;
		cfg.mlp.epochs = 1;
		switch (c) {
		case 0:
			cfg.mlp.hidden = NLU_MLP_HIDDEN_MAX + 1;
			break;
		case 1:
			cfg.mlp.hidden = 0;
			cfg.mlp_only = 1;
			break;
		case 2:
			cfg.mlp_mix = 0;
			break;
		case 3:
			cfg.mlp.drop_h = 0.95f;
			break;
		case 4:
			cfg.mlp.lr = 0;
			break;
		case 5:
			cfg.mlp.epochs = 0;
			break;
		}
		assert_int_equal(nlu_model_train(&m, ds, &cfg), -EINVAL);
		assert_null(m);
	}
	/* The network alone: a feature outside the input rows. */
	static const size_t off[] = { 0, 1, 2 };
	static const uint32_t idx[] = { 0, 5 };
	static const float val[] = { 1, 1 };
	static const uint32_t y[] = { 0, 1 }, order[] = { 0, 1 };
	struct nlu_mlp_data d = { .off = off, .idx = idx, .val = val, .y = y };
	struct nlu_mlp_cfg mc;
	nlu_mlp_cfg_default(&mc);
	struct nlu_mlp *net = NULL;
	assert_int_equal(nlu_mlp_train(&net, &d, order, 2, 5, 2, &mc), -EINVAL);
	assert_null(net);
	assert_int_equal(nlu_mlp_train(&net, &d, order, 2, 6, 2, &mc), 0);
	assert_non_null(net);
	nlu_mlp_destroy(net);
	nlu_mlp_destroy(NULL);
	nlu_dataset_destroy(ds);
}

/* BANKING77 with the perceptron (`--mlp 256`: 256 units, the LR at the
 * regression test's 20 epochs without refit), when VG_NLU_MLP_REGRESSION
 * is set (skipped otherwise: several minutes under ASan). Reached
 * MLP_REGRESSION_ACC_MEASURED when written (release build); asserts 0.5
 * points less. */
#define MLP_REGRESSION_ACC_MEASURED 0.9224
#define MLP_REGRESSION_MIN_ACC (MLP_REGRESSION_ACC_MEASURED - 0.005)

static void banking77_with_perceptron_does_not_regress(void **state)
{
	(void)state;
	const char *on = getenv("VG_NLU_MLP_REGRESSION");
	if (!on || !*on || !strcmp(on, "0")) {
		fprintf(stderr, "VG_NLU_MLP_REGRESSION not set: skipped\n");
		skip();
	}
	struct nlu_train_cfg cfg;
	nlu_train_cfg_default(&cfg);
	cfg.epochs = 20;
	cfg.refit = 0;
	cfg.mlp.hidden = 256;
	banking77_check("banking77 + perceptron", &cfg, MLP_REGRESSION_MIN_ACC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			perceptron_learns_xor_that_a_linear_model_cannot),
		cmocka_unit_test(
			training_is_deterministic_on_one_or_two_threads),
		cmocka_unit_test(
			model_files_keep_the_perceptron_and_refuse_bad_ones),
		cmocka_unit_test(bad_configurations_are_refused),
		cmocka_unit_test(banking77_with_perceptron_does_not_regress),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
