/* SIP endpoint (see sipep.h). libre does the SIP transactions and dialogs;
 * this file maps them onto the call state machine, negotiates media, and
 * runs the media clock that paces every call's RTP on one absolute 20 ms
 * schedule (a timer per call would cost O(calls) per insert in libre's
 * timer list, and drift). Calls are only freed from the media clock, never
 * inside a libre callback. */
#include "telephony/sip/sipep.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <re.h>

#include "audio/clip.h"
#include "audio/dtmf_inband.h"
#include "audio/g711.h"
#include "audio/jitter.h"
#include "audio/rfc4733.h"
#include "audio/rtpout.h"
#include "call/call.h"
#include "core/clock.h"
#include "core/log.h"
#include "metrics/metrics.h"
#include "telephony/common/mclock.h"

/* The media clock ticks every 5 ms; each call belongs to one of 4 phases and
 * is served on its phase's tick, i.e. every 20 ms. Spreading calls over the
 * period keeps a tick short (a quarter of the calls) so packets leave close
 * to their own schedule instead of queueing behind every other call's. */
enum {
	PHASES = 4,
	FRAME_US = 20000,
	TICK_US = FRAME_US / PHASES,
	TRANSFER_TIMEOUT_MS = 15000,
};

struct sipcall {
	struct le le;
	struct sipep *ep;
	struct call *call;
	struct sipsess *sess;
	struct sdp_session *sdp;
	struct sdp_media *sdpm;
	struct rtp_sock *rtp;
	struct sdpneg_result neg;
	bool negotiated;
	bool offer_pending; /* INVITE without SDP: our offer is in the 200 */
	struct jitter_buf *jb;
	/* Listening: frames go to the call as they arrive, in sequence order
	 * (late ones dropped), so barge-in does not wait for the playout
	 * delay. */
	uint16_t heard_seq;
	bool heard_any;
	struct rfc4733_rx dtmf_rx;
	struct rfc4733_tx dtmf_tx;
	unsigned dtmf_gap;	    /* ticks of audio between sent digits */
	struct inband_dtmf *inband; /* peers without telephone-event */
	struct rtpout out;
	bool talking;  /* last frame sent was prompt audio */
	bool answered; /* 200 OK sent: media clock runs */
	bool dead;     /* release on the next clock tick */
	bool gone;     /* call_gone raised */
	unsigned phase;
	struct tmr answer_tmr;
	struct sipsub *refer;
	struct tmr refer_tmr;
	bool refer_done;
	uint64_t rtp_rx, rtp_tx;
	char callid[128];
};

struct sipep {
	struct sipep_cfg cfg;
	struct sipep_handlers h;
	void *arg;
	struct sip *sip;
	struct sipsess_sock *sock;
	struct sipevent_sock *evsock;
	struct sip_lsnr *lsnr;
	struct list calls[PHASES];
	unsigned next_phase;
	uint64_t tick_no;
	unsigned active;
	bool draining;
	struct mclock clock; /* one media clock, PHASES ticks per frame */
	struct mbuf *txmb;
	struct sa rtp_laddr;
	char user_agent[256];
	/* metrics */
	struct metric_counter *m_rtp_tx, *m_rtp_rx, *m_rtp_bad;
	struct metric_counter *m_rejected_busy, *m_rejected_drain;
	struct metric_counter *m_rejected_488, *m_options;
	struct metric_gauge *m_active;
	struct metric_histogram *m_tick_late, *m_tick_cpu, *m_send_late;
	struct metric_counter *m_ticks_skipped;
	uint64_t skipped_seen;
};

static void sipcall_mark_dead(struct sipcall *sc);

static uint64_t now_ms(void)
{
	return clock_mono_ms();
}

/* ---------- call ops (what the call asks of SIP) ---------- */

static int encode_sdp(struct sipcall *sc, struct mbuf **mbp)
{
	return sdpneg_encode(sc->sdp, sc->offer_pending, mbp);
}

static int op_answer(void *arg)
{
	struct sipcall *sc = arg;
	struct mbuf *desc = NULL;
	int err = encode_sdp(sc, &desc);
	if (err)
		return err;
	err = sipsess_answer(sc->sess, 200, "OK", desc,
			     "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, "
			     "REFER, NOTIFY\r\n");
	mem_deref(desc);
	if (err)
		return -err;
	sc->answered = true;
	if (sc->negotiated && sc->ep->cfg.rtcp) {
		struct sa rtcp = sc->neg.raddr;
		sa_set_port(&rtcp, sa_port(&rtcp) + 1);
		rtcp_start(sc->rtp, "voxgate", &rtcp);
	}
	return 0;
}

static int op_hangup(void *arg, enum call_fsm_action act, const char *reason)
{
	struct sipcall *sc = arg;
	if (act == CALL_ACT_REJECT && sc->sess) {
		uint16_t code = 480;
		const char *phrase = "Temporarily Unavailable";
		if (reason && !strcmp(reason, "shutdown")) {
			code = 503;
			phrase = "Service Unavailable";
		}
		(void)sipsess_reject(sc->sess, code, phrase,
				     "Retry-After: %u\r\n",
				     sc->ep->cfg.retry_after_s);
	}
	/* Freeing an established sipsess sends BYE; libre keeps the
	 * transaction alive on its own until it completes. */
	sc->sess = mem_deref(sc->sess);
	sc->refer = mem_deref(sc->refer);
	sipcall_mark_dead(sc);
	return 0;
}

