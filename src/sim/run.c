/* The simulated callers of `voxgate simulate`: a SIP UAC on libre (INVITE
 * with an SDP offer of PCMU, PCMA and telephone-event; ACK; BYE; REFER as
 * the transfer outcome) and RTP paced from one absolute 20 ms clock for
 * every call on one loop. What the caller hears is timed on arrival with
 * the energy detector (sim/detect.h). */
#include "sim/sim_int.h"

#include "audio/clip.h"
#include "audio/g711.h"
#include "audio/rfc4733.h"
#include "audio/rtpout.h"
#include "core/clock.h"
#include "sim/detect.h"

#include <re.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define TICK_US 20000u
#define DTMF_KEY_MS 100u
#define DTMF_GAP_TICKS 3u
#define RTP_PORT_MIN 20000
#define RTP_PORT_MAX 59999
#define PT_TE 101
#define BYE_WAIT_US 3000000u /* after a transfer: the server's BYE */

enum phase {
	PH_INVITING,
	PH_WAIT,    /* waiting for the bot's prompt to end (or barge-in) */
	PH_SPEAK,   /* sending the turn's audio */
	PH_DTMF,    /* sending the turn's keys */
	PH_SILENCE, /* a silence turn */
	PH_REPLY,   /* waiting for the first reply audio */
	PH_END,	    /* turns done: wait for the server, then hang up */
	PH_CLOSED,
};

struct sim_loop;

struct sim_call {
	struct le le;
	struct sim_loop *lp;
	struct sim_call_result *res;
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
	enum phase ph;
	size_t turn;
	uint64_t t_invite, t_start, t_phase;
	/* what the caller hears */
	struct sim_detect det;
	bool heard;	     /* voice heard since the turn was armed */
	uint64_t prompt_on;  /* first voice since armed */
	uint64_t last_voice; /* arrival of the last voiced frame */
	/* what the caller says */
	const struct audio_clip *clip;
	size_t pos, eos;
	uint64_t speak_on, eos_us;
	uint64_t early_on; /* bot voice that started while the caller spoke */
	struct rfc4733_tx dtmf;
	size_t dtmf_i;
	unsigned dtmf_gap;
	uint64_t noise;
	uint64_t refer_at;
	bool closing;
};

struct sim_loop {
	const struct sim_opts *o;
	const struct sim_scenario *sc;
	const struct sim_audio *audio;
	struct sim_call_result *res;
	struct sip *sip;
	struct sipsess_sock *sock;
	struct sipevent_sock *evsock;
	struct sa laddr;
	struct list calls;
	struct tmr tmr;
	struct pacer pacer;
	struct mbuf *txmb;
	uint64_t t0;
	unsigned started, active, done, failed;
	uint64_t last_progress;
	bool tty;
	int err;
};

static uint64_t now_us(void)
{
	return clock_mono_us();
}

/* Time from t to now; 0 while t is still ahead (an end of speech is set
 * at the end of the frame being sent, a packet may arrive after the tick
 * took its time). */
static uint64_t since(uint64_t now, uint64_t t)
{
	return now > t ? now - t : 0;
}

static void set_fail(struct sim_call *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_fail(struct sim_call *c, const char *fmt, ...)
{
	if (c->res->failed)
		return;
	c->res->failed = true;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->res->reason, sizeof(c->res->reason), fmt, ap);
	va_end(ap);
}

static void call_destructor(void *arg)
{
	struct sim_call *c = arg;
	list_unlink(&c->le);
	c->not = mem_deref(c->not );
	c->sess = mem_deref(c->sess);
	c->rtp = mem_deref(c->rtp);
	c->sdp = mem_deref(c->sdp);
}

