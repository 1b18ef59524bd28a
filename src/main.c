/* voxgate: argv, configuration, wiring of loops, store, flows, TTS and the
 * SIP endpoint, signals and shutdown. No business logic lives here. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <re.h>
#define DEBUG_MODULE "voxgate"
#define DEBUG_LEVEL 0
#include <re_dbg.h>
#include <cJSON.h>

#include "call/call.h"
#include "call/record.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/wpool.h"
#include "engines/nlu/classifier.h"
#include "engines/nlu/cli.h"
#include "engines/nlu/registry.h"
#include "engines/stt/cli.h"
#include "engines/tts/cli.h"
#include "engines/tts/tts.h"
#include "flow/flow.h"
#include "flow/import.h"
#include "flow/model.h"
#include "flow/runtime.h"
#include "flow/vars.h"
#include "control/connect/cctl.h"
#include "control/genesys/ahknow.h"
#include "control/genesys/ahmonitor.h"
#include "control/genesys/ahrest.h"
#include "control/genesys/gbot.h"
#include "control/twilio/twctl.h"
#include "http/api.h"
#include "http/client.h"
#include "metrics/metrics.h"
#include "sim/sim.h"
#include "engines/stt/sherpa/sherpa.h"
#include "engines/stt/stt.h"
#include "store/store.h"
#include "telephony/asterisk/agi.h"
#include "telephony/asterisk/ashandoff.h"
#include "telephony/asterisk/audiosocket.h"
#include "telephony/genesys/audioconnector.h"
#include "telephony/genesys/audiohook.h"
#include "telephony/twilio/mstream.h"
#include "telephony/asterisk/fastagi.h"
#include "telephony/sip/sipep.h"

struct daemon {
	struct vg_config cfg;
	const char *cfg_path;
	struct vg_loop *media;
	struct vg_loop *web;
	struct wpool *pool;
	struct store *store;
	struct tts *tts;
	struct stt *stt;
	struct flow_set *flows;
	/* Readers off the media loop (Twilio webhooks on the web loop) hold
	 * it for reading while they use d->flows; the reload swaps it (on
	 * the media loop) holding it for writing. */
	pthread_rwlock_t flows_lock;
	struct nlu_registry *nlu;    /* classify "model:" models */
	struct flow_backend backend; /* flows' http, lookup, events */
	struct flow_queue queues[CONFIG_QUEUES_MAX]; /* cfg.transfer.queues */
	struct rec_writer *recw;		     /* NULL: recordings off */
	struct sipep *ep;
	struct audiosocket *as;	 /* NULL unless asterisk.audiosocket_enabled */
	struct mstream *mstream; /* NULL unless twilio.media_enabled */
	/* Genesys AudioHook listener (media loop; NULL unless
	 * genesys.enabled): the monitor's and the Audio Connector bot's. */
	struct audiohook *audiohook;
	struct ahmonitor *ahmon;   /* media loop; AudioHook monitor */
	struct acbot *acbot;	   /* media loop; Audio Connector bot */
	struct ahknow *ahknow;	   /* genesys.knowledge; NULL: none */
	struct ahrest *ahrest;	   /* web loop; pause/resume trigger */
	struct fastagi *agi;	   /* NULL unless asterisk.agi_enabled */
	struct ashandoff handoffs; /* media loop: FastAGI -> AudioSocket */
	struct api *api;
	struct twctl *twilio; /* web loop; NULL unless twilio.enabled */
	struct gbot *gbot;    /* web loop; NULL unless genesys_bot.enabled */
	struct cctl *connect; /* web loop; NULL unless connect.enabled */
	struct http_client *http;  /* web loop; outgoing HTTP */
	struct webhooks *webhooks; /* NULL unless webhooks.urls */
	int sigfd;
	bool draining;
	uint64_t drain_start_ms;
	struct tmr drain_tmr;
	uint64_t start_ms;
	_Atomic unsigned active_calls;
	_Atomic int draining_flag;
	struct metric_counter *m_started;
	struct metric_histogram *m_lag_media, *m_lag_web;
};

static const char *voice_name(enum config_voice v)
{
	return v == CONFIG_VOICE_SLT ? "slt" : "kal";
}

/* ---------- speech recognition ---------- */

/* Open the configured STT engines. Without any (none installed) the daemon
 * still runs: speech menus then take DTMF only, and the log says why. */
static void start_stt(struct daemon *d)
{
	struct stt_cfg sc = {
		.engines = d->cfg.stt.engines,
		.deadline_ms = d->cfg.stt.deadline_ms,
		.early_ms = d->cfg.stt.early_ms,
		.partial_every_ms = d->cfg.stt.partial_every_ms,
	};
	char moon_dir[CONFIG_PATH_LEN + 32];
	const char *p = d->cfg.stt.engines;
	for (unsigned i = 0; i < STT_ENGINES_MAX && *p; i++) {
		struct stt_engine_cfg *ec = &sc.engine_cfg[i];
		ec->threads = d->cfg.stt.threads;
		ec->pool_size = d->cfg.stt.decoders;
		ec->lm_beam = d->cfg.stt.lm_beam;
		ec->lm_weight = d->cfg.stt.lm_weight;
		ec->lm_word_bonus = d->cfg.stt.lm_word_bonus;
		ec->lm_prune = d->cfg.stt.lm_prune;
		ec->open_beam = d->cfg.stt.open_beam; /* 0: engine default */
		ec->open_prune = d->cfg.stt.open_prune;
		ec->degrade = d->cfg.stt.degrade;
		ec->degrade_ms = d->cfg.stt.degrade_ms;
		if (!strncmp(p, "moonshine", 9) && d->cfg.stt.models_dir[0]) {
			snprintf(moon_dir, sizeof(moon_dir),
				 "%s/moonshine-tiny", d->cfg.stt.models_dir);
			ec->model_dir = moon_dir;
		}
		p = strchr(p, ',');
		if (!p)
			break;
		p++;
	}
	uint64_t t0 = clock_mono_us();
	/* The sherpa-onnx library comes from the same directory as the models
	 * when one is configured (loaded once per process). */
	if (d->cfg.stt.models_dir[0]) {
		int lerr = sherpa_load(d->cfg.stt.models_dir);
		if (lerr)
			LOGW(NULL, "sherpa_load_failed", "dir=%s err=%d",
			     log_esc(d->cfg.stt.models_dir), lerr);
	}
	int err = stt_create(&d->stt, d->pool, &sc);
	if (err) {
		LOGW(NULL, "stt_unavailable",
		     "engines=%s err=%d: speech menus take DTMF only",
		     d->cfg.stt.engines, err);
		d->stt = NULL;
		return;
	}
	LOGI(NULL, "stt_ready", "engines=%s ms=%llu", stt_engines(d->stt),
	     (unsigned long long)(clock_mono_us() - t0) / 1000);
}

/* ---------- calls ---------- */

static void fill_cdr(struct store_cdr *r, struct call *c)
{
	memset(r, 0, sizeof(*r));
	r->id = call_id(c);
	r->sip_call_id = call_platform_id(c);
	r->platform = call_platform(c);
	r->from_uri = call_from(c);
	r->to_uri = call_to(c);
	r->flow = call_flow_name(c);
	r->codec = call_codec(c);
	r->remote_addr = call_remote_addr(c);
	r->started_ms = call_started_wall_ms(c);
	r->answered_ms = call_answered_wall_ms(c);
	r->ended_ms = call_ended_wall_ms(c);
	r->end_reason = call_end_reason(c);
	r->dtmf = call_dtmf(c);
	r->flow_path_json = call_flow_path_json(c);
	r->prompts_json = call_prompts_json(c);
	r->turns_json = call_turns_json(c);
	r->rtp_tx = call_rtp_sent(c);
	r->rtp_rx = call_rtp_received(c);
}

static const char *route_flow(struct daemon *d, const char *number)
{
	const struct config_route *rt = config_route_find(&d->cfg, number);
	return rt ? rt->flow : d->cfg.flows.default_flow;
}

/* ---------- flow back-ends (struct flow_backend) ---------- */

/* One request out for a flow session; freed by its completion. */
struct backend_req {
	flow_backend_done_fn *done;
	void *arg;
};

static void backend_http_done(const struct http_resp *resp, void *arg)
{
	struct backend_req *q = arg;
	struct flow_result res = {
		.type = FLOW_RES_HTTP,
		.err = resp->err,
		.now_ms = clock_wall_ms(),
	};
	res.http.status = resp->status;
	res.http.body = resp->body;
	res.http.body_len = resp->body_len;
	q->done(&res, q->arg);
	free(q);
}

