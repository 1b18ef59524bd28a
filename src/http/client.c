/* Outgoing HTTP (see client.h): libcurl's multi-socket API driven by the
 * web loop's fd_listen and one libre timer. voxgate schedules requests
 * itself (per-host and total slots, FIFO) so that a request's per-try
 * timeout only runs while it is on the wire, and so the circuit breaker can
 * refuse it before a connection is even opened.
 *
 * Life of a request: submit (any thread: validate, copy, build the easy
 * handle) -> loop_post -> arrive (web loop: breaker pre-check, waiting
 * list) -> schedule (slot free and breaker admits) -> running in CURLM ->
 * done: retry after a libre timer (100 ms * 2^n) or finish: the response
 * is moved into an owned message posted to the caller's reply loop. */
#include "http/client.h"

#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <re.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/loop.h"
#include "http/client_priv.h"
#include "metrics/metrics.h"

enum {
	DEF_HOST_CONNS = 8,
	DEF_TOTAL_CONNS = 64,
	DEF_MAX_QUEUED = 1000,
	DEF_BREAKER_FAILURES = 5,
	DEF_BREAKER_COOLDOWN_MS = 30000,
	DEF_MAX_RESPONSE = 1024 * 1024,
	DEF_TIMEOUT_MS = 3000,
	BACKOFF_BASE_MS = 100,
	BACKOFF_MAX_SHIFT = 8, /* 25.6 s: beyond that, retrying is futile */
	RETRIES_MAX = 10,
	URL_MAX = 8192,
	HEADERS_MAX = 64,
	HEADER_LINE_MAX = 8192,
	REQ_BODY_MAX = 1024 * 1024,
	TAG_MAX = 64,
	HOST_KEY_MAX = 300, /* "[host]:port" */
	/* Hosts remembered for the breaker; idle closed ones are forgotten
	 * beyond this (URLs may come from templates). */
	HOSTS_MAX = 256,
	/* Hosts that get their own breaker-state series in /metrics. */
	HOST_GAUGES_MAX = 64,
};

enum breaker { BRK_CLOSED = 0, BRK_OPEN = 1, BRK_HALF_OPEN = 2 };

enum result {
	RES_2XX,
	RES_3XX,
	RES_4XX,
	RES_5XX,
	RES_TIMEOUT,
	RES_CONNECT,
	RES_RESOLVE,
	RES_CIRCUIT_OPEN,
	RES_TOO_BIG,
	RES_CANCELLED,
	RES_ERROR,
	RES_QUEUE_FULL,
	RES_N
};

static const char *const result_names[RES_N] = {
	"2xx",	   "3xx",	"4xx",	   "5xx",
	"timeout", "connect",	"resolve", "circuit_open",
	"too_big", "cancelled", "error",   "queue_full",
};

struct host {
	struct le le;
	struct http_client *c;
	char key[HOST_KEY_MAX];
	unsigned active;   /* tries on the wire */
	unsigned failures; /* consecutive, while closed */
	enum breaker state;
	bool trial; /* half-open: the one trial request is out */
	uint64_t open_until_ms;
	struct tmr cool_tmr;	    /* flips the gauge to half-open */
	struct metric_gauge *gauge; /* NULL until it first opens */
};

struct creq {
	struct le le; /* in exactly one of c->waiting, running, backoff */
	struct http_client *c;
	struct host *host;
	CURL *easy;
	struct curl_slist *headers;
	char *url;
	char *body;
	char host_key[HOST_KEY_MAX];
	char tag[TAG_MAX];
	unsigned retries;
	unsigned tries;
	uint64_t t0_us;
	struct vg_loop *reply;
	http_done_fn *done;
	void *arg;
	/* Response of the current try; capped at c->max_response. */
	char *rbuf;
	size_t rlen, rcap;
	bool too_big;
	bool trial;
	int last_err, last_status; /* of the previous try (for retries) */
	struct tmr backoff;
};

