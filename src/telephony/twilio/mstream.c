/* Twilio Media Streams server (see mstream.h). libre's HTTP server takes the
 * upgrade (signature checked before anything else), libre's websock carries
 * the frames, mstream_msg parses them. One timerfd media clock serves every
 * stream every 20 ms: it pulls the call's next frame and sends it in real
 * time, so Twilio never holds more than the network's worth of our audio
 * (a prompt stopped mid-way is cut by `clear`). Streams are freed only from
 * the media clock, never inside a libre callback. */
#include "telephony/twilio/mstream.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <re.h>

#include "audio/g711.h"
#include "audio/rtpout.h"
#include "call/call.h"
#include "core/clock.h"
#include "core/log.h"
#include "metrics/metrics.h"
#include "telephony/common/mclock.h"
#include "telephony/twilio/mstream_msg.h"
#include "telephony/twilio/twsig.h"

enum {
	FRAME_US = 20000,
	FRAME_SAMPLES = 160,
	OUT_MSG_MAX = 512,
	LOG_BAD_MAX = 8, /* malformed-input log lines per stream */
	/* Bytes libre may hold unsent (the kernel's buffer is full) before
	 * we drop frames: ~12 media messages; queued audio cannot be taken
	 * back, so a reader that stalls must not build up seconds of it. */
	TXQ_MAX = 4096,
};

struct msconn {
	struct le le;
	struct mstream *ms;
	struct websock_conn *wc;
	struct call *call; /* NULL until `start` */
	char sid[MSTREAM_SID_LEN];
	char peer[64];
	uint64_t accepted_ms;
	struct mstream_reorder ro;
	int16_t in[FRAME_SAMPLES]; /* caller audio re-chunked to 20 ms */
	size_t nin;
	uint32_t out_play; /* call_play_id of the audio Twilio holds */
	char mark[MSTREAM_NAME_LEN]; /* the mark we wait for, "" if none */
	uint64_t mark_sent_ms;
	unsigned nmarks;
	unsigned bad_logged;
	bool in_frag;	/* dropping a fragmented message */
	bool answered;	/* the media clock serves it */
	bool close_out; /* send a WebSocket close on release */
	bool peer_gone; /* closed by Twilio or failed */
	bool dead;	/* release on the next clock tick */
	bool gone;	/* call_gone raised */
	uint64_t rx_frames, tx_frames;
};

struct mstream {
	struct mstream_cfg cfg;
	struct mstream_handlers h;
	void *arg;
	struct http_sock *hs;
	struct websock *ws;
	struct mclock clock; /* one media clock for every stream */
	uint16_t port;
	struct list conns;
	unsigned active;
	bool draining;
	struct mstream_stats st;
	struct mstream_msg msg; /* the message being handled */
	struct metric_counter *m_calls, *m_refused, *m_bad, *m_clears;
	struct metric_gauge *m_active;
};

static uint64_t now_ms(void)
{
	return clock_mono_ms();
}

static const char *log_id(const struct msconn *mc)
{
	return mc->call ? call_id(mc->call) : NULL;
}

static void mark_dead(struct msconn *mc)
{
	mc->dead = true;
}

/* ---------- output ---------- */

static bool send_text(struct msconn *mc, const char *buf, int len)
{
	if (mc->peer_gone || !mc->wc || len <= 0)
		return false;
	int err = websock_send(mc->wc, WEBSOCK_TEXT, "%b", buf, (size_t)len);
	if (err) {
		LOGD(log_id(mc), "mstream_send_failed", "err=%d", err);
		mc->peer_gone = true;
		return false;
	}
	return true;
}

static void send_mark(struct msconn *mc, uint64_t now)
{
	char buf[OUT_MSG_MAX];
	snprintf(mc->mark, sizeof(mc->mark), "vg%u", ++mc->nmarks);
	int n = mstream_print_mark(buf, sizeof(buf), mc->sid, mc->mark);
	if (send_text(mc, buf, n)) {
		mc->ms->st.marks_sent++;
		mc->mark_sent_ms = now;
	}
}

static void send_clear(struct msconn *mc)
{
	char buf[OUT_MSG_MAX];
	int n = mstream_print_clear(buf, sizeof(buf), mc->sid);
	if (send_text(mc, buf, n)) {
		mc->ms->st.clears++;
		metric_counter_add(mc->ms->m_clears, 1);
		LOGI(log_id(mc), "mstream_clear", NULL);
	}
}

/* ---------- call ops ---------- */

