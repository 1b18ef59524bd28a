/* voxgate.yaml: a table-driven schema walked over a ydoc tree. Every error
 * is collected (not only the first) so one check-config run shows them
 * all; the result is published to the caller only when there are none. */
#include "config/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config/ydoc.h"

#ifndef VOXGATE_VERSION
#define VOXGATE_VERSION "0"
#endif

#define MS_PER_S 1000u
#define MS_PER_MIN (60u * MS_PER_S)
#define MS_PER_H (60u * MS_PER_MIN)
#define KB 1024ull
#define MB (1024ull * KB)
#define GB (1024ull * MB)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

_Static_assert(sizeof(enum log_level) == sizeof(int), "enum size");
_Static_assert(sizeof(enum config_voice) == sizeof(int), "enum size");

enum kind {
	K_UINT,	  /* integer into a u8/u16/u32 field (width = size) */
	K_MS,	  /* duration into a u32 field, milliseconds */
	K_BYTES,  /* size into a u64 field */
	K_STR,	  /* string into char[size], checked by check() */
	K_ENUM,	  /* one of names[] into an int-sized enum field */
	K_IP,	  /* bare IP address into char[CONFIG_HOST_LEN] */
	K_ADDR,	  /* ip:port into struct config_addr */
	K_LISTEN, /* sip.listen list */
	K_CODECS, /* rtp.codecs list */
	K_ROUTES, /* flows.routes list */
	K_BOOL,	  /* true/false into a bool field */
	K_URLS,	  /* webhooks.urls list */
	K_QUEUES, /* transfer.queues map */
	K_RATIO,  /* number 0..1 (0..max when set) into a float field */
	K_CCFNS,  /* connect.functions list */
	K_CCINTS, /* connect.lex_intents list */
};

/* Settings checked against each other once every key is read. */
enum track {
	TR_NONE,
	TR_PORT_MIN,
	TR_PORT_MAX,
	TR_JIT_MIN,
	TR_JIT_MAX,
	TR_WH_URLS,
	TR_WH_SECRET,
	TR_TW_ENABLED,
	TR_TW_MEDIA,
	TR_TW_MEDIA_CALLS,
	TR_AGI_ENABLED,
	TR_CC_ENABLED,
	TR_GB_ENABLED,
	TR_AH_ENABLED,
	TR_N
};

struct setting {
	const char *key;
	enum kind kind;
	size_t off;
	size_t size;
	uint64_t min;
	uint64_t max;
	bool even;
	enum track track;
	bool (*check)(const char *s, size_t len);
	const char *what; /* K_STR: "must be <what>" */
	const char *const *names;
	size_t nnames;
};

struct section {
	const char *key;
	const struct setting *settings;
	size_t n;
};

struct ctx {
	const char *name;
	struct vg_config *cfg;
	struct config_errors *errs;
	unsigned nerr;
	bool oom;
	const struct ydoc_node *tracked[TR_N]; /* set only when valid */
	bool invalid[TR_N]; /* present in the file but rejected */
};

/* ---- string checks ---- */

static bool check_printable(const char *s, size_t len)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	}
	return true;
}

/* SIP URIs go into headers verbatim: no spaces or control bytes. */
static bool check_sip_uri(const char *s, size_t len)
{
	if (!len)
		return true;
	if (strncmp(s, "sip:", 4) && strncmp(s, "sips:", 5))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] <= 0x20 || s[i] > 0x7e)
			return false;
	}
	return len > (s[3] == ':' ? 4u : 5u);
}

static bool check_path_chars(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static bool check_path(const char *s, size_t len)
{
	return len && check_path_chars(s, len);
}

static bool check_path_or_empty(const char *s, size_t len)
{
	return check_path_chars(s, len);
}

/* Flow names show up in logs, CDRs and metric labels: keep them plain. */
static bool check_flow_name(const char *s, size_t len)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

static bool check_route_number(const char *s, size_t len)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("+#*._-", c)))
			return false;
	}
	return true;
}

/* ---- schema ---- */

#define CFG_OFF(field) offsetof(struct vg_config, field)
#define CFG_SIZE(field) sizeof(((struct vg_config *)0)->field)

static const char *const voice_names[] = { "kal", "slt" };
static const char *const level_names[] = { "debug", "info", "warn", "error" };
static const char *const format_names[] = { "kv", "json" };
static const char *const codec_names[] = { "PCMU", "PCMA" };
static const char *const transport_names[] = { "udp", "tcp" };

#define FLOW_NAME_WHAT "a flow name of 1 to 63 letters, digits, '.', '_' or '-'"

static const struct setting sip_settings[] = {
	{ .key = "listen", .kind = K_LISTEN },
	{ .key = "user_agent",
	  .kind = K_STR,
	  .off = CFG_OFF(sip.user_agent),
	  .size = CFG_SIZE(sip.user_agent),
	  .check = check_printable,
	  .what = "1 to 255 printable ASCII characters" },
	{ .key = "answer_delay",
	  .kind = K_MS,
	  .off = CFG_OFF(sip.answer_delay_ms),
	  .max = 60 * MS_PER_S },
	{ .key = "agent_uri",
	  .kind = K_STR,
	  .off = CFG_OFF(sip.agent_uri),
	  .size = CFG_SIZE(sip.agent_uri),
	  .check = check_sip_uri,
	  .what = "a sip: or sips: URI of at most 255 characters without "
		  "spaces, or \"\"" },
};

static const struct setting rtp_settings[] = {
	{ .key = "address", .kind = K_IP, .off = CFG_OFF(rtp.address) },
	{ .key = "port_min",
	  .kind = K_UINT,
	  .off = CFG_OFF(rtp.port_min),
	  .size = CFG_SIZE(rtp.port_min),
	  .min = 1024,
	  .max = 65534,
	  .even = true,
	  .track = TR_PORT_MIN },
	{ .key = "port_max",
	  .kind = K_UINT,
	  .off = CFG_OFF(rtp.port_max),
	  .size = CFG_SIZE(rtp.port_max),
	  .min = 1025,
	  .max = 65535,
	  .track = TR_PORT_MAX },
	{ .key = "codecs", .kind = K_CODECS },
	{ .key = "telephone_event_pt",
	  .kind = K_UINT,
	  .off = CFG_OFF(rtp.telephone_event_pt),
	  .size = CFG_SIZE(rtp.telephone_event_pt),
	  .min = 96,
	  .max = 127 },
	{ .key = "jitter_min",
	  .kind = K_MS,
	  .off = CFG_OFF(rtp.jitter_min_ms),
	  .max = MS_PER_S,
	  .track = TR_JIT_MIN },
	{ .key = "jitter_max",
	  .kind = K_MS,
	  .off = CFG_OFF(rtp.jitter_max_ms),
	  .max = 2 * MS_PER_S,
	  .track = TR_JIT_MAX },
	{ .key = "media_timeout",
	  .kind = K_MS,
	  .off = CFG_OFF(rtp.media_timeout_ms),
	  .max = MS_PER_H },
	{ .key = "rtcp_interval",
	  .kind = K_MS,
	  .off = CFG_OFF(rtp.rtcp_interval_ms),
	  .max = MS_PER_MIN },
};

static const struct setting http_settings[] = {
	{ .key = "listen", .kind = K_ADDR, .off = CFG_OFF(http.listen) },
};

static const struct setting limits_settings[] = {
	{ .key = "max_calls",
	  .kind = K_UINT,
	  .off = CFG_OFF(limits.max_calls),
	  .size = CFG_SIZE(limits.max_calls),
	  .min = 1,
	  .max = 100000 },
	{ .key = "worker_threads",
	  .kind = K_UINT,
	  .off = CFG_OFF(limits.worker_threads),
	  .size = CFG_SIZE(limits.worker_threads),
	  .min = 1,
	  .max = 64 },
	{ .key = "worker_queue",
	  .kind = K_UINT,
	  .off = CFG_OFF(limits.worker_queue),
	  .size = CFG_SIZE(limits.worker_queue),
	  .min = 1,
	  .max = 100000 },
	{ .key = "media_rt_priority",
	  .kind = K_UINT,
	  .off = CFG_OFF(limits.media_rt_priority),
	  .size = CFG_SIZE(limits.media_rt_priority),
	  .min = 0,
	  .max = 99 },
};

static const struct setting store_settings[] = {
	{ .key = "path",
	  .kind = K_STR,
	  .off = CFG_OFF(store.path),
	  .size = CFG_SIZE(store.path),
	  .check = check_path,
	  .what = "a file path of 1 to 1023 bytes without control characters" },
	{ .key = "crm_demo", .kind = K_BOOL, .off = CFG_OFF(store.crm_demo) },
};

static const struct setting http_client_settings[] = {
	{ .key = "max_host_connections",
	  .kind = K_UINT,
	  .off = CFG_OFF(http_client.max_host_connections),
	  .size = CFG_SIZE(http_client.max_host_connections),
	  .min = 1,
	  .max = 1024 },
	{ .key = "max_total_connections",
	  .kind = K_UINT,
	  .off = CFG_OFF(http_client.max_total_connections),
	  .size = CFG_SIZE(http_client.max_total_connections),
	  .min = 1,
	  .max = 10000 },
	{ .key = "max_queued",
	  .kind = K_UINT,
	  .off = CFG_OFF(http_client.max_queued),
	  .size = CFG_SIZE(http_client.max_queued),
	  .min = 1,
	  .max = 100000 },
	{ .key = "breaker_failures",
	  .kind = K_UINT,
	  .off = CFG_OFF(http_client.breaker_failures),
	  .size = CFG_SIZE(http_client.breaker_failures),
	  .min = 1,
	  .max = 1000 },
	{ .key = "breaker_cooldown",
	  .kind = K_MS,
	  .off = CFG_OFF(http_client.breaker_cooldown_ms),
	  .min = 100,
	  .max = MS_PER_H },
	{ .key = "max_response_size",
	  .kind = K_BYTES,
	  .off = CFG_OFF(http_client.max_response_bytes),
	  .size = CFG_SIZE(http_client.max_response_bytes),
	  .min = KB,
	  .max = 256 * MB },
};

/* Webhook events: known names, comma-separated, no repeats; "" = all but
 * "partial" (http/webhook.c). */
static bool check_webhook_events(const char *s, size_t len)
{
	static const char *const known[] = { "started", "intent", "transferred",
					     "ended", "partial" };
	bool seen[ARRAY_LEN(known)] = { false };
	size_t i = 0;

	if (!len)
		return true;
	while (i <= len) {
		size_t j = i;
		size_t k;

		while (j < len && s[j] != ',')
			j++;
		for (k = 0; k < ARRAY_LEN(known); k++)
			if (strlen(known[k]) == j - i &&
			    !strncmp(known[k], s + i, j - i))
				break;
		if (k == ARRAY_LEN(known) || seen[k])
			return false;
		seen[k] = true;
		i = j + 1;
	}
	return true;
}

/* HMAC key: printable ASCII, long enough not to be guessed; "" is
 * checked against urls once all keys are read. */
static bool check_secret(const char *s, size_t len)
{
	return !len || (len >= 16 && check_printable(s, len));
}

static const struct setting webhooks_settings[] = {
	{ .key = "urls", .kind = K_URLS, .track = TR_WH_URLS },
	{ .key = "secret",
	  .kind = K_STR,
	  .off = CFG_OFF(webhooks.secret),
	  .size = CFG_SIZE(webhooks.secret),
	  .check = check_secret,
	  .what = "16 to 255 printable ASCII characters (\"\" only without "
		  "urls)",
	  .track = TR_WH_SECRET },
	{ .key = "events",
	  .kind = K_STR,
	  .off = CFG_OFF(webhooks.events),
	  .size = CFG_SIZE(webhooks.events),
	  .check = check_webhook_events,
	  .what = "a comma-separated list of started, intent, transferred, "
		  "ended and partial, each at most once, or \"\" for all "
		  "but partial" },
	{ .key = "timeout",
	  .kind = K_MS,
	  .off = CFG_OFF(webhooks.timeout_ms),
	  .min = 100,
	  .max = 60 * MS_PER_S },
	{ .key = "retries",
	  .kind = K_UINT,
	  .off = CFG_OFF(webhooks.retries),
	  .size = CFG_SIZE(webhooks.retries),
	  .min = 0,
	  .max = 10 },
};

static const struct setting nlu_settings[] = {
	{ .key = "models_dir",
	  .kind = K_STR,
	  .off = CFG_OFF(nlu.models_dir),
	  .size = CFG_SIZE(nlu.models_dir),
	  .check = check_path_or_empty,
	  .what = "a directory path of at most 1023 bytes without control "
		  "characters, or \"\"" },
};

static const struct setting recordings_settings[] = {
	{ .key = "dir",
	  .kind = K_STR,
	  .off = CFG_OFF(recordings.dir),
	  .size = CFG_SIZE(recordings.dir),
	  .check = check_path_or_empty,
	  .what = "a directory path of at most 1023 bytes without control "
		  "characters, or \"\"" },
};

/* Asterisk adapters: FastAGI (agi_*) and AudioSocket (audiosocket_*). */
static bool check_flow_name_or_empty(const char *s, size_t len)
{
	return !len || check_flow_name(s, len);
}

/* A Dial() string for FastAGI transfers: "" (the built-in default) or
 * printable ASCII without spaces holding either exactly one "%s" and no
 * other '%' (the target goes there), or no '%' and placeholders ${user},
 * ${host}, ${uri} only. */
