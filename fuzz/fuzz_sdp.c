/* Fuzz the SDP offer/answer glue: any bytes as an offer, then encode. */
#include <stdint.h>
#include <stddef.h>

#include "telephony/sip/sdpneg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct sdpneg_cfg cfg = { { SDPNEG_PCMU, SDPNEG_PCMA },
					       2,
					       101 };
	struct sdp_session *sess = NULL;
	struct sdp_media *m = NULL;
	struct sa la;
	sa_set_str(&la, "127.0.0.1", 0);
	if (sdpneg_session(&sess, &m, &cfg, &la, 20000))
		return 0;
	struct sdpneg_result res;
	if (sdpneg_apply(sess, m, &cfg, data, size, true, &res) == 0) {
		struct mbuf *mb = NULL;
		if (sdpneg_encode(sess, false, &mb) == 0)
			mem_deref(mb);
	}
	mem_deref(sess);
	return 0;
}
