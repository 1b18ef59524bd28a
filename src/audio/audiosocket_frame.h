/* Asterisk AudioSocket wire format (docs/PROTOCOLS.md): 1 byte kind, 2 byte
 * big-endian payload length, payload. A pure, incremental framer (bytes in,
 * whole messages out, across any TCP segmentation) and an encoder. No I/O, no
 * clocks: fuzzable and testable byte by byte. */
#ifndef VG_AUDIO_AUDIOSOCKET_FRAME_H
#define VG_AUDIO_AUDIOSOCKET_FRAME_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum audiosocket_kind {
	AUDIOSOCKET_HANGUP = 0x00,
	AUDIOSOCKET_UUID = 0x01,
	AUDIOSOCKET_DTMF = 0x03,
	AUDIOSOCKET_AUDIO = 0x10, /* slin16 8 kHz; 0x11..0x18 other rates */
	AUDIOSOCKET_AUDIO_192K = 0x18,
	AUDIOSOCKET_ERROR = 0xff,
};

#define AUDIOSOCKET_HDR_LEN 3
#define AUDIOSOCKET_UUID_LEN 16
/* Largest payload we take: 4096 bytes = 128 ms at 16 kHz, 256 ms at 8 kHz.
 * Asterisk sends one channel frame (20 ms) per message. */
#define AUDIOSOCKET_PAYLOAD_MAX 4096
/* One outbound 20 ms frame at 8 kHz: header + 320 bytes. */
#define AUDIOSOCKET_FRAME_BYTES (AUDIOSOCKET_HDR_LEN + 320)

/* Caller storage; the payload of the last message lives in buf until the
 * next audiosocket_framer_feed(). */
struct audiosocket_framer {
	uint8_t hdr[AUDIOSOCKET_HDR_LEN];
	unsigned nhdr; /* header bytes held */
	uint16_t len;  /* payload length, once the header is whole */
	uint16_t got;  /* payload bytes held */
	bool broken;   /* an oversized length was seen: stream lost */
	uint8_t buf[AUDIOSOCKET_PAYLOAD_MAX];
};

/* One message; payload borrowed from the framer (or the caller's input). */
struct audiosocket_msg {
	uint8_t kind;
	const uint8_t *payload;
	size_t len;
};

void audiosocket_framer_init(struct audiosocket_framer *f);

/* Take bytes from data[len]: *used is set to how many were consumed. Returns
 * 1 with *msg set when a message completed (call again with the rest),
 * 0 when all of data was consumed without completing one, or -EMSGSIZE when
 * a header announces more than AUDIOSOCKET_PAYLOAD_MAX (the stream cannot be
 * resynchronised: every later call fails the same way). */
int audiosocket_framer_feed(struct audiosocket_framer *f, const uint8_t *data,
			    size_t len, size_t *used,
			    struct audiosocket_msg *msg);

/* Check a whole message from Asterisk. Returns 0 (well-formed: UUID of 16
 * bytes, DTMF of 1 printable byte, audio of a non-zero even length, hangup,
 * error), -EBADMSG (a known kind with a bad payload, e.g. zero-length
 * audio) or -ENOTSUP (unknown kind: skip it). */
int audiosocket_msg_check(const struct audiosocket_msg *m);

/* Sample rate of an audio kind (0x10..0x18), or 0 if not audio. */
unsigned audiosocket_kind_rate_hz(uint8_t kind);

/* Write kind + length + payload to out[cap]. Returns the bytes written, or
 * -EINVAL (len over AUDIOSOCKET_PAYLOAD_MAX) or -ENOSPC. */
int audiosocket_frame_encode(uint8_t kind, const void *payload, size_t len,
			     uint8_t *out, size_t cap);

/* The UUID as text, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (37 bytes). */
void audiosocket_uuid_format(const uint8_t uuid[AUDIOSOCKET_UUID_LEN],
			     char out[37]);
#endif
