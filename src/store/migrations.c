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

	/* v3: the CRM that flows' lookup nodes read (docs/CRM.md). Phones
	 * are stored in E.164 ("+" and 1-15 digits), so a lookup is one
	 * index probe on the normalized caller number; the CHECKs make an
	 * ETL that writes another form fail loudly instead of never
	 * matching. Money is integer cents. Cards hold the last four
	 * digits only (PCI DSS: no PAN at rest). */
	"CREATE TABLE customers ("
	" id TEXT PRIMARY KEY NOT NULL CHECK (length(id) BETWEEN 1 AND 64),"
	" first_name TEXT NOT NULL,"
	" last_name TEXT NOT NULL DEFAULT '',"
	" phone TEXT CHECK (phone GLOB '+[1-9]*'"
	"  AND substr(phone, 2) NOT GLOB '*[^0-9]*'"
	"  AND length(phone) BETWEEN 4 AND 16),"
	" email TEXT,"
	" tier TEXT NOT NULL DEFAULT 'standard'"
	"  CHECK (tier IN ('standard', 'gold', 'platinum')),"
	" language TEXT NOT NULL DEFAULT 'en',"
	" pin_hash TEXT,"
	" created_ms INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE UNIQUE INDEX customers_phone ON customers(phone);"
	"CREATE TABLE accounts ("
	" number TEXT PRIMARY KEY NOT NULL,"
	" customer_id TEXT NOT NULL REFERENCES customers(id)"
	"  ON DELETE CASCADE,"
	" type TEXT NOT NULL"
	"  CHECK (type IN ('checking', 'savings', 'credit')),"
	" balance_cents INTEGER NOT NULL DEFAULT 0,"
	" currency TEXT NOT NULL DEFAULT 'USD',"
	" status TEXT NOT NULL DEFAULT 'active'"
	");"
	"CREATE INDEX accounts_customer ON accounts(customer_id, number);"
	"CREATE TABLE cards ("
	" id INTEGER PRIMARY KEY,"
	" customer_id TEXT NOT NULL REFERENCES customers(id)"
	"  ON DELETE CASCADE,"
	" last4 TEXT NOT NULL CHECK (length(last4) = 4"
	"  AND last4 NOT GLOB '*[^0-9]*'),"
	" type TEXT NOT NULL CHECK (type IN ('debit', 'credit')),"
	" status TEXT NOT NULL DEFAULT 'active' CHECK (status IN"
	"  ('active', 'blocked', 'lost', 'pending_activation')),"
	" expires TEXT NOT NULL"
	"  CHECK (expires GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]')"
	");"
	"CREATE INDEX cards_customer ON cards(customer_id, id);"
	"CREATE TABLE tickets ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" customer_id TEXT NOT NULL REFERENCES customers(id)"
	"  ON DELETE CASCADE,"
	" subject TEXT NOT NULL,"
	" status TEXT NOT NULL DEFAULT 'open'"
	"  CHECK (status IN ('open', 'closed')),"
	" created_ms INTEGER NOT NULL"
	");"
	"CREATE INDEX tickets_customer ON tickets(customer_id, created_ms, "
	"id);",
	/* v4: Twilio webhook calls in progress (flow run snapshots by
	 * CallSid), so a restart does not lose them (docs/TWILIO.md). */
	"CREATE TABLE twilio_calls ("
	" call_sid TEXT PRIMARY KEY,"
	" state TEXT NOT NULL,"
	" updated_ms INTEGER NOT NULL"
	");",
	/* v5: every control adapter's sessions between requests (Twilio
	 * CallSid, Connect ContactId, Genesys botSessionId, ...) in one
	 * table keyed by platform; v4's Twilio rows move over. */
	"CREATE TABLE adapter_sessions ("
	" platform TEXT NOT NULL,"
	" session_key TEXT NOT NULL,"
	" state TEXT NOT NULL,"
	" updated_ms INTEGER NOT NULL,"
	" PRIMARY KEY (platform, session_key)"
	") WITHOUT ROWID;"
	"INSERT INTO adapter_sessions(platform, session_key, state, "
	"updated_ms) SELECT 'twilio', call_sid, state, updated_ms FROM "
	"twilio_calls;"
	"DROP TABLE twilio_calls;",
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
