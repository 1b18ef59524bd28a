/* The prompt service: results come back on the requesting loop, repeats are
 * cache hits sharing one clip, the byte cap evicts the least recently used
 * clip, concurrent requests share one synthesis, and a full worker queue
 * refuses with -EAGAIN. Real loop threads, a real pool, the flite engine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <re.h>

#include "audio/clip.h"
#include "core/loop.h"
#include "core/wpool.h"
#include "engines/tts/tts.h"
#include "metrics/metrics.h"

struct env {
	struct vg_loop *loop;
	struct wpool *pool;
	struct tts *tts;
};

static void env_up(struct env *e, unsigned nthreads, size_t queue,
		   size_t cache_bytes)
{
	memset(e, 0, sizeof(*e));
	assert_int_equal(loop_create(&e->loop, "tts-test"), 0);
	assert_int_equal(loop_start(e->loop), 0);
	assert_int_equal(wpool_create(&e->pool, nthreads, queue), 0);
	struct tts_cfg cfg = { .default_voice = "kal",
			       .cache_max_bytes = cache_bytes };
	assert_int_equal(tts_create(&e->tts, e->pool, &cfg), 0);
}

static void env_down(struct env *e)
{
	wpool_destroy(e->pool);
	tts_destroy(e->tts);
	loop_destroy(e->loop);
}

/* One request's outcome, written on the loop thread. */
struct result {
	struct vg_loop *loop;
	atomic_int calls;
	atomic_int on_loop;
	atomic_int inline_calls;
	int err;
	struct audio_clip *clip;
};

/* Set while a request made on the loop thread is inside tts_synth(). */
static atomic_int inside_synth;

static void on_done(int err, struct audio_clip *clip, void *arg)
{
	struct result *r = arg;
	if (atomic_load(&inside_synth))
		atomic_fetch_add(&r->inline_calls, 1);
	if (loop_is_current(r->loop))
		atomic_fetch_add(&r->on_loop, 1);
	audio_clip_deref(r->clip); /* only ever set once per result */
	r->err = err;
	r->clip = clip;
	atomic_fetch_add(&r->calls, 1);
}

static void wait_for(atomic_int *v, int n)
{
	for (int i = 0; i < 20000 && atomic_load(v) < n; i++)
		usleep(1000);
}

static uint64_t counter(const char *name)
{
	return metric_counter_get(metrics_counter(name, "tier=\"memory\"", ""));
}

static uint64_t synth_count(const char *voice)
{
	char labels[64];
	snprintf(labels, sizeof(labels), "voice=\"%s\"", voice);
	return metric_histogram_count(metrics_histogram(
		"voxgate_tts_synth_seconds", labels, "", NULL, 0));
}

#define HITS() counter("voxgate_tts_cache_hits_total")
#define MISSES() counter("voxgate_tts_cache_misses_total")

static void synth_delivers_the_clip_on_the_requesting_loop_thread(void **s)
{
	(void)s;
	struct env e;
	env_up(&e, 2, 8, TTS_CACHE_DEFAULT_BYTES);
	uint64_t misses = MISSES(), synths = synth_count("kal");

	struct result r = { .loop = e.loop };
	assert_int_equal(tts_synth(e.tts, "kal", "Welcome to voxgate bank",
				   e.loop, on_done, &r),
			 0);
	wait_for(&r.calls, 1);
	assert_int_equal(atomic_load(&r.calls), 1);
	assert_int_equal(atomic_load(&r.on_loop), 1);
	assert_int_equal(r.err, 0);
	assert_non_null(r.clip);
	assert_int_equal(r.clip->rate_hz, AUDIO_RATE_HZ);
	assert_true(r.clip->nsamples > AUDIO_RATE_HZ / 2);
	assert_true(r.clip->nsamples < 5 * AUDIO_RATE_HZ);
	assert_int_equal(MISSES(), misses + 1);
	assert_int_equal(synth_count("kal"), synths + 1);
	assert_int_equal(tts_cache_count(e.tts), 1);

	audio_clip_deref(r.clip);
	env_down(&e);
}

struct loop_req {
	struct tts *tts;
	const char *text;
	struct result *res;
	atomic_int rc;
	atomic_int done;
};

