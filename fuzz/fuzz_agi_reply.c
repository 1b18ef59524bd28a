/* Fuzz target: the AGI reply parser and the environment block
 * (telephony/asterisk/agi.c), both fed from a stream the way the FastAGI
 * server does. Input: first byte selects env (odd) or replies (even). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "telephony/asterisk/agi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 200000)
		return 0;
	const char *buf = (const char *)data + 1;
	size_t len = size - 1;
	size_t off = 0;
	if (data[0] & 1) {
		struct agi_env env;
		memset(&env, 0, sizeof(env));
		size_t used = 0;
		int err = agi_env_feed(&env, buf, len, &used);
		if ((err == 0 || err == -EAGAIN) && used > len)
			abort();
		char fb[64];
		const char *f = agi_env_flow(&env, fb, sizeof(fb));
		if (f && (strchr(f, '/') || strlen(f) > 63))
			abort();
		char q[300];
		int n = agi_quote(q, sizeof(q), env.callerid);
		if (n > 0 && (strchr(q, '\n') || strchr(q, '\r') ||
			      (size_t)n != strlen(q)))
			abort();
		return 0;
	}
	for (;;) {
		struct agi_reply r;
		size_t used = 0;
		int err = agi_reply_parse(buf + off, len - off, &r, &used);
		if (err)
			break;
		if (!used || used > len - off)
			abort();
		if (r.kind == AGI_REPLY_OK && r.code != 200)
			abort();
		if (strlen(r.result) >= sizeof(r.result) ||
		    strlen(r.data) >= sizeof(r.data))
			abort();
		off += used;
	}
	return 0;
}
