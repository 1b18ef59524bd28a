/* A small HTTP/1.1 server for client tests and bench/bench_http.c, on
 * 127.0.0.1 and an ephemeral port: one thread accepts, one thread serves
 * each connection (keep-alive), so responses can be slow or held without
 * blocking others. What it does is chosen by the path:
 *   /ok               200 "hello"
 *   /echo             200, the request body; X-Method: the method
 *   /slow?ms=N        wait N ms, then 200 "slow"
 *   /status/NNN       status NNN
 *   /fail500          500 "boom"
 *   /flaky            500 while tsrv.flaky_left > 0 (each takes one), 200
 *   /big?n=N          200 with N bytes, Content-Length
 *   /chunked?n=N      200 with N bytes, chunked (no length up front)
 *   /malformed        a reply that is not HTTP, then close
 *   /close            close without any reply
 *   (any HEAD)        200, Content-Length: 5, no body
 * Every request is counted, with its arrival time, and the last one's
 * method, path, headers and body are kept. Header-only: static inline
 * functions. */
#ifndef VG_TESTS_HTTP_TESTSRV_H
#define VG_TESTS_HTTP_TESTSRV_H
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TSRV_ARRIVALS 256
#define TSRV_REQ_MAX (256 * 1024)

struct tsrv {
	int lfd;
	uint16_t port;
	pthread_t thr;
	atomic_bool stop;
	atomic_int conns; /* connection threads alive */
	atomic_int cur;	  /* requests being served now */
	atomic_int max;	  /* highest cur seen */
	atomic_uint hits;
	atomic_uint flaky_left;
	pthread_mutex_t mtx;
	uint64_t arrivals_us[TSRV_ARRIVALS];
	unsigned narrivals;
	char last_method[16];
	char last_path[256];
	char last_headers[8192];
	char *last_body;
	size_t last_body_len;
};

struct tsrv_conn {
	struct tsrv *s;
	int fd;
};

static inline uint64_t tsrv_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline bool tsrv_send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static inline bool tsrv_reply(int fd, int status, const char *extra,
			      const char *body, size_t len)
{
	char head[512];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s\r\n",
			 status, len, extra ? extra : "");

	return tsrv_send_all(fd, head, (size_t)n) &&
	       tsrv_send_all(fd, body, len);
}

/* Wait ms, giving up (false) when the server stops or the client hangs
 * up, as a real server's handler would notice. */
static inline bool tsrv_sleep(struct tsrv *s, int fd, unsigned ms)
{
	uint64_t end = tsrv_now_us() + (uint64_t)ms * 1000u;

	while (!atomic_load(&s->stop)) {
		struct pollfd p = { .fd = fd, .events = POLLRDHUP };
		uint64_t now = tsrv_now_us();

		if (now >= end)
			return true;
		if (poll(&p, 1, 10) > 0 && (p.revents & (POLLRDHUP | POLLHUP)))
			return false;
	}
	return false;
}

static inline size_t tsrv_query_num(const char *path, const char *key)
{
	const char *q = strchr(path, '?');
	size_t klen = strlen(key);

	while (q) {
		q++;
		if (!strncmp(q, key, klen) && q[klen] == '=')
			return (size_t)strtoul(q + klen + 1, NULL, 10);
		q = strchr(q, '&');
	}
	return 0;
}

