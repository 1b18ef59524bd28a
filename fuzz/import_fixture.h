/* The body of the flow importer fuzz targets (fuzz_import_connect.c,
 * fuzz_import_genesys.c, fuzz_import_archy.c): one importer over arbitrary
 * bytes, strict and lenient. Whatever it accepts must be YAML that parses
 * (the loader's own checks may still refuse it); then the loader runs on
 * it. */
#ifndef VG_FUZZ_IMPORT_FIXTURE_H
#define VG_FUZZ_IMPORT_FIXTURE_H
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/ydoc.h"
#include "core/log.h"
#include "core/strbuf.h"
#include "flow/flow.h"
#include "flow/import.h"

static const char fuzz_import_values[] =
	"company: Example\nqueue: Support\n"
	"processCustomerRequest: http://127.0.0.1:1/x\n";

static void fuzz_import_one(enum flow_import_from from, const uint8_t *data,
			    size_t size, bool lenient)
{
	struct flow_import_opts o = {
		.values = fuzz_import_values,
		.values_len = sizeof(fuzz_import_values) - 1,
		.lenient = lenient,
	};
	struct flow_errors errs = { 0 };
	struct strbuf out;
	strbuf_init(&out, FLOW_MAX_FILE_BYTES);
	if (flow_import(from, "fuzz", (const char *)data, size, &o, &out,
			&errs) == 0) {
		struct ydoc *doc = NULL;
		char msg[256];
		if (ydoc_parse("out", strbuf_str(&out), out.len, &doc, msg,
			       sizeof(msg)))
			abort(); /* the importer wrote broken YAML */
		ydoc_destroy(doc);
		struct flow *f = NULL;
		if (!flow_load_buf("out", strbuf_str(&out), out.len, &f, &errs))
			flow_deref(f);
	}
	strbuf_fini(&out);
}

/* One fuzz input through importer from, strict then lenient. */
static int fuzz_import(enum flow_import_from from, const uint8_t *data,
		       size_t size)
{
	static bool quiet;
	if (!quiet) {
		log_setup(LOG_LVL_ERROR, LOG_FMT_KV, 2);
		quiet = true;
	}
	fuzz_import_one(from, data, size, false);
	fuzz_import_one(from, data, size, true);
	return 0;
}
#endif
