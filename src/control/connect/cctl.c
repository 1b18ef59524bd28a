/* Amazon Connect Lambda functions and the Lex code hook (see cctl.h). A
 * request is authenticated, parsed, and either answered at once (classify,
 * lex) or held while a back-end works (CRM lookup, http, the store for a
 * flow's state); every held request has a timer and is answered exactly
 * once. */
#include "control/connect/cctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <re.h>

#include "control/connect/ccauth.h"
#include "control/ctlsess.h"
#include "control/connect/ccevent.h"
#include "control/connect/lexhook.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/strbuf.h"
#include "engines/nlu/classifier.h"
#include "engines/nlu/entities.h"
#include "flow/flow.h"
#include "flow/model.h"
#include "flow/runtime.h"
#include "store/store.h"

enum {
	PROMPT_MAX = 8192,
	PARAM_MAX = 2048,
};

static const char PLATFORM[] = "connect";
static const char CT_JSON[] = "application/json";

typedef __typeof__(((struct vg_config *)0)->connect) cc_conf;

struct ccreq;

struct cctl {
	struct ctlsess_host host; /* of flow requests */
	struct vg_loop *loop;
	struct store *store;
	const struct flow_backend *backend;
	struct flow *(*route)(void *arg, const char *to);
	void *route_arg;
	cc_conf conf;
	struct connect_auth *auth;
	struct lex_intent_cfg intents[CONFIG_CONNECT_INTENTS_MAX];
	struct ccreq *reqs; /* held */
};

/* A held request. ctl is cleared when the adapter goes first; the request
 * then only waits for its back-end callback to free it. */
struct ccreq {
	struct ccreq *prev, *next;
	struct cctl *ctl;
	struct http_conn *conn; /* a reference until answered */
	const struct config_connect_fn *fn;
	uint64_t t0_us;
	struct connect_event ev;
	struct tmr tmr;
	bool backend_out; /* a back-end callback is still to come */
	/* flow: the contact's session (id: ContactId; host NULL until the
	 * store answered) */
	struct ctlsess cs;
	struct strbuf prompt;
	cJSON *answer; /* the map being built */
	char digits[64], conf[32];
};

#define CCREQ(s) CTLSESS_OWNER(s, struct ccreq, cs)

static const struct config_connect_fn builtins[] = {
	{ .name = "crm_lookup", .type = CONFIG_CONNECT_CRM_LOOKUP },
	{ .name = "classify", .type = CONFIG_CONNECT_CLASSIFY },
	{ .name = "flow", .type = CONFIG_CONNECT_FLOW },
};

static const char *const type_names[] = { "crm_lookup", "classify", "flow",
					  "http" };

/* ---- replies ---- */

static void count(const char *route, uint16_t code, uint64_t t0_us)
{
	ctlsess_count("connect", "Amazon Connect", route, code, t0_us);
}

static void reply(struct http_conn *conn, const char *route, uint64_t t0_us,
		  uint16_t code, const char *body, size_t len)
{
	(void)ctlsess_reply(conn, code, CT_JSON, body, len);
	count(route, code, t0_us);
}

static void reply_error(struct http_conn *conn, const char *route,
			uint64_t t0_us, uint16_t code, const char *error,
			const char *message)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", error);
	cJSON_AddStringToObject(o, "message", message ? message : error);
	char *txt = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (txt)
		reply(conn, route, t0_us, code, txt, strlen(txt));
	else
		reply(conn, route, t0_us, code, "{}", 2);
	free(txt);
}

/* The function's answer: flattened (or JSON), refused when too big. */
static void reply_answer(struct http_conn *conn, const char *route,
			 uint64_t t0_us, const struct config_connect_fn *fn,
			 const cJSON *val)
{
	char *txt = NULL;
	size_t len = 0;
	char why[160] = "";
	int err = connect_answer_print(val, fn->json, &txt, &len, why,
				       sizeof(why));
	if (err == -E2BIG) {
		LOGW(NULL, "connect_answer_refused", "function=%s why=%s",
		     log_esc(fn->name), log_esc(why));
		reply_error(conn, route, t0_us, 500, "answer_too_large", why);
		return;
	}
	if (err) {
		reply_error(conn, route, t0_us, 500, "internal", "no memory");
		return;
	}
	reply(conn, route, t0_us, 200, txt, len);
	free(txt);
}

