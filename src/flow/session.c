/* The flow runtime: a state machine that walks one flow on one channel.
 * It asks the channel for prompts, digit collection and transfers, and moves
 * on when the matching completion event comes back (channel.h). Before it
 * enters a node the channel must be idle: a transition decided while a
 * prompt or collect is still out stops the channel and waits for their
 * completions, so the channel never sees a second request (-EBUSY). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "audio/clip.h"
#include "audio/stream.h"
#include "call/channel.h"
#include "core/clock.h"
#include "core/log.h"
#include "engines/nlu/classifier.h"
#include "engines/stt/stt.h"
#include "engines/tts/tts.h"
#include "flow/model.h"

#define NO_NODE ((unsigned)-1)
/* Node entries allowed without the caller pressing a key in between: a
 * flow that loops through say/transfer nodes alone is a bug in the flow,
 * and with failing prompts it would spin without ever yielding. */
#define MAX_HOPS 200u
#define PROMPT_QUEUE_MAX 2 /* a retry message, then the menu prompt */

enum phase {
	PH_NEW,	      /* not started */
	PH_SAY,	      /* playing a say node's prompt */
	PH_MENU,      /* prompting and collecting (digits and/or speech) */
	PH_RECOGNIZE, /* a menu's speech is being transcribed */
	PH_TRANSFER,  /* waiting for TRANSFER_DONE */
	PH_ENDING,    /* asked the channel to hang up */
	PH_DONE,
};

enum retry { RETRY_NONE, RETRY_NO_INPUT, RETRY_INVALID };

enum spoke { SPOKE, SPEAK_WAIT, SPEAK_FAILED };

struct prompt_req {
	const char *name;
	const char *text;
};

struct flow_session {
	struct flow *flow;
	struct channel *ch;
	struct flow_env env;
	enum phase phase;
	unsigned node;
	unsigned attempts; /* failed tries in the current menu */
	unsigned hops;	   /* node entries since the last collect ended */

	struct prompt_req q[PROMPT_QUEUE_MAX];
	unsigned qlen, qpos;
	uint64_t requested_us; /* when the current prompt was asked for */
	bool collect_wanted;   /* menu: start collect with the first prompt */
	bool listen_wanted;    /* menu: start listen with the first prompt */

	/* Requests outstanding on the channel. */
	bool play_out, collect_out, listen_out, transfer_out, stop_sent;

	/* Speech being recognized (PH_RECOGNIZE); the job is freed by
	 * on_stt or, when cancelled, by destroy. */
	struct stt_job *stt_job;
	struct stt_req *stt_req;

	/* The next step, taken once the channel is idle. */
	unsigned want_node;
	enum retry want_retry;
	const char *want_hangup;
	bool running; /* run() is on the stack: steps iterate, not recurse */

	/* TTS results are matched to the prompt that asked by generation. */
	unsigned gen;
	bool synth_wait;
	unsigned tts_inflight;

	/* Deferred free: destroy() during one of our own frames or with a TTS
	 * job out only marks closing; the last frame or callback frees. */
	unsigned depth;
	bool closing;
};

struct synth_job {
	struct flow_session *s;
	unsigned gen;
};

/* One spoken turn on its way through STT and NLU. */
struct stt_job {
	struct flow_session *s;
	unsigned gen;
	enum channel_listen_end end;
	bool barged;
	uint32_t speech_ms;
	uint64_t speech_end_us;
};

static void run(struct flow_session *s);
static void speak_next(struct flow_session *s);

static const char *call_id(const struct flow_session *s)
{
	return s->ch ? s->ch->id : NULL;
}

static const struct flow_node *cur(const struct flow_session *s)
{
	return &s->flow->nodes[s->node];
}

static void session_free(struct flow_session *s)
{
	flow_deref(s->flow);
	free(s);
}

static void enter_frame(struct flow_session *s)
{
	s->depth++;
}

static void leave_frame(struct flow_session *s)
{
	if (--s->depth == 0 && s->closing && !s->tts_inflight)
		session_free(s);
}

