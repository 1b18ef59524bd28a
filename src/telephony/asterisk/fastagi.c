/* The Asterisk FastAGI server: one struct channel per AGI connection, its
 * requests translated into AGI commands sent one at a time. See fastagi.h
 * and docs/ASTERISK.md. */
#include "telephony/asterisk/fastagi.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <re.h>

#include "audio/clip.h"
#include "audio/resample.h"
#include "audio/wav.h"
#include "call/channel.h"
#include "call/turnrec.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/strbuf.h"
#include "core/wpool.h"
#include "telephony/asterisk/agi.h"

#define RX_MAX 16384 /* unparsed input; a reply beyond this is an error */
#define CMDQ_MAX 32  /* queued control commands */
#define EVQ_MAX 16
#define ALL_DIGITS "0123456789*#"
#define TURNS_MAX 200			   /* turn records kept (CDR turns) */
#define TURNS_JSON_MAX ((size_t)256 << 10) /* the CDR takes up to 256 KiB */

enum cmd_kind {
	CMD_ANSWER,
	CMD_SETVAR,
	CMD_EXEC,
	CMD_GETVAR,
	CMD_HANGUP,
	CMD_PLAY,
	CMD_WAIT,
	CMD_RECORD,
};

struct cmd {
	enum cmd_kind kind;
	unsigned gen; /* of the request it serves (play/collect/listen) */
	char line[AGI_LINE_MAX];
};

enum play_state { P_IDLE, P_WRITING, P_READY, P_RUNNING };
enum listen_state { L_IDLE, L_READY, L_RUNNING, L_READING };
enum xfer_state { T_IDLE, T_EXEC, T_STATUS };

struct fastagi {
	struct fastagi_cfg cfg;
	struct fastagi_handlers h;
	void *arg;
	struct tcp_sock *ts;
	struct list sessions;
	unsigned nsessions;
	bool draining;
};

struct sess {
	struct channel ch; /* first: channel pointers are sessions */
	struct le le;
	struct fastagi *fa; /* NULL once detached (server destroyed) */
	struct tcp_conn *tc;
	char rx[RX_MAX];
	size_t rxlen;
	struct agi_env env;
	char id[40], from[128], to[64], flow[64];
	struct tmr env_tmr, kick_tmr;
	bool env_done, answered, started, gone;
	bool hangup_raised; /* CHANNEL_EV_HANGUP queued: no more events */
	bool caller_gone;   /* HANGUP line, 511, -1 from a command */
	bool draining;	    /* send what is queued, then close */
	bool sock_closed;
	bool result_set;
	const char *end_reason;

	struct cmd q[CMDQ_MAX];
	unsigned qhead, qlen;
	struct cmd cur;
	bool busy;

	struct channel_event evq[EVQ_MAX];
	unsigned evn;

	enum play_state pst;
	unsigned pgen;
	bool pbarge;
	char ppath[300];

	bool cactive;
	unsigned cgen;
	struct channel_collect c;
	char cterm[16];
	char cdig[33];
	unsigned cn;
	uint64_t cdeadline_ms; /* 0: none */
	char typeahead[33];
	unsigned tan;

	enum listen_state lst;
	unsigned lgen, lseq;
	struct channel_listen l;
	bool ldigit; /* the recording ended on a key */
	char lpath[300];

	enum xfer_state tst;
	bool tqueue; /* Queue(): else Dial() */

	char dtmf[64];
	char path_json[2048];
	size_t path_len;
	/* Turn records (CDR turns; call/turnrec.h), rendered into turns_json
	 * after every change: turns_done holds the finished records (JSON
	 * objects separated by commas), turn_open the last one until its
	 * tts_ready is known (the next STREAM FILE sent: the reply handed to
	 * Asterisk). */
	struct strbuf turns_done;
	struct turnrec turn_open;
	bool has_open;
	unsigned nturns;
	char *turns_json; /* NULL: no turn yet */
	int64_t started_ms, answered_ms, ended_ms;
	void *user;
};

static const struct channel_ops fastagi_ops;

static struct sess *sess_of(struct channel *ch)
{
	return (struct sess *)ch;
}

static void kick(struct sess *s);

/* ---------- events ---------- */

static void raise_ev(struct sess *s, const struct channel_event *ev)
{
	if (s->hangup_raised)
		return;
	if (s->evn == EVQ_MAX) {
		LOGW(s->id, "agi_event_dropped", "type=%d", ev->type);
		return;
	}
	s->evq[s->evn++] = *ev;
	if (ev->type == CHANNEL_EV_HANGUP)
		s->hangup_raised = true;
	kick(s);
}

static void raise_hangup(struct sess *s, const char *reason)
{
	if (s->hangup_raised)
		return;
	if (!s->end_reason)
		s->end_reason = reason;
	s->ended_ms = clock_wall_ms();
	s->cactive = false;
	s->pst = P_IDLE;
	s->lst = L_IDLE;
	s->tst = T_IDLE;
	s->pgen++;
	s->cgen++;
	s->lgen++;
	struct channel_event ev = { .type = CHANNEL_EV_HANGUP };
	ev.hangup.reason = s->end_reason;
	raise_ev(s, &ev);
}

static void note_digit(struct sess *s, char d)
{
	size_t n = strlen(s->dtmf);
	if (n + 1 < sizeof(s->dtmf)) {
		s->dtmf[n] = d;
		s->dtmf[n + 1] = '\0';
	}
	struct channel_event ev = { .type = CHANNEL_EV_DTMF };
	ev.dtmf.digit = d;
	raise_ev(s, &ev);
}

/* ---------- commands ---------- */

