/* Genesys Bot Connector turns -> flow runs -> bot replies (see gbot.h). A
 * turn walks the run until it needs the customer (GATHER: MOREDATA) or the
 * end (COMPLETE / FAILED); SAY/PLAY text becomes reply messages, HTTP and
 * LOOKUP hold the turn until the back-end answers (at most
 * backend_timeout_ms). */
#include "control/genesys/gbot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <re.h>

#include "control/ctlsess.h"
#include "control/genesys/gbmsg.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/strbuf.h"
#include "flow/flow.h"
#include "flow/runtime.h"
#include "flow/vars.h"
#include "store/store.h"

enum {
	NAME_MAX_ = 64,
	FIELD_MAX = 256,
	DEFAULT_TIMEOUT_MS = 10000,
	DEFAULT_SESSION_MIN = 30,
	DEFAULT_MAX_SESSIONS = 10000,
	SWEEP_MS = 60 * 1000,
	REPLY_MAX = 256 * 1024,
};

enum route { R_BOTS, R_TURN };
static const char *const route_names[] = { "bots", "turn" };

struct gbsess {
	struct ctlsess cs; /* id: the botSessionId; call_ref: conversationId */
	struct gbot *g;
	int64_t expires_ms;
	unsigned timeout_min;
	unsigned gather_in; /* FLOW_ACT_IN_* of the outstanding gather */
	char intent[NAME_MAX_ + 1]; /* last classified, "" none */
	float confidence;
	/* The turn being answered. */
	struct http_conn *conn; /* a reference, or NULL */
	uint64_t t0_us;
	char input[GBOT_TEXT_MAX + 1];
	bool has_input; /* input not yet fed to a gather */
	char *msgs[GBOT_REPLIES_MAX];
	unsigned nmsgs;
	char target[FIELD_MAX]; /* transfer target, "" none */
	/* The last answer, replayed when Genesys sends the same messageId
	 * again (a retry): the run does not advance twice. */
	char msgid[GBOT_ID_MAX + 1];	  /* of the turn being answered */
	char last_msgid[GBOT_ID_MAX + 1]; /* of the last answer, "" none */
	char *last_reply;		  /* malloc'd JSON, or NULL */
};

#define SESS(s) CTLSESS_OWNER(s, struct gbsess, cs)

/* Whether the store may hold sessions this process did not save (a
 * previous run's): a marker row is written before the first session state
 * and deleted at a shutdown that leaves none. Without it (CLEAN), a
 * botSessionId not in memory is new and is started without reading the
 * store, whose reads wait for a durable commit of the writes before them. */
#define MARKER_KEY "#sessions"
enum store_state { ST_UNKNOWN, ST_CLEAN, ST_DIRTY };

/* Answers of sessions that just ended, for retries of their last
 * message (a small ring, memory only). */
#define DONE_MAX 64
struct gbdone {
	char sid[GBOT_ID_MAX + 1];
	char msgid[GBOT_ID_MAX + 1];
	char *reply; /* malloc'd, NULL: empty slot */
};

/* A turn waiting for the store (ctlsess_read; freed without an answer
 * when the adapter goes first). */
struct gbwait {
	struct gbot *g;
	struct http_conn *conn;
	uint64_t t0_us;
	struct gbot_req *req; /* owned */
};

struct gbot {
	struct ctlsess_host host;
	struct vg_loop *loop;
	struct store *store;
	const struct flow_set *(*flows)(void *arg);
	void *flows_arg;
	unsigned char key_hash[SHA256_DIGEST_LENGTH];
	char *key_header, *bots, *language, *agent_uri;
	unsigned session_min, max_sessions;
	struct ctlsess_list sessions;
	struct tmr sweep;
	enum store_state store_state;
	bool marker_written;
	struct gbdone done[DONE_MAX];
	unsigned done_next;
};

static void drive(struct gbsess *s, const struct flow_result *res);

static void hold_flows(const struct gbot *g, bool hold)
{
	ctlsess_hold(&g->host, hold);
}

/* ---- replies ---- */

static void count(enum route r, uint16_t code, uint64_t t0_us)
{
	ctlsess_count("genesys_bot", "Genesys Bot Connector", route_names[r],
		      code, t0_us);
}

static void reply(struct http_conn *conn, enum route r, uint64_t t0_us,
		  uint16_t code, const char *body, size_t len)
{
	(void)ctlsess_reply(conn, code, "application/json", body, len);
	count(r, code, t0_us);
}

/* An error answer: {"error","message"} for the bot list, a FAILED turn
 * reply for turns (Genesys shows errorInfo in its logs). */
