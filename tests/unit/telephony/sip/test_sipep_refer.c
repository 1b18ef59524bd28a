/* The REFER's Refer-To URI with transfer context embedded as X-Voxgate-
 * headers (RFC 3261 19.1.1): escaping, limits, malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "call/channel.h"
#include "telephony/sip/sipep.h"

static void context_becomes_escaped_uri_headers(void **s)
{
	(void)s;
	char out[256];
	unsigned dropped = 99;
	struct channel_kv kv[] = {
		{ "Reason", "lost card" },
		{ "customer_id", "C-1001" },
		{ "Note", "a&b=c?d%<\"\xc3\xa9>" },
		{ "Empty", "" },
	};
	assert_int_equal(sipep_refer_uri(out, sizeof(out),
					 "sip:agents@127.0.0.1:5070", kv, 4,
					 &dropped),
			 0);
	assert_string_equal(out, "sip:agents@127.0.0.1:5070"
				 "?X-Voxgate-Reason=lost%20card"
				 "&X-Voxgate-customer_id=C-1001"
				 "&X-Voxgate-Note=a%26b%3Dc?d%25%3C%22%C3%A9%3E"
				 "&X-Voxgate-Empty=");
	assert_int_equal(dropped, 0);
}

static void target_headers_are_extended(void **s)
{
	(void)s;
	char out[128];
	struct channel_kv kv[] = { { "A", "1" } };
	assert_int_equal(sipep_refer_uri(out, sizeof(out),
					 "sip:q@h?Priority=urgent", kv, 1,
					 NULL),
			 0);
	assert_string_equal(out, "sip:q@h?Priority=urgent&X-Voxgate-A=1");
	assert_int_equal(
		sipep_refer_uri(out, sizeof(out), "sip:q@h", NULL, 0, NULL), 0);
	assert_string_equal(out, "sip:q@h");
}

static void non_sip_targets_drop_the_context(void **s)
{
	(void)s;
	char out[128];
	unsigned dropped = 0;
	struct channel_kv kv[] = { { "A", "1" }, { "B", "2" } };
	assert_int_equal(sipep_refer_uri(out, sizeof(out), "tel:+15551234", kv,
					 2, &dropped),
			 0);
	assert_string_equal(out, "tel:+15551234");
	assert_int_equal(dropped, 2);
}

static void bad_keys_and_overflow_are_dropped(void **s)
{
	(void)s;
	char out[48];
	unsigned dropped = 0;
	char longkey[70];
	memset(longkey, 'k', 65);
	longkey[65] = '\0';
	struct channel_kv kv[] = {
		{ "bad key", "x" },
		{ "", "x" },
		{ longkey, "x" },
		{ "a\r\nVia", "x" },
		{ NULL, "x" },
		{ "Ok", "1" },
		{ "Big", "0123456789012345678901234567890" },
		{ "Z", NULL },
	};
	assert_int_equal(
		sipep_refer_uri(out, sizeof(out), "sip:a@h", kv, 8, &dropped),
		0);
	assert_string_equal(out, "sip:a@h?X-Voxgate-Ok=1&X-Voxgate-Z=");
	assert_int_equal(dropped, 6);
}

static void malformed_targets_are_refused(void **s)
{
	(void)s;
	char out[32];
	static const char *const bad[] = {
		"",	    "sip:a@h>\r\nVia: x", "sip:a@h\n",
		"sip:<a@h", "sip:a @h",		  "sip:a\"@h",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sipep_refer_uri(out, sizeof(out), bad[i], NULL,
						 0, NULL),
				 -EINVAL);
	assert_int_equal(sipep_refer_uri(out, sizeof(out), NULL, NULL, 0, NULL),
			 -EINVAL);
	assert_int_equal(
		sipep_refer_uri(out, 8, "sip:agent@host", NULL, 0, NULL),
		-ENOSPC);
	struct channel_kv kv[] = { { "A", "1" } };
	assert_int_equal(
		sipep_refer_uri(out, sizeof(out), "sip:a@h", NULL, 1, NULL),
		-EINVAL);
	assert_int_equal(
		sipep_refer_uri(out, sizeof(out), "sip:a@h", kv, 1, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(context_becomes_escaped_uri_headers),
		cmocka_unit_test(target_headers_are_extended),
		cmocka_unit_test(non_sip_targets_drop_the_context),
		cmocka_unit_test(bad_keys_and_overflow_are_dropped),
		cmocka_unit_test(malformed_targets_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
