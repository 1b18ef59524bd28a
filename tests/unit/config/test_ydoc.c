/* Tests for the YAML tree: shape and positions, refusals (anchors, aliases,
 * tags, duplicate keys, several documents), libyaml errors and limits. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/ydoc.h"

static struct ydoc *parse_ok(const char *yaml)
{
	struct ydoc *doc = NULL;
	char err[256] = "";
	int rc = ydoc_parse("t.yaml", yaml, strlen(yaml), &doc, err,
			    sizeof(err));

	if (rc)
		fail_msg("unexpected error %d: %s", rc, err);
	assert_non_null(doc);
	return doc;
}

static void tree_has_types_positions_and_quoting(void **state)
{
	const char *y = "# comment\n"
			"sip:\n"
			"  listen: [\"udp:1.2.3.4:5060\", tcp]\n"
			"  user_agent: 'x y'\n"
			"rtp:\n"
			"  - 1\n"
			"  - {a: b}\n"
			"text: |\n"
			"  hello\n";
	struct ydoc *doc = parse_ok(y);
	const struct ydoc_node *root = ydoc_root(doc);
	const struct ydoc_node *sip, *listen, *item, *rtp, *m;

	assert_string_equal(ydoc_name(doc), "t.yaml");
	assert_int_equal(ydoc_node_type(root), YDOC_MAP);
	assert_int_equal(ydoc_node_count(root), 3);
	assert_string_equal(ydoc_scalar_text(ydoc_map_key(root, 0)), "sip");
	assert_int_equal(ydoc_node_line(ydoc_map_key(root, 0)), 2);
	assert_int_equal(ydoc_node_col(ydoc_map_key(root, 0)), 1);

	sip = ydoc_map_get(root, "sip");
	assert_ptr_equal(sip, ydoc_map_value(root, 0));
	assert_int_equal(ydoc_node_type(sip), YDOC_MAP);
	listen = ydoc_map_get(sip, "listen");
	assert_int_equal(ydoc_node_type(listen), YDOC_SEQ);
	assert_int_equal(ydoc_node_line(listen), 3);
	assert_int_equal(ydoc_node_col(listen), 11);
	assert_int_equal(ydoc_node_count(listen), 2);
	item = ydoc_seq_item(listen, 0);
	assert_string_equal(ydoc_scalar_text(item), "udp:1.2.3.4:5060");
	assert_true(ydoc_scalar_quoted(item));
	assert_int_equal(ydoc_node_col(item), 12);
	item = ydoc_seq_item(listen, 1);
	assert_string_equal(ydoc_scalar_text(item), "tcp");
	assert_false(ydoc_scalar_quoted(item));
	assert_int_equal(ydoc_node_col(item), 32);
	assert_null(ydoc_seq_item(listen, 2));

	item = ydoc_map_get(sip, "user_agent");
	assert_string_equal(ydoc_scalar_text(item), "x y");
	assert_int_equal(ydoc_scalar_len(item), 3);
	assert_true(ydoc_scalar_quoted(item));
	assert_int_equal(ydoc_node_line(item), 4);
	assert_int_equal(ydoc_node_col(item), 15);

	rtp = ydoc_map_get(root, "rtp");
	assert_int_equal(ydoc_node_type(rtp), YDOC_SEQ);
	assert_int_equal(ydoc_node_line(rtp), 6);
	assert_int_equal(ydoc_node_col(rtp), 3);
	m = ydoc_seq_item(rtp, 1);
	assert_int_equal(ydoc_node_type(m), YDOC_MAP);
	assert_string_equal(ydoc_scalar_text(ydoc_map_get(m, "a")), "b");

	item = ydoc_map_get(root, "text");
	assert_string_equal(ydoc_scalar_text(item), "hello\n");
	assert_true(ydoc_scalar_quoted(item));

	ydoc_destroy(doc);
}

static void accessors_refuse_the_wrong_node_type(void **state)
{
	struct ydoc *doc = parse_ok("a: [1]\nb: x\n");
	const struct ydoc_node *root = ydoc_root(doc);
	const struct ydoc_node *seq = ydoc_map_get(root, "a");
	const struct ydoc_node *sc = ydoc_map_get(root, "b");

	assert_null(ydoc_map_get(root, "missing"));
	assert_null(ydoc_map_get(seq, "a"));
	assert_null(ydoc_map_get(NULL, "a"));
	assert_null(ydoc_map_key(seq, 0));
	assert_null(ydoc_map_value(root, 2));
	assert_null(ydoc_seq_item(root, 0));
	assert_null(ydoc_seq_item(sc, 0));
	assert_null(ydoc_scalar_text(seq));
	assert_int_equal(ydoc_scalar_len(seq), 0);
	assert_false(ydoc_scalar_quoted(seq));
	assert_int_equal(ydoc_node_count(sc), 0);
	assert_int_equal(ydoc_node_count(seq), 1);
	assert_string_equal(ydoc_type_name(YDOC_MAP), "map");
	assert_string_equal(ydoc_type_name(YDOC_SEQ), "list");
	assert_string_equal(ydoc_type_name(YDOC_SCALAR), "scalar");
	ydoc_destroy(doc);
}

static void empty_stream_has_no_root(void **state)
{
	static const char *const inputs[] = { "", "\n\n",
					      "# only a comment\n" };

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct ydoc *doc = parse_ok(inputs[i]);

		assert_null(ydoc_root(doc));
		ydoc_destroy(doc);
	}
}

static void plain_nulls_are_recognised_but_quoted_ones_are_strings(void **state)
{
	struct ydoc *doc =
		parse_ok("a:\nb: ~\nc: null\nd: NULL\ne: \"\"\nf: 'null'\n"
			 "g: nul\nh: Null\n");
	const struct ydoc_node *r = ydoc_root(doc);

	assert_true(ydoc_scalar_is_null(ydoc_map_get(r, "a")));
	assert_true(ydoc_scalar_is_null(ydoc_map_get(r, "b")));
	assert_true(ydoc_scalar_is_null(ydoc_map_get(r, "c")));
	assert_true(ydoc_scalar_is_null(ydoc_map_get(r, "d")));
	assert_false(ydoc_scalar_is_null(ydoc_map_get(r, "e")));
	assert_false(ydoc_scalar_is_null(ydoc_map_get(r, "f")));
	assert_false(ydoc_scalar_is_null(ydoc_map_get(r, "g")));
	assert_true(ydoc_scalar_is_null(ydoc_map_get(r, "h")));
	assert_false(ydoc_scalar_is_null(r));
	ydoc_destroy(doc);
}

static void embedded_nul_keeps_its_length(void **state)
{
	struct ydoc *doc = parse_ok("a: \"x\\0y\"\n");
	const struct ydoc_node *v = ydoc_map_get(ydoc_root(doc), "a");

	assert_int_equal(ydoc_scalar_len(v), 3);
	assert_int_equal(strlen(ydoc_scalar_text(v)), 1);
	ydoc_destroy(doc);
}

static void byte_order_mark_does_not_shift_columns(void **state)
{
	struct ydoc *doc = parse_ok("\xef\xbb\xbf"
				    "a: 1\n");
	const struct ydoc_node *k = ydoc_map_key(ydoc_root(doc), 0);

	assert_int_equal(ydoc_node_line(k), 1);
	assert_int_equal(ydoc_node_col(k), 1);
	ydoc_destroy(doc);
}

struct bad_case {
	const char *what;
	const char *yaml;
	int rc;
	const char *err;
};

static const struct bad_case bad_cases[] = {
	{ "tab indentation", "sip:\n\tlisten: x\n", -EBADMSG,
	  "t.yaml:2:1: found character that cannot start any token (tabs are "
	  "not allowed for indentation)" },
	{ "tab after spaces", "sip:\n  a: 1\n \tb: 2\n", -EBADMSG,
	  "t.yaml:3:2: found a tab character that violates indentation (tabs "
	  "are not allowed for indentation)" },
	{ "unclosed flow sequence", "a: 1\nb: [1, 2\n", -EBADMSG,
	  "t.yaml:3:1: did not find expected ',' or ']' (while parsing a flow "
	  "sequence at line 2, column 4)" },
	{ "mapping in a plain value", "a: b: c\n", -EBADMSG,
	  "t.yaml:1:5: mapping values are not allowed in this context" },
	{ "unterminated quote", "x: \"abc\n", -EBADMSG,
	  "t.yaml:2:1: found unexpected end of stream (while scanning a quoted "
	  "scalar at line 1, column 4)" },
	{ "anchor", "a: &base 1\nb: 2\n", -EBADMSG,
	  "t.yaml:1:4: anchor '&base' is not allowed (anchors and aliases are "
	  "not supported)" },
	{ "anchor on a map", "a: &m {x: 1}\n", -EBADMSG,
	  "t.yaml:1:4: anchor '&m' is not allowed (anchors and aliases are not "
	  "supported)" },
	/* The alias cannot be reached without an anchor, which is refused
	 * first; a bare alias to an unknown anchor is still an alias. */
	{ "alias", "a: *base\n", -EBADMSG,
	  "t.yaml:1:4: alias '*base' is not allowed (anchors and aliases are "
	  "not supported)" },
	{ "core tag", "a: !!str 1\n", -EBADMSG,
	  "t.yaml:1:4: tag '!!str' is not allowed (tags are not supported)" },
	{ "local tag", "a: !secret x\n", -EBADMSG,
	  "t.yaml:1:4: tag '!secret' is not allowed (tags are not supported)" },
	{ "duplicate key", "a: 1\nb: 2\na: 3\n", -EBADMSG,
	  "t.yaml:3:1: duplicate key 'a' (first defined at line 1, column 1)" },
	{ "duplicate key quoted and plain", "sip:\n  \"x\": 1\n  x: 2\n",
	  -EBADMSG,
	  "t.yaml:3:3: duplicate key 'x' (first defined at line 2, column 3)" },
	{ "earliest repeat wins", "b: 1\na: 1\na: 2\nb: 2\nb: 3\n", -EBADMSG,
	  "t.yaml:3:1: duplicate key 'a' (first defined at line 2, column 1)" },
	{ "duplicate key in flow map", "m: {k: 1, k: 2}\n", -EBADMSG,
	  "t.yaml:1:11: duplicate key 'k' (first defined at line 1, column "
	  "5)" },
	{ "second document", "a: 1\n---\nb: 2\n", -EBADMSG,
	  "t.yaml:2:1: a second document is not allowed (one document per "
	  "file)" },
	{ "list as key", "? [a]\n: 1\n", -EBADMSG,
	  "t.yaml:1:3: a map key must be a plain value, not a list" },
	{ "control character", "a: \x01\n", -EBADMSG,
	  "t.yaml:1:4: control characters are not allowed" },
	{ "invalid utf-8", "a: 1\nb: \xff\n", -EBADMSG,
	  "t.yaml:2:4: invalid leading UTF-8 octet" },
};

