/* Fuzz target: arbitrary bytes as a flow run snapshot (flow_run_restore,
 * the JSON a control adapter keeps between requests). A snapshot that
 * restores must save to a snapshot that restores to the same text, and
 * the run must go on under the step contract. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"
#include "flow_run_fixture.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fixture *fx = fixture_get();
	struct flow_run *r = NULL, *r2 = NULL;
	struct strbuf a, b;
	int rc;

	rc = flow_run_restore(&r, (const char *)data, size, fx->main, &fx->env);
	if (rc) {
		check(rc == -EBADMSG || rc == -ENOENT || rc == -ENOMEM);
		check(r == NULL);
		return 0;
	}
	strbuf_init(&a, 8u << 20);
	strbuf_init(&b, 8u << 20);
	check(flow_run_save(r, &a) == 0);
	check(flow_run_restore(&r2, strbuf_str(&a), a.len, fx->main,
			       &fx->env) == 0);
	check(flow_run_save(r2, &b) == 0);
	check(a.len == b.len && !memcmp(strbuf_str(&a), strbuf_str(&b), a.len));
	flow_run_destroy(r2);

	/* Go on: answer whatever kind the run accepts, a few times. */
	for (int step = 0; step < 20 && !flow_run_done(r); step++) {
		struct flow_action act;
		bool taken = false;
		for (int t = FLOW_RES_START; t < FLOW_RES_HANGUP && !taken;
		     t++) {
			struct flow_result res = {
				.type = (enum flow_res_type)t,
				.now_ms = 1795500000000LL,
			};
			if (t == FLOW_RES_INPUT) {
				res.input.kind = FLOW_IN_DTMF;
				res.input.digits = "1";
			} else if (t == FLOW_RES_HTTP) {
				res.http.status = 200;
				res.http.body = "{}";
				res.http.body_len = 2;
			} else if (t == FLOW_RES_LOOKUP) {
				res.lookup.json = "{}";
				res.lookup.json_len = 2;
			}
			rc = flow_run_step(r, &res, &act);
			check(rc == 0 || rc == -EPROTO);
			taken = rc == 0;
		}
		if (!taken) {
			struct flow_result h = { .type = FLOW_RES_HANGUP };
			check(flow_run_step(r, &h, &act) == 0);
			check(act.type == FLOW_ACT_END);
		}
	}
	flow_run_destroy(r);
	strbuf_fini(&a);
	strbuf_fini(&b);
	return 0;
}
