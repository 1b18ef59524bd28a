/* The Twilio Media Streams server: a media adapter. Twilio opens a
 * WebSocket (<Connect><Stream url="wss://<public>/twilio/media">, TLS
 * terminated in front of voxgate) whose upgrade is signed with
 * X-Twilio-Signature; each stream becomes one media call (call/call.h):
 * caller mu-law decoded into 20 ms frames, DTMF, and our 20 ms frames sent
 * as `media` messages paced by one absolute media clock, a `mark` after
 * each prompt's last frame (the prompt ends when Twilio echoes it) and a
 * `clear` when a prompt is stopped (barge-in). docs/TWILIO.md.
 *
 * Thread: everything here runs on the media loop that created the server. */
#ifndef VG_TELEPHONY_TWILIO_MSTREAM_H
#define VG_TELEPHONY_TWILIO_MSTREAM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct call;
struct mstream;

#define MSTREAM_PATH "/twilio/media"

struct mstream_cfg {
	char host[64];		   /* listen address, "127.0.0.1" */
	uint16_t port;		   /* 8081; 0 = any (tests) */
	char auth_token[256];	   /* signs the upgrade; wiped on destroy */
	char public_url[256];	   /* "https://vg.example.com" (no '/') */
	uint32_t media_timeout_ms; /* no media/DTMF this long: hang up; 0 off */
	uint32_t start_timeout_ms; /* upgraded without `start`: close; 5000 */
	uint32_t mark_timeout_ms;  /* mark not echoed: end the prompt; 3000 */
	unsigned max_calls;	   /* more upgrades get 503 */
};

/* The same handlers as the SIP endpoint's (sipep_handlers); platform
 * "twilio-media". The `flow` custom parameter, if any, is already set as
 * the call's flow name (call_flow_name) when call_new runs. */
struct mstream_handlers {
	int (*call_new)(struct call *c, void *arg); /* non-zero ends it */
	void (*call_state)(struct call *c, int old_state, void *arg);
	void (*call_gone)(struct call *c, void *arg);
};

/* Counters over all streams, for tests, the bench and metrics. */
struct mstream_stats {
	uint64_t upgrades, refused_sig, refused_busy;
	uint64_t rx_frames, tx_frames, marks_sent, marks_acked, clears;
	uint64_t bad_json, bad_payload, unknown_events, binary_frames;
	uint64_t oversized, late_chunks, lost_chunks, mark_timeouts;
	uint64_t tx_dropped; /* frames not sent: Twilio was not reading */
};

/* Listen on cfg->host:port. *msp is set only on success. Returns 0 or
 * -errno (e.g. -EADDRINUSE, -EINVAL for a bad host). */
int mstream_create(struct mstream **msp, const struct mstream_cfg *cfg,
		   const struct mstream_handlers *h, void *arg);
/* Hang up every call (WebSocket close), stop listening, free. NULL is a
 * no-op. */
void mstream_destroy(struct mstream *ms);
/* Stop taking calls: new upgrades get 503. */
void mstream_drain(struct mstream *ms);
void mstream_hangup_all(struct mstream *ms, const char *reason);
unsigned mstream_active_calls(const struct mstream *ms);
uint16_t mstream_local_port(const struct mstream *ms);
void mstream_get_stats(const struct mstream *ms, struct mstream_stats *st);

/* The URL Twilio signs for the upgrade: public_url with its scheme turned
 * into ws/wss, then path and query ("?" + query when query is non-empty).
 * Returns 0, -EINVAL (not http/https), -ENOSPC. Pure. */
int mstream_signed_url(char *out, size_t cap, const char *public_url,
		       const char *path, const char *query, size_t query_len);
#endif
