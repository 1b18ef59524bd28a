/* Tests for the stream transports' playout queue: real-time frames out of
 * bursty input, the cap, marks due at their position, clear (barge-in)
 * making pending marks due at once, ring wrap-around. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sim/playq.h"

#define F SIM_PLAYQ_FRAME

static void ramp(int16_t *s, size_t n, int16_t from)
{
	for (size_t i = 0; i < n; i++)
		s[i] = (int16_t)(from + (int16_t)i);
}

static void burst_plays_out_one_frame_per_pop(void **state)
{
	(void)state;
	struct sim_playq q;
	assert_int_equal(sim_playq_init(&q, 10 * F), 0);
	int16_t in[3 * F], out[F];
	ramp(in, 3 * F, 1);
	assert_int_equal(sim_playq_push(&q, in, 3 * F), 3 * F);
	assert_int_equal(sim_playq_len(&q), 3 * F);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(sim_playq_pop(&q, out), F);
		assert_int_equal(out[0], 1 + k * F);
		assert_int_equal(out[F - 1], k * F + F);
	}
	/* empty: silence, nothing played */
	out[0] = 99;
	assert_int_equal(sim_playq_pop(&q, out), 0);
	assert_int_equal(out[0], 0);
	assert_int_equal(q.underruns, 0);
	sim_playq_fini(&q);
}

static void partial_frame_is_padded(void **state)
{
	(void)state;
	struct sim_playq q;
	assert_int_equal(sim_playq_init(&q, 4 * F), 0);
	int16_t in[F / 2], out[F];
	ramp(in, F / 2, 10);
	sim_playq_push(&q, in, F / 2);
	assert_int_equal(sim_playq_pop(&q, out), F / 2);
	assert_int_equal(out[F / 2 - 1], 10 + F / 2 - 1);
	assert_int_equal(out[F / 2], 0);
	assert_int_equal(q.underruns, 1);
	sim_playq_fini(&q);
}

static void cap_drops_and_counts(void **state)
{
	(void)state;
	struct sim_playq q;
	assert_int_equal(sim_playq_init(&q, 2 * F), 0);
	int16_t in[3 * F];
	ramp(in, 3 * F, 0);
	assert_int_equal(sim_playq_push(&q, in, 3 * F), 2 * F);
	assert_int_equal(q.dropped, F);
	assert_int_equal(sim_playq_push(&q, in, 1), 0);
	assert_int_equal(q.dropped, F + 1);
	sim_playq_fini(&q);
	assert_int_equal(sim_playq_init(&q, 0), -EINVAL);
}

static void marks_fall_due_when_playout_reaches_them(void **state)
{
	(void)state;
	struct sim_playq q;
	char name[SIM_PLAYQ_MARK_LEN];
	int16_t in[2 * F], out[F];
	assert_int_equal(sim_playq_init(&q, 10 * F), 0);
	/* a mark on an empty queue is due at once */
	assert_int_equal(sim_playq_mark(&q, "m0"), 0);
	assert_true(sim_playq_mark_due(&q, name));
	assert_string_equal(name, "m0");
	ramp(in, 2 * F, 0);
	sim_playq_push(&q, in, 2 * F);
	assert_int_equal(sim_playq_mark(&q, "p1"), 0);
	sim_playq_push(&q, in, F);
	assert_int_equal(sim_playq_mark(&q, "p2"), 0);
	assert_false(sim_playq_mark_due(&q, name));
	sim_playq_pop(&q, out);
	assert_false(sim_playq_mark_due(&q, name));
	sim_playq_pop(&q, out);
	assert_true(sim_playq_mark_due(&q, name));
	assert_string_equal(name, "p1");
	assert_false(sim_playq_mark_due(&q, name));
	sim_playq_pop(&q, out);
	assert_true(sim_playq_mark_due(&q, name));
	assert_string_equal(name, "p2");
	sim_playq_fini(&q);
}

static void clear_flushes_audio_and_releases_marks(void **state)
{
	(void)state;
	struct sim_playq q;
	char name[SIM_PLAYQ_MARK_LEN];
	int16_t in[5 * F], out[F];
	assert_int_equal(sim_playq_init(&q, 10 * F), 0);
	ramp(in, 5 * F, 1);
	sim_playq_push(&q, in, 5 * F);
	sim_playq_mark(&q, "a");
	sim_playq_push(&q, in, F);
	sim_playq_mark(&q, "b");
	sim_playq_pop(&q, out);
	sim_playq_clear(&q);
	assert_int_equal(sim_playq_len(&q), 0);
	assert_int_equal(q.clears, 1);
	assert_true(sim_playq_mark_due(&q, name));
	assert_string_equal(name, "a");
	assert_true(sim_playq_mark_due(&q, name));
	assert_string_equal(name, "b");
	assert_false(sim_playq_mark_due(&q, name));
	assert_int_equal(sim_playq_pop(&q, out), 0);
	/* audio after the clear plays normally */
	sim_playq_push(&q, in, F);
	assert_int_equal(sim_playq_pop(&q, out), F);
	assert_int_equal(out[0], 1);
	sim_playq_fini(&q);
}

