/* The media call hearing the caller: listen() with the VAD and endpointer on
 * inbound frames, speech barge-in (the prompt is held at the first frame
 * that may be speech, stopped when speech is confirmed, resumed after a
 * click), no-input after the prompt, DTMF ending a listen, and the turn
 * record completed by the reply's first frame. Virtual clock; the caller's
 * speech is synthesized with flite at test time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/clip.h"
#include "audio/stream.h"
#include "call/call.h"
#include "call/call_rig.h"
#include "engines/tts/flite/tts_flite.h"
#include "engines/tts/tts.h"

struct rec {
	struct channel_event ev[64];
	int n;
	size_t audio_samples; /* of the last LISTEN_DONE */
	int16_t audio_peak;
	struct audio_clip *done_audio; /* a reference: the last LISTEN_DONE's */
	struct audio_clip *pause_audio; /* idem, the last SPEECH_PAUSE's */
	unsigned npause, pause_seq;
	size_t first_pause_samples;
	bool keep; /* take the references above */
	/* CHANNEL_EV_SPEECH_AUDIO batches joined in joined[] (stream_audio) */
	size_t njoined;
	unsigned naudio;
	size_t min_batch, max_batch; /* of the batches but the first/last */
	size_t last_batch;
	bool offset_gap;      /* a batch's offset was not njoined */
	bool audio_after_end; /* a batch came after LISTEN_DONE */
	bool ended;
};

static int16_t joined[30 * 8000];

static void rec_free(struct rec *r)
{
	r->done_audio = audio_clip_deref(r->done_audio);
	r->pause_audio = audio_clip_deref(r->pause_audio);
}

static void on_ev(struct channel *ch, const struct channel_event *ev, void *arg)
{
	struct rec *r = arg;
	(void)ch;
	if (r->n < 64)
		r->ev[r->n++] = *ev;
	if (ev->type == CHANNEL_EV_SPEECH_AUDIO) {
		const struct audio_clip *a = ev->audio.audio;
		assert_non_null(a);
		assert_int_equal(a->rate_hz, 8000);
		if (ev->audio.offset != r->njoined)
			r->offset_gap = true;
		if (r->ended)
			r->audio_after_end = true;
		if (r->naudio++ > 1) { /* the previous one was not the first */
			if (!r->min_batch || r->last_batch < r->min_batch)
				r->min_batch = r->last_batch;
			if (r->last_batch > r->max_batch)
				r->max_batch = r->last_batch;
		}
		r->last_batch = a->nsamples;
		assert_true(r->njoined + a->nsamples <= 30 * 8000);
		memcpy(joined + r->njoined, a->samples,
		       a->nsamples * sizeof(int16_t));
		r->njoined += a->nsamples;
	}
	if (ev->type == CHANNEL_EV_LISTEN_DONE)
		r->ended = true;
	if (ev->type == CHANNEL_EV_SPEECH_PAUSE) {
		assert_non_null(ev->pause.audio);
		if (!r->npause++)
			r->first_pause_samples = ev->pause.audio->nsamples;
		r->pause_seq = ev->pause.seq;
		if (r->keep) {
			audio_clip_deref(r->pause_audio);
			r->pause_audio = audio_clip_ref(ev->pause.audio);
		}
	}
	if (ev->type == CHANNEL_EV_LISTEN_DONE && ev->listen.audio) {
		if (r->keep) {
			audio_clip_deref(r->done_audio);
			r->done_audio = audio_clip_ref(ev->listen.audio);
		}
		r->audio_samples = ev->listen.audio->nsamples;
		r->audio_peak = 0;
		for (size_t i = 0; i < ev->listen.audio->nsamples; i++) {
			int16_t v = ev->listen.audio->samples[i];
			if (abs(v) > r->audio_peak)
				r->audio_peak = (int16_t)abs(v);
		}
	}
}

static const struct channel_event *find(const struct rec *r,
					enum channel_event_type t)
{
	for (int i = 0; i < r->n; i++)
		if (r->ev[i].type == t)
			return &r->ev[i];
	return NULL;
}

