/* The media call's continuation watch (channel_listen.continue_ms and
 * resume): a pause within the caller's sentence longer than the trailing
 * silence ends the listen, the caller goes on within the window, the call
 * raises SPEECH_RESUMED and a resume listen hands over the whole utterance,
 * joined. Virtual clock; the caller's speech is synthesized with flite at
 * test time, and every frame fed is kept, so the joined audio is checked
 * sample for sample against what the caller said. */
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
#include "call/call.h"
#include "call/call_rig.h"
#include "engines/tts/flite/tts_flite.h"
#include "engines/tts/tts.h"

enum { FED_MAX = 60 * 50 }; /* frames: a minute */

struct rec {
	struct channel_event ev[64];
	int n;
	struct audio_clip *done[4]; /* the LISTEN_DONEs' audio (references) */
	unsigned ndone;
	/* CHANNEL_EV_SPEECH_AUDIO batches of the current listen, joined */
	int16_t joined[30 * 8000];
	size_t njoined;
	unsigned naudio;
	bool offset_gap; /* a batch's offset was not njoined */
};

static void rec_reset(struct rec *r)
{
	for (unsigned i = 0; i < r->ndone; i++)
		audio_clip_deref(r->done[i]);
	memset(r, 0, sizeof(*r));
}

static void on_ev(struct channel *ch, const struct channel_event *ev, void *arg)
{
	struct rec *r = arg;
	(void)ch;
	assert_true(r->n < 64);
	r->ev[r->n++] = *ev;
	if (ev->type == CHANNEL_EV_SPEECH_AUDIO) {
		const struct audio_clip *a = ev->audio.audio;
		if (ev->audio.offset != r->njoined)
			r->offset_gap = true;
		assert_true(r->njoined + a->nsamples <= 30 * 8000);
		memcpy(r->joined + r->njoined, a->samples,
		       a->nsamples * sizeof(int16_t));
		r->njoined += a->nsamples;
		r->naudio++;
	}
	if (ev->type == CHANNEL_EV_LISTEN_DONE && ev->listen.audio &&
	    r->ndone < 4)
		r->done[r->ndone++] = audio_clip_ref(ev->listen.audio);
}

static int index_of(const struct rec *r, enum channel_event_type t, int from)
{
	for (int i = from; i < r->n; i++)
		if (r->ev[i].type == t)
			return i;
	return -1;
}

static int count(const struct rec *r, enum channel_event_type t)
{
	int k = 0;
	for (int i = 0; i < r->n; i++)
		k += r->ev[i].type == t;
	return k;
}

static struct audio_clip *part1; /* "I want to check my balance" */
static struct audio_clip *part2; /* "on my savings account" */
static struct audio_clip *prompt;
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
	if (tts_flite_ops.synth(engine, slt, "I want to check my balance",
				&part1) ||
	    tts_flite_ops.synth(engine, slt, "on my savings account.",
				&part2) ||
	    tts_flite_ops.synth(engine, kal,
				"Sure. Which account would you like?", &prompt))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	audio_clip_deref(part1);
	audio_clip_deref(part2);
	audio_clip_deref(prompt);
	tts_flite_ops.close(engine);
	return 0;
}

/* The call and everything the caller sent it. */
struct t {
	struct call *c;
	struct channel *ch;
	struct rec r;
	uint64_t now;
	unsigned seed;
	int16_t fed[FED_MAX * 160];
	size_t nfed;	  /* frames */
	unsigned audible; /* bot frames that carried a prompt */
};

static struct t *mk(void)
{
	struct t *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->c = rig_call_active(on_ev, &t->r, &t->now);
	t->ch = call_channel(t->c);
	t->seed = 1;
	return t;
}

static void t_free(struct t *t)
{
	call_destroy(t->c);
	rec_reset(&t->r);
	free(t);
}

