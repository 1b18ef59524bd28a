/* libFuzzer target for config_load_buf: any input must load or fail with
 * errors, never crash or leak; what loads must print and load back the same. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

static struct vg_config cfg, again;
static struct config_errors errs;

static char *print_config(const struct vg_config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	if (config_print(c, f))
		__builtin_trap();
	fclose(f);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *first, *second;

	if (config_load_buf("fuzz.yaml", (const char *)data, size, &cfg,
			    &errs)) {
		/* A failed load always says why. */
		if (errs.count == 0)
			__builtin_trap();
		return 0;
	}
	if (errs.count)
		__builtin_trap();
	(void)config_route_find(&cfg, "8005551234");

	first = print_config(&cfg);
	if (first) {
		if (config_load_buf("printed.yaml", first, strlen(first),
				    &again, &errs))
			__builtin_trap();
		second = print_config(&again);
		if (second && strcmp(first, second))
			__builtin_trap();
		free(second);
		config_free(&again);
	}
	free(first);
	config_free(&cfg);
	return 0;
}
