/* The media call (see call.h): state machine glue, prompt playback, DTMF
 * collection with timeouts, and the per-call record. Channel events are
 * queued and delivered outside channel methods, as channel.h promises. */
#include "call/call.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "audio/clip.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/strbuf.h"

enum {
	EVQ_CAP = 16,
	DIGITS_CAP = 32,
	DTMF_LOG_CAP = 64,
	TEXT_CAP = 160,
	PATH_MAX_BYTES = 16384,
	PROMPTS_MAX_BYTES = 65536,
};

struct play_state {
	bool active;
	struct audio_clip *clip;
	size_t pos;
	bool barge;
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
	bool transfer_pending;
	void *user;
	char codec[8];
	char remote[64];
	uint64_t rtp_tx, rtp_rx;
};

static const struct channel_ops call_channel_ops;

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
	c->ops = ops;
	c->adapter = adapter;
	c->state = CALL_RINGING;
	c->media_timeout_ms = p->media_timeout_ms;
	c->now_ms = p->now_ms;
	c->last_rx_ms = p->now_ms;
	c->started_wall_ms = clock_wall_ms();
	strbuf_init(&c->path, PATH_MAX_BYTES);
	strbuf_init(&c->prompts, PROMPTS_MAX_BYTES);
	strbuf_addstr(&c->path, "[");
	strbuf_addstr(&c->prompts, "[");

	c->ch.ops = &call_channel_ops;
	c->ch.id = c->id;
	c->ch.from = c->from;
	c->ch.to = c->to;
	*cp = c;
	return 0;
}

void call_destroy(struct call *c)
{
	if (!c)
		return;
	c->play.clip = audio_clip_deref(c->play.clip);
	strbuf_fini(&c->path);
	strbuf_fini(&c->prompts);
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

static void queue_event(struct call *c, const struct channel_event *ev)
{
	if (c->hangup_raised)
		return;
	if (c->evq_len == EVQ_CAP) {
		/* Only informational DTMF events can pile up this far. */
		LOGW(c->id, "call_event_overflow", "type=%d", ev->type);
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
	}
	if (call_over(c) && !c->hangup_raised) {
		c->hangup_raised = true;
		c->evq_len = 0;
		struct channel_event ev = { .type = CHANNEL_EV_HANGUP };
		ev.hangup.reason = c->end_reason ? c->end_reason : "hangup";
		if (c->ch.evh)
			c->ch.evh(&c->ch, &ev, c->ch.evarg);
	}
	c->delivering = false;
}

/* ---- prompt record ---- */

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
		 (long long)first_ms, played_ms,
		 pl->clip
			 ? (unsigned)(pl->clip->nsamples * 1000 / AUDIO_RATE_HZ)
			 : 0,
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
	pl->active = false;
	pl->clip = audio_clip_deref(pl->clip);
	queue_event(c, &ev);
	/* The caller's time to answer starts when the prompt stops. */
	if (c->collect.active && c->collect.ndigits == 0 &&
	    c->collect.opts.first_timeout_ms)
		c->collect.first_deadline_ms =
			c->now_ms + c->collect.opts.first_timeout_ms;
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

/* ---- channel methods ---- */

static int ch_play(struct channel *ch, const struct channel_prompt *p)
{
	struct call *c = call_from_channel(ch);
	if (!c || !p || !p->clip)
		return -EINVAL;
	if (call_over(c))
		return -ENOTCONN;
	if (p->clip->rate_hz != AUDIO_RATE_HZ)
		return -EINVAL;
	if (c->play.active)
		return -EBUSY;
	struct play_state *pl = &c->play;
	memset(pl, 0, sizeof(*pl));
	pl->active = true;
	pl->clip = audio_clip_ref(p->clip);
	pl->barge = p->dtmf_barge_in;
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
	c->in_method--;
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
			/* Outstanding requests are dropped, not completed
			 * (channel.h): the prompt is recorded as interrupted
			 * and only the hangup event follows. */
			if (c->play.active) {
				record_prompt(c, true, clock_mono_us());
				c->play.active = false;
				c->play.clip = audio_clip_deref(c->play.clip);
			}
			c->collect.active = false;
			c->evq_len = 0;
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

static int ch_transfer(struct channel *ch, const char *target)
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
	int err = c->ops->transfer(c->adapter, target);
	if (!err)
		c->transfer_pending = true;
	return err;
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
	.caps = CHANNEL_CAP_AUDIO | CHANNEL_CAP_DTMF | CHANNEL_CAP_TRANSFER,
	.play = ch_play,
	.collect = ch_collect,
	.stop = ch_stop,
	.transfer = ch_transfer,
	.hangup = ch_hangup,
	.note_node = ch_note_node,
	.send_dtmf = ch_send_dtmf,
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

	bool audio = false;
	struct play_state *pl = &c->play;
	if (pl->active && pl->clip) {
		size_t left = pl->clip->nsamples - pl->pos;
		size_t n = left < 160 ? left : 160;
		memcpy(out, pl->clip->samples + pl->pos, n * sizeof(int16_t));
		if (n < 160)
			memset(out + n, 0, (160 - n) * sizeof(int16_t));
		if (!pl->first_frame_us)
			pl->first_frame_us = clock_mono_us();
		pl->pos += n;
		audio = n > 0;
		if (pl->pos >= pl->clip->nsamples)
			finish_play(c, false);
	} else {
		memset(out, 0, 160 * sizeof(int16_t));
	}
	deliver_pending(c);
	return audio;
}

void call_audio_in(struct call *c, const int16_t *pcm, size_t n,
		   uint64_t now_ms)
{
	c->last_rx_ms = now_ms;
	(void)pcm;
	(void)n;
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
