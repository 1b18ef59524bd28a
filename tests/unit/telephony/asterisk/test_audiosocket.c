/* AudioSocket server on loopback: a client thread speaks the Asterisk side
 * (UUID, audio in odd sizes and at 16 kHz, DTMF, hangup or close) while the
 * loop runs a small DTMF flow on the call's channel: prompt A, collect one
 * digit, prompt B, hang up. Checks the pacing of our frames, the digits, the
 * re-chunked audio and how the call ends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <re.h>

#include "audio/clip.h"
#include "call/call.h"
#include "call/channel.h"
#include "core/clock.h"
#include "telephony/asterisk/audiosocket.h"
#include "audio/audiosocket_frame.h"

enum { AMP_A = 1000, AMP_B = 2000, MAX_FRAMES = 400 };

enum client_mode {
	CLIENT_DTMF_FLOW, /* audio, DTMF '2' during prompt A, wait for us */
	CLIENT_CLOSE,	  /* close the socket during prompt A */
	CLIENT_HANGUP,	  /* send a hangup frame during prompt A */
	CLIENT_GARBAGE,	  /* audio before any UUID */
	CLIENT_OVERSIZED, /* UUID, then a 5000-byte length */
	CLIENT_STALL,	  /* small receive buffer, no reads for 1.5 s */
};

struct client {
	enum client_mode mode;
	uint16_t port;
	pthread_t th;
	/* results */
	unsigned nframes;
	uint64_t at_us[MAX_FRAMES];
	int16_t first_sample[MAX_FRAMES];
	bool got_hangup; /* a 0x00 frame from us */
	bool got_eof;
	bool bad_kind;	 /* anything but audio or hangup from us */
	bool bad_length; /* audio that is not 320 bytes */
};

struct fixture {
	struct audiosocket *as;
	struct client cl;
	struct audio_clip *a, *b;
	bool answered;
	bool b_started;
	int calls_new, calls_gone;
	char end_reason[64];
	char dtmf[16];
	char id[40], from[64], platform[32], to[32];
	uint64_t rx_frames, tx_frames, tx_dropped;
	struct tmr guard, stop;
};

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

static const uint8_t uuid[16] = { 0xde, 0xad, 0xbe, 0xef, 0, 1, 2,  3,
				  4,	5,    6,    7,	  8, 9, 10, 11 };

static void send_all(int fd, const uint8_t *b, size_t len)
{
	while (len) {
		ssize_t n = send(fd, b, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		b += n;
		len -= (size_t)n;
	}
}

static void send_kind(int fd, uint8_t kind, const void *p, size_t len)
{
	uint8_t buf[3 + 4096];
	int n = audiosocket_frame_encode(kind, p, len, buf, sizeof(buf));
	if (n > 0)
		send_all(fd, buf, (size_t)n);
}

/* Read our frames until EOF or the deadline; returns on EOF. */
static void read_frames(struct client *cl, int fd, uint64_t until_us,
			unsigned stop_after_a)
{
	struct audiosocket_framer f;
	audiosocket_framer_init(&f);
	unsigned na = 0;
	while (mono_us() < until_us) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 10) <= 0)
			continue;
		uint8_t buf[4096];
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0) {
			cl->got_eof = true;
			return;
		}
		uint64_t now = mono_us();
		size_t pos = 0;
		while (pos < (size_t)n) {
			struct audiosocket_msg m;
			size_t used;
			int r = audiosocket_framer_feed(
				&f, buf + pos, (size_t)n - pos, &used, &m);
			pos += used;
			if (r <= 0)
				break;
			if (m.kind == AUDIOSOCKET_HANGUP) {
				cl->got_hangup = true;
				continue;
			}
			if (m.kind != AUDIOSOCKET_AUDIO) {
				cl->bad_kind = true;
				continue;
			}
			if (m.len != 320) {
				cl->bad_length = true;
				continue;
			}
			int16_t s0 = (int16_t)(uint16_t)(m.payload[0] |
							 m.payload[1] << 8);
			if (s0 == 0 || cl->nframes >= MAX_FRAMES)
				continue;
			cl->at_us[cl->nframes] = now;
			cl->first_sample[cl->nframes++] = s0;
			if (s0 == AMP_A && ++na == stop_after_a)
				return;
		}
	}
}

