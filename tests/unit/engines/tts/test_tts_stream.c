/* The prompt service's streams and disk tier: a miss returns at once a
 * stream that fills while the worker synthesizes, repeats are finished
 * streams over the cached clip, concurrent requests share one stream, a
 * second instance on the same cache_dir synthesizes nothing, corrupt files
 * are replaced, and keys are separated by engine, voice, rate and text.
 * Real pool, real flite engine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio/clip.h"
#include "audio/stream.h"
#include "audio/wav.h"
#include "core/clock.h"
#include "core/loop.h"
#include "core/wpool.h"
#include "engines/tts/tts.h"
#include "metrics/metrics.h"

static const char long_text[] =
	"Thank you for calling voxgate bank. Your call is important to us. "
	"For balances and recent transactions, press one. For cards, press "
	"two. To report a lost or stolen card, press three. For mortgages and "
	"loans, press four. To speak to an agent, press zero.";

struct env {
	struct wpool *pool;
	struct tts *tts;
	char dir[64];
};

static void env_up_dir(struct env *e, size_t cache_bytes, const char *dir)
{
	assert_int_equal(wpool_create(&e->pool, 2, 8), 0);
	struct tts_cfg cfg = { .default_voice = "kal",
			       .cache_max_bytes = cache_bytes,
			       .cache_dir = dir };
	assert_int_equal(tts_create(&e->tts, e->pool, &cfg), 0);
}

static void env_up(struct env *e, size_t cache_bytes, bool disk)
{
	memset(e, 0, sizeof(*e));
	if (disk) {
		strcpy(e->dir, "/tmp/vg-tts-test-XXXXXX");
		assert_non_null(mkdtemp(e->dir));
	}
	env_up_dir(e, cache_bytes, disk ? e->dir : NULL);
}

/* Close the service but keep the directory (a restart). */
static void env_stop(struct env *e)
{
	wpool_destroy(e->pool);
	tts_destroy(e->tts);
	e->pool = NULL;
	e->tts = NULL;
}

static void env_down(struct env *e)
{
	env_stop(e);
	if (e->dir[0]) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
		assert_int_equal(system(cmd), 0);
	}
}

static int wait_done(struct audio_stream *s)
{
	int err = 1;
	for (int i = 0; i < 20000 && !audio_stream_done(s, &err); i++)
		usleep(1000);
	assert_true(audio_stream_done(s, &err));
	return err;
}

static uint64_t counter(const char *name, const char *tier)
{
	char labels[32];
	snprintf(labels, sizeof(labels), "tier=\"%s\"", tier);
	return metric_counter_get(metrics_counter(name, labels, ""));
}

static struct tts_stats stats(struct env *e)
{
	struct tts_stats st;
	tts_stats_get(e->tts, &st);
	return st;
}

static void miss_returns_a_stream_that_fills_then_hits_are_finished(void **s)
{
	(void)s;
	struct env e;
	env_up(&e, TTS_CACHE_DEFAULT_BYTES, false);
	uint64_t hits = counter("voxgate_tts_cache_hits_total", "memory");
	uint64_t misses = counter("voxgate_tts_cache_misses_total", "memory");

	struct audio_stream *st = NULL;
	uint64_t t0 = clock_mono_us();
	assert_int_equal(tts_synth_stream(e.tts, "kal", long_text, &st), 0);
	uint64_t call_us = clock_mono_us() - t0;
	assert_non_null(st);
	assert_int_equal(audio_stream_rate(st), AUDIO_RATE_HZ);
	/* Returned without waiting for the synthesis of the ~14 s prompt
	 * (tens of ms here): the stream fills afterwards. */
	assert_true(call_us < 100000);

	/* Samples arrive while the stream is still open: the first frame
	 * is seen when only a small part of the sentence is there. */
	size_t seen_open = 0;
	while (!audio_stream_done(st, NULL)) {
		size_t n = audio_stream_len(st);
		if (!seen_open && n >= AUDIO_FRAME_SAMPLES &&
		    !audio_stream_done(st, NULL))
			seen_open = n;
		usleep(200);
	}
	int err = 1;
	assert_true(audio_stream_done(st, &err));
	assert_int_equal(err, 0);
	size_t total = audio_stream_len(st);
	assert_true(total > 10 * AUDIO_RATE_HZ);
	assert_true(seen_open >= AUDIO_FRAME_SAMPLES);
	assert_true(seen_open < total / 2);
	assert_true(audio_stream_first_us(st) >= t0);
	assert_int_equal(counter("voxgate_tts_cache_misses_total", "memory"),
			 misses + 1);

	/* Cached once finished: the next request is a finished stream over
	 * the very same audio. */
	for (int i = 0; i < 1000 && tts_cache_count(e.tts) == 0; i++)
		usleep(1000);
	assert_int_equal(tts_cache_count(e.tts), 1);
	struct audio_stream *again = NULL;
	assert_int_equal(tts_synth_stream(e.tts, NULL, long_text, &again), 0);
	assert_true(audio_stream_done(again, &err));
	assert_int_equal(err, 0);
	assert_int_equal(audio_stream_len(again), total);
	size_t n = 0;
	const int16_t *a = audio_stream_peek(st, 0, &n);
	assert_int_equal(n, total);
	const int16_t *b = audio_stream_peek(again, 0, &n);
	assert_int_equal(n, total);
	assert_memory_equal(a, b, total * sizeof(int16_t));
	assert_int_equal(counter("voxgate_tts_cache_hits_total", "memory"),
			 hits + 1);
	assert_int_equal(stats(&e).synth, 1);

	audio_stream_deref(again);
	audio_stream_deref(st);
	env_down(&e);
}

