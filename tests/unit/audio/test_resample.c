/* Tests for audio/resample: tone survives a round trip, frame sizes stay
 * fixed, the clip path is time-aligned, bad arguments are refused. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "audio/clip.h"
#include "audio/resample.h"

static struct audio_clip *make_tone(unsigned rate_hz, double hz, double secs,
				    double amp)
{
	size_t n = (size_t)(rate_hz * secs);
	struct audio_clip *c = audio_clip_alloc(n, rate_hz);
	assert_non_null(c);
	for (size_t i = 0; i < n; i++)
		c->samples[i] = (int16_t)lrint(
			amp * sin(2 * M_PI * hz * (double)i / rate_hz));
	return c;
}

static double rms(const int16_t *s, size_t n)
{
	double acc = 0;
	for (size_t i = 0; i < n; i++)
		acc += (double)s[i] * s[i];
	return n ? sqrt(acc / (double)n) : 0;
}

/* Frequency from upward zero crossings over the middle of the signal. */
static double zc_hz(const int16_t *s, size_t n, unsigned rate_hz)
{
	size_t first = 0, last = 0, count = 0;
	for (size_t i = 1; i < n; i++) {
		if (s[i - 1] < 0 && s[i] >= 0) {
			if (!count)
				first = i;
			last = i;
			count++;
		}
	}
	if (count < 2)
		return 0;
	return (double)(count - 1) * rate_hz / (double)(last - first);
}

static void round_trip_keeps_a_440hz_tone(void **state)
{
	struct audio_clip *in = make_tone(16000, 440, 1.0, 10000);
	struct audio_clip *mid = audio_clip_resample(in, 8000);
	assert_non_null(mid);
	assert_int_equal(mid->rate_hz, 8000);
	assert_int_equal(mid->nsamples, 8000);
	struct audio_clip *out = audio_clip_resample(mid, 16000);
	assert_non_null(out);
	assert_int_equal(out->rate_hz, 16000);
	assert_true(labs((long)out->nsamples - (long)in->nsamples) <= 2);

	/* Skip the edges, where the filter sees the clip start and end. */
	size_t edge = 400;
	size_t n = out->nsamples - 2 * edge;
	double ratio = rms(out->samples + edge, n) / rms(in->samples + edge, n);
	assert_true(ratio > 0.97 && ratio < 1.03);

	double f_mid =
		zc_hz(mid->samples + edge / 2, mid->nsamples - edge, 8000);
	double f_out = zc_hz(out->samples + edge, n, 16000);
	assert_true(fabs(f_mid - 440) < 440 * 0.02);
	assert_true(fabs(f_out - 440) < 440 * 0.02);

	audio_clip_deref(out);
	audio_clip_deref(mid);
	audio_clip_deref(in);
}

/* The clip path removes the filter delay: the output lines up with the
 * input sample for sample, not shifted by a few milliseconds. */
static void clip_output_is_time_aligned(void **state)
{
	struct audio_clip *in = make_tone(16000, 300, 0.5, 8000);
	struct audio_clip *out = audio_clip_resample(in, 8000);
	assert_non_null(out);
	double worst = 0;
	for (size_t i = 200; i < out->nsamples - 200; i++) {
		double d = fabs((double)out->samples[i] - in->samples[2 * i]);
		if (d > worst)
			worst = d;
	}
	/* a shift of even one 8 kHz sample at 300 Hz would be ~1900 */
	assert_true(worst < 200);
	audio_clip_deref(out);
	audio_clip_deref(in);
}

static void tone_above_new_nyquist_is_filtered_out(void **state)
{
	struct audio_clip *in = make_tone(16000, 6000, 0.5, 10000);
	struct audio_clip *out = audio_clip_resample(in, 8000);
	assert_non_null(out);
	/* without a low-pass it would alias to 2 kHz at full level */
	assert_true(rms(out->samples + 100, out->nsamples - 200) < 150);
	audio_clip_deref(out);
	audio_clip_deref(in);
}

static void same_rate_clip_is_a_new_reference(void **state)
{
	struct audio_clip *in = make_tone(8000, 440, 0.1, 1000);
	struct audio_clip *out = audio_clip_resample(in, 8000);
	assert_ptr_equal(out, in);
	assert_int_equal(atomic_load(&in->refs), 2);
	audio_clip_deref(out);
	audio_clip_deref(in);
	assert_null(audio_clip_resample(NULL, 8000));
}

