/* Amazon Lex V2 code hook: the event Lex posts to a code-hook Lambda
 * (forwarded to POST /connect/lex) answered with a sessionState. When Lex's
 * top interpretation is FallbackIntent or less confident than configured,
 * voxgate's NLU classifies inputTranscript and fills slots from its
 * entities; the dialog action is chosen the way a bot builder expects
 * (docs/CONNECT.md). Pure: any thread, no I/O, fuzzable. */
#ifndef VG_CONTROL_CONNECT_LEXHOOK_H
#define VG_CONTROL_CONNECT_LEXHOOK_H
#include <stdbool.h>
#include <stddef.h>

struct nlu_model;

#define LEX_BODY_MAX (256 * 1024) /* event bytes parsed at most */
#define LEX_TRANSCRIPT_MAX 4096

/* One intent the bot builder configured (borrowed strings). */
struct lex_intent_cfg {
	const char *intent; /* Lex intent name (= voxgate NLU label) */
	/* Required slots in elicitation order, "name[:entity],...": entity
	 * is an entity type (money, date, account, ...; default: the slot
	 * name) whose first match fills the slot. "" none. */
	const char *slots;
	bool confirm;	    /* ConfirmIntent once every slot is filled */
	const char *prompt; /* message on Close, NULL: "Done." */
};

struct lex_cfg {
	float min_confidence;	       /* below: voxgate reclassifies */
	const struct nlu_model *model; /* NULL: no reclassification */
	const struct lex_intent_cfg *intents;
	size_t nintents;
};

enum lex_action {
	LEX_CLOSE,
	LEX_CONFIRM_INTENT,
	LEX_DELEGATE,
	LEX_ELICIT_INTENT,
	LEX_ELICIT_SLOT,
};

/* What the answer decided (tests, metrics, logs). */
struct lex_outcome {
	enum lex_action action;
	bool reclassified; /* voxgate's NLU replaced Lex's interpretation */
	char intent[80];   /* "" for ElicitIntent */
	float confidence;
	char slot[64]; /* ElicitSlot's slot */
};

/* Answer the event body[0..len) (a UTF-8 BOM first is skipped). Tolerates
 * a missing nluConfidence (FallbackIntent: 0, others: 1), nluConfidence as
 * a number or {"score": x}, missing interpretations / sessionState /
 * slots. On success *out is a new malloc'd JSON text (*outlen bytes) with
 * sessionState {dialogAction, intent, sessionAttributes} and messages.
 * Returns 0, -EINVAL, -EBADMSG (not a Lex V2 event; reason in why),
 * -E2BIG (body over LEX_BODY_MAX), -ENOMEM. */
int lex_hook_answer(const struct lex_cfg *cfg, const char *body, size_t len,
		    char **out, size_t *outlen, struct lex_outcome *oc,
		    char *why, size_t whylen);

const char *lex_action_name(enum lex_action a);
#endif