static void reply_error(struct http_conn *conn, enum route r, uint64_t t0_us,
			uint16_t code, const char *ecode, const char *msg)
{
	struct strbuf sb;
	strbuf_init(&sb, 4096);
	int err;
	if (r == R_TURN) {
		struct gbot_reply rep = { .state = GBOT_FAILED,
					  .error_code = ecode,
					  .error_message = msg };
		err = gbot_reply_print(&rep, &sb);
	} else {
		err = strbuf_addstr(&sb, "{\"error\":");
		if (!err)
			err = strbuf_add_json_str(&sb, ecode);
		if (!err)
			err = strbuf_addstr(&sb, ",\"message\":");
		if (!err)
			err = strbuf_add_json_str(&sb, msg);
		if (!err)
			err = strbuf_addstr(&sb, "}");
	}
	if (err)
		reply(conn, r, t0_us, 500, "{}", 2);
	else
		reply(conn, r, t0_us, code, strbuf_str(&sb), sb.len);
	strbuf_fini(&sb);
}

/* ---- sessions ---- */

static struct gbsess *sess_find(const struct gbot *g, const char *id)
{
	struct ctlsess *s = ctlsess_find(&g->sessions, id);
	return s ? SESS(s) : NULL;
}

static void sess_unlink(struct gbsess *s)
{
	ctlsess_unlink(&s->g->sessions, &s->cs);
}

static void msgs_clear(struct gbsess *s)
{
	for (unsigned i = 0; i < s->nmsgs; i++)
		free(s->msgs[i]);
	s->nmsgs = 0;
}

static void sess_free(struct gbsess *s)
{
	ctlsess_fini(&s->cs);
	msgs_clear(s);
	mem_deref(s->conn);
	free(s->last_reply);
	free(s);
}

/* The adapter's part of the saved state (ctlsess_host.state_add). */
static bool state_add(struct ctlsess *c, cJSON *o)
{
	const struct gbsess *s = SESS(c);
	return cJSON_AddStringToObject(o, "conversation", c->call_ref) &&
	       cJSON_AddNumberToObject(o, "expires_ms",
				       (double)s->expires_ms) &&
	       cJSON_AddNumberToObject(o, "timeout_min", s->timeout_min) &&
	       cJSON_AddNumberToObject(o, "gather_in", s->gather_in) &&
	       cJSON_AddStringToObject(o, "intent", s->intent) &&
	       cJSON_AddNumberToObject(o, "confidence", s->confidence);
}

/* Snapshot the session into the store (its state between turns). */
static void sess_save(struct gbsess *s)
{
	struct gbot *g = s->g;
	if (!g->store)
		return;
	if (!g->marker_written && !store_session_put(g->store, GBOT_PLATFORM,
						     MARKER_KEY, "{\"v\":1}"))
		g->marker_written = true;
	ctlsess_save(&s->cs);
}

/* The session is over: CDR end, saved state gone, memory freed. */
static void sess_finish(struct gbsess *s, const char *reason)
{
	struct gbot *g = s->g;
	LOGI(s->cs.id, "genesys_bot_session_end", "reason=%s flow=%s", reason,
	     log_esc(s->cs.flow));
	ctlsess_end(&s->cs, reason);
	if (s->last_reply && s->last_msgid[0]) { /* kept for a retry */
		struct gbdone *d = &g->done[g->done_next];
		g->done_next = (g->done_next + 1) % DONE_MAX;
		free(d->reply);
		snprintf(d->sid, sizeof(d->sid), "%s", s->cs.id);
		snprintf(d->msgid, sizeof(d->msgid), "%s", s->last_msgid);
		d->reply = s->last_reply;
		s->last_reply = NULL;
	}
	sess_unlink(s);
	sess_free(s);
}

/* ---- runtime callbacks ---- */

/* A turn was decided (ctlsess_host.turn): keep its intent for replies. */
static void on_turn(struct ctlsess *c, const struct flow_turn_info *ti)
{
	struct gbsess *s = SESS(c);
	if (ti->intent) {
		snprintf(s->intent, sizeof(s->intent), "%s", ti->intent);
		s->confidence = ti->intent_confidence;
	}
}

static struct gbsess *sess_new(struct gbot *g, const char *id, const char *flow)
{
	struct gbsess *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (ctlsess_init(&s->cs, &g->host, id, flow, NULL, NULL)) {
		free(s);
		return NULL;
	}
	s->g = g;
	ctlsess_link(&g->sessions, &s->cs);
	return s;
}

/* ---- answering a turn ---- */

static int add_slot(const char *name, const char *value, void *arg)
{
	struct gbot_reply *rep = arg;
	/* slots.<slot>, not slots.<slot>.original */
	if (!strncmp(name, "slots.", 6) && name[6] && !strchr(name + 6, '.') &&
	    value && value[0])
		(void)gbot_reply_entity(rep, name + 6, value);
	return 0;
}

/* Answer the held turn with state; the session is saved (MOREDATA) or
 * finished by the caller. */
