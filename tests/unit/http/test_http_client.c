/* The outgoing HTTP client and webhooks against a real server on 127.0.0.1
 * (tests/unit/http/testsrv.h): the client lives on a web loop thread and
 * completions come back on a second loop, as in the daemon. */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <re.h>

#include "core/clock.h"
#include "core/loop.h"
#include "http/client.h"
#include "metrics/metrics.h"
#include "testsrv.h"
#include "loop_sync.h"

static struct vg_loop *g_web, *g_reply;
static struct tsrv g_srv;

struct create_args {
	struct http_client *c;
	struct http_client_opts opts;
	bool use_opts;
	int err;
};

static void do_create(void *arg)
{
	struct create_args *a = arg;

	a->err =
		http_client_create(&a->c, g_web, a->use_opts ? &a->opts : NULL);
}

static void do_destroy(void *arg)
{
	http_client_destroy(arg);
}

static struct http_client *client_new(const struct http_client_opts *o)
{
	struct create_args a = { .use_opts = o != NULL };

	if (o)
		a.opts = *o;
	run_on_loop(g_web, do_create, &a);
	assert_int_equal(a.err, 0);
	assert_non_null(a.c);
	return a.c;
}

static void client_del(struct http_client *c)
{
	run_on_loop(g_web, do_destroy, c);
}

struct state_args {
	struct http_client *c;
	char host[64];
	int state;
};

static void do_state(void *arg)
{
	struct state_args *a = arg;

	a->state = http_client_breaker_state(a->c, a->host);
}

static int breaker_state(struct http_client *c, uint16_t port)
{
	struct state_args a = { .c = c };

	snprintf(a.host, sizeof(a.host), "127.0.0.1:%u", port);
	run_on_loop(g_web, do_state, &a);
	return a.state;
}

/* ---------- completions ---------- */

struct waiter {
	sem_t sem;
	struct http_resp resp;
	char *body;
	bool on_reply_loop;
	int calls;
};

static void on_done(const struct http_resp *r, void *arg)
{
	struct waiter *w = arg;

	w->resp = *r;
	w->body = malloc(r->body_len + 1);
	assert_non_null(w->body);
	memcpy(w->body, r->body, r->body_len + 1);
	w->resp.body = w->body;
	w->on_reply_loop = loop_is_current(g_reply);
	w->calls++;
	sem_post(&w->sem);
}

static void waiter_init(struct waiter *w)
{
	memset(w, 0, sizeof(*w));
	sem_init(&w->sem, 0, 0);
}

/* Wait at most ms for the completion; false on timeout. */
static bool waiter_wait(struct waiter *w, unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return sem_timedwait(&w->sem, &ts) == 0;
}

static void waiter_fini(struct waiter *w)
{
	free(w->body);
	sem_destroy(&w->sem);
}

static char g_url[256];

static const char *url(const char *path)
{
	snprintf(g_url, sizeof(g_url), "http://127.0.0.1:%u%s", g_srv.port,
		 path);
	return g_url;
}

/* Submit a GET and wait for its completion. */
static void get(struct http_client *c, const char *path, unsigned timeout_ms,
		unsigned retries, struct waiter *w)
{
	struct http_req req = { .method = "GET",
				.url = url(path),
				.timeout_ms = timeout_ms,
				.retries = retries,
				.tag = "test" };

	waiter_init(w);
	assert_int_equal(http_client_submit(c, &req, g_reply, on_done, w), 0);
	assert_true(waiter_wait(w, 10000));
	assert_int_equal(w->calls, 1);
	assert_true(w->on_reply_loop);
}

static uint64_t counter(const char *name, const char *labels)
{
	return metric_counter_get(metrics_counter(name, labels, "x"));
}

/* ---------- fixtures ---------- */

static int group_setup(void **state)
{
	(void)state;
	if (libre_init())
		return -1;
	if (loop_create(&g_web, "web") || loop_start(g_web))
		return -1;
	if (loop_create(&g_reply, "reply") || loop_start(g_reply))
		return -1;
	return tsrv_start(&g_srv) ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	tsrv_stop(&g_srv);
	loop_destroy(g_reply);
	loop_destroy(g_web);
	libre_close();
	metrics_reset();
	return 0;
}

static int test_setup(void **state)
{
	(void)state;
	tsrv_reset_counts(&g_srv);
	return 0;
}

/* ---------- tests ---------- */

static void get_returns_status_and_body_on_the_reply_loop(void **state)
{
	struct http_client *c = client_new(NULL);
	uint64_t before =
		counter("voxgate_http_client_requests_total", "result=\"2xx\"");
	struct waiter w;

	(void)state;
	get(c, "/ok", 2000, 0, &w);
	assert_int_equal(w.resp.err, 0);
	assert_int_equal(w.resp.status, 200);
	assert_int_equal(w.resp.body_len, 5);
	assert_string_equal(w.resp.body, "hello");
	assert_int_equal(w.resp.tries, 1);
	assert_true(w.resp.elapsed_us > 0);
	assert_int_equal(
		counter("voxgate_http_client_requests_total", "result=\"2xx\""),
		before + 1);
	waiter_fini(&w);
	client_del(c);
}

