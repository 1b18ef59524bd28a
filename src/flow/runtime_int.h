/* Internals of the flow runtime shared by runtime.c (the state machine),
 * runtime_http.c (http and lookup nodes) and runtime_save.c (snapshots).
 * Not a public header: only src/flow/runtime*.c include it. */
#ifndef VG_FLOW_RUNTIME_INT_H
#define VG_FLOW_RUNTIME_INT_H
#include <stdbool.h>
#include <stdint.h>

#include "core/strbuf.h"
#include "flow/model.h"
#include "flow/runtime.h"
#include "flow/tmpl.h"
#include "flow/vars.h"

/* One flow on the subflow stack. In a caller frame node is the subflow
 * node (its next is where the callee returns to). */
struct rt_frame {
	struct flow *flow; /* own reference */
	unsigned node;	   /* FLOW_NO_NODE before the first entry */
};

/* The result the outstanding action waits for. */
enum rt_wait {
	RW_START,
	RW_PLAYED,
	RW_INPUT,
	RW_TRANSFER,
	RW_RECORD,
	RW_HTTP,
	RW_LOOKUP,
	RW_HANGUP,
	RW_END,
};

/* Why the last try of an input node failed. */
enum rt_fail {
	RF_NONE,
	RF_NO_INPUT,
	RF_NO_MATCH,
};

#define RT_REASON_MAX 64

struct flow_run {
	struct flow_run_env env; /* call strings point at the copies below */
	char *call_id, *from, *to, *channel;

	struct rt_frame stack[FLOW_RUN_MAX_DEPTH + 1];
	unsigned depth; /* frames in use; stack[depth - 1] runs */

	struct flow_vars *vars;
	enum rt_wait wait;
	unsigned want; /* node of the top frame to enter next */
	bool emitted;  /* act holds the next action */
	struct flow_action act;
	int64_t now_ms; /* of the result being processed */

	/* the current input node */
	unsigned attempts;
	enum rt_fail fail;
	unsigned hops; /* node entries since the last gather result */

	/* slot filling after a classify (intents.slots) */
	bool slot_on;
	unsigned slot_intent; /* index into the top flow's intents */
	unsigned slot_idx;    /* slot being asked */
	unsigned slot_attempts;
	unsigned slot_next; /* node to branch to once filled */

	/* error handling */
	bool in_err;	    /* on the error handler's path */
	unsigned err_count; /* errors seen on that path */
	bool escalating;    /* the built-in transfer to an agent is out */
	char esc_reason[RT_REASON_MAX];

	bool done;
	const char *end_reason; /* static */
	const char *hangup_reason;

	/* strings of the current action, freed at the next step */
	char **strs;
	unsigned nstrs, cstrs;
};

/* ---- runtime.c, for the other parts ---- */
static inline struct rt_frame *rt_top(struct flow_run *r)
{
	return &r->stack[r->depth - 1];
}
static inline const struct flow_node *rt_node(struct flow_run *r)
{
	struct rt_frame *t = rt_top(r);
	return &t->flow->nodes[t->node];
}
/* Keep a copy of s[0..len) until the next step; NULL: out of memory. */
const char *rt_keep(struct flow_run *r, const char *s, size_t len);
/* Render t (NULL: fallback, borrowed) for ctx; NULL on failure. */
const char *rt_render(struct flow_run *r, const struct flow_tmpl *t,
		      const char *fallback, enum flow_tmpl_ctx ctx, size_t max);
void rt_set(struct flow_run *r, const char *name, const char *value);
void rt_setf(struct flow_run *r, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Go to node next of the top frame. */
void rt_jump(struct flow_run *r, unsigned next);
/* An error at the current node: handlers.error or the built-in
 * escalation. reason: short token ("http", "template", ...). */
void rt_error(struct flow_run *r, const char *reason);
/* Emit the current act (type and fields set by the caller). */
void rt_emit(struct flow_run *r, enum flow_act_type type, enum rt_wait wait);

/* ---- runtime_http.c ---- */
void rt_http_enter(struct flow_run *r, const struct flow_node *n);
void rt_http_result(struct flow_run *r, const struct flow_node *n,
		    const struct flow_result *res);
void rt_lookup_enter(struct flow_run *r, const struct flow_node *n);
void rt_lookup_result(struct flow_run *r, const struct flow_node *n,
		      const struct flow_result *res);
#endif
