/* STT benchmark: per mode (Moonshine open, PocketSphinx domain LM, grammar
 * and generic open, Moonshine open with the domain LM: beam search and
 * shallow fusion), word error rate on the speech test set
 * (bench/speech/make_set.sh), real-time factor, finalize latency (decode of
 * an endpointed utterance: end of speech -> final text), the number of
 * speaking streams the worker pool keeps up with, and memory per concurrent
 * decode; modes 7 and 8 stream PocketSphinx (LM, grammar) in 20 ms chunks
 * (run_stream_mode()). Batch modes also report the finalize latency with
 * the early decode of a call (early_pass()). Prints ratios against
 * budgets. Not a test.
 *
 * bench_stt [SET_DIR]: without SET_DIR a small set (VG_STT_BENCH_N
 * utterances, default 40) is built in a temporary folder, and each mode
 * stops after 8 s of sequential decoding so `make bench` stays within its
 * 120 s. Environment: VG_STT_BENCH_MODE_S (that budget, 0: none; default
 * none with SET_DIR), VG_STT_BENCH_MODES ("1,3": only those modes),
 * VG_STT_BENCH_VERBOSE (each reference and hypothesis), VG_STT_BENCH_HEARD
 * (a directory: one "reference<TAB>transcript" file per mode),
 * VG_STT_BENCH_RANGE ("0:100": only those utterances of the open set, for
 * tuning on a dev part), VG_STT_BENCH_LM ("beam,weight,bonus[,prune]":
 * Moonshine's LM decoding settings instead of the engine's defaults),
 * VG_STT_BENCH_OPEN ("beam[,prune]": Moonshine's open decoding without an
 * LM, 1 greedy), VG_STT_BENCH_DEGRADE (degraded decodes, PocketSphinx LM
 * and Moonshine, after this many ms in the worker queue, "off": never; the
 * concurrency pass prints the WER of what it decoded and the share degraded),
 * VG_STT_BENCH_OFFER ("40,60": after the burst, the same utterances at the
 * pace of that many callers speaking without pause: latency, WER, share
 * degraded; offered_pass()), and for the early-decode pass
 * VG_STT_BENCH_EARLY_MS (the pause, default 100), VG_STT_BENCH_PREROLL
 * (ms), VG_STT_BENCH_EARLY_FULL=1 (decode the endpointed utterance
 * instead: the same turn without early decode) and
 * VG_STT_BENCH_EARLY_PAD (how the pause's audio is padded: 2, the
 * default, as the call does, endpoint_pause_clip(); 1 with line noise to
 * the utterance's length; 0 not at all). VG_STT_BENCH_TURNS=1 runs only
 * the turn pass instead (turn_pass(): why the call's turns decode worse
 * than the whole clips; its own variables are listed there). The domain LM is
 * data/banking77/train.tsv (the set's sentences are from test.tsv). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <re.h>

#include "audio/clip.h"
#include "audio/vad.h"
#include "audio/wav.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/loop.h"
#include "core/wpool.h"
#include "engines/stt/stt.h"
#include "bench_fig.h"

/* Budgets (issue 2/7). */
#define BUDGET_FINALIZE_P95_MS 150.0
#define BUDGET_STREAMS 50.0
#define BUDGET_WER_MOONSHINE 0.10
#define BUDGET_WER_GRAMMAR 0.05

enum {
	UTT_MAX = 5000,
	WORDS_MAX = 64,
	WORD_LEN = 32,
	POOL_THREADS = 2,
};

struct utt {
	char id[32];
	char voice[32];
	char ref[STT_TEXT_MAX + 1];
	struct audio_clip *clip;
};

struct set {
	struct utt *u;
	size_t n;
	double audio_s;
};

/* ---- WER ---- */

static const char *const ones[] = {
	"zero",	   "one",     "two",	   "three",    "four",
	"five",	   "six",     "seven",	   "eight",    "nine",
	"ten",	   "eleven",  "twelve",	   "thirteen", "fourteen",
	"fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
};
static const char *const tens[] = { "",	      "",      "twenty", "thirty",
				    "forty",  "fifty", "sixty",	 "seventy",
				    "eighty", "ninety" };

typedef char word_t[WORD_LEN];

static void push(word_t *w, size_t *n, const char *s)
{
	if (*n < WORDS_MAX)
		snprintf(w[(*n)++], WORD_LEN, "%s", s);
}

/* A numeral as spoken: "7" seven, "24" twenty four, "1500" one thousand
 * five hundred; longer ones and leading zeros digit by digit. */
static void number_words(const char *d, word_t *w, size_t *n)
{
	size_t len = strlen(d);
	if (len > 4 || (len > 1 && d[0] == '0')) {
		for (size_t i = 0; i < len; i++)
			push(w, n, ones[d[i] - '0']);
		return;
	}
	int v = atoi(d);
	if (v == 0) {
		push(w, n, "zero");
		return;
	}
	if (v >= 1000) {
		push(w, n, ones[v / 1000]);
		push(w, n, "thousand");
		v %= 1000;
	}
	if (v >= 100) {
		push(w, n, ones[v / 100]);
		push(w, n, "hundred");
		v %= 100;
	}
	if (v >= 20) {
		push(w, n, tens[v / 10]);
		v %= 10;
		if (v)
			push(w, n, ones[v]);
	} else if (v) {
		push(w, n, ones[v]);
	}
}

/* Normalize for scoring: lowercase, apostrophes dropped ("don't" = "dont"),
 * other punctuation and hyphens split words, numerals spelt out. */
static size_t words_of(const char *text, word_t *w)
{
	size_t n = 0;
	char tok[WORD_LEN];
	size_t tl = 0;
	for (const char *p = text;; p++) {
		unsigned char c = (unsigned char)*p;
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c == '\'')
			continue;
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c >= 0x80) {
			if (tl + 1 < sizeof(tok))
				tok[tl++] = (char)c;
			continue;
		}
		if (tl) {
			tok[tl] = '\0';
			if (strspn(tok, "0123456789") == tl)
				number_words(tok, w, &n);
			else
				push(w, &n, tok);
			tl = 0;
		}
		if (!c)
			break;
	}
	return n;
}

/* Word edits (substitutions, insertions, deletions) of b against a. */
static size_t edits(const word_t *a, size_t na, const word_t *b, size_t nb)
{
	static char sa[WORDS_MAX * WORD_LEN], sb[WORDS_MAX * WORD_LEN];
	const word_t *w[2] = { a, b };
	size_t n[2] = { na, nb };
	char *out[2] = { sa, sb };
	for (int k = 0; k < 2; k++) {
		size_t o = 0;
		out[k][0] = '\0';
		for (size_t i = 0; i < n[k]; i++)
			o += (size_t)snprintf(out[k] + o, sizeof(sa) - o,
					      "%s%s", i ? " " : "", w[k][i]);
	}
	return stt_word_edits(sa, sb, NULL);
}

/* ---- the set ---- */

static const char *source_dir(void)
{
	static char buf[4096];
	const char *env = getenv("VG_SOURCE_DIR");
	if (env)
		return env;
	/* VG_DEPS_DIR is <repo>/deps */
	snprintf(buf, sizeof(buf), "%s/..", VG_DEPS_DIR);
	return buf;
}

static int set_load(const char *dir, struct set *s)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/refs.tsv", dir);
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "bench_stt: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	s->u = calloc(UTT_MAX, sizeof(*s->u));
	if (!s->u) {
		fclose(f);
		return -ENOMEM;
	}
	char line[2048];
	while (s->n < UTT_MAX && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		char *t1 = strchr(line, '\t');
		char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		if (!t2)
			continue;
		*t1 = '\0';
		*t2 = '\0';
		struct utt *u = &s->u[s->n];
		snprintf(u->voice, sizeof(u->voice), "%.31s", t1 + 1);
		snprintf(u->id, sizeof(u->id), "%.31s", line);
		snprintf(u->ref, sizeof(u->ref), "%.1024s", t2 + 1);
		snprintf(path, sizeof(path), "%s/%s.wav", dir, u->id);
		char msg[200] = "";
		int err = wav_read(path, &u->clip, msg, sizeof(msg));
		if (err || u->clip->rate_hz != 8000) {
			fprintf(stderr, "bench_stt: %s: %s\n", path,
				err ? msg : "not 8 kHz");
			audio_clip_deref(u->clip);
			u->clip = NULL;
			continue;
		}
		s->audio_s += (double)u->clip->nsamples / 8000.0;
		s->n++;
	}
	fclose(f);
	return s->n ? 0 : -ENOENT;
}

/* Keep utterances [from, to) of s: VG_STT_BENCH_RANGE="from:to" or
 * "from:" (tuning on a dev part, reporting on the rest). -EINVAL on any
 * other form (nothing changed). */