static void answer_x(struct gbsess *s, enum gbot_state st, const char *action,
		     const char *why, const char *ecode, const char *emsg,
		     const struct flow_action *xfer)
{
	if (!s->conn)
		return;
	struct gbot_reply rep = { .state = st };
	for (unsigned i = 0; i < s->nmsgs; i++)
		(void)gbot_reply_msg(&rep, s->msgs[i]);
	if (s->intent[0]) {
		rep.intent = s->intent;
		rep.confidence = s->confidence;
	}
	if (s->cs.run)
		(void)flow_vars_foreach(flow_run_vars(s->cs.run), add_slot,
					&rep);
	char conf[16];
	if (st != GBOT_MOREDATA) {
		(void)gbot_reply_param(&rep, "action", action);
		(void)gbot_reply_param(&rep, "endReason", why);
		(void)gbot_reply_param(&rep, "flow", s->cs.flow);
		if (s->target[0])
			(void)gbot_reply_param(&rep, "transferTarget",
					       s->target);
		/* Genesys routes to its own ACD queues by name. */
		if (!strncmp(s->target, "queue:", 6) && s->target[6])
			(void)gbot_reply_param(&rep, "transferQueue",
					       s->target + 6);
		if (s->intent[0]) {
			snprintf(conf, sizeof(conf), "%.3f",
				 (double)s->confidence);
			(void)gbot_reply_param(&rep, "intent", s->intent);
			(void)gbot_reply_param(&rep, "confidence", conf);
		}
		for (unsigned i = 0; i < rep.nents; i++)
			(void)gbot_reply_param(&rep, rep.ent_names[i],
					       rep.ent_values[i]);
		/* The transfer's context (borrowed from the action, which
		 * lives until the next step). */
		for (unsigned i = 0; xfer && i < xfer->transfer.ncontext; i++)
			(void)gbot_reply_param(
				&rep, xfer->transfer.context_keys[i],
				xfer->transfer.context_values[i]);
	}
	rep.error_code = ecode;
	rep.error_message = emsg;
	struct strbuf sb;
	strbuf_init(&sb, REPLY_MAX);
	if (gbot_reply_print(&rep, &sb) == 0) {
		reply(s->conn, R_TURN, s->t0_us, 200, strbuf_str(&sb), sb.len);
		free(s->last_reply);
		s->last_reply = s->msgid[0] ? strdup(strbuf_str(&sb)) : NULL;
		snprintf(s->last_msgid, sizeof(s->last_msgid), "%s",
			 s->last_reply ? s->msgid : "");
	} else
		reply_error(s->conn, R_TURN, s->t0_us, 500, "internal",
			    "reply too large");
	strbuf_fini(&sb);
	s->conn = mem_deref(s->conn);
	msgs_clear(s);
	LOGI(s->cs.id, "genesys_bot_turn", "state=%s intent=%s",
	     gbot_state_name(st), s->intent[0] ? s->intent : "-");
}

static void answer(struct gbsess *s, enum gbot_state st, const char *action,
		   const char *why, const char *ecode, const char *emsg)
{
	answer_x(s, st, action, why, ecode, emsg, NULL);
}

static void add_msg(struct gbsess *s, const char *text)
{
	if (!text || !text[0])
		return;
	if (s->nmsgs >= GBOT_REPLIES_MAX) {
		LOGW(s->cs.id, "genesys_bot_reply_dropped", "max=%u",
		     GBOT_REPLIES_MAX);
		return;
	}
	char *c = strdup(text);
	if (c)
		s->msgs[s->nmsgs++] = c;
}

static void fail(struct gbsess *s, const char *ecode, const char *emsg)
{
	answer(s, GBOT_FAILED, "error", ecode, ecode, emsg);
	sess_finish(s, "error");
}

/* A back-end did not answer in time (ctlsess_host.timeout). */
static void backend_timeout(struct ctlsess *c)
{
	fail(SESS(c), "backend_timeout", "a back-end did not answer in time");
}

static bool all_keys(const char *t)
{
	if (!*t)
		return false;
	for (; *t; t++)
		if (!((*t >= '0' && *t <= '9') || *t == '*' || *t == '#'))
			return false;
	return true;
}

/* The customer's message as the answer to a gather. */
static void input_result(struct gbsess *s, struct flow_result *res)
{
	*res = (struct flow_result){ .type = FLOW_RES_INPUT,
				     .now_ms = clock_wall_ms() };
	const char *t = s->input;
	if (!t[0]) {
		res->input.kind = FLOW_IN_NO_INPUT;
	} else if (all_keys(t) && strlen(t) <= 32 &&
		   (s->gather_in & FLOW_ACT_IN_DTMF)) {
		res->input.kind = FLOW_IN_DTMF;
		res->input.digits = t;
	} else {
		res->input.kind = FLOW_IN_SPEECH;
		res->input.transcript = t;
		res->input.stt_confidence = 1.0f;
		res->input.stt_engine = "text";
	}
}

static const char *transfer_target(const struct gbsess *s,
				   const struct flow_action *a)
{
	if (a->transfer.to_agent)
		return s->g->agent_uri[0] ? s->g->agent_uri : "agent";
	return a->transfer.target ? a->transfer.target : "";
}

/* Walk the run from res until it waits for the customer, a back-end, or
 * ends. May free s (then it answered the turn). */
