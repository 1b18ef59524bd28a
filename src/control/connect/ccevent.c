/* Connect contact-flow events and STRING_MAP answers (see ccevent.h). */
#include "control/connect/ccevent.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

static int fail(char *why, size_t whylen, int err, const char *msg)
{
	if (why && whylen)
		snprintf(why, whylen, "%s", msg);
	return err;
}

const char *connect_skip_bom(const char *body, size_t *len)
{
	if (body && *len >= 3 && (unsigned char)body[0] == 0xef &&
	    (unsigned char)body[1] == 0xbb && (unsigned char)body[2] == 0xbf) {
		*len -= 3;
		return body + 3;
	}
	return body;
}

static int depth_of(const cJSON *v, int d)
{
	int max = d;
	if (d > CONNECT_DEPTH_MAX)
		return d;
	for (const cJSON *c = v ? v->child : NULL; c; c = c->next) {
		int cd = depth_of(c, d + 1);
		if (cd > max)
			max = cd;
		if (max > CONNECT_DEPTH_MAX)
			break;
	}
	return max;
}

/* Documented ContactData members and their types (others are ignored, so
 * a field AWS adds later does not break the endpoint). */
enum ftype { F_STR, F_OBJ, F_OBJ_OR_NULL, F_STRMAP };
static const struct {
	const char *name;
	enum ftype type;
} contact_fields[] = {
	{ "Attributes", F_STRMAP },
	{ "AwsRegion", F_STR },
	{ "Channel", F_STR },
	{ "ContactId", F_STR },
	{ "CustomerEndpoint", F_OBJ_OR_NULL },
	{ "CustomerId", F_STR },
	{ "Description", F_STR },
	{ "InitialContactId", F_STR },
	{ "InitiationMethod", F_STR },
	{ "InstanceARN", F_STR },
	{ "LanguageCode", F_STR },
	{ "MediaStreams", F_OBJ },
	{ "Name", F_STR },
	{ "PreviousContactId", F_STR },
	{ "Queue", F_OBJ_OR_NULL },
	{ "References", F_OBJ },
	{ "RelatedContactId", F_STR },
	{ "SegmentAttributes", F_OBJ },
	{ "SystemEndpoint", F_OBJ_OR_NULL },
	{ "Tags", F_OBJ },
};

static bool type_ok(const cJSON *v, enum ftype t)
{
	switch (t) {
	case F_STR:
		return cJSON_IsString(v) || cJSON_IsNull(v);
	case F_OBJ:
	case F_OBJ_OR_NULL:
		return cJSON_IsObject(v) || cJSON_IsNull(v);
	case F_STRMAP:
		if (cJSON_IsNull(v))
			return true;
		if (!cJSON_IsObject(v))
			return false;
		for (const cJSON *c = v->child; c; c = c->next)
			if (!cJSON_IsString(c) && !cJSON_IsNull(c))
				return false;
		return true;
	}
	return false;
}

