/* The flow loader, part three: the v2 node types (play, gather, classify,
 * set, switch, http, lookup, record, hours, goto, subflow, return). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audio/clip.h"
#include "audio/resample.h"
#include "audio/wav.h"
#include "flow/load_impl.h"

#define PLAY_MAX_BYTES (10u << 20)
#define SET_VARS_MAX 64u
#define SWITCH_CASES_MAX 100u
#define HEADERS_MAX 32u
#define MAPS_MAX 64u
#define HINTS_MAX 200u
#define HTTP_MIN_TIMEOUT_MS 100u
#define HTTP_MAX_TIMEOUT_MS 30000u
#define HTTP_DEFAULT_TIMEOUT_MS 3000u
#define GATHER_DEFAULT_MAX_DIGITS 16u
#define PATH_MAX_LEN 4096

/* ---- play ---- */

/* Load the WAV at path (relative: against the flow's directory) as an
 * 8 kHz clip. */
static void load_clip(struct nctx *c, const struct ydoc_node *v)
{
	struct flow_node *fn = c->fn;
	const char *dir = c->L->f->dir ? c->L->f->dir : ".";
	char path[PATH_MAX_LEN];
	int w = fn->file[0] == '/'
			? snprintf(path, sizeof(path), "%s", fn->file)
			: snprintf(path, sizeof(path), "%s/%s", dir, fn->file);
	if (w < 0 || (size_t)w >= sizeof(path)) {
		ld_nerr(c, v, "'file' path is too long");
		return;
	}
	struct stat st;
	if (stat(path, &st)) {
		ld_nerr(c, v, "cannot read 'file' %s: %s", path,
			strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		ld_nerr(c, v, "'file' %s is not a regular file", path);
		return;
	}
	/* Pseudo files (/proc) report size 0 and may block when read. */
	if (st.st_size < 44) {
		ld_nerr(c, v, "'file' %s is too short for a WAV file", path);
		return;
	}
	if (st.st_size > (off_t)PLAY_MAX_BYTES) {
		ld_nerr(c, v, "'file' %s is larger than %u bytes", path,
			PLAY_MAX_BYTES);
		return;
	}
	char msg[128] = "";
	struct audio_clip *clip = NULL;
	int err = wav_read(path, &clip, msg, sizeof(msg));
	if (err == -ENOMEM) {
		ld_oom(c->L);
		return;
	}
	if (err) {
		ld_nerr(c, v, "'file' %s is not a usable WAV file: %s", path,
			msg[0] ? msg : strerror(-err));
		return;
	}
	if (clip->rate_hz != AUDIO_RATE_HZ) {
		struct audio_clip *r = audio_clip_resample(clip, AUDIO_RATE_HZ);
		audio_clip_deref(clip);
		if (!r) {
			ld_oom(c->L);
			return;
		}
		clip = r;
	}
	fn->clip = clip;
}

void ld_parse_play(struct nctx *c, const struct ydoc_node *m)
{
	struct flow_node *fn = c->fn;
	const struct ydoc_node *file = NULL;
	bool have_next = false;
	for (size_t i = 0; i < ydoc_node_count(m); i++) {
		const struct ydoc_node *k = ydoc_map_key(m, i);
		const struct ydoc_node *v = ydoc_map_value(m, i);
		if (ld_key_is(k, "type") || ld_key_is(k, "description")) {
			continue;
		} else if (ld_key_is(k, "file")) {
			file = v;
			ld_get_text(c, "file", v, &fn->file);
		} else if (ld_key_is(k, "text")) {
			ld_get_tmpl(c, "text", v, FLOW_TEXT_MAX, false,
				    &fn->tmpl, &fn->text);
		} else if (ld_key_is(k, "barge_in")) {
			ld_get_bool(c, "barge_in", v, &fn->barge_in);
		} else if (ld_key_is(k, "next")) {
			have_next = true;
			ld_get_ref(c, "'next'", v, &fn->next);
		} else {
			ld_unknown_field(c, k, "play",
					 "file, text, barge_in or next");
		}
	}
	if (!file)
		ld_missing(c, "file");
	else if (fn->file)
		load_clip(c, file);
	if (!have_next)
		ld_missing(c, "next");
}

/* ---- gather ---- */

static void get_input(struct nctx *c, const struct ydoc_node *v, bool dtmf_ok)
{
	char ex[64];
	const char *s =
		ydoc_node_type(v) == YDOC_SCALAR ? ydoc_scalar_text(v) : "";
	if (dtmf_ok && !strcmp(s, "dtmf"))
		c->fn->input = FLOW_INPUT_DTMF;
	else if (!strcmp(s, "speech"))
		c->fn->input = FLOW_INPUT_SPEECH;
	else if (!strcmp(s, "both"))
		c->fn->input = FLOW_INPUT_BOTH;
	else
		ld_nerr(c, v, "unknown input '%s' (expected %s)",
			ld_excerpt(v, ex, sizeof(ex)),
			dtmf_ok ? "dtmf, speech or both" : "speech or both");
}

static void parse_hints(struct nctx *c, const struct ydoc_node *v)
{
	struct flow_node *fn = c->fn;
	char ex[64];
	size_t n = ydoc_node_count(v);
	if (ydoc_node_type(v) != YDOC_SEQ || n == 0 || n > HINTS_MAX) {
		ld_nerr(c, v, "'hints' must be a list of 1 to %u phrases",
			HINTS_MAX);
		return;
	}
	fn->hints = calloc(n, sizeof(*fn->hints));
	if (!fn->hints) {
		ld_oom(c->L);
		return;
	}
	char norm[STT_PHRASE_MAX + 1];
	for (size_t i = 0; i < n; i++) {
		const struct ydoc_node *p = ydoc_seq_item(v, i);
		const char *s = ydoc_scalar_text(p);
		size_t len = ydoc_scalar_len(p);
		if (ydoc_node_type(p) != YDOC_SCALAR ||
		    ydoc_scalar_is_null(p) || len == 0 ||
		    len > STT_PHRASE_MAX || strlen(s) != len ||
		    !ld_normalize_phrase(s, len, norm)) {
			ld_nerr(c, p,
				"hint '%s' must be 1 to %u bytes of text with "
				"a word",
				ld_excerpt(p, ex, sizeof(ex)), STT_PHRASE_MAX);
			continue;
		}
		bool dup = false;
		for (unsigned j = 0; j < fn->nhints && !dup; j++)
			dup = fn->hints[j] && !strcmp(fn->hints[j], norm);
		if (dup) {
			ld_nerr(c, p, "hint '%s' is listed twice", norm);
			continue;
		}
		fn->hints[fn->nhints] = ld_dup_or_oom(c->L, norm);
		if (fn->hints[fn->nhints])
			fn->nhints++;
	}
}

/* Fields that only mean something when the node listens to speech. */
#define SPEECH_ONLY_MAX 8

void ld_parse_gather(struct nctx *c, const struct ydoc_node *m)
{
	struct flow_node *fn = c->fn;
	const struct ydoc_node *speech_only[SPEECH_ONLY_MAX];
	unsigned nspeech = 0;
	const struct ydoc_node *mode = NULL, *hints = NULL, *entity = NULL;
	const struct ydoc_node *min_d = NULL, *term = NULL;
	bool have_next = false;
	fn->barge_in = true;
	fn->input = FLOW_INPUT_DTMF;
	fn->timeout_ms = DEFAULT_TIMEOUT_MS;
	fn->interdigit_ms = DEFAULT_INTERDIGIT_MS;
	fn->max_digits = GATHER_DEFAULT_MAX_DIGITS;
	fn->min_digits = 1;
	fn->terminator[0] = '#';
	fn->retries = DEFAULT_RETRIES;
	for (size_t i = 0; i < ydoc_node_count(m); i++) {
		const struct ydoc_node *k = ydoc_map_key(m, i);
		const struct ydoc_node *v = ydoc_map_value(m, i);
		bool sp = false;
		if (ld_key_is(k, "type") || ld_key_is(k, "description")) {
			continue;
		} else if (ld_key_is(k, "prompt")) {
			ld_get_tmpl(c, "prompt", v, FLOW_TEXT_MAX, false,
				    &fn->tmpl, &fn->text);
		} else if (ld_key_is(k, "voice")) {
			ld_get_voice(c->L, c, v, &fn->voice);
		} else if (ld_key_is(k, "barge_in")) {
			ld_get_bool(c, "barge_in", v, &fn->barge_in);
		} else if (ld_key_is(k, "input")) {
			get_input(c, v, true);
		} else if (ld_key_is(k, "timeout")) {
			ld_get_duration(c, "timeout", v, &fn->timeout_ms);
		} else if (ld_key_is(k, "interdigit_timeout")) {
			ld_get_duration(c, "interdigit_timeout", v,
					&fn->interdigit_ms);
		} else if (ld_key_is(k, "max_digits")) {
			ld_get_uint(c, "max_digits", v, 1, FLOW_DIGITS_MAX,
				    &fn->max_digits);
		} else if (ld_key_is(k, "min_digits")) {
			min_d = v;
		} else if (ld_key_is(k, "terminator")) {
			term = v;
		} else if (ld_key_is(k, "entity")) {
			entity = v;
			ld_get_entity(c, v, &fn->entity);
		} else if (ld_key_is(k, "hints")) {
			sp = true;
			hints = v;
			parse_hints(c, v);
		} else if (ld_key_is(k, "mode")) {
			sp = true;
			mode = v;
		} else if (ld_listen_field(c, k, v)) {
			sp = true;
		} else if (ld_key_is(k, "retries")) {
			ld_get_uint(c, "retries", v, 0, FLOW_RETRIES_MAX,
				    &fn->retries);
		} else if (ld_key_is(k, "no_input")) {
			ld_get_tmpl(c, "no_input", v, FLOW_TEXT_MAX, false,
				    &fn->no_input_tmpl, &fn->no_input);
		} else if (ld_key_is(k, "invalid")) {
			ld_get_tmpl(c, "invalid", v, FLOW_TEXT_MAX, false,
				    &fn->invalid_tmpl, &fn->invalid);
		} else if (ld_key_is(k, "into")) {
			ld_get_var_target(c, "'into'", v, &fn->into);
		} else if (ld_key_is(k, "next")) {
			have_next = true;
			ld_get_ref(c, "'next'", v, &fn->next);
		} else if (ld_key_is(k, "on_max_retries")) {
			ld_get_ref(c, "'on_max_retries'", v,
				   &fn->on_max_retries);
		} else {
			ld_unknown_field(c, k, "gather",
					 "prompt, voice, barge_in, input, "
					 "timeout, interdigit_timeout, "
					 "max_digits, min_digits, terminator, "
					 "entity, hints, mode, stt, "
					 "end_silence, max_speech, "
					 "continue_window, retries, "
					 "no_input, invalid, into, next or "
					 "on_max_retries");
		}
		if (sp && nspeech < SPEECH_ONLY_MAX)
			speech_only[nspeech++] = k;
	}
	if (min_d)
		ld_get_uint(c, "min_digits", min_d, 1, fn->max_digits,
			    &fn->min_digits);
	if (term) {
		const char *ts = ydoc_scalar_text(term);
		if (ydoc_node_type(term) == YDOC_SCALAR &&
		    ydoc_scalar_len(term) == 0 && ydoc_scalar_quoted(term))
			fn->terminator[0] = '\0';
		else if (ydoc_node_type(term) == YDOC_SCALAR &&
			 ydoc_scalar_len(term) == 1 && ld_is_dtmf(ts[0]))
			fn->terminator[0] = ts[0];
		else
			ld_nerr(c, term,
				"'terminator' must be one DTMF key (0-9, *, "
				"#, A-D) or '' for none");
	}
	if (mode) {
		const char *s = ydoc_node_type(mode) == YDOC_SCALAR
					? ydoc_scalar_text(mode)
					: "";
		char ex[64];
		if (!strcmp(s, "grammar"))
			fn->grammar_mode = true;
		else if (strcmp(s, "open"))
			ld_nerr(c, mode,
				"unknown mode '%s' (expected open or grammar)",
				ld_excerpt(mode, ex, sizeof(ex)));
		if (fn->grammar_mode && !hints)
			ld_nerr(c, mode, "mode grammar needs 'hints'");
	}
	if (fn->input == FLOW_INPUT_DTMF) {
		for (unsigned i = 0; i < nspeech; i++)
			ld_nerr(c, speech_only[i],
				"'%s' needs speech input (input is dtmf)",
				ydoc_scalar_text(speech_only[i]));
		if (entity && fn->entity >= 0 && !ld_entity_keyable(fn->entity))
			ld_nerr(c, entity,
				"entity '%s' cannot be typed on keys: use "
				"input speech or both",
				ydoc_scalar_text(entity));
	}
	if (!have_next)
		ld_missing(c, "next");
	/* No on_max_retries: the handlers, else the built-in escalation
	 * (docs/FLOWS.md "Handlers"). */
	if (fn->no_input)
		fn->no_input_name = ld_prompt_name(c->L, fn->name, "no_input");
	if (fn->invalid)
		fn->invalid_name = ld_prompt_name(c->L, fn->name, "invalid");
}

/* ---- classify ---- */

/* A classify's "intents:": with the flow's classifier the names must be
 * flow intents; with a named model they are its labels (checked when the
 * daemon resolves the model). */
static void parse_classify_routes(struct nctx *c, const struct ydoc_node *v)
{
	struct flow_node *fn = c->fn;
	const struct flow *f = c->L->f;
	char ex[64], what[FLOW_NAME_MAX + 16];
	size_t n = ydoc_node_count(v);
	if (ydoc_node_type(v) != YDOC_MAP || n == 0 || n > FLOW_INTENTS_MAX) {
		ld_nerr(c, v,
			"'intents' must be a map of 1 to %u intent names to "
			"node names",
			FLOW_INTENTS_MAX);
		return;
	}
	fn->routes = calloc(n, sizeof(*fn->routes));
	if (!fn->routes) {
		ld_oom(c->L);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ydoc_node *k = ydoc_map_key(v, i);
		const char *name = ydoc_scalar_text(k);
		size_t len = ydoc_scalar_len(k);
		if (strlen(name) != len || !ld_valid_name(name, len)) {
			ld_nerr(c, k, "invalid intent name '%s'",
				ld_excerpt(k, ex, sizeof(ex)));
			continue;
		}
		if (!fn->model && !ld_find_intent(f, name)) {
			ld_nerr(c, k,
				"unknown intent '%s' (not in the flow's "
				"'intents'; or give a 'model')",
				name);
			continue;
		}
		struct flow_route *r = &fn->routes[fn->nroutes++];
		r->next = NO_NODE;
		r->intent = ld_dup_or_oom(c->L, name);
		snprintf(what, sizeof(what), "intent '%s'", name);
		ld_get_ref(c, what, ydoc_map_value(v, i), &r->next);
	}
}

void ld_parse_classify(struct nctx *c, const struct ydoc_node *m)
{
	struct flow_node *fn = c->fn;
	const struct ydoc_node *prompt_only[16];
	unsigned nprompt_only = 0;
	const struct ydoc_node *intents = NULL, *text = NULL, *options = NULL;
	const struct ydoc_node *conf = NULL, *thr = NULL, *input = NULL;
	bool have_high = false;
	char ex[64];
	fn->barge_in = true;
	fn->input = FLOW_INPUT_SPEECH;
	fn->timeout_ms = DEFAULT_TIMEOUT_MS;
	fn->interdigit_ms = DEFAULT_INTERDIGIT_MS;
	fn->retries = DEFAULT_RETRIES;
	fn->conf_high = DEFAULT_CONF_HIGH;
	fn->conf_low = DEFAULT_CONF_LOW;
	fn->fill_slots = true;
	fn->max_digits = 1;
	/* First the model: it decides how intent names are checked. */
	const struct ydoc_node *model = ydoc_map_get(m, "model");
	if (model) {
		if (ydoc_node_type(model) != YDOC_SCALAR ||
		    !ld_valid_name(ydoc_scalar_text(model),
				   ydoc_scalar_len(model)))
			ld_nerr(c, model,
				"invalid model '%s': use 1-64 letters, digits, "
				"'_', '-' or '.' (or default)",
				ld_excerpt(model, ex, sizeof(ex)));
		else
			fn->model =
				ld_dup_or_oom(c->L, ydoc_scalar_text(model));
	}
	for (size_t i = 0; i < ydoc_node_count(m); i++) {
		const struct ydoc_node *k = ydoc_map_key(m, i);
		const struct ydoc_node *v = ydoc_map_value(m, i);
		bool po = false;
		if (ld_key_is(k, "type") || ld_key_is(k, "description") ||
		    ld_key_is(k, "model")) {
			continue;
		} else if (ld_key_is(k, "prompt")) {
			ld_get_tmpl(c, "prompt", v, FLOW_TEXT_MAX, false,
				    &fn->tmpl, &fn->text);
		} else if (ld_key_is(k, "text")) {
			text = v;
			ld_get_tmpl(c, "text", v, FLOW_TEXT_MAX, false,
				    &fn->classify_text, NULL);
		} else if (ld_key_is(k, "input")) {
			po = true;
			input = v;
			get_input(c, v, false);
		} else if (ld_key_is(k, "options")) {
			po = true;
			options = v;
			ld_parse_options(c, v);
		} else if (ld_key_is(k, "voice")) {
			po = true;
			ld_get_voice(c->L, c, v, &fn->voice);
		} else if (ld_key_is(k, "barge_in")) {
			po = true;
			ld_get_bool(c, "barge_in", v, &fn->barge_in);
		} else if (ld_key_is(k, "timeout")) {
			po = true;
			ld_get_duration(c, "timeout", v, &fn->timeout_ms);
		} else if (ld_listen_field(c, k, v)) {
			po = true;
		} else if (ld_key_is(k, "intents")) {
			intents = v;
			parse_classify_routes(c, v);
		} else if (ld_key_is(k, "confidence")) {
			conf = v;
			ld_get_confidence(c, v);
		} else if (ld_key_is(k, "threshold")) {
			thr = v;
			float x = 0;
			if (!ld_parse_number(v, &x) ||
			    !(x >= 0.0f && x <= 1.0f))
				ld_nerr(c, v,
					"'threshold' must be a number from 0 "
					"to 1");
			else
				fn->conf_high = fn->conf_low = x;
		} else if (ld_key_is(k, "high")) {
			have_high = true;
			ld_get_ref(c, "'high'", v, &fn->on_high);
		} else if (ld_key_is(k, "low")) {
			ld_get_ref(c, "'low'", v, &fn->on_low);
		} else if (ld_key_is(k, "no_match")) {
			ld_get_ref(c, "'no_match'", v, &fn->on_no_match);
		} else if (ld_key_is(k, "retries")) {
			po = true;
			ld_get_uint(c, "retries", v, 0, FLOW_RETRIES_MAX,
				    &fn->retries);
		} else if (ld_key_is(k, "no_input")) {
			po = true;
			ld_get_tmpl(c, "no_input", v, FLOW_TEXT_MAX, false,
				    &fn->no_input_tmpl, &fn->no_input);
		} else if (ld_key_is(k, "invalid")) {
			po = true;
			ld_get_tmpl(c, "invalid", v, FLOW_TEXT_MAX, false,
				    &fn->invalid_tmpl, &fn->invalid);
		} else if (ld_key_is(k, "slots")) {
			ld_get_bool(c, "slots", v, &fn->fill_slots);
		} else if (ld_key_is(k, "on_max_retries")) {
			po = true;
			ld_get_ref(c, "'on_max_retries'", v,
				   &fn->on_max_retries);
		} else {
			ld_unknown_field(c, k, "classify",
					 "prompt, text, input, options, voice, "
					 "barge_in, timeout, stt, end_silence, "
					 "max_speech, continue_window, "
					 "intents, model, "
					 "confidence, threshold, high, low, "
					 "no_match, retries, no_input, "
					 "invalid, slots or on_max_retries");
		}
		if (po && nprompt_only < 16)
			prompt_only[nprompt_only++] = k;
	}
	if (conf && thr)
		ld_nerr(c, thr, "give 'confidence' or 'threshold', not both");
	if (!intents && !have_high)
		ld_nerr(c, NULL, "missing 'intents' (or 'high')");
	if (!fn->model && c->L->f->nintents < 2)
		ld_nerr(c, NULL,
			"classify needs the flow's 'intents' (at least two) "
			"or a 'model'");
	if (fn->tmpl) {
		if (text)
			ld_nerr(c, text,
				"'text' is what a classify without 'prompt' "
				"classifies: give one or the other");
		if (options && fn->input != FLOW_INPUT_BOTH)
			ld_nerr(c, options,
				"'options' needs input both (keys are not "
				"heard otherwise)");
		for (unsigned i = 0; i < fn->noptions; i++) {
			size_t dl = fn->options[i].digits
					    ? strlen(fn->options[i].digits)
					    : 0;
			if (fn->options[i].nwords)
				ld_nerr(c, ydoc_map_key(options, i),
					"option '%s': 'say' is for menus; a "
					"classify maps keys only",
					fn->options[i].digits);
			if (dl > fn->max_digits)
				fn->max_digits = (unsigned)dl;
		}
		fn->terminator[0] = '\0';
	} else {
		for (unsigned i = 0; i < nprompt_only; i++)
			ld_nerr(c, prompt_only[i],
				"'%s' needs a 'prompt' (without one the node "
				"classifies 'text')",
				ydoc_scalar_text(prompt_only[i]));
		if (!fn->classify_text) {
			fn->classify_text =
				ld_tmpl_const(c->L, "{{last.transcript}}");
		}
	}
	(void)input;
	if (fn->no_input)
		fn->no_input_name = ld_prompt_name(c->L, fn->name, "no_input");
	if (fn->invalid)
		fn->invalid_name = ld_prompt_name(c->L, fn->name, "invalid");
}

/* ---- set, switch, goto, record, subflow, return ---- */

void ld_parse_set(struct nctx *c, const struct ydoc_node *m)
{
	struct flow_node *fn = c->fn;
	bool have_vars = false, have_next = false;
	for (size_t i = 0; i < ydoc_node_count(m); i++) {
		const struct ydoc_node *k = ydoc_map_key(m, i);
		const struct ydoc_node *v = ydoc_map_value(m, i);
		if (ld_key_is(k, "type") || ld_key_is(k, "description")) {
			continue;
		} else if (ld_key_is(k, "vars")) {
			have_vars = true;
			ld_parse_kvs(c, "vars", v, SET_VARS_MAX, 4096,
				     ld_var_name_ok, &fn->kvs, &fn->nkvs);
		} else if (ld_key_is(k, "next")) {
			have_next = true;
			ld_get_ref(c, "'next'", v, &fn->next);
		} else {
			ld_unknown_field(c, k, "set", "vars or next");
		}
	}
	if (!have_vars)
		ld_missing(c, "vars");
	if (!have_next)
		ld_missing(c, "next");
}

static const struct {
	const char *name;
	enum flow_cmp op;
} cmp_ops[] = {
	{ "equals", FLOW_CMP_EQUALS },
	{ "not_equals", FLOW_CMP_NOT_EQUALS },
	{ "contains", FLOW_CMP_CONTAINS },
	{ "starts_with", FLOW_CMP_STARTS_WITH },
	{ "ends_with", FLOW_CMP_ENDS_WITH },
	{ "gt", FLOW_CMP_GT },
	{ "ge", FLOW_CMP_GE },
	{ "lt", FLOW_CMP_LT },
	{ "le", FLOW_CMP_LE },
	{ "empty", FLOW_CMP_EMPTY },
};
#define NCMP_OPS (sizeof(cmp_ops) / sizeof(cmp_ops[0]))

static void parse_case(struct nctx *c, unsigned idx, const struct ydoc_node *v)
{
	struct flow_case *cs = &c->fn->cases[idx];
	char ex[64], what[48];
	snprintf(what, sizeof(what), "case %u", idx + 1);
	cs->next = NO_NODE;
	if (ydoc_node_type(v) != YDOC_MAP) {
		ld_nerr(c, v,
			"%s must be a map like {equals: gold, next: node}",
			what);
		return;
	}
	unsigned nops = 0;
	bool have_next = false;
	for (size_t i = 0; i < ydoc_node_count(v); i++) {
		const struct ydoc_node *k = ydoc_map_key(v, i);
		const struct ydoc_node *x = ydoc_map_value(v, i);
		if (ld_key_is(k, "next")) {
			have_next = true;
			char w[64];
			snprintf(w, sizeof(w), "%s 'next'", what);
			ld_get_ref(c, w, x, &cs->next);
			continue;
		}
		size_t j = 0;
		while (j < NCMP_OPS && !ld_key_is(k, cmp_ops[j].name))
			j++;
		if (j == NCMP_OPS) {
			ld_nerr(c, k,
				"%s: unknown field '%s' (expected next and one "
				"of equals, not_equals, contains, "
				"starts_with, ends_with, gt, ge, lt, le, "
				"empty)",
				what, ld_excerpt(k, ex, sizeof(ex)));
			continue;
		}
		if (++nops > 1) {
			ld_nerr(c, k, "%s: more than one operator", what);
			continue;
		}
		cs->op = cmp_ops[j].op;
		char w[64];
		snprintf(w, sizeof(w), "%s %s", what, cmp_ops[j].name);
		if (cs->op == FLOW_CMP_EMPTY) {
			bool b = false;
			const char *s = ydoc_scalar_text(x);
			if (ydoc_node_type(x) != YDOC_SCALAR ||
			    ydoc_scalar_quoted(x) ||
			    (strcmp(s, "true") && strcmp(s, "false"))) {
				ld_nerr(c, x, "%s: must be true or false", w);
				continue;
			}
			b = !strcmp(s, "true");
			cs->operand = ld_tmpl_const(c->L, b ? "true" : "false");
		} else {
			ld_get_tmpl(c, w, x, FLOW_TEXT_MAX, true, &cs->operand,
				    NULL);
		}
	}
	if (!nops)
		ld_nerr(c, v,
			"%s: missing an operator (equals, not_equals, "
			"contains, starts_with, ends_with, gt, ge, lt, le or "
			"empty)",
			what);
	if (!have_next)
		ld_nerr(c, v, "%s: missing 'next'", what);
}

void ld_parse_switch(struct nctx *c, const struct ydoc_node *m)
{
	struct flow_node *fn = c->fn;
	bool have_value = false, have_cases = false, have_default = false;
	for (size_t i = 0; i < ydoc_node_count(m); i++) {
		const struct ydoc_node *k = ydoc_map_key(m, i);
		const struct ydoc_node *v = ydoc_map_value(m, i);
		if (ld_key_is(k, "type") || ld_key_is(k, "description")) {
			continue;
		} else if (ld_key_is(k, "value")) {
			have_value = true;
			ld_get_tmpl(c, "value", v, FLOW_TEXT_MAX, false,
				    &fn->value, NULL);
		} else if (ld_key_is(k, "cases")) {
			have_cases = true;
			size_t n = ydoc_node_count(v);
			if (ydoc_node_type(v) != YDOC_SEQ || n == 0 ||
			    n > SWITCH_CASES_MAX) {
				ld_nerr(c, v,
					"'cases' must be a list of 1 to %u "
					"cases",
					SWITCH_CASES_MAX);
				continue;
			}
			fn->cases = calloc(n, sizeof(*fn->cases));
			if (!fn->cases) {
				ld_oom(c->L);
				continue;
			}
			fn->ncases = (unsigned)n;
			for (size_t j = 0; j < n; j++)
				parse_case(c, (unsigned)j, ydoc_seq_item(v, j));
		} else if (ld_key_is(k, "default")) {
			have_default = true;
			ld_get_ref(c, "'default'", v, &fn->on_default);
		} else {
			ld_unknown_field(c, k, "switch",
					 "value, cases or default");
		}
	}
	if (!have_value)
		ld_missing(c, "value");
	if (!have_cases)
		ld_missing(c, "cases");
	if (!have_default)
		ld_missing(c, "default");
}

/* Nodes whose only fields are "next" (goto) or nothing (return). */
void ld_parse_goto(struct nctx *c, const struct ydoc_node *m)
{
	bool have_next = false;
	for (size_t i = 0; i < ydoc_node_count(m); i++) {
		const struct ydoc_node *k = ydoc_map_key(m, i);
		if (ld_key_is(k, "type") || ld_key_is(k, "description")) {
			continue;
		} else if (ld_key_is(k, "next")) {
			have_next = true;
			ld_get_ref(c, "'next'", ydoc_map_value(m, i),
				   &c->fn->next);
		} else {
			ld_unknown_field(c, k, "goto", "next");
		}
	}
	if (!have_next)
		ld_missing(c, "next");
}

void ld_parse_return(struct nctx *c, const struct ydoc_node *m)
{
	char ex[64];
	for (size_t i = 0; i < ydoc_node_count(m); i++) {
		const struct ydoc_node *k = ydoc_map_key(m, i);
		if (ld_key_is(k, "type") || ld_key_is(k, "description"))
			continue;
		ld_nerr(c, k,
			"unknown field '%s' for a return node (it has "
			"no fields)",
			ld_excerpt(k, ex, sizeof(ex)));
	}
}

void ld_parse_record(struct nctx *c, const struct ydoc_node *m)
{
	static const char *const actions[] = { "start", "pause", "resume",
					       "stop" };
	char ex[64];
	bool have_action = false, have_next = false;
	for (size_t i = 0; i < ydoc_node_count(m); i++) {
		const struct ydoc_node *k = ydoc_map_key(m, i);
		const struct ydoc_node *v = ydoc_map_value(m, i);
		if (ld_key_is(k, "type") || ld_key_is(k, "description")) {
			continue;
		} else if (ld_key_is(k, "action")) {
			have_action = true;
			unsigned a = 0;
			while (a < 4 &&
			       (ydoc_node_type(v) != YDOC_SCALAR ||
				strcmp(ydoc_scalar_text(v), actions[a])))
				a++;
			if (a == 4)
				ld_nerr(c, v,
					"unknown record action '%s' (expected "
					"start, pause, resume or stop)",
					ld_excerpt(v, ex, sizeof(ex)));
			else
				c->fn->rec_action = (enum flow_record_action)a;
		} else if (ld_key_is(k, "next")) {
			have_next = true;
			ld_get_ref(c, "'next'", v, &c->fn->next);
		} else {
			ld_unknown_field(c, k, "record", "action or next");
		}
	}
	if (!have_action)
		ld_missing(c, "action");
	if (!have_next)
		ld_missing(c, "next");
}

void ld_parse_subflow(struct nctx *c, const struct ydoc_node *m)
{
	struct flow_node *fn = c->fn;
	char ex[64];
	bool have_flow = false, have_next = false;
	for (size_t i = 0; i < ydoc_node_count(m); i++) {
		const struct ydoc_node *k = ydoc_map_key(m, i);
		const struct ydoc_node *v = ydoc_map_value(m, i);
		if (ld_key_is(k, "type") || ld_key_is(k, "description")) {
			continue;
		} else if (ld_key_is(k, "flow")) {
			have_flow = true;
			if (ydoc_node_type(v) != YDOC_SCALAR ||
			    !ld_valid_name(ydoc_scalar_text(v),
					   ydoc_scalar_len(v))) {
				ld_nerr(c, v,
					"invalid flow name '%s': use 1-64 "
					"letters, digits, '_', '-' or '.'",
					ld_excerpt(v, ex, sizeof(ex)));
				continue;
			}
			fn->subflow = ld_dup_or_oom(c->L, ydoc_scalar_text(v));
			fn->subflow_line = ydoc_node_line(v);
			fn->subflow_col = ydoc_node_col(v);
		} else if (ld_key_is(k, "next")) {
			have_next = true;
			ld_get_ref(c, "'next'", v, &fn->next);
		} else {
			ld_unknown_field(c, k, "subflow", "flow or next");
		}
	}
	if (!have_flow)
		ld_missing(c, "flow");
	if (!have_next)
		ld_missing(c, "next");
}

/* ---- http ---- */

void ld_json_free(struct flow_json *j)
{
	if (!j)
		return;
	free(j->key);
	free(j->literal);
	flow_tmpl_free(j->tmpl);
	for (unsigned i = 0; i < j->nitems; i++)
		ld_json_free(&j->items[i]);
	free(j->items);
}

static bool is_json_number(const char *s, size_t len)
{
	size_t i = 0;
	if (i < len && s[i] == '-')
		i++;
	if (i >= len || !(s[i] >= '0' && s[i] <= '9'))
		return false;
	if (s[i] == '0' && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '9')
		return false;
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i < len && s[i] == '.') {
		i++;
		if (i >= len || !(s[i] >= '0' && s[i] <= '9'))
			return false;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= len || !(s[i] >= '0' && s[i] <= '9'))
			return false;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	return i == len;
}

