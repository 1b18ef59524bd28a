/* AudioHook messages: parsing every client message type (and the malformed
 * ones), durations, media choice, and the server messages we build. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "telephony/genesys/ahmsg.h"

#define ID "e160e428-53e2-487c-977d-96989bf5c99d"

static const char open_msg[] =
	"{\"version\":\"2\",\"type\":\"open\",\"seq\":1,\"serverseq\":0,"
	"\"id\":\"" ID "\",\"position\":\"PT0S\",\"parameters\":{"
	"\"organizationId\":\"d7934305-0972-4844-938e-9060eef73d05\","
	"\"conversationId\":\"090eaa2f-72fa-480a-83e0-8667ff89c0ec\","
	"\"participant\":{\"id\":\"883efee8-3d6c-4537-b500-6d7ca4b92fa0\","
	"\"ani\":\"+1-555-555-1234\",\"aniName\":\"John Doe\","
	"\"dnis\":\"+1-800-555-6789\"},"
	"\"media\":[{\"type\":\"audio\",\"format\":\"PCMU\","
	"\"channels\":[\"external\",\"internal\"],\"rate\":8000},"
	"{\"type\":\"audio\",\"format\":\"PCMU\",\"channels\":[\"external\"],"
	"\"rate\":8000},{\"type\":\"audio\",\"format\":\"PCMU\","
	"\"channels\":[\"internal\"],\"rate\":8000}],"
	"\"language\":\"en-US\",\"customConfig\":{\"k\":\"v\"},"
	"\"inputVariables\":{\"intent\":\"card\"}}}";

static void open_is_parsed(void **state)
{
	(void)state;
	struct ahmsg m = { 0 };
	assert_int_equal(ahmsg_parse(open_msg, strlen(open_msg), &m), 0);
	assert_int_equal(m.type, AHMSG_OPEN);
	assert_string_equal(m.id, ID);
	assert_int_equal(m.seq, 1);
	assert_true(m.has_position);
	assert_int_equal(m.position_ms, 0);
	assert_string_equal(m.conversation_id,
			    "090eaa2f-72fa-480a-83e0-8667ff89c0ec");
	assert_string_equal(m.ani, "+1-555-555-1234");
	assert_string_equal(m.ani_name, "John Doe");
	assert_string_equal(m.dnis, "+1-800-555-6789");
	assert_string_equal(m.language, "en-US");
	assert_int_equal(m.nmedia, 3);
	assert_int_equal(m.media[0].nchannels, 2);
	assert_int_equal(m.media[0].channels[1], AHMSG_CH_INTERNAL);
	assert_non_null(m.custom_config);
	assert_non_null(m.input_variables);
	assert_string_equal(
		cJSON_GetObjectItem(m.input_variables, "intent")->valuestring,
		"card");
	assert_int_equal(ahmsg_media_choose(&m), 0);
	/* parse again into the same struct: the old tree is freed (ASan) */
	assert_int_equal(ahmsg_parse(open_msg, strlen(open_msg), &m), 0);
	ahmsg_fini(&m);
	ahmsg_fini(&m);
}

static int parse_open_media(const char *media, struct ahmsg *m)
{
	char buf[1024];
	snprintf(buf, sizeof(buf),
		 "{\"version\":\"2\",\"type\":\"open\",\"seq\":1,"
		 "\"serverseq\":0,\"id\":\"x\",\"parameters\":{\"media\":%s}}",
		 media);
	return ahmsg_parse(buf, strlen(buf), m);
}

