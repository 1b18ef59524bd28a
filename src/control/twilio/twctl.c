/* Twilio webhooks -> flow runs -> TwiML (see twctl.h). A request walks the
 * run until it needs the caller (GATHER: answer the webhook, Twilio posts
 * the result to /twilio/gather) or the end; SAY/PLAY/TRANSFER/HANGUP become
 * TwiML verbs fed back as done at once, HTTP/LOOKUP hold the request until
 * the back-end answers (at most backend_timeout_ms). */
#include "control/twilio/twctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <re.h>

#include "control/twilio/twiml.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/strbuf.h"
#include "flow/flow.h"
#include "flow/runtime.h"
#include "metrics/metrics.h"
#include "store/store.h"
#include "telephony/twilio/mstream.h"
#include "telephony/twilio/twform.h"
#include "telephony/twilio/twsig.h"

/* The store's adapter_sessions platform of Twilio webhook calls. */
#define TW_PLATFORM "twilio"

enum {
	SID_MAX = 64,
	FIELD_MAX = 256,
	URL_MAX = 4096,
	PATH_NODES_MAX = 500,
	TURNS_MAX = 200,
	SPEECH_MAX = 2048,
	DIGITS_MAX = 64,
	STATE_VERSION = 1,
	DEFAULT_TIMEOUT_MS = 10000,
};

enum route { R_VOICE, R_GATHER, R_STATUS };
static const char *const route_names[] = { "voice", "gather", "status" };

struct twcall;

/* A back-end request in flight; call is cleared when the call goes first. */
struct twbreq {
	struct twcall *call;
};

struct twcall {
	struct twcall *next;
	struct twctl *ctl;
	char sid[SID_MAX + 1];
	char from[FIELD_MAX], to[FIELD_MAX], flow[FIELD_MAX];
	int64_t started_ms;
	struct flow_run *run;
	cJSON *path;  /* node names (CDR flow_path) */
	cJSON *turns; /* turn objects (CDR turns) */
	char dtmf[DIGITS_MAX * 4];
	float stt_conf; /* of the input being fed (for on_turn) */
	/* The request being answered. */
	struct http_conn *conn; /* a reference, or NULL */
	enum route route;
	uint64_t t0_us;
	struct twiml doc;
	bool hung_up; /* <Hangup/> written */
	struct twbreq *breq;
	struct tmr tmr;
};

/* Input of a webhook copied while the call is read from the store. */
struct twin {
	char digits[DIGITS_MAX + 1];
	char speech[SPEECH_MAX + 1];
	float conf;
	char status[32];
};

/* A request waiting for the store; ctl is cleared when the adapter goes
 * first. */
struct twwait {
	struct twwait *prev, *next;
	struct twctl *ctl;
	struct http_conn *conn; /* a reference */
	enum route route;
	uint64_t t0_us;
	char sid[SID_MAX + 1];
	struct twin in;
};

struct twctl {
	struct vg_loop *loop;
	struct store *store;
	const struct flow_backend *backend;
	struct flow *(*route)(void *arg, const char *to);
	void (*flows_hold)(void *arg, bool hold);
	void *route_arg;
	char *auth_token, *public_url, *voice, *language, *agent_uri;
	bool media_calls; /* answer /voice with <Connect><Stream> */
	unsigned timeout_ms;
	struct twcall *calls;
	unsigned ncalls;
	struct twwait *waits;
};

static void drive(struct twcall *c, const struct flow_result *res);

static void hold_flows(const struct twctl *t, bool hold)
{
	if (t->flows_hold)
		t->flows_hold(t->route_arg, hold);
}

/* ---- replies ---- */

static const char CT_XML[] = "application/xml";