/* One 20 ms step: a caller frame in, a bot frame out. */
static void step(struct t *t, const int16_t *in)
{
	int16_t out[160];
	assert_true(t->nfed < FED_MAX);
	memcpy(t->fed + t->nfed * 160, in, 160 * sizeof(int16_t));
	t->nfed++;
	call_audio_in(t->c, in, 160, t->now);
	t->audible += call_tick(t->c, t->now, out);
	t->now += 20;
}

/* Line noise at about -60 dBFS. */
static void noise(struct t *t, unsigned frames)
{
	int16_t in[160];
	for (unsigned f = 0; f < frames; f++) {
		rig_noise_frame(in, &t->seed);
		step(t, in);
	}
}

/* The clip's frames from frame from (0: its first loud one; flite starts
 * with silence) until an event of type until comes at index mark or later,
 * or the clip ends; returns the next frame. */
static size_t say(struct t *t, const struct audio_clip *clip, size_t from,
		  enum channel_event_type until, int mark)
{
	size_t f = from ? from : rig_first_loud_frame(clip);
	for (; f < clip->nsamples / 160; f++) {
		if (index_of(&t->r, until, mark) >= 0)
			break;
		step(t, clip->samples + f * 160);
	}
	return f;
}

/* Line noise until an event of type ev comes at index mark or later (at
 * most max frames). */
static void noise_until(struct t *t, enum channel_event_type ev, int mark,
			unsigned max)
{
	for (unsigned n = 0; index_of(&t->r, ev, mark) < 0 && n < max; n++)
		noise(t, 1);
}

/* The frame where clip starts in what the caller sent. */
static size_t where(const struct t *t, const struct audio_clip *clip)
{
	for (size_t f = 0; f < t->nfed; f++)
		if (f * 160 + clip->nsamples <= t->nfed * 160 &&
		    !memcmp(t->fed + f * 160, clip->samples,
			    clip->nsamples * sizeof(int16_t)))
			return f;
	fail_msg("the audio is not what the caller sent");
	return 0;
}

/* The first part, then line noise until the listen ends (speech). */
static void first_part(struct t *t, const struct channel_listen *l)
{
	assert_int_equal(channel_listen(t->ch, l), 0);
	noise(t, 25);
	say(t, part1, 0, CHANNEL_EV_LISTEN_DONE, 0);
	noise_until(t, CHANNEL_EV_LISTEN_DONE, 0, 100);
	int d = index_of(&t->r, CHANNEL_EV_LISTEN_DONE, 0);
	assert_true(d >= 0);
	assert_int_equal(t->r.ev[d].listen.end, LISTEN_SPEECH);
	assert_int_equal(t->r.ndone, 1);
}

/* A 400 ms pause cut the sentence (trailing silence 300 ms); the caller
 * goes on 100 ms after the end, while the reply plays: SPEECH_RESUMED,
 * the prompt goes on until the runtime stops it, and a resume listen
 * hands over the first part, the gap and the rest, as the caller said
 * them, streamed from offset 0 again. */