static void media_choice_prefers_stereo_pcmu(void **state)
{
	(void)state;
	static const struct {
		const char *media;
		int choice;
	} cases[] = {
		/* mono external wins over mono internal */
		{ "[{\"type\":\"audio\",\"format\":\"PCMU\",\"channels\":"
		  "[\"internal\"],\"rate\":8000},{\"type\":\"audio\","
		  "\"format\":\"PCMU\",\"channels\":[\"external\"],"
		  "\"rate\":8000}]",
		  1 },
		/* stereo L16 over mono PCMU */
		{ "[{\"type\":\"audio\",\"format\":\"PCMU\",\"channels\":"
		  "[\"external\"],\"rate\":8000},{\"type\":\"audio\","
		  "\"format\":\"L16\",\"channels\":[\"internal\","
		  "\"external\"],\"rate\":8000}]",
		  1 },
		/* stereo PCMU over stereo L16 */
		{ "[{\"type\":\"audio\",\"format\":\"L16\",\"channels\":"
		  "[\"external\",\"internal\"],\"rate\":8000},{\"type\":"
		  "\"audio\",\"format\":\"PCMU\",\"channels\":[\"internal\","
		  "\"external\"],\"rate\":8000}]",
		  1 },
		/* 16 kHz and an unknown format: nothing usable */
		{ "[{\"type\":\"audio\",\"format\":\"PCMU\",\"channels\":"
		  "[\"external\"],\"rate\":16000},{\"type\":\"audio\","
		  "\"format\":\"OPUS\",\"channels\":[\"external\"],"
		  "\"rate\":8000}]",
		  -ENOENT },
		{ "[]", -ENOENT },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ahmsg m = { 0 };
		assert_int_equal(parse_open_media(cases[i].media, &m), 0);
		int got = ahmsg_media_choose(&m);
		if (got != cases[i].choice)
			fail_msg("case %zu: %d != %d", i, got, cases[i].choice);
		ahmsg_fini(&m);
	}
	struct ahmsg m = { 0 };
	assert_int_equal(
		parse_open_media("[{\"type\":\"audio\",\"format\":\"PCMU\","
				 "\"channels\":[\"internal\",\"external\"],"
				 "\"rate\":8000}]",
				 &m),
		0);
	assert_int_equal(m.media[0].channels[0], AHMSG_CH_INTERNAL);
	assert_int_equal(m.media[0].channels[1], AHMSG_CH_EXTERNAL);
	ahmsg_fini(&m);
}

static void other_types_are_parsed(void **state)
{
	(void)state;
	struct ahmsg m = { 0 };
	const char *ping = "{\"version\":\"2\",\"type\":\"ping\",\"seq\":4,"
			   "\"serverseq\":2,\"id\":\"x\","
			   "\"position\":\"PT1M2.345S\",\"parameters\":{}}";
	assert_int_equal(ahmsg_parse(ping, strlen(ping), &m), 0);
	assert_int_equal(m.type, AHMSG_PING);
	assert_int_equal(m.serverseq, 2);
	assert_int_equal(m.position_ms, 62345);
	const char *disc = "{\"version\":\"2\",\"type\":\"discarded\","
			   "\"seq\":5,\"id\":\"x\",\"parameters\":{"
			   "\"start\":\"PT3.2S\",\"discarded\":\"PT0.5S\"}}";
	assert_int_equal(ahmsg_parse(disc, strlen(disc), &m), 0);
	assert_int_equal(m.type, AHMSG_DISCARDED);
	assert_int_equal(m.discard_start_ms, 3200);
	assert_int_equal(m.discard_ms, 500);
	const char *close = "{\"version\":\"2\",\"type\":\"close\",\"seq\":6,"
			    "\"id\":\"x\",\"parameters\":{\"reason\":"
			    "\"end\"}}";
	assert_int_equal(ahmsg_parse(close, strlen(close), &m), 0);
	assert_int_equal(m.type, AHMSG_CLOSE);
	assert_string_equal(m.reason, "end");
	const char *err = "{\"version\":\"2\",\"type\":\"error\",\"seq\":6,"
			  "\"id\":\"x\",\"parameters\":{\"code\":429,"
			  "\"message\":\"slow down\"}}";
	assert_int_equal(ahmsg_parse(err, strlen(err), &m), 0);
	assert_int_equal(m.code, 429);
	assert_string_equal(m.message, "slow down");
	const char *dtmf = "{\"version\":\"2\",\"type\":\"dtmf\",\"seq\":7,"
			   "\"id\":\"x\",\"parameters\":{\"digit\":\"#\"}}";
	assert_int_equal(ahmsg_parse(dtmf, strlen(dtmf), &m), 0);
	assert_int_equal(m.digit, '#');
	const char *unk = "{\"version\":\"2\",\"type\":\"frobnicate\","
			  "\"seq\":8,\"id\":\"x\"}";
	assert_int_equal(ahmsg_parse(unk, strlen(unk), &m), 0);
	assert_int_equal(m.type, AHMSG_UNKNOWN);
	assert_string_equal(m.type_name, "frobnicate");
	const char *simple[] = { "paused", "resumed", "update",
				 "playback_started", "playback_completed" };
	for (size_t i = 0; i < 5; i++) {
		char buf[256];
		snprintf(buf, sizeof(buf),
			 "{\"version\":\"2\",\"type\":\"%s\",\"seq\":9,"
			 "\"id\":\"x\",\"parameters\":{}}",
			 simple[i]);
		assert_int_equal(ahmsg_parse(buf, strlen(buf), &m), 0);
		assert_string_equal(ahmsg_type_name(m.type), simple[i]);
	}
	ahmsg_fini(&m);
}

