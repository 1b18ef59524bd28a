/* Fuzz target: the outside text of voxgate's own Moonshine decoder. The first
 * byte picks the parser: even, tokens.txt (moonort_tokens_parse, 64 ids);
 * odd, LM text (the CLI's --lm-from, a flow's intent examples) through
 * stt_grammar_parse into the domain trigram (ngram_lm_build), whose
 * distributions must sum to 1 and whose queries must stay finite. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engines/stt/sherpa/beam.h"
#include "engines/stt/sherpa/moonort.h"
#include "engines/stt/sherpa/ngram.h"
#include "engines/stt/stt.h"

#define VOCAB 64

static void check(int ok)
{
	if (!ok)
		abort();
}

static void tokens(const char *buf, size_t len)
{
	char **text = NULL;
	unsigned line = 0;
	int err = moonort_tokens_parse(buf, len, VOCAB, &text, &line);

	check(err == 0 || err == -EBADMSG || err == -ENOMEM);
	if (err) {
		check(!text);
		return;
	}
	for (size_t i = 0; i < VOCAB; i++)
		check(!text[i] || strlen(text[i]) > 0);
	moonort_tokens_free(text, VOCAB);
}

static void count_word(const char *w, size_t len, void *arg)
{
	check(len > 0 && w[0] != ' ');
	(*(size_t *)arg)++;
}

static void lm_text(const char *buf, size_t len)
{
	struct stt_grammar *g = NULL;
	struct ngram_lm *lm = NULL;
	const char **sent;
	size_t n, words = 0;
	char msg[128];
	int err;

	err = stt_grammar_parse(buf, len, STT_MODE_LM, 0, &g, msg, sizeof(msg));
	if (err)
		return;
	n = stt_grammar_count(g);
	sent = calloc(n, sizeof(*sent));
	check(sent != NULL);
	for (size_t i = 0; i < n; i++)
		sent[i] = stt_grammar_phrase(g, i);
	err = ngram_lm_build(&lm, sent, n, 0.02);
	check(err == 0 || err == -E2BIG || err == -ENOMEM);
	if (!err) {
		uint32_t v =
			n ? ngram_lm_word(lm, sent[0], strcspn(sent[0], " "))
			  : NGRAM_UNK;
		double sum = 0;

		for (uint32_t w = NGRAM_EOS; w < ngram_lm_size(lm); w++)
			sum += exp(ngram_lm_logp(lm, NGRAM_BOS, v, w));
		check(fabs(sum - 1.0) < 1e-6);
		check(isfinite(ngram_lm_prefix_logp(lm, NGRAM_BOS, v, buf,
						    len ? 1 : 0)) ||
		      len == 0);
		ngram_lm_destroy(lm);
	}
	beam_words(buf, len, count_word, &words);
	free(sent);
	stt_grammar_deref(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > 65536)
		return 0;
	if (data[0] & 1)
		lm_text((const char *)data + 1, size - 1);
	else
		tokens((const char *)data + 1, size - 1);
	return 0;
}
