/* Unit tests for the flow runtime: the demo flow driven through a scripted
 * fake channel (text and audio), retries, transfers, barge-in and
 * type-ahead, hangups, the loop guard, and destroy at awkward moments
 * (inside a channel call, with a TTS job in flight). */
#include <errno.h>
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
#include <time.h>

#include <cmocka.h>

#include "audio/clip.h"
#include "call/channel.h"
#include "core/clock.h"
#include "core/loop.h"
#include "core/wpool.h"
#include "engines/tts/tts.h"
#include "flow/flow.h"
#include "flow/model.h"
#include "flow/model.h"
#include "fake_channel.h"
#include "loop_sync.h"

#define AGENT "sip:agents@pbx.example.com"

/* ---- fixtures ---- */

/* The DTMF-only demo flow of the first release: these tests pin the
 * runtime's key-driven behaviour, independent of the built-in flow. */
static const char *const dtmf_demo =
	"name: bank-hotline\n"
	"start: greeting\n"
	"\n"
	"nodes:\n"
	"  greeting:\n"
	"    type: say\n"
	"    text: Welcome to voxgate bank.\n"
	"    barge_in: true            # regulars may key their choice "
	"straight away\n"
	"    next: main_menu\n"
	"\n"
	"  main_menu:\n"
	"    type: menu\n"
	"    prompt: >-\n"
	"      For your account balance, press 1.\n"
	"      For card services, press 2.\n"
	"      To speak to an agent, press 0.\n"
	"    options:\n"
	"      1: balance\n"
	"      2: card_menu\n"
	"      0: agent_hold\n"
	"    timeout: 5s\n"
	"    retries: 2\n"
	"    no_input: Sorry, I did not hear a choice.\n"
	"    invalid: Sorry, that is not a valid choice.\n"
	"    on_max_retries: agent_hold\n"
	"\n"
	"  balance:\n"
	"    type: say\n"
	"    text: >-\n"
	"      Your available balance is one thousand two hundred and fifty "
	"dollars\n"
	"      and forty cents.\n"
	"    next: goodbye\n"
	"\n"
	"  card_menu:\n"
	"    type: menu\n"
	"    prompt: >-\n"
	"      To report a lost or stolen card, press 1.\n"
	"      To activate a new card, press 2.\n"
	"      To return to the main menu, press 9.\n"
	"    options:\n"
	"      1: card_lost\n"
	"      2: card_activate\n"
	"      9: main_menu\n"
	"    timeout: 5s\n"
	"    retries: 2\n"
	"    no_input: Sorry, I did not hear a choice.\n"
	"    invalid: Sorry, that is not a valid choice.\n"
	"    on_max_retries: agent_hold\n"
	"\n"
	"  card_lost:\n"
	"    type: say\n"
	"    text: >-\n"
	"      Your card has been blocked. A replacement card will arrive "
	"within\n"
	"      five business days.\n"
	"    next: goodbye\n"
	"\n"
	"  card_activate:\n"
	"    type: say\n"
	"    text: Your new card is now active and ready to use.\n"
	"    next: goodbye\n"
	"\n"
	"  agent_hold:\n"
	"    type: say\n"
	"    text: Please hold while we connect you to an agent.\n"
	"    next: agent\n"
	"\n"
	"  agent:\n"
	"    type: transfer\n"
	"    target: agent\n"
	"    on_fail: no_agents\n"
	"\n"
	"  no_agents:\n"
	"    type: say\n"
	"    text: Sorry, no agents are available right now. Please call again "
	"later.\n"
	"    next: goodbye\n"
	"\n"
	"  goodbye:\n"
	"    type: say\n"
	"    text: Thank you for calling voxgate bank. Goodbye.\n"
	"    next: end\n"
	"\n"
	"  end:\n"
	"    type: hangup\n"
	"    reason: completed\n";

struct fixture {
	struct fake f;
	struct flow *flow;
	struct flow_session *s;
	struct flow_env env;
};

static struct fixture *fixture_new(const struct channel_ops *ops,
				   const char *yaml)
{
	struct fixture *x = calloc(1, sizeof(*x));
	assert_non_null(x);
	x->f.ch.ops = ops;
	x->f.ch.id = "test-call";
	if (yaml) {
		struct flow_errors errs = { 0 };
		int err = flow_load_buf("t.yaml", yaml, strlen(yaml), &x->flow,
					&errs);
		if (err)
			fprintf(stderr, "%s\n", errs.msg[0]);
		assert_int_equal(err, 0);
	} else {
		assert_int_equal(flow_load_builtin("bank-hotline", &x->flow),
				 0);
	}
	x->env.agent_uri = AGENT;
	return x;
}

