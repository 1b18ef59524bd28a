/* The service under load: each engine is told how long a request waited in
 * the worker queue (stt_request.queued_ms), and a result an engine decoded
 * degraded counts in voxgate_stt_degraded_total{engine}. A fake LM engine
 * that degrades from DEGRADE_MS; real loop thread, real one-thread pool. */
#include "stt_fakes.h"

#include "loop_sync.h"

#define DEGRADE_MS 200u
#define HOLD_MS 400u /* the first request holds the only worker this long */

static atomic_uint last_queued_ms;

static int degrading_decode(struct stt_engine *e, const struct stt_request *req,
			    const int16_t *pcm, size_t n,
			    struct stt_result *res)
{
	atomic_store(&last_queued_ms, req->queued_ms);
	int err = fake_decode(e, req, pcm, n, res);
	if (!err)
		res->degraded = req->queued_ms >= DEGRADE_MS;
	return err;
}

static const struct stt_engine_ops fake_lm_ops = {
	.name = "fake_lm",
	.caps = STT_CAP_GRAMMAR | STT_CAP_LM,
	.open = fake_g_open,
	.close = fake_close,
	.decode = degrading_decode,
};

static const struct stt_engine_ops *const ops[] = { &fake_lm_ops };

struct outcome {
	atomic_int calls;
	int err;
	bool degraded;
	char text[STT_TEXT_MAX + 1];
};

static void on_done(int err, const struct stt_result *res, void *arg)
{
	struct outcome *o = arg;
	o->err = err;
	if (!err) {
		o->degraded = res->degraded;
		snprintf(o->text, sizeof(o->text), "%s", res->text);
	}
	atomic_fetch_add(&o->calls, 1);
}

static uint64_t degraded_count(void)
{
	return counter("voxgate_stt_degraded_total", "engine=\"fake_lm\"");
}

static void a_request_that_waited_is_degraded_and_counted(void **s)
{
	(void)s;
	struct env e;
	env_open_ops(&e, ops, 1, NULL, 0, 1, 8);
	static const char *const text[] = { "i lost my card" };
	struct stt_grammar *lm = NULL;
	assert_int_equal(stt_grammar_create(&lm, STT_MODE_LM, text, 1, 0), 0);
	struct stt_params p = { .mode = STT_MODE_LM, .grammar = lm };

	/* the first request takes the idle worker at once and holds it */
	fakes[FAKE_G].gate = 1;
	struct outcome first = { 0 }, second = { 0 };
	assert_int_equal(
		stt_recognize(e.stt, e.clip, &p, e.loop, on_done, &first, NULL),
		0);
	wait_for(&fakes[FAKE_G].started, 1);
	assert_int_equal(atomic_load(&fakes[FAKE_G].started), 1);
	uint32_t first_queued = atomic_load(&last_queued_ms);
	/* the second waits behind it at least HOLD_MS */
	assert_int_equal(stt_recognize(e.stt, e.clip, &p, e.loop, on_done,
				       &second, NULL),
			 0);
	usleep(HOLD_MS * 1000u);
	atomic_store(&fakes[FAKE_G].release, 1);
	wait_for(&second.calls, 1);
	wait_for(&first.calls, 1);
	assert_int_equal(atomic_load(&first.calls), 1);
	assert_int_equal(atomic_load(&second.calls), 1);
	uint32_t second_queued = atomic_load(&last_queued_ms);
	print_message("queued: first %u ms, second %u ms\n", first_queued,
		      second_queued);

	assert_int_equal(first.err, 0);
	assert_int_equal(second.err, 0);
	assert_true(first_queued < DEGRADE_MS);
	assert_true(second_queued >= HOLD_MS);
	assert_false(first.degraded);
	assert_true(second.degraded);
	assert_string_equal(second.text, "from g");
	assert_int_equal(degraded_count(), 1);

	/* a sync request never waited in a queue */
	struct stt_result r;
	assert_int_equal(stt_recognize_sync(e.stt, e.clip->samples,
					    e.clip->nsamples, &p, &r),
			 0);
	assert_int_equal(atomic_load(&last_queued_ms), 0);
	assert_false(r.degraded);
	assert_int_equal(degraded_count(), 1);
	stt_grammar_deref(lm);
	env_close(&e);
}

static void an_idle_pool_decodes_at_full_quality(void **s)
{
	(void)s;
	struct env e;
	env_open_ops(&e, ops, 1, NULL, 0, 1, 8);
	static const char *const text[] = { "what is my balance" };
	struct stt_grammar *lm = NULL;
	assert_int_equal(stt_grammar_create(&lm, STT_MODE_LM, text, 1, 0), 0);
	struct stt_params p = { .mode = STT_MODE_LM, .grammar = lm };
	for (int i = 0; i < 3; i++) {
		struct outcome o = { 0 };
		assert_int_equal(stt_recognize(e.stt, e.clip, &p, e.loop,
					       on_done, &o, NULL),
				 0);
		wait_for(&o.calls, 1);
		assert_int_equal(atomic_load(&o.calls), 1);
		assert_int_equal(o.err, 0);
		assert_false(o.degraded);
	}
	assert_int_equal(degraded_count(), 0);
	stt_grammar_deref(lm);
	env_close(&e);
}

/* A stream's end clip that waits behind a busy worker is late too: the
 * engine is told its final job's wait (the fake does not stream, so the
 * chain decodes the end clip). */
struct stream_run {
	struct env *e;
	const struct stt_params *p;
	struct outcome *o;
	int err;
};

/* On the loop: start a stream and end it with the clip at once. */
static void start_and_end(void *arg)
{
	struct stream_run *r = arg;
	struct stt_stream *st = NULL;
	r->err = stt_stream_start(r->e->stt, r->p, r->e->loop, NULL, on_done,
				  r->o, &st);
	if (!r->err)
		r->err = stt_stream_end(st, r->e->clip);
}

static void a_stream_end_that_waited_is_degraded(void **s)
{
	(void)s;
	struct env e;
	env_open_ops(&e, ops, 1, NULL, 0, 1, 8);
	static const char *const text[] = { "i forgot my pin" };
	struct stt_grammar *lm = NULL;
	assert_int_equal(stt_grammar_create(&lm, STT_MODE_LM, text, 1, 0), 0);
	struct stt_params p = { .mode = STT_MODE_LM, .grammar = lm };
	fakes[FAKE_G].gate = 1;
	struct outcome first = { 0 }, fin = { 0 };
	assert_int_equal(
		stt_recognize(e.stt, e.clip, &p, e.loop, on_done, &first, NULL),
		0);
	wait_for(&fakes[FAKE_G].started, 1);
	struct stream_run run = { .e = &e, .p = &p, .o = &fin };
	run_on_loop(e.loop, start_and_end, &run);
	assert_int_equal(run.err, 0);
	usleep(HOLD_MS * 1000u);
	atomic_store(&fakes[FAKE_G].release, 1);
	wait_for(&fin.calls, 1);
	wait_for(&first.calls, 1);
	assert_int_equal(atomic_load(&fin.calls), 1);
	assert_int_equal(fin.err, 0);
	assert_true(atomic_load(&last_queued_ms) >= HOLD_MS);
	assert_true(fin.degraded);
	assert_false(first.degraded);
	assert_int_equal(degraded_count(), 1);
	stt_grammar_deref(lm);
	env_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_request_that_waited_is_degraded_and_counted),
		cmocka_unit_test(an_idle_pool_decodes_at_full_quality),
		cmocka_unit_test(a_stream_end_that_waited_is_degraded),
	};
	return cmocka_run_group_tests(tests, libre_setup, libre_teardown);
}
