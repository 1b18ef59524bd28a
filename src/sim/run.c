/* The simulated callers of `voxgate simulate`, whatever the transport:
 * phases and turns, the caller's audio paced from one absolute 20 ms clock
 * for every call on one loop, noise, barge-in, what the caller hears timed
 * with the energy detector (sim/detect.h), load control and progress. The
 * wire (SIP/RTP, AudioSocket, WebSocket streams) is a backend behind
 * sim/transport.h, chosen by the scenario's transport:. */
#include "sim/sim_int.h"
#include "sim/transport.h"

#include "audio/clip.h"
#include "audio/rtpout.h"
#include "core/clock.h"
#include "sim/detect.h"

#include <cJSON.h>
#include <re.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define TICK_US SIM_TR_TICK_US
#define DTMF_GAP_TICKS 3u
#define BYE_WAIT_US 3000000u /* after a transfer: the server's BYE */
/* A frame of the caller's clip at or above this level starts its speech
 * (flite and most WAVs start with a quiet attack under the -40 dBFS of
 * the bot's voice detector, and a server's VAD reacts to it). */
#define ONSET_DB (-60.0)
/* A barge-in waits at most this long past barge_in_ms for the bot to be
 * voiced, so the caller does not start in a pause between words. */
#define BARGE_WAIT_MAX_US 1000000u

_Static_assert(SIM_TR_FRAME == AUDIO_FRAME_SAMPLES, "20 ms at 8 kHz");

enum phase {
	PH_DIALING, /* start() called, not answered yet */
	PH_WAIT,    /* waiting for the bot's prompt to end (or barge-in) */
	PH_SPEAK,   /* sending the turn's audio */
	PH_DTMF,    /* sending the turn's keys */
	PH_SILENCE, /* a silence turn */
	PH_REPLY,   /* waiting for the first reply audio */
	PH_END,	    /* turns done: wait for the server, then hang up */
	PH_CLOSED,
};

struct sim_loop;

struct sim_call {
	struct le le;
	struct sim_loop *lp;
	struct sim_call_result *res;
	struct sim_tr_call *tc; /* the backend's call, NULL once freed */
	enum phase ph;
	size_t turn;
	uint64_t t_invite, t_start, t_phase;
	/* what the caller hears */
	struct sim_detect det;
	bool heard;	     /* voice heard since the turn was armed */
	uint64_t prompt_on;  /* first voice since armed */
	uint64_t last_voice; /* arrival of the last voiced frame */
	/* what the caller says */
	const struct audio_clip *clip;
	size_t pos, eos;
	uint64_t speak_on, eos_us;
	uint64_t onset_us; /* the first clip frame with sound was sent */
	uint64_t early_on; /* bot voice that started while the caller spoke */
	size_t dtmf_i;	   /* next key of the turn */
	bool key_on;	   /* a key is being sent */
	bool key_first;	   /* its first tick comes next */
	unsigned dtmf_gap; /* gap ticks left after a key */
	uint64_t noise;
	uint64_t refer_at;
	bool closing;
};

struct sim_loop {
	const struct sim_opts *o;
	const struct sim_scenario *sc;
	const struct sim_audio *audio;
	struct sim_call_result *res;
	const struct sim_transport_ops *tr;
	void *trstate; /* the backend's per-run state */
	struct list calls;
	struct tmr tmr;
	struct pacer pacer;
	uint64_t t0;
	unsigned started, active, done, failed;
	uint64_t last_progress;
	bool tty;
	int err;
};

static uint64_t now_us(void)
{
	return clock_mono_us();
}

/* Time from t to now; 0 while t is still ahead (an end of speech is set
 * at the end of the frame being sent, a packet may arrive after the tick
 * took its time). */
static uint64_t since(uint64_t now, uint64_t t)
{
	return now > t ? now - t : 0;
}

void sim_call_record(struct sim_call *c, struct cJSON *rec)
{
	if (!c || c->res->cdr) {
		cJSON_Delete(rec);
		return;
	}
	c->res->cdr = rec;
}

struct sim_call_result *sim_call_res(struct sim_call *c)
{
	return c->res;
}

