/* Fuzz target: the flow runtime driven by arbitrary results (keys,
 * transcripts, platform intents, HTTP bodies, CRM JSON, transfer and
 * clock outcomes, mismatched kinds, hangups) through a flow with every
 * kind of node; checks the step contract and that a snapshot restores to
 * the same snapshot. Input: repeated [op byte][len byte][len bytes]. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"
#include "flow_run_fixture.h"

#define STEPS_MAX 400

static void check(int ok)
{
	if (!ok)
		abort();
}

static enum flow_res_type matching(enum flow_act_type t)
{
	switch (t) {
	case FLOW_ACT_SAY:
	case FLOW_ACT_PLAY:
		return FLOW_RES_PLAYED;
	case FLOW_ACT_GATHER:
		return FLOW_RES_INPUT;
	case FLOW_ACT_TRANSFER:
		return FLOW_RES_TRANSFERRED;
	case FLOW_ACT_RECORD:
		return FLOW_RES_RECORDED;
	case FLOW_ACT_HTTP:
		return FLOW_RES_HTTP;
	case FLOW_ACT_LOOKUP:
		return FLOW_RES_LOOKUP;
	default:
		return FLOW_RES_HANGUP;
	}
}

static void check_action(const struct flow_action *a)
{
	check(a->type <= FLOW_ACT_END);
	switch (a->type) {
	case FLOW_ACT_SAY:
		check(a->say.text && a->say.name);
		break;
	case FLOW_ACT_GATHER:
		check(a->gather.nprompts <= FLOW_ACT_PROMPTS_MAX);
		for (unsigned i = 0; i < a->gather.nprompts; i++)
			check(a->gather.prompts[i].text &&
			      a->gather.prompts[i].name);
		check(a->gather.input != 0 && a->gather.terminator);
		break;
	case FLOW_ACT_TRANSFER:
		check(a->transfer.target &&
		      a->transfer.ncontext <= FLOW_ACT_CONTEXT_MAX);
		for (unsigned i = 0; i < a->transfer.ncontext; i++)
			check(a->transfer.context_keys[i] &&
			      a->transfer.context_values[i]);
		break;
	case FLOW_ACT_HTTP:
		check(a->http.method && a->http.url);
		check(!a->http.body ||
		      strlen(a->http.body) == a->http.body_len);
		break;
	case FLOW_ACT_LOOKUP:
		check(a->lookup.key != NULL);
		break;
	case FLOW_ACT_HANGUP:
		check(a->hangup.reason != NULL);
		break;
	default:
		break;
	}
}

static void check_roundtrip(const struct fixture *fx, struct flow_run *r)
{
	struct strbuf a, b;
	struct flow_run *r2 = NULL;
	strbuf_init(&a, 8u << 20);
	strbuf_init(&b, 8u << 20);
	check(flow_run_save(r, &a) == 0);
	int rc = flow_run_restore(&r2, strbuf_str(&a), a.len, fx->main,
				  &fx->env);
	if (rc) {
		fprintf(stderr, "restore: %d\n%s\n", rc, strbuf_str(&a));
		abort();
	}
	check(flow_run_save(r2, &b) == 0);
	if (a.len != b.len || memcmp(strbuf_str(&a), strbuf_str(&b), a.len)) {
		fprintf(stderr, "snapshot:\n%s\nrestored and saved:\n%s\n",
			strbuf_str(&a), strbuf_str(&b));
		abort();
	}
	flow_run_destroy(r2);
	strbuf_fini(&a);
	strbuf_fini(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int http_status[] = { 200, 500, 404, 0, 204, 302 };
	struct fixture *fx = fixture_get();
	struct flow_run *r = NULL;
	struct flow_action act;
	struct flow_result res = { .type = FLOW_RES_START,
				   .now_ms = 1795500000000LL };
	char buf[256];
	size_t pos = 0;
	unsigned steps = 0;

	check(flow_run_create(&r, fx->main, &fx->env) == 0);
	check(flow_run_step(r, &res, &act) == 0);
	check_action(&act);
	while (pos < size && steps++ < STEPS_MAX && !flow_run_done(r)) {
		uint8_t op = data[pos++];
		size_t len = pos < size ? data[pos++] : 0;
		if (len > size - pos)
			len = size - pos;
		memcpy(buf, data + pos, len);
		buf[len] = '\0';
		pos += len;

		memset(&res, 0, sizeof(res));
		res.type = (op & 7) == 7 ? (enum flow_res_type)((op >> 3) % 8)
					 : matching(act.type);
		res.now_ms = 1795500000000LL +
			     (int64_t)(op >> 3) * 3600000 * (int64_t)steps;
		switch (res.type) {
		case FLOW_RES_PLAYED:
			res.err = (op & 8) ? -EIO : 0;
			break;
		case FLOW_RES_INPUT:
			res.input.kind = (enum flow_input_kind)((op >> 3) & 3);
			res.input.digits = buf;
			res.input.transcript = buf;
			res.input.stt_confidence = (float)(op % 100) / 100.0f;
			if (op & 0x80) {
				res.input.intent = (op & 0x20) ? "send" : buf;
				res.input.intent_confidence =
					(float)(op % 50) / 50.0f;
			}
			break;
		case FLOW_RES_TRANSFERRED:
			res.transferred.ok = (op & 8) != 0;
			res.transferred.status = (op >> 4) * 50;
			break;
		case FLOW_RES_HTTP:
			res.http.status = http_status[(op >> 3) % 6];
			res.err = (op & 0x80) ? -ETIMEDOUT : 0;
			res.http.body = len ? buf : NULL;
			res.http.body_len = len;
			break;
		case FLOW_RES_LOOKUP:
			res.err = (op & 0x18) == 0x08	? -ENOENT
				  : (op & 0x18) == 0x10 ? -EIO
							: 0;
			res.lookup.json = buf;
			res.lookup.json_len = len;
			break;
		default:
			break;
		}
		const char *before = flow_run_node(r);
		int rc = flow_run_step(r, &res, &act);
		check(rc == 0 || rc == -EPROTO);
		if (rc) {
			check(flow_run_node(r) == before);
			continue;
		}
		check_action(&act);
		check(flow_run_done(r) == (act.type == FLOW_ACT_END));
		if (steps % 16 == 0)
			check_roundtrip(fx, r);
	}
	check_roundtrip(fx, r);
	flow_run_destroy(r);
	return 0;
}
