/* The STT service over fake engines: chain order, fallback on error and on a
 * late result, capability filtering, grammar snapping by an open engine, the
 * bounded queue, cancel, exactly-once callbacks on the loop, the sync path
 * and the metrics. Real loop thread, real worker pool. */
#include "loop_sync.h"
#include "stt_fakes.h"

static const struct stt_engine_ops *const all_ops[] = {
	&fake_a_ops,
	&fake_b_ops,
	&fake_g_ops,
	&fake_missing_ops,
};

/* The service over all four fakes, one worker. */
static void env_open(struct env *e, const char *engines, unsigned deadline_ms,
		     size_t max_queue)
{
	env_open_ops(e, all_ops, 4, engines, deadline_ms, 1, max_queue);
}

/* One request's outcome, written on the loop thread. */
struct outcome {
	struct vg_loop *loop;
	atomic_int calls;
	atomic_int on_loop;
	int err;
	char text[STT_TEXT_MAX + 1];
	const char *engine;
};

static void on_done(int err, const struct stt_result *res, void *arg)
{
	struct outcome *o = arg;
	if (loop_is_current(o->loop))
		atomic_fetch_add(&o->on_loop, 1);
	o->err = err;
	if (!err) {
		snprintf(o->text, sizeof(o->text), "%s", res->text);
		o->engine = res->engine;
	}
	atomic_fetch_add(&o->calls, 1);
}

static struct stt_params open_params(const char *engines)
{
	return (struct stt_params){ .mode = STT_MODE_OPEN, .engines = engines };
}

static int sync_open(struct env *e, const char *engines, struct stt_result *r)
{
	struct stt_params p = open_params(engines);
	return stt_recognize_sync(e->stt, e->clip->samples, e->clip->nsamples,
				  &p, r);
}

/* ---- tests ---- */

static void configured_order_is_the_default_chain(void **s)
{
	(void)s;
	struct env e;
	env_open(&e, "fake_b, fake_a", 0, 4);
	assert_string_equal(stt_engines(e.stt), "fake_b,fake_a");
	struct stt_result r;
	assert_int_equal(sync_open(&e, NULL, &r), 0);
	assert_string_equal(r.engine, "fake_b");
	assert_string_equal(r.text, "from b");
	assert_int_equal(r.audio_ms, 1000);
	assert_int_equal(atomic_load(&fakes[FAKE_A].calls), 0);
	/* a step's own chain overrides the default order */
	assert_int_equal(sync_open(&e, "fake_a,fake_b", &r), 0);
	assert_string_equal(r.engine, "fake_a");
	assert_non_null(stt_engine_find(e.stt, "fake_a"));
	assert_null(stt_engine_find(e.stt, "fake_g"));
	env_close(&e);
	assert_int_equal(atomic_load(&fakes[FAKE_A].closed), 1);
	assert_int_equal(atomic_load(&fakes[FAKE_B].closed), 1);
}

static void missing_engines_are_left_out_and_none_is_enoent(void **s)
{
	(void)s;
	struct env e;
	env_open(&e, NULL, 0, 4);
	assert_string_equal(stt_engines(e.stt), "fake_a,fake_b,fake_g");
	env_close(&e);

	struct stt *st = NULL;
	struct stt_cfg cfg = { .engines = "fake_missing" };
	assert_int_equal(stt_create_with_ops(&st, NULL, all_ops, 4, &cfg),
			 -ENOENT);
	assert_null(st);
	cfg.engines = "fake_a,no_such_engine";
	assert_int_equal(stt_create_with_ops(&st, NULL, all_ops, 4, &cfg),
			 -EINVAL);
	assert_null(st);
	/* the opened one was closed again */
	assert_int_equal(atomic_load(&fakes[FAKE_A].closed), 2);
}

