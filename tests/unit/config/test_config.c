/* Tests for voxgate.yaml loading: defaults, a full valid file, every kind
 * of error with its exact position and text, printing back, the example. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Big structs: keep them off the cmocka stack. */
static struct vg_config cfg, cfg2, defaults;
static struct config_errors errs;

static int load(const char *yaml, struct vg_config *out)
{
	return config_load_buf("voxgate.yaml", yaml, strlen(yaml), out, &errs);
}

static void load_ok(const char *yaml, struct vg_config *out)
{
	int rc = load(yaml, out);

	if (rc) {
		config_errors_print(&errs, stderr);
		fail_msg("load failed: %d", rc);
	}
	assert_int_equal(errs.count, 0);
}

/* config_print output, malloc'd. */
static char *print_to_string(const struct vg_config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(config_print(c, f), 0);
	fclose(f);
	return buf;
}

static void defaults_are_the_documented_values(void **state)
{
	config_defaults(&cfg);
	assert_int_equal(cfg.sip.nlisten, 2);
	assert_int_equal(cfg.sip.listen[0].transport, CONFIG_TRANSPORT_UDP);
	assert_string_equal(cfg.sip.listen[0].addr.host, "127.0.0.1");
	assert_int_equal(cfg.sip.listen[0].addr.port, 5060);
	assert_int_equal(cfg.sip.listen[1].transport, CONFIG_TRANSPORT_TCP);
	assert_int_equal(cfg.sip.listen[1].addr.port, 5060);
	assert_string_equal(cfg.sip.user_agent, "voxgate/" VOXGATE_VERSION);
	assert_int_equal(cfg.sip.answer_delay_ms, 0);
	assert_string_equal(cfg.sip.agent_uri, "sip:agents@127.0.0.1:5070");
	assert_string_equal(cfg.rtp.address, "127.0.0.1");
	assert_int_equal(cfg.rtp.port_min, 20000);
	assert_int_equal(cfg.rtp.port_max, 40000);
	assert_int_equal(cfg.rtp.ncodecs, 2);
	assert_int_equal(cfg.rtp.codecs[0], CONFIG_CODEC_PCMU);
	assert_int_equal(cfg.rtp.codecs[1], CONFIG_CODEC_PCMA);
	assert_int_equal(cfg.rtp.telephone_event_pt, 101);
	assert_int_equal(cfg.rtp.jitter_min_ms, 40);
	assert_int_equal(cfg.rtp.jitter_max_ms, 200);
	assert_int_equal(cfg.rtp.media_timeout_ms, 30000);
	assert_int_equal(cfg.rtp.rtcp_interval_ms, 5000);
	assert_string_equal(cfg.http.listen.host, "127.0.0.1");
	assert_int_equal(cfg.http.listen.port, 8080);
	assert_int_equal(cfg.limits.max_calls, 1000);
	assert_int_equal(cfg.limits.worker_threads, 2);
	assert_int_equal(cfg.limits.worker_queue, 256);
	assert_string_equal(cfg.store.path, "voxgate.db");
	assert_string_equal(cfg.flows.dir, "");
	assert_string_equal(cfg.flows.default_flow, "bank-hotline");
	assert_int_equal(cfg.flows.default_pos.line, 0);
	assert_int_equal(cfg.flows.nroutes, 0);
	assert_null(cfg.flows.routes);
	assert_int_equal(cfg.tts.voice, CONFIG_VOICE_KAL);
	assert_int_equal(cfg.tts.cache_size_bytes, 64u << 20);
	assert_int_equal(cfg.log.level, LOG_LVL_INFO);
	assert_int_equal(cfg.log.format, LOG_FMT_KV);
	assert_int_equal(cfg.shutdown.drain_timeout_ms, 30000);
	assert_int_equal(cfg.shutdown.retry_after_ms, 30000);
	config_free(&cfg);
	config_free(NULL);
}

static void empty_and_partial_files_keep_defaults(void **state)
{
	static const char *const empty[] = {
		"", "# nothing\n", "---\n", "~\n", "sip:\nrtp: ~\n", "{}\n",
	};
	char *want, *have;

	config_defaults(&defaults);
	snprintf(defaults.source, sizeof(defaults.source), "voxgate.yaml");
	want = print_to_string(&defaults);
	for (size_t i = 0; i < N_ELEM(empty); i++) {
		load_ok(empty[i], &cfg);
		assert_string_equal(cfg.source, "voxgate.yaml");
		have = print_to_string(&cfg);
		assert_string_equal(have, want);
		free(have);
		config_free(&cfg);
	}
	free(want);

	load_ok("limits:\n  max_calls: 7\n", &cfg);
	assert_int_equal(cfg.limits.max_calls, 7);
	assert_int_equal(cfg.limits.worker_threads, 2);
	assert_int_equal(cfg.rtp.port_min, 20000);
	assert_string_equal(cfg.flows.default_flow, "bank-hotline");
	config_free(&cfg);
}

