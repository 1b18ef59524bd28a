/* `voxgate simulate --html`: one self-contained page (inline CSS, inline
 * SVG drawn here, no script, no external URL) from the computed figures:
 * header, turn-latency histogram, latency against concurrency, the stages
 * against the seed's budgets, accuracy, containment, escalations and the
 * failed calls. Every text from outside is HTML-escaped; every number is
 * "%.1f" or "n/a". */
#include "sim/html.h"

#include "sim/sim_int.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef VOXGATE_VERSION
#define VOXGATE_VERSION "unknown"
#endif

#define NUM_LEN 32

/* "%.1f" of v, or "n/a" when v is not a number. */
static const char *num(char buf[NUM_LEN], double v)
{
	if (!isfinite(v))
		return "n/a";
	snprintf(buf, NUM_LEN, "%.1f", v);
	return buf;
}

/* A share 0..1 as "%.1f%%", or "n/a". */
static const char *share(char buf[NUM_LEN], double v)
{
	if (!isfinite(v))
		return "n/a";
	snprintf(buf, NUM_LEN, "%.1f%%", 100.0 * v);
	return buf;
}

static void esc(FILE *o, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		switch (*p) {
		case '&':
			fputs("&amp;", o);
			break;
		case '<':
			fputs("&lt;", o);
			break;
		case '>':
			fputs("&gt;", o);
			break;
		case '"':
			fputs("&quot;", o);
			break;
		case '\'':
			fputs("&#39;", o);
			break;
		default:
			if ((*p < 0x20 && *p != '\t' && *p != '\n') ||
			    *p == 0x7f)
				fputs("&#65533;", o);
			else
				fputc(*p, o);
		}
	}
}

/* The smallest 1, 2 or 5 times a power of ten that is >= x (x > 0). */
static double nice_ceil(double x)
{
	if (!(x > 0) || !isfinite(x))
		return 1;
	double p = pow(10, floor(log10(x)));
	double m = x / p;
	double k = m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10;
	return k * p;
}

double sim_html_hist_bins(double max_ms, size_t *nbins)
{
	double w = 1;
	if (max_ms > 0 && isfinite(max_ms))
		w = nice_ceil(max_ms / 20.0);
	if (w < 1)
		w = 1;
	size_t n = 1;
	if (max_ms > 0 && isfinite(max_ms))
		n = (size_t)ceil(max_ms / w);
	if (n < 1)
		n = 1;
	if (n > SIM_HTML_BINS_MAX)
		n = SIM_HTML_BINS_MAX;
	*nbins = n;
	return w;
}

static const char css[] =
	"body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,"
	"sans-serif;margin:0;background:#f5f6f8;color:#1d2430}\n"
	"header{background:#1d2430;color:#fff;padding:18px 28px}\n"
	"header h1{margin:0 0 8px;font-size:22px}\n"
	"header table td{padding:1px 14px 1px 0;color:#cfd6e2}\n"
	"header table td.k{color:#8d99ab}\n"
	"main{padding:8px 28px 28px;max-width:1100px}\n"
	"section{background:#fff;border-radius:8px;margin:16px 0;"
	"padding:14px 18px;box-shadow:0 1px 2px rgba(0,0,0,.08)}\n"
	"h2{font-size:17px;margin:0 0 10px}\n"
	".tiles{display:flex;flex-wrap:wrap;gap:12px}\n"
	".tile{border:1px solid #e1e5ec;border-radius:6px;padding:8px 14px;"
	"min-width:110px}\n"
	".tile .v{font-size:20px;font-weight:600}\n"
	".tile .k{font-size:12px;color:#5b6678}\n"
	".tile.bad .v{color:#c0392b}\n"
	"table.data{border-collapse:collapse;margin-top:10px;font-size:13px}\n"
	"table.data th,table.data td{border-bottom:1px solid #e6e9ef;"
	"padding:4px 10px;text-align:right}\n"
	"table.data th:first-child,table.data td:first-child,"
	"table.data td.t{text-align:left}\n"
	"table.data td.reason{text-align:left;max-width:640px;"
	"word-break:break-word}\n"
	"td.over{color:#c0392b;font-weight:600}td.ok{color:#1e8449}\n"
	"svg{display:block;max-width:100%;height:auto}\n"
	"svg text{font-size:11px;fill:#3b4556}\n"
	"svg .frame{fill:#fbfcfd;stroke:#d5dae3}\n"
	"svg .grid{stroke:#e6e9ef}\n"
	"svg .bar{fill:#4a7fc1}\n"
	"svg .mark{stroke-width:2;stroke-dasharray:5 3}\n"
	"svg .p50{stroke:#1e8449}svg .p95{stroke:#c0392b}\n"
	"svg text.p50{fill:#1e8449;stroke:none}"
	"svg text.p95{fill:#c0392b;stroke:none}\n"
	"svg polyline{fill:none;stroke-width:2.5}\n"
	"svg circle.p50{fill:#1e8449}svg circle.p95{fill:#c0392b}\n"
	"svg .goal{stroke:#7d3c98;stroke-dasharray:6 4;stroke-width:1.5}\n"
	"svg text.goal{fill:#7d3c98;stroke:none}\n"
	"svg .stage-p95{fill:#b9cfe9}svg .stage-p95.over{fill:#f1b3ab}\n"
	"svg .stage-p50{fill:#2e5f9e}\n"
	"svg .budget{stroke:#7d3c98;stroke-width:2}\n"
	"p.note{font-size:12px;color:#5b6678;margin:6px 0 0}\n";

