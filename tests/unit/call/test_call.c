/* The call state machine and the media call's channel behaviour, on a
 * virtual clock: no sockets, the adapter is a recording fake. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "audio/clip.h"
#include "call/call.h"
#include "call/fsm.h"

struct fake {
	int answers;
	int byes;
	int rejects;
	const char *last_reason;
	int transfers;
	char target[64];
	unsigned nctx;
	char ctx0[64];
};

static int f_answer(void *a)
{
	((struct fake *)a)->answers++;
	return 0;
}
static int f_hangup(void *a, enum call_fsm_action act, const char *reason)
{
	struct fake *f = a;
	if (act == CALL_ACT_REJECT)
		f->rejects++;
	else
		f->byes++;
	f->last_reason = reason;
	return 0;
}
static int f_transfer(void *a, const char *target, const struct channel_kv *ctx,
		      unsigned nctx)
{
	struct fake *f = a;
	f->transfers++;
	f->nctx = nctx;
	if (nctx)
		strncpy(f->ctx0, ctx[0].value, sizeof(f->ctx0) - 1);
	strncpy(f->target, target, sizeof(f->target) - 1);
	return 0;
}
static const struct call_media_ops fops = { f_answer, f_hangup, f_transfer };

struct rec {
	struct channel_event ev[32];
	int n;
};
static void on_ev(struct channel *ch, const struct channel_event *ev, void *arg)
{
	struct rec *r = arg;
	(void)ch;
	if (r->n < 32)
		r->ev[r->n++] = *ev;
}

static int64_t seen_answered_ms;
static void observe(struct call *c, enum call_state old, void *arg)
{
	(void)arg;
	if (old == CALL_RINGING && call_state(c) == CALL_ANSWERING)
		seen_answered_ms = call_answered_wall_ms(c);
}

static struct call *mk(struct fake *f, struct rec *r, uint32_t mto)
{
	struct call_params p = { .platform = "sip",
				 .from = "sip:a@x",
				 .to = "1000",
				 .platform_id = "cid",
				 .media_timeout_ms = mto,
				 .now_ms = 1000 };
	struct call *c = NULL;
	assert_int_equal(call_create(&c, &p, &fops, f), 0);
	channel_set_handler(call_channel(c), on_ev, r);
	struct call_observer obs = { .state_changed = observe };
	call_set_observer(c, &obs);
	seen_answered_ms = 0;
	return c;
}

static int count(const struct rec *r, enum channel_event_type t)
{
	int n = 0;
	for (int i = 0; i < r->n; i++)
		n += r->ev[i].type == t;
	return n;
}

static void fsm_cancel_before_answer_ends_call(void **s)
{
	(void)s;
	struct call_fsm_result r =
		call_fsm_next(CALL_RINGING, CALL_EV_CANCEL, NULL);
	assert_int_equal(r.state, CALL_ENDED);
	assert_string_equal(r.end_reason, "cancelled");
	/* a CANCEL crossing our 200 OK changes nothing */
	r = call_fsm_next(CALL_ANSWERING, CALL_EV_CANCEL, NULL);
	assert_true(r.invalid);
	assert_int_equal(r.state, CALL_ANSWERING);
}

static void fsm_bye_before_ack_ends_call(void **s)
{
	(void)s;
	struct call_fsm_result r =
		call_fsm_next(CALL_ANSWERING, CALL_EV_REMOTE_BYE, NULL);
	assert_int_equal(r.state, CALL_ENDED);
	assert_string_equal(r.end_reason, "caller_hangup");
	r = call_fsm_next(CALL_ANSWERING, CALL_EV_ACK_TIMEOUT, NULL);
	assert_string_equal(r.end_reason, "no_ack");
	r = call_fsm_next(CALL_ENDED, CALL_EV_ACK, NULL);
	assert_true(r.invalid);
}

static void fsm_local_hangup_before_answer_rejects(void **s)
{
	(void)s;
	struct call_fsm_result r =
		call_fsm_next(CALL_RINGING, CALL_EV_LOCAL_HANGUP, "shutdown");
	assert_int_equal(r.action, CALL_ACT_REJECT);
	assert_string_equal(r.end_reason, "shutdown");
	r = call_fsm_next(CALL_ACTIVE, CALL_EV_LOCAL_HANGUP, NULL);
	assert_int_equal(r.action, CALL_ACT_SEND_BYE);
	assert_int_equal(r.state, CALL_ENDING);
}

