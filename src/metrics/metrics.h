/* Process-wide metrics: counters, gauges and histograms, rendered in the
 * Prometheus text exposition format. Updates are lock-free atomics and safe
 * from any thread; registration takes a lock (do it once, keep the pointer). */
#ifndef VG_METRICS_METRICS_H
#define VG_METRICS_METRICS_H
#include <stddef.h>
#include <stdint.h>

struct metric_counter;
struct metric_gauge;
struct metric_histogram;

/* Find or create a series. name: Prometheus metric name
 * ("voxgate_calls_total"); labels: NULL or the inside of {...}
 * ("reason=\"normal\""), copied. help is used when the family is first seen.
 * Label values are escaped on output
 * (\\ \" and newline), so a value may hold any text. Returns a pointer valid
 * until metrics_reset(); NULL on allocation failure, on an invalid name or
 * label string, or when name exists with another type (updates on NULL are
 * no-ops). */
struct metric_counter *metrics_counter(const char *name, const char *labels,
				       const char *help);
struct metric_gauge *metrics_gauge(const char *name, const char *labels,
				   const char *help);
/* bounds: ascending upper bounds in the metric's unit (seconds), nbounds <= 32;
 * NULL uses the default latency buckets (0.0005 s .. 10 s). */
struct metric_histogram *metrics_histogram(const char *name, const char *labels,
					   const char *help,
					   const double *bounds,
					   size_t nbounds);

void metric_counter_add(struct metric_counter *c, uint64_t v);
uint64_t metric_counter_get(const struct metric_counter *c);
void metric_gauge_set(struct metric_gauge *g, int64_t v);
void metric_gauge_add(struct metric_gauge *g, int64_t delta);
int64_t metric_gauge_get(const struct metric_gauge *g);
void metric_histogram_observe(struct metric_histogram *h, double v);
uint64_t metric_histogram_count(const struct metric_histogram *h);
/* Estimated quantile (0..1) from the buckets (upper bound of the bucket;
 * the last finite bound when it falls in +Inf). NaN when empty or q is out
 * of range. */
double metric_histogram_quantile(const struct metric_histogram *h, double q);

/* Gauges computed on render (e.g. worker queue depth). fn runs on the
 * rendering thread, under the registry lock: it must be thread-safe and must
 * not register metrics. Registering the same name and labels again replaces
 * fn/arg. Returns 0, -EINVAL, -EEXIST (a stored gauge has these labels),
 * -ENOMEM. */
typedef int64_t(metrics_sample_fn)(void *arg);
int metrics_gauge_fn(const char *name, const char *labels, const char *help,
		     metrics_sample_fn *fn, void *arg);
/* The same for a counter whose count lives elsewhere (e.g. a pool's
 * rejected jobs): fn returns the monotonic total. */
int metrics_counter_fn(const char *name, const char *labels, const char *help,
		       metrics_sample_fn *fn, void *arg);

/* Render all families as Prometheus text. Returns a malloc'd NUL-terminated
 * string (caller frees) or NULL on ENOMEM; *lenp gets its length. */
char *metrics_render(size_t *lenp);

/* Drop everything (tests, shutdown). Not thread-safe with updates. */
void metrics_reset(void);
#endif