/* Runs on the loop: the request a flow would make. */
static void request_on_loop(void *arg)
{
	struct loop_req *q = arg;
	atomic_store(&inside_synth, 1);
	int rc =
		tts_synth(q->tts, NULL, q->text, q->res->loop, on_done, q->res);
	atomic_store(&inside_synth, 0);
	atomic_store(&q->rc, rc);
	atomic_store(&q->done, 1);
}

static void second_request_is_a_cache_hit_posted_never_inline(void **s)
{
	(void)s;
	struct env e;
	env_up(&e, 2, 8, TTS_CACHE_DEFAULT_BYTES);
	const char *text = "For balances, press one.";

	struct result first = { .loop = e.loop };
	assert_int_equal(tts_synth(e.tts, "kal", text, e.loop, on_done, &first),
			 0);
	wait_for(&first.calls, 1);
	assert_non_null(first.clip);

	uint64_t hits = HITS(), misses = MISSES(), synths = synth_count("kal");
	struct result second = { .loop = e.loop };
	struct loop_req q = { .tts = e.tts, .text = text, .res = &second };
	assert_int_equal(loop_post(e.loop, request_on_loop, &q), 0);
	wait_for(&q.done, 1);
	wait_for(&second.calls, 1);
	assert_int_equal(atomic_load(&q.rc), 0);
	assert_int_equal(atomic_load(&second.calls), 1);
	assert_int_equal(atomic_load(&second.on_loop), 1);
	assert_int_equal(atomic_load(&second.inline_calls), 0);
	assert_int_equal(second.err, 0);
	assert_ptr_equal(second.clip, first.clip);
	assert_int_equal(HITS(), hits + 1);
	assert_int_equal(MISSES(), misses);
	assert_int_equal(synth_count("kal"), synths);

	/* The default voice is kal: same key. Another voice is not. */
	struct audio_clip *c = tts_cache_find(e.tts, NULL, text);
	assert_ptr_equal(c, first.clip);
	audio_clip_deref(c);
	assert_int_equal(HITS(), hits + 2);
	assert_null(tts_cache_find(e.tts, "slt", text));
	assert_null(tts_cache_find(e.tts, "kal", "For balances, press two."));

	audio_clip_deref(first.clip);
	audio_clip_deref(second.clip);
	env_down(&e);
}

static void least_recently_used_clip_is_evicted_at_the_byte_cap(void **s)
{
	(void)s;
	const char *a = "Press one.", *b = "Press two.", *c = "Press three.";
	struct env e;
	env_up(&e, 1, 4, TTS_CACHE_DEFAULT_BYTES);
	/* Measure what each clip costs against the cap (kal is
	 * deterministic, so a new cache will see the same costs). */
	assert_int_equal(tts_presynth(e.tts, NULL, a), 0);
	size_t ca = tts_cache_bytes(e.tts);
	assert_int_equal(tts_presynth(e.tts, NULL, b), 0);
	size_t cb = tts_cache_bytes(e.tts) - ca;
	assert_int_equal(tts_presynth(e.tts, NULL, c), 0);
	size_t cc = tts_cache_bytes(e.tts) - ca - cb;
	assert_true(ca > 1000 && cb > 1000 && cc > 1000);
	tts_destroy(e.tts);

	size_t cap = ca + (cb > cc ? cb : cc); /* room for two, not three */
	struct tts_cfg cfg = { .cache_max_bytes = cap };
	assert_int_equal(tts_create(&e.tts, e.pool, &cfg), 0);
	assert_int_equal(tts_presynth(e.tts, NULL, a), 0);
	assert_int_equal(tts_presynth(e.tts, NULL, b), 0);
	assert_int_equal(tts_cache_count(e.tts), 2);
	/* Touch a: b becomes the least recently used. */
	audio_clip_deref(tts_cache_find(e.tts, NULL, a));
	assert_int_equal(tts_presynth(e.tts, NULL, c), 0);

	assert_int_equal(tts_cache_count(e.tts), 2);
	assert_true(tts_cache_bytes(e.tts) <= cap);
	assert_int_equal(tts_cache_bytes(e.tts), ca + cc);
	struct audio_clip *ka = tts_cache_find(e.tts, NULL, a);
	struct audio_clip *kb = tts_cache_find(e.tts, NULL, b);
	struct audio_clip *kc = tts_cache_find(e.tts, NULL, c);
	assert_non_null(ka);
	assert_null(kb);
	assert_non_null(kc);
	audio_clip_deref(ka);
	audio_clip_deref(kc);
	env_down(&e);
}

