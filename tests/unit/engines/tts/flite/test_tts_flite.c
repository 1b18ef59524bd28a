/* The flite engine through the tts engine contract: 8 kHz output of
 * plausible length and energy for both voices, text limits, and synthesis
 * on several threads at once on the shared voices. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "audio/clip.h"
#include "engines/tts/flite/tts_flite.h"

static double seconds(const struct audio_clip *c)
{
	return (double)c->nsamples / c->rate_hz;
}

static double rms(const struct audio_clip *c)
{
	double acc = 0;
	for (size_t i = 0; i < c->nsamples; i++)
		acc += (double)c->samples[i] * c->samples[i];
	return c->nsamples ? sqrt(acc / c->nsamples) : 0;
}

static struct tts_engine *open_engine(void)
{
	struct tts_engine *e = NULL;
	assert_int_equal(tts_flite_ops.open(&e), 0);
	assert_non_null(e);
	assert_ptr_equal(e->ops, &tts_flite_ops);
	return e;
}

static struct audio_clip *speak(struct tts_engine *e, const char *voice,
				const char *text)
{
	const struct tts_voice *v = tts_engine_voice_find(e, voice);
	assert_non_null(v);
	struct audio_clip *c = NULL;
	assert_int_equal(tts_engine_synth(e, v, text, &c), 0);
	assert_non_null(c);
	return c;
}

static void check_speech(const struct audio_clip *c)
{
	assert_int_equal(c->rate_hz, AUDIO_RATE_HZ);
	assert_true(seconds(c) > 0.5);
	assert_true(seconds(c) < 5.0);
	/* Speech sits thousands of units above silence (0) or dither. */
	assert_true(rms(c) > 500.0);
}

static void kal_speaks_a_sentence_at_8khz_for_a_plausible_time(void **s)
{
	(void)s;
	struct tts_engine *e = open_engine();
	const struct tts_voice *v = tts_engine_voice_find(e, "kal");
	assert_string_equal(v->name, "kal");
	assert_int_equal(v->native_rate_hz, 8000);
	struct audio_clip *c = speak(e, "kal", "Welcome to voxgate bank");
	check_speech(c);
	/* A longer sentence takes longer to say. */
	struct audio_clip *longer = speak(
		e, "kal", "Welcome to voxgate bank. Please hold the line.");
	assert_true(longer->nsamples > c->nsamples + AUDIO_RATE_HZ / 2);
	audio_clip_deref(longer);
	audio_clip_deref(c);
	tts_flite_ops.close(e);
}

static void slt_is_resampled_from_16khz_to_8khz(void **s)
{
	(void)s;
	struct tts_engine *e = open_engine();
	const struct tts_voice *v = tts_engine_voice_find(e, "slt");
	assert_non_null(v);
	assert_int_equal(v->native_rate_hz, 16000);
	struct audio_clip *c = speak(e, "slt", "Welcome to voxgate bank");
	check_speech(c);
	audio_clip_deref(c);
	tts_flite_ops.close(e);
}

static void voices_are_found_by_name_alias_or_default(void **s)
{
	(void)s;
	struct tts_engine *e = open_engine();
	const struct tts_voice *kal = tts_engine_voice_find(e, "kal");
	const struct tts_voice *slt = tts_engine_voice_find(e, "slt");
	assert_non_null(kal);
	assert_non_null(slt);
	assert_ptr_not_equal(kal, slt);
	assert_ptr_equal(tts_engine_voice_find(e, NULL), kal);
	assert_ptr_equal(tts_engine_voice_find(e, "cmu_us_slt"), slt);
	assert_ptr_equal(tts_engine_voice_find(e, "SLT"), slt);
	assert_null(tts_engine_voice_find(e, "awb"));
	assert_null(tts_engine_voice_find(e, ""));
	tts_flite_ops.close(e);
}

static void empty_oversized_and_unspeakable_text_fail(void **s)
{
	(void)s;
	struct tts_engine *e = open_engine();
	const struct tts_voice *kal = tts_engine_voice_find(e, "kal");
	struct audio_clip *c = (struct audio_clip *)&c; /* must stay put */
	struct audio_clip *const sentinel = c;

	assert_int_equal(tts_engine_synth(e, kal, "", &c), -EINVAL);
	assert_int_equal(tts_engine_synth(e, kal, " \t\n ", &c), -EINVAL);
	assert_int_equal(tts_engine_synth(e, kal, NULL, &c), -EINVAL);

	char *big = malloc(TTS_TEXT_MAX_LEN + 2);
	assert_non_null(big);
	memset(big, 'a', TTS_TEXT_MAX_LEN + 1);
	big[TTS_TEXT_MAX_LEN + 1] = '\0';
	assert_int_equal(tts_engine_synth(e, kal, big, &c), -E2BIG);
	assert_int_equal(tts_text_check(big), -E2BIG);
	big[TTS_TEXT_MAX_LEN] = '\0';
	assert_int_equal(tts_text_check(big), 0);
	free(big);

	/* Punctuation alone gives kal no sound at all. */
	assert_int_equal(tts_engine_synth(e, kal, "...", &c), -ENODATA);

	/* A voice that is not this engine's is refused, not cast. */
	struct tts_voice foreign = { .name = "kal", .native_rate_hz = 8000 };
	assert_int_equal(tts_engine_synth(e, &foreign, "hello", &c), -EINVAL);
	assert_ptr_equal(c, sentinel);
	tts_flite_ops.close(e);
}

