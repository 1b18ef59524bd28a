/* REST API server (see api.h) on libre's HTTP server. Store queries are
 * asynchronous: the request keeps a reference to its connection until the
 * store's reply comes back to the web loop, and a reply into a connection
 * that closed meanwhile is dropped (libre then refuses the send). */
#include "http/api.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cJSON.h>
#include <re.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/loop.h"
#include "http/api_query.h"
#include "metrics/metrics.h"
#include "store/store.h"

enum {
	LISTEN_BACKLOG = 1024,
	/* Requests waiting for the store at once; past this, 503. It bounds
	 * the connections a slow disk can pin. */
	PENDING_MAX = 256,
};

static const char CT_JSON[] = "application/json";
static const char CT_PROM[] = "text/plain; version=0.0.4; charset=utf-8";

struct pending;

struct api {
	struct vg_loop *loop;
	struct http_sock *sock;
	struct store *store;
	api_status_fn *status;
	void *arg;
	struct pending *pending; /* waiting for the store */
	unsigned npending;
	struct {
		const char *prefix;
		api_route_fn *fn;
		void *arg;
	} routes[API_ROUTES_MAX]; /* api_route_add() */
	unsigned nroutes;
};

/* A request waiting for the store. api is cleared when the api goes away
 * first; the reply then only releases the connection. */
struct pending {
	struct pending *prev, *next;
	struct api *api;
	struct http_conn *conn; /* a reference (mem_ref) */
	const char *route;
	uint64_t t0_us;
};

