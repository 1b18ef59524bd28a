/* Structured log lines (see log.h). Each event is formatted into a stack
 * buffer and written with one write(2), so lines from threads never mix. */
#include "core/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum log_level g_min = LOG_LVL_INFO;
static enum log_format g_fmt = LOG_FMT_KV;
static int g_fd = 2;

static const char *const lvl_names[] = { "debug", "info", "warn", "error" };

void log_setup(enum log_level min, enum log_format fmt, int fd)
{
	g_min = min;
	g_fmt = fmt;
	g_fd = fd;
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (unsigned i = 0; i < 4; i++) {
		if (s && !strcmp(s, lvl_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

int log_format_parse(const char *s, enum log_format *out)
{
	if (s && !strcmp(s, "kv")) {
		*out = LOG_FMT_KV;
		return 0;
	}
	if (s && !strcmp(s, "json")) {
		*out = LOG_FMT_JSON;
		return 0;
	}
	return -EINVAL;
}

/* Appends at *pos within cap, never past it; returns the new position. */
static size_t put(char *buf, size_t cap, size_t pos, const char *s, size_t n)
{
	if (pos >= cap)
		return pos;
	if (n > cap - pos)
		n = cap - pos;
	memcpy(buf + pos, s, n);
	return pos + n;
}

static size_t put_json_str(char *buf, size_t cap, size_t pos, const char *s,
			   size_t n)
{
	pos = put(buf, cap, pos, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			pos = put(buf, cap, pos, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			int k = snprintf(esc, sizeof(esc), "\\u%04x", c);
			pos = put(buf, cap, pos, esc, (size_t)k);
		} else {
			pos = put(buf, cap, pos, (const char *)&s[i], 1);
		}
	}
	return put(buf, cap, pos, "\"", 1);
}

/* Convert "k=v k2=\"a b\"" to JSON members. A quoted value is unescaped
 * from log_esc() form (\" \\ \n \xNN) and re-escaped for JSON. */
static size_t kv_to_json(char *buf, size_t cap, size_t pos, const char *kv)
{
	const char *p = kv;
	while (*p) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		const char *k = p;
		while (*p && *p != '=' && *p != ' ')
			p++;
		size_t klen = (size_t)(p - k);
		pos = put(buf, cap, pos, ",", 1);
		pos = put_json_str(buf, cap, pos, k, klen);
		pos = put(buf, cap, pos, ":", 1);
		if (*p != '=') {
			pos = put(buf, cap, pos, "true", 4);
			continue;
		}
		p++;
		char val[512];
		size_t vlen = 0;
		if (*p == '"') {
			p++;
			while (*p && *p != '"') {
				char c = *p++;
				if (c == '\\' && *p) {
					char e = *p++;
					if (e == 'n')
						c = '\n';
					else if (e == 'x' && p[0] && p[1]) {
						unsigned v = 0;
						sscanf(p, "%2x", &v);
						c = (char)v;
						p += 2;
					} else
						c = e;
				}
				if (vlen < sizeof(val))
					val[vlen++] = c;
			}
			if (*p == '"')
				p++;
		} else {
			while (*p && *p != ' ') {
				if (vlen < sizeof(val))
					val[vlen++] = *p;
				p++;
			}
		}
		pos = put_json_str(buf, cap, pos, val, vlen);
	}
	return pos;
}

void log_eventv(enum log_level lvl, const char *call_id, const char *event,
		const char *fmt, va_list ap)
{
	if (lvl < g_min)
		return;
	char kv[2048];
	kv[0] = '\0';
	if (fmt)
		vsnprintf(kv, sizeof(kv), fmt, ap);

	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	char ts[64];
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000) % 1000);

	char line[4096];
	const size_t cap = sizeof(line) - 1; /* room for '\n' */
	size_t pos = 0;
	if (g_fmt == LOG_FMT_JSON) {
		pos = put(line, cap, pos, "{\"ts\":", 6);
		pos = put_json_str(line, cap, pos, ts, strlen(ts));
		pos = put(line, cap, pos, ",\"level\":", 9);
		pos = put_json_str(line, cap, pos, lvl_names[lvl],
				   strlen(lvl_names[lvl]));
		pos = put(line, cap, pos, ",\"event\":", 9);
		pos = put_json_str(line, cap, pos, event, strlen(event));
		if (call_id) {
			pos = put(line, cap, pos, ",\"call\":", 8);
			pos = put_json_str(line, cap, pos, call_id,
					   strlen(call_id));
		}
		pos = kv_to_json(line, cap, pos, kv);
		pos = put(line, cap, pos, "}", 1);
	} else {
		int n = snprintf(line, cap, "ts=%s level=%s event=%s%s%s%s%s",
				 ts, lvl_names[lvl], event,
				 call_id ? " call=" : "",
				 call_id ? call_id : "", kv[0] ? " " : "", kv);
		pos = n < 0 ? 0 : ((size_t)n > cap ? cap : (size_t)n);
	}
	line[pos++] = '\n';
	ssize_t w = write(g_fd, line, pos);
	(void)w;
}

void log_event(enum log_level lvl, const char *call_id, const char *event,
	       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_eventv(lvl, call_id, event, fmt, ap);
	va_end(ap);
}

const char *log_esc(const char *s)
{
	/* 200 input bytes of up to 4 output bytes each, quotes, NUL */
	static _Thread_local char bufs[8][200 * 4 + 3];
	static _Thread_local unsigned next;
	char *b = bufs[next++ & 7];
	size_t pos = 0;
	b[pos++] = '"';
	for (size_t i = 0; s && s[i] && i < 200; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			b[pos++] = '\\';
			b[pos++] = (char)c;
		} else if (c == '\n') {
			b[pos++] = '\\';
			b[pos++] = 'n';
		} else if (c < 0x20 || c == 0x7f) {
			pos += (size_t)snprintf(b + pos, 5, "\\x%02x", c);
		} else {
			b[pos++] = (char)c;
		}
	}
	b[pos++] = '"';
	b[pos] = '\0';
	return b;
}
