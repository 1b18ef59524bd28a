/* Twilio Media Streams messages (see mstream_msg.h). cJSON parses; every
 * field is copied into fixed buffers with explicit caps, so nothing the
 * peer sends can grow memory beyond one message. */
#include "telephony/twilio/mstream_msg.h"
#include "core/b64.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

static bool sid_ok(const char *s)
{
	size_t n = strlen(s);
	if (n >= MSTREAM_SID_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

/* A string member copied into out[cap]: 0, -ENOENT (absent or null),
 * -EBADMSG (not a string, or too long). */
static int get_str(const cJSON *obj, const char *key, char *out, size_t cap)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!it || cJSON_IsNull(it))
		return -ENOENT;
	if (!cJSON_IsString(it) || !it->valuestring)
		return -EBADMSG;
	size_t n = strlen(it->valuestring);
	if (n >= cap)
		return -EBADMSG;
	memcpy(out, it->valuestring, n + 1);
	return 0;
}

/* A non-negative integer sent as a string of digits or as a number. */
static int get_u64(const cJSON *obj, const char *key, uint64_t *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!it || cJSON_IsNull(it))
		return -ENOENT;
	if (cJSON_IsNumber(it)) {
		double d = it->valuedouble;
		if (!(d >= 0 && d < 9007199254740992.0) ||
		    d != (double)(uint64_t)d)
			return -EBADMSG;
		*out = (uint64_t)d;
		return 0;
	}
	if (!cJSON_IsString(it) || !it->valuestring)
		return -EBADMSG;
	const char *s = it->valuestring;
	size_t n = strlen(s);
	if (n == 0 || n > 19)
		return -EBADMSG;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EBADMSG;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static int get_sid(const cJSON *obj, const char *key, char *out, bool need)
{
	int err = get_str(obj, key, out, MSTREAM_SID_LEN);
	if (err == -ENOENT)
		return need ? -EBADMSG : 0;
	if (err)
		return err;
	return sid_ok(out) ? 0 : -EBADMSG;
}

static int parse_start(const cJSON *root, struct mstream_msg *m)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "start");
	if (!cJSON_IsObject(st))
		return -EBADMSG;
	int err = get_sid(st, "streamSid", m->stream_sid, false);
	if (!err && !m->stream_sid[0])
		err = get_sid(root, "streamSid", m->stream_sid, true);
	if (!err)
		err = get_sid(st, "callSid", m->call_sid, false);
	if (!err)
		err = get_sid(st, "accountSid", m->account_sid, false);
	if (err)
		return err;
	const cJSON *mf = cJSON_GetObjectItemCaseSensitive(st, "mediaFormat");
	if (!cJSON_IsObject(mf))
		return -EBADMSG;
	uint64_t v = 0;
	if (get_str(mf, "encoding", m->encoding, sizeof(m->encoding)))
		return -EBADMSG;
	if (get_u64(mf, "sampleRate", &v) || v > UINT32_MAX)
		return -EBADMSG;
	m->rate_hz = (uint32_t)v;
	if (get_u64(mf, "channels", &v) || v > UINT32_MAX)
		return -EBADMSG;
	m->channels = (uint32_t)v;
	const cJSON *cp =
		cJSON_GetObjectItemCaseSensitive(st, "customParameters");
	if (cp && !cJSON_IsNull(cp) && !cJSON_IsObject(cp))
		return -EBADMSG;
	const cJSON *it;
	cJSON_ArrayForEach(it, cp)
	{
		if (m->nparams >= MSTREAM_PARAMS_MAX)
			break;
		/* Parameters we cannot hold (non-string, too long) are
		 * skipped: the flow sees them absent. */
		if (!cJSON_IsString(it) || !it->string || !it->valuestring ||
		    strlen(it->string) >= MSTREAM_NAME_LEN ||
		    strlen(it->valuestring) >= MSTREAM_VALUE_LEN)
			continue;
		struct mstream_param *p = &m->params[m->nparams++];
		strcpy(p->name, it->string);
		strcpy(p->value, it->valuestring);
	}
	return 0;
}