struct http_client {
	struct vg_loop *loop;
	CURLM *multi;
	struct tmr tmr; /* curl's timeout */
	struct list waiting, running, backoff;
	struct list hosts;
	struct list socks;
	unsigned nhosts, ngauges;
	unsigned active; /* tries on the wire, all hosts */
	unsigned max_host, max_total, max_queued;
	unsigned breaker_failures, breaker_cooldown_ms;
	size_t max_response;
	atomic_uint outstanding; /* accepted, not yet finished */
	atomic_uint refs;	 /* 1 owner + 1 per request posted */
	atomic_bool closing;
	struct metric_counter *m_result[RES_N];
	struct metric_counter *m_retries;
	struct metric_histogram *m_latency;
	struct metric_gauge *m_open; /* breakers open now */
};

struct csock {
	struct le le;
	struct http_client *c;
	curl_socket_t fd;
};

/* The completion, owned by the reply loop's queue until it runs. */
struct done_msg {
	http_done_fn *done;
	void *arg;
	struct http_resp resp;
	char *body;
};

static void schedule(struct http_client *c);

/* ---------- lifetime ---------- */

static void client_free(struct http_client *c)
{
	free(c);
	curl_global_cleanup();
}

static void client_unref(struct http_client *c)
{
	if (atomic_fetch_sub(&c->refs, 1) == 1)
		client_free(c);
}

static void req_free(struct creq *r)
{
	if (!r)
		return;
	tmr_cancel(&r->backoff);
	if (r->easy)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r->url);
	free(r->body);
	free(r->rbuf);
	free(r);
}

/* ---------- completion ---------- */

static void deliver(void *arg)
{
	struct done_msg *m = arg;

	m->resp.body = m->body ? m->body : "";
	m->done(&m->resp, m->arg);
	free(m->body);
	free(m);
}

static enum result result_of(int err, int status)
{
	switch (err) {
	case 0:
		if (status >= 500)
			return RES_5XX;
		if (status >= 400)
			return RES_4XX;
		if (status >= 300)
			return RES_3XX;
		return RES_2XX;
	case -ETIMEDOUT:
		return RES_TIMEOUT;
	case -ECONNREFUSED:
		return RES_CONNECT;
	case -EHOSTUNREACH:
		return RES_RESOLVE;
	case -EBUSY:
		return RES_CIRCUIT_OPEN;
	case -EMSGSIZE:
		return RES_TOO_BIG;
	case -ECANCELED:
		return RES_CANCELLED;
	default:
		return RES_ERROR;
	}
}

/* Unlinks r, posts its completion and frees it. With err the body is
 * dropped; a response (err 0) hands its buffer over. */
static void finish(struct creq *r, int err, int status)
{
	struct http_client *c = r->c;
	struct done_msg *m = calloc(1, sizeof(*m));
	uint64_t elapsed = clock_mono_us() - r->t0_us;
	enum result res = result_of(err, status);

	list_unlink(&r->le);
	metric_counter_add(c->m_result[res], 1);
	metric_histogram_observe(c->m_latency, (double)elapsed / 1e6);
	/* Callers log with their call id; this is for debugging only. */
	if (err && err != -ECANCELED)
		LOGD(NULL, "http_client_failed",
		     "tag=%s host=%s err=%d result=%s tries=%u", r->tag,
		     log_esc(r->host_key), err, result_names[res], r->tries);
	if (m) {
		m->done = r->done;
		m->arg = r->arg;
		m->resp.err = err;
		m->resp.status = status;
		m->resp.tries = r->tries;
		m->resp.elapsed_us = elapsed;
		if (!err && r->rbuf) {
			r->rbuf[r->rlen] = '\0';
			m->body = r->rbuf;
			m->resp.body_len = r->rlen;
			r->rbuf = NULL;
		}
	}
	if (!m || loop_post(r->reply, deliver, m)) {
		/* Only ENOMEM gets here; nothing else can reach the caller. */
		LOGE(NULL, "http_client_reply_lost", "tag=%s err=%d", r->tag,
		     err);
		if (m)
			free(m->body);
		free(m);
	}
	atomic_fetch_sub(&c->outstanding, 1);
	req_free(r);
}

/* ---------- hosts and the breaker ---------- */

static void host_gauge_set(struct host *h, enum breaker s)
{
	if (h->gauge)
		metric_gauge_set(h->gauge, (int64_t)s);
}

static void host_free(struct host *h)
{
	struct http_client *c = h->c;

	if (h->state != BRK_CLOSED)
		metric_gauge_add(c->m_open, -1);
	host_gauge_set(h, BRK_CLOSED);
	tmr_cancel(&h->cool_tmr);
	list_unlink(&h->le);
	c->nhosts--;
	free(h);
}

