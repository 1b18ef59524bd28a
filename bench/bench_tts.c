/* TTS benchmark: synthesis time per voice for typical prompts (ms and
 * real-time factor), cache-hit latency, and first-frame latency of
 * tts_synth_stream() (request -> first 160 samples published) cold, from
 * the disk tier and from memory, against budgets. Not a test. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <re.h>

#include "audio/clip.h"
#include "audio/stream.h"
#include "core/clock.h"
#include "core/loop.h"
#include "core/wpool.h"
#include "engines/tts/flite/tts_flite.h"
#include "engines/tts/tts.h"
#include "bench_fig.h"

/* Budgets: a prompt must synthesize well under its own duration so a cache
 * miss costs a caller a short pause, and a hit must be cheap enough to do
 * per call on the media loop. */
#define BUDGET_RTF 0.1
#define BUDGET_FIND_US 2.0
#define BUDGET_HIT_POST_US 200.0
/* First frame (request -> 160 samples published): a cold prompt must start
 * within about one frame time plus jitter; a cached one must be free. */
#define BUDGET_FIRST_COLD_US 30000.0
#define BUDGET_FIRST_CACHED_US 1000.0

enum {
	REPS = 5,
	FIND_REPS = 200000,
	POST_REPS = 2000,
	FIRST_REPS = 40,
	FIRST_HIT_REPS = 2000
};

static const char *const prompts[] = {
	"Welcome to voxgate bank.",
	"For balances, press 1. For cards, press 2. To speak to an agent, "
	"press 0.",
	"Sorry, I didn't get that. Please enter your 8 digit account number "
	"followed by the pound key.",
	"Your balance on March 3rd was $1,234.56.",
};
#define NPROMPTS (sizeof(prompts) / sizeof(prompts[0]))

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int bench_voice(struct tts_engine *e, const char *voice)
{
	const struct tts_voice *v = tts_engine_voice_find(e, voice);
	if (!v)
		return -EINVAL;
	for (size_t p = 0; p < NPROMPTS; p++) {
		uint64_t us[REPS];
		double audio_s = 0;
		for (int r = 0; r < REPS; r++) {
			struct audio_clip *c = NULL;
			uint64_t t0 = clock_mono_us();
			int err = tts_engine_synth(e, v, prompts[p], &c);
			us[r] = clock_mono_us() - t0;
			if (err)
				return err;
			audio_s = (double)c->nsamples / c->rate_hz;
			audio_clip_deref(c);
		}
		qsort(us, REPS, sizeof(us[0]), cmp_u64);
		double ms = us[REPS / 2] / 1000.0;
		double rtf = ms / 1000.0 / audio_s;
		printf("synth voice=%s prompt=%zu chars=%zu audio=%.2fs "
		       "median=%.1fms rtf=%.3f budget_rtf=%.2f ratio=%.2f\n",
		       voice, p, strlen(prompts[p]), audio_s, ms, rtf,
		       BUDGET_RTF, rtf / BUDGET_RTF);
	}
	return 0;
}

struct hit {
	atomic_int done;
};

static void on_hit(int err, struct audio_clip *clip, void *arg)
{
	(void)err;
	audio_clip_deref(clip);
	atomic_store(&((struct hit *)arg)->done, 1);
}

static int bench_cache(void)
{
	struct wpool *pool = NULL;
	struct vg_loop *loop = NULL;
	struct tts *t = NULL;
	int err = wpool_create(&pool, 1, 4);
	if (!err)
		err = loop_create(&loop, "bench");
	if (!err)
		err = loop_start(loop);
	if (!err)
		err = tts_create(&t, pool, NULL);
	if (!err)
		err = tts_presynth(t, "kal", prompts[1]);
	if (err)
		goto out;

	uint64_t t0 = clock_mono_us();
	for (int i = 0; i < FIND_REPS; i++)
		audio_clip_deref(tts_cache_find(t, "kal", prompts[1]));
	double find_us = (double)(clock_mono_us() - t0) / FIND_REPS;
	printf("cache_find hit mean=%.3fus budget=%.1fus ratio=%.2f\n", find_us,
	       BUDGET_FIND_US, find_us / BUDGET_FIND_US);

	/* tts_synth() on a hit: lookup, post, callback on the loop. */
	uint64_t us[POST_REPS];
	for (int i = 0; i < POST_REPS; i++) {
		struct hit h = { 0 };
		uint64_t s = clock_mono_us();
		err = tts_synth(t, "kal", prompts[1], loop, on_hit, &h);
		if (err)
			goto out;
		while (!atomic_load(&h.done))
			;
		us[i] = clock_mono_us() - s;
	}
	qsort(us, POST_REPS, sizeof(us[0]), cmp_u64);
	double p50 = (double)us[POST_REPS / 2];
	printf("tts_synth hit round trip p50=%.0fus p99=%lluus budget=%.0fus "
	       "ratio=%.2f\n",
	       p50, (unsigned long long)us[POST_REPS * 99 / 100],
	       BUDGET_HIT_POST_US, p50 / BUDGET_HIT_POST_US);
out:
	wpool_destroy(pool);
	tts_destroy(t);
	loop_destroy(loop);
	return err;
}

