/* ASR-noise confusion table and noiser (asrnoise.h).
 *
 * Pronunciations are reduced to broad phone classes, one letter per phone
 * (T and D are both 't', IH and IY both 'i', ...): recognizers confuse
 * within a class far more than across. Every dictionary pronunciation is
 * indexed under its class string and the strings with one letter deleted
 * (the SymSpell trick), so the neighbours of a word are found by a few
 * binary searches instead of comparing it with 130k entries; an edit
 * distance on the class strings then keeps the close ones. */
#include "engines/nlu/asrnoise.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/lexicon/cmudict.h"
#include "engines/nlu/classifier.h"
#include "engines/nlu/tokenize.h"

/* Longest class string considered (phones of one word). */
#define KEY_MAX 24

struct phone_class {
	const char *phone;
	char cls;
};

static const struct phone_class classes[] = {
	{ "AA", 'a' }, { "AO", 'a' }, { "AH", 'a' }, { "AW", 'a' },
	{ "AE", 'e' }, { "EH", 'e' }, { "IH", 'i' }, { "IY", 'i' },
	{ "UH", 'u' }, { "UW", 'u' }, { "EY", 'E' }, { "AY", 'E' },
	{ "OW", 'o' }, { "OY", 'o' }, { "ER", 'R' }, { "P", 'p' },
	{ "B", 'p' },  { "T", 't' },  { "D", 't' },  { "K", 'k' },
	{ "G", 'k' },  { "F", 'f' },  { "V", 'f' },  { "TH", 'f' },
	{ "DH", 'f' }, { "S", 's' },  { "Z", 's' },  { "SH", 'S' },
	{ "ZH", 'S' }, { "CH", 'S' }, { "JH", 'S' }, { "HH", 'h' },
	{ "M", 'n' },  { "N", 'n' },  { "NG", 'n' }, { "L", 'l' },
	{ "R", 'r' },  { "W", 'w' },  { "Y", 'y' },
};

struct nlu_asrnoise {
	char **word;   /* sorted training words with alternatives */
	uint32_t *off; /* alternatives of word[i]: alt[off[i]..off[i+1]) */
	size_t nword;
	char **alt;
	size_t nalt;
	char **pair; /* sorted "w1 w2" */
	char **merged;
	size_t npair;
};

/* The class string of a pronunciation ("K AA R D" -> "kart"); 0 when a
 * phone is unknown or the string is too long. */
static size_t pron_key(const char *pron, char *key)
{
	size_t n = 0;
	while (*pron) {
		while (*pron == ' ')
			pron++;
		if (!*pron)
			break;
		char ph[4];
		size_t l = 0;
		while (pron[l] && pron[l] != ' ' && l < 3) {
			ph[l] = pron[l];
			l++;
		}
		if (pron[l] && pron[l] != ' ')
			return 0;
		ph[l] = '\0';
		pron += l;
		/* stress digits (other dictionaries) */
		if (l > 1 && ph[l - 1] >= '0' && ph[l - 1] <= '9')
			ph[l - 1] = '\0';
		char c = 0;
		for (size_t i = 0; i < sizeof(classes) / sizeof(*classes); i++)
			if (!strcmp(ph, classes[i].phone))
				c = classes[i].cls;
		if (!c || n + 1 >= KEY_MAX)
			return 0;
		key[n++] = c;
	}
	key[n] = '\0';
	return n;
}

static uint64_t key_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h ? h : 1;
}