static const char full_yaml[] =
	"sip:\n"
	"  listen: [\"udp:10.0.0.5:5080\", \"tcp:[::1]:5081\", "
	"\"udp:0.0.0.0:5060\"]\n"
	"  user_agent: \"acme-ivr/2\"\n"
	"  answer_delay: 1500ms\n"
	"  agent_uri: \"sips:queue@pbx.example.com\"\n"
	"rtp:\n"
	"  address: \"2001:db8::0:1\"\n"
	"  port_min: 30000\n"
	"  port_max: 30100\n"
	"  codecs: [PCMA]\n"
	"  telephone_event_pt: 96\n"
	"  jitter_min: 0\n"
	"  jitter_max: 2s\n"
	"  media_timeout: 0s\n"
	"  rtcp_interval: 1m\n"
	"http:\n"
	"  listen: \"[::]:9090\"\n"
	"limits:\n"
	"  max_calls: 100000\n"
	"  worker_threads: 64\n"
	"  worker_queue: 1\n"
	"store:\n"
	"  path: /var/lib/voxgate/cdr.db\n"
	"flows:\n"
	"  dir: /etc/voxgate/flows\n"
	"  default: main.menu_2\n"
	"  routes:\n"
	"    - number: \"1000\"\n"
	"      flow: bank-hotline\n"
	"    - {number: \"800*\", flow: toll-free}\n"
	"    - number: 8005551234\n"
	"      flow: vip\n"
	"tts:\n"
	"  voice: slt\n"
	"  cache_size: 512KB\n"
	"log:\n"
	"  level: debug\n"
	"  format: json\n"
	"shutdown:\n"
	"  drain_timeout: 1h\n"
	"  retry_after: 5\n";

static void full_file_sets_every_field(void **state)
{
	load_ok(full_yaml, &cfg);
	assert_int_equal(cfg.sip.nlisten, 3);
	assert_int_equal(cfg.sip.listen[0].transport, CONFIG_TRANSPORT_UDP);
	assert_string_equal(cfg.sip.listen[0].addr.host, "10.0.0.5");
	assert_int_equal(cfg.sip.listen[0].addr.port, 5080);
	assert_int_equal(cfg.sip.listen[1].transport, CONFIG_TRANSPORT_TCP);
	assert_string_equal(cfg.sip.listen[1].addr.host, "::1");
	assert_int_equal(cfg.sip.listen[1].addr.port, 5081);
	assert_string_equal(cfg.sip.listen[2].addr.host, "0.0.0.0");
	assert_string_equal(cfg.sip.user_agent, "acme-ivr/2");
	assert_int_equal(cfg.sip.answer_delay_ms, 1500);
	assert_string_equal(cfg.sip.agent_uri, "sips:queue@pbx.example.com");
	/* Addresses come back in canonical form. */
	assert_string_equal(cfg.rtp.address, "2001:db8::1");
	assert_int_equal(cfg.rtp.port_min, 30000);
	assert_int_equal(cfg.rtp.port_max, 30100);
	assert_int_equal(cfg.rtp.ncodecs, 1);
	assert_int_equal(cfg.rtp.codecs[0], CONFIG_CODEC_PCMA);
	assert_int_equal(cfg.rtp.telephone_event_pt, 96);
	assert_int_equal(cfg.rtp.jitter_min_ms, 0);
	assert_int_equal(cfg.rtp.jitter_max_ms, 2000);
	assert_int_equal(cfg.rtp.media_timeout_ms, 0);
	assert_int_equal(cfg.rtp.rtcp_interval_ms, 60000);
	assert_string_equal(cfg.http.listen.host, "::");
	assert_int_equal(cfg.http.listen.port, 9090);
	assert_int_equal(cfg.limits.max_calls, 100000);
	assert_int_equal(cfg.limits.worker_threads, 64);
	assert_int_equal(cfg.limits.worker_queue, 1);
	assert_string_equal(cfg.store.path, "/var/lib/voxgate/cdr.db");
	assert_string_equal(cfg.flows.dir, "/etc/voxgate/flows");
	assert_string_equal(cfg.flows.default_flow, "main.menu_2");
	assert_int_equal(cfg.flows.default_pos.line, 26);
	assert_int_equal(cfg.flows.default_pos.col, 12);
	assert_int_equal(cfg.flows.nroutes, 3);
	assert_string_equal(cfg.flows.routes[0].number, "1000");
	assert_false(cfg.flows.routes[0].prefix);
	assert_string_equal(cfg.flows.routes[0].flow, "bank-hotline");
	assert_int_equal(cfg.flows.routes[0].number_pos.line, 28);
	assert_int_equal(cfg.flows.routes[0].number_pos.col, 15);
	assert_int_equal(cfg.flows.routes[0].flow_pos.line, 29);
	assert_int_equal(cfg.flows.routes[0].flow_pos.col, 13);
	assert_string_equal(cfg.flows.routes[1].number, "800");
	assert_true(cfg.flows.routes[1].prefix);
	assert_string_equal(cfg.flows.routes[1].flow, "toll-free");
	assert_int_equal(cfg.flows.routes[1].flow_pos.line, 30);
	assert_int_equal(cfg.flows.routes[1].flow_pos.col, 30);
	assert_string_equal(cfg.flows.routes[2].number, "8005551234");
	assert_int_equal(cfg.tts.voice, CONFIG_VOICE_SLT);
	assert_int_equal(cfg.tts.cache_size_bytes, 512 * 1024);
	assert_int_equal(cfg.log.level, LOG_LVL_DEBUG);
	assert_int_equal(cfg.log.format, LOG_FMT_JSON);
	assert_int_equal(cfg.shutdown.drain_timeout_ms, 3600000);
	assert_int_equal(cfg.shutdown.retry_after_ms, 5000);
	config_free(&cfg);
}

