/* Tests for the frame classifier (audio/vad.h): signals made here (silence,
 * line noise with a fixed seed, DTMF, call-progress tones, a plucked melody)
 * must not be speech, nor start a turn through the endpointer; speech made
 * with flite must, from -10 to -40 dBFS and in noise. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audio/clip.h"
#include "audio/vad.h"
#include "engines/tts/flite/tts_flite.h"
#include "engines/tts/tts.h"

#define RATE 8000
#define FRAME AUDIO_FRAME_SAMPLES
#define MAXN (RATE * 12)

/* RMS of a full-scale sine: the 0 dBFS reference. */
static const double full_scale = 32767.0 / 1.41421356;

static int16_t sat(double x)
{
	return (int16_t)(x > 32767.0	? 32767
			 : x < -32768.0 ? -32768
					: lrint(x));
}

/* Scale buf to RMS level dBFS. */
static void set_level(double *buf, size_t n, double dbfs)
{
	double e = 0.0;
	for (size_t i = 0; i < n; i++)
		e += buf[i] * buf[i];
	double rms = sqrt(e / (double)n);
	assert_true(rms > 0.0);
	double g = full_scale * pow(10.0, dbfs / 20.0) / rms;
	for (size_t i = 0; i < n; i++)
		buf[i] *= g;
}

static void to_pcm(const double *in, int16_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = sat(in[i]);
}

/* Deterministic noise: sums of LCG uniforms (near Gaussian), then white,
 * pink-ish (three leaky integrators mixed) or brown (one). */
enum colour { WHITE, PINK, BROWN };

static void noise(double *buf, size_t n, enum colour c, uint32_t seed)
{
	double p1 = 0, p2 = 0, p3 = 0;
	for (size_t i = 0; i < n; i++) {
		double x = 0;
		for (int k = 0; k < 4; k++) {
			seed = seed * 1664525u + 1013904223u;
			x += (double)(seed >> 8) / 16777216.0 - 0.5;
		}
		switch (c) {
		case WHITE:
			buf[i] = x;
			break;
		case PINK:
			p1 = 0.997 * p1 + 0.03 * x;
			p2 = 0.96 * p2 + 0.1 * x;
			p3 = 0.6 * p3 + 0.3 * x;
			buf[i] = p1 + p2 + p3 + 0.2 * x;
			break;
		case BROWN:
			p1 = 0.995 * p1 + x;
			buf[i] = p1;
			break;
		}
	}
}

static void sines(double *buf, size_t n, double f1, double f2, double dbfs)
{
	double a = 32767.0 * pow(10.0, dbfs / 20.0);
	for (size_t i = 0; i < n; i++) {
		double t = (double)i / RATE;
		buf[i] = a * sin(2 * M_PI * f1 * t) +
			 (f2 > 0 ? a * sin(2 * M_PI * f2 * t) : 0.0);
	}
}

struct result {
	size_t frames, speech; /* frames classified speech */
	size_t starts;	       /* EP_SPEECH_START from the default endpointer */
	size_t first_start;    /* frame of the first one */
};

/* Classify pcm frame by frame with a fresh detector and endpointer (turns
 * restarted after each end); dec (may be NULL) gets each frame's verdict. */
static struct result classify(const int16_t *pcm, size_t n, unsigned aggr,
			      unsigned char *dec)
{
	struct vad *v = NULL;
	struct endpointer *ep = NULL;
	struct vad_cfg c = { .aggressiveness = aggr };
	assert_int_equal(vad_create(&v, &c), 0);
	assert_int_equal(endpoint_create(&ep, NULL), 0);
	struct result r = { .first_start = SIZE_MAX };
	for (size_t f = 0; f + FRAME <= n; f += FRAME) {
		float p = vad_process(v, pcm + f);
		assert_true(p >= 0.0f && p <= 1.0f);
		r.frames++;
		r.speech += p >= 0.5f;
		if (dec)
			dec[f / FRAME] = p >= 0.5f;
		enum endpoint_event ev = endpoint_feed(ep, pcm + f, p);
		if (ev == EP_SPEECH_START) {
			if (!r.starts)
				r.first_start = f / FRAME;
			r.starts++;
		} else if (ev != EP_NONE) {
			endpoint_start(ep, NULL);
		}
	}
	endpoint_destroy(ep);
	vad_destroy(v);
	return r;
}

static double buf[MAXN];
static int16_t pcm[MAXN];