static int set_slice(struct set *s, const char *range)
{
	size_t from = 0, to = s->n;
	char *end;

	if (*range < '0' || *range > '9')
		return -EINVAL;
	from = strtoul(range, &end, 10);
	if (*end != ':')
		return -EINVAL;
	if (end[1]) {
		char *end2;
		if (end[1] < '0' || end[1] > '9')
			return -EINVAL;
		to = strtoul(end + 1, &end2, 10);
		if (*end2)
			return -EINVAL;
	}
	if (to > s->n)
		to = s->n;
	if (from > to)
		from = to;
	for (size_t i = 0; i < s->n; i++)
		if (i < from || i >= to) {
			s->audio_s -= (double)s->u[i].clip->nsamples / 8000.0;
			audio_clip_deref(s->u[i].clip);
			s->u[i].clip = NULL;
		}
	memmove(s->u, s->u + from, (to - from) * sizeof(*s->u));
	s->n = to - from;
	return 0;
}

static void set_free(struct set *s)
{
	for (size_t i = 0; i < s->n; i++)
		audio_clip_deref(s->u[i].clip);
	free(s->u);
}

static int grammar_from_file(const char *path, enum stt_mode mode,
			     unsigned classes, struct stt_grammar **gp)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "bench_stt: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	size_t cap = 4u << 20;
	char *buf = malloc(cap);
	size_t len = buf ? fread(buf, 1, cap, f) : 0;
	fclose(f);
	if (!buf)
		return -ENOMEM;
	char msg[256] = "";
	int err = stt_grammar_parse(buf, len, mode, classes, gp, msg,
				    sizeof(msg));
	free(buf);
	if (err)
		fprintf(stderr, "bench_stt: %s: %s\n", path, msg);
	return err;
}

/* ---- memory ---- */

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, rss = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

struct sampler {
	atomic_int stop;
	atomic_long peak_kb;
};

static void *sample_rss(void *arg)
{
	struct sampler *sm = arg;
	while (!atomic_load(&sm->stop)) {
		long r = rss_kb();
		if (r > atomic_load(&sm->peak_kb))
			atomic_store(&sm->peak_kb, r);
		usleep(2000);
	}
	return NULL;
}

/* ---- one mode ---- */

struct mode {
	const char *label;
	const char *engine;
	enum stt_mode mode;
	struct stt_grammar *grammar;
	const struct set *set;
	double wer_budget;	      /* 0: none */
	const struct stt_grammar *lm; /* OPEN with a domain LM, or NULL */
	int stream; /* the engine's stream_*(): run_stream_mode() */
};

struct conc {
	atomic_int done;
	atomic_int errors;
};

/* One request of the concurrency pass: what it heard, scored after. */
struct conc_req {
	struct conc *c;
	bool degraded;
	float confidence;
	uint64_t submit_us, done_us;
	char text[STT_TEXT_MAX + 1];
};

/* On the bench loop; the main thread reads the slot once done counts it */
static void on_done(int err, const struct stt_result *res, void *arg)
{
	struct conc_req *q = arg;
	q->text[0] = '\0';
	if (err)
		atomic_fetch_add(&q->c->errors, 1);
	else {
		snprintf(q->text, sizeof(q->text), "%s", res->text);
		q->degraded = res->degraded;
		q->confidence = res->confidence;
	}
	q->done_us = clock_mono_us();
	atomic_fetch_add(&q->c->done, 1);
}

/* Word errors of one mode's transcripts, in all and per voice (the set has
 * two). */
struct tally {
	size_t err_words, ref_words, wrong_utts, fails, n;
	double conf_sum; /* confidences of the non-empty results */
	size_t nconf;
	const char *vname[2];
	size_t verr[2], vref[2];
	word_t *rw, *hw; /* scratch */
};

static int tally_init(struct tally *t)
{
	memset(t, 0, sizeof(*t));
	t->rw = malloc(sizeof(word_t) * WORDS_MAX);
	t->hw = malloc(sizeof(word_t) * WORDS_MAX);
	return t->rw && t->hw ? 0 : -ENOMEM;
}

static void tally_fini(struct tally *t)
{
	free(t->rw);
	free(t->hw);
}

/* Score hyp (NULL: the decode failed; conf its confidence) against u's
 * reference; returns the word edits. */
static size_t tally_add(struct tally *t, const struct utt *u, const char *hyp,
			float conf)
{
	if (!hyp) {
		t->fails++;
		hyp = "";
	}
	if (*hyp) {
		t->conf_sum += conf;
		t->nconf++;
	}
	size_t nr = words_of(u->ref, t->rw), nh = words_of(hyp, t->hw);
	size_t e = edits(t->rw, nr, t->hw, nh);
	t->err_words += e;
	t->ref_words += nr;
	t->wrong_utts += e > 0;
	t->n++;
	for (int v = 0; v < 2; v++) {
		if (!t->vname[v] || !strcmp(t->vname[v], u->voice)) {
			t->vname[v] = u->voice;
			t->verr[v] += e;
			t->vref[v] += nr;
			break;
		}
	}
	return e;
}

static double tally_wer(const struct tally *t)
{
	return t->ref_words ? (double)t->err_words / (double)t->ref_words : 0;
}

/* CPU time of the calling thread: the sequential decodes run here (the
 * engines compute on the caller), so this is what a decode costs on an
 * idle core, whatever the neighbours do to the wall clock. */
static uint64_t thread_cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, size_t n, double q)
{
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);
	return (double)v[i < n ? i : n - 1];
}

static void ratio_line(const char *what, double v, double budget, int lower)
{
	/* >= 1.0 means within budget */
	double r = lower ? (v > 0 ? budget / v : 99.0) : v / budget;
	printf("  %-28s %9.3f  budget %s %.3f  ratio %.2f %s\n", what, v,
	       lower ? "<=" : ">=", budget, r, r >= 1.0 ? "OK" : "MISS");
}

/* ---- early decode, as a call runs it (stt.early_decode) ---- */

enum {
	EARLY_MS = 100,	  /* the default stt.early_decode */
	LEAD_FRAMES = 15, /* line noise before the caller speaks (300 ms) */
	TAIL_FRAMES = 50, /* and after (1 s: the endpoint comes first) */
};

/* VG_STT_BENCH_EARLY_MS: the pause that starts the early decode. */
static unsigned early_ms(void)
{
	const char *e = getenv("VG_STT_BENCH_EARLY_MS");
	return e && atoi(e) > 0 ? (unsigned)atoi(e) : EARLY_MS;
}

/* Line noise at about -60 dBFS, as in the call tests. */
static void line_noise(int16_t *pcm, unsigned *seed)
{
	for (int i = 0; i < AUDIO_FRAME_SAMPLES; i++) {
		*seed = *seed * 1103515245u + 12345u;
		pcm[i] = (int16_t)((int)((*seed >> 16) % 65) - 32);
	}
}

/* The line an utterance is heard on, one frame at a time: LEAD_FRAMES of
 * line noise, the clip's frames (with the noise going on under them when
 * mix), then TAIL_FRAMES of noise; every frame goes through the VAD, which
 * follows the whole line. endpoint_clip() and turn_run() feed their
 * endpointer from it (the listen starts at LEAD_FRAMES). */
struct line {
	const struct audio_clip *clip;
	struct vad *v;
	size_t nspeech, total, next; /* frames: the clip's, all, next one */
	unsigned seed;
	bool mix;
};

/* 0 or -ENOMEM (l is then closed). */
static int line_open(struct line *l, const struct audio_clip *clip, bool mix)
{
	memset(l, 0, sizeof(*l));
	l->clip = clip;
	l->mix = mix;
	l->seed = 11;
	l->nspeech = clip->nsamples / AUDIO_FRAME_SAMPLES;
	l->total = LEAD_FRAMES + l->nspeech + TAIL_FRAMES;
	return vad_create(&l->v, NULL) ? -ENOMEM : 0;
}

static void line_close(struct line *l)
{
	vad_destroy(l->v);
	l->v = NULL;
}

/* The next frame into pcm, its VAD speech probability into *prob and its
 * index on the line into *f; false after the last. */
static bool line_next(struct line *l, int16_t *pcm, float *prob, size_t *f)
{
	if (l->next >= l->total)
		return false;
	size_t i = l->next++;
	if (i >= LEAD_FRAMES && i < LEAD_FRAMES + l->nspeech) {
		const int16_t *a = l->clip->samples +
				   (i - LEAD_FRAMES) * AUDIO_FRAME_SAMPLES;
		if (l->mix) {
			/* the line's noise goes on under the clip */
			line_noise(pcm, &l->seed);
			for (int k = 0; k < AUDIO_FRAME_SAMPLES; k++) {
				int x = a[k] + pcm[k];
				pcm[k] = (int16_t)(x > 32767	? 32767
						   : x < -32768 ? -32768
								: x);
			}
		} else {
			memcpy(pcm, a, AUDIO_FRAME_SAMPLES * sizeof(int16_t));
		}
	} else {
		line_noise(pcm, &l->seed);
	}
	*prob = vad_process(l->v, pcm);
	*f = i;
	return true;
}