struct clip_result {
	atomic_int calls;
	int err;
	struct audio_clip *clip;
};

static void on_clip(int err, struct audio_clip *clip, void *arg)
{
	struct clip_result *r = arg;
	r->err = err;
	r->clip = clip;
	atomic_fetch_add(&r->calls, 1);
}

static void concurrent_requests_share_one_stream_and_one_synthesis(void **s)
{
	(void)s;
	struct env e;
	env_up(&e, TTS_CACHE_DEFAULT_BYTES, false);
	struct vg_loop *loop = NULL;
	assert_int_equal(loop_create(&loop, "tts-stream-test"), 0);
	assert_int_equal(loop_start(loop), 0);

	struct audio_stream *s1 = NULL, *s2 = NULL;
	struct clip_result r = { 0 };
	assert_int_equal(tts_synth_stream(e.tts, "kal", long_text, &s1), 0);
	assert_int_equal(tts_synth(e.tts, "kal", long_text, loop, on_clip, &r),
			 0);
	assert_int_equal(tts_synth_stream(e.tts, "kal", long_text, &s2), 0);
	assert_ptr_equal(s1, s2);
	assert_int_equal(wait_done(s1), 0);
	for (int i = 0; i < 5000 && !atomic_load(&r.calls); i++)
		usleep(1000);
	assert_int_equal(atomic_load(&r.calls), 1);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.clip->nsamples, audio_stream_len(s1));
	assert_int_equal(stats(&e).synth, 1);

	audio_clip_deref(r.clip);
	audio_stream_deref(s1);
	audio_stream_deref(s2);
	env_down(&e);
	loop_destroy(loop);
}

static bool file_is_wav(const char *path)
{
	struct audio_clip *c = NULL;
	if (wav_read(path, &c, NULL, 0))
		return false;
	bool ok = c->rate_hz == AUDIO_RATE_HZ && c->nsamples > 0;
	audio_clip_deref(c);
	return ok;
}

static void second_instance_reuses_disk_files_without_synthesizing(void **s)
{
	(void)s;
	struct env e;
	env_up(&e, TTS_CACHE_DEFAULT_BYTES, true);
	const char *text = "Welcome to voxgate bank.";
	assert_int_equal(tts_presynth(e.tts, "kal", text), 0);
	struct audio_stream *st = NULL;
	assert_int_equal(tts_synth_stream(e.tts, "slt", text, &st), 0);
	assert_int_equal(wait_done(st), 0);
	struct audio_clip *kal = tts_cache_find(e.tts, "kal", text);
	assert_non_null(kal);
	for (int i = 0; i < 2000 && stats(&e).disk_writes < 2; i++)
		usleep(1000);
	struct tts_stats a = stats(&e);
	assert_int_equal(a.synth, 2);
	assert_int_equal(a.disk_writes, 2);
	assert_int_equal(a.disk_misses, 2);
	char pk[512], ps[512];
	assert_int_equal(tts_cache_path(e.tts, "kal", text, pk, sizeof(pk)), 0);
	assert_int_equal(tts_cache_path(e.tts, "slt", text, ps, sizeof(ps)), 0);
	assert_string_not_equal(pk, ps);
	assert_true(file_is_wav(pk));
	assert_true(file_is_wav(ps));
	audio_stream_deref(st);
	env_stop(&e);

	/* Restart: both prompts come from disk, bit-exact. */
	uint64_t dh = counter("voxgate_tts_cache_hits_total", "disk");
	env_up_dir(&e, TTS_CACHE_DEFAULT_BYTES, e.dir);
	assert_int_equal(tts_presynth(e.tts, "kal", text), 0);
	struct audio_clip *kal2 = tts_cache_find(e.tts, "kal", text);
	assert_non_null(kal2);
	assert_int_equal(kal2->nsamples, kal->nsamples);
	assert_memory_equal(kal2->samples, kal->samples,
			    kal->nsamples * sizeof(int16_t));
	assert_int_equal(tts_synth_stream(e.tts, "slt", text, &st), 0);
	assert_int_equal(wait_done(st), 0);
	assert_true(audio_stream_len(st) > AUDIO_RATE_HZ / 2);
	struct tts_stats b = stats(&e);
	assert_int_equal(b.synth, 0);
	assert_int_equal(b.disk_hits, 2);
	assert_int_equal(b.disk_writes, 0);
	assert_int_equal(counter("voxgate_tts_cache_hits_total", "disk"),
			 dh + 2);

	audio_stream_deref(st);
	audio_clip_deref(kal);
	audio_clip_deref(kal2);
	env_down(&e);
}

