/* libFuzzer target for the AudioHook audio de-interleaver
 * (telephony/genesys/ahmix.h): the first two bytes choose the media
 * (format, channels, order) and how the rest is cut into messages; the
 * output count must match the bytes fed, and joining what was split gives
 * the L16 input back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "telephony/genesys/ahmix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	struct ahmsg_media md = { .rate_hz = 8000 };
	md.format = (data[0] & 1) ? AHMSG_FMT_L16 : AHMSG_FMT_PCMU;
	md.nchannels = (data[0] & 2) ? 2 : 1;
	md.channels[0] = (data[0] & 4) ? AHMSG_CH_INTERNAL : AHMSG_CH_EXTERNAL;
	md.channels[1] = md.channels[0] == AHMSG_CH_INTERNAL
				 ? AHMSG_CH_EXTERNAL
				 : AHMSG_CH_INTERNAL;
	size_t cut = (size_t)data[1] + 1;
	data += 2;
	size -= 2;
	struct ahmix x;
	if (ahmix_init(&x, &md))
		abort();
	size_t fb = ahmix_frame_bytes(&x);
	static int16_t ext[70000], in[70000];
	size_t total = 0;
	for (size_t off = 0; off < size; off += cut) {
		size_t n = size - off < cut ? size - off : cut;
		int got = ahmix_split(&x, data + off, n, ext + total,
				      in + total, 70000 - total);
		if (got < 0)
			abort();
		total += (size_t)got;
	}
	if (total != size / fb || x.ncarry != size % fb)
		abort();
	if (md.format == AHMSG_FMT_L16) {
		static uint8_t back[280000];
		int n = ahmix_join(&x, ext, in, total, back, sizeof(back));
		if (n != (int)(total * fb) || memcmp(back, data, (size_t)n))
			abort();
	}
	return 0;
}