static void *client_main(void *arg)
{
	struct client *cl = arg;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (cl->mode == CLIENT_STALL) {
		int small = 4096;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	}
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(cl->port) };
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		close(fd);
		return NULL;
	}
	uint64_t deadline = mono_us() + 4000000;
	if (cl->mode == CLIENT_GARBAGE) {
		uint8_t pcm[320] = { 0 };
		send_kind(fd, AUDIOSOCKET_AUDIO, pcm, sizeof(pcm));
		read_frames(cl, fd, deadline, 0);
		close(fd);
		return NULL;
	}
	/* The UUID split over two writes, like any TCP segmentation. */
	uint8_t hdr[19];
	audiosocket_frame_encode(AUDIOSOCKET_UUID, uuid, 16, hdr, sizeof(hdr));
	send_all(fd, hdr, 5);
	usleep(2000);
	send_all(fd, hdr + 5, 14);
	if (cl->mode == CLIENT_STALL) {
		usleep(1500000);
		read_frames(cl, fd, mono_us() + 500000, 0);
		close(fd);
		return NULL;
	}
	if (cl->mode == CLIENT_OVERSIZED) {
		const uint8_t big[] = { 0x10, 0x13, 0x88 };
		send_all(fd, big, sizeof(big));
		read_frames(cl, fd, deadline, 0);
		close(fd);
		return NULL;
	}
	/* 10 frames of 8 kHz audio in odd-sized messages (3200 bytes), an
	 * unknown kind (skipped), then one 20 ms frame at 16 kHz. */
	static uint8_t pcm[3200];
	for (size_t i = 0; i < sizeof(pcm); i += 2) {
		pcm[i] = 0x10;
		pcm[i + 1] = 0x00;
	}
	const size_t sizes[] = { 2, 318, 100, 900, 1000, 480, 400 };
	size_t off = 0;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		send_kind(fd, AUDIOSOCKET_AUDIO, pcm + off, sizes[i]);
		off += sizes[i];
	}
	send_kind(fd, 0x42, "xy", 2);
	send_kind(fd, 0x12, pcm, 640);

	read_frames(cl, fd, deadline, 15);
	if (cl->mode == CLIENT_CLOSE) {
		close(fd);
		return NULL;
	}
	if (cl->mode == CLIENT_HANGUP) {
		send_kind(fd, AUDIOSOCKET_HANGUP, NULL, 0);
		read_frames(cl, fd, deadline, 0);
		close(fd);
		return NULL;
	}
	const uint8_t two = '2';
	send_kind(fd, AUDIOSOCKET_DTMF, &two, 1);
	read_frames(cl, fd, deadline, 0);
	close(fd);
	return NULL;
}

/* ---------- the flow on the channel ---------- */

static struct audio_clip *tone(unsigned ms, int16_t amp)
{
	struct audio_clip *c = audio_clip_alloc(ms * 8, 8000);
	assert_non_null(c);
	for (size_t i = 0; i < c->nsamples; i++)
		c->samples[i] = amp;
	return c;
}

static void play(struct channel *ch, struct audio_clip *clip, const char *n)
{
	struct channel_prompt p = {
		.name = n, .text = n, .clip = clip, .dtmf_barge_in = true
	};
	assert_int_equal(channel_play(ch, &p), 0);
}

static void on_event(struct channel *ch, const struct channel_event *ev,
		     void *arg)
{
	struct fixture *fx = arg;
	if (ev->type == CHANNEL_EV_COLLECT_DONE) {
		if (ev->collect.end == COLLECT_MAX_DIGITS &&
		    !strcmp(ev->collect.digits, "2")) {
			play(ch, fx->b, "b");
			fx->b_started = true;
		} else {
			channel_hangup(ch, "no_input");
		}
	} else if (ev->type == CHANNEL_EV_PLAY_DONE && !ev->play.interrupted &&
		   fx->b_started) {
		channel_hangup(ch, "done");
	}
}

