/* Call flows: YAML documents of named nodes (say, menu, transfer, hangup)
 * loaded and strictly validated into immutable, refcounted flows, and a
 * runtime (flow_session) that walks one flow on one channel. Format: see
 * docs/FLOWS.md. */
#ifndef VG_FLOW_FLOW_H
#define VG_FLOW_FLOW_H
#include <stdbool.h>
#include <stddef.h>

struct channel;
struct stt;
struct tts;
struct vg_loop;

/* ---- loading ---- */

#define FLOW_ERRORS_MAX 32 /* messages kept; more are only counted */
#define FLOW_ERROR_LEN 256 /* bytes per message, NUL included (cut) */
#define FLOW_MAX_FILE_BYTES (1u << 20)
#define FLOW_MAX_NODES 1000u
#define FLOW_MAX_FLOWS 256u /* flows in one set */

/* Messages from loading, "file:line:col: message" (line and col 1-based),
 * sorted by position within each file. Caller storage: zero it (= {0}) or call
 * flow_errors_clear(); the loaders append, so one can collect the errors of
 * several files. */
struct flow_errors {
	size_t count;	/* messages in msg[] */
	size_t dropped; /* messages past FLOW_ERRORS_MAX, not kept */
	char msg[FLOW_ERRORS_MAX][FLOW_ERROR_LEN];
};

void flow_errors_clear(struct flow_errors *e);

/* An immutable flow. Atomic refcount: any thread may take and drop
 * references, so a reload can swap the set while calls still run the old
 * flows. */
struct flow;

/* Parse and validate buf[0..len) (need not be NUL-terminated); file labels
 * the messages. On success *fp gets a new flow with one reference. On
 * failure *fp is untouched and every problem found is appended to errs (may
 * be NULL). Returns 0, -EINVAL (bad argument), -ENOMEM, -E2BIG (too big) or
 * -EBADMSG (invalid flow). The WAV files of play nodes are read here
 * (relative paths against the directory of file; a built-in's against the
 * source tree's flows/), so it blocks on disk. Any thread. */
int flow_load_buf(const char *file, const char *buf, size_t len,
		  struct flow **fp, struct flow_errors *errs);

/* As flow_load_buf for a file of at most FLOW_MAX_FILE_BYTES. Blocks on
 * disk: not for the media loop. Also returns -errno from open/read. */
int flow_load_file(const char *path, struct flow **fp,
		   struct flow_errors *errs);

/* A flow compiled into the binary ("bank-hotline", from flows/). Returns 0
 * with a new reference in *fp, or -ENOENT for an unknown name. */
int flow_load_builtin(const char *name, struct flow **fp);

/* New reference to f (NULL-safe). */
struct flow *flow_ref(struct flow *f);
/* Drop a reference; frees at zero. Returns NULL: f = flow_deref(f). */
struct flow *flow_deref(struct flow *f);

/* The flow's name and the file it came from (borrowed from f). */
const char *flow_name(const struct flow *f);
const char *flow_file(const struct flow *f);
/* The flow's description (NULL: none), its number of intents and the
 * i-th intent's name (NULL past the end), borrowed from f: for listings
 * such as the Genesys Bot Connector's bot list. */
const char *flow_description(const struct flow *f);
size_t flow_intent_count(const struct flow *f);
const char *flow_intent_name(const struct flow *f, size_t i);

/* Call fn once for every distinct (voice, text) the flow can speak, for
 * TTS pre-synthesis. voice is the node's voice, else the flow's, else
 * default_voice (may be NULL). Strings are borrowed for the call of fn.
 * Texts with template variables are skipped (they differ per call); slot
 * prompts are included. Calls nothing if it cannot allocate its list
 * (ENOMEM). */
void flow_prompts_foreach(const struct flow *f, const char *default_voice,
			  void (*fn)(const char *voice, const char *text,
				     void *arg),
			  void *arg);

/* Call fn once for every speech grammar and domain LM the flow's menus use
 * (struct stt_grammar, borrowed for the call), so the daemon can have the
 * STT engines prepare them before the first call (stt_prepare). */
struct stt_grammar;
void flow_grammars_foreach(const struct flow *f,
			   void (*fn)(const struct stt_grammar *g, void *arg),
			   void *arg);

/* ---- the set of loaded flows ---- */

struct flow_set;

/* Load the built-in flows plus every *.yaml file in dir (dir may be NULL:
 * built-ins only), and the Connect (*.json), Genesys (*.json, *.js) and
 * Archy (*.yaml with inboundCall) flows there, imported in memory
 * (flow/import.h; strict: an unsupported item fails that file). A file whose
 * flow has a built-in's name replaces that built-in; two files with one name
 * are an error. All-or-nothing: if any file fails, every message goes to errs
 * (may be NULL), nothing is returned and the caller keeps its old set (SIGHUP
 * reload). Blocks on disk. Returns 0, -EBADMSG (some flow invalid), -E2BIG
 * (more than FLOW_MAX_FLOWS), -ENOMEM or -errno from opendir/read. */
int flow_set_load(struct flow_set **sp, const char *dir,
		  struct flow_errors *errs);

/* The cross-file check of a set: every subflow node of flows[0..n) must
 * name a flow of the list (with_builtins: or a built-in flow). Appends one
 * message per miss, "file:line:col: node 'x': subflow 'y' names no loaded
 * flow", at the "flow:" value. flow_set_load() runs it; `voxgate flow
 * check` runs it over the files given. Returns 0, -EBADMSG or -ENOMEM. */
int flow_check_subflows(struct flow *const *flows, size_t n, bool with_builtins,
			struct flow_errors *errs);

