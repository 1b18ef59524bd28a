/* HTTP load client for voxgate's signed webhook endpoints (bench/): C
 * connections, each a thread with one keep-alive socket, send requests back
 * to back for SECONDS and print per-request latency p50/p90/p99/max and
 * the request rate. Two signing schemes:
 *
 *   --sign twilio: calls over the Twilio webhooks, POST /twilio/voice (a
 *     fresh CallSid), then POST /twilio/gather with Digits=1 (the
 *     bank-hotline's balance: the flow ends with <Hangup/>); every request
 *     carries an X-Twilio-Signature over the public URL.
 *       httpload --sign twilio HOST PORT PUBLIC_URL TOKEN CONNECTIONS SECONDS
 *   --sign connect: POST the body template to PATH, signed like the
 *     forwarding Lambda (X-Api-Key, X-Voxgate-Timestamp in ms,
 *     X-Voxgate-Signature); "@ID@" in the template becomes a per-request
 *     id, so no two requests sign alike.
 *       httpload --sign connect HOST PORT KEY SECRET PATH BODYFILE
 *                CONNECTIONS SECONDS
 *
 * Exit 0 when every request got a 200, 1 otherwise, 2 on usage errors. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/client.h"
#include "telephony/twilio/twform.h"
#include "telephony/twilio/twsig.h"

#define MAX_SAMPLES (1u << 20)
#define BODY_MAX (64 * 1024)

enum sign { SIGN_TWILIO, SIGN_CONNECT };

static enum sign g_sign;
static const char *g_host;
static int g_port;
static double g_secs;
/* --sign twilio */
static const char *g_public, *g_token;
/* --sign connect */
static const char *g_key, *g_secret, *g_path;
static char g_tmpl[BODY_MAX];

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
	if (fd < 0)
		return -1;
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)g_port) };
	if (inet_pton(AF_INET, g_host, &sa.sin_addr) != 1) {
		close(fd);
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Write req[0..n), read one response; returns its status or -1. */
static int exchange(int fd, const char *req, size_t n)
{
	if (write(fd, req, n) != (ssize_t)n)
		return -1;
	static __thread char buf[65536];
	size_t got = 0;
	for (;;) {
		if (got >= sizeof(buf) - 1)
			return -1;
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
	return got > 12 ? atoi(buf + 9) : -1;
}

/* A form POST to path signed for Twilio; the status or -1. */
static int request_twilio(int fd, const char *path, const char *body)
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
	if (n < 0 || (size_t)n >= sizeof(req))
		return -1;
	return exchange(fd, req, (size_t)n);
}

/* body[0..len) POSTed to g_path signed like the Connect Lambda. */
static int request_connect(int fd, const char *body, size_t len)
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
	if (n < 0 || (size_t)n >= sizeof(req))
		return -1;
	return exchange(fd, req, (size_t)n);
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

/* Account one request; true when the connection is still usable. */
static bool account(int st, uint64_t dt)
{
	pthread_mutex_lock(&g_mtx);
	if (st < 0)
		g_errors++;
	else if (st != 200)
		g_bad_status++;
	else if (g_n < MAX_SAMPLES)
		g_lat[g_n++] = dt;
	pthread_mutex_unlock(&g_mtx);
	return st >= 0;
}

/* One unit of work on fd (a Twilio call: two requests; a Connect
 * request: one); false when fd broke. */
static bool run_one(int fd, unsigned id, unsigned seq)
{
	if (g_sign == SIGN_CONNECT) {
		static __thread char body[BODY_MAX];
		char rid[48];
		snprintf(rid, sizeof(rid), "load-%u-%u-%u", (unsigned)getpid(),
			 id, seq);
		size_t len = render(body, sizeof(body), rid);
		uint64_t t0 = now_ns();
		int st = request_connect(fd, body, len);
		return account(st, now_ns() - t0);
	}
	char sid[40], body[512];
	snprintf(sid, sizeof(sid), "CA%08x%08x%016x", id, seq,
		 (unsigned)getpid());
	for (int step = 0; step < 2; step++) {
		if (step == 0)
			snprintf(body, sizeof(body),
				 "CallSid=%s&AccountSid=AC1&From="
				 "%%2B15551230001&To=%%2B18005550100&"
				 "CallStatus=ringing",
				 sid);
		else
			snprintf(body, sizeof(body), "CallSid=%s&Digits=1",
				 sid);
		uint64_t t0 = now_ns();
		int st = request_twilio(
			fd, step ? "/twilio/gather" : "/twilio/voice", body);
		if (!account(st, now_ns() - t0))
			return false;
	}
	return true;
}

static void *worker(void *arg)
{
	unsigned id = *(const unsigned *)arg;
	int fd = connect_to();
	uint64_t stop = now_ns() + (uint64_t)(g_secs * 1e9);
	unsigned seq = 0;
	while (fd >= 0 && now_ns() < stop) {
		if (!run_one(fd, id, seq++)) {
			close(fd);
			fd = connect_to();
		}
	}
	if (fd >= 0)
		close(fd);
	else
		account(-1, 0); /* could not (re)connect */
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: httpload --sign twilio HOST PORT PUBLIC_URL TOKEN "
		"CONNECTIONS SECONDS\n"
		"       httpload --sign connect HOST PORT KEY SECRET PATH "
		"BODYFILE CONNECTIONS SECONDS\n");
	return 2;
}

/* A positive count or duration from s; false when it is none. */
static bool positive(const char *s, double max, double *out)
{
	char *end = NULL;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > max)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	if (argc < 3 || strcmp(argv[1], "--sign"))
		return usage();
	int rest;
	if (!strcmp(argv[2], "twilio") && argc == 9) {
		g_sign = SIGN_TWILIO;
		g_public = argv[5];
		g_token = argv[6];
		rest = 7;
	} else if (!strcmp(argv[2], "connect") && argc == 11) {
		g_sign = SIGN_CONNECT;
		g_key = argv[5];
		g_secret = argv[6];
		g_path = argv[7];
		FILE *f = fopen(argv[8], "rb");
		size_t tl = f ? fread(g_tmpl, 1, sizeof(g_tmpl) - 1, f) : 0;
		if (f)
			fclose(f);
		g_tmpl[tl] = '\0';
		if (!tl) {
			fprintf(stderr, "httpload: cannot read %s\n", argv[8]);
			return 2;
		}
		rest = 9;
	} else {
		return usage();
	}
	g_host = argv[3];
	double port, conns_d;
	if (!positive(argv[4], 65535, &port) ||
	    !positive(argv[rest], 4096, &conns_d) ||
	    !positive(argv[rest + 1], 86400, &g_secs))
		return usage();
	g_port = (int)port;
	unsigned conns = (unsigned)conns_d;
	g_lat = malloc(MAX_SAMPLES * sizeof(*g_lat));
	pthread_t *th = calloc(conns, sizeof(*th));
	unsigned *ids = calloc(conns, sizeof(*ids));
	if (!g_lat || !th || !ids)
		return 2;
	for (unsigned i = 0; i < conns; i++)
		ids[i] = i;
	uint64_t t0 = now_ns();
	for (unsigned i = 0; i < conns; i++)
		pthread_create(&th[i], NULL, worker, &ids[i]);
	for (unsigned i = 0; i < conns; i++)
		pthread_join(th[i], NULL);
	double wall = (double)(now_ns() - t0) / 1e9;
	if (!g_n) {
		fprintf(stderr,
			"httpload: no successful request (errors %u, "
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
	free(ids);
	return g_errors || g_bad_status ? 1 : 0;
}
