/* Asterisk AGI wire format: replies, the environment block, argument
 * quoting. Pure functions over byte buffers; see agi.h. */
#include "telephony/asterisk/agi.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Length of the line at buf (without '\n', and without a trailing '\r'),
 * *next the offset after its '\n'. -EAGAIN without '\n', -E2BIG over cap. */
static int line_at(const char *buf, size_t len, size_t *llen, size_t *next)
{
	size_t max = len < AGI_LINE_MAX + 1 ? len : AGI_LINE_MAX + 1;
	const char *nl = memchr(buf, '\n', max);
	if (!nl)
		return len > AGI_LINE_MAX ? -E2BIG : -EAGAIN;
	size_t n = (size_t)(nl - buf);
	*next = n + 1;
	if (n && buf[n - 1] == '\r')
		n--;
	*llen = n;
	return 0;
}

static bool has_ctl(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
			return true;
	return false;
}

static bool starts(const char *s, size_t n, const char *p)
{
	size_t pl = strlen(p);
	return n >= pl && !memcmp(s, p, pl);
}

/* "-12" or "50": a decimal integer that fits a long. */
static bool parse_long(const char *s, long *v)
{
	if (!*s || strlen(s) > 18)
		return false;
	const char *p = s + (*s == '-');
	if (!*p)
		return false;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	*v = strtol(s, NULL, 10);
	return true;
}

/* Fields of "200 result=<v>[ (<data>)][ endpos=<n>]" after "200 ". */
static int parse_200(const char *s, size_t n, struct agi_reply *r)
{
	if (!starts(s, n, "result="))
		return -EBADMSG;
	s += 7;
	n -= 7;
	size_t i = 0;
	while (i < n && s[i] != ' ')
		i++;
	if (i >= sizeof(r->result))
		return -EBADMSG;
	memcpy(r->result, s, i);
	r->result[i] = '\0';
	r->result_num = parse_long(r->result, &r->value);
	while (i < n) {
		if (s[i] == ' ') {
			i++;
			continue;
		}
		if (s[i] == '(') {
			const char *close = memchr(s + i, ')', n - i);
			if (!close || r->data[0])
				return -EBADMSG;
			size_t dl = (size_t)(close - (s + i)) - 1;
			if (dl >= sizeof(r->data))
				return -EBADMSG;
			memcpy(r->data, s + i + 1, dl);
			r->data[dl] = '\0';
			i = (size_t)(close - s) + 1;
			continue;
		}
		if (starts(s + i, n - i, "endpos=")) {
			char num[24];
			size_t j = i + 7, k = 0;
			while (j < n && s[j] != ' ' && k < sizeof(num) - 1)
				num[k++] = s[j++];
			num[k] = '\0';
			if ((j < n && s[j] != ' ') || r->has_endpos ||
			    !parse_long(num, &r->endpos) || r->endpos < 0)
				return -EBADMSG;
			r->has_endpos = true;
			i = j;
			continue;
		}
		return -EBADMSG;
	}
	return 0;
}

int agi_reply_parse(const char *buf, size_t len, struct agi_reply *r,
		    size_t *used)
{
	if (!buf || !r || !used)
		return -EINVAL;
	size_t ll, next;
	int err = line_at(buf, len, &ll, &next);
	if (err)
		return err;
	if (has_ctl(buf, ll))
		return -EBADMSG;
	struct agi_reply t;
	memset(&t, 0, sizeof(t));
	if (ll == 6 && !memcmp(buf, "HANGUP", 6)) {
		t.kind = AGI_REPLY_HANGUP;
		*r = t;
		*used = next;
		return 0;
	}
	if (ll < 3 || buf[0] < '1' || buf[0] > '5' || buf[1] < '0' ||
	    buf[1] > '9' || buf[2] < '0' || buf[2] > '9' ||
	    (ll > 3 && buf[3] != ' ' && buf[3] != '-'))
		return -EBADMSG;
	t.code = (buf[0] - '0') * 100 + (buf[1] - '0') * 10 + (buf[2] - '0');
	size_t total = next;
	if (ll > 3 && buf[3] == '-') {
		/* Multi-line: "NNN-..." lines until "NNN ..." (Asterisk's
		 * usage text lines in between need not carry the code). */
		unsigned lines = 1;
		for (;;) {
			size_t l2, n2;
			err = line_at(buf + total, len - total, &l2, &n2);
			if (err)
				return err;
			if (++lines > AGI_REPLY_MAX_LINES)
				return -E2BIG;
			const char *ln = buf + total;
			total += n2;
			if (l2 >= 4 && !memcmp(ln, buf, 3) && ln[3] == ' ')
				break;
			if (l2 == 3 && !memcmp(ln, buf, 3))
				break;
		}
		if (t.code != 520)
			return -EBADMSG;
		t.kind = AGI_REPLY_USAGE;
		*r = t;
		*used = total;
		return 0;
	}
	const char *rest = buf + (ll > 3 ? 4 : 3);
	size_t rn = ll > 3 ? ll - 4 : 0;
	switch (t.code) {
	case 200:
		t.kind = AGI_REPLY_OK;
		err = parse_200(rest, rn, &t);
		if (err)
			return err;
		break;
	case 510:
		t.kind = AGI_REPLY_INVALID;
		break;
	case 511:
		t.kind = AGI_REPLY_DEAD;
		break;
	case 520:
		t.kind = AGI_REPLY_USAGE;
		break;
	default:
		return -EBADMSG;
	}
	*r = t;
	*used = total;
	return 0;
}

