/* Microbenchmarks of the audio layer: G.711 per sample, jitter buffer per
 * packet, resampling and in-band DTMF as real-time factors. Prints each
 * figure with its budget and the ratio (below 1.0 is within budget). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/clip.h"
#include "audio/dtmf_inband.h"
#include "audio/g711.h"
#include "audio/jitter.h"
#include "audio/resample.h"
#include "core/clock.h"
#include "bench_fig.h"

/* Budgets: a 500-call box spends under 1% of one core on each stage. */
#define BUDGET_G711_NS 5.0	  /* per sample */
#define BUDGET_JITTER_NS 500.0	  /* per put + get */
#define BUDGET_RESAMPLE_RTF 0.005 /* CPU time / audio time, 16k -> 8k */
#define BUDGET_DTMF_RTF 0.005

static unsigned long sink;

static void report(const char *what, double value, const char *unit,
		   double budget)
{
	printf("%-28s %10.4g %-8s budget %8.4g  ratio %5.2f%s\n", what, value,
	       unit, budget, value / budget, value > budget ? "  OVER" : "");
	bench_fig("audio", what, value, unit, "<=", budget);
}

static void bench_g711(void)
{
	enum { N = 8000, ROUNDS = 2000 };
	static int16_t pcm[N];
	static uint8_t code[N];
	for (int i = 0; i < N; i++)
		pcm[i] = (int16_t)((i * 7919) % 65536 - 32768);

	uint64_t t0 = clock_mono_us();
	for (int r = 0; r < ROUNDS; r++) {
		audio_ulaw_encode_buf(pcm, code, N);
		sink += code[r % N];
	}
	uint64_t t1 = clock_mono_us();
	for (int r = 0; r < ROUNDS; r++) {
		audio_ulaw_decode_buf(code, pcm, N);
		sink += (unsigned long)pcm[r % N];
	}
	uint64_t t2 = clock_mono_us();
	for (int r = 0; r < ROUNDS; r++) {
		audio_alaw_encode_buf(pcm, code, N);
		sink += code[r % N];
	}
	uint64_t t3 = clock_mono_us();
	for (int r = 0; r < ROUNDS; r++) {
		audio_alaw_decode_buf(code, pcm, N);
		sink += (unsigned long)pcm[r % N];
	}
	uint64_t t4 = clock_mono_us();

	double per = 1000.0 / ((double)N * ROUNDS); /* us -> ns per sample */
	report("ulaw encode", (double)(t1 - t0) * per, "ns/smp",
	       BUDGET_G711_NS);
	report("ulaw decode", (double)(t2 - t1) * per, "ns/smp",
	       BUDGET_G711_NS);
	report("alaw encode", (double)(t3 - t2) * per, "ns/smp",
	       BUDGET_G711_NS);
	report("alaw decode", (double)(t4 - t3) * per, "ns/smp",
	       BUDGET_G711_NS);
}

static void bench_jitter(void)
{
	enum { N = 1000000 };
	struct jitter_buf *jb = NULL;
	if (jitter_buf_create(&jb, NULL)) {
		fprintf(stderr, "jitter_buf_create failed\n");
		exit(1);
	}
	uint8_t payload[160], out[JITTER_DEFAULT_PAYLOAD];
	memset(payload, 0xff, sizeof(payload));
	srand(1);
	uint64_t t0 = clock_mono_us();
	for (int i = 0; i < N; i++) {
		/* mostly in order, every 16th pair swapped */
		uint16_t seq = (uint16_t)((i % 16 == 0)	  ? i + 1
					  : (i % 16 == 1) ? i - 1
							  : i);
		jitter_buf_put(jb, seq, (uint32_t)seq * 160u, payload,
			       sizeof(payload), (uint64_t)i * 20000u);
		size_t len;
		if (jitter_buf_get(jb, out, sizeof(out), &len) == JITTER_FRAME)
			sink += out[0];
	}
	uint64_t t1 = clock_mono_us();
	jitter_buf_destroy(jb);
	report("jitter put+get", (double)(t1 - t0) * 1000.0 / N, "ns/pkt",
	       BUDGET_JITTER_NS);
}

static void bench_resample(void)
{
	enum { SECONDS = 60 };
	struct resampler *r = NULL;
	if (resampler_create(&r, 16000, 8000, RESAMPLER_QUALITY_VOIP)) {
		fprintf(stderr, "resampler_create failed\n");
		exit(1);
	}
	int16_t in[320], out[160];
	for (int i = 0; i < 320; i++)
		in[i] = (int16_t)(i * 97 % 20000 - 10000);
	uint64_t t0 = clock_mono_us();
	for (int f = 0; f < SECONDS * 50; f++) {
		size_t n = 160;
		resampler_process(r, in, 320, out, &n);
		sink += (unsigned long)out[0];
	}
	uint64_t t1 = clock_mono_us();
	resampler_destroy(r);
	report("resample 16k->8k q3", (double)(t1 - t0) / (SECONDS * 1e6),
	       "RTF", BUDGET_RESAMPLE_RTF);

	struct audio_clip *clip = audio_clip_alloc(16000 * 10, 16000);
	if (!clip)
		exit(1);
	t0 = clock_mono_us();
	struct audio_clip *c8 = audio_clip_resample(clip, 8000);
	t1 = clock_mono_us();
	audio_clip_deref(c8);
	audio_clip_deref(clip);
	report("clip 16k->8k q7 (10 s)", (double)(t1 - t0) / 10e6, "RTF",
	       BUDGET_RESAMPLE_RTF * 4);
}

static void bench_dtmf(void)
{
	enum { SECONDS = 60 };
	struct inband_dtmf *d = NULL;
	if (inband_dtmf_create(&d)) {
		fprintf(stderr, "inband_dtmf_create failed\n");
		exit(1);
	}
	int16_t pcm[160];
	for (int i = 0; i < 160; i++)
		pcm[i] = (int16_t)(i * 131 % 8000 - 4000);
	char keys[8];
	uint64_t t0 = clock_mono_us();
	for (int f = 0; f < SECONDS * 50; f++)
		sink += (unsigned long)inband_dtmf_feed(d, pcm, 160, keys,
							sizeof(keys));
	uint64_t t1 = clock_mono_us();
	inband_dtmf_destroy(d);
	report("in-band dtmf detect", (double)(t1 - t0) / (SECONDS * 1e6),
	       "RTF", BUDGET_DTMF_RTF);
}

int main(void)
{
	bench_g711();
	bench_jitter();
	bench_resample();
	bench_dtmf();
	printf("(checksum %lu)\n", sink);
	return 0;
}
