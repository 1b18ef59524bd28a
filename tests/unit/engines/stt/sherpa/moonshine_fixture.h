/* What the Moonshine tests share (test_moonort.c, ../test_stt_moonshine.c):
 * whether the npm-installed engine is there, the LSan suppression its
 * onnxruntime needs, and telephone speech made with flite. Static helpers:
 * include once per test binary. */
#ifndef VG_TEST_STT_SHERPA_MOONSHINE_FIXTURE_H
#define VG_TEST_STT_SHERPA_MOONSHINE_FIXTURE_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "audio/clip.h"
#include "audio/g711.h"
#include "engines/stt/sherpa/sherpa.h"
#include "engines/tts/tts.h"

/* onnxruntime's cpuinfo allocates its CPU tables once per process and never
 * frees them (32 bytes, in libonnxruntime.so itself): not ours to fix. The
 * same line is in src/engines/stt/sherpa/lsan.supp for other binaries. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:cpuinfo_x86_linux_init\n";
}

/* The model (tokens.txt made at install) and lib, a file of
 * <deps>/sherpa-onnx/ ("libonnxruntime.so" for our own decoder,
 * "libsherpa-onnx-c-api.so" for sherpa-onnx's recognizer). */
static inline bool moonshine_deps_installed(const char *lib)
{
	char p[4096];
	struct stat st;

	snprintf(p, sizeof(p), "%s/moonshine-tiny/tokens.txt",
		 sherpa_deps_dir());
	if (stat(p, &st) != 0)
		return false;
	snprintf(p, sizeof(p), "%s/sherpa-onnx/%s", sherpa_deps_dir(), lib);
	return stat(p, &st) == 0;
}

/* Telephone speech: flite's kal (a native 8 kHz voice, what a phone line
 * carries; slt, synthesized at 16 kHz and band-limited, costs Moonshine
 * about 3x the word errors) through a G.711 mu-law round trip, with pad
 * samples of silence each side. */
static inline struct audio_clip *phone_speech(struct tts_engine *tts,
					      const char *s, size_t pad)
{
	const struct tts_voice *v = tts_engine_voice_find(tts, "kal");
	struct audio_clip *c = NULL, *p;

	assert_non_null(v);
	assert_int_equal(tts_engine_synth(tts, v, s, &c), 0);
	assert_int_equal(c->rate_hz, AUDIO_RATE_HZ);
	p = audio_clip_alloc(c->nsamples + 2 * pad, AUDIO_RATE_HZ);
	assert_non_null(p);
	memset(p->samples, 0, p->nsamples * sizeof(*p->samples));
	for (size_t i = 0; i < c->nsamples; i++)
		p->samples[pad + i] =
			audio_ulaw_decode(audio_ulaw_encode(c->samples[i]));
	audio_clip_deref(c);
	return p;
}
#endif
