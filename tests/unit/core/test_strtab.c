/* The string index: add and find by the caller's strings, growth past
 * many doublings, keys whose whole hashes collide, the empty string,
 * prefixes and bytes after a NUL, repeated keys, bad arguments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strtab.h"

/* The caller's strings: id -> text. */
struct keys {
	char **s;
	size_t n;
	unsigned calls; /* key() calls, to see the hash compared first */
};

static const char *key_of(const void *ctx, uint32_t id)
{
	struct keys *k = (struct keys *)ctx;
	assert_true(id < k->n);
	k->calls++;
	return k->s[id];
}

static int find(const struct strtab *t, const char *s)
{
	return strtab_find(t, s, strlen(s));
}

static void keys_are_found_by_their_bytes(void **st)
{
	(void)st;
	char *s[] = { "card", "cards", "car", "lost card" };
	struct keys k = { .s = s, .n = 4 };
	struct strtab t;
	strtab_init(&t, key_of, &k);
	assert_int_equal(find(&t, "card"), -ENOENT); /* empty, no slots */
	assert_int_equal(strtab_mem_bytes(&t), 0);
	for (uint32_t i = 0; i < 4; i++)
		assert_int_equal(strtab_add(&t, s[i], strlen(s[i]), i), 0);
	assert_int_equal(t.n, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(find(&t, s[i]), i);
	/* prefixes and extensions are other keys */
	assert_int_equal(find(&t, "ca"), -ENOENT);
	assert_int_equal(find(&t, "cardss"), -ENOENT);
	assert_int_equal(find(&t, "lost"), -ENOENT);
	/* by length, not NUL: "card" is the first 4 bytes of "cards" */
	assert_int_equal(strtab_find(&t, "cards", 4), 0);
	assert_int_equal(strtab_find(&t, "card\0x", 6), -ENOENT);
	assert_int_equal(strtab_find(&t, "card\0", 5), -ENOENT);
	assert_int_equal(strtab_mem_bytes(&t), 16 * 8);
	strtab_fini(&t);
	assert_int_equal(find(&t, "card"), -ENOENT);
	/* usable again after fini */
	assert_int_equal(strtab_add(&t, "car", 3, 2), 0);
	assert_int_equal(find(&t, "car"), 2);
	strtab_fini(&t);
}

static void a_repeated_key_keeps_its_first_id(void **st)
{
	(void)st;
	char *s[] = { "balance", "agent", "balance" };
	struct keys k = { .s = s, .n = 3 };
	struct strtab t;
	strtab_init(&t, key_of, &k);
	assert_int_equal(strtab_add(&t, "balance", 7, 0), 0);
	assert_int_equal(strtab_add(&t, "agent", 5, 1), 0);
	assert_int_equal(strtab_add(&t, "balance", 7, 2), -EEXIST);
	assert_int_equal(t.n, 2);
	assert_int_equal(find(&t, "balance"), 0);
	strtab_fini(&t);
}

static void the_empty_string_is_a_key(void **st)
{
	(void)st;
	char *s[] = { "", "a" };
	struct keys k = { .s = s, .n = 2 };
	struct strtab t;
	strtab_init(&t, key_of, &k);
	assert_int_equal(strtab_add(&t, "a", 1, 1), 0);
	assert_int_equal(find(&t, ""), -ENOENT);
	assert_int_equal(strtab_add(&t, "", 0, 0), 0);
	assert_int_equal(find(&t, ""), 0);
	assert_int_equal(strtab_find(&t, NULL, 0), 0);
	assert_int_equal(strtab_add(&t, NULL, 0, 1), -EEXIST);
	assert_int_equal(find(&t, "a"), 1);
	strtab_fini(&t);
}

/* Pairs whose FNV-1a hashes are equal (the finaliser is a bijection, so
 * the table's whole 32-bit hashes are too): only the text tells them
 * apart. */
static void keys_with_equal_hashes_are_told_apart(void **st)
{
	(void)st;
	char *s[] = { "costarring", "liquid",	 "declinate",
		      "macallums",  "altarages", "zinkes" };
	struct keys k = { .s = s, .n = 6 };
	struct strtab t;
	strtab_init(&t, key_of, &k);
	for (uint32_t i = 0; i < 6; i++) {
		assert_int_equal(strtab_add(&t, s[i], strlen(s[i]), i), 0);
		assert_int_equal(find(&t, s[i]), (int)i);
	}
	for (int i = 0; i < 6; i++)
		assert_int_equal(find(&t, s[i]), i);
	/* the second of a pair is reached past the first: equal hashes
	 * are compared by text, other hashes are not */
	k.calls = 0;
	assert_int_equal(find(&t, "liquid"), 1);
	assert_int_equal(k.calls, 2);
	k.calls = 0;
	assert_int_equal(find(&t, "zinke"), -ENOENT);
	assert_int_equal(k.calls, 0);
	strtab_fini(&t);
}

/* 20000 keys added one by one (doubling from 16 to 65536 slots), then
 * each found, and as many absent ones not: slots collide all along. */
static void the_table_grows_and_keeps_every_key(void **st)
{
	(void)st;
	enum { N = 20000 };
	struct keys k = { .s = calloc(N, sizeof(char *)), .n = N };
	assert_non_null(k.s);
	for (size_t i = 0; i < N; i++) {
		char b[32];
		snprintf(b, sizeof(b), "w%zu", i);
		k.s[i] = strdup(b);
		assert_non_null(k.s[i]);
	}
	struct strtab t;
	strtab_init(&t, key_of, &k);
	for (uint32_t i = 0; i < N; i++) {
		assert_int_equal(strtab_add(&t, k.s[i], strlen(k.s[i]), i), 0);
		/* at most half full */
		assert_true(2 * t.n <= t.mask + 1);
	}
	assert_int_equal(t.mask + 1, 65536);
	assert_int_equal(strtab_mem_bytes(&t), 65536 * 8);
	for (int i = 0; i < N; i++)
		assert_int_equal(find(&t, k.s[i]), i);
	for (size_t i = 0; i < N; i++) {
		char b[32];
		snprintf(b, sizeof(b), "x%zu", i);
		assert_int_equal(find(&t, b), -ENOENT);
	}
	strtab_fini(&t);
	/* reserved first: one allocation, the same size */
	strtab_init(&t, key_of, &k);
	assert_int_equal(strtab_reserve(&t, N), 0);
	uint32_t *slots = t.slot;
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(strtab_add(&t, k.s[i], strlen(k.s[i]), i), 0);
	assert_ptr_equal(t.slot, slots);
	assert_int_equal(t.mask + 1, 65536);
	assert_int_equal(find(&t, "w19999"), 19999);
	strtab_fini(&t);
	for (size_t i = 0; i < N; i++)
		free(k.s[i]);
	free(k.s);
}

static void bad_arguments_are_refused(void **st)
{
	(void)st;
	char *s[] = { "a" };
	struct keys k = { .s = s, .n = 1 };
	struct strtab t;
	strtab_init(&t, key_of, &k);
	assert_int_equal(strtab_add(&t, NULL, 1, 0), -EINVAL);
	assert_int_equal(strtab_add(&t, "a", 1, STRTAB_ID_MAX + 1u), -EINVAL);
	assert_int_equal(strtab_reserve(&t, (size_t)STRTAB_KEYS_MAX + 1),
			 -E2BIG);
	assert_int_equal(t.n, 0);
	assert_null(t.slot);
	assert_int_equal(strtab_find(NULL, "a", 1), -ENOENT);
	assert_int_equal(strtab_add(&t, "a", 1, 0), 0);
	assert_int_equal(strtab_find(&t, NULL, 1), -ENOENT);
	strtab_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keys_are_found_by_their_bytes),
		cmocka_unit_test(a_repeated_key_keeps_its_first_id),
		cmocka_unit_test(the_empty_string_is_a_key),
		cmocka_unit_test(keys_with_equal_hashes_are_told_apart),
		cmocka_unit_test(the_table_grows_and_keeps_every_key),
		cmocka_unit_test(bad_arguments_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
