/* Genesys Bot Connector messages (text bots): the turn request Genesys
 * Cloud posts for every customer message, and the reply voxgate answers
 * with. Pure functions, no I/O: fuzzed (fuzz/fuzz_botconnector.c).
 *
 * Request:  {"botId","botVersion","botSessionId","messageId",
 *            "inputMessage":{"type":"Text","text"},"languageCode",
 *            "botSessionTimeout","genesysConversationId",
 *            "parameters":{"name":"value",...}}
 * Reply:    {"botState":"MOREDATA|COMPLETE|FAILED",
 *            "replymessages":[{"type":"Text","text"}],"intent",
 *            "confidence","entities":[{"name","value"}],
 *            "parameters":{...},"errorInfo":{"errorCode","errorMessage"}}
 * docs/GENESYS.md "Bot Connector". */
#ifndef VG_CONTROL_GENESYS_GBMSG_H
#define VG_CONTROL_GENESYS_GBMSG_H
#include <stdbool.h>
#include <stddef.h>

struct strbuf;

#define GBOT_BODY_MAX (64 * 1024) /* request body, bytes */
#define GBOT_ID_MAX 128		  /* botId, botSessionId, messageId, ... */
#define GBOT_LANG_MAX 35	  /* BCP 47 tag */
#define GBOT_TEXT_MAX 4096	  /* inputMessage.text, bytes */
#define GBOT_PARAMS_MAX 32	  /* parameters in, and out */
#define GBOT_PARAM_NAME_MAX 64
#define GBOT_PARAM_VALUE_MAX 1024
#define GBOT_REPLIES_MAX 32 /* replymessages */
#define GBOT_ENTITIES_MAX 32
#define GBOT_TIMEOUT_MAX_MIN (7 * 24 * 60) /* botSessionTimeout cap */

struct gbot_param {
	char name[GBOT_PARAM_NAME_MAX + 1];
	char value[GBOT_PARAM_VALUE_MAX + 1];
};

/* A parsed turn request (caller storage, about 40 KB: allocate it). */
struct gbot_req {
	char bot_id[GBOT_ID_MAX + 1];
	char bot_version[GBOT_ID_MAX + 1];  /* "" when absent */
	char session_id[GBOT_ID_MAX + 1];   /* botSessionId */
	char message_id[GBOT_ID_MAX + 1];   /* "" when absent */
	char conversation[GBOT_ID_MAX + 1]; /* genesysConversationId or "" */
	char language[GBOT_LANG_MAX + 1];   /* languageCode or "" */
	char text[GBOT_TEXT_MAX + 1];	    /* inputMessage.text, "" none */
	unsigned timeout_min; /* botSessionTimeout (minutes); 0: absent */
	struct gbot_param params[GBOT_PARAMS_MAX];
	unsigned nparams;
};

/* Parse body[0..len) (need not be NUL-terminated; a leading UTF-8 BOM is
 * skipped) into *r. Required: botId, botSessionId (printable ASCII,
 * 1..GBOT_ID_MAX bytes) and inputMessage with type "Text" or "Structured"
 * (text: a string of valid UTF-8, at most GBOT_TEXT_MAX bytes, may be
 * absent = ""). parameters must be an object of string (or number/bool,
 * taken as their text) values. Unknown fields are ignored, as Genesys adds
 * fields over time. On failure *why (may be NULL) gets a static reason and
 * *r is cleared. Returns 0, -EINVAL (NULL argument), -E2BIG (body over
 * GBOT_BODY_MAX), -EBADMSG (not JSON, wrong type, missing or bad field),
 * -ENOMEM. */
int gbot_req_parse(struct gbot_req *r, const char *body, size_t len,
		   const char **why);

enum gbot_state { GBOT_MOREDATA, GBOT_COMPLETE, GBOT_FAILED };

/* The reply; strings are borrowed for the call of gbot_reply_print. */
struct gbot_reply {
	enum gbot_state state;
	const char *msgs[GBOT_REPLIES_MAX];
	unsigned nmsgs;
	const char *intent; /* NULL: none (then confidence is omitted) */
	float confidence;   /* 0..1 */
	const char *ent_names[GBOT_ENTITIES_MAX];
	const char *ent_values[GBOT_ENTITIES_MAX];
	unsigned nents;
	const char *param_names[GBOT_PARAMS_MAX];
	const char *param_values[GBOT_PARAMS_MAX];
	unsigned nparams;
	const char *error_code;	   /* FAILED: errorInfo, else NULL */
	const char *error_message; /* FAILED */
};

/* Add a reply message / output parameter / entity (borrowed); false when
 * full (the item is dropped). Empty messages are skipped (true). */
bool gbot_reply_msg(struct gbot_reply *r, const char *text);
bool gbot_reply_param(struct gbot_reply *r, const char *name,
		      const char *value);
bool gbot_reply_entity(struct gbot_reply *r, const char *name,
		       const char *value);

/* Append the reply as JSON to out. Returns 0, -EINVAL, -E2BIG (out's cap),
 * -ENOMEM. */
int gbot_reply_print(const struct gbot_reply *r, struct strbuf *out);

/* "MOREDATA", "COMPLETE", "FAILED". */
const char *gbot_state_name(enum gbot_state s);
#endif