static bool host_idle(const struct host *h, uint64_t now_ms)
{
	if (h->active || h->trial)
		return false;
	return h->state == BRK_CLOSED ||
	       (h->state == BRK_OPEN && now_ms >= h->open_until_ms);
}

/* Forget one idle host whose breaker holds nothing worth keeping. Waiting
 * and backed-off requests keep a pointer to their host, so only a host
 * none of them names may go. */
static bool host_is_named(const struct http_client *c, const struct host *h)
{
	const struct list *lists[] = { &c->waiting, &c->backoff };

	for (size_t i = 0; i < 2; i++)
		for (struct le *le = lists[i]->head; le; le = le->next)
			if (((struct creq *)le->data)->host == h)
				return true;
	return false;
}

static void hosts_trim(struct http_client *c)
{
	uint64_t now = clock_mono_ms();

	for (struct le *le = c->hosts.head; le && c->nhosts >= HOSTS_MAX;) {
		struct host *h = le->data;

		le = le->next;
		if (host_idle(h, now) && !host_is_named(c, h))
			host_free(h);
	}
}

static struct host *host_find(const struct http_client *c, const char *key)
{
	for (struct le *le = c->hosts.head; le; le = le->next) {
		struct host *h = le->data;

		if (!strcmp(h->key, key))
			return h;
	}
	return NULL;
}

static struct host *host_get(struct http_client *c, const char *key)
{
	struct host *h = host_find(c, key);

	if (h)
		return h;
	if (c->nhosts >= HOSTS_MAX)
		hosts_trim(c);
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->c = c;
	snprintf(h->key, sizeof(h->key), "%s", key);
	tmr_init(&h->cool_tmr);
	list_append(&c->hosts, &h->le, h);
	c->nhosts++;
	return h;
}

static void on_cooled(void *arg)
{
	struct host *h = arg;

	host_gauge_set(h, BRK_HALF_OPEN);
}

static void breaker_open(struct host *h)
{
	struct http_client *c = h->c;
	char labels[HOST_KEY_MAX + 16];

	if (h->state == BRK_CLOSED)
		metric_gauge_add(c->m_open, 1);
	h->state = BRK_OPEN;
	h->trial = false;
	h->failures = 0;
	h->open_until_ms = clock_mono_ms() + c->breaker_cooldown_ms;
	if (!h->gauge && c->ngauges < HOST_GAUGES_MAX) {
		snprintf(labels, sizeof(labels), "host=\"%s\"", h->key);
		h->gauge = metrics_gauge("voxgate_http_client_breaker_state",
					 labels,
					 "Circuit breaker per host: 0 closed, "
					 "1 open, 2 half-open.");
		if (h->gauge)
			c->ngauges++;
	}
	host_gauge_set(h, BRK_OPEN);
	tmr_start(&h->cool_tmr, c->breaker_cooldown_ms, on_cooled, h);
	LOGW(NULL, "http_breaker_open", "host=%s cooldown_ms=%u",
	     log_esc(h->key), c->breaker_cooldown_ms);
}

static void breaker_close(struct host *h)
{
	if (h->state != BRK_CLOSED) {
		metric_gauge_add(h->c->m_open, -1);
		LOGI(NULL, "http_breaker_closed", "host=%s", log_esc(h->key));
	}
	h->state = BRK_CLOSED;
	h->trial = false;
	h->failures = 0;
	tmr_cancel(&h->cool_tmr);
	host_gauge_set(h, BRK_CLOSED);
}

/* Would a request be refused now (without changing anything)? */
static bool breaker_refuses(const struct host *h)
{
	switch (h->state) {
	case BRK_OPEN:
		return clock_mono_ms() < h->open_until_ms;
	case BRK_HALF_OPEN:
		return h->trial;
	default:
		return false;
	}
}

/* Admit r for a try: closed, or the one trial after the cool-down. */
static bool breaker_admit(struct host *h, struct creq *r)
{
	if (breaker_refuses(h))
		return false;
	if (h->state != BRK_CLOSED) {
		h->state = BRK_HALF_OPEN;
		h->trial = true;
		r->trial = true;
		host_gauge_set(h, BRK_HALF_OPEN);
	}
	return true;
}

