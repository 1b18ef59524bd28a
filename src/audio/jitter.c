/* Receive jitter buffer (see jitter.h for the playout policy). Frames live in
 * a ring indexed by extended sequence number modulo the capacity; the ring
 * only ever holds [play, play + capacity), so a slot's owner is unambiguous
 * and every operation is O(1) except bounded skips. */
#include "audio/jitter.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* get() calls per shrink decision: one second of 20 ms frames. */
#define SHRINK_WINDOW 50u
/* Extended sequence numbers start here so that stepping back from the first
 * packet (reordering at the start) never goes below zero. */
#define EXT_BASE ((uint64_t)1 << 40)
/* Largest |D| fed into the jitter estimate (10 s at 8 kHz): a sender pause
 * or clock jump must not blow up the average. */
#define MAX_TRANSIT_DELTA 80000

struct slot {
	bool used;
	uint64_t ext; /* extended sequence number of the frame held */
	size_t len;
};

struct jitter_buf {
	struct jitter_cfg cfg;
	struct slot *slots;
	uint8_t *data; /* capacity * max_payload_len */

	bool started;	   /* a packet arrived since create/reset */
	bool playing;	   /* false: buffering up to the target */
	bool output_begun; /* a frame or gap went out since the start */
	uint64_t play;	   /* next frame to hand out */
	uint64_t newest;   /* highest frame received */

	unsigned target;   /* playout delay in frames */
	unsigned calm;	   /* frames since the last underrun */
	unsigned win_gets; /* frames in the current shrink window */
	unsigned win_min;  /* smallest depth seen in that window */

	/* a packet far outside the stream, held in case it starts a new one */
	bool have_stray;
	uint16_t stray_seq;
	uint32_t stray_ts;
	size_t stray_len;
	uint8_t *stray_data;

	/* RFC 3550 6.4.1 interarrival jitter, in clock units, times 16 */
	bool have_transit;
	uint64_t last_arrival; /* clock units */
	uint32_t last_ts;
	uint64_t jitter16;

	struct jitter_stats st;
};

static int apply_defaults(struct jitter_cfg *c)
{
	if (!c->min_delay_frames)
		c->min_delay_frames = JITTER_DEFAULT_MIN_DELAY;
	if (!c->max_delay_frames)
		c->max_delay_frames =
			c->min_delay_frames > JITTER_DEFAULT_MAX_DELAY
				? c->min_delay_frames
				: JITTER_DEFAULT_MAX_DELAY;
	if (!c->capacity)
		c->capacity = c->max_delay_frames >= JITTER_DEFAULT_CAPACITY
				      ? c->max_delay_frames + 1
				      : JITTER_DEFAULT_CAPACITY;
	if (!c->max_payload_len)
		c->max_payload_len = JITTER_DEFAULT_PAYLOAD;
	if (!c->clock_hz)
		c->clock_hz = JITTER_DEFAULT_CLOCK_HZ;

	if (c->max_delay_frames < c->min_delay_frames ||
	    c->capacity <= c->max_delay_frames ||
	    c->capacity > JITTER_MAX_CAPACITY ||
	    c->max_payload_len > JITTER_MAX_PAYLOAD || c->clock_hz > 192000)
		return -EINVAL;
	return 0;
}

int jitter_buf_create(struct jitter_buf **jbp, const struct jitter_cfg *cfg)
{
	if (!jbp)
		return -EINVAL;
	struct jitter_cfg c = { 0 };
	if (cfg)
		c = *cfg;
	int err = apply_defaults(&c);
	if (err)
		return err;

	struct jitter_buf *jb = calloc(1, sizeof(*jb));
	if (!jb)
		return -ENOMEM;
	jb->cfg = c;
	jb->slots = calloc(c.capacity, sizeof(*jb->slots));
	jb->data = malloc((size_t)c.capacity * c.max_payload_len);
	jb->stray_data = malloc(c.max_payload_len);
	if (!jb->slots || !jb->data || !jb->stray_data) {
		jitter_buf_destroy(jb);
		return -ENOMEM;
	}
	jb->target = c.min_delay_frames;
	jb->st.target_delay = jb->target;
	*jbp = jb;
	return 0;
}

void jitter_buf_destroy(struct jitter_buf *jb)
{
	if (!jb)
		return;
	free(jb->stray_data);
	free(jb->data);
	free(jb->slots);
	free(jb);
}

static struct slot *slot_of(struct jitter_buf *jb, uint64_t ext)
{
	return &jb->slots[ext % jb->cfg.capacity];
}