/* ---------- header and summary ---------- */

static void header(FILE *o, const struct sim_figures *f)
{
	char b[NUM_LEN], date[64] = "n/a";
	time_t t = (time_t)f->generated_s;
	struct tm tm;
	if (gmtime_r(&t, &tm))
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", &tm);
	fputs("<header><h1>voxgate simulate: ", o);
	esc(o, f->scenario);
	fputs("</h1><table>", o);
	fputs("<tr><td class=\"k\">scenario</td><td>", o);
	esc(o, f->scenario);
	fputs("</td><td class=\"k\">target</td><td>", o);
	esc(o, f->target);
	fprintf(o,
		"</td></tr><tr><td class=\"k\">date</td><td>%s</td>"
		"<td class=\"k\">voxgate</td><td>%s</td></tr>",
		date, VOXGATE_VERSION);
	fprintf(o,
		"<tr><td class=\"k\">calls</td><td>%zu (%zu answered, "
		"%zu failed)</td>",
		f->calls, f->answered, f->failed);
	fprintf(o,
		"<td class=\"k\">wall time</td><td>%s s, concurrency "
		"%u%s</td></tr>",
		num(b, f->wall_ms / 1000.0), f->concurrency,
		f->nsweep ? " (highest sweep level)" : "");
	fputs("</table></header>\n", o);
}

static void tile(FILE *o, const char *key, const char *val, bool bad)
{
	fprintf(o, "<div class=\"tile%s\"><div class=\"v\">",
		bad ? " bad" : "");
	esc(o, val);
	fputs("</div><div class=\"k\">", o);
	esc(o, key);
	fputs("</div></div>", o);
}

static void summary(FILE *o, const struct sim_figures *f)
{
	char b[NUM_LEN], s[NUM_LEN + 8];
	fputs("<section id=\"summary\"><h2>Summary</h2><div class=\"tiles\">",
	      o);
	snprintf(s, sizeof(s), "%zu", f->calls);
	tile(o, "calls", s, false);
	snprintf(s, sizeof(s), "%zu", f->failed);
	tile(o, "failed calls", s, f->failed > 0);
	snprintf(s, sizeof(s), "%s ms", num(b, f->turn.p50));
	tile(o, "turn latency p50", s, false);
	snprintf(s, sizeof(s), "%s ms", num(b, f->turn.p95));
	tile(o, "turn latency p95", s,
	     isfinite(f->turn.p95) && f->turn.p95 > SIM_BUDGET_ROUND_TRIP_MS);
	tile(o, "intent accuracy", share(b, f->intent_accuracy), false);
	tile(o, "containment (no agent)", share(b, f->containment), false);
	fputs("</div>", o);
	fprintf(o,
		"<p class=\"note\">intent accuracy: %d of %d intent checks "
		"held; containment: %zu of %zu answered calls ended "
		"without a transfer; %zu of %zu turns heard a reply.</p>",
		f->intents_ok, f->intents_checked, f->answered - f->transferred,
		f->answered, f->replied, f->turns);
	fputs("</section>\n", o);
}

