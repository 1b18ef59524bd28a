/* AudioSocket server (see audiosocket.h). Raw non-blocking sockets on the
 * libre loop (fd_listen): reads go through the pure framer, writes are one
 * 20 ms frame per call per media clock tick. We never queue audio in user
 * space and keep at most two frames unsent in the kernel (SIOCOUTQ): queued
 * audio cannot be taken back, so a short queue is what makes barge-in quick.
 * Calls are freed only from the media clock, never inside a callback. */
#include "telephony/asterisk/audiosocket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <re.h>

#include "audio/clip.h"
#include "audio/resample.h"
#include "audio/rtpout.h"
#include "call/call.h"
#include "core/clock.h"
#include "core/log.h"
#include "metrics/metrics.h"
#include "audio/audiosocket_frame.h"
#include "telephony/common/mclock.h"

enum {
	FRAME_US = 20000,
	/* Like the SIP endpoint's clock: a 5 ms tick serves one of four
	 * phases, so each call is served every 20 ms and one tick covers a
	 * quarter of the calls (frames leave close to their own schedule). */
	PHASES = 4,
	TICK_US = FRAME_US / PHASES,
	FRAME_BYTES = AUDIO_FRAME_SAMPLES * 2,
	/* Unsent bytes the kernel may hold before we drop a frame. */
	OUTQ_MAX = 2 * AUDIOSOCKET_FRAME_BYTES,
	READ_CHUNK = 8192,
	/* Largest 8 kHz chunk one resampled message can give (4096 bytes at
	 * 12 kHz -> 1366 samples). */
	RS_OUT_MAX = 2048,
	/* UUIDs remembered to spot a reused one (call ids must be unique). */
	SEEN_MAX = 1024,
};

struct ascall {
	struct le le;
	struct audiosocket *as;
	int fd;
	struct call *call; /* NULL until the UUID arrives */
	struct audiosocket_framer fr;
	char uuid[37];
	char peer[64];
	uint64_t accepted_ms;
	/* Caller audio re-chunked into 20 ms frames. */
	int16_t in[AUDIO_FRAME_SAMPLES];
	size_t nin;
	struct resampler *rs; /* for kinds 0x11..0x18 */
	uint8_t rs_kind;
	/* The unsent rest of a frame a short write cut (framing must hold). */
	uint8_t pend[AUDIOSOCKET_FRAME_BYTES];
	size_t npend;
	uint32_t unknown_logged;
	bool answered;
	bool hangup_out; /* send a hangup frame before closing */
	bool peer_gone;	 /* EOF, error or hangup from Asterisk */
	bool dead;	 /* release on the next clock tick */
	bool gone;	 /* call_gone raised */
	uint64_t rx_frames, tx_frames, tx_dropped;
};

struct audiosocket {
	struct audiosocket_cfg cfg;
	struct audiosocket_handlers h;
	void *arg;
	int lfd;
	struct mclock clock; /* one media clock, PHASES ticks per frame */
	uint16_t port;
	struct list calls[PHASES];
	unsigned next_phase;
	uint64_t tick_no;
	unsigned active;
	bool draining;
	uint64_t tx_dropped;
	char seen[SEEN_MAX][37]; /* the last SEEN_MAX UUIDs, a ring */
	unsigned seen_next;
	struct metric_counter *m_calls, *m_refused, *m_dropped, *m_bad;
	struct metric_gauge *m_active;
	struct metric_histogram *m_send_late, *m_tick_cpu;
};

static uint64_t now_ms(void)
{
	return clock_mono_ms();
}

static const char *log_id(const struct ascall *ac)
{
	return ac->call ? call_id(ac->call) : NULL;
}

static void mark_dead(struct ascall *ac)
{
	ac->dead = true;
}

/* ---------- output ---------- */

static bool flush_pend(struct ascall *ac)
{
	while (ac->npend) {
		ssize_t n = send(ac->fd, ac->pend, ac->npend, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				ac->peer_gone = true;
			return false;
		}
		memmove(ac->pend, ac->pend + n, ac->npend - (size_t)n);
		ac->npend -= (size_t)n;
	}
	return true;
}

/* Send one whole message or none of it (the tail of a short write is kept
 * in pend and goes first next time). Returns true when it was taken. */