static void post_sends_method_headers_and_body(void **state)
{
	struct http_client *c = client_new(NULL);
	const char *names[] = { "Content-Type", "X-Trace" };
	const char *values[] = { "application/json", "abc 123" };
	static const char body[] = "{\"a\":1,\"b\":\"two\"}";
	const char *methods[] = { "POST", "PUT", "PATCH", "DELETE" };
	char hv[64];

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		struct http_req req = { .method = methods[i],
					.url = url("/echo"),
					.header_names = names,
					.header_values = values,
					.nheaders = 2,
					.body = body,
					.body_len = strlen(body) };
		struct waiter w;

		waiter_init(&w);
		assert_int_equal(
			http_client_submit(c, &req, g_reply, on_done, &w), 0);
		assert_true(waiter_wait(&w, 5000));
		assert_int_equal(w.resp.err, 0);
		assert_int_equal(w.resp.status, 200);
		assert_string_equal(w.resp.body, body);
		pthread_mutex_lock(&g_srv.mtx);
		assert_string_equal(g_srv.last_method, methods[i]);
		assert_true(tsrv_header(g_srv.last_headers, "X-Trace", hv,
					sizeof(hv)));
		assert_string_equal(hv, "abc 123");
		assert_true(tsrv_header(g_srv.last_headers, "Content-Type", hv,
					sizeof(hv)));
		assert_string_equal(hv, "application/json");
		/* No Expect: 100-continue round trip. */
		assert_false(tsrv_header(g_srv.last_headers, "Expect", hv,
					 sizeof(hv)));
		pthread_mutex_unlock(&g_srv.mtx);
		waiter_fini(&w);
	}
	client_del(c);
}

static void delete_and_head_send_no_body(void **state)
{
	struct http_client *c = client_new(NULL);
	const char *methods[] = { "DELETE", "HEAD", "POST" };
	char hv[64];

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct http_req req = { .method = methods[i],
					.url = url("/echo") };
		struct waiter w;

		waiter_init(&w);
		assert_int_equal(
			http_client_submit(c, &req, g_reply, on_done, &w), 0);
		assert_true(waiter_wait(&w, 5000));
		assert_int_equal(w.resp.err, 0);
		assert_int_equal(w.resp.status, 200);
		assert_int_equal(w.resp.body_len, 0);
		pthread_mutex_lock(&g_srv.mtx);
		assert_string_equal(g_srv.last_method, methods[i]);
		assert_int_equal(g_srv.last_body_len, 0);
		/* An empty POST still says so; DELETE and HEAD say nothing. */
		if (i == 2) {
			assert_true(tsrv_header(g_srv.last_headers,
						"Content-Length", hv,
						sizeof(hv)));
			assert_string_equal(hv, "0");
		} else {
			assert_false(tsrv_header(g_srv.last_headers,
						 "Content-Length", hv,
						 sizeof(hv)));
		}
		pthread_mutex_unlock(&g_srv.mtx);
		waiter_fini(&w);
	}
	client_del(c);
}

static void slow_server_times_out_per_try(void **state)
{
	struct http_client *c = client_new(NULL);
	struct waiter w;

	(void)state;
	get(c, "/slow?ms=2000", 200, 0, &w);
	assert_int_equal(w.resp.err, -ETIMEDOUT);
	assert_int_equal(w.resp.status, 0);
	assert_int_equal(w.resp.tries, 1);
	assert_true(w.resp.elapsed_us >= 190000);
	assert_true(w.resp.elapsed_us < 1500000);
	waiter_fini(&w);

	/* Each try gets its own timeout: 2 tries of 150 ms plus 100 ms of
	 * backoff. */
	get(c, "/slow?ms=2000", 150, 1, &w);
	assert_int_equal(w.resp.err, -ETIMEDOUT);
	assert_int_equal(w.resp.tries, 2);
	assert_true(w.resp.elapsed_us >= 390000);
	assert_true(w.resp.elapsed_us < 1900000);
	waiter_fini(&w);
	client_del(c);
}

