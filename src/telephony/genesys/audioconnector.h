/* The Genesys Audio Connector bot: a media adapter on the AudioHook
 * server's /genesys/audioconnector path (audiohook.h). Each session
 * becomes one media call (call/call.h, platform "genesys"): the caller
 * (the external channel) decoded into 20 ms frames, `dtmf` messages as
 * DTMF, our prompts sent back as PCMU binary messages paced in real time
 * by one absolute 20 ms media clock, a `barge_in` event when the caller
 * interrupts a prompt (playback stopped, Genesys drops what it holds),
 * and the end as `disconnect` with outputVariables for the Architect flow:
 *   action          "transfer" | "finished"
 *   transferTarget  the flow's target (transfer only), plus its context
 *   intent, confidence   the last classified turn ("" / "0" if none)
 *   endReason       the call's end reason
 *   plus what the daemon adds (the flow's collected slots).
 * The flow: inputVariables "flow", else customConfig "flow", else
 * cfg.default_flow, else the daemon routes by dnis (call_flow_name "").
 * docs/GENESYS.md "Audio Connector".
 *
 * Thread: everything here runs on the media loop that owns the AudioHook
 * server. */
#ifndef VG_TELEPHONY_GENESYS_AUDIOCONNECTOR_H
#define VG_TELEPHONY_GENESYS_AUDIOCONNECTOR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct acbot;
struct audiohook;
struct call;
struct cJSON;

#define ACBOT_PLATFORM "genesys"

struct acbot_cfg {
	uint32_t media_timeout_ms; /* no audio/DTMF this long: hang up; 0 off */
	char default_flow[64];	   /* "" = the daemon's routing */
	unsigned max_calls;	   /* more sessions are refused; 0: 1000 */
};

/* The handlers of the SIP endpoint's shape, plus outputs. */
struct acbot_handlers {
	int (*call_new)(struct call *c, void *arg); /* non-zero ends it */
	void (*call_state)(struct call *c, int old_state, void *arg);
	void (*call_gone)(struct call *c, void *arg);
	/* Add what the daemon knows to the disconnect's outputVariables (an
	 * object of strings; the adapter's keys are already set). May be
	 * NULL. */
	void (*call_outputs)(struct call *c, struct cJSON *vars, void *arg);
};

struct acbot_stats {
	uint64_t sessions, refused, rx_frames, tx_frames, tx_dropped;
	uint64_t barge_ins, dtmf, transfers, disconnects;
};

/* Register on ah's AUDIOHOOK_BOT path (borrowed; must outlive the bot)
 * and start the media clock. *bp is set only on success. Returns 0,
 * -EINVAL, -ENOMEM, -errno of the timer. */
int acbot_create(struct acbot **bp, struct audiohook *ah,
		 const struct acbot_cfg *cfg, const struct acbot_handlers *h,
		 void *arg);
/* Hang up every call (disconnect), unregister, free. Sessions the server
 * still holds are left to it. NULL is a no-op. */
void acbot_destroy(struct acbot *b);
void acbot_hangup_all(struct acbot *b, const char *reason);
unsigned acbot_active_calls(const struct acbot *b);
void acbot_get_stats(const struct acbot *b, struct acbot_stats *st);

/* The flow an open asks for: inputVariables "flow", else customConfig
 * "flow" (strings of 1..63 bytes), else NULL. Borrowed from the open's
 * parameters. Pure. */
struct ahmsg;
const char *acbot_open_flow(const struct ahmsg *open);
/* Turn a call's turns JSON (call_turns_json) into the last classified
 * intent and its confidence; false when no turn has one. Pure. */
bool acbot_last_intent(const char *turns_json, char *intent, size_t cap,
		       double *confidence);
#endif
