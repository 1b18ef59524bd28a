/* Parsers for the outside input of the REST API's URLs: the query string
 * of GET /v1/calls and the {id} path segment of GET /v1/calls/{id}.
 * Pure functions (no allocation, no globals): unit-tested and fuzzed. */
#ifndef VG_HTTP_API_QUERY_H
#define VG_HTTP_API_QUERY_H
#include <stddef.h>
#include <stdint.h>

enum {
	API_QUERY_MAX_LEN = 2048, /* whole query string, bytes */
	API_LIMIT_MAX = 1000,
	API_CALL_ID_MAX = 128,
	API_END_REASON_MAX = 32,
};

/* GET /v1/calls parameters; zero / "" = not given. */
struct api_calls_query {
	int limit;	   /* 1..API_LIMIT_MAX */
	int64_t before_ms; /* 1..INT64_MAX */
	char before_id[API_CALL_ID_MAX + 1];
	char end_reason[API_END_REASON_MAX + 1]; /* [a-z0-9_] */
};

/* Parse qs (len bytes, need not be NUL-terminated; a leading '?' is
 * skipped): '&'-separated key=value pairs, percent-encoded, '+' is a
 * space. Keys: limit, before_ms, before_id (needs before_ms), end_reason;
 * unknown or repeated keys are refused so a typo does not silently list
 * everything. Returns 0 and sets *q; or -EBADMSG (malformed encoding) /
 * -EINVAL (bad key or value) and, if errp, points *errp at a static
 * message for the 400 reply (*q untouched). */
int api_query_parse(const char *qs, size_t len, struct api_calls_query *q,
		    const char **errp);

/* Decode the {id} path segment (seg, len bytes, percent-encoded) into out
 * (size >= API_CALL_ID_MAX + 1). An id is 1..API_CALL_ID_MAX printable
 * ASCII bytes other than space and '/'. Returns 0, -EBADMSG, -EINVAL; out
 * is written only on success. */
int api_call_id_parse(const char *seg, size_t len, char *out, size_t size);
#endif
