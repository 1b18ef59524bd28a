/* Receive jitter buffer for one RTP audio stream of 20 ms frames: reorders by
 * sequence number, reports gaps for concealment, and adapts its playout delay
 * between a minimum and a maximum. Single owner, one thread, no clocks of its
 * own: the caller puts packets as they arrive and gets one frame per tick.
 *
 * Playout: after a start or an underrun the buffer answers JITTER_EMPTY until
 * it holds the target delay (in frames, counted from the next frame to play
 * to the newest received). The target starts at min_delay_frames, grows by
 * one frame on every underrun up to max_delay_frames, and shrinks by one
 * after JITTER_CALM_FRAMES frames without an underrun. When the buffer has
 * held more than the target for a whole second it drops one frame to cut the
 * latency; when it holds more than max_delay_frames it drops down to the
 * target at once (after a network stall, say). */
#ifndef VG_AUDIO_JITTER_H
#define VG_AUDIO_JITTER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Hard limits on the configuration. */
#define JITTER_MAX_CAPACITY 1024u /* frames */
#define JITTER_MAX_PAYLOAD 1920u  /* bytes: 20 ms of 48 kHz L16 */

/* Defaults for zero fields of struct jitter_cfg. */
#define JITTER_DEFAULT_MIN_DELAY 2u  /* 40 ms */
#define JITTER_DEFAULT_MAX_DELAY 10u /* 200 ms */
#define JITTER_DEFAULT_CAPACITY 64u
#define JITTER_DEFAULT_PAYLOAD 320u /* 20 ms of 8 kHz L16; G.711 is 160 */
#define JITTER_DEFAULT_CLOCK_HZ 8000u

/* A packet this far ahead of the playout point (or JITTER_MAX_MISORDER
 * behind it) is not part of the stream: a second packet following it in
 * sequence confirms a restart (new SSRC, sender reboot) and resets the
 * buffer. Same thresholds as RFC 3550 appendix A.1. */
#define JITTER_MAX_DROPOUT 3000u
#define JITTER_MAX_MISORDER 100u
/* Frames without an underrun before the target delay shrinks by one. */
#define JITTER_CALM_FRAMES 500u

/* Any field left 0 takes its default. */
struct jitter_cfg {
	unsigned min_delay_frames; /* >= 1 once defaulted */
	unsigned max_delay_frames; /* >= min_delay_frames */
	unsigned capacity;	   /* frames held at most; > max_delay_frames */
	size_t max_payload_len;	   /* longer packets are refused */
	unsigned clock_hz;	   /* RTP clock rate, for the jitter estimate */
};

/* Returned by jitter_buf_get(). */
enum jitter_result {
	JITTER_FRAME = 1, /* a frame was copied to out */
	JITTER_LOST = 2,  /* this frame never arrived: conceal it */
	JITTER_EMPTY = 3, /* not started, or (re)buffering after an underrun */
};

/* Returned by jitter_buf_put() when the packet was not an error. */
enum jitter_put_result {
	JITTER_STORED = 0,    /* queued for playout */
	JITTER_DUPLICATE = 1, /* already queued: dropped */
	JITTER_LATE = 2,      /* its slot was played or skipped: dropped */
	JITTER_STRAY = 3,     /* far outside the stream: held as a possible
				 restart, used only if the next one follows */
};

struct jitter_stats {
	uint64_t received;  /* packets stored */
	uint64_t lost;	    /* frames that never arrived in time */
	uint64_t late;	    /* packets that arrived after their slot */
	uint64_t duplicate; /* packets already queued */
	uint64_t reordered; /* stored packets that came after a higher one */
	uint64_t overflow;  /* stored frames dropped to bound size or delay */
	uint64_t underruns; /* times the buffer ran dry while playing */
	uint64_t resets;    /* stream restarts */
	uint64_t stray;	    /* far-off packets that did not start a stream */
	unsigned depth;	    /* frames from the next to play to the newest */
	unsigned target_delay; /* frames */
	uint32_t jitter_us;    /* RFC 3550 interarrival jitter estimate */
};

struct jitter_buf;

/* Create a buffer; cfg NULL means all defaults. *jbp is set only on success.
 * Returns 0, -EINVAL (limits above violated) or -ENOMEM. */
int jitter_buf_create(struct jitter_buf **jbp, const struct jitter_cfg *cfg);

/* Free jb. NULL is a no-op. */
void jitter_buf_destroy(struct jitter_buf *jb);

/* Offer one received packet (one frame). payload is copied. arrival_us is
 * any monotonic clock in microseconds (for the jitter estimate only).
 * Returns an enum jitter_put_result (>= 0), -EINVAL (NULL jb, or NULL payload
 * with len > 0) or -EMSGSIZE (len > max_payload_len). */
int jitter_buf_put(struct jitter_buf *jb, uint16_t seq, uint32_t ts,
		   const uint8_t *payload, size_t len, uint64_t arrival_us);

/* Take the next frame; call once per 20 ms. On JITTER_FRAME the payload is in
 * out and its length in *len (untouched otherwise). Returns an enum
 * jitter_result, -EINVAL (NULL argument) or -ENOBUFS (the frame is longer
 * than cap; it stays queued: a cap of max_payload_len always suffices). */
int jitter_buf_get(struct jitter_buf *jb, uint8_t *out, size_t cap,
		   size_t *len);

/* Drop everything and wait for a new stream (e.g. on an SSRC change); the
 * statistics and the learnt target delay are kept. */
void jitter_buf_reset(struct jitter_buf *jb);

/* Copy the counters into *st. */
void jitter_buf_stats(const struct jitter_buf *jb, struct jitter_stats *st);
#endif
