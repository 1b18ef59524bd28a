/* The flow executor: runs the actions of the flow runtime (flow/runtime.h)
 * on one channel. The runtime decides (nodes, retries, intents, variables);
 * this file speaks (TTS, cache or stream), plays, collects keys, listens
 * and transcribes, transfers, records, and reaches the daemon's back-ends,
 * then hands each outcome back as the action's result. Before the next
 * action runs the channel must be idle: an outcome known while a prompt or
 * collect is still out stops the channel and waits for their completions,
 * so the channel never sees a second request (-EBUSY). A speech turn may
 * be continued: when the caller speaks again just after its end, the reply
 * stops, the run is rolled back to before the turn's input and the joined
 * utterance answers the same step (docs/SPEECH.md "Continued turns"). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/clip.h"
#include "audio/stream.h"
#include "call/channel.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/strbuf.h"
#include "metrics/metrics.h"
#include "engines/stt/stt.h"
#include "engines/tts/tts.h"
#include "flow/model.h"
#include "flow/runtime.h"

#define PROMPT_QUEUE_MAX FLOW_ACT_PROMPTS_MAX
#define EVENT_JSON_MAX 8192

enum phase {
	PH_NEW,	      /* not started */
	PH_PROMPT,    /* SAY / PLAY: playing */
	PH_GATHER,    /* prompting and collecting (digits and/or speech) */
	PH_RECOGNIZE, /* a gather's speech is being transcribed */
	PH_TRANSFER,  /* waiting for TRANSFER_DONE */
	PH_BACKEND,   /* an http/lookup request is out */
	PH_ENDING,    /* asked the channel to hang up */
	PH_DONE,
};

enum spoke { SPOKE, SPEAK_WAIT, SPEAK_FAILED };

struct prompt_req {
	const char *name;
	const char *text;
	const char *voice;
	struct audio_clip *clip; /* PLAY: the flow's clip (borrowed) */
};

/* How the caller's last turn went, for the turn record (on_turn). */
struct turn_timing {
	const char *end; /* static */
	char engine[32];
	float stt_conf;
	bool barged;
	uint32_t speech_ms;
	uint64_t speech_end_us, stt_final_us;
	bool stt_early;	   /* answered by the decode started in a pause */
	bool stt_streamed; /* answered by the stream fed while they spoke */
	bool continues;	   /* a continued turn (joined with the last) */
};

/* A speech turn the caller may still continue: the run as it was before
 * the turn's input (flow_run_save), and the gather it answered, kept from
 * the turn's LISTEN_DONE until something since cannot be undone. */
struct cont {
	char *snap; /* NULL: nothing to roll back to */
	size_t len;
	struct flow_action act; /* the gather; hints point at ours */
	char *hints;
	bool watching; /* the channel watches this turn (continue_ms) */
	bool stepped;  /* the runtime has the turn's input: roll back */
	bool joining;  /* accepted: listen with resume once idle */
	bool joined;   /* that listen is out: its turn continues */
};

struct flow_session {
	struct flow *flow;
	struct channel *ch;
	struct flow_env env;
	struct flow_run *run;
	enum phase phase;
	struct flow_action act; /* the action being executed */
	int last_err;		/* of the current SAY/PLAY's prompts */

	struct prompt_req q[PROMPT_QUEUE_MAX];
	unsigned qlen, qpos;
	uint64_t requested_us; /* when the current prompt was asked for */
	bool barge_in;	       /* current prompts may be interrupted */
	bool interrupted;      /* a SAY/PLAY was cut short */
	bool collect_wanted;   /* gather: start collect with the first prompt */
	bool listen_wanted;    /* gather: start listen with the first prompt */

	/* Requests outstanding on the channel. */
	bool play_out, collect_out, listen_out, transfer_out, stop_sent;

	/* Speech being recognized (PH_RECOGNIZE); the job is freed by
	 * on_stt or, when cancelled, by destroy. */
	struct stt_job *stt_job;
	struct stt_req *stt_req;
	/* The early decode of the caller's last pause (CHANNEL_EV_SPEECH_PAUSE)
	 * during a gather: early_req is set while it runs; the job holds its
	 * result once done, until LISTEN_DONE adopts it or anything else drops
	 * it (early_drop). */
	struct stt_job *early_job;
	struct stt_req *early_req;
	/* Streaming recognition (env.stt_stream): decided per listen
	 * (stream_audio asked of the channel), started at speech start, fed
	 * the channel's SPEECH_AUDIO batches (stream_fed samples so far). At
	 * LISTEN_DONE it is ended and becomes the turn's request (stt_stream,
	 * job stt_job); anything else drops it (stream_drop). */
	bool stream_wanted;   /* this listen streams */
	bool stream_native;   /* its first engine streams: no early decode */
	bool stream_partials; /* someone wants "partial" events */
	unsigned listen_continue_ms; /* asked of the channel for this listen */
	bool stream_heard;	     /* the stream said a partial: it is live */
	struct stt_stream *stream;
	struct stt_job *stream_job;
	size_t stream_fed;
	struct stt_stream *stt_stream;

	/* The outcome of the current action, fed to the runtime once the
	 * channel is idle. The strings it points to are owned here. */
	bool res_ready;
	struct flow_result res;
	char res_digits[40];
	char *res_text;
	char *res_body;
	struct turn_timing tt;
	bool running; /* run() is on the stack: steps iterate, not recurse */

	/* TTS and back-end results are matched to what asked by gen. */
	unsigned gen;
	bool synth_wait;
	unsigned tts_inflight;
	unsigned backend_inflight;

	bool ended_sent; /* the "ended" event went out */

	struct cont cont;
	struct flow_run_env re; /* for a rollback's flow_run_restore */
	struct metric_counter *cont_joined, *cont_committed;

	/* Deferred free: destroy() during one of our own frames or with a job
	 * out only marks closing; the last frame or callback frees. */
	unsigned depth;
	bool closing;
};

struct synth_job {
	struct flow_session *s;
	unsigned gen;
};

struct backend_job {
	struct flow_session *s;
	unsigned gen;
};

/* One spoken turn on its way through STT. An early one (started in a
 * pause) keeps its result until the turn's end adopts it. */
struct stt_job {
	struct flow_session *s;
	unsigned gen;
	enum channel_listen_end end;
	bool barged;
	uint32_t speech_ms;
	uint64_t speech_end_us;

	bool early;	/* started on CHANNEL_EV_SPEECH_PAUSE */
	bool streamed;	/* a streaming request (started at speech start) */
	bool live;	/* and its engine streamed: it said a partial while
			   the caller spoke (else it decodes the end clip) */
	bool adopted;	/* an early job that now answers the turn */
	bool continues; /* the turn of a listen with resume */
	bool done;	/* an early job's result is in (err, text, ...) */
	unsigned seq;	/* the pause's */
	int err;
	float confidence;
	const char *engine; /* static (the engine's ops->name) */
	char text[STT_TEXT_MAX + 1];
};

static void early_drop(struct flow_session *s);
static void stream_drop(struct flow_session *s);
static void stream_decide(struct flow_session *s, struct channel_listen *l);
static void cont_commit(struct flow_session *s);

static void run(struct flow_session *s);
static void speak_next(struct flow_session *s);

static const char *call_id(const struct flow_session *s)
{
	return s->ch ? s->ch->id : NULL;
}

static const char *node_name(const struct flow_session *s)
{
	const char *n = flow_run_node(s->run);
	return n ? n : "-";
}

static void clear_result(struct flow_session *s)
{
	free(s->res_text);
	s->res_text = NULL;
	free(s->res_body);
	s->res_body = NULL;
	s->res_ready = false;
}

static void cont_clear(struct flow_session *s)
{
	free(s->cont.snap);
	free(s->cont.hints);
	memset(&s->cont, 0, sizeof(s->cont));
}

