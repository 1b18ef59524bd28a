/* Beam search with shallow LM fusion (beam.h). */
#include "engines/stt/sherpa/beam.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "engines/stt/sherpa/ngram.h"

#define PARTIAL_MAX 128u /* bytes of a word being spelled; more is cut */

struct hyp {
	double am;     /* sum of the model's token log-probabilities */
	double fus;    /* lambda * LM log-probabilities + beta * words */
	double look;   /* the same, optimistic, for the word being spelled */
	float lp_min;  /* least likely token so far */
	uint32_t u, v; /* LM history: the last two completed words */
	size_t ntok;
	size_t plen; /* bytes in partial */
	char partial[PARTIAL_MAX];
	int32_t tok[BEAM_TOKENS_MAX];
};

struct cand {
	double total;
	uint32_t parent;
	int32_t tok;
	float lp;
};

static bool is_word_byte(unsigned char c)
{
	return isalnum(c) || c >= 0x80;
}

void beam_words(const char *raw, size_t len,
		void (*fn)(const char *w, size_t len, void *arg), void *arg)
{
	char w[PARTIAL_MAX];
	size_t n = 0;

	for (size_t i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)raw[i] : ' ';
		unsigned char prev = i ? (unsigned char)raw[i - 1] : 0;
		unsigned char next =
			i + 1 < len ? (unsigned char)raw[i + 1] : 0;

		if (is_word_byte(c)) {
			if (n < sizeof(w))
				w[n++] = (char)tolower(c);
			continue;
		}
		/* "don't" keeps its apostrophe, "1,000" is one number */
		if (c == '\'' && is_word_byte(prev) && is_word_byte(next)) {
			if (n < sizeof(w))
				w[n++] = '\'';
			continue;
		}
		if (c == ',' && isdigit(prev) && isdigit(next))
			continue;
		if (n)
			fn(w, n, arg);
		n = 0;
	}
}

struct lm_acc {
	const struct ngram_lm *lm;
	const struct beam_cfg *cfg;
	uint32_t u, v;
	double fus;
};

static void score_word(const char *w, size_t len, void *arg)
{
	struct lm_acc *a = arg;
	uint32_t id = ngram_lm_word(a->lm, w, len);

	a->fus += a->cfg->lambda * ngram_lm_logp(a->lm, a->u, a->v, id) +
		  a->cfg->beta;
	a->u = a->v;
	a->v = id;
}

struct pieces {
	size_t n;
	struct {
		const char *w;
		size_t len;
	} p[8];
	char buf[PARTIAL_MAX];
	size_t used;
};

static void keep_piece(const char *w, size_t len, void *arg)
{
	struct pieces *ps = arg;

	if (ps->n == sizeof(ps->p) / sizeof(ps->p[0]) ||
	    len > sizeof(ps->buf) - ps->used)
		return;
	memcpy(ps->buf + ps->used, w, len);
	ps->p[ps->n].w = ps->buf + ps->used;
	ps->p[ps->n].len = len;
	ps->used += len;
	ps->n++;
}

/* Optimistic fusion score of the partial word p[0..len) after history
 * u v: its complete pieces exactly, the piece being spelled by its best
 * completion in the LM's vocabulary. */
static double lookahead(const struct ngram_lm *lm, const struct beam_cfg *cfg,
			uint32_t u, uint32_t v, const char *p, size_t len)
{
	struct pieces ps = { 0 };
	struct lm_acc a = { .lm = lm, .cfg = cfg, .u = u, .v = v };
	bool open_end;

	if (!lm || len == 0)
		return 0;
	beam_words(p, len, keep_piece, &ps);
	if (ps.n == 0)
		return 0;
	open_end = is_word_byte((unsigned char)p[len - 1]);
	for (size_t i = 0; i + (open_end ? 1 : 0) < ps.n; i++)
		score_word(ps.p[i].w, ps.p[i].len, &a);
	if (open_end)
		a.fus += cfg->lambda * ngram_lm_prefix_logp(
					       lm, a.u, a.v, ps.p[ps.n - 1].w,
					       ps.p[ps.n - 1].len) +
			 cfg->beta;
	return a.fus;
}

