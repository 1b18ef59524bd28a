/* Tests for the simulator's report figures and its HTML page, from results
 * built in memory (no network): the figures, the chart ids, the budgets,
 * escaping of server and caller text, "n/a" for empty series, histogram
 * bars, sweep points in HTML, JSON and text, and the atomic save. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>
#include <cmocka.h>

#include "sim/html.h"
#include "sim/sim_int.h"

static const char scenario_yaml[] = "name: test <scenario>\n"
				    "target: sip:1000@127.0.0.1:5060\n"
				    "turns:\n"
				    "  - say: I lost my card\n"
				    "    expect: {intent: lost_card}\n"
				    "  - dtmf: \"1\"\n";

struct fixture {
	struct sim_scenario *sc;
	struct sim_call_result *res;
	size_t n;
};

static struct sim_scenario *scenario(void)
{
	struct sim_scenario *sc = NULL;
	char err[SIM_ERR_MAX];
	assert_int_equal(sim_scenario_parse("t.yaml", scenario_yaml,
					    strlen(scenario_yaml), &sc, err),
			 0);
	return sc;
}

/* A CDR with one turn whose stage times are stt, +nlu, +business, +tts,
 * +send (ms from the end of speech). */
static cJSON *cdr(const char *end_reason, double stt)
{
	char buf[512];
	snprintf(buf, sizeof(buf),
		 "{\"id\":\"c1\",\"end_reason\":\"%s\",\"turns\":[{\"t_ms\":"
		 "{\"stt_final\":%.1f,\"nlu_done\":%.1f,\"response\":%.1f,"
		 "\"tts_ready\":%.1f,\"first_rtp\":%.1f}}]}",
		 end_reason, stt, stt + 10, stt + 15, stt + 115, stt + 120);
	cJSON *j = cJSON_Parse(buf);
	assert_non_null(j);
	return j;
}

static void turn(struct sim_call_result *r, size_t i, double latency)
{
	r->turns[i].ran = true;
	r->turns[i].variant = 0;
	r->turns[i].barge_stop_ms = -1;
	r->turns[i].replied = latency >= 0;
	r->turns[i].latency_ms = latency >= 0 ? latency : 0;
	if (r->nturns < i + 1)
		r->nturns = i + 1;
}

/* Four calls: two fine (one transferred), one failed with a reason full
 * of markup, one never answered. */
static void results(struct fixture *fx)
{
	fx->sc = scenario();
	fx->n = 4;
	fx->res = calloc(fx->n, sizeof(*fx->res));
	assert_non_null(fx->res);
	struct sim_call_result *r = fx->res;
	for (size_t i = 0; i < fx->n; i++) {
		r[i].idx = i;
		snprintf(r[i].sip_call_id, sizeof(r[i].sip_call_id),
			 "call-%zu@sim", i);
	}
	r[0].answered = true;
	r[0].setup_ms = 2;
	turn(&r[0], 0, 300);
	turn(&r[0], 1, 120); /* dtmf */
	r[0].cdr = cdr("completed", 150);
	r[0].intents_checked = 1;
	r[0].intents_ok = 1;

	r[1].answered = true;
	r[1].setup_ms = 3;
	turn(&r[1], 0, 700);
	turn(&r[1], 1, -1);
	r[1].cdr = cdr("transferred", 250);
	snprintf(r[1].refer_to, sizeof(r[1].refer_to),
		 "sip:agents@127.0.0.1:5070");
	r[1].intents_checked = 1;
	r[1].intents_ok = 1;

	r[2].answered = true;
	r[2].setup_ms = 4;
	turn(&r[2], 0, 1600);
	r[2].cdr = cdr("completed", 900);
	r[2].intents_checked = 1;
	r[2].expect_fail =
		strdup("turn 1 (line 4): intent <script>alert(1)</script>, "
		       "expected lost_card (transcript \"a & b\")");

	r[3].failed = true;
	r[3].sip_status = 486;
	snprintf(r[3].reason, sizeof(r[3].reason), "INVITE: 486 Busy Here");
}