static void engine_error_falls_back_to_the_next_and_counts_it(void **s)
{
	(void)s;
	struct env e;
	env_open(&e, "fake_a,fake_b", 0, 4);
	fakes[FAKE_A].err = -EIO;
	struct stt_result r;
	assert_int_equal(sync_open(&e, NULL, &r), 0);
	assert_string_equal(r.engine, "fake_b");
	assert_int_equal(counter("voxgate_stt_fallback_total",
				 "from=\"fake_a\",to=\"fake_b\""),
			 1);
	assert_int_equal(counter("voxgate_stt_requests_total",
				 "engine=\"fake_a\",result=\"error\""),
			 1);
	assert_int_equal(counter("voxgate_stt_requests_total",
				 "engine=\"fake_b\",result=\"ok\""),
			 1);
	/* every engine failing: the last error, no further switch */
	fakes[FAKE_B].err = -ENOMEM;
	assert_int_equal(sync_open(&e, NULL, &r), -ENOMEM);
	assert_int_equal(counter("voxgate_stt_fallback_total",
				 "from=\"fake_a\",to=\"fake_b\""),
			 2);
	assert_int_equal(counter("voxgate_stt_fallback_total",
				 "from=\"fake_b\",to=\"fake_a\""),
			 0);
	env_close(&e);
}

static void hearing_nothing_hands_the_audio_to_the_next_engine(void **s)
{
	(void)s;
	struct env e;
	env_open(&e, "fake_a,fake_b", 0, 4);
	fakes[FAKE_A].text = "";
	struct stt_result r;
	assert_int_equal(sync_open(&e, NULL, &r), 0);
	assert_string_equal(r.engine, "fake_b");
	assert_string_equal(r.text, "from b");
	assert_int_equal(counter("voxgate_stt_requests_total",
				 "engine=\"fake_a\",result=\"empty\""),
			 1);
	assert_int_equal(counter("voxgate_stt_fallback_total",
				 "from=\"fake_a\",to=\"fake_b\""),
			 1);
	/* nobody hears anything: an empty result, not an error */
	fakes[FAKE_B].text = "";
	assert_int_equal(sync_open(&e, NULL, &r), 0);
	assert_string_equal(r.text, "");
	/* one hears nothing, the other fails: still the empty result */
	fakes[FAKE_B].err = -EIO;
	assert_int_equal(sync_open(&e, NULL, &r), 0);
	assert_string_equal(r.engine, "fake_a");
	assert_string_equal(r.text, "");
	env_close(&e);
}

static void an_open_step_lm_serves_the_lm_capable_fallback(void **s)
{
	(void)s;
	struct env e;
	env_open(&e, "fake_a,fake_g", 0, 4);
	fakes[FAKE_A].text = "";
	const char *ex[] = { "check my balance", "i lost my card" };
	struct stt_grammar *lm = NULL;
	assert_int_equal(stt_grammar_create(&lm, STT_MODE_LM, ex, 2, 0), 0);
	struct stt_params p = open_params(NULL);
	p.lm = lm;
	struct stt_result r;
	assert_int_equal(stt_recognize_sync(e.stt, e.clip->samples,
					    e.clip->nsamples, &p, &r),
			 0);
	assert_string_equal(r.engine, "fake_g");
	assert_int_equal(fakes[FAKE_A].last_mode, STT_MODE_OPEN);
	assert_false(fakes[FAKE_A].last_snap); /* open speech: not snapped */
	assert_int_equal(fakes[FAKE_G].last_mode, STT_MODE_LM);
	assert_ptr_equal(fakes[FAKE_G].last_grammar, lm);
	stt_grammar_deref(lm);
	env_close(&e);
}

static void late_result_falls_back_and_all_late_is_etimedout(void **s)
{
	(void)s;
	struct env e;
	env_open(&e, "fake_a,fake_b", 40, 4);
	fakes[FAKE_A].sleep_ms = 120;
	struct stt_result r;
	assert_int_equal(sync_open(&e, NULL, &r), 0);
	assert_string_equal(r.engine, "fake_b");
	assert_int_equal(atomic_load(&fakes[FAKE_A].calls), 1);
	assert_int_equal(counter("voxgate_stt_fallback_total",
				 "from=\"fake_a\",to=\"fake_b\""),
			 1);
	fakes[FAKE_B].sleep_ms = 120;
	assert_int_equal(sync_open(&e, NULL, &r), -ETIMEDOUT);
	/* a step may allow more time than the service default */
	struct stt_params p = open_params(NULL);
	p.deadline_ms = 5000;
	assert_int_equal(stt_recognize_sync(e.stt, e.clip->samples,
					    e.clip->nsamples, &p, &r),
			 0);
	assert_string_equal(r.engine, "fake_a");
	assert_true(r.decode_us >= 120000);
	assert_true(metric_histogram_count(metrics_histogram(
			    "voxgate_stt_decode_seconds", "engine=\"fake_a\"",
			    "x", NULL, 0)) == 3);
	env_close(&e);
}