struct unit_case {
	const char *yaml;
	uint64_t want;
};

static void durations_and_sizes_accept_every_unit(void **state)
{
	static const struct unit_case durations[] = {
		{ "rtp:\n  media_timeout: 250ms\n", 250 },
		{ "rtp:\n  media_timeout: 30s\n", 30000 },
		{ "rtp:\n  media_timeout: 5m\n", 300000 },
		{ "rtp:\n  media_timeout: 1h\n", 3600000 },
		{ "rtp:\n  media_timeout: 42\n", 42000 },
		{ "rtp:\n  media_timeout: \"7s\"\n", 7000 },
		{ "rtp:\n  media_timeout: 0\n", 0 },
	};
	static const struct unit_case sizes[] = {
		{ "tts:\n  cache_size: 64MB\n", 64ull << 20 },
		{ "tts:\n  cache_size: 512KB\n", 512ull << 10 },
		{ "tts:\n  cache_size: 1GB\n", 1ull << 30 },
		{ "tts:\n  cache_size: 100B\n", 100 },
		{ "tts:\n  cache_size: 12345\n", 12345 },
		{ "tts:\n  cache_size: 0\n", 0 },
	};

	for (size_t i = 0; i < N_ELEM(durations); i++) {
		load_ok(durations[i].yaml, &cfg);
		assert_int_equal(cfg.rtp.media_timeout_ms, durations[i].want);
		config_free(&cfg);
	}
	for (size_t i = 0; i < N_ELEM(sizes); i++) {
		load_ok(sizes[i].yaml, &cfg);
		assert_int_equal(cfg.tts.cache_size_bytes, sizes[i].want);
		config_free(&cfg);
	}
}

struct err_case {
	const char *what;
	const char *yaml;
	const char *errors[8]; /* exact messages in order, NULL-terminated */
};