static int op_answer(void *arg)
{
	struct msconn *mc = arg;
	/* Twilio answered the call before <Connect><Stream>: nothing to
	 * send; the media clock starts serving this stream. */
	mc->answered = true;
	return 0;
}

static int op_hangup(void *arg, enum call_fsm_action act, const char *reason)
{
	struct msconn *mc = arg;
	(void)act;
	LOGD(log_id(mc), "mstream_hangup", "reason=%s", reason ? reason : "");
	/* Closing the WebSocket ends <Connect>: Twilio goes on with the TwiML
	 * after it (or hangs up). The frame this tick still goes out. */
	mc->close_out = true;
	mark_dead(mc);
	return 0;
}

static int op_transfer(void *arg, const char *target,
		       const struct channel_kv *ctx, unsigned nctx)
{
	struct msconn *mc = arg;
	(void)target;
	(void)ctx;
	(void)nctx;
	/* A stream carries audio only; transfers are TwiML's (<Dial> after
	 * <Connect>, the webhook adapter). */
	LOGW(log_id(mc), "mstream_transfer_unsupported", NULL);
	return -ENOTSUP;
}

static const struct call_media_ops ms_media_ops = {
	.answer = op_answer,
	.hangup = op_hangup,
	.transfer = op_transfer,
};

/* ---------- input ---------- */

static void log_bad(struct msconn *mc, const char *what, int err, size_t len)
{
	metric_counter_add(mc->ms->m_bad, 1);
	if (mc->bad_logged++ < LOG_BAD_MAX)
		LOGW(log_id(mc), "mstream_bad_message",
		     "what=%s err=%d len=%zu peer=%s", what, err, len,
		     mc->peer);
}

static void on_chunk(const uint8_t *data, size_t len, void *arg)
{
	struct msconn *mc = arg;
	uint64_t now = now_ms();
	for (size_t i = 0; i < len && !mc->dead; i++) {
		mc->in[mc->nin++] = audio_ulaw_decode(data[i]);
		if (mc->nin == FRAME_SAMPLES) {
			mc->nin = 0;
			mc->rx_frames++;
			mc->ms->st.rx_frames++;
			call_audio_in(mc->call, mc->in, FRAME_SAMPLES, now);
		}
	}
}

static void call_state_cb(struct call *c, enum call_state old, void *arg)
{
	struct msconn *mc = arg;
	if (mc->ms->h.call_state)
		mc->ms->h.call_state(c, (int)old, mc->ms->arg);
}

static void peer_ended(struct msconn *mc, enum call_fsm_event ev,
		       const char *why)
{
	if (mc->call && !mc->dead) {
		LOGI(call_id(mc->call), "mstream_closed", "why=%s", why);
		call_signal(mc->call, ev, now_ms());
	}
	mark_dead(mc);
}

static void on_start(struct msconn *mc, const struct mstream_msg *m)
{
	struct mstream *ms = mc->ms;
	if (mc->call) {
		log_bad(mc, "start_again", -EPROTO, 0);
		return;
	}
	if (strcmp(m->encoding, "audio/x-mulaw") || m->rate_hz != 8000 ||
	    m->channels != 1) {
		LOGW(NULL, "mstream_format_refused",
		     "encoding=%s rate=%u channels=%u stream=%s",
		     log_esc(m->encoding), m->rate_hz, m->channels,
		     m->stream_sid);
		mc->close_out = true;
		mark_dead(mc);
		return;
	}
	snprintf(mc->sid, sizeof(mc->sid), "%s", m->stream_sid);
	const char *from = mstream_msg_param(m, "from");
	const char *to = mstream_msg_param(m, "to");
	struct call_params cp = {
		.platform = "twilio-media",
		.from = from ? from : "",
		.to = to ? to : "",
		.platform_id = m->call_sid[0] ? m->call_sid : m->stream_sid,
		.media_timeout_ms = ms->cfg.media_timeout_ms,
		.now_ms = now_ms(),
	};
	int err = call_create(&mc->call, &cp, &ms_media_ops, mc);
	if (err) {
		LOGW(NULL, "call_rejected", "stream=%s err=%d", mc->sid, err);
		mc->close_out = true;
		mark_dead(mc);
		return;
	}
	const char *flow = mstream_msg_param(m, "flow");
	if (flow && flow[0])
		call_set_flow_name(mc->call, flow);
	call_set_media_info(mc->call, "PCMU", mc->peer);
	call_set_play_ack(mc->call, true);
	struct call_observer obs = { .state_changed = call_state_cb,
				     .arg = mc };
	call_set_observer(mc->call, &obs);
	metric_counter_add(ms->m_calls, 1);
	uint64_t now = now_ms();
	LOGI(call_id(mc->call), "call_incoming",
	     "platform=twilio-media stream=%s call_sid=%s flow=%s peer=%s",
	     mc->sid, m->call_sid, log_esc(flow ? flow : ""), mc->peer);
	if (ms->h.call_new && ms->h.call_new(mc->call, ms->arg)) {
		call_signal(mc->call, CALL_EV_ERROR, now);
		mc->close_out = true;
		mark_dead(mc);
		return;
	}
	err = call_answer(mc->call, now);
	if (!err && !mc->dead)
		call_signal(mc->call, CALL_EV_ACK, now);
	if (err) {
		LOGW(call_id(mc->call), "answer_failed", "err=%d", err);
		mc->close_out = true;
		mark_dead(mc);
	}
}