/* YAML -> JSON template tree: plain null/true/false/numbers stay JSON
 * literals, every other scalar is a string template. */
static void build_json(struct nctx *c, const struct ydoc_node *v,
		       struct flow_json *out, const char *path)
{
	enum ydoc_type t = ydoc_node_type(v);
	if (t == YDOC_SCALAR) {
		const char *s = ydoc_scalar_text(v);
		size_t len = ydoc_scalar_len(v);
		bool plain = !ydoc_scalar_quoted(v);
		if (plain && ydoc_scalar_is_null(v)) {
			out->kind = FLOW_JSON_NULL;
		} else if (plain &&
			   (!strcmp(s, "true") || !strcmp(s, "false"))) {
			out->kind = FLOW_JSON_BOOL;
			out->literal = ld_dup_or_oom(c->L, s);
		} else if (plain && is_json_number(s, len)) {
			out->kind = FLOW_JSON_NUMBER;
			out->literal = ld_dup_or_oom(c->L, s);
		} else {
			out->kind = FLOW_JSON_STRING;
			ld_get_tmpl(c, path, v, FLOW_TMPL_BODY_MAX, true,
				    &out->tmpl, NULL);
		}
		return;
	}
	size_t n = ydoc_node_count(v);
	out->kind = t == YDOC_MAP ? FLOW_JSON_OBJECT : FLOW_JSON_ARRAY;
	if (!n)
		return;
	out->items = calloc(n, sizeof(*out->items));
	if (!out->items) {
		ld_oom(c->L);
		return;
	}
	out->nitems = (unsigned)n;
	char sub[160];
	for (size_t i = 0; i < n; i++) {
		if (t == YDOC_MAP) {
			const struct ydoc_node *k = ydoc_map_key(v, i);
			out->items[i].key =
				ld_dup_or_oom(c->L, ydoc_scalar_text(k));
			snprintf(sub, sizeof(sub), "%s.%s", path,
				 ydoc_scalar_text(k));
			build_json(c, ydoc_map_value(v, i), &out->items[i],
				   sub);
		} else {
			snprintf(sub, sizeof(sub), "%s.%zu", path, i);
			build_json(c, ydoc_seq_item(v, i), &out->items[i], sub);
		}
	}
}

