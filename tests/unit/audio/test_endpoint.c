/* Tests for the endpointer (audio/vad.h) on its virtual clock: frames are
 * fed with a chosen speech likelihood, so every event is checked to the
 * frame. Each frame's samples hold its index, so the utterance buffer shows
 * exactly which frames it kept. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "audio/clip.h"
#include "audio/vad.h"

struct run {
	struct endpointer *ep;
	uint32_t frame; /* index of the next frame fed */
};

static void marker(int16_t *pcm, uint32_t frame)
{
	for (int i = 0; i < AUDIO_FRAME_SAMPLES; i++)
		pcm[i] = (int16_t)frame;
}

/* Feed n frames of likelihood prob; returns the first event (and the
 * frame it came on), failing if a second one comes. */
static enum endpoint_event feed(struct run *r, unsigned n, float prob,
				uint32_t *at)
{
	enum endpoint_event got = EP_NONE;
	int16_t pcm[AUDIO_FRAME_SAMPLES];
	for (unsigned i = 0; i < n; i++) {
		marker(pcm, r->frame);
		enum endpoint_event ev = endpoint_feed(r->ep, pcm, prob);
		if (ev != EP_NONE) {
			assert_int_equal(got, EP_NONE);
			got = ev;
			if (at)
				*at = r->frame;
		}
		r->frame++;
	}
	return got;
}

static void open_run(struct run *r, const struct endpoint_cfg *cfg)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(endpoint_create(&r->ep, cfg), 0);
}

static void defaults_are_the_documented_ones(void **state)
{
	(void)state;
	struct endpoint_cfg c;
	endpoint_cfg_default(&c);
	assert_int_equal(c.trailing_silence_ms, 300);
	assert_int_equal(c.no_input_ms, 5000);
	assert_int_equal(c.max_speech_ms, 15000);
	assert_int_equal(c.min_speech_ms, 120);
	assert_int_equal(c.preroll_ms, 400);
}

static void bad_configuration_is_refused(void **state)
{
	(void)state;
	struct endpointer *ep = NULL;
	struct endpoint_cfg c;
	assert_int_equal(endpoint_create(NULL, NULL), -EINVAL);

	endpoint_cfg_default(&c);
	c.max_speech_ms = 0;
	assert_int_equal(endpoint_create(&ep, &c), -EINVAL);
	c.max_speech_ms = 30001;
	assert_int_equal(endpoint_create(&ep, &c), -EINVAL);
	endpoint_cfg_default(&c);
	c.trailing_silence_ms = 0;
	assert_int_equal(endpoint_create(&ep, &c), -EINVAL);
	endpoint_cfg_default(&c);
	c.max_speech_ms = 100;
	c.min_speech_ms = 200;
	assert_int_equal(endpoint_create(&ep, &c), -EINVAL);
	assert_null(ep);

	/* A bad cfg at start keeps the endpointer and its old cfg. */
	assert_int_equal(endpoint_create(&ep, NULL), 0);
	assert_int_equal(endpoint_start(ep, &c), -EINVAL);
	assert_int_equal(endpoint_start(NULL, NULL), -EINVAL);
	struct run r = { .ep = ep };
	uint32_t at = 0;
	assert_int_equal(feed(&r, 6, 1.0f, &at), EP_SPEECH_START);
	assert_int_equal(at, 5); /* still the default 120 ms */
	endpoint_destroy(ep);
	endpoint_destroy(NULL);
}

static void silence_ms_counts_the_current_pause(void **state)
{
	(void)state;
	struct run r;
	open_run(&r, NULL);
	feed(&r, 5, 0.0f, NULL);
	assert_int_equal(endpoint_silence_ms(r.ep), 0); /* not in speech */
	assert_int_equal(feed(&r, 10, 1.0f, NULL), EP_SPEECH_START);
	assert_int_equal(endpoint_silence_ms(r.ep), 0);
	feed(&r, 5, 0.0f, NULL);
	assert_int_equal(endpoint_silence_ms(r.ep), 100);
	/* A speech frame ends the pause; a lost frame is silence. */
	feed(&r, 1, 1.0f, NULL);
	assert_int_equal(endpoint_silence_ms(r.ep), 0);
	assert_int_equal(endpoint_feed(r.ep, NULL, 1.0f), EP_NONE);
	assert_int_equal(endpoint_silence_ms(r.ep), 20);
	r.frame++;
	assert_int_equal(feed(&r, 14, 0.0f, NULL), EP_SPEECH_END);
	assert_int_equal(endpoint_silence_ms(r.ep), 0); /* idle */
	assert_int_equal(endpoint_silence_ms(NULL), 0);
	endpoint_destroy(r.ep);
}