static const struct err_case err_cases[] = {
	{ "unknown top-level key",
	  "sip: {}\nsipp:\n  listen: []\n",
	  { "voxgate.yaml:2:1: unknown top-level key 'sipp' (expected: sip, "
	    "rtp, http, http_client, webhooks, limits, store, flows, tts, "
	    "stt, nlu, recordings, log, shutdown, asterisk, twilio, "
	    "transfer, connect, genesys_bot, genesys)" } },
	{ "unknown nested key",
	  "# comment\nsip:\n  user_agent: x\n\n\n\n  listn: [x]\n",
	  { "voxgate.yaml:7:3: unknown key 'listn' in 'sip' (expected: listen, "
	    "user_agent, answer_delay, agent_uri)" } },
	{ "map where a scalar is expected",
	  "limits:\n  max_calls: {n: 1}\n",
	  { "voxgate.yaml:2:14: 'max_calls' must be a single value, got a "
	    "map" } },
	{ "list where a scalar is expected",
	  "store:\n  path: [a, b]\n",
	  { "voxgate.yaml:2:9: 'path' must be a single value, got a list" } },
	{ "scalar where a list is expected",
	  "sip:\n  listen: udp:127.0.0.1:5060\n",
	  { "voxgate.yaml:2:11: 'listen' must be a list, got "
	    "'udp:127.0.0.1:5060'" } },
	{ "list where a section is expected",
	  "sip:\n  - listen\n",
	  { "voxgate.yaml:2:3: 'sip' must be a map of settings, got a list" } },
	{ "root is not a map",
	  "- sip\n",
	  { "voxgate.yaml:1:1: the configuration must be a map of sections "
	    "(sip:, rtp:, ...), got a list" } },
	{ "bad integer",
	  "limits:\n  worker_threads: 4\n\n\n\n\n\n\n\n\n\n  max_calls:  "
	  "lots\n",
	  { "voxgate.yaml:12:15: 'max_calls' must be an integer between 1 and "
	    "100000, got 'lots'" } },
	{ "integers out of range",
	  "limits:\n  max_calls: 0\n  worker_threads: 65\n  worker_queue: -1\n",
	  { "voxgate.yaml:2:14: 'max_calls' must be an integer between 1 and "
	    "100000, got '0'",
	    "voxgate.yaml:3:19: 'worker_threads' must be an integer between 1 "
	    "and 64, got '65'",
	    "voxgate.yaml:4:17: 'worker_queue' must be an integer between 1 "
	    "and 100000, got '-1'" } },
	{ "huge integer",
	  "rtp:\n  telephone_event_pt: 99999999999999999999999\n",
	  { "voxgate.yaml:2:23: 'telephone_event_pt' must be an integer "
	    "between 96 and 127, got '99999999999999999999999'" } },
	{ "odd port_min and low port_max",
	  "rtp:\n  port_min: 20001\n  port_max: 1000\n",
	  { "voxgate.yaml:2:13: 'port_min' must be an even integer between "
	    "1024 and 65534, got '20001'",
	    "voxgate.yaml:3:13: 'port_max' must be an integer between 1025 and "
	    "65535, got '1000'" } },
	{ "port_min not below port_max",
	  "rtp:\n  port_min: 30000\n  port_max: 30000\n",
	  { "voxgate.yaml:3:13: 'port_max' (30000) must be greater than "
	    "'port_min' (30000)" } },
	{ "port_min above the default port_max",
	  "rtp:\n  port_min: 50000\n",
	  { "voxgate.yaml:2:13: 'port_min' (50000) must be lower than "
	    "'port_max' (40000)" } },
	{ "jitter_max below jitter_min",
	  "rtp:\n  jitter_min: 1s\n  jitter_max: 500ms\n",
	  { "voxgate.yaml:3:15: 'jitter_max' (500ms) must not be lower than "
	    "'jitter_min' (1s)" } },
	{ "no cross-field error against a rejected value",
	  "rtp:\n  jitter_min: 1s\n  jitter_max: 10 ms\n  port_min: 50000\n  "
	  "port_max: lots\n",
	  { "voxgate.yaml:3:15: 'jitter_max' must be a duration between 0s and "
	    "2s (like 250ms, 30s, 5m), got '10 ms'",
	    "voxgate.yaml:5:13: 'port_max' must be an integer between 1025 and "
	    "65535, got 'lots'" } },
	{ "jitter_min above the default jitter_max",
	  "rtp:\n  jitter_min: 300ms\n",
	  { "voxgate.yaml:2:15: 'jitter_min' (300ms) must not be higher than "
	    "'jitter_max' (200ms)" } },
	{ "bad durations",
	  "rtp:\n  media_timeout: soon\n  rtcp_interval: 2m\n  jitter_min: "
	  "1.5s\n  jitter_max: 10 ms\n",
	  { "voxgate.yaml:2:18: 'media_timeout' must be a duration between 0s "
	    "and 1h (like 250ms, 30s, 5m), got 'soon'",
	    "voxgate.yaml:3:18: 'rtcp_interval' must be a duration between 0s "
	    "and 1m (like 250ms, 30s, 5m), got '2m'",
	    "voxgate.yaml:4:15: 'jitter_min' must be a duration between 0s and "
	    "1s (like 250ms, 30s, 5m), got '1.5s'",
	    "voxgate.yaml:5:15: 'jitter_max' must be a duration between 0s and "
	    "2s (like 250ms, 30s, 5m), got '10 ms'" } },
	{ "duration out of range",
	  "sip:\n  answer_delay: 61s\nshutdown:\n  drain_timeout: 2h\n",
	  { "voxgate.yaml:2:17: 'answer_delay' must be a duration between 0s "
	    "and 1m (like 250ms, 30s, 5m), got '61s'",
	    "voxgate.yaml:4:18: 'drain_timeout' must be a duration between 0s "
	    "and 1h (like 250ms, 30s, 5m), got '2h'" } },
	{ "bad sizes",
	  "tts:\n  cache_size: 2GB\n",
	  { "voxgate.yaml:2:15: 'cache_size' must be a size between 0 and 1GB "
	    "(like 512KB, 64MB), got '2GB'" } },
	{ "bad size unit",
	  "tts:\n  cache_size: 64mb\n",
	  { "voxgate.yaml:2:15: 'cache_size' must be a size between 0 and 1GB "
	    "(like 512KB, 64MB), got '64mb'" } },
	{ "bad http address",
	  "http:\n  listen: localhost:8080\n",
	  { "voxgate.yaml:2:11: 'listen' must be an address like "
	    "127.0.0.1:8080 or [::1]:8080, got 'localhost:8080'" } },
	{ "second document",
	  "http:\n  listen: \"[::1]:8080\"\n---\nsip: {}\n",
	  { "voxgate.yaml:3:1: a second document is not allowed (one document "
	    "per file)" } },
	{ "ipv6 without brackets",
	  "http:\n  listen: \"::1:8080\"\n",
	  { "voxgate.yaml:2:11: 'listen' must be an address like "
	    "127.0.0.1:8080 or [::1]:8080, got '::1:8080'" } },
	{ "address without port or with port 0",
	  "http:\n  listen: \"[::1]\"\nsip:\n  listen: [\"udp:1.2.3.4:0\"]\n",
	  { "voxgate.yaml:2:11: 'listen' must be an address like "
	    "127.0.0.1:8080 or [::1]:8080, got '[::1]'",
	    "voxgate.yaml:4:12: 'listen' entries must look like "
	    "udp:127.0.0.1:5060 or tcp:[::1]:5060, got 'udp:1.2.3.4:0'" } },
	{ "unspecified media address",
	  "rtp:\n  address: 0.0.0.0\n",
	  { "voxgate.yaml:2:12: 'address' must be a concrete address: "
	    "'0.0.0.0' cannot be advertised in SDP" } },
	{ "bad media address",
	  "rtp:\n  address: 256.1.1.1\n",
	  { "voxgate.yaml:2:12: 'address' must be an IPv4 or IPv6 address like "
	    "127.0.0.1 or ::1, got '256.1.1.1'" } },
	{ "sip listen entries",
	  "sip:\n  listen:\n    - tls:127.0.0.1:5061\n    - "
	  "udp:localhost:5060\n    - tcp:[::1]:5060\n    - "
	  "\"tcp:[::1]:5060\"\n    - [x]\n",
	  { "voxgate.yaml:3:7: transport 'tls' is not supported yet (use udp "
	    "or tcp)",
	    "voxgate.yaml:4:7: 'listen' entries must look like "
	    "udp:127.0.0.1:5060 or tcp:[::1]:5060, got 'udp:localhost:5060'",
	    "voxgate.yaml:6:7: duplicate listen entry 'tcp:[::1]:5060' (first "
	    "at line 5, column 7)",
	    "voxgate.yaml:7:7: 'listen entry' must be a single value, got a "
	    "list" } },
	{ "too many or no listen entries",
	  "sip:\n  listen: []\n",
	  { "voxgate.yaml:2:11: 'listen' must have 1 to 8 entries, got 0" } },
	{ "bad codecs",
	  "rtp:\n  codecs: [PCMU, G729, PCMU, pcma]\n",
	  { "voxgate.yaml:2:18: unknown codec 'G729' (supported: PCMU, PCMA)",
	    "voxgate.yaml:2:24: codec 'PCMU' is listed twice (first at line 2, "
	    "column 12)",
	    "voxgate.yaml:2:30: unknown codec 'pcma' (supported: PCMU, "
	    "PCMA)" } },
	{ "empty codecs",
	  "rtp:\n  codecs: []\n",
	  { "voxgate.yaml:2:11: 'codecs' must list at least one codec" } },
	{ "bad enums",
	  "tts:\n  voice: bob\nlog:\n  level: verbose\n  format: JSON\n",
	  { "voxgate.yaml:2:10: 'voice' must be one of kal, slt, got 'bob'",
	    "voxgate.yaml:4:10: 'level' must be one of debug, info, warn, "
	    "error, got 'verbose'",
	    "voxgate.yaml:5:11: 'format' must be one of kv, json, got "
	    "'JSON'" } },
	{ "duplicate key",
	  "rtp:\n  port_min: 20000\n  port_max: 30000\n  port_min: 22000\n",
	  { "voxgate.yaml:4:3: duplicate key 'port_min' (first defined at line "
	    "2, column 3)" } },
	{ "tab indentation",
	  "sip:\n\tlisten: []\n",
	  { "voxgate.yaml:2:1: found character that cannot start any token "
	    "(tabs are not allowed for indentation)" } },
	{ "yaml syntax error",
	  "sip:\n  listen: [\"udp:127.0.0.1:5060\"\nrtp: {}\n",
	  { "voxgate.yaml:3:1: did not find expected ',' or ']' (while parsing "
	    "a flow sequence at line 2, column 11)" } },
	{ "alias refused",
	  "sip:\n  user_agent: &ua x\nhttp:\n  listen: *ua\n",
	  { "voxgate.yaml:2:15: anchor '&ua' is not allowed (anchors and "
	    "aliases are not supported)" } },
	{ "null values",
	  "limits:\n  max_calls:\nflows:\n  dir: ~\n  routes:\n",
	  { "voxgate.yaml:2:13: 'max_calls' has no value (remove the key to "
	    "use the default)",
	    "voxgate.yaml:4:8: 'dir' has no value (remove the key to use the "
	    "default)" } },
	{ "bad strings",
	  "sip:\n  user_agent: \"a\\r\\nX-Evil: 1\"\n  agent_uri: "
	  "\"http://x\"\nstore:\n  path: \"\"\nflows:\n  default: \"my "
	  "flow\"\n",
	  { "voxgate.yaml:2:15: 'user_agent' must be 1 to 255 printable ASCII "
	    "characters, got 'a??X-Evil: 1'",
	    "voxgate.yaml:3:14: 'agent_uri' must be a sip: or sips: URI of at "
	    "most 255 characters without spaces, or \"\", got 'http://x'",
	    "voxgate.yaml:5:9: 'path' must be a file path of 1 to 1023 bytes "
	    "without control characters, got ''",
	    "voxgate.yaml:7:12: 'default' must be a flow name of 1 to 63 "
	    "letters, digits, '.', '_' or '-', got 'my flow'" } },
	{ "embedded NUL",
	  "store:\n  path: \"a\\0b\"\n",
	  { "voxgate.yaml:2:9: 'path' must be a file path of 1 to 1023 bytes "
	    "without control characters, got 'a?b'" } },
	{ "NUL inside a listen entry",
	  "sip:\n  listen: [\"udp:1.2.3.4\\0x:5060\"]\n",
	  { "voxgate.yaml:2:12: 'listen' entries must look like "
	    "udp:127.0.0.1:5060 or tcp:[::1]:5060, got "
	    "'udp:1.2.3.4?x:5060'" } },
	{ "bad routes",
	  "flows:\n  routes:\n    - number: \"1000\"\n      flow: a\n    - "
	  "{number: \"800*\", flow: b}\n"
	  "    - {number: \"1000\", flow: c}\n    - {number: \"*\", flw: d}\n  "
	  "  - x\n"
	  "    - {number: \"800*\", flow: \"\"}\n    - {flow: e}\n    - "
	  "{number: \"800*\", flow: f}\n",
	  { "voxgate.yaml:7:16: route number '*' would match every number; set "
	    "flows.default instead",
	    "voxgate.yaml:7:21: unknown key 'flw' in route (expected: number, "
	    "flow)",
	    "voxgate.yaml:7:7: route is missing 'flow'",
	    "voxgate.yaml:8:7: each route must be a map with 'number' and "
	    "'flow', got 'x'",
	    "voxgate.yaml:9:30: 'flow' must be a flow name of 1 to 63 letters, "
	    "digits, '.', '_' or '-', got ''",
	    "voxgate.yaml:10:7: route is missing 'number'",
	    "voxgate.yaml:6:16: duplicate route number '1000' (first at line "
	    "3, column 15)",
	    "voxgate.yaml:11:16: duplicate route number '800*' (first at line "
	    "5, column 16)" } },
	{ "bad route number",
	  "flows:\n  routes:\n    - {number: \"10 00\", flow: a}\n",
	  { "voxgate.yaml:3:16: 'number' must be 1 to 63 digits, letters or "
	    "'+#*._-' (a trailing '*' matches a prefix), got '10 00'" } },
	{ "routes not a list",
	  "flows:\n  routes: {number: 1}\n",
	  { "voxgate.yaml:2:11: 'routes' must be a list, got a map" } },
	{ "several errors together",
	  "sip:\n  listn: x\nrtp:\n  port_min: abc\n  codecs: "
	  "[G722]\nlimits:\n  max_calls: lots\nlog:\n  level: loud\nbogus: 1\n",
	  { "voxgate.yaml:2:3: unknown key 'listn' in 'sip' (expected: listen, "
	    "user_agent, answer_delay, agent_uri)",
	    "voxgate.yaml:4:13: 'port_min' must be an even integer between "
	    "1024 and 65534, got 'abc'",
	    "voxgate.yaml:5:12: unknown codec 'G722' (supported: PCMU, PCMA)",
	    "voxgate.yaml:7:14: 'max_calls' must be an integer between 1 and "
	    "100000, got 'lots'",
	    "voxgate.yaml:9:10: 'level' must be one of debug, info, warn, "
	    "error, got 'loud'",
	    "voxgate.yaml:10:1: unknown top-level key 'bogus' (expected: sip, "
	    "rtp, http, http_client, webhooks, limits, store, flows, tts, "
	    "stt, nlu, recordings, log, shutdown, asterisk, twilio, "
	    "transfer, connect, genesys_bot, genesys)" } },
	{ "long value is cut in the message",
	  "tts:\n  voice: "
	  "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz\n",
	  { "voxgate.yaml:2:10: 'voice' must be one of kal, slt, got "
	    "'abcdefghijklmnopqrstuvwxyzabcdefghijklmn...'" } },
};

