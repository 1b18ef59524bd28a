/* Moonshine on sherpa-onnx, the engine alone: library + model load time,
 * resident memory after load and while decoding, real-time factor and
 * per-utterance decode latency on one core (threads = 1), and the Silero
 * VAD wrapper's cost per 20 ms frame. Speech: flite "kal" sentences through
 * G.711 mu-law. Not a test; needs deps/ (scripts/fetch-models.sh). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audio/clip.h"
#include "audio/g711.h"
#include "core/clock.h"
#include "engines/stt/sherpa/sherpa.h"
#include "engines/stt/stt.h"
#include "engines/tts/flite/tts_flite.h"
#include "bench_fig.h"

/* Budgets (issue 2/7): decode of an endpointed utterance within 150 ms p95
 * (the finalize budget of bench_stt), model load within 2 s at start-up. */
#define BUDGET_DECODE_P95_MS 150.0
#define BUDGET_LOAD_MS 2000.0
#define ROUNDS 5

static const char *const sentences[] = {
	"i want to check my balance",
	"i would like to transfer money to my savings account",
	"please block my credit card",
	"what is my account balance",
	"i need to speak to an agent about a payment on my statement",
	"yes",
};
#define NSENT (sizeof(sentences) / sizeof(sentences[0]))

static long rss_kb(const char *key)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			kb = strtol(line + strlen(key) + 1, NULL, 10);
	fclose(f);
	return kb;
}

/* CPU time of the calling thread: with threads = 1 onnxruntime computes on
 * the caller, so this is the decode's cost even on a busy machine, where
 * wall time also counts waiting for a core. */