static void get_method(struct nctx *c, const struct ydoc_node *v)
{
	static const char *const methods[] = { "GET", "POST", "PUT", "PATCH",
					       "DELETE" };
	char ex[64];
	for (size_t i = 0; i < 5; i++) {
		if (ydoc_node_type(v) == YDOC_SCALAR &&
		    !strcmp(ydoc_scalar_text(v), methods[i])) {
			free(c->fn->method);
			c->fn->method = ld_dup_or_oom(c->L, methods[i]);
			return;
		}
	}
	ld_nerr(c, v,
		"unknown method '%s' (expected GET, POST, PUT, PATCH or "
		"DELETE)",
		ld_excerpt(v, ex, sizeof(ex)));
}

static void get_url(struct nctx *c, const struct ydoc_node *v)
{
	if (!ld_get_tmpl(c, "url", v, FLOW_TMPL_BODY_MAX, false, &c->fn->url,
			 NULL))
		return;
	/* The literal prefix decides the scheme: a template cannot turn a
	 * request into file:// or gopher://. */
	const char *s = flow_tmpl_source(c->fn->url);
	if (strncmp(s, "http://", 7) && strncmp(s, "https://", 8))
		ld_nerr(c, v,
			"'url' must start with http:// or https:// (written "
			"out, not from a variable)");
}

