/* FastAGI server against a scripted Asterisk side: this test connects over
 * loopback, sends environment blocks, answers each command from a script
 * (200, 511, 520 multi-line, -2, the async HANGUP line, socket close) and
 * asserts the commands voxgate sent, the variables it set and the events the
 * channel raised. One flow runs end to end (say, DTMF menus, transfer). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>
#include <cmocka.h>
#include <re.h>

#include "audio/clip.h"
#include "audio/wav.h"
#include "call/channel.h"
#include "core/loop.h"
#include "core/wpool.h"
#include "engines/tts/tts.h"
#include "flow/flow.h"
#include "telephony/asterisk/agi.h"
#include "telephony/asterisk/fastagi.h"
#include "loop_sync.h"

static struct vg_loop *g_loop;
static struct wpool *g_pool;
static struct tts *g_tts;
static struct fastagi *g_fa;
static char g_dir[64];
static uint16_t g_port;
/* Transfer settings of the next create_server ("" = defaults). */
static const char *g_sip_fmt = "", *g_queue_app = "";

/* ---- what the daemon side saw (written on the loop) ---- */

enum mode {
	M_FLOW,
	M_LISTEN,
	M_LISTEN2,
	M_COLLECT,
	M_COLLECT2,
	M_QUEUE,
	M_SIPXFER
};

static struct {
	pthread_mutex_t mu;
	sem_t gone;
	enum mode mode;
	struct flow *flow;
	struct flow_session *fs;
	unsigned news;
	char flow_asked[64], from[64], to[64];
	char end_reason[32], path[512], dtmf[64];
	char turns[4096]; /* fastagi_info turns_json, "" when NULL */
	/* driver results */
	int listen_end;
	unsigned listen_rate;
	size_t listen_nsamples;
	uint32_t listen_speech_ms;
	bool speech_start;
	int transfer_err, transfer_status;
	int collect_end;
	char collect_digits[33];
	unsigned collects;
	unsigned events_after_hangup;
	bool hung;
} g;

static void driver_ev(struct channel *ch, const struct channel_event *ev,
		      void *arg)
{
	(void)arg;
	pthread_mutex_lock(&g.mu);
	if (g.hung)
		g.events_after_hangup++;
	switch (ev->type) {
	case CHANNEL_EV_SPEECH_START:
		g.speech_start = true;
		break;
	case CHANNEL_EV_LISTEN_DONE: {
		g.listen_end = ev->listen.end;
		if (ev->listen.audio) {
			g.listen_rate = ev->listen.audio->rate_hz;
			g.listen_nsamples = ev->listen.audio->nsamples;
		}
		g.listen_speech_ms = ev->listen.speech_ms;
		pthread_mutex_unlock(&g.mu);
		struct channel_collect c = { .max_digits = 4,
					     .terminators = "#",
					     .first_timeout_ms = 2000,
					     .interdigit_timeout_ms = 1000 };
		assert_int_equal(channel_collect(ch, &c), 0);
		return;
	}
	case CHANNEL_EV_COLLECT_DONE:
		g.collect_end = ev->collect.end;
		snprintf(g.collect_digits, sizeof(g.collect_digits), "%s",
			 ev->collect.digits);
		if (++g.collects == 1 && g.mode == M_COLLECT2) {
			pthread_mutex_unlock(&g.mu);
			/* Second collect: ends on the inter-digit timeout. */
			struct channel_collect c = {
				.max_digits = 4,
				.first_timeout_ms = 2000,
				.interdigit_timeout_ms = 700,
			};
			assert_int_equal(channel_collect(ch, &c), 0);
			return;
		}
		if (g.collects == 2 && g.mode == M_COLLECT2) {
			pthread_mutex_unlock(&g.mu);
			assert_int_equal(channel_hangup(ch, "completed"), 0);
			return;
		}
		break;
	case CHANNEL_EV_TRANSFER_DONE:
		g.transfer_err = ev->err;
		g.transfer_status = ev->transfer.status;
		pthread_mutex_unlock(&g.mu);
		/* A transfer that worked ends the session by itself. */
		if (ev->err || ev->transfer.status >= 300)
			assert_int_equal(channel_hangup(ch, "completed"), 0);
		return;
	case CHANNEL_EV_HANGUP:
		g.hung = true;
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&g.mu);
}