static void every_error_has_its_exact_position_and_message(void **state)
{
	for (size_t i = 0; i < N_ELEM(err_cases); i++) {
		const struct err_case *c = &err_cases[i];
		size_t want = 0;
		int rc;

		while (want < N_ELEM(c->errors) && c->errors[want])
			want++;
		memset(&cfg, 0x5a, sizeof(cfg));
		rc = load(c->yaml, &cfg);
		if (rc != -EINVAL || errs.count != want || errs.dropped) {
			config_errors_print(&errs, stderr);
			fail_msg("%s: rc %d, %u errors, want %zu", c->what, rc,
				 errs.count, want);
		}
		for (size_t j = 0; j < want; j++) {
			if (strcmp(errs.msg[j], c->errors[j]))
				fail_msg("%s: error %zu:\n got: %s\nwant: %s",
					 c->what, j, errs.msg[j], c->errors[j]);
		}
		/* A failed load leaves the caller's struct untouched. */
		for (size_t b = 0; b < sizeof(cfg); b++)
			assert_int_equal(((unsigned char *)&cfg)[b], 0x5a);
	}
}

static void too_many_errors_are_counted_beyond_the_cap(void **state)
{
	size_t cap = 100 * 32, o = 0;
	char *y = malloc(cap);

	assert_non_null(y);
	for (int i = 0; i < 100; i++)
		o += (size_t)snprintf(y + o, cap - o, "bad%d: 1\n", i);
	assert_int_equal(config_load_buf("v.yaml", y, o, &cfg, &errs), -EINVAL);
	assert_int_equal(errs.count, CONFIG_ERRORS_MAX);
	assert_int_equal(errs.dropped, 100 - CONFIG_ERRORS_MAX);
	assert_string_equal(
		errs.msg[0],
		"v.yaml:1:1: unknown top-level key 'bad0' (expected: sip, rtp, "
		"http, http_client, webhooks, limits, store, flows, tts, stt, "
		"nlu, recordings, log, shutdown, asterisk, twilio, transfer, "
		"connect, genesys_bot, genesys)");
	/* NULL errs is allowed: only the result code tells. */
	assert_int_equal(config_load_buf("v.yaml", y, o, &cfg, NULL), -EINVAL);
	free(y);
}

