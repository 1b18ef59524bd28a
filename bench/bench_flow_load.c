/* Benchmark: loading flows with intents (validation, the classifier trained
 * at load, the menus' speech grammars) and a large v2 flow (templates,
 * declared variables, reachability and loop checks). Prints the best of several
 * loads per flow and its ratio to a budget. usage: bench_flow_load */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow/flow.h"
#include "bench_fig.h"

/* A small flow must load "well under a second"; a reload of a large one
 * blocks the reloading thread for its whole training. */
#define BUDGET_SMALL_MS 50.0
#define BUDGET_LARGE_MS 2000.0

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static const char *const vocab[] = {
	"account", "balance", "card",	 "lost",     "stolen", "pay",
	"bill",	   "agent",   "person",	 "transfer", "money",  "savings",
	"loan",	   "open",    "close",	 "address",  "change", "pin",
	"reset",   "fraud",   "dispute", "charge",   "refund", "statement",
};

/* A flow of nintents intents x nexamples 7-word examples (fixed seed), one
 * menu routing them all. Returns a malloc'd YAML text. */
static char *synthetic(unsigned nintents, unsigned nexamples)
{
	size_t cap = (size_t)nintents * (nexamples + 2) * 80 + 4096;
	char *y = malloc(cap);
	if (!y)
		return NULL;
	uint64_t s = 0x9e3779b97f4a7c15ull;
	size_t o = (size_t)snprintf(y, cap, "name: big\nstart: m\nintents:\n");
	for (unsigned i = 0; i < nintents; i++) {
		o += (size_t)snprintf(y + o, cap - o, "  i%u:\n    examples:\n",
				      i);
		for (unsigned j = 0; j < nexamples; j++) {
			o += (size_t)snprintf(y + o, cap - o, "      -");
			for (int w = 0; w < 6; w++) {
				s = s * 6364136223846793005ull +
				    1442695040888963407ull;
				o += (size_t)snprintf(
					y + o, cap - o, " %s",
					vocab[(s >> 33) % (sizeof(vocab) /
							   sizeof(*vocab))]);
			}
			o += (size_t)snprintf(y + o, cap - o, " w%u\n", i);
		}
	}
	o += (size_t)snprintf(y + o, cap - o,
			      "nodes:\n  m:\n    type: menu\n    prompt: Hi.\n"
			      "    intents:\n");
	for (unsigned i = 0; i < nintents; i++)
		o += (size_t)snprintf(y + o, cap - o, "      i%u: z\n", i);
	snprintf(y + o, cap - o,
		 "    on_max_retries: z\n  z:\n    type: hangup\n");
	return y;
}

/* Best of runs loads of yaml, in ms; < 0 when it does not load. */
static double best_load(const char *yaml, int runs)
{
	double best = -1;
	for (int i = 0; i < runs; i++) {
		struct flow *f = NULL;
		struct flow_errors errs = { 0 };
		double t0 = now_ms();
		int err = flow_load_buf("bench.yaml", yaml, strlen(yaml), &f,
					&errs);
		double t = now_ms() - t0;
		if (err) {
			fprintf(stderr, "bench_flow_load: %s\n",
				errs.count ? errs.msg[0] : "load failed");
			return -1;
		}
		flow_deref(f);
		if (best < 0 || t < best)
			best = t;
	}
	return best;
}

/* A v2 flow of about n nodes (n a multiple of 5): groups of set, switch,
 * http, say and gather nodes, with templates everywhere, chained so that
 * every node is reachable and every loop waits at a gather. */
static char *synthetic_v2(unsigned n)
{
	size_t cap = (size_t)n * 400 + 4096;
	char *y = malloc(cap);
	if (!y)
		return NULL;
	size_t o = (size_t)snprintf(
		y, cap,
		"name: big-v2\nstart: s0\n"
		"variables: {tier: gold, counter: \"0\"}\n"
		"handlers: {error: oops, max_retries: oops}\n"
		"nodes:\n"
		"  oops:\n    type: hangup\n    reason: flow_error\n");
	unsigned groups = n / 5;
	for (unsigned g = 0; g < groups; g++) {
		unsigned next = g + 1 < groups ? g + 1 : 0;
		o += (size_t)snprintf(
			y + o, cap - o,
			"  s%u:\n    type: set\n"
			"    vars: {v%u: \"{{tier}}-{{counter}}\", counter: "
			"\"{{counter}}1\"}\n    next: w%u\n"
			"  w%u:\n    type: switch\n    value: \"{{v%u}}\"\n"
			"    cases:\n"
			"      - {starts_with: gold, next: h%u}\n"
			"      - {gt: \"{{counter}}\", next: t%u}\n"
			"    default: t%u\n"
			"  h%u:\n    type: http\n    method: POST\n"
			"    url: \"https://api.example.com/c/{{call.id}}/"
			"{{v%u}}\"\n"
			"    headers: {X-Tier: \"{{tier|upper}}\"}\n"
			"    json: {tier: \"{{tier}}\", n: %u, ok: true}\n"
			"    map: {r%u: data.items.0.id}\n    next: t%u\n"
			"  t%u:\n    type: say\n"
			"    text: \"Step %u for {{call.from|digits}}, "
			"{{r%u}}.\"\n    next: g%u\n"
			"  g%u:\n    type: gather\n"
			"    prompt: \"Enter {{v%u}} digits.\"\n"
			"    max_digits: 4\n    into: in%u\n    next: s%u\n",
			g, g, g, g, g, g, g, g, g, g, g, g, g, g, g, g, g, g, g,
			g, next);
	}
	return y;
}

static int report(const char *name, double ms, double budget)
{
	if (ms < 0)
		return 1;
	printf("%-36s %9.2f ms   budget %7.0f ms   ratio %.3f\n", name, ms,
	       budget, ms / budget);
	bench_fig("flow_load", name, ms, "ms", "<=", budget);
	return 0;
}

int main(void)
{
	int rc = 0;
	struct flow *demo = NULL;
	double t0 = now_ms();
	if (flow_load_builtin("bank-hotline", &demo)) {
		fprintf(stderr, "bench_flow_load: the demo does not load\n");
		return 1;
	}
	double demo_ms = now_ms() - t0;
	flow_deref(demo);
	rc |= report("bank-hotline (first load)", demo_ms, BUDGET_SMALL_MS);

	static const struct {
		unsigned nintents, nexamples, runs;
		double budget;
	} cases[] = {
		{ 4, 8, 20, BUDGET_SMALL_MS },
		{ 20, 20, 3, BUDGET_LARGE_MS },
		{ 20, 50, 3, BUDGET_LARGE_MS },
		{ 50, 20, 1, BUDGET_LARGE_MS },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *y = synthetic(cases[i].nintents, cases[i].nexamples);
		if (!y)
			return 1;
		char name[64];
		snprintf(name, sizeof(name), "%u intents x %u examples",
			 cases[i].nintents, cases[i].nexamples);
		rc |= report(name, best_load(y, (int)cases[i].runs),
			     cases[i].budget);
		free(y);
	}

	/* Flow language v2: load + every check (templates, declared
	 * variables, reachability, loops) on a 500-node flow. */
	char *y = synthetic_v2(500);
	if (!y)
		return 1;
	rc |= report("v2: 500 nodes (load + check)", best_load(y, 10),
		     BUDGET_SMALL_MS);
	free(y);
	return rc;
}
