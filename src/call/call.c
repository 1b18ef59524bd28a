/* The media call (see call.h): state machine glue, prompt playback, DTMF
 * collection with timeouts, and the per-call record. Channel events are
 * queued and delivered outside channel methods, as channel.h promises. */
#include "call/call.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "audio/clip.h"
#include "audio/stream.h"
#include "audio/vad.h"
#include "call/record.h"
#include "call/turnrec.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/strbuf.h"
#include "metrics/metrics.h"

enum {
	EVQ_CAP = 16,
	DIGITS_CAP = 32,
	DTMF_LOG_CAP = 64,
	TEXT_CAP = 160,
	PATH_MAX_BYTES = 16384,
	PROMPTS_MAX_BYTES = 65536,
	TURNS_MAX_BYTES = 65536,
	CONTINUE_MS_MAX = 10000, /* endpoint_continue()'s bound */
};

/* A caller turn waiting for its reply's first frame (channel_note_turn). */
struct turn_rec {
	bool active;
	struct turnrec r;
};

struct play_state {
	bool active;
	struct audio_clip *clip;
	struct audio_stream *stream; /* when clip is NULL */
	size_t pos;
	bool barge;
	bool speech_barge;
	bool paused;	    /* held while possible speech is confirmed */
	bool ack_due;	    /* all audio out; waits for call_play_ack() */
	uint32_t id;	    /* call_play_id() */
	uint32_t underruns; /* ticks the stream had no frame ready */
	char name[64];
	char text[TEXT_CAP];
	uint64_t requested_us;
	uint64_t called_us;
	uint64_t first_frame_us;
};

struct collect_state {
	bool active;
	struct channel_collect opts;
	char terminators[8];
	char digits[DIGITS_CAP + 1];
	size_t ndigits;
	uint64_t first_deadline_ms; /* 0 until armed (after the prompt) */
	uint64_t interdigit_deadline_ms;
	uint64_t overall_deadline_ms;
};

struct listen_state {
	bool active;
	struct channel_listen opts;
	struct vad *vad;	       /* created on first listen, kept */
	struct endpointer *ep;	       /* idem */
	struct audio_clip *utt;	       /* the last utterance, for LISTEN_DONE */
	uint64_t no_input_deadline_ms; /* 0 until armed (after the prompt) */
	bool speech;		       /* speech confirmed in this listen */
	bool barged;		       /* it interrupted a prompt */
	unsigned quiet_frames;	       /* non-speech frames while play paused */
	/* Early decode (channel_listen.early_ms): the pause raised last, and
	 * whether it still holds all the speech (none came since). */
	unsigned early_ms;	       /* 0: off for this listen */
	struct audio_clip *pause_clip; /* for CHANNEL_EV_SPEECH_PAUSE */
	unsigned pause_seq;
	bool paused;
	/* Streaming (channel_listen.stream_audio): samples of the
	 * endpointer's utterance already handed over. */
	bool stream_audio;
	size_t audio_sent;
	/* Continuation watch (channel_listen.continue_ms): the last
	 * utterance's endpointer while its window is open (WATCH_ON) or
	 * after the caller resumed (WATCH_RESUMED, until a resume listen
	 * takes it over). A listen started meanwhile gets the other one;
	 * at most two per call, the second made on first need. */
	enum { WATCH_OFF, WATCH_ON, WATCH_RESUMED } watch;
	struct endpointer *wep;
	enum endpoint_event wend; /* resumed utterance ended, no listen */
	struct endpointer *spare; /* neither listening nor watching */
	/* The window on the call's clock too: a peer that sends no frames
	 * in silence (or stops) must not leave it open. */
	uint64_t watch_deadline_ms;
};

struct call {
	struct channel ch;
	char id[37];
	char *platform;
	char *from;
	char *to;
	char *platform_id;
	char *flow_name;
	const struct call_media_ops *ops;
	void *adapter;
	struct call_observer obs;

	enum call_state state;
	const char *end_reason;
	bool hangup_raised;
	int in_method;
	bool delivering;

	struct channel_event evq[EVQ_CAP];
	unsigned evq_head, evq_len;

	struct play_state play;
	struct collect_state collect;
	struct listen_state listen;
	char typeahead[DIGITS_CAP + 1];
	size_t ntypeahead;
	char dtmf_log[DTMF_LOG_CAP + 1];
	char dtmf_out[DIGITS_CAP + 1];
	size_t ndtmf_out;
	size_t ndtmf;

	uint32_t media_timeout_ms;
	uint64_t last_rx_ms;
	uint64_t now_ms;

	int64_t started_wall_ms, answered_wall_ms, ended_wall_ms;
	struct strbuf path;
	struct strbuf prompts;
	struct strbuf turns;
	struct turn_rec turn;
	unsigned nturns;
	bool transfer_pending;
	struct rec_writer *recw; /* NULL: recording off */
	struct rec *rec;	 /* while recording */
	bool rec_stopped;	 /* stopped: no second start */
	void *user;
	bool play_ack; /* call_set_play_ack(): prompts end on the ack */
	uint32_t nplays;
	char codec[8];
	char remote[64];
	uint64_t rtp_tx, rtp_rx;
};

static const struct channel_ops call_channel_ops;
static void clear_events(struct call *c);

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

static void make_uuid(char out[37])
{
	uint8_t b[16];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		uint64_t t = clock_mono_us() ^ (uint64_t)(uintptr_t)out;
		for (int i = 0; i < 16; i++)
			b[i] = (uint8_t)(t >> ((i % 8) * 8)) ^
			       (uint8_t)(i * 37);
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
}