/* End the call (BYE if it is still up); freed on the next tick. */
static void call_close(struct sim_call *c, bool send_bye)
{
	if (c->ph == PH_CLOSED)
		return;
	if (c->ph != PH_INVITING && send_bye && c->sess)
		c->res->caller_bye = true;
	if (c->ph == PH_INVITING && !c->res->failed)
		set_fail(c, "hung up before the answer");
	c->ph = PH_CLOSED;
	c->closing = true;
	c->res->duration_ms = (double)(now_us() - c->t_invite) / 1000.0;
	/* The session (and a REFER's notifier) is freed by the destructor on
	 * the next tick, never inside its own callback; a session the peer
	 * already ended sends no BYE when freed. */
}

static void arm_turn(struct sim_call *c, size_t turn, uint64_t now,
		     uint64_t prompt_on)
{
	c->turn = turn;
	c->t_phase = now;
	c->heard = prompt_on != 0;
	c->prompt_on = prompt_on;
	if (turn >= c->lp->sc->nturns) {
		c->ph = PH_END;
		return;
	}
	c->ph = PH_WAIT;
	c->res->turns[turn].variant = -1;
	c->res->turns[turn].barge_stop_ms = -1;
	if (c->res->nturns < turn + 1)
		c->res->nturns = turn + 1;
}

static bool reply_expected(const struct sim_call *c)
{
	const struct sim_turn *t = &c->lp->sc->turns[c->turn];
	if (t->expect.reply >= 0)
		return t->expect.reply == 1;
	return t->kind != SIM_TURN_SILENCE;
}

static void start_reply_wait(struct sim_call *c, uint64_t now)
{
	if (c->ph == PH_SPEAK && c->res->turns[c->turn].overlap) {
		arm_turn(c, c->turn + 1, now, c->early_on);
		return;
	}
	c->eos_us = now;
	c->t_phase = now;
	c->ph = PH_REPLY;
	c->clip = NULL;
}

static void start_turn(struct sim_call *c, uint64_t now)
{
	const struct sim_scenario *sc = c->lp->sc;
	const struct sim_turn *t = &sc->turns[c->turn];
	struct sim_turn_result *tr = &c->res->turns[c->turn];
	tr->ran = true;
	tr->barged = c->det.voiced;
	c->speak_on = now;
	c->early_on = 0;
	c->t_phase = now;
	switch (t->kind) {
	case SIM_TURN_SAY:
	case SIM_TURN_WAV: {
		size_t v = 0;
		if (t->kind == SIM_TURN_SAY) {
			const char *txt =
				sim_scenario_text(sc, c->turn, c->res->idx);
			for (v = 0; v < t->ntexts && t->texts[v] != txt; v++)
				;
			if (v >= t->ntexts)
				v = 0;
		}
		tr->variant = (int)v;
		c->clip = c->lp->audio->clips[c->turn][v];
		c->eos = c->lp->audio->eos_samples[c->turn][v];
		c->pos = 0;
		c->ph = PH_SPEAK;
		break;
	}
	case SIM_TURN_DTMF:
		c->dtmf_i = 0;
		c->dtmf_gap = 0;
		c->eos_us = 0;
		rfc4733_tx_init(&c->dtmf);
		c->ph = PH_DTMF;
		if (c->te_pt < 0) {
			set_fail(c,
				 "turn %zu: the server offered no "
				 "telephone-event",
				 c->turn + 1);
			call_close(c, true);
		}
		break;
	case SIM_TURN_SILENCE:
		c->ph = PH_SILENCE;
		break;
	}
}

