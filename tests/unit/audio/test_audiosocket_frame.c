/* AudioSocket framing: whole and split messages, malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "audio/audiosocket_frame.h"

/* Collected messages of one feed run (payloads copied). */
struct got {
	unsigned n;
	uint8_t kind[16];
	size_t len[16];
	uint8_t payload[16][AUDIOSOCKET_PAYLOAD_MAX];
	int err;
};

static void feed_all(struct audiosocket_framer *f, const uint8_t *d, size_t len,
		     size_t step, struct got *g)
{
	size_t off = 0;
	while (off < len) {
		size_t chunk = len - off < step ? len - off : step;
		size_t pos = 0;
		while (pos < chunk) {
			struct audiosocket_msg m;
			size_t used = 0;
			int r = audiosocket_framer_feed(f, d + off + pos,
							chunk - pos, &used, &m);
			assert_true(used <= chunk - pos);
			pos += used;
			if (r < 0) {
				g->err = r;
				return;
			}
			if (r == 0) {
				assert_int_equal(pos, chunk);
				break;
			}
			assert_true(g->n < 16);
			g->kind[g->n] = m.kind;
			g->len[g->n] = m.len;
			memcpy(g->payload[g->n], m.payload, m.len);
			g->n++;
		}
		off += chunk;
	}
}

static const uint8_t uuid_bytes[16] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc,
					0xde, 0xf0, 0x01, 0x23, 0x45, 0x67,
					0x89, 0xab, 0xcd, 0xef };

static size_t build_session(uint8_t *buf, size_t cap)
{
	size_t o = 0;
	int n = audiosocket_frame_encode(AUDIOSOCKET_UUID, uuid_bytes, 16,
					 buf + o, cap - o);
	assert_int_equal(n, 19);
	o += (size_t)n;
	uint8_t pcm[320];
	for (size_t i = 0; i < sizeof(pcm); i++)
		pcm[i] = (uint8_t)i;
	n = audiosocket_frame_encode(AUDIOSOCKET_AUDIO, pcm, sizeof(pcm),
				     buf + o, cap - o);
	assert_int_equal(n, 323);
	o += (size_t)n;
	const uint8_t five = '5';
	n = audiosocket_frame_encode(AUDIOSOCKET_DTMF, &five, 1, buf + o,
				     cap - o);
	o += (size_t)n;
	n = audiosocket_frame_encode(AUDIOSOCKET_HANGUP, NULL, 0, buf + o,
				     cap - o);
	assert_int_equal(n, 3);
	o += (size_t)n;
	return o;
}

static void check_session(const struct got *g)
{
	assert_int_equal(g->err, 0);
	assert_int_equal(g->n, 4);
	assert_int_equal(g->kind[0], AUDIOSOCKET_UUID);
	assert_memory_equal(g->payload[0], uuid_bytes, 16);
	assert_int_equal(g->kind[1], AUDIOSOCKET_AUDIO);
	assert_int_equal(g->len[1], 320);
	assert_int_equal(g->payload[1][0], 0);
	assert_int_equal(g->payload[1][319], (uint8_t)319);
	assert_int_equal(g->kind[2], AUDIOSOCKET_DTMF);
	assert_int_equal(g->payload[2][0], '5');
	assert_int_equal(g->kind[3], AUDIOSOCKET_HANGUP);
	assert_int_equal(g->len[3], 0);
}

static void whole_session_in_one_buffer(void **state)
{
	(void)state;
	static uint8_t buf[1024];
	static struct got g;
	memset(&g, 0, sizeof(g));
	size_t len = build_session(buf, sizeof(buf));
	static struct audiosocket_framer f;
	audiosocket_framer_init(&f);
	feed_all(&f, buf, len, len, &g);
	check_session(&g);
}

static void byte_by_byte_and_odd_splits_give_the_same_messages(void **state)
{
	(void)state;
	static uint8_t buf[1024];
	size_t len = build_session(buf, sizeof(buf));
	static const size_t steps[] = { 1, 2, 3, 4, 7, 18, 19, 20, 322, 500 };
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		static struct got g;
		static struct audiosocket_framer f;
		memset(&g, 0, sizeof(g));
		audiosocket_framer_init(&f);
		feed_all(&f, buf, len, steps[i], &g);
		check_session(&g);
	}
}

