/* Genesys AudioHook messages (see ahmsg.h). cJSON parses; fields are copied
 * into fixed buffers with explicit caps; only "parameters" is kept as a
 * detached cJSON tree (customConfig, inputVariables are free-form). */
#include "telephony/genesys/ahmsg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

static const struct {
	enum ahmsg_type type;
	const char *name;
} type_names[] = {
	{ AHMSG_OPEN, "open" },
	{ AHMSG_PING, "ping" },
	{ AHMSG_UPDATE, "update" },
	{ AHMSG_PAUSED, "paused" },
	{ AHMSG_RESUMED, "resumed" },
	{ AHMSG_DISCARDED, "discarded" },
	{ AHMSG_CLOSE, "close" },
	{ AHMSG_ERROR, "error" },
	{ AHMSG_DTMF, "dtmf" },
	{ AHMSG_PLAYBACK_STARTED, "playback_started" },
	{ AHMSG_PLAYBACK_COMPLETED, "playback_completed" },
};

const char *ahmsg_type_name(enum ahmsg_type t)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (type_names[i].type == t)
			return type_names[i].name;
	return "unknown";
}

const char *ahmsg_channel_name(enum ahmsg_channel ch)
{
	return ch == AHMSG_CH_INTERNAL ? "internal" : "external";
}

/* ---------- durations ---------- */

/* One number of a duration: digits with an optional fraction (only the
 * seconds may have one). Returns value in thousandths, or -1. */
static int64_t read_number(const char **sp, bool frac_ok)
{
	const char *s = *sp;
	int64_t v = 0;
	int digits = 0;
	while (*s >= '0' && *s <= '9') {
		if (v > 1000000000000LL)
			return -1;
		v = v * 10 + (*s++ - '0');
		digits++;
	}
	if (!digits)
		return -1;
	v *= 1000;
	if (*s == '.') {
		if (!frac_ok)
			return -1;
		s++;
		int fd = 0;
		int64_t scale = 100;
		while (*s >= '0' && *s <= '9') {
			if (fd < 3)
				v += (*s - '0') * scale;
			scale /= 10;
			s++;
			fd++;
		}
		if (!fd)
			return -1;
	}
	*sp = s;
	return v;
}

int ahmsg_duration_parse(const char *s, uint64_t *ms)
{
	if (!s || !ms || strncmp(s, "PT", 2))
		return -EBADMSG;
	s += 2;
	uint64_t total = 0;
	int last = 0; /* 1 H, 2 M, 3 S: units in order, each once */
	if (!*s)
		return -EBADMSG;
	while (*s) {
		int64_t v = read_number(&s, true);
		if (v < 0)
			return -EBADMSG;
		int unit;
		uint64_t mul;
		switch (*s) {
		case 'H':
			unit = 1;
			mul = 3600;
			break;
		case 'M':
			unit = 2;
			mul = 60;
			break;
		case 'S':
			unit = 3;
			mul = 1;
			break;
		default:
			return -EBADMSG;
		}
		/* only the last unit may carry a fraction */
		if (unit <= last || (unit != 3 && v % 1000))
			return -EBADMSG;
		last = unit;
		s++;
		total += (uint64_t)v * mul;
		if (total > (uint64_t)1e15)
			return -EBADMSG;
	}
	*ms = total;
	return 0;
}

int ahmsg_duration_print(char *out, size_t cap, uint64_t ms)
{
	char frac[8] = "";
	unsigned f = (unsigned)(ms % 1000);
	if (f) {
		snprintf(frac, sizeof(frac), ".%03u", f);
		size_t n = strlen(frac);
		while (frac[n - 1] == '0')
			frac[--n] = '\0';
	}
	int n = snprintf(out, cap, "PT%" PRIu64 "%sS", ms / 1000, frac);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

/* ---------- parse ---------- */

static int get_str(const cJSON *obj, const char *key, char *out, size_t cap,
		   bool required)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!it || cJSON_IsNull(it))
		return required ? -EBADMSG : 0;
	if (!cJSON_IsString(it) || !it->valuestring)
		return -EBADMSG;
	size_t n = strlen(it->valuestring);
	if (n >= cap)
		return -EBADMSG;
	memcpy(out, it->valuestring, n + 1);
	return 0;
}

