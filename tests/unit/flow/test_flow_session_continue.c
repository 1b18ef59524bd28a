/* Continued turns in the flow session (stt.continue_window): a speech turn
 * goes on as usual (recognized, answered, the reply playing, the next
 * gather listening); when the caller speaks again within the window
 * (CHANNEL_EV_SPEECH_RESUMED) the session stops the channel, rolls the run
 * back to before the turn's input and listens with resume, and the joined
 * utterance answers the original step. Negatives: a back-end request or
 * keys collected since commit the turn (the event is ignored and counted);
 * a turn still being recognized is cancelled and joined without a
 * rollback; window 0 asks the channel for no watch. With stt.stream and an
 * engine that streams, the resume listen's stream (started by the session:
 * no SPEECH_START) is fed the batches from offset 0 and answers. The session
 * runs on a real loop thread with a real worker pool and STT service over a
 * fake engine whose transcript depends on how much audio it decoded. */
#include "speech_rig.h"

#include "flow/runtime.h"

/* The first part of the utterance (8000 samples) reads as a balance
 * question, the joined one (20000) as a lost card. */
static bool words_text(size_t n, char *text, size_t cap)
{
	if (n == 8000)
		snprintf(text, cap, "check my balance");
	else if (n == 20000)
		snprintf(text, cap, "my card was stolen");
	else
		return false;
	return true;
}

static int words_decode(struct stt_engine *e, const struct stt_request *req,
			const int16_t *pcm, size_t n, struct stt_result *res)
{
	int err = heard_decode(e, req, pcm, n, res);
	if (err)
		return err;
	words_text(n, res->text, sizeof(res->text));
	return 0;
}

static const struct stt_engine_ops words_ops = {
	.name = "fake",
	.caps = STT_CAP_OPEN,
	.open = fake_bare_open,
	.close = fake_bare_close,
	.decode = words_decode,
};

/* A flow reads as YAML. */
/* clang-format off */

/* bal and card reply, then more asks again (more_input: its input and
 * max_digits). */
#define CONT_FLOW(more_input)                                                  \
	RIG_FLOW_HEAD("cont")                                                  \
	"    intents: {balance: bal, card: card}\n"                            \
	"    retries: 0\n"                                                     \
	"    timeout: 5s\n"                                                    \
	"    on_max_retries: bye\n"                                            \
	"  bal: {type: say, text: Your balance is ten dollars., next: more}\n" \
	"  card: {type: say, text: Your card is blocked., next: more}\n"       \
	"  more:\n"                                                            \
	"    type: gather\n"                                                   \
	"    prompt: Anything else?\n"                                         \
	more_input                                                             \
	"    into: more\n"                                                     \
	"    next: done\n"                                                     \
	"  done: {type: say, text: Goodbye., next: bye}\n"                     \
	"  bye: {type: hangup, reason: completed}\n"

/* more takes keys or speech. */
static const char *const cont_flow = CONT_FLOW(
	"    input: both\n"
	"    max_digits: 1\n");

/* more takes two keys. */
static const char *const keys2_flow = CONT_FLOW(
	"    input: dtmf\n"
	"    max_digits: 2\n");

/* bal asks a back-end first. */
static const char *const http_flow = RIG_FLOW_HEAD("cont")
	"    intents: {balance: fetch, card: card}\n"
	"    retries: 0\n"
	"    timeout: 5s\n"
	"    on_max_retries: bye\n"
	"  fetch:\n"
	"    type: http\n"
	"    method: GET\n"
	"    url: 'http://crm.test/balance'\n"
	"    next: bal\n"
	"  bal: {type: say, text: Your balance is ten dollars., next: bye}\n"
	"  card: {type: say, text: Your card is blocked., next: bye}\n"
	"  bye: {type: hangup, reason: completed}\n";

/* A step that overrides the window. */
static const char *const step_flow = RIG_FLOW_HEAD("cont")
	"    intents: {balance: bye, card: bye}\n"
	"    continue_window: 0\n"
	"    timeout: 5s\n"
	"    on_max_retries: bye\n"
	"  bye: {type: hangup, reason: completed}\n";

