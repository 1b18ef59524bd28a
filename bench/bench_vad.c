/* VAD benchmark: every candidate detector on the labelled set built by
 * bench/vad/make_set.sh (frame-level precision / recall / F1 per condition,
 * false speech starts per minute on non-speech material, endpoint delay
 * through the default endpointer, ns per frame).
 *
 *   bench_vad [SET_DIR]   (no SET_DIR: the set is built in a temp dir)
 *
 * Environment: VAD_MIN_SPEECH_MS sets the endpointer's min_speech_ms
 * (default 120) to see what a faster barge-in costs in false starts;
 * VAD_DUMP=<item> prints one item's truth and decisions frame by frame. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audio/clip.h"
#include "audio/vad.h"
#include "bench_fig.h"
#include "engines/stt/sherpa/sherpa.h"

/* 1000 calls at 50 frames/s within a tenth of one core: 2 us per frame. */
#define BUDGET_NS_FRAME 2000.0
#define MAX_ITEMS 256
#define MAX_FRAMES (8000 * 120 / AUDIO_FRAME_SAMPLES) /* 2 min per item */

struct item {
	char name[160];
	char cond[48];
	int16_t *pcm;
	unsigned char *lab;
	size_t nframes;
};

static struct item items[MAX_ITEMS];
static size_t nitems;

/* ---- the candidates ---- */

struct cand {
	const char *name;
	int (*open)(void **st, int param);
	/* 1 speech, 0 not, negative on failure */
	int (*frame)(void *st, const int16_t *pcm);
	void (*close)(void *st);
	int param;
};

static int vg_open(void **st, int aggr)
{
	struct vad_cfg c = { .aggressiveness = (unsigned)aggr };
	return vad_create((struct vad **)st, &c);
}

static int vg_frame(void *st, const int16_t *pcm)
{
	return vad_process(st, pcm) >= 0.5f;
}

static void vg_close(void *st)
{
	vad_destroy(st);
}

/* The plain baseline: frame RMS above a fixed level (param: dBFS). */
static int energy_open(void **st, int dbfs)
{
	static double thr[1];
	/* mean square of a full-scale sine is 0.5 * 32768^2 */
	thr[0] = 0.5 * 32768.0 * 32768.0 * pow(10.0, dbfs / 10.0);
	*st = thr;
	return 0;
}

static int energy_frame(void *st, const int16_t *pcm)
{
	double e = 0.0;
	for (int i = 0; i < AUDIO_FRAME_SAMPLES; i++)
		e += (double)pcm[i] * pcm[i];
	return e / AUDIO_FRAME_SAMPLES > *(double *)st;
}

static void energy_close(void *st)
{
	(void)st;
}

static int silero_open(void **st, int param)
{
	(void)param;
	/* min_silence 100 ms like the truth's gap filling; min_speech 60 ms
	 * (the endpointer confirms speech itself). */
	return sherpa_vad_create((struct sherpa_vad **)st, NULL, 0.5f, 100, 60);
}

static int silero_frame(void *st, const int16_t *pcm)
{
	return sherpa_vad_frame(st, pcm);
}

static void silero_close(void *st)
{
	sherpa_vad_destroy(st);
}

static const struct cand cands[] = {
	{ "energy-45dBFS", energy_open, energy_frame, energy_close, -45 },
	{ "voxgate-a0", vg_open, vg_frame, vg_close, 0 },
	{ "voxgate-a1", vg_open, vg_frame, vg_close, 1 },
	{ "voxgate-a2", vg_open, vg_frame, vg_close, 2 },
	{ "voxgate-a3", vg_open, vg_frame, vg_close, 3 },
	{ "silero-v5", silero_open, silero_frame, silero_close, 0 },
};

/* ---- loading the set ---- */

static void *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n < cap)
			break;
		if (cap >= (size_t)64 << 20) { /* no item is this long */
			free(buf);
			buf = NULL;
			break;
		}
		char *nb = realloc(buf, cap * 2);
		if (!nb) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = nb;
		cap *= 2;
	}
	fclose(f);
	if (buf)
		*len = n;
	return buf;
}

