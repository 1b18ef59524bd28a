/* The REST API on the web loop: health, Prometheus metrics, and read-only
 * call records from the store. One object per listening socket, owned by
 * the web loop: create, use and destroy it on that loop's thread.
 *
 *   GET /healthz          200 {"status":"ok",...} (503 while draining)
 *   GET /metrics          Prometheus text format 0.0.4
 *   GET /v1/calls         ?limit=&before_ms=&before_id=&end_reason=
 *   GET /v1/calls/{id}    one call with every field
 * Errors are JSON: {"error":"<code>","message":"..."}. See docs/API.md. */
#ifndef VG_HTTP_API_H
#define VG_HTTP_API_H
#include <stdbool.h>
#include <stdint.h>

struct api;
struct store;
struct vg_loop;

struct api_status {
	bool draining;
	unsigned active_calls;
	unsigned max_calls;
	uint64_t uptime_s;
};

/* Fills *st for /healthz. Called on the web loop; it must be thread-safe
 * with respect to whoever owns the numbers (read atomics). */
typedef void(api_status_fn)(struct api_status *st, void *arg);

/* Listen on listen ("ip:port", "[v6]:port"; port 0 picks a free one) and
 * serve the routes above. Must be called ON loop's thread (the web loop,
 * e.g. from a loop_post()ed function); store replies come back to it.
 * store (borrowed, may be NULL: /v1/calls then answers 503) must outlive
 * the api; status may be NULL (then always "ok", zero counts). Returns 0,
 * -EINVAL (bad address, not on loop), -EADDRINUSE and other socket errors,
 * -ENOMEM. */
int api_create(struct api **ap, struct vg_loop *loop, const char *listen,
	       struct store *store, api_status_fn *status, void *arg);

/* Extra routes served by other layers (platform webhooks): every request
 * whose path starts with prefix goes to fn, any method, on the web loop.
 * fn answers conn itself, now or later (keeping a mem_ref on it). prefix
 * is borrowed (static or outliving a). Returns 0, -EINVAL, -ENOSPC (more
 * than API_ROUTES_MAX). On the web loop. */
struct http_conn;
struct http_msg;
typedef void(api_route_fn)(struct http_conn *conn, const struct http_msg *msg,
			   void *arg);
#define API_ROUTES_MAX 8
int api_route_add(struct api *a, const char *prefix, api_route_fn *fn,
		  void *arg);

/* The bound TCP port (useful with port 0), or 0. */
uint16_t api_port(const struct api *a);

/* Stop listening and close every connection. On the web loop. Requests
 * still waiting for the store are answered into closed connections, i.e.
 * dropped safely. NULL is a no-op. */
void api_destroy(struct api *a);
#endif
