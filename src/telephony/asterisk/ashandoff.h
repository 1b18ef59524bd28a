/* AudioSocket hand-offs: the flow a FastAGI set-up session chose for the
 * AudioSocket call that follows it on the same Asterisk channel, keyed by
 * the UUID the dialplan passes to both:
 *
 *   same => n,Set(VG_UUID=${SHELL(uuidgen | tr -d '\n')})
 *   same => n,AGI(agi://127.0.0.1:4573/audiosocket,${VG_UUID})
 *   same => n,AudioSocket(${VG_UUID},127.0.0.1:9092)
 *
 * A bounded table (the oldest entry makes room), entries expire after
 * ttl_ms and are taken once. Thread: one (the media loop), no locking. */
#ifndef VG_TELEPHONY_ASTERISK_ASHANDOFF_H
#define VG_TELEPHONY_ASTERISK_ASHANDOFF_H
#include <stdbool.h>
#include <stdint.h>

#define ASHANDOFF_MAX 256
#define ASHANDOFF_TTL_MS 60000

struct ashandoff_entry {
	char uuid[40]; /* lower case as AudioSocket formats it; "" = free */
	char flow[64];
	uint64_t at_ms;
};

struct ashandoff {
	struct ashandoff_entry e[ASHANDOFF_MAX];
};

/* A UUID as the dialplan may write it: 32 hex digits with or without the
 * four dashes (8-4-4-4-12). Written lower case with dashes to out[37].
 * Returns 0 or -EINVAL. */
int ashandoff_uuid_norm(const char *uuid, char out[37]);

/* Remember flow (a flow name, 1-63 bytes) for uuid at now_ms; replaces an
 * entry with the same UUID, else uses a free or expired slot, else the
 * oldest. Returns 0 or -EINVAL (bad UUID or flow). */
int ashandoff_put(struct ashandoff *t, const char *uuid, const char *flow,
		  uint64_t now_ms);

/* Take the flow for uuid (copied to flow[64], the entry freed). Returns
 * true if a live entry was found. */
bool ashandoff_take(struct ashandoff *t, const char *uuid, uint64_t now_ms,
		    char flow[64]);
#endif
