/* Intent classifier: dataset parsing, deterministic Adagrad training of a
 * multinomial logistic regression, temperature calibration on a held-out
 * split, and allocation-free classification (see classifier.h). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "engines/nlu/features_priv.h"
#include "engines/nlu/model_priv.h"
#include "engines/nlu/rng_priv.h"

void nlu_train_cfg_default(struct nlu_train_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->feat.dim_bits = 20;
	cfg->feat.word_max_n = 2;
	cfg->feat.char_min_n = 3;
	cfg->feat.char_max_n = 5;
	cfg->epochs = 30;
	cfg->lr = 0.05f;
	cfg->l2 = 1e-5f;
	cfg->seed = 0x766f78676174ull;
	cfg->holdout = 0.1f;
	cfg->refit = 1;
	cfg->oos_threshold = 0.3f;
	cfg->average = 1;
	cfg->svm = NLU_LOSS_NONE;
	cfg->svm_mix = 1.0f;
	cfg->svm_lr = 0.05f;
	cfg->svm_l2 = 1e-5f;
	cfg->threads = 2;
	cfg->emb = NULL;
	cfg->emb_scale = 1.0f;
	cfg->vecs = NULL;
	cfg->vecs_only = 0;
	cfg->noise = NULL;
	cfg->noise_copies = 0;
	nlu_asrnoise_rates_default(&cfg->noise_rates);
	nlu_mlp_cfg_default(&cfg->mlp);
	cfg->mlp.hidden = 0; /* off; 256 is the measured size */
	cfg->mlp_mix = 3.0f;
	cfg->mlp_only = 0;
}

void nlu_train_cfg_embeddings(struct nlu_train_cfg *cfg,
			      const struct nlu_emb *e)
{
	cfg->emb = e;
	cfg->emb_scale = 2.0f;
	cfg->svm = NLU_LOSS_CS;
	cfg->svm_mix = 1.0f;
}

/* ---------- datasets ---------- */

void nlu_dataset_destroy(struct nlu_dataset *ds)
{
	if (!ds)
		return;
	for (size_t i = 0; i < ds->n; i++)
		free(ds->text[i]);
	for (size_t i = 0; i < ds->nlabels; i++)
		free(ds->labels[i]);
	free(ds->text);
	free(ds->label);
	free(ds->labels);
	free(ds);
}

static int find_or_add_label(struct nlu_dataset *ds, const char *s, size_t len,
			     uint32_t *out)
{
	for (size_t i = 0; i < ds->nlabels; i++) {
		if (strlen(ds->labels[i]) == len &&
		    !memcmp(ds->labels[i], s, len)) {
			*out = (uint32_t)i;
			return 0;
		}
	}
	if (ds->nlabels >= NLU_LABELS_MAX)
		return -EBADMSG;
	char *l = strndup(s, len);
	if (!l)
		return -ENOMEM;
	ds->labels[ds->nlabels] = l;
	*out = (uint32_t)ds->nlabels++;
	return 0;
}

int nlu_dataset_parse(const char *buf, size_t len, struct nlu_dataset **out,
		      size_t *line)
{
	if (!buf || !out)
		return -EINVAL;
	if (len > NLU_DATA_BYTES_MAX)
		return -E2BIG;
	size_t cap = 1;
	for (size_t i = 0; i < len; i++)
		cap += buf[i] == '\n';
	if (cap > NLU_EXAMPLES_MAX)
		return -E2BIG;

	int err = -ENOMEM;
	size_t lineno = 0;
	struct nlu_dataset *ds = calloc(1, sizeof(*ds));
	if (!ds)
		return -ENOMEM;
	ds->text = calloc(cap, sizeof(*ds->text));
	ds->label = calloc(cap, sizeof(*ds->label));
	ds->labels = calloc(NLU_LABELS_MAX, sizeof(*ds->labels));
	if (!ds->text || !ds->label || !ds->labels)
		goto out;

	size_t pos = 0;
	while (pos < len) {
		const char *l = buf + pos;
		const char *nl = memchr(l, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - l) : len - pos;
		pos += ll + (nl ? 1 : 0);
		lineno++;
		if (ll && l[ll - 1] == '\r')
			ll--;
		if (!ll || l[0] == '#')
			continue;
		const char *tab = memchr(l, '\t', ll);
		err = -EBADMSG;
		if (!tab || tab == l || (size_t)(tab - l) > NLU_LABEL_LEN_MAX ||
		    tab + 1 == l + ll || memchr(l, '\0', ll))
			goto out;
		err = find_or_add_label(ds, l, (size_t)(tab - l),
					&ds->label[ds->n]);
		if (err)
			goto out;
		ds->text[ds->n] = strndup(tab + 1, (size_t)(l + ll - tab - 1));
		err = -ENOMEM;
		if (!ds->text[ds->n])
			goto out;
		ds->n++;
	}
	*out = ds;
	return 0;
out:
	if (line)
		*line = lineno;
	nlu_dataset_destroy(ds);
	return err;
}

int nlu_dataset_load(const char *path, struct nlu_dataset **out, size_t *line)
{
	if (!path || !out)
		return -EINVAL;
	char *buf = NULL;
	size_t len = 0;
	int err = file_read_all(path, NLU_DATA_BYTES_MAX, &buf, &len);
	if (!err)
		err = nlu_dataset_parse(buf, len, out, line);
	free(buf);
	return err;
}

/* ---------- model object ---------- */

int nlu_model_alloc(struct nlu_model **out, const struct nlu_feat_cfg *feat,
		    uint32_t nlabels, uint32_t nrows, uint32_t edim)
{
	if (nlu_feat_cfg_check(feat) || nlabels < 1 ||
	    nlabels > NLU_LABELS_MAX || nrows > (1u << feat->dim_bits) ||
	    edim > NLU_EMB_DIM_MAX)
		return -EINVAL;
	struct nlu_model *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->feat = *feat;
	m->nlabels = nlabels;
	m->nrows = nrows;
	m->edim = edim;
	m->emb_scale = 1.0f;
	m->temperature = 1.0f;
	m->labels = calloc(nlabels, sizeof(*m->labels));
	m->row_of = malloc(sizeof(*m->row_of) << feat->dim_bits);
	m->row_idx = calloc(nrows ? nrows : 1, sizeof(*m->row_idx));
	m->idf = calloc(nrows ? nrows : 1, sizeof(*m->idf));
	m->w = calloc((size_t)(nrows + edim ? nrows + edim : 1) * nlabels,
		      sizeof(*m->w));
	m->b = calloc(nlabels, sizeof(*m->b));
	if (!m->labels || !m->row_of || !m->row_idx || !m->idf || !m->w ||
	    !m->b) {
		nlu_model_destroy(m);
		return -ENOMEM;
	}
	*out = m;
	return 0;
}