static int session_new(struct channel *ch, const struct fastagi_call *c,
		       void *arg)
{
	(void)arg;
	pthread_mutex_lock(&g.mu);
	g.news++;
	snprintf(g.flow_asked, sizeof(g.flow_asked), "%s",
		 c->flow ? c->flow : "");
	snprintf(g.from, sizeof(g.from), "%s", c->from);
	snprintf(g.to, sizeof(g.to), "%s", c->to);
	enum mode m = g.mode;
	pthread_mutex_unlock(&g.mu);
	if (m == M_FLOW) {
		struct flow_env env = { .tts = g_tts, .loop = g_loop };
		int err = flow_session_create(&g.fs, g.flow, ch, &env);
		if (!err)
			err = flow_session_start(g.fs);
		return err;
	}
	channel_set_handler(ch, driver_ev, NULL);
	if (m == M_LISTEN) {
		struct channel_turn t = { .intent = "check_balance",
					  .intent_confidence = 0.87f };
		channel_note_turn(ch, &t);
		struct channel_listen l = { .trailing_silence_ms = 800 };
		return channel_listen(ch, &l);
	}
	if (m == M_LISTEN2) {
		struct channel_listen l = { .no_input_ms = 4000,
					    .trailing_silence_ms = 1500,
					    .max_speech_ms = 8000 };
		return channel_listen(ch, &l);
	}
	if (m == M_COLLECT2) {
		struct channel_collect c3 = { .max_digits = 4,
					      .terminators = "#",
					      .first_timeout_ms = 2000,
					      .interdigit_timeout_ms = 1000 };
		return channel_collect(ch, &c3);
	}
	if (m == M_COLLECT) {
		struct channel_collect c2 = { .max_digits = 2,
					      .first_timeout_ms = 3000 };
		return channel_collect(ch, &c2);
	}
	if (m == M_SIPXFER)
		return channel_transfer(ch, "sip:agent@pbx");
	const struct channel_kv kv[] = { { "account-id", "12\"34" } };
	return channel_transfer_ctx(ch, "queue:support", kv, 1);
}

static void session_gone(struct channel *ch, void *arg)
{
	(void)arg;
	struct fastagi_info in;
	fastagi_info(ch, &in);
	flow_session_destroy(g.fs);
	g.fs = NULL;
	pthread_mutex_lock(&g.mu);
	snprintf(g.end_reason, sizeof(g.end_reason), "%s",
		 in.end_reason ? in.end_reason : "");
	snprintf(g.path, sizeof(g.path), "%s", in.flow_path_json);
	snprintf(g.dtmf, sizeof(g.dtmf), "%s", in.dtmf);
	snprintf(g.turns, sizeof(g.turns), "%s",
		 in.turns_json ? in.turns_json : "");
	pthread_mutex_unlock(&g.mu);
	sem_post(&g.gone);
}

static void create_server(void *arg)
{
	(void)arg;
	struct fastagi_cfg cfg = { .host = "127.0.0.1",
				   .port = 0,
				   .pool = g_pool,
				   .loop = g_loop,
				   .env_timeout_ms = 1000 };
	snprintf(cfg.sounds_dir, sizeof(cfg.sounds_dir), "%s", g_dir);
	snprintf(cfg.sip_dial_fmt, sizeof(cfg.sip_dial_fmt), "%s", g_sip_fmt);
	snprintf(cfg.queue_app, sizeof(cfg.queue_app), "%s", g_queue_app);
	static const struct fastagi_handlers h = {
		.session_new = session_new,
		.session_gone = session_gone,
	};
	assert_int_equal(fastagi_create(&g_fa, &cfg, &h, NULL), 0);
	g_port = fastagi_local_port(g_fa);
}

static void destroy_server(void *arg)
{
	(void)arg;
	fastagi_destroy(g_fa);
	g_fa = NULL;
}

static void read_active(void *arg)
{
	*(unsigned *)arg = fastagi_active(g_fa);
}

/* ---- the Asterisk side ---- */

struct ast {
	int fd;
	char buf[8192];
	size_t len;
};

static void ast_connect(struct ast *a)
{
	memset(a, 0, sizeof(*a));
	a->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(a->fd >= 0);
	struct timeval tv = { .tv_sec = 10 };
	setsockopt(a->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(g_port) };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(a->fd, (struct sockaddr *)&sin, sizeof(sin)),
			 0);
}

static void ast_send(struct ast *a, const char *s)
{
	assert_int_equal(send(a->fd, s, strlen(s), MSG_NOSIGNAL),
			 (ssize_t)strlen(s));
}

/* Next line from voxgate (without '\n') into out; false on close. */
static bool ast_line(struct ast *a, char *out, size_t cap)
{
	for (;;) {
		char *nl = memchr(a->buf, '\n', a->len);
		if (nl) {
			size_t n = (size_t)(nl - a->buf);
			assert_true(n < cap);
			memcpy(out, a->buf, n);
			out[n] = '\0';
			memmove(a->buf, nl + 1, a->len - n - 1);
			a->len -= n + 1;
			return true;
		}
		ssize_t r = recv(a->fd, a->buf + a->len,
				 sizeof(a->buf) - a->len, 0);
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return false;
		if (r < 0)
			fail_msg("recv: %s (timeout waiting for a command)",
				 strerror(errno));
		a->len += (size_t)r;
	}
}