static void malformed_messages_are_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"not json",
		"[]",
		"{}",
		"{\"version\":\"1\",\"type\":\"ping\",\"seq\":1,\"id\":\"x\"}",
		"{\"version\":2,\"type\":\"ping\",\"seq\":1,\"id\":\"x\"}",
		"{\"version\":\"2\",\"type\":\"ping\",\"seq\":0,\"id\":\"x\"}",
		"{\"version\":\"2\",\"type\":\"ping\",\"seq\":-1,\"id\":\"x\"}",
		"{\"version\":\"2\",\"type\":\"ping\",\"seq\":1.5,\"id\":"
		"\"x\"}",
		"{\"version\":\"2\",\"type\":\"ping\",\"seq\":\"1\",\"id\":"
		"\"x\"}",
		"{\"version\":\"2\",\"type\":\"ping\",\"seq\":1}",
		"{\"version\":\"2\",\"type\":\"ping\",\"seq\":1,\"id\":\"\"}",
		"{\"version\":\"2\",\"seq\":1,\"id\":\"x\"}",
		"{\"version\":\"2\",\"type\":7,\"seq\":1,\"id\":\"x\"}",
		"{\"version\":\"2\",\"type\":\"ping\",\"seq\":1,\"id\":\"x\","
		"\"position\":\"12s\"}",
		"{\"version\":\"2\",\"type\":\"ping\",\"seq\":1,\"id\":\"x\","
		"\"position\":\"PTS\"}",
		"{\"version\":\"2\",\"type\":\"ping\",\"seq\":1,\"id\":\"x\","
		"\"parameters\":[]}",
		"{\"version\":\"2\",\"type\":\"open\",\"seq\":1,\"id\":\"x\"}",
		"{\"version\":\"2\",\"type\":\"open\",\"seq\":1,\"id\":\"x\","
		"\"parameters\":{}}",
		"{\"version\":\"2\",\"type\":\"open\",\"seq\":1,\"id\":\"x\","
		"\"parameters\":{\"media\":{}}}",
		"{\"version\":\"2\",\"type\":\"open\",\"seq\":1,\"id\":\"x\","
		"\"parameters\":{\"media\":[{\"type\":\"audio\"}]}}",
		"{\"version\":\"2\",\"type\":\"open\",\"seq\":1,\"id\":\"x\","
		"\"parameters\":{\"media\":[{\"type\":\"audio\",\"format\":"
		"\"PCMU\",\"rate\":8000,\"channels\":[\"external\","
		"\"external\"]}]}}",
		"{\"version\":\"2\",\"type\":\"open\",\"seq\":1,\"id\":\"x\","
		"\"parameters\":{\"media\":[],\"participant\":\"x\"}}",
		"{\"version\":\"2\",\"type\":\"open\",\"seq\":1,\"id\":\"x\","
		"\"parameters\":{\"media\":[],\"customConfig\":[]}}",
		"{\"version\":\"2\",\"type\":\"dtmf\",\"seq\":1,\"id\":\"x\","
		"\"parameters\":{\"digit\":\"12\"}}",
		"{\"version\":\"2\",\"type\":\"dtmf\",\"seq\":1,\"id\":\"x\","
		"\"parameters\":{\"digit\":\"x\"}}",
		"{\"version\":\"2\",\"type\":\"discarded\",\"seq\":1,\"id\":"
		"\"x\",\"parameters\":{\"start\":\"PT1S\"}}",
		"{\"version\":\"2\",\"type\":\"error\",\"seq\":1,\"id\":\"x\","
		"\"parameters\":{\"message\":\"m\"}}",
		"{\"version\":\"2\",\"type\":\"close\",\"seq\":1,\"id\":\"x\","
		"\"parameters\":{\"reason\":5}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ahmsg m = { 0 };
		int err = ahmsg_parse(bad[i], strlen(bad[i]), &m);
		if (err != -EBADMSG)
			fail_msg("case %zu: %d: %s", i, err, bad[i]);
		assert_null(m.params);
	}
	static char big[AHMSG_TEXT_MAX + 2];
	memset(big, ' ', sizeof(big) - 1);
	struct ahmsg m = { 0 };
	assert_int_equal(ahmsg_parse(big, sizeof(big) - 1, &m), -EMSGSIZE);
}

