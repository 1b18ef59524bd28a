/* Genesys AudioHook server (see audiohook.h). libre's HTTP server takes the
 * upgrade (API key and signature checked before anything is created),
 * libre's websock carries the frames, ahmsg parses and builds the JSON
 * messages, ahmix splits the audio. Sessions are freed only from the
 * housekeeping timer, never inside a libre callback or a hook. */
#include "telephony/genesys/audiohook.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <re.h>

#include <cJSON.h>

#include "audio/g711.h"
#include "core/clock.h"
#include "core/log.h"
#include "metrics/metrics.h"
#include "telephony/genesys/ahmix.h"

enum {
	TICK_MS = 100,
	OUT_MAX = AHMSG_OUT_MAX + 8192, /* one built message */
	BIN_MAX = 64000,		/* binary message: 4 s of L16 stereo */
	LOG_BAD_MAX = 8,
	TXQ_MAX = 65536, /* bytes unsent before we drop our audio */
	HDR_SLOTS = 12,
	HDR_VAL_MAX = 1024,
};

enum sess_state {
	ST_WAIT_OPEN = 0,
	ST_OPEN,
	ST_DISCONNECTING, /* we sent disconnect, waiting for close */
	ST_CLOSED,
};

struct ah_session {
	struct le le;
	struct audiohook *ah;
	struct websock_conn *wc;
	enum audiohook_kind kind;
	enum sess_state state;
	char id[AHMSG_ID_LEN];
	char org[AHMSG_ID_LEN];
	char conversation[AHMSG_ID_LEN];
	char peer[64];
	uint64_t seq;	    /* last server seq sent */
	uint64_t clientseq; /* last client seq handled */
	struct ahmsg_media media;
	struct ahmix mix;
	bool paused;	  /* client said paused (or startPaused) */
	bool pause_asked; /* we sent pause, not yet resumed */
	uint64_t samples; /* per channel, received while not paused */
	uint64_t discarded_ms;
	uint64_t accepted_ms, last_rx_ms, disconnect_ms;
	unsigned bad_logged;
	void *data;
	bool hooked;	/* on_open called: on_close owed */
	bool closed_cb; /* on_close called */
	bool in_frag;	/* dropping a fragmented message */
	bool peer_gone; /* socket closed or failed */
	bool close_out; /* close the socket on release */
	bool dead;	/* release on the next tick */
	char end_reason[32];
};

struct audiohook {
	struct audiohook_cfg cfg;
	struct audiohook_hooks hooks[2];
	void *hook_arg[2];
	bool has_hooks[2];
	struct ahsig *sig;
	struct http_sock *hs;
	struct websock *ws;
	struct tmr tmr;
	uint16_t port;
	struct list sessions;
	unsigned active;
	bool draining;
	struct audiohook_stats st;
	struct ahmsg msg;
	char out[OUT_MAX];
	int16_t ext[BIN_MAX], in[BIN_MAX];
	struct metric_counter *m_sessions, *m_refused, *m_bad, *m_events;
	struct metric_gauge *m_active;
};

static uint64_t now_ms(void)
{
	return clock_mono_ms();
}

static const char *sid(const struct ah_session *s)
{
	return s->id[0] ? s->id : NULL;
}

static void log_bad(struct ah_session *s, const char *what, int err)
{
	s->ah->st.bad_messages++;
	metric_counter_add(s->ah->m_bad, 1);
	if (s->bad_logged++ < LOG_BAD_MAX)
		LOGW(sid(s), "audiohook_bad_message", "what=%s err=%d peer=%s",
		     what, err, s->peer);
}

/* ---------- output ---------- */

static int send_text(struct ah_session *s, const char *buf, int len)
{
	if (len < 0)
		return len;
	if (s->peer_gone || !s->wc)
		return -EPIPE;
	int err = websock_send(s->wc, WEBSOCK_TEXT, "%b", buf, (size_t)len);
	if (err) {
		LOGD(sid(s), "audiohook_send_failed", "err=%d", err);
		s->peer_gone = true;
		return -EPIPE;
	}
	return 0;
}

