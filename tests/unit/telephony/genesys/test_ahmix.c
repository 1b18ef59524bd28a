/* AudioHook audio de-interleaving: stereo PCMU / L16 in both channel
 * orders, mono, frames split across messages, join round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "audio/g711.h"
#include "telephony/genesys/ahmix.h"

static struct ahmsg_media media(enum ahmsg_format f, unsigned n,
				enum ahmsg_channel a, enum ahmsg_channel b)
{
	struct ahmsg_media m = { .format = f, .rate_hz = 8000, .nchannels = n };
	m.channels[0] = a;
	m.channels[1] = b;
	return m;
}

static void stereo_pcmu_splits_in_offer_order(void **state)
{
	(void)state;
	struct ahmix x;
	struct ahmsg_media m =
		media(AHMSG_FMT_PCMU, 2, AHMSG_CH_EXTERNAL, AHMSG_CH_INTERNAL);
	assert_int_equal(ahmix_init(&x, &m), 0);
	uint8_t data[8];
	for (int i = 0; i < 4; i++) {
		data[2 * i] = audio_ulaw_encode((int16_t)(1000 * (i + 1)));
		data[2 * i + 1] = audio_ulaw_encode((int16_t)(-500 * (i + 1)));
	}
	int16_t ext[8], in[8];
	assert_int_equal(ahmix_split(&x, data, sizeof(data), ext, in, 8), 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(ext[i], audio_ulaw_decode(data[2 * i]));
		assert_int_equal(in[i], audio_ulaw_decode(data[2 * i + 1]));
		assert_true(ext[i] > 0 && in[i] < 0);
	}
	/* inverted offer: internal first */
	m = media(AHMSG_FMT_PCMU, 2, AHMSG_CH_INTERNAL, AHMSG_CH_EXTERNAL);
	assert_int_equal(ahmix_init(&x, &m), 0);
	assert_int_equal(ahmix_split(&x, data, sizeof(data), ext, in, 8), 4);
	for (int i = 0; i < 4; i++)
		assert_true(ext[i] < 0 && in[i] > 0);
}

static void stereo_l16_is_little_endian(void **state)
{
	(void)state;
	struct ahmix x;
	struct ahmsg_media m =
		media(AHMSG_FMT_L16, 2, AHMSG_CH_EXTERNAL, AHMSG_CH_INTERNAL);
	assert_int_equal(ahmix_init(&x, &m), 0);
	assert_int_equal(ahmix_frame_bytes(&x), 4);
	const uint8_t data[] = {
		0x34, 0x12, 0xff, 0xff, 0x00, 0x80, 0xff, 0x7f
	};
	int16_t ext[2], in[2];
	assert_int_equal(ahmix_split(&x, data, sizeof(data), ext, in, 2), 2);
	assert_int_equal(ext[0], 0x1234);
	assert_int_equal(in[0], -1);
	assert_int_equal(ext[1], -32768);
	assert_int_equal(in[1], 32767);
}

static void partial_frames_carry_over(void **state)
{
	(void)state;
	struct ahmix x;
	struct ahmsg_media m =
		media(AHMSG_FMT_L16, 2, AHMSG_CH_EXTERNAL, AHMSG_CH_INTERNAL);
	assert_int_equal(ahmix_init(&x, &m), 0);
	const uint8_t data[] = { 0x01, 0x00, 0x02, 0x00, 0x03, 0x00,
				 0x04, 0x00, 0x05, 0x00, 0x06, 0x00 };
	int16_t ext[4], in[4];
	int16_t ge[4], gi[4];
	size_t got = 0;
	/* 12 bytes fed 1, 2, 5, 4 */
	const size_t cuts[] = { 1, 2, 5, 4 };
	size_t off = 0;
	for (size_t c = 0; c < 4; c++) {
		int n = ahmix_split(&x, data + off, cuts[c], ext, in, 4);
		assert_true(n >= 0);
		for (int i = 0; i < n; i++) {
			ge[got] = ext[i];
			gi[got++] = in[i];
		}
		off += cuts[c];
	}
	assert_int_equal(got, 3);
	assert_int_equal(ge[0], 1);
	assert_int_equal(gi[0], 2);
	assert_int_equal(ge[1], 3);
	assert_int_equal(gi[1], 4);
	assert_int_equal(ge[2], 5);
	assert_int_equal(gi[2], 6);
	assert_int_equal(x.ncarry, 0);
	assert_int_equal(x.frames, 3);
}