static int load_item(const char *dir, const char *file)
{
	struct item *it = &items[nitems];
	char path[1024];
	size_t len, llen;
	size_t base = strlen(file) - 4; /* ".raw" */

	if (nitems >= MAX_ITEMS || base >= sizeof(it->name))
		return -E2BIG;
	memcpy(it->name, file, base);
	it->name[base] = '\0';
	const char *sep = strstr(it->name, "__");
	size_t cl = sep ? (size_t)(sep - it->name) : base;
	if (cl >= sizeof(it->cond))
		cl = sizeof(it->cond) - 1;
	memcpy(it->cond, it->name, cl);
	it->cond[cl] = '\0';

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	it->pcm = read_all(path, &len);
	snprintf(path, sizeof(path), "%s/%s.lab", dir, it->name);
	char *lab = read_all(path, &llen);
	if (!it->pcm || !lab) {
		free(it->pcm);
		free(lab);
		return -EIO;
	}
	it->nframes = len / (AUDIO_FRAME_SAMPLES * 2);
	if (it->nframes > MAX_FRAMES)
		it->nframes = MAX_FRAMES;
	it->lab = calloc(it->nframes ? it->nframes : 1, 1);
	size_t f = 0;
	for (size_t i = 0; i < llen && f < it->nframes && it->lab; i++)
		if (lab[i] == '0' || lab[i] == '1')
			it->lab[f++] = (unsigned char)(lab[i] == '1');
	free(lab);
	if (!it->lab)
		return -ENOMEM;
	nitems++;
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int load_set(const char *dir)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, by_name);
	if (n < 0)
		return -errno;
	int err = 0;
	for (int i = 0; i < n; i++) {
		size_t l = strlen(ents[i]->d_name);
		if (!err && l > 4 && !strcmp(ents[i]->d_name + l - 4, ".raw"))
			err = load_item(dir, ents[i]->d_name);
		free(ents[i]);
	}
	free(ents);
	return err ? err : nitems ? 0 : -ENOENT;
}

static bool is_speech_cond(const char *cond)
{
	return !strncmp(cond, "speech", 6);
}

/* ---- measuring ---- */

struct counts {
	size_t tp, fp, fn, tn;
	size_t starts; /* EP_SPEECH_START on non-speech material */
	size_t frames;
};

#define MAX_DELAYS 4096
static unsigned delays[MAX_DELAYS], onsets[MAX_DELAYS];
static size_t ndelays, nonsets, nutts, nfound;

static int cmp_u(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return x < y ? -1 : x > y;
}

static unsigned pct(unsigned *v, size_t n, unsigned p)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(v[0]), cmp_u);
	size_t i = (n * p + 99) / 100;
	return v[i ? i - 1 : 0];
}

/* The truth's utterances: runs of speech frames with gaps shorter than the
 * endpointer's trailing silence merged. One is found when any of its frames
 * lies inside an endpointer turn (speech start .. end); its start latency is
 * from its first frame to a speech start event within it. */
static void score_onsets(const struct item *it, const unsigned char *in_turn,
			 const uint32_t *start_at, size_t nstart)
{
	const size_t gap = 300 / AUDIO_FRAME_MS;
	size_t f = 0;
	while (f < it->nframes) {
		if (!it->lab[f]) {
			f++;
			continue;
		}
		size_t s = f, e = f, zeros = 0;
		for (f = s; f < it->nframes && zeros < gap; f++) {
			if (it->lab[f]) {
				e = f;
				zeros = 0;
			} else {
				zeros++;
			}
		}
		nutts++;
		for (size_t g = s; g <= e; g++) {
			if (in_turn[g]) {
				nfound++;
				break;
			}
		}
		for (size_t i = 0; i < nstart; i++) {
			/* a start up to 100 ms early still counts (pre-roll) */
			if (start_at[i] + 5 >= s && start_at[i] <= e) {
				if (nonsets < MAX_DELAYS)
					onsets[nonsets++] =
						start_at[i] + 1 >= s
							? (unsigned)(start_at[i] +
								     1 - s) *
								  AUDIO_FRAME_MS
							: 0;
				break;
			}
		}
		f = e + 1;
	}
}

/* CPU time of this thread: the box is shared and noisy, so wall time would
 * count other processes' slices. */
static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* VAD_DUMP=<item name>: print its truth and the candidate's decisions, one
 * character per frame, to look at where they differ. */