int call_create(struct call **cp, const struct call_params *p,
		const struct call_media_ops *ops, void *adapter)
{
	if (!cp || !p || !ops)
		return -EINVAL;
	struct call *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (p->id && strlen(p->id) == sizeof(c->id) - 1)
		memcpy(c->id, p->id, sizeof(c->id));
	else
		make_uuid(c->id);
	c->platform = dup_or_empty(p->platform);
	c->from = dup_or_empty(p->from);
	c->to = dup_or_empty(p->to);
	c->platform_id = dup_or_empty(p->platform_id);
	c->flow_name = dup_or_empty(NULL);
	if (!c->platform || !c->from || !c->to || !c->platform_id ||
	    !c->flow_name) {
		call_destroy(c);
		return -ENOMEM;
	}
	if (vad_create(&c->listen.vad, NULL)) {
		call_destroy(c);
		return -ENOMEM;
	}
	c->ops = ops;
	c->adapter = adapter;
	c->state = CALL_RINGING;
	c->media_timeout_ms = p->media_timeout_ms;
	c->now_ms = p->now_ms;
	c->last_rx_ms = p->now_ms;
	c->started_wall_ms = clock_wall_ms();
	strbuf_init(&c->path, PATH_MAX_BYTES);
	strbuf_init(&c->prompts, PROMPTS_MAX_BYTES);
	strbuf_init(&c->turns, TURNS_MAX_BYTES);
	strbuf_addstr(&c->path, "[");
	strbuf_addstr(&c->prompts, "[");
	strbuf_addstr(&c->turns, "[");

	c->ch.ops = &call_channel_ops;
	c->ch.id = c->id;
	c->ch.from = c->from;
	c->ch.to = c->to;
	*cp = c;
	return 0;
}

static void record_end(struct call *c)
{
	if (!c->rec)
		return;
	LOGI(c->id, "recording_stop", "ms=%llu",
	     (unsigned long long)(rec_samples(c->rec) / 8));
	rec_stop(c->rec);
	c->rec = NULL;
	c->rec_stopped = true;
}

void call_destroy(struct call *c)
{
	if (!c)
		return;
	record_end(c);
	clear_events(c);
	c->play.clip = audio_clip_deref(c->play.clip);
	c->play.stream = audio_stream_deref(c->play.stream);
	c->listen.utt = audio_clip_deref(c->listen.utt);
	c->listen.pause_clip = audio_clip_deref(c->listen.pause_clip);
	vad_destroy(c->listen.vad);
	endpoint_destroy(c->listen.ep);
	endpoint_destroy(c->listen.wep);
	endpoint_destroy(c->listen.spare);
	strbuf_fini(&c->path);
	strbuf_fini(&c->prompts);
	strbuf_fini(&c->turns);
	free(c->platform);
	free(c->from);
	free(c->to);
	free(c->platform_id);
	free(c->flow_name);
	free(c);
}

void call_set_observer(struct call *c, const struct call_observer *obs)
{
	c->obs = *obs;
}

struct channel *call_channel(struct call *c)
{
	return &c->ch;
}

struct call *call_from_channel(struct channel *ch)
{
	if (!ch || ch->ops != &call_channel_ops)
		return NULL;
	return (struct call *)((char *)ch - offsetof(struct call, ch));
}

/* ---- events ---- */

/* A queued CHANNEL_EV_SPEECH_AUDIO owns its clip until it was delivered or
 * dropped (the handler only borrows it). */
static void release_event(const struct channel_event *ev)
{
	if (ev->type == CHANNEL_EV_SPEECH_AUDIO)
		audio_clip_deref(ev->audio.audio);
}

static void clear_events(struct call *c)
{
	while (c->evq_len) {
		release_event(&c->evq[c->evq_head]);
		c->evq_head = (c->evq_head + 1) % EVQ_CAP;
		c->evq_len--;
	}
}

/* Takes over what ev owns (release_event), also when it is dropped. */
static void queue_event(struct call *c, const struct channel_event *ev)
{
	if (c->hangup_raised) {
		release_event(ev);
		return;
	}
	if (c->evq_len == EVQ_CAP) {
		/* Only informational DTMF events can pile up this far (audio
		 * batches are delivered frame by frame). */
		LOGW(c->id, "call_event_overflow", "type=%d", ev->type);
		release_event(ev);
		return;
	}
	c->evq[(c->evq_head + c->evq_len) % EVQ_CAP] = *ev;
	c->evq_len++;
}

static bool call_over(const struct call *c)
{
	return c->state == CALL_ENDING || c->state == CALL_ENDED;
}

static void deliver_pending(struct call *c)
{
	if (c->in_method || c->delivering)
		return;
	c->delivering = true;
	while (c->evq_len && !c->hangup_raised) {
		struct channel_event ev = c->evq[c->evq_head];
		c->evq_head = (c->evq_head + 1) % EVQ_CAP;
		c->evq_len--;
		if (c->ch.evh)
			c->ch.evh(&c->ch, &ev, c->ch.evarg);
		release_event(&ev);
	}
	if (call_over(c) && !c->hangup_raised) {
		c->hangup_raised = true;
		clear_events(c);
		struct channel_event ev = { .type = CHANNEL_EV_HANGUP };
		ev.hangup.reason = c->end_reason ? c->end_reason : "hangup";
		if (c->ch.evh)
			c->ch.evh(&c->ch, &ev, c->ch.evarg);
	}
	c->delivering = false;
}

/* ---- prompt record ---- */

static unsigned play_duration_ms(const struct play_state *pl)
{
	size_t n = pl->clip	? pl->clip->nsamples
		   : pl->stream ? audio_stream_len(pl->stream)
				: 0;
	return (unsigned)(n * 1000 / AUDIO_RATE_HZ);
}

static void play_release(struct play_state *pl)
{
	pl->active = false;
	pl->clip = audio_clip_deref(pl->clip);
	pl->stream = audio_stream_deref(pl->stream);
}

static void record_prompt(struct call *c, bool interrupted, uint64_t now_us)
{
	struct play_state *pl = &c->play;
	struct strbuf *sb = &c->prompts;
	uint32_t played_ms = (uint32_t)(pl->pos * 1000 / AUDIO_RATE_HZ);
	char tmp[512];
	int64_t first_ms =
		pl->first_frame_us
			? (int64_t)(pl->first_frame_us - pl->requested_us) /
				  1000
			: -1;
	snprintf(tmp, sizeof(tmp),
		 ",\"synth_ms\":%.3f,\"first_frame_ms\":%lld,"
		 "\"played_ms\":%u,\"duration_ms\":%u,\"interrupted\":%s,"
		 "\"done_ms\":%llu}",
		 (double)(pl->called_us - pl->requested_us) / 1000.0,
		 (long long)first_ms, played_ms, play_duration_ms(pl),
		 interrupted ? "true" : "false",
		 (unsigned long long)(now_us - pl->requested_us) / 1000);
	size_t mark = sb->len;
	int err = strbuf_addstr(sb, sb->len > 1 ? ",{\"name\":" : "{\"name\":");
	if (!err)
		err = strbuf_add_json_str(sb, pl->name);
	if (!err)
		err = strbuf_addstr(sb, ",\"text\":");
	if (!err)
		err = strbuf_add_json_str(sb, pl->text);
	if (!err)
		err = strbuf_addstr(sb, tmp);
	if (err && sb->buf) {
		sb->len = mark;
		sb->buf[mark] = '\0';
	}
}

