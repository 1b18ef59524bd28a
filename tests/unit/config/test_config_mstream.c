/* twilio.media_enabled / media_listen: defaults, parsing, the cross check
 * (token and public URL needed), errors with positions, print round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

static struct vg_config cfg;
static struct config_errors errs;

static int load(const char *yaml, struct vg_config *out)
{
	return config_load_buf("m.yaml", yaml, strlen(yaml), out, &errs);
}

static void defaults_are_off_on_8081(void **state)
{
	(void)state;
	config_defaults(&cfg);
	assert_false(cfg.twilio.media_enabled);
	assert_string_equal(cfg.twilio.media_listen.host, "127.0.0.1");
	assert_int_equal(cfg.twilio.media_listen.port, 8081);
}

static void settings_parse(void **state)
{
	(void)state;
	assert_int_equal(load("twilio:\n  media_enabled: true\n"
			      "  media_listen: 0.0.0.0:18081\n"
			      "  auth_token: tok\n"
			      "  public_url: https://vg.example.com\n",
			      &cfg),
			 0);
	assert_true(cfg.twilio.media_enabled);
	assert_string_equal(cfg.twilio.media_listen.host, "0.0.0.0");
	assert_int_equal(cfg.twilio.media_listen.port, 18081);
	config_free(&cfg);
}

static void media_needs_token_and_public_url(void **state)
{
	(void)state;
	assert_int_equal(load("twilio:\n  media_enabled: true\n", &cfg), -22);
	assert_int_equal(errs.count, 2);
	assert_non_null(strstr(errs.msg[0], "m.yaml:2:18:"));
	assert_non_null(strstr(errs.msg[0], "auth_token"));
	assert_non_null(strstr(errs.msg[1], "public_url"));
}

static void media_calls_need_the_media_listener(void **state)
{
	(void)state;
	assert_int_equal(load("twilio:\n  media_calls: true\n", &cfg), -22);
	assert_int_equal(errs.count, 1);
	assert_non_null(strstr(errs.msg[0], "m.yaml:2:16: 'media_calls' needs "
					    "'media_enabled: true'"));
	assert_int_equal(load("twilio:\n  media_enabled: true\n"
			      "  media_calls: true\n"
			      "  auth_token: \"0123456789abcdef0123\"\n"
			      "  public_url: \"https://vg.example.com\"\n",
			      &cfg),
			 0);
	assert_true(cfg.twilio.media_calls);
	config_free(&cfg);
}

static void bad_values_are_reported_with_positions(void **state)
{
	(void)state;
	assert_int_equal(load("twilio:\n  media_enabled: maybe\n"
			      "  media_listen: host:70000\n",
			      &cfg),
			 -22);
	assert_int_equal(errs.count, 2);
	assert_non_null(strstr(errs.msg[0], "m.yaml:2:18: 'media_enabled'"));
	assert_non_null(strstr(errs.msg[1], "m.yaml:3:17: 'media_listen'"));
}

static void printed_settings_load_back(void **state)
{
	(void)state;
	assert_int_equal(load("twilio:\n  media_enabled: true\n"
			      "  media_listen: \"[::1]:8082\"\n"
			      "  auth_token: tok\n"
			      "  public_url: https://vg.example.com\n",
			      &cfg),
			 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(config_print(&cfg, f), 0);
	fclose(f);
	const char *t = strstr(buf, "twilio:\n");
	assert_non_null(t);
	assert_non_null(strstr(t, "  media_enabled: true\n"));
	assert_non_null(strstr(t, "  media_listen: \"[::1]:8082\"\n"));
	/* Loaded back with a token (printed as ***, not round-trippable). */
	struct vg_config cfg2;
	assert_int_equal(load("twilio:\n  media_enabled: true\n"
			      "  media_listen: \"[::1]:8082\"\n"
			      "  auth_token: x\n"
			      "  public_url: https://a.example\n",
			      &cfg2),
			 0);
	assert_int_equal(cfg2.twilio.media_listen.port, 8082);
	assert_string_equal(cfg2.twilio.media_listen.host, "::1");
	free(buf);
	config_free(&cfg);
	config_free(&cfg2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_are_off_on_8081),
		cmocka_unit_test(settings_parse),
		cmocka_unit_test(media_needs_token_and_public_url),
		cmocka_unit_test(media_calls_need_the_media_listener),
		cmocka_unit_test(bad_values_are_reported_with_positions),
		cmocka_unit_test(printed_settings_load_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