static void evicted_clip_comes_back_from_disk(void **s)
{
	(void)s;
	struct env e;
	/* Room for about one short prompt in memory. */
	env_up(&e, 40000, true);
	const char *t1 = "For balances, press one.",
		   *t2 = "For cards, press two.";
	assert_int_equal(tts_presynth(e.tts, NULL, t1), 0);
	assert_int_equal(tts_presynth(e.tts, NULL, t2), 0);
	assert_int_equal(tts_cache_count(e.tts), 1);
	struct audio_clip *gone = tts_cache_find(e.tts, NULL, t1);
	assert_null(gone);
	struct audio_stream *st = NULL;
	assert_int_equal(tts_synth_stream(e.tts, NULL, t1, &st), 0);
	assert_int_equal(wait_done(st), 0);
	struct tts_stats a = stats(&e);
	assert_int_equal(a.synth, 2);
	assert_int_equal(a.disk_hits, 1);
	audio_stream_deref(st);
	env_down(&e);
}

static void corrupt_disk_file_is_ignored_and_replaced(void **s)
{
	(void)s;
	struct env e;
	env_up(&e, TTS_CACHE_DEFAULT_BYTES, true);
	const char *text = "Your balance is ready.";
	char path[512];
	assert_int_equal(tts_cache_path(e.tts, NULL, text, path, sizeof(path)),
			 0);
	/* Plant a truncated file where the prompt would be. */
	char dir[512];
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(mkdir(dir, 0755), 0);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "RIFF\x24\x00\x00\x00WAVEfmt ", 16), 16);
	close(fd);
	assert_false(file_is_wav(path));

	assert_int_equal(tts_presynth(e.tts, NULL, text), 0);
	struct tts_stats a = stats(&e);
	assert_int_equal(a.disk_errors, 1);
	assert_int_equal(a.disk_hits, 0);
	assert_int_equal(a.synth, 1);
	assert_int_equal(a.disk_writes, 1);
	assert_true(file_is_wav(path));
	env_down(&e);
}

static void keys_are_separated_by_engine_voice_rate_and_text(void **s)
{
	(void)s;
	char k[6][TTS_KEY_HEX_LEN + 1];
	assert_int_equal(tts_cache_key_hex("flite", "kal", 8000, "Hi", k[0]),
			 0);
	assert_int_equal(tts_cache_key_hex("flite", "slt", 8000, "Hi", k[1]),
			 0);
	assert_int_equal(tts_cache_key_hex("flite", "kal", 16000, "Hi", k[2]),
			 0);
	assert_int_equal(tts_cache_key_hex("other", "kal", 8000, "Hi", k[3]),
			 0);
	assert_int_equal(tts_cache_key_hex("flite", "kal", 8000, "Hi ", k[4]),
			 0);
	/* Moving a byte across a field boundary is another key. */
	assert_int_equal(tts_cache_key_hex("flite", "ka", 8000, "lHi", k[5]),
			 0);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(strlen(k[i]), TTS_KEY_HEX_LEN);
		assert_int_equal(strspn(k[i], "0123456789abcdef"),
				 TTS_KEY_HEX_LEN);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(k[i], k[j]);
	}
	char again[TTS_KEY_HEX_LEN + 1];
	assert_int_equal(tts_cache_key_hex("flite", "kal", 8000, "Hi", again),
			 0);
	assert_string_equal(again, k[0]);
	assert_int_equal(tts_cache_key_hex(NULL, "kal", 8000, "Hi", again),
			 -EINVAL);
}

