/* Asterisk AudioSocket transport of `voxgate simulate` (sim/transport.h):
 * the simulator plays Asterisk, the platform side. One TCP connection per
 * call to the target (tcp://host:port), opened on the loop without
 * blocking; a UUID message (kind 0x01, 16 bytes derived from the scenario's
 * seed and the call's number) once connected; then one 20 ms audio message
 * (kind 0x10, 320 bytes of 8 kHz signed 16-bit little-endian) every tick of
 * the caller's clock, silence included, as Asterisk does; keys as kind 0x03;
 * a hangup (0x00) when the caller ends the call. Wire format:
 * docs/PROTOCOLS.md "Asterisk AudioSocket".
 *
 * What the server sends is queued (sim/playq.h) and played out one frame
 * per tick, so what the caller hears is timed as a phone would hear it even
 * when the server sends in bursts. A hangup message or the server closing
 * the socket ends the call once the queued audio was played. An error
 * message (0xff) fails the call with its code.
 *
 * With params agi (agi://host:port[/audiosocket]), and optionally flow and
 * extension, each call first plays the dialplan's FastAGI set-up step,
 * AGI(agi://host:port/audiosocket,UUID[,FLOW]): the AGI environment, a
 * "200 result=1" for every command the server sends, until it sets
 * VOXGATE_RESULT (audiosocket: go on; anything else fails the call); then
 * the AudioSocket connection. The server picks the call's flow from it.
 *
 * The call reference is the UUID in its text form: voxgate records it as
 * the call's platform id (the CDR's sip_call_id, and the CDR id). AudioSocket
 * carries no transfer: voxgate refuses one on this transport (the dialplan
 * transfers after the session), so the caller never sees one. */
#include "audio/audiosocket_frame.h"
#include "sim/playq.h"
#include "sim/sim_int.h"
#include "sim/transport.h"

#include <re.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define UUID_LEN AUDIOSOCKET_UUID_LEN
#define PAYLOAD_MAX AUDIOSOCKET_PAYLOAD_MAX
#define TXQ_MAX (64u * 1024u) /* bytes queued in the kernel's stead */
#define PLAYQ_SAMPLES 80000u  /* 10 s of reply audio queued at most */
#define KEY_TICKS (SIM_TR_KEY_MS * 1000u / SIM_TR_TICK_US)
#define AGI_LINE_MAX 1024 /* one command from the AGI server */

/* Per run. */
struct as_run {
	struct sa laddr; /* local address to bind (port 0) */
	struct sa raddr; /* the target */
	uint32_t seed;
	/* the FastAGI set-up step, when params.agi is given */
	bool agi;
	struct sa agi_addr;
	const struct sim_scenario *sc; /* params, from */
};

struct sim_tr_call {
	struct sim_call *c;
	struct as_run *run;
	struct tcp_conn *tc;
	struct mbuf *txmb;
	uint8_t uuid[UUID_LEN];
	bool up;	/* connected, UUID sent */
	bool peer_gone; /* hangup or close from the server: drain, then end */
	bool done;	/* ended reported or hung up: no more events */
	unsigned key_ticks;
	/* the FastAGI set-up step */
	struct tcp_conn *agi;
	struct tmr tmr; /* leaves the AGI callbacks before connecting */
	char line[AGI_LINE_MAX];
	size_t nline;
	bool agi_over; /* VOXGATE_RESULT audiosocket was answered */
	/* receiving: the AudioSocket framer voxgate's server uses too */
	struct audiosocket_framer fr;
	struct sim_playq playq;
};

static void end(struct sim_tr_call *t, bool by_server, const char *reason)
{
	if (t->done)
		return;
	t->done = true;
	sim_call_ended(t->c, by_server, reason);
}

/* The server is done. reason "" (hangup message, the socket closed): stop
 * sending and end the call once the audio already received was played
 * (play_one). A reason (error message, protocol error, write error): end
 * the call now as failed. */
static void peer_gone(struct sim_tr_call *t, const char *reason)
{
	if (t->peer_gone)
		return;
	t->peer_gone = true;
	if (*reason || !t->up)
		end(t, false, *reason ? reason : "AudioSocket: closed");
}

static int send_msg(struct sim_tr_call *t, uint8_t kind, const void *p,
		    size_t len)
{
	if (t->peer_gone || !t->tc)
		return -ENOTCONN;
	struct mbuf *mb = t->txmb;
	int n = audiosocket_frame_encode(kind, p, len, mb->buf, mb->size);
	if (n < 0)
		return n;
	mb->pos = 0;
	mb->end = (size_t)n;
	int err = tcp_send(t->tc, mb);
	return err ? -err : 0;
}