#define DIAL_FMT_WHAT                                                       \
	"\"\" or a dial string with exactly one %s (and no other '%'), or " \
	"with ${user}/${host}/${uri}, no spaces, at most 63 bytes (e.g. "   \
	"\"PJSIP/%s\", \"PJSIP/${user}@my-trunk\")"
static bool check_dial_fmt(const char *s, size_t len)
{
	const char *pc;

	if (!len)
		return true;
	for (size_t i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] > 0x7e)
			return false;
	if (strstr(s, "${")) {
		if (strchr(s, '%'))
			return false;
		for (pc = strstr(s, "${"); pc; pc = strstr(pc + 2, "${"))
			if (strncmp(pc, "${user}", 7) &&
			    strncmp(pc, "${host}", 7) &&
			    strncmp(pc, "${uri}", 6))
				return false;
		return true;
	}
	pc = strstr(s, "%s");
	return pc && strchr(s, '%') == pc && !strchr(pc + 2, '%');
}

static bool check_app_name(const char *s, size_t len)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

static const struct setting asterisk_settings[] = {
	{ .key = "agi_enabled",
	  .kind = K_BOOL,
	  .off = CFG_OFF(asterisk.agi_enabled),
	  .track = TR_AGI_ENABLED },
	{ .key = "agi_listen",
	  .kind = K_ADDR,
	  .off = CFG_OFF(asterisk.agi_listen) },
	{ .key = "sounds_dir",
	  .kind = K_STR,
	  .off = CFG_OFF(asterisk.sounds_dir),
	  .size = CFG_SIZE(asterisk.sounds_dir),
	  .check = check_path_or_empty,
	  .what = "a directory path of at most 1023 bytes without control "
		  "characters, or \"\"" },
	{ .key = "default_flow",
	  .kind = K_STR,
	  .off = CFG_OFF(asterisk.default_flow),
	  .size = CFG_SIZE(asterisk.default_flow),
	  .check = check_flow_name_or_empty,
	  .what = FLOW_NAME_WHAT ", or \"\" (flows.default)" },
	{ .key = "audiosocket_enabled",
	  .kind = K_BOOL,
	  .off = CFG_OFF(asterisk.audiosocket_enabled) },
	{ .key = "audiosocket_listen",
	  .kind = K_ADDR,
	  .off = CFG_OFF(asterisk.audiosocket_listen) },
	{ .key = "dial_sip",
	  .kind = K_STR,
	  .off = CFG_OFF(asterisk.dial_sip),
	  .size = CFG_SIZE(asterisk.dial_sip),
	  .check = check_dial_fmt,
	  .what = DIAL_FMT_WHAT },
	{ .key = "dial_tel",
	  .kind = K_STR,
	  .off = CFG_OFF(asterisk.dial_tel),
	  .size = CFG_SIZE(asterisk.dial_tel),
	  .check = check_dial_fmt,
	  .what = DIAL_FMT_WHAT },
	{ .key = "queue_app",
	  .kind = K_STR,
	  .off = CFG_OFF(asterisk.queue_app),
	  .size = CFG_SIZE(asterisk.queue_app),
	  .check = check_app_name,
	  .what = "an Asterisk application name (letters, digits, '_'), at "
		  "most 63 bytes" },
};

static const struct setting transfer_settings[] = {
	{ .key = "queues", .kind = K_QUEUES },
};

static bool check_http_url(const char *s, size_t len);

/* Twilio's base URL of voxgate: http(s), a host, no query, fragment or
 * trailing '/' (paths are appended to it). */
static bool check_public_url(const char *s, size_t len)
{
	return !len || (check_http_url(s, len) && !memchr(s, '?', len) &&
			!memchr(s, '#', len) && s[len - 1] != '/');
}

/* "" (off) or printable ASCII. */
static bool check_token(const char *s, size_t len)
{
	return !len || check_printable(s, len);
}

/* Voice and language of <Say>: letters, digits, '.', '-', '_'. */
static bool check_say_name(const char *s, size_t len)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
		      ch == '_'))
			return false;
	}
	return true;
}

/* Base64 (standard alphabet, '=' padding), or "". */
static bool check_b64_or_empty(const char *s, size_t len)
{
	size_t pad = 0;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (ch == '=') {
			pad++;
			continue;
		}
		if (pad ||
		    !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '+' || ch == '/'))
			return false;
	}
	return pad <= 2 && len % 4 == 0;
}

/* genesys_bot.bots: flow names separated by commas, or "". */
static bool check_flow_list(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t j = i;
		while (j < len && s[j] != ',')
			j++;
		if (!check_flow_name(s + i, j - i) || j + 1 == len)
			return false;
		i = j + 1;
	}
	return true;
}

/* An HTTP header name (RFC 9110 token). */
static bool check_header_name(const char *s, size_t len)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9');
		if (!alnum && (!c || !strchr("!#$%&'*+-.^_`|~", c)))
			return false;
	}
	return true;
}

/* Genesys Bot Connector + Audio Connector bot. */
static const struct setting genesys_bot_settings[] = {
	{ .key = "enabled",
	  .kind = K_BOOL,
	  .off = CFG_OFF(genesys_bot.enabled),
	  .track = TR_GB_ENABLED },
	{ .key = "api_key",
	  .kind = K_STR,
	  .off = CFG_OFF(genesys_bot.api_key),
	  .size = CFG_SIZE(genesys_bot.api_key),
	  .check = check_token,
	  .what = "the key Genesys sends in api_key_header: 1 to 255 "
		  "printable ASCII characters, or \"\"" },
	{ .key = "api_key_header",
	  .kind = K_STR,
	  .off = CFG_OFF(genesys_bot.api_key_header),
	  .size = CFG_SIZE(genesys_bot.api_key_header),
	  .check = check_header_name,
	  .what = "an HTTP header name such as \"X-API-KEY\"" },
	{ .key = "bots",
	  .kind = K_STR,
	  .off = CFG_OFF(genesys_bot.bots),
	  .size = CFG_SIZE(genesys_bot.bots),
	  .check = check_flow_list,
	  .what = "flow names separated by commas (\"bank-hotline,"
		  "bank-crm\"), or \"\" for every flow" },
	{ .key = "language",
	  .kind = K_STR,
	  .off = CFG_OFF(genesys_bot.language),
	  .size = CFG_SIZE(genesys_bot.language),
	  .check = check_say_name,
	  .what = "a language tag such as \"en-us\"" },
	{ .key = "session_timeout",
	  .kind = K_MS,
	  .off = CFG_OFF(genesys_bot.session_timeout_ms),
	  .min = MS_PER_MIN,
	  .max = 24 * MS_PER_H },
	{ .key = "audio_flow",
	  .kind = K_STR,
	  .off = CFG_OFF(genesys_bot.audio_flow),
	  .size = CFG_SIZE(genesys_bot.audio_flow),
	  .check = check_flow_name_or_empty,
	  .what = "a flow name (letters, digits, '.', '_', '-'), or \"\"" },
};

/* Genesys AudioHook monitor (media adapter). */
static const struct setting genesys_settings[] = {
	{ .key = "enabled",
	  .kind = K_BOOL,
	  .off = CFG_OFF(genesys.enabled),
	  .track = TR_AH_ENABLED },
	{ .key = "listen", .kind = K_ADDR, .off = CFG_OFF(genesys.listen) },
	{ .key = "api_key",
	  .kind = K_STR,
	  .off = CFG_OFF(genesys.api_key),
	  .size = CFG_SIZE(genesys.api_key),
	  .check = check_token,
	  .what = "the AudioHook integration's API key (X-API-KEY): "
		  "printable ASCII, or \"\"" },
	{ .key = "client_secret",
	  .kind = K_STR,
	  .off = CFG_OFF(genesys.client_secret),
	  .size = CFG_SIZE(genesys.client_secret),
	  .check = check_b64_or_empty,
	  .what = "the integration's client secret as Genesys shows it "
		  "(base64), or \"\"" },
	{ .key = "require_signature",
	  .kind = K_BOOL,
	  .off = CFG_OFF(genesys.require_signature) },
	{ .key = "signature_max_age",
	  .kind = K_MS,
	  .off = CFG_OFF(genesys.signature_max_age_ms),
	  .min = 1000,
	  .max = 60 * MS_PER_MIN },
	{ .key = "idle_timeout",
	  .kind = K_MS,
	  .off = CFG_OFF(genesys.idle_timeout_ms),
	  .min = 0,
	  .max = 60 * MS_PER_MIN },
	{ .key = "knowledge",
	  .kind = K_STR,
	  .off = CFG_OFF(genesys.knowledge),
	  .size = CFG_SIZE(genesys.knowledge),
	  .check = check_path_or_empty,
	  .what = "a YAML or JSON knowledge file path, or \"\"" },
	{ .key = "model",
	  .kind = K_STR,
	  .off = CFG_OFF(genesys.model),
	  .size = CFG_SIZE(genesys.model),
	  .check = check_flow_name,
	  .what = "an NLU model name such as \"default\"" },
	{ .key = "min_confidence",
	  .kind = K_RATIO,
	  .off = CFG_OFF(genesys.min_confidence) },
	{ .key = "partials", .kind = K_BOOL, .off = CFG_OFF(genesys.partials) },
	{ .key = "language",
	  .kind = K_STR,
	  .off = CFG_OFF(genesys.language),
	  .size = CFG_SIZE(genesys.language),
	  .check = check_say_name,
	  .what = "a language tag such as \"en-US\"" },
};

/* Twilio webhooks + TwiML (control adapter). */
static const struct setting twilio_settings[] = {
	{ .key = "enabled",
	  .kind = K_BOOL,
	  .off = CFG_OFF(twilio.enabled),
	  .track = TR_TW_ENABLED },
	{ .key = "auth_token",
	  .kind = K_STR,
	  .off = CFG_OFF(twilio.auth_token),
	  .size = CFG_SIZE(twilio.auth_token),
	  .check = check_token,
	  .what = "the account's auth token: 1 to 255 printable ASCII "
		  "characters, or \"\"" },
	{ .key = "public_url",
	  .kind = K_STR,
	  .off = CFG_OFF(twilio.public_url),
	  .size = CFG_SIZE(twilio.public_url),
	  .check = check_public_url,
	  .what = "an http:// or https:// base URL without query, fragment "
		  "or trailing '/', e.g. \"https://vg.example.com\", or \"\"" },
	{ .key = "voice",
	  .kind = K_STR,
	  .off = CFG_OFF(twilio.voice),
	  .size = CFG_SIZE(twilio.voice),
	  .check = check_say_name,
	  .what = "a Twilio voice name such as \"Polly.Joanna\" (letters, "
		  "digits, '.', '-', '_')" },
	{ .key = "language",
	  .kind = K_STR,
	  .off = CFG_OFF(twilio.language),
	  .size = CFG_SIZE(twilio.language),
	  .check = check_say_name,
	  .what = "a language tag such as \"en-US\"" },
	/* Media Streams (media adapter): the WebSocket listener. */
	{ .key = "media_enabled",
	  .kind = K_BOOL,
	  .off = CFG_OFF(twilio.media_enabled),
	  .track = TR_TW_MEDIA },
	{ .key = "media_listen",
	  .kind = K_ADDR,
	  .off = CFG_OFF(twilio.media_listen) },
	{ .key = "media_calls",
	  .kind = K_BOOL,
	  .off = CFG_OFF(twilio.media_calls),
	  .track = TR_TW_MEDIA_CALLS },
	{ .key = "backend_timeout",
	  .kind = K_MS,
	  .off = CFG_OFF(twilio.backend_timeout_ms),
	  .min = 100,
	  .max = 120 * MS_PER_S },
	{ .key = "backend_wait",
	  .kind = K_MS,
	  .off = CFG_OFF(twilio.backend_wait_ms),
	  .min = 100,
	  .max = 14 * MS_PER_S },
	{ .key = "redirects_max",
	  .kind = K_UINT,
	  .off = CFG_OFF(twilio.redirects_max),
	  .size = CFG_SIZE(twilio.redirects_max),
	  .min = 1,
	  .max = 100 },
};

static const struct setting flows_settings[] = {
	{ .key = "dir",
	  .kind = K_STR,
	  .off = CFG_OFF(flows.dir),
	  .size = CFG_SIZE(flows.dir),
	  .check = check_path_or_empty,
	  .what = "a directory path of at most 1023 bytes without control "
		  "characters, or \"\"" },
	{ .key = "default",
	  .kind = K_STR,
	  .off = CFG_OFF(flows.default_flow),
	  .size = CFG_SIZE(flows.default_flow),
	  .check = check_flow_name,
	  .what = FLOW_NAME_WHAT },
	{ .key = "routes", .kind = K_ROUTES },
};

static const struct setting tts_settings[] = {
	{ .key = "voice",
	  .kind = K_ENUM,
	  .off = CFG_OFF(tts.voice),
	  .names = voice_names,
	  .nnames = ARRAY_LEN(voice_names) },
	{ .key = "cache_size",
	  .kind = K_BYTES,
	  .off = CFG_OFF(tts.cache_size_bytes),
	  .max = GB },
	{ .key = "cache_dir",
	  .kind = K_STR,
	  .off = CFG_OFF(tts.cache_dir),
	  .size = CFG_SIZE(tts.cache_dir),
	  .check = check_path_or_empty,
	  .what = "a directory path of at most 1023 bytes without control "
		  "characters, or \"\"" },
};

