/* One caller turn of a call's record (docs/API.md "Turns"): the single JSON
 * shape every channel writes, whether the turn came through SIP/RTP
 * (call.c), FastAGI (telephony/asterisk) or a control session (Twilio
 * webhooks, Connect, Lex: control/ctlsess.c). Every documented key is
 * always present; what the channel cannot know is null.
 *
 * A turnrec is a plain value that owns copies of its strings (cut to the
 * field sizes below), so a channel can keep it until the reply's audio
 * times are known and render it then. No allocation, any thread. */
#ifndef VG_CALL_TURNREC_H
#define VG_CALL_TURNREC_H
#include <stdbool.h>
#include <stdint.h>

#include "call/channel.h"

struct strbuf;

enum { TURNREC_TEXT_CAP = 1025 };

struct turnrec {
	unsigned seq; /* 1, 2, ... */
	char node[64];
	char input[8];	     /* "speech", "dtmf", "text", "none" */
	char end[16];	     /* "" -> null */
	char stt_engine[32]; /* "" -> null */
	char intent[64];
	char match[8]; /* "" -> "none" */
	char next[64]; /* "" -> null */
	char transcript[TURNREC_TEXT_CAP];
	bool has_transcript;
	bool has_stt_confidence;
	bool has_intent;
	bool audio;	    /* the channel hears audio: barge_in known */
	bool has_speech_ms; /* the channel measured speech_ms */
	bool barge_in;
	bool stt_early;	   /* see channel_turn */
	bool stt_streamed; /* idem */
	bool continues;	   /* idem; null without audio */
	float stt_confidence, intent_confidence;
	uint32_t speech_ms;
	/* clock_mono_us(); 0: did not happen. t_ms is relative to
	 * speech_end_us, and all null when it is 0. */
	uint64_t speech_end_us, stt_final_us, nlu_done_us, response_us;
	uint64_t tts_ready_us, first_rtp_us;
};

/* r = turn seq from what a media channel saw (channel_note_turn): audio
 * and has_speech_ms true, stt_engine and stt_confidence present with the
 * transcript, defaults "speech" for input and end, "none" for match. Strings
 * are copied and cut to fit. */
void turnrec_from_channel(struct turnrec *r, unsigned seq,
			  const struct channel_turn *t);

/* Append r as one JSON object to sb (no separator). On failure sb is left
 * as it was. Returns 0, -E2BIG (sb's cap) or -ENOMEM. */
int turnrec_json(struct strbuf *sb, const struct turnrec *r);
#endif
