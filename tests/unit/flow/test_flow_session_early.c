/* Early decode in the flow session (stt.early_decode): the decode started on
 * a channel's SPEECH_PAUSE answers the turn when LISTEN_DONE names that
 * pause, whether it has finished or is still running; a pause voided by
 * more speech, a failed early decode and a turn that ends otherwise get the
 * ordinary decode of the whole utterance; a busy pool skips early decodes,
 * but a voided one still queued does not count as busy; early decodes off
 * asks the channel for none. The session runs on a real
 * loop thread with a real worker pool and STT service over a fake engine
 * whose transcript tells which audio it decoded ("heard 8000"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audio/clip.h"
#include "call/channel.h"
#include "core/loop.h"
#include "core/wpool.h"
#include "engines/stt/stt.h"
#include "flow/flow.h"
#include "metrics/metrics.h"
#include "loop_sync.h"

/* ---- the fake engine ---- */

static atomic_int gate;	    /* decode() waits while set */
static atomic_int started;  /* decode() calls begun */
static atomic_int finished; /* decode() calls returned */
static atomic_int fail;	    /* decode() returns -EIO while set */

static int eng_open(struct stt_engine **ep, const struct stt_engine_cfg *c)
{
	(void)c;
	*ep = calloc(1, sizeof(**ep));
	return *ep ? 0 : -ENOMEM;
}

static void eng_close(struct stt_engine *e)
{
	free(e);
}

static int eng_decode(struct stt_engine *e, const struct stt_request *req,
		      const int16_t *pcm, size_t n, struct stt_result *res)
{
	(void)e;
	(void)req;
	(void)pcm;
	atomic_fetch_add(&started, 1);
	while (atomic_load(&gate))
		usleep(1000);
	int err = atomic_load(&fail) ? -EIO : 0;
	if (!err) {
		memset(res, 0, sizeof(*res));
		snprintf(res->text, sizeof(res->text), "heard %zu", n);
		res->confidence = 0.7f;
	}
	atomic_fetch_add(&finished, 1);
	return err;
}

static const struct stt_engine_ops eng_ops = {
	.name = "fake",
	.caps = STT_CAP_OPEN,
	.open = eng_open,
	.close = eng_close,
	.decode = eng_decode,
};

/* ---- a channel that hears audio: events queued, delivered by the test on
 * the loop thread ---- */

struct chan {
	struct channel ch;
	bool listening, over;
	unsigned listens, early_ms;
	struct channel_event q[16];
	size_t qn;
	unsigned turns;
	bool turn_early;
	char turn_text[128], turn_engine[32];
};

static struct chan *chan_of(struct channel *ch)
{
	return (struct chan *)ch;
}

static void push(struct chan *c, const struct channel_event *ev)
{
	assert_true(c->qn < 16);
	c->q[c->qn++] = *ev;
}

static int ch_play(struct channel *ch, const struct channel_prompt *p)
{
	(void)ch;
	(void)p;
	return -ENOTSUP; /* no prompt plays: the flow has no TTS here */
}

static int ch_collect(struct channel *ch, const struct channel_collect *c)
{
	(void)ch;
	(void)c;
	return -ENOTSUP;
}

static int ch_listen(struct channel *ch, const struct channel_listen *l)
{
	struct chan *c = chan_of(ch);
	if (c->over)
		return -ENOTCONN;
	c->listening = true;
	c->listens++;
	c->early_ms = l->early_ms;
	return 0;
}

static int ch_stop(struct channel *ch)
{
	struct chan *c = chan_of(ch);
	if (c->listening) {
		c->listening = false;
		struct channel_event ev = { .type = CHANNEL_EV_LISTEN_DONE };
		ev.listen.end = LISTEN_STOPPED;
		push(c, &ev);
	}
	return 0;
}

static int ch_transfer(struct channel *ch, const char *target)
{
	(void)ch;
	(void)target;
	return -ENOTSUP;
}

static int ch_hangup(struct channel *ch, const char *reason)
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

