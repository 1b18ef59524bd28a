/* NLU evaluation: accuracy, macro-F1, per-intent precision/recall, top
 * confusions, expected calibration error and classify latency of a model on
 * a labelled dataset; printed as text or JSON by the CLI and the benchmark. */
#ifndef VG_ENGINES_NLU_EVAL_H
#define VG_ENGINES_NLU_EVAL_H

#include <stdio.h>

#include "engines/nlu/classifier.h"

#define NLU_ECE_BINS 15

struct nlu_eval {
	size_t n, correct;
	double accuracy, macro_f1, ece;
	double lat_p50_us, lat_p99_us, lat_mean_us;
	uint32_t nlabels;
	uint32_t *tp, *fp, *fn;
	uint32_t *confusion; /* [gold * nlabels + predicted] */
	size_t unknown;	     /* examples whose label the model lacks */
};

/* Classifies every example of ds (borrowed) with m (borrowed), timing each
 * call. *out is new, owned by the caller. 0, -EINVAL or -ENOMEM. */
int nlu_eval_run(const struct nlu_model *m, const struct nlu_dataset *ds,
		 struct nlu_eval **out);
void nlu_eval_destroy(struct nlu_eval *e);

/* Prints the report: text (per-intent table and top confusions) or one JSON
 * object with accuracy, macro_f1, ece, latency_us {p50, p99, mean}, n,
 * per_intent and confusions. */
void nlu_eval_print(const struct nlu_eval *e, const struct nlu_model *m,
		    FILE *f, int json);

/* Prints s as a JSON string (quotes, escapes): labels come from user
 * training files. */
void nlu_json_str_print(FILE *f, const char *s);

#endif