/* ---- held requests ---- */

static struct ccreq *req_new(struct cctl *c, struct http_conn *conn,
			     const struct config_connect_fn *fn, uint64_t t0_us,
			     struct connect_event *ev)
{
	struct ccreq *q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->ctl = c;
	q->conn = mem_ref(conn);
	q->fn = fn;
	q->t0_us = t0_us;
	q->ev = *ev; /* takes the parsed event */
	memset(ev, 0, sizeof(*ev));
	tmr_init(&q->tmr);
	strbuf_init(&q->prompt, PROMPT_MAX);
	q->next = c->reqs;
	if (c->reqs)
		c->reqs->prev = q;
	c->reqs = q;
	return q;
}

static void req_unlink(struct ccreq *q)
{
	struct cctl *c = q->ctl;
	if (!c)
		return;
	if (q->prev)
		q->prev->next = q->next;
	else
		c->reqs = q->next;
	if (q->next)
		q->next->prev = q->prev;
	q->prev = q->next = NULL;
}

/* Answered: drop the connection; free unless a callback is still due. */
static void req_done(struct ccreq *q)
{
	tmr_cancel(&q->tmr);
	q->conn = mem_deref(q->conn);
	if (q->backend_out)
		return;
	req_unlink(q);
	if (q->cs.host)
		ctlsess_fini(&q->cs);
	strbuf_fini(&q->prompt);
	cJSON_Delete(q->answer);
	connect_event_fini(&q->ev);
	free(q);
}

static const char *fn_route(const struct ccreq *q)
{
	return type_names[q->fn->type];
}

static void req_error(struct ccreq *q, uint16_t code, const char *error,
		      const char *message)
{
	if (q->conn)
		reply_error(q->conn, fn_route(q), q->t0_us, code, error,
			    message);
	req_done(q);
}

static void req_answer(struct ccreq *q, const cJSON *val)
{
	if (q->conn)
		reply_answer(q->conn, fn_route(q), q->t0_us, q->fn, val);
	req_done(q);
}

static void req_timeout(void *arg)
{
	struct ccreq *q = arg;
	LOGW(q->ev.contact_id, "connect_backend_timeout", "function=%s",
	     log_esc(q->fn->name));
	req_error(q, 504, "timeout", "the back-end did not answer in time");
}

static bool busy(const struct cctl *c, const char *contact_id,
		 const struct ccreq *self)
{
	for (const struct ccreq *q = c->reqs; q; q = q->next)
		if (q != self && q->conn &&
		    q->fn->type == CONFIG_CONNECT_FLOW &&
		    !strcmp(q->ev.contact_id, contact_id))
			return true;
	return false;
}

/* ---- crm_lookup ---- */

static void lookup_done(const struct flow_result *res, void *arg)
{
	struct ccreq *q = arg;
	q->backend_out = false;
	if (!q->ctl || !q->conn) {
		req_done(q);
		return;
	}
	cJSON *o = NULL;
	if (res->err == -ENOENT) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "found", "false");
	} else if (!res->err) {
		o = cJSON_ParseWithLength(res->lookup.json,
					  res->lookup.json_len);
		if (cJSON_IsObject(o)) {
			cJSON_AddStringToObject(o, "found", "true");
		} else {
			cJSON_Delete(o);
			o = NULL;
		}
	}
	if (!o) {
		req_error(q, 502, "crm_failed", "the CRM query failed");
		return;
	}
	req_answer(q, o);
	cJSON_Delete(o);
}

