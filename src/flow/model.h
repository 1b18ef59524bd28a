/* The in-memory form of a loaded flow, shared by the loader, the set and
 * the runtime (internal to src/flow). Everything is immutable after load;
 * transitions are node indexes, checked at load time. */
#ifndef VG_FLOW_MODEL_H
#define VG_FLOW_MODEL_H
#include <stdatomic.h>
#include <stdbool.h>

#include "engines/stt/stt.h"
#include "flow/flow.h"

struct audio_clip;
struct flow_tmpl;
struct nlu_model;

#define FLOW_NAME_MAX 64     /* flow, node and voice names */
#define FLOW_TEXT_MAX 2000   /* bytes of one prompt text */
#define FLOW_TARGET_MAX 256  /* bytes of a transfer target */
#define FLOW_DIGITS_MAX 32   /* channel_collect's limit */
#define FLOW_OPTIONS_MAX 100 /* options of one menu */
#define FLOW_RETRIES_MAX 10
#define FLOW_INTENTS_MAX 200   /* intents of one flow */
#define FLOW_EXAMPLES_MAX 1000 /* examples of one intent */
#define FLOW_WORDS_MAX 20      /* spoken phrases of one menu option */
#define FLOW_NO_NODE ((unsigned)-1)

/* What a menu listens for (bits). */
enum flow_input {
	FLOW_INPUT_DTMF = 1u << 0,
	FLOW_INPUT_SPEECH = 1u << 1,
	FLOW_INPUT_BOTH = FLOW_INPUT_DTMF | FLOW_INPUT_SPEECH,
};

enum flow_node_type {
	FLOW_NODE_SAY,
	FLOW_NODE_MENU,
	FLOW_NODE_TRANSFER,
	FLOW_NODE_HANGUP,
	FLOW_NODE_PLAY,
	FLOW_NODE_GATHER,
	FLOW_NODE_CLASSIFY,
	FLOW_NODE_SET,
	FLOW_NODE_SWITCH,
	FLOW_NODE_HTTP,
	FLOW_NODE_LOOKUP,
	FLOW_NODE_RECORD,
	FLOW_NODE_HOURS,
	FLOW_NODE_GOTO,
	FLOW_NODE_SUBFLOW,
	FLOW_NODE_RETURN,
};

/* Flow-level handlers (the "handlers:" section); FLOW_NO_NODE: none. */
enum flow_handler {
	FLOW_H_NO_INPUT,
	FLOW_H_NO_MATCH,
	FLOW_H_MAX_RETRIES,
	FLOW_H_ERROR,
	FLOW_H_COUNT
};

/* One "name: template" pair (set vars, http headers, transfer context). */
struct flow_kv {
	char *name;
	struct flow_tmpl *value;
};

enum flow_cmp {
	FLOW_CMP_EQUALS,
	FLOW_CMP_NOT_EQUALS,
	FLOW_CMP_CONTAINS,
	FLOW_CMP_STARTS_WITH,
	FLOW_CMP_ENDS_WITH,
	FLOW_CMP_GT,
	FLOW_CMP_GE,
	FLOW_CMP_LT,
	FLOW_CMP_LE,
	FLOW_CMP_EMPTY, /* operand: "true" or "false" (literal) */
};

struct flow_case {
	enum flow_cmp op;
	struct flow_tmpl *operand;
	unsigned next;
};

/* A JSON body template: a tree whose string leaves are templates. */
enum flow_json_kind {
	FLOW_JSON_NULL,
	FLOW_JSON_BOOL,
	FLOW_JSON_NUMBER, /* literal text kept as written */
	FLOW_JSON_STRING, /* tmpl */
	FLOW_JSON_ARRAY,
	FLOW_JSON_OBJECT,
};
struct flow_json {
	enum flow_json_kind kind;
	char *key;		 /* member name inside an object, else NULL */
	char *literal;		 /* BOOL "true"/"false", NUMBER text */
	struct flow_tmpl *tmpl;	 /* STRING */
	struct flow_json *items; /* ARRAY/OBJECT children */
	unsigned nitems;
};

/* http response path -> variable ("map:"). */
struct flow_map {
	char *var;
	char *path; /* dotted: "account.balance", "items.0.id" */
};

