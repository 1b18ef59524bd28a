/* One-hidden-layer perceptron over sparse features (see mlp.h): Adagrad,
 * inverted dropout, Polyak averaging, all seeded. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engines/nlu/mlp.h"
#include "engines/nlu/rng_priv.h"

void nlu_mlp_cfg_default(struct nlu_mlp_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	/* The configuration chosen on BANKING77's validation splits
	 * (docs/NLU.md, "A perceptron beside the linear model"). */
	cfg->hidden = 256;
	cfg->epochs = 10;
	cfg->lr = 0.05f;
	cfg->l2 = 0;
	cfg->drop_h = 0.5f;
	cfg->drop_in = 0.2f;
	cfg->init = 0.1f;
	cfg->average = 1;
	cfg->seed = 0x6d6c70ull;
}

/* Uniform in [0, 1) from 24 bits. */
static float rng_unit(uint64_t *s)
{
	return (float)(nlu_rng_next(s) >> 40) * (1.0f / 16777216.0f);
}

void nlu_mlp_destroy(struct nlu_mlp *m)
{
	if (!m)
		return;
	free(m->w1);
	free(m->b1);
	free(m->w2);
	free(m->b2);
	free(m);
}

size_t nlu_mlp_mem_bytes(const struct nlu_mlp *m)
{
	if (!m)
		return 0;
	return sizeof(*m) + 4 * ((size_t)m->nin * m->nh + m->nh +
				 (size_t)m->nh * m->k + m->k);
}

static struct nlu_mlp *mlp_alloc(uint32_t nin, uint32_t nh, uint32_t k)
{
	struct nlu_mlp *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->nin = nin;
	m->nh = nh;
	m->k = k;
	size_t n1 = (size_t)nin * nh;
	m->w1 = calloc(n1 ? n1 : 1, sizeof(float));
	m->b1 = calloc(nh, sizeof(float));
	m->w2 = calloc((size_t)nh * k, sizeof(float));
	m->b2 = calloc(k, sizeof(float));
	if (!m->w1 || !m->b1 || !m->w2 || !m->b2) {
		nlu_mlp_destroy(m);
		return NULL;
	}
	return m;
}

int nlu_mlp_create(struct nlu_mlp **out, uint32_t nin, uint32_t nh, uint32_t k,
		   const float *w)
{
	if (!out || !w || !nh || nh > NLU_MLP_HIDDEN_MAX || !k)
		return -EINVAL;
	struct nlu_mlp *m = mlp_alloc(nin, nh, k);
	if (!m)
		return -ENOMEM;
	size_t n1 = (size_t)nin * nh, n2 = (size_t)nh * k;
	memcpy(m->w1, w, n1 * sizeof(float));
	memcpy(m->b1, w + n1, nh * sizeof(float));
	memcpy(m->w2, w + n1 + nh, n2 * sizeof(float));
	memcpy(m->b2, w + n1 + nh + n2, k * sizeof(float));
	*out = m;
	return 0;
}

/* In-place softmax; returns -log p[y]. */
static double softmax_nll(float *z, uint32_t k, uint32_t y)
{
	float mx = z[0];
	for (uint32_t c = 1; c < k; c++)
		mx = z[c] > mx ? z[c] : mx;
	double sum = 0;
	for (uint32_t c = 0; c < k; c++) {
		z[c] = expf(z[c] - mx);
		sum += z[c];
	}
	for (uint32_t c = 0; c < k; c++)
		z[c] = (float)(z[c] / sum);
	return -log(z[y] > 1e-30f ? (double)z[y] : 1e-30);
}

static inline void adagrad(float *restrict w, float *restrict g2, float g,
			   float lr)
{
	*g2 += g * g;
	*w -= lr * g / sqrtf(*g2 + 1e-8f);
}

/* Everything one training run owns besides the network. */
struct mlp_state {
	float *g1, *gb1, *g2, *gb2; /* Adagrad accumulators */
	float *a1, *ab1, *a2, *ab2; /* averaging sums, or NULL */
	uint32_t *ord;
	uint32_t *kept; /* positions of the kept input features */
	float *kval;
};