static void fixture_start(struct fixture *x)
{
	assert_int_equal(flow_session_create(&x->s, x->flow, &x->f.ch, &x->env),
			 0);
	x->f.session = x->s;
	/* The session holds its own reference. */
	x->flow = flow_deref(x->flow);
	assert_int_equal(flow_session_start(x->s), 0);
	deliver(&x->f);
}

static void fixture_free(struct fixture *x)
{
	flow_session_destroy(x->s);
	flow_deref(x->flow);
	free(x);
}

static struct fixture *demo(void)
{
	struct fixture *x = fixture_new(&text_ops, dtmf_demo);
	fixture_start(x);
	return x;
}

#define MENU_COLLECT "collect:1/5000/3000/\n"

/* ---- the demo flow on a text channel ---- */

static void pressing_1_plays_the_balance_then_goodbye_and_hangs_up(void **s)
{
	(void)s;
	struct fixture *x = demo();
	struct fake *f = &x->f;
	assert_string_equal(f->log, "play:greeting\n");
	assert_string_equal(f->last_text, "Welcome to voxgate bank.");
	assert_string_equal(flow_session_node(x->s), "greeting");
	play_ends(f);
	assert_string_equal(f->last_text,
			    "For your account balance, press 1. For card "
			    "services, press 2. To speak to an agent, press "
			    "0.");
	play_ends(f);
	press(f, '1');
	play_ends(f);
	assert_false(flow_session_done(x->s));
	play_ends(f);
	assert_string_equal(f->log,
			    "play:greeting\n"
			    "play:main_menu\n" MENU_COLLECT "play:balance\n"
			    "play:goodbye\n"
			    "hangup:completed\n");
	assert_string_equal(f->path, "greeting,main_menu,balance,goodbye,end");
	assert_true(flow_session_done(x->s));
	fixture_free(x);
}

static void pressing_0_transfers_to_the_agent_uri(void **s)
{
	(void)s;
	struct fixture *x = demo();
	struct fake *f = &x->f;
	play_ends(f);
	press(f, '0'); /* during the menu prompt: barge-in */
	assert_string_equal(f->last_text,
			    "Please hold while we connect you to an agent.");
	play_ends(f);
	assert_string_equal(f->log,
			    "play:greeting\n"
			    "play:main_menu\n" MENU_COLLECT "play:agent_hold\n"
			    "transfer:" AGENT "\n");
	assert_false(flow_session_done(x->s));
	transfer_result(f, 0, 202);
	assert_true(flow_session_done(x->s));
	/* The channel hangs up after a transfer; the flow sends nothing. */
	caller_hangs_up(f);
	assert_string_equal(f->path, "greeting,main_menu,agent_hold,agent");
	assert_null(strstr(f->log, "hangup:"));
	fixture_free(x);
}

static void a_refused_transfer_takes_on_fail(void **s)
{
	(void)s;
	struct fixture *x = demo();
	struct fake *f = &x->f;
	play_ends(f);
	press(f, '0');
	play_ends(f);
	transfer_result(f, 0, 486);
	assert_string_equal(f->last_text, "Sorry, no agents are available "
					  "right now. Please call again "
					  "later.");
	play_ends(f);
	play_ends(f);
	assert_true(flow_session_done(x->s));
	assert_string_equal(f->path, "greeting,main_menu,agent_hold,agent,"
				     "no_agents,goodbye,end");
	assert_true(strstr(f->log, "hangup:completed\n") != NULL);
	fixture_free(x);
}

static void a_transfer_error_or_missing_agent_uri_takes_on_fail(void **s)
{
	(void)s;
	/* The transfer completes with an error. */
	struct fixture *x = demo();
	play_ends(&x->f);
	press(&x->f, '0');
	play_ends(&x->f);
	transfer_result(&x->f, -ETIMEDOUT, 0);
	assert_string_equal(flow_session_node(x->s), "no_agents");
	fixture_free(x);

	/* The channel refuses the request outright. */
	x = fixture_new(&text_ops, dtmf_demo);
	x->f.transfer_err = -ENOTSUP;
	fixture_start(x);
	play_ends(&x->f);
	press(&x->f, '0');
	play_ends(&x->f);
	assert_string_equal(flow_session_node(x->s), "no_agents");
	assert_true(x->f.playing);
	fixture_free(x);

	/* No agent URI configured: no transfer is even tried. */
	x = fixture_new(&text_ops, dtmf_demo);
	x->env.agent_uri = NULL;
	fixture_start(x);
	play_ends(&x->f);
	press(&x->f, '0');
	play_ends(&x->f);
	assert_null(strstr(x->f.log, "transfer:"));
	assert_string_equal(flow_session_node(x->s), "no_agents");
	fixture_free(x);
}

static const char *const queue_flow = "name: q\n"
				      "start: xfer\n"
				      "nodes:\n"
				      "  xfer:\n"
				      "    type: transfer\n"
				      "    target: \"queue:{{q}}\"\n"
				      "    on_fail: sorry\n"
				      "  sorry:\n"
				      "    type: hangup\n"
				      "    reason: closed\n"
				      "variables:\n"
				      "  q: billing\n";

