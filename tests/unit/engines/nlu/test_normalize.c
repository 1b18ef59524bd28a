/* Tests for engines/nlu/normalize: STT-style utterances in, normalized text
 * out (table-driven), with and without spoken numbers to digits, and the
 * limits (NULL, capacity, huge and binary input). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engines/nlu/normalize.h"

struct norm_case {
	const char *in;
	const char *words;  /* nlu_normalize() */
	const char *digits; /* NLU_NORMALIZE_NUMBERS; NULL: same as words */
};

static const struct norm_case cases[] = {
	{ "", "", NULL },
	{ "   ", "", NULL },
	{ "Hello World", "hello world", NULL },
	{ "hello,   world!!  how are   you?", "hello world how are you", NULL },
	{ "i'm lost", "i am lost", NULL },
	{ "im lost", "i am lost", NULL },
	{ "I can't log in", "i can not log in", NULL },
	{ "i cant log in", "i can not log in", NULL },
	{ "it won't work", "it will not work", NULL },
	{ "don't do that", "do not do that", NULL },
	{ "dont do that", "do not do that", NULL },
	{ "what's my balance", "what is my balance", NULL },
	{ "whats my balance", "what is my balance", NULL },
	{ "it's gone", "it is gone", NULL },
	{ "its gone", "its gone", NULL }, /* "its" is a word */
	{ "you're right", "you are right", NULL },
	{ "we've paid", "we have paid", NULL },
	{ "they'll call", "they will call", NULL },
	{ "i'd like a card", "i would like a card", NULL },
	{ "my wife's card", "my wife card", NULL },
	{ "let's go", "let us go", NULL },
	{ "i\xe2\x80\x99m here", "i am here", NULL }, /* U+2019 */
	{ "'quoted' words", "quoted words", NULL },
	{ "um i want uh to pay", "i want to pay", NULL },
	{ "umm erm er ah hmm", "", NULL },
	{ "um hmm", "um hmm", NULL }, /* a yes */
	{ "i like my card", "i like my card", NULL },
	{ "uh huh", "uh huh", NULL },
	{ "uh-huh", "uh huh", NULL },
	{ "mm hmm that's right", "mm hmm that is right", NULL },
	{ "twenty-five", "twenty five", "25" },
	{ "twenty five dollars", "twenty five dollars", "25 dollars" },
	{ "one hundred and five", "one hundred and five", "105" },
	{ "a hundred bucks", "a hundred bucks", "100 bucks" },
	{ "four one one one", "four one one one", "4111" },
	{ "double five oh two", "double five oh two", "5502" },
	{ "the third of march", "the third of march", "the 3rd of march" },
	{ "twenty first", "twenty first", "21st" },
	{ "eleventh", "eleventh", "11th" },
	{ "twelve point five", "twelve point five", "12.5" },
	{ "that one", "that one", "that one" },
	{ "no one knows", "no one knows", "no one knows" },
	{ "oh no", "oh no", "oh no" },
	{ "wait a second", "wait a second", "wait a second" },
	{ "one thousand two hundred fifty", "one thousand two hundred fifty",
	  "1250" },
	{ "$1,250.40", "1250.40", NULL },
	{ "3.5 percent", "3.5 percent", NULL },
	{ "end.", "end", NULL },
	{ "caf\xc3\xa9 CAF\xc3\x89", "caf\xc3\xa9 caf\xc3\x89", NULL },
	{ "tab\there\nnewline", "tab here newline", NULL },
	{ "\xff\xfe bad bytes", "\xff\xfe bad bytes", NULL },
};

static void table_cases_normalize(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[256];
		int n = nlu_normalize(cases[i].in, out, sizeof(out));
		if (n < 0 || strcmp(out, cases[i].words) != 0 ||
		    (size_t)n != strlen(out))
			fail_msg("words [%s]: got [%s] (%d), want [%s]",
				 cases[i].in, out, n, cases[i].words);
		const char *want =
			cases[i].digits ? cases[i].digits : cases[i].words;
		n = nlu_normalize_flags(cases[i].in, NLU_NORMALIZE_NUMBERS, out,
					sizeof(out));
		if (n < 0 || strcmp(out, want) != 0)
			fail_msg("digits [%s]: got [%s] (%d), want [%s]",
				 cases[i].in, out, n, want);
	}
}

static void bad_arguments_are_einval(void **state)
{
	char out[8];
	assert_int_equal(nlu_normalize(NULL, out, sizeof(out)), -EINVAL);
	assert_int_equal(nlu_normalize("x", NULL, 8), -EINVAL);
	assert_int_equal(nlu_normalize("x", out, 0), -EINVAL);
}

static void output_that_does_not_fit_is_e2big_and_empty(void **state)
{
	char out[6];
	assert_int_equal(nlu_normalize("hello", out, sizeof(out)), 5);
	assert_int_equal(nlu_normalize("hello world", out, sizeof(out)),
			 -E2BIG);
	assert_string_equal(out, "");
	/* "i'm" grows into "i am" */
	char small[4];
	assert_int_equal(nlu_normalize("i'm", small, sizeof(small)), -E2BIG);
}

