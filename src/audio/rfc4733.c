/* RFC 4733 telephone-event parsing, exactly-once receiver and sender (see
 * rfc4733.h). */
#include "audio/rfc4733.h"

#include <errno.h>
#include <string.h>

static const char keys[] = "0123456789*#ABCD";

char rfc4733_event_digit(uint8_t event)
{
	return event < 16 ? keys[event] : '\0';
}

int rfc4733_digit_event(char digit)
{
	if (digit >= 'a' && digit <= 'd')
		digit = (char)(digit - 'a' + 'A');
	for (int i = 0; i < 16; i++)
		if (keys[i] == digit)
			return i;
	return -EINVAL;
}

int rfc4733_parse(const uint8_t *p, size_t len, struct rfc4733_event *ev)
{
	if (!p || !ev)
		return -EINVAL;
	if (len < RFC4733_EVENT_LEN || len % RFC4733_EVENT_LEN)
		return -EBADMSG;
	/*  0                   1                   2                   3
	 * |     event     |E|R| volume    |          duration             | */
	ev->event = p[0];
	ev->end = (p[1] & 0x80) != 0;
	ev->volume = p[1] & 0x3f;
	ev->duration = (uint16_t)((p[2] << 8) | p[3]);
	ev->digit = rfc4733_event_digit(p[0]);
	return 0;
}

void rfc4733_rx_init(struct rfc4733_rx *rx)
{
	if (rx)
		memset(rx, 0, sizeof(*rx));
}

static bool seen(const struct rfc4733_rx *rx, uint32_t ts, uint8_t event)
{
	for (unsigned i = 0; i < rx->nhist; i++)
		if (rx->hist[i].ts == ts && rx->hist[i].event == event)
			return true;
	return false;
}

int rfc4733_rx_feed(struct rfc4733_rx *rx, uint32_t rtp_ts, bool marker,
		    const uint8_t *payload, size_t len, char *digit)
{
	if (!rx || !digit)
		return -EINVAL;
	struct rfc4733_event ev;
	int err = rfc4733_parse(payload, len, &ev);
	if (err)
		return err;

	/* updates, end packets and retransmissions of a known event */
	if (seen(rx, rtp_ts, ev.event))
		return 0;
	/* A packet of an event older than the newest one, reordered or
	 * retransmitted late. The marker bit says "a new event starts here",
	 * which is how a sender whose timestamps jumped back shows itself. */
	if (rx->have_newest && !marker) {
		uint32_t behind = rx->newest_ts - rtp_ts;
		if (behind != 0 && behind <= RFC4733_RX_OLD_WINDOW)
			return 0;
	}

	rx->hist[rx->next].ts = rtp_ts;
	rx->hist[rx->next].event = ev.event;
	rx->next = (rx->next + 1) % RFC4733_RX_HISTORY;
	if (rx->nhist < RFC4733_RX_HISTORY)
		rx->nhist++;
	rx->have_newest = true;
	rx->newest_ts = rtp_ts;

	if (!ev.digit) {
		rx->ignored++;
		return 0;
	}
	rx->presses++;
	*digit = ev.digit;
	return 1;
}

void rfc4733_tx_init(struct rfc4733_tx *tx)
{
	if (tx)
		memset(tx, 0, sizeof(*tx));
}

int rfc4733_tx_start(struct rfc4733_tx *tx, char digit, unsigned duration_ms,
		     uint32_t ts)
{
	if (!tx)
		return -EINVAL;
	if (tx->active)
		return -EBUSY;
	int event = rfc4733_digit_event(digit);
	if (event < 0 || duration_ms < RFC4733_TX_MIN_MS ||
	    duration_ms > RFC4733_TX_MAX_MS)
		return -EINVAL;
	memset(tx, 0, sizeof(*tx));
	tx->active = true;
	tx->event = (uint8_t)event;
	tx->ts = ts;
	tx->total = duration_ms * RFC4733_SAMPLES_PER_MS;
	return 0;
}

int rfc4733_tx_next(struct rfc4733_tx *tx, uint8_t out[RFC4733_EVENT_LEN],
		    bool *marker, uint32_t *ts, bool *done)
{
	if (!tx || !out || !marker || !ts || !done || !tx->active)
		return -EINVAL;

	/* the duration field says how long the key has been down so far */
	if (tx->elapsed < tx->total) {
		tx->elapsed += RFC4733_PACKET_MS * RFC4733_SAMPLES_PER_MS;
		if (tx->elapsed > tx->total)
			tx->elapsed = tx->total;
	}
	bool end = tx->elapsed >= tx->total;
	if (end)
		tx->ends_sent++;

	out[0] = tx->event;
	out[1] = (uint8_t)((end ? 0x80 : 0) | RFC4733_TX_VOLUME);
	out[2] = (uint8_t)(tx->elapsed >> 8);
	out[3] = (uint8_t)tx->elapsed;
	*marker = tx->packets == 0;
	*ts = tx->ts;
	*done = end && tx->ends_sent >= RFC4733_END_REPEATS;
	tx->packets++;
	if (*done)
		tx->active = false;
	return 0;
}
