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

/* config_print shows the secret of a section (webhooks:, connect:) as
 * "***": put the real one back (YAML-escaped) so the printout can be
 * loaded again. */
static char *restore_secret(char *printed, const char *section,
			    const char *secret)
{
	static const char mark[] = "\n  secret: \"***\"\n";
	char *sec = strstr(printed, section);
	char *at = sec ? strstr(sec, mark) : NULL, *out, *o;
	size_t n = strlen(printed) + 2 * strlen(secret) + 32;

	if (!*secret || !at)
		return printed;
	out = malloc(n);
	if (!out)
		return printed;
	o = out +
	    sprintf(out, "%.*s\n  secret: \"", (int)(at - printed), printed);
	for (const char *p = secret; *p; p++) {
		if (*p == '"' || *p == '\\')
			*o++ = '\\';
		*o++ = *p;
	}
	sprintf(o, "\"\n%s", at + sizeof(mark) - 1);
	free(printed);
	return out;
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
	if (first)
		first = restore_secret(first, "webhooks:\n",
				       cfg.webhooks.secret);
	if (first)
		first = restore_secret(first, "\nconnect:\n",
				       cfg.connect.secret);
	if (first) {
		if (config_load_buf("printed.yaml", first, strlen(first),
				    &again, &errs))
			__builtin_trap();
		second = print_config(&again);
		if (second)
			second = restore_secret(second, "webhooks:\n",
						again.webhooks.secret);
		if (second)
			second = restore_secret(second, "\nconnect:\n",
						again.connect.secret);
		if (second && strcmp(first, second))
			__builtin_trap();
		free(second);
		config_free(&again);
	}
	free(first);
	config_free(&cfg);
	return 0;
}