static void mono_fills_only_its_channel(void **state)
{
	(void)state;
	struct ahmix x;
	struct ahmsg_media m = media(AHMSG_FMT_PCMU, 1, AHMSG_CH_INTERNAL, 0);
	assert_int_equal(ahmix_init(&x, &m), 0);
	uint8_t data[3] = { 0x00, 0x80, 0xff };
	int16_t ext[3] = { 7, 7, 7 }, in[3];
	assert_int_equal(ahmix_split(&x, data, 3, ext, in, 3), 3);
	assert_int_equal(ext[0], 7);
	assert_int_equal(in[1], audio_ulaw_decode(0x80));
	/* either output may be NULL */
	assert_int_equal(ahmix_split(&x, data, 3, NULL, NULL, 3), 3);
}

static void small_output_is_refused_without_consuming(void **state)
{
	(void)state;
	struct ahmix x;
	struct ahmsg_media m =
		media(AHMSG_FMT_PCMU, 2, AHMSG_CH_EXTERNAL, AHMSG_CH_INTERNAL);
	assert_int_equal(ahmix_init(&x, &m), 0);
	uint8_t data[9] = { 0 };
	int16_t ext[4], in[4];
	assert_int_equal(ahmix_split(&x, data, 9, ext, in, 3), -ENOSPC);
	assert_int_equal(x.ncarry, 0);
	assert_int_equal(ahmix_split(&x, data, 9, ext, in, 4), 4);
	assert_int_equal(x.ncarry, 1);
}

static void bad_media_is_refused(void **state)
{
	(void)state;
	struct ahmix x;
	struct ahmsg_media m =
		media(AHMSG_FMT_PCMU, 2, AHMSG_CH_EXTERNAL, AHMSG_CH_EXTERNAL);
	assert_int_equal(ahmix_init(&x, &m), -EINVAL);
	m = media(AHMSG_FMT_PCMU, 3, AHMSG_CH_EXTERNAL, AHMSG_CH_INTERNAL);
	assert_int_equal(ahmix_init(&x, &m), -EINVAL);
	m = media(AHMSG_FMT_PCMU, 1, AHMSG_CH_EXTERNAL, 0);
	m.rate_hz = 16000;
	assert_int_equal(ahmix_init(&x, &m), -EINVAL);
	m = media(AHMSG_FMT_NONE, 1, AHMSG_CH_EXTERNAL, 0);
	assert_int_equal(ahmix_init(&x, &m), -EINVAL);
}

static void join_round_trips(void **state)
{
	(void)state;
	struct ahmix x;
	struct ahmsg_media m =
		media(AHMSG_FMT_L16, 2, AHMSG_CH_INTERNAL, AHMSG_CH_EXTERNAL);
	assert_int_equal(ahmix_init(&x, &m), 0);
	int16_t e[160], i[160], e2[160], i2[160];
	for (int k = 0; k < 160; k++) {
		e[k] = (int16_t)(k * 100);
		i[k] = (int16_t)(-k * 50);
	}
	uint8_t buf[640];
	assert_int_equal(ahmix_join(&x, e, i, 160, buf, sizeof(buf)), 640);
	assert_int_equal(ahmix_join(&x, e, i, 160, buf, 639), -ENOSPC);
	/* internal first on the wire */
	assert_int_equal((int16_t)(buf[0] | buf[1] << 8), i[0]);
	assert_int_equal(ahmix_split(&x, buf, sizeof(buf), e2, i2, 160), 160);
	assert_memory_equal(e, e2, sizeof(e));
	assert_memory_equal(i, i2, sizeof(i));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stereo_pcmu_splits_in_offer_order),
		cmocka_unit_test(stereo_l16_is_little_endian),
		cmocka_unit_test(partial_frames_carry_over),
		cmocka_unit_test(mono_fills_only_its_channel),
		cmocka_unit_test(small_output_is_refused_without_consuming),
		cmocka_unit_test(bad_media_is_refused),
		cmocka_unit_test(join_round_trips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
