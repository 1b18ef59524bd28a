/* Inside the flow loader (internal to src/flow): the loader state and the
 * field helpers shared by load.c (document, v1 nodes, speech), load_nodes.c
 * (v2 nodes) and load_check.c (variables, reachability, loops). */
#ifndef VG_FLOW_LOAD_IMPL_H
#define VG_FLOW_LOAD_IMPL_H
#include <stdbool.h>
#include <stddef.h>

#include "config/ydoc.h"
#include "engines/nlu/classifier.h"
#include "flow/model.h"
#include "flow/tmpl.h"

#define NO_NODE ((unsigned)-1)

#define MIN_TIMEOUT_MS 100u
#define MAX_TIMEOUT_MS 300000u
#define DEFAULT_TIMEOUT_MS 5000u
#define DEFAULT_INTERDIGIT_MS 3000u
#define DEFAULT_RETRIES 2u

/* Speech menus (docs/FLOWS.md "Speech menus and intents"). */
#define DEFAULT_CONF_HIGH 0.7f
#define DEFAULT_CONF_LOW 0.4f
#define MIN_END_SILENCE_MS 100u
#define MAX_END_SILENCE_MS 5000u
#define MAX_CONTINUE_MS 2000u
#define MIN_MAX_SPEECH_MS 1000u
#define MAX_MAX_SPEECH_MS 30000u
/* stt_grammar_create() takes up to this many LM sentences; the LM only
 * biases recognition, so a menu routing more examples keeps the first. */
#define LM_SENTENCES_MAX 100000u
/* An example is one caller utterance: the classifier reads no more. */
#define EXAMPLE_MAX NLU_TEXT_MAX

/* Bytes of one template field other than a prompt (URL, body, JSON leaf). */
#define FLOW_TMPL_BODY_MAX 16384u
/* Successors of one node (options + intents + cases + fixed exits). */
#define FLOW_SUCC_MAX 512u

/* A compiled template whose variables are checked once every node is
 * parsed (a later "set" may declare them). */
struct tmpl_use {
	const struct flow_tmpl *t;
	const struct ydoc_node *at;	   /* the scalar, for positions */
	char what[FLOW_NAME_MAX * 2 + 48]; /* "node 'x': 'text'" */
};

struct loader {
	const char *file;
	const char *buf; /* the source, for positions inside scalars */
	size_t len;
	struct flow_errors *errs;
	unsigned nerr;
	bool oom;
	struct flow *f;
	/* Named nodes sorted by name, for transitions in O(log n). */
	struct flow_node **by_name;
	unsigned nnamed;
	bool have_handlers; /* the flow has a "handlers:" section */
	struct tmpl_use *uses;
	size_t nuses, cuses;
};

/* Node-scoped context for messages: "node 'x': ..." */
struct nctx {
	struct loader *L;
	struct flow_node *fn;
	const char *prefix; /* NULL: "node '<name>': " */
};

/* ---- messages ---- */
void ld_err_at(struct loader *L, const struct ydoc_node *at, const char *fmt,
	       ...) __attribute__((format(printf, 3, 4)));
