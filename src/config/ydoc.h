/* A small read-only YAML document tree on libyaml's event parser: maps,
 * sequences and scalars with 1-based source positions, hard size limits,
 * and no anchors, aliases, tags or duplicate keys. Used by config and flows. */
#ifndef VG_CONFIG_YDOC_H
#define VG_CONFIG_YDOC_H
#include <stdbool.h>
#include <stddef.h>

struct ydoc;
struct ydoc_node;

enum ydoc_type { YDOC_SCALAR, YDOC_SEQ, YDOC_MAP };

/* Hard limits on one document. Zero fields take the default (in brackets);
 * larger values are clamped to the hard maximum (in braces). */
struct ydoc_limits {
	size_t max_bytes;      /* input size [4 MiB] {64 MiB} */
	size_t max_depth;      /* nested maps/seqs [32] {256} */
	size_t max_nodes;      /* scalars + maps + seqs [200000] {4000000} */
	size_t max_scalar_len; /* bytes in one scalar [65536] {16 MiB} */
};

#define YDOC_MAX_BYTES_DEFAULT (4u << 20)
#define YDOC_MAX_DEPTH_DEFAULT 32u
#define YDOC_MAX_NODES_DEFAULT 200000u
#define YDOC_MAX_SCALAR_DEFAULT 65536u

/* Parse buf[0..len) (UTF-8/16 YAML, need not be NUL-terminated) into a new
 * tree with the default limits. name labels error messages and is copied.
 * An empty stream (only comments or blanks) gives a document whose root is
 * NULL. On success *docp gets a new tree the caller owns (ydoc_destroy).
 * On failure *docp is untouched and err (if errlen > 0) holds one message
 * "name:line:col: what went wrong". Any thread; no global state.
 * Returns 0, -EINVAL (bad argument), -ENOMEM, -E2BIG (a limit was hit) or
 * -EBADMSG (syntax error, duplicate key, anchor, alias, tag, several
 * documents, non-scalar map key). */
int ydoc_parse(const char *name, const char *buf, size_t len,
	       struct ydoc **docp, char *err, size_t errlen);

/* As ydoc_parse with explicit limits (NULL: the defaults). */
int ydoc_parse_limits(const char *name, const char *buf, size_t len,
		      const struct ydoc_limits *lim, struct ydoc **docp,
		      char *err, size_t errlen);

/* Free the tree and every node in it. NULL is a no-op. */
void ydoc_destroy(struct ydoc *doc);

/* The document's root node (borrowed) or NULL for an empty stream. */
const struct ydoc_node *ydoc_root(const struct ydoc *doc);

/* The name given to ydoc_parse (borrowed). */
const char *ydoc_name(const struct ydoc *doc);

/* Node accessors; nodes are borrowed from their document and live until
 * ydoc_destroy. n must not be NULL for ydoc_node_type; the others return
 * 0 / NULL / false for NULL. */
enum ydoc_type ydoc_node_type(const struct ydoc_node *n);
unsigned ydoc_node_line(const struct ydoc_node *n); /* 1-based */
unsigned ydoc_node_col(const struct ydoc_node *n);  /* 1-based, characters */

/* "scalar", "list" or "map", for messages. */
const char *ydoc_type_name(enum ydoc_type t);

/* Scalar text, NUL-terminated (a double-quoted "\0" can embed a NUL, so
 * compare strlen with ydoc_scalar_len when that matters). NULL for a
 * non-scalar. */
const char *ydoc_scalar_text(const struct ydoc_node *n);
size_t ydoc_scalar_len(const struct ydoc_node *n);

/* True if the scalar was written quoted or as a block (| or >), i.e. is
 * explicitly a string; false for plain scalars and non-scalars. */
bool ydoc_scalar_quoted(const struct ydoc_node *n);

/* True for a plain YAML null: empty, "~", "null", "Null" or "NULL". */
bool ydoc_scalar_is_null(const struct ydoc_node *n);

/* Write a short printable excerpt of a scalar into buf (control bytes as
 * '?', cut after about 40 characters with "..."); returns buf. For a
 * non-scalar writes "a map" / "a list". */
const char *ydoc_node_excerpt(const struct ydoc_node *n, char *buf,
			      size_t size);

/* Items in a sequence or pairs in a map; 0 for a scalar. */
size_t ydoc_node_count(const struct ydoc_node *n);

/* i-th sequence item, or NULL if n is not a sequence or i is out of range. */
const struct ydoc_node *ydoc_seq_item(const struct ydoc_node *n, size_t i);

/* i-th key (always a scalar) / value of a map in document order, or NULL. */
const struct ydoc_node *ydoc_map_key(const struct ydoc_node *n, size_t i);
const struct ydoc_node *ydoc_map_value(const struct ydoc_node *n, size_t i);

/* Value for key in map n (borrowed), or NULL if absent or n is no map. */
const struct ydoc_node *ydoc_map_get(const struct ydoc_node *n,
				     const char *key);
#endif
