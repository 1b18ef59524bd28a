/* NLU tokenizer: ASCII lowercasing and word splitting into bounded caller
 * storage (see tokenize.h). */
#include "engines/nlu/tokenize.h"

#include <errno.h>
#include <string.h>

static int is_word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c >= 0x80;
}

int nlu_tokenize(const char *text, struct nlu_tokens *out)
{
	if (!text || !out)
		return -EINVAL;
	size_t tlen = strnlen(text, NLU_TEXT_MAX);
	size_t w = 0, n = 0, i = 0;

	while (i < tlen && n < NLU_TOKENS_MAX) {
		unsigned char c = (unsigned char)text[i];
		if (!is_word_byte(c)) {
			i++;
			continue;
		}
		size_t start = w, len = 0;
		while (i < tlen) {
			c = (unsigned char)text[i];
			if (c == '\'' && i + 1 < tlen && len > 0 &&
			    is_word_byte((unsigned char)text[i + 1])) {
				i++;
				continue;
			}
			if (!is_word_byte(c))
				break;
			if (len < NLU_TOKEN_LEN_MAX) {
				out->buf[w++] =
					(char)(c >= 'A' && c <= 'Z' ? c + 32
								    : c);
				len++;
			}
			i++;
		}
		out->buf[w++] = '\0';
		out->off[n] = (uint16_t)start;
		out->len[n] = (uint8_t)len;
		n++;
	}
	out->n = n;
	return 0;
}