static void session_free(struct flow_session *s)
{
	clear_result(s);
	cont_clear(s);
	flow_run_destroy(s->run);
	flow_deref(s->flow);
	free(s);
}

static bool may_free(const struct flow_session *s)
{
	return !s->depth && s->closing && !s->tts_inflight &&
	       !s->backend_inflight;
}

static void enter_frame(struct flow_session *s)
{
	s->depth++;
}

static void leave_frame(struct flow_session *s)
{
	s->depth--;
	if (may_free(s))
		session_free(s);
}

static bool idle(const struct flow_session *s)
{
	return !s->play_out && !s->collect_out && !s->listen_out;
}

/* The outcome of the current action is known: it goes to the runtime as
 * soon as the channel is idle. */
static void finish(struct flow_session *s, const struct flow_result *res)
{
	early_drop(s);
	stream_drop(s);
	s->res = *res;
	s->res.now_ms = clock_wall_ms();
	s->res_ready = true;
	if (!idle(s) && !s->stop_sent) {
		s->stop_sent = true;
		channel_stop(s->ch);
	}
}

static void finish_simple(struct flow_session *s, enum flow_res_type t, int err)
{
	struct flow_result r = { .type = t, .err = err };
	finish(s, &r);
}

/* ---- webhook events ---- */

static void post_event(struct flow_session *s, const char *event,
		       struct strbuf *fields)
{
	const struct flow_backend *b = s->env.backend;
	if (b && b->event)
		b->event(b->ctx, event, call_id(s) ? call_id(s) : "",
			 strbuf_str(fields));
}

/* A value event_kv() writes as JSON true (compared by address). */
static const char ev_true[] = "true";

/* Fields: pairs of key, value (value NULL: JSON null, ev_true: true), then
 * NULL; a NULL key ends the list, so optional fields go last. */
static void event_kv(struct flow_session *s, const char *event, ...)
{
	const struct flow_backend *b = s->env.backend;
	if (!b || !b->event)
		return;
	struct strbuf sb;
	strbuf_init(&sb, EVENT_JSON_MAX);
	int err = strbuf_addstr(&sb, "{");
	va_list ap;
	va_start(ap, event);
	bool first = true;
	for (const char *k; !err && (k = va_arg(ap, const char *));) {
		const char *v = va_arg(ap, const char *);
		err = strbuf_addstr(&sb, first ? "" : ",");
		first = false;
		if (!err)
			err = strbuf_add_json_str(&sb, k);
		if (!err)
			err = strbuf_addstr(&sb, ":");
		if (!err)
			err = v == ev_true ? strbuf_addstr(&sb, "true")
			      : v	   ? strbuf_add_json_str(&sb, v)
					   : strbuf_addstr(&sb, "null");
	}
	va_end(ap);
	if (!err)
		err = strbuf_addstr(&sb, "}");
	if (!err)
		post_event(s, event, &sb);
	else
		LOGW(call_id(s), "flow_event_dropped", "event=%s err=%d", event,
		     err);
	strbuf_fini(&sb);
}

static void event_ended(struct flow_session *s, const char *reason)
{
	if (s->ended_sent || s->phase == PH_NEW)
		return;
	s->ended_sent = true;
	event_kv(s, "ended", "reason", reason ? reason : "hangup", "node",
		 flow_run_node(s->run), "flow", flow_run_flow(s->run), NULL);
}

/* ---- runtime callbacks ---- */

static void on_node(void *arg, const char *flow, const char *node)
{
	struct flow_session *s = arg;
	LOGD(call_id(s), "flow_node", "flow=%s node=%s", flow, node);
	if (!flow || !strcmp(flow, flow_name(s->flow))) {
		channel_note_node(s->ch, node);
		return;
	}
	/* A subflow's node: "subflow/node" in the call's path. */
	char buf[256];
	snprintf(buf, sizeof(buf), "%s/%s", flow, node);
	channel_note_node(s->ch, buf);
}

static void on_turn(void *arg, const struct flow_turn_info *t)
{
	struct flow_session *s = arg;
	uint64_t now = clock_mono_us();
	bool speech = t->input && !strcmp(t->input, "speech");
	struct channel_turn ct = {
		.node = t->node,
		.input = t->input ? t->input : "none",
		.end = s->tt.end ? s->tt.end : "none",
		.transcript =
			speech ? (t->transcript ? t->transcript : "") : NULL,
		.stt_engine = speech ? s->tt.engine : NULL,
		.stt_confidence = s->tt.stt_conf,
		.intent = t->intent,
		.intent_confidence = t->intent_confidence,
		.match = t->match ? t->match : "none",
		.next = t->next,
		.barge_in = s->tt.barged,
		.speech_ms = s->tt.speech_ms,
		.speech_end_us =
			s->tt.speech_end_us ? s->tt.speech_end_us : now,
		.stt_final_us = s->tt.stt_final_us,
		.stt_early = speech && s->tt.stt_early,
		.stt_streamed = speech && s->tt.stt_streamed,
		.continues = speech && s->tt.continues,
		.nlu_done_us = t->intent ? now : 0,
		.response_us = now,
	};
	channel_note_turn(s->ch, &ct);
	LOGI(call_id(s), "flow_turn",
	     "node=%s input=%s text=\"%s\" intent=%s conf=%.3f match=%s "
	     "next=%s",
	     t->node ? t->node : "-", ct.input,
	     log_esc(t->transcript ? t->transcript : ""),
	     t->intent ? t->intent : "-", (double)t->intent_confidence,
	     ct.match, t->next ? t->next : "-");
	if (t->intent) {
		char conf[16];
		snprintf(conf, sizeof(conf), "%.3f",
			 (double)t->intent_confidence);
		event_kv(s, "intent", "node", t->node, "intent", t->intent,
			 "confidence", conf, "match", ct.match, "transcript",
			 t->transcript, "next", t->next,
			 ct.continues ? "continues" : NULL, ev_true, NULL);
	}
}

static struct flow *find_flow(void *arg, const char *name)
{
	struct flow_session *s = arg;
	const struct flow_backend *b = s->env.backend;
	return b && b->find_flow ? b->find_flow(b->ctx, name) : NULL;
}

static struct nlu_model *find_model(void *arg, const char *name)
{
	struct flow_session *s = arg;
	const struct flow_backend *b = s->env.backend;
	return b && b->find_model ? b->find_model(b->ctx, name) : NULL;
}

/* ---- prompts ---- */

static bool hears_speech(const struct flow_session *s)
{
	unsigned caps = s->ch->ops->caps;
	if (caps & CHANNEL_CAP_STT)
		return true;
	return (caps & CHANNEL_CAP_SPEECH) && s->env.stt;
}

static const char *voice_or_default(const struct flow_session *s, const char *v)
{
	return v ? v : s->env.default_voice;
}

static void start_collect(struct flow_session *s)
{
	const struct flow_action *a = &s->act;
	struct channel_collect c = {
		.max_digits = a->gather.max_digits ? a->gather.max_digits : 1,
		.terminators = a->gather.terminator,
		.first_timeout_ms = a->gather.timeout_ms,
		.interdigit_timeout_ms = a->gather.interdigit_ms,
	};
	s->collect_wanted = false;
	int err = channel_collect(s->ch, &c);
	if (err) {
		log_event(err == -ENOTCONN ? LOG_LVL_DEBUG : LOG_LVL_ERROR,
			  call_id(s), "flow_collect_failed", "node=%s err=%d",
			  node_name(s), err);
		struct flow_result r = { .type = FLOW_RES_INPUT, .err = err };
		r.input.kind = FLOW_IN_ERROR;
		s->tt = (struct turn_timing){ .end = "error" };
		finish(s, &r);
		return;
	}
	s->collect_out = true;
}

