/* Flow sessions of the control adapters (Twilio webhooks, Genesys Bot
 * Connector, Amazon Connect): what every adapter that drives a flow run per
 * platform session on the web loop does the same way. The adapter keeps
 * its protocol and what it answers (TwiML, Bot Connector JSON, a Connect
 * map); this module keeps the run, the CDR record (flow path and turns),
 * the saved state in the store, call events, a held back-end request, the
 * list of sessions in memory and store reads that may outlive the
 * adapter.
 *
 * Contract:
 * - Thread: everything runs on the web loop (host->loop); nothing blocks
 *   (the store and back-ends answer through the loop).
 * - Ownership: struct ctlsess lives in the adapter's session object
 *   (caller storage: ctlsess_init/ctlsess_fini). The host is borrowed and
 *   must outlive every session that uses it; so must host->backend.
 * - Flows: the functions that touch the flow set or the runtime hold it
 *   (host->flows_hold) themselves, except ctlsess_run_create, whose flow
 *   comes from the caller's own hold.
 * - Back-end requests: at most one per session (ctlsess_backend_start);
 *   exactly one of host->drive (the answer) or host->timeout is called for
 *   it, never after ctlsess_fini.
 * - Store reads (ctlsess_read): the callback runs only while the adapter
 *   lives (before ctlsess_host_close); afterwards the read frees its
 *   argument through its drop function.
 * - Callbacks never free the session under this module: the drive,
 *   timeout and read callbacks may finish and free it (nothing here
 *   touches it after they return).
 * - Errors: negative errno; nothing is logged twice. */
#ifndef VG_CONTROL_CTLSESS_H
#define VG_CONTROL_CTLSESS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <re.h>

struct cJSON;
struct ctlsess;
struct ctlsess_read;
struct flow;
struct flow_action;
struct flow_backend;
struct flow_result;
struct flow_turn_info;
struct http_conn;
struct store;
struct vg_loop;

enum {
	CTLSESS_ID_MAX = 128, /* STORE_SESSION_KEY_MAX */
	CTLSESS_FIELD_MAX = 256,
	CTLSESS_DTMF_MAX = 256,
	CTLSESS_PATH_MAX = 500,	 /* flow path entries kept */
	CTLSESS_TURNS_MAX = 200, /* turn records kept */
	CTLSESS_STATE_VERSION = 1,
};

/* What an adapter tells its sessions; caller storage, filled once. */
struct ctlsess_host {
	struct vg_loop *loop;		    /* the web loop */
	struct store *store;		    /* NULL: no CDRs, no saved state */
	const struct flow_backend *backend; /* borrowed */
	/* Called with true before and false after every use of the flow
	 * set or the runtime (twctl_cfg.flows_hold). May be NULL. */
	void (*flows_hold)(void *arg, bool hold);
	void *hold_arg;
	const char *platform; /* store sessions and CDR platform */
	const char *channel;  /* call.channel, the "started" event */
	const char *log_name; /* prefix of log events ("twilio") */
	/* Non-NULL: the caller speaks and this engine heard it; turn records
	 * carry stt_engine, stt_confidence, barge_in and end (as SIP calls
	 * do). NULL: text turns (the transcript as typed). */
	const char *stt_engine;
	bool audio; /* flow_run_env.audio: clips can be played */
	/* The "ended" event names the root flow, not the current one. */
	bool ended_root_flow;
	/* No call events and no voxgate_calls_total (the platform keeps
	 * its own contact records: Amazon Connect). */
	bool no_call_events;
	/* No turn records: the CDR's turns and dtmf are left alone. */
	bool no_turns;
	unsigned timeout_ms; /* a back-end request is held at most */
	/* The back-end answered s's request: continue the run. */
	void (*drive)(struct ctlsess *s, const struct flow_result *res);
	/* s's back-end request took longer than timeout_ms (it is
	 * forgotten: its answer is dropped). */
	void (*timeout)(struct ctlsess *s);
	/* A turn was decided (after it is recorded). May be NULL. */
	void (*turn)(struct ctlsess *s, const struct flow_turn_info *ti);
	/* Add the adapter's fields to the saved state o; false on failure
	 * (nothing saved). May be NULL. */
	bool (*state_add)(struct ctlsess *s, struct cJSON *o);
	/* Kept by this module: the store reads in flight (ctlsess_read). */
	struct ctlsess_read *reads;
};

struct ctlsess_breq;

/* One platform session running a flow. Fields are read by the adapter;
 * from/to/call_ref/dtmf/stt_conf may be written by it. */
struct ctlsess {
	struct ctlsess *next; /* in a ctlsess_list */
	const struct ctlsess_host *host;
	char id[CTLSESS_ID_MAX + 1];  /* the platform's session id */
	char flow[CTLSESS_FIELD_MAX]; /* the root flow's name */
	char from[CTLSESS_FIELD_MAX], to[CTLSESS_FIELD_MAX];
	char call_ref[CTLSESS_FIELD_MAX]; /* CDR sip_call_id; "": id */
	char dtmf[CTLSESS_DTMF_MAX];	  /* digits collected (CDR) */
	float stt_conf; /* of the input being fed (turn records) */
	int64_t started_ms;
	struct flow_run *run;	   /* NULL until created or restored */
	struct cJSON *path;	   /* node names (CDR flow_path) */
	struct cJSON *turns;	   /* turn objects (CDR turns) */
	struct ctlsess_breq *breq; /* the back-end request held, or NULL */
	struct tmr tmr;
};

/* An adapter's sessions in memory (caller storage, zeroed: empty). */
struct ctlsess_list {
	struct ctlsess *head;
	unsigned n;
};

