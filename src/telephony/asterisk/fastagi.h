/* The Asterisk FastAGI server: a control adapter. Asterisk connects over TCP
 * (dialplan AGI(agi://host:4573/<flow>)); each connection becomes one
 * struct channel whose requests turn into AGI commands (STREAM FILE, WAIT
 * FOR DIGIT, RECORD FILE, EXEC Dial/Queue, SET VARIABLE, HANGUP), sent one
 * at a time. Prompts arrive as clips and are written as 8 kHz WAV files into
 * sounds_dir on the worker pool; recordings are read back there too.
 *
 * Thread: everything here runs on the loop that created the server (the
 * media loop); disk work runs on the worker pool. */
#ifndef VG_TELEPHONY_ASTERISK_FASTAGI_H
#define VG_TELEPHONY_ASTERISK_FASTAGI_H
#include <stdint.h>

struct agi_env;
struct channel;
struct fastagi;
struct vg_loop;
struct wpool;

struct fastagi_cfg {
	char host[64];		 /* listen address, "127.0.0.1" */
	uint16_t port;		 /* 4573; 0 = any (tests) */
	char sounds_dir[224];	 /* prompts and recordings; must exist */
	unsigned max_sessions;	 /* more connections are refused; 0 = 256 */
	uint32_t env_timeout_ms; /* environment not complete: close; 5000 */
	struct wpool *pool;	 /* borrowed: WAV writes and reads */
	struct vg_loop *loop;	 /* borrowed: the loop this runs on */
	/* Dial strings, "%s" = the target: for tel: the number (default
	 * "Local/%s@voxgate-transfer"), for sip: the whole URI (default
	 * "PJSIP/voxgate/%s": endpoint "voxgate" in pjsip.conf, URI form). */
	char tel_dial_fmt[64];
	char sip_dial_fmt[64];
	/* Application run for "queue:NAME" with NAME as its argument; ""
	 * = "Queue". Letters, digits and '_' only. */
	char queue_app[64];
};

/* What Asterisk told us about the call (borrowed for the handler call). */
struct fastagi_call {
	const char *id;	  /* voxgate call id, "agi-<hex>" */
	const char *flow; /* asked for by URL path or agi_arg_1; NULL: none */
	const char *from; /* agi_callerid */
	const char *to;	  /* agi_dnid, else agi_extension */
	const struct agi_env *env;
};

struct fastagi_handlers {
	/* The call is answered: attach and start a flow on ch (set its event
	 * handler). Non-zero refuses: VOXGATE_RESULT=error, the socket is
	 * closed and session_gone is not called. */
	int (*session_new)(struct channel *ch, const struct fastagi_call *c,
			   void *arg);
	/* The session is over (after CHANNEL_EV_HANGUP was delivered); ch
	 * is freed after this returns. */
	void (*session_gone)(struct channel *ch, void *arg);
};

/* Listen on cfg->host:port. *fp is set only on success. Returns 0, -EINVAL
 * (no pool/loop/sounds_dir) or -errno (e.g. -EADDRINUSE). */
int fastagi_create(struct fastagi **fp, const struct fastagi_cfg *cfg,
		   const struct fastagi_handlers *h, void *arg);
/* Close every session (session_gone for each started one), stop listening,
 * free. Pending disk jobs finish on their own. NULL is a no-op. */
void fastagi_destroy(struct fastagi *fa);
/* Stop taking sessions: new connections are refused at once. */
void fastagi_drain(struct fastagi *fa);
/* End every session with reason (static string): VOXGATE_RESULT=reason,
 * HANGUP, close; the flows see CHANNEL_EV_HANGUP. */
void fastagi_hangup_all(struct fastagi *fa, const char *reason);
uint16_t fastagi_local_port(const struct fastagi *fa);
unsigned fastagi_active(const struct fastagi *fa);

/* For the call record of a FastAGI channel (strings borrowed from ch,
 * valid until session_gone returns). */
struct fastagi_info {
	const char *id, *from, *to, *flow, *channel, *uniqueid;
	const char *end_reason; /* NULL while the call runs */
	const char *dtmf;	/* digits received */
	const char *flow_path_json;
	/* The caller's turns (docs/API.md "turns"), NULL before the first:
	 * t_ms.speech_end is the end of the RECORD FILE (or the key that
	 * ended the input), tts_ready when the reply's STREAM FILE was sent,
	 * first_rtp always null (Asterisk plays the audio). */
	const char *turns_json;
	int64_t started_ms, answered_ms, ended_ms; /* wall clock, 0 = not yet */
};
void fastagi_info(const struct channel *ch, struct fastagi_info *out);

/* One pointer for the daemon per FastAGI channel (borrowed; NULL at
 * first). */
void fastagi_set_user(struct channel *ch, void *user);
void *fastagi_user(const struct channel *ch);

/* Set a channel variable (SET VARIABLE, queued like every command). name is
 * [A-Za-z0-9_]{1,63}. Returns 0, -EINVAL, -ENOTCONN (session ending) or
 * -EAGAIN (command queue full). */
int fastagi_set_var(struct channel *ch, const char *name, const char *value);
/* End this AGI step without hanging up: VOXGATE_RESULT=result (a static
 * string), then the
 * socket is closed and the dialplan goes on (e.g. to AudioSocket()). The
 * session ends as usual (CHANNEL_EV_HANGUP, session_gone). Returns 0 or
 * -ENOTCONN. */
int fastagi_finish(struct channel *ch, const char *result);
#endif
