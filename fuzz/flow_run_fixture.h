/* A flow set with every kind of runtime node, shared by the flow runtime
 * fuzz targets (fuzz_flow_run.c, fuzz_flow_restore.c): loaded once. */
#ifndef VG_FUZZ_FLOW_RUN_FIXTURE_H
#define VG_FUZZ_FLOW_RUN_FIXTURE_H
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "flow/flow.h"
#include "flow/runtime.h"

static const char *const fixture_main =
	"name: fz\n"
	"start: pre\n"
	"variables: {attr.seg: x, who: ''}\n"
	"handlers: {error: oops, no_input: bye, no_match: bye}\n"
	"intents:\n"
	"  send:\n"
	"    examples: [send money, transfer money, pay someone]\n"
	"    slots:\n"
	"      amount: {entity: money, required: true, prompt: How much?}\n"
	"      acct: {entity: account, required: true, prompt: Account?}\n"
	"  bal:\n"
	"    examples: [my balance, check balance, how much do i have]\n"
	"nodes:\n"
	"  pre: {type: record, action: start, next: sub}\n"
	"  sub: {type: subflow, flow: fzsub, next: when}\n"
	"  when:\n"
	"    type: hours\n"
	"    open: {mon-sun: '00:00-23:59'}\n"
	"    closed_dates: ['2026-12-25']\n"
	"    in_hours: menu\n"
	"    out_of_hours: bye\n"
	"  menu:\n"
	"    type: menu\n"
	"    prompt: 'Hi {{who}}. 1 http, 2 lookup, or say it.'\n"
	"    options: {1: call, 2: {next: who, say: [lookup]}}\n"
	"    intents: {send: ask, bal: call}\n"
	"    on_low_confidence: ask\n"
	"    no_input: Hello?\n"
	"    invalid: Sorry.\n"
	"  call:\n"
	"    type: http\n"
	"    method: POST\n"
	"    url: 'https://api.example.com/{{call.from}}?w={{who}}'\n"
	"    json: {a: '{{who}}', b: [1, true, null]}\n"
	"    map: {bal: account.balance, first: items.0.id}\n"
	"    map_all: resp\n"
	"    next: sw\n"
	"  lambda:\n"
	"    type: http\n"
	"    url: https://l.example.com/\n"
	"    event: connect\n"
	"    next: menu\n"
	"  sw:\n"
	"    type: switch\n"
	"    value: '{{bal}}'\n"
	"    cases:\n"
	"      - {gt: 100, next: rich}\n"
	"      - {empty: true, next: lambda}\n"
	"      - {contains: x, next: who}\n"
	"    default: ask\n"
	"  rich: {type: set, vars: {who: 'rich {{bal}}'}, next: amount}\n"
	"  amount:\n"
	"    type: gather\n"
	"    prompt: Amount?\n"
	"    input: both\n"
	"    entity: money\n"
	"    into: amt\n"
	"    next: ask\n"
	"  who:\n"
	"    type: lookup\n"
	"    query: customer_by_phone\n"
	"    next: accts\n"
	"    not_found: ask\n"
	"  accts: {type: lookup, query: accounts, next: ask}\n"
	"  ask:\n"
	"    type: classify\n"
	"    prompt: What now?\n"
	"    input: both\n"
	"    options: {0: agent}\n"
	"    intents: {send: again, bal: call}\n"
	"    low: menu\n"
	"  again:\n"
	"    type: classify\n"
	"    intents: {bal: call}\n"
	"    high: agent\n"
	"    no_match: agent\n"
	"  agent:\n"
	"    type: transfer\n"
	"    target: '{{resp.target}}'\n"
	"    context: {reason: '{{intent}}'}\n"
	"    on_fail: bye\n"
	"  oops: {type: say, text: 'oops {{error.reason}}', next: bye}\n"
	"  bye: {type: return}\n";

static const char *const fixture_sub =
	"name: fzsub\n"
	"start: hello\n"
	"nodes:\n"
	"  hello: {type: say, text: 'Welcome {{call.from | digits}}.', "
	"next: done}\n"
	"  done: {type: return}\n";

struct fixture {
	struct flow *main, *sub;
	struct flow_run_env env;
};

static struct flow *fixture_find(void *arg, const char *name)
{
	struct fixture *fx = arg;
	if (!strcmp(name, "fzsub"))
		return fx->sub;
	if (!strcmp(name, "fz"))
		return fx->main;
	return NULL;
}

static struct fixture *fixture_get(void)
{
	static struct fixture fx;
	static int state; /* 0 new, 1 ok, -1 failed */
	if (state == 0) {
		state = -1;
		log_setup(LOG_LVL_ERROR, LOG_FMT_KV, 2);
		if (flow_load_buf("fz.yaml", fixture_main, strlen(fixture_main),
				  &fx.main, NULL) ||
		    flow_load_buf("fzsub.yaml", fixture_sub,
				  strlen(fixture_sub), &fx.sub, NULL))
			abort(); /* the fixture itself must load */
		fx.env.find_flow = fixture_find;
		fx.env.find_arg = &fx;
		fx.env.call_id = "fz-call";
		fx.env.from = "+14155550100";
		fx.env.to = "+18005550199";
		fx.env.channel = "sip";
		fx.env.speech = true;
		fx.env.audio = true;
		state = 1;
	}
	return &fx;
}
#endif
