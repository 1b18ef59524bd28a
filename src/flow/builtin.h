/* Flows compiled into the binary: generated at build time from flows/ by
 * src/flow/embed.cmake, so the file in the repo is the only copy. */
#ifndef VG_FLOW_BUILTIN_H
#define VG_FLOW_BUILTIN_H
#include <stddef.h>

struct flow_builtin {
	const char *name;	   /* file name without .yaml */
	const char *file;	   /* path in the source tree, for messages */
	const unsigned char *data; /* the file's bytes, NUL-terminated */
	size_t len;		   /* without the NUL */
};

/* Ends with an entry whose name is NULL. */
extern const struct flow_builtin flow_builtins[];
#endif
