/* Amazon Connect contact-flow Lambda events (Name: ContactFlowEvent) and
 * their answers: the event parsed and type-checked, and the answer
 * flattened into a STRING_MAP (flat object of strings, <= 32 KB) or checked
 * as nested JSON. Pure functions on caller data: any thread, fuzzable.
 * docs/CONNECT.md. */
#ifndef VG_CONTROL_CONNECT_CCEVENT_H
#define VG_CONTROL_CONNECT_CCEVENT_H
#include <stdbool.h>
#include <stddef.h>

struct cJSON;

#define CONNECT_ANSWER_MAX (32 * 1024) /* printed answer, bytes */
#define CONNECT_VALUE_MAX 4096	       /* one STRING_MAP value, bytes */
#define CONNECT_KEY_MAX 256	       /* one flattened key, bytes */
#define CONNECT_DEPTH_MAX 16	       /* nesting of events and answers */
#define CONNECT_ID_MAX 128	       /* ContactId */

/* A parsed event. Strings are borrowed from root (NULL when absent). */
struct connect_event {
	struct cJSON *root;	     /* owned: connect_event_fini() */
	const struct cJSON *contact; /* Details.ContactData */
	const struct cJSON *params;  /* Details.Parameters, or NULL */
	const char *contact_id;
	const char *initial_contact_id;
	const char *channel;	       /* VOICE, CHAT, TASK */
	const char *initiation_method; /* INBOUND, OUTBOUND, TRANSFER, ... */
	const char *customer_address;  /* CustomerEndpoint.Address */
	const char *system_address;    /* SystemEndpoint.Address */
	const char *queue_name;	       /* Queue.Name */
};

/* Parse body[0..len) (a UTF-8 BOM first is skipped). Checks: a JSON object
 * with Name "ContactFlowEvent", Details.ContactData an object with a
 * ContactId of 1..CONNECT_ID_MAX bytes; every documented ContactData field
 * that is present has its documented type (strings, objects or null for
 * the endpoint and queue objects, an Attributes map of strings);
 * Parameters, when present, an object (values may nest); nesting at most
 * CONNECT_DEPTH_MAX. On failure a short reason goes to why (may be NULL).
 * Returns 0 (ev filled), -EINVAL (NULL arguments), -EBADMSG, -ENOMEM. */
int connect_event_parse(struct connect_event *ev, const char *body, size_t len,
			char *why, size_t whylen);
/* Free what parse allocated. NULL-safe; ev zeroed. */
void connect_event_fini(struct connect_event *ev);

/* Parameters value at a dotted path ("customer.phone"): a string, or a
 * number printed into buf (cap bytes); NULL when absent or of another
 * type. Borrowed from ev (or buf). */
const char *connect_event_param(const struct connect_event *ev,
				const char *path, char *buf, size_t cap);

/* Skip a UTF-8 BOM: returns body past it and shortens *len. */
const char *connect_skip_bom(const char *body, size_t *len);

/* Copy s without control characters (< 0x20, 0x7f) and invalid UTF-8 into
 * dst (cap bytes, NUL-terminated). Returns the length of the clean text, or
 * -E2BIG when it does not fit (dst is then ""). */
int connect_sanitize(const char *s, size_t len, char *dst, size_t cap);

/* The answer as a STRING_MAP: objects flattened with '.' between keys,
 * arrays by index ("items.0.id"), numbers printed (integers without a
 * decimal point), booleans "true"/"false", null "", every key and value
 * sanitized. json: keep val nested instead (strings still sanitized).
 * Refused, never truncated: a key over CONNECT_KEY_MAX, a value over
 * CONNECT_VALUE_MAX, nesting over CONNECT_DEPTH_MAX, a printed answer over
 * CONNECT_ANSWER_MAX (-E2BIG, reason in why). val must be an object.
 * On success *out is a new malloc'd NUL-terminated text (*len bytes).
 * Returns 0, -EINVAL, -E2BIG, -ENOMEM. */
int connect_answer_print(const struct cJSON *val, bool json, char **out,
			 size_t *len, char *why, size_t whylen);
#endif
