/* Lex V2 code hook: every dialogAction path, the Scalar slot shape,
 * FallbackIntent and nluConfidence variants, BOM, malformed events. A tiny
 * model trained here stands in for voxgate's NLU. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "control/connect/lexhook.h"
#include "engines/nlu/classifier.h"

static const char tiny_tsv[] = "card_lost\tI lost my card\n"
			       "card_lost\tmy card is missing\n"
			       "card_lost\tcan't find my card anywhere\n"
			       "card_lost\tmy card was stolen\n"
			       "balance\twhat is my balance\n"
			       "balance\thow much money do I have\n"
			       "balance\tcheck my account balance please\n"
			       "balance\tbalance of my savings\n"
			       "transfer\tsend money to my friend\n"
			       "transfer\ttransfer fifty dollars to savings\n"
			       "transfer\tI want to make a transfer\n"
			       "transfer\tmove money between accounts\n";

static struct nlu_model *model;

static int setup(void **state)
{
	(void)state;
	struct nlu_dataset *ds = NULL;
	assert_int_equal(
		nlu_dataset_parse(tiny_tsv, strlen(tiny_tsv), &ds, NULL), 0);
	struct nlu_train_cfg cfg;
	nlu_train_cfg_default(&cfg);
	cfg.feat.dim_bits = 12;
	cfg.epochs = 20;
	cfg.holdout = 0.0f;
	cfg.oos_threshold = 0.0f;
	assert_int_equal(nlu_model_train(&model, ds, &cfg), 0);
	nlu_dataset_destroy(ds);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	nlu_model_destroy(model);
	return 0;
}

static const struct lex_intent_cfg intents[] = {
	{ .intent = "transfer",
	  .slots = "amount:money, account",
	  .confirm = true,
	  .prompt = "Your transfer is on its way." },
	{ .intent = "balance", .slots = "" },
};

static struct lex_cfg cfg(bool with_model)
{
	return (struct lex_cfg){ .min_confidence = 0.6f,
				 .model = with_model ? model : NULL,
				 .intents = intents,
				 .nintents = 2 };
}

/* Answer body and return the parsed answer (caller frees). */
static cJSON *answer(const struct lex_cfg *c, const char *body,
		     struct lex_outcome *oc)
{
	char *out = NULL;
	size_t len = 0;
	char why[128] = "";
	int rc = lex_hook_answer(c, body, strlen(body), &out, &len, oc, why,
				 sizeof(why));
	if (rc)
		fail_msg("rc=%d why=%s", rc, why);
	cJSON *o = cJSON_ParseWithLength(out, len);
	assert_non_null(o);
	free(out);
	return o;
}

static const char *path(const cJSON *o, const char *p)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", p);
	const cJSON *v = o;
	for (char *s = strtok(buf, "."); s && v; s = strtok(NULL, "."))
		v = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, atoi(s))
				     : cJSON_GetObjectItemCaseSensitive(v, s);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static char *fixture(const char *name)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/tests/data/connect/%s", VG_SOURCE_DIR, name);
	FILE *f = fopen(p, "rb");
	assert_non_null(f);
	char *buf = calloc(1, 1 << 16);
	assert_non_null(buf);
	size_t n = fread(buf, 1, (1 << 16) - 1, f);
	assert_true(n > 0);
	fclose(f);
	return buf;
}

static void fallback_is_reclassified_and_delegated(void **state)
{
	(void)state;
	char *body = fixture("lex_fallback.json");
	struct lex_cfg c = cfg(true);
	struct lex_outcome oc;
	cJSON *o = answer(&c, body, &oc);
	assert_true(oc.reclassified);
	assert_string_equal(oc.intent, "card_lost");
	assert_int_equal(oc.action, LEX_DELEGATE);
	assert_string_equal(path(o, "sessionState.dialogAction.type"),
			    "Delegate");
	assert_string_equal(path(o, "sessionState.intent.name"), "card_lost");
	assert_string_equal(path(o, "sessionState.intent.state"), "InProgress");
	assert_string_equal(path(o, "sessionState.sessionAttributes.caller"),
			    "+14155550101");
	assert_string_equal(
		path(o, "sessionState.sessionAttributes.voxgate_intent"),
		"card_lost");
	assert_null(cJSON_GetObjectItem(o, "messages"));
	cJSON_Delete(o);
	free(body);
}

