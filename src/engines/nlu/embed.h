/* Pretrained word embeddings for the intent classifier: a table of word
 * vectors (GloVe text format in, int8-quantised in memory and in model
 * files) and the sentence vector of an utterance (mean of its words'
 * vectors, L2-normalised). The classifier appends the sentence vector to
 * the sparse n-gram features, so words never seen in training still carry
 * meaning. A table is immutable after parsing: read it from any thread. */
#ifndef VG_ENGINES_NLU_EMBED_H
#define VG_ENGINES_NLU_EMBED_H

#include <stddef.h>
#include <stdint.h>

#include "core/strtab.h"
#include "engines/nlu/tokenize.h"

/* Caps on a table: dimensions, words, and the bytes of one text line. */
#define NLU_EMB_DIM_MAX 512
#define NLU_EMB_WORDS_MAX 2000000
#define NLU_EMB_LINE_MAX 16384
#define NLU_EMB_BYTES_MAX (2048u << 20)

struct nlu_emb {
	uint32_t dim, n;
	char *words;	/* n NUL-terminated words, back to back */
	uint32_t *woff; /* n: offset of word i in words */
	size_t words_len;
	float *scale;	   /* n: vector i is q[i*dim..] * scale[i] */
	int8_t *q;	   /* n * dim */
	struct strtab tab; /* word -> index */
};

/* Parses GloVe text: one `word v1 ... vdim` line per word, all lines of
 * the same dimension (blank lines skipped). Words the tokenizer cannot
 * produce (upper case, punctuation, apostrophes, longer than
 * NLU_TOKEN_LEN_MAX) and repeated words are skipped; the first max_words
 * kept (0: no cap) are used, so a frequency-ordered file gives the most
 * frequent words. *out is new, owned by the caller. -EBADMSG on a
 * malformed line (*line set, 1-based, when not NULL): a missing or
 * non-finite number, a different dimension, a line over
 * NLU_EMB_LINE_MAX, a dimension over NLU_EMB_DIM_MAX, no word kept;
 * -E2BIG over the caps; -ENOMEM. */
int nlu_emb_parse(const char *buf, size_t len, uint32_t max_words,
		  struct nlu_emb **out, size_t *line);
/* Reads and parses a file (as nlu_emb_parse, plus -errno). */
int nlu_emb_load(const char *path, uint32_t max_words, struct nlu_emb **out,
		 size_t *line);
void nlu_emb_destroy(struct nlu_emb *e);

/* Builds a table from parts (the model file reader): takes nothing, copies
 * words (words_len bytes of n NUL-terminated words), scale and q. -EBADMSG
 * for an empty or repeated word or counts that do not match, -ENOMEM. */
int nlu_emb_create(struct nlu_emb **out, uint32_t dim, uint32_t n,
		   const char *words, size_t words_len, const float *scale,
		   const int8_t *q);
/* A deep copy of e, or NULL (out of memory). */
struct nlu_emb *nlu_emb_clone(const struct nlu_emb *e);

/* Index of word w (len bytes), or -ENOENT. */
int nlu_emb_find(const struct nlu_emb *e, const char *w, size_t len);

/* Sentence vector of t: the mean of the vectors of its words found in e,
 * L2-normalised, into out[0..dim). Returns the number of words found (0:
 * out is all zero). */
size_t nlu_emb_sentence(const struct nlu_emb *e, const struct nlu_tokens *t,
			float *out);

/* Bytes of memory the table holds. */
size_t nlu_emb_mem_bytes(const struct nlu_emb *e);

#endif
