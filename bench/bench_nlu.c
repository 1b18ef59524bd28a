/* Benchmark: the NLU intent classifier on BANKING77 (train, evaluate, time).
 * usage: bench_nlu [train.tsv test.tsv]; defaults to data/banking77/ under the
 * current directory (bench/run.sh runs it from the repo root).
 * Environment: NLU_EMB=glove.txt trains with word embeddings
 * (nlu_train_cfg_embeddings; NLU_EMB_WORDS caps the words); NLU_VALID=0.1
 * evaluates on a seeded 10% of train instead of test (NLU_VALID_SEED), for
 * tuning; NLU_EPOCHS, NLU_LR, NLU_SVM (0 none, 2 Crammer-Singer, 3
 * one-vs-rest), NLU_SVM_MIX, NLU_EMB_SCALE, ... override the config.
 * NLU_VECS=vectors.tsv (experiment, docs/NLU.md): precomputed sentence
 * vectors (`label<TAB>text<TAB>v1 ... vN` lines covering train and test)
 * appended to the features at NLU_EMB_SCALE; NLU_VECS_ONLY=1 uses them
 * alone. Such a model is evaluated in memory (it cannot be saved).
 * NLU_MLP=H (docs/NLU.md): a perceptron of H hidden ReLU units
 * beside the linear model, logits summed (NLU_MLP_MIX; NLU_MLP_ONLY=1
 * alone); NLU_MLP_EPOCHS, NLU_MLP_LR, NLU_MLP_L2, NLU_MLP_DROP (hidden),
 * NLU_MLP_IN_DROP (input), NLU_MLP_INIT, NLU_MLP_AVG, NLU_MLP_SEED,
 * NLU_MLP_SEEDS (an ensemble of N seeds, logits averaged). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "engines/nlu/classifier.h"
#include "engines/nlu/eval.h"
#include "bench_fig.h"

#define BUDGET_ACC 0.937
#define BUDGET_P99_US 1000.0
#define BUDGET_TRAIN_S 60.0
#define BUDGET_LOAD_MS 100.0

/* CPU time of the process (all threads), user + system. */
static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Moves a seeded fraction of *tr into a new validation set *va, so
 * configurations can be compared without touching the test set. */
