/* A call's flow variables: a bounded, name-sorted array of (name, value)
 * pairs. Sorted so lookups are a binary search and foreach visits names in
 * order (deterministic snapshots); at most FLOW_VARS_MAX entries. */
#include "flow/vars.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flow/tmpl.h"

struct flow_var {
	char *name;
	char *value; /* NUL-terminated, at most FLOW_VAR_VALUE_MAX bytes */
	size_t cap;  /* allocated bytes of value */
};

struct flow_vars {
	struct flow_var *items; /* sorted by strcmp(name) */
	size_t n, cap;
};

int flow_vars_create(struct flow_vars **vp)
{
	struct flow_vars *v;

	if (!vp)
		return -EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	*vp = v;
	return 0;
}

void flow_vars_destroy(struct flow_vars *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		free(v->items[i].name);
		free(v->items[i].value);
	}
	free(v->items);
	free(v);
}

/* Same rule as flow_var_name_valid() (tmpl.h), kept here so the variable
 * store stands alone: segments of [A-Za-z_][A-Za-z0-9_]* or all digits,
 * joined by '.', 1..FLOW_VAR_NAME_MAX bytes. */
static bool name_ok(const char *s, size_t len)
{
	size_t seg = 0;
	bool digits = true;

	if (len == 0 || len > FLOW_VAR_NAME_MAX)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? s[i] : '.';

		if (c == '.') {
			if (seg == 0)
				return false;
			seg = 0;
			digits = true;
			continue;
		}
		if (c >= '0' && c <= '9') {
			if (seg == 0)
				digits = true;
		} else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			   c == '_') {
			if (seg > 0 && digits)
				return false; /* "0abc" */
			digits = false;
		} else {
			return false;
		}
		seg++;
	}
	return true;
}

/* Index of name, or -(insertion point) - 1. */
static long find(const struct flow_vars *v, const char *name)
{
	size_t lo = 0, hi = v->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(v->items[mid].name, name);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

/* Longest prefix of value[0..len) of at most FLOW_VAR_VALUE_MAX bytes that
 * does not split a UTF-8 sequence (and stops at an embedded NUL). */
static size_t cut_len(const char *value, size_t len)
{
	const char *nul = memchr(value, '\0', len);

	if (nul)
		len = (size_t)(nul - value);
	if (len <= FLOW_VAR_VALUE_MAX)
		return len;
	len = FLOW_VAR_VALUE_MAX;
	/* value[len] is the first byte dropped: a continuation byte means a
	 * sequence straddles the cut; drop its lead bytes too. */
	while (len > 0 && ((unsigned char)value[len] & 0xc0) == 0x80)
		len--;
	return len;
}

static int store_value(struct flow_var *e, const char *value, size_t len)
{
	if (!e->value || len + 1 > e->cap) {
		size_t cap = len + 1 < 32 ? 32 : len + 1;
		char *p = realloc(e->value, cap);

		if (!p)
			return -ENOMEM;
		e->value = p;
		e->cap = cap;
	}
	memcpy(e->value, value, len);
	e->value[len] = '\0';
	return 0;
}

int flow_vars_setn(struct flow_vars *v, const char *name, const char *value,
		   size_t len)
{
	struct flow_var e = { 0 };
	long at;
	size_t pos;
	int err;

	if (!v || !name || !name_ok(name, strlen(name)))
		return -EINVAL;
	if (!value) {
		value = "";
		len = 0;
	}
	len = cut_len(value, len);
	at = find(v, name);
	if (at >= 0)
		return store_value(&v->items[at], value, len);

	if (v->n >= FLOW_VARS_MAX)
		return -ENOSPC;
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 32;
		struct flow_var *p;

		if (cap > FLOW_VARS_MAX)
			cap = FLOW_VARS_MAX;
		p = realloc(v->items, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		v->items = p;
		v->cap = cap;
	}
	e.name = strdup(name);
	if (!e.name)
		return -ENOMEM;
	err = store_value(&e, value, len);
	if (err) {
		free(e.name);
		return err;
	}
	pos = (size_t)(-at - 1);
	memmove(&v->items[pos + 1], &v->items[pos],
		(v->n - pos) * sizeof(v->items[0]));
	v->items[pos] = e;
	v->n++;
	return 0;
}

int flow_vars_set(struct flow_vars *v, const char *name, const char *value)
{
	return flow_vars_setn(v, name, value, value ? strlen(value) : 0);
}

const char *flow_vars_get(const struct flow_vars *v, const char *name)
{
	long at;

	if (!v || !name)
		return NULL;
	at = find(v, name);
	return at >= 0 ? v->items[at].value : NULL;
}

void flow_vars_unset_prefix(struct flow_vars *v, const char *name)
{
	size_t nlen, out = 0;

	if (!v || !name)
		return;
	nlen = strlen(name);
	for (size_t i = 0; i < v->n; i++) {
		const char *s = v->items[i].name;
		bool hit = strncmp(s, name, nlen) == 0 &&
			   (s[nlen] == '\0' || s[nlen] == '.');

		if (hit) {
			free(v->items[i].name);
			free(v->items[i].value);
			continue;
		}
		v->items[out++] = v->items[i];
	}
	v->n = out;
}

size_t flow_vars_count(const struct flow_vars *v)
{
	return v ? v->n : 0;
}

int flow_vars_foreach(const struct flow_vars *v,
		      int (*fn)(const char *name, const char *value, void *arg),
		      void *arg)
{
	if (!v || !fn)
		return 0;
	for (size_t i = 0; i < v->n; i++) {
		int rc = fn(v->items[i].name, v->items[i].value, arg);

		if (rc)
			return rc;
	}
	return 0;
}
