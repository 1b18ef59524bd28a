/* Fake batch engines and the loop + worker pool + service fixture shared by
 * the STT service unit tests (test_stt_service.c, test_stt_stream.c,
 * test_stt_partials.c, test_stt_degrade.c) and the flow session's speech
 * tests (flow/speech_rig.h): one copy per test binary. */
#ifndef VG_TEST_STT_FAKES_H
#define VG_TEST_STT_FAKES_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <re.h>

#include "audio/clip.h"
#include "core/loop.h"
#include "core/wpool.h"
#include "engines/stt/stt.h"
#include "metrics/metrics.h"

/* ---- fake batch engines: behaviour set by each test ---- */

struct fake {
	const char *text; /* what decode() returns */
	int err;	  /* decode() error (0: text) */
	int open_err;
	unsigned sleep_ms;
	atomic_int gate; /* when set, decode() waits for release */
	atomic_int release;
	atomic_int started; /* decode() entered */
	atomic_int calls;   /* decode() returned */
	atomic_int closed;
	atomic_size_t last_n; /* samples of the last decode() */
	enum stt_mode last_mode;
	bool last_snap; /* the request was an OPEN decode to snap */
	const struct stt_grammar *last_grammar;
};

enum { FAKE_A, FAKE_B, FAKE_G, FAKE_MISSING, FAKES };
static struct fake fakes[FAKES];

struct fake_engine {
	struct stt_engine base;
	struct fake *f;
};

static inline int fake_open(struct stt_engine **ep, int k)
{
	if (fakes[k].open_err)
		return fakes[k].open_err;
	struct fake_engine *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->f = &fakes[k];
	*ep = &e->base;
	return 0;
}

static inline int fake_a_open(struct stt_engine **ep,
			      const struct stt_engine_cfg *c)
{
	(void)c;
	return fake_open(ep, FAKE_A);
}

static inline int fake_b_open(struct stt_engine **ep,
			      const struct stt_engine_cfg *c)
{
	(void)c;
	return fake_open(ep, FAKE_B);
}

static inline int fake_g_open(struct stt_engine **ep,
			      const struct stt_engine_cfg *c)
{
	(void)c;
	return fake_open(ep, FAKE_G);
}

/* open() and close() of a fake whose engine keeps no state: its decode()
 * and stream calls keep what the test checks in the test's own globals. */
static inline int fake_bare_open(struct stt_engine **ep,
				 const struct stt_engine_cfg *c)
{
	(void)c;
	*ep = calloc(1, sizeof(**ep));
	return *ep ? 0 : -ENOMEM;
}

static inline void fake_bare_close(struct stt_engine *e)
{
	free(e);
}

static inline int fake_missing_open(struct stt_engine **ep,
				    const struct stt_engine_cfg *c)
{
	(void)ep;
	(void)c;
	return -ENOENT;
}

static inline void fake_close(struct stt_engine *e)
{
	struct fake_engine *fe = (struct fake_engine *)e;
	atomic_fetch_add(&fe->f->closed, 1);
	free(fe);
}

static inline int fake_decode(struct stt_engine *e,
			      const struct stt_request *req, const int16_t *pcm,
			      size_t n, struct stt_result *res)
{
	(void)pcm;
	struct fake *f = ((struct fake_engine *)e)->f;
	atomic_fetch_add(&f->started, 1);
	atomic_store(&f->last_n, n);
	f->last_mode = req->mode;
	f->last_snap = req->snap;
	f->last_grammar = req->grammar;
	while (atomic_load(&f->gate) && !atomic_load(&f->release))
		usleep(1000);
	if (f->sleep_ms)
		usleep(f->sleep_ms * 1000u);
	atomic_fetch_add(&f->calls, 1);
	if (f->err)
		return f->err;
	memset(res, 0, sizeof(*res));
	snprintf(res->text, sizeof(res->text), "%s", f->text ? f->text : "");
	res->confidence = 0.8f;
	return 0;
}