static void a_mapped_queue_transfers_to_its_uri(void **s)
{
	(void)s;
	static const struct flow_queue queues[] = {
		{ .name = "fraud", .uri = "tel:+15550100" },
		{ .name = "billing", .uri = "sip:billing@pbx" },
	};
	struct fixture *x = fixture_new(&text_ops, queue_flow);
	x->env.queues = queues;
	x->env.nqueues = 2;
	fixture_start(x);
	assert_string_equal(x->f.log, "transfer:sip:billing@pbx\n");
	transfer_result(&x->f, 0, 202);
	assert_true(flow_session_done(x->s));
	assert_string_equal(x->f.path, "xfer");
	fixture_free(x);
}

static void an_unmapped_queue_reaches_the_channel_as_is(void **s)
{
	(void)s;
	static const struct flow_queue queues[] = {
		{ .name = "fraud", .uri = "tel:+15550100" },
	};
	/* FastAGI runs its queue application on it; a SIP channel refuses
	 * (-ENOENT): on_fail. */
	struct fixture *x = fixture_new(&text_ops, queue_flow);
	x->env.queues = queues;
	x->env.nqueues = 1;
	x->f.transfer_err = -ENOENT;
	fixture_start(x);
	assert_string_equal(x->f.log, "transfer:queue:billing\n"
				      "hangup:closed\n");
	assert_string_equal(x->f.path, "xfer,sorry");
	fixture_free(x);
}

static void queue_uri_lookup_matches_whole_names_only(void **s)
{
	(void)s;
	static const struct flow_queue q[] = {
		{ .name = "bill", .uri = "sip:a@pbx" },
		{ .name = "billing", .uri = "sip:b@pbx" },
	};
	assert_string_equal(flow_queue_uri(q, 2, "queue:billing"), "sip:b@pbx");
	assert_string_equal(flow_queue_uri(q, 2, "queue:bill"), "sip:a@pbx");
	assert_null(flow_queue_uri(q, 2, "queue:bil"));
	assert_null(flow_queue_uri(q, 2, "queue:"));
	assert_null(flow_queue_uri(q, 2, "billing"));
	assert_null(flow_queue_uri(q, 2, "sip:billing@x"));
	assert_null(flow_queue_uri(q, 1, "queue:billing"));
	assert_null(flow_queue_uri(NULL, 0, "queue:bill"));
	assert_null(flow_queue_uri(q, 2, NULL));
}

static void no_input_retries_then_ends_at_on_max_retries(void **s)
{
	(void)s;
	struct fixture *x = demo();
	struct fake *f = &x->f;
	play_ends(f);
	play_ends(f);
	first_timeout(f); /* 1st: retry */
	assert_string_equal(f->last_text, "Sorry, I did not hear a choice.");
	play_ends(f);
	play_ends(f);
	first_timeout(f); /* 2nd: retry */
	play_ends(f);
	play_ends(f);
	first_timeout(f); /* 3rd: retries (2) used up */
	assert_string_equal(f->log, "play:greeting\n"
				    "play:main_menu\n" MENU_COLLECT
				    "play:main_menu.no_input\n" MENU_COLLECT
				    "play:main_menu\n"
				    "play:main_menu.no_input\n" MENU_COLLECT
				    "play:main_menu\n"
				    "play:agent_hold\n");
	/* A retry is not a new node in the CDR path. */
	assert_string_equal(f->path, "greeting,main_menu,agent_hold");
	play_ends(f);
	assert_true(strstr(f->log, "transfer:" AGENT "\n") != NULL);
	fixture_free(x);
}

static void an_invalid_key_plays_the_invalid_prompt_and_asks_again(void **s)
{
	(void)s;
	struct fixture *x = demo();
	struct fake *f = &x->f;
	play_ends(f);
	press(f, '7');
	assert_string_equal(f->last_text, "Sorry, that is not a valid choice.");
	/* The caller may answer during the apology: type-ahead counts. */
	press(f, '2');
	assert_string_equal(f->log, "play:greeting\n"
				    "play:main_menu\n" MENU_COLLECT
				    "play:main_menu.invalid\n" MENU_COLLECT
				    "play:card_menu\n" MENU_COLLECT);
	assert_string_equal(f->path, "greeting,main_menu,card_menu");
	fixture_free(x);
}

static void digits_typed_during_the_greeting_choose_from_the_menu(void **s)
{
	(void)s;
	struct fixture *x = demo();
	struct fake *f = &x->f;
	press(f, '2'); /* barge-in on the greeting; kept as type-ahead */
	/* The menu's collect takes the key at once and stops its prompt. */
	assert_string_equal(flow_session_node(x->s), "card_menu");
	assert_string_equal(f->path, "greeting,main_menu,card_menu");
	press(f, '1');
	assert_string_equal(flow_session_node(x->s), "card_lost");
	assert_string_equal(f->last_text,
			    "Your card has been blocked. A replacement card "
			    "will arrive within five business days.");
	fixture_free(x);
}