static void route_table_is_capped(void **state)
{
	size_t n = CONFIG_ROUTES_MAX + 1, cap = n * 48 + 32, o = 0;
	char *y = malloc(cap);

	assert_non_null(y);
	o += (size_t)snprintf(y + o, cap - o, "flows:\n  routes:\n");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(y + o, cap - o,
				      "    - {number: \"%zu\", flow: f}\n", i);
	assert_int_equal(config_load_buf("v.yaml", y, o, &cfg, &errs), -EINVAL);
	assert_int_equal(errs.count, 1);
	assert_string_equal(
		errs.msg[0],
		"v.yaml:3:5: 'routes' has 10001 entries, the limit is 10000");

	/* Exactly the cap loads. */
	o -= strlen("    - {number: \"10000\", flow: f}\n");
	assert_int_equal(config_load_buf("v.yaml", y, o, &cfg, &errs), 0);
	assert_int_equal(cfg.flows.nroutes, CONFIG_ROUTES_MAX);
	assert_string_equal(cfg.flows.routes[9999].number, "9999");
	assert_int_equal(cfg.flows.routes[9999].flow_pos.line, 10002);
	config_free(&cfg);

	/* A repeat at the far end of a full table is still found. */
	o -= strlen("    - {number: \"9999\", flow: f}\n");
	o += (size_t)snprintf(y + o, cap - o,
			      "    - {number: \"17\", flow: g}\n");
	assert_int_equal(config_load_buf("v.yaml", y, o, &cfg, &errs), -EINVAL);
	assert_int_equal(errs.count, 1);
	assert_string_equal(errs.msg[0],
			    "v.yaml:10002:16: duplicate route number '17' "
			    "(first at line 20, column 16)");
	free(y);
}

