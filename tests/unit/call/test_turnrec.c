/* The one turn-record shape (call/turnrec.h): every documented key present,
 * nulls for what a channel cannot know, t_ms relative to the end of speech,
 * strings escaped and cut, and a full buffer left as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "call/turnrec.h"
#include "core/strbuf.h"

static cJSON *render(const struct turnrec *r)
{
	struct strbuf sb;
	strbuf_init(&sb, 1 << 16);
	assert_int_equal(turnrec_json(&sb, r), 0);
	cJSON *o = cJSON_Parse(strbuf_str(&sb));
	assert_non_null(o);
	strbuf_fini(&sb);
	return o;
}

static const cJSON *get(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	assert_non_null(v); /* every key is always there */
	return v;
}

static double ms(const cJSON *o, const char *k)
{
	const cJSON *v = get(get(o, "t_ms"), k);
	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void a_speech_turn_has_every_field_and_relative_times(void **st)
{
	(void)st;
	struct channel_turn t = {
		.node = "main_menu",
		.input = "speech",
		.end = "speech",
		.transcript = "i want to check my \"balance\"",
		.stt_engine = "moonshine",
		.stt_confidence = 0.9f,
		.stt_early = true,
		.stt_streamed = true,
		.continues = true,
		.intent = "check_balance",
		.intent_confidence = 0.95f,
		.match = "high",
		.next = "balance",
		.barge_in = true,
		.speech_ms = 1960,
		.speech_end_us = 1000000,
		.stt_final_us = 1114800,
		.nlu_done_us = 1114900,
		.response_us = 1115000,
	};
	struct turnrec r;
	turnrec_from_channel(&r, 3, &t);
	r.tts_ready_us = 1115100;
	r.first_rtp_us = 1122600;
	cJSON *o = render(&r);
	assert_int_equal(get(o, "seq")->valueint, 3);
	assert_string_equal(get(o, "node")->valuestring, "main_menu");
	assert_string_equal(get(o, "transcript")->valuestring,
			    "i want to check my \"balance\"");
	assert_string_equal(get(o, "stt_engine")->valuestring, "moonshine");
	assert_float_equal(get(o, "stt_confidence")->valuedouble, 0.9, 1e-3);
	assert_true(cJSON_IsTrue(get(o, "stt_early")));
	assert_true(cJSON_IsTrue(get(o, "stt_streamed")));
	assert_true(cJSON_IsTrue(get(o, "continues")));
	assert_string_equal(get(o, "intent")->valuestring, "check_balance");
	assert_float_equal(get(o, "intent_confidence")->valuedouble, 0.95,
			   1e-3);
	assert_string_equal(get(o, "match")->valuestring, "high");
	assert_string_equal(get(o, "next")->valuestring, "balance");
	assert_true(cJSON_IsTrue(get(o, "barge_in")));
	assert_string_equal(get(o, "end")->valuestring, "speech");
	assert_int_equal(get(o, "speech_ms")->valueint, 1960);
	assert_float_equal(ms(o, "speech_end"), 0.0, 1e-9);
	assert_float_equal(ms(o, "stt_final"), 114.8, 1e-9);
	assert_float_equal(ms(o, "nlu_done"), 114.9, 1e-9);
	assert_float_equal(ms(o, "response"), 115.0, 1e-9);
	assert_float_equal(ms(o, "tts_ready"), 115.1, 1e-9);
	assert_float_equal(ms(o, "first_rtp"), 122.6, 1e-9);
	cJSON_Delete(o);
}

static void a_dtmf_turn_has_nulls_where_nothing_happened(void **st)
{
	(void)st;
	struct channel_turn t = {
		.node = "menu", .input = "dtmf", .end = "dtmf", .next = "two"
	};
	struct turnrec r;
	turnrec_from_channel(&r, 1, &t);
	r.first_rtp_us = 5000; /* no end of speech: t_ms stays null */
	cJSON *o = render(&r);
	assert_true(cJSON_IsNull(get(o, "transcript")));
	assert_true(cJSON_IsNull(get(o, "stt_engine")));
	assert_true(cJSON_IsNull(get(o, "stt_confidence")));
	assert_true(cJSON_IsNull(get(o, "stt_early")));
	assert_true(cJSON_IsNull(get(o, "stt_streamed")));
	assert_true(cJSON_IsFalse(get(o, "continues")));
	assert_true(cJSON_IsNull(get(o, "intent")));
	assert_true(cJSON_IsNull(get(o, "intent_confidence")));
	assert_string_equal(get(o, "match")->valuestring, "none");
	assert_true(cJSON_IsFalse(get(o, "barge_in")));
	assert_int_equal(get(o, "speech_ms")->valueint, 0);
	const char *keys[] = { "speech_end", "stt_final", "nlu_done",
			       "response",   "tts_ready", "first_rtp" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_true(cJSON_IsNull(get(get(o, "t_ms"), keys[i])));
	cJSON_Delete(o);
}

static void defaults_and_a_channel_without_audio(void **st)
{
	(void)st;
	struct turnrec r;
	turnrec_from_channel(&r, 2, &(struct channel_turn){ .node = "n" });
	assert_string_equal(r.input, "speech");
	assert_string_equal(r.end, "speech");
	/* A control session that cannot hear: barge_in and speech_ms are
	 * unknown, a typed text has no engine. */
	memset(&r, 0, sizeof(r));
	r.seq = 1;
	snprintf(r.input, sizeof(r.input), "text");
	r.has_transcript = true;
	snprintf(r.transcript, sizeof(r.transcript), "lost card");
	r.speech_end_us = 10; /* a time before it: null, not negative */
	r.stt_final_us = 5;
	cJSON *o = render(&r);
	assert_string_equal(get(o, "input")->valuestring, "text");
	assert_string_equal(get(o, "transcript")->valuestring, "lost card");
	assert_true(cJSON_IsNull(get(o, "stt_engine")));
	assert_true(cJSON_IsNull(get(o, "stt_confidence")));
	assert_true(cJSON_IsNull(get(o, "stt_early")));
	assert_true(cJSON_IsNull(get(o, "barge_in")));
	assert_true(cJSON_IsNull(get(o, "continues")));
	assert_true(cJSON_IsNull(get(o, "speech_ms")));
	assert_true(cJSON_IsNull(get(o, "end")));
	assert_true(isnan(ms(o, "stt_final")));
	cJSON_Delete(o);
	/* Not-a-number confidences are null, not invalid JSON. */
	memset(&r, 0, sizeof(r));
	r.has_intent = true;
	snprintf(r.intent, sizeof(r.intent), "x");
	r.intent_confidence = NAN;
	o = render(&r);
	assert_true(cJSON_IsNull(get(o, "intent_confidence")));
	assert_string_equal(get(o, "input")->valuestring, "none");
	cJSON_Delete(o);
}

static void long_strings_are_cut_and_a_full_buffer_is_unchanged(void **st)
{
	(void)st;
	char big[3000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	struct channel_turn t = { .node = big,
				  .transcript = big,
				  .stt_engine = "e" };
	struct turnrec r;
	turnrec_from_channel(&r, 1, &t);
	assert_int_equal(strlen(r.node), sizeof(r.node) - 1);
	assert_int_equal(strlen(r.transcript), TURNREC_TEXT_CAP - 1);
	cJSON *o = render(&r);
	assert_int_equal(strlen(get(o, "transcript")->valuestring),
			 TURNREC_TEXT_CAP - 1);
	cJSON_Delete(o);

	struct strbuf sb;
	strbuf_init(&sb, 200);
	assert_int_equal(strbuf_addstr(&sb, "[x"), 0);
	assert_int_equal(turnrec_json(&sb, &r), -E2BIG);
	assert_string_equal(strbuf_str(&sb), "[x");
	assert_int_equal(turnrec_json(NULL, &r), -EINVAL);
	strbuf_fini(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			a_speech_turn_has_every_field_and_relative_times),
		cmocka_unit_test(a_dtmf_turn_has_nulls_where_nothing_happened),
		cmocka_unit_test(defaults_and_a_channel_without_audio),
		cmocka_unit_test(
			long_strings_are_cut_and_a_full_buffer_is_unchanged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
