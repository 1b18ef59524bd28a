/* Genesys Bot Connector messages: the turn request parser (valid,
 * tolerated variations, every malformed case refused with a reason) and
 * the reply printer (shape, escaping, states). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/genesys/gbmsg.h"
#include "core/strbuf.h"

static struct gbot_req *req_new(void)
{
	struct gbot_req *r = malloc(sizeof(*r));
	assert_non_null(r);
	return r;
}

static int parse(struct gbot_req *r, const char *s, const char **why)
{
	return gbot_req_parse(r, s, strlen(s), why);
}

static void parses_a_full_request(void **state)
{
	(void)state;
	struct gbot_req *r = req_new();
	const char *why = "x";
	const char *s =
		"{\"botId\":\"bank-hotline\",\"botVersion\":\"1\","
		"\"botSessionId\":\"b9f2c1d0-0000-4000-8000-000000000001\","
		"\"messageId\":\"m1\",\"inputMessage\":{\"type\":\"Text\","
		"\"text\":\"I lost my card \\u00e9\"},\"languageCode\":"
		"\"en-us\",\"botSessionTimeout\":15,"
		"\"genesysConversationId\":\"conv-1\",\"parameters\":"
		"{\"ani\":\"+15551230001\",\"vip\":true,\"n\":3,\"x\":null},"
		"\"somethingNew\":{\"a\":[1,2]}}";
	assert_int_equal(parse(r, s, &why), 0);
	assert_null(why);
	assert_string_equal(r->bot_id, "bank-hotline");
	assert_string_equal(r->bot_version, "1");
	assert_string_equal(r->session_id,
			    "b9f2c1d0-0000-4000-8000-000000000001");
	assert_string_equal(r->message_id, "m1");
	assert_string_equal(r->text, "I lost my card \xc3\xa9");
	assert_string_equal(r->language, "en-us");
	assert_string_equal(r->conversation, "conv-1");
	assert_int_equal(r->timeout_min, 15);
	assert_int_equal(r->nparams, 4);
	assert_string_equal(r->params[0].name, "ani");
	assert_string_equal(r->params[0].value, "+15551230001");
	assert_string_equal(r->params[1].value, "true");
	assert_string_equal(r->params[2].value, "3");
	assert_string_equal(r->params[3].value, "");
	free(r);
}

static void tolerates_bom_whitespace_and_missing_optionals(void **state)
{
	(void)state;
	struct gbot_req *r = req_new();
	const char *s = "\xef\xbb\xbf  {\"botId\":\"b\",\"botSessionId\":\"s\","
			"\"inputMessage\":{\"type\":\"Structured\"}}\r\n";
	assert_int_equal(parse(r, s, NULL), 0);
	assert_string_equal(r->bot_id, "b");
	assert_string_equal(r->text, "");
	assert_string_equal(r->message_id, "");
	assert_int_equal(r->timeout_min, 0);
	assert_int_equal(r->nparams, 0);
	/* explicit nulls are absent fields */
	s = "{\"botId\":\"b\",\"botSessionId\":\"s\",\"botVersion\":null,"
	    "\"inputMessage\":{\"type\":\"Text\",\"text\":null},"
	    "\"parameters\":null,\"botSessionTimeout\":null}";
	assert_int_equal(parse(r, s, NULL), 0);
	assert_string_equal(r->bot_version, "");
	free(r);
}

