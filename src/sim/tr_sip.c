/* SIP/RTP transport of `voxgate simulate` (sim/transport.h): a UAC on libre
 * over UDP, or TCP when the target says ;transport=tcp (INVITE with an SDP
 * offer of PCMU, PCMA and telephone-event; ACK; BYE; REFER answered as the
 * transferee) and RTP sent on the caller's shared
 * 20 ms clock. Received RTP goes to the caller as it arrives: RTP is
 * already paced by the sender, and its arrival is what a phone hears. */
#include "sim/sim_int.h"
#include "sim/transport.h"

#include "audio/g711.h"
#include "audio/rfc4733.h"

#include <re.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define RTP_PORT_MIN 20000
#define RTP_PORT_MAX 59999

/* Per run: one UA and its sockets. */
struct sip_ua {
	struct sip *sip;
	struct sipsess_sock *sock;
	struct sipevent_sock *evsock;
	struct sa laddr;
	struct mbuf *txmb; /* one send buffer for every call */
};

struct sim_tr_call {
	struct sip_ua *ua;
	struct sim_call *c;
	struct sipsess *sess;
	struct sipnot * not ;
	struct rtp_sock *rtp;
	struct sdp_session *sdp;
	struct sdp_media *sdpm;
	struct sa raddr;
	bool media;   /* remote address and codec known */
	int pt;	      /* 0 PCMU, 8 PCMA */
	int te_pt;    /* remote telephone-event PT, -1 none */
	uint32_t ts;  /* RTP timestamp of the next frame */
	bool talking; /* last frame sent was voiced */
	struct rfc4733_tx dtmf;
	bool done; /* ended reported or hung up: no more events */
};

static void end(struct sim_tr_call *t, bool by_server, const char *reason)
{
	if (t->done)
		return;
	t->done = true;
	sim_call_ended(t->c, by_server, reason);
}

static void rtp_recv_handler(const struct sa *src, const struct rtp_header *hdr,
			     struct mbuf *mb, void *arg)
{
	struct sim_tr_call *t = arg;
	(void)src;
	sim_call_res(t->c)->rtp_rx++;
	if (t->done || (hdr->pt != 0 && hdr->pt != 8))
		return;
	size_t n = mbuf_get_left(mb);
	if (n > SIM_TR_FRAME * 4)
		n = SIM_TR_FRAME * 4;
	int16_t pcm[SIM_TR_FRAME * 4];
	if (hdr->pt == 0)
		audio_ulaw_decode_buf(mbuf_buf(mb), pcm, n);
	else
		audio_alaw_decode_buf(mbuf_buf(mb), pcm, n);
	sim_call_heard(t->c, pcm, n);
}

/* ---------- SDP ---------- */

static int apply_answer(struct sim_tr_call *t, struct mbuf *mb)
{
	int err = sdp_decode(t->sdp, mb, false);
	if (err)
		return err;
	const struct sdp_format *f = sdp_media_rformat(t->sdpm, NULL);
	if (!f || (f->pt != 0 && f->pt != 8))
		return EPROTO;
	t->pt = f->pt;
	const struct sdp_format *te =
		sdp_media_rformat(t->sdpm, "telephone-event");
	t->te_pt = te ? te->pt : -1;
	t->raddr = *sdp_media_raddr(t->sdpm);
	t->media = sa_isset(&t->raddr, SA_ALL);
	return t->media ? 0 : EPROTO;
}

static int offer_handler(struct mbuf **descp, const struct sip_msg *msg,
			 void *arg)
{
	struct sim_tr_call *t = arg;
	if (msg->mb && mbuf_get_left(msg->mb)) {
		int err = sdp_decode(t->sdp, msg->mb, true);
		if (err)
			return err;
		const struct sdp_format *f = sdp_media_rformat(t->sdpm, NULL);
		if (f && (f->pt == 0 || f->pt == 8))
			t->pt = f->pt;
		const struct sa *ra = sdp_media_raddr(t->sdpm);
		if (sa_isset(ra, SA_ALL)) {
			t->raddr = *ra;
			t->media = true;
		}
	}
	return sdp_encode(descp, t->sdp, !(msg->mb && mbuf_get_left(msg->mb)));
}

