/* Genesys Cloud transports of `voxgate simulate` (sim/transport.h): the
 * simulator plays Genesys, the client of the AudioHook protocol.
 *
 * audioconnector (a voice bot, path /genesys/audioconnector): the upgrade
 * carries X-API-KEY and an HTTP message signature (hmac-sha256 over
 * @request-target @authority audiohook-organization-id audiohook-session-id
 * audiohook-correlation-id x-api-key with the base64-decoded
 * params.client_secret); `open` with one mono PCMU external media entry,
 * inputVariables from params input.* and customConfig from custom.*; after
 * `opened` (the answer) binary PCMU frames every 20 ms on the caller's
 * clock, a `ping` every 5 s, `dtmf` messages for keys, `close` on hangup.
 * The bot's binary audio is played out in real time from a playout queue
 * (sim/playq.h); an `event` with a `barge_in` entity flushes it (Genesys
 * drops what it holds). `disconnect` is answered with `close`: its
 * outputVariables action=transfer is the transfer (target transferTarget,
 * else "queue:" transferQueue); `closed` or the socket closing ends the
 * call. CDR join: voxgate records the conversation id as sip_call_id.
 *
 * audiohook (the agent-assist monitor, path /genesys/audiohook): the same
 * upgrade, open and audio, but the server sends no audio back: the caller's
 * "reply" is the `transcript` event for its utterance. Each final transcript
 * of the external channel is played to the caller as a short tone, so a
 * turn's latency is the caller's end of speech -> the transcript event's
 * arrival (and a tone on `opened` stands for the greeting a monitor does
 * not have, so the first turn starts after `quiet`). The monitor keeps no CDR:
 * the backend builds the call's record from the events (turns[k] = {input,
 * transcript, intent} with the agentassist intent; prompts = the
 * transcripts) and hands it over with sim_call_record(), so expect.intent
 * checks the monitor's intent and expect.says words of the transcript. */
#include "sim/playq.h"
#include "core/b64.h"
#include "sim/sim_int.h"
#include "sim/transport.h"
#include "sim/wsc.h"
#include "sim/wsmsg.h"

#include "audio/g711.h"

#include <cjson/cJSON.h>
#include <re.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define PLAYQ_SAMPLES 80000u /* 10 s of bot audio held at most */
#define MSG_MAX 4096
#define KEY_TICKS (SIM_TR_KEY_MS * 1000u / SIM_TR_TICK_US)
#define PING_TICKS 250u /* 5 s */
#define UUID_LEN 37
#define TONE_SAMPLES 1600 /* 200 ms "transcript heard" tone */
#define DEFAULT_ORG "d7934305-0972-4844-938e-9060eef73d05"

enum gmode { G_BOT, G_MONITOR };

struct sim_tr_call {
	enum gmode mode;
	struct sim_call *c;
	const struct sim_scenario *sc;
	struct sim_wsc *ws;
	struct sim_playq q;
	char sid[UUID_LEN], corr[UUID_LEN], conv[UUID_LEN], part[UUID_LEN];
	uint64_t seq;	    /* our last seq */
	uint64_t serverseq; /* the server's last seq seen */
	uint64_t sent_ms;   /* audio sent: the position */
	unsigned key_ticks, ping_ticks;
	bool upgraded, opened, disconnected, close_sent, done;
	cJSON *record; /* monitor: the call's record (moved to the result) */
};

static const char *const g_params[] = {
	"api_key",  "client_secret", "organization_id",
	"language", "input.*",	     "custom.*",
	NULL,
};

static int target_check(const char *target, const char *path, char *why,
			size_t cap)
{
	char host[128], p[SIM_URI_MAX];
	uint16_t port = 0;
	if (sim_target_split(target, "ws", host, sizeof(host), &port, 80, p,
			     sizeof(p))) {
		snprintf(why, cap, "a Genesys target is ws://host:port%s",
			 path);
		return -EINVAL;
	}
	return 0;
}

static int bot_target_check(const char *target, char *why, size_t cap)
{
	return target_check(target, "/genesys/audioconnector", why, cap);
}