static uint64_t thread_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(void)
{
	struct audio_clip *clips[NSENT];
	struct stt_engine *stt = NULL;
	struct stt_engine_cfg cfg = { .threads = 1 };
	struct tts_engine *tts = NULL;
	double lat[NSENT * ROUNDS], cpu[NSENT * ROUNDS];
	double audio_s = 0, decode_s = 0, cpu_s = 0;
	uint64_t c0;
	long rss0, rss_load;
	uint64_t t0;
	double load_lib_ms, load_model_ms;
	int err;

	if (tts_flite_ops.open(&tts)) {
		fprintf(stderr, "bench_moonshine: flite open failed\n");
		return 1;
	}
	for (size_t i = 0; i < NSENT; i++) {
		const struct tts_voice *v = tts_engine_voice_find(tts, "kal");

		if (tts_engine_synth(tts, v, sentences[i], &clips[i]))
			return 1;
		for (size_t k = 0; k < clips[i]->nsamples; k++)
			clips[i]->samples[k] = audio_ulaw_decode(
				audio_ulaw_encode(clips[i]->samples[k]));
	}
	tts_flite_ops.close(tts);

	rss0 = rss_kb("VmRSS:");
	t0 = clock_mono_us();
	err = sherpa_load(NULL);
	load_lib_ms = (double)(clock_mono_us() - t0) / 1000.0;
	if (err) {
		fprintf(stderr,
			"bench_moonshine: sherpa_load: %s (run "
			"scripts/fetch-models.sh)\n",
			strerror(-err));
		return 1;
	}
	t0 = clock_mono_us();
	err = stt_moonshine_ops.open(&stt, &cfg);
	load_model_ms = (double)(clock_mono_us() - t0) / 1000.0;
	if (err) {
		fprintf(stderr, "bench_moonshine: open: %s\n", strerror(-err));
		return 1;
	}
	rss_load = rss_kb("VmRSS:");

	/* warm-up: onnxruntime plans its memory on the first run */
	{
		struct stt_result res;

		stt_engine_decode(stt, NULL, clips[0]->samples,
				  clips[0]->nsamples, &res);
	}
	for (int r = 0; r < ROUNDS; r++) {
		for (size_t i = 0; i < NSENT; i++) {
			struct stt_result res;

			t0 = clock_mono_us();
			c0 = thread_cpu_us();
			if (stt_engine_decode(stt, NULL, clips[i]->samples,
					      clips[i]->nsamples, &res))
				return 1;
			lat[r * NSENT + i] =
				(double)(clock_mono_us() - t0) / 1000.0;
			decode_s += lat[r * NSENT + i] / 1000.0;
			cpu[r * NSENT + i] =
				(double)(thread_cpu_us() - c0) / 1000.0;
			cpu_s += cpu[r * NSENT + i] / 1000.0;
			audio_s += (double)clips[i]->nsamples / AUDIO_RATE_HZ;
			if (r == 0)
				printf("  %-62s -> \"%s\" (%.2f)\n",
				       sentences[i], res.text, res.confidence);
		}
	}
	qsort(lat, NSENT * ROUNDS, sizeof(lat[0]), cmp_double);
	qsort(cpu, NSENT * ROUNDS, sizeof(cpu[0]), cmp_double);

	double p50 = lat[NSENT * ROUNDS / 2];
	double p95 = lat[(NSENT * ROUNDS * 95) / 100];
	double rtf = decode_s / audio_s;

	printf("library dlopen           %8.1f ms\n", load_lib_ms);
	printf("model load (open)        %8.1f ms   budget %.0f ms  ratio "
	       "%.2f\n",
	       load_model_ms, BUDGET_LOAD_MS, load_model_ms / BUDGET_LOAD_MS);
	printf("RSS before / after load  %8.1f / %.1f MB (+%.1f MB)\n",
	       rss0 / 1024.0, rss_load / 1024.0, (rss_load - rss0) / 1024.0);
	printf("RSS after decoding       %8.1f MB, peak %.1f MB\n",
	       rss_kb("VmRSS:") / 1024.0, rss_kb("VmHWM:") / 1024.0);
	printf("RTF (1 thread)           %8.3f   (%.1f s audio in %.2f s, "
	       "%zu utterances x %d)\n",
	       rtf, audio_s, decode_s, NSENT, ROUNDS);
	printf("RTF, CPU time            %8.3f   (decode thread's CPU: "
	       "independent of machine load)\n",
	       cpu_s / audio_s);
	printf("decode CPU p50 / p95     %8.1f / %.1f ms  budget p95 %.0f ms "
	       "ratio %.2f\n",
	       cpu[NSENT * ROUNDS / 2], cpu[(NSENT * ROUNDS * 95) / 100],
	       BUDGET_DECODE_P95_MS,
	       cpu[(NSENT * ROUNDS * 95) / 100] / BUDGET_DECODE_P95_MS);
	printf("decode wall p50 / p95    %8.1f / %.1f ms  budget p95 %.0f ms "
	       "ratio %.2f\n",
	       p50, p95, BUDGET_DECODE_P95_MS, p95 / BUDGET_DECODE_P95_MS);
	bench_fig("moonshine", "load", load_model_ms, "ms",
		  "<=", BUDGET_LOAD_MS);
	bench_fig("moonshine", "decode_cpu_p95",
		  cpu[(NSENT * ROUNDS * 95) / 100], "ms",
		  "<=", BUDGET_DECODE_P95_MS);
	bench_fig("moonshine", "rtf", rtf, "RTF", NULL, 0);

	/* Silero VAD: one call's worth of frames */
	struct sherpa_vad *vad;

	if (sherpa_vad_create(&vad, NULL, 0.5f, 300, 100) == 0) {
		size_t frames = 0, speech = 0;

		t0 = clock_mono_us();
		c0 = thread_cpu_us();
		for (int r = 0; r < ROUNDS; r++)
			for (size_t i = 0; i < NSENT; i++)
				for (size_t k = 0; k + AUDIO_FRAME_SAMPLES <=
						   clips[i]->nsamples;
				     k += AUDIO_FRAME_SAMPLES) {
					speech +=
						sherpa_vad_frame(
							vad, clips[i]->samples +
								     k) == 1;
					frames++;
				}
		double us = (double)(clock_mono_us() - t0) / (double)frames;
		double cus = (double)(thread_cpu_us() - c0) / (double)frames;

		printf("silero VAD               %8.1f us CPU (%.1f wall) per "
		       "20 ms "
		       "frame: %.2f%% of a core per call (%zu/%zu frames "
		       "speech)\n",
		       cus, us, cus / 20000.0 * 100.0, speech, frames);
		sherpa_vad_destroy(vad);
	}

	stt_moonshine_ops.close(stt);
	for (size_t i = 0; i < NSENT; i++)
		audio_clip_deref(clips[i]);
	return 0;
}