/* What the call's VAD and endpointer (defaults: trailing silence 300 ms)
 * make of one utterance heard on a line: the audio of the last pause of
 * EARLY_MS after which no speech came (*early, *nearly samples, its frame
 * *at_pause), the end of speech (frame *at_end, the utterance in *full)
 * and how many earlier pauses were voided by more speech (*voided: each
 * cost a wasted decode). Returns false when no end of speech was found.
 * *early and *full are malloc'ed. */
static bool endpoint_clip(const struct audio_clip *clip, int16_t **early,
			  size_t *nearly, unsigned *at_pause, int16_t **full,
			  size_t *nfull, unsigned *at_end, unsigned *voided,
			  struct audio_clip **pclip)
{
	struct line ln;
	struct endpointer *ep = NULL;
	struct endpoint_cfg ec;
	endpoint_cfg_default(&ec);
	ec.no_input_ms = 0;
	if (getenv("VG_STT_BENCH_PREROLL")) /* ms, to compare */
		ec.preroll_ms = (unsigned)atoi(getenv("VG_STT_BENCH_PREROLL"));
	*early = *full = NULL;
	*nearly = *nfull = 0;
	*voided = 0;
	bool ended = false, paused = false;
	if (line_open(&ln, clip, false) || endpoint_create(&ep, &ec))
		goto out;
	int16_t pcm[AUDIO_FRAME_SAMPLES];
	float prob;
	size_t f;
	while (!ended && line_next(&ln, pcm, &prob, &f)) {
		if (f < LEAD_FRAMES)
			continue; /* the VAD follows the line; no listen yet */
		enum endpoint_event e = endpoint_feed(ep, pcm, prob);
		size_t n = 0;
		const int16_t *a = endpoint_audio(ep, &n);
		if (e == EP_SPEECH_END || e == EP_MAX_SPEECH) {
			*full = malloc(n * sizeof(int16_t));
			if (*full) {
				memcpy(*full, a, n * sizeof(int16_t));
				*nfull = n;
			}
			*at_end = (unsigned)f;
			ended = true;
			break;
		}
		if (!endpoint_in_speech(ep))
			continue;
		uint32_t quiet = endpoint_silence_ms(ep);
		if (quiet == 0) {
			if (paused)
				(*voided)++;
			paused = false;
		} else if (!paused && quiet >= early_ms() && n) {
			audio_clip_deref(*pclip);
			*pclip = endpoint_pause_clip(ep);
			free(*early);
			*early = malloc(n * sizeof(int16_t));
			if (*early) {
				memcpy(*early, a, n * sizeof(int16_t));
				*nearly = n;
			}
			*at_pause = (unsigned)f;
			paused = true;
		}
	}
	if (ended && !paused) {
		free(*early);
		*early = NULL;
		*nearly = 0;
		*pclip = audio_clip_deref(*pclip);
	}
out:
	line_close(&ln);
	endpoint_destroy(ep);
	return ended && *full;
}

/* The finalize latency a call sees with early decodes: the decode of the
 * last pause's audio starts at that pause, so what is left after the end
 * of speech is max(0, decode - (end - pause)); a turn with no usable pause
 * decodes its whole utterance after the end. Decodes on this thread, one
 * at a time (as on an idle worker). WER over what was decoded. */
static void early_pass(struct stt *s, const struct stt_params *p,
		       const struct set *set, size_t n, const char *label)
{
	uint64_t *lat = calloc(n ? n : 1, sizeof(*lat));
	word_t *rw = malloc(sizeof(word_t) * WORDS_MAX);
	word_t *hw = malloc(sizeof(word_t) * WORDS_MAX);
	if (!lat || !rw || !hw)
		goto out;
	size_t used = 0, voided = 0, noend = 0, err_words = 0, ref_words = 0;
	struct stt_result res;
	for (size_t i = 0; i < n; i++) {
		const struct utt *u = &set->u[i];
		int16_t *early, *full;
		size_t ne, nf;
		unsigned at_pause = 0, at_end = 0, vd = 0;
		struct audio_clip *pclip = NULL;
		bool ok = endpoint_clip(u->clip, &early, &ne, &at_pause, &full,
					&nf, &at_end, &vd, &pclip);
		voided += vd;
		/* VG_STT_BENCH_EARLY_FULL=1: decode the endpointed utterance
		 * instead (the same turn without early decode), to compare */
		if (early && getenv("VG_STT_BENCH_EARLY_FULL")) {
			free(early);
			early = NULL;
		}
		/* The call decodes endpoint_pause_clip() (the pause's audio
		 * padded with its own repeated to the utterance's length, and
		 * to 500 ms after the speech at least); VG_STT_BENCH_EARLY_PAD
		 * =0: no pad, 1: line noise to the utterance's length */
		const char *pe = getenv("VG_STT_BENCH_EARLY_PAD");
		int pad_kind = pe ? atoi(pe) : 2;
		if (early && pad_kind == 2 && pclip) {
			int16_t *pad =
				malloc(pclip->nsamples * sizeof(int16_t));
			if (pad) {
				memcpy(pad, pclip->samples,
				       pclip->nsamples * sizeof(int16_t));
				free(early);
				early = pad;
				ne = pclip->nsamples;
			}
		} else if (early && pad_kind == 1 && nf > ne) {
			int16_t *pad = realloc(early, nf * sizeof(int16_t));
			if (pad) {
				unsigned sd = 5;
				for (size_t k = ne; k < nf; k++)
					if ((k - ne) % AUDIO_FRAME_SAMPLES ==
						    0 &&
					    k + AUDIO_FRAME_SAMPLES <= nf)
						line_noise(pad + k, &sd);
				early = pad;
				ne = nf;
			}
		}
		const int16_t *pcm = early ? early
				     : ok  ? full
					   : u->clip->samples;
		size_t np = early ? ne : ok ? nf : u->clip->nsamples;
		noend += !ok;
		uint64_t t0 = clock_mono_us();
		if (stt_recognize_sync(s, pcm, np, p, &res))
			res.text[0] = '\0';
		uint64_t d = clock_mono_us() - t0;
		if (early) {
			uint64_t window = (uint64_t)(at_end - at_pause) *
					  AUDIO_FRAME_MS * 1000u;
			lat[i] = d > window ? d - window : 0;
			used++;
		} else {
			lat[i] = d;
		}
		size_t nr = words_of(u->ref, rw), nh = words_of(res.text, hw);
		err_words += edits(rw, nr, hw, nh);
		ref_words += nr;
		if (getenv("VG_STT_BENCH_VERBOSE"))
			printf("    early %s ref=\"%s\" hyp=\"%s\" clip %zu "
			       "early %zu full %zu pause@%u end@%u\n",
			       u->id, u->ref, res.text, u->clip->nsamples, ne,
			       nf, at_pause, at_end);
		free(early);
		free(full);
		audio_clip_deref(pclip);
	}
	qsort(lat, n, sizeof(*lat), cmp_u64);
	double wer = ref_words ? (double)err_words / (double)ref_words : 0;
	printf("  early decode (pause %u ms, trailing silence 300 ms): "
	       "finalize p50 %.1f ms  p95 %.1f ms; used in %.0f%% of turns, "
	       "WER %.2f%%, voided pauses %.2f per turn, no end %zu\n",
	       early_ms(), pct(lat, n, 0.5) / 1000.0,
	       pct(lat, n, 0.95) / 1000.0,
	       n ? 100.0 * (double)used / (double)n : 0, 100.0 * wer,
	       n ? (double)voided / (double)n : 0, noend);
	char fig[96];
	snprintf(fig, sizeof(fig), "%s finalize p95 (early decode)", label);
	bench_fig("stt", fig, pct(lat, n, 0.95) / 1000.0, "ms",
		  "<=", BUDGET_FINALIZE_P95_MS);
out:
	free(lat);
	free(rw);
	free(hw);
}

/* ---- turns: what a call makes of each utterance (VG_STT_BENCH_TURNS) ----
 *
 * The early-decode pass above scores the turn a call decodes; this one says
 * why it differs from the whole clip. (The semantic endpointing it also
 * simulated, a hold of the end when a pause's early decode reads
 * unfinished, gained nothing and was removed after commit 73b1b38:
 * BENCHMARKS.md "Where the endpointed turns lose words".) Per utterance: the
 * whole clip is decoded; then it is put on a line as in endpoint_clip(), each
 * pause of early_ms is decoded as the call would (endpoint_pause_clip()), and
 * after the end event the endpointer is restarted on the rest of the line, so
 * speech that starts again within the clip shows the turn was cut there. */

enum {
	PAUSES_MAX = 16,
};

/* One pause of early_ms within the turn, and what became of it. */
struct pause_rec {
	unsigned at; /* line frame it reached early_ms */
	char text[STT_TEXT_MAX + 1];
	uint64_t decode_us;
	enum { P_VOIDED, P_END, P_CUT } fate;
};

