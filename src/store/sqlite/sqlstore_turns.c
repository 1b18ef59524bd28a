/* Turn objects of a call (JSON from the call layer) to rows of the turns
 * table (see sqlstore_turns.h). The JSON crossed a thread and may come from
 * a buggy or newer call layer: every field is type-checked and capped. */
#include "store/sqlite/sqlstore_turns.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/log.h"

enum kind { K_TEXT, K_REAL, K_INT, K_BOOL };

/* JSON member -> column parameter. in_t_ms: a member of the turn's "t_ms"
 * object rather than of the turn. t_ms.speech_end is the origin (always 0),
 * so it has no column. */
static const struct {
	const char *name;
	bool in_t_ms;
	enum kind kind;
	size_t max; /* K_TEXT: bytes kept */
	int param;
} fields[] = {
	{ "node", false, K_TEXT, 128, 3 },
	{ "input", false, K_TEXT, 16, 4 },
	{ "transcript", false, K_TEXT, 4096, 5 },
	{ "stt_engine", false, K_TEXT, 64, 6 },
	{ "stt_confidence", false, K_REAL, 0, 7 },
	{ "intent", false, K_TEXT, 128, 8 },
	{ "intent_confidence", false, K_REAL, 0, 9 },
	{ "match", false, K_TEXT, 16, 10 },
	{ "next", false, K_TEXT, 128, 11 },
	{ "barge_in", false, K_BOOL, 0, 12 },
	{ "end", false, K_TEXT, 32, 13 },
	{ "speech_ms", false, K_INT, 0, 14 },
	{ "stt_final", true, K_REAL, 0, 15 },
	{ "nlu_done", true, K_REAL, 0, 16 },
	{ "response", true, K_REAL, 0, 17 },
	{ "tts_ready", true, K_REAL, 0, 18 },
	{ "first_rtp", true, K_REAL, 0, 19 },
};

/* Integers beyond 2^53 are not exact in a JSON number (a double). */
#define EXACT_INT_MAX 9007199254740992.0

/* What one write skipped, for its single log line. */
struct tally {
	unsigned skipped; /* turns without a row */
	unsigned nulled;  /* fields stored as NULL for a wrong type */
	int first_bad;	  /* array index of the first problem, -1 none */
	unsigned over_cap;
};

static int rc_err(int rc)
{
	return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
}

static void note_bad(struct tally *t, int index)
{
	if (t->first_bad < 0)
		t->first_bad = index;
}

cJSON *sqlstore_turns_parse(const char *call_id, const char *json, size_t len)
{
	cJSON *doc = cJSON_ParseWithLength(json, len);
	if (cJSON_IsArray(doc))
		return doc;
	LOGW(call_id, "store_turns_invalid", "len=%zu reason=%s", len,
	     doc ? "not_an_array" : "parse_error");
	cJSON_Delete(doc);
	return NULL;
}

/* Length of s cut to at most max bytes between UTF-8 characters (the text
 * came out of cJSON, so it is valid UTF-8 already). */
static int cut_len(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	return (int)n;
}

/* Bind one field of a turn: absent or null is NULL, a wrong type too but it
 * is counted. Returns an SQLite code. */
static int bind_field(sqlite3_stmt *st, size_t f, const cJSON *v, bool *wrong)
{
	const int p = fields[f].param;
	if (!v || cJSON_IsNull(v))
		return sqlite3_bind_null(st, p);
	switch (fields[f].kind) {
	case K_TEXT:
		if (cJSON_IsString(v))
			return sqlite3_bind_text(
				st, p, v->valuestring,
				cut_len(v->valuestring, fields[f].max),
				SQLITE_STATIC);
		break;
	case K_REAL:
		if (cJSON_IsNumber(v) && isfinite(v->valuedouble))
			return sqlite3_bind_double(st, p, v->valuedouble);
		break;
	case K_INT:
		if (cJSON_IsNumber(v) && fabs(v->valuedouble) <= EXACT_INT_MAX)
			return sqlite3_bind_int64(st, p,
						  llround(v->valuedouble));
		break;
	case K_BOOL:
		if (cJSON_IsBool(v))
			return sqlite3_bind_int(st, p, cJSON_IsTrue(v));
		break;
	}
	*wrong = true;
	return sqlite3_bind_null(st, p);
}

/* seq is the key: without a usable one the turn cannot be a row. */
static bool seq_of(const cJSON *turn, int64_t *seqp)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(turn, "seq");
	if (!cJSON_IsNumber(v))
		return false;
	double d = v->valuedouble;
	if (!(d >= 0 && d <= 2147483647.0) || d != floor(d))
		return false;
	*seqp = (int64_t)d;
	return true;
}

/* Bind and insert one turn. Returns 0 (row written), 1 (turn skipped), or
 * a negative errno. */
static int insert_turn(sqlite3_stmt *ins, const char *call_id,
		       const cJSON *turn, struct tally *t, int index)
{
	int64_t seq;
	if (!cJSON_IsObject(turn) || !seq_of(turn, &seq)) {
		note_bad(t, index);
		return 1;
	}
	const cJSON *t_ms = cJSON_GetObjectItemCaseSensitive(turn, "t_ms");
	unsigned wrong_fields = 0;
	if (t_ms && !cJSON_IsNull(t_ms) && !cJSON_IsObject(t_ms)) {
		wrong_fields++;
		t_ms = NULL;
	}
	int rc = sqlite3_bind_text(ins, 1, call_id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(ins, 2, seq);
	for (size_t f = 0;
	     f < sizeof(fields) / sizeof(fields[0]) && rc == SQLITE_OK; f++) {
		const cJSON *from = fields[f].in_t_ms ? t_ms : turn;
		const cJSON *v = from ? cJSON_GetObjectItemCaseSensitive(
						from, fields[f].name)
				      : NULL;
		bool wrong = false;
		rc = bind_field(ins, f, v, &wrong);
		wrong_fields += wrong;
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_step(ins);
	sqlite3_reset(ins);
	sqlite3_clear_bindings(ins);
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		/* The only constraint a bound row can break: a repeated seq. */
		note_bad(t, index);
		return 1;
	}
	if (rc != SQLITE_DONE)
		return rc_err(rc);
	if (wrong_fields) {
		t->nulled += wrong_fields;
		note_bad(t, index);
	}
	return 0;
}

int sqlstore_turns_write(sqlite3_stmt *del, sqlite3_stmt *ins,
			 const char *call_id, const cJSON *turns)
{
	int rc = sqlite3_bind_text(del, 1, call_id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(del);
	sqlite3_reset(del);
	sqlite3_clear_bindings(del);
	if (rc != SQLITE_DONE && rc != SQLITE_OK)
		return rc_err(rc);

	struct tally t = { .first_bad = -1 };
	unsigned rows = 0;
	int index = 0, err = 0;
	const cJSON *turn;
	cJSON_ArrayForEach(turn, turns)
	{
		if (rows == SQLSTORE_TURNS_MAX) {
			t.over_cap++;
		} else {
			int r = insert_turn(ins, call_id, turn, &t, index);
			if (r < 0) {
				err = r;
				break;
			}
			if (r == 0)
				rows++;
			else
				t.skipped++;
		}
		index++;
	}
	if (!err && (t.skipped || t.nulled || t.over_cap))
		LOGW(call_id, "store_turns_partial",
		     "rows=%u skipped=%u fields_nulled=%u over_cap=%u "
		     "first_bad_index=%d",
		     rows, t.skipped, t.nulled, t.over_cap, t.first_bad);
	return err;
}
