/* The genesys_bot: section (Bot Connector + Audio Connector bot): values,
 * defaults, the cross-check of enabled, exact error positions, printing
 * (the key never printed), and that printed output loads back. */
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

static void defaults_are_off(void **state)
{
	(void)state;
	assert_int_equal(load("sip: {}\n"), 0);
	assert_false(cfg.genesys_bot.enabled);
	assert_string_equal(cfg.genesys_bot.api_key, "");
	assert_string_equal(cfg.genesys_bot.api_key_header, "X-API-KEY");
	assert_string_equal(cfg.genesys_bot.bots, "");
	assert_string_equal(cfg.genesys_bot.language, "en-us");
	assert_int_equal(cfg.genesys_bot.session_timeout_ms, 30 * 60 * 1000);
	assert_string_equal(cfg.genesys_bot.audio_flow, "");
	config_free(&cfg);
}

static void every_field_is_read_and_the_key_never_printed(void **state)
{
	(void)state;
	assert_int_equal(load("genesys_bot:\n"
			      "  enabled: true\n"
			      "  api_key: \"s3cret-key\"\n"
			      "  api_key_header: X-Voxgate-Key\n"
			      "  bots: bank-hotline,bank-crm\n"
			      "  language: en-gb\n"
			      "  session_timeout: 2h\n"
			      "  audio_flow: bank-crm\n"),
			 0);
	assert_true(cfg.genesys_bot.enabled);
	assert_string_equal(cfg.genesys_bot.api_key, "s3cret-key");
	assert_string_equal(cfg.genesys_bot.api_key_header, "X-Voxgate-Key");
	assert_string_equal(cfg.genesys_bot.bots, "bank-hotline,bank-crm");
	assert_string_equal(cfg.genesys_bot.language, "en-gb");
	assert_int_equal(cfg.genesys_bot.session_timeout_ms, 2 * 3600 * 1000);
	assert_string_equal(cfg.genesys_bot.audio_flow, "bank-crm");
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(config_print(&cfg, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "genesys_bot:\n  enabled: true\n  api_key: "
				    "\"***\"\n  api_key_header: "
				    "\"X-Voxgate-Key\"\n  bots: "
				    "\"bank-hotline,bank-crm\"\n"));
	assert_non_null(strstr(buf, "  audio_flow: \"bank-crm\"\n"));
	assert_null(strstr(buf, "s3cret-key"));
	config_free(&cfg);
	/* what is printed loads back */
	assert_int_equal(load(buf), 0);
	assert_string_equal(cfg.genesys_bot.bots, "bank-hotline,bank-crm");
	assert_int_equal(cfg.genesys_bot.session_timeout_ms, 2 * 3600 * 1000);
	free(buf);
	config_free(&cfg);
}

struct err_case {
	const char *yaml;
	const char *error;
};

static const struct err_case cases[] = {
	{ "genesys_bot:\n  enabled: true\n",
	  "voxgate.yaml:2:12: 'enabled' needs 'api_key' in 'genesys_bot' "
	  "(every request must carry it)" },
	{ "genesys_bot:\n  bots: \"a,,b\"\n",
	  "voxgate.yaml:2:9: 'bots' must be flow names separated by commas "
	  "(\"bank-hotline,bank-crm\"), or \"\" for every flow, got 'a,,b'" },
	{ "genesys_bot:\n  bots: \"a,\"\n",
	  "voxgate.yaml:2:9: 'bots' must be flow names separated by commas "
	  "(\"bank-hotline,bank-crm\"), or \"\" for every flow, got 'a,'" },
	{ "genesys_bot:\n  bots: \"a b\"\n",
	  "voxgate.yaml:2:9: 'bots' must be flow names separated by commas "
	  "(\"bank-hotline,bank-crm\"), or \"\" for every flow, got 'a b'" },
	{ "genesys_bot:\n  api_key_header: \"X Key\"\n",
	  "voxgate.yaml:2:19: 'api_key_header' must be an HTTP header name "
	  "such as \"X-API-KEY\", got 'X Key'" },
	{ "genesys_bot:\n  session_timeout: 10s\n",
	  "voxgate.yaml:2:20: 'session_timeout' must be a duration between "
	  "1m and 24h (like 250ms, 30s, 5m), got '10s'" },
	{ "genesys_bot:\n  audio_flow: \"x/y\"\n",
	  "voxgate.yaml:2:15: 'audio_flow' must be a flow name (letters, "
	  "digits, '.', '_', '-'), or \"\", got 'x/y'" },
	{ "genesys_bot:\n  colour: blue\n",
	  "voxgate.yaml:2:3: unknown key 'colour' in 'genesys_bot'" },
};

static void bad_values_have_exact_positions(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct err_case *c = &cases[i];
		int rc = load(c->yaml);
		if (rc != -EINVAL || errs.count != 1) {
			config_errors_print(&errs, stderr);
			fail_msg("case %zu: rc %d, %u errors, want 1", i, rc,
				 errs.count);
		}
		if (strncmp(errs.msg[0], c->error, strlen(c->error)))
			fail_msg("case %zu:\n got: %s\nwant: %s", i,
				 errs.msg[0], c->error);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_are_off),
		cmocka_unit_test(every_field_is_read_and_the_key_never_printed),
		cmocka_unit_test(bad_values_have_exact_positions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