void sim_call_fail(struct sim_call *c, const char *fmt, ...)
{
	if (c->res->failed)
		return;
	c->res->failed = true;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->res->reason, sizeof(c->res->reason), fmt, ap);
	va_end(ap);
}

static void call_destructor(void *arg)
{
	struct sim_call *c = arg;
	list_unlink(&c->le);
	if (c->tc)
		c->lp->tr->free(c->tc);
	c->tc = NULL;
}

/* End the call (the transport's goodbye when hangup is set and the call
 * is still up); freed on the next tick, never inside a backend callback. */
static void call_close(struct sim_call *c, bool hangup)
{
	if (c->ph == PH_CLOSED)
		return;
	if (hangup && c->tc) {
		if (c->ph != PH_DIALING)
			c->res->caller_bye = true;
		if (c->lp->tr->hangup)
			c->lp->tr->hangup(c->tc);
	}
	if (c->ph == PH_DIALING && !c->res->failed)
		sim_call_fail(c, "hung up before the answer");
	c->ph = PH_CLOSED;
	c->closing = true;
	c->res->duration_ms = (double)(now_us() - c->t_invite) / 1000.0;
}

static void arm_turn(struct sim_call *c, size_t turn, uint64_t now,
		     uint64_t prompt_on)
{
	c->turn = turn;
	c->t_phase = now;
	c->heard = prompt_on != 0;
	c->prompt_on = prompt_on;
	if (turn >= c->lp->sc->nturns) {
		c->ph = PH_END;
		return;
	}
	c->ph = PH_WAIT;
	c->res->turns[turn].variant = -1;
	c->res->turns[turn].barge_stop_ms = -1;
	c->res->turns[turn].barge_gap_ms = -1;
	if (c->res->nturns < turn + 1)
		c->res->nturns = turn + 1;
}

static bool reply_expected(const struct sim_call *c)
{
	const struct sim_turn *t = &c->lp->sc->turns[c->turn];
	if (t->expect.reply >= 0)
		return t->expect.reply == 1;
	return t->kind != SIM_TURN_SILENCE;
}

static void start_reply_wait(struct sim_call *c, uint64_t now)
{
	if (c->ph == PH_SPEAK && c->res->turns[c->turn].overlap) {
		arm_turn(c, c->turn + 1, now, c->early_on);
		return;
	}
	c->eos_us = now;
	c->t_phase = now;
	c->ph = PH_REPLY;
	c->clip = NULL;
}

static void start_turn(struct sim_call *c, uint64_t now)
{
	const struct sim_scenario *sc = c->lp->sc;
	const struct sim_turn *t = &sc->turns[c->turn];
	struct sim_turn_result *tr = &c->res->turns[c->turn];
	tr->ran = true;
	tr->active = c->lp->active;
	tr->barged = c->det.voiced;
	c->speak_on = now;
	c->onset_us = 0;
	c->early_on = 0;
	c->t_phase = now;
	switch (t->kind) {
	case SIM_TURN_SAY:
	case SIM_TURN_WAV: {
		size_t v = 0;
		if (t->kind == SIM_TURN_SAY) {
			const char *txt =
				sim_scenario_text(sc, c->turn, c->res->idx);
			for (v = 0; v < t->ntexts && t->texts[v] != txt; v++)
				;
			if (v >= t->ntexts)
				v = 0;
		}
		tr->variant = (int)v;
		c->clip = c->lp->audio->clips[c->turn][v];
		c->eos = c->lp->audio->eos_samples[c->turn][v];
		c->pos = 0;
		c->ph = PH_SPEAK;
		break;
	}
	case SIM_TURN_DTMF:
		c->dtmf_i = 0;
		c->dtmf_gap = 0;
		c->key_on = false;
		c->eos_us = 0;
		c->ph = PH_DTMF;
		break;
	case SIM_TURN_SILENCE:
		c->ph = PH_SILENCE;
		break;
	}
}

