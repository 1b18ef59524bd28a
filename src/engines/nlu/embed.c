/* Word embedding tables: GloVe text parsing, int8 quantisation, lookup and
 * sentence vectors (see embed.h). */
#include "core/file.h"
#include "engines/nlu/embed.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void nlu_emb_destroy(struct nlu_emb *e)
{
	if (!e)
		return;
	free(e->words);
	free(e->woff);
	free(e->scale);
	free(e->q);
	strtab_fini(&e->tab);
	free(e);
}

/* The text of word id (strtab_key_fn). */
static const char *word_of(const void *ctx, uint32_t id)
{
	const struct nlu_emb *e = ctx;
	return e->words + e->woff[id];
}

/* A new empty table (its index empty too), or NULL. */
static struct nlu_emb *emb_new(void)
{
	struct nlu_emb *e = calloc(1, sizeof(*e));
	if (e)
		strtab_init(&e->tab, word_of, e);
	return e;
}

/* Bytes the tokenizer can put in a token: lower-case ASCII letters, digits
 * and UTF-8 (non-ASCII) bytes. */
static int is_token_word(const char *w, size_t len)
{
	if (!len || len > NLU_TOKEN_LEN_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)w[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c >= 0x80))
			return 0;
	}
	return 1;
}

/* Indexes every word; -EBADMSG on a repeated word. */
static int index_words(struct nlu_emb *e)
{
	int err = strtab_reserve(&e->tab, e->n);
	for (uint32_t i = 0; i < e->n && !err; i++) {
		const char *w = e->words + e->woff[i];
		err = strtab_add(&e->tab, w, strlen(w), i);
	}
	return err == -EEXIST ? -EBADMSG : err;
}

int nlu_emb_find(const struct nlu_emb *e, const char *w, size_t len)
{
	return e && w ? strtab_find(&e->tab, w, len) : -ENOENT;
}

/* Quantises v[0..dim) into q with one scale per vector. */
static float quantise(const float *v, uint32_t dim, int8_t *q)
{
	float mx = 0;
	/* v holds dim numbers (nlu_emb_parse checks the line's count against
	 * e->dim); clang-analyzer loses that across the strtab calls, whose
	 * ctx points back at e */
	for (uint32_t d = 0; d < dim; d++)
		// NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage)
		mx = fabsf(v[d]) > mx ? fabsf(v[d]) : mx;
	float s = mx / 127.0f;
	for (uint32_t d = 0; d < dim; d++)
		q[d] = s > 0 ? (int8_t)lrintf(v[d] / s) : 0;
	return s;
}

/* Growable parse state. */
struct builder {
	struct nlu_emb *e;
	size_t cap_n, cap_words;
};

static int builder_add(struct builder *b, const char *w, size_t len,
		       const float *v)
{
	struct nlu_emb *e = b->e;
	if (e->n >= b->cap_n) {
		size_t nc = b->cap_n ? b->cap_n * 2 : 1024;
		uint32_t *no = realloc(e->woff, nc * sizeof(*no));
		if (!no)
			return -ENOMEM;
		e->woff = no;
		float *ns = realloc(e->scale, nc * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		e->scale = ns;
		int8_t *nq = realloc(e->q, nc * e->dim);
		if (!nq)
			return -ENOMEM;
		e->q = nq;
		b->cap_n = nc;
	}
	if (e->words_len + len + 1 > b->cap_words) {
		size_t nc = (e->words_len + len + 1) * 2;
		char *nw = realloc(e->words, nc);
		if (!nw)
			return -ENOMEM;
		e->words = nw;
		b->cap_words = nc;
	}
	if (!e->words || !e->woff || !e->scale || !e->q)
		return -ENOMEM; /* unreachable: the growth above allocated */
	e->woff[e->n] = (uint32_t)e->words_len;
	memcpy(e->words + e->words_len, w, len);
	e->words[e->words_len + len] = '\0';
	e->words_len += len + 1;
	e->scale[e->n] = quantise(v, e->dim, e->q + (size_t)e->n * e->dim);
	e->n++;
	return 0;
}

/* Parses the numbers after the word of one NUL-terminated line into v;
 * returns how many (at most NLU_EMB_DIM_MAX + 1), or -1 on a bad one. */
static int parse_numbers(char *p, float *v)
{
	int n = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			return n;
		if (n > NLU_EMB_DIM_MAX)
			return n;
		char *end = NULL;
		errno = 0;
		float f = strtof(p, &end);
		if (end == p || (*end && *end != ' ' && *end != '\t') ||
		    !isfinite(f))
			return -1;
		v[n++] = f;
		p = end;
	}
}

