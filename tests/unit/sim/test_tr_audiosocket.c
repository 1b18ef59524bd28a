/* Tests for the AudioSocket transport of `voxgate simulate` through the
 * whole caller (sim_run): a fake voxgate-side server on a thread with
 * plain blocking sockets on 127.0.0.1. Checked: the UUID message comes
 * first and is the call reference, deterministic from the seed and call
 * number; a burst of reply audio is played out in real time (the caller
 * waits for the end of the played prompt before it keys); keys arrive as
 * DTMF messages; a hangup message ends the call as the server's; an error
 * message fails the call with its code; audio frames are 20 ms of slin. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sim/scenario.h"
#include "sim/sim_int.h"

enum mode {
	MODE_BURST_THEN_KEY, /* 1 s of voice at once; wait for a key; hangup */
	MODE_ERROR,	     /* an error message (code 0x05) */
	MODE_AGI_REFUSE,     /* FastAGI: VOXGATE_RESULT "error" */
};

struct server {
	int lfd;
	uint16_t port;
	enum mode mode;
	pthread_t th;
	/* what the server saw */
	char uuid[37];
	int audio_msgs, bad_audio;
	char key;
	long long uuid_to_key_ms;
	int ok; /* the session ran as scripted */
	char agi_env[2048];
	char agi_reply[64];
};

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int read_full(int fd, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = read(fd, p, n);
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* One message: kind, len, payload into buf[4096]. */
static int read_msg(int fd, uint8_t *kind, uint8_t *buf, size_t *len)
{
	uint8_t h[3];
	if (read_full(fd, h, 3))
		return -1;
	*kind = h[0];
	*len = (size_t)h[1] << 8 | h[2];
	return *len > 4096 ? -1 : read_full(fd, buf, *len);
}

static void write_msg(int fd, uint8_t kind, const void *p, size_t len)
{
	uint8_t b[3 + 4096];
	b[0] = kind;
	b[1] = (uint8_t)(len >> 8);
	b[2] = (uint8_t)len;
	if (len)
		memcpy(b + 3, p, len);
	(void)!write(fd, b, 3 + len);
}

static void *serve(void *arg)
{
	struct server *s = arg;
	int fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	uint8_t kind, buf[4096];
	size_t len;
	if (s->mode == MODE_AGI_REFUSE) {
		/* the AGI environment ends with an empty line */
		size_t n = 0;
		while (n + 1 < sizeof(s->agi_env) &&
		       !(n >= 2 && !memcmp(s->agi_env + n - 2, "\n\n", 2))) {
			if (read(fd, s->agi_env + n, 1) != 1)
				goto out;
			n++;
		}
		static const char cmd[] =
			"SET VARIABLE VOXGATE_RESULT \"error\"\n";
		(void)!write(fd, cmd, sizeof(cmd) - 1);
		n = 0;
		while (n + 1 < sizeof(s->agi_reply) &&
		       read(fd, s->agi_reply + n, 1) == 1 &&
		       s->agi_reply[n] != '\n')
			n++;
		s->agi_reply[n] = '\0';
		s->ok = 1;
		goto out;
	}
	if (read_msg(fd, &kind, buf, &len) || kind != 0x01 || len != 16)
		goto out;
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			s->uuid[o++] = '-';
		s->uuid[o++] = hex[buf[i] >> 4];
		s->uuid[o++] = hex[buf[i] & 15];
	}
	long long t_uuid = mono_ms();
	if (s->mode == MODE_ERROR) {
		uint8_t code = 0x05;
		write_msg(fd, 0xff, &code, 1);
		s->ok = 1;
		/* keep reading until the caller closes */
		while (!read_msg(fd, &kind, buf, &len))
			;
		goto out;
	}
	/* 1 s of a loud tone in one burst of 25 messages of 40 ms */
	uint8_t tone[640];
	for (int i = 0; i < 320; i++) {
		int16_t v = (int16_t)((i / 4) % 2 ? 8000 : -8000);
		tone[2 * i] = (uint8_t)((uint16_t)v & 0xff);
		tone[2 * i + 1] = (uint8_t)((uint16_t)v >> 8);
	}
	for (int i = 0; i < 25; i++)
		write_msg(fd, 0x10, tone, sizeof(tone));
	for (;;) {
		if (read_msg(fd, &kind, buf, &len))
			goto out;
		if (kind == 0x10) {
			s->audio_msgs++;
			s->bad_audio += len != 320;
		} else if (kind == 0x03 && len == 1) {
			s->key = (char)buf[0];
			s->uuid_to_key_ms = mono_ms() - t_uuid;
			break;
		}
	}
	/* the caller's turn is over 500 ms after the key (reply_timeout):
	 * a hangup after that is the server ending the call */
	struct timespec nap = { 1, 0 };
	nanosleep(&nap, NULL);
	write_msg(fd, 0x00, NULL, 0); /* hangup, then close */
	s->ok = 1;
out:
	close(fd);
	return NULL;
}

static void server_start(struct server *s, enum mode mode)
{
	memset(s, 0, sizeof(*s));
	s->mode = mode;
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->lfd >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->lfd, 4), 0);
	socklen_t al = sizeof(a);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &al), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->th, NULL, serve, s), 0);
}

static void server_join(struct server *s)
{
	pthread_join(s->th, NULL);
	close(s->lfd);
}

static struct sim_scenario *scenario_p(uint16_t port, const char *params,
				       const char *turns)
{
	char yaml[1024], err[SIM_ERR_MAX];
	snprintf(yaml, sizeof(yaml),
		 "transport: audiosocket\n"
		 "target: tcp://127.0.0.1:%u\n"
		 "%s"
		 "quiet: 200ms\n"
		 "reply_timeout: 500ms\n"
		 "end_silence: 3s\n"
		 "max_duration: 10s\n"
		 "variation: {seed: 42}\n"
		 "turns:\n%s",
		 port, params, turns);
	struct sim_scenario *sc = NULL;
	if (sim_scenario_parse("t.yaml", yaml, strlen(yaml), &sc, err))
		fail_msg("%s", err);
	return sc;
}

