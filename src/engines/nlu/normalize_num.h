/* Spoken numbers ("twenty five", "one hundred and five", "four one one one",
 * "double five") parsed from an array of lowercase words. Internal to the NLU
 * engine: shared by normalize.c and entities.c. Pure functions. */
#ifndef VG_ENGINES_NLU_NORMALIZE_NUM_H
#define VG_ENGINES_NLU_NORMALIZE_NUM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest digit string collected from a spoken digit sequence. */
#define NLU_NUM_DIGITS_MAX 32
/* Largest spoken cardinal accepted (just under a trillion). */
#define NLU_NUM_VALUE_MAX 999999999999LL

struct nlu_num {
	int64_t value; /* integer part */
	char frac[10]; /* digits after "point", "" if none */
	bool ordinal;  /* ended on an ordinal word ("third", "twenty first") */
};

/* Parses a spoken cardinal or ordinal at w[0..n): "twenty five", "a hundred",
 * "one thousand two hundred and fifty", "twelve point five", "twenty first".
 * Returns the number of words consumed (0: no number here) and fills *num only
 * then. Words that do not continue a well-formed number stop the parse, so
 * "four one" consumes only "four". */
size_t nlu_num_parse_cardinal(const char *const *w, size_t n,
			      struct nlu_num *num);

/* Parses a sequence of spoken digit groups at w[0..n): digit words, "oh" as
 * zero, "double X", "triple X", teens and tens ("twelve", "thirty four"),
 * "X hundred", and words made only of digits and dashes ("4111", "555-1234").
 * Writes the digits NUL-terminated into digits (cap bytes, at most
 * NLU_NUM_DIGITS_MAX digits are collected) and the number of groups into
 * *ngroups. Returns the words consumed (0: none; a lone "oh" is not a digit).
 */
size_t nlu_num_parse_digits(const char *const *w, size_t n, char *digits,
			    size_t cap, size_t *ngroups);

/* Value of a single digit word ("zero".."nine", and "oh"/"o" when allow_oh),
 * or -1. */
int nlu_num_digit_word(const char *word, bool allow_oh);

#endif