static void state_free(struct mlp_state *s)
{
	free(s->g1);
	free(s->gb1);
	free(s->g2);
	free(s->gb2);
	free(s->a1);
	free(s->ab1);
	free(s->a2);
	free(s->ab2);
	free(s->ord);
	free(s->kept);
	free(s->kval);
}

static void accumulate(float *a, const float *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		a[i] += w[i];
}

static void average_into(float *w, const float *a, size_t n, float inv)
{
	for (size_t i = 0; i < n; i++)
		w[i] = a[i] * inv;
}

static int train_one(struct nlu_mlp **out, const struct nlu_mlp_data *x,
		     const uint32_t *order, size_t n, uint32_t nin, uint32_t k,
		     const struct nlu_mlp_cfg *cfg)
{
	const uint32_t nh = cfg->hidden;
	const size_t n1 = (size_t)nin * nh, n2 = (size_t)nh * k;
	size_t maxf = 1;
	for (size_t s = 0; s < n; s++) {
		uint32_t i = order[s];
		size_t nf = x->off[i + 1] - x->off[i];
		maxf = nf > maxf ? nf : maxf;
		if (x->y[i] >= k)
			return -EINVAL;
		for (size_t f = x->off[i]; f < x->off[i + 1]; f++) {
			if (x->idx[f] >= nin)
				return -EINVAL;
		}
	}
	struct nlu_mlp *m = mlp_alloc(nin, nh, k);
	struct mlp_state st = { 0 };
	float *h = malloc(nh * sizeof(*h));
	float *dh = malloc(nh * sizeof(*dh));
	uint32_t *act = malloc(nh * sizeof(*act));
	float *z = malloc(k * sizeof(*z));
	int err = -ENOMEM;
	if (!m || !h || !dh || !act || !z)
		goto out;
	st.g1 = calloc(n1 ? n1 : 1, sizeof(float));
	st.gb1 = calloc(nh, sizeof(float));
	st.g2 = calloc(n2, sizeof(float));
	st.gb2 = calloc(k, sizeof(float));
	st.ord = malloc((n ? n : 1) * sizeof(*st.ord));
	st.kept = malloc(maxf * sizeof(*st.kept));
	st.kval = malloc(maxf * sizeof(*st.kval));
	if (!st.g1 || !st.gb1 || !st.g2 || !st.gb2 || !st.ord || !st.kept ||
	    !st.kval)
		goto out;
	if (cfg->average) {
		st.a1 = calloc(n1 ? n1 : 1, sizeof(float));
		st.ab1 = calloc(nh, sizeof(float));
		st.a2 = calloc(n2, sizeof(float));
		st.ab2 = calloc(k, sizeof(float));
		if (!st.a1 || !st.ab1 || !st.a2 || !st.ab2)
			goto out;
	}
	memcpy(st.ord, order, n * sizeof(*order));

	uint64_t rs = cfg->seed ^ 0x6d6c70696e6974ull;
	for (size_t i = 0; i < n1; i++)
		m->w1[i] = (2.0f * rng_unit(&rs) - 1.0f) * cfg->init;
	float a2 = sqrtf(6.0f / (float)(nh + k));
	for (size_t i = 0; i < n2; i++)
		m->w2[i] = (2.0f * rng_unit(&rs) - 1.0f) * a2;

	const float lr = cfg->lr, l2 = cfg->l2;
	const float keep_h = 1.0f - cfg->drop_h, keep_in = 1.0f - cfg->drop_in;
	const float hs = 1.0f / keep_h, is = 1.0f / keep_in;
	uint32_t avg_from = cfg->average ? cfg->epochs / 2 : cfg->epochs;
	for (uint32_t ep = 0; ep < cfg->epochs; ep++) {
		nlu_shuffle(st.ord, n, &rs);
		for (size_t s = 0; s < n; s++) {
			uint32_t i = st.ord[s];
			const uint32_t *idx = x->idx + x->off[i];
			const float *val = x->val + x->off[i];
			size_t nf = x->off[i + 1] - x->off[i], nk = 0;
			for (size_t f = 0; f < nf; f++) {
				if (keep_in < 1.0f && rng_unit(&rs) >= keep_in)
					continue;
				st.kept[nk] = idx[f];
				st.kval[nk++] = val[f] * is;
			}
			/* forward */
			memcpy(h, m->b1, nh * sizeof(*h));
			for (size_t f = 0; f < nk; f++) {
				const float *restrict row =
					m->w1 + (size_t)st.kept[f] * nh;
				float v = st.kval[f];
				for (uint32_t j = 0; j < nh; j++)
					h[j] += v * row[j];
			}
			uint32_t na = 0;
			for (uint32_t j = 0; j < nh; j++) {
				int on = h[j] > 0;
				if (keep_h < 1.0f && rng_unit(&rs) >= keep_h)
					on = 0;
				if (on) {
					h[j] *= hs;
					act[na++] = j;
				}
			}
			memcpy(z, m->b2, k * sizeof(*z));
			for (uint32_t a = 0; a < na; a++) {
				const float *restrict row =
					m->w2 + (size_t)act[a] * k;
				float hj = h[act[a]];
				for (uint32_t c = 0; c < k; c++)
					z[c] += hj * row[c];
			}
			softmax_nll(z, k, x->y[i]);
			z[x->y[i]] -= 1.0f; /* dL/dz */
			/* backward: hidden gradient before W2 moves */
			for (uint32_t a = 0; a < na; a++) {
				const float *restrict row =
					m->w2 + (size_t)act[a] * k;
				float d = 0;
				for (uint32_t c = 0; c < k; c++)
					d += row[c] * z[c];
				dh[a] = d * hs;
			}
			for (uint32_t a = 0; a < na; a++) {
				float *restrict row =
					m->w2 + (size_t)act[a] * k;
				float *restrict g2 = st.g2 + (size_t)act[a] * k;
				float hj = h[act[a]];
				for (uint32_t c = 0; c < k; c++) {
					float g = hj * z[c] + l2 * row[c];
					g2[c] += g * g;
					row[c] -= lr * g / sqrtf(g2[c] + 1e-8f);
				}
			}
			for (uint32_t c = 0; c < k; c++)
				adagrad(&m->b2[c], &st.gb2[c], z[c], lr);
			for (uint32_t a = 0; a < na; a++)
				adagrad(&m->b1[act[a]], &st.gb1[act[a]], dh[a],
					lr);
			for (size_t f = 0; f < nk; f++) {
				float *restrict row =
					m->w1 + (size_t)st.kept[f] * nh;
				float *restrict g2 =
					st.g1 + (size_t)st.kept[f] * nh;
				float v = st.kval[f];
				for (uint32_t a = 0; a < na; a++) {
					uint32_t j = act[a];
					float g = v * dh[a] + l2 * row[j];
					g2[j] += g * g;
					row[j] -= lr * g / sqrtf(g2[j] + 1e-8f);
				}
			}
		}
		if (st.a1 && ep >= avg_from) {
			accumulate(st.a1, m->w1, n1);
			accumulate(st.ab1, m->b1, nh);
			accumulate(st.a2, m->w2, n2);
			accumulate(st.ab2, m->b2, k);
		}
	}
	if (st.a1) {
		float inv = 1.0f / (float)(cfg->epochs - avg_from);
		average_into(m->w1, st.a1, n1, inv);
		average_into(m->b1, st.ab1, nh, inv);
		average_into(m->w2, st.a2, n2, inv);
		average_into(m->b2, st.ab2, k, inv);
	}
	*out = m;
	m = NULL;
	err = 0;
out:
	nlu_mlp_destroy(m);
	state_free(&st);
	free(h);
	free(dh);
	free(act);
	free(z);
	return err;
}

