/* Query-string and path-segment parsers of the REST API (see api_query.h).
 * Everything here reads outside bytes, so every length is checked against
 * a fixed buffer before it is written. */
#include "http/api_query.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

enum {
	KEY_MAX = 16,
	VALUE_MAX = 256,
};

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

/* Percent-decode in[0..len) into out (size bytes incl. NUL). plus: '+' is a
 * space (query strings only). Returns the decoded length, -EBADMSG for a
 * bad escape or a decoded NUL, -EINVAL when it does not fit. */
static int pct_decode(const char *in, size_t len, bool plus, char *out,
		      size_t size)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (c == '%') {
			if (len - i < 3)
				return -EBADMSG;
			int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
			if (hi < 0 || lo < 0)
				return -EBADMSG;
			c = (char)(hi * 16 + lo);
			i += 2;
			if (c == '\0')
				return -EBADMSG;
		} else if (c == '+' && plus) {
			c = ' ';
		} else if (c == '\0') {
			return -EBADMSG;
		}
		if (o + 1 >= size)
			return -EINVAL;
		out[o++] = c;
	}
	out[o] = '\0';
	return (int)o;
}

/* Decimal digits only (no sign, no spaces) within [min, max]. */
static bool parse_uint(const char *s, int64_t min, int64_t max, int64_t *out)
{
	int64_t v = 0;
	if (!*s)
		return false;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		int d = *p - '0';
		if (v > (INT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool id_chars_ok(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '/')
			return false;
	return true;
}

static bool reason_chars_ok(const char *s)
{
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '_'))
			return false;
	return true;
}

static int fail(const char **errp, int err, const char *msg)
{
	if (errp)
		*errp = msg;
	return err;
}

int api_query_parse(const char *qs, size_t len, struct api_calls_query *q,
		    const char **errp)
{
	struct api_calls_query r = { 0 };
	bool seen_before_ms = false, seen_before_id = false;

	if (!q || (!qs && len))
		return fail(errp, -EINVAL, "internal error");
	if (len && qs[0] == '?') {
		qs++;
		len--;
	}
	if (len > API_QUERY_MAX_LEN)
		return fail(errp, -EINVAL, "query string too long");

	size_t pos = 0;
	while (pos < len) {
		const char *pair = qs + pos;
		const char *amp = memchr(pair, '&', len - pos);
		size_t plen = amp ? (size_t)(amp - pair) : len - pos;
		pos += plen + 1;
		if (!plen)
			continue; /* "a=1&&b=2" */

		const char *eq = memchr(pair, '=', plen);
		size_t klen = eq ? (size_t)(eq - pair) : plen;
		const char *val = eq ? eq + 1 : pair + plen;
		size_t vlen = eq ? plen - klen - 1 : 0;

		char key[KEY_MAX], value[VALUE_MAX];
		int n = pct_decode(pair, klen, true, key, sizeof(key));
		if (n == -EBADMSG)
			return fail(errp, n, "malformed percent-encoding");
		if (n < 0)
			return fail(errp, -EINVAL, "unknown parameter");
		if (n == 0)
			return fail(errp, -EBADMSG, "empty parameter name");
		n = pct_decode(val, vlen, true, value, sizeof(value));
		if (n == -EBADMSG)
			return fail(errp, n, "malformed percent-encoding");
		if (n < 0)
			return fail(errp, -EINVAL, "parameter value too long");

		int64_t v;
		if (!strcmp(key, "limit")) {
			if (r.limit)
				goto dup;
			if (!parse_uint(value, 1, API_LIMIT_MAX, &v))
				return fail(errp, -EINVAL,
					    "limit must be an integer in "
					    "1..1000");
			r.limit = (int)v;
		} else if (!strcmp(key, "before_ms")) {
			if (seen_before_ms)
				goto dup;
			if (!parse_uint(value, 1, INT64_MAX, &v))
				return fail(errp, -EINVAL,
					    "before_ms must be a positive "
					    "integer (ms since the epoch)");
			r.before_ms = v;
			seen_before_ms = true;
		} else if (!strcmp(key, "before_id")) {
			if (seen_before_id)
				goto dup;
			if (n < 1 || n > API_CALL_ID_MAX || !id_chars_ok(value))
				return fail(errp, -EINVAL,
					    "before_id must be a call id");
			memcpy(r.before_id, value, (size_t)n + 1);
			seen_before_id = true;
		} else if (!strcmp(key, "end_reason")) {
			if (r.end_reason[0])
				goto dup;
			if (n < 1 || n > API_END_REASON_MAX ||
			    !reason_chars_ok(value))
				return fail(errp, -EINVAL,
					    "end_reason must be 1..32 of "
					    "[a-z0-9_]");
			memcpy(r.end_reason, value, (size_t)n + 1);
		} else {
			return fail(errp, -EINVAL, "unknown parameter");
		}
		continue;
	dup:
		return fail(errp, -EINVAL, "repeated parameter");
	}
	if (seen_before_id && !seen_before_ms)
		return fail(errp, -EINVAL, "before_id needs before_ms");
	*q = r;
	return 0;
}

int api_call_id_parse(const char *seg, size_t len, char *out, size_t size)
{
	char id[API_CALL_ID_MAX + 1];
	if (!seg || !out || size < sizeof(id))
		return -EINVAL;
	/* Reject before decoding: an encoded id is at most 3 bytes a char. */
	if (len == 0 || len > 3 * API_CALL_ID_MAX)
		return -EINVAL;
	int n = pct_decode(seg, len, false, id, sizeof(id));
	if (n < 0)
		return n;
	if (n == 0 || !id_chars_ok(id))
		return -EINVAL;
	memcpy(out, id, (size_t)n + 1);
	return 0;
}