static void drive(struct gbsess *s, const struct flow_result *res)
{
	struct flow_action act;
	struct flow_result next;
	for (;;) {
		int err = ctlsess_step(&s->cs, res, &act);
		if (err) {
			LOGE(s->cs.id, "flow_step_failed", "err=%d", err);
			fail(s, "flow_error", "the flow run failed");
			return;
		}
		next = (struct flow_result){ .now_ms = clock_wall_ms() };
		switch (act.type) {
		case FLOW_ACT_SAY:
			add_msg(s, act.say.text);
			next.type = FLOW_RES_PLAYED;
			break;
		case FLOW_ACT_PLAY:
			next.type = FLOW_RES_PLAYED;
			if (act.play.text)
				add_msg(s, act.play.text);
			else
				next.err = -ENOTSUP;
			break;
		case FLOW_ACT_GATHER:
			s->gather_in = act.gather.input;
			if (s->has_input) {
				/* The customer already said it (the first
				 * message opens the session): no prompt. */
				s->has_input = false;
				input_result(s, &next);
				break;
			}
			for (unsigned i = 0; i < act.gather.nprompts; i++)
				add_msg(s, act.gather.prompts[i].text);
			answer(s, GBOT_MOREDATA, NULL, NULL, NULL, NULL);
			sess_save(s);
			return;
		case FLOW_ACT_TRANSFER: {
			const char *t = transfer_target(s, &act);
			snprintf(s->target, sizeof(s->target), "%s", t);
			LOGI(s->cs.id, "genesys_bot_transfer", "target=%s",
			     log_esc(t));
			ctlsess_event(&s->g->host, s->cs.id, "transferred",
				      "node", act.node, "target", t, "status",
				      "0", NULL);
			/* Genesys routes the conversation once the bot is
			 * COMPLETE: the run ends here. */
			answer_x(s, GBOT_COMPLETE, "transfer", "transferred",
				 NULL, NULL, &act);
			sess_finish(s, "transferred");
			return;
		}
		case FLOW_ACT_RECORD:
			next.type = FLOW_RES_RECORDED;
			break;
		case FLOW_ACT_HTTP:
		case FLOW_ACT_LOOKUP:
			if (!ctlsess_backend_start(&s->cs, &act, &next))
				return; /* drive_cb continues */
			break;
		case FLOW_ACT_HANGUP:
			next.type = FLOW_RES_HANGUP;
			break;
		case FLOW_ACT_END: {
			const char *why = flow_run_end_reason(s->cs.run);
			why = why ? why : "completed";
			/* The flow gave up on its own error (no handler). */
			if (!strcmp(why, "flow_error"))
				answer(s, GBOT_FAILED, "error", why,
				       "flow_error",
				       "the flow ended on an error");
			else
				answer(s, GBOT_COMPLETE, "finished", why, NULL,
				       NULL);
			sess_finish(s, why);
			return;
		}
		}
		res = &next;
	}
}

/* The back-end answered (ctlsess_host.drive). */
static void drive_cb(struct ctlsess *c, const struct flow_result *res)
{
	drive(SESS(c), res);
}

/* ---- restoring a session from the store ---- */

static void copy_field(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

/* A session rebuilt from its saved state, or NULL (logged; -ETIME in
 * *errp when it expired). */
static struct gbsess *sess_restore(struct gbot *g, const char *id,
				   const char *json, size_t len, int *errp)
{
	cJSON *o = cJSON_ParseWithLength(json, len);
	const char *flow = ctlsess_state_str(o, "flow");
	struct gbsess *s = NULL;
	int err = ctlsess_state_check(o);
	if (!err && strlen(flow) > NAME_MAX_)
		err = -EBADMSG;
	if (!err &&
	    ctlsess_state_num(o, "expires_ms", 0) < (double)clock_wall_ms())
		err = -ETIME;
	if (err)
		goto out;
	err = -ENOMEM;
	s = sess_new(g, id, flow);
	if (!s)
		goto out;
	copy_field(s->cs.from, sizeof(s->cs.from),
		   ctlsess_state_str(o, "from"));
	copy_field(s->cs.to, sizeof(s->cs.to), ctlsess_state_str(o, "to"));
	copy_field(s->cs.call_ref, sizeof(s->cs.call_ref),
		   ctlsess_state_str(o, "conversation"));
	copy_field(s->intent, sizeof(s->intent),
		   ctlsess_state_str(o, "intent"));
	s->confidence = (float)ctlsess_state_num(o, "confidence", 0);
	s->expires_ms = (int64_t)ctlsess_state_num(o, "expires_ms", 0);
	double tm = ctlsess_state_num(o, "timeout_min", 0);
	s->timeout_min = tm >= 1 && tm <= GBOT_TIMEOUT_MAX_MIN ? (unsigned)tm
							       : g->session_min;
	s->gather_in = (unsigned)ctlsess_state_num(o, "gather_in", 0) &
		       (FLOW_ACT_IN_DTMF | FLOW_ACT_IN_SPEECH);
	err = ctlsess_restore(&s->cs, o);
out:
	if (err) {
		LOGW(id, "genesys_bot_restore_failed", "err=%d", err);
		if (s) {
			sess_unlink(s);
			sess_free(s);
		}
		s = NULL;
	} else {
		LOGI(id, "genesys_bot_session_restored", "flow=%s node=%s",
		     log_esc(s->cs.flow), log_esc(flow_run_node(s->cs.run)));
	}
	*errp = err;
	cJSON_Delete(o);
	return s;
}

/* ---- bots ---- */

/* Is name one of the configured bots (or are all flows bots)? */
static bool bot_allowed(const struct gbot *g, const char *name)
{
	if (!g->bots[0])
		return true;
	size_t n = strlen(name);
	for (const char *p = g->bots; *p;) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == n && !strncmp(p, name, n))
			return true;
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}

