/* Intent classifier: hashed word 1-2-gram and char 3-5-gram features with
 * sublinear TF-IDF, multinomial logistic regression trained by Adagrad with a
 * fixed seed, temperature-scaled probabilities and an out-of-scope threshold.
 * A model is immutable after training or loading: classify from any thread. */
#ifndef VG_ENGINES_NLU_CLASSIFIER_H
#define VG_ENGINES_NLU_CLASSIFIER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "engines/nlu/asrnoise.h"
#include "engines/nlu/embed.h"
#include "engines/nlu/mlp.h"
#include "engines/nlu/tokenize.h"
#include "engines/nlu/vecs.h"

#define NLU_LABELS_MAX 1024
#define NLU_LABEL_LEN_MAX 64
#define NLU_TOPK 5
/* Distinct hashed features of one utterance (bounded by NLU_TEXT_MAX). */
#define NLU_FEATS_MAX 4096
/* Training set caps: examples and total text bytes. */
#define NLU_EXAMPLES_MAX 1000000
#define NLU_DATA_BYTES_MAX (256u << 20)

/* Feature configuration; stored in the model file. */
struct nlu_feat_cfg {
	uint32_t dim_bits;   /* hashed feature space is 2^dim_bits (10..22) */
	uint32_t word_max_n; /* word n-grams 1..word_max_n (0..3) */
	uint32_t char_min_n; /* char n-grams within "<word>", 0 = none */
	uint32_t char_max_n;
	/* 1: tokens in canonical spellings first (nlu_normalize_tokens:
	 * "cheque" -> "check", "1" -> "one", fillers dropped); model flag
	 * bit 0. */
	uint32_t canon;
};

/* One utterance's features: sorted distinct indices, TF-IDF values. */
struct nlu_fvec {
	uint32_t idx[NLU_FEATS_MAX];
	float val[NLU_FEATS_MAX];
	size_t n;
};

/* Losses of the linear models (the second, optional one is an SVM). */
enum nlu_loss {
	NLU_LOSS_NONE = 0,
	NLU_LOSS_SOFTMAX, /* multinomial logistic regression */
	NLU_LOSS_CS,	  /* Crammer-Singer multiclass squared hinge */
	NLU_LOSS_OVR,	  /* one-vs-rest squared hinge */
};

struct nlu_train_cfg {
	struct nlu_feat_cfg feat;
	uint32_t epochs;
	float lr;	     /* Adagrad step */
	float l2;	     /* L2 penalty on the weights touched by a step */
	uint64_t seed;	     /* shuffling and the calibration split */
	float holdout;	     /* fraction of train held out to fit temperature */
	int refit;	     /* 1: after calibration, retrain on all data */
	float oos_threshold; /* top confidence below this is out of scope */
	int average;	     /* 1: average weights over the later epochs */
	/* Optional second model on the same features, trained alongside:
	 * NLU_LOSS_CS or NLU_LOSS_OVR (NONE: LR only). The stored weights are
	 * LR + svm_mix * SVM. */
	uint32_t svm;
	float svm_mix;
	float svm_lr, svm_l2;
	/* 2: fit the LR and the SVM side by side, and with the refit the
	 * calibration and final models too (also without the SVM): progress
	 * is then called from two threads. 1: one after the other; the
	 * model is the same. */
	uint32_t threads;
	/* Optional pretrained word embeddings (borrowed; the model keeps a
	 * copy): their sentence vector, times emb_scale, joins the features
	 * (docs/NLU.md). NULL: n-grams only. */
	const struct nlu_emb *emb;
	float emb_scale;
	/* Experiment only (engines/nlu/vecs.h, bench_nlu NLU_VECS):
	 * precomputed sentence vectors looked up by the exact text (borrowed;
	 * the model borrows them too, so they must outlive it, and it cannot
	 * be saved), appended times emb_scale like the embeddings' sentence
	 * vector. vecs_only 1 drops the n-grams (the vector alone). Not with
	 * emb. */
	const struct nlu_vecs *vecs;
	int vecs_only;
	/* Optional (engines/nlu/mlp.h, bench_nlu NLU_MLP; off by default):
	 * a one-hidden-layer perceptron on the same features (mlp.hidden > 0
	 * turns it on), its logits times mlp_mix added to the linear
	 * model's; mlp_only 1 drops the linear model. The temperature is
	 * fitted on the sum. Stored in model file version 3. Not with
	 * noise_copies. */
	struct nlu_mlp_cfg mlp;
	float mlp_mix;
	int mlp_only;
	/* Optional ASR-noise augmentation (borrowed confusion table, must
	 * outlive the training): noise_copies noisy copies of every example
	 * (nlu_asrnoise_apply at noise_rates, seeded from seed and the
	 * example's index) join the training set. The calibration split is
	 * drawn over the original examples and the calibration model trains
	 * without the held-out examples' copies, so the temperature is fitted
	 * on clean text the model never saw in any form. NULL or 0 copies:
	 * none (at most NLU_ASRNOISE_COPIES_MAX). */
	const struct nlu_asrnoise *noise;
	uint32_t noise_copies;
	struct nlu_asrnoise_rates noise_rates;
	/* Progress per epoch (may be NULL): pass 0 = calibration model,
	 * 1 = final model. */
	void (*progress)(void *arg, int pass, uint32_t epoch, uint32_t epochs,
			 double loss);
	void *progress_arg;
};

/* Labelled examples (owns its strings). */
struct nlu_dataset {
	char **text;
	uint32_t *label; /* index into labels */
	size_t n;
	char **labels;
	size_t nlabels;
};

struct nlu_model;

struct nlu_intent {
	const char *intent; /* borrowed from the model */
	uint32_t label;
	float confidence; /* calibrated probability */
};