static struct audio_clip *speech; /* "i want to check my balance" */
static struct audio_clip *prompt; /* a 3 s bot prompt */
static struct tts_engine *engine;

static int setup(void **state)
{
	(void)state;
	if (tts_flite_ops.open(&engine))
		return -1;
	const struct tts_voice *kal = tts_flite_ops.voice_find(engine, "kal");
	const struct tts_voice *slt = tts_flite_ops.voice_find(engine, "slt");
	if (!kal || !slt)
		return -1;
	if (tts_flite_ops.synth(engine, slt, "I want to check my balance.",
				&speech))
		return -1;
	if (tts_flite_ops.synth(engine, kal,
				"Welcome to voxgate bank. In a few words, tell "
				"me what you need.",
				&prompt))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	audio_clip_deref(speech);
	audio_clip_deref(prompt);
	tts_flite_ops.close(engine);
	return 0;
}

/* One 20 ms step: a caller frame in, a bot frame out. Returns true when
 * the bot's frame carried prompt audio. */
static bool step(struct call *c, uint64_t *now, const int16_t *in,
		 int16_t out[160])
{
	call_audio_in(c, in, 160, *now);
	bool audio = call_tick(c, *now, out);
	*now += 20;
	return audio;
}

static void the_caller_frame(const struct audio_clip *clip, size_t i,
			     int16_t *pcm, unsigned *seed)
{
	if (i * 160 + 160 <= clip->nsamples) {
		memcpy(pcm, clip->samples + i * 160, 160 * sizeof(int16_t));
	} else {
		rig_noise_frame(pcm, seed);
	}
}

static void listen_gives_the_endpointed_utterance(void **s)
{
	(void)s;
	struct rec r = { 0 };
	uint64_t now;
	struct call *c = rig_call_active(on_ev, &r, &now);
	struct channel_listen l = { .no_input_ms = 5000 };
	assert_int_equal(channel_listen(call_channel(c), &l), 0);
	assert_int_equal(channel_listen(call_channel(c), &l), -EBUSY);
	int16_t in[160], out[160];
	unsigned seed = 1;
	for (int i = 0; i < 25; i++) { /* 0.5 s of line noise */
		rig_noise_frame(in, &seed);
		step(c, &now, in, out);
	}
	size_t nfr = speech->nsamples / 160;
	for (size_t i = 0; i < nfr + 50 && !find(&r, CHANNEL_EV_LISTEN_DONE);
	     i++) {
		the_caller_frame(speech, i, in, &seed);
		step(c, &now, in, out);
	}
	const struct channel_event *st = find(&r, CHANNEL_EV_SPEECH_START);
	const struct channel_event *done = find(&r, CHANNEL_EV_LISTEN_DONE);
	assert_non_null(st);
	assert_false(st->speech.barged);
	assert_non_null(done);
	assert_int_equal(done->listen.end, LISTEN_SPEECH);
	/* the whole utterance, with its onset, and not much more */
	assert_true(r.audio_samples >= speech->nsamples * 8 / 10);
	assert_true(r.audio_samples <= speech->nsamples + 8000 * 2);
	assert_true(r.audio_peak > 3000);
	assert_true(done->listen.speech_ms > 700);
	assert_true(done->listen.speech_end_us > 0);
	call_destroy(c);
}

/* Feed clip then line noise until the listen ends (at most 3 s more). */
static void say(struct call *c, struct rec *r, uint64_t *now,
		const struct audio_clip *clip, size_t tail_frames,
		unsigned *seed)
{
	int16_t in[160], out[160];
	size_t nfr = clip->nsamples / 160;
	for (size_t i = 0;
	     i < nfr + tail_frames && !find(r, CHANNEL_EV_LISTEN_DONE); i++) {
		the_caller_frame(clip, i, in, seed);
		step(c, now, in, out);
	}
}

static void noise(struct call *c, uint64_t *now, unsigned frames,
		  unsigned *seed)
{
	int16_t in[160], out[160];
	for (unsigned i = 0; i < frames; i++) {
		rig_noise_frame(in, seed);
		step(c, now, in, out);
	}
}