/* The lookahead of h once tok is appended (tok not end of text). */
static double look_after(const struct hyp *h, const struct beam_model *m,
			 const struct ngram_lm *lm, const struct beam_cfg *cfg,
			 const struct lm_acc *a, int32_t tok)
{
	char p[PARTIAL_MAX];
	const char *t = m->text[tok];
	size_t n = 0, len;

	if (!lm)
		return 0;
	if (t[0] == ' ') {
		t++;
	} else {
		memcpy(p, h->partial, h->plen);
		n = h->plen;
	}
	len = strlen(t);
	if (len > sizeof(p) - n)
		len = sizeof(p) - n;
	memcpy(p + n, t, len);
	return lookahead(lm, cfg, a->u, a->v, p, n + len);
}

/* What h's fusion score becomes when tok follows: the partial word is
 * complete when tok starts a word or ends the text (then </s> too). */
static struct lm_acc fuse(const struct hyp *h, const struct beam_model *m,
			  const struct ngram_lm *lm, const struct beam_cfg *cfg,
			  int32_t tok)
{
	struct lm_acc a = {
		.lm = lm, .cfg = cfg, .u = h->u, .v = h->v, .fus = h->fus
	};
	bool eos = tok == m->eos;

	if (!lm || (!eos && m->text[tok][0] != ' '))
		return a;
	beam_words(h->partial, h->plen, score_word, &a);
	if (eos)
		a.fus += cfg->lambda * ngram_lm_logp(lm, a.u, a.v, NGRAM_EOS);
	return a;
}

/* log sum exp x[0..n): logits minus it are log-probabilities. Terms more
 * than LSE_SPAN below the maximum are left out: each is < e^-20, so even
 * all 32k of a vocabulary's move the result by < 1e-4, and they are most
 * of them (83 % of Moonshine's logits on the banking set), each an expf
 * saved. */
#define LSE_SPAN 20.0f
static float log_sum_exp(const float *x, size_t n)
{
	float mx = -INFINITY, sum = 0, floor;

	for (size_t i = 0; i < n; i++)
		mx = x[i] > mx ? x[i] : mx;
	if (!(mx > -INFINITY))
		return mx; /* nothing possible (or n == 0) */
	floor = mx - LSE_SPAN;
	for (size_t i = 0; i < n; i++)
		if (x[i] > floor)
			sum += expf(x[i] - mx);
	return mx + logf(sum); /* sum >= 1: the maximum's term */
}

/* The k best emittable tokens of one row, best first, into ids[k] (fewer
 * when the vocabulary has fewer); returns how many. */
static size_t top_k(const struct beam_model *m, const float *lp, size_t k,
		    int32_t *ids)
{
	size_t n = 0;

	for (size_t t = 0; t < m->vocab; t++) {
		size_t j;

		/* the value first: most tokens fall short of the k-th */
		if (n == k && lp[t] <= lp[ids[n - 1]])
			continue;
		if ((int32_t)t != m->eos && !m->text[t])
			continue;
		j = n < k ? n++ : n - 1;
		while (j > 0 && lp[ids[j - 1]] < lp[t]) {
			ids[j] = ids[j - 1];
			j--;
		}
		ids[j] = (int32_t)t;
	}
	return n;
}

static int cand_cmp(const void *a, const void *b)
{
	double x = ((const struct cand *)a)->total;
	double y = ((const struct cand *)b)->total;

	return x < y ? 1 : x > y ? -1 : 0;
}

static double total(const struct hyp *h)
{
	return h->am + h->fus + h->look;
}

static void append(struct hyp *h, const struct beam_model *m, int32_t tok,
		   float lp, const struct lm_acc *a)
{
	const char *t = m->text[tok];
	size_t len;

	h->am += lp;
	h->lp_min = h->ntok == 0 || lp < h->lp_min ? lp : h->lp_min;
	h->fus = a->fus;
	h->u = a->u;
	h->v = a->v;
	h->tok[h->ntok++] = tok;
	if (t[0] == ' ') {
		h->plen = 0;
		t++;
	}
	len = strlen(t);
	if (len > sizeof(h->partial) - h->plen)
		len = sizeof(h->partial) - h->plen;
	memcpy(h->partial + h->plen, t, len);
	h->plen += len;
}