static void the_documented_examples_parse(void **state)
{
	(void)state;
	/* PROTOCOLS.md: DTMF '5' is 03 00 01 35. */
	const uint8_t dtmf[] = { 0x03, 0x00, 0x01, 0x35 };
	struct audiosocket_framer f;
	audiosocket_framer_init(&f);
	struct audiosocket_msg m;
	size_t used = 0;
	assert_int_equal(
		audiosocket_framer_feed(&f, dtmf, sizeof(dtmf), &used, &m), 1);
	assert_int_equal(used, 4);
	assert_int_equal(m.kind, AUDIOSOCKET_DTMF);
	assert_int_equal(m.len, 1);
	assert_int_equal(m.payload[0], '5');
	assert_int_equal(audiosocket_msg_check(&m), 0);
	/* A 20 ms frame header: 10 01 40. */
	uint8_t out[AUDIOSOCKET_FRAME_BYTES];
	uint8_t pcm[320] = { 0 };
	assert_int_equal(audiosocket_frame_encode(AUDIOSOCKET_AUDIO, pcm, 320,
						  out, sizeof(out)),
			 323);
	assert_int_equal(out[0], 0x10);
	assert_int_equal(out[1], 0x01);
	assert_int_equal(out[2], 0x40);
	char text[37];
	audiosocket_uuid_format(uuid_bytes, text);
	assert_string_equal(text, "12345678-9abc-def0-0123-456789abcdef");
}

static void unknown_kinds_are_framed_and_flagged_not_fatal(void **state)
{
	(void)state;
	const uint8_t in[] = { 0x42, 0x00, 0x02, 0xaa, 0xbb,
			       0x03, 0x00, 0x01, '#' };
	struct got g;
	memset(&g, 0, sizeof(g));
	struct audiosocket_framer f;
	audiosocket_framer_init(&f);
	feed_all(&f, in, sizeof(in), 1, &g);
	assert_int_equal(g.err, 0);
	assert_int_equal(g.n, 2);
	struct audiosocket_msg m = { .kind = 0x42,
				     .payload = g.payload[0],
				     .len = 2 };
	assert_int_equal(audiosocket_msg_check(&m), -ENOTSUP);
	m = (struct audiosocket_msg){ .kind = g.kind[1],
				      .payload = g.payload[1],
				      .len = g.len[1] };
	assert_int_equal(audiosocket_msg_check(&m), 0);
	assert_int_equal(m.payload[0], '#');
}

static void malformed_payloads_are_ebadmsg(void **state)
{
	(void)state;
	const uint8_t z[32] = { 0 };
	static const struct {
		uint8_t kind;
		size_t len;
	} bad[] = {
		{ AUDIOSOCKET_AUDIO, 0 }, /* zero-length audio */
		{ 0x12, 0 },		  /* zero-length 16 kHz audio */
		{ AUDIOSOCKET_AUDIO, 3 }, /* half a sample */
		{ AUDIOSOCKET_UUID, 15 }, /* short UUID */
		{ AUDIOSOCKET_UUID, 17 }, /* long UUID */
		{ AUDIOSOCKET_DTMF, 0 },  /* no digit */
		{ AUDIOSOCKET_DTMF, 2 },  /* two digits */
		{ AUDIOSOCKET_DTMF, 1 },  /* NUL digit */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct audiosocket_msg m = { .kind = bad[i].kind,
					     .payload = z,
					     .len = bad[i].len };
		assert_int_equal(audiosocket_msg_check(&m), -EBADMSG);
	}
	struct audiosocket_msg ok = { .kind = 0x18, .payload = z, .len = 4 };
	assert_int_equal(audiosocket_msg_check(&ok), 0);
	ok.kind = AUDIOSOCKET_ERROR;
	ok.len = 0;
	assert_int_equal(audiosocket_msg_check(&ok), 0);
	/* A zero-length message still frames (the checker rejects it). */
	const uint8_t empty_audio[] = { 0x10, 0x00, 0x00 };
	struct audiosocket_framer f;
	audiosocket_framer_init(&f);
	struct audiosocket_msg m;
	size_t used = 0;
	assert_int_equal(audiosocket_framer_feed(&f, empty_audio, 3, &used, &m),
			 1);
	assert_int_equal(m.len, 0);
	assert_int_equal(audiosocket_msg_check(&m), -EBADMSG);
}