static void on_mark(struct msconn *mc, const struct mstream_msg *m)
{
	/* Marks cleared by `clear` come back too: only the one we wait for
	 * ends the prompt. */
	if (!mc->call || !mc->mark[0] || strcmp(m->name, mc->mark))
		return;
	mc->ms->st.marks_acked++;
	LOGD(call_id(mc->call), "mstream_mark_played", "mark=%s ms=%llu",
	     mc->mark, (unsigned long long)(now_ms() - mc->mark_sent_ms));
	mc->mark[0] = '\0';
	mc->out_play = 0;
	call_play_ack(mc->call, now_ms());
}

static void on_text(struct msconn *mc, const char *text, size_t len)
{
	struct mstream *ms = mc->ms;
	/* ~6 KB: kept in the server rather than on libre's stack. */
	struct mstream_msg *m = &ms->msg;
	int err = mstream_msg_parse(text, len, m);
	if (err == -ENOMSG) {
		ms->st.unknown_events++;
		if (mc->bad_logged++ < LOG_BAD_MAX)
			LOGW(log_id(mc), "mstream_unknown_event", "event=%s",
			     log_esc(m->event));
		return;
	}
	if (err == -EILSEQ) {
		ms->st.bad_payload++;
		log_bad(mc, "payload_base64", err, len);
		return;
	}
	if (err) {
		ms->st.bad_json++;
		log_bad(mc, err == -EMSGSIZE ? "too_big" : "malformed", err,
			len);
		return;
	}
	if (!mc->call && m->ev != MSTREAM_EV_CONNECTED &&
	    m->ev != MSTREAM_EV_START && m->ev != MSTREAM_EV_STOP) {
		log_bad(mc, "before_start", -EPROTO, len);
		return;
	}
	uint64_t now = now_ms();
	switch (m->ev) {
	case MSTREAM_EV_CONNECTED:
		LOGD(NULL, "mstream_connected", "peer=%s", mc->peer);
		break;
	case MSTREAM_EV_START:
		on_start(mc, m);
		break;
	case MSTREAM_EV_MEDIA:
		if (!m->inbound)
			break;
		(void)mstream_reorder_push(&mc->ro, m->chunk, m->payload,
					   m->payload_len, on_chunk, mc);
		break;
	case MSTREAM_EV_DTMF:
		call_dtmf_in(mc->call, m->digit, now);
		break;
	case MSTREAM_EV_MARK:
		on_mark(mc, m);
		break;
	case MSTREAM_EV_STOP:
		mc->close_out = true;
		peer_ended(mc, CALL_EV_REMOTE_BYE, "stop");
		break;
	default:
		break;
	}
}

static void on_ws_recv(const struct websock_hdr *hdr, struct mbuf *mb,
		       void *arg)
{
	struct msconn *mc = arg;
	struct mstream *ms = mc->ms;
	if (mc->dead)
		return;
	size_t len = mbuf_get_left(mb);
	/* Twilio sends whole text frames; fragments, binary and oversized
	 * frames are dropped (logged), never buffered. */
	if (hdr->opcode == WEBSOCK_CONT || !hdr->fin || mc->in_frag) {
		mc->in_frag = !hdr->fin;
		ms->st.oversized++;
		log_bad(mc, "fragmented", -EMSGSIZE, len);
		return;
	}
	if (hdr->opcode == WEBSOCK_BIN) {
		ms->st.binary_frames++;
		log_bad(mc, "binary", -EPROTO, len);
		return;
	}
	if (len > MSTREAM_TEXT_MAX) {
		ms->st.oversized++;
		log_bad(mc, "oversized", -EMSGSIZE, len);
		return;
	}
	on_text(mc, (const char *)mbuf_buf(mb), len);
}

