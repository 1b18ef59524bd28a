/* The channel: one caller's leg as the flow runtime sees it. Every telephony
 * adapter provides one: media adapters (SIP/RTP, AudioSocket, Media Streams)
 * through the generic media call (call/call.h), control adapters (FastAGI,
 * TwiML) with their own ops that translate requests into platform commands.
 *
 * Rules (UniMRCP-style contract):
 *  - Methods never block and run on the channel's loop thread.
 *  - A method that returns 0 for a request (play, collect, transfer) later
 *    raises exactly one matching completion event; one that returns an error
 *    raises none.
 *  - At most one play and one collect are outstanding at a time; a new one
 *    while one runs returns -EBUSY. (play and collect may overlap: type-ahead.)
 *  - After CHANNEL_EV_HANGUP no further events are raised; outstanding requests
 *    are dropped, not completed.
 *  - Events are delivered through the handler set with channel_set_handler(),
 *    never from inside the method call itself (they are deferred to the loop),
 *    so the caller may free or re-enter safely.
 */
#ifndef VG_CALL_CHANNEL_H
#define VG_CALL_CHANNEL_H
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

struct audio_clip;
struct channel;

/* Capabilities: what a channel can take. */
enum {
	CHANNEL_CAP_AUDIO = 1
			    << 0, /* plays PCM clips: the runtime synthesizes */
	CHANNEL_CAP_TEXT = 1 << 1, /* plays text itself (e.g. TwiML <Say>) */
	CHANNEL_CAP_DTMF = 1 << 2,
	CHANNEL_CAP_TRANSFER = 1 << 3,
};

/* One prompt. With CHANNEL_CAP_AUDIO, clip must be set (text is kept for the
 * record); otherwise text (or file) is played by the platform. */
struct channel_prompt {
	const char *name;	 /* prompt id in the flow, for the CDR */
	const char *text;	 /* TTS text (borrowed for the call) */
	const char *voice;	 /* NULL: default */
	struct audio_clip *clip; /* borrowed; the channel takes its own ref */
	bool dtmf_barge_in;	 /* a key press stops playback */
	uint64_t requested_us;	 /* clock_mono_us() when the flow asked for it
				    (before synthesis): per-prompt timing */
};

struct channel_collect {
	unsigned max_digits;	   /* 1..32 */
	const char *terminators;   /* e.g. "#"; NULL/"" = none */
	unsigned first_timeout_ms; /* no first digit within this: no_input */
	unsigned interdigit_timeout_ms;
	unsigned overall_timeout_ms; /* 0 = none */
	bool flush;		     /* discard digits typed ahead */
};

enum channel_collect_end {
	COLLECT_MAX_DIGITS, /* got max_digits */
	COLLECT_TERMINATOR, /* terminator pressed (not included in digits) */
	COLLECT_INTERDIGIT, /* some digits, then inter-digit timeout */
	COLLECT_NO_INPUT,   /* no digit before first_timeout_ms */
	COLLECT_OVERALL,    /* overall timeout */
	COLLECT_STOPPED,    /* channel_stop() */
};

enum channel_event_type {
	CHANNEL_EV_PLAY_DONE,
	CHANNEL_EV_COLLECT_DONE,
	CHANNEL_EV_TRANSFER_DONE,
	CHANNEL_EV_DTMF,   /* every key, as it arrives (informational) */
	CHANNEL_EV_HANGUP, /* the call is over; last event */
};

struct channel_event {
	enum channel_event_type type;
	int err; /* 0 or negative errno (e.g. -ECANCELED when stopped) */
	union {
		struct {
			bool interrupted;   /* stopped by barge-in or stop */
			uint32_t played_ms; /* how far it got */
		} play;
		struct {
			enum channel_collect_end end;
			char digits[33];
		} collect;
		struct {
			int status; /* e.g. SIP final status of the REFER */
		} transfer;
		struct {
			char digit;
		} dtmf;
		struct {
			const char *reason; /* static string */
		} hangup;
	};
};

typedef void(channel_event_fn)(struct channel *ch,
			       const struct channel_event *ev, void *arg);

struct channel_ops {
	const char *kind; /* "sip", "audiosocket", "fastagi", ... */
	unsigned caps;
	int (*play)(struct channel *ch, const struct channel_prompt *p);
	int (*collect)(struct channel *ch, const struct channel_collect *c);
	/* Stop play and collect (each completes with interrupted/STOPPED). */
	int (*stop)(struct channel *ch);
	/* target: "sip:agent@host", "tel:+1555...", "queue:name". */
	int (*transfer)(struct channel *ch, const char *target);
	/* Hang up with an end reason (static string); raises CHANNEL_EV_HANGUP.
	 */
	int (*hangup)(struct channel *ch, const char *reason);
	/* Record a visited flow node (CDR flow path). */
	void (*note_node)(struct channel *ch, const char *node);
	/* Send DTMF to the far end (e.g. to drive a downstream IVR), queued
	 * behind any digits not yet sent: RFC 4733 events on SIP. No
	 * completion event. Optional (NULL: -ENOTSUP). */
	int (*send_dtmf)(struct channel *ch, const char *digits);
};

/* Embedded in the adapter's own object. */
struct channel {
	const struct channel_ops *ops;
	channel_event_fn *evh;
	void *evarg;
	const char *id;	  /* voxgate call id (for logs) */
	const char *from; /* caller */
	const char *to;	  /* called number (request-URI user) */
};

static inline void channel_set_handler(struct channel *ch, channel_event_fn *h,
				       void *arg)
{
	ch->evh = h;
	ch->evarg = arg;
}
static inline int channel_play(struct channel *ch,
			       const struct channel_prompt *p)
{
	return ch->ops->play(ch, p);
}
static inline int channel_collect(struct channel *ch,
				  const struct channel_collect *c)
{
	return ch->ops->collect(ch, c);
}
static inline int channel_stop(struct channel *ch)
{
	return ch->ops->stop(ch);
}
static inline int channel_transfer(struct channel *ch, const char *target)
{
	return ch->ops->transfer(ch, target);
}
static inline int channel_hangup(struct channel *ch, const char *reason)
{
	return ch->ops->hangup(ch, reason);
}
static inline int channel_send_dtmf(struct channel *ch, const char *digits)
{
	return ch->ops->send_dtmf ? ch->ops->send_dtmf(ch, digits) : -ENOTSUP;
}
static inline void channel_note_node(struct channel *ch, const char *node)
{
	if (ch->ops->note_node)
		ch->ops->note_node(ch, node);
}
#endif
