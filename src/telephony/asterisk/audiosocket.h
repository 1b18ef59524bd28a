/* The Asterisk AudioSocket server: a media adapter. Asterisk connects over
 * TCP (dialplan AudioSocket(uuid,host:port)); each connection becomes one
 * media call (call/call.h): caller audio re-chunked into 20 ms frames at
 * 8 kHz, DTMF, and our 20 ms frames paced by one absolute media clock. The
 * flow runtime drives it exactly like a SIP call.
 *
 * Thread: everything here runs on the media loop that created the server. */
#ifndef VG_TELEPHONY_ASTERISK_AUDIOSOCKET_H
#define VG_TELEPHONY_ASTERISK_AUDIOSOCKET_H
#include <stdbool.h>
#include <stdint.h>

struct call;
struct audiosocket;

struct audiosocket_cfg {
	char host[64];		   /* listen address, "127.0.0.1" */
	uint16_t port;		   /* 9092; 0 = any (tests) */
	uint32_t media_timeout_ms; /* no audio/DTMF this long: hang up; 0 off */
	uint32_t uuid_timeout_ms;  /* connection without UUID: close; 5000 */
	unsigned max_calls;	   /* more connections are closed at once */
};

/* What the daemon does with calls; the same handlers as the SIP endpoint's
 * (sipep_handlers). Each runs on the media loop. */
struct audiosocket_handlers {
	/* A new call (UUID received): attach the flow. Non-zero ends it. */
	int (*call_new)(struct call *c, void *arg);
	/* State changes (answered, ended...) for CDRs and metrics. */
	void (*call_state)(struct call *c, int old_state, void *arg);
	/* The call is over and about to be freed: last chance to read it. */
	void (*call_gone)(struct call *c, void *arg);
};

/* Listen on cfg->host:port. *asp is set only on success. Returns 0 or
 * -errno (e.g. -EADDRINUSE). */
int audiosocket_create(struct audiosocket **asp,
		       const struct audiosocket_cfg *cfg,
		       const struct audiosocket_handlers *h, void *arg);
/* Hang up every call (a hangup frame to each peer), close and free. NULL is
 * a no-op. */
void audiosocket_destroy(struct audiosocket *as);

/* Stop taking calls: new connections are closed at once. */
void audiosocket_drain(struct audiosocket *as);
/* Hang up every call with reason (static string). */
void audiosocket_hangup_all(struct audiosocket *as, const char *reason);
unsigned audiosocket_active_calls(const struct audiosocket *as);
/* The bound port (for tests listening on port 0). */
uint16_t audiosocket_local_port(const struct audiosocket *as);

/* Outbound frames the media clock dropped instead of queueing (the peer did
 * not keep up: the socket held more than two frames), over all calls. */
uint64_t audiosocket_tx_dropped(const struct audiosocket *as);
#endif