/* The continuation window of the current gather (0: off). */
static unsigned continue_window(const struct flow_session *s)
{
	const struct flow_action *a = &s->act;
	if (!(s->ch->ops->caps & CHANNEL_CAP_SPEECH) || !s->env.stt)
		return 0;
	return a->gather.continue_set ? a->gather.continue_ms
				      : s->env.continue_ms;
}

/* resume: continue the caller's last utterance (a continued turn: no
 * no-input timer, no collect running, so keys do not end it). */
static void start_listen(struct flow_session *s, bool resume)
{
	const struct flow_action *a = &s->act;
	bool dtmf = (a->gather.input & FLOW_ACT_IN_DTMF) != 0;
	struct channel_listen l = {
		/* A hybrid step leaves the no-input timeout to the collect. */
		.no_input_ms = dtmf || resume ? 0 : a->gather.timeout_ms,
		.trailing_silence_ms = a->gather.end_silence_ms,
		.max_speech_ms = a->gather.max_speech_ms,
		.dtmf_ends = dtmf && !resume,
		.hints = a->gather.hints,
		.early_ms = stt_early_ms(s->env.stt),
		.continue_ms = continue_window(s),
		.resume = resume,
	};
	stream_decide(s, &l);
	s->listen_continue_ms = l.continue_ms;
	s->listen_wanted = false;
	int err = channel_listen(s->ch, &l);
	if (err == -ENOENT && resume) {
		/* The channel dropped the utterance: what the caller says now
		 * is a turn of its own. */
		LOGW(call_id(s), "flow_continue_lost", "node=%s", node_name(s));
		s->cont.joined = false;
		l.resume = false;
		l.no_input_ms = dtmf ? 0 : a->gather.timeout_ms;
		err = channel_listen(s->ch, &l);
	}
	if (err) {
		dtmf = dtmf && !resume;
		/* Digits may still answer a hybrid step; a speech-only one
		 * cannot go on. */
		log_event(err == -ENOTCONN ? LOG_LVL_DEBUG : LOG_LVL_ERROR,
			  call_id(s), "flow_listen_failed", "node=%s err=%d",
			  node_name(s), err);
		if (!dtmf) {
			struct flow_result r = { .type = FLOW_RES_INPUT,
						 .err = err };
			r.input.kind = FLOW_IN_ERROR;
			s->tt = (struct turn_timing){ .end = "error" };
			finish(s, &r);
		}
		return;
	}
	s->listen_out = true;
}

/* Start what a gather waits for (with its first prompt, or without one). */
static void start_inputs(struct flow_session *s)
{
	if (s->collect_wanted && !s->closing && !s->res_ready)
		start_collect(s);
	if (s->listen_wanted && !s->closing && !s->res_ready)
		start_listen(s, false);
}

static enum spoke play_audio(struct flow_session *s, const struct prompt_req *r,
			     struct audio_clip *clip,
			     struct audio_stream *stream)
{
	struct channel_prompt p = {
		.name = r->name,
		.text = r->text ? r->text : "",
		.voice = r->voice,
		.clip = clip,
		.stream = stream,
		.dtmf_barge_in = s->barge_in,
		.speech_barge_in = s->barge_in && s->listen_wanted,
		.requested_us = s->requested_us,
	};
	if (s->phase == PH_GATHER && s->listen_out)
		p.speech_barge_in = s->barge_in; /* a re-prompt's 2nd part */
	int err = channel_play(s->ch, &p);
	if (s->closing)
		return SPOKE;
	if (err) {
		/* -ENOTCONN: the caller hung up meanwhile, nothing to report */
		log_event(err == -ENOTCONN ? LOG_LVL_DEBUG : LOG_LVL_WARN,
			  call_id(s), "flow_prompt_failed",
			  "node=%s prompt=%s stage=play err=%d", node_name(s),
			  r->name, err);
		s->last_err = err;
		return SPEAK_FAILED;
	}
	s->play_out = true;
	start_inputs(s);
	return SPOKE;
}

static void on_synth(int err, struct audio_clip *clip, void *arg)
{
	struct synth_job *j = arg;
	struct flow_session *s = j->s;
	unsigned gen = j->gen;
	free(j);
	s->tts_inflight--;
	enter_frame(s);
	if (s->closing || gen != s->gen || !s->synth_wait)
		goto out; /* the session moved on; the clip stays cached */
	s->synth_wait = false;
	const struct prompt_req *r = &s->q[s->qpos - 1];
	if (err) {
		/* -ENOTCONN: the caller hung up meanwhile, nothing to report */
		log_event(err == -ENOTCONN ? LOG_LVL_DEBUG : LOG_LVL_WARN,
			  call_id(s), "flow_prompt_failed",
			  "node=%s prompt=%s stage=tts err=%d", node_name(s),
			  r->name, err);
		s->last_err = err;
		speak_next(s);
	} else if (play_audio(s, r, clip, NULL) == SPEAK_FAILED) {
		speak_next(s);
	}
	if (!s->closing)
		run(s);
out:
	audio_clip_deref(clip);
	leave_frame(s);
}

/* Ask the channel to play r: at once from text, the flow's clip or a
 * cached clip, or after synthesis (SPEAK_WAIT; on_synth continues). */
static enum spoke speak(struct flow_session *s, const struct prompt_req *r)
{
	unsigned caps = s->ch->ops->caps;
	s->requested_us = clock_mono_us();
	s->gen++;
	if (r->clip && (caps & CHANNEL_CAP_AUDIO))
		return play_audio(s, r, r->clip, NULL);
	if (!(caps & CHANNEL_CAP_AUDIO)) {
		if ((caps & CHANNEL_CAP_TEXT) && r->text)
			return play_audio(s, r, NULL, NULL);
		LOGW(call_id(s), "flow_prompt_failed",
		     "node=%s prompt=%s stage=channel err=%d", node_name(s),
		     r->name, -ENOTSUP);
		s->last_err = -ENOTSUP;
		return SPEAK_FAILED;
	}
	if (!r->text) {
		/* A play node whose clip is missing on an audio channel. */
		s->last_err = -ENOENT;
		return SPEAK_FAILED;
	}
	int err = -ENOSYS;
	struct synth_job *j = NULL;
	if (s->env.tts) {
		struct audio_clip *clip =
			tts_cache_find(s->env.tts, r->voice, r->text);
		if (clip) {
			enum spoke rc = play_audio(s, r, clip, NULL);
			audio_clip_deref(clip);
			return rc;
		}
		if (caps & CHANNEL_CAP_STREAM) {
			/* Not cached: play while it is synthesized. */
			struct audio_stream *st = NULL;
			err = tts_synth_stream(s->env.tts, r->voice, r->text,
					       &st);
			if (!err) {
				enum spoke rc = play_audio(s, r, NULL, st);
				audio_stream_deref(st);
				return rc;
			}
			log_event(err == -EAGAIN ? LOG_LVL_WARN : LOG_LVL_DEBUG,
				  call_id(s), "flow_prompt_stream_failed",
				  "node=%s prompt=%s err=%d", node_name(s),
				  r->name, err);
		}
		j = malloc(sizeof(*j));
		err = j ? 0 : -ENOMEM;
	}
	if (!err) {
		j->s = s;
		j->gen = s->gen;
		err = tts_synth(s->env.tts, r->voice, r->text, s->env.loop,
				on_synth, j);
	}
	if (err) {
		/* -EAGAIN (pool full) included: skip the prompt rather than
		 * let the caller wait in silence. */
		free(j);
		log_event(err == -ENOTCONN ? LOG_LVL_DEBUG : LOG_LVL_WARN,
			  call_id(s), "flow_prompt_failed",
			  "node=%s prompt=%s stage=tts err=%d", node_name(s),
			  r->name, err);
		s->last_err = err;
		return SPEAK_FAILED;
	}
	s->tts_inflight++;
	s->synth_wait = true;
	return SPEAK_WAIT;
}

