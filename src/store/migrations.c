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
