/* NLU tokenizer: lowercases an utterance and splits it into word tokens in
 * caller storage with hard caps, the common first step of intent features
 * and entity parsing. Pure functions, any thread. */
#ifndef VG_ENGINES_NLU_TOKENIZE_H
#define VG_ENGINES_NLU_TOKENIZE_H

#include <stddef.h>
#include <stdint.h>

/* Only the first NLU_TEXT_MAX bytes of an utterance are looked at: a spoken
 * request is a sentence or two, and the cap bounds every later buffer. */
#define NLU_TEXT_MAX 1024
#define NLU_TOKENS_MAX 160
#define NLU_TOKEN_LEN_MAX 48

struct nlu_tokens {
	char buf[NLU_TEXT_MAX + NLU_TOKENS_MAX]; /* NUL-terminated tokens */
	uint16_t off[NLU_TOKENS_MAX];
	uint8_t len[NLU_TOKENS_MAX];
	size_t n;
};

/* Splits text into tokens: runs of ASCII letters and digits and of non-ASCII
 * (UTF-8) bytes, lowercased; apostrophes inside a word are dropped ("don't"
 * -> "dont", as STT writes it); anything else separates. Tokens beyond
 * NLU_TOKENS_MAX are dropped, longer than NLU_TOKEN_LEN_MAX cut.
 * Returns 0 or -EINVAL (NULL argument). */
int nlu_tokenize(const char *text, struct nlu_tokens *out);

/* Token i as a NUL-terminated string (borrowed from t). */
static inline const char *nlu_tokens_get(const struct nlu_tokens *t, size_t i)
{
	return t->buf + t->off[i];
}

#endif
