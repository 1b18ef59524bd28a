/* Text normalization for speech-to-text output before intent classification
 * and entity extraction: lowercase, punctuation, contractions, fillers and
 * (optionally) spoken numbers to digits. Pure functions, thread-safe. */
#ifndef VG_ENGINES_NLU_NORMALIZE_H
#define VG_ENGINES_NLU_NORMALIZE_H
#include <stddef.h>

#include "engines/nlu/tokenize.h"

/* Longest input accepted, in bytes (longer input: -E2BIG). */
#define NLU_NORMALIZE_MAX_IN 4096

enum nlu_normalize_flags {
	/* Spoken numbers to digits: "twenty five" -> "25", "one hundred and
	 * five" -> "105", "four one one one" -> "4111", "third" -> "3rd". A
	 * lone "one" or "a" stays a word ("that one", "no one"). */
	NLU_NORMALIZE_NUMBERS = 1u << 0,
};

/* Normalizes in (NUL-terminated, any bytes) into out (cap bytes, always
 * NUL-terminated when cap > 0): ASCII lowercased, non-ASCII bytes kept as
 * they are (a multi-byte sequence is never split; U+2019 becomes an
 * apostrophe), ASCII punctuation and control characters become spaces
 * except "," and "." between digits (the comma is dropped: "1,250.40" ->
 * "1250.40"), contractions expanded ("i'm" -> "i am", "can't" -> "can not",
 * also the apostrophe-less STT forms "dont", "im"), possessive "'s"
 * dropped, fillers removed ("um", "uh", "erm", "hmm", "er", "ah"; but "uh
 * huh" and "mm hmm" are kept: they mean yes), spaces collapsed.
 * nlu_normalize() keeps number words (the classifier's vocabulary);
 * nlu_normalize_flags() takes enum nlu_normalize_flags.
 * Returns the output length, -EINVAL (NULL argument, cap 0) or -E2BIG (input
 * longer than NLU_NORMALIZE_MAX_IN or output does not fit; out is then ""). */
int nlu_normalize(const char *in, char *out, size_t cap);
int nlu_normalize_flags(const char *in, unsigned flags, char *out, size_t cap);

/* Canonical spellings of tokens (nlu_tokenize output) for intent features,
 * so that a recognizer's and a typist's spelling of a word are one
 * feature: British/American and joined forms ("canceled" -> "cancelled",
 * "cheque" -> "check", "topup" -> "top up", "okay" -> "ok"), digits 0-12
 * as the words recognizers write ("1" -> "one"), fillers ("um", "uh",
 * "erm") dropped. Writes the result to out (no allocation; tokens past
 * NLU_TOKENS_MAX are dropped). Returns 0 or -EINVAL. */
int nlu_normalize_tokens(const struct nlu_tokens *in, struct nlu_tokens *out);

#endif