static struct ahmsg_hdr next_hdr(struct ah_session *s)
{
	struct ahmsg_hdr h = { .id = s->id,
			       .seq = s->seq + 1,
			       .clientseq = s->clientseq };
	return h;
}

/* Send what a builder produced; the seq is used only once it went out. */
static int commit(struct ah_session *s, int n)
{
	int err = send_text(s, s->ah->out, n);
	if (!err)
		s->seq++;
	return err;
}

static int send_simple(struct ah_session *s, const char *type)
{
	struct ahmsg_hdr h = next_hdr(s);
	return commit(s, ahmsg_build_simple(s->ah->out, sizeof(s->ah->out), &h,
					    type));
}

static void send_error(struct ah_session *s, int code, const char *message)
{
	struct ahmsg_hdr h = next_hdr(s);
	s->ah->st.errors_sent++;
	LOGW(sid(s), "audiohook_error_sent", "code=%d message=%s", code,
	     log_esc(message));
	(void)commit(s, ahmsg_build_error(s->ah->out, sizeof(s->ah->out), &h,
					  code, message));
}

static void call_close_hook(struct ah_session *s, const char *reason)
{
	if (!s->hooked || s->closed_cb)
		return;
	s->closed_cb = true;
	struct audiohook *ah = s->ah;
	if (ah->hooks[s->kind].on_close)
		ah->hooks[s->kind].on_close(s, reason, ah->hook_arg[s->kind]);
}

static void end_session(struct ah_session *s, const char *reason)
{
	if (!s->end_reason[0])
		snprintf(s->end_reason, sizeof(s->end_reason), "%s", reason);
	s->state = ST_CLOSED;
	s->close_out = true;
	s->dead = true;
	call_close_hook(s, s->end_reason);
}

static int disconnect(struct ah_session *s, const char *reason,
		      const char *info, const cJSON *vars)
{
	if (s->state == ST_CLOSED || s->state == ST_DISCONNECTING)
		return -EPIPE;
	struct ahmsg_hdr h = next_hdr(s);
	int err =
		commit(s, ahmsg_build_disconnect(s->ah->out, sizeof(s->ah->out),
						 &h, reason, info, vars));
	LOGI(sid(s), "audiohook_disconnect", "reason=%s info=%s err=%d", reason,
	     log_esc(info ? info : ""), err);
	snprintf(s->end_reason, sizeof(s->end_reason), "%s", reason);
	if (err) {
		end_session(s, reason);
		return err;
	}
	s->state = ST_DISCONNECTING;
	s->disconnect_ms = now_ms();
	return 0;
}

/* A protocol violation: error (code) then disconnect reason "error". */
static void fail(struct ah_session *s, int code, const char *message)
{
	send_error(s, code, message);
	if (s->state == ST_WAIT_OPEN) {
		end_session(s, "error");
		return;
	}
	(void)disconnect(s, "error", message, NULL);
}

/* ---------- input ---------- */

static uint64_t position(const struct ah_session *s)
{
	return s->samples / 8 + s->discarded_ms;
}

static void on_open(struct ah_session *s, struct ahmsg *m)
{
	struct audiohook *ah = s->ah;
	if (s->state != ST_WAIT_OPEN) {
		fail(s, 409, "open received twice");
		return;
	}
	int i = ahmsg_media_choose(m);
	if (i < 0) {
		LOGW(sid(s), "audiohook_no_media", "offers=%u usable=%u",
		     m->nmedia_all, m->nmedia);
		fail(s, 415, "no supported media offer (PCMU/L16 8000 Hz)");
		return;
	}
	s->media = m->media[i];
	if (ahmix_init(&s->mix, &s->media)) {
		fail(s, 415, "unsupported media");
		return;
	}
	snprintf(s->org, sizeof(s->org), "%s", m->organization_id);
	snprintf(s->conversation, sizeof(s->conversation), "%s",
		 m->conversation_id);
	bool start_paused = false;
	s->hooked = true;
	const struct audiohook_hooks *h = &ah->hooks[s->kind];
	int err = h->on_open ? h->on_open(s, m, &start_paused,
					  ah->hook_arg[s->kind])
			     : 0;
	if (err) {
		LOGW(sid(s), "audiohook_open_refused", "err=%d", err);
		(void)disconnect(s, "error", "session refused", NULL);
		return;
	}
	struct ahmsg_hdr hd = next_hdr(s);
	err = commit(s, ahmsg_build_opened(ah->out, sizeof(ah->out), &hd,
					   &s->media, start_paused));
	if (err) {
		end_session(s, "error");
		return;
	}
	s->state = ST_OPEN;
	s->paused = start_paused;
	ah->st.opened++;
	metric_counter_add(ah->m_sessions, 1);
	LOGI(sid(s), "audiohook_opened",
	     "kind=%s conversation=%s org=%s format=%s channels=%u first=%s "
	     "peer=%s",
	     s->kind == AUDIOHOOK_BOT ? "bot" : "monitor",
	     log_esc(s->conversation), log_esc(s->org),
	     s->media.format == AHMSG_FMT_L16 ? "L16" : "PCMU",
	     s->media.nchannels, ahmsg_channel_name(s->media.channels[0]),
	     s->peer);
}