static int backend_http(void *ctx, const struct flow_action *a,
			struct vg_loop *loop, flow_backend_done_fn *done,
			void *arg)
{
	struct daemon *d = ctx;
	if (!a || a->type != FLOW_ACT_HTTP || !done)
		return -EINVAL;
	if (!d->http)
		return -ENOTSUP;
	struct backend_req *q = malloc(sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->done = done;
	q->arg = arg;
	const struct http_req req = {
		.method = a->http.method,
		.url = a->http.url,
		.header_names = a->http.header_names,
		.header_values = a->http.header_values,
		.nheaders = a->http.nheaders,
		.body = a->http.body,
		.body_len = a->http.body_len,
		.timeout_ms = a->http.timeout_ms,
		.retries = a->http.retries,
		.tag = a->node,
	};
	int err = http_client_submit(d->http, &req, loop, backend_http_done, q);
	if (err)
		free(q);
	return err;
}

static void backend_lookup_done(int err, char *json, size_t len, void *arg)
{
	struct backend_req *q = arg;
	struct flow_result res = {
		.type = FLOW_RES_LOOKUP,
		.err = err,
		.now_ms = clock_wall_ms(),
	};
	res.lookup.json = err ? NULL : json;
	res.lookup.json_len = err ? 0 : len;
	q->done(&res, q->arg);
	free(json);
	free(q);
}

static int backend_lookup(void *ctx, const struct flow_action *a,
			  struct vg_loop *loop, flow_backend_done_fn *done,
			  void *arg)
{
	struct daemon *d = ctx;
	if (!a || a->type != FLOW_ACT_LOOKUP || !done)
		return -EINVAL;
	enum store_crm_query qt;
	switch ((enum flow_lookup_query)a->lookup.query) {
	case FLOW_LOOKUP_CUSTOMER_BY_PHONE:
		qt = STORE_CRM_CUSTOMER_BY_PHONE;
		break;
	case FLOW_LOOKUP_CUSTOMER:
		qt = STORE_CRM_CUSTOMER;
		break;
	case FLOW_LOOKUP_ACCOUNTS:
		qt = STORE_CRM_ACCOUNTS;
		break;
	case FLOW_LOOKUP_CARDS:
		qt = STORE_CRM_CARDS;
		break;
	case FLOW_LOOKUP_TICKETS:
		qt = STORE_CRM_TICKETS;
		break;
	case FLOW_LOOKUP_CREATE_TICKET:
		qt = STORE_CRM_CREATE_TICKET;
		break;
	default:
		return -EINVAL;
	}
	struct backend_req *q = malloc(sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->done = done;
	q->arg = arg;
	int err = store_crm_query(
		d->store, qt, a->lookup.key ? a->lookup.key : "",
		a->lookup.subject, loop, backend_lookup_done, q);
	if (err)
		free(q);
	return err;
}

static void backend_event(void *ctx, const char *event, const char *call_id,
			  const char *json_fields)
{
	struct daemon *d = ctx;
	if (d->webhooks)
		(void)webhooks_post(d->webhooks, event, call_id, json_fields);
}

static bool backend_wants_event(void *ctx, const char *event)
{
	struct daemon *d = ctx;
	return webhooks_wants(d->webhooks, event);
}

/* Media loop (sessions run there, and reloads swap d->flows there): the
 * flow is borrowed from the current set; the runtime takes its own
 * reference, so a later reload does not pull it from under a call. */
static struct flow *backend_find_flow(void *ctx, const char *name)
{
	struct daemon *d = ctx;
	return d->flows && name ? flow_set_find(d->flows, name) : NULL;
}

/* Any thread: models are loaded with the flows, found without waiting. */
static struct nlu_model *backend_find_model(void *ctx, const char *name)
{
	struct daemon *d = ctx;
	return nlu_registry_find(d->nlu, name);
}

/* The flow of an AudioSocket call (platform id = the Asterisk UUID): the
 * one a FastAGI set-up session chose for the same UUID (on_agi_new), else
 * asterisk.default_flow, else flows.default. buf holds a handed-off name. */
static const char *audiosocket_flow(struct daemon *d, const char *uuid,
				    char buf[64])
{
	if (ashandoff_take(&d->handoffs, uuid, clock_mono_ms(), buf)) {
		LOGI(NULL, "audiosocket_flow_handoff", "uuid=%s flow=%s",
		     log_esc(uuid), log_esc(buf));
		return buf;
	}
	if (d->cfg.asterisk.default_flow[0])
		return d->cfg.asterisk.default_flow;
	return d->cfg.flows.default_flow;
}

/* AGI(agi://host/audiosocket,UUID[,FLOW]): no flow runs over AGI; the flow
 * (FLOW, else flows.routes on the dialled number, else the AudioSocket
 * default) is kept for the AudioSocket call with that UUID, VOXGATE_FLOW is
 * set and the dialplan goes on with VOXGATE_RESULT=audiosocket. */
static int agi_audiosocket_setup(struct daemon *d, struct channel *ch,
				 const struct fastagi_call *c)
{
	const char *dflt = d->cfg.asterisk.default_flow[0]
				   ? d->cfg.asterisk.default_flow
				   : d->cfg.flows.default_flow;
	const char *uuid = c->env->nargs >= 1 ? c->env->args[0] : "";
	const char *fname = c->env->nargs >= 2 && c->env->args[1][0]
				    ? c->env->args[1]
				    : NULL;
	const struct config_route *rt =
		fname ? NULL : config_route_find(&d->cfg, c->to);
	if (!fname)
		fname = rt ? rt->flow : dflt;
	char buf[64];
	struct flow *f = flow_set_find(d->flows, fname);
	if (!f ||
	    ashandoff_put(&d->handoffs, uuid, flow_name(f), clock_mono_ms())) {
		LOGW(c->id, "audiosocket_setup_refused", "uuid=%s flow=%s",
		     log_esc(uuid), log_esc(fname));
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", flow_name(f));
	LOGI(c->id, "audiosocket_setup", "uuid=%s flow=%s to=%s", log_esc(uuid),
	     log_esc(buf), log_esc(c->to ? c->to : ""));
	int err = fastagi_set_var(ch, "VOXGATE_FLOW", buf);
	return err ? err : fastagi_finish(ch, "audiosocket");
}

static int on_call_new(struct call *c, void *arg)
{
	struct daemon *d = arg;
	char hbuf[64];
	const char *fname =
		!strcmp(call_platform(c), "audiosocket")
			? audiosocket_flow(d, call_platform_id(c), hbuf)
			: route_flow(d, call_to(c));
	/* Media Streams: the <Stream> "flow" parameter, set by mstream. */
	/* Genesys Audio Connector: open's inputVariables/customConfig
	 * "flow" or genesys_bot.audio_flow, set by the bot adapter. */
	if ((!strcmp(call_platform(c), "twilio-media") ||
	     !strcmp(call_platform(c), "genesys")) &&
	    call_flow_name(c) && call_flow_name(c)[0])
		fname = call_flow_name(c);
	struct flow *f = flow_set_find(d->flows, fname);
	if (!f) {
		LOGE(call_id(c), "flow_missing", "flow=%s", log_esc(fname));
		return -ENOENT;
	}
	call_set_flow_name(c, flow_name(f));
	if (d->recw)
		call_set_recorder(c, d->recw);
	struct flow_env env = {
		.backend = &d->backend,
		.tts = d->tts,
		.stt = d->stt,
		.loop = d->media,
		.agent_uri = d->cfg.sip.agent_uri,
		.default_voice = voice_name(d->cfg.tts.voice),
		.queues = d->queues,
		.nqueues = d->cfg.transfer.nqueues,
		.stt_stream = d->cfg.stt.stream,
		.continue_ms = d->cfg.stt.continue_ms,
	};
	struct flow_session *fs = NULL;
	int err = flow_session_create(&fs, f, call_channel(c), &env);
	if (err) {
		LOGE(call_id(c), "flow_session_failed", "err=%d", err);
		return err;
	}
	call_set_user(c, fs);
	d->active_calls++;
	metric_counter_add(d->m_started, 1);

	struct store_cdr r;
	fill_cdr(&r, c);
	if (store_call_begin(d->store, &r))
		LOGW(call_id(c), "cdr_begin_failed", NULL);
	return 0;
}

/* ---------- FastAGI sessions (control adapter, media loop) ---------- */

/* Per AGI channel (fastagi_user): the flow run and the flow's name. */
struct agi_call {
	struct flow_session *fs;
	char flow[64];
};

static void agi_cdr(struct daemon *d, struct channel *ch, bool begin)
{
	struct fastagi_info in;
	fastagi_info(ch, &in);
	const struct agi_call *ac = fastagi_user(ch);
	struct store_cdr r = {
		.id = in.id,
		.sip_call_id = in.uniqueid,
		.platform = "asterisk",
		.from_uri = in.from,
		.to_uri = in.to,
		.flow = ac ? ac->flow : in.flow,
		.remote_addr = in.channel,
		.started_ms = in.started_ms,
		.answered_ms = in.answered_ms,
		.ended_ms = in.ended_ms,
		.end_reason = in.end_reason,
		.dtmf = in.dtmf,
		.flow_path_json = in.flow_path_json,
		.turns_json = in.turns_json,
	};
	if (begin ? store_call_begin(d->store, &r)
		  : store_call_update(d->store, &r))
		LOGW(in.id, "cdr_update_failed", "begin=%d", begin);
}

static int on_agi_new(struct channel *ch, const struct fastagi_call *c,
		      void *arg)
{
	struct daemon *d = arg;
	const char *fname = c->flow;
	if (fname && !strcmp(fname, "audiosocket"))
		return agi_audiosocket_setup(d, ch, c);
	if (!fname)
		fname = d->cfg.asterisk.default_flow[0]
				? d->cfg.asterisk.default_flow
				: d->cfg.flows.default_flow;
	struct flow *f = flow_set_find(d->flows, fname);
	if (!f) {
		LOGE(c->id, "flow_missing", "flow=%s", log_esc(fname));
		return -ENOENT;
	}
	struct agi_call *ac = calloc(1, sizeof(*ac));
	if (!ac)
		return -ENOMEM;
	snprintf(ac->flow, sizeof(ac->flow), "%s", flow_name(f));
	struct flow_env env = {
		.backend = &d->backend,
		.tts = d->tts,
		.stt = d->stt,
		.loop = d->media,
		.agent_uri = d->cfg.sip.agent_uri,
		.default_voice = voice_name(d->cfg.tts.voice),
		.queues = d->queues,
		.nqueues = d->cfg.transfer.nqueues,
		.stt_stream = d->cfg.stt.stream,
		.continue_ms = d->cfg.stt.continue_ms,
	};
	int err = flow_session_create(&ac->fs, f, ch, &env);
	if (err) {
		LOGE(c->id, "flow_session_failed", "err=%d", err);
		free(ac);
		return err;
	}
	fastagi_set_user(ch, ac);
	d->active_calls++;
	metric_counter_add(d->m_started, 1);
	agi_cdr(d, ch, true);
	if (flow_session_start(ac->fs))
		channel_hangup(ch, "flow_error");
	return 0;
}

static void on_agi_gone(struct channel *ch, void *arg)
{
	struct daemon *d = arg;
	struct agi_call *ac = fastagi_user(ch);
	if (!ac)
		return;
	fastagi_set_user(ch, NULL);
	flow_session_destroy(ac->fs);
	d->active_calls--;
	struct fastagi_info in;
	fastagi_info(ch, &in);
	const char *reason = in.end_reason ? in.end_reason : "error";
	char labels[96];
	snprintf(labels, sizeof(labels), "reason=\"%s\"", reason);
	metric_counter_add(metrics_counter("voxgate_calls_total", labels,
					   "Calls ended, by end reason"),
			   1);
	fastagi_set_user(ch, ac); /* for the record's flow name */
	agi_cdr(d, ch, false);
	fastagi_set_user(ch, NULL);
	LOGI(in.id, "call_end", "platform=asterisk reason=%s dtmf=%s path=%s",
	     reason, log_esc(in.dtmf), log_esc(in.flow_path_json));
	free(ac);
}

static void on_call_state(struct call *c, int old, void *arg)
{
	struct daemon *d = arg;
	enum call_state st = call_state(c);
	if (st == CALL_ANSWERING && old == CALL_RINGING) {
		LOGI(call_id(c), "call_answered", "codec=%s flow=%s",
		     call_codec(c), log_esc(call_flow_name(c)));
		struct store_cdr r;
		fill_cdr(&r, c);
		(void)store_call_update(d->store, &r);
		struct flow_session *fs = call_user(c);
		if (fs && flow_session_start(fs))
			channel_hangup(call_channel(c), "flow_error");
	}
}

static void on_call_gone(struct call *c, void *arg)
{
	struct daemon *d = arg;
	struct flow_session *fs = call_user(c);
	call_set_user(c, NULL);
	/* Only calls that got a flow were counted (on_call_new): one refused
	 * before that must not take another call's count away. */
	if (fs)
		d->active_calls--;
	flow_session_destroy(fs);

	const char *reason = call_end_reason(c) ? call_end_reason(c) : "error";
	char labels[96];
	snprintf(labels, sizeof(labels), "reason=\"%s\"", reason);
	metric_counter_add(metrics_counter("voxgate_calls_total", labels,
					   "Calls ended, by end reason"),
			   1);
	struct store_cdr r;
	fill_cdr(&r, c);
	if (store_call_update(d->store, &r))
		LOGW(call_id(c), "cdr_update_failed", NULL);
	int64_t dur =
		r.ended_ms && r.answered_ms ? r.ended_ms - r.answered_ms : 0;
	LOGI(call_id(c), "call_end",
	     "reason=%s duration_ms=%lld dtmf=%s rtp_tx=%llu rtp_rx=%llu "
	     "path=%s",
	     reason, (long long)dur, log_esc(r.dtmf),
	     (unsigned long long)r.rtp_tx, (unsigned long long)r.rtp_rx,
	     log_esc(r.flow_path_json));
}

/* ---------- flows ---------- */

static void flow_errors_print(const struct flow_errors *e, FILE *f)
{
	for (size_t i = 0; i < e->count; i++)
		fprintf(f, "%s\n", e->msg[i]);
	if (e->dropped)
		fprintf(f, "... and %zu more errors\n", e->dropped);
}

static void
flow_set_foreach_prompt(const struct flow_set *set, const char *voice,
			void (*fn)(const char *, const char *, void *),
			void *arg)
{
	for (size_t i = 0; i < flow_set_count(set); i++)
		flow_prompts_foreach(flow_set_at(set, i), voice, fn, arg);
}

static int check_routes(const struct vg_config *cfg, const struct flow_set *set,
			FILE *out)
{
	int bad = 0;
	const char *src = cfg->source[0] ? cfg->source : "<defaults>";
	if (!flow_set_find(set, cfg->flows.default_flow)) {
		fprintf(out, "%s:%u:%u: unknown flow '%s' (flows.default)\n",
			src, cfg->flows.default_pos.line,
			cfg->flows.default_pos.col, cfg->flows.default_flow);
		bad++;
	}
	for (size_t i = 0; i < cfg->flows.nroutes; i++) {
		const struct config_route *rt = &cfg->flows.routes[i];
		if (!flow_set_find(set, rt->flow)) {
			fprintf(out, "%s:%u:%u: unknown flow '%s'\n", src,
				rt->flow_pos.line, rt->flow_pos.col, rt->flow);
			bad++;
		}
	}
	return bad;
}

/* Load every flow and check the routes. Problems go to stderr at start-up
 * and check-config (to_log = false), or into the event log on a SIGHUP
 * reload (to_log = true), one line per problem. */
static int load_flows(const struct vg_config *cfg, struct flow_set **setp,
		      bool to_log)
{
	struct flow_errors errs;
	memset(&errs, 0, sizeof(errs));
	struct flow_set *set = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *out = to_log ? open_memstream(&buf, &len) : stderr;
	if (!out)
		return -ENOMEM;
	int err = flow_set_load(&set, cfg->flows.dir[0] ? cfg->flows.dir : NULL,
				&errs);
	if (err)
		flow_errors_print(&errs, out);
	else if (check_routes(cfg, set, out)) {
		flow_set_destroy(set);
		err = -EINVAL;
	}
	if (to_log) {
		fclose(out);
		for (char *line = strtok(buf, "\n"); line;
		     line = strtok(NULL, "\n"))
			LOGE(NULL, "flow_error", "msg=%s", log_esc(line));
		free(buf);
	}
	if (!err)
		*setp = set;
	return err;
}

struct presynth_ctx {
	struct tts *tts;
	unsigned n, failed;
};

static void presynth_one(const char *voice, const char *text, void *arg)
{
	struct presynth_ctx *p = arg;
	if (tts_presynth(p->tts, voice, text))
		p->failed++;
	else
		p->n++;
}

static void presynth_flows(struct daemon *d, struct flow_set *set)
{
	struct presynth_ctx p = { .tts = d->tts };
	uint64_t t0 = clock_mono_us();
	flow_set_foreach_prompt(set, voice_name(d->cfg.tts.voice), presynth_one,
				&p);
	LOGI(NULL, "tts_presynth", "prompts=%u failed=%u ms=%llu", p.n,
	     p.failed, (unsigned long long)(clock_mono_us() - t0) / 1000);
}

/* Have the STT engines build what a flow's speech menus need (PocketSphinx
 * searches) before the first call. Blocking: start-up or a worker. */
static void prepare_grammar(const struct stt_grammar *g, void *arg)
{
	struct stt *stt = arg;
	int err = stt_prepare(stt, g);
	if (err)
		LOGW(NULL, "stt_prepare_failed", "err=%d", err);
}

static void prepare_flows(struct stt *stt, const struct flow_set *set)
{
	if (!stt)
		return;
	uint64_t t0 = clock_mono_us();
	for (size_t i = 0; i < flow_set_count(set); i++)
		flow_grammars_foreach(flow_set_at(set, i), prepare_grammar,
				      stt);
	LOGI(NULL, "stt_prepared", "ms=%llu",
	     (unsigned long long)(clock_mono_us() - t0) / 1000);
}

/* SIGHUP: loading a flow set reads files and trains the flows' intent
 * classifiers, so it runs on a worker, with the new prompts synthesized
 * and grammars prepared there too; the media loop only swaps the set. */
/* Load the NLU models the set's classify nodes name and attach them
 * (blocking: start-up or the reload worker, before the set is in use). A
 * model that does not load is logged; its nodes then take the error
 * branch when they run. Intents the model does not know are logged. */
/* The models the Connect endpoints classify with (connect.model,
 * lex_model, functions' model): loaded once here, found per request. A
 * missing model is logged; its requests then answer 503 (classify) or
 * skip voxgate's reclassification (lex). */
static void load_connect_models(struct daemon *d)
{
	const struct vg_config *c = &d->cfg;
	const char *names[2 + CONFIG_CONNECT_FUNCS_MAX];
	size_t n = 0;
	if (!c->connect.enabled)
		return;
	names[n++] = c->connect.model;
	names[n++] = c->connect.lex_model;
	for (unsigned i = 0; i < c->connect.nfunctions; i++)
		names[n++] = c->connect.functions[i].model;
	for (size_t i = 0; i < n; i++) {
		char msg[512] = "";
		if (!names[i][0])
			continue;
		int err = nlu_registry_load(d->nlu, names[i], msg, sizeof(msg));
		if (err)
			LOGW(NULL, "connect_model_missing",
			     "model=%s err=%d msg=%s", log_esc(names[i]), err,
			     log_esc(msg));
	}
}

static void resolve_flow_models(struct nlu_registry *r, struct flow_set *set)
{
	for (size_t i = 0; r && i < flow_set_count(set); i++) {
		struct flow *f = flow_set_at(set, i);
		for (unsigned k = 0; k < f->nnodes; k++) {
			struct flow_node *n = &f->nodes[k];
			if (n->type != FLOW_NODE_CLASSIFY || !n->model)
				continue;
			char msg[512] = "";
			int err = nlu_registry_load(r, n->model, msg,
						    sizeof(msg));
			n->model_nlu =
				err ? NULL : nlu_registry_find(r, n->model);
			if (err) {
				LOGE(NULL, "flow_model_failed",
				     "flow=%s node=%s err=%d msg=%s",
				     log_esc(f->name), log_esc(n->name), err,
				     log_esc(msg));
				continue;
			}
			LOGI(NULL, "flow_model",
			     "flow=%s node=%s model=%s intents=%zu",
			     log_esc(f->name), log_esc(n->name),
			     log_esc(n->model),
			     nlu_model_nlabels(n->model_nlu));
			for (unsigned j = 0; j < n->nroutes; j++)
				if (nlu_model_label_find(n->model_nlu,
							 n->routes[j].intent) <
				    0)
					LOGW(NULL, "flow_model_intent_unknown",
					     "flow=%s node=%s model=%s "
					     "intent=%s",
					     log_esc(f->name), log_esc(n->name),
					     log_esc(n->model),
					     log_esc(n->routes[j].intent));
		}
	}
}

struct reload_job {
	struct daemon *d;
	struct flow_set *set;
	int err;
	struct presynth_ctx done;
};

static void reload_work(void *arg)
{
	struct reload_job *j = arg;
	struct daemon *d = j->d;
	j->err = load_flows(&d->cfg, &j->set, true);
	if (j->err)
		return;
	resolve_flow_models(d->nlu, j->set);
	for (size_t i = 0; i < flow_set_count(j->set); i++) {
		struct flow *f = flow_set_at(j->set, i);
		struct presynth_ctx p = { .tts = d->tts };
		flow_prompts_foreach(f, voice_name(d->cfg.tts.voice),
				     presynth_one, &p);
		LOGI(NULL, "tts_presynth", "flow=%s prompts=%u failed=%u",
		     flow_name(f), p.n, p.failed);
		j->done.n += p.n;
		j->done.failed += p.failed;
	}
	prepare_flows(d->stt, j->set);
}

static void reload_done(int err, void *arg)
{
	struct reload_job *j = arg;
	struct daemon *d = j->d;
	if (err || j->err) {
		LOGE(NULL, "flows_reload_failed", "kept=old err=%d",
		     err ? err : j->err);
		flow_set_destroy(j->set);
		free(j);
		return;
	}
	/* Calls in progress keep their own flow references. */
	pthread_rwlock_wrlock(&d->flows_lock);
	flow_set_destroy(d->flows);
	d->flows = j->set;
	pthread_rwlock_unlock(&d->flows_lock);
	LOGI(NULL, "flows_reloaded", "flows=%zu prompts=%u failed=%u",
	     flow_set_count(j->set), j->done.n, j->done.failed);
	free(j);
}

static void reload_flows(struct daemon *d)
{
	struct reload_job *j = calloc(1, sizeof(*j));
	int err = j ? 0 : -ENOMEM;
	if (j) {
		j->d = d;
		err = wpool_submit(d->pool, d->media, reload_work, reload_done,
				   j);
	}
	if (err) {
		LOGE(NULL, "flows_reload_failed", "kept=old err=%d", err);
		free(j);
	}
}

/* ---------- signals and shutdown ---------- */

static void drain_check(void *arg)
{
	struct daemon *d = arg;
	unsigned active =
		sipep_active_calls(d->ep) + audiosocket_active_calls(d->as) +
		mstream_active_calls(d->mstream) + fastagi_active(d->agi) +
		audiohook_active_sessions(d->audiohook);
	uint64_t waited = clock_mono_ms() - d->drain_start_ms;
	if (active == 0) {
		LOGI(NULL, "drained", "waited_ms=%llu",
		     (unsigned long long)waited);
		loop_cancel(d->media);
		return;
	}
	if (waited >= d->cfg.shutdown.drain_timeout_ms) {
		static bool hung_up;
		if (!hung_up) {
			hung_up = true;
			LOGI(NULL, "drain_timeout", "hanging_up=%u", active);
			sipep_hangup_all(d->ep, "shutdown");
			audiosocket_hangup_all(d->as, "shutdown");
			fastagi_hangup_all(d->agi, "shutdown");
			mstream_hangup_all(d->mstream, "shutdown");
		} else if (waited >= d->cfg.shutdown.drain_timeout_ms + 3000) {
			loop_cancel(d->media);
			return;
		}
	}
	tmr_start(&d->drain_tmr, 50, drain_check, d);
}

static void start_drain(struct daemon *d, int sig)
{
	if (d->draining) {
		LOGI(NULL, "shutdown_forced", "signal=%d", sig);
		d->cfg.shutdown.drain_timeout_ms = 0;
		return;
	}
	d->draining = true;
	d->draining_flag = 1;
	d->drain_start_ms = clock_mono_ms();
	sipep_drain(d->ep);
	audiosocket_drain(d->as);
	fastagi_drain(d->agi);
	mstream_drain(d->mstream);
	audiohook_drain(d->audiohook);
	LOGI(NULL, "draining", "signal=%d active=%u timeout_ms=%u", sig,
	     sipep_active_calls(d->ep), d->cfg.shutdown.drain_timeout_ms);
	tmr_start(&d->drain_tmr, 0, drain_check, d);
}

static void on_signal_fd(int flags, void *arg)
{
	struct daemon *d = arg;
	struct signalfd_siginfo si;
	(void)flags;
	while (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			reload_flows(d);
		else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			start_drain(d, (int)si.ssi_signo);
	}
}

static int setup_signals(struct daemon *d, sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, set, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
	return d->sigfd < 0 ? -errno : 0;
}

/* Optional SCHED_FIFO for the media loop (the calling thread only: workers
 * and the web loop keep normal scheduling). */
static void set_media_priority(unsigned prio)
{
	if (!prio)
		return;
	struct sched_param sp = { .sched_priority = (int)prio };
	int err = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	if (err)
		LOGW(NULL, "media_rt_priority_refused", "priority=%u err=%d",
		     prio, err);
	else
		LOGI(NULL, "media_rt_priority", "priority=%u", prio);
}

/* libre prints its own diagnostics; route them into our event log so every
 * line stays key=value (or JSON). */
static void libre_dbg(int level, const char *p, size_t len, void *arg)
{
	(void)arg;
	while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	char msg[400];
	snprintf(msg, sizeof(msg), "%.*s", (int)(len < 399 ? len : 399), p);
	enum log_level lvl = level <= DBG_ERR	    ? LOG_LVL_ERROR
			     : level == DBG_WARNING ? LOG_LVL_WARN
						    : LOG_LVL_DEBUG;
	log_event(lvl, NULL, "libre", "msg=%s", log_esc(msg));
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	rlim_t want = 65536;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
		want = rl.rlim_max;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			LOGW(NULL, "rlimit_nofile", "err=%d", errno);
	}
}

/* ---------- web loop ---------- */

static void cancel_loop(void *arg)
{
	(void)arg;
	re_cancel();
}

static void api_status(struct api_status *st, void *arg)
{
	struct daemon *d = arg;
	st->draining = d->draining_flag != 0;
	st->active_calls = d->active_calls;
	st->max_calls = d->cfg.limits.max_calls;
	st->uptime_s = (clock_mono_ms() - d->start_ms) / 1000;
}

struct web_start {
	struct daemon *d;
	int err;
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	bool done;
};

/* On the web loop: the outgoing HTTP client, and webhooks when configured. */
static int start_http_client(struct daemon *d)
{
	const struct vg_config *c = &d->cfg;
	const struct http_client_opts o = {
		.max_host_connections = c->http_client.max_host_connections,
		.max_total_connections = c->http_client.max_total_connections,
		.max_queued = c->http_client.max_queued,
		.breaker_failures = c->http_client.breaker_failures,
		.breaker_cooldown_ms = c->http_client.breaker_cooldown_ms,
		.max_response_bytes = c->http_client.max_response_bytes,
	};
	int err = http_client_create(&d->http, d->web, &o);
	if (err) {
		LOGE(NULL, "http_client_failed", "err=%d", err);
		return err;
	}
	if (!c->webhooks.nurls)
		return 0;
	const char *urls[CONFIG_WEBHOOKS_MAX];
	for (unsigned i = 0; i < c->webhooks.nurls; i++)
		urls[i] = c->webhooks.urls[i];
	const struct webhooks_opts wo = {
		.urls = urls,
		.nurls = c->webhooks.nurls,
		.secret = c->webhooks.secret,
		.events = c->webhooks.events,
		.timeout_ms = c->webhooks.timeout_ms,
		.retries = c->webhooks.retries,
	};
	err = webhooks_create(&d->webhooks, d->http, &wo);
	if (err)
		LOGE(NULL, "webhooks_failed", "err=%d", err);
	return err;
}

/* Twilio webhooks: the flow for the called number, like SIP's. */
static struct flow *twilio_route(void *arg, const char *to)
{
	struct daemon *d = arg;
	return d->flows ? flow_set_find(d->flows, route_flow(d, to)) : NULL;
}

/* The control adapters' (Twilio, Bot Connector, Connect) hold on the flow
 * set: a reload on another thread waits while a web-loop request uses it. */
static void control_flows_hold(void *arg, bool hold)
{
	struct daemon *d = arg;
	if (hold)
		pthread_rwlock_rdlock(&d->flows_lock);
	else
		pthread_rwlock_unlock(&d->flows_lock);
}

/* On the web loop, after the API: the /twilio/ routes when enabled. */
static int start_twilio(struct daemon *d)
{
	if (!d->cfg.twilio.enabled)
		return 0;
	const struct twctl_cfg tc = {
		.loop = d->web,
		.store = d->store,
		.backend = &d->backend,
		.route = twilio_route,
		.flows_hold = control_flows_hold,
		.route_arg = d,
		.auth_token = d->cfg.twilio.auth_token,
		.public_url = d->cfg.twilio.public_url,
		.voice = d->cfg.twilio.voice,
		.language = d->cfg.twilio.language,
		.agent_uri = d->cfg.sip.agent_uri,
		.media_calls = d->cfg.twilio.media_calls,
		.queues = d->queues,
		.nqueues = d->cfg.transfer.nqueues,
		.backend_timeout_ms = d->cfg.twilio.backend_timeout_ms,
		.wait_ms = d->cfg.twilio.backend_wait_ms,
		.redirects_max = d->cfg.twilio.redirects_max,
	};
	int err = twctl_create(&d->twilio, &tc);
	if (!err)
		err = api_route_add(d->api, "/twilio/", twctl_request,
				    d->twilio);
	if (err)
		LOGE(NULL, "twilio_start_failed", "err=%d", err);
	else
		LOGI(NULL, "twilio_webhooks", "url=%s/twilio/voice",
		     log_esc(d->cfg.twilio.public_url));
	return err;
}

/* Genesys Bot Connector: the bot list is the current flow set (read
 * while held, like the Twilio routes). */
static const struct flow_set *gbot_flows(void *arg)
{
	struct daemon *d = arg;
	return d->flows;
}

/* On the web loop, after the API: the /genesys/botconnector routes. */
static int start_gbot(struct daemon *d)
{
	if (!d->cfg.genesys_bot.enabled)
		return 0;
	const struct gbot_cfg gc = {
		.loop = d->web,
		.store = d->store,
		.backend = &d->backend,
		.flows = gbot_flows,
		.flows_hold = control_flows_hold,
		.flows_arg = d,
		.api_key = d->cfg.genesys_bot.api_key,
		.api_key_header = d->cfg.genesys_bot.api_key_header,
		.bots = d->cfg.genesys_bot.bots,
		.language = d->cfg.genesys_bot.language,
		.agent_uri = d->cfg.sip.agent_uri,
		.session_timeout_min =
			d->cfg.genesys_bot.session_timeout_ms / 60000,
	};
	int err = gbot_create(&d->gbot, &gc);
	if (!err)
		err = api_route_add(d->api, GBOT_PATH, gbot_request, d->gbot);
	if (err)
		LOGE(NULL, "genesys_bot_start_failed", "err=%d", err);
	else
		LOGI(NULL, "genesys_bot_connector", "path=%s", GBOT_PATH);
	return err;
}

/* On the web loop, after the API: the /connect/ routes (Amazon Connect
 * Lambda functions and the Lex V2 code hook). */
static int start_connect(struct daemon *d)
{
	if (!d->cfg.connect.enabled)
		return 0;
	const struct cctl_cfg cc = {
		.loop = d->web,
		.store = d->store,
		.backend = &d->backend,
		.route = twilio_route,
		.flows_hold = control_flows_hold,
		.route_arg = d,
		.config = &d->cfg,
	};
	int err = cctl_create(&d->connect, &cc);
	if (!err)
		err = api_route_add(d->api, "/connect/", cctl_request,
				    d->connect);
	if (err)
		LOGE(NULL, "connect_start_failed", "err=%d", err);
	else
		LOGI(NULL, "connect_endpoints",
		     "lambda=/connect/lambda/{function} lex=/connect/lex");
	return err;
}

/* On the web loop: POST /v1/audiohook/{id}/pause|resume. */
static int start_audiohook_rest(struct daemon *d)
{
	if (!d->cfg.genesys.enabled)
		return 0;
	int err = ahrest_create(&d->ahrest, d->media, d->web, &d->audiohook,
				d->cfg.genesys.api_key);
	if (!err)
		err = api_route_add(d->api, AHREST_PREFIX, ahrest_request,
				    d->ahrest);
	if (err)
		LOGE(NULL, "audiohook_rest_failed", "err=%d", err);
	return err;
}

/* On the media loop: the AudioHook listener and its monitor. Loads the
 * knowledge file and the NLU model (blocking: start-up). */
/* Audio Connector: the flow's collected slots (slots.<name>) go back to
 * Architect in the disconnect's outputVariables, by name. */
static int add_slot_output(const char *name, const char *value, void *arg)
{
	cJSON *vars = arg;
	if (!strncmp(name, "slots.", 6) && name[6] && !strchr(name + 6, '.') &&
	    value && value[0] &&
	    !cJSON_GetObjectItemCaseSensitive(vars, name + 6))
		cJSON_AddStringToObject(vars, name + 6, value);
	return 0;
}

static void acbot_outputs(struct call *c, struct cJSON *vars, void *arg)
{
	(void)arg;
	const struct flow_vars *v = flow_session_vars(call_user(c));
	if (v)
		(void)flow_vars_foreach(v, add_slot_output, vars);
}

/* The Audio Connector bot on the AudioHook listener's
 * /genesys/audioconnector path: each session a media call. */
static int start_acbot(struct daemon *d)
{
	struct acbot_cfg bc = {
		.media_timeout_ms = d->cfg.rtp.media_timeout_ms,
		.max_calls = d->cfg.limits.max_calls,
	};
	snprintf(bc.default_flow, sizeof(bc.default_flow), "%s",
		 d->cfg.genesys_bot.audio_flow);
	const struct acbot_handlers bh = {
		.call_new = on_call_new,
		.call_state = on_call_state,
		.call_gone = on_call_gone,
		.call_outputs = acbot_outputs,
	};
	int err = acbot_create(&d->acbot, d->audiohook, &bc, &bh, d);
	if (err)
		LOGE(NULL, "audioconnector_start_failed", "err=%d", err);
	return err;
}

static int start_audiohook(struct daemon *d)
{
	const struct vg_config *c = &d->cfg;
	char msg[512] = "";
	int err = 0;
	if (c->genesys.knowledge[0]) {
		err = ahknow_load(c->genesys.knowledge, &d->ahknow, msg,
				  sizeof(msg));
		if (err) {
			LOGE(NULL, "audiohook_knowledge_failed",
			     "err=%d msg=%s", err, log_esc(msg));
			return err;
		}
	}
	const struct nlu_model *model = NULL;
	if (!nlu_registry_load(d->nlu, c->genesys.model, msg, sizeof(msg)))
		model = nlu_registry_find(d->nlu, c->genesys.model);
	else
		LOGW(NULL, "audiohook_model_missing",
		     "model=%s msg=%s (no agent-assist intents)",
		     c->genesys.model, log_esc(msg));
	struct audiohook_cfg acfg = {
		.port = c->genesys.listen.port,
		.nkeys = 1,
		.require_signature = c->genesys.require_signature,
		.max_age_s = c->genesys.signature_max_age_ms / 1000,
		.idle_timeout_ms = c->genesys.idle_timeout_ms,
		.max_sessions = c->limits.max_calls,
	};
	snprintf(acfg.host, sizeof(acfg.host), "%s", c->genesys.listen.host);
	size_t kl = strlen(c->genesys.api_key);
	if (kl >= sizeof(acfg.keys[0].api_key)) {
		LOGE(NULL, "audiohook_start_failed", "api_key longer than %zu",
		     sizeof(acfg.keys[0].api_key) - 1);
		return -EINVAL;
	}
	memcpy(acfg.keys[0].api_key, c->genesys.api_key, kl + 1);
	snprintf(acfg.keys[0].client_secret, sizeof(acfg.keys[0].client_secret),
		 "%s", c->genesys.client_secret);
	err = audiohook_create(&d->audiohook, &acfg);
	explicit_bzero(acfg.keys, sizeof(acfg.keys));
	if (err) {
		LOGE(NULL, "audiohook_start_failed", "addr=%s:%u err=%d",
		     c->genesys.listen.host, c->genesys.listen.port, err);
		return err;
	}
	const struct ahmonitor_cfg mc = {
		.stt = d->stt,
		.loop = d->media,
		.model = model,
		.know = d->ahknow,
		.min_confidence = c->genesys.min_confidence,
		.language = c->genesys.language,
		.partials = c->genesys.partials,
	};
	err = ahmonitor_create(&d->ahmon, d->audiohook, &mc);
	if (err) {
		LOGE(NULL, "audiohook_monitor_failed", "err=%d", err);
		return err;
	}
	return start_acbot(d);
}

static void web_start(void *arg)
{
	struct web_start *ws = arg;
	struct daemon *d = ws->d;
	char listen[96];
	const struct config_addr *a = &d->cfg.http.listen;
	if (strchr(a->host, ':'))
		snprintf(listen, sizeof(listen), "[%s]:%u", a->host, a->port);
	else
		snprintf(listen, sizeof(listen), "%s:%u", a->host, a->port);
	int err = api_create(&d->api, d->web, listen, d->store, api_status, d);
	if (!err)
		err = start_http_client(d);
	if (!err)
		err = start_twilio(d);
	if (!err)
		err = start_gbot(d);
	if (!err)
		err = start_connect(d);
	if (!err)
		err = start_audiohook_rest(d);
	pthread_mutex_lock(&ws->mtx);
	ws->err = err;
	ws->done = true;
	pthread_cond_signal(&ws->cond);
	pthread_mutex_unlock(&ws->mtx);
}

static void web_stop(void *arg)
{
	struct web_start *ws = arg;
	twctl_destroy(ws->d->twilio);
	gbot_destroy(ws->d->gbot);
	ws->d->gbot = NULL;
	cctl_destroy(ws->d->connect);
	ws->d->connect = NULL;
	ahrest_destroy(ws->d->ahrest);
	ws->d->ahrest = NULL;
	ws->d->twilio = NULL;
	/* Pending requests complete with -ECANCELED on their reply loops. */
	webhooks_destroy(ws->d->webhooks);
	ws->d->webhooks = NULL;
	http_client_destroy(ws->d->http);
	ws->d->http = NULL;
	api_destroy(ws->d->api);
	ws->d->api = NULL;
	pthread_mutex_lock(&ws->mtx);
	ws->done = true;
	pthread_cond_signal(&ws->cond);
	pthread_mutex_unlock(&ws->mtx);
}

static int run_on_web(struct daemon *d, loop_fn *fn)
{
	struct web_start ws = { .d = d };
	pthread_mutex_init(&ws.mtx, NULL);
	pthread_cond_init(&ws.cond, NULL);
	int err = loop_post(d->web, fn, &ws);
	if (!err) {
		pthread_mutex_lock(&ws.mtx);
		while (!ws.done)
			pthread_cond_wait(&ws.cond, &ws.mtx);
		pthread_mutex_unlock(&ws.mtx);
		err = ws.err;
	}
	pthread_mutex_destroy(&ws.mtx);
	pthread_cond_destroy(&ws.cond);
	return err;
}

static void on_lag(const char *name, uint64_t lag_us, void *arg)
{
	struct daemon *d = arg;
	metric_histogram_observe(!strcmp(name, "media") ? d->m_lag_media
							: d->m_lag_web,
				 (double)lag_us / 1e6);
}

static int64_t sample_queue(void *arg)
{
	return (int64_t)wpool_depth(arg);
}

static int64_t sample_rec_dropped(void *arg)
{
	return (int64_t)rec_writer_dropped(arg);
}

static int64_t sample_rec_failed(void *arg)
{
	return (int64_t)rec_writer_failed(arg);
}

static int64_t sample_rejected(void *arg)
{
	return (int64_t)wpool_rejected(arg);
}

/* ---------- serve ---------- */

static void to_sipep_cfg(const struct vg_config *c, struct sipep_cfg *s)
{
	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < c->sip.nlisten && i < 8; i++) {
		s->listen[i].transport =
			c->sip.listen[i].transport == CONFIG_TRANSPORT_TCP
				? SIPEP_TCP
				: SIPEP_UDP;
		snprintf(s->listen[i].host, sizeof(s->listen[i].host), "%s",
			 c->sip.listen[i].addr.host);
		s->listen[i].port = c->sip.listen[i].addr.port;
		s->nlisten++;
	}
	s->user_agent = c->sip.user_agent;
	s->answer_delay_ms = c->sip.answer_delay_ms;
	snprintf(s->rtp_addr, sizeof(s->rtp_addr), "%s", c->rtp.address);
	s->rtp_port_min = c->rtp.port_min;
	s->rtp_port_max = c->rtp.port_max;
	for (unsigned i = 0; i < c->rtp.ncodecs && i < 2; i++)
		s->sdp.codecs[s->sdp.ncodecs++] =
			c->rtp.codecs[i] == CONFIG_CODEC_PCMA ? SDPNEG_PCMA
							      : SDPNEG_PCMU;
	s->sdp.te_pt = c->rtp.telephone_event_pt;
	s->jitter_min_ms = c->rtp.jitter_min_ms;
	s->jitter_max_ms = c->rtp.jitter_max_ms;
	s->media_timeout_ms = c->rtp.media_timeout_ms;
	s->rtcp = c->rtp.rtcp_interval_ms != 0;
	s->max_calls = c->limits.max_calls;
	s->retry_after_s = (c->shutdown.retry_after_ms + 999) / 1000;
}

static int serve(struct daemon *d)
{
	sigset_t sigs;
	int err = setup_signals(d, &sigs);
	if (err) {
		LOGE(NULL, "signals", "err=%d", err);
		return 1;
	}
	raise_nofile();
	d->start_ms = clock_mono_ms();
	err = libre_init();
	if (err) {
		LOGE(NULL, "libre_init", "err=%d", err);
		return 1;
	}
	dbg_init(DBG_INFO, DBG_NONE);
	dbg_handler_set(libre_dbg, NULL);
	d->m_started = metrics_counter("voxgate_calls_started_total", NULL,
				       "Calls accepted");
	d->m_lag_media = metrics_histogram(
		"voxgate_loop_lag_seconds", "loop=\"media\"",
		"How late a loop's 100 ms timer fired", NULL, 0);
	d->m_lag_web = metrics_histogram("voxgate_loop_lag_seconds",
					 "loop=\"web\"", NULL, NULL, 0);

	int rc = 1;
	unsigned interrupted = 0; /* logged by the store */
	err = store_open(&d->store, d->cfg.store.path, &interrupted);
	if (err) {
		LOGE(NULL, "store_open_failed", "path=%s err=%d",
		     log_esc(d->cfg.store.path), err);
		goto out;
	}
	if (d->cfg.store.crm_demo) {
		/* A demo convenience: the daemon runs without it. */
		err = store_crm_seed_demo(d->store);
		if (err)
			LOGE(NULL, "crm_seed_failed", "err=%d", err);
	}
	const char *models_dir = d->cfg.nlu.models_dir[0]
					 ? d->cfg.nlu.models_dir
					 : nlu_registry_builtin_dir();
	err = nlu_registry_create(&d->nlu, models_dir[0] ? models_dir : ".");
	if (err) {
		LOGE(NULL, "nlu_registry_failed", "dir=%s err=%d",
		     log_esc(models_dir), err);
		goto out;
	}

	err = load_flows(&d->cfg, &d->flows, false);
	if (err)
		goto out;
	resolve_flow_models(d->nlu, d->flows);
	load_connect_models(d);

	err = wpool_create(&d->pool, d->cfg.limits.worker_threads,
			   d->cfg.limits.worker_queue);
	if (err)
		goto out;
	metrics_gauge_fn("voxgate_worker_queue_depth", NULL,
			 "Jobs waiting for a worker thread", sample_queue,
			 d->pool);
	metrics_counter_fn("voxgate_worker_queue_rejected_total", NULL,
			   "Jobs refused because the worker queue was full",
			   sample_rejected, d->pool);

	struct tts_cfg tcfg = {
		.default_voice = voice_name(d->cfg.tts.voice),
		.cache_max_bytes = d->cfg.tts.cache_size_bytes,
		.cache_dir =
			d->cfg.tts.cache_dir[0] ? d->cfg.tts.cache_dir : NULL,
	};
	err = tts_create(&d->tts, d->pool, &tcfg);
	if (err) {
		LOGE(NULL, "tts_create_failed", "err=%d", err);
		goto out;
	}
	presynth_flows(d, d->flows);
	start_stt(d);
	prepare_flows(d->stt, d->flows);

	err = loop_attach(&d->media, "media");
	if (!err)
		err = loop_create(&d->web, "web");
	if (err)
		goto out;
	loop_set_lag_fn(d->media, on_lag, d);
	loop_set_lag_fn(d->web, on_lag, d);
	err = loop_start(d->web);
	if (!err)
		err = run_on_web(d, web_start);
	if (err) {
		LOGE(NULL, "http_listen_failed", "err=%d", err);
		goto out;
	}

	d->backend = (struct flow_backend){
		.http = backend_http,
		.lookup = backend_lookup,
		.event = backend_event,
		.wants_event = backend_wants_event,
		.find_flow = backend_find_flow,
		.find_model = backend_find_model,
		.ctx = d,
	};
	for (unsigned i = 0; i < d->cfg.transfer.nqueues; i++)
		d->queues[i] = (struct flow_queue){
			.name = d->cfg.transfer.queues[i].name,
			.uri = d->cfg.transfer.queues[i].uri,
		};
	if (d->cfg.recordings.dir[0]) {
		err = rec_writer_create(&d->recw, d->cfg.recordings.dir, 0);
		if (err) {
			LOGE(NULL, "recordings_dir_failed", "dir=%s err=%d",
			     log_esc(d->cfg.recordings.dir), err);
			goto out;
		}
		metrics_gauge_fn("voxgate_recording_chunks_dropped", NULL,
				 "Recording chunks written as silence because "
				 "the disk fell behind",
				 sample_rec_dropped, d->recw);
		metrics_gauge_fn("voxgate_recording_files_failed", NULL,
				 "Recordings that could not be written",
				 sample_rec_failed, d->recw);
	}

	struct sipep_cfg scfg;
	to_sipep_cfg(&d->cfg, &scfg);
	struct sipep_handlers h = {
		.call_new = on_call_new,
		.call_state = on_call_state,
		.call_gone = on_call_gone,
	};
	err = sipep_create(&d->ep, &scfg, &h, d);
	if (err) {
		LOGE(NULL, "sip_start_failed", "err=%d", err);
		goto out;
	}
	if (d->cfg.asterisk.audiosocket_enabled) {
		struct audiosocket_cfg acfg = {
			.port = d->cfg.asterisk.audiosocket_listen.port,
			.max_calls = d->cfg.limits.max_calls,
		};
		snprintf(acfg.host, sizeof(acfg.host), "%s",
			 d->cfg.asterisk.audiosocket_listen.host);
		struct audiosocket_handlers ah = {
			.call_new = on_call_new,
			.call_state = on_call_state,
			.call_gone = on_call_gone,
		};
		err = audiosocket_create(&d->as, &acfg, &ah, d);
		if (err) {
			LOGE(NULL, "audiosocket_start_failed",
			     "addr=%s:%u err=%d", acfg.host, acfg.port, err);
			goto out;
		}
	}
	if (d->cfg.asterisk.agi_enabled) {
		struct fastagi_cfg fcfg = {
			.port = d->cfg.asterisk.agi_listen.port,
			.max_sessions = d->cfg.limits.max_calls,
			.pool = d->pool,
			.loop = d->media,
		};
		snprintf(fcfg.host, sizeof(fcfg.host), "%s",
			 d->cfg.asterisk.agi_listen.host);
		snprintf(fcfg.sip_dial_fmt, sizeof(fcfg.sip_dial_fmt), "%s",
			 d->cfg.asterisk.dial_sip);
		snprintf(fcfg.tel_dial_fmt, sizeof(fcfg.tel_dial_fmt), "%s",
			 d->cfg.asterisk.dial_tel);
		snprintf(fcfg.queue_app, sizeof(fcfg.queue_app), "%s",
			 d->cfg.asterisk.queue_app);
		if (snprintf(fcfg.sounds_dir, sizeof(fcfg.sounds_dir), "%s",
			     d->cfg.asterisk.sounds_dir) >=
		    (int)sizeof(fcfg.sounds_dir)) {
			LOGE(NULL, "fastagi_start_failed",
			     "sounds_dir longer than %zu bytes",
			     sizeof(fcfg.sounds_dir) - 1);
			goto out;
		}
		const struct fastagi_handlers fh = {
			.session_new = on_agi_new,
			.session_gone = on_agi_gone,
		};
		err = fastagi_create(&d->agi, &fcfg, &fh, d);
		if (err) {
			LOGE(NULL, "fastagi_start_failed", "addr=%s:%u err=%d",
			     fcfg.host, fcfg.port, err);
			goto out;
		}
	}
	if (d->cfg.twilio.media_enabled) {
		struct mstream_cfg mcfg = {
			.port = d->cfg.twilio.media_listen.port,
			.max_calls = d->cfg.limits.max_calls,
		};
		snprintf(mcfg.host, sizeof(mcfg.host), "%s",
			 d->cfg.twilio.media_listen.host);
		snprintf(mcfg.auth_token, sizeof(mcfg.auth_token), "%s",
			 d->cfg.twilio.auth_token);
		snprintf(mcfg.public_url, sizeof(mcfg.public_url), "%s",
			 d->cfg.twilio.public_url);
		struct mstream_handlers mh = {
			.call_new = on_call_new,
			.call_state = on_call_state,
			.call_gone = on_call_gone,
		};
		err = mstream_create(&d->mstream, &mcfg, &mh, d);
		explicit_bzero(mcfg.auth_token, sizeof(mcfg.auth_token));
		if (err) {
			LOGE(NULL, "twilio_media_start_failed",
			     "addr=%s:%u err=%d", mcfg.host, mcfg.port, err);
			goto out;
		}
	}
	if (d->cfg.genesys.enabled) {
		err = start_audiohook(d);
		if (err)
			goto out;
	}
	err = fd_listen(d->sigfd, FD_READ, on_signal_fd, d);
	if (err)
		goto out;
	set_media_priority(d->cfg.limits.media_rt_priority);
	tmr_init(&d->drain_tmr);

	LOGI(NULL, "ready",
	     "version=%s sip=%s:%u http=%s:%u flows_default=%s max_calls=%u",
	     VOXGATE_VERSION, d->cfg.sip.listen[0].addr.host,
	     d->cfg.sip.listen[0].addr.port, d->cfg.http.listen.host,
	     d->cfg.http.listen.port, d->cfg.flows.default_flow,
	     d->cfg.limits.max_calls);
	loop_run(d->media);
	rc = 0;

out:
	if (d->sigfd >= 0)
		fd_close(d->sigfd);
	tmr_cancel(&d->drain_tmr);
	fastagi_destroy(d->agi);
	d->agi = NULL;
	mstream_destroy(d->mstream);
	d->mstream = NULL;
	/* The bot first (it unregisters from the server, which is still
	 * there); then the server closes every session through the hooks. */
	acbot_destroy(d->acbot);
	d->acbot = NULL;
	/* Closes every session through the hooks (monitor, bot) first. */
	audiohook_destroy(d->audiohook);
	d->audiohook = NULL;
	ahmonitor_destroy(d->ahmon);
	d->ahmon = NULL;
	ahknow_destroy(d->ahknow);
	d->ahknow = NULL;
	audiosocket_destroy(d->as);
	d->as = NULL;
	sipep_destroy(d->ep);
	d->ep = NULL;
	if (d->web) {
		if (d->api)
			run_on_web(d, web_stop);
		loop_destroy(d->web);
	}
	/* Every call (and its recording) is gone, and /metrics (which samples
	 * the writer) with the web loop: write out and close. */
	rec_writer_destroy(d->recw);
	d->recw = NULL;
	wpool_destroy(d->pool);
	d->pool = NULL;
	/* Cancelled jobs complete on their owner loop: run the media loop
	 * once more so those completions are delivered, not leaked. */
	if (d->media && loop_post(d->media, cancel_loop, NULL) == 0)
		loop_run(d->media);
	tts_destroy(d->tts);
	stt_destroy(d->stt);
	flow_set_destroy(d->flows);
	/* After the flows: their classify nodes borrow its models. */
	nlu_registry_destroy(d->nlu);
	store_close(d->store);
	loop_destroy(d->media);
	config_free(&d->cfg);
	libre_close();
	if (d->sigfd >= 0)
		close(d->sigfd);
	LOGI(NULL, "exit", "rc=%d", rc);
	return rc;
}

/* ---------- CLI ---------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: voxgate serve [-c voxgate.yaml] [--log-format kv|json] "
		"[--log-level L]\n"
		"       voxgate check-config -c voxgate.yaml\n"
		"       voxgate flow check FILE...\n"
		"       voxgate flow import --from connect|genesys|archy FILE "
		"[--values F] [--intents F] [--lenient] -o OUT\n"
		"       voxgate nlu train|eval|classify ... (voxgate nlu "
		"--help)\n"
		"       voxgate say \"text\" -o out.wav [--voice kal|slt] "
		"[--rate 8000|16000]\n"
		"       voxgate transcribe in.wav [--engine "
		"moonshine|pocketsphinx] [--grammar FILE | --lm-from FILE.tsv] "
		"[--json]\n"
		"       voxgate simulate SCENARIO.yaml [--api URL] [--calls N] "
		"[--concurrency C] [--rate R] [--duration S] [--json]\n"
		"                [--sweep LEVELS] [--html FILE]\n"
		"       voxgate --version | --help\n"
		"\n"
		"serve         answer calls (SIP on 127.0.0.1:5060 UDP+TCP, "
		"HTTP on 127.0.0.1:8080 by default)\n"
		"check-config  validate a config and its flows; print the "
		"effective config\n"
		"flow check    validate flow files (file:line:col errors)\n"
		"flow import   translate an Amazon Connect, Genesys or Archy "
		"flow to YAML\n"
		"\n"
		"Signals: SIGTERM/SIGINT drain (503 to new calls, hang up "
		"after "
		"shutdown.drain_timeout); SIGHUP reloads flows.\n");
}

static int load_config(struct daemon *d, const char *path)
{
	struct config_errors errs;
	memset(&errs, 0, sizeof(errs));
	int err;
	if (path)
		err = config_load_file(path, &d->cfg, &errs);
	else
		err = config_load_buf("<defaults>", "", 0, &d->cfg, &errs);
	if (err) {
		config_errors_print(&errs, stderr);
		return err;
	}
	return 0;
}

static int cmd_flow_check(int argc, char **argv)
{
	int bad = 0;
	struct flow **flows = calloc((size_t)argc, sizeof(*flows));
	size_t n = 0;
	if (!flows)
		return 1;
	for (int i = 0; i < argc; i++) {
		struct flow_errors errs;
		memset(&errs, 0, sizeof(errs));
		struct flow *f = NULL;
		/* Connect/Genesys/Archy files are imported, as the daemon
		 * does. */
		if (flow_import_load_file(argv[i], &f, &errs)) {
			flow_errors_print(&errs, stderr);
			bad++;
		} else {
			flows[n++] = f;
		}
	}
	/* Across the files given (and the built-ins): subflows must exist. */
	struct flow_errors errs;
	memset(&errs, 0, sizeof(errs));
	if (flow_check_subflows(flows, n, true, &errs)) {
		flow_errors_print(&errs, stderr);
		bad++;
	}
	for (size_t i = 0; i < n; i++) {
		const char *file = flow_file(flows[i]);
		size_t flen = strlen(file);
		bool failed = false;
		for (size_t j = 0; j < errs.count && !failed; j++)
			failed = !strncmp(errs.msg[j], file, flen) &&
				 errs.msg[j][flen] == ':';
		if (!failed)
			printf("%s: ok (flow '%s')\n", file,
			       flow_name(flows[i]));
		flow_deref(flows[i]);
	}
	free(flows);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct daemon d;
	memset(&d, 0, sizeof(d));
	d.sigfd = -1;
	pthread_rwlock_init(&d.flows_lock, NULL);

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("voxgate %s\n", VOXGATE_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") ||
	    !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "nlu"))
		return nlu_cli_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "say"))
		return tts_cli_say(argc - 1, argv + 1);
	if (!strcmp(cmd, "transcribe"))
		return stt_cli_transcribe(argc - 1, argv + 1);
	if (!strcmp(cmd, "simulate"))
		return sim_cli_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "flow")) {
		if (argc >= 3 && !strcmp(argv[2], "import"))
			return flow_import_cli(argc - 2, argv + 2);
		if (argc < 4 || strcmp(argv[2], "check")) {
			usage(stderr);
			return 2;
		}
		return cmd_flow_check(argc - 3, argv + 3);
	}
	if (strcmp(cmd, "serve") && strcmp(cmd, "check-config")) {
		fprintf(stderr, "voxgate: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}

	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "log-format", required_argument, NULL, 'F' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL, *logfmt = NULL, *loglvl = NULL;
	int o;
	optind = 2;
	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			path = optarg;
			break;
		case 'F':
			logfmt = optarg;
			break;
		case 'L':
			loglvl = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "voxgate: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}

	if (!strcmp(cmd, "check-config")) {
		if (!path) {
			fprintf(stderr, "voxgate check-config: -c FILE is "
					"required\n");
			return 2;
		}
		if (load_config(&d, path))
			return 1;
		struct flow_set *set = NULL;
		int err = load_flows(&d.cfg, &set, false);
		if (err) {
			config_free(&d.cfg);
			return 1;
		}
		flow_set_destroy(set);
		config_print(&d.cfg, stdout);
		fprintf(stderr, "%s: ok\n", path);
		config_free(&d.cfg);
		return 0;
	}

	if (load_config(&d, path))
		return 1;
	enum log_level lvl = d.cfg.log.level;
	enum log_format fmt = d.cfg.log.format;
	if (logfmt && log_format_parse(logfmt, &fmt)) {
		fprintf(stderr, "voxgate: --log-format must be kv or json\n");
		return 2;
	}
	if (loglvl && log_level_parse(loglvl, &lvl)) {
		fprintf(stderr, "voxgate: --log-level must be debug, info, "
				"warn or error\n");
		return 2;
	}
	log_setup(lvl, fmt, 2);
	return serve(&d);
}