static void media_timeout_hangs_up_with_bye(void **s)
{
	(void)s;
	struct fake f = { 0 };
	struct rec r = { 0 };
	struct call *c = mk(&f, &r, 3000);
	int16_t out[160];
	assert_int_equal(call_answer(c, 1000), 0);
	assert_int_equal(f.answers, 1);
	assert_int_equal(seen_answered_ms > 0, 1);
	call_signal(c, CALL_EV_ACK, 1010);
	assert_int_equal(call_state(c), CALL_ACTIVE);
	/* audio keeps it alive */
	for (uint64_t t = 1020; t < 3900; t += 20) {
		call_audio_in(c, NULL, 0, t);
		call_tick(c, t, out);
	}
	assert_int_equal(f.byes, 0);
	for (uint64_t t = 3900; t < 6900; t += 20)
		call_tick(c, t, out);
	assert_int_equal(f.byes, 1);
	assert_string_equal(call_end_reason(c), "media_timeout");
	assert_int_equal(count(&r, CHANNEL_EV_HANGUP), 1);
	call_destroy(c);
}

static struct audio_clip *tone(size_t n)
{
	struct audio_clip *k = audio_clip_alloc(n, 8000);
	for (size_t i = 0; i < n; i++)
		k->samples[i] = (int16_t)(i % 40 < 20 ? 1000 : -1000);
	return k;
}

static void prompt_plays_in_frames_then_completes(void **s)
{
	(void)s;
	struct fake f = { 0 };
	struct rec r = { 0 };
	struct call *c = mk(&f, &r, 0);
	call_answer(c, 1000);
	call_signal(c, CALL_EV_ACK, 1000);
	struct audio_clip *k = tone(500); /* 3 full frames + 20 samples */
	struct channel_prompt p = { .name = "greeting",
				    .text = "hi",
				    .clip = k };
	assert_int_equal(channel_play(call_channel(c), &p), 0);
	assert_int_equal(channel_play(call_channel(c), &p), -EBUSY);
	int16_t out[160];
	int audio = 0;
	for (int i = 0; i < 6; i++)
		audio += call_tick(c, 1000 + 20 * (uint64_t)i, out);
	assert_int_equal(audio, 4);
	assert_int_equal(count(&r, CHANNEL_EV_PLAY_DONE), 1);
	assert_false(r.ev[0].play.interrupted);
	assert_non_null(strstr(call_prompts_json(c), "\"greeting\""));
	audio_clip_deref(k);
	call_destroy(c);
}

static void dtmf_barges_in_and_collects_typed_ahead_digit(void **s)
{
	(void)s;
	struct fake f = { 0 };
	struct rec r = { 0 };
	struct call *c = mk(&f, &r, 0);
	call_answer(c, 1000);
	call_signal(c, CALL_EV_ACK, 1000);
	struct audio_clip *k = tone(8000);
	struct channel_prompt p = { .name = "menu",
				    .clip = k,
				    .dtmf_barge_in = true };
	channel_play(call_channel(c), &p);
	int16_t out[160];
	call_tick(c, 1020, out);
	call_dtmf_in(c, '1', 1040);
	assert_int_equal(count(&r, CHANNEL_EV_PLAY_DONE), 1);
	struct channel_collect co = { .max_digits = 1,
				      .first_timeout_ms = 5000 };
	assert_int_equal(channel_collect(call_channel(c), &co), 0);
	/* completion is deferred to the next tick, never inline */
	assert_int_equal(count(&r, CHANNEL_EV_COLLECT_DONE), 0);
	call_tick(c, 1060, out);
	assert_int_equal(count(&r, CHANNEL_EV_COLLECT_DONE), 1);
	for (int i = 0; i < r.n; i++)
		if (r.ev[i].type == CHANNEL_EV_COLLECT_DONE) {
			assert_string_equal(r.ev[i].collect.digits, "1");
			assert_int_equal(r.ev[i].collect.end,
					 COLLECT_MAX_DIGITS);
		}
	assert_string_equal(call_dtmf(c), "1");
	audio_clip_deref(k);
	call_destroy(c);
}

