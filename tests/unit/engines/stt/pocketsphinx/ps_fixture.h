/* What the PocketSphinx tests share (test_stt_pocketsphinx.c,
 * test_stt_ps_stream.c): flite and the engine with two decoders, opened once
 * per test binary, and telephone speech made with flite. Static helpers:
 * include once per test binary. */
#ifndef VG_TEST_STT_PS_FIXTURE_H
#define VG_TEST_STT_PS_FIXTURE_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "audio/clip.h"
#include "audio/g711.h"
#include "core/clock.h"
#include "engines/stt/pocketsphinx/stt_pocketsphinx.h"
#include "engines/stt/stt.h"
#include "engines/tts/flite/tts_flite.h"

static struct tts_engine *tts;
static struct stt_engine *stt; /* NULL when the model is not installed */
static uint64_t ps_open_us;    /* what opening the engine took */

/* Opens flite, then the engine with two decoders: 0, or the engine's
 * open error (-ENOENT: no model; stt stays NULL), or -1 without flite. */
static inline int ps_fixture_open(void)
{
	struct stt_engine_cfg cfg = { .pool_size = 2 };
	uint64_t t0;
	int err;

	if (tts_flite_ops.open(&tts))
		return -1;
	t0 = clock_mono_us();
	err = stt_pocketsphinx_ops.open(&stt, &cfg);
	ps_open_us = clock_mono_us() - t0;
	if (err)
		stt = NULL;
	return err;
}

static inline void ps_fixture_close(void)
{
	if (stt)
		stt_pocketsphinx_ops.close(stt);
	stt = NULL;
	if (tts)
		tts_flite_ops.close(tts);
	tts = NULL;
}

/* Flite speech, 250 ms of silence either side (an endpointed utterance),
 * through mu-law as on a SIP call. Caller frees. */
static inline int16_t *speak(const char *voice, const char *text, size_t *n)
{
	const struct tts_voice *v = tts_engine_voice_find(tts, voice);
	assert_non_null(v);
	struct audio_clip *c = NULL;
	assert_int_equal(tts_engine_synth(tts, v, text, &c), 0);
	size_t pad = 2000;
	*n = c->nsamples + 2 * pad;
	int16_t *pcm = calloc(*n, sizeof(*pcm));
	assert_non_null(pcm);
	/* a line's noise floor (about -60 dBFS, deterministic) under the
	 * whole utterance: real calls are never digital zero */
	uint32_t seed = 12345;
	for (size_t i = 0; i < *n; i++) {
		seed = seed * 1103515245u + 12345u;
		int noise = (int)((seed >> 16) % 61) - 30;
		int x = (i >= pad && i < pad + c->nsamples)
				? c->samples[i - pad] + noise
				: noise;
		x = x > 32767 ? 32767 : x < -32768 ? -32768 : x;
		pcm[i] = audio_ulaw_decode(audio_ulaw_encode((int16_t)x));
	}
	audio_clip_deref(c);
	return pcm;
}
#endif