/* ---------- turn-latency histogram ---------- */

#define HW 720.0
#define HH 280.0
#define HL 60.0
#define HR 20.0
#define HT 34.0
#define HB 44.0

static void hist_marker(FILE *o, const char *cls, double v, double span,
			double y_text)
{
	char b[NUM_LEN];
	if (!isfinite(v))
		return;
	double pw = HW - HL - HR;
	double x = HL + (span > 0 ? v / span : 0) * pw;
	fprintf(o,
		"<line class=\"mark %s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		"y2=\"%.1f\"/>",
		cls, x, HT - 4, x, HH - HB);
	bool right = x > HL + pw * 0.8;
	fprintf(o,
		"<text class=\"%s\" x=\"%.1f\" y=\"%.1f\" "
		"text-anchor=\"%s\">%s %s ms</text>",
		cls, right ? x - 4 : x + 4, y_text, right ? "end" : "start",
		cls, num(b, v));
}

static void histogram(FILE *o, const struct sim_figures *f)
{
	char b[NUM_LEN], b2[NUM_LEN], b3[NUM_LEN], b4[NUM_LEN];
	double pw = HW - HL - HR, ph = HH - HT - HB;
	fputs("<section><h2>Turn latency</h2>", o);
	fprintf(o,
		"<svg id=\"chart-latency-hist\" viewBox=\"0 0 %.1f %.1f\" "
		"width=\"%.1f\" height=\"%.1f\" role=\"img\" "
		"aria-label=\"turn latency histogram\">",
		HW, HH, HW, HH);
	fprintf(o,
		"<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		"height=\"%.1f\"/>",
		HL, HT, pw, ph);
	if (!f->nturn_ms) {
		fprintf(o,
			"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
			"n/a: no turn heard a reply</text></svg>",
			HL + pw / 2, HT + ph / 2);
		fputs("</section>\n", o);
		return;
	}
	size_t nb = 0;
	double maxv = f->turn_ms[f->nturn_ms - 1];
	double w = sim_html_hist_bins(maxv, &nb);
	size_t counts[SIM_HTML_BINS_MAX] = { 0 }, cmax = 0;
	for (size_t i = 0; i < f->nturn_ms; i++) {
		double v = f->turn_ms[i];
		size_t k = v > 0 ? (size_t)(v / w) : 0;
		if (k >= nb)
			k = nb - 1;
		counts[k]++;
	}
	for (size_t k = 0; k < nb; k++)
		cmax = counts[k] > cmax ? counts[k] : cmax;
	/* y grid: 0, about half, max (whole turns) */
	for (int g = 0; g <= 2; g++) {
		size_t c = g == 2 ? cmax : g == 1 ? (cmax + 1) / 2 : 0;
		if (g == 1 && cmax < 3)
			continue;
		double y = HT + ph - (double)c / (double)cmax * ph;
		fprintf(o,
			"<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" "
			"x2=\"%.1f\" y2=\"%.1f\"/><text x=\"%.1f\" "
			"y=\"%.1f\" text-anchor=\"end\">%zu</text>",
			HL, y, HL + pw, y, HL - 6, y + 4, c);
	}
	double bw = pw / (double)nb;
	for (size_t k = 0; k < nb; k++) {
		double h = (double)counts[k] / (double)cmax * ph;
		double x = HL + (double)k * bw + 1;
		fprintf(o,
			"<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" "
			"width=\"%.1f\" height=\"%.1f\"><title>",
			x, HT + ph - h, bw > 3 ? bw - 2 : 1, h);
		fprintf(o, "%s to %s ms: %zu turns</title></rect>",
			num(b, (double)k * w), num(b2, (double)(k + 1) * w),
			counts[k]);
	}
	size_t step = (nb + 9) / 10;
	for (size_t k = 0; k <= nb; k += step)
		fprintf(o,
			"<text x=\"%.1f\" y=\"%.1f\" "
			"text-anchor=\"middle\">%s</text>",
			HL + (double)k * bw, HT + ph + 16,
			num(b, (double)k * w));
	fprintf(o,
		"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">turn "
		"latency (ms), bars of %s ms</text>",
		HL + pw / 2, HH - 6, num(b, w));
	fprintf(o,
		"<text x=\"14\" y=\"%.1f\" text-anchor=\"middle\" "
		"transform=\"rotate(-90 14 %.1f)\">turns</text>",
		HT + ph / 2, HT + ph / 2);
	double span = (double)nb * w;
	hist_marker(o, "p50", f->turn.p50, span, HT - 20);
	hist_marker(o, "p95", f->turn.p95, span, HT - 8);
	fputs("</svg>", o);
	fprintf(o,
		"<p class=\"note\">%zu replied turns: caller end of speech "
		"(or last key) to the first reply audio. p50 %s ms, p95 %s "
		"ms, p99 %s ms, max %s ms.</p>",
		f->turn.n, num(b, f->turn.p50), num(b2, f->turn.p95),
		num(b3, f->turn.p99), num(b4, f->turn.max));
	fputs("</section>\n", o);
}