/* Outcome of one try. Only the trial decides a non-closed breaker:
 * answers to tries sent before it opened say nothing new. */
static void breaker_record(struct host *h, struct creq *r, bool failed)
{
	if (r->trial) {
		r->trial = false;
		if (failed)
			breaker_open(h);
		else
			breaker_close(h);
		return;
	}
	if (h->state != BRK_CLOSED)
		return;
	if (!failed) {
		h->failures = 0;
		return;
	}
	if (++h->failures >= h->c->breaker_failures)
		breaker_open(h);
}

/* ---------- curl glue ---------- */

static int map_curl(CURLcode rc, const struct creq *r)
{
	switch (rc) {
	case CURLE_OK:
		return 0;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_FILESIZE_EXCEEDED:
		return -EMSGSIZE;
	case CURLE_WRITE_ERROR:
		return r->too_big ? -EMSGSIZE : -EIO;
	default:
		return -EIO;
	}
}

static size_t on_write(char *p, size_t size, size_t n, void *arg)
{
	struct creq *r = arg;
	size_t max = r->c->max_response;
	size_t len;

	if (__builtin_mul_overflow(size, n, &len) || len > max - r->rlen) {
		r->too_big = true;
		return 0;
	}
	if (r->rlen + len + 1 > r->rcap) {
		size_t cap = r->rcap ? r->rcap : 1024;
		char *nb;

		while (cap < r->rlen + len + 1)
			cap *= 2;
		if (cap > max + 1)
			cap = max + 1;
		nb = realloc(r->rbuf, cap);
		if (!nb)
			return 0;
		r->rbuf = nb;
		r->rcap = cap;
	}
	memcpy(r->rbuf + r->rlen, p, len);
	r->rlen += len;
	return len;
}

static void retry_fire(void *arg)
{
	struct creq *r = arg;
	struct http_client *c = r->c;

	list_unlink(&r->le);
	list_prepend(&c->waiting, &r->le, r);
	schedule(c);
}

static bool retryable(int err, int status)
{
	return err == -ETIMEDOUT || err == -ECONNREFUSED ||
	       err == -EHOSTUNREACH || (!err && status >= 500);
}

/* One try ended (r already out of the multi handle). */
static void try_done(struct creq *r, int err, int status)
{
	struct http_client *c = r->c;
	struct host *h = r->host;
	bool failed = retryable(err, status) || err == -EIO;

	h->active--;
	c->active--;
	breaker_record(h, r, failed);
	if (retryable(err, status) && r->tries <= r->retries &&
	    h->state == BRK_CLOSED && !atomic_load(&c->closing)) {
		unsigned shift = r->tries - 1;

		if (shift > BACKOFF_MAX_SHIFT)
			shift = BACKOFF_MAX_SHIFT;
		r->last_err = err;
		r->last_status = status;
		list_unlink(&r->le);
		list_append(&c->backoff, &r->le, r);
		metric_counter_add(c->m_retries, 1);
		tmr_start(&r->backoff, (uint64_t)BACKOFF_BASE_MS << shift,
			  retry_fire, r);
		return;
	}
	finish(r, err, status);
}

static void read_info(struct http_client *c)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(c->multi, &left))) {
		struct creq *r;
		char *priv = NULL;
		long status = 0;
		CURLcode rc;

		if (msg->msg != CURLMSG_DONE)
			continue;
		rc = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		r = (struct creq *)(void *)priv;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE,
				  &status);
		curl_multi_remove_handle(c->multi, msg->easy_handle);
		if (!r)
			continue;
		int err = map_curl(rc, r);
		/* A status line without a complete response is no answer. */
		try_done(r, err, err ? 0 : (int)status);
	}
	schedule(c);
}

static void on_fd(int flags, void *arg)
{
	struct csock *s = arg;
	struct http_client *c = s->c;
	curl_socket_t fd = s->fd; /* s may go during the action */
	int ev = 0, running;

	if (flags & FD_READ)
		ev |= CURL_CSELECT_IN;
	if (flags & FD_WRITE)
		ev |= CURL_CSELECT_OUT;
	if (flags & FD_EXCEPT)
		ev |= CURL_CSELECT_ERR;
	curl_multi_socket_action(c->multi, fd, ev, &running);
	read_info(c);
}