static void on_ws_close(int err, void *arg)
{
	struct msconn *mc = arg;
	mc->peer_gone = true;
	peer_ended(mc, err ? CALL_EV_ERROR : CALL_EV_REMOTE_BYE,
		   err ? "error" : "closed");
}

/* ---------- upgrade ---------- */

int mstream_signed_url(char *out, size_t cap, const char *public_url,
		       const char *path, const char *query, size_t query_len)
{
	const char *rest;
	const char *scheme;
	if (!out || !public_url || !path)
		return -EINVAL;
	if (!strncmp(public_url, "https://", 8)) {
		scheme = "wss://";
		rest = public_url + 8;
	} else if (!strncmp(public_url, "http://", 7)) {
		scheme = "ws://";
		rest = public_url + 7;
	} else {
		return -EINVAL;
	}
	int n = snprintf(out, cap, "%s%s%s%s%.*s", scheme, rest, path,
			 query_len ? "?" : "", (int)query_len,
			 query ? query : "");
	return n < 0 || (size_t)n >= cap ? -ENOSPC : 0;
}

static bool signature_ok(struct mstream *ms, const struct http_msg *msg)
{
	const struct http_hdr *h = http_msg_xhdr(msg, "X-Twilio-Signature");
	if (!h || !h->val.l || h->val.l > 64)
		return false;
	char sig[65];
	pl_strcpy(&h->val, sig, sizeof(sig));
	char path[512];
	if (msg->path.l >= sizeof(path))
		return false;
	pl_strcpy(&msg->path, path, sizeof(path));
	/* libre keeps the '?' in prm. */
	const char *q = msg->prm.p;
	size_t ql = msg->prm.l;
	if (ql && q[0] == '?') {
		q++;
		ql--;
	}
	char url[1024];
	/* Twilio signs the <Stream url> as given: wss://... Accept the
	 * https:// spelling too (proxies and older helper libraries). */
	if (!mstream_signed_url(url, sizeof(url), ms->cfg.public_url, path, q,
				ql) &&
	    twilio_sig_valid(ms->cfg.auth_token, url, NULL, NULL, 0, sig))
		return true;
	int n = snprintf(url, sizeof(url), "%s%s%s%.*s", ms->cfg.public_url,
			 path, ql ? "?" : "", (int)ql, ql ? q : "");
	return n > 0 && (size_t)n < sizeof(url) &&
	       twilio_sig_valid(ms->cfg.auth_token, url, NULL, NULL, 0, sig);
}

static void msconn_free(struct msconn *mc)
{
	mc->wc = mem_deref(mc->wc);
	call_destroy(mc->call);
	free(mc);
}

static void on_http(struct http_conn *conn, const struct http_msg *msg,
		    void *arg)
{
	struct mstream *ms = arg;
	char peer[64];
	re_snprintf(peer, sizeof(peer), "%J", http_conn_peer(conn));
	if (pl_strcmp(&msg->path, MSTREAM_PATH)) {
		(void)http_ereply(conn, 404, "Not Found");
		return;
	}
	/* The signature first: nothing else happens for a forged upgrade. */
	if (!signature_ok(ms, msg)) {
		ms->st.refused_sig++;
		metric_counter_add(ms->m_refused, 1);
		LOGW(NULL, "mstream_signature_invalid", "peer=%s", peer);
		(void)http_ereply(conn, 403, "Forbidden");
		return;
	}
	if (ms->draining || ms->active >= ms->cfg.max_calls) {
		ms->st.refused_busy++;
		metric_counter_add(ms->m_refused, 1);
		LOGW(NULL, "call_rejected", "platform=twilio-media reason=%s",
		     ms->draining ? "draining" : "max_calls");
		(void)http_ereply(conn, 503, "Service Unavailable");
		return;
	}
	struct msconn *mc = calloc(1, sizeof(*mc));
	if (!mc) {
		(void)http_ereply(conn, 500, "Internal Server Error");
		return;
	}
	mc->ms = ms;
	mc->accepted_ms = now_ms();
	snprintf(mc->peer, sizeof(mc->peer), "%s", peer);
	mstream_reorder_init(&mc->ro);
	int fd = tcp_conn_fd(http_conn_tcp(conn));
	int one = 1;
	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				 sizeof(one));
	int err = websock_accept(&mc->wc, ms->ws, conn, msg, 0, on_ws_recv,
				 on_ws_close, mc);
	if (err) {
		LOGW(NULL, "mstream_upgrade_failed", "peer=%s err=%d", peer,
		     err);
		(void)http_ereply(conn, 400, "Bad Request");
		free(mc);
		return;
	}
	ms->st.upgrades++;
	list_append(&ms->conns, &mc->le, mc);
	ms->active++;
	metric_gauge_set(ms->m_active, ms->active);
}

