/* Fuzz target: the AudioSocket framer. The input is fed whole and again cut
 * into pieces whose sizes come from the input itself; both runs must give
 * the same messages (TCP segmentation cannot change what is parsed), every
 * message must fit the cap, and re-encoding a message must give its bytes. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audiosocket_frame.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

/* FNV-1a over every message (kind, length, payload) and the end state. */
static uint64_t digest(const uint8_t *data, size_t size, size_t step_seed)
{
	static struct audiosocket_framer f;
	audiosocket_framer_init(&f);
	uint64_t h = 1469598103934665603ull;
	size_t off = 0, k = step_seed;
	int last = 0;
	while (off < size) {
		size_t step = step_seed ? 1u + data[k++ % size] % 7u : size;
		if (step > size - off)
			step = size - off;
		size_t pos = 0;
		while (pos < step) {
			struct audiosocket_msg m;
			size_t used = 0;
			int r = audiosocket_framer_feed(&f, data + off + pos,
							step - pos, &used, &m);
			check(used <= step - pos);
			pos += used;
			if (r < 0) {
				check(r == -EMSGSIZE);
				last = r;
				goto out;
			}
			if (r == 0) {
				check(pos == step);
				break;
			}
			check(m.len <= AUDIOSOCKET_PAYLOAD_MAX);
			int c = audiosocket_msg_check(&m);
			check(c == 0 || c == -EBADMSG || c == -ENOTSUP);
			if (audiosocket_kind_rate_hz(m.kind))
				check((c == 0) ==
				      (m.len > 0 && m.len % 2 == 0));
			static uint8_t enc[AUDIOSOCKET_HDR_LEN +
					   AUDIOSOCKET_PAYLOAD_MAX];
			int n = audiosocket_frame_encode(
				m.kind, m.payload, m.len, enc, sizeof(enc));
			check(n == (int)(m.len + AUDIOSOCKET_HDR_LEN));
			h = (h ^ m.kind) * 1099511628211ull;
			for (int i = 0; i < n; i++)
				h = (h ^ enc[i]) * 1099511628211ull;
		}
		off += step;
	}
out:
	return h ^ (uint64_t)(unsigned)last;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!data || !size)
		return 0;
	check(digest(data, size, 0) == digest(data, size, 1));
	return 0;
}