int nlu_model_index_rows(struct nlu_model *m)
{
	size_t dim = (size_t)1 << m->feat.dim_bits;
	for (size_t i = 0; i < dim; i++)
		m->row_of[i] = -1;
	for (uint32_t r = 0; r < m->nrows; r++) {
		if (m->row_idx[r] >= dim ||
		    (r && m->row_idx[r] <= m->row_idx[r - 1]))
			return -EBADMSG;
		m->row_of[m->row_idx[r]] = (int32_t)r;
	}
	return 0;
}

void nlu_model_destroy(struct nlu_model *m)
{
	if (!m)
		return;
	if (m->labels) {
		for (uint32_t i = 0; i < m->nlabels; i++)
			free(m->labels[i]);
	}
	free(m->labels);
	nlu_emb_destroy(m->emb);
	nlu_mlp_destroy(m->mlp);
	free(m->row_of);
	free(m->row_idx);
	free(m->idf);
	free(m->w);
	free(m->b);
	free(m);
}

size_t nlu_model_nlabels(const struct nlu_model *m)
{
	return m ? m->nlabels : 0;
}

const char *nlu_model_label(const struct nlu_model *m, size_t i)
{
	return m && i < m->nlabels ? m->labels[i] : NULL;
}

int nlu_model_label_find(const struct nlu_model *m, const char *name)
{
	for (uint32_t i = 0; m && name && i < m->nlabels; i++) {
		if (!strcmp(m->labels[i], name))
			return (int)i;
	}
	return -ENOENT;
}

float nlu_model_temperature(const struct nlu_model *m)
{
	return m->temperature;
}

float nlu_model_oos_threshold(const struct nlu_model *m)
{
	return m->oos_threshold;
}

void nlu_model_set_oos_threshold(struct nlu_model *m, float threshold)
{
	m->oos_threshold = threshold;
}

const struct nlu_feat_cfg *nlu_model_feat_cfg(const struct nlu_model *m)
{
	return &m->feat;
}

size_t nlu_model_mem_bytes(const struct nlu_model *m)
{
	size_t b = sizeof(*m) + ((size_t)4 << m->feat.dim_bits) +
		   (size_t)m->nrows * (8 + 4 * (size_t)m->nlabels) +
		   (size_t)m->edim * 4 * m->nlabels + 4 * (size_t)m->nlabels +
		   nlu_emb_mem_bytes(m->emb) + nlu_mlp_mem_bytes(m->mlp);
	for (uint32_t i = 0; i < m->nlabels; i++)
		b += sizeof(char *) + strlen(m->labels[i]) + 1;
	return b;
}

/* ---------- scoring ---------- */

/* logits = b + W^T x for a feature vector whose idx are rows. */
static void score(const float *w, const float *b, uint32_t k,
		  const uint32_t *idx, const float *val, size_t n, float *z)
{
	memcpy(z, b, k * sizeof(*z));
	for (size_t j = 0; j < n; j++) {
		const float *row = w + (size_t)idx[j] * k;
		float v = val[j];
		for (uint32_t c = 0; c < k; c++)
			z[c] += v * row[c];
	}
}

/* In-place softmax of z / t; returns log-sum-exp of z / t. */
static double softmax(float *z, uint32_t k, float t)
{
	if (!k)
		return 0;
	float mx = z[0];
	for (uint32_t c = 1; c < k; c++)
		mx = z[c] > mx ? z[c] : mx;
	double sum = 0;
	for (uint32_t c = 0; c < k; c++) {
		z[c] = expf((z[c] - mx) / t);
		sum += z[c];
	}
	for (uint32_t c = 0; c < k; c++)
		z[c] = (float)(z[c] / sum);
	/* sum >= 1: the max term is exp(0). */
	// cppcheck-suppress invalidFunctionArg
	return mx / t + log(sum);
}

/* ---------- training ---------- */

/* Training matrix in CSR form; column = model row. */
struct csr {
	size_t n;
	size_t *off; /* n + 1 */
	uint32_t *idx;
	float *val;
	const uint32_t *y;
};

/* One linear model to fit: its loss, its own weights and shuffle order
 * (so two jobs can run side by side), and the result. */
struct fit_job {
	const struct csr *x;
	uint32_t *order; /* n example indices, shuffled in place */
	size_t n;
	const struct nlu_train_cfg *cfg;
	int pass;
	int loss; /* enum nlu_loss */
	float lr, l2;
	float *w, *b; /* nrows x k, k; overwritten */
	uint32_t nrows, k;
	int err;
};

/* Gradient of the loss wrt the logits z (in place), given label y; returns
 * the example's loss. Softmax: p - onehot. Crammer-Singer squared hinge:
 * the margin 1 + max_{c != y} z_c - z_y, squared, moves only the two
 * labels involved. One-vs-rest squared hinge: each label's own margin. */
static double loss_grad(int loss, float *z, uint32_t k, uint32_t y)
{
	if (loss == NLU_LOSS_SOFTMAX) {
		softmax(z, k, 1.0f);
		double l = -log(z[y] > 1e-30f ? (double)z[y] : 1e-30);
		z[y] -= 1.0f;
		return l;
	}
	if (loss == NLU_LOSS_CS) {
		uint32_t best = y == 0 ? 1 : 0;
		for (uint32_t c = 0; c < k; c++) {
			if (c != y && z[c] > z[best])
				best = c;
		}
		float mg = 1.0f + z[best] - z[y];
		memset(z, 0, k * sizeof(*z));
		if (mg <= 0)
			return 0;
		z[y] = -2.0f * mg;
		z[best] = 2.0f * mg;
		return (double)mg * mg;
	}
	double l = 0;
	for (uint32_t c = 0; c < k; c++) {
		float t = c == y ? 1.0f : -1.0f;
		float mg = 1.0f - t * z[c];
		if (mg > 0) {
			l += (double)mg * mg;
			z[c] = -2.0f * mg * t;
		} else {
			z[c] = 0;
		}
	}
	return l;
}

