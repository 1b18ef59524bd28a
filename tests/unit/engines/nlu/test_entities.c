/* Tests for engines/nlu/entities: each entity type from spoken and written
 * forms (table-driven; reference date Tuesday 2026-11-24), Luhn failures,
 * ambiguous cases, spans, the Lex V2 slot print, and limits. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engines/nlu/entities.h"

static const struct nlu_entities_opts ref = { .ref_year = 2026,
					      .ref_month = 11,
					      .ref_day = 24 };

struct ent_case {
	const char *in;
	/* "type=value[ unit] [original]", joined by "; " */
	const char *want;
};

static const struct ent_case cases[] = {
	/* money */
	{ "i want to pay twenty five dollars",
	  "money=25.00 USD [twenty five dollars]" },
	{ "$1,250.40", "money=1250.40 USD [$1,250.40]" },
	{ "pay $ 40", "money=40.00 USD [$ 40]" },
	{ "one thousand two hundred fifty dollars and forty cents",
	  "money=1250.40 USD [one thousand two hundred fifty dollars and "
	  "forty cents]" },
	{ "fifty euros", "money=50.00 EUR [fifty euros]" },
	{ "five pounds", "money=5.00 GBP [five pounds]" },
	{ "\xe2\x82\xac"
	  "20",
	  "money=20.00 EUR [\xe2\x82\xac"
	  "20]" },
	{ "\xc2\xa3"
	  "3.5",
	  "money=3.50 GBP [\xc2\xa3"
	  "3.5]" },
	{ "a hundred bucks", "money=100.00 USD [a hundred bucks]" },
	{ "a dollar", "money=1.00 USD [a dollar]" },
	{ "fifty cents", "money=0.50 USD [fifty cents]" },
	{ "twenty um five dollars",
	  "money=25.00 USD [twenty um five dollars]" },
	{ "12.50 usd", "money=12.50 USD [12.50 usd]" },
	{ "twelve point five dollars", "money=12.50 USD [twelve point five "
				       "dollars]" },
	{ "five dollars and twenty cents", "money=5.20 USD [five dollars and "
					   "twenty cents]" },
	{ "$1.999", "number=1.999 [1.999]" },
	{ "nineteen dollars ninety nine",
	  "money=19.99 USD [nineteen dollars ninety nine]" },
	{ "five dollars fifty", "money=5.50 USD [five dollars fifty]" },
	{ "five dollars two times", "money=5.00 USD [five dollars]; number=2 "
				    "[two]" },
	{ "$5 twenty", "money=5.00 USD [$5]; number=20 [twenty]" },
	/* numbers and ordinals */
	{ "twenty five", "number=25 [twenty five]" },
	{ "one hundred and five", "number=105 [one hundred and five]" },
	{ "three million and one", "number=3000001 [three million and one]" },
	{ "1,250", "number=1250 [1,250]" },
	{ "42", "number=42 [42]" },
	{ "twelve point five", "number=12.5 [twelve point five]" },
	{ "the third one", "ordinal=3 [third]" },
	{ "the second one", "ordinal=2 [second]" },
	{ "that one", "" },
	{ "one", "number=1 [one]" },
	{ "twenty first", "ordinal=21 [twenty first]" },
	{ "5th", "ordinal=5 [5th]" },
	{ "zero", "number=0 [zero]" },
	{ "wait a second", "" },
	/* spoken digit strings */
	{ "four one one one", "digits=4111 [four one one one]" },
	{ "double five oh two", "digits=5502 [double five oh two]" },
	{ "triple seven", "digits=777 [triple seven]" },
	{ "oh no", "confirm=no [no]" },
	{ "two three", "digits=23 [two three]" },
	{ "007", "digits=007 [007]" },
	/* accounts */
	{ "account one two three four five six seven eight",
	  "account=12345678 [one two three four five six seven eight]" },
	{ "my account is 123456", "account=123456 [123456]" },
	{ "12345", "number=12345 [12345]" },
	/* phones */
	{ "four one five five five five two six seven one",
	  "phone=+14155552671 [four one five five five five two six seven "
	  "one]" },
	{ "call 415-555-2671", "phone=+14155552671 [415-555-2671]" },
	{ "+1 415 555 2671", "phone=+14155552671 [+1 415 555 2671]" },
	{ "+44 20 7946 0958", "phone=+442079460958 [+44 20 7946 0958]" },
	{ "one eight hundred five five five two six seven one",
	  "phone=+18005552671 [one eight hundred five five five two six "
	  "seven one]" },
	{ "four one five five five five twenty six seventy one",
	  "phone=+14155552671 [four one five five five five twenty six "
	  "seventy one]" },
	/* 123 is not a NANP exchange: an account, not a phone */
	{ "5551234567", "account=5551234567 [5551234567]" },
	/* cards */
	{ "4111111111111111", "card=4111111111111111 [4111111111111111]" },
	{ "4111 1111 1111 1111", "card=4111111111111111 [4111 1111 1111 "
				 "1111]" },
	{ "four one one one one one one one one one one one one one one one",
	  "card=4111111111111111 [four one one one one one one one one one "
	  "one one one one one one]" },
	{ "4111 1111 1111 1112",
	  "card_invalid=4111111111111112 [4111 1111 1111 1112]" },
	{ "5500 0000 0000 0004", "card=5500000000000004 [5500 0000 0000 "
				 "0004]" },
	{ "378282246310005", "card=378282246310005 [378282246310005]" },
	{ "378282246310006", "card_invalid=378282246310006 "
			     "[378282246310006]" },
	/* dates */
	{ "today", "date=2026-11-24 [today]" },
	{ "tomorrow", "date=2026-11-25 [tomorrow]" },
	{ "yesterday", "date=2026-11-23 [yesterday]" },
	{ "the day after tomorrow", "date=2026-11-26 [day after tomorrow]" },
	{ "friday", "date=2026-11-27 [friday]" },
	{ "next friday", "date=2026-11-27 [next friday]" },
	{ "tuesday", "date=2026-11-24 [tuesday]" },
	{ "next tuesday", "date=2026-12-01 [next tuesday]" },
	{ "last monday", "date=2026-11-23 [last monday]" },
	{ "last tuesday", "date=2026-11-17 [last tuesday]" },
	{ "in two weeks", "date=2026-12-08 [in two weeks]" },
	{ "in 3 days", "date=2026-11-27 [in 3 days]" },
	{ "in a week", "date=2026-12-01 [in a week]" },
	{ "march third", "date=2027-03-03 [march third]" },
	{ "december 3rd", "date=2026-12-03 [december 3rd]" },
	{ "november the twenty fourth", "date=2026-11-24 [november the twenty "
					"fourth]" },
	{ "march third twenty twenty six",
	  "date=2026-03-03 [march third twenty twenty six]" },
	{ "march 3 2025", "date=2025-03-03 [march 3 2025]" },
	{ "the third of march", "date=2027-03-03 [the third of march]" },
	{ "5th of december", "date=2026-12-05 [5th of december]" },
	{ "the 5th", "date=2026-12-05 [the 5th]" },
	{ "the thirtieth", "date=2026-11-30 [the thirtieth]" },
	{ "the thirty first", "date=2026-12-31 [the thirty first]" },
	{ "the first option", "ordinal=1 [first]" },
	{ "3/14/2026", "date=2026-03-14 [3/14/2026]" },
	{ "3/14/26", "date=2026-03-14 [3/14/26]" },
	{ "12/25", "date=2026-12-25 [12/25]" },
	{ "2026-11-27", "date=2026-11-27 [2026-11-27]" },
	{ "february thirtieth", "ordinal=30 [thirtieth]" },
	{ "2/30/2026", "" },
	{ "february twenty ninth", "date=2028-02-29 [february twenty ninth]" },
	{ "may i pay", "" },
	{ "march 1,5", "number=15 [1,5]" },
	{ "\xe2\x80\x99\xe2\x80\x99 yes \xe2\x80\x99", "confirm=yes [yes]" },
	/* confirmation */
	{ "yes", "confirm=yes [yes]" },
	{ "yeah", "confirm=yes [yeah]" },
	{ "yep", "confirm=yes [yep]" },
	{ "sure", "confirm=yes [sure]" },
	{ "Correct", "confirm=yes [Correct]" },
	{ "that's right", "confirm=yes [that's right]" },
	{ "that\xe2\x80\x99s right", "confirm=yes [that\xe2\x80\x99s right]" },
	{ "thats right", "confirm=yes [thats right]" },
	{ "uh huh", "confirm=yes [uh huh]" },
	{ "no", "confirm=no [no]" },
	{ "nope", "confirm=no [nope]" },
	{ "not really", "confirm=no [not really]" },
	{ "that's not right", "confirm=no [that's not right]" },
	{ "i'm not sure", "" },
	{ "make sure", "" },
	{ "no problem", "" },
	/* several */
	{ "yes pay fifty dollars tomorrow",
	  "confirm=yes [yes]; money=50.00 USD [fifty dollars]; "
	  "date=2026-11-25 [tomorrow]" },
	/* nothing */
	{ "", "" },
	{ "   ", "" },
	{ "hello there", "" },
};