static int split_valid(struct nlu_dataset *tr, double frac,
		       struct nlu_dataset **va)
{
	struct nlu_dataset *v = calloc(1, sizeof(*v));
	char **keep_t = malloc(tr->n * sizeof(*keep_t));
	uint32_t *keep_l = malloc(tr->n * sizeof(*keep_l));
	if (!v || !keep_t || !keep_l)
		return -1;
	v->text = malloc(tr->n * sizeof(*v->text));
	v->label = malloc(tr->n * sizeof(*v->label));
	v->labels = calloc(tr->nlabels, sizeof(*v->labels));
	if (!v->text || !v->label || !v->labels)
		return -1;
	for (size_t i = 0; i < tr->nlabels; i++)
		v->labels[i] = strdup(tr->labels[i]);
	v->nlabels = tr->nlabels;
	uint64_t s = getenv("NLU_VALID_SEED")
			     ? (uint64_t)atoll(getenv("NLU_VALID_SEED"))
			     : 0x5eed5eedull;
	size_t nk = 0;
	for (size_t i = 0; i < tr->n; i++) {
		uint64_t z = (s += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		if ((double)(z >> 11) / 9007199254740992.0 < frac) {
			v->text[v->n] = tr->text[i];
			v->label[v->n++] = tr->label[i];
		} else {
			keep_t[nk] = tr->text[i];
			keep_l[nk++] = tr->label[i];
		}
	}
	memcpy(tr->text, keep_t, nk * sizeof(*keep_t));
	memcpy(tr->label, keep_l, nk * sizeof(*keep_l));
	tr->n = nk;
	free(keep_t);
	free(keep_l);
	*va = v;
	return 0;
}

static void progress(void *arg, int pass, uint32_t ep, uint32_t n, double loss)
{
	fprintf(stderr, "  %s epoch %u/%u loss %.4f\n",
		pass ? "final" : "calib", ep, n, loss);
}

int main(int argc, char **argv)
{
	const char *train = argc > 2 ? argv[1] : "data/banking77/train.tsv";
	const char *test = argc > 2 ? argv[2] : "data/banking77/test.tsv";
	struct nlu_dataset *tr = NULL, *te = NULL;
	if (nlu_dataset_load(train, &tr, NULL) ||
	    nlu_dataset_load(test, &te, NULL)) {
		fprintf(stderr, "bench_nlu: cannot read %s / %s\n", train,
			test);
		return 1;
	}
	const char *valid = getenv("NLU_VALID");
	if (valid) {
		/* Tune on a split of train: evaluate there, not on test. */
		nlu_dataset_destroy(te);
		te = NULL;
		if (split_valid(tr, atof(valid), &te))
			return 1;
		test = "a validation split of train";
	}
	struct nlu_train_cfg cfg;
	nlu_train_cfg_default(&cfg);
	struct nlu_emb *emb = NULL;
	if (getenv("NLU_EMB")) {
		uint32_t words =
			getenv("NLU_EMB_WORDS")
				? (uint32_t)atoi(getenv("NLU_EMB_WORDS"))
				: 0;
		size_t line = 0;
		double te0 = now_s();
		int rc = nlu_emb_load(getenv("NLU_EMB"), words, &emb, &line);
		if (rc) {
			fprintf(stderr, "bench_nlu: %s:%zu: %s\n",
				getenv("NLU_EMB"), line, strerror(-rc));
			return 1;
		}
		fprintf(stderr, "embeddings: %u words x %u in %.2f s\n", emb->n,
			emb->dim, now_s() - te0);
		nlu_train_cfg_embeddings(&cfg, emb);
	}
	struct nlu_vecs *vecs = NULL;
	const char *vecs_path = getenv("NLU_VECS");
	if (vecs_path) {
		size_t line = 0;
		int rc = nlu_vecs_load(vecs_path, &vecs, &line);
		if (rc) {
			fprintf(stderr, "bench_nlu: %s:%zu: %s\n", vecs_path,
				line, strerror(-rc));
			return 1;
		}
		size_t miss = 0;
		for (size_t i = 0; i < tr->n; i++)
			miss += !nlu_vecs_find(vecs, tr->text[i]);
		for (size_t i = 0; i < te->n; i++)
			miss += !nlu_vecs_find(vecs, te->text[i]);
		fprintf(stderr,
			"vectors: %zu x %u, %zu utterances without one\n",
			nlu_vecs_count(vecs), nlu_vecs_dim(vecs), miss);
		cfg.vecs = vecs;
		cfg.vecs_only = getenv("NLU_VECS_ONLY") ? 1 : 0;
	}
	if (getenv("NLU_EPOCHS"))
		cfg.epochs = (uint32_t)atoi(getenv("NLU_EPOCHS"));
	if (getenv("NLU_LR"))
		cfg.lr = (float)atof(getenv("NLU_LR"));
	if (getenv("NLU_L2"))
		cfg.l2 = (float)atof(getenv("NLU_L2"));
	if (getenv("NLU_DIM_BITS"))
		cfg.feat.dim_bits = (uint32_t)atoi(getenv("NLU_DIM_BITS"));
	if (getenv("NLU_REFIT"))
		cfg.refit = atoi(getenv("NLU_REFIT"));
	if (getenv("NLU_AVG"))
		cfg.average = atoi(getenv("NLU_AVG"));
	if (getenv("NLU_CHAR_MAX"))
		cfg.feat.char_max_n = (uint32_t)atoi(getenv("NLU_CHAR_MAX"));
	if (getenv("NLU_CHAR_MIN"))
		cfg.feat.char_min_n = (uint32_t)atoi(getenv("NLU_CHAR_MIN"));
	if (getenv("NLU_WORD_MAX"))
		cfg.feat.word_max_n = (uint32_t)atoi(getenv("NLU_WORD_MAX"));
	if (getenv("NLU_SVM"))
		cfg.svm = (uint32_t)atoi(getenv("NLU_SVM"));
	if (getenv("NLU_SVM_MIX"))
		cfg.svm_mix = (float)atof(getenv("NLU_SVM_MIX"));
	if (getenv("NLU_SVM_LR"))
		cfg.svm_lr = (float)atof(getenv("NLU_SVM_LR"));
	if (getenv("NLU_SVM_L2"))
		cfg.svm_l2 = (float)atof(getenv("NLU_SVM_L2"));
	if (getenv("NLU_THREADS"))
		cfg.threads = (uint32_t)atoi(getenv("NLU_THREADS"));
	if (getenv("NLU_EMB_SCALE"))
		cfg.emb_scale = (float)atof(getenv("NLU_EMB_SCALE"));
	if (getenv("NLU_MLP"))
		cfg.mlp.hidden = (uint32_t)atoi(getenv("NLU_MLP"));
	if (getenv("NLU_MLP_EPOCHS"))
		cfg.mlp.epochs = (uint32_t)atoi(getenv("NLU_MLP_EPOCHS"));
	if (getenv("NLU_MLP_LR"))
		cfg.mlp.lr = (float)atof(getenv("NLU_MLP_LR"));
	if (getenv("NLU_MLP_L2"))
		cfg.mlp.l2 = (float)atof(getenv("NLU_MLP_L2"));
	if (getenv("NLU_MLP_DROP"))
		cfg.mlp.drop_h = (float)atof(getenv("NLU_MLP_DROP"));
	if (getenv("NLU_MLP_IN_DROP"))
		cfg.mlp.drop_in = (float)atof(getenv("NLU_MLP_IN_DROP"));
	if (getenv("NLU_MLP_INIT"))
		cfg.mlp.init = (float)atof(getenv("NLU_MLP_INIT"));
	if (getenv("NLU_MLP_AVG"))
		cfg.mlp.average = atoi(getenv("NLU_MLP_AVG"));
	if (getenv("NLU_MLP_SEED"))
		cfg.mlp.seed = (uint64_t)atoll(getenv("NLU_MLP_SEED"));
	if (getenv("NLU_MLP_SEEDS"))
		cfg.mlp.ensemble = (uint32_t)atoi(getenv("NLU_MLP_SEEDS"));
	if (getenv("NLU_MLP_MIX"))
		cfg.mlp_mix = (float)atof(getenv("NLU_MLP_MIX"));
	if (getenv("NLU_MLP_ONLY"))
		cfg.mlp_only = atoi(getenv("NLU_MLP_ONLY"));
	if (getenv("NLU_VERBOSE"))
		cfg.progress = progress;

	struct nlu_model *m = NULL;
	double t0 = now_s(), c0 = cpu_s();
	if (nlu_model_train(&m, tr, &cfg)) {
		fprintf(stderr, "bench_nlu: training failed\n");
		return 1;
	}
	double train_s = now_s() - t0, train_cpu_s = cpu_s() - c0;

	uint8_t *buf = NULL;
	size_t len = 0;
	struct nlu_model *m2 = NULL;
	double load_ms = 0;
	if (!vecs) {
		if (nlu_model_save_mem(m, &buf, &len))
			return 1;
		t0 = now_s();
		if (nlu_model_load_mem(buf, len, &m2, NULL, 0))
			return 1;
		load_ms = (now_s() - t0) * 1e3;
	}

	/* Warm the caches once, then measure. */
	const struct nlu_model *me = m2 ? m2 : m;
	struct nlu_eval *e = NULL;
	if (nlu_eval_run(me, te, &e) || (nlu_eval_destroy(e), 0) ||
	    nlu_eval_run(me, te, &e))
		return 1;

	printf("nlu BANKING77: %zu train, %zu test (%s), %zu intents, "
	       "epochs %u, svm %u mix %.2f\n",
	       tr->n, te->n, test, nlu_model_nlabels(m), cfg.epochs, cfg.svm,
	       cfg.svm_mix);
	if (emb)
		printf("  embeddings      %u words x %u, scale %.2f\n", emb->n,
		       emb->dim, cfg.emb_scale);
	else if (vecs)
		printf("  vectors         %zu x %u precomputed, scale %.2f%s "
		       "(latency excludes the encoder; no model file)\n",
		       nlu_vecs_count(vecs), nlu_vecs_dim(vecs), cfg.emb_scale,
		       cfg.vecs_only ? ", alone" : "");
	else
		printf("  embeddings      none (NLU_EMB=glove.txt to use "
		       "them)\n");
	if (cfg.mlp.hidden)
		printf("  perceptron      %u ReLU, %u epochs, lr %.3f, l2 %g, "
		       "dropout %.2f (input %.2f), init %.2f, avg %d, seeds "
		       "%u, "
		       "mix %.2f%s\n",
		       cfg.mlp.hidden, cfg.mlp.epochs, cfg.mlp.lr,
		       (double)cfg.mlp.l2, cfg.mlp.drop_h, cfg.mlp.drop_in,
		       cfg.mlp.init, cfg.mlp.average,
		       cfg.mlp.ensemble ? cfg.mlp.ensemble : 1, cfg.mlp_mix,
		       cfg.mlp_only ? ", alone" : "");
	printf("  accuracy        %7.2f %%   budget >= %.1f %%  ratio %.3f\n",
	       e->accuracy * 100, BUDGET_ACC * 100, e->accuracy / BUDGET_ACC);
	printf("  macro-F1        %7.4f\n", e->macro_f1);
	printf("  ECE (15 bins)   %7.4f     (temperature %.3f)\n", e->ece,
	       nlu_model_temperature(m));
	printf("  classify p50    %7.1f us\n", e->lat_p50_us);
	printf("  classify p99    %7.1f us  budget <= %.0f us  ratio %.3f\n",
	       e->lat_p99_us, BUDGET_P99_US, e->lat_p99_us / BUDGET_P99_US);
	printf("  throughput      %7.0f utterances/s on one core\n",
	       1e6 / e->lat_mean_us);
	printf("  training        %7.2f s   budget <= %.0f s  ratio %.3f  "
	       "(CPU %.1f s)\n",
	       train_s, BUDGET_TRAIN_S, train_s / BUDGET_TRAIN_S, train_cpu_s);
	printf("  model load      %7.1f ms  budget <= %.0f ms  ratio %.3f\n",
	       load_ms, BUDGET_LOAD_MS, load_ms / BUDGET_LOAD_MS);
	bench_fig("nlu", "accuracy", e->accuracy, "ratio", ">=", BUDGET_ACC);
	bench_fig("nlu", "classify_p99", e->lat_p99_us, "us",
		  "<=", BUDGET_P99_US);
	bench_fig("nlu", "training", train_s, "s", "<=", BUDGET_TRAIN_S);
	printf("  model file      %7.2f MB\n", (double)len / 1e6);
	printf("  model memory    %7.2f MB\n",
	       (double)nlu_model_mem_bytes(me) / 1e6);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("  peak RSS        %7.1f MB  (whole run: data, training, two "
	       "models)\n",
	       (double)ru.ru_maxrss / 1e3);
	nlu_eval_destroy(e);
	free(buf);
	nlu_model_destroy(m);
	nlu_model_destroy(m2);
	nlu_dataset_destroy(tr);
	nlu_dataset_destroy(te);
	nlu_emb_destroy(emb);
	nlu_vecs_destroy(vecs);
	return 0;
}
