/* A channel that hears audio and the rig around it for the flow session's
 * speech tests (test_flow_session_early.c, test_flow_session_stream.c,
 * test_flow_session_continue.c): a
 * real loop thread, worker pool and STT service over the test's fake
 * engines; the test queues channel events, delivered on the loop thread.
 * Static helpers: include once per test binary. */
#ifndef VG_TEST_FLOW_SPEECH_RIG_H
#define VG_TEST_FLOW_SPEECH_RIG_H

#include "engines/stt/stt_fakes.h"
#include "loop_sync.h"

#include <stdbool.h>

#include "call/channel.h"
#include "flow/flow.h"

/* ---- a batch engine whose transcript tells what audio it decoded
 * ("heard 8000") ---- */

static struct heard {
	atomic_int gate;     /* decode() waits while set */
	atomic_int started;  /* decode() calls begun */
	atomic_int finished; /* decode() calls returned */
	atomic_int fail;     /* decode() returns -EIO while set */
} heard;

static inline int heard_decode(struct stt_engine *e,
			       const struct stt_request *req,
			       const int16_t *pcm, size_t n,
			       struct stt_result *res)
{
	(void)e;
	(void)req;
	(void)pcm;
	atomic_fetch_add(&heard.started, 1);
	while (atomic_load(&heard.gate))
		usleep(1000);
	int err = atomic_load(&heard.fail) ? -EIO : 0;
	if (!err) {
		memset(res, 0, sizeof(*res));
		snprintf(res->text, sizeof(res->text), "heard %zu", n);
		res->confidence = 0.7f;
	}
	atomic_fetch_add(&heard.finished, 1);
	return err;
}

/* Not every test decodes with it. */
static const struct stt_engine_ops __attribute__((unused)) heard_ops = {
	.name = "fake",
	.caps = STT_CAP_OPEN,
	.open = fake_bare_open,
	.close = fake_bare_close,
	.decode = heard_decode,
};

/* ---- the channel: events queued by the test, delivered on the loop
 * thread ---- */

enum { CHAN_Q = 64 };

struct chan {
	struct channel ch;
	bool listening, over;
	struct channel_listen lo; /* the last listen's options */
	struct channel_event q[CHAN_Q];
	size_t qn;
	unsigned turns;
	bool turn_early, turn_streamed, turn_continues;
	char turn_text[128], turn_engine[32];
	/* chan_text_ops: prompts play (as text) until stopped, keys are
	 * collected; every request is logged, one line each */
	bool playing, collecting;
	bool play_barge;     /* the prompt playing stops at a key */
	unsigned max_digits; /* of the collect running */
	char digits[33];     /* collected so far */
	size_t nd;
	char typeahead[33]; /* keys pressed with no collect running */
	size_t nta;
	unsigned listens, stops;
	int resume_err; /* a listen with resume returns it when set */
	char log[4096];
};

static inline void chan_log(struct chan *c, const char *line)
{
	size_t o = strlen(c->log);
	snprintf(c->log + o, sizeof(c->log) - o, "%s\n", line);
}

static inline struct chan *chan_of(struct channel *ch)
{
	return (struct chan *)ch;
}

static inline void push(struct chan *c, const struct channel_event *ev)
{
	assert_true(c->qn < CHAN_Q);
	c->q[c->qn++] = *ev;
}

static inline int ch_play(struct channel *ch, const struct channel_prompt *p)
{
	(void)ch;
	(void)p;
	return -ENOTSUP; /* no prompt plays: the flow has no TTS here */
}

static inline int ch_collect(struct channel *ch,
			     const struct channel_collect *c)
{
	(void)ch;
	(void)c;
	return -ENOTSUP;
}

static inline int ch_listen(struct channel *ch, const struct channel_listen *l)
{
	struct chan *c = chan_of(ch);
	if (c->over)
		return -ENOTCONN;
	if (l->resume && c->resume_err)
		return c->resume_err;
	c->listening = true;
	c->lo = *l;
	c->listens++;
	chan_log(c, l->resume ? "listen resume" : "listen");
	return 0;
}