static void parse_maps(struct nctx *c, const struct ydoc_node *v)
{
	struct flow_node *fn = c->fn;
	char ex[64];
	size_t n = ydoc_node_count(v);
	if (ydoc_node_type(v) != YDOC_MAP || n == 0 || n > MAPS_MAX) {
		ld_nerr(c, v,
			"'map' must be a map of 1 to %u variables to response "
			"paths",
			MAPS_MAX);
		return;
	}
	fn->maps = calloc(n, sizeof(*fn->maps));
	if (!fn->maps) {
		ld_oom(c->L);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ydoc_node *k = ydoc_map_key(v, i);
		const struct ydoc_node *p = ydoc_map_value(v, i);
		char *var = NULL;
		if (!ld_get_var_target(c, "'map'", k, &var))
			continue;
		const char *ps = ydoc_scalar_text(p);
		if (ydoc_node_type(p) != YDOC_SCALAR ||
		    strlen(ps) != ydoc_scalar_len(p) ||
		    !flow_var_name_valid(ps, ydoc_scalar_len(p))) {
			ld_nerr(c, p,
				"'map' %s: bad response path '%s' (like "
				"balance, account.balance or items.0.id)",
				var, ld_excerpt(p, ex, sizeof(ex)));
			free(var);
			continue;
		}
		fn->maps[fn->nmaps].var = var;
		fn->maps[fn->nmaps].path = ld_dup_or_oom(c->L, ps);
		fn->nmaps++;
	}
}