static int queue_cmd(struct sess *s, enum cmd_kind k, const char *fmt, ...)
{
	if (s->qlen == CMDQ_MAX || s->sock_closed) {
		LOGW(s->id, "agi_cmd_dropped", "kind=%d", k);
		return -EAGAIN;
	}
	struct cmd *c = &s->q[(s->qhead + s->qlen) % CMDQ_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(c->line, sizeof(c->line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(c->line))
		return -ENOSPC;
	c->kind = k;
	c->gen = 0;
	s->qlen++;
	kick(s);
	return 0;
}

static int set_var(struct sess *s, const char *name, const char *value)
{
	char q[600];
	if (agi_quote(q, sizeof(q), value) < 0)
		return -ENOSPC;
	return queue_cmd(s, CMD_SETVAR, "SET VARIABLE %s %s", name, q);
}

static void set_result(struct sess *s, const char *result)
{
	if (s->result_set)
		return;
	s->result_set = true;
	(void)set_var(s, "VOXGATE_RESULT", result);
}

static void send_cmd(struct sess *s, const struct cmd *c)
{
	struct mbuf *mb = mbuf_alloc(strlen(c->line) + 1);
	if (!mb)
		return;
	(void)mbuf_printf(mb, "%s\n", c->line);
	mb->pos = 0;
	s->cur = *c;
	s->busy = true;
	LOGD(s->id, "agi_send", "cmd=%s", log_esc(c->line));
	int err = tcp_send(s->tc, mb);
	mem_deref(mb);
	if (err) {
		s->busy = false;
		s->sock_closed = true;
		raise_hangup(s, "socket_error");
	}
}

static bool collect_check(struct sess *s);

/* ---------- turn records ---------- */

static void turns_render(struct sess *s)
{
	struct strbuf sb;
	strbuf_init(&sb, TURNS_JSON_MAX);
	int err = strbuf_addstr(&sb, "[");
	if (!err)
		err = strbuf_add(&sb,
				 s->turns_done.buf ? s->turns_done.buf : "",
				 s->turns_done.len);
	if (!err && s->has_open && s->turns_done.len)
		err = strbuf_addstr(&sb, ",");
	if (!err && s->has_open)
		err = turnrec_json(&sb, &s->turn_open);
	if (!err)
		err = strbuf_addstr(&sb, "]");
	if (err) {
		strbuf_fini(&sb);
		return; /* keep the last rendering */
	}
	free(s->turns_json);
	s->turns_json = sb.buf; /* taken over from sb */
}

/* Move the open turn to the finished ones (dropped when they are full). */
static void turn_close(struct sess *s)
{
	if (!s->has_open)
		return;
	s->has_open = false;
	size_t mark = s->turns_done.len;
	int err = s->turns_done.len ? strbuf_addstr(&s->turns_done, ",") : 0;
	if (!err)
		err = turnrec_json(&s->turns_done, &s->turn_open);
	if (err && s->turns_done.buf) {
		s->turns_done.len = mark;
		s->turns_done.buf[mark] = '\0';
		LOGW(s->id, "turn_record_full", "seq=%u", s->turn_open.seq);
	}
}

/* The reply's prompt went to Asterisk: the open turn's tts_ready. */
static void turn_prompt_sent(struct sess *s)
{
	if (!s->has_open)
		return;
	s->turn_open.tts_ready_us = clock_mono_us();
	turn_close(s);
	turns_render(s);
}

/* One turn's record: what FastAGI can measure. speech_end is when the
 * RECORD FILE finished (or the key ended it), stt_final / nlu_done /
 * response come from the flow; tts_ready is set when the reply's STREAM
 * FILE is sent; first_rtp stays null (Asterisk plays the file: voxgate
 * never sees the audio go out). */
static void turn_record(struct sess *s, const struct channel_turn *t)
{
	turn_close(s);
	if (s->nturns >= TURNS_MAX)
		return;
	turnrec_from_channel(&s->turn_open, ++s->nturns, t);
	if (!t->end)
		snprintf(s->turn_open.end, sizeof(s->turn_open.end), "none");
	if (!t->input || strcmp(t->input, "speech"))
		s->turn_open.speech_ms = 0;
	s->has_open = true;
	turns_render(s);
}

/* Send the next command when none is outstanding: control commands first,
 * then a prompt, then a recording, then a digit wait. */
static void pump(struct sess *s)
{
	if (s->busy || s->sock_closed || !s->tc || !s->env_done)
		return;
	if (s->qlen) {
		struct cmd c = s->q[s->qhead];
		s->qhead = (s->qhead + 1) % CMDQ_MAX;
		s->qlen--;
		send_cmd(s, &c);
		return;
	}
	if (s->draining || s->hangup_raised || !s->started)
		return;
	struct cmd c = { 0 };
	char q1[400], q2[32];
	if (s->pst == P_READY) {
		/* Keys stop the prompt only with barge-in; they are then
		 * type-ahead for the next collect. */
		(void)agi_quote(q1, sizeof(q1), s->ppath);
		(void)agi_quote(q2, sizeof(q2), s->pbarge ? ALL_DIGITS : "");
		snprintf(c.line, sizeof(c.line), "STREAM FILE %s %s", q1, q2);
		c.kind = CMD_PLAY;
		c.gen = s->pgen;
		s->pst = P_RUNNING;
		turn_prompt_sent(s);
		send_cmd(s, &c);
		return;
	}
	if (s->pst != P_IDLE)
		return; /* the prompt first, then listen or wait */
	if (s->lst == L_READY) {
		/* s=N: the step's end_silence in whole seconds (rounded
		 * up). The timeout bounds the whole recording: the step's
		 * no-input time to start speaking plus its longest
		 * utterance. */
		unsigned sil = (s->l.trailing_silence_ms + 999) / 1000;
		if (!sil)
			sil = 1;
		unsigned rec_ms = s->l.max_speech_ms + s->l.no_input_ms;
		(void)agi_quote(q1, sizeof(q1), s->lpath);
		(void)agi_quote(q2, sizeof(q2),
				s->l.dtmf_ends || s->cactive ? ALL_DIGITS
							     : "#");
		snprintf(c.line, sizeof(c.line),
			 "RECORD FILE %s wav %s %u s=%u", q1, q2, rec_ms, sil);
		c.kind = CMD_RECORD;
		c.gen = s->lgen;
		s->lst = L_RUNNING;
		s->ldigit = false;
		send_cmd(s, &c);
		return;
	}
	if (s->lst != L_IDLE)
		return;
	if (s->cactive && !collect_check(s)) {
		unsigned ms = s->cn ? s->c.interdigit_timeout_ms
				    : s->c.first_timeout_ms;
		if (s->cdeadline_ms) {
			uint64_t now = clock_mono_ms();
			uint64_t left = s->cdeadline_ms > now
						? s->cdeadline_ms - now
						: 1;
			if (!ms || left < ms)
				ms = (unsigned)left;
		}
		if (!ms)
			ms = 5000;
		snprintf(c.line, sizeof(c.line), "WAIT FOR DIGIT %u", ms);
		c.kind = CMD_WAIT;
		c.gen = s->cgen;
		send_cmd(s, &c);
	}
}

/* ---------- collect ---------- */

static void collect_end(struct sess *s, enum channel_collect_end end)
{
	struct channel_event ev = { .type = CHANNEL_EV_COLLECT_DONE };
	ev.collect.end = end;
	memcpy(ev.collect.digits, s->cdig, s->cn);
	ev.collect.digits[s->cn] = '\0';
	s->cactive = false;
	s->cgen++;
	raise_ev(s, &ev);
}

/* Add a key to the running collect; true when that ended it. */
static bool collect_digit(struct sess *s, char d)
{
	if (s->cterm[0] && strchr(s->cterm, d)) {
		collect_end(s, COLLECT_TERMINATOR);
		return true;
	}
	s->cdig[s->cn++] = d;
	if (s->cn >= s->c.max_digits) {
		collect_end(s, COLLECT_MAX_DIGITS);
		return true;
	}
	return false;
}

/* Consume type-ahead; true when the collect ended. */
static bool collect_check(struct sess *s)
{
	while (s->cactive && s->tan) {
		char d = s->typeahead[0];
		memmove(s->typeahead, s->typeahead + 1, s->tan--);
		if (collect_digit(s, d))
			return true;
	}
	return !s->cactive;
}

static void key_pressed(struct sess *s, char d)
{
	if (!strchr(ALL_DIGITS "ABCD", d))
		return;
	note_digit(s, d);
	if (s->tan + 1 < sizeof(s->typeahead)) {
		s->typeahead[s->tan++] = d;
		s->typeahead[s->tan] = '\0';
	}
	(void)collect_check(s);
}

/* ---------- disk jobs (worker pool) ---------- */

struct job {
	struct sess *s; /* a reference */
	unsigned gen;
	struct audio_clip *clip;
	char path[320];
	int err;
	uint32_t speech_ms;
	bool exists;
	uint64_t end_us; /* RECORD FILE answered: the end of speech */
};

static int clip_8k(struct audio_clip *in, struct audio_clip **outp)
{
	if (in->rate_hz == 8000) {
		*outp = audio_clip_ref(in);
		return 0;
	}
	struct resampler *r = NULL;
	int err = resampler_create(&r, in->rate_hz, 8000, 5);
	if (err)
		return err;
	size_t n = resampler_out_len(r, in->nsamples);
	struct audio_clip *o = audio_clip_alloc(n ? n : 1, 8000);
	if (!o) {
		resampler_destroy(r);
		return -ENOMEM;
	}
	err = resampler_process(r, in->samples, in->nsamples, o->samples, &n);
	resampler_destroy(r);
	if (err) {
		audio_clip_deref(o);
		return err;
	}
	o->nsamples = n;
	*outp = o;
	return 0;
}

static void write_work(void *arg)
{
	struct job *j = arg;
	if (!access(j->path, R_OK)) {
		j->exists = true;
		return;
	}
	struct audio_clip *c8 = NULL;
	j->err = clip_8k(j->clip, &c8);
	if (!j->err)
		j->err = wav_write(j->path, c8);
	audio_clip_deref(c8);
}

static void write_done(int err, void *arg)
{
	struct job *j = arg;
	struct sess *s = j->s;
	if (!err)
		err = j->err;
	if (!s->hangup_raised && s->pst == P_WRITING && j->gen == s->pgen) {
		if (err) {
			LOGW(s->id, "agi_prompt_write_failed", "path=%s err=%d",
			     log_esc(j->path), err);
			s->pst = P_IDLE;
			struct channel_event ev = {
				.type = CHANNEL_EV_PLAY_DONE,
				.err = err,
			};
			raise_ev(s, &ev);
		} else {
			s->pst = P_READY;
			kick(s);
		}
	}
	audio_clip_deref(j->clip);
	mem_deref(j->s);
	free(j);
}

/* Speech in 20 ms frames above a fixed energy floor. */
static uint32_t speech_ms_of(const struct audio_clip *c)
{
	size_t fl = c->rate_hz / 50, frames = 0;
	for (size_t i = 0; fl && i + fl <= c->nsamples; i += fl) {
		double e = 0;
		for (size_t k = 0; k < fl; k++)
			e += (double)c->samples[i + k] * c->samples[i + k];
		if (sqrt(e / (double)fl) > 300.0)
			frames++;
	}
	return (uint32_t)(frames * 20);
}

static void read_work(void *arg)
{
	struct job *j = arg;
	struct audio_clip *raw = NULL;
	j->err = wav_read(j->path, &raw, NULL, 0);
	/* Caller audio does not stay on disk once handed over. */
	(void)unlink(j->path);
	if (j->err)
		return;
	j->err = clip_8k(raw, &j->clip);
	audio_clip_deref(raw);
	if (!j->err)
		j->speech_ms = speech_ms_of(j->clip);
}

static void read_done(int err, void *arg)
{
	struct job *j = arg;
	struct sess *s = j->s;
	if (!err)
		err = j->err;
	if (!s->hangup_raised && s->lst == L_READING && j->gen == s->lgen) {
		s->lst = L_IDLE;
		struct channel_event ev = { .type = CHANNEL_EV_LISTEN_DONE };
		ev.err = err;
		uint32_t min = s->l.min_speech_ms ? s->l.min_speech_ms : 120;
		if (s->ldigit && s->l.dtmf_ends) {
			ev.listen.end = LISTEN_DTMF;
		} else if (err || j->speech_ms < min) {
			ev.listen.end = LISTEN_NO_INPUT;
		} else {
			uint64_t dur_ms = j->clip->nsamples / 8;
			ev.listen.end = dur_ms + 100 >= s->l.max_speech_ms
						? LISTEN_MAX_SPEECH
						: LISTEN_SPEECH;
			struct channel_event sp = {
				.type = CHANNEL_EV_SPEECH_START,
			};
			raise_ev(s, &sp);
		}
		if (!err && ev.listen.end != LISTEN_NO_INPUT) {
			ev.listen.audio = audio_clip_ref(j->clip);
			ev.listen.speech_ms = j->speech_ms;
		}
		/* Asterisk ended the recording on silence (or a key): reading
		 * the file back is already part of recognition. */
		ev.listen.speech_end_us = j->end_us;
		raise_ev(s, &ev);
		if (err)
			LOGW(s->id, "agi_record_read_failed", "path=%s err=%d",
			     log_esc(j->path), err);
	}
	audio_clip_deref(j->clip);
	mem_deref(j->s);
	free(j);
}

static int submit(struct sess *s, wpool_work_fn *work, wpool_done_fn *done,
		  struct job *j)
{
	j->s = mem_ref(s);
	int err = s->fa ? wpool_submit(s->fa->cfg.pool, s->fa->cfg.loop, work,
				       done, j)
			: -ESHUTDOWN;
	if (err) {
		mem_deref(j->s);
		audio_clip_deref(j->clip);
		free(j);
	}
	return err;
}

/* ---------- replies ---------- */

static void on_play_reply(struct sess *s, const struct agi_reply *r)
{
	bool mine = s->pst == P_RUNNING && s->cur.gen == s->pgen;
	if (r->kind == AGI_REPLY_OK && r->result_num && r->value > 0) {
		if (mine) {
			s->pst = P_IDLE;
			struct channel_event ev = {
				.type = CHANNEL_EV_PLAY_DONE,
			};
			ev.play.interrupted = true;
			ev.play.played_ms = (uint32_t)(r->endpos / 8);
			raise_ev(s, &ev);
		}
		key_pressed(s, (char)r->value);
		return;
	}
	if (!mine)
		return;
	s->pst = P_IDLE;
	struct channel_event ev = { .type = CHANNEL_EV_PLAY_DONE };
	ev.play.played_ms = (uint32_t)(r->endpos / 8);
	if (r->kind != AGI_REPLY_OK || !r->result_num || r->value < 0)
		ev.err = -EIO;
	raise_ev(s, &ev);
}

static void on_wait_reply(struct sess *s, const struct agi_reply *r)
{
	if (r->kind != AGI_REPLY_OK || !r->result_num || r->value < 0) {
		raise_hangup(s, "caller_hangup");
		return;
	}
	if (r->value > 0) {
		key_pressed(s, (char)r->value);
		return;
	}
	if (!s->cactive || s->cur.gen != s->cgen)
		return;
	if (s->cdeadline_ms && clock_mono_ms() + 20 >= s->cdeadline_ms)
		collect_end(s, COLLECT_OVERALL);
	else
		collect_end(s, s->cn ? COLLECT_INTERDIGIT : COLLECT_NO_INPUT);
}

static void on_record_reply(struct sess *s, const struct agi_reply *r)
{
	if (r->kind == AGI_REPLY_OK && r->result_num && r->value < 0 &&
	    !strcmp(r->data, "hangup")) {
		raise_hangup(s, "caller_hangup");
		return;
	}
	bool mine = s->lst == L_RUNNING && s->cur.gen == s->lgen;
	if (r->kind == AGI_REPLY_OK && r->result_num && r->value > 0) {
		if (mine)
			s->ldigit = true;
		key_pressed(s, (char)r->value);
	}
	if (!mine)
		return;
	s->lst = L_READING;
	struct job *j = calloc(1, sizeof(*j));
	if (!j) {
		s->lst = L_IDLE;
		struct channel_event ev = { .type = CHANNEL_EV_LISTEN_DONE,
					    .err = -ENOMEM };
		ev.listen.end = LISTEN_NO_INPUT;
		raise_ev(s, &ev);
		return;
	}
	j->gen = s->lgen;
	j->end_us = clock_mono_us();
	snprintf(j->path, sizeof(j->path), "%s.wav", s->lpath);
	int err = submit(s, read_work, read_done, j);
	if (err) {
		s->lst = L_IDLE;
		struct channel_event ev = { .type = CHANNEL_EV_LISTEN_DONE,
					    .err = err };
		ev.listen.end = LISTEN_NO_INPUT;
		raise_ev(s, &ev);
	}
}

static void end_call(struct sess *s, const char *reason)
{
	set_result(s, reason);
	s->draining = true;
	raise_hangup(s, reason);
}

static void transfer_done(struct sess *s, int status, int err)
{
	s->tst = T_IDLE;
	struct channel_event ev = { .type = CHANNEL_EV_TRANSFER_DONE,
				    .err = err };
	ev.transfer.status = status;
	raise_ev(s, &ev);
	/* The caller is with the target (or the dialplan takes over): this
	 * AGI step is over. */
	if (!err && status >= 200 && status < 300)
		end_call(s, "transferred");
}

static void on_exec_reply(struct sess *s, const struct agi_reply *r)
{
	if (s->tst != T_EXEC)
		return;
	if (r->kind != AGI_REPLY_OK || !r->result_num) {
		transfer_done(s, 500, -EPROTO);
		return;
	}
	if (r->value == -2) {
		LOGW(s->id, "agi_transfer_no_app", "queue=%d", s->tqueue);
		transfer_done(s, 501, -ENOTSUP);
		return;
	}
	if (r->value < 0) {
		raise_hangup(s, "caller_hangup");
		return;
	}
	s->tst = T_STATUS;
	(void)queue_cmd(s, CMD_GETVAR, "GET VARIABLE %s",
			s->tqueue ? "QUEUESTATUS" : "DIALSTATUS");
}

static int dial_status(bool queue, bool set, const char *v)
{
	if (queue)
		return !set ? 200 : !strcmp(v, "TIMEOUT") ? 408 : 503;
	if (!set)
		return 500;
	if (!strcmp(v, "ANSWER"))
		return 200;
	if (!strcmp(v, "BUSY"))
		return 486;
	if (!strcmp(v, "NOANSWER"))
		return 480;
	if (!strcmp(v, "CONGESTION") || !strcmp(v, "CHANUNAVAIL"))
		return 503;
	return 500;
}

static void on_getvar_reply(struct sess *s, const struct agi_reply *r)
{
	if (s->tst != T_STATUS)
		return;
	bool set = r->kind == AGI_REPLY_OK && r->result_num && r->value == 1 &&
		   r->data[0];
	int st = dial_status(s->tqueue, set, r->data);
	transfer_done(s, st, st >= 300 ? -EIO : 0);
}

static void on_answer_reply(struct sess *s, const struct agi_reply *r)
{
	if (r->kind != AGI_REPLY_OK || !r->result_num || r->value < 0) {
		s->end_reason = "answer_failed";
		s->draining = true;
		return;
	}
	s->answered = true;
	s->answered_ms = clock_wall_ms();
	struct fastagi_call c = {
		.id = s->id,
		.flow = s->flow[0] ? s->flow : NULL,
		.from = s->from,
		.to = s->to,
		.env = &s->env,
	};
	s->started = true;
	int err = s->fa && s->fa->h.session_new
			  ? s->fa->h.session_new(&s->ch, &c, s->fa->arg)
			  : -ENOTSUP;
	if (err) {
		LOGW(s->id, "agi_session_refused", "err=%d", err);
		s->started = false;
		s->end_reason = "error";
		set_result(s, "error");
		s->draining = true;
	}
}

static void on_reply(struct sess *s, const struct agi_reply *r)
{
	if (r->kind == AGI_REPLY_HANGUP) {
		/* Async: the reply to the outstanding command still comes. */
		s->caller_gone = true;
		set_result(s, "hangup");
		s->draining = true;
		raise_hangup(s, "caller_hangup");
		return;
	}
	if (!s->busy) {
		LOGW(s->id, "agi_unexpected_reply", "code=%d", r->code);
		return;
	}
	s->busy = false;
	struct cmd *c = &s->cur;
	if (r->kind == AGI_REPLY_DEAD) {
		s->caller_gone = true;
		set_result(s, "hangup");
		s->draining = true;
		raise_hangup(s, "caller_hangup");
		return;
	}
	if (r->kind == AGI_REPLY_INVALID || r->kind == AGI_REPLY_USAGE)
		LOGW(s->id, "agi_command_refused", "code=%d cmd=%s", r->code,
		     log_esc(c->line));
	switch (c->kind) {
	case CMD_ANSWER:
		on_answer_reply(s, r);
		break;
	case CMD_PLAY:
		on_play_reply(s, r);
		break;
	case CMD_WAIT:
		on_wait_reply(s, r);
		break;
	case CMD_RECORD:
		on_record_reply(s, r);
		break;
	case CMD_EXEC:
		on_exec_reply(s, r);
		break;
	case CMD_GETVAR:
		on_getvar_reply(s, r);
		break;
	case CMD_HANGUP:
		s->caller_gone = true;
		s->draining = true;
		break;
	case CMD_SETVAR:
		break;
	}
}

/* ---------- lifecycle ---------- */

static void sess_destructor(void *arg)
{
	struct sess *s = arg;
	tmr_cancel(&s->env_tmr);
	tmr_cancel(&s->kick_tmr);
	s->tc = mem_deref(s->tc);
	strbuf_fini(&s->turns_done);
	free(s->turns_json);
	for (unsigned i = 0; i < s->evn; i++)
		if (s->evq[i].type == CHANNEL_EV_LISTEN_DONE)
			audio_clip_deref(s->evq[i].listen.audio);
}

/* Close the connection and let go of the session (runs from the kick
 * timer, never inside a callback of the connection). */
static void teardown(struct sess *s)
{
	if (s->gone)
		return;
	s->gone = true;
	tmr_cancel(&s->env_tmr);
	s->tc = mem_deref(s->tc);
	s->sock_closed = true;
	if (!s->ended_ms)
		s->ended_ms = clock_wall_ms();
	struct fastagi *fa = s->fa;
	if (fa) {
		list_unlink(&s->le);
		fa->nsessions--;
		if (s->started && fa->h.session_gone)
			fa->h.session_gone(&s->ch, fa->arg);
		LOGI(s->id, "agi_session_end", "reason=%s dtmf=%s",
		     s->end_reason ? s->end_reason : "closed",
		     log_esc(s->dtmf));
	}
	s->fa = NULL;
	mem_deref(s);
}

static void deliver(struct sess *s)
{
	while (s->evn) {
		struct channel_event ev = s->evq[0];
		memmove(s->evq, s->evq + 1, --s->evn * sizeof(s->evq[0]));
		if (s->ch.evh && s->started)
			s->ch.evh(&s->ch, &ev, s->ch.evarg);
		if (ev.type == CHANNEL_EV_LISTEN_DONE)
			audio_clip_deref(ev.listen.audio);
	}
}

static void on_kick(void *arg)
{
	struct sess *s = arg;
	mem_ref(s);
	deliver(s);
	pump(s);
	if (!s->gone && (s->sock_closed ||
			 (s->draining && !s->busy && !s->qlen && !s->evn))) {
		/* A hangup not raised yet (refused or failed answer). */
		raise_hangup(s, s->end_reason ? s->end_reason : "closed");
		deliver(s);
		teardown(s);
	}
	mem_deref(s);
}

static void kick(struct sess *s)
{
	if (!s->gone)
		tmr_start(&s->kick_tmr, 0, on_kick, s);
}

static void on_env_timeout(void *arg)
{
	struct sess *s = arg;
	LOGW(s->id, "agi_env_timeout", "bytes=%zu", s->rxlen);
	s->end_reason = "protocol_error";
	s->sock_closed = true;
	kick(s);
}

static void env_complete(struct sess *s)
{
	tmr_cancel(&s->env_tmr);
	s->env_done = true;
	char fb[64];
	const char *f = agi_env_flow(&s->env, fb, sizeof(fb));
	if (f)
		snprintf(s->flow, sizeof(s->flow), "%s", f);
	snprintf(s->from, sizeof(s->from), "%s", s->env.callerid);
	const char *to = s->env.dnid;
	if (!to[0] || !strcmp(to, "unknown"))
		to = s->env.extension;
	snprintf(s->to, sizeof(s->to), "%s", to);
	LOGI(s->id, "agi_session",
	     "uniqueid=%s channel=%s flow=%s from=%s "
	     "to=%s",
	     log_esc(s->env.uniqueid), log_esc(s->env.channel),
	     log_esc(s->flow), log_esc(s->from), log_esc(s->to));
	(void)queue_cmd(s, CMD_ANSWER, "ANSWER");
}

static void protocol_error(struct sess *s, const char *what, int err)
{
	LOGW(s->id, "agi_protocol_error", "in=%s err=%d", what, err);
	s->end_reason = "protocol_error";
	s->sock_closed = true;
	s->rxlen = 0;
	kick(s);
}

static void on_recv(struct mbuf *mb, void *arg)
{
	struct sess *s = arg;
	if (s->sock_closed)
		return;
	size_t n = mbuf_get_left(mb);
	if (n > sizeof(s->rx) - s->rxlen) {
		protocol_error(s, s->env_done ? "reply" : "env", -E2BIG);
		return;
	}
	memcpy(s->rx + s->rxlen, mbuf_buf(mb), n);
	s->rxlen += n;
	size_t off = 0;
	while (off < s->rxlen && !s->sock_closed) {
		size_t used = 0;
		int err;
		if (!s->env_done) {
			err = agi_env_feed(&s->env, s->rx + off, s->rxlen - off,
					   &used);
			if (err == -EAGAIN) {
				off += used;
				break;
			}
			if (err) {
				protocol_error(s, "env", err);
				return;
			}
			off += used;
			env_complete(s);
			continue;
		}
		struct agi_reply r;
		err = agi_reply_parse(s->rx + off, s->rxlen - off, &r, &used);
		if (err == -EAGAIN)
			break;
		if (err) {
			protocol_error(s, "reply", err);
			return;
		}
		off += used;
		on_reply(s, &r);
	}
	memmove(s->rx, s->rx + off, s->rxlen - off);
	s->rxlen -= off;
	kick(s);
}

static void on_close(int err, void *arg)
{
	struct sess *s = arg;
	s->sock_closed = true;
	s->busy = false;
	raise_hangup(s, s->end_reason ? s->end_reason : "caller_hangup");
	(void)err;
	kick(s);
}

static void on_conn(const struct sa *peer, void *arg)
{
	struct fastagi *fa = arg;
	unsigned max = fa->cfg.max_sessions ? fa->cfg.max_sessions : 256;
	if (fa->draining) {
		LOGW(NULL, "agi_refused", "reason=draining");
		tcp_reject(fa->ts);
		return;
	}
	if (fa->nsessions >= max) {
		(void)peer;
		LOGW(NULL, "agi_refused", "reason=max_sessions max=%u", max);
		tcp_reject(fa->ts);
		return;
	}
	struct sess *s = mem_zalloc(sizeof(*s), sess_destructor);
	if (!s) {
		tcp_reject(fa->ts);
		return;
	}
	strbuf_init(&s->turns_done, TURNS_JSON_MAX);
	s->ch.ops = &fastagi_ops;
	s->fa = fa;
	snprintf(s->id, sizeof(s->id), "agi-%016llx",
		 (unsigned long long)rand_u64());
	s->ch.id = s->id;
	s->ch.from = s->from;
	s->ch.to = s->to;
	s->started_ms = clock_wall_ms();
	tmr_init(&s->env_tmr);
	tmr_init(&s->kick_tmr);
	int err = tcp_accept(&s->tc, fa->ts, NULL, on_recv, on_close, s);
	if (err) {
		mem_deref(s);
		return;
	}
	list_append(&fa->sessions, &s->le, s);
	fa->nsessions++;
	tmr_start(&s->env_tmr,
		  fa->cfg.env_timeout_ms ? fa->cfg.env_timeout_ms : 5000,
		  on_env_timeout, s);
}

/* ---------- channel ops ---------- */

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ull;
	}
	return h;
}

