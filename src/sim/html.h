/* `voxgate simulate --html`: the report as one self-contained HTML page
 * (inline CSS and SVG, no script, no external URL) made from the same
 * figures as the text and JSON reports (sim_int.h). docs/SIMULATOR.md. */
#ifndef VG_SIM_HTML_H
#define VG_SIM_HTML_H

#include <stddef.h>
#include <stdio.h>

struct sim_figures;

/* The seed's budgets the stage chart draws (ms). */
#define SIM_BUDGET_STT_MS 500.0
#define SIM_BUDGET_NLU_MS 200.0
#define SIM_BUDGET_TTS_MS 800.0
#define SIM_BUDGET_ROUND_TRIP_MS 1500.0

#define SIM_HTML_BINS_MAX 25	 /* histogram bars at most */
#define SIM_HTML_FAILURES_MAX 50 /* failed calls listed */

/* Histogram of latencies 0..max_ms: the width of a bar in ms (1, 2 or 5
 * times a power of ten, at least 1) and *nbins, the number of bars that
 * cover 0..max_ms (1..SIM_HTML_BINS_MAX). Pure. */
double sim_html_hist_bins(double max_ms, size_t *nbins);

/* Write the page for f to out. Returns 0, or -EIO when a write failed. */
int sim_html_print(const struct sim_figures *f, FILE *out);

/* Write the page to path atomically: a temporary file in the same
 * directory, flushed, then renamed over path. Returns 0 or -errno (the
 * temporary file is removed on failure). */
int sim_html_save(const char *path, const struct sim_figures *f);

#endif