static unsigned edit_distance(const char *a, size_t na, const char *b,
			      size_t nb)
{
	unsigned row[KEY_MAX + 1];
	for (size_t j = 0; j <= nb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= na; i++) {
		unsigned diag = row[0];
		row[0] = (unsigned)i;
		for (size_t j = 1; j <= nb; j++) {
			unsigned up = row[j];
			unsigned best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[nb];
}

/* Dictionary entries as (cleaned word, class string). */
struct dentry {
	char word[NLU_TOKEN_LEN_MAX];
	char key[KEY_MAX];
	uint8_t klen;
	uint32_t rank; /* frequency rank of the word (lower: commoner) */
	bool vocab;    /* a training word */
};

struct posting {
	uint64_t h;
	uint32_t e; /* dentry index */
};

struct index {
	struct dentry *d; /* sorted by word, then class string */
	size_t nd;
	struct posting *p; /* sorted by h, then e */
	size_t np;
};

static int cmp_posting(const void *a, const void *b)
{
	const struct posting *x = a, *y = b;
	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return (x->e > y->e) - (x->e < y->e);
}

static int cmp_dentry(const void *a, const void *b)
{
	const struct dentry *x = a, *y = b;
	int c = strcmp(x->word, y->word);
	return c ? c : strcmp(x->key, y->key);
}

/* Index of w in the sorted v, or n. */
static size_t sorted_find(char *const *v, size_t n, const char *w)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(v[mid], w);
		if (!c)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return n;
}

/* The dictionary word as the tokenizer would write it: lowercase letters,
 * apostrophes dropped; false for anything else. */
static bool clean_word(const char *w, char *out)
{
	size_t n = 0;
	for (; *w; w++) {
		char c = *w;
		if (c == '\'')
			continue;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c < 'a' || c > 'z' || n + 1 >= NLU_TOKEN_LEN_MAX)
			return false;
		out[n++] = c;
	}
	out[n] = '\0';
	return n >= 2 || (n == 1 && (out[0] == 'a' || out[0] == 'i'));
}

static void index_free(struct index *ix)
{
	free(ix->d);
	free(ix->p);
}

/* Indexes the entries of dict whose word is in known (sorted). */
static int index_build(struct index *ix, const struct cmudict *dict,
		       char **known, const uint32_t *rank, size_t nknown,
		       char **vocab, size_t nv)
{
	size_t n = cmudict_count(dict);
	memset(ix, 0, sizeof(*ix));
	ix->d = malloc((n ? n : 1) * sizeof(*ix->d));
	if (!ix->d)
		return -ENOMEM;
	const char *w, *pron;
	for (size_t i = 0; cmudict_entry(dict, i, &w, &pron, NULL) == 0; i++) {
		struct dentry *e = &ix->d[ix->nd];
		size_t at;
		if (!clean_word(w, e->word) ||
		    (at = sorted_find(known, nknown, e->word)) == nknown)
			continue;
		e->rank = rank[at];
		e->vocab = sorted_find(vocab, nv, e->word) != nv;
		size_t kl = pron_key(pron, e->key);
		if (!kl)
			continue;
		e->klen = (uint8_t)kl;
		ix->nd++;
	}
	size_t cap = 0;
	for (size_t i = 0; i < ix->nd; i++)
		cap += 1 + (ix->d[i].klen > 1 ? ix->d[i].klen : 0);
	ix->p = malloc((cap ? cap : 1) * sizeof(*ix->p));
	if (!ix->p)
		return -ENOMEM;
	qsort(ix->d, ix->nd, sizeof(*ix->d), cmp_dentry);
	for (size_t i = 0; i < ix->nd; i++) {
		const struct dentry *e = &ix->d[i];
		ix->p[ix->np++] = (struct posting){ key_hash(e->key, e->klen),
						    (uint32_t)i };
		for (size_t j = 0; e->klen > 1 && j < e->klen; j++) {
			char del[KEY_MAX];
			memcpy(del, e->key, j);
			memcpy(del + j, e->key + j + 1, e->klen - j - 1);
			ix->p[ix->np++] =
				(struct posting){ key_hash(del, e->klen - 1u),
						  (uint32_t)i };
		}
	}
	qsort(ix->p, ix->np, sizeof(*ix->p), cmp_posting);
	return 0;
}

