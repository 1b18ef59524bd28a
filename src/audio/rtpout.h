/* The sending side of one RTP stream: sequence number, timestamp and marker
 * for each packet; a pacer that keeps an absolute 20 ms schedule; and a
 * tracker of how regular the sending actually was. Caller storage, pure
 * arithmetic, no clocks of its own: the caller passes "now". */
#ifndef VG_AUDIO_RTPOUT_H
#define VG_AUDIO_RTPOUT_H
#include <stdbool.h>
#include <stdint.h>

struct rtpout {
	uint32_t ssrc;
	uint16_t seq;	  /* for the next packet */
	uint32_t ts;	  /* for the next packet: the media clock now */
	uint64_t packets; /* packets numbered so far */
};

/* Header fields for one packet. */
struct rtpout_hdr {
	uint32_t ssrc;
	uint16_t seq;
	uint32_t ts;
	bool marker;
};

/* Start a stream: the first packet gets seq0 and ts0 (pick both at random,
 * RFC 3550 5.1). */
void rtpout_init(struct rtpout *o, uint32_t ssrc, uint16_t seq0, uint32_t ts0);

/* Number the next packet, which carries nsamples of media (ts then moves on
 * by that much; both fields wrap). The marker is set when talkspurt_start
 * (first packet after silence that was not sent). Returns 0 or -EINVAL (NULL
 * argument); *out is set only on success. */
int rtpout_next(struct rtpout *o, uint32_t nsamples, bool talkspurt_start,
		struct rtpout_hdr *out);

/* Let nsamples of media time pass without sending (silence suppression, a
 * stall), so the timestamp keeps following the clock. */
void rtpout_skip(struct rtpout *o, uint32_t nsamples);

/* Pacer for an absolute periodic schedule: tick k is due at start + k *
 * period, however late the previous callback ran, so the long-run rate never
 * drifts. After a stall it catches up with at most max_burst ticks in one go
 * and skips the rest (counted), rather than bursting seconds of audio. */
#define PACER_MAX_BURST 3u

struct pacer {
	uint64_t next_us; /* deadline of the next tick */
	uint32_t period_us;
	uint32_t max_burst; /* PACER_MAX_BURST after init; may be changed */
	uint64_t ticks;	    /* ticks returned so far */
	uint64_t skipped;   /* ticks dropped by bounded catch-up */
};

/* The first tick is due at start_us. period_us 0 is taken as 20000. */
void pacer_init(struct pacer *p, uint64_t start_us, uint32_t period_us);

/* Number of ticks to run now (0 if the next deadline is in the future), at
 * most max_burst; the deadline moves past now on the fixed grid. */
unsigned pacer_due(struct pacer *p, uint64_t now_us);

/* When the next tick is due: arm the timer for this. */
uint64_t pacer_next_deadline_us(const struct pacer *p);

/* Send-interval jitter: |interval - period| between successive sends, in a
 * fixed histogram (100 us buckets up to 5 ms, 1 ms buckets up to 50 ms, then
 * one overflow bucket), so a percentile is cheap and memory fixed. */
#define PACER_JITTER_FINE 50   /* 100 us buckets: 0 .. 5 ms */
#define PACER_JITTER_COARSE 45 /* 1 ms buckets: 5 .. 50 ms */
#define PACER_JITTER_BUCKETS (PACER_JITTER_FINE + PACER_JITTER_COARSE + 1)

struct pacer_jitter {
	uint32_t period_us;
	bool have_last;
	uint64_t last_us;
	uint64_t count;
	uint32_t max_us;
	uint64_t hist[PACER_JITTER_BUCKETS];
};

void pacer_jitter_init(struct pacer_jitter *j, uint32_t period_us);

/* Record a send at send_us (monotonic); the first call only sets the base. */
void pacer_jitter_record(struct pacer_jitter *j, uint64_t send_us);

/* Upper bound (us) of the deviation below which pct percent (0 < pct <= 100)
 * of the intervals fall, at bucket resolution; the overflow bucket reports
 * the largest deviation seen. 0 when nothing was recorded. */
uint32_t pacer_jitter_percentile_us(const struct pacer_jitter *j, double pct);
#endif
