/* Unit tests for flow templates: compile (segments, errors with offsets),
 * variable names, and rendering with filters and contexts. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/strbuf.h"
#include "flow/tmpl.h"
#include "flow/vars.h"

static struct flow_tmpl *compile_ok(const char *s)
{
	struct flow_tmpl *t = NULL;
	char err[128] = "";
	size_t off = 99;
	assert_int_equal(
		flow_tmpl_compile(s, strlen(s), &t, &off, err, sizeof(err)), 0);
	assert_non_null(t);
	return t;
}

static void compile_bad(const char *s, size_t want_off, const char *want)
{
	struct flow_tmpl *t = (struct flow_tmpl *)0x1;
	char err[128] = "";
	size_t off = 999;
	assert_int_equal(
		flow_tmpl_compile(s, strlen(s), &t, &off, err, sizeof(err)),
		-EINVAL);
	assert_ptr_equal(t, (struct flow_tmpl *)0x1);
	assert_int_equal(off, want_off);
	assert_string_equal(err, want);
}

static void literal_text_has_no_variables(void **state)
{
	(void)state;
	struct flow_tmpl *t = compile_ok("Hello, caller. } { }}");
	assert_true(flow_tmpl_is_literal(t));
	assert_string_equal(flow_tmpl_literal(t), "Hello, caller. } { }}");
	assert_int_equal(flow_tmpl_nvars(t), 0);
	flow_tmpl_free(t);

	t = compile_ok("");
	assert_true(flow_tmpl_is_literal(t));
	assert_string_equal(flow_tmpl_literal(t), "");
	flow_tmpl_free(t);
}

static void variables_are_listed_with_their_offsets(void **state)
{
	(void)state;
	const char *src = "Hi {{customer.first_name}}, card {{ card.0.last4 "
			  "| digits }}.";
	struct flow_tmpl *t = compile_ok(src);
	assert_false(flow_tmpl_is_literal(t));
	assert_null(flow_tmpl_literal(t));
	assert_string_equal(flow_tmpl_source(t), src);
	assert_int_equal(flow_tmpl_nvars(t), 2);
	size_t off = 0;
	assert_string_equal(flow_tmpl_var(t, 0, &off), "customer.first_name");
	assert_int_equal(off, 3);
	assert_string_equal(flow_tmpl_var(t, 1, &off), "card.0.last4");
	assert_int_equal(off, 33);
	assert_null(flow_tmpl_var(t, 2, &off));
	flow_tmpl_free(t);
}

static void bad_templates_report_the_offset_of_their_braces(void **state)
{
	(void)state;
	compile_bad("Hello {{name", 6, "unclosed '{{'");
	compile_bad("a {{x}} b {{ y", 10, "unclosed '{{'");
	compile_bad("{{ a {{ b }}", 0, "unclosed '{{'");
	compile_bad("x {{}}", 2, "empty variable name in '{{ }}'");
	compile_bad("x {{   }}", 2, "empty variable name in '{{ }}'");
	compile_bad("{{a..b}}", 0, "bad variable name 'a..b'");
	compile_bad("{{ 9lives }}", 0, "bad variable name '9lives'");
	compile_bad("{{ a-b }}", 0, "bad variable name 'a-b'");
	compile_bad("ok {{ x | shout }}", 3,
		    "unknown filter 'shout' (expected digits, upper, lower, "
		    "json or url)");
	compile_bad("{{ x | }}", 0, "empty filter after '|'");
	compile_bad("{{ x | upper | lower }}", 0,
		    "unknown filter 'upper | lower' (expected digits, upper, "
		    "lower, json or url)");
	/* A variable inside a literal "{" of UTF-8 text. */
	compile_bad("é {{ é }}", 3, "bad variable name 'é'");
}