static void option_9_returns_to_the_main_menu_with_fresh_retries(void **s)
{
	(void)s;
	struct fixture *x = demo();
	struct fake *f = &x->f;
	play_ends(f);
	press(f, '2');
	press(f, '5'); /* invalid: one failure in card_menu */
	play_ends(f);
	press(f, '9');
	assert_string_equal(flow_session_node(x->s), "main_menu");
	play_ends(f);
	first_timeout(f);
	play_ends(f);
	play_ends(f);
	first_timeout(f);
	assert_string_equal(flow_session_node(x->s), "main_menu");
	assert_string_equal(f->last_text, "Sorry, I did not hear a choice.");
	fixture_free(x);
}

static void a_choice_made_while_a_prompt_still_plays_stops_it(void **s)
{
	(void)s;
	struct fixture *x = fixture_new(&text_ops, dtmf_demo);
	x->f.no_barge = true;
	fixture_start(x);
	struct fake *f = &x->f;
	play_ends(f);
	press(f, '1'); /* the prompt goes on playing */
	assert_string_equal(f->log, "play:greeting\n"
				    "play:main_menu\n" MENU_COLLECT "stop\n"
				    "play:balance\n");
	fixture_free(x);
}

static void hangup_mid_prompt_stops_the_session(void **s)
{
	(void)s;
	struct fixture *x = demo();
	struct fake *f = &x->f;
	play_ends(f);
	assert_true(f->playing && f->collecting);
	caller_hangs_up(f);
	assert_true(flow_session_done(x->s));
	char before[sizeof(f->log)];
	memcpy(before, f->log, sizeof(before));
	/* Nothing more is asked of the channel, even by late events. */
	struct channel_event ev = { .type = CHANNEL_EV_PLAY_DONE };
	f->ch.evh(&f->ch, &ev, f->ch.evarg);
	assert_string_equal(f->log, before);
	assert_string_equal(f->path, "greeting,main_menu");
	fixture_free(x);
}

/* ---- other flows ---- */

static const char *const pin_flow = "name: pin\n"
				    "start: ask\n"
				    "nodes:\n"
				    "  ask:\n"
				    "    type: menu\n"
				    "    prompt: Enter your code, then hash.\n"
				    "    options: {'42': ok}\n"
				    "    max_digits: 4\n"
				    "    terminator: '#'\n"
				    "    timeout: 4s\n"
				    "    interdigit_timeout: 1500ms\n"
				    "    retries: 0\n"
				    "    on_max_retries: bye\n"
				    "  ok:\n"
				    "    type: say\n"
				    "    voice: slt\n"
				    "    text: Accepted.\n"
				    "    next: bye\n"
				    "  bye:\n"
				    "    type: hangup\n"
				    "    reason: closed\n";

static void multi_digit_entry_ends_with_the_terminator(void **s)
{
	(void)s;
	struct fixture *x = fixture_new(&text_ops, pin_flow);
	x->env.default_voice = "kal";
	fixture_start(x);
	struct fake *f = &x->f;
	assert_string_equal(f->last_voice, "kal");
	press(f, '4');
	press(f, '2');
	press(f, '#');
	assert_string_equal(f->log, "play:ask\n"
				    "collect:4/4000/1500/#\n"
				    "play:ok\n");
	assert_string_equal(f->last_voice, "slt");
	play_ends(f);
	assert_true(strstr(f->log, "hangup:closed\n") != NULL);
	fixture_free(x);
}

static void no_retries_means_the_first_wrong_entry_leaves_the_menu(void **s)
{
	(void)s;
	struct fixture *x = fixture_new(&text_ops, pin_flow);
	fixture_start(x);
	struct fake *f = &x->f;
	press(f, '4');
	press(f, '3');
	press(f, '#');
	assert_string_equal(f->log, "play:ask\n"
				    "collect:4/4000/1500/#\n"
				    "hangup:closed\n");
	assert_string_equal(f->path, "ask,bye");
	fixture_free(x);
}

static const char *const loop_flow = "name: loop\n"
				     "start: a\n"
				     "nodes:\n"
				     "  a:\n"
				     "    type: say\n"
				     "    text: A.\n"
				     "    next: b\n"
				     "  b:\n"
				     "    type: say\n"
				     "    text: B.\n"
				     "    next: c\n"
				     "  c:\n"
				     "    type: hangup\n";

/* The loader refuses loops that never wait (docs/FLOWS.md "Checks"), so
 * the runtime's guard is tested on a flow closed into one after load. */