static const char *voice_of(const struct flow_session *s,
			    const struct flow_node *n)
{
	if (n->voice)
		return n->voice;
	if (s->flow->voice)
		return s->flow->voice;
	return s->env.default_voice;
}

static bool idle(const struct flow_session *s)
{
	return !s->play_out && !s->collect_out && !s->listen_out;
}

static bool wanting(const struct flow_session *s)
{
	return s->want_node != NO_NODE || s->want_retry != RETRY_NONE ||
	       s->want_hangup;
}

/* Decide the next step; it runs as soon as the channel is idle. */
static void want(struct flow_session *s, unsigned node, enum retry retry,
		 const char *hangup_reason)
{
	s->want_node = node;
	s->want_retry = retry;
	s->want_hangup = hangup_reason;
	if (!idle(s) && !s->stop_sent) {
		s->stop_sent = true;
		channel_stop(s->ch);
	}
}

static void do_hangup(struct flow_session *s, const char *reason)
{
	s->phase = PH_ENDING;
	s->gen++;
	if (channel_hangup(s->ch, reason)) {
		/* Already over: no HANGUP event will tell us. */
		s->phase = PH_DONE;
	}
}

static void start_collect(struct flow_session *s)
{
	const struct flow_node *n = cur(s);
	struct channel_collect c = {
		.max_digits = n->max_digits,
		.terminators = n->terminator,
		.first_timeout_ms = n->timeout_ms,
		.interdigit_timeout_ms = n->interdigit_ms,
	};
	s->collect_wanted = false;
	int err = channel_collect(s->ch, &c);
	if (err) {
		/* Without digits a menu can never leave: end the call rather
		 * than leave the caller in silence. */
		log_event(err == -ENOTCONN ? LOG_LVL_DEBUG : LOG_LVL_ERROR,
			  call_id(s), "flow_collect_failed",
			  "flow=%s node=%s err=%d", s->flow->name, n->name,
			  err);
		want(s, NO_NODE, RETRY_NONE, "flow_error");
		return;
	}
	s->collect_out = true;
}

static bool hears_speech(const struct flow_session *s,
			 const struct flow_node *n)
{
	unsigned caps = s->ch->ops->caps;
	if (!(n->input & FLOW_INPUT_SPEECH))
		return false;
	if (caps & CHANNEL_CAP_STT)
		return true;
	return (caps & CHANNEL_CAP_SPEECH) && s->env.stt;
}

static void start_listen(struct flow_session *s)
{
	const struct flow_node *n = cur(s);
	struct channel_listen l = {
		/* A hybrid step leaves the no-input timeout to the collect. */
		.no_input_ms = (n->input & FLOW_INPUT_DTMF) ? 0 : n->timeout_ms,
		.trailing_silence_ms = n->end_silence_ms,
		.max_speech_ms = n->max_speech_ms,
		.dtmf_ends = (n->input & FLOW_INPUT_DTMF) != 0,
	};
	s->listen_wanted = false;
	int err = channel_listen(s->ch, &l);
	if (err) {
		/* Digits may still answer a hybrid step; a speech-only one
		 * cannot go on. */
		log_event(err == -ENOTCONN ? LOG_LVL_DEBUG : LOG_LVL_ERROR,
			  call_id(s), "flow_listen_failed",
			  "flow=%s node=%s err=%d", s->flow->name, n->name,
			  err);
		if (!(n->input & FLOW_INPUT_DTMF))
			want(s, NO_NODE, RETRY_NONE, "flow_error");
		return;
	}
	s->listen_out = true;
}

/* Start what a menu waits for (with its first prompt, or without one). */
static void start_inputs(struct flow_session *s)
{
	if (s->collect_wanted)
		start_collect(s);
	if (s->listen_wanted && !s->closing && !wanting(s))
		start_listen(s);
}

