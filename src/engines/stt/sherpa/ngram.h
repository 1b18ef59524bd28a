/* A word trigram language model with interpolated Kneser-Ney smoothing,
 * estimated in memory from a handful of sentences (a flow step's domain text:
 * intent examples and hints, stt_grammar STT_MODE_LM) for shallow fusion in
 * the Moonshine beam search (moonort.c). Immutable once built: any number of
 * threads may query one model.
 *
 * Words are ids: NGRAM_BOS (<s>, only as history), NGRAM_EOS (</s>),
 * NGRAM_UNK (any word not in the text) and the text's words from
 * NGRAM_FIRST_WORD on. The unknown word keeps a fixed share of the unigram
 * mass (unk_mass) so names and amounts outside the domain text stay
 * possible; every conditional distribution sums to 1 over the words, </s>
 * and <unk>. */
#ifndef VG_ENGINES_STT_SHERPA_NGRAM_H
#define VG_ENGINES_STT_SHERPA_NGRAM_H
#include <stddef.h>
#include <stdint.h>

#define NGRAM_BOS 0u
#define NGRAM_EOS 1u
#define NGRAM_UNK 2u
#define NGRAM_FIRST_WORD 3u
#define NGRAM_WORD_MAX 64u	 /* bytes of a word; longer ones are <unk> */
#define NGRAM_WORDS_MAX 1000000u /* running words of the text */

struct ngram_lm;

/* Build from n sentences of space-separated lowercase words (as
 * stt_text_normalize makes them). unk_mass in (0, 0.5]. Returns 0 with a new
 * model in *lp, -EINVAL (no word at all, bad argument), -E2BIG (more than
 * NGRAM_WORDS_MAX words) or -ENOMEM. */
int ngram_lm_build(struct ngram_lm **lp, const char *const *sent, size_t n,
		   double unk_mass);
void ngram_lm_destroy(struct ngram_lm *lm);

/* Id of word w[0..len), NGRAM_UNK when the text never had it. */
uint32_t ngram_lm_word(const struct ngram_lm *lm, const char *w, size_t len);
/* Number of ids (words of the text + the 3 reserved ones). */
size_t ngram_lm_size(const struct ngram_lm *lm);
/* Natural-log P(w | u v); u, v are histories (NGRAM_BOS at the start). */
double ngram_lm_logp(const struct ngram_lm *lm, uint32_t u, uint32_t v,
		     uint32_t w);
/* The best natural-log P(w | u v) over the words w of the text that start
 * with prefix[0..len) (len > 0), or of <unk> when none does: an optimistic
 * score for a word still being spelled, so the beam search does not drop a
 * hypothesis before its word is complete. */
double ngram_lm_prefix_logp(const struct ngram_lm *lm, uint32_t u, uint32_t v,
			    const char *prefix, size_t len);
#endif