static const char *reason_phrase(uint16_t code)
{
	switch (code) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

static void count_request(const char *route, uint16_t code, uint64_t t0_us)
{
	char labels[64];
	snprintf(labels, sizeof(labels), "route=\"%s\",code=\"%u\"", route,
		 code);
	metric_counter_add(metrics_counter("voxgate_http_requests_total",
					   labels,
					   "REST API requests by route and "
					   "status code."),
			   1);
	snprintf(labels, sizeof(labels), "route=\"%s\"", route);
	metric_histogram_observe(
		metrics_histogram("voxgate_http_request_seconds", labels,
				  "REST API time from request to reply.", NULL,
				  0),
		(double)(clock_mono_us() - t0_us) / 1e6);
}

/* Send one complete response. extra: more header lines ("X: y\r\n"). */
static void respond(struct http_conn *conn, const char *route, uint64_t t0_us,
		    uint16_t code, const char *ctype, const char *body,
		    size_t len, const char *extra)
{
	int err = http_reply(conn, code, reason_phrase(code),
			     "Content-Type: %s\r\n"
			     "Content-Length: %zu\r\n"
			     "Cache-Control: no-store\r\n"
			     "%s"
			     "\r\n"
			     "%b",
			     ctype, len, extra ? extra : "", body, len);
	if (err && err != ENOTCONN)
		LOGW(NULL, "http_reply_failed", "route=%s code=%u err=%d",
		     route, code, err);
	/* 499 (nginx's "client closed request"): the client left before a
	 * store reply came back. */
	count_request(route, err == ENOTCONN ? 499 : code, t0_us);
}

static void respond_json(struct http_conn *conn, const char *route,
			 uint64_t t0_us, uint16_t code, const cJSON *doc,
			 const char *extra)
{
	char *txt = cJSON_PrintUnformatted(doc);
	if (!txt) {
		static const char oom[] = "{\"error\":\"internal\"}";
		respond(conn, route, t0_us, 500, CT_JSON, oom, sizeof(oom) - 1,
			NULL);
		return;
	}
	respond(conn, route, t0_us, code, CT_JSON, txt, strlen(txt), extra);
	free(txt);
}

static void respond_error(struct http_conn *conn, const char *route,
			  uint64_t t0_us, uint16_t code, const char *error,
			  const char *message, const char *extra)
{
	cJSON *doc = cJSON_CreateObject();
	if (doc) {
		cJSON_AddStringToObject(doc, "error", error);
		cJSON_AddStringToObject(doc, "message", message);
	}
	respond_json(conn, route, t0_us, code, doc, extra);
	cJSON_Delete(doc);
}

static void pending_unlink(struct pending *p)
{
	struct api *a = p->api;
	if (!a)
		return;
	if (p->prev)
		p->prev->next = p->next;
	else
		a->pending = p->next;
	if (p->next)
		p->next->prev = p->prev;
	a->npending--;
	p->api = NULL;
}

static bool conn_is_pending(const struct api *a, const struct http_conn *c)
{
	for (const struct pending *p = a->pending; p; p = p->next)
		if (p->conn == c)
			return true;
	return false;
}

/* Store reply, on the web loop. */
static void on_store_json(int err, char *json, size_t len, void *arg)
{
	struct pending *p = arg;

	pending_unlink(p);
	if (!err) {
		respond(p->conn, p->route, p->t0_us, 200, CT_JSON, json, len,
			NULL);
	} else if (err == -ENOENT) {
		respond_error(p->conn, p->route, p->t0_us, 404, "not_found",
			      "no such call", NULL);
	} else {
		LOGW(NULL, "api_store_failed", "route=%s err=%d", p->route,
		     err);
		respond_error(p->conn, p->route, p->t0_us, 500, "internal",
			      "store query failed", NULL);
	}
	free(json);
	mem_deref(p->conn);
	free(p);
}

static struct pending *pending_new(struct api *a, struct http_conn *conn,
				   const char *route, uint64_t t0_us)
{
	struct pending *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->api = a;
	p->conn = mem_ref(conn);
	p->route = route;
	p->t0_us = t0_us;
	p->next = a->pending;
	if (a->pending)
		a->pending->prev = p;
	a->pending = p;
	a->npending++;
	return p;
}

static void pending_abort(struct pending *p)
{
	pending_unlink(p);
	mem_deref(p->conn);
	free(p);
}

/* Map a refused store call to a reply. */
static void respond_store_refused(struct http_conn *conn, const char *route,
				  uint64_t t0_us, int err)
{
	if (err == -EAGAIN || err == -ESHUTDOWN)
		respond_error(conn, route, t0_us, 503, "unavailable",
			      "store is busy, retry later",
			      "Retry-After: 1\r\n");
	else if (err == -EINVAL)
		respond_error(conn, route, t0_us, 400, "bad_request",
			      "invalid parameters", NULL);
	else
		respond_error(conn, route, t0_us, 500, "internal",
			      "store query failed", NULL);
}

static bool store_ready(struct api *a, struct http_conn *conn,
			const char *route, uint64_t t0_us)
{
	if (!a->store) {
		respond_error(conn, route, t0_us, 503, "unavailable",
			      "no store configured", NULL);
		return false;
	}
	if (a->npending >= PENDING_MAX) {
		respond_error(conn, route, t0_us, 503, "unavailable",
			      "too many queries in flight",
			      "Retry-After: 1\r\n");
		return false;
	}
	return true;
}

static void handle_calls_list(struct api *a, struct http_conn *conn,
			      const struct http_msg *msg, uint64_t t0_us)
{
	static const char route[] = "calls_list";
	struct api_calls_query q;
	const char *why = "bad query";

	if (api_query_parse(msg->prm.p, msg->prm.l, &q, &why)) {
		respond_error(conn, route, t0_us, 400, "bad_request", why,
			      NULL);
		return;
	}
	if (!store_ready(a, conn, route, t0_us))
		return;
	struct store_call_query sq = {
		.limit = q.limit,
		.before_ms = q.before_ms,
		.before_id = q.before_id[0] ? q.before_id : NULL,
		.end_reason = q.end_reason[0] ? q.end_reason : NULL,
	};
	struct pending *p = pending_new(a, conn, route, t0_us);
	if (!p) {
		respond_store_refused(conn, route, t0_us, -ENOMEM);
		return;
	}
	int err = store_calls_list(a->store, &sq, a->loop, on_store_json, p);
	if (err) {
		pending_abort(p);
		respond_store_refused(conn, route, t0_us, err);
	}
}

static void handle_call_get(struct api *a, struct http_conn *conn,
			    const struct pl *seg, uint64_t t0_us)
{
	static const char route[] = "call_get";
	char id[API_CALL_ID_MAX + 1];

	if (api_call_id_parse(seg->p, seg->l, id, sizeof(id))) {
		respond_error(conn, route, t0_us, 400, "bad_request",
			      "invalid call id", NULL);
		return;
	}
	if (!store_ready(a, conn, route, t0_us))
		return;
	struct pending *p = pending_new(a, conn, route, t0_us);
	if (!p) {
		respond_store_refused(conn, route, t0_us, -ENOMEM);
		return;
	}
	int err = store_call_get(a->store, id, a->loop, on_store_json, p);
	if (err) {
		pending_abort(p);
		respond_store_refused(conn, route, t0_us, err);
	}
}

static void handle_healthz(struct api *a, struct http_conn *conn,
			   uint64_t t0_us)
{
	struct api_status st = { 0 };
	if (a->status)
		a->status(&st, a->arg);

	cJSON *doc = cJSON_CreateObject();
	if (doc) {
		cJSON_AddStringToObject(doc, "status",
					st.draining ? "draining" : "ok");
		cJSON_AddNumberToObject(doc, "active_calls", st.active_calls);
		cJSON_AddNumberToObject(doc, "max_calls", st.max_calls);
		cJSON_AddNumberToObject(doc, "uptime_s", (double)st.uptime_s);
		cJSON_AddStringToObject(doc, "version", VOXGATE_VERSION);
	}
	/* 503 while draining takes the node out of a load balancer's pool
	 * while its calls finish. */
	respond_json(conn, "healthz", t0_us, st.draining ? 503 : 200, doc,
		     NULL);
	cJSON_Delete(doc);
}

static void handle_metrics(struct http_conn *conn, uint64_t t0_us)
{
	size_t len = 0;
	char *txt = metrics_render(&len);
	if (!txt) {
		respond_error(conn, "metrics", t0_us, 500, "internal",
			      "metrics unavailable", NULL);
		return;
	}
	respond(conn, "metrics", t0_us, 200, CT_PROM, txt, len, NULL);
	free(txt);
}

static void set_nodelay(struct http_conn *conn)
{
	/* libre has no accept hook for HTTP, so this runs per request; the
	 * call is idempotent and cheap next to the reply it speeds up. */
	int fd = tcp_conn_fd(http_conn_tcp(conn));
	int one = 1;
	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				 sizeof(one));
}

