/* Unit tests for the metrics registry: exact Prometheus text, escaping,
 * concurrent updates and quantile estimates. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/metrics.h"

static int reset(void **state)
{
	(void)state;
	metrics_reset();
	return 0;
}

static void assert_render(const char *want)
{
	size_t len = 0;
	char *got = metrics_render(&len);
	assert_non_null(got);
	assert_string_equal(got, want);
	assert_int_equal(len, strlen(want));
	free(got);
}

static void counters_and_gauges_render_as_exact_prometheus_text(void **state)
{
	(void)state;
	struct metric_counter *a = metrics_counter(
		"vg_calls_total", "reason=\"normal\"", "Calls.");
	struct metric_counter *b =
		metrics_counter("vg_calls_total", "reason=\"busy\"", "ignored");
	struct metric_gauge *g = metrics_gauge("vg_active", NULL, "Active.");
	metric_counter_add(a, 3);
	metric_counter_add(b, 1);
	metric_counter_add(a, 2);
	metric_gauge_set(g, 10);
	metric_gauge_add(g, -13);

	assert_int_equal(metric_counter_get(a), 5);
	assert_int_equal(metric_gauge_get(g), -3);
	assert_render("# HELP vg_calls_total Calls.\n"
		      "# TYPE vg_calls_total counter\n"
		      "vg_calls_total{reason=\"normal\"} 5\n"
		      "vg_calls_total{reason=\"busy\"} 1\n"
		      "# HELP vg_active Active.\n"
		      "# TYPE vg_active gauge\n"
		      "vg_active -3\n");
}

static void histogram_renders_cumulative_buckets_sum_and_count(void **state)
{
	(void)state;
	static const double bounds[] = { 0.01, 0.1, 1 };
	struct metric_histogram *h = metrics_histogram(
		"vg_lat_seconds", "op=\"w\"", "Latency.", bounds, 3);
	assert_non_null(h);
	metric_histogram_observe(h, 0.005);
	metric_histogram_observe(h, 0.01); /* le is inclusive */
	metric_histogram_observe(h, 0.5);
	metric_histogram_observe(h, 7);
	metric_histogram_observe(h, NAN); /* ignored */

	assert_int_equal(metric_histogram_count(h), 4);
	assert_render("# HELP vg_lat_seconds Latency.\n"
		      "# TYPE vg_lat_seconds histogram\n"
		      "vg_lat_seconds_bucket{op=\"w\",le=\"0.01\"} 2\n"
		      "vg_lat_seconds_bucket{op=\"w\",le=\"0.1\"} 2\n"
		      "vg_lat_seconds_bucket{op=\"w\",le=\"1\"} 3\n"
		      "vg_lat_seconds_bucket{op=\"w\",le=\"+Inf\"} 4\n"
		      "vg_lat_seconds_sum{op=\"w\"} 7.515\n"
		      "vg_lat_seconds_count{op=\"w\"} 4\n");
}

static void histogram_without_labels_and_default_buckets_renders(void **state)
{
	(void)state;
	struct metric_histogram *h =
		metrics_histogram("vg_d_seconds", NULL, "", NULL, 0);
	assert_non_null(h);
	metric_histogram_observe(h, 0.0007);
	size_t len;
	char *got = metrics_render(&len);
	assert_non_null(got);
	/* No HELP line for an empty help, le first when there are no labels. */
	assert_null(strstr(got, "# HELP"));
	assert_non_null(strstr(got, "vg_d_seconds_bucket{le=\"0.0005\"} 0\n"
				    "vg_d_seconds_bucket{le=\"0.001\"} 1\n"));
	assert_non_null(strstr(got, "vg_d_seconds_bucket{le=\"10\"} 1\n"
				    "vg_d_seconds_bucket{le=\"+Inf\"} 1\n"
				    "vg_d_seconds_sum 0.0007\n"
				    "vg_d_seconds_count 1\n"));
	free(got);
}

