/* An index of strings the caller keeps: open addressing (linear probing,
 * at most half full, doubled as keys are added) over (id, hash) pairs. The
 * table stores ids only and asks key(ctx, id) for an id's text when a hash
 * matches, so the strings stay in the caller's arrays (a word list, a
 * sentence table). */
#ifndef VG_CORE_STRTAB_H
#define VG_CORE_STRTAB_H

#include <stddef.h>
#include <stdint.h>

/* Hard caps: keys in one table (2^27 slots, 1 GiB), and the largest id. */
#define STRTAB_KEYS_MAX (1u << 26)
#define STRTAB_ID_MAX 0x7fffffffu

/* The NUL-terminated text of id (borrowed; it must not change while the id
 * is in the table). Called from strtab_add() and strtab_find() only. */
typedef const char *strtab_key_fn(const void *ctx, uint32_t id);

struct strtab {
	uint32_t *slot; /* 2 per slot: id + 1 (0: empty), the key's hash */
	size_t mask;	/* slots - 1 (no slots while slot is NULL) */
	size_t n;	/* keys */
	strtab_key_fn *key;
	const void *ctx;
};

/* An empty table (allocates nothing) over key(ctx, id); ctx borrowed. */
static inline void strtab_init(struct strtab *t, strtab_key_fn *key,
			       const void *ctx)
{
	*t = (struct strtab){ .key = key, .ctx = ctx };
}

/* Frees the slots; t is empty again (same key and ctx). */
void strtab_fini(struct strtab *t);

/* Makes room for n keys in all, so that adding them does not grow the
 * table. 0, -E2BIG (over STRTAB_KEYS_MAX), -ENOMEM (t unchanged). */
int strtab_reserve(struct strtab *t, size_t n);

/* Adds id under the len bytes at s (the same bytes key(ctx, id) returns; a
 * key holds no NUL, "" is a key). 0; -EEXIST when a key with those bytes
 * is there (the table keeps its id); -EINVAL for a NULL s with len or an
 * id over STRTAB_ID_MAX; -E2BIG, -ENOMEM (t unchanged). */
int strtab_add(struct strtab *t, const char *s, size_t len, uint32_t id);

/* The id of the len bytes at s, or -ENOENT. Reads t only: any thread, as
 * long as no strtab_add() runs. */
int strtab_find(const struct strtab *t, const char *s, size_t len);

/* Bytes the slots take (memory figures). */
size_t strtab_mem_bytes(const struct strtab *t);

#endif