static void collect_times_out_after_prompt_and_interdigit(void **s)
{
	(void)s;
	struct fake f = { 0 };
	struct rec r = { 0 };
	struct call *c = mk(&f, &r, 0);
	call_answer(c, 1000);
	call_signal(c, CALL_EV_ACK, 1000);
	int16_t out[160];
	struct audio_clip *k = tone(1600); /* 200 ms */
	struct channel_prompt p = { .name = "m", .clip = k };
	channel_play(call_channel(c), &p);
	struct channel_collect co = { .max_digits = 4,
				      .terminators = "#",
				      .first_timeout_ms = 1000,
				      .interdigit_timeout_ms = 500 };
	channel_collect(call_channel(c), &co);
	/* the 1 s no-input clock starts when the prompt ends (~1200) */
	uint64_t t = 1000;
	for (; t <= 2100; t += 20)
		call_tick(c, t, out);
	assert_int_equal(count(&r, CHANNEL_EV_COLLECT_DONE), 0);
	for (; t <= 2300; t += 20)
		call_tick(c, t, out);
	assert_int_equal(count(&r, CHANNEL_EV_COLLECT_DONE), 1);
	assert_int_equal(r.ev[r.n - 1].collect.end, COLLECT_NO_INPUT);

	/* digits then silence: inter-digit timeout */
	r.n = 0;
	channel_collect(call_channel(c), &co);
	call_dtmf_in(c, '4', t);
	call_dtmf_in(c, '2', t + 100);
	for (uint64_t u = t; u <= t + 560; u += 20)
		call_tick(c, u, out);
	assert_int_equal(count(&r, CHANNEL_EV_COLLECT_DONE), 0);
	for (uint64_t u = t + 580; u <= t + 700; u += 20)
		call_tick(c, u, out);
	assert_int_equal(count(&r, CHANNEL_EV_COLLECT_DONE), 1);
	assert_int_equal(r.ev[r.n - 1].collect.end, COLLECT_INTERDIGIT);
	assert_string_equal(r.ev[r.n - 1].collect.digits, "42");

	/* terminator ends it and is not included */
	r.n = 0;
	channel_collect(call_channel(c), &co);
	call_dtmf_in(c, '7', t + 800);
	call_dtmf_in(c, '#', t + 900);
	assert_int_equal(r.ev[r.n - 1].type, CHANNEL_EV_COLLECT_DONE);
	assert_int_equal(r.ev[r.n - 1].collect.end, COLLECT_TERMINATOR);
	assert_string_equal(r.ev[r.n - 1].collect.digits, "7");
	audio_clip_deref(k);
	call_destroy(c);
}

static void hangup_raises_one_event_and_stops_requests(void **s)
{
	(void)s;
	struct fake f = { 0 };
	struct rec r = { 0 };
	struct call *c = mk(&f, &r, 0);
	call_answer(c, 1000);
	call_signal(c, CALL_EV_ACK, 1000);
	assert_int_equal(channel_hangup(call_channel(c), "hangup"), 0);
	assert_int_equal(f.byes, 1);
	assert_int_equal(channel_hangup(call_channel(c), "hangup"), -EALREADY);
	int16_t out[160];
	call_tick(c, 1020, out);
	call_signal(c, CALL_EV_CLOSED, 1040);
	assert_int_equal(call_state(c), CALL_ENDED);
	assert_int_equal(count(&r, CHANNEL_EV_HANGUP), 1);
	assert_string_equal(call_end_reason(c), "hangup");
	struct channel_collect co = { .max_digits = 1 };
	assert_int_equal(channel_collect(call_channel(c), &co), -ENOTCONN);
	call_destroy(c);
}

static void transfer_success_ends_call_as_transferred(void **s)
{
	(void)s;
	struct fake f = { 0 };
	struct rec r = { 0 };
	struct call *c = mk(&f, &r, 0);
	call_answer(c, 1000);
	call_signal(c, CALL_EV_ACK, 1000);
	assert_int_equal(channel_transfer(call_channel(c), "sip:agent@h"), 0);
	assert_int_equal(f.transfers, 1);
	assert_string_equal(f.target, "sip:agent@h");
	call_transfer_result(c, 0, 200);
	assert_int_equal(count(&r, CHANNEL_EV_TRANSFER_DONE), 1);
	assert_string_equal(call_end_reason(c), "transferred");
	assert_int_equal(f.byes, 1);
	call_destroy(c);
}

