/* Twilio Media Streams messages (PROTOCOLS.md): parse the JSON text frames
 * Twilio sends (connected, start, media, dtmf, mark, stop), print the ones we
 * send (media, mark, clear), base64 for the mu-law payloads, and the reorder
 * window for media chunks. Pure: no I/O, no allocation kept; any thread. */
#ifndef VG_TELEPHONY_TWILIO_MSTREAM_MSG_H
#define VG_TELEPHONY_TWILIO_MSTREAM_MSG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	MSTREAM_TEXT_MAX = 16384,   /* largest message we parse, bytes */
	MSTREAM_PAYLOAD_MAX = 1600, /* decoded mu-law bytes: 200 ms */
	MSTREAM_PARAMS_MAX = 8,	    /* customParameters kept */
	MSTREAM_SID_LEN = 64,
	MSTREAM_NAME_LEN = 64,
	MSTREAM_VALUE_LEN = 256,
	MSTREAM_REORDER_SLOTS = 4, /* chunks held waiting for a gap */
};

enum mstream_event {
	MSTREAM_EV_UNKNOWN = 0,
	MSTREAM_EV_CONNECTED,
	MSTREAM_EV_START,
	MSTREAM_EV_MEDIA,
	MSTREAM_EV_DTMF,
	MSTREAM_EV_MARK,
	MSTREAM_EV_STOP,
};

struct mstream_param {
	char name[MSTREAM_NAME_LEN];
	char value[MSTREAM_VALUE_LEN];
};

/* One parsed message. Fields not carried by the event are zero/empty.
 * Numbers are accepted as JSON strings (what Twilio sends) or numbers. */
struct mstream_msg {
	enum mstream_event ev;
	char event[32];			  /* the event name as sent */
	char stream_sid[MSTREAM_SID_LEN]; /* [A-Za-z0-9_-], may be "" */
	/* start */
	char call_sid[MSTREAM_SID_LEN];
	char account_sid[MSTREAM_SID_LEN];
	char encoding[32]; /* mediaFormat.encoding, "audio/x-mulaw" */
	uint32_t rate_hz;  /* mediaFormat.sampleRate */
	uint32_t channels; /* mediaFormat.channels */
	struct mstream_param params[MSTREAM_PARAMS_MAX];
	unsigned nparams; /* customParameters beyond the cap are dropped */
	/* media */
	bool inbound; /* media.track is "inbound" (or absent) */
	uint64_t chunk;
	uint64_t timestamp_ms;
	uint8_t payload[MSTREAM_PAYLOAD_MAX];
	size_t payload_len;
	/* dtmf */
	char digit;
	/* mark */
	char name[MSTREAM_NAME_LEN];
};

/* Parse one text frame into *m (overwritten). Returns 0; -EBADMSG (not
 * JSON, not an object, no "event", a field of the wrong type or a
 * required one missing: media without payload/chunk, dtmf without one
 * valid digit, mark without name, start without streamSid or mediaFormat,
 * a streamSid with characters outside [A-Za-z0-9_-]); -EMSGSIZE (text
 * over MSTREAM_TEXT_MAX or payload over MSTREAM_PAYLOAD_MAX decoded);
 * -EILSEQ (payload not base64); -ENOMSG (an event we do not know: m->event
 * holds its name). */
int mstream_msg_parse(const char *text, size_t len, struct mstream_msg *m);

/* The value of customParameters[name], or NULL. */
const char *mstream_msg_param(const struct mstream_msg *m, const char *name);

/* Print our messages into out[cap] (NUL-terminated). sid and name must be
 * [A-Za-z0-9_-]. Return the length, or -EINVAL, -ENOSPC. */
int mstream_print_media(char *out, size_t cap, const char *sid,
			const uint8_t *ulaw, size_t n);
int mstream_print_mark(char *out, size_t cap, const char *sid,
		       const char *name);
int mstream_print_clear(char *out, size_t cap, const char *sid);

/* Reorder window for media chunks: chunks come out in order; a chunk older
 * than the last one released is late (dropped); a gap is waited for while
 * fewer than MSTREAM_REORDER_SLOTS chunks are held, then skipped. */
struct mstream_reorder {
	bool started;
	uint64_t next; /* the chunk number released next */
	struct {
		bool used;
		uint64_t chunk;
		uint8_t data[MSTREAM_PAYLOAD_MAX];
		size_t len;
	} slot[MSTREAM_REORDER_SLOTS];
	uint64_t late, lost, reordered; /* counters */
};

void mstream_reorder_init(struct mstream_reorder *r);
/* Called with each chunk released in order. */
typedef void(mstream_chunk_fn)(const uint8_t *data, size_t len, void *arg);
/* Feed one chunk; releases every chunk now in order through fn. Returns
 * the number released (0 for a late or held chunk). */
unsigned mstream_reorder_push(struct mstream_reorder *r, uint64_t chunk,
			      const uint8_t *data, size_t len,
			      mstream_chunk_fn *fn, void *arg);
#endif
