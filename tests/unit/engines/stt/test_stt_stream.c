/* Streaming requests of the STT service (stt_stream_*) over fake engines:
 * the order of the audio across many small feeds, batching and at most one
 * job per stream in flight, partials and the done callback on the loop
 * (done exactly once), cancel at every stage (nothing called, the engine's
 * stream aborted, nothing leaked), the fallback chain on the end clip, a
 * first engine that cannot stream, a stream refused with -EBUSY, and bad
 * calls. Real loop thread, real worker pool. */
#include "loop_sync.h"
#include "stt_fakes.h"

enum { HEARD_MAX = 8000 * 30 };

/* ---- the streaming fake ---- */

struct sfake {
	int begin_err, feed_err, end_err;
	const char *end_text; /* what stream_end() says */
	unsigned feed_sleep_ms, end_sleep_ms;
	atomic_int gate, release; /* when gate: feed waits for release */
	atomic_int begins, ends, aborts, feeds, inflight, overlap;
	atomic_int decodes; /* decode() (batch) calls */
	size_t min_feed, nfeeds_small;
	int16_t heard[HEARD_MAX];
	size_t nheard;
};

static struct sfake sf;

struct stt_engine_stream {
	size_t n;
	unsigned partials;
};

static int s_decode(struct stt_engine *e, const struct stt_request *req,
		    const int16_t *pcm, size_t n, struct stt_result *res)
{
	(void)e;
	(void)req;
	(void)pcm;
	atomic_fetch_add(&sf.decodes, 1);
	memset(res, 0, sizeof(*res));
	snprintf(res->text, sizeof(res->text), "batch s %zu", n);
	res->confidence = 0.7f;
	return 0;
}

static int s_begin(struct stt_engine *e, const struct stt_request *req,
		   struct stt_engine_stream **sp)
{
	(void)e;
	(void)req;
	if (sf.begin_err)
		return sf.begin_err;
	*sp = calloc(1, sizeof(**sp));
	if (!*sp)
		return -ENOMEM;
	atomic_fetch_add(&sf.begins, 1);
	return 0;
}

static int s_feed(struct stt_engine_stream *st, const int16_t *pcm, size_t n)
{
	if (atomic_fetch_add(&sf.inflight, 1) != 0)
		atomic_fetch_add(&sf.overlap, 1);
	atomic_fetch_add(&sf.feeds, 1);
	while (atomic_load(&sf.gate) && !atomic_load(&sf.release))
		usleep(1000);
	if (sf.feed_sleep_ms)
		usleep(sf.feed_sleep_ms * 1000u);
	if (!sf.min_feed || n < sf.min_feed)
		sf.min_feed = n;
	if (n < 800)
		sf.nfeeds_small++;
	for (size_t i = 0; i < n && sf.nheard < HEARD_MAX; i++)
		sf.heard[sf.nheard++] = pcm[i];
	st->n += n;
	atomic_fetch_sub(&sf.inflight, 1);
	return sf.feed_err;
}

static int s_partial(struct stt_engine_stream *st, char *text, size_t cap)
{
	/* a new word every 200 ms of audio */
	unsigned words = (unsigned)(st->n / 1600);
	if (words == st->partials)
		return 0;
	st->partials = words;
	snprintf(text, cap, "words %u", words);
	return 1;
}

static int s_end(struct stt_engine_stream *st, struct stt_result *res)
{
	if (sf.end_sleep_ms)
		usleep(sf.end_sleep_ms * 1000u);
	atomic_fetch_add(&sf.ends, 1);
	int err = sf.end_err;
	if (!err) {
		memset(res, 0, sizeof(*res));
		snprintf(res->text, sizeof(res->text), "%s",
			 sf.end_text ? sf.end_text : "streamed");
		res->confidence = 0.9f;
		res->audio_ms = (uint32_t)(st->n / 8);
	}
	free(st);
	return err;
}

static void s_abort(struct stt_engine_stream *st)
{
	if (!st)
		return;
	atomic_fetch_add(&sf.aborts, 1);
	free(st);
}

static const struct stt_engine_ops fake_s_ops = {
	.name = "fake_s",
	.caps = STT_CAP_OPEN | STT_CAP_GRAMMAR | STT_CAP_LM | STT_CAP_STREAM,
	.open = fake_bare_open,
	.close = fake_bare_close,
	.decode = s_decode,
	.stream_begin = s_begin,
	.stream_feed = s_feed,
	.stream_partial = s_partial,
	.stream_end = s_end,
	.stream_abort = s_abort,
};