static int get_u64(const cJSON *obj, const char *key, uint64_t *out,
		   bool required)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!it || cJSON_IsNull(it))
		return required ? -EBADMSG : 0;
	if (!cJSON_IsNumber(it))
		return -EBADMSG;
	double d = it->valuedouble;
	if (!(d >= 0 && d < 9007199254740992.0) || d != (double)(uint64_t)d)
		return -EBADMSG;
	*out = (uint64_t)d;
	return 0;
}

static int get_duration(const cJSON *obj, const char *key, uint64_t *ms,
			bool *has)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!it || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsString(it) || !it->valuestring)
		return -EBADMSG;
	if (ahmsg_duration_parse(it->valuestring, ms))
		return -EBADMSG;
	if (has)
		*has = true;
	return 0;
}

static int parse_media(const cJSON *arr, struct ahmsg *m)
{
	if (!cJSON_IsArray(arr))
		return -EBADMSG;
	const cJSON *it;
	cJSON_ArrayForEach(it, arr)
	{
		m->nmedia_all++;
		if (!cJSON_IsObject(it))
			return -EBADMSG;
		char type[16] = "", fmt[16] = "";
		if (get_str(it, "type", type, sizeof(type), true) ||
		    get_str(it, "format", fmt, sizeof(fmt), true))
			return -EBADMSG;
		uint64_t rate = 0;
		if (get_u64(it, "rate", &rate, true))
			return -EBADMSG;
		const cJSON *ch =
			cJSON_GetObjectItemCaseSensitive(it, "channels");
		if (!cJSON_IsArray(ch))
			return -EBADMSG;
		struct ahmsg_media md = { 0 };
		bool usable = !strcmp(type, "audio");
		if (!strcmp(fmt, "PCMU"))
			md.format = AHMSG_FMT_PCMU;
		else if (!strcmp(fmt, "L16"))
			md.format = AHMSG_FMT_L16;
		else
			usable = false;
		md.rate_hz = rate <= 192000 ? (unsigned)rate : 0;
		const cJSON *c;
		unsigned n = 0;
		unsigned seen = 0;
		cJSON_ArrayForEach(c, ch)
		{
			if (!cJSON_IsString(c) || !c->valuestring)
				return -EBADMSG;
			enum ahmsg_channel v;
			if (!strcmp(c->valuestring, "external")) {
				v = AHMSG_CH_EXTERNAL;
			} else if (!strcmp(c->valuestring, "internal")) {
				v = AHMSG_CH_INTERNAL;
			} else {
				usable = false;
				n++;
				continue;
			}
			if (seen & (1u << v))
				return -EBADMSG; /* a channel twice */
			seen |= 1u << v;
			if (n < 2)
				md.channels[n] = v;
			n++;
		}
		if (n == 0 || n > 2)
			usable = false;
		md.nchannels = n;
		if (usable && m->nmedia < AHMSG_MEDIA_MAX)
			m->media[m->nmedia++] = md;
	}
	return 0;
}

static int parse_open(const cJSON *p, struct ahmsg *m)
{
	if (!p)
		return -EBADMSG;
	int err = get_str(p, "organizationId", m->organization_id,
			  sizeof(m->organization_id), false);
	if (!err)
		err = get_str(p, "conversationId", m->conversation_id,
			      sizeof(m->conversation_id), false);
	if (!err)
		err = get_str(p, "language", m->language, sizeof(m->language),
			      false);
	if (err)
		return err;
	const cJSON *part = cJSON_GetObjectItemCaseSensitive(p, "participant");
	if (part && !cJSON_IsNull(part)) {
		if (!cJSON_IsObject(part))
			return -EBADMSG;
		if (get_str(part, "id", m->participant_id,
			    sizeof(m->participant_id), false) ||
		    get_str(part, "ani", m->ani, sizeof(m->ani), false) ||
		    get_str(part, "aniName", m->ani_name, sizeof(m->ani_name),
			    false) ||
		    get_str(part, "dnis", m->dnis, sizeof(m->dnis), false))
			return -EBADMSG;
	}
	const cJSON *media = cJSON_GetObjectItemCaseSensitive(p, "media");
	if (!media)
		return -EBADMSG;
	err = parse_media(media, m);
	if (err)
		return err;
	const cJSON *cc = cJSON_GetObjectItemCaseSensitive(p, "customConfig");
	if (cc && !cJSON_IsNull(cc)) {
		if (!cJSON_IsObject(cc))
			return -EBADMSG;
		m->custom_config = cc;
	}
	const cJSON *iv = cJSON_GetObjectItemCaseSensitive(p, "inputVariables");
	if (iv && !cJSON_IsNull(iv)) {
		if (!cJSON_IsObject(iv))
			return -EBADMSG;
		m->input_variables = iv;
	}
	return 0;
}

