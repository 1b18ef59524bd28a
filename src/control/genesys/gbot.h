/* Genesys Bot Connector adapter: voxgate flows as Genesys Cloud text bots.
 * Genesys's "Call Bot Connector" Architect action posts every customer
 * message to voxgate; each botSessionId runs one flow (the bot), walked
 * until it needs the customer again:
 *   say/play text  -> replymessages
 *   gather/menu    -> botState MOREDATA (the next message is its input,
 *                     classified by the flow's own NLU)
 *   transfer       -> COMPLETE, parameters action=transfer + target
 *   hangup / end   -> COMPLETE, parameters action=finished
 *   a broken run   -> FAILED with errorInfo
 * Routes (under /genesys/botconnector, an optional /botconnector segment
 * tolerated after it):
 *   GET  .../bots          the bot list (the configured flows, or all)
 *   GET  .../bots/{botId}  one bot
 *   POST .../messages      one turn (gbmsg.h)
 * Every request must carry the configured API key header (compared in
 * constant time) before anything else happens: 401 otherwise. The run's
 * state is saved to the store (platform "genesys-bot") after every turn.
 * One object, owned by the web loop. docs/GENESYS.md "Bot Connector". */
#ifndef VG_CONTROL_GENESYS_GBOT_H
#define VG_CONTROL_GENESYS_GBOT_H
#include <stdbool.h>
#include <stddef.h>

struct flow;
struct flow_backend;
struct flow_set;
struct gbot;
struct http_conn;
struct http_msg;
struct store;
struct vg_loop;

#define GBOT_PATH "/genesys/botconnector"
#define GBOT_PLATFORM "genesys-bot" /* store sessions and CDR platform */

struct gbot_cfg {
	struct vg_loop *loop; /* the web loop */
	struct store *store;  /* may be NULL: no CDRs, no saved state */
	/* http, lookup, event, find_flow (bots, subflows, restore),
	 * find_model; borrowed, must outlive the adapter. */
	const struct flow_backend *backend;
	/* The current flow set (borrowed, valid while held), for the bot
	 * list; may be NULL (then only `bots` are listed, via find_flow). */
	const struct flow_set *(*flows)(void *arg);
	/* As twctl_cfg.flows_hold; may be NULL. */
	void (*flows_hold)(void *arg, bool hold);
	void *flows_arg;
	/* Copied: */
	const char *api_key;	    /* required */
	const char *api_key_header; /* NULL/"": "X-API-KEY" */
	const char *bots;      /* "a,b": these flows; NULL/"": every flow */
	const char *language;  /* supportedLanguages; NULL: "en-us" */
	const char *agent_uri; /* target of "transfer: agent" */
	unsigned session_timeout_min; /* when botSessionTimeout is absent;
					 0: 30 */
	unsigned backend_timeout_ms;  /* hold a turn at most; 0: 10 s */
	unsigned max_sessions;	      /* in memory; 0: 10000 */
};

/* Returns 0, -EINVAL (missing loop, backend or api_key), -ENOMEM. */
int gbot_create(struct gbot **gp, const struct gbot_cfg *cfg);
/* Drop every session in memory (saved state stays in the store) and answer
 * held requests 503. NULL is a no-op. */
void gbot_destroy(struct gbot *g);

/* The HTTP handler for paths under GBOT_PATH (api_route_fn). */
void gbot_request(struct http_conn *conn, const struct http_msg *msg,
		  void *arg);

/* Sessions in memory. */
unsigned gbot_active(const struct gbot *g);
#endif
