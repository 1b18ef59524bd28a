/* Beam search with shallow fusion (beam.h) on a fake decoder whose logits
 * depend only on the last token: without an LM and with width 1 it is
 * greedy; an LM flips an acoustically close choice to the domain word, but
 * not one the decoder is sure of; words spelled from pieces are scored as
 * whole words. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engines/stt/sherpa/beam.h"
#include "engines/stt/sherpa/ngram.h"

enum { T_UNK, T_BOS, T_EOS, T_MY, T_CARD, T_CAR, T_D, T_T, T_IS, T_LOST, V };

static const char *const texts[V] = {
	[T_MY] = " My", [T_CARD] = " card", [T_CAR] = " car",	 [T_D] = "d",
	[T_T] = "t",	[T_IS] = " is",	    [T_LOST] = " lost.",
};

struct fake {
	float next[V][V]; /* logits of the next token after the last one */
	int32_t last[BEAM_WIDTH_MAX];
	int32_t prev[BEAM_WIDTH_MAX];
	unsigned steps;
	unsigned max_n; /* most hypotheses in one step */
};

static void fill(float *row, float low)
{
	for (size_t i = 0; i < V; i++)
		row[i] = low;
}

static int fake_start(void *ctx, float *logits)
{
	struct fake *f = ctx;

	f->last[0] = T_BOS;
	memcpy(logits, f->next[T_BOS], sizeof(f->next[T_BOS]));
	return 0;
}

static int fake_step(void *ctx, size_t n, const uint32_t *parent,
		     const int32_t *tok, float *logits)
{
	struct fake *f = ctx;

	f->steps++;
	f->max_n = n > f->max_n ? (unsigned)n : f->max_n;
	for (size_t i = 0; i < n; i++) {
		assert_true(parent[i] < BEAM_WIDTH_MAX);
		f->prev[i] = tok[i];
		memcpy(logits + i * V, f->next[tok[i]], sizeof(f->next[0]));
	}
	memcpy(f->last, f->prev, sizeof(f->last));
	return 0;
}

/* "My car|card is lost.": after " My" the decoder hesitates between " car"
 * (logit car_logit) and " card" (0). */
static void model(struct fake *f, float car_logit)
{
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < V; i++)
		fill(f->next[i], -20.0f);
	f->next[T_BOS][T_MY] = 0.0f;
	f->next[T_MY][T_CAR] = car_logit;
	f->next[T_MY][T_CARD] = 0.0f;
	f->next[T_CAR][T_IS] = 0.0f;
	f->next[T_CARD][T_IS] = 0.0f;
	f->next[T_IS][T_LOST] = 0.0f;
	f->next[T_LOST][T_EOS] = 0.0f;
}

static struct beam_model bm(struct fake *f)
{
	return (struct beam_model){
		.vocab = V,
		.eos = T_EOS,
		.text = texts,
		.ctx = f,
		.start = fake_start,
		.step = fake_step,
	};
}

static struct ngram_lm *domain_lm(void)
{
	static const char *const text[] = {
		"my card is lost",
		"i lost my card",
		"where is my card",
		"my card was stolen",
	};
	struct ngram_lm *lm = NULL;

	assert_int_equal(ngram_lm_build(&lm, text, 4, 0.02), 0);
	return lm;
}

/* beam_search() on m succeeds and says want. */
static void expect(const struct beam_model *m, const struct ngram_lm *lm,
		   const struct beam_cfg *cfg, const char *want,
		   struct beam_out *out)
{
	char text[64];

	assert_int_equal(beam_search(m, lm, cfg, text, sizeof(text), out), 0);
	assert_string_equal(text, want);
}

