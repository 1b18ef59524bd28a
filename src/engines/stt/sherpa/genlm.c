/* Generic English trigram over sphinxbase (genlm.h). */
#include "engines/stt/sherpa/genlm.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sphinxbase/logmath.h>
#include <sphinxbase/ngram_model.h>

#include "engines/stt/sherpa/beam.h"

#define OOV_ID UINT32_MAX /* a word the model does not know */
#define WORD_MAX 64u	  /* bytes of a word; longer ones are unknown */
#define BLOCK 64u	  /* words per block of the prefix maxima */

struct genlm {
	ngram_model_t *model;
	logmath_t *lmath; /* the model's log base; freed after the model */
	/* sphinxbase's trie scorer keeps the last history's backoffs in the
	 * model: one lookup at a time */
	pthread_mutex_t lock;
	uint32_t bos, eos, nwords;
	double oov_logp;
	/* Words in byte order of their text with their unigram log P and
	 * the best of each BLOCK of them: prefix lookahead. */
	uint32_t *sorted;
	float *uni, *block_max;
};

static uint32_t word_id(const void *ctx, const char *w, size_t len)
{
	const struct genlm *g = ctx;
	char buf[WORD_MAX + 1];
	int32 id;

	if (len == 0 || len > WORD_MAX)
		return OOV_ID;
	memcpy(buf, w, len);
	buf[len] = '\0';
	/* a read-only hash lookup */
	id = ngram_wid(g->model, buf);
	return id < 0 || id == (int32)g->bos ? OOV_ID : (uint32_t)id;
}

static double word_logp(const void *ctx, uint32_t u, uint32_t v, uint32_t w)
{
	struct genlm *g = (struct genlm *)ctx;
	int32 hist[2], nhist = 0, used, score;

	if (w == OOV_ID || w >= g->nwords)
		return g->oov_logp;
	/* most recent first; an unknown word cuts the history */
	if (v != OOV_ID) {
		hist[nhist++] = (int32)v;
		if (u != OOV_ID && !(u == g->bos && v == g->bos))
			hist[nhist++] = (int32)u;
	}
	pthread_mutex_lock(&g->lock);
	score = ngram_ng_score(g->model, (int32)w, hist, nhist, &used);
	pthread_mutex_unlock(&g->lock);
	return logmath_log_to_ln(g->lmath, score);
}

static const char *word_text(const struct genlm *g, uint32_t id)
{
	return ngram_word(g->model, (int32)id);
}

/* First index of g->sorted whose word compares (on len bytes) above the
 * prefix (strict) or not below it. */