/* First posting with hash h (ix->np when none). */
static size_t postings_find(const struct index *ix, uint64_t h)
{
	size_t lo = 0, hi = ix->np;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ix->p[mid].h < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* First dentry index of word, or ix->nd. */
static size_t word_find(const struct index *ix, const char *word)
{
	size_t lo = 0, hi = ix->nd;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(ix->d[mid].word, word) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ix->nd && !strcmp(ix->d[lo].word, word) ? lo : ix->nd;
}

/* Commoner, then shorter, then alphabetical. */
static bool better_word(const struct dentry *a, const struct dentry *b)
{
	if (!b)
		return true;
	if (a->rank != b->rank)
		return a->rank < b->rank;
	size_t la = strlen(a->word), lb = strlen(b->word);
	if (la != lb)
		return la < lb;
	return strcmp(a->word, b->word) < 0;
}

/* The best (better_word) known word whose class string is exactly
 * key[0..len), or NULL. */
static const char *exact_word(const struct index *ix, const char *key,
			      size_t len)
{
	const struct dentry *best = NULL;
	uint64_t h = key_hash(key, len);
	for (size_t p = postings_find(ix, h); p < ix->np && ix->p[p].h == h;
	     p++) {
		const struct dentry *e = &ix->d[ix->p[p].e];
		if (e->klen == len && !memcmp(e->key, key, len) &&
		    better_word(e, best))
			best = e;
	}
	return best ? best->word : NULL;
}

struct cand {
	const char *word;
	unsigned dist;
	uint32_t rank;
	size_t lendiff;
};

static size_t wlen_diff(const char *a, const char *b)
{
	size_t x = strlen(a), y = strlen(b);
	return x > y ? x - y : y - x;
}

/* Closeness and commonness in one figure (lower first): an edit costs as
 * much as a word 16 times rarer, so "car" (one edit, rank ~600) comes
 * before "carte" (no edit, rank ~20000) as a neighbour of "card". */
static unsigned cand_cost(const struct cand *c)
{
	unsigned lg = 0;
	for (uint32_t r = c->rank + 1; r > 1; r >>= 1)
		lg++;
	return 4 * c->dist + lg;
}

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	unsigned cx = cand_cost(x), cy = cand_cost(y);
	if (cx != cy)
		return cx < cy ? -1 : 1;
	if (x->dist != y->dist)
		return x->dist < y->dist ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->lendiff != y->lendiff)
		return x->lendiff < y->lendiff ? -1 : 1;
	return strcmp(x->word, y->word);
}

/* Candidate buffer of one word. */
#define CAND_MAX 4096

static void add_cand(struct cand *c, size_t *n, const struct dentry *e,
		     unsigned dist, const char *self)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(c[i].word, e->word)) {
			if (dist < c[i].dist)
				c[i].dist = dist;
			return;
		}
	if (*n >= CAND_MAX)
		return;
	c[(*n)++] = (struct cand){ e->word, dist, e->rank,
				   wlen_diff(e->word, self) };
}

/* Neighbours of word (all its pronunciations) into c. */
static size_t neighbours(const struct index *ix, const char *word,
			 struct cand *c)
{
	size_t n = 0;
	for (size_t w = word_find(ix, word);
	     w < ix->nd && !strcmp(ix->d[w].word, word); w++) {
		const struct dentry *me = &ix->d[w];
		/* one edit on short words (2 sound many-to-one) */
		unsigned maxd = me->klen <= 4 ? 1 : 2;
		for (size_t j = 0; j <= me->klen; j++) {
			char del[KEY_MAX];
			size_t len = me->klen;
			memcpy(del, me->key, len);
			if (j < me->klen) {
				if (len < 2)
					continue;
				memmove(del + j, del + j + 1, len - j - 1);
				len--;
			}
			uint64_t h = key_hash(del, len);
			for (size_t p = postings_find(ix, h);
			     p < ix->np && ix->p[p].h == h; p++) {
				const struct dentry *e = &ix->d[ix->p[p].e];
				/* a training word in another's place
				 * teaches a wrong intent ("card" ->
				 * "called"): measured worse */
				if (e->vocab)
					continue;
				unsigned d = edit_distance(me->key, me->klen,
							   e->key, e->klen);
				if (d <= maxd)
					add_cand(c, &n, e, d, word);
			}
		}
	}
	qsort(c, n, sizeof(*c), cmp_cand);
	return n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted distinct strings of v (frees the duplicates). */
static size_t uniq(char **v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_str);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k && !strcmp(v[k - 1], v[i])) {
			free(v[i]);
			continue;
		}
		v[k++] = v[i];
	}
	return k;
}