static void dump(const struct cand *c, const struct item *it,
		 const unsigned char *dec)
{
	const char *want = getenv("VAD_DUMP");
	if (!want || strcmp(want, it->name))
		return;
	printf("  truth %-12s ", "");
	for (size_t f = 0; f < it->nframes; f++)
		putchar(it->lab[f] ? '1' : '.');
	printf("\n  dec   %-12s ", c->name);
	for (size_t f = 0; f < it->nframes; f++)
		putchar(dec[f] ? '1' : '.');
	putchar('\n');
}

static int run_item(const struct cand *c, const struct item *it,
		    struct counts *k, uint64_t *ns)
{
	void *st = NULL;
	struct endpointer *ep = NULL;
	int err = c->open(&st, c->param);
	if (err)
		return err;
	struct endpoint_cfg ecfg;
	endpoint_cfg_default(&ecfg);
	const char *ms = getenv("VAD_MIN_SPEECH_MS");
	if (ms)
		ecfg.min_speech_ms = (unsigned)strtoul(ms, NULL, 10);
	err = endpoint_create(&ep, &ecfg);
	if (err) {
		c->close(st);
		return err;
	}
	static unsigned char dec[MAX_FRAMES];
	uint64_t t0 = cpu_ns();
	for (size_t f = 0; f < it->nframes; f++) {
		int d = c->frame(st, it->pcm + f * AUDIO_FRAME_SAMPLES);
		if (d < 0) {
			err = d;
			goto out;
		}
		dec[f] = (unsigned char)d;
	}
	*ns += cpu_ns() - t0;

	static uint32_t start_at[MAX_FRAMES];
	static unsigned char in_turn[MAX_FRAMES];
	size_t nstart = 0, last_true = SIZE_MAX;
	for (size_t f = 0; f < it->nframes; f++) {
		bool truth = it->lab[f];
		k->tp += dec[f] && truth;
		k->fp += dec[f] && !truth;
		k->fn += !dec[f] && truth;
		k->tn += !dec[f] && !truth;
		if (truth)
			last_true = f;
		enum endpoint_event ev =
			endpoint_feed(ep, it->pcm + f * AUDIO_FRAME_SAMPLES,
				      dec[f] ? 1.0f : 0.0f);
		in_turn[f] = ev == EP_SPEECH_START || ev == EP_SPEECH_END ||
			     ev == EP_MAX_SPEECH || endpoint_in_speech(ep);
		if (ev == EP_SPEECH_START) {
			k->starts++;
			start_at[nstart++] = (uint32_t)f;
		} else if (ev == EP_SPEECH_END && last_true != SIZE_MAX &&
			   ndelays < MAX_DELAYS && is_speech_cond(it->cond)) {
			delays[ndelays++] =
				(unsigned)(f - last_true) * AUDIO_FRAME_MS;
		}
		if (ev != EP_NONE && ev != EP_SPEECH_START)
			endpoint_start(ep, NULL);
	}
	k->frames += it->nframes;
	dump(c, it, dec);
	if (is_speech_cond(it->cond))
		score_onsets(it, in_turn, start_at, nstart);
out:
	endpoint_destroy(ep);
	c->close(st);
	return err;
}

