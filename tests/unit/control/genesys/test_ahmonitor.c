/* The AudioHook monitor's transcripts (control/genesys/ahmonitor.c) over a
 * real loop thread, worker pool and STT service with fake engines. The
 * AudioHook server is replaced at link time: this file defines the
 * audiohook_* functions the monitor calls (hooks captured, transcripts
 * recorded), so the test drives the hooks as the server would, on the
 * loop. The caller's audio is the speech burst of the VAD fuzz seed
 * (fuzz/corpus/vad/bursts, G.711 u-law): 1.2 s of speech, then silence.
 *
 * An engine that streams (STT_CAP_STREAM, as PocketSphinx) answers each
 * utterance with its stream's final (ended with the utterance's clip): no
 * second decode, and no early decode while the stream is live; partials go
 * out only with cfg.partials; a PCI pause cancels the stream. An engine
 * that does not stream keeps the early decode and is never streamed to
 * without partials. */
#include "engines/stt/stt_fakes.h"
#include "loop_sync.h"

#include <stdbool.h>

#include "audio/g711.h"
#include "control/genesys/ahmonitor.h"
#include "telephony/genesys/ahmsg.h"
#include "telephony/genesys/audiohook.h"

/* ---- the AudioHook server, faked at link time ---- */

struct ah_session {
	int unused;
};

static struct server {
	const struct audiohook_hooks *h;
	void *arg;
	struct ah_session s;
	void *data;
	bool paused;
	/* what went out (on the loop; read after run_on_loop) */
	unsigned finals, partials, assists;
	char final_text[256];
} srv;

void audiohook_set_hooks(struct audiohook *ah, enum audiohook_kind kind,
			 const struct audiohook_hooks *h, void *arg)
{
	(void)ah;
	assert_int_equal(kind, AUDIOHOOK_MONITOR);
	srv.h = h;
	srv.arg = arg;
}

const char *audiohook_session_id(const struct ah_session *s)
{
	(void)s;
	return "ah-test";
}

bool audiohook_session_paused(const struct ah_session *s)
{
	(void)s;
	return srv.paused;
}

void audiohook_session_set_data(struct ah_session *s, void *data)
{
	(void)s;
	srv.data = data;
}

void *audiohook_session_data(const struct ah_session *s)
{
	(void)s;
	return srv.data;
}

int audiohook_session_send_transcript(struct ah_session *s,
				      const struct ahmsg_transcript *t)
{
	(void)s;
	if (!t->is_final) {
		srv.partials++;
		return 0;
	}
	srv.finals++;
	snprintf(srv.final_text, sizeof(srv.final_text), "%s", t->text);
	return 0;
}

int audiohook_session_send_assist(struct ah_session *s,
				  const struct ahmsg_assist *a)
{
	(void)s;
	(void)a;
	srv.assists++;
	return 0;
}

/* ---- engines: one that streams (stt_fakes.h: its final is "streamed
 * n"), one that does not ---- */

static atomic_int decodes; /* decode() calls */

static int sp_decode(struct stt_engine *e, const struct stt_request *req,
		     const int16_t *pcm, size_t n, struct stt_result *res)
{
	(void)e;
	(void)req;
	(void)pcm;
	atomic_fetch_add(&decodes, 1);
	memset(res, 0, sizeof(*res));
	snprintf(res->text, sizeof(res->text), "decoded %zu", n);
	res->confidence = 0.7f;
	return 0;
}

static const struct stt_engine_ops streamer_ops = {
	.name = "streamer",
	.caps = STT_CAP_OPEN | STT_CAP_STREAM,
	.open = fake_bare_open,
	.close = fake_bare_close,
	.decode = sp_decode,
	.stream_begin = fake_stream_begin,
	.stream_feed = fake_stream_feed,
	.stream_partial = fake_stream_partial,
	.stream_end = fake_stream_end,
	.stream_abort = fake_stream_abort,
};

static const struct stt_engine_ops batch_ops = {
	.name = "batch",
	.caps = STT_CAP_OPEN,
	.open = fake_bare_open,
	.close = fake_bare_close,
	.decode = sp_decode,
};