static void results_free(struct fixture *fx)
{
	for (size_t i = 0; i < fx->n; i++) {
		cJSON_Delete(fx->res[i].cdr);
		free(fx->res[i].expect_fail);
	}
	free(fx->res);
	sim_scenario_destroy(fx->sc);
}

/* Render f with print(f, FILE*) into a malloc'd string. */
static char *render_html(const struct sim_figures *f)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&buf, &len);
	assert_non_null(o);
	assert_int_equal(sim_html_print(f, o), 0);
	fclose(o);
	return buf;
}

static char *render_report(const struct sim_figures *f, bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&buf, &len);
	assert_non_null(o);
	struct sim_opts opts = { .json = json };
	sim_report_print(&opts, f, o);
	fclose(o);
	return buf;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p;
	     p = strstr(p + strlen(needle), needle))
		n++;
	return n;
}

/* The text between the opening tag with id and the next "</svg>". */
static char *chart(const char *html, const char *id)
{
	char key[64];
	snprintf(key, sizeof(key), "id=\"%s\"", id);
	const char *a = strstr(html, key);
	assert_non_null(a);
	const char *b = strstr(a, "</svg>");
	assert_non_null(b);
	return strndup(a, (size_t)(b - a));
}

static void figures_from_results(void **state)
{
	(void)state;
	struct fixture fx;
	results(&fx);
	struct sim_figures f;
	assert_int_equal(
		sim_figures_compute(fx.sc, fx.res, fx.n, 2, 12345.6, &f), 0);
	assert_int_equal(f.calls, 4);
	assert_int_equal(f.answered, 3);
	assert_int_equal(f.failed, 2);
	assert_int_equal(f.transferred, 1);
	assert_int_equal(f.turns, 5);
	assert_int_equal(f.replied, 4);
	assert_int_equal(f.turn.n, 4);
	assert_int_equal(f.speech.n, 3);
	assert_int_equal(f.dtmf.n, 1);
	assert_true(f.turn.p50 == 300 && f.turn.max == 1600);
	assert_int_equal(f.nturn_ms, 4);
	assert_true(f.turn_ms[0] == 120 && f.turn_ms[3] == 1600); /* sorted */
	assert_int_equal(f.stage[SIM_ST_STT].n, 3);
	assert_true(f.stage[SIM_ST_STT].p50 == 250);
	assert_true(f.stage[SIM_ST_TTS].p50 == 100);
	assert_true(f.stage[SIM_ST_SERVER].max == 1020);
	assert_true(fabs(f.intent_accuracy - 2.0 / 3.0) < 1e-9);
	assert_true(fabs(f.containment - 2.0 / 3.0) < 1e-9);
	assert_true(isnan(f.barge.p50) && f.barge.n == 0);
	assert_int_equal(f.ntransfers, 1);
	assert_string_equal(f.transfers[0].key, "sip:agents@127.0.0.1:5070");
	assert_int_equal(f.nend_reasons, 3);
	assert_string_equal(f.end_reasons[0].key, "completed");
	assert_int_equal(f.end_reasons[0].n, 2);
	assert_string_equal(f.end_reasons[1].key, "transferred");
	assert_string_equal(f.end_reasons[2].key, "(not answered)");
	sim_figures_fini(&f);
	results_free(&fx);
}

