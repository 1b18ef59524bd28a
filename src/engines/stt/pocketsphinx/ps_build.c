/* JSGF, dictionary and ARPA LM builders for the PocketSphinx engine (see
 * ps_build.h). */
#include "engines/stt/pocketsphinx/ps_build.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORD_MAX 63		      /* bytes of a dictionary word */
#define SPOKEN_MAX (STT_TEXT_MAX * 4) /* "9" -> "nine": digits grow */
#define DIGITS_MAX_LEN 20	      /* words of a digit-string class */

/*
 * A growable text with the hard cap PS_TEXT_MAX; the first failure sticks.
 */
struct tbuf {
	char *p;
	size_t len, cap;
	int err;
};

static void tb_put(struct tbuf *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		if (cap > PS_TEXT_MAX + 1) {
			if (b->len + n + 1 > PS_TEXT_MAX + 1) {
				b->err = -E2BIG;
				return;
			}
			cap = PS_TEXT_MAX + 1;
		}
		char *np = realloc(b->p, cap);
		if (!np) {
			b->err = -ENOMEM;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	if (!b->p)
		return; /* not reached: the buffer was just grown */
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void tb_str(struct tbuf *b, const char *s)
{
	if (!s) {
		b->err =
			-EINVAL; /* a caller's bug: fail the build, not crash */
		return;
	}
	tb_put(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void
tb_printf(struct tbuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		if (!b->err)
			b->err = -E2BIG;
		return;
	}
	tb_put(b, tmp, (size_t)n);
}

/* Hand the text over (0) or free it and return the error. */
static int tb_finish(struct tbuf *b, char **outp)
{
	if (!b->err && !b->p)
		tb_put(b, "", 0);
	if (b->err) {
		free(b->p);
		return b->err;
	}
	*outp = b->p;
	return 0;
}

/*
 * Spoken forms.
 */
static const char *const ones[] = {
	"zero",	   "one",     "two",	   "three",    "four",
	"five",	   "six",     "seven",	   "eight",    "nine",
	"ten",	   "eleven",  "twelve",	   "thirteen", "fourteen",
	"fifteen", "sixteen", "seventeen", "eighteen", "nineteen"
};
static const char *const tens[] = { "",	      "",      "twenty", "thirty",
				    "forty",  "fifty", "sixty",	 "seventy",
				    "eighty", "ninety" };

static void say_below_100(struct tbuf *b, unsigned n)
{
	if (n < 20) {
		tb_str(b, ones[n]);
		return;
	}
	tb_str(b, tens[n / 10]);
	if (n % 10) {
		tb_str(b, " ");
		tb_str(b, ones[n % 10]);
	}
}

/* 0..9999 as words: "two thousand fifteen", "three hundred four". */
static void say_cardinal(struct tbuf *b, unsigned n)
{
	if (n == 0) {
		tb_str(b, "zero");
		return;
	}
	const char *sep = "";
	if (n >= 1000) {
		tb_str(b, ones[n / 1000]);
		tb_str(b, " thousand");
		n %= 1000;
		sep = " ";
	}
	if (n >= 100) {
		tb_str(b, sep);
		tb_str(b, ones[n / 100]);
		tb_str(b, " hundred");
		n %= 100;
		sep = " ";
	}
	if (n) {
		tb_str(b, sep);
		say_below_100(b, n);
	}
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int ps_spoken_form(const char *phrase, char *out, size_t cap)
{
	struct tbuf b = { 0 };
	if (!phrase || !out || !cap)
		return -E2BIG;
	const char *p = phrase;
	while (*p) {
		if (*p == ' ') {
			p++;
			continue;
		}
		/* a run of digits or of other word bytes */
		size_t n = 0;
		int digits = is_digit(*p);
		while (p[n] && p[n] != ' ' && is_digit(p[n]) == digits)
			n++;
		if (b.len)
			tb_str(&b, " ");
		if (!digits) {
			tb_put(&b, p, n);
		} else if (n <= 4 && (p[0] != '0' || n == 1)) {
			unsigned v = 0;
			for (size_t i = 0; i < n; i++)
				v = v * 10 + (unsigned)(p[i] - '0');
			say_cardinal(&b, v);
		} else {
			for (size_t i = 0; i < n; i++) {
				if (i)
					tb_str(&b, " ");
				tb_str(&b, ones[p[i] - '0']);
			}
		}
		p += n;
	}
	if (b.err || b.len + 1 > cap) {
		free(b.p);
		return -E2BIG;
	}
	memcpy(out, b.p ? b.p : "", b.len + 1);
	free(b.p);
	return (int)b.len;
}

int ps_word_ok(const char *w)
{
	size_t n = 0;
	if (!w || !*w || *w == '\'')
		return 0;
	for (; w[n]; n++) {
		char c = w[n];
		if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '\'') ||
		    n >= WORD_MAX)
			return 0;
	}
	return 1;
}

/*
 * JSGF.
 */
static const char *const yesno_words[] = {
	"yes",
	"yeah",
	"yep",
	"yes please",
	"correct",
	"that's correct",
	"that's right",
	"right",
	"sure",
	"okay",
	"no",
	"nope",
	"no thanks",
	"not really",
	"incorrect",
	"wrong",
	/* said in full as often as contracted */
	"that is right",
	"that is correct",
};

/* Append the usable words of the spoken form of phrase; returns how many. */
static size_t put_phrase_words(struct tbuf *b, const char *phrase)
{
	char spoken[SPOKEN_MAX];
	size_t n = 0;
	if (ps_spoken_form(phrase, spoken, sizeof(spoken)) < 0)
		return 0;
	for (char *save = NULL, *w = strtok_r(spoken, " ", &save); w;
	     w = strtok_r(NULL, " ", &save)) {
		if (!ps_word_ok(w))
			continue;
		if (n++)
			tb_str(b, " ");
		tb_str(b, w);
	}
	return n;
}

static void put_number_rules(struct tbuf *b)
{
	tb_str(b, "<n1_9> = one | two | three | four | five | six | seven | "
		  "eight | nine;\n");
	tb_str(b, "<n10_19> = ten | eleven | twelve | thirteen | fourteen | "
		  "fifteen | sixteen | seventeen | eighteen | nineteen;\n");
	tb_str(b, "<tens> = twenty | thirty | forty | fifty | sixty | "
		  "seventy | eighty | ninety;\n");
	tb_str(b, "<n1_99> = <n1_9> | <n10_19> | <tens> [<n1_9>];\n");
	tb_str(b, "<n1_999> = <n1_99> | <n1_9> hundred [[and] <n1_99>];\n");
	/* "four thousand two", "twelve hundred" (1100..9999 said in
	 * hundreds) */
	tb_str(b, "<number> = zero | <n1_999> | <n1_9> thousand [[and] "
		  "<n1_999>] | (<n10_19> | <tens> [<n1_9>]) hundred [[and] "
		  "<n1_99>];\n");
}

int ps_jsgf_build(const struct stt_grammar *g, char **outp)
{
	if (!g || !outp || stt_grammar_mode(g) != STT_MODE_GRAMMAR)
		return -EINVAL;
	struct tbuf b = { 0 };
	unsigned cls = stt_grammar_classes(g);
	size_t alts = 0;

	tb_str(&b, "#JSGF V1.0;\ngrammar voxgate;\n");
	struct tbuf ph = { 0 };
	for (size_t i = 0; i < stt_grammar_count(g); i++) {
		size_t mark = ph.len;
		if (alts)
			tb_str(&ph, " | ");
		if (put_phrase_words(&ph, stt_grammar_phrase(g, i))) {
			alts++;
		} else if (!ph.err && ph.p) {
			ph.len = mark; /* nothing usable: take back "|" */
			ph.p[mark] = '\0';
		}
	}
	if (ph.err) {
		b.err = ph.err;
	} else if (alts) {
		tb_str(&b, "<phrase> = ");
		tb_str(&b, ph.p);
		tb_str(&b, ";\n");
	}
	free(ph.p);

	if (cls & STT_CLASS_DIGITS) {
		tb_str(&b, "<digit> = zero | oh | one | two | three | four | "
			   "five | six | seven | eight | nine;\n");
		/* 1..DIGITS_MAX_LEN digits: nested optionals, as JSGF has
		 * no bounded repeat */
		tb_str(&b, "<digits> = <digit>");
		for (int i = 1; i < DIGITS_MAX_LEN; i++)
			tb_str(&b, " [<digit>");
		for (int i = 1; i < DIGITS_MAX_LEN; i++)
			tb_str(&b, "]");
		tb_str(&b, ";\n");
	}
	if (cls & STT_CLASS_YESNO) {
		tb_str(&b, "<yesno> = ");
		for (size_t i = 0;
		     i < sizeof(yesno_words) / sizeof(*yesno_words); i++)
			tb_printf(&b, "%s%s", i ? " | " : "", yesno_words[i]);
		tb_str(&b, ";\n");
	}
	if (cls & STT_CLASS_NUMBER)
		put_number_rules(&b);

	if (!alts && !cls) {
		free(b.p);
		return -EINVAL;
	}
	tb_str(&b, "public <main> = ");
	const char *sep = "";
	if (alts) {
		tb_str(&b, "<phrase>");
		sep = " | ";
	}
	static const struct {
		unsigned bit;
		const char *rule;
	} cl[] = { { STT_CLASS_DIGITS, "<digits>" },
		   { STT_CLASS_YESNO, "<yesno>" },
		   { STT_CLASS_NUMBER, "<number>" } };
	for (size_t i = 0; i < 3; i++) {
		if (!(cls & cl[i].bit))
			continue;
		tb_str(&b, sep);
		tb_str(&b, cl[i].rule);
		sep = " | ";
	}
	tb_str(&b, ";\n");
	return tb_finish(&b, outp);
}

const char *ps_grammar_phrase_of(const struct stt_grammar *g, const char *hyp)
{
	if (!g || !hyp || !*hyp)
		return NULL;
	for (size_t i = 0; i < stt_grammar_count(g); i++) {
		struct tbuf b = { 0 };
		put_phrase_words(&b, stt_grammar_phrase(g, i));
		int same = !b.err && b.p && !strcmp(b.p, hyp);
		free(b.p);
		if (same)
			return stt_grammar_phrase(g, i);
	}
	return NULL;
}

/*
 * String set (vocabularies).
 */
struct strset {
	char **key;
	unsigned *val;
	size_t mask, n;
};

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static int strset_grow(struct strset *s)
{
	size_t cap = s->mask ? (s->mask + 1) * 2 : 64;
	char **key = calloc(cap, sizeof(*key));
	unsigned *val = calloc(cap, sizeof(*val));
	if (!key || !val) {
		free(key);
		free(val);
		return -ENOMEM;
	}
	for (size_t i = 0; s->mask && i <= s->mask; i++) {
		if (!s->key[i])
			continue;
		size_t h = hash_bytes(s->key[i], strlen(s->key[i])) & (cap - 1);
		while (key[h])
			h = (h + 1) & (cap - 1);
		key[h] = s->key[i];
		val[h] = s->val[i];
	}
	free(s->key);
	free(s->val);
	s->key = key;
	s->val = val;
	s->mask = cap - 1;
	return 0;
}

/* Slot of word w[0..n) or of the empty slot where it would go. */
static size_t strset_slot(const struct strset *s, const char *w, size_t n)
{
	size_t h = hash_bytes(w, n) & s->mask;
	while (s->key[h] &&
	       !(strlen(s->key[h]) == n && !memcmp(s->key[h], w, n)))
		h = (h + 1) & s->mask;
	return h;
}

/* Find (returns 1, *val) or with add insert w with value *val (returns 0);
 * -ENOMEM. */
static int strset_get(struct strset *s, const char *w, size_t n, int add,
		      unsigned *val)
{
	if (!s->mask) {
		if (!add)
			return 0;
		if (strset_grow(s))
			return -ENOMEM;
	}
	size_t h = strset_slot(s, w, n);
	if (s->key[h]) {
		*val = s->val[h];
		return 1;
	}
	if (!add)
		return 0;
	if ((s->n + 1) * 2 > s->mask + 1) {
		if (strset_grow(s))
			return -ENOMEM;
		h = strset_slot(s, w, n);
	}
	char *k = malloc(n + 1);
	if (!k)
		return -ENOMEM;
	memcpy(k, w, n);
	k[n] = '\0';
	s->key[h] = k;
	s->val[h] = *val;
	s->n++;
	return 0;
}

static void strset_free(struct strset *s)
{
	for (size_t i = 0; s->mask && i <= s->mask; i++)
		free(s->key[i]);
	free(s->key);
	free(s->val);
}

/*
 * Dictionary.
 */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add the usable words of text (spoken form) to set. */
static int add_words(struct strset *set, const char *phrase)
{
	char spoken[SPOKEN_MAX];
	if (ps_spoken_form(phrase, spoken, sizeof(spoken)) < 0)
		return 0;
	for (char *save = NULL, *w = strtok_r(spoken, " ", &save); w;
	     w = strtok_r(NULL, " ", &save)) {
		unsigned v = 0;
		if (ps_word_ok(w) && strset_get(set, w, strlen(w), 1, &v) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int add_class_words(struct strset *set, unsigned cls)
{
	int err = 0;
	if (cls & (STT_CLASS_DIGITS | STT_CLASS_NUMBER))
		for (size_t i = 0; i < 20 && !err; i++)
			err = add_words(set, ones[i]);
	if (cls & STT_CLASS_DIGITS)
		err = err ? err : add_words(set, "oh");
	if (cls & STT_CLASS_NUMBER) {
		for (size_t i = 2; i < 10 && !err; i++)
			err = add_words(set, tens[i]);
		err = err ? err : add_words(set, "hundred thousand and");
	}
	if (cls & STT_CLASS_YESNO)
		for (size_t i = 0;
		     i < sizeof(yesno_words) / sizeof(*yesno_words) && !err;
		     i++)
			err = add_words(set, yesno_words[i]);
	return err;
}

/*
 * Telephone-band pronunciation variants (GRAMMAR mode). The en-us acoustic
 * model is trained on 16 kHz speech; our audio is 8 kHz upsampled, so
 * nothing is left above 4 kHz, where most of /s/ lives. What remains of an
 * /s/ scores better as the model's weak, flat fricative TH than as S: "six"
 * was heard as "eight" or "two", "yes" as "yep", "speak to someone" lost to
 * a digit string. Each word whose main pronunciation has an S gets a
 * variant with every S as TH ("six(2) TH IH K TH"); the decoder keeps
 * whichever fits. Only grammars get them: a grammar's words are few and
 * far apart, while an n-gram LM's many near neighbours would become
 * confusable (not measured). Plus digit variants for what the telephone
 * band blurs (measured, docs/SPEECH.md): "four" said in two syllables
 * loses to "five" otherwise.
 */
static const struct {
	const char *word, *phones;
} extra_prons[] = {
	{ "four", "F OW ER" },
};

/* Append the variants of word, whose lexicon entries are numbered up to k
 * (k pronunciations so far). */
static void put_band_variants(struct tbuf *out, const struct cmudict *lex,
			      const char *word, unsigned k)
{
	const char *main_pron = cmudict_find(lex, word, 0);
	char v[PS_PHONES_MAX];
	size_t o = 0;
	int changed = 0;
	for (const char *p = main_pron; p && *p;) {
		size_t l = strcspn(p, " ");
		const char *ph = p;
		size_t pl = l;
		if (l == 1 && *p == 'S') {
			ph = "TH";
			pl = 2;
			changed = 1;
		}
		if (o + pl + 2 > sizeof(v)) {
			changed = 0; /* too long: no variant */
			break;
		}
		if (o)
			v[o++] = ' ';
		memcpy(v + o, ph, pl);
		o += pl;
		p += l;
		while (*p == ' ')
			p++;
	}
	v[o] = '\0';
	if (changed)
		tb_printf(out, "%s(%u) %s\n", word, ++k, v);
	for (size_t i = 0; i < sizeof(extra_prons) / sizeof(*extra_prons); i++)
		if (!strcmp(word, extra_prons[i].word))
			tb_printf(out, "%s(%u) %s\n", word, ++k,
				  extra_prons[i].phones);
}

int ps_dict_build(const struct stt_grammar *g, const struct cmudict *lex,
		  int lts, char **outp, char **oovp)
{
	if (!g || !outp)
		return -EINVAL;
	struct strset set = { 0 };
	struct tbuf out = { 0 }, oov = { 0 };
	char **words = NULL;
	int err = 0;

	for (size_t i = 0; i < stt_grammar_count(g) && !err; i++)
		err = add_words(&set, stt_grammar_phrase(g, i));
	if (!err)
		err = add_class_words(&set, stt_grammar_classes(g));
	if (!err && set.n) {
		words = malloc(set.n * sizeof(*words));
		if (!words)
			err = -ENOMEM;
	}
	if (err)
		goto out;
	int grammar = stt_grammar_mode(g) == STT_MODE_GRAMMAR;
	size_t n = 0;
	for (size_t i = 0; words && set.mask && i <= set.mask; i++)
		if (set.key[i])
			words[n++] = set.key[i];
	if (n)
		qsort(words, n, sizeof(*words), cmp_str);
	for (size_t i = 0; i < n; i++) {
		const char *pron = lex ? cmudict_find(lex, words[i], 0) : NULL;
		char phones[PS_PHONES_MAX];
		if (pron) {
			unsigned k = 0;
			for (; (pron = cmudict_find(lex, words[i], k)); k++)
				if (k)
					tb_printf(&out, "%s(%u) %s\n", words[i],
						  k + 1, pron);
				else
					tb_printf(&out, "%s %s\n", words[i],
						  pron);
			if (grammar)
				put_band_variants(&out, lex, words[i], k);
		} else if (lts && !ps_lts(words[i], phones, sizeof(phones))) {
			tb_printf(&out, "%s %s\n", words[i], phones);
		} else {
			if (oov.len)
				tb_str(&oov, " ");
			tb_str(&oov, words[i]);
		}
	}
	err = out.err ? out.err : oov.err;
	if (err)
		goto out;
	err = tb_finish(&out, outp);
	out.p = NULL;
	if (err)
		goto out;
	if (oovp) {
		err = tb_finish(&oov, oovp);
		oov.p = NULL;
		if (err) {
			free(*outp);
			goto out;
		}
	}
out:
	free(out.p);
	free(oov.p);
	free(words);
	strset_free(&set);
	return err;
}

/*
 * ARPA LM: counts in a hash of n-grams (ids of words), then interpolated
 * Witten-Bell. For history h with c(h) tokens after it and T(h) distinct
 * words after it:
 *   P(w|h) = (c(h,w) + T(h) P(w|h')) / (c(h) + T(h))  for seen (h,w)
 *   bow(h) = T(h) / (c(h) + T(h))                      for the rest
 * so every seen and unseen w gets what the interpolated estimate gives, and
 * each P(.|h) sums to one. Unigrams interpolate with the uniform
 * distribution over the vocabulary (</s> included, <s> never predicted).
 */
struct ngram {
	uint32_t w[3];
	uint32_t order;
	uint32_t count;	 /* times seen */
	uint32_t hcount; /* tokens seen after it, as a history */
	uint32_t types;	 /* distinct words seen after it */
	double p;	 /* probability */
	double bow;	 /* backoff weight (linear) */
};

struct ngtab {
	struct ngram *e;
	size_t n, cap;
	uint32_t *slot; /* index + 1, 0 empty */
	size_t mask;
};

static uint64_t ngram_hash(uint32_t order, const uint32_t *w)
{
	uint64_t h = order * 0x9e3779b97f4a7c15ull;
	for (uint32_t i = 0; i < order; i++)
		h = (h ^ w[i]) * 0xff51afd7ed558ccdull;
	return h ^ (h >> 29);
}

static int ngtab_rehash(struct ngtab *t, size_t nslots)
{
	uint32_t *slot = calloc(nslots, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		size_t h = ngram_hash(t->e[i].order, t->e[i].w) & (nslots - 1);
		while (slot[h])
			h = (h + 1) & (nslots - 1);
		slot[h] = (uint32_t)i + 1;
	}
	free(t->slot);
	t->slot = slot;
	t->mask = nslots - 1;
	return 0;
}

/* Index of the n-gram, added with zero counts if new (*isnew); negative
 * errno. */
static long ngtab_get(struct ngtab *t, uint32_t order, const uint32_t *w,
		      int *isnew)
{
	if (!t->slot && ngtab_rehash(t, 1024))
		return -ENOMEM;
	size_t h = ngram_hash(order, w) & t->mask;
	for (; t->slot[h]; h = (h + 1) & t->mask) {
		const struct ngram *e = &t->e[t->slot[h] - 1];
		if (e->order == order && !memcmp(e->w, w, order * sizeof(*w)))
			return (long)t->slot[h] - 1;
	}
	if (t->n >= PS_NGRAMS_MAX)
		return -E2BIG;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		struct ngram *e = realloc(t->e, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		t->e = e;
		t->cap = cap;
	}
	struct ngram *e = &t->e[t->n];
	memset(e, 0, sizeof(*e));
	e->order = order;
	memcpy(e->w, w, order * sizeof(*w));
	t->slot[h] = (uint32_t)t->n + 1;
	t->n++;
	*isnew = 1;
	if (t->n * 2 > t->mask + 1 && ngtab_rehash(t, (t->mask + 1) * 2))
		return -ENOMEM;
	return (long)t->n - 1;
}

static long ngtab_find(const struct ngtab *t, uint32_t order, const uint32_t *w)
{
	if (!t->slot)
		return -1;
	size_t h = ngram_hash(order, w) & t->mask;
	for (; t->slot[h]; h = (h + 1) & t->mask) {
		const struct ngram *e = &t->e[t->slot[h] - 1];
		if (e->order == order && !memcmp(e->w, w, order * sizeof(*w)))
			return (long)t->slot[h] - 1;
	}
	return -1;
}

/* Count one n-gram ending at w[order-1]; its history w[0..order-1) is
 * already in t (unigram <s> is added up front). */
static int count_ngram(struct ngtab *t, uint32_t order, const uint32_t *w)
{
	int isnew = 0;
	long i = ngtab_get(t, order, w, &isnew);
	if (i < 0)
		return (int)i;
	t->e[i].count++;
	if (order > 1) {
		long h = ngtab_find(t, order - 1, w);
		if (h < 0)
			return -EINVAL; /* cannot happen: counted before */
		t->e[h].hcount++;
		t->e[h].types += (uint32_t)isnew;
	}
	return 0;
}

struct vocab {
	struct strset ids;
	char **name; /* id -> word (borrowed from ids) */
	size_t n, cap;
};

static long vocab_id(struct vocab *v, const char *w)
{
	unsigned id = (unsigned)v->n;
	int r = strset_get(&v->ids, w, strlen(w), 1, &id);
	if (r < 0)
		return r;
	if (r == 1)
		return id;
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 256;
		char **nn = realloc(v->name, cap * sizeof(*nn));
		if (!nn)
			return -ENOMEM;
		v->name = nn;
		v->cap = cap;
	}
	size_t s = strset_slot(&v->ids, w, strlen(w));
	v->name[v->n++] = v->ids.key[s];
	return id;
}

/* Words of a dictionary text ("word PHONES", "word(2) PHONES"). */
static int dict_words(struct strset *set, const char *dict)
{
	for (const char *p = dict; *p;) {
		const char *eol = strchr(p, '\n');
		size_t l = eol ? (size_t)(eol - p) : strlen(p);
		size_t wl = 0;
		while (wl < l && p[wl] != ' ' && p[wl] != '\t' && p[wl] != '(')
			wl++;
		unsigned v = 0;
		if (wl && strset_get(set, p, wl, 1, &v) < 0)
			return -ENOMEM;
		p += l;
		if (*p)
			p++;
	}
	return 0;
}

static const struct ngtab *sort_tab;

static int cmp_ngram(const void *a, const void *b)
{
	const struct ngram *x = &sort_tab->e[*(const uint32_t *)a];
	const struct ngram *y = &sort_tab->e[*(const uint32_t *)b];
	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	for (uint32_t i = 0; i < x->order; i++)
		if (x->w[i] != y->w[i])
			return x->w[i] < y->w[i] ? -1 : 1;
	return 0;
}

static int count_sentences(const struct stt_grammar *g,
			   const struct strset *dict, unsigned order,
			   struct vocab *v, struct ngtab *t, size_t *nsent)
{
	char spoken[SPOKEN_MAX];
	uint32_t *tok = malloc(sizeof(*tok) * (SPOKEN_MAX / 2 + 2));
	int err = 0;
	if (!tok)
		return -ENOMEM;
	*nsent = 0;
	for (size_t i = 0; i < stt_grammar_count(g) && !err; i++) {
		if (ps_spoken_form(stt_grammar_phrase(g, i), spoken,
				   sizeof(spoken)) < 0)
			continue;
		size_t n = 0;
		tok[n++] = 0;
		for (char *save = NULL, *w = strtok_r(spoken, " ", &save); w;
		     w = strtok_r(NULL, " ", &save)) {
			unsigned dummy;
			if (!ps_word_ok(w) ||
			    (dict && strset_get((struct strset *)dict, w,
						strlen(w), 0, &dummy) != 1))
				continue;
			long id = vocab_id(v, w);
			if (id < 0) {
				err = (int)id;
				break;
			}
			tok[n++] = (uint32_t)id;
		}
		if (err || n == 1)
			continue;
		tok[n++] = 1;
		(*nsent)++;
		for (size_t k = 1; k < n && !err; k++) {
			err = count_ngram(t, 1, &tok[k]);
			if (!err)
				err = count_ngram(t, 2, &tok[k - 1]);
			if (!err && order == 3 && k >= 2)
				err = count_ngram(t, 3, &tok[k - 2]);
		}
	}
	free(tok);
	return err;
}

static void estimate(struct ngtab *t, unsigned order)
{
	double ntok = 0, ntypes = 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->e[i].order == 1 && t->e[i].w[0] != 0) {
			ntok += t->e[i].count;
			ntypes++;
		}
	/* orders in turn: each level reads the one below */
	for (uint32_t o = 1; o <= order; o++) {
		for (size_t i = 0; i < t->n; i++) {
			struct ngram *e = &t->e[i];
			if (e->order != o)
				continue;
			if (o == 1) {
				e->p = e->w[0] == 0 ? 0
						    : (e->count + 1.0) /
							      (ntok + ntypes);
			} else {
				const struct ngram *h =
					&t->e[ngtab_find(t, o - 1, e->w)];
				const struct ngram *lo =
					&t->e[ngtab_find(t, o - 1, e->w + 1)];
				e->p = (e->count + h->types * lo->p) /
				       ((double)h->hcount + h->types);
			}
			e->bow =
				e->types
					? (double)e->types /
						  ((double)e->hcount + e->types)
					: 1.0;
		}
	}
}

static void print_arpa(struct tbuf *b, const struct ngtab *t,
		       const struct vocab *v, unsigned order)
{
	size_t cnt[4] = { 0 };
	uint32_t *idx = malloc(t->n * sizeof(*idx));
	if (!idx) {
		b->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < t->n; i++) {
		idx[i] = (uint32_t)i;
		cnt[t->e[i].order]++;
	}
	sort_tab = t; /* qsort has no context argument in C17 */
	qsort(idx, t->n, sizeof(*idx), cmp_ngram);

	tb_str(b, "\\data\\\n");
	for (unsigned o = 1; o <= order; o++)
		tb_printf(b, "ngram %u=%zu\n", o, cnt[o]);
	uint32_t cur = 0;
	for (size_t k = 0; k < t->n; k++) {
		const struct ngram *e = &t->e[idx[k]];
		if (e->order != cur) {
			cur = e->order;
			tb_printf(b, "\n\\%u-grams:\n", cur);
		}
		double lp = e->p > 0 ? log10(e->p) : -99.0;
		tb_printf(b, "%.6f", lp);
		for (uint32_t i = 0; i < e->order; i++)
			tb_printf(b, " %s", v->name[e->w[i]]);
		if (e->order < order)
			tb_printf(b, " %.6f", log10(e->bow));
		tb_str(b, "\n");
	}
	tb_str(b, "\n\\end\\\n");
	free(idx);
}

int ps_arpa_build(const struct stt_grammar *g, const char *dict, unsigned order,
		  char **outp)
{
	static pthread_mutex_t sort_lock = PTHREAD_MUTEX_INITIALIZER;
	if (!g || !outp || stt_grammar_mode(g) != STT_MODE_LM ||
	    (order != 2 && order != 3))
		return -EINVAL;
	struct strset dset = { 0 };
	struct vocab v = { 0 };
	struct ngtab t = { 0 };
	struct tbuf b = { 0 };
	size_t nsent = 0;
	int err = dict ? dict_words(&dset, dict) : 0;
	if (!err && (vocab_id(&v, "<s>") != 0 || vocab_id(&v, "</s>") != 1))
		err = -ENOMEM;
	uint32_t bos = 0;
	int isnew = 0;
	if (!err && ngtab_get(&t, 1, &bos, &isnew) < 0)
		err = -ENOMEM;
	if (!err)
		err = count_sentences(g, dict ? &dset : NULL, order, &v, &t,
				      &nsent);
	if (!err && !nsent)
		err = -EINVAL;
	if (!err) {
		estimate(&t, order);
		pthread_mutex_lock(&sort_lock);
		print_arpa(&b, &t, &v, order);
		pthread_mutex_unlock(&sort_lock);
		err = tb_finish(&b, outp);
	}
	free(t.e);
	free(t.slot);
	free(v.name);
	strset_free(&v.ids);
	strset_free(&dset);
	return err;
}