/* Heard voice starts (arrival time t). */
static void on_voice(struct sim_call *c, uint64_t t)
{
	if (!c->heard) {
		c->heard = true;
		c->prompt_on = t;
	}
	if (c->ph == PH_SPEAK && t >= c->speak_on && !c->early_on) {
		/* Bot voice that starts while the caller speaks over a
		 * quiet line: the server ended the caller's speech early
		 * and replied. Heard while still talking: latency 0. */
		struct sim_turn_result *tr = &c->res->turns[c->turn];
		c->early_on = t;
		if (!tr->barged) {
			tr->overlap = true;
			tr->replied = true;
			tr->latency_ms = 0;
		}
	}
	if (c->ph == PH_DTMF && c->eos_us && t >= c->eos_us &&
	    !c->res->turns[c->turn].replied) {
		/* the server acts on the last key's first packet: keep
		 * sending the key to its end, then go on */
		struct sim_turn_result *tr = &c->res->turns[c->turn];
		tr->replied = true;
		tr->latency_ms = (double)(t - c->eos_us) / 1000.0;
		c->early_on = t;
	}
	if (c->ph == PH_REPLY && t >= c->eos_us) {
		struct sim_turn_result *tr = &c->res->turns[c->turn];
		tr->replied = true;
		tr->latency_ms = (double)(t - c->eos_us) / 1000.0;
		arm_turn(c, c->turn + 1, t, t);
	}
}

/* Heard voice stopped: the last voiced frame arrived at last. */
static void on_quiet(struct sim_call *c, uint64_t last)
{
	if (c->ph == PH_CLOSED || c->ph == PH_INVITING || c->ph == PH_WAIT ||
	    c->ph == PH_END)
		return;
	struct sim_turn_result *tr = &c->res->turns[c->turn];
	if (tr->ran && tr->barged && tr->barge_stop_ms < 0 &&
	    last + TICK_US >= c->speak_on)
		tr->barge_stop_ms =
			(double)(last + TICK_US - c->speak_on) / 1000.0;
}

static void rtp_recv_handler(const struct sa *src, const struct rtp_header *hdr,
			     struct mbuf *mb, void *arg)
{
	struct sim_call *c = arg;
	(void)src;
	c->res->rtp_rx++;
	if (c->ph == PH_CLOSED || (hdr->pt != 0 && hdr->pt != 8))
		return;
	size_t n = mbuf_get_left(mb);
	if (n > AUDIO_FRAME_SAMPLES * 4)
		n = AUDIO_FRAME_SAMPLES * 4;
	int16_t pcm[AUDIO_FRAME_SAMPLES * 4];
	if (hdr->pt == 0)
		audio_ulaw_decode_buf(mbuf_buf(mb), pcm, n);
	else
		audio_alaw_decode_buf(mbuf_buf(mb), pcm, n);
	uint64_t t = now_us();
	uint64_t loud_before = c->det.last_voice;
	enum sim_edge e = sim_detect_feed(&c->det, pcm, n);
	if (c->det.last_voice != loud_before)
		c->last_voice = t; /* this frame was voiced */
	if (e == SIM_EDGE_ON)
		on_voice(c, t);
	else if (e == SIM_EDGE_OFF)
		on_quiet(c, c->last_voice);
}

/* ---------- SDP ---------- */

static int apply_answer(struct sim_call *c, struct mbuf *mb)
{
	int err = sdp_decode(c->sdp, mb, false);
	if (err)
		return err;
	const struct sdp_format *f = sdp_media_rformat(c->sdpm, NULL);
	if (!f || (f->pt != 0 && f->pt != 8))
		return EPROTO;
	c->pt = f->pt;
	const struct sdp_format *te =
		sdp_media_rformat(c->sdpm, "telephone-event");
	c->te_pt = te ? te->pt : -1;
	c->raddr = *sdp_media_raddr(c->sdpm);
	c->media = sa_isset(&c->raddr, SA_ALL);
	return c->media ? 0 : EPROTO;
}

static int offer_handler(struct mbuf **descp, const struct sip_msg *msg,
			 void *arg)
{
	struct sim_call *c = arg;
	if (msg->mb && mbuf_get_left(msg->mb)) {
		int err = sdp_decode(c->sdp, msg->mb, true);
		if (err)
			return err;
		const struct sdp_format *f = sdp_media_rformat(c->sdpm, NULL);
		if (f && (f->pt == 0 || f->pt == 8))
			c->pt = f->pt;
		const struct sa *ra = sdp_media_raddr(c->sdpm);
		if (sa_isset(ra, SA_ALL)) {
			c->raddr = *ra;
			c->media = true;
		}
	}
	return sdp_encode(descp, c->sdp, !(msg->mb && mbuf_get_left(msg->mb)));
}