static void width_one_without_lm_is_greedy(void **state)
{
	struct fake f;
	struct beam_model m;
	struct beam_cfg cfg = { .width = 1, .max_tokens = 20 };
	struct beam_out out;

	(void)state;
	model(&f, 0.5f);
	m = bm(&f);
	expect(&m, NULL, &cfg, "My car is lost.", &out);
	assert_int_equal(f.max_n, 1);
	/* the greedy path's log-probability: only " car" vs " card" was a
	 * real choice (logit 0.5 vs 0 among 11 tokens at -20) */
	assert_int_equal(out.ntokens, 4);
	assert_int_equal(out.npieces, 0);
	assert_true(out.lp_min < -0.4f && out.lp_min > -0.5f);
	assert_float_equal(out.score, out.model_lp, 1e-12);
	assert_float_equal(out.score, 0.5 - log(exp(0.5) + 1 + 8 * exp(-20.0)),
			   1e-3);
}

static void fusion_flips_a_close_call_to_the_domain_word(void **state)
{
	struct ngram_lm *lm = domain_lm();
	struct fake f;
	struct beam_model m;
	struct beam_cfg cfg = {
		.width = 4, .max_tokens = 20, .lambda = 0.5, .beta = 0.5
	};

	(void)state;
	model(&f, 0.5f);
	m = bm(&f);
	/* without the LM the wider beam still says "car" */
	expect(&m, NULL, &cfg, "My car is lost.", NULL);
	expect(&m, lm, &cfg, "My card is lost.", NULL);
	assert_true(f.max_n > 1);
	ngram_lm_destroy(lm);
}

static void fusion_keeps_what_the_decoder_is_sure_of(void **state)
{
	struct ngram_lm *lm = domain_lm();
	struct fake f;
	struct beam_model m;
	struct beam_cfg cfg = {
		.width = 4, .max_tokens = 20, .lambda = 0.5, .beta = 0.5
	};

	(void)state;
	model(&f, 12.0f);
	m = bm(&f);
	expect(&m, lm, &cfg, "My car is lost.", NULL);
	ngram_lm_destroy(lm);
}

static void a_word_spelled_from_pieces_is_scored_whole(void **state)
{
	struct beam_out out;
	struct ngram_lm *lm = domain_lm();
	struct fake f;
	struct beam_model m;
	struct beam_cfg cfg = {
		.width = 4, .max_tokens = 20, .lambda = 0.5, .beta = 0.5
	};

	(void)state;
	/* " car" then "t" (0.5) or "d" (0): "cart" vs "card" */
	model(&f, 0.0f);
	f.next[T_MY][T_CARD] = -20.0f;
	f.next[T_CAR][T_IS] = -20.0f;
	f.next[T_CAR][T_T] = 0.5f;
	f.next[T_CAR][T_D] = 0.0f;
	f.next[T_T][T_IS] = 0.0f;
	f.next[T_D][T_IS] = 0.0f;
	m = bm(&f);
	expect(&m, NULL, &cfg, "My cart is lost.", NULL);
	expect(&m, lm, &cfg, "My card is lost.", &out);
	assert_int_equal(out.ntokens, 5); /* My car d is lost. */
	assert_int_equal(out.npieces, 1);
	ngram_lm_destroy(lm);
}

static void pruning_drops_what_falls_far_behind(void **state)
{
	struct ngram_lm *lm = domain_lm();
	struct fake f;
	struct beam_model m;
	struct beam_cfg cfg = { .width = 4, .max_tokens = 20 };

	(void)state;
	model(&f, 0.5f);
	m = bm(&f);
	/* no margin: the width is filled with tokens at -20 too */
	expect(&m, NULL, &cfg, "My car is lost.", NULL);
	assert_int_equal(f.max_n, 4);
	/* a margin of 4 keeps " car" and " card" (0.5 apart) only */
	model(&f, 0.5f);
	cfg.prune = 4;
	expect(&m, NULL, &cfg, "My car is lost.", NULL);
	assert_int_equal(f.max_n, 2);
	/* ... which is enough for the LM to flip the close call */
	model(&f, 0.5f);
	cfg.lambda = 0.5;
	cfg.beta = 0.5;
	expect(&m, lm, &cfg, "My card is lost.", NULL);
	/* a margin under the 0.5 between them leaves one hypothesis: greedy */
	model(&f, 0.5f);
	cfg.lambda = cfg.beta = 0;
	cfg.prune = 0.25;
	expect(&m, NULL, &cfg, "My car is lost.", NULL);
	assert_int_equal(f.max_n, 1);
	ngram_lm_destroy(lm);
}

