/* Parsers of what voxgate (or any server) sends to the simulator's stream
 * transports: Twilio Media Streams and Genesys AudioHook. See wsmsg.h. */
#include "sim/wsmsg.h"

#include "core/b64.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---------- JSON helpers ---------- */

/* Copy a string member into out (cut to cap). Returns 0, -ENOENT (absent
 * or null), -EBADMSG (not a string). */
static int get_str(const cJSON *obj, const char *key, char *out, size_t cap)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!it || cJSON_IsNull(it))
		return -ENOENT;
	if (!cJSON_IsString(it) || !it->valuestring)
		return -EBADMSG;
	snprintf(out, cap, "%s", it->valuestring);
	return 0;
}

/* A non-negative integer member (number, or a string of digits). */
static int get_u64(const cJSON *obj, const char *key, uint64_t *v)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!it)
		return -ENOENT;
	if (cJSON_IsNumber(it)) {
		double d = it->valuedouble;
		if (!(d >= 0) || d > 9007199254740992.0 || floor(d) != d)
			return -EBADMSG;
		*v = (uint64_t)d;
		return 0;
	}
	return -EBADMSG;
}

static cJSON *parse_object(const char *text, size_t len, int *err)
{
	if (!text || len > SIM_WSMSG_TEXT_MAX) {
		*err = text ? -EMSGSIZE : -EBADMSG;
		return NULL;
	}
	cJSON *root = cJSON_ParseWithLength(text, len);
	if (!root) {
		*err = -EBADMSG;
		return NULL;
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		*err = -EBADMSG;
		return NULL;
	}
	return root;
}

/* ---------- Twilio Media Streams ---------- */

int sim_twmsg_parse(const char *text, size_t len, struct sim_twmsg *m)
{
	int err = 0;
	memset(m, 0, sizeof(*m));
	cJSON *root = parse_object(text, len, &err);
	if (!root)
		return err;
	if (get_str(root, "event", m->event, sizeof(m->event))) {
		err = -EBADMSG;
		goto out;
	}
	int e = get_str(root, "streamSid", m->stream_sid,
			sizeof(m->stream_sid));
	if (e == -EBADMSG) {
		err = e;
		goto out;
	}
	if (!strcmp(m->event, "media")) {
		m->type = SIM_TW_MEDIA;
		const cJSON *md =
			cJSON_GetObjectItemCaseSensitive(root, "media");
		const cJSON *p =
			cJSON_GetObjectItemCaseSensitive(md, "payload");
		if (!cJSON_IsObject(md) || !cJSON_IsString(p) ||
		    !p->valuestring) {
			err = -EBADMSG;
			goto out;
		}
		int n = b64_decode(p->valuestring, strlen(p->valuestring),
				   m->payload, sizeof(m->payload));
		if (n < 0) {
			err = n;
			goto out;
		}
		m->payload_len = (size_t)n;
	} else if (!strcmp(m->event, "mark")) {
		m->type = SIM_TW_MARK;
		const cJSON *mk =
			cJSON_GetObjectItemCaseSensitive(root, "mark");
		if (!cJSON_IsObject(mk) ||
		    get_str(mk, "name", m->name, sizeof(m->name))) {
			err = -EBADMSG;
			goto out;
		}
	} else if (!strcmp(m->event, "clear")) {
		m->type = SIM_TW_CLEAR;
	} else {
		m->type = SIM_TW_UNKNOWN;
	}
out:
	cJSON_Delete(root);
	if (err)
		memset(m, 0, sizeof(*m));
	return err;
}

/* ---------- Genesys AudioHook ---------- */

static const struct {
	const char *name;
	enum sim_ah_type type;
} ah_types[] = {
	{ "opened", SIM_AH_OPENED },   { "pong", SIM_AH_PONG },
	{ "event", SIM_AH_EVENT },     { "disconnect", SIM_AH_DISCONNECT },
	{ "closed", SIM_AH_CLOSED },   { "error", SIM_AH_ERROR },
	{ "pause", SIM_AH_PAUSE },     { "resume", SIM_AH_RESUME },
	{ "updated", SIM_AH_UPDATED },
};

/* The display text of a transcript entity's data: the first
 * alternative's first interpretation (any shape error leaves it empty). */
static void transcript_text(const cJSON *data, struct sim_ahmsg *m)
{
	const cJSON *alts =
		cJSON_GetObjectItemCaseSensitive(data, "alternatives");
	const cJSON *alt =
		cJSON_IsArray(alts) ? cJSON_GetArrayItem(alts, 0) : NULL;
	const cJSON *ints =
		cJSON_GetObjectItemCaseSensitive(alt, "interpretations");
	const cJSON *in =
		cJSON_IsArray(ints) ? cJSON_GetArrayItem(ints, 0) : NULL;
	if (cJSON_IsObject(in))
		(void)get_str(in, "transcript", m->text, sizeof(m->text));
}