/* Heard voice starts (arrival time t). */
static void on_voice(struct sim_call *c, uint64_t t)
{
	if (!c->heard) {
		c->heard = true;
		c->prompt_on = t;
	}
	if (c->ph == PH_SPEAK && t >= c->speak_on && !c->early_on) {
		/* Bot voice that starts while the caller speaks over a
		 * quiet line: the server ended the caller's speech early
		 * and replied. Heard while still talking: latency 0. */
		struct sim_turn_result *tr = &c->res->turns[c->turn];
		c->early_on = t;
		if (!tr->barged) {
			tr->overlap = true;
			tr->replied = true;
			tr->latency_ms = 0;
		}
	}
	if (c->ph == PH_DTMF && c->eos_us && t >= c->eos_us &&
	    !c->res->turns[c->turn].replied) {
		/* the server acts on the last key's first packet: keep
		 * sending the key to its end, then go on */
		struct sim_turn_result *tr = &c->res->turns[c->turn];
		tr->replied = true;
		tr->latency_ms = (double)(t - c->eos_us) / 1000.0;
		c->early_on = t;
	}
	if (c->ph == PH_REPLY && t >= c->eos_us) {
		struct sim_turn_result *tr = &c->res->turns[c->turn];
		tr->replied = true;
		tr->latency_ms = (double)(t - c->eos_us) / 1000.0;
		arm_turn(c, c->turn + 1, t, t);
	}
}

/* Heard voice stopped: the last voiced frame arrived at last. */
static void on_quiet(struct sim_call *c, uint64_t last)
{
	if (c->ph == PH_CLOSED || c->ph == PH_DIALING || c->ph == PH_WAIT ||
	    c->ph == PH_END)
		return;
	struct sim_turn_result *tr = &c->res->turns[c->turn];
	/* The bot's last voiced frame played until last + one frame; a
	 * prompt that had ended before the caller's onset (a barge-in into
	 * a pause: barge_gap_ms > 0) did not stop for the caller. */
	if (tr->ran && tr->barged && tr->barge_stop_ms < 0 && c->onset_us &&
	    last + TICK_US >= c->onset_us)
		tr->barge_stop_ms =
			(double)(last + TICK_US - c->onset_us) / 1000.0;
}

/* ---------- events from the transport (sim/transport.h) ---------- */

void sim_call_heard(struct sim_call *c, const int16_t *pcm, size_t n)
{
	if (c->ph == PH_CLOSED)
		return;
	uint64_t t = now_us();
	uint64_t loud_before = c->det.last_voice;
	enum sim_edge e = sim_detect_feed(&c->det, pcm, n);
	if (c->det.last_voice != loud_before)
		c->last_voice = t; /* this frame was voiced */
	if (e == SIM_EDGE_ON)
		on_voice(c, t);
	else if (e == SIM_EDGE_OFF)
		on_quiet(c, c->last_voice);
}

void sim_call_answered(struct sim_call *c)
{
	if (c->ph != PH_DIALING)
		return;
	uint64_t t = now_us();
	c->res->answered = true;
	c->res->setup_ms = (double)(t - c->t_invite) / 1000.0;
	arm_turn(c, 0, t, 0);
}

void sim_call_transfer(struct sim_call *c, const char *target)
{
	if (c->ph == PH_CLOSED || c->ph == PH_DIALING)
		return;
	snprintf(c->res->refer_to, sizeof(c->res->refer_to), "%s",
		 target ? target : "");
	c->refer_at = now_us();
	c->ph = PH_END;
	c->t_phase = c->refer_at;
}

void sim_call_ended(struct sim_call *c, bool by_server, const char *reason)
{
	if (c->ph == PH_CLOSED)
		return;
	if (reason)
		sim_call_fail(c, "%s", reason);
	if (by_server) {
		c->res->server_bye = true;
		if (c->ph == PH_DIALING)
			sim_call_fail(c, "reset before the answer");
		else if (c->ph != PH_END)
			sim_call_fail(c, "the server hung up during turn %zu",
				      c->turn + 1);
	}
	call_close(c, false);
}

/* ---------- starting calls ---------- */

