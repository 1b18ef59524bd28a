/* Form-urlencoded parsing: decoding, duplicates, caps, malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "telephony/twilio/twform.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void decodes_plus_and_percent(void **state)
{
	(void)state;
	struct twform f;
	twform_init(&f);
	const char s[] = "SpeechResult=I+lost+my+card%21&From=%2B1415&a%3Db=c";
	assert_int_equal(twform_parse(&f, s, strlen(s)), 0);
	assert_int_equal(f.n, 3);
	assert_string_equal(twform_get(&f, "SpeechResult"), "I lost my card!");
	assert_string_equal(twform_get(&f, "From"), "+1415");
	assert_string_equal(twform_get(&f, "a=b"), "c");
	assert_null(twform_get(&f, "To"));
	twform_fini(&f);
}

static void keeps_duplicates_and_sorts(void **state)
{
	(void)state;
	struct twform f;
	twform_init(&f);
	const char s[] = "b=2&a=9&b=1&&a&";
	assert_int_equal(twform_parse(&f, s, strlen(s)), 0);
	assert_int_equal(f.n, 4);
	assert_string_equal(twform_get(&f, "b"), "2"); /* first one */
	twform_sort(&f);
	const char *want[][2] = {
		{ "a", "" }, { "a", "9" }, { "b", "1" }, { "b", "2" }
	};
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(f.pairs[i].name, want[i][0]);
		assert_string_equal(f.pairs[i].value, want[i][1]);
	}
	twform_fini(&f);
}

static void empty_input_is_an_empty_form(void **state)
{
	(void)state;
	struct twform f;
	twform_init(&f);
	assert_int_equal(twform_parse(&f, "", 0), 0);
	assert_int_equal(f.n, 0);
	assert_int_equal(twform_parse(&f, "&&&", 3), 0);
	assert_int_equal(f.n, 0);
	twform_fini(&f);
}

static void malformed_input_is_rejected(void **state)
{
	(void)state;
	static const char *bad[] = {
		"a=%",	  "a=%4",  "a=%zz", "a=%4g",	"=v",
		"a=1&=2", "a=%00", "%=1",   "a=1&b=%2",
	};
	struct twform f;
	twform_init(&f);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("%s\n", bad[i]);
		assert_int_equal(twform_parse(&f, bad[i], strlen(bad[i])),
				 -EBADMSG);
		assert_int_equal(f.n, 0);
		assert_null(f.pairs);
	}
	/* an embedded NUL byte */
	assert_int_equal(twform_parse(&f, "a=b\0c", 5), -EBADMSG);
	assert_int_equal(twform_parse(NULL, "a", 1), -EINVAL);
	assert_int_equal(twform_parse(&f, NULL, 1), -EINVAL);
	twform_fini(&f);
}

static void caps_on_pairs_and_bytes(void **state)
{
	(void)state;
	struct twform f;
	twform_init(&f);
	size_t cap = (TWFORM_MAX_PAIRS + 1) * 4 + 1;
	char *s = malloc(cap);
	assert_non_null(s);
	size_t n = 0;
	for (int i = 0; i < TWFORM_MAX_PAIRS; i++)
		n += (size_t)sprintf(s + n, "a=1&");
	assert_int_equal(twform_parse(&f, s, n), 0);
	assert_int_equal(f.n, TWFORM_MAX_PAIRS);
	n += (size_t)sprintf(s + n, "a=1");
	assert_int_equal(twform_parse(&f, s, n), -E2BIG);
	assert_int_equal(f.n, 0);
	free(s);

	char *big = malloc(TWFORM_MAX_BYTES + 1);
	assert_non_null(big);
	memset(big, 'x', TWFORM_MAX_BYTES + 1);
	big[0] = 'a';
	big[1] = '=';
	assert_int_equal(twform_parse(&f, big, TWFORM_MAX_BYTES), 0);
	assert_int_equal(strlen(twform_get(&f, "a")), TWFORM_MAX_BYTES - 2);
	assert_int_equal(twform_parse(&f, big, TWFORM_MAX_BYTES + 1), -E2BIG);
	free(big);
	twform_fini(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decodes_plus_and_percent),
		cmocka_unit_test(keeps_duplicates_and_sorts),
		cmocka_unit_test(empty_input_is_an_empty_form),
		cmocka_unit_test(malformed_input_is_rejected),
		cmocka_unit_test(caps_on_pairs_and_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
