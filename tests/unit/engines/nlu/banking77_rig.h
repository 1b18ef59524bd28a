/* The BANKING77 accuracy regression shared by the NLU tests
 * (test_classifier.c, test_mlp.c): train on data/banking77/train.tsv,
 * evaluate on test.tsv, print the figures, assert a floor. Static
 * helpers: include once per test binary. */
#ifndef VG_TEST_BANKING77_RIG_H
#define VG_TEST_BANKING77_RIG_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <cmocka.h>

#include "engines/nlu/classifier.h"
#include "engines/nlu/eval.h"

/* Trains a model with cfg on BANKING77's train split (77 intents) and
 * evaluates it on the test split; prints the figures after what, and
 * asserts an accuracy of at least min_acc and an ECE under 0.05. */
static inline void banking77_check(const char *what,
				   const struct nlu_train_cfg *cfg,
				   double min_acc)
{
	char tr[4096], te[4096];
	snprintf(tr, sizeof(tr), "%s/data/banking77/train.tsv", VG_SOURCE_DIR);
	snprintf(te, sizeof(te), "%s/data/banking77/test.tsv", VG_SOURCE_DIR);
	struct nlu_dataset *dtr = NULL, *dte = NULL;
	assert_int_equal(nlu_dataset_load(tr, &dtr, NULL), 0);
	assert_int_equal(nlu_dataset_load(te, &dte, NULL), 0);
	assert_int_equal(dtr->nlabels, 77);
	struct nlu_model *m = NULL;
	time_t t0 = time(NULL);
	assert_int_equal(nlu_model_train(&m, dtr, cfg), 0);
	struct nlu_eval *e = NULL;
	assert_int_equal(nlu_eval_run(m, dte, &e), 0);
	fprintf(stderr,
		"%s: accuracy %.4f macro-F1 %.4f ECE %.4f "
		"(train+eval %ld s)\n",
		what, e->accuracy, e->macro_f1, e->ece,
		(long)(time(NULL) - t0));
	assert_true(e->accuracy >= min_acc);
	assert_true(e->ece < 0.05);
	nlu_eval_destroy(e);
	nlu_model_destroy(m);
	nlu_dataset_destroy(dtr);
	nlu_dataset_destroy(dte);
}

#endif