static void engines_without_the_mode_are_skipped(void **s)
{
	(void)s;
	struct env e;
	env_open(&e, "fake_g,fake_a", 0, 4);
	struct stt_result r;
	/* fake_g has no OPEN cap: an open step goes to fake_a */
	assert_int_equal(sync_open(&e, NULL, &r), 0);
	assert_string_equal(r.engine, "fake_a");
	assert_int_equal(atomic_load(&fakes[FAKE_G].started), 0);
	assert_int_equal(sync_open(&e, "fake_g", &r), -ENOTSUP);
	assert_int_equal(sync_open(&e, "nobody", &r), -ENOTSUP);
	assert_int_equal(atomic_load(&fakes[FAKE_G].started), 0);

	/* an LM step: fake_g natively (with the LM), fake_a decodes open */
	const char *sent[] = { "i lost my card", "what is my balance" };
	struct stt_grammar *lm = NULL;
	assert_int_equal(stt_grammar_create(&lm, STT_MODE_LM, sent, 2, 0), 0);
	struct stt_params p = { .mode = STT_MODE_LM, .grammar = lm };
	assert_int_equal(stt_recognize_sync(e.stt, e.clip->samples,
					    e.clip->nsamples, &p, &r),
			 0);
	assert_string_equal(r.engine, "fake_g");
	assert_int_equal(fakes[FAKE_G].last_mode, STT_MODE_LM);
	assert_ptr_equal(fakes[FAKE_G].last_grammar, lm);
	p.engines = "fake_a";
	assert_int_equal(stt_recognize_sync(e.stt, e.clip->samples,
					    e.clip->nsamples, &p, &r),
			 0);
	assert_string_equal(r.engine, "fake_a");
	assert_int_equal(fakes[FAKE_A].last_mode, STT_MODE_OPEN);
	assert_null(fakes[FAKE_A].last_grammar);
	/* a grammar of the wrong mode is a bad argument */
	p.mode = STT_MODE_GRAMMAR;
	assert_int_equal(stt_recognize_sync(e.stt, e.clip->samples,
					    e.clip->nsamples, &p, &r),
			 -EINVAL);
	stt_grammar_deref(lm);
	env_close(&e);
}

static void open_engine_snaps_its_transcript_to_the_grammar(void **s)
{
	(void)s;
	struct env e;
	env_open(&e, "fake_a,fake_g", 0, 4);
	const char *phrases[] = { "check my balance", "talk to an agent",
				  "report a lost card" };
	struct stt_grammar *g = NULL;
	assert_int_equal(
		stt_grammar_create(&g, STT_MODE_GRAMMAR, phrases, 3, 0), 0);
	struct stt_params p = {
		.mode = STT_MODE_GRAMMAR,
		.grammar = g,
		.engines = "fake_a",
	};
	struct stt_result r;
	fakes[FAKE_A].text = "talk to an agent";
	assert_int_equal(stt_recognize_sync(e.stt, e.clip->samples,
					    e.clip->nsamples, &p, &r),
			 0);
	assert_string_equal(r.text, "talk to an agent");
	assert_non_null(r.grammar_phrase);
	assert_string_equal(r.grammar_phrase, "talk to an agent");
	assert_int_equal(fakes[FAKE_A].last_mode, STT_MODE_OPEN);
	assert_true(fakes[FAKE_A].last_snap); /* the engine decodes greedy */
	assert_null(fakes[FAKE_A].last_grammar);

	/* far from every phrase: a no-match (empty text, no error) */
	fakes[FAKE_A].text = "what is the weather like in paris today";
	assert_int_equal(stt_recognize_sync(e.stt, e.clip->samples,
					    e.clip->nsamples, &p, &r),
			 0);
	assert_string_equal(r.text, "");
	assert_null(r.grammar_phrase);
	assert_int_equal(counter("voxgate_stt_requests_total",
				 "engine=\"fake_a\",result=\"empty\""),
			 1);

	/* default chain: the native grammar engine first */
	p.engines = NULL;
	assert_int_equal(stt_recognize_sync(e.stt, e.clip->samples,
					    e.clip->nsamples, &p, &r),
			 0);
	assert_string_equal(r.engine, "fake_g");
	assert_int_equal(fakes[FAKE_G].last_mode, STT_MODE_GRAMMAR);
	assert_ptr_equal(fakes[FAKE_G].last_grammar, g);
	stt_grammar_deref(g);

	/* a digits class accepts an open engine's digit string as is */
	assert_int_equal(stt_grammar_create(&g, STT_MODE_GRAMMAR, NULL, 0,
					    STT_CLASS_DIGITS),
			 0);
	p.grammar = g;
	p.engines = "fake_a";
	fakes[FAKE_A].text = "four one one";
	assert_int_equal(stt_recognize_sync(e.stt, e.clip->samples,
					    e.clip->nsamples, &p, &r),
			 0);
	assert_string_equal(r.text, "four one one");
	assert_null(r.grammar_phrase);
	fakes[FAKE_A].text = "four one banana";
	assert_int_equal(stt_recognize_sync(e.stt, e.clip->samples,
					    e.clip->nsamples, &p, &r),
			 0);
	assert_string_equal(r.text, "");
	stt_grammar_deref(g);

	/* and a yes/no class a short answer, but not a digit string */
	assert_int_equal(stt_grammar_create(&g, STT_MODE_GRAMMAR, NULL, 0,
					    STT_CLASS_YESNO),
			 0);
	p.grammar = g;
	fakes[FAKE_A].text = "no thanks";
	assert_int_equal(stt_recognize_sync(e.stt, e.clip->samples,
					    e.clip->nsamples, &p, &r),
			 0);
	assert_string_equal(r.text, "no thanks");
	fakes[FAKE_A].text = "four one one";
	assert_int_equal(stt_recognize_sync(e.stt, e.clip->samples,
					    e.clip->nsamples, &p, &r),
			 0);
	assert_string_equal(r.text, "");
	stt_grammar_deref(g);
	env_close(&e);
}