static void send_or_fail(struct sim_tr_call *t, uint8_t kind, const void *p,
			 size_t len)
{
	int err = send_msg(t, kind, p, len);
	if (err == -EPIPE || err == -ECONNRESET) {
		/* the server closed first (its hangup message may still be
		 * unread): the usual end, not a failure */
		peer_gone(t, "");
		return;
	}
	if (err && err != -ENOTCONN) {
		char why[SIM_REASON_MAX];
		snprintf(why, sizeof(why), "AudioSocket write: %s",
			 strerror(-err));
		peer_gone(t, why);
	}
}

static void on_msg(struct sim_tr_call *t, uint8_t kind, const uint8_t *p,
		   size_t len)
{
	char why[SIM_REASON_MAX];
	struct sim_call_result *res = sim_call_res(t->c);
	switch (kind) {
	case AUDIOSOCKET_AUDIO: {
		if (!len || len % 2) {
			snprintf(why, sizeof(why),
				 "AudioSocket: audio message of %zu bytes",
				 len);
			peer_gone(t, why);
			return;
		}
		int16_t pcm[PAYLOAD_MAX / 2];
		for (size_t i = 0; i < len / 2; i++)
			pcm[i] = (int16_t)(uint16_t)(p[2 * i] |
						     (p[2 * i + 1] << 8));
		res->rtp_rx++;
		(void)sim_playq_push(&t->playq, pcm, len / 2);
		return;
	}
	case AUDIOSOCKET_HANGUP:
		peer_gone(t, "");
		return;
	case AUDIOSOCKET_ERROR:
		if (len)
			snprintf(why, sizeof(why),
				 "AudioSocket error message from the server "
				 "(code 0x%02x)",
				 p[0]);
		else
			snprintf(why, sizeof(why),
				 "AudioSocket error message from the server");
		peer_gone(t, why);
		return;
	default:
		if (kind > AUDIOSOCKET_AUDIO && kind <= AUDIOSOCKET_AUDIO_192K)
			snprintf(why, sizeof(why),
				 "AudioSocket: audio kind 0x%02x (not 8 kHz) "
				 "from the server",
				 kind);
		else
			snprintf(why, sizeof(why),
				 "AudioSocket: unexpected kind 0x%02x from "
				 "the server",
				 kind);
		peer_gone(t, why);
		return;
	}
}

static void recv_handler(struct mbuf *mb, void *arg)
{
	struct sim_tr_call *t = arg;
	while (!t->peer_gone && mbuf_get_left(mb)) {
		size_t used = 0;
		struct audiosocket_msg m;
		int r = audiosocket_framer_feed(&t->fr, mbuf_buf(mb),
						mbuf_get_left(mb), &used, &m);
		if (r == -EMSGSIZE) {
			char why[SIM_REASON_MAX];
			snprintf(why, sizeof(why),
				 "AudioSocket: message over %u bytes "
				 "(kind 0x%02x)",
				 (unsigned)AUDIOSOCKET_PAYLOAD_MAX,
				 t->fr.hdr[0]);
			peer_gone(t, why);
			return;
		}
		mbuf_advance(mb, (ssize_t)used);
		if (r == 1)
			on_msg(t, m.kind, m.payload, m.len);
		else if (!used)
			return;
	}
}

static void estab_handler(void *arg)
{
	struct sim_tr_call *t = arg;
	if (t->done)
		return;
	int err = send_msg(t, AUDIOSOCKET_UUID, t->uuid, UUID_LEN);
	if (err) {
		char why[SIM_REASON_MAX];
		snprintf(why, sizeof(why), "AudioSocket write: %s",
			 strerror(-err));
		end(t, false, why);
		return;
	}
	t->up = true;
	sim_call_answered(t->c);
}

static void close_handler(int err, void *arg)
{
	struct sim_tr_call *t = arg;
	char why[SIM_REASON_MAX];
	if (!t->up) {
		snprintf(why, sizeof(why), "AudioSocket connect: %s",
			 strerror(err ? err : ECONNRESET));
		peer_gone(t, why);
		return;
	}
	if (err && err != ECONNRESET && err != EPIPE) {
		snprintf(why, sizeof(why), "AudioSocket connection: %s",
			 strerror(err));
		peer_gone(t, why);
		return;
	}
	peer_gone(t, ""); /* the server closed: Asterisk's usual end */
}