/* Play the next queued prompt; when none is left, the action goes on. */
static void speak_next(struct flow_session *s)
{
	while (s->qpos < s->qlen && !s->closing) {
		enum spoke rc = speak(s, &s->q[s->qpos++]);
		if (rc != SPEAK_FAILED)
			return;
	}
	if (s->closing || s->res_ready)
		return;
	if (s->phase == PH_PROMPT) {
		struct flow_result r = { .type = FLOW_RES_PLAYED,
					 .err = s->interrupted ? 0
							       : s->last_err };
		r.played.interrupted = s->interrupted;
		finish(s, &r);
	} else if (s->phase == PH_GATHER) {
		start_inputs(s); /* no prompt could play: still listen */
	}
}

static void queue_prompt(struct flow_session *s, const char *name,
			 const char *text, const char *voice,
			 struct audio_clip *clip)
{
	if ((text || clip) && s->qlen < PROMPT_QUEUE_MAX) {
		s->q[s->qlen] = (struct prompt_req){
			.name = name ? name : node_name(s),
			.text = text,
			.voice = voice_or_default(s, voice),
			.clip = clip,
		};
		s->qlen++;
	}
}

/* ---- actions ---- */

static void exec_prompt(struct flow_session *s, const struct flow_action *a)
{
	s->phase = PH_PROMPT;
	s->interrupted = false;
	s->collect_wanted = s->listen_wanted = false;
	if (a->type == FLOW_ACT_SAY) {
		s->barge_in = a->say.barge_in;
		queue_prompt(s, a->say.name, a->say.text, a->say.voice, NULL);
	} else {
		s->barge_in = a->play.barge_in;
		queue_prompt(s, a->play.name, a->play.text, NULL, a->play.clip);
	}
	speak_next(s);
}

static void exec_gather(struct flow_session *s, const struct flow_action *a)
{
	s->phase = PH_GATHER;
	s->barge_in = a->gather.barge_in;
	for (unsigned i = 0; i < a->gather.nprompts && i < PROMPT_QUEUE_MAX;
	     i++)
		queue_prompt(s, a->gather.prompts[i].name,
			     a->gather.prompts[i].text,
			     a->gather.prompts[i].voice, NULL);
	s->collect_wanted = (a->gather.input & FLOW_ACT_IN_DTMF) != 0;
	s->listen_wanted =
		(a->gather.input & FLOW_ACT_IN_SPEECH) && hears_speech(s);
	if (!s->collect_wanted && !s->listen_wanted) {
		/* A speech-only step on a channel that cannot hear: nobody
		 * can answer it. */
		LOGE(call_id(s), "flow_gather_deaf", "node=%s", node_name(s));
		struct flow_result r = { .type = FLOW_RES_INPUT,
					 .err = -ENOTSUP };
		r.input.kind = FLOW_IN_ERROR;
		s->tt = (struct turn_timing){ .end = "error" };
		finish(s, &r);
		return;
	}
	speak_next(s);
}

/* Where a transfer goes: the agent URI, a queue's mapped URI, or the
 * target as the flow wrote it. */
static const char *transfer_target(const struct flow_session *s,
				   const struct flow_action *a)
{
	if (a->transfer.to_agent)
		return s->env.agent_uri;
	const char *uri = flow_queue_uri(s->env.queues, s->env.nqueues,
					 a->transfer.target);
	return uri ? uri : a->transfer.target;
}

static void exec_transfer(struct flow_session *s, const struct flow_action *a)
{
	const char *target = transfer_target(s, a);
	if (target && target != a->transfer.target && !a->transfer.to_agent)
		LOGI(call_id(s), "flow_transfer_queue",
		     "node=%s queue=%s uri=%s", node_name(s),
		     log_esc(a->transfer.target + 6), log_esc(target));
	struct channel_kv kv[FLOW_ACT_CONTEXT_MAX];
	unsigned n = 0;
	for (unsigned i = 0;
	     i < a->transfer.ncontext && i < FLOW_ACT_CONTEXT_MAX; i++) {
		kv[n].key = a->transfer.context_keys[i];
		kv[n].value = a->transfer.context_values[i];
		n++;
	}
	s->phase = PH_TRANSFER;
	int err = target && *target ? channel_transfer_ctx(s->ch, target, kv, n)
				    : -EDESTADDRREQ;
	if (s->closing)
		return;
	if (err) {
		LOGW(call_id(s), "flow_transfer_failed",
		     "node=%s target=%s err=%d", node_name(s),
		     log_esc(target ? target : ""), err);
		struct flow_result r = { .type = FLOW_RES_TRANSFERRED,
					 .err = err };
		finish(s, &r);
		return;
	}
	s->transfer_out = true;
}

static void exec_record(struct flow_session *s, const struct flow_action *a)
{
	static const enum channel_record_op ops[] = {
		[FLOW_REC_START] = CHANNEL_REC_START,
		[FLOW_REC_PAUSE] = CHANNEL_REC_PAUSE,
		[FLOW_REC_RESUME] = CHANNEL_REC_RESUME,
		[FLOW_REC_STOP] = CHANNEL_REC_STOP,
	};
	static const char *const names[] = { "start", "pause", "resume",
					     "stop" };
	int act = a->record.action;
	int err = -EINVAL;
	if (act >= FLOW_REC_START && act <= FLOW_REC_STOP)
		err = channel_record(s->ch, ops[act]);
	if (err)
		/* The flow goes on (the runtime logs it): a channel that
		 * cannot record is not an error of the call. */
		LOGD(call_id(s), "flow_record_channel",
		     "node=%s action=%s err=%d", node_name(s),
		     act >= FLOW_REC_START && act <= FLOW_REC_STOP ? names[act]
								   : "?",
		     err);
	finish_simple(s, FLOW_RES_RECORDED, err);
}

static void on_backend(const struct flow_result *res, void *arg)
{
	struct backend_job *j = arg;
	struct flow_session *s = j->s;
	unsigned gen = j->gen;
	free(j);
	s->backend_inflight--;
	enter_frame(s);
	if (!s->closing && gen == s->gen && s->phase == PH_BACKEND &&
	    !s->res_ready) {
		struct flow_result r = *res;
		/* Own the body: the runtime may see it after this call
		 * returns if the channel is not idle yet. */
		if (r.type == FLOW_RES_HTTP && r.http.body) {
			s->res_body = malloc(r.http.body_len + 1);
			if (s->res_body) {
				memcpy(s->res_body, r.http.body,
				       r.http.body_len);
				s->res_body[r.http.body_len] = '\0';
				r.http.body = s->res_body;
			} else {
				r.http.body = NULL;
				r.http.body_len = 0;
				r.err = r.err ? r.err : -ENOMEM;
			}
		} else if (r.type == FLOW_RES_LOOKUP && r.lookup.json) {
			s->res_body = malloc(r.lookup.json_len + 1);
			if (s->res_body) {
				memcpy(s->res_body, r.lookup.json,
				       r.lookup.json_len);
				s->res_body[r.lookup.json_len] = '\0';
				r.lookup.json = s->res_body;
			} else {
				r.lookup.json = NULL;
				r.lookup.json_len = 0;
				r.err = r.err ? r.err : -ENOMEM;
			}
		}
		finish(s, &r);
		run(s);
	}
	leave_frame(s);
}