static int parse_media(const cJSON *root, struct mstream_msg *m)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(root, "media");
	if (!cJSON_IsObject(md))
		return -EBADMSG;
	char track[16] = "";
	int err = get_str(md, "track", track, sizeof(track));
	if (err && err != -ENOENT)
		return err;
	m->inbound = err == -ENOENT || !strcmp(track, "inbound");
	if (get_u64(md, "chunk", &m->chunk))
		return -EBADMSG;
	err = get_u64(md, "timestamp", &m->timestamp_ms);
	if (err && err != -ENOENT)
		return err;
	const cJSON *pl = cJSON_GetObjectItemCaseSensitive(md, "payload");
	if (!cJSON_IsString(pl) || !pl->valuestring)
		return -EBADMSG;
	int n = b64_decode(pl->valuestring, strlen(pl->valuestring), m->payload,
			   sizeof(m->payload));
	if (n < 0)
		return n;
	m->payload_len = (size_t)n;
	return 0;
}

static int parse_dtmf(const cJSON *root, struct mstream_msg *m)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "dtmf");
	char digit[4] = "";
	if (!cJSON_IsObject(d) || get_str(d, "digit", digit, sizeof(digit)) ||
	    strlen(digit) != 1 || !strchr("0123456789*#ABCD", digit[0]))
		return -EBADMSG;
	m->digit = digit[0];
	return 0;
}

static int parse_mark(const cJSON *root, struct mstream_msg *m)
{
	const cJSON *mk = cJSON_GetObjectItemCaseSensitive(root, "mark");
	if (!cJSON_IsObject(mk) ||
	    get_str(mk, "name", m->name, sizeof(m->name)))
		return -EBADMSG;
	return 0;
}

static const struct {
	const char *name;
	enum mstream_event ev;
} events[] = {
	{ "connected", MSTREAM_EV_CONNECTED }, { "start", MSTREAM_EV_START },
	{ "media", MSTREAM_EV_MEDIA },	       { "dtmf", MSTREAM_EV_DTMF },
	{ "mark", MSTREAM_EV_MARK },	       { "stop", MSTREAM_EV_STOP },
};

int mstream_msg_parse(const char *text, size_t len, struct mstream_msg *m)
{
	if (!text || !m)
		return -EINVAL;
	memset(m, 0, offsetof(struct mstream_msg, payload));
	m->payload_len = 0;
	m->digit = 0;
	m->name[0] = '\0';
	if (len > MSTREAM_TEXT_MAX)
		return -EMSGSIZE;
	cJSON *root = cJSON_ParseWithLength(text, len);
	if (!root)
		return -EBADMSG;
	int err = -EBADMSG;
	if (!cJSON_IsObject(root) ||
	    get_str(root, "event", m->event, sizeof(m->event)))
		goto out;
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (!strcmp(m->event, events[i].name))
			m->ev = events[i].ev;
	if (m->ev == MSTREAM_EV_UNKNOWN) {
		err = -ENOMSG;
		goto out;
	}
	if (m->ev != MSTREAM_EV_START && m->ev != MSTREAM_EV_CONNECTED) {
		err = get_sid(root, "streamSid", m->stream_sid, false);
		if (err)
			goto out;
	}
	switch (m->ev) {
	case MSTREAM_EV_START:
		err = parse_start(root, m);
		break;
	case MSTREAM_EV_MEDIA:
		err = parse_media(root, m);
		break;
	case MSTREAM_EV_DTMF:
		err = parse_dtmf(root, m);
		break;
	case MSTREAM_EV_MARK:
		err = parse_mark(root, m);
		break;
	default:
		err = 0;
		break;
	}
out:
	cJSON_Delete(root);
	return err;
}

const char *mstream_msg_param(const struct mstream_msg *m, const char *name)
{
	for (unsigned i = 0; m && name && i < m->nparams; i++)
		if (!strcmp(m->params[i].name, name))
			return m->params[i].value;
	return NULL;
}