/* clang-format on */

/* ---- an engine that streams (stt_fakes.h): its final reads as
 * words_text() by the samples it was fed (checked in place: sample i is
 * i % 1000), and it gives a partial per feed (the stream is live) ---- */

static const struct stt_engine_ops words_stream_ops = {
	.name = "fake",
	.caps = STT_CAP_OPEN | STT_CAP_STREAM,
	.open = fake_bare_open,
	.close = fake_bare_close,
	.decode = words_decode,
	.stream_begin = fake_stream_begin,
	.stream_feed = fake_stream_feed,
	.stream_partial = fake_stream_partial,
	.stream_end = fake_stream_end,
	.stream_abort = fake_stream_abort,
};

static struct rig *open_cont(const char *yaml, unsigned continue_ms, bool http)
{
	struct rig_opts o = { .engine = &words_ops,
			      .max_queue = 8,
			      .clip_n = { 8000, 20000 },
			      .flow_yaml = yaml,
			      .ops = &chan_text_ops,
			      .continue_ms = continue_ms,
			      .backend = true,
			      .http = http };
	struct rig *r = rig_open(&o);
	assert_true(r->c.playing); /* "What do you need?" */
	return r;
}

static uint64_t cont_count(const char *outcome)
{
	char labels[64];
	snprintf(labels, sizeof(labels), "outcome=\"%s\"", outcome);
	return counter("voxgate_turn_continuations_total", labels);
}

/* The first prompt plays out; the caller says the first part. */
static void first_part(struct rig *r)
{
	play_done_ev(r);
	end_ev(r, LISTEN_SPEECH, 0, r->clip[0]);
}

static void resumed_ev(struct rig *r)
{
	struct channel_event ev = { .type = CHANNEL_EV_SPEECH_RESUMED };
	ev.resumed.gap_ms = 120;
	deliver(r, &ev);
}

/* Until the loop has seen n turns. */
static void wait_turns(struct rig *r, unsigned n)
{
	for (int i = 0; i < 5000; i++) {
		if (peek(r).turns >= n)
			return;
		usleep(1000);
	}
	fail_msg("%u turns, not %u", peek(r).turns, n);
}

static void http_answer_on_loop(void *arg)
{
	struct rig *r = arg;
	struct flow_result res = { .type = FLOW_RES_HTTP };
	res.http.status = 200;
	res.http.body = "{}";
	res.http.body_len = 2;
	flow_backend_done_fn *done = r->hooks.http_done;
	r->hooks.http_done = NULL;
	done(&res, r->hooks.http_arg);
}

/* ---- tests ---- */

