/* Tests for the simulator's parsers of server messages (sim/wsmsg.h):
 * Twilio Media Streams media/mark/clear, Genesys AudioHook opened, event
 * (transcript, agentassist, barge_in), disconnect with outputVariables,
 * error; table-driven malformed inputs; base64 both ways; URL split. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sim/wsc.h"
#include "core/b64.h"
#include "sim/wsmsg.h"

static struct sim_twmsg tw;
static struct sim_ahmsg ah;

static int twp(const char *s)
{
	return sim_twmsg_parse(s, strlen(s), &tw);
}

static int ahp(const char *s)
{
	return sim_ahmsg_parse(s, strlen(s), &ah);
}

static void twilio_media_mark_clear(void **state)
{
	(void)state;
	assert_int_equal(twp("{\"event\":\"media\",\"streamSid\":\"MZ1\","
			     "\"media\":{\"payload\":\"/38A\"}}"),
			 0);
	assert_int_equal(tw.type, SIM_TW_MEDIA);
	assert_string_equal(tw.stream_sid, "MZ1");
	assert_int_equal(tw.payload_len, 3);
	assert_int_equal(tw.payload[0], 0xff);
	assert_int_equal(tw.payload[1], 0x7f);
	assert_int_equal(tw.payload[2], 0x00);
	assert_int_equal(twp("{\"event\":\"mark\",\"streamSid\":\"MZ1\","
			     "\"mark\":{\"name\":\"p-1\"}}"),
			 0);
	assert_int_equal(tw.type, SIM_TW_MARK);
	assert_string_equal(tw.name, "p-1");
	assert_int_equal(twp("{\"event\":\"clear\",\"streamSid\":\"MZ1\"}"), 0);
	assert_int_equal(tw.type, SIM_TW_CLEAR);
	assert_int_equal(twp("{\"event\":\"frobnicate\"}"), 0);
	assert_int_equal(tw.type, SIM_TW_UNKNOWN);
	assert_string_equal(tw.event, "frobnicate");
}

static void twilio_malformed(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int err;
	} cases[] = {
		{ "", -EBADMSG },
		{ "not json", -EBADMSG },
		{ "[1,2]", -EBADMSG },
		{ "{}", -EBADMSG },
		{ "{\"event\":5}", -EBADMSG },
		{ "{\"event\":\"media\"}", -EBADMSG },
		{ "{\"event\":\"media\",\"media\":{}}", -EBADMSG },
		{ "{\"event\":\"media\",\"media\":{\"payload\":7}}", -EBADMSG },
		{ "{\"event\":\"media\",\"media\":{\"payload\":\"%%%%\"}}",
		  -EILSEQ },
		{ "{\"event\":\"media\",\"media\":{\"payload\":\"A\"}}",
		  -EILSEQ },
		{ "{\"event\":\"mark\",\"mark\":{}}", -EBADMSG },
		{ "{\"event\":\"mark\",\"mark\":\"x\"}", -EBADMSG },
		{ "{\"event\":\"clear\",\"streamSid\":5}", -EBADMSG },
		{ "{\"event\":\"media\",\"media\":{\"payload\":\"/38A\"}",
		  -EBADMSG },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err = twp(cases[i].in);
		if (err != cases[i].err)
			fail_msg("case %zu \"%s\": %d, expected %d", i,
				 cases[i].in, err, cases[i].err);
		assert_int_equal(tw.type, SIM_TW_UNKNOWN);
	}
	/* a payload over the cap */
	static char big[SIM_WSMSG_PAYLOAD_MAX * 2 + 100];
	int n = snprintf(big, sizeof(big),
			 "{\"event\":\"media\",\"media\":{\"payload\":\"");
	memset(big + n, 'A', SIM_WSMSG_PAYLOAD_MAX * 4 / 3 + 8);
	strcpy(big + n + SIM_WSMSG_PAYLOAD_MAX * 4 / 3 + 8, "\"}}");
	assert_int_equal(twp(big), -EMSGSIZE);
	assert_int_equal(sim_twmsg_parse("{}", SIM_WSMSG_TEXT_MAX + 1, &tw),
			 -EMSGSIZE);
}

