/* AudioSocket framing (see audiosocket_frame.h). */
#include "audio/audiosocket_frame.h"

#include <errno.h>
#include <string.h>

void audiosocket_framer_init(struct audiosocket_framer *f)
{
	f->nhdr = 0;
	f->len = 0;
	f->got = 0;
	f->broken = false;
}

int audiosocket_framer_feed(struct audiosocket_framer *f, const uint8_t *data,
			    size_t len, size_t *used,
			    struct audiosocket_msg *msg)
{
	size_t pos = 0;
	*used = 0;
	if (f->broken)
		return -EMSGSIZE;
	while (f->nhdr < AUDIOSOCKET_HDR_LEN && pos < len)
		f->hdr[f->nhdr++] = data[pos++];
	if (f->nhdr < AUDIOSOCKET_HDR_LEN) {
		*used = pos;
		return 0;
	}
	f->len = (uint16_t)((unsigned)f->hdr[1] << 8 | f->hdr[2]);
	if (f->len > AUDIOSOCKET_PAYLOAD_MAX) {
		f->broken = true;
		*used = pos;
		return -EMSGSIZE;
	}
	size_t want = (size_t)f->len - f->got;
	size_t take = len - pos < want ? len - pos : want;
	/* The common case, a whole message in the input: no copy. */
	if (f->got == 0 && take == want) {
		msg->payload = data + pos;
	} else {
		memcpy(f->buf + f->got, data + pos, take);
		f->got = (uint16_t)(f->got + take);
		msg->payload = f->buf;
	}
	pos += take;
	*used = pos;
	if (take < want)
		return 0;
	msg->kind = f->hdr[0];
	msg->len = f->len;
	f->nhdr = 0;
	f->got = 0;
	return 1;
}

unsigned audiosocket_kind_rate_hz(uint8_t kind)
{
	static const unsigned rates[] = { 8000,	 12000, 16000, 24000, 32000,
					  44100, 48000, 96000, 192000 };
	if (kind < AUDIOSOCKET_AUDIO || kind > AUDIOSOCKET_AUDIO_192K)
		return 0;
	return rates[kind - AUDIOSOCKET_AUDIO];
}

int audiosocket_msg_check(const struct audiosocket_msg *m)
{
	if (audiosocket_kind_rate_hz(m->kind))
		return m->len > 0 && m->len % 2 == 0 ? 0 : -EBADMSG;
	switch (m->kind) {
	case AUDIOSOCKET_HANGUP:
	case AUDIOSOCKET_ERROR:
		return 0;
	case AUDIOSOCKET_UUID:
		return m->len == AUDIOSOCKET_UUID_LEN ? 0 : -EBADMSG;
	case AUDIOSOCKET_DTMF:
		if (m->len != 1 || m->payload[0] < 0x21 || m->payload[0] > 0x7e)
			return -EBADMSG;
		return 0;
	default:
		return -ENOTSUP;
	}
}

int audiosocket_frame_encode(uint8_t kind, const void *payload, size_t len,
			     uint8_t *out, size_t cap)
{
	if (len > AUDIOSOCKET_PAYLOAD_MAX || (len && !payload))
		return -EINVAL;
	if (cap < AUDIOSOCKET_HDR_LEN + len)
		return -ENOSPC;
	out[0] = kind;
	out[1] = (uint8_t)(len >> 8);
	out[2] = (uint8_t)(len & 0xff);
	if (len)
		memcpy(out + AUDIOSOCKET_HDR_LEN, payload, len);
	return (int)(AUDIOSOCKET_HDR_LEN + len);
}

void audiosocket_uuid_format(const uint8_t uuid[AUDIOSOCKET_UUID_LEN],
			     char out[37])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (unsigned i = 0; i < AUDIOSOCKET_UUID_LEN; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[uuid[i] >> 4];
		out[o++] = hex[uuid[i] & 0xf];
	}
	out[o] = '\0';
}
