/* REST trigger for the AudioHook server-initiated pause (PCI secure pause
 * from an agent desktop), on the REST API port (web loop):
 *
 *   POST /v1/audiohook/{session-id}/pause
 *   POST /v1/audiohook/{session-id}/resume
 *   X-API-KEY: <genesys.api_key>
 *
 * 200 {"session":..,"action":"pause"} once the request went to Genesys;
 * 401 (key), 404 (no such session), 405 (method), 409 (already paused /
 * not paused), 410 (session closing), 503 (server not running). The work
 * is posted to the media loop (the server's) and the answer back. */
#ifndef VG_CONTROL_GENESYS_AHREST_H
#define VG_CONTROL_GENESYS_AHREST_H

struct ahrest;
struct audiohook;
struct http_conn;
struct http_msg;
struct vg_loop;

#define AHREST_PREFIX "/v1/audiohook/"

/* *ahp is read on the media loop only (NULL: not running). api_key is
 * copied (wiped on destroy). Returns 0, -EINVAL, -ENOMEM. */
int ahrest_create(struct ahrest **rp, struct vg_loop *media,
		  struct vg_loop *web, struct audiohook *const *ahp,
		  const char *api_key);
void ahrest_destroy(struct ahrest *r); /* NULL is a no-op */
/* The api_route_fn for AHREST_PREFIX (web loop). */
void ahrest_request(struct http_conn *conn, const struct http_msg *msg,
		    void *arg);
#endif