static int set_field(char *dst, size_t cap, const char *v, size_t vn)
{
	if (vn >= cap)
		return -E2BIG;
	memcpy(dst, v, vn);
	dst[vn] = '\0';
	return 0;
}

static int env_line(struct agi_env *env, const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	if (!colon || has_ctl(s, n))
		return -EBADMSG;
	size_t kn = (size_t)(colon - s);
	const char *v = colon + 1;
	size_t vn = n - kn - 1;
	if (vn && *v == ' ') {
		v++;
		vn--;
	}
	if (!starts(s, kn, "agi_") || kn > 64)
		return -EBADMSG;
	static const struct {
		const char *key;
		size_t off, cap;
	} fields[] = {
#define F(k, m) \
	{ k, offsetof(struct agi_env, m), sizeof(((struct agi_env *)0)->m) }
		F("agi_network_script", network_script),
		F("agi_request", request),
		F("agi_channel", channel),
		F("agi_uniqueid", uniqueid),
		F("agi_callerid", callerid),
		F("agi_calleridname", calleridname),
		F("agi_dnid", dnid),
		F("agi_extension", extension),
		F("agi_context", context),
#undef F
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (strlen(fields[i].key) == kn &&
		    !memcmp(s, fields[i].key, kn))
			return set_field((char *)env + fields[i].off,
					 fields[i].cap, v, vn);
	}
	if (starts(s, kn, "agi_arg_")) {
		char num[8];
		size_t dn = kn - 8;
		if (!dn || dn >= sizeof(num))
			return -EBADMSG;
		memcpy(num, s + 8, dn);
		num[dn] = '\0';
		long idx;
		if (!parse_long(num, &idx) || idx < 1 || num[0] == '0')
			return -EBADMSG;
		if (idx > AGI_ARGS_MAX)
			return 0; /* more args than we keep: ignored */
		int err = set_field(env->args[idx - 1], sizeof(env->args[0]), v,
				    vn);
		if (!err && (unsigned)idx > env->nargs)
			env->nargs = (unsigned)idx;
		return err;
	}
	return 0;
}

int agi_env_feed(struct agi_env *env, const char *buf, size_t len, size_t *used)
{
	if (!env || !buf || !used || env->done)
		return -EINVAL;
	size_t off = 0;
	for (;;) {
		size_t ll, next;
		int err = line_at(buf + off, len - off, &ll, &next);
		if (err == -EAGAIN &&
		    env->nbytes + (len - off) > AGI_ENV_MAX_BYTES)
			err = -E2BIG;
		if (err) {
			*used = off;
			return err;
		}
		if (++env->nlines > AGI_ENV_MAX_LINES ||
		    (env->nbytes += next) > AGI_ENV_MAX_BYTES)
			return -E2BIG;
		const char *ln = buf + off;
		off += next;
		if (!ll) {
			env->done = true;
			*used = off;
			return 0;
		}
		err = env_line(env, ln, ll);
		if (err)
			return err;
	}
}

static bool name_ok(const char *s, size_t n)
{
	if (!n || n > 63)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '.'))
			return false;
	}
	return !(n <= 2 && s[0] == '.');
}

const char *agi_env_flow(const struct agi_env *env, char *buf, size_t cap)
{
	if (!env || !buf || cap < 64)
		return NULL;
	const char *u = env->network_script;
	size_t n = strcspn(u, "?");
	while (n && u[n - 1] == '/')
		n--;
	size_t st = n;
	while (st && u[st - 1] != '/')
		st--;
	if (name_ok(u + st, n - st)) {
		memcpy(buf, u + st, n - st);
		buf[n - st] = '\0';
		return buf;
	}
	if (env->nargs && name_ok(env->args[0], strlen(env->args[0]))) {
		strcpy(buf, env->args[0]);
		return buf;
	}
	return NULL;
}

int agi_quote(char *out, size_t cap, const char *s)
{
	if (!out || !cap || !s)
		return -EINVAL;
	size_t o = 0;
	if (o + 1 >= cap)
		goto nospace;
	out[o++] = '"';
	for (; *s; s++) {
		char c = *s;
		if ((unsigned char)c < 0x20 || c == 0x7f)
			c = ' ';
		if (c == '"' || c == '\\') {
			if (o + 1 >= cap)
				goto nospace;
			out[o++] = '\\';
		}
		if (o + 1 >= cap)
			goto nospace;
		out[o++] = c;
	}
	if (o + 1 >= cap)
		goto nospace;
	out[o++] = '"';
	out[o] = '\0';
	return o > INT_MAX ? -ENOSPC : (int)o;
nospace:
	out[0] = '\0';
	return -ENOSPC;
}
