/* Twilio webhooks -> flow runs -> TwiML (see twctl.h). A request walks the
 * run until it needs the caller (GATHER: answer the webhook, Twilio posts
 * the result to /twilio/gather) or the end; SAY/PLAY/TRANSFER/HANGUP become
 * TwiML verbs fed back as done at once, HTTP/LOOKUP hold the request until
 * the back-end answers. A back-end slower than wait_ms gets the request
 * answered with <Pause> + <Redirect> to /twilio/continue, which picks up
 * the answer (or waits again, at most redirects_max times, and in all at
 * most backend_timeout_ms: then the flow's error path). Every /gather
 * action carries ?step=N, so a retried /gather (same step) does not
 * advance the flow twice; a retry, a repeated /voice or a /continue with
 * nothing pending gets the call's last answer again. */
#include "control/twilio/twctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <re.h>

#include "control/ctlsess.h"
#include "control/twilio/twiml.h"
#include "control/twilio/twreq.h"
#include "core/clock.h"
#include "core/log.h"
#include "flow/flow.h"
#include "flow/runtime.h"
#include "store/store.h"
#include "call/channel.h"
#include "telephony/sip/sipep.h"
#include "telephony/twilio/mstream.h"
#include "telephony/twilio/twform.h"
#include "telephony/twilio/twsig.h"

/* The store's adapter_sessions platform of Twilio webhook calls. */
#define TW_PLATFORM "twilio"

enum {
	SID_MAX = TWREQ_SID_MAX,
	URL_MAX = 4096,
	DEFAULT_TIMEOUT_MS = 10000,
	DEFAULT_WAIT_MS = 4000,
	DEFAULT_REDIRECTS_MAX = 8,
	SIP_HDRS_MAX = 1024, /* X- headers on a <Sip> URI, in all */
};

enum route { R_VOICE, R_GATHER, R_STATUS, R_CONTINUE };
static const char *const route_names[] = { "voice", "gather", "status",
					   "continue" };

struct twcall {
	struct ctlsess cs; /* id: the CallSid */
	struct twctl *ctl;
	/* The request being answered. */
	struct http_conn *conn; /* a reference, or NULL */
	enum route route;
	uint64_t t0_us;
	struct twiml doc;
	bool hung_up; /* <Hangup/> written */
	/* The ?step= of the <Gather> action outstanding: a /gather of an
	 * older step is a retry (answered with last). */
	unsigned step;
	char *last; /* the last step's TwiML (replayed to retries), or NULL */
	/* A back-end request in flight (cs.breq): */
	struct tmr park; /* the held request is answered with a redirect */
	unsigned redirects;
	enum flow_res_type breq_type; /* FLOW_RES_HTTP or FLOW_RES_LOOKUP */
	/* Its answer when no request was held (taken by /continue): */
	bool have_res;
	struct flow_result res;
	char *res_buf; /* res's body or json */
};

#define CALL(s) CTLSESS_OWNER(s, struct twcall, cs)

/* A request waiting for the store (ctlsess_read; freed without an answer
 * when the adapter goes first). */
struct twwait {
	struct twctl *ctl;
	struct http_conn *conn; /* a reference */
	enum route route;
	uint64_t t0_us;
	char sid[SID_MAX + 1];
	struct twreq_input in; /* copied while the store is read */
	long step;	       /* the request's ?step=, -1: none */
};

struct twctl {
	struct ctlsess_host host;
	struct vg_loop *loop;
	struct store *store;
	struct flow *(*route)(void *arg, const char *to);
	void *route_arg;
	char *auth_token, *public_url, *voice, *language, *agent_uri;
	const struct flow_queue *queues; /* borrowed (twctl_cfg) */
	unsigned nqueues;
	bool media_calls; /* answer /voice with <Connect><Stream> */
	unsigned wait_ms, redirects_max;
	struct ctlsess_list calls;
};

static void drive(struct twcall *c, const struct flow_result *res);

static void hold_flows(const struct twctl *t, bool hold)
{
	ctlsess_hold(&t->host, hold);
}

/* ---- replies ---- */

static const char CT_XML[] = "application/xml";