static int mon_target_check(const char *target, char *why, size_t cap)
{
	return target_check(target, "/genesys/audiohook", why, cap);
}

static const char *tname(const struct sim_tr_call *t)
{
	return t->mode == G_BOT ? "audioconnector" : "audiohook";
}

static void end(struct sim_tr_call *t, bool by_server, const char *reason)
{
	if (t->done)
		return;
	t->done = true;
	sim_call_ended(t->c, by_server, reason);
}

/* ---------- ids and the signature ---------- */

static void uuid(char out[UUID_LEN])
{
	uint8_t b[16];
	rand_bytes(b, sizeof(b));
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, UUID_LEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* Header values must not break the request: printable, no CR/LF. */
static bool header_safe(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '"')
			return false;
	return true;
}

static const char *org_id(const struct sim_scenario *sc)
{
	const char *o = sim_scenario_param(sc, "organization_id");
	return o && *o ? o : DEFAULT_ORG;
}

/* headers[cap]: the AudioHook upgrade headers, signed when
 * params.client_secret is set. */
static int upgrade_headers(const struct sim_tr_call *t, char *out, size_t cap)
{
	const struct sim_scenario *sc = t->sc;
	const char *key = sim_scenario_param(sc, "api_key");
	const char *secret = sim_scenario_param(sc, "client_secret");
	const char *org = org_id(sc);
	if (!key)
		key = "";
	if (!header_safe(key) || !header_safe(org))
		return -EINVAL;
	int n = snprintf(out, cap,
			 "Audiohook-Organization-Id: %s\r\n"
			 "Audiohook-Session-Id: %s\r\n"
			 "Audiohook-Correlation-Id: %s\r\n"
			 "X-API-KEY: %s\r\n",
			 org, t->sid, t->corr, key);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	if (!secret || !*secret)
		return 0;
	size_t off = (size_t)n;
	char host[128], target[SIM_URI_MAX];
	if (sim_wsc_url_split(sc->target, host, sizeof(host), target,
			      sizeof(target)))
		return -EINVAL;
	/* @authority is the Host header libre sends: the host, no port */
	for (char *h = host; *h; h++)
		if (*h >= 'A' && *h <= 'Z')
			*h = (char)(*h - 'A' + 'a');
	uint8_t nonce_raw[16], skey[256];
	char nonce[32];
	rand_bytes(nonce_raw, sizeof(nonce_raw));
	(void)b64_encode(nonce_raw, sizeof(nonce_raw), nonce, sizeof(nonce));
	long long now = (long long)time(NULL);
	char params[320];
	snprintf(params, sizeof(params),
		 ";keyid=\"%s\";nonce=\"%s\";alg=\"hmac-sha256\";created=%lld"
		 ";expires=%lld",
		 key, nonce, now, now + 300);
	static const char names[] =
		"(\"@request-target\" \"@authority\" "
		"\"audiohook-organization-id\" \"audiohook-session-id\" "
		"\"audiohook-correlation-id\" \"x-api-key\")";
	char base[2048];
	n = snprintf(base, sizeof(base),
		     "\"@request-target\": %s\n\"@authority\": %s\n"
		     "\"audiohook-organization-id\": %s\n"
		     "\"audiohook-session-id\": %s\n"
		     "\"audiohook-correlation-id\": %s\n"
		     "\"x-api-key\": %s\n\"@signature-params\": %s%s",
		     target, host, org, t->sid, t->corr, key, names, params);
	if (n < 0 || (size_t)n >= sizeof(base))
		return -ENOSPC;
	int kl = b64_decode(secret, strlen(secret), skey, sizeof(skey));
	if (kl <= 0)
		return -EINVAL;
	struct hmac *h = NULL;
	uint8_t md[32];
	int err = hmac_create(&h, HMAC_HASH_SHA256, skey, (size_t)kl);
	if (!err)
		err = hmac_digest(h, md, sizeof(md), (const uint8_t *)base,
				  (size_t)n);
	mem_deref(h);
	memset(skey, 0, sizeof(skey));
	if (err)
		return -err;
	char sig[64];
	(void)b64_encode(md, sizeof(md), sig, sizeof(sig));
	n = snprintf(out + off, cap - off,
		     "Signature-Input: sig1=%s%s\r\nSignature: sig1=:%s:\r\n",
		     names, params, sig);
	return n > 0 && (size_t)n < cap - off ? 0 : -ENOSPC;
}