static void finish_play(struct call *c, bool interrupted)
{
	struct play_state *pl = &c->play;
	if (!pl->active)
		return;
	uint64_t now_us = clock_mono_us();
	record_prompt(c, interrupted, now_us);
	struct channel_event ev = { .type = CHANNEL_EV_PLAY_DONE };
	ev.play.interrupted = interrupted;
	ev.play.played_ms = (uint32_t)(pl->pos * 1000 / AUDIO_RATE_HZ);
	play_release(pl);
	queue_event(c, &ev);
	/* The caller's time to answer starts when the prompt stops. */
	if (c->collect.active && c->collect.ndigits == 0 &&
	    c->collect.opts.first_timeout_ms && !c->listen.speech)
		c->collect.first_deadline_ms =
			c->now_ms + c->collect.opts.first_timeout_ms;
	if (c->listen.active && !c->listen.speech && c->listen.opts.no_input_ms)
		c->listen.no_input_deadline_ms =
			c->now_ms + c->listen.opts.no_input_ms;
}

/* Streaming (channel_listen.stream_audio): the utterance's samples not yet
 * handed over, as one CHANNEL_EV_SPEECH_AUDIO, once at least min are
 * waiting. Out of memory, they wait for the next batch: no gap. */
static void listen_audio(struct call *c, size_t min)
{
	struct listen_state *li = &c->listen;
	if (!li->stream_audio || !li->ep)
		return;
	size_t n = 0;
	const int16_t *pcm = endpoint_audio(li->ep, &n);
	if (!pcm || n <= li->audio_sent || n - li->audio_sent < min)
		return;
	size_t k = n - li->audio_sent;
	struct audio_clip *clip = audio_clip_alloc(k, AUDIO_RATE_HZ);
	if (!clip) {
		LOGW(c->id, "listen_no_memory", "samples=%zu", k);
		return;
	}
	memcpy(clip->samples, pcm + li->audio_sent, k * sizeof(int16_t));
	struct channel_event ev = { .type = CHANNEL_EV_SPEECH_AUDIO };
	ev.audio.audio = clip;
	ev.audio.offset = li->audio_sent;
	li->audio_sent = n;
	queue_event(c, &ev);
}

/* An endpointer no longer needed: kept for the next listen. */
static void keep_spare(struct listen_state *li, struct endpointer *ep)
{
	if (!ep)
		return;
	if (!li->ep)
		li->ep = ep;
	else if (!li->spare)
		li->spare = ep;
	else
		endpoint_destroy(ep); /* not reached: two at most */
}

static void drop_watch(struct listen_state *li)
{
	struct endpointer *ep = li->wep;
	li->wep = NULL;
	li->watch = WATCH_OFF;
	li->wend = EP_NONE;
	keep_spare(li, ep);
}

static void finish_listen(struct call *c, enum channel_listen_end end,
			  bool with_audio)
{
	struct listen_state *li = &c->listen;
	if (!li->active)
		return;
	/* The last batch goes before the end (channel.h). */
	if (with_audio)
		listen_audio(c, 1);
	li->active = false;
	li->utt = audio_clip_deref(li->utt);
	struct channel_event ev = { .type = CHANNEL_EV_LISTEN_DONE };
	ev.listen.end = end;
	ev.listen.speech_end_us = clock_mono_us();
	ev.listen.barged = li->barged;
	if (with_audio && li->paused)
		ev.listen.pause_seq = li->pause_seq;
	li->paused = false;
	if (with_audio && li->ep) {
		size_t n = 0;
		const int16_t *pcm = endpoint_audio(li->ep, &n);
		uint32_t st = endpoint_speech_start_ms(li->ep);
		uint32_t en = endpoint_speech_end_ms(li->ep);
		ev.listen.speech_ms = en > st ? en - st : 0;
		if (n) {
			li->utt = audio_clip_alloc(n, AUDIO_RATE_HZ);
			if (li->utt)
				memcpy(li->utt->samples, pcm,
				       n * sizeof(int16_t));
			else
				LOGW(c->id, "listen_no_memory", "samples=%zu",
				     n);
		}
		ev.listen.audio = li->utt;
	}
	if (c->play.paused)
		c->play.paused = false;
	queue_event(c, &ev);
	/* This utterance is the last one now: it replaces what was watched
	 * (or resumed), and is watched in turn. */
	if (end == LISTEN_SPEECH || end == LISTEN_MAX_SPEECH)
		drop_watch(li);
	if (end == LISTEN_SPEECH && li->opts.continue_ms && li->ep &&
	    !endpoint_continue(li->ep, li->opts.continue_ms)) {
		li->wep = li->ep;
		li->ep = NULL;
		li->watch = WATCH_ON;
		li->wend = EP_NONE;
		/* The onset may come up to the window's end, and is confirmed
		 * min_speech later (frames are late by a tick or two). */
		struct endpoint_cfg d;
		endpoint_cfg_default(&d);
		unsigned min_ms = li->opts.min_speech_ms
					  ? li->opts.min_speech_ms
					  : d.min_speech_ms;
		li->watch_deadline_ms =
			c->now_ms + li->opts.continue_ms + min_ms + 100;
	}
}

static void finish_collect(struct call *c, enum channel_collect_end end)
{
	struct collect_state *co = &c->collect;
	if (!co->active)
		return;
	struct channel_event ev = { .type = CHANNEL_EV_COLLECT_DONE };
	ev.collect.end = end;
	memcpy(ev.collect.digits, co->digits, co->ndigits);
	ev.collect.digits[co->ndigits] = '\0';
	co->active = false;
	queue_event(c, &ev);
}

/* Feed one digit to the active collect; true when it completed. */
static bool collect_digit(struct call *c, char d)
{
	struct collect_state *co = &c->collect;
	if (co->terminators[0] && strchr(co->terminators, d)) {
		finish_collect(c, COLLECT_TERMINATOR);
		return true;
	}
	if (co->ndigits < DIGITS_CAP)
		co->digits[co->ndigits++] = d;
	co->digits[co->ndigits] = '\0';
	if (co->ndigits >= co->opts.max_digits) {
		finish_collect(c, COLLECT_MAX_DIGITS);
		return true;
	}
	if (co->opts.interdigit_timeout_ms)
		co->interdigit_deadline_ms =
			c->now_ms + co->opts.interdigit_timeout_ms;
	return false;
}