/* Expect a command starting with prefix; returns it in line. */
static void ast_expect(struct ast *a, const char *prefix, char *line,
		       size_t cap)
{
	if (!ast_line(a, line, cap))
		fail_msg("closed, expected \"%s\"", prefix);
	if (strncmp(line, prefix, strlen(prefix)))
		fail_msg("got \"%s\", expected \"%s\"", line, prefix);
}

static void ast_expect_closed(struct ast *a)
{
	char line[1024];
	if (ast_line(a, line, sizeof(line)))
		fail_msg("got \"%s\", expected close", line);
	close(a->fd);
}

static void wait_gone(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	assert_int_equal(sem_timedwait(&g.gone, &ts), 0);
}

/* The path inside the first quoted argument of a command. */
static void first_quoted(const char *line, char *out, size_t cap)
{
	const char *q = strchr(line, '"');
	assert_non_null(q);
	const char *e = strchr(q + 1, '"');
	assert_non_null(e);
	assert_true((size_t)(e - q - 1) < cap);
	memcpy(out, q + 1, (size_t)(e - q - 1));
	out[e - q - 1] = '\0';
}

/* A STREAM FILE names an 8 kHz WAV that exists. */
static void assert_prompt_file(const char *line)
{
	char p[400], f[420];
	first_quoted(line, p, sizeof(p));
	assert_int_equal(strncmp(p, g_dir, strlen(g_dir)), 0);
	snprintf(f, sizeof(f), "%s.wav", p);
	struct audio_clip *c = NULL;
	assert_int_equal(wav_read(f, &c, NULL, 0), 0);
	assert_int_equal(c->rate_hz, 8000);
	assert_true(c->nsamples > 2000);
	audio_clip_deref(c);
}

static void reset(enum mode m)
{
	pthread_mutex_lock(&g.mu);
	struct flow *f = g.flow;
	memset(&g.flow_asked, 0, sizeof(g) - offsetof(typeof(g), flow_asked));
	g.flow = f;
	g.mode = m;
	g.news = 0;
	pthread_mutex_unlock(&g.mu);
}

static const char *const flow_yaml =
	"name: agi-test\n"
	"start: hello\n"
	"nodes:\n"
	"  hello:\n"
	"    type: say\n"
	"    text: Welcome to voxgate bank.\n"
	"    next: main_menu\n"
	"  main_menu:\n"
	"    type: menu\n"
	"    prompt: For your balance, press 1.\n"
	"    options:\n"
	"      1: balance\n"
	"    timeout: 3s\n"
	"    retries: 1\n"
	"    on_max_retries: bye\n"
	"  balance:\n"
	"    type: say\n"
	"    text: Your balance is ten dollars.\n"
	"    next: second_menu\n"
	"  second_menu:\n"
	"    type: menu\n"
	"    prompt: To speak to an agent, press 2.\n"
	"    options:\n"
	"      2: agent\n"
	"    timeout: 3s\n"
	"    retries: 1\n"
	"    on_max_retries: bye\n"
	"  agent:\n"
	"    type: transfer\n"
	"    target: sip:agent@pbx.example\n"
	"    on_fail: bye\n"
	"  bye:\n"
	"    type: hangup\n"
	"    reason: completed\n";

static void reply_setvars(struct ast *a, char *line, size_t cap,
			  const char *until)
{
	/* Variables voxgate may set along the way; each gets 200. */
	for (;;) {
		assert_true(ast_line(a, line, cap));
		if (!strncmp(line, until, strlen(until)))
			return;
		if (strncmp(line, "SET VARIABLE ", 13))
			fail_msg("got \"%s\", expected \"%s\"", line, until);
		ast_send(a, "200 result=1\n");
	}
}

/* ---- tests ---- */

static double t_ms(const cJSON *turn, const char *key)
{
	const cJSON *v =
		cJSON_GetObjectItem(cJSON_GetObjectItem(turn, "t_ms"), key);
	assert_non_null(v);
	return cJSON_IsNumber(v) ? v->valuedouble : -1.0;
}

/* The CDR turns of the DTMF menus: one per menu, timed from the key; the
 * first one's reply (the balance prompt) was sent to Asterisk, the
 * second's was a transfer (no prompt); first_rtp is never known. */