static void label_values_and_help_are_escaped(void **state)
{
	(void)state;
	/* A raw quote inside the value, a raw newline, a lone backslash and
	 * an already-escaped quote (kept as one escape, not doubled). */
	struct metric_counter *c = metrics_counter(
		"vg_esc_total", "from=\"a\"b\nc\\d\",to=\"x\\\"y\"",
		"Back\\slash\nnewline.");
	assert_non_null(c);
	metric_counter_add(c, 1);
	assert_render(
		"# HELP vg_esc_total Back\\\\slash\\nnewline.\n"
		"# TYPE vg_esc_total counter\n"
		"vg_esc_total{from=\"a\\\"b\\nc\\\\d\",to=\"x\\\"y\"} 1\n");
}

static void same_name_and_labels_return_the_same_series(void **state)
{
	(void)state;
	struct metric_counter *a = metrics_counter("vg_x_total", "k=\"v\"", "");
	struct metric_counter *b =
		metrics_counter("vg_x_total", " k = \"v\" ,", "");
	assert_non_null(a);
	assert_ptr_equal(a, b);
	assert_ptr_not_equal(a, metrics_counter("vg_x_total", "k=\"w\"", ""));
}

static void invalid_names_labels_and_type_clashes_return_null(void **state)
{
	(void)state;
	static const double bad[] = { 1, 0.5 };
	assert_non_null(metrics_counter("vg_t_total", NULL, ""));
	assert_null(metrics_gauge("vg_t_total", NULL, ""));
	assert_null(metrics_counter("9starts_with_digit", NULL, ""));
	assert_null(metrics_counter("has-dash", NULL, ""));
	assert_null(metrics_counter("", NULL, ""));
	assert_null(metrics_counter(NULL, NULL, ""));
	assert_null(metrics_counter("vg_l_total", "k=v", ""));
	assert_null(metrics_counter("vg_l_total", "k=\"unterminated", ""));
	assert_null(metrics_counter("vg_l_total", "__k=\"v\"", ""));
	assert_null(metrics_counter("vg_l_total", "1k=\"v\"", ""));
	assert_null(metrics_histogram("vg_h", "le=\"1\"", "", NULL, 0));
	assert_null(metrics_histogram("vg_h", NULL, "", bad, 2));
	assert_null(metrics_histogram("vg_h", NULL, "", bad, 0));
	/* Updates on NULL are no-ops, not crashes. */
	metric_counter_add(NULL, 1);
	metric_gauge_set(NULL, 1);
	metric_histogram_observe(NULL, 1);
	assert_int_equal(metric_counter_get(NULL), 0);
}

static int64_t sample_depth(void *arg)
{
	return *(int64_t *)arg;
}

static void sampled_gauge_is_read_at_render_time(void **state)
{
	(void)state;
	int64_t depth = 7;
	assert_int_equal(metrics_gauge_fn("vg_depth", "q=\"w\"", "Depth.",
					  sample_depth, &depth),
			 0);
	depth = 42;
	assert_render("# HELP vg_depth Depth.\n"
		      "# TYPE vg_depth gauge\n"
		      "vg_depth{q=\"w\"} 42\n");
	/* Not updatable as a stored gauge, and a stored one cannot be
	 * turned into a sampled one. */
	assert_null(metrics_gauge("vg_depth", "q=\"w\"", ""));
	assert_non_null(metrics_gauge("vg_depth2", NULL, ""));
	assert_int_equal(
		metrics_gauge_fn("vg_depth2", NULL, "", sample_depth, &depth),
		-EEXIST);
}

static void sampled_counter_is_read_at_render_time(void **state)
{
	(void)state;
	int64_t rejected = 3;
	assert_int_equal(metrics_counter_fn("vg_rejected_total", NULL,
					    "Refused.", sample_depth,
					    &rejected),
			 0);
	rejected = 5;
	assert_render("# HELP vg_rejected_total Refused.\n"
		      "# TYPE vg_rejected_total counter\n"
		      "vg_rejected_total 5\n");
	assert_null(metrics_counter("vg_rejected_total", NULL, ""));
	assert_non_null(metrics_counter("vg_stored_total", NULL, ""));
	assert_int_equal(metrics_counter_fn("vg_stored_total", NULL, "",
					    sample_depth, &rejected),
			 -EEXIST);
	assert_int_equal(metrics_counter_fn("vg_x_total", NULL, "", NULL, NULL),
			 -EINVAL);
}