static void too_many_marks_refused_and_long_names_cut(void **state)
{
	(void)state;
	struct sim_playq q;
	char name[SIM_PLAYQ_MARK_LEN];
	int16_t s = 1;
	assert_int_equal(sim_playq_init(&q, F), 0);
	sim_playq_push(&q, &s, 1);
	for (int i = 0; i < SIM_PLAYQ_MARKS; i++)
		assert_int_equal(sim_playq_mark(&q, "m"), 0);
	assert_int_equal(sim_playq_mark(&q, "m"), -ENOSPC);
	assert_int_equal(q.marks_dropped, 1);
	sim_playq_clear(&q);
	for (int i = 0; i < SIM_PLAYQ_MARKS; i++)
		assert_true(sim_playq_mark_due(&q, name));
	char longname[200];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	assert_int_equal(sim_playq_mark(&q, longname), 0);
	assert_true(sim_playq_mark_due(&q, name));
	assert_int_equal(strlen(name), SIM_PLAYQ_MARK_LEN - 1);
	sim_playq_fini(&q);
}

static void ring_wraps_without_reordering(void **state)
{
	(void)state;
	struct sim_playq q;
	int16_t in[F], out[F];
	assert_int_equal(sim_playq_init(&q, 3 * F + 7), 0);
	int16_t next = 0;
	for (int round = 0; round < 50; round++) {
		ramp(in, F, (int16_t)(round * F));
		assert_int_equal(sim_playq_push(&q, in, F), F);
		assert_int_equal(sim_playq_pop(&q, out), F);
		for (size_t i = 0; i < F; i++)
			assert_int_equal(out[i], (int16_t)(next + (int16_t)i));
		next = (int16_t)(next + F);
	}
	assert_int_equal(q.dropped, 0);
	sim_playq_fini(&q);
	sim_playq_fini(&q); /* zeroed: harmless */
}

/* Audio reaching a quiet line is heard on arrival; the tick after is
 * skipped so the frame rate stays one per tick; a busy line plays on the
 * tick only. */
static void arrival_on_a_quiet_line_plays_at_once(void **state)
{
	(void)state;
	struct sim_playq q;
	int16_t in[3 * F], out[F];
	size_t n = 99;
	assert_int_equal(sim_playq_init(&q, 10 * F), 0);
	assert_true(sim_playq_tick(&q, out, &n)); /* quiet tick */
	assert_int_equal(n, 0);
	ramp(in, 3 * F, 1);
	sim_playq_push(&q, in, 3 * F);
	assert_int_equal(sim_playq_arrive(&q, out), F);
	assert_int_equal(out[0], 1);
	assert_false(sim_playq_tick(&q, out, &n)); /* skipped */
	/* more audio while busy: not played on arrival */
	sim_playq_push(&q, in, F);
	assert_int_equal(sim_playq_arrive(&q, out), 0);
	assert_true(sim_playq_tick(&q, out, &n));
	assert_int_equal(n, F);
	assert_int_equal(out[0], 1 + F);
	assert_true(sim_playq_tick(&q, out, &n));
	assert_true(sim_playq_tick(&q, out, &n));
	assert_int_equal(n, F);
	assert_true(sim_playq_tick(&q, out, &n));
	assert_int_equal(n, 0); /* drained: quiet again */
	sim_playq_push(&q, in, F);
	assert_int_equal(sim_playq_arrive(&q, out), F);
	sim_playq_fini(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(burst_plays_out_one_frame_per_pop),
		cmocka_unit_test(partial_frame_is_padded),
		cmocka_unit_test(cap_drops_and_counts),
		cmocka_unit_test(marks_fall_due_when_playout_reaches_them),
		cmocka_unit_test(clear_flushes_audio_and_releases_marks),
		cmocka_unit_test(too_many_marks_refused_and_long_names_cut),
		cmocka_unit_test(ring_wraps_without_reordering),
		cmocka_unit_test(arrival_on_a_quiet_line_plays_at_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