static const struct stt_engine_ops *const all_ops[] = { &fake_s_ops,
							&fake_b_ops };

/* ---- fixture ---- */

/* The streaming fake, then the batch fake_b (stt_fakes.h) as fallback. */
static void env_open(struct env *e, const char *engines, unsigned deadline_ms,
		     unsigned threads)
{
	memset(&sf, 0, sizeof(sf));
	env_open_ops(e, all_ops, 2, engines, deadline_ms, threads, 64);
}

static void env_close_stream(struct env *e)
{
	atomic_store(&sf.release, 1);
	env_close(e);
}

/* One stream and what it said (written on the loop). */
struct req {
	struct env *e;
	struct stt_params p;
	struct stt_stream *st;
	atomic_int done_calls, partial_calls, off_loop;
	int err;
	char text[STT_TEXT_MAX + 1];
	const char *engine;
	char last_partial[STT_TEXT_MAX + 1];
	uint32_t last_ms;
	int ret; /* last stt_stream_*() return */
	/* what the next run_on_loop() does */
	const int16_t *pcm;
	size_t n, chunk;
	struct audio_clip *clip;
};

static void on_partial(const char *text, uint32_t audio_ms, void *arg)
{
	struct req *r = arg;
	if (!loop_is_current(r->e->loop))
		atomic_fetch_add(&r->off_loop, 1);
	snprintf(r->last_partial, sizeof(r->last_partial), "%s", text);
	if (audio_ms <= r->last_ms) /* counted as a fault (no asserts off the
				       test thread) */
		atomic_fetch_add(&r->off_loop, 1);
	r->last_ms = audio_ms;
	atomic_fetch_add(&r->partial_calls, 1);
}

static void on_done(int err, const struct stt_result *res, void *arg)
{
	struct req *r = arg;
	if (!loop_is_current(r->e->loop))
		atomic_fetch_add(&r->off_loop, 1);
	r->err = err;
	if (!err) {
		snprintf(r->text, sizeof(r->text), "%s", res->text);
		r->engine = res->engine;
	}
	atomic_fetch_add(&r->done_calls, 1);
}

static void do_start(void *arg)
{
	struct req *r = arg;
	r->ret = stt_stream_start(r->e->stt, &r->p, r->e->loop, on_partial,
				  on_done, r, &r->st);
}

/* Feed r->pcm[0..n) in chunks of 1..chunk samples (varying). */
static void do_feed(void *arg)
{
	struct req *r = arg;
	size_t k = 1;
	for (size_t off = 0; off < r->n; off += k) {
		k = 1 + (off * 7 + 3) % r->chunk;
		if (k > r->n - off)
			k = r->n - off;
		r->ret = stt_stream_feed(r->st, r->pcm + off, k);
		if (r->ret)
			return;
	}
}

static void do_end(void *arg)
{
	struct req *r = arg;
	r->ret = stt_stream_end(r->st, r->clip);
}

static void do_cancel(void *arg)
{
	struct req *r = arg;
	stt_stream_cancel(r->st);
}

static void req_init(struct req *r, struct env *e, const char *engines)
{
	memset(r, 0, sizeof(*r));
	r->e = e;
	r->p = (struct stt_params){ .mode = STT_MODE_OPEN, .engines = engines };
	r->chunk = 160;
	r->clip = e->clip;
}

static void start(struct req *r)
{
	run_on_loop(r->e->loop, do_start, r);
	assert_int_equal(r->ret, 0);
	assert_non_null(r->st);
}

static void feed(struct req *r, const int16_t *pcm, size_t n, size_t chunk)
{
	r->pcm = pcm;
	r->n = n;
	r->chunk = chunk;
	run_on_loop(r->e->loop, do_feed, r);
}

/* a ramp: sample i is i (mod 30000), so order and loss both show */
static int16_t *ramp(size_t n)
{
	int16_t *p = malloc(n * sizeof(*p));
	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (int16_t)(i % 30000);
	return p;
}

/* ---- tests ---- */