static const char *sget(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *endpoint_address(const cJSON *contact, const char *k)
{
	const cJSON *ep = cJSON_GetObjectItemCaseSensitive(contact, k);
	if (!cJSON_IsObject(ep))
		return NULL;
	return sget(ep, "Address");
}

int connect_event_parse(struct connect_event *ev, const char *body, size_t len,
			char *why, size_t whylen)
{
	if (!ev || (!body && len))
		return -EINVAL;
	memset(ev, 0, sizeof(*ev));
	body = connect_skip_bom(body, &len);
	if (!len)
		return fail(why, whylen, -EBADMSG, "empty body");
	cJSON *root = cJSON_ParseWithLength(body, len);
	if (!root)
		return fail(why, whylen, -EBADMSG, "not JSON");
	int err = -EBADMSG;
	const char *msg = "not an object";
	if (!cJSON_IsObject(root))
		goto bad;
	msg = "nested too deeply";
	if (depth_of(root, 0) > CONNECT_DEPTH_MAX)
		goto bad;
	msg = "Name is not ContactFlowEvent";
	const char *name = sget(root, "Name");
	if (!name || strcmp(name, "ContactFlowEvent"))
		goto bad;
	msg = "Details is not an object";
	const cJSON *det = cJSON_GetObjectItemCaseSensitive(root, "Details");
	if (!cJSON_IsObject(det))
		goto bad;
	msg = "Details.ContactData is not an object";
	const cJSON *cd = cJSON_GetObjectItemCaseSensitive(det, "ContactData");
	if (!cJSON_IsObject(cd))
		goto bad;
	for (size_t i = 0;
	     i < sizeof(contact_fields) / sizeof(contact_fields[0]); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(
			cd, contact_fields[i].name);
		if (v && !type_ok(v, contact_fields[i].type)) {
			if (why && whylen)
				snprintf(why, whylen,
					 "ContactData.%s has the wrong type",
					 contact_fields[i].name);
			cJSON_Delete(root);
			return -EBADMSG;
		}
	}
	msg = "ContactData.ContactId missing or too long";
	const char *id = sget(cd, "ContactId");
	if (!id || !id[0] || strlen(id) > CONNECT_ID_MAX)
		goto bad;
	const cJSON *par = cJSON_GetObjectItemCaseSensitive(det, "Parameters");
	msg = "Details.Parameters is not an object";
	if (par && !cJSON_IsObject(par) && !cJSON_IsNull(par))
		goto bad;
	ev->root = root;
	ev->contact = cd;
	ev->params = cJSON_IsObject(par) ? par : NULL;
	ev->contact_id = id;
	ev->initial_contact_id = sget(cd, "InitialContactId");
	ev->channel = sget(cd, "Channel");
	ev->initiation_method = sget(cd, "InitiationMethod");
	ev->customer_address = endpoint_address(cd, "CustomerEndpoint");
	ev->system_address = endpoint_address(cd, "SystemEndpoint");
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(cd, "Queue");
	ev->queue_name = cJSON_IsObject(q) ? sget(q, "Name") : NULL;
	return 0;
bad:
	cJSON_Delete(root);
	return fail(why, whylen, err, msg);
}

void connect_event_fini(struct connect_event *ev)
{
	if (!ev)
		return;
	cJSON_Delete(ev->root);
	memset(ev, 0, sizeof(*ev));
}

const char *connect_event_param(const struct connect_event *ev,
				const char *path, char *buf, size_t cap)
{
	if (!ev || !ev->params || !path)
		return NULL;
	/* The whole key first: Connect keys may contain dots themselves. */
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev->params, path);
	if (!v) {
		const cJSON *o = ev->params;
		const char *p = path;
		char seg[CONNECT_KEY_MAX];
		while (o && *p) {
			const char *dot = strchr(p, '.');
			size_t n = dot ? (size_t)(dot - p) : strlen(p);
			if (n >= sizeof(seg))
				return NULL;
			memcpy(seg, p, n);
			seg[n] = '\0';
			o = cJSON_IsObject(o)
				    ? cJSON_GetObjectItemCaseSensitive(o, seg)
				    : NULL;
			p += n + (dot ? 1 : 0);
			if (dot && !*p)
				return NULL;
		}
		v = o;
	}
	if (!v)
		return NULL;
	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsNumber(v) && buf && cap) {
		double d = v->valuedouble;
		if (isfinite(d) && d == floor(d) && fabs(d) < 1e15)
			snprintf(buf, cap, "%.0f", d);
		else
			snprintf(buf, cap, "%.17g", d);
		return buf;
	}
	return NULL;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

int connect_sanitize(const char *s, size_t len, char *dst, size_t cap)
{
	size_t o = 0;
	if (!dst || !cap)
		return -EINVAL;
	for (size_t i = 0; s && i < len;) {
		const unsigned char *p = (const unsigned char *)s + i;
		size_t n = utf8_len(p, len - i);
		if (!n || (n == 1 && (p[0] < 0x20 || p[0] == 0x7f))) {
			i += n ? n : 1;
			continue;
		}
		if (o + n >= cap) {
			dst[0] = '\0';
			return -E2BIG;
		}
		memcpy(dst + o, p, n);
		o += n;
		i += n;
	}
	dst[o] = '\0';
	return (int)o;
}

struct flat {
	cJSON *out;
	char *why;
	size_t whylen;
	char key[CONNECT_KEY_MAX + 1];
	char val[CONNECT_VALUE_MAX + 1];
};

static int too_big(struct flat *f, const char *what, const char *key)
{
	if (f->why && f->whylen)
		snprintf(f->why, f->whylen, "%s too long at key '%.64s'", what,
			 key);
	return -E2BIG;
}

static void print_number(double d, char *buf, size_t cap)
{
	if (!isfinite(d))
		snprintf(buf, cap, "%s", "");
	else if (d == floor(d) && fabs(d) < 1e15)
		snprintf(buf, cap, "%.0f", d);
	else
		snprintf(buf, cap, "%.15g", d);
}

/* Add leaf v at key[0..klen) to f->out. */
static int flat_leaf(struct flat *f, const cJSON *v)
{
	char num[64];
	const char *s = "";
	size_t n = 0;
	if (cJSON_IsString(v)) {
		s = v->valuestring;
		n = strlen(s);
	} else if (cJSON_IsNumber(v)) {
		print_number(v->valuedouble, num, sizeof(num));
		s = num;
		n = strlen(num);
	} else if (cJSON_IsBool(v)) {
		s = cJSON_IsTrue(v) ? "true" : "false";
		n = strlen(s);
	}
	if (connect_sanitize(s, n, f->val, sizeof(f->val)) < 0)
		return too_big(f, "value", f->key);
	cJSON *item = cJSON_CreateString(f->val);
	if (!item)
		return -ENOMEM;
	if (cJSON_GetObjectItemCaseSensitive(f->out, f->key))
		cJSON_ReplaceItemInObjectCaseSensitive(f->out, f->key, item);
	else if (!cJSON_AddItemToObject(f->out, f->key, item)) {
		cJSON_Delete(item);
		return -ENOMEM;
	}
	return 0;
}

