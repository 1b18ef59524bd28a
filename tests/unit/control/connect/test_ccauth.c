/* Connect request authentication: API key, HMAC signature over
 * "<timestamp>.<body>", the 5 minute window, replay refusal and the
 * bounded cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/connect/ccauth.h"
#include "http/client.h"

static const char KEY[] = "api-key-1";
static const char SECRET[] = "0123456789abcdef-secret";
static const char BODY[] = "{\"Name\":\"ContactFlowEvent\"}";
static const int64_t NOW = 1790000000;

static int check(struct connect_auth *a, const char *key, int64_t ts,
		 const char *secret, const char *body, int64_t now)
{
	char sig[80], tsb[24];
	assert_int_equal(
		webhooks_sign(secret, ts, body, strlen(body), sig, sizeof(sig)),
		0);
	snprintf(tsb, sizeof(tsb), "%lld", (long long)ts);
	return connect_auth_check(a, key, key ? strlen(key) : 0, tsb,
				  strlen(tsb), sig, strlen(sig), body,
				  strlen(body), now);
}

static void a_signed_request_passes_once(void **state)
{
	(void)state;
	struct connect_auth *a = NULL;
	assert_int_equal(connect_auth_create(&a, KEY, SECRET, 0, 0), 0);
	assert_int_equal(check(a, KEY, NOW, SECRET, BODY, NOW), 0);
	assert_int_equal(connect_auth_cached(a), 1);
	/* The exact same request again: a replay. */
	assert_int_equal(check(a, KEY, NOW, SECRET, BODY, NOW + 10), -EALREADY);
	/* Another timestamp signs differently: fine. */
	assert_int_equal(check(a, KEY, NOW + 1, SECRET, BODY, NOW + 10), 0);
	assert_string_equal(connect_auth_reason(-EALREADY), "replay");
	/* Millisecond timestamps: the same second, different signatures. */
	assert_int_equal(check(a, KEY, NOW * 1000 + 1, SECRET, BODY, NOW), 0);
	assert_int_equal(check(a, KEY, NOW * 1000 + 2, SECRET, BODY, NOW), 0);
	assert_int_equal(check(a, KEY, NOW * 1000 + 2, SECRET, BODY, NOW),
			 -EALREADY);
	assert_int_equal(check(a, KEY, (NOW - 301) * 1000, SECRET, BODY, NOW),
			 -ETIMEDOUT);
	connect_auth_destroy(a);
}

static void wrong_key_signature_or_time_is_refused(void **state)
{
	(void)state;
	struct connect_auth *a = NULL;
	assert_int_equal(connect_auth_create(&a, KEY, SECRET, 0, 0), 0);
	assert_int_equal(check(a, "api-key-2", NOW, SECRET, BODY, NOW),
			 -EACCES);
	assert_int_equal(check(a, "api-key-", NOW, SECRET, BODY, NOW), -EACCES);
	assert_int_equal(check(a, NULL, NOW, SECRET, BODY, NOW), -EACCES);
	assert_int_equal(check(a, KEY, NOW, "another-secret-0000", BODY, NOW),
			 -EPERM);
	/* Stale and future timestamps, at the edges of the window. */
	assert_int_equal(check(a, KEY, NOW - 301, SECRET, BODY, NOW),
			 -ETIMEDOUT);
	assert_int_equal(check(a, KEY, NOW + 301, SECRET, BODY, NOW),
			 -ETIMEDOUT);
	assert_int_equal(check(a, KEY, NOW - 300, SECRET, BODY, NOW), 0);
	assert_int_equal(check(a, KEY, NOW + 300, SECRET, BODY, NOW), 0);
	/* A body changed after signing. */
	char sig[80];
	assert_int_equal(webhooks_sign(SECRET, NOW, BODY, strlen(BODY), sig,
				       sizeof(sig)),
			 0);
	const char *other = "{\"Name\":\"ContactFlowEvent\" }";
	assert_int_equal(connect_auth_check(a, KEY, strlen(KEY), "1790000000",
					    10, sig, strlen(sig), other,
					    strlen(other), NOW),
			 -EPERM);
	/* Upper-case hex is the same signature (so it is a replay here). */
	char upper[80];
	snprintf(upper, sizeof(upper), "%s", sig);
	for (char *p = upper + 3; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	assert_int_equal(connect_auth_check(a, KEY, strlen(KEY), "1790000000",
					    10, upper, strlen(upper), BODY,
					    strlen(BODY), NOW),
			 0);
	/* Malformed headers. */
	assert_int_equal(connect_auth_check(a, KEY, strlen(KEY), "17900x0000",
					    10, sig, strlen(sig), BODY,
					    strlen(BODY), NOW),
			 -EBADMSG);
	assert_int_equal(connect_auth_check(a, KEY, strlen(KEY), NULL, 0, sig,
					    strlen(sig), BODY, strlen(BODY),
					    NOW),
			 -EBADMSG);
	assert_int_equal(connect_auth_check(a, KEY, strlen(KEY), "1790000000",
					    10, sig + 3, strlen(sig) - 3, BODY,
					    strlen(BODY), NOW),
			 -EBADMSG);
	assert_int_equal(connect_auth_check(a, KEY, strlen(KEY), "1790000000",
					    10, NULL, 0, BODY, strlen(BODY),
					    NOW),
			 -EBADMSG);
	/* Refusals are never remembered. */
	assert_int_equal(connect_auth_cached(a), 3);
	connect_auth_destroy(a);
}

static void the_cache_is_bounded_and_expires(void **state)
{
	(void)state;
	struct connect_auth *a = NULL;
	assert_int_equal(connect_auth_create(&a, KEY, SECRET, 0, 4), 0);
	for (int i = 0; i < 6; i++)
		assert_int_equal(check(a, KEY, NOW + i, SECRET, BODY, NOW + i),
				 0);
	assert_int_equal(connect_auth_cached(a), 4);
	/* Out of the window, entries go. */
	assert_int_equal(check(a, KEY, NOW + 400, SECRET, BODY, NOW + 400), 0);
	assert_int_equal(connect_auth_cached(a), 1);
	assert_int_equal(connect_auth_create(&a, "", SECRET, 0, 0), -EINVAL);
	connect_auth_destroy(a);
	connect_auth_destroy(NULL);
}

/* The hash index agrees with the ring through many evictions. */
static void replays_are_found_across_evictions(void **state)
{
	(void)state;
	struct connect_auth *a = NULL;
	assert_int_equal(connect_auth_create(&a, KEY, SECRET, 0, 64), 0);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(
			check(a, KEY, NOW * 1000 + i, SECRET, BODY, NOW), 0);
		/* The last 64 are all remembered... */
		int back = i % 64;
		assert_int_equal(
			check(a, KEY, NOW * 1000 + i - back, SECRET, BODY, NOW),
			-EALREADY);
	}
	assert_int_equal(connect_auth_cached(a), 64);
	/* ...and the ones before them were forgotten (cache full). */
	assert_int_equal(check(a, KEY, NOW * 1000 + 900, SECRET, BODY, NOW), 0);
	connect_auth_destroy(a);
}

