/* Asterisk AGI wire format, pure and fuzzable (fuzz/fuzz_agi_reply.c): the
 * agi_ environment block Asterisk sends first, the replies to commands
 * ("200 result=..", 510, 511, 520 single and multi-line, the async HANGUP
 * line) and the quoting of command arguments. docs/ASTERISK.md. */
#ifndef VG_TELEPHONY_ASTERISK_AGI_H
#define VG_TELEPHONY_ASTERISK_AGI_H
#include <stdbool.h>
#include <stddef.h>

#define AGI_LINE_MAX 1024	/* longest line we accept (either kind) */
#define AGI_ENV_MAX_BYTES 16384 /* whole environment block */
#define AGI_ENV_MAX_LINES 128
#define AGI_ARGS_MAX 16
#define AGI_REPLY_MAX_LINES 64 /* 520- usage text */

enum agi_reply_kind {
	AGI_REPLY_OK,	   /* 200 result=... */
	AGI_REPLY_INVALID, /* 510 Invalid or unknown command */
	AGI_REPLY_DEAD,	   /* 511 dead channel: the call is over */
	AGI_REPLY_USAGE,   /* 520 (single or multi-line) */
	AGI_REPLY_HANGUP,  /* the async "HANGUP" line: not a reply */
};

struct agi_reply {
	enum agi_reply_kind kind;
	int code;	 /* 200, 510, 511, 520; 0 for HANGUP */
	char result[64]; /* the text after result=, "" if none */
	bool result_num; /* result is a decimal integer */
	long value;	 /* its value when result_num */
	char data[256];	 /* text in parentheses, "" if none */
	bool has_endpos;
	long endpos;
};

/* Parse one reply from buf[0..len). Returns 0 with *r filled and *used the
 * bytes it took (every line up to its '\n'), -EAGAIN when buf holds no
 * complete reply yet (nothing consumed), -EBADMSG on a malformed reply or
 * -E2BIG when a line (or a 520 block) exceeds its cap. *r and *used are set
 * only on 0. */
int agi_reply_parse(const char *buf, size_t len, struct agi_reply *r,
		    size_t *used);

/* The environment Asterisk sends on connect. */
struct agi_env {
	char network_script[256]; /* the agi:// URL path, "" if none */
	char request[512];
	char channel[128];
	char uniqueid[64];
	char callerid[128];
	char calleridname[128];
	char dnid[64];
	char extension[64];
	char context[64];
	char args[AGI_ARGS_MAX][128]; /* agi_arg_1.. at args[0].. */
	unsigned nargs;		      /* highest N seen */
	unsigned nlines;
	size_t nbytes;
	bool done; /* the empty line was seen */
};

/* Feed bytes of the environment block. Lines are "key: value" or
 * "key:value"; unknown keys are ignored; a value longer than its field is
 * -E2BIG. Returns 0 once the terminating empty line has been read (*used
 * bytes consumed, env->done set), -EAGAIN when more is needed (*used bytes
 * of complete lines consumed, may be 0), -EBADMSG (a line without ':', a
 * key not starting with "agi_", a bad agi_arg_N, control characters) or
 * -E2BIG (line, value, line count or block size over the caps). */
int agi_env_feed(struct agi_env *env, const char *buf, size_t len,
		 size_t *used);

/* The flow name the call asks for: the last path segment of
 * agi_network_script (query removed) or agi_arg_1; NULL if neither names
 * one. Names are [A-Za-z0-9_.-]{1,63}; anything else is ignored. */
const char *agi_env_flow(const struct agi_env *env, char *buf, size_t cap);

/* Write s as one double-quoted AGI argument into out (cap bytes, NUL
 * included): '"' and '\' are backslash-escaped, control characters (CR, LF
 * among them) become blanks, so the command stays one line. Returns the
 * length, or -ENOSPC when it does not fit (out then holds ""). */
int agi_quote(char *out, size_t cap, const char *s);
#endif
