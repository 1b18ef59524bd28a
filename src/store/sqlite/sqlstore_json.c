/* Rows of calls to the JSON documents of the REST API (see
 * sqlstore_json.h): computed durations, embedded JSON fields, keyset
 * paging cursors. */
#include "store/sqlite/sqlstore_json.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

enum col {
	C_ID,
	C_SIP_CALL_ID,
	C_PLATFORM,
	C_FROM,
	C_TO,
	C_FLOW,
	C_CODEC,
	C_REMOTE,
	C_STARTED,
	C_ANSWERED,
	C_ENDED,
	C_END_REASON,
	C_DTMF,
	C_RTP_TX,
	C_RTP_RX,
	C_FLOW_PATH,
	C_PROMPTS,
	C_TURNS,
};

static bool add_text(cJSON *o, const char *name, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	if (t)
		return cJSON_AddStringToObject(o, name, (const char *)t);
	return cJSON_AddNullToObject(o, name);
}

static bool add_int(cJSON *o, const char *name, int64_t v)
{
	/* Epoch milliseconds and packet counts stay far below 2^53, where a
	 * JSON number (a double) stops being exact. */
	return cJSON_AddNumberToObject(o, name, (double)v);
}

static bool add_int_or_null(cJSON *o, const char *name, bool valid, int64_t v)
{
	if (!valid)
		return cJSON_AddNullToObject(o, name);
	return add_int(o, name, v < 0 ? 0 : v);
}

/* A stored JSON text, parsed so it is embedded rather than quoted; null if
 * it is missing or does not parse. */
static bool add_embedded(cJSON *o, const char *name, sqlite3_stmt *st, int col)
{
	const char *t = (const char *)sqlite3_column_text(st, col);
	int n = sqlite3_column_bytes(st, col);
	cJSON *v = t ? cJSON_ParseWithLength(t, (size_t)n) : NULL;
	if (!v)
		v = cJSON_CreateNull();
	if (!v)
		return false;
	if (!cJSON_AddItemToObject(o, name, v)) {
		cJSON_Delete(v);
		return false;
	}
	return true;
}

static cJSON *row_json(sqlite3_stmt *st, bool full)
{
	static const char *const text_names[] = {
		[C_ID] = "id",
		[C_SIP_CALL_ID] = "sip_call_id",
		[C_PLATFORM] = "platform",
		[C_FROM] = "from_uri",
		[C_TO] = "to_uri",
		[C_FLOW] = "flow",
		[C_CODEC] = "codec",
		[C_REMOTE] = "remote_addr",
	};
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	bool ok = true;
	for (int c = C_ID; c <= C_REMOTE; c++)
		ok = ok && add_text(o, text_names[c], st, c);

	int64_t started = sqlite3_column_int64(st, C_STARTED);
	int64_t answered = sqlite3_column_int64(st, C_ANSWERED);
	int64_t ended = sqlite3_column_int64(st, C_ENDED);
	ok = ok && add_int(o, "started_ms", started) &&
	     add_int(o, "answered_ms", answered) &&
	     add_int(o, "ended_ms", ended) &&
	     add_int_or_null(o, "duration_ms", ended != 0,
			     ended - (answered ? answered : started)) &&
	     add_int_or_null(o, "answer_delay_ms", answered != 0,
			     answered - started) &&
	     add_text(o, "end_reason", st, C_END_REASON) &&
	     add_text(o, "dtmf", st, C_DTMF) &&
	     add_int(o, "rtp_tx", sqlite3_column_int64(st, C_RTP_TX)) &&
	     add_int(o, "rtp_rx", sqlite3_column_int64(st, C_RTP_RX));
	if (full) {
		ok = ok && add_embedded(o, "flow_path", st, C_FLOW_PATH) &&
		     add_embedded(o, "prompts", st, C_PROMPTS) &&
		     add_embedded(o, "turns", st, C_TURNS);
	}
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int rc_err(int rc)
{
	return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
}

static int print_json(cJSON *doc, char **jsonp, size_t *lenp)
{
	char *txt = cJSON_PrintUnformatted(doc);
	if (!txt)
		return -ENOMEM;
	*jsonp = txt;
	*lenp = strlen(txt);
	return 0;
}

int sqlstore_get_json(sqlite3_stmt *st, const char *id, char **jsonp,
		      size_t *lenp)
{
	cJSON *o = NULL;
	int err;
	int rc = sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK) {
		err = rc_err(rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		err = -ENOENT;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		err = rc_err(rc);
		goto out;
	}
	o = row_json(st, true);
	err = o ? print_json(o, jsonp, lenp) : -ENOMEM;
out:
	cJSON_Delete(o);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return err;
}

int sqlstore_list_json(sqlite3_stmt *st, int limit, int64_t before_ms,
		       const char *before_id, const char *end_reason,
		       char **jsonp, size_t *lenp)
{
	int err = 0;
	cJSON *doc = cJSON_CreateObject();
	cJSON *calls = cJSON_AddArrayToObject(doc, "calls");
	if (!doc || !calls) {
		err = -ENOMEM;
		goto out;
	}

	/* (started_ms, id) < (before_ms, "") excludes before_ms itself, as
	 * every id sorts after the empty string. */
	int rc = sqlite3_bind_int64(st, 1, before_ms ? before_ms : INT64_MAX);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, before_id ? before_id : "", -1,
				       SQLITE_STATIC);
	/* One row more than asked tells whether there is a next page. */
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 3, limit + 1);
	if (rc == SQLITE_OK && end_reason)
		rc = sqlite3_bind_text(st, 4, end_reason, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK) {
		err = rc_err(rc);
		goto out;
	}

	int n = 0;
	bool more = false;
	int64_t last_started = 0;
	char *last_id = NULL;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == limit) {
			more = true;
			break;
		}
		cJSON *o = row_json(st, false);
		if (!o || !cJSON_AddItemToArray(calls, o)) {
			cJSON_Delete(o);
			err = -ENOMEM;
			goto out;
		}
		last_started = sqlite3_column_int64(st, C_STARTED);
		/* Borrowed from the array: valid as long as doc is. */
		last_id = cJSON_GetStringValue(cJSON_GetObjectItem(o, "id"));
		n++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		err = rc_err(rc);
		goto out;
	}

	bool ok;
	if (more && last_id) {
		ok = add_int(doc, "next_before_ms", last_started) &&
		     cJSON_AddStringToObject(doc, "next_before_id", last_id);
	} else {
		ok = cJSON_AddNullToObject(doc, "next_before_ms") &&
		     cJSON_AddNullToObject(doc, "next_before_id");
	}
	err = ok ? print_json(doc, jsonp, lenp) : -ENOMEM;
out:
	cJSON_Delete(doc);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return err;
}
