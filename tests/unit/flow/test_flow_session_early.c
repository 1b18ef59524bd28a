/* Early decode in the flow session (stt.early_decode): the decode started on
 * a channel's SPEECH_PAUSE answers the turn when LISTEN_DONE names that
 * pause, whether it has finished or is still running; a pause voided by
 * more speech, a failed early decode and a turn that ends otherwise get the
 * ordinary decode of the whole utterance; a busy pool skips early decodes,
 * but a voided one still queued does not count as busy; early decodes off
 * asks the channel for none. The session runs on a real
 * loop thread with a real worker pool and STT service over a fake engine
 * whose transcript tells which audio it decoded ("heard 8000"). */
#include "speech_rig.h"

/* Clips of 8000, 12000, 13600 and 9600 samples. */
static struct rig *open_early(unsigned early_ms)
{
	struct rig_opts o = { .engine = &heard_ops,
			      .early_ms = early_ms,
			      .max_queue = 8,
			      .clip_n = { 8000, 12000, 13600, 9600 } };
	return rig_open(&o);
}

static void busy_done(int err, const struct stt_result *res, void *arg)
{
	(void)err;
	(void)res;
	(void)arg;
}

/* ---- tests ---- */

static void a_finished_early_decode_answers_the_turn(void **s)
{
	(void)s;
	struct rig *r = open_early(100);
	assert_int_equal(r->c.lo.early_ms, 100);
	pause_ev(r, 1, r->clip[0]);
	wait_reach(&heard.finished, 1);
	usleep(50000); /* its result back on the loop */
	run_on_loop(r->loop, nothing, NULL);
	end_ev(r, LISTEN_SPEECH, 1, r->clip[2]);
	wait_turn(r);
	assert_string_equal(r->c.turn_text, "heard 8000");
	assert_string_equal(r->c.turn_engine, "fake");
	assert_true(r->c.turn_early);
	assert_int_equal(atomic_load(&heard.started), 1); /* no second decode */
	assert_int_equal(early_count("used"), 1);
	assert_int_equal(early_count("discarded"), 0);
	rig_close(r);
}

static void a_running_early_decode_is_waited_for(void **s)
{
	(void)s;
	struct rig *r = open_early(100);
	atomic_store(&heard.gate, 1);
	pause_ev(r, 1, r->clip[0]);
	wait_reach(&heard.started, 1);
	end_ev(r, LISTEN_SPEECH, 1, r->clip[2]);
	assert_int_equal(peek(r).turns, 0); /* still decoding */
	atomic_store(&heard.gate, 0);
	wait_turn(r);
	assert_string_equal(r->c.turn_text, "heard 8000");
	assert_true(r->c.turn_early);
	assert_int_equal(atomic_load(&heard.started), 1);
	assert_int_equal(early_count("used"), 1);
	rig_close(r);
}

static void speech_after_a_pause_gets_the_later_decode(void **s)
{
	(void)s;
	struct rig *r = open_early(100);
	pause_ev(r, 1, r->clip[0]);
	/* Taken by the worker: pause 2 cancels a running decode (a queued
	 * one: a_void_queued_early_decode_does_not_skip_the_next). */
	wait_reach(&heard.started, 1);
	pause_ev(r, 2, r->clip[1]);
	end_ev(r, LISTEN_SPEECH, 2, r->clip[2]);
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
	struct rig *r = open_early(100);
	pause_ev(r, 1, r->clip[0]);
	end_ev(r, LISTEN_SPEECH, 0, r->clip[2]);
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
	struct rig *r = open_early(100);
	atomic_store(&heard.fail, 1);
	pause_ev(r, 1, r->clip[0]);
	wait_reach(&heard.finished, 1);
	usleep(50000); /* its error back on the loop */
	run_on_loop(r->loop, nothing, NULL);
	atomic_store(&heard.fail, 0);
	end_ev(r, LISTEN_SPEECH, 1, r->clip[2]);
	wait_turn(r);
	assert_string_equal(r->c.turn_text, "heard 13600");
	assert_false(r->c.turn_early);
	assert_int_equal(atomic_load(&heard.started), 2);
	assert_int_equal(early_count("discarded"), 1);
	rig_close(r);
}