static void server_errors_are_retried_with_exponential_backoff(void **state)
{
	/* Every try counts for the breaker: keep it out of the way. */
	const struct http_client_opts o = { .breaker_failures = 100 };
	struct http_client *c = client_new(&o);
	uint64_t retries0 = counter("voxgate_http_client_retries_total", NULL);
	struct waiter w;
	uint64_t t[4];

	(void)state;
	get(c, "/fail500", 2000, 3, &w);
	assert_int_equal(w.resp.err, 0);
	assert_int_equal(w.resp.status, 500);
	assert_string_equal(w.resp.body, "boom");
	assert_int_equal(w.resp.tries, 4);
	assert_int_equal(atomic_load(&g_srv.hits), 4);
	assert_int_equal(counter("voxgate_http_client_retries_total", NULL),
			 retries0 + 3);
	pthread_mutex_lock(&g_srv.mtx);
	assert_int_equal(g_srv.narrivals, 4);
	memcpy(t, g_srv.arrivals_us, sizeof(t));
	pthread_mutex_unlock(&g_srv.mtx);
	/* 100, 200, 400 ms between tries (libre timers may fire up to a
	 * millisecond early). */
	assert_true(t[1] - t[0] >= 98000 && t[1] - t[0] < 190000);
	assert_true(t[2] - t[1] >= 198000 && t[2] - t[1] < 390000);
	assert_true(t[3] - t[2] >= 398000 && t[3] - t[2] < 790000);
	waiter_fini(&w);

	/* A server that recovers: the retry's answer is the result. */
	tsrv_reset_counts(&g_srv);
	atomic_store(&g_srv.flaky_left, 1);
	get(c, "/flaky", 2000, 2, &w);
	assert_int_equal(w.resp.err, 0);
	assert_int_equal(w.resp.status, 200);
	assert_string_equal(w.resp.body, "recovered");
	assert_int_equal(w.resp.tries, 2);
	waiter_fini(&w);
	client_del(c);
}

static void client_errors_are_not_retried(void **state)
{
	struct http_client *c = client_new(NULL);
	struct waiter w;

	(void)state;
	get(c, "/status/404", 2000, 3, &w);
	assert_int_equal(w.resp.err, 0);
	assert_int_equal(w.resp.status, 404);
	assert_int_equal(w.resp.tries, 1);
	assert_int_equal(atomic_load(&g_srv.hits), 1);
	waiter_fini(&w);
	get(c, "/status/302", 2000, 3, &w);
	assert_int_equal(w.resp.status, 302); /* redirects are not followed */
	assert_int_equal(w.resp.tries, 1);
	waiter_fini(&w);
	client_del(c);
}

static void refused_connection_is_retried_then_reported(void **state)
{
	struct http_client *c = client_new(NULL);
	char u[64];
	struct http_req req = { .method = "GET", .url = u, .retries = 2 };
	struct waiter w;

	(void)state;
	snprintf(u, sizeof(u), "http://127.0.0.1:%u/x", tsrv_closed_port());
	waiter_init(&w);
	assert_int_equal(http_client_submit(c, &req, g_reply, on_done, &w), 0);
	assert_true(waiter_wait(&w, 5000));
	assert_int_equal(w.resp.err, -ECONNREFUSED);
	assert_int_equal(w.resp.status, 0);
	assert_int_equal(w.resp.tries, 3);
	/* Backoff 100 + 200 ms. */
	assert_true(w.resp.elapsed_us >= 290000);
	waiter_fini(&w);
	client_del(c);
}

static void malformed_and_empty_replies_are_transport_errors(void **state)
{
	struct http_client *c = client_new(NULL);
	struct waiter w;

	(void)state;
	get(c, "/malformed", 2000, 2, &w);
	assert_int_equal(w.resp.err, -EIO);
	assert_int_equal(w.resp.status, 0);
	assert_int_equal(w.resp.tries,
			 1); /* may have been executed: no retry */
	waiter_fini(&w);
	get(c, "/close", 2000, 0, &w);
	assert_int_equal(w.resp.err, -EIO);
	waiter_fini(&w);
	/* The client still works afterwards. */
	get(c, "/ok", 2000, 0, &w);
	assert_int_equal(w.resp.status, 200);
	waiter_fini(&w);
	client_del(c);
}