static int parse_entities(const cJSON *params, struct sim_ahmsg *m)
{
	const cJSON *ents =
		cJSON_GetObjectItemCaseSensitive(params, "entities");
	if (!ents)
		return 0;
	if (!cJSON_IsArray(ents))
		return -EBADMSG;
	const cJSON *e;
	cJSON_ArrayForEach(e, ents)
	{
		char type[32] = "";
		if (!cJSON_IsObject(e) ||
		    get_str(e, "type", type, sizeof(type)))
			continue; /* an entity we cannot read: skipped */
		const cJSON *data = cJSON_GetObjectItemCaseSensitive(e, "data");
		if (!strcmp(type, "barge_in")) {
			m->barge_in = true;
		} else if (!strcmp(type, "transcript") &&
			   cJSON_IsObject(data) && !m->transcript) {
			m->transcript = true;
			(void)get_str(data, "channelId", m->channel,
				      sizeof(m->channel));
			const cJSON *fin = cJSON_GetObjectItemCaseSensitive(
				data, "isFinal");
			m->transcript_final = cJSON_IsTrue(fin);
			transcript_text(data, m);
		} else if (!strcmp(type, "agentassist") &&
			   cJSON_IsObject(data)) {
			m->assist = true;
			const cJSON *in = cJSON_GetObjectItemCaseSensitive(
				data, "intent");
			if (cJSON_IsObject(in) && !m->intent[0])
				(void)get_str(in, "name", m->intent,
					      sizeof(m->intent));
		}
	}
	return 0;
}

int sim_ahmsg_parse(const char *text, size_t len, struct sim_ahmsg *m)
{
	int err = 0;
	memset(m, 0, sizeof(*m));
	cJSON *root = parse_object(text, len, &err);
	if (!root)
		return err;
	char ver[8] = "";
	if (get_str(root, "version", ver, sizeof(ver)) || strcmp(ver, "2") ||
	    get_str(root, "type", m->type_name, sizeof(m->type_name)) ||
	    get_str(root, "id", m->id, sizeof(m->id)) ||
	    get_u64(root, "seq", &m->seq)) {
		err = -EBADMSG;
		goto out;
	}
	int e = get_u64(root, "clientseq", &m->clientseq);
	if (e == -EBADMSG) {
		err = e;
		goto out;
	}
	const cJSON *params =
		cJSON_GetObjectItemCaseSensitive(root, "parameters");
	if (params && !cJSON_IsObject(params)) {
		err = -EBADMSG;
		goto out;
	}
	m->type = SIM_AH_UNKNOWN;
	for (size_t i = 0; i < sizeof(ah_types) / sizeof(ah_types[0]); i++)
		if (!strcmp(m->type_name, ah_types[i].name))
			m->type = ah_types[i].type;
	switch (m->type) {
	case SIM_AH_OPENED: {
		const cJSON *media =
			cJSON_GetObjectItemCaseSensitive(params, "media");
		const cJSON *m0 = cJSON_IsArray(media)
					  ? cJSON_GetArrayItem(media, 0)
					  : NULL;
		uint64_t rate = 0;
		if (cJSON_IsObject(m0)) {
			(void)get_str(m0, "format", m->format,
				      sizeof(m->format));
			if (!get_u64(m0, "rate", &rate) && rate <= 192000)
				m->rate_hz = (unsigned)rate;
		}
		break;
	}
	case SIM_AH_DISCONNECT: {
		(void)get_str(params, "reason", m->reason, sizeof(m->reason));
		const cJSON *ov = cJSON_GetObjectItemCaseSensitive(
			params, "outputVariables");
		if (cJSON_IsObject(ov)) {
			(void)get_str(ov, "action", m->action,
				      sizeof(m->action));
			(void)get_str(ov, "transferTarget", m->transfer_target,
				      sizeof(m->transfer_target));
			(void)get_str(ov, "transferQueue", m->transfer_queue,
				      sizeof(m->transfer_queue));
			(void)get_str(ov, "intent", m->intent,
				      sizeof(m->intent));
		}
		break;
	}
	case SIM_AH_ERROR: {
		uint64_t code = 0;
		if (!get_u64(params, "code", &code) && code < 1000)
			m->code = (int)code;
		(void)get_str(params, "message", m->message,
			      sizeof(m->message));
		break;
	}
	case SIM_AH_EVENT:
		err = parse_entities(params, m);
		break;
	default:
		break;
	}
out:
	cJSON_Delete(root);
	if (err)
		memset(m, 0, sizeof(*m));
	return err;
}
