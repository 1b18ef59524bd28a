/* Builders of what PocketSphinx decodes with, from a struct stt_grammar:
 * a JSGF grammar (GRAMMAR mode), an ARPA n-gram LM estimated from the LM
 * sentences and the dictionary of the words it uses (LM mode). Pure
 * functions over text, so they are unit-tested and fuzzed without a
 * decoder. */
#ifndef VG_ENGINES_STT_POCKETSPHINX_PS_BUILD_H
#define VG_ENGINES_STT_POCKETSPHINX_PS_BUILD_H
#include <stddef.h>

#include "engines/lexicon/cmudict.h"
#include "engines/stt/stt.h"

/* Largest text a builder produces (JSGF, ARPA or dictionary). */
#define PS_TEXT_MAX ((size_t)64 << 20)
/* Longest phone string of a word ("K AA R D"), NUL included. */
#define PS_PHONES_MAX 256
/* Most distinct n-grams (all orders) of one LM. */
#define PS_NGRAMS_MAX 1000000u

/* The spoken form of a normalized phrase: what a caller says and the
 * decoder outputs. Numbers are spelled: up to 4 digits as a cardinal
 * ("250" -> "two hundred fifty"), longer ones digit by digit ("0044" ->
 * "zero zero four four"); letters and digits glued together are split
 * ("2nd" -> "two nd"). Writes a NUL-terminated string to out. Returns its
 * length or -E2BIG (out too small; cap 0 is -E2BIG too). */
int ps_spoken_form(const char *phrase, char *out, size_t cap);

/* True if word is usable as a JSGF token and dictionary word:
 * [a-z0-9'] only, not starting with an apostrophe, 1..63 bytes. */
int ps_word_ok(const char *word);

/* Letter-to-sound with flite's CMU lexicon and rules: phones of word in the
 * PocketSphinx phone set (uppercase, no stress digits, "ax" -> "AH", pauses
 * dropped) into out. Thread-safe (serialised). Returns 0, -EINVAL (word
 * not usable, see ps_word_ok), -ENOENT (no pronunciation), -E2BIG. */
int ps_lts(const char *word, char *out, size_t cap);

/* JSGF of g (GRAMMAR mode): a public rule <main> of the spoken forms of the
 * phrases and the classes of g. Words that ps_word_ok() refuses are left
 * out, phrases left empty dropped. Returns 0 with a malloc'ed string in
 * *outp, -EINVAL (wrong mode, nothing left), -ENOMEM. */
int ps_jsgf_build(const struct stt_grammar *g, char **outp);

/* Which phrase of g produced the spoken hypothesis hyp (exact match of
 * spoken forms); NULL if none (a class match, or nothing). Borrowed. */
const char *ps_grammar_phrase_of(const struct stt_grammar *g, const char *hyp);

/* Dictionary of the words of g (spoken forms of its phrases or sentences,
 * plus the words of its classes): one "word PHONES" line per pronunciation,
 * sorted, from lex, else from letter-to-sound when lts is nonzero. Words
 * with no pronunciation are listed in *oovp (space-separated, malloc'ed;
 * may be NULL) and left out. Returns 0 with *outp, -EINVAL, -ENOMEM,
 * -E2BIG. */
int ps_dict_build(const struct stt_grammar *g, const struct cmudict *lex,
		  int lts, char **outp, char **oovp);

/* ARPA trigram LM of the sentences of g (LM mode) with interpolated
 * Witten-Bell smoothing written as backoff weights (log10), sentence marks
 * <s> and </s>. Words not in dict (a ps_dict_build() text; NULL keeps all)
 * are dropped from the sentences first. order is 2 or 3. Returns 0 with a
 * malloc'ed string in *outp, -EINVAL (wrong mode, no word left), -E2BIG
 * (more than PS_NGRAMS_MAX n-grams), -ENOMEM. */
int ps_arpa_build(const struct stt_grammar *g, const char *dict, unsigned order,
		  char **outp);
#endif