static void fn_crm_lookup(struct ccreq *q)
{
	struct cctl *c = q->ctl;
	char buf[64];
	const char *key = q->fn->param[0] ? q->fn->param : "phone";
	const char *phone = connect_event_param(&q->ev, key, buf, sizeof(buf));
	if (!phone || !phone[0])
		phone = q->ev.customer_address;
	if (!phone || !phone[0]) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "found", "false");
		req_answer(q, o);
		cJSON_Delete(o);
		return;
	}
	if (!c->backend->lookup) {
		req_error(q, 503, "no_crm", "no CRM configured");
		return;
	}
	struct flow_action a = { .type = FLOW_ACT_LOOKUP, .node = "connect" };
	a.lookup.query = FLOW_LOOKUP_CUSTOMER_BY_PHONE;
	a.lookup.key = phone;
	q->backend_out = true;
	int err = c->backend->lookup(c->backend->ctx, &a, c->loop, lookup_done,
				     q);
	if (err) {
		q->backend_out = false;
		req_error(q, 503, "crm_busy", "the CRM refused the query");
		return;
	}
	tmr_start(&q->tmr, c->conf.timeout_ms, req_timeout, q);
}

/* ---- classify ---- */

static cJSON *classify_answer(const struct nlu_model *m, const char *text)
{
	struct nlu_result *r = malloc(sizeof(*r));
	struct nlu_entity *ents = calloc(NLU_ENTITIES_MAX, sizeof(*ents));
	cJSON *o = cJSON_CreateObject();
	size_t n = 0;
	char num[32];
	if (!r || !ents || !o || nlu_classify(m, text, r)) {
		cJSON_Delete(o);
		o = NULL;
		goto out;
	}
	bool oos = !r->n || r->out_of_scope;
	cJSON_AddStringToObject(o, "intent", oos ? "" : r->top[0].intent);
	snprintf(num, sizeof(num), "%.3f",
		 r->n ? (double)r->top[0].confidence : 0.0);
	cJSON_AddStringToObject(o, "confidence", num);
	cJSON_AddStringToObject(o, "out_of_scope", oos ? "true" : "false");
	cJSON *alts = cJSON_AddArrayToObject(o, "alternatives");
	for (size_t i = 0; alts && i < r->n && i < 3; i++) {
		cJSON *a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, "intent", r->top[i].intent);
		snprintf(num, sizeof(num), "%.3f",
			 (double)r->top[i].confidence);
		cJSON_AddStringToObject(a, "confidence", num);
		cJSON_AddItemToArray(alts, a);
	}
	cJSON *slots = cJSON_AddObjectToObject(o, "slots");
	if (!nlu_entities_extract(text, NULL, ents, NLU_ENTITIES_MAX, &n)) {
		for (size_t i = 0; slots && i < n; i++) {
			const char *t = nlu_entity_type_name(ents[i].type);
			if (!cJSON_HasObjectItem(slots, t))
				cJSON_AddStringToObject(slots, t,
							ents[i].value);
		}
	}
out:
	free(r);
	free(ents);
	return o;
}

static void fn_classify(struct cctl *c, struct http_conn *conn, uint64_t t0_us,
			const struct config_connect_fn *fn,
			const struct connect_event *ev)
{
	char buf[64];
	const char *key = fn->param[0] ? fn->param : "transcript";
	const char *text = connect_event_param(ev, key, buf, sizeof(buf));
	const char *mname = fn->model[0] ? fn->model : c->conf.model;
	const struct nlu_model *m =
		c->backend->find_model
			? c->backend->find_model(c->backend->ctx, mname)
			: NULL;
	if (!text || strlen(text) > NLU_ENTITIES_MAX_IN) {
		reply_error(conn, "classify", t0_us, 400, "bad_parameters",
			    "Parameters lack a transcript (or it is too long)");
		return;
	}
	if (!m) {
		reply_error(conn, "classify", t0_us, 503, "no_model",
			    "the NLU model is not loaded");
		return;
	}
	cJSON *o = classify_answer(m, text);
	if (!o) {
		reply_error(conn, "classify", t0_us, 500, "internal",
			    "classification failed");
		return;
	}
	reply_answer(conn, "classify", t0_us, fn, o);
	cJSON_Delete(o);
}

/* ---- http ---- */

