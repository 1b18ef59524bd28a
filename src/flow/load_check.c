/* The flow loader, part five: whole-flow checks once every node is parsed:
 * declared variables, reachability from start and the handlers, and loops
 * that never wait for the caller. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/load_impl.h"

static void add(unsigned *out, unsigned *n, unsigned i)
{
	if (i != NO_NODE && *n < FLOW_SUCC_MAX)
		out[(*n)++] = i;
}

unsigned ld_node_succ(const struct flow_node *fn, unsigned *out)
{
	unsigned n = 0;
	switch (fn->type) {
	case FLOW_NODE_MENU:
	case FLOW_NODE_CLASSIFY:
		for (unsigned j = 0; j < fn->noptions; j++)
			add(out, &n, fn->options[j].next);
		for (unsigned j = 0; j < fn->nroutes; j++)
			add(out, &n, fn->routes[j].next);
		add(out, &n, fn->on_high);
		add(out, &n, fn->on_low);
		add(out, &n, fn->on_no_match);
		add(out, &n, fn->on_max_retries);
		break;
	case FLOW_NODE_SWITCH:
		for (unsigned j = 0; j < fn->ncases; j++)
			add(out, &n, fn->cases[j].next);
		add(out, &n, fn->on_default);
		break;
	case FLOW_NODE_HOURS:
		add(out, &n, fn->on_in_hours);
		add(out, &n, fn->on_out_of_hours);
		break;
	case FLOW_NODE_TRANSFER:
		add(out, &n, fn->on_fail);
		break;
	case FLOW_NODE_HANGUP:
	case FLOW_NODE_RETURN:
		break;
	default: /* say, play, gather, set, http, lookup, record, goto,
		    subflow */
		add(out, &n, fn->next);
		add(out, &n, fn->on_max_retries);
		add(out, &n, fn->on_error);
		add(out, &n, fn->on_not_found);
		break;
	}
	return n;
}

/* ---- declared variables ---- */

/* Set by the runtime (docs/FLOWS.md "Variables"). */
static const char *const runtime_vars[] = {
	"call.id",
	"call.from",
	"call.to",
	"call.channel",
	"last",
	"last.input",
	"last.digits",
	"last.transcript",
	"last.confidence",
	"intent",
	"intent.confidence",
	"intent.match",
	"http.status",
	"http.error",
	"error.reason",
	"error.node",
	"transfer.status",
};
#define NRUNTIME_VARS (sizeof(runtime_vars) / sizeof(runtime_vars[0]))

/* What "gather into: X" also fills. */
static const char *const into_suffixes[] = { "", ".input", ".original",
					     ".confidence", ".unit" };

struct declared {
	char **names; /* sorted; owned */
	size_t n, cap;
	const char **prefixes; /* borrowed from the flow */
	size_t np, capp;
	bool oom;
};

static void decl_add(struct declared *d, const char *a, const char *b,
		     const char *c)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 64;
		char **x = realloc(d->names, cap * sizeof(*x));
		if (!x) {
			d->oom = true;
			return;
		}
		d->names = x;
		d->cap = cap;
	}
	size_t len = strlen(a) + strlen(b) + strlen(c) + 1;
	char *s = malloc(len);
	if (!s) {
		d->oom = true;
		return;
	}
	snprintf(s, len, "%s%s%s", a, b, c);
	d->names[d->n++] = s;
}

