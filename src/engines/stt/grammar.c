/* What a recognition step expects (struct stt_grammar): normalized phrases
 * or LM sentences, immutable and refcounted; the parser of grammar and LM
 * text files; snapping an open transcript to the closest phrase. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "engines/stt/stt.h"

#define LM_SENTENCES_MAX 100000u

struct stt_grammar {
	atomic_uint refs;
	enum stt_mode mode;
	unsigned classes;
	uint64_t id;
	size_t n;
	char **phrase; /* n pointers into text */
	char *text;    /* the phrases, NUL-separated */
};

static atomic_uint_fast64_t next_id = 1;

static int is_word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

int stt_text_normalize(const char *in, size_t len, char *out, size_t cap)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0;
	int pending_space = 0;

	for (size_t i = 0; i < len;) {
		size_t k = 1;
		int word = 0;
		if (s[i] >= 0x80) {
			k = utf8_seq_len(s + i, len - i);
			word = k > 0;
			if (!k)
				k = 1;
		} else if (is_word_byte(s[i])) {
			word = 1;
		} else if (s[i] == '\'' && o > 0 && !pending_space &&
			   i + 1 < len &&
			   (is_word_byte(s[i + 1]) || s[i + 1] >= 0x80)) {
			word = 1;
		}
		if (!word) {
			pending_space = o > 0;
			i += k;
			continue;
		}
		if (o + pending_space + k + 1 > cap)
			return -E2BIG;
		if (pending_space)
			out[o++] = ' ';
		pending_space = 0;
		for (size_t j = 0; j < k; j++) {
			unsigned char c = s[i + j];
			out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		i += k;
	}
	out[o] = '\0';
	return (int)o;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Open-addressing set of phrase indexes, for dedupe of up to 100000. */
struct dedupe {
	size_t mask;
	size_t *slot; /* index + 1, 0 empty */
};

static int dedupe_init(struct dedupe *d, size_t n)
{
	size_t cap = 16;
	while (cap < 2 * n + 2)
		cap <<= 1;
	d->slot = calloc(cap, sizeof(*d->slot));
	d->mask = cap - 1;
	return d->slot ? 0 : -ENOMEM;
}

/* Returns 1 if phrase[i] was new (and adds it), 0 if a duplicate. */
static int dedupe_add(struct dedupe *d, char *const *phrase, size_t i)
{
	size_t h = (size_t)hash_str(phrase[i]) & d->mask;
	while (d->slot[h]) {
		if (!strcmp(phrase[d->slot[h] - 1], phrase[i]))
			return 0;
		h = (h + 1) & d->mask;
	}
	d->slot[h] = i + 1;
	return 1;
}

int stt_grammar_create(struct stt_grammar **gp, enum stt_mode mode,
		       const char *const *phrases, size_t n, unsigned classes)
{
	const unsigned all =
		STT_CLASS_DIGITS | STT_CLASS_YESNO | STT_CLASS_NUMBER;
	if (!gp || (n && !phrases) || (classes & ~all))
		return -EINVAL;
	if (mode != STT_MODE_GRAMMAR && mode != STT_MODE_LM)
		return -EINVAL;
	size_t max_n =
		mode == STT_MODE_GRAMMAR ? STT_PHRASES_MAX : LM_SENTENCES_MAX;
	size_t max_len =
		mode == STT_MODE_GRAMMAR ? STT_PHRASE_MAX : STT_TEXT_MAX;
	if (n > max_n)
		return -EINVAL;

	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		if (!phrases[i])
			return -EINVAL;
		size_t l = strlen(phrases[i]);
		if (l > max_len)
			return -EINVAL;
		total += l + 1;
	}

	int err = -ENOMEM;
	struct dedupe d = { 0 };
	struct stt_grammar *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->text = malloc(total + 1);
	g->phrase = calloc(n + 1, sizeof(*g->phrase));
	if (!g->text || !g->phrase || dedupe_init(&d, n))
		goto out;

	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(phrases[i]);
		/* normalizing never grows text: l + 1 bytes always fit */
		int r = stt_text_normalize(phrases[i], l, g->text + off, l + 1);
		if (r <= 0)
			continue;
		g->phrase[g->n] = g->text + off;
		if (!dedupe_add(&d, g->phrase, g->n))
			continue;
		g->n++;
		off += (size_t)r + 1;
	}
	if (!g->n && !(mode == STT_MODE_GRAMMAR && classes)) {
		err = -EINVAL;
		goto out;
	}
	atomic_init(&g->refs, 1);
	g->mode = mode;
	g->classes = mode == STT_MODE_GRAMMAR ? classes : 0;
	g->id = atomic_fetch_add(&next_id, 1);
	*gp = g;
	g = NULL;
	err = 0;