static void assert_turns_of_the_menus(void)
{
	cJSON *turns = cJSON_Parse(g.turns);
	assert_true(cJSON_IsArray(turns));
	assert_int_equal(cJSON_GetArraySize(turns), 2);
	static const char *const next[] = { "balance", "agent" };
	for (int i = 0; i < 2; i++) {
		const cJSON *t = cJSON_GetArrayItem(turns, i);
		assert_int_equal(cJSON_GetObjectItem(t, "seq")->valueint,
				 i + 1);
		assert_string_equal(
			cJSON_GetObjectItem(t, "input")->valuestring, "dtmf");
		assert_string_equal(cJSON_GetObjectItem(t, "end")->valuestring,
				    "dtmf");
		assert_string_equal(cJSON_GetObjectItem(t, "next")->valuestring,
				    next[i]);
		assert_true(cJSON_IsNull(cJSON_GetObjectItem(t, "transcript")));
		assert_true(t_ms(t, "speech_end") == 0.0);
		assert_true(t_ms(t, "stt_final") < 0);
		assert_true(t_ms(t, "nlu_done") < 0);
		assert_true(t_ms(t, "response") >= 0);
		assert_true(t_ms(t, "first_rtp") < 0);
	}
	const cJSON *t0 = cJSON_GetArrayItem(turns, 0);
	assert_string_equal(cJSON_GetObjectItem(t0, "node")->valuestring,
			    "main_menu");
	assert_true(t_ms(t0, "tts_ready") >= t_ms(t0, "response"));
	assert_true(t_ms(cJSON_GetArrayItem(turns, 1), "tts_ready") < 0);
	cJSON_Delete(turns);
}

static void flow_runs_say_menus_and_transfer_over_agi(void **state)
{
	(void)state;
	reset(M_FLOW);
	struct ast a;
	char line[1024];
	ast_connect(&a);
	/* Split env, "key: value" style with args. */
	ast_send(&a,
		 "agi_network: yes\nagi_network_script: agi-test\n"
		 "agi_request: agi://127.0.0.1/agi-test\n"
		 "agi_channel: PJSIP/alice-00000001\n"
		 "agi_uniqueid: 1700000000.1\nagi_callerid: +15551230000\n");
	ast_send(&a, "agi_dnid: 100\nagi_extension: 100\nagi_arg_1: x\n\n");
	ast_expect(&a, "ANSWER", line, sizeof(line));
	ast_send(&a, "200 result=0\n");

	ast_expect(&a, "STREAM FILE \"", line, sizeof(line));
	assert_prompt_file(line);
	ast_send(&a, "200 result=0 endpos=12000\n");

	/* Menu prompt: keys are escape digits; '1' pressed during it. */
	reply_setvars(&a, line, sizeof(line), "STREAM FILE");
	assert_prompt_file(line);
	assert_non_null(strstr(line, "\"0123456789*#\""));
	ast_send(&a, "200 result=49 endpos=4000\n");

	reply_setvars(&a, line, sizeof(line), "STREAM FILE");
	assert_prompt_file(line);
	ast_send(&a, "200 result=0 endpos=16000\n");

	/* Second menu: no key during the prompt, then WAIT FOR DIGIT. */
	reply_setvars(&a, line, sizeof(line), "STREAM FILE");
	ast_send(&a, "200 result=0 endpos=16000\n");
	reply_setvars(&a, line, sizeof(line), "WAIT FOR DIGIT ");
	assert_true(atoi(line + 15) > 0 && atoi(line + 15) <= 3000);
	ast_send(&a, "200 result=50\n");

	reply_setvars(
		&a, line, sizeof(line),
		"SET VARIABLE VOXGATE_TRANSFER \"sip:agent@pbx.example\"");
	ast_send(&a, "200 result=1\n");
	reply_setvars(&a, line, sizeof(line), "EXEC Dial ");
	assert_string_equal(
		line, "EXEC Dial \"PJSIP/voxgate/sip:agent@pbx.example\"");
	ast_send(&a, "200 result=0\n");
	ast_expect(&a, "GET VARIABLE DIALSTATUS", line, sizeof(line));
	ast_send(&a, "200 result=1 (ANSWER)\n");
	ast_expect(&a, "SET VARIABLE VOXGATE_RESULT \"transferred\"", line,
		   sizeof(line));
	ast_send(&a, "200 result=1\n");
	ast_expect_closed(&a);
	wait_gone();
	assert_int_equal(g.news, 1);
	assert_string_equal(g.flow_asked, "agi-test");
	assert_string_equal(g.from, "+15551230000");
	assert_string_equal(g.to, "100");
	assert_string_equal(g.end_reason, "transferred");
	assert_string_equal(g.dtmf, "12");
	assert_string_equal(g.path, "[\"hello\",\"main_menu\",\"balance\","
				    "\"second_menu\",\"agent\"]");
	assert_turns_of_the_menus();
}

