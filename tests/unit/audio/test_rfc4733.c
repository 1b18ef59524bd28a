/* Tests for audio/rfc4733: the parser (valid and malformed blocks), the
 * exactly-once receiver under retransmission, loss and reordering, and the
 * sender's packet sequence round-tripping through the receiver. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "audio/rfc4733.h"

static void parse_reads_every_field(void **state)
{
	static const struct {
		uint8_t p[4];
		uint8_t event;
		bool end;
		uint8_t volume;
		uint16_t duration;
		char digit;
	} cases[] = {
		{ { 0x05, 0x8a, 0x03, 0x20 }, 5, true, 10, 800, '5' },
		{ { 0x00, 0x0a, 0x00, 0xa0 }, 0, false, 10, 160, '0' },
		{ { 0x0a, 0x3f, 0xff, 0xff }, 10, false, 63, 65535, '*' },
		{ { 0x0b, 0xc0, 0x00, 0x00 }, 11, true, 0, 0, '#' }, /* R bit */
		{ { 0x0f, 0x80, 0x01, 0x00 }, 15, true, 0, 256, 'D' },
		{ { 0x10, 0x0a, 0x00, 0xa0 }, 16, false, 10, 160, '\0' },
		{ { 0xff, 0xff, 0x12, 0x34 }, 255, true, 63, 0x1234, '\0' },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rfc4733_event ev;
		assert_int_equal(rfc4733_parse(cases[i].p, 4, &ev), 0);
		assert_int_equal(ev.event, cases[i].event);
		assert_int_equal(ev.end, cases[i].end);
		assert_int_equal(ev.volume, cases[i].volume);
		assert_int_equal(ev.duration, cases[i].duration);
		assert_int_equal(ev.digit, cases[i].digit);
	}
}

