/* voxgate.yaml sections for outgoing HTTP and the v2 flow back-end:
 * http_client, webhooks, store.crm_demo, nlu.models_dir, recordings.dir:
 * defaults, full values, every error with its position, printing back. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

static struct vg_config cfg, cfg2;
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
}

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

static void new_sections_default_to_the_documented_values(void **state)
{
	(void)state;
	load_ok("", &cfg);
	assert_int_equal(cfg.http_client.max_host_connections, 8);
	assert_int_equal(cfg.http_client.max_total_connections, 64);
	assert_int_equal(cfg.http_client.max_queued, 1000);
	assert_int_equal(cfg.http_client.breaker_failures, 5);
	assert_int_equal(cfg.http_client.breaker_cooldown_ms, 30000);
	assert_int_equal(cfg.http_client.max_response_bytes, 1024 * 1024);
	assert_int_equal(cfg.webhooks.nurls, 0);
	assert_string_equal(cfg.webhooks.secret, "");
	assert_string_equal(cfg.webhooks.events, "");
	assert_int_equal(cfg.webhooks.timeout_ms, 5000);
	assert_int_equal(cfg.webhooks.retries, 2);
	assert_false(cfg.store.crm_demo);
	assert_string_equal(cfg.nlu.models_dir, "");
	assert_string_equal(cfg.recordings.dir, "");
	config_free(&cfg);
}

static const char full_yaml[] =
	"http_client:\n"
	"  max_host_connections: 4\n"
	"  max_total_connections: 32\n"
	"  max_queued: 50\n"
	"  breaker_failures: 3\n"
	"  breaker_cooldown: 1500ms\n"
	"  max_response_size: 64KB\n"
	"webhooks:\n"
	"  urls: [\"https://hooks.example.com/voxgate\",\n"
	"         \"http://127.0.0.1:9000/ev?x=1\"]\n"
	"  secret: \"0123456789abcdef-secret\"\n"
	"  events: started,ended\n"
	"  timeout: 2s\n"
	"  retries: 0\n"
	"store:\n"
	"  crm_demo: true\n"
	"nlu:\n"
	"  models_dir: /var/lib/voxgate/nlu\n"
	"recordings:\n"
	"  dir: /var/spool/voxgate/rec\n";

static void full_sections_set_every_field(void **state)
{
	(void)state;
	load_ok(full_yaml, &cfg);
	assert_int_equal(cfg.http_client.max_host_connections, 4);
	assert_int_equal(cfg.http_client.max_total_connections, 32);
	assert_int_equal(cfg.http_client.max_queued, 50);
	assert_int_equal(cfg.http_client.breaker_failures, 3);
	assert_int_equal(cfg.http_client.breaker_cooldown_ms, 1500);
	assert_int_equal(cfg.http_client.max_response_bytes, 64 * 1024);
	assert_int_equal(cfg.webhooks.nurls, 2);
	assert_string_equal(cfg.webhooks.urls[0],
			    "https://hooks.example.com/voxgate");
	assert_string_equal(cfg.webhooks.urls[1],
			    "http://127.0.0.1:9000/ev?x=1");
	assert_string_equal(cfg.webhooks.secret, "0123456789abcdef-secret");
	assert_string_equal(cfg.webhooks.events, "started,ended");
	assert_int_equal(cfg.webhooks.timeout_ms, 2000);
	assert_int_equal(cfg.webhooks.retries, 0);
	assert_true(cfg.store.crm_demo);
	assert_string_equal(cfg.nlu.models_dir, "/var/lib/voxgate/nlu");
	assert_string_equal(cfg.recordings.dir, "/var/spool/voxgate/rec");
	config_free(&cfg);
}

static void printed_sections_load_back_but_never_show_the_secret(void **state)
{
	char *first, *second;

	(void)state;
	load_ok(full_yaml, &cfg);
	first = print_to_string(&cfg);
	assert_null(strstr(first, "0123456789abcdef-secret"));
	assert_non_null(strstr(first, "  secret: \"***\"\n"));
	assert_non_null(strstr(first, "  breaker_cooldown: 1500ms\n"));
	assert_non_null(strstr(first, "  max_response_size: 64KB\n"));
	assert_non_null(strstr(first, "  crm_demo: true\n"));
	assert_non_null(
		strstr(first, "  urls: [\"https://hooks.example.com/voxgate\", "
			      "\"http://127.0.0.1:9000/ev?x=1\"]\n"));
	/* "***" is too short to be a secret: the printout cannot be loaded
	 * by mistake with a fake key. */
	assert_int_equal(load(first, &cfg2), -EINVAL);
	assert_non_null(strstr(errs.msg[0], "'secret' must be 16 to 255"));
	free(first);

	/* Without webhooks every value round-trips. */
	cfg.webhooks.nurls = 0;
	cfg.webhooks.secret[0] = '\0';
	first = print_to_string(&cfg);
	load_ok(first, &cfg2);
	second = print_to_string(&cfg2);
	assert_string_equal(first, second);
	assert_int_equal(cfg2.http_client.max_queued, 50);
	assert_true(cfg2.store.crm_demo);
	assert_string_equal(cfg2.recordings.dir, "/var/spool/voxgate/rec");
	free(first);
	free(second);
	config_free(&cfg);
	config_free(&cfg2);
}