void ld_parse_http(struct nctx *c, const struct ydoc_node *m)
{
	struct flow_node *fn = c->fn;
	const struct ydoc_node *body = NULL, *json = NULL;
	bool have_url = false, have_next = false;
	char ex[64];
	fn->http_timeout_ms = HTTP_DEFAULT_TIMEOUT_MS;
	fn->http_retries = 1;
	for (size_t i = 0; i < ydoc_node_count(m); i++) {
		const struct ydoc_node *k = ydoc_map_key(m, i);
		const struct ydoc_node *v = ydoc_map_value(m, i);
		if (ld_key_is(k, "type") || ld_key_is(k, "description")) {
			continue;
		} else if (ld_key_is(k, "method")) {
			get_method(c, v);
		} else if (ld_key_is(k, "url")) {
			have_url = true;
			get_url(c, v);
		} else if (ld_key_is(k, "headers")) {
			ld_parse_kvs(c, "headers", v, HEADERS_MAX,
				     FLOW_TEXT_MAX, ld_key_name_ok, &fn->kvs,
				     &fn->nkvs);
		} else if (ld_key_is(k, "body")) {
			body = v;
			ld_get_tmpl(c, "body", v, FLOW_TMPL_BODY_MAX, true,
				    &fn->body, NULL);
		} else if (ld_key_is(k, "json")) {
			json = v;
			if (ydoc_node_type(v) == YDOC_SCALAR) {
				ld_nerr(c, v, "'json' must be a map or a list");
				continue;
			}
			fn->json = calloc(1, sizeof(*fn->json));
			if (!fn->json)
				ld_oom(c->L);
			else
				build_json(c, v, fn->json, "json");
		} else if (ld_key_is(k, "event")) {
			if (ydoc_node_type(v) == YDOC_SCALAR &&
			    !strcmp(ydoc_scalar_text(v), "connect"))
				fn->event_connect = true;
			else
				ld_nerr(c, v,
					"unknown event '%s' (expected "
					"connect)",
					ld_excerpt(v, ex, sizeof(ex)));
		} else if (ld_key_is(k, "timeout")) {
			ld_get_duration_in(c, "timeout", v, HTTP_MIN_TIMEOUT_MS,
					   HTTP_MAX_TIMEOUT_MS,
					   &fn->http_timeout_ms);
		} else if (ld_key_is(k, "retries")) {
			ld_get_uint(c, "retries", v, 0, 5, &fn->http_retries);
		} else if (ld_key_is(k, "map")) {
			parse_maps(c, v);
		} else if (ld_key_is(k, "map_all")) {
			ld_get_var_target(c, "'map_all'", v, &fn->map_all);
		} else if (ld_key_is(k, "next")) {
			have_next = true;
			ld_get_ref(c, "'next'", v, &fn->next);
		} else if (ld_key_is(k, "on_error")) {
			ld_get_ref(c, "'on_error'", v, &fn->on_error);
		} else {
			ld_unknown_field(c, k, "http",
					 "method, url, headers, body, json, "
					 "event, timeout, retries, map, "
					 "map_all, next or on_error");
		}
	}
	if (!fn->method)
		fn->method = ld_dup_or_oom(c->L, "GET");
	if (body && json)
		ld_nerr(c, json,
			"give 'json' or 'body', not both (json sets the body)");
	if (body && fn->event_connect)
		ld_nerr(c, body,
			"'body' with event connect: the event is the body "
			"(its Parameters come from 'json')");
	if (fn->event_connect && fn->json && fn->json->kind != FLOW_JSON_OBJECT)
		ld_nerr(c, json, "event connect needs 'json' to be a map");
	if (!have_url)
		ld_missing(c, "url");
	if (!have_next)
		ld_missing(c, "next");
}