static void html_has_charts_budgets_and_escapes(void **state)
{
	(void)state;
	struct fixture fx;
	results(&fx);
	struct sim_figures f;
	assert_int_equal(
		sim_figures_compute(fx.sc, fx.res, fx.n, 2, 12345.6, &f), 0);
	char *html = render_html(&f);
	assert_non_null(strstr(html, "<!DOCTYPE html>"));
	assert_int_equal(count(html, "id=\"chart-latency-hist\""), 1);
	assert_int_equal(count(html, "id=\"chart-latency-concurrency\""), 1);
	assert_int_equal(count(html, "id=\"chart-stages\""), 1);
	/* the seed's budgets, in the table and as lines */
	assert_non_null(strstr(html, "<td>500.0</td>"));
	assert_non_null(strstr(html, "<td>200.0</td>"));
	assert_non_null(strstr(html, "<td>800.0</td>"));
	assert_non_null(strstr(html, "<td>1500.0</td>"));
	char *st = chart(html, "chart-stages");
	assert_int_equal(count(st, "class=\"budget\""), 4);
	assert_non_null(strstr(st, "<title>budget 1500.0 ms</title>"));
	/* round trip p95 1600 > 1500: over budget */
	assert_non_null(strstr(st, "class=\"stage-p95 over\""));
	free(st);
	/* the failure text is escaped; no markup of ours leaks */
	assert_null(strstr(html, "<script"));
	assert_non_null(
		strstr(html, "intent &lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(html, "(transcript &quot;a &amp; b&quot;)"));
	assert_non_null(strstr(html, "test &lt;scenario&gt;"));
	assert_non_null(strstr(html, "INVITE: 486 Busy Here"));
	/* self-contained, no NaN */
	assert_null(strstr(html, "http"));
	assert_null(strstr(html, "href="));
	assert_null(strstr(html, "src="));
	assert_null(strstr(html, "nan"));
	/* header figures */
	assert_non_null(strstr(html, "4 (3 answered, 2 failed)"));
	assert_non_null(strstr(html, "12.3 s"));
	assert_non_null(strstr(html, VOXGATE_VERSION));
	/* shares and escalations */
	assert_non_null(strstr(html, "66.7%"));
	assert_non_null(strstr(html, "sip:agents@127.0.0.1:5070</td><td>1<"));
	assert_non_null(strstr(html, "(not answered)</td><td>1<"));
	/* barge-in has no data: never "nan" anywhere, and the histogram's
	 * p50/p95 marks are there */
	char *h = chart(html, "chart-latency-hist");
	assert_non_null(strstr(h, "class=\"mark p50\""));
	assert_non_null(strstr(h, "p95 1600.0 ms"));
	free(h);
	/* a single run: one point on each line */
	char *c = chart(html, "chart-latency-concurrency");
	assert_int_equal(count(c, "<polyline"), 2);
	assert_int_equal(count(c, "<circle"), 2);
	free(c);
	free(html);
	sim_figures_fini(&f);
	results_free(&fx);
}

static void histogram_bins_and_bars(void **state)
{
	(void)state;
	size_t n = 0;
	assert_true(sim_html_hist_bins(1000, &n) == 50);
	assert_int_equal(n, 20);
	assert_true(sim_html_hist_bins(427, &n) == 50);
	assert_int_equal(n, 9);
	assert_true(sim_html_hist_bins(0, &n) == 1);
	assert_int_equal(n, 1);
	assert_true(sim_html_hist_bins(3, &n) == 1); /* at least 1 ms */
	assert_int_equal(n, 3);
	assert_true(sim_html_hist_bins(NAN, &n) == 1);
	assert_int_equal(n, 1);
	assert_true(sim_html_hist_bins(12000, &n) == 1000);
	assert_int_equal(n, 12);
	double m = 1;
	for (int i = 0; i < 40; i++, m *= 1.7) {
		double w = sim_html_hist_bins(m, &n);
		assert_true(n >= 1 && n <= SIM_HTML_BINS_MAX);
		assert_true((double)n * w >= m);
	}

	/* fixture: max 1600 -> bars of 100 ms, 16 bars */
	struct fixture fx;
	results(&fx);
	struct sim_figures f;
	assert_int_equal(sim_figures_compute(fx.sc, fx.res, fx.n, 1, 1, &f), 0);
	char *html = render_html(&f);
	char *h = chart(html, "chart-latency-hist");
	assert_int_equal(count(h, "class=\"bar\""), 16);
	assert_non_null(strstr(h, "bars of 100.0 ms"));
	assert_non_null(strstr(h, "100.0 to 200.0 ms: 1 turns"));
	assert_non_null(strstr(h, "1500.0 to 1600.0 ms: 1 turns"));
	free(h);
	free(html);
	sim_figures_fini(&f);
	results_free(&fx);
}

static void empty_series_show_na(void **state)
{
	(void)state;
	struct sim_scenario *sc = scenario();
	struct sim_figures f;
	assert_int_equal(sim_figures_compute(sc, NULL, 0, 1, 0, &f), 0);
	char *html = render_html(&f);
	assert_int_equal(count(html, "id=\"chart-latency-hist\""), 1);
	assert_int_equal(count(html, "id=\"chart-latency-concurrency\""), 1);
	assert_int_equal(count(html, "id=\"chart-stages\""), 1);
	assert_null(strstr(html, "nan"));
	assert_null(strstr(html, "class=\"bar\""));
	assert_null(strstr(html, "<polyline"));
	assert_non_null(strstr(html, "n/a: no turn heard a reply"));
	char *st = chart(html, "chart-stages");
	assert_int_equal(count(st, ">n/a</text>"), 7);
	free(st);
	assert_non_null(strstr(html, "<td>stt</td><td>0</td><td>n/a</td>"));
	assert_non_null(strstr(html, "intent accuracy"));
	assert_true(count(html, ">n/a<") >= 2); /* accuracy, containment */
	free(html);
	/* JSON: nulls, never NaN */
	char *js = render_report(&f, true);
	cJSON *j = cJSON_Parse(js);
	assert_non_null(j);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "intent_accuracy")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(
		cJSON_GetObjectItem(j, "turn_latency_ms"), "p95")));
	assert_null(cJSON_GetObjectItem(j, "sweep"));
	cJSON_Delete(j);
	free(js);
	sim_figures_fini(&f);
	sim_scenario_destroy(sc);
}