static int answer_handler(const struct sip_msg *msg, void *arg)
{
	struct sim_call *c = arg;
	return apply_answer(c, msg->mb);
}

static void progress_handler(const struct sip_msg *msg, void *arg)
{
	struct sim_call *c = arg;
	if (msg->mb && mbuf_get_left(msg->mb) && !c->media)
		(void)apply_answer(c, msg->mb);
}

static void estab_handler(const struct sip_msg *msg, void *arg)
{
	struct sim_call *c = arg;
	(void)msg;
	uint64_t t = now_us();
	c->res->answered = true;
	c->res->setup_ms = (double)(t - c->t_invite) / 1000.0;
	if (!c->media) {
		set_fail(c, "answered without usable media");
		call_close(c, true);
		return;
	}
	arm_turn(c, 0, t, 0);
}

static void close_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct sim_call *c = arg;
	if (err == ECONNRESET) {
		c->res->server_bye = true;
		if (c->ph == PH_INVITING)
			set_fail(c, "reset before the answer");
		else if (c->ph != PH_END)
			set_fail(c, "the server hung up during turn %zu",
				 c->turn + 1);
	} else if (msg && msg->scode >= 300) {
		c->res->sip_status = msg->scode;
		set_fail(c, "INVITE rejected: %u %.*s", msg->scode,
			 (int)msg->reason.l, msg->reason.p);
	} else if (err) {
		set_fail(c, "SIP error: %s", strerror(err));
	}
	call_close(c, false);
}

static void not_close_handler(int err, const struct sip_msg *msg, void *arg)
{
	/* the subscription ended; c->not is freed with the call */
	(void)err;
	(void)msg;
	(void)arg;
}

static void refer_handler(struct sip *sip, const struct sip_msg *msg, void *arg)
{
	struct sim_call *c = arg;
	const struct sip_hdr *hdr = sip_msg_hdr(msg, SIP_HDR_REFER_TO);
	if (!hdr || c->not ) {
		(void)sip_treply(NULL, sip, msg, hdr ? 491 : 400,
				 hdr ? "Request Pending" : "No Refer-To");
		return;
	}
	re_snprintf(c->res->refer_to, sizeof(c->res->refer_to), "%r",
		    &hdr->val);
	struct sipevent_event se;
	memset(&se, 0, sizeof(se));
	pl_set_str(&se.event, "refer");
	int err = sipevent_accept(&c->not, c->lp->evsock, msg,
				  sipsess_dialog(c->sess), &se, 202, "Accepted",
				  60, 60, 60, "sim", "message/sipfrag", NULL,
				  NULL, false, not_close_handler, c, NULL);
	if (err) {
		(void)sip_treply(NULL, sip, msg, 500, "Server Error");
		return;
	}
	/* The simulated caller "is" the transferee: the transfer
	 * succeeded at once. */
	struct mbuf *mb = NULL;
	(void)sipevent_notifyf(c->not, &mb, SIPEVENT_TERMINATED,
			       SIPEVENT_NORESOURCE, 0, "SIP/2.0 200 OK\r\n");
	mem_deref(mb);
	c->refer_at = now_us();
	c->ph = PH_END;
	c->t_phase = c->refer_at;
}

/* ---------- starting calls ---------- */

