/* Internals shared by the importers: a JSON/JSON5-ish tree with source
 * positions (import_json.c), the voxgate YAML tree they build and print
 * (import_yaml.c), and the per-import context. Not a public interface. */
#ifndef VG_FLOW_IMPORT_INT_H
#define VG_FLOW_IMPORT_INT_H
#include <stdbool.h>
#include <stddef.h>

#include "flow/import.h"

struct ydoc;
struct ydoc_node;
struct strbuf;

/* ---- JSON tree (every node owned by its jdoc) ---- */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jnode {
	enum jtype type;
	unsigned line, col; /* 1-based */
	char *str;	    /* J_STR text, J_NUM/J_BOOL as written */
	size_t n;	    /* J_ARR items / J_OBJ members */
	size_t cap;	    /* allocated items */
	struct jnode **items;
	char **keys;		/* J_OBJ */
	unsigned *kline, *kcol; /* J_OBJ key positions */
	struct jnode *next_alloc;
};

struct jdoc {
	struct jnode *root;
	struct jnode *all; /* allocation list */
	size_t count;
};

/* Parse buf as JSON (json5 false) or as a JavaScript object literal
 * (json5 true: // and block comments, unquoted keys, single quotes, trailing
 * commas, and an optional `const|let|var NAME =` before and `;` after).
 * On error: -EBADMSG with "file:line:col: message" in errs; -E2BIG;
 * -ENOMEM. */
int jdoc_parse(struct jdoc *d, const char *file, const char *buf, size_t len,
	       bool json5, struct flow_errors *errs);
void jdoc_fini(struct jdoc *d);
const struct jnode *jget(const struct jnode *obj, const char *key);
/* Text of a string/number/bool member, else NULL. */
const char *jstr(const struct jnode *obj, const char *key);

/* ---- output YAML tree ---- */

enum ytype { Y_STR, Y_RAW, Y_MAP, Y_SEQ };

struct yv {
	enum ytype type;
	char *text;    /* Y_STR (printed quoted) / Y_RAW (printed as is) */
	char *key;     /* when a map member */
	char *comment; /* printed as "# ..." lines before the member/item */
	struct yv *first, *last, *next;
};

struct imp {
	enum flow_import_from from;
	const char *file;
	const struct flow_import_opts *o;
	struct flow_errors *errs;
	unsigned nerrors;
	bool oom;
	struct yv *vars, *nodes, *intents, *handlers;
	struct yv *used;      /* node names taken (keys) */
	const char *name_src; /* the source flow's name (borrowed) */
	struct ydoc *values_doc, *intents_doc;
	const struct ydoc_node *values, *intents_map;
	bool has_connect_event;
	unsigned seq;	 /* unique names */
	char *end;	 /* the shared hangup node's name, once made */
	char *pruned;	 /* names of unreachable nodes left out, or NULL */
	unsigned nnodes; /* nodes made (capped at FLOW_MAX_NODES) */
};

struct yv *yv_new(struct imp *im, enum ytype t, const char *text);
struct yv *yv_map(struct imp *im);
struct yv *yv_seq(struct imp *im);
/* Add a member (key copied) / item; NULL val is ignored. Returns val. */
struct yv *yv_put(struct imp *im, struct yv *map, const char *key,
		  struct yv *val);
struct yv *yv_puts(struct imp *im, struct yv *map, const char *key,
		   const char *text);
struct yv *yv_putraw(struct imp *im, struct yv *map, const char *key,
		     const char *text);
struct yv *yv_push(struct yv *seq, struct yv *val);
struct yv *yv_get(const struct yv *map, const char *key);
void yv_comment(struct imp *im, struct yv *v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void yv_free(struct yv *v);
int yv_print(const struct yv *v, struct strbuf *out);

/* ---- the import context ---- */

int imp_init(struct imp *im, enum flow_import_from from, const char *file,
	     const struct flow_import_opts *o, struct flow_errors *errs);
void imp_fini(struct imp *im);
/* An error at line:col (counted; import fails). */
void imp_error(struct imp *im, unsigned line, unsigned col, const char *fmt,
	       ...) __attribute__((format(printf, 4, 5)));
/* Unsupported item: an error, or with lenient a logged warning; returns
 * true when lenient (caller then emits a no-op). */
bool imp_unsupported(struct imp *im, unsigned line, unsigned col,
		     const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* src as a name (node, flow, queue): 1-64 of [A-Za-z0-9_.-], other
 * characters as '_' (may be empty). */
void imp_sanitize(const char *src, char *out, size_t size);
/* A valid, unique node name made from src (sanitized), copied into out. */
void imp_node_name(struct imp *im, const char *src, char *out, size_t size);
/* Make a node: nodes[name] = {type: type}, with a comment. */
struct yv *imp_node(struct imp *im, const char *name, const char *type,
		    const char *comment);
struct yv *imp_find_node(struct imp *im, const char *name);
/* Declare a flow variable (variables: name: "") unless declared. */
void imp_declare(struct imp *im, const char *var);
/* Value for key in the --values map (scalar text) or NULL; node: map. */
const char *imp_value(struct imp *im, const char *key);
const struct ydoc_node *imp_value_node(struct imp *im, const char *key);
/* Classify routing: the flow's intents from --intents, else `model:
 * default` added to the node. */
void imp_classify_model(struct imp *im, struct yv *node);
/* The flow text for a source text: "{{" escaped, SSML tags stripped when
 * ssml. Returns a new string. */
char *imp_text(struct imp *im, const char *s, bool ssml);
/* Finish: the document (name sanitized, description = the source's name)
 * printed to out, unless errors were reported. */
int imp_finish(struct imp *im, const char *name, const char *start,
	       const char *header, struct strbuf *out);
char *imp_strdup(struct imp *im, const char *s);
char *imp_printf(struct imp *im, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Name of a shared `hangup: completed` node (made on first use). */
const char *imp_end(struct imp *im);
/* The seed dialects name agent states they never define: a say and a
 * transfer to agent under that name (on_fail: the end node). */
void imp_agent(struct imp *im, const char *name, const char *origin);
/* A say whose only successor is a prompt-less classify that nothing else
 * enters becomes that classify, with the say's text as its prompt (the
 * question before a bot turn is the bot's prompt). */
void imp_fold_prompts(struct imp *im, const char *start);
/* True for a state name that means a human: contains agent, escalat,
 * human (any case). */
bool imp_is_agent_name(const char *s);
/* The file's base name without its extension (new string). */
char *imp_file_stem(struct imp *im);
/* Drop nodes that cannot be reached from start (noted in the header). */
void imp_prune(struct imp *im, const char *start);
/* Scalar leaves in the nodes naming node (transitions). */
unsigned imp_refs(struct imp *im, const char *node);

/* Each importer fills im and prints the flow to out (imp_finish). */
int import_connect(struct imp *im, const char *buf, size_t len,
		   struct strbuf *out);
int import_genesys(struct imp *im, const char *buf, size_t len,
		   struct strbuf *out);
int import_archy(struct imp *im, const char *buf, size_t len,
		 struct strbuf *out);
#endif
