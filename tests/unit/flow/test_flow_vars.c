/* Unit tests for a call's flow variables: names, bounds, UTF-8 cuts,
 * prefix resets and ordered visits. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flow/vars.h"

static void set_get_and_overwrite(void **state)
{
	struct flow_vars *v = NULL;
	(void)state;
	assert_int_equal(flow_vars_create(&v), 0);
	assert_null(flow_vars_get(v, "a"));
	assert_int_equal(flow_vars_set(v, "a", "1"), 0);
	assert_int_equal(flow_vars_set(v, "customer.first_name", "Ann"), 0);
	assert_int_equal(flow_vars_set(v, "a", "two"), 0);
	assert_string_equal(flow_vars_get(v, "a"), "two");
	assert_string_equal(flow_vars_get(v, "customer.first_name"), "Ann");
	assert_int_equal(flow_vars_set(v, "empty", NULL), 0);
	assert_string_equal(flow_vars_get(v, "empty"), "");
	assert_int_equal(flow_vars_setn(v, "n", "abcdef", 3), 0);
	assert_string_equal(flow_vars_get(v, "n"), "abc");
	assert_int_equal(flow_vars_count(v), 4);
	flow_vars_destroy(v);
	flow_vars_destroy(NULL);
}

static void bad_names_are_refused(void **state)
{
	static const char *const bad[] = {
		"", ".a", "a.", "a..b", "1a", "a-b", "a b", "é", "a.0x",
	};
	static const char *const good[] = {
		"a", "_x", "accounts.0.balance", "a.b.c", "A9_", "0",
	};
	char longname[200];
	struct flow_vars *v = NULL;
	(void)state;
	assert_int_equal(flow_vars_create(&v), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(flow_vars_set(v, bad[i], "x"), -EINVAL);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(flow_vars_set(v, good[i], "x"), 0);
	memset(longname, 'a', sizeof(longname));
	longname[128] = '\0';
	assert_int_equal(flow_vars_set(v, longname, "x"), 0);
	longname[128] = 'a';
	longname[129] = '\0';
	assert_int_equal(flow_vars_set(v, longname, "x"), -EINVAL);
	assert_int_equal(flow_vars_set(NULL, "a", "x"), -EINVAL);
	flow_vars_destroy(v);
}

static void long_values_are_cut_on_a_utf8_boundary(void **state)
{
	char *big = malloc(FLOW_VAR_VALUE_MAX + 10);
	struct flow_vars *v = NULL;
	(void)state;
	assert_non_null(big);
	assert_int_equal(flow_vars_create(&v), 0);
	/* 4095 'a' then a 2-byte "é" straddling the 4096 limit. */
	memset(big, 'a', FLOW_VAR_VALUE_MAX - 1);
	memcpy(big + FLOW_VAR_VALUE_MAX - 1, "\xc3\xa9zz", 5);
	assert_int_equal(flow_vars_set(v, "big", big), 0);
	assert_int_equal(strlen(flow_vars_get(v, "big")),
			 FLOW_VAR_VALUE_MAX - 1);
	/* exactly the cap with a complete sequence at its end is kept */
	memset(big, 'a', FLOW_VAR_VALUE_MAX - 2);
	memcpy(big + FLOW_VAR_VALUE_MAX - 2, "\xc3\xa9zz", 5);
	assert_int_equal(flow_vars_set(v, "big", big), 0);
	assert_int_equal(strlen(flow_vars_get(v, "big")), FLOW_VAR_VALUE_MAX);
	flow_vars_destroy(v);
	free(big);
}

static void at_most_512_variables(void **state)
{
	struct flow_vars *v = NULL;
	char name[32];
	(void)state;
	assert_int_equal(flow_vars_create(&v), 0);
	for (int i = 0; i < FLOW_VARS_MAX; i++) {
		snprintf(name, sizeof(name), "v%d", i);
		assert_int_equal(flow_vars_set(v, name, "x"), 0);
	}
	assert_int_equal(flow_vars_set(v, "one_more", "x"), -ENOSPC);
	/* existing names can still change */
	assert_int_equal(flow_vars_set(v, "v7", "y"), 0);
	assert_string_equal(flow_vars_get(v, "v7"), "y");
	assert_int_equal(flow_vars_count(v), FLOW_VARS_MAX);
	flow_vars_destroy(v);
}

static int collect(const char *name, const char *value, void *arg)
{
	char *out = arg;
	size_t n = strlen(out);
	snprintf(out + n, 256 - n, "%s=%s;", name, value);
	return strcmp(name, "stop") ? 0 : 42;
}

static void prefix_reset_and_ordered_visit(void **state)
{
	struct flow_vars *v = NULL;
	char out[256] = "";
	(void)state;
	assert_int_equal(flow_vars_create(&v), 0);
	assert_int_equal(flow_vars_set(v, "customer", "x"), 0);
	assert_int_equal(flow_vars_set(v, "customer.id", "7"), 0);
	assert_int_equal(flow_vars_set(v, "customer.a.b", "8"), 0);
	assert_int_equal(flow_vars_set(v, "customers", "keep"), 0);
	assert_int_equal(flow_vars_set(v, "b", "2"), 0);
	flow_vars_unset_prefix(v, "customer");
	assert_null(flow_vars_get(v, "customer"));
	assert_null(flow_vars_get(v, "customer.id"));
	assert_null(flow_vars_get(v, "customer.a.b"));
	assert_string_equal(flow_vars_get(v, "customers"), "keep");
	assert_int_equal(flow_vars_set(v, "a", "1"), 0);
	assert_int_equal(flow_vars_foreach(v, collect, out), 0);
	assert_string_equal(out, "a=1;b=2;customers=keep;");
	assert_int_equal(flow_vars_set(v, "stop", ""), 0);
	out[0] = '\0';
	assert_int_equal(flow_vars_foreach(v, collect, out), 42);
	assert_string_equal(out, "a=1;b=2;customers=keep;stop=;");
	flow_vars_destroy(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(set_get_and_overwrite),
		cmocka_unit_test(bad_names_are_refused),
		cmocka_unit_test(long_values_are_cut_on_a_utf8_boundary),
		cmocka_unit_test(at_most_512_variables),
		cmocka_unit_test(prefix_reset_and_ordered_visit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
