/* Quiet after the speech for Moonshine (tailpad.h): a clip that ends 300 ms
 * after its speech is extended with its own quiet tail to 500 ms; one that
 * ends in speech, already ends in 500 ms of quiet, ends in less than 300 ms
 * of it, or holds no speech is left alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engines/stt/sherpa/tailpad.h"

#define MS(x) ((size_t)(x)*8u)

/* speech_ms of a loud warbling tone (speech to the energy test), then
 * quiet_ms of line noise of +-20. */
static int16_t *make_clip(unsigned speech_ms, unsigned quiet_ms, size_t *np)
{
	size_t ns = MS(speech_ms), n = ns + MS(quiet_ms);
	int16_t *pcm = malloc((n ? n : 1) * sizeof(*pcm));
	unsigned seed = 7;

	assert_non_null(pcm);
	for (size_t i = 0; i < ns; i++)
		pcm[i] = (int16_t)(8000.0 * sin(0.25 * (double)i) *
				   (0.6 + 0.4 * sin(0.002 * (double)i)));
	for (size_t i = ns; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		pcm[i] = (int16_t)((int)((seed >> 16) % 41) - 20);
	}
	*np = n;
	return pcm;
}

static void clip_ending_300_ms_after_speech_is_padded_to_500(void **state)
{
	size_t n, np = 0;
	int16_t *out = NULL, *pcm = make_clip(1200, 300, &n);

	(void)state;
	assert_int_equal(tailpad_clip(pcm, n, &out, &np), 1);
	assert_non_null(out);
	assert_int_equal(np, n + MS(200));
	/* the clip itself, then its quiet tail repeated */
	assert_memory_equal(out, pcm, n * sizeof(*pcm));
	for (size_t k = 0; k < MS(200); k++)
		assert_int_equal(out[n + k], pcm[n - MS(300) + k % MS(300)]);
	free(out);
	free(pcm);
}

static void clip_ending_400_ms_after_speech_gets_100_more(void **state)
{
	size_t n, np = 0;
	int16_t *out = NULL, *pcm = make_clip(900, 400, &n);

	(void)state;
	assert_int_equal(tailpad_clip(pcm, n, &out, &np), 1);
	assert_int_equal(np, n + MS(100));
	free(out);
	free(pcm);
}

static void clip_ending_in_speech_is_left_alone(void **state)
{
	size_t n, np = 7;
	int16_t *out = NULL, *pcm = make_clip(1500, 0, &n);

	(void)state;
	assert_int_equal(tailpad_clip(pcm, n, &out, &np), 0);
	assert_null(out);
	assert_int_equal(np, 7);
	free(pcm);
	/* a short pause only (a max-speech cut 100 ms into one) */
	pcm = make_clip(1500, 100, &n);
	assert_int_equal(tailpad_clip(pcm, n, &out, &np), 0);
	assert_null(out);
	free(pcm);
}

static void clip_with_enough_quiet_or_no_speech_is_left_alone(void **state)
{
	size_t n, np = 0;
	int16_t *out = NULL, *pcm = make_clip(1000, 500, &n);

	(void)state;
	assert_int_equal(tailpad_clip(pcm, n, &out, &np), 0);
	free(pcm);
	pcm = make_clip(1000, 800, &n);
	assert_int_equal(tailpad_clip(pcm, n, &out, &np), 0);
	free(pcm);
	/* line noise alone: nothing is speech */
	pcm = make_clip(0, 400, &n);
	assert_int_equal(tailpad_clip(pcm, n, &out, &np), 0);
	free(pcm);
	/* shorter than a frame, and empty */
	pcm = make_clip(10, 0, &n);
	assert_int_equal(tailpad_clip(pcm, n, &out, &np), 0);
	assert_int_equal(tailpad_clip(pcm, 0, &out, &np), 0);
	assert_null(out);
	free(pcm);
}

static void null_arguments_are_einval(void **state)
{
	int16_t pcm[160] = { 0 }, *out = NULL;
	size_t np = 0;

	(void)state;
	assert_int_equal(tailpad_clip(NULL, 160, &out, &np), -EINVAL);
	assert_int_equal(tailpad_clip(pcm, 160, NULL, &np), -EINVAL);
	assert_int_equal(tailpad_clip(pcm, 160, &out, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			clip_ending_300_ms_after_speech_is_padded_to_500),
		cmocka_unit_test(clip_ending_400_ms_after_speech_gets_100_more),
		cmocka_unit_test(clip_ending_in_speech_is_left_alone),
		cmocka_unit_test(
			clip_with_enough_quiet_or_no_speech_is_left_alone),
		cmocka_unit_test(null_arguments_are_einval),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