static bool send_msg(struct ascall *ac, const uint8_t *buf, size_t len)
{
	if (ac->peer_gone || !flush_pend(ac))
		return false;
	ssize_t n;
	do {
		n = send(ac->fd, buf, len, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			ac->peer_gone = true;
		return false;
	}
	if ((size_t)n < len) {
		memcpy(ac->pend, buf + n, len - (size_t)n);
		ac->npend = len - (size_t)n;
	}
	return true;
}

static int outq_bytes(const struct ascall *ac)
{
	int q = 0;
	if (ioctl(ac->fd, SIOCOUTQ, &q) < 0)
		return 0;
	return q;
}

static void send_hangup(struct ascall *ac)
{
	uint8_t h[AUDIOSOCKET_HDR_LEN];
	(void)audiosocket_frame_encode(AUDIOSOCKET_HANGUP, NULL, 0, h,
				       sizeof(h));
	if (!send_msg(ac, h, sizeof(h)))
		LOGD(log_id(ac), "audiosocket_hangup_unsent", NULL);
	/* Asterisk ends the session on our hangup; we close afterwards. */
	(void)shutdown(ac->fd, SHUT_WR);
	ac->peer_gone = true;
}

/* ---------- call ops (what the call asks of AudioSocket) ---------- */

static int op_answer(void *arg)
{
	struct ascall *ac = arg;
	/* Asterisk answered the channel before AudioSocket() ran: nothing to
	 * send; the media clock starts serving this call. */
	ac->answered = true;
	return 0;
}

static int op_hangup(void *arg, enum call_fsm_action act, const char *reason)
{
	struct ascall *ac = arg;
	(void)act;
	LOGD(log_id(ac), "audiosocket_hangup", "reason=%s",
	     reason ? reason : "");
	/* Often called from inside call_tick() (a prompt's last frame ends
	 * the flow): that frame still goes out, the hangup frame after it
	 * when the call is released. */
	ac->hangup_out = true;
	mark_dead(ac);
	return 0;
}

static int op_transfer(void *arg, const char *target,
		       const struct channel_kv *ctx, unsigned nctx)
{
	struct ascall *ac = arg;
	(void)target;
	(void)ctx;
	(void)nctx;
	/* AudioSocket carries audio and hangup only; a transfer is the
	 * dialplan's job after the session (FastAGI can do it). */
	LOGW(log_id(ac), "audiosocket_transfer_unsupported", NULL);
	return -ENOTSUP;
}

static const struct call_media_ops as_media_ops = {
	.answer = op_answer,
	.hangup = op_hangup,
	.transfer = op_transfer,
};

/* ---------- input ---------- */

static void audio_chunk(struct ascall *ac, const int16_t *pcm, size_t n,
			uint64_t now)
{
	while (n && !ac->dead) {
		size_t take = AUDIO_FRAME_SAMPLES - ac->nin;
		if (take > n)
			take = n;
		memcpy(ac->in + ac->nin, pcm, take * sizeof(*pcm));
		ac->nin += take;
		pcm += take;
		n -= take;
		if (ac->nin == AUDIO_FRAME_SAMPLES) {
			ac->nin = 0;
			ac->rx_frames++;
			call_audio_in(ac->call, ac->in, AUDIO_FRAME_SAMPLES,
				      now);
		}
	}
}

static void on_audio(struct ascall *ac, const struct audiosocket_msg *m,
		     uint64_t now)
{
	/* Little-endian on the wire; decode portably. */
	int16_t pcm[AUDIOSOCKET_PAYLOAD_MAX / 2];
	size_t n = m->len / 2;
	for (size_t i = 0; i < n; i++)
		pcm[i] = (int16_t)(uint16_t)(m->payload[2 * i] |
					     m->payload[2 * i + 1] << 8);
	unsigned rate = audiosocket_kind_rate_hz(m->kind);
	if (rate == 8000) {
		audio_chunk(ac, pcm, n, now);
		return;
	}
	if (ac->rs && ac->rs_kind != m->kind) {
		resampler_destroy(ac->rs);
		ac->rs = NULL;
	}
	if (!ac->rs) {
		int err = resampler_create(&ac->rs, rate, 8000,
					   RESAMPLER_QUALITY_VOIP);
		if (err) {
			LOGW(log_id(ac), "audiosocket_rate_refused",
			     "rate=%u err=%d", rate, err);
			mark_dead(ac);
			call_signal(ac->call, CALL_EV_ERROR, now);
			return;
		}
		ac->rs_kind = m->kind;
		LOGI(log_id(ac), "audiosocket_resample", "rate=%u", rate);
	}
	int16_t out[RS_OUT_MAX];
	size_t nout = RS_OUT_MAX;
	if (resampler_process(ac->rs, pcm, n, out, &nout) == 0)
		audio_chunk(ac, out, nout, now);
}

/* True when uuid was seen among the last SEEN_MAX calls; remembers it. */
static bool uuid_reused(struct audiosocket *as, const char *uuid)
{
	for (unsigned i = 0; i < SEEN_MAX; i++)
		if (as->seen[i][0] && !strcmp(as->seen[i], uuid))
			return true;
	snprintf(as->seen[as->seen_next], sizeof(as->seen[0]), "%s", uuid);
	as->seen_next = (as->seen_next + 1) % SEEN_MAX;
	return false;
}

static int start_call(struct ascall *ac, const uint8_t *uuid)
{
	struct audiosocket *as = ac->as;
	audiosocket_uuid_format(uuid, ac->uuid);
	/* The call id is the UUID, unless a call had it already (a dialplan
	 * with a fixed UUID): then a fresh id, so that the call record is
	 * its own; the UUID stays the platform id. */
	bool reused = uuid_reused(as, ac->uuid);
	struct call_params cp = {
		.platform = "audiosocket",
		.from = ac->uuid,
		.to = "audiosocket",
		.platform_id = ac->uuid,
		.id = reused ? NULL : ac->uuid,
		.media_timeout_ms = as->cfg.media_timeout_ms,
		.now_ms = now_ms(),
	};
	int err = call_create(&ac->call, &cp, &as_media_ops, ac);
	if (err) {
		LOGW(NULL, "call_rejected", "uuid=%s err=%d", ac->uuid, err);
		return err;
	}
	call_set_media_info(ac->call, "slin", ac->peer);
	if (reused)
		LOGW(call_id(ac->call), "audiosocket_uuid_reused", "uuid=%s",
		     ac->uuid);
	return 0;
}

static void call_state_cb(struct call *c, enum call_state old, void *arg)
{
	struct ascall *ac = arg;
	struct audiosocket *as = ac->as;
	if (as->h.call_state)
		as->h.call_state(c, (int)old, as->arg);
}

static void on_uuid(struct ascall *ac, const struct audiosocket_msg *m,
		    uint64_t now)
{
	struct audiosocket *as = ac->as;
	if (ac->call) {
		LOGW(log_id(ac), "audiosocket_uuid_again", NULL);
		return;
	}
	if (start_call(ac, m->payload)) {
		send_hangup(ac);
		mark_dead(ac);
		return;
	}
	struct call_observer obs = { .state_changed = call_state_cb,
				     .arg = ac };
	call_set_observer(ac->call, &obs);
	metric_counter_add(as->m_calls, 1);
	LOGI(call_id(ac->call), "call_incoming",
	     "platform=audiosocket uuid=%s peer=%s", ac->uuid, ac->peer);
	if (as->h.call_new && as->h.call_new(ac->call, as->arg)) {
		call_signal(ac->call, CALL_EV_ERROR, now);
		mark_dead(ac);
		return;
	}
	int err = call_answer(ac->call, now);
	if (!err && !ac->dead)
		call_signal(ac->call, CALL_EV_ACK, now);
	if (err) {
		LOGW(call_id(ac->call), "answer_failed", "err=%d", err);
		mark_dead(ac);
	}
}

static void peer_ended(struct ascall *ac, enum call_fsm_event ev,
		       const char *why)
{
	ac->peer_gone = true;
	if (ac->call && !ac->dead) {
		LOGI(call_id(ac->call), "audiosocket_closed", "why=%s", why);
		call_signal(ac->call, ev, now_ms());
	}
	mark_dead(ac);
}

static void on_msg(struct ascall *ac, const struct audiosocket_msg *m)
{
	struct audiosocket *as = ac->as;
	uint64_t now = now_ms();
	int chk = audiosocket_msg_check(m);
	if (chk == -ENOTSUP) {
		/* Unknown kinds are skipped, logged a few times per call. */
		if (ac->unknown_logged++ < 4)
			LOGW(log_id(ac), "audiosocket_kind_unknown",
			     "kind=0x%02x len=%zu", m->kind, m->len);
		metric_counter_add(as->m_bad, 1);
		return;
	}
	if (chk) {
		metric_counter_add(as->m_bad, 1);
		if (m->kind == AUDIOSOCKET_UUID && !ac->call) {
			LOGW(NULL, "audiosocket_bad_uuid", "len=%zu peer=%s",
			     m->len, ac->peer);
			peer_ended(ac, CALL_EV_ERROR, "bad_uuid");
			return;
		}
		if (ac->unknown_logged++ < 4)
			LOGW(log_id(ac), "audiosocket_bad_message",
			     "kind=0x%02x len=%zu", m->kind, m->len);
		return;
	}
	if (!ac->call && m->kind != AUDIOSOCKET_UUID) {
		if (m->kind == AUDIOSOCKET_HANGUP) {
			peer_ended(ac, CALL_EV_REMOTE_BYE, "hangup");
			return;
		}
		/* The UUID always comes first: anything else is not
		 * Asterisk speaking AudioSocket. */
		LOGW(NULL, "audiosocket_no_uuid", "kind=0x%02x peer=%s",
		     m->kind, ac->peer);
		peer_ended(ac, CALL_EV_ERROR, "no_uuid");
		return;
	}
	switch (m->kind) {
	case AUDIOSOCKET_UUID:
		on_uuid(ac, m, now);
		break;
	case AUDIOSOCKET_DTMF:
		call_dtmf_in(ac->call, (char)m->payload[0], now);
		break;
	case AUDIOSOCKET_HANGUP:
		peer_ended(ac, CALL_EV_REMOTE_BYE, "hangup");
		break;
	case AUDIOSOCKET_ERROR:
		LOGW(log_id(ac), "audiosocket_error_frame", "len=%zu", m->len);
		peer_ended(ac, CALL_EV_ERROR, "error");
		break;
	default:
		on_audio(ac, m, now);
		break;
	}
}

static void on_readable(int flags, void *arg)
{
	struct ascall *ac = arg;
	(void)flags;
	uint8_t buf[READ_CHUNK];
	/* One read per wake-up: a flooding peer cannot starve the loop. */
	ssize_t n = recv(ac->fd, buf, sizeof(buf), 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		fd_close(ac->fd);
		peer_ended(ac, CALL_EV_ERROR, "read_error");
		return;
	}
	if (n == 0) {
		fd_close(ac->fd);
		peer_ended(ac, CALL_EV_REMOTE_BYE, "closed");
		return;
	}
	if (ac->dead)
		return;
	size_t pos = 0;
	while (pos < (size_t)n && !ac->dead) {
		struct audiosocket_msg m;
		size_t used = 0;
		int r = audiosocket_framer_feed(&ac->fr, buf + pos,
						(size_t)n - pos, &used, &m);
		pos += used;
		if (r < 0) {
			metric_counter_add(ac->as->m_bad, 1);
			LOGW(log_id(ac), "audiosocket_oversized",
			     "max=%d peer=%s", AUDIOSOCKET_PAYLOAD_MAX,
			     ac->peer);
			if (!ac->peer_gone)
				send_hangup(ac);
			peer_ended(ac, CALL_EV_ERROR, "oversized");
			return;
		}
		if (r == 0)
			break;
		on_msg(ac, &m);
	}
}

/* ---------- media clock ---------- */

static void release_call(struct ascall *ac)
{
	struct audiosocket *as = ac->as;
	if (ac->call) {
		if (call_state(ac->call) != CALL_ENDED)
			call_signal(ac->call, CALL_EV_CLOSED, now_ms());
		call_set_rtp_counts(ac->call, ac->tx_frames, ac->rx_frames);
		if (!ac->gone) {
			ac->gone = true;
			if (as->h.call_gone)
				as->h.call_gone(ac->call, as->arg);
		}
		LOGI(call_id(ac->call), "audiosocket_released",
		     "rx_frames=%llu tx_frames=%llu tx_dropped=%llu",
		     (unsigned long long)ac->rx_frames,
		     (unsigned long long)ac->tx_frames,
		     (unsigned long long)ac->tx_dropped);
	}
	if (ac->hangup_out && !ac->peer_gone)
		send_hangup(ac);
	list_unlink(&ac->le);
	if (as->active)
		as->active--;
	metric_gauge_set(as->m_active, as->active);
	fd_close(ac->fd);
	close(ac->fd);
	resampler_destroy(ac->rs);
	call_destroy(ac->call);
	free(ac);
}

/* Returns true when a frame went out. */
static bool tx_frame(struct ascall *ac, uint64_t now)
{
	int16_t pcm[AUDIO_FRAME_SAMPLES];
	(void)call_tick(ac->call, now, pcm);
	/* Asterisk takes audio and hangup only: digits the flow sends are
	 * dropped (logged once each). */
	for (char d; (d = call_dtmf_out_next(ac->call));)
		LOGW(call_id(ac->call), "audiosocket_dtmf_unsupported",
		     "digit=%c", d);
	if (ac->peer_gone)
		return false;
	/* Silence is sent too: one continuous 20 ms stream. */
	uint8_t frame[AUDIOSOCKET_FRAME_BYTES];
	frame[0] = AUDIOSOCKET_AUDIO;
	frame[1] = FRAME_BYTES >> 8;
	frame[2] = FRAME_BYTES & 0xff;
	for (size_t i = 0; i < AUDIO_FRAME_SAMPLES; i++) {
		uint16_t s = (uint16_t)pcm[i];
		frame[3 + 2 * i] = (uint8_t)(s & 0xff);
		frame[3 + 2 * i + 1] = (uint8_t)(s >> 8);
	}
	if (ac->npend || outq_bytes(ac) > OUTQ_MAX ||
	    !send_msg(ac, frame, sizeof(frame))) {
		(void)flush_pend(ac);
		ac->tx_dropped++;
		ac->as->tx_dropped++;
		metric_counter_add(ac->as->m_dropped, 1);
		if (ac->peer_gone)
			peer_ended(ac, CALL_EV_ERROR, "write_error");
		return false;
	}
	ac->tx_frames++;
	return true;
}

static void serve(struct audiosocket *as, struct list *calls, uint64_t sched_us)
{
	uint64_t now = now_ms();
	struct le *le = list_head(calls);
	while (le) {
		struct ascall *ac = le->data;
		le = le->next;
		if (!ac->dead && !ac->call &&
		    now - ac->accepted_ms >= as->cfg.uuid_timeout_ms) {
			LOGW(NULL, "audiosocket_uuid_timeout", "peer=%s",
			     ac->peer);
			mark_dead(ac);
		}
		if (ac->dead) {
			release_call(ac);
			continue;
		}
		if (ac->answered && tx_frame(ac, now)) {
			uint64_t sent = clock_mono_us();
			metric_histogram_observe(
				as->m_send_late,
				sent > sched_us
					? (double)(sent - sched_us) / 1e6
					: 0.0);
		}
	}
}

static void media_tick(uint64_t deadline_us, void *arg)
{
	struct audiosocket *as = arg;
	serve(as, &as->calls[as->tick_no++ % PHASES], deadline_us);
}

static void media_batch(unsigned due, uint64_t start_us, uint64_t first_us,
			void *arg)
{
	struct audiosocket *as = arg;
	(void)due;
	(void)first_us;
	metric_histogram_observe(as->m_tick_cpu,
				 (double)(clock_mono_us() - start_us) / 1e6);
}

/* After a stall, catch up one frame at most (every phase once); older
 * ticks are lost. */
static int start_clock(struct audiosocket *as)
{
	return mclock_start(&as->clock, TICK_US, PHASES, media_tick,
			    media_batch, as);
}

/* ---------- accept ---------- */

static void on_accept(int flags, void *arg)
{
	struct audiosocket *as = arg;
	(void)flags;
	struct sockaddr_storage ss = { 0 };
	socklen_t sl = sizeof(ss);
	int fd = accept4(as->lfd, (struct sockaddr *)&ss, &sl,
			 SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (as->draining || as->active >= as->cfg.max_calls) {
		metric_counter_add(as->m_refused, 1);
		LOGW(NULL, "call_rejected", "platform=audiosocket reason=%s",
		     as->draining ? "draining" : "max_calls");
		close(fd);
		return;
	}
	struct ascall *ac = calloc(1, sizeof(*ac));
	if (!ac) {
		close(fd);
		return;
	}
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ac->as = as;
	ac->fd = fd;
	ac->accepted_ms = now_ms();
	audiosocket_framer_init(&ac->fr);
	char host[INET6_ADDRSTRLEN] = "";
	unsigned port = 0;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
	}
	snprintf(ac->peer, sizeof(ac->peer), "%s:%u", host, port);
	int err = fd_listen(fd, FD_READ, on_readable, ac);
	if (err) {
		close(fd);
		free(ac);
		return;
	}
	list_append(&as->calls[as->next_phase++ % PHASES], &ac->le, ac);
	as->active++;
	metric_gauge_set(as->m_active, as->active);
}

static int open_listener(struct audiosocket *as)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, as->cfg.host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(as->cfg.port);
		sl = sizeof(*s4);
	} else if (inet_pton(AF_INET6, as->cfg.host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(as->cfg.port);
		sl = sizeof(*s6);
	} else {
		return -EINVAL;
	}
	as->lfd = socket(ss.ss_family,
			 SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (as->lfd < 0)
		return -errno;
	int one = 1;
	(void)setsockopt(as->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(as->lfd, (struct sockaddr *)&ss, sl) || listen(as->lfd, 1024))
		return -errno;
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} b;
	memset(&b, 0, sizeof(b));
	socklen_t bl = sizeof(b);
	if (getsockname(as->lfd, &b.sa, &bl) == 0)
		as->port = ntohs(b.sa.sa_family == AF_INET ? b.in.sin_port
							   : b.in6.sin6_port);
	int err = fd_listen(as->lfd, FD_READ, on_accept, as);
	return err ? -err : 0;
}