/* Request -> first 160 samples visible to a reader on this thread, which
 * polls as the media loop would (but every 50 us, not every 20 ms). Waits
 * for the end so requests do not overlap. */
static int first_frame_us(struct tts *t, const char *voice, const char *text,
			  uint64_t *us, uint64_t *done_us)
{
	struct audio_stream *s = NULL;
	uint64_t t0 = clock_mono_us();
	int err = tts_synth_stream(t, voice, text, &s);
	if (err)
		return err;
	/* Poll every 50 us rather than spin: on two cores a spinning
	 * reader would take the CPU from the worker it is timing. */
	while (audio_stream_len(s) < AUDIO_FRAME_SAMPLES &&
	       !audio_stream_done(s, &err))
		usleep(50);
	*us = clock_mono_us() - t0;
	while (!audio_stream_done(s, &err))
		usleep(100);
	if (done_us)
		*done_us = clock_mono_us() - t0;
	audio_stream_deref(s);
	return err;
}

/* done: the whole prompt's time for the same requests (NULL: none), to
 * show what streaming saves whatever the machine's load. */
static void report(const char *what, const char *voice, uint64_t *us,
		   uint64_t *done, size_t n, double budget_us)
{
	qsort(us, n, sizeof(us[0]), cmp_u64);
	double p50 = (double)us[n / 2], p95 = (double)us[n * 95 / 100];
	printf("first_frame %s voice=%s n=%zu p50=%.0fus p95=%.0fus "
	       "max=%lluus budget_p95=%.0fus ratio=%.3f",
	       what, voice, n, p50, p95, (unsigned long long)us[n - 1],
	       budget_us, p95 / budget_us);
	if (done) {
		qsort(done, n, sizeof(done[0]), cmp_u64);
		printf(" whole_prompt_p50=%lluus",
		       (unsigned long long)done[n / 2]);
	}
	printf("\n");
	char fig[64];
	snprintf(fig, sizeof(fig), "first_frame %s %s p95", what, voice);
	bench_fig("tts", fig, p95 / 1000.0, "ms", "<=", budget_us / 1000.0);
}

/* Distinct prompts (a number in the text), so every request is a miss. */
static void prompt(char *buf, size_t len, int i)
{
	snprintf(buf, len,
		 "Your reference number is %d. For balances, press 1. To "
		 "speak to an agent, press 0.",
		 1000 + i);
}

static int bench_first_frame(const char *voice)
{
	struct wpool *pool = NULL;
	struct tts *t = NULL, *t2 = NULL;
	char dir[] = "/tmp/vg-bench-tts-XXXXXX";
	if (!mkdtemp(dir))
		return -errno;
	int err = wpool_create(&pool, 2, 16);
	struct tts_cfg cfg = { .cache_max_bytes = TTS_CACHE_DEFAULT_BYTES,
			       .cache_dir = dir };
	if (!err)
		err = tts_create(&t, pool, &cfg);
	uint64_t cold[FIRST_REPS], cold_done[FIRST_REPS], disk[FIRST_REPS],
		hit[FIRST_HIT_REPS];
	char text[160];
	/* Warm the engine (first use loads lexicon pages). */
	for (int i = 0; !err && i < 3; i++) {
		prompt(text, sizeof(text), 900 + i);
		err = first_frame_us(t, voice, text, &cold[0], NULL);
	}
	for (int i = 0; !err && i < FIRST_REPS; i++) {
		prompt(text, sizeof(text), i);
		err = first_frame_us(t, voice, text, &cold[i], &cold_done[i]);
	}
	for (int i = 0; !err && i < FIRST_HIT_REPS; i++) {
		prompt(text, sizeof(text), i % FIRST_REPS);
		err = first_frame_us(t, voice, text, &hit[i], NULL);
	}
	/* A restart: the memory tier is empty, the files are there. */
	if (!err)
		err = tts_create(&t2, pool, &cfg);
	for (int i = 0; !err && i < FIRST_REPS; i++) {
		prompt(text, sizeof(text), i);
		err = first_frame_us(t2, voice, text, &disk[i], NULL);
	}
	if (!err) {
		report("cold", voice, cold, cold_done, FIRST_REPS,
		       BUDGET_FIRST_COLD_US);
		report("disk", voice, disk, NULL, FIRST_REPS,
		       BUDGET_FIRST_COLD_US);
		report("cached", voice, hit, NULL, FIRST_HIT_REPS,
		       BUDGET_FIRST_CACHED_US);
	}
	wpool_destroy(pool);
	tts_destroy(t);
	tts_destroy(t2);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "bench_tts: could not remove %s\n", dir);
	return err;
}

int main(void)
{
	if (libre_init())
		return 1;
	struct tts_engine *e = NULL;
	int err = tts_flite_ops.open(&e);
	if (!err)
		err = bench_voice(e, "kal");
	if (!err)
		err = bench_voice(e, "slt");
	tts_flite_ops.close(e);
	if (!err)
		err = bench_cache();
	if (!err)
		err = bench_first_frame("kal");
	if (!err)
		err = bench_first_frame("slt");
	libre_close();
	if (err)
		fprintf(stderr, "bench_tts: error %d\n", err);
	return err ? 1 : 0;
}
