/* The flow loader, part four: what is built once a flow is valid - the
 * intent classifier trained on the flow's examples, and the speech grammars
 * and domain LMs of menus, gathers and classify nodes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flow/load_impl.h"

/* ---- built once the flow is valid ---- */

/* Below this many examples the classifier is not calibrated on held-out
 * examples: a tenth of a flow's few dozen examples is a handful the model
 * gets right, and fitting the temperature to them drives it to its lower
 * bound, so that every utterance (also "what's the weather") scores 1.00
 * and the menu's thresholds mean nothing. Uncalibrated (temperature 1),
 * paraphrases score about 0.9 and unrelated speech 0.3-0.6. */
#define CALIBRATE_MIN_EXAMPLES 500u
/* Up to this many bytes of examples a 2^16 feature space is plenty (a
 * model of ~0.3 MB instead of ~4 MB with the default 2^20). */
#define SMALL_FLOW_BYTES (64u * 1024u)

/* Training time grows with examples x intents x epochs (about 1 us each
 * at -O2). Up to this many examples x intents the default 30 epochs stay
 * under a second; above, the faster setting measured on BANKING77 (lr 0.3,
 * 12 epochs: 89.9% against 91.4%, docs/NLU.md) cuts a reload's wait by
 * 2.5 times. */
#define FULL_TRAIN_WORK 10000u

/* The classifier of a flow: nlu_train_cfg_default() (fixed seed, so a
 * flow always trains to the same model) adapted to the small data of
 * flows (docs/FLOWS.md, "Training"). */
static void flow_train_cfg(struct nlu_train_cfg *cfg, size_t nexamples,
			   size_t nintents, size_t bytes)
{
	nlu_train_cfg_default(cfg);
	if (nexamples < CALIBRATE_MIN_EXAMPLES)
		cfg->holdout = 0.0f;
	if (bytes <= SMALL_FLOW_BYTES)
		cfg->feat.dim_bits = 16;
	if (nexamples * nintents > FULL_TRAIN_WORK) {
		cfg->epochs = 12;
		cfg->lr = 0.3f;
	}
}

static int train_intents(struct flow *f)
{
	size_t n = 0;
	for (unsigned i = 0; i < f->nintents; i++)
		n += f->intents[i].nexamples;
	int err = -ENOMEM;
	char **text = calloc(n, sizeof(*text));
	uint32_t *label = calloc(n, sizeof(*label));
	char **labels = calloc(f->nintents, sizeof(*labels));
	if (!text || !label || !labels)
		goto out;
	size_t k = 0, bytes = 0;
	for (unsigned i = 0; i < f->nintents; i++) {
		labels[i] = f->intents[i].name;
		for (unsigned j = 0; j < f->intents[i].nexamples; j++) {
			text[k] = f->intents[i].examples[j];
			bytes += strlen(text[k]);
			label[k++] = i;
		}
	}
	/* Borrowed strings: the dataset is never destroyed. */
	struct nlu_dataset ds = { .text = text,
				  .label = label,
				  .n = n,
				  .labels = labels,
				  .nlabels = f->nintents };
	struct nlu_train_cfg cfg;
	flow_train_cfg(&cfg, n, f->nintents, bytes);
	err = nlu_model_train(&f->nlu, &ds, &cfg);
out:
	free(text);
	free(label);
	free(labels);
	return err;
}

/* What a speech menu's recognizer expects: its intents' examples (and its
 * options' phrases) as an LM for an open menu, else a grammar of its
 * phrases. */