static struct flow *bot_find(struct gbot *g, const char *id)
{
	return bot_allowed(g, id) ? ctlsess_find_flow(&g->host, id) : NULL;
}

static cJSON *bot_json(const struct gbot *g, const struct flow *f)
{
	cJSON *b = cJSON_CreateObject();
	cJSON *vs = cJSON_AddArrayToObject(b, "versions");
	cJSON *v = cJSON_CreateObject();
	cJSON_AddItemToArray(vs, v);
	cJSON *langs = cJSON_AddArrayToObject(v, "supportedLanguages");
	cJSON *in = cJSON_AddArrayToObject(v, "intents");
	const char *desc = flow_description(f);
	cJSON_AddStringToObject(b, "id", flow_name(f));
	cJSON_AddStringToObject(b, "name", flow_name(f));
	cJSON_AddStringToObject(b, "description", desc ? desc : "voxgate flow");
	cJSON_AddStringToObject(v, "version", "1");
	cJSON_AddItemToArray(langs, cJSON_CreateString(g->language));
	for (size_t i = 0; i < flow_intent_count(f); i++) {
		cJSON *it = cJSON_CreateObject();
		cJSON_AddStringToObject(it, "name", flow_intent_name(f, i));
		cJSON_AddItemToObject(it, "slots", cJSON_CreateObject());
		cJSON_AddItemToArray(in, it);
	}
	return b;
}

static void on_bots(struct gbot *g, struct http_conn *conn, uint64_t t0_us,
		    const char *id)
{
	cJSON *out = NULL;
	hold_flows(g, true);
	if (id) {
		struct flow *f = bot_find(g, id);
		out = f ? bot_json(g, f) : NULL;
	} else {
		out = cJSON_CreateObject();
		cJSON *es = cJSON_AddArrayToObject(out, "entities");
		const struct flow_set *set =
			g->flows ? g->flows(g->flows_arg) : NULL;
		size_t n = set ? flow_set_count(set) : 0;
		for (size_t i = 0; i < n; i++) {
			struct flow *f = flow_set_at(set, i);
			if (bot_allowed(g, flow_name(f)))
				cJSON_AddItemToArray(es, bot_json(g, f));
		}
		if (!set) { /* no listing: the configured names */
			for (const char *p = g->bots; *p;) {
				char nm[NAME_MAX_ + 1];
				const char *e = strchr(p, ',');
				size_t l = e ? (size_t)(e - p) : strlen(p);
				snprintf(nm, sizeof(nm), "%.*s", (int)l, p);
				struct flow *f =
					ctlsess_find_flow(&g->host, nm);
				if (f)
					cJSON_AddItemToArray(es,
							     bot_json(g, f));
				if (!e)
					break;
				p = e + 1;
			}
		}
	}
	hold_flows(g, false);
	char *txt = out ? cJSON_PrintUnformatted(out) : NULL;
	if (txt)
		reply(conn, R_BOTS, t0_us, 200, txt, strlen(txt));
	else if (id && !out)
		reply_error(conn, R_BOTS, t0_us, 404, "bot_not_found",
			    "no such bot");
	else
		reply_error(conn, R_BOTS, t0_us, 500, "internal",
			    "out of memory");
	free(txt);
	cJSON_Delete(out);
}

/* ---- turns ---- */

static void set_expiry(struct gbsess *s, const struct gbot_req *q)
{
	if (q->timeout_min)
		s->timeout_min = q->timeout_min;
	else if (!s->timeout_min)
		s->timeout_min = s->g->session_min;
	s->expires_ms = clock_wall_ms() + (int64_t)s->timeout_min * 60000;
}

static void take_turn(struct gbsess *s, struct http_conn *conn, uint64_t t0_us,
		      const struct gbot_req *q)
{
	if (s->conn || s->cs.breq) {
		reply_error(conn, R_TURN, t0_us, 409, "session_busy",
			    "a turn of this session is in progress");
		return;
	}
	if (q->message_id[0] && s->last_reply &&
	    !strcmp(q->message_id, s->last_msgid)) {
		LOGI(s->cs.id, "genesys_bot_turn_replayed", "message=%s",
		     log_esc(q->message_id));
		reply(conn, R_TURN, t0_us, 200, s->last_reply,
		      strlen(s->last_reply));
		return;
	}
	if (strcmp(s->cs.flow, q->bot_id)) {
		reply_error(conn, R_TURN, t0_us, 409, "bot_mismatch",
			    "botSessionId belongs to another bot");
		return;
	}
	s->conn = mem_ref(conn);
	s->t0_us = t0_us;
	s->target[0] = '\0';
	snprintf(s->msgid, sizeof(s->msgid), "%s", q->message_id);
	snprintf(s->input, sizeof(s->input), "%s", q->text);
	s->has_input = false;
	set_expiry(s, q);
	struct flow_result res;
	input_result(s, &res);
	drive(s, &res);
}

