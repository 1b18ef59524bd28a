/* The store: call detail records (and later the CRM) in one database,
 * owned by one writer thread. All calls here are non-blocking for the caller:
 * they copy their input and queue it for the store thread. Replies to
 * queries are delivered on the loop named in the call.
 * Backends: sqlite/ (default, WAL, synchronous=FULL). */
#ifndef VG_STORE_STORE_H
#define VG_STORE_STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vg_loop;
struct store;

/* Snapshot of a call, as the call layer knows it. Strings are borrowed by
 * the store_* functions (they copy). JSON fields are complete JSON texts. */
struct store_cdr {
	const char *id; /* voxgate call id (UUID text), primary key */
	const char *
		sip_call_id; /* platform's call id (SIP Call-ID), may be NULL */
	const char *platform; /* "sip", later "asterisk", "twilio", ... */
	const char *from_uri;
	const char *to_uri;
	const char *flow;	 /* flow name */
	const char *codec;	 /* "PCMU", "PCMA", NULL before answer */
	const char *remote_addr; /* "ip:port" of the media peer */
	int64_t started_ms;	 /* wall clock, ms since epoch */
	int64_t answered_ms;	 /* 0 = not answered */
	int64_t ended_ms;	 /* 0 = still open */
	const char
		*end_reason;	    /* "caller_hangup", "hangup", "cancelled",
				       "transferred", "rejected", "media_timeout",
				       "no_ack", "shutdown", "error", "interrupted" */
	const char *dtmf;	    /* digits collected, in order */
	const char *flow_path_json; /* JSON array of node names visited */
	const char *prompts_json;   /* JSON array of prompt timing objects */
	uint64_t rtp_tx;	    /* RTP packets sent */
	uint64_t rtp_rx;	    /* RTP packets received */
	/* JSON array of turn objects (docs/API.md, "turns"). NULL = no news:
	 * an update keeps the turns stored before. Otherwise it replaces
	 * calls.turns and the call's rows in the turns table (one per valid
	 * turn, at most 500); text over 256 KiB or not a JSON array is stored
	 * as null and leaves no rows. */
	const char *turns_json;
};

/* Open (create, migrate) the database at path and start the writer thread.
 * Calls left open by a crash (ended_ms = 0) are closed as "interrupted" before
 * this returns; *interruptedp (may be NULL) gets how many. Blocking: call at
 * start-up, not from a loop. */
int store_open(struct store **sp, const char *path, unsigned *interruptedp);

/* Tuning for store_open_opts(); zero fields take the defaults. */
struct store_opts {
	unsigned queue_max;	  /* ops waiting for the writer; 10000 */
	unsigned batch_max;	  /* ops taken per transaction; 256 */
	unsigned busy_timeout_ms; /* wait for another process' lock; 5000 */
};

/* store_open() with explicit tuning (opts may be NULL). */
int store_open_opts(struct store **sp, const char *path,
		    const struct store_opts *opts, unsigned *interruptedp);

/* Flush queued writes, stop the thread, close the database. NULL is a no-op. */
void store_close(struct store *s);

/* Queue an insert (call started) / a full update (answered, ended; inserts
 * the row if the begin was lost). Returns 0 or -EAGAIN (queue full: counted
 * in voxgate_store_queue_rejected_total, logged), -EINVAL (no id, or id over
 * 128 bytes), -ESHUTDOWN (closing), -ENOMEM. Writes are committed with
 * synchronous=FULL in the order queued, several per transaction when they
 * queue up. Text is stored as valid UTF-8 (bad bytes become '?') and cut at
 * a per-field cap; a JSON field over 64 KiB (turns: 256 KiB) is stored as
 * null. turns_json is parsed on the store thread: malformed turns are
 * skipped with one log line per write, never refused here. */
int store_call_begin(struct store *s, const struct store_cdr *cdr);
int store_call_update(struct store *s, const struct store_cdr *cdr);

/* Block until every write queued before this call is committed (tests,
 * shutdown). Not for loops. Never refused for a full queue. Returns 0, or
 * -EIO when one of those writes failed, -ESHUTDOWN, -ENOMEM. */
int store_sync(struct store *s);

/* What the store thread sees of its database (checks, tests, diagnostics). */
struct store_info {
	char journal_mode[16];	 /* "wal" */
	int synchronous;	 /* PRAGMA synchronous: 2 = FULL */
	unsigned schema_version; /* highest applied migration */
	int integrity_ok;	 /* 1 "ok", 0 not, -1 not checked */
	uint64_t calls;		 /* rows in calls */
};

/* Ask the store thread for *info, after every write queued before it. With
 * integrity, also runs PRAGMA integrity_check (reads the whole file: slow on
 * a big database). Blocking like store_sync(); not for loops. Returns 0,
 * -EIO, -ESHUTDOWN, -ENOMEM; *info is set only on success. */