static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp,
		     void *sockp)
{
	struct http_client *c = userp;
	struct csock *s = sockp;
	int flags = 0;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		fd_close(fd);
		if (s) {
			list_unlink(&s->le);
			free(s);
		}
		return 0;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -1;
		s->c = c;
		s->fd = fd;
		list_append(&c->socks, &s->le, s);
		curl_multi_assign(c->multi, fd, s);
	}
	if (what & CURL_POLL_IN)
		flags |= FD_READ;
	if (what & CURL_POLL_OUT)
		flags |= FD_WRITE;
	if (!flags) {
		fd_close(fd);
		return 0;
	}
	return fd_listen(fd, flags, on_fd, s) ? -1 : 0;
}

static void on_tmr(void *arg)
{
	struct http_client *c = arg;
	int running;

	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	read_info(c);
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
	struct http_client *c = userp;

	(void)m;
	if (timeout_ms < 0)
		tmr_cancel(&c->tmr);
	else
		tmr_start(&c->tmr, (uint64_t)timeout_ms, on_tmr, c);
	return 0;
}

/* ---------- scheduling ---------- */

static void start_try(struct http_client *c, struct creq *r)
{
	r->tries++;
	r->rlen = 0;
	r->too_big = false;
	r->host->active++;
	c->active++;
	list_unlink(&r->le);
	list_append(&c->running, &r->le, r);
	if (curl_multi_add_handle(c->multi, r->easy) != CURLM_OK)
		try_done(r, -EIO, 0);
}

/* Start waiting requests, oldest first, while slots are free. */
static void schedule(struct http_client *c)
{
	struct le *le = c->waiting.head;

	while (le && c->active < c->max_total && !atomic_load(&c->closing)) {
		struct creq *r = le->data;

		le = le->next;
		if (r->host->active >= c->max_host)
			continue;
		if (!breaker_admit(r->host, r)) {
			/* A retry that meets an open circuit ends with what
			 * its last try got. */
			if (r->tries)
				finish(r, r->last_err, r->last_status);
			else
				finish(r, -EBUSY, 0);
			continue;
		}
		start_try(c, r);
	}
}

static void arrive(void *arg)
{
	struct creq *r = arg;
	struct http_client *c = r->c;

	list_append(&c->waiting, &r->le, r);
	if (atomic_load(&c->closing)) {
		finish(r, -ECANCELED, 0);
		goto out;
	}
	r->host = host_get(c, r->host_key);
	if (!r->host) {
		finish(r, -EIO, 0);
		goto out;
	}
	if (breaker_refuses(r->host)) {
		finish(r, -EBUSY, 0);
		goto out;
	}
	schedule(c);
out:
	client_unref(c);
}

/* ---------- submit (any thread) ---------- */

static bool method_ok(const char *m)
{
	static const char *const ok[] = { "GET",   "POST",   "PUT",
					  "PATCH", "DELETE", "HEAD" };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!strcmp(m, ok[i]))
			return true;
	return false;
}

static bool header_ok(const char *name, const char *value)
{
	size_t n = 0;

	if (!name || !value || !*name)
		return false;
	for (const char *p = name; *p; p++, n++)
		if (!isalnum((unsigned char)*p) &&
		    !strchr("!#$%&'*+-.^_`|~", *p))
			return false;
	for (const char *p = value; *p; p++, n++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return false;
	return n + 2 < HEADER_LINE_MAX;
}

/* "host:port" of an http(s) URL, or false. */
static bool url_host_key(const char *url, char *key, size_t cap)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;
	bool ok = false;

	if (!u)
		return false;
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f)
			goto out;
	/* curl would read "http:///x" as host "x": refuse it. */
	const char *sep = strstr(url, "://");
	if (!sep || sep[3] == '/' || sep[3] == '\0')
		goto out;
	if (curl_url_set(u, CURLUPART_URL, url, 0) ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT))
		goto out;
	if (strcasecmp(scheme, "http") && strcasecmp(scheme, "https"))
		goto out;
	if (!*host)
		goto out;
	for (char *p = host; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	int n = snprintf(key, cap, "%s:%s", host, port);
	ok = n > 0 && (size_t)n < cap;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return ok;
}