static void audiohook_server_messages(void **state)
{
	(void)state;
	assert_int_equal(
		ahp("{\"version\":\"2\",\"type\":\"opened\",\"seq\":1,"
		    "\"clientseq\":1,\"id\":\"s1\",\"parameters\":{\"media\":"
		    "[{\"type\":\"audio\",\"format\":\"PCMU\",\"channels\":"
		    "[\"external\"],\"rate\":8000}]}}"),
		0);
	assert_int_equal(ah.type, SIM_AH_OPENED);
	assert_int_equal(ah.seq, 1);
	assert_int_equal(ah.clientseq, 1);
	assert_string_equal(ah.id, "s1");
	assert_string_equal(ah.format, "PCMU");
	assert_int_equal(ah.rate_hz, 8000);

	assert_int_equal(
		ahp("{\"version\":\"2\",\"type\":\"event\",\"seq\":3,\"id\":"
		    "\"s1\",\"parameters\":{\"entities\":[{\"type\":"
		    "\"transcript\",\"data\":{\"channelId\":\"external\","
		    "\"isFinal\":true,\"alternatives\":[{\"confidence\":0.9,"
		    "\"interpretations\":[{\"type\":\"display\",\"transcript\":"
		    "\"check my balance\"}]}]}},{\"type\":\"agentassist\","
		    "\"data\":{\"intent\":{\"name\":\"check_balance\"}}},"
		    "{\"type\":\"barge_in\",\"data\":{}}]}}"),
		0);
	assert_int_equal(ah.type, SIM_AH_EVENT);
	assert_true(ah.transcript);
	assert_true(ah.transcript_final);
	assert_string_equal(ah.channel, "external");
	assert_string_equal(ah.text, "check my balance");
	assert_true(ah.assist);
	assert_string_equal(ah.intent, "check_balance");
	assert_true(ah.barge_in);

	assert_int_equal(
		ahp("{\"version\":\"2\",\"type\":\"disconnect\",\"seq\":9,"
		    "\"clientseq\":50,\"id\":\"s1\",\"parameters\":{\"reason\":"
		    "\"completed\",\"outputVariables\":{\"action\":"
		    "\"transfer\","
		    "\"transferTarget\":\"\",\"transferQueue\":\"billing\"}}}"),
		0);
	assert_int_equal(ah.type, SIM_AH_DISCONNECT);
	assert_string_equal(ah.reason, "completed");
	assert_string_equal(ah.action, "transfer");
	assert_string_equal(ah.transfer_queue, "billing");
	assert_string_equal(ah.transfer_target, "");

	assert_int_equal(ahp("{\"version\":\"2\",\"type\":\"error\",\"seq\":2,"
			     "\"id\":\"s1\",\"parameters\":{\"code\":409,"
			     "\"message\":\"seq out of order\"}}"),
			 0);
	assert_int_equal(ah.type, SIM_AH_ERROR);
	assert_int_equal(ah.code, 409);
	assert_string_equal(ah.message, "seq out of order");

	assert_int_equal(ahp("{\"version\":\"2\",\"type\":\"closed\",\"seq\":4,"
			     "\"id\":\"s1\"}"),
			 0);
	assert_int_equal(ah.type, SIM_AH_CLOSED);
	assert_int_equal(ahp("{\"version\":\"2\",\"type\":\"whatever\","
			     "\"seq\":4,\"id\":\"s1\"}"),
			 0);
	assert_int_equal(ah.type, SIM_AH_UNKNOWN);
	/* an entity we cannot read is skipped, not an error */
	assert_int_equal(ahp("{\"version\":\"2\",\"type\":\"event\",\"seq\":5,"
			     "\"id\":\"s1\",\"parameters\":{\"entities\":"
			     "[7,{\"type\":1},{\"type\":\"transcript\"}]}}"),
			 0);
	assert_false(ah.transcript);
}