static int op_play(struct channel *ch, const struct channel_prompt *p)
{
	struct sess *s = sess_of(ch);
	if (!p || !p->clip || !p->clip->rate_hz)
		return -EINVAL;
	if (s->hangup_raised || s->draining || !s->fa)
		return -ENOTCONN;
	if (s->pst != P_IDLE)
		return -EBUSY;
	/* Named by content: the same prompt is written once. */
	uint64_t h = 14695981039346656037ull;
	const char *v = p->voice ? p->voice : "";
	h = fnv1a(h, v, strlen(v) + 1);
	h = fnv1a(h, p->text ? p->text : "", p->text ? strlen(p->text) : 0);
	h = fnv1a(h, &p->clip->nsamples, sizeof(p->clip->nsamples));
	h = fnv1a(h, p->clip->samples,
		  p->clip->nsamples * sizeof(p->clip->samples[0]));
	struct job *j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	snprintf(s->ppath, sizeof(s->ppath), "%s/vg-%016llx",
		 s->fa->cfg.sounds_dir, (unsigned long long)h);
	snprintf(j->path, sizeof(j->path), "%s.wav", s->ppath);
	j->clip = audio_clip_ref(p->clip);
	j->gen = ++s->pgen;
	int err = submit(s, write_work, write_done, j);
	if (err)
		return err;
	s->pst = P_WRITING;
	s->pbarge = p->dtmf_barge_in;
	return 0;
}

