/* Emulated partials of the STT service (stt_cfg.partial_every_ms): a
 * stream whose first engine cannot stream re-decodes the audio so far on
 * the worker pool. Over a fake batch engine: partials in order, each the
 * cheap (snap) decode of a prefix of the fed audio, the final the end
 * clip's normal decode; none while live work waits in the worker queue or
 * while the service's partial decodes hold all but one worker; none after
 * the end or a cancel (the stream freed when the late decode returns);
 * off without partial_every_ms. Real loop thread, real worker pool. */
#include "loop_sync.h"
#include "stt_fakes.h"

/* ---- the batch fake: "heard N" for N samples ---- */

enum { DECODES_MAX = 256 };

struct pfake {
	atomic_int gate, release;   /* when gate: snap decodes wait */
	atomic_int fgate, frelease; /* when fgate: the others wait */
	atomic_int running;	    /* snap decodes running */
	atomic_int snaps, finals;   /* decodes with / without snap */
	atomic_int max_running;	    /* most snap decodes at once */
	size_t snap_n[DECODES_MAX];
	atomic_int nsnap_n;
	size_t final_n;
	enum stt_mode final_mode;
};

static struct pfake pf;

static int p_decode(struct stt_engine *e, const struct stt_request *req,
		    const int16_t *pcm, size_t n, struct stt_result *res)
{
	(void)e;
	(void)pcm;
	if (req->snap) {
		int r = atomic_fetch_add(&pf.running, 1) + 1;
		int m = atomic_load(&pf.max_running);
		while (r > m &&
		       !atomic_compare_exchange_weak(&pf.max_running, &m, r))
			;
		int k = atomic_fetch_add(&pf.nsnap_n, 1);
		if (k < DECODES_MAX)
			pf.snap_n[k] = n;
		while (atomic_load(&pf.gate) && !atomic_load(&pf.release))
			usleep(1000);
		atomic_fetch_sub(&pf.running, 1);
		atomic_fetch_add(&pf.snaps, 1);
	} else {
		while (atomic_load(&pf.fgate) && !atomic_load(&pf.frelease))
			usleep(1000);
		pf.final_n = n;
		pf.final_mode = req->mode;
		atomic_fetch_add(&pf.finals, 1);
	}
	memset(res, 0, sizeof(*res));
	snprintf(res->text, sizeof(res->text), "heard %zu", n);
	res->confidence = 0.7f;
	return 0;
}

static const struct stt_engine_ops fake_p_ops = {
	.name = "fake_p",
	.caps = STT_CAP_OPEN,
	.open = fake_bare_open,
	.close = fake_bare_close,
	.decode = p_decode,
};

static const struct stt_engine_ops *const all_ops[] = { &fake_p_ops,
							&fake_b_ops };

/* ---- fixture ---- */

/* fake_p then fake_b, with emulated partials every every_ms. */
static void env_open(struct env *e, unsigned every_ms, unsigned threads)
{
	memset(&pf, 0, sizeof(pf));
	struct stt_cfg cfg = { .engines = "fake_p,fake_b",
			       .partial_every_ms = every_ms };
	env_open_cfg(e, all_ops, 2, &cfg, threads, 64);
	/* the end clip: a length no partial has */
	audio_clip_deref(e->clip);
	e->clip = audio_clip_alloc(12345, AUDIO_RATE_HZ);
	assert_non_null(e->clip);
}

static void env_close_p(struct env *e)
{
	atomic_store(&pf.release, 1);
	atomic_store(&pf.frelease, 1);
	env_close(e);
}

enum { PARTIALS_MAX = 128 };

struct req {
	struct env *e;
	struct stt_stream *st;
	bool no_partial_cb;
	atomic_int done_calls, partial_calls, faults;
	int err;
	char text[STT_TEXT_MAX + 1];
	char partials[PARTIALS_MAX][32];
	uint32_t partial_ms[PARTIALS_MAX];
	int ret;
	size_t n; /* samples the next do_feed() feeds */
};

static void on_partial(const char *text, uint32_t audio_ms, void *arg)
{
	struct req *r = arg;
	if (!loop_is_current(r->e->loop))
		atomic_fetch_add(&r->faults, 1);
	int k = atomic_load(&r->partial_calls);
	if (k < PARTIALS_MAX) {
		snprintf(r->partials[k], sizeof(r->partials[k]), "%s", text);
		r->partial_ms[k] = audio_ms;
	}
	atomic_fetch_add(&r->partial_calls, 1);
}