static void bad_documents_give_one_positioned_error(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct ydoc *doc = (struct ydoc *)0x1;
		char err[256];
		int rc = ydoc_parse("t.yaml", c->yaml, strlen(c->yaml), &doc,
				    err, sizeof(err));

		if (rc != c->rc || strcmp(err, c->err))
			fail_msg("%s: got %d '%s', want %d '%s'", c->what, rc,
				 err, c->rc, c->err);
		/* Out-parameter untouched on failure. */
		assert_ptr_equal(doc, (struct ydoc *)0x1);
	}
}

static void duplicate_in_a_large_map_is_found(void **state)
{
	size_t cap = 5000 * 16, o = 0;
	char *y = malloc(cap);
	struct ydoc *doc = NULL;
	char err[256];

	assert_non_null(y);
	for (int i = 0; i < 5000; i++)
		o += (size_t)snprintf(y + o, cap - o, "k%d: %d\n", i, i);
	o += (size_t)snprintf(y + o, cap - o, "k4321: x\n");
	assert_int_equal(ydoc_parse("t.yaml", y, o, &doc, err, sizeof(err)),
			 -EBADMSG);
	assert_string_equal(err, "t.yaml:5001:1: duplicate key 'k4321' (first "
				 "defined at line 4322, column 1)");
	/* Without the repeat the same map is fine. */
	o -= strlen("k4321: x\n");
	assert_int_equal(ydoc_parse("t.yaml", y, o, &doc, err, sizeof(err)), 0);
	assert_int_equal(ydoc_node_count(ydoc_root(doc)), 5000);
	ydoc_destroy(doc);
	free(y);
}