static inline int ch_stop(struct channel *ch)
{
	struct chan *c = chan_of(ch);
	c->stops++;
	if (c->playing) {
		c->playing = false;
		struct channel_event ev = { .type = CHANNEL_EV_PLAY_DONE };
		ev.play.interrupted = true;
		push(c, &ev);
	}
	if (c->collecting) {
		c->collecting = false;
		struct channel_event ev = { .type = CHANNEL_EV_COLLECT_DONE };
		ev.collect.end = COLLECT_STOPPED;
		push(c, &ev);
	}
	if (c->listening) {
		c->listening = false;
		struct channel_event ev = { .type = CHANNEL_EV_LISTEN_DONE };
		ev.listen.end = LISTEN_STOPPED;
		push(c, &ev);
	}
	return 0;
}

static inline int ch_transfer(struct channel *ch, const char *target)
{
	(void)ch;
	(void)target;
	return -ENOTSUP;
}

static inline int ch_hangup(struct channel *ch, const char *reason)
{
	struct chan *c = chan_of(ch);
	if (c->over)
		return -EALREADY;
	c->over = true;
	struct channel_event ev = { .type = CHANNEL_EV_HANGUP };
	ev.hangup.reason = reason;
	push(c, &ev);
	return 0;
}

static inline void ch_note_turn(struct channel *ch,
				const struct channel_turn *t)
{
	struct chan *c = chan_of(ch);
	c->turns++;
	c->turn_early = t->stt_early;
	c->turn_streamed = t->stt_streamed;
	c->turn_continues = t->continues;
	char line[256];
	snprintf(line, sizeof(line), "turn %s -> %s \"%s\"%s",
		 t->node ? t->node : "-", t->next ? t->next : "-",
		 t->transcript ? t->transcript : "",
		 t->continues ? " continues" : "");
	chan_log(c, line);
	snprintf(c->turn_text, sizeof(c->turn_text), "%s",
		 t->transcript ? t->transcript : "");
	snprintf(c->turn_engine, sizeof(c->turn_engine), "%s",
		 t->stt_engine ? t->stt_engine : "");
}

static const struct channel_ops chan_ops = {
	.kind = "fake-audio",
	.caps = CHANNEL_CAP_AUDIO | CHANNEL_CAP_SPEECH,
	.play = ch_play,
	.collect = ch_collect,
	.listen = ch_listen,
	.stop = ch_stop,
	.transfer = ch_transfer,
	.hangup = ch_hangup,
	.note_turn = ch_note_turn,
};

/* A channel that plays prompts as text (until stopped: the test ends
 * them) and collects keys, for the continuation tests. */
static inline int ch_play_text(struct channel *ch,
			       const struct channel_prompt *p)
{
	struct chan *c = chan_of(ch);
	if (c->over)
		return -ENOTCONN;
	if (c->playing)
		return -EBUSY;
	c->playing = true;
	c->play_barge = p->dtmf_barge_in;
	char line[160];
	snprintf(line, sizeof(line), "play %s", p->text ? p->text : "");
	chan_log(c, line);
	return 0;
}

/* One key into the collect running; true when that completed it (as
 * call/call.c: COLLECT_DONE at max_digits). */
static inline bool collect_key(struct chan *c, char d)
{
	if (c->nd < sizeof(c->digits) - 1)
		c->digits[c->nd++] = d;
	c->digits[c->nd] = '\0';
	if (c->nd < c->max_digits)
		return false;
	c->collecting = false;
	struct channel_event ev = { .type = CHANNEL_EV_COLLECT_DONE };
	ev.collect.end = COLLECT_MAX_DIGITS;
	memcpy(ev.collect.digits, c->digits, c->nd + 1);
	push(c, &ev);
	return true;
}

/* A prompt that stops at a key ends interrupted. */
static inline void barge_key(struct chan *c)
{
	if (!c->playing || !c->play_barge)
		return;
	c->playing = false;
	struct channel_event ev = { .type = CHANNEL_EV_PLAY_DONE };
	ev.play.interrupted = true;
	push(c, &ev);
}

