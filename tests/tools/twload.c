/* Load client for the Twilio webhooks (bench/bench_twilio_webhook.sh):
 * C connections, each a thread with one keep-alive socket, run calls
 * back to back: POST /twilio/voice (a fresh CallSid), then POST
 * /twilio/gather with Digits=1 (the bank-hotline's balance: the flow ends
 * with <Hangup/>). Every request carries a valid X-Twilio-Signature over
 * the public URL. Prints per-request latency p50/p90/p99/max and the
 * request rate.
 *   twload HOST PORT PUBLIC_URL TOKEN CONNECTIONS SECONDS */
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

#include "telephony/twilio/twform.h"
#include "telephony/twilio/twsig.h"

#define MAX_SAMPLES (1u << 20)

static const char *g_host, *g_public, *g_token;
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

/* Send one request, read one response; returns the status or -1. */
static int request(int fd, const char *path, const char *body)
{
	char url[512], sig[TWSIG_LEN + 1], req[4096];
	snprintf(url, sizeof(url), "%s%s", g_public, path);
	struct twform f;
	twform_init(&f);
	if (twform_parse(&f, body, strlen(body)) ||
	    twilio_sig_compute(g_token, url, &f, sig)) {
		twform_fini(&f);
		return -1;
	}
	twform_fini(&f);
	int n = snprintf(req, sizeof(req),
			 "POST %s HTTP/1.1\r\nHost: bench\r\n"
			 "Content-Type: application/x-www-form-urlencoded\r\n"
			 "X-Twilio-Signature: %s\r\nContent-Length: %zu\r\n"
			 "\r\n%s",
			 path, sig, strlen(body), body);
	if (write(fd, req, (size_t)n) != n)
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
	char body[512];
	while (fd >= 0 && now_ns() < stop) {
		char sid[40];
		snprintf(sid, sizeof(sid), "CA%08x%08x%016x", id, seq++,
			 (unsigned)getpid());
		for (int step = 0; step < 2; step++) {
			if (step == 0)
				snprintf(body, sizeof(body),
					 "CallSid=%s&AccountSid=AC1&From="
					 "%%2B15551230001&To=%%2B18005550100&"
					 "CallStatus=ringing",
					 sid);
			else
				snprintf(body, sizeof(body),
					 "CallSid=%s&Digits=1", sid);
			uint64_t t0 = now_ns();
			int st = request(
				fd, step ? "/twilio/gather" : "/twilio/voice",
				body);
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
				break;
			}
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
	if (argc != 7) {
		fprintf(stderr, "usage: twload HOST PORT PUBLIC_URL TOKEN "
				"CONNECTIONS SECONDS\n");
		return 2;
	}
	g_host = argv[1];
	g_port = atoi(argv[2]);
	g_public = argv[3];
	g_token = argv[4];
	unsigned conns = (unsigned)atoi(argv[5]);
	g_secs = atof(argv[6]);
	g_lat = malloc(MAX_SAMPLES * sizeof(*g_lat));
	pthread_t *th = calloc(conns, sizeof(*th));
	if (!g_lat || !th || !conns)
		return 2;
	uint64_t t0 = now_ns();
	for (unsigned i = 0; i < conns; i++)
		pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i);
	for (unsigned i = 0; i < conns; i++)
		pthread_join(th[i], NULL);
	double wall = (double)(now_ns() - t0) / 1e9;
	if (!g_n) {
		fprintf(stderr,
			"twload: no successful request (errors %u, "
			"non-200 %u)\n",
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