/* Serve one parsed request; false closes the connection. */
static inline bool tsrv_serve(struct tsrv *s, int fd, const char *method,
			      const char *path, const char *body, size_t blen)
{
	if (!strcmp(method, "HEAD")) {
		static const char h[] = "HTTP/1.1 200 OK\r\nContent-Length: "
					"5\r\n\r\n";

		return tsrv_send_all(fd, h, sizeof(h) - 1);
	}
	if (!strcmp(path, "/ok"))
		return tsrv_reply(fd, 200, NULL, "hello", 5);
	if (!strcmp(path, "/echo")) {
		char extra[64];

		snprintf(extra, sizeof(extra), "X-Method: %s\r\n", method);
		return tsrv_reply(fd, 200, extra, body, blen);
	}
	if (!strncmp(path, "/slow", 5)) {
		if (!tsrv_sleep(s, fd, (unsigned)tsrv_query_num(path, "ms")))
			return false;
		return tsrv_reply(fd, 200, NULL, "slow", 4);
	}
	if (!strncmp(path, "/status/", 8))
		return tsrv_reply(fd, atoi(path + 8), NULL, "status", 6);
	if (!strcmp(path, "/fail500"))
		return tsrv_reply(fd, 500, NULL, "boom", 4);
	if (!strcmp(path, "/flaky")) {
		unsigned left = atomic_load(&s->flaky_left);

		while (left && !atomic_compare_exchange_weak(&s->flaky_left,
							     &left, left - 1))
			;
		if (left)
			return tsrv_reply(fd, 500, NULL, "flaky", 5);
		return tsrv_reply(fd, 200, NULL, "recovered", 9);
	}
	if (!strncmp(path, "/big", 4) || !strncmp(path, "/chunked", 8)) {
		size_t n = tsrv_query_num(path, "n");
		char *b = malloc(n + 1);
		bool ok;

		if (!b)
			return false;
		memset(b, 'x', n);
		if (path[1] == 'b') {
			ok = tsrv_reply(fd, 200, NULL, b, n);
		} else {
			const char *h = "HTTP/1.1 200 OK\r\n"
					"Transfer-Encoding: chunked\r\n\r\n";
			char sz[32];

			ok = tsrv_send_all(fd, h, strlen(h));
			for (size_t o = 0; ok && o < n; o += 1000) {
				size_t c = n - o < 1000 ? n - o : 1000;
				int l = snprintf(sz, sizeof(sz), "%zx\r\n", c);

				ok = tsrv_send_all(fd, sz, (size_t)l) &&
				     tsrv_send_all(fd, b + o, c) &&
				     tsrv_send_all(fd, "\r\n", 2);
			}
			ok = ok && tsrv_send_all(fd, "0\r\n\r\n", 5);
		}
		free(b);
		return ok;
	}
	if (!strcmp(path, "/malformed")) {
		const char *junk = "HELLO THERE\r\nthis is not http\r\n\r\n";

		tsrv_send_all(fd, junk, strlen(junk));
		return false;
	}
	if (!strcmp(path, "/close"))
		return false;
	return tsrv_reply(fd, 404, NULL, "nope", 4);
}

static inline void tsrv_record(struct tsrv *s, const char *method,
			       const char *path, const char *headers,
			       size_t hlen, const char *body, size_t blen)
{
	pthread_mutex_lock(&s->mtx);
	if (s->narrivals < TSRV_ARRIVALS)
		s->arrivals_us[s->narrivals++] = tsrv_now_us();
	snprintf(s->last_method, sizeof(s->last_method), "%s", method);
	snprintf(s->last_path, sizeof(s->last_path), "%s", path);
	if (hlen >= sizeof(s->last_headers))
		hlen = sizeof(s->last_headers) - 1;
	memcpy(s->last_headers, headers, hlen);
	s->last_headers[hlen] = '\0';
	free(s->last_body);
	s->last_body = malloc(blen + 1);
	if (s->last_body) {
		memcpy(s->last_body, body, blen);
		s->last_body[blen] = '\0';
	}
	s->last_body_len = blen;
	pthread_mutex_unlock(&s->mtx);
	atomic_fetch_add(&s->hits, 1);
}

/* The value of header name in a header block (copied), or false. */
static inline bool tsrv_header(const char *headers, const char *name, char *out,
			       size_t cap)
{
	size_t n = strlen(name);

	for (const char *p = headers; p && *p;) {
		const char *eol = strstr(p, "\r\n");
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (len > n && p[n] == ':' && !strncasecmp(p, name, n)) {
			const char *v = p + n + 1;
			size_t vl = len - n - 1;

			while (vl && *v == ' ') {
				v++;
				vl--;
			}
			if (vl >= cap)
				return false;
			memcpy(out, v, vl);
			out[vl] = '\0';
			return true;
		}
		p = eol ? eol + 2 : NULL;
	}
	return false;
}