static void http_done(const struct flow_result *res, void *arg)
{
	struct ccreq *q = arg;
	q->backend_out = false;
	if (!q->ctl || !q->conn) {
		req_done(q);
		return;
	}
	if (res->err || res->http.status < 200 || res->http.status > 299) {
		char m[96];
		snprintf(m, sizeof(m), "the endpoint answered %d (err %d)",
			 res->http.status, res->err);
		req_error(q, 502, "http_failed", m);
		return;
	}
	cJSON *o = res->http.body ? cJSON_ParseWithLength(res->http.body,
							  res->http.body_len)
				  : NULL;
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		o = cJSON_CreateObject();
		char st[16];
		snprintf(st, sizeof(st), "%d", res->http.status);
		cJSON_AddStringToObject(o, "status", st);
		cJSON *b = cJSON_CreateString("");
		if (res->http.body && res->http.body_len <= CONNECT_VALUE_MAX) {
			cJSON_Delete(b);
			char *t = malloc(res->http.body_len + 1);
			if (t) {
				memcpy(t, res->http.body, res->http.body_len);
				t[res->http.body_len] = '\0';
			}
			b = cJSON_CreateString(t ? t : "");
			free(t);
		}
		cJSON_AddItemToObject(o, "body", b);
	}
	req_answer(q, o);
	cJSON_Delete(o);
}

static void fn_http(struct ccreq *q, const char *body, size_t len)
{
	struct cctl *c = q->ctl;
	if (!c->backend->http) {
		req_error(q, 503, "no_http", "no HTTP client");
		return;
	}
	struct flow_action a = { .type = FLOW_ACT_HTTP, .node = "connect" };
	bool post = !strcmp(q->fn->method, "POST");
	a.http.method = q->fn->method;
	a.http.url = q->fn->url;
	a.http.header_names[0] = "Content-Type";
	a.http.header_values[0] = CT_JSON;
	a.http.nheaders = post ? 1 : 0;
	a.http.body = post ? body : NULL;
	a.http.body_len = post ? len : 0;
	a.http.timeout_ms = c->conf.timeout_ms;
	q->backend_out = true;
	int err = c->backend->http(c->backend->ctx, &a, c->loop, http_done, q);
	if (err) {
		q->backend_out = false;
		req_error(q, 503, "http_busy", "the HTTP client refused");
		return;
	}
	tmr_start(&q->tmr, c->conf.timeout_ms + 500, req_timeout, q);
}

/* ---- flow ---- */

static void hold_flows(const struct cctl *c, bool hold)
{
	ctlsess_hold(&c->host, hold);
}

static void prompt_add(struct ccreq *q, const char *text)
{
	if (!text || !text[0])
		return;
	if (strbuf_str(&q->prompt)[0])
		(void)strbuf_addstr(&q->prompt, " ");
	(void)strbuf_addstr(&q->prompt, text);
}

/* Answer the held flow request with action and what was said. */
static void flow_answer(struct ccreq *q, const char *action, bool over)
{
	cJSON *o = q->answer ? q->answer : cJSON_CreateObject();
	q->answer = NULL;
	cJSON_AddStringToObject(o, "action", action);
	cJSON_AddStringToObject(o, "prompt", strbuf_str(&q->prompt));
	cJSON_AddStringToObject(o, "flow", q->cs.flow);
	const char *node = q->cs.run ? flow_run_node(q->cs.run) : NULL;
	cJSON_AddStringToObject(o, "node", node ? node : "");
	if (over) {
		const char *why =
			q->cs.run ? flow_run_end_reason(q->cs.run) : NULL;
		cJSON_AddStringToObject(o, "end_reason",
					why ? why : "completed");
		ctlsess_end(&q->cs, why ? why : "completed");
	} else {
		ctlsess_save(&q->cs);
	}
	LOGI(q->ev.contact_id, "connect_flow_answer", "action=%s node=%s",
	     action, log_esc(node ? node : ""));
	req_answer(q, o);
	cJSON_Delete(o);
}

static void flow_drive(struct ccreq *q, const struct flow_result *res);

/* The back-end answered (ctlsess_host.drive). */
static void flow_backend_done(struct ctlsess *cs, const struct flow_result *res)
{
	flow_drive(CCREQ(cs), res);
}

/* It did not answer in time (ctlsess_host.timeout). */
static void flow_backend_timeout(struct ctlsess *cs)
{
	struct ccreq *q = CCREQ(cs);
	req_error(q, 504, "timeout", "the back-end did not answer in time");
}