static void durations_parse_and_print(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		uint64_t ms;
	} ok[] = {
		{ "PT0S", 0 },		 { "PT12.34S", 12340 },
		{ "PT1.2345S", 1234 },	 { "PT1M", 60000 },
		{ "PT1H2M3S", 3723000 }, { "PT0.001S", 1 },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint64_t ms = 99;
		assert_int_equal(ahmsg_duration_parse(ok[i].s, &ms), 0);
		assert_int_equal(ms, ok[i].ms);
	}
	static const char *const bad[] = { "",	    "P",   "PT",     "PT1",
					   "PT1.S", "PTS", "PT1S2M", "PT1.5M",
					   "PT-1S", "T1S", "PT1S ",  "pt1s" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t ms;
		if (ahmsg_duration_parse(bad[i], &ms) != -EBADMSG)
			fail_msg("accepted %s", bad[i]);
	}
	char buf[32];
	assert_int_equal(ahmsg_duration_print(buf, sizeof(buf), 12340), 8);
	assert_string_equal(buf, "PT12.34S");
	ahmsg_duration_print(buf, sizeof(buf), 0);
	assert_string_equal(buf, "PT0S");
	ahmsg_duration_print(buf, sizeof(buf), 1001);
	assert_string_equal(buf, "PT1.001S");
	assert_int_equal(ahmsg_duration_print(buf, 4, 12340), -ENOSPC);
}

static cJSON *parse_out(const char *out, int n, const char *type, uint64_t seq,
			uint64_t clientseq)
{
	assert_true(n > 0);
	assert_int_equal(strlen(out), (size_t)n);
	cJSON *j = cJSON_Parse(out);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "version")->valuestring,
			    "2");
	assert_string_equal(cJSON_GetObjectItem(j, "type")->valuestring, type);
	assert_string_equal(cJSON_GetObjectItem(j, "id")->valuestring, ID);
	assert_int_equal(cJSON_GetObjectItem(j, "seq")->valuedouble, seq);
	assert_int_equal(cJSON_GetObjectItem(j, "clientseq")->valuedouble,
			 clientseq);
	assert_true(cJSON_IsObject(cJSON_GetObjectItem(j, "parameters")));
	return j;
}

