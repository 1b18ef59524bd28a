/* libFuzzer target for the Twilio Media Streams message handling
 * (telephony/twilio/mstream_msg.h): parse any text, check the caps, print
 * back what a parsed message carries, and feed media chunks through the
 * reorder window. No crash, no read past len, outputs within bounds. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "telephony/twilio/mstream_msg.h"
#include "core/b64.h"

static struct mstream_msg m;
static struct mstream_reorder ro;
static size_t released;

static void on_chunk(const uint8_t *data, size_t len, void *arg)
{
	(void)arg;
	if (!data || len > MSTREAM_PAYLOAD_MAX)
		abort();
	released += len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	int err = mstream_msg_parse(buf, size, &m);
	if (err == 0) {
		if (m.payload_len > MSTREAM_PAYLOAD_MAX ||
		    m.nparams > MSTREAM_PARAMS_MAX ||
		    strlen(m.stream_sid) >= MSTREAM_SID_LEN ||
		    strlen(m.name) >= MSTREAM_NAME_LEN)
			abort();
		char out[8192];
		const char *sid = m.stream_sid[0] ? m.stream_sid : "MZ";
		if (mstream_print_media(out, sizeof(out), sid, m.payload,
					m.payload_len) < 0 ||
		    mstream_print_clear(out, sizeof(out), sid) < 0)
			abort();
		if (m.ev == MSTREAM_EV_MEDIA)
			(void)mstream_reorder_push(&ro, m.chunk, m.payload,
						   m.payload_len, on_chunk,
						   NULL);
		/* What we print parses back to the same payload (media
		 * without a chunk is refused, so check the base64 part). */
		static uint8_t back[MSTREAM_PAYLOAD_MAX];
		char b64[MSTREAM_PAYLOAD_MAX * 2];
		int e = b64_encode(m.payload, m.payload_len, b64, sizeof(b64));
		if (e < 0 ||
		    b64_decode(b64, (size_t)e, back, sizeof(back)) !=
			    (int)m.payload_len ||
		    memcmp(back, m.payload, m.payload_len))
			abort();
	} else if (err != -EBADMSG && err != -EMSGSIZE && err != -EILSEQ &&
		   err != -ENOMSG) {
		abort();
	}
	/* Base64 decode of the raw input: never beyond cap. */
	uint8_t dec[64];
	int d = b64_decode(buf, size, dec, sizeof(dec));
	if (d > (int)sizeof(dec))
		abort();
	free(buf);
	return 0;
}