static struct fixture *fixture_loop(void)
{
	struct fixture *x = fixture_new(&text_ops, loop_flow);
	x->flow->nodes[1].next = 0; /* b -> a */
	return x;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void a_loop_without_input_hangs_up_with_flow_error(void **s)
{
	(void)s;
	/* Prompts that fail at once make the loop spin without yielding.
	 * Without an agent URI the built-in escalation can only hang up. */
	struct fixture *x = fixture_loop();
	x->f.play_err = -EIO;
	x->env.agent_uri = NULL;
	fixture_start(x);
	assert_string_equal(x->f.log, "hangup:flow_error\n");
	assert_true(flow_session_done(x->s));
	assert_int_equal(count(x->f.path, ","), 199); /* 200 entries */
	fixture_free(x);

	/* Prompts that play: the guard stops it just the same. */
	x = fixture_loop();
	fixture_start(x);
	for (int i = 0; i < 200; i++)
		play_ends(&x->f);
	assert_int_equal(count(x->f.log, "play:"), 200);
	/* With an agent, the built-in escalation (docs/FLOWS.md) transfers
	 * with the reason; when that fails too, it hangs up. */
	assert_non_null(strstr(x->f.log, "transfer:" AGENT "\n"));
	assert_null(strstr(x->f.log, "hangup:"));
	transfer_result(&x->f, 0, 503);
	assert_true(strstr(x->f.log, "hangup:flow_error\n") != NULL);
	fixture_free(x);
}

static void pressing_keys_resets_the_loop_guard(void **s)
{
	(void)s;
	struct fixture *x = fixture_new(&text_ops, "name: again\n"
						   "start: m\n"
						   "nodes:\n"
						   "  m:\n"
						   "    type: menu\n"
						   "    prompt: Press 1.\n"
						   "    options: {1: ok}\n"
						   "    on_max_retries: bye\n"
						   "  ok:\n"
						   "    type: say\n"
						   "    text: Again.\n"
						   "    next: m\n"
						   "  bye:\n"
						   "    type: hangup\n");
	fixture_start(x);
	/* 300 rounds of menu and say: 600 entries, but never 200 without a
	 * key in between. */
	for (int i = 0; i < 300; i++) {
		press(&x->f, '1');
		play_ends(&x->f);
	}
	assert_null(strstr(x->f.log, "hangup:"));
	assert_string_equal(flow_session_node(x->s), "m");
	fixture_free(x);
}

static void a_failed_prompt_is_skipped_not_waited_for(void **s)
{
	(void)s;
	struct fixture *x = fixture_new(&text_ops, dtmf_demo);
	x->f.play_err = -EIO;
	fixture_start(x);
	/* Greeting and menu prompt fail; the menu still listens. */
	assert_string_equal(x->f.log, MENU_COLLECT);
	assert_string_equal(x->f.path, "greeting,main_menu");
	x->f.play_err = 0;
	press(&x->f, '1');
	assert_string_equal(flow_session_node(x->s), "balance");
	fixture_free(x);
}

/* ---- destroy ---- */

static void destroy_inside_hangup(struct fake *f)
{
	flow_session_destroy(f->session);
	f->session = NULL;
}

static void destroy_from_inside_a_channel_call_is_deferred(void **s)
{
	(void)s;
	struct fixture *x = demo();
	struct fake *f = &x->f;
	f->on_hangup = destroy_inside_hangup;
	play_ends(f);
	press(f, '1');
	play_ends(f);
	/* goodbye ends: the hangup destroys the session */
	play_ends(f);
	assert_null(f->ch.evh); /* detached */
	assert_true(strstr(f->log, "hangup:completed\n") != NULL);
	deliver(f);
	x->s = NULL;
	fixture_free(x);
}

static void create_rejects_bad_arguments_and_start_runs_once(void **s)
{
	(void)s;
	struct fixture *x = fixture_new(&text_ops, dtmf_demo);
	struct flow_session *ss = NULL;
	assert_int_equal(flow_session_create(NULL, x->flow, &x->f.ch, &x->env),
			 -EINVAL);
	assert_int_equal(flow_session_create(&ss, NULL, &x->f.ch, &x->env),
			 -EINVAL);
	assert_int_equal(flow_session_create(&ss, x->flow, NULL, &x->env),
			 -EINVAL);
	assert_null(ss);
	fixture_start(x);
	assert_int_equal(flow_session_start(x->s), -EALREADY);
	assert_string_equal(x->f.log, "play:greeting\n");
	flow_session_destroy(NULL);
	fixture_free(x);
}

/* ---- audio channels and TTS ---- */

static void audio_without_tts_skips_prompts_but_keeps_listening(void **s)
{
	(void)s;
	struct fixture *x = fixture_new(&audio_ops, dtmf_demo);
	fixture_start(x);
	assert_string_equal(x->f.log, MENU_COLLECT);
	press(&x->f, '0');
	assert_string_equal(x->f.log, MENU_COLLECT "transfer:" AGENT "\n");
	fixture_free(x);
}

struct tts_rig {
	struct wpool *pool;
	struct tts *tts;
	struct vg_loop *loop;
};

static int tts_setup(void **state)
{
	struct tts_rig *r = calloc(1, sizeof(*r));
	if (!r || wpool_create(&r->pool, 1, 16) ||
	    tts_create(&r->tts, r->pool, NULL) ||
	    loop_create(&r->loop, "flowtest") || loop_start(r->loop))
		return -1;
	*state = r;
	return 0;
}

static int tts_teardown(void **state)
{
	struct tts_rig *r = *state;
	loop_destroy(r->loop);
	wpool_destroy(r->pool);
	tts_destroy(r->tts);
	free(r);
	return 0;
}

static void presynth(const char *voice, const char *text, void *arg)
{
	assert_int_equal(tts_presynth(arg, voice, text), 0);
}

static void cached_prompts_play_as_clips_at_once(void **state)
{
	struct tts_rig *r = *state;
	struct fixture *x = fixture_new(&audio_ops, dtmf_demo);
	flow_prompts_foreach(x->flow, NULL, presynth, r->tts);
	x->env.tts = r->tts;
	x->env.loop = r->loop;
	uint64_t t0 = clock_mono_us();
	fixture_start(x);
	assert_string_equal(x->f.log, "play:greeting\n");
	assert_int_equal(x->f.plays_with_clip, 1);
	assert_true(x->f.last_requested_us >= t0);
	assert_true(x->f.last_requested_us <= clock_mono_us());
	play_ends(&x->f);
	press(&x->f, '1');
	assert_string_equal(x->f.log,
			    "play:greeting\n"
			    "play:main_menu\n" MENU_COLLECT "play:balance\n");
	assert_int_equal(x->f.plays_with_clip, 3);
	fixture_free(x);
}

static void start_on_loop(void *arg)
{
	fixture_start(arg);
}

static void read_state(void *arg)
{
	struct fixture *x = arg;
	deliver(&x->f);
}

static void destroy_on_loop(void *arg)
{
	struct fixture *x = arg;
	flow_session_destroy(x->s);
	x->s = NULL;
}

static void start_and_destroy_on_loop(void *arg)
{
	struct fixture *x = arg;
	fixture_start(x);
	/* Synthesis is in flight: nothing can have played yet. */
	assert_string_equal(x->f.log, "");
	destroy_on_loop(x);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000 * 1000 };
	nanosleep(&ts, NULL);
}

