/* The TwiML writer: structure, attributes and escaping (no XML injection
 * from variable text). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "control/twilio/twiml.h"

#include <errno.h>
#include <string.h>

#define HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>"

static void writes_nested_elements_and_attributes(void **state)
{
	(void)state;
	struct twiml t;
	twiml_init(&t);
	const char *g[] = { "input", "speech", "action", "https://h/g?a=1&b=2",
			    "hints", NULL,     NULL };
	twiml_begin(&t, "Gather", g);
	const char *s[] = { "voice", "Polly.Joanna", NULL };
	twiml_elem(&t, "Say", s, "Hello");
	twiml_end(&t);
	twiml_elem(&t, "Hangup", NULL, NULL);
	const char *doc;
	size_t len;
	assert_int_equal(twiml_finish(&t, &doc, &len), 0);
	assert_string_equal(
		doc,
		HEAD "<Gather input=\"speech\" action=\"https://h/g?a=1&amp;"
		     "b=2\"><Say voice=\"Polly.Joanna\">Hello</Say></Gather>"
		     "<Hangup/></Response>");
	assert_int_equal(len, strlen(doc));
	twiml_fini(&t);
}

static void variable_text_cannot_inject_markup(void **state)
{
	(void)state;
	struct twiml t;
	twiml_init(&t);
	const char *evil = "\"/><Dial>+19005551212</Dial><Say a='";
	const char *s[] = { "voice", evil, NULL };
	twiml_elem(&t, "Say", s, "</Say><Hangup/> & 'x' > y");
	const char *doc;
	size_t len;
	assert_int_equal(twiml_finish(&t, &doc, &len), 0);
	assert_string_equal(
		doc,
		HEAD "<Say voice=\"&quot;/&gt;&lt;Dial&gt;+19005551212&lt;/Dial"
		     "&gt;&lt;Say a=&apos;\">&lt;/Say&gt;&lt;Hangup/&gt; &amp; "
		     "&apos;x&apos; &gt; y</Say></Response>");
	assert_null(strstr(doc, "<Dial"));
	twiml_fini(&t);
}

static void control_bytes_and_bad_utf8_become_question_marks(void **state)
{
	(void)state;
	struct twiml t;
	twiml_init(&t);
	twiml_elem(&t, "Say", NULL,
		   "a\x01"
		   "b\xff"
		   "c\xc3\xa9\tz\xef\xbf\xbf");
	const char *doc;
	size_t len;
	assert_int_equal(twiml_finish(&t, &doc, &len), 0);
	assert_string_equal(doc,
			    HEAD "<Say>a?b?c\xc3\xa9\tz?</Say></Response>");
	twiml_fini(&t);
}

static void finish_closes_open_elements(void **state)
{
	(void)state;
	struct twiml t;
	twiml_init(&t);
	twiml_begin(&t, "Dial", NULL);
	twiml_elem(&t, "Number", NULL, "+15551234");
	const char *doc;
	size_t len;
	assert_int_equal(twiml_finish(&t, &doc, &len), 0);
	assert_string_equal(
		doc, HEAD "<Dial><Number>+15551234</Number></Dial></Response>");
	twiml_fini(&t);
}

static void bad_names_and_overflow_are_errors(void **state)
{
	(void)state;
	struct twiml t;
	const char *doc;
	size_t len;
	twiml_init(&t);
	twiml_elem(&t, "Say x=\"1\"", NULL, "hi");
	assert_int_equal(twiml_finish(&t, &doc, &len), -EINVAL);
	twiml_fini(&t);

	twiml_init(&t);
	const char *a[] = { "on-click", "x", NULL };
	twiml_elem(&t, "Say", a, "hi");
	assert_int_equal(twiml_finish(&t, &doc, &len), -EINVAL);
	twiml_fini(&t);

	twiml_init(&t);
	twiml_end(&t); /* nothing open */
	assert_int_equal(twiml_finish(&t, &doc, &len), -EINVAL);
	twiml_fini(&t);

	twiml_init(&t);
	static char big[TWIML_MAX_BYTES / 4];
	memset(big, '<', sizeof(big) - 1); /* 4 bytes each escaped */
	twiml_elem(&t, "Say", NULL, big);
	assert_int_equal(twiml_finish(&t, &doc, &len), -E2BIG);
	twiml_fini(&t);

	twiml_init(&t);
	for (int i = 0; i <= TWIML_MAX_DEPTH; i++)
		twiml_begin(&t, "Dial", NULL);
	assert_int_equal(twiml_finish(&t, &doc, &len), -E2BIG);
	twiml_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(writes_nested_elements_and_attributes),
		cmocka_unit_test(variable_text_cannot_inject_markup),
		cmocka_unit_test(
			control_bytes_and_bad_utf8_become_question_marks),
		cmocka_unit_test(finish_closes_open_elements),
		cmocka_unit_test(bad_names_and_overflow_are_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