static int call_start(struct sim_loop *lp, struct sim_call_result *res)
{
	struct sim_call *c = mem_zalloc(sizeof(*c), call_destructor);
	if (!c)
		return ENOMEM;
	c->lp = lp;
	c->res = res;
	c->ph = PH_DIALING;
	c->noise = 0x9e3779b97f4a7c15ull ^ (res->idx + 1);
	sim_detect_init(&c->det, 0, 0);
	list_append(&lp->calls, &c->le, c);
	c->t_invite = now_us();
	int err = lp->tr->start(&c->tc, lp->trstate, c, lp->sc, res->idx);
	if (err) {
		c->tc = NULL;
		sim_call_fail(c, "cannot start the call: %s", strerror(-err));
		call_close(c, false);
	}
	return 0;
}

/* ---------- the 20 ms tick ---------- */

static int16_t noise_sample(struct sim_call *c, double amp)
{
	/* xorshift64, sum of two uniforms: cheap, deterministic. */
	double s = 0;
	for (int i = 0; i < 2; i++) {
		c->noise ^= c->noise << 13;
		c->noise ^= c->noise >> 7;
		c->noise ^= c->noise << 17;
		s += (double)(c->noise >> 11) / 9007199254740992.0 - 0.5;
	}
	/* variance of the sum is 1/6: scale to RMS amp */
	return (int16_t)lrint(s * amp * 2.449489742783178);
}

/* The caller's speech (or first key) starts now. For a barge-in, note
 * where it landed: how long the bot had been quiet (0: its last voiced
 * frame was still playing). */
static void mark_onset(struct sim_call *c, uint64_t now)
{
	struct sim_turn_result *tr = &c->res->turns[c->turn];
	c->onset_us = now;
	if (tr->barged)
		tr->barge_gap_ms =
			(double)since(now, c->last_voice + TICK_US) / 1000.0;
}

/* One tick of a dtmf: turn: keys of DTMF_KEY_MS, DTMF_GAP_TICKS apart. */
static void send_dtmf(struct sim_call *c, uint64_t now)
{
	const struct sim_turn *t = &c->lp->sc->turns[c->turn];
	const struct sim_transport_ops *tr = c->lp->tr;
	if (!c->key_on) {
		if (c->dtmf_gap) {
			c->dtmf_gap--;
			(void)tr->dtmf(c->tc, '\0', false);
			return;
		}
		if (!t->dtmf[c->dtmf_i]) {
			if (c->res->turns[c->turn].replied) {
				arm_turn(c, c->turn + 1, now, c->early_on);
				return;
			}
			uint64_t eos = c->eos_us;
			start_reply_wait(c, now);
			c->eos_us = eos;
			return;
		}
		c->key_on = true;
		c->key_first = true;
		if (!c->onset_us)
			mark_onset(c, now);
		c->dtmf_i++;
		/* DTMF-to-prompt latency counts from the last key's start */
		if (!t->dtmf[c->dtmf_i])
			c->eos_us = now;
	}
	int r = tr->dtmf(c->tc, t->dtmf[c->dtmf_i - 1], c->key_first);
	c->key_first = false;
	if (r < 0) {
		sim_call_fail(c, "turn %zu: cannot send keys over %s: %s",
			      c->turn + 1, tr->name, strerror(-r));
		call_close(c, true);
		return;
	}
	if (r == 1) {
		c->key_on = false;
		c->dtmf_gap = DTMF_GAP_TICKS;
	}
}

