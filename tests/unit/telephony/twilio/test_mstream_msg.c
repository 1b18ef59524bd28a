/* Media Streams messages: parsing every event Twilio sends (numbers as
 * strings or numbers), the malformed ones, our printed messages, base64 and
 * the chunk reorder window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "telephony/twilio/mstream.h"
#include "core/b64.h"
#include "telephony/twilio/mstream_msg.h"

static struct mstream_msg m;

static int parse(const char *s)
{
	return mstream_msg_parse(s, strlen(s), &m);
}

static const char start_msg[] =
	"{\"event\":\"start\",\"sequenceNumber\":\"1\",\"start\":{"
	"\"accountSid\":\"AC123\",\"streamSid\":\"MZabc\",\"callSid\":"
	"\"CA999\",\"tracks\":[\"inbound\"],\"mediaFormat\":{\"encoding\":"
	"\"audio/x-mulaw\",\"sampleRate\":8000,\"channels\":1},"
	"\"customParameters\":{\"flow\":\"bank-hotline\",\"from\":"
	"\"+15550001\",\"to\":\"+15550002\"}},\"streamSid\":\"MZabc\"}";

static void start_is_parsed_with_parameters(void **state)
{
	(void)state;
	assert_int_equal(parse(start_msg), 0);
	assert_int_equal(m.ev, MSTREAM_EV_START);
	assert_string_equal(m.stream_sid, "MZabc");
	assert_string_equal(m.call_sid, "CA999");
	assert_string_equal(m.account_sid, "AC123");
	assert_string_equal(m.encoding, "audio/x-mulaw");
	assert_int_equal(m.rate_hz, 8000);
	assert_int_equal(m.channels, 1);
	assert_int_equal(m.nparams, 3);
	assert_string_equal(mstream_msg_param(&m, "flow"), "bank-hotline");
	assert_string_equal(mstream_msg_param(&m, "to"), "+15550002");
	assert_null(mstream_msg_param(&m, "nope"));
}

static void media_with_string_numbers_decodes_payload(void **state)
{
	(void)state;
	/* "//8A" = ff ff 00 */
	assert_int_equal(parse("{\"event\":\"media\",\"sequenceNumber\":\"3\","
			       "\"media\":{\"track\":\"inbound\",\"chunk\":"
			       "\"2\",\"timestamp\":\"40\",\"payload\":"
			       "\"//8A\"},\"streamSid\":\"MZabc\"}"),
			 0);
	assert_int_equal(m.ev, MSTREAM_EV_MEDIA);
	assert_true(m.inbound);
	assert_int_equal(m.chunk, 2);
	assert_int_equal(m.timestamp_ms, 40);
	assert_int_equal(m.payload_len, 3);
	assert_int_equal(m.payload[0], 0xff);
	assert_int_equal(m.payload[2], 0x00);
	/* Numbers as JSON numbers too; outbound track flagged. */
	assert_int_equal(parse("{\"event\":\"media\",\"media\":{\"track\":"
			       "\"outbound\",\"chunk\":7,\"payload\":\"\"}}"),
			 0);
	assert_false(m.inbound);
	assert_int_equal(m.chunk, 7);
	assert_int_equal(m.payload_len, 0);
}

static void dtmf_mark_stop_connected_parse(void **state)
{
	(void)state;
	assert_int_equal(parse("{\"event\":\"dtmf\",\"streamSid\":\"MZ1\","
			       "\"dtmf\":{\"track\":\"inbound_track\","
			       "\"digit\":\"#\"}}"),
			 0);
	assert_int_equal(m.ev, MSTREAM_EV_DTMF);
	assert_int_equal(m.digit, '#');
	assert_int_equal(parse("{\"event\":\"mark\",\"streamSid\":\"MZ1\","
			       "\"mark\":{\"name\":\"vg3\"}}"),
			 0);
	assert_int_equal(m.ev, MSTREAM_EV_MARK);
	assert_string_equal(m.name, "vg3");
	assert_int_equal(parse("{\"event\":\"stop\",\"streamSid\":\"MZ1\","
			       "\"stop\":{\"callSid\":\"CA1\"}}"),
			 0);
	assert_int_equal(m.ev, MSTREAM_EV_STOP);
	assert_int_equal(parse("{\"event\":\"connected\",\"protocol\":"
			       "\"Call\",\"version\":\"1.0.0\"}"),
			 0);
	assert_int_equal(m.ev, MSTREAM_EV_CONNECTED);
}