static const char *reason_phrase(uint16_t code)
{
	switch (code) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

static void count(enum route r, uint16_t code, uint64_t t0_us)
{
	char labels[64];
	snprintf(labels, sizeof(labels), "route=\"%s\",code=\"%u\"",
		 route_names[r], code);
	metric_counter_add(metrics_counter("voxgate_twilio_requests_total",
					   labels,
					   "Twilio webhook requests by route "
					   "and status code"),
			   1);
	snprintf(labels, sizeof(labels), "route=\"%s\"", route_names[r]);
	metric_histogram_observe(
		metrics_histogram("voxgate_twilio_request_seconds", labels,
				  "Twilio webhook time from request to reply",
				  NULL, 0),
		(double)(clock_mono_us() - t0_us) / 1e6);
}

static void reply(struct http_conn *conn, uint16_t code, const char *ctype,
		  const char *body, size_t len)
{
	int err = http_reply(conn, code, reason_phrase(code),
			     "Content-Type: %s\r\n"
			     "Content-Length: %zu\r\n"
			     "Cache-Control: no-store\r\n"
			     "\r\n"
			     "%b",
			     ctype, len, body ? body : "", len);
	if (err && err != ENOTCONN)
		LOGW(NULL, "twilio_reply_failed", "code=%u err=%d", code, err);
}

static void reply_text(struct http_conn *conn, enum route r, uint64_t t0_us,
		       uint16_t code, const char *text)
{
	reply(conn, code, "text/plain; charset=utf-8", text, strlen(text));
	count(r, code, t0_us);
}

/* A whole TwiML answer: an apology (or nothing) and <Hangup/>. */
static void reply_hangup(struct http_conn *conn, enum route r, uint64_t t0_us,
			 const char *say, const struct twctl *t)
{
	struct twiml doc;
	twiml_init(&doc);
	if (say) {
		const char *attrs[] = { "voice", t->voice[0] ? t->voice : NULL,
					"language", t->language, NULL };
		twiml_elem(&doc, "Say", attrs, say);
	}
	twiml_elem(&doc, "Hangup", NULL, NULL);
	const char *xml;
	size_t len;
	if (twiml_finish(&doc, &xml, &len) == 0)
		reply(conn, 200, CT_XML, xml, len);
	else
		reply(conn, 500, "text/plain", "", 0);
	count(r, 200, t0_us);
	twiml_fini(&doc);
}

/* ---- call events (webhooks.urls), as SIP calls send them ---- */

/* fields: key, value pairs (value NULL: JSON null), then NULL. */
static void event(const struct twctl *t, const char *sid, const char *name, ...)
{
	const struct flow_backend *b = t->backend;
	if (!b->event)
		return;
	cJSON *o = cJSON_CreateObject();
	va_list ap;
	va_start(ap, name);
	for (const char *k; o && (k = va_arg(ap, const char *));) {
		const char *v = va_arg(ap, const char *);
		if (!(v ? cJSON_AddStringToObject(o, k, v)
			: cJSON_AddNullToObject(o, k))) {
			cJSON_Delete(o);
			o = NULL;
		}
	}
	va_end(ap);
	char *txt = o ? cJSON_PrintUnformatted(o) : NULL;
	if (txt)
		b->event(b->ctx, name, sid, txt);
	else
		LOGW(sid, "flow_event_dropped", "event=%s", name);
	free(txt);
	cJSON_Delete(o);
}

/* ---- calls ---- */

static struct twcall *call_find(const struct twctl *t, const char *sid)
{
	for (struct twcall *c = t->calls; c; c = c->next)
		if (!strcmp(c->sid, sid))
			return c;
	return NULL;
}

static void call_unlink(struct twcall *c)
{
	struct twctl *t = c->ctl;
	for (struct twcall **pp = &t->calls; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			t->ncalls--;
			return;
		}
	}
}

/* Free a call (unlinked). Its held request, if any, must be answered. */
static void call_free(struct twcall *c)
{
	if (c->breq)
		c->breq->call = NULL;
	tmr_cancel(&c->tmr);
	flow_run_destroy(c->run);
	cJSON_Delete(c->path);
	cJSON_Delete(c->turns);
	twiml_fini(&c->doc);
	mem_deref(c->conn);
	free(c);
}

static void cdr_write(struct twcall *c, const char *end_reason)
{
	struct twctl *t = c->ctl;
	if (!t->store)
		return;
	char *path = cJSON_PrintUnformatted(c->path);
	char *turns = cJSON_PrintUnformatted(c->turns);
	struct store_cdr r = {
		.id = c->sid,
		.sip_call_id = c->sid,
		.platform = "twilio",
		.from_uri = c->from,
		.to_uri = c->to,
		.flow = c->flow,
		.started_ms = c->started_ms,
		.answered_ms = c->started_ms,
		.ended_ms = end_reason ? clock_wall_ms() : 0,
		.end_reason = end_reason,
		.dtmf = c->dtmf,
		.flow_path_json = path,
		.turns_json = turns,
	};
	if (store_call_update(t->store, &r))
		LOGW(c->sid, "cdr_update_failed", NULL);
	free(path);
	free(turns);
}

/* Snapshot the call into the store (its state between webhooks). */
static void call_save(struct twcall *c)
{
	struct twctl *t = c->ctl;
	if (!t->store)
		return;
	struct strbuf run;
	strbuf_init(&run, STORE_SESSION_STATE_MAX / 2);
	int err = flow_run_save(c->run, &run);
	cJSON *o = err ? NULL : cJSON_CreateObject();
	char *txt = NULL;
	if (o && cJSON_AddNumberToObject(o, "v", STATE_VERSION) &&
	    cJSON_AddStringToObject(o, "flow", c->flow) &&
	    cJSON_AddStringToObject(o, "from", c->from) &&
	    cJSON_AddStringToObject(o, "to", c->to) &&
	    cJSON_AddNumberToObject(o, "started_ms", (double)c->started_ms) &&
	    cJSON_AddStringToObject(o, "dtmf", c->dtmf) &&
	    cJSON_AddItemReferenceToObject(o, "path", c->path) &&
	    cJSON_AddItemReferenceToObject(o, "turns", c->turns) &&
	    cJSON_AddRawToObject(o, "run", strbuf_str(&run)))
		txt = cJSON_PrintUnformatted(o);
	if (!txt || store_session_put(t->store, TW_PLATFORM, c->sid, txt))
		LOGW(c->sid, "twilio_state_save_failed", "err=%d", err);
	free(txt);
	cJSON_Delete(o);
	strbuf_fini(&run);
	cdr_write(c, NULL);
}

