/* AGI wire format: replies (every kind, split reads, malformed), the
 * environment block (both colon styles, args, caps) and argument quoting. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "telephony/asterisk/agi.h"

struct reply_case {
	const char *in;
	int err;
	enum agi_reply_kind kind;
	int code;
	const char *result;
	long value;
	const char *data;
	long endpos; /* -1: none */
	size_t used; /* 0: strlen(in) */
};

static const struct reply_case replies[] = {
	{ "200 result=0\n", 0, AGI_REPLY_OK, 200, "0", 0, "", -1, 0 },
	{ "200 result=50 endpos=14080\n", 0, AGI_REPLY_OK, 200, "50", 50, "",
	  14080, 0 },
	{ "200 result=-1 endpos=0\r\n", 0, AGI_REPLY_OK, 200, "-1", -1, "", 0,
	  0 },
	{ "200 result=1 (ANSWER)\n", 0, AGI_REPLY_OK, 200, "1", 1, "ANSWER", -1,
	  0 },
	{ "200 result=0123 (timeout)\n", 0, AGI_REPLY_OK, 200, "0123", 123,
	  "timeout", -1, 0 },
	{ "200 result=0 (timeout) endpos=8000\n", 0, AGI_REPLY_OK, 200, "0", 0,
	  "timeout", 8000, 0 },
	{ "200 result=-2\n", 0, AGI_REPLY_OK, 200, "-2", -2, "", -1, 0 },
	{ "200 result=\n", 0, AGI_REPLY_OK, 200, "", 0, "", -1, 0 },
	{ "510 Invalid or unknown command\n", 0, AGI_REPLY_INVALID, 510, "", 0,
	  "", -1, 0 },
	{ "511 Command Not Permitted on a dead channel or intercept "
	  "routine\n",
	  0, AGI_REPLY_DEAD, 511, "", 0, "", -1, 0 },
	{ "520 Invalid command syntax.  Proper usage not available.\n", 0,
	  AGI_REPLY_USAGE, 520, "", 0, "", -1, 0 },
	{ "520-Invalid command syntax.  Proper usage follows:\n"
	  " Usage: STREAM FILE <filename> <escape_digits>\n"
	  "\n"
	  "520 End of proper usage.\n"
	  "200 result=0\n",
	  0, AGI_REPLY_USAGE, 520, "", 0, "", -1, 124 },
	{ "HANGUP\n200 result=-1\n", 0, AGI_REPLY_HANGUP, 0, "", 0, "", -1, 7 },
	/* incomplete: nothing consumed */
	{ "200 result=0", -EAGAIN, 0, 0, NULL, 0, NULL, 0, 0 },
	{ "", -EAGAIN, 0, 0, NULL, 0, NULL, 0, 0 },
	{ "520-Usage\n more\n", -EAGAIN, 0, 0, NULL, 0, NULL, 0, 0 },
	/* malformed */
	{ "hello\n", -EBADMSG, 0, 0, NULL, 0, NULL, 0, 0 },
	{ "200 ok\n", -EBADMSG, 0, 0, NULL, 0, NULL, 0, 0 },
	{ "200 result=1 (unterminated\n", -EBADMSG, 0, 0, NULL, 0, NULL, 0, 0 },
	{ "200 result=1 (a) (b)\n", -EBADMSG, 0, 0, NULL, 0, NULL, 0, 0 },
	{ "200 result=1 endpos=x\n", -EBADMSG, 0, 0, NULL, 0, NULL, 0, 0 },
	{ "200 result=1 endpos=-5\n", -EBADMSG, 0, 0, NULL, 0, NULL, 0, 0 },
	{ "200 result=1 junk\n", -EBADMSG, 0, 0, NULL, 0, NULL, 0, 0 },
	{ "404 nope\n", -EBADMSG, 0, 0, NULL, 0, NULL, 0, 0 },
	{ "20\n", -EBADMSG, 0, 0, NULL, 0, NULL, 0, 0 },
	{ "200x\n", -EBADMSG, 0, 0, NULL, 0, NULL, 0, 0 },
	{ "200-multi\n200 end\n", -EBADMSG, 0, 0, NULL, 0, NULL, 0, 0 },
	{ "200 result=1\x01\n", -EBADMSG, 0, 0, NULL, 0, NULL, 0, 0 },
	{ "HANGUPX\n", -EBADMSG, 0, 0, NULL, 0, NULL, 0, 0 },
};