static void streaming_frames_keep_a_fixed_size(void **state)
{
	struct resampler *down = NULL, *up = NULL;
	assert_int_equal(resampler_create(&down, 16000, 8000, 3), 0);
	assert_int_equal(resampler_create(&up, 8000, 16000, 3), 0);
	int16_t in[320], mid[200], out[400];
	for (int f = 0; f < 50; f++) {
		for (int i = 0; i < 320; i++)
			in[i] = (int16_t)lrint(
				8000 *
				sin(2 * M_PI * 440 * (f * 320 + i) / 16000.0));
		size_t n = sizeof(mid) / sizeof(mid[0]);
		assert_int_equal(resampler_process(down, in, 320, mid, &n), 0);
		assert_int_equal(n, 160);
		size_t m = sizeof(out) / sizeof(out[0]);
		assert_int_equal(resampler_process(up, mid, n, out, &m), 0);
		assert_int_equal(m, 320);
	}
	/* after the filters have settled the level is kept */
	double r = rms(out, 320) / (8000 / sqrt(2));
	assert_true(r > 0.95 && r < 1.05);
	assert_true(resampler_delay(down) > 0);
	resampler_destroy(up);
	resampler_destroy(down);
}

/* Odd ratios and odd chunk sizes: the predicted count is what comes out,
 * and over many calls the total is exact. */
static void output_count_is_exact_for_odd_ratios(void **state)
{
	struct resampler *r = NULL;
	assert_int_equal(resampler_create(&r, 22050, 8000, 4), 0);
	int16_t in[997] = { 0 }, out[400];
	size_t total_in = 0, total_out = 0;
	for (int i = 0; i < 300; i++) {
		size_t nin = 1 + (size_t)(i * 37) % 997;
		size_t need = resampler_out_len(r, nin);
		size_t n = sizeof(out) / sizeof(out[0]);
		assert_int_equal(resampler_process(r, in, nin, out, &n), 0);
		assert_int_equal(n, need);
		total_in += nin;
		total_out += n;
	}
	/* ceil(total_in * 8000 / 22050) */
	assert_int_equal(total_out, (total_in * 8000 + 22049) / 22050);
	resampler_destroy(r);
}

static void short_output_buffer_is_refused_without_consuming(void **state)
{
	struct resampler *r = NULL;
	assert_int_equal(resampler_create(&r, 16000, 8000, 3), 0);
	int16_t in[320] = { 0 }, out[160];
	size_t n = 159;
	assert_int_equal(resampler_process(r, in, 320, out, &n), -ENOBUFS);
	assert_int_equal(n, 159);
	n = 160;
	assert_int_equal(resampler_process(r, in, 320, out, &n), 0);
	assert_int_equal(n, 160);
	/* an odd count leaves half a sample of phase: 1 in -> 1 out, then
	 * the next single sample completes it with no output */
	n = 160;
	assert_int_equal(resampler_process(r, in, 1, out, &n), 0);
	assert_int_equal(n, 1);
	n = 160;
	assert_int_equal(resampler_process(r, in, 1, out, &n), 0);
	assert_int_equal(n, 0);
	resampler_destroy(r);
}

static void bad_arguments_are_rejected(void **state)
{
	struct resampler *r = (struct resampler *)&r;
	struct resampler *keep = r;
	assert_int_equal(resampler_create(&r, 0, 8000, 3), -EINVAL);
	assert_int_equal(resampler_create(&r, 8000, 999, 3), -EINVAL);
	assert_int_equal(resampler_create(&r, 8000, 400000, 3), -EINVAL);
	assert_int_equal(resampler_create(&r, 8000, 16000, -1), -EINVAL);
	assert_int_equal(resampler_create(&r, 8000, 16000, 11), -EINVAL);
	assert_int_equal(resampler_create(NULL, 8000, 16000, 3), -EINVAL);
	assert_ptr_equal(r, keep); /* untouched on failure */

	assert_int_equal(resampler_create(&r, 8000, 16000, 3), 0);
	size_t n = 10;
	int16_t buf[10] = { 0 };
	assert_int_equal(resampler_process(r, NULL, 5, buf, &n), -EINVAL);
	assert_int_equal(resampler_process(r, buf, 5, buf, NULL), -EINVAL);
	assert_int_equal(resampler_process(NULL, buf, 5, buf, &n), -EINVAL);
	assert_int_equal(resampler_process(r, buf, 0, NULL, &n), 0);
	assert_int_equal(n, 0);
	resampler_destroy(r);
	resampler_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip_keeps_a_440hz_tone),
		cmocka_unit_test(clip_output_is_time_aligned),
		cmocka_unit_test(tone_above_new_nyquist_is_filtered_out),
		cmocka_unit_test(same_rate_clip_is_a_new_reference),
		cmocka_unit_test(streaming_frames_keep_a_fixed_size),
		cmocka_unit_test(output_count_is_exact_for_odd_ratios),
		cmocka_unit_test(
			short_output_buffer_is_refused_without_consuming),
		cmocka_unit_test(bad_arguments_are_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