/* ---------- media clock ---------- */

static void release_conn(struct msconn *mc)
{
	struct mstream *ms = mc->ms;
	if (mc->call) {
		if (call_state(mc->call) != CALL_ENDED)
			call_signal(mc->call, CALL_EV_CLOSED, now_ms());
		call_set_rtp_counts(mc->call, mc->tx_frames, mc->rx_frames);
		if (!mc->gone) {
			mc->gone = true;
			if (ms->h.call_gone)
				ms->h.call_gone(mc->call, ms->arg);
		}
		LOGI(call_id(mc->call), "mstream_released",
		     "rx_frames=%llu tx_frames=%llu late=%llu lost=%llu",
		     (unsigned long long)mc->rx_frames,
		     (unsigned long long)mc->tx_frames,
		     (unsigned long long)mc->ro.late,
		     (unsigned long long)mc->ro.lost);
	}
	ms->st.late_chunks += mc->ro.late;
	ms->st.lost_chunks += mc->ro.lost;
	if (mc->close_out && !mc->peer_gone && mc->wc)
		(void)websock_close(mc->wc, WEBSOCK_NORMAL_CLOSURE, "");
	list_unlink(&mc->le);
	if (ms->active)
		ms->active--;
	metric_gauge_set(ms->m_active, ms->active);
	msconn_free(mc);
}

static void tx_frame(struct msconn *mc, uint64_t now)
{
	struct mstream *ms = mc->ms;
	int16_t pcm[FRAME_SAMPLES];
	bool audio = call_tick(mc->call, now, pcm);
	for (char d; (d = call_dtmf_out_next(mc->call));)
		LOGW(call_id(mc->call), "mstream_dtmf_unsupported", "digit=%c",
		     d);
	if (mc->peer_gone)
		return;
	uint32_t play = call_play_id(mc->call);
	/* The prompt Twilio still holds audio of was stopped (barge-in,
	 * stop, or replaced): drop what is queued there. */
	if (mc->out_play && play != mc->out_play) {
		send_clear(mc);
		mc->out_play = 0;
		mc->mark[0] = '\0';
	}
	if (audio && tcp_conn_txqsz(websock_tcp(mc->wc)) > TXQ_MAX) {
		ms->st.tx_dropped++;
		audio = false;
	}
	if (audio) {
		uint8_t ulaw[FRAME_SAMPLES];
		audio_ulaw_encode_buf(pcm, ulaw, FRAME_SAMPLES);
		char buf[OUT_MSG_MAX];
		int n = mstream_print_media(buf, sizeof(buf), mc->sid, ulaw,
					    FRAME_SAMPLES);
		if (send_text(mc, buf, n)) {
			mc->tx_frames++;
			ms->st.tx_frames++;
			mc->out_play = play;
		}
	}
	if (!mc->mark[0] && call_play_ack_due(mc->call)) {
		if (mc->out_play == play)
			send_mark(mc, now);
		else /* none of it reached Twilio: nothing to wait for */
			call_play_ack(mc->call, now);
	}
	if (mc->mark[0] && now - mc->mark_sent_ms >= ms->cfg.mark_timeout_ms) {
		ms->st.mark_timeouts++;
		LOGW(call_id(mc->call), "mstream_mark_timeout", "mark=%s",
		     mc->mark);
		mc->mark[0] = '\0';
		mc->out_play = 0;
		call_play_ack(mc->call, now);
	}
	if (mc->peer_gone)
		peer_ended(mc, CALL_EV_ERROR, "write_error");
}

static void serve(struct mstream *ms)
{
	uint64_t now = now_ms();
	struct le *le = list_head(&ms->conns);
	while (le) {
		struct msconn *mc = le->data;
		le = le->next;
		if (!mc->dead && !mc->call &&
		    now - mc->accepted_ms >= ms->cfg.start_timeout_ms) {
			LOGW(NULL, "mstream_start_timeout", "peer=%s",
			     mc->peer);
			mc->close_out = true;
			mark_dead(mc);
		}
		if (mc->dead) {
			release_conn(mc);
			continue;
		}
		if (mc->answered)
			tx_frame(mc, now);
	}
}