static bool pl_has_prefix(const struct pl *pl, const char *prefix, size_t n)
{
	return pl->l >= n && !memcmp(pl->p, prefix, n);
}

static void on_request(struct http_conn *conn, const struct http_msg *msg,
		       void *arg)
{
	static const char calls_prefix[] = "/v1/calls/";
	const size_t calls_prefix_len = sizeof(calls_prefix) - 1;
	struct api *a = arg;
	uint64_t t0_us = clock_mono_us();
	const char *route;
	struct pl seg = PL_INIT;

	set_nodelay(conn);
	if (!pl_strcmp(&msg->path, "/healthz")) {
		route = "healthz";
	} else if (!pl_strcmp(&msg->path, "/metrics")) {
		route = "metrics";
	} else if (!pl_strcmp(&msg->path, "/v1/calls")) {
		route = "calls_list";
	} else if (pl_has_prefix(&msg->path, calls_prefix, calls_prefix_len) &&
		   msg->path.l > calls_prefix_len &&
		   !memchr(msg->path.p + calls_prefix_len, '/',
			   msg->path.l - calls_prefix_len)) {
		route = "call_get";
		seg.p = msg->path.p + calls_prefix_len;
		seg.l = msg->path.l - calls_prefix_len;
	} else {
		for (unsigned i = 0; i < a->nroutes; i++) {
			size_t n = strlen(a->routes[i].prefix);
			if (pl_has_prefix(&msg->path, a->routes[i].prefix, n)) {
				a->routes[i].fn(conn, msg, a->routes[i].arg);
				return;
			}
		}
		respond_error(conn, "other", t0_us, 404, "not_found",
			      "no such route", NULL);
		return;
	}

	if (pl_strcmp(&msg->met, "GET")) {
		respond_error(conn, route, t0_us, 405, "method_not_allowed",
			      "only GET is allowed", "Allow: GET\r\n");
		return;
	}
	/* A pipelined request behind one still waiting for the store would
	 * be answered out of order: drop the connection instead. */
	if (conn_is_pending(a, conn)) {
		LOGW(NULL, "api_pipelining_refused", "route=%s", route);
		http_conn_close(conn);
		return;
	}

	if (!strcmp(route, "healthz"))
		handle_healthz(a, conn, t0_us);
	else if (!strcmp(route, "metrics"))
		handle_metrics(conn, t0_us);
	else if (!strcmp(route, "calls_list"))
		handle_calls_list(a, conn, msg, t0_us);
	else
		handle_call_get(a, conn, &seg, t0_us);
}

int api_create(struct api **ap, struct vg_loop *loop, const char *listen,
	       struct store *store, api_status_fn *status, void *arg)
{
	struct sa laddr;

	if (!ap || !listen || !loop_is_current(loop))
		return -EINVAL;
	if (sa_decode(&laddr, listen, strlen(listen)))
		return -EINVAL;
	struct api *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->loop = loop;
	a->store = store;
	a->status = status;
	a->arg = arg;

	int err = http_listen(&a->sock, &laddr, on_request, a);
	if (!err)
		err = tcp_sock_listen(http_sock_tcp(a->sock), LISTEN_BACKLOG);
	if (err) {
		LOGE(NULL, "api_listen_failed", "addr=%s err=%d",
		     log_esc(listen), err);
		a->sock = mem_deref(a->sock);
		free(a);
		return -err;
	}
	LOGI(NULL, "api_listening", "addr=%s port=%u", log_esc(listen),
	     api_port(a));
	*ap = a;
	return 0;
}

int api_route_add(struct api *a, const char *prefix, api_route_fn *fn,
		  void *arg)
{
	if (!a || !prefix || prefix[0] != '/' || !fn)
		return -EINVAL;
	if (a->nroutes >= API_ROUTES_MAX)
		return -ENOSPC;
	a->routes[a->nroutes].prefix = prefix;
	a->routes[a->nroutes].fn = fn;
	a->routes[a->nroutes].arg = arg;
	a->nroutes++;
	return 0;
}

uint16_t api_port(const struct api *a)
{
	struct sa local;
	if (!a || tcp_sock_local_get(http_sock_tcp(a->sock), &local))
		return 0;
	return sa_port(&local);
}

void api_destroy(struct api *a)
{
	if (!a)
		return;
	/* Waiting requests keep their connection reference; they learn the
	 * api is gone from p->api and only release the connection. */
	while (a->pending)
		pending_unlink(a->pending);
	a->sock = mem_deref(a->sock);
	free(a);
}