int audiosocket_create(struct audiosocket **asp,
		       const struct audiosocket_cfg *cfg,
		       const struct audiosocket_handlers *h, void *arg)
{
	if (!asp || !cfg)
		return -EINVAL;
	struct audiosocket *as = calloc(1, sizeof(*as));
	if (!as)
		return -ENOMEM;
	as->cfg = *cfg;
	if (!as->cfg.uuid_timeout_ms)
		as->cfg.uuid_timeout_ms = 5000;
	if (!as->cfg.max_calls)
		as->cfg.max_calls = 1000;
	if (h)
		as->h = *h;
	as->arg = arg;
	as->lfd = -1;
	mclock_init(&as->clock);
	for (unsigned p = 0; p < PHASES; p++)
		list_init(&as->calls[p]);
	as->m_calls = metrics_counter("voxgate_audiosocket_calls_total", NULL,
				      "AudioSocket sessions with a UUID");
	as->m_refused = metrics_counter(
		"voxgate_audiosocket_refused_total", NULL,
		"AudioSocket connections closed at once (drain, max_calls)");
	as->m_dropped = metrics_counter(
		"voxgate_audiosocket_frames_dropped_total", NULL,
		"Outbound frames dropped because the peer fell behind");
	as->m_bad =
		metrics_counter("voxgate_audiosocket_bad_messages_total", NULL,
				"Malformed or unknown AudioSocket messages");
	static const double late_bounds[] = { 0.0002, 0.0005, 0.001,  0.002,
					      0.003,  0.005,  0.0075, 0.01,
					      0.02,   0.05,   0.1 };
	as->m_send_late = metrics_histogram(
		"voxgate_audiosocket_send_lateness_seconds", NULL,
		"How late each AudioSocket frame left against its 20 ms "
		"schedule",
		late_bounds, sizeof(late_bounds) / sizeof(late_bounds[0]));
	as->m_tick_cpu = metrics_histogram(
		"voxgate_audiosocket_tick_seconds", NULL,
		"Time spent in one AudioSocket media clock tick (all calls)",
		NULL, 0);
	as->m_active = metrics_gauge("voxgate_audiosocket_active", NULL,
				     "AudioSocket connections open");
	int err = open_listener(as);
	if (!err)
		err = start_clock(as);
	if (err) {
		audiosocket_destroy(as);
		return err;
	}
	LOGI(NULL, "audiosocket_listening", "addr=%s:%u", as->cfg.host,
	     as->port);
	*asp = as;
	return 0;
}