static enum spoke play_audio(struct flow_session *s, const struct prompt_req *r,
			     struct audio_clip *clip,
			     struct audio_stream *stream)
{
	const struct flow_node *n = cur(s);
	struct channel_prompt p = {
		.name = r->name,
		.text = r->text,
		.voice = voice_of(s, n),
		.clip = clip,
		.stream = stream,
		.dtmf_barge_in = n->barge_in,
		.speech_barge_in = n->barge_in && s->listen_wanted,
		.requested_us = s->requested_us,
	};
	if (s->phase == PH_MENU && s->listen_out)
		p.speech_barge_in = n->barge_in; /* a re-prompt's 2nd part */
	int err = channel_play(s->ch, &p);
	if (s->closing)
		return SPOKE;
	if (err) {
		/* -ENOTCONN: the caller hung up meanwhile, nothing to report */
		log_event(err == -ENOTCONN ? LOG_LVL_DEBUG : LOG_LVL_WARN,
			  call_id(s), "flow_prompt_failed",
			  "flow=%s node=%s prompt=%s stage=play err=%d",
			  s->flow->name, n->name, r->name, err);
		return SPEAK_FAILED;
	}
	s->play_out = true;
	start_inputs(s);
	return SPOKE;
}

static enum spoke play(struct flow_session *s, const struct prompt_req *r,
		       struct audio_clip *clip)
{
	return play_audio(s, r, clip, NULL);
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
			  "flow=%s node=%s prompt=%s stage=tts err=%d",
			  s->flow->name, cur(s)->name, r->name, err);
		speak_next(s);
	} else if (play(s, r, clip) == SPEAK_FAILED) {
		speak_next(s);
	}
	if (!s->closing)
		run(s);
out:
	audio_clip_deref(clip);
	leave_frame(s);
}

/* Ask the channel to play r: at once from text or a cached clip, or after
 * synthesis (SPEAK_WAIT; on_synth continues). */
static enum spoke speak(struct flow_session *s, const struct prompt_req *r)
{
	const struct flow_node *n = cur(s);
	unsigned caps = s->ch->ops->caps;
	s->requested_us = clock_mono_us();
	s->gen++;
	if (!(caps & CHANNEL_CAP_AUDIO)) {
		if (caps & CHANNEL_CAP_TEXT)
			return play(s, r, NULL);
		LOGW(call_id(s), "flow_prompt_failed",
		     "flow=%s node=%s prompt=%s stage=channel err=%d",
		     s->flow->name, n->name, r->name, -ENOTSUP);
		return SPEAK_FAILED;
	}
	int err = -ENOSYS;
	struct synth_job *j = NULL;
	if (s->env.tts) {
		struct audio_clip *clip =
			tts_cache_find(s->env.tts, voice_of(s, n), r->text);
		if (clip) {
			enum spoke rc = play(s, r, clip);
			audio_clip_deref(clip);
			return rc;
		}
		if (caps & CHANNEL_CAP_STREAM) {
			/* Not cached: play while it is synthesized. */
			struct audio_stream *st = NULL;
			err = tts_synth_stream(s->env.tts, voice_of(s, n),
					       r->text, &st);
			if (!err) {
				enum spoke rc = play_audio(s, r, NULL, st);
				audio_stream_deref(st);
				return rc;
			}
			log_event(err == -EAGAIN ? LOG_LVL_WARN : LOG_LVL_DEBUG,
				  call_id(s), "flow_prompt_stream_failed",
				  "flow=%s node=%s prompt=%s err=%d",
				  s->flow->name, n->name, r->name, err);
		}
		j = malloc(sizeof(*j));
		err = j ? 0 : -ENOMEM;
	}
	if (!err) {
		j->s = s;
		j->gen = s->gen;
		err = tts_synth(s->env.tts, voice_of(s, n), r->text,
				s->env.loop, on_synth, j);
	}
	if (err) {
		/* -EAGAIN (pool full) included: skip the prompt rather than
		 * let the caller wait in silence. */
		free(j);
		/* -ENOTCONN: the caller hung up meanwhile, nothing to report */
		log_event(err == -ENOTCONN ? LOG_LVL_DEBUG : LOG_LVL_WARN,
			  call_id(s), "flow_prompt_failed",
			  "flow=%s node=%s prompt=%s stage=tts err=%d",
			  s->flow->name, n->name, r->name, err);
		return SPEAK_FAILED;
	}
	s->tts_inflight++;
	s->synth_wait = true;
	return SPEAK_WAIT;
}

