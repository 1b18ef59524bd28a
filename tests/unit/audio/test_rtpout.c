/* Tests for audio/rtpout: packet numbering across wraps, the absolute-time
 * pacer (no drift, bounded catch-up) and the send-jitter histogram. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "audio/rtpout.h"

static void ticks_keep_exact_continuity_across_wraps(void **state)
{
	struct rtpout o;
	/* both seq and ts wrap within the run */
	rtpout_init(&o, 0x12345678, 65000, 0xffffff00u);
	struct rtpout_hdr prev, h;
	assert_int_equal(rtpout_next(&o, 160, true, &prev), 0);
	assert_int_equal(prev.seq, 65000);
	assert_int_equal(prev.ts, 0xffffff00u);
	assert_int_equal(prev.ssrc, 0x12345678);
	assert_true(prev.marker);
	for (int k = 1; k < 1000; k++) {
		assert_int_equal(rtpout_next(&o, 160, false, &h), 0);
		assert_int_equal((uint16_t)(h.seq - prev.seq), 1);
		assert_int_equal((uint32_t)(h.ts - prev.ts), 160);
		assert_int_equal(h.seq, (uint16_t)(65000 + k));
		assert_int_equal(h.ts, (uint32_t)(0xffffff00u + 160u * k));
		assert_false(h.marker);
		prev = h;
	}
	assert_int_equal(o.packets, 1000);
}

static void silence_skips_time_but_not_sequence(void **state)
{
	struct rtpout o;
	rtpout_init(&o, 1, 10, 1000);
	struct rtpout_hdr h;
	rtpout_next(&o, 160, true, &h);
	/* 1 s not sent, then a talkspurt */
	rtpout_skip(&o, 8000);
	rtpout_next(&o, 160, true, &h);
	assert_int_equal(h.seq, 11);
	assert_int_equal(h.ts, 1000 + 160 + 8000);
	assert_true(h.marker);
	assert_int_equal(rtpout_next(NULL, 160, false, &h), -EINVAL);
	assert_int_equal(rtpout_next(&o, 160, false, NULL), -EINVAL);
}

/* Callbacks run up to 19 ms late, never early: exactly one tick each time
 * and the schedule stays on start + k * 20 ms. */
static void pacer_does_not_drift_when_callbacks_run_late(void **state)
{
	struct pacer p;
	const uint64_t start = 5000000;
	pacer_init(&p, start, 20000);
	assert_int_equal(pacer_next_deadline_us(&p), start);
	assert_int_equal(pacer_due(&p, start - 1), 0); /* early: nothing */
	srand(3);
	for (int k = 0; k < 1000; k++) {
		uint64_t deadline = pacer_next_deadline_us(&p);
		assert_int_equal(deadline, start + (uint64_t)k * 20000u);
		uint64_t late = (uint64_t)(rand() % 19001);
		assert_int_equal(pacer_due(&p, deadline + late), 1);
		/* a second look in the same callback finds nothing more */
		assert_int_equal(pacer_due(&p, deadline + late), 0);
	}
	assert_int_equal(pacer_next_deadline_us(&p), start + 1000u * 20000u);
	assert_int_equal(p.ticks, 1000);
	assert_int_equal(p.skipped, 0);
}

static void pacer_catches_up_boundedly_after_a_stall(void **state)
{
	struct pacer p;
	pacer_init(&p, 0, 20000);
	for (int k = 0; k < 10; k++)
		assert_int_equal(pacer_due(&p, (uint64_t)k * 20000u), 1);
	/* next deadline 200 ms; the loop stalls until 700 ms: 26 deadlines
	 * (200, 220, ..., 700) have passed */
	assert_int_equal(pacer_due(&p, 700000), PACER_MAX_BURST);
	assert_int_equal(p.skipped, 26 - PACER_MAX_BURST);
	/* back on the original grid, not re-based on the stall */
	assert_int_equal(pacer_next_deadline_us(&p), 720000);
	assert_int_equal(pacer_due(&p, 720500), 1);
	/* a small lateness (two periods) is caught up in full */
	assert_int_equal(pacer_due(&p, 780000), 3);
	assert_int_equal(p.skipped, 23);
	/* the burst cap can be tuned */
	p.max_burst = 1;
	assert_int_equal(pacer_due(&p, 900000), 1);
	assert_int_equal(p.skipped, 23 + 5);
	assert_int_equal(pacer_next_deadline_us(&p), 920000);
}

static void send_jitter_percentiles(void **state)
{
	struct pacer_jitter j;
	pacer_jitter_init(&j, 20000);
	assert_int_equal(pacer_jitter_percentile_us(&j, 99), 0);
	uint64_t t = 1000000;
	pacer_jitter_record(&j, t); /* sets the base only */
	assert_int_equal(j.count, 0);
	/* 985 intervals 50 us off, 15 intervals 7.2 ms late */
	for (int i = 0; i < 1000; i++) {
		t += i < 985 ? 20050 : 27200;
		pacer_jitter_record(&j, t);
	}
	assert_int_equal(j.count, 1000);
	assert_int_equal(j.max_us, 7200);
	assert_int_equal(pacer_jitter_percentile_us(&j, 50), 100);
	assert_int_equal(pacer_jitter_percentile_us(&j, 98.5), 100);
	/* 7.2 ms lies in the 7-8 ms bucket; capped by the max seen */
	assert_int_equal(pacer_jitter_percentile_us(&j, 99), 7200);
	/* one huge stall lands in the overflow bucket */
	t += 20000 + 300000;
	pacer_jitter_record(&j, t);
	assert_int_equal(pacer_jitter_percentile_us(&j, 100), 300000);
	/* now only the bucket bound is known */
	assert_int_equal(pacer_jitter_percentile_us(&j, 99), 8000);
	/* early sends count as deviation too */
	pacer_jitter_init(&j, 20000);
	pacer_jitter_record(&j, 0);
	pacer_jitter_record(&j, 15000);
	assert_int_equal(j.max_us, 5000);
	assert_int_equal(pacer_jitter_percentile_us(&j, 99), 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ticks_keep_exact_continuity_across_wraps),
		cmocka_unit_test(silence_skips_time_but_not_sequence),
		cmocka_unit_test(pacer_does_not_drift_when_callbacks_run_late),
		cmocka_unit_test(pacer_catches_up_boundedly_after_a_stall),
		cmocka_unit_test(send_jitter_percentiles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
