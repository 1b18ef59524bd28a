/* Unit tests for the flow runtime's v1 behaviour and input nodes: say,
 * menus (keys, words, intents), retries and their prompts, gather,
 * classify and slot filling, driven by a scripted caller. */
#include "runtime_driver.h"

static const char *const demo_yaml =
	"name: demo\n"
	"start: greeting\n"
	"intents:\n"
	"  check_balance:\n"
	"    examples: [what is my balance, check my balance, account "
	"balance, how much money do i have]\n"
	"  lost_card:\n"
	"    examples: [i lost my card, my card was stolen, block my card, "
	"report a lost card]\n"
	"nodes:\n"
	"  greeting:\n"
	"    type: say\n"
	"    text: Welcome to the bank.\n"
	"    next: main\n"
	"  main:\n"
	"    type: menu\n"
	"    prompt: Press 1 for balance or say what you need.\n"
	"    input: both\n"
	"    options:\n"
	"      1: balance\n"
	"      2: {next: lost, say: [lost card, stolen]}\n"
	"      0: agent\n"
	"    intents:\n"
	"      check_balance: balance\n"
	"      lost_card: lost\n"
	"    confidence: {high: 0.6, low: 0.3}\n"
	"    on_low_confidence: confirm\n"
	"    retries: 2\n"
	"    no_input: Sorry, I did not hear you.\n"
	"    invalid: Sorry, I did not catch that.\n"
	"    on_max_retries: agent\n"
	"  confirm:\n"
	"    type: menu\n"
	"    prompt: Say balance or lost card.\n"
	"    options:\n"
	"      1: {next: balance, say: [balance]}\n"
	"      2: {next: lost, say: [lost card]}\n"
	"    on_max_retries: agent\n"
	"  balance:\n"
	"    type: say\n"
	"    text: Your balance is ten dollars.\n"
	"    next: bye\n"
	"  lost:\n"
	"    type: say\n"
	"    text: Your card is blocked.\n"
	"    next: bye\n"
	"  agent:\n"
	"    type: transfer\n"
	"    target: agent\n"
	"    on_fail: bye\n"
	"  bye:\n"
	"    type: hangup\n";

static void keys_choose_a_menu_option_and_the_call_completes(void **state)
{
	struct drv d;
	(void)state;
	drv_start(&d, demo_yaml);
	static const char *const s[][2] = {
		{ "say:Welcome to the bank.", "played" },
		{ "gather:Press 1*", "dtmf 1" },
		{ "say:Your balance is ten dollars.", "played" },
		{ "hangup:completed", "hangup" },
	};
	DRV_SCRIPT(&d, s, "end:completed");
	assert_true(flow_run_done(d.r));
	assert_string_equal(d.path, "greeting,main,balance,bye,");
	assert_string_equal(d.turns, "main:dtmf:high:balance;");
	assert_string_equal(drv_var(&d, "last.input"), "dtmf");
	assert_string_equal(drv_var(&d, "last"), "1");
	assert_string_equal(drv_var(&d, "call.id"), "call-1");
	assert_string_equal(drv_var(&d, "call.from"), "+14155550100");
	assert_string_equal(drv_var(&d, "call.to"), "+18005550199");
	assert_string_equal(drv_var(&d, "call.channel"), "sip");
	drv_free(&d);
}

static void retries_say_the_retry_message_then_the_prompt(void **state)
{
	struct drv d;
	(void)state;
	drv_start(&d, demo_yaml);
	drv_step(&d, "say:Welcome*", "played");
	/* the gather action: listen to both, prompt named after the node */
	assert_int_equal(d.act.type, FLOW_ACT_GATHER);
	assert_int_equal(d.act.gather.nprompts, 1);
	assert_string_equal(d.act.gather.prompts[0].name, "main");
	assert_int_equal(d.act.gather.input,
			 FLOW_ACT_IN_DTMF | FLOW_ACT_IN_SPEECH);
	assert_true(d.act.gather.barge_in);
	drv_step(&d, "gather:Press 1*", "noinput");
	assert_int_equal(d.act.gather.nprompts, 2);
	assert_string_equal(d.act.gather.prompts[0].name, "main.no_input");
	drv_step(&d, "gather:Sorry, I did not hear you. + Press 1*", "dtmf 7");
	assert_string_equal(d.act.gather.prompts[0].name, "main.invalid");
	drv_step(&d, "gather:Sorry, I did not catch that. + Press 1*",
		 "inerror");
	/* three failures with retries 2: on_max_retries */
	drv_step(&d, "transfer:agent", "fail 503");
	assert_string_equal(drv_var(&d, "transfer.status"), "503");
	drv_step(&d, "hangup:completed", "hangup");
	drv_expect(&d, "end:completed");
	assert_string_equal(d.turns, "main:none:none:-;main:dtmf:none:-;"
				     "main:none:none:-;");
	drv_free(&d);
}

