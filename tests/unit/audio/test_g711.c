/* Tests for audio/g711: bit-exact with spandsp for every input, and the
 * well-known silence codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <spandsp.h>

#include "audio/g711.h"

static void ulaw_encode_matches_spandsp_for_every_sample(void **state)
{
	for (int x = INT16_MIN; x <= INT16_MAX; x++)
		if (audio_ulaw_encode((int16_t)x) != linear_to_ulaw(x))
			fail_msg("ulaw encode %d: %#x != %#x", x,
				 audio_ulaw_encode((int16_t)x),
				 linear_to_ulaw(x));
}

static void alaw_encode_matches_spandsp_for_every_sample(void **state)
{
	for (int x = INT16_MIN; x <= INT16_MAX; x++)
		if (audio_alaw_encode((int16_t)x) != linear_to_alaw(x))
			fail_msg("alaw encode %d: %#x != %#x", x,
				 audio_alaw_encode((int16_t)x),
				 linear_to_alaw(x));
}

static void decode_matches_spandsp_for_every_code(void **state)
{
	for (int c = 0; c < 256; c++) {
		assert_int_equal(audio_ulaw_decode((uint8_t)c),
				 ulaw_to_linear((uint8_t)c));
		assert_int_equal(audio_alaw_decode((uint8_t)c),
				 alaw_to_linear((uint8_t)c));
	}
}

static void silence_has_the_standard_codes(void **state)
{
	assert_int_equal(audio_ulaw_encode(0), 0xff);
	assert_int_equal(audio_ulaw_decode(0xff), 0);
	assert_int_equal(audio_ulaw_decode(0x7f), 0);
	assert_int_equal(audio_alaw_encode(0), 0xd5);
	assert_int_equal(audio_alaw_decode(0xd5), 8);
	assert_int_equal(audio_alaw_decode(0x55), -8);
	/* the extremes */
	assert_int_equal(audio_ulaw_encode(INT16_MAX), 0x80);
	assert_int_equal(audio_ulaw_encode(INT16_MIN), 0x00);
	assert_int_equal(audio_ulaw_decode(0x80), 32124);
	assert_int_equal(audio_alaw_encode(INT16_MAX), 0xaa);
	assert_int_equal(audio_alaw_decode(0xaa), 32256);
}

/* Decoding a code and encoding the result gives the code back (the two
 * mu-law zeros both come back as 0xff). */
static void decode_then_encode_is_identity(void **state)
{
	for (int c = 0; c < 256; c++) {
		uint8_t u = audio_ulaw_encode(audio_ulaw_decode((uint8_t)c));
		assert_int_equal(u, c == 0x7f ? 0xff : c);
		assert_int_equal(
			audio_alaw_encode(audio_alaw_decode((uint8_t)c)), c);
	}
}

static void buffer_variants_match_the_sample_functions(void **state)
{
	int16_t pcm[1024], back[1024];
	uint8_t u[1024], a[1024];
	for (int i = 0; i < 1024; i++)
		pcm[i] = (int16_t)(i * 64 - 32768 + i % 7);
	audio_ulaw_encode_buf(pcm, u, 1024);
	audio_alaw_encode_buf(pcm, a, 1024);
	for (int i = 0; i < 1024; i++) {
		assert_int_equal(u[i], audio_ulaw_encode(pcm[i]));
		assert_int_equal(a[i], audio_alaw_encode(pcm[i]));
	}
	audio_ulaw_decode_buf(u, back, 1024);
	for (int i = 0; i < 1024; i++)
		assert_int_equal(back[i], audio_ulaw_decode(u[i]));
	audio_alaw_decode_buf(a, back, 1024);
	for (int i = 0; i < 1024; i++)
		assert_int_equal(back[i], audio_alaw_decode(a[i]));
	/* n = 0 touches nothing */
	audio_ulaw_encode_buf(NULL, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ulaw_encode_matches_spandsp_for_every_sample),
		cmocka_unit_test(alaw_encode_matches_spandsp_for_every_sample),
		cmocka_unit_test(decode_matches_spandsp_for_every_code),
		cmocka_unit_test(silence_has_the_standard_codes),
		cmocka_unit_test(decode_then_encode_is_identity),
		cmocka_unit_test(buffer_variants_match_the_sample_functions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