/* ---- turn record ---- */

static void observe_stage(const char *stage, uint64_t t, uint64_t base)
{
	if (!t || !base || t < base)
		return;
	char labels[32];
	snprintf(labels, sizeof(labels), "stage=\"%s\"", stage);
	metric_histogram_observe(
		metrics_histogram("voxgate_turn_stage_seconds", labels,
				  "Time from the end of the caller's speech "
				  "to each stage of the reply",
				  NULL, 0),
		(double)(t - base) / 1e6);
}

/* Append the pending turn to the record and the metrics. */
static void flush_turn(struct call *c)
{
	if (!c->turn.active)
		return;
	c->turn.active = false;
	const struct turnrec *t = &c->turn.r;
	struct strbuf *sb = &c->turns;
	size_t mark = sb->len;
	uint64_t b = t->speech_end_us;
	int err = sb->len > 1 ? strbuf_addstr(sb, ",") : 0;
	if (!err)
		err = turnrec_json(sb, t);
	if (err && sb->buf) {
		sb->len = mark;
		sb->buf[mark] = '\0';
		LOGW(c->id, "turn_record_full", "seq=%u", t->seq);
	}
	if (!strcmp(t->input, "speech")) {
		observe_stage("stt", t->stt_final_us, b);
		observe_stage("nlu", t->nlu_done_us, b);
		observe_stage("response", t->response_us, b);
		observe_stage("tts_ready", t->tts_ready_us, b);
		observe_stage("first_rtp", t->first_rtp_us, b);
	}
	LOGI(c->id, "turn",
	     "seq=%u node=%s input=%s intent=%s match=%s stt_ms=%.1f "
	     "first_rtp_ms=%.1f",
	     t->seq, t->node, t->input, t->has_intent ? t->intent : "-",
	     t->match[0] ? t->match : "none",
	     t->stt_final_us > b ? (double)(t->stt_final_us - b) / 1000.0 : 0,
	     t->first_rtp_us > b ? (double)(t->first_rtp_us - b) / 1000.0 : 0);
}

static void ch_note_turn(struct channel *ch, const struct channel_turn *in)
{
	struct call *c = call_from_channel(ch);
	if (!c || !in)
		return;
	flush_turn(c);
	turnrec_from_channel(&c->turn.r, ++c->nturns, in);
	c->turn.active = true;
	/* A prompt already playing (e.g. a re-prompt started first) is the
	 * reply: it completes the turn with its next frame. */
}

/* ---- channel methods ---- */

static int ch_play(struct channel *ch, const struct channel_prompt *p)
{
	struct call *c = call_from_channel(ch);
	if (!c || !p || (!p->clip && !p->stream))
		return -EINVAL;
	if (call_over(c))
		return -ENOTCONN;
	if (p->clip ? p->clip->rate_hz != AUDIO_RATE_HZ
		    : audio_stream_rate(p->stream) != AUDIO_RATE_HZ)
		return -EINVAL;
	if (c->play.active)
		return -EBUSY;
	struct play_state *pl = &c->play;
	memset(pl, 0, sizeof(*pl));
	pl->active = true;
	pl->id = ++c->nplays ? c->nplays : ++c->nplays;
	if (p->clip)
		pl->clip = audio_clip_ref(p->clip);
	else
		pl->stream = audio_stream_ref(p->stream);
	pl->barge = p->dtmf_barge_in;
	pl->speech_barge = p->speech_barge_in;
	snprintf(pl->name, sizeof(pl->name), "%s", p->name ? p->name : "");
	snprintf(pl->text, sizeof(pl->text), "%s", p->text ? p->text : "");
	pl->called_us = clock_mono_us();
	pl->requested_us = p->requested_us ? p->requested_us : pl->called_us;
	/* A barge-in prompt started after keys were typed ahead for a
	 * running collect still plays: the collect decides. */
	return 0;
}

static int ch_collect(struct channel *ch, const struct channel_collect *o)
{
	struct call *c = call_from_channel(ch);
	if (!c || !o || o->max_digits == 0 || o->max_digits > DIGITS_CAP)
		return -EINVAL;
	if (call_over(c))
		return -ENOTCONN;
	if (c->collect.active)
		return -EBUSY;
	struct collect_state *co = &c->collect;
	memset(co, 0, sizeof(*co));
	co->active = true;
	co->opts = *o;
	snprintf(co->terminators, sizeof(co->terminators), "%s",
		 o->terminators ? o->terminators : "");
	co->opts.terminators = co->terminators;
	if (o->overall_timeout_ms)
		co->overall_deadline_ms = c->now_ms + o->overall_timeout_ms;
	if (!c->play.active && o->first_timeout_ms)
		co->first_deadline_ms = c->now_ms + o->first_timeout_ms;

	c->in_method++;
	if (o->flush) {
		c->ntypeahead = 0;
	} else {
		size_t i = 0;
		bool done = false;
		while (i < c->ntypeahead && !done)
			done = collect_digit(c, c->typeahead[i++]);
		memmove(c->typeahead, c->typeahead + i, c->ntypeahead - i);
		c->ntypeahead -= i;
		if (co->ndigits && c->play.active && c->play.barge)
			finish_play(c, true);
	}
	c->in_method--;
	return 0;
}

static int ch_stop(struct channel *ch)
{
	struct call *c = call_from_channel(ch);
	if (!c)
		return -EINVAL;
	c->in_method++;
	finish_play(c, true);
	finish_collect(c, COLLECT_STOPPED);
	finish_listen(c, LISTEN_STOPPED, false);
	c->in_method--;
	return 0;
}