static void spoken_words_and_intents_choose_options(void **state)
{
	struct drv d;
	(void)state;
	/* an option's phrase */
	drv_start(&d, demo_yaml);
	drv_step(&d, "say:*", "played");
	drv_step(&d, "gather:*", "speech Stolen!");
	drv_expect(&d, "say:Your card is blocked.");
	assert_string_equal(drv_var(&d, "last.input"), "speech");
	assert_string_equal(drv_var(&d, "last.transcript"), "Stolen!");
	assert_string_equal(drv_var(&d, "last.confidence"), "0.87");
	drv_free(&d);

	/* the flow's classifier on open speech */
	drv_start(&d, demo_yaml);
	drv_step(&d, "say:*", "played");
	drv_step(&d, "gather:*", "speech what is my balance");
	drv_expect(&d, "say:Your balance*");
	assert_string_equal(drv_var(&d, "intent"), "check_balance");
	assert_string_equal(drv_var(&d, "intent.match"), "high");
	drv_free(&d);

	/* the platform's intent overrides the classifier; low confidence
	 * goes to on_low_confidence, a grammar menu snaps words */
	drv_start(&d, demo_yaml);
	drv_step(&d, "say:*", "played");
	drv_step(&d, "gather:*", "intent lost_card 0.45 what is my balance");
	assert_string_equal(drv_var(&d, "intent.match"), "low");
	assert_string_equal(drv_var(&d, "intent.confidence"), "0.45");
	assert_string_equal(d.act.gather.hints, "balance,lost card");
	drv_step(&d, "gather:Say balance or lost card.", "speech Lost card!");
	drv_expect(&d, "say:Your card is blocked.");
	assert_string_equal(d.path, "greeting,main,confirm,lost,");
	drv_free(&d);

	/* below low: no match, a retry with the invalid message */
	drv_start(&d, demo_yaml);
	drv_step(&d, "say:*", "played");
	drv_step(&d, "gather:*", "intent lost_card 0.1 hmm");
	drv_expect(&d, "gather:Sorry, I did not catch that. + Press 1*");
	assert_string_equal(drv_var(&d, "intent.match"), "none");
	assert_string_equal(drv_var(&d, "intent"), "");
	drv_free(&d);
}

static void a_channel_without_speech_listens_to_keys_only(void **state)
{
	struct drv d;
	(void)state;
	drv_start_with(&d,
		       "name: deaf\n"
		       "start: ask\n"
		       "nodes:\n"
		       "  ask:\n"
		       "    type: menu\n"
		       "    prompt: Say yes.\n"
		       "    input: speech\n"
		       "    options:\n"
		       "      1: {next: done, say: [yes]}\n"
		       "    on_max_retries: done\n"
		       "  done:\n"
		       "    type: hangup\n",
		       false);
	drv_expect(&d, "gather:Say yes.");
	assert_int_equal(d.act.gather.input, FLOW_ACT_IN_DTMF);
	drv_step(&d, NULL, "dtmf 1");
	drv_expect(&d, "hangup:completed");
	drv_free(&d);
}

static const char *const gather_yaml =
	"name: g\n"
	"start: acct\n"
	"variables: {greeting: Hello}\n"
	"nodes:\n"
	"  acct:\n"
	"    type: gather\n"
	"    prompt: '{{greeting}}, enter your account number.'\n"
	"    min_digits: 4\n"
	"    max_digits: 8\n"
	"    retries: 1\n"
	"    invalid: That is too short.\n"
	"    into: account\n"
	"    next: amount\n"
	"    on_max_retries: bye\n"
	"  amount:\n"
	"    type: gather\n"
	"    prompt: How much for account {{account | digits}}?\n"
	"    input: speech\n"
	"    entity: money\n"
	"    into: amount\n"
	"    next: pick\n"
	"    on_max_retries: bye\n"
	"  pick:\n"
	"    type: gather\n"
	"    prompt: Checking or savings?\n"
	"    input: speech\n"
	"    hints: [checking, savings]\n"
	"    mode: grammar\n"
	"    into: kind\n"
	"    next: card\n"
	"    on_max_retries: bye\n"
	"  card:\n"
	"    type: gather\n"
	"    prompt: Card number?\n"
	"    input: both\n"
	"    entity: card\n"
	"    into: card\n"
	"    next: ok\n"
	"    on_max_retries: bye\n"
	"  ok:\n"
	"    type: say\n"
	"    text: '{{amount}} {{amount.unit}} from {{account}} "
	"({{kind}}, card {{card}})'\n"
	"    next: bye\n"
	"  bye:\n"
	"    type: hangup\n";

