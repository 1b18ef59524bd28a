/* A scripted fake channel for the flow session tests (test_flow_session.c,
 * test_flow_session_v2.c): the channel contract as call/call.c keeps it,
 * driven by the test thread. Static helpers: include once per test binary. */
#ifndef VG_TEST_FLOW_FAKE_CHANNEL_H
#define VG_TEST_FLOW_FAKE_CHANNEL_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "audio/clip.h"
#include "call/channel.h"
#include "flow/flow.h"

/* ---- a scripted channel ----
 * Keeps the channel contract the way call/call.c does: events are queued and
 * delivered only by deliver(), keys typed with no collect running wait as
 * type-ahead, a barge-in prompt stops at the first key, hangup completes
 * what was outstanding and then raises HANGUP. */

#define EVQ 64

struct fake {
	struct channel ch;
	char log[65536]; /* requests, one per line */
	char path[1024]; /* note_node, comma-separated */
	char last_text[512];
	char last_voice[64];
	unsigned plays_with_clip;
	uint64_t last_requested_us;

	bool playing, play_barge;
	bool collecting;
	struct channel_collect co;
	char term[8];
	char digits[33];
	size_t nd;
	char typeahead[33];
	size_t nta;
	bool transferring;
	bool over;
	bool listening;
	struct channel_listen lo;
	bool last_speech_barge; /* of the last play */
	unsigned turns;
	char turn_intent[64], turn_match[8], turn_next[64], turn_text[256];
	char turn_input[8];
	char turn[256]; /* the last turn: node input intent match next engine */
	int record_err; /* returned by record() */

	struct channel_event q[EVQ];
	size_t qh, qn;

	bool no_barge;	  /* a platform that ignores dtmf_barge_in */
	int play_err;	  /* returned by play() when set */
	int transfer_err; /* returned by transfer() when set */
	/* Called inside hangup(): the daemon's observer freeing things. */
	void (*on_hangup)(struct fake *f);
	struct flow_session *session;
};

static inline void logf_(struct fake *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline void logf_(struct fake *f, const char *fmt, ...)
{
	size_t o = strlen(f->log);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->log + o, sizeof(f->log) - o, fmt, ap);
	va_end(ap);
	o = strlen(f->log);
	if (o + 1 < sizeof(f->log)) {
		f->log[o] = '\n';
		f->log[o + 1] = '\0';
	}
}

static inline void push(struct fake *f, const struct channel_event *ev)
{
	assert_true(f->qn < EVQ);
	f->q[(f->qh + f->qn) % EVQ] = *ev;
	f->qn++;
}

static inline void deliver(struct fake *f)
{
	while (f->qn) {
		struct channel_event ev = f->q[f->qh];
		f->qh = (f->qh + 1) % EVQ;
		f->qn--;
		if (f->ch.evh)
			f->ch.evh(&f->ch, &ev, f->ch.evarg);
	}
}

static inline void finish_play(struct fake *f, bool interrupted)
{
	if (!f->playing)
		return;
	f->playing = false;
	struct channel_event ev = { .type = CHANNEL_EV_PLAY_DONE };
	ev.play.interrupted = interrupted;
	push(f, &ev);
}

static inline void finish_collect(struct fake *f, enum channel_collect_end end)
{
	if (!f->collecting)
		return;
	f->collecting = false;
	struct channel_event ev = { .type = CHANNEL_EV_COLLECT_DONE };
	ev.collect.end = end;
	memcpy(ev.collect.digits, f->digits, f->nd);
	ev.collect.digits[f->nd] = '\0';
	push(f, &ev);
}

/* True when the collect completed. */
static inline bool collect_digit(struct fake *f, char d)
{
	if (f->term[0] && strchr(f->term, d)) {
		finish_collect(f, COLLECT_TERMINATOR);
		return true;
	}
	f->digits[f->nd++] = d;
	f->digits[f->nd] = '\0';
	if (f->nd >= f->co.max_digits) {
		finish_collect(f, COLLECT_MAX_DIGITS);
		return true;
	}
	return false;
}

static inline struct fake *fake_of(struct channel *ch)
{
	return (struct fake *)ch; /* ch is the first member */
}

static inline int fk_play(struct channel *ch, const struct channel_prompt *p)
{
	struct fake *f = fake_of(ch);
	if (f->over)
		return -ENOTCONN;
	if (f->playing)
		return -EBUSY;
	if (f->play_err)
		return f->play_err;
	if ((ch->ops->caps & CHANNEL_CAP_AUDIO) &&
	    (!p->clip || !p->clip->nsamples))
		return -EINVAL;
	logf_(f, "play:%s", p->name);
	snprintf(f->last_text, sizeof(f->last_text), "%s", p->text);
	snprintf(f->last_voice, sizeof(f->last_voice), "%s",
		 p->voice ? p->voice : "-");
	f->last_requested_us = p->requested_us;
	if (p->clip)
		f->plays_with_clip++;
	f->playing = true;
	f->play_barge = p->dtmf_barge_in && !f->no_barge;
	f->last_speech_barge = p->speech_barge_in;
	return 0;
}