static void replies_parse_by_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		const struct reply_case *c = &replies[i];
		struct agi_reply r;
		size_t used = 12345;
		int err = agi_reply_parse(c->in, strlen(c->in), &r, &used);
		if (err != c->err)
			fail_msg("case %zu (%s): err %d want %d", i, c->in, err,
				 c->err);
		if (err) {
			assert_int_equal(used, 12345);
			continue;
		}
		assert_int_equal(r.kind, c->kind);
		assert_int_equal(r.code, c->code);
		assert_string_equal(r.result, c->result);
		assert_string_equal(r.data, c->data);
		if (c->value || !strcmp(c->result, "0"))
			assert_int_equal(r.value, c->value);
		assert_int_equal(r.has_endpos, c->endpos >= 0);
		if (c->endpos >= 0)
			assert_int_equal(r.endpos, c->endpos);
		assert_int_equal(used, c->used ? c->used : strlen(c->in));
	}
}

static void reply_split_at_every_byte_waits_then_parses(void **state)
{
	(void)state;
	const char *in = "200 result=35 endpos=1600\n";
	struct agi_reply r;
	size_t used;
	for (size_t n = 0; n < strlen(in); n++)
		assert_int_equal(agi_reply_parse(in, n, &r, &used), -EAGAIN);
	assert_int_equal(agi_reply_parse(in, strlen(in), &r, &used), 0);
	assert_int_equal(r.value, '#');
}

static void overlong_line_is_e2big(void **state)
{
	(void)state;
	char buf[AGI_LINE_MAX + 10];
	memset(buf, 'x', sizeof(buf));
	memcpy(buf, "200 result=", 11); /* NOLINT: not a string */
	struct agi_reply r;
	size_t used;
	assert_int_equal(agi_reply_parse(buf, sizeof(buf), &r, &used), -E2BIG);
	/* A too long 520 block is refused too. */
	char big[AGI_REPLY_MAX_LINES * 4 + 64];
	size_t o = (size_t)sprintf(big, "520-x\n");
	for (int i = 0; i < AGI_REPLY_MAX_LINES; i++)
		o += (size_t)sprintf(big + o, "a\n");
	o += (size_t)sprintf(big + o, "520 End\n");
	assert_int_equal(agi_reply_parse(big, o, &r, &used), -E2BIG);
}

static void env_with_and_without_space(void **state)
{
	(void)state;
	const char *in = "agi_network: yes\n"
			 "agi_network_script: bank-hotline\n"
			 "agi_request: agi://127.0.0.1/bank-hotline\r\n"
			 "agi_channel:PJSIP/alice-00000001\n"
			 "agi_uniqueid:1700000000.1\n"
			 "agi_callerid: +15551230000\n"
			 "agi_dnid:100\n"
			 "agi_extension: 100\n"
			 "agi_context: default\n"
			 "agi_enhanced: 0.0\n"
			 "agi_arg_1: first\n"
			 "agi_arg_2:two words\n"
			 "\n"
			 "200 result=0\n";
	struct agi_env env;
	memset(&env, 0, sizeof(env));
	size_t used;
	assert_int_equal(agi_env_feed(&env, in, strlen(in), &used), 0);
	assert_true(env.done);
	assert_string_equal(in + used, "200 result=0\n");
	assert_string_equal(env.network_script, "bank-hotline");
	assert_string_equal(env.channel, "PJSIP/alice-00000001");
	assert_string_equal(env.uniqueid, "1700000000.1");
	assert_string_equal(env.callerid, "+15551230000");
	assert_string_equal(env.dnid, "100");
	assert_string_equal(env.extension, "100");
	assert_int_equal(env.nargs, 2);
	assert_string_equal(env.args[0], "first");
	assert_string_equal(env.args[1], "two words");
	char fb[64];
	assert_string_equal(agi_env_flow(&env, fb, sizeof(fb)), "bank-hotline");
}

static void env_in_pieces_keeps_partial_line(void **state)
{
	(void)state;
	const char *in = "agi_callerid: 42\nagi_arg_1: sales\n\n";
	struct agi_env env;
	memset(&env, 0, sizeof(env));
	size_t used;
	/* Half of the second line: only the first is consumed. */
	assert_int_equal(agi_env_feed(&env, in, 22, &used), -EAGAIN);
	assert_int_equal(used, 17);
	assert_int_equal(
		agi_env_feed(&env, in + used, strlen(in) - used, &used), 0);
	char fb[64];
	assert_string_equal(agi_env_flow(&env, fb, sizeof(fb)), "sales");
}

