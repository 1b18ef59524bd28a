/* Benchmark: does the recognizer's N-best list make the intent right more
 * often? Intent accuracy of the reference text, the 1-best transcript and
 * the N-best combination P(intent) = sum_h w_h P(intent | h), w the
 * softmax of the hypotheses' recognizer scores / T, for a grid of N and T.
 * usage: bench_nlu_nbest MODEL.vxn NBEST.tsv [test.tsv] [TUNE_N]
 * NBEST.tsv: what `VG_STT_BENCH_HEARD=DIR bench_stt` writes as
 * DIR/<mode>.nbest.tsv ("reference<TAB>text1<TAB>score1<TAB>text2..."),
 * references labelled from test.tsv (default data/banking77/test.tsv) as
 * bench/nlu_stt.sh does; lines whose reference is not there are skipped.
 * The first TUNE_N (default 100) labelled utterances pick N and T; the
 * rest are the held-out figures. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/nlu/classifier.h"
#include "bench_fig.h"

#define UTT_MAX 5000
#define HYP_MAX 8
#define LINE_MAX_BYTES 8192
#define NOTHING "(nothing heard)" /* as nlu_stt.sh scores an empty one */

struct utt {
	int label;   /* model label index */
	int ref_top; /* intent of the reference text */
	size_t nhyp;
	double score[HYP_MAX];
	int top[HYP_MAX]; /* intent of each hypothesis alone */
	float *probs;	  /* [HYP_MAX * nlabels] */
};

static const double temps[] = { 0.25, 0.5, 1, 2, 4, 8, 16, INFINITY };
#define NTEMPS (sizeof(temps) / sizeof(temps[0]))

/* nlu_stt.sh's norm(): lowercase, [^a-z0-9'] to a space, squeezed,
 * trimmed; in place. */
static void norm(char *s)
{
	size_t w = 0;
	bool space = true;

	for (size_t r = 0; s[r]; r++) {
		unsigned char c = (unsigned char)tolower((unsigned char)s[r]);

		if (isalnum(c) || c == '\'') {
			s[w++] = (char)c;
			space = false;
		} else if (!space) {
			s[w++] = ' ';
			space = true;
		}
	}
	if (w && s[w - 1] == ' ')
		w--;
	s[w] = '\0';
}

static int argmax(const float *p, size_t n)
{
	size_t b = 0;

	for (size_t i = 1; i < n; i++)
		if (p[i] > p[b])
			b = i;
	return (int)b;
}

/* The combined intent of u's first n hypotheses at temperature t. */
static int combine(const struct utt *u, size_t n, double t, size_t nl,
		   float *acc)
{
	double w[HYP_MAX], sum = 0;

	if (n > u->nhyp)
		n = u->nhyp;
	for (size_t h = 0; h < n; h++) {
		w[h] = isinf(t) ? 1.0 : exp((u->score[h] - u->score[0]) / t);
		sum += w[h];
	}
	memset(acc, 0, nl * sizeof(*acc));
	for (size_t h = 0; h < n; h++)
		for (size_t i = 0; i < nl; i++)
			acc[i] += (float)(w[h] / sum) * u->probs[h * nl + i];
	return argmax(acc, nl);
}

/* Share of u[from, to) whose combined intent (n, t) is right; n 0: the
 * reference text; oracle: any of the first n right. */
static double accuracy(const struct utt *u, size_t from, size_t to, size_t n,
		       double t, size_t nl, float *acc, bool oracle)
{
	size_t ok = 0;

	for (size_t i = from; i < to; i++) {
		bool right = false;

		if (n == 0)
			right = u[i].ref_top == u[i].label;
		else if (oracle)
			for (size_t h = 0; h < n && h < u[i].nhyp; h++)
				right |= u[i].top[h] == u[i].label;
		else
			right = combine(&u[i], n, t, nl, acc) == u[i].label;
		ok += right;
	}
	return to > from ? (double)ok / (double)(to - from) : 0;
}

/* Label of each normalized test sentence (linear search: 3k sentences,
 * 300 lookups). */
