/* Genesys Bot Connector request parsing and reply printing (gbmsg.h). */
#include "control/genesys/gbmsg.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "core/strbuf.h"

static bool valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t k;
		unsigned min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			k = 1;
			min = 0x80;
			c &= 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			k = 2;
			min = 0x800;
			c &= 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			k = 3;
			min = 0x10000;
			c &= 0x07;
		} else {
			return false;
		}
		if (k > n - i - 1)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			c = (c << 6) | (s[i + j] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return false;
		i += k + 1;
	}
	return true;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/* Copy the string field k of o into dst[cap]. required: absent is an
 * error. Returns false (with *why) on a bad value. */
static bool get_id(const cJSON *o, const char *k, char *dst, size_t cap,
		   bool required, const char **why, const char *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!v || cJSON_IsNull(v)) {
		if (required)
			*why = err;
		return !required;
	}
	size_t n = cJSON_IsString(v) ? strlen(v->valuestring) : 0;
	if (!cJSON_IsString(v) || n >= cap || (required && !n) ||
	    !printable(v->valuestring)) {
		*why = err;
		return false;
	}
	memcpy(dst, v->valuestring, n + 1);
	return true;
}

static bool get_params(struct gbot_req *r, const cJSON *ps, const char **why)
{
	if (!ps || cJSON_IsNull(ps))
		return true;
	if (!cJSON_IsObject(ps)) {
		*why = "parameters is not an object";
		return false;
	}
	const cJSON *p;
	cJSON_ArrayForEach(p, ps)
	{
		if (r->nparams >= GBOT_PARAMS_MAX) {
			*why = "too many parameters";
			return false;
		}
		struct gbot_param *gp = &r->params[r->nparams];
		size_t nl = p->string ? strlen(p->string) : 0;
		if (!nl || nl > GBOT_PARAM_NAME_MAX || !printable(p->string)) {
			*why = "bad parameter name";
			return false;
		}
		memcpy(gp->name, p->string, nl + 1);
		int n;
		if (cJSON_IsString(p)) {
			size_t vl = strlen(p->valuestring);
			if (vl > GBOT_PARAM_VALUE_MAX ||
			    !valid_utf8((const unsigned char *)p->valuestring,
					vl)) {
				*why = "bad parameter value";
				return false;
			}
			memcpy(gp->value, p->valuestring, vl + 1);
			n = 0;
		} else if (cJSON_IsBool(p)) {
			n = snprintf(gp->value, sizeof(gp->value), "%s",
				     cJSON_IsTrue(p) ? "true" : "false");
		} else if (cJSON_IsNumber(p) && isfinite(p->valuedouble)) {
			n = snprintf(gp->value, sizeof(gp->value), "%.15g",
				     p->valuedouble);
		} else if (cJSON_IsNull(p)) {
			gp->value[0] = '\0';
			n = 0;
		} else {
			*why = "parameter values must be strings";
			return false;
		}
		if (n < 0) {
			*why = "bad parameter value";
			return false;
		}
		r->nparams++;
	}
	return true;
}

static int parse(struct gbot_req *r, const cJSON *o, const char **why)
{
	if (!cJSON_IsObject(o)) {
		*why = "body is not a JSON object";
		return -EBADMSG;
	}
	if (!get_id(o, "botId", r->bot_id, sizeof(r->bot_id), true, why,
		    "botId missing or bad") ||
	    !get_id(o, "botSessionId", r->session_id, sizeof(r->session_id),
		    true, why, "botSessionId missing or bad") ||
	    !get_id(o, "botVersion", r->bot_version, sizeof(r->bot_version),
		    false, why, "bad botVersion") ||
	    !get_id(o, "messageId", r->message_id, sizeof(r->message_id), false,
		    why, "bad messageId") ||
	    !get_id(o, "genesysConversationId", r->conversation,
		    sizeof(r->conversation), false, why,
		    "bad genesysConversationId") ||
	    !get_id(o, "languageCode", r->language, sizeof(r->language), false,
		    why, "bad languageCode"))
		return -EBADMSG;
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(o, "inputMessage");
	if (!cJSON_IsObject(in)) {
		*why = "inputMessage missing";
		return -EBADMSG;
	}
	const cJSON *ty = cJSON_GetObjectItemCaseSensitive(in, "type");
	if (!cJSON_IsString(ty) || (strcmp(ty->valuestring, "Text") &&
				    strcmp(ty->valuestring, "Structured"))) {
		*why = "inputMessage.type must be Text or Structured";
		return -EBADMSG;
	}
	const cJSON *tx = cJSON_GetObjectItemCaseSensitive(in, "text");
	if (tx && !cJSON_IsNull(tx)) {
		size_t n = cJSON_IsString(tx) ? strlen(tx->valuestring) : 0;
		if (!cJSON_IsString(tx) || n > GBOT_TEXT_MAX ||
		    !valid_utf8((const unsigned char *)tx->valuestring, n)) {
			*why = "inputMessage.text is not text of at most 4096 "
			       "bytes";
			return -EBADMSG;
		}
		memcpy(r->text, tx->valuestring, n + 1);
	}
	const cJSON *to =
		cJSON_GetObjectItemCaseSensitive(o, "botSessionTimeout");
	if (to && !cJSON_IsNull(to)) {
		if (!cJSON_IsNumber(to) || !(to->valuedouble >= 0) ||
		    to->valuedouble > GBOT_TIMEOUT_MAX_MIN) {
			*why = "bad botSessionTimeout";
			return -EBADMSG;
		}
		r->timeout_min = (unsigned)to->valuedouble;
	}
	if (!get_params(r, cJSON_GetObjectItemCaseSensitive(o, "parameters"),
			why))
		return -EBADMSG;
	return 0;
}

