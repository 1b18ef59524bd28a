/* Named NLU models for flows' classify "model:": <dir>/<name>.vxn files,
 * loaded once (blocking, at start-up or on a worker) and then found by name
 * from any thread without waiting. "default" falls back to the model built
 * with voxgate (BANKING77, <build>/models/default.vxn) when dir has none. */
#ifndef VG_ENGINES_NLU_REGISTRY_H
#define VG_ENGINES_NLU_REGISTRY_H

#include <stddef.h>

struct nlu_model;
struct nlu_registry;

/* Model names: 1..NLU_REGISTRY_NAME_MAX of [A-Za-z0-9_-] (no paths). */
#define NLU_REGISTRY_NAME_MAX 64
/* Models one registry holds at most (each can be tens of MB). */
#define NLU_REGISTRY_MODELS_MAX 32

/* The directory of the model built at build time (VG_NLU_MODELS_DIR; may
 * not exist: builds without VG_BUILD_NLU_MODEL have no model). */
const char *nlu_registry_builtin_dir(void);

/* A registry over dir (copied; need not exist yet). "default" not found in
 * dir is looked up in nlu_registry_builtin_dir(). Returns 0, -EINVAL (dir
 * NULL, empty or too long), -ENOMEM; *rp set only on success. */
int nlu_registry_create(struct nlu_registry **rp, const char *dir);
/* As nlu_registry_create() with the fallback directory of "default" given
 * (NULL: none). For tests and tools. */
int nlu_registry_create_dirs(struct nlu_registry **rp, const char *dir,
			     const char *builtin_dir);
/* Free the registry and every model in it. No find may be running and no
 * borrowed model may be used after this. NULL is a no-op. */
void nlu_registry_destroy(struct nlu_registry *r);

/* Load model name from <dir>/<name>.vxn (nlu_model_load). Blocking (reads
 * and checks the file): never on a media loop. Loading a name that is
 * already loaded does nothing and returns 0 (the model stays the same
 * object until destroy; a changed file is read on the next start). Safe
 * against concurrent loads and finds. On failure a message for the user
 * (path and reason) goes to err (may be NULL; errlen bytes). Returns 0,
 * -EINVAL (bad name), -ENOENT (no such file), -EBADMSG / -EPROTO (not a
 * usable model file), -EFBIG, -ENOSPC (NLU_REGISTRY_MODELS_MAX loaded),
 * -ENOMEM, other -errno from reading. */
int nlu_registry_load(struct nlu_registry *r, const char *name, char *err,
		      size_t errlen);

/* The loaded model called name (borrowed, valid until destroy; models are
 * immutable: classify from any thread), or NULL when it is not loaded (or
 * r/name is NULL). Never blocks, takes no lock; any thread. */
struct nlu_model *nlu_registry_find(const struct nlu_registry *r,
				    const char *name);

/* Number of models loaded (diagnostics). Any thread. */
size_t nlu_registry_count(const struct nlu_registry *r);
#endif