static void media_tick(uint64_t deadline_us, void *arg)
{
	(void)deadline_us;
	serve(arg);
}

/* After a stall catch up one frame at most: Twilio plays in real time, a
 * burst would only sit in its queue. */
static int start_clock(struct mstream *ms)
{
	return mclock_start(&ms->clock, FRAME_US, 2, media_tick, NULL, ms);
}

/* ---------- life ---------- */

int mstream_create(struct mstream **msp, const struct mstream_cfg *cfg,
		   const struct mstream_handlers *h, void *arg)
{
	if (!msp || !cfg || !cfg->auth_token[0] || !cfg->public_url[0])
		return -EINVAL;
	struct sa laddr;
	if (sa_set_str(&laddr, cfg->host, cfg->port))
		return -EINVAL;
	struct mstream *ms = calloc(1, sizeof(*ms));
	if (!ms)
		return -ENOMEM;
	ms->cfg = *cfg;
	if (!ms->cfg.start_timeout_ms)
		ms->cfg.start_timeout_ms = 5000;
	if (!ms->cfg.mark_timeout_ms)
		ms->cfg.mark_timeout_ms = 3000;
	if (!ms->cfg.max_calls)
		ms->cfg.max_calls = 1000;
	if (h)
		ms->h = *h;
	ms->arg = arg;
	mclock_init(&ms->clock);
	list_init(&ms->conns);
	ms->m_calls = metrics_counter("voxgate_twilio_media_calls_total", NULL,
				      "Twilio Media Streams started");
	ms->m_refused = metrics_counter(
		"voxgate_twilio_media_refused_total", NULL,
		"Media Streams upgrades refused (signature, drain, max_calls)");
	ms->m_bad =
		metrics_counter("voxgate_twilio_media_bad_messages_total", NULL,
				"Malformed, binary, oversized or unknown "
				"Media Streams messages");
	ms->m_clears =
		metrics_counter("voxgate_twilio_media_clears_total", NULL,
				"clear messages sent (prompt stopped)");
	ms->m_active = metrics_gauge("voxgate_twilio_media_active", NULL,
				     "Media Streams open");
	int err = websock_alloc(&ms->ws, NULL, NULL);
	if (!err)
		err = http_listen(&ms->hs, &laddr, on_http, ms);
	if (!err)
		err = tcp_sock_listen(http_sock_tcp(ms->hs), 1024);
	if (err) {
		mstream_destroy(ms);
		return -err;
	}
	struct sa bound;
	if (!tcp_sock_local_get(http_sock_tcp(ms->hs), &bound))
		ms->port = sa_port(&bound);
	err = start_clock(ms);
	if (err) {
		mstream_destroy(ms);
		return err;
	}
	LOGI(NULL, "twilio_media_listening", "addr=%s:%u path=%s", ms->cfg.host,
	     ms->port, MSTREAM_PATH);
	*msp = ms;
	return 0;
}

void mstream_hangup_all(struct mstream *ms, const char *reason)
{
	if (!ms)
		return;
	struct le *le = list_head(&ms->conns);
	while (le) {
		struct msconn *mc = le->data;
		le = le->next;
		if (mc->dead)
			continue;
		if (mc->call) {
			(void)channel_hangup(call_channel(mc->call), reason);
		} else {
			mc->close_out = true;
			mark_dead(mc);
		}
	}
}

void mstream_destroy(struct mstream *ms)
{
	if (!ms)
		return;
	mstream_hangup_all(ms, "shutdown");
	while (list_head(&ms->conns))
		release_conn(list_head(&ms->conns)->data);
	mclock_stop(&ms->clock);
	ms->hs = mem_deref(ms->hs);
	ms->ws = mem_deref(ms->ws);
	memset(ms->cfg.auth_token, 0, sizeof(ms->cfg.auth_token));
	free(ms);
}

void mstream_drain(struct mstream *ms)
{
	if (ms)
		ms->draining = true;
}

unsigned mstream_active_calls(const struct mstream *ms)
{
	return ms ? ms->active : 0;
}

uint16_t mstream_local_port(const struct mstream *ms)
{
	return ms ? ms->port : 0;
}

void mstream_get_stats(const struct mstream *ms, struct mstream_stats *st)
{
	if (ms && st)
		*st = ms->st;
}