/* One Adagrad step on a full weight row (every label active, as with the
 * softmax): gradient z[c] * v plus the L2 term, without the label list. */
static void adagrad_row(float *restrict row, float *restrict g2,
			const float *restrict z, float v, uint32_t k, float lr,
			float l2)
{
	for (uint32_t c = 0; c < k; c++) {
		float g = z[c] * v + l2 * row[c];
		g2[c] += g * g;
		row[c] -= lr * g / sqrtf(g2[c] + 1e-8f); /* eps as in fit() */
	}
}

/* Adagrad on job->loss over the examples in order[0..n). The L2 penalty is
 * applied to the weights each step touches (lazy), which keeps a step
 * O(features x labels); labels with a zero gradient are skipped (hinge
 * losses touch few). */
static int fit(struct fit_job *j)
{
	const struct nlu_train_cfg *cfg = j->cfg;
	const struct csr *x = j->x;
	uint32_t k = j->k;
	size_t nw = (size_t)j->nrows * k, n = j->n;
	float *gw = calloc(nw ? nw : 1, sizeof(*gw));
	float *gb = calloc(k, sizeof(*gb));
	float *z = malloc(k * sizeof(*z));
	uint32_t *act = malloc(k * sizeof(*act));
	/* Averaging the weights of the later epochs (Polyak) smooths the
	 * noise of the last SGD steps; measured +acc on BANKING77. */
	uint32_t avg_from = cfg->average ? cfg->epochs / 2 : cfg->epochs;
	double *aw = cfg->average ? calloc(nw + k, sizeof(*aw)) : NULL;
	if (!gw || !gb || !z || !act || (cfg->average && !aw)) {
		free(gw);
		free(gb);
		free(z);
		free(act);
		free(aw);
		return -ENOMEM;
	}
	float *wt = j->w, *bt = j->b;
	memset(wt, 0, nw * sizeof(*wt));
	memset(bt, 0, k * sizeof(*bt));
	uint64_t rs = cfg->seed ^ (uint64_t)j->pass;
	if (j->loss != NLU_LOSS_SOFTMAX)
		rs ^= (uint64_t)j->loss << 8;
	const float lr = j->lr, l2 = j->l2, eps = 1e-8f;

	for (uint32_t ep = 0; ep < cfg->epochs; ep++) {
		nlu_shuffle(j->order, n, &rs);
		double loss = 0;
		for (size_t s = 0; s < n; s++) {
			uint32_t i = j->order[s];
			const uint32_t *idx = x->idx + x->off[i];
			const float *val = x->val + x->off[i];
			size_t nf = x->off[i + 1] - x->off[i];
			score(wt, bt, k, idx, val, nf, z);
			loss += loss_grad(j->loss, z, k, x->y[i]);
			/* z is now the logit gradient. */
			uint32_t na = 0;
			for (uint32_t c = 0; c < k; c++) {
				if (z[c] != 0 || j->loss == NLU_LOSS_SOFTMAX)
					act[na++] = c;
			}
			for (size_t f = 0; f < nf; f++) {
				float *row = wt + (size_t)idx[f] * k;
				float *g2 = gw + (size_t)idx[f] * k;
				float v = val[f];
				if (na == k) {
					adagrad_row(row, g2, z, v, k, lr, l2);
					continue;
				}
				for (uint32_t a = 0; a < na; a++) {
					uint32_t c = act[a];
					float g = z[c] * v + l2 * row[c];
					g2[c] += g * g;
					row[c] -= lr * g / sqrtf(g2[c] + eps);
				}
			}
			for (uint32_t a = 0; a < na; a++) {
				uint32_t c = act[a];
				gb[c] += z[c] * z[c];
				bt[c] -= lr * z[c] / sqrtf(gb[c] + eps);
			}
		}
		if (aw && ep >= avg_from) {
			for (size_t i = 0; i < nw; i++)
				aw[i] += wt[i];
			for (uint32_t c = 0; c < k; c++)
				aw[nw + c] += bt[c];
		}
		if (cfg->progress && j->loss == NLU_LOSS_SOFTMAX)
			cfg->progress(cfg->progress_arg, j->pass, ep + 1,
				      cfg->epochs, n ? loss / (double)n : 0);
	}
	if (aw) {
		double inv = 1.0 / (double)(cfg->epochs - avg_from);
		for (size_t i = 0; i < nw; i++)
			wt[i] = (float)(aw[i] * inv);
		for (uint32_t c = 0; c < k; c++)
			bt[c] = (float)(aw[nw + c] * inv);
		free(aw);
	}
	free(gw);
	free(gb);
	free(z);
	free(act);
	return 0;
}

static void *fit_thread(void *arg)
{
	struct fit_job *j = arg;
	j->err = fit(j);
	return NULL;
}

/* Two jobs, one after the other (see fit_calibrated_parallel). */
static void *fit_pair_thread(void *arg)
{
	struct fit_job **p = arg;
	p[0]->err = fit(p[0]);
	p[1]->err = fit(p[1]);
	return NULL;
}

/* Fits the model on order[0..n): the logistic regression into m, and with
 * cfg->svm the linear SVM too (on a second thread when cfg->threads > 1),
 * then m's weights become LR + svm_mix * SVM. Logit-space averaging of two
 * linear models on the same features is itself a linear model, so the
 * ensemble costs nothing at classification time. */
