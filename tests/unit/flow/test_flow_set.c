/* Unit tests for flow sets: built-ins plus a directory, all-or-nothing
 * loading, duplicate names and overriding a built-in. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "flow/flow.h"

struct tmpdir {
	char path[256];
	char files[16][300];
	size_t n;
};

static void write_file(struct tmpdir *d, const char *name, const char *text)
{
	assert_true(d->n < 16);
	char *p = d->files[d->n++];
	/* via a copy: gcc -O2 cannot tell p and d->path apart (-Wrestrict) */
	char dir[sizeof(d->path)];
	memcpy(dir, d->path, sizeof(dir));
	snprintf(p, 300, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	fclose(f);
}

static int setup(void **state)
{
	struct tmpdir *d = calloc(1, sizeof(*d));
	if (!d)
		return -1;
	snprintf(d->path, sizeof(d->path), "/tmp/vg_flowset_XXXXXX");
	if (!mkdtemp(d->path)) {
		free(d);
		return -1;
	}
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct tmpdir *d = *state;
	for (size_t i = 0; i < d->n; i++)
		unlink(d->files[i]);
	rmdir(d->path);
	free(d);
	return 0;
}

static const char *flow_text(const char *name)
{
	static char buf[512];
	snprintf(buf, sizeof(buf),
		 "name: %s\n"
		 "start: hi\n"
		 "nodes:\n"
		 "  hi:\n"
		 "    type: say\n"
		 "    text: Hello from %s.\n"
		 "    next: bye\n"
		 "  bye:\n"
		 "    type: hangup\n",
		 name, name);
	return buf;
}

static void builtins_alone_when_no_directory_is_given(void **state)
{
	(void)state;
	struct flow_set *s = NULL;
	assert_int_equal(flow_set_load(&s, NULL, NULL), 0);
	assert_int_equal(flow_set_count(s), 2);
	struct flow *f = flow_set_find(s, "bank-hotline");
	assert_non_null(f);
	assert_string_equal(flow_file(f), "flows/bank-hotline.yaml");
	f = flow_set_find(s, "bank-crm");
	assert_non_null(f);
	assert_string_equal(flow_file(f), "flows/bank-crm.yaml");
	assert_null(flow_set_find(s, "other"));
	flow_set_destroy(s);
	flow_set_destroy(NULL);
}

static void directory_flows_join_the_builtins_in_name_order(void **state)
{
	struct tmpdir *d = *state;
	write_file(d, "b.yaml", flow_text("beta"));
	write_file(d, "a.yaml", flow_text("alpha"));
	write_file(d, "notes.txt", "not a flow");
	write_file(d, ".hidden.yaml", "broken: [");
	write_file(d, "old.yml", "broken: [");

	struct flow_set *s = NULL;
	struct flow_errors errs = { 0 };
	assert_int_equal(flow_set_load(&s, d->path, &errs), 0);
	assert_int_equal(errs.count, 0);
	assert_int_equal(flow_set_count(s), 4);
	assert_string_equal(flow_name(flow_set_at(s, 0)), "alpha");
	assert_string_equal(flow_name(flow_set_at(s, 1)), "bank-crm");
	assert_string_equal(flow_name(flow_set_at(s, 2)), "bank-hotline");
	assert_string_equal(flow_name(flow_set_at(s, 3)), "beta");
	assert_null(flow_set_at(s, 4));

	char want[400];
	snprintf(want, sizeof(want), "%s/a.yaml", d->path);
	assert_string_equal(flow_file(flow_set_find(s, "alpha")), want);

	/* A reference outlives the set (a call running during reload). */
	struct flow *kept = flow_ref(flow_set_find(s, "beta"));
	flow_set_destroy(s);
	assert_string_equal(flow_name(kept), "beta");
	flow_deref(kept);
}

static void one_bad_file_fails_the_whole_set_with_every_message(void **state)
{
	struct tmpdir *d = *state;
	write_file(d, "a.yaml", flow_text("alpha"));
	write_file(d, "b.yaml",
		   "name: beta\nstart: nowhere\nnodes:\n  a:\n"
		   "    type: hangup\n");
	write_file(d, "c.yaml",
		   "name: gamma\nstart: a\nnodes:\n  a:\n"
		   "    type: hangup\n    why: 1\n");

	struct flow_set *s = (struct flow_set *)0x1;
	struct flow_errors errs = { 0 };
	assert_int_equal(flow_set_load(&s, d->path, &errs), -EBADMSG);
	assert_ptr_equal(s, (struct flow_set *)0x1);
	assert_int_equal(errs.count, 2);
	char want[400];
	snprintf(want, sizeof(want),
		 "%s/b.yaml:2:8: 'start' names no node 'nowhere'", d->path);
	assert_string_equal(errs.msg[0], want);
	snprintf(want, sizeof(want),
		 "%s/c.yaml:6:5: node 'a': unknown field 'why' for a hangup "
		 "node (expected reason)",
		 d->path);
	assert_string_equal(errs.msg[1], want);
}

static void duplicate_flow_names_are_an_error(void **state)
{
	struct tmpdir *d = *state;
	write_file(d, "a.yaml", flow_text("alpha"));
	write_file(d, "z.yaml", flow_text("alpha"));

	struct flow_set *s = NULL;
	struct flow_errors errs = { 0 };
	assert_int_equal(flow_set_load(&s, d->path, &errs), -EBADMSG);
	assert_null(s);
	assert_int_equal(errs.count, 1);
	char want[600];
	snprintf(want, sizeof(want),
		 "%s/z.yaml:1:7: duplicate flow name 'alpha' (also in "
		 "%s/a.yaml:1:7)",
		 d->path, d->path);
	assert_string_equal(errs.msg[0], want);
}

static void a_file_may_replace_the_builtin_of_its_name(void **state)
{
	struct tmpdir *d = *state;
	write_file(d, "mine.yaml", flow_text("bank-hotline"));
	struct flow_set *s = NULL;
	assert_int_equal(flow_set_load(&s, d->path, NULL), 0);
	assert_int_equal(flow_set_count(s), 2); /* + bank-crm */
	char want[400];
	snprintf(want, sizeof(want), "%s/mine.yaml", d->path);
	assert_string_equal(flow_file(flow_set_find(s, "bank-hotline")), want);
	flow_set_destroy(s);
}

static void missing_directory_is_an_error(void **state)
{
	(void)state;
	struct flow_set *s = NULL;
	struct flow_errors errs = { 0 };
	assert_int_equal(flow_set_load(&s, "/nonexistent/flows", &errs),
			 -ENOENT);
	assert_null(s);
	assert_int_equal(errs.count, 1);
	assert_string_equal(errs.msg[0], "/nonexistent/flows: cannot open "
					 "directory: No such file or "
					 "directory");
	assert_int_equal(flow_set_load(NULL, NULL, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(builtins_alone_when_no_directory_is_given),
		cmocka_unit_test_setup_teardown(
			directory_flows_join_the_builtins_in_name_order, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			one_bad_file_fails_the_whole_set_with_every_message,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			duplicate_flow_names_are_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(
			a_file_may_replace_the_builtin_of_its_name, setup,
			teardown),
		cmocka_unit_test(missing_directory_is_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
