/* The Audio Connector bot's pure parts: which flow an `open` asks for
 * (inputVariables over customConfig, bad values ignored) and the last
 * classified intent of a call's turns (for outputVariables). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "telephony/genesys/ahmsg.h"
#include "telephony/genesys/audioconnector.h"

static const char *flow_of_open(struct ahmsg *m, const char *params)
{
	char buf[2048];
	snprintf(buf, sizeof(buf),
		 "{\"version\":\"2\",\"id\":\"e160e428-53e2-487c-977d-"
		 "96989bf5c99d\",\"type\":\"open\",\"seq\":1,\"serverseq\":0,"
		 "\"position\":\"PT0S\",\"parameters\":{\"organizationId\":"
		 "\"o\",\"conversationId\":\"c\",\"participant\":{\"id\":\"p\","
		 "\"ani\":\"+1555\",\"aniName\":\"A\",\"dnis\":\"+1800\"},"
		 "\"media\":[{\"type\":\"audio\",\"format\":\"PCMU\","
		 "\"channels\":[\"external\"],\"rate\":8000}]%s}}",
		 params);
	assert_int_equal(ahmsg_parse(buf, strlen(buf), m), 0);
	assert_int_equal(m->type, AHMSG_OPEN);
	return acbot_open_flow(m);
}

static void open_names_the_flow(void **state)
{
	(void)state;
	struct ahmsg m;
	memset(&m, 0, sizeof(m));
	assert_null(flow_of_open(&m, ""));
	ahmsg_fini(&m);
	assert_string_equal(
		flow_of_open(&m, ",\"inputVariables\":{\"flow\":\"bank-crm\"},"
				 "\"customConfig\":{\"flow\":\"other\"}"),
		"bank-crm");
	ahmsg_fini(&m);
	assert_string_equal(flow_of_open(&m, ",\"customConfig\":{\"flow\":"
					     "\"other\"}"),
			    "other");
	ahmsg_fini(&m);
	/* not a string, empty, too long: ignored (customConfig then) */
	assert_string_equal(
		flow_of_open(&m, ",\"inputVariables\":{\"flow\":7},"
				 "\"customConfig\":{\"flow\":\"other\"}"),
		"other");
	ahmsg_fini(&m);
	assert_null(flow_of_open(&m, ",\"inputVariables\":{\"flow\":\"\"}"));
	ahmsg_fini(&m);
	char big[200];
	snprintf(big, sizeof(big), ",\"inputVariables\":{\"flow\":\"%064d\"}",
		 0);
	assert_null(flow_of_open(&m, big));
	ahmsg_fini(&m);
	assert_null(acbot_open_flow(NULL));
}

static void last_intent_of_the_turns(void **state)
{
	(void)state;
	char intent[64];
	double conf = -1;
	assert_false(acbot_last_intent(NULL, intent, sizeof(intent), &conf));
	assert_false(acbot_last_intent("[]", intent, sizeof(intent), &conf));
	assert_false(acbot_last_intent("{\"intent\":\"x\"}", intent,
				       sizeof(intent), &conf));
	assert_false(acbot_last_intent("[{\"seq\":1,\"input\":\"dtmf\"}]",
				       intent, sizeof(intent), &conf));
	assert_false(
		acbot_last_intent("not json", intent, sizeof(intent), &conf));
	assert_true(acbot_last_intent(
		"[{\"intent\":\"check_balance\",\"intent_confidence\":0.4},"
		"{\"input\":\"dtmf\"},{\"intent\":\"lost_card\","
		"\"intent_confidence\":0.92},{\"intent\":\"\"}]",
		intent, sizeof(intent), &conf));
	assert_string_equal(intent, "lost_card");
	assert_float_equal(conf, 0.92, 1e-9);
	/* no confidence: 0; a small buffer: cut */
	char small[4];
	assert_true(acbot_last_intent("[{\"intent\":\"talk_to_agent\"}]", small,
				      sizeof(small), &conf));
	assert_string_equal(small, "tal");
	assert_float_equal(conf, 0.0, 1e-9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(open_names_the_flow),
		cmocka_unit_test(last_intent_of_the_turns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