static void free_strs(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

void nlu_asrnoise_destroy(struct nlu_asrnoise *t)
{
	if (!t)
		return;
	free_strs(t->word, t->nword);
	free_strs(t->alt, t->nalt);
	free_strs(t->pair, t->npair);
	free_strs(t->merged, t->npair);
	free(t->off);
	free(t);
}

/* Distinct words (*vocab) and adjacent pairs (*pairs) of ds. */
static int collect(const struct nlu_dataset *ds, char ***vocab, size_t *nv,
		   char ***pairs, size_t *np)
{
	size_t cw = 0;
	struct nlu_tokens *t = malloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < ds->n; i++) {
		if (nlu_tokenize(ds->text[i], t) == 0)
			cw += t->n;
	}
	char **v = malloc((cw ? cw : 1) * sizeof(*v));
	char **p = malloc((cw ? cw : 1) * sizeof(*p));
	size_t n = 0, m = 0;
	int err = -ENOMEM;
	if (!v || !p)
		goto fail;
	for (size_t i = 0; i < ds->n; i++) {
		if (nlu_tokenize(ds->text[i], t))
			continue;
		for (size_t k = 0; k < t->n; k++) {
			const char *w = nlu_tokens_get(t, k);
			if (!(v[n] = strdup(w)))
				goto fail;
			n++;
			if (k + 1 < t->n) {
				size_t a = strlen(w);
				const char *w2 = nlu_tokens_get(t, k + 1);
				size_t b = strlen(w2);
				if (!(p[m] = malloc(a + b + 2)))
					goto fail;
				snprintf(p[m], a + b + 2, "%s %s", w, w2);
				m++;
			}
		}
	}
	free(t);
	*vocab = v;
	*nv = uniq(v, n);
	*pairs = p;
	*np = uniq(p, m);
	return 0;
fail:
	free(t);
	free_strs(v, n);
	free_strs(p, m);
	return err;
}