static void a_resumed_turn_is_rolled_back_and_joined(void **s)
{
	(void)s;
	struct rig *r = open_cont(cont_flow, 250, false);
	assert_int_equal(r->c.lo.continue_ms, 250);
	assert_false(r->c.lo.resume);
	first_part(r);
	wait_turns(r, 1);
	/* The runtime moved on: the balance reply plays, as if for good. */
	assert_non_null(strstr(r->c.log, "turn ask -> bal \"check my "
					 "balance\"\n"));
	assert_non_null(strstr(r->c.log, "play Your balance is ten"));
	assert_true(r->c.playing);
	assert_false(r->c.turn_continues);
	unsigned stops = r->c.stops, listens = r->c.listens;
	/* The caller goes on speaking. */
	resumed_ev(r);
	assert_true(r->c.stops > stops); /* the reply stopped */
	assert_false(r->c.playing);
	assert_true(r->c.listening);
	assert_int_equal(r->c.listens, listens + 1);
	assert_true(r->c.lo.resume);
	assert_int_equal(r->c.lo.no_input_ms, 0);
	assert_false(r->c.lo.dtmf_ends);
	assert_int_equal(r->c.lo.continue_ms, 250); /* it may go on again */
	assert_int_equal(cont_count("joined"), 1);
	assert_int_equal(cont_count("committed"), 0);
	/* The joined utterance answers the original step. */
	end_ev(r, LISTEN_SPEECH, 0, r->clip[1]);
	wait_turns(r, 2);
	assert_string_equal(r->c.turn_text, "my card was stolen");
	assert_true(r->c.turn_continues);
	assert_non_null(strstr(r->c.log, "turn ask -> card \"my card was "
					 "stolen\" continues\n"));
	assert_non_null(strstr(r->c.log, "play Your card is blocked."));
	/* no prompt replayed: "What do you need?" once */
	const char *q = strstr(r->c.log, "play What do you need?");
	assert_non_null(q);
	assert_null(strstr(q + 1, "play What do you need?"));
	/* the intent webhook of the joined turn says so, the first not */
	const char *ev1 = strstr(r->hooks.log, "intent {");
	assert_non_null(ev1);
	const char *ev2 = strstr(ev1 + 1, "intent {");
	assert_non_null(ev2);
	char first[512];
	snprintf(first, sizeof(first), "%.*s", (int)(ev2 - ev1), ev1);
	assert_null(strstr(first, "continues"));
	assert_non_null(strstr(ev2, "\"intent\":\"card\""));
	assert_non_null(strstr(ev2, "\"continues\":true"));
	rig_close(r);
}

static void a_turn_still_recognized_is_cancelled_and_joined(void **s)
{
	(void)s;
	struct rig *r = open_cont(cont_flow, 250, false);
	atomic_store(&heard.gate, 1);
	first_part(r);
	wait_reach(&heard.started, 1);
	assert_int_equal(peek(r).turns, 0); /* still decoding */
	resumed_ev(r);
	assert_true(r->c.listening);
	assert_true(r->c.lo.resume);
	assert_int_equal(cont_count("joined"), 1);
	atomic_store(&heard.gate, 0);
	/* the cancelled decode's result never answers */
	usleep(50000);
	run_on_loop(r->loop, nothing, NULL);
	assert_int_equal(peek(r).turns, 0);
	end_ev(r, LISTEN_SPEECH, 0, r->clip[1]);
	wait_turns(r, 1);
	assert_string_equal(r->c.turn_text, "my card was stolen");
	assert_true(r->c.turn_continues);
	assert_non_null(strstr(r->c.log, "turn ask -> card"));
	assert_null(strstr(r->c.log, "turn ask -> bal"));
	rig_close(r);
}

static void after_a_backend_request_the_resume_is_ignored(void **s)
{
	(void)s;
	struct rig *r = open_cont(http_flow, 250, true);
	first_part(r);
	wait_turns(r, 1);
	assert_int_equal(r->hooks.https, 1); /* the request is out */
	unsigned listens = r->c.listens;
	resumed_ev(r);
	assert_int_equal(r->c.listens, listens); /* no listen with resume */
	assert_false(r->c.lo.resume);
	assert_int_equal(cont_count("joined"), 0);
	assert_int_equal(cont_count("committed"), 1);
	/* the flow goes on from the back-end's answer */
	run_on_loop(r->loop, http_answer_on_loop, r);
	assert_non_null(strstr(r->c.log, "play Your balance is ten"));
	assert_int_equal(peek(r).turns, 1);
	rig_close(r);
}

static void keys_collected_since_commit_the_turn(void **s)
{
	(void)s;
	struct rig *r = open_cont(cont_flow, 250, false);
	first_part(r);
	wait_turns(r, 1);
	/* The reply plays out, the next gather asks and collects. */
	play_done_ev(r);
	assert_true(r->c.playing); /* "Anything else?" */
	assert_true(r->c.collecting);
	/* A key answers it (DTMF, then COLLECT_DONE). */
	key_ev(r, '1');
	assert_false(r->c.collecting);
	unsigned listens = r->c.listens;
	resumed_ev(r);
	assert_int_equal(r->c.listens, listens);
	assert_int_equal(cont_count("joined"), 0);
	assert_int_equal(cont_count("committed"), 1);
	/* the flow went on: more -> done */
	assert_true(r->c.playing);
	assert_non_null(strstr(r->c.log, "play Goodbye."));
	assert_null(strstr(r->c.log, "listen resume"));
	rig_close(r);
}