static void small_feeds_arrive_in_order_batched_one_job_at_a_time(void **s)
{
	(void)s;
	struct env e;
	env_open(&e, "fake_s,fake_b", 0, 2);
	sf.feed_sleep_ms = 3; /* the loop feeds faster than the job runs */
	struct req r;
	req_init(&r, &e, NULL);
	start(&r);
	enum { N = 3 * 8000 };
	int16_t *pcm = ramp(N);
	/* 3 s: 20 ms frames every millisecond, each in pieces of 1..37
	 * samples */
	for (size_t off = 0; off < N; off += 160) {
		feed(&r, pcm + off, 160, 37);
		assert_int_equal(r.ret, 0);
		usleep(1000);
	}
	run_on_loop(e.loop, do_end, &r);
	assert_int_equal(r.ret, 0);
	wait_for(&r.done_calls, 1);
	usleep(30000); /* a second done would show by now */
	assert_int_equal(atomic_load(&r.done_calls), 1);
	assert_int_equal(atomic_load(&r.off_loop), 0);
	assert_int_equal(r.err, 0);
	assert_string_equal(r.text, "streamed");
	assert_string_equal(r.engine, "fake_s");
	/* every sample, in order */
	assert_int_equal(sf.nheard, N);
	for (size_t i = 0; i < N; i++)
		if (sf.heard[i] != pcm[i])
			fail_msg("sample %zu: %d, want %d", i, sf.heard[i],
				 pcm[i]);
	/* never two jobs of the stream at once; fed in batches of >= 100 ms
	 * but for the last one */
	assert_int_equal(atomic_load(&sf.overlap), 0);
	assert_true(sf.nfeeds_small <= 1);
	assert_true(atomic_load(&sf.feeds) <= N / 800);
	print_message("%d engine feeds, %d partials\n", atomic_load(&sf.feeds),
		      atomic_load(&r.partial_calls));
	/* partials: on the loop, growing, counted */
	assert_true(atomic_load(&r.partial_calls) >= 2);
	assert_non_null(strstr(r.last_partial, "words "));
	assert_int_equal(counter("voxgate_stt_partials_total", NULL),
			 (uint64_t)atomic_load(&r.partial_calls));
	assert_int_equal(counter("voxgate_stt_requests_total",
				 "engine=\"fake_s\",result=\"ok\""),
			 1);
	assert_int_equal(counter("voxgate_stt_audio_seconds_total", NULL), 1);
	assert_int_equal(atomic_load(&sf.begins), 1);
	assert_int_equal(atomic_load(&sf.ends), 1);
	assert_int_equal(atomic_load(&sf.aborts), 0);
	assert_int_equal(atomic_load(&fakes[FAKE_B].started), 0);
	free(pcm);
	env_close_stream(&e);
}

/* A short utterance (under one batch) is begun, fed and ended by the one
 * final job. */
static void a_short_utterance_is_streamed_by_the_final_job(void **s)
{
	(void)s;
	struct env e;
	env_open(&e, NULL, 0, 1);
	struct req r;
	req_init(&r, &e, "fake_s");
	start(&r);
	int16_t *pcm = ramp(400);
	feed(&r, pcm, 400, 160);
	run_on_loop(e.loop, do_end, &r);
	wait_for(&r.done_calls, 1);
	assert_string_equal(r.text, "streamed");
	assert_int_equal(atomic_load(&sf.feeds), 1);
	assert_int_equal(sf.nheard, 400);
	assert_int_equal(atomic_load(&r.partial_calls), 0);
	free(pcm);
	env_close_stream(&e);
}

