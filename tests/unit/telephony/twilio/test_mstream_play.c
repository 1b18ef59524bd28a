/* The call side of Media Streams playback (call_set_play_ack): a prompt
 * whose audio is all sent ends only when the adapter acks it (Twilio echoed
 * the mark); a barge-in while waiting ends it interrupted; play ids change
 * per prompt so the adapter knows when to send `clear`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "audio/clip.h"
#include "call/call.h"
#include "call/call_rig.h"

struct rec {
	int done, interrupted;
};
static void on_ev(struct channel *ch, const struct channel_event *ev, void *arg)
{
	struct rec *r = arg;
	(void)ch;
	if (ev->type == CHANNEL_EV_PLAY_DONE) {
		r->done++;
		r->interrupted += ev->play.interrupted;
	}
}

static struct call *mk(struct rec *r)
{
	struct call_params p = { .platform = "twilio-media",
				 .from = "+1",
				 .to = "+2",
				 .platform_id = "CA1",
				 .now_ms = 1000 };
	struct call *c = NULL;
	assert_int_equal(call_create(&c, &p, &rig_media_ops, NULL), 0);
	channel_set_handler(call_channel(c), on_ev, r);
	call_set_play_ack(c, true);
	call_answer(c, 1000);
	call_signal(c, CALL_EV_ACK, 1000);
	return c;
}

static struct audio_clip *tone(size_t n)
{
	struct audio_clip *k = audio_clip_alloc(n, 8000);
	for (size_t i = 0; i < n; i++)
		k->samples[i] = (int16_t)(i % 40 < 20 ? 1000 : -1000);
	return k;
}

static void prompt_ends_on_ack_not_on_last_frame(void **s)
{
	(void)s;
	struct rec r = { 0 };
	struct call *c = mk(&r);
	struct audio_clip *k = tone(480); /* 3 frames */
	struct channel_prompt p = { .name = "greeting", .clip = k };
	assert_int_equal(call_play_id(c), 0);
	assert_int_equal(channel_play(call_channel(c), &p), 0);
	uint32_t id = call_play_id(c);
	assert_true(id != 0);
	int16_t out[160];
	int audio = 0;
	for (int i = 0; i < 8; i++)
		audio += call_tick(c, 1000 + 20 * (uint64_t)i, out);
	assert_int_equal(audio, 3);
	assert_int_equal(r.done, 0);
	assert_true(call_play_ack_due(c));
	assert_int_equal(call_play_id(c), id);
	call_play_ack(c, 1200);
	assert_int_equal(r.done, 1);
	assert_int_equal(r.interrupted, 0);
	assert_int_equal(call_play_id(c), 0);
	assert_false(call_play_ack_due(c));
	/* A second prompt gets another id. */
	assert_int_equal(channel_play(call_channel(c), &p), 0);
	assert_true(call_play_id(c) != 0 && call_play_id(c) != id);
	audio_clip_deref(k);
	call_destroy(c);
}

static void stop_while_waiting_for_ack_interrupts(void **s)
{
	(void)s;
	struct rec r = { 0 };
	struct call *c = mk(&r);
	struct audio_clip *k = tone(320);
	struct channel_prompt p = { .name = "p", .clip = k };
	assert_int_equal(channel_play(call_channel(c), &p), 0);
	int16_t out[160];
	for (int i = 0; i < 3; i++)
		(void)call_tick(c, 1000 + 20 * (uint64_t)i, out);
	assert_true(call_play_ack_due(c));
	assert_int_equal(channel_stop(call_channel(c)), 0);
	(void)call_tick(c, 1100, out);
	assert_int_equal(r.done, 1);
	assert_int_equal(r.interrupted, 1);
	assert_int_equal(call_play_id(c), 0);
	/* A late ack changes nothing. */
	call_play_ack(c, 1200);
	assert_int_equal(r.done, 1);
	audio_clip_deref(k);
	call_destroy(c);
}

static void without_ack_mode_prompt_ends_on_last_frame(void **s)
{
	(void)s;
	struct rec r = { 0 };
	struct call *c = mk(&r);
	call_set_play_ack(c, false);
	struct audio_clip *k = tone(320);
	struct channel_prompt p = { .name = "p", .clip = k };
	assert_int_equal(channel_play(call_channel(c), &p), 0);
	int16_t out[160];
	for (int i = 0; i < 4; i++)
		(void)call_tick(c, 1000 + 20 * (uint64_t)i, out);
	assert_int_equal(r.done, 1);
	assert_false(call_play_ack_due(c));
	audio_clip_deref(k);
	call_destroy(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(prompt_ends_on_ack_not_on_last_frame),
		cmocka_unit_test(stop_while_waiting_for_ack_interrupts),
		cmocka_unit_test(without_ack_mode_prompt_ends_on_last_frame),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