/* "node 'x': ..." at `at`, or at the node's name when at is NULL. */
void ld_nerr(struct nctx *c, const struct ydoc_node *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* As ld_nerr at an explicit position. */
void ld_nerr_pos(struct nctx *c, unsigned line, unsigned col, const char *fmt,
		 ...) __attribute__((format(printf, 4, 5)));
const char *ld_excerpt(const struct ydoc_node *n, char *buf, size_t size);
void ld_unknown_field(struct nctx *c, const struct ydoc_node *k,
		      const char *type, const char *expected);
void ld_missing(struct nctx *c, const char *field);
void ld_oom(struct loader *L);

/* ---- values ---- */
bool ld_valid_name(const char *s, size_t len);
bool ld_is_dtmf(char c);
char *ld_dup_or_oom(struct loader *L, const char *s);
bool ld_key_is(const struct ydoc_node *k, const char *s);
bool ld_scalar_or_err(struct nctx *c, const char *field,
		      const struct ydoc_node *v);
void ld_get_text(struct nctx *c, const char *field, const struct ydoc_node *v,
		 char **out);
void ld_get_voice(struct loader *L, struct nctx *c, const struct ydoc_node *v,
		  char **out);
void ld_get_bool(struct nctx *c, const char *field, const struct ydoc_node *v,
		 bool *out);
bool ld_get_uint(struct nctx *c, const char *field, const struct ydoc_node *v,
		 unsigned min, unsigned max, unsigned *out);
bool ld_get_duration_in(struct nctx *c, const char *field,
			const struct ydoc_node *v, unsigned min, unsigned max,
			unsigned *out);
void ld_get_duration(struct nctx *c, const char *field,
		     const struct ydoc_node *v, unsigned *out);
unsigned ld_find_node(const struct loader *L, const char *name);
void ld_get_ref(struct nctx *c, const char *what, const struct ydoc_node *v,
		unsigned *out);
bool ld_parse_number(const struct ydoc_node *v, float *out);
void ld_get_confidence(struct nctx *c, const struct ydoc_node *v);
void ld_get_stt(struct nctx *c, const struct ydoc_node *v);
/* The listening fields of menu, gather and classify nodes: stt,
 * end_silence, max_speech, continue_window (into c->fn). Returns true when k is
 * one of them (parsed, errors reported), false when it is not. */
bool ld_listen_field(struct nctx *c, const struct ydoc_node *k,
		     const struct ydoc_node *v);
bool ld_get_terminator(struct nctx *c, const struct ydoc_node *v);
char *ld_prompt_name(struct loader *L, const char *node, const char *suffix);
size_t ld_normalize_phrase(const char *in, size_t len, char *out);
const struct flow_intent *ld_find_intent(const struct flow *f,
					 const char *name);
unsigned ld_parse_options(struct nctx *c, const struct ydoc_node *v);

/* A (tmpl) field: a scalar of 1..max bytes (empty allowed when
 * allow_empty) compiled into *out; bad syntax is reported at the "{{".
 * The text is also copied to *text when text is not NULL. what names the
 * field in messages ("'text'"). Returns true when *out was set. */
bool ld_get_tmpl(struct nctx *c, const char *what, const struct ydoc_node *v,
		 size_t max, bool allow_empty, struct flow_tmpl **out,
		 char **text);
/* Compile a template with no source node (a default such as
 * "{{last.transcript}}"); not checked for declared variables. */
struct flow_tmpl *ld_tmpl_const(struct loader *L, const char *text);
/* Remember t for the declared-variables check ("prefix" starts messages). */
void ld_tmpl_use(struct loader *L, const struct flow_tmpl *t,
		 const struct ydoc_node *at, const char *prefix,
		 const char *field);
/* line:col of byte off of scalar v's text in the source (the scalar's own
 * position when the text there cannot be matched to the source). */
void ld_scalar_pos(const struct loader *L, const struct ydoc_node *v,
		   size_t off, unsigned *line, unsigned *col);
/* A variable name for a target (set, gather into, map): valid and not a
 * built-in call.* name. */
bool ld_get_var_target(struct nctx *c, const char *what,
		       const struct ydoc_node *v, char **out);
/* Entity name -> enum nlu_entity_type, or -1. */
int ld_entity_from_name(const char *s);

/* Whether a flow handler covers a node's missing exit. */
bool ld_retries_covered(const struct loader *L);

/* ---- nodes (load_nodes.c) ---- */
void ld_parse_play(struct nctx *c, const struct ydoc_node *m);
void ld_parse_gather(struct nctx *c, const struct ydoc_node *m);
void ld_parse_classify(struct nctx *c, const struct ydoc_node *m);
void ld_parse_set(struct nctx *c, const struct ydoc_node *m);
void ld_parse_switch(struct nctx *c, const struct ydoc_node *m);
void ld_parse_http(struct nctx *c, const struct ydoc_node *m);
void ld_parse_lookup(struct nctx *c, const struct ydoc_node *m);
void ld_parse_record(struct nctx *c, const struct ydoc_node *m);
void ld_parse_hours(struct nctx *c, const struct ydoc_node *m);
void ld_parse_goto(struct nctx *c, const struct ydoc_node *m);
void ld_parse_subflow(struct nctx *c, const struct ydoc_node *m);
void ld_parse_return(struct nctx *c, const struct ydoc_node *m);
/* The transfer "context:" map. */
void ld_parse_context(struct nctx *c, const struct ydoc_node *v);
/* Intent "slots:" map. */
void ld_parse_slots(struct loader *L, struct flow_intent *it,
		    const struct ydoc_node *v);
void ld_json_free(struct flow_json *j);

/* ---- fields shared by node parsers (load_fields.c) ---- */
/* Entity names keys can type (digits, account, phone, card, number). */
bool ld_entity_keyable(int entity);
/* "unknown entity" reported at v; true with *out set otherwise. */
bool ld_get_entity(struct nctx *c, const struct ydoc_node *v, int *out);
/* A map "name: (tmpl)" (set vars, headers, context): 1..max entries,
 * names checked by name_ok, values at most vmax bytes. */
typedef bool(ld_kv_name_fn)(struct nctx *c, const char *what,
			    const struct ydoc_node *k, char **out);
void ld_parse_kvs(struct nctx *c, const char *field, const struct ydoc_node *v,
		  unsigned max, size_t vmax, ld_kv_name_fn *name_ok,
		  struct flow_kv **kvp, unsigned *np);
/* Header names and context keys: [A-Za-z0-9_-]{1,64}. */
bool ld_key_name_ok(struct nctx *c, const char *what, const struct ydoc_node *k,
		    char **out);
bool ld_var_name_ok(struct nctx *c, const char *what, const struct ydoc_node *k,
		    char **out);

/* ---- built once the flow is valid (load_speech.c) ---- */
void ld_build_speech(struct loader *L);

/* ---- checks (load_check.c) ---- */
/* Successors of fn into out (FLOW_SUCC_MAX); returns their count. */
unsigned ld_node_succ(const struct flow_node *fn, unsigned *out);
void ld_check_vars(struct loader *L);
void ld_check_reachable(struct loader *L);
void ld_check_loops(struct loader *L);
#endif