/* The call is over: CDR end, saved state gone, memory freed. */
static void call_finish(struct twcall *c, const char *reason)
{
	struct twctl *t = c->ctl;
	LOGI(c->sid, "twilio_call_end", "reason=%s flow=%s", reason,
	     log_esc(c->flow));
	event(t, c->sid, "ended", "reason", reason, "node",
	      c->run ? flow_run_node(c->run) : NULL, "flow",
	      c->run ? flow_run_flow(c->run) : c->flow, NULL);
	cdr_write(c, reason);
	if (t->store)
		(void)store_session_del(t->store, TW_PLATFORM, c->sid);
	char labels[96];
	snprintf(labels, sizeof(labels), "reason=\"%s\"", reason);
	metric_counter_add(metrics_counter("voxgate_calls_total", labels,
					   "Calls ended, by end reason"),
			   1);
	call_unlink(c);
	call_free(c);
}

/* ---- runtime callbacks ---- */

static struct flow *find_flow(void *arg, const char *name)
{
	const struct twctl *t = arg;
	return t->backend->find_flow
		       ? t->backend->find_flow(t->backend->ctx, name)
		       : NULL;
}

static struct nlu_model *find_model(void *arg, const char *name)
{
	const struct twctl *t = arg;
	return t->backend->find_model
		       ? t->backend->find_model(t->backend->ctx, name)
		       : NULL;
}

static void on_node(void *arg, const char *flow, const char *node)
{
	struct twcall *c = arg;
	if (cJSON_GetArraySize(c->path) >= PATH_NODES_MAX)
		return;
	char buf[FIELD_MAX * 2];
	if (flow && strcmp(flow, c->flow))
		snprintf(buf, sizeof(buf), "%s/%s", flow, node);
	else
		snprintf(buf, sizeof(buf), "%s", node);
	cJSON_AddItemToArray(c->path, cJSON_CreateString(buf));
}

static void on_turn(void *arg, const struct flow_turn_info *ti)
{
	struct twcall *c = arg;
	int n = cJSON_GetArraySize(c->turns);
	if (n >= TURNS_MAX)
		return;
	bool speech = ti->input && !strcmp(ti->input, "speech");
	bool none = !ti->input || !strcmp(ti->input, "none");
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return;
	cJSON_AddNumberToObject(o, "seq", n + 1);
	cJSON_AddStringToObject(o, "node", ti->node ? ti->node : "");
	cJSON_AddStringToObject(o, "input", ti->input ? ti->input : "none");
	if (speech) {
		cJSON_AddStringToObject(o, "transcript",
					ti->transcript ? ti->transcript : "");
		cJSON_AddStringToObject(o, "stt_engine", "twilio");
		cJSON_AddNumberToObject(o, "stt_confidence", c->stt_conf);
	}
	if (ti->intent) {
		cJSON_AddStringToObject(o, "intent", ti->intent);
		cJSON_AddNumberToObject(o, "intent_confidence",
					ti->intent_confidence);
	}
	cJSON_AddStringToObject(o, "match", ti->match ? ti->match : "none");
	if (ti->next)
		cJSON_AddStringToObject(o, "next", ti->next);
	cJSON_AddBoolToObject(o, "barge_in", false);
	cJSON_AddStringToObject(
		o, "end", none ? "no_input" : (speech ? "speech" : "dtmf"));
	cJSON_AddItemToArray(c->turns, o);
	if (ti->intent) {
		char conf[16];
		snprintf(conf, sizeof(conf), "%.3f",
			 (double)ti->intent_confidence);
		event(c->ctl, c->sid, "intent", "node", ti->node, "intent",
		      ti->intent, "confidence", conf, "match",
		      ti->match ? ti->match : "none", "transcript",
		      ti->transcript, "next", ti->next, NULL);
	}
	LOGI(c->sid, "flow_turn", "node=%s input=%s intent=%s next=%s",
	     log_esc(ti->node), ti->input ? ti->input : "none",
	     ti->intent ? ti->intent : "-", ti->next ? ti->next : "-");
}

static void run_env(struct twcall *c, struct flow_run_env *env)
{
	*env = (struct flow_run_env){
		.find_flow = find_flow,
		.find_arg = c->ctl,
		.on_node = on_node,
		.on_turn = on_turn,
		.cb_arg = c,
		.call_id = c->sid,
		.from = c->from,
		.to = c->to,
		.channel = "twilio",
		.find_model = find_model,
		.model_arg = c->ctl,
		.speech = true,
		.audio = true,
	};
}

static struct twcall *call_new(struct twctl *t, const char *sid,
			       const char *from, const char *to,
			       const char *flow)
{
	struct twcall *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->ctl = t;
	snprintf(c->sid, sizeof(c->sid), "%s", sid);
	snprintf(c->from, sizeof(c->from), "%s", from ? from : "");
	snprintf(c->to, sizeof(c->to), "%s", to ? to : "");
	snprintf(c->flow, sizeof(c->flow), "%s", flow);
	c->path = cJSON_CreateArray();
	c->turns = cJSON_CreateArray();
	tmr_init(&c->tmr);
	twiml_init(&c->doc);
	if (!c->path || !c->turns) {
		call_free(c);
		return NULL;
	}
	c->next = t->calls;
	t->calls = c;
	t->ncalls++;
	return c;
}

