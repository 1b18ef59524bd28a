/* Tests for audio/jitter: ordering, loss, duplicates, lateness, wraparound,
 * caps, restarts and the adaptive playout delay. Every payload carries its
 * own sequence number so a test can see exactly which frame came out. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "audio/jitter.h"

static struct jitter_buf *make(unsigned min, unsigned max, unsigned cap)
{
	struct jitter_cfg cfg = {
		.min_delay_frames = min,
		.max_delay_frames = max,
		.capacity = cap,
	};
	struct jitter_buf *jb = NULL;
	assert_int_equal(jitter_buf_create(&jb, &cfg), 0);
	assert_non_null(jb);
	return jb;
}

static int put(struct jitter_buf *jb, uint16_t seq)
{
	uint8_t p[160] = { (uint8_t)(seq >> 8), (uint8_t)seq };
	return jitter_buf_put(jb, seq, (uint32_t)seq * 160u, p, sizeof(p),
			      (uint64_t)seq * 20000u);
}

/* Next result; for a frame, the sequence number it carried in *seq. */
static int get(struct jitter_buf *jb, int *seq)
{
	uint8_t out[320];
	size_t len = 0;
	int r = jitter_buf_get(jb, out, sizeof(out), &len);
	if (r == JITTER_FRAME) {
		assert_int_equal(len, 160);
		*seq = (out[0] << 8) | out[1];
	} else {
		*seq = -1;
	}
	return r;
}

static void expect_frame(struct jitter_buf *jb, int want)
{
	int seq;
	assert_int_equal(get(jb, &seq), JITTER_FRAME);
	assert_int_equal(seq, want);
}

static void expect(struct jitter_buf *jb, int result)
{
	int seq;
	assert_int_equal(get(jb, &seq), result);
}

static struct jitter_stats stats(struct jitter_buf *jb)
{
	struct jitter_stats st;
	jitter_buf_stats(jb, &st);
	return st;
}

static void empty_until_min_delay_is_buffered(void **state)
{
	struct jitter_buf *jb = make(3, 6, 16);
	expect(jb, JITTER_EMPTY); /* nothing ever arrived */
	assert_int_equal(put(jb, 1), JITTER_STORED);
	expect(jb, JITTER_EMPTY);
	assert_int_equal(put(jb, 2), JITTER_STORED);
	expect(jb, JITTER_EMPTY);
	assert_int_equal(put(jb, 3), JITTER_STORED);
	assert_int_equal(stats(jb).depth, 3);
	expect_frame(jb, 1);
	expect_frame(jb, 2);
	expect_frame(jb, 3);
	jitter_buf_destroy(jb);
}

static void reordered_packets_come_out_in_order(void **state)
{
	struct jitter_buf *jb = make(3, 6, 16);
	put(jb, 10);
	put(jb, 12);
	put(jb, 11);
	expect_frame(jb, 10);
	expect_frame(jb, 11);
	put(jb, 14);
	put(jb, 13);
	expect_frame(jb, 12);
	expect_frame(jb, 13);
	expect_frame(jb, 14);
	struct jitter_stats st = stats(jb);
	assert_int_equal(st.reordered, 2);
	assert_int_equal(st.lost, 0);
	assert_int_equal(st.received, 5);
	jitter_buf_destroy(jb);
}

/* The first packet of the stream overtaken by the second: the playout
 * point moves back as long as nothing has gone out. */
static void first_packet_may_arrive_second(void **state)
{
	struct jitter_buf *jb = make(2, 6, 16);
	put(jb, 5);
	assert_int_equal(put(jb, 4), JITTER_STORED);
	expect_frame(jb, 4);
	expect_frame(jb, 5);
	jitter_buf_destroy(jb);
}

static void missing_frame_is_reported_lost_once(void **state)
{
	struct jitter_buf *jb = make(2, 6, 16);
	put(jb, 1);
	put(jb, 2);
	put(jb, 4);
	put(jb, 5);
	expect_frame(jb, 1);
	expect_frame(jb, 2);
	expect(jb, JITTER_LOST);
	expect_frame(jb, 4);
	expect_frame(jb, 5);
	assert_int_equal(stats(jb).lost, 1);
	/* the missing one turning up now is too late */
	assert_int_equal(put(jb, 3), JITTER_LATE);
	assert_int_equal(stats(jb).late, 1);
	jitter_buf_destroy(jb);
}

static void duplicate_packet_is_dropped(void **state)
{
	struct jitter_buf *jb = make(2, 6, 16);
	assert_int_equal(put(jb, 7), JITTER_STORED);
	assert_int_equal(put(jb, 7), JITTER_DUPLICATE);
	put(jb, 8);
	assert_int_equal(put(jb, 8), JITTER_DUPLICATE);
	expect_frame(jb, 7);
	expect_frame(jb, 8);
	struct jitter_stats st = stats(jb);
	assert_int_equal(st.duplicate, 2);
	assert_int_equal(st.received, 2);
	jitter_buf_destroy(jb);
}