static int op_collect(struct channel *ch, const struct channel_collect *c)
{
	struct sess *s = sess_of(ch);
	if (!c || !c->max_digits || c->max_digits > 32)
		return -EINVAL;
	if (s->hangup_raised || s->draining)
		return -ENOTCONN;
	if (s->cactive)
		return -EBUSY;
	s->c = *c;
	snprintf(s->cterm, sizeof(s->cterm), "%s",
		 c->terminators ? c->terminators : "");
	s->c.terminators = s->cterm;
	if (!s->c.first_timeout_ms)
		s->c.first_timeout_ms = 5000;
	if (!s->c.interdigit_timeout_ms)
		s->c.interdigit_timeout_ms = 3000;
	s->cn = 0;
	s->cdig[0] = '\0';
	s->cdeadline_ms = c->overall_timeout_ms
				  ? clock_mono_ms() + c->overall_timeout_ms
				  : 0;
	if (c->flush)
		s->tan = 0;
	s->cactive = true;
	s->cgen++;
	/* Type-ahead may already complete it: reported from the loop. */
	(void)collect_check(s);
	kick(s);
	return 0;
}

static int op_listen(struct channel *ch, const struct channel_listen *l)
{
	struct sess *s = sess_of(ch);
	if (!l)
		return -EINVAL;
	if (s->hangup_raised || s->draining || !s->fa)
		return -ENOTCONN;
	if (s->lst != L_IDLE)
		return -EBUSY;
	s->l = *l;
	s->l.hints = NULL;
	if (!s->l.trailing_silence_ms)
		s->l.trailing_silence_ms = 300;
	if (!s->l.max_speech_ms)
		s->l.max_speech_ms = 15000;
	if (s->l.max_speech_ms > 30000)
		s->l.max_speech_ms = 30000;
	if (s->l.no_input_ms > 60000)
		s->l.no_input_ms = 60000;
	int n = snprintf(s->lpath, sizeof(s->lpath), "%s/rec-%s-%u",
			 s->fa->cfg.sounds_dir, s->id, ++s->lseq);
	if (n < 0 || (size_t)n >= sizeof(s->lpath))
		return -ENAMETOOLONG;
	s->lgen++;
	s->lst = L_READY;
	kick(s);
	return 0;
}

