/* AudioHook audio frames: de-interleave PCMU or L16 (little endian) 8 kHz
 * mono or stereo binary messages into per-channel PCM16, in the order of
 * the opened media's `channels`. A message may end in the middle of a
 * sample or a stereo pair: the remainder is carried to the next message.
 * Pure, caller storage; any thread. */
#ifndef VG_TELEPHONY_GENESYS_AHMIX_H
#define VG_TELEPHONY_GENESYS_AHMIX_H
#include <stddef.h>
#include <stdint.h>

#include "telephony/genesys/ahmsg.h"

struct ahmix {
	struct ahmsg_media media;
	uint8_t carry[4]; /* bytes of an incomplete frame (< bytes/frame) */
	size_t ncarry;
	uint64_t frames; /* sample frames (one per channel) output so far */
};

/* Returns 0 or -EINVAL (format none, rate not 8000, 0 or > 2 channels). */
int ahmix_init(struct ahmix *x, const struct ahmsg_media *media);

/* Bytes one sample frame (all channels) takes: 1 or 2 for PCMU, 2 or 4
 * for L16. */
size_t ahmix_frame_bytes(const struct ahmix *x);

/* Split data[0..len) into ext and in (each cap samples; either may be
 * NULL to drop that channel). A mono stream fills only the channel it
 * carries. Returns the number of sample frames written (the same count
 * for both channels; a mono stream's other channel is left untouched),
 * or -ENOSPC when cap is too small (nothing consumed). */
int ahmix_split(struct ahmix *x, const uint8_t *data, size_t len, int16_t *ext,
		int16_t *in, size_t cap);

/* Samples ahmix_split() can output for len more bytes (upper bound). */
size_t ahmix_max_frames(const struct ahmix *x, size_t len);

/* The reverse (tests, bench, the Audio Connector sends mono PCMU): build a
 * message from per-channel PCM16 in the media's order. n sample frames;
 * out must hold n * ahmix_frame_bytes(). Returns bytes written or
 * -ENOSPC. A mono media takes the channel it carries. */
int ahmix_join(const struct ahmix *x, const int16_t *ext, const int16_t *in,
	       size_t n, uint8_t *out, size_t cap);
#endif