static void oversized_length_breaks_the_stream(void **state)
{
	(void)state;
	const uint8_t big[] = { 0x10, 0x10, 0x01, 0x00, 0x00 }; /* 4097 */
	struct audiosocket_framer f;
	audiosocket_framer_init(&f);
	struct audiosocket_msg m;
	size_t used = 0;
	assert_int_equal(audiosocket_framer_feed(&f, big, 2, &used, &m), 0);
	assert_int_equal(used, 2);
	assert_int_equal(audiosocket_framer_feed(&f, big + 2, 3, &used, &m),
			 -EMSGSIZE);
	/* Lost for good: the next bytes cannot be trusted as a header. */
	const uint8_t hangup[] = { 0x00, 0x00, 0x00 };
	assert_int_equal(audiosocket_framer_feed(&f, hangup, 3, &used, &m),
			 -EMSGSIZE);
	/* Exactly the cap is fine. */
	static uint8_t cap[3 + AUDIOSOCKET_PAYLOAD_MAX];
	cap[0] = 0x10;
	cap[1] = AUDIOSOCKET_PAYLOAD_MAX >> 8;
	cap[2] = AUDIOSOCKET_PAYLOAD_MAX & 0xff;
	audiosocket_framer_init(&f);
	assert_int_equal(
		audiosocket_framer_feed(&f, cap, sizeof(cap), &used, &m), 1);
	assert_int_equal(m.len, AUDIOSOCKET_PAYLOAD_MAX);
	uint8_t out[8];
	assert_int_equal(audiosocket_frame_encode(0x10, cap, 4097, out, 8),
			 -EINVAL);
	assert_int_equal(audiosocket_frame_encode(0x10, cap, 6, out, 8),
			 -ENOSPC);
}

static void hangup_alone_and_rates(void **state)
{
	(void)state;
	const uint8_t h[] = { 0x00, 0x00, 0x00 };
	struct audiosocket_framer f;
	audiosocket_framer_init(&f);
	struct audiosocket_msg m;
	size_t used = 0;
	assert_int_equal(audiosocket_framer_feed(&f, h, 1, &used, &m), 0);
	assert_int_equal(audiosocket_framer_feed(&f, h + 1, 1, &used, &m), 0);
	assert_int_equal(audiosocket_framer_feed(&f, h + 2, 1, &used, &m), 1);
	assert_int_equal(m.kind, AUDIOSOCKET_HANGUP);
	assert_int_equal(m.len, 0);
	assert_int_equal(audiosocket_kind_rate_hz(0x10), 8000);
	assert_int_equal(audiosocket_kind_rate_hz(0x12), 16000);
	assert_int_equal(audiosocket_kind_rate_hz(0x15), 44100);
	assert_int_equal(audiosocket_kind_rate_hz(0x18), 192000);
	assert_int_equal(audiosocket_kind_rate_hz(0x19), 0);
	assert_int_equal(audiosocket_kind_rate_hz(0x03), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(whole_session_in_one_buffer),
		cmocka_unit_test(
			byte_by_byte_and_odd_splits_give_the_same_messages),
		cmocka_unit_test(the_documented_examples_parse),
		cmocka_unit_test(
			unknown_kinds_are_framed_and_flagged_not_fatal),
		cmocka_unit_test(malformed_payloads_are_ebadmsg),
		cmocka_unit_test(oversized_length_breaks_the_stream),
		cmocka_unit_test(hangup_alone_and_rates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