static void max_tokens_ends_a_runaway_decode(void **state)
{
	struct fake f;
	struct beam_model m;
	struct beam_cfg cfg = { .width = 2, .max_tokens = 5 };

	(void)state;
	model(&f, 0.5f);
	f.next[T_LOST][T_EOS] = -20.0f;
	f.next[T_LOST][T_LOST] = 0.0f; /* " lost. lost. lost. ..." */
	m = bm(&f);
	expect(&m, NULL, &cfg, "My car is lost. lost.", NULL);
	assert_true(f.steps < 5);
}

static void bad_settings_are_refused(void **state)
{
	struct fake f;
	struct beam_model m;
	struct beam_cfg cfg = { .width = 0, .max_tokens = 5 };
	char text[8];

	(void)state;
	model(&f, 0.5f);
	m = bm(&f);
	assert_int_equal(beam_search(&m, NULL, &cfg, text, sizeof(text), NULL),
			 -EINVAL);
	cfg.width = BEAM_WIDTH_MAX + 1;
	assert_int_equal(beam_search(&m, NULL, &cfg, text, sizeof(text), NULL),
			 -EINVAL);
	cfg.width = 1;
	cfg.max_tokens = BEAM_TOKENS_MAX + 1;
	assert_int_equal(beam_search(&m, NULL, &cfg, text, sizeof(text), NULL),
			 -EINVAL);
	cfg.max_tokens = 5;
	cfg.prune = -1;
	assert_int_equal(beam_search(&m, NULL, &cfg, text, sizeof(text), NULL),
			 -EINVAL);
	cfg.prune = NAN;
	assert_int_equal(beam_search(&m, NULL, &cfg, text, sizeof(text), NULL),
			 -EINVAL);
	cfg.prune = 0;
	m.eos = V;
	assert_int_equal(beam_search(&m, NULL, &cfg, text, sizeof(text), NULL),
			 -EINVAL);
}

struct words {
	char out[128];
};

static void collect(const char *w, size_t len, void *arg)
{
	struct words *ws = arg;
	size_t n = strlen(ws->out);

	snprintf(ws->out + n, sizeof(ws->out) - n, "%s%.*s", n ? "|" : "",
		 (int)len, w);
}

static void words_are_normalized_like_transcripts(void **state)
{
	static const struct {
		const char *raw, *want;
	} cases[] = {
		{ "Top-up,", "top|up" },
		{ "don't", "don't" },
		{ "'quoted'", "quoted" },
		{ "1,000.50", "1000|50" },
		{ "...", "" },
		{ "CARD.", "card" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct words ws = { "" };

		beam_words(cases[i].raw, strlen(cases[i].raw), collect, &ws);
		assert_string_equal(ws.out, cases[i].want);
	}
}

/* What both decoders count as a word token (confidence inputs). */
static void punctuation_tokens_are_not_words(void **state)
{
	(void)state;
	assert_true(beam_token_is_word(" card"));
	assert_true(beam_token_is_word("d"));
	assert_true(beam_token_is_word(" 25"));
	assert_true(beam_token_is_word("\xe2\x82\xac"));
	assert_false(beam_token_is_word("."));
	assert_false(beam_token_is_word(" ,"));
	assert_false(beam_token_is_word(""));
	assert_false(beam_token_is_word(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(punctuation_tokens_are_not_words),
		cmocka_unit_test(width_one_without_lm_is_greedy),
		cmocka_unit_test(fusion_flips_a_close_call_to_the_domain_word),
		cmocka_unit_test(fusion_keeps_what_the_decoder_is_sure_of),
		cmocka_unit_test(a_word_spelled_from_pieces_is_scored_whole),
		cmocka_unit_test(pruning_drops_what_falls_far_behind),
		cmocka_unit_test(max_tokens_ends_a_runaway_decode),
		cmocka_unit_test(bad_settings_are_refused),
		cmocka_unit_test(words_are_normalized_like_transcripts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