static void late_packet_is_dropped(void **state)
{
	struct jitter_buf *jb = make(1, 4, 16);
	put(jb, 100);
	expect_frame(jb, 100);
	put(jb, 101);
	expect_frame(jb, 101);
	assert_int_equal(put(jb, 100), JITTER_LATE);
	assert_int_equal(put(jb, 99), JITTER_LATE);
	assert_int_equal(stats(jb).late, 2);
	put(jb, 102);
	expect_frame(jb, 102);
	jitter_buf_destroy(jb);
}

static void sequence_wraps_at_65535(void **state)
{
	struct jitter_buf *jb = make(2, 6, 16);
	uint16_t seq = 65530;
	put(jb, seq++);
	for (int i = 0; i < 20; i++) {
		put(jb, seq++);
		expect_frame(jb, (uint16_t)(65530 + i));
	}
	struct jitter_stats st = stats(jb);
	assert_int_equal(st.lost, 0);
	assert_int_equal(st.late, 0);
	assert_int_equal(st.resets, 0);
	/* and a reordering straddling the wrap */
	struct jitter_buf *jb2 = make(3, 6, 16);
	put(jb2, 65535);
	put(jb2, 1);
	put(jb2, 0);
	expect_frame(jb2, 65535);
	expect_frame(jb2, 0);
	expect_frame(jb2, 1);
	assert_int_equal(stats(jb2).reordered, 1);
	jitter_buf_destroy(jb2);
	jitter_buf_destroy(jb);
}

static void capacity_caps_the_buffer(void **state)
{
	struct jitter_buf *jb = make(2, 4, 8);
	for (uint16_t s = 0; s < 20; s++)
		assert_int_equal(put(jb, s), JITTER_STORED);
	struct jitter_stats st = stats(jb);
	assert_int_equal(st.depth, 8); /* 12..19 */
	assert_int_equal(st.overflow, 12);
	/* eight frames held is above max_delay 4: cut to the target (2) */
	expect_frame(jb, 18);
	expect_frame(jb, 19);
	assert_int_equal(stats(jb).overflow, 18);
	expect(jb, JITTER_EMPTY);
	assert_int_equal(stats(jb).underruns, 1);
	jitter_buf_destroy(jb);
}

static void huge_jump_resets_the_stream(void **state)
{
	struct jitter_buf *jb = make(2, 6, 16);
	for (uint16_t s = 100; s < 106; s++) {
		put(jb, s);
		if (s > 100)
			expect_frame(jb, s - 1);
	}
	/* new SSRC / sender restart: far away, then in sequence */
	assert_int_equal(put(jb, 40000), JITTER_STRAY);
	assert_int_equal(stats(jb).resets, 0);
	assert_int_equal(put(jb, 40001), JITTER_STORED);
	assert_int_equal(stats(jb).resets, 1);
	expect_frame(jb, 40000);
	expect_frame(jb, 40001);
	put(jb, 40002);
	expect_frame(jb, 40002);
	/* a restart backwards works the same way */
	assert_int_equal(put(jb, 500), JITTER_STRAY);
	assert_int_equal(put(jb, 501), JITTER_STORED);
	assert_int_equal(stats(jb).resets, 2);
	expect_frame(jb, 500);
	jitter_buf_destroy(jb);
}

static void lone_stray_packet_does_not_reset(void **state)
{
	struct jitter_buf *jb = make(2, 6, 16);
	put(jb, 1);
	put(jb, 2);
	expect_frame(jb, 1);
	assert_int_equal(put(jb, 30000), JITTER_STRAY);
	put(jb, 3);
	expect_frame(jb, 2);
	expect_frame(jb, 3);
	assert_int_equal(put(jb, 20000), JITTER_STRAY);
	/* 30001 follows the forgotten first stray, not the held one */
	assert_int_equal(put(jb, 30001), JITTER_STRAY);
	struct jitter_stats st = stats(jb);
	assert_int_equal(st.resets, 0);
	assert_int_equal(st.stray, 2);
	put(jb, 4);
	expect_frame(jb, 4);
	jitter_buf_destroy(jb);
}

/* A gap of more than the capacity but less than a restart: the frames in
 * between are lost and the stream goes on from the new packet. */
static void long_gap_skips_ahead(void **state)
{
	struct jitter_buf *jb = make(1, 4, 8);
	put(jb, 10);
	expect_frame(jb, 10);
	assert_int_equal(put(jb, 1010), JITTER_STORED);
	expect_frame(jb, 1010);
	assert_int_equal(stats(jb).lost, 999);
	jitter_buf_destroy(jb);
}