static void fallback_without_model_elicits_intent(void **state)
{
	(void)state;
	char *body = fixture("lex_fallback.json");
	struct lex_cfg c = cfg(false);
	struct lex_outcome oc;
	cJSON *o = answer(&c, body, &oc);
	assert_false(oc.reclassified);
	assert_int_equal(oc.action, LEX_ELICIT_INTENT);
	assert_string_equal(path(o, "sessionState.dialogAction.type"),
			    "ElicitIntent");
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "sessionState"),
					"intent"));
	assert_string_equal(path(o, "messages.0.contentType"), "PlainText");
	assert_non_null(path(o, "messages.0.content"));
	cJSON_Delete(o);
	/* Nothing but the invocation source: a fallback too. */
	o = answer(&c, "{\"invocationSource\":\"DialogCodeHook\"}", &oc);
	assert_int_equal(oc.action, LEX_ELICIT_INTENT);
	cJSON_Delete(o);
	free(body);
}

static void score_object_confidence_is_trusted_then_slot_elicited(void **st)
{
	(void)st;
	char *body = fixture("lex_transfer_score.json");
	struct lex_cfg c = cfg(true);
	struct lex_outcome oc;
	cJSON *o = answer(&c, body, &oc);
	assert_false(oc.reclassified); /* 0.91 >= 0.6 */
	assert_true(oc.confidence > 0.9f);
	assert_int_equal(oc.action, LEX_ELICIT_SLOT);
	assert_string_equal(path(o, "sessionState.dialogAction.type"),
			    "ElicitSlot");
	assert_string_equal(path(o, "sessionState.dialogAction.slotToElicit"),
			    "amount");
	assert_string_equal(path(o, "sessionState.intent.name"), "transfer");
	assert_string_equal(path(o, "messages.0.content"),
			    "Please tell me the amount.");
	cJSON_Delete(o);
	free(body);
}

#define EV(src, name, conf, text, slots, cstate)                        \
	"{\"invocationSource\":\"" src "\",\"inputTranscript\":\"" text \
	"\",\"interpretations\":[{\"intent\":{\"name\":\"" name "\","   \
	"\"slots\":" slots "}" conf "}],\"sessionState\":{\"intent\":{" \
	"\"name\":\"" name "\",\"slots\":" slots                        \
	",\"confirmationState\":\"" cstate "\"}}}"

#define FILLED                                                                 \
	"{\"amount\":{\"shape\":\"Scalar\",\"value\":{\"originalValue\":"      \
	"\"ten\",\"interpretedValue\":\"10\",\"resolvedValues\":[\"10\"]}},"   \
	"\"account\":{\"shape\":\"Scalar\",\"value\":{\"originalValue\":"      \
	"\"1234567\",\"interpretedValue\":\"1234567\",\"resolvedValues\":[]}}" \
	"}"

static void low_confidence_is_reclassified_and_slots_filled(void **state)
{
	(void)state;
	struct lex_cfg c = cfg(true);
	struct lex_outcome oc;
	cJSON *o =
		answer(&c,
		       EV("DialogCodeHook", "balance", ",\"nluConfidence\":0.3",
			  "transfer fifty dollars to savings",
			  "{\"amount\":null}", "None"),
		       &oc);
	assert_true(oc.reclassified);
	assert_string_equal(oc.intent, "transfer");
	assert_string_equal(path(o, "sessionState.intent.name"), "transfer");
	assert_string_equal(path(o, "sessionState.intent.slots.amount.shape"),
			    "Scalar");
	assert_string_equal(
		path(o, "sessionState.intent.slots.amount.value.originalValue"),
		"fifty dollars");
	assert_string_equal(
		path(o,
		     "sessionState.intent.slots.amount.value.interpretedValue"),
		"50.00");
	assert_string_equal(
		path(o,
		     "sessionState.intent.slots.amount.value.resolvedValues.0"),
		"50.00 USD");
	/* amount filled, account missing next. */
	assert_int_equal(oc.action, LEX_ELICIT_SLOT);
	assert_string_equal(oc.slot, "account");
	cJSON_Delete(o);
}

