/* Streaming recognition in the flow session (stt.stream): a gather whose
 * first engine streams asks the channel for its audio while the caller
 * speaks (and for no early decode), opens a stream at speech start, feeds
 * it the SPEECH_AUDIO batches (what a gap lost comes from the end clip)
 * and answers the turn with the stream's final, with no batch decode;
 * partial transcripts go out as "partial" events only when the back-end
 * wants them, and only then does a gather whose engine cannot stream open
 * a stream at all; streaming off, or a listen that ends without speech,
 * leaves things as before. A real loop thread, worker pool and STT service
 * over fake engines whose texts tell what audio they got. */
#include "speech_rig.h"

/* ---- a fake engine that streams ("streamer", stt_fakes.h: its final
 * is "streamed n", or "misfed n" when a sample is out of place; sample i
 * of the utterance is i % 1000), and decodes as the heard engine
 * (speech_rig.h), which does not stream ---- */

static const struct stt_engine_ops streamer_ops = {
	.name = "streamer",
	.caps = STT_CAP_OPEN | STT_CAP_STREAM,
	.open = fake_bare_open,
	.close = fake_bare_close,
	.decode = heard_decode,
	.stream_begin = fake_stream_begin,
	.stream_feed = fake_stream_feed,
	.stream_partial = fake_stream_partial,
	.stream_end = fake_stream_end,
	.stream_abort = fake_stream_abort,
};

/* ---- rig ---- */

/* The utterance (utt below) is r->clip[0], 9600 samples. */
static struct rig *open_stream(const struct stt_engine_ops *engine, bool stream,
			       bool want_partial)
{
	fake_streamer_reset(true, false, NULL);
	struct rig_opts o = { .engine = engine,
			      .early_ms = 100,
			      .max_queue = 16,
			      .stream = stream,
			      .backend = true,
			      .want_partial = want_partial,
			      .clip_n = { 9600 } };
	return rig_open(&o);
}

/* The channel's batch of utt[off, off + n). */
static void audio(struct rig *r, size_t off, size_t n)
{
	audio_ev(r, r->clip[0], off, n);
}

/* A pause after utt[0, n): its audio, padded as the channel would. */
static void pause_after(struct rig *r, unsigned seq, size_t n)
{
	struct audio_clip *clip =
		audio_clip_alloc(r->clip[0]->nsamples, AUDIO_RATE_HZ);
	assert_non_null(clip);
	memcpy(clip->samples, r->clip[0]->samples, n * sizeof(int16_t));
	pause_ev(r, seq, clip);
	audio_clip_deref(clip);
}

static void wait_partials_seen(struct rig *r)
{
	for (int i = 0; i < 5000; i++) {
		if (atomic_load(&streamer.fed) >= 8000 &&
		    counter("voxgate_stt_partials_total", NULL) > 0)
			break;
		usleep(1000);
	}
	run_on_loop(r->loop, nothing, NULL); /* the partial's callback ran */
}

static void wait_partials(struct rig *r, unsigned n)
{
	for (int i = 0; i < 5000; i++) {
		if (peek(r).partials >= n)
			return;
		usleep(1000);
	}
	fail_msg("fewer than %u partials", n);
}

/* Speech start, then the utterance in 100 ms batches but the last 1600
 * samples (those the end clip brings). */
static void speak(struct rig *r)
{
	speech_start_ev(r);
	for (size_t off = 0; off < 8000; off += 800)
		audio(r, off, 800);
}

/* The listen ends with the whole utterance, naming pause_seq; returns once
 * the turn is recorded. */
static void end_turn(struct rig *r, unsigned pause_seq)
{
	end_ev(r, LISTEN_SPEECH, pause_seq, r->clip[0]);
	wait_turn(r);
}

/* The session asked the channel for a pause 100 ms into silence (an early
 * decode), and for the audio as the caller speaks or not. */
static void assert_listen(struct rig *r, bool stream_audio)
{
	assert_int_equal(r->c.lo.stream_audio, stream_audio);
	assert_int_equal(r->c.lo.early_ms, 100);
}

/* The turn's transcript is a batch decode of the whole utterance. */
static void assert_decoded_turn(struct rig *r)
{
	assert_string_equal(r->c.turn_text, "heard 9600");
	assert_false(r->c.turn_streamed);
}

/* Every engine stream begun was ended or aborted (after up to 2 s). */
static void assert_streams_closed(void)
{
	for (int i = 0; i < 2000 && atomic_load(&streamer.streams_out); i++)
		usleep(1000);
	assert_int_equal(atomic_load(&streamer.streams_out), 0);
}

/* ---- tests ---- */

static void a_streaming_engine_answers_the_turn_from_its_stream(void **s)
{
	(void)s;
	struct rig *r = open_stream(&streamer_ops, true, false);
	/* the channel streams audio (and still raises pauses) */
	assert_listen(r, true);
	speak(r);
	/* the stream is live (it said a partial): a pause starts no early
	 * decode of the same audio */
	wait_partials_seen(r);
	pause_after(r, 1, 8000);
	end_turn(r, 0);
	/* the whole utterance went through the stream: the batches, then
	 * the end clip's rest */
	assert_string_equal(r->c.turn_text, "streamed 9600");
	assert_true(r->c.turn_streamed);
	assert_false(r->c.turn_early);
	assert_int_equal(atomic_load(&streamer.begins), 1);
	assert_int_equal(atomic_load(&heard.started), 0); /* no batch decode */
	assert_int_equal(atomic_load(&streamer.streams_out), 0);
	assert_int_equal(early_count("skipped") + early_count("used") +
				 early_count("discarded"),
			 0);
	/* nobody asked for partials: none went out */
	assert_null(strstr(r->hooks.log, "partial"));
	rig_close(r);
}