/* Play the next queued prompt; when none is left, the node goes on. */
static void speak_next(struct flow_session *s)
{
	while (s->qpos < s->qlen && !s->closing) {
		enum spoke rc = speak(s, &s->q[s->qpos++]);
		if (rc != SPEAK_FAILED)
			return;
	}
	if (s->closing)
		return;
	if (s->phase == PH_SAY)
		want(s, cur(s)->next, RETRY_NONE, NULL);
	else if (s->phase == PH_MENU)
		start_inputs(s); /* no prompt could play: still listen */
}

static void queue_prompt(struct flow_session *s, const char *name,
			 const char *text)
{
	if (text && s->qlen < PROMPT_QUEUE_MAX) {
		s->q[s->qlen].name = name;
		s->q[s->qlen].text = text;
		s->qlen++;
	}
}

static void start_menu(struct flow_session *s, enum retry retry)
{
	const struct flow_node *n = cur(s);
	s->phase = PH_MENU;
	s->qlen = s->qpos = 0;
	if (retry == RETRY_NO_INPUT)
		queue_prompt(s, n->no_input_name, n->no_input);
	else if (retry == RETRY_INVALID)
		queue_prompt(s, n->invalid_name, n->invalid);
	queue_prompt(s, n->name, n->text);
	s->collect_wanted = (n->input & FLOW_INPUT_DTMF) != 0;
	s->listen_wanted = hears_speech(s, n);
	if (!s->collect_wanted && !s->listen_wanted) {
		/* A speech-only menu on a channel that cannot hear: nobody
		 * can answer it. */
		LOGE(call_id(s), "flow_menu_deaf", "flow=%s node=%s",
		     s->flow->name, n->name);
		want(s, NO_NODE, RETRY_NONE, "flow_error");
		return;
	}
	speak_next(s);
}

static void start_transfer(struct flow_session *s)
{
	const struct flow_node *n = cur(s);
	const char *target = n->to_agent ? s->env.agent_uri : n->target;
	s->phase = PH_TRANSFER;
	int err = target && *target ? channel_transfer(s->ch, target)
				    : -EDESTADDRREQ;
	if (s->closing)
		return;
	if (err) {
		LOGW(call_id(s), "flow_transfer_failed",
		     "flow=%s node=%s target=%s err=%d", s->flow->name, n->name,
		     log_esc(target ? target : ""), err);
		want(s, n->on_fail, RETRY_NONE, NULL);
		return;
	}
	s->transfer_out = true;
}

static void enter(struct flow_session *s, unsigned i)
{
	if (++s->hops > MAX_HOPS) {
		LOGE(call_id(s), "flow_loop", "flow=%s node=%s hops=%u",
		     s->flow->name, s->flow->nodes[i].name, s->hops - 1);
		do_hangup(s, "flow_error");
		return;
	}
	const struct flow_node *n = &s->flow->nodes[i];
	s->node = i;
	s->gen++;
	s->synth_wait = false;
	LOGD(call_id(s), "flow_node", "flow=%s node=%s", s->flow->name,
	     n->name);
	channel_note_node(s->ch, n->name);
	if (s->closing)
		return;
	switch (n->type) {
	case FLOW_NODE_SAY:
		s->phase = PH_SAY;
		s->qlen = s->qpos = 0;
		s->collect_wanted = false;
		s->listen_wanted = false;
		queue_prompt(s, n->name, n->text);
		speak_next(s);
		break;
	case FLOW_NODE_MENU:
		s->attempts = 0;
		start_menu(s, RETRY_NONE);
		break;
	case FLOW_NODE_TRANSFER:
		start_transfer(s);
		break;
	case FLOW_NODE_HANGUP:
		do_hangup(s, n->reason);
		break;
	default: /* v2 nodes: replaced by the runtime (flow/runtime.h) */
		do_hangup(s, "flow_error");
		break;
	}
}

