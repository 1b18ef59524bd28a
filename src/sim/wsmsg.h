/* What the server sends to the simulator's stream transports, parsed:
 * Twilio Media Streams text frames (media, mark, clear) and Genesys
 * AudioHook / Audio Connector text messages (opened, pong, event with
 * transcript / barge_in / agentassist entities, disconnect with
 * outputVariables, closed, error, pause, resume, updated). Written from
 * the protocols' documentation (PROTOCOLS.md), independently of the
 * server's own parsers, so a wrong server is not excused by a shared bug.
 * Pure: no I/O, no clock, no allocation kept; any thread. */
#ifndef VG_SIM_WSMSG_H
#define VG_SIM_WSMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_WSMSG_TEXT_MAX 65536   /* largest text message parsed, bytes */
#define SIM_WSMSG_PAYLOAD_MAX 8000 /* decoded mu-law bytes: 1 s */
#define SIM_WSMSG_NAME_MAX 64
#define SIM_WSMSG_STR_MAX 256
#define SIM_WSMSG_TEXT_KEEP 1024 /* transcript text kept */

enum sim_tw_type {
	SIM_TW_UNKNOWN = 0, /* well-formed, an event we do not know */
	SIM_TW_MEDIA,
	SIM_TW_MARK,
	SIM_TW_CLEAR,
};

struct sim_twmsg {
	enum sim_tw_type type;
	char event[32]; /* as sent */
	char stream_sid[SIM_WSMSG_NAME_MAX];
	char name[SIM_WSMSG_NAME_MAX];		/* mark */
	uint8_t payload[SIM_WSMSG_PAYLOAD_MAX]; /* media: mu-law */
	size_t payload_len;
};

/* Parse one Twilio Media Streams text frame from the server. Returns 0;
 * -EBADMSG (not a JSON object, no "event" string, media without a
 * base64 media.payload string, mark without mark.name string, a string
 * over its field); -EMSGSIZE (len over SIM_WSMSG_TEXT_MAX, payload over
 * SIM_WSMSG_PAYLOAD_MAX); -EILSEQ (payload not base64); -ENOMEM. */
int sim_twmsg_parse(const char *text, size_t len, struct sim_twmsg *m);

enum sim_ah_type {
	SIM_AH_UNKNOWN = 0,
	SIM_AH_OPENED,
	SIM_AH_PONG,
	SIM_AH_EVENT,
	SIM_AH_DISCONNECT,
	SIM_AH_CLOSED,
	SIM_AH_ERROR,
	SIM_AH_PAUSE,
	SIM_AH_RESUME,
	SIM_AH_UPDATED,
};

struct sim_ahmsg {
	enum sim_ah_type type;
	char type_name[32];
	char id[SIM_WSMSG_NAME_MAX];
	uint64_t seq, clientseq;
	/* opened: the media chosen */
	char format[16];
	unsigned rate_hz;
	/* disconnect */
	char reason[SIM_WSMSG_NAME_MAX];
	char action[SIM_WSMSG_NAME_MAX];	 /* outputVariables.action */
	char transfer_target[SIM_WSMSG_STR_MAX]; /* .transferTarget */
	char transfer_queue[SIM_WSMSG_STR_MAX];	 /* .transferQueue */
	char intent[SIM_WSMSG_NAME_MAX]; /* .intent, or an agentassist's */
	/* error */
	int code;
	char message[SIM_WSMSG_STR_MAX];
	/* event entities */
	bool barge_in;
	bool transcript; /* a transcript entity was present */
	bool transcript_final;
	char channel[16]; /* the transcript's channelId */
	char text[SIM_WSMSG_TEXT_KEEP];
	bool assist; /* an agentassist entity was present */
};

/* Parse one AudioHook text message from the server. Returns 0; -EBADMSG
 * (not a JSON object, version not "2", type/id not strings, seq not a
 * non-negative integer, parameters present but not an object, an entity
 * list that is not an array); -EMSGSIZE (len over SIM_WSMSG_TEXT_MAX);
 * -ENOMEM. An unknown type is 0 with SIM_AH_UNKNOWN. Strings too long for
 * their field are cut (never an error: the simulator reports them). */
int sim_ahmsg_parse(const char *text, size_t len, struct sim_ahmsg *m);

#endif