/* ---- lookup ---- */

static const struct {
	const char *name;
	enum flow_lookup_query q;
	const char *into; /* default prefix */
} queries[] = {
	{ "customer_by_phone", FLOW_LOOKUP_CUSTOMER_BY_PHONE, "customer" },
	{ "customer", FLOW_LOOKUP_CUSTOMER, "customer" },
	{ "accounts", FLOW_LOOKUP_ACCOUNTS, "accounts" },
	{ "cards", FLOW_LOOKUP_CARDS, "cards" },
	{ "tickets", FLOW_LOOKUP_TICKETS, "tickets" },
	{ "create_ticket", FLOW_LOOKUP_CREATE_TICKET, "ticket" },
};
#define NQUERIES (sizeof(queries) / sizeof(queries[0]))

void ld_parse_lookup(struct nctx *c, const struct ydoc_node *m)
{
	struct flow_node *fn = c->fn;
	const struct ydoc_node *subject = NULL;
	size_t q = NQUERIES;
	bool have_query = false, have_next = false;
	char ex[64];
	for (size_t i = 0; i < ydoc_node_count(m); i++) {
		const struct ydoc_node *k = ydoc_map_key(m, i);
		const struct ydoc_node *v = ydoc_map_value(m, i);
		if (ld_key_is(k, "type") || ld_key_is(k, "description")) {
			continue;
		} else if (ld_key_is(k, "query")) {
			have_query = true;
			q = 0;
			while (q < NQUERIES &&
			       (ydoc_node_type(v) != YDOC_SCALAR ||
				strcmp(ydoc_scalar_text(v), queries[q].name)))
				q++;
			if (q == NQUERIES)
				ld_nerr(c, v,
					"unknown query '%s' (expected "
					"customer_by_phone, customer, "
					"accounts, cards, tickets or "
					"create_ticket)",
					ld_excerpt(v, ex, sizeof(ex)));
			else
				fn->query = queries[q].q;
		} else if (ld_key_is(k, "key")) {
			ld_get_tmpl(c, "key", v, FLOW_TEXT_MAX, false, &fn->key,
				    NULL);
		} else if (ld_key_is(k, "subject")) {
			subject = v;
			ld_get_tmpl(c, "subject", v, FLOW_TEXT_MAX, false,
				    &fn->subject, NULL);
		} else if (ld_key_is(k, "into")) {
			ld_get_var_target(c, "'into'", v, &fn->lookup_into);
		} else if (ld_key_is(k, "next")) {
			have_next = true;
			ld_get_ref(c, "'next'", v, &fn->next);
		} else if (ld_key_is(k, "not_found")) {
			ld_get_ref(c, "'not_found'", v, &fn->on_not_found);
		} else if (ld_key_is(k, "on_error")) {
			ld_get_ref(c, "'on_error'", v, &fn->on_error);
		} else {
			ld_unknown_field(c, k, "lookup",
					 "query, key, subject, into, next, "
					 "not_found or on_error");
		}
	}
	if (!have_query)
		ld_missing(c, "query");
	if (q < NQUERIES) {
		if (fn->query == FLOW_LOOKUP_CREATE_TICKET && !subject)
			ld_missing(c, "subject");
		else if (fn->query != FLOW_LOOKUP_CREATE_TICKET && subject)
			ld_nerr(c, subject,
				"'subject' is for query create_ticket");
		if (!fn->lookup_into)
			fn->lookup_into = ld_dup_or_oom(c->L, queries[q].into);
	}
	if (!have_next)
		ld_missing(c, "next");
}