static void on_done(int err, const struct stt_result *res, void *arg)
{
	struct req *r = arg;
	if (!loop_is_current(r->e->loop))
		atomic_fetch_add(&r->faults, 1);
	r->err = err;
	if (!err)
		snprintf(r->text, sizeof(r->text), "%s", res->text);
	atomic_fetch_add(&r->done_calls, 1);
}

static void do_start(void *arg)
{
	struct req *r = arg;
	struct stt_params p = { .mode = STT_MODE_OPEN };
	r->ret = stt_stream_start(r->e->stt, &p, r->e->loop,
				  r->no_partial_cb ? NULL : on_partial, on_done,
				  r, &r->st);
}

static void do_feed(void *arg)
{
	struct req *r = arg;
	static const int16_t frame[160];
	for (size_t off = 0; off < r->n; off += 160) {
		r->ret = stt_stream_feed(r->st, frame, 160);
		if (r->ret)
			return;
	}
}

static void do_end(void *arg)
{
	struct req *r = arg;
	r->ret = stt_stream_end(r->st, r->e->clip);
}

static void do_cancel(void *arg)
{
	struct req *r = arg;
	stt_stream_cancel(r->st);
}

static void start(struct req *r, struct env *e)
{
	memset(r, 0, sizeof(*r));
	r->e = e;
	run_on_loop(e->loop, do_start, r);
	assert_int_equal(r->ret, 0);
}

/* Feed ms of audio as 20 ms frames in real time (the loop takes each). */
static void speak(struct req *r, unsigned ms)
{
	for (unsigned t = 0; t < ms; t += 20) {
		r->n = 160;
		run_on_loop(r->e->loop, do_feed, r);
		assert_int_equal(r->ret, 0);
		usleep(2000);
	}
}

static uint64_t pdecodes(const char *outcome)
{
	char labels[64];
	snprintf(labels, sizeof(labels), "outcome=\"%s\"", outcome);
	return counter("voxgate_stt_partial_decodes_total", labels);
}

/* ---- tests ---- */

static void partials_come_in_order_and_the_final_is_the_end_clip(void **s)
{
	(void)s;
	struct env e;
	env_open(&e, 200, 2);
	struct req r;
	start(&r, &e);
	speak(&r, 2000);
	wait_for(&pf.snaps, 3);
	run_on_loop(e.loop, do_end, &r);
	assert_int_equal(r.ret, 0);
	wait_for(&r.done_calls, 1);
	usleep(20000);
	int np = atomic_load(&r.partial_calls);
	print_message("%d partials, %d snap decodes\n", np,
		      atomic_load(&pf.snaps));
	assert_true(np >= 3);
	/* each partial: the decode of the first audio_ms of the audio fed,
	 * later ones of more audio, at least 200 ms apart */
	for (int k = 0; k < np; k++) {
		char want[32];
		snprintf(want, sizeof(want), "heard %u", r.partial_ms[k] * 8);
		assert_string_equal(r.partials[k], want);
		assert_true(r.partial_ms[k] >= 200);
		if (k)
			assert_true(r.partial_ms[k] >=
				    r.partial_ms[k - 1] + 200);
	}
	/* the final: the end clip, decoded the normal way (not snap), once */
	assert_int_equal(r.err, 0);
	assert_string_equal(r.text, "heard 12345");
	assert_int_equal(atomic_load(&pf.finals), 1);
	assert_int_equal(pf.final_n, 12345);
	assert_int_equal(pf.final_mode, STT_MODE_OPEN);
	assert_int_equal(atomic_load(&r.done_calls), 1);
	assert_int_equal(atomic_load(&r.faults), 0);
	assert_int_equal(atomic_load(&fakes[FAKE_B].started), 0);
	assert_int_equal(counter("voxgate_stt_partials_total", NULL),
			 (uint64_t)np);
	assert_int_equal(pdecodes("decoded") + pdecodes("late"),
			 (uint64_t)atomic_load(&pf.snaps));
	env_close_p(&e);
}

/* A blocking job of someone else's (TTS, say) on the pool. */
static atomic_int other_release;

static void other_work(void *arg)
{
	(void)arg;
	while (!atomic_load(&other_release))
		usleep(1000);
}

