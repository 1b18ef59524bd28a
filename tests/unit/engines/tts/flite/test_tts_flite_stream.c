/* Streaming synthesis of the flite engine: samples are published while the
 * sentence is still being synthesized, and the streamed audio matches what
 * synth() returns (bit-exact for kal, same length and close for slt, whose
 * excitation noise is random). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "audio/clip.h"
#include "audio/stream.h"
#include "core/clock.h"
#include "engines/tts/flite/tts_flite.h"

static const char long_text[] =
	"Thank you for calling voxgate bank. Your call is important to us. "
	"For balances and recent transactions, press one. For cards, press "
	"two. To report a lost or stolen card, press three. For mortgages and "
	"loans, press four. To speak to an agent, press zero.";

static struct tts_engine *open_engine(void)
{
	struct tts_engine *e = NULL;
	assert_int_equal(tts_flite_ops.open(&e), 0);
	return e;
}

/* A reader thread that notes when the first 160 samples appear and how
 * long the stream was at that point relative to its final length. */
struct watch {
	struct audio_stream *s;
	atomic_int started;
	uint64_t first_frame_us;
	size_t len_at_first_frame;
	bool done_at_first_frame;
};

static void *watch_main(void *arg)
{
	struct watch *w = arg;
	atomic_store(&w->started, 1);
	for (;;) {
		bool done = audio_stream_done(w->s, NULL);
		size_t len = audio_stream_len(w->s);
		if (len >= 160) {
			w->first_frame_us = clock_mono_us();
			w->len_at_first_frame = len;
			w->done_at_first_frame = done;
			return NULL;
		}
		if (done)
			return NULL;
	}
}

static struct audio_stream *stream_speak(struct tts_engine *e,
					 const char *voice, const char *text,
					 struct watch *w, uint64_t *end_us)
{
	const struct tts_voice *v = tts_engine_voice_find(e, voice);
	assert_non_null(v);
	struct audio_stream *s = NULL;
	assert_int_equal(
		audio_stream_alloc(&s, 60 * AUDIO_RATE_HZ, AUDIO_RATE_HZ), 0);
	pthread_t th;
	if (w) {
		w->s = s;
		assert_int_equal(pthread_create(&th, NULL, watch_main, w), 0);
		while (!atomic_load(&w->started))
			;
	}
	int err = tts_flite_ops.synth_stream(e, v, text, s);
	*end_us = clock_mono_us();
	audio_stream_finish(s, err);
	assert_int_equal(err, 0);
	if (w)
		pthread_join(th, NULL);
	return s;
}

static void first_frame_is_published_before_synthesis_ends(void **st)
{
	(void)st;
	struct tts_engine *e = open_engine();
	assert_true(tts_flite_ops.caps & TTS_CAP_STREAM);
	const char *voices[] = { "kal", "slt" };
	for (size_t i = 0; i < 2; i++) {
		struct watch w = { 0 };
		uint64_t end = 0;
		struct audio_stream *s =
			stream_speak(e, voices[i], long_text, &w, &end);
		assert_false(w.done_at_first_frame);
		assert_true(w.first_frame_us > 0);
		/* Published first, well before synthesis finished. */
		assert_true(w.first_frame_us < end);
		assert_true(audio_stream_first_us(s) <= w.first_frame_us);
		assert_true(audio_stream_len(s) > 10 * AUDIO_RATE_HZ);
		/* Pieces, not one write at the end: the reader saw a small
		 * part of the sentence first. */
		assert_true(w.len_at_first_frame < audio_stream_len(s) / 4);
		audio_stream_deref(s);
	}
	tts_flite_ops.close(e);
}

static void kal_stream_equals_the_whole_clip(void **st)
{
	(void)st;
	struct tts_engine *e = open_engine();
	uint64_t end;
	struct audio_stream *s =
		stream_speak(e, "kal", "Welcome to voxgate bank.", NULL, &end);
	struct audio_clip *c = NULL;
	assert_int_equal(tts_engine_synth(e, tts_engine_voice_find(e, "kal"),
					  "Welcome to voxgate bank.", &c),
			 0);
	struct audio_clip *sc = audio_stream_to_clip(s);
	assert_non_null(sc);
	assert_int_equal(sc->rate_hz, AUDIO_RATE_HZ);
	assert_int_equal(sc->nsamples, c->nsamples);
	assert_memory_equal(sc->samples, c->samples,
			    c->nsamples * sizeof(c->samples[0]));
	audio_clip_deref(sc);
	audio_clip_deref(c);
	audio_stream_deref(s);
	tts_flite_ops.close(e);
}

static double rms(const int16_t *p, size_t n)
{
	double acc = 0;
	for (size_t i = 0; i < n; i++)
		acc += (double)p[i] * p[i];
	return n ? sqrt(acc / n) : 0;
}