static int op_stop(struct channel *ch)
{
	struct sess *s = sess_of(ch);
	if (s->hangup_raised)
		return 0;
	/* A command already sent runs to its end in Asterisk; its reply is
	 * ignored (generation bumped). */
	if (s->pst != P_IDLE) {
		s->pst = P_IDLE;
		s->pgen++;
		struct channel_event ev = { .type = CHANNEL_EV_PLAY_DONE };
		ev.play.interrupted = true;
		raise_ev(s, &ev);
	}
	if (s->cactive)
		collect_end(s, COLLECT_STOPPED);
	if (s->lst != L_IDLE) {
		s->lst = L_IDLE;
		s->lgen++;
		struct channel_event ev = { .type = CHANNEL_EV_LISTEN_DONE };
		ev.listen.end = LISTEN_STOPPED;
		raise_ev(s, &ev);
	}
	return 0;
}

/* A dial string with ${user}, ${host} and ${uri}: for sip:user@host;params
 * the user and host parts and the whole URI, for tel:N the number as user
 * and uri (host ""). Returns 0, -EINVAL (another ${...} or a '%') or
 * -ENOSPC. */
static int expand_dial(char *out, size_t cap, const char *fmt,
		       const char *target, bool sip)
{
	const char *rest = target + 4; /* after "sip:" or "tel:" */
	const char *at = sip ? strchr(rest, '@') : NULL;
	const char *uri = sip ? target : rest;
	char user[200], host[200];
	size_t ulen = at ? (size_t)(at - rest) : sip ? 0 : strlen(rest);
	const char *h = at ? at + 1 : sip ? rest : "";
	size_t hlen = strcspn(h, ";?>");
	if (ulen >= sizeof(user) || hlen >= sizeof(host))
		return -ENOSPC;
	memcpy(user, rest, ulen);
	user[ulen] = '\0';
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	size_t o = 0;
	for (const char *p = fmt; *p;) {
		const char *v = NULL;
		size_t skip = 0;
		if (*p == '%')
			return -EINVAL;
		if (!strncmp(p, "${user}", 7))
			v = user, skip = 7;
		else if (!strncmp(p, "${host}", 7))
			v = host, skip = 7;
		else if (!strncmp(p, "${uri}", 6))
			v = uri, skip = 6;
		else if (!strncmp(p, "${", 2))
			return -EINVAL;
		size_t n = v ? strlen(v) : 1;
		if (o + n >= cap)
			return -ENOSPC;
		memcpy(out + o, v ? v : p, n);
		o += n;
		p += v ? skip : 1;
	}
	out[o] = '\0';
	return 0;
}