/* The ensemble's mean logits as one network: hidden units side by side,
 * output rows scaled by 1/count, output biases averaged. */
static struct nlu_mlp *merge(struct nlu_mlp *const *net, uint32_t count)
{
	uint32_t nin = net[0]->nin, nh = net[0]->nh, k = net[0]->k;
	struct nlu_mlp *m = mlp_alloc(nin, nh * count, k);
	if (!m)
		return NULL;
	float inv = 1.0f / (float)count;
	for (uint32_t e = 0; e < count; e++) {
		for (uint32_t f = 0; f < nin; f++)
			memcpy(m->w1 + (size_t)f * m->nh + (size_t)e * nh,
			       net[e]->w1 + (size_t)f * nh, nh * sizeof(float));
		memcpy(m->b1 + (size_t)e * nh, net[e]->b1, nh * sizeof(float));
		for (size_t i = 0; i < (size_t)nh * k; i++)
			m->w2[(size_t)e * nh * k + i] = net[e]->w2[i] * inv;
		for (uint32_t c = 0; c < k; c++)
			m->b2[c] += net[e]->b2[c] * inv;
	}
	return m;
}

int nlu_mlp_train(struct nlu_mlp **out, const struct nlu_mlp_data *x,
		  const uint32_t *order, size_t n, uint32_t nin, uint32_t k,
		  const struct nlu_mlp_cfg *cfg)
{
	if (!out || !x || !cfg || !cfg->hidden ||
	    cfg->hidden > NLU_MLP_HIDDEN_MAX || k < 2 || !cfg->epochs ||
	    !(cfg->lr > 0) || !(cfg->l2 >= 0) ||
	    !(cfg->drop_h >= 0 && cfg->drop_h <= 0.9f) ||
	    !(cfg->drop_in >= 0 && cfg->drop_in <= 0.9f) || !(cfg->init > 0) ||
	    cfg->ensemble > NLU_MLP_ENSEMBLE_MAX ||
	    (uint64_t)cfg->hidden * (cfg->ensemble ? cfg->ensemble : 1) >
		    NLU_MLP_HIDDEN_MAX)
		return -EINVAL;
	uint32_t count = cfg->ensemble ? cfg->ensemble : 1;
	if (count == 1)
		return train_one(out, x, order, n, nin, k, cfg);
	struct nlu_mlp *net[NLU_MLP_ENSEMBLE_MAX] = { NULL };
	int err = 0;
	for (uint32_t e = 0; e < count && !err; e++) {
		struct nlu_mlp_cfg c = *cfg;
		c.seed ^= (uint64_t)e * 0x9e3779b97f4a7c15ull;
		err = train_one(&net[e], x, order, n, nin, k, &c);
	}
	struct nlu_mlp *m = err ? NULL : merge(net, count);
	for (uint32_t e = 0; e < count; e++)
		nlu_mlp_destroy(net[e]);
	if (err)
		return err;
	if (!m)
		return -ENOMEM;
	*out = m;
	return 0;
}

void nlu_mlp_add_logits(const struct nlu_mlp *m, const uint32_t *idx,
			const float *val, size_t n, float scale, float *z)
{
	float h[NLU_MLP_HIDDEN_MAX];
	const uint32_t nh = m->nh, k = m->k;
	memcpy(h, m->b1, nh * sizeof(*h));
	for (size_t f = 0; f < n; f++) {
		if (idx[f] >= m->nin)
			continue;
		const float *restrict row = m->w1 + (size_t)idx[f] * nh;
		float v = val[f];
		for (uint32_t j = 0; j < nh; j++)
			h[j] += v * row[j];
	}
	for (uint32_t j = 0; j < nh; j++) {
		if (h[j] <= 0)
			continue;
		const float *restrict row = m->w2 + (size_t)j * k;
		float hj = scale * h[j];
		for (uint32_t c = 0; c < k; c++)
			z[c] += hj * row[c];
	}
	for (uint32_t c = 0; c < k; c++)
		z[c] += scale * m->b2[c];
}
