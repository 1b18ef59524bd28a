/* The turns table of the SQLite store: one row per caller turn, rebuilt
 * from the JSON array the call layer sends (docs/API.md). Called on the
 * store thread only (they step the given statements). */
#ifndef VG_STORE_SQLITE_SQLSTORE_TURNS_H
#define VG_STORE_SQLITE_SQLSTORE_TURNS_H
#include <cJSON.h>
#include <sqlite3.h>

/* Rows written per call at most; later turns stay in calls.turns only. */
#define SQLSTORE_TURNS_MAX 500

/* Statements the writer prepares once. */
#define SQLSTORE_TURNS_DELETE "DELETE FROM turns WHERE call_id = ?1"
#define SQLSTORE_TURNS_INSERT                                               \
	"INSERT INTO turns (call_id, seq, node, input, transcript, "        \
	"stt_engine, stt_confidence, intent, intent_confidence, match, "    \
	"next_node, barge_in, end_kind, speech_ms, stt_ms, nlu_ms, "        \
	"response_ms, tts_ready_ms, first_rtp_ms) VALUES (?1, ?2, ?3, ?4, " \
	"?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, " \
	"?19)"

/* Parse json (len bytes) as the turns array. Returns a new cJSON array (the
 * caller deletes it), or NULL when json is not a JSON array (logged once
 * with call_id) or memory ran out. */
cJSON *sqlstore_turns_parse(const char *call_id, const char *json, size_t len);

/* Replace call_id's rows: del (SQLSTORE_TURNS_DELETE), then one insert
 * (SQLSTORE_TURNS_INSERT) per valid turn of turns (borrowed; NULL = no
 * turns, only delete). A turn that is not an object, has no integral seq
 * in 0..2^31-1, or repeats a seq is skipped; a field of the wrong type is
 * stored as NULL; both are counted in one log line. At most
 * SQLSTORE_TURNS_MAX rows. Runs inside the caller's transaction. Returns
 * 0, or -EIO / -ENOMEM when SQLite failed (rows may be partly written;
 * the caller decides about the transaction). Resets both statements. */
int sqlstore_turns_write(sqlite3_stmt *del, sqlite3_stmt *ins,
			 const char *call_id, const cJSON *turns);
#endif