static int fit_model(struct nlu_model *m, const struct csr *x,
		     const uint32_t *order, size_t n,
		     const struct nlu_train_cfg *cfg, int pass)
{
	uint32_t k = m->nlabels;
	size_t nw = ((size_t)m->nrows + m->edim) * k;
	struct fit_job lr = {
		.x = x,
		.n = n,
		.cfg = cfg,
		.pass = pass,
		.loss = NLU_LOSS_SOFTMAX,
		.lr = cfg->lr,
		.l2 = cfg->l2,
		.w = m->w,
		.b = m->b,
		.nrows = m->nrows + m->edim,
		.k = k,
	};
	struct fit_job sv = lr;
	int err = -ENOMEM;
	lr.order = malloc((n ? n : 1) * sizeof(*lr.order));
	if (!lr.order)
		return -ENOMEM;
	memcpy(lr.order, order, n * sizeof(*order));
	if (!cfg->svm) {
		err = fit(&lr);
		free(lr.order);
		return err;
	}
	sv.loss = (int)cfg->svm;
	sv.lr = cfg->svm_lr;
	sv.l2 = cfg->svm_l2;
	sv.order = malloc((n ? n : 1) * sizeof(*sv.order));
	sv.w = malloc((nw ? nw : 1) * sizeof(*sv.w));
	sv.b = malloc(k * sizeof(*sv.b));
	if (!sv.order || !sv.w || !sv.b)
		goto out;
	memcpy(sv.order, order, n * sizeof(*order));
	pthread_t th;
	int threaded =
		cfg->threads > 1 && !pthread_create(&th, NULL, fit_thread, &sv);
	lr.err = fit(&lr);
	if (threaded)
		pthread_join(th, NULL);
	else
		sv.err = fit(&sv);
	err = lr.err ? lr.err : sv.err;
	if (err)
		goto out;
	for (size_t i = 0; i < nw; i++)
		m->w[i] += cfg->svm_mix * sv.w[i];
	for (uint32_t c = 0; c < k; c++)
		m->b[c] += cfg->svm_mix * sv.b[c];
out:
	free(lr.order);
	free(sv.order);
	free(sv.w);
	free(sv.b);
	return err;
}

/* Mean negative log-likelihood of the held-out logits at temperature t. */
static double nll(const float *logits, const uint32_t *y, size_t n, uint32_t k,
		  float t, float *tmp)
{
	double s = 0;
	for (size_t i = 0; i < n; i++) {
		memcpy(tmp, logits + i * k, k * sizeof(*tmp));
		float zy = tmp[y[i]];
		double lse = softmax(tmp, k, t);
		s += lse - zy / t;
	}
	return n ? s / (double)n : 0;
}

/* Temperature minimising held-out NLL: golden-section search on log t. */
static float fit_temperature(const float *logits, const uint32_t *y, size_t n,
			     uint32_t k, float *tmp)
{
	if (!n)
		return 1.0f;
	const double g = 0.6180339887498949;
	double a = log(0.02), b = log(20.0);
	double c = b - g * (b - a), d = a + g * (b - a);
	double fc = nll(logits, y, n, k, (float)exp(c), tmp);
	double fd = nll(logits, y, n, k, (float)exp(d), tmp);
	for (int it = 0; it < 60; it++) {
		if (fc < fd) {
			b = d;
			d = c;
			fd = fc;
			c = b - g * (b - a);
			fc = nll(logits, y, n, k, (float)exp(c), tmp);
		} else {
			a = c;
			c = d;
			fc = fd;
			d = a + g * (b - a);
			fd = nll(logits, y, n, k, (float)exp(d), tmp);
		}
	}
	return (float)exp((a + b) / 2);
}

/* Fits m->temperature on the held-out examples hold[0..nhold), scored by
 * the calibration model's weights w, b. */
static int holdout_temperature_mlp(struct nlu_model *m, const float *w,
				   const float *b, const struct nlu_mlp *mlp,
				   const struct csr *x, const uint32_t *hold,
				   size_t nhold)
{
	int err = 0;
	uint32_t k = m->nlabels;
	float *logits = malloc(nhold * k * sizeof(*logits));
	uint32_t *y = malloc(nhold * sizeof(*y));
	float *tmp = malloc(k * sizeof(*tmp));
	if (!logits || !y || !tmp) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t s = 0; s < nhold; s++) {
		uint32_t i = hold[s];
		score(w, b, k, x->idx + x->off[i], x->val + x->off[i],
		      x->off[i + 1] - x->off[i], logits + s * k);
		if (mlp)
			nlu_mlp_add_logits(mlp, x->idx + x->off[i],
					   x->val + x->off[i],
					   x->off[i + 1] - x->off[i],
					   m->mlp_mix, logits + s * k);
		y[s] = x->y[i];
	}
	m->temperature = fit_temperature(logits, y, nhold, k, tmp);
out:
	free(logits);
	free(y);
	free(tmp);
	return err;
}

static int holdout_temperature(struct nlu_model *m, const float *w,
			       const float *b, const struct csr *x,
			       const uint32_t *hold, size_t nhold)
{
	return holdout_temperature_mlp(m, w, b, NULL, x, hold, nhold);
}

static int calibrate(struct nlu_model *m, const struct csr *x, uint32_t *order,
		     size_t ntrain, size_t nhold,
		     const struct nlu_train_cfg *cfg)
{
	int err = fit_model(m, x, order, ntrain, cfg, 0);
	if (err)
		return err;
	return holdout_temperature(m, m->w, m->b, x, order + ntrain, nhold);
}

/* Calibration and final model at once, with the SVM: the four fits (LR
 * and SVM on order[0..ntrain), LR and SVM on all n examples) are
 * independent, so two threads take two each, LR + SVM apiece, instead of
 * the LR thread bounding both passes. Same jobs, seeds and orders as
 * calibrate() then fit_model(), so the model is bit-identical. */
