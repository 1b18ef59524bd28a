/* Lex V2 code hook answers (see lexhook.h). */
#include "control/connect/lexhook.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "control/connect/ccevent.h"
#include "engines/nlu/classifier.h"
#include "engines/nlu/entities.h"

enum { SLOT_NAME_MAX = 64, SLOTS_MAX = 32 };

static const char FALLBACK[] = "FallbackIntent";

const char *lex_action_name(enum lex_action a)
{
	static const char *const names[] = { "Close", "ConfirmIntent",
					     "Delegate", "ElicitIntent",
					     "ElicitSlot" };
	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

static int fail(char *why, size_t whylen, const char *msg)
{
	if (why && whylen)
		snprintf(why, whylen, "%s", msg);
	return -EBADMSG;
}

static const cJSON *obj(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsObject(v) ? v : NULL;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* nluConfidence: a number, {"score": x}, or absent (-1). */
static float confidence_of(const cJSON *interp)
{
	const cJSON *c =
		cJSON_GetObjectItemCaseSensitive(interp, "nluConfidence");
	if (cJSON_IsObject(c))
		c = cJSON_GetObjectItemCaseSensitive(c, "score");
	if (!cJSON_IsNumber(c))
		return -1.0f;
	double d = c->valuedouble;
	if (!(d >= 0.0))
		return 0.0f;
	return d > 1.0 ? 1.0f : (float)d;
}

static const struct lex_intent_cfg *intent_cfg(const struct lex_cfg *cfg,
					       const char *name)
{
	for (size_t i = 0; name && i < cfg->nintents; i++)
		if (cfg->intents[i].intent &&
		    !strcmp(cfg->intents[i].intent, name))
			return &cfg->intents[i];
	return NULL;
}

/* A slot is filled when it has a value with an interpretedValue. */
static bool slot_filled(const cJSON *slots, const char *name)
{
	const cJSON *s = obj(slots, name);
	const cJSON *v = obj(s, "value");
	const char *iv = str(v, "interpretedValue");
	if (iv && iv[0])
		return true;
	/* List-shaped slots: filled when they hold values. */
	const cJSON *vals = cJSON_GetObjectItemCaseSensitive(s, "values");
	return cJSON_IsArray(vals) && cJSON_GetArraySize(vals) > 0;
}

/* Set slot name from entity e (Scalar shape). */
static int slot_set(cJSON *slots, const char *name, const struct nlu_entity *e)
{
	char buf[1024];
	int n = nlu_entity_print_lex(e, buf, sizeof(buf));
	if (n < 0)
		return n;
	cJSON *v = cJSON_Parse(buf);
	if (!v)
		return -ENOMEM;
	if (cJSON_HasObjectItem(slots, name))
		cJSON_ReplaceItemInObjectCaseSensitive(slots, name, v);
	else
		cJSON_AddItemToObject(slots, name, v);
	return 0;
}

/* The next "name[:type]" of a slot list; false at the end. */
static bool next_spec(const char **p, char *name, char *type)
{
	const char *s = *p;
	while (*s == ',' || *s == ' ')
		s++;
	if (!*s)
		return false;
	size_t n = strcspn(s, ",");
	size_t colon = strcspn(s, ":,");
	size_t nl = colon < n ? colon : n;
	while (nl && s[nl - 1] == ' ')
		nl--;
	if (nl >= SLOT_NAME_MAX)
		nl = SLOT_NAME_MAX - 1;
	memcpy(name, s, nl);
	name[nl] = '\0';
	if (colon < n) {
		size_t tl = n - colon - 1;
		if (tl >= SLOT_NAME_MAX)
			tl = SLOT_NAME_MAX - 1;
		memcpy(type, s + colon + 1, tl);
		type[tl] = '\0';
	} else {
		snprintf(type, SLOT_NAME_MAX, "%s", name);
	}
	*p = s + n;
	return true;
}

/* Fill empty slots from the entities of text: configured slots take the
 * first unused entity of their type; without configuration each entity
 * type fills the slot of its own name. */
static int fill_slots(cJSON *slots, const struct lex_intent_cfg *ic,
		      const char *text)
{
	struct nlu_entity *ents = calloc(NLU_ENTITIES_MAX, sizeof(*ents));
	bool used[NLU_ENTITIES_MAX] = { false };
	size_t n = 0;
	if (!ents)
		return -ENOMEM;
	int err = nlu_entities_extract(text, NULL, ents, NLU_ENTITIES_MAX, &n);
	if (err) {
		free(ents);
		return err == -E2BIG || err == -EINVAL ? 0 : err;
	}
	if (ic && ic->slots) {
		const char *p = ic->slots;
		char name[SLOT_NAME_MAX], type[SLOT_NAME_MAX];
		while (!err && next_spec(&p, name, type)) {
			if (!name[0] || slot_filled(slots, name))
				continue;
			for (size_t i = 0; i < n; i++) {
				if (used[i] ||
				    strcmp(nlu_entity_type_name(ents[i].type),
					   type))
					continue;
				used[i] = true;
				err = slot_set(slots, name, &ents[i]);
				break;
			}
		}
	} else {
		for (size_t i = 0; !err && i < n; i++) {
			const char *name = nlu_entity_type_name(ents[i].type);
			if (!slot_filled(slots, name))
				err = slot_set(slots, name, &ents[i]);
		}
	}
	free(ents);
	return err;
}

static const char *first_missing(const cJSON *slots,
				 const struct lex_intent_cfg *ic, char *buf)
{
	const char *p = ic && ic->slots ? ic->slots : "";
	char type[SLOT_NAME_MAX];
	while (next_spec(&p, buf, type))
		if (buf[0] && !slot_filled(slots, buf))
			return buf;
	return NULL;
}

static bool add_message(cJSON *msgs, const char *text)
{
	cJSON *m = cJSON_CreateObject();
	if (!m || !cJSON_AddStringToObject(m, "contentType", "PlainText") ||
	    !cJSON_AddStringToObject(m, "content", text)) {
		cJSON_Delete(m);
		return false;
	}
	return cJSON_AddItemToArray(msgs, m);
}

/* Strings only (Lex's rule for session attributes). */
static cJSON *copy_attrs(const cJSON *src)
{
	cJSON *o = cJSON_CreateObject();
	for (const cJSON *c = src ? src->child : NULL; o && c; c = c->next)
		if (cJSON_IsString(c) && c->string)
			cJSON_AddStringToObject(o, c->string, c->valuestring);
	return o;
}

int lex_hook_answer(const struct lex_cfg *cfg, const char *body, size_t len,
		    char **out, size_t *outlen, struct lex_outcome *oc,
		    char *why, size_t whylen)
{
	if (!cfg || (!body && len) || !out || !outlen)
		return -EINVAL;
	body = connect_skip_bom(body, &len);
	if (len > LEX_BODY_MAX)
		return -E2BIG;
	struct lex_outcome o = { 0 };
	cJSON *ev = len ? cJSON_ParseWithLength(body, len) : NULL;
	cJSON *ans = NULL;
	int err = -EBADMSG;
	if (!cJSON_IsObject(ev)) {
		err = fail(why, whylen, "not a JSON object");
		goto out;
	}
	const char *src = str(ev, "invocationSource");
	if (!src || (strcmp(src, "DialogCodeHook") &&
		     strcmp(src, "FulfillmentCodeHook"))) {
		err = fail(why, whylen,
			   "invocationSource is not DialogCodeHook or "
			   "FulfillmentCodeHook");
		goto out;
	}
	const cJSON *ss = obj(ev, "sessionState");
	const cJSON *ss_intent = obj(ss, "intent");
	const cJSON *interps =
		cJSON_GetObjectItemCaseSensitive(ev, "interpretations");
	if (interps && !cJSON_IsArray(interps)) {
		err = fail(why, whylen, "interpretations is not a list");
		goto out;
	}
	const cJSON *top =
		cJSON_IsArray(interps) ? cJSON_GetArrayItem(interps, 0) : NULL;
	const cJSON *top_intent = obj(top, "intent");
	const cJSON *lex_intent = top_intent ? top_intent : ss_intent;
	const char *lex_name = str(lex_intent, "name");
	if (!lex_name || !lex_name[0])
		lex_name = FALLBACK;
	bool fallback = !strcmp(lex_name, FALLBACK);
	float conf = confidence_of(top);
	if (conf < 0)
		conf = fallback ? 0.0f : 1.0f;
	const char *text = str(ev, "inputTranscript");
	if (!text)
		text = "";
	if (strlen(text) > LEX_TRANSCRIPT_MAX) {
		err = fail(why, whylen, "inputTranscript too long");
		goto out;
	}
	/* The slots so far: the session's intent's when it is the same
	 * intent (it carries what earlier turns collected), else Lex's. */
	const char *ss_name = str(ss_intent, "name");
	const cJSON *slots_src = obj(lex_intent, "slots");
	if (ss_name && !strcmp(ss_name, lex_name) && obj(ss_intent, "slots"))
		slots_src = obj(ss_intent, "slots");

	char name[NLU_LABEL_LEN_MAX + 1];
	snprintf(name, sizeof(name), "%s", lex_name);
	cJSON *slots = NULL;
	err = -ENOMEM;
	if ((fallback || conf < cfg->min_confidence) && cfg->model && text[0]) {
		struct nlu_result *r = malloc(sizeof(*r));
		if (!r)
			goto out;
		int cerr = nlu_classify(cfg->model, text, r);
		if (!cerr && r->n && !r->out_of_scope &&
		    (fallback || r->top[0].confidence > conf)) {
			o.reclassified = true;
			if (strcmp(name, r->top[0].intent))
				slots_src = NULL;
			snprintf(name, sizeof(name), "%s", r->top[0].intent);
			conf = r->top[0].confidence;
			fallback = !strcmp(name, FALLBACK);
		}
		free(r);
	}
	slots = slots_src ? cJSON_Duplicate(slots_src, true)
			  : cJSON_CreateObject();
	if (!slots)
		goto out;
	const struct lex_intent_cfg *ic = intent_cfg(cfg, name);
	if (o.reclassified && text[0]) {
		err = fill_slots(slots, ic, text);
		if (err) {
			cJSON_Delete(slots);
			goto out;
		}
	}
	err = -ENOMEM;

	const char *cstate = str(ss_intent, "confirmationState");
	if (!cstate || (ss_name && strcmp(ss_name, name)))
		cstate = "None";
	char missing_buf[SLOT_NAME_MAX];
	const char *missing =
		fallback ? NULL : first_missing(slots, ic, missing_buf);
	const char *state = "InProgress";
	char msg[256] = "";
	if (fallback) {
		o.action = LEX_ELICIT_INTENT;
		snprintf(msg, sizeof(msg),
			 "Sorry, I did not get that. How can I help you?");
	} else if (ic && missing) {
		o.action = LEX_ELICIT_SLOT;
		snprintf(o.slot, sizeof(o.slot), "%s", missing);
		snprintf(msg, sizeof(msg), "Please tell me the %s.", missing);
	} else if (ic && ic->confirm && !strcmp(cstate, "None")) {
		o.action = LEX_CONFIRM_INTENT;
		snprintf(msg, sizeof(msg), "Do you want me to go ahead?");
	} else if (ic && !strcmp(cstate, "Denied")) {
		o.action = LEX_CLOSE;
		state = "Failed";
		snprintf(msg, sizeof(msg), "Okay, I have cancelled that.");
	} else if (ic || !strcmp(src, "FulfillmentCodeHook")) {
		o.action = LEX_CLOSE;
		state = "Fulfilled";
		snprintf(msg, sizeof(msg), "%s",
			 ic && ic->prompt && ic->prompt[0] ? ic->prompt
							   : "Done.");
	} else {
		o.action = LEX_DELEGATE;
	}
	o.confidence = conf;
	if (!fallback)
		snprintf(o.intent, sizeof(o.intent), "%s", name);

	ans = cJSON_CreateObject();
	cJSON *st = cJSON_AddObjectToObject(ans, "sessionState");
	cJSON *da = cJSON_AddObjectToObject(st, "dialogAction");
	cJSON *attrs = copy_attrs(obj(ss, "sessionAttributes"));
	if (!da || !attrs ||
	    !cJSON_AddStringToObject(da, "type", lex_action_name(o.action)) ||
	    !cJSON_AddItemToObject(st, "sessionAttributes", attrs)) {
		cJSON_Delete(attrs);
		cJSON_Delete(slots);
		goto out;
	}
	if (o.action == LEX_ELICIT_SLOT &&
	    !cJSON_AddStringToObject(da, "slotToElicit", o.slot)) {
		cJSON_Delete(slots);
		goto out;
	}
	if (o.action != LEX_ELICIT_INTENT) {
		cJSON *in = cJSON_AddObjectToObject(st, "intent");
		if (!in || !cJSON_AddStringToObject(in, "name", name) ||
		    !cJSON_AddStringToObject(in, "state", state) ||
		    !cJSON_AddStringToObject(in, "confirmationState", cstate)) {
			cJSON_Delete(slots);
			goto out;
		}
		cJSON_AddItemToObject(in, "slots", slots);
	} else {
		cJSON_Delete(slots);
	}
	if (o.reclassified) {
		char c[16];
		snprintf(c, sizeof(c), "%.3f", (double)conf);
		cJSON_DeleteItemFromObjectCaseSensitive(attrs,
							"voxgate_intent");
		cJSON_DeleteItemFromObjectCaseSensitive(attrs,
							"voxgate_confidence");
		cJSON_AddStringToObject(attrs, "voxgate_intent", name);
		cJSON_AddStringToObject(attrs, "voxgate_confidence", c);
	}
	if (msg[0]) {
		cJSON *msgs = cJSON_AddArrayToObject(ans, "messages");
		if (!msgs || !add_message(msgs, msg))
			goto out;
	}
	char *txt = cJSON_PrintUnformatted(ans);
	if (!txt)
		goto out;
	*out = txt;
	*outlen = strlen(txt);
	if (oc)
		*oc = o;
	err = 0;
out:
	cJSON_Delete(ans);
	cJSON_Delete(ev);
	return err;
}