static void a_resumed_sentence_is_handed_over_joined(void **s)
{
	(void)s;
	struct t *t = mk();
	struct channel_listen l = { .no_input_ms = 5000,
				    .continue_ms = 250,
				    .stream_audio = true };
	first_part(t, &l);
	size_t n1 = t->r.done[0]->nsamples;
	size_t at1 = where(t, t->r.done[0]);
	assert_int_equal(at1 * 160 + n1, t->nfed * 160); /* ends at the end */
	assert_int_equal(t->r.njoined, n1);
	struct channel_prompt p = { .name = "reply", .clip = prompt };
	assert_int_equal(channel_play(t->ch, &p), 0);
	noise(t, 5); /* 100 ms after the end */
	size_t f = say(t, part2, 0, CHANNEL_EV_SPEECH_RESUMED, 0);
	int rs = index_of(&t->r, CHANNEL_EV_SPEECH_RESUMED, 0);
	assert_true(rs >= 0);
	assert_int_equal(count(&t->r, CHANNEL_EV_SPEECH_RESUMED), 1);
	uint32_t gap = t->r.ev[rs].resumed.gap_ms;
	print_message("gap_ms %u\n", gap);
	assert_true(gap >= 100 && gap <= 160);
	/* the watch does not stop the reply: the runtime does */
	assert_int_equal(index_of(&t->r, CHANNEL_EV_PLAY_DONE, 0), -1);
	assert_true(t->audible > 0);
	assert_int_equal(channel_stop(t->ch), 0);
	l.resume = true;
	l.continue_ms = 0;
	unsigned audio0 = t->r.naudio;
	t->r.njoined = 0;
	assert_int_equal(channel_listen(t->ch, &l), 0);
	assert_int_equal(channel_listen(t->ch, &l), -EBUSY);
	say(t, part2, f, CHANNEL_EV_LISTEN_DONE, rs); /* the rest */
	noise_until(t, CHANNEL_EV_LISTEN_DONE, rs, 100);
	assert_int_equal(t->r.ndone, 2);
	int pd = index_of(&t->r, CHANNEL_EV_PLAY_DONE, 0);
	assert_true(pd > rs);
	assert_true(t->r.ev[pd].play.interrupted);
	int d2 = index_of(&t->r, CHANNEL_EV_LISTEN_DONE, rs);
	assert_int_equal(t->r.ev[d2].listen.end, LISTEN_SPEECH);
	/* no SPEECH_START: the resume listen starts in speech */
	assert_int_equal(count(&t->r, CHANNEL_EV_SPEECH_START), 1);
	/* the whole utterance: everything from the first part's start to
	 * the end, sample for sample */
	struct audio_clip *a2 = t->r.done[1];
	assert_int_equal(where(t, a2), at1);
	assert_int_equal(at1 * 160 + a2->nsamples, t->nfed * 160);
	assert_true(a2->nsamples > n1 + 8000); /* the second part: > 1 s */
	assert_memory_equal(a2->samples, t->r.done[0]->samples,
			    n1 * sizeof(int16_t));
	assert_true(t->r.ev[d2].listen.speech_ms >
		    n1 * 1000 / 8000 + gap); /* speech, gap, speech */
	/* streamed again from offset 0, joined == the LISTEN_DONE audio */
	assert_true(t->r.naudio > audio0 + 5);
	assert_false(t->r.offset_gap);
	assert_int_equal(t->r.njoined, a2->nsamples);
	assert_memory_equal(t->r.joined, a2->samples,
			    a2->nsamples * sizeof(int16_t));
	t_free(t);
}

/* Early decode goes on over the joined utterance: its pauses carry the
 * joined audio so far, and LISTEN_DONE names the last one. */
static void early_decode_works_on_the_joined_utterance(void **s)
{
	(void)s;
	struct t *t = mk();
	struct channel_listen l = { .no_input_ms = 5000,
				    .continue_ms = 250,
				    .early_ms = 100 };
	first_part(t, &l);
	size_t n1 = t->r.done[0]->nsamples;
	int first_pauses = count(&t->r, CHANNEL_EV_SPEECH_PAUSE);
	assert_true(first_pauses >= 1);
	noise(t, 3);
	size_t f = say(t, part2, 0, CHANNEL_EV_SPEECH_RESUMED, 0);
	int rs = index_of(&t->r, CHANNEL_EV_SPEECH_RESUMED, 0);
	assert_true(rs > 0);
	l.resume = true;
	assert_int_equal(channel_listen(t->ch, &l), 0);
	say(t, part2, f, CHANNEL_EV_LISTEN_DONE, rs);
	noise_until(t, CHANNEL_EV_LISTEN_DONE, rs, 100);
	int p = index_of(&t->r, CHANNEL_EV_SPEECH_PAUSE, rs);
	assert_true(p > rs);
	int last = p;
	for (int i = p; i < t->r.n; i++)
		if (t->r.ev[i].type == CHANNEL_EV_SPEECH_PAUSE)
			last = i;
	int d2 = index_of(&t->r, CHANNEL_EV_LISTEN_DONE, rs);
	assert_true(d2 > last);
	assert_int_equal(t->r.ev[d2].listen.pause_seq, t->r.ev[last].pause.seq);
	assert_true(t->r.ev[last].pause.seq > (unsigned)first_pauses);
	/* the pause's speech_ms counts from the first part's onset */
	assert_true(t->r.ev[last].pause.speech_ms > n1 * 1000 / 8000);
	t_free(t);
}