struct probe {
	struct fixture *x;
	bool played;
};

static void probe_played(void *arg)
{
	struct probe *p = arg;
	p->played = strlen(p->x->f.log) > 0;
}

static void uncached_prompt_is_synthesized_then_played(void **state)
{
	struct tts_rig *r = *state;
	struct fixture *x = fixture_new(&audio_ops, dtmf_demo);
	x->env.tts = r->tts;
	x->env.loop = r->loop;
	run_on_loop(r->loop, start_on_loop, x);
	/* Nothing plays before synthesis, then the clip plays by itself. */
	struct probe p = { x, false };
	for (int i = 0; i < 3000 && !p.played; i++) {
		run_on_loop(r->loop, probe_played, &p);
		if (!p.played)
			sleep_ms(10);
	}
	assert_true(p.played);
	assert_string_equal(x->f.log, "play:greeting\n");
	assert_int_equal(x->f.plays_with_clip, 1);
	assert_string_equal(x->f.last_text, "Welcome to voxgate bank.");
	assert_int_equal(tts_cache_count(r->tts), 1);
	run_on_loop(r->loop, destroy_on_loop, x);
	fixture_free(x);
}

struct refs_read {
	struct flow *flow;
	unsigned held;
};

static void read_refs(void *arg)
{
	struct refs_read *rr = arg;
	rr->held = atomic_load(&rr->flow->refs);
}

static void destroy_during_synthesis_frees_after_the_callback(void **state)
{
	struct tts_rig *r = *state;
	struct fixture *x = fixture_new(&audio_ops, "name: late\n"
						    "start: a\n"
						    "nodes:\n"
						    "  a:\n"
						    "    type: say\n"
						    "    text: Only once.\n"
						    "    next: b\n"
						    "  b:\n"
						    "    type: hangup\n");
	x->env.tts = r->tts;
	x->env.loop = r->loop;
	/* The session's reference on the flow shows when it is freed. */
	struct flow *keep = flow_ref(x->flow);
	run_on_loop(r->loop, start_and_destroy_on_loop, x);
	assert_null(x->f.ch.evh);
	/* Usually still held here; under load the TTS callback may already
	 * have run (and freed it) before this thread looks. Read on the loop,
	 * which frees the session in one go: from here the count could be
	 * caught between the session's and its runtime's release (2). */
	/* (The session's and its runtime's references: 3 with keep.) */
	struct refs_read rr = { keep, 0 };
	run_on_loop(r->loop, read_refs, &rr);
	assert_true(rr.held == 3 || rr.held == 1);
	for (int i = 0; i < 3000 && atomic_load(&keep->refs) != 1; i++)
		sleep_ms(10);
	/* The TTS callback ran, freed the session and played nothing. */
	assert_int_equal(atomic_load(&keep->refs), 1);
	run_on_loop(r->loop, read_state, x);
	assert_string_equal(x->f.log, "");
	flow_deref(keep);
	fixture_free(x);
}