static void server_messages_are_built(void **state)
{
	(void)state;
	char out[AHMSG_OUT_MAX];
	struct ahmsg_hdr h = { .id = ID, .seq = 1, .clientseq = 1 };
	struct ahmsg_media md = { .format = AHMSG_FMT_PCMU,
				  .rate_hz = 8000,
				  .nchannels = 2,
				  .channels = { AHMSG_CH_INTERNAL,
						AHMSG_CH_EXTERNAL } };
	int n = ahmsg_build_opened(out, sizeof(out), &h, &md, true);
	cJSON *j = parse_out(out, n, "opened", 1, 1);
	cJSON *p = cJSON_GetObjectItem(j, "parameters");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(p, "startPaused")));
	cJSON *media = cJSON_GetObjectItem(p, "media");
	assert_int_equal(cJSON_GetArraySize(media), 1);
	cJSON *m0 = cJSON_GetArrayItem(media, 0);
	assert_string_equal(cJSON_GetObjectItem(m0, "format")->valuestring,
			    "PCMU");
	assert_string_equal(
		cJSON_GetArrayItem(cJSON_GetObjectItem(m0, "channels"), 0)
			->valuestring,
		"internal");
	assert_int_equal(cJSON_GetObjectItem(m0, "rate")->valueint, 8000);
	cJSON_Delete(j);

	h.seq = 2;
	h.clientseq = 5;
	const char *simple[] = { "pong", "updated", "pause", "resume",
				 "closed" };
	for (size_t i = 0; i < 5; i++) {
		n = ahmsg_build_simple(out, sizeof(out), &h, simple[i]);
		cJSON_Delete(parse_out(out, n, simple[i], 2, 5));
	}
	assert_int_equal(ahmsg_build_simple(out, sizeof(out), &h, "opened"),
			 -EINVAL);

	cJSON *vars = cJSON_CreateObject();
	cJSON_AddStringToObject(vars, "intent", "card_arrival");
	cJSON_AddStringToObject(vars, "action", "transfer");
	n = ahmsg_build_disconnect(out, sizeof(out), &h, "completed", "done",
				   vars);
	j = parse_out(out, n, "disconnect", 2, 5);
	p = cJSON_GetObjectItem(j, "parameters");
	assert_string_equal(cJSON_GetObjectItem(p, "reason")->valuestring,
			    "completed");
	assert_string_equal(
		cJSON_GetObjectItem(cJSON_GetObjectItem(p, "outputVariables"),
				    "action")
			->valuestring,
		"transfer");
	cJSON_Delete(j);
	cJSON_Delete(vars);

	n = ahmsg_build_error(out, sizeof(out), &h, 409, "seq \"bad\"");
	j = parse_out(out, n, "error", 2, 5);
	p = cJSON_GetObjectItem(j, "parameters");
	assert_int_equal(cJSON_GetObjectItem(p, "code")->valueint, 409);
	assert_string_equal(cJSON_GetObjectItem(p, "message")->valuestring,
			    "seq \"bad\"");
	cJSON_Delete(j);

	/* too small a buffer, bad arguments */
	assert_int_equal(ahmsg_build_simple(out, 20, &h, "pong"), -ENOSPC);
	struct ahmsg_hdr noid = { .id = "", .seq = 1 };
	assert_int_equal(ahmsg_build_simple(out, sizeof(out), &noid, "pong"),
			 -EINVAL);
}

