/* Fuzz target: flow templates. The input's first line holds variable
 * values ("name=value;..."), the rest is the template. Whatever compiles
 * must list valid names at "{{" offsets and render in every context
 * within the output cap; whatever fails must say where. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"
#include "flow/tmpl.h"
#include "flow/vars.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

/* "a=1;b.c=x" -> variables (bad names are skipped by flow_vars_set). */
static void set_vars(struct flow_vars *v, const char *s, size_t n)
{
	char *copy = strndup(s, n);
	if (!copy)
		return;
	for (char *save = NULL, *kv = strtok_r(copy, ";", &save); kv;
	     kv = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq)
			continue;
		*eq = '\0';
		flow_vars_set(v, kv, eq + 1);
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *nl = memchr(s, '\n', size);
	size_t head = nl ? (size_t)(nl - s) : 0;
	const char *text = nl ? nl + 1 : s;
	size_t len = nl ? size - head - 1 : size;

	struct flow_tmpl *t = NULL;
	char err[128];
	size_t off = (size_t)-1;
	int rc = flow_tmpl_compile(text, len, &t, &off, err, sizeof(err));
	if (rc) {
		check(rc == -EINVAL || rc == -ENOMEM);
		check(t == NULL);
		if (rc == -EINVAL) {
			check(off + 1 < len && text[off] == '{' &&
			      text[off + 1] == '{');
			check(err[0] != '\0');
		}
		return 0;
	}
	check(t != NULL);
	check(flow_tmpl_is_literal(t) == (flow_tmpl_nvars(t) == 0));
	for (size_t i = 0; i < flow_tmpl_nvars(t); i++) {
		size_t o = 0;
		const char *name = flow_tmpl_var(t, i, &o);
		check(name && flow_var_name_valid(name, strlen(name)));
		check(o + 1 < len && text[o] == '{' && text[o + 1] == '{');
	}
	struct flow_vars *v = NULL;
	if (flow_vars_create(&v)) {
		flow_tmpl_free(t);
		return 0;
	}
	set_vars(v, s, head);
	static const enum flow_tmpl_ctx ctxs[] = { TMPL_CTX_TEXT, TMPL_CTX_URL,
						   TMPL_CTX_HEADER,
						   TMPL_CTX_JSON };
	for (size_t c = 0; c < sizeof(ctxs) / sizeof(ctxs[0]); c++) {
		struct strbuf out;
		strbuf_init(&out, 1u << 16);
		rc = flow_tmpl_render(t, ctxs[c], v, &out);
		check(rc == 0 || rc == -E2BIG || rc == -ENOMEM);
		check(out.len <= 1u << 16);
		if (rc == 0 && ctxs[c] == TMPL_CTX_HEADER) {
			/* Values lose CR/LF; only literals may keep them. */
			size_t ncr = 0, lcr = 0;
			for (size_t i = 0; i < out.len; i++)
				ncr += out.buf[i] == '\r' || out.buf[i] == '\n';
			for (size_t i = 0; i < len; i++)
				lcr += text[i] == '\r' || text[i] == '\n';
			check(ncr <= lcr);
		}
		strbuf_fini(&out);
	}
	flow_vars_destroy(v);
	flow_tmpl_free(t);
	return 0;
}
