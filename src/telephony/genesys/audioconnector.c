/* Genesys Audio Connector bot (see audioconnector.h). The AudioHook server
 * runs the protocol; this file turns its bot sessions into media calls.
 * One timerfd media clock serves every call every 20 ms: it pulls the
 * call's next frame and sends it as one PCMU binary message, so Genesys
 * never holds more than the network's worth of our audio. A prompt whose
 * last frame went out is acknowledged at once (call_set_play_ack): a
 * prompt stopped before that was interrupted, and Genesys is told with a
 * `barge_in` event. Calls are freed only from the media clock, never
 * inside a server hook. */
#include "telephony/genesys/audioconnector.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>
#include <re.h>

#include "audio/rtpout.h"
#include "call/call.h"
#include "core/clock.h"
#include "core/log.h"
#include "metrics/metrics.h"
#include "telephony/common/mclock.h"
#include "telephony/genesys/audiohook.h"

enum {
	FRAME_US = 20000,
	FRAME_SAMPLES = 160,
	/* Bytes queued unsent before frames are dropped (~25 PCMU frames):
	 * queued audio cannot be taken back on barge-in. */
	TXQ_MAX = 4096,
	FLOW_NAME_MAX = 63,
	TARGET_MAX = 256,
	CTX_MAX = 32,
};

struct acconn {
	struct le le;
	struct acbot *b;
	struct ah_session *s; /* NULL once the server closed it */
	struct call *call;
	int16_t in[FRAME_SAMPLES];
	size_t nin;
	uint32_t out_play; /* call_play_id of audio Genesys may hold */
	bool answered;
	bool dead; /* release on the next clock tick */
	bool gone; /* call_gone raised */
	bool disconnected;
	bool xfer_due; /* complete the transfer on the next tick */
	bool paused;   /* Genesys paused the stream (hold): no audio comes */
	bool transferred;
	char target[TARGET_MAX];
	char ctx_keys[CTX_MAX][65];
	char ctx_vals[CTX_MAX][TARGET_MAX];
	unsigned nctx;
	uint64_t rx_frames, tx_frames;
};

struct acbot {
	struct acbot_cfg cfg;
	struct acbot_handlers h;
	void *arg;
	struct audiohook *ah;
	struct mclock clock; /* one media clock for every session */
	struct list conns;
	unsigned active;
	struct acbot_stats st;
	struct metric_counter *m_calls, *m_barge;
	struct metric_gauge *m_active;
};

static uint64_t now_ms(void)
{
	return clock_mono_ms();
}

static const char *log_id(const struct acconn *c)
{
	return c->call ? call_id(c->call) : NULL;
}

/* ---------- pure helpers ---------- */

static const char *flow_of(const struct cJSON *o)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "flow");
	if (!cJSON_IsString(v) || !v->valuestring[0] ||
	    strlen(v->valuestring) > FLOW_NAME_MAX)
		return NULL;
	return v->valuestring;
}

const char *acbot_open_flow(const struct ahmsg *open)
{
	if (!open)
		return NULL;
	const char *f = flow_of(open->input_variables);
	return f ? f : flow_of(open->custom_config);
}

bool acbot_last_intent(const char *turns_json, char *intent, size_t cap,
		       double *confidence)
{
	cJSON *a = turns_json ? cJSON_Parse(turns_json) : NULL;
	cJSON *arr = cJSON_IsArray(a) ? a : NULL;
	bool found = false;
	const cJSON *t;
	cJSON_ArrayForEach(t, arr)
	{
		const cJSON *i = cJSON_GetObjectItemCaseSensitive(t, "intent");
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(
			t, "intent_confidence");
		if (!cJSON_IsString(i) || !i->valuestring[0])
			continue;
		snprintf(intent, cap, "%s", i->valuestring);
		*confidence = cJSON_IsNumber(c) ? c->valuedouble : 0.0;
		found = true;
	}
	cJSON_Delete(a);
	return found;
}