/* Early decode: a pause of early_ms within speech raises SPEECH_PAUSE with
 * the audio so far; when the end follows with no more speech, LISTEN_DONE
 * names that pause, and its audio is the utterance's minus the rest of the
 * trailing silence. */
static void a_pause_hands_over_the_audio_so_far(void **s)
{
	(void)s;
	struct rec r = { .keep = true };
	uint64_t now;
	struct call *c = rig_call_active(on_ev, &r, &now);
	struct channel_listen l = { .no_input_ms = 5000, .early_ms = 100 };
	assert_int_equal(channel_listen(call_channel(c), &l), 0);
	unsigned seed = 7;
	noise(c, &now, 25, &seed);
	say(c, &r, &now, speech, 100, &seed);
	const struct channel_event *done = find(&r, CHANNEL_EV_LISTEN_DONE);
	assert_non_null(done);
	assert_int_equal(done->listen.end, LISTEN_SPEECH);
	assert_true(r.npause >= 1);
	assert_int_equal(done->listen.pause_seq, r.pause_seq);
	const struct channel_event *p = find(&r, CHANNEL_EV_SPEECH_PAUSE);
	assert_true(p < done); /* raised before the end */
	/* The pause's audio is the utterance up to the pause (300 ms trailing
	 * silence - 100 ms before its end), padded with the pause's own last
	 * 100 ms repeated to 500 ms after the speech (endpoint_pause_clip()):
	 * 200 ms longer than the utterance at its end. */
	assert_non_null(r.pause_audio);
	assert_non_null(r.done_audio);
	size_t n = r.done_audio->nsamples - 200 * 8;
	assert_int_equal(r.pause_audio->nsamples,
			 r.done_audio->nsamples + 200 * 8);
	assert_memory_equal(r.pause_audio->samples, r.done_audio->samples,
			    n * sizeof(int16_t));
	for (size_t k = 0; k < 400 * 8; k++)
		assert_int_equal(r.pause_audio->samples[n + k],
				 r.pause_audio->samples[n - 800 + k % 800]);
	assert_true(r.ev[p - r.ev].pause.speech_ms > 700);
	rec_free(&r);
	call_destroy(c);
}

/* Speech after a pause voids it: the end names the last pause only. With
 * early_ms 0, or not below the trailing silence, no pause is raised. */
static void speech_after_a_pause_voids_it(void **s)
{
	(void)s;
	struct rec r = { .keep = true };
	uint64_t now;
	struct call *c = rig_call_active(on_ev, &r, &now);
	struct channel_listen l = { .no_input_ms = 5000,
				    .trailing_silence_ms = 600,
				    .early_ms = 100 };
	assert_int_equal(channel_listen(call_channel(c), &l), 0);
	unsigned seed = 3;
	noise(c, &now, 25, &seed);
	say(c, &r, &now, speech, 15, &seed); /* 300 ms pause: not the end */
	assert_null(find(&r, CHANNEL_EV_LISTEN_DONE));
	unsigned first = r.pause_seq;
	assert_true(first >= 1);
	say(c, &r, &now, speech, 100, &seed);
	const struct channel_event *done = find(&r, CHANNEL_EV_LISTEN_DONE);
	assert_non_null(done);
	assert_true(r.pause_seq > first);
	assert_int_equal(done->listen.pause_seq, r.pause_seq);
	/* the first pause's audio was padded only to its own utterance's
	 * end: far shorter than the two sentences */
	assert_true(r.first_pause_samples < r.done_audio->nsamples * 2 / 3);
	assert_int_equal(r.pause_audio->nsamples, r.done_audio->nsamples);
	rec_free(&r);

	static const unsigned early[][2] = { { 0, 300 }, { 300, 300 } };
	for (size_t k = 0; k < 2; k++) {
		memset(&r, 0, sizeof(r));
		r.keep = true;
		struct channel_listen l2 = {
			.no_input_ms = 5000,
			.trailing_silence_ms = early[k][1],
			.early_ms = early[k][0],
		};
		assert_int_equal(channel_listen(call_channel(c), &l2), 0);
		noise(c, &now, 25, &seed);
		say(c, &r, &now, speech, 100, &seed);
		done = find(&r, CHANNEL_EV_LISTEN_DONE);
		assert_non_null(done);
		assert_int_equal(r.npause, 0);
		assert_int_equal(done->listen.pause_seq, 0);
		rec_free(&r);
	}
	call_destroy(c);
}