/* Not every test lists every fake engine. */
#define FAKE_OPS static const struct stt_engine_ops __attribute__((unused))

FAKE_OPS fake_a_ops = {
	.name = "fake_a",
	.caps = STT_CAP_OPEN,
	.open = fake_a_open,
	.close = fake_close,
	.decode = fake_decode,
};

FAKE_OPS fake_b_ops = {
	.name = "fake_b",
	.caps = STT_CAP_OPEN,
	.open = fake_b_open,
	.close = fake_close,
	.decode = fake_decode,
};

FAKE_OPS fake_g_ops = {
	.name = "fake_g",
	.caps = STT_CAP_GRAMMAR | STT_CAP_LM,
	.open = fake_g_open,
	.close = fake_close,
	.decode = fake_decode,
};

FAKE_OPS fake_missing_ops = {
	.name = "fake_missing",
	.caps = STT_CAP_OPEN,
	.open = fake_missing_open,
	.close = fake_close,
	.decode = fake_decode,
};

#undef FAKE_OPS

/* ---- a fake engine that streams: each test builds its own ops from
 * these stream calls (with its own name and decode()) and sets the
 * options with fake_streamer_reset() ---- */

struct fake_streamer {
	bool check_order;   /* sample i must be i % 1000, else "misfed n" */
	bool every_partial; /* a partial per call, not only on new audio */
	/* Writes the final for n samples fed (in order when checked) and
	 * returns true; false or NULL: "streamed n". */
	bool (*final)(size_t n, char *text, size_t cap);
	atomic_int busy;	/* stream_begin() says -EBUSY while set */
	atomic_int begins;	/* stream_begin() calls */
	atomic_int ends;	/* stream_end() calls */
	atomic_int streams_out; /* begun, not yet ended or aborted */
	atomic_size_t fed;	/* samples the last stream got */
	atomic_size_t ended_n;	/* samples the last ended stream got */
};
static struct fake_streamer streamer;

struct fake_stream {
	size_t n, told;
	bool misfed;
};

static inline void fake_streamer_reset(bool check_order, bool every_partial,
				       bool (*final)(size_t, char *, size_t))
{
	streamer.check_order = check_order;
	streamer.every_partial = every_partial;
	streamer.final = final;
	atomic_store(&streamer.busy, 0);
	atomic_store(&streamer.begins, 0);
	atomic_store(&streamer.ends, 0);
	atomic_store(&streamer.streams_out, 0);
	atomic_store(&streamer.fed, 0);
	atomic_store(&streamer.ended_n, 0);
}

static inline int fake_stream_begin(struct stt_engine *e,
				    const struct stt_request *req,
				    struct stt_engine_stream **sp)
{
	(void)e;
	(void)req;
	if (atomic_load(&streamer.busy))
		return -EBUSY;
	struct fake_stream *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	atomic_fetch_add(&streamer.begins, 1);
	atomic_fetch_add(&streamer.streams_out, 1);
	atomic_store(&streamer.fed, 0);
	*sp = (struct stt_engine_stream *)x;
	return 0;
}

static inline int fake_stream_feed(struct stt_engine_stream *s,
				   const int16_t *pcm, size_t n)
{
	struct fake_stream *x = (struct fake_stream *)s;
	for (size_t i = 0; streamer.check_order && i < n; i++)
		if (pcm[i] != (int16_t)((x->n + i) % 1000))
			x->misfed = true;
	x->n += n;
	atomic_store(&streamer.fed, x->n);
	return 0;
}

static inline int fake_stream_partial(struct stt_engine_stream *s, char *text,
				      size_t cap)
{
	struct fake_stream *x = (struct fake_stream *)s;
	if (!streamer.every_partial && x->n == x->told)
		return 0;
	x->told = x->n;
	snprintf(text, cap, "so far %zu", x->n);
	return 1;
}