static int parse_params(const cJSON *p, struct ahmsg *m)
{
	switch (m->type) {
	case AHMSG_OPEN:
		return parse_open(p, m);
	case AHMSG_CLOSE:
		return p ? get_str(p, "reason", m->reason, sizeof(m->reason),
				   false)
			 : 0;
	case AHMSG_ERROR: {
		uint64_t code = 0;
		if (!p || get_u64(p, "code", &code, true) || code > 999)
			return -EBADMSG;
		m->code = (int)code;
		/* a message longer than our buffer is cut, not refused */
		const cJSON *msg =
			cJSON_GetObjectItemCaseSensitive(p, "message");
		if (cJSON_IsString(msg) && msg->valuestring)
			snprintf(m->message, sizeof(m->message), "%s",
				 msg->valuestring);
		return 0;
	}
	case AHMSG_DISCARDED: {
		bool has_start = false, has_len = false;
		if (!p ||
		    get_duration(p, "start", &m->discard_start_ms,
				 &has_start) ||
		    get_duration(p, "discarded", &m->discard_ms, &has_len) ||
		    !has_start || !has_len)
			return -EBADMSG;
		return 0;
	}
	case AHMSG_DTMF: {
		char d[4] = "";
		if (!p || get_str(p, "digit", d, sizeof(d), true) ||
		    strlen(d) != 1 || !strchr("0123456789*#", d[0]))
			return -EBADMSG;
		m->digit = d[0];
		return 0;
	}
	default:
		return 0;
	}
}

void ahmsg_fini(struct ahmsg *m)
{
	if (!m)
		return;
	cJSON_Delete(m->params);
	memset(m, 0, sizeof(*m));
}

int ahmsg_parse(const char *text, size_t len, struct ahmsg *m)
{
	if (!m)
		return -EINVAL;
	ahmsg_fini(m);
	if (!text)
		return -EBADMSG;
	if (len > AHMSG_TEXT_MAX)
		return -EMSGSIZE;
	cJSON *root = cJSON_ParseWithLength(text, len);
	if (!root)
		return -EBADMSG;
	int err = -EBADMSG;
	char version[8] = "";
	if (!cJSON_IsObject(root) ||
	    get_str(root, "version", version, sizeof(version), true) ||
	    strcmp(version, "2") ||
	    get_str(root, "id", m->id, sizeof(m->id), true) ||
	    get_str(root, "type", m->type_name, sizeof(m->type_name), true) ||
	    get_u64(root, "seq", &m->seq, true) || m->seq == 0 ||
	    get_u64(root, "serverseq", &m->serverseq, false) ||
	    get_duration(root, "position", &m->position_ms, &m->has_position))
		goto out;
	if (!m->id[0])
		goto out;
	m->type = AHMSG_UNKNOWN;
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (!strcmp(type_names[i].name, m->type_name))
			m->type = type_names[i].type;
	cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "parameters");
	if (p && cJSON_IsNull(p))
		p = NULL;
	if (p && !cJSON_IsObject(p))
		goto out;
	err = parse_params(p, m);
	if (err)
		goto out;
	if (p)
		m->params = cJSON_DetachItemViaPointer(root, p);
	err = 0;
out:
	cJSON_Delete(root);
	if (err) {
		m->custom_config = NULL;
		m->input_variables = NULL;
		memset(m, 0, sizeof(*m));
	}
	return err;
}

