/* Connect contact-flow events (every ContactData field type, nested
 * Parameters, BOM, malformed input) and STRING_MAP answers (flattening,
 * sanitizing, size caps refused rather than truncated). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "control/connect/ccevent.h"

static char *read_fixture(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/tests/data/connect/%s", VG_SOURCE_DIR,
		 name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *buf = malloc(1 << 16);
	assert_non_null(buf);
	*len = fread(buf, 1, (1 << 16) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static void documented_event_parses_with_every_field(void **state)
{
	(void)state;
	size_t len;
	char *body = read_fixture("contact_flow_event.json", &len);
	struct connect_event ev;
	char why[128] = "";
	assert_int_equal(connect_event_parse(&ev, body, len, why, sizeof(why)),
			 0);
	assert_string_equal(ev.contact_id,
			    "4a573372-1f28-4e26-b97b-XXXXXXXXXXX");
	assert_string_equal(ev.channel, "VOICE");
	assert_string_equal(ev.initiation_method, "INBOUND");
	assert_string_equal(ev.customer_address, "+14155550101");
	assert_string_equal(ev.system_address, "+1234567890");
	assert_string_equal(ev.queue_name, "PasswordReset");
	char buf[32];
	assert_string_equal(connect_event_param(&ev, "transcript", NULL, 0),
			    "I lost my card");
	assert_string_equal(connect_event_param(&ev, "customer.phone", NULL, 0),
			    "+14155550101");
	assert_string_equal(
		connect_event_param(&ev, "customer.tier", buf, sizeof(buf)),
		"2");
	assert_null(connect_event_param(&ev, "customer", buf, sizeof(buf)));
	assert_null(connect_event_param(&ev, "customer.", buf, sizeof(buf)));
	assert_null(connect_event_param(&ev, "nope.x", buf, sizeof(buf)));
	connect_event_fini(&ev);
	free(body);
}

static void bom_and_null_endpoints_are_tolerated(void **state)
{
	(void)state;
	size_t len;
	char *body = read_fixture("bom_minimal.json", &len);
	assert_int_equal((unsigned char)body[0], 0xef);
	struct connect_event ev;
	assert_int_equal(connect_event_parse(&ev, body, len, NULL, 0), 0);
	assert_string_equal(ev.contact_id, "bom-1");
	assert_null(ev.customer_address);
	assert_null(ev.system_address);
	assert_null(ev.queue_name);
	assert_null(connect_event_param(&ev, "transcript", NULL, 0));
	connect_event_fini(&ev);
	free(body);
}

struct bad_case {
	const char *body;
	const char *why;
};

#define CD(x)                                            \
	"{\"Name\":\"ContactFlowEvent\",\"Details\":{\"" \
	"ContactData\":{\"ContactId\":\"c1\"" x "}}}"

static const struct bad_case bad[] = {
	{ "", "empty body" },
	{ "\xef\xbb\xbf", "empty body" },
	{ "{", "not JSON" },
	{ "[]", "not an object" },
	{ "{\"Name\":\"Other\",\"Details\":{}}",
	  "Name is not ContactFlowEvent" },
	{ "{\"Details\":{}}", "Name is not ContactFlowEvent" },
	{ "{\"Name\":\"ContactFlowEvent\"}", "Details is not an object" },
	{ "{\"Name\":\"ContactFlowEvent\",\"Details\":{\"ContactData\":1}}",
	  "Details.ContactData is not an object" },
	{ "{\"Name\":\"ContactFlowEvent\",\"Details\":{\"ContactData\":{}}}",
	  "ContactData.ContactId missing or too long" },
	{ CD(",\"Attributes\":{\"a\":1}"),
	  "ContactData.Attributes has the wrong type" },
	{ CD(",\"CustomerEndpoint\":\"+1415\""),
	  "ContactData.CustomerEndpoint has the wrong type" },
	{ CD(",\"Channel\":5"), "ContactData.Channel has the wrong type" },
	{ CD(",\"Queue\":[]"), "ContactData.Queue has the wrong type" },
	{ CD(",\"MediaStreams\":true"),
	  "ContactData.MediaStreams has the wrong type" },
	{ "{\"Name\":\"ContactFlowEvent\",\"Details\":{\"ContactData\":{"
	  "\"ContactId\":\"c1\"},\"Parameters\":[1]}}",
	  "Details.Parameters is not an object" },
	{ "{\"Name\":\"ContactFlowEvent\",\"Details\":{\"ContactData\":{"
	  "\"ContactId\":\"c1\"},\"Parameters\":{\"a\":[[[[[[[[[[[[[[[[[["
	  "]]]]]]]]]]]]]]]]]]}}}",
	  "nested too deeply" },
};

static void malformed_events_are_refused_with_a_reason(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct connect_event ev;
		char why[128] = "";
		int rc = connect_event_parse(&ev, bad[i].body,
					     strlen(bad[i].body), why,
					     sizeof(why));
		if (rc != -EBADMSG || strcmp(why, bad[i].why))
			fail_msg("case %zu: rc=%d why='%s' want '%s'", i, rc,
				 why, bad[i].why);
	}
	/* A ContactId over 128 bytes. */
	char big[512];
	char id[130];
	memset(id, 'a', 129);
	id[129] = '\0';
	snprintf(big, sizeof(big),
		 "{\"Name\":\"ContactFlowEvent\",\"Details\":{\"ContactData\":"
		 "{\"ContactId\":\"%s\"}}}",
		 id);
	struct connect_event ev;
	assert_int_equal(connect_event_parse(&ev, big, strlen(big), NULL, 0),
			 -EBADMSG);
	assert_int_equal(connect_event_parse(NULL, big, 1, NULL, 0), -EINVAL);
}

