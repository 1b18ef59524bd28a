/* AudioSocket hand-offs from FastAGI (see ashandoff.h). */
#include "telephony/asterisk/ashandoff.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ashandoff_uuid_norm(const char *uuid, char out[37])
{
	static const char hex[] = "0123456789abcdef";
	size_t len = uuid ? strlen(uuid) : 0;
	bool dashed = len == 36;
	if (len != 32 && !dashed)
		return -EINVAL;
	unsigned n = 0, o = 0;
	for (size_t i = 0; i < len; i++) {
		if (dashed && (i == 8 || i == 13 || i == 18 || i == 23)) {
			if (uuid[i] != '-')
				return -EINVAL;
			continue;
		}
		int v = hexval(uuid[i]);
		if (v < 0)
			return -EINVAL;
		if (n == 8 || n == 12 || n == 16 || n == 20)
			out[o++] = '-';
		out[o++] = hex[v];
		n++;
	}
	out[o] = '\0';
	return 0;
}

static bool live(const struct ashandoff_entry *e, uint64_t now_ms)
{
	return e->uuid[0] && now_ms - e->at_ms < ASHANDOFF_TTL_MS;
}

int ashandoff_put(struct ashandoff *t, const char *uuid, const char *flow,
		  uint64_t now_ms)
{
	char u[37];
	size_t flen = flow ? strlen(flow) : 0;
	if (!t || ashandoff_uuid_norm(uuid, u) || !flen || flen > 63)
		return -EINVAL;
	struct ashandoff_entry *slot = NULL, *oldest = &t->e[0];
	for (unsigned i = 0; i < ASHANDOFF_MAX; i++) {
		struct ashandoff_entry *e = &t->e[i];
		if (e->uuid[0] && !strcmp(e->uuid, u)) {
			slot = e;
			break;
		}
		if (!slot && !live(e, now_ms))
			slot = e;
		if (e->at_ms < oldest->at_ms)
			oldest = e;
	}
	if (!slot)
		slot = oldest;
	memcpy(slot->uuid, u, sizeof(u));
	memcpy(slot->flow, flow, flen + 1);
	slot->at_ms = now_ms;
	return 0;
}

bool ashandoff_take(struct ashandoff *t, const char *uuid, uint64_t now_ms,
		    char flow[64])
{
	char u[37];
	if (!t || ashandoff_uuid_norm(uuid, u))
		return false;
	for (unsigned i = 0; i < ASHANDOFF_MAX; i++) {
		struct ashandoff_entry *e = &t->e[i];
		if (!e->uuid[0] || strcmp(e->uuid, u))
			continue;
		bool ok = live(e, now_ms);
		if (ok)
			snprintf(flow, 64, "%s", e->flow);
		e->uuid[0] = '\0';
		return ok;
	}
	return false;
}
