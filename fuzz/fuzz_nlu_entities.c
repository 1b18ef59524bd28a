/* Fuzz target: arbitrary bytes through the NLU text path (normalize with and
 * without numbers, entity extraction, Lex V2 slot print), checking that
 * lengths, spans and outputs stay consistent. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engines/nlu/entities.h"
#include "engines/nlu/normalize.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct nlu_entities_opts opts = { .ref_year = 2026,
						       .ref_month = 2,
						       .ref_day = 28 };
	if (size > NLU_ENTITIES_MAX_IN + 16)
		return 0;
	char *text = malloc(size + 1);
	char *out = malloc(4 * size + 16);
	if (!text || !out) {
		free(text);
		free(out);
		return 0;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	size_t len = strlen(text);

	for (unsigned flags = 0; flags < 2; flags++) {
		int n = nlu_normalize_flags(text, flags, out, 4 * size + 16);
		if (len > NLU_NORMALIZE_MAX_IN)
			check(n == -E2BIG);
		else
			check(n >= 0 && (size_t)n == strlen(out));
	}

	struct nlu_entity e[NLU_ENTITIES_MAX];
	size_t n = 0;
	int rc = nlu_entities_extract(text, &opts, e, NLU_ENTITIES_MAX, &n);
	check(rc == 0 || (rc == -E2BIG && len > NLU_ENTITIES_MAX_IN));
	size_t end = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char js[1024];
		check(e[i].off >= end && e[i].off + e[i].len <= len);
		end = e[i].off + e[i].len;
		check(e[i].value[0] != '\0');
		int k = nlu_entity_print_lex(&e[i], js, sizeof(js));
		check(k > 0 && (size_t)k == strlen(js));
	}
	free(text);
	free(out);
	return 0;
}
