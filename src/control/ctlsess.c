/* Flow sessions of the control adapters (see ctlsess.h): the run, its CDR
 * record, its saved state and its held back-end request. */
#include "control/ctlsess.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <re.h>

#include "core/clock.h"
#include "core/log.h"
#include "call/turnrec.h"
#include "core/strbuf.h"
#include "flow/flow.h"
#include "flow/runtime.h"
#include "metrics/metrics.h"
#include "store/store.h"

/* A back-end request in flight; sess is cleared when the session goes
 * first (the answer is then dropped). */
struct ctlsess_breq {
	struct ctlsess *sess;
};

static void copy(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

/* "<log_name>_<what>" for a log event name. */
static const char *evname(char *buf, size_t cap, const struct ctlsess_host *h,
			  const char *what)
{
	snprintf(buf, cap, "%s_%s", h->log_name ? h->log_name : "ctl", what);
	return buf;
}

void ctlsess_hold(const struct ctlsess_host *h, bool hold)
{
	if (h->flows_hold)
		h->flows_hold(h->hold_arg, hold);
}

struct flow *ctlsess_find_flow(const struct ctlsess_host *h, const char *name)
{
	return h->backend->find_flow && name
		       ? h->backend->find_flow(h->backend->ctx, name)
		       : NULL;
}

static struct flow *find_flow(void *arg, const char *name)
{
	return ctlsess_find_flow(arg, name);
}

static struct nlu_model *find_model(void *arg, const char *name)
{
	const struct ctlsess_host *h = arg;
	return h->backend->find_model
		       ? h->backend->find_model(h->backend->ctx, name)
		       : NULL;
}

/* ---- call events ---- */

void ctlsess_event(const struct ctlsess_host *h, const char *id,
		   const char *name, ...)
{
	const struct flow_backend *b = h->backend;
	if (!b->event || h->no_call_events)
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
		b->event(b->ctx, name, id, txt);
	else
		LOGW(id, "flow_event_dropped", "event=%s", name);
	free(txt);
	cJSON_Delete(o);
}

/* ---- runtime callbacks ---- */

static void on_node(void *arg, const char *flow, const char *node)
{
	struct ctlsess *s = arg;
	if (cJSON_GetArraySize(s->path) >= CTLSESS_PATH_MAX)
		return;
	char buf[CTLSESS_FIELD_MAX * 2];
	if (flow && strcmp(flow, s->flow))
		snprintf(buf, sizeof(buf), "%s/%s", flow, node);
	else
		snprintf(buf, sizeof(buf), "%s", node);
	cJSON_AddItemToArray(s->path, cJSON_CreateString(buf));
}

/* The turn's CDR record (docs/API.md "Turns", call/turnrec.h). A session
 * with an STT engine (the platform's speech recognition) hears audio, so
 * barge_in and end are known; its timings are not (t_ms all null). */
static cJSON *turn_record(const struct ctlsess *s,
			  const struct flow_turn_info *ti, int seq)
{
	const char *stt = s->host->stt_engine;
	bool speech = ti->input && !strcmp(ti->input, "speech");
	bool none = !ti->input || !strcmp(ti->input, "none");
	struct turnrec r;
	memset(&r, 0, sizeof(r));
	r.seq = (unsigned)seq;
#define CP(dst, src) snprintf((dst), sizeof(dst), "%s", (src) ? (src) : "")
	CP(r.node, ti->node);
	CP(r.input, ti->input ? ti->input : "none");
	CP(r.match, ti->match);
	CP(r.next, ti->next);
	if (stt && speech) {
		r.has_transcript = r.has_stt_confidence = true;
		CP(r.transcript, ti->transcript);
		CP(r.stt_engine, stt);
		r.stt_confidence = s->stt_conf;
	} else if (!stt && ti->transcript) {
		r.has_transcript = true;
		CP(r.transcript, ti->transcript);
	}
	if (ti->intent) {
		r.has_intent = true;
		CP(r.intent, ti->intent);
		r.intent_confidence = ti->intent_confidence;
	}
	if (stt) {
		r.audio = true;
		CP(r.end, none ? "no_input" : (speech ? "speech" : "dtmf"));
	}
#undef CP
	struct strbuf sb;
	strbuf_init(&sb, (size_t)8 << 10);
	cJSON *o = turnrec_json(&sb, &r) ? NULL : cJSON_Parse(strbuf_str(&sb));
	strbuf_fini(&sb);
	return o;
}

static void on_turn(void *arg, const struct flow_turn_info *ti)
{
	struct ctlsess *s = arg;
	int n = cJSON_GetArraySize(s->turns);
	cJSON *rec = n < CTLSESS_TURNS_MAX ? turn_record(s, ti, n + 1) : NULL;
	if (rec)
		cJSON_AddItemToArray(s->turns, rec);
	if (ti->intent) {
		char conf[16];
		snprintf(conf, sizeof(conf), "%.3f",
			 (double)ti->intent_confidence);
		ctlsess_event(s->host, s->id, "intent", "node", ti->node,
			      "intent", ti->intent, "confidence", conf, "match",
			      ti->match ? ti->match : "none", "transcript",
			      ti->transcript, "next", ti->next, NULL);
	}
	LOGI(s->id, "flow_turn", "node=%s input=%s intent=%s next=%s",
	     log_esc(ti->node), ti->input ? ti->input : "none",
	     ti->intent ? ti->intent : "-", ti->next ? ti->next : "-");
	if (s->host->turn)
		s->host->turn(s, ti);
}

static void run_env(struct ctlsess *s, struct flow_run_env *env)
{
	const struct ctlsess_host *h = s->host;
	*env = (struct flow_run_env){
		.find_flow = find_flow,
		.find_arg = (void *)h,
		.on_node = on_node,
		.on_turn = h->no_turns ? NULL : on_turn,
		.cb_arg = s,
		.call_id = s->id,
		.from = s->from,
		.to = s->to,
		.channel = h->channel,
		.find_model = find_model,
		.model_arg = (void *)h,
		.speech = true,
		.audio = h->audio,
	};
}

/* ---- life ---- */

int ctlsess_init(struct ctlsess *s, const struct ctlsess_host *h,
		 const char *id, const char *flow, const char *from,
		 const char *to)
{
	memset(s, 0, sizeof(*s));
	s->host = h;
	copy(s->id, sizeof(s->id), id);
	copy(s->flow, sizeof(s->flow), flow);
	copy(s->from, sizeof(s->from), from);
	copy(s->to, sizeof(s->to), to);
	tmr_init(&s->tmr);
	s->path = cJSON_CreateArray();
	s->turns = cJSON_CreateArray();
	if (!s->path || !s->turns) {
		ctlsess_fini(s);
		return -ENOMEM;
	}
	return 0;
}

void ctlsess_fini(struct ctlsess *s)
{
	if (s->breq) {
		s->breq->sess = NULL;
		s->breq = NULL;
	}
	tmr_cancel(&s->tmr);
	flow_run_destroy(s->run);
	s->run = NULL;
	cJSON_Delete(s->path);
	cJSON_Delete(s->turns);
	s->path = s->turns = NULL;
}

int ctlsess_run_create(struct ctlsess *s, struct flow *f)
{
	struct flow_run_env env;
	run_env(s, &env);
	return flow_run_create(&s->run, f, &env);
}

static void cdr_fill(const struct ctlsess *s, struct store_cdr *r)
{
	*r = (struct store_cdr){
		.id = s->id,
		.sip_call_id = s->call_ref[0] ? s->call_ref : s->id,
		.platform = s->host->platform,
		.from_uri = s->from,
		.to_uri = s->to,
		.flow = s->flow,
		.started_ms = s->started_ms,
		.answered_ms = s->started_ms,
	};
}

void ctlsess_begin(struct ctlsess *s)
{
	const struct ctlsess_host *h = s->host;
	s->started_ms = clock_wall_ms();
	if (h->store) {
		struct store_cdr r;
		cdr_fill(s, &r);
		if (store_call_begin(h->store, &r))
			LOGW(s->id, "cdr_begin_failed", NULL);
	}
	ctlsess_event(h, s->id, "started", "flow", s->flow, "from", s->from,
		      "to", s->to, "channel", h->channel, NULL);
}

int ctlsess_step(struct ctlsess *s, const struct flow_result *res,
		 struct flow_action *act)
{
	ctlsess_hold(s->host, true);
	int err = flow_run_step(s->run, res, act);
	ctlsess_hold(s->host, false);
	return err;
}

void ctlsess_cdr(struct ctlsess *s, const char *end_reason)
{
	const struct ctlsess_host *h = s->host;
	if (!h->store)
		return;
	char *path = cJSON_PrintUnformatted(s->path);
	char *turns = h->no_turns ? NULL : cJSON_PrintUnformatted(s->turns);
	struct store_cdr r;
	cdr_fill(s, &r);
	r.ended_ms = end_reason ? clock_wall_ms() : 0;
	r.end_reason = end_reason;
	r.dtmf = h->no_turns ? NULL : s->dtmf;
	r.flow_path_json = path;
	r.turns_json = h->no_turns ? NULL : turns;
	if (store_call_update(h->store, &r))
		LOGW(s->id, "cdr_update_failed", NULL);
	free(path);
	free(turns);
}

int ctlsess_state_print(struct ctlsess *s, char **txtp)
{
	const struct ctlsess_host *h = s->host;
	struct strbuf run;
	strbuf_init(&run, STORE_SESSION_STATE_MAX / 2);
	int err = s->run ? flow_run_save(s->run, &run) : -EINVAL;
	cJSON *o = err ? NULL : cJSON_CreateObject();
	char *txt = NULL;
	if (o && cJSON_AddNumberToObject(o, "v", CTLSESS_STATE_VERSION) &&
	    cJSON_AddStringToObject(o, "flow", s->flow) &&
	    cJSON_AddStringToObject(o, "from", s->from) &&
	    cJSON_AddStringToObject(o, "to", s->to) &&
	    cJSON_AddNumberToObject(o, "started_ms", (double)s->started_ms) &&
	    cJSON_AddStringToObject(o, "dtmf", s->dtmf) &&
	    (!h->state_add || h->state_add(s, o)) &&
	    cJSON_AddItemReferenceToObject(o, "path", s->path) &&
	    cJSON_AddItemReferenceToObject(o, "turns", s->turns) &&
	    cJSON_AddRawToObject(o, "run", strbuf_str(&run)))
		txt = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	strbuf_fini(&run);
	if (err)
		return err;
	if (!txt)
		return -ENOMEM;
	*txtp = txt;
	return 0;
}

void ctlsess_save(struct ctlsess *s)
{
	const struct ctlsess_host *h = s->host;
	if (!h->store)
		return;
	char *txt = NULL;
	int err = ctlsess_state_print(s, &txt);
	if (!err)
		err = store_session_put(h->store, h->platform, s->id, txt);
	if (err) {
		char ev[64];
		LOGW(s->id, evname(ev, sizeof(ev), h, "state_save_failed"),
		     "err=%d", err);
	}
	free(txt);
	ctlsess_cdr(s, NULL);
}

void ctlsess_end(struct ctlsess *s, const char *reason)
{
	const struct ctlsess_host *h = s->host;
	const char *flow = s->flow;
	if (s->run && !h->ended_root_flow)
		flow = flow_run_flow(s->run);
	ctlsess_event(h, s->id, "ended", "reason", reason, "node",
		      s->run ? flow_run_node(s->run) : NULL, "flow", flow,
		      NULL);
	ctlsess_cdr(s, reason);
	if (h->store)
		(void)store_session_del(h->store, h->platform, s->id);
	if (h->no_call_events)
		return;
	char labels[96];
	snprintf(labels, sizeof(labels), "reason=\"%s\"", reason);
	metric_counter_add(metrics_counter("voxgate_calls_total", labels,
					   "Calls ended, by end reason"),
			   1);
}

/* ---- restoring ---- */

const char *ctlsess_state_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

double ctlsess_state_num(const cJSON *o, const char *key, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

int ctlsess_state_check(const cJSON *o)
{
	return cJSON_IsObject(o) && ctlsess_state_str(o, "flow") &&
			       cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(
				       o, "run"))
		       ? 0
		       : -EBADMSG;
}

/* Replace *dst with o's array key (taken out of o), when it is one. */
static void take_array(cJSON *o, const char *key, cJSON **dst)
{
	cJSON *a = cJSON_DetachItemFromObjectCaseSensitive(o, key);
	if (cJSON_IsArray(a)) {
		cJSON_Delete(*dst);
		*dst = a;
	} else {
		cJSON_Delete(a);
	}
}

int ctlsess_restore(struct ctlsess *s, cJSON *o)
{
	const struct ctlsess_host *h = s->host;
	if (ctlsess_state_check(o))
		return -EBADMSG;
	char *runtxt = cJSON_PrintUnformatted(
		cJSON_GetObjectItemCaseSensitive(o, "run"));
	if (!runtxt)
		return -ENOMEM;
	s->started_ms = (int64_t)ctlsess_state_num(o, "started_ms",
						   (double)clock_wall_ms());
	copy(s->dtmf, sizeof(s->dtmf), ctlsess_state_str(o, "dtmf"));
	take_array(o, "path", &s->path);
	take_array(o, "turns", &s->turns);
	ctlsess_hold(h, true);
	struct flow *root = ctlsess_find_flow(h, s->flow);
	int err = -ENOENT;
	if (root) {
		struct flow_run_env env;
		run_env(s, &env);
		err = flow_run_restore(&s->run, runtxt, strlen(runtxt), root,
				       &env);
	}
	ctlsess_hold(h, false);
	free(runtxt);
	return err;
}

/* ---- back-end requests ---- */

static void backend_done(const struct flow_result *res, void *arg)
{
	struct ctlsess_breq *q = arg;
	struct ctlsess *s = q->sess;
	free(q);
	if (!s)
		return;
	s->breq = NULL;
	tmr_cancel(&s->tmr);
	s->host->drive(s, res);
}

static void backend_timeout(void *arg)
{
	struct ctlsess *s = arg;
	char ev[64];
	LOGW(s->id, evname(ev, sizeof(ev), s->host, "backend_timeout"), "ms=%u",
	     s->host->timeout_ms);
	if (s->breq) {
		s->breq->sess = NULL;
		s->breq = NULL;
	}
	s->host->timeout(s);
}

/* The result of a back-end action that could not start. */
static int backend_failed(const struct flow_action *a, struct flow_result *res,
			  int err)
{
	*res = (struct flow_result){
		.type = a->type == FLOW_ACT_HTTP ? FLOW_RES_HTTP
						 : FLOW_RES_LOOKUP,
		.err = err,
		.now_ms = clock_wall_ms(),
	};
	return err;
}

int ctlsess_backend_start(struct ctlsess *s, const struct flow_action *a,
			  struct flow_result *res)
{
	const struct ctlsess_host *h = s->host;
	const struct flow_backend *b = h->backend;
	int (*fn)(void *, const struct flow_action *, struct vg_loop *,
		  flow_backend_done_fn *, void *) =
		a->type == FLOW_ACT_HTTP ? b->http : b->lookup;
	if (!fn)
		return backend_failed(a, res, -ENOTSUP);
	struct ctlsess_breq *q = calloc(1, sizeof(*q));
	if (!q)
		return backend_failed(a, res, -ENOMEM);
	q->sess = s;
	int err = fn(b->ctx, a, h->loop, backend_done, q);
	if (err) {
		free(q);
		return backend_failed(a, res, err);
	}
	s->breq = q;
	tmr_start(&s->tmr, h->timeout_ms, backend_timeout, s);
	return 0;
}

void ctlsess_backend_forget(struct ctlsess *s)
{
	if (s->breq) {
		s->breq->sess = NULL;
		s->breq = NULL;
	}
	tmr_cancel(&s->tmr);
}

/* ---- session lists ---- */

void ctlsess_link(struct ctlsess_list *l, struct ctlsess *s)
{
	s->next = l->head;
	l->head = s;
	l->n++;
}

void ctlsess_unlink(struct ctlsess_list *l, struct ctlsess *s)
{
	for (struct ctlsess **pp = &l->head; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			s->next = NULL;
			l->n--;
			return;
		}
	}
}