static void exec_backend(struct flow_session *s, const struct flow_action *a)
{
	const struct flow_backend *b = s->env.backend;
	bool http = a->type == FLOW_ACT_HTTP;
	enum flow_res_type rt = http ? FLOW_RES_HTTP : FLOW_RES_LOOKUP;
	int (*fn)(void *, const struct flow_action *, struct vg_loop *,
		  flow_backend_done_fn *, void *) =
		b ? (http ? b->http : b->lookup) : NULL;
	s->phase = PH_BACKEND;
	if (!fn) {
		finish_simple(s, rt, -ENOTSUP);
		return;
	}
	struct backend_job *j = malloc(sizeof(*j));
	if (!j) {
		finish_simple(s, rt, -ENOMEM);
		return;
	}
	j->s = s;
	j->gen = ++s->gen;
	s->backend_inflight++;
	int err = fn(b->ctx, a, s->env.loop, on_backend, j);
	if (err) {
		s->backend_inflight--;
		free(j);
		LOGW(call_id(s),
		     http ? "flow_http_failed" : "flow_lookup_failed",
		     "node=%s err=%d", node_name(s), err);
		finish_simple(s, rt, err);
	}
}

static void do_hangup(struct flow_session *s, const char *reason)
{
	s->phase = PH_ENDING;
	s->gen++;
	if (channel_hangup(s->ch, reason ? reason : "completed")) {
		/* Already over: no HANGUP event will tell us. */
		finish_simple(s, FLOW_RES_HANGUP, 0);
	}
}

static void execute(struct flow_session *s, const struct flow_action *a)
{
	/* Prompts and the next gather's listen can be undone; the rest not. */
	if (a->type != FLOW_ACT_SAY && a->type != FLOW_ACT_PLAY &&
	    a->type != FLOW_ACT_GATHER)
		cont_commit(s);
	s->act = *a;
	s->gen++;
	s->synth_wait = false;
	s->qlen = s->qpos = 0;
	s->last_err = 0;
	s->collect_wanted = s->listen_wanted = false;
	switch (a->type) {
	case FLOW_ACT_SAY:
	case FLOW_ACT_PLAY:
		exec_prompt(s, a);
		break;
	case FLOW_ACT_GATHER:
		exec_gather(s, a);
		break;
	case FLOW_ACT_TRANSFER:
		exec_transfer(s, a);
		break;
	case FLOW_ACT_RECORD:
		exec_record(s, a);
		break;
	case FLOW_ACT_HTTP:
	case FLOW_ACT_LOOKUP:
		exec_backend(s, a);
		break;
	case FLOW_ACT_HANGUP:
		do_hangup(s, a->hangup.reason);
		break;
	case FLOW_ACT_END:
		s->phase = PH_DONE;
		break;
	}
}

/* Feed ready results to the runtime and execute what it asks next, while
 * the channel is idle. Iterative, so a chain of failing prompts or
 * synchronous actions cannot grow the stack. */
static void run(struct flow_session *s)
{
	if (s->running)
		return;
	s->running = true;
	while (!s->closing && s->phase != PH_DONE && s->res_ready && idle(s)) {
		struct flow_result res = s->res;
		s->stop_sent = false;
		/* The watched turn's input goes in: a continuation now rolls
		 * the run back. Any result after it but a prompt's commits. */
		if (s->cont.snap && !s->cont.stepped &&
		    res.type == FLOW_RES_INPUT)
			s->cont.stepped = true;
		else if (s->cont.stepped && res.type != FLOW_RES_PLAYED)
			cont_commit(s);
		struct flow_action act;
		int err = flow_run_step(s->run, &res, &act);
		clear_result(s);
		if (err) {
			/* A result the runtime did not expect: a bug here,
			 * not in the flow. End the call rather than hang. */
			LOGE(call_id(s), "flow_step_failed",
			     "node=%s type=%d err=%d", node_name(s), res.type,
			     err);
			act = (struct flow_action){ .type = FLOW_ACT_HANGUP };
			act.hangup.reason = "flow_error";
			if (res.type == FLOW_RES_HANGUP)
				act.type = FLOW_ACT_END;
		}
		execute(s, &act);
	}
	s->running = false;
}

/* ---- input ---- */

static const char *listen_end_name(enum channel_listen_end e)
{
	switch (e) {
	case LISTEN_SPEECH:
		return "speech";
	case LISTEN_MAX_SPEECH:
		return "max_speech";
	case LISTEN_NO_INPUT:
		return "no_input";
	case LISTEN_DTMF:
		return "dtmf";
	default:
		return "stopped";
	}
}

/* A transcript (from STT, or the platform's) answers the gather. */
static void input_speech(struct flow_session *s, const struct stt_job *j,
			 const char *text, const char *engine, float conf,
			 uint64_t stt_final_us, int err)
{
	s->tt = (struct turn_timing){
		.end = listen_end_name(j->end),
		.stt_conf = conf,
		.barged = j->barged,
		.speech_ms = j->speech_ms,
		.speech_end_us = j->speech_end_us,
		.stt_final_us = stt_final_us,
		.stt_early = j->early,
		.stt_streamed = j->live,
		.continues = j->continues,
	};
	snprintf(s->tt.engine, sizeof(s->tt.engine), "%s",
		 engine ? engine : "");
	struct flow_result r = { .type = FLOW_RES_INPUT, .err = err };
	if (err) {
		r.input.kind = FLOW_IN_ERROR;
	} else if (!text || !*text) {
		/* Heard nothing intelligible: as silence (v1). */
		r.input.kind = FLOW_IN_NO_INPUT;
	} else {
		s->res_text = strdup(text);
		if (!s->res_text) {
			r.err = -ENOMEM;
			r.input.kind = FLOW_IN_ERROR;
		} else {
			r.input.kind = FLOW_IN_SPEECH;
			r.input.transcript = s->res_text;
			r.input.stt_confidence = conf;
			r.input.stt_engine = s->tt.engine;
		}
	}
	s->phase = PH_GATHER;
	finish(s, &r);
}

static void on_stt(int err, const struct stt_result *res, void *arg)
{
	struct stt_job *j = arg;
	struct flow_session *s = j->s;
	uint64_t now = clock_mono_us();
	if (j->early && !j->adopted) {
		/* Kept until the end of the turn says whether it answers. */
		s->early_req = NULL;
		j->done = true;
		j->err = err;
		if (!err) {
			snprintf(j->text, sizeof(j->text), "%s",
				 res->grammar_phrase ? res->grammar_phrase
						     : res->text);
			j->confidence = res->confidence;
			j->engine = res->engine;
		}
		return;
	}
	s->stt_job = NULL;
	s->stt_req = NULL;
	s->stt_stream = NULL;
	enter_frame(s);
	if (!s->closing && j->gen == s->gen && s->phase == PH_RECOGNIZE) {
		if (err)
			LOGW(call_id(s), "flow_stt_failed", "node=%s err=%d",
			     node_name(s), err);
		const char *text = NULL;
		if (!err)
			/* A grammar step: the phrase matched is the answer. */
			text = res->grammar_phrase ? res->grammar_phrase
						   : res->text;
		input_speech(s, j, text, err ? NULL : res->engine,
			     err ? 0.0f : res->confidence, now, err);
		run(s);
	}
	free(j);
	leave_frame(s);
}

/* What the gather's speech is decoded with. */
static void listen_params(const struct flow_session *s, struct stt_params *p)
{
	const struct flow_action *a = &s->act;
	bool open = a->gather.stt_mode == STT_MODE_OPEN;
	*p = (struct stt_params){
		.mode = a->gather.stt_mode,
		.grammar = open ? NULL : a->gather.grammar,
		.lm = open ? a->gather.lm : NULL,
		.engines = a->gather.stt_engines,
		.call_id = call_id(s),
	};
}

/* The early decode is void (the caller spoke again, or the turn ended
 * otherwise): cancelled if it still runs, its result dropped if not. */