static bool ctx_key_ok(const char *k)
{
	size_t n = strlen(k);
	if (!n || n > 64)
		return false;
	for (; *k; k++)
		if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') ||
		      (*k >= '0' && *k <= '9') || *k == '_' || *k == '-'))
			return false;
	return true;
}

static int op_transfer_ctx(struct channel *ch, const char *target,
			   const struct channel_kv *ctx, unsigned nctx)
{
	struct sess *s = sess_of(ch);
	if (!target || !*target || strlen(target) > 200)
		return -EINVAL;
	if (s->hangup_raised || s->draining || !s->fa)
		return -ENOTCONN;
	if (s->tst != T_IDLE)
		return -EBUSY;
	if (CMDQ_MAX - s->qlen < nctx + 3)
		return -EAGAIN;
	int err = set_var(s, "VOXGATE_TRANSFER", target);
	for (unsigned i = 0; !err && i < nctx; i++) {
		if (!ctx[i].key || !ctx_key_ok(ctx[i].key))
			continue;
		char name[80], *p;
		snprintf(name, sizeof(name), "VOXGATE_CTX_%s", ctx[i].key);
		for (p = name; *p; p++)
			if (*p == '-')
				*p = '_';
			else if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		err = set_var(s, name, ctx[i].value ? ctx[i].value : "");
	}
	if (err)
		return err;
	char dial[300], q[400];
	if (!strncmp(target, "queue:", 6)) {
		s->tqueue = true;
		const char *app = s->fa->cfg.queue_app[0] ? s->fa->cfg.queue_app
							  : "Queue";
		(void)agi_quote(q, sizeof(q), target + 6);
		err = queue_cmd(s, CMD_EXEC, "EXEC %s %s", app, q);
	} else if (!strncmp(target, "sip:", 4) || !strncmp(target, "tel:", 4)) {
		s->tqueue = false;
		bool sip = target[0] == 's';
		const char *fmt =
			sip ? s->fa->cfg.sip_dial_fmt : s->fa->cfg.tel_dial_fmt;
		if (!fmt[0])
			fmt = sip ? "PJSIP/voxgate/%s"
				  : "Local/%s@voxgate-transfer";
		if (strstr(fmt, "${")) {
			err = expand_dial(dial, sizeof(dial), fmt, target, sip);
			if (err)
				return err;
		} else {
			const char *pc = strstr(fmt, "%s");
			if (!pc || strchr(pc + 2, '%'))
				return -EINVAL;
			snprintf(dial, sizeof(dial), "%.*s%s%s",
				 (int)(pc - fmt), fmt,
				 sip ? target : target + 4, pc + 2);
		}
		(void)agi_quote(q, sizeof(q), dial);
		err = queue_cmd(s, CMD_EXEC, "EXEC Dial %s", q);
	} else {
		/* Any other target: the dialplan routes on VOXGATE_TRANSFER
		 * once this AGI step returns. */
		struct channel_event ev = { .type = CHANNEL_EV_TRANSFER_DONE };
		ev.transfer.status = 200;
		raise_ev(s, &ev);
		end_call(s, "transferred");
		return 0;
	}
	if (!err)
		s->tst = T_EXEC;
	return err;
}