static int label_of(const struct nlu_dataset *ds, const struct nlu_model *m,
		    const char *ref)
{
	char buf[LINE_MAX_BYTES];

	for (size_t i = 0; i < ds->n; i++) {
		snprintf(buf, sizeof(buf), "%s", ds->text[i]);
		norm(buf);
		if (strcmp(buf, ref) == 0)
			return nlu_model_label_find(m,
						    ds->labels[ds->label[i]]);
	}
	return -ENOENT;
}

/* One NBEST.tsv line into u (hypotheses classified). 1: kept, 0: skipped
 * (reference not labelled), negative errno: malformed. */
static int parse_line(char *line, const struct nlu_dataset *ds,
		      const struct nlu_model *m, size_t nl, struct utt *u)
{
	char *f[1 + 2 * HYP_MAX], *save = NULL, *tok;
	size_t nf = 0;

	line[strcspn(line, "\r\n")] = '\0';
	/* strtok_r would merge empty fields: split by hand */
	for (tok = line; nf < sizeof(f) / sizeof(f[0]);) {
		f[nf++] = tok;
		save = strchr(tok, '\t');
		if (!save)
			break;
		*save = '\0';
		tok = save + 1;
	}
	if (nf % 2 == 0)
		return -EBADMSG; /* a text without its score */
	norm(f[0]);
	u->label = label_of(ds, m, f[0]);
	if (u->label < 0)
		return 0;
	u->probs = calloc(HYP_MAX * nl, sizeof(*u->probs));
	if (!u->probs)
		return -ENOMEM;
	if (nlu_classify_probs(m, f[0], u->probs, nl))
		return -EINVAL;
	u->ref_top = argmax(u->probs, nl);
	u->nhyp = (nf - 1) / 2;
	for (size_t h = 0; h < u->nhyp; h++) {
		char *end;
		const char *text = f[1 + 2 * h][0] ? f[1 + 2 * h] : NOTHING;

		u->score[h] = strtod(f[2 + 2 * h], &end);
		if (end == f[2 + 2 * h] || *end || !isfinite(u->score[h]))
			return -EBADMSG;
		if (nlu_classify_probs(m, text, u->probs + h * nl, nl))
			return -EINVAL;
		u->top[h] = argmax(u->probs + h * nl, nl);
	}
	if (u->nhyp == 0) { /* the engine failed: heard nothing */
		u->nhyp = 1;
		u->score[0] = 0;
		if (nlu_classify_probs(m, NOTHING, u->probs, nl))
			return -EINVAL;
		u->top[0] = argmax(u->probs, nl);
	}
	return 1;
}

static void row(const char *name, const struct utt *u, size_t tune, size_t n,
		size_t hn, double t, size_t nl, float *acc, bool oracle)
{
	printf("  %-20s tune %6.2f %%  held-out %6.2f %%  all %6.2f %%\n", name,
	       100 * accuracy(u, 0, tune, hn, t, nl, acc, oracle),
	       100 * accuracy(u, tune, n, hn, t, nl, acc, oracle),
	       100 * accuracy(u, 0, n, hn, t, nl, acc, oracle));
}