/* "moonshine,pocketsphinx": known engine names, no repeats. */
static bool check_stt_engines(const char *s, size_t len)
{
	static const char *const known[] = { "moonshine", "pocketsphinx" };
	bool seen[ARRAY_LEN(known)] = { false };
	size_t i = 0;
	if (!len)
		return false;
	while (i <= len) {
		size_t j = i;
		while (j < len && s[j] != ',')
			j++;
		size_t k;
		for (k = 0; k < ARRAY_LEN(known); k++)
			if (strlen(known[k]) == j - i &&
			    !strncmp(known[k], s + i, j - i))
				break;
		if (k == ARRAY_LEN(known) || seen[k])
			return false;
		seen[k] = true;
		i = j + 1;
	}
	return true;
}

static const struct setting stt_settings[] = {
	{ .key = "engines",
	  .kind = K_STR,
	  .off = CFG_OFF(stt.engines),
	  .size = CFG_SIZE(stt.engines),
	  .check = check_stt_engines,
	  .what = "a comma-separated list of moonshine and pocketsphinx, "
		  "each at most once (e.g. \"moonshine,pocketsphinx\")" },
	{ .key = "deadline",
	  .kind = K_MS,
	  .off = CFG_OFF(stt.deadline_ms),
	  .max = 60 * MS_PER_S },
	{ .key = "early_decode",
	  .kind = K_MS,
	  .off = CFG_OFF(stt.early_ms),
	  .max = 2 * MS_PER_S },
	{ .key = "continue_window",
	  .kind = K_MS,
	  .off = CFG_OFF(stt.continue_ms),
	  .max = 2 * MS_PER_S },
	{ .key = "stream", .kind = K_BOOL, .off = CFG_OFF(stt.stream) },
	{ .key = "partial_every",
	  .kind = K_MS,
	  .off = CFG_OFF(stt.partial_every_ms),
	  .max = 10 * MS_PER_S },
	{ .key = "models_dir",
	  .kind = K_STR,
	  .off = CFG_OFF(stt.models_dir),
	  .size = CFG_SIZE(stt.models_dir),
	  .check = check_path_or_empty,
	  .what = "a directory path of at most 1023 bytes without control "
		  "characters, or \"\"" },
	{ .key = "threads",
	  .kind = K_UINT,
	  .off = CFG_OFF(stt.threads),
	  .size = CFG_SIZE(stt.threads),
	  .min = 1,
	  .max = 16 },
	{ .key = "decoders",
	  .kind = K_UINT,
	  .off = CFG_OFF(stt.decoders),
	  .size = CFG_SIZE(stt.decoders),
	  .min = 1,
	  .max = 64 },
	{ .key = "lm_beam",
	  .kind = K_UINT,
	  .off = CFG_OFF(stt.lm_beam),
	  .size = CFG_SIZE(stt.lm_beam),
	  .min = 1,
	  .max = 16 },
	{ .key = "lm_weight",
	  .kind = K_RATIO,
	  .off = CFG_OFF(stt.lm_weight),
	  .max = 4 },
	{ .key = "lm_word_bonus",
	  .kind = K_RATIO,
	  .off = CFG_OFF(stt.lm_word_bonus),
	  .max = 8 },
	{ .key = "lm_prune",
	  .kind = K_RATIO,
	  .off = CFG_OFF(stt.lm_prune),
	  .max = 50 },
	{ .key = "open_beam",
	  .kind = K_UINT,
	  .off = CFG_OFF(stt.open_beam),
	  .size = CFG_SIZE(stt.open_beam),
	  .max = 16 },
	{ .key = "open_prune",
	  .kind = K_RATIO,
	  .off = CFG_OFF(stt.open_prune),
	  .max = 50 },
	{ .key = "degrade", .kind = K_BOOL, .off = CFG_OFF(stt.degrade) },
	{ .key = "degrade_after",
	  .kind = K_MS,
	  .off = CFG_OFF(stt.degrade_ms),
	  .max = 10 * MS_PER_S },
};

static const struct setting log_settings[] = {
	{ .key = "level",
	  .kind = K_ENUM,
	  .off = CFG_OFF(log.level),
	  .names = level_names,
	  .nnames = ARRAY_LEN(level_names) },
	{ .key = "format",
	  .kind = K_ENUM,
	  .off = CFG_OFF(log.format),
	  .names = format_names,
	  .nnames = ARRAY_LEN(format_names) },
};

static const struct setting shutdown_settings[] = {
	{ .key = "drain_timeout",
	  .kind = K_MS,
	  .off = CFG_OFF(shutdown.drain_timeout_ms),
	  .max = MS_PER_H },
	{ .key = "retry_after",
	  .kind = K_MS,
	  .off = CFG_OFF(shutdown.retry_after_ms),
	  .max = MS_PER_H },
};

/* Amazon Connect: Lambda-style functions and the Lex V2 code hook. */
static const struct setting connect_settings[] = {
	{ .key = "enabled",
	  .kind = K_BOOL,
	  .off = CFG_OFF(connect.enabled),
	  .track = TR_CC_ENABLED },
	{ .key = "api_key",
	  .kind = K_STR,
	  .off = CFG_OFF(connect.api_key),
	  .size = CFG_SIZE(connect.api_key),
	  .check = check_token,
	  .what = "the X-Api-Key value: 1 to 255 printable ASCII "
		  "characters, or \"\"" },
	{ .key = "secret",
	  .kind = K_STR,
	  .off = CFG_OFF(connect.secret),
	  .size = CFG_SIZE(connect.secret),
	  .check = check_secret,
	  .what = "16 to 255 printable ASCII characters, or \"\"" },
	{ .key = "max_body",
	  .kind = K_BYTES,
	  .off = CFG_OFF(connect.max_body_bytes),
	  .size = CFG_SIZE(connect.max_body_bytes),
	  .min = KB,
	  .max = 256 * KB },
	{ .key = "timeout",
	  .kind = K_MS,
	  .off = CFG_OFF(connect.timeout_ms),
	  .min = 100,
	  .max = 8 * MS_PER_S },
	{ .key = "flow",
	  .kind = K_STR,
	  .off = CFG_OFF(connect.flow),
	  .size = CFG_SIZE(connect.flow),
	  .check = check_flow_name_or_empty,
	  .what = FLOW_NAME_WHAT ", or \"\" (route SystemEndpoint.Address)" },
	{ .key = "model",
	  .kind = K_STR,
	  .off = CFG_OFF(connect.model),
	  .size = CFG_SIZE(connect.model),
	  .check = check_flow_name,
	  .what = "an NLU model name (" FLOW_NAME_WHAT ")" },
	{ .key = "lex_model",
	  .kind = K_STR,
	  .off = CFG_OFF(connect.lex_model),
	  .size = CFG_SIZE(connect.lex_model),
	  .check = check_flow_name_or_empty,
	  .what = "an NLU model name, or \"\" (connect.model)" },
	{ .key = "lex_min_confidence",
	  .kind = K_RATIO,
	  .off = CFG_OFF(connect.lex_min_confidence) },
	{ .key = "functions", .kind = K_CCFNS },
	{ .key = "lex_intents", .kind = K_CCINTS },
};

#define SECTION(name)                                              \
	{                                                          \
#name, name##_settings, ARRAY_LEN(name##_settings) \
	}
static const struct section sections[] = {
	SECTION(sip),	      SECTION(rtp),	 SECTION(http),
	SECTION(http_client), SECTION(webhooks), SECTION(limits),
	SECTION(store),	      SECTION(flows),	 SECTION(tts),
	SECTION(stt),	      SECTION(nlu),	 SECTION(recordings),
	SECTION(log),	      SECTION(shutdown), SECTION(asterisk),
	SECTION(twilio),      SECTION(transfer), SECTION(connect),
	SECTION(genesys_bot), SECTION(genesys),
};

/* ---- defaults ---- */

void config_defaults(struct vg_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));

	cfg->sip.listen[0].transport = CONFIG_TRANSPORT_UDP;
	strcpy(cfg->sip.listen[0].addr.host, "127.0.0.1");
	cfg->sip.listen[0].addr.port = 5060;
	cfg->sip.listen[1].transport = CONFIG_TRANSPORT_TCP;
	strcpy(cfg->sip.listen[1].addr.host, "127.0.0.1");
	cfg->sip.listen[1].addr.port = 5060;
	cfg->sip.nlisten = 2;
	snprintf(cfg->sip.user_agent, sizeof(cfg->sip.user_agent), "voxgate/%s",
		 VOXGATE_VERSION);
	cfg->sip.answer_delay_ms = 0;
	strcpy(cfg->sip.agent_uri, "sip:agents@127.0.0.1:5070");

	strcpy(cfg->rtp.address, "127.0.0.1");
	cfg->rtp.port_min = 20000;
	cfg->rtp.port_max = 40000;
	cfg->rtp.codecs[0] = CONFIG_CODEC_PCMU;
	cfg->rtp.codecs[1] = CONFIG_CODEC_PCMA;
	cfg->rtp.ncodecs = 2;
	cfg->rtp.telephone_event_pt = 101;
	cfg->rtp.jitter_min_ms = 40;
	cfg->rtp.jitter_max_ms = 200;
	cfg->rtp.media_timeout_ms = 30 * MS_PER_S;
	cfg->rtp.rtcp_interval_ms = 5 * MS_PER_S;

	strcpy(cfg->http.listen.host, "127.0.0.1");
	cfg->http.listen.port = 8080;

	cfg->limits.max_calls = 1000;
	cfg->limits.worker_threads = 2;
	cfg->limits.worker_queue = 256;

	strcpy(cfg->store.path, "voxgate.db");

	cfg->http_client.max_host_connections = 8;
	cfg->http_client.max_total_connections = 64;
	cfg->http_client.max_queued = 1000;
	cfg->http_client.breaker_failures = 5;
	cfg->http_client.breaker_cooldown_ms = 30 * MS_PER_S;
	cfg->http_client.max_response_bytes = (uint32_t)MB;

	cfg->webhooks.timeout_ms = 5 * MS_PER_S;
	cfg->webhooks.retries = 2;

	strcpy(cfg->flows.default_flow, "bank-hotline");

	strcpy(cfg->asterisk.agi_listen.host, "127.0.0.1");
	cfg->asterisk.agi_listen.port = 4573;
	strcpy(cfg->asterisk.audiosocket_listen.host, "127.0.0.1");
	cfg->asterisk.audiosocket_listen.port = 9092;
	strcpy(cfg->asterisk.queue_app, "Queue");

	strcpy(cfg->twilio.voice, "Polly.Joanna");
	strcpy(cfg->twilio.language, "en-US");
	cfg->twilio.backend_timeout_ms = 10 * MS_PER_S;
	cfg->twilio.backend_wait_ms = 4 * MS_PER_S;
	cfg->twilio.redirects_max = 8;
	strcpy(cfg->genesys.listen.host, "127.0.0.1");
	cfg->genesys.listen.port = 8082;
	cfg->genesys.require_signature = true;
	cfg->genesys.signature_max_age_ms = 5 * MS_PER_MIN;
	cfg->genesys.idle_timeout_ms = 60000;
	strcpy(cfg->genesys.model, "default");
	cfg->genesys.min_confidence = 0.5f;
	strcpy(cfg->genesys.language, "en-US");
	cfg->genesys.partials = true;
	strcpy(cfg->genesys_bot.api_key_header, "X-API-KEY");
	strcpy(cfg->genesys_bot.language, "en-us");
	cfg->genesys_bot.session_timeout_ms = 30 * MS_PER_MIN;
	strcpy(cfg->twilio.media_listen.host, "127.0.0.1");
	cfg->twilio.media_listen.port = 8081;
	cfg->connect.max_body_bytes = 64 * KB;
	cfg->connect.timeout_ms = 5 * MS_PER_S;
	strcpy(cfg->connect.model, "default");
	cfg->connect.lex_min_confidence = 0.6f;

	cfg->tts.voice = CONFIG_VOICE_KAL;
	cfg->tts.cache_size_bytes = 64 * MB;
	strcpy(cfg->stt.engines, "moonshine,pocketsphinx");
	cfg->stt.deadline_ms = 2000;
	cfg->stt.early_ms = 100;
	cfg->stt.continue_ms = CONFIG_STT_CONTINUE_MS;
	cfg->stt.stream = true;
	cfg->stt.partial_every_ms = CONFIG_STT_PARTIAL_EVERY_MS;
	cfg->stt.threads = 1;
	cfg->stt.decoders = 2;
	cfg->stt.lm_beam = 6;
	cfg->stt.lm_weight = 0.4f;
	cfg->stt.lm_word_bonus = 1.25f;
	cfg->stt.lm_prune = 4.0f;
	/* open_beam, open_prune 0: the engine's measured defaults */
	cfg->stt.degrade = true;
	cfg->stt.degrade_ms = CONFIG_STT_DEGRADE_MS;

	cfg->log.level = LOG_LVL_INFO;
	cfg->log.format = LOG_FMT_KV;

	cfg->shutdown.drain_timeout_ms = 30 * MS_PER_S;
	cfg->shutdown.retry_after_ms = 30 * MS_PER_S;
}

void config_free(struct vg_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->flows.routes);
	cfg->flows.routes = NULL;
	cfg->flows.nroutes = 0;
}

/* ---- errors ---- */

static void add_msg(struct ctx *c, const char *msg)
{
	struct config_errors *e = c->errs;

	c->nerr++;
	if (!e)
		return;
	if (e->count < CONFIG_ERRORS_MAX)
		snprintf(e->msg[e->count++], CONFIG_ERROR_LEN, "%s", msg);
	else
		e->dropped++;
}