static int build_menu_speech(const struct flow *f, struct flow_node *fn)
{
	size_t nwords = 0, n = 0;
	for (unsigned i = 0; i < fn->noptions; i++)
		nwords += fn->options[i].nwords;
	for (unsigned i = 0; i < fn->nroutes; i++)
		n += ld_find_intent(f, fn->routes[i].intent)->nexamples;
	n += nwords;
	const char **list = calloc(n ? n : 1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	size_t k = 0;
	for (unsigned i = 0; i < fn->nroutes; i++) {
		const struct flow_intent *it =
			ld_find_intent(f, fn->routes[i].intent);
		for (unsigned j = 0; j < it->nexamples; j++)
			list[k++] = it->examples[j];
	}
	for (unsigned i = 0; i < fn->noptions; i++) {
		for (unsigned j = 0; j < fn->options[i].nwords; j++)
			list[k++] = fn->options[i].words[j];
	}
	int err;
	if (fn->nroutes) {
		fn->stt_mode = STT_MODE_OPEN;
		err = stt_grammar_create(
			&fn->lm, STT_MODE_LM, list,
			k > LM_SENTENCES_MAX ? LM_SENTENCES_MAX : k, 0);
	} else {
		fn->stt_mode = STT_MODE_GRAMMAR;
		err = stt_grammar_create(&fn->grammar, STT_MODE_GRAMMAR, list,
					 k, 0);
	}
	free(list);
	return err;
}

/* A classify that asks listens like an open speech menu: the examples of
 * the flow intents it routes bias an LM-capable fallback engine. */
static int build_classify_speech(const struct flow *f, struct flow_node *fn)
{
	fn->stt_mode = STT_MODE_OPEN;
	size_t n = 0;
	for (unsigned i = 0; i < fn->nroutes; i++) {
		const struct flow_intent *it =
			ld_find_intent(f, fn->routes[i].intent);
		n += it ? it->nexamples : 0;
	}
	/* A model of its own (or only "high:"): every flow example. */
	bool all = !n;
	if (all) {
		for (unsigned i = 0; i < f->nintents; i++)
			n += f->intents[i].nexamples;
	}
	if (!n || fn->model)
		return 0;
	const char **list = calloc(n, sizeof(*list));
	if (!list)
		return -ENOMEM;
	size_t k = 0;
	for (unsigned i = 0; i < (all ? f->nintents : fn->nroutes); i++) {
		const struct flow_intent *it =
			all ? &f->intents[i]
			    : ld_find_intent(f, fn->routes[i].intent);
		for (unsigned j = 0; it && j < it->nexamples; j++)
			list[k++] = it->examples[j];
	}
	int err = stt_grammar_create(
		&fn->lm, STT_MODE_LM, list,
		k > LM_SENTENCES_MAX ? LM_SENTENCES_MAX : k, 0);
	free(list);
	return err;
}

/* A gather's hints: the only answers (mode grammar) or a bias (LM). */
static int build_gather_speech(struct flow_node *fn)
{
	fn->stt_mode = STT_MODE_OPEN;
	if (!(fn->input & FLOW_INPUT_SPEECH) || !fn->nhints)
		return 0;
	const char **list = calloc(fn->nhints, sizeof(*list));
	if (!list)
		return -ENOMEM;
	for (unsigned i = 0; i < fn->nhints; i++)
		list[i] = fn->hints[i];
	int err;
	if (fn->grammar_mode) {
		fn->stt_mode = STT_MODE_GRAMMAR;
		err = stt_grammar_create(&fn->grammar, STT_MODE_GRAMMAR, list,
					 fn->nhints, 0);
	} else {
		err = stt_grammar_create(&fn->lm, STT_MODE_LM, list, fn->nhints,
					 0);
	}
	free(list);
	return err;
}

void ld_build_speech(struct loader *L)
{
	struct flow *f = L->f;
	int err;
	if (f->nintents >= 2 && (err = train_intents(f))) {
		L->nerr++;
		L->oom = L->oom || err == -ENOMEM;
		flow_errors_add(L->errs, L->file, f->intents[0].line,
				f->intents[0].col,
				"cannot train the intent classifier: %s",
				strerror(-err));
	}
	for (unsigned i = 0; i < f->nnodes; i++) {
		struct flow_node *fn = &f->nodes[i];
		if (fn->type == FLOW_NODE_GATHER)
			err = build_gather_speech(fn);
		else if (fn->type == FLOW_NODE_CLASSIFY && fn->tmpl)
			err = build_classify_speech(f, fn);
		else if (fn->type == FLOW_NODE_MENU &&
			 (fn->input & FLOW_INPUT_SPEECH))
			err = build_menu_speech(f, fn);
		else
			continue;
		if (!err)
			continue;
		L->nerr++;
		L->oom = L->oom || err == -ENOMEM;
		flow_errors_add(L->errs, L->file, fn->line, fn->col,
				"node '%s': cannot build its speech grammar: "
				"%s",
				fn->name, strerror(-err));
	}
}