/* The flow named name (borrowed: flow_ref it to keep it past the set's
 * life), or NULL. */
struct flow *flow_set_find(const struct flow_set *s, const char *name);

/* Number of flows and the i-th in name order (borrowed), for listings. */
size_t flow_set_count(const struct flow_set *s);
struct flow *flow_set_at(const struct flow_set *s, size_t i);

/* Drop the set's references. NULL is a no-op. */
void flow_set_destroy(struct flow_set *s);

/* ---- the runtime ---- */

/* What a session needs from the daemon; all borrowed and must outlive the
 * session. tts may be NULL: on an audio channel every prompt then fails
 * (and is skipped, see docs/FLOWS.md). agent_uri is the target of
 * "transfer: agent" (NULL: such transfers fail). */
struct flow_action;
struct flow_result;
struct nlu_model;

/* Completion of a backend request: res (FLOW_RES_HTTP / FLOW_RES_LOOKUP;
 * strings borrowed for the call) on the loop given to the request. */
typedef void(flow_backend_done_fn)(const struct flow_result *res, void *arg);

/* Business back-ends a session reaches through the daemon (the flow layer
 * links neither the HTTP client nor the store). Each request function
 * returns 0 and later calls done exactly once on loop, or returns a negative
 * errno and calls nothing (the node takes its error branch). A NULL
 * function: every such node takes its error branch (-ENOTSUP). */
struct flow_backend {
	int (*http)(void *ctx, const struct flow_action *a,
		    struct vg_loop *loop, flow_backend_done_fn *done,
		    void *arg);
	int (*lookup)(void *ctx, const struct flow_action *a,
		      struct vg_loop *loop, flow_backend_done_fn *done,
		      void *arg);
	/* Call events for webhooks ("started", "intent", "transferred",
	 * "ended", "partial"), fields as a JSON object text; may be NULL.
	 * Never blocks. */
	void (*event)(void *ctx, const char *event, const char *call_id,
		      const char *json_fields);
	/* Whether event would go anywhere (e.g. "partial", which webhooks
	 * send only when webhooks.events names it): the session does not
	 * produce an event whose only cost is making it. NULL: "partial" is
	 * not wanted. Never blocks. */
	bool (*wants_event)(void *ctx, const char *event);
	/* Subflows and classify models by name (borrowed; NULL fn: none). */
	struct flow *(*find_flow)(void *ctx, const char *name);
	struct nlu_model *(*find_model)(void *ctx, const char *name);
	void *ctx;
};

/* A transfer queue (config transfer.queues): "queue:NAME" goes to uri. */
struct flow_queue {
	const char *name;
	const char *uri; /* sip:, sips: or tel: */
};

/* The URI a "queue:NAME" target maps to in q[0..n) (borrowed from q), or
 * NULL when target is not a queue target or NAME is not mapped. */
const char *flow_queue_uri(const struct flow_queue *q, unsigned n,
			   const char *target);

struct flow_env {
	const struct flow_backend *backend; /* may be NULL: no back-ends */
	struct tts *tts;
	struct stt *stt;      /* NULL: speech menus take DTMF only */
	struct vg_loop *loop; /* the channel's loop: TTS results come here */
	const char *agent_uri;
	const char *default_voice; /* NULL: the TTS engine's default */
	/* "queue:NAME" targets mapped to URIs before the channel sees them;
	 * an unmapped one is passed on as is (FastAGI runs its queue
	 * application, a SIP channel refuses it: on_fail). */
	const struct flow_queue *queues;
	unsigned nqueues;
	/* Streaming recognition (config stt.stream): a speech gather whose
	 * first STT engine streams, or whose partial transcripts someone
	 * wants (backend wants_event("partial")), is recognized while the
	 * caller speaks (docs/SPEECH.md "Streaming in calls"). */
	bool stt_stream;
	/* Continuation window (config stt.continue_window; a step's
	 * continue_window overrides it): a speech turn whose caller speaks
	 * again within this much of its end is taken with what follows as
	 * one turn (docs/SPEECH.md "Continued turns"). 0: off. */
	unsigned continue_ms;
};

/* One flow walking one channel. Thread: the channel's loop only. */
struct flow_session;

/* Create a session for f on ch. Takes its own reference on f and sets
 * itself as ch's event handler; nothing is sent to the channel until
 * flow_session_start(). ch is borrowed and must outlive the session
 * (destroy the session first). Returns 0, -EINVAL or -ENOMEM. */
int flow_session_create(struct flow_session **sp, struct flow *f,
			struct channel *ch, const struct flow_env *env);

/* Enter the start node. Returns 0, or -EALREADY when started before. */
int flow_session_start(struct flow_session *s);

/* True once the flow has nothing left to do: the call hung up, the flow
 * hung it up, or a transfer succeeded. */
bool flow_session_done(const struct flow_session *s);

/* Name of the node the session is in (borrowed from the flow), or NULL
 * before start. */
const char *flow_session_node(const struct flow_session *s);

/* The session's variables (flow/vars.h; borrowed, valid until the next
 * event or destroy), or NULL. For adapters that hand collected values back
 * to the platform at the end (Genesys Audio Connector outputVariables). */
struct flow_vars;
const struct flow_vars *flow_session_vars(const struct flow_session *s);

/* Detach from the channel (clears its handler; does not hang up or stop
 * it) and free. Safe at any time, also from inside a channel event and
 * while a TTS job or a back-end request (http, lookup) for this
 * session is in flight: the memory then stays until that callback has
 * run. NULL is a no-op. */
void flow_session_destroy(struct flow_session *s);
#endif