static void
breaker_opens_fails_fast_then_half_open_trial_closes_it(void **state)
{
	const struct http_client_opts o = { .breaker_failures = 3,
					    .breaker_cooldown_ms = 300 };
	struct http_client *c = client_new(&o);
	uint64_t open0 = counter("voxgate_http_client_requests_total",
				 "result=\"circuit_open\"");
	struct waiter w;

	(void)state;
	assert_int_equal(breaker_state(c, g_srv.port), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(breaker_state(c, g_srv.port), 0);
		get(c, "/fail500", 2000, 0, &w);
		assert_int_equal(w.resp.status, 500);
		waiter_fini(&w);
	}
	assert_int_equal(breaker_state(c, g_srv.port), 1);
	assert_int_equal(atomic_load(&g_srv.hits), 3);

	/* Open: refused at once, nothing sent. */
	get(c, "/ok", 2000, 0, &w);
	assert_int_equal(w.resp.err, -EBUSY);
	assert_int_equal(w.resp.status, 0);
	assert_int_equal(w.resp.tries, 0);
	assert_true(w.resp.elapsed_us < 100000);
	waiter_fini(&w);
	assert_int_equal(atomic_load(&g_srv.hits), 3);
	assert_int_equal(counter("voxgate_http_client_requests_total",
				 "result=\"circuit_open\""),
			 open0 + 1);
	assert_int_equal(
		metric_gauge_get(metrics_gauge(
			"voxgate_http_client_breakers_open", NULL, "x")),
		1);

	/* After the cool-down: half-open; a failing trial opens it again. */
	usleep(350000);
	assert_int_equal(breaker_state(c, g_srv.port), 2);
	get(c, "/fail500", 2000, 3, &w);
	assert_int_equal(w.resp.status, 500);
	assert_int_equal(w.resp.tries, 1); /* the trial is not retried */
	waiter_fini(&w);
	assert_int_equal(breaker_state(c, g_srv.port), 1);
	get(c, "/ok", 2000, 0, &w);
	assert_int_equal(w.resp.err, -EBUSY);
	waiter_fini(&w);

	/* A successful trial closes it. */
	usleep(350000);
	assert_int_equal(breaker_state(c, g_srv.port), 2);
	get(c, "/ok", 2000, 0, &w);
	assert_int_equal(w.resp.err, 0);
	assert_int_equal(w.resp.status, 200);
	waiter_fini(&w);
	assert_int_equal(breaker_state(c, g_srv.port), 0);
	assert_int_equal(
		metric_gauge_get(metrics_gauge(
			"voxgate_http_client_breakers_open", NULL, "x")),
		0);
	/* Other hosts were never affected. */
	assert_int_equal(breaker_state(c, 1), 0);
	client_del(c);
}

static void success_resets_the_consecutive_failure_count(void **state)
{
	const struct http_client_opts o = { .breaker_failures = 2 };
	struct http_client *c = client_new(&o);
	struct waiter w;

	(void)state;
	for (int i = 0; i < 3; i++) {
		get(c, "/fail500", 2000, 0, &w);
		waiter_fini(&w);
		get(c, "/ok", 2000, 0, &w);
		waiter_fini(&w);
	}
	assert_int_equal(breaker_state(c, g_srv.port), 0);
	client_del(c);
}

static void
open_breaker_is_kept_while_many_other_hosts_come_and_go(void **state)
{
	const struct http_client_opts o = { .breaker_failures = 2,
					    .breaker_cooldown_ms = 60000,
					    .max_total_connections = 64 };
	struct http_client *c = client_new(&o);
	enum { HOSTS = 400 };
	uint16_t port = tsrv_closed_port();
	struct waiter *w = calloc(HOSTS, sizeof(*w));
	char u[64];

	(void)state;
	assert_non_null(w);
	for (int i = 0; i < 2; i++) {
		struct waiter one;

		get(c, "/fail500", 2000, 0, &one);
		waiter_fini(&one);
	}
	assert_int_equal(breaker_state(c, g_srv.port), 1);
	/* Hundreds of other hosts (127.0.x.y, all loopback, nothing
	 * listening), one failure each: more than the host table keeps. */
	/* In batches, so that earlier hosts are idle (and may be forgotten)
	 * when later ones arrive. */
	for (int b = 0; b < HOSTS; b += 50) {
		for (int i = b; i < b + 50; i++) {
			struct http_req req = { .method = "GET", .url = u };

			snprintf(u, sizeof(u), "http://127.0.%d.%d:%u/",
				 1 + i / 200, 1 + i % 200, port);
			waiter_init(&w[i]);
			assert_int_equal(http_client_submit(c, &req, g_reply,
							    on_done, &w[i]),
					 0);
		}
		for (int i = b; i < b + 50; i++) {
			assert_true(waiter_wait(&w[i], 10000));
			assert_int_equal(w[i].resp.err, -ECONNREFUSED);
			waiter_fini(&w[i]);
		}
	}
	free(w);
	assert_int_equal(breaker_state(c, g_srv.port), 1);
	client_del(c);
}

static void per_host_limit_bounds_concurrent_requests(void **state)
{
	const struct http_client_opts o = { .max_host_connections = 3 };
	struct http_client *c = client_new(&o);
	enum { N = 12 };
	struct waiter w[N];
	struct http_req req = { .method = "GET", .url = url("/slow?ms=80") };
	uint64_t t0 = clock_mono_us();

	(void)state;
	for (int i = 0; i < N; i++) {
		waiter_init(&w[i]);
		assert_int_equal(
			http_client_submit(c, &req, g_reply, on_done, &w[i]),
			0);
	}
	for (int i = 0; i < N; i++) {
		assert_true(waiter_wait(&w[i], 10000));
		assert_int_equal(w[i].resp.status, 200);
		waiter_fini(&w[i]);
	}
	assert_int_equal(atomic_load(&g_srv.hits), N);
	assert_int_equal(atomic_load(&g_srv.max), 3); /* parallel, capped */
	/* 12 requests, 3 at a time, 80 ms each: at least 4 rounds. */
	assert_true(clock_mono_us() - t0 >= 4 * 78000);
	client_del(c);
}