static void create_checks_its_arguments(void **state)
{
	(void)state;
	struct vad *v = NULL;
	struct vad_cfg c = { .aggressiveness = 4 };
	assert_int_equal(vad_create(NULL, NULL), -EINVAL);
	assert_int_equal(vad_create(&v, &c), -EINVAL);
	assert_null(v);
	assert_int_equal(vad_create(&v, NULL), 0);
	assert_non_null(v);
	vad_destroy(v);
	vad_destroy(NULL);
	vad_reset(NULL);
	assert_true(vad_process(NULL, pcm) == 0.0f);
}

static void silence_and_lost_frames_are_not_speech(void **state)
{
	(void)state;
	memset(pcm, 0, sizeof(int16_t) * RATE * 2);
	struct result r = classify(pcm, RATE * 2, 0, NULL);
	assert_int_equal(r.speech, 0);

	/* -70 dBFS hiss, and lost frames amid it */
	noise(buf, RATE * 2, WHITE, 7);
	set_level(buf, RATE * 2, -70);
	to_pcm(buf, pcm, RATE * 2);
	r = classify(pcm, RATE * 2, 0, NULL);
	assert_int_equal(r.speech, 0);
	struct vad *v = NULL;
	assert_int_equal(vad_create(&v, NULL), 0);
	for (int i = 0; i < 50; i++)
		assert_true(vad_process(v, i % 2 ? NULL : pcm + i * FRAME) <
			    0.5f);
	vad_destroy(v);
}

static void line_noise_is_not_speech(void **state)
{
	(void)state;
	const size_t n = RATE * 5;
	for (int c = WHITE; c <= BROWN; c++) {
		for (int lvl = -50; lvl <= -30; lvl += 10) {
			noise(buf, n, (enum colour)c, 1234u + (uint32_t)lvl);
			set_level(buf, n, lvl);
			to_pcm(buf, pcm, n);
			for (unsigned a = 0; a <= 3; a++) {
				struct result r = classify(pcm, n, a, NULL);
				assert_int_equal(r.starts, 0);
				/* at most 1 % of the frames */
				assert_true(r.speech * 100 <= r.frames);
			}
		}
	}
}

/* Every key, each tone at dbfs, on_ms on and off_ms off. */
static size_t dtmf(int16_t *out, double dbfs, unsigned on_ms, unsigned off_ms)
{
	static const double low[] = { 697, 770, 852, 941 };
	static const double high[] = { 1209, 1336, 1477, 1633 };
	size_t n = 0;
	for (int k = 0; k < 16; k++) {
		size_t on = on_ms * 8, off = off_ms * 8;
		sines(buf, on, low[k / 4], high[k % 4], dbfs);
		to_pcm(buf, out + n, on);
		memset(out + n + on, 0, off * sizeof(int16_t));
		n += on + off;
	}
	return n;
}

static void dtmf_is_not_speech(void **state)
{
	(void)state;
	static const struct {
		double dbfs;
		unsigned on, off;
	} cases[] = { { -10, 100, 100 }, { -18, 60, 60 }, { -25, 200, 150 } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = dtmf(pcm, cases[i].dbfs, cases[i].on, cases[i].off);
		for (unsigned a = 0; a <= 3; a++) {
			struct result r = classify(pcm, n, a, NULL);
			assert_int_equal(r.starts, 0);
			/* a frame straddling a key's edge may pass: 10 % */
			assert_true(r.speech * 10 <= r.frames);
		}
	}
}

static void call_progress_tones_are_not_speech(void **state)
{
	(void)state;
	const size_t n = RATE * 5, half = RATE / 2;
	/* dial tone: 350 + 440 Hz, continuous */
	sines(buf, n, 350, 440, -13);
	to_pcm(buf, pcm, n);
	struct result r = classify(pcm, n, 1, NULL);
	assert_int_equal(r.speech, 0);
	/* busy: 480 + 620 Hz, 0.5 s on, 0.5 s off */
	sines(buf, n, 480, 620, -13);
	to_pcm(buf, pcm, n);
	for (size_t s = half; s < n; s += 2 * half)
		memset(pcm + s, 0, half * sizeof(int16_t));
	r = classify(pcm, n, 1, NULL);
	assert_int_equal(r.starts, 0);
	assert_true(r.speech * 50 <= r.frames);
	/* a sustained 1 kHz test tone */
	sines(buf, n, 1000, 0, -10);
	to_pcm(buf, pcm, n);
	r = classify(pcm, n, 1, NULL);
	assert_int_equal(r.speech, 0);
}

