/* Fuzz target: the precomputed sentence vector parser (bench_nlu NLU_VECS)
 * must reject or accept any input without crashing; an accepted table has
 * a dimension within the cap, finds the text of its first line, and holds
 * finite numbers only. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engines/nlu/vecs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nlu_vecs *v = NULL;
	if (nlu_vecs_parse((const char *)data, size, &v, NULL))
		return 0;
	uint32_t dim = nlu_vecs_dim(v);
	if (!dim || dim > NLU_VECS_DIM_MAX || !nlu_vecs_count(v))
		abort();
	/* The first non-blank line's text: the field before its last tab. */
	const char *p = (const char *)data, *end = p + size;
	while (p < end &&
	       (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')))
		p++;
	if (p >= end)
		abort(); /* accepted: a line with a vector */
	const char *eol = memchr(p, '\n', (size_t)(end - p));
	if (!eol)
		eol = end;
	const char *t2 = NULL, *t1 = NULL;
	for (const char *c = p; c < eol; c++)
		if (*c == '\t') {
			t1 = t2;
			t2 = c;
		}
	if (!t2)
		abort();
	const char *ts = t1 ? t1 + 1 : p;
	char *text = malloc((size_t)(t2 - ts) + 1);
	if (!text)
		abort();
	memcpy(text, ts, (size_t)(t2 - ts));
	text[t2 - ts] = '\0';
	/* A text with a NUL byte cannot be looked up as a C string. */
	if (strlen(text) == (size_t)(t2 - ts)) {
		const float *x = nlu_vecs_find(v, text);
		if (!x)
			abort();
		for (uint32_t d = 0; d < dim; d++)
			if (!isfinite(x[d]))
				abort();
	}
	free(text);
	nlu_vecs_destroy(v);
	return 0;
}
