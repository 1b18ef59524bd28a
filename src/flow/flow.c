/* Flow objects: reference counting, accessors, loading from a file or from
 * the built-in table, and the list of prompts for pre-synthesis. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "flow/builtin.h"
#include "flow/model.h"
#include "flow/tmpl.h"

struct flow *flow_ref(struct flow *f)
{
	if (f)
		atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
	return f;
}

struct flow *flow_deref(struct flow *f)
{
	/* acq_rel: the last owner must see every other owner's reads done
	 * before it frees. */
	if (f &&
	    atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) == 1)
		flow_free(f);
	return NULL;
}

const char *flow_name(const struct flow *f)
{
	return f ? f->name : NULL;
}

const char *flow_file(const struct flow *f)
{
	return f ? f->file : NULL;
}

const char *flow_description(const struct flow *f)
{
	return f ? f->description : NULL;
}

size_t flow_intent_count(const struct flow *f)
{
	return f ? f->nintents : 0;
}

const char *flow_intent_name(const struct flow *f, size_t i)
{
	return f && i < f->nintents ? f->intents[i].name : NULL;
}

int flow_load_file(const char *path, struct flow **fp, struct flow_errors *errs)
{
	if (!path || !fp)
		return -EINVAL;
	char *buf = NULL;
	size_t len = 0;
	int err = file_read_all(path, FLOW_MAX_FILE_BYTES, &buf, &len);
	if (err == -E2BIG) {
		flow_errors_add(errs, path, 0, 0, "larger than %u bytes",
				FLOW_MAX_FILE_BYTES);
		return err;
	}
	if (err) {
		flow_errors_add(errs, path, 0, 0, "cannot read: %s",
				strerror(-err));
		return err;
	}
	err = flow_load_buf(path, buf, len, fp, errs);
	free(buf);
	return err;
}

int flow_load_builtin(const char *name, struct flow **fp)
{
	if (!name || !fp)
		return -EINVAL;
	for (const struct flow_builtin *b = flow_builtins; b->name; b++) {
		if (strcmp(b->name, name))
			continue;
		/* The file was validated by the tests that ship with it, so
		 * a failure here is a broken build, not bad input. */
		return flow_load_buf(b->file, (const char *)b->data, b->len, fp,
				     NULL);
	}
	return -ENOENT;
}

/* ---- prompts ---- */

struct prompt_ref {
	const char *voice;
	const char *text;
};

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static void add_prompt(struct prompt_ref *list, size_t *n, const char *voice,
		       const char *text)
{
	if (!text)
		return;
	for (size_t i = 0; i < *n; i++) {
		if (same(list[i].voice, voice) && !strcmp(list[i].text, text))
			return;
	}
	list[*n].voice = voice;
	list[*n].text = text;
	(*n)++;
}

/* The text of a template field when it has no variable (only those can be
 * synthesized ahead); else NULL. */
static const char *literal_of(const struct flow_tmpl *t, const char *text)
{
	if (!t)
		return text;
	return flow_tmpl_literal(t);
}

void flow_prompts_foreach(const struct flow *f, const char *default_voice,
			  void (*fn)(const char *voice, const char *text,
				     void *arg),
			  void *arg)
{
	if (!f || !fn)
		return;
	size_t nslots = 0;
	for (unsigned i = 0; i < f->nintents; i++)
		nslots += f->intents[i].nslots;
	/* At most three texts per node (prompt, no_input, invalid), one per
	 * slot. */
	struct prompt_ref *list =
		calloc((size_t)f->nnodes * 3 + nslots + 1, sizeof(*list));
	size_t n = 0;
	if (!list)
		return;
	for (unsigned i = 0; i < f->nnodes; i++) {
		const struct flow_node *nd = &f->nodes[i];
		const char *voice = nd->voice  ? nd->voice
				    : f->voice ? f->voice
					       : default_voice;
		/* A play node's text is for text channels: never synthesized.
		 */
		if (nd->type != FLOW_NODE_PLAY)
			add_prompt(list, &n, voice,
				   literal_of(nd->tmpl, nd->text));
		add_prompt(list, &n, voice,
			   literal_of(nd->no_input_tmpl, nd->no_input));
		add_prompt(list, &n, voice,
			   literal_of(nd->invalid_tmpl, nd->invalid));
	}
	/* Slot questions are asked in the flow's voice. */
	const char *fvoice = f->voice ? f->voice : default_voice;
	for (unsigned i = 0; i < f->nintents; i++) {
		for (unsigned j = 0; j < f->intents[i].nslots; j++)
			add_prompt(list, &n, fvoice,
				   literal_of(f->intents[i].slots[j].prompt,
					      NULL));
	}
	for (size_t i = 0; i < n; i++)
		fn(list[i].voice, list[i].text, arg);
	free(list);
}

void flow_grammars_foreach(const struct flow *f,
			   void (*fn)(const struct stt_grammar *g, void *arg),
			   void *arg)
{
	if (!f || !fn)
		return;
	for (unsigned i = 0; i < f->nnodes; i++) {
		const struct flow_node *n = &f->nodes[i];
		if (n->grammar)
			fn(n->grammar, arg);
		if (n->lm)
			fn(n->lm, arg);
	}
}

const char *flow_queue_uri(const struct flow_queue *q, unsigned n,
			   const char *target)
{
	if (!q || !target || strncmp(target, "queue:", 6))
		return NULL;
	for (unsigned i = 0; i < n; i++)
		if (q[i].name && q[i].uri && !strcmp(q[i].name, target + 6))
			return q[i].uri;
	return NULL;
}