static bool holds(struct jitter_buf *jb, uint64_t ext)
{
	struct slot *s = slot_of(jb, ext);
	return s->used && s->ext == ext;
}

static unsigned depth(const struct jitter_buf *jb)
{
	if (!jb->started || jb->newest < jb->play)
		return 0;
	return (unsigned)(jb->newest - jb->play + 1);
}

/* The extended sequence number nearest to the playout point. */
static uint64_t extend(const struct jitter_buf *jb, uint16_t seq)
{
	int16_t d = (int16_t)(uint16_t)(seq - (uint16_t)jb->play);
	return jb->play + (uint64_t)(int64_t)d;
}

static void clear_slots(struct jitter_buf *jb)
{
	memset(jb->slots, 0, jb->cfg.capacity * sizeof(*jb->slots));
}

/* Move the playout point to ext, discarding what it passes: frames held
 * count as overflow, frames never received as lost. */
static void skip_to(struct jitter_buf *jb, uint64_t ext)
{
	if (ext <= jb->play)
		return;
	uint64_t n = ext - jb->play;
	uint64_t scan = n < jb->cfg.capacity ? n : jb->cfg.capacity;
	uint64_t held = 0;
	for (uint64_t i = 0; i < scan; i++) {
		struct slot *s = slot_of(jb, jb->play + i);
		if (s->used && s->ext == jb->play + i) {
			s->used = false;
			held++;
		}
	}
	jb->st.overflow += held;
	jb->st.lost += n - held;
	jb->play = ext;
}

static void store(struct jitter_buf *jb, uint64_t ext, const uint8_t *payload,
		  size_t len)
{
	struct slot *s = slot_of(jb, ext);
	s->used = true;
	s->ext = ext;
	s->len = len;
	if (len)
		memcpy(jb->data + (ext % jb->cfg.capacity) *
					  jb->cfg.max_payload_len,
		       payload, len);
	jb->st.received++;
	if (ext < jb->newest)
		jb->st.reordered++;
	else
		jb->newest = ext;
}

/* Begin a stream at seq: the buffer is empty and buffers up to the target. */
static void begin(struct jitter_buf *jb, uint16_t seq)
{
	clear_slots(jb);
	jb->started = true;
	jb->playing = false;
	jb->output_begun = false;
	jb->play = EXT_BASE + seq;
	jb->newest = jb->play;
	jb->have_transit = false;
	jb->win_gets = 0;
	jb->win_min = UINT_MAX;
}

static void update_jitter(struct jitter_buf *jb, uint32_t ts,
			  uint64_t arrival_us)
{
	/* arrival in RTP clock units, split so the product cannot overflow */
	uint64_t arrival = arrival_us / 1000000u * jb->cfg.clock_hz +
			   arrival_us % 1000000u * jb->cfg.clock_hz / 1000000u;
	if (jb->have_transit) {
		int64_t d = (int64_t)(arrival - jb->last_arrival) -
			    (int64_t)(int32_t)(ts - jb->last_ts);
		if (d < 0)
			d = -d;
		if (d > MAX_TRANSIT_DELTA)
			d = MAX_TRANSIT_DELTA;
		/* J += (|D| - J) / 16, kept scaled by 16 */
		jb->jitter16 += (uint64_t)d;
		jb->jitter16 -= (jb->jitter16 + 8) >> 4;
	}
	jb->have_transit = true;
	jb->last_arrival = arrival;
	jb->last_ts = ts;
}

/* A packet far outside the stream. If it follows the previous such packet
 * in sequence the stream has restarted: begin anew with both. */
static int put_stray(struct jitter_buf *jb, uint16_t seq, uint32_t ts,
		     const uint8_t *payload, size_t len, uint64_t arrival_us)
{
	if (jb->have_stray && seq == (uint16_t)(jb->stray_seq + 1u)) {
		jb->have_stray = false;
		jb->st.resets++;
		begin(jb, jb->stray_seq);
		store(jb, jb->play, jb->stray_data, jb->stray_len);
		store(jb, jb->play + 1, payload, len);
		update_jitter(jb, jb->stray_ts, arrival_us);
		update_jitter(jb, ts, arrival_us);
		return JITTER_STORED;
	}
	if (jb->have_stray)
		jb->st.stray++;
	jb->have_stray = true;
	jb->stray_seq = seq;
	jb->stray_ts = ts;
	jb->stray_len = len;
	if (len)
		memcpy(jb->stray_data, payload, len);
	return JITTER_STRAY;
}

