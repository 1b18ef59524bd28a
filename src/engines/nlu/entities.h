/* Entity extraction from STT utterances: money, numbers, ordinals, spoken
 * digit strings, dates, account, phone and card numbers, yes/no; spoken forms
 * are interpreted ("twenty five dollars" -> 25.00 USD). Pure functions,
 * thread-safe. Slots print in the Amazon Lex V2 JSON shape. */
#ifndef VG_ENGINES_NLU_ENTITIES_H
#define VG_ENGINES_NLU_ENTITIES_H
#include <stddef.h>

/* Longest input accepted, in bytes (longer input: -E2BIG). */
#define NLU_ENTITIES_MAX_IN 4096
/* Most entities one call returns; more are dropped. */
#define NLU_ENTITIES_MAX 64
/* Field sizes; the original text is truncated at a UTF-8 boundary. */
#define NLU_ENTITY_TEXT_MAX 128
#define NLU_ENTITY_VALUE_MAX 48

enum nlu_entity_type {
	NLU_ENTITY_NUMBER,	 /* "25", "1250.40", "12.5" */
	NLU_ENTITY_ORDINAL,	 /* "3" for "third", "3rd" */
	NLU_ENTITY_DIGITS,	 /* spoken digit string not otherwise typed */
	NLU_ENTITY_MONEY,	 /* value "25.00", unit "USD" */
	NLU_ENTITY_DATE,	 /* "2026-11-27" */
	NLU_ENTITY_ACCOUNT,	 /* digit run of the configured length */
	NLU_ENTITY_PHONE,	 /* "+14155552671" (E.164) */
	NLU_ENTITY_CARD,	 /* 13-19 digits passing the Luhn check */
	NLU_ENTITY_CARD_INVALID, /* 13-19 digits failing the Luhn check */
	NLU_ENTITY_CONFIRM,	 /* "yes" or "no" */
};

struct nlu_entity {
	enum nlu_entity_type type;
	size_t off; /* span in the input, bytes */
	size_t len;
	char text[NLU_ENTITY_TEXT_MAX];	  /* the input at the span */
	char value[NLU_ENTITY_VALUE_MAX]; /* interpreted value */
	char unit[8];			  /* ISO 4217 code for money, else "" */
};

struct nlu_entities_opts {
	/* Reference date for relative dates ("tomorrow", "next friday",
	 * "march third" without a year). 0: today, UTC. */
	int ref_year, ref_month, ref_day;
	/* Digit runs of this many digits are account numbers; 0: 6 and 12.
	 * Phone numbers and valid cards are recognized first. */
	unsigned account_min_digits, account_max_digits;
};

/* Finds the entities of text (NUL-terminated, any bytes) left to right,
 * without overlaps, into out[0..max) (max is capped at NLU_ENTITIES_MAX) and
 * their count into *n. opts may be NULL (defaults). Returns 0, -EINVAL (NULL
 * text, out with max > 0, or n; a reference date that does not exist), -E2BIG
 * (text longer than NLU_ENTITIES_MAX_IN) or -ENOMEM. */
int nlu_entities_extract(const char *text, const struct nlu_entities_opts *opts,
			 struct nlu_entity *out, size_t max, size_t *n);

/* "number", "ordinal", "digits", "money", "date", "account", "phone", "card",
 * "card_invalid", "confirm"; "unknown" otherwise. */
const char *nlu_entity_type_name(enum nlu_entity_type type);

/* Prints e as a Lex V2 slot:
 * {"shape":"Scalar","value":{"originalValue":"...","interpretedValue":"...",
 * "resolvedValues":["..."]}}; interpretedValue is e->value, resolvedValues
 * holds e->value followed by " " and the unit when there is one ("25.00 USD").
 * Strings are JSON-escaped; invalid UTF-8 becomes U+FFFD. Returns the length
 * written (buf NUL-terminated), -EINVAL, or -E2BIG (buf too small; buf is
 * then ""). */
int nlu_entity_print_lex(const struct nlu_entity *e, char *buf, size_t cap);

/* Luhn check over a string of digits (other characters: false). */
int nlu_luhn_valid(const char *digits);

#endif