static void gather_validates_and_stores_values_and_entities(void **state)
{
	struct drv d;
	(void)state;
	drv_start(&d, gather_yaml);
	assert_int_equal(d.act.type, FLOW_ACT_GATHER);
	assert_int_equal(d.act.gather.max_digits, 8);
	assert_string_equal(d.act.gather.terminator, "#");
	assert_int_equal(d.act.gather.input, FLOW_ACT_IN_DTMF);
	static const char *const s[][2] = {
		{ "gather:Hello, enter your account number.", "dtmf 12" },
		{ "gather:That is too short. + Hello*", "dtmf 12345" },
		{ "gather:How much for account 1 2 3 4 5?",
		  "speech I want to send fifty dollars" },
		{ "gather:Checking or savings?", "speech Savings." },
		{ "gather:Card number?", "dtmf 4111111111111112" },
		{ "gather:Card number?",
		  "speech four one one one one one one "
		  "one one one one one one one one one" },
	};
	DRV_SCRIPT(&d, s,
		   "say:50.00 USD from 12345 (savings, card "
		   "4111111111111111)");
	assert_string_equal(drv_var(&d, "account.input"), "dtmf");
	assert_string_equal(drv_var(&d, "account.original"), "12345");
	assert_string_equal(drv_var(&d, "amount.original"),
			    "I want to send fifty dollars");
	assert_string_equal(drv_var(&d, "amount.confidence"), "0.87");
	assert_string_equal(drv_var(&d, "amount.input"), "speech");
	assert_string_equal(drv_var(&d, "kind"), "savings");
	drv_free(&d);
}

static void gather_runs_out_of_retries_to_on_max_retries(void **state)
{
	struct drv d;
	(void)state;
	drv_start(&d, gather_yaml);
	drv_step(&d, "gather:Hello*", "noinput");
	drv_step(&d, "gather:Hello*", "dtmf 1");
	drv_expect(&d, "hangup:completed");
	assert_string_equal(drv_var(&d, "account"), "(unset)");
	drv_free(&d);
}

static void a_very_long_transcript_is_taken_not_dropped(void **state)
{
	struct drv d;
	char *ans = malloc(8200);
	(void)state;
	assert_non_null(ans);
	strcpy(ans, "speech ");
	for (int i = 0; i < 2000; i++)
		strcat(ans, "ab ");
	drv_start(&d,
		  "name: long\n"
		  "start: g\n"
		  "nodes:\n"
		  "  g: {type: gather, prompt: Talk., input: speech, into: t,"
		  " next: end, on_max_retries: end}\n"
		  "  end: {type: hangup}\n");
	drv_step(&d, "gather:Talk.", ans);
	drv_expect(&d, "hangup:completed");
	assert_string_equal(drv_var(&d, "last.input"), "speech");
	/* values are cut at 4096 bytes */
	assert_int_equal(strlen(drv_var(&d, "t")), 4096);
	drv_free(&d);
	free(ans);
}

static const char *const classify_yaml =
	"name: c\n"
	"start: ask\n"
	"handlers: {no_match: sorry, no_input: sorry}\n"
	"intents:\n"
	"  transfer_money:\n"
	"    examples: [i want to send money, transfer money, send money to "
	"my friend, pay someone]\n"
	"    slots:\n"
	"      amount: {entity: money, required: true, prompt: 'How much "
	"would you like to send?', retries: 1}\n"
	"      date: {entity: date}\n"
	"  check_balance:\n"
	"    examples: [what is my balance, check my balance, how much do i "
	"have]\n"
	"  agent:\n"
	"    examples: [talk to a person, agent please, representative]\n"
	"nodes:\n"
	"  ask:\n"
	"    type: classify\n"
	"    prompt: How can I help?\n"
	"    input: both\n"
	"    options: {0: human}\n"
	"    intents:\n"
	"      transfer_money: send\n"
	"      check_balance: balance\n"
	"    high: other\n"
	"    confidence: {high: 0.5, low: 0.2}\n"
	"    retries: 1\n"
	"    invalid: Sorry?\n"
	"  send:\n"
	"    type: say\n"
	"    text: Sending {{slots.amount}} on '{{slots.date}}'.\n"
	"    next: again\n"
	"  balance:\n"
	"    type: say\n"
	"    text: Balance.\n"
	"    next: again\n"
	"  other:\n"
	"    type: say\n"
	"    text: Other {{intent}}.\n"
	"    next: again\n"
	"  human:\n"
	"    type: say\n"
	"    text: Human.\n"
	"    next: again\n"
	"  again:\n"
	"    type: classify\n"
	"    text: '{{last.transcript}}'\n"
	"    intents: {check_balance: balance2}\n"
	"    threshold: 0.5\n"
	"    no_match: bye\n"
	"  balance2:\n"
	"    type: say\n"
	"    text: Balance again.\n"
	"    next: bye\n"
	"  sorry:\n"
	"    type: say\n"
	"    text: Sorry.\n"
	"    next: bye\n"
	"  bye:\n"
	"    type: hangup\n";

