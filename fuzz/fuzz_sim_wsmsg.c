/* libFuzzer target for what the simulator's stream transports parse from a
 * server (sim/wsmsg.h): the first byte picks the parser ('T' Twilio Media
 * Streams, 'A' Genesys AudioHook, anything else base64), the rest is the
 * message. No crash, no read past len, fields NUL-terminated within their
 * size, a base64 round trip of what decoded. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/wsmsg.h"
#include "core/b64.h"

static struct sim_twmsg tw;
static struct sim_ahmsg ah;

static void check_str(const char *s, size_t cap)
{
	if (strnlen(s, cap) >= cap)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	char *buf = malloc(size - 1 ? size - 1 : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	size_t len = size - 1;
	if (data[0] == 'T') {
		int err = sim_twmsg_parse(buf, len, &tw);
		if (!err) {
			if (tw.payload_len > SIM_WSMSG_PAYLOAD_MAX)
				abort();
			check_str(tw.event, sizeof(tw.event));
			check_str(tw.stream_sid, sizeof(tw.stream_sid));
			check_str(tw.name, sizeof(tw.name));
		} else if (err != -EBADMSG && err != -EMSGSIZE &&
			   err != -EILSEQ && err != -ENOMEM) {
			abort();
		}
	} else if (data[0] == 'A') {
		int err = sim_ahmsg_parse(buf, len, &ah);
		if (!err) {
			check_str(ah.type_name, sizeof(ah.type_name));
			check_str(ah.id, sizeof(ah.id));
			check_str(ah.text, sizeof(ah.text));
			check_str(ah.transfer_target,
				  sizeof(ah.transfer_target));
			check_str(ah.message, sizeof(ah.message));
		} else if (err != -EBADMSG && err != -EMSGSIZE &&
			   err != -ENOMEM) {
			abort();
		}
	} else {
		uint8_t out[512];
		int n = b64_decode(buf, len, out, sizeof(out));
		if (n >= 0) {
			if ((size_t)n > sizeof(out))
				abort();
			char enc[700];
			uint8_t back[512];
			int e = b64_encode(out, (size_t)n, enc, sizeof(enc));
			if (e < 0)
				abort();
			int m = b64_decode(enc, (size_t)e, back, sizeof(back));
			if (m != n || memcmp(out, back, (size_t)n))
				abort();
		}
	}
	free(buf);
	return 0;
}
