/* libFuzzer target for the Genesys Bot Connector turn request parser
 * (control/genesys/gbmsg.h) and the reply printer fed with what it
 * parsed: no crash, no read past size, every accepted request within its
 * caps, and every printed reply valid JSON that reads back the same. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "control/genesys/gbmsg.h"
#include "core/strbuf.h"

static void check_reply(const struct gbot_req *r)
{
	struct gbot_reply rep = { .state = GBOT_COMPLETE,
				  .intent = r->bot_id,
				  .confidence = 0.5f };
	(void)gbot_reply_msg(&rep, r->text);
	for (unsigned i = 0; i < r->nparams; i++) {
		(void)gbot_reply_param(&rep, r->params[i].name,
				       r->params[i].value);
		(void)gbot_reply_entity(&rep, r->params[i].name,
					r->params[i].value);
	}
	struct strbuf sb;
	strbuf_init(&sb, 1 << 20);
	if (gbot_reply_print(&rep, &sb))
		abort();
	cJSON *o = cJSON_Parse(strbuf_str(&sb));
	const cJSON *msgs =
		cJSON_GetObjectItemCaseSensitive(o, "replymessages");
	const cJSON *m0 = cJSON_GetArrayItem(msgs, 0);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(m0, "text");
	if (!o || (r->text[0] &&
		   (!cJSON_IsString(t) || strcmp(t->valuestring, r->text))))
		abort();
	cJSON_Delete(o);
	strbuf_fini(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	struct gbot_req *r = malloc(sizeof(*r));
	if (!buf || !r) {
		free(buf);
		free(r);
		return 0;
	}
	memcpy(buf, data, size);
	const char *why = NULL;
	int err = gbot_req_parse(r, buf, size, &why);
	if (err == 0) {
		if (!r->bot_id[0] || !r->session_id[0] || why ||
		    strlen(r->text) > GBOT_TEXT_MAX ||
		    r->nparams > GBOT_PARAMS_MAX ||
		    r->timeout_min > GBOT_TIMEOUT_MAX_MIN)
			abort();
		check_reply(r);
	} else if ((err != -EBADMSG && err != -E2BIG) || !why || r->bot_id[0] ||
		   r->nparams) {
		abort();
	}
	free(r);
	free(buf);
	return 0;
}
