/* Tests for `voxgate simulate` scenario files: a full valid file with its
 * defaults, every kind of error with its exact position, the deterministic
 * choice of phrasings, durations and the loopback check. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sim/scenario.h"
#include "sim/transport.h"

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

static char err[SIM_ERR_MAX];

static struct sim_scenario *parse_ok(const char *yaml)
{
	struct sim_scenario *sc = NULL;
	int rc = sim_scenario_parse("s.yaml", yaml, strlen(yaml), &sc, err);
	if (rc)
		fail_msg("unexpected error %d: %s", rc, err);
	assert_non_null(sc);
	return sc;
}

static void full_scenario_parses(void **state)
{
	(void)state;
	struct sim_scenario *sc = parse_ok(
		"name: lost card\n"
		"target: sip:1000@127.0.0.1:5060\n"
		"from: \"+14155550101\"\n"
		"voice: slt\n"
		"quiet: 1s\n"
		"reply_timeout: 8s\n"
		"max_duration: 30s\n"
		"variation: {noise_db: -45, rate: 1.2, seed: 9}\n"
		"turns:\n"
		"  - say: [I lost my card, my card was stolen]\n"
		"    barge_in_ms: 500\n"
		"    expect: {intent: lost_card, next: card_lost, says: "
		"blocked}\n"
		"  - dtmf: \"12#\"\n"
		"    expect: {reply: false}\n"
		"  - silence: 1500ms\n"
		"  - wav: hello.wav\n"
		"expect:\n"
		"  nodes: [main_menu, card_lost]\n"
		"  transfer: none\n"
		"  end_reason: completed\n"
		"  says: [Goodbye, thank you]\n");
	assert_string_equal(sc->name, "lost card");
	assert_string_equal(sc->from, "+14155550101");
	assert_int_equal(sc->quiet_ms, 1000);
	assert_int_equal(sc->reply_timeout_ms, 8000);
	assert_int_equal(sc->max_duration_ms, 30000);
	assert_true(sc->noise);
	assert_true(sc->noise_db == -45.0);
	assert_true(sc->rate == 1.2);
	assert_int_equal(sc->seed, 9);
	assert_int_equal(sc->nturns, 4);
	const struct sim_turn *t = &sc->turns[0];
	assert_int_equal(t->kind, SIM_TURN_SAY);
	assert_int_equal(t->ntexts, 2);
	assert_string_equal(t->texts[1], "my card was stolen");
	assert_int_equal(t->barge_in_ms, 500);
	assert_string_equal(t->expect.intent, "lost_card");
	assert_string_equal(t->expect.next, "card_lost");
	assert_int_equal(t->expect.nsays, 1);
	assert_int_equal(t->line, 10);
	assert_int_equal(sc->turns[1].kind, SIM_TURN_DTMF);
	assert_string_equal(sc->turns[1].dtmf, "12#");
	assert_int_equal(sc->turns[1].expect.reply, 0);
	assert_int_equal(sc->turns[1].barge_in_ms, -1);
	assert_int_equal(sc->turns[2].silence_ms, 1500);
	assert_string_equal(sc->turns[3].wav, "hello.wav");
	assert_int_equal(sc->expect.nnodes, 2);
	assert_string_equal(sc->expect.transfer, "none");
	assert_string_equal(sc->expect.end_reason, "completed");
	assert_string_equal(sc->expect.says[1], "thank you");
	sim_scenario_destroy(sc);
}

static void defaults_apply(void **state)
{
	(void)state;
	struct sim_scenario *sc = parse_ok("target: sip:1@127.0.0.1\n"
					   "turns: [{dtmf: \"1\"}]\n");
	assert_string_equal(sc->voice, "slt");
	assert_int_equal(sc->quiet_ms, 1500);
	assert_int_equal(sc->reply_timeout_ms, 10000);
	assert_int_equal(sc->end_silence_ms, 4000);
	assert_false(sc->noise);
	assert_true(sc->rate == 1.0);
	sim_scenario_destroy(sc);
}

static const struct {
	const char *yaml;
	const char *want; /* exact message */
} bad[] = {
	{ "", "s.yaml:1:1: the scenario is empty" },
	{ "- a\n", "s.yaml:1:1: a scenario must be a map" },
	{ "turns: [{dtmf: \"1\"}]\n",
	  "s.yaml:1:1: target is missing (transport sip: e.g. "
	  "sip:2000@127.0.0.1:5060)" },
	{ "target: tel:123\nturns: [{dtmf: \"1\"}]\n",
	  "s.yaml:1:9: target 'tel:123' does not fit transport sip: a sip: "
	  "URI, e.g. sip:2000@127.0.0.1:5060" },
	{ "target: sip:1@127.0.0.1\n",
	  "s.yaml:1:1: turns is missing or empty" },
	{ "target: sip:1@127.0.0.1\nturns: []\n",
	  "s.yaml:2:8: turns is missing or empty" },
	{ "target: sip:1@127.0.0.1\ntarg: x\nturns: [{dtmf: \"1\"}]\n",
	  "s.yaml:2:1: unknown key 'targ' (known: name, transport, target, "
	  "params, from, voice, "
	  "quiet, reply_timeout, max_duration, end_silence, variation, "
	  "expect, turns)" },
	{ "target: sip:1@127.0.0.1\nturns:\n  - say: hi\n    sya: x\n",
	  "s.yaml:4:5: unknown key 'sya' in a turn (known: say, wav, dtmf, "
	  "silence, barge_in_ms, expect)" },
	{ "target: sip:1@127.0.0.1\nturns:\n  - say: hi\n    dtmf: \"1\"\n",
	  "s.yaml:4:5: a turn has one of say, wav, dtmf, silence; 'dtmf' is "
	  "a second one" },
	{ "target: sip:1@127.0.0.1\nturns:\n  - barge_in_ms: 5\n",
	  "s.yaml:3:5: a turn needs one of say, wav, dtmf, silence" },
	{ "target: sip:1@127.0.0.1\nturns:\n  - dtmf: \"1x\"\n",
	  "s.yaml:3:11: dtmf: 'x' is not a key (0-9 * # A-D)" },
	{ "target: sip:1@127.0.0.1\nturns:\n  - silence: 2h\n",
	  "s.yaml:3:14: silence: '2h' is not a duration up to 600000 ms "
	  "(500ms, 2s)" },
	{ "target: sip:1@127.0.0.1\nturns:\n  - say: []\n",
	  "s.yaml:3:10: say must not be an empty list" },
	{ "target: sip:1@127.0.0.1\nturns:\n  - say: \"\"\n",
	  "s.yaml:3:10: say must not be empty" },
	{ "target: sip:1@127.0.0.1\nturns:\n  - say: {a: b}\n",
	  "s.yaml:3:10: say must be a string or a list of strings" },
	{ "target: sip:1@127.0.0.1\nturns:\n  - silence: 1s\n"
	  "    barge_in_ms: 5\n",
	  "s.yaml:3:5: barge_in_ms needs something to say" },
	{ "target: sip:1@127.0.0.1\nturns:\n  - say: hi\n"
	  "    expect: {intent: \"two words\"}\n",
	  "s.yaml:4:22: expect.intent: 'two words' is not an intent name" },
	{ "target: sip:1@127.0.0.1\nturns:\n  - say: hi\n"
	  "    expect: {transfer: x}\n",
	  "s.yaml:4:14: unknown key 'transfer' in a turn's expect (known: "
	  "intent, next, says, reply)" },
	{ "target: sip:1@127.0.0.1\nturns:\n  - say: hi\n"
	  "    expect: {reply: maybe}\n",
	  "s.yaml:4:21: expect.reply must be true or false" },
	{ "target: sip:1@127.0.0.1\nturns: [{dtmf: \"1\"}]\n"
	  "expect: {intent: x}\n",
	  "s.yaml:3:10: unknown key 'intent' in the call's expect (known: "
	  "nodes, transfer, end_reason, says)" },
	{ "target: sip:1@127.0.0.1\nturns: [{dtmf: \"1\"}]\n"
	  "variation: {rate: 3}\n",
	  "s.yaml:3:19: variation.rate must be a number from 0.5 to 2" },
	{ "target: sip:1@127.0.0.1\nturns: [{dtmf: \"1\"}]\n"
	  "variation: {noise_db: 6}\n",
	  "s.yaml:3:23: variation.noise_db must be a number from -90 to 0" },
	{ "target: sip:1@127.0.0.1\nturns: [{dtmf: \"1\"}]\n"
	  "from: \"a b\"\n",
	  "s.yaml:3:7: from must be a caller number or user name "
	  "([A-Za-z0-9+-_.])" },
	{ "target: sip:1@127.0.0.1\nturns: [{dtmf: \"1\"}]\nquiet: \"1s\"\n",
	  "s.yaml:3:8: quiet must be a duration such as 500ms or 2s" },
	/* transports, targets and params */
	{ "transport: h323\ntarget: sip:1@127.0.0.1\nturns: [{dtmf: \"1\"}]\n",
	  "s.yaml:1:12: unknown transport 'h323' (known: sip, audiosocket, "
	  "twilio_media, audioconnector, audiohook)" },
	{ "transport: [sip]\ntarget: sip:1@127.0.0.1\n",
	  "s.yaml:1:12: transport must be a string, not list" },
	{ "transport: audiosocket\ntarget: sip:1@127.0.0.1\n"
	  "turns: [{dtmf: \"1\"}]\n",
	  "s.yaml:2:9: target 'sip:1@127.0.0.1' does not fit transport "
	  "audiosocket: tcp://host:port with an IP address (or localhost) and "
	  "a port, e.g. tcp://127.0.0.1:9092" },
	{ "target: tcp://127.0.0.1\ntransport: audiosocket\n"
	  "turns: [{dtmf: \"1\"}]\n",
	  "s.yaml:1:9: target 'tcp://127.0.0.1' does not fit transport "
	  "audiosocket: tcp://host:port with an IP address (or localhost) and "
	  "a port, e.g. tcp://127.0.0.1:9092" },
	{ "transport: audiosocket\ntarget: tcp://asterisk.example:9092\n"
	  "turns: [{dtmf: \"1\"}]\n",
	  "s.yaml:2:9: target 'tcp://asterisk.example:9092' does not fit "
	  "transport audiosocket: tcp://host:port with an IP address (or "
	  "localhost) and a port, e.g. tcp://127.0.0.1:9092" },
	{ "transport: audiosocket\ntarget: tcp://127.0.0.1:70000\n"
	  "turns: [{dtmf: \"1\"}]\n",
	  "s.yaml:2:9: target 'tcp://127.0.0.1:70000' does not fit transport "
	  "audiosocket: tcp://host:port with an IP address (or localhost) and "
	  "a port, e.g. tcp://127.0.0.1:9092" },
	{ "transport: sip\ntarget: tcp://127.0.0.1:9092\n"
	  "turns: [{dtmf: \"1\"}]\n",
	  "s.yaml:2:9: target 'tcp://127.0.0.1:9092' does not fit transport "
	  "sip: a sip: URI, e.g. sip:2000@127.0.0.1:5060" },
	{ "transport: audiosocket\nturns: [{dtmf: \"1\"}]\n",
	  "s.yaml:1:1: target is missing (transport audiosocket: e.g. "
	  "tcp://127.0.0.1:9092)" },
	{ "target: sip:1@127.0.0.1\nturns: [{dtmf: \"1\"}]\n"
	  "params: {api_key: x}\n",
	  "s.yaml:3:10: unknown params key 'api_key' for transport sip "
	  "(known: none)" },
	/* the WebSocket transports (H3) */
	{ "transport: twilio_media\ntarget: sip:1@127.0.0.1\n"
	  "turns: [{dtmf: \"1\"}]\n",
	  "s.yaml:2:9: target 'sip:1@127.0.0.1' does not fit transport "
	  "twilio_media: a Media Streams target is ws://host:port/path (e.g. "
	  "ws://127.0.0.1:8081/twilio/media)" },
	{ "transport: audioconnector\ntarget: wss://127.0.0.1/x\n"
	  "turns: [{dtmf: \"1\"}]\n",
	  "s.yaml:2:9: target 'wss://127.0.0.1/x' does not fit transport "
	  "audioconnector: a Genesys target is "
	  "ws://host:port/genesys/audioconnector" },
	{ "transport: twilio_media\n"
	  "target: ws://127.0.0.1:8081/twilio/media\n"
	  "turns: [{dtmf: \"1\"}]\nparams: {api_key: x}\n",
	  "s.yaml:4:10: unknown params key 'api_key' for transport "
	  "twilio_media (known: auth_token, public_url, account_sid, "
	  "custom.*)" },
	{ "transport: audiohook\n"
	  "target: ws://127.0.0.1:8082/genesys/audiohook\n"
	  "turns: [{dtmf: \"1\"}]\nexpect:\n  transfer: agent\n",
	  "s.yaml:5:13: expect.transfer: transport audiohook shows no "
	  "transfers (only none can be checked; use expect.nodes or "
	  "end_reason)" },
	{ "target: sip:1@127.0.0.1\nturns: [{dtmf: \"1\"}]\nparams: [a]\n",
	  "s.yaml:3:9: params must be a map of strings" },
	{ "target: sip:1@127.0.0.1\nturns: [{dtmf: \"1\"}]\n"
	  "params:\n  a: {b: c}\n",
	  "s.yaml:4:6: params.a must be a string" },
	{ "target: sip:1@127.0.0.1\nturns: [{dtmf: \"1\"}]\n"
	  "params:\n  a:\n",
	  "s.yaml:4:5: params.a must be a string, not empty (quote \"\" for "
	  "an empty value)" },
	{ "transport: audiosocket\ntarget: tcp://127.0.0.1:9092\n"
	  "turns: [{dtmf: \"1\"}]\nexpect:\n  transfer: agent\n",
	  "s.yaml:5:13: expect.transfer: transport audiosocket shows no "
	  "transfers (only none can be checked; use expect.nodes or "
	  "end_reason)" },
	{ "transport: audiosocket\ntarget: tcp://127.0.0.1:9092\n"
	  "turns: [{dtmf: \"1\"}]\nparams:\n  flow: bank\n",
	  "s.yaml:5:9: params.flow: needs params.agi (the FastAGI set-up step "
	  "that passes it)" },
	{ "transport: audiosocket\ntarget: tcp://127.0.0.1:9092\n"
	  "turns: [{dtmf: \"1\"}]\nparams:\n  agi: agi://127.0.0.1/other\n",
	  "s.yaml:5:8: params.agi: agi://host[:port][/audiosocket] with an IP "
	  "address (or localhost), e.g. agi://127.0.0.1:4573/audiosocket" },
	{ "transport: audiosocket\ntarget: tcp://127.0.0.1:9092\n"
	  "turns: [{dtmf: \"1\"}]\nparams:\n  agi: agi://127.0.0.1\n"
	  "  extension: \"50 00\"\n",
	  "s.yaml:6:14: params.extension: '50 00' is not a dialled number" },
};