/* ---- speech menus (a platform that transcribes: CHANNEL_CAP_STT) ---- */

static struct fixture *speech_demo(void)
{
	struct fixture *x = fixture_new(&stt_ops, NULL); /* the built-in */
	fixture_start(x);
	play_ends(&x->f); /* greeting */
	assert_string_equal(flow_session_node(x->s), "main_menu");
	return x;
}

static void a_spoken_request_is_classified_and_routed(void **s)
{
	(void)s;
	struct fixture *x = speech_demo();
	struct fake *f = &x->f;
	/* the hybrid menu listens and collects; keys end the listen */
	assert_non_null(strstr(f->log, "collect:1/6000/"));
	assert_non_null(strstr(f->log, "listen:0/dtmf"));
	assert_true(f->last_speech_barge);
	speak(f, "i want to check my balance");
	assert_string_equal(f->turn_input, "speech");
	assert_string_equal(f->turn_text, "i want to check my balance");
	assert_string_equal(f->turn_intent, "check_balance");
	assert_string_equal(f->turn_match, "high");
	assert_string_equal(f->turn_next, "balance");
	assert_string_equal(flow_session_node(x->s), "balance");
	assert_non_null(strstr(f->path, "main_menu,balance"));
	/* the collect was stopped before the reply */
	assert_false(f->collecting);
	fixture_free(x);
}

static void speech_interrupts_the_prompt_that_allows_it(void **s)
{
	(void)s;
	struct fixture *x = fixture_new(&stt_ops, NULL);
	fixture_start(x);
	struct fake *f = &x->f;
	/* a say node does not listen: no speech barge-in there */
	assert_false(f->last_speech_barge);
	assert_false(f->listening);
	play_ends(f);
	assert_true(f->playing); /* the menu prompt */
	speak(f, "my card was stolen");
	assert_string_equal(f->turn_intent, "lost_card");
	assert_string_equal(flow_session_node(x->s), "card_lost");
	fixture_free(x);
}

static void keys_still_answer_a_hybrid_menu(void **s)
{
	(void)s;
	struct fixture *x = speech_demo();
	struct fake *f = &x->f;
	press(f, '1');
	assert_string_equal(flow_session_node(x->s), "balance");
	assert_false(f->listening);
	assert_string_equal(f->turn_input, "dtmf");
	assert_string_equal(f->turn_next, "balance");
	fixture_free(x);
}

static void a_spoken_option_word_chooses_in_a_grammar_menu(void **s)
{
	(void)s;
	struct fixture *x = speech_demo();
	struct fake *f = &x->f;
	press(f, '2');
	assert_string_equal(flow_session_node(x->s), "card_menu");
	play_ends(f);
	speak(f, "activate");
	assert_string_equal(f->turn_match, "high");
	assert_string_equal(flow_session_node(x->s), "card_activate");
	fixture_free(x);
}

/* Thresholds pinned so that any answer is "low" or "none". */
static const char *const threshold_flow =
	"name: t\n"
	"start: m\n"
	"intents:\n"
	"  balance: {examples: [check my balance, what is my balance]}\n"
	"  card: {examples: [i lost my card, my card was stolen]}\n"
	"nodes:\n"
	"  m:\n"
	"    type: menu\n"
	"    prompt: What do you need?\n"
	"    input: speech\n"
	"    intents: {balance: bal, card: crd}\n"
	"    confidence: {high: 0.999, low: LOW}\n"
	"    on_low_confidence: confirm\n"
	"    retries: 1\n"
	"    timeout: 4s\n"
	"    invalid: Sorry, I did not catch that.\n"
	"    no_input: Sorry, I did not hear you.\n"
	"    on_max_retries: bye\n"
	"  confirm: {type: say, text: Did you mean that?, next: bye}\n"
	"  bal: {type: say, text: Balance., next: bye}\n"
	"  crd: {type: say, text: Card., next: bye}\n"
	"  bye: {type: hangup, reason: completed}\n";

static struct fixture *threshold_fixture(const char *low)
{
	char yaml[2048];
	const char *at = strstr(threshold_flow, "LOW");
	snprintf(yaml, sizeof(yaml), "%.*s%s%s", (int)(at - threshold_flow),
		 threshold_flow, low, at + 3);
	struct fixture *x = fixture_new(&stt_ops, yaml);
	fixture_start(x);
	return x;
}