/* ---------- call ops ---------- */

static cJSON *outputs(struct acconn *c, const char *reason)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	char intent[64] = "", conf[16] = "0";
	double cf = 0;
	if (acbot_last_intent(call_turns_json(c->call), intent, sizeof(intent),
			      &cf))
		snprintf(conf, sizeof(conf), "%.3f", cf);
	cJSON_AddStringToObject(o, "action",
				c->transferred ? "transfer" : "finished");
	cJSON_AddStringToObject(o, "intent", intent);
	cJSON_AddStringToObject(o, "confidence", conf);
	cJSON_AddStringToObject(o, "endReason", reason ? reason : "completed");
	cJSON_AddStringToObject(
		o, "flow",
		call_flow_name(c->call) ? call_flow_name(c->call) : "");
	if (c->transferred) {
		cJSON_AddStringToObject(o, "transferTarget", c->target);
		/* Genesys routes to its own ACD queues by name. */
		if (!strncmp(c->target, "queue:", 6) && c->target[6])
			cJSON_AddStringToObject(o, "transferQueue",
						c->target + 6);
		for (unsigned i = 0; i < c->nctx; i++)
			if (!cJSON_GetObjectItemCaseSensitive(o,
							      c->ctx_keys[i]))
				cJSON_AddStringToObject(o, c->ctx_keys[i],
							c->ctx_vals[i]);
	}
	if (c->b->h.call_outputs)
		c->b->h.call_outputs(c->call, o, c->b->arg);
	return o;
}

static int op_answer(void *arg)
{
	struct acconn *c = arg;
	/* Genesys answered before connecting the bot: `opened` is the
	 * server's; the media clock starts serving this call. */
	c->answered = true;
	return 0;
}

static int op_hangup(void *arg, enum call_fsm_action act, const char *reason)
{
	struct acconn *c = arg;
	(void)act;
	if (!c->s || c->disconnected)
		return 0;
	c->disconnected = true;
	bool error = reason && (!strcmp(reason, "error") ||
				!strcmp(reason, "flow_error"));
	cJSON *o = outputs(c, reason);
	char *txt = o ? cJSON_PrintUnformatted(o) : NULL;
	LOGI(log_id(c), "acbot_disconnect", "reason=%s outputs=%s",
	     reason ? reason : "", txt ? txt : "{}");
	free(txt);
	int err = audiohook_session_disconnect(
		c->s, error ? "error" : "completed", error ? reason : NULL, o);
	cJSON_Delete(o);
	c->b->st.disconnects++;
	if (err)
		LOGW(log_id(c), "acbot_disconnect_failed", "err=%d", err);
	/* The server answers the client's close and calls on_close; the
	 * call is released then. */
	return 0;
}

static int op_transfer(void *arg, const char *target,
		       const struct channel_kv *ctx, unsigned nctx)
{
	struct acconn *c = arg;
	if (!c->s)
		return -ENOTCONN;
	/* Genesys transfers after the bot's disconnect: the Architect flow
	 * reads action/transferTarget and routes the call. */
	snprintf(c->target, sizeof(c->target), "%s", target);
	c->nctx = 0;
	for (unsigned i = 0; i < nctx && i < CTX_MAX; i++) {
		snprintf(c->ctx_keys[c->nctx], sizeof(c->ctx_keys[0]), "%s",
			 ctx[i].key ? ctx[i].key : "");
		snprintf(c->ctx_vals[c->nctx], sizeof(c->ctx_vals[0]), "%s",
			 ctx[i].value ? ctx[i].value : "");
		if (c->ctx_keys[c->nctx][0])
			c->nctx++;
	}
	c->transferred = true;
	c->xfer_due = true;
	c->b->st.transfers++;
	LOGI(log_id(c), "acbot_transfer", "target=%s", log_esc(target));
	return 0;
}

