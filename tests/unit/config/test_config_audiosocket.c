/* asterisk.audiosocket_enabled / audiosocket_listen: defaults, parsing,
 * errors with positions, and print -> load round trip. */
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

static void defaults_are_off_on_9092(void **state)
{
	(void)state;
	config_defaults(&cfg);
	assert_false(cfg.asterisk.audiosocket_enabled);
	assert_string_equal(cfg.asterisk.audiosocket_listen.host, "127.0.0.1");
	assert_int_equal(cfg.asterisk.audiosocket_listen.port, 9092);
}

static void settings_parse(void **state)
{
	(void)state;
	assert_int_equal(load("asterisk:\n  audiosocket_enabled: true\n"
			      "  audiosocket_listen: 0.0.0.0:19092\n",
			      &cfg),
			 0);
	assert_true(cfg.asterisk.audiosocket_enabled);
	assert_string_equal(cfg.asterisk.audiosocket_listen.host, "0.0.0.0");
	assert_int_equal(cfg.asterisk.audiosocket_listen.port, 19092);
	config_free(&cfg);
}

static void bad_values_are_reported_with_positions(void **state)
{
	(void)state;
	assert_int_equal(load("asterisk:\n  audiosocket_enabled: yes please\n"
			      "  audiosocket_listen: localhost:99999\n"
			      "  audiosocket_port: 1\n",
			      &cfg),
			 -22);
	assert_int_equal(errs.count, 3);
	assert_non_null(
		strstr(errs.msg[0], "v.yaml:2:24: 'audiosocket_enabled'"));
	assert_non_null(
		strstr(errs.msg[1], "v.yaml:3:23: 'audiosocket_listen'"));
	assert_non_null(strstr(errs.msg[2], "v.yaml:4:3:"));
	assert_non_null(strstr(errs.msg[2], "audiosocket_port"));
}

static void printed_settings_load_back(void **state)
{
	(void)state;
	assert_int_equal(load("asterisk:\n  audiosocket_enabled: true\n"
			      "  audiosocket_listen: \"[::1]:9093\"\n",
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
	assert_non_null(strstr(a, "  audiosocket_enabled: true\n"));
	assert_non_null(strstr(a, "  audiosocket_listen: \"[::1]:9093\"\n"));
	/* Only our keys load back here: the other sections' printed
	 * defaults are their owners' tests. */
	char sect[512];
	size_t n = 0;
	for (const char *p = a; *p && n < sizeof(sect) - 1; p++) {
		if (p != a && p[-1] == '\n' && *p != ' ')
			break;
		sect[n++] = *p;
	}
	sect[n] = '\0';
	/* P's FastAGI keys may share the section: keep only ours. */
	char mine[512] = "asterisk:\n";
	for (char *line = strtok(sect + 10, "\n"); line;
	     line = strtok(NULL, "\n"))
		if (strstr(line, "audiosocket_")) {
			strcat(mine, line);
			strcat(mine, "\n");
		}
	assert_int_equal(load(mine, &cfg2), 0);
	assert_true(cfg2.asterisk.audiosocket_enabled);
	assert_string_equal(cfg2.asterisk.audiosocket_listen.host, "::1");
	assert_int_equal(cfg2.asterisk.audiosocket_listen.port, 9093);
	free(buf);
	config_free(&cfg);
	config_free(&cfg2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_are_off_on_9092),
		cmocka_unit_test(settings_parse),
		cmocka_unit_test(bad_values_are_reported_with_positions),
		cmocka_unit_test(printed_settings_load_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
