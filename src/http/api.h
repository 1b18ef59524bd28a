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

/* The bound TCP port (useful with port 0), or 0. */
uint16_t api_port(const struct api *a);

/* Stop listening and close every connection. On the web loop. Requests
 * still waiting for the store are answered into closed connections, i.e.
 * dropped safely. NULL is a no-op. */
void api_destroy(struct api *a);
#endif