static inline void finish_listen(struct fake *f, enum channel_listen_end end,
				 const char *text)
{
	if (!f->listening)
		return;
	f->listening = false;
	struct channel_event ev = { .type = CHANNEL_EV_LISTEN_DONE };
	ev.listen.end = end;
	ev.listen.text = text;
	ev.listen.confidence = 0.9f;
	ev.listen.speech_end_us = 1;
	push(f, &ev);
}

static inline int fk_listen(struct channel *ch, const struct channel_listen *l)
{
	struct fake *f = fake_of(ch);
	if (f->over)
		return -ENOTCONN;
	if (f->listening)
		return -EBUSY;
	logf_(f, "listen:%u/%s", l->no_input_ms, l->dtmf_ends ? "dtmf" : "-");
	f->listening = true;
	f->lo = *l;
	return 0;
}

static inline void fk_note_turn(struct channel *ch,
				const struct channel_turn *t)
{
	struct fake *f = fake_of(ch);
	f->turns++;
	snprintf(f->turn_intent, sizeof(f->turn_intent), "%s",
		 t->intent ? t->intent : "-");
	snprintf(f->turn_match, sizeof(f->turn_match), "%s", t->match);
	snprintf(f->turn_next, sizeof(f->turn_next), "%s",
		 t->next ? t->next : "-");
	snprintf(f->turn_text, sizeof(f->turn_text), "%s",
		 t->transcript ? t->transcript : "-");
	snprintf(f->turn_input, sizeof(f->turn_input), "%s", t->input);
	snprintf(f->turn, sizeof(f->turn), "%s %s %s %s %s %s", t->node,
		 t->input, t->intent ? t->intent : "-", t->match,
		 t->next ? t->next : "-", t->stt_engine ? t->stt_engine : "-");
}

static inline int fk_collect(struct channel *ch,
			     const struct channel_collect *c)
{
	struct fake *f = fake_of(ch);
	if (f->over)
		return -ENOTCONN;
	if (f->collecting)
		return -EBUSY;
	logf_(f, "collect:%u/%u/%u/%s", c->max_digits, c->first_timeout_ms,
	      c->interdigit_timeout_ms, c->terminators ? c->terminators : "");
	f->collecting = true;
	f->co = *c;
	snprintf(f->term, sizeof(f->term), "%s",
		 c->terminators ? c->terminators : "");
	f->nd = 0;
	f->digits[0] = '\0';
	size_t i = 0;
	bool done = false;
	while (i < f->nta && !done)
		done = collect_digit(f, f->typeahead[i++]);
	memmove(f->typeahead, f->typeahead + i, f->nta - i);
	f->nta -= i;
	if (i && f->playing && f->play_barge)
		finish_play(f, true);
	return 0;
}

static inline int fk_stop(struct channel *ch)
{
	struct fake *f = fake_of(ch);
	logf_(f, "stop");
	finish_play(f, true);
	finish_collect(f, COLLECT_STOPPED);
	finish_listen(f, LISTEN_STOPPED, NULL);
	return 0;
}

static inline int fk_transfer(struct channel *ch, const char *target)
{
	struct fake *f = fake_of(ch);
	if (f->over)
		return -ENOTCONN;
	if (f->transferring)
		return -EBUSY;
	logf_(f, "transfer:%s", target);
	if (f->transfer_err)
		return f->transfer_err;
	f->transferring = true;
	return 0;
}

static inline int fk_transfer_ctx(struct channel *ch, const char *target,
				  const struct channel_kv *kv, unsigned n)
{
	struct fake *f = fake_of(ch);
	if (f->over)
		return -ENOTCONN;
	size_t o = strlen(f->log);
	snprintf(f->log + o, sizeof(f->log) - o, "transfer:%s", target);
	for (unsigned i = 0; i < n; i++) {
		o = strlen(f->log);
		snprintf(f->log + o, sizeof(f->log) - o, " %s=%s", kv[i].key,
			 kv[i].value);
	}
	logf_(f, "%s", "");
	f->transferring = true;
	return 0;
}

static inline int fk_record(struct channel *ch, enum channel_record_op op)
{
	static const char *const names[] = { "start", "pause", "resume",
					     "stop" };
	struct fake *f = fake_of(ch);
	logf_(f, "record:%s", names[op]);
	return f->record_err;
}