static void classify_routes_intents_and_fills_slots(void **state)
{
	struct drv d;
	(void)state;
	/* the amount is in the utterance: no slot prompt */
	drv_start(&d, classify_yaml);
	drv_step(&d, "gather:How can I help?",
		 "speech i want to send money twenty dollars tomorrow");
	drv_expect(&d, "say:Sending 20.00 on '2026-11-25'.");
	assert_string_equal(drv_var(&d, "slots.amount.unit"), "USD");
	assert_string_equal(drv_var(&d, "intent"), "transfer_money");
	drv_step(&d, NULL, "played");
	/* prompt-less classify on last.transcript: no match -> bye */
	drv_expect(&d, "hangup:completed");
	drv_free(&d);

	/* missing required slot: asked, re-asked once, then filled */
	drv_start(&d, classify_yaml);
	static const char *const s[][2] = {
		{ "gather:How can I help?", "speech i want to send money" },
		{ "gather:How much would you like to send?", "speech no idea" },
		{ "gather:Sorry? + How much would you like to send?",
		  "speech fifty dollars" },
	};
	DRV_SCRIPT(&d, s, "say:Sending 50.00 on ''.");
	assert_int_equal(d.act.type, FLOW_ACT_SAY);
	assert_string_equal(drv_var(&d, "slots.amount.original"),
			    "fifty dollars");
	drv_free(&d);
}

static void slots_run_out_of_retries_to_the_handlers(void **state)
{
	struct drv d;
	(void)state;
	drv_start(&d, classify_yaml);
	static const char *const s[][2] = {
		{ "gather:How can I help?", "speech send money to my friend" },
		{ "gather:How much would you like to send?", "noinput" },
		{ "gather:How much would you like to send?", "noinput" },
		{ "say:Sorry.", "played" },
	};
	DRV_SCRIPT(&d, s, "hangup:completed");
	assert_string_equal(d.path, "ask,sorry,bye,");
	drv_free(&d);
}

static void classify_keys_high_and_no_match(void **state)
{
	struct drv d;
	(void)state;
	drv_start(&d, classify_yaml);
	drv_step(&d, "gather:How can I help?", "dtmf 0");
	drv_expect(&d, "say:Human.");
	drv_free(&d);

	/* a high intent that intents does not route goes to high: */
	drv_start(&d, classify_yaml);
	drv_step(&d, "gather:How can I help?", "intent agent 0.9 person");
	drv_expect(&d, "say:Other agent.");
	drv_free(&d);

	/* no match twice (retries 1): handlers.no_match */
	drv_start(&d, classify_yaml);
	drv_step(&d, "gather:How can I help?", "intent agent 0.1 blah");
	drv_step(&d, "gather:Sorry? + How can I help?", "dtmf 5");
	drv_expect(&d, "say:Sorry.");
	assert_string_equal(d.turns, "ask:speech:none:-;ask:dtmf:none:-;");
	drv_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			keys_choose_a_menu_option_and_the_call_completes),
		cmocka_unit_test(retries_say_the_retry_message_then_the_prompt),
		cmocka_unit_test(spoken_words_and_intents_choose_options),
		cmocka_unit_test(a_channel_without_speech_listens_to_keys_only),
		cmocka_unit_test(
			gather_validates_and_stores_values_and_entities),
		cmocka_unit_test(gather_runs_out_of_retries_to_on_max_retries),
		cmocka_unit_test(a_very_long_transcript_is_taken_not_dropped),
		cmocka_unit_test(classify_routes_intents_and_fills_slots),
		cmocka_unit_test(slots_run_out_of_retries_to_the_handlers),
		cmocka_unit_test(classify_keys_high_and_no_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