/* The resumed utterance goes on by the endpointer's rules before the
 * resume listen comes; max_speech counts from the first part's start. */
static void max_speech_counts_from_the_first_start(void **s)
{
	(void)s;
	struct t *t = mk();
	struct channel_listen l = { .no_input_ms = 5000,
				    .continue_ms = 250,
				    .max_speech_ms = 2500 };
	first_part(t, &l);
	noise(t, 2);
	size_t f = say(t, part2, 0, CHANNEL_EV_SPEECH_RESUMED, 0);
	int rs = index_of(&t->r, CHANNEL_EV_SPEECH_RESUMED, 0);
	assert_true(rs > 0);
	l.resume = true;
	assert_int_equal(channel_listen(t->ch, &l), 0);
	say(t, part2, f, CHANNEL_EV_LISTEN_DONE, rs);
	noise_until(t, CHANNEL_EV_LISTEN_DONE, rs, 100);
	int d2 = index_of(&t->r, CHANNEL_EV_LISTEN_DONE, rs);
	assert_true(d2 > 0);
	assert_int_equal(t->r.ev[d2].listen.end, LISTEN_MAX_SPEECH);
	assert_true(t->r.ev[d2].listen.speech_ms <= 2500);
	assert_true(t->r.ev[d2].listen.speech_ms >= 2400);
	t_free(t);
}

/* The caller finishes before the runtime asks: the resume listen ends at
 * once with the whole utterance, up to its own trailing silence. */
static void a_resumed_utterance_that_ended_completes_at_once(void **s)
{
	(void)s;
	struct t *t = mk();
	struct channel_listen l = { .no_input_ms = 5000, .continue_ms = 250 };
	first_part(t, &l);
	size_t at1 = where(t, t->r.done[0]);
	noise(t, 4);
	/* all of it (no hangup comes), with no listen running */
	say(t, part2, 0, CHANNEL_EV_HANGUP, 0);
	assert_true(index_of(&t->r, CHANNEL_EV_SPEECH_RESUMED, 0) > 0);
	noise(t, 60);
	size_t end = t->nfed;
	noise(t, 10);
	l.resume = true;
	l.stream_audio = true;
	t->r.njoined = 0;
	assert_int_equal(channel_listen(t->ch, &l), 0);
	int16_t out[160];
	call_tick(t->c, t->now, out);
	assert_int_equal(t->r.ndone, 2);
	int d2 = index_of(&t->r, CHANNEL_EV_LISTEN_DONE,
			  index_of(&t->r, CHANNEL_EV_SPEECH_RESUMED, 0));
	assert_int_equal(t->r.ev[d2].listen.end, LISTEN_SPEECH);
	struct audio_clip *a2 = t->r.done[1];
	assert_int_equal(where(t, a2), at1);
	/* it ended 300 ms after its last speech, well before now */
	assert_true(at1 * 160 + a2->nsamples <= end * 160);
	assert_true(a2->nsamples > t->r.done[0]->nsamples + 8000);
	assert_int_equal(t->r.njoined, a2->nsamples);
	/* and the watch is spent */
	assert_int_equal(channel_listen(t->ch, &l), -ENOENT);
	t_free(t);
}

/* Speech that starts after the window, a watch of 0, a click in the
 * window: no event, and nothing to resume. */