static void speech_turn_records_reads_wav_and_survives_hangup(void **state)
{
	(void)state;
	reset(M_LISTEN);
	struct ast a;
	char line[1024];
	ast_connect(&a);
	/* "key:value" without the space; flow from agi_arg_1. */
	ast_send(&a, "agi_network:yes\nagi_callerid:200\nagi_dnid:unknown\n"
		     "agi_extension:s\nagi_arg_1:sales\n\n");
	ast_expect(&a, "ANSWER", line, sizeof(line));
	ast_send(&a, "200 result=0\n");
	ast_expect(&a, "SET VARIABLE VOXGATE_INTENT \"check_balance\"", line,
		   sizeof(line));
	/* A multi-line 520 is one reply. */
	ast_send(&a, "520-Invalid command syntax.  Proper usage follows:\n"
		     " Usage: SET VARIABLE <variablename> <value>\n"
		     "520 End of proper usage.\n");
	ast_expect(&a, "SET VARIABLE VOXGATE_CONFIDENCE \"0.87\"", line,
		   sizeof(line));
	ast_send(&a, "200 result=1\n");
	ast_expect(&a, "RECORD FILE \"", line, sizeof(line));
	assert_non_null(strstr(line, "\" wav \"#\" 15000 s=1"));
	char rec[400], cmd[900], wavp[420];
	first_quoted(line, rec, sizeof(rec));
	assert_int_equal(strncmp(rec, g_dir, strlen(g_dir)), 0);
	snprintf(wavp, sizeof(wavp), "%s.wav", rec);
	snprintf(cmd, sizeof(cmd),
		 "espeak-ng -w '%s' 'I would like to check my balance'", wavp);
	assert_int_equal(system(cmd), 0);
	ast_send(&a, "200 result=0 (timeout) endpos=24000\n");

	/* The driver collects after the listen: the caller hangs up while
	 * WAIT FOR DIGIT runs; HANGUP comes before its reply. */
	ast_expect(&a, "WAIT FOR DIGIT 2000", line, sizeof(line));
	ast_send(&a, "HANGUP\n");
	usleep(50000);
	ast_send(&a, "200 result=-1\n");
	ast_expect(&a, "SET VARIABLE VOXGATE_RESULT \"hangup\"", line,
		   sizeof(line));
	ast_send(&a, "511 Command Not Permitted on a dead channel or "
		     "intercept routine\n");
	ast_expect_closed(&a);
	wait_gone();
	assert_string_equal(g.flow_asked, "sales");
	assert_string_equal(g.to, "s");
	assert_int_equal(g.listen_end, LISTEN_SPEECH);
	assert_true(g.speech_start);
	assert_int_equal(g.listen_rate, 8000);
	assert_true(g.listen_nsamples > 8000);
	assert_true(g.listen_speech_ms >= 500);
	assert_string_equal(g.end_reason, "caller_hangup");
	assert_int_equal(g.events_after_hangup, 0);
	/* The turn noted without times is recorded with null times (and
	 * takes no tts_ready from a later prompt). */
	cJSON *turns = cJSON_Parse(g.turns);
	assert_int_equal(cJSON_GetArraySize(turns), 1);
	const cJSON *t = cJSON_GetArrayItem(turns, 0);
	assert_string_equal(cJSON_GetObjectItem(t, "intent")->valuestring,
			    "check_balance");
	assert_true(t_ms(t, "speech_end") < 0 && t_ms(t, "tts_ready") < 0);
	cJSON_Delete(turns);
	/* The caller's audio does not stay on disk. */
	struct stat st;
	assert_int_not_equal(stat(wavp, &st), 0);
}

static void queue_transfer_without_app_fails_then_hangs_up(void **state)
{
	(void)state;
	reset(M_QUEUE);
	struct ast a;
	char line[1024];
	ast_connect(&a);
	ast_send(&a, "agi_network: yes\nagi_callerid: 300\n\n");
	ast_expect(&a, "ANSWER", line, sizeof(line));
	ast_send(&a, "200 result=0\n");
	ast_expect(&a, "SET VARIABLE VOXGATE_TRANSFER \"queue:support\"", line,
		   sizeof(line));
	ast_send(&a, "200 result=1\n");
	ast_expect(&a, "SET VARIABLE VOXGATE_CTX_ACCOUNT_ID \"12\\\"34\"", line,
		   sizeof(line));
	ast_send(&a, "200 result=1\n");
	ast_expect(&a, "EXEC Queue \"support\"", line, sizeof(line));
	ast_send(&a, "200 result=-2\n");
	ast_expect(&a, "SET VARIABLE VOXGATE_RESULT \"completed\"", line,
		   sizeof(line));
	ast_send(&a, "200 result=1\n");
	ast_expect(&a, "HANGUP", line, sizeof(line));
	ast_send(&a, "200 result=1\n");
	ast_expect_closed(&a);
	wait_gone();
	assert_int_equal(g.transfer_status, 501);
	assert_int_not_equal(g.transfer_err, 0);
	assert_string_equal(g.end_reason, "completed");
	assert_string_equal(g.flow_asked, "");
}