static struct sim_pct pct(size_t n, double p50, double p95)
{
	return (struct sim_pct){ n, p50, p95, p95, p95 };
}

static void sweep_best_level(void **state)
{
	(void)state;
	struct sim_sweep_point p[5] = {
		{ .concurrency = 1, .calls = 1, .turn = pct(1, 300, 350) },
		{ .concurrency = 10, .calls = 10, .turn = pct(10, 320, 590) },
		{ .concurrency = 25, .calls = 25, .turn = pct(25, 400, 650) },
		{ .concurrency = 50,
		  .calls = 50,
		  .failed = 1,
		  .turn = pct(49, 300, 500) },
		{ .concurrency = 100, .calls = 100, .turn = pct(0, NAN, NAN) },
	};
	assert_int_equal(sim_sweep_best(p, 5, 600), 10);
	assert_int_equal(sim_sweep_best(p, 5, 650), 25);
	assert_int_equal(sim_sweep_best(p, 5, 100), -1);
	assert_int_equal(sim_sweep_best(p, 0, 600), -1);
}

static void sweep_points_in_every_report(void **state)
{
	(void)state;
	struct fixture fx;
	results(&fx);
	struct sim_figures f;
	assert_int_equal(sim_figures_compute(fx.sc, fx.res, fx.n, 25, 1, &f),
			 0);
	struct sim_sweep_point p[3] = {
		{ .concurrency = 1, .calls = 1, .turn = pct(1, 300, 350) },
		{ .concurrency = 10,
		  .calls = 10,
		  .turn = pct(10, 320, 590),
		  .active_p50 = 7.5,
		  .active_max = 10 },
		{ .concurrency = 25,
		  .calls = 25,
		  .failed = 20,
		  .turn = pct(5, 400, 650) },
	};
	for (size_t i = 0; i < 3; i++)
		for (int k = 0; k < SIM_ST_N; k++)
			p[i].stage[k] = pct(0, NAN, NAN);
	p[1].stage[SIM_ST_STT] = pct(10, 123.4, 150);
	f.sweep = p;
	f.nsweep = 3;
	f.sweep_p95_ms = 600;
	f.sweep_stopped = true;
	f.sweep_max_concurrency = sim_sweep_best(p, 3, 600);
	assert_int_equal(f.sweep_max_concurrency, 10);

	char *html = render_html(&f);
	char *c = chart(html, "chart-latency-concurrency");
	assert_int_equal(count(c, "<polyline"), 2);
	assert_int_equal(count(c, "<circle class=\"p95\""), 3);
	assert_int_equal(count(c, "<circle class=\"p50\""), 3);
	/* three points on each line */
	const char *pl = strstr(c, "<polyline class=\"p95\" points=\"");
	assert_non_null(pl);
	pl += strlen("<polyline class=\"p95\" points=\"");
	size_t commas = 0;
	for (; *pl && *pl != '"'; pl++)
		commas += *pl == ',';
	assert_int_equal(commas, 3);
	assert_non_null(strstr(c, "p95 at most 600.0 ms"));
	assert_non_null(strstr(c, ">best: 10</text>"));
	free(c);
	assert_non_null(strstr(html, "Highest level that met it: <b>10</b>"));
	assert_non_null(strstr(html, "stopped early"));
	assert_null(strstr(html, "nan"));
	free(html);

	char *js = render_report(&f, true);
	cJSON *j = cJSON_Parse(js);
	assert_non_null(j);
	const cJSON *sw = cJSON_GetObjectItem(j, "sweep");
	assert_int_equal(cJSON_GetArraySize(sw), 3);
	const cJSON *l1 = cJSON_GetArrayItem(sw, 1);
	assert_int_equal(cJSON_GetObjectItem(l1, "concurrency")->valueint, 10);
	assert_int_equal(cJSON_GetObjectItem(l1, "calls")->valueint, 10);
	assert_true(cJSON_GetObjectItem(
			    cJSON_GetObjectItem(l1, "turn_latency_ms"), "p95")
			    ->valuedouble == 590);
	assert_true(cJSON_GetObjectItem(l1, "active_p50")->valuedouble == 7.5);
	assert_int_equal(cJSON_GetObjectItem(l1, "active_max")->valueint, 10);
	assert_true(
		cJSON_GetObjectItem(
			cJSON_GetObjectItem(
				cJSON_GetObjectItem(l1, "stages_ms"), "stt"),
			"p50")
			->valuedouble == 123.4);
	assert_int_equal(
		cJSON_GetObjectItem(j, "sweep_max_concurrency")->valueint, 10);
	assert_int_equal(cJSON_GetObjectItem(j, "sweep_p95_ms")->valueint, 600);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "sweep_stopped")));
	assert_int_equal(cJSON_GetObjectItem(j, "failed")->valueint, 2);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "failures")),
			 2);
	cJSON_Delete(j);
	free(js);

	char *txt = render_report(&f, false);
	assert_non_null(strstr(txt, "concurrency sweep"));
	assert_non_null(
		strstr(txt, "     10     10      0      8    320.0    590.0"));
	assert_non_null(strstr(txt, "no failed call: 10\n"));
	assert_non_null(strstr(txt, "sweep stopped early"));
	free(txt);

	f.sweep_max_concurrency = -1;
	js = render_report(&f, true);
	j = cJSON_Parse(js);
	assert_true(
		cJSON_IsNull(cJSON_GetObjectItem(j, "sweep_max_concurrency")));
	cJSON_Delete(j);
	free(js);
	sim_figures_fini(&f);
	results_free(&fx);
}