void audiosocket_hangup_all(struct audiosocket *as, const char *reason)
{
	if (!as)
		return;
	for (unsigned p = 0; p < PHASES; p++) {
		struct le *le = list_head(&as->calls[p]);
		while (le) {
			struct ascall *ac = le->data;
			le = le->next;
			if (ac->dead)
				continue;
			if (ac->call)
				(void)channel_hangup(call_channel(ac->call),
						     reason);
			else
				mark_dead(ac);
		}
	}
}

void audiosocket_destroy(struct audiosocket *as)
{
	if (!as)
		return;
	audiosocket_hangup_all(as, "shutdown");
	for (unsigned p = 0; p < PHASES; p++)
		while (list_head(&as->calls[p]))
			release_call(list_head(&as->calls[p])->data);
	mclock_stop(&as->clock);
	if (as->lfd >= 0) {
		fd_close(as->lfd);
		close(as->lfd);
	}
	free(as);
}

void audiosocket_drain(struct audiosocket *as)
{
	if (as)
		as->draining = true;
}

unsigned audiosocket_active_calls(const struct audiosocket *as)
{
	return as ? as->active : 0;
}

uint16_t audiosocket_local_port(const struct audiosocket *as)
{
	return as ? as->port : 0;
}

uint64_t audiosocket_tx_dropped(const struct audiosocket *as)
{
	return as ? as->tx_dropped : 0;
}
