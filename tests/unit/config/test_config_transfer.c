/* transfer.queues (queue name -> sip:/tel: URI) and the FastAGI transfer
 * strings asterisk.dial_sip / dial_tel / queue_app: defaults, parsing,
 * errors with positions, print -> load round trip. */
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

static bool has_msg(const char *needle)
{
	for (unsigned i = 0; i < errs.count; i++)
		if (strstr(errs.msg[i], needle))
			return true;
	return false;
}

static void defaults_have_no_queues_and_the_queue_app(void **state)
{
	(void)state;
	config_defaults(&cfg);
	assert_int_equal(cfg.transfer.nqueues, 0);
	assert_string_equal(cfg.asterisk.dial_sip, "");
	assert_string_equal(cfg.asterisk.dial_tel, "");
	assert_string_equal(cfg.asterisk.queue_app, "Queue");
	config_free(&cfg);
}

static void queues_parse_in_file_order(void **state)
{
	(void)state;
	assert_int_equal(load("transfer:\n  queues:\n"
			      "    billing: \"sip:billing@pbx.example.com\"\n"
			      "    fraud-line: tel:+15550100\n"
			      "    VIP.1: sips:vip@10.0.0.1:5061\n",
			      &cfg),
			 0);
	assert_int_equal(cfg.transfer.nqueues, 3);
	assert_string_equal(cfg.transfer.queues[0].name, "billing");
	assert_string_equal(cfg.transfer.queues[0].uri,
			    "sip:billing@pbx.example.com");
	assert_string_equal(cfg.transfer.queues[1].name, "fraud-line");
	assert_string_equal(cfg.transfer.queues[1].uri, "tel:+15550100");
	assert_string_equal(cfg.transfer.queues[2].name, "VIP.1");
	config_free(&cfg);
}

static void empty_or_null_queues_are_none(void **state)
{
	(void)state;
	assert_int_equal(load("transfer:\n  queues: {}\n", &cfg), 0);
	assert_int_equal(cfg.transfer.nqueues, 0);
	config_free(&cfg);
	assert_int_equal(load("transfer:\n  queues:\n", &cfg), 0);
	assert_int_equal(cfg.transfer.nqueues, 0);
	config_free(&cfg);
}

static void bad_queues_are_reported_with_positions(void **state)
{
	(void)state;
	assert_int_equal(load("transfer:\n  queues:\n"
			      "    billing: http://pbx/billing\n"
			      "    \"bad name\": sip:x@y\n"
			      "    fraud: \"tel:12 34\"\n"
			      "    ok: sip:ok@pbx\n"
			      "    empty: \"sip:\"\n"
			      "    list: [sip:a@b]\n",
			      &cfg),
			 -EINVAL);
	assert_true(has_msg("v.yaml:3:14: queue 'billing' must map to a "
			    "sip:, sips: or tel: URI"));
	assert_true(has_msg("v.yaml:4:5: queue names must be"));
	assert_true(has_msg("v.yaml:5:12: queue 'fraud' must map"));
	assert_true(has_msg("v.yaml:7:12: queue 'empty' must map"));
	assert_true(has_msg("v.yaml:8:11: 'list' must be a single value"));
	config_free(&cfg);

	assert_int_equal(load("transfer:\n  queues: [a, b]\n", &cfg), -EINVAL);
	assert_true(has_msg("v.yaml:2:11: 'queues' must be a map"));
	config_free(&cfg);
	assert_int_equal(load("transfer:\n  queue: {}\n", &cfg), -EINVAL);
	assert_true(has_msg("v.yaml:2:3: unknown key 'queue' in 'transfer'"));
	config_free(&cfg);
}

static void too_many_queues_is_an_error(void **state)
{
	(void)state;
	char yaml[4096] = "transfer:\n  queues:\n";
	for (int i = 0; i <= CONFIG_QUEUES_MAX; i++) {
		char line[64];
		snprintf(line, sizeof(line), "    q%d: sip:q%d@pbx\n", i, i);
		strcat(yaml, line);
	}
	assert_int_equal(load(yaml, &cfg), -EINVAL);
	assert_true(has_msg("'queues' must have at most 32 entries, got 33"));
	config_free(&cfg);
}