int ahmsg_media_choose(const struct ahmsg *m)
{
	int best = -ENOENT;
	int best_score = 0;
	if (!m)
		return -EINVAL;
	for (unsigned i = 0; i < m->nmedia; i++) {
		const struct ahmsg_media *md = &m->media[i];
		if (md->rate_hz != 8000 || md->format == AHMSG_FMT_NONE ||
		    md->nchannels < 1 || md->nchannels > 2)
			continue;
		int score = md->format == AHMSG_FMT_PCMU ? 1 : 0;
		if (md->nchannels == 2)
			score += 8;
		else if (md->channels[0] == AHMSG_CH_EXTERNAL)
			score += 4;
		else
			score += 2;
		if (score > best_score) {
			best_score = score;
			best = (int)i;
		}
	}
	return best;
}

/* ---------- build ---------- */

static cJSON *header(const struct ahmsg_hdr *h, const char *type,
		     cJSON **params)
{
	cJSON *root = cJSON_CreateObject();
	if (!root)
		return NULL;
	cJSON *p = cJSON_CreateObject();
	if (!cJSON_AddStringToObject(root, "version", "2") ||
	    !cJSON_AddStringToObject(root, "type", type) ||
	    !cJSON_AddNumberToObject(root, "seq", (double)h->seq) ||
	    !cJSON_AddNumberToObject(root, "clientseq", (double)h->clientseq) ||
	    !cJSON_AddStringToObject(root, "id", h->id) || !p ||
	    !cJSON_AddItemToObject(root, "parameters", p)) {
		cJSON_Delete(p);
		cJSON_Delete(root);
		return NULL;
	}
	*params = p;
	return root;
}

static int finish(cJSON *root, char *out, size_t cap)
{
	if (!root)
		return -ENOMEM;
	if (cap > (size_t)0x7fffffff)
		cap = 0x7fffffff;
	/* cJSON wants 5 spare bytes to be sure the output fits */
	int ok = cap > 5 &&
		 cJSON_PrintPreallocated(root, out, (int)cap - 5, false);
	cJSON_Delete(root);
	if (!ok)
		return -ENOSPC;
	return (int)strlen(out);
}

static bool hdr_ok(const char *out, size_t cap, const struct ahmsg_hdr *h)
{
	return out && cap && h && h->id && h->id[0] &&
	       strlen(h->id) < AHMSG_ID_LEN;
}

static cJSON *media_json(const struct ahmsg_media *md)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *ch = cJSON_CreateArray();
	if (!o || !ch) {
		cJSON_Delete(o);
		cJSON_Delete(ch);
		return NULL;
	}
	cJSON_AddItemToObject(o, "channels", ch);
	for (unsigned i = 0; i < md->nchannels && i < 2; i++)
		cJSON_AddItemToArray(ch, cJSON_CreateString(ahmsg_channel_name(
						 md->channels[i])));
	cJSON_AddStringToObject(o, "type", "audio");
	cJSON_AddStringToObject(o, "format",
				md->format == AHMSG_FMT_L16 ? "L16" : "PCMU");
	cJSON_AddNumberToObject(o, "rate", md->rate_hz);
	return o;
}

int ahmsg_build_opened(char *out, size_t cap, const struct ahmsg_hdr *h,
		       const struct ahmsg_media *media, bool start_paused)
{
	if (!hdr_ok(out, cap, h) || !media || !media->nchannels ||
	    media->nchannels > 2 || media->format == AHMSG_FMT_NONE)
		return -EINVAL;
	cJSON *p;
	cJSON *root = header(h, "opened", &p);
	if (!root)
		return -ENOMEM;
	cJSON *arr = cJSON_AddArrayToObject(p, "media");
	cJSON *md = media_json(media);
	if (!arr || !md) {
		cJSON_Delete(md);
		cJSON_Delete(root);
		return -ENOMEM;
	}
	cJSON_AddItemToArray(arr, md);
	cJSON_AddBoolToObject(p, "startPaused", start_paused);
	return finish(root, out, cap);
}

