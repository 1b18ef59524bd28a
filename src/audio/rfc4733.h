/* RFC 4733 telephone-events (DTMF over RTP): parsing one event block, a
 * receiver that turns a packet stream into key presses exactly once, and a
 * sender that produces the packets for one key press. Caller storage, no
 * allocation, one thread per object. Durations assume the usual 8 kHz
 * telephone-event clock. */
#ifndef VG_AUDIO_RFC4733_H
#define VG_AUDIO_RFC4733_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RFC4733_EVENT_LEN 4	 /* bytes in one event block */
#define RFC4733_SAMPLES_PER_MS 8 /* telephone-event/8000 */
#define RFC4733_PACKET_MS 20	 /* one packet per 20 ms tick */
#define RFC4733_END_REPEATS 3	 /* RFC 4733 2.5.1.4 */
/* Sender limits: one event's duration must fit the 16-bit field. */
#define RFC4733_TX_MIN_MS 20u
#define RFC4733_TX_MAX_MS 8000u
#define RFC4733_TX_VOLUME 10 /* -10 dBm0 */

struct rfc4733_event {
	uint8_t event;	   /* 0..255; 0-15 are the DTMF keys */
	bool end;	   /* E bit */
	uint8_t volume;	   /* 0..63, -dBm0 */
	uint16_t duration; /* RTP clock units since the event started */
	char digit;	   /* "0123456789*#ABCD"[event], or '\0' for others */
};

/* Parse the first event block of a telephone-event payload. A payload is one
 * or more 4-byte blocks; only the first is read (packed events, RFC 4733
 * 2.5.1.5, are rare and not supported). *ev is set only on success.
 * Returns 0, -EINVAL (NULL argument) or -EBADMSG (shorter than 4 bytes or not
 * a whole number of blocks). */
int rfc4733_parse(const uint8_t *p, size_t len, struct rfc4733_event *ev);

/* The key for event code 0-15, or '\0'. */
char rfc4733_event_digit(uint8_t event);

/* The event code (0-15) for a key ("0-9*#A-D", a-d too), or -EINVAL. */
int rfc4733_digit_event(char digit);

/* Receiver. An event is identified by its RTP timestamp (and code): it is
 * reported on the first packet seen for it, so retransmitted start packets,
 * updates and the repeated end packets count once; a second press of the
 * same key has a new timestamp and counts again. A few recent events are
 * remembered so a reordered packet of an older event is not taken as new. */
#define RFC4733_RX_HISTORY 8
/* A timestamp up to this far (60 s at 8 kHz) before the newest event is a
 * reordered old packet and ignored, unless it carries the marker bit. */
#define RFC4733_RX_OLD_WINDOW (8000u * 60u)

struct rfc4733_rx {
	bool have_newest;
	uint32_t newest_ts;
	unsigned nhist;
	unsigned next;
	struct {
		uint32_t ts;
		uint8_t event;
	} hist[RFC4733_RX_HISTORY];
	uint64_t presses; /* key presses reported */
	uint64_t ignored; /* new events that are not DTMF keys */
};

/* Start (or restart, e.g. on an SSRC change) a receiver. */
void rfc4733_rx_init(struct rfc4733_rx *rx);

/* Feed one telephone-event packet. Returns 1 with *digit set when it starts a
 * new key press, 0 for anything else (continuation, end, duplicate, old or
 * non-DTMF event), -EINVAL (NULL argument) or -EBADMSG (malformed payload;
 * the receiver state is unchanged). */
int rfc4733_rx_feed(struct rfc4733_rx *rx, uint32_t rtp_ts, bool marker,
		    const uint8_t *payload, size_t len, char *digit);

/* Sender for one key press at a time. A zeroed struct (or rfc4733_tx_init)
 * is idle. */
struct rfc4733_tx {
	bool active;
	uint8_t event;
	uint32_t ts;	    /* RTP timestamp of the event start */
	uint32_t total;	    /* duration in RTP clock units */
	uint32_t elapsed;   /* duration field of the last packet */
	unsigned packets;   /* packets produced so far */
	unsigned ends_sent; /* end packets produced so far */
};

void rfc4733_tx_init(struct rfc4733_tx *tx);

/* Begin a key press of duration_ms (RFC4733_TX_MIN_MS..RFC4733_TX_MAX_MS)
 * starting at RTP timestamp ts (the audio clock now). Returns 0, -EINVAL (bad
 * key or duration) or -EBUSY (the previous press has not finished). */
int rfc4733_tx_start(struct rfc4733_tx *tx, char digit, unsigned duration_ms,
		     uint32_t ts);

/* Produce the packet for this 20 ms tick: out gets the 4-byte payload, *ts
 * the RTP timestamp (the same for every packet of the event), *marker is set
 * on the first packet only. The duration grows by 20 ms per packet; the last
 * one carries the end bit and is sent RFC4733_END_REPEATS times, the final
 * one with *done = true (the sender is then idle). Each packet needs its own
 * RTP sequence number. Returns 0 or -EINVAL (NULL argument or idle). */
int rfc4733_tx_next(struct rfc4733_tx *tx, uint8_t out[RFC4733_EVENT_LEN],
		    bool *marker, uint32_t *ts, bool *done);
#endif