out:
	free(d.slot);
	if (g) {
		free(g->text);
		free(g->phrase);
		free(g);
	}
	return err;
}

struct stt_grammar *stt_grammar_ref(struct stt_grammar *g)
{
	if (g)
		atomic_fetch_add(&g->refs, 1);
	return g;
}

struct stt_grammar *stt_grammar_deref(struct stt_grammar *g)
{
	if (g && atomic_fetch_sub(&g->refs, 1) == 1) {
		free(g->text);
		free(g->phrase);
		free(g);
	}
	return NULL;
}

enum stt_mode stt_grammar_mode(const struct stt_grammar *g)
{
	return g ? g->mode : STT_MODE_OPEN;
}

unsigned stt_grammar_classes(const struct stt_grammar *g)
{
	return g ? g->classes : 0;
}

size_t stt_grammar_count(const struct stt_grammar *g)
{
	return g ? g->n : 0;
}

const char *stt_grammar_phrase(const struct stt_grammar *g, size_t i)
{
	return g && i < g->n ? g->phrase[i] : NULL;
}

uint64_t stt_grammar_id(const struct stt_grammar *g)
{
	return g ? g->id : 0;
}

/* The next word of *p (skipping spaces): its start, length in *len; NULL
 * at the end. Advances *p past it. */
static const char *next_word(const char **p, size_t *len)
{
	const char *s = *p;
	while (*s == ' ')
		s++;
	if (!*s)
		return NULL;
	const char *e = strchr(s, ' ');
	*len = e ? (size_t)(e - s) : strlen(s);
	*p = s + *len;
	return s;
}

size_t stt_word_edits(const char *ref, const char *hyp, size_t *nref)
{
	/* One row of the edit table over hyp's words, kept for each word of
	 * ref in turn. */
	const char *hw[STT_WER_WORDS_MAX];
	size_t hl[STT_WER_WORDS_MAX], nh = 0, len = 0;
	const char *w;
	for (const char *p = hyp ? hyp : "";
	     nh < STT_WER_WORDS_MAX && (w = next_word(&p, &len));) {
		hw[nh] = w;
		hl[nh++] = len;
	}
	size_t row[STT_WER_WORDS_MAX + 1];
	for (size_t j = 0; j <= nh; j++)
		row[j] = j;
	size_t nr = 0;
	for (const char *p = ref ? ref : "";
	     nr < STT_WER_WORDS_MAX && (w = next_word(&p, &len));) {
		nr++;
		size_t diag = row[0];
		row[0] = nr;
		for (size_t j = 1; j <= nh; j++) {
			size_t up = row[j];
			size_t sub = diag + !(hl[j - 1] == len &&
					      !memcmp(hw[j - 1], w, len));
			size_t best = (up < row[j - 1] ? up : row[j - 1]) + 1;
			row[j] = sub < best ? sub : best;
			diag = up;
		}
	}
	if (nref)
		*nref = nr;
	return row[nh];
}

const char *stt_grammar_snap(const struct stt_grammar *g, const char *text,
			     double max_dist_ratio, double *confidence)
{
	char buf[STT_TEXT_MAX + 1];
	if (!g || !text || !g->n || max_dist_ratio < 0)
		return NULL;
	size_t len = strnlen(text, STT_TEXT_MAX + 1);
	if (len > STT_TEXT_MAX ||
	    stt_text_normalize(text, len, buf, sizeof(buf)) < 0)
		return NULL;
	const char *best = NULL;
	double best_ratio = 0;
	for (size_t i = 0; i < g->n; i++) {
		size_t pw = 0;
		double ratio = (double)stt_word_edits(g->phrase[i], buf, &pw) /
			       (double)(pw ? pw : 1);
		if (ratio <= max_dist_ratio && (!best || ratio < best_ratio)) {
			best = g->phrase[i];
			best_ratio = ratio;
		}
	}
	if (best && confidence)
		*confidence = best_ratio >= 1.0 ? 0.0 : 1.0 - best_ratio;
	return best;
}