/* Play one 20 ms frame of what the server sent; end a call the server
 * left once its audio was played. */
static void play_one(struct sim_tr_call *t)
{
	if (t->done)
		return;
	int16_t pcm[SIM_PLAYQ_FRAME];
	(void)sim_playq_pop(&t->playq, pcm);
	sim_call_heard(t->c, pcm, SIM_PLAYQ_FRAME);
	if (t->peer_gone && !sim_playq_len(&t->playq))
		end(t, true, NULL);
}

static void send_audio(struct sim_tr_call *t, const int16_t *pcm, bool voiced)
{
	(void)voiced;
	if (!t->peer_gone) {
		uint8_t buf[SIM_TR_FRAME * 2];
		for (size_t i = 0; i < SIM_TR_FRAME; i++) {
			uint16_t s = (uint16_t)pcm[i];
			buf[2 * i] = (uint8_t)(s & 0xff);
			buf[2 * i + 1] = (uint8_t)(s >> 8);
		}
		send_or_fail(t, AUDIOSOCKET_AUDIO, buf, sizeof(buf));
		if (!t->peer_gone)
			sim_call_res(t->c)->rtp_tx++;
	}
	play_one(t);
}

static int send_dtmf(struct sim_tr_call *t, char key, bool first)
{
	static const int16_t silence[SIM_TR_FRAME];
	if (key && first) {
		uint8_t k = (uint8_t)key;
		t->key_ticks = 0;
		send_or_fail(t, AUDIOSOCKET_DTMF, &k, 1);
	}
	/* the audio stream goes on under the key, as from Asterisk */
	send_audio(t, silence, false);
	if (!key)
		return 0;
	return ++t->key_ticks >= KEY_TICKS ? 1 : 0;
}

static void hangup(struct sim_tr_call *t)
{
	if (t->up && !t->peer_gone)
		(void)send_msg(t, AUDIOSOCKET_HANGUP, NULL, 0);
	t->done = true;
}

static void call_destructor(void *arg)
{
	struct sim_tr_call *t = arg;
	tmr_cancel(&t->tmr);
	t->agi = mem_deref(t->agi);
	t->tc = mem_deref(t->tc);
	t->txmb = mem_deref(t->txmb);
	sim_playq_fini(&t->playq);
}

/* splitmix64 */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* A version 4 shaped UUID from (seed, idx): the same scenario and seed
 * give the same UUIDs run after run. */
static void make_uuid(uint8_t out[UUID_LEN], uint32_t seed, uint64_t idx)
{
	uint64_t a = mix(((uint64_t)seed << 32) ^ 0x617564696f736f63ull);
	uint64_t h[2] = { mix(a ^ idx), mix(mix(a ^ idx) ^ 0x6b6574ull) };
	for (int i = 0; i < UUID_LEN; i++)
		out[i] = (uint8_t)(h[i / 8] >> (8 * (i % 8)));
	out[6] = (uint8_t)((out[6] & 0x0f) | 0x40);
	out[8] = (uint8_t)((out[8] & 0x3f) | 0x80);
}

static int as_connect(struct sim_tr_call *t)
{
	int err = tcp_connect_bind(&t->tc, &t->run->raddr, estab_handler,
				   recv_handler, close_handler, &t->run->laddr,
				   t);
	if (err)
		return -err;
	tcp_conn_txqsz_set(t->tc, TXQ_MAX);
	return 0;
}

/* ---------- the FastAGI set-up step ---------- */

static void agi_fail(struct sim_tr_call *t, const char *fmt, const char *arg)
{
	char why[SIM_REASON_MAX];
	snprintf(why, sizeof(why), fmt, arg);
	end(t, false, why);
}

/* After the AGI callbacks returned: drop the AGI connection, connect the
 * AudioSocket. */
static void agi_next(void *arg)
{
	struct sim_tr_call *t = arg;
	t->agi = mem_deref(t->agi);
	if (t->done)
		return;
	int err = as_connect(t);
	if (err)
		agi_fail(t, "AudioSocket connect: %s", strerror(-err));
}

static void agi_send(struct sim_tr_call *t, const char *s)
{
	struct mbuf *mb = mbuf_alloc(strlen(s));
	if (!mb || mbuf_write_str(mb, s)) {
		mem_deref(mb);
		return;
	}
	mb->pos = 0;
	(void)tcp_send(t->agi, mb);
	mem_deref(mb);
}

/* One command line from the server: every one is answered with success;
 * SET VARIABLE VOXGATE_RESULT ends the step. */