static void full_queue_refuses_with_eagain(void **state)
{
	const struct http_client_opts o = { .max_queued = 3 };
	struct http_client *c = client_new(&o);
	struct http_req req = { .method = "GET", .url = url("/slow?ms=200") };
	uint64_t full0 = counter("voxgate_http_client_requests_total",
				 "result=\"queue_full\"");
	struct waiter w[4];

	(void)state;
	for (int i = 0; i < 4; i++)
		waiter_init(&w[i]);
	for (int i = 0; i < 3; i++)
		assert_int_equal(
			http_client_submit(c, &req, g_reply, on_done, &w[i]),
			0);
	assert_int_equal(http_client_submit(c, &req, g_reply, on_done, &w[3]),
			 -EAGAIN);
	assert_int_equal(counter("voxgate_http_client_requests_total",
				 "result=\"queue_full\""),
			 full0 + 1);
	for (int i = 0; i < 3; i++) {
		assert_true(waiter_wait(&w[i], 5000));
		assert_int_equal(w[i].resp.status, 200);
	}
	/* Room again once they are answered. */
	assert_int_equal(http_client_submit(c, &req, g_reply, on_done, &w[3]),
			 0);
	assert_true(waiter_wait(&w[3], 5000));
	assert_false(waiter_wait(&w[3], 100)); /* exactly once */
	for (int i = 0; i < 4; i++)
		waiter_fini(&w[i]);
	client_del(c);
}

static void oversized_responses_fail_with_emsgsize(void **state)
{
	const struct http_client_opts o = { .max_response_bytes = 4096 };
	struct http_client *c = client_new(&o);
	struct waiter w;

	(void)state;
	get(c, "/big?n=4096", 2000, 0, &w);
	assert_int_equal(w.resp.err, 0);
	assert_int_equal(w.resp.body_len, 4096);
	assert_int_equal(strlen(w.resp.body), 4096);
	waiter_fini(&w);
	get(c, "/big?n=4097", 2000, 2, &w); /* Content-Length says so */
	assert_int_equal(w.resp.err, -EMSGSIZE);
	assert_int_equal(w.resp.tries, 1);
	assert_int_equal(w.resp.body_len, 0);
	waiter_fini(&w);
	get(c, "/chunked?n=100000", 2000, 0, &w); /* found while reading */
	assert_int_equal(w.resp.err, -EMSGSIZE);
	waiter_fini(&w);
	get(c, "/chunked?n=3000", 2000, 0, &w);
	assert_int_equal(w.resp.err, 0);
	assert_int_equal(w.resp.body_len, 3000);
	waiter_fini(&w);
	client_del(c);
}

static void invalid_requests_are_refused_without_a_callback(void **state)
{
	struct http_client *c = client_new(NULL);
	const char *bad_name[] = { "X Bad" };
	const char *crlf_value[] = { "a\r\nInjected: yes" };
	const char *name[] = { "X-Ok" };
	const char *ok_value[] = { "fine" };
	struct waiter w;
	const struct http_req reqs[] = {
		{ .method = "GET", .url = NULL },
		{ .method = NULL, .url = url("/ok") },
		{ .method = "CONNECT", .url = "http://127.0.0.1:1/" },
		{ .method = "get", .url = "http://127.0.0.1:1/" },
		{ .method = "GET", .url = "ftp://127.0.0.1/x" },
		{ .method = "GET", .url = "file:///etc/passwd" },
		{ .method = "GET", .url = "127.0.0.1:1/no-scheme" },
		{ .method = "GET", .url = "http:///no-host" },
		{ .method = "GET", .url = "http://127.0.0.1/a b" },
		{ .method = "GET", .url = "http://127.0.0.1/a\r\nX: y" },
		{ .method = "GET",
		  .url = "http://127.0.0.1/",
		  .header_names = bad_name,
		  .header_values = ok_value,
		  .nheaders = 1 },
		{ .method = "GET",
		  .url = "http://127.0.0.1/",
		  .header_names = name,
		  .header_values = crlf_value,
		  .nheaders = 1 },
		{ .method = "POST",
		  .url = "http://127.0.0.1/",
		  .body = NULL,
		  .body_len = 4 },
	};

	(void)state;
	waiter_init(&w);
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
		assert_int_equal(
			http_client_submit(c, &reqs[i], g_reply, on_done, &w),
			-EINVAL);
	assert_int_equal(http_client_submit(c, &reqs[2], g_reply, NULL, &w),
			 -EINVAL);
	assert_int_equal(
		http_client_submit(NULL, &reqs[2], g_reply, on_done, &w),
		-EINVAL);
	assert_false(waiter_wait(&w, 100));
	waiter_fini(&w);
	client_del(c);
	http_client_destroy(NULL);
}