static void low_confidence_takes_on_low_confidence(void **s)
{
	(void)s;
	struct fixture *x = threshold_fixture("0.01");
	struct fake *f = &x->f;
	/* speech only: the listen owns the no-input timeout */
	assert_non_null(strstr(f->log, "listen:4000/-"));
	assert_null(strstr(f->log, "collect:"));
	speak(f, "what is my balance");
	assert_string_equal(f->turn_match, "low");
	assert_string_equal(f->turn_intent, "balance");
	assert_string_equal(flow_session_node(x->s), "confirm");
	fixture_free(x);
}

static void no_match_and_silence_retry_then_give_up(void **s)
{
	(void)s;
	struct fixture *x = threshold_fixture("0.998");
	struct fake *f = &x->f;
	play_ends(f);
	speak(f, "what is my balance");
	assert_string_equal(f->turn_match, "none");
	assert_string_equal(flow_session_node(x->s), "m");
	assert_string_equal(f->last_text, "Sorry, I did not catch that.");
	assert_true(f->listening);
	/* silence: the listen's no-input ends the last retry */
	finish_listen(f, LISTEN_NO_INPUT, NULL);
	deliver(f);
	assert_true(flow_session_done(x->s) ||
		    !strcmp(flow_session_node(x->s), "bye"));
	assert_non_null(strstr(f->log, "hangup:completed"));
	fixture_free(x);
}

static void a_channel_that_cannot_hear_takes_keys_only(void **s)
{
	(void)s;
	struct fixture *x = fixture_new(&text_ops, NULL);
	fixture_start(x);
	struct fake *f = &x->f;
	play_ends(f);
	assert_null(strstr(f->log, "listen:"));
	assert_true(f->collecting);
	press(f, '1');
	assert_string_equal(flow_session_node(x->s), "balance");
	fixture_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			pressing_1_plays_the_balance_then_goodbye_and_hangs_up),
		cmocka_unit_test(a_spoken_request_is_classified_and_routed),
		cmocka_unit_test(speech_interrupts_the_prompt_that_allows_it),
		cmocka_unit_test(keys_still_answer_a_hybrid_menu),
		cmocka_unit_test(
			a_spoken_option_word_chooses_in_a_grammar_menu),
		cmocka_unit_test(low_confidence_takes_on_low_confidence),
		cmocka_unit_test(no_match_and_silence_retry_then_give_up),
		cmocka_unit_test(a_channel_that_cannot_hear_takes_keys_only),
		cmocka_unit_test(pressing_0_transfers_to_the_agent_uri),
		cmocka_unit_test(a_refused_transfer_takes_on_fail),
		cmocka_unit_test(a_mapped_queue_transfers_to_its_uri),
		cmocka_unit_test(an_unmapped_queue_reaches_the_channel_as_is),
		cmocka_unit_test(queue_uri_lookup_matches_whole_names_only),
		cmocka_unit_test(
			a_transfer_error_or_missing_agent_uri_takes_on_fail),
		cmocka_unit_test(no_input_retries_then_ends_at_on_max_retries),
		cmocka_unit_test(
			an_invalid_key_plays_the_invalid_prompt_and_asks_again),
		cmocka_unit_test(
			digits_typed_during_the_greeting_choose_from_the_menu),
		cmocka_unit_test(
			option_9_returns_to_the_main_menu_with_fresh_retries),
		cmocka_unit_test(
			a_choice_made_while_a_prompt_still_plays_stops_it),
		cmocka_unit_test(hangup_mid_prompt_stops_the_session),
		cmocka_unit_test(multi_digit_entry_ends_with_the_terminator),
		cmocka_unit_test(
			no_retries_means_the_first_wrong_entry_leaves_the_menu),
		cmocka_unit_test(a_loop_without_input_hangs_up_with_flow_error),
		cmocka_unit_test(pressing_keys_resets_the_loop_guard),
		cmocka_unit_test(a_failed_prompt_is_skipped_not_waited_for),
		cmocka_unit_test(
			destroy_from_inside_a_channel_call_is_deferred),
		cmocka_unit_test(
			create_rejects_bad_arguments_and_start_runs_once),
		cmocka_unit_test(
			audio_without_tts_skips_prompts_but_keeps_listening),
		cmocka_unit_test_setup_teardown(
			cached_prompts_play_as_clips_at_once, tts_setup,
			tts_teardown),
		cmocka_unit_test_setup_teardown(
			uncached_prompt_is_synthesized_then_played, tts_setup,
			tts_teardown),
		cmocka_unit_test_setup_teardown(
			destroy_during_synthesis_frees_after_the_callback,
			tts_setup, tts_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