static int ch_listen(struct channel *ch, const struct channel_listen *o)
{
	struct call *c = call_from_channel(ch);
	if (!c || !o || o->max_speech_ms > 30000)
		return -EINVAL;
	if (call_over(c))
		return -ENOTCONN;
	if (o->continue_ms > CONTINUE_MS_MAX)
		return -EINVAL;
	struct listen_state *li = &c->listen;
	if (li->active)
		return -EBUSY;
	if (o->resume && li->watch != WATCH_RESUMED)
		return -ENOENT;
	if (!li->vad) {
		int err = vad_create(&li->vad, NULL);
		if (err)
			return err;
	}
	struct endpoint_cfg ec;
	endpoint_cfg_default(&ec);
	if (o->trailing_silence_ms)
		ec.trailing_silence_ms = o->trailing_silence_ms;
	if (o->max_speech_ms)
		ec.max_speech_ms = o->max_speech_ms;
	if (o->min_speech_ms)
		ec.min_speech_ms = o->min_speech_ms;
	/* The call keeps the no-input timer: it starts when the prompt ends,
	 * not when listening starts. */
	ec.no_input_ms = 0;
	int err;
	if (o->resume) {
		/* The resumed utterance goes on under this listen's rules. */
		err = endpoint_retune(li->wep, &ec);
		if (err)
			return err;
		struct endpointer *ep = li->ep;
		li->ep = li->wep;
		li->wep = NULL;
		keep_spare(li, ep);
	} else {
		if (!li->ep && li->spare) {
			li->ep = li->spare;
			li->spare = NULL;
		}
		err = li->ep ? endpoint_start(li->ep, &ec)
			     : endpoint_create(&li->ep, &ec);
		if (err)
			return err;
	}
	li->utt = audio_clip_deref(li->utt);
	li->pause_clip = audio_clip_deref(li->pause_clip);
	li->paused = false;
	li->stream_audio = o->stream_audio;
	li->audio_sent = 0;
	li->early_ms = o->early_ms < ec.trailing_silence_ms ? o->early_ms : 0;
	li->active = true;
	li->opts = *o;
	li->opts.hints = NULL;
	li->speech = false;
	li->barged = false;
	li->quiet_frames = 0;
	li->no_input_deadline_ms = 0;
	if (o->resume) {
		enum endpoint_event end = li->wend;
		li->watch = WATCH_OFF;
		li->wend = EP_NONE;
		li->speech = true;
		c->collect.first_deadline_ms = 0; /* as at a speech start */
		if (end == EP_NONE) {
			listen_audio(c, 1); /* the joined audio so far */
			return 0;
		}
		/* It ended before this listen came: done at once (deferred,
		 * as every event), with no new watch (the frames since were
		 * not kept). */
		li->opts.continue_ms = 0;
		finish_listen(c,
			      end == EP_MAX_SPEECH ? LISTEN_MAX_SPEECH
						   : LISTEN_SPEECH,
			      true);
		return 0;
	}
	if (!c->play.active && o->no_input_ms)
		li->no_input_deadline_ms = c->now_ms + o->no_input_ms;
	return 0;
}

static void set_state(struct call *c, struct call_fsm_result r)
{
	enum call_state old = c->state;
	c->state = r.state;
	if (r.end_reason && !c->end_reason)
		c->end_reason = r.end_reason;
	if (r.state == CALL_ENDED && !c->ended_wall_ms)
		c->ended_wall_ms = clock_wall_ms();
	if (old != r.state) {
		LOGD(c->id, "call_state", "from=%s to=%s", call_state_name(old),
		     call_state_name(r.state));
		if (r.state == CALL_ENDING || r.state == CALL_ENDED) {
			flush_turn(c);
			/* Outstanding requests are dropped, not completed
			 * (channel.h): the prompt is recorded as interrupted
			 * and only the hangup event follows. */
			if (c->play.active) {
				record_prompt(c, true, clock_mono_us());
				play_release(&c->play);
			}
			c->collect.active = false;
			c->listen.active = false;
			drop_watch(&c->listen);
			clear_events(c);
			record_end(c);
		}
		if (c->obs.state_changed)
			c->obs.state_changed(c, old, c->obs.arg);
	}
}

static void apply(struct call *c, enum call_fsm_event ev, const char *reason)
{
	struct call_fsm_result r = call_fsm_next(c->state, ev, reason);
	if (r.invalid) {
		LOGD(c->id, "call_event_ignored", "state=%s event=%s",
		     call_state_name(c->state), call_fsm_event_name(ev));
		return;
	}
	/* Set the new state before acting, so a synchronous close from the
	 * adapter lands in the right state. */
	set_state(c, r);
	int err = 0;
	switch (r.action) {
	case CALL_ACT_SEND_ANSWER:
		err = c->ops->answer(c->adapter);
		break;
	case CALL_ACT_SEND_BYE:
	case CALL_ACT_REJECT:
		err = c->ops->hangup(c->adapter, r.action, c->end_reason);
		break;
	default:
		break;
	}
	if (err) {
		LOGW(c->id, "call_action_failed", "event=%s err=%d",
		     call_fsm_event_name(ev), err);
		if (c->state != CALL_ENDED)
			set_state(c, (struct call_fsm_result){ CALL_ENDED,
							       CALL_ACT_NONE,
							       "error", 0 });
	}
}

static int ch_transfer_ctx(struct channel *ch, const char *target,
			   const struct channel_kv *ctx, unsigned nctx)
{
	struct call *c = call_from_channel(ch);
	if (!c || !target || !*target)
		return -EINVAL;
	if (c->state != CALL_ACTIVE)
		return -ENOTCONN;
	if (c->transfer_pending)
		return -EBUSY;
	if (!c->ops->transfer)
		return -ENOTSUP;
	if (nctx > CHANNEL_TRANSFER_CTX_MAX || (nctx && !ctx))
		return -EINVAL;
	int err = c->ops->transfer(c->adapter, target, ctx, nctx);
	if (!err)
		c->transfer_pending = true;
	return err;
}

static int ch_transfer(struct channel *ch, const char *target)
{
	return ch_transfer_ctx(ch, target, NULL, 0);
}

