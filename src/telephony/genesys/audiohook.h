/* The Genesys AudioHook WebSocket server: a media adapter. Genesys opens a
 * WebSocket signed with X-API-KEY + an HTTP message signature (ahsig.h),
 * checked before the upgrade (401, nothing created). Two paths share the
 * listener and the protocol (ahmsg.h): AUDIOHOOK_PATH (monitor: listen to
 * both parties, push events back) and AUDIOCONNECTOR_PATH (bot: the
 * Audio Connector variant, audio both ways). What a session does is up to
 * the hooks registered for its path: the server runs the protocol (seq
 * bookkeeping, open/opened, ping/pong, update/updated, paused/resumed/
 * discarded, close/closed, errors, timeouts) and hands decoded audio and
 * messages to the hooks; the hooks answer through the session functions.
 * docs/GENESYS.md.
 *
 * Thread: everything here runs on the media loop that created the server;
 * hooks are called on it and must not block. */
#ifndef VG_TELEPHONY_GENESYS_AUDIOHOOK_H
#define VG_TELEPHONY_GENESYS_AUDIOHOOK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "telephony/genesys/ahmsg.h"
#include "telephony/genesys/ahsig.h"

struct cJSON;
struct audiohook;
struct ah_session;

#define AUDIOHOOK_PATH "/genesys/audiohook"
#define AUDIOCONNECTOR_PATH "/genesys/audioconnector"

enum audiohook_kind { AUDIOHOOK_MONITOR = 0, AUDIOHOOK_BOT = 1 };

struct audiohook_key {
	char api_key[AHSIG_KEY_LEN];
	char client_secret[256]; /* base64, as Genesys shows it; wiped */
};

struct audiohook_cfg {
	char host[64]; /* "127.0.0.1" */
	uint16_t port; /* 8082; 0 = any (tests) */
	struct audiohook_key keys[AHSIG_KEYS_MAX];
	unsigned nkeys;		   /* at least one */
	bool require_signature;	   /* false: X-API-KEY alone (not Genesys) */
	unsigned max_skew_s;	   /* signature created in the future (30) */
	unsigned max_age_s;	   /* signature older than this: stale (300) */
	uint32_t open_timeout_ms;  /* upgraded without `open`: close (5000) */
	uint32_t idle_timeout_ms;  /* nothing received this long: disconnect
				      (60000; Genesys pings every ~5 s) */
	uint32_t close_timeout_ms; /* disconnect sent, no close: drop (5000) */
	unsigned max_sessions;	   /* more upgrades get 503 (1000) */
};

/* Called on the media loop. A session handed to on_open stays valid until
 * on_close returns (on_close is called exactly once for every session
 * on_open was called for, also when on_open refused it). */
struct audiohook_hooks {
	/* The client's open, media already chosen (audiohook_session_media).
	 * Return 0 to answer `opened`; -errno to refuse (a disconnect with
	 * reason "error" is sent). *start_paused may be set. */
	int (*on_open)(struct ah_session *s, const struct ahmsg *open,
		       bool *start_paused, void *arg);
	/* Decoded audio of one binary message: n samples per channel, 8 kHz
	 * PCM16. in is NULL for a mono stream carrying only external, ext
	 * NULL for one carrying only internal. position_ms is the stream
	 * position of the first sample (paused spans excluded, discarded
	 * spans included: the protocol's position). Never called while
	 * paused. */
	void (*on_audio)(struct ah_session *s, const int16_t *ext,
			 const int16_t *in, size_t n, uint64_t position_ms,
			 void *arg);
	/* Any other client message once opened: update, paused, resumed,
	 * discarded, dtmf, playback_started, playback_completed, error. The
	 * server already answered what the protocol requires (updated). m
	 * is borrowed for the call. */
	void (*on_message)(struct ah_session *s, const struct ahmsg *m,
			   void *arg);
	/* The session ends (client close, disconnect, error, timeout,
	 * shutdown). reason is short ("end", "error", "timeout", ...). */
	void (*on_close)(struct ah_session *s, const char *reason, void *arg);
};

