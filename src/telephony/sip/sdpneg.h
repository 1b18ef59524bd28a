/* SDP offer/answer for the SIP endpoint (RFC 3264) on libre's sdp: one
 * audio stream, G.711 (PCMU/PCMA) and RFC 4733 telephone-event. Pure glue,
 * no sockets, so it is unit-tested and fuzzed directly. */
#ifndef VG_TELEPHONY_SIP_SDPNEG_H
#define VG_TELEPHONY_SIP_SDPNEG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <re.h>

enum sdpneg_codec { SDPNEG_PCMU = 0, SDPNEG_PCMA = 8 };

struct sdpneg_cfg {
	enum sdpneg_codec codecs[2]; /* our preference order */
	unsigned ncodecs;	     /* 1..2 */
	uint8_t te_pt;		     /* telephone-event PT we offer (96..127) */
};

struct sdpneg_result {
	enum sdpneg_codec codec; /* chosen codec (its PT is static) */
	int te_pt;		 /* remote telephone-event PT, -1 if none */
	struct sa raddr;	 /* remote RTP address */
	bool send;		 /* we may send (remote recvonly/sendrecv) */
	bool recv;		 /* remote will send */
};

/* Local session for one call: audio media on laddr:port with our formats.
 * Returns 0 or -errno; *sessp and *mediap belong to the caller (mem_deref
 * the session). */
int sdpneg_session(struct sdp_session **sessp, struct sdp_media **mediap,
		   const struct sdpneg_cfg *cfg, const struct sa *laddr,
		   uint16_t port);

/* Take an offer (or, with offer=false, an answer to our offer) in body,
 * choose the codec: the first one in the OFFER's order that we support
 * (RFC 3264 6.1: the answerer should honour the offerer's preference).
 * Returns 0, -EBADMSG (unparsable SDP), -EPROTO (no audio stream or no
 * common codec: answer 488). On success the session is ready to encode the
 * answer with sdpneg_encode(). */
int sdpneg_apply(struct sdp_session *sess, struct sdp_media *m,
		 const struct sdpneg_cfg *cfg, const uint8_t *body, size_t len,
		 bool offer, struct sdpneg_result *res);

/* Encode our SDP (answer, or offer when offer=true) into a new mbuf. */
int sdpneg_encode(struct sdp_session *sess, bool offer, struct mbuf **mbp);

const char *sdpneg_codec_name(enum sdpneg_codec c);
/* "PCMU"/"PCMA" (case-insensitive) -> codec; -EINVAL otherwise. */
int sdpneg_codec_parse(const char *name, enum sdpneg_codec *out);
#endif