static void cancel_mid_stream_calls_nothing_and_aborts(void **s)
{
	(void)s;
	struct env e;
	env_open(&e, "fake_s,fake_b", 0, 1);
	int16_t *pcm = ramp(16000);

	/* 1: cancelled while a job runs */
	atomic_store(&sf.gate, 1);
	struct req r1;
	req_init(&r1, &e, NULL);
	start(&r1);
	feed(&r1, pcm, 1600, 160);
	wait_for(&sf.feeds, 1);
	feed(&r1, pcm + 1600, 8000, 160); /* waits in the pending buffer */
	run_on_loop(e.loop, do_cancel, &r1);
	atomic_store(&sf.release, 1);
	wait_for(&sf.aborts, 1);
	assert_int_equal(atomic_load(&sf.aborts), 1);

	/* 2: cancelled between jobs, the engine's stream open */
	struct req r2;
	req_init(&r2, &e, NULL);
	start(&r2);
	feed(&r2, pcm, 1600, 160);
	wait_for(&r2.partial_calls, 1); /* the job has come back */
	run_on_loop(e.loop, do_cancel, &r2);
	wait_for(&sf.aborts, 2);
	assert_int_equal(atomic_load(&sf.aborts), 2);

	/* 3: cancelled after the end, before the result */
	atomic_store(&sf.release, 0);
	struct req r3;
	req_init(&r3, &e, NULL);
	start(&r3);
	feed(&r3, pcm, 1600, 160); /* the job waits at the gate */
	wait_for(&sf.feeds, 3);
	run_on_loop(e.loop, do_end, &r3);
	assert_int_equal(r3.ret, 0);
	run_on_loop(e.loop, do_cancel, &r3);
	atomic_store(&sf.release, 1);

	/* 4: cancelled before any audio: nothing was begun */
	struct req r4;
	req_init(&r4, &e, NULL);
	start(&r4);
	run_on_loop(e.loop, do_cancel, &r4);

	/* the loop queue is FIFO: once everything is through the pool and a
	 * marker ran on the loop, every completion has run */
	wait_for(&sf.aborts, 3);
	wpool_destroy(e.pool);
	e.pool = NULL;
	run_on_loop(e.loop, do_cancel, &(struct req){ .st = NULL });
	assert_int_equal(atomic_load(&r1.done_calls) +
				 atomic_load(&r2.done_calls) +
				 atomic_load(&r3.done_calls) +
				 atomic_load(&r4.done_calls),
			 0);
	assert_int_equal(atomic_load(&r1.partial_calls), 0);
	assert_int_equal(atomic_load(&r3.partial_calls), 0);
	/* every begun engine stream was ended or aborted */
	assert_int_equal(atomic_load(&sf.begins),
			 atomic_load(&sf.ends) + atomic_load(&sf.aborts));
	assert_int_equal(atomic_load(&fakes[FAKE_B].started), 0);
	free(pcm);
	env_close_stream(&e);
}

/* The streaming engine fails: the next engine decodes the end clip, and
 * it counts as stt_recognize()'s fallback does. */
static void failed_stream_falls_back_to_the_next_engine_with_the_clip(void **s)
{
	(void)s;
	int16_t *pcm = ramp(8000);
	static const struct {
		int feed_err, end_err;
		const char *end_text;
		unsigned end_sleep_ms;
		const char *why;
	} cases[] = {
		{ 0, -EIO, NULL, 0, "end fails" },
		{ -EIO, 0, NULL, 0, "feed fails" },
		{ 0, 0, "", 0, "hears nothing" },
		{ 0, 0, NULL, 80, "too late" },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(*cases); c++) {
		struct env e;
		env_open(&e, "fake_s,fake_b", 40, 1);
		sf.feed_err = cases[c].feed_err;
		sf.end_err = cases[c].end_err;
		sf.end_text = cases[c].end_text;
		sf.end_sleep_ms = cases[c].end_sleep_ms;
		struct req r;
		req_init(&r, &e, NULL);
		start(&r);
		feed(&r, pcm, 8000, 160);
		run_on_loop(e.loop, do_end, &r);
		wait_for(&r.done_calls, 1);
		usleep(20000);
		print_message("%s: %d \"%s\"\n", cases[c].why, r.err, r.text);
		assert_int_equal(atomic_load(&r.done_calls), 1);
		assert_int_equal(r.err, 0);
		assert_string_equal(r.text, "from b");
		assert_int_equal(atomic_load(&fakes[FAKE_B].last_n),
				 e.clip->nsamples);
		assert_int_equal(counter("voxgate_stt_fallback_total",
					 "from=\"fake_s\",to=\"fake_b\""),
				 1);
		const char *res = cases[c].end_text ? "empty" : "error";
		char labels[96];
		snprintf(labels, sizeof(labels),
			 "engine=\"fake_s\",result=\"%s\"", res);
		assert_int_equal(counter("voxgate_stt_requests_total", labels),
				 1);
		assert_int_equal(atomic_load(&sf.begins),
				 atomic_load(&sf.ends) +
					 atomic_load(&sf.aborts));
		env_close_stream(&e);
	}
	/* the last engine failing too: the error reaches done */
	struct env e;
	env_open(&e, "fake_s", 0, 1);
	sf.end_err = -EIO;
	struct req r;
	req_init(&r, &e, NULL);
	start(&r);
	feed(&r, pcm, 8000, 160);
	run_on_loop(e.loop, do_end, &r);
	wait_for(&r.done_calls, 1);
	assert_int_equal(r.err, -EIO);
	env_close_stream(&e);
	free(pcm);
}

/* A first engine that cannot stream decodes the end clip (the fed audio
 * is not kept); one refusing with -EBUSY decodes it with decode(). */