/* One key of two: the collect still runs, but the key commits the turn. */
static void a_key_pressed_commits_the_turn_before_its_collect_ends(void **s)
{
	(void)s;
	struct rig *r = open_cont(keys2_flow, 250, false);
	first_part(r);
	wait_turns(r, 1);
	play_done_ev(r);
	assert_true(r->c.collecting);
	key_ev(r, '1');
	assert_true(r->c.collecting); /* one more key to go */
	unsigned listens = r->c.listens, stops = r->c.stops;
	resumed_ev(r);
	assert_int_equal(r->c.listens, listens);
	assert_int_equal(r->c.stops, stops);
	assert_true(r->c.collecting);
	assert_int_equal(cont_count("joined"), 0);
	assert_int_equal(cont_count("committed"), 1);
	/* the second key answers the gather */
	key_ev(r, '2');
	assert_non_null(strstr(r->c.log, "play Goodbye."));
	assert_null(strstr(r->c.log, "listen resume"));
	rig_close(r);
}

/* A key pressed while the caller spoke waits as type-ahead (an input:
 * speech step collects none); it answers the next gather's collect at
 * once, with no DTMF event then: that commits the turn. */
static void a_typed_ahead_key_answering_the_next_gather_commits_it(void **s)
{
	(void)s;
	struct rig *r = open_cont(cont_flow, 250, false);
	play_done_ev(r);
	key_ev(r, '1');
	assert_int_equal(r->c.nta, 1);
	end_ev(r, LISTEN_SPEECH, 0, r->clip[0]);
	wait_turns(r, 1);
	assert_non_null(strstr(r->c.log, "play Your balance is ten"));
	/* the reply plays out; the next gather's collect takes the key */
	play_done_ev(r);
	assert_int_equal(r->c.nta, 0);
	assert_non_null(strstr(r->c.log, "play Goodbye."));
	unsigned listens = r->c.listens;
	resumed_ev(r);
	assert_int_equal(r->c.listens, listens);
	assert_true(r->c.playing); /* Goodbye goes on */
	assert_int_equal(cont_count("joined"), 0);
	assert_int_equal(cont_count("committed"), 1);
	assert_null(strstr(r->c.log, "listen resume"));
	rig_close(r);
}

/* Until the last stream was fed n samples and more than partials
 * partials came back to the loop (up to 5 s each). */
static void wait_fed(struct rig *r, size_t n, uint64_t partials)
{
	for (int i = 0; i < 5000 && atomic_load(&streamer.fed) < n; i++)
		usleep(1000);
	assert_int_equal(atomic_load(&streamer.fed), n);
	for (int i = 0; i < 5000; i++) {
		if (counter("voxgate_stt_partials_total", NULL) > partials)
			break;
		usleep(1000);
	}
	run_on_loop(r->loop, nothing, NULL); /* the partial's callback ran */
}

/* stt.stream with an engine that streams: a resume listen raises no
 * SPEECH_START, so the session starts the stream itself; the channel's
 * batches restart at offset 0 (the joined utterance from its start), and
 * that stream's final answers the joined turn, with no batch decode. */
