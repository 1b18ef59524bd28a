/* Reading a whole file into memory with a size cap: flows, imported flows,
 * NLU data sets, models and embeddings. Blocking: start-up, reload workers
 * and CLIs, never a loop. */
#ifndef VG_CORE_FILE_H
#define VG_CORE_FILE_H
#include <stddef.h>

/* Read the regular file at path (at most max bytes) into *bufp (malloc'd,
 * NUL-terminated; the caller frees) and its length into *lenp. Returns 0,
 * -EINVAL (bad argument, not a regular file), -E2BIG (larger than max,
 * also when it grows past max while being read), -ENOMEM, or -errno from
 * open/read. On error nothing is returned. */
int file_read_all(const char *path, size_t max, char **bufp, size_t *lenp);
#endif