static size_t bound(const struct genlm *g, const char *p, size_t len,
		    bool strict)
{
	size_t lo = 0, hi = g->nwords;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(word_text(g, g->sorted[mid]), p, len);

		if (strict ? c <= 0 : c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The best unigram log P of the words that start with prefix: an
 * optimistic-enough score for a word still being spelled (the trigram
 * scores it once complete). */
static double prefix_logp(const void *ctx, uint32_t u, uint32_t v,
			  const char *prefix, size_t len)
{
	const struct genlm *g = ctx;
	char p[WORD_MAX];
	size_t lo, hi;
	float best = -INFINITY;

	(void)u;
	(void)v;
	if (len == 0 || len > WORD_MAX || memchr(prefix, '\0', len))
		return g->oov_logp;
	memcpy(p, prefix, len);
	lo = bound(g, p, len, false);
	hi = bound(g, p, len, true);
	while (lo < hi && lo % BLOCK) {
		best = g->uni[lo] > best ? g->uni[lo] : best;
		lo++;
	}
	for (; lo + BLOCK <= hi; lo += BLOCK)
		best = g->block_max[lo / BLOCK] > best
			       ? g->block_max[lo / BLOCK]
			       : best;
	for (; lo < hi; lo++)
		best = g->uni[lo] > best ? g->uni[lo] : best;
	return best > (float)g->oov_logp ? best : g->oov_logp;
}

void genlm_beam_lm(const struct genlm *g, struct beam_lm *blm)
{
	*blm = (struct beam_lm){
		.ctx = g,
		.bos = g ? g->bos : 0,
		.eos = g ? g->eos : 0,
		.word = word_id,
		.logp = word_logp,
		.prefix_logp = prefix_logp,
	};
}

size_t genlm_size(const struct genlm *g)
{
	return g ? g->nwords : 0;
}

static const struct genlm *sort_lm; /* qsort has no context argument */

static int by_text(const void *a, const void *b)
{
	return strcmp(word_text(sort_lm, *(const uint32_t *)a),
		      word_text(sort_lm, *(const uint32_t *)b));
}

static pthread_mutex_t sort_lock = PTHREAD_MUTEX_INITIALIZER;

/* The sorted index and the unigram maxima. -ENOMEM. */
static int index_words(struct genlm *g)
{
	size_t nblocks = (g->nwords + BLOCK - 1) / BLOCK;

	g->sorted = malloc(g->nwords * sizeof(*g->sorted));
	g->uni = malloc(g->nwords * sizeof(*g->uni));
	g->block_max = malloc(nblocks * sizeof(*g->block_max));
	if (!g->sorted || !g->uni || !g->block_max)
		return -ENOMEM;
	for (uint32_t i = 0; i < g->nwords; i++)
		g->sorted[i] = i;
	pthread_mutex_lock(&sort_lock);
	sort_lm = g;
	qsort(g->sorted, g->nwords, sizeof(*g->sorted), by_text);
	sort_lm = NULL;
	pthread_mutex_unlock(&sort_lock);
	for (size_t b = 0; b < nblocks; b++)
		g->block_max[b] = -INFINITY;
	for (uint32_t i = 0; i < g->nwords; i++) {
		int32 used;
		uint32_t id = g->sorted[i];
		/* <s> is only ever history */
		double lp =
			id == g->bos
				? -INFINITY
				: logmath_log_to_ln(
					  g->lmath,
					  ngram_ng_score(g->model, (int32)id,
							 NULL, 0, &used));

		g->uni[i] = (float)lp;
		if (g->uni[i] > g->block_max[i / BLOCK])
			g->block_max[i / BLOCK] = g->uni[i];
	}
	return 0;
}

int genlm_create(struct genlm **gp, const char *path, double oov_logp)
{
	struct genlm *g;
	logmath_t *lmath;
	int32 bos, eos;
	int err;

	if (!gp || !path || !(oov_logp < 0) || !isfinite(oov_logp))
		return -EINVAL;
	if (access(path, R_OK))
		return -ENOENT;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->oov_logp = oov_logp;
	lmath = logmath_init(1.0001, 0, 0);
	if (!lmath) {
		free(g);
		return -ENOMEM;
	}
	/* the model uses lmath but does not free it (ASan): ours to free */
	g->model = ngram_model_read(NULL, path, NGRAM_AUTO, lmath);
	if (!g->model) {
		logmath_free(lmath);
		free(g);
		return -EBADMSG;
	}
	g->lmath = lmath;
	pthread_mutex_init(&g->lock, NULL);
	bos = ngram_wid(g->model, "<s>");
	eos = ngram_wid(g->model, "</s>");
	g->nwords = ngram_model_get_counts(g->model)[0];
	if (bos < 0 || eos < 0 || g->nwords == 0) {
		genlm_destroy(g);
		return -EBADMSG;
	}
	g->bos = (uint32_t)bos;
	g->eos = (uint32_t)eos;
	err = index_words(g);
	if (err) {
		genlm_destroy(g);
		return err;
	}
	*gp = g;
	return 0;
}

void genlm_destroy(struct genlm *g)
{
	if (!g)
		return;
	ngram_model_free(g->model);
	logmath_free(g->lmath);
	pthread_mutex_destroy(&g->lock);
	free(g->sorted);
	free(g->uni);
	free(g->block_max);
	free(g);
}