static void add_vfmt(struct ctx *c, unsigned line, unsigned col,
		     const char *fmt, va_list ap)
{
	char msg[CONFIG_ERROR_LEN];
	int len;

	len = snprintf(msg, sizeof(msg), "%s:%u:%u: ", c->name, line, col);
	if (len < 0 || (size_t)len >= sizeof(msg))
		len = 0;
	vsnprintf(msg + len, sizeof(msg) - (size_t)len, fmt, ap);
	add_msg(c, msg);
}

/* An error at node n. */
__attribute__((format(printf, 3, 4))) static void
err_at(struct ctx *c, const struct ydoc_node *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_vfmt(c, ydoc_node_line(n), ydoc_node_col(n), fmt, ap);
	va_end(ap);
}

/* An error at a position kept in the config (routes). */
__attribute__((format(printf, 3, 4))) static void
add_fmt(struct ctx *c, struct config_pos pos, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_vfmt(c, pos.line, pos.col, fmt, ap);
	va_end(ap);
}

/* "got 'x'" / "got a map" for messages. */
static const char *got(const struct ydoc_node *n, char *buf, size_t size)
{
	char ex[200];

	if (ydoc_node_type(n) != YDOC_SCALAR)
		return ydoc_node_excerpt(n, buf, size);
	snprintf(buf, size, "'%s'", ydoc_node_excerpt(n, ex, sizeof(ex)));
	return buf;
}

static void fmt_ms(uint64_t ms, char *buf, size_t size)
{
	if (ms == 0)
		snprintf(buf, size, "0s");
	else if (ms % MS_PER_H == 0)
		snprintf(buf, size, "%lluh",
			 (unsigned long long)(ms / MS_PER_H));
	else if (ms % MS_PER_MIN == 0)
		snprintf(buf, size, "%llum",
			 (unsigned long long)(ms / MS_PER_MIN));
	else if (ms % MS_PER_S == 0)
		snprintf(buf, size, "%llus",
			 (unsigned long long)(ms / MS_PER_S));
	else
		snprintf(buf, size, "%llums", (unsigned long long)ms);
}

static void fmt_bytes(uint64_t n, char *buf, size_t size)
{
	if (n && n % GB == 0)
		snprintf(buf, size, "%lluGB", (unsigned long long)(n / GB));
	else if (n && n % MB == 0)
		snprintf(buf, size, "%lluMB", (unsigned long long)(n / MB));
	else if (n && n % KB == 0)
		snprintf(buf, size, "%lluKB", (unsigned long long)(n / KB));
	else
		snprintf(buf, size, "%llu", (unsigned long long)n);
}

/* ---- scalar parsing ---- */

/* Digits of s[0..len) as a number; false on anything else or overflow. */
static bool parse_digits(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (!len)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(s[i] - '0'), &v))
			return false;
	}
	*out = v;
	return true;
}

static size_t digit_run(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

struct unit {
	const char *suffix;
	uint64_t mult;
};

static bool parse_with_units(const char *s, size_t len,
			     const struct unit *units, size_t nunits,
			     uint64_t *out)
{
	size_t nd = digit_run(s, len);
	uint64_t v;

	if (!nd || !parse_digits(s, nd, &v))
		return false;
	for (size_t i = 0; i < nunits; i++) {
		if (strlen(units[i].suffix) == len - nd &&
		    !memcmp(s + nd, units[i].suffix, len - nd))
			return !__builtin_mul_overflow(v, units[i].mult, out);
	}
	return false;
}

/* "250ms", "30s", "5m", "1h" or a bare number of seconds. */
static bool parse_duration_ms(const char *s, size_t len, uint64_t *out)
{
	static const struct unit units[] = {
		{ "", MS_PER_S },    { "ms", 1 },	{ "s", MS_PER_S },
		{ "m", MS_PER_MIN }, { "h", MS_PER_H },
	};

	return parse_with_units(s, len, units, ARRAY_LEN(units), out);
}

/* "512KB", "64MB", "1GB" (powers of 1024), "100B" or a bare byte count. */
static bool parse_size_bytes(const char *s, size_t len, uint64_t *out)
{
	static const struct unit units[] = {
		{ "", 1 }, { "B", 1 }, { "KB", KB }, { "MB", MB }, { "GB", GB },
	};

	return parse_with_units(s, len, units, ARRAY_LEN(units), out);
}

/* Canonical text of an IPv4 or IPv6 address; af tells which it was. */
static bool parse_ip(const char *s, size_t len, int want_af, char *host,
		     int *afp)
{
	char tmp[CONFIG_HOST_LEN];
	unsigned char bin[16];
	int af;

	if (len == 0 || len >= sizeof(tmp))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if ((want_af == 0 || want_af == AF_INET) &&
	    inet_pton(AF_INET, tmp, bin) == 1)
		af = AF_INET;
	else if ((want_af == 0 || want_af == AF_INET6) &&
		 inet_pton(AF_INET6, tmp, bin) == 1)
		af = AF_INET6;
	else
		return false;
	if (!inet_ntop(af, bin, host, CONFIG_HOST_LEN))
		return false;
	if (afp)
		*afp = af;
	return true;
}

/* "1.2.3.4:5060" or "[::1]:5060"; the port is 1..65535. */
static bool parse_addr(const char *s, size_t len, struct config_addr *out)
{
	struct config_addr a;
	const char *colon;
	uint64_t port;
	size_t hlen;

	if (len && s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (!close || (size_t)(close - s) + 1 >= len || close[1] != ':')
			return false;
		if (!parse_ip(s + 1, (size_t)(close - s) - 1, AF_INET6, a.host,
			      NULL))
			return false;
		colon = close + 1;
	} else {
		colon = memchr(s, ':', len);
		if (!colon)
			return false;
		hlen = (size_t)(colon - s);
		if (!parse_ip(s, hlen, AF_INET, a.host, NULL))
			return false;
	}
	hlen = len - (size_t)(colon + 1 - s);
	if (hlen > 5 || !parse_digits(colon + 1, hlen, &port) || port == 0 ||
	    port > 65535)
		return false;
	a.port = (uint16_t)port;
	*out = a;
	return true;
}

static void fmt_addr(const struct config_addr *a, char *buf, size_t size)
{
	if (strchr(a->host, ':'))
		snprintf(buf, size, "[%s]:%u", a->host, a->port);
	else
		snprintf(buf, size, "%s:%u", a->host, a->port);
}

/* ---- node helpers ---- */

/* The scalar text of n, or an error and NULL. */
static const char *want_scalar(struct ctx *c, const char *key,
			       const struct ydoc_node *n)
{
	char g[256];

	if (ydoc_node_type(n) != YDOC_SCALAR) {
		err_at(c, n, "'%s' must be a single value, got %s", key,
		       got(n, g, sizeof(g)));
		return NULL;
	}
	if (ydoc_scalar_is_null(n)) {
		err_at(c, n,
		       "'%s' has no value (remove the key to use the default)",
		       key);
		return NULL;
	}
	return ydoc_scalar_text(n);
}

/* True if n is a list (a plain null counts as an empty list when
 * null_ok); otherwise reports it. */
static bool want_list(struct ctx *c, const char *key, const struct ydoc_node *n,
		      bool null_ok)
{
	char g[256];

	if (ydoc_node_type(n) == YDOC_SEQ)
		return true;
	if (ydoc_scalar_is_null(n)) {
		if (null_ok)
			return true;
		err_at(c, n,
		       "'%s' has no value (remove the key to use the default)",
		       key);
		return false;
	}
	err_at(c, n, "'%s' must be a list, got %s", key, got(n, g, sizeof(g)));
	return false;
}

static void store_uint(void *field, size_t size, uint64_t v)
{
	switch (size) {
	case 1:
		*(uint8_t *)field = (uint8_t)v;
		break;
	case 2:
		*(uint16_t *)field = (uint16_t)v;
		break;
	case 4:
		*(uint32_t *)field = (uint32_t)v;
		break;
	default:
		*(uint64_t *)field = v;
		break;
	}
}

static void expected_keys(const struct setting *s, size_t n, char *buf,
			  size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && o < size; i++) {
		int w = snprintf(buf + o, size - o, "%s%s", i ? ", " : "",
				 s[i].key);

		if (w < 0)
			break;
		o += (size_t)w;
	}
}

static bool key_is(const struct ydoc_node *k, const char *name)
{
	return ydoc_scalar_len(k) == strlen(name) &&
	       !strcmp(ydoc_scalar_text(k), name);
}

/* ---- list settings ---- */

