/* The connect: section: defaults, every key, functions and lex_intents
 * lists, the cross-checks of enabled, error positions, printing. */
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

static void defaults_are_off_with_default_model(void **state)
{
	(void)state;
	assert_int_equal(load("sip: {}\n"), 0);
	assert_false(cfg.connect.enabled);
	assert_int_equal(cfg.connect.max_body_bytes, 64 * 1024);
	assert_int_equal(cfg.connect.timeout_ms, 5000);
	assert_string_equal(cfg.connect.model, "default");
	assert_string_equal(cfg.connect.lex_model, "");
	assert_true(cfg.connect.lex_min_confidence > 0.59f &&
		    cfg.connect.lex_min_confidence < 0.61f);
	assert_int_equal(cfg.connect.nfunctions, 0);
	assert_int_equal(cfg.connect.nintents, 0);
	config_free(&cfg);
}

static void every_key_is_read_and_secrets_never_printed(void **state)
{
	(void)state;
	int rc = load("connect:\n"
		      "  enabled: true\n"
		      "  api_key: key-123\n"
		      "  secret: \"0123456789abcdef-secret\"\n"
		      "  max_body: 32KB\n"
		      "  timeout: 3s\n"
		      "  flow: bank-crm\n"
		      "  model: banking\n"
		      "  lex_model: lexnlu\n"
		      "  lex_min_confidence: 0.75\n"
		      "  functions:\n"
		      "    - name: balance\n"
		      "      type: http\n"
		      "      url: https://crm.example.com/balance\n"
		      "      method: GET\n"
		      "      response: json\n"
		      "    - {name: who, type: crm_lookup, param: caller}\n"
		      "  lex_intents:\n"
		      "    - intent: TransferFunds\n"
		      "      slots: \"amount:money, account\"\n"
		      "      confirm: true\n"
		      "      prompt: Transfer done.\n");
	if (rc)
		for (unsigned i = 0; i < errs.count; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
	assert_int_equal(rc, 0);
	assert_true(cfg.connect.enabled);
	assert_string_equal(cfg.connect.api_key, "key-123");
	assert_int_equal(cfg.connect.max_body_bytes, 32 * 1024);
	assert_int_equal(cfg.connect.timeout_ms, 3000);
	assert_string_equal(cfg.connect.flow, "bank-crm");
	assert_string_equal(cfg.connect.lex_model, "lexnlu");
	assert_true(cfg.connect.lex_min_confidence > 0.74f &&
		    cfg.connect.lex_min_confidence < 0.76f);
	assert_int_equal(cfg.connect.nfunctions, 2);
	assert_int_equal(cfg.connect.functions[0].type, CONFIG_CONNECT_HTTP);
	assert_true(cfg.connect.functions[0].json);
	assert_string_equal(cfg.connect.functions[0].method, "GET");
	assert_string_equal(cfg.connect.functions[1].param, "caller");
	assert_false(cfg.connect.functions[1].json);
	assert_string_equal(cfg.connect.functions[1].method, "POST");
	assert_int_equal(cfg.connect.nintents, 1);
	assert_string_equal(cfg.connect.intents[0].slots,
			    "amount:money, account");
	assert_true(cfg.connect.intents[0].confirm);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(config_print(&cfg, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "connect:\n  enabled: true\n  api_key: "
				    "\"***\"\n  secret: \"***\"\n"));
	assert_non_null(strstr(buf, "    - name: \"balance\"\n      type: "
				    "http\n      response: json\n"));
	assert_null(strstr(buf, "key-123"));
	assert_null(strstr(buf, "0123456789abcdef-secret"));
	/* Without the secrets (printed as ***), what config_print writes
	 * loads back and prints the same. */
	char *tail = strstr(buf, "  max_body:");
	char *end = tail ? strstr(tail, "log:\n") : NULL;
	assert_non_null(end);
	*end = '\0';
	char *yaml = NULL;
	assert_true(asprintf(&yaml, "connect:\n%s", tail) > 0);
	struct vg_config again;
	struct config_errors e2;
	assert_int_equal(
		config_load_buf("printed", yaml, strlen(yaml), &again, &e2), 0);
	assert_int_equal(again.connect.nfunctions, 2);
	assert_string_equal(again.connect.functions[0].url,
			    "https://crm.example.com/balance");
	assert_int_equal(again.connect.nintents, 1);
	assert_string_equal(again.connect.intents[0].prompt, "Transfer done.");
	assert_true(again.connect.lex_min_confidence > 0.74f &&
		    again.connect.lex_min_confidence < 0.76f);
	config_free(&again);
	free(yaml);
	free(buf);
	config_free(&cfg);
}

struct err_case {
	const char *yaml;
	const char *error;
};

static const struct err_case cases[] = {
	{ "connect:\n  enabled: true\n",
	  "voxgate.yaml:2:12: 'enabled' needs 'api_key' in 'connect' (the "
	  "forwarding Lambda's X-Api-Key)" },
	{ "connect:\n  enabled: true\n  api_key: k\n",
	  "voxgate.yaml:2:12: 'enabled' needs 'secret' in 'connect' (the HMAC "
	  "key requests are signed with)" },
	{ "connect:\n  lex_min_confidence: 1.5\n",
	  "voxgate.yaml:2:23: 'lex_min_confidence' must be a number between 0 "
	  "and 1, got '1.5'" },
	{ "connect:\n  lex_min_confidence: abc\n",
	  "voxgate.yaml:2:23: 'lex_min_confidence' must be a number between 0 "
	  "and 1, got 'abc'" },
	{ "connect:\n  secret: short\n",
	  "voxgate.yaml:2:11: 'secret' must be 16 to 255 printable ASCII "
	  "characters, or \"\", got 'short'" },
	{ "connect:\n  functions:\n    - {name: x, type: ftp}\n",
	  "voxgate.yaml:3:23: 'type' must be one of crm_lookup, classify, "
	  "flow, http, got 'ftp'" },
	{ "connect:\n  functions:\n    - {name: x, type: http}\n",
	  "voxgate.yaml:3:7: function of type http needs 'url'" },
	{ "connect:\n  functions:\n    - {type: flow}\n",
	  "voxgate.yaml:3:7: function is missing 'name'" },
	{ "connect:\n  functions:\n    - {name: x, type: flow, colour: red}\n",
	  "voxgate.yaml:3:29: unknown key 'colour' in function (expected: "
	  "name, "
	  "type, response, param, flow, model, url, method)" },
	{ "connect:\n  functions:\n    - {name: x, type: flow}\n"
	  "    - {name: x, type: classify}\n",
	  "voxgate.yaml:4:7: duplicate function name 'x'" },
	{ "connect:\n  lex_intents:\n    - {intent: A, confirm: maybe}\n",
	  "voxgate.yaml:3:28: 'confirm' must be true or false, got 'maybe'" },
	{ "connect:\n  lex_intents:\n    - {slots: a}\n",
	  "voxgate.yaml:3:7: lex intent is missing 'intent'" },
	{ "connect:\n  max_body: 10MB\n",
	  "voxgate.yaml:2:13: 'max_body' must be a size between 1KB and 256KB "
	  "(like 512KB, 64MB), got '10MB'" },
	{ "connect:\n  colour: red\n",
	  "voxgate.yaml:2:3: unknown key 'colour' in 'connect' (expected: "
	  "enabled, api_key, secret, max_body, timeout, flow, model, "
	  "lex_model, lex_min_confidence, functions, lex_intents)" },
};

static void each_mistake_is_reported_at_its_position(void **state)
{
	(void)state;
	int bad = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = load(cases[i].yaml);
		if (rc != -EINVAL || errs.count < 1 ||
		    strcmp(errs.msg[0], cases[i].error)) {
			fprintf(stderr, "case %zu: rc=%d\n", i, rc);
			for (unsigned k = 0; k < errs.count; k++)
				fprintf(stderr, "  got: %s\n", errs.msg[k]);
			fprintf(stderr, "  want: %s\n", cases[i].error);
			bad++;
		}
		config_free(&cfg);
	}
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_are_off_with_default_model),
		cmocka_unit_test(every_key_is_read_and_secrets_never_printed),
		cmocka_unit_test(each_mistake_is_reported_at_its_position),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