static void a_resumed_listen_streams_the_joined_utterance(void **s)
{
	(void)s;
	fake_streamer_reset(true, true, words_text);
	struct rig_opts o = { .engine = &words_stream_ops,
			      .max_queue = 16,
			      .stream = true,
			      .clip_n = { 8000, 20000 },
			      .flow_yaml = cont_flow,
			      .ops = &chan_text_ops,
			      .continue_ms = 250,
			      .backend = true };
	struct rig *r = rig_open(&o);
	assert_true(r->c.lo.stream_audio);
	play_done_ev(r);
	speech_start_ev(r);
	for (size_t off = 0; off < 8000; off += 800)
		audio_ev(r, r->clip[0], off, 800);
	wait_fed(r, 8000, 0);
	end_ev(r, LISTEN_SPEECH, 0, r->clip[0]);
	wait_turns(r, 1);
	assert_string_equal(r->c.turn_text, "check my balance");
	assert_true(r->c.turn_streamed);
	assert_int_equal(atomic_load(&streamer.begins), 1);
	/* the caller goes on: the resume listen streams from its start */
	resumed_ev(r);
	assert_true(r->c.lo.resume);
	assert_true(r->c.lo.stream_audio);
	uint64_t partials = counter("voxgate_stt_partials_total", NULL);
	for (size_t off = 0; off < 16000; off += 800)
		audio_ev(r, r->clip[1], off, 800);
	wait_fed(r, 16000, partials); /* a second stream, fed from 0 */
	assert_int_equal(atomic_load(&streamer.begins), 2);
	end_ev(r, LISTEN_SPEECH, 0, r->clip[1]);
	wait_turns(r, 2);
	assert_string_equal(r->c.turn_text, "my card was stolen");
	assert_true(r->c.turn_streamed);
	assert_true(r->c.turn_continues);
	assert_int_equal(atomic_load(&heard.started), 0); /* no decode */
	assert_int_equal(atomic_load(&streamer.begins), 2);
	assert_int_equal(cont_count("joined"), 1);
	rig_close(r);
	assert_int_equal(atomic_load(&streamer.streams_out), 0);
}

static void window_zero_asks_for_no_watch(void **s)
{
	(void)s;
	struct rig *r = open_cont(cont_flow, 0, false);
	assert_int_equal(r->c.lo.continue_ms, 0);
	first_part(r);
	wait_turns(r, 1);
	/* A channel that raises one anyway is not followed. */
	unsigned listens = r->c.listens;
	resumed_ev(r);
	assert_int_equal(r->c.listens, listens);
	assert_true(r->c.playing); /* the reply goes on */
	assert_int_equal(cont_count("joined"), 0);
	assert_int_equal(cont_count("committed"), 0);
	rig_close(r);
	/* A step's continue_window: 0 turns it off for that step. */
	r = open_cont(step_flow, 250, false);
	assert_int_equal(r->c.lo.continue_ms, 0);
	rig_close(r);
}

static void a_lost_utterance_listens_afresh(void **s)
{
	(void)s;
	struct rig *r = open_cont(cont_flow, 250, false);
	r->c.resume_err = -ENOENT; /* the channel dropped it */
	first_part(r);
	wait_turns(r, 1);
	resumed_ev(r);
	assert_true(r->c.listening);
	assert_false(r->c.lo.resume);
	assert_int_equal(r->c.lo.no_input_ms, 5000);
	end_ev(r, LISTEN_SPEECH, 0, r->clip[1]);
	wait_turns(r, 2);
	/* the original step still answers, but not as a continued turn */
	assert_non_null(strstr(r->c.log, "turn ask -> card \"my card was "
					 "stolen\"\n"));
	assert_false(r->c.turn_continues);
	rig_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_resumed_turn_is_rolled_back_and_joined),
		cmocka_unit_test(
			a_turn_still_recognized_is_cancelled_and_joined),
		cmocka_unit_test(after_a_backend_request_the_resume_is_ignored),
		cmocka_unit_test(keys_collected_since_commit_the_turn),
		cmocka_unit_test(
			a_key_pressed_commits_the_turn_before_its_collect_ends),
		cmocka_unit_test(
			a_typed_ahead_key_answering_the_next_gather_commits_it),
		cmocka_unit_test(a_resumed_listen_streams_the_joined_utterance),
		cmocka_unit_test(window_zero_asks_for_no_watch),
		cmocka_unit_test(a_lost_utterance_listens_afresh),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
