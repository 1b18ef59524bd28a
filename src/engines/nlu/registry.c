/* The NLU model registry (see registry.h). Loaded models form a list that
 * only grows until destroy: a new entry is complete before it is published
 * with one release store of the head, so finds walk it with no lock while
 * loaders (serialized by a mutex) prepend. */
#include "engines/nlu/registry.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engines/nlu/classifier.h"

#ifndef VG_NLU_MODELS_DIR
#define VG_NLU_MODELS_DIR ""
#endif

#define DEFAULT_NAME "default"
#define MODEL_EXT ".vxn"

struct entry {
	struct entry *next; /* immutable once published */
	struct nlu_model *model;
	char name[NLU_REGISTRY_NAME_MAX + 1];
};

struct nlu_registry {
	char *dir;
	char *builtin_dir; /* NULL: none */
	_Atomic(struct entry *) head;
	atomic_size_t count;
	pthread_mutex_t load_mtx; /* one loader at a time */
};

const char *nlu_registry_builtin_dir(void)
{
	return VG_NLU_MODELS_DIR;
}

static bool dir_ok(const char *dir)
{
	/* Room for "/<name>.vxn" within PATH_MAX. */
	return dir && dir[0] &&
	       strlen(dir) + 1 + NLU_REGISTRY_NAME_MAX + sizeof(MODEL_EXT) <=
		       PATH_MAX;
}

int nlu_registry_create_dirs(struct nlu_registry **rp, const char *dir,
			     const char *builtin_dir)
{
	if (!rp || !dir_ok(dir) ||
	    (builtin_dir && builtin_dir[0] && !dir_ok(builtin_dir)))
		return -EINVAL;
	struct nlu_registry *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->dir = strdup(dir);
	if (builtin_dir && builtin_dir[0])
		r->builtin_dir = strdup(builtin_dir);
	if (!r->dir || (builtin_dir && builtin_dir[0] && !r->builtin_dir)) {
		free(r->dir);
		free(r->builtin_dir);
		free(r);
		return -ENOMEM;
	}
	atomic_init(&r->head, NULL);
	atomic_init(&r->count, 0);
	pthread_mutex_init(&r->load_mtx, NULL);
	*rp = r;
	return 0;
}

int nlu_registry_create(struct nlu_registry **rp, const char *dir)
{
	return nlu_registry_create_dirs(rp, dir, nlu_registry_builtin_dir());
}

void nlu_registry_destroy(struct nlu_registry *r)
{
	if (!r)
		return;
	struct entry *e = atomic_load(&r->head);
	while (e) {
		struct entry *next = e->next;
		nlu_model_destroy(e->model);
		free(e);
		e = next;
	}
	pthread_mutex_destroy(&r->load_mtx);
	free(r->dir);
	free(r->builtin_dir);
	free(r);
}

static bool name_ok(const char *name)
{
	if (!name)
		return false;
	size_t n = 0;
	for (const char *p = name; *p; p++, n++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-';
		if (!ok || n >= NLU_REGISTRY_NAME_MAX)
			return false;
	}
	return n > 0;
}

struct nlu_model *nlu_registry_find(const struct nlu_registry *r,
				    const char *name)
{
	if (!r || !name)
		return NULL;
	/* Acquire pairs with the loader's release: the entry and the model
	 * behind it are fully written before they are visible here. */
	for (struct entry *e = atomic_load_explicit(
		     &((struct nlu_registry *)r)->head, memory_order_acquire);
	     e; e = e->next)
		if (!strcmp(e->name, name))
			return e->model;
	return NULL;
}

size_t nlu_registry_count(const struct nlu_registry *r)
{
	return r ? atomic_load(&((struct nlu_registry *)r)->count) : 0;
}

static void msg(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void msg(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* The file for name: <dir>/<name>.vxn, or for "default" missing there, the
 * built-in one. */
static void model_path(const struct nlu_registry *r, const char *name,
		       char path[PATH_MAX])
{
	snprintf(path, PATH_MAX, "%s/%s" MODEL_EXT, r->dir, name);
	if (r->builtin_dir && !strcmp(name, DEFAULT_NAME) &&
	    access(path, F_OK) != 0)
		snprintf(path, PATH_MAX, "%s/%s" MODEL_EXT, r->builtin_dir,
			 name);
}

int nlu_registry_load(struct nlu_registry *r, const char *name, char *err,
		      size_t errlen)
{
	if (!r)
		return -EINVAL;
	if (!name_ok(name)) {
		msg(err, errlen,
		    "bad NLU model name '%.80s': use 1-%d characters of "
		    "A-Z a-z 0-9 _ -",
		    name ? name : "(null)", NLU_REGISTRY_NAME_MAX);
		return -EINVAL;
	}
	if (nlu_registry_find(r, name))
		return 0;
	if (atomic_load(&r->count) >= NLU_REGISTRY_MODELS_MAX) {
		msg(err, errlen,
		    "NLU model '%s': at most %d models can be "
		    "loaded",
		    name, NLU_REGISTRY_MODELS_MAX);
		return -ENOSPC;
	}
	char path[PATH_MAX];
	model_path(r, name, path);

	/* Read outside the lock: finds never wait, other loads do not
	 * queue behind a big file. */
	struct nlu_model *m = NULL;
	char why[256] = "";
	int rc = nlu_model_load(path, &m, why, sizeof(why));
	if (rc) {
		if (rc == -ENOENT)
			msg(err, errlen, "NLU model '%s': %s: no such file%s",
			    name, path,
			    strcmp(name, DEFAULT_NAME)
				    ? ""
				    : " (build with -DVG_BUILD_NLU_MODEL=ON, "
				      "or voxgate nlu train -o it)");
		else
			msg(err, errlen, "NLU model '%s': %s: %s", name, path,
			    why[0] ? why : strerror(-rc));
		return rc;
	}
	struct entry *e = calloc(1, sizeof(*e));
	if (!e) {
		nlu_model_destroy(m);
		msg(err, errlen, "NLU model '%s': out of memory", name);
		return -ENOMEM;
	}
	e->model = m;
	snprintf(e->name, sizeof(e->name), "%s", name);

	pthread_mutex_lock(&r->load_mtx);
	rc = 0;
	if (nlu_registry_find(r, name)) {
		/* Another thread loaded it meanwhile: keep theirs, it may
		 * already be in use. */
		nlu_model_destroy(e->model);
		free(e);
	} else if (atomic_load(&r->count) >= NLU_REGISTRY_MODELS_MAX) {
		nlu_model_destroy(e->model);
		free(e);
		msg(err, errlen,
		    "NLU model '%s': at most %d models can be "
		    "loaded",
		    name, NLU_REGISTRY_MODELS_MAX);
		rc = -ENOSPC;
	} else {
		e->next = atomic_load_explicit(&r->head, memory_order_relaxed);
		atomic_store_explicit(&r->head, e, memory_order_release);
		atomic_fetch_add(&r->count, 1);
	}
	pthread_mutex_unlock(&r->load_mtx);
	return rc;
}