static const struct call_media_ops ac_media_ops = {
	.answer = op_answer,
	.hangup = op_hangup,
	.transfer = op_transfer,
};

static void call_state_cb(struct call *call, enum call_state old, void *arg)
{
	struct acconn *c = arg;
	if (c->b->h.call_state)
		c->b->h.call_state(call, (int)old, c->b->arg);
}

/* ---------- server hooks ---------- */

static int on_open(struct ah_session *s, const struct ahmsg *open,
		   bool *start_paused, void *arg)
{
	struct acbot *b = arg;
	(void)start_paused;
	if (!b)
		return -ESHUTDOWN;
	if (b->active >= b->cfg.max_calls) {
		b->st.refused++;
		LOGW(NULL, "call_rejected",
		     "platform=genesys reason=max_calls");
		return -EBUSY;
	}
	struct acconn *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->b = b;
	c->s = s;
	const char *conv = audiohook_session_conversation(s);
	struct call_params cp = {
		.platform = ACBOT_PLATFORM,
		.from = open->ani,
		.to = open->dnis,
		.platform_id = conv && conv[0] ? conv : audiohook_session_id(s),
		.media_timeout_ms = b->cfg.media_timeout_ms,
		.now_ms = now_ms(),
	};
	int err = call_create(&c->call, &cp, &ac_media_ops, c);
	if (err) {
		LOGW(NULL, "call_rejected", "platform=genesys err=%d", err);
		free(c);
		b->st.refused++;
		return err;
	}
	const char *flow = acbot_open_flow(open);
	if (!flow && b->cfg.default_flow[0])
		flow = b->cfg.default_flow;
	if (flow)
		call_set_flow_name(c->call, flow);
	call_set_media_info(c->call, "PCMU", "");
	call_set_play_ack(c->call, true);
	struct call_observer obs = { .state_changed = call_state_cb, .arg = c };
	call_set_observer(c->call, &obs);
	audiohook_session_set_data(s, c);
	list_append(&b->conns, &c->le, c);
	b->active++;
	b->st.sessions++;
	metric_counter_add(b->m_calls, 1);
	metric_gauge_set(b->m_active, b->active);
	uint64_t now = now_ms();
	LOGI(call_id(c->call), "call_incoming",
	     "platform=genesys session=%s conversation=%s flow=%s ani=%s",
	     audiohook_session_id(s), conv ? conv : "",
	     log_esc(flow ? flow : ""), log_esc(open->ani));
	if (b->h.call_new && b->h.call_new(c->call, b->arg)) {
		/* The server sends the error disconnect: detach first. */
		audiohook_session_set_data(s, NULL);
		c->s = NULL;
		c->dead = true;
		call_signal(c->call, CALL_EV_ERROR, now);
		return -ENOENT;
	}
	err = call_answer(c->call, now);
	if (!err)
		call_signal(c->call, CALL_EV_ACK, now);
	else
		LOGW(call_id(c->call), "answer_failed", "err=%d", err);
	return 0;
}

static void on_audio(struct ah_session *s, const int16_t *ext,
		     const int16_t *in, size_t n, uint64_t position_ms,
		     void *arg)
{
	struct acconn *c = audiohook_session_data(s);
	(void)in;
	(void)position_ms;
	(void)arg;
	if (!c || c->dead || !ext)
		return;
	uint64_t now = now_ms();
	for (size_t i = 0; i < n && !c->dead; i++) {
		c->in[c->nin++] = ext[i];
		if (c->nin == FRAME_SAMPLES) {
			c->nin = 0;
			c->rx_frames++;
			c->b->st.rx_frames++;
			call_audio_in(c->call, c->in, FRAME_SAMPLES, now);
		}
	}
}