static void printed_config_loads_back_to_the_same_values(void **state)
{
	char *first, *second;

	load_ok(full_yaml, &cfg);
	first = print_to_string(&cfg);
	load_ok(first, &cfg2);
	second = print_to_string(&cfg2);
	assert_string_equal(first, second);
	assert_int_equal(cfg2.flows.nroutes, 3);
	assert_true(cfg2.flows.routes[1].prefix);
	assert_string_equal(cfg2.rtp.address, "2001:db8::1");
	assert_int_equal(cfg2.sip.answer_delay_ms, 1500);
	assert_non_null(strstr(first, "  answer_delay: 1500ms\n"));
	assert_non_null(strstr(first,
			       "  listen: [\"udp:10.0.0.5:5080\", "
			       "\"tcp:[::1]:5081\", \"udp:0.0.0.0:5060\"]\n"));
	assert_non_null(strstr(
		first, "    - number: \"800*\"\n      flow: \"toll-free\"\n"));
	assert_non_null(strstr(first, "  cache_size: 512KB\n"));
	free(first);
	free(second);
	config_free(&cfg);
	config_free(&cfg2);
}

static void routes_pick_exact_then_longest_prefix(void **state)
{
	load_ok("flows:\n  routes:\n"
		"    - {number: \"8*\", flow: eight}\n"
		"    - {number: \"800*\", flow: tollfree}\n"
		"    - {number: \"8005551234\", flow: vip}\n"
		"    - {number: \"80*\", flow: eighty}\n"
		"    - {number: \"+4930*\", flow: berlin}\n",
		&cfg);
	assert_string_equal(config_route_find(&cfg, "8005551234")->flow, "vip");
	assert_string_equal(config_route_find(&cfg, "8005551235")->flow,
			    "tollfree");
	assert_string_equal(config_route_find(&cfg, "801")->flow, "eighty");
	assert_string_equal(config_route_find(&cfg, "8")->flow, "eight");
	assert_string_equal(config_route_find(&cfg, "+493012345")->flow,
			    "berlin");
	assert_null(config_route_find(&cfg, "1000"));
	assert_null(config_route_find(&cfg, ""));
	assert_null(config_route_find(NULL, "8"));
	config_free(&cfg);
}