static void env_flow_from_url_path_and_args(void **state)
{
	(void)state;
	struct agi_env env;
	char fb[64];
	memset(&env, 0, sizeof(env));
	strcpy(env.network_script, "ivr/bank-hotline?lang=en");
	assert_string_equal(agi_env_flow(&env, fb, sizeof(fb)), "bank-hotline");
	strcpy(env.network_script, "");
	assert_null(agi_env_flow(&env, fb, sizeof(fb)));
	strcpy(env.args[0], "../etc");
	env.nargs = 1;
	assert_null(agi_env_flow(&env, fb, sizeof(fb)));
	strcpy(env.network_script, "..");
	assert_null(agi_env_flow(&env, fb, sizeof(fb)));
}

static void env_malformed_is_refused(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int err;
	} cases[] = {
		{ "no colon here\n\n", -EBADMSG },
		{ "other_key: x\n\n", -EBADMSG },
		{ "agi_arg_0: x\n\n", -EBADMSG },
		{ "agi_arg_x: x\n\n", -EBADMSG },
		{ "agi_arg_: x\n\n", -EBADMSG },
		{ "agi_arg_01: x\n\n", -EBADMSG },
		{ "agi_callerid: a\x02"
		  "b\n\n",
		  -EBADMSG },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct agi_env env;
		memset(&env, 0, sizeof(env));
		size_t used;
		int err = agi_env_feed(&env, cases[i].in, strlen(cases[i].in),
				       &used);
		if (err != cases[i].err)
			fail_msg("case %zu: %d", i, err);
	}
	/* Too many lines, too long a value, too large a block. */
	char buf[AGI_ENV_MAX_BYTES + 2048];
	size_t o = 0;
	for (int i = 0; i <= AGI_ENV_MAX_LINES; i++)
		o += (size_t)sprintf(buf + o, "agi_x: 1\n");
	struct agi_env env;
	memset(&env, 0, sizeof(env));
	size_t used;
	assert_int_equal(agi_env_feed(&env, buf, o, &used), -E2BIG);
	memset(&env, 0, sizeof(env));
	o = (size_t)sprintf(buf, "agi_dnid: ");
	memset(buf + o, '1', 100);
	o += 100;
	buf[o++] = '\n';
	assert_int_equal(agi_env_feed(&env, buf, o, &used), -E2BIG);
	memset(&env, 0, sizeof(env));
	memset(buf, 'a', sizeof(buf));
	assert_int_equal(agi_env_feed(&env, buf, sizeof(buf), &used), -E2BIG);
	/* Many args beyond the kept ones are ignored, not an error. */
	memset(&env, 0, sizeof(env));
	o = (size_t)sprintf(buf, "agi_arg_99: x\n\n");
	assert_int_equal(agi_env_feed(&env, buf, o, &used), 0);
	assert_int_equal(env.nargs, 0);
}

static void quote_escapes_and_keeps_one_line(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(agi_quote(out, sizeof(out), "plain"), 7);
	assert_string_equal(out, "\"plain\"");
	assert_true(agi_quote(out, sizeof(out), "a\"b\\c\r\nd") > 0);
	assert_string_equal(out, "\"a\\\"b\\\\c  d\"");
	assert_int_equal(agi_quote(out, sizeof(out), ""), 2);
	assert_string_equal(out, "\"\"");
	assert_int_equal(agi_quote(out, 5, "abcd"), -ENOSPC);
	assert_string_equal(out, "");
	assert_int_equal(agi_quote(out, 7, "abcd"), 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(replies_parse_by_table),
		cmocka_unit_test(reply_split_at_every_byte_waits_then_parses),
		cmocka_unit_test(overlong_line_is_e2big),
		cmocka_unit_test(env_with_and_without_space),
		cmocka_unit_test(env_in_pieces_keeps_partial_line),
		cmocka_unit_test(env_flow_from_url_path_and_args),
		cmocka_unit_test(env_malformed_is_refused),
		cmocka_unit_test(quote_escapes_and_keeps_one_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
