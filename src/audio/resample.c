/* Sample-rate conversion over speexdsp (see resample.h). We track the input
 * phase ourselves so the output count of every call is known before it runs:
 * that lets resampler_process() refuse a short buffer without losing input. */
#include "audio/resample.h"

#include <errno.h>
#include <speex/speex_resampler.h>
#include <stdbool.h>
#include <stdlib.h>

#include "audio/clip.h"

struct resampler {
	SpeexResamplerState *st;
	unsigned in_hz;
	unsigned out_hz;
	/* in_hz/out_hz reduced by their gcd, as speex does internally */
	uint32_t num;
	uint32_t den;
	/* input samples fed so far, modulo num: the output schedule repeats
	 * every num inputs, so this is all the state the count needs */
	uint32_t phase;
};

static uint32_t gcd_u32(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static bool rate_ok(unsigned hz)
{
	return hz >= RESAMPLER_MIN_HZ && hz <= RESAMPLER_MAX_HZ;
}

static uint64_t ceil_div(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

/* Speex emits output k once input sample floor(k * num / den) has arrived, so
 * after T inputs it has produced ceil(T * den / num) outputs. */
static size_t out_count(uint32_t phase, uint32_t num, uint32_t den, size_t nin)
{
	uint64_t before = ceil_div((uint64_t)phase * den, num);
	uint64_t after = ceil_div(((uint64_t)phase + nin) * den, num);
	return (size_t)(after - before);
}

int resampler_create(struct resampler **rp, unsigned in_hz, unsigned out_hz,
		     int quality)
{
	if (!rp || !rate_ok(in_hz) || !rate_ok(out_hz) || quality < 0 ||
	    quality > 10)
		return -EINVAL;

	struct resampler *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;

	int err = 0;
	r->st = speex_resampler_init(1, in_hz, out_hz, quality, &err);
	if (!r->st) {
		free(r);
		return err == RESAMPLER_ERR_ALLOC_FAILED ? -ENOMEM : -EINVAL;
	}
	uint32_t g = gcd_u32(in_hz, out_hz);
	r->in_hz = in_hz;
	r->out_hz = out_hz;
	r->num = in_hz / g;
	r->den = out_hz / g;
	*rp = r;
	return 0;
}

size_t resampler_out_len(const struct resampler *r, size_t nin)
{
	if (!r)
		return 0;
	return out_count(r->phase, r->num, r->den, nin);
}

unsigned resampler_delay(const struct resampler *r)
{
	if (!r)
		return 0;
	int d = speex_resampler_get_output_latency(r->st);
	return d > 0 ? (unsigned)d : 0;
}

int resampler_process(struct resampler *r, const int16_t *in, size_t nin,
		      int16_t *out, size_t *nout)
{
	if (!r || !nout || (nin && !in) || nin > RESAMPLER_MAX_CHUNK)
		return -EINVAL;

	size_t need = out_count(r->phase, r->num, r->den, nin);
	if (need > *nout)
		return -ENOBUFS;
	if (need && !out)
		return -EINVAL;

	size_t done_in = 0, done_out = 0;
	while (done_in < nin) {
		spx_uint32_t ilen = (spx_uint32_t)(nin - done_in);
		spx_uint32_t olen = (spx_uint32_t)(need - done_out);
		int err = speex_resampler_process_int(
			r->st, 0, in + done_in, &ilen, out + done_out, &olen);
		if (err != RESAMPLER_ERR_SUCCESS)
			return -EINVAL;
		/* No progress means our count and speex disagree; stop rather
		 * than spin. Cannot happen while the rate is fixed. */
		if (ilen == 0 && olen == 0)
			break;
		done_in += ilen;
		done_out += olen;
	}
	r->phase = (uint32_t)(((uint64_t)r->phase + done_in) % r->num);
	*nout = done_out;
	return 0;
}

void resampler_reset(struct resampler *r)
{
	if (!r)
		return;
	speex_resampler_reset_mem(r->st);
	r->phase = 0;
}

void resampler_destroy(struct resampler *r)
{
	if (!r)
		return;
	speex_resampler_destroy(r->st);
	free(r);
}

/* Run st over n input samples (NULL: zeros) into out[0..cap), returning the
 * number produced; stops early when out is full. */
static size_t feed(SpeexResamplerState *st, const int16_t *in, size_t n,
		   int16_t *out, size_t cap)
{
	static const int16_t zeros[256];
	size_t done_in = 0, done_out = 0;

	while (done_in < n && done_out < cap) {
		size_t chunk = n - done_in;
		if (!in && chunk > sizeof(zeros) / sizeof(zeros[0]))
			chunk = sizeof(zeros) / sizeof(zeros[0]);
		if (chunk > RESAMPLER_MAX_CHUNK)
			chunk = RESAMPLER_MAX_CHUNK;
		size_t room = cap - done_out;
		if (room > RESAMPLER_MAX_CHUNK)
			room = RESAMPLER_MAX_CHUNK;
		spx_uint32_t ilen = (spx_uint32_t)chunk;
		spx_uint32_t olen = (spx_uint32_t)room;
		if (speex_resampler_process_int(
			    st, 0, in ? in + done_in : zeros, &ilen,
			    out + done_out, &olen) != RESAMPLER_ERR_SUCCESS)
			break;
		if (ilen == 0 && olen == 0)
			break;
		done_in += ilen;
		done_out += olen;
	}
	return done_out;
}

struct audio_clip *audio_clip_resample(struct audio_clip *in, unsigned out_hz)
{
	if (!in || !rate_ok(out_hz) || !rate_ok(in->rate_hz))
		return NULL;
	if (in->rate_hz == out_hz)
		return audio_clip_ref(in);

	/* round(n * out / in) without overflow for any clip that fits in
	 * memory: n < 2^63 / 192000 is far beyond addressable PCM */
	if (in->nsamples > UINT64_MAX / 2 / RESAMPLER_MAX_HZ)
		return NULL;
	uint64_t nout = ((uint64_t)in->nsamples * out_hz + in->rate_hz / 2) /
			in->rate_hz;
	struct audio_clip *out = audio_clip_alloc((size_t)nout, out_hz);
	if (!out)
		return NULL;
	if (nout == 0)
		return out;

	int err = 0;
	SpeexResamplerState *st = speex_resampler_init(
		1, in->rate_hz, out_hz, RESAMPLER_QUALITY_CLIP, &err);
	if (!st)
		return audio_clip_deref(out);
	/* Drop the filter's start-up delay so out[k] lines up with in[k*ratio],
	 * then push zeros through to flush the tail the delay held back. */
	speex_resampler_skip_zeros(st);
	size_t got = feed(st, in->samples, in->nsamples, out->samples, nout);
	size_t flush = (size_t)speex_resampler_get_input_latency(st) * 2 + 16;
	(void)feed(st, NULL, flush, out->samples + got, nout - got);
	speex_resampler_destroy(st);
	/* A shortfall (cannot happen: the flush covers the whole delay) would
	 * stay as the zeros audio_clip_alloc() put there. */
	return out;
}