static void speech_barge_in_stops_the_prompt_within_100ms(void **s)
{
	(void)s;
	struct rec r = { 0 };
	uint64_t now;
	struct call *c = rig_call_active(on_ev, &r, &now);
	struct channel_prompt p = { .name = "greeting",
				    .text = "welcome",
				    .clip = prompt,
				    .speech_barge_in = true };
	assert_int_equal(channel_play(call_channel(c), &p), 0);
	struct channel_listen l = { 0 };
	assert_int_equal(channel_listen(call_channel(c), &l), 0);
	int16_t in[160], out[160];
	unsigned seed = 7;
	for (int i = 0; i < 30; i++) { /* 0.6 s of prompt, caller quiet */
		rig_noise_frame(in, &seed);
		assert_true(step(c, &now, in, out));
	}
	/* The caller starts talking: count frames from the speech onset
	 * (the first frame above -40 dBFS; synthesis starts with a pause)
	 * until the prompt is no longer heard. */
	size_t onset = rig_first_loud_frame(speech);
	int frames_to_stop = -1;
	size_t i;
	for (i = 0; i < speech->nsamples / 160; i++) {
		the_caller_frame(speech, i, in, &seed);
		if (!step(c, &now, in, out)) {
			frames_to_stop = (int)i + 1 - (int)onset;
			break;
		}
	}
	print_message("barge-in: prompt silent after %d frames (%d ms)\n",
		      frames_to_stop, frames_to_stop * 20);
	assert_true(frames_to_stop > 0 && frames_to_stop * 20 <= 100);
	/* and it stays stopped: speech confirmed, prompt interrupted */
	for (; i < speech->nsamples / 160; i++) {
		the_caller_frame(speech, i, in, &seed);
		assert_false(step(c, &now, in, out));
	}
	const struct channel_event *pd = find(&r, CHANNEL_EV_PLAY_DONE);
	assert_non_null(pd);
	assert_true(pd->play.interrupted);
	assert_true(pd->play.played_ms >= 500 && pd->play.played_ms < 1000);
	const struct channel_event *st = find(&r, CHANNEL_EV_SPEECH_START);
	assert_non_null(st);
	assert_true(st->speech.barged);
	for (int k = 0; k < 50 && !find(&r, CHANNEL_EV_LISTEN_DONE); k++) {
		rig_noise_frame(in, &seed);
		step(c, &now, in, out);
	}
	const struct channel_event *done = find(&r, CHANNEL_EV_LISTEN_DONE);
	assert_non_null(done);
	assert_true(done->listen.barged);
	assert_non_null(strstr(call_prompts_json(c), "\"interrupted\":true"));
	call_destroy(c);
}

static void a_click_holds_the_prompt_then_it_resumes(void **s)
{
	(void)s;
	struct rec r = { 0 };
	uint64_t now;
	struct call *c = rig_call_active(on_ev, &r, &now);
	struct channel_prompt p = { .name = "greeting",
				    .clip = prompt,
				    .speech_barge_in = true };
	assert_int_equal(channel_play(call_channel(c), &p), 0);
	struct channel_listen l = { 0 };
	assert_int_equal(channel_listen(call_channel(c), &l), 0);
	int16_t in[160], out[160];
	unsigned seed = 3;
	for (int i = 0; i < 25; i++) {
		rig_noise_frame(in, &seed);
		step(c, &now, in, out);
	}
	/* a 40 ms click: loud broadband bursts */
	for (int f = 0; f < 2; f++) {
		for (int k = 0; k < 160; k++) {
			seed = seed * 1103515245u + 12345u;
			in[k] = (int16_t)((int)((seed >> 16) % 40001) - 20000);
		}
		step(c, &now, in, out);
	}
	int audible = 0;
	for (int i = 0; i < 25; i++) {
		rig_noise_frame(in, &seed);
		audible += step(c, &now, in, out);
	}
	/* the prompt came back and was not interrupted */
	assert_true(audible >= 15);
	assert_null(find(&r, CHANNEL_EV_SPEECH_START));
	assert_null(find(&r, CHANNEL_EV_PLAY_DONE));
	call_destroy(c);
}

