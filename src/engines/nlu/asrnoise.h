/* ASR-noise augmentation for the intent classifier: a confusion table of
 * acoustically close words derived from a pronunciation dictionary and the
 * training text only (never from recognizer output), and a seeded noiser
 * that writes recognizer-like copies of a training sentence ("my card" ->
 * "my cart", "transfer" -> "trance for", "top up" -> "topup", short words
 * dropped). docs/NLU.md, "Robustness to speech". */
#ifndef VG_ENGINES_NLU_ASRNOISE_H
#define VG_ENGINES_NLU_ASRNOISE_H
#include <stddef.h>
#include <stdint.h>

struct cmudict;
struct nlu_dataset;

/* Where Debian's pocketsphinx-en-us puts the CMU dictionary. */
#define NLU_ASRNOISE_DICT \
	"/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict"
/* Alternatives kept per word (neighbours, then splits). */
#define NLU_ASRNOISE_NEIGH_MAX 10
#define NLU_ASRNOISE_SPLIT_MAX 2
/* Most noisy copies of one example. */
#define NLU_ASRNOISE_COPIES_MAX 8

/* Per-word probabilities of one noisy copy. */
struct nlu_asrnoise_rates {
	float sub;   /* a word with alternatives is replaced by one */
	float split; /* share of those replacements that are splits, if any */
	float merge; /* two words whose sounds make one word are merged */
	float del;   /* a word of at most 3 letters is dropped */
};

/* Confusion table: immutable after build, any thread may read it. */
struct nlu_asrnoise;

/* The measured rates (docs/NLU.md). */
void nlu_asrnoise_rates_default(struct nlu_asrnoise_rates *r);

/* Builds the table for the words and adjacent word pairs of ds (borrowed)
 * from dict (borrowed; the table keeps copies). Only known words are
 * produced: the training vocabulary plus words[0..nwords) (borrowed, may
 * be NULL: e.g. the most frequent words of a language, which keeps the
 * dictionary's rare names and spellings out). For each training word: the
 * known words outside the training vocabulary within one edit (two for
 * words of 5+ phones) of its pronunciation in broad phone classes (voicing
 * and close vowels merged), closest and commonest first, and its splits
 * into two known words that sound the same;
 * for each training word pair, a known word that sounds like the two.
 * Words not in the dictionary get no alternatives. Deterministic. *out
 * set on success; 0, -EINVAL, -ENOMEM. */
int nlu_asrnoise_build(struct nlu_asrnoise **out, const struct cmudict *dict,
		       const struct nlu_dataset *ds, const char *const *words,
		       size_t nwords);
void nlu_asrnoise_destroy(struct nlu_asrnoise *t); /* NULL is a no-op */

/* Alternatives of word (borrowed, in order: neighbours closest first, then
 * splits "a b"); *n set to their count. NULL (and *n 0) when none. */
const char *const *nlu_asrnoise_find(const struct nlu_asrnoise *t,
				     const char *word, size_t *n);
/* The word that "w1 w2" may be heard as, or NULL. */
const char *nlu_asrnoise_merge_find(const struct nlu_asrnoise *t,
				    const char *w1, const char *w2);
/* Words and word pairs with alternatives (for logs and tests). */
size_t nlu_asrnoise_words(const struct nlu_asrnoise *t);
size_t nlu_asrnoise_merges(const struct nlu_asrnoise *t);

/* Writes one noisy copy of text (tokenized as the classifier does) into
 * out (cap bytes, NUL-terminated), drawing from the splitmix64 state *rng:
 * the same text, rates and state give the same copy. At least one word is
 * kept. Returns the length, -EINVAL or -E2BIG. */
int nlu_asrnoise_apply(const struct nlu_asrnoise *t,
		       const struct nlu_asrnoise_rates *r, const char *text,
		       uint64_t *rng, char *out, size_t cap);

#endif