static void limits_are_enforced_with_clear_errors(void **state)
{
	struct ydoc_limits lim = { .max_depth = 3 };
	struct ydoc *doc = NULL;
	char err[256];
	const char *deep = "a: [[[1]]]\n";
	const char *ok = "a: [[1]]\n";

	assert_int_equal(ydoc_parse_limits("t.yaml", deep, strlen(deep), &lim,
					   &doc, err, sizeof(err)),
			 -E2BIG);
	assert_string_equal(err, "t.yaml:1:6: nesting is deeper than 3 levels");
	assert_int_equal(ydoc_parse_limits("t.yaml", ok, strlen(ok), &lim, &doc,
					   err, sizeof(err)),
			 0);
	ydoc_destroy(doc);

	lim = (struct ydoc_limits){ .max_nodes = 4 };
	assert_int_equal(ydoc_parse_limits("t.yaml", "[1, 2, 3, 4]", 12, &lim,
					   &doc, err, sizeof(err)),
			 -E2BIG);
	assert_string_equal(err, "t.yaml:1:11: document has more than 4 nodes");

	lim = (struct ydoc_limits){ .max_scalar_len = 5 };
	assert_int_equal(ydoc_parse_limits("t.yaml", "a: 12345\nb: 123456\n",
					   19, &lim, &doc, err, sizeof(err)),
			 -E2BIG);
	assert_string_equal(
		err, "t.yaml:2:4: value is 6 bytes long, the limit is 5");

	lim = (struct ydoc_limits){ .max_bytes = 8 };
	assert_int_equal(ydoc_parse_limits("t.yaml", "a: 123456\n", 10, &lim,
					   &doc, err, sizeof(err)),
			 -E2BIG);
	assert_string_equal(err,
			    "t.yaml: document is 10 bytes, the limit is 8");
}