/* ---------- messages ---------- */

static void send_msg(struct sim_tr_call *t, const char *type,
		     const char *params_json)
{
	char buf[MSG_MAX];
	int n = snprintf(buf, sizeof(buf),
			 "{\"version\":\"2\",\"id\":\"%s\",\"type\":\"%s\","
			 "\"seq\":%" PRIu64 ",\"serverseq\":%" PRIu64
			 ",\"position\":\"PT%" PRIu64 ".%02" PRIu64
			 "S\",\"parameters\":%s}",
			 t->sid, type, t->seq + 1, t->serverseq,
			 t->sent_ms / 1000, t->sent_ms % 1000 / 10,
			 params_json ? params_json : "{}");
	if (n <= 0 || n >= (int)sizeof(buf)) {
		sim_call_fail(t->c, "%s: %s message too long", tname(t), type);
		return;
	}
	int err = sim_wsc_send_text(t->ws, buf, (size_t)n);
	if (!err)
		t->seq++;
	else if (err != -ENOTCONN)
		sim_call_fail(t->c, "%s: send failed: %s", tname(t),
			      strerror(-err));
}

/* {"a":"b",...} of the params with prefix (values as JSON strings). */
static cJSON *params_object(const struct sim_scenario *sc, const char *prefix)
{
	cJSON *o = cJSON_CreateObject();
	size_t pl = strlen(prefix);
	for (size_t i = 0; o && i < sc->nparams; i++)
		if (!strncmp(sc->params[i].key, prefix, pl))
			(void)cJSON_AddStringToObject(o, sc->params[i].key + pl,
						      sc->params[i].value);
	return o;
}

static void send_open(struct sim_tr_call *t)
{
	const struct sim_scenario *sc = t->sc;
	cJSON *p = cJSON_CreateObject();
	cJSON *part = cJSON_CreateObject();
	cJSON *media = cJSON_Parse("[{\"type\":\"audio\",\"format\":\"PCMU\","
				   "\"channels\":[\"external\"],"
				   "\"rate\":8000}]");
	const char *lang = sim_scenario_param(sc, "language");
	if (!p || !part || !media) {
		cJSON_Delete(p);
		cJSON_Delete(part);
		cJSON_Delete(media);
		sim_call_fail(t->c, "%s: out of memory", tname(t));
		return;
	}
	(void)cJSON_AddStringToObject(p, "organizationId", org_id(sc));
	(void)cJSON_AddStringToObject(p, "conversationId", t->conv);
	(void)cJSON_AddStringToObject(part, "id", t->part);
	(void)cJSON_AddStringToObject(part, "ani", sc->from);
	(void)cJSON_AddStringToObject(part, "aniName", "voxgate simulate");
	const char *dnis = sim_scenario_param(sc, "dnis");
	(void)cJSON_AddStringToObject(part, "dnis", dnis ? dnis : "");
	cJSON_AddItemToObject(p, "participant", part);
	cJSON_AddItemToObject(p, "media", media);
	(void)cJSON_AddStringToObject(p, "language",
				      lang && *lang ? lang : "en-US");
	cJSON_AddItemToObject(p, "inputVariables", params_object(sc, "input."));
	cJSON_AddItemToObject(p, "customConfig", params_object(sc, "custom."));
	char *s = cJSON_PrintUnformatted(p);
	cJSON_Delete(p);
	if (!s) {
		sim_call_fail(t->c, "%s: out of memory", tname(t));
		return;
	}
	send_msg(t, "open", s);
	cJSON_free(s);
}

/* ---------- the monitor's record ---------- */

