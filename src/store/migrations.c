/* The ordered list of schema migrations (see migrations.h). */
#include "store/migrations.h"

#include <stddef.h>

static const char *const migrations[] = {
	/* v1: call detail records. The indexes serve the REST API's
	 * newest-first paging (with and without an end_reason filter) and
	 * the start-up scan for calls a crash left open. */
	"CREATE TABLE calls ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" sip_call_id TEXT,"
	" platform TEXT,"
	" from_uri TEXT,"
	" to_uri TEXT,"
	" flow TEXT,"
	" codec TEXT,"
	" remote_addr TEXT,"
	" started_ms INTEGER NOT NULL,"
	" answered_ms INTEGER NOT NULL DEFAULT 0,"
	" ended_ms INTEGER NOT NULL DEFAULT 0,"
	" end_reason TEXT,"
	" dtmf TEXT,"
	" flow_path TEXT,"
	" prompts TEXT,"
	" rtp_tx INTEGER NOT NULL DEFAULT 0,"
	" rtp_rx INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX calls_started ON calls(started_ms, id);"
	"CREATE INDEX calls_end_reason ON calls(end_reason, started_ms, id);"
	"CREATE INDEX calls_open ON calls(id) WHERE ended_ms = 0;",

	/* v2: the caller's turns (speech or DTMF in, the flow's answer out),
	 * kept whole as JSON on the call for the REST API and as one row
	 * per turn for SQL reports. Rows are rewritten from the JSON on each
	 * update, so the primary key is all they need; turns_intent serves
	 * "turns per intent", joined to calls for the time range. */
	"ALTER TABLE calls ADD COLUMN turns TEXT;"
	"CREATE TABLE turns ("
	" call_id TEXT NOT NULL,"
	" seq INTEGER NOT NULL,"
	" node TEXT,"
	" input TEXT,"
	" transcript TEXT,"
	" stt_engine TEXT,"
	" stt_confidence REAL,"
	" intent TEXT,"
	" intent_confidence REAL,"
	" match TEXT,"
	" next_node TEXT,"
	" barge_in INTEGER,"
	" end_kind TEXT,"
	" speech_ms INTEGER,"
	" stt_ms REAL,"
	" nlu_ms REAL,"
	" response_ms REAL,"
	" tts_ready_ms REAL,"
	" first_rtp_ms REAL,"
	" PRIMARY KEY (call_id, seq)"
	");"
	"CREATE INDEX turns_intent ON turns(intent, call_id);",
};

unsigned store_migration_latest(void)
{
	return (unsigned)(sizeof(migrations) / sizeof(migrations[0]));
}

const char *store_migration_sql(unsigned version)
{
	if (version < 1 || version > store_migration_latest())
		return NULL;
	return migrations[version - 1];
}