static void agi_line(struct sim_tr_call *t, char *line)
{
	static const char res_cmd[] = "SET VARIABLE VOXGATE_RESULT ";
	if (!*line || t->agi_over)
		return;
	agi_send(t, "200 result=1\n");
	if (strncmp(line, res_cmd, sizeof(res_cmd) - 1))
		return;
	char *v = line + sizeof(res_cmd) - 1;
	size_t n = strlen(v);
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v[n - 1] = '\0';
		v++;
	}
	if (strcmp(v, "audiosocket")) {
		agi_fail(t, "FastAGI set-up refused (VOXGATE_RESULT=%s)", v);
		return;
	}
	t->agi_over = true;
	tmr_start(&t->tmr, 0, agi_next, t);
}

static void agi_recv(struct mbuf *mb, void *arg)
{
	struct sim_tr_call *t = arg;
	while (!t->done && !t->agi_over && mbuf_get_left(mb)) {
		char ch = (char)mbuf_read_u8(mb);
		if (ch == '\r')
			continue;
		if (ch != '\n') {
			if (t->nline + 1 >= sizeof(t->line)) {
				agi_fail(t, "FastAGI: a line longer than %s",
					 "1023 bytes");
				return;
			}
			t->line[t->nline++] = ch;
			continue;
		}
		t->line[t->nline] = '\0';
		t->nline = 0;
		agi_line(t, t->line);
	}
}

static void agi_close(int err, void *arg)
{
	struct sim_tr_call *t = arg;
	if (t->agi_over || t->done)
		return;
	agi_fail(t, "FastAGI: %s before the set-up ended",
		 err ? strerror(err) : "closed");
}

static void agi_estab(void *arg)
{
	struct sim_tr_call *t = arg;
	const struct sim_scenario *sc = t->run->sc;
	const char *flow = sim_scenario_param(sc, "flow");
	const char *ext = sim_scenario_param(sc, "extension");
	char uuid[37];
	audiosocket_uuid_format(t->uuid, uuid);
	struct mbuf *mb = mbuf_alloc(1024);
	if (!mb)
		return;
	int err = mbuf_printf(mb,
			      "agi_network: yes\n"
			      "agi_network_script: audiosocket\n"
			      "agi_request: agi://%J/audiosocket\n"
			      "agi_channel: SIM/%s\n"
			      "agi_language: en\n"
			      "agi_type: SIM\n"
			      "agi_uniqueid: sim.%s\n"
			      "agi_callerid: %s\n"
			      "agi_dnid: %s\n"
			      "agi_context: default\n"
			      "agi_extension: %s\n"
			      "agi_priority: 1\n"
			      "agi_arg_1: %s\n",
			      &t->run->agi_addr, uuid, uuid, sc->from,
			      ext ? ext : "s", ext ? ext : "s", uuid);
	if (!err && flow)
		err = mbuf_printf(mb, "agi_arg_2: %s\n", flow);
	if (!err)
		err = mbuf_write_str(mb, "\n");
	if (!err) {
		mb->pos = 0;
		err = tcp_send(t->agi, mb);
	}
	mem_deref(mb);
	if (err)
		agi_fail(t, "FastAGI write: %s", strerror(err));
}

static int agi_connect(struct sim_tr_call *t)
{
	int err = tcp_connect_bind(&t->agi, &t->run->agi_addr, agi_estab,
				   agi_recv, agi_close, &t->run->laddr, t);
	return err ? -err : 0;
}

static void as_free(struct sim_tr_call *t)
{
	if (!t)
		return;
	t->done = true;
	mem_deref(t);
}

/* tcp://host:port with a numeric host (or localhost): no DNS on the loop. */
static int target_addr(const char *target, struct sa *sa)
{
	char host[64];
	char path[8];
	uint16_t port = 0;
	if (sim_target_split(target, "tcp", host, sizeof(host), &port, 0, path,
			     sizeof(path)) ||
	    (path[0] && strcmp(path, "/")))
		return -EINVAL;
	if (!strcmp(host, "localhost"))
		snprintf(host, sizeof(host), "127.0.0.1");
	return sa_set_str(sa, host, port) ? -EINVAL : 0;
}

/* agi://host[:port][/audiosocket]: the FastAGI server of the set-up step. */
static int agi_addr(const char *url, struct sa *sa)
{
	char host[64];
	char path[32];
	uint16_t port = 0;
	if (sim_target_split(url, "agi", host, sizeof(host), &port, 4573, path,
			     sizeof(path)) ||
	    (path[0] && strcmp(path, "/audiosocket")))
		return -EINVAL;
	if (!strcmp(host, "localhost"))
		snprintf(host, sizeof(host), "127.0.0.1");
	return sa_set_str(sa, host, port) ? -EINVAL : 0;
}

