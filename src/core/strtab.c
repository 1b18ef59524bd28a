/* Open-addressing index of caller-kept strings (see strtab.h). */
#include "core/strtab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS_MIN 16u

void strtab_fini(struct strtab *t)
{
	free(t->slot);
	strtab_init(t, t->key, t->ctx);
}

/* FNV-1a, whose low bits are weak, then the murmur3 finaliser to spread
 * them before the power-of-two mask. */
static uint32_t hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	return h ^ (h >> 16);
}

static size_t nslots(const struct strtab *t)
{
	return t->slot ? t->mask + 1 : 0;
}

/* Whether the key of id is the len bytes at s. Out of line: only equal
 * hashes get here, and the call would cost every probe its registers. */
static __attribute__((noinline)) int same(const struct strtab *t, uint32_t id,
					  const char *s, size_t len)
{
	const char *k = t->key(t->ctx, id);
	return strnlen(k, len + 1) == len && !memcmp(k, s, len);
}

/* Where the key s (hash h) is, or the empty slot where it would go. */
static inline size_t probe(const struct strtab *t, uint32_t h, const char *s,
			   size_t len)
{
	for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
		uint32_t id1 = t->slot[2 * i];
		if (!id1 ||
		    (t->slot[2 * i + 1] == h && same(t, id1 - 1, s, len)))
			return i;
	}
}

int strtab_reserve(struct strtab *t, size_t n)
{
	if (n > STRTAB_KEYS_MAX)
		return -E2BIG;
	size_t slots = SLOTS_MIN;
	while (slots < 2 * n)
		slots *= 2;
	if (slots <= nslots(t))
		return 0;
	uint32_t *s = calloc(2 * slots, sizeof(*s));
	if (!s)
		return -ENOMEM;
	/* move the pairs by their stored hashes: no key is read again */
	for (size_t i = 0; i < nslots(t); i++) {
		if (!t->slot[2 * i])
			continue;
		size_t j = t->slot[2 * i + 1] & (slots - 1);
		while (s[2 * j])
			j = (j + 1) & (slots - 1);
		s[2 * j] = t->slot[2 * i];
		s[2 * j + 1] = t->slot[2 * i + 1];
	}
	free(t->slot);
	t->slot = s;
	t->mask = slots - 1;
	return 0;
}

int strtab_add(struct strtab *t, const char *s, size_t len, uint32_t id)
{
	if ((!s && len) || id > STRTAB_ID_MAX)
		return -EINVAL;
	if (!s)
		s = "";
	/* room first (a repeated key may find the table grown): one probe */
	if (!t->slot || 2 * (t->n + 1) > t->mask + 1) {
		int err = strtab_reserve(t, t->n + 1);
		if (err)
			return err;
	}
	uint32_t h = hash(s, len);
	size_t i = probe(t, h, s, len);
	if (t->slot[2 * i])
		return -EEXIST;
	t->slot[2 * i] = id + 1;
	t->slot[2 * i + 1] = h;
	t->n++;
	return 0;
}

int strtab_find(const struct strtab *t, const char *s, size_t len)
{
	if (!t || !t->slot || (!s && len))
		return -ENOENT;
	if (!s)
		s = "";
	size_t i = probe(t, hash(s, len), s, len);
	return t->slot[2 * i] ? (int)(t->slot[2 * i] - 1) : -ENOENT;
}

size_t strtab_mem_bytes(const struct strtab *t)
{
	return t ? nslots(t) * 2 * sizeof(*t->slot) : 0;
}