/* The early decode's clip: the utterance so far, padded to the length it
 * will have at its end with the pause's own frames in a loop; none outside
 * a pause. Frames hold their index (marker()), so the pad is checked to
 * the frame. */
/* Frame f of clip (each frame's samples hold the index of the frame fed). */
static int16_t frame_of(const struct audio_clip *clip, unsigned f)
{
	assert_int_equal(clip->samples[f * AUDIO_FRAME_SAMPLES],
			 clip->samples[(f + 1) * AUDIO_FRAME_SAMPLES - 1]);
	return clip->samples[f * AUDIO_FRAME_SAMPLES];
}

static void pause_clip_is_the_utterance_padded_with_the_pause(void **state)
{
	(void)state;
	struct run r;
	struct endpoint_cfg c;
	endpoint_cfg_default(&c);
	c.preroll_ms = 0;
	c.trailing_silence_ms = 600; /* 30 frames */
	open_run(&r, &c);
	assert_null(endpoint_pause_clip(r.ep)); /* no speech yet */
	assert_int_equal(feed(&r, 10, 1.0f, NULL), EP_SPEECH_START);
	assert_null(endpoint_pause_clip(r.ep)); /* on a speech frame */
	feed(&r, 3, 0.0f, NULL);		/* frames 10-12: the pause */
	struct audio_clip *clip = endpoint_pause_clip(r.ep);
	assert_non_null(clip);
	assert_int_equal(clip->rate_hz, AUDIO_RATE_HZ);
	/* 10 speech + 3 pause frames, then 27 to reach the 30-frame end:
	 * 10, 11, 12, 10, 11, 12, ... */
	assert_int_equal(clip->nsamples, 40 * AUDIO_FRAME_SAMPLES);
	for (unsigned f = 0; f < 40; f++)
		assert_int_equal(frame_of(clip, f),
				 f < 13 ? f : 10 + (f - 10) % 3);
	audio_clip_deref(clip);
	/* More speech voids the pause; a new one gives a longer clip. */
	feed(&r, 1, 1.0f, NULL);
	assert_null(endpoint_pause_clip(r.ep));
	feed(&r, 5, 0.0f, NULL);
	clip = endpoint_pause_clip(r.ep);
	assert_non_null(clip);
	assert_int_equal(clip->nsamples, (14 + 30) * AUDIO_FRAME_SAMPLES);
	assert_int_equal(frame_of(clip, 18), 18);
	assert_int_equal(frame_of(clip, 19), 14);
	audio_clip_deref(clip);
	assert_int_equal(feed(&r, 25, 0.0f, NULL), EP_SPEECH_END);
	assert_null(endpoint_pause_clip(r.ep)); /* idle */
	assert_null(endpoint_pause_clip(NULL));
	endpoint_destroy(r.ep);
}

static void pause_clip_ends_500ms_after_the_speech_at_least(void **state)
{
	(void)state;
	struct run r;
	struct endpoint_cfg c;
	endpoint_cfg_default(&c);
	c.preroll_ms = 0;
	c.trailing_silence_ms = 200; /* 10 frames: the clip goes on to 25 */
	open_run(&r, &c);
	assert_int_equal(feed(&r, 10, 1.0f, NULL), EP_SPEECH_START);
	feed(&r, 3, 0.0f, NULL);
	struct audio_clip *clip = endpoint_pause_clip(r.ep);
	assert_non_null(clip);
	assert_int_equal(clip->nsamples, (10 + 25) * AUDIO_FRAME_SAMPLES);
	for (unsigned f = 0; f < 35; f++)
		assert_int_equal(frame_of(clip, f),
				 f < 13 ? f : 10 + (f - 10) % 3);
	audio_clip_deref(clip);
	/* the default 300 ms too: 15 frames of pause, 25 in the clip */
	endpoint_cfg_default(&c);
	c.preroll_ms = 0;
	assert_int_equal(endpoint_start(r.ep, &c), 0);
	r.frame = 0;
	assert_int_equal(feed(&r, 10, 1.0f, NULL), EP_SPEECH_START);
	feed(&r, 5, 0.0f, NULL);
	clip = endpoint_pause_clip(r.ep);
	assert_non_null(clip);
	assert_int_equal(clip->nsamples, (10 + 25) * AUDIO_FRAME_SAMPLES);
	assert_int_equal(frame_of(clip, 34), 10 + (34 - 10) % 5);
	audio_clip_deref(clip);
	/* the utterance at the end keeps its own 300 ms */
	uint32_t at = 0;
	assert_int_equal(feed(&r, 10, 0.0f, &at), EP_SPEECH_END);
	size_t n = 0;
	endpoint_audio(r.ep, &n);
	assert_int_equal(n, (size_t)(10 + 15) * AUDIO_FRAME_SAMPLES);
	endpoint_destroy(r.ep);
}