static void destroy_cancels_every_pending_request(void **state)
{
	const struct http_client_opts o = { .max_host_connections = 2 };
	struct http_client *c = client_new(&o);
	enum { N = 5 };
	struct waiter w[N + 1];
	struct http_req slow = { .method = "GET",
				 .url = url("/slow?ms=3000"),
				 .timeout_ms = 5000 };
	char refused[64];
	struct http_req retrying = { .method = "GET",
				     .url = refused,
				     .retries = 5 };
	uint64_t t0;

	(void)state;
	snprintf(refused, sizeof(refused), "http://127.0.0.1:%u/",
		 tsrv_closed_port());
	/* 2 on the wire, 3 waiting for a slot, 1 between tries. */
	for (int i = 0; i < N; i++) {
		waiter_init(&w[i]);
		assert_int_equal(
			http_client_submit(c, &slow, g_reply, on_done, &w[i]),
			0);
	}
	waiter_init(&w[N]);
	assert_int_equal(
		http_client_submit(c, &retrying, g_reply, on_done, &w[N]), 0);
	usleep(150000);
	t0 = clock_mono_us();
	client_del(c);
	for (int i = 0; i <= N; i++) {
		assert_true(waiter_wait(&w[i], 2000));
		assert_int_equal(w[i].resp.err, -ECANCELED);
		assert_int_equal(w[i].calls, 1);
		assert_true(w[i].on_reply_loop);
	}
	assert_true(clock_mono_us() - t0 < 1000000);
	for (int i = 0; i <= N; i++) {
		assert_false(waiter_wait(&w[i], 0));
		waiter_fini(&w[i]);
	}
}

static void request_posted_just_before_destroy_is_cancelled(void **state)
{
	struct http_client *c = client_new(NULL);
	struct http_req req = { .method = "GET", .url = url("/ok") };
	struct waiter w;

	(void)state;
	waiter_init(&w);
	/* Destroy posted right behind the request: both run on the web
	 * loop in order, but the request may or may not start first; either
	 * way exactly one completion comes. */
	assert_int_equal(http_client_submit(c, &req, g_reply, on_done, &w), 0);
	client_del(c);
	assert_true(waiter_wait(&w, 2000));
	assert_true(w.resp.err == -ECANCELED || w.resp.status == 200);
	assert_false(waiter_wait(&w, 100));
	waiter_fini(&w);
}

/* ---------- webhooks ---------- */

/* The signature computed independently: HMAC() one-shot over the joined
 * string, hex by hand. */
static void expected_sig(const char *secret, const char *ts, const char *body,
			 char *out, size_t cap)
{
	size_t n = strlen(ts) + 1 + strlen(body);
	char *msg = malloc(n + 1);
	unsigned char mac[32];
	unsigned int maclen = 0;

	assert_non_null(msg);
	snprintf(msg, n + 1, "%s.%s", ts, body);
	assert_non_null(HMAC(EVP_sha256(), secret, (int)strlen(secret),
			     (unsigned char *)msg, n, mac, &maclen));
	assert_int_equal(maclen, 32);
	assert_true(cap > 3 + 64);
	strcpy(out, "v1=");
	for (unsigned i = 0; i < 32; i++)
		sprintf(out + 3 + 2 * i, "%02x", mac[i]);
	free(msg);
}

static void signature_matches_a_known_vector(void **state)
{
	char sig[80], want[80];

	(void)state;
	/* Known vector: HMAC-SHA256("whsec_test_0123456789",
	 * "1700000000.{\"event\":\"started\"}"), computed with Python's
	 * hmac module. */
	assert_int_equal(webhooks_sign("whsec_test_0123456789", 1700000000,
				       "{\"event\":\"started\"}", 19, sig,
				       sizeof(sig)),
			 0);
	assert_string_equal(sig,
			    "v1=aa5b64ca861ddcff9db7c10ba3e13b0f75da625261e"
			    "403439996a06e771d9f03");
	expected_sig("whsec_test_0123456789", "1700000000",
		     "{\"event\":\"started\"}", want, sizeof(want));
	assert_string_equal(sig, want);
	/* Body length is honoured (not strlen), and every byte matters. */
	assert_int_equal(webhooks_sign("whsec_test_0123456789", 1700000000,
				       "{\"event\":\"started\"}xyz", 19, sig,
				       sizeof(sig)),
			 0);
	assert_string_equal(sig, want);
	assert_int_equal(webhooks_sign("whsec_test_0123456789", 1700000001,
				       "{\"event\":\"started\"}", 19, sig,
				       sizeof(sig)),
			 0);
	assert_string_not_equal(sig, want);
	assert_int_equal(webhooks_sign("k", 1, "", 0, sig, 67), -ENOSPC);
	assert_int_equal(webhooks_sign(NULL, 1, "", 0, sig, sizeof(sig)),
			 -EINVAL);
}

struct wh_args {
	struct http_client *c;
	struct webhooks *w;
	struct webhooks_opts o;
	int err;
};

static void do_wh_create(void *arg)
{
	struct wh_args *a = arg;

	a->err = webhooks_create(&a->w, a->c, &a->o);
}

