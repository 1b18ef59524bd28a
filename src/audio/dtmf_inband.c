/* In-band DTMF detection (see dtmf_inband.h): eight Goertzel filters over
 * blocks of 102 samples (12.75 ms), a key needs two blocks in a row to start
 * and two without it to end.
 *
 * Why not spandsp's dtmf_rx: librem (linked into voxgate for libre's media
 * helpers) exports goertzel_init/goertzel_reset/goertzel_result, which
 * interpose spandsp's functions of the same names in any process that loads
 * both, and spandsp's detector then reports garbage ("DDDD" for a 440 Hz
 * tone). Our own filters have no such dependency. */
#include "audio/dtmf_inband.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#define BLOCK 102
#define RATE_HZ 8000.0
/* Each tone at least -35 dBm0 (amplitude ~400 of 32767) ... */
#define MIN_AMPLITUDE 400.0f
/* ... the two within 8 dB of each other (twist) ... */
#define MAX_TWIST 6.3f
/* ... each 6 dB above the other tones of its group ... */
#define MIN_PEAK_RATIO 4.0f
/* ... and together most of the block's energy (speech is not). */
#define MIN_TONE_SHARE 0.6f

static const double freqs[8] = { 697, 770, 852, 941, 1209, 1336, 1477, 1633 };
static const char keymap[4][4] = {
	{ '1', '2', '3', 'A' },
	{ '4', '5', '6', 'B' },
	{ '7', '8', '9', 'C' },
	{ '*', '0', '#', 'D' },
};

struct inband_dtmf {
	float coef[8]; /* 2 cos(2 pi f / fs) */
	float s1[8], s2[8];
	float energy; /* sum of x^2 over the block */
	unsigned nblock;
	char prev; /* key seen in the previous block, or 0 */
	char down; /* key currently held down, or 0 */
	unsigned misses;

	char queue[INBAND_DTMF_QUEUE];
	unsigned head; /* index of the oldest key */
	unsigned count;
	unsigned long dropped;
};

static void push(struct inband_dtmf *d, char key)
{
	if (d->count == INBAND_DTMF_QUEUE) {
		d->head = (d->head + 1) % INBAND_DTMF_QUEUE;
		d->count--;
		d->dropped++;
	}
	d->queue[(d->head + d->count) % INBAND_DTMF_QUEUE] = key;
	d->count++;
}

/* Index of the strongest of e[0..3] if it stands out from the others. */
static int peak(const float *e)
{
	int best = 0;
	for (int i = 1; i < 4; i++)
		if (e[i] > e[best])
			best = i;
	for (int i = 0; i < 4; i++)
		if (i != best && e[i] * MIN_PEAK_RATIO > e[best])
			return -1;
	return best;
}

/* The key present in the block just finished, or 0. */
static char classify(struct inband_dtmf *d)
{
	float e[8];
	/* 2|X|^2 / N: the energy the tone contributes to the block, in the
	 * same units as the block energy */
	for (int k = 0; k < 8; k++) {
		float p = d->s1[k] * d->s1[k] + d->s2[k] * d->s2[k] -
			  d->coef[k] * d->s1[k] * d->s2[k];
		e[k] = 2.0f * p / BLOCK;
	}
	int r = peak(e), c = peak(e + 4);
	if (r < 0 || c < 0)
		return 0;
	float er = e[r], ec = e[4 + c];
	const float min_e = BLOCK * MIN_AMPLITUDE * MIN_AMPLITUDE / 2.0f;
	if (er < min_e || ec < min_e)
		return 0;
	if (er > ec * MAX_TWIST || ec > er * MAX_TWIST)
		return 0;
	if (er + ec < MIN_TONE_SHARE * d->energy)
		return 0;
	return keymap[r][c];
}

static void end_block(struct inband_dtmf *d)
{
	char key = classify(d);

	if (d->down) {
		if (key == d->down) {
			d->misses = 0;
		} else if (++d->misses >= 2) {
			d->down = 0;
			d->misses = 0;
		}
	}
	if (!d->down && key && key == d->prev) {
		d->down = key;
		push(d, key);
	}
	d->prev = key;

	for (int k = 0; k < 8; k++)
		d->s1[k] = d->s2[k] = 0;
	d->energy = 0;
	d->nblock = 0;
}

int inband_dtmf_create(struct inband_dtmf **dp)
{
	if (!dp)
		return -EINVAL;
	struct inband_dtmf *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	for (int k = 0; k < 8; k++)
		d->coef[k] =
			(float)(2.0 * cos(2.0 * M_PI * freqs[k] / RATE_HZ));
	*dp = d;
	return 0;
}

int inband_dtmf_feed(struct inband_dtmf *d, const int16_t *pcm, size_t n,
		     char *digits_out, size_t cap)
{
	if (!d || !digits_out || !cap || (n && !pcm))
		return -EINVAL;

	for (size_t i = 0; i < n; i++) {
		float x = pcm[i];
		d->energy += x * x;
		for (int k = 0; k < 8; k++) {
			float s0 = x + d->coef[k] * d->s1[k] - d->s2[k];
			d->s2[k] = d->s1[k];
			d->s1[k] = s0;
		}
		if (++d->nblock == BLOCK)
			end_block(d);
	}

	size_t out = 0;
	while (d->count && out + 1 < cap) {
		digits_out[out++] = d->queue[d->head];
		d->head = (d->head + 1) % INBAND_DTMF_QUEUE;
		d->count--;
	}
	digits_out[out] = '\0';
	return (int)out;
}

unsigned long inband_dtmf_dropped(const struct inband_dtmf *d)
{
	return d ? d->dropped : 0;
}

void inband_dtmf_destroy(struct inband_dtmf *d)
{
	free(d);
}
