/* TTS benchmark: synthesis time per voice for typical prompts (ms and
 * real-time factor) and cache-hit latency, against budgets. Not a test. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <re.h>

#include "audio/clip.h"
#include "core/clock.h"
#include "core/loop.h"
#include "core/wpool.h"
#include "engines/tts/flite/tts_flite.h"
#include "engines/tts/tts.h"

/* Budgets: a prompt must synthesize well under its own duration so a cache
 * miss costs a caller a short pause, and a hit must be cheap enough to do
 * per call on the media loop. */
#define BUDGET_RTF 0.1
#define BUDGET_FIND_US 2.0
#define BUDGET_HIT_POST_US 200.0

enum { REPS = 5, FIND_REPS = 200000, POST_REPS = 2000 };

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
	libre_close();
	if (err)
		fprintf(stderr, "bench_tts: error %d\n", err);
	return err ? 1 : 0;
}