int store_info_get(struct store *s, bool integrity, struct store_info *info);

/* Query for the REST API. The reply is JSON text (malloc'd; the callback takes
 * ownership), or NULL with err: -ENOENT (no such call), -EINVAL, -EIO.
 * cb runs on loop (posted) exactly once if this returns 0 (the one exception:
 * the loop's queue refuses the post for a second, then it is logged and
 * dropped). Returns 0, -EINVAL, -EAGAIN (queue full), -ESHUTDOWN, -ENOMEM.
 *
 * List reply: {"calls":[...],"next_before_ms":N|null,"next_before_id":S|null},
 * newest first; each call has every field but flow_path, prompts, turns. Pass
 * both next_* values back to get the next page (keyset paging, so calls
 * sharing a start millisecond are neither skipped nor repeated).
 * Get reply: every field, flow_path, prompts and turns as embedded JSON, plus
 * duration_ms (ended - answered, or - started) and answer_delay_ms (null when
 * not applicable). */
typedef void(store_json_fn)(int err, char *json, size_t len, void *arg);
struct store_call_query {
	int limit;		/* 1..1000, 0 = default 100 */
	int64_t before_ms;	/* started before this (0 = no bound) */
	const char *before_id;	/* with before_ms: next_before_id, or NULL */
	const char *end_reason; /* filter, NULL = any */
};
int store_calls_list(struct store *s, const struct store_call_query *q,
		     struct vg_loop *loop, store_json_fn *cb, void *arg);
int store_call_get(struct store *s, const char *id, struct vg_loop *loop,
		   store_json_fn *cb, void *arg);

/* ---- CRM (docs/CRM.md): customers, accounts, cards, tickets ----
 * Queries for flows' lookup nodes, answered on the store thread, the reply
 * delivered on loop. Reply JSON (malloc'd, the callback takes it):
 *  CUSTOMER_BY_PHONE (key: phone, E.164 or as dialled: normalized to
 *  digits, a leading 1 for 10-digit NANP numbers tolerated), CUSTOMER (key:
 *  customer id): {"id":..,"first_name":..,"last_name":..,"phone":..,
 *  "email":..,"tier":..,"language":..,"pin_set":true|false}
 *  ACCOUNTS / CARDS / TICKETS (key: customer id): a JSON array (<= 20 rows)
 *  of {"number","type","balance":"1250.40","currency","status"} /
 *  {"last4","type","status","expires":"2028-07"} /
 *  {"id","subject","status","created":"2026-11-24T07:00:00Z"};
 *  CREATE_TICKET (key: customer id, subject): {"id":..}.
 * err: 0, -ENOENT (no such customer; empty arrays are not an error), -EIO,
 * -EINVAL. Same delivery rules as store_call_get(). */
enum store_crm_query {
	STORE_CRM_CUSTOMER_BY_PHONE,
	STORE_CRM_CUSTOMER,
	STORE_CRM_ACCOUNTS,
	STORE_CRM_CARDS,
	STORE_CRM_TICKETS,
	STORE_CRM_CREATE_TICKET,
};
int store_crm_query(struct store *s, enum store_crm_query q, const char *key,
		    const char *subject, struct vg_loop *loop,
		    store_json_fn *cb, void *arg);
/* Seed the demo bank's customers, accounts, cards and tickets when the
 * customers table is empty (config store.crm_demo). Blocking like
 * store_sync(). Returns 0 (also when not empty), -EIO, -ESHUTDOWN. */
int store_crm_seed_demo(struct store *s);

/* ---- Control adapters' sessions between requests (adapter_sessions) ----
 * The state of one session of a control adapter (a Twilio call between
 * webhooks, a Connect contact between Lambda invocations, a Genesys bot
 * session between turns): a text (JSON) of at most STORE_SESSION_STATE_MAX
 * bytes keyed by (platform, key): platform 1..32 bytes ("twilio",
 * "connect", "genesys-bot"), key 1..128 bytes (CallSid, ContactId, ...).
 * put and del are queued writes like store_call_update() (no reply;
 * committed in order, so a later get sees them). get replies on loop with
 * the state (malloc'd, the callback takes it) or err -ENOENT / -EIO, with
 * the delivery rules of store_call_get(). Return 0, -EINVAL, -EAGAIN,
 * -ESHUTDOWN, -ENOMEM. */
#define STORE_SESSION_STATE_MAX (256 * 1024)
#define STORE_SESSION_PLATFORM_MAX 32
#define STORE_SESSION_KEY_MAX 128
int store_session_put(struct store *s, const char *platform, const char *key,
		      const char *state);
int store_session_del(struct store *s, const char *platform, const char *key);
int store_session_get(struct store *s, const char *platform, const char *key,
		      struct vg_loop *loop, store_json_fn *cb, void *arg);
#endif