/* Hold music: a three-note chord pad (changing every 2 s) under a melody
 * of plucked notes (five harmonics, decaying), 250-500 ms each. */
static void music_on_hold_is_not_speech(void **state)
{
	(void)state;
	static const int melody[] = { 3, 7, 10, 7,  3,	5,  8,	12, 10, 8, 7, 5,
				      3, 7, 10, 15, 14, 12, 10, 7,  5,	3, 2 };
	static const int chords[][3] = { { -21, -17, -14 },
					 { -24, -21, -17 },
					 { -28, -24, -21 },
					 { -26, -22, -19 } };
	const size_t n = RATE * 8;
	size_t t = 0;
	memset(buf, 0, n * sizeof(double));
	for (size_t i = 0; t < n; i++) {
		size_t len = (i % 3 == 2 ? 500 : 250) * 8;
		double f0 = 440.0 * pow(2.0, melody[i % 23] / 12.0);
		for (size_t s = 0; s < len && t + s < n; s++) {
			double x = 0, tt = (double)s / RATE;
			for (int h = 1; h <= 5; h++)
				x += sin(2 * M_PI * f0 * h * tt) / h;
			buf[t + s] = x * exp(-tt * 6.0);
		}
		t += len;
	}
	for (size_t s = 0; s < n; s++) {
		const int *c = chords[(s / (RATE * 2)) % 4];
		for (int k = 0; k < 3; k++)
			buf[s] += 0.3 * sin(2 * M_PI * 440.0 *
					    pow(2.0, (c[k] + 12) / 12.0) *
					    (double)s / RATE);
	}
	set_level(buf, n, -20);
	to_pcm(buf, pcm, n);
	/* Aggressiveness 0, the most permissive, lets a few note attacks of
	 * this melody through (bench/bench_vad.c measures it); 1..3 do not. */
	for (unsigned a = 1; a <= 3; a++) {
		struct result r = classify(pcm, n, a, NULL);
		assert_int_equal(r.starts, 0);
		assert_true(r.speech * 50 <= r.frames);
	}
}

/* "Speech" made by flite: 1 s of -70 dBFS hiss, the sentence at dbfs RMS,
 * 1 s of hiss; plus noise at snr_db below the speech when snr_db > 0.
 * Truth: the sentence's frames within 30 dB of its loudest. Returns the
 * number of samples; *onset and *offset bound the truth. */
static struct audio_clip *sentence;

static size_t speech(double dbfs, double snr_db, unsigned char *truth,
		     size_t *onset)
{
	const size_t lead = RATE, n = lead + sentence->nsamples + RATE;
	assert_true(n <= MAXN);
	static double sp[MAXN];
	memset(sp, 0, sizeof(sp));
	for (size_t i = 0; i < sentence->nsamples; i++)
		sp[lead + i] = sentence->samples[i];
	set_level(sp + lead, sentence->nsamples, dbfs);

	double peak = 0, e[MAXN / FRAME];
	for (size_t f = 0; f < n / FRAME; f++) {
		e[f] = 0;
		for (size_t i = 0; i < FRAME; i++)
			e[f] += sp[f * FRAME + i] * sp[f * FRAME + i];
		if (e[f] > peak)
			peak = e[f];
	}
	*onset = SIZE_MAX;
	for (size_t f = 0; f < n / FRAME; f++) {
		truth[f] = e[f] >= peak * 1e-3;
		if (truth[f] && *onset == SIZE_MAX)
			*onset = f;
	}

	noise(buf, n, WHITE, 99);
	set_level(buf, n, snr_db > 0 ? dbfs - snr_db : -70);
	for (size_t i = 0; i < n; i++)
		buf[i] += sp[i];
	to_pcm(buf, pcm, n);
	return n;
}

static double recall(const unsigned char *truth, const unsigned char *dec,
		     size_t nframes, size_t *false_frames)
{
	size_t t = 0, hit = 0;
	*false_frames = 0;
	for (size_t f = 0; f < nframes; f++) {
		t += truth[f];
		hit += truth[f] && dec[f];
	}
	/* before the sentence: nothing may be speech */
	for (size_t f = 0; f < RATE / FRAME - 5; f++)
		*false_frames += dec[f];
	return t ? (double)hit / (double)t : 0.0;
}

