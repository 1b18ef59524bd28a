/* Genesys Cloud AudioHook / Audio Connector messages (PROTOCOLS.md "Genesys
 * Cloud AudioHook"): parse the JSON text messages the client (Genesys)
 * sends, build every message the server sends, choose the media offer.
 * Pure: no I/O, no clock; any thread. Used by the monitor server
 * (audiohook.c) and the Audio Connector bot. */
#ifndef VG_TELEPHONY_GENESYS_AHMSG_H
#define VG_TELEPHONY_GENESYS_AHMSG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;

enum {
	AHMSG_TEXT_MAX = 65536, /* largest text message parsed, bytes */
	AHMSG_ID_LEN = 64,	/* session / conversation ids (UUIDs) */
	AHMSG_STR_LEN = 128,	/* ani, dnis, names, reasons */
	AHMSG_MEDIA_MAX = 8,	/* media offers kept from an open */
	AHMSG_OUT_MAX = 16384,	/* largest message built (before entities) */
};

enum ahmsg_type {
	AHMSG_UNKNOWN = 0, /* a well-formed message of a type we do not know */
	AHMSG_OPEN,
	AHMSG_PING,
	AHMSG_UPDATE,
	AHMSG_PAUSED,
	AHMSG_RESUMED,
	AHMSG_DISCARDED,
	AHMSG_CLOSE,
	AHMSG_ERROR,
	AHMSG_DTMF,		 /* Audio Connector */
	AHMSG_PLAYBACK_STARTED,	 /* Audio Connector */
	AHMSG_PLAYBACK_COMPLETED /* Audio Connector */
};

enum ahmsg_format { AHMSG_FMT_NONE = 0, AHMSG_FMT_PCMU, AHMSG_FMT_L16 };

enum ahmsg_channel { AHMSG_CH_EXTERNAL = 0, AHMSG_CH_INTERNAL = 1 };

/* One media offer: {"type":"audio","format":"PCMU","channels":[...],
 * "rate":8000}. channels[i] is the channel of the i-th interleaved sample. */
struct ahmsg_media {
	enum ahmsg_format format;
	unsigned rate_hz;
	unsigned nchannels; /* 1 or 2 */
	enum ahmsg_channel channels[2];
};

/* One parsed client message. Fields a type does not carry are zero/empty. */
struct ahmsg {
	enum ahmsg_type type;
	char type_name[32];    /* as sent (AHMSG_UNKNOWN: what it was) */
	char id[AHMSG_ID_LEN]; /* session id */
	uint64_t seq;	       /* >= 1 */
	uint64_t serverseq;    /* last server seq the client saw */
	bool has_position;
	uint64_t position_ms; /* "position":"PT12.34S" */
	/* The "parameters" object, detached and owned (ahmsg_fini frees
	 * it); NULL when absent. customConfig, inputVariables live here. */
	struct cJSON *params;
	/* open */
	char organization_id[AHMSG_ID_LEN];
	char conversation_id[AHMSG_ID_LEN];
	char participant_id[AHMSG_ID_LEN];
	char ani[AHMSG_STR_LEN];
	char ani_name[AHMSG_STR_LEN];
	char dnis[AHMSG_STR_LEN];
	char language[32];
	struct ahmsg_media media[AHMSG_MEDIA_MAX];
	unsigned nmedia;     /* usable offers kept (audio, known format) */
	unsigned nmedia_all; /* offers sent */
	const struct cJSON *custom_config;   /* in params; may be NULL */
	const struct cJSON *input_variables; /* in params; may be NULL */
	/* close, error */
	char reason[AHMSG_STR_LEN]; /* close: "end", "disconnect", ... */
	int code;		    /* error: 400, 405, 408, 409, 413, ... */
	char message[AHMSG_STR_LEN];
	/* discarded: the span the client dropped */
	uint64_t discard_start_ms, discard_ms;
	/* dtmf */
	char digit;
};

/* Parse one text message into *m (any previous content is freed first
 * when m was filled by an earlier parse; zero m before the first use).
 * Returns 0; -EBADMSG (not JSON, not an object, version not "2", id, type
 * or seq missing or mistyped, seq 0, a bad position or duration, a type's
 * required field missing: open without media, dtmf without one digit of
 * 0-9*#, close parameters not an object); -EMSGSIZE (len over
 * AHMSG_TEXT_MAX); -ENOMEM. An unknown type is 0 with AHMSG_UNKNOWN. On
 * error m holds nothing that needs ahmsg_fini (it is safe anyway). */
