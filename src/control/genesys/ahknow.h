/* The agent-assist knowledge file (genesys.knowledge): per NLU intent, the
 * suggestions shown to the human agent (FAQ answers and articles). YAML or
 * JSON (JSON is read as YAML flow style), parsed strictly: unknown keys,
 * wrong types, empty texts are errors naming file:line:col.
 *
 *   intents:
 *     card_arrival:
 *       - type: faq
 *         question: When will my card arrive?
 *         answer: Cards arrive within 5 working days ...
 *       - type: article
 *         title: Card delivery
 *         excerpt: ...
 *         uri: https://kb.example.com/cards/delivery
 *
 * Immutable after load: any thread may read it. docs/GENESYS.md. */
#ifndef VG_CONTROL_GENESYS_AHKNOW_H
#define VG_CONTROL_GENESYS_AHKNOW_H
#include <stddef.h>

#include "telephony/genesys/ahmsg.h"

struct ahknow;

#define AHKNOW_FILE_MAX ((size_t)4 << 20)
#define AHKNOW_SUGGESTIONS_MAX 8 /* per intent */
#define AHKNOW_TEXT_MAX 2000	 /* bytes of one text */

/* Parse buf[0..len); name labels messages. On error one message goes to
 * err (errlen bytes). Returns 0 with *kp set, -EBADMSG, -E2BIG, -ENOMEM. */
int ahknow_parse(const char *name, const char *buf, size_t len,
		 struct ahknow **kp, char *err, size_t errlen);
/* Read and parse path (blocking: start-up only). -ENOENT and other
 * -errno from reading besides the parse errors. */
int ahknow_load(const char *path, struct ahknow **kp, char *err, size_t errlen);
void ahknow_destroy(struct ahknow *k); /* NULL is a no-op */
/* The suggestions of intent (borrowed from k), their count in *n; NULL
 * and 0 when the file has none for it. */
const struct ahmsg_suggestion *ahknow_find(const struct ahknow *k,
					   const char *intent, size_t *n);
size_t ahknow_intents(const struct ahknow *k);
#endif
