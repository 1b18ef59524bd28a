/* Hashed n-gram features for the intent classifier: word 1..n-grams and char
 * n-grams inside "<word>", counted, then sublinear-TF x IDF and L2-normalised.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engines/nlu/features_priv.h"
#include "engines/nlu/normalize.h"
#include "engines/nlu/model_priv.h"

#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

/* Distinct seeds keep word and char n-grams apart in the shared space. */
enum { SEED_WORD = 0x9e3779b9u, SEED_CHAR = 0x85ebca6bu };

static uint32_t fnv_step(uint32_t h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= FNV_PRIME;
	}
	return h;
}

/* FNV's low bits are weak; the murmur3 finaliser spreads them before the
 * power-of-two mask. */
static uint32_t fmix(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

uint32_t nlu_feature_hash(uint32_t seed, const char *s, size_t len)
{
	return fmix(fnv_step(FNV_OFFSET ^ seed, s, len));
}

int nlu_feat_cfg_check(const struct nlu_feat_cfg *c)
{
	if (!c || c->dim_bits < 10 || c->dim_bits > 22 || c->word_max_n > 3)
		return -EINVAL;
	if (c->canon > 1)
		return -EINVAL;
	if (c->char_min_n == 0 && c->char_max_n == 0)
		return c->word_max_n ? 0 : -EINVAL;
	if (c->char_min_n < 1 || c->char_max_n < c->char_min_n ||
	    c->char_max_n > 8)
		return -EINVAL;
	return 0;
}

static void sift_down(uint32_t *a, size_t i, size_t n)
{
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			return;
		if (c + 1 < n && a[c + 1] > a[c])
			c++;
		if (a[i] >= a[c])
			return;
		uint32_t t = a[i];
		a[i] = a[c];
		a[c] = t;
		i = c;
	}
}

/* In-place heapsort: glibc's qsort may malloc a merge buffer for arrays over
 * 1 KB, and classification must not allocate. */
static void sort_u32(uint32_t *a, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(a, i, n);
	for (size_t end = n; end > 1; end--) {
		uint32_t t = a[0];
		a[0] = a[end - 1];
		a[end - 1] = t;
		sift_down(a, 0, end - 1);
	}
}

static void add(struct nlu_fvec *o, uint32_t h, uint32_t mask)
{
	/* Past the cap (only a pathological 1 KB utterance) extra n-grams are
	 * dropped rather than failing the whole request. */
	if (o->n < NLU_FEATS_MAX)
		o->idx[o->n++] = h & mask;
}

int nlu_features_tokens(const struct nlu_feat_cfg *cfg, const char *text,
			struct nlu_tokens *out)
{
	if (!cfg || !cfg->canon)
		return nlu_tokenize(text, out);
	struct nlu_tokens raw;
	if (nlu_tokenize(text, &raw))
		return -EINVAL;
	return nlu_normalize_tokens(&raw, out);
}

int nlu_features_count(const struct nlu_feat_cfg *cfg, const char *text,
		       struct nlu_fvec *out)
{
	struct nlu_tokens t;
	if (nlu_feat_cfg_check(cfg) || !out ||
	    nlu_features_tokens(cfg, text, &t))
		return -EINVAL;
	uint32_t mask = (1u << cfg->dim_bits) - 1;
	out->n = 0;

	for (size_t i = 0; i < t.n; i++) {
		for (size_t n = 1; n <= cfg->word_max_n && i + n <= t.n; n++) {
			uint32_t h = FNV_OFFSET ^ SEED_WORD ^ (uint32_t)n;
			for (size_t k = 0; k < n; k++) {
				if (k)
					h = fnv_step(h, " ", 1);
				h = fnv_step(h, nlu_tokens_get(&t, i + k),
					     t.len[i + k]);
			}
			add(out, fmix(h), mask);
		}
		if (!cfg->char_min_n)
			continue;
		char pad[NLU_TOKEN_LEN_MAX + 2];
		size_t plen = (size_t)t.len[i] + 2;
		pad[0] = '<';
		memcpy(pad + 1, nlu_tokens_get(&t, i), t.len[i]);
		pad[plen - 1] = '>';
		for (size_t n = cfg->char_min_n; n <= cfg->char_max_n; n++) {
			for (size_t s = 0; s + n <= plen; s++)
				add(out,
				    nlu_feature_hash(SEED_CHAR, pad + s, n),
				    mask);
		}
	}