/* ---- executing actions as TwiML ---- */

static void say(struct twcall *c, const char *text, const char *voice)
{
	const struct twctl *t = c->ctl;
	const char *v = voice && voice[0] ? voice : t->voice;
	const char *attrs[] = { "voice", v[0] ? v : NULL, "language",
				t->language, NULL };
	twiml_elem(&c->doc, "Say", attrs, text ? text : "");
}

static bool is_url(const char *s)
{
	return s && (!strncmp(s, "https://", 8) || !strncmp(s, "http://", 7));
}

static void gather(struct twcall *c, const struct flow_action *a)
{
	const struct twctl *t = c->ctl;
	unsigned in = a->gather.input;
	const char *input = (in & FLOW_ACT_IN_DTMF) && (in & FLOW_ACT_IN_SPEECH)
				    ? "dtmf speech"
			    : (in & FLOW_ACT_IN_SPEECH) ? "speech"
							: "dtmf";
	char action[URL_MAX], timeout[16], digits[16];
	snprintf(action, sizeof(action), "%s/twilio/gather", t->public_url);
	unsigned to_s = (a->gather.timeout_ms + 999) / 1000;
	snprintf(timeout, sizeof(timeout), "%u", to_s ? to_s : 1);
	snprintf(digits, sizeof(digits), "%u", a->gather.max_digits);
	bool dtmf = in & FLOW_ACT_IN_DTMF;
	bool speech = in & FLOW_ACT_IN_SPEECH;
	const char *attrs[] = {
		"input",
		input,
		"action",
		action,
		"method",
		"POST",
		"timeout",
		timeout,
		"speechTimeout",
		speech ? "auto" : NULL,
		"numDigits",
		dtmf && a->gather.max_digits ? digits : NULL,
		"finishOnKey",
		dtmf ? (a->gather.terminator ? a->gather.terminator : "")
		     : NULL,
		"hints",
		speech && a->gather.hints && a->gather.hints[0]
			? a->gather.hints
			: NULL,
		"language",
		t->language,
		"bargeIn",
		a->gather.barge_in ? "true" : "false",
		"actionOnEmptyResult",
		"true",
		NULL,
	};
	twiml_begin(&c->doc, "Gather", attrs);
	for (unsigned i = 0; i < a->gather.nprompts; i++)
		say(c, a->gather.prompts[i].text, a->gather.prompts[i].voice);
	twiml_end(&c->doc);
}

static void dial(struct twcall *c, const struct flow_action *a)
{
	const struct twctl *t = c->ctl;
	const char *target =
		a->transfer.to_agent ? t->agent_uri : a->transfer.target;
	if (!target)
		target = "";
	twiml_begin(&c->doc, "Dial", NULL);
	if (!strncmp(target, "tel:", 4))
		twiml_elem(&c->doc, "Number", NULL, target + 4);
	else if (!strncmp(target, "sip:", 4) || !strncmp(target, "sips:", 5))
		twiml_elem(&c->doc, "Sip", NULL, target);
	else if (!strncmp(target, "queue:", 6))
		twiml_elem(&c->doc, "Queue", NULL, target + 6);
	else
		twiml_elem(&c->doc, "Number", NULL, target);
	twiml_end(&c->doc);
	LOGI(c->sid, "twilio_dial", "target=%s", log_esc(target));
	event(t, c->sid, "transferred", "node", a->node, "target", target,
	      "status", "0", NULL);
}

/* Send the TwiML written so far as the answer to the held request. */
static void answer(struct twcall *c)
{
	const char *xml;
	size_t len;
	if (!c->conn)
		return;
	int err = twiml_finish(&c->doc, &xml, &len);
	if (err) {
		LOGE(c->sid, "twiml_failed", "err=%d", err);
		reply_hangup(c->conn, c->route, c->t0_us, NULL, c->ctl);
	} else {
		reply(c->conn, 200, CT_XML, xml, len);
		count(c->route, 200, c->t0_us);
	}
	c->conn = mem_deref(c->conn);
	twiml_fini(&c->doc);
	twiml_init(&c->doc);
	c->hung_up = false;
}

static void backend_done(const struct flow_result *res, void *arg)
{
	struct twbreq *q = arg;
	struct twcall *c = q->call;
	free(q);
	if (!c)
		return;
	c->breq = NULL;
	tmr_cancel(&c->tmr);
	drive(c, res);
}

static void backend_timeout(void *arg)
{
	struct twcall *c = arg;
	LOGW(c->sid, "twilio_backend_timeout", "ms=%u", c->ctl->timeout_ms);
	if (c->breq) {
		c->breq->call = NULL;
		c->breq = NULL;
	}
	say(c, "Sorry, we cannot complete your request right now. Goodbye.",
	    NULL);
	twiml_elem(&c->doc, "Hangup", NULL, NULL);
	answer(c);
	call_finish(c, "backend_timeout");
}