static void underrun_grows_the_delay_up_to_max(void **state)
{
	struct jitter_buf *jb = make(2, 4, 16);
	uint16_t s = 0;
	put(jb, s++);
	put(jb, s++);
	for (int round = 0; round < 6; round++) {
		/* drain until it underruns, then refill to the target */
		int seq;
		while (get(jb, &seq) == JITTER_FRAME)
			;
		struct jitter_stats st = stats(jb);
		unsigned want = 2u + (unsigned)round + 1u;
		assert_int_equal(st.target_delay, want > 4 ? 4 : want);
		for (unsigned i = 0; i < st.target_delay; i++) {
			expect(jb, JITTER_EMPTY);
			put(jb, s++);
		}
	}
	assert_int_equal(stats(jb).underruns, 6);
	jitter_buf_destroy(jb);
}

/* A burst at the start leaves more buffered than the target: a whole
 * window above the target drops one frame at a time until it matches. */
static void excess_depth_is_trimmed_a_frame_at_a_time(void **state)
{
	struct jitter_buf *jb = make(2, 8, 32);
	uint16_t s = 0;
	for (int i = 0; i < 6; i++)
		put(jb, s++);
	expect_frame(jb, 0);
	/* steady stream: one in, one out */
	for (int i = 0; i < 300; i++) {
		put(jb, s++);
		int seq;
		assert_int_equal(get(jb, &seq), JITTER_FRAME);
	}
	struct jitter_stats st = stats(jb);
	assert_int_equal(st.target_delay, 2);
	/* measured after a get: one less than held at the get */
	assert_int_equal(st.depth, 1);
	assert_int_equal(st.overflow, 4);
	assert_int_equal(st.lost, 0);
	jitter_buf_destroy(jb);
}

/* After underruns raised the delay, a long calm period brings the target
 * (and with it the actual depth) back down to the minimum. */
static void calm_period_shrinks_the_delay(void **state)
{
	struct jitter_buf *jb = make(2, 8, 32);
	uint16_t s = 0;
	int seq;
	for (int round = 0; round < 3; round++) {
		while (stats(jb).depth < stats(jb).target_delay)
			put(jb, s++);
		while (get(jb, &seq) == JITTER_FRAME)
			;
	}
	assert_int_equal(stats(jb).target_delay, 5);
	while (stats(jb).depth < 5)
		put(jb, s++);
	for (unsigned i = 0; i < 3 * JITTER_CALM_FRAMES + 100; i++) {
		put(jb, s++);
		assert_int_equal(get(jb, &seq), JITTER_FRAME);
	}
	struct jitter_stats st = stats(jb);
	assert_int_equal(st.underruns, 3);
	assert_int_equal(st.target_delay, 2);
	assert_int_equal(st.depth, 1);
	/* one frame of excess from the start (6 held at the first get for a
	 * target of 5), then one per step of the target from 5 to 2 */
	assert_int_equal(st.overflow, 4);
	assert_int_equal(st.lost, 0);
	jitter_buf_destroy(jb);
}

/* Simulated network: 20 ms sending, 0-50 ms random delay, 2% loss. Output
 * must be strictly in order and account for every packet. */
static void random_network_keeps_order_and_accounts(void **state)
{
	struct jitter_buf *jb = make(2, 10, 64);
	srand(42);
	enum { N = 3000 };
	static uint64_t arrive[N];
	for (int i = 0; i < N; i++)
		arrive[i] = (uint64_t)i * 20000u + (uint64_t)(rand() % 50000);
	int last = -1, frames = 0, gaps = 0;
	unsigned sent = 0;
	for (uint64_t now = 0; now < (uint64_t)(N + 20) * 20000u;
	     now += 20000u) {
		for (int i = 0; i < N; i++)
			if (arrive[i] >= now && arrive[i] < now + 20000u &&
			    rand() % 50) {
				uint8_t p[160] = { (uint8_t)(i >> 8),
						   (uint8_t)i };
				int r = jitter_buf_put(jb, (uint16_t)i,
						       (uint32_t)i * 160u, p,
						       sizeof(p), arrive[i]);
				assert_true(r >= 0);
				sent++;
			}
		int seq;
		int r = get(jb, &seq);
		if (r == JITTER_FRAME) {
			assert_true(seq > last);
			last = seq;
			frames++;
		} else if (r == JITTER_LOST) {
			gaps++;
		}
	}
	struct jitter_stats st = stats(jb);
	assert_int_equal(st.received + st.late + st.duplicate, sent);
	/* what did not play was dropped or is still held (at most depth) */
	assert_true((uint64_t)frames + st.overflow <= st.received);
	assert_true(st.received - frames - st.overflow <= st.depth);
	assert_true(frames > N * 9 / 10);
	assert_true(st.target_delay >= 2 && st.target_delay <= 10);
	/* delays are spread over 50 ms: the estimate is several ms */
	assert_true(st.jitter_us > 3000 && st.jitter_us < 40000);
	(void)gaps;
	jitter_buf_destroy(jb);
}