struct turn {
	bool ended, cut;
	int first, last; /* clip frames: the turn's first sample, its last
			    speech frame (first < 0: starts in lead noise) */
	int endf;	 /* clip frame of the end event */
	int restartf;	 /* clip frame after which the endpointer restarted */
	unsigned gap_ms; /* cut: last speech frame -> the next turn's onset */
	/* The first onset after the end (any, also after the clip), in ms
	 * after the end event; UINT_MAX: none. A continuation window longer
	 * than this would have resumed the turn. */
	unsigned resume_ms;
	unsigned ncont;	 /* times the turn continued (continue_ms) */
	unsigned end_ms; /* end event - last speech frame */
	struct pause_rec p[PAUSES_MAX];
	unsigned np;   /* pauses recorded (the last is the end's) */
	int16_t *full; /* the endpointed utterance (malloc) */
	size_t nfull;
	char text[STT_TEXT_MAX + 1]; /* the call's transcript of the turn */
};

struct turn_ctx {
	struct stt *s;
	const struct stt_params *p;
	unsigned trailing_ms; /* 0: the default trailing silence */
	unsigned pad_ms;      /* more pad on each pause clip */
	bool mix_noise;	      /* line noise under the clip too */
	/* continuation window (stt.continue_window): after the end, speech
	 * whose onset comes within it continues the turn (endpoint_continue,
	 * as the call's channel watches it), and the joined utterance is the
	 * turn; 0: off */
	unsigned continue_ms;
};

static void decode_into(const struct turn_ctx *c, const int16_t *pcm, size_t n,
			char *text, uint64_t *us)
{
	struct stt_result res;
	uint64_t t0 = clock_mono_us();
	if (stt_recognize_sync(c->s, pcm, n, c->p, &res))
		res.text[0] = '\0';
	if (us)
		*us = clock_mono_us() - t0;
	snprintf(text, STT_TEXT_MAX + 1, "%s", res.text);
}

/* c extended by ms with its own last 100 ms repeated (c's reference is
 * passed on; NULL when out of memory). */
static struct audio_clip *pad_more(struct audio_clip *c, unsigned ms)
{
	size_t tail = 5 * AUDIO_FRAME_SAMPLES;
	if (!c || !ms || c->nsamples < tail)
		return c;
	size_t extra = (size_t)ms * 8;
	struct audio_clip *p =
		audio_clip_alloc(c->nsamples + extra, c->rate_hz);
	if (p) {
		memcpy(p->samples, c->samples, c->nsamples * sizeof(int16_t));
		for (size_t k = 0; k < extra; k++)
			p->samples[c->nsamples + k] =
				c->samples[c->nsamples - tail + k % tail];
	}
	audio_clip_deref(c);
	return p;
}

/* Run one utterance through the line, VAD, endpointer and early decodes.
 * 0, or -ENOMEM. */
static int turn_run(const struct turn_ctx *c, const struct audio_clip *clip,
		    struct turn *t)
{
	struct line ln;
	struct endpointer *ep = NULL;
	struct endpoint_cfg ec;
	endpoint_cfg_default(&ec);
	ec.no_input_ms = 0;
	if (c->trailing_ms)
		ec.trailing_silence_ms = c->trailing_ms;
	memset(t, 0, sizeof(*t));
	t->first = t->last = -1;
	t->resume_ms = UINT_MAX;
	bool watching = false; /* the continuation window is open */
	int err = -ENOMEM;
	if (line_open(&ln, clip, c->mix_noise) || endpoint_create(&ep, &ec))
		goto out;
	size_t nspeech = ln.nspeech;
	int16_t pcm[AUDIO_FRAME_SAMPLES];
	bool paused = false;
	float prob;
	size_t f;
	while (line_next(&ln, pcm, &prob, &f)) {
		if (f < LEAD_FRAMES)
			continue;
		enum endpoint_event e = endpoint_feed(ep, pcm, prob);
		if (t->ended && watching) {
			if (e == EP_SPEECH_START) {
				/* resumed: the session drops the end's
				 * decode and listens on with resume */
				watching = false;
				t->ended = false;
				t->ncont++;
				free(t->full);
				t->full = NULL;
				if (t->np)
					t->p[t->np - 1].fate = P_VOIDED;
				paused = false;
				continue;
			}
			if (!endpoint_continuing(ep)) {
				/* the window passed: the turn stays ended */
				watching = false;
				endpoint_start(ep, NULL);
				t->restartf = (int)f - LEAD_FRAMES;
			}
			continue;
		}
		if (t->ended) {
			/* the next turn: did more of the clip's speech come? */
			if (e != EP_SPEECH_START)
				continue;
			unsigned since = (unsigned)(t->restartf - t->endf) *
						 AUDIO_FRAME_MS +
					 endpoint_speech_start_ms(ep);
			if (t->resume_ms == UINT_MAX)
				t->resume_ms = since;
			if (f < LEAD_FRAMES + nspeech + 10) {
				t->cut = true;
				t->gap_ms = (unsigned)(t->endf - t->last) *
						    AUDIO_FRAME_MS +
					    since;
				if (t->np)
					t->p[t->np - 1].fate = P_CUT;
				break;
			}
			continue;
		}
		if (e == EP_SPEECH_END || e == EP_MAX_SPEECH) {
			size_t n = 0;
			const int16_t *a = endpoint_audio(ep, &n);
			t->full = malloc((n ? n : 1) * sizeof(int16_t));
			if (!t->full)
				goto out;
			memcpy(t->full, a, n * sizeof(int16_t));
			t->nfull = n;
			t->ended = true;
			t->first = (int)(f + 1 - n / AUDIO_FRAME_SAMPLES) -
				   LEAD_FRAMES;
			t->last = (int)(endpoint_speech_end_ms(ep) /
					AUDIO_FRAME_MS) -
				  1;
			t->endf = (int)f - LEAD_FRAMES;
			t->end_ms = (unsigned)((f - LEAD_FRAMES + 1) -
					       (unsigned)(t->last + 1)) *
				    AUDIO_FRAME_MS;
			if (paused && t->np)
				t->p[t->np - 1].fate = P_END;
			t->restartf = t->endf;
			if (e == EP_SPEECH_END && c->continue_ms &&
			    !endpoint_continue(ep, c->continue_ms))
				watching = true;
			else
				endpoint_start(ep, NULL);
			continue;
		}
		if (!endpoint_in_speech(ep))
			continue;
		uint32_t quiet = endpoint_silence_ms(ep);
		if (quiet == 0) {
			paused = false;
			continue;
		}
		if (paused || quiet < early_ms())
			continue;
		paused = true;
		struct audio_clip *pc =
			pad_more(endpoint_pause_clip(ep), c->pad_ms);
		if (!pc)
			goto out;
		if (t->np == PAUSES_MAX) /* keep the last ones */
			memmove(t->p, t->p + 1, sizeof(t->p[0]) * --t->np);
		struct pause_rec *r = &t->p[t->np++];
		memset(r, 0, sizeof(*r));
		r->at = (unsigned)f;
		r->fate = P_VOIDED;
		decode_into(c, pc->samples, pc->nsamples, r->text,
			    &r->decode_us);
		audio_clip_deref(pc);
	}
	err = 0;
	if (!t->ended)
		goto out;
	/* The call's transcript: the end's pause decode, else the whole
	 * endpointed utterance decoded after the end. */
	if (t->np && t->p[t->np - 1].fate != P_VOIDED)
		snprintf(t->text, sizeof(t->text), "%s", t->p[t->np - 1].text);
	else
		decode_into(c, t->full, t->nfull, t->text, NULL);
out:
	line_close(&ln);
	endpoint_destroy(ep);
	return err;
}

/* First and last clip frames within 35 dB of the clip's loudest (and above
 * -55 dBFS): where the clip's speech is, to tell clipped onsets and tails. */
static void clip_speech(const struct audio_clip *clip, int *first, int *last)
{
	size_t nf = clip->nsamples / AUDIO_FRAME_SAMPLES;
	double top = -200;
	*first = *last = -1;
	for (int pass = 0; pass < 2; pass++)
		for (size_t f = 0; f < nf; f++) {
			double e = 0;
			const int16_t *s =
				clip->samples + f * AUDIO_FRAME_SAMPLES;
			for (int i = 0; i < AUDIO_FRAME_SAMPLES; i++)
				e += (double)s[i] * s[i];
			double db = 10 * log10(e / AUDIO_FRAME_SAMPLES /
						       (32768.0 * 32768.0) +
					       1e-12);
			if (!pass) {
				top = db > top ? db : top;
			} else if (db > top - 35 && db > -55) {
				if (*first < 0)
					*first = (int)f;
				*last = (int)f;
			}
		}
}

