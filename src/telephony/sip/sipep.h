/* The SIP endpoint: a UAS on libre for INVITE/ACK/BYE/CANCEL/OPTIONS over
 * UDP and TCP, one RTP/RTCP stream per call paced by one absolute 20 ms media
 * clock, and the glue that turns SIP and RTP into the call model (call.h).
 *
 * Thread: everything here runs on the media loop that created the endpoint. */
#ifndef VG_TELEPHONY_SIP_SIPEP_H
#define VG_TELEPHONY_SIP_SIPEP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "telephony/sip/sdpneg.h"

struct call;
struct sipep;

enum sipep_transport { SIPEP_UDP, SIPEP_TCP };

struct sipep_listen {
	enum sipep_transport transport;
	char host[64];
	uint16_t port;
};

struct sipep_cfg {
	struct sipep_listen listen[8];
	unsigned nlisten;
	const char *user_agent;
	uint32_t answer_delay_ms;
	char rtp_addr[64];
	uint16_t rtp_port_min, rtp_port_max;
	struct sdpneg_cfg sdp;
	uint32_t jitter_min_ms, jitter_max_ms;
	uint32_t media_timeout_ms;
	bool rtcp; /* send RTCP reports (libre: every ~5 s) */
	unsigned max_calls;
	uint32_t retry_after_s;
};

/* What the daemon does with calls. Each runs on the media loop. */
struct sipep_handlers {
	/* A new call was accepted (ringing): attach the flow. Non-zero
	 * rejects it (500). */
	int (*call_new)(struct call *c, void *arg);
	/* State changes (answered, ended...) for CDRs and metrics. */
	void (*call_state)(struct call *c, int old_state, void *arg);
	/* The call is over and about to be freed: last chance to read it. */
	void (*call_gone)(struct call *c, void *arg);
};

int sipep_create(struct sipep **epp, const struct sipep_cfg *cfg,
		 const struct sipep_handlers *h, void *arg);
/* Hang up everything and free. NULL is a no-op. */
void sipep_destroy(struct sipep *ep);

/* Stop taking calls: new INVITEs get 503 with Retry-After. */
void sipep_drain(struct sipep *ep);
bool sipep_draining(const struct sipep *ep);
/* Hang up every call with reason (static string). */
void sipep_hangup_all(struct sipep *ep, const char *reason);
unsigned sipep_active_calls(const struct sipep *ep);
/* The Refer-To URI for a transfer to target with context: for sip:/sips:
 * targets each entry is embedded as a header X-Voxgate-<key>=<value>
 * (RFC 3261 19.1.1, values %-escaped), so the INVITE the transferee sends
 * carries them; other schemes get the target alone. Writes a NUL-terminated
 * URI (no angle brackets) to out[cap]. Entries with a bad key (not
 * [A-Za-z0-9_-]{1,64}) are skipped; entries that would not fit are dropped
 * (*dropped counts both, may be NULL). Returns 0, -EINVAL (bad target:
 * empty, or with CR, LF, '<', '>', or whitespace), -ENOSPC (target alone
 * does not fit). */
struct channel_kv;
int sipep_refer_uri(char *out, size_t cap, const char *target,
		    const struct channel_kv *ctx, unsigned nctx,
		    unsigned *dropped);

/* Bound addresses (for tests using port 0): index into cfg.listen. */
int sipep_local_port(const struct sipep *ep, enum sipep_transport tp);
#endif
