/* Precomputed sentence vectors: text file parsing and lookup by text (see
 * vecs.h). */
#include "engines/nlu/vecs.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/strtab.h"

struct nlu_vecs {
	uint32_t dim;
	size_t n;
	char **text;	   /* n, owned */
	float *v;	   /* n * dim */
	struct strtab tab; /* text -> index */
};

void nlu_vecs_destroy(struct nlu_vecs *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++)
		free(v->text[i]);
	free(v->text);
	free(v->v);
	strtab_fini(&v->tab);
	free(v);
}

uint32_t nlu_vecs_dim(const struct nlu_vecs *v)
{
	return v ? v->dim : 0;
}

size_t nlu_vecs_count(const struct nlu_vecs *v)
{
	return v ? v->n : 0;
}

/* The text of sentence id (strtab_key_fn). */
static const char *text_of(const void *ctx, uint32_t id)
{
	const struct nlu_vecs *v = ctx;
	return v->text[id];
}

const float *nlu_vecs_find(const struct nlu_vecs *v, const char *text)
{
	int i = v && text ? strtab_find(&v->tab, text, strlen(text)) : -ENOENT;
	return i >= 0 ? v->v + (size_t)i * v->dim : NULL;
}

/* Parses the space-separated numbers of [p, end) into out (at most
 * NLU_VECS_DIM_MAX). Returns how many, or -EBADMSG. */
static int parse_numbers(const char *p, const char *end, float *out)
{
	int n = 0;
	char num[64];
	for (;;) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			return n;
		const char *q = p;
		while (q < end && *q != ' ' && *q != '\t')
			q++;
		if (n == NLU_VECS_DIM_MAX || (size_t)(q - p) >= sizeof(num))
			return -EBADMSG;
		memcpy(num, p, (size_t)(q - p));
		num[q - p] = '\0';
		char *e = NULL;
		float f = strtof(num, &e);
		if (e != num + (q - p) || !isfinite(f))
			return -EBADMSG;
		out[n++] = f;
		p = q;
	}
}

/* Appends one sentence (text of len bytes, vector x); -ENOMEM. */
static int add_sentence(struct nlu_vecs *v, size_t *cap, const char *text,
			size_t len, const float *x)
{
	if (v->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 1024;
		char **nt = realloc(v->text, nc * sizeof(*nt));
		if (!nt)
			return -ENOMEM;
		v->text = nt;
		float *nv = realloc(v->v, nc * v->dim * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		v->v = nv;
		*cap = nc;
	}
	char *t = malloc(len + 1);
	if (!t)
		return -ENOMEM;
	memcpy(t, text, len);
	t[len] = '\0';
	v->text[v->n] = t;
	memcpy(v->v + v->n * v->dim, x, v->dim * sizeof(*x));
	v->n++;
	return 0;
}

/* Builds the lookup table; a repeated text keeps its first vector (the
 * later copy stays in the arrays, unreachable). */
static int index_sentences(struct nlu_vecs *v)
{
	int err = strtab_reserve(&v->tab, v->n);
	for (size_t i = 0; i < v->n && !err; i++) {
		err = strtab_add(&v->tab, v->text[i], strlen(v->text[i]),
				 (uint32_t)i);
		if (err == -EEXIST)
			err = 0;
	}
	return err;
}

int nlu_vecs_parse(const char *buf, size_t len, struct nlu_vecs **out,
		   size_t *line)
{
	if (!buf || !out)
		return -EINVAL;
	if (len > NLU_VECS_BYTES_MAX)
		return -E2BIG;
	struct nlu_vecs *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	strtab_init(&v->tab, text_of, v);
	float x[NLU_VECS_DIM_MAX];
	size_t cap = 0, ln = 0;
	int err = 0;
	const char *p = buf, *end = buf + len;
	while (p < end && !err) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		ln++;
		const char *le = eol;
		if (le > p && le[-1] == '\r')
			le--;
		if (le == p) {
			p = eol + 1;
			continue;
		}
		err = -EBADMSG;
		const char *t2 = NULL, *t1 = NULL; /* last and previous tab */
		for (const char *c = p; c < le; c++) {
			if (*c == '\t') {
				t1 = t2;
				t2 = c;
			}
		}
		if (!t2)
			break;
		const char *ts = t1 ? t1 + 1 : p;
		if (ts == t2)
			break;
		int d = parse_numbers(t2 + 1, le, x);
		if (d <= 0 || (v->dim && (uint32_t)d != v->dim))
			break;
		v->dim = (uint32_t)d;
		err = v->n == NLU_VECS_MAX
			      ? -E2BIG
			      : add_sentence(v, &cap, ts, (size_t)(t2 - ts), x);
		p = eol + 1;
	}
	if (!err && !v->n)
		err = -EBADMSG;
	if (!err)
		err = index_sentences(v);
	if (err) {
		if (err == -EBADMSG && line)
			*line = ln;
		nlu_vecs_destroy(v);
		return err;
	}
	*out = v;
	return 0;
}

int nlu_vecs_load(const char *path, struct nlu_vecs **out, size_t *line)
{
	if (!path || !out)
		return -EINVAL;
	char *buf = NULL;
	size_t len = 0;
	int err = file_read_all(path, NLU_VECS_BYTES_MAX, &buf, &len);
	if (!err)
		err = nlu_vecs_parse(buf, len, out, line);
	free(buf);
	return err;
}
