/* Interpolated Kneser-Ney trigram (ngram.h).
 *
 *   P3(w|u v) = max(c(uvw) - D3, 0) / c(uv.) + D3 N1+(uv.) / c(uv.) P2(w|v)
 *   P2(w|v)   = max(N1+(.vw) - D2, 0) / N1+(.v.) + D2 N1+(v.) / N1+(.v.) P1(w)
 *   P1(w)     = (1 - unk_mass) N1+(.w) / N1+(..),   P1(<unk>) = unk_mass
 *
 * c() are trigram counts of the text (each sentence padded "<s> <s> ...
 * </s>"), N1+(.vw) the number of distinct words seen before the bigram vw
 * (continuation counts), and a history never seen falls through to the
 * lower order whole. Discounts D = n1 / (n1 + 2 n2) from the counts of
 * counts of each order (0.75 when undefined). */
#include "engines/stt/sherpa/ngram.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define ID_BITS 21u /* ids < 2^21: three fit in a 64-bit key */
#define KEY_USED (1ull << 63)

/* Open addressing map from a 63-bit key to two counters. */
struct cell {
	uint64_t key; /* KEY_USED | key, 0 when free */
	uint32_t a, b;
};

struct map {
	struct cell *c;
	size_t cap, n; /* cap: a power of two */
};

static uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ull;
	k ^= k >> 33;
	return k;
}

static int map_grow(struct map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 1024;
	struct cell *c = calloc(cap, sizeof(*c));

	if (!c)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		size_t j;

		if (!m->c[i].key)
			continue;
		for (j = mix(m->c[i].key) & (cap - 1); c[j].key;
		     j = (j + 1) & (cap - 1))
			;
		c[j] = m->c[i];
	}
	free(m->c);
	m->c = c;
	m->cap = cap;
	return 0;
}

/* The cell of key, or NULL. */
static const struct cell *map_get(const struct map *m, uint64_t key)
{
	key |= KEY_USED;
	if (!m->cap)
		return NULL;
	for (size_t j = mix(key) & (m->cap - 1); m->c[j].key;
	     j = (j + 1) & (m->cap - 1))
		if (m->c[j].key == key)
			return &m->c[j];
	return NULL;
}

/* The cell of key, added zeroed when new (*isnew). NULL: out of memory. */
static struct cell *map_put(struct map *m, uint64_t key, bool *isnew)
{
	size_t j;

	key |= KEY_USED;
	if ((m->n + 1) * 4 > m->cap * 3 && map_grow(m))
		return NULL;
	for (j = mix(key) & (m->cap - 1); m->c[j].key;
	     j = (j + 1) & (m->cap - 1))
		if (m->c[j].key == key) {
			*isnew = false;
			return &m->c[j];
		}
	m->c[j].key = key;
	m->n++;
	*isnew = true;
	return &m->c[j];
}

struct ngram_lm {
	struct map words; /* hash of the word -> a = id; strings in vocab */
	char **vocab;	  /* id -> word (NULL for the reserved ids) */
	size_t nvocab, vocab_cap;
	struct map tri;	  /* (u,v,w): a = count */
	struct map hist3; /* (u,v): a = c(uv.), b = N1+(uv.) */
	struct map bi;	  /* (v,w): a = N1+(.vw) */
	struct map hist2; /* (v): a = N1+(.v.), b = N1+(v.) */
	struct map uni;	  /* (w): a = N1+(.w) */
	uint32_t *sorted; /* word ids in byte order of their text */
	size_t nsorted;
	uint64_t nbigrams; /* N1+(..) */
	uint64_t unk_cont; /* N1+(. <unk>): <unk>'s part of nbigrams */
	double d3, d2, unk_mass;
};

static uint64_t key3(uint32_t u, uint32_t v, uint32_t w)
{
	return (uint64_t)u << (2 * ID_BITS) | (uint64_t)v << ID_BITS | w;
}

static uint64_t hash_word(const char *w, size_t len)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)w[i];
		h *= 1099511628211ull;
	}
	return h & ~KEY_USED;
}

uint32_t ngram_lm_word(const struct ngram_lm *lm, const char *w, size_t len)
{
	uint64_t h;

	if (!lm || !w || len == 0 || len > NGRAM_WORD_MAX)
		return NGRAM_UNK;
	h = hash_word(w, len) | KEY_USED;
	if (!lm->words.cap)
		return NGRAM_UNK;
	/* words with equal hashes share a chain: compare the text */
	for (size_t j = mix(h) & (lm->words.cap - 1); lm->words.c[j].key;
	     j = (j + 1) & (lm->words.cap - 1)) {
		const char *s = lm->vocab[lm->words.c[j].a];

		if (lm->words.c[j].key == h && strlen(s) == len &&
		    !memcmp(s, w, len))
			return lm->words.c[j].a;
	}
	return NGRAM_UNK;
}