static void result_arrives_once_on_the_requesting_loop(void **s)
{
	(void)s;
	struct env e;
	env_open(&e, "fake_a", 0, 64);
	enum { N = 20 };
	struct outcome o = { .loop = e.loop };
	struct stt_params p = open_params(NULL);
	p.call_id = "call-1";
	for (int i = 0; i < N; i++)
		assert_int_equal(stt_recognize(e.stt, e.clip, &p, e.loop,
					       on_done, &o, NULL),
				 0);
	wait_for(&o.calls, N);
	usleep(50000); /* a duplicate would show up by now */
	assert_int_equal(atomic_load(&o.calls), N);
	assert_int_equal(atomic_load(&o.on_loop), N);
	assert_int_equal(o.err, 0);
	assert_string_equal(o.text, "from a");
	assert_string_equal(o.engine, "fake_a");
	/* 20 x 1 s of audio */
	assert_int_equal(counter("voxgate_stt_audio_seconds_total", NULL), N);
	env_close(&e);
}

static void errors_reach_the_callback_and_bad_requests_do_not(void **s)
{
	(void)s;
	struct env e;
	env_open(&e, "fake_a", 0, 4);
	fakes[FAKE_A].err = -EIO;
	struct outcome o = { .loop = e.loop };
	struct stt_params p = open_params(NULL);
	assert_int_equal(
		stt_recognize(e.stt, e.clip, &p, e.loop, on_done, &o, NULL), 0);
	wait_for(&o.calls, 1);
	assert_int_equal(o.err, -EIO);

	struct audio_clip *wide = audio_clip_alloc(16000, 16000);
	struct audio_clip *empty = audio_clip_alloc(0, AUDIO_RATE_HZ);
	assert_int_equal(
		stt_recognize(e.stt, wide, &p, e.loop, on_done, &o, NULL),
		-EINVAL);
	assert_int_equal(
		stt_recognize(e.stt, empty, &p, e.loop, on_done, &o, NULL),
		-EINVAL);
	assert_int_equal(
		stt_recognize(e.stt, e.clip, &p, NULL, on_done, &o, NULL),
		-EINVAL);
	p.engines = "fake_g"; /* not opened here */
	assert_int_equal(
		stt_recognize(e.stt, e.clip, &p, e.loop, on_done, &o, NULL),
		-ENOTSUP);
	usleep(20000);
	assert_int_equal(atomic_load(&o.calls), 1);
	audio_clip_deref(wide);
	audio_clip_deref(empty);
	env_close(&e);
}

