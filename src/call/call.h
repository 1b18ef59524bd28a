/* The media call: one caller's leg on a media adapter (SIP/RTP now,
 * AudioSocket and Media Streams later). It owns the state machine, the
 * outbound prompt queue, the DTMF collector and the call's record, and it
 * implements the channel (channel.h) the flow runtime drives.
 *
 * Thread: a call lives on one loop (the media loop); every function here runs
 * there. Time comes in through call_tick() (every 20 ms, from the adapter's
 * media clock), so the whole object is testable on a virtual clock. */
#ifndef VG_CALL_CALL_H
#define VG_CALL_CALL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "call/channel.h"
#include "call/fsm.h"

struct call;

/* What the call asks of its media adapter (the signalling side). */
struct call_media_ops {
	/* Send the 200 OK (answer). */
	int (*answer)(void *adapter);
	/* End the call: CALL_ACT_SEND_BYE or CALL_ACT_REJECT (with reason). */
	int (*hangup)(void *adapter, enum call_fsm_action act,
		      const char *reason);
	/* Blind transfer; completes with call_transfer_result(). ctx: nctx
	 * key/values to hand to the platform with it (borrowed for the call;
	 * may be NULL with nctx 0). */
	int (*transfer)(void *adapter, const char *target,
			const struct channel_kv *ctx, unsigned nctx);
};

struct call_params {
	const char *platform;	   /* "sip" */
	const char *from;	   /* caller URI or number */
	const char *to;		   /* called number (request-URI user) */
	const char *platform_id;   /* SIP Call-ID, copied */
	uint32_t media_timeout_ms; /* 0 = off */
	uint64_t now_ms;	   /* monotonic ms at creation */
	/* The call id: NULL for a fresh UUID, or a 36-character UUID text the
	 * platform gave (AudioSocket), copied; any other length is ignored. */
	const char *id;
};

/* Observer of the call's life, for the daemon (CDR, metrics). Optional. */
struct call_observer {
	void (*state_changed)(struct call *c, enum call_state old, void *arg);
	void *arg;
};

/* Create a call in CALL_RINGING with a fresh UUID. Returns 0 or -errno. */
int call_create(struct call **cp, const struct call_params *p,
		const struct call_media_ops *ops, void *adapter);
/* Free (after the adapter released it). NULL is a no-op. */
void call_destroy(struct call *c);

void call_set_observer(struct call *c, const struct call_observer *obs);
struct channel *call_channel(struct call *c);
struct call *call_from_channel(struct channel *ch);

/* Drive the state machine with a signalling event. */
void call_signal(struct call *c, enum call_fsm_event ev, uint64_t now_ms);
/* Ask to answer (the adapter answers via ops->answer). */
int call_answer(struct call *c, uint64_t now_ms);

/* Media clock, every 20 ms while the call is answered: delivers deferred
 * channel events, runs timeouts, and fills out[160] with the next outbound
 * frame. Returns true when out holds prompt audio, false for silence (the
 * adapter may then send comfort silence or nothing). */
bool call_tick(struct call *c, uint64_t now_ms, int16_t out[160]);

/* True while the call is active: the adapter then passes decoded frames to
 * call_audio_in() as soon as they arrive (the VAD needs no playout delay).
 * Also between listens: the VAD follows the line, and a continuation watch
 * (channel_listen.continue_ms) hears the caller after a listen ended. */
bool call_wants_audio(const struct call *c);
/* Inbound media: a decoded 20 ms frame (or NULL: the peer is alive, no
 * audio), and DTMF. */
void call_audio_in(struct call *c, const int16_t *pcm, size_t n,
		   uint64_t now_ms);
void call_dtmf_in(struct call *c, char digit, uint64_t now_ms);
/* Next digit queued by channel_send_dtmf() for the adapter to send, or 0. */
char call_dtmf_out_next(struct call *c);
/* The transfer asked of ops->transfer ended: status e.g. 202/200 or error. */
void call_transfer_result(struct call *c, int err, int status);

/* For adapters whose peer buffers our audio (Twilio Media Streams): with
 * on, a prompt whose last frame went out keeps playing (silence, nothing
 * more from call_tick) until call_play_ack(), so PLAY_DONE and the
 * no-input timers start when the caller has heard it. A stop or barge-in
 * still ends it at once (interrupted). Default off. */
void call_set_play_ack(struct call *c, bool on);
/* The prompt playing (also paused, or waiting for its ack): a number
 * unique within the call, never 0; 0 when none plays. */
uint32_t call_play_id(const struct call *c);
/* True while a prompt's audio is all out and waits for call_play_ack(). */
bool call_play_ack_due(const struct call *c);
/* The peer played the prompt's last frame: the play completes. */
void call_play_ack(struct call *c, uint64_t now_ms);

enum call_state call_state(const struct call *c);
const char *call_id(const struct call *c);
const char *call_platform_id(const struct call *c);
const char *call_platform(const struct call *c); /* "sip", "audiosocket" */
const char *call_from(const struct call *c);
const char *call_to(const struct call *c);
const char *call_end_reason(const struct call *c); /* NULL while open */
const char *call_dtmf(const struct call *c);	   /* digits received */
int64_t call_started_wall_ms(const struct call *c);
int64_t call_answered_wall_ms(const struct call *c);
int64_t call_ended_wall_ms(const struct call *c);
/* JSON array texts for the CDR (["greeting","menu",...] and prompt timings). */
const char *call_flow_path_json(const struct call *c);
const char *call_prompts_json(const struct call *c);
/* JSON array of the caller's turns (channel_note_turn), docs/API.md. Like the
 * others, a thread-local buffer valid until the next call on this thread. */
const char *call_turns_json(const struct call *c);
/* Free-form attributes the adapter and daemon keep with the call. */
void call_set_flow_name(struct call *c, const char *name);
/* Media facts the adapter reports for the record. */
void call_set_media_info(struct call *c, const char *codec,
			 const char *remote_addr);
void call_set_rtp_counts(struct call *c, uint64_t tx, uint64_t rx);
const char *call_codec(const struct call *c);	    /* "" before answer */
const char *call_remote_addr(const struct call *c); /* "" if unknown */
uint64_t call_rtp_sent(const struct call *c);
uint64_t call_rtp_received(const struct call *c);
/* One opaque pointer for the daemon (e.g. the flow session); borrowed. */
void call_set_user(struct call *c, void *user);
/* Enable channel_record() for this call: recordings go to
 * <dir>/<call id>.wav through w (borrowed, must outlive the call; see
 * call/record.h). Without it (or w NULL) channel_record() returns
 * -ENOTSUP. */
struct rec_writer;
void call_set_recorder(struct call *c, struct rec_writer *w);
void *call_user(const struct call *c);
const char *call_flow_name(const struct call *c);
#endif