static void refuses_malformed_requests(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		const char *why; /* substring of the reason */
	} cases[] = {
		{ "", "empty" },
		{ "\xef\xbb\xbf", "empty" },
		{ "{", "not JSON" },
		{ "[]", "not a JSON object" },
		{ "\"text\"", "not a JSON object" },
		{ "{} x", "trailing" },
		{ "{\"botSessionId\":\"s\",\"inputMessage\":{\"type\":"
		  "\"Text\"}}",
		  "botId" },
		{ "{\"botId\":\"\",\"botSessionId\":\"s\",\"inputMessage\":"
		  "{\"type\":\"Text\"}}",
		  "botId" },
		{ "{\"botId\":7,\"botSessionId\":\"s\",\"inputMessage\":"
		  "{\"type\":\"Text\"}}",
		  "botId" },
		{ "{\"botId\":\"b\",\"inputMessage\":{\"type\":\"Text\"}}",
		  "botSessionId" },
		{ "{\"botId\":\"b\",\"botSessionId\":\"a\\nb\","
		  "\"inputMessage\":{\"type\":\"Text\"}}",
		  "botSessionId" },
		{ "{\"botId\":\"b\",\"botSessionId\":\"s\"}", "inputMessage" },
		{ "{\"botId\":\"b\",\"botSessionId\":\"s\",\"inputMessage\":"
		  "\"hi\"}",
		  "inputMessage" },
		{ "{\"botId\":\"b\",\"botSessionId\":\"s\",\"inputMessage\":"
		  "{\"text\":\"hi\"}}",
		  "type" },
		{ "{\"botId\":\"b\",\"botSessionId\":\"s\",\"inputMessage\":"
		  "{\"type\":\"Image\",\"text\":\"hi\"}}",
		  "type" },
		{ "{\"botId\":\"b\",\"botSessionId\":\"s\",\"inputMessage\":"
		  "{\"type\":\"Text\",\"text\":5}}",
		  "text" },
		{ "{\"botId\":\"b\",\"botSessionId\":\"s\",\"inputMessage\":"
		  "{\"type\":\"Text\",\"text\":\"\xff\xfe\"}}",
		  "text" },
		{ "{\"botId\":\"b\",\"botSessionId\":\"s\",\"inputMessage\":"
		  "{\"type\":\"Text\",\"text\":\"\xed\xa0\x80\"}}",
		  "text" },
		{ "{\"botId\":\"b\",\"botSessionId\":\"s\",\"inputMessage\":"
		  "{\"type\":\"Text\"},\"botSessionTimeout\":-1}",
		  "botSessionTimeout" },
		{ "{\"botId\":\"b\",\"botSessionId\":\"s\",\"inputMessage\":"
		  "{\"type\":\"Text\"},\"botSessionTimeout\":\"5\"}",
		  "botSessionTimeout" },
		{ "{\"botId\":\"b\",\"botSessionId\":\"s\",\"inputMessage\":"
		  "{\"type\":\"Text\"},\"parameters\":[1]}",
		  "parameters" },
		{ "{\"botId\":\"b\",\"botSessionId\":\"s\",\"inputMessage\":"
		  "{\"type\":\"Text\"},\"parameters\":{\"a\":{\"b\":1}}}",
		  "parameter" },
		{ "{\"botId\":\"b\",\"botSessionId\":\"s\",\"inputMessage\":"
		  "{\"type\":\"Text\"},\"parameters\":{\"\":\"v\"}}",
		  "parameter name" },
		{ "{\"botId\":\"b\",\"botSessionId\":\"s\",\"languageCode\":"
		  "[],\"inputMessage\":{\"type\":\"Text\"}}",
		  "languageCode" },
	};
	struct gbot_req *r = req_new();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = NULL;
		int err = parse(r, cases[i].body, &why);
		if (err != -EBADMSG || !why || !strstr(why, cases[i].why))
			fail_msg("case %zu: err=%d why=%s", i, err,
				 why ? why : "(null)");
		assert_string_equal(r->bot_id, ""); /* cleared */
	}
	free(r);
}

static void refuses_oversize_fields_and_bodies(void **state)
{
	(void)state;
	struct gbot_req *r = req_new();
	const char *why = NULL;
	size_t big = GBOT_BODY_MAX + 1;
	char *b = malloc(big);
	assert_non_null(b);
	memset(b, ' ', big);
	assert_int_equal(gbot_req_parse(r, b, big, &why), -E2BIG);
	assert_string_equal(why, "body too large");
	free(b);

	struct strbuf sb;
	strbuf_init(&sb, GBOT_BODY_MAX);
	/* text of GBOT_TEXT_MAX bytes passes, one more does not */
	for (int extra = 0; extra < 2; extra++) {
		sb.len = 0;
		assert_int_equal(
			strbuf_addstr(&sb, "{\"botId\":\"b\",\"botSessionId\":"
					   "\"s\",\"inputMessage\":{\"type\":"
					   "\"Text\",\"text\":\""),
			0);
		for (int i = 0; i < GBOT_TEXT_MAX + extra; i++)
			assert_int_equal(strbuf_add(&sb, "a", 1), 0);
		assert_int_equal(strbuf_addstr(&sb, "\"}}"), 0);
		int err = gbot_req_parse(r, sb.buf, sb.len, NULL);
		assert_int_equal(err, extra ? -EBADMSG : 0);
	}
	/* a session id of GBOT_ID_MAX + 1 bytes */
	sb.len = 0;
	assert_int_equal(strbuf_addstr(&sb, "{\"botId\":\"b\",\"botSessionId\":"
					    "\""),
			 0);
	for (int i = 0; i < GBOT_ID_MAX + 1; i++)
		assert_int_equal(strbuf_add(&sb, "s", 1), 0);
	assert_int_equal(
		strbuf_addstr(&sb, "\",\"inputMessage\":{\"type\":\"Text\"}}"),
		0);
	assert_int_equal(gbot_req_parse(r, sb.buf, sb.len, NULL), -EBADMSG);
	/* more than GBOT_PARAMS_MAX parameters */
	sb.len = 0;
	assert_int_equal(strbuf_addstr(&sb, "{\"botId\":\"b\",\"botSessionId\":"
					    "\"s\",\"inputMessage\":{\"type\":"
					    "\"Text\"},\"parameters\":{"),
			 0);
	for (int i = 0; i <= GBOT_PARAMS_MAX; i++)
		assert_int_equal(
			strbuf_printf(&sb, "%s\"p%d\":\"v\"", i ? "," : "", i),
			0);
	assert_int_equal(strbuf_addstr(&sb, "}}"), 0);
	assert_int_equal(gbot_req_parse(r, sb.buf, sb.len, NULL), -EBADMSG);
	strbuf_fini(&sb);
	assert_int_equal(gbot_req_parse(NULL, "{}", 2, NULL), -EINVAL);
	assert_int_equal(gbot_req_parse(r, NULL, 2, NULL), -EINVAL);
	free(r);
}