int ahmsg_parse(const char *text, size_t len, struct ahmsg *m);
/* Free what a parse allocated; m is zeroed. NULL is a no-op. */
void ahmsg_fini(struct ahmsg *m);

/* ISO-8601 duration "PT12.34S" / "PT1M2.5S" / "PT1H" to ms (rounded
 * down to ms). Returns 0 or -EBADMSG. Pure. */
int ahmsg_duration_parse(const char *s, uint64_t *ms);
/* ms as "PT12.34S" (at most 3 decimals, trailing zeros dropped); returns
 * the length or -ENOSPC. */
int ahmsg_duration_print(char *out, size_t cap, uint64_t ms);

/* Choose the offer to open with: PCMU over L16, 8 kHz only; stereo with
 * both external and internal over mono; among mono ones external over
 * internal. Returns the index into m->media, or -ENOENT (nothing we can
 * take: answer with error 415 / disconnect). */
int ahmsg_media_choose(const struct ahmsg *m);

/* ---- server messages ----
 * Each builder writes one complete message (NUL-terminated) to out[cap]
 * and returns its length, or -ENOSPC / -EINVAL / -ENOMEM. The header is
 * always {"version":"2","type":..,"seq":seq,"clientseq":clientseq,
 * "id":id,"parameters":{...}}; id must be printable (it is JSON-escaped).
 * The caller owns the counters: seq is the server's own (from 1),
 * clientseq the last client seq it handled. */
struct ahmsg_hdr {
	const char *id;
	uint64_t seq;
	uint64_t clientseq;
};

/* opened: the chosen media (exactly one), startPaused. */
int ahmsg_build_opened(char *out, size_t cap, const struct ahmsg_hdr *h,
		       const struct ahmsg_media *media, bool start_paused);
/* pong, updated, pause, resume, closed: empty parameters. type is one of
 * "pong", "updated", "pause", "resume", "closed". */
int ahmsg_build_simple(char *out, size_t cap, const struct ahmsg_hdr *h,
		       const char *type);
/* disconnect: reason "completed" | "error" | "unauthorized"; info (may be
 * NULL); output_variables (borrowed, may be NULL) an object of strings. */
int ahmsg_build_disconnect(char *out, size_t cap, const struct ahmsg_hdr *h,
			   const char *reason, const char *info,
			   const struct cJSON *output_variables);
/* error: code (400, 405, 408, 409, 413, 415, 429, 500, 503) and message. */
int ahmsg_build_error(char *out, size_t cap, const struct ahmsg_hdr *h,
		      int code, const char *message);

/* event entities. */
struct ahmsg_transcript {
	enum ahmsg_channel channel;
	const char *text;   /* the display transcript */
	float confidence;   /* 0..1 */
	uint64_t offset_ms; /* from the start of the (unpaused) stream */
	uint64_t duration_ms;
	bool is_final;
	const char *language;	  /* may be NULL */
	const char *utterance_id; /* may be NULL: generated from offset */
};

struct ahmsg_suggestion {
	const char *type;			    /* "faq" or "article" */
	const char *question, *answer;		    /* faq */
	const char *title, *excerpt, *document_uri; /* article */
};

struct ahmsg_assist {
	const char *text; /* the customer's utterance */
	enum ahmsg_channel channel;
	uint64_t offset_ms, duration_ms;
	const char *intent; /* may be NULL: no intent above threshold */
	float confidence;
	const struct ahmsg_suggestion *suggestions;
	size_t nsuggestions;
};

/* event with one transcript entity. */
int ahmsg_build_transcript(char *out, size_t cap, const struct ahmsg_hdr *h,
			   const struct ahmsg_transcript *t);
/* event with one agentassist entity. */
int ahmsg_build_assist(char *out, size_t cap, const struct ahmsg_hdr *h,
		       const struct ahmsg_assist *a);
/* event with one barge_in entity (Audio Connector). */
int ahmsg_build_barge_in(char *out, size_t cap, const struct ahmsg_hdr *h);

/* The name of a channel: "external" / "internal". */
const char *ahmsg_channel_name(enum ahmsg_channel ch);
const char *ahmsg_type_name(enum ahmsg_type t);
#endif