static double ratio(size_t a, size_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

static void print_counts(const char *what, const struct counts *k, bool speech)
{
	double minutes = (double)k->frames * AUDIO_FRAME_MS / 60000.0;
	if (speech) {
		double p = ratio(k->tp, k->tp + k->fp);
		double r = ratio(k->tp, k->tp + k->fn);
		printf("    %-14s P %.3f  R %.3f  F1 %.3f\n", what, p, r,
		       p + r > 0 ? 2 * p * r / (p + r) : 0.0);
	} else {
		printf("    %-14s speech frames %5.1f %%  false starts "
		       "%5.1f /min\n",
		       what, 100.0 * ratio(k->fp, k->frames),
		       minutes > 0 ? (double)k->starts / minutes : 0.0);
	}
}

static int bench_cand(const struct cand *c)
{
	static const char *conds[16];
	static struct counts per[16];
	size_t nconds = 0;
	struct counts sp = { 0 }, ns_total = { 0 };
	uint64_t ns = 0;
	size_t frames = 0;

	memset(per, 0, sizeof(per));
	ndelays = nonsets = nutts = nfound = 0;
	for (size_t i = 0; i < nitems; i++) {
		size_t j;
		for (j = 0; j < nconds; j++)
			if (!strcmp(conds[j], items[i].cond))
				break;
		if (j == nconds) {
			if (nconds == 16)
				continue;
			conds[nconds++] = items[i].cond;
		}
		int err = run_item(c, &items[i], &per[j], &ns);
		if (err) {
			printf("%s: unavailable (%s)\n", c->name,
			       strerror(-err));
			return err;
		}
		frames += items[i].nframes;
	}
	printf("%s\n", c->name);
	for (size_t j = 0; j < nconds; j++) {
		bool speech = is_speech_cond(conds[j]);
		print_counts(conds[j], &per[j], speech);
		struct counts *t = speech ? &sp : &ns_total;
		t->tp += per[j].tp, t->fp += per[j].fp;
		t->fn += per[j].fn, t->tn += per[j].tn;
		t->starts += per[j].starts, t->frames += per[j].frames;
	}
	print_counts("all speech", &sp, true);
	print_counts("all non-speech", &ns_total, false);
	printf("    utterances found %zu/%zu, start latency p50 %u p95 %u ms, "
	       "end delay p50 %u p95 %u ms (trailing silence 300)\n",
	       nfound, nutts, pct(onsets, nonsets, 50),
	       pct(onsets, nonsets, 95), pct(delays, ndelays, 50),
	       pct(delays, ndelays, 95));
	double per_frame = frames ? (double)ns / (double)frames : 0.0;
	printf("    %-14s %8.0f ns/frame  budget %6.0f  ratio %5.2f%s\n",
	       "cost", per_frame, BUDGET_NS_FRAME, per_frame / BUDGET_NS_FRAME,
	       per_frame > BUDGET_NS_FRAME ? "  OVER" : "");
	char fig[96];
	double p = ratio(sp.tp, sp.tp + sp.fp), r = ratio(sp.tp, sp.tp + sp.fn);
	snprintf(fig, sizeof(fig), "%s F1", c->name);
	bench_fig("vad", fig, p + r > 0 ? 2 * p * r / (p + r) : 0.0, "ratio",
		  NULL, 0);
	snprintf(fig, sizeof(fig), "%s cost", c->name);
	bench_fig("vad", fig, per_frame, "ns/frame", "<=", BUDGET_NS_FRAME);
	return 0;
}

static void remove_item(const char *dir, const char *name)
{
	char p[1024];
	if (snprintf(p, sizeof(p), "%s/%s.raw", dir, name) < (int)sizeof(p))
		unlink(p);
	if (snprintf(p, sizeof(p), "%s/%s.lab", dir, name) < (int)sizeof(p))
		unlink(p);
}

int main(int argc, char **argv)
{
	char tmp[] = "/tmp/vg-vadset-XXXXXX";
	const char *dir = argc > 1 ? argv[1] : NULL;
	bool made = false;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [SET_DIR]\n", argv[0]);
		return 2;
	}
	if (!dir) {
		if (!mkdtemp(tmp)) {
			perror("mkdtemp");
			return 1;
		}
		char cmd[1024];
		snprintf(cmd, sizeof(cmd), "'%s/../bench/vad/make_set.sh' '%s'",
			 VG_DEPS_DIR, tmp);
		made = true;
		dir = tmp;
		if (system(cmd) != 0) {
			fprintf(stderr, "bench_vad: make_set.sh failed\n");
			snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
			if (system(cmd) != 0)
				fprintf(stderr, "bench_vad: left %s\n", tmp);
			return 1;
		}
	}
	int err = load_set(dir);
	if (err) {
		fprintf(stderr, "bench_vad: cannot load %s: %s\n", dir,
			strerror(-err));
		return 1;
	}
	size_t frames = 0;
	for (size_t i = 0; i < nitems; i++)
		frames += items[i].nframes;
	printf("set: %s, %zu items, %.1f min\n", dir, nitems,
	       (double)frames * AUDIO_FRAME_MS / 60000.0);

	int rc = 0;
	for (size_t c = 0; c < sizeof(cands) / sizeof(cands[0]); c++) {
		if (cands[c].open == silero_open && sherpa_load(NULL) != 0) {
			printf("silero: unavailable\n");
			continue;
		}
		if (bench_cand(&cands[c]) != 0 && cands[c].open != silero_open)
			rc = 1;
	}
	for (size_t i = 0; i < nitems; i++) {
		if (made)
			remove_item(dir, items[i].name);
		free(items[i].pcm);
		free(items[i].lab);
	}
	if (made && rmdir(dir) != 0)
		fprintf(stderr, "bench_vad: left %s\n", dir);
	return rc;
}