static void failures_listed_up_to_fifty(void **state)
{
	(void)state;
	struct sim_scenario *sc = scenario();
	size_t n = 60;
	struct sim_call_result *res = calloc(n, sizeof(*res));
	assert_non_null(res);
	for (size_t i = 0; i < n; i++) {
		res[i].idx = i;
		res[i].failed = true;
		snprintf(res[i].reason, sizeof(res[i].reason), "reason %zu", i);
	}
	struct sim_figures f;
	assert_int_equal(sim_figures_compute(sc, res, n, 1, 1, &f), 0);
	char *html = render_html(&f);
	assert_int_equal(count(html, "<td class=\"reason\">"), 50);
	assert_non_null(strstr(html, ">reason 49<"));
	assert_null(strstr(html, ">reason 50<"));
	assert_non_null(strstr(html, "... and 10 more failed calls"));
	assert_non_null(strstr(html, "Failures (60)"));
	free(html);
	sim_figures_fini(&f);
	free(res);
	sim_scenario_destroy(sc);
}

/* 20 transfer targets: 15 kept, the other 5 counted under "(other)". */
static void many_keys_collect_under_other(void **state)
{
	(void)state;
	struct sim_scenario *sc = scenario();
	size_t n = 21;
	struct sim_call_result *res = calloc(n, sizeof(*res));
	assert_non_null(res);
	for (size_t i = 0; i < n; i++) {
		res[i].answered = true;
		snprintf(res[i].refer_to, sizeof(res[i].refer_to),
			 "sip:agent%zu@127.0.0.1", i < 20 ? i : 0);
	}
	struct sim_figures f;
	assert_int_equal(sim_figures_compute(sc, res, n, 1, 1, &f), 0);
	assert_int_equal(f.ntransfers, SIM_KEYS_MAX);
	assert_string_equal(f.transfers[0].key, "sip:agent0@127.0.0.1");
	assert_int_equal(f.transfers[0].n, 2);
	assert_string_equal(f.transfers[SIM_KEYS_MAX - 1].key, "(other)");
	assert_int_equal(f.transfers[SIM_KEYS_MAX - 1].n, 20 - 15);
	assert_int_equal(f.nend_reasons, 1);
	assert_string_equal(f.end_reasons[0].key, "(no CDR)");
	assert_int_equal(f.end_reasons[0].n, 21);
	assert_true(f.containment == 0);
	sim_figures_fini(&f);
	free(res);
	sim_scenario_destroy(sc);
}