/* Counters over all sessions (tests, bench, metrics). */
struct audiohook_stats {
	uint64_t upgrades, refused_auth, refused_busy, refused_path;
	uint64_t opened, closed, errors_sent, bad_messages, seq_errors;
	uint64_t audio_frames, audio_bytes, audio_refused, paused_bytes;
	uint64_t pings, events_sent, tx_dropped, timeouts;
	uint64_t server_pauses, server_resumes;
};

/* Listen on cfg->host:port. *ahp is set only on success. Returns 0 or
 * -errno (-EADDRINUSE, -EINVAL: bad host, no key, a secret not base64). */
int audiohook_create(struct audiohook **ahp, const struct audiohook_cfg *cfg);
/* Close every session (disconnect + on_close), stop listening, free,
 * wipe secrets. NULL is a no-op. */
void audiohook_destroy(struct audiohook *ah);
/* Hooks for one path (copied; arg borrowed). A path without hooks
 * refuses its upgrades with 404. */
void audiohook_set_hooks(struct audiohook *ah, enum audiohook_kind kind,
			 const struct audiohook_hooks *h, void *arg);
uint16_t audiohook_local_port(const struct audiohook *ah);
unsigned audiohook_active_sessions(const struct audiohook *ah);
void audiohook_get_stats(const struct audiohook *ah,
			 struct audiohook_stats *st);
/* Stop taking sessions: new upgrades get 503. */
void audiohook_drain(struct audiohook *ah);
/* The open session with this AudioHook session id (the
 * Audiohook-Session-Id / message id), or NULL. Borrowed. */
struct ah_session *audiohook_find(struct audiohook *ah, const char *id);

/* ---- sessions (borrowed pointers, media loop) ---- */
enum audiohook_kind audiohook_session_kind(const struct ah_session *s);
const char *audiohook_session_id(const struct ah_session *s);
const char *audiohook_session_conversation(const struct ah_session *s);
const char *audiohook_session_org(const struct ah_session *s);
/* The media chosen for `opened`. */
const struct ahmsg_media *audiohook_session_media(const struct ah_session *s);
bool audiohook_session_paused(const struct ah_session *s);
/* Stream position now (the last message's position or the audio since). */
uint64_t audiohook_session_position_ms(const struct ah_session *s);
void audiohook_session_set_data(struct ah_session *s, void *data);
void *audiohook_session_data(const struct ah_session *s);

/* Send n samples of mono PCM16 as one PCMU binary message (Audio
 * Connector; the caller paces it, 20 ms per call). Returns 0, -EPIPE
 * (closing), -EAGAIN (the client is not reading: dropped, counted). */
int audiohook_session_send_audio(struct ah_session *s, const int16_t *pcm,
				 size_t n);
/* Bytes queued on the socket (for pacing and barge-in decisions). */
size_t audiohook_session_txq(const struct ah_session *s);
/* event messages. 0, -EPIPE, -ENOSPC. */
int audiohook_session_send_transcript(struct ah_session *s,
				      const struct ahmsg_transcript *t);
int audiohook_session_send_assist(struct ah_session *s,
				  const struct ahmsg_assist *a);
int audiohook_session_send_barge_in(struct ah_session *s);
/* Ask the client to pause / resume (PCI secure pause). The client
 * confirms with paused / resumed; audio is refused from now on until
 * resumed. 0, -EPIPE, -EALREADY. */
int audiohook_session_pause(struct ah_session *s);
int audiohook_session_resume(struct ah_session *s);
/* End the session: disconnect (reason "completed" | "error" |
 * "unauthorized", info may be NULL, output_variables borrowed, may be
 * NULL); the client answers close, we answer closed, then on_close. */
int audiohook_session_disconnect(struct ah_session *s, const char *reason,
				 const char *info,
				 const struct cJSON *output_variables);
#endif
