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
 *  - At most one play, one collect and one listen are outstanding at a time;
 *    a new one while one runs returns -EBUSY. (They may overlap: type-ahead,
 *    barge-in, hybrid DTMF-or-speech steps.)
 *  - After CHANNEL_EV_HANGUP no further events are raised; outstanding requests
 *    are dropped, not completed.
 *  - Events are delivered through the handler set with channel_set_handler(),
 *    never from inside the method call itself (they are deferred to the loop),
 *    so the caller may free or re-enter safely.
 *  - A listen with stream_audio (CHANNEL_CAP_SPEECH) hands over the caller's
 *    audio while they speak (CHANNEL_EV_SPEECH_AUDIO), in order and without
 *    gaps: the batches of one listen joined are exactly the audio of its
 *    LISTEN_DONE, and all of them come before it.
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
	/* listen() hands over the caller's endpointed speech as audio; the
	 * runtime transcribes it (media adapters). */
	CHANNEL_CAP_SPEECH = 1 << 4,
	/* listen() hands over text: the platform transcribed (TwiML Gather). */
	CHANNEL_CAP_STT = 1 << 5,
	/* play() takes an audio_stream (audio still being synthesized). */
	CHANNEL_CAP_STREAM = 1 << 6,
};

struct audio_stream;

/* One key/value handed to the platform with a transfer (borrowed). */
struct channel_kv {
	const char *key; /* [A-Za-z0-9_-]{1,64} */
	const char *value;
};

#define CHANNEL_TRANSFER_CTX_MAX 32

/* Call recording (both directions mixed). Paused spans hold silence of the
 * same length and none of the call's audio. */
enum channel_record_op {
	CHANNEL_REC_START,
	CHANNEL_REC_PAUSE,
	CHANNEL_REC_RESUME,
	CHANNEL_REC_STOP,
};

/* One prompt. With CHANNEL_CAP_AUDIO, clip or stream must be set (text is
 * kept for the record); otherwise text (or file) is played by the platform.
 * A stream is audio still being synthesized: playback starts with its first
 * published frame and waits (silence) when it runs ahead of the writer. */
