/* libFuzzer target for what the Audio Connector bot reads from outside
 * input (telephony/genesys/audioconnector.h): the flow named by a parsed
 * `open` (inputVariables / customConfig) and the last intent of a turns
 * array. No crash, no read past size; a flow found is 1..63 bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "telephony/genesys/ahmsg.h"
#include "telephony/genesys/audioconnector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	struct ahmsg m;
	memset(&m, 0, sizeof(m));
	if (ahmsg_parse(buf, size, &m) == 0) {
		const char *f = acbot_open_flow(&m);
		if (f && (!f[0] || strlen(f) > 63))
			abort();
	}
	ahmsg_fini(&m);
	char intent[64];
	double conf = 0;
	if (acbot_last_intent(buf, intent, sizeof(intent), &conf) &&
	    (!intent[0] || strlen(intent) >= sizeof(intent)))
		abort();
	free(buf);
	return 0;
}
