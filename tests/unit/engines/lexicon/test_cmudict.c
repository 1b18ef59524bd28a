/* Tests for engines/lexicon/cmudict: parsing (comments, alternates, blank
 * and broken lines), lookups and the sorted entry walk. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "engines/lexicon/cmudict.h"

static const char dict[] = ";;; comment\n"
			   "# another\n"
			   "read(2) R EH D\n"
			   "read R IY D\n"
			   "\n"
			   "card K AA R D  \r\n"
			   "lonely\n"
			   "  a AH\n"
			   "a(2) EY";

static void parses_sorts_and_finds(void **state)
{
	(void)state;
	struct cmudict *d = NULL;
	assert_int_equal(cmudict_parse(&d, dict, strlen(dict)), 0);
	assert_int_equal(cmudict_count(d), 5); /* "lonely" has no phones */
	assert_string_equal(cmudict_find(d, "read", 0), "R IY D");
	assert_string_equal(cmudict_find(d, "read", 1), "R EH D");
	assert_null(cmudict_find(d, "read", 2));
	assert_string_equal(cmudict_find(d, "card", 0), "K AA R D");
	assert_string_equal(cmudict_find(d, "a", 1), "EY");
	assert_null(cmudict_find(d, "lonely", 0));
	assert_null(cmudict_find(d, "zebra", 0));

	static const char *const words[] = { "a", "a", "card", "read", "read" };
	static const unsigned alts[] = { 0, 1, 0, 0, 1 };
	for (size_t i = 0; i < 5; i++) {
		const char *w = NULL, *p = NULL;
		unsigned alt = 9;
		assert_int_equal(cmudict_entry(d, i, &w, &p, &alt), 0);
		assert_string_equal(w, words[i]);
		assert_int_equal(alt, alts[i]);
		assert_non_null(p);
	}
	assert_int_equal(cmudict_entry(d, 5, NULL, NULL, NULL), -ENOENT);
	assert_int_equal(cmudict_entry(d, 0, NULL, NULL, NULL), 0);
	cmudict_destroy(d);
}

static void bad_input_is_refused(void **state)
{
	(void)state;
	struct cmudict *d = NULL;
	assert_int_equal(cmudict_parse(&d, ";;; only comments\n", 18),
			 -EBADMSG);
	assert_null(d);
	assert_int_equal(cmudict_parse(NULL, dict, 4), -EINVAL);
	assert_int_equal(cmudict_parse(&d, NULL, 4), -EINVAL);
	assert_int_equal(cmudict_load(&d, "/nonexistent/cmudict"), -ENOENT);
	assert_int_equal(cmudict_count(NULL), 0);
	assert_null(cmudict_find(NULL, "a", 0));
	assert_int_equal(cmudict_entry(NULL, 0, NULL, NULL, NULL), -ENOENT);
	cmudict_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_sorts_and_finds),
		cmocka_unit_test(bad_input_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