static void parse_listen(struct ctx *c, const struct setting *s,
			 const struct ydoc_node *list)
{
	struct vg_config *cfg = c->cfg;
	struct config_listen tmp[CONFIG_LISTEN_MAX];
	const struct ydoc_node *where[CONFIG_LISTEN_MAX];
	size_t n, ok = 0;
	bool bad = false;
	char g[256];

	if (!want_list(c, s->key, list, false))
		return;
	n = ydoc_node_count(list);
	if (n < 1 || n > CONFIG_LISTEN_MAX) {
		err_at(c, list, "'%s' must have 1 to %d entries, got %zu",
		       s->key, CONFIG_LISTEN_MAX, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ydoc_node *item = ydoc_seq_item(list, i);
		const char *t = want_scalar(c, "listen entry", item);
		const char *colon;
		struct config_listen l;
		size_t tlen;
		bool known = false;

		if (!t) {
			bad = true;
			continue;
		}
		tlen = ydoc_scalar_len(item);
		/* A NUL would hide the rest of the entry from inet_pton. */
		colon = strlen(t) == tlen ? memchr(t, ':', tlen) : NULL;
		if (colon && colon - t == 3 && !strncmp(t, "tls", 3)) {
			err_at(c, item,
			       "transport 'tls' is not supported yet (use udp "
			       "or tcp)");
			bad = true;
			continue;
		}
		for (size_t k = 0; colon && k < ARRAY_LEN(transport_names);
		     k++) {
			if ((size_t)(colon - t) == strlen(transport_names[k]) &&
			    !strncmp(t, transport_names[k],
				     (size_t)(colon - t))) {
				l.transport = (enum config_transport)k;
				known = true;
			}
		}
		if (!known ||
		    !parse_addr(colon + 1, tlen - (size_t)(colon + 1 - t),
				&l.addr)) {
			err_at(c, item,
			       "'%s' entries must look like udp:127.0.0.1:5060 "
			       "or tcp:[::1]:5060, got %s",
			       s->key, got(item, g, sizeof(g)));
			bad = true;
			continue;
		}
		for (size_t k = 0; known && k < ok; k++) {
			if (tmp[k].transport == l.transport &&
			    tmp[k].addr.port == l.addr.port &&
			    !strcmp(tmp[k].addr.host, l.addr.host)) {
				err_at(c, item,
				       "duplicate listen entry %s (first at "
				       "line %u, column %u)",
				       got(item, g, sizeof(g)),
				       ydoc_node_line(where[k]),
				       ydoc_node_col(where[k]));
				bad = true;
				known = false;
			}
		}
		if (!known)
			continue;
		where[ok] = item;
		tmp[ok++] = l;
	}
	if (bad)
		return;
	memcpy(cfg->sip.listen, tmp, ok * sizeof(tmp[0]));
	cfg->sip.nlisten = (unsigned)ok;
}

static void parse_codecs(struct ctx *c, const struct setting *s,
			 const struct ydoc_node *list)
{
	enum config_codec tmp[CONFIG_CODECS_MAX];
	const struct ydoc_node *where[CONFIG_CODECS_MAX];
	size_t n, ok = 0;
	bool bad = false;
	char g[256];

	if (!want_list(c, s->key, list, false))
		return;
	n = ydoc_node_count(list);
	if (n == 0) {
		err_at(c, list, "'%s' must list at least one codec", s->key);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ydoc_node *item = ydoc_seq_item(list, i);
		const char *t = want_scalar(c, "codec", item);
		size_t k;

		if (!t) {
			bad = true;
			continue;
		}
		for (k = 0; k < ARRAY_LEN(codec_names); k++) {
			if (!strcmp(t, codec_names[k]) &&
			    ydoc_scalar_len(item) == strlen(codec_names[k]))
				break;
		}
		if (k == ARRAY_LEN(codec_names)) {
			err_at(c, item,
			       "unknown codec %s (supported: PCMU, PCMA)",
			       got(item, g, sizeof(g)));
			bad = true;
			continue;
		}
		for (size_t j = 0; j < ok; j++) {
			if (tmp[j] == (enum config_codec)k) {
				err_at(c, item,
				       "codec '%s' is listed twice (first at "
				       "line %u, column %u)",
				       codec_names[k], ydoc_node_line(where[j]),
				       ydoc_node_col(where[j]));
				bad = true;
				k = ARRAY_LEN(codec_names);
				break;
			}
		}
		if (k == ARRAY_LEN(codec_names))
			continue;
		/* Unique entries from a set of CONFIG_CODECS_MAX fit. */
		where[ok] = item;
		tmp[ok++] = (enum config_codec)k;
	}
	if (bad)
		return;
	memcpy(c->cfg->rtp.codecs, tmp, ok * sizeof(tmp[0]));
	c->cfg->rtp.ncodecs = (unsigned)ok;
}

/* number: 1..63 route characters; a trailing '*' makes it a prefix. */
static bool parse_route_number(struct ctx *c, const struct ydoc_node *num,
			       struct config_route *r)
{
	const char *t = want_scalar(c, "number", num);
	size_t len = ydoc_scalar_len(num);
	char g[256];

	if (!t)
		return false;
	if (len >= CONFIG_NAME_LEN || strlen(t) != len ||
	    !check_route_number(t, len)) {
		err_at(c, num,
		       "'number' must be 1 to 63 digits, letters or '+#*._-' "
		       "(a trailing '*' matches a prefix), got %s",
		       got(num, g, sizeof(g)));
		return false;
	}
	if (len == 1 && t[0] == '*') {
		err_at(c, num,
		       "route number '*' would match every number; set "
		       "flows.default instead");
		return false;
	}
	r->prefix = t[len - 1] == '*';
	memcpy(r->number, t, len - r->prefix);
	r->number[len - r->prefix] = '\0';
	r->number_pos.line = ydoc_node_line(num);
	r->number_pos.col = ydoc_node_col(num);
	return true;
}

static bool parse_route_flow(struct ctx *c, const struct ydoc_node *flow,
			     struct config_route *r)
{
	const char *t = want_scalar(c, "flow", flow);
	size_t len = ydoc_scalar_len(flow);
	char g[256];

	if (!t)
		return false;
	if (len >= CONFIG_NAME_LEN || strlen(t) != len ||
	    !check_flow_name(t, len)) {
		err_at(c, flow, "'flow' must be %s, got %s", FLOW_NAME_WHAT,
		       got(flow, g, sizeof(g)));
		return false;
	}
	memcpy(r->flow, t, len);
	r->flow[len] = '\0';
	r->flow_pos.line = ydoc_node_line(flow);
	r->flow_pos.col = ydoc_node_col(flow);
	return true;
}

/* One flows.routes entry; errors come out in file order. */
static bool parse_route(struct ctx *c, const struct ydoc_node *item,
			struct config_route *r)
{
	bool have_num = false, have_flow = false, bad = false;
	char g[256];

	memset(r, 0, sizeof(*r));
	if (ydoc_node_type(item) != YDOC_MAP) {
		err_at(c, item,
		       "each route must be a map with 'number' and 'flow', got "
		       "%s",
		       got(item, g, sizeof(g)));
		return false;
	}
	for (size_t i = 0; i < ydoc_node_count(item); i++) {
		const struct ydoc_node *k = ydoc_map_key(item, i);
		const struct ydoc_node *v = ydoc_map_value(item, i);

		if (key_is(k, "number")) {
			have_num = true;
			bad |= !parse_route_number(c, v, r);
		} else if (key_is(k, "flow")) {
			have_flow = true;
			bad |= !parse_route_flow(c, v, r);
		} else {
			err_at(c, k,
			       "unknown key %s in route (expected: number, "
			       "flow)",
			       got(k, g, sizeof(g)));
			bad = true;
		}
	}
	if (!have_num)
		err_at(c, item, "route is missing 'number'");
	if (!have_flow)
		err_at(c, item, "route is missing 'flow'");
	return have_num && have_flow && !bad;
}

static int route_cmp(const void *a, const void *b)
{
	const struct config_route *const *x = a, *const *y = b;
	int d = strcmp((*x)->number, (*y)->number);

	if (d)
		return d;
	if ((*x)->prefix != (*y)->prefix)
		return (*x)->prefix ? 1 : -1;
	/* Routes sit in one array in file order: address order is file
	 * order, so the first definition sorts first. */
	return (*x < *y) ? -1 : (*x > *y);
}

/* Report each number routed twice, at the repeat and in file order.
 * Sorting keeps a 10000-route table at n log n. */
static void check_dup_routes(struct ctx *c, struct config_route *routes,
			     size_t n)
{
	struct config_route **sorted;
	const struct config_route **first;

	if (n < 2)
		return;
	sorted = malloc(n * sizeof(*sorted));
	first = calloc(n, sizeof(*first));
	if (!sorted || !first) {
		c->oom = true;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		sorted[i] = &routes[i];
	qsort(sorted, n, sizeof(*sorted), route_cmp);
	for (size_t i = 1, run = 0; i < n; i++) {
		if (strcmp(sorted[run]->number, sorted[i]->number) ||
		    sorted[run]->prefix != sorted[i]->prefix) {
			run = i;
			continue;
		}
		first[sorted[i] - routes] = sorted[run];
	}
	for (size_t i = 0; i < n; i++) {
		const struct config_route *r = &routes[i];

		if (!first[i])
			continue;
		add_fmt(c, r->number_pos,
			"duplicate route number '%s%s' (first at line %u, "
			"column %u)",
			r->number, r->prefix ? "*" : "",
			first[i]->number_pos.line, first[i]->number_pos.col);
	}
out:
	free(first);
	free(sorted);
}

static void parse_routes(struct ctx *c, const struct setting *s,
			 const struct ydoc_node *list)
{
	struct config_route *routes;
	size_t n, ok = 0;
	bool bad = false;

	if (!want_list(c, s->key, list, true))
		return;
	n = ydoc_node_count(list);
	if (n > CONFIG_ROUTES_MAX) {
		err_at(c, list, "'%s' has %zu entries, the limit is %d", s->key,
		       n, CONFIG_ROUTES_MAX);
		return;
	}
	if (n == 0) {
		free(c->cfg->flows.routes);
		c->cfg->flows.routes = NULL;
		c->cfg->flows.nroutes = 0;
		return;
	}
	routes = calloc(n, sizeof(*routes));
	if (!routes) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (parse_route(c, ydoc_seq_item(list, i), &routes[ok]))
			ok++;
		else
			bad = true;
	}
	check_dup_routes(c, routes, ok);
	if (bad) {
		free(routes);
		return;
	}
	free(c->cfg->flows.routes);
	c->cfg->flows.routes = routes;
	c->cfg->flows.nroutes = ok;
}

/* http:// or https://, a host, no spaces or control bytes. */
static bool check_http_url(const char *s, size_t len)
{
	size_t skip;

	if (len > 7 && !strncmp(s, "http://", 7))
		skip = 7;
	else if (len > 8 && !strncmp(s, "https://", 8))
		skip = 8;
	else
		return false;
	if (s[skip] == '/' || s[skip] == ':' || s[skip] == '?' ||
	    s[skip] == '#')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] <= 0x20 || s[i] > 0x7e)
			return false;
	}
	return true;
}

static void parse_urls(struct ctx *c, const struct setting *s,
		       const struct ydoc_node *list)
{
	char tmp[CONFIG_WEBHOOKS_MAX][CONFIG_STR_LEN];
	const struct ydoc_node *where[CONFIG_WEBHOOKS_MAX];
	size_t n, ok = 0;
	bool bad = false;
	char g[256];

	c->invalid[s->track] = true;
	if (!want_list(c, s->key, list, true))
		return;
	n = ydoc_node_count(list);
	if (n > CONFIG_WEBHOOKS_MAX) {
		err_at(c, list, "'%s' must have at most %d entries, got %zu",
		       s->key, CONFIG_WEBHOOKS_MAX, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ydoc_node *item = ydoc_seq_item(list, i);
		const char *t = want_scalar(c, "url", item);
		size_t len;
		bool dup = false;

		if (!t) {
			bad = true;
			continue;
		}
		len = ydoc_scalar_len(item);
		if (strlen(t) != len || len >= CONFIG_STR_LEN ||
		    !check_http_url(t, len)) {
			err_at(c, item,
			       "'%s' entries must be http:// or https:// URLs "
			       "of at most 255 characters without spaces, got "
			       "%s",
			       s->key, got(item, g, sizeof(g)));
			bad = true;
			continue;
		}
		for (size_t k = 0; k < ok && !dup; k++) {
			if (!strcmp(tmp[k], t)) {
				err_at(c, item,
				       "duplicate url %s (first at line %u, "
				       "column %u)",
				       got(item, g, sizeof(g)),
				       ydoc_node_line(where[k]),
				       ydoc_node_col(where[k]));
				dup = true;
			}
		}
		if (dup) {
			bad = true;
			continue;
		}
		memcpy(tmp[ok], t, len + 1);
		where[ok++] = item;
	}
	if (bad)
		return;
	memcpy(c->cfg->webhooks.urls, tmp, ok * sizeof(tmp[0]));
	c->cfg->webhooks.nurls = (unsigned)ok;
	c->invalid[s->track] = false;
	c->tracked[s->track] = list;
}

/* A queue name of transfer.queues: what "queue:NAME" may say. */
static bool check_queue_name(const char *s, size_t len)
{
	if (!len || len >= CONFIG_NAME_LEN || strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-' || s[i] == '.'))
			return false;
	return true;
}

/* A transfer destination: sip:/sips: (as check_sip_uri) or tel: with
 * digits and '+*#-.' only. */
static bool check_target_uri(const char *s, size_t len)
{
	if (!len || len >= CONFIG_STR_LEN || strlen(s) != len)
		return false;
	if (strncmp(s, "tel:", 4))
		return check_sip_uri(s, len);
	if (len == 4)
		return false;
	for (size_t i = 4; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || strchr("+*#-.", s[i])))
			return false;
	return true;
}

/* transfer.queues: a map of queue name -> URI. */
static void parse_queues(struct ctx *c, const struct setting *s,
			 const struct ydoc_node *map)
{
	struct config_queue tmp[CONFIG_QUEUES_MAX];
	size_t n, ok = 0;
	bool bad = false;
	char g[256];

	if (ydoc_scalar_is_null(map)) {
		c->cfg->transfer.nqueues = 0;
		return;
	}
	if (ydoc_node_type(map) != YDOC_MAP) {
		err_at(c, map,
		       "'%s' must be a map of queue name to sip:/tel: URI, "
		       "got %s",
		       s->key, got(map, g, sizeof(g)));
		return;
	}
	n = ydoc_node_count(map);
	if (n > CONFIG_QUEUES_MAX) {
		err_at(c, map, "'%s' must have at most %d entries, got %zu",
		       s->key, CONFIG_QUEUES_MAX, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ydoc_node *k = ydoc_map_key(map, i);
		const struct ydoc_node *v = ydoc_map_value(map, i);
		const char *name = want_scalar(c, "queue name", k);
		const char *uri;

		if (!name || !check_queue_name(name, ydoc_scalar_len(k))) {
			if (name)
				err_at(c, k,
				       "queue names must be 1 to 63 letters, "
				       "digits or '_-.', got %s",
				       got(k, g, sizeof(g)));
			bad = true;
			continue;
		}
		uri = want_scalar(c, name, v);
		if (!uri || !check_target_uri(uri, ydoc_scalar_len(v))) {
			if (uri)
				err_at(c, v,
				       "queue '%s' must map to a sip:, sips: "
				       "or tel: URI of at most 255 characters "
				       "without spaces, got %s",
				       name, got(v, g, sizeof(g)));
			bad = true;
			continue;
		}
		/* ydoc rejects duplicate keys itself. */
		memcpy(tmp[ok].name, name, strlen(name) + 1);
		memcpy(tmp[ok].uri, uri, strlen(uri) + 1);
		ok++;
	}
	if (bad)
		return;
	memcpy(c->cfg->transfer.queues, tmp, ok * sizeof(tmp[0]));
	c->cfg->transfer.nqueues = (unsigned)ok;
}

/* ---- connect.functions and connect.lex_intents ---- */

/* A scalar of a list entry's map into dst[size], checked; false reported. */
static bool cc_str(struct ctx *c, const char *key, const struct ydoc_node *v,
		   char *dst, size_t size, bool (*check)(const char *, size_t),
		   const char *what)
{
	const char *t = want_scalar(c, key, v);
	size_t len = t ? ydoc_scalar_len(v) : 0;
	char g[256];

	if (!t)
		return false;
	if (strlen(t) != len || len >= size || !check(t, len)) {
		err_at(c, v, "'%s' must be %s, got %s", key, what,
		       got(v, g, sizeof(g)));
		return false;
	}
	memcpy(dst, t, len);
	dst[len] = '\0';
	return true;
}

static bool cc_bool(struct ctx *c, const char *key, const struct ydoc_node *v,
		    bool *dst)
{
	const char *t = want_scalar(c, key, v);
	char g[256];

	if (!t)
		return false;
	if (strcmp(t, "true") && strcmp(t, "false")) {
		err_at(c, v, "'%s' must be true or false, got %s", key,
		       got(v, g, sizeof(g)));
		return false;
	}
	*dst = t[0] == 't';
	return true;
}

static bool check_any_printable(const char *s, size_t len)
{
	return !len || check_printable(s, len);
}

/* "name[:entity],...": slot names of letters, digits, '_' and '-'. */
static bool check_slot_list(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
		      ch == ',' || ch == ':' || ch == ' '))
			return false;
	}
	return true;
}

static bool check_method(const char *s, size_t len)
{
	return (len == 3 && !memcmp(s, "GET", 3)) ||
	       (len == 4 && !memcmp(s, "POST", 4));
}

static bool parse_cc_fn(struct ctx *c, const struct ydoc_node *item,
			struct config_connect_fn *f)
{
	static const char *const types[] = { "crm_lookup", "classify", "flow",
					     "http" };
	bool have_name = false, have_type = false, bad = false;
	char g[256];