static void regular_arrival_has_no_jitter(void **state)
{
	struct jitter_buf *jb = make(2, 6, 16);
	for (uint16_t s = 0; s < 100; s++) {
		put(jb, s);
		int seq;
		get(jb, &seq);
	}
	assert_int_equal(stats(jb).jitter_us, 0);
	jitter_buf_destroy(jb);
}

static void reset_waits_for_a_new_stream(void **state)
{
	struct jitter_buf *jb = make(2, 6, 16);
	put(jb, 1);
	put(jb, 2);
	expect_frame(jb, 1);
	jitter_buf_reset(jb);
	expect(jb, JITTER_EMPTY);
	assert_int_equal(stats(jb).depth, 0);
	put(jb, 9000);
	put(jb, 9001);
	expect_frame(jb, 9000);
	jitter_buf_destroy(jb);
}

static void bad_config_and_arguments_are_rejected(void **state)
{
	struct jitter_buf *jb = NULL;
	struct jitter_cfg c = { .min_delay_frames = 5, .max_delay_frames = 3 };
	assert_int_equal(jitter_buf_create(&jb, &c), -EINVAL);
	c = (struct jitter_cfg){ .max_delay_frames = 8, .capacity = 8 };
	assert_int_equal(jitter_buf_create(&jb, &c), -EINVAL);
	c = (struct jitter_cfg){ .capacity = JITTER_MAX_CAPACITY + 1 };
	assert_int_equal(jitter_buf_create(&jb, &c), -EINVAL);
	c = (struct jitter_cfg){ .max_payload_len = JITTER_MAX_PAYLOAD + 1 };
	assert_int_equal(jitter_buf_create(&jb, &c), -EINVAL);
	assert_int_equal(jitter_buf_create(NULL, NULL), -EINVAL);
	assert_null(jb);

	/* all defaults */
	assert_int_equal(jitter_buf_create(&jb, NULL), 0);
	assert_int_equal(stats(jb).target_delay, JITTER_DEFAULT_MIN_DELAY);
	uint8_t big[JITTER_DEFAULT_PAYLOAD + 1] = { 0 };
	assert_int_equal(jitter_buf_put(jb, 1, 0, big, sizeof(big), 0),
			 -EMSGSIZE);
	assert_int_equal(jitter_buf_put(jb, 1, 0, NULL, 10, 0), -EINVAL);
	assert_int_equal(jitter_buf_put(NULL, 1, 0, big, 10, 0), -EINVAL);
	assert_int_equal(stats(jb).received, 0);

	/* a frame too long for the caller's buffer stays queued */
	jitter_buf_put(jb, 1, 0, big, 100, 0);
	jitter_buf_put(jb, 2, 160, big, 100, 20000);
	uint8_t out[100];
	size_t len = 12345;
	assert_int_equal(jitter_buf_get(jb, out, 99, &len), -ENOBUFS);
	assert_int_equal(len, 12345);
	assert_int_equal(jitter_buf_get(jb, out, 100, &len), JITTER_FRAME);
	assert_int_equal(len, 100);
	assert_int_equal(jitter_buf_get(jb, NULL, 100, &len), -EINVAL);
	jitter_buf_destroy(jb);
	jitter_buf_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_until_min_delay_is_buffered),
		cmocka_unit_test(reordered_packets_come_out_in_order),
		cmocka_unit_test(first_packet_may_arrive_second),
		cmocka_unit_test(missing_frame_is_reported_lost_once),
		cmocka_unit_test(duplicate_packet_is_dropped),
		cmocka_unit_test(late_packet_is_dropped),
		cmocka_unit_test(sequence_wraps_at_65535),
		cmocka_unit_test(capacity_caps_the_buffer),
		cmocka_unit_test(huge_jump_resets_the_stream),
		cmocka_unit_test(lone_stray_packet_does_not_reset),
		cmocka_unit_test(long_gap_skips_ahead),
		cmocka_unit_test(underrun_grows_the_delay_up_to_max),
		cmocka_unit_test(excess_depth_is_trimmed_a_frame_at_a_time),
		cmocka_unit_test(calm_period_shrinks_the_delay),
		cmocka_unit_test(random_network_keeps_order_and_accounts),
		cmocka_unit_test(regular_arrival_has_no_jitter),
		cmocka_unit_test(reset_waits_for_a_new_stream),
		cmocka_unit_test(bad_config_and_arguments_are_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