static void set_err(char *err, size_t errlen, const char *fmt, size_t line,
		    const char *what)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, line, what);
}

int stt_grammar_parse(const char *buf, size_t len, enum stt_mode mode,
		      unsigned classes, struct stt_grammar **gp, char *err,
		      size_t errlen)
{
	if (!gp || (len && !buf) ||
	    (mode != STT_MODE_GRAMMAR && mode != STT_MODE_LM)) {
		set_err(err, errlen, "line %zu: %s", 0, "bad argument");
		return -EINVAL;
	}
	if (len > STT_GRAMMAR_FILE_MAX) {
		set_err(err, errlen, "line %zu: %s", 0,
			"file larger than 16 MiB");
		return -E2BIG;
	}
	size_t max_n =
		mode == STT_MODE_GRAMMAR ? STT_PHRASES_MAX : LM_SENTENCES_MAX;
	size_t max_len =
		mode == STT_MODE_GRAMMAR ? STT_PHRASE_MAX : STT_TEXT_MAX;
	/* one phrase per line at most: lines bound the array */
	size_t nlines = 1;
	for (size_t i = 0; i < len; i++)
		nlines += buf[i] == '\n';
	if (nlines > max_n)
		nlines = max_n;
	char *copy = malloc(len + 1);
	const char **ph = calloc(nlines, sizeof(*ph));
	if (!copy || !ph) {
		free(copy);
		free(ph);
		set_err(err, errlen, "line %zu: %s", 0, "out of memory");
		return -ENOMEM;
	}
	if (len)
		memcpy(copy, buf, len);
	copy[len] = '\0';

	int rc = 0;
	size_t n = 0, line = 0;
	char *p = copy, *end = copy + len;
	while (p < end) {
		line++;
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *eol = nl ? nl : end;
		if (memchr(p, '\0', (size_t)(eol - p))) {
			set_err(err, errlen, "line %zu: %s", line,
				"NUL byte in text");
			rc = -EBADMSG;
			break;
		}
		*eol = '\0';
		if (eol > p && eol[-1] == '\r')
			eol[-1] = '\0';
		char *s = p, *line_start = p;
		p = eol + 1;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '#')
			continue;
		if (mode == STT_MODE_LM) {
			/* label<TAB>text: the text is what the LM learns */
			char *tab = strchr(line_start, '\t');
			if (tab) {
				if (tab < s) {
					set_err(err, errlen, "line %zu: %s",
						line, "empty label before tab");
					rc = -EBADMSG;
					break;
				}
				s = tab + 1;
				if (strchr(s, '\t')) {
					set_err(err, errlen, "line %zu: %s",
						line, "more than two columns");
					rc = -EBADMSG;
					break;
				}
			}
		}
		if (strlen(s) > max_len) {
			set_err(err, errlen, "line %zu: %s", line,
				mode == STT_MODE_GRAMMAR
					? "phrase longer than 128 bytes"
					: "sentence longer than 1024 bytes");
			rc = -EBADMSG;
			break;
		}
		if (n == max_n) {
			set_err(err, errlen, "line %zu: %s", line,
				mode == STT_MODE_GRAMMAR
					? "more than 200 phrases"
					: "more than 100000 sentences");
			rc = -EBADMSG;
			break;
		}
		ph[n++] = s;
	}
	if (!rc) {
		rc = stt_grammar_create(gp, mode, ph, n, classes);
		if (rc == -EINVAL)
			set_err(err, errlen, "line %zu: %s", line,
				"no phrase (only blank lines, comments or "
				"punctuation)");
		else if (rc)
			set_err(err, errlen, "line %zu: %s", line,
				"out of memory");
	}
	free(ph);
	free(copy);
	return rc;
}