/* ---- rig ---- */

enum { FRAME = AUDIO_FRAME_SAMPLES, SPEECH_FRAMES = 100 };

struct rig {
	struct env env;
	struct ahmonitor *m;
	int ah;				       /* stands for the server */
	int16_t speech[SPEECH_FRAMES * FRAME]; /* silence, 1.2 s speech, ... */
	const int16_t *chunk;		       /* on_audio's next call */
	uint64_t pos_ms;
};

static void load_speech(struct rig *r)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/fuzz/corpus/vad/bursts",
		 VG_SOURCE_DIR);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	uint8_t ulaw[4 + SPEECH_FRAMES * FRAME];
	assert_int_equal(fread(ulaw, 1, sizeof(ulaw), f), sizeof(ulaw));
	fclose(f);
	/* the first 4 bytes are the fuzz target's settings */
	audio_ulaw_decode_buf(ulaw + 4, r->speech, SPEECH_FRAMES * FRAME);
}

static void open_on_loop(void *arg)
{
	(void)arg;
	bool paused = false;
	assert_int_equal(srv.h->on_open(&srv.s, NULL, &paused, srv.arg), 0);
}

static void audio_on_loop(void *arg)
{
	struct rig *r = arg;
	srv.h->on_audio(&srv.s, r->chunk, NULL, FRAME, r->pos_ms, srv.arg);
	r->pos_ms += AUDIO_FRAME_MS;
}

static void pause_on_loop(void *arg)
{
	(void)arg;
	struct ahmsg msg = { .type = AHMSG_PAUSED };
	srv.paused = true;
	srv.h->on_message(&srv.s, &msg, srv.arg);
}

static void close_on_loop(void *arg)
{
	(void)arg;
	srv.h->on_close(&srv.s, "end", srv.arg);
}

static void nothing(void *arg)
{
	(void)arg;
}

/* A monitor over one engine; the service decodes early (early_ms 100:
 * the monitor's pause decode starts 300 ms into the 500 ms end). */
static struct rig *rig_open(const struct stt_engine_ops *engine, bool partials)
{
	memset(&srv, 0, sizeof(srv));
	atomic_store(&decodes, 0);
	fake_streamer_reset(false, false, NULL);
	struct rig *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	load_speech(r);
	const struct stt_engine_ops *ops[] = { engine };
	struct stt_cfg cfg = { .early_ms = 100 };
	env_open_cfg(&r->env, ops, 1, &cfg, 1, 16);
	struct ahmonitor_cfg mc = { .stt = r->env.stt,
				    .loop = r->env.loop,
				    .partials = partials };
	assert_int_equal(ahmonitor_create(&r->m,
					  (struct audiohook *)(void *)&r->ah,
					  &mc),
			 0);
	run_on_loop(r->env.loop, open_on_loop, NULL);
	return r;
}

static void rig_close(struct rig *r)
{
	if (srv.data)
		run_on_loop(r->env.loop, close_on_loop, NULL);
	assert_null(srv.data);
	ahmonitor_destroy(r->m);
	env_close(&r->env);
	free(r);
}

/* Frames [from, to) of the speech, one 20 ms message each; every 10 the
 * loop catches up with the STT results (partials) as a live call would. */
static void speak(struct rig *r, unsigned from, unsigned to)
{
	for (unsigned i = from; i < to; i++) {
		r->chunk = r->speech + (size_t)i * FRAME;
		run_on_loop(r->env.loop, audio_on_loop, r);
		if (i % 10 == 9)
			usleep(20000);
	}
}

/* n frames of silence. */
static void quiet(struct rig *r, unsigned n)
{
	static const int16_t zero[FRAME];
	for (unsigned i = 0; i < n; i++) {
		r->chunk = zero;
		run_on_loop(r->env.loop, audio_on_loop, r);
	}
}

static struct ahmonitor_stats stats(struct rig *r)
{
	struct ahmonitor_stats st;
	run_on_loop(r->env.loop, nothing, NULL);
	ahmonitor_get_stats(r->m, &st);
	return st;
}

