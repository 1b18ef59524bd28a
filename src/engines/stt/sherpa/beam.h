/* Beam search over a token decoder with shallow fusion of a word language
 * model (ngram.h). The decoder is abstract (struct beam_model: Moonshine on
 * onnxruntime in moonort.c, a table in the unit tests), so the search is
 * testable without a model.
 *
 * A hypothesis' score is
 *     sum log P_model(token) + lambda * sum log P_lm(word) + beta * words
 * where a word is complete when the next token starts a new one (its text
 * begins with a space, the SentencePiece word mark already mapped) or at
 * end of text, which also scores </s>. Completed words are normalized like
 * transcripts (lowercase, punctuation dropped, "top-up" is two words)
 * before the LM sees them. With lm NULL (or lambda 0 and beta 0) and width 1
 * this is greedy decoding. */
#ifndef VG_ENGINES_STT_SHERPA_BEAM_H
#define VG_ENGINES_STT_SHERPA_BEAM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ngram_lm;

#define BEAM_WIDTH_MAX 16u
#define BEAM_TOKENS_MAX 448u /* tokens of one hypothesis */

/* The decoder. Scores are raw logits (the search normalizes them). */
struct beam_model {
	size_t vocab;		 /* token ids 0..vocab-1 */
	int32_t eos;		 /* end-of-text id */
	const char *const *text; /* [vocab]: a token's text, a leading space
				    starting a word; NULL: never emitted
				    (special tokens) */
	void *ctx;
	/* Logits of the first token: logits[vocab]. 0 or negative errno. */
	int (*start)(void *ctx, float *logits);
	/* One step for n hypotheses: hypothesis i continues hypothesis
	 * parent[i] of the previous call (or 0 after start) with token
	 * tok[i]. logits[n * vocab]. 0 or negative errno. */
	int (*step)(void *ctx, size_t n, const uint32_t *parent,
		    const int32_t *tok, float *logits);
};

struct beam_cfg {
	unsigned width;	     /* 1..BEAM_WIDTH_MAX */
	unsigned max_tokens; /* 1..BEAM_TOKENS_MAX */
	double lambda;	     /* LM weight */
	double beta;	     /* per-word bonus */
	/* Hypotheses whose score falls more than this below the step's best
	 * are dropped (fewer decoder rows per step). 0: keep width. */
	double prune;
};

/* What the search says of its best hypothesis. */
struct beam_out {
	double score;	  /* total (model + fusion) */
	double model_lp;  /* sum of the model's token log-probabilities */
	float lp_min;	  /* the least likely token (0 when no token) */
	unsigned ntokens; /* word tokens of the text (punctuation excluded) */
	unsigned npieces; /* of those, tokens continuing a word */
};

/* Best hypothesis' text (token texts concatenated, leading space removed;
 * not normalized) into text[cap], cut at cap - 1; *out (may be NULL) gets
 * its figures. Blocking (the model's cost). 0, -EINVAL, -ENOMEM, or the
 * model's error. */
int beam_search(const struct beam_model *m, const struct ngram_lm *lm,
		const struct beam_cfg *cfg, char *text, size_t cap,
		struct beam_out *out);

/* Split raw token text into normalized words and call fn for each: the
 * normalization beam_search applies to completed words. Exposed for
 * tests. */
void beam_words(const char *raw, size_t len,
		void (*fn)(const char *w, size_t len, void *arg), void *arg);
/* A token that holds a letter, digit or non-ASCII byte: a word or a piece
 * of one, not punctuation. The one rule both decoders count words by (the
 * confidence heuristic's inputs, sherpa_asr_score and beam_out). */
bool beam_token_is_word(const char *tok);
#endif