static void a_busy_pool_skips_early_decodes(void **s)
{
	(void)s;
	struct rig *r = open_early(100);
	/* Another call's decode runs, a third one waits in the queue. */
	atomic_store(&heard.gate, 1);
	struct stt_params p = { .mode = STT_MODE_OPEN };
	struct audio_clip *c = r->clip[3];
	struct stt_req *q1 = NULL, *q2 = NULL;
	assert_int_equal(wpool_depth(r->pool), 0);
	assert_true(stt_early_allowed(r->stt));
	/* Submitted from the test thread; their results go to the loop. */
	assert_int_equal(
		stt_recognize(r->stt, c, &p, r->loop, busy_done, NULL, &q1), 0);
	wait_reach(&heard.started, 1);
	assert_int_equal(
		stt_recognize(r->stt, c, &p, r->loop, busy_done, NULL, &q2), 0);
	assert_false(stt_early_allowed(r->stt));
	pause_ev(r, 1, r->clip[0]);
	assert_int_equal(early_count("skipped"), 1);
	atomic_store(&heard.gate, 0);
	end_ev(r, LISTEN_SPEECH, 1, r->clip[2]);
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
	struct rig *r = open_early(100);
	atomic_store(&heard.gate, 1);
	struct stt_params p = { .mode = STT_MODE_OPEN };
	struct stt_req *q1 = NULL;
	assert_int_equal(stt_recognize(r->stt, r->clip[3], &p, r->loop,
				       busy_done, NULL, &q1),
			 0);
	wait_reach(&heard.started, 1);
	pause_ev(r, 1, r->clip[0]); /* queued behind q1 */
	assert_int_equal(wpool_depth(r->pool), 1);
	assert_false(stt_early_allowed(r->stt));
	pause_ev(r, 2, r->clip[1]); /* voids pause 1's, starts its own */
	assert_int_equal(early_count("skipped"), 0);
	assert_int_equal(early_count("discarded"), 1);
	assert_int_equal(wpool_depth(r->pool), 2);
	assert_false(stt_early_allowed(r->stt)); /* pause 2's is live */
	atomic_store(&heard.gate, 0);
	end_ev(r, LISTEN_SPEECH, 2, r->clip[2]);
	wait_turn(r);
	assert_string_equal(r->c.turn_text, "heard 12000");
	assert_true(r->c.turn_early);
	assert_int_equal(early_count("used"), 1);
	/* q1 and pause 2's: the void one was never decoded */
	assert_int_equal(atomic_load(&heard.started), 2);
	assert_int_equal(wpool_depth(r->pool), 0);
	assert_true(stt_early_allowed(r->stt));
	/* nothing left counted as void: a live job waiting keeps them out */
	atomic_store(&heard.gate, 1);
	struct stt_req *q2 = NULL, *q3 = NULL;
	assert_int_equal(stt_recognize(r->stt, r->clip[3], &p, r->loop,
				       busy_done, NULL, &q2),
			 0);
	wait_reach(&heard.started, 3);
	assert_int_equal(stt_recognize(r->stt, r->clip[3], &p, r->loop,
				       busy_done, NULL, &q3),
			 0);
	assert_false(stt_early_allowed(r->stt));
	rig_close(r);
}

static void early_decodes_off_asks_for_no_pause(void **s)
{
	(void)s;
	struct rig *r = open_early(0);
	assert_int_equal(r->c.lo.early_ms, 0);
	/* A channel that raises one anyway is not followed. */
	pause_ev(r, 1, r->clip[0]);
	assert_int_equal(early_count("skipped"), 1);
	end_ev(r, LISTEN_SPEECH, 1, r->clip[2]);
	wait_turn(r);
	assert_string_equal(r->c.turn_text, "heard 13600");
	assert_false(r->c.turn_early);
	rig_close(r);
}

static void hangup_during_an_early_decode_frees_it(void **s)
{
	(void)s;
	struct rig *r = open_early(100);
	atomic_store(&heard.gate, 1);
	pause_ev(r, 1, r->clip[0]);
	wait_reach(&heard.started, 1);
	hangup_ev(r);
	assert_int_equal(early_count("discarded"), 1);
	atomic_store(&heard.gate, 0);
	wait_reach(&heard.finished, 1);
	/* the dropped decode answers nothing */
	assert_int_equal(peek(r).turns, 0);
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
