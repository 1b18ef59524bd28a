/* libFuzzer target for the TwiML writer's escaping (control/twilio/twiml.h):
 * arbitrary variable text in an attribute and in character data must give
 * a well-formed document of exactly the expected shape. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/twilio/twiml.h"
#include "twiml_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* first half: attribute value, second half: text (NULs cut them) */
	char *a = calloc(1, size / 2 + 1);
	char *b = calloc(1, size - size / 2 + 1);
	if (!a || !b)
		abort();
	memcpy(a, data, size / 2);
	memcpy(b, data + size / 2, size - size / 2);

	struct twiml t;
	twiml_init(&t);
	const char *attrs[] = { "voice", a, "language", "en-US", NULL };
	twiml_begin(&t, "Gather", attrs);
	twiml_elem(&t, "Say", attrs, b);
	const char *doc;
	size_t len;
	if (twiml_finish(&t, &doc, &len) == 0) {
		static const char head[] =
			"<?xml version=\"1.0\" encoding="
			"\"UTF-8\"?><Response><Gather voice=\"";
		if (strncmp(doc, head, sizeof(head) - 1))
			abort();
		const char *p = doc + sizeof(head) - 1;
		const char *q = strchr(p, '"');
		if (!q || !twiml_chardata_ok(p, (size_t)(q - p)))
			abort();
		p = strstr(q, "<Say voice=\"");
		if (!p)
			abort();
		p = strstr(p, "\">");
		if (!p)
			abort();
		p += 2;
		q = strstr(p, "</Say></Gather></Response>");
		if (!q || strlen(q) != strlen("</Say></Gather></Response>") ||
		    !twiml_chardata_ok(p, (size_t)(q - p)))
			abort();
	}
	twiml_fini(&t);
	free(a);
	free(b);
	return 0;
}