static bool agi_name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (!n || n > max)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_-.+", *s))
			return false;
	return true;
}

static int as_params_check(const struct sim_scenario *sc, const char **key,
			   char *why, size_t cap)
{
	const char *agi = sim_scenario_param(sc, "agi");
	const char *flow = sim_scenario_param(sc, "flow");
	const char *ext = sim_scenario_param(sc, "extension");
	struct sa sa;
	if (agi && agi_addr(agi, &sa)) {
		*key = "agi";
		snprintf(why, cap,
			 "agi://host[:port][/audiosocket] with an IP address "
			 "(or localhost), e.g. "
			 "agi://127.0.0.1:4573/audiosocket");
		return -EINVAL;
	}
	if ((flow || ext) && !agi) {
		*key = flow ? "flow" : "extension";
		snprintf(why, cap,
			 "needs params.agi (the FastAGI set-up step that "
			 "passes it)");
		return -EINVAL;
	}
	if (flow && !agi_name_ok(flow, 63)) {
		*key = "flow";
		snprintf(why, cap, "'%s' is not a flow name", flow);
		return -EINVAL;
	}
	if (ext && !agi_name_ok(ext, 63)) {
		*key = "extension";
		snprintf(why, cap, "'%s' is not a dialled number", ext);
		return -EINVAL;
	}
	return 0;
}

static int as_target_check(const char *target, char *why, size_t cap)
{
	struct sa sa;
	if (target_addr(target, &sa)) {
		snprintf(why, cap,
			 "tcp://host:port with an IP address (or localhost) "
			 "and a port, e.g. tcp://127.0.0.1:9092");
		return -EINVAL;
	}
	return 0;
}

static int as_open(void **statep, const struct sim_opts *o,
		   const struct sim_scenario *sc)
{
	struct as_run *r = mem_zalloc(sizeof(*r), NULL);
	if (!r)
		return -ENOMEM;
	r->seed = sc->seed;
	r->sc = sc;
	int err = target_addr(sc->target, &r->raddr);
	const char *agi = sim_scenario_param(sc, "agi");
	if (!err && agi) {
		r->agi = true;
		err = agi_addr(agi, &r->agi_addr);
	}
	if (!err && sa_set_str(&r->laddr, o->bind ? o->bind : "127.0.0.1", 0))
		err = -EINVAL;
	if (err) {
		mem_deref(r);
		return err;
	}
	*statep = r;
	return 0;
}

static void as_close(void *state)
{
	mem_deref(state);
}

static int as_start(struct sim_tr_call **tp, void *state, struct sim_call *c,
		    const struct sim_scenario *sc, uint64_t idx)
{
	struct as_run *r = state;
	(void)sc;
	struct sim_tr_call *t = mem_zalloc(sizeof(*t), call_destructor);
	if (!t)
		return -ENOMEM;
	t->c = c;
	t->run = r;
	make_uuid(t->uuid, r->seed, idx);
	audiosocket_framer_init(&t->fr);
	tmr_init(&t->tmr);
	int err = sim_playq_init(&t->playq, PLAYQ_SAMPLES);
	t->txmb = err ? NULL : mbuf_alloc(AUDIOSOCKET_HDR_LEN + PAYLOAD_MAX);
	if (!err && !t->txmb)
		err = -ENOMEM;
	if (!err)
		err = r->agi ? agi_connect(t) : as_connect(t);
	if (err) {
		mem_deref(t);
		return err;
	}
	struct sim_call_result *res = sim_call_res(c);
	char id[37];
	audiosocket_uuid_format(t->uuid, id);
	snprintf(res->sip_call_id, sizeof(res->sip_call_id), "%s", id);
	*tp = t;
	return 0;
}

static const char *const as_params[] = { "agi", "flow", "extension", NULL };

const struct sim_transport_ops sim_tr_audiosocket = {
	.name = "audiosocket",
	.target_example = "tcp://127.0.0.1:9092",
	.params = as_params,
	.no_transfer = true,
	.params_check = as_params_check,
	.target_check = as_target_check,
	.open = as_open,
	.close = as_close,
	.start = as_start,
	.send_audio = send_audio,
	.dtmf = send_dtmf,
	.hangup = hangup,
	.free = as_free,
};
