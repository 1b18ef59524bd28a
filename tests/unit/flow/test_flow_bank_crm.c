/* The built-in bank-crm demo flow (flows/bank-crm.yaml) end to end on the
 * pure runtime with a scripted caller: a known customer greeted by name who
 * reports a lost card (CRM ticket read back digit by digit), a balance read
 * from the CRM, an unknown caller escalated with context, a CRM failure
 * escalated through the error handler, and card activation with the
 * recording paused around the card digits (PCI). */
#include "runtime_driver.h"

#include "flow/model.h"

#define ALICE                                                              \
	"lookup {\"id\":\"C1001\",\"first_name\":\"Alice\",\"last_name\":" \
	"\"Smith\",\"phone\":\"+14155550101\",\"tier\":\"gold\"}"

static void start_bank_crm(struct drv *d)
{
	memset(d, 0, sizeof(*d));
	d->now_ms = 1795500000000LL;
	assert_int_equal(flow_load_builtin("bank-crm", &d->f), 0);
	drv_env(d, true);
	assert_int_equal(flow_run_create(&d->r, d->f, &d->env), 0);
	drv_step(d, NULL, "start");
}

static void known_caller_reports_a_lost_card(void **state)
{
	(void)state;
	struct drv d;
	start_bank_crm(&d);
	static const char *const s[][2] = {
		{ "record:0", "recorded" },
		{ "lookup:0 +14155550100", ALICE },
		{ "say:Welcome back to voxgate bank, Alice.", "played" },
		{ "gather:In a few words*", "speech someone stole my card" },
		{ "lookup:5 C1001", "lookup {\"id\":417}" },
		{ "say:I have blocked your card and opened case number 4 1 7.*",
		  "played" },
		{ "say:Thank you for calling voxgate bank. Goodbye.",
		  "played" },
		{ "record:3", "recorded" },
		{ "hangup:completed", "hangup" },
	};
	DRV_SCRIPT(&d, s, "end:*");
	assert_string_equal(drv_var(&d, "intent"), "lost_card");
	assert_string_equal(d.path,
			    "record_call,identify,welcome_back,main,lost_card,"
			    "open_ticket,card_blocked,goodbye,stop_recording,"
			    "end,");
	drv_free(&d);
}

static void balance_comes_from_the_crm_accounts(void **state)
{
	(void)state;
	struct drv d;
	start_bank_crm(&d);
	static const char *const s[][2] = {
		{ "record:0", "recorded" },
		{ "lookup:0 *", ALICE },
		{ "say:Welcome back*", "played" },
		{ "gather:*", "dtmf 1" },
		{ "lookup:2 C1001",
		  "lookup [{\"number\":\"10010001\",\"type\":\"checking\","
		  "\"balance\":\"1250.40\",\"currency\":\"USD\",\"status\":"
		  "\"active\"}]" },
		{ "say:Your checking account balance is 1250.40 USD.",
		  "played" },
		{ "say:Thank you for calling*", "played" },
		{ "record:3", "recorded" },
	};
	DRV_SCRIPT(&d, s, "hangup:completed");
	drv_free(&d);
}

static void unknown_caller_is_transferred_with_context(void **state)
{
	(void)state;
	struct drv d;
	start_bank_crm(&d);
	static const char *const s[][2] = {
		{ "record:0", "recorded" },
		{ "lookup:0 *", "notfound" },
		{ "say:Welcome to voxgate bank.", "played" },
		{ "gather:*", "speech what is my balance" },
		{ "say:Please hold while we connect you to an agent.",
		  "played" },
	};
	DRV_SCRIPT(&d, s, "transfer:agent");
	assert_true(d.act.transfer.to_agent);
	unsigned found = 0;
	for (unsigned i = 0; i < d.act.transfer.ncontext; i++) {
		const char *k = d.act.transfer.context_keys[i];
		const char *v = d.act.transfer.context_values[i];
		if (!strcmp(k, "intent")) {
			assert_string_equal(v, "check_balance");
			found++;
		} else if (!strcmp(k, "reason")) {
			assert_string_equal(v, "check_balance");
			found++;
		} else if (!strcmp(k, "customer")) {
			assert_string_equal(v, "");
			found++;
		}
	}
	assert_int_equal(found, 3);
	drv_step(&d, NULL, "ok 202");
	drv_expect(&d, "end:*");
	drv_free(&d);
}

static void crm_failure_escalates_with_the_reason(void **state)
{
	(void)state;
	struct drv d;
	start_bank_crm(&d);
	static const char *const s[][2] = {
		{ "record:0", "recorded" },
		{ "lookup:0 *", "lookuperr" },
		{ "say:Please hold while we connect you to an agent.",
		  "played" },
	};
	DRV_SCRIPT(&d, s, "transfer:agent");
	assert_string_equal(drv_var(&d, "reason"), "error: lookup");
	/* no agent answers: apologise, say goodbye, stop recording */
	drv_step(&d, NULL, "fail 503");
	static const char *const t[][2] = {
		{ "say:Sorry, no agents are available*", "played" },
		{ "say:Thank you for calling*", "played" },
		{ "record:3", "recorded" },
	};
	DRV_SCRIPT(&d, t, "hangup:completed");
	drv_free(&d);
}

static void card_digits_are_taken_with_recording_paused(void **state)
{
	(void)state;
	struct drv d;
	start_bank_crm(&d);
	static const char *const s[][2] = {
		{ "record:0", "recorded" },
		{ "lookup:0 *", ALICE },
		{ "say:Welcome back*", "played" },
		{ "gather:*", "speech i want to activate my new card" },
		{ "record:1", "recorded" }, /* pause */
		{ "gather:Please enter the last four digits*", "dtmf 12" },
		{ "gather:That was not four digits. + Please enter*",
		  "dtmf 4242" },
		{ "record:2", "recorded" }, /* resume */
		{ "say:Thank you. Your card ending in 4 2 4 2 is now active.",
		  "played" },
	};
	DRV_SCRIPT(&d, s, "say:Thank you for calling*");
	drv_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(known_caller_reports_a_lost_card),
		cmocka_unit_test(balance_comes_from_the_crm_accounts),
		cmocka_unit_test(unknown_caller_is_transferred_with_context),
		cmocka_unit_test(crm_failure_escalates_with_the_reason),
		cmocka_unit_test(card_digits_are_taken_with_recording_paused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
