/* Amazon Connect control adapter on the REST API port (web loop):
 *   POST /connect/lambda/{function}  a contact-flow Lambda event, answered
 *       with a STRING_MAP (or JSON) by a configured function: crm_lookup,
 *       classify, flow (a voxgate flow per ContactId, its state in the
 *       store between invocations) or http;
 *   POST /connect/lex  a Lex V2 code-hook event (lexhook.h).
 * Every request is authenticated first (ccauth.h: 401, nothing done),
 * bodies over max_body are 413. One object owned by the web loop: create,
 * use and destroy it there. docs/CONNECT.md. */
#ifndef VG_CONTROL_CONNECT_CCTL_H
#define VG_CONTROL_CONNECT_CCTL_H
#include <stdbool.h>

#include "config/config.h"

struct cctl;
struct flow;
struct flow_backend;
struct http_conn;
struct http_msg;
struct store;
struct vg_loop;

struct cctl_cfg {
	struct vg_loop *loop; /* the web loop */
	struct store *store;  /* NULL: the flow function answers 503 */
	/* http, lookup (CRM), find_model, find_flow; borrowed. */
	const struct flow_backend *backend;
	/* The flow for a called number (borrowed), or NULL. */
	struct flow *(*route)(void *arg, const char *to);
	/* Around every use of route / find_flow / the runtime (see
	 * twctl.h). May be NULL. */
	void (*flows_hold)(void *arg, bool hold);
	void *route_arg;
	const struct vg_config *config; /* connect: copied */
};

/* Returns 0, -EINVAL (missing loop, backend, route, key or secret),
 * -ENOMEM. */
int cctl_create(struct cctl **cp, const struct cctl_cfg *cfg);
/* Held requests are answered 503. NULL is a no-op. */
void cctl_destroy(struct cctl *c);

/* The HTTP handler for paths under /connect/ (api_route_fn). */
void cctl_request(struct http_conn *conn, const struct http_msg *msg,
		  void *arg);
#endif