/* Take wanted steps while the channel is idle. Iterative, so a chain of
 * failing prompts or transfers cannot grow the stack. */
static void run(struct flow_session *s)
{
	if (s->running)
		return;
	s->running = true;
	while (!s->closing && s->phase != PH_DONE && s->phase != PH_ENDING &&
	       wanting(s) && idle(s)) {
		unsigned node = s->want_node;
		enum retry retry = s->want_retry;
		const char *reason = s->want_hangup;
		s->want_node = NO_NODE;
		s->want_retry = RETRY_NONE;
		s->want_hangup = NULL;
		s->stop_sent = false;
		if (reason)
			do_hangup(s, reason);
		else if (retry != RETRY_NONE)
			start_menu(s, retry);
		else
			enter(s, node);
	}
	s->running = false;
}

static void menu_failed(struct flow_session *s, enum retry kind)
{
	const struct flow_node *n = cur(s);
	s->attempts++;
	LOGD(call_id(s), "flow_menu_retry", "flow=%s node=%s kind=%s try=%u",
	     s->flow->name, n->name,
	     kind == RETRY_NO_INPUT ? "no_input" : "invalid", s->attempts);
	if (s->attempts > n->retries)
		want(s, n->on_max_retries, RETRY_NONE, NULL);
	else
		want(s, NO_NODE, kind, NULL);
}

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

/* The option whose spoken phrases include text (normalized), or NULL. */
static const struct flow_option *option_by_words(const struct flow_node *n,
						 const char *text)
{
	if (!text || !*text)
		return NULL;
	for (unsigned i = 0; i < n->noptions; i++)
		for (unsigned w = 0; w < n->options[i].nwords; w++)
			if (!strcmp(n->options[i].words[w], text))
				return &n->options[i];
	return NULL;
}

static const struct flow_route *route_of(const struct flow_node *n,
					 const char *intent)
{
	for (unsigned i = 0; intent && i < n->nroutes; i++)
		if (!strcmp(n->routes[i].intent, intent))
			return &n->routes[i];
	return NULL;
}

/* A transcript (from STT, or the platform's) decides the menu: a spoken
 * option phrase, else the flow's classifier and the menu's thresholds. */
static void decide_speech(struct flow_session *s, const struct stt_job *j,
			  const char *text, const char *engine, float stt_conf,
			  const char *phrase, uint64_t stt_final_us)
{
	const struct flow_node *n = cur(s);
	struct channel_turn t = {
		.node = n->name,
		.input = "speech",
		.end = listen_end_name(j->end),
		.transcript = text ? text : "",
		.stt_engine = engine,
		.stt_confidence = stt_conf,
		.match = "none",
		.barge_in = j->barged,
		.speech_ms = j->speech_ms,
		.speech_end_us = j->speech_end_us,
		.stt_final_us = stt_final_us,
	};
	unsigned next = NO_NODE;
	const struct flow_option *o =
		option_by_words(n, phrase ? phrase : text);
	if (o) {
		next = o->next;
		t.match = "high";
	} else if (text && *text && s->flow->nlu && n->nroutes) {
		struct nlu_result r;
		if (!nlu_classify(s->flow->nlu, text, &r) && r.n) {
			t.intent = r.top[0].intent;
			t.intent_confidence = r.top[0].confidence;
			const struct flow_route *rt = route_of(n, t.intent);
			enum nlu_match m = nlu_match_level(
				r.top[0].confidence, n->conf_high, n->conf_low);
			if (!rt)
				m = NLU_MATCH_NONE;
			if (m == NLU_MATCH_HIGH) {
				next = rt->next;
				t.match = "high";
			} else if (m == NLU_MATCH_LOW) {
				t.match = "low";
				next = n->on_low;
			}
		}
		t.nlu_done_us = clock_mono_us();
	}
	t.response_us = clock_mono_us();
	t.next = next != NO_NODE ? s->flow->nodes[next].name : NULL;
	channel_note_turn(s->ch, &t);
	LOGI(call_id(s), "flow_speech",
	     "flow=%s node=%s text=\"%s\" engine=%s intent=%s conf=%.3f "
	     "match=%s next=%s",
	     s->flow->name, n->name, log_esc(text ? text : ""),
	     engine ? engine : "-", t.intent ? t.intent : "-",
	     (double)t.intent_confidence, t.match, t.next ? t.next : "-");
	s->hops = 0;
	s->phase = PH_MENU;
	if (next != NO_NODE)
		want(s, next, RETRY_NONE, NULL);
	else
		menu_failed(s, text && *text ? RETRY_INVALID : RETRY_NO_INPUT);
}