enum turn_class {
	TC_CUT,	  /* ended at a pause, more speech came: a prefix */
	TC_TAIL,  /* speech after the end that started no turn */
	TC_ONSET, /* the turn starts after the clip's speech does */
	TC_PAD,	  /* the early decode's padded pause clip (the endpointed
		     utterance decodes no worse than the clip) */
	TC_FRAME, /* the same speech, decoded differently (framing, noise) */
	TC_N,
};

static const char *const class_name[TC_N] = {
	"turn cut at a pause",	"tail clipped",	     "onset clipped",
	"early-decode padding", "framing / decoder",
};

/* VG_STT_BENCH_TURNS=1: the classification. VG_STT_BENCH_TRAILING=MS: the
 * endpointer's trailing silence; VG_STT_BENCH_PAD_MORE=MS: each pause clip
 * padded by that much more; VG_STT_BENCH_LINE_MIX=1: the line noise goes
 * on under the clip (else it stops where the clip starts and comes back
 * after it, and its return after a clip's near-digital silence is
 * "speech" to the VAD for a frame or two). VG_STT_BENCH_CONTINUE=MS[,MS..]:
 * the call's continuation window (stt.continue_window; up to CONT_MAX
 * windows): the call's WER with each, and how many turns continued; a turn
 * is simulated again with a window only when an onset came within it after
 * its end (else the window changes nothing). VG_STT_BENCH_VERBOSE: every
 * pause and every turn that differs. */
enum { CONT_MAX = 8 };

static void turn_pass(struct stt *s, const struct stt_params *p,
		      const struct set *set)
{
	unsigned win[CONT_MAX];
	size_t nwin = 0;
	const char *cw = getenv("VG_STT_BENCH_CONTINUE");
	for (const char *q = cw; q && *q && nwin < CONT_MAX;) {
		char *end;
		long v = strtol(q, &end, 10);
		if (end == q || v < 0 || v > 10000 || (*end && *end != ',')) {
			fprintf(stderr,
				"VG_STT_BENCH_CONTINUE: \"%s\" is not a list "
				"of windows in ms (0..10000), e.g. 150,250\n",
				cw);
			return;
		}
		if (v)
			win[nwin++] = (unsigned)v;
		q = *end ? end + 1 : end;
	}
	size_t e_cont[CONT_MAX] = { 0 }, n_cont[CONT_MAX] = { 0 };
	size_t cut_cont[CONT_MAX] = { 0 };
	size_t n = set->n;
	word_t *rw = malloc(sizeof(word_t) * WORDS_MAX);
	word_t *hw = malloc(sizeof(word_t) * WORDS_MAX);
	uint32_t *base_delay = calloc(n + 1, sizeof(*base_delay));
	if (!rw || !hw || !base_delay)
		goto out;
	bool verbose = getenv("VG_STT_BENCH_VERBOSE") != NULL;
	const char *tr = getenv("VG_STT_BENCH_TRAILING");
	struct turn_ctx base = { .s = s,
				 .p = p,
				 .trailing_ms = tr ? (unsigned)atoi(tr) : 0 };
	const char *pm = getenv("VG_STT_BENCH_PAD_MORE");
	base.pad_ms = pm ? (unsigned)atoi(pm) : 0;
	base.mix_noise = getenv("VG_STT_BENCH_LINE_MIX") != NULL;

	size_t ref_words = 0, e_clip = 0, e_full = 0, e_turn = 0;
	size_t cls_n[TC_N] = { 0 }, cls_cost[TC_N] = { 0 }, better = 0;
	size_t better_words = 0, cuts = 0, noend = 0;
	size_t pauses = 0, voided = 0, nbase = 0;
	for (size_t i = 0; i < n; i++) {
		const struct utt *u = &set->u[i];
		char whole[STT_TEXT_MAX + 1], full[STT_TEXT_MAX + 1];
		decode_into(&base, u->clip->samples, u->clip->nsamples, whole,
			    NULL);
		struct turn t;
		if (turn_run(&base, u->clip, &t)) {
			free(t.full);
			goto out;
		}
		size_t nr = words_of(u->ref, rw);
		size_t e0 = edits(rw, nr, hw, words_of(whole, hw));
		size_t eT = nr, eF = nr; /* no end: nothing heard */
		full[0] = '\0';
		if (t.ended) {
			decode_into(&base, t.full, t.nfull, full, NULL);
			eF = edits(rw, nr, hw, words_of(full, hw));
			eT = edits(rw, nr, hw, words_of(t.text, hw));
		} else {
			noend++;
		}
		ref_words += nr;
		e_clip += e0;
		e_full += eF;
		e_turn += eT;
		cuts += t.cut;
		for (size_t k = 0; k < nwin; k++) {
			if (!t.ended || t.resume_ms >= win[k]) {
				e_cont[k] += eT; /* no onset within it */
				cut_cont[k] += t.cut;
				continue;
			}
			struct turn_ctx cc = base;
			cc.continue_ms = win[k];
			struct turn tw;
			if (turn_run(&cc, u->clip, &tw)) {
				free(tw.full);
				free(t.full);
				goto out;
			}
			size_t eW = tw.ended ? edits(rw, nr, hw,
						     words_of(tw.text, hw))
					     : nr;
			e_cont[k] += eW;
			n_cont[k] += tw.ncont > 0;
			cut_cont[k] += tw.cut;
			if (verbose)
				printf("    continued %s window %u ms: %u "
				       "time(s), %+d words\n      ref   "
				       "\"%s\"\n      call  \"%s\"\n      "
				       "joined \"%s\"\n",
				       u->id, win[k], tw.ncont,
				       (int)eW - (int)eT, u->ref, t.text,
				       tw.text);
			free(tw.full);
		}
		for (unsigned k = 0; k < t.np; k++) {
			const struct pause_rec *r = &t.p[k];
			pauses++;
			voided += r->fate == P_VOIDED;
			if (verbose)
				printf("    pause %s @%u %s %.0f ms \"%s\"\n",
				       u->id, r->at,
				       r->fate == P_END	  ? "end"
				       : r->fate == P_CUT ? "CUT"
							  : "voided",
				       r->decode_us / 1000.0, r->text);
		}
		if (t.ended && !t.cut)
			base_delay[nbase++] = t.end_ms;
		int cf, cl;
		clip_speech(u->clip, &cf, &cl);
		enum turn_class tc = TC_FRAME;
		if (!t.ended || t.cut)
			tc = TC_CUT;
		else if (cl > t.endf)
			tc = TC_TAIL;
		else if (t.first > cf)
			tc = TC_ONSET;
		else if (eT > eF && eF <= e0)
			tc = TC_PAD;
		if (eT > e0) {
			cls_n[tc]++;
			cls_cost[tc] += eT - e0;
		} else if (eT < e0) {
			better++;
			better_words += e0 - eT;
		}
		if (verbose && (eT != e0 || t.cut))
			printf("    turn %s %s %+d words [%s] clip %d..%d turn "
			       "%d..%d gap %u ms\n      ref   \"%s\"\n      "
			       "clip  \"%s\"\n      full  \"%s\"\n      "
			       "call  \"%s\"\n",
			       u->id, eT > e0 ? "WORSE" : "better",
			       (int)eT - (int)e0,
			       eT > e0 ? class_name[tc] : "-", cf, cl, t.first,
			       t.last, t.gap_ms, u->ref, whole, full, t.text);
		free(t.full);
	}
	double w = ref_words ? 100.0 / (double)ref_words : 0;
	printf("  turns (%zu utterances, %zu words; early decode at %u ms, "
	       "trailing silence %u ms):\n"
	       "    WER whole clip %.2f%%, endpointed %.2f%%, the call's "
	       "(early decode) %.2f%%; turns cut %zu, no end %zu\n",
	       n, ref_words, early_ms(),
	       base.trailing_ms ? base.trailing_ms : 300, w * (double)e_clip,
	       w * (double)e_full, w * (double)e_turn, cuts, noend);
	printf("    worse than the whole clip, by cause (utterances, words, "
	       "WER points):\n");
	for (int k = 0; k < TC_N; k++)
		printf("      %-22s %4zu %5zu %6.2f\n", class_name[k], cls_n[k],
		       cls_cost[k], w * (double)cls_cost[k]);
	printf("      %-22s %4zu %5zu %6.2f\n", "better than the clip", better,
	       better_words, -w * (double)better_words);
	printf("    pauses %zu (voided by more speech %zu)\n", pauses, voided);
	for (size_t k = 0; k < nwin; k++)
		printf("    continuation window %u ms: the call's WER %.2f%% "
		       "(no window %.2f%%), turns continued %zu, still cut "
		       "%zu\n",
		       win[k], w * (double)e_cont[k], w * (double)e_turn,
		       n_cont[k], cut_cont[k]);
	qsort(base_delay, nbase, sizeof(*base_delay), bench_cmp_u32);
	printf("    end delay (last speech frame -> end), whole turns: p50 "
	       "%.0f p95 %.0f ms\n",
	       bench_pct_u32(base_delay, nbase, 0.5),
	       bench_pct_u32(base_delay, nbase, 0.95));
out:
	free(rw);
	free(hw);
	free(base_delay);
}

