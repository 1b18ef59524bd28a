/* Twilio webhook request input: ?step= parsing, CallSid checks and the
 * caller input copied from the form, including malformed values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "control/twilio/twreq.h"
#include "telephony/twilio/twform.h"

static long step_of(const char *q)
{
	return twreq_step(q, q ? strlen(q) : 0);
}

static void steps_are_plain_bounded_decimals(void **state)
{
	(void)state;
	static const struct {
		const char *q;
		long want;
	} cases[] = {
		{ "?step=3", 3 },
		{ "step=0", 0 },
		{ "?a=b&step=42&c=d", 42 },
		{ "?step=1000000", 1000000 },
		{ "?step=0000007", 7 },
		{ "?step=1000001", -1 },
		{ "?step=99999999999999999999", -1 },
		{ "?step=", -1 },
		{ "?step", -1 },
		{ "?step=+5", -1 },
		{ "?step=-1", -1 },
		{ "?step=%205", -1 },
		{ "?step=5%20", -1 },
		{ "?step=0x10", -1 },
		{ "?step=1e3", -1 },
		{ "?step=%zz", -1 },
		{ "?other=1", -1 },
		{ "?", -1 },
		{ "", -1 },
		{ NULL, -1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long got = step_of(cases[i].q);
		if (got != cases[i].want)
			fail_msg("case %zu (%s): got %ld want %ld", i,
				 cases[i].q ? cases[i].q : "NULL", got,
				 cases[i].want);
	}
	/* Only len bytes are read: the step digits beyond it do not count. */
	assert_int_equal(twreq_step("?step=12", 7), 1);
}

static const char *sid_of(struct twform *f, const char *body)
{
	twform_fini(f);
	twform_init(f);
	if (twform_parse(f, body, strlen(body)))
		return "parse error";
	return twreq_sid(f);
}

static void only_safe_call_sids_are_taken(void **state)
{
	(void)state;
	struct twform f;
	twform_init(&f);
	assert_string_equal(sid_of(&f, "CallSid=CA0123abcdef_-Z"),
			    "CA0123abcdef_-Z");
	char longest[128];
	snprintf(longest, sizeof(longest), "CallSid=%064d", 0);
	assert_non_null(sid_of(&f, longest));
	snprintf(longest, sizeof(longest), "CallSid=%065d", 0);
	assert_null(sid_of(&f, longest));
	assert_null(sid_of(&f, "CallSid="));
	assert_null(sid_of(&f, "Digits=1"));
	assert_null(sid_of(&f, "CallSid=CA%0Acall%3Dforged"));
	assert_null(sid_of(&f, "CallSid=CA+1"));
	assert_null(sid_of(&f, "CallSid=CA%221"));
	assert_null(sid_of(&f, "CallSid=CA%2F..%2F1"));
	assert_null(twreq_sid(NULL));
	twform_fini(&f);
}

static void caller_input_is_capped_and_confidence_sane(void **state)
{
	(void)state;
	static const struct {
		const char *conf;
		float want;
	} confs[] = {
		{ "0.93", 0.93f },  { "1", 1.0f },     { "0", 0.0f },
		{ "1.5", 0.0f },    { "-0.1", 0.0f },  { "nan", 0.0f },
		{ "inf", 0.0f },    { "abc", 0.0f },   { "", 0.0f },
		{ "0.5xyz", 0.5f }, { "1e-50", 0.0f },
	};
	for (size_t i = 0; i < sizeof(confs) / sizeof(confs[0]); i++) {
		char body[64];
		snprintf(body, sizeof(body), "Confidence=%s", confs[i].conf);
		struct twform f;
		twform_init(&f);
		assert_int_equal(twform_parse(&f, body, strlen(body)), 0);
		struct twreq_input in;
		memset(&in, 0x55, sizeof(in));
		twreq_input_get(&in, &f);
		if (in.conf < confs[i].want - 1e-6f ||
		    in.conf > confs[i].want + 1e-6f)
			fail_msg("case %zu (%s): got %f", i, confs[i].conf,
				 (double)in.conf);
		assert_string_equal(in.digits, "");
		assert_string_equal(in.speech, "");
		assert_string_equal(in.status, "");
		twform_fini(&f);
	}
	/* Over-long values are cut at their caps, NUL-terminated. */
	static char body[8192];
	int n = snprintf(body, sizeof(body), "Digits=");
	for (int i = 0; i < 100; i++)
		body[n++] = '7';
	n += snprintf(body + n, sizeof(body) - (size_t)n, "&SpeechResult=");
	for (int i = 0; i < 3000; i++)
		body[n++] = 'a';
	n += snprintf(body + n, sizeof(body) - (size_t)n,
		      "&CallStatus=in-progress-and-then-some-more-text");
	struct twform f;
	twform_init(&f);
	assert_int_equal(twform_parse(&f, body, (size_t)n), 0);
	struct twreq_input in;
	twreq_input_get(&in, &f);
	assert_int_equal(strlen(in.digits), TWREQ_DIGITS_MAX);
	assert_int_equal(strlen(in.speech), TWREQ_SPEECH_MAX);
	assert_int_equal(strlen(in.status), TWREQ_STATUS_MAX);
	twform_fini(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(steps_are_plain_bounded_decimals),
		cmocka_unit_test(only_safe_call_sids_are_taken),
		cmocka_unit_test(caller_input_is_capped_and_confidence_sane),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
