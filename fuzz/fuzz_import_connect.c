/* libFuzzer target: the connect importer (flow/import.h) over arbitrary bytes,
 * strict and lenient (import_fixture.h). */
#include <stddef.h>
#include <stdint.h>

#include "import_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_import(FLOW_IMPORT_CONNECT, data, size);
}
