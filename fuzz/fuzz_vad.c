/* Fuzz target: caller audio (any bytes a peer can put in RTP, decoded as
 * G.711) through the VAD and the endpointer, with the endpointer's settings
 * from the first bytes and lost frames mixed in. Checks the invariants the
 * call relies on: a likelihood in 0..1, at most one end event per turn, the
 * utterance never longer than pre-roll + max speech + the trailing silence,
 * speech start before speech end. */
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
	size_t max_samples = (size_t)(cfg.preroll_ms + cfg.max_speech_ms +
				      cfg.trailing_silence_ms + 40) *
			     8;
	int16_t pcm[AUDIO_FRAME_SAMPLES];
	bool ended = false;
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
		if (ev == EP_SPEECH_END || ev == EP_MAX_SPEECH ||
		    ev == EP_NO_INPUT) {
			check(!ended);
			ended = true;
			size_t ns = 0;
			endpoint_audio(ep, &ns);
			check(ns <= max_samples);
			if (ev != EP_NO_INPUT)
				check(endpoint_speech_start_ms(ep) <=
				      endpoint_speech_end_ms(ep));
		}
		if (ended && data[n - 1] & 1u) { /* a new turn */
			check(endpoint_start(ep, NULL) == 0);
			ended = false;
		}
		data += n;
		size -= n;
	}
	vad_destroy(v);
	endpoint_destroy(ep);
	return 0;
}