static struct sim_scenario *scenario(uint16_t port, const char *turns)
{
	return scenario_p(port, "", turns);
}

static void run_one(struct sim_scenario *sc, struct sim_call_result *res)
{
	static struct sim_audio audio; /* no say: turns */
	struct sim_opts o = { .calls = 1, .concurrency = 1, .quiet = true };
	size_t n = 0;
	memset(res, 0, sizeof(*res));
	assert_int_equal(sim_run(&o, sc, &audio, res, &n), 0);
	assert_int_equal(n, 1);
}

static void burst_is_played_out_in_real_time(void **state)
{
	(void)state;
	struct server s;
	server_start(&s, MODE_BURST_THEN_KEY);
	struct sim_scenario *sc = scenario(
		s.port, "  - dtmf: \"7\"\n    expect: {reply: false}\n");
	struct sim_call_result res;
	run_one(sc, &res);
	server_join(&s);
	assert_true(s.ok);
	assert_true(res.answered);
	if (res.failed)
		fail_msg("call failed: %s", res.reason);
	/* the call reference is the UUID the server got */
	assert_string_equal(res.sip_call_id, s.uuid);
	assert_int_equal(s.uuid[14], '4'); /* version 4 layout */
	assert_int_equal(s.key, '7');
	/* the 1 s burst was heard over 1 s, then quiet (200 ms): the key
	 * comes after both, not right after the burst arrived */
	if (s.uuid_to_key_ms < 1150 || s.uuid_to_key_ms > 2500)
		fail_msg("key %lld ms after the UUID", s.uuid_to_key_ms);
	/* 20 ms of slin per message, one per tick until the key */
	assert_int_equal(s.bad_audio, 0);
	assert_true(s.audio_msgs >= 50);
	assert_true(res.server_bye);
	assert_false(res.caller_bye);
	assert_true(res.rtp_rx >= 25);
	sim_scenario_destroy(sc);
}

static void uuid_is_deterministic(void **state)
{
	(void)state;
	char first[64];
	for (int i = 0; i < 2; i++) {
		struct server s;
		server_start(&s, MODE_ERROR);
		struct sim_scenario *sc = scenario(s.port, "  - dtmf: \"1\"\n");
		struct sim_call_result res;
		run_one(sc, &res);
		server_join(&s);
		assert_string_equal(res.sip_call_id, s.uuid);
		if (!i)
			snprintf(first, sizeof(first), "%s", s.uuid);
		else
			assert_string_equal(first, s.uuid);
		sim_scenario_destroy(sc);
	}
}

static void error_message_fails_the_call(void **state)
{
	(void)state;
	struct server s;
	server_start(&s, MODE_ERROR);
	struct sim_scenario *sc = scenario(s.port, "  - dtmf: \"1\"\n");
	struct sim_call_result res;
	run_one(sc, &res);
	server_join(&s);
	assert_true(s.ok);
	assert_true(res.failed);
	assert_string_equal(res.reason, "AudioSocket error message from the "
					"server (code 0x05)");
	sim_scenario_destroy(sc);
}

static void refused_connection_fails_the_call(void **state)
{
	(void)state;
	/* a port nobody listens on: bind one, close it */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t al = sizeof(a);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	close(fd);
	struct sim_scenario *sc =
		scenario(ntohs(a.sin_port), "  - dtmf: \"1\"\n");
	struct sim_call_result res;
	run_one(sc, &res);
	assert_false(res.answered);
	assert_true(res.failed);
	assert_string_equal(res.reason,
			    "AudioSocket connect: Connection refused");
	sim_scenario_destroy(sc);
}

/* params.agi: the FastAGI set-up step comes first, with the UUID and the
 * flow as its arguments; a set-up the server refuses fails the call before
 * any AudioSocket connection. */
static void refused_agi_setup_fails_the_call(void **state)
{
	(void)state;
	struct server s;
	server_start(&s, MODE_AGI_REFUSE);
	char params[128];
	snprintf(params, sizeof(params),
		 "params: {agi: \"agi://127.0.0.1:%u/audiosocket\", "
		 "flow: bank-crm, extension: \"5000\"}\n",
		 s.port);
	/* the AudioSocket target is never dialled: port 9 (discard) */
	struct sim_scenario *sc = scenario_p(9, params, "  - dtmf: \"1\"\n");
	struct sim_call_result res;
	run_one(sc, &res);
	server_join(&s);
	assert_true(s.ok);
	assert_string_equal(s.agi_reply, "200 result=1");
	char want[320];
	snprintf(want, sizeof(want), "agi_arg_1: %s\nagi_arg_2: bank-crm\n",
		 res.sip_call_id);
	assert_non_null(strstr(s.agi_env, want));
	assert_non_null(strstr(s.agi_env, "agi_network_script: audiosocket\n"));
	assert_non_null(strstr(s.agi_env, "agi_dnid: 5000\n"));
	assert_false(res.answered);
	assert_true(res.failed);
	assert_string_equal(res.reason,
			    "FastAGI set-up refused (VOXGATE_RESULT=error)");
	sim_scenario_destroy(sc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(burst_is_played_out_in_real_time),
		cmocka_unit_test(uuid_is_deterministic),
		cmocka_unit_test(error_message_fails_the_call),
		cmocka_unit_test(refused_connection_fails_the_call),
		cmocka_unit_test(refused_agi_setup_fails_the_call),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