static void record_transcript(struct sim_tr_call *t, const char *text)
{
	if (!t->record)
		return;
	cJSON *turns = cJSON_GetObjectItemCaseSensitive(t->record, "turns");
	cJSON *prompts = cJSON_GetObjectItemCaseSensitive(t->record, "prompts");
	cJSON *turn = cJSON_CreateObject();
	cJSON *prompt = cJSON_CreateObject();
	if (!turn || !prompt) {
		cJSON_Delete(turn);
		cJSON_Delete(prompt);
		return;
	}
	(void)cJSON_AddStringToObject(turn, "input", "speech");
	(void)cJSON_AddStringToObject(turn, "transcript", text);
	(void)cJSON_AddStringToObject(turn, "end", "match");
	cJSON_AddItemToArray(turns, turn);
	(void)cJSON_AddStringToObject(prompt, "text", text);
	cJSON_AddItemToArray(prompts, prompt);
}

/* The agentassist intent belongs to the last transcript. */
static void record_intent(struct sim_tr_call *t, const char *intent)
{
	cJSON *turns =
		t->record ? cJSON_GetObjectItemCaseSensitive(t->record, "turns")
			  : NULL;
	int n = cJSON_GetArraySize(turns);
	cJSON *last = n ? cJSON_GetArrayItem(turns, n - 1) : NULL;
	if (!last || cJSON_GetObjectItemCaseSensitive(last, "intent"))
		return;
	(void)cJSON_AddStringToObject(last, "intent", intent);
}

/* A transcript heard: a 200 ms tone at once (see the top of the file). */
static void transcript_tone(struct sim_tr_call *t)
{
	int16_t tone[TONE_SAMPLES];
	for (size_t i = 0; i < TONE_SAMPLES; i++)
		tone[i] = (int16_t)lrint(
			8000.0 * sin(2 * M_PI * 440.0 * (double)i / 8000.0));
	(void)sim_playq_push(&t->q, tone, TONE_SAMPLES);
	int16_t out[SIM_PLAYQ_FRAME];
	if (sim_playq_arrive(&t->q, out))
		sim_call_heard(t->c, out, SIM_PLAYQ_FRAME);
}

/* ---------- WebSocket events ---------- */

static void on_open(void *arg)
{
	struct sim_tr_call *t = arg;
	if (t->done)
		return;
	t->upgraded = true;
	send_open(t);
}

static void on_disconnect(struct sim_tr_call *t, const struct sim_ahmsg *m)
{
	if (t->disconnected)
		return;
	t->disconnected = true;
	if (!strcmp(m->action, "transfer")) {
		char target[SIM_WSMSG_STR_MAX + 8];
		if (m->transfer_target[0])
			snprintf(target, sizeof(target), "%s",
				 m->transfer_target);
		else
			snprintf(target, sizeof(target), "queue:%s",
				 m->transfer_queue);
		sim_call_transfer(t->c, target);
	}
	if (!strcmp(m->reason, "error") || !strcmp(m->reason, "unauthorized"))
		sim_call_fail(t->c, "%s: the server disconnected (%s)",
			      tname(t), m->reason);
	if (!t->close_sent) {
		t->close_sent = true;
		send_msg(t, "close", "{\"reason\":\"disconnect\"}");
	}
}

