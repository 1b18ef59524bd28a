/* The flow runtime: a pure state machine that walks one flow for one call.
 * It emits actions (say, play, gather, transfer, record, http, lookup,
 * hangup) and consumes their results; it knows no telephony, no clock and
 * no I/O. Media adapters execute the actions with the voice pipeline
 * (flow/session.c on a channel); control adapters (FastAGI, TwiML) turn them
 * into platform instructions. Classification (NLU) and entity extraction run
 * inside the runtime (pure, microseconds). Deterministic: the same results
 * in the same order give the same actions; time comes in with the results
 * (now_ms), so tests drive it with a virtual clock and a scripted caller.
 *
 * Protocol:
 *   flow_run_create(); then flow_run_step(r, &start_result, &act);
 *   loop: execute act, then flow_run_step(r, &its_result, &act),
 *   until act.type is FLOW_ACT_END (after a HANGUP action has been
 *   executed, after a successful transfer, or once a caller's hangup
 *   result came in).
 * Exactly one action is outstanding at a time; the result must be of the
 * matching kind (a mismatched result is -EPROTO and changes nothing), except
 * FLOW_RES_HANGUP, which is accepted at any time and ends the run.
 * Strings in an action are owned by the runtime and valid until the next
 * flow_run_step()/flow_run_destroy(). Thread: one at a time (the owner's). */
#ifndef VG_FLOW_RUNTIME_H
#define VG_FLOW_RUNTIME_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct flow;
struct flow_set;
struct flow_vars;
struct stt_grammar;
struct audio_clip;
struct strbuf;

#define FLOW_RUN_MAX_HOPS                                                   \
	200		     /* node entries without waiting for the caller \
			      */
#define FLOW_RUN_MAX_DEPTH 8 /* subflow nesting */

/* ---- actions ---- */

enum flow_act_type {
	FLOW_ACT_SAY,	   /* speak text -> FLOW_RES_PLAYED */
	FLOW_ACT_PLAY,	   /* play a clip -> FLOW_RES_PLAYED */
	FLOW_ACT_GATHER,   /* prompt(s) + listen/collect -> FLOW_RES_INPUT */
	FLOW_ACT_TRANSFER, /* -> FLOW_RES_TRANSFERRED */
	FLOW_ACT_RECORD,   /* -> FLOW_RES_RECORDED */
	FLOW_ACT_HTTP,	   /* -> FLOW_RES_HTTP */
	FLOW_ACT_LOOKUP,   /* -> FLOW_RES_LOOKUP */
	FLOW_ACT_HANGUP,   /* -> FLOW_RES_HANGUP (when the call is down) */
	FLOW_ACT_END,	   /* nothing more; no result expected */
};

/* One prompt of a gather (a retry message, then the prompt). */
struct flow_act_prompt {
	const char *name; /* "main_menu", "main_menu.no_input" (CDR) */
	const char *text;
	const char *voice; /* NULL: default */
};

#define FLOW_ACT_PROMPTS_MAX 2
#define FLOW_ACT_CONTEXT_MAX 32
#define FLOW_ACT_HEADERS_MAX 32

enum flow_act_input { /* bits */
		      FLOW_ACT_IN_DTMF = 1u << 0,
		      FLOW_ACT_IN_SPEECH = 1u << 1,
};