static void dial_strings_parse_and_are_checked(void **state)
{
	(void)state;
	assert_int_equal(load("asterisk:\n  dial_sip: PJSIP/%s\n"
			      "  dial_tel: \"Local/%s@from-voxgate\"\n"
			      "  queue_app: AgentQueue_2\n",
			      &cfg),
			 0);
	assert_string_equal(cfg.asterisk.dial_sip, "PJSIP/%s");
	assert_string_equal(cfg.asterisk.dial_tel, "Local/%s@from-voxgate");
	assert_string_equal(cfg.asterisk.queue_app, "AgentQueue_2");
	config_free(&cfg);

	assert_int_equal(load("asterisk:\n  dial_sip: PJSIP/voxgate\n"
			      "  dial_tel: \"%s/%d\"\n"
			      "  queue_app: \"Queue,x\"\n",
			      &cfg),
			 -EINVAL);
	assert_int_equal(errs.count, 3);
	assert_non_null(strstr(errs.msg[0], "v.yaml:2:13: 'dial_sip'"));
	assert_non_null(strstr(errs.msg[1], "v.yaml:3:13: 'dial_tel'"));
	assert_non_null(strstr(errs.msg[2], "v.yaml:4:14: 'queue_app'"));
	config_free(&cfg);
	assert_int_equal(load("asterisk:\n  dial_sip: PJSIP/${user}@trunk\n"
			      "  dial_tel: \"Local/${user}@${host}x${uri}\"\n",
			      &cfg),
			 0);
	assert_string_equal(cfg.asterisk.dial_sip, "PJSIP/${user}@trunk");
	config_free(&cfg);
	assert_int_equal(load("asterisk:\n  dial_sip: PJSIP/${exten}\n", &cfg),
			 -EINVAL);
	config_free(&cfg);
	assert_int_equal(load("asterisk:\n  dial_sip: PJSIP/${user}%s\n", &cfg),
			 -EINVAL);
	config_free(&cfg);
	assert_int_equal(load("asterisk:\n  dial_sip: \"%s %s\"\n", &cfg),
			 -EINVAL);
	config_free(&cfg);
	assert_int_equal(load("asterisk:\n  dial_sip: \"%%s\"\n", &cfg),
			 -EINVAL);
	config_free(&cfg);
}

static void printed_config_loads_back(void **state)
{
	(void)state;
	assert_int_equal(load("transfer:\n  queues:\n"
			      "    billing: \"sip:billing@pbx\"\n"
			      "    fraud: tel:+15550100\n"
			      "asterisk:\n  dial_sip: PJSIP/%s\n"
			      "  queue_app: AgentQueue\n",
			      &cfg),
			 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(config_print(&cfg, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "transfer:\n  queues:\n"
				    "    \"billing\": \"sip:billing@pbx\"\n"));
	assert_int_equal(load(buf, &cfg2), 0);
	assert_int_equal(cfg2.transfer.nqueues, 2);
	assert_string_equal(cfg2.transfer.queues[1].name, "fraud");
	assert_string_equal(cfg2.transfer.queues[1].uri, "tel:+15550100");
	assert_string_equal(cfg2.asterisk.dial_sip, "PJSIP/%s");
	assert_string_equal(cfg2.asterisk.queue_app, "AgentQueue");
	free(buf);
	config_free(&cfg);
	config_free(&cfg2);

	/* No queues: printed as an empty map, loads back. */
	config_defaults(&cfg);
	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_int_equal(config_print(&cfg, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "transfer:\n  queues: {}\n"));
	assert_int_equal(load(buf, &cfg2), 0);
	assert_int_equal(cfg2.transfer.nqueues, 0);
	free(buf);
	config_free(&cfg2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_have_no_queues_and_the_queue_app),
		cmocka_unit_test(queues_parse_in_file_order),
		cmocka_unit_test(empty_or_null_queues_are_none),
		cmocka_unit_test(bad_queues_are_reported_with_positions),
		cmocka_unit_test(too_many_queues_is_an_error),
		cmocka_unit_test(dial_strings_parse_and_are_checked),
		cmocka_unit_test(printed_config_loads_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
