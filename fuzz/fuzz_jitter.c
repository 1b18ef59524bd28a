/* Fuzz target: the input drives a jitter buffer through puts and gets with
 * arbitrary sequence numbers, timestamps, lengths and timing, checking its
 * invariants (bounded depth and target, exact frame order within a stream,
 * lengths, payload integrity). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audio/jitter.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

static uint8_t next_byte(const uint8_t *data, size_t size, size_t *off)
{
	return *off < size ? data[(*off)++] : 0;
}

/* Layout: 3 config bytes, then ops. An op byte with bit 7 set is a get
 * (bits 0-6 pick the output capacity); otherwise a put whose sequence moves
 * by a signed byte (bit 6 clear) or is set from two bytes (bit 6 set),
 * followed by a length byte; bits 0-5 advance the arrival clock in ms. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	struct jitter_cfg cfg = { 0 };
	cfg.min_delay_frames = 1 + next_byte(data, size, &off) % 6;
	cfg.max_delay_frames =
		cfg.min_delay_frames + next_byte(data, size, &off) % 10;
	cfg.capacity =
		cfg.max_delay_frames + 1 + next_byte(data, size, &off) % 40;
	cfg.max_payload_len = 64;

	struct jitter_buf *jb = NULL;
	check(jitter_buf_create(&jb, &cfg) == 0);

	uint16_t seq = 1000;
	uint64_t now_us = 0;
	bool have_last = false;
	uint16_t last_out = 0;
	uint64_t resets = 0, last_skipped = 0;
	unsigned ops = 0;

	while (off < size && ops++ < 100000) {
		uint8_t op = data[off++];
		if (op & 0x80) {
			uint8_t out[64];
			size_t cap = (op & 0x40) ? sizeof(out) : (op & 0x3f);
			size_t len = 9999;
			int r = jitter_buf_get(jb, out, cap, &len);
			check(r == JITTER_FRAME || r == JITTER_LOST ||
			      r == JITTER_EMPTY || r == -ENOBUFS);
			if (r != JITTER_FRAME) {
				check(len == 9999);
				continue;
			}
			check(len <= cap);
			struct jitter_stats st;
			jitter_buf_stats(jb, &st);
			for (size_t i = 2; i < len; i++)
				check(out[i] == 0x55);
			/* Within one stream the playout point moves by one per
			 * frame or gap handed out plus every frame skipped
			 * (counted as lost or overflow), so the next frame's
			 * number is known exactly. */
			uint64_t skipped = st.lost + st.overflow;
			if (len >= 2) {
				uint16_t s = (uint16_t)(out[0] << 8 | out[1]);
				if (have_last && st.resets == resets)
					check(s == (uint16_t)(last_out + 1u +
							      (skipped -
							       last_skipped)));
				have_last = true;
				last_out = s;
			} else {
				have_last = false;
			}
			last_skipped = skipped;
			resets = st.resets;
			continue;
		}
		if (op & 0x40) {
			uint8_t hi = next_byte(data, size, &off);
			seq = (uint16_t)(hi << 8 | next_byte(data, size, &off));
		} else {
			seq = (uint16_t)(seq +
					 (int8_t)next_byte(data, size, &off));
		}
		size_t len = next_byte(data, size, &off) % 80;
		now_us += (uint64_t)(op & 0x3f) * 1000u;
		uint8_t payload[80];
		memset(payload, 0x55, sizeof(payload));
		payload[0] = (uint8_t)(seq >> 8);
		payload[1] = (uint8_t)seq;
		int r = jitter_buf_put(jb, seq, (uint32_t)seq * 160u, payload,
				       len, now_us);
		if (len > cfg.max_payload_len)
			check(r == -EMSGSIZE);
		else
			check(r >= JITTER_STORED && r <= JITTER_STRAY);
		struct jitter_stats st;
		jitter_buf_stats(jb, &st);
		check(st.depth <= cfg.capacity);
		check(st.target_delay >= cfg.min_delay_frames &&
		      st.target_delay <= cfg.max_delay_frames);
	}
	jitter_buf_destroy(jb);
	return 0;
}
