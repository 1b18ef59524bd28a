/* stt.degrade / stt.degrade_after (PocketSphinx LM decodes on its fast
 * decoders once a request waited that long in the worker queue): defaults,
 * parsing, malformed values with positions, print round trip. */
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
	return config_load_buf("s.yaml", yaml, strlen(yaml), out, &errs);
}

static void degradation_is_on_by_default(void **state)
{
	(void)state;
	config_defaults(&cfg);
	assert_true(cfg.stt.degrade);
	assert_int_equal(cfg.stt.degrade_ms, 300);
}

static void settings_parse(void **state)
{
	(void)state;
	assert_int_equal(
		load("stt:\n  degrade: false\n  degrade_after: 1500ms\n", &cfg),
		0);
	assert_false(cfg.stt.degrade);
	assert_int_equal(cfg.stt.degrade_ms, 1500);
	config_free(&cfg);
	assert_int_equal(
		load("stt:\n  degrade: true\n  degrade_after: 0\n", &cfg), 0);
	assert_true(cfg.stt.degrade);
	assert_int_equal(cfg.stt.degrade_ms, 0);
	config_free(&cfg);
	assert_int_equal(load("stt:\n  degrade_after: 120ms\n", &cfg), 0);
	assert_true(cfg.stt.degrade); /* the default stays */
	assert_int_equal(cfg.stt.degrade_ms, 120);
	config_free(&cfg);
}

static void malformed_values_are_errors_at_their_position(void **state)
{
	static const struct {
		const char *yaml, *where, *what;
	} bad[] = {
		{ "stt:\n  degrade: maybe\n", "s.yaml:2:12:", "degrade" },
		{ "stt:\n  degrade: 1\n", "s.yaml:2:12:", "degrade" },
		{ "stt:\n  degrade: \"\"\n", "s.yaml:2:12:", "degrade" },
		{ "stt:\n  degrade: [true]\n", "s.yaml:2:12:", "degrade" },
		{ "stt:\n  degrade_after: 11s\n",
		  "s.yaml:2:18:", "degrade_after" },
		{ "stt:\n  degrade_after: -5ms\n",
		  "s.yaml:2:18:", "degrade_after" },
		{ "stt:\n  degrade_after: soon\n",
		  "s.yaml:2:18:", "degrade_after" },
		{ "stt:\n  degrade_after: 300xs\n",
		  "s.yaml:2:18:", "degrade_after" },
		{ "stt:\n  degrade_after: \"\"\n",
		  "s.yaml:2:18:", "degrade_after" },
		{ "stt:\n  degrade_afterwards: 1s\n",
		  "s.yaml:2:3:", "degrade_afterwards" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(load(bad[i].yaml, &cfg), -22);
		assert_true(errs.count >= 1);
		if (!strstr(errs.msg[0], bad[i].where) ||
		    !strstr(errs.msg[0], bad[i].what))
			fail_msg("case %zu: %s", i, errs.msg[0]);
	}
}

static void print_round_trips(void **state)
{
	struct vg_config back;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_int_equal(
		load("stt:\n  degrade: false\n  degrade_after: 450ms\n", &cfg),
		0);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(config_print(&cfg, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "  degrade: false\n"));
	assert_non_null(strstr(buf, "  degrade_after: 450ms\n"));
	assert_int_equal(load(buf, &back), 0);
	assert_false(back.stt.degrade);
	assert_int_equal(back.stt.degrade_ms, 450);
	config_free(&back);
	config_free(&cfg);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(degradation_is_on_by_default),
		cmocka_unit_test(settings_parse),
		cmocka_unit_test(malformed_values_are_errors_at_their_position),
		cmocka_unit_test(print_round_trips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