static void voices_survive_until_the_last_instance_closes(void **s)
{
	(void)s;
	struct tts_engine *a = open_engine();
	struct tts_engine *b = open_engine();
	tts_flite_ops.close(a);
	struct audio_clip *c = speak(b, "kal", "Still here");
	assert_true(c->nsamples > 0);
	audio_clip_deref(c);
	tts_flite_ops.close(b);
	/* Registered again from scratch. */
	a = open_engine();
	c = speak(a, "slt", "Back again");
	assert_true(c->nsamples > 0);
	audio_clip_deref(c);
	tts_flite_ops.close(a);
	tts_flite_ops.close(NULL);
}

/* Concurrency: kal is deterministic, so every clip made under load must be
 * bit-identical to the one made alone. slt adds random excitation noise
 * (rand()), so only its length is deterministic. */
enum { THREADS = 4, ROUNDS = 6 };

static const char *const prompts[] = {
	"Welcome to voxgate bank. For balances, press 1.",
	"Your call is important to us. Dr. Smith's office opens at 9:30am.",
	"Sorry, I didn't get that. $1,234.56 was charged on Jan. 5th.",
};
#define NPROMPTS (sizeof(prompts) / sizeof(prompts[0]))

struct load {
	struct tts_engine *e;
	struct audio_clip *ref_kal[NPROMPTS];
	size_t ref_slt_len[NPROMPTS];
	int id;
	int mismatches;
	int failures;
};

static void *load_thread(void *arg)
{
	struct load *l = arg;
	const struct tts_voice *kal = tts_engine_voice_find(l->e, "kal");
	const struct tts_voice *slt = tts_engine_voice_find(l->e, "slt");
	for (int r = 0; r < ROUNDS; r++) {
		size_t p = (size_t)(l->id + r) % NPROMPTS;
		/* One slt round per thread keeps the test fast under ASan. */
		int use_slt = r == l->id % ROUNDS;
		struct audio_clip *c = NULL;
		if (tts_engine_synth(l->e, use_slt ? slt : kal, prompts[p],
				     &c)) {
			l->failures++;
			continue;
		}
		if (use_slt) {
			/* slt's excitation noise is random per run, so the
			 * trimmed lead-in (tts_flite.c trim_lead) may differ
			 * by a few milliseconds; the rest is the same length.
			 */
			size_t a = c->nsamples, b = l->ref_slt_len[p];
			if ((a > b ? a - b : b - a) > 160)
				l->mismatches++;
		} else {
			const struct audio_clip *ref = l->ref_kal[p];
			if (c->nsamples != ref->nsamples ||
			    memcmp(c->samples, ref->samples,
				   c->nsamples * sizeof(c->samples[0])))
				l->mismatches++;
		}
		audio_clip_deref(c);
	}
	return NULL;
}

static void
concurrent_synthesis_on_shared_voices_matches_serial_output(void **s)
{
	(void)s;
	struct tts_engine *e = open_engine();
	struct load base = { .e = e };
	for (size_t p = 0; p < NPROMPTS; p++) {
		base.ref_kal[p] = speak(e, "kal", prompts[p]);
		struct audio_clip *c = speak(e, "slt", prompts[p]);
		base.ref_slt_len[p] = c->nsamples;
		audio_clip_deref(c);
	}
	struct load l[THREADS];
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++) {
		l[i] = base;
		l[i].id = i;
		assert_int_equal(
			pthread_create(&th[i], NULL, load_thread, &l[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(l[i].failures, 0);
		assert_int_equal(l[i].mismatches, 0);
	}
	for (size_t p = 0; p < NPROMPTS; p++)
		audio_clip_deref(base.ref_kal[p]);
	tts_flite_ops.close(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			kal_speaks_a_sentence_at_8khz_for_a_plausible_time),
		cmocka_unit_test(slt_is_resampled_from_16khz_to_8khz),
		cmocka_unit_test(voices_are_found_by_name_alias_or_default),
		cmocka_unit_test(empty_oversized_and_unspeakable_text_fail),
		cmocka_unit_test(voices_survive_until_the_last_instance_closes),
		cmocka_unit_test(
			concurrent_synthesis_on_shared_voices_matches_serial_output),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