static void malformed_messages_are_refused(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int err;
	} cases[] = {
		{ "", -EBADMSG },
		{ "{", -EBADMSG },
		{ "[]", -EBADMSG },
		{ "\"media\"", -EBADMSG },
		{ "{}", -EBADMSG },
		{ "{\"event\":5}", -EBADMSG },
		{ "{\"event\":\"bogus\"}", -ENOMSG },
		{ "{\"event\":\"media\"}", -EBADMSG },
		{ "{\"event\":\"media\",\"media\":{\"payload\":\"AAAA\"}}",
		  -EBADMSG },
		{ "{\"event\":\"media\",\"media\":{\"chunk\":\"x\","
		  "\"payload\":\"AAAA\"}}",
		  -EBADMSG },
		{ "{\"event\":\"media\",\"media\":{\"chunk\":-1,"
		  "\"payload\":\"AAAA\"}}",
		  -EBADMSG },
		{ "{\"event\":\"media\",\"media\":{\"chunk\":1.5,"
		  "\"payload\":\"AAAA\"}}",
		  -EBADMSG },
		{ "{\"event\":\"media\",\"media\":{\"chunk\":\"1\","
		  "\"payload\":\"A*AA\"}}",
		  -EILSEQ },
		{ "{\"event\":\"media\",\"media\":{\"chunk\":\"1\","
		  "\"payload\":\"AAAAA\"}}",
		  -EILSEQ },
		{ "{\"event\":\"media\",\"media\":{\"chunk\":\"1\","
		  "\"payload\":7}}",
		  -EBADMSG },
		{ "{\"event\":\"dtmf\",\"dtmf\":{\"digit\":\"12\"}}",
		  -EBADMSG },
		{ "{\"event\":\"dtmf\",\"dtmf\":{\"digit\":\"x\"}}", -EBADMSG },
		{ "{\"event\":\"mark\",\"mark\":{}}", -EBADMSG },
		{ "{\"event\":\"start\"}", -EBADMSG },
		{ "{\"event\":\"start\",\"start\":{\"streamSid\":\"MZ1\"}}",
		  -EBADMSG },
		{ "{\"event\":\"start\",\"start\":{\"streamSid\":\"M\\\"Z\","
		  "\"mediaFormat\":{\"encoding\":\"audio/x-mulaw\","
		  "\"sampleRate\":8000,\"channels\":1}}}",
		  -EBADMSG },
		{ "{\"event\":\"stop\",\"streamSid\":\"a b\"}", -EBADMSG },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err = parse(cases[i].text);
		if (err != cases[i].err)
			fail_msg("case %zu (%s): %d, want %d", i, cases[i].text,
				 err, cases[i].err);
	}
	assert_int_equal(parse("{\"event\":\"bogus\"}"), -ENOMSG);
	assert_string_equal(m.event, "bogus");
}

static void oversized_text_and_payload_are_refused(void **state)
{
	(void)state;
	size_t n = MSTREAM_TEXT_MAX + 1;
	char *big = malloc(n + 1);
	assert_non_null(big);
	memset(big, ' ', n);
	big[n] = '\0';
	assert_int_equal(mstream_msg_parse(big, n, &m), -EMSGSIZE);
	/* 2400 base64 chars = 1800 bytes > MSTREAM_PAYLOAD_MAX */
	char *js = malloc(4000);
	assert_non_null(js);
	int k = snprintf(js, 4000,
			 "{\"event\":\"media\",\"media\":{\"chunk\":\"1\","
			 "\"payload\":\"");
	memset(js + k, 'A', 2400);
	strcpy(js + k + 2400, "\"}}");
	assert_int_equal(parse(js), -EMSGSIZE);
	free(js);
	free(big);
}

static void printed_messages_are_exact(void **state)
{
	(void)state;
	char buf[512];
	const uint8_t ulaw[3] = { 0xff, 0xff, 0x00 };
	int n = mstream_print_media(buf, sizeof(buf), "MZabc", ulaw, 3);
	assert_int_equal(n, (int)strlen(buf));
	assert_string_equal(buf, "{\"event\":\"media\",\"streamSid\":\"MZabc\","
				 "\"media\":{\"payload\":\"//8A\"}}");
	/* What we print, we parse (Twilio's own media shape minus chunk). */
	assert_true(mstream_print_mark(buf, sizeof(buf), "MZabc", "vg1") > 0);
	assert_string_equal(buf, "{\"event\":\"mark\",\"streamSid\":\"MZabc\","
				 "\"mark\":{\"name\":\"vg1\"}}");
	assert_int_equal(parse(buf), 0);
	assert_string_equal(m.name, "vg1");
	assert_true(mstream_print_clear(buf, sizeof(buf), "MZabc") > 0);
	assert_string_equal(buf,
			    "{\"event\":\"clear\",\"streamSid\":\"MZabc\"}");
	/* Injection through the SID is impossible: refused. */
	assert_int_equal(mstream_print_clear(buf, sizeof(buf), "a\",\"x"),
			 -EINVAL);
	assert_int_equal(mstream_print_mark(buf, sizeof(buf), "MZ", "a b"),
			 -EINVAL);
	assert_int_equal(mstream_print_media(buf, 20, "MZabc", ulaw, 3),
			 -ENOSPC);
	uint8_t frame[160];
	memset(frame, 0x7f, sizeof(frame));
	n = mstream_print_media(buf, sizeof(buf),
				"MZ0123456789abcdef0123456789abcdef", frame,
				sizeof(frame));
	assert_true(n > 0 && n < 512);
}