static const char *param(const struct gbot_req *q, const char *a, const char *b)
{
	for (unsigned i = 0; i < q->nparams; i++)
		if (!strcmp(q->params[i].name, a) ||
		    (b && !strcmp(q->params[i].name, b)))
			return q->params[i].value;
	return NULL;
}

static void new_session(struct gbot *g, struct http_conn *conn, uint64_t t0_us,
			const struct gbot_req *q)
{
	if (g->sessions.n >= g->max_sessions) {
		reply_error(conn, R_TURN, t0_us, 503, "too_many_sessions",
			    "the bot has too many sessions open");
		return;
	}
	hold_flows(g, true);
	struct flow *f = bot_find(g, q->bot_id);
	if (!f) {
		hold_flows(g, false);
		LOGW(q->session_id, "genesys_bot_unknown", "bot=%s",
		     log_esc(q->bot_id));
		reply_error(conn, R_TURN, t0_us, 404, "bot_not_found",
			    "no such bot");
		return;
	}
	struct gbsess *s = sess_new(g, q->session_id, flow_name(f));
	int err = -ENOMEM;
	if (s) {
		copy_field(s->cs.from, sizeof(s->cs.from),
			   param(q, "ani", "from"));
		copy_field(s->cs.to, sizeof(s->cs.to), param(q, "dnis", "to"));
		copy_field(s->cs.call_ref, sizeof(s->cs.call_ref),
			   q->conversation);
		err = ctlsess_run_create(&s->cs, f);
	}
	hold_flows(g, false);
	if (err) {
		LOGE(q->session_id, "genesys_bot_session_failed", "err=%d",
		     err);
		if (s) {
			sess_unlink(s);
			sess_free(s);
		}
		reply_error(conn, R_TURN, t0_us, 503, "internal",
			    "cannot start the bot");
		return;
	}
	LOGI(s->cs.id, "genesys_bot_session_new", "bot=%s conversation=%s",
	     log_esc(s->cs.flow), log_esc(s->cs.call_ref));
	ctlsess_begin(&s->cs);
	s->conn = mem_ref(conn);
	s->t0_us = t0_us;
	snprintf(s->msgid, sizeof(s->msgid), "%s", q->message_id);
	snprintf(s->input, sizeof(s->input), "%s", q->text);
	s->has_input = q->text[0] != '\0';
	set_expiry(s, q);
	struct flow_result res = { .type = FLOW_RES_START,
				   .now_ms = clock_wall_ms() };
	drive(s, &res);
}

/* Also when the adapter went first (nothing to answer with). */
static void wait_free(void *arg)
{
	struct gbwait *w = arg;
	free(w->req);
	mem_deref(w->conn);
	free(w);
}

static void on_restored(int err, char *json, size_t len, void *arg)
{
	struct gbwait *w = arg;
	struct gbot *g = w->g;
	if (err && err != -ENOENT) {
		LOGW(w->req->session_id, "genesys_bot_state_read_failed",
		     "err=%d", err);
		reply_error(w->conn, R_TURN, w->t0_us, 503, "store_error",
			    "cannot read the session");
	} else {
		/* another turn may have restored it meanwhile */
		struct gbsess *s = sess_find(g, w->req->session_id);
		int rerr = 0;
		if (!s && !err)
			s = sess_restore(g, w->req->session_id, json, len,
					 &rerr);
		if (!s && !err && g->store)
			(void)store_session_del(g->store, GBOT_PLATFORM,
						w->req->session_id);
		if (s)
			take_turn(s, w->conn, w->t0_us, w->req);
		else if (!err && rerr != -ETIME)
			reply_error(w->conn, R_TURN, w->t0_us, 200,
				    "session_lost",
				    "the session cannot continue");
		else /* unknown or expired: a new session */
			new_session(g, w->conn, w->t0_us, w->req);
	}
	free(json);
	wait_free(w);
}