static void gather_answer(struct ccreq *q, const struct flow_action *a)
{
	for (unsigned i = 0; i < a->gather.nprompts; i++)
		prompt_add(q, a->gather.prompts[i].text);
	unsigned in = a->gather.input;
	const char *input = (in & FLOW_ACT_IN_DTMF) && (in & FLOW_ACT_IN_SPEECH)
				    ? "dtmf speech"
			    : (in & FLOW_ACT_IN_SPEECH) ? "speech"
							: "dtmf";
	char n[16];
	q->answer = cJSON_CreateObject();
	cJSON_AddStringToObject(q->answer, "input", input);
	snprintf(n, sizeof(n), "%u", a->gather.max_digits);
	cJSON_AddStringToObject(q->answer, "max_digits", n);
	snprintf(n, sizeof(n), "%u", (a->gather.timeout_ms + 999) / 1000);
	cJSON_AddStringToObject(q->answer, "timeout_s", n);
	cJSON_AddStringToObject(q->answer, "terminator",
				a->gather.terminator ? a->gather.terminator
						     : "");
	flow_answer(q, "gather", false);
}

/* Walk the run until it waits for the caller, a back-end, or ends. */
static void flow_drive(struct ccreq *q, const struct flow_result *res)
{
	struct flow_action act;
	struct flow_result next;
	const char *end_action = "hangup";
	for (;;) {
		int err = ctlsess_step(&q->cs, res, &act);
		if (err) {
			LOGE(q->ev.contact_id, "flow_step_failed", "err=%d",
			     err);
			ctlsess_end(&q->cs, "error");
			req_error(q, 500, "flow_failed",
				  "the flow could not continue");
			return;
		}
		next = (struct flow_result){ .now_ms = clock_wall_ms() };
		switch (act.type) {
		case FLOW_ACT_SAY:
			prompt_add(q, act.say.text);
			next.type = FLOW_RES_PLAYED;
			break;
		case FLOW_ACT_PLAY:
			prompt_add(q, act.play.text);
			next.type = FLOW_RES_PLAYED;
			next.err = act.play.text ? 0 : -ENOTSUP;
			break;
		case FLOW_ACT_GATHER:
			gather_answer(q, &act);
			return;
		case FLOW_ACT_TRANSFER: {
			const char *t = act.transfer.target;
			if (!q->answer)
				q->answer = cJSON_CreateObject();
			cJSON_DeleteItemFromObjectCaseSensitive(q->answer,
								"target");
			cJSON_AddStringToObject(q->answer, "target",
						t ? t : "agent");
			end_action = "transfer";
			next.type = FLOW_RES_TRANSFERRED;
			next.transferred.ok = true;
			break;
		}
		case FLOW_ACT_RECORD:
			next.type = FLOW_RES_RECORDED;
			break;
		case FLOW_ACT_HTTP:
		case FLOW_ACT_LOOKUP:
			if (!ctlsess_backend_start(&q->cs, &act, &next))
				return; /* flow_backend_done continues */
			break;
		case FLOW_ACT_HANGUP:
			next.type = FLOW_RES_HANGUP;
			break;
		case FLOW_ACT_END:
			flow_answer(q, end_action, true);
			return;
		}
		res = &next;
	}
}

/* The input of an invocation that continues a contact (numbers printed
 * into q's buffers, which outlive the step). */
static void flow_input(struct ccreq *q, struct flow_result *res)
{
	char b1[32];
	const char *ev = connect_event_param(&q->ev, "event", b1, sizeof(b1));
	const char *dg = connect_event_param(&q->ev, "digits", q->digits,
					     sizeof(q->digits));
	const char *tr = connect_event_param(&q->ev, "transcript", NULL, 0);
	const char *cf = connect_event_param(&q->ev, "confidence", q->conf,
					     sizeof(q->conf));
	const char *in = connect_event_param(&q->ev, "intent", NULL, 0);
	*res = (struct flow_result){ .type = FLOW_RES_INPUT,
				     .now_ms = clock_wall_ms() };
	if (ev && !strcmp(ev, "hangup")) {
		res->type = FLOW_RES_HANGUP;
	} else if (dg && dg[0] && strlen(dg) < sizeof(q->digits)) {
		res->input.kind = FLOW_IN_DTMF;
		res->input.digits = dg;
	} else if (tr && tr[0] && strlen(tr) <= PARAM_MAX) {
		res->input.kind = FLOW_IN_SPEECH;
		res->input.transcript = tr;
		res->input.stt_engine = "connect";
		float f = cf ? strtof(cf, NULL) : 0.0f;
		res->input.stt_confidence = f >= 0.0f && f <= 1.0f ? f : 0.0f;
		if (in && in[0]) {
			res->input.intent = in;
			res->input.intent_confidence =
				res->input.stt_confidence;
		}
	} else {
		res->input.kind = FLOW_IN_NO_INPUT;
	}
}

