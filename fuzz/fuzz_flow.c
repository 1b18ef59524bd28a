/* libFuzzer target: flow_load_buf over arbitrary bytes; a flow that loads is
 * then run on a strict fake channel driven by a script hidden in a YAML
 * comment ("# events: <actions>"), so the runtime's state machine is fuzzed
 * too. The fake aborts on any breach of the channel contract (a second play
 * or collect while one is out, a request after the hangup). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "call/channel.h"
#include "core/log.h"
#include "flow/flow.h"

#define EVQ 16
#define MAX_ACTIONS 256

struct strict {
	struct channel ch;
	bool playing, collecting, transferring, over;
	unsigned max_digits;
	char digits[33];
	unsigned nd;
	struct channel_event q[EVQ];
	unsigned qh, qn;
};

static void push(struct strict *c, const struct channel_event *ev)
{
	if (c->qn == EVQ)
		abort(); /* the runtime flooded the channel with requests */
	c->q[(c->qh + c->qn++) % EVQ] = *ev;
}

static void end_play(struct strict *c, bool interrupted)
{
	if (!c->playing)
		return;
	c->playing = false;
	struct channel_event ev = { .type = CHANNEL_EV_PLAY_DONE };
	ev.play.interrupted = interrupted;
	push(c, &ev);
}

static void end_collect(struct strict *c, enum channel_collect_end end)
{
	if (!c->collecting)
		return;
	c->collecting = false;
	struct channel_event ev = { .type = CHANNEL_EV_COLLECT_DONE };
	ev.collect.end = end;
	memcpy(ev.collect.digits, c->digits, c->nd);
	ev.collect.digits[c->nd] = '\0';
	push(c, &ev);
}

static int s_play(struct channel *ch, const struct channel_prompt *p)
{
	struct strict *c = (struct strict *)ch;
	if (c->over || c->playing || !p->text || !p->name)
		abort();
	c->playing = true;
	return 0;
}

static int s_collect(struct channel *ch, const struct channel_collect *o)
{
	struct strict *c = (struct strict *)ch;
	if (c->over || c->collecting || !o->max_digits || o->max_digits > 32)
		abort();
	c->collecting = true;
	c->max_digits = o->max_digits;
	c->nd = 0;
	return 0;
}

static int s_stop(struct channel *ch)
{
	struct strict *c = (struct strict *)ch;
	end_play(c, true);
	end_collect(c, COLLECT_STOPPED);
	return 0;
}

static int s_transfer(struct channel *ch, const char *target)
{
	struct strict *c = (struct strict *)ch;
	if (c->over || c->transferring || !target || !*target)
		abort();
	c->transferring = true;
	return 0;
}

static int s_hangup(struct channel *ch, const char *reason)
{
	struct strict *c = (struct strict *)ch;
	if (c->over || !reason)
		abort();
	c->over = true;
	end_play(c, true);
	end_collect(c, COLLECT_STOPPED);
	struct channel_event ev = { .type = CHANNEL_EV_HANGUP };
	ev.hangup.reason = reason;
	push(c, &ev);
	return 0;
}

static const struct channel_ops strict_ops = {
	.kind = "fuzz",
	.caps = CHANNEL_CAP_TEXT | CHANNEL_CAP_DTMF | CHANNEL_CAP_TRANSFER,
	.play = s_play,
	.collect = s_collect,
	.stop = s_stop,
	.transfer = s_transfer,
	.hangup = s_hangup,
};

static void deliver(struct strict *c)
{
	while (c->qn) {
		struct channel_event ev = c->q[c->qh];
		c->qh = (c->qh + 1) % EVQ;
		c->qn--;
		if (c->ch.evh)
			c->ch.evh(&c->ch, &ev, c->ch.evarg);
	}
}

/* One caller action: a DTMF key, p(lay ends), t(imeout), x (transfer
 * ok), f(ail transfer), h(ang up). */
static void act(struct strict *c, char a)
{
	struct channel_event ev = { 0 };
	if (c->over)
		return;
	if (strchr("0123456789*#ABCD", a)) {
		end_play(c, true);
		if (c->collecting) {
			c->digits[c->nd++] = a;
			if (a == '#' || c->nd >= c->max_digits)
				end_collect(c, COLLECT_MAX_DIGITS);
		}
	} else if (a == 'p') {
		end_play(c, false);
	} else if (a == 't' && !c->playing) {
		end_collect(c, c->nd ? COLLECT_INTERDIGIT : COLLECT_NO_INPUT);
	} else if ((a == 'x' || a == 'f') && c->transferring) {
		c->transferring = false;
		ev.type = CHANNEL_EV_TRANSFER_DONE;
		ev.transfer.status = a == 'x' ? 202 : 486;
		push(c, &ev);
	} else if (a == 'h') {
		c->over = true;
		c->playing = c->collecting = c->transferring = false;
		c->qn = 0;
		ev.type = CHANNEL_EV_HANGUP;
		ev.hangup.reason = "caller_hangup";
		push(c, &ev);
	}
	deliver(c);
}

static void count_prompt(const char *voice, const char *text, void *arg)
{
	(void)voice;
	if (!text || !*text)
		abort();
	(*(size_t *)arg)++;
}

static void run_session(struct flow *f, const char *script, size_t len)
{
	struct strict c = { .ch = { .ops = &strict_ops, .id = "fuzz" } };
	struct flow_env env = { .agent_uri = "sip:agent@fuzz.invalid" };
	struct flow_session *s = NULL;
	if (flow_session_create(&s, f, &c.ch, &env))
		return;
	flow_session_start(s);
	deliver(&c);
	for (size_t i = 0; i < len && i < MAX_ACTIONS; i++)
		act(&c, script[i]);
	/* Late events after the session is gone must go nowhere. */
	flow_session_destroy(s);
	if (c.ch.evh)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	if (!quiet) {
		/* Failed prompts and transfers warn; keep the run fast. */
		log_setup(LOG_LVL_ERROR, LOG_FMT_KV, 2);
		quiet = true;
	}
	struct flow_errors errs = { 0 };
	struct flow *f = NULL;
	if (flow_load_buf("fuzz.yaml", (const char *)data, size, &f, &errs))
		return 0;
	size_t n = 0;
	flow_prompts_foreach(f, "kal", count_prompt, &n);

	const char *tag = "# events: ";
	const char *script = NULL;
	size_t len = 0;
	char *copy = malloc(size + 1);
	if (copy) {
		memcpy(copy, data, size);
		copy[size] = '\0';
		char *p = strstr(copy, tag);
		if (p) {
			script = p + strlen(tag);
			len = strcspn(script, "\n");
		}
	}
	if (script)
		run_session(f, script, len);
	free(copy);
	flow_deref(f);
	return 0;
}
