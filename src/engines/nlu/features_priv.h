/* Internal feature helpers shared by training and classification. */
#ifndef VG_ENGINES_NLU_FEATURES_PRIV_H
#define VG_ENGINES_NLU_FEATURES_PRIV_H

#include "engines/nlu/classifier.h"

/* Sorted distinct hashed indices of text with raw counts in val. */
int nlu_features_count(const struct nlu_feat_cfg *cfg, const char *text,
		       struct nlu_fvec *out);
/* Counts -> (1 + log tf) * idf[i] (parallel to v, NULL: 1), L2-normalised. */
void nlu_fvec_weight(struct nlu_fvec *v, const float *idf);
/* Features as model rows (idx = row), unseen hashes dropped, weighted. */
int nlu_features_model(const struct nlu_model *m, const char *text,
		       struct nlu_fvec *out);

#endif