static void voice_names_resolve_to_canonical_names(void **s)
{
	(void)s;
	struct env e;
	env_up(&e, TTS_CACHE_DEFAULT_BYTES, false);
	const char *eng = NULL;
	assert_string_equal(tts_voice_name(e.tts, NULL, &eng), "kal");
	assert_string_equal(eng, "flite");
	assert_string_equal(tts_voice_name(e.tts, "flite:cmu_us_slt", NULL),
			    "slt");
	assert_null(tts_voice_name(e.tts, "nobody", &eng));
	assert_null(tts_voice_name(e.tts, "", &eng));
	env_down(&e);
}

static void unusable_cache_dir_fails_create(void **s)
{
	(void)s;
	struct wpool *pool = NULL;
	struct tts *t = NULL;
	assert_int_equal(wpool_create(&pool, 1, 2), 0);
	struct tts_cfg cfg = { .cache_dir = "/nonexistent-vg/a/b" };
	assert_int_equal(tts_create(&t, pool, &cfg), -ENOENT);
	assert_null(t);
	/* Trailing slashes do not change the file names. */
	char dir[] = "/tmp/vg-tts-slash-XXXXXX", with[64], p1[512], p2[512];
	assert_non_null(mkdtemp(dir));
	snprintf(with, sizeof(with), "%s//", dir);
	cfg.cache_dir = with;
	assert_int_equal(tts_create(&t, pool, &cfg), 0);
	assert_int_equal(tts_cache_path(t, NULL, "Hi", p1, sizeof(p1)), 0);
	tts_destroy(t);
	cfg.cache_dir = dir;
	assert_int_equal(tts_create(&t, pool, &cfg), 0);
	assert_int_equal(tts_cache_path(t, NULL, "Hi", p2, sizeof(p2)), 0);
	assert_string_equal(p1, p2);
	assert_int_equal(strncmp(p2, dir, strlen(dir)), 0);
	tts_destroy(t);
	wpool_destroy(pool);
	assert_int_equal(rmdir(dir), 0);
}

struct blocker {
	atomic_int started, release;
};

static void block_work(void *arg)
{
	struct blocker *b = arg;
	atomic_store(&b->started, 1);
	while (!atomic_load(&b->release))
		usleep(1000);
}

static void full_queue_refuses_and_cancel_finishes_the_stream(void **s)
{
	(void)s;
	struct env e;
	memset(&e, 0, sizeof(e));
	assert_int_equal(wpool_create(&e.pool, 1, 1), 0);
	struct tts_cfg cfg = { .cache_max_bytes = TTS_CACHE_DEFAULT_BYTES };
	assert_int_equal(tts_create(&e.tts, e.pool, &cfg), 0);
	struct blocker b = { 0 };
	assert_int_equal(wpool_submit(e.pool, NULL, block_work, NULL, &b), 0);
	while (!atomic_load(&b.started))
		usleep(1000);

	struct audio_stream *q = NULL, *r = NULL;
	assert_int_equal(tts_synth_stream(e.tts, NULL, "Queued.", &q), 0);
	assert_int_equal(tts_synth_stream(e.tts, NULL, "Refused.", &r),
			 -EAGAIN);
	assert_null(r);
	assert_int_equal(tts_synth_stream(e.tts, NULL, "  ", &r), -EINVAL);
	assert_int_equal(tts_synth_stream(e.tts, "nobody", "Hi", &r), -EINVAL);
	assert_false(audio_stream_done(q, NULL));

	/* Destroying the pool cancels the queued job: its stream ends. */
	atomic_store(&b.release, 1);
	wpool_destroy(e.pool);
	int err = 0;
	assert_true(audio_stream_done(q, &err));
	if (err) {
		assert_int_equal(err, -ECANCELED);
		assert_int_equal(audio_stream_len(q), 0);
	}
	tts_destroy(e.tts);
	audio_stream_deref(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			miss_returns_a_stream_that_fills_then_hits_are_finished),
		cmocka_unit_test(
			concurrent_requests_share_one_stream_and_one_synthesis),
		cmocka_unit_test(
			second_instance_reuses_disk_files_without_synthesizing),
		cmocka_unit_test(evicted_clip_comes_back_from_disk),
		cmocka_unit_test(corrupt_disk_file_is_ignored_and_replaced),
		cmocka_unit_test(
			keys_are_separated_by_engine_voice_rate_and_text),
		cmocka_unit_test(voice_names_resolve_to_canonical_names),
		cmocka_unit_test(unusable_cache_dir_fails_create),
		cmocka_unit_test(
			full_queue_refuses_and_cancel_finishes_the_stream),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