struct flow_action {
	enum flow_act_type type;
	const char *node; /* the node that asked (borrowed from the flow) */
	union {
		struct {		  /* SAY */
			const char *name; /* prompt id for the CDR */
			const char *text;
			const char *voice; /* NULL: default */
			bool barge_in;	   /* a key (or speech) may stop it */
		} say;
		struct { /* PLAY */
			const char *name;
			struct audio_clip *clip; /* borrowed from the flow */
			const char *file;	 /* as written in the flow */
			const char *text; /* for text-only channels, or NULL */
			bool barge_in;
		} play;
		struct { /* GATHER: play prompts[] in order while collecting */
			struct flow_act_prompt prompts[FLOW_ACT_PROMPTS_MAX];
			unsigned nprompts;
			bool barge_in;	/* input stops the prompts */
			unsigned input; /* FLOW_ACT_IN_* */
			/* DTMF */
			unsigned max_digits;	/* 1..32 */
			const char *terminator; /* "" or one key */
			unsigned timeout_ms;	/* to the first input after the
						   prompts end */
			unsigned interdigit_ms;
			/* speech */
			const char *stt_engines; /* NULL: default chain */
			int stt_mode;		 /* enum stt_mode */
			const struct stt_grammar *grammar; /* or NULL */
			const struct stt_grammar *lm;	   /* or NULL */
			unsigned end_silence_ms;	   /* 0: default */
			unsigned max_speech_ms;		   /* 0: default */
			/* the step's continuation window (continue_set;
			 * 0: off), else the daemon's default */
			bool continue_set;
			unsigned continue_ms;
			const char *hints; /* comma-separated, for platform
					      recognizers; NULL: none */
		} gather;
		struct { /* TRANSFER */
			const char *
				target; /* "agent" resolved: sip:/tel:/queue: */
			bool to_agent;	/* target is the configured agent */
			const char *context_keys[FLOW_ACT_CONTEXT_MAX];
			const char *context_values[FLOW_ACT_CONTEXT_MAX];
			unsigned ncontext;
		} transfer;
		struct {	    /* RECORD */
			int action; /* enum flow_record_action */
		} record;
		struct { /* HTTP */
			const char *method;
			const char *url;
			const char *header_names[FLOW_ACT_HEADERS_MAX];
			const char *header_values[FLOW_ACT_HEADERS_MAX];
			unsigned nheaders;
			const char *body; /* NULL: none */
			size_t body_len;
			unsigned timeout_ms; /* per try */
			unsigned retries;    /* extra tries */
		} http;
		struct {		     /* LOOKUP */
			int query;	     /* enum flow_lookup_query */
			const char *key;     /* rendered key */
			const char *subject; /* create_ticket, else NULL */
		} lookup;
		struct {		    /* HANGUP */
			const char *reason; /* static string */
		} hangup;
	};
};

/* ---- results ---- */

enum flow_res_type {
	FLOW_RES_START,	      /* the first step */
	FLOW_RES_PLAYED,      /* SAY / PLAY finished (or failed: err) */
	FLOW_RES_INPUT,	      /* GATHER finished */
	FLOW_RES_TRANSFERRED, /* TRANSFER finished */
	FLOW_RES_RECORDED,
	FLOW_RES_HTTP,
	FLOW_RES_LOOKUP,
	FLOW_RES_HANGUP, /* the caller hung up (or the call is down) */
};

enum flow_input_kind {
	FLOW_IN_DTMF,
	FLOW_IN_SPEECH,
	FLOW_IN_NO_INPUT, /* nothing within the timeout */
	FLOW_IN_ERROR,	  /* the channel could not collect/listen/recognize:
			     counts as no input, logged */
};

struct flow_result {
	enum flow_res_type type;
	int err;	/* 0 or negative errno (PLAYED, RECORDED, ...) */
	int64_t now_ms; /* wall clock, ms since the epoch (virtual in tests) */
	union {
		struct { /* PLAYED */
			bool interrupted;
		} played;
		struct { /* INPUT */
			enum flow_input_kind kind;
			const char *digits;	/* DTMF */
			const char *transcript; /* SPEECH (normalized or not) */
			float stt_confidence;
			const char *stt_engine;
			/* A platform's own NLU answer (e.g. Lex), or NULL:
			 * the runtime classifies the transcript itself. */
			const char *intent;
			float intent_confidence;
		} input;
		struct { /* TRANSFERRED */
			bool ok;
			int status; /* e.g. SIP status; 0 unknown */
		} transferred;
		struct {		  /* HTTP */
			int status;	  /* 0: no response */
			const char *body; /* response body or NULL */
			size_t body_len;
			/* err: -ETIMEDOUT, -ECONNREFUSED/-EHOSTUNREACH
			 * (connect), -EBUSY (circuit open), -EPROTO, ... */
		} http;
		struct { /* LOOKUP: err -ENOENT = not found */
			/* JSON object of the row (customer, create_ticket)
			 * or array of rows (accounts, cards, tickets), in the
			 * store's column names (docs/FLOWS.md lookup). */
			const char *json;
			size_t json_len;
		} lookup;
	};
};