static int open_sentence(void **state)
{
	(void)state;
	struct tts_engine *e = NULL;
	if (tts_flite_ops.open(&e) != 0)
		return -1;
	const struct tts_voice *kal = tts_flite_ops.voice_find(e, "kal");
	int err = kal ? tts_flite_ops.synth(e, kal,
					    "I would like to check the balance "
					    "of my savings account.",
					    &sentence)
		      : -ENOENT;
	tts_flite_ops.close(e);
	return err ? -1 : 0;
}

static int close_sentence(void **state)
{
	(void)state;
	sentence = audio_clip_deref(sentence);
	return 0;
}

static void speech_is_detected_from_minus_10_to_minus_40_dbfs(void **state)
{
	(void)state;
	static unsigned char truth[MAXN / FRAME], dec[MAXN / FRAME];
	for (int lvl = -10; lvl >= -40; lvl -= 10) {
		size_t onset = 0, false_frames = 0;
		size_t n = speech(lvl, 0, truth, &onset);
		struct result r = classify(pcm, n, 1, dec);
		double rec = recall(truth, dec, n / FRAME, &false_frames);
		assert_true(rec >= 0.85);
		assert_int_equal(false_frames, 0);
		/* one turn, confirmed within 200 ms of the onset */
		assert_true(r.starts >= 1);
		assert_true(r.first_start >= onset);
		assert_true(r.first_start <= onset + 10);
	}
}

static void speech_in_noise_is_detected(void **state)
{
	(void)state;
	static unsigned char truth[MAXN / FRAME], dec[MAXN / FRAME];
	size_t onset = 0, false_frames = 0;
	size_t n = speech(-25, 10, truth, &onset);
	struct result r = classify(pcm, n, 1, dec);
	double rec = recall(truth, dec, n / FRAME, &false_frames);
	assert_true(rec >= 0.7);
	assert_int_equal(false_frames, 0);
	assert_true(r.starts >= 1);
	assert_true(r.first_start <= onset + 15);

	/* more aggressive never finds more, and a3 finds less than a0 */
	size_t prev = SIZE_MAX, first = 0;
	for (unsigned a = 0; a <= 3; a++) {
		r = classify(pcm, n, a, NULL);
		assert_true(r.speech <= prev);
		if (a == 0)
			first = r.speech;
		prev = r.speech;
	}
	assert_true(prev < first);
}

/* A steady harmonic sound: 120 Hz harmonics shaped by two formants (a
 * synthetic held "aah"), tonal and unmodulated like a note. */
static void held_vowel(double *out, size_t n, double dbfs)
{
	for (size_t i = 0; i < n; i++) {
		double t = (double)i / RATE, x = 0;
		for (int h = 2; h <= 28; h++) {
			double f = 120.0 * h;
			double g = exp(-pow((f - 700.0) / 150.0, 2)) +
				   0.5 * exp(-pow((f - 1200.0) / 200.0, 2));
			x += g * sin(2 * M_PI * f * t);
		}
		out[i] = x;
	}
	set_level(out, n, dbfs);
}

/* Speech, then what follows it at the same level: per frame of the part
 * after the sentence, the verdicts into dec; returns whether the default
 * endpointer ended the turn within the part. */
static bool after_sentence(const double *part, size_t npart, unsigned char *dec,
			   size_t *ndec)
{
	const size_t lead = RATE / 2, ns = sentence->nsamples;
	size_t n = lead + ns + npart;
	assert_true(n <= MAXN);
	noise(buf, n, WHITE, 7);
	set_level(buf, n, -70);
	static double sp[MAXN];
	for (size_t i = 0; i < ns; i++)
		sp[i] = sentence->samples[i];
	set_level(sp, ns, -20);
	for (size_t i = 0; i < ns; i++)
		buf[lead + i] += sp[i];
	for (size_t i = 0; i < npart; i++)
		buf[lead + ns + i] += part[i];
	to_pcm(buf, pcm, n);
	struct vad *v = NULL;
	struct endpointer *ep = NULL;
	assert_int_equal(vad_create(&v, NULL), 0);
	assert_int_equal(endpoint_create(&ep, NULL), 0);
	bool ended = false;
	*ndec = 0;
	for (size_t f = 0; f + FRAME <= n; f += FRAME) {
		float p = vad_process(v, pcm + f);
		enum endpoint_event ev = endpoint_feed(ep, pcm + f, p);
		if (f >= lead + ns) {
			dec[(*ndec)++] = p >= 0.5f;
			ended |= ev == EP_SPEECH_END;
		}
	}
	endpoint_destroy(ep);
	vad_destroy(v);
	return ended;
}