static void speech_start_after_min_speech(void **state)
{
	(void)state;
	struct run r;
	open_run(&r, NULL);
	uint32_t at = 0;
	assert_int_equal(feed(&r, 10, 0.0f, NULL), EP_NONE);
	assert_false(endpoint_in_speech(r.ep));
	/* 120 ms = 6 frames: the 6th speech frame (index 15) confirms. */
	assert_int_equal(feed(&r, 5, 0.9f, NULL), EP_NONE);
	assert_int_equal(feed(&r, 1, 0.9f, &at), EP_SPEECH_START);
	assert_int_equal(at, 15);
	assert_true(endpoint_in_speech(r.ep));
	assert_int_equal(endpoint_speech_start_ms(r.ep), 200);
	assert_int_equal(endpoint_elapsed_ms(r.ep), 320);
	assert_int_equal(endpoint_elapsed_ms(r.ep) -
				 endpoint_speech_start_ms(r.ep),
			 120);
	assert_int_equal(endpoint_speech_end_ms(r.ep), 0);
	endpoint_destroy(r.ep);
}

static void speech_end_after_exactly_trailing_silence(void **state)
{
	(void)state;
	struct run r;
	open_run(&r, NULL);
	uint32_t at = 0;
	feed(&r, 10, 0.0f, NULL);
	assert_int_equal(feed(&r, 30, 0.8f, NULL), EP_SPEECH_START);
	/* Last speech frame is index 39; 15 frames (300 ms) of silence end
	 * the turn on index 54, not one frame earlier. */
	assert_int_equal(feed(&r, 14, 0.1f, NULL), EP_NONE);
	assert_true(endpoint_in_speech(r.ep));
	assert_int_equal(feed(&r, 1, 0.1f, &at), EP_SPEECH_END);
	assert_int_equal(at, 54);
	assert_false(endpoint_in_speech(r.ep));
	assert_int_equal(endpoint_speech_end_ms(r.ep), 800);
	assert_int_equal(
		endpoint_elapsed_ms(r.ep) - endpoint_speech_end_ms(r.ep), 300);
	/* Idle until restarted: nothing more, even on speech. */
	assert_int_equal(feed(&r, 100, 1.0f, NULL), EP_NONE);
	assert_int_equal(endpoint_elapsed_ms(r.ep), 1100);
	endpoint_destroy(r.ep);
}

static void pause_shorter_than_trailing_silence_keeps_the_turn(void **state)
{
	(void)state;
	struct run r;
	open_run(&r, NULL);
	feed(&r, 5, 0.0f, NULL);
	assert_int_equal(feed(&r, 10, 1.0f, NULL), EP_SPEECH_START);
	assert_int_equal(feed(&r, 14, 0.0f, NULL), EP_NONE);
	assert_int_equal(feed(&r, 3, 1.0f, NULL), EP_NONE);
	assert_int_equal(feed(&r, 14, 0.0f, NULL), EP_NONE);
	uint32_t at = 0;
	assert_int_equal(feed(&r, 1, 0.0f, &at), EP_SPEECH_END);
	assert_int_equal(at, 5 + 10 + 14 + 3 + 14);
	endpoint_destroy(r.ep);
}