/* ---------- latency against concurrency ---------- */

#define CW 720.0
#define CH 300.0
#define CL 60.0
#define CR 110.0
#define CT 24.0
#define CB 44.0

struct cpoint {
	double conc, p50, p95;
};

static void polyline(FILE *o, const char *cls, const struct cpoint *p, size_t n,
		     bool p95, double xmax, double ymax)
{
	double pw = CW - CL - CR, ph = CH - CT - CB;
	fprintf(o, "<polyline class=\"%s\" points=\"", cls);
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		double v = p95 ? p[i].p95 : p[i].p50;
		if (!isfinite(v))
			continue;
		fprintf(o, "%s%.1f,%.1f", first ? "" : " ",
			CL + p[i].conc / xmax * pw, CT + ph - v / ymax * ph);
		first = false;
	}
	fputs("\"/>", o);
	char b[NUM_LEN];
	for (size_t i = 0; i < n; i++) {
		double v = p95 ? p[i].p95 : p[i].p50;
		if (!isfinite(v))
			continue;
		fprintf(o,
			"<circle class=\"%s\" cx=\"%.1f\" cy=\"%.1f\" "
			"r=\"4\"><title>",
			cls, CL + p[i].conc / xmax * pw,
			CT + ph - v / ymax * ph);
		fprintf(o, "%s at %.0f calls: %s ms</title></circle>", cls,
			p[i].conc, num(b, v));
	}
}