static inline int fake_stream_end(struct stt_engine_stream *s,
				  struct stt_result *res)
{
	struct fake_stream *x = (struct fake_stream *)s;
	memset(res, 0, sizeof(*res));
	if (x->misfed)
		snprintf(res->text, sizeof(res->text), "misfed %zu", x->n);
	else if (!streamer.final ||
		 !streamer.final(x->n, res->text, sizeof(res->text)))
		snprintf(res->text, sizeof(res->text), "streamed %zu", x->n);
	res->confidence = 0.8f;
	atomic_store(&streamer.ended_n, x->n);
	atomic_fetch_add(&streamer.ends, 1);
	atomic_fetch_sub(&streamer.streams_out, 1);
	free(x);
	return 0;
}

static inline void fake_stream_abort(struct stt_engine_stream *s)
{
	if (!s)
		return;
	free(s);
	atomic_fetch_sub(&streamer.streams_out, 1);
}

/* ---- fixture: a started loop, a worker pool and the service ---- */

struct env {
	struct vg_loop *loop;
	struct wpool *pool;
	struct stt *stt;
	struct audio_clip *clip; /* 1 s of silence at 8 kHz */
};

/* Resets the metrics and the fakes (fake_a/b/g say "from a/b/g"), then
 * opens the service over ops[0..nops) with cfg, a pool of threads workers
 * and a queue of max_queue. */
static inline void env_open_cfg(struct env *e,
				const struct stt_engine_ops *const *ops,
				size_t nops, const struct stt_cfg *cfg,
				unsigned threads, size_t max_queue)
{
	metrics_reset();
	memset(fakes, 0, sizeof(fakes));
	fakes[FAKE_A].text = "from a";
	fakes[FAKE_B].text = "from b";
	fakes[FAKE_G].text = "from g";
	memset(e, 0, sizeof(*e));
	assert_int_equal(loop_create(&e->loop, "stt-test"), 0);
	assert_int_equal(loop_start(e->loop), 0);
	assert_int_equal(wpool_create(&e->pool, threads, max_queue), 0);
	assert_int_equal(stt_create_with_ops(&e->stt, e->pool, ops, nops, cfg),
			 0);
	e->clip = audio_clip_alloc(AUDIO_RATE_HZ, AUDIO_RATE_HZ);
	assert_non_null(e->clip);
}

/* env_open_cfg() with engines and deadline_ms, the rest the defaults. */
static inline void env_open_ops(struct env *e,
				const struct stt_engine_ops *const *ops,
				size_t nops, const char *engines,
				unsigned deadline_ms, unsigned threads,
				size_t max_queue)
{
	struct stt_cfg cfg = { .engines = engines, .deadline_ms = deadline_ms };
	env_open_cfg(e, ops, nops, &cfg, threads, max_queue);
}

/* Releases every gated fake, then closes what env_open_ops() opened
 * (e->pool may already be destroyed and NULL). */
static inline void env_close(struct env *e)
{
	for (int k = 0; k < FAKES; k++)
		atomic_store(&fakes[k].release, 1);
	wpool_destroy(e->pool);
	loop_destroy(e->loop);
	stt_destroy(e->stt);
	audio_clip_deref(e->clip);
	metrics_reset();
}

/* Polls *v for up to 5 s until it reaches n (the caller asserts). */
static inline void wait_for(atomic_int *v, int n)
{
	for (int i = 0; i < 5000 && atomic_load(v) < n; i++)
		usleep(1000);
}

static inline uint64_t counter(const char *name, const char *labels)
{
	return metric_counter_get(metrics_counter(name, labels, "x"));
}

/* cmocka group setup and teardown: libre for the loop threads. */
static inline int libre_setup(void **s)
{
	(void)s;
	return libre_init();
}

static inline int libre_teardown(void **s)
{
	(void)s;
	libre_close();
	return 0;
}

#endif
