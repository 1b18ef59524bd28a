/* Genesys flows in the seed's form: a JavaScript object literal
 * (`const flow = {name, startState, states: {id: {type, properties,
 * transitions}}};`, parsed JSON5-style) or the same object as JSON ->
 * voxgate flow YAML. State types: message, aiIntent, action, transfer,
 * disconnect (docs/IMPORT.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"
#include "flow/flow.h"
#include "flow/import_int.h"
#include "flow/model.h"

#define NAME_LEN 72

struct gx {
	struct imp *im;
	const struct jnode *states;
	char (*names)[NAME_LEN];
	struct yv *agents;
};

static const char *target(struct gx *g, const struct jnode *v,
			  const char *state)
{
	if (!v)
		return NULL;
	if (v->type != J_STR) {
		imp_error(g->im, v->line, v->col,
			  "state '%s': a transition must name a state", state);
		return NULL;
	}
	for (size_t i = 0; i < g->states->n; i++) {
		if (!strcmp(g->states->keys[i], v->str))
			return g->names[i];
	}
	if (imp_is_agent_name(v->str)) {
		const struct yv *made = yv_get(g->agents, v->str);
		if (made)
			return made->text;
		char name[NAME_LEN];
		imp_node_name(g->im, v->str, name, sizeof(name));
		char *origin = imp_printf(g->im, "state '%s'", state);
		imp_agent(g->im, name, origin ? origin : "a state");
		free(origin);
		struct yv *m = yv_putraw(g->im, g->agents, v->str, name);
		return m ? m->text : NULL;
	}
	imp_error(g->im, v->line, v->col,
		  "state '%s': transition to '%.60s', which is no state of the "
		  "flow",
		  state, v->str);
	return NULL;
}

static const char *tr(struct gx *g, const struct jnode *trs, const char *key,
		      const char *state)
{
	return target(g, jget(trs, key), state);
}

static const char *or_end(struct gx *g, const char *t)
{
	return t ? t : imp_end(g->im);
}

static void check_keys(struct gx *g, const struct jnode *obj,
		       const char *const *known, const char *what,
		       const char *state, struct yv *node)
{
	if (!obj)
		return;
	if (obj->type != J_OBJ) {
		imp_error(g->im, obj->line, obj->col,
			  "state '%s': %s must be an object", state, what);
		return;
	}
	for (size_t i = 0; i < obj->n; i++) {
		bool ok = false;
		for (size_t k = 0; known[k] && !ok; k++)
			ok = !strcmp(obj->keys[i], known[k]);
		if (ok)
			continue;
		if (imp_unsupported(g->im, obj->kline[i], obj->kcol[i],
				    "unsupported Genesys %s '%.40s' (state "
				    "'%s')",
				    what, obj->keys[i], state))
			yv_comment(g->im, node, "unsupported %s '%s' ignored",
				   what, obj->keys[i]);
	}
}

static void put_text(struct gx *g, struct yv *node, const char *key,
		     const struct jnode *v)
{
	char *t = imp_text(g->im, v ? v->str : "", false);
	yv_puts(g->im, node, key, t);
	free(t);
}

static const char *const k_state[] = { "name",	      "type",
				       "properties",  "transitions",
				       "description", NULL };

static void do_state(struct gx *g, size_t i)
{
	struct imp *im = g->im;
	const char *id = g->states->keys[i];
	const char *name = g->names[i];
	const struct jnode *s = g->states->items[i];
	if (s->type != J_OBJ) {
		imp_error(im, s->line, s->col, "state '%s': expected an object",
			  id);
		return;
	}
	const struct jnode *tn = jget(s, "type");
	const char *type = tn ? tn->str : NULL;
	const struct jnode *p = jget(s, "properties");
	const struct jnode *t = jget(s, "transitions");
	if (!type) {
		imp_error(im, s->line, s->col, "state '%s': no type", id);
		return;
	}
	const char *title = jstr(s, "name");
	char *cm = imp_printf(im, "Genesys state '%s' (%s%s%s%s)", id, type,
			      title ? ": \"" : "", title ? title : "",
			      title ? "\"" : "");
	struct yv *n = NULL;
	const char *const *kp = NULL, *const *kt = NULL;
	if (!strcmp(type, "message")) {
		static const char *const p_[] = { "message", NULL };
		static const char *const t_[] = { "next", NULL };
		kp = p_;
		kt = t_;
		n = imp_node(im, name, "say", cm);
		const struct jnode *m = jget(p, "message");
		if (!m || !m->str)
			imp_error(im, s->line, s->col,
				  "state '%s': a message needs "
				  "properties.message",
				  id);
		put_text(g, n, "text", m);
		yv_putraw(im, n, "next", or_end(g, tr(g, t, "next", id)));
	} else if (!strcmp(type, "aiIntent")) {
		static const char *const p_[] = { "aiEngine",
						  "confidenceThreshold",
						  "prompt", "message", NULL };
		static const char *const t_[] = {
			"highConfidence", "lowConfidence", "next",
			"noInput",	  "error",	   NULL
		};
		kp = p_;
		kt = t_;
		n = imp_node(im, name, "classify", cm);
		const struct jnode *pr = jget(p, "prompt");
		if (!pr)
			pr = jget(p, "message");
		if (pr)
			put_text(g, n, "prompt", pr);
		imp_classify_model(im, n);
		const char *engine = jstr(p, "aiEngine");
		if (engine)
			yv_comment(im, n, "aiEngine '%s': intents from %s",
				   engine,
				   im->intents_map ? "--intents"
						   : "the default model");
		const struct jnode *th = jget(p, "confidenceThreshold");
		if (th) {
			char *end = NULL;
			double x = th->str ? strtod(th->str, &end) : -1;
			if (th->type != J_NUM || x < 0 || x > 1) {
				imp_error(im, th->line, th->col,
					  "state '%s': confidenceThreshold "
					  "must be a number from 0 to 1",
					  id);
			} else {
				/* threshold X = high X, low X */
				struct yv *cf =
					yv_put(im, n, "confidence", yv_map(im));
				yv_putraw(im, cf, "high", th->str);
				yv_putraw(im, cf, "low", th->str);
			}
		}
		const char *high = tr(g, t, "highConfidence", id);
		if (!high)
			high = tr(g, t, "next", id);
		yv_putraw(im, n, "high", or_end(g, high));
		const char *low = tr(g, t, "lowConfidence", id);
		if (low) {
			yv_putraw(im, n, "low", low);
			yv_putraw(im, n, "no_match", low);
		}
		const char *ni = tr(g, t, "noInput", id);
		if (!ni)
			ni = tr(g, t, "error", id);
		yv_putraw(im, n, "on_max_retries", or_end(g, ni ? ni : low));
	} else if (!strcmp(type, "action")) {
		static const char *const p_[] = { "action", "parameters",
						  NULL };
		static const char *const t_[] = { "next", "success", "error",
						  "failure", NULL };
		kp = p_;
		kt = t_;
		const char *act = jstr(p, "action");
		if (!act) {
			imp_error(im, s->line, s->col,
				  "state '%s': an action needs "
				  "properties.action",
				  id);
			act = id;
		}
		n = imp_node(im, name, "http", cm);
		yv_putraw(im, n, "method", "POST");
		const char *url = imp_value(im, act);
		char *def = NULL;
		if (!url) {
			char seg[NAME_LEN];
			imp_node_name(im, act, seg, sizeof(seg));
			def = imp_printf(im, "http://127.0.0.1:8080/actions/%s",
					 act);
		}
		struct yv *uv = yv_puts(im, n, "url", url ? url : def);
		if (!url)
			yv_comment(im, uv,
				   "set the URL of action '%s' (--values: "
				   "\"%s\": URL)",
				   act, act);
		free(def);
		struct yv *js = yv_put(im, n, "json", yv_map(im));
		yv_puts(im, js, "action", act);
		yv_puts(im, js, "call_id", "{{call.id}}");
		yv_puts(im, js, "from", "{{call.from}}");
		yv_puts(im, js, "intent", "{{intent}}");
		const struct jnode *params = jget(p, "parameters");
		for (size_t k = 0;
		     params && params->type == J_OBJ && k < params->n; k++) {
			if (params->items[k]->str)
				put_text(g, js, params->keys[k],
					 params->items[k]);
		}
		const char *next = tr(g, t, "next", id);
		if (!next)
			next = tr(g, t, "success", id);
		if (!next && !t)
			yv_comment(im, n,
				   "(no transition in the source: the call "
				   "ends after the action)");
		yv_putraw(im, n, "next", or_end(g, next));
		const char *err = tr(g, t, "error", id);
		if (!err)
			err = tr(g, t, "failure", id);
		yv_putraw(im, n, "on_error", or_end(g, err));
	} else if (!strcmp(type, "transfer")) {
		static const char *const p_[] = { "queue", "target", NULL };
		static const char *const t_[] = { "failure", "error", NULL };
		kp = p_;
		kt = t_;
		n = imp_node(im, name, "transfer", cm);
		const char *q = jstr(p, "queue");
		const char *tg = jstr(p, "target");
		char qn[NAME_LEN];
		imp_sanitize(q ? q : "", qn, sizeof(qn));
		if (q && strcmp(qn, q))
			yv_comment(im, n, "queue '%s'", q);
		char *x = q ? imp_printf(im, "queue:%s", qn) : NULL;
		yv_puts(im, n, "target", x ? x : (tg ? tg : "agent"));
		free(x);
		const char *f = tr(g, t, "failure", id);
		if (!f)
			f = tr(g, t, "error", id);
		yv_putraw(im, n, "on_fail", or_end(g, f));
	} else if (!strcmp(type, "disconnect") || !strcmp(type, "end")) {
		static const char *const none[] = { NULL };
		kp = kt = none;
		n = imp_node(im, name, "hangup", cm);
		yv_putraw(im, n, "reason", "completed");
	} else if (imp_unsupported(im, tn->line, tn->col,
				   "unsupported Genesys state type '%.60s' "
				   "(state '%s')",
				   type, id)) {
		n = imp_node(im, name, "goto", NULL);
		yv_comment(im, n, "%s (not imported: a no-op)", cm);
		const char *next = tr(g, t, "next", id);
		yv_putraw(im, n, "next", or_end(g, next));
	}
	if (n) {
		check_keys(g, s, k_state, "field", id, n);
		if (kp)
			check_keys(g, p, kp, "property", id, n);
		if (kt)
			check_keys(g, t, kt, "transition", id, n);
	}
	free(cm);
}