static int build_easy(struct http_client *c, struct creq *r,
		      const struct http_req *req)
{
	unsigned timeout = req->timeout_ms ? req->timeout_ms : DEF_TIMEOUT_MS;
	CURL *e = curl_easy_init();
	char line[HEADER_LINE_MAX];

	if (!e)
		return -ENOMEM;
	r->easy = e;
	for (unsigned i = 0; i < req->nheaders; i++) {
		struct curl_slist *l;

		snprintf(line, sizeof(line), "%s: %s", req->header_names[i],
			 req->header_values[i]);
		l = curl_slist_append(r->headers, line);
		if (!l)
			return -ENOMEM;
		r->headers = l;
	}
	/* No "Expect: 100-continue" round trip for larger bodies. */
	struct curl_slist *l = curl_slist_append(r->headers, "Expect:");
	if (!l)
		return -ENOMEM;
	r->headers = l;

	curl_easy_setopt(e, CURLOPT_URL, r->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
			 (curl_off_t)c->max_response);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "voxgate/" VOXGATE_VERSION);
	bool is_get = !strcmp(req->method, "GET");
	/* POST, PUT and PATCH always carry a body (Content-Length: 0 when
	 * empty); GET and DELETE only when given one. */
	bool send_body = r->body || !strcmp(req->method, "POST") ||
			 !strcmp(req->method, "PUT") ||
			 !strcmp(req->method, "PATCH");

	if (!strcmp(req->method, "HEAD"))
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else if (!is_get || send_body)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
	if (send_body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? r->body : "");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(r->body ? req->body_len : 0));
	}
	return 0;
}

static int validate(const struct http_req *req, char *key, size_t cap)
{
	if (!req || !req->method || !req->url || !method_ok(req->method))
		return -EINVAL;
	if (strlen(req->url) >= URL_MAX || !url_host_key(req->url, key, cap))
		return -EINVAL;
	if (req->nheaders > HEADERS_MAX ||
	    (req->nheaders && (!req->header_names || !req->header_values)))
		return -EINVAL;
	for (unsigned i = 0; i < req->nheaders; i++)
		if (!header_ok(req->header_names[i], req->header_values[i]))
			return -EINVAL;
	if ((req->body_len && !req->body) || req->body_len > REQ_BODY_MAX)
		return -EINVAL;
	return 0;
}

int http_client_submit(struct http_client *c, const struct http_req *req,
		       struct vg_loop *reply_loop, http_done_fn *done,
		       void *arg)
{
	char key[HOST_KEY_MAX];
	struct creq *r;
	int err;

	if (!c || !reply_loop || !done)
		return -EINVAL;
	err = validate(req, key, sizeof(key));
	if (err)
		return err;
	if (atomic_load(&c->closing))
		return -ESHUTDOWN;
	if (atomic_fetch_add(&c->outstanding, 1) >= c->max_queued) {
		atomic_fetch_sub(&c->outstanding, 1);
		metric_counter_add(c->m_result[RES_QUEUE_FULL], 1);
		return -EAGAIN;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		err = -ENOMEM;
		goto fail;
	}
	r->c = c;
	r->t0_us = clock_mono_us();
	r->retries = req->retries < RETRIES_MAX ? req->retries : RETRIES_MAX;
	r->reply = reply_loop;
	r->done = done;
	r->arg = arg;
	tmr_init(&r->backoff);
	snprintf(r->host_key, sizeof(r->host_key), "%s", key);
	snprintf(r->tag, sizeof(r->tag), "%s", req->tag ? req->tag : "-");
	r->url = strdup(req->url);
	if (req->body) {
		r->body = malloc(req->body_len + 1);
		if (r->body) {
			memcpy(r->body, req->body, req->body_len);
			r->body[req->body_len] = '\0';
		}
	}
	if (!r->url || (req->body && !r->body)) {
		err = -ENOMEM;
		goto fail;
	}
	err = build_easy(c, r, req);
	if (err)
		goto fail;
	atomic_fetch_add(&c->refs, 1);
	err = loop_post(c->loop, arrive, r);
	if (err) {
		atomic_fetch_sub(&c->refs, 1);
		goto fail;
	}
	return 0;
fail:
	req_free(r);
	atomic_fetch_sub(&c->outstanding, 1);
	return err;
}