/* ---- hours ---- */

static const char *const wdays[7] = { "sun", "mon", "tue", "wed",
				      "thu", "fri", "sat" };

static int parse_wday(const char *s, size_t len)
{
	for (int i = 0; i < 7; i++) {
		if (len == 3 && !memcmp(s, wdays[i], 3))
			return i;
	}
	return -1;
}

/* "HH:MM" -> minutes; 24:00 only as an end. */
static int parse_hhmm(const char *s, bool end)
{
	if (!(s[0] >= '0' && s[0] <= '2') || !(s[1] >= '0' && s[1] <= '9') ||
	    s[2] != ':' || !(s[3] >= '0' && s[3] <= '5') ||
	    !(s[4] >= '0' && s[4] <= '9'))
		return -1;
	int h = (s[0] - '0') * 10 + (s[1] - '0');
	int m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 24 || (h == 24 && (m || !end)))
		return -1;
	return h * 60 + m;
}

/* "09:00-17:30" */
static bool parse_span(const char *s, size_t len, int *from, int *to)
{
	if (len != 11 || s[5] != '-')
		return false;
	*from = parse_hhmm(s, false);
	*to = parse_hhmm(s + 6, true);
	return *from >= 0 && *to > *from;
}

static bool parse_days(const char *s, size_t len, bool days[7])
{
	memset(days, 0, 7);
	int a, b;
	if (len == 3) {
		a = b = parse_wday(s, 3);
	} else if (len == 7 && s[3] == '-') {
		a = parse_wday(s, 3);
		b = parse_wday(s + 4, 3);
	} else {
		return false;
	}
	if (a < 0 || b < 0)
		return false;
	/* Ranges run forward through the week: fri-mon is fri..mon. */
	for (int d = a;; d = (d + 1) % 7) {
		days[d] = true;
		if (d == b)
			break;
	}
	return true;
}