static void ch_note_turn(struct channel *ch, const struct channel_turn *t)
{
	struct chan *c = chan_of(ch);
	c->turns++;
	c->turn_early = t->stt_early;
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

/* ---- rig ---- */

static const char *const flow_yaml =
	"name: early\n"
	"start: ask\n"
	"intents:\n"
	"  balance: {examples: [check my balance, what is my balance]}\n"
	"  card: {examples: [i lost my card, my card was stolen]}\n"
	"nodes:\n"
	"  ask:\n"
	"    type: menu\n"
	"    prompt: What do you need?\n"
	"    input: speech\n"
	"    intents: {balance: bye, card: bye}\n"
	"    retries: 0\n"
	"    timeout: 5s\n"
	"    on_max_retries: bye\n"
	"  bye: {type: hangup, reason: completed}\n";

struct rig {
	struct vg_loop *loop;
	struct wpool *pool;
	struct stt *stt;
	struct flow *flow;
	struct flow_session *s;
	struct flow_env env;
	struct chan c;
	struct audio_clip *clip[4]; /* 8000, 12000, 13600, 9600 samples */
};

static void start_on_loop(void *arg)
{
	struct rig *r = arg;
	assert_int_equal(flow_session_create(&r->s, r->flow, &r->c.ch, &r->env),
			 0);
	r->flow = flow_deref(r->flow);
	assert_int_equal(flow_session_start(r->s), 0);
}

static void deliver_on_loop(void *arg)
{
	struct rig *r = arg;
	for (size_t i = 0; i < r->c.qn; i++) {
		struct channel_event ev = r->c.q[i];
		if (r->c.ch.evh)
			r->c.ch.evh(&r->c.ch, &ev, r->c.ch.evarg);
	}
	r->c.qn = 0;
}

static void destroy_on_loop(void *arg)
{
	struct rig *r = arg;
	flow_session_destroy(r->s);
	r->s = NULL;
}

static void nothing(void *arg)
{
	(void)arg;
}

static struct rig *rig_open(unsigned early_ms, size_t max_queue)
{
	metrics_reset();
	atomic_store(&gate, 0);
	atomic_store(&started, 0);
	atomic_store(&finished, 0);
	atomic_store(&fail, 0);
	struct rig *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	assert_int_equal(loop_create(&r->loop, "early-test"), 0);
	assert_int_equal(loop_start(r->loop), 0);
	assert_int_equal(wpool_create(&r->pool, 1, max_queue), 0);
	const struct stt_engine_ops *ops[] = { &eng_ops };
	struct stt_cfg cfg = { .early_ms = early_ms };
	assert_int_equal(stt_create_with_ops(&r->stt, r->pool, ops, 1, &cfg),
			 0);
	struct flow_errors errs = { 0 };
	int err = flow_load_buf("t.yaml", flow_yaml, strlen(flow_yaml),
				&r->flow, &errs);
	if (err)
		fail_msg("%s", errs.msg[0]);
	static const size_t lens[4] = { 8000, 12000, 13600, 9600 };
	for (int i = 0; i < 4; i++) {
		r->clip[i] = audio_clip_alloc(lens[i], AUDIO_RATE_HZ);
		assert_non_null(r->clip[i]);
	}
	r->c.ch.ops = &chan_ops;
	r->c.ch.id = "early-call";
	r->env.stt = r->stt;
	r->env.loop = r->loop;
	run_on_loop(r->loop, start_on_loop, r);
	assert_true(r->c.listening);
	return r;
}

static void rig_close(struct rig *r)
{
	atomic_store(&gate, 0);
	if (r->s)
		run_on_loop(r->loop, destroy_on_loop, r);
	wpool_destroy(r->pool);
	loop_destroy(r->loop);
	stt_destroy(r->stt);
	for (int i = 0; i < 4; i++)
		audio_clip_deref(r->clip[i]);
	free(r);
	metrics_reset();
}

static void pause_ev(struct rig *r, unsigned seq, struct audio_clip *clip)
{
	struct channel_event ev = { .type = CHANNEL_EV_SPEECH_PAUSE };
	ev.pause.audio = clip;
	ev.pause.seq = seq;
	ev.pause.speech_ms = 500;
	push(&r->c, &ev);
	run_on_loop(r->loop, deliver_on_loop, r);
}

static void end_ev(struct rig *r, unsigned pause_seq, struct audio_clip *clip)
{
	r->c.listening = false;
	struct channel_event ev = { .type = CHANNEL_EV_LISTEN_DONE };
	ev.listen.end = LISTEN_SPEECH;
	ev.listen.audio = clip;
	ev.listen.speech_ms = 700;
	ev.listen.speech_end_us = 1;
	ev.listen.pause_seq = pause_seq;
	push(&r->c, &ev);
	run_on_loop(r->loop, deliver_on_loop, r);
}

static void wait_for(atomic_int *v, int n)
{
	for (int i = 0; i < 5000 && atomic_load(v) < n; i++)
		usleep(1000);
	assert_true(atomic_load(v) >= n);
}

struct turns_read {
	struct rig *r;
	unsigned n;
};

static void read_turns(void *arg)
{
	struct turns_read *t = arg;
	t->n = t->r->c.turns;
}

/* The turns recorded so far, read on the loop that writes them (so the
 * turn's fields are the test thread's to read once it is counted). */
static unsigned turns(struct rig *r)
{
	struct turns_read t = { .r = r };
	run_on_loop(r->loop, read_turns, &t);
	return t.n;
}

/* Until the turn is recorded (the STT result came back to the loop). */
static void wait_turn(struct rig *r)
{
	for (int i = 0; i < 5000; i++) {
		if (turns(r))
			return;
		usleep(1000);
	}
	fail_msg("no turn recorded");
}

static void busy_done(int err, const struct stt_result *res, void *arg)
{
	(void)err;
	(void)res;
	(void)arg;
}

static uint64_t early_count(const char *outcome)
{
	char labels[64];
	snprintf(labels, sizeof(labels), "outcome=\"%s\"", outcome);
	return metric_counter_get(
		metrics_counter("voxgate_stt_early_total", labels, "x"));
}

/* ---- tests ---- */

static void a_finished_early_decode_answers_the_turn(void **s)
{
	(void)s;
	struct rig *r = rig_open(100, 8);
	assert_int_equal(r->c.early_ms, 100);
	pause_ev(r, 1, r->clip[0]);
	wait_for(&finished, 1);
	usleep(50000); /* its result back on the loop */
	run_on_loop(r->loop, nothing, NULL);
	end_ev(r, 1, r->clip[2]);
	wait_turn(r);
	assert_string_equal(r->c.turn_text, "heard 8000");
	assert_string_equal(r->c.turn_engine, "fake");
	assert_true(r->c.turn_early);
	assert_int_equal(atomic_load(&started), 1); /* no second decode */
	assert_int_equal(early_count("used"), 1);
	assert_int_equal(early_count("discarded"), 0);
	rig_close(r);
}

static void a_running_early_decode_is_waited_for(void **s)
{
	(void)s;
	struct rig *r = rig_open(100, 8);
	atomic_store(&gate, 1);
	pause_ev(r, 1, r->clip[0]);
	wait_for(&started, 1);
	end_ev(r, 1, r->clip[2]);
	assert_int_equal(turns(r), 0); /* still decoding */
	atomic_store(&gate, 0);
	wait_turn(r);
	assert_string_equal(r->c.turn_text, "heard 8000");
	assert_true(r->c.turn_early);
	assert_int_equal(atomic_load(&started), 1);
	assert_int_equal(early_count("used"), 1);
	rig_close(r);
}

static void speech_after_a_pause_gets_the_later_decode(void **s)
{
	(void)s;
	struct rig *r = rig_open(100, 8);
	pause_ev(r, 1, r->clip[0]);
	/* Taken by the worker: pause 2 cancels a running decode (a queued
	 * one: a_void_queued_early_decode_does_not_skip_the_next). */
	wait_for(&started, 1);
	pause_ev(r, 2, r->clip[1]);
	end_ev(r, 2, r->clip[2]);
	wait_turn(r);
	assert_string_equal(r->c.turn_text, "heard 12000");
	assert_true(r->c.turn_early);
	assert_int_equal(early_count("used"), 1);
	assert_int_equal(early_count("discarded"), 1);
	rig_close(r);
}

static void an_end_naming_no_pause_decodes_the_whole_utterance(void **s)
{
	(void)s;
	struct rig *r = rig_open(100, 8);
	pause_ev(r, 1, r->clip[0]);
	end_ev(r, 0, r->clip[2]);
	wait_turn(r);
	assert_string_equal(r->c.turn_text, "heard 13600");
	assert_false(r->c.turn_early);
	assert_int_equal(early_count("used"), 0);
	assert_int_equal(early_count("discarded"), 1);
	rig_close(r);
}

static void a_failed_early_decode_is_decoded_again(void **s)
{
	(void)s;
	struct rig *r = rig_open(100, 8);
	atomic_store(&fail, 1);
	pause_ev(r, 1, r->clip[0]);
	wait_for(&finished, 1);
	usleep(50000); /* its error back on the loop */
	run_on_loop(r->loop, nothing, NULL);
	atomic_store(&fail, 0);
	end_ev(r, 1, r->clip[2]);
	wait_turn(r);
	assert_string_equal(r->c.turn_text, "heard 13600");
	assert_false(r->c.turn_early);
	assert_int_equal(atomic_load(&started), 2);
	assert_int_equal(early_count("discarded"), 1);
	rig_close(r);
}

static void a_busy_pool_skips_early_decodes(void **s)
{
	(void)s;
	struct rig *r = rig_open(100, 8);
	/* Another call's decode runs, a third one waits in the queue. */
	atomic_store(&gate, 1);
	struct stt_params p = { .mode = STT_MODE_OPEN };
	struct audio_clip *c = r->clip[3];
	struct stt_req *q1 = NULL, *q2 = NULL;
	assert_int_equal(wpool_depth(r->pool), 0);
	assert_true(stt_early_allowed(r->stt));
	/* Submitted from the test thread; their results go to the loop. */
	assert_int_equal(
		stt_recognize(r->stt, c, &p, r->loop, busy_done, NULL, &q1), 0);
	wait_for(&started, 1);
	assert_int_equal(
		stt_recognize(r->stt, c, &p, r->loop, busy_done, NULL, &q2), 0);
	assert_false(stt_early_allowed(r->stt));
	pause_ev(r, 1, r->clip[0]);
	assert_int_equal(early_count("skipped"), 1);
	atomic_store(&gate, 0);
	end_ev(r, 1, r->clip[2]);
	wait_turn(r);
	assert_string_equal(r->c.turn_text, "heard 13600");
	assert_false(r->c.turn_early);
	rig_close(r);
}

/* A pause's early decode waits in the queue behind another call's decode;
 * more speech voids it (cancelled, still queued). The next pause's early
 * decode is started all the same: the void one costs the worker nothing.
 * A live early decode in the queue still keeps others out. */
static void a_void_queued_early_decode_does_not_skip_the_next(void **s)
{
	(void)s;
	struct rig *r = rig_open(100, 8);
	atomic_store(&gate, 1);
	struct stt_params p = { .mode = STT_MODE_OPEN };
	struct stt_req *q1 = NULL;
	assert_int_equal(stt_recognize(r->stt, r->clip[3], &p, r->loop,
				       busy_done, NULL, &q1),
			 0);
	wait_for(&started, 1);
	pause_ev(r, 1, r->clip[0]); /* queued behind q1 */
	assert_int_equal(wpool_depth(r->pool), 1);
	assert_false(stt_early_allowed(r->stt));
	pause_ev(r, 2, r->clip[1]); /* voids pause 1's, starts its own */
	assert_int_equal(early_count("skipped"), 0);
	assert_int_equal(early_count("discarded"), 1);
	assert_int_equal(wpool_depth(r->pool), 2);
	assert_false(stt_early_allowed(r->stt)); /* pause 2's is live */
	atomic_store(&gate, 0);
	end_ev(r, 2, r->clip[2]);
	wait_turn(r);
	assert_string_equal(r->c.turn_text, "heard 12000");
	assert_true(r->c.turn_early);
	assert_int_equal(early_count("used"), 1);
	/* q1 and pause 2's: the void one was never decoded */
	assert_int_equal(atomic_load(&started), 2);
	assert_int_equal(wpool_depth(r->pool), 0);
	assert_true(stt_early_allowed(r->stt));
	/* nothing left counted as void: a live job waiting keeps them out */
	atomic_store(&gate, 1);
	struct stt_req *q2 = NULL, *q3 = NULL;
	assert_int_equal(stt_recognize(r->stt, r->clip[3], &p, r->loop,
				       busy_done, NULL, &q2),
			 0);
	wait_for(&started, 3);
	assert_int_equal(stt_recognize(r->stt, r->clip[3], &p, r->loop,
				       busy_done, NULL, &q3),
			 0);
	assert_false(stt_early_allowed(r->stt));
	rig_close(r);
}

static void early_decodes_off_asks_for_no_pause(void **s)
{
	(void)s;
	struct rig *r = rig_open(0, 8);
	assert_int_equal(r->c.early_ms, 0);
	/* A channel that raises one anyway is not followed. */
	pause_ev(r, 1, r->clip[0]);
	assert_int_equal(early_count("skipped"), 1);
	end_ev(r, 1, r->clip[2]);
	wait_turn(r);
	assert_string_equal(r->c.turn_text, "heard 13600");
	assert_false(r->c.turn_early);
	rig_close(r);
}

static void hangup_during_an_early_decode_frees_it(void **s)
{
	(void)s;
	struct rig *r = rig_open(100, 8);
	atomic_store(&gate, 1);
	pause_ev(r, 1, r->clip[0]);
	wait_for(&started, 1);
	struct channel_event ev = { .type = CHANNEL_EV_HANGUP };
	ev.hangup.reason = "caller_hangup";
	r->c.over = true;
	push(&r->c, &ev);
	run_on_loop(r->loop, deliver_on_loop, r);
	assert_int_equal(early_count("discarded"), 1);
	atomic_store(&gate, 0);
	wait_for(&finished, 1);
	assert_int_equal(turns(r), 0); /* the dropped decode answers nothing */
	rig_close(r); /* ASan: the job and the request are freed */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_finished_early_decode_answers_the_turn),
		cmocka_unit_test(a_running_early_decode_is_waited_for),
		cmocka_unit_test(speech_after_a_pause_gets_the_later_decode),
		cmocka_unit_test(
			an_end_naming_no_pause_decodes_the_whole_utterance),
		cmocka_unit_test(a_failed_early_decode_is_decoded_again),
		cmocka_unit_test(a_busy_pool_skips_early_decodes),
		cmocka_unit_test(
			a_void_queued_early_decode_does_not_skip_the_next),
		cmocka_unit_test(early_decodes_off_asks_for_no_pause),
		cmocka_unit_test(hangup_during_an_early_decode_frees_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