static int ch_record(struct channel *ch, enum channel_record_op op)
{
	struct call *c = call_from_channel(ch);
	if (!c)
		return -EINVAL;
	if (!c->recw)
		return -ENOTSUP;
	/* The flow starts at the answer, before the ACK (CALL_ANSWERING):
	 * the media clock already runs. */
	if (c->state != CALL_ACTIVE && c->state != CALL_ANSWERING)
		return -ENOTCONN;
	switch (op) {
	case CHANNEL_REC_START: {
		if (c->rec)
			return 0;
		if (c->rec_stopped)
			return -EALREADY;
		int err = rec_start(&c->rec, c->recw, c->id, c->id);
		if (err)
			return err;
		LOGI(c->id, "recording_start", "dir=%s",
		     log_esc(rec_writer_dir(c->recw)));
		return 0;
	}
	case CHANNEL_REC_PAUSE:
	case CHANNEL_REC_RESUME:
		if (!c->rec)
			return -EINVAL;
		if (op == CHANNEL_REC_PAUSE)
			rec_pause(c->rec);
		else
			rec_resume(c->rec);
		LOGI(c->id,
		     op == CHANNEL_REC_PAUSE ? "recording_pause"
					     : "recording_resume",
		     "at_ms=%llu",
		     (unsigned long long)(rec_samples(c->rec) / 8));
		return 0;
	case CHANNEL_REC_STOP:
		if (!c->rec)
			return c->rec_stopped ? 0 : -EINVAL;
		record_end(c);
		return 0;
	}
	return -EINVAL;
}

static int ch_hangup(struct channel *ch, const char *reason)
{
	struct call *c = call_from_channel(ch);
	if (!c)
		return -EINVAL;
	if (call_over(c))
		return -EALREADY;
	c->in_method++;
	apply(c, CALL_EV_LOCAL_HANGUP, reason ? reason : "hangup");
	c->in_method--;
	return 0;
}

static void ch_note_node(struct channel *ch, const char *node)
{
	struct call *c = call_from_channel(ch);
	if (!c || !node)
		return;
	struct strbuf *sb = &c->path;
	size_t mark = sb->len;
	int err = sb->len > 1 ? strbuf_addstr(sb, ",") : 0;
	if (!err)
		err = strbuf_add_json_str(sb, node);
	if (err && sb->buf) {
		sb->len = mark;
		sb->buf[mark] = '\0';
	}
}

static int ch_send_dtmf(struct channel *ch, const char *digits)
{
	struct call *c = call_from_channel(ch);
	if (!c || !digits)
		return -EINVAL;
	if (call_over(c))
		return -ENOTCONN;
	size_t n = strlen(digits);
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789*#ABCDabcd", digits[i]))
			return -EINVAL;
	if (n > DIGITS_CAP - c->ndtmf_out)
		return -E2BIG;
	memcpy(c->dtmf_out + c->ndtmf_out, digits, n);
	c->ndtmf_out += n;
	return 0;
}

static const struct channel_ops call_channel_ops = {
	.kind = "media",
	.caps = CHANNEL_CAP_AUDIO | CHANNEL_CAP_DTMF | CHANNEL_CAP_TRANSFER |
		CHANNEL_CAP_SPEECH | CHANNEL_CAP_STREAM,
	.play = ch_play,
	.collect = ch_collect,
	.listen = ch_listen,
	.stop = ch_stop,
	.transfer = ch_transfer,
	.hangup = ch_hangup,
	.note_node = ch_note_node,
	.note_turn = ch_note_turn,
	.send_dtmf = ch_send_dtmf,
	.transfer_ctx = ch_transfer_ctx,
	.record = ch_record,
};

/* ---- adapter side ---- */

void call_signal(struct call *c, enum call_fsm_event ev, uint64_t now_ms)
{
	if (now_ms)
		c->now_ms = now_ms;
	if (ev == CALL_EV_ACK)
		c->last_rx_ms = c->now_ms;
	apply(c, ev, NULL);
	deliver_pending(c);
}

int call_answer(struct call *c, uint64_t now_ms)
{
	if (c->state != CALL_RINGING)
		return -EALREADY;
	c->now_ms = now_ms;
	c->last_rx_ms = now_ms;
	/* Set before the transition: observers record the answer from it. */
	c->answered_wall_ms = clock_wall_ms();
	apply(c, CALL_EV_ANSWER, NULL);
	if (c->state == CALL_ANSWERING || c->state == CALL_ACTIVE)
		return 0;
	c->answered_wall_ms = 0;
	return -EIO;
}

/* The next 20 ms of the prompt into out; true when it holds prompt audio.
 * A stream that has no full frame ready yet (synthesis running behind)
 * gives silence without moving on. */
static bool play_frame(struct call *c, int16_t out[160])
{
	struct play_state *pl = &c->play;
	size_t n;
	bool end;
	if (pl->clip) {
		size_t left = pl->clip->nsamples - pl->pos;
		n = left < 160 ? left : 160;
		memcpy(out, pl->clip->samples + pl->pos, n * sizeof(int16_t));
		end = pl->pos + n >= pl->clip->nsamples;
	} else {
		int serr = 0;
		bool done = audio_stream_done(pl->stream, &serr);
		size_t avail = audio_stream_len(pl->stream) - pl->pos;
		if (!done && avail < 160) {
			pl->underruns++;
			memset(out, 0, 160 * sizeof(int16_t));
			return false;
		}
		n = audio_stream_read(pl->stream, pl->pos, out, 160);
		end = done && pl->pos + n >= audio_stream_len(pl->stream);
		if (end && serr)
			LOGW(c->id, "prompt_stream_failed", "err=%d played=%zu",
			     serr, pl->pos + n);
	}
	if (n < 160)
		memset(out + n, 0, (160 - n) * sizeof(int16_t));
	if (n && !pl->first_frame_us) {
		pl->first_frame_us = clock_mono_us();
		if (c->turn.active) {
			uint64_t ready =
				pl->stream ? audio_stream_first_us(pl->stream)
					   : pl->called_us;
			c->turn.r.tts_ready_us = ready ? ready : pl->called_us;
			c->turn.r.first_rtp_us = pl->first_frame_us;
			flush_turn(c);
		}
	}
	pl->pos += n;
	if (end && c->play_ack)
		pl->ack_due = true;
	else if (end)
		finish_play(c, false);
	return n > 0;
}