static void on_stt(int err, const struct stt_result *res, void *arg)
{
	struct stt_job *j = arg;
	struct flow_session *s = j->s;
	uint64_t now = clock_mono_us();
	s->stt_job = NULL;
	s->stt_req = NULL;
	enter_frame(s);
	if (!s->closing && j->gen == s->gen && s->phase == PH_RECOGNIZE) {
		if (err)
			LOGW(call_id(s), "flow_stt_failed",
			     "flow=%s node=%s err=%d", s->flow->name,
			     cur(s)->name, err);
		decide_speech(s, j, err ? NULL : res->text,
			      err ? NULL : res->engine,
			      err ? 0.0f : res->confidence,
			      err ? NULL : res->grammar_phrase, now);
		run(s);
	}
	free(j);
	leave_frame(s);
}

static void on_listen(struct flow_session *s, const struct channel_event *ev)
{
	const struct flow_node *n = cur(s);
	enum channel_listen_end end = ev->listen.end;
	if (end == LISTEN_DTMF || end == LISTEN_STOPPED)
		return; /* the collect (or whoever stopped it) decides */
	if (end == LISTEN_NO_INPUT) {
		s->hops = 0;
		menu_failed(s, RETRY_NO_INPUT);
		return;
	}
	struct stt_job *j = calloc(1, sizeof(*j));
	if (!j) {
		menu_failed(s, RETRY_INVALID);
		return;
	}
	j->s = s;
	j->end = end;
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
	if (ev->listen.text || !ev->listen.audio) {
		/* The platform transcribed it (or there is no audio). */
		decide_speech(s, j, ev->listen.text, "platform",
			      ev->listen.confidence, NULL, clock_mono_us());
		free(j);
		return;
	}
	struct stt_params p = {
		.mode = n->stt_mode,
		.grammar = n->stt_mode == STT_MODE_OPEN ? NULL : n->grammar,
		.lm = n->stt_mode == STT_MODE_OPEN ? n->lm : NULL,
		.engines = n->stt_engines,
		.call_id = call_id(s),
	};
	int err = stt_recognize(s->env.stt, ev->listen.audio, &p, s->env.loop,
				on_stt, j, &s->stt_req);
	if (err) {
		LOGW(call_id(s), "flow_stt_failed", "flow=%s node=%s err=%d",
		     s->flow->name, n->name, err);
		decide_speech(s, j, NULL, NULL, 0.0f, NULL, clock_mono_us());
		free(j);
		return;
	}
	s->stt_job = j;
}

static void on_collect(struct flow_session *s, const struct channel_event *ev)
{
	const struct flow_node *n = cur(s);
	/* The caller was asked and answered (or not): the loop guard
	 * restarts. */
	s->hops = 0;
	const char *d = ev->collect.digits;
	if (ev->err || !d[0]) {
		menu_failed(s, RETRY_NO_INPUT);
		return;
	}
	uint64_t now = clock_mono_us();
	struct channel_turn t = {
		.node = n->name,
		.input = "dtmf",
		.end = "dtmf",
		.match = "none",
		.speech_end_us = now,
		.response_us = now,
	};
	for (unsigned i = 0; i < n->noptions; i++) {
		if (n->options[i].digits && !strcmp(n->options[i].digits, d)) {
			LOGD(call_id(s), "flow_menu_choice",
			     "flow=%s node=%s digits=%s", s->flow->name,
			     n->name, log_esc(d));
			t.match = "high";
			t.next = s->flow->nodes[n->options[i].next].name;
			channel_note_turn(s->ch, &t);
			want(s, n->options[i].next, RETRY_NONE, NULL);
			return;
		}
	}
	channel_note_turn(s->ch, &t);
	menu_failed(s, RETRY_INVALID);
}