/* The heading and WER lines every mode prints. */
static void print_head(const struct mode *m, size_t n, double audio_s,
		       const struct tally *t)
{
	printf("\n%s (%zu utterances, %.1f s of audio%s)\n", m->label, n,
	       audio_s, n < m->set->n ? ", stopped at its time budget" : "");
	printf("  WER %.2f%% (%zu/%zu words), utterances wrong %.1f%%, "
	       "failed %zu\n",
	       100.0 * tally_wer(t), t->err_words, t->ref_words,
	       n ? 100.0 * (double)t->wrong_utts / (double)n : 0, t->fails);
	for (int v = 0; v < 2 && t->vname[v]; v++)
		printf("    voice %-16s WER %.2f%%\n", t->vname[v],
		       t->vref[v]
			       ? 100.0 * (double)t->verr[v] / (double)t->vref[v]
			       : 0);
}

/* lat[0..n) sorted; note follows the figures. */
static void print_latency(const uint64_t *lat, size_t n, const char *note)
{
	printf("  finalize latency p50 %.1f ms  p95 %.1f ms  max %.1f ms%s\n",
	       pct(lat, n, 0.5) / 1000.0, pct(lat, n, 0.95) / 1000.0,
	       (double)lat[n - 1] / 1000.0, note);
}

/* Ratios against the budgets and the figures (bench_fig) of a mode;
 * streams < 0: not measured. lat sorted. */
static void print_budgets(const struct mode *m, const uint64_t *lat, size_t n,
			  double streams, double wer)
{
	double p95_ms = pct(lat, n, 0.95) / 1000.0;
	ratio_line("finalize p95 ms", p95_ms, BUDGET_FINALIZE_P95_MS, 1);
	if (streams >= 0)
		ratio_line("concurrent streams", streams, BUDGET_STREAMS, 0);
	if (m->wer_budget > 0)
		ratio_line("WER", wer, m->wer_budget, 1);
	char fig[96];
	snprintf(fig, sizeof(fig), "%s finalize p95", m->label);
	bench_fig("stt", fig, p95_ms, "ms", "<=", BUDGET_FINALIZE_P95_MS);
	if (streams >= 0) {
		snprintf(fig, sizeof(fig), "%s streams", m->label);
		bench_fig("stt", fig, streams, "streams", ">=", BUDGET_STREAMS);
	}
	snprintf(fig, sizeof(fig), "%s WER", m->label);
	bench_fig("stt", fig, wer, "ratio", m->wer_budget > 0 ? "<=" : NULL,
		  m->wer_budget);
}

/* VG_STT_BENCH_HEARD=DIR: DIR/<mode>.tsv gets "reference<TAB>transcript"
 * per utterance (bench/nlu_stt.sh NLU_REFHYP= turns it into intent
 * accuracy on what was heard). NULL when not asked or not writable. */
static FILE *heard_open(const struct mode *m)
{
	if (!getenv("VG_STT_BENCH_HEARD"))
		return NULL;
	char path[1024];
	FILE *heard = NULL;
	int len = snprintf(path, sizeof(path), "%s/",
			   getenv("VG_STT_BENCH_HEARD"));
	for (const char *c = m->label;
	     *c && len > 0 && (size_t)len < sizeof(path) - 11; c++)
		path[len++] = isalnum((unsigned char)*c) ? *c : '_';
	if (len > 0 && (size_t)len < sizeof(path) - 11) {
		strcpy(path + len, ".tsv");
		heard = fopen(path, "w");
	}
	if (!heard)
		fprintf(stderr, "bench_stt: cannot write %s\n", path);
	return heard;
}

/* The concurrency pass: utterances [0, n) all at once through the pool;
 * the audio decoded per wall second is how many callers speaking without
 * pause the pool keeps up with. Also scored (*loaded: what was decoded
 * under load) with the share of decodes the engine ran degraded. */