static void
example_file_loads_with_zero_errors_and_equals_defaults(void **state)
{
	const char *path = VG_SOURCE_DIR "/examples/voxgate.yaml";
	char *want, *have;
	int rc;

	rc = config_load_file(path, &cfg, &errs);
	if (rc)
		config_errors_print(&errs, stderr);
	assert_int_equal(rc, 0);
	assert_int_equal(errs.count, 0);
	assert_string_equal(cfg.source, path);
	/* The example annotates every key at its default value. */
	config_defaults(&defaults);
	want = print_to_string(&defaults);
	have = print_to_string(&cfg);
	assert_string_equal(have, want);
	/* ... and really mentions every key (not just by omission). */
	assert_true(cfg.flows.default_pos.line > 0);
	free(want);
	free(have);
	config_free(&cfg);
}

static void load_file_reports_unreadable_and_oversized_files(void **state)
{
	char path[] = "/tmp/vg_config_test_XXXXXX";
	int fd;
	FILE *f;

	assert_int_equal(
		config_load_file("/nonexistent/voxgate.yaml", &cfg, &errs),
		-ENOENT);
	assert_int_equal(errs.count, 1);
	assert_string_equal(errs.msg[0], "/nonexistent/voxgate.yaml: cannot "
					 "open: No such file or directory");

	assert_int_equal(config_load_file("/tmp", &cfg, &errs), -EISDIR);
	assert_string_equal(errs.msg[0], "/tmp: cannot read: Is a directory");

	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	for (int i = 0; i < (4 << 20) / 16 + 1; i++)
		fputs("# padding 1234\n\n", f);
	fclose(f);
	assert_int_equal(config_load_file(path, &cfg, &errs), -EFBIG);
	assert_int_equal(errs.count, 1);
	assert_non_null(
		strstr(errs.msg[0],
		       ": file is larger than the limit of 4194304 bytes"));

	/* A small good file through the same path. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("log:\n  level: warn\n", f);
	fclose(f);
	assert_int_equal(config_load_file(path, &cfg, &errs), 0);
	assert_int_equal(cfg.log.level, LOG_LVL_WARN);
	config_free(&cfg);
	unlink(path);
}

static void errors_print_notes_dropped_ones(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	memset(&errs, 0, sizeof(errs));
	errs.count = 1;
	snprintf(errs.msg[0], sizeof(errs.msg[0]), "a:1:1: x");
	errs.dropped = 3;
	config_errors_print(&errs, f);
	fclose(f);
	assert_string_equal(buf, "a:1:1: x\n... and 3 more errors\n");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_are_the_documented_values),
		cmocka_unit_test(empty_and_partial_files_keep_defaults),
		cmocka_unit_test(full_file_sets_every_field),
		cmocka_unit_test(durations_and_sizes_accept_every_unit),
		cmocka_unit_test(
			every_error_has_its_exact_position_and_message),
		cmocka_unit_test(too_many_errors_are_counted_beyond_the_cap),
		cmocka_unit_test(route_table_is_capped),
		cmocka_unit_test(printed_config_loads_back_to_the_same_values),
		cmocka_unit_test(routes_pick_exact_then_longest_prefix),
		cmocka_unit_test(
			example_file_loads_with_zero_errors_and_equals_defaults),
		cmocka_unit_test(
			load_file_reports_unreadable_and_oversized_files),
		cmocka_unit_test(errors_print_notes_dropped_ones),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
