/* Precomputed sentence vectors keyed by the exact utterance text: an
 * experiment hook (bench_nlu NLU_VECS, docs/NLU.md "What was tried") to
 * measure what an external sentence encoder's vectors add to the
 * classifier before its forward pass is written in C. Not in the product:
 * a model trained with them borrows the table and cannot be saved. A table
 * is immutable after parsing: read it from any thread. */
#ifndef VG_ENGINES_NLU_VECS_H
#define VG_ENGINES_NLU_VECS_H

#include <stddef.h>
#include <stdint.h>

/* Caps: dimensions (as word embeddings), sentences, file bytes. */
#define NLU_VECS_DIM_MAX 512
#define NLU_VECS_MAX 1000000
#define NLU_VECS_BYTES_MAX (1024u << 20)

struct nlu_vecs;

/* Parses lines of tab-separated fields whose last field is the vector
 * (dim space-separated numbers) and the field before it the text (so
 * `text<TAB>v1 ... vdim` and `label<TAB>text<TAB>v1 ... vdim` both work;
 * blank lines skipped). All vectors have the same dimension; a repeated
 * text keeps its first vector. *out is new, owned by the caller. -EBADMSG
 * on a malformed line (*line set, 1-based, when not NULL): fewer than two
 * fields, an empty text, a missing, non-finite or extra number, another
 * dimension, a dimension over NLU_VECS_DIM_MAX, no line at all; -E2BIG
 * over the caps; -ENOMEM. */
int nlu_vecs_parse(const char *buf, size_t len, struct nlu_vecs **out,
		   size_t *line);
/* Reads and parses a file (as nlu_vecs_parse, plus -errno). */
int nlu_vecs_load(const char *path, struct nlu_vecs **out, size_t *line);
void nlu_vecs_destroy(struct nlu_vecs *v);

/* Dimension and number of sentences. */
uint32_t nlu_vecs_dim(const struct nlu_vecs *v);
size_t nlu_vecs_count(const struct nlu_vecs *v);

/* The vector of text (exact bytes, NUL-terminated; dim floats, borrowed
 * from v), or NULL when the table does not hold it. */
const float *nlu_vecs_find(const struct nlu_vecs *v, const char *text);

#endif