/* CPU time of the whole process (the workers' decodes). */
static uint64_t process_cpu_us(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static double conc_pass(struct stt *s, struct wpool *pool, struct vg_loop *loop,
			const struct stt_params *p, const struct set *set,
			size_t n, double audio_s, struct tally *loaded,
			size_t *ndegraded, int *errors, double *mem_mb,
			double *cpu_s)
{
	struct conc c = { 0 };
	struct conc_req *q = calloc(n, sizeof(*q));
	if (!q)
		return 0;
	struct sampler sm = { 0 };
	long base_kb = rss_kb();
	atomic_store(&sm.peak_kb, base_kb);
	pthread_t th;
	int have_sampler = !pthread_create(&th, NULL, sample_rss, &sm);
	size_t submitted = 0;
	uint64_t t0 = clock_mono_us(), c0 = process_cpu_us();
	for (size_t i = 0; i < n; i++) {
		int err;
		q[i].c = &c;
		while ((err = stt_recognize(s, set->u[i].clip, p, loop, on_done,
					    &q[i], NULL)) == -EAGAIN)
			usleep(1000);
		if (err)
			break;
		submitted++;
	}
	while ((size_t)atomic_load(&c.done) < submitted)
		usleep(1000);
	uint64_t wall_us = clock_mono_us() - t0;
	*cpu_s = (double)(process_cpu_us() - c0) / 1e6;
	atomic_store(&sm.stop, 1);
	if (have_sampler)
		pthread_join(th, NULL);
	*mem_mb = (double)(atomic_load(&sm.peak_kb) - base_kb) / 1024.0 /
		  wpool_threads(pool);
	*errors = atomic_load(&c.errors);
	*ndegraded = 0;
	for (size_t i = 0; i < submitted; i++) {
		tally_add(loaded, &set->u[i], q[i].text, q[i].confidence);
		*ndegraded += q[i].degraded;
	}
	free(q);
	return audio_s / ((double)wall_us / 1e6);
}

/* VG_STT_BENCH_OFFER=S: an offered load instead of a burst. Utterance i
 * is submitted once the audio of the ones before it, divided by S, has
 * passed (S callers speaking without pause); each request's latency is
 * submit -> result (queue wait + decode), what a caller waits after the
 * end of speech. Shows whether the pool stays real-time at S. */
static void offered_pass(struct stt *s, struct vg_loop *loop,
			 const struct stt_params *p, const struct set *set,
			 size_t n, double offer)
{
	struct conc c = { 0 };
	struct conc_req *q = calloc(n, sizeof(*q));
	uint64_t *lat = calloc(n, sizeof(*lat));
	struct tally t;
	if (!q || !lat || tally_init(&t)) {
		free(q);
		free(lat);
		return;
	}
	size_t submitted = 0, ndeg = 0;
	double before_s = 0;
	uint64_t t0 = clock_mono_us();
	for (size_t i = 0; i < n; i++) {
		uint64_t at = t0 + (uint64_t)(before_s / offer * 1e6);
		uint64_t now = clock_mono_us();
		if (at > now)
			usleep((useconds_t)(at - now));
		before_s += (double)set->u[i].clip->nsamples / 8000.0;
		q[i].c = &c;
		q[i].submit_us = clock_mono_us();
		if (stt_recognize(s, set->u[i].clip, p, loop, on_done, &q[i],
				  NULL))
			break;
		submitted++;
	}
	while ((size_t)atomic_load(&c.done) < submitted)
		usleep(1000);
	for (size_t i = 0; i < submitted; i++) {
		lat[i] = q[i].done_us - q[i].submit_us;
		tally_add(&t, &set->u[i], q[i].text, q[i].confidence);
		ndeg += q[i].degraded;
	}
	if (submitted) {
		qsort(lat, submitted, sizeof(*lat), cmp_u64);
		printf("  offered %.0f streams: latency p50 %.0f ms  p95 %.0f "
		       "ms  max %.0f ms, WER %.2f%%, ran degraded %.1f%%, "
		       "errors %d\n",
		       offer, pct(lat, submitted, 0.5) / 1000.0,
		       pct(lat, submitted, 0.95) / 1000.0,
		       (double)lat[submitted - 1] / 1000.0,
		       100.0 * tally_wer(&t),
		       100.0 * (double)ndeg / (double)submitted,
		       atomic_load(&c.errors));
	}
	free(q);
	free(lat);
	tally_fini(&t);
}

static int run_mode(struct stt *s, struct wpool *pool, struct vg_loop *loop,
		    const struct mode *m, double cap_s)
{
	const struct set *set = m->set;
	struct stt_params p = {
		.mode = m->mode,
		.grammar = m->grammar,
		.lm = m->lm,
		.engines = m->engine,
		.deadline_ms = 600000,
	};
	uint64_t *lat = calloc(set->n, sizeof(*lat));
	uint64_t *cpu = calloc(set->n, sizeof(*cpu));
	struct tally t, loaded;
	int terr = tally_init(&t), lerr = tally_init(&loaded);
	if (!lat || !cpu || terr || lerr) {
		free(lat);
		free(cpu);
		tally_fini(&t);
		tally_fini(&loaded);
		return -ENOMEM;
	}
	uint64_t decode_us = 0;
	if (getenv("VG_STT_BENCH_TURNS")) {
		/* only the turns (no batch or concurrency pass) */
		printf("\n%s (%zu utterances): turns\n", m->label, set->n);
		turn_pass(s, &p, set);
		free(lat);
		free(cpu);
		tally_fini(&t);
		tally_fini(&loaded);
		return 0;
	}
	FILE *heard = heard_open(m);

	/* warm-up: first decode pays lazy loads */
	struct stt_result res;
	stt_recognize_sync(s, set->u[0].clip->samples, set->u[0].clip->nsamples,
			   &p, &res);

	/* a slow mode stops after its time budget: the figures are over the
	 * utterances decoded so far, and the concurrent run uses the same */
	size_t n = set->n;
	double audio_s = 0;
	uint64_t start_us = clock_mono_us();
	for (size_t i = 0; i < n; i++) {
		const struct utt *u = &set->u[i];
		if (i > 0 && cap_s > 0 &&
		    (double)(clock_mono_us() - start_us) / 1e6 > cap_s) {
			n = i;
			break;
		}
		audio_s += (double)u->clip->nsamples / 8000.0;
		uint64_t t0 = clock_mono_us(), c0 = thread_cpu_us();
		int err = stt_recognize_sync(s, u->clip->samples,
					     u->clip->nsamples, &p, &res);
		lat[i] = clock_mono_us() - t0;
		cpu[i] = thread_cpu_us() - c0;
		decode_us += lat[i];
		size_t e = tally_add(&t, u, err ? NULL : res.text,
				     err ? 0 : res.confidence);
		if (getenv("VG_STT_BENCH_VERBOSE"))
			printf("    %s ref=\"%s\" hyp=\"%s\" e=%zu %.0f ms\n",
			       u->id, u->ref, err ? "" : res.text, e,
			       lat[i] / 1000.0);
		if (heard)
			fprintf(heard, "%s\t%s\n", u->ref, err ? "" : res.text);
	}
	if (heard)
		fclose(heard);
	qsort(lat, n, sizeof(*lat), cmp_u64);
	qsort(cpu, n, sizeof(*cpu), cmp_u64);
	double rtf = (double)decode_us / 1e6 / audio_s;

	size_t ndeg = 0;
	int cerrors = 0;
	double mem_mb = 0, cpu_s = 0;
	double streams = conc_pass(s, pool, loop, &p, set, n, audio_s, &loaded,
				   &ndeg, &cerrors, &mem_mb, &cpu_s);

	print_head(m, n, audio_s, &t);
	printf("  RTF %.4f (one thread)\n", rtf);
	print_latency(lat, n, "");
	printf("  finalize CPU      p50 %.1f ms  p95 %.1f ms (decode thread)\n",
	       pct(cpu, n, 0.5) / 1000.0, pct(cpu, n, 0.95) / 1000.0);
	printf("  streams sustained on %u workers: %.1f (audio s per wall s), "
	       "errors %d\n",
	       wpool_threads(pool), streams, cerrors);
	/* what the wall figure would be on idle cores: it is the box's
	 * neighbours that make the two differ */
	printf("  CPU per audio second under load %.1f ms: %.1f streams on "
	       "%u idle cores\n",
	       1000.0 * cpu_s / audio_s,
	       cpu_s > 0 ? audio_s / cpu_s * wpool_threads(pool) : 0,
	       wpool_threads(pool));
	/* a stream figure never hides its accuracy */
	printf("  under load: WER %.2f%% (%zu/%zu words), ran degraded "
	       "%.1f%% (%zu/%zu)\n",
	       100.0 * tally_wer(&loaded), loaded.err_words, loaded.ref_words,
	       loaded.n ? 100.0 * (double)ndeg / (double)loaded.n : 0, ndeg,
	       loaded.n);
	printf("  mean confidence %.3f, under load %.3f\n",
	       t.nconf ? t.conf_sum / (double)t.nconf : 0,
	       loaded.nconf ? loaded.conf_sum / (double)loaded.nconf : 0);
	printf("  RSS growth per concurrent decode: %.1f MB\n", mem_mb);
	print_budgets(m, lat, n, streams, tally_wer(&t));
	const char *offer = getenv("VG_STT_BENCH_OFFER"); /* "40,60" */
	for (const char *o = offer; o && *o; o += strcspn(o, ",") + 1) {
		if (atof(o) > 0)
			offered_pass(s, loop, &p, set, n, atof(o));
		if (!o[strcspn(o, ",")])
			break;
	}
	char fig[96];
	snprintf(fig, sizeof(fig), "%s WER under load", m->label);
	bench_fig("stt", fig, tally_wer(&loaded), "ratio", NULL, 0);
	early_pass(s, &p, set, n, m->label);
	free(lat);
	free(cpu);
	tally_fini(&t);
	tally_fini(&loaded);
	return 0;
}

/* A streaming mode (stt.h rule 8) on the calling thread: each utterance
 * is fed to the engine in 20 ms chunks as fast as it takes them, and the
 * finalize latency is the time from the last chunk's feed to the final
 * result (the last feed and stream_end(): what is left after the end of
 * speech when the audio was fed while the caller spoke). CPU per audio
 * second covers the whole stream. */
static int run_stream_mode(struct stt *s, const struct mode *m, double cap_s)
{
	const struct set *set = m->set;
	struct stt_engine *e = stt_engine_find(s, m->engine);
	const struct stt_engine_ops *ops = e->ops;
	if (!(ops->caps & STT_CAP_STREAM)) {
		printf("\n%s: SKIPPED (%s does not stream)\n", m->label,
		       m->engine);
		return 0;
	}
	struct stt_request req = { .mode = m->mode, .grammar = m->grammar };
	uint64_t *lat = calloc(set->n, sizeof(*lat));
	struct tally t;
	if (tally_init(&t) || !lat) {
		free(lat);
		tally_fini(&t);
		return -ENOMEM;
	}
	size_t partials = 0;
	uint64_t cpu_us = 0;
	double audio_s = 0;
	size_t n = set->n;
	uint64_t start_us = clock_mono_us();
	for (size_t i = 0; i < n; i++) {
		const struct utt *u = &set->u[i];
		if (i > 0 && cap_s > 0 &&
		    (double)(clock_mono_us() - start_us) / 1e6 > cap_s) {
			n = i;
			break;
		}
		audio_s += (double)u->clip->nsamples / 8000.0;
		struct stt_result res;
		char ptext[STT_TEXT_MAX + 1];
		uint64_t c0 = thread_cpu_us(), t_last = 0;
		struct stt_engine_stream *st = NULL;
		int err = ops->stream_begin(e, &req, &st);
		size_t len = u->clip->nsamples;
		for (size_t off = 0; !err && off < len; off += 160) {
			size_t k = len - off < 160 ? len - off : 160;
			if (off + k == len)
				t_last = clock_mono_us();
			err = ops->stream_feed(st, u->clip->samples + off, k);
			/* a partial every 100 ms, as the service asks */
			if (!err && off % 800 == 640)
				partials +=
					ops->stream_partial(st, ptext,
							    sizeof(ptext)) == 1;
		}
		if (err && st)
			ops->stream_abort(st);
		else if (!err)
			err = ops->stream_end(st, &res);
		lat[i] = clock_mono_us() - t_last;
		cpu_us += thread_cpu_us() - c0;
		size_t ed = tally_add(&t, u, err ? NULL : res.text,
				      err ? 0 : res.confidence);
		if (getenv("VG_STT_BENCH_VERBOSE"))
			printf("    %s ref=\"%s\" hyp=\"%s\" e=%zu %.1f ms\n",
			       u->id, u->ref, err ? "" : res.text, ed,
			       lat[i] / 1000.0);
	}
	qsort(lat, n, sizeof(*lat), cmp_u64);
	print_head(m, n, audio_s, &t);
	printf("  CPU per audio second %.1f ms (whole stream, one thread)\n",
	       (double)cpu_us / 1000.0 / audio_s);
	printf("  partials that changed: %.1f per utterance\n",
	       (double)partials / (double)n);
	print_latency(lat, n, " (last 20 ms feed -> final result)");
	print_budgets(m, lat, n, -1, tally_wer(&t));
	free(lat);
	tally_fini(&t);
	return 0;
}

static int build_set(char *dir, size_t cap)
{
	const char *n = getenv("VG_STT_BENCH_N");
	snprintf(dir, cap, "/tmp/vg-stt-set-XXXXXX");
	if (!mkdtemp(dir))
		return -errno;
	char cmd[8192];
	snprintf(cmd, sizeof(cmd), "'%s/bench/speech/make_set.sh' '%s' %d",
		 source_dir(), dir, n ? atoi(n) : 40);
	/* flite voices need `voxgate say`: BUILD/src/voxgate next to
	 * BUILD/bench/bench_stt */
	char exe[4096], vx[4200];
	ssize_t el = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (el > 0 && !getenv("VOXGATE")) {
		exe[el] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(vx, sizeof(vx), "%s/../src/voxgate", exe);
			if (access(vx, X_OK) == 0)
				setenv("VOXGATE", vx, 0);
		}
	}
	printf("building the test set: %s\n", cmd);
	fflush(stdout);
	int rc = system(cmd);
	return rc == 0 ? 0 : -EIO;
}

