/* Outgoing HTTP for flows (http nodes) and webhooks: libcurl multi driven by
 * the web loop's fds and timers, so no request ever blocks a call. Per-host
 * connection limits, per-try timeouts, retries with exponential backoff on
 * connect errors, timeouts and 5xx, and a circuit breaker per host (after
 * N consecutive failures, requests fail at once with -EBUSY for a cool-down;
 * then one trial request decides whether it closes).
 *
 * Threads: the client belongs to the web loop (create/destroy there).
 * http_client_submit() may be called from any thread: the request is copied
 * and posted to the web loop; the completion runs on the caller's reply
 * loop, exactly once per accepted request. */
#ifndef VG_HTTP_CLIENT_H
#define VG_HTTP_CLIENT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vg_loop;
struct http_client;

struct http_client_opts {
	unsigned max_host_connections;	/* 0: 8 */
	unsigned max_total_connections; /* 0: 64 */
	unsigned max_queued;		/* 0: 1000; beyond: -EAGAIN */
	unsigned breaker_failures;	/* 0: 5 */
	unsigned breaker_cooldown_ms;	/* 0: 30000 */
	size_t max_response_bytes;	/* 0: 1 MiB; more: -EMSGSIZE */
};

/* A request; everything is copied by http_client_submit(). */
struct http_req {
	const char *method; /* "GET", "POST", ... */
	const char *url;    /* http:// or https:// */
	const char *const *header_names;
	const char *const *header_values;
	unsigned nheaders;
	const char *body; /* may be NULL */
	size_t body_len;
	unsigned timeout_ms; /* per try; 0: 3000 */
	unsigned retries; /* extra tries (at most 10); backoff 100 ms * 2^n */
	const char *tag;  /* for logs/metrics ("flow:node", "webhook") */
};

/* Completion, on the reply loop. err: 0 (a response came: any status),
 * -ETIMEDOUT, -ECONNREFUSED (connect failed), -EHOSTUNREACH (resolve
 * failed), -EBUSY (circuit open: not sent), -EMSGSIZE (response too big),
 * -ECANCELED (client destroyed), -EIO (other transport error). status is
 * the final HTTP status (0 without a response); body is NUL-terminated,
 * owned by the client and valid only during the call. tries is how many
 * attempts were made. */
struct http_resp {
	int err;
	int status;
	const char *body;
	size_t body_len;
	unsigned tries;
	uint64_t elapsed_us;
};
typedef void(http_done_fn)(const struct http_resp *resp, void *arg);

/* On the web loop (loop is that loop). opts may be NULL. */
int http_client_create(struct http_client **cp, struct vg_loop *loop,
		       const struct http_client_opts *opts);
/* Any thread. Returns 0 (done will run on reply_loop once), -EINVAL (bad
 * method/url), -EAGAIN (queue full), -ESHUTDOWN, -ENOMEM. Methods: GET,
 * POST, PUT, PATCH, DELETE, HEAD; also -EINVAL for a URL with spaces or
 * control bytes or over 8 KiB, more than 64 headers, a header name that is
 * not an HTTP token or a value with CR/LF, a body over 1 MiB. */
int http_client_submit(struct http_client *c, const struct http_req *req,
		       struct vg_loop *reply_loop, http_done_fn *done,
		       void *arg);
/* On the web loop: abort everything; pending completions get -ECANCELED.
 * NULL is a no-op. */
void http_client_destroy(struct http_client *c);

/* Breaker state of a host ("host:port"), for tests and /metrics:
 * 0 closed, 1 open, 2 half-open. Web loop only. */
int http_client_breaker_state(const struct http_client *c, const char *host);

/* ---- webhooks: call events, signed ----
 * POST <url> with JSON {"event": "...", "call_id": "...", "ts": <ms>, ...}
 * and headers X-Voxgate-Timestamp: <unix seconds>, X-Voxgate-Signature:
 * v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>. Best effort:
 * failures are logged and counted, never block or fail a call. */
struct webhooks;
struct webhooks_opts {
	const char *const *urls;
	unsigned nurls;
	const char *secret;
	const char *events; /* comma list, NULL/"": all */
	unsigned timeout_ms;
	unsigned retries;
};
int webhooks_create(struct webhooks **wp, struct http_client *c,
		    const struct webhooks_opts *o);
void webhooks_destroy(struct webhooks *w);
/* Any thread. event: "started", "intent", "transferred", "ended",
 * "partial"; json_fields is a JSON object text whose members are added to
 * the event (may be NULL). An event the events list does not take is not
 * sent (0). Returns 0 or -errno (not sent; already logged). */
int webhooks_post(struct webhooks *w, const char *event, const char *call_id,
		  const char *json_fields);
/* Whether webhooks_post() would send event: the events list names it, or
 * is "" (all) and event is not opt-in ("partial" is sent only when named).
 * NULL w: false. Any thread. */
bool webhooks_wants(const struct webhooks *w, const char *event);
/* The signature header value for body at timestamp (tests, receivers). */
int webhooks_sign(const char *secret, int64_t ts, const char *body, size_t len,
		  char *out, size_t cap);
#endif