int ahmsg_build_simple(char *out, size_t cap, const struct ahmsg_hdr *h,
		       const char *type)
{
	static const char *const ok[] = { "pong", "updated", "pause", "resume",
					  "closed" };
	bool known = false;
	for (size_t i = 0; type && i < sizeof(ok) / sizeof(ok[0]); i++)
		known = known || !strcmp(type, ok[i]);
	if (!hdr_ok(out, cap, h) || !known)
		return -EINVAL;
	cJSON *p;
	return finish(header(h, type, &p), out, cap);
}

int ahmsg_build_disconnect(char *out, size_t cap, const struct ahmsg_hdr *h,
			   const char *reason, const char *info,
			   const struct cJSON *output_variables)
{
	if (!hdr_ok(out, cap, h) || !reason || !reason[0] ||
	    (output_variables && !cJSON_IsObject(output_variables)))
		return -EINVAL;
	cJSON *p;
	cJSON *root = header(h, "disconnect", &p);
	if (!root)
		return -ENOMEM;
	cJSON_AddStringToObject(p, "reason", reason);
	if (info)
		cJSON_AddStringToObject(p, "info", info);
	if (output_variables) {
		cJSON *dup = cJSON_Duplicate(output_variables, true);
		if (!dup) {
			cJSON_Delete(root);
			return -ENOMEM;
		}
		cJSON_AddItemToObject(p, "outputVariables", dup);
	}
	return finish(root, out, cap);
}

int ahmsg_build_error(char *out, size_t cap, const struct ahmsg_hdr *h,
		      int code, const char *message)
{
	if (!hdr_ok(out, cap, h) || code < 100 || code > 599)
		return -EINVAL;
	cJSON *p;
	cJSON *root = header(h, "error", &p);
	if (!root)
		return -ENOMEM;
	cJSON_AddNumberToObject(p, "code", code);
	cJSON_AddStringToObject(p, "message", message ? message : "");
	return finish(root, out, cap);
}

static cJSON *event_entity(const struct ahmsg_hdr *h, const char *type,
			   cJSON **root, cJSON **data)
{
	cJSON *p;
	*root = header(h, "event", &p);
	if (!*root)
		return NULL;
	cJSON *ents = cJSON_AddArrayToObject(p, "entities");
	cJSON *e = cJSON_CreateObject();
	if (!ents || !e) {
		cJSON_Delete(e);
		cJSON_Delete(*root);
		*root = NULL;
		return NULL;
	}
	cJSON_AddItemToArray(ents, e);
	cJSON_AddStringToObject(e, "type", type);
	*data = cJSON_AddObjectToObject(e, "data");
	if (!*data) {
		cJSON_Delete(*root);
		*root = NULL;
		return NULL;
	}
	return e;
}

static bool add_duration(cJSON *o, const char *key, uint64_t ms)
{
	char buf[32];
	return ahmsg_duration_print(buf, sizeof(buf), ms) > 0 &&
	       cJSON_AddStringToObject(o, key, buf);
}

static float clamp01(float f)
{
	return f < 0 || f != f ? 0 : f > 1 ? 1 : f;
}

