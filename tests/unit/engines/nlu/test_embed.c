/* Unit tests for the NLU word embedding tables: GloVe text parsing (valid,
 * skipped and malformed lines, caps), lookup, quantisation, sentence
 * vectors, and building a table from parts. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engines/nlu/embed.h"

static const char glove[] = "the 0.1 0.2 0.3\n"
			    ", 1 2 3\n"
			    "The 1 1 1\n"
			    "can't 1 2 3\n"
			    "lost 0.5 -0.5 1\r\n"
			    "\n"
			    "misplaced 0.4 -0.6 1\n"
			    "the 9 9 9\n"
			    "caf\xc3\xa9 0 0 2\n";

static struct nlu_emb *parse_ok(const char *text, uint32_t max_words)
{
	struct nlu_emb *e = NULL;
	size_t line = 0;
	assert_int_equal(
		nlu_emb_parse(text, strlen(text), max_words, &e, &line), 0);
	assert_non_null(e);
	return e;
}

static void glove_text_is_parsed_and_unusable_words_skipped(void **state)
{
	struct nlu_emb *e = parse_ok(glove, 0);
	/* "," "The" "can't" cannot come out of the tokenizer; the second
	 * "the" repeats. */
	assert_int_equal(e->n, 4);
	assert_int_equal(e->dim, 3);
	assert_int_equal(nlu_emb_find(e, "the", 3), 0);
	assert_int_equal(nlu_emb_find(e, "lost", 4), 1);
	assert_int_equal(nlu_emb_find(e, "misplaced", 9), 2);
	assert_int_equal(nlu_emb_find(e, "caf\xc3\xa9", 5), 3);
	assert_int_equal(nlu_emb_find(e, "The", 3), -ENOENT);
	assert_int_equal(nlu_emb_find(e, "los", 3), -ENOENT);
	assert_int_equal(nlu_emb_find(e, "lostx", 5), -ENOENT);
	/* int8 quantisation keeps each value within half a step of its
	 * vector's largest magnitude / 127. */
	const float want[3] = { 0.5f, -0.5f, 1.0f };
	for (int d = 0; d < 3; d++)
		assert_float_equal(e->scale[1] * e->q[3 + d], want[d],
				   0.5 / 127 + 1e-6);
	assert_true(nlu_emb_mem_bytes(e) > 4 * 3);
	nlu_emb_destroy(e);
	nlu_emb_destroy(NULL);
}

static void max_words_keeps_the_first_usable_words(void **state)
{
	struct nlu_emb *e = parse_ok(glove, 2);
	assert_int_equal(e->n, 2);
	assert_int_equal(nlu_emb_find(e, "lost", 4), 1);
	assert_int_equal(nlu_emb_find(e, "misplaced", 9), -ENOENT);
	nlu_emb_destroy(e);
}

static void malformed_glove_text_is_rejected_with_its_line(void **state)
{
	static const struct {
		const char *text;
		size_t line;
	} bad[] = {
		{ "a 1 2\nb 1\n", 2 },	   /* dimension changes */
		{ "a\n", 1 },		   /* no numbers */
		{ "a \n", 1 },		   /* no numbers */
		{ "a 1 x\n", 1 },	   /* not a number */
		{ "a 1 2x\n", 1 },	   /* trailing junk */
		{ "a 1 2\nb nan 1\n", 2 }, /* not finite */
		{ "a 1e99 1\n", 1 },	   /* overflows float */
		{ "The 1 2\n, 3 4\n", 2 }, /* no usable word */
		{ "", 0 },		   /* empty */
		{ "a 1\0 2\n", 1 },	   /* NUL inside */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct nlu_emb *e = NULL;
		size_t line = 99;
		size_t len = strlen(bad[i].text);
		if (i == 9)
			len = 7;
		assert_int_equal(nlu_emb_parse(bad[i].text, len, 0, &e, &line),
				 -EBADMSG);
		assert_null(e);
		assert_int_equal(line, bad[i].line);
	}
	/* A line over the cap and a dimension over the cap. */
	size_t big = NLU_EMB_LINE_MAX + 16;
	char *t = malloc(big);
	memset(t, ' ', big);
	t[0] = 'a';
	t[big - 2] = '1';
	t[big - 1] = '\n';
	struct nlu_emb *e = NULL;
	assert_int_equal(nlu_emb_parse(t, big, 0, &e, NULL), -EBADMSG);
	size_t o = (size_t)snprintf(t, big, "a");
	for (int d = 0; d <= NLU_EMB_DIM_MAX; d++)
		o += (size_t)snprintf(t + o, big - o, " 1");
	assert_int_equal(nlu_emb_parse(t, o, 0, &e, NULL), -EBADMSG);
	free(t);
	assert_int_equal(nlu_emb_parse(NULL, 0, 0, &e, NULL), -EINVAL);
	assert_int_equal(nlu_emb_load("/nonexistent/glove.txt", 0, &e, NULL),
			 -ENOENT);
}