static int backend_start(struct twcall *c, const struct flow_action *a)
{
	const struct flow_backend *b = c->ctl->backend;
	int (*fn)(void *, const struct flow_action *, struct vg_loop *,
		  flow_backend_done_fn *, void *) =
		a->type == FLOW_ACT_HTTP ? b->http : b->lookup;
	if (!fn)
		return -ENOTSUP;
	struct twbreq *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->call = c;
	int err = fn(b->ctx, a, c->ctl->loop, backend_done, q);
	if (err) {
		free(q);
		return err;
	}
	c->breq = q;
	tmr_start(&c->tmr, c->ctl->timeout_ms, backend_timeout, c);
	return 0;
}

/* Walk the run from res until it waits for the caller, a back-end, or
 * ends. May free c (then it answered the request). */
static void drive(struct twcall *c, const struct flow_result *res)
{
	struct flow_action act;
	struct flow_result next;
	for (;;) {
		hold_flows(c->ctl, true);
		int err = flow_run_step(c->run, res, &act);
		hold_flows(c->ctl, false);
		if (err) {
			LOGE(c->sid, "flow_step_failed", "err=%d", err);
			twiml_elem(&c->doc, "Hangup", NULL, NULL);
			answer(c);
			call_finish(c, "error");
			return;
		}
		next = (struct flow_result){ .now_ms = clock_wall_ms() };
		switch (act.type) {
		case FLOW_ACT_SAY:
			say(c, act.say.text, act.say.voice);
			next.type = FLOW_RES_PLAYED;
			break;
		case FLOW_ACT_PLAY:
			next.type = FLOW_RES_PLAYED;
			if (is_url(act.play.file))
				twiml_elem(&c->doc, "Play", NULL,
					   act.play.file);
			else if (act.play.text)
				say(c, act.play.text, NULL);
			else
				next.err = -ENOTSUP;
			break;
		case FLOW_ACT_GATHER:
			gather(c, &act);
			answer(c);
			call_save(c);
			return;
		case FLOW_ACT_TRANSFER:
			dial(c, &act);
			next.type = FLOW_RES_TRANSFERRED;
			next.transferred.ok = true;
			break;
		case FLOW_ACT_RECORD:
			/* Twilio records per number configuration. */
			LOGI(c->sid, "twilio_record_skipped", "node=%s",
			     log_esc(act.node));
			next.type = FLOW_RES_RECORDED;
			break;
		case FLOW_ACT_HTTP:
		case FLOW_ACT_LOOKUP:
			err = backend_start(c, &act);
			if (!err)
				return; /* backend_done continues */
			next.type = act.type == FLOW_ACT_HTTP ? FLOW_RES_HTTP
							      : FLOW_RES_LOOKUP;
			next.err = err;
			break;
		case FLOW_ACT_HANGUP:
			twiml_elem(&c->doc, "Hangup", NULL, NULL);
			c->hung_up = true;
			next.type = FLOW_RES_HANGUP;
			break;
		case FLOW_ACT_END: {
			if (!c->hung_up)
				twiml_elem(&c->doc, "Hangup", NULL, NULL);
			const char *why = flow_run_end_reason(c->run);
			answer(c);
			call_finish(c, why ? why : "completed");
			return;
		}
		}
		res = &next;
	}
}

/* ---- restoring a call from the store ---- */

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A call rebuilt from its saved state, or NULL (logged). */
static struct twcall *call_restore(struct twctl *t, const char *sid,
				   const char *json, size_t len)
{
	cJSON *o = cJSON_ParseWithLength(json, len);
	const char *flow = jstr(o, "flow");
	cJSON *run = cJSON_GetObjectItemCaseSensitive(o, "run");
	hold_flows(t, true);
	struct flow *root = flow ? find_flow(t, flow) : NULL;
	struct twcall *c = NULL;
	char *runtxt = NULL;
	int err = -EBADMSG;
	if (!o || !cJSON_IsObject(run))
		goto out;
	err = -ENOENT;
	if (!root)
		goto out;
	err = -ENOMEM;
	runtxt = cJSON_PrintUnformatted(run);
	c = runtxt ? call_new(t, sid, jstr(o, "from"), jstr(o, "to"), flow)
		   : NULL;
	if (!c)
		goto out;
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "started_ms");
	c->started_ms =
		cJSON_IsNumber(st) ? (int64_t)st->valuedouble : clock_wall_ms();
	snprintf(c->dtmf, sizeof(c->dtmf), "%s",
		 jstr(o, "dtmf") ? jstr(o, "dtmf") : "");
	cJSON *p = cJSON_DetachItemFromObjectCaseSensitive(o, "path");
	cJSON *tu = cJSON_DetachItemFromObjectCaseSensitive(o, "turns");
	if (cJSON_IsArray(p)) {
		cJSON_Delete(c->path);
		c->path = p;
		p = NULL;
	}
	if (cJSON_IsArray(tu)) {
		cJSON_Delete(c->turns);
		c->turns = tu;
		tu = NULL;
	}
	cJSON_Delete(p);
	cJSON_Delete(tu);
	struct flow_run_env env;
	run_env(c, &env);
	err = flow_run_restore(&c->run, runtxt, strlen(runtxt), root, &env);