static void clip_larger_than_the_cap_is_delivered_but_not_cached(void **s)
{
	(void)s;
	struct env e;
	env_up(&e, 1, 4, 1000);
	const char *text = "This prompt does not fit in a kilobyte.";
	assert_int_equal(tts_presynth(e.tts, NULL, text), -ENOSPC);
	assert_int_equal(tts_cache_count(e.tts), 0);

	struct result r = { .loop = e.loop };
	assert_int_equal(tts_synth(e.tts, NULL, text, e.loop, on_done, &r), 0);
	wait_for(&r.calls, 1);
	assert_int_equal(r.err, 0);
	assert_non_null(r.clip);
	assert_int_equal(tts_cache_count(e.tts), 0);
	assert_int_equal(tts_cache_bytes(e.tts), 0);
	assert_null(tts_cache_find(e.tts, NULL, text));
	audio_clip_deref(r.clip);
	env_down(&e);
}

/* A job that holds the only worker until released. */
struct blocker {
	atomic_int started;
	atomic_int release;
};

static void block_work(void *arg)
{
	struct blocker *b = arg;
	atomic_store(&b->started, 1);
	while (!atomic_load(&b->release))
		usleep(1000);
}

static void block_worker(struct env *e, struct blocker *b)
{
	assert_int_equal(wpool_submit(e->pool, NULL, block_work, NULL, b), 0);
	wait_for(&b->started, 1);
	assert_int_equal(atomic_load(&b->started), 1);
}

static void full_queue_refuses_with_eagain_and_same_text_waits(void **s)
{
	(void)s;
	struct env e;
	env_up(&e, 1, 1, TTS_CACHE_DEFAULT_BYTES);
	struct blocker b = { 0 };
	block_worker(&e, &b);
	uint64_t synths = synth_count("kal");

	struct result r1 = { .loop = e.loop }, r2 = { .loop = e.loop },
		      r3 = { .loop = e.loop };
	/* Takes the one queue slot. */
	assert_int_equal(
		tts_synth(e.tts, NULL, "Queued prompt.", e.loop, on_done, &r1),
		0);
	/* Needs a second slot: refused, and never called back. */
	assert_int_equal(
		tts_synth(e.tts, NULL, "Refused prompt.", e.loop, on_done, &r2),
		-EAGAIN);
	assert_int_equal(wpool_rejected(e.pool), 1);
	/* Same text as the queued one: waits for it, needs no slot. */
	assert_int_equal(tts_synth(e.tts, "flite:kal", "Queued prompt.", e.loop,
				   on_done, &r3),
			 0);

	atomic_store(&b.release, 1);
	wait_for(&r1.calls, 1);
	wait_for(&r3.calls, 1);
	assert_int_equal(r1.err, 0);
	assert_int_equal(r3.err, 0);
	assert_non_null(r1.clip);
	assert_ptr_equal(r1.clip, r3.clip);
	assert_int_equal(atomic_load(&r1.on_loop) + atomic_load(&r3.on_loop),
			 2);
	assert_int_equal(synth_count("kal"), synths + 1);
	usleep(20000);
	assert_int_equal(atomic_load(&r2.calls), 0);
	assert_null(tts_cache_find(e.tts, NULL, "Refused prompt."));

	audio_clip_deref(r1.clip);
	audio_clip_deref(r3.clip);
	env_down(&e);
}

static void many_requests_for_one_text_are_synthesized_once(void **s)
{
	(void)s;
	enum { N = 20 };
	struct env e;
	env_up(&e, 2, 4, TTS_CACHE_DEFAULT_BYTES);
	uint64_t synths = synth_count("slt");
	struct result r[N];
	for (int i = 0; i < N; i++) {
		r[i] = (struct result){ .loop = e.loop };
		assert_int_equal(tts_synth(e.tts, "slt", "Please hold.", e.loop,
					   on_done, &r[i]),
				 0);
	}
	for (int i = 0; i < N; i++) {
		wait_for(&r[i].calls, 1);
		assert_int_equal(atomic_load(&r[i].calls), 1);
		assert_int_equal(atomic_load(&r[i].on_loop), 1);
		assert_int_equal(r[i].err, 0);
		assert_ptr_equal(r[i].clip, r[0].clip);
		assert_int_equal(r[i].clip->rate_hz, AUDIO_RATE_HZ);
	}
	assert_int_equal(synth_count("slt"), synths + 1);
	for (int i = 0; i < N; i++)
		audio_clip_deref(r[i].clip);
	env_down(&e);
}