static void hyp_text(const struct hyp *h, const struct beam_model *m,
		     char *text, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < h->ntok; i++) {
		const char *t = m->text[h->tok[i]];
		size_t len;

		if (n == 0 && t[0] == ' ')
			t++;
		len = strlen(t);
		if (len > cap - 1 - n)
			len = cap - 1 - n;
		memcpy(text + n, t, len);
		n += len;
	}
	text[n] = '\0';
}

struct search {
	const struct beam_model *m;
	const struct ngram_lm *lm;
	const struct beam_cfg *cfg;
	struct hyp *cur, *next, *fin;
	size_t ncur, nfin;
	float *logits;
	struct cand *cands;
	uint32_t *parent;
	int32_t *tok;
};

/* Keep h as finished (the width best only). */
static void finish(struct search *s, const struct hyp *h)
{
	size_t worst = 0;

	if (s->nfin < s->cfg->width) {
		s->fin[s->nfin++] = *h;
		return;
	}
	for (size_t i = 1; i < s->nfin; i++)
		if (total(&s->fin[i]) < total(&s->fin[worst]))
			worst = i;
	if (total(h) > total(&s->fin[worst]))
		s->fin[worst] = *h;
}

/* Expand s->cur with the log-probabilities in s->logits into s->next.
 * Returns the number of live hypotheses. */
static size_t expand(struct search *s)
{
	size_t k = s->cfg->width + 1, nc = 0, nnext = 0;
	int32_t ids[BEAM_WIDTH_MAX + 1];
	double bar;

	for (size_t i = 0; i < s->ncur; i++) {
		const float *lp = s->logits + i * s->m->vocab;
		float lse = log_sum_exp(lp, s->m->vocab);
		size_t n = top_k(s->m, lp, k, ids);

		for (size_t j = 0; j < n; j++) {
			struct lm_acc a =
				fuse(&s->cur[i], s->m, s->lm, s->cfg, ids[j]);

			double look =
				ids[j] == s->m->eos
					? 0
					: look_after(&s->cur[i], s->m, s->lm,
						     s->cfg, &a, ids[j]);

			s->cands[nc++] = (struct cand){
				.total = s->cur[i].am + lp[ids[j]] - lse +
					 a.fus + look,
				.parent = (uint32_t)i,
				.tok = ids[j],
				.lp = lp[ids[j]] - lse,
			};
		}
	}
	qsort(s->cands, nc, sizeof(*s->cands), cand_cmp);
	/* Far behind the step's best (cands[0]) is lost: pruned. */
	bar = nc ? s->cands[0].total - s->cfg->prune : -INFINITY;
	for (size_t c = 0; c < nc && nnext < s->cfg->width; c++) {
		const struct cand *x = &s->cands[c];
		const struct hyp *h = &s->cur[x->parent];
		struct lm_acc a;

		if (s->cfg->prune > 0 && x->total < bar)
			break;
		a = fuse(h, s->m, s->lm, s->cfg, x->tok);

		if (x->tok == s->m->eos) {
			struct hyp f = *h;

			f.am += x->lp;
			f.fus = a.fus;
			f.look = 0;
			finish(s, &f);
			continue;
		}
		s->next[nnext] = *h;
		append(&s->next[nnext], s->m, x->tok, x->lp, &a);
		s->next[nnext].look =
			x->total - s->next[nnext].am - s->next[nnext].fus;
		s->parent[nnext] = x->parent;
		s->tok[nnext] = x->tok;
		nnext++;
	}
	return nnext;
}

static bool done(const struct search *s)
{
	double best_fin = -INFINITY, best_cur = -INFINITY;

	if (s->ncur == 0)
		return true;
	for (size_t i = 0; i < s->nfin; i++)
		best_fin = fmax(best_fin, total(&s->fin[i]));
	for (size_t i = 0; i < s->ncur; i++)
		best_cur = fmax(best_cur, total(&s->cur[i]));
	/* Scores only fall (log-probabilities) but for the word bonus, so a
	 * finished hypothesis ahead of every live one wins. Counting the
	 * finished ones instead ends too early: end-of-text right after a
	 * few tokens is always among the candidates, at a poor score. */
	return best_fin >= best_cur;
}

