/* Importers: Amazon Connect flows (flow language JSON, and the seed's
 * StartAction/States dialect), Genesys flows (the seed's `const flow = {...}`
 * object literal or the same object as JSON) and Genesys Architect (Archy)
 * YAML, translated into voxgate flow YAML (docs/IMPORT.md). Pure functions on
 * buffers: no I/O, any thread. */
#ifndef VG_FLOW_IMPORT_H
#define VG_FLOW_IMPORT_H
#include <stdbool.h>
#include <stddef.h>

struct strbuf;
struct flow_errors;

enum flow_import_from {
	FLOW_IMPORT_CONNECT,
	FLOW_IMPORT_GENESYS,
	FLOW_IMPORT_ARCHY,
};

/* Extra inputs of an import; every field may be 0/NULL. Texts are borrowed
 * for the call. */
struct flow_import_opts {
	/* YAML map: Connect Lambda ARN or name -> URL, hours of operation
	 * name -> `open` map (as the hours node), Genesys action name -> URL,
	 * Archy {{placeholder}} -> text. */
	const char *values;
	size_t values_len;
	const char *values_file; /* labels messages about values */
	/* YAML map: intent -> list of examples (or {examples: [...]}). Given:
	 * classify nodes route the flow's own intents; absent: `model:
	 * default` (the bundled BANKING77 model). */
	const char *intents;
	size_t intents_len;
	const char *intents_file;
	/* Unsupported types and fields become a comment and a no-op node
	 * (logged warning) instead of errors. */
	bool lenient;
};

/* Translate buf[0..len) (need not be NUL-terminated; file labels messages)
 * from the given dialect into voxgate flow YAML appended to yaml_out
 * (caller's strbuf, its cap applies). Every problem is appended to errs
 * ("file:line:col: message", may be NULL). Returns 0, -EINVAL (bad
 * argument), -EBADMSG (unsupported or invalid input), -E2BIG (input or
 * output too big) or -ENOMEM. On failure yaml_out may hold a partial text.
 */
int flow_import(enum flow_import_from from, const char *file, const char *buf,
		size_t len, const struct flow_import_opts *o,
		struct strbuf *yaml_out, struct flow_errors *errs);

/* "connect", "genesys", "archy" -> *from. Returns 0 or -EINVAL. */
int flow_import_from_parse(const char *s, enum flow_import_from *from);

/* Which importer a flows-directory file needs, by name and content: *.json
 * with "Actions" or "StartAction"+"States" (Connect) or "startState"
 * (Genesys), *.js (Genesys), *.yaml whose top-level key is inboundCall
 * (Archy). Returns 0 with *from set, or -ENOENT (not an import: a plain
 * voxgate flow or another file). */
int flow_import_detect(const char *name, const char *buf, size_t len,
		       enum flow_import_from *from);

/* Load a flow file as the daemon does: a voxgate YAML flow with
 * flow_load_file(), or, when flow_import_detect() says so, a foreign flow
 * imported in memory (strict: no values, no intents, any unsupported item
 * fails) whose YAML is loaded under the label "PATH (imported)". Blocks on
 * disk. Returns as flow_load_buf(), or -errno from reading. */
struct flow;
int flow_import_load_file(const char *path, struct flow **fp,
			  struct flow_errors *errs);

/* The `voxgate flow import` command (argv[0] is "import"): returns the
 * exit status (0 ok, 1 import or load failed, 2 usage). Blocks on disk. */
int flow_import_cli(int argc, char **argv);

#define FLOW_IMPORT_MAX_INPUT (1u << 20) /* bytes of a source flow */
#define FLOW_IMPORT_MAX_DEPTH 64u	 /* nesting in a source document */
#endif