static void presynth_answers_requests_queued_behind_a_busy_pool(void **s)
{
	(void)s;
	struct env e;
	env_up(&e, 1, 1, TTS_CACHE_DEFAULT_BYTES);
	struct blocker b = { 0 };
	block_worker(&e, &b);
	const char *text = "Thank you for calling.";
	struct result r = { .loop = e.loop };
	assert_int_equal(tts_synth(e.tts, NULL, text, e.loop, on_done, &r), 0);

	/* The worker is still blocked: only presynth can answer r. */
	assert_int_equal(tts_presynth(e.tts, NULL, text), 0);
	wait_for(&r.calls, 1);
	assert_int_equal(atomic_load(&r.calls), 1);
	assert_int_equal(r.err, 0);
	struct audio_clip *cached = tts_cache_find(e.tts, NULL, text);
	assert_ptr_equal(cached, r.clip);

	/* The queued job then runs and finds the clip already cached. */
	uint64_t synths = synth_count("kal");
	atomic_store(&b.release, 1);
	for (int i = 0; i < 5000 && synth_count("kal") == synths; i++)
		usleep(1000);
	assert_int_equal(synth_count("kal"), synths + 1);
	usleep(20000);
	assert_int_equal(atomic_load(&r.calls), 1);
	assert_int_equal(tts_cache_count(e.tts), 1);
	struct audio_clip *again = tts_cache_find(e.tts, NULL, text);
	assert_ptr_equal(again, cached);

	audio_clip_deref(again);
	audio_clip_deref(cached);
	audio_clip_deref(r.clip);
	env_down(&e);
}

struct stopper {
	struct wpool *pool;
	struct blocker *b;
};

static void noop(void *arg)
{
	(void)arg;
}

/* Release the worker only once wpool_destroy() has marked the pool as
 * stopping (the full queue answers -EAGAIN until then), so the worker exits
 * instead of running the queued synthesis. */
static void *release_when_stopping(void *arg)
{
	struct stopper *st = arg;
	while (wpool_submit(st->pool, NULL, noop, NULL, NULL) != -ESHUTDOWN)
		usleep(1000);
	atomic_store(&st->b->release, 1);
	return NULL;
}

static void destroyed_pool_cancels_waiting_requests_once(void **s)
{
	(void)s;
	struct env e;
	env_up(&e, 1, 1, TTS_CACHE_DEFAULT_BYTES);
	struct blocker b = { 0 };
	block_worker(&e, &b);
	struct result r1 = { .loop = e.loop }, r2 = { .loop = e.loop };
	assert_int_equal(
		tts_synth(e.tts, NULL, "Never said.", e.loop, on_done, &r1), 0);
	assert_int_equal(
		tts_synth(e.tts, NULL, "Never said.", e.loop, on_done, &r2), 0);

	pthread_t th;
	struct stopper st = { .pool = e.pool, .b = &b };
	assert_int_equal(pthread_create(&th, NULL, release_when_stopping, &st),
			 0);
	wpool_destroy(e.pool);
	e.pool = NULL;
	pthread_join(th, NULL);

	wait_for(&r1.calls, 1);
	wait_for(&r2.calls, 1);
	usleep(20000);
	assert_int_equal(atomic_load(&r1.calls), 1);
	assert_int_equal(atomic_load(&r2.calls), 1);
	assert_int_equal(r1.err, -ECANCELED);
	assert_int_equal(r2.err, -ECANCELED);
	assert_null(r1.clip);
	assert_int_equal(atomic_load(&r1.on_loop), 1);
	assert_int_equal(tts_cache_count(e.tts), 0);
	env_down(&e);
}

