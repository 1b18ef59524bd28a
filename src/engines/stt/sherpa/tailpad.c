/* Quiet after the speech for Moonshine (tailpad.h). Moonshine drops or
 * garbles the last word of more clips that end 300 ms after the speech
 * than of clips that end 500 ms after it (BENCHMARKS.md "Where the
 * endpointed turns lose words"); a call's endpointed turn ends 300 ms after
 * it, the set's whole clips 380-720 ms. */
#include "engines/stt/sherpa/tailpad.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FRAME 160u		       /* 20 ms */
#define QUIET_REL_POW 1e-3	       /* 30 dB under the loudest frame */
#define SPEECH_MIN_POW (328.0 * 328.0) /* -40 dBFS RMS */
#define MIN_N (TAILPAD_MIN_MS / 20u)
#define END_N (TAILPAD_END_MS / 20u)

/* Mean square of the frame that ends k frames before the end of pcm. */
static double power_back(const int16_t *pcm, size_t n, size_t k)
{
	const int16_t *f = pcm + n - (k + 1) * FRAME;
	double e2 = 0;

	for (size_t i = 0; i < FRAME; i++)
		e2 += (double)f[i] * f[i];
	return e2 / FRAME;
}

int tailpad_clip(const int16_t *pcm, size_t n, int16_t **outp, size_t *np)
{
	size_t nf, quiet = 0, tail, pad;
	double peak = 0;
	int16_t *out;

	if (!pcm || !outp || !np)
		return -EINVAL;
	/* frames counted back from the end, where the quiet is */
	nf = n / FRAME;
	for (size_t k = 0; k < nf; k++) {
		double p = power_back(pcm, n, k);

		peak = p > peak ? p : peak;
	}
	if (peak < SPEECH_MIN_POW)
		return 0; /* no speech (also nf == 0) */
	while (quiet < nf && power_back(pcm, n, quiet) < peak * QUIET_REL_POW)
		quiet++;
	if (quiet < MIN_N || quiet >= END_N)
		return 0;
	tail = quiet * FRAME;
	pad = (END_N - quiet) * FRAME;
	out = malloc((n + pad) * sizeof(*out));
	if (!out)
		return -ENOMEM;
	memcpy(out, pcm, n * sizeof(*out));
	for (size_t k = 0; k < pad; k++)
		out[n + k] = pcm[n - tail + k % tail];
	*outp = out;
	*np = n + pad;
	return 1;
}