/* What a turn decided, for the call record and turn metrics (borrowed
 * strings, valid until the next step). */
struct flow_turn_info {
	const char *node;
	const char *input; /* "dtmf", "speech", "none"; "text": a classify
			      without prompt classified its text */
	const char *transcript;
	const char *intent; /* NULL: no NLU ran */
	float intent_confidence;
	const char *match; /* "high", "low", "none", NULL */
	const char *next;  /* node chosen, NULL: a retry */
};

/* ---- the run ---- */

struct flow_run_env {
	/* Resolves subflows by name (borrowed; may be NULL: no subflows). The
	 * runtime takes its own reference on every flow it enters. */
	struct flow *(*find_flow)(void *arg, const char *name);
	void *find_arg;
	/* Called for every node entered (CDR flow path), may be NULL. */
	void (*on_node)(void *arg, const char *flow, const char *node);
	/* Called when a gather/menu/classify turn is decided, may be NULL. */
	void (*on_turn)(void *arg, const struct flow_turn_info *t);
	void *cb_arg;
	/* Call facts for call.* (copied). */
	const char *call_id, *from, *to, *channel;
	/* NLU models by name for classify "model:" (may be NULL: none;
	 * "default" is the bundled model when the daemon has one). */
	struct nlu_model *(*find_model)(void *arg, const char *name);
	void *model_arg;
	/* Can the channel hear speech? false: speech-only steps become
	 * DTMF-only and options keep working (v1 behaviour). */
	bool speech;
	/* Can it play audio clips? false: play sends its text as SAY, or
	 * is skipped. */
	bool audio;
};

struct flow_run;

/* Create a run of f (own reference taken). Returns 0, -EINVAL, -ENOMEM. */
int flow_run_create(struct flow_run **rp, struct flow *f,
		    const struct flow_run_env *env);
void flow_run_destroy(struct flow_run *r); /* NULL-safe */

/* Feed a result, get the next action. Returns 0 (act filled), -EPROTO
 * (result does not answer the outstanding action; nothing changed),
 * -EINVAL. Never fails for the flow's own reasons: those become actions
 * (error handler, escalation, hangup "flow_error"). */
int flow_run_step(struct flow_run *r, const struct flow_result *res,
		  struct flow_action *act);

/* The variables (borrowed; the executor may read them, e.g. for webhooks). */
const struct flow_vars *flow_run_vars(const struct flow_run *r);
/* Current node and flow names (borrowed), NULL before start. */
const char *flow_run_node(const struct flow_run *r);
const char *flow_run_flow(const struct flow_run *r);
bool flow_run_done(const struct flow_run *r);
/* The hangup reason once done (static), e.g. "completed", "transferred". */
const char *flow_run_end_reason(const struct flow_run *r);

/* Snapshot of the state as JSON (flow stack, node, counters, variables,
 * the outstanding action's kind) so a control adapter can keep a call
 * across requests and restarts. flow_run_restore() rebuilds a run from it
 * against the same flow set (-ENOENT: a flow is gone; -EBADMSG: bad
 * snapshot); the next step must answer the outstanding action again. */
int flow_run_save(const struct flow_run *r, struct strbuf *out);
int flow_run_restore(struct flow_run **rp, const char *json, size_t len,
		     struct flow *root, const struct flow_run_env *env);
#endif
