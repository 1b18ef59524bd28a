/* The set of loaded flows: built-ins plus a directory of *.yaml files (and
 * Connect/Genesys/Archy flows, imported in memory: *.json, *.js, *.yaml
 * with inboundCall), loaded all-or-nothing so that a bad edit never
 * replaces a working set. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/builtin.h"
#include "flow/import.h"
#include "flow/model.h"

struct flow_set {
	struct flow **flows; /* sorted by name */
	size_t n;
};

#define PATH_MAX_LEN 4096

static int cmp_flow(const void *a, const void *b)
{
	const struct flow *fa = *(struct flow *const *)a;
	const struct flow *fb = *(struct flow *const *)b;
	return strcmp(fa->name, fb->name);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_suffix(const char *name, const char *suffix)
{
	size_t len = strlen(name), k = strlen(suffix);
	return len > k && !strcmp(name + len - k, suffix);
}

/* *.yaml, and the importable *.json and *.js (not hidden files); not the
 * side files of an import (*.values.yaml, *.intents.yaml). */
static bool is_flow_file(const char *name)
{
	if (has_suffix(name, ".values.yaml") ||
	    has_suffix(name, ".intents.yaml"))
		return false;
	return name[0] != '.' &&
	       (has_suffix(name, ".yaml") || has_suffix(name, ".json") ||
		has_suffix(name, ".js"));
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The flow file names in dir, sorted so that messages come in a stable
 * order. */
static int list_dir(const char *dir, char ***namesp, size_t *np,
		    struct flow_errors *errs)
{
	DIR *d = opendir(dir);
	if (!d) {
		int err = -errno;
		flow_errors_add(errs, dir, 0, 0, "cannot open directory: %s",
				strerror(-err));
		return err;
	}
	char **names = calloc(FLOW_MAX_FLOWS, sizeof(*names));
	size_t n = 0;
	int err = names ? 0 : -ENOMEM;
	struct dirent *de;
	while (!err && (de = readdir(d))) {
		if (!is_flow_file(de->d_name))
			continue;
		if (n == FLOW_MAX_FLOWS) {
			flow_errors_add(errs, dir, 0, 0,
					"more than %u flow files",
					FLOW_MAX_FLOWS);
			err = -E2BIG;
			break;
		}
		names[n] = strdup(de->d_name);
		if (!names[n])
			err = -ENOMEM;
		else
			n++;
	}
	closedir(d);
	if (err) {
		free_names(names, n);
		return err;
	}
	qsort(names, n, sizeof(*names), cmp_str);
	*namesp = names;
	*np = n;
	return 0;
}

void flow_set_destroy(struct flow_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		flow_deref(s->flows[i]);
	free(s->flows);
	free(s);
}

static struct flow *find_in(struct flow **flows, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(flows[i]->name, name))
			return flows[i];
	}
	return NULL;
}

/* Files first, then the built-ins no file replaced. */
static int load_files(const char *dir, struct flow **flows, size_t *np,
		      struct flow_errors *errs)
{
	char **names = NULL;
	size_t nnames = 0;
	int err = list_dir(dir, &names, &nnames, errs);
	if (err)
		return err;
	int first_err = 0;
	for (size_t i = 0; i < nnames; i++) {
		char path[PATH_MAX_LEN];
		int w = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		struct flow *f = NULL;
		if (w < 0 || (size_t)w >= sizeof(path)) {
			flow_errors_add(errs, names[i], 0, 0, "path too long");
			err = -ENAMETOOLONG;
		} else {
			err = flow_import_load_file(path, &f, errs);
		}
		if (err) {
			/* Keep going: report every bad file at once. */
			if (!first_err || err == -ENOMEM)
				first_err = err;
			continue;
		}
		struct flow *dup = find_in(flows, *np, f->name);
		if (dup) {
			flow_errors_add(errs, f->file, f->name_line,
					f->name_col,
					"duplicate flow name '%s' (also in "
					"%s:%u:%u)",
					f->name, dup->file, dup->name_line,
					dup->name_col);
			flow_deref(f);
			if (!first_err)
				first_err = -EBADMSG;
			continue;
		}
		flows[(*np)++] = f;
	}
	free_names(names, nnames);
	return first_err;
}