/* No decoder free for the stream (the service decodes the end clip): it
 * says no partial, so the caller's pause starts the early decode, which
 * answers the turn; the stream is dropped. */
static void a_stream_the_engine_refused_keeps_the_early_decode(void **s)
{
	(void)s;
	struct rig *r = open_stream(&streamer_ops, true, false);
	atomic_store(&streamer.busy, 1);
	speak(r);
	for (int i = 0; i < 100; i++) /* its jobs ran: nothing begun */
		usleep(1000);
	pause_after(r, 1, 8000);
	end_turn(r, 1);
	assert_string_equal(r->c.turn_text, "heard 9600");
	assert_true(r->c.turn_early);
	assert_false(r->c.turn_streamed);
	assert_int_equal(atomic_load(&streamer.begins), 0);
	/* only the early one */
	assert_int_equal(atomic_load(&heard.started), 1);
	assert_int_equal(early_count("used"), 1);
	rig_close(r);
}

static void partials_go_out_when_the_backend_wants_them(void **s)
{
	(void)s;
	struct rig *r = open_stream(&streamer_ops, true, true);
	speech_start_ev(r);
	audio(r, 0, 800);
	wait_partials(r, 1);
	audio(r, 800, 2400);
	wait_partials(r, 2);
	end_turn(r, 0);
	assert_string_equal(r->c.turn_text, "streamed 9600");
	const char *p1 =
		strstr(r->hooks.log, "partial {\"node\":\"ask\",\"transcript\":"
				     "\"so far 800\",\"audio_ms\":\"100\"}");
	const char *p2 =
		strstr(r->hooks.log, "partial {\"node\":\"ask\",\"transcript\":"
				     "\"so far 3200\",\"audio_ms\":\"400\"}");
	if (!p1 || !p2 || p2 < p1)
		fail_msg("events: %s", r->hooks.log);
	rig_close(r);
}

/* A gap (a batch the channel could not hand over): later batches are not
 * fed out of order; the end clip brings everything from the gap on. */
static void audio_after_a_gap_comes_from_the_end_clip(void **s)
{
	(void)s;
	struct rig *r = open_stream(&streamer_ops, true, false);
	speech_start_ev(r);
	audio(r, 0, 800);
	audio(r, 1600, 800); /* 800..1600 lost */
	audio(r, 2400, 800);
	end_turn(r, 0);
	assert_string_equal(r->c.turn_text, "streamed 9600");
	assert_int_equal(atomic_load(&heard.started), 0);
	rig_close(r);
}

static void streaming_off_decodes_the_utterance_as_before(void **s)
{
	(void)s;
	struct rig *r = open_stream(&streamer_ops, false, true);
	assert_listen(r, false);
	speech_start_ev(r);
	end_turn(r, 0);
	assert_decoded_turn(r);
	assert_int_equal(atomic_load(&streamer.begins), 0);
	assert_int_equal(atomic_load(&heard.started), 1);
	assert_null(strstr(r->hooks.log, "partial"));
	rig_close(r);
}

/* An engine that cannot stream: no stream at all unless partials are
 * wanted; then the stream gives them (the service's) and its final, the
 * end clip's decode, answers (not a streamed turn: the engine did not
 * stream); the early decode is still asked for. */
static void a_batch_engine_streams_only_for_partials(void **s)
{
	(void)s;
	for (int want_partial = 0; want_partial < 2; want_partial++) {
		struct rig *r = open_stream(&heard_ops, true, want_partial);
		assert_listen(r, want_partial);
		speak(r);
		end_turn(r, 0);
		assert_decoded_turn(r);
		if (want_partial)
			assert_int_equal(atomic_load(&heard.started), 1);
		rig_close(r);
	}
}

/* A listen that ends without speech to decode drops the stream; so does
 * a hangup while the caller speaks (ASan: nothing leaks). */
static void a_listen_without_speech_or_a_hangup_drops_the_stream(void **s)
{
	(void)s;
	struct rig *r = open_stream(&streamer_ops, true, false);
	speak(r);
	end_ev(r, LISTEN_NO_INPUT, 0, NULL);
	wait_turn(r);
	assert_false(r->c.turn_streamed);
	assert_streams_closed(); /* aborted */
	rig_close(r);

	r = open_stream(&streamer_ops, true, false);
	speak(r);
	hangup_ev(r);
	assert_streams_closed();
	assert_int_equal(peek(r).turns, 0);
	rig_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			a_streaming_engine_answers_the_turn_from_its_stream),
		cmocka_unit_test(
			a_stream_the_engine_refused_keeps_the_early_decode),
		cmocka_unit_test(partials_go_out_when_the_backend_wants_them),
		cmocka_unit_test(audio_after_a_gap_comes_from_the_end_clip),
		cmocka_unit_test(streaming_off_decodes_the_utterance_as_before),
		cmocka_unit_test(a_batch_engine_streams_only_for_partials),
		cmocka_unit_test(
			a_listen_without_speech_or_a_hangup_drops_the_stream),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
