/* Table-driven tests of the REST API's query-string and call-id parsers,
 * malformed input first-class. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/api_query.h"

struct qcase {
	const char *qs;
	int err;
	int limit;
	int64_t before_ms;
	const char *before_id;
	const char *end_reason;
};

static const struct qcase qcases[] = {
	{ "", 0, 0, 0, "", "" },
	{ "?", 0, 0, 0, "", "" },
	{ "limit=50", 0, 50, 0, "", "" },
	{ "?limit=1&before_ms=1700000000000&end_reason=caller_hangup", 0, 1,
	  1700000000000, "", "caller_hangup" },
	{ "limit=1000", 0, 1000, 0, "", "" },
	{ "limit=0007", 0, 7, 0, "", "" },
	{ "&&limit=5&", 0, 5, 0, "", "" },
	{ "end_reason=caller%5Fhangup", 0, 0, 0, "", "caller_hangup" },
	{ "%6c%69mit=3", 0, 3, 0, "", "" },
	{ "before_ms=5&before_id=3f2a-11ee", 0, 0, 5, "3f2a-11ee", "" },
	{ "before_id=a%3Ab&before_ms=9223372036854775807", 0, 0, INT64_MAX,
	  "a:b", "" },
	/* Refused values. */
	{ "limit=0", -EINVAL },
	{ "limit=1001", -EINVAL },
	{ "limit=-1", -EINVAL },
	{ "limit=+5", -EINVAL },
	{ "limit=%205", -EINVAL },
	{ "limit=5+", -EINVAL },
	{ "limit=5x", -EINVAL },
	{ "limit=", -EINVAL },
	{ "limit", -EINVAL },
	{ "limit=99999999999999999999999", -EINVAL },
	{ "limit=1&limit=2", -EINVAL },
	{ "before_ms=0", -EINVAL },
	{ "before_ms=9223372036854775808", -EINVAL },
	{ "before_ms=1.5", -EINVAL },
	{ "before_ms=1&before_ms=1", -EINVAL },
	{ "before_id=abc", -EINVAL },
	{ "before_ms=1&before_id=", -EINVAL },
	{ "before_ms=1&before_id=a+b", -EINVAL },
	{ "before_ms=1&before_id=a%2Fb", -EINVAL },
	{ "before_ms=1&before_id=%C3%A9", -EINVAL },
	{ "end_reason=Hangup", -EINVAL },
	{ "end_reason=", -EINVAL },
	{ "end_reason=a%20b", -EINVAL },
	{ "end_reason=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", -EINVAL },
	{ "end_reason=x&end_reason=y", -EINVAL },
	{ "foo=1", -EINVAL },
	{ "LIMIT=5", -EINVAL },
	{ "averyveryverylongparametername=1", -EINVAL },
	/* Malformed encoding. */
	{ "%", -EBADMSG },
	{ "limit=%4", -EBADMSG },
	{ "limit=%zz", -EBADMSG },
	{ "limit=%%35", -EBADMSG },
	{ "%00=1", -EBADMSG },
	{ "limit=1%00", -EBADMSG },
	{ "=5", -EBADMSG },
	{ "&=&", -EBADMSG },
};

static void query_strings_parse_as_the_table_says(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(qcases) / sizeof(qcases[0]); i++) {
		const struct qcase *c = &qcases[i];
		struct api_calls_query q;
		memset(&q, 0x5a, sizeof(q));
		const struct api_calls_query untouched = q;
		const char *why = NULL;
		int err = api_query_parse(c->qs, strlen(c->qs), &q, &why);
		if (err != c->err)
			fail_msg("case %zu \"%s\": got %d, want %d", i, c->qs,
				 err, c->err);
		if (c->err) {
			assert_non_null(why);
			assert_true(strlen(why) > 0);
			assert_memory_equal(&q, &untouched, sizeof(q));
			continue;
		}
		assert_int_equal(q.limit, c->limit);
		assert_true(q.before_ms == c->before_ms);
		assert_string_equal(q.before_id, c->before_id);
		assert_string_equal(q.end_reason, c->end_reason);
	}
}

static void input_is_bounded_by_len_not_by_a_terminator(void **state)
{
	(void)state;
	struct api_calls_query q;
	const char buf[] = { 'l', 'i', 'm', 'i', 't', '=', '1', '2' };
	assert_int_equal(api_query_parse(buf, 7, &q, NULL), 0);
	assert_int_equal(q.limit, 1);

	/* A raw NUL inside the input is malformed, not an early end. */
	const char nul[] = "limit=5\0&foo=1";
	assert_int_equal(api_query_parse(nul, sizeof(nul) - 1, &q, NULL),
			 -EBADMSG);
	assert_int_equal(api_query_parse(NULL, 0, &q, NULL), 0);
	assert_int_equal(api_query_parse(NULL, 3, &q, NULL), -EINVAL);
}

static void overlong_query_string_is_refused(void **state)
{
	(void)state;
	char qs[API_QUERY_MAX_LEN + 2];
	struct api_calls_query q;
	const char *why = NULL;
	/* '&' separators only: valid content, just too much of it. */
	memset(qs, '&', sizeof(qs) - 1);
	qs[sizeof(qs) - 1] = '\0';
	assert_int_equal(api_query_parse(qs, API_QUERY_MAX_LEN, &q, NULL), 0);
	assert_int_equal(api_query_parse(qs, API_QUERY_MAX_LEN + 1, &q, &why),
			 -EINVAL);
	assert_string_equal(why, "query string too long");
}

struct idcase {
	const char *seg;
	int err;
	const char *id;
};

static void call_ids_decode_as_the_table_says(void **state)
{
	(void)state;
	static char max_ok[API_CALL_ID_MAX + 1], too_long[API_CALL_ID_MAX + 2];
	memset(max_ok, 'a', API_CALL_ID_MAX);
	memset(too_long, 'a', API_CALL_ID_MAX + 1);
	const struct idcase cases[] = {
		{ "abc", 0, "abc" },
		{ "3f2a5c1e-7d4b-4c3a-9f00-0123456789ab", 0,
		  "3f2a5c1e-7d4b-4c3a-9f00-0123456789ab" },
		{ "%41b", 0, "Ab" },
		{ "a+b", 0, "a+b" }, /* '+' is literal in a path */
		{ max_ok, 0, max_ok },
		{ too_long, -EINVAL, NULL },
		{ "", -EINVAL, NULL },
		{ "a%2Fb", -EINVAL, NULL },
		{ "a%20b", -EINVAL, NULL },
		{ "%C3%A9", -EINVAL, NULL },
		{ "%zz", -EBADMSG, NULL },
		{ "%4", -EBADMSG, NULL },
		{ "a%00", -EBADMSG, NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[API_CALL_ID_MAX + 1] = "unchanged";
		int err = api_call_id_parse(cases[i].seg, strlen(cases[i].seg),
					    out, sizeof(out));
		if (err != cases[i].err)
			fail_msg("id case %zu: got %d, want %d", i, err,
				 cases[i].err);
		assert_string_equal(out,
				    cases[i].err ? "unchanged" : cases[i].id);
	}
	char small[8];
	assert_int_equal(api_call_id_parse("abc", 3, small, sizeof(small)),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(query_strings_parse_as_the_table_says),
		cmocka_unit_test(input_is_bounded_by_len_not_by_a_terminator),
		cmocka_unit_test(overlong_query_string_is_refused),
		cmocka_unit_test(call_ids_decode_as_the_table_says),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
