/* libFuzzer target for the YAML tree: parse, then walk every node and check
 * the invariants the loaders rely on (scalar keys, unique keys, positions). */
#include <stdint.h>
#include <string.h>

#include "config/ydoc.h"

static void walk(const struct ydoc_node *n, unsigned depth)
{
	char ex[64];

	if (depth > 256 || ydoc_node_line(n) == 0 || ydoc_node_col(n) == 0)
		__builtin_trap();
	(void)ydoc_node_excerpt(n, ex, sizeof(ex));
	if (strlen(ex) >= sizeof(ex))
		__builtin_trap();
	switch (ydoc_node_type(n)) {
	case YDOC_SCALAR:
		if (!ydoc_scalar_text(n) ||
		    ydoc_scalar_text(n)[ydoc_scalar_len(n)] != '\0')
			__builtin_trap();
		(void)ydoc_scalar_is_null(n);
		break;
	case YDOC_SEQ:
		for (size_t i = 0; i < ydoc_node_count(n); i++)
			walk(ydoc_seq_item(n, i), depth + 1);
		if (ydoc_seq_item(n, ydoc_node_count(n)))
			__builtin_trap();
		break;
	case YDOC_MAP:
		for (size_t i = 0; i < ydoc_node_count(n); i++) {
			const struct ydoc_node *k = ydoc_map_key(n, i);
			const struct ydoc_node *v = ydoc_map_value(n, i);

			if (ydoc_node_type(k) != YDOC_SCALAR)
				__builtin_trap();
			/* Keys are unique, so lookup finds this very value
			 * (unless the key holds a NUL, which strlen cuts). */
			if (strlen(ydoc_scalar_text(k)) == ydoc_scalar_len(k) &&
			    ydoc_map_get(n, ydoc_scalar_text(k)) != v)
				__builtin_trap();
			walk(k, depth + 1);
			walk(v, depth + 1);
		}
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ydoc *doc = NULL;
	char err[256];

	if (ydoc_parse("fuzz.yaml", (const char *)data, size, &doc, err,
		       sizeof(err))) {
		if (doc || !err[0])
			__builtin_trap();
		return 0;
	}
	if (ydoc_root(doc))
		walk(ydoc_root(doc), 0);
	ydoc_destroy(doc);
	return 0;
}