out:
	hold_flows(t, false);
	if (err) {
		LOGW(sid, "twilio_restore_failed", "err=%d", err);
		if (c) {
			call_unlink(c);
			call_free(c);
		}
		c = NULL;
	} else {
		LOGI(sid, "twilio_call_restored", "flow=%s node=%s",
		     log_esc(c->flow), log_esc(flow_run_node(c->run)));
	}
	free(runtxt);
	cJSON_Delete(o);
	return c;
}

/* ---- webhooks ---- */

static const char *status_end_reason(const char *st)
{
	static const struct {
		const char *status, *reason;
	} map[] = {
		{ "completed", "caller_hangup" }, { "busy", "busy" },
		{ "failed", "failed" },		  { "no-answer", "no_answer" },
		{ "canceled", "cancelled" },
	};
	for (size_t i = 0; st && i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(st, map[i].status))
			return map[i].reason;
	return NULL;
}

static void on_gather(struct twcall *c, struct http_conn *conn, uint64_t t0_us,
		      const struct twin *in)
{
	if (c->conn || c->breq) {
		reply_text(conn, R_GATHER, t0_us, 409, "call busy\n");
		return;
	}
	c->conn = mem_ref(conn);
	c->route = R_GATHER;
	c->t0_us = t0_us;
	struct flow_result res = {
		.type = FLOW_RES_INPUT,
		.now_ms = clock_wall_ms(),
	};
	c->stt_conf = 0;
	if (in->digits[0]) {
		res.input.kind = FLOW_IN_DTMF;
		res.input.digits = in->digits;
		size_t n = strlen(c->dtmf);
		snprintf(c->dtmf + n, sizeof(c->dtmf) - n, "%s", in->digits);
	} else if (in->speech[0]) {
		res.input.kind = FLOW_IN_SPEECH;
		res.input.transcript = in->speech;
		res.input.stt_confidence = in->conf;
		res.input.stt_engine = "twilio";
		c->stt_conf = in->conf;
	} else {
		res.input.kind = FLOW_IN_NO_INPUT;
	}
	drive(c, &res);
}

static void on_status(struct twcall *c, struct http_conn *conn, uint64_t t0_us,
		      const struct twin *in)
{
	const char *why = status_end_reason(in->status);
	if (why) {
		if (c->conn) /* Twilio hung up while we held it */
			reply_hangup(c->conn, c->route, c->t0_us, NULL, c->ctl);
		call_finish(c, why);
	}
	reply_text(conn, R_STATUS, t0_us, 200, "");
}

static void on_restored(int err, char *json, size_t len, void *arg)
{
	struct twwait *w = arg;
	struct twctl *t = w->ctl;
	if (t) {
		if (w->prev)
			w->prev->next = w->next;
		else
			t->waits = w->next;
		if (w->next)
			w->next->prev = w->prev;
	}
	if (!t) {
		/* the adapter is gone: nothing to answer with */
	} else if (err && err != -ENOENT) {
		LOGW(w->sid, "twilio_state_read_failed", "err=%d", err);
		reply_text(w->conn, w->route, w->t0_us, 503, "store error\n");
	} else {
		/* another request may have restored it meanwhile */
		struct twcall *c = call_find(t, w->sid);
		if (!c && !err)
			c = call_restore(t, w->sid, json, len);
		if (!c && w->route == R_STATUS) {
			reply_text(w->conn, R_STATUS, w->t0_us, 200, "");
		} else if (!c) {
			LOGW(w->sid, "twilio_unknown_call", NULL);
			if (!err && t->store)
				(void)store_session_del(t->store, TW_PLATFORM,
							w->sid);
			reply_hangup(w->conn, w->route, w->t0_us,
				     "Sorry, this call cannot continue. "
				     "Goodbye.",
				     t);
		} else if (w->route == R_STATUS) {
			on_status(c, w->conn, w->t0_us, &w->in);
		} else {
			on_gather(c, w->conn, w->t0_us, &w->in);
		}
	}
	free(json);
	mem_deref(w->conn);
	free(w);
}

static void wait_store(struct twctl *t, struct http_conn *conn, enum route r,
		       uint64_t t0_us, const char *sid, const struct twin *in)
{
	struct twwait *w = calloc(1, sizeof(*w));
	if (!w) {
		reply_text(conn, r, t0_us, 503, "out of memory\n");
		return;
	}
	w->ctl = t;
	w->conn = mem_ref(conn);
	w->route = r;
	w->t0_us = t0_us;
	snprintf(w->sid, sizeof(w->sid), "%s", sid);
	w->in = *in;
	int err = store_session_get(t->store, TW_PLATFORM, sid, t->loop,
				    on_restored, w);
	if (err) {
		LOGW(sid, "twilio_state_read_refused", "err=%d", err);
		reply_text(conn, r, t0_us, 503, "store busy\n");
		mem_deref(w->conn);
		free(w);
		return;
	}
	w->next = t->waits;
	if (t->waits)
		t->waits->prev = w;
	t->waits = w;
}

/* twilio.media_calls: hand the call to voxgate's Media Streams listener,
 * which runs the whole pipeline (VAD, STT, NLU, flow, TTS) on the audio;
 * the flow is chosen here by the called number and passed as a <Stream>
 * parameter, with the caller's and called numbers (docs/TWILIO.md). The
 * CDR is the stream's (platform twilio-media). */