static int answer_handler(const struct sip_msg *msg, void *arg)
{
	struct sim_tr_call *t = arg;
	return apply_answer(t, msg->mb);
}

static void progress_handler(const struct sip_msg *msg, void *arg)
{
	struct sim_tr_call *t = arg;
	if (msg->mb && mbuf_get_left(msg->mb) && !t->media)
		(void)apply_answer(t, msg->mb);
}

static void estab_handler(const struct sip_msg *msg, void *arg)
{
	struct sim_tr_call *t = arg;
	(void)msg;
	if (t->done)
		return;
	sim_call_answered(t->c);
	if (!t->media)
		end(t, false, "answered without usable media");
}

static void close_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct sim_tr_call *t = arg;
	char why[SIM_REASON_MAX];
	if (err == ECONNRESET) {
		end(t, true, NULL);
	} else if (msg && msg->scode >= 300) {
		sim_call_res(t->c)->sip_status = msg->scode;
		snprintf(why, sizeof(why), "INVITE rejected: %u %.*s",
			 msg->scode, (int)msg->reason.l, msg->reason.p);
		end(t, false, why);
	} else if (err) {
		snprintf(why, sizeof(why), "SIP error: %s", strerror(err));
		end(t, false, why);
	} else {
		end(t, false, NULL);
	}
}

static void not_close_handler(int err, const struct sip_msg *msg, void *arg)
{
	/* the subscription ended; t->not is freed with the call */
	(void)err;
	(void)msg;
	(void)arg;
}

static void refer_handler(struct sip *sip, const struct sip_msg *msg, void *arg)
{
	struct sim_tr_call *t = arg;
	const struct sip_hdr *hdr = sip_msg_hdr(msg, SIP_HDR_REFER_TO);
	if (!hdr || t->not || t->done) {
		(void)sip_treply(NULL, sip, msg, hdr ? 491 : 400,
				 hdr ? "Request Pending" : "No Refer-To");
		return;
	}
	char target[SIM_URI_MAX];
	re_snprintf(target, sizeof(target), "%r", &hdr->val);
	struct sipevent_event se;
	memset(&se, 0, sizeof(se));
	pl_set_str(&se.event, "refer");
	int err = sipevent_accept(&t->not, t->ua->evsock, msg,
				  sipsess_dialog(t->sess), &se, 202, "Accepted",
				  60, 60, 60, "sim", "message/sipfrag", NULL,
				  NULL, false, not_close_handler, t, NULL);
	if (err) {
		(void)sip_treply(NULL, sip, msg, 500, "Server Error");
		return;
	}
	/* The simulated caller "is" the transferee: the transfer
	 * succeeded at once. */
	struct mbuf *mb = NULL;
	(void)sipevent_notifyf(t->not, &mb, SIPEVENT_TERMINATED,
			       SIPEVENT_NORESOURCE, 0, "SIP/2.0 200 OK\r\n");
	mem_deref(mb);
	sim_call_transfer(t->c, target);
}

/* ---------- ops ---------- */

static void ua_destroy(struct sip_ua *ua)
{
	if (!ua)
		return;
	mem_deref(ua->txmb);
	if (ua->sock)
		sipsess_close_all(ua->sock);
	ua->evsock = mem_deref(ua->evsock);
	ua->sock = mem_deref(ua->sock);
	mem_deref(ua->sip);
	mem_deref(ua);
}

static void flush_timeout(void *arg)
{
	(void)arg;
	re_cancel();
}

