/* Twilio Media Streams transport of `voxgate simulate` (sim/transport.h):
 * the simulator plays Twilio. It opens the WebSocket of a
 * <Connect><Stream> (the upgrade signed with X-Twilio-Signature when
 * params.auth_token is set), sends `connected` and `start` (accountSid,
 * callSid, streamSid, tracks, customParameters from params custom.*,
 * mediaFormat audio/x-mulaw 8000 1), then a `media` message every 20 ms on
 * the caller's clock, `dtmf` messages for keys and `stop` on hangup. It
 * plays the server's `media` out in real time from a playout queue
 * (sim/playq.h), echoes each `mark` when playout reaches it (as Twilio
 * does), and flushes the queue on `clear` (barge-in: the marks of the
 * dropped audio are echoed at once). A stream carries no transfer: the
 * server ending <Connect> closes the WebSocket (the end of the call).
 * CDR join: voxgate records the callSid as the call's sip_call_id. */
#include "sim/playq.h"
#include "core/b64.h"
#include "sim/sim_int.h"
#include "sim/transport.h"
#include "sim/wsc.h"
#include "sim/wsmsg.h"

#include "audio/g711.h"

#include <re.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define PLAYQ_SAMPLES 80000u /* 10 s of bot audio held at most */
#define MSG_MAX 2048
#define KEY_TICKS (SIM_TR_KEY_MS * 1000u / SIM_TR_TICK_US)
#define SID_LEN 35 /* "CA" + 32 hex + NUL */

struct sim_tr_call {
	struct sim_call *c;
	const struct sim_scenario *sc;
	struct sim_wsc *ws;
	struct sim_playq q;
	char call_sid[SID_LEN], stream_sid[SID_LEN], account_sid[SID_LEN];
	uint64_t seqno; /* sequenceNumber of our messages */
	uint64_t chunk; /* media chunks sent */
	unsigned key_ticks;
	bool answered, done;
	uint64_t bad; /* malformed server messages */
};

static const char *const tw_params[] = {
	"auth_token", "public_url", "account_sid", "custom.*", NULL,
};

static int tw_target_check(const char *target, char *why, size_t cap)
{
	char host[128], path[SIM_URI_MAX];
	uint16_t port = 0;
	if (sim_target_split(target, "ws", host, sizeof(host), &port, 80, path,
			     sizeof(path))) {
		snprintf(why, cap,
			 "a Media Streams target is "
			 "ws://host:port/path (e.g. %s)",
			 "ws://127.0.0.1:8081/twilio/media");
		return -EINVAL;
	}
	return 0;
}

static void end(struct sim_tr_call *t, bool by_server, const char *reason)
{
	if (t->done)
		return;
	t->done = true;
	sim_call_ended(t->c, by_server, reason);
}

static void send_json(struct sim_tr_call *t, const char *buf, int n)
{
	if (n <= 0 || n >= MSG_MAX) {
		sim_call_fail(t->c, "twilio_media: message too long");
		return;
	}
	int err = sim_wsc_send_text(t->ws, buf, (size_t)n);
	if (err && err != -ENOTCONN)
		sim_call_fail(t->c, "twilio_media: send failed: %s",
			      strerror(-err));
}

/* A JSON string value: only [A-Za-z0-9_.:+@ -] pass, the rest become
 * '_' (parameter values are the user's; keep the JSON well-formed). */
