/* UTF-8 sequence validation: RFC 3629 well-formed table edges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/utf8.h"

static size_t len_of(const char *s, size_t n)
{
	return utf8_seq_len((const unsigned char *)s, n);
}

static void well_formed_sequences_have_their_length(void **st)
{
	(void)st;
	assert_int_equal(len_of("a", 1), 1);
	assert_int_equal(len_of("\xc2\xa9", 2), 2);	    /* U+00A9 */
	assert_int_equal(len_of("\xe2\x82\xac", 3), 3);	    /* U+20AC */
	assert_int_equal(len_of("\xed\x9f\xbf", 3), 3);	    /* U+D7FF */
	assert_int_equal(len_of("\xf0\x9f\x98\x80", 4), 4); /* U+1F600 */
	assert_int_equal(len_of("\xf4\x8f\xbf\xbf", 4), 4); /* U+10FFFF */
}

static void ill_formed_sequences_are_zero(void **st)
{
	(void)st;
	assert_int_equal(len_of("\x80", 1), 0);		    /* continuation */
	assert_int_equal(len_of("\xc0\xaf", 2), 0);	    /* overlong '/' */
	assert_int_equal(len_of("\xe0\x80\xaf", 3), 0);	    /* overlong */
	assert_int_equal(len_of("\xed\xa0\x80", 3), 0);	    /* surrogate */
	assert_int_equal(len_of("\xf4\x90\x80\x80", 4), 0); /* > U+10FFFF */
	assert_int_equal(len_of("\xf5\x80\x80\x80", 4), 0);
	assert_int_equal(len_of("\xe2\x82", 2), 0);	    /* cut short */
	assert_int_equal(len_of("\xe2\x28\xa1", 3), 0);	    /* bad 2nd byte */
	assert_int_equal(len_of("\xf0\x9f\x98\x41", 4), 0); /* bad 4th byte */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(well_formed_sequences_have_their_length),
		cmocka_unit_test(ill_formed_sequences_are_zero),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
