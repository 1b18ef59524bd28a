/* Load client for the Amazon Connect endpoints (bench/bench_connect.sh):
 * C connections, each a thread with one keep-alive socket, POST the body
 * template back to back, every request signed like the forwarding Lambda
 * (X-Api-Key, X-Voxgate-Timestamp in ms, X-Voxgate-Signature). "@ID@" in
 * the template becomes a per-request id, so no two requests sign alike.
 * Prints latency p50/p90/p99/max and the request rate.
 *   ccload HOST PORT KEY SECRET PATH BODYFILE CONNECTIONS SECONDS */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/client.h"

#define MAX_SAMPLES (1u << 20)
#define BODY_MAX (64 * 1024)

static const char *g_host, *g_key, *g_secret, *g_path;
static char g_tmpl[BODY_MAX];
static int g_port;
static double g_secs;
static uint64_t *g_lat; /* ns */
static size_t g_n;
static unsigned g_errors, g_bad_status;
static pthread_mutex_t g_mtx = PTHREAD_MUTEX_INITIALIZER;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_to(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)g_port) };
	inet_pton(AF_INET, g_host, &sa.sin_addr);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The template with every "@ID@" replaced by id. */
static size_t render(char *out, size_t cap, const char *id)
{
	size_t o = 0;
	for (const char *p = g_tmpl; *p && o + 64 < cap;) {
		if (!strncmp(p, "@ID@", 4)) {
			o += (size_t)snprintf(out + o, cap - o, "%s", id);
			p += 4;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	return o;
}

/* Send one request, read one response; returns the status or -1. */
static int request(int fd, const char *body, size_t len)
{
	static __thread char req[BODY_MAX + 1024];
	char sig[80];
	int64_t ts = wall_ms();
	if (webhooks_sign(g_secret, ts, body, len, sig, sizeof(sig)))
		return -1;
	int n = snprintf(req, sizeof(req),
			 "POST %s HTTP/1.1\r\nHost: bench\r\n"
			 "Content-Type: application/json\r\n"
			 "X-Api-Key: %s\r\nX-Voxgate-Timestamp: %lld\r\n"
			 "X-Voxgate-Signature: %s\r\nContent-Length: %zu\r\n"
			 "\r\n%s",
			 g_path, g_key, (long long)ts, sig, len, body);
	if (n < 0 || (size_t)n >= sizeof(req) || write(fd, req, (size_t)n) != n)
		return -1;
	static __thread char buf[65536];
	size_t got = 0;
	for (;;) {
		ssize_t r = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
		buf[got] = '\0';
		char *end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		const char *cl = strcasestr(buf, "Content-Length:");
		size_t clen = cl ? strtoul(cl + 15, NULL, 10) : 0;
		if (got >= (size_t)(end + 4 - buf) + clen)
			break;
	}
	return atoi(buf + 9);
}

static void *worker(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	int fd = connect_to();
	uint64_t stop = now_ns() + (uint64_t)(g_secs * 1e9);
	unsigned seq = 0;
	static __thread char body[BODY_MAX];
	while (fd >= 0 && now_ns() < stop) {
		char rid[48];
		snprintf(rid, sizeof(rid), "load-%u-%u-%u", (unsigned)getpid(),
			 id, seq++);
		size_t len = render(body, sizeof(body), rid);
		uint64_t t0 = now_ns();
		int st = request(fd, body, len);
		uint64_t dt = now_ns() - t0;
		pthread_mutex_lock(&g_mtx);
		if (st < 0)
			g_errors++;
		else if (st != 200)
			g_bad_status++;
		else if (g_n < MAX_SAMPLES)
			g_lat[g_n++] = dt;
		pthread_mutex_unlock(&g_mtx);
		if (st < 0) {
			close(fd);
			fd = connect_to();
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 9) {
		fprintf(stderr, "usage: ccload HOST PORT KEY SECRET PATH "
				"BODYFILE CONNECTIONS SECONDS\n");
		return 2;
	}
	g_host = argv[1];
	g_port = atoi(argv[2]);
	g_key = argv[3];
	g_secret = argv[4];
	g_path = argv[5];
	FILE *f = fopen(argv[6], "rb");
	size_t tl = f ? fread(g_tmpl, 1, sizeof(g_tmpl) - 1, f) : 0;
	if (f)
		fclose(f);
	g_tmpl[tl] = '\0';
	unsigned conns = (unsigned)atoi(argv[7]);
	g_secs = atof(argv[8]);
	g_lat = malloc(MAX_SAMPLES * sizeof(*g_lat));
	pthread_t *th = calloc(conns ? conns : 1, sizeof(*th));
	if (!tl || !g_lat || !th || !conns)
		return 2;
	uint64_t t0 = now_ns();
	for (unsigned i = 0; i < conns; i++)
		pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i);
	for (unsigned i = 0; i < conns; i++)
		pthread_join(th[i], NULL);
	double wall = (double)(now_ns() - t0) / 1e9;
	if (!g_n) {
		fprintf(stderr,
			"ccload: no successful request (errors %u, non-200 "
			"%u)\n",
			g_errors, g_bad_status);
		return 1;
	}
	qsort(g_lat, g_n, sizeof(*g_lat), cmp_u64);
#define Q(q) ((double)g_lat[(size_t)((double)(g_n - 1) * (q))] / 1e6)
	printf("requests=%zu rate=%.0f/s connections=%u p50_ms=%.3f "
	       "p90_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%u non200=%u\n",
	       g_n, (double)g_n / wall, conns, Q(0.50), Q(0.90), Q(0.99),
	       Q(1.0), g_errors, g_bad_status);
	free(g_lat);
	free(th);
	return g_errors || g_bad_status ? 1 : 0;
}