/* Keys typed ahead answer the collect at once (call/call.c). */
static inline int ch_collect_keys(struct channel *ch,
				  const struct channel_collect *co)
{
	struct chan *c = chan_of(ch);
	if (c->over)
		return -ENOTCONN;
	c->collecting = true;
	c->max_digits = co->max_digits ? co->max_digits : 1;
	c->nd = 0;
	c->digits[0] = '\0';
	chan_log(c, "collect");
	size_t i = 0;
	bool done = false;
	while (i < c->nta && !done)
		done = collect_key(c, c->typeahead[i++]);
	memmove(c->typeahead, c->typeahead + i, c->nta - i);
	c->nta -= i;
	if (i)
		barge_key(c);
	return 0;
}

static const struct channel_ops __attribute__((unused)) chan_text_ops = {
	.kind = "fake-text",
	.caps = CHANNEL_CAP_TEXT | CHANNEL_CAP_SPEECH | CHANNEL_CAP_DTMF,
	.play = ch_play_text,
	.collect = ch_collect_keys,
	.listen = ch_listen,
	.stop = ch_stop,
	.transfer = ch_transfer,
	.hangup = ch_hangup,
	.note_turn = ch_note_turn,
};

/* ---- the back-end: records events ---- */

struct hooks {
	bool want_partial;
	char log[8192]; /* "event fields\n" per event */
	unsigned partials;
	/* http requests (rig_opts.http): the one outstanding, answered by
	 * the test (http_answer) */
	unsigned https;
	flow_backend_done_fn *http_done;
	void *http_arg;
};

static inline int be_http(void *ctx, const struct flow_action *a,
			  struct vg_loop *loop, flow_backend_done_fn *done,
			  void *arg)
{
	struct hooks *h = ctx;
	(void)a;
	(void)loop;
	h->https++;
	h->http_done = done;
	h->http_arg = arg;
	return 0;
}

static inline void be_event(void *ctx, const char *event, const char *call_id,
			    const char *json)
{
	struct hooks *h = ctx;
	(void)call_id;
	size_t o = strlen(h->log);
	snprintf(h->log + o, sizeof(h->log) - o, "%s %s\n", event, json);
	if (!strcmp(event, "partial"))
		h->partials++;
}

static inline bool be_wants(void *ctx, const char *event)
{
	struct hooks *h = ctx;
	return strcmp(event, "partial") || h->want_partial;
}

/* ---- the rig: one gather by speech, then hang up ---- */

/* A flow's head: the intents balance and card, and the speech menu ask
 * up to its intents. */
#define RIG_FLOW_HEAD(name)                                               \
	"name: " name "\n"                                                \
	"start: ask\n"                                                    \
	"intents:\n"                                                      \
	"  balance: {examples: [check my balance, what is my balance]}\n" \
	"  card: {examples: [i lost my card, my card was stolen]}\n"      \
	"nodes:\n"                                                        \
	"  ask:\n"                                                        \
	"    type: menu\n"                                                \
	"    prompt: What do you need?\n"                                 \
	"    input: speech\n"

/* A flow reads as YAML. */
/* clang-format off */
static const char *const speech_flow_yaml = RIG_FLOW_HEAD("speech")
	"    intents: {balance: bye, card: bye}\n"
	"    retries: 0\n"
	"    timeout: 5s\n"
	"    on_max_retries: bye\n"
	"  bye: {type: hangup, reason: completed}\n";
/* clang-format on */

enum { RIG_CLIPS = 4 };

struct rig_opts {
	const struct stt_engine_ops *engine; /* the one engine */
	unsigned early_ms;		     /* stt_cfg.early_ms */
	size_t max_queue;		     /* the one worker's queue */
	bool stream;			     /* env.stt_stream */
	bool backend;			     /* a back-end records events */
	bool want_partial;		     /* it wants "partial" */
	size_t clip_n[RIG_CLIPS]; /* clips of that many samples (0: none) */
	const char *flow_yaml;	  /* NULL: speech_flow_yaml */
	const struct channel_ops *ops; /* NULL: chan_ops */
	unsigned continue_ms;	       /* env.continue_ms */
	bool http;		       /* the back-end takes http requests */
};

struct rig {
	struct vg_loop *loop;
	struct wpool *pool;
	struct stt *stt;
	struct flow *flow;
	struct flow_session *s;
	struct flow_env env;
	struct flow_backend be;
	struct hooks hooks;
	struct chan c;
	/* sample i of each is i % 1000, so a stream can check its order */
	struct audio_clip *clip[RIG_CLIPS];
};