/* Malformed timestamp and signature headers, table-driven: each is
 * -EBADMSG (or -ETIMEDOUT / -EPERM once well-formed), never remembered. */
static void malformed_headers_are_refused(void **state)
{
	(void)state;
	struct connect_auth *a = NULL;
	assert_int_equal(connect_auth_create(&a, KEY, SECRET, 0, 0), 0);
	char good[80];
	assert_int_equal(webhooks_sign(SECRET, NOW, BODY, strlen(BODY), good,
				       sizeof(good)),
			 0);
	char v2[80], nonhex[80], longer[100];
	snprintf(v2, sizeof(v2), "v2=%s", good + 3);
	snprintf(nonhex, sizeof(nonhex), "%s", good);
	nonhex[10] = 'g';
	snprintf(longer, sizeof(longer), "%s0", good);
	static const struct {
		const char *ts;
		int sig; /* 0 good, 1 v2=, 2 non-hex, 3 one digit more */
		int want;
	} cases[] = {
		{ "", 0, -EBADMSG },
		{ "+1790000000", 0, -EBADMSG },
		{ "-1790000000", 0, -EBADMSG },
		{ " 1790000000", 0, -EBADMSG },
		{ "1790000000 ", 0, -EBADMSG },
		{ "1.79e9", 0, -EBADMSG },
		{ "0x6AB1CF80", 0, -EBADMSG },
		{ "000001790000000", 0, -EBADMSG },  /* 15 digits */
		{ "99999999999999", 0, -ETIMEDOUT }, /* 14 digits: ms, future */
		{ "0", 0, -ETIMEDOUT },
		{ "1790000000", 1, -EBADMSG },
		{ "1790000000", 2, -EPERM },
		{ "1790000000", 3, -EBADMSG },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *sig = cases[i].sig == 1   ? v2
				  : cases[i].sig == 2 ? nonhex
				  : cases[i].sig == 3 ? longer
						      : good;
		int rc = connect_auth_check(
			a, KEY, strlen(KEY), cases[i].ts, strlen(cases[i].ts),
			sig, strlen(sig), BODY, strlen(BODY), NOW);
		if (rc != cases[i].want)
			fail_msg("case %zu (ts '%s'): rc %d, want %d", i,
				 cases[i].ts, rc, cases[i].want);
	}
	assert_int_equal(connect_auth_cached(a), 0);
	/* A NUL inside the timestamp's length is not a digit. */
	assert_int_equal(connect_auth_check(a, KEY, strlen(KEY), "1790\0000000",
					    10, good, strlen(good), BODY,
					    strlen(BODY), NOW),
			 -EBADMSG);
	/* Only the key's own length matches: a prefix or a longer key with
	 * the right start is refused. */
	assert_int_equal(
		connect_auth_check(a, KEY, strlen(KEY) - 1, "1790000000", 10,
				   good, strlen(good), BODY, strlen(BODY), NOW),
		-EACCES);
	assert_int_equal(connect_auth_check(a, "api-key-10", 10, "1790000000",
					    10, good, strlen(good), BODY,
					    strlen(BODY), NOW),
			 -EACCES);
	assert_int_equal(connect_auth_check(a, KEY, strlen(KEY), "1790000000",
					    10, good, strlen(good), BODY,
					    strlen(BODY), NOW),
			 0);
	connect_auth_destroy(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_signed_request_passes_once),
		cmocka_unit_test(wrong_key_signature_or_time_is_refused),
		cmocka_unit_test(the_cache_is_bounded_and_expires),
		cmocka_unit_test(replays_are_found_across_evictions),
		cmocka_unit_test(malformed_headers_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