static void click_shorter_than_min_speech_is_ignored(void **state)
{
	(void)state;
	struct run r;
	open_run(&r, NULL);
	for (int i = 0; i < 20; i++) {
		/* 100 ms bursts, 40 ms apart: never 120 ms in a row */
		assert_int_equal(feed(&r, 5, 1.0f, NULL), EP_NONE);
		assert_int_equal(feed(&r, 2, 0.0f, NULL), EP_NONE);
	}
	assert_false(endpoint_in_speech(r.ep));
	assert_int_equal(endpoint_speech_start_ms(r.ep), 0);
	size_t n = 1;
	assert_null(endpoint_audio(r.ep, &n));
	assert_int_equal(n, 0);
	endpoint_destroy(r.ep);
}

static void no_input_fires_at_no_input_ms(void **state)
{
	(void)state;
	struct endpoint_cfg c;
	endpoint_cfg_default(&c);
	c.no_input_ms = 1000;
	struct run r;
	open_run(&r, &c);
	uint32_t at = 0;
	assert_int_equal(feed(&r, 49, 0.0f, NULL), EP_NONE);
	assert_int_equal(feed(&r, 1, 0.0f, &at), EP_NO_INPUT);
	assert_int_equal(at, 49);
	assert_int_equal(endpoint_elapsed_ms(r.ep), 1000);
	assert_int_equal(feed(&r, 10, 1.0f, NULL), EP_NONE);

	/* Clicks do not hold the timer; 0 disables it. */
	assert_int_equal(endpoint_start(r.ep, NULL), 0);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(feed(&r, 2, 1.0f, NULL), EP_NONE);
		assert_int_equal(feed(&r, 3, 0.0f, NULL), EP_NONE);
	}
	assert_int_equal(feed(&r, 10, 0.0f, &at), EP_NO_INPUT);
	assert_int_equal(endpoint_elapsed_ms(r.ep), 1000);
	c.no_input_ms = 0;
	assert_int_equal(endpoint_start(r.ep, &c), 0);
	assert_int_equal(feed(&r, 5000, 0.0f, NULL), EP_NONE);
	endpoint_destroy(r.ep);
}

static void speech_in_progress_holds_no_input(void **state)
{
	(void)state;
	struct endpoint_cfg c;
	endpoint_cfg_default(&c);
	c.no_input_ms = 1000;
	struct run r;
	open_run(&r, &c);
	/* The caller starts 60 ms before the timeout: the turn is theirs. */
	assert_int_equal(feed(&r, 47, 0.0f, NULL), EP_NONE);
	uint32_t at = 0;
	assert_int_equal(feed(&r, 6, 1.0f, &at), EP_SPEECH_START);
	assert_int_equal(at, 52);
	endpoint_destroy(r.ep);
}

static void max_speech_cuts_the_utterance(void **state)
{
	(void)state;
	struct endpoint_cfg c;
	endpoint_cfg_default(&c);
	c.max_speech_ms = 1000;
	struct run r;
	open_run(&r, &c);
	uint32_t at = 0;
	feed(&r, 20, 0.0f, NULL);
	assert_int_equal(feed(&r, 6, 1.0f, NULL), EP_SPEECH_START);
	/* onset at 20: 50 frames of speech end at index 69 */
	assert_int_equal(feed(&r, 43, 1.0f, NULL), EP_NONE);
	assert_int_equal(feed(&r, 1, 1.0f, &at), EP_MAX_SPEECH);
	assert_int_equal(at, 69);
	size_t n = 0;
	const int16_t *a = endpoint_audio(r.ep, &n);
	assert_non_null(a);
	/* 400 ms pre-roll (frames 0..19) */
	assert_int_equal(n, (size_t)(20 + 50) * AUDIO_FRAME_SAMPLES);
	assert_int_equal(a[0], 0);
	assert_int_equal(a[n - 1], 69);
	assert_int_equal(feed(&r, 10, 1.0f, NULL), EP_NONE);
	endpoint_destroy(r.ep);
}

static void preroll_is_included_in_the_audio(void **state)
{
	(void)state;
	struct run r;
	open_run(&r, NULL);
	feed(&r, 30, 0.0f, NULL);
	assert_int_equal(feed(&r, 20, 1.0f, NULL), EP_SPEECH_START);
	assert_int_equal(feed(&r, 15, 0.0f, NULL), EP_SPEECH_END);
	size_t n = 0;
	const int16_t *a = endpoint_audio(r.ep, &n);
	assert_non_null(a);
	/* 400 ms pre-roll (frames 10..29), speech 30..49, trailing 50..64 */
	assert_int_equal(n, (size_t)(20 + 20 + 15) * AUDIO_FRAME_SAMPLES);
	for (size_t f = 0; f < n / AUDIO_FRAME_SAMPLES; f++) {
		assert_int_equal(a[f * AUDIO_FRAME_SAMPLES], 10 + f);
		assert_int_equal(a[f * AUDIO_FRAME_SAMPLES + 159], 10 + f);
	}
	endpoint_destroy(r.ep);
}

