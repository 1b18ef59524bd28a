/* Internal layout of struct nlu_model, shared by the classifier (train,
 * classify) and the model file reader/writer. Not part of the API. */
#ifndef VG_ENGINES_NLU_MODEL_PRIV_H
#define VG_ENGINES_NLU_MODEL_PRIV_H

#include "engines/nlu/classifier.h"
#include "engines/nlu/embed.h"

/* Only hashed features seen in training get a row: the weights stay compact
 * (rows x nlabels) whatever the hash space, and unseen features are dropped
 * before normalisation, like a vocabulary. */
struct nlu_model {
	struct nlu_feat_cfg feat;
	uint32_t nlabels;
	char **labels;
	float temperature;
	float oos_threshold;
	uint32_t nrows;
	int32_t *row_of;   /* 2^dim_bits entries: row or -1 */
	uint32_t *row_idx; /* nrows: hashed index of each row, increasing */
	float *idf;	   /* nrows */
	/* Optional word embeddings (model version 2): the sentence vector,
	 * times emb_scale, is appended as edim = emb->dim dense features
	 * whose weights are the rows after the hashed ones. */
	struct nlu_emb *emb; /* owned, or NULL (edim 0) */
	uint32_t edim;
	float emb_scale;
	/* Experiment only (nlu_train_cfg.vecs): precomputed sentence vectors
	 * in place of emb (borrowed; such a model cannot be saved), the
	 * n-grams dropped with vecs_only. */
	const struct nlu_vecs *vecs;
	int vecs_only;
	/* Optional perceptron (nlu_train_cfg.mlp, model version 3) whose
	 * logits, times mlp_mix, join the linear ones (owned, or NULL);
	 * mlp_only: the linear weights are unused. */
	struct nlu_mlp *mlp;
	float mlp_mix;
	int mlp_only;
	float *w; /* (nrows + edim) * nlabels, row-major */
	float *b; /* nlabels */
};

/* Allocates a zeroed model with the given shape (labels unset). */
int nlu_model_alloc(struct nlu_model **out, const struct nlu_feat_cfg *feat,
		    uint32_t nlabels, uint32_t nrows, uint32_t edim);
/* Fills row_of from row_idx. Returns 0 or -EBADMSG (not increasing / out of
 * range). */
int nlu_model_index_rows(struct nlu_model *m);
int nlu_feat_cfg_check(const struct nlu_feat_cfg *c);

#endif