struct ctlsess *ctlsess_pop(struct ctlsess_list *l)
{
	struct ctlsess *s = l->head;
	if (s) {
		l->head = s->next;
		s->next = NULL;
		l->n--;
	}
	return s;
}

struct ctlsess *ctlsess_find(const struct ctlsess_list *l, const char *id)
{
	for (struct ctlsess *s = l->head; s; s = s->next)
		if (!strcmp(s->id, id))
			return s;
	return NULL;
}

/* ---- store reads ---- */

/* A read in flight; host is cleared when the adapter goes first. */
struct ctlsess_read {
	struct ctlsess_read *prev, *next;
	struct ctlsess_host *host;
	ctlsess_read_fn *cb;
	void (*drop)(void *arg);
	void *arg;
};

static void read_done(int err, char *json, size_t len, void *arg)
{
	struct ctlsess_read *r = arg;
	struct ctlsess_host *h = r->host;
	if (h) {
		if (r->prev)
			r->prev->next = r->next;
		else
			h->reads = r->next;
		if (r->next)
			r->next->prev = r->prev;
		r->cb(err, json, len, r->arg);
	} else {
		free(json);
		if (r->drop)
			r->drop(r->arg);
	}
	free(r);
}

int ctlsess_read(struct ctlsess_host *h, const char *key, ctlsess_read_fn *cb,
		 void (*drop)(void *arg), void *arg)
{
	if (!h->store)
		return -EINVAL;
	struct ctlsess_read *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	*r = (struct ctlsess_read){
		.host = h, .cb = cb, .drop = drop, .arg = arg
	};
	int err = store_session_get(h->store, h->platform, key, h->loop,
				    read_done, r);
	if (err) {
		free(r);
		return err;
	}
	r->next = h->reads;
	if (h->reads)
		h->reads->prev = r;
	h->reads = r;
	return 0;
}