static void preroll_is_shorter_when_speech_starts_at_once(void **state)
{
	(void)state;
	struct run r;
	open_run(&r, NULL);
	feed(&r, 3, 0.0f, NULL);
	assert_int_equal(feed(&r, 6, 1.0f, NULL), EP_SPEECH_START);
	size_t n = 0;
	const int16_t *a = endpoint_audio(r.ep, &n);
	assert_int_equal(n, (size_t)9 * AUDIO_FRAME_SAMPLES);
	assert_int_equal(a[0], 0);
	assert_int_equal(a[n - 1], 8);
	endpoint_destroy(r.ep);
}

static void lost_frames_count_as_silence(void **state)
{
	(void)state;
	struct run r;
	open_run(&r, NULL);
	assert_int_equal(feed(&r, 6, 1.0f, NULL), EP_SPEECH_START);
	enum endpoint_event ev = EP_NONE;
	int i;
	for (i = 0; i < 20 && ev == EP_NONE; i++)
		ev = endpoint_feed(r.ep, NULL, 1.0f);
	assert_int_equal(ev, EP_SPEECH_END);
	assert_int_equal(i, 15);
	size_t n = 0;
	const int16_t *a = endpoint_audio(r.ep, &n);
	assert_int_equal(n, (size_t)21 * AUDIO_FRAME_SAMPLES);
	assert_int_equal(a[n - 1], 0); /* lost frames are zeros */
	endpoint_destroy(r.ep);
}

static void restart_clears_the_turn(void **state)
{
	(void)state;
	struct run r;
	open_run(&r, NULL);
	feed(&r, 10, 0.0f, NULL);
	feed(&r, 10, 1.0f, NULL);
	assert_int_equal(feed(&r, 15, 0.0f, NULL), EP_SPEECH_END);

	struct endpoint_cfg c;
	endpoint_cfg_default(&c);
	c.min_speech_ms = 60;
	c.preroll_ms = 0;
	assert_int_equal(endpoint_start(r.ep, &c), 0);
	size_t n = 1;
	assert_null(endpoint_audio(r.ep, &n));
	assert_int_equal(n, 0);
	assert_int_equal(endpoint_elapsed_ms(r.ep), 0);
	assert_int_equal(endpoint_speech_start_ms(r.ep), 0);
	assert_int_equal(endpoint_speech_end_ms(r.ep), 0);
	assert_false(endpoint_in_speech(r.ep));

	/* The new cfg applies: 3 frames confirm, no pre-roll. */
	r.frame = 100;
	feed(&r, 4, 0.0f, NULL);
	uint32_t at = 0;
	assert_int_equal(feed(&r, 3, 1.0f, &at), EP_SPEECH_START);
	assert_int_equal(at, 106);
	const int16_t *a = endpoint_audio(r.ep, &n);
	assert_int_equal(n, (size_t)3 * AUDIO_FRAME_SAMPLES);
	assert_int_equal(a[0], 104);
	assert_int_equal(endpoint_speech_start_ms(r.ep), 80);
	endpoint_destroy(r.ep);
}

static void larger_cfg_at_start_grows_the_buffer(void **state)
{
	(void)state;
	struct endpoint_cfg c;
	endpoint_cfg_default(&c);
	c.max_speech_ms = 200;
	c.preroll_ms = 0;
	struct run r;
	open_run(&r, &c);
	c.max_speech_ms = 30000;
	c.preroll_ms = 2000;
	c.no_input_ms = 0;
	assert_int_equal(endpoint_start(r.ep, &c), 0);
	feed(&r, 200, 0.0f, NULL);
	assert_int_equal(feed(&r, 6, 1.0f, NULL), EP_SPEECH_START);
	uint32_t at = 0;
	assert_int_equal(feed(&r, 1500, 1.0f, &at), EP_MAX_SPEECH);
	assert_int_equal(at, 200 + 1499);
	size_t n = 0;
	const int16_t *a = endpoint_audio(r.ep, &n);
	assert_int_equal(n, (size_t)(100 + 1500) * AUDIO_FRAME_SAMPLES);
	assert_int_equal(a[0], 100);
	endpoint_destroy(r.ep);
}

