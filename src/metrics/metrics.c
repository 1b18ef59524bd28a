/* Process-wide metrics registry (see metrics.h): families of series kept in
 * registration order, updated with relaxed atomics, rendered as Prometheus
 * text exposition format 0.0.4 under the registry lock. */
#include "metrics/metrics.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	NAME_MAX_LEN = 128,
	HELP_MAX_LEN = 512,
	LABELS_MAX_LEN = 512,
	FAMILIES_MAX = 512,
	SERIES_MAX = 8192,
	BOUNDS_MAX = 32,
	/* A scrape larger than this means a label explosion; refuse it
	 * rather than hand a collector an unbounded document. */
	RENDER_MAX = 16 * 1024 * 1024,
};

enum family_type { FAM_COUNTER, FAM_GAUGE, FAM_HISTOGRAM };

struct metric_counter {
	atomic_uint_fast64_t v;
	metrics_sample_fn *fn; /* set: sampled at render, v unused */
	void *arg;
};

struct metric_gauge {
	atomic_int_fast64_t v;
	metrics_sample_fn *fn; /* set: sampled at render, v unused */
	void *arg;
};

struct metric_histogram {
	size_t nbounds;
	double bounds[BOUNDS_MAX];
	/* Per-bucket (not cumulative) counts; [nbounds] is the +Inf bucket.
	 * Rendering sums them, so _count always equals the +Inf bucket. */
	atomic_uint_fast64_t buckets[BOUNDS_MAX + 1];
	atomic_uint_fast64_t sum_bits; /* a double, updated by CAS */
};

struct series {
	struct series *next;
	char *labels; /* canonical: name="escaped",... or "" */
	union {
		struct metric_counter c;
		struct metric_gauge g;
		struct metric_histogram h;
	} u;
};

struct family {
	struct family *next;
	enum family_type type;
	char *name;
	char *help;
	struct series *head, *tail;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct family *g_head, *g_tail;
static unsigned g_nfamilies, g_nseries;

static const double default_bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01,
					 0.025,	 0.05,	0.1,	0.25,  0.5,
					 1,	 2.5,	5,	10 };

