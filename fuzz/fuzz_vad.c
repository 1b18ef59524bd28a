/* Fuzz target: caller audio (any bytes a peer can put in RTP, decoded as
 * G.711) through the VAD and the endpointer, with the endpointer's settings
 * from the first bytes and lost frames mixed in. Each frame's last byte
 * also drives the calls a channel makes between frames: bit 0 a new turn
 * (after an end, or in a continuation window), else bit 1 a continuation
 * after an end (endpoint_continue, the window 20 ms times the upper six
 * bits); a frame whose second byte is 0x2a retunes the endpointer
 * (endpoint_retune, settings from its third byte). Checks the invariants the
 * call relies on: a likelihood in 0..1, at most one end event per turn, the
 * utterance never longer than pre-roll + max speech + the trailing silence (the
 * largest the turn was tuned to), speech start before speech end; a
 * continuation accepted only right after a speech end, open until speech
 * resumes within its window (gap shorter than the window) or the window
 * passes (the audio back to what it was at the end); a retune refused
 * only while waiting for speech. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audio/clip.h"
#include "audio/g711.h"
#include "audio/vad.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

static size_t max_samples(const struct endpoint_cfg *c)
{
	return (size_t)(c->preroll_ms + c->max_speech_ms +
			c->trailing_silence_ms + 40) *
	       8;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	struct endpoint_cfg cfg;
	endpoint_cfg_default(&cfg);
	cfg.trailing_silence_ms = 20u * (1u + data[0] % 50);
	cfg.min_speech_ms = 20u * (data[1] % 20);
	cfg.max_speech_ms = 1000u * (1u + data[2] % 30);
	cfg.no_input_ms = 100u * (data[3] % 100);
	struct vad_cfg vc = { .aggressiveness = data[3] & 3u };
	struct vad *v = NULL;
	struct endpointer *ep = NULL;
	if (vad_create(&v, &vc) || endpoint_create(&ep, &cfg)) {
		vad_destroy(v);
		endpoint_destroy(ep);
		return 0;
	}
	data += 4;
	size -= 4;
	size_t bound = max_samples(&cfg); /* of this turn */
	int16_t pcm[AUDIO_FRAME_SAMPLES];
	bool ended = false;	   /* idle after an end event */
	bool waiting = true;	   /* no speech start this turn */
	bool can_continue = false; /* the last event was a speech end */
	bool gap = false;	   /* a continuation window is open */
	unsigned window_ms = 0;
	size_t end_ns = 0; /* the utterance at the last end */
	while (size > 0) {
		size_t n =
			size < AUDIO_FRAME_SAMPLES ? size : AUDIO_FRAME_SAMPLES;
		/* A frame whose first byte is 0x00 stands for a lost packet. */
		bool lost = data[0] == 0x00;
		memset(pcm, 0, sizeof(pcm));
		audio_ulaw_decode_buf(data, pcm, n);
		float p = vad_process(v, lost ? NULL : pcm);
		check(p >= 0.0f && p <= 1.0f);
		enum endpoint_event ev =
			endpoint_feed(ep, lost ? NULL : pcm, p);
		size_t ns = 0;
		if (ev == EP_SPEECH_START) {
			check(!ended);
			if (gap) { /* speech resumed within the window */
				check(!endpoint_continuing(ep));
				check(endpoint_gap_ms(ep) < window_ms);
				gap = false;
			}
			waiting = false;
		} else if (gap && !endpoint_continuing(ep)) {
			/* the window passed: the end stands as it was */
			check(ev == EP_NONE);
			endpoint_audio(ep, &ns);
			check(ns == end_ns);
			gap = false;
			ended = true;
		}
		if (ev == EP_SPEECH_END || ev == EP_MAX_SPEECH ||
		    ev == EP_NO_INPUT) {
			check(!ended && !gap);
			ended = true;
			waiting = false;
			can_continue = ev == EP_SPEECH_END;
			endpoint_audio(ep, &end_ns);
			check(end_ns <= bound);
			if (ev != EP_NO_INPUT)
				check(endpoint_speech_start_ms(ep) <=
				      endpoint_speech_end_ms(ep));
		}
		endpoint_audio(ep, &ns);
		check(ns <= bound);
		uint8_t ctl = data[n - 1];
		if (n > 2 && data[1] == 0x2au) {
			struct endpoint_cfg rc = cfg;
			rc.trailing_silence_ms = 20u * (1u + data[2] % 50);
			rc.max_speech_ms = 1000u * (1u + (data[2] >> 3) % 30);
			rc.min_speech_ms = 20u * (data[2] % 20);
			if (rc.min_speech_ms > rc.max_speech_ms)
				rc.min_speech_ms = rc.max_speech_ms;
			int err = endpoint_retune(ep, &rc);
			check(waiting ? err == -EINVAL : err == 0);
			if (!err) {
				size_t b = max_samples(&rc);
				bound = b > bound ? b : bound;
				cfg = rc;
			}
		}
		if ((ended || gap) && (ctl & 1u)) { /* a new turn */
			check(endpoint_start(ep, NULL) == 0);
			check(!endpoint_continuing(ep));
			ended = gap = can_continue = false;
			waiting = true;
			bound = max_samples(&cfg);
		} else if (ended && (ctl & 2u)) {
			window_ms = 20u * (ctl >> 2);
			int err = endpoint_continue(ep, window_ms);
			if (!can_continue || !window_ms) {
				check(err == -EINVAL);
			} else {
				check(err == 0 && endpoint_continuing(ep));
				gap = true;
				ended = false;
				can_continue = false;
			}
		} else if (!gap) {
			check(!endpoint_continuing(ep));
		}
		data += n;
		size -= n;
	}
	vad_destroy(v);
	endpoint_destroy(ep);
	return 0;
}