void ctlsess_link(struct ctlsess_list *l, struct ctlsess *s);
/* No-op when s is not in l. */
void ctlsess_unlink(struct ctlsess_list *l, struct ctlsess *s);
/* Unlink and return the first session of l (the caller owns it), or NULL
 * when l is empty: for draining the list at destroy. */
struct ctlsess *ctlsess_pop(struct ctlsess_list *l);
/* The session of id in l (borrowed), or NULL. */
struct ctlsess *ctlsess_find(const struct ctlsess_list *l, const char *id);

/* Called with a saved state read from the store: err 0 (json, a new
 * string the callee frees, len bytes), -ENOENT (none; json NULL) or the
 * store's error. */
typedef void(ctlsess_read_fn)(int err, char *json, size_t len, void *arg);

/* Read key's saved state (store_session_get on h->platform). cb(arg) is
 * called on h->loop, unless ctlsess_host_close(h) ran first: then drop(arg)
 * is called instead (may be NULL), and the adapter is not touched. Returns
 * 0, -EINVAL (no store) or the store's refusal (neither is called). */
int ctlsess_read(struct ctlsess_host *h, const char *key, ctlsess_read_fn *cb,
		 void (*drop)(void *arg), void *arg);
/* The adapter goes: reads in flight drop their arg instead. */
void ctlsess_host_close(struct ctlsess_host *h);

/* The adapter object of type that holds session s as member (for host
 * callbacks). */
#define CTLSESS_OWNER(s, type, member) \
	((type *)(void *)((char *)(s)-offsetof(type, member)))

/* Set up s for session id of flow (from/to may be NULL). Returns 0,
 * -ENOMEM (s needs no ctlsess_fini then, but it is allowed). */
int ctlsess_init(struct ctlsess *s, const struct ctlsess_host *h,
		 const char *id, const char *flow, const char *from,
		 const char *to);
/* Release the run, the records, and forget a held back-end request. */
void ctlsess_fini(struct ctlsess *s);

/* host->flows_hold, when set. */
void ctlsess_hold(const struct ctlsess_host *h, bool hold);
/* backend->find_flow (borrowed, valid while held), NULL: none or no
 * name. */
struct flow *ctlsess_find_flow(const struct ctlsess_host *h, const char *name);

/* The run of f (borrowed; the caller holds the flows). Returns 0 or the
 * error of flow_run_create. */
int ctlsess_run_create(struct ctlsess *s, struct flow *f);
/* The session starts now: started_ms, CDR begin, "started" event. */
void ctlsess_begin(struct ctlsess *s);
/* flow_run_step with the flows held. */
int ctlsess_step(struct ctlsess *s, const struct flow_result *res,
		 struct flow_action *act);

/* The session's saved state as JSON text (a new string in *txtp, free()):
 * v, flow, from, to, started_ms, dtmf, host->state_add's fields, path,
 * turns and the run. Returns 0, -EINVAL (no run), -ENOMEM, -E2BIG, or
 * flow_run_save's error. */
int ctlsess_state_print(struct ctlsess *s, char **txtp);
/* Snapshot the session into the store (its state between requests) and
 * update its CDR. No store: nothing. Logged on failure. */
void ctlsess_save(struct ctlsess *s);
/* The session is over: "ended" event, CDR end, saved state deleted,
 * voxgate_calls_total counted (no event nor count with
 * host->no_call_events). The caller then unlinks and frees it. */
void ctlsess_end(struct ctlsess *s, const char *reason);
/* Update the CDR (end_reason NULL: still open). */
void ctlsess_cdr(struct ctlsess *s, const char *end_reason);

/* A saved state's string or number field (borrowed from o), or the
 * default. */
const char *ctlsess_state_str(const struct cJSON *o, const char *key);
double ctlsess_state_num(const struct cJSON *o, const char *key, double dflt);
/* 0 when o looks like a saved state (an object with "flow" and "run"),
 * -EBADMSG otherwise. */
int ctlsess_state_check(const struct cJSON *o);
/* Rebuild the run of s (initialised for o's flow) from the saved state o:
 * started_ms, dtmf, path and turns (taken out of o), the run. Returns 0,
 * -ENOENT (the flow is gone), -ENOMEM, or flow_run_restore's error. */
int ctlsess_restore(struct ctlsess *s, struct cJSON *o);

/* Start the back-end request of an HTTP or LOOKUP action and hold it (at
 * most host->timeout_ms). Returns 0 (host->drive or host->timeout will be
 * called), or -ENOTSUP (no such back-end), -ENOMEM, or the back-end's
 * refusal, with *res set to the failed result to step the run with. */
int ctlsess_backend_start(struct ctlsess *s, const struct flow_action *a,
			  struct flow_result *res);

/* Forget s's back-end request (its answer is dropped, neither host->drive
 * nor host->timeout is called for it). No-op when none is held. */
void ctlsess_backend_forget(struct ctlsess *s);

/* A call event (backend->event): fields are key, value pairs (value NULL:
 * JSON null), then NULL. */
void ctlsess_event(const struct ctlsess_host *h, const char *id,
		   const char *name, ...);

/* Count a request answered with code: voxgate_<metric>_requests_total
 * {route,code} ("<what> requests by route and status code") and
 * voxgate_<metric>_request_seconds {route} since t0_us (clock_mono_us). */
void ctlsess_count(const char *metric, const char *what, const char *route,
		   uint16_t code, uint64_t t0_us);

/* Write an HTTP answer with Content-Type, Content-Length and no caching.
 * Returns http_reply's error (ENOTCONN: the peer left; logged otherwise). */
int ctlsess_reply(struct http_conn *conn, uint16_t code, const char *ctype,
		  const char *body, size_t len);
#endif