	memset(f, 0, sizeof(*f));
	strcpy(f->method, "POST");
	if (ydoc_node_type(item) != YDOC_MAP) {
		err_at(c, item,
		       "each function must be a map with 'name' and 'type', "
		       "got %s",
		       got(item, g, sizeof(g)));
		return false;
	}
	for (size_t i = 0; i < ydoc_node_count(item); i++) {
		const struct ydoc_node *k = ydoc_map_key(item, i);
		const struct ydoc_node *v = ydoc_map_value(item, i);

		if (key_is(k, "name")) {
			have_name = true;
			bad |= !cc_str(c, "name", v, f->name, sizeof(f->name),
				       check_flow_name, FLOW_NAME_WHAT);
		} else if (key_is(k, "type")) {
			const char *t = want_scalar(c, "type", v);
			size_t j = 0;

			have_type = true;
			while (t && j < ARRAY_LEN(types) && strcmp(t, types[j]))
				j++;
			if (!t || j == ARRAY_LEN(types)) {
				if (t)
					err_at(c, v,
					       "'type' must be one of "
					       "crm_lookup, classify, flow, "
					       "http, got %s",
					       got(v, g, sizeof(g)));
				bad = true;
			} else {
				f->type = (enum config_connect_fn_type)j;
			}
		} else if (key_is(k, "response")) {
			const char *t = want_scalar(c, "response", v);

			if (t &&
			    (!strcmp(t, "json") || !strcmp(t, "string_map"))) {
				f->json = t[0] == 'j';
			} else {
				if (t)
					err_at(c, v,
					       "'response' must be string_map "
					       "or json, got %s",
					       got(v, g, sizeof(g)));
				bad = true;
			}
		} else if (key_is(k, "param")) {
			bad |= !cc_str(c, "param", v, f->param,
				       sizeof(f->param), check_any_printable,
				       "a Parameters key of at most 63 "
				       "printable characters");
		} else if (key_is(k, "flow")) {
			bad |= !cc_str(c, "flow", v, f->flow, sizeof(f->flow),
				       check_flow_name_or_empty,
				       FLOW_NAME_WHAT ", or \"\"");
		} else if (key_is(k, "model")) {
			bad |= !cc_str(c, "model", v, f->model,
				       sizeof(f->model),
				       check_flow_name_or_empty,
				       "an NLU model name, or \"\"");
		} else if (key_is(k, "url")) {
			bad |= !cc_str(c, "url", v, f->url, sizeof(f->url),
				       check_http_url,
				       "an http:// or https:// URL of at most "
				       "255 characters");
		} else if (key_is(k, "method")) {
			bad |= !cc_str(c, "method", v, f->method,
				       sizeof(f->method), check_method,
				       "GET or POST");
		} else {
			err_at(c, k,
			       "unknown key %s in function (expected: name, "
			       "type, response, param, flow, model, url, "
			       "method)",
			       got(k, g, sizeof(g)));
			bad = true;
		}
	}
	if (!have_name)
		err_at(c, item, "function is missing 'name'");
	if (!have_type)
		err_at(c, item, "function is missing 'type'");
	if (have_type && !bad && f->type == CONFIG_CONNECT_HTTP && !f->url[0]) {
		err_at(c, item, "function of type http needs 'url'");
		bad = true;
	}
	return have_name && have_type && !bad;
}

static void parse_cc_fns(struct ctx *c, const struct setting *s,
			 const struct ydoc_node *list)
{
	struct config_connect_fn *tmp;
	size_t n, ok = 0;
	bool bad = false;

	if (!want_list(c, s->key, list, true))
		return;
	n = ydoc_node_count(list);
	if (n > CONFIG_CONNECT_FUNCS_MAX) {
		err_at(c, list, "'%s' has %zu entries, the limit is %d", s->key,
		       n, CONFIG_CONNECT_FUNCS_MAX);
		return;
	}
	tmp = calloc(n ? n : 1, sizeof(*tmp));
	if (!tmp) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ydoc_node *item = ydoc_seq_item(list, i);

		if (!parse_cc_fn(c, item, &tmp[ok])) {
			bad = true;
			continue;
		}
		for (size_t k = 0; k < ok; k++) {
			if (!strcmp(tmp[k].name, tmp[ok].name)) {
				err_at(c, item, "duplicate function name '%s'",
				       tmp[ok].name);
				bad = true;
			}
		}
		ok++;
	}
	if (!bad) {
		memcpy(c->cfg->connect.functions, tmp, ok * sizeof(*tmp));
		c->cfg->connect.nfunctions = (unsigned)ok;
	}
	free(tmp);
}

static bool parse_cc_intent(struct ctx *c, const struct ydoc_node *item,
			    struct config_connect_intent *e)
{
	bool have_intent = false, bad = false;
	char g[256];

	memset(e, 0, sizeof(*e));
	if (ydoc_node_type(item) != YDOC_MAP) {
		err_at(c, item,
		       "each lex intent must be a map with 'intent', got %s",
		       got(item, g, sizeof(g)));
		return false;
	}
	for (size_t i = 0; i < ydoc_node_count(item); i++) {
		const struct ydoc_node *k = ydoc_map_key(item, i);
		const struct ydoc_node *v = ydoc_map_value(item, i);

		if (key_is(k, "intent")) {
			have_intent = true;
			bad |= !cc_str(c, "intent", v, e->intent,
				       sizeof(e->intent), check_flow_name,
				       "an intent name (" FLOW_NAME_WHAT ")");
		} else if (key_is(k, "slots")) {
			bad |= !cc_str(
				c, "slots", v, e->slots, sizeof(e->slots),
				check_slot_list,
				"a comma-separated list of slot[:entity] "
				"names");
		} else if (key_is(k, "confirm")) {
			bad |= !cc_bool(c, "confirm", v, &e->confirm);
		} else if (key_is(k, "prompt")) {
			bad |= !cc_str(c, "prompt", v, e->prompt,
				       sizeof(e->prompt), check_any_printable,
				       "at most 255 printable characters");
		} else {
			err_at(c, k,
			       "unknown key %s in lex intent (expected: "
			       "intent, slots, confirm, prompt)",
			       got(k, g, sizeof(g)));
			bad = true;
		}
	}
	if (!have_intent)
		err_at(c, item, "lex intent is missing 'intent'");
	return have_intent && !bad;
}

static void parse_cc_intents(struct ctx *c, const struct setting *s,
			     const struct ydoc_node *list)
{
	struct config_connect_intent *tmp;
	size_t n, ok = 0;
	bool bad = false;

	if (!want_list(c, s->key, list, true))
		return;
	n = ydoc_node_count(list);
	if (n > CONFIG_CONNECT_INTENTS_MAX) {
		err_at(c, list, "'%s' has %zu entries, the limit is %d", s->key,
		       n, CONFIG_CONNECT_INTENTS_MAX);
		return;
	}
	tmp = calloc(n ? n : 1, sizeof(*tmp));
	if (!tmp) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ydoc_node *item = ydoc_seq_item(list, i);

		if (!parse_cc_intent(c, item, &tmp[ok])) {
			bad = true;
			continue;
		}
		for (size_t k = 0; k < ok; k++) {
			if (!strcmp(tmp[k].intent, tmp[ok].intent)) {
				err_at(c, item, "duplicate lex intent '%s'",
				       tmp[ok].intent);
				bad = true;
			}
		}
		ok++;
	}
	if (!bad) {
		memcpy(c->cfg->connect.intents, tmp, ok * sizeof(*tmp));
		c->cfg->connect.nintents = (unsigned)ok;
	}
	free(tmp);
}

/* ---- one setting ---- */

static void parse_setting(struct ctx *c, const struct setting *s,
			  const struct ydoc_node *val)
{
	void *field = (char *)c->cfg + s->off;
	char g[256], lo[32], hi[32];
	const char *t;
	uint64_t v;
	size_t len;

	switch (s->kind) {
	case K_LISTEN:
		parse_listen(c, s, val);
		return;
	case K_CODECS:
		parse_codecs(c, s, val);
		return;
	case K_ROUTES:
		parse_routes(c, s, val);
		return;
	case K_URLS:
		parse_urls(c, s, val);
		return;
	case K_QUEUES:
		parse_queues(c, s, val);
		return;
	case K_CCFNS:
		parse_cc_fns(c, s, val);
		return;
	case K_CCINTS:
		parse_cc_intents(c, s, val);
		return;
	default:
		break;
	}

	/* Assume the worst until the value is stored; cross-field checks
	 * skip pairs with a rejected member (one message per mistake). */
	c->invalid[s->track] = true;
	t = want_scalar(c, s->key, val);
	if (!t)
		return;
	len = ydoc_scalar_len(val);
	/* An embedded NUL (double-quoted "\0") fails every check below. */
	if (strlen(t) != len)
		len = SIZE_MAX;

	switch (s->kind) {
	case K_UINT:
		if (len == SIZE_MAX || !parse_digits(t, len, &v) ||
		    v < s->min || v > s->max || (s->even && v % 2)) {
			err_at(c, val,
			       "'%s' must be %s integer between %llu and %llu, "
			       "got %s",
			       s->key, s->even ? "an even" : "an",
			       (unsigned long long)s->min,
			       (unsigned long long)s->max,
			       got(val, g, sizeof(g)));
			return;
		}
		store_uint(field, s->size, v);
		break;
	case K_MS:
		if (len == SIZE_MAX || !parse_duration_ms(t, len, &v) ||
		    v < s->min || v > s->max) {
			fmt_ms(s->min, lo, sizeof(lo));
			fmt_ms(s->max, hi, sizeof(hi));
			err_at(c, val,
			       "'%s' must be a duration between %s and %s "
			       "(like 250ms, 30s, 5m), got %s",
			       s->key, lo, hi, got(val, g, sizeof(g)));
			return;
		}
		*(uint32_t *)field = (uint32_t)v;
		break;
	case K_BYTES:
		if (len == SIZE_MAX || !parse_size_bytes(t, len, &v) ||
		    v < s->min || v > s->max) {
			fmt_bytes(s->min, lo, sizeof(lo));
			fmt_bytes(s->max, hi, sizeof(hi));
			err_at(c, val,
			       "'%s' must be a size between %s and %s (like "
			       "512KB, 64MB), got %s",
			       s->key, lo, hi, got(val, g, sizeof(g)));
			return;
		}
		store_uint(field, s->size, v);
		break;
	case K_STR:
		if (len == SIZE_MAX || len >= s->size || !s->check(t, len)) {
			err_at(c, val, "'%s' must be %s, got %s", s->key,
			       s->what, got(val, g, sizeof(g)));
			return;
		}
		memcpy(field, t, len);
		((char *)field)[len] = '\0';
		break;
	case K_ENUM: {
		char list[128];
		size_t k;

		for (k = 0; len != SIZE_MAX && k < s->nnames; k++) {
			if (!strcmp(t, s->names[k]))
				break;
		}
		if (len == SIZE_MAX || k == s->nnames) {
			size_t o = 0;

			list[0] = '\0';
			for (size_t i = 0; i < s->nnames && o < sizeof(list);
			     i++) {
				int w = snprintf(list + o, sizeof(list) - o,
						 "%s%s", i ? ", " : "",
						 s->names[i]);

				if (w < 0)
					break;
				o += (size_t)w;
			}
			err_at(c, val, "'%s' must be one of %s, got %s", s->key,
			       list, got(val, g, sizeof(g)));
			return;
		}
		*(int *)field = (int)k;
		break;
	}
	case K_IP: {
		char host[CONFIG_HOST_LEN];

		if (len == SIZE_MAX || !parse_ip(t, len, 0, host, NULL)) {
			err_at(c, val,
			       "'%s' must be an IPv4 or IPv6 address like "
			       "127.0.0.1 or ::1, got %s",
			       s->key, got(val, g, sizeof(g)));
			return;
		}
		/* SDP c=0.0.0.0 means "on hold", :: is no better. */
		if (!strcmp(host, "0.0.0.0") || !strcmp(host, "::")) {
			err_at(c, val,
			       "'%s' must be a concrete address: '%s' cannot "
			       "be advertised in SDP",
			       s->key, host);
			return;
		}
		memcpy(field, host, sizeof(host));
		break;
	}
	case K_RATIO: {
		/* 0..1, or 0..max when the setting has one */
		double top = s->max ? (double)s->max : 1.0;
		char *end = NULL;
		double d = len == SIZE_MAX || !len || len > 16
				   ? -1.0
				   : strtod(t, &end);

		if (len == SIZE_MAX || !len || len > 16 || end != t + len ||
		    !(d >= 0.0 && d <= top)) {
			err_at(c, val,
			       "'%s' must be a number between 0 and %g, got %s",
			       s->key, top, got(val, g, sizeof(g)));
			return;
		}
		*(float *)field = (float)d;
		break;
	}
	case K_BOOL:
		if (len == SIZE_MAX ||
		    (strcmp(t, "true") && strcmp(t, "false"))) {
			err_at(c, val, "'%s' must be true or false, got %s",
			       s->key, got(val, g, sizeof(g)));
			return;
		}
		*(bool *)field = t[0] == 't';
		break;
	case K_ADDR: {
		struct config_addr a;

		if (len == SIZE_MAX || !parse_addr(t, len, &a)) {
			err_at(c, val,
			       "'%s' must be an address like 127.0.0.1:8080 or "
			       "[::1]:8080, got %s",
			       s->key, got(val, g, sizeof(g)));
			return;
		}
		*(struct config_addr *)field = a;
		break;
	}
	default:
		return;
	}
	c->invalid[s->track] = false;
	if (s->track != TR_NONE)
		c->tracked[s->track] = val;
	if (s->off == CFG_OFF(flows.default_flow)) {
		c->cfg->flows.default_pos.line = ydoc_node_line(val);
		c->cfg->flows.default_pos.col = ydoc_node_col(val);
	}
}