struct nlu_result {
	struct nlu_intent top[NLU_TOPK]; /* best first */
	size_t n;
	int out_of_scope; /* top[0].confidence < the model's threshold */
};

enum nlu_match {
	NLU_MATCH_NONE = 0,
	NLU_MATCH_LOW,
	NLU_MATCH_HIGH,
};

void nlu_train_cfg_default(struct nlu_train_cfg *cfg);
/* The measured configuration with word embeddings e (borrowed; must
 * outlive the training): e's sentence vectors at emb_scale 2, plus the
 * Crammer-Singer SVM ensemble (docs/NLU.md). */
void nlu_train_cfg_embeddings(struct nlu_train_cfg *cfg,
			      const struct nlu_emb *e);

/* Parses `label<TAB>text` lines (blank lines and lines starting with '#'
 * skipped; labels in order of first appearance). On success *out is a new
 * dataset owned by the caller. -EBADMSG on a line without a tab, an empty
 * label or text, a label longer than NLU_LABEL_LEN_MAX or more than
 * NLU_LABELS_MAX labels (*line set to the 1-based line when not NULL);
 * -E2BIG over the caps; -ENOMEM. */
int nlu_dataset_parse(const char *buf, size_t len, struct nlu_dataset **out,
		      size_t *line);
/* Reads and parses a file (same errors, plus -errno from the file). */
int nlu_dataset_load(const char *path, struct nlu_dataset **out, size_t *line);
void nlu_dataset_destroy(struct nlu_dataset *ds);

/* Trains a model on ds (borrowed). Deterministic: the same data and cfg give
 * a bit-identical model. *out is a new model owned by the caller. -EINVAL
 * (bad cfg, fewer than 2 labels), -ENOMEM. Blocks for seconds: never on a
 * media loop. */
int nlu_model_train(struct nlu_model **out, const struct nlu_dataset *ds,
		    const struct nlu_train_cfg *cfg);
void nlu_model_destroy(struct nlu_model *m);

/* Classifies text: up to NLU_TOPK intents, best first, with calibrated
 * confidences. No allocation (about 40 KB of stack). Any thread.
 * Returns 0 or -EINVAL. */
int nlu_classify(const struct nlu_model *m, const char *text,
		 struct nlu_result *out);

/* Full probability vector (nlabels floats) for text; for evaluation. */
int nlu_classify_probs(const struct nlu_model *m, const char *text,
		       float *probs, size_t nprobs);

/* How a flow reads a confidence: >= high is HIGH, >= low is LOW, else NONE
 * (no match). */
enum nlu_match nlu_match_level(float confidence, float high, float low);

size_t nlu_model_nlabels(const struct nlu_model *m);
const char *nlu_model_label(const struct nlu_model *m, size_t i);
/* Index of a label name, or -ENOENT. */
int nlu_model_label_find(const struct nlu_model *m, const char *name);
float nlu_model_temperature(const struct nlu_model *m);
float nlu_model_oos_threshold(const struct nlu_model *m);
void nlu_model_set_oos_threshold(struct nlu_model *m, float threshold);
const struct nlu_feat_cfg *nlu_model_feat_cfg(const struct nlu_model *m);
/* Bytes of memory the model holds. */
size_t nlu_model_mem_bytes(const struct nlu_model *m);

/* The tokens features are computed from: nlu_tokenize, then with
 * cfg->canon nlu_normalize_tokens. 0 or -EINVAL. */
int nlu_features_tokens(const struct nlu_feat_cfg *cfg, const char *text,
			struct nlu_tokens *out);
/* Features of text under cfg with idf (NULL: all 1), L2-normalised.
 * Returns 0 or -EINVAL. */
int nlu_features_extract(const struct nlu_feat_cfg *cfg, const float *idf,
			 const char *text, struct nlu_fvec *out);
/* The feature hash (FNV-1a), exposed for tests. */
uint32_t nlu_feature_hash(uint32_t seed, const char *s, size_t len);

/* Model files (docs/NLU.md): versioned header, feature config, labels,
 * temperature, threshold, idf, weights, CRC-32. */
#define NLU_MODEL_MAGIC "VXNLUMDL"
/* Header flags: bit 0, tokens in canonical spellings (feat.canon). */
#define NLU_MODEL_FLAG_CANON 1u
/* Version 2 adds the word embeddings, version 3 the perceptron (written
 * only for a model that has one); version 1 and 2 files still load. */
#define NLU_MODEL_VERSION 3
/* Refuse larger files before reading them. */
#define NLU_MODEL_BYTES_MAX (512u << 20)

/* Serialises m into a new malloc'd buffer (*buf, *len owned by the caller).
 * Returns 0, -ENOMEM, or -ENOTSUP for a model trained with precomputed
 * vectors (nlu_train_cfg.vecs). */
int nlu_model_save_mem(const struct nlu_model *m, uint8_t **buf, size_t *len);
/* Writes m to path (atomically: temp file + rename). 0 or -errno. */
int nlu_model_save(const struct nlu_model *m, const char *path);
/* Parses a model from buf (borrowed). Errors: -EBADMSG truncated, corrupt
 * (checksum), foreign (magic) or inconsistent; -EPROTO written by a newer
 * version; -ENOMEM. A message for the user goes to err (may be NULL). */
int nlu_model_load_mem(const uint8_t *buf, size_t len, struct nlu_model **out,
		       char *err, size_t errlen);
/* Reads a model file: as nlu_model_load_mem, plus -errno, -EFBIG. */
int nlu_model_load(const char *path, struct nlu_model **out, char *err,
		   size_t errlen);

/* CRC-32 (IEEE 802.3), exposed for tests that forge files. */
uint32_t nlu_crc32(uint32_t crc, const uint8_t *p, size_t len);

#endif
