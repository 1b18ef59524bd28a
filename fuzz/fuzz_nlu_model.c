/* Fuzz target: the NLU model file loader must reject or accept any input
 * without crashing, and a model it accepts must classify and re-serialise
 * to the same bytes (a version 1 file: to a version 2 file that loads;
 * version 3 files carry a perceptron and are written as version 3). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engines/nlu/classifier.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nlu_model *m = NULL;
	char err[128];
	if (nlu_model_load_mem(data, size, &m, err, sizeof(err)))
		return 0;
	struct nlu_result r;
	if (nlu_classify(m, "i lost my card", &r) || r.n == 0)
		abort();
	uint8_t *buf = NULL;
	size_t len = 0;
	if (nlu_model_save_mem(m, &buf, &len))
		abort();
	if (data[8] >= 2 && (len != size || memcmp(buf, data, size)))
		abort();
	struct nlu_model *m2 = NULL;
	if (data[8] < 2 && nlu_model_load_mem(buf, len, &m2, err, sizeof(err)))
		abort();
	nlu_model_destroy(m2);
	free(buf);
	nlu_model_destroy(m);
	return 0;
}