static int h_new(struct call *c, void *arg)
{
	struct fixture *fx = arg;
	fx->calls_new++;
	channel_set_handler(call_channel(c), on_event, fx);
	return 0;
}

static void h_state(struct call *c, int old, void *arg)
{
	struct fixture *fx = arg;
	if (old == CALL_RINGING && call_state(c) == CALL_ANSWERING) {
		fx->answered = true;
		struct channel *ch = call_channel(c);
		play(ch, fx->a, "a");
		struct channel_collect col = { .max_digits = 1,
					       .first_timeout_ms = 3000,
					       .interdigit_timeout_ms = 1000 };
		assert_int_equal(channel_collect(ch, &col), 0);
	}
}

static void stop_loop(void *arg)
{
	(void)arg;
	re_cancel();
}

static void h_gone(struct call *c, void *arg)
{
	struct fixture *fx = arg;
	fx->calls_gone++;
	snprintf(fx->end_reason, sizeof(fx->end_reason), "%s",
		 call_end_reason(c) ? call_end_reason(c) : "");
	snprintf(fx->dtmf, sizeof(fx->dtmf), "%s", call_dtmf(c));
	snprintf(fx->from, sizeof(fx->from), "%s", call_from(c));
	snprintf(fx->id, sizeof(fx->id), "%s", call_id(c));
	snprintf(fx->to, sizeof(fx->to), "%s", call_to(c));
	snprintf(fx->platform, sizeof(fx->platform), "%s", call_platform(c));
	fx->rx_frames = call_rtp_received(c);
	fx->tx_frames = call_rtp_sent(c);
	/* Let the client see the close before the loop stops. */
	tmr_start(&fx->stop, 100, stop_loop, fx);
}

static void run(struct fixture *fx, enum client_mode mode)
{
	memset(fx, 0, sizeof(*fx));
	assert_int_equal(libre_init(), 0);
	fx->a = tone(1000, AMP_A);
	fx->b = tone(200, AMP_B);
	struct audiosocket_cfg cfg = { .host = "127.0.0.1",
				       .port = 0,
				       .uuid_timeout_ms = 1000 };
	struct audiosocket_handlers h = { .call_new = h_new,
					  .call_state = h_state,
					  .call_gone = h_gone };
	assert_int_equal(audiosocket_create(&fx->as, &cfg, &h, fx), 0);
	fx->cl.mode = mode;
	fx->cl.port = audiosocket_local_port(fx->as);
	assert_true(fx->cl.port > 0);
	tmr_init(&fx->guard);
	tmr_init(&fx->stop);
	tmr_start(&fx->guard, 5000, stop_loop, fx);
	assert_int_equal(pthread_create(&fx->cl.th, NULL, client_main, &fx->cl),
			 0);
	if (mode == CLIENT_GARBAGE)
		tmr_start(&fx->stop, 500, stop_loop, fx);
	(void)re_main(NULL);
	pthread_join(fx->cl.th, NULL);
	tmr_cancel(&fx->guard);
	tmr_cancel(&fx->stop);
	fx->tx_dropped = audiosocket_tx_dropped(fx->as);
	audiosocket_destroy(fx->as);
	audio_clip_deref(fx->a);
	audio_clip_deref(fx->b);
	libre_close();
}