static void no_input_counts_from_the_end_of_the_prompt(void **s)
{
	(void)s;
	struct rec r = { 0 };
	uint64_t now;
	struct call *c = rig_call_active(on_ev, &r, &now);
	struct audio_clip *half = audio_clip_alloc(4000, 8000); /* 0.5 s */
	for (size_t i = 0; i < half->nsamples; i++)
		half->samples[i] = (int16_t)(3000 * sin(i * 0.3));
	struct channel_prompt p = { .name = "q", .clip = half };
	assert_int_equal(channel_play(call_channel(c), &p), 0);
	audio_clip_deref(half);
	struct channel_listen l = { .no_input_ms = 1000 };
	assert_int_equal(channel_listen(call_channel(c), &l), 0);
	int16_t in[160], out[160];
	unsigned seed = 5;
	uint64_t start = now;
	while (!find(&r, CHANNEL_EV_LISTEN_DONE) && now - start < 5000) {
		rig_noise_frame(in, &seed);
		step(c, &now, in, out);
	}
	const struct channel_event *done = find(&r, CHANNEL_EV_LISTEN_DONE);
	assert_non_null(done);
	assert_int_equal(done->listen.end, LISTEN_NO_INPUT);
	assert_null(done->listen.audio);
	/* 0.5 s prompt + 1 s, within a frame or two */
	assert_true(now - start >= 1500 && now - start <= 1560);
	call_destroy(c);
}

static void a_key_ends_a_listen_that_takes_dtmf(void **s)
{
	(void)s;
	struct rec r = { 0 };
	uint64_t now;
	struct call *c = rig_call_active(on_ev, &r, &now);
	struct channel_listen l = { .dtmf_ends = true };
	assert_int_equal(channel_listen(call_channel(c), &l), 0);
	call_dtmf_in(c, '1', now);
	int16_t out[160];
	call_tick(c, now, out);
	const struct channel_event *done = find(&r, CHANNEL_EV_LISTEN_DONE);
	assert_non_null(done);
	assert_int_equal(done->listen.end, LISTEN_DTMF);
	/* stop() ends a running listen as STOPPED */
	r.n = 0;
	assert_int_equal(channel_listen(call_channel(c), &l), 0);
	assert_int_equal(channel_stop(call_channel(c)), 0);
	call_tick(c, now + 20, out);
	done = find(&r, CHANNEL_EV_LISTEN_DONE);
	assert_non_null(done);
	assert_int_equal(done->listen.end, LISTEN_STOPPED);
	call_destroy(c);
}

static void the_reply_first_frame_completes_the_turn_record(void **s)
{
	(void)s;
	struct rec r = { 0 };
	uint64_t now;
	struct call *c = rig_call_active(on_ev, &r, &now);
	uint64_t t0 = 1000000;
	struct channel_turn t = { .node = "main_menu",
				  .input = "speech",
				  .end = "speech",
				  .transcript =
					  "i want to check my \"balance\"",
				  .stt_engine = "moonshine",
				  .stt_confidence = 0.8f,
				  .intent = "check_balance",
				  .intent_confidence = 0.9f,
				  .match = "high",
				  .next = "balance",
				  .speech_ms = 1500,
				  .speech_end_us = t0,
				  .stt_final_us = t0 + 60000,
				  .nlu_done_us = t0 + 60100,
				  .response_us = t0 + 60200 };
	channel_note_turn(call_channel(c), &t);
	/* not complete before the reply plays */
	assert_string_equal(call_turns_json(c), "[]");
	struct channel_prompt p = { .name = "balance", .clip = prompt };
	assert_int_equal(channel_play(call_channel(c), &p), 0);
	int16_t out[160];
	call_tick(c, now, out);
	const char *js = call_turns_json(c);
	assert_non_null(strstr(js, "\"seq\":1"));
	assert_non_null(strstr(js, "\"intent\":\"check_balance\""));
	assert_non_null(strstr(js, "my \\\"balance\\\""));
	assert_non_null(strstr(js, "\"stt_final\":60.0"));
	assert_null(strstr(js, "\"first_rtp\":null"));
	/* a DTMF turn with nothing after it is flushed at hangup */
	struct channel_turn d = { .node = "card_menu",
				  .input = "dtmf",
				  .match = "none",
				  .speech_end_us = t0 };
	channel_note_turn(call_channel(c), &d);
	call_signal(c, CALL_EV_REMOTE_BYE, now + 40);
	js = call_turns_json(c);
	assert_non_null(strstr(js, "\"seq\":2"));
	assert_non_null(strstr(js, "\"first_rtp\":null"));
	call_destroy(c);
}

