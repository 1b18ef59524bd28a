/* The stt.* settings and their neighbours: stt.lm_beam / lm_weight /
 * lm_word_bonus / lm_prune (Moonshine with a domain LM), stt.open_beam /
 * open_prune (Moonshine on open steps without one), stt.early_decode,
 * stt.continue_window (continued turns),
 * stt.degrade / degrade_after (decodes that waited that long in the worker
 * queue run degraded), stt.stream (calls stream a gather's speech to an
 * engine that streams) with the opt-in "partial" webhook event, and
 * stt.partial_every (emulated partials of engines that cannot stream) with
 * genesys.partials (the AudioHook monitor's isFinal:false transcripts):
 * defaults, parsing, range and malformed-value errors with positions, print
 * round trip. */
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

static void defaults_are_the_measured_ones(void **state)
{
	(void)state;
	config_defaults(&cfg);
	assert_int_equal(cfg.stt.lm_beam, 6);
	assert_float_equal(cfg.stt.lm_weight, 0.4, 1e-6);
	assert_float_equal(cfg.stt.lm_word_bonus, 1.25, 1e-6);
	assert_float_equal(cfg.stt.lm_prune, 4.0, 1e-6);
	/* 0: the engine's measured width and margin (stated there once) */
	assert_int_equal(cfg.stt.open_beam, 0);
	assert_float_equal(cfg.stt.open_prune, 0.0, 1e-6);
	assert_int_equal(cfg.stt.early_ms, 100);
	assert_int_equal(cfg.stt.continue_ms, CONFIG_STT_CONTINUE_MS);
	assert_int_equal(CONFIG_STT_CONTINUE_MS, 250);
	assert_true(cfg.stt.degrade);
	assert_int_equal(cfg.stt.degrade_ms, 300);
	assert_true(cfg.stt.stream);
	assert_string_equal(cfg.webhooks.events, "");
	assert_int_equal(cfg.stt.partial_every_ms, CONFIG_STT_PARTIAL_EVERY_MS);
	assert_true(cfg.stt.partial_every_ms > 0);
	assert_true(cfg.genesys.partials);
	/* a file that does not name them keeps them */
	assert_int_equal(load("sip: {}\n", &cfg), 0);
	assert_int_equal(cfg.stt.partial_every_ms, CONFIG_STT_PARTIAL_EVERY_MS);
	assert_true(cfg.genesys.partials);
	config_free(&cfg);
}

static void settings_parse(void **state)
{
	(void)state;
	assert_int_equal(load("stt:\n  lm_beam: 8\n  lm_weight: 1.25\n"
			      "  lm_word_bonus: 0\n  lm_prune: 0\n"
			      "  early_decode: 0\n  open_beam: 16\n"
			      "  open_prune: 2.5\n",
			      &cfg),
			 0);
	assert_int_equal(cfg.stt.early_ms, 0);
	assert_int_equal(cfg.stt.continue_ms, CONFIG_STT_CONTINUE_MS);
	assert_int_equal(cfg.stt.open_beam, 16);
	assert_float_equal(cfg.stt.open_prune, 2.5, 1e-6);
	assert_int_equal(cfg.stt.lm_beam, 8);
	assert_float_equal(cfg.stt.lm_weight, 1.25, 1e-6);
	assert_float_equal(cfg.stt.lm_word_bonus, 0.0, 1e-6);
	assert_float_equal(cfg.stt.lm_prune, 0.0, 1e-6);
	config_free(&cfg);
	/* 1 is greedy decoding, 0 the engine's default */
	assert_int_equal(load("stt:\n  open_beam: 1\n  open_prune: 0\n", &cfg),
			 0);
	assert_int_equal(cfg.stt.open_beam, 1);
	assert_float_equal(cfg.stt.open_prune, 0.0, 1e-6);
	config_free(&cfg);
	assert_int_equal(load("stt:\n  open_beam: 0\n", &cfg), 0);
	assert_int_equal(cfg.stt.open_beam, 0);
	config_free(&cfg);
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
	assert_int_equal(load("stt:\n  stream: false\n", &cfg), 0);
	assert_false(cfg.stt.stream);
	config_free(&cfg);
	assert_int_equal(load("stt:\n  continue_window: 0\n", &cfg), 0);
	assert_int_equal(cfg.stt.continue_ms, 0);
	config_free(&cfg);
	assert_int_equal(load("stt:\n  continue_window: 400ms\n", &cfg), 0);
	assert_int_equal(cfg.stt.continue_ms, 400);
	config_free(&cfg);
	assert_int_equal(load("stt:\n  continue_window: 2s\n", &cfg), 0);
	assert_int_equal(cfg.stt.continue_ms, 2000);
	config_free(&cfg);
	assert_int_equal(load("stt:\n  stream: true\n", &cfg), 0);
	assert_true(cfg.stt.stream);
	config_free(&cfg);
	assert_int_equal(
		load("webhooks:\n  events: \"intent,partial\"\n", &cfg), 0);
	assert_string_equal(cfg.webhooks.events, "intent,partial");
	config_free(&cfg);
	assert_int_equal(load("stt:\n  partial_every: 750ms\n"
			      "genesys:\n  partials: false\n",
			      &cfg),
			 0);
	assert_int_equal(cfg.stt.partial_every_ms, 750);
	assert_false(cfg.genesys.partials);
	config_free(&cfg);
	assert_int_equal(load("stt:\n  partial_every: 0\n", &cfg), 0);
	assert_int_equal(cfg.stt.partial_every_ms, 0);
	assert_true(cfg.genesys.partials);
	config_free(&cfg);
	assert_int_equal(load("stt:\n  partial_every: 2s\n"
			      "genesys:\n  partials: true\n",
			      &cfg),
			 0);
	assert_int_equal(cfg.stt.partial_every_ms, 2000);
	assert_true(cfg.genesys.partials);
	config_free(&cfg);
}

