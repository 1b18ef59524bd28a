/* Benchmark: the flow runtime's per-action step overhead (flow/runtime.h)
 * on a scripted call that loops say -> menu -> http (JSON mapping) ->
 * switch/set -> classify (NLU) -> say. Prints us per step by the kind of
 * result answered, actions/s, and the ratio to the budget; and what a
 * continued turn costs (docs/SPEECH.md "Continued turns"): the snapshot
 * the session takes before each speech turn's input (flow_run_save) and
 * the rollback when the caller goes on (flow_run_restore).
 * usage: bench_flow_step [seconds] (default 3) */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/strbuf.h"
#include "flow/flow.h"
#include "flow/runtime.h"
#include "bench_fig.h"

#define BUDGET_US 50.0 /* per action */

static const char *const flow_yaml =
	"name: bench\n"
	"start: hello\n"
	"variables: {customer.first_name: Ann, n: '0'}\n"
	"handlers: {error: bye, max_retries: bye}\n"
	"intents:\n"
	"  check_balance:\n"
	"    examples: [what is my balance, check my balance, how much money "
	"do i have, account balance, balance please]\n"
	"  lost_card:\n"
	"    examples: [i lost my card, my card was stolen, block my card, "
	"report a lost card, i can't find my card]\n"
	"  talk_to_agent:\n"
	"    examples: [i want to talk to a person, agent, representative, "
	"get me a human, operator]\n"
	"  pay_bill:\n"
	"    examples: [pay my bill, i want to make a payment, pay the "
	"balance, make a payment, pay my credit card]\n"
	"nodes:\n"
	"  hello:\n"
	"    type: say\n"
	"    text: 'Hello {{customer.first_name}}, your balance is "
	"{{balance}} {{currency}}.'\n"
	"    next: menu\n"
	"  menu:\n"
	"    type: menu\n"
	"    prompt: Press 1 to refresh, or tell me what you need.\n"
	"    options: {1: fetch}\n"
	"  fetch:\n"
	"    type: http\n"
	"    method: POST\n"
	"    url: 'https://api.example.com/customers/{{call.from}}/balance'\n"
	"    headers: {Authorization: 'Bearer token', X-Call: '{{call.id}}'}\n"
	"    json: {phone: '{{call.from}}', n: '{{n}}', tags: [a, b]}\n"
	"    map: {balance: account.balance, currency: account.currency, "
	"status: status, first: items.0.id}\n"
	"    map_all: resp\n"
	"    next: tier\n"
	"  tier:\n"
	"    type: switch\n"
	"    value: '{{resp.tier}}'\n"
	"    cases:\n"
	"      - {equals: platinum, next: bump}\n"
	"      - {gt: 100000, next: bump}\n"
	"      - {contains: old, next: bump}\n"
	"    default: bye\n"
	"  bump:\n"
	"    type: set\n"
	"    vars: {n: '{{balance}}', last_status: '{{status}}'}\n"
	"    next: ask\n"
	"  ask:\n"
	"    type: classify\n"
	"    prompt: What else can I do for you?\n"
	"    intents: {check_balance: hello, lost_card: hello, "
	"talk_to_agent: hello, pay_bill: hello}\n"
	"    confidence: {high: 0.3, low: 0.1}\n"
	"  bye:\n"
	"    type: hangup\n";

static const char *const http_body =
	"{\"account\":{\"balance\":\"1250.40\",\"currency\":\"USD\"},"
	"\"status\":\"active\",\"tier\":\"gold\",\"items\":[{\"id\":\"a1\"},"
	"{\"id\":\"a2\"}],\"since\":2019,\"flags\":{\"vip\":false}}";