static void a_stream_plays_as_it_fills_and_ends_when_finished(void **s)
{
	(void)s;
	struct rec r = { 0 };
	uint64_t now;
	struct call *c = rig_call_active(on_ev, &r, &now);
	struct audio_stream *st = NULL;
	assert_int_equal(audio_stream_alloc(&st, 8000, 8000), 0);
	struct channel_prompt p = { .name = "dyn", .stream = st };
	assert_int_equal(channel_play(call_channel(c), &p), 0);
	int16_t in[160] = { 0 }, out[160], pcm[400];
	for (int i = 0; i < 400; i++)
		pcm[i] = (int16_t)(8000 * sin(i * 0.2));
	/* nothing published yet: silence, and the prompt waits */
	assert_false(step(c, &now, in, out));
	assert_int_equal(audio_stream_write(st, pcm, 100), 0);
	assert_false(step(c, &now, in, out)); /* less than a frame */
	assert_int_equal(audio_stream_write(st, pcm + 100, 300), 0);
	assert_true(step(c, &now, in, out));
	assert_true(step(c, &now, in, out));
	assert_false(step(c, &now, in, out)); /* 80 samples left, not done */
	assert_null(find(&r, CHANNEL_EV_PLAY_DONE));
	audio_stream_finish(st, 0);
	assert_true(step(c, &now, in, out)); /* the last 80 */
	step(c, &now, in, out);
	const struct channel_event *pd = find(&r, CHANNEL_EV_PLAY_DONE);
	assert_non_null(pd);
	assert_false(pd->play.interrupted);
	assert_int_equal(pd->play.played_ms, 50);
	audio_stream_deref(st);
	call_destroy(c);
}

static int index_of(const struct rec *r, enum channel_event_type t)
{
	const struct channel_event *e = find(r, t);
	return e ? (int)(e - r->ev) : -1;
}

/* stream_audio: the utterance's audio while the caller speaks, from speech
 * start (pre-roll included) in 100 ms batches, the rest just before
 * LISTEN_DONE; joined, the batches are exactly LISTEN_DONE's audio. */