static void a_held_vowel_continues_speech_a_tone_after_it_ends_it(void **state)
{
	(void)state;
	static double part[MAXN];
	static unsigned char dec[MAXN / FRAME];
	size_t nd = 0;
	/* 600 ms of a held vowel right after speech: still speech, the
	 * turn goes on. */
	const size_t nv = RATE * 6 / 10;
	held_vowel(part, nv, -22);
	assert_false(after_sentence(part, nv, dec, &nd));
	for (size_t f = 0; f < nd; f++)
		assert_true(dec[f]);
	/* 3 s of dial tone (350 + 440 Hz) right after the sentence: speech
	 * for at most about the bridge (800 ms) and the hangover, then the
	 * turn ends while the tone goes on. */
	sines(part, RATE * 3, 350, 440, -25);
	assert_true(after_sentence(part, RATE * 3, dec, &nd));
	size_t speech_frames = 0;
	for (size_t f = 0; f < nd; f++)
		speech_frames += dec[f];
	/* (the tone's first frames, while the 320 ms history still holds the
	 * sentence, may pass as speech before the bridge starts) */
	assert_true(speech_frames <= 60);
	assert_false(dec[nd - 1]);
}

static void results_are_deterministic_and_reset_forgets(void **state)
{
	(void)state;
	static unsigned char truth[MAXN / FRAME];
	size_t onset = 0;
	size_t n = speech(-20, 15, truth, &onset);
	struct vad *a = NULL, *b = NULL;
	assert_int_equal(vad_create(&a, NULL), 0);
	assert_int_equal(vad_create(&b, NULL), 0);
	static float first[MAXN / FRAME];
	for (size_t f = 0; f + FRAME <= n; f += FRAME) {
		first[f / FRAME] = vad_process(a, pcm + f);
		assert_true(first[f / FRAME] == vad_process(b, pcm + f));
	}
	/* after a reset, a replays exactly as a fresh detector */
	vad_reset(a);
	for (size_t f = 0; f + FRAME <= n; f += FRAME)
		assert_true(vad_process(a, pcm + f) == first[f / FRAME]);
	vad_destroy(a);
	vad_destroy(b);
}

static void extreme_input_gives_a_likelihood_in_range(void **state)
{
	(void)state;
	struct vad *v = NULL;
	assert_int_equal(vad_create(&v, NULL), 0);
	int16_t f[FRAME];
	uint32_t seed = 5;
	for (int i = 0; i < 500; i++) {
		for (int k = 0; k < FRAME; k++) {
			seed = seed * 1664525u + 1013904223u;
			switch (i % 5) {
			case 0: /* full-scale random */
				f[k] = (int16_t)(seed >> 16);
				break;
			case 1: /* DC at the negative limit */
				f[k] = INT16_MIN;
				break;
			case 2: /* Nyquist square wave, full scale */
				f[k] = k % 2 ? INT16_MAX : INT16_MIN;
				break;
			case 3: /* one impulse */
				f[k] = k == 80 ? INT16_MAX : 0;
				break;
			default:
				f[k] = 0;
			}
		}
		float p = vad_process(v, f);
		assert_true(p >= 0.0f && p <= 1.0f);
	}
	vad_destroy(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_checks_its_arguments),
		cmocka_unit_test(silence_and_lost_frames_are_not_speech),
		cmocka_unit_test(line_noise_is_not_speech),
		cmocka_unit_test(dtmf_is_not_speech),
		cmocka_unit_test(call_progress_tones_are_not_speech),
		cmocka_unit_test(music_on_hold_is_not_speech),
		cmocka_unit_test(
			speech_is_detected_from_minus_10_to_minus_40_dbfs),
		cmocka_unit_test(speech_in_noise_is_detected),
		cmocka_unit_test(
			a_held_vowel_continues_speech_a_tone_after_it_ends_it),
		cmocka_unit_test(results_are_deterministic_and_reset_forgets),
		cmocka_unit_test(extreme_input_gives_a_likelihood_in_range),
	};
	return cmocka_run_group_tests(tests, open_sentence, close_sentence);
}