int nlu_emb_parse(const char *buf, size_t len, uint32_t max_words,
		  struct nlu_emb **out, size_t *line)
{
	if (!buf || !out)
		return -EINVAL;
	if (len > NLU_EMB_BYTES_MAX)
		return -E2BIG;
	struct builder b = { 0 };
	b.e = emb_new();
	char *l = malloc(NLU_EMB_LINE_MAX + 1);
	float *v = malloc((NLU_EMB_DIM_MAX + 1) * sizeof(*v));
	int err = -ENOMEM;
	size_t pos = 0, lineno = 0;
	if (!b.e || !l || !v)
		goto out;
	while (pos < len && (!max_words || b.e->n < max_words)) {
		const char *s = buf + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - s) : len - pos;
		pos += ll + (nl ? 1 : 0);
		lineno++;
		if (ll && s[ll - 1] == '\r')
			ll--;
		if (!ll)
			continue;
		err = -EBADMSG;
		if (ll > NLU_EMB_LINE_MAX || memchr(s, '\0', ll))
			goto out;
		memcpy(l, s, ll);
		l[ll] = '\0';
		size_t wl = strcspn(l, " \t");
		if (!wl || !l[wl])
			goto out;
		int n = parse_numbers(l + wl, v);
		if (n < 1 || n > NLU_EMB_DIM_MAX)
			goto out;
		if (!b.e->dim)
			b.e->dim = (uint32_t)n;
		if ((uint32_t)n != b.e->dim)
			goto out;
		if (!is_token_word(l, wl))
			continue;
		err = b.e->n >= NLU_EMB_WORDS_MAX ? -E2BIG : 0;
		/* indexed as we go, so a repeated word is seen */
		if (!err && nlu_emb_find(b.e, l, wl) >= 0)
			continue;
		if (!err)
			err = builder_add(&b, l, wl, v);
		if (!err)
			err = strtab_add(&b.e->tab, l, wl, b.e->n - 1);
		if (err)
			goto out;
	}
	err = b.e->n ? 0 : -EBADMSG;
	if (err)
		goto out;
	*out = b.e;
	b.e = NULL;
out:
	if (err && line)
		*line = lineno;
	nlu_emb_destroy(b.e);
	free(l);
	free(v);
	return err;
}

int nlu_emb_load(const char *path, uint32_t max_words, struct nlu_emb **out,
		 size_t *line)
{
	if (!path || !out)
		return -EINVAL;
	char *buf = NULL;
	size_t len = 0;
	int err = file_read_all(path, NLU_EMB_BYTES_MAX, &buf, &len);
	if (!err)
		err = nlu_emb_parse(buf, len, max_words, out, line);
	free(buf);
	return err;
}

int nlu_emb_create(struct nlu_emb **out, uint32_t dim, uint32_t n,
		   const char *words, size_t words_len, const float *scale,
		   const int8_t *q)
{
	if (!out || !dim || dim > NLU_EMB_DIM_MAX || !n ||
	    n > NLU_EMB_WORDS_MAX || !words || !scale || !q)
		return -EINVAL;
	if (!words_len || words[words_len - 1] != '\0')
		return -EBADMSG;
	struct nlu_emb *e = emb_new();
	if (!e)
		return -ENOMEM;
	e->dim = dim;
	e->n = n;
	e->words_len = words_len;
	e->words = malloc(words_len);
	e->woff = malloc((size_t)n * sizeof(*e->woff));
	e->scale = malloc((size_t)n * sizeof(*e->scale));
	e->q = malloc((size_t)n * dim);
	int err = -ENOMEM;
	if (!e->words || !e->woff || !e->scale || !e->q)
		goto fail;
	memcpy(e->words, words, words_len);
	memcpy(e->scale, scale, (size_t)n * sizeof(*scale));
	memcpy(e->q, q, (size_t)n * dim);
	err = -EBADMSG;
	size_t pos = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (pos >= words_len)
			goto fail;
		size_t wl = strlen(e->words + pos);
		if (!is_token_word(e->words + pos, wl) ||
		    !isfinite(e->scale[i]) || e->scale[i] < 0)
			goto fail;
		e->woff[i] = (uint32_t)pos;
		pos += wl + 1;
	}
	if (pos != words_len)
		goto fail;
	err = index_words(e);
	if (err)
		goto fail;
	*out = e;
	return 0;
fail:
	nlu_emb_destroy(e);
	return err;
}

struct nlu_emb *nlu_emb_clone(const struct nlu_emb *e)
{
	struct nlu_emb *c = NULL;
	if (!e || nlu_emb_create(&c, e->dim, e->n, e->words, e->words_len,
				 e->scale, e->q))
		return NULL;
	return c;
}

size_t nlu_emb_sentence(const struct nlu_emb *e, const struct nlu_tokens *t,
			float *out)
{
	memset(out, 0, e->dim * sizeof(*out));
	size_t found = 0;
	for (size_t i = 0; i < t->n; i++) {
		int w = nlu_emb_find(e, nlu_tokens_get(t, i), t->len[i]);
		if (w < 0)
			continue;
		const int8_t *q = e->q + (size_t)w * e->dim;
		float s = e->scale[w];
		for (uint32_t d = 0; d < e->dim; d++)
			out[d] += s * (float)q[d];
		found++;
	}
	double ss = 0;
	for (uint32_t d = 0; d < e->dim; d++)
		ss += (double)out[d] * out[d];
	if (ss > 0) {
		float inv = (float)(1.0 / sqrt(ss));
		for (uint32_t d = 0; d < e->dim; d++)
			out[d] *= inv;
	}
	return found;
}

size_t nlu_emb_mem_bytes(const struct nlu_emb *e)
{
	if (!e)
		return 0;
	return sizeof(*e) + e->words_len + (size_t)e->n * (4 + 4 + e->dim) +
	       strtab_mem_bytes(&e->tab);
}
