/* Tests for the simulator's energy detector on synthetic audio: onsets and
 * ends of talkspurts at known frames, speech end of a clip, percentiles. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sim/detect.h"

#define FRAME 160

static void tone(int16_t *s, size_t n, double amp)
{
	for (size_t i = 0; i < n; i++)
		s[i] = (int16_t)lrint(
			amp * sin(2 * M_PI * 440.0 * (double)i / 8000.0));
}

static void level_of_known_signals(void **state)
{
	(void)state;
	int16_t s[FRAME];
	memset(s, 0, sizeof(s));
	assert_true(sim_level_dbfs(s, FRAME) <= -119.0);
	tone(s, FRAME, 32767.0 / sqrt(2.0) * sqrt(2.0)); /* full-scale sine */
	double db = sim_level_dbfs(s, FRAME);
	assert_true(db > -3.5 && db < -2.5); /* sine RMS is -3 dBFS */
	tone(s, FRAME, 327.67);		     /* 40 dB down */
	db = sim_level_dbfs(s, FRAME);
	assert_true(db > -43.5 && db < -42.5);
}

/* 10 quiet frames, 25 voiced (with a 4-frame dip inside), 30 quiet: one
 * talkspurt from frame 11, ending 15 quiet frames after frame 35. */
static void edges_on_a_talkspurt(void **state)
{
	(void)state;
	struct sim_detect d;
	sim_detect_init(&d, 0, 0);
	int16_t voiced[FRAME], quiet[FRAME];
	tone(voiced, FRAME, 8000);
	tone(quiet, FRAME, 30); /* about -64 dBFS: line noise */
	int on_at = -1, off_at = -1, ons = 0, offs = 0;
	for (int f = 1; f <= 65; f++) {
		bool loud = f > 10 && f <= 35 && !(f > 20 && f <= 24);
		enum sim_edge e =
			sim_detect_feed(&d, loud ? voiced : quiet, FRAME);
		if (e == SIM_EDGE_ON) {
			ons++;
			on_at = f;
		} else if (e == SIM_EDGE_OFF) {
			offs++;
			off_at = f;
			/* the talkspurt's last voiced frame */
			assert_int_equal(d.last_voice, 35);
		}
	}
	assert_int_equal(ons, 1);
	assert_int_equal(on_at, 11);
	assert_int_equal(offs, 1);
	assert_int_equal(off_at, 35 + SIM_DETECT_OFF_FRAMES);
	assert_false(d.voiced);
}

static void speech_end_of_a_clip(void **state)
{
	(void)state;
	/* 0.3 s silence, 1 s tone, 0.5 s silence */
	static int16_t clip[8000 * 18 / 10];
	memset(clip, 0, sizeof(clip));
	tone(clip + 2400, 8000, 6000);
	size_t end = sim_speech_end_frame(clip, sizeof(clip) / 2, FRAME,
					  SIM_DETECT_THRESH_DB);
	assert_int_equal(end, (2400 + 8000) / FRAME);
	memset(clip, 0, sizeof(clip));
	assert_int_equal(sim_speech_end_frame(clip, sizeof(clip) / 2, FRAME,
					      SIM_DETECT_THRESH_DB),
			 0);
}

static void percentiles_nearest_rank(void **state)
{
	(void)state;
	double v[100];
	for (int i = 0; i < 100; i++)
		v[i] = 100 - i; /* 100..1, unsorted */
	assert_true(sim_percentile(v, 100, 50) == 50);
	assert_true(sim_percentile(v, 100, 95) == 95);
	assert_true(sim_percentile(v, 100, 99) == 99);
	assert_true(sim_percentile(v, 100, 100) == 100);
	double one = 7;
	assert_true(sim_percentile(&one, 1, 95) == 7);
	assert_true(sim_percentile(NULL, 0, 50) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(level_of_known_signals),
		cmocka_unit_test(edges_on_a_talkspurt),
		cmocka_unit_test(speech_end_of_a_clip),
		cmocka_unit_test(percentiles_nearest_rank),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