static void concurrency_chart(FILE *o, const struct sim_figures *f)
{
	struct cpoint pts[SIM_SWEEP_MAX];
	size_t n = 0;
	char b[NUM_LEN];
	if (f->nsweep) {
		for (size_t i = 0; i < f->nsweep && i < SIM_SWEEP_MAX; i++)
			pts[n++] = (struct cpoint){ f->sweep[i].concurrency,
						    f->sweep[i].turn.p50,
						    f->sweep[i].turn.p95 };
	} else {
		pts[n++] = (struct cpoint){ f->concurrency, f->turn.p50,
					    f->turn.p95 };
	}
	double xmax = 1, ymax = 0;
	size_t have = 0;
	for (size_t i = 0; i < n; i++) {
		xmax = pts[i].conc > xmax ? pts[i].conc : xmax;
		if (isfinite(pts[i].p95)) {
			ymax = pts[i].p95 > ymax ? pts[i].p95 : ymax;
			have++;
		}
		if (isfinite(pts[i].p50))
			ymax = pts[i].p50 > ymax ? pts[i].p50 : ymax;
	}
	if (xmax <= 1)
		xmax = 2;
	bool goal = f->nsweep && isfinite(f->sweep_p95_ms);
	if (goal && f->sweep_p95_ms > ymax)
		ymax = f->sweep_p95_ms;
	ymax = nice_ceil(ymax > 0 ? ymax * 1.1 : 1000);
	double pw = CW - CL - CR, ph = CH - CT - CB;

	fputs("<section><h2>Latency against concurrency</h2>", o);
	fprintf(o,
		"<svg id=\"chart-latency-concurrency\" viewBox=\"0 0 %.1f "
		"%.1f\" width=\"%.1f\" height=\"%.1f\" role=\"img\" "
		"aria-label=\"turn latency against concurrent calls\">",
		CW, CH, CW, CH);
	fprintf(o,
		"<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		"height=\"%.1f\"/>",
		CL, CT, pw, ph);
	for (int g = 0; g <= 4; g++) {
		double v = ymax * g / 4.0, y = CT + ph - v / ymax * ph;
		fprintf(o,
			"<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" "
			"x2=\"%.1f\" y2=\"%.1f\"/><text x=\"%.1f\" y=\"%.1f\" "
			"text-anchor=\"end\">%s</text>",
			CL, y, CL + pw, y, CL - 6, y + 4, num(b, v));
	}
	double last_x = -100;
	for (size_t i = 0; i < n; i++) {
		double x = CL + pts[i].conc / xmax * pw;
		if (x - last_x < 22)
			continue;
		last_x = x;
		fprintf(o,
			"<text x=\"%.1f\" y=\"%.1f\" "
			"text-anchor=\"middle\">%.0f</text>",
			x, CT + ph + 16, pts[i].conc);
	}
	fprintf(o,
		"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">calls "
		"at the same time</text>",
		CL + pw / 2, CH - 6);
	fprintf(o,
		"<text x=\"14\" y=\"%.1f\" text-anchor=\"middle\" "
		"transform=\"rotate(-90 14 %.1f)\">turn latency (ms)</text>",
		CT + ph / 2, CT + ph / 2);
	if (goal) {
		double y = CT + ph - f->sweep_p95_ms / ymax * ph;
		fprintf(o,
			"<line class=\"goal\" x1=\"%.1f\" y1=\"%.1f\" "
			"x2=\"%.1f\" y2=\"%.1f\"/><text class=\"goal\" "
			"x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">goal: "
			"p95 at most %s ms</text>",
			CL, y, CL + pw, y, CL + pw - 6, y - 6,
			num(b, f->sweep_p95_ms));
	}
	if (goal && f->sweep_max_concurrency > 0) {
		double x = CL + (double)f->sweep_max_concurrency / xmax * pw;
		fprintf(o,
			"<line class=\"goal\" x1=\"%.1f\" y1=\"%.1f\" "
			"x2=\"%.1f\" y2=\"%.1f\"/><text class=\"goal\" "
			"x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">best: "
			"%ld</text>",
			x, CT, x, CT + ph, x - 4, CT + 14,
			f->sweep_max_concurrency);
	}
	if (have) {
		polyline(o, "p50", pts, n, false, xmax, ymax);
		polyline(o, "p95", pts, n, true, xmax, ymax);
	} else {
		fprintf(o,
			"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
			"n/a: no turn heard a reply</text>",
			CL + pw / 2, CT + ph / 2);
	}
	fprintf(o,
		"<line class=\"p50\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		"y2=\"%.1f\" stroke-width=\"2.5\"/><text class=\"p50\" "
		"x=\"%.1f\" y=\"%.1f\">p50</text>",
		CL + pw + 6, CT + 10, CL + pw + 26, CT + 10, CL + pw + 30,
		CT + 14);
	fprintf(o,
		"<line class=\"p95\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		"y2=\"%.1f\" stroke-width=\"2.5\"/><text class=\"p95\" "
		"x=\"%.1f\" y=\"%.1f\">p95</text>",
		CL + pw + 6, CT + 28, CL + pw + 26, CT + 28, CL + pw + 30,
		CT + 32);
	fputs("</svg>", o);
	if (!f->nsweep) {
		fputs("<p class=\"note\">One run: one point at its "
		      "concurrency. <code>--sweep 1,10,25,50,100</code> "
		      "draws one point per level.</p></section>\n",
		      o);
		return;
	}
	fputs("<table class=\"data\"><tr><th>concurrency</th><th>calls</th>"
	      "<th>failed</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th>"
	      "<th>wall s</th><th>meets goal</th></tr>",
	      o);
	for (size_t i = 0; i < f->nsweep; i++) {
		const struct sim_sweep_point *p = &f->sweep[i];
		bool ok = !p->failed && p->turn.n &&
			  p->turn.p95 <= f->sweep_p95_ms;
		fprintf(o, "<tr><td>%u</td><td>%zu</td><td>%zu</td>",
			p->concurrency, p->calls, p->failed);
		fprintf(o, "<td>%s</td>", num(b, p->turn.p50));
		fprintf(o, "<td>%s</td>", num(b, p->turn.p95));
		fprintf(o, "<td>%s</td>", num(b, p->turn.p99));
		fprintf(o, "<td>%s</td>", num(b, p->wall_ms / 1000.0));
		fprintf(o, "<td class=\"%s\">%s</td></tr>", ok ? "ok" : "over",
			ok ? "yes" : "no");
	}
	fputs("</table>", o);
	fprintf(o,
		"<p class=\"note\">Goal: p95 turn latency at or under %s ms "
		"with no failed call. ",
		num(b, f->sweep_p95_ms));
	if (f->sweep_max_concurrency >= 0)
		fprintf(o, "Highest level that met it: <b>%ld</b>.",
			f->sweep_max_concurrency);
	else
		fputs("No level met it.", o);
	if (f->sweep_stopped)
		fputs(" The sweep stopped early: more than half of the calls "
		      "of its last level failed.",
		      o);
	fputs("</p></section>\n", o);
}