static void full_queue_refuses_with_eagain(void **s)
{
	(void)s;
	struct env e;
	env_open(&e, "fake_a", 0, 1);
	atomic_store(&fakes[FAKE_A].gate, 1);
	struct outcome o = { .loop = e.loop };
	struct stt_params p = open_params(NULL);
	/* one request holds the only worker, one waits in the queue */
	assert_int_equal(
		stt_recognize(e.stt, e.clip, &p, e.loop, on_done, &o, NULL), 0);
	wait_for(&fakes[FAKE_A].started, 1);
	assert_int_equal(
		stt_recognize(e.stt, e.clip, &p, e.loop, on_done, &o, NULL), 0);
	assert_int_equal(
		stt_recognize(e.stt, e.clip, &p, e.loop, on_done, &o, NULL),
		-EAGAIN);
	assert_int_equal(counter("voxgate_stt_rejected_total", NULL), 1);
	atomic_store(&fakes[FAKE_A].release, 1);
	wait_for(&o.calls, 2);
	usleep(20000);
	assert_int_equal(atomic_load(&o.calls), 2);
	assert_int_equal(o.err, 0);
	env_close(&e);
}

/* stt_cancel() runs on the loop thread, as the call model does it. */
struct cancel_msg {
	struct stt_req *req;
	atomic_int done;
};

static void cancel_on_loop(void *arg)
{
	struct cancel_msg *m = arg;
	stt_cancel(m->req);
	atomic_store(&m->done, 1);
}

static void mark_on_loop(void *arg)
{
	atomic_store((atomic_int *)arg, 1);
}

static void cancelled_request_never_calls_back(void **s)
{
	(void)s;
	struct env e;
	env_open(&e, "fake_a", 0, 4);
	atomic_store(&fakes[FAKE_A].gate, 1);
	struct outcome o = { .loop = e.loop };
	struct stt_params p = open_params(NULL);
	struct stt_req *running = NULL, *queued = NULL;
	/* the caller's own grammar and clip may go away after cancel */
	struct audio_clip *clip = audio_clip_alloc(4000, AUDIO_RATE_HZ);
	assert_int_equal(
		stt_recognize(e.stt, clip, &p, e.loop, on_done, &o, &running),
		0);
	assert_int_equal(
		stt_recognize(e.stt, clip, &p, e.loop, on_done, &o, &queued),
		0);
	clip = audio_clip_deref(clip);
	wait_for(&fakes[FAKE_A].started, 1);

	struct cancel_msg m1 = { .req = running }, m2 = { .req = queued };
	assert_int_equal(loop_post(e.loop, cancel_on_loop, &m1), 0);
	assert_int_equal(loop_post(e.loop, cancel_on_loop, &m2), 0);
	wait_for(&m1.done, 1);
	wait_for(&m2.done, 1);
	atomic_store(&fakes[FAKE_A].release, 1);

	/* let both jobs finish; the loop queue is FIFO, so once the marker
	 * runs, both completions have run too */
	wpool_destroy(e.pool);
	e.pool = NULL;
	atomic_int mark = 0;
	assert_int_equal(loop_post(e.loop, mark_on_loop, &mark), 0);
	wait_for(&mark, 1);
	assert_int_equal(atomic_load(&o.calls), 0);
	/* the queued one was dropped before decoding */
	assert_int_equal(atomic_load(&fakes[FAKE_A].calls), 1);
	env_close(&e);
}

static void cancel_run(void *arg)
{
	stt_cancel(arg);
}

/* stt_early_allowed() counts what waits in the worker queue, less the
 * requests cancelled there (a worker drops those undecoded): each counted
 * once, however often cancelled, and not once a worker has taken it. */