int jitter_buf_put(struct jitter_buf *jb, uint16_t seq, uint32_t ts,
		   const uint8_t *payload, size_t len, uint64_t arrival_us)
{
	if (!jb || (len && !payload))
		return -EINVAL;
	if (len > jb->cfg.max_payload_len)
		return -EMSGSIZE;

	if (!jb->started) {
		begin(jb, seq);
		store(jb, jb->play, payload, len);
		update_jitter(jb, ts, arrival_us);
		return JITTER_STORED;
	}

	uint64_t ext = extend(jb, seq);
	int64_t d = (int64_t)(ext - jb->play);
	if (d >= (int64_t)JITTER_MAX_DROPOUT ||
	    d < -(int64_t)JITTER_MAX_MISORDER)
		return put_stray(jb, seq, ts, payload, len, arrival_us);

	if (d < 0) {
		/* Nothing has gone out yet, so the playout point can still
		 * move back to a first packet that was overtaken. */
		if (!jb->output_begun && jb->newest - ext < jb->cfg.capacity) {
			jb->play = ext;
			store(jb, ext, payload, len);
			return JITTER_STORED;
		}
		jb->st.late++;
		return JITTER_LATE;
	}

	if (ext - jb->play >= jb->cfg.capacity)
		skip_to(jb, ext - jb->cfg.capacity + 1);
	if (holds(jb, ext)) {
		jb->st.duplicate++;
		return JITTER_DUPLICATE;
	}
	bool in_order = ext > jb->newest;
	store(jb, ext, payload, len);
	if (in_order)
		update_jitter(jb, ts, arrival_us);
	return JITTER_STORED;
}

static void underrun(struct jitter_buf *jb)
{
	jb->playing = false;
	jb->st.underruns++;
	jb->calm = 0;
	if (jb->target < jb->cfg.max_delay_frames)
		jb->target++;
}

/* Latency control, before each frame goes out. */
static void trim(struct jitter_buf *jb)
{
	unsigned dep = depth(jb);

	/* far above the maximum (a burst after a stall): cut to the target */
	if (dep > jb->cfg.max_delay_frames) {
		skip_to(jb, jb->play + (dep - jb->target));
		dep = jb->target;
	}
	/* Held more than the target for a whole window: the delay is larger
	 * than the network needs, so drop one frame (20 ms) per window. */
	if (dep < jb->win_min)
		jb->win_min = dep;
	if (++jb->win_gets >= SHRINK_WINDOW) {
		if (jb->win_min > jb->target && dep > jb->target)
			skip_to(jb, jb->play + 1);
		jb->win_gets = 0;
		jb->win_min = UINT_MAX;
	}
}

int jitter_buf_get(struct jitter_buf *jb, uint8_t *out, size_t cap, size_t *len)
{
	if (!jb || !out || !len)
		return -EINVAL;
	if (!jb->started)
		return JITTER_EMPTY;

	if (!jb->playing) {
		if (depth(jb) < jb->target)
			return JITTER_EMPTY;
		jb->playing = true;
		jb->win_gets = 0;
		jb->win_min = UINT_MAX;
	}
	trim(jb);
	if (depth(jb) == 0) {
		underrun(jb);
		return JITTER_EMPTY;
	}

	struct slot *s = slot_of(jb, jb->play);
	bool have = s->used && s->ext == jb->play;
	if (have && s->len > cap)
		return -ENOBUFS;

	if (++jb->calm >= JITTER_CALM_FRAMES) {
		jb->calm = 0;
		if (jb->target > jb->cfg.min_delay_frames)
			jb->target--;
	}
	jb->output_begun = true;
	jb->play++;
	if (!have) {
		jb->st.lost++;
		return JITTER_LOST;
	}
	if (s->len)
		memcpy(out,
		       jb->data + ((jb->play - 1) % jb->cfg.capacity) *
					  jb->cfg.max_payload_len,
		       s->len);
	*len = s->len;
	s->used = false;
	return JITTER_FRAME;
}

void jitter_buf_reset(struct jitter_buf *jb)
{
	if (!jb)
		return;
	clear_slots(jb);
	jb->started = false;
	jb->playing = false;
	jb->output_begun = false;
	jb->have_stray = false;
	jb->have_transit = false;
}

void jitter_buf_stats(const struct jitter_buf *jb, struct jitter_stats *st)
{
	if (!jb || !st)
		return;
	*st = jb->st;
	st->depth = depth(jb);
	st->target_delay = jb->target;
	uint64_t j = jb->jitter16 >> 4;
	st->jitter_us = (uint32_t)(j * 1000000u / jb->cfg.clock_hz);
}
