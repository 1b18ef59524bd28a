/* libFuzzer target for the Lex V2 code hook (control/connect/lexhook.h),
 * with a tiny model trained once and a configured intent: any body is
 * either refused (-EBADMSG, -E2BIG) or answered with a JSON object whose
 * sessionState.dialogAction.type is one of the five Lex actions. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "control/connect/lexhook.h"
#include "engines/nlu/classifier.h"

static const char tiny_tsv[] = "card_lost\tI lost my card\n"
			       "card_lost\tmy card is missing\n"
			       "balance\twhat is my balance\n"
			       "balance\thow much money do I have\n"
			       "transfer\tsend money to my friend\n"
			       "transfer\ttransfer fifty dollars to savings\n";

static struct nlu_model *model(void)
{
	static struct nlu_model *m;
	static int tried;
	if (!tried) {
		tried = 1;
		struct nlu_dataset *ds = NULL;
		struct nlu_train_cfg cfg;
		nlu_train_cfg_default(&cfg);
		cfg.feat.dim_bits = 10;
		cfg.epochs = 5;
		cfg.holdout = 0.0f;
		if (!nlu_dataset_parse(tiny_tsv, strlen(tiny_tsv), &ds, NULL))
			(void)nlu_model_train(&m, ds, &cfg);
		nlu_dataset_destroy(ds);
	}
	return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct lex_intent_cfg intents[] = {
		{ .intent = "transfer",
		  .slots = "amount:money,account,when:date",
		  .confirm = true },
		{ .intent = "FallbackIntent", .slots = "x" },
	};
	const struct lex_cfg cfg = { .min_confidence = 0.6f,
				     .model = model(),
				     .intents = intents,
				     .nintents = 2 };
	char *out = NULL;
	size_t len = 0;
	struct lex_outcome oc;
	char why[128];
	int err = lex_hook_answer(&cfg, (const char *)data, size, &out, &len,
				  &oc, why, sizeof(why));
	if (err) {
		if (err != -EBADMSG && err != -E2BIG && err != -ENOMEM)
			abort();
		if (out)
			abort();
		return 0;
	}
	cJSON *o = cJSON_ParseWithLength(out, len);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(o, "sessionState"),
			"dialogAction"),
		"type");
	if (!cJSON_IsString(t) ||
	    strcmp(t->valuestring, lex_action_name(oc.action)))
		abort();
	cJSON_Delete(o);
	free(out);
	return 0;
}