static void decl_prefix(struct declared *d, const char *p)
{
	if (!p)
		return;
	if (d->np == d->capp) {
		size_t cap = d->capp ? 2 * d->capp : 16;
		const char **x = realloc(d->prefixes, cap * sizeof(*x));
		if (!x) {
			d->oom = true;
			return;
		}
		d->prefixes = x;
		d->capp = cap;
	}
	d->prefixes[d->np++] = p;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void collect_declared(const struct flow *f, struct declared *d)
{
	for (size_t i = 0; i < NRUNTIME_VARS; i++)
		decl_add(d, runtime_vars[i], "", "");
	for (unsigned i = 0; i < f->nvariables; i++)
		decl_add(d, f->variables[i].name, "", "");
	for (unsigned i = 0; i < f->nintents; i++) {
		const struct flow_intent *it = &f->intents[i];
		for (unsigned j = 0; j < it->nslots; j++) {
			if (!it->slots[j].name)
				continue;
			decl_add(d, "slots.", it->slots[j].name, "");
			decl_add(d, "slots.", it->slots[j].name, ".original");
		}
	}
	for (unsigned i = 0; i < f->nnodes; i++) {
		const struct flow_node *fn = &f->nodes[i];
		switch (fn->type) {
		case FLOW_NODE_SET:
			for (unsigned j = 0; j < fn->nkvs; j++)
				decl_add(d, fn->kvs[j].name, "", "");
			break;
		case FLOW_NODE_GATHER:
			for (size_t j = 0; fn->into && j < 5; j++)
				decl_add(d, fn->into, into_suffixes[j], "");
			break;
		case FLOW_NODE_HTTP:
			for (unsigned j = 0; j < fn->nmaps; j++)
				decl_add(d, fn->maps[j].var, "", "");
			decl_prefix(d, fn->map_all);
			if (fn->event_connect)
				decl_prefix(d, "external");
			break;
		case FLOW_NODE_LOOKUP:
			decl_prefix(d, fn->lookup_into);
			break;
		default:
			break;
		}
	}
	qsort(d->names, d->n, sizeof(*d->names), cmp_name);
}

static bool is_declared(const struct declared *d, const char *name)
{
	if (bsearch(&name, d->names, d->n, sizeof(*d->names), cmp_name))
		return true;
	for (size_t i = 0; i < d->np; i++) {
		size_t pl = strlen(d->prefixes[i]);
		if (!strncmp(name, d->prefixes[i], pl) &&
		    (name[pl] == '\0' || name[pl] == '.'))
			return true;
	}
	return false;
}

void ld_check_vars(struct loader *L)
{
	if (!L->nuses)
		return;
	struct declared d = { 0 };
	collect_declared(L->f, &d);
	if (d.oom) {
		L->nerr++;
		L->oom = true;
		goto out;
	}
	for (size_t i = 0; i < L->nuses; i++) {
		const struct tmpl_use *u = &L->uses[i];
		for (size_t j = 0; j < flow_tmpl_nvars(u->t); j++) {
			size_t off = 0;
			const char *name = flow_tmpl_var(u->t, j, &off);
			if (is_declared(&d, name))
				continue;
			unsigned line, col;
			ld_scalar_pos(L, u->at, off, &line, &col);
			L->nerr++;
			flow_errors_add(L->errs, L->file, line, col,
					"%s uses undeclared variable '%s' "
					"(declare it under 'variables')",
					u->what, name);
		}
	}
out:
	for (size_t i = 0; i < d.n; i++)
		free(d.names[i]);
	free(d.names);
	free(d.prefixes);
}

/* ---- the graph ---- */

/* Successor lists of every node, as one array (CSR). */
struct graph {
	unsigned *off; /* nnodes + 1 */
	unsigned *to;
};

static int graph_build(const struct flow *f, struct graph *g)
{
	unsigned buf[FLOW_SUCC_MAX];
	size_t total = 0;
	for (unsigned i = 0; i < f->nnodes; i++)
		total += ld_node_succ(&f->nodes[i], buf);
	g->off = calloc((size_t)f->nnodes + 1, sizeof(*g->off));
	g->to = calloc(total ? total : 1, sizeof(*g->to));
	if (!g->off || !g->to)
		return -1;
	unsigned k = 0;
	for (unsigned i = 0; i < f->nnodes; i++) {
		g->off[i] = k;
		unsigned n = ld_node_succ(&f->nodes[i], buf);
		/* One edge per successor: "next: x, on_error: x" is one way
		 * out, and one loop. */
		for (unsigned a = 0; a < n; a++) {
			bool dup = false;
			for (unsigned b = g->off[i]; b < k && !dup; b++)
				dup = g->to[b] == buf[a];
			if (!dup)
				g->to[k++] = buf[a];
		}
	}
	g->off[f->nnodes] = k;
	return 0;
}

static void graph_free(struct graph *g)
{
	free(g->off);
	free(g->to);
}

/* Every node must be reachable from start or a handler: an unreachable
 * one is nearly always a typo in a transition, so it is an error, not a
 * warning. */
void ld_check_reachable(struct loader *L)
{
	struct flow *f = L->f;
	struct graph g = { 0 };
	unsigned char *seen = calloc(f->nnodes, 1);
	unsigned *stack = calloc(f->nnodes, sizeof(*stack));
	unsigned sp = 0;
	if (!seen || !stack || graph_build(f, &g)) {
		L->nerr++;
		L->oom = true;
		goto out;
	}
	unsigned roots[1 + FLOW_H_COUNT];
	roots[0] = f->start;
	for (unsigned h = 0; h < FLOW_H_COUNT; h++)
		roots[1 + h] = f->handlers[h];
	for (unsigned r = 0; r < 1 + FLOW_H_COUNT; r++) {
		if (roots[r] != NO_NODE && !seen[roots[r]]) {
			seen[roots[r]] = 1;
			stack[sp++] = roots[r];
		}
	}
	while (sp) {
		unsigned u = stack[--sp];
		for (unsigned e = g.off[u]; e < g.off[u + 1]; e++) {
			unsigned v = g.to[e];
			if (!seen[v]) {
				seen[v] = 1;
				stack[sp++] = v;
			}
		}
	}
	for (unsigned i = 0; i < f->nnodes; i++) {
		if (!seen[i]) {
			L->nerr++;
			flow_errors_add(L->errs, L->file, f->nodes[i].line,
					f->nodes[i].col,
					"node '%s' is unreachable from start "
					"node '%s'",
					f->nodes[i].name,
					f->nodes[f->start].name);
		}
	}
out:
	graph_free(&g);
	free(seen);
	free(stack);
}

/* Nodes where the call waits for the caller: a loop through one of them
 * is a retry the caller drives, not a spin. */
static bool waits(const struct flow_node *fn)
{
	return fn->type == FLOW_NODE_MENU || fn->type == FLOW_NODE_GATHER ||
	       (fn->type == FLOW_NODE_CLASSIFY && fn->tmpl);
}

static void report_loop(struct loader *L, const unsigned *path, unsigned from,
			unsigned to)
{
	const struct flow *f = L->f;
	char msg[FLOW_ERROR_LEN];
	size_t o = 0;
	const struct flow_node *head = &f->nodes[path[from]];
	/* The message must fit: long loops are cut in the middle. */
	for (unsigned i = from; i <= to && o < sizeof(msg); i++) {
		int w = snprintf(msg + o, sizeof(msg) - o, "%s -> ",
				 f->nodes[path[i]].name);
		if (w < 0)
			return;
		o += (size_t)w;
		if (o > 120 && i + 1 < to) {
			w = snprintf(msg + o, sizeof(msg) - o, "... -> ");
			o += w > 0 ? (size_t)w : 0;
			i = to - 1;
		}
	}
	if (o >= sizeof(msg))
		o = sizeof(msg) - 1;
	snprintf(msg + o, sizeof(msg) - o, "%s", head->name);
	L->nerr++;
	flow_errors_add(L->errs, L->file, head->line, head->col,
			"node '%s': loop %s never waits for the caller",
			head->name, msg);
}

/* Depth-first over the nodes that do not wait; each back edge closes one
 * loop, reported at the node it returns to. */
void ld_check_loops(struct loader *L)
{
	struct flow *f = L->f;
	struct graph g = { 0 };
	unsigned char *color = calloc(f->nnodes, 1); /* 0 new, 1 open, 2 done */
	unsigned *path = calloc(f->nnodes, sizeof(*path));
	unsigned *edge = calloc(f->nnodes, sizeof(*edge));
	unsigned *depth_of = calloc(f->nnodes, sizeof(*depth_of));
	if (!color || !path || !edge || !depth_of || graph_build(f, &g)) {
		L->nerr++;
		L->oom = true;
		goto out;
	}
	for (unsigned k = 0; k <= f->nnodes; k++) {
		/* Start first, so loops read in the order a call meets them. */
		unsigned root = k == 0 ? f->start : k - 1;
		if (root == NO_NODE || color[root] || waits(&f->nodes[root]))
			continue;
		unsigned sp = 0;
		path[sp] = root;
		edge[sp] = g.off[root];
		depth_of[root] = sp;
		color[root] = 1;
		sp++;
		while (sp) {
			unsigned u = path[sp - 1];
			if (edge[sp - 1] == g.off[u + 1]) {
				color[u] = 2;
				sp--;
				continue;
			}
			unsigned v = g.to[edge[sp - 1]++];
			if (waits(&f->nodes[v]) || color[v] == 2)
				continue;
			if (color[v] == 1) {
				report_loop(L, path, depth_of[v], sp - 1);
				continue;
			}
			color[v] = 1;
			depth_of[v] = sp;
			path[sp] = v;
			edge[sp] = g.off[v];
			sp++;
		}
	}
out:
	graph_free(&g);
	free(color);
	free(path);
	free(edge);
	free(depth_of);
}
