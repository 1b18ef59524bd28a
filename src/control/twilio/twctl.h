/* Twilio control adapter: the voice webhooks (/twilio/voice, /twilio/gather,
 * /twilio/continue, /twilio/status) answered with TwiML built from a flow run
 * per CallSid. Twilio plays and listens; voxgate decides. Every request's
 * X-Twilio-Signature is checked before anything else (403). The run's state
 * is saved to the store after every answer, so a restart does not lose a
 * call in progress. One object, owned by the web loop: create, use and
 * destroy it there. docs/TWILIO.md. */
#ifndef VG_CONTROL_TWILIO_TWCTL_H
#define VG_CONTROL_TWILIO_TWCTL_H
#include <stdbool.h>

struct flow;
struct flow_backend;
struct flow_queue;
struct http_conn;
struct http_msg;
struct store;
struct twctl;
struct vg_loop;

struct twctl_cfg {
	struct vg_loop *loop; /* the web loop (replies, back-end results) */
	struct store *store;  /* may be NULL: no CDRs, no saved state */
	/* http, lookup, event, find_flow (subflows and restore),
	 * find_model; borrowed, must outlive the adapter. */
	const struct flow_backend *backend;
	/* The flow for a call to number `to` (borrowed), or NULL. */
	struct flow *(*route)(void *arg, const char *to);
	/* Called with true before and false after every use of route,
	 * backend->find_flow and the flow runtime, so the daemon can keep
	 * its flow set from being swapped meanwhile (a reload on another
	 * thread). May be NULL. */
	void (*flows_hold)(void *arg, bool hold);
	void *route_arg;
	/* Copied: */
	const char *auth_token; /* signatures */
	const char *public_url; /* base URL Twilio requests, no trailing / */
	const char *voice;	/* <Say voice>, "" none */
	const char *language;	/* <Say language>, <Gather language> */
	const char *agent_uri;	/* target of "transfer: agent" */
	bool media_calls; /* /voice answers <Connect><Stream> (Media Streams) */
	/* Borrowed, must outlive the controller: "queue:NAME" mapped to a
	 * URI is dialled (<Sip>/<Number>); an unmapped one is <Enqueue>d. */
	const struct flow_queue *queues;
	unsigned nqueues;
	/* A back-end request (http, lookup) is waited for at most this long
	 * in all; 0: 10 s. Then the flow's error path. */
	unsigned backend_timeout_ms;
	/* A webhook held for a back-end is answered after this long with
	 * <Pause> + <Redirect> to /twilio/continue (Twilio gives up on a
	 * webhook after 15 s); 0: 4 s. */
	unsigned wait_ms;
	/* Redirects per back-end request, then the flow's error path;
	 * 0: 8. */
	unsigned redirects_max;
};

/* Returns 0, -EINVAL (missing loop, backend, route, token or URL),
 * -ENOMEM. */
int twctl_create(struct twctl **tp, const struct twctl_cfg *cfg);
/* Drop every call in memory (their saved state stays in the store, so a
 * restarted daemon continues them) and answer held requests 503. NULL is
 * a no-op. */
void twctl_destroy(struct twctl *t);

/* The HTTP handler for paths under /twilio/ (api_route_fn). */
void twctl_request(struct http_conn *conn, const struct http_msg *msg,
		   void *arg);

/* Calls in memory. */
unsigned twctl_active(const struct twctl *t);
#endif