/* Continuation (endpoint_continue()): a speech end held open for a window;
 * speech confirmed in it joins the utterance (the gap frames included),
 * and the same rules end the joined turn. */
static void continue_joins_speech_within_the_window(void **state)
{
	(void)state;
	struct endpoint_cfg c;
	endpoint_cfg_default(&c);
	c.preroll_ms = 0;
	struct run r;
	open_run(&r, &c);
	assert_int_equal(endpoint_continue(r.ep, 250), -EINVAL); /* waiting */
	assert_int_equal(feed(&r, 10, 1.0f, NULL), EP_SPEECH_START);
	assert_int_equal(endpoint_continue(r.ep, 250), -EINVAL); /* speech */
	uint32_t at = 0;
	assert_int_equal(feed(&r, 15, 0.0f, &at), EP_SPEECH_END);
	assert_int_equal(at, 24);
	assert_false(endpoint_continuing(r.ep));
	assert_int_equal(endpoint_continue(r.ep, 0), -EINVAL);
	assert_int_equal(endpoint_continue(r.ep, 10001), -EINVAL);
	assert_int_equal(endpoint_continue(r.ep, 250), 0);
	assert_true(endpoint_continuing(r.ep));
	assert_false(endpoint_in_speech(r.ep));
	/* a 400 ms pause: 300 ms to the end, then 100 ms more */
	assert_int_equal(feed(&r, 5, 0.0f, NULL), EP_NONE);
	assert_int_equal(feed(&r, 6, 1.0f, &at), EP_SPEECH_START);
	assert_int_equal(at, 35);
	assert_false(endpoint_continuing(r.ep));
	assert_true(endpoint_in_speech(r.ep));
	assert_int_equal(endpoint_gap_ms(r.ep), 100);
	assert_int_equal(endpoint_speech_start_ms(r.ep), 0); /* the first */
	assert_int_equal(endpoint_speech_end_ms(r.ep), 0);   /* not ended */
	/* the trailing silence ends the joined turn */
	assert_int_equal(feed(&r, 14, 0.0f, NULL), EP_NONE);
	assert_int_equal(feed(&r, 1, 0.0f, &at), EP_SPEECH_END);
	assert_int_equal(at, 50);
	assert_int_equal(endpoint_speech_end_ms(r.ep), 36 * 20);
	size_t n = 0;
	const int16_t *a = endpoint_audio(r.ep, &n);
	assert_int_equal(n, (size_t)51 * AUDIO_FRAME_SAMPLES);
	for (size_t f = 0; f < 51; f++) {
		assert_int_equal(a[f * AUDIO_FRAME_SAMPLES], f);
		assert_int_equal(a[f * AUDIO_FRAME_SAMPLES + 159], f);
	}
	/* and may be continued again */
	assert_int_equal(endpoint_continue(r.ep, 250), 0);
	assert_int_equal(feed(&r, 6, 1.0f, NULL), EP_SPEECH_START);
	assert_int_equal(endpoint_gap_ms(r.ep), 0);
	endpoint_destroy(r.ep);
}

static void continue_window_counts_to_the_onset(void **state)
{
	(void)state;
	struct run r;
	open_run(&r, NULL);
	feed(&r, 5, 0.0f, NULL);
	assert_int_equal(feed(&r, 10, 1.0f, NULL), EP_SPEECH_START);
	assert_int_equal(feed(&r, 15, 0.0f, NULL), EP_SPEECH_END);
	size_t n0 = 0;
	endpoint_audio(r.ep, &n0);
	/* 100 ms = 5 frames: an onset on the 5th frame after the end is
	 * confirmed later (min_speech), still within */
	assert_int_equal(endpoint_continue(r.ep, 100), 0);
	assert_int_equal(feed(&r, 4, 0.0f, NULL), EP_NONE);
	assert_int_equal(feed(&r, 6, 1.0f, NULL), EP_SPEECH_START);
	assert_int_equal(endpoint_gap_ms(r.ep), 80);
	assert_int_equal(feed(&r, 15, 0.0f, NULL), EP_SPEECH_END);

	/* one frame later: the window has passed */
	endpoint_audio(r.ep, &n0);
	assert_int_equal(endpoint_continue(r.ep, 100), 0);
	assert_int_equal(feed(&r, 5, 0.0f, NULL), EP_NONE);
	assert_false(endpoint_continuing(r.ep));
	assert_int_equal(feed(&r, 20, 1.0f, NULL), EP_NONE);
	size_t n = 0;
	endpoint_audio(r.ep, &n);
	assert_int_equal(n, n0); /* the audio as it was at the end */
	assert_int_equal(endpoint_continue(r.ep, 100), -EINVAL); /* over */
	endpoint_destroy(r.ep);
}

