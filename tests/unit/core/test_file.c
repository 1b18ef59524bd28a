/* Unit tests for file_read_all(): whole files under a cap, the cap exactly
 * and one byte over, empty files, directories and missing files. */
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

#include "core/file.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/vg_test_file.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *put(const char *name, const char *text, size_t len)
{
	static char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
	return path;
}

static void reads_whole_files_nul_terminated(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	const char *p = put("a", "hello\nworld", 11);
	assert_int_equal(file_read_all(p, 100, &buf, &len), 0);
	assert_int_equal(len, 11);
	assert_string_equal(buf, "hello\nworld");
	free(buf);

	p = put("empty", "", 0);
	assert_int_equal(file_read_all(p, 100, &buf, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	free(buf);
}

static void the_cap_is_inclusive(void **state)
{
	(void)state;
	char *buf = (char *)0x1;
	size_t len = 7;
	const char *p = put("ten", "0123456789", 10);
	assert_int_equal(file_read_all(p, 10, &buf, &len), 0);
	assert_int_equal(len, 10);
	free(buf);
	buf = (char *)0x1;
	assert_int_equal(file_read_all(p, 9, &buf, &len), -E2BIG);
	assert_ptr_equal(buf, (char *)0x1); /* nothing returned */
}

static void directories_and_missing_files_are_errors(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(file_read_all(dir, 100, &buf, &len), -EINVAL);
	char missing[128];
	snprintf(missing, sizeof(missing), "%s/nope", dir);
	assert_int_equal(file_read_all(missing, 100, &buf, &len), -ENOENT);
	assert_int_equal(file_read_all(NULL, 100, &buf, &len), -EINVAL);
	assert_null(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_whole_files_nul_terminated),
		cmocka_unit_test(the_cap_is_inclusive),
		cmocka_unit_test(directories_and_missing_files_are_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