static void sentence_vector_is_the_normalised_mean_of_known_words(void **state)
{
	struct nlu_emb *e = parse_ok(glove, 0);
	struct nlu_tokens t;
	float v[3];
	assert_int_equal(nlu_tokenize("Lost, misplaced ZZZ", &t), 0);
	assert_int_equal(nlu_emb_sentence(e, &t, v), 2);
	double ss = 0;
	for (int d = 0; d < 3; d++)
		ss += v[d] * v[d];
	assert_float_equal(ss, 1.0, 1e-5);
	/* Mean (0.45, -0.55, 1) normalised. */
	double n = sqrt(0.45 * 0.45 + 0.55 * 0.55 + 1.0);
	assert_float_equal(v[0], 0.45 / n, 0.02);
	assert_float_equal(v[1], -0.55 / n, 0.02);
	assert_int_equal(nlu_tokenize("nothing known here", &t), 0);
	assert_int_equal(nlu_emb_sentence(e, &t, v), 0);
	assert_float_equal(v[0], 0, 0);
	assert_float_equal(v[2], 0, 0);
	nlu_emb_destroy(e);
}

static void create_copies_parts_and_rejects_bad_ones(void **state)
{
	struct nlu_emb *e = parse_ok(glove, 0), *c = nlu_emb_clone(e);
	assert_non_null(c);
	assert_int_equal(c->n, e->n);
	assert_memory_equal(c->q, e->q, (size_t)e->n * e->dim);
	assert_int_equal(nlu_emb_find(c, "misplaced", 9), 2);
	nlu_emb_destroy(c);

	const float sc[2] = { 0.01f, 0.02f };
	const int8_t q[4] = { 1, 2, 3, 4 };
	assert_int_equal(nlu_emb_create(&c, 2, 2, "ab\0cd", 6, sc, q), 0);
	assert_int_equal(nlu_emb_find(c, "cd", 2), 1);
	nlu_emb_destroy(c);
	c = NULL;
	/* Repeated word, too few words, unusable word, no final NUL,
	 * negative scale. */
	assert_int_equal(nlu_emb_create(&c, 2, 2, "ab\0ab", 6, sc, q),
			 -EBADMSG);
	assert_int_equal(nlu_emb_create(&c, 2, 2, "abcd", 5, sc, q), -EBADMSG);
	assert_int_equal(nlu_emb_create(&c, 2, 2, "ab\0C", 5, sc, q), -EBADMSG);
	assert_int_equal(nlu_emb_create(&c, 2, 2, "ab\0cd", 5, sc, q),
			 -EBADMSG);
	const float neg[2] = { 0.01f, -1.0f };
	assert_int_equal(nlu_emb_create(&c, 2, 2, "ab\0cd", 6, neg, q),
			 -EBADMSG);
	assert_int_equal(nlu_emb_create(&c, 0, 2, "ab\0cd", 6, sc, q), -EINVAL);
	assert_null(c);
	nlu_emb_destroy(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			glove_text_is_parsed_and_unusable_words_skipped),
		cmocka_unit_test(max_words_keeps_the_first_usable_words),
		cmocka_unit_test(
			malformed_glove_text_is_rejected_with_its_line),
		cmocka_unit_test(
			sentence_vector_is_the_normalised_mean_of_known_words),
		cmocka_unit_test(create_copies_parts_and_rejects_bad_ones),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
