/* G.711 mu-law and A-law codecs (PCMU/PCMA) for 16-bit linear PCM: the wire
 * format of every SIP call. Pure functions, thread-safe. */
#ifndef VG_AUDIO_G711_H
#define VG_AUDIO_G711_H
#include <stddef.h>
#include <stdint.h>

/* Decode tables: code -> linear sample. */
extern const int16_t audio_ulaw_to_pcm[256];
extern const int16_t audio_alaw_to_pcm[256];

/* Index of the highest set bit of x | 0xff, minus 7: the G.711 segment of a
 * magnitude (0..7 for anything below 0x8000). */
static inline int audio_g711_segment(int x)
{
	return 31 - __builtin_clz((unsigned)(x | 0xff)) - 7;
}

/* Linear -> mu-law. The bias moves every segment boundary to a power of two,
 * so the segment is the position of the top bit. Branch-free: the sign of
 * speech flips unpredictably. Silence encodes as 0xff. */
static inline uint8_t audio_ulaw_encode(int16_t pcm)
{
	int neg = pcm >> 15; /* 0 or -1 */
	int mask = 0x7f | (~neg & 0x80);
	int x = ((pcm ^ neg) - neg) + 0x84; /* |pcm| + bias */

	/* beyond the last segment: clip to its top code */
	x = x > 0x7fff ? 0x7fff : x;
	int seg = audio_g711_segment(x);
	return (uint8_t)(((seg << 4) | ((x >> (seg + 3)) & 0x0f)) ^ mask);
}

/* Linear -> A-law. Negative values are one's complement (-x - 1 = ~x) so the
 * two halves are symmetric. Even bits are inverted (0x55) on the wire;
 * silence encodes as 0xd5. */
static inline uint8_t audio_alaw_encode(int16_t pcm)
{
	int neg = pcm >> 15;
	int mask = 0x55 | (~neg & 0x80);
	int x = pcm ^ neg;
	int seg = audio_g711_segment(x);
	int shift = seg + 3 + (seg == 0);
	return (uint8_t)(((seg << 4) | ((x >> shift) & 0x0f)) ^ mask);
}

static inline int16_t audio_ulaw_decode(uint8_t code)
{
	return audio_ulaw_to_pcm[code];
}

static inline int16_t audio_alaw_decode(uint8_t code)
{
	return audio_alaw_to_pcm[code];
}

/* Buffer variants: n samples from in to out. in and out must not overlap. */
void audio_ulaw_encode_buf(const int16_t *in, uint8_t *out, size_t n);
void audio_ulaw_decode_buf(const uint8_t *in, int16_t *out, size_t n);
void audio_alaw_encode_buf(const int16_t *in, uint8_t *out, size_t n);
void audio_alaw_decode_buf(const uint8_t *in, int16_t *out, size_t n);
#endif