enum flow_lookup_query {
	FLOW_LOOKUP_CUSTOMER_BY_PHONE,
	FLOW_LOOKUP_CUSTOMER,
	FLOW_LOOKUP_ACCOUNTS,
	FLOW_LOOKUP_CARDS,
	FLOW_LOOKUP_TICKETS,
	FLOW_LOOKUP_CREATE_TICKET,
};

enum flow_record_action {
	FLOW_REC_START,
	FLOW_REC_PAUSE,
	FLOW_REC_RESUME,
	FLOW_REC_STOP,
};

/* hours: one open span on a weekday, minutes from midnight [from, to). */
struct flow_hours_span {
	unsigned char wday; /* 0 = Sunday .. 6 = Saturday (struct tm) */
	unsigned short from_min, to_min;
};

/* A slot of a flow intent ("intents: X: slots:"). */
struct flow_slot {
	char *name;
	int entity;		  /* enum nlu_entity_type */
	bool required;		  /* default false */
	struct flow_tmpl *prompt; /* NULL: none (required needs one) */
	unsigned retries;	  /* default 2 */
	unsigned line, col;
};

struct flow_option {
	char *digits; /* DTMF keys, 1..max_digits */
	char **words; /* phrases that choose it by voice (normalized: lower
			 case, no punctuation); nwords 0: DTMF only */
	unsigned nwords;
	unsigned next;
};

/* A menu's "intents:" entry: the flow intent that leads to a node. */
struct flow_route {
	char *intent; /* name of a flow intent (struct flow_intent) */
	unsigned next;
};

/* A flow's "intents:" entry: examples the flow's classifier is trained on. */
struct flow_intent {
	char *name;
	char **examples;
	unsigned nexamples;
	struct flow_slot *slots;
	unsigned nslots;
	unsigned line, col;
};

struct flow_node {
	char *name;
	enum flow_node_type type;
	unsigned line, col; /* of the node's name */

	/* say: text; menu/gather/classify: prompt (NULL: none); play: text
	 * for text-only channels. text is the source of tmpl (kept for
	 * logs and v1 code); tmpl is what the runtime renders. */
	char *text;
	struct flow_tmpl *tmpl;
	struct flow_tmpl *no_input_tmpl,
		*invalid_tmpl; /* menu/gather/classify */
	char *voice;	       /* NULL: the flow's */
	bool barge_in;
	unsigned next; /* say */

	/* menu */
	struct flow_option *options;
	unsigned noptions;
	unsigned timeout_ms;
	unsigned interdigit_ms;
	unsigned max_digits;
	char terminator[2]; /* "" or one key */
	unsigned retries;
	char *no_input; /* prompt texts, NULL: none */
	char *invalid;
	char *no_input_name; /* "<node>.no_input", the prompt's CDR name */
	char *invalid_name;
	unsigned on_max_retries;

	/* menu, speech (docs/FLOWS.md "Speech menus") */
	unsigned input;		   /* FLOW_INPUT_* bits */
	struct flow_route *routes; /* open speech: intent -> node */
	unsigned nroutes;
	float conf_high, conf_low; /* default 0.7 and 0.4 */
	unsigned on_low;	   /* low confidence goes here; FLOW_NO_NODE:
				      treated as no match (the invalid retry) */
	char *stt_engines;	   /* engine chain "moonshine,pocketsphinx";
				      NULL: the daemon's default */
	/* How the speech is recognized: STT_MODE_OPEN when the menu has
	 * intents (grammar then holds the flow's intent examples as an
	 * STT_MODE_LM grammar, for an LM-capable fallback engine);
	 * STT_MODE_GRAMMAR when only options' words are given (grammar holds
	 * them). Built at load; NULL for DTMF-only menus. */
	enum stt_mode stt_mode;
	struct stt_grammar *grammar;
	struct stt_grammar *lm;	 /* STT_MODE_OPEN: intent examples as an LM
				    grammar for LM-capable fallbacks, or NULL */
	unsigned end_silence_ms; /* trailing silence; 0: the default 300 */
	unsigned max_speech_ms;	 /* 0: the default 15000 */
	/* continuation window (docs/SPEECH.md "Continued turns"), set when
	 * the step gives continue_window (0: off); else the daemon's
	 * stt.continue_window */
	bool continue_set;
	unsigned continue_ms;

