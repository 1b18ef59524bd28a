/* bench/bench_fig.h: the figure line bench/run.sh collects from every
 * benchmark (see the header of bench/run.sh):
 *   BENCH <name> <value> <unit> [target=<op><value>]
 * NAME is made a token: every character other than [A-Za-z0-9.] becomes
 * '_'. OP is "<=", ">=", "<", ">" or NULL (no target). Header-only: each
 * bench_*.c is its own program. */
#ifndef VG_BENCH_FIG_H
#define VG_BENCH_FIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

static inline void bench_fig(const char *prefix, const char *name, double v,
			     const char *unit, const char *op, double target)
{
	char tok[96];
	size_t o = 0;

	for (const char *s = name; *s && o + 1 < sizeof(tok); s++) {
		char c = *s;
		int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '.';
		if (!keep && o > 0 && tok[o - 1] == '_')
			continue; /* one '_' per run of others */
		tok[o++] = keep ? c : '_';
	}
	while (o > 0 && tok[o - 1] == '_')
		o--;
	tok[o] = '\0';
	/* a line of its own even when stdout is a pipe and stderr shares it */
	fflush(stdout);
	if (op)
		printf("BENCH %s.%s %.6g %s target=%s%.6g\n", prefix, tok, v,
		       unit, op, target);
	else
		printf("BENCH %s.%s %.6g %s\n", prefix, tok, v, unit);
	fflush(stdout);
}

/* qsort comparator for uint32_t, and the q-quantile (0..1, nearest rank)
 * of n sorted values (0 when n is 0). */
static inline int bench_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static inline double bench_pct_u32(const uint32_t *v, size_t n, double q)
{
	if (!n)
		return 0;
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

#endif
