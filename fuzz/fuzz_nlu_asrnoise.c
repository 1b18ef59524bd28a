/* Fuzz target: the ASR-noise confusion table built from any pronunciation
 * dictionary (the input: CMU format, outside data) over a fixed training
 * set and word list must not crash; every alternative it lists is a
 * different word, and noisy copies stay within the output buffer and are
 * deterministic. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engines/lexicon/cmudict.h"
#include "engines/nlu/asrnoise.h"
#include "engines/nlu/classifier.h"

static const char train[] = "a\tmy card is lost\n"
			    "a\tI lost my card, any more?\n"
			    "b\ttop up my account\n"
			    "b\ttransfer money to me\n";
static const char *const words[] = { "cart",   "car",	  "heart", "for",
				     "trance", "anymore", "the",   "pop" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nlu_dataset *ds;
	if (!ds && nlu_dataset_parse(train, sizeof(train) - 1, &ds, NULL))
		abort();
	struct cmudict *d = NULL;
	if (cmudict_parse(&d, (const char *)data, size))
		return 0;
	struct nlu_asrnoise *t = NULL;
	if (nlu_asrnoise_build(&t, d, ds, words,
			       sizeof(words) / sizeof(*words))) {
		cmudict_destroy(d);
		return 0;
	}
	static const char *const probe[] = { "card", "my", "top", "transfer",
					     "lost" };
	for (size_t i = 0; i < sizeof(probe) / sizeof(*probe); i++) {
		size_t n = 0;
		const char *const *a = nlu_asrnoise_find(t, probe[i], &n);
		for (size_t k = 0; k < n; k++)
			if (!a[k][0] || !strcmp(a[k], probe[i]))
				abort();
	}
	struct nlu_asrnoise_rates r = { 1, 0.5f, 1, 0.5f };
	char a[64], b[64];
	for (size_t i = 0; i < ds->n; i++) {
		uint64_t s1 = i, s2 = i;
		int la = nlu_asrnoise_apply(t, &r, ds->text[i], &s1, a,
					    sizeof(a));
		int lb = nlu_asrnoise_apply(t, &r, ds->text[i], &s2, b,
					    sizeof(b));
		if (la != lb ||
		    (la >= 0 && (strlen(a) != (size_t)la || strcmp(a, b))))
			abort();
	}
	nlu_asrnoise_destroy(t);
	cmudict_destroy(d);
	return 0;
}
