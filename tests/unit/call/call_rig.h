/* The media call fixture shared by the call tests (test_call_listen.c,
 * test_call_continue.c, test_record.c, telephony/twilio/
 * test_mstream_play.c): media ops that do nothing, a sip call answered on
 * the virtual clock, line noise and the first loud frame of a clip.
 * Static helpers: include once per test binary. */
#ifndef VG_TEST_CALL_RIG_H
#define VG_TEST_CALL_RIG_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>

#include "audio/clip.h"
#include "call/call.h"

static inline int rig_answer(void *a)
{
	(void)a;
	return 0;
}

static inline int rig_hangup(void *a, enum call_fsm_action act,
			     const char *reason)
{
	(void)a;
	(void)act;
	(void)reason;
	return 0;
}

/* The platform side of a test call: answer and hangup succeed and do
 * nothing; no transfer. */
static const struct call_media_ops __attribute__((unused)) rig_media_ops = {
	.answer = rig_answer,
	.hangup = rig_hangup,
};

/* A new sip call ("cid", sip:a@x to 1000) at 1000 ms. */
static inline struct call *rig_call_create(void)
{
	struct call_params p = { .platform = "sip",
				 .from = "sip:a@x",
				 .to = "1000",
				 .platform_id = "cid",
				 .now_ms = 1000 };
	struct call *c = NULL;
	assert_int_equal(call_create(&c, &p, &rig_media_ops, NULL), 0);
	return c;
}

/* rig_call_create(), its channel's events to h(arg), answered at 1000
 * and acked at 1010 ms: active; *now is 1020 ms, the next frame's time. */
static inline struct call *rig_call_active(channel_event_fn *h, void *arg,
					   uint64_t *now)
{
	struct call *c = rig_call_create();
	channel_set_handler(call_channel(c), h, arg);
	assert_int_equal(call_answer(c, 1000), 0);
	call_signal(c, CALL_EV_ACK, 1010);
	assert_int_equal(call_state(c), CALL_ACTIVE);
	*now = 1020;
	return c;
}

/* Line noise at about -60 dBFS: what a quiet caller line carries. */
static inline void rig_noise_frame(int16_t *pcm, unsigned *seed)
{
	for (int i = 0; i < 160; i++) {
		*seed = *seed * 1103515245u + 12345u;
		pcm[i] = (int16_t)((int)((*seed >> 16) % 65) - 32);
	}
}

/* The clip's first 20 ms frame above -40 dBFS (0: none; flite starts
 * with silence). */
static inline size_t rig_first_loud_frame(const struct audio_clip *clip)
{
	for (size_t f = 0; f + 1 < clip->nsamples / 160; f++) {
		double e = 0;
		for (int k = 0; k < 160; k++) {
			double v = clip->samples[f * 160 + k];
			e += v * v;
		}
		if (sqrt(e / 160) > 327.0) /* -40 dBFS */
			return f;
	}
	return 0;
}

#endif
