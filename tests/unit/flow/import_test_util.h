/* Shared helpers of the importer tests (test_import_*.c): import a text
 * with FROM (enum flow_import_from) under the label FILE_LABEL, both
 * defined by the including file, and check the YAML and the messages.
 * Header-only (static functions). */
#ifndef VG_TEST_IMPORT_TEST_UTIL_H
#define VG_TEST_IMPORT_TEST_UTIL_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/strbuf.h"
#include "flow/flow.h"
#include "flow/import.h"

#if !defined(FROM) || !defined(FILE_LABEL)
#error "define FROM and FILE_LABEL before including import_test_util.h"
#endif

static char *read_data(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/tests/data/import/%s", VG_SOURCE_DIR,
		 name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *buf = malloc(1 << 20);
	assert_non_null(buf);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

struct out {
	struct strbuf yaml;
	struct flow_errors errs;
	int rc;
};

static struct out *import_text(const char *text, size_t len,
			       const struct flow_import_opts *o)
{
	struct out *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	strbuf_init(&r->yaml, FLOW_MAX_FILE_BYTES);
	r->rc = flow_import(FROM, FILE_LABEL, text, len, o, &r->yaml, &r->errs);
	return r;
}

static struct out *import_str(const char *text)
{
	return import_text(text, strlen(text), NULL);
}

static void out_free(struct out *r)
{
	strbuf_fini(&r->yaml);
	free(r);
}

static const char *yaml(const struct out *r)
{
	return strbuf_str(&r->yaml);
}

/* The imported YAML loads as a flow. */
static void assert_loads(const struct out *r)
{
	struct flow *f = NULL;
	struct flow_errors errs = { 0 };
	int rc = flow_load_buf("t.yaml", yaml(r), r->yaml.len, &f, &errs);
	if (rc) {
		for (size_t i = 0; i < errs.count; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		fprintf(stderr, "%s", yaml(r));
	}
	assert_int_equal(rc, 0);
	flow_deref(f);
}

static void assert_has(const struct out *r, const char *s)
{
	if (!strstr(yaml(r), s))
		fprintf(stderr, "missing: %s\nin:\n%s", s, yaml(r));
	assert_non_null(strstr(yaml(r), s));
}

static void assert_error(const struct out *r, const char *msg)
{
	for (size_t i = 0; i < r->errs.count; i++) {
		if (strstr(r->errs.msg[i], msg))
			return;
	}
	for (size_t i = 0; i < r->errs.count; i++)
		fprintf(stderr, "got: %s\n", r->errs.msg[i]);
	fail_msg("no error containing '%s'", msg);
}

#endif