/* ---------- stages against the budgets ---------- */

struct stage_row {
	const char *label;
	const struct sim_pct *p;
	double budget; /* NAN: none */
};

#define SW 720.0
#define SL 130.0
#define SR 120.0
#define ST 30.0
#define SB 40.0
#define SROW 34.0

static void stage_rows(const struct sim_figures *f, struct stage_row *r)
{
	r[0] = (struct stage_row){ "stt", &f->stage[SIM_ST_STT],
				   SIM_BUDGET_STT_MS };
	r[1] = (struct stage_row){ "nlu", &f->stage[SIM_ST_NLU],
				   SIM_BUDGET_NLU_MS };
	r[2] = (struct stage_row){ "business", &f->stage[SIM_ST_BUSINESS],
				   NAN };
	r[3] = (struct stage_row){ "tts", &f->stage[SIM_ST_TTS],
				   SIM_BUDGET_TTS_MS };
	r[4] = (struct stage_row){ "send", &f->stage[SIM_ST_SEND], NAN };
	r[5] = (struct stage_row){ "server total", &f->stage[SIM_ST_SERVER],
				   NAN };
	r[6] = (struct stage_row){ "round trip", &f->turn,
				   SIM_BUDGET_ROUND_TRIP_MS };
}

#define NROWS 7