static void call_tick(struct sim_call *c, uint64_t now)
{
	const struct sim_scenario *sc = c->lp->sc;
	if (c->ph == PH_CLOSED || c->ph == PH_DIALING)
		return;
	if (since(now, c->t_invite) > (uint64_t)sc->max_duration_ms * 1000) {
		sim_call_fail(c, "still up after max_duration (%u ms)",
			      sc->max_duration_ms);
		call_close(c, true);
		return;
	}
	int16_t pcm[AUDIO_FRAME_SAMPLES];
	memset(pcm, 0, sizeof(pcm));
	bool voiced = false;
	const struct sim_turn *t =
		c->turn < sc->nturns ? &sc->turns[c->turn] : NULL;
	if (!t)
		c->ph = PH_END; /* arm_turn() guarantees this already */
	switch (c->ph) {
	case PH_WAIT: {
		bool go;
		if (t->barge_in_ms >= 0) {
			/* land in the bot's speech: its last frame voiced */
			uint64_t at =
				c->prompt_on + (uint64_t)t->barge_in_ms * 1000;
			bool voiced_now = c->det.voiced && !c->det.quiet_run;
			go = c->heard && now >= at &&
			     (voiced_now ||
			      since(now, at) >= BARGE_WAIT_MAX_US);
		} else
			go = c->heard && !c->det.voiced &&
			     now >= c->last_voice +
					     (uint64_t)sc->quiet_ms * 1000;
		/* a bot that says nothing: go on after reply_timeout */
		if (!c->heard && since(now, c->t_phase) >=
					 (uint64_t)sc->reply_timeout_ms * 1000)
			go = true;
		if (go)
			start_turn(c, now);
		break;
	}
	case PH_REPLY:
		if (since(now, c->eos_us) >=
		    (uint64_t)sc->reply_timeout_ms * 1000) {
			if (reply_expected(c))
				sim_call_fail(
					c, "turn %zu: no reply within %u ms",
					c->turn + 1, sc->reply_timeout_ms);
			arm_turn(c, c->turn + 1, now, 0);
		}
		break;
	case PH_SILENCE:
		if (since(now, c->t_phase) >= (uint64_t)t->silence_ms * 1000) {
			if (reply_expected(c))
				start_reply_wait(c, now);
			else
				arm_turn(c, c->turn + 1, now, 0);
		}
		break;
	case PH_END: {
		uint64_t quiet_since =
			c->last_voice > c->t_phase ? c->last_voice : c->t_phase;
		if (c->refer_at && since(now, c->refer_at) >= BYE_WAIT_US) {
			call_close(c, true);
			return;
		}
		if (!c->refer_at && !c->det.voiced &&
		    since(now, quiet_since) >=
			    (uint64_t)sc->end_silence_ms * 1000) {
			call_close(c, true);
			return;
		}
		break;
	}
	default:
		break;
	}
	if (c->ph == PH_CLOSED)
		return;
	if (c->ph == PH_DTMF) {
		send_dtmf(c, now);
		return;
	}
	if (c->ph == PH_SPEAK) {
		size_t n = c->clip->nsamples;
		for (size_t i = 0; i < AUDIO_FRAME_SAMPLES && c->pos + i < n;
		     i++)
			pcm[i] = c->clip->samples[c->pos + i];
		voiced = true;
		if (!c->onset_us &&
		    sim_level_dbfs(pcm, AUDIO_FRAME_SAMPLES) >= ONSET_DB) {
			mark_onset(c, now);
		}
		c->pos += AUDIO_FRAME_SAMPLES;
		if (c->pos >= c->eos || c->pos >= n) {
			/* the end of this frame is the end of speech */
			start_reply_wait(c, now + TICK_US);
		}
	}
	if (sc->noise) {
		double amp = 32768.0 * pow(10.0, sc->noise_db / 20.0);
		for (size_t i = 0; i < AUDIO_FRAME_SAMPLES; i++) {
			int v = pcm[i] + noise_sample(c, amp);
			pcm[i] = (int16_t)(v > 32767
						   ? 32767
						   : (v < -32768 ? -32768 : v));
		}
	}
	c->lp->tr->send_audio(c->tc, pcm, voiced);
}

static double p95_so_far(struct sim_loop *lp, size_t upto)
{
	static double v[4096];
	size_t n = 0;
	for (size_t i = 0; i < upto && n < 4096; i++)
		for (size_t j = 0; j < lp->res[i].nturns && n < 4096; j++)
			if (lp->res[i].turns[j].replied)
				v[n++] = lp->res[i].turns[j].latency_ms;
	return sim_percentile(v, n, 95);
}

static void progress(struct sim_loop *lp, uint64_t now, bool last)
{
	if (lp->o->quiet || (!lp->tty && !lp->o->progress))
		return;
	if (!last && now - lp->last_progress < 1000000)
		return;
	lp->last_progress = now;
	fprintf(stderr,
		"%s%6.1fs calls active=%u done=%u failed=%u p95=%.0fms%s",
		lp->tty ? "\r" : "", (double)(now - lp->t0) / 1e6, lp->active,
		lp->done, lp->failed, p95_so_far(lp, lp->started),
		lp->tty && !last ? "   " : "\n");
	fflush(stderr);
}