static void count(enum route r, uint16_t code, uint64_t t0_us)
{
	ctlsess_count("twilio", "Twilio webhook", route_names[r], code, t0_us);
}

static void reply(struct http_conn *conn, uint16_t code, const char *ctype,
		  const char *body, size_t len)
{
	(void)ctlsess_reply(conn, code, ctype, body, len);
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

/* ---- calls ---- */

static struct twcall *call_find(const struct twctl *t, const char *sid)
{
	struct ctlsess *s = ctlsess_find(&t->calls, sid);
	return s ? CALL(s) : NULL;
}

static void call_unlink(struct twcall *c)
{
	ctlsess_unlink(&c->ctl->calls, &c->cs);
}

/* Free a call (unlinked). Its held request, if any, must be answered. */
static void call_free(struct twcall *c)
{
	tmr_cancel(&c->park);
	ctlsess_fini(&c->cs);
	twiml_fini(&c->doc);
	free(c->last);
	free(c->res_buf);
	mem_deref(c->conn);
	free(c);
}

/* The call is over: CDR end, saved state gone, memory freed. */
static void call_finish(struct twcall *c, const char *reason)
{
	LOGI(c->cs.id, "twilio_call_end", "reason=%s flow=%s", reason,
	     log_esc(c->cs.flow));
	ctlsess_end(&c->cs, reason);
	call_unlink(c);
	call_free(c);
}

static struct twcall *call_new(struct twctl *t, const char *sid,
			       const char *from, const char *to,
			       const char *flow)
{
	struct twcall *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (ctlsess_init(&c->cs, &t->host, sid, flow, from, to)) {
		free(c);
		return NULL;
	}
	c->ctl = t;
	tmr_init(&c->park);
	twiml_init(&c->doc);
	ctlsess_link(&t->calls, &c->cs);
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
	snprintf(action, sizeof(action), "%s/twilio/gather?step=%u",
		 t->public_url, c->step);
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

/* <Sip> with the transfer context as X-Voxgate-<Key> headers: Twilio
 * sends the URI's ?X-...=value parameters as SIP headers of its INVITE
 * (URL-encoded like the SIP endpoint's REFER, at most SIP_HDRS_MAX bytes
 * of them; entries with a bad key or that do not fit are left out). */
static void sip(struct twcall *c, const struct flow_action *a,
		const char *target)
{
	struct channel_kv kv[FLOW_ACT_CONTEXT_MAX];
	unsigned n = a->transfer.ncontext;
	if (n > FLOW_ACT_CONTEXT_MAX)
		n = FLOW_ACT_CONTEXT_MAX;
	for (unsigned i = 0; i < n; i++)
		kv[i] = (struct channel_kv){ a->transfer.context_keys[i],
					     a->transfer.context_values[i] };
	size_t cap = strlen(target) + SIP_HDRS_MAX + 1;
	char *uri = malloc(cap);
	unsigned dropped = 0;
	if (!uri || sipep_refer_uri(uri, cap, target, kv, n, &dropped)) {
		twiml_elem(&c->doc, "Sip", NULL, target);
		free(uri);
		return;
	}
	if (dropped)
		LOGW(c->cs.id, "twilio_sip_headers_dropped", "n=%u", dropped);
	twiml_elem(&c->doc, "Sip", NULL, uri);
	free(uri);
}

static void dial(struct twcall *c, const struct flow_action *a)
{
	const struct twctl *t = c->ctl;
	const char *target =
		a->transfer.to_agent ? t->agent_uri : a->transfer.target;
	const char *mapped =
		a->transfer.to_agent
			? NULL
			: flow_queue_uri(t->queues, t->nqueues, target);
	if (mapped)
		target = mapped;
	if (!target)
		target = "";
	if (!strncmp(target, "queue:", 6)) {
		/* The caller waits in a Twilio queue (<Dial><Queue> is the
		 * agent's side: it takes a caller out of one). */
		twiml_elem(&c->doc, "Enqueue", NULL, target + 6);
	} else {
		twiml_begin(&c->doc, "Dial", NULL);
		if (!strncmp(target, "tel:", 4))
			twiml_elem(&c->doc, "Number", NULL, target + 4);
		else if (!strncmp(target, "sip:", 4) ||
			 !strncmp(target, "sips:", 5))
			sip(c, a, target);
		else
			twiml_elem(&c->doc, "Number", NULL, target);
		twiml_end(&c->doc);
	}
	LOGI(c->cs.id, "twilio_dial", "target=%s", log_esc(target));
	ctlsess_event(&t->host, c->cs.id, "transferred", "node", a->node,
		      "target", target, "status", "0", NULL);
}

/* Send the TwiML written so far as the answer to the held request; keep:
 * it is the step's answer, replayed to retries (not a redirect). */
static void answer_doc(struct twcall *c, bool keep)
{
	const char *xml;
	size_t len;
	if (!c->conn)
		return;
	int err = twiml_finish(&c->doc, &xml, &len);
	if (err) {
		LOGE(c->cs.id, "twiml_failed", "err=%d", err);
		reply_hangup(c->conn, c->route, c->t0_us, NULL, c->ctl);
	} else {
		reply(c->conn, 200, CT_XML, xml, len);
		count(c->route, 200, c->t0_us);
		if (keep) {
			free(c->last);
			c->last = strdup(xml);
		}
	}
	c->conn = mem_deref(c->conn);
	twiml_fini(&c->doc);
	twiml_init(&c->doc);
	c->hung_up = false;
}

static void answer(struct twcall *c)
{
	answer_doc(c, true);
}

/* Keep the caller while a back-end works: a short pause, then Twilio
 * comes back to /twilio/continue (signed like any webhook). */
static void write_wait(struct twiml *doc, const struct twctl *t, unsigned step)
{
	char url[URL_MAX];
	snprintf(url, sizeof(url), "%s/twilio/continue?step=%u", t->public_url,
		 step);
	const char *pattrs[] = { "length", "1", NULL };
	twiml_elem(doc, "Pause", pattrs, NULL);
	const char *rattrs[] = { "method", "POST", NULL };
	twiml_elem(doc, "Redirect", rattrs, url);
}

/* A whole wait answer to conn (another request than the held one). */
static void reply_wait(struct twcall *c, struct http_conn *conn, enum route r,
		       uint64_t t0_us)
{
	struct twiml doc;
	twiml_init(&doc);
	write_wait(&doc, c->ctl, c->step);
	const char *xml;
	size_t len;
	if (twiml_finish(&doc, &xml, &len) == 0) {
		reply(conn, 200, CT_XML, xml, len);
		count(r, 200, t0_us);
	} else {
		reply_text(conn, r, t0_us, 500, "");
	}
	twiml_fini(&doc);
}

/* The failed result of the back-end request in flight. */
static struct flow_result backend_failure(const struct twcall *c, int err)
{
	return (struct flow_result){ .type = c->breq_type,
				     .err = err,
				     .now_ms = clock_wall_ms() };
}

/* The held request waited wait_ms for the back-end: answer it with a
 * redirect, or after redirects_max give the request up (error path). */
static void park_fire(void *arg)
{
	struct twcall *c = arg;
	if (!c->conn || !c->cs.breq)
		return;
	if (++c->redirects > c->ctl->redirects_max) {
		LOGW(c->cs.id, "twilio_backend_redirects", "n=%u",
		     c->redirects - 1);
		ctlsess_backend_forget(&c->cs);
		struct flow_result r = backend_failure(c, -ETIMEDOUT);
		drive(c, &r);
		return;
	}
	LOGI(c->cs.id, "twilio_backend_wait", "redirect=%u", c->redirects);
	write_wait(&c->doc, c->ctl, c->step);
	answer_doc(c, false);
}

/* Keep a back-end's answer that came while no request was held. */
static void stash(struct twcall *c, const struct flow_result *res)
{
	c->res = *res;
	c->have_res = true;
	const char *p = NULL;
	size_t n = 0;
	if (res->type == FLOW_RES_HTTP && res->http.body) {
		p = res->http.body;
		n = res->http.body_len;
	} else if (res->type == FLOW_RES_LOOKUP && res->lookup.json) {
		p = res->lookup.json;
		n = res->lookup.json_len;
	}
	if (!p)
		return;
	c->res_buf = malloc(n + 1);
	if (!c->res_buf) {
		c->res = backend_failure(c, -ENOMEM);
		return;
	}
	memcpy(c->res_buf, p, n);
	c->res_buf[n] = '\0';
	if (res->type == FLOW_RES_HTTP)
		c->res.http.body = c->res_buf;
	else
		c->res.lookup.json = c->res_buf;
}

/* A back-end did not answer within backend_timeout_ms
 * (ctlsess_host.timeout): the flow's error path. */
static void backend_timeout(struct ctlsess *s)
{
	struct twcall *c = CALL(s);
	tmr_cancel(&c->park);
	struct flow_result r = backend_failure(c, -ETIMEDOUT);
	if (c->conn)
		drive(c, &r);
	else
		stash(c, &r);
}

/* Walk the run from res until it waits for the caller, a back-end, or
 * ends. May free c (then it answered the request). */
static void drive(struct twcall *c, const struct flow_result *res)
{
	struct flow_action act;
	struct flow_result next;
	for (;;) {
		int err = ctlsess_step(&c->cs, res, &act);
		if (err) {
			LOGE(c->cs.id, "flow_step_failed", "err=%d", err);
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
			ctlsess_save(&c->cs);
			return;
		case FLOW_ACT_TRANSFER:
			dial(c, &act);
			next.type = FLOW_RES_TRANSFERRED;
			next.transferred.ok = true;
			break;
		case FLOW_ACT_RECORD:
			/* Twilio records per number configuration. */
			LOGI(c->cs.id, "twilio_record_skipped", "node=%s",
			     log_esc(act.node));
			next.type = FLOW_RES_RECORDED;
			break;
		case FLOW_ACT_HTTP:
		case FLOW_ACT_LOOKUP:
			if (!ctlsess_backend_start(&c->cs, &act, &next)) {
				/* drive_cb continues */
				c->breq_type = act.type == FLOW_ACT_HTTP
						       ? FLOW_RES_HTTP
						       : FLOW_RES_LOOKUP;
				c->redirects = 0;
				tmr_start(&c->park, c->ctl->wait_ms, park_fire,
					  c);
				return;
			}
			break;
		case FLOW_ACT_HANGUP:
			twiml_elem(&c->doc, "Hangup", NULL, NULL);
			c->hung_up = true;
			next.type = FLOW_RES_HANGUP;
			break;
		case FLOW_ACT_END: {
			if (!c->hung_up)
				twiml_elem(&c->doc, "Hangup", NULL, NULL);
			const char *why = flow_run_end_reason(c->cs.run);
			answer(c);
			call_finish(c, why ? why : "completed");
			return;
		}
		}
		res = &next;
	}
}

/* The back-end answered (ctlsess_host.drive). */
static void drive_cb(struct ctlsess *s, const struct flow_result *res)
{
	struct twcall *c = CALL(s);
	tmr_cancel(&c->park);
	if (c->conn)
		drive(c, res);
	else
		stash(c, res); /* the caller is in a <Pause> */
}

/* The saved state's adapter fields (ctlsess_host.state_add). */
static bool state_add(struct ctlsess *s, cJSON *o)
{
	const struct twcall *c = CALL(s);
	return cJSON_AddNumberToObject(o, "tw_step", c->step) &&
	       (!c->last || cJSON_AddStringToObject(o, "tw_last", c->last));
}

/* A request for c that does not advance the flow (a repeated /voice, a
 * retried /gather, a /continue): pick up a back-end's answer, wait for
 * it, or answer the last step again. May free c. */
static void resume(struct twcall *c, struct http_conn *conn, enum route r,
		   uint64_t t0_us)
{
	if (c->conn) { /* another request is held: come back later */
		reply_wait(c, conn, r, t0_us);
		return;
	}
	if (c->have_res || c->cs.breq) {
		c->conn = mem_ref(conn);
		c->route = r;
		c->t0_us = t0_us;
		if (c->cs.breq) {
			tmr_start(&c->park, c->ctl->wait_ms, park_fire, c);
			return;
		}
		struct flow_result res = c->res;
		char *buf = c->res_buf;
		c->have_res = false;
		c->res_buf = NULL;
		drive(c, &res);
		free(buf);
		return;
	}
	if (c->last) {
		LOGI(c->cs.id, "twilio_step_replayed", "route=%s",
		     route_names[r]);
		reply(conn, 200, CT_XML, c->last, strlen(c->last));
		count(r, 200, t0_us);
		return;
	}
	reply_text(conn, r, t0_us, 409, "call busy\n");
}

/* ---- restoring a call from the store ---- */

/* A call rebuilt from its saved state, or NULL (logged). */
static struct twcall *call_restore(struct twctl *t, const char *sid,
				   const char *json, size_t len)
{
	cJSON *o = cJSON_ParseWithLength(json, len);
	struct twcall *c = NULL;
	int err = ctlsess_state_check(o);
	if (!err) {
		c = call_new(t, sid, ctlsess_state_str(o, "from"),
			     ctlsess_state_str(o, "to"),
			     ctlsess_state_str(o, "flow"));
		err = c ? ctlsess_restore(&c->cs, o) : -ENOMEM;
		if (!err) {
			c->step = (unsigned)ctlsess_state_num(o, "tw_step", 0);
			const char *last = ctlsess_state_str(o, "tw_last");
			c->last = last && last[0] ? strdup(last) : NULL;
		}
	}
	cJSON_Delete(o);
	if (err) {
		LOGW(sid, "twilio_restore_failed", "err=%d", err);
		if (c) {
			call_unlink(c);
			call_free(c);
		}
		return NULL;
	}
	LOGI(sid, "twilio_call_restored", "flow=%s node=%s",
	     log_esc(c->cs.flow), log_esc(flow_run_node(c->cs.run)));
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

/* step: the request's ?step= (-1: none, taken as the current one). */
static void on_gather(struct twcall *c, struct http_conn *conn, uint64_t t0_us,
		      const struct twreq_input *in, long step)
{
	if ((step >= 0 && (unsigned long)step != c->step) || c->conn ||
	    c->cs.breq || c->have_res) {
		/* Twilio's retry of a /gather already taken. */
		resume(c, conn, R_GATHER, t0_us);
		return;
	}
	c->step++;
	c->conn = mem_ref(conn);
	c->route = R_GATHER;
	c->t0_us = t0_us;
	struct flow_result res = {
		.type = FLOW_RES_INPUT,
		.now_ms = clock_wall_ms(),
	};
	c->cs.stt_conf = 0;
	if (in->digits[0]) {
		res.input.kind = FLOW_IN_DTMF;
		res.input.digits = in->digits;
		size_t n = strlen(c->cs.dtmf);
		snprintf(c->cs.dtmf + n, sizeof(c->cs.dtmf) - n, "%s",
			 in->digits);
	} else if (in->speech[0]) {
		res.input.kind = FLOW_IN_SPEECH;
		res.input.transcript = in->speech;
		res.input.stt_confidence = in->conf;
		res.input.stt_engine = "twilio";
		c->cs.stt_conf = in->conf;
	} else {
		res.input.kind = FLOW_IN_NO_INPUT;
	}
	drive(c, &res);
}

static void on_status(struct twcall *c, struct http_conn *conn, uint64_t t0_us,
		      const struct twreq_input *in)
{
	const char *why = status_end_reason(in->status);
	if (why) {
		if (c->conn) /* Twilio hung up while we held it */
			reply_hangup(c->conn, c->route, c->t0_us, NULL, c->ctl);
		call_finish(c, why);
	}
	reply_text(conn, R_STATUS, t0_us, 200, "");
}

/* Also when the adapter went first (nothing to answer with). */
static void wait_free(void *arg)
{
	struct twwait *w = arg;
	mem_deref(w->conn);
	free(w);
}

static void on_restored(int err, char *json, size_t len, void *arg)
{
	struct twwait *w = arg;
	struct twctl *t = w->ctl;
	if (err && err != -ENOENT) {
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
		} else if (w->route == R_GATHER) {
			on_gather(c, w->conn, w->t0_us, &w->in, w->step);
		} else {
			resume(c, w->conn, w->route, w->t0_us);
		}
	}
	free(json);
	wait_free(w);
}

static void wait_store(struct twctl *t, struct http_conn *conn, enum route r,
		       uint64_t t0_us, const char *sid,
		       const struct twreq_input *in, long step)
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
	w->step = step;
	int err = ctlsess_read(&t->host, sid, on_restored, wait_free, w);
	if (err) {
		LOGW(sid, "twilio_state_read_refused", "err=%d", err);
		reply_text(conn, r, t0_us, 503, "store busy\n");
		wait_free(w);
	}
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
	struct twcall *old = call_find(t, sid);
	if (old) { /* Twilio's retry, or a fallback URL */
		resume(old, conn, R_VOICE, t0_us);
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
	int err = c ? ctlsess_run_create(&c->cs, fl) : -ENOMEM;
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
	LOGI(sid, "twilio_call_new", "from=%s to=%s flow=%s",
	     log_esc(c->cs.from), log_esc(c->cs.to), log_esc(c->cs.flow));
	ctlsess_begin(&c->cs);
	c->conn = mem_ref(conn);
	c->route = R_VOICE;
	c->t0_us = t0_us;
	struct flow_result res = { .type = FLOW_RES_START,
				   .now_ms = clock_wall_ms() };
	drive(c, &res);
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
	} else if (!pl_strcmp(&msg->path, "/twilio/continue")) {
		r = R_CONTINUE;
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
	const char *sid = err ? NULL : twreq_sid(&f);
	if (!sid) {
		reply_text(conn, r, t0_us, 400,
			   "CallSid missing or malformed\n");
		twform_fini(&f);
		return;
	}
	struct twreq_input in = { 0 };
	twreq_input_get(&in, &f);
	long step = twreq_step(msg->prm.p, msg->prm.l);
	struct twcall *c = r == R_VOICE ? NULL : call_find(t, sid);
	if (r == R_VOICE)
		on_voice(t, conn, t0_us, &f, sid);
	else if (c && r == R_GATHER)
		on_gather(c, conn, t0_us, &in, step);
	else if (c && r == R_CONTINUE)
		resume(c, conn, r, t0_us);
	else if (c)
		on_status(c, conn, t0_us, &in);
	else if (t->store)
		wait_store(t, conn, r, t0_us, sid, &in, step);
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
	t->route = cfg->route;
	t->route_arg = cfg->route_arg;
	t->host = (struct ctlsess_host){
		.loop = cfg->loop,
		.store = cfg->store,
		.backend = cfg->backend,
		.flows_hold = cfg->flows_hold,
		.hold_arg = cfg->route_arg,
		.platform = TW_PLATFORM,
		.channel = "twilio",
		.log_name = "twilio",
		.stt_engine = "twilio",
		.audio = true,
		.timeout_ms = cfg->backend_timeout_ms ? cfg->backend_timeout_ms
						      : DEFAULT_TIMEOUT_MS,
		.drive = drive_cb,
		.timeout = backend_timeout,
		.state_add = state_add,
	};
	t->wait_ms = cfg->wait_ms ? cfg->wait_ms : DEFAULT_WAIT_MS;
	t->redirects_max =
		cfg->redirects_max ? cfg->redirects_max : DEFAULT_REDIRECTS_MAX;
	t->auth_token = strdup(cfg->auth_token);
	t->public_url = strdup(cfg->public_url);
	t->media_calls = cfg->media_calls;
	t->queues = cfg->queues;
	t->nqueues = cfg->nqueues;
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
	for (struct ctlsess *cs; (cs = ctlsess_pop(&t->calls));) {
		struct twcall *c = CALL(cs);
		if (c->conn)
			reply_text(c->conn, c->route, c->t0_us, 503,
				   "shutting down\n");
		call_free(c);
	}
	ctlsess_host_close(&t->host);
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
	return t ? t->calls.n : 0;
}