static int op_transfer(struct channel *ch, const char *target)
{
	return op_transfer_ctx(ch, target, NULL, 0);
}

static int op_hangup(struct channel *ch, const char *reason)
{
	struct sess *s = sess_of(ch);
	if (s->hangup_raised)
		return -ENOTCONN;
	const char *r = reason ? reason : "completed";
	set_result(s, r);
	(void)queue_cmd(s, CMD_HANGUP, "HANGUP");
	s->draining = true;
	raise_hangup(s, r);
	return 0;
}

static void op_note_node(struct channel *ch, const char *node)
{
	struct sess *s = sess_of(ch);
	if (!node)
		return;
	/* Kept as a closed JSON array: the new name replaces the ']'. */
	size_t cap = sizeof(s->path_json);
	size_t need = strlen(node) + 4;
	if (s->path_len + need + 1 > cap)
		return;
	for (const char *p = node; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
			return;
	size_t at = s->path_len ? s->path_len - 1 : 0;
	int n = snprintf(s->path_json + at, cap - at, "%s\"%s\"]",
			 s->path_len ? "," : "[", node);
	if (n > 0)
		s->path_len = at + (size_t)n;
}

static void op_note_turn(struct channel *ch, const struct channel_turn *t)
{
	struct sess *s = sess_of(ch);
	if (!t)
		return;
	turn_record(s, t);
	if (!t->intent || s->hangup_raised)
		return;
	char conf[16];
	snprintf(conf, sizeof(conf), "%.2f", (double)t->intent_confidence);
	(void)set_var(s, "VOXGATE_INTENT", t->intent);
	(void)set_var(s, "VOXGATE_CONFIDENCE", conf);
}

static const struct channel_ops fastagi_ops = {
	.kind = "fastagi",
	.caps = CHANNEL_CAP_AUDIO | CHANNEL_CAP_DTMF | CHANNEL_CAP_SPEECH |
		CHANNEL_CAP_TRANSFER,
	.play = op_play,
	.collect = op_collect,
	.listen = op_listen,
	.stop = op_stop,
	.transfer = op_transfer,
	.transfer_ctx = op_transfer_ctx,
	.hangup = op_hangup,
	.note_node = op_note_node,
	.note_turn = op_note_turn,
};

void fastagi_info(const struct channel *ch, struct fastagi_info *out)
{
	const struct sess *s = (const struct sess *)ch;
	memset(out, 0, sizeof(*out));
	out->id = s->id;
	out->from = s->from;
	out->to = s->to;
	out->flow = s->flow;
	out->channel = s->env.channel;
	out->uniqueid = s->env.uniqueid;
	out->end_reason = s->hangup_raised ? s->end_reason : NULL;
	out->dtmf = s->dtmf;
	out->flow_path_json = s->path_len ? s->path_json : "[]";
	out->turns_json = s->turns_json;
	out->started_ms = s->started_ms;
	out->answered_ms = s->answered_ms;
	out->ended_ms = s->ended_ms;
}

void fastagi_set_user(struct channel *ch, void *user)
{
	sess_of(ch)->user = user;
}

void *fastagi_user(const struct channel *ch)
{
	return ((const struct sess *)ch)->user;
}

int fastagi_set_var(struct channel *ch, const char *name, const char *value)
{
	struct sess *s = sess_of(ch);
	size_t n = name ? strlen(name) : 0;
	if (!n || n > 63 || !value)
		return -EINVAL;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return -EINVAL;
	if (s->hangup_raised || s->draining)
		return -ENOTCONN;
	if (s->qlen >= CMDQ_MAX - 1) /* room for VOXGATE_RESULT */
		return -EAGAIN;
	return set_var(s, name, value);
}

int fastagi_finish(struct channel *ch, const char *result)
{
	struct sess *s = sess_of(ch);
	if (s->hangup_raised || s->draining)
		return -ENOTCONN;
	end_call(s, result ? result : "completed");
	return 0;
}

/* ---------- server ---------- */

static void fastagi_destructor(void *arg)
{
	struct fastagi *fa = arg;
	fa->ts = mem_deref(fa->ts);
}

int fastagi_create(struct fastagi **fp, const struct fastagi_cfg *cfg,
		   const struct fastagi_handlers *h, void *arg)
{
	if (!fp || !cfg || !h || !cfg->pool || !cfg->loop ||
	    !cfg->sounds_dir[0])
		return -EINVAL;
	struct fastagi *fa = mem_zalloc(sizeof(*fa), fastagi_destructor);
	if (!fa)
		return -ENOMEM;
	fa->cfg = *cfg;
	fa->h = *h;
	fa->arg = arg;
	list_init(&fa->sessions);
	struct sa laddr;
	int err = sa_set_str(&laddr, cfg->host[0] ? cfg->host : "127.0.0.1",
			     cfg->port);
	if (err) {
		err = -err;
		goto out;
	}
	err = tcp_listen(&fa->ts, &laddr, on_conn, fa);
	if (err) {
		err = -err;
		goto out;
	}
	*fp = fa;
	return 0;
out:
	mem_deref(fa);
	return err;
}

void fastagi_destroy(struct fastagi *fa)
{
	if (!fa)
		return;
	fa->ts = mem_deref(fa->ts);
	struct le *le;
	while ((le = list_head(&fa->sessions))) {
		struct sess *s = le->data;
		s->end_reason = s->end_reason ? s->end_reason : "shutdown";
		s->sock_closed = true;
		raise_hangup(s, s->end_reason);
		deliver(s);
		teardown(s);
	}
	mem_deref(fa);
}

void fastagi_drain(struct fastagi *fa)
{
	if (fa)
		fa->draining = true;
}

void fastagi_hangup_all(struct fastagi *fa, const char *reason)
{
	if (!fa)
		return;
	for (struct le *le = list_head(&fa->sessions); le; le = le->next) {
		struct sess *s = le->data;
		if (s->hangup_raised)
			continue;
		if (!s->started) {
			s->end_reason = reason;
			s->sock_closed = true;
			kick(s);
			continue;
		}
		(void)op_hangup(&s->ch, reason);
	}
}

uint16_t fastagi_local_port(const struct fastagi *fa)
{
	struct sa sa;
	if (!fa || !fa->ts || tcp_local_get(fa->ts, &sa))
		return 0;
	return sa_port(&sa);
}

unsigned fastagi_active(const struct fastagi *fa)
{
	return fa ? fa->nsessions : 0;
}