static void malformed_lengths_are_rejected(void **state)
{
	uint8_t p[12] = { 1, 0x80, 0, 160, 2, 0x80, 0, 160, 3, 0, 0, 0 };
	struct rfc4733_event ev = { .event = 99 };
	static const size_t bad[] = { 0, 1, 2, 3, 5, 6, 7, 9, 10, 11 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(rfc4733_parse(p, bad[i], &ev), -EBADMSG);
	assert_int_equal(ev.event, 99); /* untouched on failure */
	/* whole blocks: the first one is read */
	assert_int_equal(rfc4733_parse(p, 8, &ev), 0);
	assert_int_equal(ev.digit, '1');
	assert_int_equal(rfc4733_parse(p, 12, &ev), 0);
	assert_int_equal(rfc4733_parse(NULL, 4, &ev), -EINVAL);
	assert_int_equal(rfc4733_parse(p, 4, NULL), -EINVAL);
}

static void digits_map_both_ways(void **state)
{
	const char *keys = "0123456789*#ABCD";
	for (int i = 0; i < 16; i++) {
		assert_int_equal(rfc4733_event_digit((uint8_t)i), keys[i]);
		assert_int_equal(rfc4733_digit_event(keys[i]), i);
	}
	assert_int_equal(rfc4733_digit_event('b'), 13);
	assert_int_equal(rfc4733_digit_event('E'), -EINVAL);
	assert_int_equal(rfc4733_digit_event('\0'), -EINVAL);
	assert_int_equal(rfc4733_event_digit(16), '\0');
}

/* Build one block. */
static const uint8_t *blk(uint8_t event, bool end, uint16_t dur)
{
	static uint8_t b[4];
	b[0] = event;
	b[1] = (uint8_t)((end ? 0x80 : 0) | 10);
	b[2] = (uint8_t)(dur >> 8);
	b[3] = (uint8_t)dur;
	return b;
}

static int feed(struct rfc4733_rx *rx, uint32_t ts, bool m, uint8_t event,
		bool end, uint16_t dur, char *digit)
{
	return rfc4733_rx_feed(rx, ts, m, blk(event, end, dur), 4, digit);
}

static void one_press_counts_once_with_retransmissions(void **state)
{
	struct rfc4733_rx rx;
	rfc4733_rx_init(&rx);
	char d = 0;
	/* start sent three times, as some gateways do */
	assert_int_equal(feed(&rx, 1000, true, 7, false, 160, &d), 1);
	assert_int_equal(d, '7');
	d = 0;
	assert_int_equal(feed(&rx, 1000, true, 7, false, 160, &d), 0);
	assert_int_equal(feed(&rx, 1000, true, 7, false, 160, &d), 0);
	assert_int_equal(feed(&rx, 1000, false, 7, false, 320, &d), 0);
	assert_int_equal(feed(&rx, 1000, false, 7, false, 480, &d), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(feed(&rx, 1000, false, 7, true, 640, &d), 0);
	/* a late retransmitted end packet as well */
	assert_int_equal(feed(&rx, 1000, false, 7, true, 640, &d), 0);
	assert_int_equal(d, 0);
	assert_int_equal(rx.presses, 1);
}

static void same_key_twice_counts_twice(void **state)
{
	struct rfc4733_rx rx;
	rfc4733_rx_init(&rx);
	char d;
	assert_int_equal(feed(&rx, 1000, true, 1, false, 160, &d), 1);
	assert_int_equal(feed(&rx, 1000, false, 1, true, 800, &d), 0);
	assert_int_equal(feed(&rx, 2600, true, 1, false, 160, &d), 1);
	assert_int_equal(d, '1');
	assert_int_equal(feed(&rx, 2600, false, 1, true, 800, &d), 0);
	assert_int_equal(rx.presses, 2);
}

static void lost_start_packet_still_counts_once(void **state)
{
	struct rfc4733_rx rx;
	rfc4733_rx_init(&rx);
	char d;
	assert_int_equal(feed(&rx, 5000, false, 3, false, 480, &d), 1);
	assert_int_equal(d, '3');
	assert_int_equal(feed(&rx, 5000, false, 3, true, 800, &d), 0);
	/* only an end packet of the next press made it */
	assert_int_equal(feed(&rx, 7000, false, 4, true, 800, &d), 1);
	assert_int_equal(d, '4');
}

static void reordered_old_packets_do_not_count_again(void **state)
{
	struct rfc4733_rx rx;
	rfc4733_rx_init(&rx);
	char d;
	assert_int_equal(feed(&rx, 1000, true, 5, false, 160, &d), 1);
	assert_int_equal(feed(&rx, 3000, true, 6, false, 160, &d), 1);
	/* an end of the first press arrives after the second began */
	assert_int_equal(feed(&rx, 1000, false, 5, true, 800, &d), 0);
	/* and a packet of an event whose start we never saw but which is
	 * older than the newest: reordered, not new */
	assert_int_equal(feed(&rx, 2000, false, 9, true, 800, &d), 0);
	assert_int_equal(rx.presses, 2);
	/* the history outlives many later events */
	for (uint32_t k = 0; k < RFC4733_RX_HISTORY - 1; k++)
		assert_int_equal(
			feed(&rx, 4000 + k * 2000, true, 2, false, 160, &d), 1);
	assert_int_equal(feed(&rx, 3000, true, 6, false, 160, &d), 0);
}

static void timestamp_wrap_and_sender_restart(void **state)
{
	struct rfc4733_rx rx;
	rfc4733_rx_init(&rx);
	char d;
	assert_int_equal(feed(&rx, 0xffffff00u, true, 1, false, 160, &d), 1);
	assert_int_equal(feed(&rx, 0x00000400u, true, 2, false, 160, &d), 1);
	assert_int_equal(d, '2');
	/* timestamps jump back (new sender): the marker says it is new */
	assert_int_equal(feed(&rx, 0x00000200u, true, 3, false, 160, &d), 1);
	assert_int_equal(d, '3');
	/* far back without a marker is a new stream too, not reordering */
	assert_int_equal(feed(&rx, 0x80000000u, false, 4, false, 320, &d), 1);
	assert_int_equal(d, '4');
}

static void unknown_events_are_ignored(void **state)
{
	struct rfc4733_rx rx;
	rfc4733_rx_init(&rx);
	char d = 'x';
	/* flash (16) and a vendor code */
	assert_int_equal(feed(&rx, 100, true, 16, false, 160, &d), 0);
	assert_int_equal(feed(&rx, 100, false, 16, true, 800, &d), 0);
	assert_int_equal(feed(&rx, 900, true, 200, false, 160, &d), 0);
	assert_int_equal(d, 'x');
	assert_int_equal(rx.ignored, 2);
	assert_int_equal(rx.presses, 0);
	assert_int_equal(feed(&rx, 1700, true, 12, false, 160, &d), 1);
	assert_int_equal(d, 'A');
}

static void malformed_packets_leave_the_receiver_alone(void **state)
{
	struct rfc4733_rx rx;
	rfc4733_rx_init(&rx);
	char d = 'x';
	uint8_t p[5] = { 1, 0, 0, 160, 0 };
	assert_int_equal(rfc4733_rx_feed(&rx, 100, true, p, 3, &d), -EBADMSG);
	assert_int_equal(rfc4733_rx_feed(&rx, 100, true, p, 5, &d), -EBADMSG);
	assert_int_equal(rfc4733_rx_feed(&rx, 100, true, p, 0, &d), -EBADMSG);
	assert_int_equal(rfc4733_rx_feed(&rx, 100, true, NULL, 4, &d), -EINVAL);
	assert_int_equal(rfc4733_rx_feed(&rx, 100, true, p, 4, NULL), -EINVAL);
	assert_int_equal(rfc4733_rx_feed(NULL, 100, true, p, 4, &d), -EINVAL);
	assert_int_equal(d, 'x');
	assert_int_equal(rx.nhist, 0);
	/* the same timestamp still starts a press afterwards */
	assert_int_equal(rfc4733_rx_feed(&rx, 100, true, p, 4, &d), 1);
	assert_int_equal(d, '1');
}

static void sender_produces_the_rfc_sequence(void **state)
{
	struct rfc4733_tx tx;
	rfc4733_tx_init(&tx);
	assert_int_equal(rfc4733_tx_start(&tx, '#', 100, 0xfffff000u), 0);
	static const uint16_t durs[] = { 160, 320, 480, 640, 800, 800, 800 };
	for (size_t i = 0; i < 7; i++) {
		uint8_t out[4];
		bool m, done;
		uint32_t ts;
		assert_int_equal(rfc4733_tx_next(&tx, out, &m, &ts, &done), 0);
		struct rfc4733_event ev;
		assert_int_equal(rfc4733_parse(out, 4, &ev), 0);
		assert_int_equal(ev.digit, '#');
		assert_int_equal(ev.duration, durs[i]);
		assert_int_equal(ev.end, i >= 4);
		assert_int_equal(ev.volume, RFC4733_TX_VOLUME);
		assert_int_equal(m, i == 0);
		assert_int_equal(ts, 0xfffff000u);
		assert_int_equal(done, i == 6);
	}
	uint8_t out[4];
	bool m, done;
	uint32_t ts;
	assert_int_equal(rfc4733_tx_next(&tx, out, &m, &ts, &done), -EINVAL);
	/* a duration not a multiple of 20 ms ends on the exact value */
	assert_int_equal(rfc4733_tx_start(&tx, '1', 50, 0), 0);
	rfc4733_tx_next(&tx, out, &m, &ts, &done);
	rfc4733_tx_next(&tx, out, &m, &ts, &done);
	rfc4733_tx_next(&tx, out, &m, &ts, &done);
	struct rfc4733_event ev;
	rfc4733_parse(out, 4, &ev);
	assert_true(ev.end);
	assert_int_equal(ev.duration, 400);
	assert_false(done);
}

static void sender_refuses_bad_requests(void **state)
{
	struct rfc4733_tx tx;
	rfc4733_tx_init(&tx);
	assert_int_equal(rfc4733_tx_start(&tx, 'x', 100, 0), -EINVAL);
	assert_int_equal(rfc4733_tx_start(&tx, '1', 19, 0), -EINVAL);
	assert_int_equal(rfc4733_tx_start(&tx, '1', 8001, 0), -EINVAL);
	assert_int_equal(rfc4733_tx_start(NULL, '1', 100, 0), -EINVAL);
	assert_int_equal(rfc4733_tx_start(&tx, '1', 100, 0), 0);
	assert_int_equal(rfc4733_tx_start(&tx, '2', 100, 0), -EBUSY);
	uint8_t out[4];
	bool m, done;
	uint32_t ts;
	assert_int_equal(rfc4733_tx_next(&tx, NULL, &m, &ts, &done), -EINVAL);
	/* the longest press still fits the 16-bit duration */
	rfc4733_tx_init(&tx);
	assert_int_equal(rfc4733_tx_start(&tx, '1', 8000, 0), 0);
	struct rfc4733_event ev = { 0 };
	done = false;
	while (!done) {
		assert_int_equal(rfc4733_tx_next(&tx, out, &m, &ts, &done), 0);
		rfc4733_parse(out, 4, &ev);
	}
	assert_int_equal(ev.duration, 64000);
}

/* Every key, sent by our sender with realistic timestamps and fed to our
 * receiver (with one packet duplicated), arrives exactly once. */
static void sender_round_trips_through_the_receiver(void **state)
{
	const char *keys = "0123456789*#ABCD11";
	struct rfc4733_tx tx;
	struct rfc4733_rx rx;
	rfc4733_tx_init(&tx);
	rfc4733_rx_init(&rx);
	char got[32] = "";
	size_t ngot = 0;
	uint32_t clock = 123456;
	for (const char *k = keys; *k; k++) {
		assert_int_equal(rfc4733_tx_start(&tx, *k, 120, clock), 0);
		bool done = false;
		while (!done) {
			uint8_t out[4];
			bool m;
			uint32_t ts;
			assert_int_equal(
				rfc4733_tx_next(&tx, out, &m, &ts, &done), 0);
			for (int copy = 0; copy < 2; copy++) {
				char d;
				int r = rfc4733_rx_feed(&rx, ts, m, out, 4, &d);
				assert_true(r == 0 || r == 1);
				if (r == 1)
					got[ngot++] = d;
			}
			clock += 160;
		}
		clock += 800; /* pause between keys */
	}
	got[ngot] = '\0';
	assert_string_equal(got, keys);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_reads_every_field),
		cmocka_unit_test(malformed_lengths_are_rejected),
		cmocka_unit_test(digits_map_both_ways),
		cmocka_unit_test(one_press_counts_once_with_retransmissions),
		cmocka_unit_test(same_key_twice_counts_twice),
		cmocka_unit_test(lost_start_packet_still_counts_once),
		cmocka_unit_test(reordered_old_packets_do_not_count_again),
		cmocka_unit_test(timestamp_wrap_and_sender_restart),
		cmocka_unit_test(unknown_events_are_ignored),
		cmocka_unit_test(malformed_packets_leave_the_receiver_alone),
		cmocka_unit_test(sender_produces_the_rfc_sequence),
		cmocka_unit_test(sender_refuses_bad_requests),
		cmocka_unit_test(sender_round_trips_through_the_receiver),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