int gbot_req_parse(struct gbot_req *r, const char *body, size_t len,
		   const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	*why = NULL;
	if (!r || (!body && len))
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	if (len > GBOT_BODY_MAX) {
		*why = "body too large";
		return -E2BIG;
	}
	if (len >= 3 && !memcmp(body, "\xef\xbb\xbf", 3)) {
		body += 3;
		len -= 3;
	}
	if (!len) {
		*why = "empty body";
		return -EBADMSG;
	}
	const char *end = NULL;
	cJSON *o = cJSON_ParseWithLengthOpts(body, len, &end, false);
	if (!o) {
		/* cJSON fails alike on bad JSON and on no memory; the body is
		 * small and bounded, so call it bad JSON. */
		*why = "body is not JSON";
		return -EBADMSG;
	}
	/* Only whitespace may follow the document. */
	for (; end && end < body + len; end++) {
		if (*end != ' ' && *end != '\t' && *end != '\r' &&
		    *end != '\n' && *end != '\0') {
			cJSON_Delete(o);
			*why = "trailing data after the JSON document";
			memset(r, 0, sizeof(*r));
			return -EBADMSG;
		}
	}
	int err = parse(r, o, why);
	cJSON_Delete(o);
	if (err)
		memset(r, 0, sizeof(*r));
	return err;
}

bool gbot_reply_msg(struct gbot_reply *r, const char *text)
{
	if (!text || !text[0])
		return true;
	if (r->nmsgs >= GBOT_REPLIES_MAX)
		return false;
	r->msgs[r->nmsgs++] = text;
	return true;
}

bool gbot_reply_param(struct gbot_reply *r, const char *name, const char *value)
{
	if (!name || !name[0])
		return true;
	for (unsigned i = 0; i < r->nparams; i++) {
		if (!strcmp(r->param_names[i], name)) {
			r->param_values[i] = value ? value : "";
			return true;
		}
	}
	if (r->nparams >= GBOT_PARAMS_MAX)
		return false;
	r->param_names[r->nparams] = name;
	r->param_values[r->nparams++] = value ? value : "";
	return true;
}

bool gbot_reply_entity(struct gbot_reply *r, const char *name,
		       const char *value)
{
	if (r->nents >= GBOT_ENTITIES_MAX)
		return false;
	r->ent_names[r->nents] = name ? name : "";
	r->ent_values[r->nents++] = value ? value : "";
	return true;
}

const char *gbot_state_name(enum gbot_state s)
{
	switch (s) {
	case GBOT_MOREDATA:
		return "MOREDATA";
	case GBOT_COMPLETE:
		return "COMPLETE";
	default:
		return "FAILED";
	}
}

int gbot_reply_print(const struct gbot_reply *r, struct strbuf *out)
{
	if (!r || !out || r->nmsgs > GBOT_REPLIES_MAX ||
	    r->nparams > GBOT_PARAMS_MAX || r->nents > GBOT_ENTITIES_MAX)
		return -EINVAL;
	int err = strbuf_printf(out, "{\"botState\":\"%s\",\"replymessages\":[",
				gbot_state_name(r->state));
	for (unsigned i = 0; !err && i < r->nmsgs; i++) {
		err = strbuf_addstr(out, i ? ",{\"type\":\"Text\",\"text\":"
					   : "{\"type\":\"Text\",\"text\":");
		if (!err)
			err = strbuf_add_json_str(out, r->msgs[i]);
		if (!err)
			err = strbuf_addstr(out, "}");
	}
	if (!err)
		err = strbuf_addstr(out, "]");
	if (!err && r->intent) {
		float c = r->confidence;
		if (!(c >= 0.0f))
			c = 0.0f;
		if (c > 1.0f)
			c = 1.0f;
		err = strbuf_addstr(out, ",\"intent\":");
		if (!err)
			err = strbuf_add_json_str(out, r->intent);
		if (!err)
			err = strbuf_printf(out, ",\"confidence\":%.3f",
					    (double)c);
	}
	if (!err)
		err = strbuf_addstr(out, ",\"entities\":[");
	for (unsigned i = 0; !err && i < r->nents; i++) {
		err = strbuf_addstr(out, i ? ",{\"name\":" : "{\"name\":");
		if (!err)
			err = strbuf_add_json_str(out, r->ent_names[i]);
		if (!err)
			err = strbuf_addstr(out, ",\"value\":");
		if (!err)
			err = strbuf_add_json_str(out, r->ent_values[i]);
		if (!err)
			err = strbuf_addstr(out, "}");
	}
	if (!err)
		err = strbuf_addstr(out, "],\"parameters\":{");
	for (unsigned i = 0; !err && i < r->nparams; i++) {
		if (i)
			err = strbuf_addstr(out, ",");
		if (!err)
			err = strbuf_add_json_str(out, r->param_names[i]);
		if (!err)
			err = strbuf_addstr(out, ":");
		if (!err)
			err = strbuf_add_json_str(out, r->param_values[i]);
	}
	if (!err)
		err = strbuf_addstr(out, "}");
	if (!err && r->state == GBOT_FAILED) {
		err = strbuf_addstr(out, ",\"errorInfo\":{\"errorCode\":");
		if (!err)
			err = strbuf_add_json_str(
				out, r->error_code ? r->error_code : "error");
		if (!err)
			err = strbuf_addstr(out, ",\"errorMessage\":");
		if (!err)
			err = strbuf_add_json_str(
				out, r->error_message ? r->error_message : "");
		if (!err)
			err = strbuf_addstr(out, "}");
	}
	if (!err)
		err = strbuf_addstr(out, "}");
	return err;
}
