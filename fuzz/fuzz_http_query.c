/* libFuzzer target for the REST API's URL parsers (http/api_query.h): no
 * crash, no read past len, and every accepted result within its contract. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/api_query.h"

static void check_id(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);
	if (n < 1 || n > max)
		abort();
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f || c == '/')
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes, so ASan flags any read past it. */
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);

	struct api_calls_query q;
	const char *why = NULL;
	int err = api_query_parse(buf, size, &q, &why);
	if (err == 0) {
		if (q.limit < 0 || q.limit > API_LIMIT_MAX || q.before_ms < 0)
			abort();
		if (q.before_id[0]) {
			check_id(q.before_id, API_CALL_ID_MAX);
			if (!q.before_ms)
				abort();
		}
		size_t n = strnlen(q.end_reason, sizeof(q.end_reason));
		if (n == sizeof(q.end_reason))
			abort();
		for (size_t i = 0; i < n; i++) {
			char c = q.end_reason[i];
			if (!((c >= 'a' && c <= 'z') ||
			      (c >= '0' && c <= '9') || c == '_'))
				abort();
		}
	} else if ((err != -EINVAL && err != -EBADMSG) || !why || !why[0]) {
		abort();
	}

	char id[API_CALL_ID_MAX + 1];
	err = api_call_id_parse(buf, size, id, sizeof(id));
	if (err == 0)
		check_id(id, API_CALL_ID_MAX);
	else if (err != -EINVAL && err != -EBADMSG)
		abort();

	free(buf);
	return 0;
}