static void describe(const struct nlu_entity *e, size_t n, char *buf,
		     size_t cap)
{
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && len < cap; i++)
		len += (size_t)snprintf(
			buf + len, cap - len, "%s%s=%s%s%s [%s]", i ? "; " : "",
			nlu_entity_type_name(e[i].type), e[i].value,
			e[i].unit[0] ? " " : "", e[i].unit, e[i].text);
}

static void table_cases_extract(void **state)
{
	int failed = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nlu_entity e[8];
		size_t n = 99;
		char got[1024];
		int rc = nlu_entities_extract(cases[i].in, &ref, e, 8, &n);
		if (rc != 0) {
			print_error("[%s]: rc %d\n", cases[i].in, rc);
			failed++;
			continue;
		}
		describe(e, n, got, sizeof(got));
		if (strcmp(got, cases[i].want) != 0) {
			print_error("[%s]:\n  got  %s\n  want %s\n",
				    cases[i].in, got, cases[i].want);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

static void spans_point_into_the_input(void **state)
{
	const char *in = "um so twenty five dollars on friday";
	struct nlu_entity e[4];
	size_t n = 0;
	assert_int_equal(nlu_entities_extract(in, &ref, e, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(e[0].off, 6);
	assert_int_equal(e[0].len, strlen("twenty five dollars"));
	assert_memory_equal(in + e[1].off, "friday", e[1].len);
}

static void luhn_rejects_any_changed_check_digit(void **state)
{
	static const char *const good[] = { "4111111111111111",
					    "5500000000000004",
					    "378282246310005", "0", "18" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_true(nlu_luhn_valid(good[i]));
		char bad[32];
		snprintf(bad, sizeof(bad), "%s", good[i]);
		size_t last = strlen(bad) - 1;
		bad[last] = (char)('0' + (bad[last] - '0' + 1) % 10);
		assert_false(nlu_luhn_valid(bad));
	}
	assert_false(nlu_luhn_valid(""));
	assert_false(nlu_luhn_valid(NULL));
	assert_false(nlu_luhn_valid("4111-1111"));
}

static void account_length_is_configurable(void **state)
{
	struct nlu_entities_opts o = ref;
	struct nlu_entity e[2];
	size_t n = 0;
	o.account_min_digits = 4;
	o.account_max_digits = 4;
	assert_int_equal(
		nlu_entities_extract("one two three four", &o, e, 2, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].type, NLU_ENTITY_ACCOUNT);
	assert_int_equal(nlu_entities_extract("one two three four five six", &o,
					      e, 2, &n),
			 0);
	assert_int_equal(e[0].type, NLU_ENTITY_DIGITS);
	o.account_min_digits = 9;
	assert_int_equal(nlu_entities_extract("x", &o, e, 2, &n), -EINVAL);
}

static void bad_arguments_are_einval(void **state)
{
	struct nlu_entity e[1];
	size_t n = 7;
	struct nlu_entities_opts bad = { .ref_year = 2026,
					 .ref_month = 2,
					 .ref_day = 30 };
	assert_int_equal(nlu_entities_extract(NULL, &ref, e, 1, &n), -EINVAL);
	assert_int_equal(nlu_entities_extract("x", &ref, NULL, 1, &n), -EINVAL);
	assert_int_equal(nlu_entities_extract("x", &ref, e, 1, NULL), -EINVAL);
	assert_int_equal(nlu_entities_extract("x", &bad, e, 1, &n), -EINVAL);
	assert_int_equal(n, 7);
	assert_int_equal(nlu_entities_extract("yes", &ref, NULL, 0, &n), 0);
	assert_int_equal(n, 0);
}

static void null_options_use_today(void **state)
{
	struct nlu_entity e[1];
	size_t n = 0;
	assert_int_equal(nlu_entities_extract("today", NULL, e, 1, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(strlen(e[0].value), 10);
}

static void entities_beyond_max_are_dropped(void **state)
{
	struct nlu_entity e[NLU_ENTITIES_MAX];
	size_t n = 0;
	char in[1024] = "";
	for (int i = 0; i < 100; i++)
		strcat(in, "yes ");
	assert_int_equal(nlu_entities_extract(in, &ref, e, 3, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(nlu_entities_extract(in, &ref, e, 1000, &n), 0);
	assert_int_equal(n, NLU_ENTITIES_MAX);
}

static void huge_input_is_e2big_and_the_cap_is_fine(void **state)
{
	size_t cap = NLU_ENTITIES_MAX_IN;
	char *in = malloc(cap + 2);
	struct nlu_entity e[4];
	size_t n = 0;
	assert_non_null(in);
	memset(in, '$', cap + 1);
	in[cap + 1] = '\0';
	assert_int_equal(nlu_entities_extract(in, &ref, e, 4, &n), -E2BIG);
	in[cap] = '\0';
	assert_int_equal(nlu_entities_extract(in, &ref, e, 4, &n), 0);
	assert_int_equal(n, 0);
	for (size_t i = 0; i < cap; i++)
		in[i] = "9 "[i % 2];
	assert_int_equal(nlu_entities_extract(in, &ref, e, 4, &n), 0);
	/* digit runs are cut at NLU_NUM_DIGITS_MAX (32) digits */
	assert_int_equal(n, 4);
	assert_int_equal(e[0].type, NLU_ENTITY_DIGITS);
	assert_int_equal(strlen(e[0].value), 32);
	free(in);
}

static void binary_input_never_crashes(void **state)
{
	char in[600];
	struct nlu_entity e[NLU_ENTITIES_MAX];
	uint32_t x = 99;
	for (int round = 0; round < 300; round++) {
		for (size_t i = 0; i + 1 < sizeof(in); i++) {
			x = x * 1103515245u + 12345u;
			/* bias towards digits, spaces and letters */
			unsigned r = (x >> 16) % 300;
			in[i] = (char)(r < 60	 ? '0' + r % 10
				       : r < 90	 ? ' '
				       : r < 150 ? 'a' + r % 26
						 : r % 255 + 1);
		}
		in[sizeof(in) - 1] = '\0';
		size_t n = 0;
		assert_int_equal(
			nlu_entities_extract(in, &ref, e, NLU_ENTITIES_MAX, &n),
			0);
		for (size_t i = 0; i < n; i++) {
			char js[1024];
			assert_true(e[i].off + e[i].len <= strlen(in));
			assert_true(nlu_entity_print_lex(&e[i], js,
							 sizeof(js)) > 0);
		}
	}
}

static void lex_slot_has_the_v2_shape(void **state)
{
	struct nlu_entity e[1];
	size_t n = 0;
	char js[512];
	assert_int_equal(
		nlu_entities_extract("twenty five dollars", &ref, e, 1, &n), 0);
	int len = nlu_entity_print_lex(&e[0], js, sizeof(js));
	assert_string_equal(
		js, "{\"shape\":\"Scalar\",\"value\":{\"originalValue\":"
		    "\"twenty five dollars\",\"interpretedValue\":"
		    "\"25.00\",\"resolvedValues\":[\"25.00 USD\"]}}");
	assert_int_equal(len, strlen(js));
}

static void lex_slot_escapes_json(void **state)
{
	struct nlu_entity e = { .type = NLU_ENTITY_NUMBER };
	char js[512];
	snprintf(e.text, sizeof(e.text), "a\"b\\c\n\x01\xff\xc3\xa9");
	snprintf(e.value, sizeof(e.value), "1");
	assert_true(nlu_entity_print_lex(&e, js, sizeof(js)) > 0);
	assert_non_null(strstr(js, "\"originalValue\":\"a\\\"b\\\\c\\u000a"
				   "\\u0001\xef\xbf\xbd\xc3\xa9\""));
	assert_non_null(strstr(js, "\"resolvedValues\":[\"1\"]"));
}

static void lex_slot_too_small_is_e2big(void **state)
{
	struct nlu_entity e = { .type = NLU_ENTITY_CONFIRM };
	char js[512];
	snprintf(e.text, sizeof(e.text), "yes");
	snprintf(e.value, sizeof(e.value), "yes");
	int len = nlu_entity_print_lex(&e, js, sizeof(js));
	assert_true(len > 0);
	assert_int_equal(nlu_entity_print_lex(&e, js, (size_t)len), -E2BIG);
	assert_string_equal(js, "");
	assert_int_equal(nlu_entity_print_lex(&e, js, (size_t)len + 1), len);
	assert_int_equal(nlu_entity_print_lex(NULL, js, 8), -EINVAL);
}

static void long_original_text_is_cut_at_a_utf8_boundary(void **state)
{
	char in[600] = "";
	struct nlu_entity e[1];
	size_t n = 0;
	/* "\xc3\xa9" is not part of a number; digits with spaces are */
	for (int i = 0; i < 70; i++)
		strcat(in, "1 ");
	strcat(in, "twenty");
	assert_int_equal(nlu_entities_extract(in, &ref, e, 1, &n), 0);
	assert_int_equal(n, 1);
	assert_true(strlen(e[0].text) < NLU_ENTITY_TEXT_MAX);
	assert_true(e[0].len >= strlen(e[0].text));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_cases_extract),
		cmocka_unit_test(spans_point_into_the_input),
		cmocka_unit_test(luhn_rejects_any_changed_check_digit),
		cmocka_unit_test(account_length_is_configurable),
		cmocka_unit_test(bad_arguments_are_einval),
		cmocka_unit_test(null_options_use_today),
		cmocka_unit_test(entities_beyond_max_are_dropped),
		cmocka_unit_test(huge_input_is_e2big_and_the_cap_is_fine),
		cmocka_unit_test(binary_input_never_crashes),
		cmocka_unit_test(lex_slot_has_the_v2_shape),
		cmocka_unit_test(lex_slot_escapes_json),
		cmocka_unit_test(lex_slot_too_small_is_e2big),
		cmocka_unit_test(long_original_text_is_cut_at_a_utf8_boundary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
