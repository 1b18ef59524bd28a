/* Inside a compiled flow template (tmpl.c compiles, tmpl_render.c renders;
 * internal to src/flow). */
#ifndef VG_FLOW_TMPL_IMPL_H
#define VG_FLOW_TMPL_IMPL_H
#include "flow/tmpl.h"

struct tmpl_seg {
	bool var;   /* text is a variable name, else literal text */
	char *text; /* NUL-terminated copy */
	size_t len;
	size_t off; /* byte offset in the source ("{{" for a variable) */
	enum flow_tmpl_filter filter;
};

struct flow_tmpl {
	char *src; /* the source text, NUL-terminated */
	size_t len;
	struct tmpl_seg *segs;
	size_t nsegs;
	size_t *vars; /* indexes of the variable segments */
	size_t nvars;
};
#endif