/* The contact's session of flow (from and to: the event's addresses). */
static int sess_init(struct ccreq *q, const char *flow)
{
	int err = ctlsess_init(&q->cs, &q->ctl->host, q->ev.contact_id, flow,
			       q->ev.customer_address, q->ev.system_address);
	if (err)
		q->cs.host = NULL; /* nothing to release */
	return err;
}

static void flow_restored(int err, char *json, size_t len, void *arg)
{
	struct ccreq *q = arg;
	q->backend_out = false;
	if (!q->ctl || !q->conn) {
		free(json);
		req_done(q);
		return;
	}
	tmr_cancel(&q->tmr);
	struct cctl *c = q->ctl;
	char b[16];
	const char *evn = connect_event_param(&q->ev, "event", b, sizeof(b));
	if (err == -ENOENT && evn && !strcmp(evn, "hangup")) {
		/* Gone before (or after) the flow: nothing to run or keep. */
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "action", "hangup");
		cJSON_AddStringToObject(o, "prompt", "");
		cJSON_AddStringToObject(o, "end_reason", "caller_hangup");
		req_answer(q, o);
		cJSON_Delete(o);
		return;
	}
	if (err == -ENOENT) { /* a new contact */
		const char *name = q->fn->flow[0]    ? q->fn->flow
				   : c->conf.flow[0] ? c->conf.flow
						     : NULL;
		hold_flows(c, true);
		struct flow *fl = name ? ctlsess_find_flow(&c->host, name)
				       : c->route(c->route_arg,
						  q->ev.system_address
							  ? q->ev.system_address
							  : "");
		int rerr = fl ? sess_init(q, flow_name(fl)) : -ENOENT;
		if (!rerr)
			rerr = ctlsess_run_create(&q->cs, fl);
		hold_flows(c, false);
		if (rerr) {
			req_error(q, rerr == -ENOENT ? 404 : 503, "no_flow",
				  "no flow for this contact");
			return;
		}
		LOGI(q->ev.contact_id, "connect_contact_new", "flow=%s",
		     log_esc(q->cs.flow));
		ctlsess_begin(&q->cs);
		struct flow_result start = { .type = FLOW_RES_START,
					     .now_ms = clock_wall_ms() };
		flow_drive(q, &start);
		return;
	}
	if (err) {
		req_error(q, 503, "store_error", "the store failed");
		return;
	}
	cJSON *o = cJSON_ParseWithLength(json, len);
	free(json);
	int rerr = ctlsess_state_check(o);
	if (!rerr)
		rerr = sess_init(q, ctlsess_state_str(o, "flow"));
	if (!rerr)
		rerr = ctlsess_restore(&q->cs, o);
	cJSON_Delete(o);
	if (rerr) {
		LOGW(q->ev.contact_id, "connect_restore_failed", "err=%d",
		     rerr);
		(void)store_session_del(c->store, PLATFORM, q->ev.contact_id);
		req_error(q, 500, "state_lost", "the contact cannot continue");
		return;
	}
	struct flow_result res;
	flow_input(q, &res);
	flow_drive(q, &res);
}