static void on_turn_req(struct gbot *g, struct http_conn *conn, uint64_t t0_us,
			const struct http_msg *msg)
{
	size_t len = msg->mb ? mbuf_get_left(msg->mb) : 0;
	if (len > GBOT_BODY_MAX) {
		reply_error(conn, R_TURN, t0_us, 413, "too_large",
			    "body too large");
		return;
	}
	struct gbot_req *q = malloc(sizeof(*q));
	if (!q) {
		reply_error(conn, R_TURN, t0_us, 503, "internal",
			    "out of memory");
		return;
	}
	const char *why = NULL;
	int err = gbot_req_parse(
		q, len ? (const char *)mbuf_buf(msg->mb) : NULL, len, &why);
	if (err) {
		LOGW(NULL, "genesys_bot_bad_request", "err=%d why=%s", err,
		     why ? why : "-");
		reply_error(conn, R_TURN, t0_us, err == -E2BIG ? 413 : 400,
			    "bad_request", why ? why : "bad request");
		free(q);
		return;
	}
	if (!strcmp(q->session_id, MARKER_KEY)) {
		reply_error(conn, R_TURN, t0_us, 400, "bad_request",
			    "reserved botSessionId");
		free(q);
		return;
	}
	struct gbsess *s = sess_find(g, q->session_id);
	for (unsigned i = 0; !s && q->message_id[0] && i < DONE_MAX; i++) {
		const struct gbdone *d = &g->done[i];
		if (d->reply && !strcmp(d->sid, q->session_id) &&
		    !strcmp(d->msgid, q->message_id)) {
			LOGI(q->session_id, "genesys_bot_turn_replayed",
			     "message=%s ended=1", log_esc(q->message_id));
			reply(conn, R_TURN, t0_us, 200, d->reply,
			      strlen(d->reply));
			free(q);
			return;
		}
	}
	if (s && s->expires_ms < clock_wall_ms()) {
		LOGI(s->cs.id, "genesys_bot_session_expired", NULL);
		if (s->conn || s->cs.breq) {
			reply_error(conn, R_TURN, t0_us, 409, "session_busy",
				    "a turn of this session is in progress");
			free(q);
			return;
		}
		sess_finish(s, "expired");
		s = NULL;
		new_session(g, conn, t0_us, q);
	} else if (s) {
		take_turn(s, conn, t0_us, q);
	} else if (g->store && g->store_state != ST_CLEAN) {
		struct gbwait *w = calloc(1, sizeof(*w));
		if (!w) {
			reply_error(conn, R_TURN, t0_us, 503, "internal",
				    "out of memory");
			free(q);
			return;
		}
		w->g = g;
		w->conn = mem_ref(conn);
		w->t0_us = t0_us;
		w->req = q;
		err = ctlsess_read(&g->host, q->session_id, on_restored,
				   wait_free, w);
		if (err) {
			LOGW(q->session_id, "genesys_bot_state_read_refused",
			     "err=%d", err);
			reply_error(conn, R_TURN, t0_us, 503, "store_busy",
				    "store busy");
			wait_free(w);
		}
		return; /* q is w's now */
	} else {
		new_session(g, conn, t0_us, q);
	}
	free(q);
}

/* ---- the request ---- */

static bool key_valid(const struct gbot *g, const struct http_msg *msg)
{
	const struct http_hdr *h = http_msg_xhdr(msg, g->key_header);
	unsigned char got[SHA256_DIGEST_LENGTH];
	/* Hash both sides: equal-length digests compared in constant time,
	 * whatever the length of what was sent. */
	if (!h || !h->val.l ||
	    !SHA256((const unsigned char *)h->val.p, h->val.l, got))
		return false;
	return CRYPTO_memcmp(got, g->key_hash, sizeof(got)) == 0;
}

void gbot_request(struct http_conn *conn, const struct http_msg *msg, void *arg)
{
	struct gbot *g = arg;
	uint64_t t0_us = clock_mono_us();
	struct pl rest = msg->path;
	const size_t plen = strlen(GBOT_PATH);
	if (rest.l < plen || strncmp(rest.p, GBOT_PATH, plen)) {
		reply_error(conn, R_BOTS, t0_us, 404, "not_found",
			    "no such route");
		return;
	}
	pl_advance(&rest, plen);
	if (rest.l >= 13 && !strncmp(rest.p, "/botconnector", 13) &&
	    (rest.l == 13 || rest.p[13] == '/'))
		pl_advance(&rest, 13);
	bool get = !pl_strcmp(&msg->met, "GET");
	bool post = !pl_strcmp(&msg->met, "POST");
	enum route r = !pl_strcmp(&rest, "/messages") ? R_TURN : R_BOTS;
	if (!key_valid(g, msg)) {
		LOGW(NULL, "genesys_bot_auth_failed", "route=%s",
		     route_names[r]);
		reply_error(conn, r, t0_us, 401, "unauthorized",
			    "missing or wrong API key");
		return;
	}
	if (r == R_TURN) {
		if (!post)
			reply_error(conn, r, t0_us, 405, "method", "POST only");
		else
			on_turn_req(g, conn, t0_us, msg);
		return;
	}
	char id[GBOT_ID_MAX + 1];
	bool list = !pl_strcmp(&rest, "/bots") || !pl_strcmp(&rest, "/bots/");
	bool one = !list && rest.l > 6 && rest.l - 6 <= GBOT_ID_MAX &&
		   !strncmp(rest.p, "/bots/", 6) &&
		   !memchr(rest.p + 6, '/', rest.l - 6);
	if (!list && !one) {
		reply_error(conn, r, t0_us, 404, "not_found", "no such route");
		return;
	}
	if (!get) {
		reply_error(conn, r, t0_us, 405, "method", "GET only");
		return;
	}
	if (one) {
		struct pl idp = { .p = rest.p + 6, .l = rest.l - 6 };
		pl_strcpy(&idp, id, sizeof(id));
	}
	on_bots(g, conn, t0_us, one ? id : NULL);
}

