/* Fuzz target: the WAV parser. Whatever it accepts must be a sane clip that
 * survives a print/parse round trip unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audio/clip.h"
#include "audio/wav.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audio_clip *c = NULL;
	char err[128];
	int rc = wav_parse(data, size, &c, err, sizeof(err));
	if (rc) {
		check(c == NULL);
		check(rc < 0);
		return 0;
	}
	check(c != NULL);
	check(c->rate_hz >= 4000 && c->rate_hz <= 192000);
	check(c->nsamples <= size); /* at least one byte per sample */

	uint8_t *out = NULL;
	size_t len = 0;
	check(wav_print(c, &out, &len) == 0);
	struct audio_clip *back = NULL;
	check(wav_parse(out, len, &back, NULL, 0) == 0);
	check(back->rate_hz == c->rate_hz && back->nsamples == c->nsamples);
	check(!memcmp(back->samples, c->samples,
		      c->nsamples * sizeof(c->samples[0])));
	audio_clip_deref(back);
	free(out);
	audio_clip_deref(c);
	return 0;
}