static void fn_flow(struct ccreq *q)
{
	struct cctl *c = q->ctl;
	if (!c->store) {
		req_error(q, 503, "no_store",
			  "the flow function needs a store");
		return;
	}
	if (busy(c, q->ev.contact_id, q)) {
		req_error(q, 409, "contact_busy",
			  "an invocation for this contact is in progress");
		return;
	}
	q->backend_out = true;
	int err = store_session_get(c->store, PLATFORM, q->ev.contact_id,
				    c->loop, flow_restored, q);
	if (err) {
		q->backend_out = false;
		req_error(q, 503, "store_busy", "the store refused");
		return;
	}
	tmr_start(&q->tmr, c->conf.timeout_ms, req_timeout, q);
}

/* ---- requests ---- */

static const struct config_connect_fn *fn_find(const struct cctl *c,
					       const char *name, size_t len)
{
	for (unsigned i = 0; i < c->conf.nfunctions; i++)
		if (strlen(c->conf.functions[i].name) == len &&
		    !memcmp(c->conf.functions[i].name, name, len))
			return &c->conf.functions[i];
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (strlen(builtins[i].name) == len &&
		    !memcmp(builtins[i].name, name, len))
			return &builtins[i];
	return NULL;
}

static void on_lex(struct cctl *c, struct http_conn *conn, uint64_t t0_us,
		   const char *body, size_t len)
{
	const char *mname =
		c->conf.lex_model[0] ? c->conf.lex_model : c->conf.model;
	struct lex_cfg lc = {
		.min_confidence = c->conf.lex_min_confidence,
		.model =
			c->backend->find_model
				? c->backend->find_model(c->backend->ctx, mname)
				: NULL,
		.intents = c->intents,
		.nintents = c->conf.nintents,
	};
	char *out = NULL;
	size_t outlen = 0;
	char why[128] = "";
	struct lex_outcome oc;
	int err = lex_hook_answer(&lc, body, len, &out, &outlen, &oc, why,
				  sizeof(why));
	if (err == -EBADMSG || err == -E2BIG) {
		reply_error(conn, "lex", t0_us, 400, "bad_event",
			    why[0] ? why : "event too large");
		return;
	}
	if (err) {
		reply_error(conn, "lex", t0_us, 500, "internal", "no memory");
		return;
	}
	LOGI(NULL, "connect_lex", "action=%s intent=%s reclassified=%d",
	     lex_action_name(oc.action), log_esc(oc.intent), oc.reclassified);
	reply(conn, "lex", t0_us, 200, out, outlen);
	free(out);
}

static void hdr(const struct http_msg *msg, const char *name, const char **p,
		size_t *l)
{
	const struct http_hdr *h = http_msg_xhdr(msg, name);
	*p = h ? h->val.p : NULL;
	*l = h ? h->val.l : 0;
}