static void save_is_atomic(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_html.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128], bad[128];
	snprintf(path, sizeof(path), "%s/report.html", dir);
	snprintf(bad, sizeof(bad), "%s/missing/report.html", dir);
	struct sim_scenario *sc = scenario();
	struct sim_figures f;
	assert_int_equal(sim_figures_compute(sc, NULL, 0, 1, 0, &f), 0);
	/* an old report is replaced whole */
	FILE *o = fopen(path, "w");
	assert_non_null(o);
	fputs("old", o);
	fclose(o);
	assert_int_equal(sim_html_save(path, &f), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 1000);
	assert_int_equal(st.st_mode & 0777, 0644);
	o = fopen(path, "r");
	char head[16] = "";
	assert_non_null(fgets(head, sizeof(head), o));
	fclose(o);
	assert_string_equal(head, "<!DOCTYPE html>");
	assert_int_equal(sim_html_save(bad, &f), -ENOENT);
	/* nothing else is left in the directory */
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 1", dir);
	assert_int_equal(system(cmd), 0);
	unlink(path);
	rmdir(dir);
	sim_figures_fini(&f);
	sim_scenario_destroy(sc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(figures_from_results),
		cmocka_unit_test(html_has_charts_budgets_and_escapes),
		cmocka_unit_test(histogram_bins_and_bars),
		cmocka_unit_test(empty_series_show_na),
		cmocka_unit_test(sweep_best_level),
		cmocka_unit_test(sweep_points_in_every_report),
		cmocka_unit_test(failures_listed_up_to_fifty),
		cmocka_unit_test(many_keys_collect_under_other),
		cmocka_unit_test(save_is_atomic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
