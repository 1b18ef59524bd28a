/* The twilio: section (webhooks + TwiML part): values, defaults, the
 * cross-checks of enabled, exact error positions, printing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct config_errors errs;
static struct vg_config cfg;

static int load(const char *yaml)
{
	return config_load_buf("voxgate.yaml", yaml, strlen(yaml), &cfg, &errs);
}

static void defaults_are_off_with_polly_joanna(void **state)
{
	(void)state;
	assert_int_equal(load("sip: {}\n"), 0);
	assert_false(cfg.twilio.enabled);
	assert_string_equal(cfg.twilio.auth_token, "");
	assert_string_equal(cfg.twilio.public_url, "");
	assert_string_equal(cfg.twilio.voice, "Polly.Joanna");
	assert_string_equal(cfg.twilio.language, "en-US");
	config_free(&cfg);
}

static void every_field_is_read_and_the_token_never_printed(void **state)
{
	(void)state;
	assert_int_equal(load("twilio:\n"
			      "  enabled: true\n"
			      "  auth_token: \"abc123secret\"\n"
			      "  public_url: https://vg.example.com:8443\n"
			      "  voice: Polly.Matthew\n"
			      "  language: en-GB\n"),
			 0);
	assert_true(cfg.twilio.enabled);
	assert_string_equal(cfg.twilio.auth_token, "abc123secret");
	assert_string_equal(cfg.twilio.public_url,
			    "https://vg.example.com:8443");
	assert_string_equal(cfg.twilio.voice, "Polly.Matthew");
	assert_string_equal(cfg.twilio.language, "en-GB");
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(config_print(&cfg, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "twilio:\n  enabled: true\n  auth_token: "
				    "\"***\"\n  public_url: "
				    "\"https://vg.example.com:8443\"\n"));
	assert_null(strstr(buf, "abc123secret"));
	free(buf);
	config_free(&cfg);
}

struct err_case {
	const char *yaml;
	const char *errors[3];
};

static const struct err_case cases[] = {
	{ "twilio:\n  enabled: true\n",
	  { "voxgate.yaml:2:12: 'enabled' needs 'auth_token' in 'twilio' "
	    "(every webhook's signature is checked with it)",
	    "voxgate.yaml:2:12: 'enabled' needs 'public_url' in 'twilio' (the "
	    "URL Twilio signs, and where <Gather> posts back)" } },
	{ "twilio:\n  public_url: https://vg.example.com/\n",
	  { "voxgate.yaml:2:15: 'public_url' must be an http:// or https:// "
	    "base URL without query, fragment or trailing '/', e.g. "
	    "\"https://vg.example.com\", or \"\", got "
	    "'https://vg.example.com/'" } },
	{ "twilio:\n  public_url: \"ftp://x\"\n",
	  { "voxgate.yaml:2:15: 'public_url' must be an http:// or https:// "
	    "base URL without query, fragment or trailing '/', e.g. "
	    "\"https://vg.example.com\", or \"\", got 'ftp://x'" } },
	{ "twilio:\n  voice: \"Polly Joanna\"\n",
	  { "voxgate.yaml:2:10: 'voice' must be a Twilio voice name such as "
	    "\"Polly.Joanna\" (letters, digits, '.', '-', '_'), got 'Polly "
	    "Joanna'" } },
	{ "twilio:\n  auth_token: \"a\\tb\"\n",
	  { "voxgate.yaml:2:15: 'auth_token' must be the account's auth "
	    "token: 1 to 255 printable ASCII characters, or \"\", got "
	    "'a?b'" } },
	{ "twilio:\n  enabled: yes please\n",
	  { "voxgate.yaml:2:12: 'enabled' must be true or false, got 'yes "
	    "please'" } },
};

static void bad_values_have_exact_positions(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct err_case *c = &cases[i];
		size_t want = 0;
		while (want < 3 && c->errors[want])
			want++;
		int rc = load(c->yaml);
		if (rc != -EINVAL || errs.count != want) {
			config_errors_print(&errs, stderr);
			fail_msg("case %zu: rc %d, %u errors, want %zu", i, rc,
				 errs.count, want);
		}
		for (size_t j = 0; j < want; j++)
			if (strcmp(errs.msg[j], c->errors[j]))
				fail_msg("case %zu:\n got: %s\nwant: %s", i,
					 errs.msg[j], c->errors[j]);
	}
}

/* The back-end wait of webhook calls: defaults, values, printing, bounds
 * with positions. */
static void backend_wait_settings(void **state)
{
	(void)state;
	assert_int_equal(load("sip: {}\n"), 0);
	assert_int_equal(cfg.twilio.backend_timeout_ms, 10000);
	assert_int_equal(cfg.twilio.backend_wait_ms, 4000);
	assert_int_equal(cfg.twilio.redirects_max, 8);
	config_free(&cfg);
	assert_int_equal(load("twilio:\n"
			      "  backend_timeout: 30s\n"
			      "  backend_wait: 2500ms\n"
			      "  redirects_max: 3\n"),
			 0);
	assert_int_equal(cfg.twilio.backend_timeout_ms, 30000);
	assert_int_equal(cfg.twilio.backend_wait_ms, 2500);
	assert_int_equal(cfg.twilio.redirects_max, 3);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(config_print(&cfg, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "  backend_timeout: 30000ms\n"
				    "  backend_wait: 2500ms\n"
				    "  redirects_max: 3\n"));
	free(buf);
	config_free(&cfg);
	/* Twilio gives a webhook up after 15 s. */
	assert_int_equal(load("twilio:\n  backend_wait: 15s\n"), -EINVAL);
	assert_int_equal(errs.count, 1);
	assert_non_null(
		strstr(errs.msg[0], "voxgate.yaml:2:17: 'backend_wait'"));
	assert_int_equal(load("twilio:\n  redirects_max: 0\n"), -EINVAL);
	assert_int_equal(errs.count, 1);
	assert_non_null(
		strstr(errs.msg[0], "voxgate.yaml:2:18: 'redirects_max'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_are_off_with_polly_joanna),
		cmocka_unit_test(
			every_field_is_read_and_the_token_never_printed),
		cmocka_unit_test(bad_values_have_exact_positions),
		cmocka_unit_test(backend_wait_settings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