struct channel_prompt {
	const char *name;	 /* prompt id in the flow, for the CDR */
	const char *text;	 /* TTS text (borrowed for the call) */
	const char *voice;	 /* NULL: default */
	struct audio_clip *clip; /* borrowed; the channel takes its own ref */
	struct audio_stream *stream; /* used when clip is NULL; same rule */
	bool dtmf_barge_in;	     /* a key press stops playback */
	bool speech_barge_in;  /* caller speech (during a listen) stops it */
	uint64_t requested_us; /* clock_mono_us() when the flow asked for it
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

/* Listen for one spoken turn (CHANNEL_CAP_SPEECH or CHANNEL_CAP_STT). May run
 * together with a play (barge-in) and a collect (DTMF or speech, whichever
 * comes first). 0 fields take the defaults. */
struct channel_listen {
	unsigned no_input_ms;	      /* no speech this long after the prompt
					 ended: LISTEN_NO_INPUT (0: none) */
	unsigned trailing_silence_ms; /* end of speech (default 300) */
	unsigned max_speech_ms;	      /* cut (default 15000, max 30000) */
	unsigned min_speech_ms;	      /* shorter is a click (default 120) */
	bool dtmf_ends;		      /* a key ends it with LISTEN_DTMF */
	const char *hints;	      /* for platform recognizers; borrowed */
	/* CHANNEL_CAP_SPEECH: raise CHANNEL_EV_SPEECH_PAUSE once a pause
	 * within speech reaches this much silence, so the runtime can start
	 * decoding before the end is confirmed (0: never; ignored when not
	 * below trailing_silence_ms). */
	unsigned early_ms;
	/* CHANNEL_CAP_SPEECH: raise CHANNEL_EV_SPEECH_AUDIO with the
	 * utterance's audio as it arrives (streaming recognition): the
	 * pre-roll and first speech at speech start, then a batch each
	 * CHANNEL_AUDIO_BATCH_MS, and the rest just before a LISTEN_DONE
	 * that carries audio. Ignored by channels that cannot (their
	 * LISTEN_DONE still carries the whole utterance). */
	bool stream_audio;
	/* CHANNEL_CAP_SPEECH: continuation watch. After this listen ends
	 * with LISTEN_SPEECH, keep watching the caller for continue_ms: when
	 * their speech starts again within it (the onset, confirmed as speech
	 * like a SPEECH_START), raise CHANNEL_EV_SPEECH_RESUMED once, so the
	 * runtime can take the two parts as one turn (a pause longer than the
	 * trailing silence cut the utterance). The watch runs whatever the
	 * runtime does meanwhile (a reply plays, another listen starts); it
	 * ends at continue_ms, at the next listen with resume, at hangup, or
	 * when another listen ends with speech (that utterance is the last
	 * one then). The onset must come less than continue_ms after the
	 * end; it is confirmed min_speech_ms later. 0: no watch (at most
	 * 10000, else -EINVAL). Ignored by channels that cannot. */
	unsigned continue_ms;
	/* Continue the utterance of the last listen: valid from its
	 * CHANNEL_EV_SPEECH_RESUMED until a listen with resume takes it, a
	 * listen without resume ends with LISTEN_SPEECH or LISTEN_MAX_SPEECH
	 * (its utterance is the last one then), or hangup; a listen without
	 * resume that ends otherwise (stopped, no input, DTMF) leaves it.
	 * Between the SPEECH_RESUMED and this listen the channel goes on
	 * endpointing the caller; this listen starts in speech (no
	 * SPEECH_START, no no-input) and its LISTEN_DONE carries the whole
	 * utterance: the last listen's audio, the gap and the new speech,
	 * joined (if it already ended meanwhile, LISTEN_DONE follows at once,
	 * and no new watch starts). With stream_audio its SPEECH_AUDIO
	 * batches start again at offset 0 with that joined audio so far.
	 * max_speech_ms counts from the first part's start. Returns -ENOENT
	 * when there is nothing to continue (no watch fired, or it was
	 * dropped). The other fields apply as to any listen. */
	bool resume;
};

/* Audio a CHANNEL_EV_SPEECH_AUDIO carries at least (but the first and the
 * last of a listen): batched, not one event per 20 ms frame. */
#define CHANNEL_AUDIO_BATCH_MS 100u

enum channel_listen_end {
	LISTEN_SPEECH,	   /* speech, then trailing silence */
	LISTEN_MAX_SPEECH, /* speech cut at max_speech_ms */
	LISTEN_NO_INPUT,   /* no speech within no_input_ms */
	LISTEN_DTMF,	   /* a key was pressed (dtmf_ends) */
	LISTEN_STOPPED,	   /* channel_stop() */
};

enum channel_event_type {
	CHANNEL_EV_PLAY_DONE,
	CHANNEL_EV_COLLECT_DONE,
	CHANNEL_EV_TRANSFER_DONE,
	CHANNEL_EV_DTMF,	 /* every key, as it arrives (informational) */
	CHANNEL_EV_HANGUP,	 /* the call is over; last event */
	CHANNEL_EV_SPEECH_START, /* caller speech confirmed during a listen */
	CHANNEL_EV_LISTEN_DONE,
	/* The caller paused early_ms within speech (channel_listen): the
	 * audio so far, for an early decode. Informational; a listen may
	 * raise several (one per pause) before its LISTEN_DONE. */
	CHANNEL_EV_SPEECH_PAUSE,
	/* The caller's audio since the previous one, during a listen with
	 * stream_audio (see the rules at the top). Informational. */
	CHANNEL_EV_SPEECH_AUDIO,
	/* The caller spoke again within continue_ms of a LISTEN_DONE with
	 * LISTEN_SPEECH (channel_listen.continue_ms); a listen with resume
	 * continues that utterance. Informational. */
	CHANNEL_EV_SPEECH_RESUMED,
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
		struct {
			bool barged; /* it interrupted a prompt */
		} speech;
		struct {
			enum channel_listen_end end;
			/* CHANNEL_CAP_SPEECH: the utterance (pre-roll, speech,
			 * trailing silence), 8 kHz; borrowed for the handler's
			 * call (audio_clip_ref it to keep it). */
			struct audio_clip *audio;
			/* CHANNEL_CAP_STT: the platform's transcript and
			 * confidence (borrowed), else NULL. */
			const char *text;
			float confidence;
			uint32_t speech_ms;	/* speech length */
			uint64_t speech_end_us; /* clock_mono_us() when the
						   end was detected */
			bool barged;		/* it interrupted a prompt */
			/* The seq of the SPEECH_PAUSE after which no speech
			 * came: that pause's audio holds all of this
			 * utterance's speech (only trailing silence
			 * follows), so its decode answers the turn. 0:
			 * none. */
			unsigned pause_seq;
		} listen;
		struct {
			/* Pre-roll, speech and the silence so far, 8 kHz;
			 * borrowed for the handler's call (audio_clip_ref it
			 * to keep it). */
			struct audio_clip *audio;
			unsigned seq;	    /* 1, 2, ... within the call */
			uint32_t speech_ms; /* speech up to the pause */
		} pause;
		struct {
			/* From the end of the last utterance (its
			 * LISTEN_DONE) to the onset of the new speech. */
			uint32_t gap_ms;
		} resumed;
		struct {
			/* The new samples, 8 kHz; borrowed for the
			 * handler's call (audio_clip_ref it to keep it). */
			struct audio_clip *audio;
			/* Samples of the utterance handed over before
			 * these (0: the first batch, from the pre-roll). */
			size_t offset;
		} audio;
	};
};

/* One caller turn as the runtime saw it, for the call's record and the turn
 * latency metrics (channel_note_turn). Strings are borrowed for the call;
 * times are clock_mono_us() (0 = did not happen). The channel completes the
 * record with when the reply's audio was handed over (tts_ready) and when its
 * first frame went out (first_rtp). */