void ctlsess_host_close(struct ctlsess_host *h)
{
	for (struct ctlsess_read *r = h->reads; r; r = r->next)
		r->host = NULL;
	h->reads = NULL;
}

/* ---- replies ---- */

static const char *reason_phrase(uint16_t code)
{
	switch (code) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "Internal Server Error";
	}
}

void ctlsess_count(const char *metric, const char *what, const char *route,
		   uint16_t code, uint64_t t0_us)
{
	char name[96], help[160], labels[96];
	snprintf(labels, sizeof(labels), "route=\"%s\",code=\"%u\"", route,
		 code);
	snprintf(name, sizeof(name), "voxgate_%s_requests_total", metric);
	snprintf(help, sizeof(help), "%s requests by route and status code",
		 what);
	metric_counter_add(metrics_counter(name, labels, help), 1);
	snprintf(labels, sizeof(labels), "route=\"%s\"", route);
	snprintf(name, sizeof(name), "voxgate_%s_request_seconds", metric);
	snprintf(help, sizeof(help), "%s time from request to reply", what);
	metric_histogram_observe(metrics_histogram(name, labels, help, NULL, 0),
				 (double)(clock_mono_us() - t0_us) / 1e6);
}

int ctlsess_reply(struct http_conn *conn, uint16_t code, const char *ctype,
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
		LOGW(NULL, "control_reply_failed", "code=%u err=%d", code, err);
	return err;
}