static void parse_section(struct ctx *c, const struct section *sec,
			  const struct ydoc_node *map)
{
	char g[256], exp[256];

	if (ydoc_scalar_is_null(map))
		return; /* "sip:" with every child commented out */
	if (ydoc_node_type(map) != YDOC_MAP) {
		err_at(c, map, "'%s' must be a map of settings, got %s",
		       sec->key, got(map, g, sizeof(g)));
		return;
	}
	for (size_t i = 0; i < ydoc_node_count(map); i++) {
		const struct ydoc_node *k = ydoc_map_key(map, i);
		size_t j;

		for (j = 0; j < sec->n; j++) {
			if (key_is(k, sec->settings[j].key))
				break;
		}
		if (j == sec->n) {
			expected_keys(sec->settings, sec->n, exp, sizeof(exp));
			err_at(c, k, "unknown key %s in '%s' (expected: %s)",
			       got(k, g, sizeof(g)), sec->key, exp);
			continue;
		}
		parse_setting(c, &sec->settings[j], ydoc_map_value(map, i));
	}
}

static void check_cross(struct ctx *c)
{
	const struct vg_config *cfg = c->cfg;
	const struct ydoc_node *pmin = c->tracked[TR_PORT_MIN];
	const struct ydoc_node *pmax = c->tracked[TR_PORT_MAX];
	const struct ydoc_node *jmin = c->tracked[TR_JIT_MIN];
	const struct ydoc_node *jmax = c->tracked[TR_JIT_MAX];
	char a[32], b[32];

	if (cfg->rtp.port_min >= cfg->rtp.port_max &&
	    !c->invalid[TR_PORT_MIN] && !c->invalid[TR_PORT_MAX]) {
		if (pmax)
			err_at(c, pmax,
			       "'port_max' (%u) must be greater than "
			       "'port_min' (%u)",
			       cfg->rtp.port_max, cfg->rtp.port_min);
		else if (pmin)
			err_at(c, pmin,
			       "'port_min' (%u) must be lower than 'port_max' "
			       "(%u)",
			       cfg->rtp.port_min, cfg->rtp.port_max);
	}
	if (cfg->rtp.jitter_min_ms > cfg->rtp.jitter_max_ms &&
	    !c->invalid[TR_JIT_MIN] && !c->invalid[TR_JIT_MAX]) {
		fmt_ms(cfg->rtp.jitter_min_ms, a, sizeof(a));
		fmt_ms(cfg->rtp.jitter_max_ms, b, sizeof(b));
		if (jmax)
			err_at(c, jmax,
			       "'jitter_max' (%s) must not be lower than "
			       "'jitter_min' (%s)",
			       b, a);
		else if (jmin)
			err_at(c, jmin,
			       "'jitter_min' (%s) must not be higher than "
			       "'jitter_max' (%s)",
			       a, b);
	}
}

static void check_cross_webhooks(struct ctx *c)
{
	const struct vg_config *cfg = c->cfg;
	const struct ydoc_node *urls = c->tracked[TR_WH_URLS];

	if (cfg->webhooks.nurls && !cfg->webhooks.secret[0] && urls &&
	    !c->invalid[TR_WH_SECRET])
		err_at(c, urls,
		       "'urls' needs 'secret' in 'webhooks' (receivers check "
		       "the HMAC signature made with it)");
}

static void check_cross_genesys_bot(struct ctx *c)
{
	const struct ydoc_node *en = c->tracked[TR_GB_ENABLED];

	if (!c->cfg->genesys_bot.enabled || !en)
		return;
	if (!c->cfg->genesys_bot.api_key[0])
		err_at(c, en,
		       "'enabled' needs 'api_key' in 'genesys_bot' (every "
		       "request must carry it)");
}

static void check_cross_genesys(struct ctx *c)
{
	const struct ydoc_node *en = c->tracked[TR_AH_ENABLED];

	if (!c->cfg->genesys.enabled || !en)
		return;
	if (!c->cfg->genesys.api_key[0] || !c->cfg->genesys.client_secret[0])
		err_at(c, en,
		       "'enabled' needs 'api_key' and 'client_secret' in "
		       "'genesys' (the AudioHook integration's credentials)");
}

static void check_cross_twilio(struct ctx *c)
{
	const struct vg_config *cfg = c->cfg;
	const struct ydoc_node *en = c->tracked[TR_TW_ENABLED];

	if (!cfg->twilio.enabled || !en)
		return;
	if (!cfg->twilio.auth_token[0])
		err_at(c, en,
		       "'enabled' needs 'auth_token' in 'twilio' (every "
		       "webhook's signature is checked with it)");
	if (!cfg->twilio.public_url[0])
		err_at(c, en,
		       "'enabled' needs 'public_url' in 'twilio' (the URL "
		       "Twilio signs, and where <Gather> posts back)");
}

/* FastAGI writes prompts where Asterisk reads them, and reads recordings
 * back from there: without a shared directory it cannot play or listen. */
static void check_cross_agi(struct ctx *c)
{
	const struct ydoc_node *en = c->tracked[TR_AGI_ENABLED];

	if (!c->cfg->asterisk.agi_enabled || !en)
		return;
	if (!c->cfg->asterisk.sounds_dir[0])
		err_at(c, en,
		       "'agi_enabled' needs 'sounds_dir' in 'asterisk' (a "
		       "directory both voxgate and Asterisk can read and "
		       "write)");
}

/* Media Streams upgrades are signed like webhooks: same token and URL. */
static void check_cross_twilio_media(struct ctx *c)
{
	const struct vg_config *cfg = c->cfg;
	const struct ydoc_node *en = c->tracked[TR_TW_MEDIA];

	const struct ydoc_node *mc = c->tracked[TR_TW_MEDIA_CALLS];
	if (cfg->twilio.media_calls && !cfg->twilio.media_enabled && mc)
		err_at(c, mc,
		       "'media_calls' needs 'media_enabled: true' in 'twilio' "
		       "(calls are streamed to voxgate's Media Streams "
		       "listener)");
	if (!cfg->twilio.media_enabled || !en)
		return;
	if (!cfg->twilio.auth_token[0])
		err_at(c, en,
		       "'media_enabled' needs 'auth_token' in 'twilio' (the "
		       "WebSocket upgrade's signature is checked with it)");
	if (!cfg->twilio.public_url[0])
		err_at(c, en,
		       "'media_enabled' needs 'public_url' in 'twilio' (the "
		       "URL Twilio signs the upgrade with)");
}

/* Every request to /connect/ is authenticated with both. */
static void check_cross_connect(struct ctx *c)
{
	const struct ydoc_node *en = c->tracked[TR_CC_ENABLED];

	if (!c->cfg->connect.enabled || !en)
		return;
	if (!c->cfg->connect.api_key[0])
		err_at(c, en,
		       "'enabled' needs 'api_key' in 'connect' (the forwarding "
		       "Lambda's X-Api-Key)");
	if (!c->cfg->connect.secret[0])
		err_at(c, en,
		       "'enabled' needs 'secret' in 'connect' (the HMAC key "
		       "requests are signed with)");
}

static void parse_root(struct ctx *c, const struct ydoc_node *root)
{
	char g[256], exp[256];

	/* An empty file, or one with only comments or "---": all defaults. */
	if (!root || ydoc_scalar_is_null(root))
		return;
	if (ydoc_node_type(root) != YDOC_MAP) {
		err_at(c, root,
		       "the configuration must be a map of sections (sip:, "
		       "rtp:, ...), got %s",
		       got(root, g, sizeof(g)));
		return;
	}
	for (size_t i = 0; i < ydoc_node_count(root); i++) {
		const struct ydoc_node *k = ydoc_map_key(root, i);
		size_t j;

		for (j = 0; j < ARRAY_LEN(sections); j++) {
			if (key_is(k, sections[j].key))
				break;
		}
		if (j == ARRAY_LEN(sections)) {
			size_t o = 0;

			exp[0] = '\0';
			for (size_t m = 0;
			     m < ARRAY_LEN(sections) && o < sizeof(exp); m++)
				o += (size_t)snprintf(exp + o, sizeof(exp) - o,
						      "%s%s", m ? ", " : "",
						      sections[m].key);
			err_at(c, k, "unknown top-level key %s (expected: %s)",
			       got(k, g, sizeof(g)), exp);
			continue;
		}
		parse_section(c, &sections[j], ydoc_map_value(root, i));
	}
}

int config_load_buf(const char *name, const char *buf, size_t len,
		    struct vg_config *cfg, struct config_errors *errs)
{
	struct vg_config tmp;
	struct ctx c = { .name = name ? name : "<config>", .errs = errs };
	struct ydoc *doc = NULL;
	char msg[CONFIG_ERROR_LEN];
	int rc;

	if (errs) {
		errs->count = 0;
		errs->dropped = 0;
	}
	if (!cfg || (!buf && len))
		return -EINVAL;
	config_defaults(&tmp);
	snprintf(tmp.source, sizeof(tmp.source), "%s", c.name);
	c.cfg = &tmp;

	rc = ydoc_parse(c.name, buf, len, &doc, msg, sizeof(msg));
	if (rc) {
		add_msg(&c, msg);
		return rc == -ENOMEM ? -ENOMEM : -EINVAL;
	}
	parse_root(&c, ydoc_root(doc));
	/* Only valid values reach cfg, so this is safe after other errors. */
	check_cross(&c);
	check_cross_webhooks(&c);
	check_cross_twilio(&c);
	check_cross_genesys_bot(&c);
	check_cross_genesys(&c);
	check_cross_agi(&c);
	check_cross_twilio_media(&c);
	check_cross_connect(&c);
	ydoc_destroy(doc);

	if (c.oom) {
		config_free(&tmp);
		return -ENOMEM;
	}
	if (c.nerr) {
		config_free(&tmp);
		return -EINVAL;
	}
	*cfg = tmp;
	return 0;
}

int config_load_file(const char *path, struct vg_config *cfg,
		     struct config_errors *errs)
{
	struct ctx c = { .name = path ? path : "<config>", .errs = errs };
	/* One byte past the document limit tells "too large" from "fits". */
	const size_t cap = YDOC_MAX_BYTES_DEFAULT + 1;
	char msg[CONFIG_ERROR_LEN];
	size_t len = 0, size = 0;
	char *buf = NULL;
	FILE *f;
	int rc;