static void input_over_the_cap_is_e2big(void **state)
{
	size_t n = NLU_NORMALIZE_MAX_IN + 1;
	char *in = malloc(n + 1);
	char *out = malloc(2 * n);
	assert_non_null(in);
	assert_non_null(out);
	memset(in, 'a', n);
	in[n] = '\0';
	assert_int_equal(nlu_normalize(in, out, 2 * n), -E2BIG);
	in[n - 1] = '\0';
	assert_int_equal(nlu_normalize(in, out, 2 * n), (int)(n - 1));
	free(in);
	free(out);
}

/* The worst expansion ("im" -> "i am") over the whole cap must fit the
 * scratch buffers (ASan checks) and the result must be exact. */
static void worst_case_expansion_stays_in_bounds(void **state)
{
	size_t n = NLU_NORMALIZE_MAX_IN;
	char *in = malloc(n + 1);
	char *out = malloc(3 * n);
	assert_non_null(in);
	assert_non_null(out);
	for (size_t i = 0; i < n; i += 3)
		memcpy(in + i, "im ", n - i < 3 ? n - i : 3);
	in[n] = '\0';
	int len = nlu_normalize(in, out, 3 * n);
	assert_true(len > 0);
	assert_memory_equal(out, "i am i am", 9);
	for (size_t i = 0; i < n; i++)
		in[i] = (char)(i % 2 ? '\'' : 's');
	in[n] = '\0';
	assert_true(nlu_normalize_flags(in, NLU_NORMALIZE_NUMBERS, out,
					3 * n) >= 0);
	free(in);
	free(out);
}

static void binary_input_never_crashes(void **state)
{
	char in[512], out[2048];
	uint32_t x = 12345;
	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i + 1 < sizeof(in); i++) {
			x = x * 1103515245u + 12345u;
			in[i] = (char)((x >> 16) % 255 + 1);
		}
		in[sizeof(in) - 1] = '\0';
		int n = nlu_normalize_flags(in, NLU_NORMALIZE_NUMBERS, out,
					    sizeof(out));
		assert_true(n >= 0);
		assert_int_equal((size_t)n, strlen(out));
	}
}

static void canon(const char *in, char *out, size_t cap)
{
	struct nlu_tokens raw, t;
	assert_int_equal(nlu_tokenize(in, &raw), 0);
	assert_int_equal(nlu_normalize_tokens(&raw, &t), 0);
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < t.n; i++) {
		const char *w = nlu_tokens_get(&t, i);
		assert_int_equal(strlen(w), t.len[i]);
		len += (size_t)snprintf(out + len, cap - len, "%s%s",
					i ? " " : "", w);
	}
}

static void token_spellings_are_canonical(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{ "My topup was canceled", "my top up was cancelled" },
		{ "um I deposited a Cheque uh", "i deposited a check" },
		{ "two cheques, okay?", "two checks ok" },
		{ "there is an extra 1 fee", "there is an extra one fee" },
		{ "pay 10 or 13 or 100", "pay ten or 13 or 100" },
		{ "check my balance", "check my balance" },
		{ "umm uh erm", "" },
		{ "", "" },
	};
	char out[512];
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		canon(cases[i][0], out, sizeof(out));
		assert_string_equal(out, cases[i][1]);
	}
	struct nlu_tokens t;
	assert_int_equal(nlu_normalize_tokens(NULL, &t), -EINVAL);
	assert_int_equal(nlu_normalize_tokens(&t, &t), -EINVAL);
}

static void token_expansion_stops_at_the_cap(void **state)
{
	(void)state;
	/* 160 "topup" tokens would be 320 words: 160 are kept */
	char in[NLU_TOKENS_MAX * 6 + 1];
	size_t n = 0;
	for (int i = 0; i < NLU_TOKENS_MAX; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "topup ");
	in[n > NLU_TEXT_MAX ? NLU_TEXT_MAX : n] = '\0';
	struct nlu_tokens raw, t;
	assert_int_equal(nlu_tokenize(in, &raw), 0);
	assert_int_equal(nlu_normalize_tokens(&raw, &t), 0);
	assert_int_equal(t.n, NLU_TOKENS_MAX);
	assert_string_equal(nlu_tokens_get(&t, 0), "top");
	assert_string_equal(nlu_tokens_get(&t, 1), "up");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_cases_normalize),
		cmocka_unit_test(bad_arguments_are_einval),
		cmocka_unit_test(output_that_does_not_fit_is_e2big_and_empty),
		cmocka_unit_test(input_over_the_cap_is_e2big),
		cmocka_unit_test(worst_case_expansion_stays_in_bounds),
		cmocka_unit_test(binary_input_never_crashes),
		cmocka_unit_test(token_spellings_are_canonical),
		cmocka_unit_test(token_expansion_stops_at_the_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