static void a_click_in_the_window_does_not_continue(void **state)
{
	(void)state;
	struct run r;
	open_run(&r, NULL);
	assert_int_equal(feed(&r, 10, 1.0f, NULL), EP_SPEECH_START);
	assert_int_equal(feed(&r, 15, 0.0f, NULL), EP_SPEECH_END);
	assert_int_equal(endpoint_continue(r.ep, 300), 0);
	assert_int_equal(feed(&r, 1, 0.0f, NULL), EP_NONE);
	assert_int_equal(feed(&r, 5, 1.0f, NULL), EP_NONE); /* 100 ms */
	assert_int_equal(feed(&r, 1, 0.0f, NULL), EP_NONE);
	assert_int_equal(feed(&r, 3, 1.0f, NULL), EP_NONE);
	assert_int_equal(feed(&r, 30, 0.0f, NULL), EP_NONE);
	assert_false(endpoint_continuing(r.ep));
	assert_false(endpoint_in_speech(r.ep));
	endpoint_destroy(r.ep);
}

static void no_continuation_after_max_speech_or_no_input(void **state)
{
	(void)state;
	struct endpoint_cfg c;
	endpoint_cfg_default(&c);
	c.max_speech_ms = 1000;
	c.no_input_ms = 200;
	struct run r;
	open_run(&r, &c);
	assert_int_equal(feed(&r, 10, 0.0f, NULL), EP_NO_INPUT);
	assert_int_equal(endpoint_continue(r.ep, 250), -EINVAL);
	assert_int_equal(endpoint_start(r.ep, NULL), 0);
	assert_int_equal(feed(&r, 6, 1.0f, NULL), EP_SPEECH_START);
	assert_int_equal(feed(&r, 43, 1.0f, NULL), EP_NONE);
	assert_int_equal(feed(&r, 1, 1.0f, NULL), EP_MAX_SPEECH);
	assert_int_equal(endpoint_continue(r.ep, 250), -EINVAL);
	assert_int_equal(endpoint_continue(NULL, 250), -EINVAL);
	endpoint_destroy(r.ep);
}

static void max_speech_counts_from_the_first_start(void **state)
{
	(void)state;
	struct endpoint_cfg c;
	endpoint_cfg_default(&c);
	c.max_speech_ms = 1000; /* 50 frames */
	c.preroll_ms = 0;
	struct run r;
	open_run(&r, &c);
	uint32_t at = 0;
	assert_int_equal(feed(&r, 20, 1.0f, NULL), EP_SPEECH_START);
	assert_int_equal(feed(&r, 15, 0.0f, NULL), EP_SPEECH_END);
	assert_int_equal(endpoint_continue(r.ep, 300), 0);
	assert_int_equal(feed(&r, 2, 0.0f, NULL), EP_NONE);
	assert_int_equal(feed(&r, 6, 1.0f, &at), EP_SPEECH_START);
	assert_int_equal(at, 42);
	assert_int_equal(feed(&r, 7, 1.0f, &at), EP_MAX_SPEECH);
	assert_int_equal(at, 49); /* 50 frames from the first onset */
	size_t n = 0;
	endpoint_audio(r.ep, &n);
	assert_int_equal(n, (size_t)50 * AUDIO_FRAME_SAMPLES);

	/* A window reaching max_speech closes without a continuation. */
	assert_int_equal(endpoint_start(r.ep, NULL), 0);
	r.frame = 0;
	assert_int_equal(feed(&r, 30, 1.0f, NULL), EP_SPEECH_START);
	assert_int_equal(feed(&r, 15, 0.0f, NULL), EP_SPEECH_END);
	assert_int_equal(endpoint_continue(r.ep, 1000), 0);
	assert_int_equal(feed(&r, 4, 0.0f, NULL), EP_NONE);
	assert_true(endpoint_continuing(r.ep));
	assert_int_equal(feed(&r, 1, 0.0f, NULL), EP_NONE); /* 50th */
	assert_false(endpoint_continuing(r.ep));
	assert_int_equal(feed(&r, 10, 1.0f, NULL), EP_NONE);
	endpoint_destroy(r.ep);
}