/* Id of w, added when new. 0 (never a word id) when out of memory. */
static uint32_t add_word(struct ngram_lm *lm, const char *w, size_t len)
{
	uint32_t id = ngram_lm_word(lm, w, len);
	uint64_t h = hash_word(w, len) | KEY_USED;
	size_t j;
	char *s;

	if (id != NGRAM_UNK)
		return id;
	if (len > NGRAM_WORD_MAX || lm->nvocab >= (1u << ID_BITS) - 1)
		return NGRAM_UNK;
	if (lm->nvocab == lm->vocab_cap) {
		size_t cap = lm->vocab_cap * 2;
		char **v = realloc(lm->vocab, cap * sizeof(*v));

		if (!v)
			return 0;
		lm->vocab = v;
		lm->vocab_cap = cap;
	}
	if ((lm->words.n + 1) * 4 > lm->words.cap * 3 && map_grow(&lm->words))
		return 0;
	s = malloc(len + 1);
	if (!s)
		return 0;
	memcpy(s, w, len);
	s[len] = '\0';
	/* a new entry even when another word has the same hash */
	for (j = mix(h) & (lm->words.cap - 1); lm->words.c[j].key;
	     j = (j + 1) & (lm->words.cap - 1))
		;
	lm->words.c[j].key = h;
	lm->words.c[j].a = (uint32_t)lm->nvocab;
	lm->words.n++;
	lm->vocab[lm->nvocab] = s;
	return (uint32_t)lm->nvocab++;
}

/* One trigram occurrence. -ENOMEM. */
static int count3(struct ngram_lm *lm, uint32_t u, uint32_t v, uint32_t w)
{
	bool new3, newh, new2, newh2, new1;
	struct cell *t, *h, *b, *h2, *un;

	t = map_put(&lm->tri, key3(u, v, w), &new3);
	h = t ? map_put(&lm->hist3, key3(0, u, v), &newh) : NULL;
	if (!h)
		return -ENOMEM;
	t->a++;
	h->a++;
	if (!new3)
		return 0;
	h->b++;
	/* a new (u,v,w): one more distinct word before v w */
	b = map_put(&lm->bi, key3(0, v, w), &new2);
	h2 = b ? map_put(&lm->hist2, v, &newh2) : NULL;
	if (!h2)
		return -ENOMEM;
	b->a++;
	h2->a++;
	if (!new2)
		return 0;
	h2->b++;
	un = map_put(&lm->uni, w, &new1);
	if (!un)
		return -ENOMEM;
	un->a++;
	lm->nbigrams++;
	return 0;
}

/* D = n1 / (n1 + 2 n2) over the counter a of map m. */
static double discount(const struct map *m)
{
	uint64_t n1 = 0, n2 = 0;
	double d;

	for (size_t i = 0; i < m->cap; i++) {
		if (!m->c[i].key)
			continue;
		n1 += m->c[i].a == 1;
		n2 += m->c[i].a == 2;
	}
	if (n1 == 0 || n2 == 0)
		return 0.75;
	d = (double)n1 / (double)(n1 + 2 * n2);
	return d < 0.1 ? 0.1 : d > 0.95 ? 0.95 : d;
}

static int add_sentence(struct ngram_lm *lm, const char *s, size_t *nwords)
{
	uint32_t u = NGRAM_BOS, v = NGRAM_BOS;
	int err;

	for (;;) {
		size_t len;
		uint32_t w;

		while (*s == ' ')
			s++;
		len = strcspn(s, " ");
		if (len == 0)
			break;
		if (++*nwords > NGRAM_WORDS_MAX)
			return -E2BIG;
		w = add_word(lm, s, len);
		if (w == 0)
			return -ENOMEM;
		err = count3(lm, u, v, w);
		if (err)
			return err;
		u = v;
		v = w;
		s += len;
	}
	if (v == NGRAM_BOS)
		return 0; /* an empty sentence teaches nothing */
	return count3(lm, u, v, NGRAM_EOS);
}

struct word_ref {
	const char *w;
	uint32_t id;
};

static int word_cmp(const void *a, const void *b)
{
	return strcmp(((const struct word_ref *)a)->w,
		      ((const struct word_ref *)b)->w);
}