int main(int argc, char **argv)
{
	char tmpdir[256] = "";
	const char *dir = argc > 1 ? argv[1] : NULL;
	if (!dir) {
		if (build_set(tmpdir, sizeof(tmpdir))) {
			fprintf(stderr, "bench_stt: cannot build the set\n");
			return 1;
		}
		dir = tmpdir;
	}
	char path[4096];
	struct set open_set = { 0 }, gram_set = { 0 };
	struct vg_loop *loop = NULL;
	struct wpool *pool = NULL;
	struct stt *s = NULL;
	struct stt_grammar *lm = NULL, *gram = NULL;
	int rc = 1;
	libre_init();
	snprintf(path, sizeof(path), "%s/open", dir);
	if (set_load(path, &open_set))
		goto out;
	if (getenv("VG_STT_BENCH_RANGE")) {
		if (set_slice(&open_set, getenv("VG_STT_BENCH_RANGE"))) {
			fprintf(stderr,
				"bench_stt: VG_STT_BENCH_RANGE must be "
				"\"from:to\" or \"from:\", not \"%s\"\n",
				getenv("VG_STT_BENCH_RANGE"));
			goto out;
		}
		if (!open_set.n)
			goto out;
	}
	snprintf(path, sizeof(path), "%s/grammar", dir);
	if (set_load(path, &gram_set))
		goto out;
	if (loop_create(&loop, "bench") || loop_start(loop) ||
	    wpool_create(&pool, POOL_THREADS, 4096)) {
		fprintf(stderr, "bench_stt: loop/pool\n");
		goto out;
	}
	long rss0 = rss_kb();
	uint64_t t0 = clock_mono_us();
	/* VG_STT_BENCH_LM="beam,weight,bonus[,prune]" (prune 0 when left out):
	 * Moonshine's LM decoding settings (default: the engine's) */
	struct stt_cfg scfg = { .engines = "moonshine,pocketsphinx" };
	const char *lmset = getenv("VG_STT_BENCH_LM");
	if (lmset &&
	    sscanf(lmset, "%u,%lf,%lf,%lf", &scfg.engine_cfg[0].lm_beam,
		   &scfg.engine_cfg[0].lm_weight,
		   &scfg.engine_cfg[0].lm_word_bonus,
		   &scfg.engine_cfg[0].lm_prune) < 3) {
		fprintf(stderr, "bench_stt: "
				"VG_STT_BENCH_LM=beam,weight,bonus[,prune]\n");
		goto out;
	}
	/* VG_STT_BENCH_OPEN="beam[,prune]": Moonshine's open decoding
	 * without an LM (1: greedy; prune 0 when left out) */
	const char *openset = getenv("VG_STT_BENCH_OPEN");
	if (openset && (sscanf(openset, "%u,%lf", &scfg.engine_cfg[0].open_beam,
			       &scfg.engine_cfg[0].open_prune) < 1 ||
			!scfg.engine_cfg[0].open_beam)) {
		fprintf(stderr, "bench_stt: VG_STT_BENCH_OPEN=beam[,prune]\n");
		goto out;
	}
	/* VG_STT_BENCH_DEGRADE: degraded decodes (both engines) after
	 * this wait in the queue (ms; "off": never), as stt.degrade and
	 * stt.degrade_after configure the daemon (default: theirs) */
	const char *deg = getenv("VG_STT_BENCH_DEGRADE");
	if (deg && strcmp(deg, "off") && !isdigit((unsigned char)*deg)) {
		fprintf(stderr, "bench_stt: VG_STT_BENCH_DEGRADE=ms|off\n");
		goto out;
	}
	for (int i = 0; i < 2; i++) {
		scfg.engine_cfg[i].degrade = !deg || strcmp(deg, "off");
		scfg.engine_cfg[i].degrade_ms =
			deg && isdigit((unsigned char)*deg)
				? (unsigned)atoi(deg)
				: CONFIG_STT_DEGRADE_MS;
	}
	int err = stt_create(&s, pool, &scfg);
	if (err) {
		fprintf(stderr, "bench_stt: no STT engine (%s)\n",
			strerror(-err));
		goto out;
	}
	printf("engines: %s (opened in %.0f ms, +%.0f MB RSS)\n",
	       stt_engines(s), (clock_mono_us() - t0) / 1000.0,
	       (rss_kb() - rss0) / 1024.0);

	snprintf(path, sizeof(path), "%s/data/banking77/train.tsv",
		 source_dir());
	grammar_from_file(path, STT_MODE_LM, 0, &lm);
	snprintf(path, sizeof(path), "%s/grammar/grammar.txt", dir);
	grammar_from_file(path, STT_MODE_GRAMMAR,
			  STT_CLASS_DIGITS | STT_CLASS_YESNO, &gram);
	struct stt_grammar *const prep[] = { lm, gram };
	for (size_t i = 0; i < 2; i++) {
		if (!prep[i])
			continue;
		t0 = clock_mono_us();
		int perr = stt_prepare(s, prep[i]);
		printf("prepare %s: %d in %.0f ms\n", i ? "grammar" : "LM",
		       perr, (clock_mono_us() - t0) / 1000.0);
	}

	const struct mode modes[] = {
		{ "moonshine open", "moonshine", STT_MODE_OPEN, NULL, &open_set,
		  BUDGET_WER_MOONSHINE },
		{ "pocketsphinx LM (banking77 train)", "pocketsphinx",
		  STT_MODE_LM, lm, &open_set, 0 },
		{ "pocketsphinx grammar", "pocketsphinx", STT_MODE_GRAMMAR,
		  gram, &gram_set, BUDGET_WER_GRAMMAR },
		{ "moonshine grammar (snapped)", "moonshine", STT_MODE_GRAMMAR,
		  gram, &gram_set, BUDGET_WER_GRAMMAR },
		{ "pocketsphinx open (generic LM)", "pocketsphinx",
		  STT_MODE_OPEN, NULL, &open_set, 0 },
		/* open + the domain LM (banking77 train): beam search with
		 * shallow fusion on the own Moonshine decoder */
		{ "moonshine lm", "moonshine", STT_MODE_OPEN, NULL, &open_set,
		  BUDGET_WER_MOONSHINE, lm },
		/* the same PocketSphinx modes streamed: fed in 20 ms chunks */
		{ "pocketsphinx LM streamed", "pocketsphinx", STT_MODE_LM, lm,
		  &open_set, 0, NULL, 1 },
		{ "pocketsphinx grammar streamed", "pocketsphinx",
		  STT_MODE_GRAMMAR, gram, &gram_set, BUDGET_WER_GRAMMAR, NULL,
		  1 },
	};
	const char *only = getenv("VG_STT_BENCH_MODES"); /* "1,3": a subset */
	/* seconds of sequential decoding per mode: bounded by default when
	 * the set is built here, so `make bench` stays within its timeout */
	const char *cap = getenv("VG_STT_BENCH_MODE_S");
	double cap_s = cap ? atof(cap) : tmpdir[0] ? 8.0 : 0.0;
	rc = 0;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		const struct mode *m = &modes[i];
		char num[8];
		snprintf(num, sizeof(num), "%zu", i + 1);
		if (only && !strstr(only, num))
			continue;
		if (!stt_engine_find(s, m->engine)) {
			printf("\n%s: SKIPPED (%s not installed)\n", m->label,
			       m->engine);
			continue;
		}
		if ((m->mode != STT_MODE_OPEN && !m->grammar) ||
		    (i == 5 && !lm)) {
			printf("\n%s: SKIPPED (no grammar)\n", m->label);
			continue;
		}
		fflush(stdout);
		if (m->stream ? run_stream_mode(s, m, cap_s)
			      : run_mode(s, pool, loop, m, cap_s))
			rc = 1;
		fflush(stdout);
	}
out:
	wpool_destroy(pool);
	loop_destroy(loop);
	stt_destroy(s);
	stt_grammar_deref(lm);
	stt_grammar_deref(gram);
	set_free(&open_set);
	set_free(&gram_set);
	libre_close();
	if (tmpdir[0]) {
		char cmd[512];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "bench_stt: cannot remove %s\n",
				tmpdir);
	}
	return rc;
}
