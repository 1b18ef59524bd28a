/* The CMU pronouncing dictionary in memory: a sorted array of (word,
 * alternate, phones), binary search. Shared by the PocketSphinx builders
 * (stt) and the ASR-noise augmentation of the intent classifier (nlu). */
#include "engines/lexicon/cmudict.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEX_FILE_MAX ((size_t)64 << 20)

struct lex_entry {
	const char *word;
	const char *pron;
	unsigned alt; /* (2) -> 1 */
};

struct cmudict {
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

static int lexicon_take(struct cmudict **lp, char *text, size_t len)
{
	size_t lines = 1;
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	struct cmudict *l = calloc(1, sizeof(*l));
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

int cmudict_parse(struct cmudict **lp, const char *text, size_t len)
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

int cmudict_load(struct cmudict **lp, const char *path)
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

void cmudict_destroy(struct cmudict *l)
{
	if (!l)
		return;
	free(l->e);
	free(l->text);
	free(l);
}

size_t cmudict_count(const struct cmudict *l)
{
	return l ? l->n : 0;
}

const char *cmudict_find(const struct cmudict *l, const char *word, unsigned i)
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

int cmudict_entry(const struct cmudict *l, size_t i, const char **word,
		  const char **pron, unsigned *alt)
{
	if (!l || i >= l->n)
		return -ENOENT;
	if (word)
		*word = l->e[i].word;
	if (pron)
		*pron = l->e[i].pron;
	if (alt)
		*alt = l->e[i].alt;
	return 0;
}