static void on_text(const char *text, size_t len, void *arg)
{
	struct sim_tr_call *t = arg;
	if (t->done)
		return;
	static struct sim_ahmsg m; /* one loop thread */
	int err = sim_ahmsg_parse(text, len, &m);
	if (err) {
		sim_call_fail(t->c,
			      "%s: malformed message from the server (%s)",
			      tname(t), strerror(-err));
		return;
	}
	if (strcmp(m.id, t->sid) || m.seq != t->serverseq + 1)
		sim_call_fail(t->c,
			      "%s: server message %s with id/seq out of "
			      "order (seq %" PRIu64 " after %" PRIu64 ")",
			      tname(t), m.type_name, m.seq, t->serverseq);
	if (m.seq > t->serverseq)
		t->serverseq = m.seq;
	switch (m.type) {
	case SIM_AH_OPENED:
		if (t->opened)
			break;
		if (strcmp(m.format, "PCMU") || m.rate_hz != 8000) {
			end(t, false,
			    "opened with a media format we did not "
			    "offer");
			return;
		}
		t->opened = true;
		sim_call_answered(t->c);
		/* the monitor has no greeting: a tone stands for "the
		 * conversation began" so the first turn starts after
		 * `quiet`, not after reply_timeout */
		if (t->mode == G_MONITOR)
			transcript_tone(t);
		break;
	case SIM_AH_EVENT:
		if (m.barge_in)
			sim_playq_clear(&t->q);
		if (t->mode == G_MONITOR && m.transcript &&
		    m.transcript_final && !strcmp(m.channel, "external")) {
			record_transcript(t, m.text);
			transcript_tone(t);
		}
		if (t->mode == G_MONITOR && m.assist && m.intent[0])
			record_intent(t, m.intent);
		break;
	case SIM_AH_DISCONNECT:
		on_disconnect(t, &m);
		break;
	case SIM_AH_CLOSED:
		end(t, true, NULL);
		break;
	case SIM_AH_ERROR:
		sim_call_fail(t->c, "%s: error %d from the server: %s",
			      tname(t), m.code, m.message);
		break;
	default:
		break; /* pong, updated, pause, resume: nothing to do */
	}
}

static void on_binary(const uint8_t *data, size_t len, void *arg)
{
	struct sim_tr_call *t = arg;
	if (t->done)
		return;
	if (t->mode == G_MONITOR) {
		sim_call_fail(t->c, "audiohook: the monitor sent audio");
		return;
	}
	int16_t pcm[2048];
	while (len) {
		size_t n = len < 2048 ? len : 2048;
		audio_ulaw_decode_buf(data, pcm, n);
		if (sim_playq_push(&t->q, pcm, n) < n)
			sim_call_fail(t->c,
				      "audioconnector: the bot sent audio over "
				      "10 s ahead of real time (dropped)");
		data += n;
		len -= n;
	}
	sim_call_res(t->c)->rtp_rx++;
	int16_t out[SIM_PLAYQ_FRAME];
	if (sim_playq_arrive(&t->q, out))
		sim_call_heard(t->c, out, SIM_PLAYQ_FRAME);
}