static void refer_finish(struct sipcall *sc, int err, int status)
{
	if (sc->refer_done)
		return;
	sc->refer_done = true;
	tmr_cancel(&sc->refer_tmr);
	LOGI(call_id(sc->call), "transfer_result", "status=%d err=%d", status,
	     err);
	call_transfer_result(sc->call, err, status);
}

static void refer_notify(struct sip *sip, const struct sip_msg *msg, void *arg)
{
	struct sipcall *sc = arg;
	struct pl code;
	(void)sip_treply(NULL, sip, msg, 200, "OK");
	/* message/sipfrag body: "SIP/2.0 200 OK" */
	if (msg->mb &&
	    !re_regex((const char *)mbuf_buf(msg->mb), mbuf_get_left(msg->mb),
		      "SIP/2.0 [0-9]+", &code)) {
		uint32_t st = pl_u32(&code);
		if (st >= 200)
			refer_finish(sc, st < 300 ? 0 : -EPROTO, (int)st);
	}
}

static void refer_close(int err, const struct sip_msg *msg,
			const struct sipevent_substate *substate, void *arg)
{
	struct sipcall *sc = arg;
	(void)substate;
	sc->refer = mem_deref(sc->refer);
	if (err)
		refer_finish(sc, -err, 0);
	else if (msg && msg->scode >= 300)
		refer_finish(sc, -EPROTO, msg->scode);
	else
		/* Accepted and the subscription ended without a final
		 * sipfrag: the transferee took the call. */
		refer_finish(sc, 0, 202);
}

static void refer_timeout(void *arg)
{
	struct sipcall *sc = arg;
	sc->refer = mem_deref(sc->refer);
	refer_finish(sc, -ETIMEDOUT, 0);
}

/* RFC 3261 25.1: hvalue = *( hnv-unreserved / unreserved / escaped ). */
static bool hvalue_char(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c && strchr("-_.!~*'()[]/?:+$", c) != NULL;
}