static void sip_close_ua(void *state)
{
	struct sip_ua *ua = state;
	if (!ua)
		return;
	ua->txmb = mem_deref(ua->txmb);
	if (ua->sock)
		sipsess_close_all(ua->sock);
	ua->evsock = mem_deref(ua->evsock);
	ua->sock = mem_deref(ua->sock);
	if (ua->sip) {
		sip_close(ua->sip, false);
		/* let the BYEs and their transactions finish, bounded */
		struct tmr tmr;
		tmr_init(&tmr);
		tmr_start(&tmr, 300, flush_timeout, NULL);
		(void)re_main(NULL);
		tmr_cancel(&tmr);
		sip_close(ua->sip, true);
	}
	ua->sip = mem_deref(ua->sip);
	mem_deref(ua);
}

static int sip_open(void **statep, const struct sim_opts *o,
		    const struct sim_scenario *sc)
{
	(void)sc;
	struct sip_ua *ua = mem_zalloc(sizeof(*ua), NULL);
	if (!ua)
		return -ENOMEM;
	int err = sa_set_str(&ua->laddr, o->bind ? o->bind : "127.0.0.1", 0);
	if (!err)
		err = sip_alloc(&ua->sip, NULL, 64, 64, 64, "voxgate-simulate",
				NULL, NULL);
	if (!err)
		err = sip_transp_add(ua->sip, SIP_TRANSP_UDP, &ua->laddr);
	/* A target with ;transport=tcp goes over TCP (libre picks the
	 * transport from the request URI; requests from the server come back
	 * on the same connection). */
	if (!err)
		err = sip_transp_add(ua->sip, SIP_TRANSP_TCP, &ua->laddr);
	if (!err)
		err = sipsess_listen(&ua->sock, ua->sip, 1024, NULL, NULL);
	if (!err)
		err = sipevent_listen(&ua->evsock, ua->sip, 64, 64, NULL, NULL);
	ua->txmb = err ? NULL : mbuf_alloc(RTP_HEADER_SIZE + 1024);
	if (!err && !ua->txmb)
		err = ENOMEM;
	if (err) {
		ua_destroy(ua);
		return -err;
	}
	*statep = ua;
	return 0;
}

static void call_destructor(void *arg)
{
	struct sim_tr_call *t = arg;
	t->not = mem_deref(t->not );
	/* a session the peer already ended sends no BYE when freed; one
	 * still ringing is cancelled */
	t->sess = mem_deref(t->sess);
	t->rtp = mem_deref(t->rtp);
	t->sdp = mem_deref(t->sdp);
}

static int sip_start(struct sim_tr_call **tp, void *state, struct sim_call *c,
		     const struct sim_scenario *sc, uint64_t idx)
{
	struct sip_ua *ua = state;
	(void)idx;
	struct sim_tr_call *t = mem_zalloc(sizeof(*t), call_destructor);
	if (!t)
		return -ENOMEM;
	t->ua = ua;
	t->c = c;
	t->te_pt = -1;
	struct mbuf *desc = NULL;
	int err = rtp_listen(&t->rtp, IPPROTO_UDP, &ua->laddr, RTP_PORT_MIN,
			     RTP_PORT_MAX, false, rtp_recv_handler, NULL, t);
	if (!err)
		err = sdp_session_alloc(&t->sdp, &ua->laddr);
	if (!err)
		err = sdp_media_add(&t->sdpm, t->sdp, "audio",
				    sa_port(rtp_local(t->rtp)), "RTP/AVP");
	if (!err)
		err = sdp_format_add(NULL, t->sdpm, false, "0", "PCMU", 8000, 1,
				     NULL, NULL, NULL, false, NULL);
	if (!err)
		err = sdp_format_add(NULL, t->sdpm, false, "8", "PCMA", 8000, 1,
				     NULL, NULL, NULL, false, NULL);
	if (!err)
		err = sdp_format_add(NULL, t->sdpm, false, "101",
				     "telephone-event", 8000, 1, NULL, NULL,
				     NULL, false, "0-15");
	if (!err)
		err = sdp_encode(&desc, t->sdp, true);
	char from[SIM_NAME_MAX + 64];
	re_snprintf(from, sizeof(from), "sip:%s@%j", sc->from, &ua->laddr);
	if (!err)
		err = sipsess_connect(&t->sess, ua->sock, sc->target, NULL,
				      from, "sim", NULL, 0, "application/sdp",
				      desc, NULL, NULL, false, offer_handler,
				      answer_handler, progress_handler,
				      estab_handler, NULL, refer_handler,
				      close_handler, t, NULL);
	mem_deref(desc);
	if (err) {
		mem_deref(t);
		return -err;
	}
	const struct sip_dialog *dlg = sipsess_dialog(t->sess);
	struct sim_call_result *res = sim_call_res(c);
	if (dlg)
		snprintf(res->sip_call_id, sizeof(res->sip_call_id), "%s",
			 sip_dialog_callid(dlg));
	*tp = t;
	return 0;
}

