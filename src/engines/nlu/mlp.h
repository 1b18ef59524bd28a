/* Optional (docs/NLU.md, "A perceptron beside the linear model"): a
 * one-hidden-layer perceptron over the classifier's sparse features,
 * trained beside the logistic regression and added to its logits
 * (nlu_train_cfg.mlp, `voxgate nlu train --mlp H`). Sparse
 * forward and backward: a step touches only the first-layer rows of the
 * example's active features. Deterministic for a given seed. A trained
 * network is immutable: read it from any thread. */
#ifndef VG_ENGINES_NLU_MLP_H
#define VG_ENGINES_NLU_MLP_H

#include <stddef.h>
#include <stdint.h>

/* Caps: hidden units (of the whole ensemble), networks in an ensemble. */
#define NLU_MLP_HIDDEN_MAX 4096
#define NLU_MLP_ENSEMBLE_MAX 8

struct nlu_mlp_cfg {
	uint32_t hidden; /* ReLU units (1..NLU_MLP_HIDDEN_MAX) */
	uint32_t epochs;
	float lr;      /* Adagrad step */
	float l2;      /* on the weights a step touches */
	float drop_h;  /* dropout on the hidden layer, [0, 0.9] */
	float drop_in; /* dropout on the input features, [0, 0.9] */
	float init;    /* first-layer weights uniform in +-init */
	int average;   /* 1: weights averaged over the later half epochs */
	uint64_t seed;
	/* 0 or 1: one network; N: N networks of other seeds whose mean
	 * logits are kept as one network of N x hidden units. */
	uint32_t ensemble;
};

/* Training examples in CSR form: example i has features
 * idx[off[i]..off[i+1]) (input rows < nin) with values val[..], label y[i]
 * (< k). Borrowed. */
struct nlu_mlp_data {
	const size_t *off;
	const uint32_t *idx;
	const float *val;
	const uint32_t *y;
};

struct nlu_mlp {
	uint32_t nin, nh, k;
	float *w1; /* nin x nh, row-major: the row of input feature f */
	float *b1; /* nh */
	float *w2; /* nh x k */
	float *b2; /* k */
};

void nlu_mlp_cfg_default(struct nlu_mlp_cfg *cfg);

/* Trains on the examples order[0..n) of x (softmax cross-entropy). *out is
 * new, owned by the caller. -EINVAL (bad cfg or shape), -ENOMEM. With
 * cfg->ensemble N > 1 the N networks train one after the other. */
int nlu_mlp_train(struct nlu_mlp **out, const struct nlu_mlp_data *x,
		  const uint32_t *order, size_t n, uint32_t nin, uint32_t k,
		  const struct nlu_mlp_cfg *cfg);
void nlu_mlp_destroy(struct nlu_mlp *m);
/* A network from its weights (the model file reader): w holds w1, b1, w2,
 * b2 back to back (nin*nh + nh + nh*k + k floats, copied). -EINVAL (nh 0
 * or over NLU_MLP_HIDDEN_MAX, k 0), -ENOMEM. */
int nlu_mlp_create(struct nlu_mlp **out, uint32_t nin, uint32_t nh, uint32_t k,
		   const float *w);

/* z[0..k) += scale * logits of the sparse input (idx < nin, val), no
 * dropout. Allocates nothing (NLU_MLP_HIDDEN_MAX floats of stack). */
void nlu_mlp_add_logits(const struct nlu_mlp *m, const uint32_t *idx,
			const float *val, size_t n, float scale, float *z);

size_t nlu_mlp_mem_bytes(const struct nlu_mlp *m);

#endif