static void pass_on(struct ah_session *s, const struct ahmsg *m)
{
	struct audiohook *ah = s->ah;
	if (s->hooked && ah->hooks[s->kind].on_message)
		ah->hooks[s->kind].on_message(s, m, ah->hook_arg[s->kind]);
}

static void on_text(struct ah_session *s, const char *text, size_t len)
{
	struct audiohook *ah = s->ah;
	struct ahmsg *m = &ah->msg;
	int err = ahmsg_parse(text, len, m);
	if (err) {
		log_bad(s, err == -EMSGSIZE ? "too_big" : "malformed", err);
		fail(s, err == -EMSGSIZE ? 413 : 400,
		     err == -EMSGSIZE ? "message too large"
				      : "malformed message");
		return;
	}
	if (strcmp(m->id, s->id)) {
		log_bad(s, "wrong_id", -EPROTO);
		fail(s, 400, "id does not match Audiohook-Session-Id");
		goto out;
	}
	if (m->seq != s->clientseq + 1 || m->serverseq > s->seq) {
		ah->st.seq_errors++;
		LOGW(sid(s), "audiohook_seq_error",
		     "seq=%" PRIu64 " expected=%" PRIu64 " serverseq=%" PRIu64
		     " ours=%" PRIu64,
		     m->seq, s->clientseq + 1, m->serverseq, s->seq);
		fail(s, 409, "seq out of order");
		goto out;
	}
	s->clientseq = m->seq;
	if (s->state == ST_WAIT_OPEN && m->type != AHMSG_OPEN &&
	    m->type != AHMSG_CLOSE && m->type != AHMSG_PING &&
	    m->type != AHMSG_ERROR) {
		fail(s, 400, "expected open");
		goto out;
	}
	switch (m->type) {
	case AHMSG_OPEN:
		on_open(s, m);
		break;
	case AHMSG_PING:
		ah->st.pings++;
		(void)send_simple(s, "pong");
		break;
	case AHMSG_UPDATE:
		(void)send_simple(s, "updated");
		pass_on(s, m);
		break;
	case AHMSG_PAUSED:
		s->paused = true;
		LOGI(sid(s), "audiohook_paused", "position_ms=%" PRIu64,
		     position(s));
		pass_on(s, m);
		break;
	case AHMSG_RESUMED:
		s->paused = false;
		s->pause_asked = false;
		LOGI(sid(s), "audiohook_resumed", "position_ms=%" PRIu64,
		     position(s));
		pass_on(s, m);
		break;
	case AHMSG_DISCARDED:
		/* the client dropped audio: the position moves on by it */
		s->discarded_ms += m->discard_ms;
		LOGI(sid(s), "audiohook_discarded",
		     "start_ms=%" PRIu64 " discarded_ms=%" PRIu64,
		     m->discard_start_ms, m->discard_ms);
		pass_on(s, m);
		break;
	case AHMSG_CLOSE:
		LOGI(sid(s), "audiohook_close", "reason=%s",
		     log_esc(m->reason));
		(void)send_simple(s, "closed");
		s->ah->st.closed++;
		end_session(s, m->reason[0] ? m->reason : "end");
		break;
	case AHMSG_ERROR:
		LOGW(sid(s), "audiohook_client_error", "code=%d message=%s",
		     m->code, log_esc(m->message));
		pass_on(s, m);
		break;
	case AHMSG_DTMF:
	case AHMSG_PLAYBACK_STARTED:
	case AHMSG_PLAYBACK_COMPLETED:
		pass_on(s, m);
		break;
	default:
		log_bad(s, "unknown_type", -ENOMSG);
		send_error(s, 405, "unknown message type");
		break;
	}
out:
	ahmsg_fini(m);
}