void cctl_request(struct http_conn *conn, const struct http_msg *msg, void *arg)
{
	struct cctl *c = arg;
	uint64_t t0_us = clock_mono_us();
	static const char lambda[] = "/connect/lambda/";
	const char *route;
	const struct config_connect_fn *fn = NULL;
	bool lex = !pl_strcmp(&msg->path, "/connect/lex");
	if (lex) {
		route = "lex";
	} else if (msg->path.l > sizeof(lambda) - 1 &&
		   !memcmp(msg->path.p, lambda, sizeof(lambda) - 1)) {
		route = "lambda";
	} else {
		reply_error(conn, "other", t0_us, 404, "not_found",
			    "no such route");
		return;
	}
	if (pl_strcmp(&msg->met, "POST")) {
		reply_error(conn, route, t0_us, 405, "method", "only POST");
		return;
	}
	size_t len = msg->mb ? mbuf_get_left(msg->mb) : 0;
	const char *body = len ? (const char *)mbuf_buf(msg->mb) : "";
	if (len > c->conf.max_body_bytes) {
		reply_error(conn, route, t0_us, 413, "too_large",
			    "the body exceeds connect.max_body");
		return;
	}
	const char *k, *ts, *sig;
	size_t kl, tl, sl;
	hdr(msg, "X-Api-Key", &k, &kl);
	hdr(msg, "X-Voxgate-Timestamp", &ts, &tl);
	hdr(msg, "X-Voxgate-Signature", &sig, &sl);
	int err = connect_auth_check(c->auth, k, kl, ts, tl, sig, sl, body, len,
				     clock_wall_ms() / 1000);
	if (err) {
		LOGW(NULL, "connect_auth_failed", "route=%s reason=%s", route,
		     connect_auth_reason(err));
		reply_error(conn, route, t0_us, 401, "unauthorized",
			    connect_auth_reason(err));
		return;
	}
	if (lex) {
		on_lex(c, conn, t0_us, body, len);
		return;
	}
	fn = fn_find(c, msg->path.p + sizeof(lambda) - 1,
		     msg->path.l - (sizeof(lambda) - 1));
	if (!fn) {
		reply_error(conn, route, t0_us, 404, "no_function",
			    "no such function");
		return;
	}
	route = type_names[fn->type];
	struct connect_event ev;
	char why[128] = "";
	err = connect_event_parse(&ev, body, len, why, sizeof(why));
	if (err) {
		reply_error(conn, route, t0_us, err == -EBADMSG ? 400 : 500,
			    "bad_event", why[0] ? why : "cannot parse");
		return;
	}
	if (fn->type == CONFIG_CONNECT_CLASSIFY) {
		fn_classify(c, conn, t0_us, fn, &ev);
		connect_event_fini(&ev);
		return;
	}
	struct ccreq *q = req_new(c, conn, fn, t0_us, &ev);
	if (!q) {
		connect_event_fini(&ev);
		reply_error(conn, route, t0_us, 503, "no_memory", "no memory");
		return;
	}
	switch (fn->type) {
	case CONFIG_CONNECT_CRM_LOOKUP:
		fn_crm_lookup(q);
		break;
	case CONFIG_CONNECT_FLOW:
		fn_flow(q);
		break;
	case CONFIG_CONNECT_HTTP:
		fn_http(q, body, len);
		break;
	default:
		req_error(q, 500, "internal", "bad function type");
		break;
	}
}

/* ---- the adapter ---- */

int cctl_create(struct cctl **cp, const struct cctl_cfg *cfg)
{
	if (!cp || !cfg || !cfg->loop || !cfg->backend || !cfg->route ||
	    !cfg->config)
		return -EINVAL;
	struct cctl *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->loop = cfg->loop;
	c->store = cfg->store;
	c->backend = cfg->backend;
	c->route = cfg->route;
	c->route_arg = cfg->route_arg;
	c->conf = cfg->config->connect;
	if (!c->conf.timeout_ms)
		c->conf.timeout_ms = 5000;
	c->host = (struct ctlsess_host){
		.loop = cfg->loop,
		.store = cfg->store,
		.backend = cfg->backend,
		.flows_hold = cfg->flows_hold,
		.hold_arg = cfg->route_arg,
		.platform = PLATFORM,
		.channel = "connect",
		.log_name = "connect",
		.audio = false,
		.no_call_events = true,
		.no_turns = true,
		.timeout_ms = c->conf.timeout_ms,
		.drive = flow_backend_done,
		.timeout = flow_backend_timeout,
	};
	if (!c->conf.max_body_bytes)
		c->conf.max_body_bytes = 64 * 1024;
	for (unsigned i = 0; i < c->conf.nintents; i++) {
		const struct config_connect_intent *e = &c->conf.intents[i];
		c->intents[i] = (struct lex_intent_cfg){
			.intent = e->intent,
			.slots = e->slots,
			.confirm = e->confirm,
			.prompt = e->prompt,
		};
	}
	int err = connect_auth_create(&c->auth, c->conf.api_key, c->conf.secret,
				      0, 0);
	/* The copies in conf are secrets too: only auth keeps them. */
	memset(c->conf.api_key, 0, sizeof(c->conf.api_key));
	memset(c->conf.secret, 0, sizeof(c->conf.secret));
	if (err) {
		free(c);
		return err;
	}
	*cp = c;
	return 0;
}

void cctl_destroy(struct cctl *c)
{
	if (!c)
		return;
	while (c->reqs) {
		struct ccreq *q = c->reqs;
		c->reqs = q->next;
		q->prev = q->next = NULL;
		if (q->conn)
			reply_error(q->conn, fn_route(q), q->t0_us, 503,
				    "shutting_down", "shutting down");
		q->ctl = NULL;
		req_done(q);
	}
	connect_auth_destroy(c->auth);
	free(c);
}
