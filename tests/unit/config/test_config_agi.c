/* asterisk.agi_enabled / agi_listen / sounds_dir / default_flow (FastAGI):
 * defaults, parsing, errors with positions, the sounds_dir cross-check and
 * print -> load round trip. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

static struct vg_config cfg, cfg2;
static struct config_errors errs;

static int load(const char *yaml, struct vg_config *out)
{
	return config_load_buf("v.yaml", yaml, strlen(yaml), out, &errs);
}

static void defaults_are_off_on_4573(void **state)
{
	(void)state;
	config_defaults(&cfg);
	assert_false(cfg.asterisk.agi_enabled);
	assert_string_equal(cfg.asterisk.agi_listen.host, "127.0.0.1");
	assert_int_equal(cfg.asterisk.agi_listen.port, 4573);
	assert_string_equal(cfg.asterisk.sounds_dir, "");
	assert_string_equal(cfg.asterisk.default_flow, "");
	config_free(&cfg);
}

static void settings_parse(void **state)
{
	(void)state;
	assert_int_equal(load("asterisk:\n  agi_enabled: true\n"
			      "  agi_listen: 0.0.0.0:14573\n"
			      "  sounds_dir: /var/lib/voxgate/sounds\n"
			      "  default_flow: bank-hotline\n",
			      &cfg),
			 0);
	assert_true(cfg.asterisk.agi_enabled);
	assert_string_equal(cfg.asterisk.agi_listen.host, "0.0.0.0");
	assert_int_equal(cfg.asterisk.agi_listen.port, 14573);
	assert_string_equal(cfg.asterisk.sounds_dir, "/var/lib/voxgate/sounds");
	assert_string_equal(cfg.asterisk.default_flow, "bank-hotline");
	config_free(&cfg);
}

static void bad_values_are_reported_with_positions(void **state)
{
	(void)state;
	assert_int_equal(load("asterisk:\n  agi_enabled: maybe\n"
			      "  agi_listen: localhost:70000\n"
			      "  default_flow: ../x\n"
			      "  sounds_dir: \"a\\tb\"\n",
			      &cfg),
			 -EINVAL);
	assert_true(errs.count >= 4);
	assert_non_null(strstr(errs.msg[0], "v.yaml:2:16: 'agi_enabled'"));
	assert_non_null(strstr(errs.msg[1], "v.yaml:3:15: 'agi_listen'"));
	assert_non_null(strstr(errs.msg[2], "v.yaml:4:17: 'default_flow'"));
	assert_non_null(strstr(errs.msg[3], "v.yaml:5:15: 'sounds_dir'"));
	config_free(&cfg);
}

static void enabled_without_sounds_dir_is_an_error(void **state)
{
	(void)state;
	assert_int_equal(load("asterisk:\n  agi_enabled: true\n", &cfg),
			 -EINVAL);
	assert_int_equal(errs.count, 1);
	assert_non_null(strstr(errs.msg[0], "v.yaml:2:16:"));
	assert_non_null(strstr(errs.msg[0], "needs 'sounds_dir'"));
	config_free(&cfg);
}

static void printed_settings_load_back(void **state)
{
	(void)state;
	assert_int_equal(load("asterisk:\n  agi_enabled: true\n"
			      "  agi_listen: \"[::1]:4574\"\n"
			      "  sounds_dir: /tmp/s\n"
			      "  default_flow: sales\n",
			      &cfg),
			 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(config_print(&cfg, f), 0);
	fclose(f);
	const char *a = strstr(buf, "asterisk:\n");
	assert_non_null(a);
	char mine[512] = "asterisk:\n";
	char sect[1024];
	size_t n = 0;
	for (const char *p = a; *p && n < sizeof(sect) - 1; p++) {
		if (p != a && p[-1] == '\n' && *p != ' ')
			break;
		sect[n++] = *p;
	}
	sect[n] = '\0';
	for (char *line = strtok(sect + 10, "\n"); line;
	     line = strtok(NULL, "\n"))
		if (strstr(line, "agi_") || strstr(line, "sounds_dir") ||
		    strstr(line, "default_flow")) {
			strcat(mine, line);
			strcat(mine, "\n");
		}
	assert_non_null(strstr(mine, "  agi_enabled: true\n"));
	assert_non_null(strstr(mine, "  agi_listen: \"[::1]:4574\"\n"));
	assert_int_equal(load(mine, &cfg2), 0);
	assert_true(cfg2.asterisk.agi_enabled);
	assert_string_equal(cfg2.asterisk.agi_listen.host, "::1");
	assert_int_equal(cfg2.asterisk.agi_listen.port, 4574);
	assert_string_equal(cfg2.asterisk.sounds_dir, "/tmp/s");
	assert_string_equal(cfg2.asterisk.default_flow, "sales");
	free(buf);
	config_free(&cfg);
	config_free(&cfg2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_are_off_on_4573),
		cmocka_unit_test(settings_parse),
		cmocka_unit_test(bad_values_are_reported_with_positions),
		cmocka_unit_test(enabled_without_sounds_dir_is_an_error),
		cmocka_unit_test(printed_settings_load_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