static inline int fk_hangup(struct channel *ch, const char *reason)
{
	struct fake *f = fake_of(ch);
	if (f->over)
		return -EALREADY;
	logf_(f, "hangup:%s", reason);
	f->over = true;
	finish_play(f, true);
	finish_collect(f, COLLECT_STOPPED);
	struct channel_event ev = { .type = CHANNEL_EV_HANGUP };
	ev.hangup.reason = reason;
	push(f, &ev);
	if (f->on_hangup)
		f->on_hangup(f);
	return 0;
}

static inline void fk_note(struct channel *ch, const char *node)
{
	struct fake *f = fake_of(ch);
	size_t o = strlen(f->path);
	snprintf(f->path + o, sizeof(f->path) - o, "%s%s", o ? "," : "", node);
}

/* Not every test uses every platform. */
#define FAKE_OPS static const struct channel_ops __attribute__((unused))

FAKE_OPS text_ops = {
	.kind = "fake-text",
	.caps = CHANNEL_CAP_TEXT | CHANNEL_CAP_DTMF | CHANNEL_CAP_TRANSFER,
	.play = fk_play,
	.collect = fk_collect,
	.stop = fk_stop,
	.transfer = fk_transfer,
	.hangup = fk_hangup,
	.note_node = fk_note,
};

/* A platform that transcribes itself (TwiML Gather style). */
FAKE_OPS stt_ops = {
	.kind = "fake-stt",
	.caps = CHANNEL_CAP_TEXT | CHANNEL_CAP_DTMF | CHANNEL_CAP_TRANSFER |
		CHANNEL_CAP_STT,
	.play = fk_play,
	.collect = fk_collect,
	.listen = fk_listen,
	.stop = fk_stop,
	.transfer = fk_transfer,
	.hangup = fk_hangup,
	.note_node = fk_note,
	.note_turn = fk_note_turn,
};

FAKE_OPS audio_ops = {
	.kind = "fake-audio",
	.caps = CHANNEL_CAP_AUDIO | CHANNEL_CAP_DTMF | CHANNEL_CAP_TRANSFER,
	.play = fk_play,
	.collect = fk_collect,
	.stop = fk_stop,
	.transfer = fk_transfer,
	.hangup = fk_hangup,
	.note_node = fk_note,
};

/* A text platform that records and passes context on transfer. */
FAKE_OPS rec_ops = {
	.kind = "fake-rec",
	.caps = CHANNEL_CAP_TEXT | CHANNEL_CAP_DTMF | CHANNEL_CAP_TRANSFER,
	.play = fk_play,
	.collect = fk_collect,
	.stop = fk_stop,
	.transfer = fk_transfer,
	.transfer_ctx = fk_transfer_ctx,
	.hangup = fk_hangup,
	.note_node = fk_note,
	.record = fk_record,
};

#undef FAKE_OPS

/* ---- what the caller does ---- */

static inline void play_ends(struct fake *f)
{
	assert_true(f->playing);
	finish_play(f, false);
	deliver(f);
}

/* The caller says text: speech start (barging in on a prompt that allows
 * it), then the platform's transcript. */
static inline void speak(struct fake *f, const char *text)
{
	assert_true(f->listening);
	struct channel_event ev = { .type = CHANNEL_EV_SPEECH_START };
	ev.speech.barged = f->playing && f->last_speech_barge;
	push(f, &ev);
	if (f->playing && f->last_speech_barge)
		finish_play(f, true);
	finish_listen(f, LISTEN_SPEECH, text);
	deliver(f);
}

static inline void press(struct fake *f, char d)
{
	struct channel_event ev = { .type = CHANNEL_EV_DTMF };
	ev.dtmf.digit = d;
	push(f, &ev);
	if (f->listening && f->lo.dtmf_ends)
		finish_listen(f, LISTEN_DTMF, NULL);
	if (f->playing && f->play_barge)
		finish_play(f, true);
	if (f->collecting)
		collect_digit(f, d);
	else if (f->nta < sizeof(f->typeahead) - 1)
		f->typeahead[f->nta++] = d;
	deliver(f);
}

static inline void first_timeout(struct fake *f)
{
	assert_true(f->collecting);
	assert_false(f->playing);
	finish_collect(f, f->nd ? COLLECT_INTERDIGIT : COLLECT_NO_INPUT);
	deliver(f);
}

static inline void transfer_result(struct fake *f, int err, int status)
{
	assert_true(f->transferring);
	f->transferring = false;
	struct channel_event ev = { .type = CHANNEL_EV_TRANSFER_DONE };
	ev.err = err;
	ev.transfer.status = status;
	push(f, &ev);
	deliver(f);
}

/* The far end hangs up: outstanding requests are dropped, not completed. */
static inline void caller_hangs_up(struct fake *f)
{
	f->over = true;
	f->playing = f->collecting = f->transferring = false;
	f->qn = 0;
	struct channel_event ev = { .type = CHANNEL_EV_HANGUP };
	ev.hangup.reason = "caller_hangup";
	push(f, &ev);
	deliver(f);
}

#endif
