/* The turn record's JSON (turnrec.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "call/turnrec.h"
#include "core/strbuf.h"

#define CP(dst, src) snprintf((dst), sizeof(dst), "%s", (src) ? (src) : "")

void turnrec_from_channel(struct turnrec *r, unsigned seq,
			  const struct channel_turn *t)
{
	memset(r, 0, sizeof(*r));
	r->seq = seq;
	r->audio = r->has_speech_ms = true;
	if (!t)
		return;
	CP(r->node, t->node);
	CP(r->input, t->input ? t->input : "speech");
	CP(r->end, t->end ? t->end : "speech");
	CP(r->intent, t->intent);
	CP(r->match, t->match);
	CP(r->next, t->next);
	if (t->transcript) {
		r->has_transcript = true;
		r->has_stt_confidence = true;
		CP(r->transcript, t->transcript);
		CP(r->stt_engine, t->stt_engine);
		r->stt_confidence = t->stt_confidence;
		r->stt_early = t->stt_early;
		r->stt_streamed = t->stt_streamed;
	}
	r->continues = t->continues;
	r->has_intent = t->intent != NULL;
	r->intent_confidence = t->intent_confidence;
	r->barge_in = t->barge_in;
	r->speech_ms = t->speech_ms;
	r->speech_end_us = t->speech_end_us;
	r->stt_final_us = t->stt_final_us;
	r->nlu_done_us = t->nlu_done_us;
	r->response_us = t->response_us;
}

/* ,"key":"value", or ,"key":null when has is false. */
static int add_str(struct strbuf *sb, const char *key, bool has, const char *v)
{
	int err = strbuf_printf(sb, ",\"%s\":", key);
	if (err)
		return err;
	return has ? strbuf_add_json_str(sb, v) : strbuf_addstr(sb, "null");
}

/* A confidence: null when absent or not a finite number. */
static int add_conf(struct strbuf *sb, const char *key, bool has, float v)
{
	if (!has || !isfinite(v))
		return strbuf_printf(sb, ",\"%s\":null", key);
	return strbuf_printf(sb, ",\"%s\":%.3f", key, (double)v);
}

/* Milliseconds of t after base (0.1 ms resolution), null when unknown. */
static int add_rel(struct strbuf *sb, const char *sep, const char *key,
		   uint64_t t, uint64_t base)
{
	if (!t || !base || t < base)
		return strbuf_printf(sb, "%s\"%s\":null", sep, key);
	return strbuf_printf(sb, "%s\"%s\":%.1f", sep, key,
			     (double)(t - base) / 1000.0);
}

int turnrec_json(struct strbuf *sb, const struct turnrec *r)
{
	if (!sb || !r)
		return -EINVAL;
	size_t mark = sb->len;
	uint64_t b = r->speech_end_us;
	int err = strbuf_printf(sb, "{\"seq\":%u,\"node\":", r->seq);
	if (!err)
		err = strbuf_add_json_str(sb, r->node);
	if (!err)
		err = add_str(sb, "input", true,
			      r->input[0] ? r->input : "none");
	if (!err)
		err = add_str(sb, "transcript", r->has_transcript,
			      r->transcript);
	if (!err)
		err = add_str(sb, "stt_engine",
			      r->has_transcript && r->stt_engine[0],
			      r->stt_engine);
	if (!err)
		err = add_conf(sb, "stt_confidence",
			       r->has_transcript && r->has_stt_confidence,
			       r->stt_confidence);
	if (!err)
		err = strbuf_printf(sb, ",\"stt_early\":%s",
				    !r->audio || !r->has_transcript ||
						    !r->stt_engine[0]
					    ? "null"
				    : r->stt_early ? "true"
						   : "false");
	if (!err)
		err = strbuf_printf(sb, ",\"stt_streamed\":%s",
				    !r->audio || !r->has_transcript ||
						    !r->stt_engine[0]
					    ? "null"
				    : r->stt_streamed ? "true"
						      : "false");
	if (!err)
		err = strbuf_printf(sb, ",\"continues\":%s",
				    !r->audio	   ? "null"
				    : r->continues ? "true"
						   : "false");
	if (!err)
		err = add_str(sb, "intent", r->has_intent, r->intent);
	if (!err)
		err = add_conf(sb, "intent_confidence", r->has_intent,
			       r->intent_confidence);
	if (!err)
		err = add_str(sb, "match", true,
			      r->match[0] ? r->match : "none");
	if (!err)
		err = add_str(sb, "next", r->next[0] != '\0', r->next);
	if (!err)
		err = strbuf_printf(sb, ",\"barge_in\":%s",
				    !r->audio	  ? "null"
				    : r->barge_in ? "true"
						  : "false");
	if (!err)
		err = add_str(sb, "end", r->end[0] != '\0', r->end);
	if (!err)
		err = r->has_speech_ms
			      ? strbuf_printf(sb, ",\"speech_ms\":%u",
					      r->speech_ms)
			      : strbuf_addstr(sb, ",\"speech_ms\":null");
	if (!err)
		err = add_rel(sb, ",\"t_ms\":{", "speech_end", b, b);
	if (!err)
		err = add_rel(sb, ",", "stt_final", r->stt_final_us, b);
	if (!err)
		err = add_rel(sb, ",", "nlu_done", r->nlu_done_us, b);
	if (!err)
		err = add_rel(sb, ",", "response", r->response_us, b);
	if (!err)
		err = add_rel(sb, ",", "tts_ready", r->tts_ready_us, b);
	if (!err)
		err = add_rel(sb, ",", "first_rtp", r->first_rtp_us, b);
	if (!err)
		err = strbuf_addstr(sb, "}}");
	if (err && sb->buf) {
		sb->len = mark;
		sb->buf[mark] = '\0';
	}
	return err;
}
