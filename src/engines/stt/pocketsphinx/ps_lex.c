/* Pronunciations for the PocketSphinx builders: the CMU dictionary in
 * memory (sorted array, binary search) and flite's letter-to-sound for
 * words it does not have. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <flite.h>

#include "engines/stt/pocketsphinx/ps_build.h"

#define LEX_FILE_MAX ((size_t)64 << 20)

/* In flite's cmulex library; its header is not installed. */
cst_lexicon *cmu_lex_init(void);

struct lex_entry {
	const char *word;
	const char *pron;
	unsigned alt; /* (2) -> 1 */
};

struct ps_lexicon {
	char *text;
	struct lex_entry *e;
	size_t n;
};

static int cmp_entry(const void *a, const void *b)
{
	const struct lex_entry *x = a, *y = b;
	int c = strcmp(x->word, y->word);
	if (c)
		return c;
	return x->alt < y->alt ? -1 : x->alt > y->alt;
}

/* Split one line in place into an entry; 0 if it is not one. */
static int parse_line(char *s, struct lex_entry *e)
{
	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s || *s == '#' || *s == ';')
		return 0;
	char *w = s;
	while (*s && *s != ' ' && *s != '\t')
		s++;
	if (!*s)
		return 0;
	*s++ = '\0';
	while (*s == ' ' || *s == '\t')
		s++;
	char *end = s + strlen(s);
	while (end > s &&
	       (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	if (!*s)
		return 0;
	e->alt = 0;
	char *par = strchr(w, '(');
	if (par && par > w) {
		unsigned a = (unsigned)strtoul(par + 1, NULL, 10);
		e->alt = a > 1 ? a - 1 : 0;
		*par = '\0';
	}
	e->word = w;
	e->pron = s;
	return 1;
}

static int lexicon_take(struct ps_lexicon **lp, char *text, size_t len)
{
	size_t lines = 1;
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	struct ps_lexicon *l = calloc(1, sizeof(*l));
	struct lex_entry *e = calloc(lines, sizeof(*e));
	if (!l || !e) {
		free(l);
		free(e);
		free(text);
		return -ENOMEM;
	}
	size_t n = 0;
	for (char *p = text, *end = text + len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl)
			*nl = '\0';
		n += parse_line(p, &e[n]);
		p = nl ? nl + 1 : end;
	}
	if (!n) {
		free(l);
		free(e);
		free(text);
		return -EBADMSG;
	}
	qsort(e, n, sizeof(*e), cmp_entry);
	l->text = text;
	l->e = e;
	l->n = n;
	*lp = l;
	return 0;
}

int ps_lexicon_parse(struct ps_lexicon **lp, const char *text, size_t len)
{
	if (!lp || (len && !text) || len > LEX_FILE_MAX)
		return -EINVAL;
	char *copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	if (len)
		memcpy(copy, text, len);
	copy[len] = '\0';
	/* a NUL inside ends the text: lines after it are not read */
	return lexicon_take(lp, copy, strlen(copy));
}

int ps_lexicon_load(struct ps_lexicon **lp, const char *path)
{
	if (!lp || !path)
		return -EINVAL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return -ENOENT;
	int err = -EIO;
	char *buf = NULL;
	long size = 0;
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 ||
	    (size_t)size > LEX_FILE_MAX || fseek(f, 0, SEEK_SET))
		goto out;
	buf = malloc((size_t)size + 1);
	err = -ENOMEM;
	if (!buf)
		goto out;
	err = -EIO;
	if (fread(buf, 1, (size_t)size, f) != (size_t)size)
		goto out;
	buf[size] = '\0';
	fclose(f);
	return lexicon_take(lp, buf, strlen(buf));
out:
	free(buf);
	fclose(f);
	return err;
}

void ps_lexicon_destroy(struct ps_lexicon *l)
{
	if (!l)
		return;
	free(l->e);
	free(l->text);
	free(l);
}

size_t ps_lexicon_count(const struct ps_lexicon *l)
{
	return l ? l->n : 0;
}

const char *ps_lexicon_find(const struct ps_lexicon *l, const char *word,
			    unsigned i)
{
	if (!l || !word)
		return NULL;
	size_t lo = 0, hi = l->n;
	while (lo < hi) { /* first entry >= word */
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(l->e[mid].word, word) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo + i >= l->n)
		return NULL;
	for (size_t k = lo; k <= lo + i; k++)
		if (strcmp(l->e[k].word, word))
			return NULL;
	return l->e[lo + i].pron;
}

/*
 * Letter-to-sound.
 */
static const char *const cmu_phones[] = {
	"AA", "AE", "AH", "AO", "AW", "AY", "B",  "CH", "D",  "DH",
	"EH", "ER", "EY", "F",	"G",  "HH", "IH", "IY", "JH", "K",
	"L",  "M",  "N",  "NG", "OW", "OY", "P",  "R",	"S",  "SH",
	"T",  "TH", "UH", "UW", "V",  "W",  "Y",  "Z",	"ZH",
};

/* flite phone ("ax0", "ey1", "pau") -> PocketSphinx phone in out; 0 when
 * dropped (pause), -1 unknown. */
static int map_phone(const char *ph, char *out)
{
	char up[4];
	size_t n = 0;
	for (; ph[n] && !(ph[n] >= '0' && ph[n] <= '9'); n++) {
		if (n >= 3)
			return -1;
		char c = ph[n];
		up[n] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
	}
	up[n] = '\0';
	if (!strcmp(up, "PAU") || !strcmp(up, "H#") || !n)
		return 0;
	if (!strcmp(up, "AX"))
		strcpy(up, "AH");
	else if (!strcmp(up, "AXR"))
		strcpy(up, "ER");
	for (size_t i = 0; i < sizeof(cmu_phones) / sizeof(*cmu_phones); i++)
		if (!strcmp(up, cmu_phones[i])) {
			strcpy(out, up);
			return 1;
		}
	return -1;
}

static pthread_mutex_t lts_lock = PTHREAD_MUTEX_INITIALIZER;
static cst_lexicon *lts_lex;

int ps_lts(const char *word, char *out, size_t cap)
{
	if (!ps_word_ok(word) || !out || !cap)
		return -EINVAL;
	char buf[PS_PHONES_MAX];
	size_t len = 0;
	int err = 0;

	/* flite's lexicon is process-wide and not documented as reentrant */
	pthread_mutex_lock(&lts_lock);
	if (!lts_lex)
		lts_lex = cmu_lex_init();
	cst_val *v = lts_lex ? lex_lookup(lts_lex, word, NULL, NULL) : NULL;
	for (const cst_val *p = v; p && !err; p = val_cdr(p)) {
		char ph[4];
		int r = map_phone(val_string(val_car(p)), ph);
		if (r < 0)
			err = -ENOENT;
		else if (r && len + strlen(ph) + 2 > sizeof(buf))
			err = -E2BIG;
		else if (r)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len,
						"%s%s", len ? " " : "", ph);
	}
	if (v)
		delete_val(v);
	pthread_mutex_unlock(&lts_lock);
	if (!err && !len)
		err = -ENOENT;
	if (!err && len + 1 > cap)
		err = -E2BIG;
	if (err)
		return err;
	memcpy(out, buf, len + 1);
	return 0;
}