static void early_drop(struct flow_session *s)
{
	struct stt_job *j = s->early_job;
	if (!j)
		return;
	s->early_job = NULL;
	if (s->early_req) {
		/* Cancelled: on_stt will not run, so the job is ours. */
		stt_cancel(s->early_req);
		s->early_req = NULL;
	}
	stt_early_note(s->env.stt, STT_EARLY_DISCARDED);
	free(j);
}

/* The caller paused within speech: decode what was said so far, so the
 * transcript is (nearly) ready when the end of speech is confirmed. */
static void on_pause(struct flow_session *s, const struct channel_event *ev)
{
	if (!s->env.stt || !s->listen_out || !ev->pause.audio)
		return;
	early_drop(s); /* the previous pause: speech came after it */
	if (!stt_early_allowed(s->env.stt)) {
		stt_early_note(s->env.stt, STT_EARLY_SKIPPED);
		return;
	}
	struct stt_job *j = calloc(1, sizeof(*j));
	if (!j) {
		stt_early_note(s->env.stt, STT_EARLY_SKIPPED);
		return;
	}
	j->s = s;
	j->early = true;
	j->seq = ev->pause.seq;
	struct stt_params p;
	listen_params(s, &p);
	int err = stt_recognize(s->env.stt, ev->pause.audio, &p, s->env.loop,
				on_stt, j, &s->early_req);
	if (err) {
		LOGD(call_id(s), "flow_stt_early_skipped", "node=%s err=%d",
		     node_name(s), err);
		stt_early_note(s->env.stt, STT_EARLY_SKIPPED);
		free(j);
		return;
	}
	s->early_job = j;
}

/* The turn's end: the early decode answers it when no speech came after its
 * pause and it did not fail (a failed one gets a fresh decode of the whole
 * utterance). Returns the job that now answers the turn, or NULL. */
static struct stt_job *early_adopt(struct flow_session *s,
				   const struct channel_event *ev)
{
	struct stt_job *j = s->early_job;
	if (!j || !ev->listen.pause_seq || j->seq != ev->listen.pause_seq ||
	    (j->done && j->err)) {
		early_drop(s);
		return NULL;
	}
	s->early_job = NULL;
	j->adopted = true;
	stt_early_note(s->env.stt, STT_EARLY_USED);
	LOGD(call_id(s), "flow_stt_early_used", "node=%s done=%s", node_name(s),
	     j->done ? "true" : "false");
	return j;
}

/* ---- streaming recognition ---- */

/* At listen start: stream when streaming is on and either the first engine
 * streams (its final is then ready about when the end is confirmed) or
 * someone wants partial transcripts (the early decode still answers the
 * turn when it can; the stream gives the partials). Otherwise nothing is
 * streamed: no cost. The early decode is still asked for: a stream that
 * the engine could not take (no decoder free: the service then decodes
 * the end clip) says no partial, and then the caller's pause starts one
 * (on_pause). */
static void stream_decide(struct flow_session *s, struct channel_listen *l)
{
	s->stream_wanted = s->stream_native = s->stream_partials = false;
	if (!s->env.stt || !s->env.stt_stream ||
	    !(s->ch->ops->caps & CHANNEL_CAP_SPEECH))
		return;
	const struct flow_backend *b = s->env.backend;
	s->stream_partials = b && b->event && b->wants_event &&
			     b->wants_event(b->ctx, "partial");
	struct stt_params p;
	listen_params(s, &p);
	s->stream_native = stt_stream_native(s->env.stt, &p);
	s->stream_wanted = s->stream_native || s->stream_partials;
	l->stream_audio = s->stream_wanted;
}

/* The live stream is void (the turn ended without speech to decode, or
 * otherwise): cancelled, its job freed. */
static void stream_drop(struct flow_session *s)
{
	if (!s->stream)
		return;
	stt_stream_cancel(s->stream);
	s->stream = NULL;
	free(s->stream_job);
	s->stream_job = NULL;
	s->stream_fed = 0;
}

/* The turn's recognition (its request or stream) is void: cancelled, so
 * on_stt will not run and the job is ours to free. */
static void cancel_turn_stt(struct flow_session *s)
{
	if (!s->stt_req && !s->stt_stream)
		return;
	stt_cancel(s->stt_req);
	s->stt_req = NULL;
	stt_stream_cancel(s->stt_stream);
	s->stt_stream = NULL;
	free(s->stt_job);
	s->stt_job = NULL;
}

static void on_partial(const char *text, uint32_t audio_ms, void *arg)
{
	struct stt_job *j = arg;
	struct flow_session *s = j->s;
	if (s->closing || (j->gen && j->gen != s->gen))
		return; /* the turn is over (hangup): nothing to tell */
	s->stream_heard = true;
	if (!*text)
		return; /* an engine that streams may say "" at first */
	LOGD(call_id(s), "flow_partial", "node=%s audio_ms=%u text=\"%s\"",
	     node_name(s), audio_ms, log_esc(text));
	if (!s->stream_partials)
		return;
	char ms[16];
	snprintf(ms, sizeof(ms), "%u", audio_ms);
	event_kv(s, "partial", "node", node_name(s), "transcript", text,
		 "audio_ms", ms, NULL);
}

/* Speech start: the stream opens; the channel's SPEECH_AUDIO batches
 * follow. A stream that cannot start leaves the turn to the batch decode
 * at its end. */
static void on_speech_start(struct flow_session *s)
{
	if (!s->stream_wanted || !s->listen_out)
		return;
	stream_drop(s);
	struct stt_job *j = calloc(1, sizeof(*j));
	if (!j)
		return;
	j->s = s;
	j->streamed = true;
	struct stt_params p;
	listen_params(s, &p);
	int err = stt_stream_start(s->env.stt, &p, s->env.loop, on_partial,
				   on_stt, j, &s->stream);
	if (err) {
		LOGW(call_id(s), "flow_stt_stream_failed",
		     "node=%s stage=start err=%d", node_name(s), err);
		s->stream = NULL;
		free(j);
		return;
	}
	s->stream_job = j;
	s->stream_fed = 0;
	s->stream_heard = false;
}

static int stream_feed(struct flow_session *s, const int16_t *pcm, size_t n)
{
	int err = stt_stream_feed(s->stream, pcm, n);
	if (!err)
		s->stream_fed += n;
	else if (err != -E2BIG)
		LOGW(call_id(s), "flow_stt_stream_failed",
		     "node=%s stage=feed err=%d", node_name(s), err);
	return err;
}

/* A batch that follows the last one fed goes in; after a gap (a batch
 * lost, a feed that failed) the rest waits for the end clip. */
static void on_speech_audio(struct flow_session *s,
			    const struct channel_event *ev)
{
	const struct audio_clip *a = ev->audio.audio;
	if (!s->stream || !a || ev->audio.offset != s->stream_fed)
		return;
	stream_feed(s, a->samples, a->nsamples);
}

/* The turn's end: what the channel's batches missed is fed from the end
 * clip, then the stream is ended with it and answers the turn (job j's
 * fields are filled in by the caller). Returns the job, or NULL when there
 * is no stream or it cannot end (the batch decode takes over). */
static struct stt_job *stream_finish(struct flow_session *s,
				     struct audio_clip *clip)
{
	if (!s->stream)
		return NULL;
	int err = 0;
	if (clip->nsamples > s->stream_fed)
		err = stream_feed(s, clip->samples + s->stream_fed,
				  clip->nsamples - s->stream_fed);
	if (!err || err == -E2BIG)
		err = stt_stream_end(s->stream, clip);
	if (err) {
		LOGW(call_id(s), "flow_stt_stream_failed",
		     "node=%s stage=end err=%d", node_name(s), err);
		stream_drop(s);
		return NULL;
	}
	struct stt_job *j = s->stream_job;
	j->live = s->stream_native && s->stream_heard;
	s->stt_stream = s->stream;
	s->stream = NULL;
	s->stream_job = NULL;
	s->stream_fed = 0;
	return j;
}