bool call_tick(struct call *c, uint64_t now_ms, int16_t out[160])
{
	c->now_ms = now_ms;
	deliver_pending(c);

	if (c->state == CALL_ACTIVE && c->media_timeout_ms &&
	    now_ms - c->last_rx_ms >= c->media_timeout_ms) {
		LOGI(c->id, "media_timeout", "silent_ms=%llu",
		     (unsigned long long)(now_ms - c->last_rx_ms));
		call_signal(c, CALL_EV_MEDIA_TIMEOUT, now_ms);
		memset(out, 0, 160 * sizeof(int16_t));
		return false;
	}

	struct collect_state *co = &c->collect;
	if (co->active) {
		if (co->overall_deadline_ms &&
		    now_ms >= co->overall_deadline_ms)
			finish_collect(c, COLLECT_OVERALL);
		else if (co->ndigits && co->interdigit_deadline_ms &&
			 now_ms >= co->interdigit_deadline_ms)
			finish_collect(c, COLLECT_INTERDIGIT);
		else if (!co->ndigits && co->first_deadline_ms &&
			 now_ms >= co->first_deadline_ms)
			finish_collect(c, COLLECT_NO_INPUT);
	}

	struct listen_state *li = &c->listen;
	if (li->active && !li->speech && li->no_input_deadline_ms &&
	    now_ms >= li->no_input_deadline_ms)
		finish_listen(c, LISTEN_NO_INPUT, false);
	if (li->watch == WATCH_ON && now_ms >= li->watch_deadline_ms)
		drop_watch(li);

	bool audio = false;
	struct play_state *pl = &c->play;
	if (pl->active && !pl->paused && !pl->ack_due)
		audio = play_frame(c, out);
	else
		memset(out, 0, 160 * sizeof(int16_t));
	if (c->rec)
		rec_tick(c->rec, out);
	deliver_pending(c);
	return audio;
}

/* Early decode: a pause of early_ms within speech hands the audio so far
 * to the runtime (CHANNEL_EV_SPEECH_PAUSE); a speech frame after it voids
 * it. LISTEN_DONE then says whether the last pause still holds all the
 * speech, i.e. whether its decode answers the turn. */
static void listen_pause(struct call *c)
{
	struct listen_state *li = &c->listen;
	if (!li->early_ms || !endpoint_in_speech(li->ep))
		return;
	uint32_t quiet = endpoint_silence_ms(li->ep);
	if (quiet == 0) {
		li->paused = false;
		return;
	}
	if (li->paused || quiet < li->early_ms)
		return;
	struct audio_clip *clip = endpoint_pause_clip(li->ep);
	if (!clip) {
		LOGW(c->id, "listen_no_memory", "pause_ms=%u", quiet);
		return;
	}
	audio_clip_deref(li->pause_clip);
	li->pause_clip = clip;
	li->paused = true;
	struct channel_event ev = { .type = CHANNEL_EV_SPEECH_PAUSE };
	ev.pause.audio = clip;
	ev.pause.seq = ++li->pause_seq;
	uint32_t st = endpoint_speech_start_ms(li->ep);
	uint32_t en = endpoint_elapsed_ms(li->ep) - quiet;
	ev.pause.speech_ms = en > st ? en - st : 0;
	queue_event(c, &ev);
}

/* Speech barge-in: the prompt is held at the first frame that may be speech
 * (so playback stops within a frame or two of the caller's onset), stopped
 * for good when the endpointer confirms speech, and resumed where it was if
 * the sound turns out to be a click or a cough. */
static void listen_frame(struct call *c, const int16_t *pcm, float prob)
{
	struct listen_state *li = &c->listen;
	enum endpoint_event ev = endpoint_feed(li->ep, pcm, prob);
	struct play_state *pl = &c->play;
	bool may_barge = pl->active && pl->speech_barge && !li->speech;
	if (may_barge) {
		if (prob >= 0.5f) {
			if (!pl->paused)
				LOGD(c->id, "barge_hold", "prob=%.2f at_ms=%zu",
				     (double)prob, pl->pos / 8);
			pl->paused = true;
			li->quiet_frames = 0;
		} else if (pl->paused && !endpoint_in_speech(li->ep) &&
			   ++li->quiet_frames >= 3) {
			pl->paused = false;
		}
	}
	switch (ev) {
	case EP_SPEECH_START: {
		li->speech = true;
		li->no_input_deadline_ms = 0;
		/* Speech answers a hybrid step: no DTMF no-input now. */
		c->collect.first_deadline_ms = 0;
		bool barged = pl->active && pl->speech_barge;
		if (barged) {
			li->barged = true;
			finish_play(c, true);
		}
		struct channel_event sev = { .type = CHANNEL_EV_SPEECH_START };
		sev.speech.barged = barged;
		queue_event(c, &sev);
		LOGI(c->id, "speech_start", "barge_in=%s",
		     barged ? "true" : "false");
		listen_audio(c, 1); /* the pre-roll and the onset, at once */
		break;
	}
	case EP_SPEECH_END:
		finish_listen(c, LISTEN_SPEECH, true);
		break;
	case EP_MAX_SPEECH:
		finish_listen(c, LISTEN_MAX_SPEECH, true);
		break;
	case EP_NO_INPUT:
		finish_listen(c, LISTEN_NO_INPUT, false);
		break;
	default:
		listen_pause(c);
		if (li->speech)
			listen_audio(c, (size_t)CHANNEL_AUDIO_BATCH_MS *
						AUDIO_RATE_HZ / 1000);
		break;
	}
}

/* The continuation watch hears the caller whatever else runs (a reply
 * playing, the next step's listen): it only raises SPEECH_RESUMED, never
 * stops playback (the runtime decides). After that the resumed utterance
 * goes on by the endpointer's rules until a resume listen takes it. */
static void watch_frame(struct call *c, const int16_t *pcm, float prob)
{
	struct listen_state *li = &c->listen;
	if (li->watch == WATCH_OFF || li->wend != EP_NONE)
		return;
	enum endpoint_event ev = endpoint_feed(li->wep, pcm, prob);
	if (li->watch == WATCH_RESUMED) {
		if (ev == EP_SPEECH_END || ev == EP_MAX_SPEECH)
			li->wend = ev;
		return;
	}
	if (ev == EP_SPEECH_START) {
		li->watch = WATCH_RESUMED;
		struct channel_event rev = {
			.type = CHANNEL_EV_SPEECH_RESUMED
		};
		rev.resumed.gap_ms = endpoint_gap_ms(li->wep);
		queue_event(c, &rev);
		LOGI(c->id, "speech_resumed", "gap_ms=%u",
		     (unsigned)rev.resumed.gap_ms);
	} else if (!endpoint_continuing(li->wep)) {
		drop_watch(li);
	}
}

bool call_wants_audio(const struct call *c)
{
	return c->state == CALL_ACTIVE;
}