static void stream_call(struct twctl *t, struct http_conn *conn, uint64_t t0_us,
			const char *from, const char *to)
{
	char url[1024];
	hold_flows(t, true);
	struct flow *fl = t->route(t->route_arg, to ? to : "");
	char flow[128] = "";
	if (fl)
		snprintf(flow, sizeof(flow), "%s", flow_name(fl));
	hold_flows(t, false);
	if (!fl || mstream_signed_url(url, sizeof(url), t->public_url,
				      MSTREAM_PATH, NULL, 0)) {
		reply_hangup(conn, R_VOICE, t0_us,
			     "Sorry, this number is not in service. Goodbye.",
			     t);
		return;
	}
	struct twiml doc;
	twiml_init(&doc);
	twiml_begin(&doc, "Connect", NULL);
	const char *sattrs[] = { "url", url, NULL };
	twiml_begin(&doc, "Stream", sattrs);
	const char *p1[] = { "name", "flow", "value", flow, NULL };
	twiml_elem(&doc, "Parameter", p1, NULL);
	const char *p2[] = { "name", "from", "value", from ? from : "", NULL };
	twiml_elem(&doc, "Parameter", p2, NULL);
	const char *p3[] = { "name", "to", "value", to ? to : "", NULL };
	twiml_elem(&doc, "Parameter", p3, NULL);
	twiml_end(&doc);
	twiml_end(&doc);
	const char *xml;
	size_t len;
	if (twiml_finish(&doc, &xml, &len) == 0)
		reply(conn, 200, CT_XML, xml, len);
	else
		reply(conn, 500, "text/plain", "", 0);
	count(R_VOICE, 200, t0_us);
	twiml_fini(&doc);
}

static void on_voice(struct twctl *t, struct http_conn *conn, uint64_t t0_us,
		     const struct twform *f, const char *sid)
{
	if (t->media_calls) {
		stream_call(t, conn, t0_us, twform_get(f, "From"),
			    twform_get(f, "To"));
		return;
	}
	if (call_find(t, sid)) {
		reply_text(conn, R_VOICE, t0_us, 409, "call exists\n");
		return;
	}
	const char *from = twform_get(f, "From");
	const char *to = twform_get(f, "To");
	hold_flows(t, true);
	struct flow *fl = t->route(t->route_arg, to ? to : "");
	if (!fl) {
		hold_flows(t, false);
		LOGE(sid, "flow_missing", "to=%s", log_esc(to ? to : ""));
		reply_hangup(conn, R_VOICE, t0_us,
			     "Sorry, this number is not in service. Goodbye.",
			     t);
		return;
	}
	struct twcall *c = call_new(t, sid, from, to, flow_name(fl));
	struct flow_run_env env;
	int err = -ENOMEM;
	if (c) {
		run_env(c, &env);
		err = flow_run_create(&c->run, fl, &env);
	}
	hold_flows(t, false);
	if (err) {
		LOGE(sid, "twilio_call_failed", "err=%d", err);
		if (c) {
			call_unlink(c);
			call_free(c);
		}
		reply_text(conn, R_VOICE, t0_us, 503, "cannot start call\n");
		return;
	}
	c->started_ms = clock_wall_ms();
	LOGI(sid, "twilio_call_new", "from=%s to=%s flow=%s", log_esc(c->from),
	     log_esc(c->to), log_esc(c->flow));
	if (t->store) {
		struct store_cdr r = {
			.id = c->sid,
			.sip_call_id = c->sid,
			.platform = "twilio",
			.from_uri = c->from,
			.to_uri = c->to,
			.flow = c->flow,
			.started_ms = c->started_ms,
			.answered_ms = c->started_ms,
		};
		if (store_call_begin(t->store, &r))
			LOGW(sid, "cdr_begin_failed", NULL);
	}
	event(t, sid, "started", "flow", c->flow, "from", c->from, "to", c->to,
	      "channel", "twilio", NULL);
	c->conn = mem_ref(conn);
	c->route = R_VOICE;
	c->t0_us = t0_us;
	struct flow_result res = { .type = FLOW_RES_START,
				   .now_ms = clock_wall_ms() };
	drive(c, &res);
}

static void input_copy(struct twin *in, const struct twform *f)
{
	const char *d = twform_get(f, "Digits");
	const char *s = twform_get(f, "SpeechResult");
	const char *conf = twform_get(f, "Confidence");
	const char *st = twform_get(f, "CallStatus");
	snprintf(in->digits, sizeof(in->digits), "%s", d ? d : "");
	snprintf(in->speech, sizeof(in->speech), "%s", s ? s : "");
	snprintf(in->status, sizeof(in->status), "%s", st ? st : "");
	in->conf = conf ? strtof(conf, NULL) : 0.0f;
	if (!(in->conf >= 0.0f && in->conf <= 1.0f))
		in->conf = 0.0f;
}

