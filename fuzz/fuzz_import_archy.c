/* libFuzzer target: the archy importer (flow/import.h) over arbitrary bytes,
 * strict and lenient. Whatever it accepts must be YAML that parses (the
 * loader's own checks may still refuse it); then the loader runs on it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/ydoc.h"
#include "core/log.h"
#include "core/strbuf.h"
#include "flow/flow.h"
#include "flow/import.h"

static const char values[] = "company: Example\nqueue: Support\n"
			     "processCustomerRequest: http://127.0.0.1:1/x\n";

static void one(const uint8_t *data, size_t size, bool lenient)
{
	struct flow_import_opts o = { .values = values,
				      .values_len = sizeof(values) - 1,
				      .lenient = lenient };
	struct flow_errors errs = { 0 };
	struct strbuf out;
	strbuf_init(&out, FLOW_MAX_FILE_BYTES);
	if (flow_import(FLOW_IMPORT_ARCHY, "fuzz", (const char *)data, size, &o,
			&out, &errs) == 0) {
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	if (!quiet) {
		log_setup(LOG_LVL_ERROR, LOG_FMT_KV, 2);
		quiet = true;
	}
	one(data, size, false);
	one(data, size, true);
	return 0;
}