/* Until n finals went out (up to 5 s). */
static void wait_finals(struct rig *r, unsigned n)
{
	for (int i = 0; i < 5000; i++) {
		if (stats(r).transcripts >= n)
			return;
		usleep(1000);
	}
	fail_msg("%u finals, not %u", srv.finals, n);
}

/* ---- tests ---- */

static void a_streaming_engine_answers_from_its_stream(bool partials)
{
	struct rig *r = rig_open(&streamer_ops, partials);
	speak(r, 0, SPEECH_FRAMES); /* the utterance ends in its silence */
	quiet(r, 40);
	wait_finals(r, 1);
	usleep(50000);
	struct ahmonitor_stats st = stats(r);
	/* one final, the stream's, fed the whole utterance */
	assert_int_equal(srv.finals, 1);
	assert_int_equal(st.utterances, 1);
	assert_int_equal(atomic_load(&streamer.begins), 1);
	assert_int_equal(atomic_load(&streamer.ends), 1);
	char want[64];
	snprintf(want, sizeof(want), "streamed %zu",
		 atomic_load(&streamer.ended_n));
	assert_string_equal(srv.final_text, want);
	assert_true(atomic_load(&streamer.ended_n) >
		    60 * FRAME); /* all the speech */
	/* no second decode, and no early decode of the same audio */
	assert_int_equal(atomic_load(&decodes), 0);
	assert_int_equal(st.early_used + st.early_discarded, 0);
	assert_int_equal(atomic_load(&streamer.streams_out), 0);
	/* partials only when asked for */
	if (partials)
		assert_true(srv.partials > 0);
	else
		assert_int_equal(srv.partials, 0);
	assert_int_equal(st.partials, srv.partials);
	rig_close(r);
}

static void a_streaming_engine_final_is_the_stream_s(void **s)
{
	(void)s;
	a_streaming_engine_answers_from_its_stream(false);
}

static void with_partials_too(void **s)
{
	(void)s;
	a_streaming_engine_answers_from_its_stream(true);
}

/* A PCI pause mid-utterance cancels the stream: nothing goes out. */
static void a_pause_cancels_the_stream(void **s)
{
	(void)s;
	struct rig *r = rig_open(&streamer_ops, false);
	speak(r, 0, 40);
	for (int i = 0; i < 2000 && !atomic_load(&streamer.begins); i++)
		usleep(1000);
	assert_int_equal(atomic_load(&streamer.begins), 1);
	run_on_loop(r->env.loop, pause_on_loop, NULL);
	for (int i = 0; i < 2000 && atomic_load(&streamer.streams_out); i++)
		usleep(1000);
	assert_int_equal(atomic_load(&streamer.streams_out), 0); /* aborted */
	quiet(r, 40);
	usleep(50000);
	struct ahmonitor_stats st = stats(r);
	assert_int_equal(st.dropped_by_pause, 1);
	assert_int_equal(srv.finals, 0);
	assert_int_equal(atomic_load(&streamer.ends), 0);
	assert_int_equal(atomic_load(&decodes), 0);
	rig_close(r);
}

/* An engine that does not stream: no stream without partials; the pause's
 * early decode answers the utterance, decoded once. */
static void a_batch_engine_keeps_the_early_decode(void **s)
{
	(void)s;
	struct rig *r = rig_open(&batch_ops, false);
	speak(r, 0, SPEECH_FRAMES);
	quiet(r, 40);
	wait_finals(r, 1);
	usleep(50000);
	struct ahmonitor_stats st = stats(r);
	assert_int_equal(srv.finals, 1);
	assert_non_null(strstr(srv.final_text, "decoded "));
	assert_int_equal(st.early_used, 1);
	assert_int_equal(atomic_load(&decodes), 1);
	assert_int_equal(atomic_load(&streamer.begins), 0);
	rig_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_streaming_engine_final_is_the_stream_s),
		cmocka_unit_test(with_partials_too),
		cmocka_unit_test(a_pause_cancels_the_stream),
		cmocka_unit_test(a_batch_engine_keeps_the_early_decode),
	};
	return cmocka_run_group_tests(tests, libre_setup, libre_teardown);
}
