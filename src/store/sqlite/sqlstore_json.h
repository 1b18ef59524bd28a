/* JSON replies of the SQLite store, built from result rows with cJSON.
 * Called on the store thread only (they step the given statements). */
#ifndef VG_STORE_SQLITE_SQLSTORE_JSON_H
#define VG_STORE_SQLITE_SQLSTORE_JSON_H
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

/* Columns of calls in the order the row readers expect. A list selects
 * SQLSTORE_LIST_COLS, a get SQLSTORE_GET_COLS. */
#define SQLSTORE_LIST_COLS                                                   \
	"id, sip_call_id, platform, from_uri, to_uri, flow, codec, "         \
	"remote_addr, started_ms, answered_ms, ended_ms, end_reason, dtmf, " \
	"rtp_tx, rtp_rx"
#define SQLSTORE_GET_COLS SQLSTORE_LIST_COLS ", flow_path, prompts, turns"

/* st: SELECT SQLSTORE_GET_COLS ... WHERE id = ?1. Sets *jsonp (malloc'd) and
 * *lenp. Returns 0, -ENOENT, -EIO, -ENOMEM. Resets st. */
int sqlstore_get_json(sqlite3_stmt *st, const char *id, char **jsonp,
		      size_t *lenp);

/* st: SELECT SQLSTORE_LIST_COLS ... WHERE (started_ms, id) < (?1, ?2)
 * [AND end_reason = ?4] ORDER BY started_ms DESC, id DESC LIMIT ?3.
 * before_ms 0 means no bound. Returns 0, -EIO, -ENOMEM. Resets st. */
int sqlstore_list_json(sqlite3_stmt *st, int limit, int64_t before_ms,
		       const char *before_id, const char *end_reason,
		       char **jsonp, size_t *lenp);
#endif