static int finish_print(int n, size_t cap)
{
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

int mstream_print_media(char *out, size_t cap, const char *sid,
			const uint8_t *ulaw, size_t n)
{
	if (!out || !sid || !sid_ok(sid) || (!ulaw && n))
		return -EINVAL;
	int head = snprintf(out, cap,
			    "{\"event\":\"media\",\"streamSid\":\"%s\","
			    "\"media\":{\"payload\":\"",
			    sid);
	if (head < 0 || (size_t)head >= cap)
		return -ENOSPC;
	int b = b64_encode(ulaw, n, out + head, cap - (size_t)head);
	if (b < 0)
		return b;
	size_t used = (size_t)head + (size_t)b;
	return finish_print(
		(int)used + snprintf(out + used, cap - used, "\"}}"), cap);
}

int mstream_print_mark(char *out, size_t cap, const char *sid, const char *name)
{
	if (!out || !sid || !name || !sid_ok(sid) || !sid_ok(name) || !*name)
		return -EINVAL;
	return finish_print(snprintf(out, cap,
				     "{\"event\":\"mark\",\"streamSid\":\"%s\","
				     "\"mark\":{\"name\":\"%s\"}}",
				     sid, name),
			    cap);
}

int mstream_print_clear(char *out, size_t cap, const char *sid)
{
	if (!out || !sid || !sid_ok(sid))
		return -EINVAL;
	return finish_print(
		snprintf(out, cap, "{\"event\":\"clear\",\"streamSid\":\"%s\"}",
			 sid),
		cap);
}

/* ---------- reorder window ---------- */

void mstream_reorder_init(struct mstream_reorder *r)
{
	memset(r, 0, sizeof(*r));
}

static int find_slot(const struct mstream_reorder *r, uint64_t chunk)
{
	for (int i = 0; i < MSTREAM_REORDER_SLOTS; i++)
		if (r->slot[i].used && r->slot[i].chunk == chunk)
			return i;
	return -1;
}

static unsigned release_ready(struct mstream_reorder *r, mstream_chunk_fn *fn,
			      void *arg)
{
	unsigned n = 0;
	for (int i; (i = find_slot(r, r->next)) >= 0;) {
		r->slot[i].used = false;
		fn(r->slot[i].data, r->slot[i].len, arg);
		r->next++;
		n++;
	}
	return n;
}

unsigned mstream_reorder_push(struct mstream_reorder *r, uint64_t chunk,
			      const uint8_t *data, size_t len,
			      mstream_chunk_fn *fn, void *arg)
{
	if (len > MSTREAM_PAYLOAD_MAX)
		len = MSTREAM_PAYLOAD_MAX;
	if (!r->started) {
		r->started = true;
		r->next = chunk;
	}
	if (chunk < r->next || find_slot(r, chunk) >= 0) {
		r->late++;
		return 0;
	}
	if (chunk == r->next) {
		fn(data, len, arg);
		r->next++;
		return 1 + release_ready(r, fn, arg);
	}
	/* Ahead of a gap: hold it; when the window is full, give up on the
	 * gap and release from the oldest held chunk. */
	int free_i = -1;
	for (int i = 0; i < MSTREAM_REORDER_SLOTS && free_i < 0; i++)
		if (!r->slot[i].used)
			free_i = i;
	unsigned n = 0;
	if (free_i < 0) {
		uint64_t oldest = UINT64_MAX;
		for (int i = 0; i < MSTREAM_REORDER_SLOTS; i++)
			if (r->slot[i].chunk < oldest)
				oldest = r->slot[i].chunk;
		if (chunk < oldest)
			oldest = chunk;
		r->lost += oldest - r->next;
		r->next = oldest;
		if (chunk == oldest) {
			fn(data, len, arg);
			r->next++;
			return 1 + release_ready(r, fn, arg);
		}
		n = release_ready(r, fn, arg);
		for (int i = 0; i < MSTREAM_REORDER_SLOTS && free_i < 0; i++)
			if (!r->slot[i].used)
				free_i = i;
		if (chunk == r->next) {
			fn(data, len, arg);
			r->next++;
			return n + 1 + release_ready(r, fn, arg);
		}
	}
	r->reordered++;
	r->slot[free_i].used = true;
	r->slot[free_i].chunk = chunk;
	memcpy(r->slot[free_i].data, data, len);
	r->slot[free_i].len = len;
	return n;
}