/* ---- expiry ---- */

static void sweep(void *arg)
{
	struct gbot *g = arg;
	int64_t now = clock_wall_ms();
	for (struct ctlsess *c = g->sessions.head, *nx; c; c = nx) {
		nx = c->next;
		struct gbsess *s = SESS(c);
		if (s->expires_ms < now && !s->conn && !s->cs.breq)
			sess_finish(s, "expired");
	}
	tmr_start(&g->sweep, SWEEP_MS, sweep, g);
}

/* ---- the adapter ---- */

static void on_marker(int err, char *json, size_t len, void *arg)
{
	struct gbot *g = arg;
	(void)len;
	free(json);
	g->store_state = err == -ENOENT ? ST_CLEAN : ST_DIRTY;
	LOGD(NULL, "genesys_bot_store_state", "clean=%d err=%d", err == -ENOENT,
	     err);
}

static void marker_read(struct gbot *g)
{
	/* Refused: stays ST_UNKNOWN, every new id reads the store. */
	(void)ctlsess_read(&g->host, MARKER_KEY, on_marker, NULL, g);
}

int gbot_create(struct gbot **gp, const struct gbot_cfg *cfg)
{
	if (!gp || !cfg || !cfg->loop || !cfg->backend || !cfg->api_key ||
	    !cfg->api_key[0])
		return -EINVAL;
	struct gbot *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->loop = cfg->loop;
	g->store = cfg->store;
	g->flows = cfg->flows;
	g->flows_arg = cfg->flows_arg;
	g->host = (struct ctlsess_host){
		.loop = cfg->loop,
		.store = cfg->store,
		.backend = cfg->backend,
		.flows_hold = cfg->flows_hold,
		.hold_arg = cfg->flows_arg,
		.platform = GBOT_PLATFORM,
		.channel = "genesys-bot",
		.log_name = "genesys_bot",
		/* text in, text out: "speech" steps take the customer's
		 * words; clips play as their text. */
		.audio = false,
		.ended_root_flow = true,
		.timeout_ms = cfg->backend_timeout_ms ? cfg->backend_timeout_ms
						      : DEFAULT_TIMEOUT_MS,
		.drive = drive_cb,
		.timeout = backend_timeout,
		.turn = on_turn,
		.state_add = state_add,
	};
	(void)SHA256((const unsigned char *)cfg->api_key, strlen(cfg->api_key),
		     g->key_hash);
	g->key_header = strdup(cfg->api_key_header && cfg->api_key_header[0]
				       ? cfg->api_key_header
				       : "X-API-KEY");
	g->bots = strdup(cfg->bots ? cfg->bots : "");
	g->language = strdup(cfg->language && cfg->language[0] ? cfg->language
							       : "en-us");
	g->agent_uri = strdup(cfg->agent_uri ? cfg->agent_uri : "");
	g->session_min = cfg->session_timeout_min ? cfg->session_timeout_min
						  : DEFAULT_SESSION_MIN;
	g->max_sessions =
		cfg->max_sessions ? cfg->max_sessions : DEFAULT_MAX_SESSIONS;
	tmr_init(&g->sweep);
	if (!g->key_header || !g->bots || !g->language || !g->agent_uri) {
		gbot_destroy(g);
		return -ENOMEM;
	}
	tmr_start(&g->sweep, SWEEP_MS, sweep, g);
	if (g->store)
		marker_read(g);
	*gp = g;
	return 0;
}

void gbot_destroy(struct gbot *g)
{
	if (!g)
		return;
	tmr_cancel(&g->sweep);
	ctlsess_host_close(&g->host);
	/* No session of ours left in the store, none from before: the next
	 * run may skip the reads. */
	if (g->store && g->store_state == ST_CLEAN && !g->sessions.head &&
	    g->marker_written)
		(void)store_session_del(g->store, GBOT_PLATFORM, MARKER_KEY);
	for (struct ctlsess *cs; (cs = ctlsess_pop(&g->sessions));) {
		struct gbsess *s = SESS(cs);
		if (s->conn)
			reply_error(s->conn, R_TURN, s->t0_us, 503,
				    "shutting_down", "shutting down");
		sess_free(s);
	}
	for (unsigned i = 0; i < DONE_MAX; i++)
		free(g->done[i].reply);
	OPENSSL_cleanse(g->key_hash, sizeof(g->key_hash));
	free(g->key_header);
	free(g->bots);
	free(g->language);
	free(g->agent_uri);
	free(g);
}

unsigned gbot_active(const struct gbot *g)
{
	return g ? g->sessions.n : 0;
}
