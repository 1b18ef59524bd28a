/* The daemon's flow set imports foreign flows from the flows directory in
 * memory: a Connect *.json, a Genesys *.js and an Archy *.yaml load beside
 * plain voxgate flows; an unsupported item fails the set (strict), with
 * the source position. */
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
	char dir[sizeof(d->path)];
	memcpy(dir, d->path, sizeof(dir));
	snprintf(p, 300, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	fclose(f);
}

static char *read_data(const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/tests/data/import/%s", VG_SOURCE_DIR,
		 name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* A new string: s with every what replaced by with. */
static char *replace(char *s, const char *what, const char *with)
{
	size_t k = strlen(what), w = strlen(with);
	char *out = calloc(1, strlen(s) * 2 + 1);
	assert_non_null(out);
	char *o = out;
	for (const char *p = s; *p;) {
		if (!strncmp(p, what, k)) {
			strcpy(o, with);
			o += w;
			p += k;
		} else {
			*o++ = *p++;
		}
	}
	free(s);
	return out;
}

static int setup(void **state)
{
	struct tmpdir *d = calloc(1, sizeof(*d));
	if (!d)
		return -1;
	snprintf(d->path, sizeof(d->path), "/tmp/vg_importset_XXXXXX");
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

static void foreign_flows_load_beside_yaml_flows(void **state)
{
	struct tmpdir *d = *state;
	char *c = read_data("seed_connect.json");
	char *g = read_data("seed_genesys.js");
	char *a = read_data("archy_all.yaml");
	write_file(d, "connect.json", c);
	write_file(d, "genesys.js", g);
	/* The Archy flow without its placeholders (no --values here). */
	a = replace(a, "{{company}}", "Example");
	a = replace(a, "{{queue}}", "Support");
	write_file(d, "archy.yaml", a);
	write_file(d, "plain.yaml",
		   "name: plain\nstart: a\nnodes:\n  a:\n    type: hangup\n");
	free(c);
	free(g);
	free(a);

	struct flow_set *s = NULL;
	struct flow_errors errs = { 0 };
	int rc = flow_set_load(&s, d->path, &errs);
	for (size_t i = 0; i < errs.count; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	assert_int_equal(rc, 0);
	assert_int_equal(flow_set_count(s), 6); /* + the 2 built-ins */
	assert_non_null(flow_set_find(s, "connect"));
	assert_non_null(flow_set_find(s, "AI-Powered_Customer_Service"));
	assert_non_null(flow_set_find(s, "Archy_All"));
	assert_non_null(flow_set_find(s, "plain"));
	assert_non_null(flow_set_find(s, "bank-hotline"));
	char want[400];
	snprintf(want, sizeof(want), "%s/connect.json (imported)", d->path);
	assert_string_equal(flow_file(flow_set_find(s, "connect")), want);
	flow_set_destroy(s);
}

static void an_unsupported_item_fails_the_set(void **state)
{
	struct tmpdir *d = *state;
	write_file(d, "ok.yaml",
		   "name: ok\nstart: a\nnodes:\n  a:\n    type: hangup\n");
	write_file(d, "bad.json",
		   "{\"StartAction\": \"a\", \"Actions\": [\n"
		   "  {\"Identifier\": \"a\", \"Type\": \"InvokeFlowModule\",\n"
		   "   \"Parameters\": {}, \"Transitions\": {}}]}\n");
	struct flow_set *s = (struct flow_set *)0x1;
	struct flow_errors errs = { 0 };
	assert_int_equal(flow_set_load(&s, d->path, &errs), -EBADMSG);
	assert_ptr_equal(s, (struct flow_set *)0x1);
	assert_int_equal(errs.count, 1);
	char want[400];
	snprintf(want, sizeof(want),
		 "%s/bad.json:2:31: unsupported Connect action type "
		 "'InvokeFlowModule' (action 'a')",
		 d->path);
	assert_string_equal(errs.msg[0], want);
}

static void unrelated_json_is_reported_not_skipped(void **state)
{
	struct tmpdir *d = *state;
	write_file(d, "package.json", "{\"name\": \"x\"}\n");
	struct flow_set *s = NULL;
	struct flow_errors errs = { 0 };
	assert_int_equal(flow_set_load(&s, d->path, &errs), -EBADMSG);
	assert_int_equal(errs.count, 1);
	assert_non_null(strstr(errs.msg[0], "package.json:1:1: not an "
					    "Amazon Connect flow"));
}

/* FLOW.values.yaml and FLOW.intents.yaml beside an imported flow are its
 * --values and --intents; they are not flows themselves. */
static void side_files_are_the_values_and_intents(void **state)
{
	struct tmpdir *d = *state;
	char *c = read_data("seed_connect.json");
	write_file(d, "connect.json", c);
	free(c);
	write_file(d, "connect.values.yaml",
		   "\"arn:aws:lambda:us-east-1:123456789012:function:"
		   "process-intent\": \"http://127.0.0.1:9/x\"\n");
	write_file(d, "connect.intents.yaml",
		   "lost_card: [i lost my card, my card was stolen]\n"
		   "balance: [what is my balance, how much money do i have]\n");
	struct flow_set *s = NULL;
	struct flow_errors errs = { 0 };
	int rc = flow_set_load(&s, d->path, &errs);
	for (size_t i = 0; i < errs.count; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	assert_int_equal(rc, 0);
	assert_int_equal(flow_set_count(s), 3); /* + the 2 built-ins */
	assert_non_null(flow_set_find(s, "connect"));
	flow_set_destroy(s);

	/* A bad values file fails the flow, named in the message. */
	write_file(d, "connect.values.yaml", "- not\n- a map\n");
	s = NULL;
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(flow_set_load(&s, d->path, &errs), -EBADMSG);
	assert_null(s);
	assert_true(errs.count >= 1);
	assert_non_null(strstr(errs.msg[0], "connect.values.yaml"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			foreign_flows_load_beside_yaml_flows, setup, teardown),
		cmocka_unit_test_setup_teardown(
			an_unsupported_item_fails_the_set, setup, teardown),
		cmocka_unit_test_setup_teardown(
			unrelated_json_is_reported_not_skipped, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			side_files_are_the_values_and_intents, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