int flow_set_load(struct flow_set **sp, const char *dir,
		  struct flow_errors *errs)
{
	if (!sp)
		return -EINVAL;
	size_t nbuiltin = 0;
	while (flow_builtins[nbuiltin].name)
		nbuiltin++;
	struct flow **flows = calloc(FLOW_MAX_FLOWS + nbuiltin, sizeof(*flows));
	size_t n = 0;
	int err = flows ? 0 : -ENOMEM;
	if (!err && dir)
		err = load_files(dir, flows, &n, errs);
	for (size_t i = 0; !err && i < nbuiltin; i++) {
		const struct flow_builtin *b = &flow_builtins[i];
		struct flow *f = NULL;
		err = flow_load_buf(b->file, (const char *)b->data, b->len, &f,
				    errs);
		if (err)
			break;
		if (find_in(flows, n, f->name)) {
			/* A file of the same name overrides the built-in. */
			flow_deref(f);
			continue;
		}
		flows[n++] = f;
	}
	/* All-or-nothing also across files: a subflow must exist. */
	if (!err)
		err = flow_check_subflows(flows, n, false, errs);
	struct flow_set *s = NULL;
	if (!err) {
		s = calloc(1, sizeof(*s));
		if (!s)
			err = -ENOMEM;
	}
	if (err) {
		for (size_t i = 0; i < n; i++)
			flow_deref(flows[i]);
		free(flows);
		return err;
	}
	qsort(flows, n, sizeof(*flows), cmp_flow);
	s->flows = flows;
	s->n = n;
	*sp = s;
	return 0;
}

static bool subflow_known(struct flow *const *flows, size_t n,
			  struct flow *const *extra, size_t nextra,
			  const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (flows[i]->name && !strcmp(flows[i]->name, name))
			return true;
	}
	for (size_t i = 0; i < nextra; i++) {
		if (extra[i] && !strcmp(extra[i]->name, name))
			return true;
	}
	return false;
}

int flow_check_subflows(struct flow *const *flows, size_t n, bool with_builtins,
			struct flow_errors *errs)
{
	if (!flows && n)
		return -EINVAL;
	struct flow *extra[16] = { NULL };
	size_t nextra = 0;
	int err = 0;
	for (const struct flow_builtin *b = flow_builtins;
	     with_builtins && b->name && nextra < 16; b++) {
		int e = flow_load_buf(b->file, (const char *)b->data, b->len,
				      &extra[nextra], NULL);
		if (e == -ENOMEM) {
			err = e;
			goto out;
		}
		if (!e)
			nextra++;
	}
	for (size_t i = 0; i < n; i++) {
		const struct flow *f = flows[i];
		for (unsigned j = 0; j < f->nnodes; j++) {
			const struct flow_node *fn = &f->nodes[j];
			if (fn->type != FLOW_NODE_SUBFLOW || !fn->subflow ||
			    subflow_known(flows, n, extra, nextra, fn->subflow))
				continue;
			flow_errors_add(errs, f->file, fn->subflow_line,
					fn->subflow_col,
					"node '%s': subflow '%s' names no "
					"loaded flow",
					fn->name, fn->subflow);
			err = -EBADMSG;
		}
	}
out:
	for (size_t i = 0; i < nextra; i++)
		flow_deref(extra[i]);
	return err;
}

struct flow *flow_set_find(const struct flow_set *s, const char *name)
{
	if (!s || !name)
		return NULL;
	return find_in(s->flows, s->n, name);
}

size_t flow_set_count(const struct flow_set *s)
{
	return s ? s->n : 0;
}

struct flow *flow_set_at(const struct flow_set *s, size_t i)
{
	return s && i < s->n ? s->flows[i] : NULL;
}