static void no_resume_outside_the_window_or_without_a_watch(void **s)
{
	(void)s;
	static const struct {
		unsigned continue_ms, gap_frames;
	} cases[] = { { 250, 13 }, { 250, 20 }, { 0, 5 } };
	for (size_t k = 0; k < 3; k++) {
		struct t *t = mk();
		struct channel_listen l = { .no_input_ms = 5000,
					    .continue_ms =
						    cases[k].continue_ms };
		first_part(t, &l);
		struct channel_listen r = { .resume = true };
		/* nothing resumed yet */
		assert_int_equal(channel_listen(t->ch, &r), -ENOENT);
		noise(t, cases[k].gap_frames);
		say(t, part2, 0, CHANNEL_EV_SPEECH_RESUMED, 0);
		noise(t, 50);
		assert_int_equal(index_of(&t->r, CHANNEL_EV_SPEECH_RESUMED, 0),
				 -1);
		assert_int_equal(channel_listen(t->ch, &r), -ENOENT);
		/* a listen now starts afresh */
		int mark = t->r.n;
		assert_int_equal(channel_listen(t->ch, &l), 0);
		say(t, part1, 0, CHANNEL_EV_LISTEN_DONE, mark);
		noise_until(t, CHANNEL_EV_LISTEN_DONE, mark, 100);
		assert_int_equal(t->r.ndone, 2);
		assert_true(t->r.done[1]->nsamples <
			    t->r.done[0]->nsamples + 8000);
		t_free(t);
	}
	struct t *t = mk();
	struct channel_listen l = { .continue_ms = 10001 };
	assert_int_equal(channel_listen(t->ch, &l), -EINVAL);
	t_free(t);

	/* No frames for a while (a peer that sends none in silence): the
	 * window passes on the call's clock. */
	t = mk();
	l.continue_ms = 250;
	first_part(t, &l);
	int16_t out[160];
	for (int i = 0; i < 25; i++) {
		call_tick(t->c, t->now, out);
		t->now += 20;
	}
	say(t, part2, 0, CHANNEL_EV_SPEECH_RESUMED, 0);
	assert_int_equal(index_of(&t->r, CHANNEL_EV_SPEECH_RESUMED, 0), -1);
	t_free(t);
}

static void a_click_in_the_window_is_not_a_resume(void **s)
{
	(void)s;
	struct t *t = mk();
	struct channel_listen l = { .no_input_ms = 5000, .continue_ms = 250 };
	first_part(t, &l);
	/* mid-window, on quiet line noise (just after the speech the
	 * detector still rates some noise frames 0.5: a click there arms
	 * its hangover, and would start a listen too) */
	noise(t, 5);
	int16_t in[160];
	for (int f = 0; f < 2; f++) { /* 40 ms of loud broadband bursts */
		for (int k = 0; k < 160; k++) {
			t->seed = t->seed * 1103515245u + 12345u;
			in[k] = (int16_t)((int)((t->seed >> 16) % 40001) -
					  20000);
		}
		step(t, in);
	}
	noise(t, 30);
	assert_int_equal(index_of(&t->r, CHANNEL_EV_SPEECH_RESUMED, 0), -1);
	struct channel_listen r = { .resume = true };
	assert_int_equal(channel_listen(t->ch, &r), -ENOENT);
	t_free(t);
}

/* The next step's listen runs during the watch: both hear the caller
 * (SPEECH_RESUMED first, then that listen's barge-in). A listen that is
 * stopped leaves the resumed utterance; one that ends with speech
 * replaces it. */