static void early_decodes_wait_only_for_live_queued_jobs(void **s)
{
	(void)s;
	struct env e;
	env_open(&e, "fake_a", 0, 4);
	stt_destroy(e.stt);
	struct stt_cfg cfg = { .engines = "fake_a", .early_ms = 100 };
	assert_int_equal(stt_create_with_ops(&e.stt, e.pool, all_ops, 4, &cfg),
			 0);
	atomic_store(&fakes[FAKE_A].gate, 1);
	struct outcome o = { .loop = e.loop };
	struct stt_params p = open_params(NULL);
	struct stt_req *run = NULL, *q1 = NULL, *q2 = NULL;
	assert_true(stt_early_allowed(e.stt));
	assert_int_equal(
		stt_recognize(e.stt, e.clip, &p, e.loop, on_done, &o, &run), 0);
	wait_for(&fakes[FAKE_A].started, 1);
	assert_true(stt_early_allowed(e.stt)); /* running is not waiting */
	assert_int_equal(
		stt_recognize(e.stt, e.clip, &p, e.loop, on_done, &o, &q1), 0);
	assert_int_equal(
		stt_recognize(e.stt, e.clip, &p, e.loop, on_done, &o, &q2), 0);
	assert_false(stt_early_allowed(e.stt));
	run_on_loop(e.loop, cancel_run, run); /* taken: nothing changes */
	run_on_loop(e.loop, cancel_run, q1);
	run_on_loop(e.loop, cancel_run, q1);	/* twice: counted once */
	assert_false(stt_early_allowed(e.stt)); /* q2 still waits */
	run_on_loop(e.loop, cancel_run, q2);
	assert_true(stt_early_allowed(e.stt));
	/* the void ones leave the queue undecoded, and uncounted: a live job
	 * waiting behind the next running one keeps early decodes out */
	atomic_store(&fakes[FAKE_A].release, 1);
	atomic_store(&fakes[FAKE_A].gate, 0);
	wait_for(&fakes[FAKE_A].calls, 1);
	atomic_store(&fakes[FAKE_A].release, 0);
	atomic_store(&fakes[FAKE_A].gate, 1);
	struct stt_req *run2 = NULL, *q3 = NULL;
	assert_int_equal(
		stt_recognize(e.stt, e.clip, &p, e.loop, on_done, &o, &run2),
		0);
	wait_for(&fakes[FAKE_A].started, 2);
	assert_int_equal(atomic_load(&fakes[FAKE_A].started), 2);
	assert_true(stt_early_allowed(e.stt));
	assert_int_equal(
		stt_recognize(e.stt, e.clip, &p, e.loop, on_done, &o, &q3), 0);
	assert_false(stt_early_allowed(e.stt));
	atomic_store(&fakes[FAKE_A].release, 1);
	wait_for(&o.calls, 2); /* run2 and q3; run, q1 and q2 cancelled */
	usleep(20000);
	assert_int_equal(atomic_load(&o.calls), 2);
	assert_int_equal(atomic_load(&fakes[FAKE_A].started), 3);
	env_close(&e);
}

static void sync_path_checks_its_arguments(void **s)
{
	(void)s;
	struct env e;
	env_open(&e, "fake_a", 0, 4);
	struct stt_result r;
	struct stt_params p = open_params(NULL);
	assert_int_equal(stt_recognize_sync(e.stt, e.clip->samples, 0, &p, &r),
			 -EINVAL);
	assert_int_equal(stt_recognize_sync(e.stt, NULL, 10, &p, &r), -EINVAL);
	assert_int_equal(stt_recognize_sync(
				 e.stt, e.clip->samples,
				 (size_t)STT_UTTERANCE_MAX_MS * 8 + 1, &p, &r),
			 -EINVAL);
	p.mode = STT_MODE_GRAMMAR; /* no grammar */
	assert_int_equal(stt_recognize_sync(e.stt, e.clip->samples,
					    e.clip->nsamples, &p, &r),
			 -EINVAL);
	assert_int_equal(sync_open(&e, NULL, &r), 0);
	assert_string_equal(r.text, "from a");
	assert_true(r.confidence > 0.7f && r.confidence < 0.9f);
	stt_destroy(NULL);
	stt_cancel(NULL);
	env_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(configured_order_is_the_default_chain),
		cmocka_unit_test(
			missing_engines_are_left_out_and_none_is_enoent),
		cmocka_unit_test(
			engine_error_falls_back_to_the_next_and_counts_it),
		cmocka_unit_test(
			hearing_nothing_hands_the_audio_to_the_next_engine),
		cmocka_unit_test(
			an_open_step_lm_serves_the_lm_capable_fallback),
		cmocka_unit_test(
			late_result_falls_back_and_all_late_is_etimedout),
		cmocka_unit_test(engines_without_the_mode_are_skipped),
		cmocka_unit_test(
			open_engine_snaps_its_transcript_to_the_grammar),
		cmocka_unit_test(result_arrives_once_on_the_requesting_loop),
		cmocka_unit_test(
			errors_reach_the_callback_and_bad_requests_do_not),
		cmocka_unit_test(full_queue_refuses_with_eagain),
		cmocka_unit_test(cancelled_request_never_calls_back),
		cmocka_unit_test(early_decodes_wait_only_for_live_queued_jobs),
		cmocka_unit_test(sync_path_checks_its_arguments),
	};
	return cmocka_run_group_tests(tests, libre_setup, libre_teardown);
}