static void bad_requests_fail_without_calling_back(void **s)
{
	(void)s;
	struct env e;
	env_up(&e, 1, 4, TTS_CACHE_DEFAULT_BYTES);
	struct result r = { .loop = e.loop };
	char *big = malloc(TTS_TEXT_MAX_LEN + 2);
	assert_non_null(big);
	memset(big, 'x', TTS_TEXT_MAX_LEN + 1);
	big[TTS_TEXT_MAX_LEN + 1] = '\0';

	assert_int_equal(tts_synth(e.tts, NULL, "", e.loop, on_done, &r),
			 -EINVAL);
	assert_int_equal(tts_synth(e.tts, NULL, "  \n", e.loop, on_done, &r),
			 -EINVAL);
	assert_int_equal(tts_synth(e.tts, NULL, big, e.loop, on_done, &r),
			 -E2BIG);
	assert_int_equal(tts_presynth(e.tts, NULL, big), -E2BIG);
	const char *bad_voices[] = { "nobody", "flite:", "espeak:kal", "" };
	for (size_t i = 0; i < sizeof(bad_voices) / sizeof(*bad_voices); i++)
		assert_int_equal(tts_synth(e.tts, bad_voices[i], "Hi.", e.loop,
					   on_done, &r),
				 -EINVAL);
	assert_int_equal(tts_synth(e.tts, NULL, "Hi.", NULL, on_done, &r),
			 -EINVAL);
	assert_int_equal(tts_synth(e.tts, NULL, "Hi.", e.loop, NULL, &r),
			 -EINVAL);
	assert_null(tts_cache_find(e.tts, "nobody", "Hi."));
	free(big);

	struct tts *t2 = (struct tts *)&t2;
	struct tts_cfg cfg = { .default_voice = "nobody" };
	assert_int_equal(tts_create(&t2, e.pool, &cfg), -EINVAL);
	assert_ptr_equal(t2, (struct tts *)&t2);
	assert_int_equal(tts_create(&t2, NULL, NULL), -EINVAL);

	usleep(20000);
	assert_int_equal(atomic_load(&r.calls), 0);
	env_down(&e);
}

static void presynth_fills_the_cache_for_every_voice_spelling(void **s)
{
	(void)s;
	struct env e;
	env_up(&e, 1, 4, TTS_CACHE_DEFAULT_BYTES);
	struct tts_cfg cfg = { .default_voice = "slt",
			       .cache_max_bytes = TTS_CACHE_DEFAULT_BYTES };
	tts_destroy(e.tts);
	assert_int_equal(tts_create(&e.tts, e.pool, &cfg), 0);

	uint64_t synths = synth_count("slt");
	assert_int_equal(tts_presynth(e.tts, NULL, "Goodbye."), 0);
	assert_int_equal(tts_presynth(e.tts, "flite:slt", "Goodbye."), 0);
	assert_int_equal(tts_presynth(e.tts, "cmu_us_slt", "Goodbye."), 0);
	assert_int_equal(synth_count("slt"), synths + 1);
	assert_int_equal(tts_cache_count(e.tts), 1);

	uint64_t hits = HITS();
	struct result r = { .loop = e.loop };
	assert_int_equal(
		tts_synth(e.tts, "slt", "Goodbye.", e.loop, on_done, &r), 0);
	wait_for(&r.calls, 1);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.clip->rate_hz, AUDIO_RATE_HZ);
	assert_int_equal(HITS(), hits + 1);
	assert_null(tts_cache_find(e.tts, "kal", "Goodbye."));
	audio_clip_deref(r.clip);
	env_down(&e);
}

static int setup(void **s)
{
	(void)s;
	return libre_init();
}

static int teardown(void **s)
{
	(void)s;
	libre_close();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			synth_delivers_the_clip_on_the_requesting_loop_thread),
		cmocka_unit_test(
			second_request_is_a_cache_hit_posted_never_inline),
		cmocka_unit_test(
			least_recently_used_clip_is_evicted_at_the_byte_cap),
		cmocka_unit_test(
			clip_larger_than_the_cap_is_delivered_but_not_cached),
		cmocka_unit_test(
			full_queue_refuses_with_eagain_and_same_text_waits),
		cmocka_unit_test(
			many_requests_for_one_text_are_synthesized_once),
		cmocka_unit_test(
			presynth_answers_requests_queued_behind_a_busy_pool),
		cmocka_unit_test(destroyed_pool_cancels_waiting_requests_once),
		cmocka_unit_test(bad_requests_fail_without_calling_back),
		cmocka_unit_test(
			presynth_fills_the_cache_for_every_voice_spelling),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