static bool valid_name(const char *s)
{
	if (!s || !*s || strlen(s) > NAME_MAX_LEN)
		return false;
	for (const char *p = s; *p; p++) {
		char c = *p;
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     c == '_' || c == ':';
		if (!alpha && !(p != s && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

static bool label_name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

/* Appends one byte to out (cap includes the NUL); false when full. */
static bool out_put(char *out, size_t cap, size_t *pos, char c)
{
	if (*pos + 1 >= cap)
		return false;
	out[(*pos)++] = c;
	return true;
}

/* Does the quote at p close a label value? Callers write values inside
 * quotes without escaping them, so a quote only ends the value when what
 * follows can only be the next label or the end. */
static bool closing_quote(const char *p)
{
	p++;
	while (*p == ' ')
		p++;
	return *p == '\0' || *p == ',';
}

/* Rewrite a caller's label string into canonical form with every value
 * escaped as the text format requires (\\, \", \n). Known escapes in the
 * input are decoded first, so already-escaped values are not doubled. */
static int canon_labels(const char *in, bool histogram, char *out, size_t cap)
{
	size_t pos = 0;
	const char *p = in ? in : "";

	out[0] = '\0';
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		const char *name = p;
		if (!label_name_char(*p, true))
			return -EINVAL;
		while (label_name_char(*p, false))
			p++;
		size_t nlen = (size_t)(p - name);
		if (nlen >= 2 && name[0] == '_' && name[1] == '_')
			return -EINVAL; /* reserved for Prometheus */
		if (histogram && nlen == 2 && !strncmp(name, "le", 2))
			return -EINVAL;
		while (*p == ' ')
			p++;
		if (*p++ != '=')
			return -EINVAL;
		while (*p == ' ')
			p++;
		if (*p++ != '"')
			return -EINVAL;

		if (pos && !out_put(out, cap, &pos, ','))
			return -EINVAL;
		for (size_t i = 0; i < nlen; i++)
			if (!out_put(out, cap, &pos, name[i]))
				return -EINVAL;
		if (!out_put(out, cap, &pos, '=') ||
		    !out_put(out, cap, &pos, '"'))
			return -EINVAL;

		for (;;) {
			char c = *p;
			if (!c)
				return -EINVAL; /* unterminated value */
			if (c == '"' && closing_quote(p)) {
				p++;
				break;
			}
			if (c == '\\' &&
			    (p[1] == '\\' || p[1] == '"' || p[1] == 'n')) {
				c = p[1] == 'n' ? '\n' : p[1];
				p++;
			}
			p++;
			const char *esc = c == '\\'   ? "\\\\"
					  : c == '"'  ? "\\\""
					  : c == '\n' ? "\\n"
						      : NULL;
			if (esc) {
				if (!out_put(out, cap, &pos, esc[0]) ||
				    !out_put(out, cap, &pos, esc[1]))
					return -EINVAL;
			} else if (!out_put(out, cap, &pos, c)) {
				return -EINVAL;
			}
		}
		if (!out_put(out, cap, &pos, '"'))
			return -EINVAL;
		while (*p == ' ')
			p++;
		if (*p && *p != ',')
			return -EINVAL;
	}
	out[pos] = '\0';
	return 0;
}

static struct family *family_find(const char *name)
{
	for (struct family *f = g_head; f; f = f->next)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

static struct series *series_find(struct family *f, const char *labels)
{
	for (struct series *s = f->head; s; s = s->next)
		if (!strcmp(s->labels, labels))
			return s;
	return NULL;
}

/* Find or create the family; NULL on a type clash, a bad name or a cap. */
static struct family *family_get(const char *name, enum family_type type,
				 const char *help)
{
	struct family *f = family_find(name);
	if (f)
		return f->type == type ? f : NULL;
	if (g_nfamilies >= FAMILIES_MAX)
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->type = type;
	f->name = strdup(name);
	f->help = strndup(help ? help : "", HELP_MAX_LEN);
	if (!f->name || !f->help) {
		free(f->name);
		free(f->help);
		free(f);
		return NULL;
	}
	if (g_tail)
		g_tail->next = f;
	else
		g_head = f;
	g_tail = f;
	g_nfamilies++;
	return f;
}

static struct series *series_add(struct family *f, const char *labels)
{
	if (g_nseries >= SERIES_MAX)
		return NULL;
	struct series *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->labels = strdup(labels);
	if (!s->labels) {
		free(s);
		return NULL;
	}
	if (f->tail)
		f->tail->next = s;
	else
		f->head = s;
	f->tail = s;
	g_nseries++;
	return s;
}

/* Find or create a series; *createdp tells whether it is new. Caller holds
 * g_lock. */
static struct series *series_get(const char *name, enum family_type type,
				 const char *labels, const char *help,
				 bool *createdp)
{
	char canon[LABELS_MAX_LEN];

	*createdp = false;
	if (!valid_name(name) ||
	    canon_labels(labels, type == FAM_HISTOGRAM, canon, sizeof(canon)))
		return NULL;
	struct family *f = family_get(name, type, help);
	if (!f)
		return NULL;
	struct series *s = series_find(f, canon);
	if (s)
		return s;
	*createdp = true;
	return series_add(f, canon);
}

struct metric_counter *metrics_counter(const char *name, const char *labels,
				       const char *help)
{
	bool created;
	pthread_mutex_lock(&g_lock);
	struct series *s =
		series_get(name, FAM_COUNTER, labels, help, &created);
	/* A sampled counter has no storage to update. */
	if (s && s->u.c.fn)
		s = NULL;
	pthread_mutex_unlock(&g_lock);
	return s ? &s->u.c : NULL;
}

struct metric_gauge *metrics_gauge(const char *name, const char *labels,
				   const char *help)
{
	bool created;
	pthread_mutex_lock(&g_lock);
	struct series *s = series_get(name, FAM_GAUGE, labels, help, &created);
	/* A sampled gauge has no storage to update. */
	if (s && s->u.g.fn)
		s = NULL;
	pthread_mutex_unlock(&g_lock);
	return s ? &s->u.g : NULL;
}

struct metric_histogram *metrics_histogram(const char *name, const char *labels,
					   const char *help,
					   const double *bounds, size_t nbounds)
{
	if (!bounds) {
		bounds = default_bounds;
		nbounds = sizeof(default_bounds) / sizeof(default_bounds[0]);
	}
	if (nbounds == 0 || nbounds > BOUNDS_MAX)
		return NULL;
	for (size_t i = 0; i < nbounds; i++) {
		if (!isfinite(bounds[i]) || (i && bounds[i] <= bounds[i - 1]))
			return NULL;
	}

	bool created;
	pthread_mutex_lock(&g_lock);
	struct series *s =
		series_get(name, FAM_HISTOGRAM, labels, help, &created);
	if (s && created) {
		s->u.h.nbounds = nbounds;
		memcpy(s->u.h.bounds, bounds, nbounds * sizeof(double));
	}
	pthread_mutex_unlock(&g_lock);
	return s ? &s->u.h : NULL;
}

static int sampled(enum family_type type, const char *name, const char *labels,
		   const char *help, metrics_sample_fn *fn, void *arg)
{
	if (!fn)
		return -EINVAL;
	bool created;
	int err = 0;
	pthread_mutex_lock(&g_lock);
	struct series *s = series_get(name, type, labels, help, &created);
	metrics_sample_fn **sfn = !s		      ? NULL
				  : type == FAM_GAUGE ? &s->u.g.fn
						      : &s->u.c.fn;
	if (!s) {
		err = valid_name(name) ? -ENOMEM : -EINVAL;
	} else if (!created && !*sfn) {
		err = -EEXIST; /* a stored series with these labels */
	} else {
		/* Re-registering replaces the sampler (a component restarted).
		 */
		*sfn = fn;
		if (type == FAM_GAUGE)
			s->u.g.arg = arg;
		else
			s->u.c.arg = arg;
	}
	pthread_mutex_unlock(&g_lock);
	return err;
}

int metrics_gauge_fn(const char *name, const char *labels, const char *help,
		     metrics_sample_fn *fn, void *arg)
{
	return sampled(FAM_GAUGE, name, labels, help, fn, arg);
}

int metrics_counter_fn(const char *name, const char *labels, const char *help,
		       metrics_sample_fn *fn, void *arg)
{
	return sampled(FAM_COUNTER, name, labels, help, fn, arg);
}

void metric_counter_add(struct metric_counter *c, uint64_t v)
{
	if (c)
		atomic_fetch_add_explicit(&c->v, v, memory_order_relaxed);
}

uint64_t metric_counter_get(const struct metric_counter *c)
{
	if (!c)
		return 0;
	if (c->fn)
		return (uint64_t)c->fn(c->arg);
	return atomic_load_explicit(&c->v, memory_order_relaxed);
}

void metric_gauge_set(struct metric_gauge *g, int64_t v)
{
	if (g)
		atomic_store_explicit(&g->v, v, memory_order_relaxed);
}

void metric_gauge_add(struct metric_gauge *g, int64_t delta)
{
	if (g)
		atomic_fetch_add_explicit(&g->v, delta, memory_order_relaxed);
}

int64_t metric_gauge_get(const struct metric_gauge *g)
{
	if (!g)
		return 0;
	if (g->fn)
		return g->fn(g->arg);
	return atomic_load_explicit(&g->v, memory_order_relaxed);
}

static double bits_double(uint64_t b)
{
	double d;
	memcpy(&d, &b, sizeof(d));
	return d;
}

static uint64_t double_bits(double d)
{
	uint64_t b;
	memcpy(&b, &d, sizeof(b));
	return b;
}

void metric_histogram_observe(struct metric_histogram *h, double v)
{
	if (!h || isnan(v))
		return;
	size_t i = 0;
	while (i < h->nbounds && v > h->bounds[i])
		i++;
	atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);

	uint64_t old = atomic_load_explicit(&h->sum_bits, memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(
		&h->sum_bits, &old, double_bits(bits_double(old) + v),
		memory_order_relaxed, memory_order_relaxed))
		;
}

/* One consistent-enough snapshot of the buckets; returns the total. */
static uint64_t histogram_snapshot(const struct metric_histogram *h,
				   uint64_t counts[BOUNDS_MAX + 1])
{
	uint64_t total = 0;
	for (size_t i = 0; i <= h->nbounds; i++) {
		counts[i] = atomic_load_explicit(&h->buckets[i],
						 memory_order_relaxed);
		total += counts[i];
	}
	return total;
}

uint64_t metric_histogram_count(const struct metric_histogram *h)
{
	uint64_t counts[BOUNDS_MAX + 1];
	return h ? histogram_snapshot(h, counts) : 0;
}

double metric_histogram_quantile(const struct metric_histogram *h, double q)
{
	uint64_t counts[BOUNDS_MAX + 1];
	if (!h || !(q >= 0.0 && q <= 1.0))
		return NAN;
	uint64_t total = histogram_snapshot(h, counts);
	if (!total)
		return NAN;
	double rank = ceil(q * (double)total);
	if (rank < 1)
		rank = 1;
	uint64_t cum = 0;
	for (size_t i = 0; i < h->nbounds; i++) {
		cum += counts[i];
		if ((double)cum >= rank)
			return h->bounds[i];
	}
	/* In the +Inf bucket: the best we can say is "above the last bound",
	 * which is what Prometheus' histogram_quantile() answers too. */
	return h->bounds[h->nbounds - 1];
}

/* Render buffer with a hard cap; after an overflow every append fails. */
struct rbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void rb_append(struct rbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 4096;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		if (ncap > RENDER_MAX) {
			if (b->len + n + 1 > RENDER_MAX) {
				b->failed = true;
				return;
			}
			ncap = RENDER_MAX;
		}
		char *np = realloc(b->p, ncap);
		if (!np) {
			b->failed = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void rb_str(struct rbuf *b, const char *s)
{
	rb_append(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void
rb_printf(struct rbuf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->failed = true;
		return;
	}
	rb_append(b, tmp, (size_t)n);
}

/* Shortest text that reads back as the same double (Go's strconv style,
 * which is what Prometheus itself prints). */
static void fmt_double(char *out, size_t cap, double v)
{
	if (isnan(v)) {
		snprintf(out, cap, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(out, cap, "%s", v > 0 ? "+Inf" : "-Inf");
		return;
	}
	int prec = 1;
	while (prec < 17) {
		snprintf(out, cap, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			break;
		prec++;
	}
	/* %g switches to an exponent once it runs out of digits ("1e+01"
	 * for 10); give it enough digits to print integers plainly. */
	int exp = v != 0 ? (int)floor(log10(fabs(v))) : 0;
	if (exp >= prec && exp < 21)
		prec = exp + 1;
	snprintf(out, cap, "%.*g", prec, v);
}

static void rb_help(struct rbuf *b, const struct family *f)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };

	if (f->help[0]) {
		rb_printf(b, "# HELP %s ", f->name);
		/* HELP text escapes only backslash and newline. */
		for (const char *p = f->help; *p; p++) {
			if (*p == '\\')
				rb_str(b, "\\\\");
			else if (*p == '\n')
				rb_str(b, "\\n");
			else
				rb_append(b, p, 1);
		}
		rb_str(b, "\n");
	}
	rb_printf(b, "# TYPE %s %s\n", f->name, types[f->type]);
}

/* name{labels[,extra]} with braces only when there is a label. */
static void rb_series_name(struct rbuf *b, const char *name, const char *suffix,
			   const char *labels, const char *extra)
{
	rb_str(b, name);
	rb_str(b, suffix);
	if (!labels[0] && !extra)
		return;
	rb_str(b, "{");
	rb_str(b, labels);
	if (extra) {
		if (labels[0])
			rb_str(b, ",");
		rb_str(b, extra);
	}
	rb_str(b, "}");
}

static void render_histogram(struct rbuf *b, const struct family *f,
			     const struct series *s)
{
	const struct metric_histogram *h = &s->u.h;
	uint64_t counts[BOUNDS_MAX + 1];
	uint64_t total = histogram_snapshot(h, counts);
	uint64_t cum = 0;
	char num[40], le[56];

	for (size_t i = 0; i <= h->nbounds; i++) {
		cum += counts[i];
		if (i < h->nbounds)
			fmt_double(num, sizeof(num), h->bounds[i]);
		else
			snprintf(num, sizeof(num), "+Inf");
		snprintf(le, sizeof(le), "le=\"%s\"", num);
		rb_series_name(b, f->name, "_bucket", s->labels, le);
		rb_printf(b, " %llu\n", (unsigned long long)cum);
	}
	fmt_double(num, sizeof(num),
		   bits_double(atomic_load_explicit(&h->sum_bits,
						    memory_order_relaxed)));
	rb_series_name(b, f->name, "_sum", s->labels, NULL);
	rb_printf(b, " %s\n", num);
	rb_series_name(b, f->name, "_count", s->labels, NULL);
	rb_printf(b, " %llu\n", (unsigned long long)total);
}

char *metrics_render(size_t *lenp)
{
	struct rbuf b = { 0 };

	/* Sampling functions run under the lock: they must not register
	 * metrics themselves. */
	pthread_mutex_lock(&g_lock);
	for (const struct family *f = g_head; f; f = f->next) {
		if (!f->head)
			continue;
		rb_help(&b, f);
		for (const struct series *s = f->head; s; s = s->next) {
			switch (f->type) {
			case FAM_COUNTER:
				rb_series_name(&b, f->name, "", s->labels,
					       NULL);
				rb_printf(&b, " %llu\n",
					  (unsigned long long)
						  metric_counter_get(&s->u.c));
				break;
			case FAM_GAUGE:
				rb_series_name(&b, f->name, "", s->labels,
					       NULL);
				rb_printf(&b, " %lld\n",
					  (long long)metric_gauge_get(&s->u.g));
				break;
			case FAM_HISTOGRAM:
				render_histogram(&b, f, s);
				break;
			}
		}
	}
	pthread_mutex_unlock(&g_lock);

	if (!b.failed && !b.p)
		rb_append(&b, "", 0);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	if (lenp)
		*lenp = b.len;
	return b.p;
}

void metrics_reset(void)
{
	pthread_mutex_lock(&g_lock);
	struct family *f = g_head;
	while (f) {
		struct family *fn = f->next;
		struct series *s = f->head;
		while (s) {
			struct series *sn = s->next;
			free(s->labels);
			free(s);
			s = sn;
		}
		free(f->name);
		free(f->help);
		free(f);
		f = fn;
	}
	g_head = g_tail = NULL;
	g_nfamilies = g_nseries = 0;
	pthread_mutex_unlock(&g_lock);
}