static void errors_have_positions(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEM(bad); i++) {
		struct sim_scenario *sc = NULL;
		int rc = sim_scenario_parse("s.yaml", bad[i].yaml,
					    strlen(bad[i].yaml), &sc, err);
		if (rc != -EBADMSG || strcmp(err, bad[i].want))
			fail_msg("case %zu: rc %d, got \"%s\", want \"%s\"", i,
				 rc, err, bad[i].want);
		assert_null(sc);
	}
}

static void yaml_syntax_error_has_position(void **state)
{
	(void)state;
	struct sim_scenario *sc = NULL;
	const char *y = "target: sip:1@127.0.0.1\nturns: [x\n";
	assert_int_equal(sim_scenario_parse("s.yaml", y, strlen(y), &sc, err),
			 -EBADMSG);
	assert_null(sc);
	assert_non_null(strstr(err, "s.yaml:"));
}

static void phrasings_are_deterministic_and_spread(void **state)
{
	(void)state;
	struct sim_scenario *sc = parse_ok("target: sip:1@127.0.0.1\n"
					   "turns:\n  - say: [a, b, c, d]\n");
	int seen[4] = { 0 };
	for (uint64_t call = 0; call < 200; call++) {
		const char *t = sim_scenario_text(sc, 0, call);
		assert_non_null(t);
		assert_ptr_equal(t, sim_scenario_text(sc, 0, call));
		seen[t[0] - 'a']++;
	}
	for (int i = 0; i < 4; i++)
		assert_true(seen[i] > 20);
	assert_null(sim_scenario_text(sc, 1, 0));
	sim_scenario_destroy(sc);
}

