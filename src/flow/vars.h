/* A call's flow variables: name -> text value (docs/FLOWS.md "Variables").
 * Bounded: at most FLOW_VARS_MAX entries, values cut at FLOW_VAR_VALUE_MAX
 * bytes on a UTF-8 boundary. Owned by one runtime (one thread). */
#ifndef VG_FLOW_VARS_H
#define VG_FLOW_VARS_H
#include <stdbool.h>
#include <stddef.h>

#define FLOW_VARS_MAX 512
#define FLOW_VAR_VALUE_MAX 4096

struct flow_vars;

int flow_vars_create(struct flow_vars **vp);
void flow_vars_destroy(struct flow_vars *v); /* NULL-safe */

/* Set name (copied) to value (copied, may be NULL = ""). Returns 0, -EINVAL
 * (bad name), -ENOSPC (FLOW_VARS_MAX reached for a new name), -ENOMEM. */
int flow_vars_set(struct flow_vars *v, const char *name, const char *value);
int flow_vars_setn(struct flow_vars *v, const char *name, const char *value,
		   size_t len);
/* The value (borrowed until the next change of that name) or NULL if
 * unset. */
const char *flow_vars_get(const struct flow_vars *v, const char *name);
/* Remove name and every name under "name." (prefix reset before a lookup
 * or http map_all fills it). */
void flow_vars_unset_prefix(struct flow_vars *v, const char *name);
size_t flow_vars_count(const struct flow_vars *v);
/* Visit every variable in name order; stop when fn returns non-zero (that
 * value is returned). */
int flow_vars_foreach(const struct flow_vars *v,
		      int (*fn)(const char *name, const char *value, void *arg),
		      void *arg);
#endif