static void transfer_hands_context_to_the_adapter(void **s)
{
	(void)s;
	struct fake f = { 0 };
	struct rec r = { 0 };
	struct call *c = mk(&f, &r, 0);
	struct channel *ch = call_channel(c);
	struct channel_kv kv[2] = { { "reason", "lost card" },
				    { "customer", "C1" } };
	/* not answered yet */
	assert_int_equal(channel_transfer_ctx(ch, "sip:a@h", kv, 2), -ENOTCONN);
	call_answer(c, 1000);
	call_signal(c, CALL_EV_ACK, 1000);
	assert_int_equal(channel_transfer_ctx(ch, "sip:a@h", kv,
					      CHANNEL_TRANSFER_CTX_MAX + 1),
			 -EINVAL);
	assert_int_equal(channel_transfer_ctx(ch, "sip:a@h", NULL, 1), -EINVAL);
	assert_int_equal(f.transfers, 0);
	assert_int_equal(channel_transfer_ctx(ch, "sip:a@h", kv, 2), 0);
	assert_int_equal(f.transfers, 1);
	assert_int_equal(f.nctx, 2);
	assert_string_equal(f.ctx0, "lost card");
	/* one at a time */
	assert_int_equal(channel_transfer_ctx(ch, "sip:a@h", kv, 2), -EBUSY);
	call_transfer_result(c, -EPROTO, 503);
	assert_int_equal(count(&r, CHANNEL_EV_TRANSFER_DONE), 1);
	assert_int_equal(call_state(c), CALL_ACTIVE);
	call_destroy(c);
}

static void caller_bye_before_ack_is_caller_hangup(void **s)
{
	(void)s;
	struct fake f = { 0 };
	struct rec r = { 0 };
	struct call *c = mk(&f, &r, 0);
	call_answer(c, 1000);
	struct audio_clip *k = tone(8000);
	struct channel_prompt p = { .name = "greeting", .clip = k };
	assert_int_equal(channel_play(call_channel(c), &p), 0);
	struct channel_collect co = { .max_digits = 1, .first_timeout_ms = 10 };
	assert_int_equal(channel_collect(call_channel(c), &co), 0);
	call_signal(c, CALL_EV_REMOTE_BYE, 1010);
	assert_int_equal(call_state(c), CALL_ENDED);
	assert_string_equal(call_end_reason(c), "caller_hangup");
	assert_int_equal(f.byes, 0);
	/* outstanding requests are dropped: only the hangup is raised */
	assert_int_equal(r.n, 1);
	assert_int_equal(count(&r, CHANNEL_EV_HANGUP), 1);
	assert_non_null(strstr(call_prompts_json(c), "\"interrupted\":true"));
	audio_clip_deref(k);
	call_destroy(c);
}

static void flow_path_is_a_json_array(void **s)
{
	(void)s;
	struct fake f = { 0 };
	struct rec r = { 0 };
	struct call *c = mk(&f, &r, 0);
	channel_note_node(call_channel(c), "greeting");
	channel_note_node(call_channel(c), "me\"nu");
	assert_string_equal(call_flow_path_json(c),
			    "[\"greeting\",\"me\\\"nu\"]");
	call_destroy(c);
}

static void send_dtmf_queues_valid_digits_in_order(void **s)
{
	(void)s;
	struct fake f = { 0 };
	struct rec r = { 0 };
	struct call *c = mk(&f, &r, 0);
	struct channel *ch = call_channel(c);
	assert_int_equal(channel_send_dtmf(ch, "12#"), 0);
	assert_int_equal(channel_send_dtmf(ch, "9x"), -EINVAL);
	assert_int_equal(channel_send_dtmf(ch, "*"), 0);
	assert_int_equal(call_dtmf_out_next(c), '1');
	assert_int_equal(call_dtmf_out_next(c), '2');
	assert_int_equal(call_dtmf_out_next(c), '#');
	assert_int_equal(call_dtmf_out_next(c), '*');
	assert_int_equal(call_dtmf_out_next(c), 0);
	assert_int_equal(
		channel_send_dtmf(ch, "0123456789012345678901234567890123"),
		-E2BIG);
	call_destroy(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fsm_cancel_before_answer_ends_call),
		cmocka_unit_test(fsm_bye_before_ack_ends_call),
		cmocka_unit_test(fsm_local_hangup_before_answer_rejects),
		cmocka_unit_test(media_timeout_hangs_up_with_bye),
		cmocka_unit_test(prompt_plays_in_frames_then_completes),
		cmocka_unit_test(dtmf_barges_in_and_collects_typed_ahead_digit),
		cmocka_unit_test(collect_times_out_after_prompt_and_interdigit),
		cmocka_unit_test(hangup_raises_one_event_and_stops_requests),
		cmocka_unit_test(transfer_success_ends_call_as_transferred),
		cmocka_unit_test(transfer_hands_context_to_the_adapter),
		cmocka_unit_test(caller_bye_before_ack_is_caller_hangup),
		cmocka_unit_test(flow_path_is_a_json_array),
		cmocka_unit_test(send_dtmf_queues_valid_digits_in_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