static void other_done(int err, void *arg)
{
	(void)err;
	(void)arg;
}

/* A partial decode waits for no one: while a recognition job waits in
 * the worker queue, or runs, none starts (counted skipped); they resume
 * after, on all the audio so far. One worker. */
static void no_partial_decode_while_recognition_waits_or_runs(void **s)
{
	(void)s;
	struct env e;
	env_open(&e, 200, 1);
	struct stt_params p = { .mode = STT_MODE_OPEN, .engines = "fake_b" };
	struct req r, o;
	start(&r, &e);
	memset(&o, 0, sizeof(o));
	o.e = &e;

	/* 1: a request waits in the queue (the worker runs another job) */
	atomic_store(&other_release, 0);
	assert_int_equal(
		wpool_submit(e.pool, NULL, other_work, other_done, NULL), 0);
	assert_int_equal(
		stt_recognize(e.stt, e.clip, &p, e.loop, on_done, &o, NULL), 0);
	speak(&r, 1000);
	usleep(20000);
	assert_int_equal(atomic_load(&pf.nsnap_n), 0);
	assert_true(pdecodes("skipped") >= 1);
	atomic_store(&other_release, 1);
	wait_for(&o.done_calls, 1);
	assert_int_equal(atomic_load(&o.done_calls), 1);

	/* 2: a request runs, nothing waits */
	atomic_store(&fakes[FAKE_B].gate, 1);
	assert_int_equal(
		stt_recognize(e.stt, e.clip, &p, e.loop, on_done, &o, NULL), 0);
	wait_for(&fakes[FAKE_B].started, 2);
	speak(&r, 1000);
	usleep(20000);
	assert_int_equal(atomic_load(&pf.nsnap_n), 0);
	assert_int_equal(atomic_load(&r.partial_calls), 0);

	/* the pool is idle again: the next feed starts one */
	atomic_store(&fakes[FAKE_B].release, 1);
	wait_for(&o.done_calls, 2);
	assert_int_equal(atomic_load(&o.done_calls), 2);
	speak(&r, 40);
	wait_for(&r.partial_calls, 1);
	assert_int_equal(atomic_load(&r.partial_calls), 1);
	/* it decoded all the audio so far, held while it was skipped */
	assert_true(pf.snap_n[0] >= 16000);
	run_on_loop(e.loop, do_cancel, &r);
	env_close_p(&e);
}

/* With two workers the service runs one partial decode at a time: a
 * second stream's partial waits (skipped) while the first's runs, so a
 * final always finds a worker. */
static void partial_decodes_leave_a_worker_free(void **s)
{
	(void)s;
	struct env e;
	env_open(&e, 200, 2);
	atomic_store(&pf.gate, 1);
	struct req a, b;
	start(&a, &e);
	start(&b, &e);
	speak(&a, 300);
	wait_for(&pf.running, 1);
	speak(&b, 600);
	usleep(20000);
	assert_int_equal(atomic_load(&pf.max_running), 1);
	assert_int_equal(atomic_load(&pf.nsnap_n), 1);
	assert_true(pdecodes("skipped") >= 1);
	/* b's end: its final runs on the free worker at once */
	run_on_loop(e.loop, do_end, &b);
	wait_for(&b.done_calls, 1);
	assert_int_equal(atomic_load(&b.done_calls), 1);
	assert_string_equal(b.text, "heard 12345");
	assert_int_equal(atomic_load(&a.partial_calls), 0);
	atomic_store(&pf.release, 1);
	wait_for(&a.partial_calls, 1);
	assert_int_equal(atomic_load(&a.partial_calls), 1);
	assert_int_equal(atomic_load(&b.partial_calls), 0);
	run_on_loop(e.loop, do_cancel, &a);
	env_close_p(&e);
}

/* A partial decode still running at the end or at a cancel is wasted: no
 * partial afterwards, done exactly once (or never after cancel), the
 * stream freed when the decode returns (ASan checks the rest). Cases: the
 * end's final back before the partial; the partial back between the end
 * and its final; a cancel. */