static void base64_round_trips_every_length(void **state)
{
	(void)state;
	uint8_t in[64], out[64];
	char txt[128];
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 37 + 11);
	for (size_t n = 0; n <= sizeof(in); n++) {
		int e = b64_encode(in, n, txt, sizeof(txt));
		assert_int_equal(e, (int)((n + 2) / 3 * 4));
		assert_int_equal(b64_decode(txt, (size_t)e, out, sizeof(out)),
				 (int)n);
		assert_memory_equal(in, out, n);
		/* Unpadded input decodes too. */
		size_t l = (size_t)e;
		while (l && txt[l - 1] == '=')
			l--;
		assert_int_equal(b64_decode(txt, l, out, sizeof(out)), (int)n);
	}
	assert_int_equal(b64_decode("QQ==", 4, out, 0), -EMSGSIZE);
	assert_int_equal(b64_decode("QR==", 4, out, 4), -EILSEQ);
	assert_int_equal(b64_decode("Q===", 4, out, 4), -EILSEQ);
	assert_int_equal(b64_decode("QQ=", 3, out, 4), -EILSEQ);
	assert_int_equal(b64_encode(in, 3, txt, 4), -ENOSPC);
}

struct got {
	uint8_t first[32];
	unsigned n;
};

static void collect(const uint8_t *data, size_t len, void *arg)
{
	struct got *g = arg;
	assert_true(len >= 1);
	if (g->n < 32)
		g->first[g->n] = data[0];
	g->n++;
}

static unsigned push(struct mstream_reorder *r, uint64_t chunk, struct got *g)
{
	uint8_t b = (uint8_t)chunk;
	return mstream_reorder_push(r, chunk, &b, 1, collect, g);
}

static void reorder_releases_in_order_and_drops_late(void **state)
{
	(void)state;
	struct mstream_reorder *r = malloc(sizeof(*r));
	assert_non_null(r);
	struct got g = { 0 };
	mstream_reorder_init(r);
	assert_int_equal(push(r, 1, &g), 1);
	assert_int_equal(push(r, 3, &g), 0); /* held: 2 missing */
	assert_int_equal(push(r, 2, &g), 2); /* 2 then 3 */
	assert_int_equal(push(r, 2, &g), 0); /* late duplicate */
	assert_int_equal(push(r, 1, &g), 0); /* late */
	assert_int_equal(g.n, 3);
	assert_int_equal(g.first[0], 1);
	assert_int_equal(g.first[1], 2);
	assert_int_equal(g.first[2], 3);
	assert_int_equal(r->late, 2);
	/* A gap that never fills: skipped once the window is full. */
	for (uint64_t c = 5; c < 5 + MSTREAM_REORDER_SLOTS; c++)
		assert_int_equal(push(r, c, &g), 0);
	assert_int_equal(push(r, 5 + MSTREAM_REORDER_SLOTS, &g),
			 MSTREAM_REORDER_SLOTS + 1);
	assert_int_equal(r->lost, 1); /* chunk 4 */
	assert_int_equal(g.n, 3 + MSTREAM_REORDER_SLOTS + 1);
	for (unsigned i = 3; i < g.n; i++)
		assert_int_equal(g.first[i], 5 + i - 3);
	/* Chunk 4 arriving now is late. */
	assert_int_equal(push(r, 4, &g), 0);
	free(r);
}

static void signed_url_uses_ws_schemes(void **state)
{
	(void)state;
	char url[256];
	assert_int_equal(mstream_signed_url(url, sizeof(url),
					    "https://vg.example.com",
					    "/twilio/media", NULL, 0),
			 0);
	assert_string_equal(url, "wss://vg.example.com/twilio/media");
	assert_int_equal(mstream_signed_url(url, sizeof(url),
					    "http://127.0.0.1:8081",
					    "/twilio/media", "a=1&b=2", 7),
			 0);
	assert_string_equal(url, "ws://127.0.0.1:8081/twilio/media?a=1&b=2");
	assert_int_equal(
		mstream_signed_url(url, sizeof(url), "ftp://x", "/", NULL, 0),
		-EINVAL);
	assert_int_equal(mstream_signed_url(url, 10, "https://vg.example.com",
					    "/twilio/media", NULL, 0),
			 -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(start_is_parsed_with_parameters),
		cmocka_unit_test(media_with_string_numbers_decodes_payload),
		cmocka_unit_test(dtmf_mark_stop_connected_parse),
		cmocka_unit_test(malformed_messages_are_refused),
		cmocka_unit_test(oversized_text_and_payload_are_refused),
		cmocka_unit_test(printed_messages_are_exact),
		cmocka_unit_test(base64_round_trips_every_length),
		cmocka_unit_test(reorder_releases_in_order_and_drops_late),
		cmocka_unit_test(signed_url_uses_ws_schemes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