void call_audio_in(struct call *c, const int16_t *pcm, size_t n,
		   uint64_t now_ms)
{
	c->last_rx_ms = now_ms;
	if (!pcm || n != AUDIO_FRAME_SAMPLES || c->state != CALL_ACTIVE)
		return;
	if (c->rec)
		rec_audio_in(c->rec, pcm);
	struct listen_state *li = &c->listen;
	/* The VAD follows the line between listens too, so a listen starts
	 * with a noise floor and history that are current. */
	if (!li->vad)
		return;
	float prob = vad_process(li->vad, pcm);
	if (!li->active && li->watch == WATCH_OFF)
		return;
	c->now_ms = now_ms;
	/* The watch first: SPEECH_RESUMED comes before a listen's
	 * SPEECH_START on the same frame. */
	watch_frame(c, pcm, prob);
	if (li->active)
		listen_frame(c, pcm, prob);
	deliver_pending(c);
}

void call_dtmf_in(struct call *c, char digit, uint64_t now_ms)
{
	c->now_ms = now_ms;
	c->last_rx_ms = now_ms;
	if (call_over(c))
		return;
	if (c->ndtmf < DTMF_LOG_CAP) {
		c->dtmf_log[c->ndtmf++] = digit;
		c->dtmf_log[c->ndtmf] = '\0';
	}
	LOGI(c->id, "dtmf", "digit=%c", digit);
	struct channel_event ev = { .type = CHANNEL_EV_DTMF };
	ev.dtmf.digit = digit;
	queue_event(c, &ev);
	if (c->play.active && c->play.barge)
		finish_play(c, true);
	if (c->listen.active) {
		if (c->listen.opts.dtmf_ends)
			finish_listen(c, LISTEN_DTMF, false);
		else
			c->listen.no_input_deadline_ms = 0;
	}
	if (c->collect.active) {
		collect_digit(c, digit);
	} else if (c->ntypeahead < DIGITS_CAP) {
		c->typeahead[c->ntypeahead++] = digit;
	}
	deliver_pending(c);
}

void call_transfer_result(struct call *c, int err, int status)
{
	if (!c->transfer_pending)
		return;
	c->transfer_pending = false;
	struct channel_event ev = { .type = CHANNEL_EV_TRANSFER_DONE };
	ev.err = err;
	ev.transfer.status = status;
	queue_event(c, &ev);
	deliver_pending(c);
	if (!err && status >= 200 && status < 300 && c->state == CALL_ACTIVE)
		call_signal(c, CALL_EV_TRANSFERRED, 0);
}

enum call_state call_state(const struct call *c)
{
	return c->state;
}
const char *call_id(const struct call *c)
{
	return c->id;
}
const char *call_platform_id(const struct call *c)
{
	return c->platform_id;
}
const char *call_platform(const struct call *c)
{
	return c->platform;
}
const char *call_from(const struct call *c)
{
	return c->from;
}
const char *call_to(const struct call *c)
{
	return c->to;
}
const char *call_end_reason(const struct call *c)
{
	return c->end_reason;
}
const char *call_dtmf(const struct call *c)
{
	return c->dtmf_log;
}
int64_t call_started_wall_ms(const struct call *c)
{
	return c->started_wall_ms;
}
int64_t call_answered_wall_ms(const struct call *c)
{
	return c->answered_wall_ms;
}
int64_t call_ended_wall_ms(const struct call *c)
{
	return c->ended_wall_ms;
}

/* Both JSON texts are kept open ("[a,b") and closed on read. */
static const char *closed_json(struct strbuf *sb, char *scratch, size_t cap)
{
	snprintf(scratch, cap, "%s]", strbuf_str(sb));
	return scratch;
}

const char *call_flow_path_json(const struct call *c)
{
	static _Thread_local char buf[PATH_MAX_BYTES + 2];
	return closed_json((struct strbuf *)&c->path, buf, sizeof(buf));
}

const char *call_prompts_json(const struct call *c)
{
	static _Thread_local char buf[PROMPTS_MAX_BYTES + 2];
	return closed_json((struct strbuf *)&c->prompts, buf, sizeof(buf));
}

const char *call_turns_json(const struct call *c)
{
	static _Thread_local char buf[TURNS_MAX_BYTES + 2];
	return closed_json((struct strbuf *)&c->turns, buf, sizeof(buf));
}

void call_set_flow_name(struct call *c, const char *name)
{
	char *n = strdup(name ? name : "");
	if (!n)
		return;
	free(c->flow_name);
	c->flow_name = n;
}

const char *call_flow_name(const struct call *c)
{
	return c->flow_name;
}

void call_set_user(struct call *c, void *user)
{
	c->user = user;
}

void call_set_recorder(struct call *c, struct rec_writer *w)
{
	c->recw = w;
}

void *call_user(const struct call *c)
{
	return c->user;
}

void call_set_media_info(struct call *c, const char *codec,
			 const char *remote_addr)
{
	snprintf(c->codec, sizeof(c->codec), "%s", codec ? codec : "");
	snprintf(c->remote, sizeof(c->remote), "%s",
		 remote_addr ? remote_addr : "");
}

void call_set_rtp_counts(struct call *c, uint64_t tx, uint64_t rx)
{
	c->rtp_tx = tx;
	c->rtp_rx = rx;
}

const char *call_codec(const struct call *c)
{
	return c->codec;
}

const char *call_remote_addr(const struct call *c)
{
	return c->remote;
}

uint64_t call_rtp_sent(const struct call *c)
{
	return c->rtp_tx;
}

uint64_t call_rtp_received(const struct call *c)
{
	return c->rtp_rx;
}

char call_dtmf_out_next(struct call *c)
{
	if (!c->ndtmf_out || call_over(c))
		return 0;
	char d = c->dtmf_out[0];
	memmove(c->dtmf_out, c->dtmf_out + 1, --c->ndtmf_out);
	return d;
}

void call_set_play_ack(struct call *c, bool on)
{
	c->play_ack = on;
}

uint32_t call_play_id(const struct call *c)
{
	return c->play.active ? c->play.id : 0;
}

bool call_play_ack_due(const struct call *c)
{
	return c->play.active && c->play.ack_due;
}

void call_play_ack(struct call *c, uint64_t now_ms)
{
	if (!c->play.active || !c->play.ack_due)
		return;
	c->now_ms = now_ms;
	finish_play(c, false);
	deliver_pending(c);
}
