/* SDP offer/answer: codec choice, telephone-event, rejections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "telephony/sip/sdpneg.h"

static const char *const offer_hdr =
	"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
	"t=0 0\r\n";

struct neg {
	struct sdp_session *sess;
	struct sdp_media *m;
	struct sdpneg_result res;
	char answer[2048];
};

static int run(struct neg *n, const struct sdpneg_cfg *cfg, const char *media)
{
	char body[2048];
	snprintf(body, sizeof(body), "%s%s", offer_hdr, media);
	struct sa la;
	sa_set_str(&la, "127.0.0.1", 0);
	assert_int_equal(sdpneg_session(&n->sess, &n->m, cfg, &la, 20000), 0);
	int err = sdpneg_apply(n->sess, n->m, cfg, (const uint8_t *)body,
			       strlen(body), true, &n->res);
	n->answer[0] = '\0';
	if (!err) {
		struct mbuf *mb = NULL;
		assert_int_equal(sdpneg_encode(n->sess, false, &mb), 0);
		size_t len = mb->end < sizeof(n->answer) - 1
				     ? mb->end
				     : sizeof(n->answer) - 1;
		memcpy(n->answer, mb->buf, len);
		n->answer[len] = '\0';
		mem_deref(mb);
	}
	return err;
}

static void done(struct neg *n)
{
	mem_deref(n->sess);
}

static const struct sdpneg_cfg both = { { SDPNEG_PCMU, SDPNEG_PCMA }, 2, 101 };
static const struct sdpneg_cfg alaw_only = { { SDPNEG_PCMA }, 1, 101 };

static void offerer_order_wins(void **s)
{
	(void)s;
	struct neg n;
	assert_int_equal(run(&n, &both,
			     "m=audio 4000 RTP/AVP 8 0 101\r\n"
			     "a=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n"
			     "a=rtpmap:101 telephone-event/8000\r\n"
			     "a=fmtp:101 0-16\r\n"),
			 0);
	assert_int_equal(n.res.codec, SDPNEG_PCMA);
	assert_int_equal(n.res.te_pt, 101);
	assert_int_equal(sa_port(&n.res.raddr), 4000);
	assert_true(n.res.send);
	assert_true(n.res.recv);
	/* the answer carries only the chosen codec and telephone-event */
	assert_non_null(strstr(n.answer, "m=audio 20000 RTP/AVP 8 101"));
	assert_null(strstr(n.answer, "PCMU"));
	done(&n);
}

static void static_payload_without_rtpmap_is_understood(void **s)
{
	(void)s;
	struct neg n;
	assert_int_equal(run(&n, &both, "m=audio 4002 RTP/AVP 0\r\n"), 0);
	assert_int_equal(n.res.codec, SDPNEG_PCMU);
	assert_int_equal(n.res.te_pt, -1);
	assert_null(strstr(n.answer, "telephone-event"));
	done(&n);
}

static void telephone_event_uses_offered_payload_type(void **s)
{
	(void)s;
	struct neg n;
	assert_int_equal(run(&n, &both,
			     "m=audio 4000 RTP/AVP 0 96\r\n"
			     "a=rtpmap:96 telephone-event/8000\r\n"),
			 0);
	assert_int_equal(n.res.te_pt, 96);
	assert_non_null(strstr(n.answer, "a=rtpmap:96 telephone-event/8000"));
	done(&n);
}

static void no_common_codec_is_eproto(void **s)
{
	(void)s;
	struct neg n;
	assert_int_equal(run(&n, &alaw_only,
			     "m=audio 4000 RTP/AVP 0 18\r\n"
			     "a=rtpmap:18 G729/8000\r\n"),
			 -EPROTO);
	done(&n);
	assert_int_equal(run(&n, &both,
			     "m=audio 4000 RTP/AVP 9 101\r\n"
			     "a=rtpmap:9 G722/8000\r\n"
			     "a=rtpmap:101 telephone-event/8000\r\n"),
			 -EPROTO);
	done(&n);
}

static void wideband_pcmu_is_not_g711(void **s)
{
	(void)s;
	struct neg n;
	assert_int_equal(run(&n, &both,
			     "m=audio 4000 RTP/AVP 97\r\n"
			     "a=rtpmap:97 PCMU/16000\r\n"),
			 -EPROTO);
	done(&n);
}

static void video_only_or_port_zero_is_eproto(void **s)
{
	(void)s;
	struct neg n;
	assert_int_equal(run(&n, &both, "m=video 4000 RTP/AVP 96\r\n"),
			 -EPROTO);
	done(&n);
	assert_int_equal(run(&n, &both, "m=audio 0 RTP/AVP 0\r\n"), -EPROTO);
	done(&n);
}

static void hold_offer_stops_sending(void **s)
{
	(void)s;
	struct neg n;
	assert_int_equal(
		run(&n, &both, "m=audio 4000 RTP/AVP 0\r\na=sendonly\r\n"), 0);
	assert_false(n.res.send);
	assert_true(n.res.recv);
	assert_non_null(strstr(n.answer, "a=recvonly"));
	done(&n);
}

static void garbage_is_ebadmsg(void **s)
{
	(void)s;
	struct sdp_session *sess;
	struct sdp_media *m;
	struct sdpneg_result res;
	struct sa la;
	sa_set_str(&la, "127.0.0.1", 0);
	assert_int_equal(sdpneg_session(&sess, &m, &both, &la, 20000), 0);
	assert_int_equal(sdpneg_apply(sess, m, &both, (const uint8_t *)"", 0,
				      true, &res),
			 -EBADMSG);
	const char *junk = "m=audio x RTP/AVP\r\nc=IN IP4\r\n";
	int err = sdpneg_apply(sess, m, &both, (const uint8_t *)junk,
			       strlen(junk), true, &res);
	assert_true(err == -EBADMSG || err == -EPROTO);
	mem_deref(sess);
}

static void renegotiation_can_switch_codec(void **s)
{
	(void)s;
	struct neg n;
	assert_int_equal(run(&n, &both, "m=audio 4000 RTP/AVP 0\r\n"), 0);
	assert_int_equal(n.res.codec, SDPNEG_PCMU);
	char body[512];
	snprintf(body, sizeof(body), "%sm=audio 4010 RTP/AVP 8\r\n", offer_hdr);
	assert_int_equal(sdpneg_apply(n.sess, n.m, &both, (const uint8_t *)body,
				      strlen(body), true, &n.res),
			 0);
	assert_int_equal(n.res.codec, SDPNEG_PCMA);
	assert_int_equal(sa_port(&n.res.raddr), 4010);
	done(&n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(offerer_order_wins),
		cmocka_unit_test(static_payload_without_rtpmap_is_understood),
		cmocka_unit_test(telephone_event_uses_offered_payload_type),
		cmocka_unit_test(no_common_codec_is_eproto),
		cmocka_unit_test(wideband_pcmu_is_not_g711),
		cmocka_unit_test(video_only_or_port_zero_is_eproto),
		cmocka_unit_test(hold_offer_stops_sending),
		cmocka_unit_test(garbage_is_ebadmsg),
		cmocka_unit_test(renegotiation_can_switch_codec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