/* ---- continued turns ----
 *
 * The channel watches the caller for continue_ms after a speech turn's end
 * (channel_listen.continue_ms) and raises CHANNEL_EV_SPEECH_RESUMED when
 * they speak again. Meanwhile the turn went on as any other: recognized,
 * given to the runtime, the reply playing and the next gather's listen
 * started. The continuation is taken while all that can be undone: the
 * run is restored from the snapshot taken before the turn's input, the
 * channel stopped, and a listen with resume hears the rest; its joined
 * utterance answers the same step. Anything else since (keys collected,
 * another turn's input, a back-end request, a transfer, a recording, a
 * hangup, the flow's end) commits the turn: the event is then ignored. */

#define SNAPSHOT_MAX (4u * 1024u * 1024u)

static void cont_count(struct flow_session *s, bool joined, uint32_t gap_ms)
{
	metric_counter_add(joined ? s->cont_joined : s->cont_committed, 1);
	LOGI(call_id(s), "flow_turn_continue",
	     "node=%s outcome=%s gap_ms=%u rollback=%s", node_name(s),
	     joined ? "joined" : "committed", gap_ms,
	     joined && s->cont.stepped ? "true" : "false");
}

/* Something since the watched turn cannot be undone. */
static void cont_commit(struct flow_session *s)
{
	if (!s->cont.snap)
		return;
	free(s->cont.snap);
	s->cont.snap = NULL;
	s->cont.len = 0;
}

/* A speech turn ended with the watch on: keep the run as it is now, before
 * the runtime gets the turn's input. Without a snapshot (out of memory)
 * the turn cannot be continued, only counted. */
static void cont_arm(struct flow_session *s)
{
	/* Our copy of the hints first: a continued turn's are the last
	 * snapshot's, which cont_clear() frees (NULL when out of memory:
	 * hints only help platform recognizers). */
	char *hints = s->act.gather.hints ? strdup(s->act.gather.hints) : NULL;
	s->act.gather.hints = hints;
	cont_clear(s);
	s->cont.watching = true;
	s->cont.hints = hints;
	struct strbuf sb;
	strbuf_init(&sb, SNAPSHOT_MAX);
	int err = flow_run_save(s->run, &sb);
	if (err || !sb.len) {
		LOGW(call_id(s), "flow_continue_unarmed", "node=%s err=%d",
		     node_name(s), err ? err : -ENOMEM);
		strbuf_fini(&sb);
		return;
	}
	s->cont.snap = sb.buf; /* taken over: NUL-terminated, sb.len long */
	s->cont.len = sb.len;
	s->cont.act = s->act;
	s->cont.act.gather.nprompts = 0; /* their strings are the run's */
}

/* The caller spoke again within the window after the watched turn. */
static void on_resumed(struct flow_session *s, const struct channel_event *ev)
{
	uint32_t gap = ev->resumed.gap_ms;
	if (!s->cont.watching || s->cont.joining)
		return; /* not a turn of ours, or already taken */
	s->cont.watching = false;
	bool undoable = s->phase == PH_PROMPT || s->phase == PH_GATHER ||
			s->phase == PH_RECOGNIZE;
	if (!s->cont.snap || !undoable || s->transfer_out) {
		cont_commit(s);
		cont_count(s, false, gap);
		return;
	}
	if (s->cont.stepped) {
		struct flow_run *r = NULL;
		int err = flow_run_restore(&r, s->cont.snap, s->cont.len,
					   s->flow, &s->re);
		if (err) {
			LOGW(call_id(s), "flow_continue_restore_failed",
			     "node=%s err=%d", node_name(s), err);
			cont_commit(s);
			cont_count(s, false, gap);
			return;
		}
		flow_run_destroy(s->run);
		s->run = r;
	}
	cont_count(s, true, gap);
	/* Whatever runs for the turn or since it is void. */
	s->gen++;
	s->synth_wait = false;
	cancel_turn_stt(s);
	early_drop(s);
	stream_drop(s);
	clear_result(s);
	s->qlen = s->qpos = 0;
	s->collect_wanted = s->listen_wanted = false;
	s->interrupted = false;
	s->act = s->cont.act;
	s->phase = PH_GATHER;
	s->cont.joining = true;
	cont_commit(s); /* the joined turn takes a snapshot of its own */
	if (!idle(s) && !s->stop_sent) {
		s->stop_sent = true;
		channel_stop(s->ch);
	}
}

/* Once the channel is idle after an accepted continuation: listen on. */
static void cont_listen(struct flow_session *s)
{
	s->cont.joining = false;
	s->stop_sent = false;
	s->cont.joined = true;
	start_listen(s, true);
	if (s->listen_out && s->stream_wanted)
		on_speech_start(s); /* the listen starts in speech */
}

static void on_listen(struct flow_session *s, const struct channel_event *ev)
{
	enum channel_listen_end end = ev->listen.end;
	if (end == LISTEN_DTMF || end == LISTEN_STOPPED) {
		stream_drop(s);
		return; /* the collect (or whoever stopped it) decides */
	}
	bool joined = s->cont.joined;
	s->cont.joined = false;
	/* Another turn's input: the one watched is committed. */
	if (s->cont.stepped)
		cont_commit(s);
	if (end == LISTEN_SPEECH && ev->listen.audio && !ev->listen.text &&
	    s->listen_continue_ms)
		cont_arm(s);
	if (end == LISTEN_NO_INPUT) {
		s->tt = (struct turn_timing){ .end = "no_input" };
		struct flow_result r = { .type = FLOW_RES_INPUT };
		r.input.kind = FLOW_IN_NO_INPUT;
		finish(s, &r);
		return;
	}
	bool platform = ev->listen.text || !ev->listen.audio;
	struct stt_job *j = platform ? NULL : early_adopt(s, ev);
	if (j || platform)
		stream_drop(s); /* the early decode answers: no stream */
	else
		j = stream_finish(s, ev->listen.audio);
	if (!j)
		j = calloc(1, sizeof(*j));
	if (!j) {
		struct flow_result r = { .type = FLOW_RES_INPUT,
					 .err = -ENOMEM };
		r.input.kind = FLOW_IN_ERROR;
		finish(s, &r);
		return;
	}
	j->s = s;
	j->end = end;
	j->continues = joined;
	j->barged = ev->listen.barged;
	j->speech_ms = ev->listen.speech_ms;
	j->speech_end_us = ev->listen.speech_end_us;
	/* Digits no longer answer this turn. */
	s->phase = PH_RECOGNIZE;
	s->gen++;
	j->gen = s->gen;
	if (s->collect_out && !s->stop_sent) {
		s->stop_sent = true;
		channel_stop(s->ch);
	}
	if (platform) {
		/* The platform transcribed it (or there is no audio). */
		input_speech(s, j, ev->listen.text, "platform",
			     ev->listen.confidence, clock_mono_us(), 0);
		free(j);
		return;
	}
	if (j->adopted) {
		if (j->done) {
			input_speech(s, j, j->text, j->engine, j->confidence,
				     clock_mono_us(), 0);
			free(j);
			return;
		}
		/* Still decoding: its on_stt now answers the turn. */
		s->stt_job = j;
		s->stt_req = s->early_req;
		s->early_req = NULL;
		return;
	}
	if (j->streamed) {
		/* The stream's final (on_stt) answers the turn. */
		s->stt_job = j;
		return;
	}
	struct stt_params p;
	listen_params(s, &p);
	int err = stt_recognize(s->env.stt, ev->listen.audio, &p, s->env.loop,
				on_stt, j, &s->stt_req);
	if (err) {
		LOGW(call_id(s), "flow_stt_failed", "node=%s err=%d",
		     node_name(s), err);
		input_speech(s, j, NULL, NULL, 0.0f, clock_mono_us(), err);
		free(j);
		return;
	}
	s->stt_job = j;
}