static void do_wh_destroy(void *arg)
{
	struct wh_args *a = arg;

	webhooks_destroy(a->w);
	a->w = NULL;
}

/* Wait until the server has seen n requests. */
static bool wait_hits(unsigned n, unsigned ms)
{
	for (unsigned i = 0; i < ms / 10; i++) {
		if (atomic_load(&g_srv.hits) >= n)
			return true;
		usleep(10000);
	}
	return atomic_load(&g_srv.hits) >= n;
}

static void webhook_posts_signed_events_the_receiver_can_verify(void **state)
{
	static const char secret[] = "s3cret-s3cret-s3cret";
	const char *urls[1];
	char u[128], ts[32], sig[96], want[96], ev[32];
	struct wh_args a = { .c = client_new(NULL) };
	cJSON *doc;

	(void)state;
	snprintf(u, sizeof(u), "http://127.0.0.1:%u/echo", g_srv.port);
	urls[0] = u;
	a.o = (struct webhooks_opts){ .urls = urls,
				      .nurls = 1,
				      .secret = secret,
				      .events = "started, ended",
				      .timeout_ms = 2000,
				      .retries = 0 };
	run_on_loop(g_web, do_wh_create, &a);
	assert_int_equal(a.err, 0);

	/* Filtered out: nothing is sent. */
	assert_int_equal(webhooks_post(a.w, "intent", "call-1", NULL), 0);
	assert_int_equal(webhooks_post(a.w, "start", "call-1", NULL), 0);
	assert_int_equal(webhooks_post(a.w, "Bad Event", "call-1", NULL),
			 -EINVAL);
	assert_int_equal(webhooks_post(a.w, "started", "call-1", "[1,2]"),
			 -EINVAL);
	assert_int_equal(webhooks_post(a.w, "started", "call-1", "{oops"),
			 -EINVAL);
	usleep(200000);
	assert_int_equal(atomic_load(&g_srv.hits), 0);

	assert_int_equal(webhooks_post(a.w, "started", "call-42",
				       "{\"from\":\"+15550100\",\"event\":"
				       "\"spoofed\",\"n\":3}"),
			 0);
	assert_true(wait_hits(1, 3000));
	pthread_mutex_lock(&g_srv.mtx);
	assert_string_equal(g_srv.last_method, "POST");
	assert_string_equal(g_srv.last_path, "/echo");
	assert_true(tsrv_header(g_srv.last_headers, "X-Voxgate-Timestamp", ts,
				sizeof(ts)));
	assert_true(tsrv_header(g_srv.last_headers, "X-Voxgate-Signature", sig,
				sizeof(sig)));
	assert_true(tsrv_header(g_srv.last_headers, "X-Voxgate-Event", ev,
				sizeof(ev)));
	assert_string_equal(ev, "started");
	assert_true(tsrv_header(g_srv.last_headers, "Content-Type", ev,
				sizeof(ev)));
	assert_string_equal(ev, "application/json");
	expected_sig(secret, ts, g_srv.last_body, want, sizeof(want));
	assert_string_equal(sig, want);
	doc = cJSON_Parse(g_srv.last_body);
	pthread_mutex_unlock(&g_srv.mtx);
	assert_non_null(doc);
	assert_string_equal(
		cJSON_GetObjectItemCaseSensitive(doc, "event")->valuestring,
		"started");
	assert_string_equal(
		cJSON_GetObjectItemCaseSensitive(doc, "call_id")->valuestring,
		"call-42");
	assert_string_equal(
		cJSON_GetObjectItemCaseSensitive(doc, "from")->valuestring,
		"+15550100");
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(doc, "n")->valueint,
			 3);
	double ts_ms = cJSON_GetObjectItemCaseSensitive(doc, "ts")->valuedouble;
	/* ts (ms) and the header (s) tell the same time, close to now. */
	assert_true((long long)(ts_ms / 1000) == atoll(ts));
	assert_true(llabs(atoll(ts) - (long long)time(NULL)) <= 5);
	cJSON_Delete(doc);
	run_on_loop(g_web, do_wh_destroy, &a);
	client_del(a.c);
}

/* "partial" (several per turn) is opt-in: "" (all) does not send it, a
 * list that names it does. */