static void bad_values_are_errors_at_their_position(void **state)
{
	static const struct {
		const char *yaml, *where, *what;
	} bad[] = {
		{ "stt:\n  lm_beam: 0\n", "s.yaml:2:12:", "lm_beam" },
		{ "stt:\n  lm_beam: 17\n", "s.yaml:2:12:", "lm_beam" },
		{ "stt:\n  lm_weight: -0.5\n",
		  "s.yaml:2:14:", "between 0 and 4" },
		{ "stt:\n  lm_weight: 4.5\n", "s.yaml:2:14:", "lm_weight" },
		{ "stt:\n  lm_weight: lots\n", "s.yaml:2:14:", "lm_weight" },
		{ "stt:\n  lm_word_bonus: 9\n",
		  "s.yaml:2:18:", "between 0 and 8" },
		{ "stt:\n  lm_prune: 51\n",
		  "s.yaml:2:13:", "between 0 and 50" },
		{ "stt:\n  lm_prune: -1\n", "s.yaml:2:13:", "lm_prune" },
		{ "stt:\n  lm_words: 2\n", "s.yaml:2:3:", "lm_words" },
		{ "stt:\n  open_beam: 17\n",
		  "s.yaml:2:14:", "between 0 and 16" },
		{ "stt:\n  open_beam: -1\n", "s.yaml:2:14:", "open_beam" },
		{ "stt:\n  open_beam: 2.5\n", "s.yaml:2:14:", "open_beam" },
		{ "stt:\n  open_beam: yes\n", "s.yaml:2:14:", "open_beam" },
		{ "stt:\n  open_beam: \"\"\n", "s.yaml:2:14:", "open_beam" },
		{ "stt:\n  open_prune: 51\n",
		  "s.yaml:2:15:", "between 0 and 50" },
		{ "stt:\n  open_prune: -0.5\n", "s.yaml:2:15:", "open_prune" },
		{ "stt:\n  open_prune: wide\n", "s.yaml:2:15:", "open_prune" },
		{ "stt:\n  early_decode: 3s\n",
		  "s.yaml:2:17:", "early_decode" },
		{ "stt:\n  early_decode: soon\n",
		  "s.yaml:2:17:", "early_decode" },
		{ "stt:\n  continue_window: 3s\n",
		  "s.yaml:2:20:", "between 0s and 2s" },
		{ "stt:\n  continue_window: -250ms\n",
		  "s.yaml:2:20:", "continue_window" },
		{ "stt:\n  continue_window: 250\n",
		  "s.yaml:2:20:", "continue_window" },
		{ "stt:\n  continue_window: soon\n",
		  "s.yaml:2:20:", "continue_window" },
		{ "stt:\n  continue_window: \"\"\n",
		  "s.yaml:2:20:", "continue_window" },
		{ "stt:\n  continue_window: [250ms]\n",
		  "s.yaml:2:20:", "continue_window" },
		{ "stt:\n  continue: 250ms\n", "s.yaml:2:3:", "continue" },
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
		{ "stt:\n  stream: maybe\n", "s.yaml:2:11:", "stream" },
		{ "stt:\n  stream: 1\n", "s.yaml:2:11:", "stream" },
		{ "stt:\n  stream: \"\"\n", "s.yaml:2:11:", "stream" },
		{ "stt:\n  stream: [true]\n", "s.yaml:2:11:", "stream" },
		{ "stt:\n  streaming: true\n", "s.yaml:2:3:", "streaming" },
		{ "webhooks:\n  events: \"partial,partial\"\n",
		  "s.yaml:2:11:", "events" },
		{ "webhooks:\n  events: \"partials\"\n",
		  "s.yaml:2:11:", "events" },
		{ "stt:\n  partial_every: 11s\n",
		  "s.yaml:2:18:", "between 0s and 10s" },
		{ "stt:\n  partial_every: -500ms\n",
		  "s.yaml:2:18:", "partial_every" },
		{ "stt:\n  partial_every: often\n",
		  "s.yaml:2:18:", "partial_every" },
		{ "stt:\n  partial_every: 500\n",
		  "s.yaml:2:18:", "partial_every" },
		{ "stt:\n  partial_every: 500xs\n",
		  "s.yaml:2:18:", "partial_every" },
		{ "stt:\n  partial_every: \"\"\n",
		  "s.yaml:2:18:", "partial_every" },
		{ "stt:\n  partial_every: [1s]\n",
		  "s.yaml:2:18:", "partial_every" },
		{ "stt:\n  partials_every: 1s\n",
		  "s.yaml:2:3:", "partials_every" },
		{ "genesys:\n  partials: maybe\n", "s.yaml:2:13:", "partials" },
		{ "genesys:\n  partials: 1\n", "s.yaml:2:13:", "partials" },
		{ "genesys:\n  partials: \"\"\n", "s.yaml:2:13:", "partials" },
		{ "genesys:\n  partials: {on: true}\n",
		  "s.yaml:2:13:", "partials" },
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
	assert_int_equal(load("stt:\n  lm_beam: 2\n  lm_weight: 0.4\n"
			      "  lm_word_bonus: 1.5\n  lm_prune: 2.5\n"
			      "  early_decode: 150ms\n  open_beam: 3\n"
			      "  continue_window: 320ms\n"
			      "  open_prune: 1.5\n  degrade: false\n"
			      "  degrade_after: 450ms\n  stream: false\n"
			      "  partial_every: 1200ms\n"
			      "genesys:\n  partials: false\n",
			      &cfg),
			 0);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(config_print(&cfg, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "lm_beam: 2\n"));
	assert_non_null(strstr(buf, "lm_weight: 0.4\n"));
	assert_non_null(strstr(buf, "lm_word_bonus: 1.5\n"));
	assert_non_null(strstr(buf, "lm_prune: 2.5\n"));
	assert_non_null(strstr(buf, "open_beam: 3\n"));
	assert_non_null(strstr(buf, "open_prune: 1.5\n"));
	assert_non_null(strstr(buf, "  degrade: false\n"));
	assert_non_null(strstr(buf, "  degrade_after: 450ms\n"));
	assert_non_null(strstr(buf, "  stream: false\n"));
	assert_non_null(strstr(buf, "  continue_window: 320ms\n"));
	assert_non_null(strstr(buf, "  partial_every: 1200ms\n"));
	assert_non_null(strstr(buf, "  partials: false\n"));
	assert_int_equal(load(buf, &back), 0);
	assert_int_equal(back.stt.lm_beam, 2);
	assert_float_equal(back.stt.lm_weight, 0.4, 1e-6);
	assert_float_equal(back.stt.lm_word_bonus, 1.5, 1e-6);
	assert_float_equal(back.stt.lm_prune, 2.5, 1e-6);
	assert_int_equal(back.stt.early_ms, 150);
	assert_int_equal(back.stt.continue_ms, 320);
	assert_int_equal(back.stt.open_beam, 3);
	assert_float_equal(back.stt.open_prune, 1.5, 1e-6);
	assert_false(back.stt.degrade);
	assert_int_equal(back.stt.degrade_ms, 450);
	assert_false(back.stt.stream);
	assert_int_equal(back.stt.partial_every_ms, 1200);
	assert_false(back.genesys.partials);
	config_free(&back);
	config_free(&cfg);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_are_the_measured_ones),
		cmocka_unit_test(settings_parse),
		cmocka_unit_test(bad_values_are_errors_at_their_position),
		cmocka_unit_test(print_round_trips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