static int call_start(struct sim_loop *lp, struct sim_call_result *res)
{
	struct sim_call *c = mem_zalloc(sizeof(*c), call_destructor);
	if (!c)
		return ENOMEM;
	c->lp = lp;
	c->res = res;
	c->te_pt = -1;
	c->ph = PH_INVITING;
	c->noise = 0x9e3779b97f4a7c15ull ^ (res->idx + 1);
	sim_detect_init(&c->det, 0, 0);
	list_append(&lp->calls, &c->le, c);
	struct mbuf *desc = NULL;
	int err = rtp_listen(&c->rtp, IPPROTO_UDP, &lp->laddr, RTP_PORT_MIN,
			     RTP_PORT_MAX, false, rtp_recv_handler, NULL, c);
	if (!err)
		err = sdp_session_alloc(&c->sdp, &lp->laddr);
	if (!err)
		err = sdp_media_add(&c->sdpm, c->sdp, "audio",
				    sa_port(rtp_local(c->rtp)), "RTP/AVP");
	if (!err)
		err = sdp_format_add(NULL, c->sdpm, false, "0", "PCMU", 8000, 1,
				     NULL, NULL, NULL, false, NULL);
	if (!err)
		err = sdp_format_add(NULL, c->sdpm, false, "8", "PCMA", 8000, 1,
				     NULL, NULL, NULL, false, NULL);
	if (!err)
		err = sdp_format_add(NULL, c->sdpm, false, "101",
				     "telephone-event", 8000, 1, NULL, NULL,
				     NULL, false, "0-15");
	if (!err)
		err = sdp_encode(&desc, c->sdp, true);
	char from[SIM_NAME_MAX + 64];
	re_snprintf(from, sizeof(from), "sip:%s@%j", lp->sc->from, &lp->laddr);
	c->t_invite = now_us();
	if (!err)
		err = sipsess_connect(&c->sess, lp->sock, lp->sc->target, NULL,
				      from, "sim", NULL, 0, "application/sdp",
				      desc, NULL, NULL, false, offer_handler,
				      answer_handler, progress_handler,
				      estab_handler, NULL, refer_handler,
				      close_handler, c, NULL);
	mem_deref(desc);
	if (err) {
		set_fail(c, "cannot start the call: %s", strerror(err));
		call_close(c, false);
		return 0;
	}
	const struct sip_dialog *dlg = sipsess_dialog(c->sess);
	if (dlg)
		snprintf(res->sip_call_id, sizeof(res->sip_call_id), "%s",
			 sip_dialog_callid(dlg));
	return 0;
}

/* ---------- the 20 ms tick ---------- */

static int16_t noise_sample(struct sim_call *c, double amp)
{
	/* xorshift64, sum of two uniforms: cheap, deterministic. */
	double s = 0;
	for (int i = 0; i < 2; i++) {
		c->noise ^= c->noise << 13;
		c->noise ^= c->noise >> 7;
		c->noise ^= c->noise << 17;
		s += (double)(c->noise >> 11) / 9007199254740992.0 - 0.5;
	}
	/* variance of the sum is 1/6: scale to RMS amp */
	return (int16_t)lrint(s * amp * 2.449489742783178);
}

static void send_frame(struct sim_call *c, const int16_t *pcm, bool voiced)
{
	struct mbuf *mb = c->lp->txmb;
	mb->pos = RTP_HEADER_SIZE;
	mb->end = RTP_HEADER_SIZE;
	uint8_t *dst = mb->buf + RTP_HEADER_SIZE;
	if (c->pt == 8)
		audio_alaw_encode_buf(pcm, dst, AUDIO_FRAME_SAMPLES);
	else
		audio_ulaw_encode_buf(pcm, dst, AUDIO_FRAME_SAMPLES);
	mb->end = RTP_HEADER_SIZE + AUDIO_FRAME_SAMPLES;
	if (!rtp_send(c->rtp, &c->raddr, false, voiced && !c->talking,
		      (uint8_t)c->pt, c->ts, mb))
		c->res->rtp_tx++;
	c->talking = voiced;
	c->ts += AUDIO_FRAME_SAMPLES;
}