static int fit_calibrated_parallel(struct nlu_model *m, const struct csr *x,
				   const uint32_t *order, size_t ntrain,
				   size_t nhold, size_t n,
				   const struct nlu_train_cfg *cfg)
{
	uint32_t k = m->nlabels;
	size_t nw = ((size_t)m->nrows + m->edim) * k;
	struct fit_job j[4];
	int err = -ENOMEM;
	memset(j, 0, sizeof(j));
	for (int i = 0; i < 4; i++) {
		int cal = i == 0 || i == 3, lr = i < 2;
		j[i] = (struct fit_job){
			.x = x,
			.n = cal ? ntrain : n,
			.cfg = cfg,
			.pass = cal ? 0 : 1,
			.loss = lr ? NLU_LOSS_SOFTMAX : (int)cfg->svm,
			.lr = lr ? cfg->lr : cfg->svm_lr,
			.l2 = lr ? cfg->l2 : cfg->svm_l2,
			.nrows = m->nrows + m->edim,
			.k = k,
		};
		j[i].order = malloc((j[i].n ? j[i].n : 1) * sizeof(uint32_t));
		j[i].w = i == 1 ? m->w : malloc((nw ? nw : 1) * sizeof(float));
		j[i].b = i == 1 ? m->b : malloc(k * sizeof(float));
		if (!j[i].order || !j[i].w || !j[i].b)
			goto out;
		for (size_t s = 0; s < j[i].n; s++)
			j[i].order[s] = cal ? order[s] : (uint32_t)s;
	}
	/* This thread: calibration LR, final SVM; the other: final LR,
	 * calibration SVM. */
	pthread_t th;
	struct fit_job *other[2] = { &j[1], &j[3] };
	int threaded = !pthread_create(&th, NULL, fit_pair_thread, other);
	j[0].err = fit(&j[0]);
	j[2].err = fit(&j[2]);
	if (threaded) {
		pthread_join(th, NULL);
	} else {
		j[1].err = fit(&j[1]);
		j[3].err = fit(&j[3]);
	}
	err = 0;
	for (int i = 0; i < 4 && !err; i++)
		err = j[i].err;
	if (err)
		goto out;
	for (size_t i = 0; i < nw; i++) {
		j[0].w[i] += cfg->svm_mix * j[3].w[i];
		m->w[i] += cfg->svm_mix * j[2].w[i];
	}
	for (uint32_t c = 0; c < k; c++) {
		j[0].b[c] += cfg->svm_mix * j[3].b[c];
		m->b[c] += cfg->svm_mix * j[2].b[c];
	}
	err = holdout_temperature(m, j[0].w, j[0].b, x, order + ntrain, nhold);
out:
	for (int i = 0; i < 4; i++) {
		free(j[i].order);
		if (i != 1) {
			free(j[i].w);
			free(j[i].b);
		}
	}
	return err;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Marks the dense (embedding) entries of an example in the first pass. */
#define DENSE_MARK UINT32_MAX

/* Features of every example: counts -> rows (features seen in training),
 * IDF from document frequencies, weighted values; then, with embeddings,
 * edim dense entries (rows nrows..nrows+edim) holding the scaled sentence
 * vector. */
static int build_matrix(const struct nlu_dataset *ds,
			const struct nlu_train_cfg *cfg, struct csr *x,
			uint32_t **row_idx_out, uint32_t *nrows_out,
			float **idf_out)
{
	const struct nlu_emb *emb = cfg->emb;
	uint32_t edim = emb ? emb->dim : nlu_vecs_dim(cfg->vecs);
	float sent[NLU_EMB_DIM_MAX];
	struct nlu_tokens *tok = emb ? malloc(sizeof(*tok)) : NULL;
	if (emb && !tok)
		return -ENOMEM;
	int err = -ENOMEM;
	struct nlu_fvec *fv = malloc(sizeof(*fv));
	size_t dim = (size_t)1 << cfg->feat.dim_bits;
	uint32_t *df = calloc(dim, sizeof(*df));
	size_t cap = 1024, used = 0;
	uint32_t *idx = malloc(cap * sizeof(*idx));
	float *val = malloc(cap * sizeof(*val));
	uint32_t *rows = NULL;
	float *idf = NULL;
	x->off = malloc((ds->n + 1) * sizeof(*x->off));
	if (!fv || !df || !idx || !val || !x->off)
		goto fail;

	for (size_t i = 0; i < ds->n; i++) {
		x->off[i] = used;
		err = nlu_features_count(&cfg->feat, ds->text[i], fv);
		if (err)
			goto fail;
		size_t nd = 0;
		if (cfg->vecs) {
			const float *pv = nlu_vecs_find(cfg->vecs, ds->text[i]);
			if (cfg->vecs_only || fv->n > NLU_FEATS_MAX - edim)
				fv->n = cfg->vecs_only ? 0
						       : NLU_FEATS_MAX - edim;
			if (pv) {
				memcpy(sent, pv, edim * sizeof(*sent));
				nd = edim;
			}
		} else if (emb) {
			/* Same cap as nlu_features_model. */
			if (fv->n > NLU_FEATS_MAX - edim)
				fv->n = NLU_FEATS_MAX - edim;
			if (nlu_features_tokens(&cfg->feat, ds->text[i], tok) ==
				    0 &&
			    nlu_emb_sentence(emb, tok, sent))
				nd = edim;
		}
		if (used + fv->n + nd > cap) {
			err = -ENOMEM;
			size_t ncap = (used + fv->n + nd) * 2;
			uint32_t *ni = realloc(idx, ncap * sizeof(*idx));
			if (!ni)
				goto fail;
			idx = ni;
			float *nv = realloc(val, ncap * sizeof(*val));
			if (!nv)
				goto fail;
			val = nv;
			cap = ncap;
		}
		memcpy(idx + used, fv->idx, fv->n * sizeof(*idx));
		memcpy(val + used, fv->val, fv->n * sizeof(*val));
		for (size_t j = 0; j < fv->n; j++)
			df[fv->idx[j]]++;
		used += fv->n;
		for (size_t d = 0; d < nd; d++) {
			idx[used] = DENSE_MARK;
			val[used++] = cfg->emb_scale * sent[d];
		}
	}
	x->off[ds->n] = used;

	uint32_t nrows = 0;
	for (size_t h = 0; h < dim; h++)
		nrows += df[h] != 0;
	err = -ENOMEM;
	rows = malloc((nrows ? nrows : 1) * sizeof(*rows));
	idf = malloc((nrows ? nrows : 1) * sizeof(*idf));
	if (!rows || !idf)
		goto fail;
	/* df becomes the hash -> row map; smooth IDF as scikit-learn's. */
	uint32_t r = 0;
	for (size_t h = 0; h < dim; h++) {
		if (!df[h])
			continue;
		rows[r] = (uint32_t)h;
		idf[r] = (float)(log((1.0 + (double)ds->n) / (1.0 + df[h])) +
				 1.0);
		df[h] = r++;
	}
	float tmp[NLU_FEATS_MAX];
	for (size_t i = 0; i < ds->n; i++) {
		struct nlu_fvec *v = fv;
		size_t a = x->off[i], n = x->off[i + 1] - a;
		size_t nd = n && idx[a + n - 1] == DENSE_MARK ? edim : 0;
		for (size_t d = 0; d < nd; d++)
			idx[a + n - nd + d] = nrows + (uint32_t)d;
		n -= nd;
		v->n = n;
		for (size_t j = 0; j < n; j++) {
			v->idx[j] = df[idx[a + j]];
			v->val[j] = val[a + j];
			tmp[j] = idf[v->idx[j]];
		}
		nlu_fvec_weight(v, tmp);
		memcpy(idx + a, v->idx, n * sizeof(*idx));
		memcpy(val + a, v->val, n * sizeof(*val));
	}
	x->n = ds->n;
	x->idx = idx;
	x->val = val;
	x->y = ds->label;
	*row_idx_out = rows;
	*nrows_out = nrows;
	*idf_out = idf;
	free(fv);
	free(df);
	free(tok);
	return 0;
fail:
	free(fv);
	free(df);
	free(tok);
	free(idx);
	free(val);
	free(rows);
	free(idf);
	free(x->off);
	x->off = NULL;
	return err;
}

/* The training set with cfg->noise_copies noisy copies of each example:
 * originals first (borrowed from ds), then example i's copies at
 * ds->n + i * copies + c (owned: freed by augment_free). */
static int augment(const struct nlu_dataset *ds,
		   const struct nlu_train_cfg *cfg, struct nlu_dataset *out)
{
	size_t k = cfg->noise_copies, n = ds->n * (1 + k);
	*out = *ds;
	out->text = calloc(n, sizeof(*out->text));
	out->label = malloc(n * sizeof(*out->label));
	out->n = ds->n;
	if (!out->text || !out->label)
		return -ENOMEM;
	memcpy(out->text, ds->text, ds->n * sizeof(*ds->text));
	memcpy(out->label, ds->label, ds->n * sizeof(*ds->label));
	char buf[NLU_TEXT_MAX + NLU_TOKENS_MAX];
	for (size_t i = 0; i < ds->n; i++) {
		for (size_t c = 0; c < k; c++) {
			/* each copy its own stream: a copy depends on the
			 * seed, the example and c only */
			uint64_t rng = cfg->seed ^ 0x6e6f697365ull;
			rng ^= ((uint64_t)i << 8 | c) * 0x9e3779b97f4a7c15ull;
			int len = nlu_asrnoise_apply(
				cfg->noise, &cfg->noise_rates, ds->text[i],
				&rng, buf, sizeof(buf));
			size_t j = ds->n + i * k + c;
			out->text[j] = strdup(len > 0 ? buf : ds->text[i]);
			if (!out->text[j])
				return -ENOMEM;
			out->label[j] = ds->label[i];
			out->n = j + 1;
		}
	}
	return 0;
}

static void augment_free(const struct nlu_dataset *ds, struct nlu_dataset *a)
{
	for (size_t i = ds->n; a->text && i < a->n; i++)
		free(a->text[i]);
	free(a->text);
	free(a->label);
}

/* Calibration model and final model of the LR alone, side by side on two
 * threads (they are independent: same model as one after the other). */
static int fit_refit_parallel(struct nlu_model *m, const struct csr *x,
			      const uint32_t *order, size_t ntrain,
			      size_t nhold, size_t n,
			      const struct nlu_train_cfg *cfg)
{
	uint32_t k = m->nlabels;
	size_t nw = ((size_t)m->nrows + m->edim) * k;
	struct fit_job j[2];
	int err = -ENOMEM;
	memset(j, 0, sizeof(j));
	for (int i = 0; i < 2; i++) {
		j[i] = (struct fit_job){
			.x = x,
			.n = i ? n : ntrain,
			.cfg = cfg,
			.pass = i,
			.loss = NLU_LOSS_SOFTMAX,
			.lr = cfg->lr,
			.l2 = cfg->l2,
			.nrows = m->nrows + m->edim,
			.k = k,
		};
		j[i].order = malloc((j[i].n ? j[i].n : 1) * sizeof(uint32_t));
		j[i].w = i ? m->w : malloc((nw ? nw : 1) * sizeof(float));
		j[i].b = i ? m->b : malloc(k * sizeof(float));
		if (!j[i].order || !j[i].w || !j[i].b)
			goto out;
		for (size_t s = 0; s < j[i].n; s++)
			j[i].order[s] = i ? (uint32_t)s : order[s];
	}
	pthread_t th;
	int threaded = !pthread_create(&th, NULL, fit_thread, &j[1]);
	j[0].err = fit(&j[0]);
	if (threaded)
		pthread_join(th, NULL);
	else
		j[1].err = fit(&j[1]);
	err = j[0].err ? j[0].err : j[1].err;
	if (!err)
		err = holdout_temperature(m, j[0].w, j[0].b, x, order + ntrain,
					  nhold);
out:
	for (int i = 0; i < 2; i++)
		free(j[i].order);
	free(j[0].w);
	free(j[0].b);
	return err;
}

/* One pass (calibration or final) with the perceptron: the linear model
 * into lm's weights (skipped when lm is NULL), then the perceptron. */
struct mlp_job {
	struct nlu_model *lm;
	const struct csr *x;
	const uint32_t *order;
	size_t n;
	uint32_t nin, k;
	/* threads 1: the two jobs are the threads */
	const struct nlu_train_cfg *cfg;
	int pass;
	struct nlu_mlp *mlp;
	int err;
};

static void *mlp_job_run(void *arg)
{
	struct mlp_job *j = arg;
	j->err = j->lm ? fit_model(j->lm, j->x, j->order, j->n, j->cfg, j->pass)
		       : 0;
	if (j->err)
		return NULL;
	struct nlu_mlp_cfg mc = j->cfg->mlp;
	mc.seed ^= j->cfg->seed ^ ((uint64_t)j->pass << 32);
	struct nlu_mlp_data d = {
		.off = j->x->off,
		.idx = j->x->idx,
		.val = j->x->val,
		.y = j->x->y,
	};
	j->err = nlu_mlp_train(&j->mlp, &d, j->order, j->n, j->nin, j->k, &mc);
	return NULL;
}

/* Linear model + perceptron: with a held-out part, the calibration pair
 * (order[0..ntrain)) and the final pair (all n) run side by side, and the
 * temperature is fitted on the calibration pair's summed logits; without
 * cfg->refit the calibration pair is the model. */
static int fit_with_mlp(struct nlu_model *m, const struct csr *x,
			const uint32_t *order, size_t ntrain, size_t nhold,
			size_t n, const struct nlu_train_cfg *cfg)
{
	uint32_t k = m->nlabels;
	size_t nw = ((size_t)m->nrows + m->edim) * k;
	struct nlu_train_cfg c1 = *cfg;
	c1.threads = 1;
	struct nlu_model cm = *m; /* calibration weights, same shape */
	cm.w = calloc(nw ? nw : 1, sizeof(float));
	cm.b = calloc(k, sizeof(float));
	uint32_t *all = malloc((n ? n : 1) * sizeof(*all));
	int err = -ENOMEM;
	if (!cm.w || !cm.b || !all)
		goto out;
	for (size_t i = 0; i < n; i++)
		all[i] = (uint32_t)i;
	struct mlp_job j[2];
	for (int i = 0; i < 2; i++) {
		j[i] = (struct mlp_job){
			.lm = i ? m : &cm,
			.x = x,
			.order = i ? all : order,
			.n = i ? n : ntrain,
			.nin = m->nrows + m->edim,
			.k = k,
			.cfg = &c1,
			.pass = i,
		};
		if (cfg->mlp_only)
			j[i].lm = NULL; /* the linear weights stay zero */
	}
	int refit = !nhold || cfg->refit;
	if (nhold && refit) {
		pthread_t th;
		int threaded = cfg->threads > 1 &&
			       !pthread_create(&th, NULL, mlp_job_run, &j[1]);
		mlp_job_run(&j[0]);
		if (threaded)
			pthread_join(th, NULL);
		else
			mlp_job_run(&j[1]);
	} else if (nhold) {
		mlp_job_run(&j[0]);
	} else {
		mlp_job_run(&j[1]);
	}
	err = j[0].err ? j[0].err : j[1].err;
	if (!err && nhold)
		err = holdout_temperature_mlp(m, cm.w, cm.b, j[0].mlp, x,
					      order + ntrain, nhold);
	if (!err && refit) {
		m->mlp = j[1].mlp;
		j[1].mlp = NULL;
	} else if (!err) {
		memcpy(m->w, cm.w, nw * sizeof(*m->w));
		memcpy(m->b, cm.b, k * sizeof(*m->b));
		m->mlp = j[0].mlp;
		j[0].mlp = NULL;
	}
	nlu_mlp_destroy(j[0].mlp);
	nlu_mlp_destroy(j[1].mlp);
out:
	free(cm.w);
	free(cm.b);
	free(all);
	return err;
}

int nlu_model_train(struct nlu_model **out, const struct nlu_dataset *ds,
		    const struct nlu_train_cfg *cfg)
{
	if (!out || !ds || !cfg || nlu_feat_cfg_check(&cfg->feat) ||
	    ds->nlabels < 2 || ds->n < 2 || !cfg->epochs || !(cfg->lr > 0) ||
	    !(cfg->l2 >= 0) || !(cfg->holdout >= 0 && cfg->holdout < 0.9f))
		return -EINVAL;
	if (cfg->emb && (!cfg->emb->dim || cfg->emb->dim > NLU_EMB_DIM_MAX ||
			 !isfinite(cfg->emb_scale) || !(cfg->emb_scale > 0)))
		return -EINVAL;
	if ((cfg->vecs &&
	     (cfg->emb || !nlu_vecs_dim(cfg->vecs) ||
	      nlu_vecs_dim(cfg->vecs) > NLU_EMB_DIM_MAX ||
	      !isfinite(cfg->emb_scale) || !(cfg->emb_scale > 0))) ||
	    (cfg->vecs_only && !cfg->vecs))
		return -EINVAL;
	if (cfg->svm &&
	    ((cfg->svm != NLU_LOSS_CS && cfg->svm != NLU_LOSS_OVR) ||
	     !(cfg->svm_lr > 0) || !(cfg->svm_l2 >= 0) ||
	     !isfinite(cfg->svm_mix)))
		return -EINVAL;
	if (ds->nlabels > NLU_LABELS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < ds->n; i++) {
		if (ds->label[i] >= ds->nlabels || !ds->text[i])
			return -EINVAL;
	}
	if (cfg->noise_copies > NLU_ASRNOISE_COPIES_MAX ||
	    (cfg->noise_copies && !cfg->noise))
		return -EINVAL;
	if ((cfg->mlp.hidden &&
	     (cfg->mlp.hidden > NLU_MLP_HIDDEN_MAX || !isfinite(cfg->mlp_mix) ||
	      !(cfg->mlp_mix > 0))) ||
	    (cfg->mlp_only && !cfg->mlp.hidden) ||
	    (cfg->mlp.hidden && cfg->noise_copies))
		return -EINVAL;
	struct csr x = { 0 };
	uint32_t *rows = NULL, nrows = 0;
	float *idf = NULL;
	struct nlu_model *m = NULL;
	uint32_t *order = NULL;
	struct nlu_dataset aug = { 0 };
	const struct nlu_dataset *tr = ds;
	int err = 0;
	if (cfg->noise_copies) {
		err = augment(ds, cfg, &aug);
		tr = &aug;
	}
	if (!err)
		err = build_matrix(tr, cfg, &x, &rows, &nrows, &idf);
	if (err) {
		augment_free(ds, &aug);
		return err;
	}
	err = nlu_model_alloc(&m, &cfg->feat, (uint32_t)ds->nlabels, nrows,
			      cfg->emb ? cfg->emb->dim
				       : nlu_vecs_dim(cfg->vecs));
	if (err)
		goto out;
	m->mlp_mix = cfg->mlp_mix;
	m->mlp_only = cfg->mlp.hidden ? cfg->mlp_only : 0;
	if (cfg->vecs) {
		m->vecs = cfg->vecs;
		m->vecs_only = cfg->vecs_only;
		m->emb_scale = cfg->emb_scale;
	}
	if (cfg->emb) {
		err = -ENOMEM;
		m->emb = nlu_emb_clone(cfg->emb);
		if (!m->emb)
			goto out;
		m->emb_scale = cfg->emb_scale;
	}
	memcpy(m->row_idx, rows, nrows * sizeof(*rows));
	memcpy(m->idf, idf, nrows * sizeof(*idf));
	err = nlu_model_index_rows(m);
	if (err)
		goto out;
	err = -ENOMEM;
	for (uint32_t i = 0; i < m->nlabels; i++) {
		m->labels[i] = strdup(ds->labels[i]);
		if (!m->labels[i])
			goto out;
	}
	order = malloc(tr->n * sizeof(*order));
	if (!order)
		goto out;
	for (size_t i = 0; i < tr->n; i++)
		order[i] = (uint32_t)i;

	/* Calibration split: a seeded shuffle of the original examples, then
	 * sorted halves so the training order depends on the seed only. With
	 * augmentation the calibration model also trains on the copies of
	 * its training part, never on those of the held-out part. */
	size_t nhold = (size_t)((double)ds->n * cfg->holdout);
	int parallel = cfg->refit && cfg->threads > 1;
	if (cfg->mlp.hidden) {
		size_t ntrain = ds->n - nhold;
		if (nhold) {
			uint64_t rs = cfg->seed ^ 0xca11b4a7e0ull;
			nlu_shuffle(order, ds->n, &rs);
			qsort(order, ntrain, sizeof(*order), cmp_u32);
			qsort(order + ntrain, nhold, sizeof(*order), cmp_u32);
		}
		err = fit_with_mlp(m, &x, order, ntrain, nhold, tr->n, cfg);
		if (err)
			goto out;
	} else if (nhold) {
		uint64_t rs = cfg->seed ^ 0xca11b4a7e0ull;
		nlu_shuffle(order, ds->n, &rs);
		size_t ntrain = ds->n - nhold;
		qsort(order, ntrain, sizeof(*order), cmp_u32);
		qsort(order + ntrain, nhold, sizeof(*order), cmp_u32);
		size_t k = cfg->noise_copies;
		if (k) {
			/* [train originals, their copies][held out] */
			memmove(order + tr->n - nhold, order + ntrain,
				nhold * sizeof(*order));
			size_t at = ntrain;
			for (size_t s = 0; s < ntrain; s++)
				for (size_t c = 0; c < k; c++)
					order[at++] =
						(uint32_t)(ds->n +
							   order[s] * k + c);
			ntrain = at;
		}
		if (parallel && cfg->svm)
			err = fit_calibrated_parallel(m, &x, order, ntrain,
						      nhold, tr->n, cfg);
		else if (parallel)
			err = fit_refit_parallel(m, &x, order, ntrain, nhold,
						 tr->n, cfg);
		else
			err = calibrate(m, &x, order, ntrain, nhold, cfg);
		if (err)
			goto out;
	}
	if (!cfg->mlp.hidden && (!nhold || (cfg->refit && !parallel))) {
		for (size_t i = 0; i < tr->n; i++)
			order[i] = (uint32_t)i;
		err = fit_model(m, &x, order, tr->n, cfg, 1);
		if (err)
			goto out;
	}
	m->oos_threshold = cfg->oos_threshold;
	*out = m;
	m = NULL;
	err = 0;
out:
	nlu_model_destroy(m);
	free(order);
	free(x.off);
	free(x.idx);
	free(x.val);
	free(rows);
	free(idf);
	augment_free(ds, &aug);
	return err;
}

/* ---------- classification ---------- */

int nlu_classify_probs(const struct nlu_model *m, const char *text,
		       float *probs, size_t nprobs)
{
	if (!m || !text || !probs || nprobs < m->nlabels)
		return -EINVAL;
	struct nlu_fvec fv;
	int err = nlu_features_model(m, text, &fv);
	if (err)
		return err;
	if (m->mlp_only)
		memset(probs, 0, m->nlabels * sizeof(*probs));
	else
		score(m->w, m->b, m->nlabels, fv.idx, fv.val, fv.n, probs);
	if (m->mlp)
		nlu_mlp_add_logits(m->mlp, fv.idx, fv.val, fv.n, m->mlp_mix,
				   probs);
	softmax(probs, m->nlabels, m->temperature);
	return 0;
}

int nlu_classify(const struct nlu_model *m, const char *text,
		 struct nlu_result *out)
{
	float p[NLU_LABELS_MAX];
	if (!m || !out)
		return -EINVAL;
	int err = nlu_classify_probs(m, text, p, NLU_LABELS_MAX);
	if (err)
		return err;
	struct nlu_result r = { 0 };
	for (uint32_t c = 0; c < m->nlabels; c++) {
		/* Insertion into the small top-k list; ties keep the lower
		 * label first so results are stable. */
		size_t pos = r.n;
		while (pos > 0 && p[c] > r.top[pos - 1].confidence)
			pos--;
		if (pos >= NLU_TOPK)
			continue;
		size_t last = r.n < NLU_TOPK ? r.n : NLU_TOPK - 1;
		memmove(&r.top[pos + 1], &r.top[pos],
			(last - pos) * sizeof(r.top[0]));
		r.top[pos].intent = m->labels[c];
		r.top[pos].label = c;
		r.top[pos].confidence = p[c];
		if (r.n < NLU_TOPK)
			r.n++;
	}
	r.out_of_scope = r.n == 0 || r.top[0].confidence < m->oos_threshold;
	*out = r;
	return 0;
}

enum nlu_match nlu_match_level(float confidence, float high, float low)
{
	if (confidence >= high)
		return NLU_MATCH_HIGH;
	if (confidence >= low)
		return NLU_MATCH_LOW;
	return NLU_MATCH_NONE;
}
