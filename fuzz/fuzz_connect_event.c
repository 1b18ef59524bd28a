/* libFuzzer target for Amazon Connect contact-flow events and answers
 * (control/connect/ccevent.h): any body either parses into an event with
 * a ContactId within its cap or is refused with -EBADMSG; whatever parses,
 * its Parameters printed as a STRING_MAP and as JSON stay within the
 * answer cap and re-parse as JSON objects (flat strings for the map). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "control/connect/ccevent.h"

static void check_answer(const cJSON *val, bool json)
{
	char *out = NULL;
	size_t len = 0;
	char why[160];
	int err = connect_answer_print(val, json, &out, &len, why, sizeof(why));
	if (err == -E2BIG || err == -ENOMEM)
		return;
	if (err || !out || len > CONNECT_ANSWER_MAX || strlen(out) != len)
		abort();
	cJSON *o = cJSON_ParseWithLength(out, len);
	if (!cJSON_IsObject(o))
		abort();
	for (const cJSON *c = o->child; !json && c; c = c->next) {
		if (!cJSON_IsString(c))
			abort();
		for (const unsigned char *p =
			     (const unsigned char *)c->valuestring;
		     *p; p++)
			if (*p < 0x20 || *p == 0x7f)
				abort();
	}
	cJSON_Delete(o);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct connect_event ev;
	char why[128];
	int err = connect_event_parse(&ev, (const char *)data, size, why,
				      sizeof(why));
	if (err) {
		if (err != -EBADMSG && err != -ENOMEM)
			abort();
		return 0;
	}
	if (!ev.contact_id || !ev.contact_id[0] ||
	    strlen(ev.contact_id) > CONNECT_ID_MAX)
		abort();
	char buf[64];
	(void)connect_event_param(&ev, "transcript", buf, sizeof(buf));
	(void)connect_event_param(&ev, "a.b.c", buf, sizeof(buf));
	if (ev.params) {
		check_answer(ev.params, false);
		check_answer(ev.params, true);
	}
	check_answer(ev.contact, false);
	connect_event_fini(&ev);
	return 0;
}