	/* Sort, then merge duplicates into counts. */
	sort_u32(out->idx, out->n);
	size_t w = 0;
	for (size_t i = 0; i < out->n; i++) {
		if (w && out->idx[w - 1] == out->idx[i]) {
			out->val[w - 1] += 1.0f;
			continue;
		}
		out->idx[w] = out->idx[i];
		out->val[w] = 1.0f;
		w++;
	}
	out->n = w;
	return 0;
}

void nlu_fvec_weight(struct nlu_fvec *v, const float *idf)
{
	double ss = 0;
	for (size_t i = 0; i < v->n; i++) {
		float x = 1.0f + logf(v->val[i]);
		if (idf)
			x *= idf[i];
		v->val[i] = x;
		ss += (double)x * x;
	}
	if (ss <= 0)
		return;
	float inv = (float)(1.0 / sqrt(ss));
	for (size_t i = 0; i < v->n; i++)
		v->val[i] *= inv;
}

int nlu_features_extract(const struct nlu_feat_cfg *cfg, const float *idf,
			 const char *text, struct nlu_fvec *out)
{
	int err = nlu_features_count(cfg, text, out);
	if (err)
		return err;
	if (!idf) {
		nlu_fvec_weight(out, NULL);
		return 0;
	}
	float tmp[NLU_FEATS_MAX];
	for (size_t i = 0; i < out->n; i++)
		tmp[i] = idf[out->idx[i]];
	nlu_fvec_weight(out, tmp);
	return 0;
}

int nlu_features_model(const struct nlu_model *m, const char *text,
		       struct nlu_fvec *out)
{
	int err = nlu_features_count(&m->feat, text, out);
	if (err)
		return err;
	/* Map hashes to model rows, dropping features unseen in training, and
	 * weight in place (idx becomes the row number). */
	size_t w = 0;
	double ss = 0;
	for (size_t i = 0; i < out->n; i++) {
		int32_t r = m->row_of[out->idx[i]];
		if (r < 0)
			continue;
		float x = (1.0f + logf(out->val[i])) * m->idf[r];
		out->idx[w] = (uint32_t)r;
		out->val[w] = x;
		ss += (double)x * x;
		w++;
	}
	/* Room for the dense part (a pathological 1 KB utterance only). */
	if ((m->emb || m->vecs) && w > NLU_FEATS_MAX - m->edim)
		w = NLU_FEATS_MAX - m->edim;
	if (m->vecs_only)
		w = 0;
	out->n = w;
	if (ss > 0) {
		float inv = (float)(1.0 / sqrt(ss));
		for (size_t i = 0; i < w; i++)
			out->val[i] *= inv;
	}
	const float *pv = nlu_vecs_find(m->vecs, text);
	for (uint32_t d = 0; pv && d < m->edim; d++) {
		out->idx[out->n] = m->nrows + d;
		out->val[out->n++] = m->emb_scale * pv[d];
	}
	if (m->emb) {
		struct nlu_tokens t;
		float sent[NLU_EMB_DIM_MAX];
		if (nlu_features_tokens(&m->feat, text, &t) == 0 &&
		    nlu_emb_sentence(m->emb, &t, sent)) {
			for (uint32_t d = 0; d < m->edim; d++) {
				out->idx[out->n] = m->nrows + d;
				out->val[out->n++] = m->emb_scale * sent[d];
			}
		}
	}
	return 0;
}