static void audiohook_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"[]",
		"{\"type\":\"opened\",\"seq\":1,\"id\":\"s\"}",
		"{\"version\":\"1\",\"type\":\"opened\",\"seq\":1,\"id\":"
		"\"s\"}",
		"{\"version\":2,\"type\":\"opened\",\"seq\":1,\"id\":\"s\"}",
		"{\"version\":\"2\",\"seq\":1,\"id\":\"s\"}",
		"{\"version\":\"2\",\"type\":\"opened\",\"id\":\"s\"}",
		"{\"version\":\"2\",\"type\":\"opened\",\"seq\":-1,\"id\":"
		"\"s\"}",
		"{\"version\":\"2\",\"type\":\"opened\",\"seq\":1.5,\"id\":"
		"\"s\"}",
		"{\"version\":\"2\",\"type\":\"opened\",\"seq\":\"1\",\"id\":"
		"\"s\"}",
		"{\"version\":\"2\",\"type\":\"opened\",\"seq\":1}",
		"{\"version\":\"2\",\"type\":\"opened\",\"seq\":1,\"id\":\"s\","
		"\"clientseq\":\"x\"}",
		"{\"version\":\"2\",\"type\":\"opened\",\"seq\":1,\"id\":\"s\","
		"\"parameters\":[]}",
		"{\"version\":\"2\",\"type\":\"event\",\"seq\":1,\"id\":\"s\","
		"\"parameters\":{\"entities\":{}}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int err = ahp(bad[i]);
		if (err != -EBADMSG)
			fail_msg("case %zu \"%s\": %d", i, bad[i], err);
		assert_int_equal(ah.type, SIM_AH_UNKNOWN);
	}
	assert_int_equal(sim_ahmsg_parse("{}", SIM_WSMSG_TEXT_MAX + 1, &ah),
			 -EMSGSIZE);
	/* a transcript longer than we keep is cut, not an error */
	static char longer[4096];
	int n = snprintf(longer, sizeof(longer),
			 "{\"version\":\"2\",\"type\":\"event\",\"seq\":1,"
			 "\"id\":\"s\",\"parameters\":{\"entities\":[{"
			 "\"type\":\"transcript\",\"data\":{\"alternatives\":"
			 "[{\"interpretations\":[{\"transcript\":\"");
	memset(longer + n, 'w', 2000);
	strcpy(longer + n + 2000, "\"}]}]}}]}}");
	assert_int_equal(ahp(longer), 0);
	assert_int_equal(strlen(ah.text), SIM_WSMSG_TEXT_KEEP - 1);
}

static void base64_both_ways(void **state)
{
	(void)state;
	char enc[16];
	uint8_t dec[8];
	assert_int_equal(b64_encode((const uint8_t *)"f", 1, enc, 16), 4);
	assert_string_equal(enc, "Zg==");
	assert_int_equal(b64_encode((const uint8_t *)"foob", 4, enc, 16), 8);
	assert_string_equal(enc, "Zm9vYg==");
	assert_int_equal(b64_encode((const uint8_t *)"foob", 4, enc, 8),
			 -ENOSPC);
	assert_int_equal(b64_decode("Zm9vYg==", 8, dec, sizeof(dec)), 4);
	assert_memory_equal(dec, "foob", 4);
	assert_int_equal(b64_decode("Zm9vYg", 6, dec, sizeof(dec)), 4);
	assert_int_equal(b64_decode("Zm9v!g==", 8, dec, sizeof(dec)), -EILSEQ);
	assert_int_equal(b64_decode("Zm9vY", 5, dec, sizeof(dec)), -EILSEQ);
	assert_int_equal(b64_decode("Zm9vYmFy", 8, dec, 4), -EMSGSIZE);
}

static void url_split_for_signatures(void **state)
{
	(void)state;
	char host[64], target[128];
	assert_int_equal(
		sim_wsc_url_split("ws://127.0.0.1:8081/twilio/media?a=1", host,
				  sizeof(host), target, sizeof(target)),
		0);
	assert_string_equal(host, "127.0.0.1");
	assert_string_equal(target, "/twilio/media?a=1");
	assert_int_equal(sim_wsc_url_split("ws://[::1]:80", host, sizeof(host),
					   target, sizeof(target)),
			 0);
	assert_string_equal(host, "[::1]");
	assert_string_equal(target, "/");
	assert_int_equal(sim_wsc_url_split("127.0.0.1/x", host, sizeof(host),
					   target, sizeof(target)),
			 -EINVAL);
	assert_int_equal(sim_wsc_url_split("ws://:80/x", host, sizeof(host),
					   target, sizeof(target)),
			 -EINVAL);
	assert_int_equal(sim_wsc_url_split("ws://averyveryverylonghost/x", host,
					   8, target, sizeof(target)),
			 -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(twilio_media_mark_clear),
		cmocka_unit_test(twilio_malformed),
		cmocka_unit_test(audiohook_server_messages),
		cmocka_unit_test(audiohook_malformed),
		cmocka_unit_test(base64_both_ways),
		cmocka_unit_test(url_split_for_signatures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