static void stages(FILE *o, const struct sim_figures *f)
{
	struct stage_row r[NROWS];
	char b[NUM_LEN], b2[NUM_LEN];
	stage_rows(f, r);
	double xmax = 0;
	for (int i = 0; i < NROWS; i++) {
		if (isfinite(r[i].p->p95) && r[i].p->p95 > xmax)
			xmax = r[i].p->p95;
		if (isfinite(r[i].budget) && r[i].budget > xmax)
			xmax = r[i].budget;
	}
	xmax = nice_ceil(xmax * 1.05);
	double sh = ST + NROWS * SROW + SB, pw = SW - SL - SR;
	fputs("<section><h2>Where the time goes, against the budgets</h2>", o);
	fprintf(o,
		"<svg id=\"chart-stages\" viewBox=\"0 0 %.1f %.1f\" "
		"width=\"%.1f\" height=\"%.1f\" role=\"img\" "
		"aria-label=\"stage latency against budgets\">",
		SW, sh, SW, sh);
	fprintf(o,
		"<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		"height=\"%.1f\"/>",
		SL, ST, pw, NROWS * SROW);
	for (int g = 0; g <= 4; g++) {
		double v = xmax * g / 4.0, x = SL + v / xmax * pw;
		fprintf(o,
			"<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" "
			"x2=\"%.1f\" y2=\"%.1f\"/><text x=\"%.1f\" y=\"%.1f\" "
			"text-anchor=\"middle\">%s</text>",
			x, ST, x, ST + NROWS * SROW, x, ST + NROWS * SROW + 16,
			num(b, v));
	}
	fprintf(o,
		"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">ms "
		"(dark: p50, light: p95, purple line: budget)</text>",
		SL + pw / 2, sh - 6);
	for (int i = 0; i < NROWS; i++) {
		const struct sim_pct *p = r[i].p;
		double y = ST + i * SROW;
		fprintf(o,
			"<text x=\"%.1f\" y=\"%.1f\" "
			"text-anchor=\"end\">%s</text>",
			SL - 8, y + SROW / 2 + 4, r[i].label);
		if (!p->n) {
			fprintf(o, "<text x=\"%.1f\" y=\"%.1f\">n/a</text>",
				SL + 6, y + SROW / 2 + 4);
		} else {
			bool over =
				isfinite(r[i].budget) && p->p95 > r[i].budget;
			fprintf(o,
				"<rect class=\"stage-p95%s\" x=\"%.1f\" "
				"y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
				"<title>%s p95 %s ms</title></rect>",
				over ? " over" : "", SL, y + 6,
				fmax(p->p95, 0) / xmax * pw, SROW - 12,
				r[i].label, num(b, p->p95));
			fprintf(o,
				"<rect class=\"stage-p50\" x=\"%.1f\" "
				"y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
				"<title>%s p50 %s ms</title></rect>",
				SL, y + 12, fmax(p->p50, 0) / xmax * pw,
				SROW - 24, r[i].label, num(b, p->p50));
			fprintf(o, "<text x=\"%.1f\" y=\"%.1f\">%s / %s</text>",
				SL + pw + 6, y + SROW / 2 + 4, num(b, p->p50),
				num(b2, p->p95));
		}
		if (isfinite(r[i].budget)) {
			double x = SL + r[i].budget / xmax * pw;
			fprintf(o,
				"<line class=\"budget\" x1=\"%.1f\" "
				"y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\">"
				"<title>budget %s ms</title></line>",
				x, y + 2, x, y + SROW - 2, num(b, r[i].budget));
		}
	}
	fputs("</svg>", o);
	fputs("<table class=\"data\"><tr><th>stage</th><th>n</th>"
	      "<th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th>"
	      "<th>budget ms</th><th>p95 within budget</th></tr>",
	      o);
	for (int i = 0; i < NROWS; i++) {
		const struct sim_pct *p = r[i].p;
		fprintf(o, "<tr><td>%s</td><td>%zu</td>", r[i].label, p->n);
		fprintf(o, "<td>%s</td>", num(b, p->p50));
		fprintf(o, "<td>%s</td>", num(b, p->p95));
		fprintf(o, "<td>%s</td>", num(b, p->p99));
		fprintf(o, "<td>%s</td>", num(b, p->max));
		fprintf(o, "<td>%s</td>", num(b, r[i].budget));
		if (!isfinite(r[i].budget) || !p->n)
			fputs("<td>n/a</td></tr>", o);
		else if (p->p95 <= r[i].budget)
			fputs("<td class=\"ok\">yes</td></tr>", o);
		else
			fputs("<td class=\"over\">no</td></tr>", o);
	}
	fputs("</table><p class=\"note\">Server stages from voxgate's call "
	      "records (<code>t_ms</code>, needs <code>--api</code>): stt = "
	      "end of speech to final transcript, nlu, business logic, tts, "
	      "send = audio ready to first packet; round trip = what the "
	      "caller hears, end of speech to the first reply audio. "
	      "Budgets: STT 500 ms, NLP 200 ms, TTS 800 ms, round trip "
	      "1500 ms.</p></section>\n",
	      o);
}