static void filled_slots_confirm_then_close(void **state)
{
	(void)state;
	struct lex_cfg c = cfg(true);
	struct lex_outcome oc;
	cJSON *o = answer(&c,
			  EV("DialogCodeHook", "transfer",
			     ",\"nluConfidence\":0.95", "yes", FILLED, "None"),
			  &oc);
	assert_int_equal(oc.action, LEX_CONFIRM_INTENT);
	assert_string_equal(path(o, "sessionState.dialogAction.type"),
			    "ConfirmIntent");
	assert_string_equal(path(o, "sessionState.intent.confirmationState"),
			    "None");
	cJSON_Delete(o);
	o = answer(&c,
		   EV("DialogCodeHook", "transfer", ",\"nluConfidence\":0.95",
		      "yes", FILLED, "Confirmed"),
		   &oc);
	assert_int_equal(oc.action, LEX_CLOSE);
	assert_string_equal(path(o, "sessionState.dialogAction.type"), "Close");
	assert_string_equal(path(o, "sessionState.intent.state"), "Fulfilled");
	assert_string_equal(path(o, "messages.0.content"),
			    "Your transfer is on its way.");
	cJSON_Delete(o);
	o = answer(&c,
		   EV("DialogCodeHook", "transfer", ",\"nluConfidence\":0.95",
		      "no", FILLED, "Denied"),
		   &oc);
	assert_int_equal(oc.action, LEX_CLOSE);
	assert_string_equal(path(o, "sessionState.intent.state"), "Failed");
	cJSON_Delete(o);
	/* A configured intent without required slots or confirmation. */
	o = answer(&c,
		   EV("DialogCodeHook", "balance", ",\"nluConfidence\":0.95",
		      "balance", "{}", "None"),
		   &oc);
	assert_int_equal(oc.action, LEX_CLOSE);
	assert_string_equal(path(o, "messages.0.content"), "Done.");
	cJSON_Delete(o);
}

static void unconfigured_intents_delegate_or_close_on_fulfillment(void **s)
{
	(void)s;
	struct lex_cfg c = cfg(true);
	struct lex_outcome oc;
	cJSON *o = answer(&c,
			  EV("DialogCodeHook", "OrderFlowers",
			     ",\"nluConfidence\":0.99", "roses", "{}", "None"),
			  &oc);
	assert_int_equal(oc.action, LEX_DELEGATE);
	assert_false(oc.reclassified);
	cJSON_Delete(o);
	/* Missing nluConfidence on a real intent counts as sure. */
	o = answer(&c,
		   EV("FulfillmentCodeHook", "OrderFlowers", "", "roses", "{}",
		      "None"),
		   &oc);
	assert_int_equal(oc.action, LEX_CLOSE);
	assert_false(oc.reclassified);
	assert_string_equal(path(o, "sessionState.intent.state"), "Fulfilled");
	cJSON_Delete(o);
}

static void bom_and_malformed_events(void **state)
{
	(void)state;
	struct lex_cfg c = cfg(true);
	struct lex_outcome oc;
	cJSON *o =
		answer(&c,
		       "\xef\xbb\xbf{\"invocationSource\":\"DialogCodeHook\","
		       "\"inputTranscript\":\"my card was stolen\","
		       "\"interpretations\":[{\"intent\":{\"name\":"
		       "\"FallbackIntent\"}}]}",
		       &oc);
	assert_true(oc.reclassified);
	assert_string_equal(oc.intent, "card_lost");
	cJSON_Delete(o);
	static const char *const bad[] = {
		"",
		"{",
		"[]",
		"{\"invocationSource\":\"Other\"}",
		"{\"invocationSource\":5}",
		"{\"invocationSource\":\"DialogCodeHook\",\"interpretations\":{"
		"}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *out = NULL;
		size_t len = 0;
		char why[128] = "";
		int rc = lex_hook_answer(&c, bad[i], strlen(bad[i]), &out, &len,
					 NULL, why, sizeof(why));
		if (rc != -EBADMSG)
			fail_msg("case %zu: rc=%d", i, rc);
		assert_null(out);
	}
	/* nluConfidence of a wrong type counts as missing. */
	o = answer(&c,
		   EV("DialogCodeHook", "balance", ",\"nluConfidence\":\"x\"",
		      "balance", "{}", "None"),
		   &oc);
	assert_false(oc.reclassified);
	cJSON_Delete(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fallback_is_reclassified_and_delegated),
		cmocka_unit_test(fallback_without_model_elicits_intent),
		cmocka_unit_test(
			score_object_confidence_is_trusted_then_slot_elicited),
		cmocka_unit_test(
			low_confidence_is_reclassified_and_slots_filled),
		cmocka_unit_test(filled_slots_confirm_then_close),
		cmocka_unit_test(
			unconfigured_intents_delegate_or_close_on_fulfillment),
		cmocka_unit_test(bom_and_malformed_events),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