enum { THREADS = 4, PER_THREAD = 100000 };

struct worker_arg {
	struct metric_counter *c;
	struct metric_gauge *g;
	struct metric_histogram *h;
};

static void *hammer(void *p)
{
	struct worker_arg *a = p;
	for (int i = 0; i < PER_THREAD; i++) {
		metric_counter_add(a->c, 1);
		metric_gauge_add(a->g, (i & 1) ? 1 : -1);
		metric_histogram_observe(a->h, 0.25);
	}
	return NULL;
}

static void concurrent_increments_from_four_threads_sum_correctly(void **state)
{
	(void)state;
	struct worker_arg a = {
		.c = metrics_counter("vg_conc_total", NULL, ""),
		.g = metrics_gauge("vg_conc_g", NULL, ""),
		.h = metrics_histogram("vg_conc_seconds", NULL, "", NULL, 0),
	};
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, &a), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);

	assert_int_equal(metric_counter_get(a.c), THREADS * PER_THREAD);
	assert_int_equal(metric_gauge_get(a.g), 0);
	assert_int_equal(metric_histogram_count(a.h), THREADS * PER_THREAD);
	char *txt = metrics_render(NULL);
	assert_non_null(txt);
	assert_non_null(strstr(txt, "vg_conc_total 400000\n"));
	/* 0.25 is exact in binary, so the CAS-summed total is exact too. */
	assert_non_null(strstr(txt, "vg_conc_seconds_sum 100000\n"));
	free(txt);
}

static void quantile_estimate_is_the_upper_bound_of_the_bucket(void **state)
{
	(void)state;
	static const double bounds[] = { 0.1, 0.2, 0.5, 1 };
	struct metric_histogram *h =
		metrics_histogram("vg_q_seconds", NULL, "", bounds, 4);
	assert_true(isnan(metric_histogram_quantile(h, 0.5)));
	/* 50 fast, 40 medium, 10 slow. */
	for (int i = 0; i < 50; i++)
		metric_histogram_observe(h, 0.05);
	for (int i = 0; i < 40; i++)
		metric_histogram_observe(h, 0.3);
	for (int i = 0; i < 10; i++)
		metric_histogram_observe(h, 0.9);
	assert_true(metric_histogram_quantile(h, 0.5) == 0.1);
	assert_true(metric_histogram_quantile(h, 0.51) == 0.5);
	assert_true(metric_histogram_quantile(h, 0.9) == 0.5);
	assert_true(metric_histogram_quantile(h, 0.95) == 1);
	assert_true(metric_histogram_quantile(h, 0) == 0.1);
	assert_true(isnan(metric_histogram_quantile(h, 1.5)));
	/* Beyond the last bound: the last finite bound. */
	for (int i = 0; i < 200; i++)
		metric_histogram_observe(h, 30);
	assert_true(metric_histogram_quantile(h, 0.99) == 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(
			counters_and_gauges_render_as_exact_prometheus_text,
			reset),
		cmocka_unit_test_setup(
			histogram_renders_cumulative_buckets_sum_and_count,
			reset),
		cmocka_unit_test_setup(
			histogram_without_labels_and_default_buckets_renders,
			reset),
		cmocka_unit_test_setup(label_values_and_help_are_escaped,
				       reset),
		cmocka_unit_test_setup(
			same_name_and_labels_return_the_same_series, reset),
		cmocka_unit_test_setup(
			invalid_names_labels_and_type_clashes_return_null,
			reset),
		cmocka_unit_test_setup(sampled_gauge_is_read_at_render_time,
				       reset),
		cmocka_unit_test_setup(sampled_counter_is_read_at_render_time,
				       reset),
		cmocka_unit_test_setup(
			concurrent_increments_from_four_threads_sum_correctly,
			reset),
		cmocka_unit_test_setup(
			quantile_estimate_is_the_upper_bound_of_the_bucket,
			reset),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	metrics_reset();
	return rc;
}