static void durations_parse(void **state)
{
	(void)state;
	unsigned ms = 0;
	assert_int_equal(sim_duration_parse("500", &ms), 0);
	assert_int_equal(ms, 500);
	assert_int_equal(sim_duration_parse("250ms", &ms), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(sim_duration_parse("1.5s", &ms), 0);
	assert_int_equal(ms, 1500);
	assert_int_equal(sim_duration_parse("-1s", &ms), -EINVAL);
	assert_int_equal(sim_duration_parse("2m", &ms), -EINVAL);
	assert_int_equal(sim_duration_parse("", &ms), -EINVAL);
	assert_int_equal(sim_duration_parse("s", &ms), -EINVAL);
}

static void loopback_targets(void **state)
{
	(void)state;
	assert_true(sim_uri_is_loopback("sip:1000@127.0.0.1:5060"));
	assert_true(sim_uri_is_loopback("sip:127.1.2.3"));
	assert_true(sim_uri_is_loopback("sip:x@localhost;transport=udp"));
	assert_true(sim_uri_is_loopback("sip:x@[::1]:5060"));
	assert_false(sim_uri_is_loopback("sip:x@192.0.2.1"));
	assert_false(sim_uri_is_loopback("sip:x@127.0.0.1.example.com"));
	assert_false(sim_uri_is_loopback("sip:x@example.com"));
	assert_false(sim_uri_is_loopback("sip:x@128.0.0.1"));
	/* every transport's form */
	assert_true(sim_uri_is_loopback("tcp://127.0.0.1:9092"));
	assert_true(sim_uri_is_loopback("tcp://localhost:9092"));
	assert_true(sim_uri_is_loopback("tcp://[::1]:9092"));
	assert_true(sim_uri_is_loopback("ws://127.0.0.1:8080/twilio/media"));
	assert_true(sim_uri_is_loopback("wss://127.9.9.9/x"));
	assert_false(sim_uri_is_loopback("tcp://192.0.2.1:9092"));
	assert_false(sim_uri_is_loopback("ws://example.com:80/x"));
	assert_false(sim_uri_is_loopback("ws://127.0.0.1.example.com/x"));
	assert_false(sim_uri_is_loopback("ws://user@127.0.0.1/x"));
	assert_false(sim_uri_is_loopback("tcp://"));
}

static void transports_and_params_parse(void **state)
{
	(void)state;
	struct sim_scenario *sc = parse_ok("target: sip:1@127.0.0.1\n"
					   "turns: [{dtmf: \"1\"}]\n");
	assert_ptr_equal(sc->transport, &sim_tr_sip);
	assert_int_equal(sc->nparams, 0);
	assert_null(sim_scenario_param(sc, "x"));
	sim_scenario_destroy(sc);
	sc = parse_ok("transport: audiosocket\n"
		      "target: tcp://127.0.0.1:9092\n"
		      "turns: [{dtmf: \"1\"}]\n"
		      "expect: {transfer: none}\n");
	assert_ptr_equal(sc->transport, &sim_tr_audiosocket);
	assert_string_equal(sc->target, "tcp://127.0.0.1:9092");
	sim_scenario_destroy(sc);
	sc = parse_ok("transport: audiosocket\n"
		      "target: tcp://localhost:9092\n"
		      "params: {agi: \"agi://127.0.0.1:4573/audiosocket\", "
		      "flow: bank-crm, extension: \"5000\"}\n"
		      "turns: [{dtmf: \"1\"}]\n");
	assert_int_equal(sc->nparams, 3);
	assert_string_equal(sim_scenario_param(sc, "flow"), "bank-crm");
	assert_string_equal(sim_scenario_param(sc, "extension"), "5000");
	assert_null(sim_scenario_param(sc, "Flow"));
	sim_scenario_destroy(sc);
	assert_ptr_equal(sim_transport_find("audiosocket"),
			 &sim_tr_audiosocket);
	assert_null(sim_transport_find("AudioSocket"));
	assert_null(sim_transport_find(NULL));
}

/* A transport that takes params: "key" and every "custom.*". */
static void params_prefixes_match(void **state)
{
	(void)state;
	static const char *const keys[] = { "api_key", "custom.*", NULL };
	struct sim_transport_ops ops = { .name = "t", .params = keys };
	assert_true(sim_transport_param_known(&ops, "api_key"));
	assert_true(sim_transport_param_known(&ops, "custom.flow"));
	assert_false(sim_transport_param_known(&ops, "custom."));
	assert_false(sim_transport_param_known(&ops, "api_key2"));
	assert_false(sim_transport_param_known(&sim_tr_sip, "api_key"));
}

static void targets_split(void **state)
{
	(void)state;
	char host[64], path[64];
	uint16_t port = 0;
	assert_int_equal(sim_target_split("ws://127.0.0.1:8080/twilio/media",
					  "ws", host, sizeof(host), &port, 80,
					  path, sizeof(path)),
			 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 8080);
	assert_string_equal(path, "/twilio/media");
	assert_int_equal(sim_target_split("ws://[::1]/a", "ws", host,
					  sizeof(host), &port, 80, path,
					  sizeof(path)),
			 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 80);
	assert_string_equal(path, "/a");
	assert_int_equal(sim_target_split("tcp://127.0.0.1:9", "tcp", host,
					  sizeof(host), &port, 0, path,
					  sizeof(path)),
			 0);
	assert_string_equal(path, "");
	static const char *const bad[] = {
		"tcp://127.0.0.1",     "tcp://:9",
		"tcp://127.0.0.1:0",   "tcp://127.0.0.1:x",
		"tcp://a b:9",	       "ws://127.0.0.1:9",
		"tcp://[::1:9",	       "tcp://127.0.0.1:9x",
		"tcp://u@127.0.0.1:9", "tcp://127.0.0.1:99999",
	};
	for (size_t i = 0; i < N_ELEM(bad); i++)
		if (!sim_target_split(bad[i], "tcp", host, sizeof(host), &port,
				      0, path, sizeof(path)))
			fail_msg("accepted %s", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_scenario_parses),
		cmocka_unit_test(defaults_apply),
		cmocka_unit_test(errors_have_positions),
		cmocka_unit_test(yaml_syntax_error_has_position),
		cmocka_unit_test(phrasings_are_deterministic_and_spread),
		cmocka_unit_test(durations_parse),
		cmocka_unit_test(loopback_targets),
		cmocka_unit_test(transports_and_params_parse),
		cmocka_unit_test(params_prefixes_match),
		cmocka_unit_test(targets_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