static void partial_webhooks_go_only_where_the_list_names_them(void **state)
{
	const char *urls[1];
	char u[128];
	struct wh_args a = { .c = client_new(NULL) };

	(void)state;
	snprintf(u, sizeof(u), "http://127.0.0.1:%u/echo", g_srv.port);
	urls[0] = u;
	a.o = (struct webhooks_opts){ .urls = urls,
				      .nurls = 1,
				      .secret = "0123456789abcdef",
				      .events = "",
				      .timeout_ms = 2000 };
	run_on_loop(g_web, do_wh_create, &a);
	assert_int_equal(a.err, 0);
	assert_false(webhooks_wants(NULL, "started"));
	assert_true(webhooks_wants(a.w, "started"));
	assert_true(webhooks_wants(a.w, "intent"));
	assert_false(webhooks_wants(a.w, "partial"));
	assert_false(webhooks_wants(a.w, "Bad Event"));
	assert_int_equal(webhooks_post(a.w, "partial", "call-1", NULL), 0);
	usleep(200000);
	assert_int_equal(atomic_load(&g_srv.hits), 0);
	run_on_loop(g_web, do_wh_destroy, &a);

	a.o.events = "intent,partial";
	run_on_loop(g_web, do_wh_create, &a);
	assert_int_equal(a.err, 0);
	assert_true(webhooks_wants(a.w, "partial"));
	assert_true(webhooks_wants(a.w, "intent"));
	assert_false(webhooks_wants(a.w, "started"));
	assert_int_equal(webhooks_post(a.w, "partial", "call-1",
				       "{\"transcript\":\"i want\"}"),
			 0);
	assert_true(wait_hits(1, 3000));
	run_on_loop(g_web, do_wh_destroy, &a);
	client_del(a.c);
}

static void webhook_failures_are_retried_and_never_block(void **state)
{
	const char *urls[2];
	char u1[128], u2[128];
	struct wh_args a = { .c = client_new(NULL) };
	uint64_t failed0 =
		counter("voxgate_webhooks_total", "result=\"failed\"");
	uint64_t t0;

	(void)state;
	snprintf(u1, sizeof(u1), "http://127.0.0.1:%u/fail500", g_srv.port);
	snprintf(u2, sizeof(u2), "http://127.0.0.1:%u/slow?ms=500", g_srv.port);
	urls[0] = u1;
	urls[1] = u2;
	a.o = (struct webhooks_opts){ .urls = urls,
				      .nurls = 2,
				      .secret = "0123456789abcdef",
				      .timeout_ms = 2000,
				      .retries = 1 };
	run_on_loop(g_web, do_wh_create, &a);
	assert_int_equal(a.err, 0);
	t0 = clock_mono_us();
	assert_int_equal(webhooks_post(a.w, "ended", "call-9", NULL), 0);
	assert_true(clock_mono_us() - t0 < 50000); /* only queued */
	/* 2 tries at the failing URL + 1 at the slow one. */
	assert_true(wait_hits(3, 3000));
	for (int i = 0; i < 100 && counter("voxgate_webhooks_total",
					   "result=\"failed\"") == failed0;
	     i++)
		usleep(10000);
	assert_int_equal(counter("voxgate_webhooks_total", "result=\"failed\""),
			 failed0 + 1);
	usleep(600000);
	assert_int_equal(atomic_load(&g_srv.hits), 3);
	run_on_loop(g_web, do_wh_destroy, &a);
	client_del(a.c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(
			get_returns_status_and_body_on_the_reply_loop,
			test_setup),
		cmocka_unit_test_setup(post_sends_method_headers_and_body,
				       test_setup),
		cmocka_unit_test_setup(delete_and_head_send_no_body,
				       test_setup),
		cmocka_unit_test_setup(slow_server_times_out_per_try,
				       test_setup),
		cmocka_unit_test_setup(
			server_errors_are_retried_with_exponential_backoff,
			test_setup),
		cmocka_unit_test_setup(client_errors_are_not_retried,
				       test_setup),
		cmocka_unit_test_setup(
			refused_connection_is_retried_then_reported,
			test_setup),
		cmocka_unit_test_setup(
			malformed_and_empty_replies_are_transport_errors,
			test_setup),
		cmocka_unit_test_setup(
			breaker_opens_fails_fast_then_half_open_trial_closes_it,
			test_setup),
		cmocka_unit_test_setup(
			success_resets_the_consecutive_failure_count,
			test_setup),
		cmocka_unit_test_setup(
			open_breaker_is_kept_while_many_other_hosts_come_and_go,
			test_setup),
		cmocka_unit_test_setup(
			per_host_limit_bounds_concurrent_requests, test_setup),
		cmocka_unit_test_setup(full_queue_refuses_with_eagain,
				       test_setup),
		cmocka_unit_test_setup(oversized_responses_fail_with_emsgsize,
				       test_setup),
		cmocka_unit_test_setup(
			invalid_requests_are_refused_without_a_callback,
			test_setup),
		cmocka_unit_test_setup(destroy_cancels_every_pending_request,
				       test_setup),
		cmocka_unit_test_setup(
			request_posted_just_before_destroy_is_cancelled,
			test_setup),
		cmocka_unit_test(signature_matches_a_known_vector),
		cmocka_unit_test_setup(
			webhook_posts_signed_events_the_receiver_can_verify,
			test_setup),
		cmocka_unit_test_setup(
			partial_webhooks_go_only_where_the_list_names_them,
			test_setup),
		cmocka_unit_test_setup(
			webhook_failures_are_retried_and_never_block,
			test_setup),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
