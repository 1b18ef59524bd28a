/* Benchmark: the NLU intent classifier on BANKING77 (train, evaluate, time).
 * usage: bench_nlu [train.tsv test.tsv]; defaults to data/banking77/ under the
 * current directory (bench/run.sh runs it from the repo root). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "engines/nlu/classifier.h"
#include "engines/nlu/eval.h"

#define BUDGET_ACC 0.937
#define BUDGET_P99_US 1000.0
#define BUDGET_TRAIN_S 60.0
#define BUDGET_LOAD_MS 100.0

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
	struct nlu_train_cfg cfg;
	nlu_train_cfg_default(&cfg);
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
	if (getenv("NLU_VERBOSE"))
		cfg.progress = progress;

	struct nlu_model *m = NULL;
	double t0 = now_s();
	if (nlu_model_train(&m, tr, &cfg)) {
		fprintf(stderr, "bench_nlu: training failed\n");
		return 1;
	}
	double train_s = now_s() - t0;

	uint8_t *buf = NULL;
	size_t len = 0;
	struct nlu_model *m2 = NULL;
	if (nlu_model_save_mem(m, &buf, &len))
		return 1;
	t0 = now_s();
	if (nlu_model_load_mem(buf, len, &m2, NULL, 0))
		return 1;
	double load_ms = (now_s() - t0) * 1e3;

	/* Warm the caches once, then measure. */
	struct nlu_eval *e = NULL;
	if (nlu_eval_run(m2, te, &e) || (nlu_eval_destroy(e), 0) ||
	    nlu_eval_run(m2, te, &e))
		return 1;

	printf("nlu BANKING77: %zu train, %zu test, %zu intents, epochs %u\n",
	       tr->n, te->n, nlu_model_nlabels(m), cfg.epochs);
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
	printf("  training        %7.2f s   budget <= %.0f s  ratio %.3f\n",
	       train_s, BUDGET_TRAIN_S, train_s / BUDGET_TRAIN_S);
	printf("  model load      %7.1f ms  budget <= %.0f ms  ratio %.3f\n",
	       load_ms, BUDGET_LOAD_MS, load_ms / BUDGET_LOAD_MS);
	printf("  model file      %7.2f MB\n", (double)len / 1e6);
	printf("  model memory    %7.2f MB\n",
	       (double)nlu_model_mem_bytes(m2) / 1e6);
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
	return 0;
}