int ahmsg_build_transcript(char *out, size_t cap, const struct ahmsg_hdr *h,
			   const struct ahmsg_transcript *t)
{
	if (!hdr_ok(out, cap, h) || !t || !t->text)
		return -EINVAL;
	cJSON *root, *d;
	if (!event_entity(h, "transcript", &root, &d))
		return -ENOMEM;
	char uid[64];
	if (t->utterance_id)
		snprintf(uid, sizeof(uid), "%s", t->utterance_id);
	else
		snprintf(uid, sizeof(uid), "%s-%" PRIu64,
			 ahmsg_channel_name(t->channel), t->offset_ms);
	cJSON_AddStringToObject(d, "id", uid);
	cJSON_AddStringToObject(d, "channelId", ahmsg_channel_name(t->channel));
	cJSON_AddBoolToObject(d, "isFinal", t->is_final);
	add_duration(d, "offset", t->offset_ms);
	add_duration(d, "duration", t->duration_ms);
	if (t->language)
		cJSON_AddStringToObject(d, "language", t->language);
	cJSON *alts = cJSON_AddArrayToObject(d, "alternatives");
	cJSON *alt = cJSON_CreateObject();
	if (!alts || !alt) {
		cJSON_Delete(alt);
		cJSON_Delete(root);
		return -ENOMEM;
	}
	cJSON_AddItemToArray(alts, alt);
	/* three decimals: a float's noise is not part of the protocol */
	cJSON_AddNumberToObject(
		alt, "confidence",
		(double)(int)(clamp01(t->confidence) * 1000 + 0.5) / 1000.0);
	cJSON *ints = cJSON_AddArrayToObject(alt, "interpretations");
	cJSON *in = cJSON_CreateObject();
	if (!ints || !in) {
		cJSON_Delete(in);
		cJSON_Delete(root);
		return -ENOMEM;
	}
	cJSON_AddItemToArray(ints, in);
	cJSON_AddStringToObject(in, "type", "display");
	cJSON_AddStringToObject(in, "transcript", t->text);
	return finish(root, out, cap);
}

int ahmsg_build_assist(char *out, size_t cap, const struct ahmsg_hdr *h,
		       const struct ahmsg_assist *a)
{
	if (!hdr_ok(out, cap, h) || !a || !a->text ||
	    (a->nsuggestions && !a->suggestions))
		return -EINVAL;
	cJSON *root, *d;
	if (!event_entity(h, "agentassist", &root, &d))
		return -ENOMEM;
	cJSON *utts = cJSON_AddArrayToObject(d, "utterances");
	cJSON *u = cJSON_CreateObject();
	if (!utts || !u) {
		cJSON_Delete(u);
		cJSON_Delete(root);
		return -ENOMEM;
	}
	cJSON_AddItemToArray(utts, u);
	char uid[64];
	snprintf(uid, sizeof(uid), "%s-%" PRIu64,
		 ahmsg_channel_name(a->channel), a->offset_ms);
	cJSON_AddStringToObject(u, "id", uid);
	cJSON_AddStringToObject(u, "channelId", ahmsg_channel_name(a->channel));
	cJSON_AddStringToObject(u, "text", a->text);
	add_duration(u, "offset", a->offset_ms);
	add_duration(u, "duration", a->duration_ms);
	if (a->intent) {
		cJSON *in = cJSON_AddObjectToObject(d, "intent");
		if (in) {
			cJSON_AddStringToObject(in, "name", a->intent);
			cJSON_AddNumberToObject(
				in, "confidence",
				(double)(int)(clamp01(a->confidence) * 1000 +
					      0.5) /
					1000.0);
		}
	}
	cJSON *sugs = cJSON_AddArrayToObject(d, "suggestions");
	for (size_t i = 0; sugs && i < a->nsuggestions; i++) {
		const struct ahmsg_suggestion *s = &a->suggestions[i];
		cJSON *o = cJSON_CreateObject();
		if (!o)
			break;
		cJSON_AddItemToArray(sugs, o);
		bool faq = !s->type || !strcmp(s->type, "faq");
		cJSON_AddStringToObject(o, "type", faq ? "faq" : "article");
		if (faq) {
			cJSON_AddStringToObject(o, "question",
						s->question ? s->question : "");
			cJSON_AddStringToObject(o, "answer",
						s->answer ? s->answer : "");
		} else {
			cJSON_AddStringToObject(o, "title",
						s->title ? s->title : "");
			cJSON *ex = cJSON_AddArrayToObject(o, "excerpts");
			if (ex && s->excerpt)
				cJSON_AddItemToArray(
					ex, cJSON_CreateString(s->excerpt));
			if (s->document_uri)
				cJSON_AddStringToObject(o, "documentUri",
							s->document_uri);
		}
	}
	return finish(root, out, cap);
}

int ahmsg_build_barge_in(char *out, size_t cap, const struct ahmsg_hdr *h)
{
	if (!hdr_ok(out, cap, h))
		return -EINVAL;
	cJSON *root, *d;
	if (!event_entity(h, "barge_in", &root, &d))
		return -ENOMEM;
	return finish(root, out, cap);
}