static void tick_handler(void *arg);

static void schedule(struct sim_loop *lp)
{
	uint64_t next = pacer_next_deadline_us(&lp->pacer), now = now_us();
	uint64_t wait = next > now ? (next - now + 999) / 1000 : 0;
	tmr_start(&lp->tmr, wait, tick_handler, lp);
}

static void tick_handler(void *arg)
{
	struct sim_loop *lp = arg;
	uint64_t now = now_us();
	unsigned due = pacer_due(&lp->pacer, now);
	if (!due) {
		schedule(lp);
		return;
	}
	/* start calls: bounded by count, concurrency, rate and duration */
	const struct sim_opts *o = lp->o;
	double el = (double)(now - lp->t0) / 1e6;
	bool window = !o->duration_ms || el * 1000 < o->duration_ms;
	while (window && lp->started < o->calls &&
	       lp->active < o->concurrency &&
	       (o->rate <= 0 || lp->started < (unsigned)(o->rate * el) + 1)) {
		struct sim_call_result *r = &lp->res[lp->started];
		r->idx = lp->started++;
		lp->active++;
		if (call_start(lp, r)) {
			lp->err = ENOMEM;
			re_cancel();
			return;
		}
	}
	for (unsigned d = 0; d < due; d++) {
		struct le *le = lp->calls.head;
		while (le) {
			struct sim_call *c = le->data;
			le = le->next;
			if (!c->closing)
				call_tick(c, now);
		}
	}
	/* free the calls that ended (never inside their own callbacks) */
	struct le *le = lp->calls.head;
	while (le) {
		struct sim_call *c = le->data;
		le = le->next;
		if (c->closing) {
			lp->active--;
			lp->done++;
			if (c->res->failed)
				lp->failed++;
			mem_deref(c);
		}
	}
	progress(lp, now, false);
	bool over = o->duration_ms &&
		    el * 1000 >= o->duration_ms + lp->sc->max_duration_ms;
	if ((lp->started >= o->calls || !window) && !lp->active) {
		re_cancel();
		return;
	}
	if (over) {
		for (le = lp->calls.head; le; le = le->next) {
			struct sim_call *c = le->data;
			sim_call_fail(c, "cut at the end of --duration");
			call_close(c, true);
		}
	}
	schedule(lp);
}

static void signal_handler(int sig)
{
	(void)sig;
	re_cancel();
}

int sim_run(const struct sim_opts *o, const struct sim_scenario *sc,
	    const struct sim_audio *audio, struct sim_call_result *res,
	    size_t *nres)
{
	struct sim_loop lp;
	memset(&lp, 0, sizeof(lp));
	lp.o = o;
	lp.sc = sc;
	lp.audio = audio;
	lp.res = res;
	lp.tty = isatty(STDERR_FILENO);
	list_init(&lp.calls);
	tmr_init(&lp.tmr);
	int err = libre_init();
	if (err)
		return -err;
	(void)fd_setsize(65536);
	/* a socket or two per call: lift the soft limit on descriptors */
	struct rlimit rl;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max &&
	    rl.rlim_cur < (rlim_t)o->concurrency + 256) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	lp.tr = sc->transport ? sc->transport : &sim_tr_sip;
	err = lp.tr->open ? -lp.tr->open(&lp.trstate, o, sc) : 0;
	if (!err) {
		lp.t0 = now_us();
		pacer_init(&lp.pacer, lp.t0, TICK_US);
		tmr_start(&lp.tmr, 0, tick_handler, &lp);
		err = re_main(signal_handler);
		if (!err)
			err = lp.err;
	}
	/* interrupted (signal): end what is left */
	struct le *le = lp.calls.head;
	while (le) {
		struct sim_call *c = le->data;
		le = le->next;
		if (!c->closing)
			sim_call_fail(c, "interrupted");
		call_close(c, true);
		mem_deref(c);
	}
	progress(&lp, now_us(), true);
	tmr_cancel(&lp.tmr);
	if (lp.tr->close)
		lp.tr->close(lp.trstate); /* may run the loop, bounded */
	lp.trstate = NULL;
	*nres = lp.started;
	libre_close();
	return -err;
}