static void on_message(struct ah_session *s, const struct ahmsg *m, void *arg)
{
	struct acconn *c = audiohook_session_data(s);
	(void)arg;
	if (!c || c->dead)
		return;
	switch (m->type) {
	case AHMSG_DTMF:
		c->b->st.dtmf++;
		LOGD(log_id(c), "acbot_dtmf", "digit=%c", m->digit);
		call_dtmf_in(c->call, m->digit, now_ms());
		break;
	case AHMSG_PAUSED:
	case AHMSG_RESUMED:
		c->paused = m->type == AHMSG_PAUSED;
		LOGI(log_id(c), "acbot_paused", "paused=%d", c->paused);
		break;
	case AHMSG_ERROR:
		LOGW(log_id(c), "acbot_client_error", "code=%d message=%s",
		     m->code, log_esc(m->message));
		break;
	case AHMSG_PLAYBACK_STARTED:
	case AHMSG_PLAYBACK_COMPLETED:
		LOGD(log_id(c), "acbot_playback", "type=%s", m->type_name);
		break;
	default:
		break;
	}
}

static void on_close(struct ah_session *s, const char *reason, void *arg)
{
	struct acconn *c = audiohook_session_data(s);
	(void)arg;
	audiohook_session_set_data(s, NULL);
	if (!c)
		return;
	c->s = NULL;
	if (c->call && !c->dead && call_state(c->call) != CALL_ENDED) {
		LOGI(call_id(c->call), "acbot_closed", "why=%s",
		     reason ? reason : "");
		call_signal(c->call,
			    c->disconnected ? CALL_EV_CLOSED
					    : CALL_EV_REMOTE_BYE,
			    now_ms());
	}
	c->dead = true;
}

static const struct audiohook_hooks hooks = {
	.on_open = on_open,
	.on_audio = on_audio,
	.on_message = on_message,
	.on_close = on_close,
};

/* ---------- media clock ---------- */

static void release_conn(struct acconn *c)
{
	struct acbot *b = c->b;
	if (c->s) { /* still open at the server: detach */
		audiohook_session_set_data(c->s, NULL);
		c->s = NULL;
	}
	if (c->call) {
		if (call_state(c->call) != CALL_ENDED)
			call_signal(c->call, CALL_EV_CLOSED, now_ms());
		call_set_rtp_counts(c->call, c->tx_frames, c->rx_frames);
		if (!c->gone) {
			c->gone = true;
			if (b->h.call_gone)
				b->h.call_gone(c->call, b->arg);
		}
		LOGI(call_id(c->call), "acbot_released",
		     "rx_frames=%llu tx_frames=%llu",
		     (unsigned long long)c->rx_frames,
		     (unsigned long long)c->tx_frames);
	}
	list_unlink(&c->le);
	if (b->active)
		b->active--;
	metric_gauge_set(b->m_active, b->active);
	call_destroy(c->call);
	free(c);
}

static void tx_frame(struct acconn *c, uint64_t now)
{
	struct acbot *b = c->b;
	int16_t pcm[FRAME_SAMPLES];
	if (c->xfer_due) {
		c->xfer_due = false;
		call_transfer_result(c->call, 0, 200);
		if (c->dead || !c->s)
			return;
	}
	/* On hold no audio comes, by design: the caller is still there. */
	if (c->paused)
		call_audio_in(c->call, NULL, 0, now);
	bool audio = call_tick(c->call, now, pcm);
	for (char d; (d = call_dtmf_out_next(c->call));)
		LOGW(call_id(c->call), "acbot_dtmf_unsupported", "digit=%c", d);
	if (!c->s || c->disconnected)
		return;
	uint32_t play = call_play_id(c->call);
	/* The prompt Genesys was playing stopped before its end: barge-in
	 * (or a stop): Genesys drops what it still holds. */
	if (c->out_play && play != c->out_play) {
		int err = audiohook_session_send_barge_in(c->s);
		b->st.barge_ins++;
		metric_counter_add(b->m_barge, 1);
		LOGI(call_id(c->call), "acbot_barge_in", "err=%d", err);
		c->out_play = 0;
	}
	if (audio && audiohook_session_txq(c->s) > TXQ_MAX) {
		b->st.tx_dropped++;
		audio = false;
	}
	if (audio) {
		int err =
			audiohook_session_send_audio(c->s, pcm, FRAME_SAMPLES);
		if (!err) {
			c->tx_frames++;
			b->st.tx_frames++;
			c->out_play = play;
		} else {
			b->st.tx_dropped++;
		}
	}
	/* Sent in real time: once the last frame is out, Genesys has (all
	 * but the network's worth of) it played. */
	if (call_play_ack_due(c->call)) {
		c->out_play = 0;
		call_play_ack(c->call, now);
	}
}