static void variable_names_follow_the_rules(void **state)
{
	(void)state;
	static const char *const good[] = { "a", "_x", "call.id",
					    "accounts.0.balance", "A9_b.c" };
	static const char *const bad[] = { "",	 ".a",	"a.",  "a..b",
					   "9a", "a b", "a-b", "a.9b" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(flow_var_name_valid(good[i], strlen(good[i])));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(flow_var_name_valid(bad[i], strlen(bad[i])));
	char longname[FLOW_VAR_NAME_MAX + 2];
	memset(longname, 'a', sizeof(longname));
	assert_true(flow_var_name_valid(longname, FLOW_VAR_NAME_MAX));
	assert_false(flow_var_name_valid(longname, FLOW_VAR_NAME_MAX + 1));
}

struct env {
	struct flow_vars *v;
	struct strbuf out;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	assert_int_equal(flow_vars_create(&e->v), 0);
	strbuf_init(&e->out, 4096);
	flow_vars_set(e->v, "name", "Ana María");
	flow_vars_set(e->v, "acct", "4111 22");
	flow_vars_set(e->v, "q", "a b&c=d/é");
	flow_vars_set(e->v, "evil", "x\r\nSet-Cookie: y");
	flow_vars_set(e->v, "quote", "say \"hi\"\\\n\t\x01");
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	flow_vars_destroy(e->v);
	strbuf_fini(&e->out);
	free(e);
	return 0;
}

static const char *render(struct env *e, const char *src,
			  enum flow_tmpl_ctx ctx)
{
	struct flow_tmpl *t = compile_ok(src);
	e->out.len = 0;
	if (e->out.buf)
		e->out.buf[0] = '\0';
	assert_int_equal(flow_tmpl_render(t, ctx, e->v, &e->out), 0);
	flow_tmpl_free(t);
	return strbuf_str(&e->out);
}

static void render_substitutes_and_filters(void **state)
{
	struct env *e = *state;
	assert_string_equal(render(e, "Hi {{name}}!", TMPL_CTX_TEXT),
			    "Hi Ana María!");
	assert_string_equal(render(e, "{{ unset }}|", TMPL_CTX_TEXT), "|");
	assert_string_equal(render(e, "{{acct|digits}}", TMPL_CTX_TEXT),
			    "4 1 1 1 2 2");
	assert_string_equal(render(e, "{{name|digits}}", TMPL_CTX_TEXT),
			    "A n a M a r í a");
	assert_string_equal(render(e, "{{ name | upper }}", TMPL_CTX_TEXT),
			    "ANA MARíA");
	assert_string_equal(render(e, "{{name|lower}}", TMPL_CTX_TEXT),
			    "ana maría");
	assert_string_equal(render(e, "{{quote|json}}", TMPL_CTX_TEXT),
			    "say \\\"hi\\\"\\\\\\n\\t\\u0001");
	assert_string_equal(render(e, "{{q|url}}", TMPL_CTX_TEXT),
			    "a%20b%26c%3Dd%2F%C3%A9");
}

static void render_escapes_values_for_their_context(void **state)
{
	struct env *e = *state;
	/* Literals are kept; values are encoded once. */
	assert_string_equal(render(e, "https://x/s?q={{q}}&n=1", TMPL_CTX_URL),
			    "https://x/s?q=a%20b%26c%3Dd%2F%C3%A9&n=1");
	assert_string_equal(render(e, "https://x/{{q|url}}", TMPL_CTX_URL),
			    "https://x/a%20b%26c%3Dd%2F%C3%A9");
	assert_string_equal(render(e, "{{name|upper}}", TMPL_CTX_URL),
			    "ANA%20MAR%C3%ADA");
	assert_string_equal(render(e, "v={{evil}}\r\n", TMPL_CTX_HEADER),
			    "v=xSet-Cookie: y\r\n");
	assert_string_equal(render(e, "{{quote}}", TMPL_CTX_JSON),
			    "say \\\"hi\\\"\\\\\\n\\t\\u0001");
	assert_string_equal(render(e, "{{quote|json}}", TMPL_CTX_JSON),
			    "say \\\"hi\\\"\\\\\\n\\t\\u0001");
	assert_string_equal(render(e, "{{name}}", TMPL_CTX_JSON), "Ana María");
}

static void render_invalid_utf8_to_json_is_replaced(void **state)
{
	struct env *e = *state;
	flow_vars_set(e->v, "bad",
		      "a\xff"
		      "b");
	assert_string_equal(render(e, "{{bad}}", TMPL_CTX_JSON), "a\\ufffdb");
}

static void render_stops_at_the_buffer_cap(void **state)
{
	struct env *e = *state;
	struct flow_tmpl *t = compile_ok("{{name}} and {{name}}");
	struct strbuf small;
	strbuf_init(&small, 10);
	assert_int_equal(flow_tmpl_render(t, TMPL_CTX_TEXT, e->v, &small),
			 -E2BIG);
	strbuf_fini(&small);
	strbuf_init(&small, 10);
	flow_tmpl_free(t);
	t = compile_ok("{{acct|digits}}");
	assert_int_equal(flow_tmpl_render(t, TMPL_CTX_TEXT, e->v, &small),
			 -E2BIG);
	strbuf_fini(&small);
	flow_tmpl_free(t);
}

static void literals_keep_embedded_nul_bytes(void **state)
{
	struct env *e = *state;
	/* Found by fuzz_tmpl: a literal with a NUL was copied short and then
	 * read at its full length. */
	static const char src[] = "a\0b {{name}}";
	struct flow_tmpl *t = NULL;
	assert_int_equal(
		flow_tmpl_compile(src, sizeof(src) - 1, &t, NULL, NULL, 0), 0);
	struct strbuf out;
	strbuf_init(&out, 64);
	assert_int_equal(flow_tmpl_render(t, TMPL_CTX_TEXT, e->v, &out), 0);
	assert_int_equal(out.len, 4 + strlen("Ana María"));
	assert_memory_equal(out.buf, "a\0b Ana María", out.len);
	strbuf_fini(&out);
	flow_tmpl_free(t);
}

static void null_arguments_are_refused(void **state)
{
	(void)state;
	struct flow_tmpl *t = NULL;
	assert_int_equal(flow_tmpl_compile(NULL, 3, &t, NULL, NULL, 0),
			 -EINVAL);
	assert_int_equal(flow_tmpl_compile("x", 1, NULL, NULL, NULL, 0),
			 -EINVAL);
	/* No error buffer: still fails cleanly. */
	assert_int_equal(flow_tmpl_compile("{{", 2, &t, NULL, NULL, 0),
			 -EINVAL);
	flow_tmpl_free(NULL);
	assert_int_equal(flow_tmpl_nvars(NULL), 0);
	assert_false(flow_tmpl_is_literal(NULL));
	/* Not NUL-terminated: only len bytes count. */
	assert_int_equal(flow_tmpl_compile("{{a}}{{", 5, &t, NULL, NULL, 0), 0);
	assert_int_equal(flow_tmpl_nvars(t), 1);
	flow_tmpl_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(literal_text_has_no_variables),
		cmocka_unit_test(variables_are_listed_with_their_offsets),
		cmocka_unit_test(
			bad_templates_report_the_offset_of_their_braces),
		cmocka_unit_test(variable_names_follow_the_rules),
		cmocka_unit_test_setup_teardown(render_substitutes_and_filters,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			render_escapes_values_for_their_context, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			render_invalid_utf8_to_json_is_replaced, setup,
			teardown),
		cmocka_unit_test_setup_teardown(render_stops_at_the_buffer_cap,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			literals_keep_embedded_nul_bytes, setup, teardown),
		cmocka_unit_test(null_arguments_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