static void slt_stream_is_resampled_to_the_clip_length(void **st)
{
	(void)st;
	struct tts_engine *e = open_engine();
	const char *text =
		"To hear the menu again press two."; /* one clause: the same
							utterance either way */
	uint64_t end;
	struct audio_stream *s = stream_speak(e, "slt", text, NULL, &end);
	struct audio_clip *c = NULL;
	assert_int_equal(
		tts_engine_synth(e, tts_engine_voice_find(e, "slt"), text, &c),
		0);
	struct audio_clip *sc = audio_stream_to_clip(s);
	assert_non_null(sc);
	/* Same length as audio_clip_resample() gives, and speech energy of
	 * the same order (slt's noise excitation is random per run). */
	size_t d = sc->nsamples > c->nsamples ? sc->nsamples - c->nsamples
					      : c->nsamples - sc->nsamples;
	/* Both trim the lead-in to 20 ms before the first sound, which slt's
	 * random excitation moves by a few samples between runs. */
	assert_true(d <= 160);
	double a = rms(sc->samples, sc->nsamples),
	       b = rms(c->samples, c->nsamples);
	assert_true(a > 500 && b > 500);
	assert_true(a / b > 0.8 && a / b < 1.25);
	audio_clip_deref(sc);
	audio_clip_deref(c);
	audio_stream_deref(s);
	tts_flite_ops.close(e);
}

static void stream_too_small_fails_with_e2big(void **st)
{
	(void)st;
	struct tts_engine *e = open_engine();
	struct audio_stream *s = NULL;
	assert_int_equal(audio_stream_alloc(&s, 800, AUDIO_RATE_HZ), 0);
	const struct tts_voice *v = tts_engine_voice_find(e, "kal");
	assert_int_equal(tts_flite_ops.synth_stream(e, v, long_text, s),
			 -E2BIG);
	assert_true(audio_stream_len(s) <= 800);
	assert_int_equal(tts_flite_ops.synth_stream(e, v, "   ", s), -EINVAL);
	audio_stream_deref(s);
	assert_int_equal(audio_stream_alloc(&s, 800, AUDIO_RATE_HZ), 0);
	assert_int_equal(tts_flite_ops.synth_stream(e, v, "... !", s),
			 -ENODATA);
	assert_int_equal(audio_stream_len(s), 0);
	audio_stream_deref(s);
	tts_flite_ops.close(e);
}

/* Streams on several threads at once share the voices but not their
 * callbacks: each gets exactly the serial audio of its own text. */
enum { THREADS = 4 };
static const char *const texts[THREADS] = {
	"For balances, press one. For cards, press two.",
	"Your reference number is 4711.",
	"Sorry, I did not get that. Please try again.",
	"Goodbye.",
};

struct runner {
	struct tts_engine *e;
	const char *text;
	struct audio_clip *clip;
	int err;
};

static void *run_main(void *arg)
{
	struct runner *r = arg;
	const struct tts_voice *v = tts_engine_voice_find(r->e, "kal");
	for (int rep = 0; rep < 3 && !r->err; rep++) {
		struct audio_stream *s = NULL;
		r->err = audio_stream_alloc(&s, 60 * AUDIO_RATE_HZ,
					    AUDIO_RATE_HZ);
		if (!r->err)
			r->err =
				tts_flite_ops.synth_stream(r->e, v, r->text, s);
		audio_stream_finish(s, r->err);
		struct audio_clip *c = r->err ? NULL : audio_stream_to_clip(s);
		if (c && r->clip &&
		    (c->nsamples != r->clip->nsamples ||
		     memcmp(c->samples, r->clip->samples,
			    c->nsamples * sizeof(int16_t))))
			r->err = -EIO;
		if (!r->clip)
			r->clip = c;
		else
			audio_clip_deref(c);
		audio_stream_deref(s);
	}
	return NULL;
}

static void concurrent_streams_match_serial_output(void **st)
{
	(void)st;
	struct tts_engine *e = open_engine();
	struct runner serial[THREADS], par[THREADS];
	for (int i = 0; i < THREADS; i++) {
		serial[i] = (struct runner){ .e = e, .text = texts[i] };
		run_main(&serial[i]);
		assert_int_equal(serial[i].err, 0);
	}
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++) {
		par[i] = (struct runner){ .e = e, .text = texts[i] };
		assert_int_equal(
			pthread_create(&th[i], NULL, run_main, &par[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(par[i].err, 0);
		assert_int_equal(par[i].clip->nsamples,
				 serial[i].clip->nsamples);
		assert_memory_equal(par[i].clip->samples,
				    serial[i].clip->samples,
				    serial[i].clip->nsamples * sizeof(int16_t));
		audio_clip_deref(par[i].clip);
		audio_clip_deref(serial[i].clip);
	}
	tts_flite_ops.close(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			first_frame_is_published_before_synthesis_ends),
		cmocka_unit_test(kal_stream_equals_the_whole_clip),
		cmocka_unit_test(slt_stream_is_resampled_to_the_clip_length),
		cmocka_unit_test(stream_too_small_fails_with_e2big),
		cmocka_unit_test(concurrent_streams_match_serial_output),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