struct err_case {
	const char *name;
	const char *yaml;
	const char *errors[4]; /* exact, in order */
};

static const struct err_case err_cases[] = {
	{ "unknown key in http_client",
	  "http_client:\n  max_conns: 3\n",
	  { "voxgate.yaml:2:3: unknown key 'max_conns' in 'http_client' "
	    "(expected: max_host_connections, max_total_connections, "
	    "max_queued, breaker_failures, breaker_cooldown, "
	    "max_response_size)" } },
	{ "host connections out of range",
	  "http_client:\n  max_host_connections: 0\n",
	  { "voxgate.yaml:2:25: 'max_host_connections' must be an integer "
	    "between 1 and 1024, got '0'" } },
	{ "cooldown too short",
	  "http_client:\n  breaker_cooldown: 50ms\n",
	  { "voxgate.yaml:2:21: 'breaker_cooldown' must be a duration between "
	    "100ms and 1h (like 250ms, 30s, 5m), got '50ms'" } },
	{ "response size out of range",
	  "http_client:\n  max_response_size: 1GB\n",
	  { "voxgate.yaml:2:22: 'max_response_size' must be a size between "
	    "1KB and 256MB (like 512KB, 64MB), got '1GB'" } },
	{ "webhook url with a bad scheme",
	  "webhooks:\n  secret: 0123456789abcdef\n  urls: [ftp://x/y]\n",
	  { "voxgate.yaml:3:10: 'urls' entries must be http:// or https:// "
	    "URLs of at most 255 characters without spaces, got "
	    "'ftp://x/y'" } },
	{ "webhook url without a host",
	  "webhooks:\n  secret: 0123456789abcdef\n  urls:\n"
	  "    - \"http:///path\"\n",
	  { "voxgate.yaml:4:7: 'urls' entries must be http:// or https:// "
	    "URLs of at most 255 characters without spaces, got "
	    "'http:///path'" } },
	{ "webhook url with a space",
	  "webhooks:\n  secret: 0123456789abcdef\n  urls:\n"
	  "    - \"http://a b/\"\n",
	  { "voxgate.yaml:4:7: 'urls' entries must be http:// or https:// "
	    "URLs of at most 255 characters without spaces, got "
	    "'http://a b/'" } },
	{ "duplicate webhook url",
	  "webhooks:\n  secret: 0123456789abcdef\n  urls:\n"
	  "    - http://a/\n    - http://a/\n",
	  { "voxgate.yaml:5:7: duplicate url 'http://a/' (first at line 4, "
	    "column 7)" } },
	{ "too many webhook urls",
	  "webhooks:\n  secret: 0123456789abcdef\n"
	  "  urls: [http://a/, http://b/, http://c/, http://d/, http://e/]\n",
	  { "voxgate.yaml:3:9: 'urls' must have at most 4 entries, got 5" } },
	{ "urls is not a list",
	  "webhooks:\n  urls: http://a/\n",
	  { "voxgate.yaml:2:9: 'urls' must be a list, got 'http://a/'" } },
	{ "urls without a secret",
	  "webhooks:\n  urls: [http://a/]\n",
	  { "voxgate.yaml:2:9: 'urls' needs 'secret' in 'webhooks' (receivers "
	    "check the HMAC signature made with it)" } },
	{ "short secret (one message, not two)",
	  "webhooks:\n  urls: [http://a/]\n  secret: short\n",
	  { "voxgate.yaml:3:11: 'secret' must be 16 to 255 printable ASCII "
	    "characters (\"\" only without urls), got 'short'" } },
	{ "unknown webhook event",
	  "webhooks:\n  events: started,hangup\n",
	  { "voxgate.yaml:2:11: 'events' must be a comma-separated list of "
	    "started, intent, transferred, ended and partial, each at most "
	    "once, or \"\" for all but partial, got 'started,hangup'" } },
	{ "repeated webhook event",
	  "webhooks:\n  events: ended,ended\n",
	  { "voxgate.yaml:2:11: 'events' must be a comma-separated list of "
	    "started, intent, transferred, ended and partial, each at most "
	    "once, or \"\" for all but partial, got 'ended,ended'" } },
	{ "webhook retries out of range",
	  "webhooks:\n  retries: 11\n",
	  { "voxgate.yaml:2:12: 'retries' must be an integer between 0 and "
	    "10, got '11'" } },
	{ "crm_demo is not a boolean",
	  "store:\n  crm_demo: yes\n",
	  { "voxgate.yaml:2:13: 'crm_demo' must be true or false, got "
	    "'yes'" } },
	{ "crm_demo without a value",
	  "store:\n  crm_demo:\n",
	  { "voxgate.yaml:2:12: 'crm_demo' has no value (remove the key to "
	    "use the default)" } },
	{ "unknown key in nlu",
	  "nlu:\n  model_dir: x\n",
	  { "voxgate.yaml:2:3: unknown key 'model_dir' in 'nlu' (expected: "
	    "models_dir)" } },
	{ "recordings dir with a control character",
	  "recordings:\n  dir: \"/tmp/a\\tb\"\n",
	  { "voxgate.yaml:2:8: 'dir' must be a directory path of at most 1023 "
	    "bytes without control characters, or \"\", got "
	    "'/tmp/a?b'" } },
	{ "section that is not a map",
	  "http_client: 5\n",
	  { "voxgate.yaml:1:14: 'http_client' must be a map of settings, got "
	    "'5'" } },
};

