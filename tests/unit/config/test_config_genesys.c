/* The genesys: section (AudioHook monitor): values, defaults, the
 * cross-check of enabled, exact error positions, printing (key and secret
 * never printed), and that printed output loads back. */
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
	assert_false(cfg.genesys.enabled);
	assert_string_equal(cfg.genesys.listen.host, "127.0.0.1");
	assert_int_equal(cfg.genesys.listen.port, 8082);
	assert_true(cfg.genesys.require_signature);
	assert_int_equal(cfg.genesys.signature_max_age_ms, 300000);
	assert_int_equal(cfg.genesys.idle_timeout_ms, 60000);
	assert_string_equal(cfg.genesys.knowledge, "");
	assert_string_equal(cfg.genesys.model, "default");
	assert_float_equal(cfg.genesys.min_confidence, 0.5, 1e-6);
	assert_string_equal(cfg.genesys.language, "en-US");
	config_free(&cfg);
}

static void every_field_is_read_and_secrets_never_printed(void **state)
{
	(void)state;
	assert_int_equal(load("genesys:\n"
			      "  enabled: true\n"
			      "  listen: 127.0.0.1:9099\n"
			      "  api_key: \"the-api-key\"\n"
			      "  client_secret: \"c2VjcmV0LXNlY3JldA==\"\n"
			      "  require_signature: false\n"
			      "  signature_max_age: 2m\n"
			      "  idle_timeout: 0s\n"
			      "  knowledge: examples/genesys/knowledge.yaml\n"
			      "  model: banking\n"
			      "  min_confidence: 0.7\n"
			      "  language: en-GB\n"),
			 0);
	assert_true(cfg.genesys.enabled);
	assert_int_equal(cfg.genesys.listen.port, 9099);
	assert_string_equal(cfg.genesys.api_key, "the-api-key");
	assert_string_equal(cfg.genesys.client_secret, "c2VjcmV0LXNlY3JldA==");
	assert_false(cfg.genesys.require_signature);
	assert_int_equal(cfg.genesys.signature_max_age_ms, 120000);
	assert_int_equal(cfg.genesys.idle_timeout_ms, 0);
	assert_string_equal(cfg.genesys.knowledge,
			    "examples/genesys/knowledge.yaml");
	assert_string_equal(cfg.genesys.model, "banking");
	assert_float_equal(cfg.genesys.min_confidence, 0.7, 1e-6);
	assert_string_equal(cfg.genesys.language, "en-GB");
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(config_print(&cfg, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "genesys:\n  enabled: true\n  listen: "
				    "\"127.0.0.1:9099\"\n  api_key: \"***\"\n"
				    "  client_secret: \"***\"\n"));
	assert_null(strstr(buf, "the-api-key"));
	assert_null(strstr(buf, "c2VjcmV0LXNlY3JldA=="));
	config_free(&cfg);
	/* the printed secret is a mask, not a secret: "***" is refused as
	 * client_secret, so a printed config cannot be run by mistake */
	assert_int_equal(load(buf), -EINVAL);
	free(buf);
	config_free(&cfg);
}

struct err_case {
	const char *yaml;
	const char *error;
};

static const struct err_case cases[] = {
	{ "genesys:\n  enabled: true\n  api_key: k\n",
	  "voxgate.yaml:2:12: 'enabled' needs 'api_key' and 'client_secret' "
	  "in 'genesys'" },
	{ "genesys:\n  client_secret: \"not base64!\"\n",
	  "voxgate.yaml:2:18: 'client_secret' must be the integration's "
	  "client secret as Genesys shows it (base64)" },
	{ "genesys:\n  client_secret: \"abc\"\n",
	  "voxgate.yaml:2:18: 'client_secret' must be" },
	{ "genesys:\n  min_confidence: 1.5\n",
	  "voxgate.yaml:2:19: 'min_confidence'" },
	{ "genesys:\n  signature_max_age: 10ms\n",
	  "voxgate.yaml:2:22: 'signature_max_age' must be a duration" },
	{ "genesys:\n  model: \"a/b\"\n", "voxgate.yaml:2:10: 'model'" },
	{ "genesys:\n  listen: nowhere\n", "voxgate.yaml:2:11: 'listen'" },
	{ "genesys:\n  colour: blue\n",
	  "voxgate.yaml:2:3: unknown key 'colour' in 'genesys'" },
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
		cmocka_unit_test(every_field_is_read_and_secrets_never_printed),
		cmocka_unit_test(bad_values_have_exact_positions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