/* lm->sorted: word ids in byte order, for prefix lookups. */
static int sort_words(struct ngram_lm *lm)
{
	size_t n = lm->nvocab - NGRAM_FIRST_WORD;
	struct word_ref *r = malloc((n ? n : 1) * sizeof(*r));

	lm->sorted = malloc((n ? n : 1) * sizeof(*lm->sorted));
	if (!r || !lm->sorted) {
		free(r);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		r[i] = (struct word_ref){ lm->vocab[NGRAM_FIRST_WORD + i],
					  (uint32_t)(NGRAM_FIRST_WORD + i) };
	qsort(r, n, sizeof(*r), word_cmp);
	for (size_t i = 0; i < n; i++)
		lm->sorted[i] = r[i].id;
	lm->nsorted = n;
	free(r);
	return 0;
}

int ngram_lm_build(struct ngram_lm **lp, const char *const *sent, size_t n,
		   double unk_mass)
{
	struct ngram_lm *lm;
	size_t nwords = 0;
	int err = 0;

	if (!lp || (!sent && n) || !(unk_mass > 0.0 && unk_mass <= 0.5))
		return -EINVAL;
	lm = calloc(1, sizeof(*lm));
	if (!lm)
		return -ENOMEM;
	lm->vocab_cap = 256;
	lm->vocab = calloc(lm->vocab_cap, sizeof(*lm->vocab));
	if (!lm->vocab) {
		err = -ENOMEM;
		goto out;
	}
	lm->nvocab = NGRAM_FIRST_WORD;
	lm->unk_mass = unk_mass;
	for (size_t i = 0; i < n && !err; i++)
		err = sent[i] ? add_sentence(lm, sent[i], &nwords) : -EINVAL;
	if (!err && nwords == 0)
		err = -EINVAL;
	if (err)
		goto out;
	{
		const struct cell *u = map_get(&lm->uni, NGRAM_UNK);

		lm->unk_cont = u ? u->a : 0;
	}
	lm->d3 = discount(&lm->tri);
	lm->d2 = discount(&lm->bi);
	err = sort_words(lm);
	if (err)
		goto out;
	*lp = lm;
	return 0;
out:
	ngram_lm_destroy(lm);
	return err;
}

void ngram_lm_destroy(struct ngram_lm *lm)
{
	if (!lm)
		return;
	for (size_t i = NGRAM_FIRST_WORD; i < lm->nvocab; i++)
		free(lm->vocab[i]);
	free(lm->vocab);
	free(lm->sorted);
	free(lm->words.c);
	free(lm->tri.c);
	free(lm->hist3.c);
	free(lm->bi.c);
	free(lm->hist2.c);
	free(lm->uni.c);
	free(lm);
}

size_t ngram_lm_size(const struct ngram_lm *lm)
{
	return lm ? lm->nvocab : 0;
}

static double p1(const struct ngram_lm *lm, uint32_t w)
{
	const struct cell *c;

	if (w == NGRAM_UNK)
		return lm->unk_mass;
	/* <unk> has its fixed share: the known words (and </s>) share the
	 * rest by their continuation counts, <unk>'s own left out (text whose
	 * words are too long to keep is all <unk>) */
	c = map_get(&lm->uni, w);
	return c && lm->nbigrams > lm->unk_cont
		       ? (1.0 - lm->unk_mass) * c->a /
				 (double)(lm->nbigrams - lm->unk_cont)
		       : 0.0;
}

static double p2(const struct ngram_lm *lm, uint32_t v, uint32_t w)
{
	const struct cell *h = map_get(&lm->hist2, v), *b;
	double num;

	if (!h)
		return p1(lm, w);
	b = map_get(&lm->bi, key3(0, v, w));
	num = b && b->a > lm->d2 ? b->a - lm->d2 : 0.0;
	return (num + lm->d2 * h->b * p1(lm, w)) / h->a;
}

double ngram_lm_logp(const struct ngram_lm *lm, uint32_t u, uint32_t v,
		     uint32_t w)
{
	const struct cell *h, *t;
	double num, p;

	if (!lm || w == NGRAM_BOS || w >= lm->nvocab)
		return -INFINITY;
	if (u >= lm->nvocab)
		u = NGRAM_UNK;
	if (v >= lm->nvocab)
		v = NGRAM_UNK;
	h = map_get(&lm->hist3, key3(0, u, v));
	if (!h) {
		p = p2(lm, v, w);
	} else {
		t = map_get(&lm->tri, key3(u, v, w));
		num = t && t->a > lm->d3 ? t->a - lm->d3 : 0.0;
		p = (num + lm->d3 * h->b * p2(lm, v, w)) / h->a;
	}
	return p > 0 ? log(p) : -INFINITY;
}

double ngram_lm_prefix_logp(const struct ngram_lm *lm, uint32_t u, uint32_t v,
			    const char *prefix, size_t len)
{
	size_t lo = 0, hi, i;
	double best = -INFINITY;

	if (!lm || !prefix || len == 0)
		return -INFINITY;
	hi = lm->nsorted;
	/* first word not below the prefix */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strncmp(lm->vocab[lm->sorted[mid]], prefix, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < lm->nsorted; i++) {
		uint32_t w = lm->sorted[i];
		double lp;

		if (strncmp(lm->vocab[w], prefix, len) != 0)
			break;
		lp = ngram_lm_logp(lm, u, v, w);
		best = lp > best ? lp : best;
	}
	if (i == lo)
		best = ngram_lm_logp(lm, u, v, NGRAM_UNK);
	return best;
}
