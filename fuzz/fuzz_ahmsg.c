/* libFuzzer target for the Genesys AudioHook message parser
 * (telephony/genesys/ahmsg.h): parse any text; for a parsed message check
 * the caps, choose the media, and build every server message from what it
 * carries (the builders' output must parse back as JSON). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "telephony/genesys/ahmsg.h"

static struct ahmsg m;

static void check_json(const char *out, int n)
{
	if (n < 0)
		return;
	cJSON *j = cJSON_ParseWithLength(out, (size_t)n);
	if (!j)
		abort();
	cJSON_Delete(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	int err = ahmsg_parse(buf, size, &m);
	free(buf);
	if (err)
		return 0;
	if (m.nmedia > AHMSG_MEDIA_MAX || strlen(m.id) >= AHMSG_ID_LEN ||
	    strlen(m.reason) >= AHMSG_STR_LEN || m.seq == 0)
		abort();
	static char out[AHMSG_OUT_MAX];
	struct ahmsg_hdr h = { .id = m.id,
			       .seq = m.seq,
			       .clientseq = m.serverseq };
	int i = ahmsg_media_choose(&m);
	if (i >= (int)m.nmedia)
		abort();
	if (i >= 0)
		check_json(out, ahmsg_build_opened(out, sizeof(out), &h,
						   &m.media[i], false));
	check_json(out, ahmsg_build_simple(out, sizeof(out), &h, "pong"));
	check_json(out,
		   ahmsg_build_disconnect(out, sizeof(out), &h, "completed",
					  m.reason, m.input_variables));
	check_json(out,
		   ahmsg_build_error(out, sizeof(out), &h, 400, m.message));
	struct ahmsg_transcript t = { .text = m.ani_name,
				      .offset_ms = m.position_ms,
				      .duration_ms = m.discard_ms,
				      .confidence = 0.5f,
				      .is_final = true,
				      .language = m.language };
	check_json(out, ahmsg_build_transcript(out, sizeof(out), &h, &t));
	struct ahmsg_suggestion s = { .type = "faq",
				      .question = m.dnis,
				      .answer = m.ani };
	struct ahmsg_assist a = { .text = m.conversation_id,
				  .intent = m.type_name,
				  .suggestions = &s,
				  .nsuggestions = 1 };
	check_json(out, ahmsg_build_assist(out, sizeof(out), &h, &a));
	char d[32];
	if (ahmsg_duration_print(d, sizeof(d), m.position_ms) > 0) {
		uint64_t back = 0;
		if (ahmsg_duration_parse(d, &back) || back != m.position_ms)
			abort();
	}
	ahmsg_fini(&m);
	return 0;
}