int main(int argc, char **argv)
{
	const char *test = argc > 3 ? argv[3] : "data/banking77/test.tsv";
	size_t tune = argc > 4 ? (size_t)atol(argv[4]) : 100;
	struct nlu_model *m = NULL;
	struct nlu_dataset *ds = NULL;
	struct utt *u = NULL;
	char errbuf[256] = "", *line = NULL;
	size_t n = 0, nl, lineno = 0, hist[HYP_MAX + 1] = { 0 };
	float *acc = NULL;
	FILE *f = NULL;
	int rc = 1;

	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: bench_nlu_nbest MODEL.vxn NBEST.tsv "
				"[test.tsv] [TUNE_N]\n");
		return 2;
	}
	if (nlu_model_load(argv[1], &m, errbuf, sizeof(errbuf))) {
		fprintf(stderr, "bench_nlu_nbest: %s: %s\n", argv[1], errbuf);
		goto out;
	}
	if (nlu_dataset_load(test, &ds, NULL)) {
		fprintf(stderr, "bench_nlu_nbest: cannot read %s\n", test);
		goto out;
	}
	nl = nlu_model_nlabels(m);
	u = calloc(UTT_MAX, sizeof(*u));
	acc = calloc(nl, sizeof(*acc));
	line = malloc(LINE_MAX_BYTES);
	f = fopen(argv[2], "r");
	if (!u || !acc || !line || !f) {
		fprintf(stderr, "bench_nlu_nbest: cannot read %s\n", argv[2]);
		goto out;
	}
	while (n < UTT_MAX && fgets(line, LINE_MAX_BYTES, f)) {
		int err;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			fprintf(stderr,
				"bench_nlu_nbest: %s:%zu: line too long\n",
				argv[2], lineno);
			goto out;
		}
		err = parse_line(line, ds, m, nl, &u[n]);
		if (err < 0) {
			free(u[n].probs);
			fprintf(stderr, "bench_nlu_nbest: %s:%zu: %s\n",
				argv[2], lineno,
				err == -EBADMSG ? "malformed line"
						: strerror(-err));
			goto out;
		}
		if (err == 0)
			free(u[n].probs);
		n += (size_t)err;
	}
	if (tune == 0 || tune >= n) {
		fprintf(stderr,
			"bench_nlu_nbest: %zu labelled utterances, "
			"TUNE_N %zu must be 1..%zu\n",
			n, tune, n ? n - 1 : 0);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		hist[u[i].nhyp]++;
	printf("nbest: %zu labelled utterances (%zu tune, %zu held-out); "
	       "hypotheses per utterance:",
	       n, tune, n - tune);
	for (size_t h = 1; h <= HYP_MAX; h++)
		if (hist[h])
			printf(" %zu:%zu", h, hist[h]);
	size_t other = 0;
	for (size_t i = 0; i < n; i++) {
		bool differs = false;

		for (size_t h = 1; h < u[i].nhyp; h++)
			differs |= u[i].top[h] != u[i].top[0];
		other += differs;
	}
	printf("\n  an alternative with another intent than the 1-best's: "
	       "%zu of %zu\n",
	       other, n);
	row("reference text", u, tune, n, 0, 0, nl, acc, false);
	row("1-best", u, tune, n, 1, 1, nl, acc, false);
	for (size_t hn = 2; hn <= 4; hn++) {
		char name[64];

		snprintf(name, sizeof(name), "oracle any of %zu", hn);
		row(name, u, tune, n, hn, 1, nl, acc, true);
	}
	/* the grid; the best on the tune part (ties: the smaller N, the
	 * lower T, closer to the 1-best) is the held-out figure */
	size_t best_n = 1;
	double best_t = 1,
	       best_acc = accuracy(u, 0, tune, 1, 1, nl, acc, false);
	for (size_t hn = 2; hn <= 4; hn++)
		for (size_t k = 0; k < NTEMPS; k++) {
			char name[64];
			double a = accuracy(u, 0, tune, hn, temps[k], nl, acc,
					    false);

			snprintf(name, sizeof(name), "N=%zu T=%g", hn,
				 temps[k]);
			row(name, u, tune, n, hn, temps[k], nl, acc, false);
			if (a > best_acc) {
				best_acc = a;
				best_n = hn;
				best_t = temps[k];
			}
		}
	double a1 = accuracy(u, tune, n, 1, 1, nl, acc, false);
	double ab = accuracy(u, tune, n, best_n, best_t, nl, acc, false);
	size_t fixed = 0, broken = 0;
	for (size_t i = tune; i < n; i++) {
		bool one = u[i].top[0] == u[i].label;
		bool comb =
			combine(&u[i], best_n, best_t, nl, acc) == u[i].label;

		fixed += comb && !one;
		broken += one && !comb;
	}
	printf("tuned on 0..%zu: N=%zu T=%g; held-out 1-best %.2f %%, "
	       "N-best %.2f %% (%+.2f points: %zu utterances fixed, %zu "
	       "broken)\n",
	       tune - 1, best_n, best_t, 100 * a1, 100 * ab, 100 * (ab - a1),
	       fixed, broken);
	bench_fig("nlu_nbest", "heldout_1best", a1, "accuracy", NULL, 0);
	bench_fig("nlu_nbest", "heldout_nbest", ab, "accuracy", NULL, 0);
	rc = 0;
out:
	if (f)
		fclose(f);
	for (size_t i = 0; u && i < n; i++)
		free(u[i].probs);
	free(u);
	free(acc);
	free(line);
	nlu_dataset_destroy(ds);
	nlu_model_destroy(m);
	return rc;
}