/* ---------- escalations and failures ---------- */

static void counts_table(FILE *o, const char *what, const struct sim_count *c,
			 size_t n)
{
	fprintf(o, "<table class=\"data\"><tr><th>%s</th><th>calls</th></tr>",
		what);
	for (size_t i = 0; i < n; i++) {
		fputs("<tr><td class=\"t\">", o);
		esc(o, c[i].key);
		fprintf(o, "</td><td>%zu</td></tr>", c[i].n);
	}
	fputs("</table>", o);
}

static void escalations(FILE *o, const struct sim_figures *f)
{
	char b[NUM_LEN];
	fputs("<section id=\"escalations\"><h2>Escalations</h2>", o);
	fprintf(o,
		"<p>Containment %s: %zu of %zu answered calls were "
		"transferred to an agent.</p>",
		share(b, f->containment), f->transferred, f->answered);
	if (f->ntransfers)
		counts_table(o, "transfer target", f->transfers, f->ntransfers);
	else
		fputs("<p class=\"note\">No transfers.</p>", o);
	if (f->nend_reasons)
		counts_table(o, "end reason (call record)", f->end_reasons,
			     f->nend_reasons);
	fputs("</section>\n", o);
}

static void failures(FILE *o, const struct sim_figures *f)
{
	fprintf(o, "<section id=\"failures\"><h2>Failures (%zu)</h2>",
		f->failed);
	if (!f->failed) {
		fputs("<p class=\"note\">Every call was answered and met its "
		      "expectations.</p></section>\n",
		      o);
		return;
	}
	fputs("<table class=\"data\"><tr><th>call</th><th>call reference</th>"
	      "<th>reason</th></tr>",
	      o);
	size_t shown = 0;
	char why[5120];
	for (size_t i = 0; i < f->nres && shown < SIM_HTML_FAILURES_MAX; i++) {
		const struct sim_call_result *r = &f->res[i];
		if (!r->failed && !r->expect_fail)
			continue;
		shown++;
		sim_call_reason(r, why, sizeof(why));
		fprintf(o, "<tr><td>%llu</td><td class=\"t\">",
			(unsigned long long)r->idx);
		esc(o, r->sip_call_id);
		fputs("</td><td class=\"reason\">", o);
		esc(o, why);
		fputs("</td></tr>", o);
	}
	fputs("</table>", o);
	if (f->failed > shown)
		fprintf(o,
			"<p class=\"note\">... and %zu more failed calls "
			"(all of them are in <code>--json</code>).</p>",
			f->failed - shown);
	fputs("</section>\n", o);
}

int sim_html_print(const struct sim_figures *f, FILE *o)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
	      "charset=\"utf-8\">\n<meta name=\"viewport\" "
	      "content=\"width=device-width, initial-scale=1\">\n<title>"
	      "voxgate simulate: ",
	      o);
	esc(o, f->scenario);
	fprintf(o, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", css);
	header(o, f);
	fputs("<main>\n", o);
	summary(o, f);
	histogram(o, f);
	concurrency_chart(o, f);
	stages(o, f);
	escalations(o, f);
	failures(o, f);
	fputs("</main>\n</body>\n</html>\n", o);
	return ferror(o) ? -EIO : 0;
}

int sim_html_save(const char *path, const struct sim_figures *f)
{
	size_t len = strlen(path);
	char *tmp = malloc(len + 16);
	if (!tmp)
		return -ENOMEM;
	snprintf(tmp, len + 16, "%s.tmp.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		int e = -errno;
		free(tmp);
		return e;
	}
	(void)fchmod(fd, 0644);
	FILE *o = fdopen(fd, "w");
	if (!o) {
		int e = -errno;
		close(fd);
		unlink(tmp);
		free(tmp);
		return e;
	}
	int err = sim_html_print(f, o);
	if (!err && fflush(o))
		err = -errno;
	if (!err && fsync(fileno(o)))
		err = -errno;
	if (fclose(o) && !err)
		err = -EIO;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	free(tmp);
	return err;
}