	/* transfer */
	char *target; /* URI; NULL when to_agent */
	bool to_agent;
	struct flow_tmpl *target_tmpl; /* non-NULL: rendered and checked at
					  run time (target then NULL) */
	struct flow_kv *context;       /* transfer context, ncontext <= 32 */
	unsigned ncontext;
	unsigned on_fail; /* FLOW_NO_NODE: handlers */

	/* play */
	char *file;		 /* as written */
	struct audio_clip *clip; /* loaded at flow load, 8 kHz */

	/* gather (also uses prompt/voice/barge_in/timeouts/retries/input/
	 * stt fields above; options unused) */
	unsigned min_digits;
	int entity;   /* enum nlu_entity_type, -1: none */
	char *into;   /* variable, NULL: none */
	char **hints; /* normalized phrases (as menu "say"), nhints 0: none */
	unsigned nhints;
	bool grammar_mode; /* mode: grammar (grammar holds the hints) */

	/* classify */
	struct flow_tmpl *classify_text; /* no prompt: what to classify */
	char *model;			 /* NLU model name, NULL: the flow's */
	struct nlu_model *model_nlu;	 /* resolved when the daemon loads it;
					    NULL: the flow's own (flow->nlu) */
	unsigned on_high;		 /* FLOW_NO_NODE: none */
	unsigned on_no_match;		 /* FLOW_NO_NODE: retry/handlers */
	bool fill_slots;		 /* default true */

	/* set: vars; http: headers */
	struct flow_kv *kvs;
	unsigned nkvs;

	/* switch */
	struct flow_tmpl *value;
	struct flow_case *cases;
	unsigned ncases;
	unsigned on_default;

	/* http */
	char *method; /* "GET" ... */
	struct flow_tmpl *url;
	struct flow_tmpl *body;	  /* raw body, or NULL */
	struct flow_json *json;	  /* JSON body, or NULL */
	bool event_connect;	  /* event: connect */
	unsigned http_timeout_ms; /* per try */
	unsigned http_retries;
	struct flow_map *maps;
	unsigned nmaps;
	char *map_all;	   /* prefix or NULL */
	unsigned on_error; /* http, lookup: FLOW_NO_NODE: handlers */

	/* lookup */
	enum flow_lookup_query query;
	struct flow_tmpl *key;	   /* NULL: the query's default */
	struct flow_tmpl *subject; /* create_ticket */
	char *lookup_into;	   /* prefix (default filled by the loader) */
	unsigned on_not_found;	   /* FLOW_NO_NODE: next */

	/* record */
	enum flow_record_action rec_action;

	/* hours */
	int utc_offset_min;
	struct flow_hours_span *spans;
	unsigned nspans;
	char (*closed_dates)[11]; /* "YYYY-MM-DD" */
	unsigned nclosed;
	unsigned on_in_hours, on_out_of_hours;

	/* subflow */
	char *subflow; /* flow name; resolved at run time through the set */
	unsigned subflow_line, subflow_col; /* of the "flow:" value */

	/* hangup: a static string (the channel keeps the pointer) */
	const char *reason;
};

struct flow {
	atomic_uint refs;
	char *name;
	char *file;
	unsigned name_line, name_col;
	char *voice; /* NULL: the session's default */
	unsigned start;
	struct flow_node *nodes;
	unsigned nnodes;
	struct flow_intent *intents; /* the "intents:" section */
	unsigned nintents;
	char *dir; /* directory of the file (play paths), NULL: builtin */
	char *description;
	struct flow_kv *variables; /* "variables:" name -> default (literal) */
	unsigned nvariables;
	unsigned handlers[FLOW_H_COUNT]; /* FLOW_NO_NODE: none */
	/* Classifier trained at load on the intents' examples (deterministic);
	 * NULL when the flow has no intents. Immutable: any thread classifies.
	 */
	struct nlu_model *nlu;
};

/* Free a flow and its nodes, whatever its refcount (loader and deref). */
void flow_free(struct flow *f);

/* Append "file:line:col: message" to e (NULL-safe; counts past the cap). */
void flow_errors_add(struct flow_errors *e, const char *file, unsigned line,
		     unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
#endif