static void every_error_has_its_position_and_message(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEM(err_cases); i++) {
		const struct err_case *e = &err_cases[i];
		unsigned n = 0;

		assert_int_equal(load(e->yaml, &cfg), -EINVAL);
		while (n < N_ELEM(e->errors) && e->errors[n])
			n++;
		if (errs.count != n)
			config_errors_print(&errs, stderr);
		assert_int_equal(errs.count, n);
		for (unsigned k = 0; k < n; k++) {
			if (strcmp(errs.msg[k], e->errors[k]))
				fail_msg("%s:\n got:  %s\n want: %s", e->name,
					 errs.msg[k], e->errors[k]);
		}
	}
}

static void empty_url_list_and_empty_events_mean_off_and_all(void **state)
{
	(void)state;
	load_ok("webhooks:\n  urls: []\n  events: \"\"\n", &cfg);
	assert_int_equal(cfg.webhooks.nurls, 0);
	assert_string_equal(cfg.webhooks.events, "");
	load_ok("store:\n  crm_demo: false\n", &cfg);
	assert_false(cfg.store.crm_demo);
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(new_sections_default_to_the_documented_values),
		cmocka_unit_test(full_sections_set_every_field),
		cmocka_unit_test(
			printed_sections_load_back_but_never_show_the_secret),
		cmocka_unit_test(every_error_has_its_position_and_message),
		cmocka_unit_test(
			empty_url_list_and_empty_events_mean_off_and_all),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