static void json_safe(char *out, size_t cap, const char *in)
{
	size_t o = 0;
	for (; in && *in && o + 1 < cap; in++) {
		char ch = *in;
		bool ok = (ch >= 'a' && ch <= 'z') ||
			  (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || strchr("_.:+@ -/", ch);
		out[o++] = ok ? ch : '_';
	}
	out[o] = 0;
}

static void send_start(struct sim_tr_call *t)
{
	char buf[MSG_MAX], params[1200];
	size_t off = 0;
	bool have_from = false;
	params[0] = 0;
	for (size_t i = 0; i < t->sc->nparams; i++) {
		const struct sim_param *p = &t->sc->params[i];
		if (strncmp(p->key, "custom.", 7))
			continue;
		char k[SIM_PARAM_KEY_MAX], v[256];
		json_safe(k, sizeof(k), p->key + 7);
		json_safe(v, sizeof(v), p->value);
		if (!strcmp(k, "from"))
			have_from = true;
		int n = snprintf(params + off, sizeof(params) - off,
				 "%s\"%s\":\"%s\"", off ? "," : "", k, v);
		if (n < 0 || (size_t)n >= sizeof(params) - off)
			break;
		off += (size_t)n;
	}
	if (!have_from) {
		char v[SIM_NAME_MAX];
		json_safe(v, sizeof(v), t->sc->from);
		(void)snprintf(params + off, sizeof(params) - off,
			       "%s\"from\":\"%s\"", off ? "," : "", v);
	}
	int n = snprintf(buf, sizeof(buf),
			 "{\"event\":\"connected\",\"protocol\":\"Call\","
			 "\"version\":\"1.0.0\"}");
	send_json(t, buf, n);
	n = snprintf(buf, sizeof(buf),
		     "{\"event\":\"start\",\"sequenceNumber\":\"%" PRIu64
		     "\",\"start\":{\"accountSid\":\"%s\",\"streamSid\":"
		     "\"%s\",\"callSid\":\"%s\",\"tracks\":[\"inbound\"],"
		     "\"customParameters\":{%s},\"mediaFormat\":{"
		     "\"encoding\":\"audio/x-mulaw\",\"sampleRate\":8000,"
		     "\"channels\":1}},\"streamSid\":\"%s\"}",
		     ++t->seqno, t->account_sid, t->stream_sid, t->call_sid,
		     params, t->stream_sid);
	send_json(t, buf, n);
}

/* ---------- WebSocket events ---------- */

static void on_open(void *arg)
{
	struct sim_tr_call *t = arg;
	if (t->done)
		return;
	send_start(t);
	t->answered = true;
	sim_call_answered(t->c);
}

static void hear(struct sim_tr_call *t, const int16_t *pcm)
{
	sim_call_heard(t->c, pcm, SIM_PLAYQ_FRAME);
	/* marks whose audio has now played: echo them */
	char name[SIM_PLAYQ_MARK_LEN], safe[SIM_PLAYQ_MARK_LEN];
	while (!t->done && sim_playq_mark_due(&t->q, name)) {
		char buf[MSG_MAX];
		json_safe(safe, sizeof(safe), name);
		int n = snprintf(
			buf, sizeof(buf),
			"{\"event\":\"mark\",\"sequenceNumber\":\"%" PRIu64
			"\",\"streamSid\":\"%s\",\"mark\":{\"name\":"
			"\"%s\"}}",
			++t->seqno, t->stream_sid, safe);
		send_json(t, buf, n);
	}
}

static void on_text(const char *text, size_t len, void *arg)
{
	struct sim_tr_call *t = arg;
	if (t->done)
		return;
	static struct sim_twmsg m; /* large; one loop thread */
	int err = sim_twmsg_parse(text, len, &m);
	if (err) {
		t->bad++;
		sim_call_fail(t->c,
			      "twilio_media: malformed message from the "
			      "server (%s)",
			      strerror(-err));
		return;
	}
	switch (m.type) {
	case SIM_TW_MEDIA: {
		int16_t pcm[SIM_WSMSG_PAYLOAD_MAX];
		audio_ulaw_decode_buf(m.payload, pcm, m.payload_len);
		if (sim_playq_push(&t->q, pcm, m.payload_len) < m.payload_len)
			sim_call_fail(t->c,
				      "twilio_media: the server sent audio "
				      "over 10 s ahead of real time (dropped)");
		sim_call_res(t->c)->rtp_rx++;
		int16_t out[SIM_PLAYQ_FRAME];
		if (sim_playq_arrive(&t->q, out))
			hear(t, out);
		break;
	}
	case SIM_TW_MARK:
		if (sim_playq_mark(&t->q, m.name))
			sim_call_fail(t->c,
				      "twilio_media: over %d marks "
				      "pending",
				      SIM_PLAYQ_MARKS);
		break;
	case SIM_TW_CLEAR:
		sim_playq_clear(&t->q);
		break;
	default:
		break; /* Twilio ignores what it does not know */
	}
}

static void on_binary(const uint8_t *data, size_t len, void *arg)
{
	struct sim_tr_call *t = arg;
	(void)data;
	(void)len;
	t->bad++;
	sim_call_fail(t->c, "twilio_media: binary frame from the server");
}

static void on_closed(int err, void *arg)
{
	struct sim_tr_call *t = arg;
	char why[128];
	if (!t->answered) {
		snprintf(why, sizeof(why),
			 "twilio_media: WebSocket not opened: %s%s",
			 strerror(err ? err : ECONNRESET),
			 err == EPROTO ? " (upgrade refused: signature, "
					 "path or capacity?)"
				       : "");
		end(t, false, why);
		return;
	}
	/* The server ends <Connect> by closing the stream. */
	if (err && err != ECONNRESET) {
		snprintf(why, sizeof(why), "twilio_media: WebSocket error: %s",
			 strerror(err));
		end(t, true, why);
		return;
	}
	end(t, true, NULL);
}

static const struct sim_wsc_handlers ws_handlers = {
	.open = on_open,
	.text = on_text,
	.binary = on_binary,
	.closed = on_closed,
};

/* ---------- ops ---------- */

static void make_sid(char out[SID_LEN], const char *prefix, uint32_t seed,
		     uint64_t idx)
{
	/* unique per run (a second run against the same daemon must not
	 * join the first one's CDRs), numbered by the call index */
	snprintf(out, SID_LEN, "%s%08" PRIx32 "%08" PRIx32 "%016" PRIx64,
		 prefix, seed, rand_u32(), idx);
}

/* The URL Twilio signs: params.public_url (voxgate's twilio.public_url,
 * https -> wss) with the target's path and query, else the target. */
static int signed_url(const struct sim_scenario *sc, char *out, size_t cap)
{
	const char *pub = sim_scenario_param(sc, "public_url");
	char host[128], target[SIM_URI_MAX];
	if (!pub || !*pub)
		return snprintf(out, cap, "%s", sc->target) < (int)cap
			       ? 0
			       : -ENOSPC;
	if (sim_wsc_url_split(sc->target, host, sizeof(host), target,
			      sizeof(target)))
		return -EINVAL;
	const char *rest = NULL, *scheme = NULL;
	if (!strncmp(pub, "https://", 8)) {
		scheme = "wss://";
		rest = pub + 8;
	} else if (!strncmp(pub, "http://", 7)) {
		scheme = "ws://";
		rest = pub + 7;
	} else if (!strncmp(pub, "wss://", 6) || !strncmp(pub, "ws://", 5)) {
		scheme = "";
		rest = pub;
	} else {
		return -EINVAL;
	}
	size_t rl = strlen(rest);
	while (rl && rest[rl - 1] == '/')
		rl--;
	int n = snprintf(out, cap, "%s%.*s%s", scheme, (int)rl, rest, target);
	return n > 0 && (size_t)n < cap ? 0 : -ENOSPC;
}

static int signature(const struct sim_scenario *sc, char *out, size_t cap)
{
	const char *tok = sim_scenario_param(sc, "auth_token");
	char url[SIM_URI_MAX * 2];
	int err = signed_url(sc, url, sizeof(url));
	if (err)
		return err;
	uint8_t mac[20];
	hmac_sha1((const uint8_t *)tok, strlen(tok), (const uint8_t *)url,
		  strlen(url), mac, sizeof(mac));
	err = b64_encode(mac, sizeof(mac), out, cap);
	return err < 0 ? err : 0;
}

static int tw_start(struct sim_tr_call **tp, void *state, struct sim_call *c,
		    const struct sim_scenario *sc, uint64_t idx)
{
	(void)state;
	struct sim_tr_call *t = mem_zalloc(sizeof(*t), NULL);
	if (!t)
		return -ENOMEM;
	t->c = c;
	t->sc = sc;
	int err = sim_playq_init(&t->q, PLAYQ_SAMPLES);
	if (err) {
		mem_deref(t);
		return err;
	}
	make_sid(t->call_sid, "CA", sc->seed, idx);
	make_sid(t->stream_sid, "MZ", sc->seed, idx);
	const char *acct = sim_scenario_param(sc, "account_sid");
	if (acct && *acct)
		json_safe(t->account_sid, sizeof(t->account_sid), acct);
	else
		make_sid(t->account_sid, "AC", sc->seed, 0);
	snprintf(sim_call_res(c)->sip_call_id,
		 sizeof(sim_call_res(c)->sip_call_id), "%s", t->call_sid);
	char headers[256] = "";
	const char *tok = sim_scenario_param(sc, "auth_token");
	if (tok && *tok) {
		char sig[64];
		err = signature(sc, sig, sizeof(sig));
		if (!err)
			snprintf(headers, sizeof(headers),
				 "X-Twilio-Signature: %s\r\n", sig);
	}
	if (!err)
		err = sim_wsc_connect(&t->ws, sc->target, headers, &ws_handlers,
				      t);
	if (err) {
		sim_playq_fini(&t->q);
		mem_deref(t);
		return err;
	}
	*tp = t;
	return 0;
}

static void send_media(struct sim_tr_call *t, const int16_t *pcm)
{
	uint8_t ulaw[SIM_TR_FRAME];
	char b64[(SIM_TR_FRAME + 2) / 3 * 4 + 1], buf[MSG_MAX];
	audio_ulaw_encode_buf(pcm, ulaw, SIM_TR_FRAME);
	(void)b64_encode(ulaw, sizeof(ulaw), b64, sizeof(b64));
	uint64_t ts = t->chunk * 20;
	int n = snprintf(
		buf, sizeof(buf),
		"{\"event\":\"media\",\"sequenceNumber\":\"%" PRIu64
		"\",\"media\":{\"track\":\"inbound\",\"chunk\":\"%" PRIu64
		"\",\"timestamp\":\"%" PRIu64 "\",\"payload\":\"%s\"},"
		"\"streamSid\":\"%s\"}",
		++t->seqno, ++t->chunk, ts, b64, t->stream_sid);
	send_json(t, buf, n);
	sim_call_res(t->c)->rtp_tx++;
}

/* One 20 ms playout tick of what the server sent. */
static void play_tick(struct sim_tr_call *t)
{
	int16_t out[SIM_PLAYQ_FRAME];
	size_t n;
	if (sim_playq_tick(&t->q, out, &n))
		hear(t, out);
}

static void tw_send_audio(struct sim_tr_call *t, const int16_t *pcm,
			  bool voiced)
{
	(void)voiced;
	if (t->done)
		return;
	send_media(t, pcm);
	play_tick(t);
}

static int tw_dtmf(struct sim_tr_call *t, char key, bool first)
{
	static const int16_t silence[SIM_TR_FRAME];
	if (t->done)
		return 1;
	/* the media stream goes on under the keys */
	send_media(t, silence);
	play_tick(t);
	if (!key)
		return 1;
	if (first) {
		char buf[MSG_MAX];
		int n = snprintf(buf, sizeof(buf),
				 "{\"event\":\"dtmf\",\"streamSid\":\"%s\","
				 "\"sequenceNumber\":\"%" PRIu64
				 "\",\"dtmf\":{\"track\":\"inbound_track\","
				 "\"digit\":\"%c\"}}",
				 t->stream_sid, ++t->seqno, key);
		send_json(t, buf, n);
		t->key_ticks = 0;
	}
	return ++t->key_ticks >= KEY_TICKS ? 1 : 0;
}

static void tw_hangup(struct sim_tr_call *t)
{
	if (t->done)
		return;
	t->done = true;
	char buf[MSG_MAX];
	int n = snprintf(buf, sizeof(buf),
			 "{\"event\":\"stop\",\"sequenceNumber\":\"%" PRIu64
			 "\",\"streamSid\":\"%s\",\"stop\":{\"accountSid\":"
			 "\"%s\",\"callSid\":\"%s\"}}",
			 ++t->seqno, t->stream_sid, t->account_sid,
			 t->call_sid);
	send_json(t, buf, n);
}

static void tw_free(struct sim_tr_call *t)
{
	if (!t)
		return;
	t->done = true;
	sim_wsc_close(t->ws);
	t->ws = NULL;
	sim_playq_fini(&t->q);
	mem_deref(t);
}

const struct sim_transport_ops sim_tr_twilio_media = {
	.name = "twilio_media",
	.target_example = "ws://127.0.0.1:8081/twilio/media",
	.params = tw_params,
	.target_check = tw_target_check,
	.close = sim_wsc_close_all,
	.start = tw_start,
	.send_audio = tw_send_audio,
	.dtmf = tw_dtmf,
	.no_transfer = true,
	.hangup = tw_hangup,
	.free = tw_free,
};