enum bucket { B_SAY, B_MENU, B_HTTP, B_CLASSIFY, B_COUNT };
static const char *const bucket_names[] = {
	"say played -> menu prompt",
	"menu dtmf -> http request (url/json render)",
	"http response map/map_all -> switch -> set -> classify prompt",
	"classify speech (NLU) -> say (template)",
};

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* CPU time of this thread: the figure that holds on a loaded machine. */
static double cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3.0;
	struct flow_errors errs = { 0 };
	struct flow *f = NULL;
	double total[B_COUNT] = { 0 };
	uint64_t count[B_COUNT] = { 0 };
	uint64_t calls = 0, actions = 0;
	double save_us = 0, restore_us = 0, snap_cpu = 0;
	uint64_t saves = 0, restores = 0;
	size_t snap_bytes = 0;
	static const char *const utterances[] = {
		"what is my balance",
		"i think i lost my card",
		"can i talk to a real person",
		"i want to pay my bill",
	};

	if (flow_load_buf("bench.yaml", flow_yaml, strlen(flow_yaml), &f,
			  &errs)) {
		for (size_t i = 0; i < errs.count; i++)
			fprintf(stderr, "bench_flow_step: %s\n", errs.msg[i]);
		return 1;
	}
	struct flow_run_env env = {
		.call_id = "bench-call",
		.from = "+14155550100",
		.to = "+18005550199",
		.channel = "sip",
		.speech = true,
		.audio = true,
	};
	double start = now_us(), deadline = start + seconds * 1e6;
	double cpu0 = cpu_us();
	while (now_us() < deadline) {
		struct flow_run *r = NULL;
		struct flow_action act;
		struct flow_result res = { .type = FLOW_RES_START };
		if (flow_run_create(&r, f, &env) ||
		    flow_run_step(r, &res, &act)) {
			fprintf(stderr, "bench_flow_step: cannot start\n");
			return 1;
		}
		/* 200 steps (50 rounds of say/menu/http/classify) per call */
		for (unsigned loop = 0; loop < 200; loop++) {
			enum bucket b;
			memset(&res, 0, sizeof(res));
			res.now_ms = 1795500000000LL + loop;
			switch (act.type) {
			case FLOW_ACT_SAY:
				res.type = FLOW_RES_PLAYED;
				b = B_SAY;
				break;
			case FLOW_ACT_GATHER:
				res.type = FLOW_RES_INPUT;
				if (!strcmp(act.node, "menu")) {
					res.input.kind = FLOW_IN_DTMF;
					res.input.digits = "1";
					b = B_MENU;
				} else {
					/* the session's snapshot before a
					 * speech turn's input, and every 4th
					 * turn a rollback to it */
					struct strbuf sb;
					strbuf_init(&sb, 4u << 20);
					double c0 = cpu_us();
					double s0 = now_us();
					int se = flow_run_save(r, &sb);
					double s1 = now_us();
					struct flow_run *r2 = NULL;
					if (!se && saves % 4 == 0) {
						se = flow_run_restore(
							&r2, strbuf_str(&sb),
							sb.len, f, &env);
						restore_us += now_us() - s1;
						restores++;
						flow_run_destroy(r2);
					}
					if (se) {
						fprintf(stderr,
							"bench_flow_step: "
							"snapshot %d\n",
							se);
						return 1;
					}
					save_us += s1 - s0;
					saves++;
					snap_bytes = sb.len;
					strbuf_fini(&sb);
					snap_cpu += cpu_us() - c0;
					res.input.kind = FLOW_IN_SPEECH;
					res.input.transcript =
						utterances[loop % 4];
					res.input.stt_confidence = 0.9f;
					b = B_CLASSIFY;
				}
				break;
			case FLOW_ACT_HTTP:
				res.type = FLOW_RES_HTTP;
				res.http.status = 200;
				res.http.body = http_body;
				res.http.body_len = strlen(http_body);
				b = B_HTTP;
				break;
			default:
				fprintf(stderr,
					"bench_flow_step: unexpected action %d "
					"at %s\n",
					act.type, act.node ? act.node : "-");
				return 1;
			}
			double t0 = now_us();
			int err = flow_run_step(r, &res, &act);
			double t1 = now_us();
			if (err) {
				fprintf(stderr, "bench_flow_step: step %d\n",
					err);
				return 1;
			}
			total[b] += t1 - t0;
			count[b]++;
			actions++;
		}
		flow_run_destroy(r);
		calls++;
	}
	/* (the snapshot figures are not steps: out of the CPU line too) */
	double cpu = cpu_us() - cpu0 - snap_cpu, all = 0;
	printf("%-64s %9s %12s %8s\n", "step", "us/action", "actions/s",
	       "ratio");
	for (int b = 0; b < B_COUNT; b++) {
		double us = count[b] ? total[b] / (double)count[b] : 0;
		all += total[b];
		printf("%-64s %9.2f %12.0f %8.3f\n", bucket_names[b], us,
		       us > 0 ? 1e6 / us : 0, us / BUDGET_US);
	}
	double mean = actions ? all / (double)actions : 0;
	printf("%-64s %9.2f %12.0f %8.3f\n", "all steps (mean)", mean,
	       mean > 0 ? 1e6 / mean : 0, mean / BUDGET_US);
	double cpu_mean = actions ? cpu / (double)actions : 0;
	printf("%-64s %9.2f %12.0f %8.3f\n",
	       "all steps, CPU time (incl. run create/destroy)", cpu_mean,
	       cpu_mean > 0 ? 1e6 / cpu_mean : 0, cpu_mean / BUDGET_US);
	double su = saves ? save_us / (double)saves : 0;
	double ru = restores ? restore_us / (double)restores : 0;
	printf("%-64s %9.2f %12.0f %8.3f\n",
	       "speech turn snapshot (flow_run_save, continuation)", su,
	       su > 0 ? 1e6 / su : 0, su / BUDGET_US);
	printf("%-64s %9.2f %12.0f %8.3f\n",
	       "continued turn rollback (flow_run_restore)", ru,
	       ru > 0 ? 1e6 / ru : 0, ru / BUDGET_US);
	printf("snapshot %zu bytes\n", snap_bytes);
	bench_fig("flow_step", "mean", mean, "us/action", "<=", BUDGET_US);
	bench_fig("flow_step", "speech turn snapshot", su, "us",
		  "<=", BUDGET_US);
	printf("budget %.0f us/action; %llu calls, %llu actions in %.1f s\n",
	       BUDGET_US, (unsigned long long)calls,
	       (unsigned long long)actions, (now_us() - start) / 1e6);
	flow_deref(f);
	return 0;
}
