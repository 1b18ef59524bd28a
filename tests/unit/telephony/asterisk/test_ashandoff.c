/* AudioSocket hand-offs (telephony/asterisk/ashandoff.c): UUID forms,
 * put/take once, expiry, replacement of the same UUID, a full table. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "telephony/asterisk/ashandoff.h"

#define UA "01234567-89ab-cdef-0123-456789abcdef"

static void uuid_forms_normalise_or_are_refused(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} ok[] = {
		{ UA, UA },
		{ "0123456789ABCDEF0123456789ABCDEF", UA },
		{ "01234567-89AB-CDEF-0123-456789ABCDEF", UA },
	};
	static const char *const bad[] = {
		"",
		"0123",
		"01234567-89ab-cdef-0123-456789abcdeg",
		"0123456789abcdef0123456789abcde",
		"01234567089ab-cdef-0123-456789abcdef",
		"0123456789abcdef0123456789abcdef0",
		"01234567-89ab-cdef-0123-456789abcde\n",
	};
	char out[37];
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(ashandoff_uuid_norm(ok[i].in, out), 0);
		assert_string_equal(out, ok[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ashandoff_uuid_norm(bad[i], out), -EINVAL);
	assert_int_equal(ashandoff_uuid_norm(NULL, out), -EINVAL);
}

static void a_hand_off_is_taken_once(void **state)
{
	(void)state;
	struct ashandoff *t = calloc(1, sizeof(*t));
	char flow[64];
	assert_int_equal(ashandoff_put(t, "0123456789ABCDEF0123456789abcdef",
				       "sales", 1000),
			 0);
	assert_false(ashandoff_take(t, "11111111-89ab-cdef-0123-456789abcdef",
				    1001, flow));
	assert_true(ashandoff_take(t, UA, 1002, flow));
	assert_string_equal(flow, "sales");
	assert_false(ashandoff_take(t, UA, 1003, flow));
	free(t);
}

static void entries_expire_and_the_same_uuid_is_replaced(void **state)
{
	(void)state;
	struct ashandoff *t = calloc(1, sizeof(*t));
	char flow[64];
	assert_int_equal(ashandoff_put(t, UA, "old", 1000), 0);
	assert_int_equal(ashandoff_put(t, UA, "new", 2000), 0);
	assert_true(ashandoff_take(t, UA, 2001, flow));
	assert_string_equal(flow, "new");
	assert_false(ashandoff_take(t, UA, 2002, flow));

	assert_int_equal(ashandoff_put(t, UA, "late", 5000), 0);
	assert_false(ashandoff_take(t, UA, 5000 + ASHANDOFF_TTL_MS, flow));
	free(t);
}

static void bad_arguments_are_refused(void **state)
{
	(void)state;
	struct ashandoff *t = calloc(1, sizeof(*t));
	char flow[64];
	char longname[80];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(ashandoff_put(t, "nope", "f", 1), -EINVAL);
	assert_int_equal(ashandoff_put(t, UA, "", 1), -EINVAL);
	assert_int_equal(ashandoff_put(t, UA, NULL, 1), -EINVAL);
	assert_int_equal(ashandoff_put(t, UA, longname, 1), -EINVAL);
	assert_int_equal(ashandoff_put(NULL, UA, "f", 1), -EINVAL);
	assert_false(ashandoff_take(t, "nope", 1, flow));
	free(t);
}

static void a_full_table_drops_the_oldest(void **state)
{
	(void)state;
	struct ashandoff *t = calloc(1, sizeof(*t));
	char uuid[40], flow[64];
	for (unsigned i = 0; i <= ASHANDOFF_MAX; i++) {
		snprintf(uuid, sizeof(uuid), "%032x", i);
		snprintf(flow, sizeof(flow), "f%u", i);
		assert_int_equal(ashandoff_put(t, uuid, flow, 1000 + i), 0);
	}
	snprintf(uuid, sizeof(uuid), "%032x", 0u);
	assert_false(ashandoff_take(t, uuid, 2000, flow));
	snprintf(uuid, sizeof(uuid), "%032x", 1u);
	assert_true(ashandoff_take(t, uuid, 2000, flow));
	assert_string_equal(flow, "f1");
	snprintf(uuid, sizeof(uuid), "%032x", ASHANDOFF_MAX);
	assert_true(ashandoff_take(t, uuid, 2000, flow));
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(uuid_forms_normalise_or_are_refused),
		cmocka_unit_test(a_hand_off_is_taken_once),
		cmocka_unit_test(entries_expire_and_the_same_uuid_is_replaced),
		cmocka_unit_test(bad_arguments_are_refused),
		cmocka_unit_test(a_full_table_drops_the_oldest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