static inline void start_on_loop(void *arg)
{
	struct rig *r = arg;
	assert_int_equal(flow_session_create(&r->s, r->flow, &r->c.ch, &r->env),
			 0);
	r->flow = flow_deref(r->flow);
	assert_int_equal(flow_session_start(r->s), 0);
}

static inline void deliver_on_loop(void *arg)
{
	struct rig *r = arg;
	for (size_t i = 0; i < r->c.qn; i++) {
		struct channel_event ev = r->c.q[i];
		if (r->c.ch.evh)
			r->c.ch.evh(&r->c.ch, &ev, r->c.ch.evarg);
		/* The channel owns the batch until the handler returned. */
		if (ev.type == CHANNEL_EV_SPEECH_AUDIO)
			audio_clip_deref(ev.audio.audio);
	}
	r->c.qn = 0;
}

static inline void nothing(void *arg)
{
	(void)arg;
}

static inline void destroy_on_loop(void *arg)
{
	struct rig *r = arg;
	flow_session_destroy(r->s);
	r->s = NULL;
}

/* Resets the metrics and the heard engine, then starts the session on
 * the loop; it is listening when this returns. */
static inline struct rig *rig_open(const struct rig_opts *o)
{
	metrics_reset();
	memset(&heard, 0, sizeof(heard));
	struct rig *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	assert_int_equal(loop_create(&r->loop, "speech-test"), 0);
	assert_int_equal(loop_start(r->loop), 0);
	assert_int_equal(wpool_create(&r->pool, 1, o->max_queue), 0);
	const struct stt_engine_ops *ops[] = { o->engine };
	struct stt_cfg cfg = { .early_ms = o->early_ms };
	assert_int_equal(stt_create_with_ops(&r->stt, r->pool, ops, 1, &cfg),
			 0);
	struct flow_errors errs = { 0 };
	const char *y = o->flow_yaml ? o->flow_yaml : speech_flow_yaml;
	int err = flow_load_buf("t.yaml", y, strlen(y), &r->flow, &errs);
	if (err)
		fail_msg("%s", errs.msg[0]);
	for (int k = 0; k < RIG_CLIPS && o->clip_n[k]; k++) {
		r->clip[k] = audio_clip_alloc(o->clip_n[k], AUDIO_RATE_HZ);
		assert_non_null(r->clip[k]);
		for (size_t i = 0; i < r->clip[k]->nsamples; i++)
			r->clip[k]->samples[i] = (int16_t)(i % 1000);
	}
	if (o->backend) {
		r->hooks.want_partial = o->want_partial;
		r->be = (struct flow_backend){ .event = be_event,
					       .wants_event = be_wants,
					       .http = o->http ? be_http : NULL,
					       .ctx = &r->hooks };
		r->env.backend = &r->be;
	}
	r->c.ch.ops = o->ops ? o->ops : &chan_ops;
	r->c.ch.id = "speech-call";
	r->env.stt = r->stt;
	r->env.loop = r->loop;
	r->env.stt_stream = o->stream;
	r->env.continue_ms = o->continue_ms;
	run_on_loop(r->loop, start_on_loop, r);
	assert_true(r->c.listening);
	return r;
}

static inline void rig_close(struct rig *r)
{
	atomic_store(&heard.gate, 0);
	if (r->s)
		run_on_loop(r->loop, destroy_on_loop, r);
	wpool_destroy(r->pool);
	loop_destroy(r->loop);
	stt_destroy(r->stt);
	for (int k = 0; k < RIG_CLIPS; k++)
		audio_clip_deref(r->clip[k]);
	free(r);
	metrics_reset();
}

/* ---- what the channel raises ---- */

static inline void deliver(struct rig *r, const struct channel_event *ev)
{
	push(&r->c, ev);
	run_on_loop(r->loop, deliver_on_loop, r);
}

/* The prompt playing plays out. */
static inline void play_done_ev(struct rig *r)
{
	r->c.playing = false;
	struct channel_event ev = { .type = CHANNEL_EV_PLAY_DONE };
	deliver(r, &ev);
}

/* The caller starts speaking (a listen with stream_audio). */
static inline void speech_start_ev(struct rig *r)
{
	struct channel_event ev = { .type = CHANNEL_EV_SPEECH_START };
	deliver(r, &ev);
}