static void on_binary(struct ah_session *s, const uint8_t *data, size_t len)
{
	struct audiohook *ah = s->ah;
	if (s->state != ST_OPEN) {
		/* before opened, or after disconnect/close */
		ah->st.audio_refused++;
		if (s->state == ST_WAIT_OPEN)
			fail(s, 400, "audio before opened");
		return;
	}
	if (s->paused || s->pause_asked) {
		/* PCI secure pause: not decoded, not kept, not counted in
		 * the position. */
		ah->st.paused_bytes += len;
		return;
	}
	if (ahmix_max_frames(&s->mix, len) > BIN_MAX) {
		log_bad(s, "audio_too_big", -EMSGSIZE);
		return;
	}
	int n = ahmix_split(&s->mix, data, len, ah->ext, ah->in, BIN_MAX);
	if (n <= 0)
		return;
	uint64_t pos = position(s);
	s->samples += (uint64_t)n;
	ah->st.audio_frames++;
	ah->st.audio_bytes += len;
	bool has_ext = false, has_in = false;
	for (unsigned c = 0; c < s->media.nchannels; c++) {
		has_ext = has_ext || s->media.channels[c] == AHMSG_CH_EXTERNAL;
		has_in = has_in || s->media.channels[c] == AHMSG_CH_INTERNAL;
	}
	const struct audiohook_hooks *h = &ah->hooks[s->kind];
	if (h->on_audio)
		h->on_audio(s, has_ext ? ah->ext : NULL, has_in ? ah->in : NULL,
			    (size_t)n, pos, ah->hook_arg[s->kind]);
}

static void on_ws_recv(const struct websock_hdr *hdr, struct mbuf *mb,
		       void *arg)
{
	struct ah_session *s = arg;
	if (s->dead)
		return;
	s->last_rx_ms = now_ms();
	size_t len = mbuf_get_left(mb);
	if (hdr->opcode == WEBSOCK_CONT || !hdr->fin || s->in_frag) {
		s->in_frag = !hdr->fin;
		log_bad(s, "fragmented", -EMSGSIZE);
		return;
	}
	if (hdr->opcode == WEBSOCK_BIN) {
		on_binary(s, mbuf_buf(mb), len);
		return;
	}
	if (hdr->opcode != WEBSOCK_TEXT)
		return;
	on_text(s, (const char *)mbuf_buf(mb), len);
}

static void on_ws_close(int err, void *arg)
{
	struct ah_session *s = arg;
	s->peer_gone = true;
	if (!s->dead) {
		LOGI(sid(s), "audiohook_socket_closed", "err=%d", err);
		end_session(s, err ? "socket_error" : "socket_closed");
	}
}

/* ---------- upgrade ---------- */

struct hdr_ctx {
	const struct http_msg *msg;
	char val[HDR_SLOTS][HDR_VAL_MAX];
	unsigned n;
};

