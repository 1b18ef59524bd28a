/* Fuzz target: the GloVe text parser of the NLU word embeddings must reject
 * or accept any input without crashing; an accepted table finds each of
 * its words and gives a unit (or zero) sentence vector. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engines/nlu/embed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nlu_emb *e = NULL;
	if (nlu_emb_parse((const char *)data, size, 0, &e, NULL))
		return 0;
	if (!e->n || !e->dim || e->dim > NLU_EMB_DIM_MAX)
		abort();
	for (uint32_t i = 0; i < e->n; i++) {
		const char *w = e->words + e->woff[i];
		if (nlu_emb_find(e, w, strlen(w)) != (int)i)
			abort();
	}
	struct nlu_tokens t;
	char text[NLU_TEXT_MAX + 1];
	size_t n = size < NLU_TEXT_MAX ? size : NLU_TEXT_MAX;
	memcpy(text, data, n);
	text[n] = '\0';
	float v[NLU_EMB_DIM_MAX];
	if (nlu_tokenize(text, &t))
		abort();
	size_t found = nlu_emb_sentence(e, &t, v);
	double ss = 0;
	for (uint32_t d = 0; d < e->dim; d++)
		ss += (double)v[d] * v[d];
	if (found && ss > 0 && fabs(ss - 1.0) > 1e-3)
		abort();
	nlu_emb_destroy(e);
	return 0;
}