/* ---------- create / destroy ---------- */

int http_client_create(struct http_client **cp, struct vg_loop *loop,
		       const struct http_client_opts *opts)
{
	static const struct http_client_opts none;
	const struct http_client_opts *o = opts ? opts : &none;
	struct http_client *c;
	char labels[48];

	if (!cp || !loop)
		return -EINVAL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return -ENOMEM;
	c = calloc(1, sizeof(*c));
	if (!c) {
		curl_global_cleanup();
		return -ENOMEM;
	}
	c->loop = loop;
	c->max_host = o->max_host_connections ? o->max_host_connections
					      : DEF_HOST_CONNS;
	c->max_total = o->max_total_connections ? o->max_total_connections
						: DEF_TOTAL_CONNS;
	c->max_queued = o->max_queued ? o->max_queued : DEF_MAX_QUEUED;
	c->breaker_failures = o->breaker_failures ? o->breaker_failures
						  : DEF_BREAKER_FAILURES;
	c->breaker_cooldown_ms = o->breaker_cooldown_ms
					 ? o->breaker_cooldown_ms
					 : DEF_BREAKER_COOLDOWN_MS;
	c->max_response = o->max_response_bytes ? o->max_response_bytes
						: DEF_MAX_RESPONSE;
	atomic_init(&c->refs, 1);
	atomic_init(&c->outstanding, 0);
	atomic_init(&c->closing, false);
	tmr_init(&c->tmr);
	c->multi = curl_multi_init();
	if (!c->multi) {
		client_free(c);
		return -ENOMEM;
	}
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
			  (long)c->max_host);
	curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
			  (long)c->max_total);
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)c->max_total);

	for (int i = 0; i < RES_N; i++) {
		snprintf(labels, sizeof(labels), "result=\"%s\"",
			 result_names[i]);
		c->m_result[i] = metrics_counter(
			"voxgate_http_client_requests_total", labels,
			"Outgoing HTTP requests by outcome (after retries).");
	}
	c->m_retries =
		metrics_counter("voxgate_http_client_retries_total", NULL,
				"Outgoing HTTP tries repeated after a connect "
				"error, timeout or 5xx.");
	c->m_latency = metrics_histogram(
		"voxgate_http_client_request_seconds", NULL,
		"Outgoing HTTP time from submit to completion, all tries.",
		NULL, 0);
	c->m_open = metrics_gauge("voxgate_http_client_breakers_open", NULL,
				  "Hosts whose circuit breaker is not closed.");
	*cp = c;
	return 0;
}

/* finish() unlinks and frees only its own request: take next first. */
static void cancel_list(struct list *l)
{
	for (struct le *le = l->head, *next; le; le = next) {
		next = le->next;
		finish(le->data, -ECANCELED, 0);
	}
}

void http_client_destroy(struct http_client *c)
{
	if (!c)
		return;
	atomic_store(&c->closing, true);
	for (struct le *le = c->running.head; le; le = le->next) {
		struct creq *r = le->data;

		curl_multi_remove_handle(c->multi, r->easy);
	}
	cancel_list(&c->running);
	cancel_list(&c->backoff);
	cancel_list(&c->waiting);
	curl_multi_cleanup(c->multi);
	c->multi = NULL;
	for (struct le *le = c->socks.head, *next; le; le = next) {
		struct csock *s = le->data;

		next = le->next;
		fd_close(s->fd);
		list_unlink(&s->le);
		free(s);
	}
	for (struct le *le = c->hosts.head, *next; le; le = next) {
		next = le->next;
		host_free(le->data);
	}
	/* Removing handles may have re-armed curl's timer. */
	tmr_cancel(&c->tmr);
	/* Requests still on their way here find the client closing and are
	 * cancelled; the last of them frees it. */
	client_unref(c);
}

int http_client_breaker_state(const struct http_client *c, const char *host)
{
	const struct host *h;

	if (!c || !host)
		return 0;
	h = host_find(c, host);
	if (!h)
		return BRK_CLOSED;
	if (h->state == BRK_OPEN && clock_mono_ms() >= h->open_until_ms)
		return BRK_HALF_OPEN;
	return (int)h->state;
}

struct vg_loop *http_client_loop(const struct http_client *c)
{
	return c ? c->loop : NULL;
}