static inline void *tsrv_conn_main(void *arg)
{
	struct tsrv_conn *cn = arg;
	struct tsrv *s = cn->s;
	char *buf = malloc(TSRV_REQ_MAX);
	size_t have = 0;
	int fd = cn->fd, one = 1;

	free(cn);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	while (buf && !atomic_load(&s->stop)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char *end, method[16], path[256], clen[32];
		size_t hlen, blen = 0;

		end = have ? memmem(buf, have, "\r\n\r\n", 4) : NULL;
		if (!end) {
			ssize_t n;

			if (have == TSRV_REQ_MAX)
				break;
			if (poll(&p, 1, 50) <= 0)
				continue;
			n = recv(fd, buf + have, TSRV_REQ_MAX - have, 0);
			if (n <= 0)
				break;
			have += (size_t)n;
			continue;
		}
		hlen = (size_t)(end - buf) + 4;
		buf[hlen - 2] = '\0';
		if (sscanf(buf, "%15s %255s", method, path) != 2)
			break;
		if (tsrv_header(buf, "Content-Length", clen, sizeof(clen)))
			blen = strtoul(clen, NULL, 10);
		if (blen > TSRV_REQ_MAX - hlen)
			break;
		while (have < hlen + blen && !atomic_load(&s->stop)) {
			ssize_t n;

			if (poll(&p, 1, 50) <= 0)
				continue;
			n = recv(fd, buf + have, TSRV_REQ_MAX - have, 0);
			if (n <= 0)
				goto out;
			have += (size_t)n;
		}
		if (have < hlen + blen)
			break;
		tsrv_record(s, method, path, buf, hlen - 2, buf + hlen, blen);
		int cur = atomic_fetch_add(&s->cur, 1) + 1;
		int mx = atomic_load(&s->max);

		while (cur > mx &&
		       !atomic_compare_exchange_weak(&s->max, &mx, cur))
			;
		bool keep = tsrv_serve(s, fd, method, path, buf + hlen, blen);

		atomic_fetch_sub(&s->cur, 1);
		if (!keep)
			break;
		memmove(buf, buf + hlen + blen, have - hlen - blen);
		have -= hlen + blen;
	}
out:
	free(buf);
	close(fd);
	atomic_fetch_sub(&s->conns, 1);
	return NULL;
}

static inline void *tsrv_main(void *arg)
{
	struct tsrv *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd p = { .fd = s->lfd, .events = POLLIN };
		struct tsrv_conn *cn;
		pthread_t t;
		int fd;

		if (poll(&p, 1, 50) <= 0)
			continue;
		fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		cn = malloc(sizeof(*cn));
		if (!cn) {
			close(fd);
			continue;
		}
		cn->s = s;
		cn->fd = fd;
		atomic_fetch_add(&s->conns, 1);
		if (pthread_create(&t, NULL, tsrv_conn_main, cn)) {
			atomic_fetch_sub(&s->conns, 1);
			close(fd);
			free(cn);
			continue;
		}
		pthread_detach(t);
	}
	return NULL;
}

/* Start on 127.0.0.1:0. Returns 0 or -errno. */
static inline int tsrv_start(struct tsrv *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int one = 1;

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mtx, NULL);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (s->lfd < 0)
		return -errno;
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(s->lfd, 512) ||
	    getsockname(s->lfd, (struct sockaddr *)&a, &alen)) {
		close(s->lfd);
		return -errno;
	}
	s->port = ntohs(a.sin_port);
	if (pthread_create(&s->thr, NULL, tsrv_main, s)) {
		close(s->lfd);
		return -EAGAIN;
	}
	return 0;
}

/* Stop accepting, wait (bounded) for connection threads, free. */
static inline void tsrv_stop(struct tsrv *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->thr, NULL);
	close(s->lfd);
	for (int i = 0; i < 300 && atomic_load(&s->conns) > 0; i++)
		usleep(10000);
	free(s->last_body);
	s->last_body = NULL;
	pthread_mutex_destroy(&s->mtx);
}

static inline void tsrv_reset_counts(struct tsrv *s)
{
	pthread_mutex_lock(&s->mtx);
	s->narrivals = 0;
	pthread_mutex_unlock(&s->mtx);
	atomic_store(&s->hits, 0);
	atomic_store(&s->max, 0);
}

/* A loopback port with nothing listening (connect is refused). */
static inline uint16_t tsrv_closed_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port = 0;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &alen))
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}
#endif