static void send_dtmf(struct sim_call *c, uint64_t now)
{
	const struct sim_turn *t = &c->lp->sc->turns[c->turn];
	if (!c->dtmf.active) {
		if (c->dtmf_gap) {
			c->dtmf_gap--;
			c->ts += AUDIO_FRAME_SAMPLES;
			return;
		}
		if (!t->dtmf[c->dtmf_i]) {
			if (c->res->turns[c->turn].replied) {
				arm_turn(c, c->turn + 1, now, c->early_on);
				return;
			}
			uint64_t eos = c->eos_us;
			start_reply_wait(c, now);
			c->eos_us = eos;
			return;
		}
		(void)rfc4733_tx_start(&c->dtmf, t->dtmf[c->dtmf_i++],
				       DTMF_KEY_MS, c->ts);
		/* DTMF-to-prompt latency counts from the last key's start */
		if (!t->dtmf[c->dtmf_i])
			c->eos_us = now;
	}
	uint8_t ev[RFC4733_EVENT_LEN];
	bool marker = false, done = false;
	uint32_t ts = 0;
	if (rfc4733_tx_next(&c->dtmf, ev, &marker, &ts, &done))
		return;
	c->ts += AUDIO_FRAME_SAMPLES;
	if (done) {
		c->dtmf.active = false;
		c->dtmf_gap = DTMF_GAP_TICKS;
	}
	struct mbuf *mb = c->lp->txmb;
	mb->pos = RTP_HEADER_SIZE;
	mb->end = RTP_HEADER_SIZE;
	(void)mbuf_write_mem(mb, ev, sizeof(ev));
	mb->pos = RTP_HEADER_SIZE;
	if (!rtp_send(c->rtp, &c->raddr, false, marker, (uint8_t)c->te_pt, ts,
		      mb))
		c->res->rtp_tx++;
}

static void call_tick(struct sim_call *c, uint64_t now)
{
	const struct sim_scenario *sc = c->lp->sc;
	if (c->ph == PH_CLOSED || c->ph == PH_INVITING)
		return;
	if (since(now, c->t_invite) > (uint64_t)sc->max_duration_ms * 1000) {
		set_fail(c, "still up after max_duration (%u ms)",
			 sc->max_duration_ms);
		call_close(c, true);
		return;
	}
	int16_t pcm[AUDIO_FRAME_SAMPLES];
	memset(pcm, 0, sizeof(pcm));
	bool voiced = false;
	const struct sim_turn *t =
		c->turn < sc->nturns ? &sc->turns[c->turn] : NULL;
	if (!t)
		c->ph = PH_END; /* arm_turn() guarantees this already */
	switch (c->ph) {
	case PH_WAIT: {
		bool go;
		if (t->barge_in_ms >= 0)
			go = c->heard &&
			     now >= c->prompt_on +
					     (uint64_t)t->barge_in_ms * 1000;
		else
			go = c->heard && !c->det.voiced &&
			     now >= c->last_voice +
					     (uint64_t)sc->quiet_ms * 1000;
		/* a bot that says nothing: go on after reply_timeout */
		if (!c->heard && since(now, c->t_phase) >=
					 (uint64_t)sc->reply_timeout_ms * 1000)
			go = true;
		if (go)
			start_turn(c, now);
		break;
	}
	case PH_REPLY:
		if (since(now, c->eos_us) >=
		    (uint64_t)sc->reply_timeout_ms * 1000) {
			if (reply_expected(c))
				set_fail(c, "turn %zu: no reply within %u ms",
					 c->turn + 1, sc->reply_timeout_ms);
			arm_turn(c, c->turn + 1, now, 0);
		}
		break;
	case PH_SILENCE:
		if (since(now, c->t_phase) >= (uint64_t)t->silence_ms * 1000) {
			if (reply_expected(c))
				start_reply_wait(c, now);
			else
				arm_turn(c, c->turn + 1, now, 0);
		}
		break;
	case PH_END: {
		uint64_t quiet_since =
			c->last_voice > c->t_phase ? c->last_voice : c->t_phase;
		if (c->refer_at && since(now, c->refer_at) >= BYE_WAIT_US) {
			call_close(c, true);
			return;
		}
		if (!c->refer_at && !c->det.voiced &&
		    since(now, quiet_since) >=
			    (uint64_t)sc->end_silence_ms * 1000) {
			call_close(c, true);
			return;
		}
		break;
	}
	default:
		break;
	}
	if (c->ph == PH_CLOSED)
		return;
	if (c->ph == PH_DTMF) {
		send_dtmf(c, now);
		return;
	}
	if (c->ph == PH_SPEAK) {
		size_t n = c->clip->nsamples;
		for (size_t i = 0; i < AUDIO_FRAME_SAMPLES && c->pos + i < n;
		     i++)
			pcm[i] = c->clip->samples[c->pos + i];
		voiced = true;
		c->pos += AUDIO_FRAME_SAMPLES;
		if (c->pos >= c->eos || c->pos >= n) {
			/* the end of this frame is the end of speech */
			start_reply_wait(c, now + TICK_US);
		}
	}
	if (sc->noise) {
		double amp = 32768.0 * pow(10.0, sc->noise_db / 20.0);
		for (size_t i = 0; i < AUDIO_FRAME_SAMPLES; i++) {
			int v = pcm[i] + noise_sample(c, amp);
			pcm[i] = (int16_t)(v > 32767
						   ? 32767
						   : (v < -32768 ? -32768 : v));
		}
	}
	send_frame(c, pcm, voiced);
}