static void retune_keeps_the_turn_and_its_audio(void **state)
{
	(void)state;
	struct endpoint_cfg c;
	endpoint_cfg_default(&c);
	c.preroll_ms = 0;
	c.max_speech_ms = 1000; /* 50 frames */
	struct run r;
	open_run(&r, &c);
	assert_int_equal(endpoint_retune(r.ep, &c), -EINVAL); /* waiting */
	assert_int_equal(feed(&r, 10, 1.0f, NULL), EP_SPEECH_START);
	assert_int_equal(feed(&r, 15, 0.0f, NULL), EP_SPEECH_END);
	assert_int_equal(endpoint_continue(r.ep, 300), 0);
	assert_int_equal(feed(&r, 6, 1.0f, NULL), EP_SPEECH_START);
	/* a longer max (the buffer grows, keeping the audio; the old one
	 * ended the turn at frame 49), a longer trailing silence */
	c.max_speech_ms = 30000;
	c.trailing_silence_ms = 600;
	assert_int_equal(endpoint_retune(r.ep, &c), 0);
	c.trailing_silence_ms = 0;
	assert_int_equal(endpoint_retune(r.ep, &c), -EINVAL);
	assert_int_equal(endpoint_retune(NULL, &c), -EINVAL);
	assert_true(endpoint_in_speech(r.ep));
	assert_int_equal(feed(&r, 20, 1.0f, NULL), EP_NONE);
	assert_int_equal(feed(&r, 29, 0.0f, NULL), EP_NONE);
	uint32_t at = 0;
	assert_int_equal(feed(&r, 1, 0.0f, &at), EP_SPEECH_END);
	assert_int_equal(at, 80);
	size_t n = 0;
	const int16_t *a = endpoint_audio(r.ep, &n);
	assert_int_equal(n, (size_t)81 * AUDIO_FRAME_SAMPLES);
	for (size_t f = 0; f < 81; f++)
		assert_int_equal(a[f * AUDIO_FRAME_SAMPLES], f);
	endpoint_destroy(r.ep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_are_the_documented_ones),
		cmocka_unit_test(bad_configuration_is_refused),
		cmocka_unit_test(speech_start_after_min_speech),
		cmocka_unit_test(silence_ms_counts_the_current_pause),
		cmocka_unit_test(
			pause_clip_is_the_utterance_padded_with_the_pause),
		cmocka_unit_test(
			pause_clip_ends_500ms_after_the_speech_at_least),
		cmocka_unit_test(speech_end_after_exactly_trailing_silence),
		cmocka_unit_test(
			pause_shorter_than_trailing_silence_keeps_the_turn),
		cmocka_unit_test(click_shorter_than_min_speech_is_ignored),
		cmocka_unit_test(no_input_fires_at_no_input_ms),
		cmocka_unit_test(speech_in_progress_holds_no_input),
		cmocka_unit_test(max_speech_cuts_the_utterance),
		cmocka_unit_test(preroll_is_included_in_the_audio),
		cmocka_unit_test(preroll_is_shorter_when_speech_starts_at_once),
		cmocka_unit_test(lost_frames_count_as_silence),
		cmocka_unit_test(restart_clears_the_turn),
		cmocka_unit_test(larger_cfg_at_start_grows_the_buffer),
		cmocka_unit_test(continue_joins_speech_within_the_window),
		cmocka_unit_test(continue_window_counts_to_the_onset),
		cmocka_unit_test(a_click_in_the_window_does_not_continue),
		cmocka_unit_test(no_continuation_after_max_speech_or_no_input),
		cmocka_unit_test(max_speech_counts_from_the_first_start),
		cmocka_unit_test(retune_keeps_the_turn_and_its_audio),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