void twctl_request(struct http_conn *conn, const struct http_msg *msg,
		   void *arg)
{
	struct twctl *t = arg;
	uint64_t t0_us = clock_mono_us();
	enum route r;
	if (!pl_strcmp(&msg->path, "/twilio/voice")) {
		r = R_VOICE;
	} else if (!pl_strcmp(&msg->path, "/twilio/gather")) {
		r = R_GATHER;
	} else if (!pl_strcmp(&msg->path, "/twilio/status")) {
		r = R_STATUS;
	} else {
		reply(conn, 404, "text/plain", "no such route\n", 14);
		return;
	}
	bool post = !pl_strcmp(&msg->met, "POST");
	if (!post && pl_strcmp(&msg->met, "GET")) {
		reply_text(conn, r, t0_us, 405, "only GET and POST\n");
		return;
	}

	/* The signed URL: the public base, the path and the query. */
	char url[URL_MAX];
	if (re_snprintf(url, sizeof(url), "%s%r%s%r", t->public_url, &msg->path,
			msg->prm.l && msg->prm.p[0] != '?' ? "?" : "",
			&msg->prm) < 0) {
		reply_text(conn, r, t0_us, 400, "URL too long\n");
		return;
	}
	struct twform f;
	twform_init(&f);
	int err = 0;
	if (post && msg->mb)
		err = twform_parse(&f, (const char *)mbuf_buf(msg->mb),
				   mbuf_get_left(msg->mb));
	char sig[TWSIG_LEN + 2] = "";
	const struct http_hdr *h = http_msg_xhdr(msg, "X-Twilio-Signature");
	if (h && h->val.l <= TWSIG_LEN)
		pl_strcpy(&h->val, sig, sizeof(sig));
	if (err || !twilio_sig_valid(t->auth_token, url, post ? &f : NULL, NULL,
				     0, sig)) {
		LOGW(NULL, "twilio_signature_invalid", "route=%s form_err=%d",
		     route_names[r], err);
		reply_text(conn, r, t0_us, 403, "invalid signature\n");
		twform_fini(&f);
		return;
	}
	if (!post) { /* GET: the parameters are in the query */
		const char *q = msg->prm.p;
		size_t ql = msg->prm.l;
		if (ql && q[0] == '?') {
			q++;
			ql--;
		}
		err = twform_parse(&f, q, ql);
	}
	const char *sid = err ? NULL : twform_get(&f, "CallSid");
	if (!sid || !sid[0] || strlen(sid) > SID_MAX) {
		reply_text(conn, r, t0_us, 400, "CallSid missing\n");
		twform_fini(&f);
		return;
	}
	struct twin in = { 0 };
	input_copy(&in, &f);
	struct twcall *c = r == R_VOICE ? NULL : call_find(t, sid);
	if (r == R_VOICE)
		on_voice(t, conn, t0_us, &f, sid);
	else if (c && r == R_GATHER)
		on_gather(c, conn, t0_us, &in);
	else if (c)
		on_status(c, conn, t0_us, &in);
	else if (t->store)
		wait_store(t, conn, r, t0_us, sid, &in);
	else if (r == R_STATUS)
		reply_text(conn, r, t0_us, 200, "");
	else
		reply_hangup(conn, r, t0_us,
			     "Sorry, this call cannot "
			     "continue. Goodbye.",
			     t);
	twform_fini(&f);
}

/* ---- the adapter ---- */

int twctl_create(struct twctl **tp, const struct twctl_cfg *cfg)
{
	if (!tp || !cfg || !cfg->loop || !cfg->backend || !cfg->route ||
	    !cfg->auth_token || !cfg->auth_token[0] || !cfg->public_url ||
	    !cfg->public_url[0])
		return -EINVAL;
	struct twctl *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->loop = cfg->loop;
	t->store = cfg->store;
	t->backend = cfg->backend;
	t->route = cfg->route;
	t->route_arg = cfg->route_arg;
	t->flows_hold = cfg->flows_hold;
	t->timeout_ms = cfg->backend_timeout_ms ? cfg->backend_timeout_ms
						: DEFAULT_TIMEOUT_MS;
	t->auth_token = strdup(cfg->auth_token);
	t->public_url = strdup(cfg->public_url);
	t->media_calls = cfg->media_calls;
	t->voice = strdup(cfg->voice ? cfg->voice : "");
	t->language = strdup(cfg->language && cfg->language[0] ? cfg->language
							       : "en-US");
	t->agent_uri = strdup(cfg->agent_uri ? cfg->agent_uri : "");
	if (!t->auth_token || !t->public_url || !t->voice || !t->language ||
	    !t->agent_uri) {
		twctl_destroy(t);
		return -ENOMEM;
	}
	*tp = t;
	return 0;
}

void twctl_destroy(struct twctl *t)
{
	if (!t)
		return;
	while (t->calls) {
		struct twcall *c = t->calls;
		t->calls = c->next;
		if (c->conn)
			reply_text(c->conn, c->route, c->t0_us, 503,
				   "shutting down\n");
		call_free(c);
	}
	for (struct twwait *w = t->waits; w; w = w->next)
		w->ctl = NULL;
	if (t->auth_token) /* a secret: wiped */
		memset(t->auth_token, 0, strlen(t->auth_token));
	free(t->auth_token);
	free(t->public_url);
	free(t->voice);
	free(t->language);
	free(t->agent_uri);
	free(t);
}

unsigned twctl_active(const struct twctl *t)
{
	return t ? t->ncalls : 0;
}