static int flat_walk(struct flat *f, const cJSON *v, size_t klen, int depth)
{
	if (depth > CONNECT_DEPTH_MAX) {
		if (f->why && f->whylen)
			snprintf(f->why, f->whylen, "answer nested too deeply");
		return -E2BIG;
	}
	if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
		return flat_leaf(f, v);
	int i = 0;
	for (const cJSON *c = v->child; c; c = c->next, i++) {
		char part[CONNECT_KEY_MAX + 1];
		int n;
		if (cJSON_IsArray(v))
			n = snprintf(part, sizeof(part), "%d", i);
		else
			n = connect_sanitize(c->string ? c->string : "",
					     c->string ? strlen(c->string) : 0,
					     part, sizeof(part));
		if (n < 0)
			return too_big(f, "key", f->key);
		size_t need = klen + (klen ? 1 : 0) + (size_t)n;
		if (need > CONNECT_KEY_MAX)
			return too_big(f, "key", f->key);
		if (klen)
			f->key[klen] = '.';
		memcpy(f->key + klen + (klen ? 1 : 0), part, (size_t)n + 1);
		int err = flat_walk(f, c, need, depth + 1);
		f->key[klen] = '\0';
		if (err)
			return err;
	}
	return 0;
}

/* JSON mode: a sanitized deep copy. */
static cJSON *clean_copy(const cJSON *v, int depth, char *why, size_t whylen,
			 int *err)
{
	if (depth > CONNECT_DEPTH_MAX) {
		*err = fail(why, whylen, -E2BIG, "answer nested too deeply");
		return NULL;
	}
	if (cJSON_IsString(v)) {
		char *buf = malloc(CONNECT_VALUE_MAX + 1);
		if (!buf) {
			*err = -ENOMEM;
			return NULL;
		}
		cJSON *s = NULL;
		if (connect_sanitize(v->valuestring, strlen(v->valuestring),
				     buf, CONNECT_VALUE_MAX + 1) < 0)
			*err = fail(why, whylen, -E2BIG, "value too long");
		else if (!(s = cJSON_CreateString(buf)))
			*err = -ENOMEM;
		free(buf);
		return s;
	}
	if (!cJSON_IsObject(v) && !cJSON_IsArray(v)) {
		cJSON *d = cJSON_Duplicate(v, false);
		if (!d)
			*err = -ENOMEM;
		return d;
	}
	cJSON *o =
		cJSON_IsArray(v) ? cJSON_CreateArray() : cJSON_CreateObject();
	if (!o) {
		*err = -ENOMEM;
		return NULL;
	}
	for (const cJSON *c = v->child; c; c = c->next) {
		cJSON *cc = clean_copy(c, depth + 1, why, whylen, err);
		if (!cc) {
			cJSON_Delete(o);
			return NULL;
		}
		if (cJSON_IsArray(v)) {
			cJSON_AddItemToArray(o, cc);
			continue;
		}
		char key[CONNECT_KEY_MAX + 1];
		if (connect_sanitize(c->string, strlen(c->string), key,
				     sizeof(key)) < 0) {
			*err = fail(why, whylen, -E2BIG, "key too long");
			cJSON_Delete(cc);
			cJSON_Delete(o);
			return NULL;
		}
		cJSON_AddItemToObject(o, key, cc);
	}
	return o;
}

int connect_answer_print(const struct cJSON *val, bool json, char **out,
			 size_t *len, char *why, size_t whylen)
{
	if (!val || !out || !len || !cJSON_IsObject(val))
		return -EINVAL;
	cJSON *o = NULL;
	int err = 0;
	if (json) {
		o = clean_copy(val, 0, why, whylen, &err);
	} else {
		struct flat *f = calloc(1, sizeof(*f));
		if (!f)
			return -ENOMEM;
		f->out = cJSON_CreateObject();
		f->why = why;
		f->whylen = whylen;
		err = f->out ? flat_walk(f, val, 0, 0) : -ENOMEM;
		o = f->out;
		free(f);
		if (err) {
			cJSON_Delete(o);
			o = NULL;
		}
	}
	if (!o)
		return err ? err : -ENOMEM;
	char *txt = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!txt)
		return -ENOMEM;
	size_t n = strlen(txt);
	if (n > CONNECT_ANSWER_MAX) {
		free(txt);
		if (why && whylen)
			snprintf(why, whylen,
				 "answer of %zu bytes exceeds the %d byte "
				 "limit of Amazon Connect",
				 n, CONNECT_ANSWER_MAX);
		return -E2BIG;
	}
	*out = txt;
	*len = n;
	return 0;
}