static bool ctx_key_ok(const char *k)
{
	size_t n = k ? strlen(k) : 0;
	if (!n || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = k[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

int sipep_refer_uri(char *out, size_t cap, const char *target,
		    const struct channel_kv *ctx, unsigned nctx,
		    unsigned *dropped)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned drop = 0;
	if (!out || !cap || !target || !*target || (nctx && !ctx))
		return -EINVAL;
	for (const char *p = target; *p; p++)
		if (strchr("\r\n<> \t\"", *p))
			return -EINVAL;
	size_t len = strlen(target);
	if (len >= cap)
		return -ENOSPC;
	memcpy(out, target, len + 1);
	bool sip = !strncasecmp(target, "sip:", 4) ||
		   !strncasecmp(target, "sips:", 5);
	if (!sip) {
		if (dropped)
			*dropped = nctx;
		return 0;
	}
	bool first = !strchr(target, '?');
	for (unsigned i = 0; i < nctx; i++) {
		const char *v = ctx[i].value ? ctx[i].value : "";
		if (!ctx_key_ok(ctx[i].key)) {
			drop++;
			continue;
		}
		size_t need = 1 + strlen("X-Voxgate-") + strlen(ctx[i].key) + 1;
		for (const unsigned char *p = (const unsigned char *)v; *p; p++)
			need += hvalue_char(*p) ? 1 : 3;
		if (len + need >= cap) {
			drop++;
			continue;
		}
		char *w = out + len;
		*w++ = first ? '?' : '&';
		first = false;
		w += sprintf(w, "X-Voxgate-%s=", ctx[i].key);
		for (const unsigned char *p = (const unsigned char *)v; *p;
		     p++) {
			if (hvalue_char(*p)) {
				*w++ = (char)*p;
			} else {
				*w++ = '%';
				*w++ = hex[*p >> 4];
				*w++ = hex[*p & 15];
			}
		}
		*w = '\0';
		len = (size_t)(w - out);
	}
	if (dropped)
		*dropped = drop;
	return 0;
}

enum { REFER_TO_MAX = 4096 };

static int op_transfer(void *arg, const char *target,
		       const struct channel_kv *ctx, unsigned nctx)
{
	struct sipcall *sc = arg;
	if (!sc->sess)
		return -ENOTCONN;
	if (target && !strncmp(target, "queue:", 6)) {
		/* A queue the config (transfer.queues) does not map to a URI:
		 * a SIP peer has no idea what "queue:NAME" is. */
		LOGW(call_id(sc->call), "transfer_unknown_queue", "queue=%s",
		     log_esc(target + 6));
		return -ENOENT;
	}
	char *uri = malloc(REFER_TO_MAX);
	if (!uri)
		return -ENOMEM;
	unsigned dropped = 0;
	int err =
		sipep_refer_uri(uri, REFER_TO_MAX, target, ctx, nctx, &dropped);
	if (err) {
		free(uri);
		return err;
	}
	if (dropped)
		LOGW(call_id(sc->call), "transfer_context_dropped",
		     "target=%s dropped=%u of=%u", log_esc(target), dropped,
		     nctx);
	sc->refer_done = false;
	err = sipevent_drefer(&sc->refer, sc->ep->evsock,
			      sipsess_dialog(sc->sess), "voxgate", NULL, NULL,
			      false, refer_notify, refer_close, sc,
			      "Refer-To: <%s>\r\n", uri);
	free(uri);
	if (err)
		return -err;
	tmr_start(&sc->refer_tmr, TRANSFER_TIMEOUT_MS, refer_timeout, sc);
	LOGI(call_id(sc->call), "transfer", "target=%s context=%u",
	     log_esc(target), nctx - dropped);
	return 0;
}

static const struct call_media_ops sip_media_ops = {
	.answer = op_answer,
	.hangup = op_hangup,
	.transfer = op_transfer,
};

/* ---------- media ---------- */

static void rtp_recv(const struct sa *src, const struct rtp_header *hdr,
		     struct mbuf *mb, void *arg)
{
	struct sipcall *sc = arg;
	struct sipep *ep = sc->ep;
	(void)src;
	if (sc->dead || !sc->negotiated)
		return;
	sc->rtp_rx++;
	metric_counter_add(ep->m_rtp_rx, 1);
	const uint8_t *p = mbuf_buf(mb);
	size_t len = mbuf_get_left(mb);
	uint64_t now = now_ms();

	if (sc->neg.te_pt >= 0 && hdr->pt == sc->neg.te_pt) {
		char digit;
		int r = rfc4733_rx_feed(&sc->dtmf_rx, hdr->ts, hdr->m, p, len,
					&digit);
		if (r == 1)
			call_dtmf_in(sc->call, digit, now);
		else if (r < 0)
			metric_counter_add(ep->m_rtp_bad, 1);
		else
			call_audio_in(sc->call, NULL, 0, now);
		return;
	}
	if (hdr->pt != (uint8_t)sc->neg.codec) {
		/* comfort noise (13) and others: alive, but no audio */
		call_audio_in(sc->call, NULL, 0, now);
		return;
	}
	if (jitter_buf_put(sc->jb, hdr->seq, hdr->ts, p, len, clock_mono_us()) <
	    0)
		metric_counter_add(ep->m_rtp_bad, 1);
	int16_t d = (int16_t)(hdr->seq - sc->heard_seq);
	if (call_wants_audio(sc->call) && len == AUDIO_FRAME_SAMPLES &&
	    (!sc->heard_any || d > 0 || d < -100)) {
		int16_t pcm[AUDIO_FRAME_SAMPLES];
		if (sc->neg.codec == SDPNEG_PCMA)
			audio_alaw_decode_buf(p, pcm, len);
		else
			audio_ulaw_decode_buf(p, pcm, len);
		sc->heard_seq = hdr->seq;
		sc->heard_any = true;
		call_audio_in(sc->call, pcm, len, now);
		return;
	}
	call_audio_in(sc->call, NULL, 0, now);
}

static void media_rx_frame(struct sipcall *sc, uint64_t now)
{
	uint8_t payload[320];
	size_t len = 0;
	int r = jitter_buf_get(sc->jb, payload, sizeof(payload), &len);
	if (r != JITTER_FRAME || len == 0 || !sc->inband)
		return;
	int16_t pcm[320];
	if (len > 320)
		len = 320;
	if (sc->neg.codec == SDPNEG_PCMA)
		audio_alaw_decode_buf(payload, pcm, len);
	else
		audio_ulaw_decode_buf(payload, pcm, len);
	/* The ordered, delayed stream serves in-band DTMF; listening takes
	 * frames on arrival (rtp_recv). */
	char keys[8];
	int n = inband_dtmf_feed(sc->inband, pcm, len, keys, sizeof(keys));
	for (int i = 0; i < n && !sc->dead; i++)
		call_dtmf_in(sc->call, keys[i], now);
}

/* RFC 4733 out: while a queued digit plays, its event packets replace the
 * audio of those ticks; 60 ms of audio separate two digits. Returns true
 * when this tick's packet was an event packet. */
static bool send_dtmf_packet(struct sipcall *sc)
{
	if (sc->neg.te_pt < 0)
		return false;
	if (!sc->dtmf_tx.active) {
		if (sc->dtmf_gap) {
			sc->dtmf_gap--;
			return false;
		}
		char d = call_dtmf_out_next(sc->call);
		if (!d)
			return false;
		struct rtpout_hdr h;
		rtpout_next(&sc->out, 0, false, &h);
		if (rfc4733_tx_start(&sc->dtmf_tx, d, 100, h.ts))
			return false;
		LOGI(call_id(sc->call), "dtmf_send", "digit=%c", d);
	}
	uint8_t ev[RFC4733_EVENT_LEN];
	bool marker = false, done = false;
	uint32_t ts = 0;
	if (rfc4733_tx_next(&sc->dtmf_tx, ev, &marker, &ts, &done))
		return false;
	rtpout_skip(&sc->out, AUDIO_FRAME_SAMPLES);
	if (done) {
		sc->dtmf_tx.active = false;
		sc->dtmf_gap = 3;
	}
	struct mbuf *mb = sc->ep->txmb;
	mb->pos = RTP_HEADER_SIZE;
	mb->end = RTP_HEADER_SIZE;
	mbuf_write_mem(mb, ev, sizeof(ev));
	mb->pos = RTP_HEADER_SIZE;
	if (rtp_send(sc->rtp, &sc->neg.raddr, false, marker,
		     (uint8_t)sc->neg.te_pt, ts, mb))
		return false;
	sc->rtp_tx++;
	metric_counter_add(sc->ep->m_rtp_tx, 1);
	return true;
}

/* Returns true when a packet went out. */
static bool media_tx_frame(struct sipcall *sc, uint64_t now)
{
	struct sipep *ep = sc->ep;
	int16_t pcm[AUDIO_FRAME_SAMPLES];
	bool audio = call_tick(sc->call, now, pcm);
	if (sc->dead || !sc->negotiated || !sc->neg.send)
		return false;

	struct mbuf *mb = ep->txmb;
	mb->pos = RTP_HEADER_SIZE;
	mb->end = RTP_HEADER_SIZE;
	uint8_t *dst = mb->buf + RTP_HEADER_SIZE;
	if (sc->neg.codec == SDPNEG_PCMA)
		audio_alaw_encode_buf(pcm, dst, AUDIO_FRAME_SAMPLES);
	else
		audio_ulaw_encode_buf(pcm, dst, AUDIO_FRAME_SAMPLES);
	mb->end = RTP_HEADER_SIZE + AUDIO_FRAME_SAMPLES;

	if (send_dtmf_packet(sc))
		return true;

	struct rtpout_hdr h;
	rtpout_next(&sc->out, AUDIO_FRAME_SAMPLES, audio && !sc->talking, &h);
	sc->talking = audio;
	if (rtp_send(sc->rtp, &sc->neg.raddr, false, h.marker,
		     (uint8_t)sc->neg.codec, h.ts, mb) == 0) {
		sc->rtp_tx++;
		metric_counter_add(ep->m_rtp_tx, 1);
		return true;
	}
	return false;
}

static void release_call(struct sipcall *sc)
{
	struct sipep *ep = sc->ep;
	if (call_state(sc->call) != CALL_ENDED)
		call_signal(sc->call, CALL_EV_CLOSED, now_ms());
	call_set_rtp_counts(sc->call, sc->rtp_tx, sc->rtp_rx);
	if (!sc->gone) {
		sc->gone = true;
		if (ep->h.call_gone)
			ep->h.call_gone(sc->call, ep->arg);
	}
	list_unlink(&sc->le);
	if (ep->active)
		ep->active--;
	metric_gauge_set(ep->m_active, ep->active);
	mem_deref(sc);
}

static void serve_phase(struct sipep *ep, struct list *calls, uint64_t sched)
{
	uint64_t now = clock_mono_ms();
	struct le *le = list_head(calls);
	while (le) {
		struct sipcall *sc = le->data;
		le = le->next;
		if (sc->dead) {
			release_call(sc);
			continue;
		}
		if (!sc->answered)
			continue;
		if (media_tx_frame(sc, now)) {
			uint64_t sent = clock_mono_us();
			metric_histogram_observe(
				ep->m_send_late,
				sent > sched ? (double)(sent - sched) / 1e6
					     : 0.0);
		}
		/* Receive work after the time-critical send. */
		media_rx_frame(sc, now);
	}
}

static void media_tick(uint64_t deadline_us, void *arg)
{
	struct sipep *ep = arg;
	unsigned phase = (unsigned)(ep->tick_no++ % PHASES);
	serve_phase(ep, &ep->calls[phase], deadline_us);
}

static void media_batch(unsigned due, uint64_t start_us, uint64_t first_us,
			void *arg)
{
	struct sipep *ep = arg;
	(void)due;
	metric_histogram_observe(ep->m_tick_late,
				 start_us > first_us
					 ? (double)(start_us - first_us) / 1e6
					 : 0.0);
	const struct pacer *pc = &ep->clock.pacer;
	if (pc->skipped != ep->skipped_seen) {
		metric_counter_add(ep->m_ticks_skipped,
				   pc->skipped - ep->skipped_seen);
		ep->skipped_seen = pc->skipped;
	}
	metric_histogram_observe(ep->m_tick_cpu,
				 (double)(clock_mono_us() - start_us) / 1e6);
}

static void each_call(struct sipep *ep, void (*fn)(struct sipcall *, void *),
		      void *arg)
{
	for (unsigned p = 0; p < PHASES; p++) {
		struct le *le = list_head(&ep->calls[p]);
		while (le) {
			struct sipcall *sc = le->data;
			le = le->next;
			fn(sc, arg);
		}
	}
}

/* ---------- SIP session handlers ---------- */

static void sipcall_mark_dead(struct sipcall *sc)
{
	sc->dead = true;
	tmr_cancel(&sc->answer_tmr);
	tmr_cancel(&sc->refer_tmr);
}

static void sess_estab(const struct sip_msg *msg, void *arg)
{
	struct sipcall *sc = arg;
	(void)msg;
	call_signal(sc->call, CALL_EV_ACK, now_ms());
}

static void sess_close(int err, const struct sip_msg *msg, void *arg)
{
	struct sipcall *sc = arg;
	enum call_state st = call_state(sc->call);
	enum call_fsm_event ev;
	if (st == CALL_RINGING)
		ev = CALL_EV_CANCEL;
	else if (err == ETIMEDOUT && st == CALL_ANSWERING)
		ev = CALL_EV_ACK_TIMEOUT;
	else if (err == ECONNRESET || (msg && !err))
		ev = CALL_EV_REMOTE_BYE;
	else
		ev = CALL_EV_ERROR;
	LOGD(call_id(sc->call), "sip_close", "err=%d event=%s", err,
	     call_fsm_event_name(ev));
	sc->sess = mem_deref(sc->sess);
	sc->refer = mem_deref(sc->refer);
	call_signal(sc->call, ev, now_ms());
	sipcall_mark_dead(sc);
}

static int apply_sdp(struct sipcall *sc, const struct sip_msg *msg, bool offer)
{
	struct sdpneg_result res;
	int err = sdpneg_apply(sc->sdp, sc->sdpm, &sc->ep->cfg.sdp,
			       mbuf_buf(msg->mb), mbuf_get_left(msg->mb), offer,
			       &res);
	if (err)
		return err;
	bool first = !sc->negotiated;
	sc->neg = res;
	sc->negotiated = true;
	if (sc->call) {
		char ra[64];
		re_snprintf(ra, sizeof(ra), "%J", &res.raddr);
		call_set_media_info(sc->call, sdpneg_codec_name(res.codec), ra);
	}
	if (first) {
		rfc4733_rx_init(&sc->dtmf_rx);
		rfc4733_tx_init(&sc->dtmf_tx);
	}
	/* No telephone-event offered: listen for key tones in the audio. */
	if (res.te_pt < 0 && !sc->inband)
		(void)inband_dtmf_create(&sc->inband);
	return 0;
}

/* re-INVITE with an offer (hold, resume, address change). */
static int sess_offer(struct mbuf **descp, const struct sip_msg *msg, void *arg)
{
	struct sipcall *sc = arg;
	int err = apply_sdp(sc, msg, true);
	if (err)
		return err == -EPROTO ? EPROTO : EBADMSG;
	LOGI(call_id(sc->call), "reinvite", "send=%d recv=%d", sc->neg.send,
	     sc->neg.recv);
	err = sdpneg_encode(sc->sdp, false, descp);
	return err ? -err : 0;
}

/* ACK with the answer to the offer we put in our 200 (delayed offer). */
static int sess_answer(const struct sip_msg *msg, void *arg)
{
	struct sipcall *sc = arg;
	int err = apply_sdp(sc, msg, false);
	sc->offer_pending = false;
	if (err) {
		LOGW(call_id(sc->call), "sdp_answer_rejected", "err=%d", err);
		return -err;
	}
	return 0;
}

static void do_answer(void *arg)
{
	struct sipcall *sc = arg;
	if (sc->dead)
		return;
	int err = call_answer(sc->call, now_ms());
	if (err)
		LOGW(call_id(sc->call), "answer_failed", "err=%d", err);
}

static void sipcall_destructor(void *arg)
{
	struct sipcall *sc = arg;
	tmr_cancel(&sc->answer_tmr);
	tmr_cancel(&sc->refer_tmr);
	mem_deref(sc->refer);
	mem_deref(sc->sess);
	mem_deref(sc->rtp);
	mem_deref(sc->sdp);
	jitter_buf_destroy(sc->jb);
	inband_dtmf_destroy(sc->inband);
	call_destroy(sc->call);
}

static void call_state_cb(struct call *c, enum call_state old, void *arg)
{
	struct sipcall *sc = arg;
	struct sipep *ep = sc->ep;
	if (ep->h.call_state)
		ep->h.call_state(c, (int)old, ep->arg);
}

static void reply_plain(struct sipep *ep, const struct sip_msg *msg,
			uint16_t code, const char *reason, const char *hdrs)
{
	(void)sip_treplyf(NULL, NULL, ep->sip, msg, false, code, reason,
			  "%sContent-Length: 0\r\n\r\n", hdrs ? hdrs : "");
}

static void copy_pl(char *dst, size_t cap, const struct pl *pl)
{
	if (pl && pl->p)
		pl_strcpy(pl, dst, cap);
	else if (cap)
		dst[0] = '\0';
}

static bool accept_apply(const struct sip_hdr *hdr, const struct sip_msg *msg,
			 void *arg)
{
	(void)msg;
	bool *ok = arg;
	char v[256];
	copy_pl(v, sizeof(v), &hdr->val);
	/* any of: application/sdp, application/(*), (*)/(*), or empty */
	if (!v[0] || strcasestr(v, "application/sdp") ||
	    strcasestr(v, "application/*") || strstr(v, "*/*"))
		*ok = true;
	return *ok;
}

static bool accepts_sdp(const struct sip_msg *msg)
{
	bool ok = false;
	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_ACCEPT, accept_apply, &ok);
	return ok;
}

static void sess_conn(const struct sip_msg *msg, void *arg)
{
	struct sipep *ep = arg;
	char hdr[96];

	if (ep->draining) {
		metric_counter_add(ep->m_rejected_drain, 1);
		re_snprintf(hdr, sizeof(hdr), "Retry-After: %u\r\n",
			    ep->cfg.retry_after_s);
		reply_plain(ep, msg, 503, "Service Unavailable", hdr);
		return;
	}
	if (ep->active >= ep->cfg.max_calls) {
		metric_counter_add(ep->m_rejected_busy, 1);
		LOGW(NULL, "call_rejected", "reason=max_calls active=%u",
		     ep->active);
		re_snprintf(hdr, sizeof(hdr), "Retry-After: %u\r\n",
			    ep->cfg.retry_after_s);
		reply_plain(ep, msg, 503, "Service Unavailable", hdr);
		return;
	}
	/* We support neither 100rel nor session timers (RFC 3262/4028):
	 * a UAC that requires them gets 420 with what we lack. */
	const struct sip_hdr *req = sip_msg_hdr(msg, SIP_HDR_REQUIRE);
	if (req) {
		char val[128];
		copy_pl(val, sizeof(val), &req->val);
		char uns[160];
		re_snprintf(uns, sizeof(uns), "Unsupported: %s\r\n", val);
		reply_plain(ep, msg, 420, "Bad Extension", uns);
		return;
	}
	/* We answer with SDP: a UAC that accepts bodies but not SDP gets 406
	 * (RFC 3261 21.4.7). */
	const struct sip_hdr *acc = sip_msg_hdr(msg, SIP_HDR_ACCEPT);
	if (acc && !accepts_sdp(msg)) {
		reply_plain(ep, msg, 406, "Not Acceptable",
			    "Accept: application/sdp\r\n");
		return;
	}
	bool has_body = mbuf_get_left(msg->mb) > 0;
	if (has_body && !msg_ctype_cmp(&msg->ctyp, "application", "sdp")) {
		reply_plain(ep, msg, 415, "Unsupported Media Type",
			    "Accept: application/sdp\r\n");
		return;
	}

	struct sipcall *sc = mem_zalloc(sizeof(*sc), sipcall_destructor);
	if (!sc) {
		reply_plain(ep, msg, 500, "Server Internal Error", NULL);
		return;
	}
	sc->ep = ep;
	tmr_init(&sc->answer_tmr);
	tmr_init(&sc->refer_tmr);
	copy_pl(sc->callid, sizeof(sc->callid), &msg->callid);

	char from[256], to[128];
	copy_pl(from, sizeof(from), &msg->from.auri);
	copy_pl(to, sizeof(to), &msg->uri.user);

	struct jitter_cfg jcfg = {
		.min_delay_frames = ep->cfg.jitter_min_ms / 20,
		.max_delay_frames = ep->cfg.jitter_max_ms / 20,
		.capacity = 64,
	};
	struct call_params cp = {
		.platform = "sip",
		.from = from,
		.to = to,
		.platform_id = sc->callid,
		.media_timeout_ms = ep->cfg.media_timeout_ms,
		.now_ms = now_ms(),
	};
	uint16_t code = 500;
	const char *phrase = "Server Internal Error";
	int err = jitter_buf_create(&sc->jb, &jcfg);
	if (!err)
		err = -rtp_listen(&sc->rtp, IPPROTO_UDP, &ep->rtp_laddr,
				  ep->cfg.rtp_port_min, ep->cfg.rtp_port_max,
				  true, rtp_recv, NULL, sc);
	if (!err)
		err = sdpneg_session(&sc->sdp, &sc->sdpm, &ep->cfg.sdp,
				     &ep->rtp_laddr,
				     sa_port(rtp_local(sc->rtp)));
	if (!err && has_body) {
		err = apply_sdp(sc, msg, true);
		if (err == -EPROTO) {
			code = 488;
			phrase = "Not Acceptable Here";
			metric_counter_add(ep->m_rejected_488, 1);
		} else if (err == -EBADMSG) {
			code = 400;
			phrase = "Bad SDP";
		}
	} else if (!err) {
		sc->offer_pending = true;
	}
	if (!err)
		err = call_create(&sc->call, &cp, &sip_media_ops, sc);
	if (err) {
		LOGI(NULL, "call_rejected", "code=%u err=%d callid=%s", code,
		     err, log_esc(sc->callid));
		reply_plain(ep, msg, code, phrase, NULL);
		mem_deref(sc);
		return;
	}
	if (sc->negotiated) {
		char ra[64];
		re_snprintf(ra, sizeof(ra), "%J", &sc->neg.raddr);
		call_set_media_info(sc->call, sdpneg_codec_name(sc->neg.codec),
				    ra);
	}
	rtcp_set_srate(sc->rtp, 8000, 8000);
	rtpout_init(&sc->out, rtp_sess_ssrc(sc->rtp), 0, (uint32_t)rand_u32());
	struct call_observer obs = { .state_changed = call_state_cb,
				     .arg = sc };
	call_set_observer(sc->call, &obs);

	err = sipsess_accept(&sc->sess, ep->sock, msg, 180, "Ringing",
			     "voxgate", "application/sdp", NULL, NULL, NULL,
			     false, sess_offer, sess_answer, sess_estab, NULL,
			     NULL, sess_close, sc,
			     "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, "
			     "REFER, NOTIFY\r\n");
	if (err) {
		LOGW(call_id(sc->call), "sip_accept_failed", "err=%d", err);
		if (err == EBADMSG)
			reply_plain(ep, msg, 400, "Bad Request", NULL);
		else
			reply_plain(ep, msg, 500, "Server Internal Error",
				    NULL);
		mem_deref(sc);
		return;
	}
	sc->phase = ep->next_phase++ % PHASES;
	list_append(&ep->calls[sc->phase], &sc->le, sc);
	ep->active++;
	metric_gauge_set(ep->m_active, ep->active);
	LOGI(call_id(sc->call), "call_incoming",
	     "from=%s to=%s callid=%s codec=%s te_pt=%d transport=%s",
	     log_esc(from), log_esc(to), log_esc(sc->callid),
	     sc->negotiated ? sdpneg_codec_name(sc->neg.codec) : "offer",
	     sc->negotiated ? sc->neg.te_pt : -1, sip_transp_name(msg->tp));

	if (ep->h.call_new && ep->h.call_new(sc->call, ep->arg)) {
		call_signal(sc->call, CALL_EV_ERROR, now_ms());
		return;
	}
	if (ep->cfg.answer_delay_ms)
		tmr_start(&sc->answer_tmr, ep->cfg.answer_delay_ms, do_answer,
			  sc);
	else
		do_answer(sc);
}

/* Requests outside a dialog that are not INVITE. */
static bool on_sip_request(const struct sip_msg *msg, void *arg)
{
	struct sipep *ep = arg;
	if (!pl_strcmp(&msg->met, "OPTIONS")) {
		metric_counter_add(ep->m_options, 1);
		const struct sip_hdr *req = sip_msg_hdr(msg, SIP_HDR_REQUIRE);
		if (req) {
			char val[128], uns[160];
			copy_pl(val, sizeof(val), &req->val);
			re_snprintf(uns, sizeof(uns), "Unsupported: %s\r\n",
				    val);
			reply_plain(ep, msg, 420, "Bad Extension", uns);
			return true;
		}
		(void)sip_treplyf(NULL, NULL, ep->sip, msg, false, 200, "OK",
				  "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, "
				  "REFER, NOTIFY\r\n"
				  "Accept: application/sdp\r\n"
				  "Content-Length: 0\r\n\r\n");
		return true;
	}
	/* Everything the session and event layers handle goes on to them;
	 * any other method (REGISTER, MESSAGE, ...) is answered here, so that
	 * it is logged as an event instead of libre's stderr line. */
	static const char *const ours[] = { "INVITE", "ACK",	"BYE",
					    "CANCEL", "NOTIFY", "REFER",
					    "INFO",   "PRACK",	"UPDATE" };
	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		if (!pl_strcmp(&msg->met, ours[i]))
			return false;
	char met[32], from[128], src[64];
	copy_pl(met, sizeof(met), &msg->met);
	copy_pl(from, sizeof(from), &msg->from.auri);
	re_snprintf(src, sizeof(src), "%J", &msg->src);
	LOGI(NULL, "sip_method_unsupported", "method=%s from=%s src=%s",
	     log_esc(met), log_esc(from), src);
	reply_plain(ep, msg, 501, "Not Implemented",
		    "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REFER, "
		    "NOTIFY\r\n");
	return true;
}

static void shutdown_call(struct sipcall *sc, void *arg)
{
	(void)arg;
	if (!sc->dead && sc->call)
		channel_hangup(call_channel(sc->call), "shutdown");
	release_call(sc);
}

static void sipep_destructor(void *arg)
{
	struct sipep *ep = arg;
	mclock_stop(&ep->clock);
	each_call(ep, shutdown_call, NULL);
	mem_deref(ep->lsnr);
	mem_deref(ep->evsock);
	if (ep->sock)
		sipsess_close_all(ep->sock);
	mem_deref(ep->sock);
	if (ep->sip)
		sip_close(ep->sip, true);
	mem_deref(ep->sip);
	mem_deref(ep->txmb);
}

/* After a stall, catch up at most one frame (every phase once); older
 * ticks are dropped and counted. Returns 0 or an errno (libre style). */
static int start_clock(struct sipep *ep)
{
	return -mclock_start(&ep->clock, TICK_US, PHASES, media_tick,
			     media_batch, ep);
}

int sipep_create(struct sipep **epp, const struct sipep_cfg *cfg,
		 const struct sipep_handlers *h, void *arg)
{
	if (!epp || !cfg || cfg->nlisten == 0 || cfg->nlisten > 8)
		return -EINVAL;
	struct sipep *ep = mem_zalloc(sizeof(*ep), sipep_destructor);
	if (!ep)
		return -ENOMEM;
	ep->cfg = *cfg;
	if (h)
		ep->h = *h;
	ep->arg = arg;
	for (unsigned p = 0; p < PHASES; p++)
		list_init(&ep->calls[p]);
	mclock_init(&ep->clock);
	re_snprintf(ep->user_agent, sizeof(ep->user_agent), "%s",
		    cfg->user_agent ? cfg->user_agent : "voxgate");
	ep->cfg.user_agent = ep->user_agent;

	ep->m_rtp_tx = metrics_counter("voxgate_rtp_packets_sent_total", NULL,
				       "RTP packets sent");
	ep->m_rtp_rx = metrics_counter("voxgate_rtp_packets_received_total",
				       NULL, "RTP packets received");
	ep->m_rtp_bad =
		metrics_counter("voxgate_rtp_packets_invalid_total", NULL,
				"RTP packets dropped as malformed");
	ep->m_rejected_busy = metrics_counter(
		"voxgate_sip_invites_rejected_total", "reason=\"max_calls\"",
		"INVITEs refused before a call was created");
	ep->m_rejected_drain =
		metrics_counter("voxgate_sip_invites_rejected_total",
				"reason=\"draining\"", NULL);
	ep->m_rejected_488 =
		metrics_counter("voxgate_sip_invites_rejected_total",
				"reason=\"no_codec\"", NULL);
	ep->m_options = metrics_counter("voxgate_sip_options_total", NULL,
					"OPTIONS requests answered");
	ep->m_active = metrics_gauge("voxgate_active_calls", NULL,
				     "Calls in progress");
	ep->m_tick_late = metrics_histogram(
		"voxgate_media_tick_lateness_seconds", NULL,
		"How late the media clock woke up against its schedule", NULL,
		0);
	ep->m_ticks_skipped = metrics_counter(
		"voxgate_media_ticks_skipped_total", NULL,
		"Media clock ticks dropped after a stall (bounded catch-up)");
	static const double late_bounds[] = { 0.0002, 0.0005, 0.001,  0.002,
					      0.003,  0.005,  0.0075, 0.01,
					      0.02,   0.05,   0.1 };
	ep->m_send_late = metrics_histogram(
		"voxgate_rtp_send_lateness_seconds", NULL,
		"How late each RTP packet left against its 20 ms schedule",
		late_bounds, sizeof(late_bounds) / sizeof(late_bounds[0]));
	ep->m_tick_cpu = metrics_histogram(
		"voxgate_media_tick_seconds", NULL,
		"Time spent in one media clock tick (all calls)", NULL, 0);

	int err = sa_set_str(&ep->rtp_laddr, cfg->rtp_addr, 0);
	if (err)
		goto out;
	ep->txmb = mbuf_alloc(RTP_HEADER_SIZE + 512);
	if (!ep->txmb) {
		err = ENOMEM;
		goto out;
	}
	err = sip_alloc(&ep->sip, NULL, 256, 256, 256, ep->user_agent, NULL,
			NULL);
	if (err)
		goto out;
	for (unsigned i = 0; i < cfg->nlisten; i++) {
		struct sa laddr;
		err = sa_set_str(&laddr, cfg->listen[i].host,
				 cfg->listen[i].port);
		if (err)
			goto out;
		err = sip_transp_add(ep->sip,
				     cfg->listen[i].transport == SIPEP_TCP
					     ? SIP_TRANSP_TCP
					     : SIP_TRANSP_UDP,
				     &laddr);
		if (err) {
			LOGE(NULL, "sip_listen_failed", "addr=%s:%u err=%d",
			     cfg->listen[i].host, cfg->listen[i].port, err);
			goto out;
		}
	}
	err = sip_listen(&ep->lsnr, ep->sip, true, on_sip_request, ep);
	if (!err)
		err = sipsess_listen(&ep->sock, ep->sip, 1024, sess_conn, ep);
	if (!err)
		err = sipevent_listen(&ep->evsock, ep->sip, 256, 256, NULL,
				      NULL);
	if (err)
		goto out;

	err = start_clock(ep);
	if (err)
		goto out;
out:
	if (err) {
		mem_deref(ep);
		return -err;
	}
	*epp = ep;
	return 0;
}

void sipep_destroy(struct sipep *ep)
{
	mem_deref(ep);
}

void sipep_drain(struct sipep *ep)
{
	ep->draining = true;
}

bool sipep_draining(const struct sipep *ep)
{
	return ep->draining;
}

static void hangup_one(struct sipcall *sc, void *arg)
{
	if (!sc->dead)
		channel_hangup(call_channel(sc->call), arg);
}

void sipep_hangup_all(struct sipep *ep, const char *reason)
{
	each_call(ep, hangup_one, (void *)reason);
}

unsigned sipep_active_calls(const struct sipep *ep)
{
	return ep->active;
}

int sipep_local_port(const struct sipep *ep, enum sipep_transport tp)
{
	struct sa la;
	int err = sip_transp_laddr(
		ep->sip, &la, tp == SIPEP_TCP ? SIP_TRANSP_TCP : SIP_TRANSP_UDP,
		NULL);
	return err ? -err : sa_port(&la);
}