static void on_event(struct channel *ch, const struct channel_event *ev,
		     void *arg)
{
	struct flow_session *s = arg;
	(void)ch;
	if (s->closing)
		return;
	enter_frame(s);
	/* Steps decided earlier wait for the channel to go idle. */
	bool deciding = !wanting(s) && !s->stop_sent;
	switch (ev->type) {
	case CHANNEL_EV_PLAY_DONE:
		s->play_out = false;
		if (!deciding)
			break;
		if (s->phase == PH_SAY && ev->play.interrupted)
			s->qpos = s->qlen; /* barge-in skips the rest */
		if (s->phase == PH_MENU && ev->play.interrupted)
			break; /* a key or speech: collect/listen decides */
		if (s->phase == PH_SAY || s->phase == PH_MENU)
			speak_next(s);
		break;
	case CHANNEL_EV_COLLECT_DONE:
		s->collect_out = false;
		if (deciding && s->phase == PH_MENU) {
			on_collect(s, ev);
			/* Digits answered: the speech side is over too. */
			if (s->listen_out && !s->stop_sent) {
				s->stop_sent = true;
				channel_stop(s->ch);
			}
		}
		break;
	case CHANNEL_EV_LISTEN_DONE:
		s->listen_out = false;
		if (deciding && s->phase == PH_MENU)
			on_listen(s, ev);
		break;
	case CHANNEL_EV_SPEECH_START:
		break;
	case CHANNEL_EV_TRANSFER_DONE:
		s->transfer_out = false;
		if (s->phase != PH_TRANSFER)
			break;
		if (!ev->err && ev->transfer.status >= 200 &&
		    ev->transfer.status < 300) {
			LOGI(call_id(s), "flow_transferred",
			     "flow=%s node=%s status=%d", s->flow->name,
			     cur(s)->name, ev->transfer.status);
			s->phase = PH_DONE;
			break;
		}
		LOGW(call_id(s), "flow_transfer_failed",
		     "flow=%s node=%s err=%d status=%d", s->flow->name,
		     cur(s)->name, ev->err, ev->transfer.status);
		want(s, cur(s)->on_fail, RETRY_NONE, NULL);
		break;
	case CHANNEL_EV_HANGUP:
		/* Last event: outstanding requests are dropped, not
		 * completed. */
		s->phase = PH_DONE;
		s->play_out = s->collect_out = s->transfer_out = false;
		s->listen_out = false;
		s->want_node = NO_NODE;
		s->want_retry = RETRY_NONE;
		s->want_hangup = NULL;
		s->gen++;
		break;
	case CHANNEL_EV_DTMF:
		break;
	}
	if (!s->closing)
		run(s);
	leave_frame(s);
}

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
	s->node = NO_NODE;
	s->want_node = NO_NODE;
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
	s->want_node = s->flow->start;
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
	return s && s->node != NO_NODE ? s->flow->nodes[s->node].name : NULL;
}

void flow_session_destroy(struct flow_session *s)
{
	if (!s || s->closing)
		return;
	s->closing = true;
	if (s->ch->evh == on_event && s->ch->evarg == s)
		channel_set_handler(s->ch, NULL, NULL);
	if (s->stt_req) {
		/* Cancelled: on_stt will not run, so the job is ours. */
		stt_cancel(s->stt_req);
		s->stt_req = NULL;
		free(s->stt_job);
		s->stt_job = NULL;
	}
	if (!s->depth && !s->tts_inflight)
		session_free(s);
}