static const char *hdr_lookup(const char *name, void *arg)
{
	struct hdr_ctx *c = arg;
	if (c->n >= HDR_SLOTS)
		return NULL;
	char *out = c->val[c->n];
	if (!strcmp(name, "@request-target")) {
		if (c->msg->path.l + c->msg->prm.l >= HDR_VAL_MAX)
			return NULL;
		re_snprintf(out, HDR_VAL_MAX, "%r%r", &c->msg->path,
			    &c->msg->prm);
	} else {
		const char *hn = !strcmp(name, "@authority") ? "Host" : name;
		if (name[0] == '@' && strcmp(name, "@authority"))
			return NULL;
		if (http_msg_xhdr_count(c->msg, hn) != 1)
			return NULL;
		const struct http_hdr *h = http_msg_xhdr(c->msg, hn);
		if (!h || h->val.l >= HDR_VAL_MAX)
			return NULL;
		pl_strcpy(&h->val, out, HDR_VAL_MAX);
		if (name[0] == '@')
			for (char *p = out; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p = (char)(*p - 'A' + 'a');
	}
	c->n++;
	return out;
}

/* Session ids are UUIDs: [A-Za-z0-9_-] only (they go into logs and the
 * REST path). */
static bool id_ok(const struct pl *v)
{
	if (!v->l || v->l >= AHMSG_ID_LEN)
		return false;
	for (size_t i = 0; i < v->l; i++) {
		char c = v->p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

static void reply_status(struct http_conn *conn, uint16_t code,
			 const char *reason)
{
	(void)http_reply(conn, code, reason,
			 "Content-Type: text/plain\r\n"
			 "Content-Length: %zu\r\n"
			 "\r\n"
			 "%s\n",
			 strlen(reason) + 1, reason);
}

static void on_http(struct http_conn *conn, const struct http_msg *msg,
		    void *arg)
{
	struct audiohook *ah = arg;
	char peer[64];
	re_snprintf(peer, sizeof(peer), "%J", http_conn_peer(conn));
	enum audiohook_kind kind;
	if (!pl_strcmp(&msg->path, AUDIOHOOK_PATH))
		kind = AUDIOHOOK_MONITOR;
	else if (!pl_strcmp(&msg->path, AUDIOCONNECTOR_PATH))
		kind = AUDIOHOOK_BOT;
	else
		kind = (enum audiohook_kind) - 1;
	if ((int)kind < 0 || !ah->has_hooks[kind]) {
		ah->st.refused_path++;
		reply_status(conn, 404, "Not Found");
		return;
	}
	/* The API key and signature first: nothing else happens for a
	 * forged upgrade. */
	struct hdr_ctx *hc = malloc(sizeof(*hc));
	if (!hc) {
		reply_status(conn, 500, "Internal Server Error");
		return;
	}
	hc->msg = msg;
	hc->n = 0;
	enum ahsig_result r =
		ahsig_verify(ah->sig, hdr_lookup, hc, (int64_t)time(NULL),
			     ah->cfg.require_signature);
	free(hc);
	if (r != AHSIG_OK) {
		ah->st.refused_auth++;
		metric_counter_add(ah->m_refused, 1);
		LOGW(NULL, "audiohook_auth_refused", "why=%s peer=%s",
		     ahsig_result_name(r), peer);
		reply_status(conn, 401, "Unauthorized");
		return;
	}
	const struct http_hdr *sh = http_msg_xhdr(msg, "Audiohook-Session-Id");
	if (!sh || !id_ok(&sh->val)) {
		reply_status(conn, 400, "Bad Request");
		return;
	}
	if (ah->draining || ah->active >= ah->cfg.max_sessions) {
		ah->st.refused_busy++;
		metric_counter_add(ah->m_refused, 1);
		LOGW(NULL, "audiohook_busy", "reason=%s",
		     ah->draining ? "draining" : "max_sessions");
		reply_status(conn, 503, "Service Unavailable");
		return;
	}
	struct ah_session *s = calloc(1, sizeof(*s));
	if (!s) {
		reply_status(conn, 500, "Internal Server Error");
		return;
	}
	s->ah = ah;
	s->kind = kind;
	pl_strcpy(&sh->val, s->id, sizeof(s->id));
	s->accepted_ms = s->last_rx_ms = now_ms();
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	int fd = tcp_conn_fd(http_conn_tcp(conn));
	int one = 1;
	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				 sizeof(one));
	int err = websock_accept(&s->wc, ah->ws, conn, msg, 0, on_ws_recv,
				 on_ws_close, s);
	if (err) {
		LOGW(NULL, "audiohook_upgrade_failed", "peer=%s err=%d", peer,
		     err);
		reply_status(conn, 400, "Bad Request");
		free(s);
		return;
	}
	ah->st.upgrades++;
	list_append(&ah->sessions, &s->le, s);
	ah->active++;
	metric_gauge_set(ah->m_active, ah->active);
	LOGI(sid(s), "audiohook_upgraded", "kind=%s peer=%s",
	     kind == AUDIOHOOK_BOT ? "bot" : "monitor", peer);
}

/* ---------- housekeeping ---------- */

static void release(struct ah_session *s)
{
	struct audiohook *ah = s->ah;
	call_close_hook(s, s->end_reason[0] ? s->end_reason : "gone");
	if (s->close_out && !s->peer_gone && s->wc)
		(void)websock_close(s->wc, WEBSOCK_NORMAL_CLOSURE, "");
	LOGI(sid(s), "audiohook_released",
	     "reason=%s position_ms=%" PRIu64 " samples=%" PRIu64,
	     s->end_reason, position(s), s->samples);
	list_unlink(&s->le);
	if (ah->active)
		ah->active--;
	metric_gauge_set(ah->m_active, ah->active);
	s->wc = mem_deref(s->wc);
	free(s);
}

static void check_timeouts(struct ah_session *s, uint64_t now)
{
	struct audiohook *ah = s->ah;
	if (s->state == ST_WAIT_OPEN &&
	    now - s->accepted_ms >= ah->cfg.open_timeout_ms) {
		ah->st.timeouts++;
		LOGW(sid(s), "audiohook_open_timeout", "peer=%s", s->peer);
		send_error(s, 408, "no open received");
		end_session(s, "timeout");
	} else if (s->state == ST_OPEN && ah->cfg.idle_timeout_ms &&
		   now - s->last_rx_ms >= ah->cfg.idle_timeout_ms) {
		ah->st.timeouts++;
		LOGW(sid(s), "audiohook_idle_timeout", NULL);
		send_error(s, 408, "nothing received");
		(void)disconnect(s, "error", "timeout", NULL);
	} else if (s->state == ST_DISCONNECTING &&
		   now - s->disconnect_ms >= ah->cfg.close_timeout_ms) {
		ah->st.timeouts++;
		end_session(s, s->end_reason[0] ? s->end_reason : "timeout");
	}
}

static void on_tick(void *arg)
{
	struct audiohook *ah = arg;
	uint64_t now = now_ms();
	struct le *le = list_head(&ah->sessions);
	while (le) {
		struct ah_session *s = le->data;
		le = le->next;
		if (!s->dead)
			check_timeouts(s, now);
		if (s->dead)
			release(s);
	}
	tmr_start(&ah->tmr, TICK_MS, on_tick, ah);
}

/* ---------- life ---------- */

int audiohook_create(struct audiohook **ahp, const struct audiohook_cfg *cfg)
{
	if (!ahp || !cfg || !cfg->nkeys || cfg->nkeys > AHSIG_KEYS_MAX)
		return -EINVAL;
	struct sa laddr;
	if (sa_set_str(&laddr, cfg->host, cfg->port))
		return -EINVAL;
	struct audiohook *ah = calloc(1, sizeof(*ah));
	if (!ah)
		return -ENOMEM;
	ah->cfg = *cfg;
	if (!ah->cfg.open_timeout_ms)
		ah->cfg.open_timeout_ms = 5000;
	if (!ah->cfg.close_timeout_ms)
		ah->cfg.close_timeout_ms = 5000;
	if (!ah->cfg.max_sessions)
		ah->cfg.max_sessions = 1000;
	list_init(&ah->sessions);
	tmr_init(&ah->tmr);
	struct ahsig_cfg sc = { .max_skew_s = cfg->max_skew_s,
				.max_age_s = cfg->max_age_s };
	int err = ahsig_create(&ah->sig, &sc);
	for (unsigned i = 0; !err && i < cfg->nkeys; i++)
		err = ahsig_key_add(ah->sig, cfg->keys[i].api_key,
				    cfg->keys[i].client_secret);
	if (err) {
		audiohook_destroy(ah);
		return err == -ENOMEM ? err : -EINVAL;
	}
	ah->m_sessions = metrics_counter("voxgate_audiohook_sessions_total",
					 NULL, "AudioHook sessions opened");
	ah->m_refused = metrics_counter(
		"voxgate_audiohook_refused_total", NULL,
		"AudioHook upgrades refused (auth, drain, max_sessions)");
	ah->m_bad = metrics_counter("voxgate_audiohook_bad_messages_total",
				    NULL, "Malformed AudioHook messages");
	ah->m_events = metrics_counter("voxgate_audiohook_events_total", NULL,
				       "AudioHook event messages sent");
	ah->m_active = metrics_gauge("voxgate_audiohook_active", NULL,
				     "AudioHook sessions open");
	err = websock_alloc(&ah->ws, NULL, NULL);
	if (!err)
		err = http_listen(&ah->hs, &laddr, on_http, ah);
	if (!err)
		err = tcp_sock_listen(http_sock_tcp(ah->hs), 1024);
	if (err) {
		audiohook_destroy(ah);
		return -err;
	}
	struct sa bound;
	if (!tcp_sock_local_get(http_sock_tcp(ah->hs), &bound))
		ah->port = sa_port(&bound);
	tmr_start(&ah->tmr, TICK_MS, on_tick, ah);
	LOGI(NULL, "audiohook_listening", "addr=%s:%u paths=%s,%s keys=%u",
	     ah->cfg.host, ah->port, AUDIOHOOK_PATH, AUDIOCONNECTOR_PATH,
	     ah->cfg.nkeys);
	*ahp = ah;
	return 0;
}

void audiohook_destroy(struct audiohook *ah)
{
	if (!ah)
		return;
	struct le *le = list_head(&ah->sessions);
	while (le) {
		struct ah_session *s = le->data;
		le = le->next;
		if (s->state == ST_OPEN)
			(void)disconnect(s, "completed", "shutdown", NULL);
		end_session(s, "shutdown");
		release(s);
	}
	tmr_cancel(&ah->tmr);
	ah->hs = mem_deref(ah->hs);
	ah->ws = mem_deref(ah->ws);
	ahsig_destroy(ah->sig);
	explicit_bzero(ah->cfg.keys, sizeof(ah->cfg.keys));
	ahmsg_fini(&ah->msg);
	free(ah);
}

void audiohook_set_hooks(struct audiohook *ah, enum audiohook_kind kind,
			 const struct audiohook_hooks *h, void *arg)
{
	if (!ah || (kind != AUDIOHOOK_MONITOR && kind != AUDIOHOOK_BOT))
		return;
	if (h) {
		ah->hooks[kind] = *h;
		ah->hook_arg[kind] = arg;
		ah->has_hooks[kind] = true;
	} else {
		memset(&ah->hooks[kind], 0, sizeof(ah->hooks[kind]));
		ah->has_hooks[kind] = false;
	}
}

uint16_t audiohook_local_port(const struct audiohook *ah)
{
	return ah ? ah->port : 0;
}

unsigned audiohook_active_sessions(const struct audiohook *ah)
{
	return ah ? ah->active : 0;
}

void audiohook_get_stats(const struct audiohook *ah, struct audiohook_stats *st)
{
	if (ah && st)
		*st = ah->st;
}

void audiohook_drain(struct audiohook *ah)
{
	if (ah)
		ah->draining = true;
}

struct ah_session *audiohook_find(struct audiohook *ah, const char *id)
{
	if (!ah || !id)
		return NULL;
	for (struct le *le = list_head(&ah->sessions); le; le = le->next) {
		struct ah_session *s = le->data;
		if (!s->dead && !strcmp(s->id, id))
			return s;
	}
	return NULL;
}

/* ---------- session API ---------- */

enum audiohook_kind audiohook_session_kind(const struct ah_session *s)
{
	return s->kind;
}

const char *audiohook_session_id(const struct ah_session *s)
{
	return s->id;
}

const char *audiohook_session_conversation(const struct ah_session *s)
{
	return s->conversation;
}

const char *audiohook_session_org(const struct ah_session *s)
{
	return s->org;
}

const struct ahmsg_media *audiohook_session_media(const struct ah_session *s)
{
	return &s->media;
}

bool audiohook_session_paused(const struct ah_session *s)
{
	return s->paused || s->pause_asked;
}

uint64_t audiohook_session_position_ms(const struct ah_session *s)
{
	return position(s);
}

void audiohook_session_set_data(struct ah_session *s, void *data)
{
	s->data = data;
}

void *audiohook_session_data(const struct ah_session *s)
{
	return s->data;
}

static bool can_send(const struct ah_session *s)
{
	return s->state == ST_OPEN && !s->peer_gone && s->wc;
}

int audiohook_session_send_audio(struct ah_session *s, const int16_t *pcm,
				 size_t n)
{
	if (!s || (!pcm && n))
		return -EINVAL;
	if (!can_send(s))
		return -EPIPE;
	if (n > 8000)
		return -EINVAL;
	if (audiohook_session_txq(s) > TXQ_MAX) {
		s->ah->st.tx_dropped++;
		return -EAGAIN;
	}
	uint8_t buf[8000];
	for (size_t i = 0; i < n; i++)
		buf[i] = audio_ulaw_encode(pcm[i]);
	int err = websock_send(s->wc, WEBSOCK_BIN, "%b", buf, n);
	if (err) {
		s->peer_gone = true;
		return -EPIPE;
	}
	return 0;
}

size_t audiohook_session_txq(const struct ah_session *s)
{
	if (!s || !s->wc)
		return 0;
	return tcp_conn_txqsz(websock_tcp(s->wc));
}

static int send_event(struct ah_session *s, int n)
{
	if (!can_send(s))
		return -EPIPE;
	int err = commit(s, n);
	if (!err) {
		s->ah->st.events_sent++;
		metric_counter_add(s->ah->m_events, 1);
	}
	return err;
}

int audiohook_session_send_transcript(struct ah_session *s,
				      const struct ahmsg_transcript *t)
{
	if (!s || !t)
		return -EINVAL;
	struct ahmsg_hdr h = next_hdr(s);
	return send_event(s, ahmsg_build_transcript(s->ah->out,
						    sizeof(s->ah->out), &h, t));
}

int audiohook_session_send_assist(struct ah_session *s,
				  const struct ahmsg_assist *a)
{
	if (!s || !a)
		return -EINVAL;
	struct ahmsg_hdr h = next_hdr(s);
	return send_event(
		s, ahmsg_build_assist(s->ah->out, sizeof(s->ah->out), &h, a));
}

int audiohook_session_send_barge_in(struct ah_session *s)
{
	if (!s)
		return -EINVAL;
	struct ahmsg_hdr h = next_hdr(s);
	return send_event(
		s, ahmsg_build_barge_in(s->ah->out, sizeof(s->ah->out), &h));
}

int audiohook_session_pause(struct ah_session *s)
{
	if (!s)
		return -EINVAL;
	if (!can_send(s))
		return -EPIPE;
	if (s->pause_asked || s->paused)
		return -EALREADY;
	int err = send_simple(s, "pause");
	if (err)
		return err;
	/* from now on: nothing kept, even what is in flight */
	s->pause_asked = true;
	s->ah->st.server_pauses++;
	LOGI(sid(s), "audiohook_pause_sent", "position_ms=%" PRIu64,
	     position(s));
	return 0;
}

int audiohook_session_resume(struct ah_session *s)
{
	if (!s)
		return -EINVAL;
	if (!can_send(s))
		return -EPIPE;
	if (!s->pause_asked && !s->paused)
		return -EALREADY;
	int err = send_simple(s, "resume");
	if (err)
		return err;
	s->ah->st.server_resumes++;
	LOGI(sid(s), "audiohook_resume_sent", NULL);
	/* audio stays refused until the client says resumed */
	return 0;
}

int audiohook_session_disconnect(struct ah_session *s, const char *reason,
				 const char *info,
				 const struct cJSON *output_variables)
{
	if (!s || !reason)
		return -EINVAL;
	if (s->state != ST_OPEN)
		return -EPIPE;
	return disconnect(s, reason, info, output_variables);
}