struct channel_turn {
	const char *node;
	const char *input;	/* "speech" or "dtmf" */
	const char *end;	/* "speech", "max_speech", "no_input", "dtmf" */
	const char *transcript; /* NULL: none */
	const char *stt_engine;
	float stt_confidence;
	const char *intent; /* NULL: no NLU ran */
	float intent_confidence;
	const char *match; /* "high", "low", "none" */
	const char *next;  /* node chosen, NULL: retry or none */
	bool barge_in;
	uint32_t speech_ms;
	uint64_t speech_end_us; /* end of speech detected */
	uint64_t stt_final_us;	/* final transcript back */
	bool stt_early;		/* the transcript came from the decode
				   started in the caller's last pause */
	bool stt_streamed;	/* it came from a streaming recognition
				   fed while the caller spoke */
	bool continues;		/* the caller resumed within the watch
				   (CHANNEL_EV_SPEECH_RESUMED): this turn's
				   utterance joins the previous turn's, which
				   it supersedes */
	uint64_t nlu_done_us;	/* intent known */
	uint64_t response_us;	/* next step chosen */
};

typedef void(channel_event_fn)(struct channel *ch,
			       const struct channel_event *ev, void *arg);

struct channel_ops {
	const char *kind; /* "sip", "audiosocket", "fastagi", ... */
	unsigned caps;
	int (*play)(struct channel *ch, const struct channel_prompt *p);
	int (*collect)(struct channel *ch, const struct channel_collect *c);
	/* Start listening (CHANNEL_CAP_SPEECH/STT); completes with
	 * CHANNEL_EV_LISTEN_DONE, preceded by CHANNEL_EV_SPEECH_START when
	 * speech begins. Optional (NULL: -ENOTSUP). */
	int (*listen)(struct channel *ch, const struct channel_listen *l);
	/* Stop play, collect and listen (each completes with
	 * interrupted/STOPPED). */
	int (*stop)(struct channel *ch);
	/* target: "sip:agent@host", "tel:+1555...", "queue:name". */
	int (*transfer)(struct channel *ch, const char *target);
	/* Hang up with an end reason (static string); raises CHANNEL_EV_HANGUP.
	 */
	int (*hangup)(struct channel *ch, const char *reason);
	/* Record a visited flow node (CDR flow path). */
	void (*note_node)(struct channel *ch, const char *node);
	/* Record a caller turn (optional, NULL: not recorded). */
	void (*note_turn)(struct channel *ch, const struct channel_turn *t);
	/* Send DTMF to the far end (e.g. to drive a downstream IVR), queued
	 * behind any digits not yet sent: RFC 4733 events on SIP. No
	 * completion event. Optional (NULL: -ENOTSUP). */
	int (*send_dtmf)(struct channel *ch, const char *digits);
	/* As transfer, with key/values for the platform (SIP: X-Voxgate-<Key>
	 * headers embedded in the REFER's Refer-To URI). ctx borrowed for the
	 * call. Optional (NULL: channel_transfer_ctx() uses transfer and the
	 * context is not passed on). */
	int (*transfer_ctx)(struct channel *ch, const char *target,
			    const struct channel_kv *ctx, unsigned nctx);
	/* Start, pause, resume or stop recording the call. Synchronous: no
	 * completion event. Returns 0, -ENOTSUP (cannot record, or recording
	 * is off), -EALREADY (start after stop), -EINVAL, -ENOTCONN.
	 * Optional (NULL: -ENOTSUP). */
	int (*record)(struct channel *ch, enum channel_record_op op);
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
static inline int channel_listen(struct channel *ch,
				 const struct channel_listen *l)
{
	return ch->ops->listen ? ch->ops->listen(ch, l) : -ENOTSUP;
}
static inline int channel_stop(struct channel *ch)
{
	return ch->ops->stop(ch);
}
static inline int channel_transfer(struct channel *ch, const char *target)
{
	return ch->ops->transfer(ch, target);
}
static inline int channel_transfer_ctx(struct channel *ch, const char *target,
				       const struct channel_kv *ctx,
				       unsigned nctx)
{
	if (ch->ops->transfer_ctx)
		return ch->ops->transfer_ctx(ch, target, ctx, nctx);
	return ch->ops->transfer(ch, target);
}
static inline int channel_record(struct channel *ch, enum channel_record_op op)
{
	return ch->ops->record ? ch->ops->record(ch, op) : -ENOTSUP;
}
static inline int channel_hangup(struct channel *ch, const char *reason)
{
	return ch->ops->hangup(ch, reason);
}
static inline int channel_send_dtmf(struct channel *ch, const char *digits)
{
	return ch->ops->send_dtmf ? ch->ops->send_dtmf(ch, digits) : -ENOTSUP;
}
static inline void channel_note_turn(struct channel *ch,
				     const struct channel_turn *t)
{
	if (ch->ops->note_turn)
		ch->ops->note_turn(ch, t);
}
static inline void channel_note_node(struct channel *ch, const char *node)
{
	if (ch->ops->note_node)
		ch->ops->note_node(ch, node);
}
#endif