static void serve(struct acbot *b)
{
	uint64_t now = now_ms();
	struct le *le = list_head(&b->conns);
	while (le) {
		struct acconn *c = le->data;
		le = le->next;
		if (c->dead) {
			release_conn(c);
			continue;
		}
		if (c->answered)
			tx_frame(c, now);
	}
}

static void media_tick(uint64_t deadline_us, void *arg)
{
	(void)deadline_us;
	serve(arg);
}

/* After a stall catch up one frame at most: Genesys plays in real time, a
 * burst would only sit in its buffer. */
static int start_clock(struct acbot *b)
{
	return mclock_start(&b->clock, FRAME_US, 2, media_tick, NULL, b);
}

/* ---------- life ---------- */

int acbot_create(struct acbot **bp, struct audiohook *ah,
		 const struct acbot_cfg *cfg, const struct acbot_handlers *h,
		 void *arg)
{
	if (!bp || !ah || !cfg)
		return -EINVAL;
	struct acbot *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->cfg = *cfg;
	b->cfg.default_flow[sizeof(b->cfg.default_flow) - 1] = '\0';
	if (!b->cfg.max_calls)
		b->cfg.max_calls = 1000;
	if (h)
		b->h = *h;
	b->arg = arg;
	b->ah = ah;
	mclock_init(&b->clock);
	list_init(&b->conns);
	b->m_calls = metrics_counter("voxgate_genesys_bot_calls_total", NULL,
				     "Audio Connector bot sessions started");
	b->m_barge =
		metrics_counter("voxgate_genesys_bot_barge_ins_total", NULL,
				"barge_in events sent (prompt stopped)");
	b->m_active = metrics_gauge("voxgate_genesys_bot_active", NULL,
				    "Audio Connector bot sessions open");
	int err = start_clock(b);
	if (err) {
		free(b);
		return err;
	}
	audiohook_set_hooks(ah, AUDIOHOOK_BOT, &hooks, b);
	LOGI(NULL, "genesys_audioconnector_ready", "path=%s flow=%s",
	     AUDIOCONNECTOR_PATH, log_esc(b->cfg.default_flow));
	*bp = b;
	return 0;
}

void acbot_hangup_all(struct acbot *b, const char *reason)
{
	if (!b)
		return;
	struct le *le = list_head(&b->conns);
	while (le) {
		struct acconn *c = le->data;
		le = le->next;
		if (!c->dead && c->call)
			(void)channel_hangup(call_channel(c->call), reason);
	}
}

void acbot_destroy(struct acbot *b)
{
	if (!b)
		return;
	acbot_hangup_all(b, "shutdown");
	/* New sessions are refused from now on (on_open with no bot);
	 * sessions still open at the server are detached from their calls. */
	audiohook_set_hooks(b->ah, AUDIOHOOK_BOT, &hooks, NULL);
	while (list_head(&b->conns))
		release_conn(list_head(&b->conns)->data);
	mclock_stop(&b->clock);
	free(b);
}

unsigned acbot_active_calls(const struct acbot *b)
{
	return b ? b->active : 0;
}

void acbot_get_stats(const struct acbot *b, struct acbot_stats *st)
{
	if (b && st)
		*st = b->st;
}