static void sip_send_audio(struct sim_tr_call *t, const int16_t *pcm,
			   bool voiced)
{
	struct mbuf *mb = t->ua->txmb;
	mb->pos = RTP_HEADER_SIZE;
	mb->end = RTP_HEADER_SIZE;
	uint8_t *dst = mb->buf + RTP_HEADER_SIZE;
	if (t->pt == 8)
		audio_alaw_encode_buf(pcm, dst, SIM_TR_FRAME);
	else
		audio_ulaw_encode_buf(pcm, dst, SIM_TR_FRAME);
	mb->end = RTP_HEADER_SIZE + SIM_TR_FRAME;
	if (t->media &&
	    !rtp_send(t->rtp, &t->raddr, false, voiced && !t->talking,
		      (uint8_t)t->pt, t->ts, mb))
		sim_call_res(t->c)->rtp_tx++;
	t->talking = voiced;
	t->ts += SIM_TR_FRAME;
}

static int sip_dtmf(struct sim_tr_call *t, char key, bool first)
{
	if (t->te_pt < 0) {
		sim_call_fail(t->c, "the server offered no telephone-event "
				    "for a dtmf: turn");
		return -ENOTSUP;
	}
	if (!key) {
		/* a gap between keys: nothing is sent, time goes on */
		t->ts += SIM_TR_FRAME;
		return 0;
	}
	if (first)
		(void)rfc4733_tx_start(&t->dtmf, key, SIM_TR_KEY_MS, t->ts);
	uint8_t ev[RFC4733_EVENT_LEN];
	bool marker = false, done = false;
	uint32_t ts = 0;
	if (rfc4733_tx_next(&t->dtmf, ev, &marker, &ts, &done))
		return 1;
	t->ts += SIM_TR_FRAME;
	if (done)
		t->dtmf.active = false;
	struct mbuf *mb = t->ua->txmb;
	mb->pos = RTP_HEADER_SIZE;
	mb->end = RTP_HEADER_SIZE;
	(void)mbuf_write_mem(mb, ev, sizeof(ev));
	mb->pos = RTP_HEADER_SIZE;
	if (!rtp_send(t->rtp, &t->raddr, false, marker, (uint8_t)t->te_pt, ts,
		      mb))
		sim_call_res(t->c)->rtp_tx++;
	return done ? 1 : 0;
}

static void sip_hangup(struct sim_tr_call *t)
{
	/* the BYE (or CANCEL) goes out when the session is freed */
	t->done = true;
}

static void sip_free(struct sim_tr_call *t)
{
	if (!t)
		return;
	t->done = true;
	mem_deref(t);
}

static int sip_target_check(const char *target, char *why, size_t cap)
{
	if (strncmp(target, "sip:", 4) || !target[4]) {
		snprintf(why, cap, "a sip: URI, e.g. sip:2000@127.0.0.1:5060");
		return -EINVAL;
	}
	return 0;
}

const struct sim_transport_ops sim_tr_sip = {
	.name = "sip",
	.target_example = "sip:2000@127.0.0.1:5060",
	.params = NULL,
	.target_check = sip_target_check,
	.open = sip_open,
	.close = sip_close_ua,
	.start = sip_start,
	.send_audio = sip_send_audio,
	.dtmf = sip_dtmf,
	.hangup = sip_hangup,
	.free = sip_free,
};