int import_genesys(struct imp *im, const char *buf, size_t len,
		   struct strbuf *out)
{
	struct jdoc doc;
	int err = jdoc_parse(&doc, im->file, buf, len, true, im->errs);
	if (err)
		return err;
	struct gx g = { .im = im };
	const struct jnode *root = doc.root;
	const struct jnode *st = jget(root, "startState");
	g.states = jget(root, "states");
	if (root->type != J_OBJ || !g.states || g.states->type != J_OBJ ||
	    !st || st->type != J_STR) {
		imp_error(im, root->line, root->col,
			  "not a Genesys flow: expected an object with "
			  "\"startState\" and a \"states\" map");
		jdoc_fini(&doc);
		return -EBADMSG;
	}
	static const char *const k_root[] = { "name",	     "version",
					      "startState",  "states",
					      "description", NULL };
	for (size_t i = 0; i < root->n; i++) {
		bool ok = false;
		for (size_t k = 0; k_root[k] && !ok; k++)
			ok = !strcmp(root->keys[i], k_root[k]);
		if (!ok)
			imp_unsupported(im, root->kline[i], root->kcol[i],
					"unsupported Genesys flow field "
					"'%.40s'",
					root->keys[i]);
	}
	size_t n = g.states->n;
	if (n > FLOW_MAX_NODES / 4) {
		imp_error(im, g.states->line, g.states->col,
			  "more than %u states", FLOW_MAX_NODES / 4);
		jdoc_fini(&doc);
		return -E2BIG;
	}
	g.names = calloc(n ? n : 1, sizeof(*g.names));
	g.agents = yv_map(im);
	if (!g.names || !g.agents) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		imp_node_name(im, g.states->keys[i], g.names[i], NAME_LEN);
	for (size_t i = 0; i < n; i++)
		do_state(&g, i);
	const char *start = target(&g, st, "startState");
	if (!start || im->nerrors) {
		err = -EBADMSG;
		goto out;
	}
	imp_fold_prompts(im, start);
	const char *name = jstr(root, "name");
	char *stem = imp_file_stem(im);
	char *hdr = imp_printf(im,
			       "Imported from the Genesys flow %s by voxgate "
			       "flow import.",
			       im->file);
	err = imp_finish(im, name ? name : stem, start, hdr, out);
	free(hdr);
	free(stem);
out:
	free(g.names);
	yv_free(g.agents);
	jdoc_fini(&doc);
	return err;
}