static void default_depth_limit_stops_deep_nesting(void **state)
{
	char y[200];
	struct ydoc *doc = NULL;
	char err[256];

	memset(y, '[', 100);
	memset(y + 100, ']', 100);
	assert_int_equal(
		ydoc_parse("t.yaml", y, sizeof(y), &doc, err, sizeof(err)),
		-E2BIG);
	assert_string_equal(err,
			    "t.yaml:1:33: nesting is deeper than 32 levels");
}

static void excerpt_cuts_long_and_cleans_control_bytes(void **state)
{
	struct ydoc *doc =
		parse_ok("a: \"0123456789012345678901234567890123456789XYZ\"\n"
			 "b: \"t\\tab\"\n"
			 "c: \"\xc3\xa9t\xc3\xa9\"\n"
			 "d: [1]\n");
	const struct ydoc_node *r = ydoc_root(doc);
	char buf[128], tiny[8];

	assert_string_equal(
		ydoc_node_excerpt(ydoc_map_get(r, "a"), buf, sizeof(buf)),
		"0123456789012345678901234567890123456789...");
	assert_string_equal(
		ydoc_node_excerpt(ydoc_map_get(r, "b"), buf, sizeof(buf)),
		"t?ab");
	assert_string_equal(
		ydoc_node_excerpt(ydoc_map_get(r, "c"), buf, sizeof(buf)),
		"\xc3\xa9t\xc3\xa9");
	assert_string_equal(
		ydoc_node_excerpt(ydoc_map_get(r, "d"), buf, sizeof(buf)),
		"a list");
	assert_string_equal(ydoc_node_excerpt(r, buf, sizeof(buf)), "a map");
	/* A small buffer still ends in "..." and never splits a character. */
	assert_string_equal(
		ydoc_node_excerpt(ydoc_map_get(r, "a"), tiny, sizeof(tiny)),
		"0123...");
	ydoc_destroy(doc);
}

static void bad_arguments_and_null_destroy(void **state)
{
	struct ydoc *doc = NULL;
	char err[64];

	ydoc_destroy(NULL);
	assert_int_equal(ydoc_parse("t", "a", 1, NULL, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(ydoc_parse("t", NULL, 3, &doc, err, sizeof(err)),
			 -EINVAL);
	assert_null(doc);
	/* No error buffer is fine. */
	assert_int_equal(ydoc_parse("t", "a: [", 4, &doc, NULL, 0), -EBADMSG);
	assert_null(doc);
	assert_null(ydoc_root(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tree_has_types_positions_and_quoting),
		cmocka_unit_test(accessors_refuse_the_wrong_node_type),
		cmocka_unit_test(empty_stream_has_no_root),
		cmocka_unit_test(
			plain_nulls_are_recognised_but_quoted_ones_are_strings),
		cmocka_unit_test(embedded_nul_keeps_its_length),
		cmocka_unit_test(byte_order_mark_does_not_shift_columns),
		cmocka_unit_test(bad_documents_give_one_positioned_error),
		cmocka_unit_test(duplicate_in_a_large_map_is_found),
		cmocka_unit_test(limits_are_enforced_with_clear_errors),
		cmocka_unit_test(default_depth_limit_stops_deep_nesting),
		cmocka_unit_test(excerpt_cuts_long_and_cleans_control_bytes),
		cmocka_unit_test(bad_arguments_and_null_destroy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
