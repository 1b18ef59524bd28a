/* NLU evaluation metrics (see eval.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engines/nlu/eval.h"

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void nlu_eval_destroy(struct nlu_eval *e)
{
	if (!e)
		return;
	free(e->tp);
	free(e->fp);
	free(e->fn);
	free(e->confusion);
	free(e);
}

int nlu_eval_run(const struct nlu_model *m, const struct nlu_dataset *ds,
		 struct nlu_eval **out)
{
	if (!m || !ds || !out || !ds->n)
		return -EINVAL;
	uint32_t k = (uint32_t)nlu_model_nlabels(m);
	struct nlu_eval *e = calloc(1, sizeof(*e));
	double *lat = malloc(ds->n * sizeof(*lat));
	int32_t *map = malloc(ds->nlabels * sizeof(*map));
	if (!e || !lat || !map)
		goto nomem;
	e->nlabels = k;
	e->tp = calloc(k, sizeof(*e->tp));
	e->fp = calloc(k, sizeof(*e->fp));
	e->fn = calloc(k, sizeof(*e->fn));
	e->confusion = calloc((size_t)k * k, sizeof(*e->confusion));
	if (!e->tp || !e->fp || !e->fn || !e->confusion)
		goto nomem;
	for (size_t i = 0; i < ds->nlabels; i++)
		map[i] = nlu_model_label_find(m, ds->labels[i]);

	double bin_conf[NLU_ECE_BINS] = { 0 }, bin_acc[NLU_ECE_BINS] = { 0 };
	size_t bin_n[NLU_ECE_BINS] = { 0 };
	for (size_t i = 0; i < ds->n; i++) {
		struct nlu_result r;
		double t0 = now_us();
		int err = nlu_classify(m, ds->text[i], &r);
		lat[i] = now_us() - t0;
		if (err || !r.n) {
			nlu_eval_destroy(e);
			free(lat);
			free(map);
			return err ? err : -EINVAL;
		}
		int32_t gold = map[ds->label[i]];
		uint32_t pred = r.top[0].label;
		int ok = gold >= 0 && (uint32_t)gold == pred;
		float c = r.top[0].confidence;
		int bin = (int)(c * NLU_ECE_BINS);
		bin = bin < 0		    ? 0
		      : bin >= NLU_ECE_BINS ? NLU_ECE_BINS - 1
					    : bin;
		bin_conf[bin] += c;
		bin_acc[bin] += ok;
		bin_n[bin]++;
		e->correct += ok;
		if (gold < 0) {
			e->unknown++;
			e->fp[pred]++;
			continue;
		}
		e->confusion[(size_t)gold * k + pred]++;
		if (ok) {
			e->tp[pred]++;
		} else {
			e->fp[pred]++;
			e->fn[gold]++;
		}
	}
	e->n = ds->n;
	e->accuracy = (double)e->correct / (double)e->n;
	for (int b = 0; b < NLU_ECE_BINS; b++) {
		if (bin_n[b]) {
			double d =
				(bin_acc[b] - bin_conf[b]) / (double)bin_n[b];
			e->ece += (d < 0 ? -d : d) * (double)bin_n[b] /
				  (double)e->n;
		}
	}
	/* Macro-F1 over intents present in the gold labels or predicted. */
	double f1 = 0;
	uint32_t nc = 0;
	for (uint32_t c = 0; c < k; c++) {
		uint32_t tp = e->tp[c], fp = e->fp[c], fn = e->fn[c];
		if (!tp && !fp && !fn)
			continue;
		nc++;
		if (tp)
			f1 += 2.0 * tp / (2.0 * tp + fp + fn);
	}
	e->macro_f1 = nc ? f1 / nc : 0;
	double sum = 0;
	for (size_t i = 0; i < ds->n; i++)
		sum += lat[i];
	qsort(lat, ds->n, sizeof(*lat), cmp_double);
	e->lat_mean_us = sum / (double)ds->n;
	e->lat_p50_us = lat[(ds->n - 1) / 2];
	e->lat_p99_us = lat[(size_t)((double)(ds->n - 1) * 0.99)];
	free(lat);
	free(map);
	*out = e;
	return 0;
nomem:
	nlu_eval_destroy(e);
	free(lat);
	free(map);
	return -ENOMEM;
}