static void non_streaming_or_busy_first_engine_decodes_the_clip(void **s)
{
	(void)s;
	int16_t *pcm = ramp(8000);
	struct env e;
	env_open(&e, "fake_b,fake_s", 0, 1);
	struct req r;
	req_init(&r, &e, NULL);
	start(&r);
	feed(&r, pcm, 8000, 160);
	assert_int_equal(r.ret, 0);
	usleep(20000);
	assert_int_equal(atomic_load(&fakes[FAKE_B].started),
			 0); /* nothing before end */
	run_on_loop(e.loop, do_end, &r);
	wait_for(&r.done_calls, 1);
	assert_string_equal(r.text, "from b");
	assert_int_equal(atomic_load(&fakes[FAKE_B].started), 1);
	assert_int_equal(atomic_load(&fakes[FAKE_B].last_n), e.clip->nsamples);
	assert_int_equal(atomic_load(&r.partial_calls), 0);
	assert_int_equal(atomic_load(&sf.begins), 0);
	env_close_stream(&e);

	env_open(&e, "fake_s,fake_b", 0, 1);
	sf.begin_err = -EBUSY;
	req_init(&r, &e, NULL);
	start(&r);
	feed(&r, pcm, 8000, 160);
	run_on_loop(e.loop, do_end, &r);
	wait_for(&r.done_calls, 1);
	assert_string_equal(r.text, "batch s 8000");
	assert_int_equal(atomic_load(&sf.decodes), 1);
	assert_int_equal(atomic_load(&sf.feeds), 0);
	assert_int_equal(atomic_load(&fakes[FAKE_B].started), 0);
	env_close_stream(&e);
	free(pcm);
}

static void bad_calls_are_refused(void **s)
{
	(void)s;
	struct env e;
	env_open(&e, "fake_s", 0, 1);
	struct req r;
	req_init(&r, &e, NULL);
	r.p.mode = STT_MODE_GRAMMAR; /* no grammar */
	run_on_loop(e.loop, do_start, &r);
	assert_int_equal(r.ret, -EINVAL);
	req_init(&r, &e, "fake_b"); /* not opened here */
	run_on_loop(e.loop, do_start, &r);
	assert_int_equal(r.ret, -ENOTSUP);
	req_init(&r, &e, NULL);
	start(&r);
	int16_t pcm[160] = { 0 };
	r.pcm = NULL;
	r.n = 10;
	run_on_loop(e.loop, do_feed, &r);
	assert_int_equal(r.ret, -EINVAL);
	/* more than 30 s in all */
	int16_t *big = calloc((size_t)STT_UTTERANCE_MAX_MS * 8, sizeof(*big));
	assert_non_null(big);
	feed(&r, big, (size_t)STT_UTTERANCE_MAX_MS * 8, 8000);
	assert_int_equal(r.ret, 0);
	feed(&r, pcm, 160, 160);
	assert_int_equal(r.ret, -E2BIG);
	free(big);
	/* a clip at the wrong rate, then a good end, then a second end */
	struct audio_clip *wide = audio_clip_alloc(16000, 16000);
	r.clip = wide;
	run_on_loop(e.loop, do_end, &r);
	assert_int_equal(r.ret, -EINVAL);
	/* the handle stays valid until done: keep the result 300 ms away */
	sf.end_sleep_ms = 300;
	r.clip = e.clip;
	run_on_loop(e.loop, do_end, &r);
	assert_int_equal(r.ret, 0);
	run_on_loop(e.loop, do_end, &r);
	assert_int_equal(r.ret, -EINVAL);
	feed(&r, pcm, 160, 160); /* after the end */
	assert_int_equal(r.ret, -EINVAL);
	assert_int_equal(atomic_load(&r.done_calls), 0);
	wait_for(&r.done_calls, 1);
	assert_int_equal(r.err, 0);
	audio_clip_deref(wide);
	env_close_stream(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			small_feeds_arrive_in_order_batched_one_job_at_a_time),
		cmocka_unit_test(
			a_short_utterance_is_streamed_by_the_final_job),
		cmocka_unit_test(cancel_mid_stream_calls_nothing_and_aborts),
		cmocka_unit_test(
			failed_stream_falls_back_to_the_next_engine_with_the_clip),
		cmocka_unit_test(
			non_streaming_or_busy_first_engine_decodes_the_clip),
		cmocka_unit_test(bad_calls_are_refused),
	};
	return cmocka_run_group_tests(tests, libre_setup, libre_teardown);
}