/* asterisk.dial_sip and asterisk.queue_app reach the AGI commands. */
static void configured_dial_string_and_queue_app_are_used(void **state)
{
	(void)state;
	run_on_loop(g_loop, destroy_server, NULL);
	g_sip_fmt = "PJSIP/%s";
	g_queue_app = "AgentQueue";
	run_on_loop(g_loop, create_server, NULL);
	struct ast a;
	char line[1024];

	reset(M_QUEUE);
	ast_connect(&a);
	ast_send(&a, "agi_network: yes\nagi_callerid: 300\n\n");
	ast_expect(&a, "ANSWER", line, sizeof(line));
	ast_send(&a, "200 result=0\n");
	ast_expect(&a, "SET VARIABLE VOXGATE_TRANSFER", line, sizeof(line));
	ast_send(&a, "200 result=1\n");
	ast_expect(&a, "SET VARIABLE VOXGATE_CTX_ACCOUNT_ID", line,
		   sizeof(line));
	ast_send(&a, "200 result=1\n");
	ast_expect(&a, "EXEC AgentQueue \"support\"", line, sizeof(line));
	ast_send(&a, "200 result=-2\n");
	ast_expect(&a, "SET VARIABLE VOXGATE_RESULT", line, sizeof(line));
	ast_send(&a, "200 result=1\n");
	ast_expect(&a, "HANGUP", line, sizeof(line));
	ast_send(&a, "200 result=1\n");
	ast_expect_closed(&a);
	wait_gone();

	reset(M_SIPXFER);
	ast_connect(&a);
	ast_send(&a, "agi_network: yes\nagi_callerid: 300\n\n");
	ast_expect(&a, "ANSWER", line, sizeof(line));
	ast_send(&a, "200 result=0\n");
	ast_expect(&a, "SET VARIABLE VOXGATE_TRANSFER \"sip:agent@pbx\"", line,
		   sizeof(line));
	ast_send(&a, "200 result=1\n");
	ast_expect(&a, "EXEC Dial", line, sizeof(line));
	assert_string_equal(line, "EXEC Dial \"PJSIP/sip:agent@pbx\"");
	ast_send(&a, "200 result=0\n");
	ast_expect(&a, "GET VARIABLE DIALSTATUS", line, sizeof(line));
	ast_send(&a, "200 result=1 (ANSWER)\n");
	ast_expect(&a, "SET VARIABLE VOXGATE_RESULT \"transferred\"", line,
		   sizeof(line));
	ast_send(&a, "200 result=1\n");
	ast_expect_closed(&a);
	wait_gone();
	assert_int_equal(g.transfer_status, 200);
	assert_string_equal(g.end_reason, "transferred");

	/* ${user}/${host}/${uri} placeholders instead of %s. */
	run_on_loop(g_loop, destroy_server, NULL);
	g_sip_fmt = "PJSIP/${user}@trunk-${host}/${uri}";
	run_on_loop(g_loop, create_server, NULL);
	reset(M_SIPXFER);
	ast_connect(&a);
	ast_send(&a, "agi_network: yes\nagi_callerid: 300\n\n");
	ast_expect(&a, "ANSWER", line, sizeof(line));
	ast_send(&a, "200 result=0\n");
	ast_expect(&a, "SET VARIABLE VOXGATE_TRANSFER", line, sizeof(line));
	ast_send(&a, "200 result=1\n");
	ast_expect(&a, "EXEC Dial", line, sizeof(line));
	assert_string_equal(
		line, "EXEC Dial \"PJSIP/agent@trunk-pbx/sip:agent@pbx\"");
	ast_send(&a, "200 result=0\n");
	ast_expect(&a, "GET VARIABLE DIALSTATUS", line, sizeof(line));
	ast_send(&a, "200 result=1 (BUSY)\n");
	ast_expect(&a, "SET VARIABLE VOXGATE_RESULT", line, sizeof(line));
	ast_send(&a, "200 result=1\n");
	ast_expect(&a, "HANGUP", line, sizeof(line));
	ast_send(&a, "200 result=1\n");
	ast_expect_closed(&a);
	wait_gone();
	assert_true(g.transfer_status >= 300);

	run_on_loop(g_loop, destroy_server, NULL);
	g_sip_fmt = g_queue_app = "";
	run_on_loop(g_loop, create_server, NULL);
}

