/* Fuzz target: RFC 4733 parsing, a receiver fed a packet stream cut from the
 * input, and a sender whose output must round-trip through a receiver. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audio/rfc4733.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

/* Input layout after the first parse: records of
 *   flags (bit 0-3 payload length, 4 marker, 5 ts step follows,
 *          6 step backwards), [2-byte ts step], payload. */
static void feed_stream(const uint8_t *data, size_t size)
{
	struct rfc4733_rx rx;
	rfc4733_rx_init(&rx);
	uint32_t ts = 0;
	size_t off = 0;
	uint64_t ones = 0;

	while (off < size) {
		uint8_t h = data[off++];
		if ((h & 0x20) && size - off >= 2) {
			uint32_t step =
				(uint32_t)(data[off] << 8 | data[off + 1]);
			ts = (h & 0x40) ? ts - step : ts + step;
			off += 2;
		}
		size_t len = h & 0x0f;
		if (len > size - off)
			len = size - off;
		char d = 0;
		int r = rfc4733_rx_feed(&rx, ts, (h & 0x10) != 0, data + off,
					len, &d);
		check(r == 0 || r == 1 || r == -EBADMSG);
		check(r != -EBADMSG || len < 4 || len % 4);
		if (r == 1) {
			check(d && strchr("0123456789*#ABCD", d));
			ones++;
		}
		off += len;
	}
	check(rx.nhist <= RFC4733_RX_HISTORY);
	check(rx.presses == ones);
}

static void round_trip(const uint8_t *data, size_t size)
{
	if (size < 3)
		return;
	char key = "0123456789*#ABCD"[data[0] % 16];
	unsigned ms = RFC4733_TX_MIN_MS +
		      (unsigned)((data[1] << 8 | data[2]) %
				 (RFC4733_TX_MAX_MS - RFC4733_TX_MIN_MS + 1));
	struct rfc4733_tx tx;
	struct rfc4733_rx rx;
	rfc4733_tx_init(&tx);
	rfc4733_rx_init(&rx);
	uint32_t ts0 = size > 6 ? (uint32_t)data[3] << 24 | data[4] << 16 |
					  data[5] << 8 | data[6]
				: 0;
	check(rfc4733_tx_start(&tx, key, ms, ts0) == 0);
	bool done = false;
	unsigned packets = 0, presses = 0;
	while (!done) {
		uint8_t out[4];
		bool m;
		uint32_t ts;
		check(rfc4733_tx_next(&tx, out, &m, &ts, &done) == 0);
		check(ts == ts0 && m == (packets == 0));
		char d;
		int r = rfc4733_rx_feed(&rx, ts, m, out, 4, &d);
		check(r == 0 || r == 1);
		if (r == 1) {
			check(d == key);
			presses++;
		}
		packets++;
		check(packets <= ms / 20 + 1 + RFC4733_END_REPEATS);
	}
	check(presses == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rfc4733_event ev;
	int r = rfc4733_parse(data, size, &ev);
	check(r == 0 || r == -EBADMSG || (r == -EINVAL && !data));
	if (r == 0) {
		check(ev.volume <= 63);
		check((ev.event < 16) == (ev.digit != '\0'));
	}
	if (data) {
		feed_stream(data, size);
		round_trip(data, size);
	}
	return 0;
}