static void on_collect(struct flow_session *s, const struct channel_event *ev)
{
	const char *d = ev->collect.digits;
	uint64_t now = clock_mono_us();
	s->tt = (struct turn_timing){ .end = "dtmf", .speech_end_us = now };
	struct flow_result r = { .type = FLOW_RES_INPUT };
	if (ev->err || !d[0]) {
		s->tt.end = "no_input";
		r.input.kind = FLOW_IN_NO_INPUT;
	} else {
		cont_commit(s); /* keys answered a step since */
		snprintf(s->res_digits, sizeof(s->res_digits), "%s", d);
		r.input.kind = FLOW_IN_DTMF;
		r.input.digits = s->res_digits;
	}
	finish(s, &r);
}

static void on_event(struct channel *ch, const struct channel_event *ev,
		     void *arg)
{
	struct flow_session *s = arg;
	(void)ch;
	if (s->closing)
		return;
	enter_frame(s);
	/* Outcomes known earlier wait for the channel to go idle. */
	bool deciding = !s->res_ready && !s->stop_sent;
	switch (ev->type) {
	case CHANNEL_EV_PLAY_DONE:
		s->play_out = false;
		if (!deciding)
			break;
		if (s->phase == PH_PROMPT && ev->play.interrupted) {
			s->interrupted = true;
			s->qpos = s->qlen; /* barge-in skips the rest */
		}
		if (s->phase == PH_GATHER && ev->play.interrupted)
			break; /* a key or speech: collect/listen decides */
		if (s->phase == PH_PROMPT || s->phase == PH_GATHER)
			speak_next(s);
		break;
	case CHANNEL_EV_COLLECT_DONE:
		s->collect_out = false;
		if (deciding && s->phase == PH_GATHER) {
			on_collect(s, ev);
			/* Digits answered: the speech side is over too
			 * (finish() stopped what still runs). */
		}
		break;
	case CHANNEL_EV_LISTEN_DONE:
		s->listen_out = false;
		if (deciding && s->phase == PH_GATHER)
			on_listen(s, ev);
		break;
	case CHANNEL_EV_SPEECH_START:
		if (deciding && s->phase == PH_GATHER)
			on_speech_start(s);
		break;
	case CHANNEL_EV_SPEECH_PAUSE:
		/* A live stream of an engine that streams has its final
		 * ready at the end: an early decode would decode the same
		 * audio again. */
		if (deciding && s->phase == PH_GATHER &&
		    !(s->stream && s->stream_native && s->stream_heard))
			on_pause(s, ev);
		break;
	case CHANNEL_EV_SPEECH_AUDIO:
		if (deciding && s->phase == PH_GATHER)
			on_speech_audio(s, ev);
		break;
	case CHANNEL_EV_SPEECH_RESUMED:
		on_resumed(s, ev);
		break;
	case CHANNEL_EV_TRANSFER_DONE: {
		s->transfer_out = false;
		if (s->phase != PH_TRANSFER || s->res_ready)
			break;
		struct flow_result r = { .type = FLOW_RES_TRANSFERRED,
					 .err = ev->err };
		r.transferred.status = ev->transfer.status;
		r.transferred.ok = !ev->err && ev->transfer.status >= 200 &&
				   ev->transfer.status < 300;
		if (r.transferred.ok) {
			char st[16];
			snprintf(st, sizeof(st), "%d", ev->transfer.status);
			LOGI(call_id(s), "flow_transferred",
			     "node=%s status=%d", node_name(s),
			     ev->transfer.status);
			event_kv(s, "transferred", "node", node_name(s),
				 "target", transfer_target(s, &s->act),
				 "status", st, NULL);
		} else {
			LOGW(call_id(s), "flow_transfer_failed",
			     "node=%s err=%d status=%d", node_name(s), ev->err,
			     ev->transfer.status);
		}
		finish(s, &r);
		break;
	}
	case CHANNEL_EV_HANGUP: {
		/* Last event: outstanding requests are dropped, not
		 * completed. */
		s->play_out = s->collect_out = s->transfer_out = false;
		s->listen_out = false;
		s->stop_sent = false;
		s->gen++;
		cont_clear(s);
		event_ended(s, ev->hangup.reason);
		if (s->phase == PH_DONE)
			break;
		clear_result(s);
		finish_simple(s, FLOW_RES_HANGUP, 0);
		break;
	}
	case CHANNEL_EV_DTMF:
		cont_commit(s); /* a key since the watched turn: not speech */
		break;
	}
	if (s->cont.joining && idle(s) && !s->closing)
		cont_listen(s);
	if (!s->closing)
		run(s);
	leave_frame(s);
}

/* ---- public ---- */

int flow_session_create(struct flow_session **sp, struct flow *f,
			struct channel *ch, const struct flow_env *env)
{
	if (!sp || !f || !ch || !ch->ops || !env)
		return -EINVAL;
	struct flow_session *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->flow = flow_ref(f);
	s->ch = ch;
	s->env = *env;
	unsigned caps = ch->ops->caps;
	struct flow_run_env re = {
		.find_flow = find_flow,
		.find_arg = s,
		.on_node = on_node,
		.on_turn = on_turn,
		.cb_arg = s,
		.call_id = ch->id,
		.from = ch->from,
		.to = ch->to,
		.channel = ch->ops->kind,
		.find_model = find_model,
		.model_arg = s,
		.speech = hears_speech(s),
		.audio = (caps & CHANNEL_CAP_AUDIO) != 0,
	};
	int err = flow_run_create(&s->run, f, &re);
	if (err) {
		flow_deref(s->flow);
		free(s);
		return err;
	}
	s->re = re;
	s->cont_joined = metrics_counter(
		"voxgate_turn_continuations_total", "outcome=\"joined\"",
		"Callers who spoke again just after a turn's end, by outcome: "
		"joined into one turn, or ignored because the turn was "
		"committed");
	s->cont_committed = metrics_counter(
		"voxgate_turn_continuations_total", "outcome=\"committed\"",
		"Callers who spoke again just after a turn's end, by outcome: "
		"joined into one turn, or ignored because the turn was "
		"committed");
	channel_set_handler(ch, on_event, s);
	*sp = s;
	return 0;
}

int flow_session_start(struct flow_session *s)
{
	if (!s || s->closing)
		return -EINVAL;
	if (s->phase != PH_NEW)
		return -EALREADY;
	enter_frame(s);
	s->phase = PH_PROMPT; /* leaves PH_NEW; the first action sets it */
	event_kv(s, "started", "flow", flow_name(s->flow), "from",
		 s->ch->from ? s->ch->from : "", "to",
		 s->ch->to ? s->ch->to : "", "channel", s->ch->ops->kind, NULL);
	finish_simple(s, FLOW_RES_START, 0);
	run(s);
	leave_frame(s);
	return 0;
}

bool flow_session_done(const struct flow_session *s)
{
	return s && s->phase == PH_DONE;
}

const char *flow_session_node(const struct flow_session *s)
{
	return s && s->phase != PH_NEW ? flow_run_node(s->run) : NULL;
}

const struct flow_vars *flow_session_vars(const struct flow_session *s)
{
	return s && s->run ? flow_run_vars(s->run) : NULL;
}

void flow_session_destroy(struct flow_session *s)
{
	if (!s || s->closing)
		return;
	if (s->ch->evh == on_event && s->ch->evarg == s)
		channel_set_handler(s->ch, NULL, NULL);
	event_ended(s, "hangup");
	s->closing = true;
	cancel_turn_stt(s);
	early_drop(s);
	stream_drop(s);
	cont_clear(s);
	if (may_free(s))
		session_free(s);
}