static int push(char ***v, size_t *n, size_t *cap, const char *s)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 256;
		char **nv = realloc(*v, nc * sizeof(**v));
		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	if (!((*v)[*n] = strdup(s)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

/* Splits of word: prefix and suffix of one of its class strings that are
 * both exactly a dictionary word ("transfer" -> "trance for"). */
static size_t splits(const struct index *ix, const char *word,
		     char out[][2 * NLU_TOKEN_LEN_MAX])
{
	size_t n = 0;
	for (size_t w = word_find(ix, word);
	     w < ix->nd && !strcmp(ix->d[w].word, word) &&
	     n < NLU_ASRNOISE_SPLIT_MAX;
	     w++) {
		const struct dentry *me = &ix->d[w];
		for (size_t j = 2;
		     j + 2 <= me->klen && n < NLU_ASRNOISE_SPLIT_MAX; j++) {
			const char *a = exact_word(ix, me->key, j);
			const char *b =
				a ? exact_word(ix, me->key + j, me->klen - j)
				  : NULL;
			if (!a || !b)
				continue;
			char s[2 * NLU_TOKEN_LEN_MAX];
			snprintf(s, sizeof(s), "%s %s", a, b);
			bool dup = false;
			for (size_t k = 0; k < n; k++)
				dup |= !strcmp(out[k], s);
			if (!dup)
				snprintf(out[n++], sizeof(s), "%s", s);
		}
	}
	return n;
}

struct ranked {
	char *w;
	uint32_t rank;
};

static int cmp_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	int c = strcmp(x->w, y->w);
	return c ? c : (x->rank > y->rank) - (x->rank < y->rank);
}

/* The training vocabulary and words (cleaned), sorted and distinct, with
 * their rank: the index in words, nwords for training words not there. */
static int known_words(char **vocab, size_t nv, const char *const *words,
		       size_t nwords, char ***out, uint32_t **rank, size_t *n)
{
	struct ranked *k = malloc((nv + nwords + 1) * sizeof(*k));
	size_t m = 0;
	int err = -ENOMEM;
	if (!k)
		return -ENOMEM;
	for (size_t i = 0; i < nv + nwords; i++) {
		char w[NLU_TOKEN_LEN_MAX];
		if (i < nv)
			snprintf(w, sizeof(w), "%s", vocab[i]);
		else if (!words[i - nv] || !clean_word(words[i - nv], w))
			continue;
		if (!(k[m].w = strdup(w)))
			goto out;
		k[m++].rank = (uint32_t)(i < nv ? nwords : i - nv);
	}
	qsort(k, m, sizeof(*k), cmp_ranked);
	char **ws = malloc((m + 1) * sizeof(*ws));
	uint32_t *rs = malloc((m + 1) * sizeof(*rs));
	if (!ws || !rs) {
		free(ws);
		free(rs);
		goto out;
	}
	size_t u = 0;
	for (size_t i = 0; i < m; i++) {
		if (u && !strcmp(ws[u - 1], k[i].w)) {
			free(k[i].w); /* the same word, rarer */
			continue;
		}
		ws[u] = k[i].w;
		rs[u++] = k[i].rank;
	}
	m = 0;
	*out = ws;
	*rank = rs;
	*n = u;
	err = 0;
out:
	for (size_t i = 0; i < m; i++)
		free(k[i].w);
	free(k);
	return err;
}

int nlu_asrnoise_build(struct nlu_asrnoise **out, const struct cmudict *dict,
		       const struct nlu_dataset *ds, const char *const *words,
		       size_t nwords)
{
	if (!out || !dict || !ds || (nwords && !words))
		return -EINVAL;
	struct index ix = { 0 };
	char **vocab = NULL, **pairs = NULL, **known = NULL;
	uint32_t *rank = NULL;
	size_t nv = 0, np = 0, nk = 0, wcap = 0, acap = 0, pcap = 0, mcap = 0;
	struct cand *c = malloc(CAND_MAX * sizeof(*c));
	struct nlu_asrnoise *t = calloc(1, sizeof(*t));
	int err = c && t ? 0 : -ENOMEM;
	if (!err)
		err = collect(ds, &vocab, &nv, &pairs, &np);
	if (!err)
		err = known_words(vocab, nv, words, nwords, &known, &rank, &nk);
	if (!err)
		err = index_build(&ix, dict, known, rank, nk, vocab, nv);
	if (err)
		goto out;
	err = -ENOMEM;
	t->off = malloc((nv + 1) * sizeof(*t->off));
	if (!t->off)
		goto out;
	t->off[0] = 0;
	for (size_t i = 0; i < nv; i++) {
		size_t nc = neighbours(&ix, vocab[i], c);
		char sp[NLU_ASRNOISE_SPLIT_MAX][2 * NLU_TOKEN_LEN_MAX];
		size_t ns = splits(&ix, vocab[i], sp);
		if (!nc && !ns)
			continue;
		if (nc > NLU_ASRNOISE_NEIGH_MAX)
			nc = NLU_ASRNOISE_NEIGH_MAX;
		if (push(&t->word, &t->nword, &wcap, vocab[i]))
			goto out;
		for (size_t k = 0; k < nc; k++)
			if (push(&t->alt, &t->nalt, &acap, c[k].word))
				goto out;
		for (size_t k = 0; k < ns; k++)
			if (push(&t->alt, &t->nalt, &acap, sp[k]))
				goto out;
		t->off[t->nword] = (uint32_t)t->nalt;
	}
	for (size_t i = 0; i < np; i++) {
		char *sp = strchr(pairs[i], ' ');
		*sp = '\0';
		char key[2 * KEY_MAX];
		const char *m = NULL;
		for (size_t a = word_find(&ix, pairs[i]);
		     !m && a < ix.nd && !strcmp(ix.d[a].word, pairs[i]); a++) {
			const struct dentry *ea = &ix.d[a];
			for (size_t b = word_find(&ix, sp + 1);
			     !m && b < ix.nd && !strcmp(ix.d[b].word, sp + 1);
			     b++) {
				const struct dentry *eb = &ix.d[b];
				if (ea->klen + eb->klen >= KEY_MAX)
					continue;
				memcpy(key, ea->key, ea->klen);
				memcpy(key + ea->klen, eb->key, eb->klen);
				m = exact_word(&ix, key,
					       (size_t)ea->klen + eb->klen);
				if (m && (!strcmp(m, pairs[i]) ||
					  !strcmp(m, sp + 1)))
					m = NULL;
			}
		}
		*sp = ' ';
		if (!m)
			continue;
		size_t before = t->npair;
		if (push(&t->pair, &t->npair, &pcap, pairs[i]))
			goto out;
		size_t nm = before;
		if (push(&t->merged, &nm, &mcap, m)) {
			free(t->pair[--t->npair]);
			goto out;
		}
	}
	*out = t;
	t = NULL;
	err = 0;
out:
	index_free(&ix);
	free(c);
	free_strs(vocab, nv);
	free_strs(pairs, np);
	free_strs(known, nk);
	free(rank);
	nlu_asrnoise_destroy(t);
	return err;
}

const char *const *nlu_asrnoise_find(const struct nlu_asrnoise *t,
				     const char *word, size_t *n)
{
	if (n)
		*n = 0;
	if (!t || !word)
		return NULL;
	size_t i = sorted_find(t->word, t->nword, word);
	if (i == t->nword)
		return NULL;
	if (n)
		*n = t->off[i + 1] - t->off[i];
	return (const char *const *)t->alt + t->off[i];
}

const char *nlu_asrnoise_merge_find(const struct nlu_asrnoise *t,
				    const char *w1, const char *w2)
{
	if (!t || !w1 || !w2)
		return NULL;
	char s[2 * NLU_TOKEN_LEN_MAX + 2];
	int k = snprintf(s, sizeof(s), "%s %s", w1, w2);
	if (k < 0 || (size_t)k >= sizeof(s))
		return NULL;
	size_t i = sorted_find(t->pair, t->npair, s);
	return i < t->npair ? t->merged[i] : NULL;
}

size_t nlu_asrnoise_words(const struct nlu_asrnoise *t)
{
	return t ? t->nword : 0;
}

size_t nlu_asrnoise_merges(const struct nlu_asrnoise *t)
{
	return t ? t->npair : 0;
}

void nlu_asrnoise_rates_default(struct nlu_asrnoise_rates *r)
{
	r->sub = 0.25f;
	r->split = 0.2f;
	r->merge = 0.2f;
	r->del = 0.05f;
}

static uint64_t next_u64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static float next_unit(uint64_t *s)
{
	return (float)(next_u64(s) >> 40) / (float)(1u << 24);
}

static int emit(char *out, size_t cap, size_t *len, const char *w)
{
	size_t l = strlen(w);
	if (*len + (*len ? 1 : 0) + l + 1 > cap)
		return -E2BIG;
	if (*len)
		out[(*len)++] = ' ';
	memcpy(out + *len, w, l + 1);
	*len += l;
	return 0;
}

int nlu_asrnoise_apply(const struct nlu_asrnoise *t,
		       const struct nlu_asrnoise_rates *r, const char *text,
		       uint64_t *rng, char *out, size_t cap)
{
	if (!t || !r || !text || !rng || !out || !cap)
		return -EINVAL;
	struct nlu_tokens tok;
	if (nlu_tokenize(text, &tok))
		return -EINVAL;
	size_t len = 0, kept = 0;
	out[0] = '\0';
	for (size_t i = 0; i < tok.n; i++) {
		const char *w = nlu_tokens_get(&tok, i);
		const char *m =
			i + 1 < tok.n
				? nlu_asrnoise_merge_find(
					  t, w, nlu_tokens_get(&tok, i + 1))
				: NULL;
		/* one draw per decision, whether it applies or not, so a
		 * word's fate does not shift the next word's draws */
		float u_merge = next_unit(rng), u_del = next_unit(rng);
		float u_sub = next_unit(rng), u_split = next_unit(rng);
		uint64_t pick = next_u64(rng);
		int err = 0;
		if (m && u_merge < r->merge) {
			err = emit(out, cap, &len, m);
			i++;
		} else if (strlen(w) <= 3 && u_del < r->del) {
			continue;
		} else {
			size_t n = 0, ns = 0;
			const char *const *alt = nlu_asrnoise_find(t, w, &n);
			while (ns < n && strchr(alt[n - 1 - ns], ' '))
				ns++;
			const char *pickw = w;
			if (n && u_sub < r->sub) {
				if (ns && (ns == n || u_split < r->split))
					pickw = alt[n - ns + pick % ns];
				else
					pickw = alt[pick % (n - ns)];
			}
			err = emit(out, cap, &len, pickw);
		}
		if (err) {
			out[0] = '\0';
			return err;
		}
		kept++;
	}
	if (!kept && tok.n) {
		/* everything dropped: keep the first word */
		int err = emit(out, cap, &len, nlu_tokens_get(&tok, 0));
		if (err)
			return err;
	}
	return (int)len;
}