struct confusion {
	uint32_t gold, pred, count;
};

static int cmp_conf(const void *a, const void *b)
{
	const struct confusion *x = a, *y = b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	if (x->gold != y->gold)
		return x->gold < y->gold ? -1 : 1;
	return (x->pred > y->pred) - (x->pred < y->pred);
}

#define TOP_CONFUSIONS 10

/* The TOP_CONFUSIONS largest off-diagonal cells, largest first. */
static size_t top_confusions(const struct nlu_eval *e, struct confusion *out)
{
	size_t n = 0;
	for (uint32_t g = 0; g < e->nlabels; g++) {
		for (uint32_t p = 0; p < e->nlabels; p++) {
			uint32_t c = e->confusion[(size_t)g * e->nlabels + p];
			if (g == p || !c)
				continue;
			struct confusion x = { g, p, c };
			if (n < TOP_CONFUSIONS) {
				out[n++] = x;
			} else if (cmp_conf(&x, &out[n - 1]) < 0) {
				out[n - 1] = x;
			} else {
				continue;
			}
			qsort(out, n, sizeof(*out), cmp_conf);
		}
	}
	return n;
}

void nlu_json_str_print(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static double ratio(uint32_t a, uint32_t b)
{
	return b ? (double)a / b : 0;
}

void nlu_eval_print(const struct nlu_eval *e, const struct nlu_model *m,
		    FILE *f, int json)
{
	struct confusion conf[TOP_CONFUSIONS];
	size_t nconf = top_confusions(e, conf);
	if (json) {
		fprintf(f,
			"{\"n\":%zu,\"accuracy\":%.4f,\"macro_f1\":%.4f,"
			"\"ece\":%.4f,\"temperature\":%.4f,"
			"\"latency_us\":{\"p50\":%.1f,\"p99\":%.1f,"
			"\"mean\":%.1f},\"per_intent\":{",
			e->n, e->accuracy, e->macro_f1, e->ece,
			nlu_model_temperature(m), e->lat_p50_us, e->lat_p99_us,
			e->lat_mean_us);
		for (uint32_t c = 0; c < e->nlabels; c++) {
			fputs(c ? "," : "", f);
			nlu_json_str_print(f, nlu_model_label(m, c));
			fprintf(f, ":{\"precision\":%.4f,\"recall\":%.4f}",
				ratio(e->tp[c], e->tp[c] + e->fp[c]),
				ratio(e->tp[c], e->tp[c] + e->fn[c]));
		}
		fprintf(f, "},\"confusions\":[");
		for (size_t i = 0; i < nconf; i++) {
			fprintf(f, "%s{\"gold\":", i ? "," : "");
			nlu_json_str_print(f, nlu_model_label(m, conf[i].gold));
			fprintf(f, ",\"predicted\":");
			nlu_json_str_print(f, nlu_model_label(m, conf[i].pred));
			fprintf(f, ",\"count\":%u}", conf[i].count);
		}
		fprintf(f, "]}\n");
		return;
	}
	fprintf(f, "%-48s %9s %9s %7s\n", "intent", "precision", "recall",
		"support");
	for (uint32_t c = 0; c < e->nlabels; c++)
		fprintf(f, "%-48s %9.3f %9.3f %7u\n", nlu_model_label(m, c),
			ratio(e->tp[c], e->tp[c] + e->fp[c]),
			ratio(e->tp[c], e->tp[c] + e->fn[c]),
			e->tp[c] + e->fn[c]);
	fprintf(f, "\ntop confusions (gold -> predicted: count)\n");
	for (size_t i = 0; i < nconf; i++)
		fprintf(f, "  %s -> %s: %u\n", nlu_model_label(m, conf[i].gold),
			nlu_model_label(m, conf[i].pred), conf[i].count);
	fprintf(f,
		"\nexamples     %zu\naccuracy     %.2f%%\nmacro-F1     "
		"%.4f\nECE (15 bins) %.4f (temperature %.3f)\n"
		"latency      p50 %.1f us, p99 %.1f us, mean %.1f us\n",
		e->n, e->accuracy * 100, e->macro_f1, e->ece,
		nlu_model_temperature(m), e->lat_p50_us, e->lat_p99_us,
		e->lat_mean_us);
}