static void socket_close_mid_command_ends_the_call(void **state)
{
	(void)state;
	reset(M_COLLECT);
	struct ast a;
	char line[1024];
	ast_connect(&a);
	ast_send(&a, "agi_network: yes\n\n");
	ast_expect(&a, "ANSWER", line, sizeof(line));
	ast_send(&a, "200 result=0\n");
	ast_expect(&a, "WAIT FOR DIGIT 3000", line, sizeof(line));
	ast_send(&a, "200 result=55\n");
	ast_expect(&a, "WAIT FOR DIGIT", line, sizeof(line));
	close(a.fd);
	wait_gone();
	assert_string_equal(g.end_reason, "caller_hangup");
	assert_string_equal(g.dtmf, "7");
	assert_int_equal(g.collect_end, 0); /* never completed */
	unsigned n = 99;
	run_on_loop(g_loop, read_active, &n);
	assert_int_equal(n, 0);
}

/* RECORD FILE takes the listen's (the gather step's) end silence (s=N,
 * whole seconds rounded up) and its no-input timeout plus max speech (the
 * whole recording's bound in ms), not fixed values. flow/session.c maps
 * the step: timeout -> no_input_ms, end_silence -> trailing_silence_ms,
 * max_speech -> max_speech_ms. */
static void record_file_takes_silence_and_timeout_from_the_step(void **state)
{
	(void)state;
	reset(M_LISTEN2);
	struct ast a;
	char line[1024];
	ast_connect(&a);
	ast_send(&a, "agi_network: yes\nagi_uniqueid: 1700000000.9\n\n");
	ast_expect(&a, "ANSWER", line, sizeof(line));
	ast_send(&a, "200 result=0\n");
	reply_setvars(&a, line, sizeof(line), "RECORD FILE \"");
	assert_non_null(strstr(line, "\" wav \"#\" 12000 s=2"));
	close(a.fd);
	wait_gone();
	assert_string_equal(g.end_reason, "caller_hangup");
}

static void collect_honours_terminator_and_interdigit_timeout(void **state)
{
	(void)state;
	reset(M_COLLECT2);
	struct ast a;
	char line[1024];
	ast_connect(&a);
	ast_send(&a, "agi_network: yes\n\n");
	ast_expect(&a, "ANSWER", line, sizeof(line));
	ast_send(&a, "200 result=0\n");
	/* First key within the first-digit timeout, later ones within the
	 * inter-digit one; '#' ends it and is not part of the digits. */
	ast_expect(&a, "WAIT FOR DIGIT 2000", line, sizeof(line));
	ast_send(&a, "200 result=49\n");
	ast_expect(&a, "WAIT FOR DIGIT 1000", line, sizeof(line));
	ast_send(&a, "200 result=57\n");
	ast_expect(&a, "WAIT FOR DIGIT 1000", line, sizeof(line));
	ast_send(&a, "200 result=35\n");
	/* Second collect: one key then silence. */
	ast_expect(&a, "WAIT FOR DIGIT 2000", line, sizeof(line));
	ast_send(&a, "200 result=52\n");
	ast_expect(&a, "WAIT FOR DIGIT 700", line, sizeof(line));
	ast_send(&a, "200 result=0\n");
	ast_expect(&a, "SET VARIABLE VOXGATE_RESULT \"completed\"", line,
		   sizeof(line));
	ast_send(&a, "200 result=1\n");
	ast_expect(&a, "HANGUP", line, sizeof(line));
	ast_send(&a, "HANGUP\n200 result=1\n");
	ast_expect_closed(&a);
	wait_gone();
	assert_int_equal(g.collects, 2);
	assert_int_equal(g.collect_end, COLLECT_INTERDIGIT);
	assert_string_equal(g.collect_digits, "4");
	assert_string_equal(g.dtmf, "19#4");
	assert_string_equal(g.end_reason, "completed");
}

static void bad_environment_closes_without_a_session(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"agi_network: yes\nthis line has no colon\n\n",
		"agi_arg_0: x\n\n",
		"agi_network: yes\n", /* never ends: env timeout */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		reset(M_COLLECT);
		struct ast a;
		ast_connect(&a);
		ast_send(&a, bad[i]);
		ast_expect_closed(&a);
		assert_int_equal(g.news, 0);
	}
	/* An oversized block. */
	reset(M_COLLECT);
	struct ast a;
	ast_connect(&a);
	char big[4096];
	memset(big, 'a', sizeof(big));
	memcpy(big, "agi_x: ", 7); /* NOLINT: not a string */
	for (int i = 0; i < 6; i++)
		(void)send(a.fd, big, sizeof(big), MSG_NOSIGNAL);
	ast_expect_closed(&a);
	assert_int_equal(g.news, 0);
}