static void events_are_built(void **state)
{
	(void)state;
	char out[AHMSG_OUT_MAX];
	struct ahmsg_hdr h = { .id = ID, .seq = 7, .clientseq = 9 };
	struct ahmsg_transcript t = {
		.channel = AHMSG_CH_INTERNAL,
		.text = "how can i help",
		.confidence = 0.8765f,
		.offset_ms = 1500,
		.duration_ms = 1250,
		.is_final = true,
		.language = "en-US",
	};
	int n = ahmsg_build_transcript(out, sizeof(out), &h, &t);
	cJSON *j = parse_out(out, n, "event", 7, 9);
	cJSON *e = cJSON_GetArrayItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(j, "parameters"),
				    "entities"),
		0);
	assert_string_equal(cJSON_GetObjectItem(e, "type")->valuestring,
			    "transcript");
	cJSON *d = cJSON_GetObjectItem(e, "data");
	assert_string_equal(cJSON_GetObjectItem(d, "channelId")->valuestring,
			    "internal");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(d, "isFinal")));
	assert_string_equal(cJSON_GetObjectItem(d, "offset")->valuestring,
			    "PT1.5S");
	assert_string_equal(cJSON_GetObjectItem(d, "duration")->valuestring,
			    "PT1.25S");
	cJSON *alt =
		cJSON_GetArrayItem(cJSON_GetObjectItem(d, "alternatives"), 0);
	assert_float_equal(cJSON_GetObjectItem(alt, "confidence")->valuedouble,
			   0.877, 1e-9);
	cJSON *in = cJSON_GetArrayItem(
		cJSON_GetObjectItem(alt, "interpretations"), 0);
	assert_string_equal(cJSON_GetObjectItem(in, "type")->valuestring,
			    "display");
	assert_string_equal(cJSON_GetObjectItem(in, "transcript")->valuestring,
			    "how can i help");
	cJSON_Delete(j);

	struct ahmsg_suggestion s[2] = {
		{ .type = "faq",
		  .question = "Where is my card?",
		  .answer = "Cards arrive in 3-5 days." },
		{ .type = "article",
		  .title = "Card delivery",
		  .excerpt = "Delivery takes...",
		  .document_uri = "https://kb.example.com/1" },
	};
	struct ahmsg_assist a = { .text = "my card has not arrived",
				  .channel = AHMSG_CH_EXTERNAL,
				  .offset_ms = 3000,
				  .duration_ms = 2000,
				  .intent = "card_arrival",
				  .confidence = 0.91f,
				  .suggestions = s,
				  .nsuggestions = 2 };
	n = ahmsg_build_assist(out, sizeof(out), &h, &a);
	j = parse_out(out, n, "event", 7, 9);
	e = cJSON_GetArrayItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(j, "parameters"),
				    "entities"),
		0);
	assert_string_equal(cJSON_GetObjectItem(e, "type")->valuestring,
			    "agentassist");
	d = cJSON_GetObjectItem(e, "data");
	assert_string_equal(
		cJSON_GetObjectItem(cJSON_GetObjectItem(d, "intent"), "name")
			->valuestring,
		"card_arrival");
	cJSON *u = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "utterances"), 0);
	assert_string_equal(cJSON_GetObjectItem(u, "text")->valuestring,
			    "my card has not arrived");
	cJSON *sg = cJSON_GetObjectItem(d, "suggestions");
	assert_int_equal(cJSON_GetArraySize(sg), 2);
	assert_string_equal(
		cJSON_GetObjectItem(cJSON_GetArrayItem(sg, 0), "answer")
			->valuestring,
		"Cards arrive in 3-5 days.");
	assert_string_equal(
		cJSON_GetObjectItem(cJSON_GetArrayItem(sg, 1), "documentUri")
			->valuestring,
		"https://kb.example.com/1");
	cJSON_Delete(j);

	n = ahmsg_build_barge_in(out, sizeof(out), &h);
	j = parse_out(out, n, "event", 7, 9);
	e = cJSON_GetArrayItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(j, "parameters"),
				    "entities"),
		0);
	assert_string_equal(cJSON_GetObjectItem(e, "type")->valuestring,
			    "barge_in");
	cJSON_Delete(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(open_is_parsed),
		cmocka_unit_test(media_choice_prefers_stereo_pcmu),
		cmocka_unit_test(other_types_are_parsed),
		cmocka_unit_test(malformed_messages_are_refused),
		cmocka_unit_test(durations_parse_and_print),
		cmocka_unit_test(server_messages_are_built),
		cmocka_unit_test(events_are_built),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