static void a_listen_during_the_watch_hears_the_speech_too(void **s)
{
	(void)s;
	for (int stop = 1; stop >= 0; stop--) {
		struct t *t = mk();
		struct channel_listen l = { .no_input_ms = 5000,
					    .continue_ms = 250 };
		first_part(t, &l);
		size_t at1 = where(t, t->r.done[0]);
		struct channel_prompt p = { .name = "reply",
					    .clip = prompt,
					    .speech_barge_in = true };
		assert_int_equal(channel_play(t->ch, &p), 0);
		assert_int_equal(channel_listen(t->ch, &l), 0);
		noise(t, 5);
		int mark = t->r.n;
		size_t f = say(t, part2, 0, CHANNEL_EV_SPEECH_START, mark);
		int rs = index_of(&t->r, CHANNEL_EV_SPEECH_RESUMED, 0);
		int st = index_of(&t->r, CHANNEL_EV_SPEECH_START, mark);
		assert_true(rs > 0);
		assert_true(st > rs);
		assert_true(t->r.ev[st].speech.barged);
		int pd = index_of(&t->r, CHANNEL_EV_PLAY_DONE, 0);
		assert_true(pd > 0 && t->r.ev[pd].play.interrupted);
		struct channel_listen r = { .resume = true };
		if (stop) {
			assert_int_equal(channel_listen(t->ch, &r), -EBUSY);
			assert_int_equal(channel_stop(t->ch), 0);
			assert_int_equal(channel_listen(t->ch, &r), 0);
			int16_t out[160];
			call_tick(t->c, t->now, out); /* delivers */
			int d = index_of(&t->r, CHANNEL_EV_LISTEN_DONE, st);
			assert_true(d > st);
			assert_int_equal(t->r.ev[d].listen.end, LISTEN_STOPPED);
			say(t, part2, f, CHANNEL_EV_LISTEN_DONE, d + 1);
			noise_until(t, CHANNEL_EV_LISTEN_DONE, d + 1, 100);
			/* the first, the STOPPED one (no audio), the
			 * joined one */
			assert_int_equal(t->r.ndone, 2);
			assert_int_equal(where(t, t->r.done[1]), at1);
			assert_true(t->r.done[1]->nsamples >
				    t->r.done[0]->nsamples + 8000);
		} else {
			say(t, part2, f, CHANNEL_EV_LISTEN_DONE, st);
			noise_until(t, CHANNEL_EV_LISTEN_DONE, st, 100);
			/* its own utterance: the second part only */
			assert_int_equal(t->r.ndone, 2);
			assert_true(where(t, t->r.done[1]) > at1);
			assert_true(t->r.done[1]->nsamples <
				    t->r.done[0]->nsamples + 4000);
			assert_int_equal(channel_listen(t->ch, &r), -ENOENT);
		}
		t_free(t);
	}
}

/* A hangup during the watch: the call's last event is HANGUP, with no
 * SPEECH_RESUMED, and nothing can be resumed. */
static void a_hangup_ends_the_watch(void **s)
{
	(void)s;
	struct t *t = mk();
	struct channel_listen l = { .no_input_ms = 5000, .continue_ms = 250 };
	first_part(t, &l);
	noise(t, 3);
	/* the onset, not yet confirmed */
	size_t f0 = rig_first_loud_frame(part2);
	for (size_t f = f0; f < f0 + 3; f++)
		step(t, part2->samples + f * 160);
	call_signal(t->c, CALL_EV_REMOTE_BYE, t->now);
	for (size_t f = f0 + 3; f < f0 + 40; f++)
		step(t, part2->samples + f * 160);
	assert_int_equal(t->r.ev[t->r.n - 1].type, CHANNEL_EV_HANGUP);
	assert_int_equal(index_of(&t->r, CHANNEL_EV_SPEECH_RESUMED, 0), -1);
	struct channel_listen r = { .resume = true };
	assert_int_equal(channel_listen(t->ch, &r), -ENOTCONN);
	t_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_resumed_sentence_is_handed_over_joined),
		cmocka_unit_test(early_decode_works_on_the_joined_utterance),
		cmocka_unit_test(max_speech_counts_from_the_first_start),
		cmocka_unit_test(
			a_resumed_utterance_that_ended_completes_at_once),
		cmocka_unit_test(
			no_resume_outside_the_window_or_without_a_watch),
		cmocka_unit_test(a_click_in_the_window_is_not_a_resume),
		cmocka_unit_test(
			a_listen_during_the_watch_hears_the_speech_too),
		cmocka_unit_test(a_hangup_ends_the_watch),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