	if (errs) {
		errs->count = 0;
		errs->dropped = 0;
	}
	if (!path || !cfg)
		return -EINVAL;
	f = fopen(path, "rb");
	if (!f) {
		rc = -errno;
		snprintf(msg, sizeof(msg), "%s: cannot open: %s", path,
			 strerror(-rc));
		add_msg(&c, msg);
		return rc;
	}
	for (;;) {
		size_t n;

		if (len == size) {
			size_t nsize = size ? size * 2 : 16384;
			char *nbuf;

			if (nsize > cap)
				nsize = cap;
			if (nsize == size)
				break;
			nbuf = realloc(buf, nsize);
			if (!nbuf) {
				rc = -ENOMEM;
				goto out;
			}
			buf = nbuf;
			size = nsize;
		}
		n = fread(buf + len, 1, size - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		rc = errno ? -errno : -EIO;
		snprintf(msg, sizeof(msg), "%s: cannot read: %s", path,
			 strerror(-rc));
		add_msg(&c, msg);
		goto out;
	}
	if (len >= cap) {
		rc = -EFBIG;
		snprintf(msg, sizeof(msg),
			 "%s: file is larger than the limit of %u bytes", path,
			 (unsigned)YDOC_MAX_BYTES_DEFAULT);
		add_msg(&c, msg);
		goto out;
	}
	rc = config_load_buf(path, buf, len, cfg, errs);
out:
	fclose(f);
	free(buf);
	return rc;
}

/* ---- printing ---- */

/* A double-quoted YAML string; control bytes as \xNN escapes. */
static void put_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\x%02x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static const char *name_of(const char *const *names, size_t n, int v)
{
	return v >= 0 && (size_t)v < n ? names[v] : "?";
}

static void put_ms(FILE *f, const char *key, uint32_t ms)
{
	char b[32];

	fmt_ms(ms, b, sizeof(b));
	fprintf(f, "  %s: %s\n", key, b);
}

int config_print(const struct vg_config *cfg, FILE *f)
{
	char b[64];

	if (!cfg || !f)
		return -EINVAL;
	fprintf(f, "sip:\n  listen: [");
	for (unsigned i = 0; i < cfg->sip.nlisten && i < CONFIG_LISTEN_MAX;
	     i++) {
		const struct config_listen *l = &cfg->sip.listen[i];

		fmt_addr(&l->addr, b, sizeof(b));
		fprintf(f, "%s\"%s:%s\"", i ? ", " : "",
			name_of(transport_names, ARRAY_LEN(transport_names),
				(int)l->transport),
			b);
	}
	fprintf(f, "]\n  user_agent: ");
	put_str(f, cfg->sip.user_agent);
	fprintf(f, "\n");
	put_ms(f, "answer_delay", cfg->sip.answer_delay_ms);
	fprintf(f, "  agent_uri: ");
	put_str(f, cfg->sip.agent_uri);

	fprintf(f, "\nrtp:\n  address: ");
	put_str(f, cfg->rtp.address);
	fprintf(f, "\n  port_min: %u\n  port_max: %u\n  codecs: [",
		cfg->rtp.port_min, cfg->rtp.port_max);
	for (unsigned i = 0; i < cfg->rtp.ncodecs && i < CONFIG_CODECS_MAX; i++)
		fprintf(f, "%s%s", i ? ", " : "",
			name_of(codec_names, ARRAY_LEN(codec_names),
				(int)cfg->rtp.codecs[i]));
	fprintf(f, "]\n  telephone_event_pt: %u\n",
		cfg->rtp.telephone_event_pt);
	put_ms(f, "jitter_min", cfg->rtp.jitter_min_ms);
	put_ms(f, "jitter_max", cfg->rtp.jitter_max_ms);
	put_ms(f, "media_timeout", cfg->rtp.media_timeout_ms);
	put_ms(f, "rtcp_interval", cfg->rtp.rtcp_interval_ms);

	fmt_addr(&cfg->http.listen, b, sizeof(b));
	fprintf(f, "http:\n  listen: \"%s\"\n", b);

	fprintf(f,
		"http_client:\n  max_host_connections: %u\n"
		"  max_total_connections: %u\n  max_queued: %u\n"
		"  breaker_failures: %u\n",
		cfg->http_client.max_host_connections,
		cfg->http_client.max_total_connections,
		cfg->http_client.max_queued, cfg->http_client.breaker_failures);
	put_ms(f, "breaker_cooldown", cfg->http_client.breaker_cooldown_ms);
	fmt_bytes(cfg->http_client.max_response_bytes, b, sizeof(b));
	fprintf(f, "  max_response_size: %s\n", b);

	fprintf(f, "webhooks:\n  urls: [");
	for (unsigned i = 0; i < cfg->webhooks.nurls && i < CONFIG_WEBHOOKS_MAX;
	     i++) {
		fprintf(f, "%s", i ? ", " : "");
		put_str(f, cfg->webhooks.urls[i]);
	}
	/* The secret is never printed; "***" marks that one is set. */
	fprintf(f, "]\n  secret: %s\n  events: ",
		cfg->webhooks.secret[0] ? "\"***\"" : "\"\"");
	put_str(f, cfg->webhooks.events);
	fprintf(f, "\n");
	put_ms(f, "timeout", cfg->webhooks.timeout_ms);
	fprintf(f, "  retries: %u\n", cfg->webhooks.retries);

	fprintf(f,
		"limits:\n  max_calls: %u\n  worker_threads: %u\n  "
		"worker_queue: %u\n"
		"  media_rt_priority: %u\n",
		cfg->limits.max_calls, cfg->limits.worker_threads,
		cfg->limits.worker_queue, cfg->limits.media_rt_priority);

	fprintf(f, "store:\n  path: ");
	put_str(f, cfg->store.path);
	fprintf(f, "\n  crm_demo: %s", cfg->store.crm_demo ? "true" : "false");

	fprintf(f, "\nflows:\n  dir: ");
	put_str(f, cfg->flows.dir);
	fprintf(f, "\n  default: ");
	put_str(f, cfg->flows.default_flow);
	if (!cfg->flows.nroutes)
		fprintf(f, "\n  routes: []");
	else
		fprintf(f, "\n  routes:");
	for (size_t i = 0; i < cfg->flows.nroutes; i++) {
		const struct config_route *r = &cfg->flows.routes[i];

		fprintf(f, "\n    - number: \"%s%s\"\n      flow: ", r->number,
			r->prefix ? "*" : "");
		put_str(f, r->flow);
	}

	fmt_bytes(cfg->tts.cache_size_bytes, b, sizeof(b));
	fprintf(f, "\ntts:\n  voice: %s\n  cache_size: %s\n  cache_dir: ",
		name_of(voice_names, ARRAY_LEN(voice_names),
			(int)cfg->tts.voice),
		b);
	put_str(f, cfg->tts.cache_dir);
	fprintf(f, "\nstt:\n  engines: ");
	put_str(f, cfg->stt.engines);
	fprintf(f, "\n");
	put_ms(f, "deadline", cfg->stt.deadline_ms);
	put_ms(f, "early_decode", cfg->stt.early_ms);
	put_ms(f, "continue_window", cfg->stt.continue_ms);
	fprintf(f, "  stream: %s\n", cfg->stt.stream ? "true" : "false");
	put_ms(f, "partial_every", cfg->stt.partial_every_ms);
	fprintf(f, "  models_dir: ");
	put_str(f, cfg->stt.models_dir);
	fprintf(f, "\n  threads: %u\n  decoders: %u\n", cfg->stt.threads,
		cfg->stt.decoders);
	fprintf(f,
		"  lm_beam: %u\n  lm_weight: %g\n  lm_word_bonus: %g\n"
		"  lm_prune: %g\n  open_beam: %u\n  open_prune: %g\n",
		cfg->stt.lm_beam, (double)cfg->stt.lm_weight,
		(double)cfg->stt.lm_word_bonus, (double)cfg->stt.lm_prune,
		cfg->stt.open_beam, (double)cfg->stt.open_prune);
	fprintf(f, "  degrade: %s\n", cfg->stt.degrade ? "true" : "false");
	put_ms(f, "degrade_after", cfg->stt.degrade_ms);
	fprintf(f, "nlu:\n  models_dir: ");
	put_str(f, cfg->nlu.models_dir);
	fprintf(f, "\nrecordings:\n  dir: ");
	put_str(f, cfg->recordings.dir);
	fprintf(f, "\n");

	fmt_addr(&cfg->asterisk.agi_listen, b, sizeof(b));
	fprintf(f, "asterisk:\n  agi_enabled: %s\n  agi_listen: \"%s\"\n",
		cfg->asterisk.agi_enabled ? "true" : "false", b);
	fprintf(f, "  sounds_dir: ");
	put_str(f, cfg->asterisk.sounds_dir);
	fprintf(f, "\n  default_flow: ");
	put_str(f, cfg->asterisk.default_flow);
	fprintf(f, "\n");
	fmt_addr(&cfg->asterisk.audiosocket_listen, b, sizeof(b));
	fprintf(f,
		"  audiosocket_enabled: %s\n"
		"  audiosocket_listen: \"%s\"\n",
		cfg->asterisk.audiosocket_enabled ? "true" : "false", b);
	fprintf(f, "  dial_sip: ");
	put_str(f, cfg->asterisk.dial_sip);
	fprintf(f, "\n  dial_tel: ");
	put_str(f, cfg->asterisk.dial_tel);
	fprintf(f, "\n  queue_app: ");
	put_str(f, cfg->asterisk.queue_app);
	fprintf(f, "\ntransfer:\n  queues:%s\n",
		cfg->transfer.nqueues ? "" : " {}");
	for (unsigned i = 0; i < cfg->transfer.nqueues; i++) {
		fprintf(f, "    ");
		put_str(f, cfg->transfer.queues[i].name);
		fprintf(f, ": ");
		put_str(f, cfg->transfer.queues[i].uri);
		fprintf(f, "\n");
	}

	fprintf(f, "genesys_bot:\n  enabled: %s\n  api_key: %s\n",
		cfg->genesys_bot.enabled ? "true" : "false",
		cfg->genesys_bot.api_key[0] ? "\"***\"" : "\"\"");
	fprintf(f, "  api_key_header: ");
	put_str(f, cfg->genesys_bot.api_key_header);
	fprintf(f, "\n  bots: ");
	put_str(f, cfg->genesys_bot.bots);
	fprintf(f, "\n  language: ");
	put_str(f, cfg->genesys_bot.language);
	fmt_ms(cfg->genesys_bot.session_timeout_ms, b, sizeof(b));
	fprintf(f, "\n  session_timeout: %s\n  audio_flow: ", b);
	put_str(f, cfg->genesys_bot.audio_flow);
	fprintf(f, "\n");

	fmt_addr(&cfg->genesys.listen, b, sizeof(b));
	fprintf(f,
		"genesys:\n  enabled: %s\n  listen: \"%s\"\n  api_key: %s\n"
		"  client_secret: %s\n  require_signature: %s\n",
		cfg->genesys.enabled ? "true" : "false", b,
		cfg->genesys.api_key[0] ? "\"***\"" : "\"\"",
		cfg->genesys.client_secret[0] ? "\"***\"" : "\"\"",
		cfg->genesys.require_signature ? "true" : "false");
	put_ms(f, "signature_max_age", cfg->genesys.signature_max_age_ms);
	put_ms(f, "idle_timeout", cfg->genesys.idle_timeout_ms);
	fprintf(f, "  knowledge: ");
	put_str(f, cfg->genesys.knowledge);
	fprintf(f, "\n  model: ");
	put_str(f, cfg->genesys.model);
	fprintf(f, "\n  min_confidence: %.3g\n  language: ",
		(double)cfg->genesys.min_confidence);
	put_str(f, cfg->genesys.language);
	fprintf(f, "\n  partials: %s\n",
		cfg->genesys.partials ? "true" : "false");

	fprintf(f, "twilio:\n  enabled: %s\n  auth_token: %s\n",
		cfg->twilio.enabled ? "true" : "false",
		cfg->twilio.auth_token[0] ? "\"***\"" : "\"\"");
	fprintf(f, "  public_url: ");
	put_str(f, cfg->twilio.public_url);
	fprintf(f, "\n  voice: ");
	put_str(f, cfg->twilio.voice);
	fprintf(f, "\n  language: ");
	put_str(f, cfg->twilio.language);
	fmt_addr(&cfg->twilio.media_listen, b, sizeof(b));
	fprintf(f, "\n  media_enabled: %s\n  media_listen: \"%s\"\n",
		cfg->twilio.media_enabled ? "true" : "false", b);
	fprintf(f, "  media_calls: %s\n",
		cfg->twilio.media_calls ? "true" : "false");
	fprintf(f,
		"  backend_timeout: %ums\n  backend_wait: %ums\n"
		"  redirects_max: %u\n",
		(unsigned)cfg->twilio.backend_timeout_ms,
		(unsigned)cfg->twilio.backend_wait_ms,
		(unsigned)cfg->twilio.redirects_max);

	fprintf(f, "connect:\n  enabled: %s\n  api_key: %s\n  secret: %s\n",
		cfg->connect.enabled ? "true" : "false",
		cfg->connect.api_key[0] ? "\"***\"" : "\"\"",
		cfg->connect.secret[0] ? "\"***\"" : "\"\"");
	fmt_bytes(cfg->connect.max_body_bytes, b, sizeof(b));
	fprintf(f, "  max_body: %s\n", b);
	put_ms(f, "timeout", cfg->connect.timeout_ms);
	fprintf(f, "  flow: ");
	put_str(f, cfg->connect.flow);
	fprintf(f, "\n  model: ");
	put_str(f, cfg->connect.model);
	fprintf(f, "\n  lex_model: ");
	put_str(f, cfg->connect.lex_model);
	fprintf(f, "\n  lex_min_confidence: %g\n",
		(double)cfg->connect.lex_min_confidence);
	fprintf(f, "  functions:%s\n", cfg->connect.nfunctions ? "" : " []");
	for (unsigned i = 0; i < cfg->connect.nfunctions; i++) {
		static const char *const types[] = { "crm_lookup", "classify",
						     "flow", "http" };
		const struct config_connect_fn *fn = &cfg->connect.functions[i];

		fprintf(f, "    - name: ");
		put_str(f, fn->name);
		fprintf(f, "\n      type: %s\n      response: %s\n",
			types[fn->type], fn->json ? "json" : "string_map");
		fprintf(f, "      param: ");
		put_str(f, fn->param);
		fprintf(f, "\n      flow: ");
		put_str(f, fn->flow);
		fprintf(f, "\n      model: ");
		put_str(f, fn->model);
		if (fn->url[0]) {
			fprintf(f, "\n      url: ");
			put_str(f, fn->url);
			fprintf(f, "\n      method: %s", fn->method);
		}
		fprintf(f, "\n");
	}
	fprintf(f, "  lex_intents:%s\n", cfg->connect.nintents ? "" : " []");
	for (unsigned i = 0; i < cfg->connect.nintents; i++) {
		const struct config_connect_intent *e =
			&cfg->connect.intents[i];

		fprintf(f, "    - intent: ");
		put_str(f, e->intent);
		fprintf(f, "\n      slots: ");
		put_str(f, e->slots);
		fprintf(f, "\n      confirm: %s\n      prompt: ",
			e->confirm ? "true" : "false");
		put_str(f, e->prompt);
		fprintf(f, "\n");
	}

	fprintf(f, "log:\n  level: %s\n  format: %s\n",
		name_of(level_names, ARRAY_LEN(level_names),
			(int)cfg->log.level),
		name_of(format_names, ARRAY_LEN(format_names),
			(int)cfg->log.format));

	fprintf(f, "shutdown:\n");
	put_ms(f, "drain_timeout", cfg->shutdown.drain_timeout_ms);
	put_ms(f, "retry_after", cfg->shutdown.retry_after_ms);
	return ferror(f) ? -EIO : 0;
}

void config_errors_print(const struct config_errors *errs, FILE *f)
{
	if (!errs || !f)
		return;
	for (unsigned i = 0; i < errs->count && i < CONFIG_ERRORS_MAX; i++)
		fprintf(f, "%s\n", errs->msg[i]);
	if (errs->dropped)
		fprintf(f, "... and %u more error%s\n", errs->dropped,
			errs->dropped == 1 ? "" : "s");
}

const struct config_route *config_route_find(const struct vg_config *cfg,
					     const char *number)
{
	const struct config_route *best = NULL;
	size_t best_len = 0;

	if (!cfg || !number)
		return NULL;
	for (size_t i = 0; i < cfg->flows.nroutes; i++) {
		const struct config_route *r = &cfg->flows.routes[i];
		size_t n = strlen(r->number);

		if (!r->prefix) {
			if (!strcmp(r->number, number))
				return r;
			continue;
		}
		if (!strncmp(r->number, number, n) && (!best || n > best_len)) {
			best = r;
			best_len = n;
		}
	}
	return best;
}