static void on_closed(int err, void *arg)
{
	struct sim_tr_call *t = arg;
	char why[160];
	if (!t->upgraded) {
		snprintf(why, sizeof(why), "%s: WebSocket not opened: %s%s",
			 tname(t), strerror(err ? err : ECONNRESET),
			 err == EPROTO ? " (upgrade refused: API key, "
					 "signature, path or capacity?)"
				       : "");
		end(t, false, why);
		return;
	}
	if (!t->opened) {
		snprintf(why, sizeof(why), "%s: closed before `opened`",
			 tname(t));
		end(t, false, why);
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

static int start(struct sim_tr_call **tp, enum gmode mode, struct sim_call *c,
		 const struct sim_scenario *sc)
{
	struct sim_tr_call *t = mem_zalloc(sizeof(*t), NULL);
	if (!t)
		return -ENOMEM;
	t->mode = mode;
	t->c = c;
	t->sc = sc;
	int err = sim_playq_init(&t->q, PLAYQ_SAMPLES);
	if (err) {
		mem_deref(t);
		return err;
	}
	uuid(t->sid);
	uuid(t->corr);
	uuid(t->conv);
	uuid(t->part);
	if (mode == G_BOT) {
		snprintf(sim_call_res(c)->sip_call_id,
			 sizeof(sim_call_res(c)->sip_call_id), "%s", t->conv);
	} else {
		t->record = cJSON_CreateObject();
		if (!t->record || !cJSON_AddArrayToObject(t->record, "turns") ||
		    !cJSON_AddArrayToObject(t->record, "prompts") ||
		    !cJSON_AddStringToObject(t->record, "conversation_id",
					     t->conv))
			err = -ENOMEM;
	}
	char headers[2048];
	if (!err)
		err = upgrade_headers(t, headers, sizeof(headers));
	if (!err)
		err = sim_wsc_connect(&t->ws, sc->target, headers, &ws_handlers,
				      t);
	if (err) {
		cJSON_Delete(t->record);
		sim_playq_fini(&t->q);
		mem_deref(t);
		return err;
	}
	*tp = t;
	return 0;
}

static int bot_start(struct sim_tr_call **tp, void *state, struct sim_call *c,
		     const struct sim_scenario *sc, uint64_t idx)
{
	(void)state;
	(void)idx;
	return start(tp, G_BOT, c, sc);
}

static int mon_start(struct sim_tr_call **tp, void *state, struct sim_call *c,
		     const struct sim_scenario *sc, uint64_t idx)
{
	(void)state;
	(void)idx;
	return start(tp, G_MONITOR, c, sc);
}

static void play_tick(struct sim_tr_call *t)
{
	int16_t out[SIM_PLAYQ_FRAME];
	size_t n;
	if (sim_playq_tick(&t->q, out, &n))
		sim_call_heard(t->c, out, SIM_PLAYQ_FRAME);
	if (++t->ping_ticks >= PING_TICKS && !t->disconnected) {
		t->ping_ticks = 0;
		send_msg(t, "ping", NULL);
	}
}

static void send_frame(struct sim_tr_call *t, const int16_t *pcm)
{
	if (t->disconnected || t->close_sent)
		return;
	uint8_t ulaw[SIM_TR_FRAME];
	audio_ulaw_encode_buf(pcm, ulaw, SIM_TR_FRAME);
	int err = sim_wsc_send_binary(t->ws, ulaw, sizeof(ulaw));
	if (!err) {
		sim_call_res(t->c)->rtp_tx++;
		t->sent_ms += 20;
	}
}

static void g_send_audio(struct sim_tr_call *t, const int16_t *pcm, bool voiced)
{
	(void)voiced;
	if (t->done)
		return;
	send_frame(t, pcm);
	play_tick(t);
}

static int g_dtmf(struct sim_tr_call *t, char key, bool first)
{
	static const int16_t silence[SIM_TR_FRAME];
	if (t->done)
		return 1;
	send_frame(t, silence);
	play_tick(t);
	if (!key)
		return 1;
	if (first) {
		char p[32];
		snprintf(p, sizeof(p), "{\"digit\":\"%c\"}", key);
		send_msg(t, "dtmf", p);
		t->key_ticks = 0;
	}
	return ++t->key_ticks >= KEY_TICKS ? 1 : 0;
}

static void g_hangup(struct sim_tr_call *t)
{
	if (t->done)
		return;
	t->done = true;
	if (!t->close_sent && t->opened) {
		t->close_sent = true;
		send_msg(t, "close", "{\"reason\":\"end\"}");
	}
}

static void g_free(struct sim_tr_call *t)
{
	if (!t)
		return;
	t->done = true;
	if (t->record) {
		sim_call_record(t->c, t->record);
		t->record = NULL;
	}
	sim_wsc_close(t->ws);
	sim_playq_fini(&t->q);
	mem_deref(t);
}

const struct sim_transport_ops sim_tr_audioconnector = {
	.name = "audioconnector",
	.target_example = "ws://127.0.0.1:8082/genesys/audioconnector",
	.params = g_params,
	.target_check = bot_target_check,
	.close = sim_wsc_close_all,
	.start = bot_start,
	.send_audio = g_send_audio,
	.dtmf = g_dtmf,
	.hangup = g_hangup,
	.free = g_free,
};

const struct sim_transport_ops sim_tr_audiohook = {
	.name = "audiohook",
	.target_example = "ws://127.0.0.1:8082/genesys/audiohook",
	.params = g_params,
	.target_check = mon_target_check,
	.close = sim_wsc_close_all,
	.start = mon_start,
	.send_audio = g_send_audio,
	.dtmf = g_dtmf,
	.no_transfer = true,
	.hangup = g_hangup,
	.free = g_free,
};