static void streamed_audio_joins_into_the_utterance(void **s)
{
	(void)s;
	struct rec r = { .keep = true };
	uint64_t now;
	struct call *c = rig_call_active(on_ev, &r, &now);
	struct channel_listen l = { .no_input_ms = 5000,
				    .early_ms = 100,
				    .stream_audio = true };
	assert_int_equal(channel_listen(call_channel(c), &l), 0);
	unsigned seed = 11;
	noise(c, &now, 25, &seed);
	assert_int_equal(r.naudio, 0); /* nothing before speech */
	say(c, &r, &now, speech, 100, &seed);
	int st = index_of(&r, CHANNEL_EV_SPEECH_START);
	int au = index_of(&r, CHANNEL_EV_SPEECH_AUDIO);
	int done = index_of(&r, CHANNEL_EV_LISTEN_DONE);
	assert_true(st >= 0 && done > st);
	assert_int_equal(au, st + 1); /* at once, with the pre-roll */
	assert_int_equal(r.ev[au].audio.offset, 0);
	assert_non_null(r.done_audio);
	assert_false(r.offset_gap);
	assert_false(r.audio_after_end);
	assert_int_equal(r.njoined, r.done_audio->nsamples);
	assert_memory_equal(joined, r.done_audio->samples,
			    r.njoined * sizeof(int16_t));
	/* batched every 100 ms, not per frame: a 1.7 s utterance in about
	 * 20 events */
	assert_true(r.naudio >= 10 && r.naudio <= r.njoined / 800 + 2);
	assert_int_equal(r.min_batch, 800);
	assert_int_equal(r.max_batch, 800);
	/* the early decode's pauses still come */
	assert_true(r.npause >= 1);
	rec_free(&r);

	/* Without stream_audio: no batch. */
	memset(&r, 0, sizeof(r));
	struct channel_listen l2 = { .no_input_ms = 5000 };
	assert_int_equal(channel_listen(call_channel(c), &l2), 0);
	noise(c, &now, 25, &seed);
	say(c, &r, &now, speech, 100, &seed);
	assert_int_not_equal(index_of(&r, CHANNEL_EV_LISTEN_DONE), -1);
	assert_int_equal(r.naudio, 0);
	call_destroy(c);
}

/* A stopped listen hands over no last batch (it has no audio), and none
 * after it; batches nobody handles and those of a call that hangs up are
 * freed (ASan). */
static void a_stopped_or_hung_up_listen_sends_no_more_audio(void **s)
{
	(void)s;
	struct rec r = { 0 };
	uint64_t now;
	struct call *c = rig_call_active(on_ev, &r, &now);
	struct channel_listen l = { .no_input_ms = 5000, .stream_audio = true };
	assert_int_equal(channel_listen(call_channel(c), &l), 0);
	unsigned seed = 13;
	noise(c, &now, 25, &seed);
	int16_t in[160], out[160];
	for (size_t i = 0; i < 40; i++) { /* 0.8 s into the speech */
		the_caller_frame(speech, i, in, &seed);
		step(c, &now, in, out);
	}
	assert_true(r.naudio >= 2);
	unsigned n = r.naudio;
	assert_int_equal(channel_stop(call_channel(c)), 0);
	call_tick(c, now, out);
	const struct channel_event *done = find(&r, CHANNEL_EV_LISTEN_DONE);
	assert_non_null(done);
	assert_int_equal(done->listen.end, LISTEN_STOPPED);
	assert_int_equal(r.naudio, n);
	for (size_t i = 40; i < 80; i++) {
		the_caller_frame(speech, i, in, &seed);
		step(c, &now, in, out);
	}
	assert_int_equal(r.naudio, n);

	memset(&r, 0, sizeof(r));
	assert_int_equal(channel_listen(call_channel(c), &l), 0);
	noise(c, &now, 25, &seed);
	channel_set_handler(call_channel(c), NULL, NULL);
	for (size_t i = 0; i < 40; i++) {
		the_caller_frame(speech, i, in, &seed);
		call_audio_in(c, in, 160, now);
		now += 20;
	}
	call_signal(c, CALL_EV_REMOTE_BYE, now);
	call_destroy(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(listen_gives_the_endpointed_utterance),
		cmocka_unit_test(a_pause_hands_over_the_audio_so_far),
		cmocka_unit_test(speech_after_a_pause_voids_it),
		cmocka_unit_test(speech_barge_in_stops_the_prompt_within_100ms),
		cmocka_unit_test(a_click_holds_the_prompt_then_it_resumes),
		cmocka_unit_test(no_input_counts_from_the_end_of_the_prompt),
		cmocka_unit_test(a_key_ends_a_listen_that_takes_dtmf),
		cmocka_unit_test(
			the_reply_first_frame_completes_the_turn_record),
		cmocka_unit_test(
			a_stream_plays_as_it_fills_and_ends_when_finished),
		cmocka_unit_test(streamed_audio_joins_into_the_utterance),
		cmocka_unit_test(
			a_stopped_or_hung_up_listen_sends_no_more_audio),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