/* The channel's batch of clip[off, off + n). */
static inline void audio_ev(struct rig *r, const struct audio_clip *clip,
			    size_t off, size_t n)
{
	struct channel_event ev = { .type = CHANNEL_EV_SPEECH_AUDIO };
	ev.audio.audio = audio_clip_alloc(n, AUDIO_RATE_HZ);
	assert_non_null(ev.audio.audio);
	memcpy(ev.audio.audio->samples, clip->samples + off,
	       n * sizeof(int16_t));
	ev.audio.offset = off;
	deliver(r, &ev);
}

/* A pause after the speech in clip (the caller keeps its reference). */
static inline void pause_ev(struct rig *r, unsigned seq,
			    struct audio_clip *clip)
{
	struct channel_event ev = { .type = CHANNEL_EV_SPEECH_PAUSE };
	ev.pause.audio = clip;
	ev.pause.seq = seq;
	ev.pause.speech_ms = 500;
	deliver(r, &ev);
}

/* The listen ends (end) with the utterance clip (NULL: none), naming the
 * pause pause_seq (0: none). */
static inline void end_ev(struct rig *r, enum channel_listen_end end,
			  unsigned pause_seq, struct audio_clip *clip)
{
	r->c.listening = false;
	struct channel_event ev = { .type = CHANNEL_EV_LISTEN_DONE };
	ev.listen.end = end;
	ev.listen.audio = clip;
	ev.listen.speech_ms = clip ? 700 : 0;
	ev.listen.speech_end_us = 1;
	ev.listen.pause_seq = pause_seq;
	deliver(r, &ev);
}

/* The caller presses a key: DTMF, then what it ends (a prompt that stops
 * at a key, a listen that dtmf_ends, the collect at max_digits), in
 * call_dtmf_in()'s order; with no collect it waits as type-ahead. */
static inline void key_ev(struct rig *r, char d)
{
	struct chan *c = &r->c;
	struct channel_event ev = { .type = CHANNEL_EV_DTMF };
	ev.dtmf.digit = d;
	push(c, &ev);
	barge_key(c);
	if (c->listening && c->lo.dtmf_ends) {
		c->listening = false;
		struct channel_event l = { .type = CHANNEL_EV_LISTEN_DONE };
		l.listen.end = LISTEN_DTMF;
		push(c, &l);
	}
	if (c->collecting)
		collect_key(c, d);
	else if (c->nta < sizeof(c->typeahead) - 1)
		c->typeahead[c->nta++] = d;
	run_on_loop(r->loop, deliver_on_loop, r);
}

/* The caller hangs up. */
static inline void hangup_ev(struct rig *r)
{
	struct channel_event ev = { .type = CHANNEL_EV_HANGUP };
	ev.hangup.reason = "caller_hangup";
	r->c.over = true;
	deliver(r, &ev);
}

/* ---- what the test reads ---- */

struct peek {
	struct rig *r;
	unsigned turns, partials;
};

static inline void peek_on_loop(void *arg)
{
	struct peek *p = arg;
	p->turns = p->r->c.turns;
	p->partials = p->r->hooks.partials;
}

/* The turns recorded and partials sent so far, read on the loop that
 * writes them (so a turn's fields are the test thread's to read once it is
 * counted). */
static inline struct peek peek(struct rig *r)
{
	struct peek p = { .r = r };
	run_on_loop(r->loop, peek_on_loop, &p);
	return p;
}

/* Until the turn is recorded (the STT result came back to the loop). */
static inline void wait_turn(struct rig *r)
{
	for (int i = 0; i < 5000; i++) {
		if (peek(r).turns)
			return;
		usleep(1000);
	}
	fail_msg("no turn recorded");
}

/* wait_for() (stt_fakes.h), and *v got there. */
static inline void wait_reach(atomic_int *v, int n)
{
	wait_for(v, n);
	assert_true(atomic_load(v) >= n);
}

static inline uint64_t early_count(const char *outcome)
{
	char labels[64];
	snprintf(labels, sizeof(labels), "outcome=\"%s\"", outcome);
	return counter("voxgate_stt_early_total", labels);
}

#endif