static void accepts_a_body_without_nul_terminator(void **state)
{
	(void)state;
	struct gbot_req *r = req_new();
	const char *s = "{\"botId\":\"b\",\"botSessionId\":\"s\",\"inputMessage"
			"\":{\"type\":\"Text\",\"text\":\"hi\"}}GARBAGE";
	size_t len = strlen(s) - strlen("GARBAGE");
	assert_int_equal(gbot_req_parse(r, s, len, NULL), 0);
	assert_string_equal(r->text, "hi");
	free(r);
}

static void prints_a_moredata_reply(void **state)
{
	(void)state;
	struct gbot_reply rep = { .state = GBOT_MOREDATA };
	assert_true(gbot_reply_msg(&rep, "Hello \"you\"\n"));
	assert_true(gbot_reply_msg(&rep, "")); /* skipped */
	assert_true(gbot_reply_msg(&rep, "Next?"));
	rep.intent = "lost_card";
	rep.confidence = 0.9f;
	assert_true(gbot_reply_entity(&rep, "card", "debit"));
	struct strbuf sb;
	strbuf_init(&sb, 4096);
	assert_int_equal(gbot_reply_print(&rep, &sb), 0);
	assert_string_equal(
		strbuf_str(&sb),
		"{\"botState\":\"MOREDATA\",\"replymessages\":[{\"type\":"
		"\"Text\",\"text\":\"Hello \\\"you\\\"\\u000a\"},{\"type\":"
		"\"Text\",\"text\":\"Next?\"}],\"intent\":\"lost_card\","
		"\"confidence\":0.900,\"entities\":[{\"name\":\"card\","
		"\"value\":\"debit\"}],\"parameters\":{}}");
	cJSON *o = cJSON_Parse(strbuf_str(&sb));
	assert_non_null(o);
	cJSON_Delete(o);
	strbuf_fini(&sb);
}

static void prints_complete_and_failed_replies(void **state)
{
	(void)state;
	struct gbot_reply rep = { .state = GBOT_COMPLETE };
	assert_true(gbot_reply_param(&rep, "action", "transfer"));
	assert_true(gbot_reply_param(&rep, "action", "finished")); /* set */
	assert_true(gbot_reply_param(&rep, "transferTarget", "queue:cards"));
	rep.intent = "x";
	rep.confidence = 7.0f; /* clamped */
	struct strbuf sb;
	strbuf_init(&sb, 4096);
	assert_int_equal(gbot_reply_print(&rep, &sb), 0);
	assert_string_equal(
		strbuf_str(&sb),
		"{\"botState\":\"COMPLETE\",\"replymessages\":[],\"intent\":"
		"\"x\",\"confidence\":1.000,\"entities\":[],\"parameters\":{"
		"\"action\":\"finished\",\"transferTarget\":\"queue:cards\"}"
		"}");
	struct gbot_reply f = { .state = GBOT_FAILED,
				.error_code = "flow_error",
				.error_message = "boom" };
	sb.len = 0;
	assert_int_equal(gbot_reply_print(&f, &sb), 0);
	assert_string_equal(strbuf_str(&sb),
			    "{\"botState\":\"FAILED\",\"replymessages\":[],"
			    "\"entities\":[],\"parameters\":{},\"errorInfo\":"
			    "{\"errorCode\":\"flow_error\",\"errorMessage\":"
			    "\"boom\"}}");
	strbuf_fini(&sb);
	/* a cap too small: -E2BIG */
	strbuf_init(&sb, 16);
	assert_int_equal(gbot_reply_print(&f, &sb), -E2BIG);
	strbuf_fini(&sb);
	assert_string_equal(gbot_state_name(GBOT_MOREDATA), "MOREDATA");
}

static void reply_lists_are_bounded(void **state)
{
	(void)state;
	struct gbot_reply rep = { .state = GBOT_MOREDATA };
	for (int i = 0; i < GBOT_REPLIES_MAX; i++)
		assert_true(gbot_reply_msg(&rep, "m"));
	assert_false(gbot_reply_msg(&rep, "one too many"));
	char names[GBOT_PARAMS_MAX + 1][8];
	for (int i = 0; i <= GBOT_PARAMS_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "p%d", i);
		assert_true(gbot_reply_param(&rep, names[i], "v") ==
			    (i < GBOT_PARAMS_MAX));
	}
	for (int i = 0; i <= GBOT_ENTITIES_MAX; i++)
		assert_true(gbot_reply_entity(&rep, "e", "v") ==
			    (i < GBOT_ENTITIES_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_a_full_request),
		cmocka_unit_test(
			tolerates_bom_whitespace_and_missing_optionals),
		cmocka_unit_test(refuses_malformed_requests),
		cmocka_unit_test(refuses_oversize_fields_and_bodies),
		cmocka_unit_test(accepts_a_body_without_nul_terminator),
		cmocka_unit_test(prints_a_moredata_reply),
		cmocka_unit_test(prints_complete_and_failed_replies),
		cmocka_unit_test(reply_lists_are_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