static int run(struct search *s)
{
	struct hyp *t;
	size_t n;
	int err;

	memset(&s->cur[0], 0, sizeof(s->cur[0]));
	s->cur[0].u = s->cur[0].v = NGRAM_BOS;
	s->ncur = 1;
	err = s->m->start(s->m->ctx, s->logits);
	if (err)
		return err;
	for (unsigned step = 0;; step++) {
		n = expand(s);
		t = s->cur;
		s->cur = s->next;
		s->next = t;
		s->ncur = n;
		if (done(s))
			break;
		if (step + 1 >= s->cfg->max_tokens) {
			/* out of room: what is alive ends here */
			for (size_t i = 0; i < s->ncur; i++) {
				struct lm_acc a = fuse(&s->cur[i], s->m, s->lm,
						       s->cfg, s->m->eos);

				s->cur[i].fus = a.fus;
				s->cur[i].look = 0;
				finish(s, &s->cur[i]);
			}
			break;
		}
		err = s->m->step(s->m->ctx, s->ncur, s->parent, s->tok,
				 s->logits);
		if (err)
			return err;
	}
	return 0;
}

bool beam_token_is_word(const char *tok)
{
	for (const char *c = tok; c && *c; c++)
		if (isalnum((unsigned char)*c) || (*c & 0x80))
			return true;
	return false;
}

static void fill_out(const struct hyp *h, const struct beam_model *m,
		     struct beam_out *out)
{
	*out = (struct beam_out){
		.score = total(h),
		.model_lp = h->am,
		.lp_min = h->lp_min,
	};
	/* As sherpa_asr_decode_scored() counts them, so that confidences of
	 * both decoders share one scale: punctuation-only tokens (the final
	 * ".") are not words; a word token after the first without a
	 * leading space continues a word. */
	for (size_t i = 0; i < h->ntok; i++) {
		const char *t = m->text[h->tok[i]];

		if (!beam_token_is_word(t))
			continue;
		out->npieces += out->ntokens > 0 && t[0] != ' ';
		out->ntokens++;
	}
}

int beam_search(const struct beam_model *m, const struct ngram_lm *lm,
		const struct beam_cfg *cfg, char *text, size_t cap,
		struct beam_out *out)
{
	struct search s = { .m = m, .lm = lm, .cfg = cfg };
	size_t w, best = 0;
	int err = -ENOMEM;

	if (!m || !cfg || !text || cap == 0 || !m->vocab || !m->text ||
	    m->eos < 0 || (size_t)m->eos >= m->vocab || cfg->width == 0 ||
	    cfg->width > BEAM_WIDTH_MAX || !(cfg->prune >= 0) ||
	    cfg->max_tokens == 0 || cfg->max_tokens > BEAM_TOKENS_MAX)
		return -EINVAL;
	w = cfg->width;
	s.cur = calloc(w, sizeof(*s.cur));
	s.next = calloc(w, sizeof(*s.next));
	s.fin = calloc(w, sizeof(*s.fin));
	s.logits = malloc(w * m->vocab * sizeof(*s.logits));
	s.cands = malloc(w * (w + 1) * sizeof(*s.cands));
	s.parent = calloc(w, sizeof(*s.parent));
	s.tok = calloc(w, sizeof(*s.tok));
	if (!s.cur || !s.next || !s.fin || !s.logits || !s.cands || !s.parent ||
	    !s.tok)
		goto out;
	err = run(&s);
	if (err)
		goto out;
	text[0] = '\0';
	if (s.nfin == 0) {
		if (out)
			*out = (struct beam_out){ .score = -INFINITY };
		goto out;
	}
	for (size_t i = 1; i < s.nfin; i++)
		if (total(&s.fin[i]) > total(&s.fin[best]))
			best = i;
	hyp_text(&s.fin[best], m, text, cap);
	if (out)
		fill_out(&s.fin[best], m, out);
out:
	free(s.cur);
	free(s.next);
	free(s.fin);
	free(s.logits);
	free(s.cands);
	free(s.parent);
	free(s.tok);
	return err;
}