static double p95_so_far(struct sim_loop *lp, size_t upto)
{
	static double v[4096];
	size_t n = 0;
	for (size_t i = 0; i < upto && n < 4096; i++)
		for (size_t j = 0; j < lp->res[i].nturns && n < 4096; j++)
			if (lp->res[i].turns[j].replied)
				v[n++] = lp->res[i].turns[j].latency_ms;
	return sim_percentile(v, n, 95);
}

static void progress(struct sim_loop *lp, uint64_t now, bool last)
{
	if (lp->o->quiet || (!lp->tty && !lp->o->progress))
		return;
	if (!last && now - lp->last_progress < 1000000)
		return;
	lp->last_progress = now;
	fprintf(stderr,
		"%s%6.1fs calls active=%u done=%u failed=%u p95=%.0fms%s",
		lp->tty ? "\r" : "", (double)(now - lp->t0) / 1e6, lp->active,
		lp->done, lp->failed, p95_so_far(lp, lp->started),
		lp->tty && !last ? "   " : "\n");
	fflush(stderr);
}

static void tick_handler(void *arg);

static void schedule(struct sim_loop *lp)
{
	uint64_t next = pacer_next_deadline_us(&lp->pacer), now = now_us();
	uint64_t wait = next > now ? (next - now + 999) / 1000 : 0;
	tmr_start(&lp->tmr, wait, tick_handler, lp);
}

static void tick_handler(void *arg)
{
	struct sim_loop *lp = arg;
	uint64_t now = now_us();
	unsigned due = pacer_due(&lp->pacer, now);
	if (!due) {
		schedule(lp);
		return;
	}
	/* start calls: bounded by count, concurrency, rate and duration */
	const struct sim_opts *o = lp->o;
	double el = (double)(now - lp->t0) / 1e6;
	bool window = !o->duration_ms || el * 1000 < o->duration_ms;
	while (window && lp->started < o->calls &&
	       lp->active < o->concurrency &&
	       (o->rate <= 0 || lp->started < (unsigned)(o->rate * el) + 1)) {
		struct sim_call_result *r = &lp->res[lp->started];
		r->idx = lp->started++;
		lp->active++;
		if (call_start(lp, r)) {
			lp->err = ENOMEM;
			re_cancel();
			return;
		}
	}
	for (unsigned d = 0; d < due; d++) {
		struct le *le = lp->calls.head;
		while (le) {
			struct sim_call *c = le->data;
			le = le->next;
			if (!c->closing)
				call_tick(c, now);
		}
	}
	/* free the calls that ended (never inside their own callbacks) */
	struct le *le = lp->calls.head;
	while (le) {
		struct sim_call *c = le->data;
		le = le->next;
		if (c->closing) {
			lp->active--;
			lp->done++;
			if (c->res->failed)
				lp->failed++;
			mem_deref(c);
		}
	}
	progress(lp, now, false);
	bool over = o->duration_ms &&
		    el * 1000 >= o->duration_ms + lp->sc->max_duration_ms;
	if ((lp->started >= o->calls || !window) && !lp->active) {
		re_cancel();
		return;
	}
	if (over) {
		for (le = lp->calls.head; le; le = le->next) {
			struct sim_call *c = le->data;
			set_fail(c, "cut at the end of --duration");
			call_close(c, true);
		}
	}
	schedule(lp);
}

