/* Quiet after the speech for Moonshine: a clip that ends in a short pause
 * (an endpointed turn: 300 ms of trailing silence) is extended to end
 * TAILPAD_END_MS after its speech, by repeating its own quiet tail. */
#ifndef VG_ENGINES_STT_SHERPA_TAILPAD_H
#define VG_ENGINES_STT_SHERPA_TAILPAD_H
#include <stddef.h>
#include <stdint.h>

#define TAILPAD_MIN_MS 300u /* quiet a clip must end with to be padded */
#define TAILPAD_END_MS 500u /* quiet it ends with once padded */

/* pcm (n samples at 8 kHz) ends with at least TAILPAD_MIN_MS but less than
 * TAILPAD_END_MS of quiet (20 ms frames, counted back from the end, each
 * 30 dB or more under the clip's loudest frame, which must be speech: over
 * -40 dBFS RMS): *outp gets a new malloc'ed copy of *np samples, pcm
 * followed by its quiet tail repeated up to TAILPAD_END_MS of quiet, and 1
 * is returned. A clip that ends in speech (cut at the longest utterance),
 * already ends in enough quiet, or holds no speech is left alone: 0,
 * *outp and *np untouched. -EINVAL (NULL argument), -ENOMEM. Pure. */
int tailpad_clip(const int16_t *pcm, size_t n, int16_t **outp, size_t *np);
#endif