static char *flat(const char *json, bool as_json, int *rc, char *why)
{
	cJSON *v = cJSON_Parse(json);
	assert_non_null(v);
	char *out = NULL;
	size_t len = 0;
	*rc = connect_answer_print(v, as_json, &out, &len, why, 160);
	cJSON_Delete(v);
	if (!*rc)
		assert_int_equal(strlen(out), len);
	return out;
}

static void string_map_flattens_and_sanitizes(void **state)
{
	(void)state;
	int rc;
	char why[160];
	char *out = flat("{\"a\":{\"b\":\"x\",\"c\":{\"d\":1}},\"n\":2.5,"
			 "\"i\":42,\"t\":true,\"f\":false,\"z\":null,"
			 "\"arr\":[\"p\",{\"q\":\"r\"}],"
			 "\"ctl\":\"li\\nne\\u0001\\ttab\\u007f\","
			 "\"k\\u0002ey\":\"v\",\"u\":\"caf\\u00e9\"}",
			 false, &rc, why);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "{\"a.b\":\"x\",\"a.c.d\":\"1\",\"n\":\"2.5\","
				 "\"i\":\"42\",\"t\":\"true\",\"f\":\"false\","
				 "\"z\":\"\",\"arr.0\":\"p\",\"arr.1.q\":\"r\","
				 "\"ctl\":\"linetab\",\"key\":\"v\","
				 "\"u\":\"caf\xc3\xa9\"}");
	free(out);
	/* JSON mode keeps the nesting, still sanitized. */
	out = flat("{\"a\":{\"b\":\"x\\u0003y\"},\"l\":[1,2]}", true, &rc, why);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "{\"a\":{\"b\":\"xy\"},\"l\":[1,2]}");
	free(out);
}

static void invalid_utf8_is_dropped(void **state)
{
	(void)state;
	char dst[32];
	assert_int_equal(connect_sanitize("a\xff"
					  "b\xc3",
					  4, dst, sizeof(dst)),
			 2);
	assert_string_equal(dst, "ab");
	assert_int_equal(
		connect_sanitize("\xed\xa0\x80ok", 5, dst, sizeof(dst)),
		2); /* a UTF-16 surrogate */
	assert_int_equal(connect_sanitize("abcdef", 6, dst, 4), -E2BIG);
	assert_string_equal(dst, "");
}

static void oversize_answers_are_refused_not_truncated(void **state)
{
	(void)state;
	char why[160] = "";
	/* One value over the per-value cap. */
	char *big = malloc(CONNECT_VALUE_MAX + 64);
	assert_non_null(big);
	memset(big, 'x', CONNECT_VALUE_MAX + 1);
	big[CONNECT_VALUE_MAX + 1] = '\0';
	cJSON *v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "v", big);
	char *out = NULL;
	size_t len;
	assert_int_equal(
		connect_answer_print(v, false, &out, &len, why, sizeof(why)),
		-E2BIG);
	assert_string_equal(why, "value too long at key 'v'");
	assert_null(out);
	cJSON_Delete(v);
	/* Many values, each fine, too big together. */
	v = cJSON_CreateObject();
	big[4000] = '\0';
	for (int i = 0; i < 9; i++) {
		char k[8];
		snprintf(k, sizeof(k), "k%d", i);
		cJSON_AddStringToObject(v, k, big);
	}
	assert_int_equal(
		connect_answer_print(v, false, &out, &len, why, sizeof(why)),
		-E2BIG);
	assert_non_null(strstr(why, "exceeds the 32768 byte limit"));
	assert_int_equal(
		connect_answer_print(v, true, &out, &len, why, sizeof(why)),
		-E2BIG);
	/* Eight fit. */
	cJSON_DeleteItemFromObject(v, "k8");
	assert_int_equal(
		connect_answer_print(v, false, &out, &len, why, sizeof(why)),
		0);
	assert_true(len <= CONNECT_ANSWER_MAX);
	free(out);
	cJSON_Delete(v);
	/* A key over the cap. */
	v = cJSON_CreateObject();
	big[CONNECT_KEY_MAX + 1] = '\0';
	cJSON_AddStringToObject(v, big, "x");
	assert_int_equal(
		connect_answer_print(v, false, &out, &len, why, sizeof(why)),
		-E2BIG);
	cJSON_Delete(v);
	free(big);
	/* Not an object. */
	v = cJSON_CreateArray();
	assert_int_equal(connect_answer_print(v, false, &out, &len, NULL, 0),
			 -EINVAL);
	cJSON_Delete(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(documented_event_parses_with_every_field),
		cmocka_unit_test(bom_and_null_endpoints_are_tolerated),
		cmocka_unit_test(malformed_events_are_refused_with_a_reason),
		cmocka_unit_test(string_map_flattens_and_sanitizes),
		cmocka_unit_test(invalid_utf8_is_dropped),
		cmocka_unit_test(oversize_answers_are_refused_not_truncated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
