/* The in-memory form of a loaded flow, shared by the loader, the set and
 * the runtime (internal to src/flow). Everything is immutable after load;
 * transitions are node indexes, checked at load time. */
#ifndef VG_FLOW_MODEL_H
#define VG_FLOW_MODEL_H
#include <stdatomic.h>
#include <stdbool.h>

#include "engines/stt/stt.h"
#include "flow/flow.h"

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
	FLOW_NODE_HANGUP
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
	unsigned line, col;
};

struct flow_node {
	char *name;
	enum flow_node_type type;
	unsigned line, col; /* of the node's name */

	/* say: text; menu: prompt */
	char *text;
	char *voice; /* NULL: the flow's */
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

	/* transfer */
	char *target; /* URI; NULL when to_agent */
	bool to_agent;
	unsigned on_fail;

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
