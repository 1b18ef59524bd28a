/* The in-memory form of a loaded flow, shared by the loader, the set and
 * the runtime (internal to src/flow). Everything is immutable after load;
 * transitions are node indexes, checked at load time. */
#ifndef VG_FLOW_MODEL_H
#define VG_FLOW_MODEL_H
#include <stdatomic.h>
#include <stdbool.h>

#include "flow/flow.h"

#define FLOW_NAME_MAX 64     /* flow, node and voice names */
#define FLOW_TEXT_MAX 2000   /* bytes of one prompt text */
#define FLOW_TARGET_MAX 256  /* bytes of a transfer target */
#define FLOW_DIGITS_MAX 32   /* channel_collect's limit */
#define FLOW_OPTIONS_MAX 100 /* options of one menu */
#define FLOW_RETRIES_MAX 10

enum flow_node_type {
	FLOW_NODE_SAY,
	FLOW_NODE_MENU,
	FLOW_NODE_TRANSFER,
	FLOW_NODE_HANGUP
};

struct flow_option {
	char *digits; /* DTMF keys, 1..max_digits */
	unsigned next;
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
};

/* Free a flow and its nodes, whatever its refcount (loader and deref). */
void flow_free(struct flow *f);

/* Append "file:line:col: message" to e (NULL-safe; counts past the cap). */
void flow_errors_add(struct flow_errors *e, const char *file, unsigned line,
		     unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
#endif