static void parse_open(struct nctx *c, const struct ydoc_node *v)
{
	struct flow_node *fn = c->fn;
	char ex[64];
	size_t n = ydoc_node_count(v);
	if (ydoc_node_type(v) != YDOC_MAP || n == 0 || n > 14) {
		ld_nerr(c, v,
			"'open' must be a map of days to hours like mon-fri: "
			"\"09:00-17:30\"");
		return;
	}
	/* Each entry: up to 7 days x up to 8 spans. */
	fn->spans = calloc(n * 7 * 8, sizeof(*fn->spans));
	if (!fn->spans) {
		ld_oom(c->L);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ydoc_node *k = ydoc_map_key(v, i);
		const struct ydoc_node *x = ydoc_map_value(v, i);
		bool days[7];
		if (!parse_days(ydoc_scalar_text(k), ydoc_scalar_len(k),
				days)) {
			ld_nerr(c, k,
				"bad days '%s' (a day mon tue wed thu fri sat "
				"sun, or a range like mon-fri)",
				ld_excerpt(k, ex, sizeof(ex)));
			continue;
		}
		bool seq = ydoc_node_type(x) == YDOC_SEQ;
		size_t m = seq ? ydoc_node_count(x) : 1;
		if (ydoc_node_type(x) == YDOC_MAP || m == 0 || m > 8) {
			ld_nerr(c, x,
				"hours must be \"HH:MM-HH:MM\" or a list of 1 "
				"to 8 of them");
			continue;
		}
		for (size_t j = 0; j < m; j++) {
			const struct ydoc_node *sx =
				seq ? ydoc_seq_item(x, j) : x;
			int from = 0, to = 0;
			if (ydoc_node_type(sx) != YDOC_SCALAR ||
			    !parse_span(ydoc_scalar_text(sx),
					ydoc_scalar_len(sx), &from, &to)) {
				ld_nerr(c, sx,
					"bad hours '%s' (like \"09:00-17:30\": "
					"HH:MM-HH:MM, start before end)",
					ld_excerpt(sx, ex, sizeof(ex)));
				continue;
			}
			for (int d = 0; d < 7; d++) {
				if (!days[d])
					continue;
				struct flow_hours_span *sp =
					&fn->spans[fn->nspans++];
				sp->wday = (unsigned char)d;
				sp->from_min = (unsigned short)from;
				sp->to_min = (unsigned short)to;
			}
		}
	}
}

static bool valid_date(const char *s, size_t len)
{
	if (len != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (size_t i = 0; i < 10; i++) {
		if (i != 4 && i != 7 && !(s[i] >= '0' && s[i] <= '9'))
			return false;
	}
	int y = atoi(s), mo = atoi(s + 5), d = atoi(s + 8);
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30,
				       31, 31, 30, 31, 30, 31 };
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
		return false;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return !(mo == 2 && d == 29 && !leap);
}

static void parse_closed(struct nctx *c, const struct ydoc_node *v)
{
	struct flow_node *fn = c->fn;
	char ex[64];
	size_t n = ydoc_node_count(v);
	if (ydoc_node_type(v) != YDOC_SEQ || n > 366) {
		ld_nerr(c, v,
			"'closed_dates' must be a list of dates like "
			"\"2026-12-25\"");
		return;
	}
	if (!n)
		return;
	fn->closed_dates = calloc(n, sizeof(*fn->closed_dates));
	if (!fn->closed_dates) {
		ld_oom(c->L);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ydoc_node *d = ydoc_seq_item(v, i);
		if (ydoc_node_type(d) != YDOC_SCALAR ||
		    !valid_date(ydoc_scalar_text(d), ydoc_scalar_len(d))) {
			ld_nerr(c, d, "bad date '%s' (like 2026-12-25)",
				ld_excerpt(d, ex, sizeof(ex)));
			continue;
		}
		memcpy(fn->closed_dates[fn->nclosed++], ydoc_scalar_text(d),
		       11);
	}
}

/* "+HH:MM" / "-HH:MM", up to 14 hours. */
static void get_utc_offset(struct nctx *c, const struct ydoc_node *v)
{
	const char *s = ydoc_scalar_text(v);
	int min = -1;
	if (ydoc_node_type(v) == YDOC_SCALAR && ydoc_scalar_len(v) == 6 &&
	    (s[0] == '+' || s[0] == '-')) {
		int m = parse_hhmm(s + 1, false);
		if (m >= 0 && m <= 14 * 60)
			min = m;
	}
	if (min < 0) {
		ld_nerr(c, v,
			"'utc_offset' must be like \"-05:00\" or \"+01:00\" "
			"(at most 14 hours)");
		return;
	}
	c->fn->utc_offset_min = s[0] == '-' ? -min : min;
}

void ld_parse_hours(struct nctx *c, const struct ydoc_node *m)
{
	struct flow_node *fn = c->fn;
	bool have_open = false, have_in = false, have_out = false;
	for (size_t i = 0; i < ydoc_node_count(m); i++) {
		const struct ydoc_node *k = ydoc_map_key(m, i);
		const struct ydoc_node *v = ydoc_map_value(m, i);
		if (ld_key_is(k, "type") || ld_key_is(k, "description")) {
			continue;
		} else if (ld_key_is(k, "utc_offset")) {
			get_utc_offset(c, v);
		} else if (ld_key_is(k, "open")) {
			have_open = true;
			parse_open(c, v);
		} else if (ld_key_is(k, "closed_dates")) {
			parse_closed(c, v);
		} else if (ld_key_is(k, "in_hours")) {
			have_in = true;
			ld_get_ref(c, "'in_hours'", v, &fn->on_in_hours);
		} else if (ld_key_is(k, "out_of_hours")) {
			have_out = true;
			ld_get_ref(c, "'out_of_hours'", v,
				   &fn->on_out_of_hours);
		} else {
			ld_unknown_field(c, k, "hours",
					 "utc_offset, open, closed_dates, "
					 "in_hours or out_of_hours");
		}
	}
	if (!have_open)
		ld_missing(c, "open");
	if (!have_in)
		ld_missing(c, "in_hours");
	if (!have_out)
		ld_missing(c, "out_of_hours");
}
