/* Overhead of the outgoing HTTP client (submit from another thread, post to
 * the web loop, curl multi, completion posted back) against a direct
 * blocking curl_easy request to the same local keep-alive server: p50/p95
 * both ways, the difference and the ratio, then a burst's throughput.
 * usage: bench_http [N]   (default 2000 requests each way; runs < 10 s) */
#include <errno.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <re.h>

#include "core/clock.h"
#include "core/loop.h"
#include "http/client.h"
#include "bench_fig.h"

#include "../tests/unit/http/testsrv.h"

/* Budget for the added p95 latency per request: well under a media
 * frame, so an http node costs the caller nothing they can hear. */
#define OVERHEAD_BUDGET_US 500.0

static struct vg_loop *g_web, *g_reply;

struct sync {
	sem_t sem;
	int err;
	int status;
	struct http_client *c;
};

static void on_created(void *arg)
{
	struct sync *s = arg;

	s->err = http_client_create(&s->c, g_web, NULL);
	sem_post(&s->sem);
}

static void on_destroy(void *arg)
{
	struct sync *s = arg;

	http_client_destroy(s->c);
	sem_post(&s->sem);
}

static void on_done(const struct http_resp *r, void *arg)
{
	struct sync *s = arg;

	s->err = r->err;
	s->status = r->status;
	sem_post(&s->sem);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static uint64_t pct(uint64_t *v, size_t n, double q)
{
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);

	return v[i];
}

static size_t sink(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000;
	uint64_t *direct = calloc(n, sizeof(*direct));
	uint64_t *client = calloc(n, sizeof(*client));
	struct tsrv srv;
	struct sync s;
	char url[64];
	CURL *e;

	if (!n || !direct || !client || libre_init() ||
	    curl_global_init(CURL_GLOBAL_DEFAULT) || tsrv_start(&srv)) {
		fprintf(stderr, "bench_http: setup failed\n");
		free(direct);
		free(client);
		return 1;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/ok", srv.port);
	if (loop_create(&g_web, "web") || loop_start(g_web) ||
	    loop_create(&g_reply, "reply") || loop_start(g_reply))
		goto fail;
	sem_init(&s.sem, 0, 0);
	loop_post(g_web, on_created, &s);
	sem_wait(&s.sem);
	if (s.err)
		goto fail;

	/* Direct: one easy handle, reused (keep-alive), blocking. */
	e = curl_easy_init();
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
	for (size_t i = 0; i < n + 50; i++) {
		uint64_t t0 = clock_mono_us();

		if (curl_easy_perform(e) != CURLE_OK)
			goto fail;
		if (i >= 50) /* warm-up */
			direct[i - 50] = clock_mono_us() - t0;
	}
	curl_easy_cleanup(e);

	/* Client: submit from this thread, completion on the reply loop. */
	struct http_req req = { .method = "GET", .url = url };
	for (size_t i = 0; i < n + 50; i++) {
		uint64_t t0 = clock_mono_us();

		if (http_client_submit(s.c, &req, g_reply, on_done, &s))
			goto fail;
		sem_wait(&s.sem);
		if (s.err || s.status != 200)
			goto fail;
		if (i >= 50)
			client[i - 50] = clock_mono_us() - t0;
	}

	/* Burst: as many as the queue takes, 8 connections (the default). */
	size_t burst = n < 1000 ? n : 1000;
	uint64_t b0 = clock_mono_us();
	for (size_t i = 0; i < burst; i++)
		if (http_client_submit(s.c, &req, g_reply, on_done, &s))
			goto fail;
	for (size_t i = 0; i < burst; i++)
		sem_wait(&s.sem);
	double burst_s = (double)(clock_mono_us() - b0) / 1e6;

	qsort(direct, n, sizeof(*direct), cmp_u64);
	qsort(client, n, sizeof(*client), cmp_u64);
	double d50 = (double)pct(direct, n, 0.5),
	       d95 = (double)pct(direct, n, 0.95);
	double c50 = (double)pct(client, n, 0.5),
	       c95 = (double)pct(client, n, 0.95);
	double load[1] = { 0 };
	if (getloadavg(load, 1) == 1)
		printf("load average (1 min)       %.2f on %ld CPUs\n", load[0],
		       sysconf(_SC_NPROCESSORS_ONLN));
	printf("requests each way          %zu (GET, 5-byte body, loopback, "
	       "keep-alive)\n",
	       n);
	printf("direct curl_easy  p50/p95  %8.1f / %8.1f us\n", d50, d95);
	printf("http_client       p50/p95  %8.1f / %8.1f us\n", c50, c95);
	printf("overhead          p50/p95  %8.1f / %8.1f us   ratio %.2f / "
	       "%.2f\n",
	       c50 - d50, c95 - d95, c50 / d50, c95 / d95);
	printf("overhead p95               %8.1f us   budget %.0f us  ratio "
	       "%.2f%s\n",
	       c95 - d95, OVERHEAD_BUDGET_US, (c95 - d95) / OVERHEAD_BUDGET_US,
	       c95 - d95 > OVERHEAD_BUDGET_US ? "  OVER" : "");
	bench_fig("http", "overhead_p95", c95 - d95, "us",
		  "<=", OVERHEAD_BUDGET_US);
	printf("burst of %zu               %8.0f req/s\n", burst,
	       (double)burst / burst_s);

	loop_post(g_web, on_destroy, &s);
	sem_wait(&s.sem);
	sem_destroy(&s.sem);
	loop_destroy(g_reply);
	loop_destroy(g_web);
	tsrv_stop(&srv);
	curl_global_cleanup();
	libre_close();
	free(direct);
	free(client);
	return 0;
fail:
	fprintf(stderr, "bench_http: a request failed\n");
	free(direct);
	free(client);
	return 1;
}