static void garbage_reply_closes_the_session(void **state)
{
	(void)state;
	reset(M_COLLECT);
	struct ast a;
	char line[1024];
	ast_connect(&a);
	ast_send(&a, "agi_network: yes\n\n");
	ast_expect(&a, "ANSWER", line, sizeof(line));
	ast_send(&a, "200 result=0\n");
	ast_expect(&a, "WAIT FOR DIGIT", line, sizeof(line));
	ast_send(&a, "999 what\n");
	ast_expect_closed(&a);
	wait_gone();
	assert_string_equal(g.end_reason, "protocol_error");
}

static void hangup_all_on_loop(void *arg)
{
	(void)arg;
	fastagi_hangup_all(g_fa, "shutdown");
}

static void drain_on_loop(void *arg)
{
	(void)arg;
	fastagi_drain(g_fa);
}

/* Shutdown: open sessions are hung up once their command returns; then
 * draining refuses new connections. Runs last (the server stays
 * draining). */
static void shutdown_hangs_up_then_refuses(void **state)
{
	(void)state;
	reset(M_COLLECT);
	struct ast a;
	char line[1024];
	ast_connect(&a);
	ast_send(&a, "agi_network: yes\n\n");
	ast_expect(&a, "ANSWER", line, sizeof(line));
	ast_send(&a, "200 result=0\n");
	ast_expect(&a, "WAIT FOR DIGIT", line, sizeof(line));
	run_on_loop(g_loop, hangup_all_on_loop, NULL);
	ast_send(&a, "200 result=0\n");
	ast_expect(&a, "SET VARIABLE VOXGATE_RESULT \"shutdown\"", line,
		   sizeof(line));
	ast_send(&a, "200 result=1\n");
	ast_expect(&a, "HANGUP", line, sizeof(line));
	ast_send(&a, "200 result=1\n");
	ast_expect_closed(&a);
	wait_gone();
	assert_string_equal(g.end_reason, "shutdown");
	assert_int_equal(g.collect_end, 0);

	run_on_loop(g_loop, drain_on_loop, NULL);
	reset(M_COLLECT);
	ast_connect(&a);
	ast_send(&a, "agi_network: yes\n\n");
	ast_expect_closed(&a);
	assert_int_equal(g.news, 0);
}

static int setup(void **state)
{
	(void)state;
	pthread_mutex_init(&g.mu, NULL);
	sem_init(&g.gone, 0, 0);
	snprintf(g_dir, sizeof(g_dir), "/tmp/vg-agi-XXXXXX");
	if (!mkdtemp(g_dir))
		return -1;
	if (libre_init() || loop_create(&g_loop, "media") ||
	    loop_start(g_loop) || wpool_create(&g_pool, 2, 32) ||
	    tts_create(&g_tts, g_pool, NULL))
		return -1;
	struct flow_errors errs = { 0 };
	if (flow_load_buf("agi-test.yaml", flow_yaml, strlen(flow_yaml),
			  &g.flow, &errs)) {
		fprintf(stderr, "%s\n", errs.msg[0]);
		return -1;
	}
	run_on_loop(g_loop, create_server, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	run_on_loop(g_loop, destroy_server, NULL);
	wpool_destroy(g_pool);
	loop_destroy(g_loop);
	tts_destroy(g_tts);
	flow_deref(g.flow);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	if (system(cmd) != 0) /* best effort: a temp dir */
		fprintf(stderr, "test_fastagi: could not remove %s\n", g_dir);
	libre_close();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(flow_runs_say_menus_and_transfer_over_agi),
		cmocka_unit_test(
			speech_turn_records_reads_wav_and_survives_hangup),
		cmocka_unit_test(
			queue_transfer_without_app_fails_then_hangs_up),
		cmocka_unit_test(configured_dial_string_and_queue_app_are_used),
		cmocka_unit_test(socket_close_mid_command_ends_the_call),
		cmocka_unit_test(
			record_file_takes_silence_and_timeout_from_the_step),
		cmocka_unit_test(
			collect_honours_terminator_and_interdigit_timeout),
		cmocka_unit_test(bad_environment_closes_without_a_session),
		cmocka_unit_test(garbage_reply_closes_the_session),
		cmocka_unit_test(shutdown_hangs_up_then_refuses),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
