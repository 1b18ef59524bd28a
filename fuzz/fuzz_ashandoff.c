/* Fuzz target: AudioSocket hand-offs (telephony/asterisk/ashandoff.c). The
 * UUID and flow name come from FastAGI arguments, i.e. from the dialplan
 * and whatever fed it. Input: lines "P uuid flow" (put) or "T uuid"
 * (take), applied to one table with a clock that advances per line.
 * Invariants: a normalised UUID is 36 bytes of lower-case hex and dashes
 * at 8/13/18/23; a taken flow is what was put last for that UUID. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "telephony/asterisk/ashandoff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_norm(const char *uuid)
{
	char out[37];
	if (ashandoff_uuid_norm(uuid, out))
		return;
	if (strlen(out) != 36)
		abort();
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		char c = out[i];
		if (dash ? c != '-'
			 : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	char *text = malloc(size + 1);
	struct ashandoff *t = calloc(1, sizeof(*t));
	if (!text || !t)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	uint64_t now = 1000;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		now += 7000;
		char *sp = strchr(line, ' ');
		if (!sp)
			continue;
		*sp = '\0';
		char *uuid = sp + 1, *flow = strchr(uuid, ' ');
		if (flow)
			*flow++ = '\0';
		check_norm(uuid);
		char got[64];
		if (line[0] == 'P' && flow) {
			if (ashandoff_put(t, uuid, flow, now) == 0) {
				if (!ashandoff_take(t, uuid, now, got) ||
				    strcmp(got, flow))
					abort();
				(void)ashandoff_put(t, uuid, flow, now);
			}
		} else if (line[0] == 'T') {
			(void)ashandoff_take(t, uuid, now, got);
		}
	}
	free(t);
	free(text);
	return 0;
}