static void cancel_handler(void *arg)
{
	(void)arg;
	re_cancel();
}

static void signal_handler(int sig)
{
	(void)sig;
	re_cancel();
}

int sim_run(const struct sim_opts *o, const struct sim_scenario *sc,
	    const struct sim_audio *audio, struct sim_call_result *res,
	    size_t *nres)
{
	struct sim_loop lp;
	memset(&lp, 0, sizeof(lp));
	lp.o = o;
	lp.sc = sc;
	lp.audio = audio;
	lp.res = res;
	lp.tty = isatty(STDERR_FILENO);
	list_init(&lp.calls);
	tmr_init(&lp.tmr);
	int err = libre_init();
	if (err)
		return -err;
	(void)fd_setsize(65536);
	/* one RTP socket per call: lift the soft limit on descriptors */
	struct rlimit rl;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max &&
	    rl.rlim_cur < (rlim_t)o->concurrency + 256) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	err = sa_set_str(&lp.laddr, o->bind ? o->bind : "127.0.0.1", 0);
	if (!err)
		err = sip_alloc(&lp.sip, NULL, 64, 64, 64, "voxgate-simulate",
				NULL, NULL);
	if (!err)
		err = sip_transp_add(lp.sip, SIP_TRANSP_UDP, &lp.laddr);
	if (!err)
		err = sipsess_listen(&lp.sock, lp.sip, 1024, NULL, NULL);
	if (!err)
		err = sipevent_listen(&lp.evsock, lp.sip, 64, 64, NULL, NULL);
	lp.txmb = err ? NULL : mbuf_alloc(RTP_HEADER_SIZE + 1024);
	if (!err && !lp.txmb)
		err = ENOMEM;
	if (!err) {
		lp.t0 = now_us();
		pacer_init(&lp.pacer, lp.t0, TICK_US);
		tmr_start(&lp.tmr, 0, tick_handler, &lp);
		err = re_main(signal_handler);
		if (!err)
			err = lp.err;
	}
	/* interrupted (signal): end what is left */
	struct le *le = lp.calls.head;
	while (le) {
		struct sim_call *c = le->data;
		le = le->next;
		if (!c->closing)
			set_fail(c, "interrupted");
		call_close(c, true);
		mem_deref(c);
	}
	progress(&lp, now_us(), true);
	tmr_cancel(&lp.tmr);
	mem_deref(lp.txmb);
	if (lp.sock)
		sipsess_close_all(lp.sock);
	lp.evsock = mem_deref(lp.evsock);
	lp.sock = mem_deref(lp.sock);
	if (lp.sip) {
		sip_close(lp.sip, false);
		/* let the BYEs and their transactions finish, bounded */
		tmr_start(&lp.tmr, 300, cancel_handler, NULL);
		(void)re_main(NULL);
		tmr_cancel(&lp.tmr);
		sip_close(lp.sip, true);
	}
	lp.sip = mem_deref(lp.sip);
	*nres = lp.started;
	libre_close();
	return -err;
}