static void dtmf_flow_paces_prompts_and_hangs_up(void **state)
{
	(void)state;
	static struct fixture fx;
	run(&fx, CLIENT_DTMF_FLOW);
	assert_int_equal(fx.calls_new, 1);
	assert_int_equal(fx.calls_gone, 1);
	assert_true(fx.answered);
	assert_string_equal(fx.platform, "audiosocket");
	assert_string_equal(fx.from, "deadbeef-0001-0203-0405-060708090a0b");
	assert_string_equal(fx.to, "audiosocket");
	assert_string_equal(fx.id, fx.from);
	assert_string_equal(fx.dtmf, "2");
	assert_string_equal(fx.end_reason, "done");
	/* 3200 bytes at 8 kHz in 7 messages + 640 bytes at 16 kHz. */
	assert_int_equal(fx.rx_frames, 11);

	struct client *cl = &fx.cl;
	assert_false(cl->bad_kind);
	assert_false(cl->bad_length);
	assert_true(cl->got_hangup);
	assert_true(cl->got_eof);
	/* Prompt A until the key, then all of prompt B (10 frames). */
	unsigned na = 0, nb = 0, first_b = 0;
	for (unsigned i = 0; i < cl->nframes; i++) {
		if (cl->first_sample[i] == AMP_A)
			na++;
		else if (cl->first_sample[i] == AMP_B && !nb++)
			first_b = i;
	}
	assert_true(na >= 15);
	assert_true(na < 50); /* barge-in cut prompt A */
	assert_int_equal(nb, 10);
	/* Prompt B is paced: 10 frames over ~180 ms, never a burst. */
	uint64_t span = cl->at_us[first_b + 9] - cl->at_us[first_b];
	assert_in_range(span, 140000, 260000);
	unsigned fast = 0;
	for (unsigned i = 1; i < cl->nframes; i++)
		if (cl->at_us[i] - cl->at_us[i - 1] < 5000)
			fast++;
	assert_true(fast <= 2);
	/* The first 15 frames of prompt A too (~280 ms). */
	span = cl->at_us[14] - cl->at_us[0];
	assert_in_range(span, 220000, 380000);
}

static void caller_close_ends_the_call(void **state)
{
	(void)state;
	static struct fixture fx;
	run(&fx, CLIENT_CLOSE);
	assert_int_equal(fx.calls_new, 1);
	assert_int_equal(fx.calls_gone, 1);
	assert_string_equal(fx.end_reason, "caller_hangup");
	assert_string_equal(fx.dtmf, "");
}

static void caller_hangup_frame_ends_the_call(void **state)
{
	(void)state;
	static struct fixture fx;
	run(&fx, CLIENT_HANGUP);
	assert_int_equal(fx.calls_gone, 1);
	assert_string_equal(fx.end_reason, "caller_hangup");
	assert_true(fx.cl.got_eof);
	assert_false(fx.cl.got_hangup);
}

static void audio_before_uuid_is_refused(void **state)
{
	(void)state;
	static struct fixture fx;
	run(&fx, CLIENT_GARBAGE);
	assert_int_equal(fx.calls_new, 0);
	assert_int_equal(fx.calls_gone, 0);
	assert_true(fx.cl.got_eof);
	assert_int_equal(fx.cl.nframes, 0);
}

static void oversized_message_ends_the_call(void **state)
{
	(void)state;
	static struct fixture fx;
	run(&fx, CLIENT_OVERSIZED);
	assert_int_equal(fx.calls_new, 1);
	assert_int_equal(fx.calls_gone, 1);
	assert_string_equal(fx.end_reason, "error");
	assert_true(fx.cl.got_hangup);
	assert_true(fx.cl.got_eof);
}

static void
a_peer_that_stops_reading_gets_frames_dropped_not_queued(void **state)
{
	(void)state;
	static struct fixture fx;
	run(&fx, CLIENT_STALL);
	assert_int_equal(fx.calls_gone, 1);
	/* 1.5 s without reads: once the small receive window and two frames
	 * in our socket are full, every further frame is dropped. */
	assert_true(fx.tx_dropped >= 20);
	assert_true(fx.tx_frames + fx.tx_dropped >= 75);
	/* What arrives after the stall is a short backlog, not 1.5 s of
	 * prompt: prompt A (1 s) is mostly lost. */
	print_message("received %u prompt frames, sent %llu, dropped %llu\n",
		      fx.cl.nframes, (unsigned long long)fx.tx_frames,
		      (unsigned long long)fx.tx_dropped);
	assert_true(fx.cl.nframes < 40);
	assert_false(fx.cl.bad_length);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dtmf_flow_paces_prompts_and_hangs_up),
		cmocka_unit_test(caller_close_ends_the_call),
		cmocka_unit_test(caller_hangup_frame_ends_the_call),
		cmocka_unit_test(audio_before_uuid_is_refused),
		cmocka_unit_test(oversized_message_ends_the_call),
		cmocka_unit_test(
			a_peer_that_stops_reading_gets_frames_dropped_not_queued),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