static void no_partial_after_end_or_cancel(void **s)
{
	(void)s;
	for (int c = 0; c < 3; c++) {
		bool cancel = c == 2, final_later = c == 1;
		struct env e;
		env_open(&e, 200, 2);
		atomic_store(&pf.gate, 1);
		atomic_store(&pf.fgate, final_later);
		struct req r;
		start(&r, &e);
		speak(&r, 300);
		wait_for(&pf.running, 1);
		assert_int_equal(atomic_load(&pf.running), 1);
		run_on_loop(e.loop, cancel ? do_cancel : do_end, &r);
		if (!cancel && !final_later) {
			wait_for(&r.done_calls, 1);
			assert_string_equal(r.text, "heard 12345");
		}
		atomic_store(&pf.release, 1);
		wait_for(&pf.snaps, 1);
		usleep(30000);
		/* a marker through the loop: the partial's return has run */
		run_on_loop(e.loop, do_cancel, &(struct req){ .st = NULL });
		assert_int_equal(atomic_load(&r.partial_calls), 0);
		if (final_later) {
			assert_int_equal(atomic_load(&r.done_calls), 0);
			atomic_store(&pf.frelease, 1);
			wait_for(&r.done_calls, 1);
			assert_string_equal(r.text, "heard 12345");
		}
		assert_int_equal(atomic_load(&r.partial_calls), 0);
		assert_int_equal(atomic_load(&r.done_calls), cancel ? 0 : 1);
		assert_int_equal(pdecodes("late"), 1);
		assert_int_equal(pdecodes("decoded"), 0);
		env_close_p(&e);
	}
}

/* No partial_every_ms, or no partial callback: the audio is not decoded
 * before the end. */
static void off_without_partial_every_or_callback(void **s)
{
	(void)s;
	for (int k = 0; k < 2; k++) {
		struct env e;
		env_open(&e, k ? 200 : 0, 2);
		struct req r;
		memset(&r, 0, sizeof(r));
		r.e = &e;
		r.no_partial_cb = k;
		run_on_loop(e.loop, do_start, &r);
		assert_int_equal(r.ret, 0);
		speak(&r, 1000);
		usleep(20000);
		assert_int_equal(atomic_load(&pf.nsnap_n), 0);
		run_on_loop(e.loop, do_end, &r);
		wait_for(&r.done_calls, 1);
		assert_string_equal(r.text, "heard 12345");
		assert_int_equal(atomic_load(&pf.nsnap_n), 0);
		assert_int_equal(pdecodes("skipped"), 0);
		env_close_p(&e);
	}
}

/* Each emulated partial re-decodes all the audio so far, so their interval
 * grows with it (a quarter of the audio so far once that is more than
 * partial_every_ms): a 20 s utterance at 500 ms gets 14 decodes (39 at a
 * fixed interval) of 4.5x its audio in all (19.5x). */
static void partial_decodes_of_a_long_utterance_cost_linear_cpu(void **s)
{
	(void)s;
	struct env e;
	env_open(&e, 500, 2);
	struct req r;
	start(&r, &e);
	speak(&r, 20000);
	usleep(20000);
	run_on_loop(e.loop, do_end, &r);
	assert_int_equal(r.ret, 0);
	wait_for(&r.done_calls, 1);
	usleep(20000);
	int n = atomic_load(&pf.nsnap_n);
	size_t sum = 0;
	print_message("%d partial decodes for 20 s\n", n);
	/* late decodes (a loaded test box) only make fewer */
	assert_true(n >= 6);
	assert_true(n <= 14);
	for (int k = 0; k < n; k++) {
		sum += pf.snap_n[k];
		if (!k)
			continue;
		size_t gap = pf.snap_n[k - 1] / 4 > 4000 ? pf.snap_n[k - 1] / 4
							 : 4000;
		assert_true(pf.snap_n[k] >= pf.snap_n[k - 1] + gap);
	}
	assert_true(sum <= 5 * (size_t)160000);
	assert_int_equal(r.err, 0);
	env_close_p(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			partials_come_in_order_and_the_final_is_the_end_clip),
		cmocka_unit_test(
			no_partial_decode_while_recognition_waits_or_runs),
		cmocka_unit_test(partial_decodes_leave_a_worker_free),
		cmocka_unit_test(no_partial_after_end_or_cancel),
		cmocka_unit_test(off_without_partial_every_or_callback),
		cmocka_unit_test(
			partial_decodes_of_a_long_utterance_cost_linear_cpu),
	};
	return cmocka_run_group_tests(tests, libre_setup, libre_teardown);
}
