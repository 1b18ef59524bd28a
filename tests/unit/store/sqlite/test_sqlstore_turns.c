/* Tests of the caller's turns in the SQLite store: migration v2 of an
 * existing database, rows of the turns table rebuilt from the call layer's
 * JSON, malformed and oversized input, the REST get reply. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>
#include <cmocka.h>
#include <re.h>
#include <sqlite3.h>

#include "core/loop.h"
#include "metrics/metrics.h"
#include "store/migrations.h"
#include "store/store.h"

static struct vg_loop *g_loop;

struct fixture {
	char dir[64];
	char path[128];
};

static int group_setup(void **state)
{
	(void)state;
	if (libre_init())
		return -1;
	if (loop_create(&g_loop, "test-web") || loop_start(g_loop))
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	loop_destroy(g_loop);
	libre_close();
	metrics_reset();
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/vg-turns-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/voxgate.db", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	static const char *const suffixes[] = { "", "-wal", "-shm",
						"-journal" };
	for (size_t i = 0; i < 4; i++) {
		char p[160];
		snprintf(p, sizeof(p), "%s%s", f->path, suffixes[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A reply from the store, handed from the loop thread to the test. */
struct result {
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	bool done;
	int err;
	char *json;
};

static void on_json(int err, char *json, size_t len, void *arg)
{
	(void)len;
	struct result *r = arg;
	pthread_mutex_lock(&r->mtx);
	r->err = err;
	r->json = json;
	r->done = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->mtx);
}

static cJSON *wait_json(struct result *r)
{
	pthread_mutex_lock(&r->mtx);
	while (!r->done)
		pthread_cond_wait(&r->cond, &r->mtx);
	pthread_mutex_unlock(&r->mtx);
	assert_int_equal(r->err, 0);
	assert_non_null(r->json);
	cJSON *doc = cJSON_Parse(r->json);
	free(r->json);
	assert_non_null(doc);
	return doc;
}

static cJSON *get_call(struct store *s, const char *id)
{
	struct result r = { PTHREAD_MUTEX_INITIALIZER,
			    PTHREAD_COND_INITIALIZER };
	assert_int_equal(store_call_get(s, id, g_loop, on_json, &r), 0);
	return wait_json(&r);
}

static cJSON *list_calls(struct store *s)
{
	struct result r = { PTHREAD_MUTEX_INITIALIZER,
			    PTHREAD_COND_INITIALIZER };
	assert_int_equal(store_calls_list(s, NULL, g_loop, on_json, &r), 0);
	return wait_json(&r);
}

static struct store_cdr cdr_make(const char *id, int64_t started_ms)
{
	return (struct store_cdr){
		.id = id,
		.platform = "sip",
		.from_uri = "sip:alice@example.com",
		.to_uri = "sip:ivr@voxgate",
		.flow = "main",
		.started_ms = started_ms,
	};
}

/* The first column of the first row of sql, read through a connection of
 * the test's own (the store's WAL makes its commits visible). */
static int64_t sql_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static int64_t turn_rows(const char *path, const char *call_id)
{
	char sql[160];
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM turns WHERE call_id = '%s'", call_id);
	return sql_int(path, sql);
}

static bool turns_column_is_null(const char *path, const char *call_id)
{
	char sql[160];
	snprintf(sql, sizeof(sql),
		 "SELECT turns IS NULL FROM calls WHERE id = '%s'", call_id);
	return sql_int(path, sql) == 1;
}

/* One row of turns, every column as the test sees it. */
struct turn_row {
	char text[8][64]; /* node input transcript stt_engine intent match
			     next_node end_kind; "" for NULL */
	bool null[17];	  /* per column after seq, in table order */
	double stt_conf, intent_conf, stt_ms, nlu_ms, response_ms, tts_ms,
		rtp_ms;
	int64_t barge_in, speech_ms;
	size_t transcript_len;
};

static void read_turn(const char *path, const char *call_id, int seq,
		      struct turn_row *out)
{
	static const char sql[] =
		"SELECT node, input, transcript, stt_engine, stt_confidence, "
		"intent, intent_confidence, match, next_node, barge_in, "
		"end_kind, speech_ms, stt_ms, nlu_ms, response_ms, "
		"tts_ready_ms, first_rtp_ms FROM turns "
		"WHERE call_id = ?1 AND seq = ?2";
	/* Column -> slot in text[] for the text columns, -1 otherwise. */
	static const int text_slot[17] = { 0,  1, 2,  3,  -1, 4,  -1, 5, 6,
					   -1, 7, -1, -1, -1, -1, -1, -1 };
	sqlite3 *db;
	sqlite3_stmt *st;
	memset(out, 0, sizeof(*out));
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, call_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, seq);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	for (int c = 0; c < 17; c++) {
		out->null[c] = sqlite3_column_type(st, c) == SQLITE_NULL;
		if (text_slot[c] >= 0 && !out->null[c]) {
			const char *t =
				(const char *)sqlite3_column_text(st, c);
			snprintf(out->text[text_slot[c]], 64, "%s", t);
			if (c == 2)
				out->transcript_len = strlen(t);
		}
	}
	out->stt_conf = sqlite3_column_double(st, 4);
	out->intent_conf = sqlite3_column_double(st, 6);
	out->barge_in = sqlite3_column_int64(st, 9);
	out->speech_ms = sqlite3_column_int64(st, 11);
	out->stt_ms = sqlite3_column_double(st, 12);
	out->nlu_ms = sqlite3_column_double(st, 13);
	out->response_ms = sqlite3_column_double(st, 14);
	out->tts_ms = sqlite3_column_double(st, 15);
	out->rtp_ms = sqlite3_column_double(st, 16);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static bool near(double a, double b)
{
	return fabs(a - b) < 1e-9;
}

static const char two_turns[] =
	"[{\"seq\":1,\"node\":\"main_menu\",\"input\":\"speech\","
	"\"transcript\":\"i want to check my balance\","
	"\"stt_engine\":\"moonshine\",\"stt_confidence\":0.83,"
	"\"intent\":\"check_balance\",\"intent_confidence\":0.91,"
	"\"match\":\"high\",\"next\":\"balance\",\"barge_in\":false,"
	"\"end\":\"speech\",\"speech_ms\":1500,"
	"\"t_ms\":{\"speech_end\":0,\"stt_final\":62.1,\"nlu_done\":62.3,"
	"\"response\":62.4,\"tts_ready\":70.0,\"first_rtp\":80.2}},"
	"{\"seq\":2,\"node\":\"balance\",\"input\":\"dtmf\","
	"\"transcript\":\"1\",\"stt_engine\":null,\"stt_confidence\":null,"
	"\"intent\":null,\"intent_confidence\":null,\"match\":\"none\","
	"\"next\":\"bye\",\"barge_in\":true,\"end\":\"dtmf\","
	"\"speech_ms\":0,\"t_ms\":{\"speech_end\":0,\"stt_final\":null,"
	"\"nlu_done\":null,\"response\":0.1,\"tts_ready\":null,"
	"\"first_rtp\":null}}]";

static void v1_database_migrates_in_place_and_keeps_its_calls(void **state)
{
	struct fixture *f = *state;
	/* The v1 schema as released, written by hand: the test must not
	 * follow later edits of migrations.c. */
	static const char v1[] =
		"CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY "
		"NOT NULL, applied_at INTEGER NOT NULL);"
		"CREATE TABLE calls (id TEXT PRIMARY KEY NOT NULL, "
		"sip_call_id TEXT, platform TEXT, from_uri TEXT, to_uri TEXT, "
		"flow TEXT, codec TEXT, remote_addr TEXT, "
		"started_ms INTEGER NOT NULL, "
		"answered_ms INTEGER NOT NULL DEFAULT 0, "
		"ended_ms INTEGER NOT NULL DEFAULT 0, end_reason TEXT, "
		"dtmf TEXT, flow_path TEXT, prompts TEXT, "
		"rtp_tx INTEGER NOT NULL DEFAULT 0, "
		"rtp_rx INTEGER NOT NULL DEFAULT 0);"
		"CREATE INDEX calls_started ON calls(started_ms, id);"
		"CREATE INDEX calls_end_reason ON calls(end_reason, "
		"started_ms, id);"
		"CREATE INDEX calls_open ON calls(id) WHERE ended_ms = 0;"
		"INSERT INTO schema_migrations VALUES (1, 1600000000000);"
		"INSERT INTO calls (id, platform, started_ms, answered_ms, "
		"ended_ms, end_reason, flow_path, prompts, rtp_tx) VALUES "
		"('old-call', 'sip', 1600000000000, 1600000000500, "
		"1600000010500, 'caller_hangup', '[\"welcome\"]', '[]', 500);";
	sqlite3 *db;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, v1, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	struct store *s = NULL;
	unsigned interrupted = 99;
	assert_int_equal(store_open(&s, f->path, &interrupted), 0);
	assert_int_equal(interrupted, 0);
	struct store_info info;
	assert_int_equal(store_info_get(s, true, &info), 0);
	assert_true(store_migration_latest() >= 2);
	assert_int_equal(info.schema_version, store_migration_latest());
	assert_int_equal(info.integrity_ok, 1);
	assert_int_equal(info.calls, 1);

	/* The old call is intact and reads back with turns null. */
	cJSON *o = get_call(s, "old-call");
	assert_string_equal(
		cJSON_GetStringValue(cJSON_GetObjectItem(o, "end_reason")),
		"caller_hangup");
	assert_true(cJSON_GetNumberValue(
			    cJSON_GetObjectItem(o, "duration_ms")) == 10000);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(
				    cJSON_GetObjectItem(o, "flow_path"), 0)),
			    "welcome");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "turns")));
	cJSON_Delete(o);
	store_close(s);

	assert_int_equal(
		sql_int(f->path, "SELECT count(*) FROM schema_migrations"),
		store_migration_latest());
	assert_int_equal(sql_int(f->path,
				 "SELECT applied_at FROM schema_migrations "
				 "WHERE version = 1"),
			 1600000000000);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM "
					  "pragma_table_info('calls') "
					  "WHERE name = 'turns'"),
			 1);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM "
					  "pragma_table_info('turns')"),
			 19);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM sqlite_master "
					  "WHERE type = 'index' AND "
					  "name = 'turns_intent'"),
			 1);

	/* The migrated database takes turns for its old call. */
	assert_int_equal(store_open(&s, f->path, NULL), 0);
	struct store_cdr c = cdr_make("old-call", 1600000000000);
	c.answered_ms = 1600000000500;
	c.ended_ms = 1600000010500;
	c.end_reason = "caller_hangup";
	c.turns_json = two_turns;
	assert_int_equal(store_call_update(s, &c), 0);
	assert_int_equal(store_sync(s), 0);
	store_close(s);
	assert_int_equal(turn_rows(f->path, "old-call"), 2);
}

static void two_turns_become_rows_with_every_column(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	assert_int_equal(store_open(&s, f->path, NULL), 0);
	struct store_cdr c = cdr_make("call-t", 1700000000000);
	assert_int_equal(store_call_begin(s, &c), 0);
	c.answered_ms = 1700000000300;
	c.turns_json = two_turns;
	assert_int_equal(store_call_update(s, &c), 0);
	/* Another call's rows are its own. */
	struct store_cdr other = cdr_make("call-u", 1700000000001);
	other.turns_json = "[{\"seq\":1,\"node\":\"x\"}]";
	assert_int_equal(store_call_begin(s, &other), 0);
	assert_int_equal(store_sync(s), 0);

	assert_int_equal(turn_rows(f->path, "call-t"), 2);
	assert_int_equal(turn_rows(f->path, "call-u"), 1);
	struct turn_row t;
	read_turn(f->path, "call-t", 1, &t);
	assert_string_equal(t.text[0], "main_menu");
	assert_string_equal(t.text[1], "speech");
	assert_string_equal(t.text[2], "i want to check my balance");
	assert_string_equal(t.text[3], "moonshine");
	assert_string_equal(t.text[4], "check_balance");
	assert_string_equal(t.text[5], "high");
	assert_string_equal(t.text[6], "balance");
	assert_string_equal(t.text[7], "speech");
	for (int col = 0; col < 17; col++)
		assert_false(t.null[col]);
	assert_true(near(t.stt_conf, 0.83));
	assert_true(near(t.intent_conf, 0.91));
	assert_int_equal(t.barge_in, 0);
	assert_int_equal(t.speech_ms, 1500);
	assert_true(near(t.stt_ms, 62.1));
	assert_true(near(t.nlu_ms, 62.3));
	assert_true(near(t.response_ms, 62.4));
	assert_true(near(t.tts_ms, 70.0));
	assert_true(near(t.rtp_ms, 80.2));

	read_turn(f->path, "call-t", 2, &t);
	assert_string_equal(t.text[1], "dtmf");
	assert_string_equal(t.text[7], "dtmf");
	assert_int_equal(t.barge_in, 1);
	/* JSON nulls are SQL NULLs, not zeros. */
	assert_true(t.null[3] && t.null[4] && t.null[5] && t.null[6]);
	assert_true(t.null[12] && t.null[13] && t.null[15] && t.null[16]);
	assert_false(t.null[14]);
	assert_true(near(t.response_ms, 0.1));

	/* A report by intent works off the index. */
	assert_int_equal(sql_int(f->path,
				 "SELECT count(*) FROM turns JOIN calls ON "
				 "calls.id = turns.call_id WHERE intent = "
				 "'check_balance' AND started_ms >= "
				 "1700000000000"),
			 1);
	store_close(s);
}

static void update_with_fewer_turns_replaces_the_rows(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	assert_int_equal(store_open(&s, f->path, NULL), 0);
	struct store_cdr c = cdr_make("call-r", 1000);
	c.turns_json = two_turns;
	assert_int_equal(store_call_begin(s, &c), 0);
	assert_int_equal(store_sync(s), 0);
	assert_int_equal(turn_rows(f->path, "call-r"), 2);

	c.turns_json = "[{\"seq\":7,\"node\":\"again\",\"input\":\"speech\"}]";
	assert_int_equal(store_call_update(s, &c), 0);
	assert_int_equal(store_sync(s), 0);
	assert_int_equal(turn_rows(f->path, "call-r"), 1);
	struct turn_row t;
	read_turn(f->path, "call-r", 7, &t);
	assert_string_equal(t.text[0], "again");
	assert_true(t.null[2] && t.null[12]);

	/* No turns_json: the stored turns stay, column and rows. */
	c.turns_json = NULL;
	c.ended_ms = 5000;
	c.end_reason = "hangup";
	assert_int_equal(store_call_update(s, &c), 0);
	assert_int_equal(store_sync(s), 0);
	assert_int_equal(turn_rows(f->path, "call-r"), 1);
	cJSON *o = get_call(s, "call-r");
	const cJSON *turns = cJSON_GetObjectItem(o, "turns");
	assert_int_equal(cJSON_GetArraySize(turns), 1);
	assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(
			    cJSON_GetArrayItem(turns, 0), "seq")) == 7);
	cJSON_Delete(o);

	/* An empty array clears them. */
	c.turns_json = "[]";
	assert_int_equal(store_call_update(s, &c), 0);
	assert_int_equal(store_sync(s), 0);
	assert_int_equal(turn_rows(f->path, "call-r"), 0);
	assert_false(turns_column_is_null(f->path, "call-r"));
	store_close(s);
}

static void malformed_turns_never_crash_and_keep_what_is_valid(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	static const struct {
		const char *json;
		int rows;	  /* rows in turns afterwards */
		bool column_null; /* calls.turns stored as null */
	} cases[] = {
		{ "{\"seq\":1}", 0, true },
		{ "[{\"seq\":1}", 0, true },
		{ "", 0, true },
		{ "null", 0, true },
		{ "\"[]\"", 0, true },
		{ "[1, \"x\", null, [], true]", 0, false },
		/* No usable seq: missing, negative, fraction, text, huge. */
		{ "[{\"node\":\"a\"},{\"seq\":-1},{\"seq\":1.5},"
		  "{\"seq\":\"1\"},{\"seq\":1e300},{\"seq\":null}]",
		  0, false },
		/* Wrong types become NULLs; a repeated seq is skipped. */
		{ "[{\"seq\":3,\"node\":5,\"t_ms\":[1],\"barge_in\":\"yes\","
		  "\"speech_ms\":1e300,\"stt_confidence\":\"x\","
		  "\"transcript\":{\"a\":1},\"end\":[]},"
		  "{\"seq\":3,\"node\":\"dup\"},"
		  "{\"seq\":4,\"t_ms\":{\"stt_final\":\"x\",\"nlu_done\":1,"
		  "\"first_rtp\":1e999}},{\"seq\":0,\"t_ms\":null}]",
		  3, false },
	};
	assert_int_equal(store_open(&s, f->path, NULL), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char id[16];
		snprintf(id, sizeof(id), "bad-%zu", i);
		struct store_cdr c = cdr_make(id, 1000 + (int64_t)i);
		/* Valid rows first: every case must replace them. */
		c.turns_json = two_turns;
		assert_int_equal(store_call_begin(s, &c), 0);
		c.turns_json = cases[i].json;
		assert_int_equal(store_call_update(s, &c), 0);
		assert_int_equal(store_sync(s), 0);
		print_message("case %zu: %s\n", i, cases[i].json);
		assert_int_equal(turn_rows(f->path, id), cases[i].rows);
		assert_int_equal(turns_column_is_null(f->path, id),
				 cases[i].column_null);
		/* The get reply still parses (wait_json asserts it). */
		cJSON *o = get_call(s, id);
		assert_int_equal(cJSON_IsNull(cJSON_GetObjectItem(o, "turns")),
				 cases[i].column_null);
		cJSON_Delete(o);
	}
	struct turn_row t;
	read_turn(f->path, "bad-7", 3, &t);
	for (int col = 0; col < 17; col++)
		assert_true(t.null[col]); /* all wrong or absent */
	read_turn(f->path, "bad-7", 4, &t);
	assert_true(t.null[12]);
	assert_false(t.null[13]);
	assert_true(near(t.nlu_ms, 1.0));
	assert_true(t.null[16]);
	read_turn(f->path, "bad-7", 0, &t);
	assert_true(t.null[0]);

	struct store_info info;
	assert_int_equal(store_info_get(s, true, &info), 0);
	assert_int_equal(info.integrity_ok, 1);
	store_close(s);
}

/* Appends n turns "{"seq":i,...}" to a fresh buffer of at most cap. */
static char *make_turns(int n, size_t transcript_len)
{
	size_t cap = 64 + (size_t)n * (transcript_len + 64);
	char *buf = malloc(cap);
	assert_non_null(buf);
	char *tr = malloc(transcript_len + 1);
	assert_non_null(tr);
	memset(tr, 'w', transcript_len);
	tr[transcript_len] = '\0';
	size_t o = 0;
	buf[o++] = '[';
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(buf + o, cap - o,
				      "%s{\"seq\":%d,\"transcript\":\"%s\"}",
				      i ? "," : "", i + 1, tr);
	buf[o++] = ']';
	buf[o] = '\0';
	free(tr);
	return buf;
}

static void huge_turns_are_capped_or_stored_as_null(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	assert_int_equal(store_open(&s, f->path, NULL), 0);

	/* 600 small turns fit the text cap: all in the column, 500 rows. */
	char *many = make_turns(600, 10);
	assert_true(strlen(many) < 256 * 1024);
	struct store_cdr c = cdr_make("many", 1000);
	c.turns_json = many;
	assert_int_equal(store_call_begin(s, &c), 0);
	free(many);
	assert_int_equal(store_sync(s), 0);
	assert_int_equal(turn_rows(f->path, "many"), 500);
	assert_int_equal(sql_int(f->path, "SELECT max(seq) FROM turns WHERE "
					  "call_id = 'many'"),
			 500);
	cJSON *o = get_call(s, "many");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "turns")),
			 600);
	cJSON_Delete(o);

	/* A long transcript is cut, between UTF-8 characters. */
	char *one = make_turns(1, 10000);
	memcpy(strstr(one, "wwww") + 4093, "\xc3\xa9\xc3\xa9", 4);
	c = cdr_make("long", 1001);
	c.turns_json = one;
	assert_int_equal(store_call_begin(s, &c), 0);
	free(one);
	assert_int_equal(store_sync(s), 0);
	struct turn_row t;
	read_turn(f->path, "long", 1, &t);
	assert_int_equal(t.transcript_len, 4095);

	/* Over the text cap: null, and earlier rows are gone. */
	char *huge = make_turns(30, 10000);
	assert_true(strlen(huge) > 256 * 1024);
	c = cdr_make("huge", 1002);
	c.turns_json = two_turns;
	assert_int_equal(store_call_begin(s, &c), 0);
	c.turns_json = huge;
	assert_int_equal(store_call_update(s, &c), 0);
	free(huge);
	assert_int_equal(store_sync(s), 0);
	assert_int_equal(turn_rows(f->path, "huge"), 0);
	assert_true(turns_column_is_null(f->path, "huge"));

	/* Nesting deeper than cJSON allows is a parse error, not a crash. */
	size_t depth = 100000;
	char *deep = malloc(2 * depth + 1);
	assert_non_null(deep);
	memset(deep, '[', depth);
	memset(deep + depth, ']', depth);
	deep[2 * depth] = '\0';
	c = cdr_make("deep", 1003);
	c.turns_json = deep;
	assert_int_equal(store_call_begin(s, &c), 0);
	free(deep);
	assert_int_equal(store_sync(s), 0);
	assert_true(turns_column_is_null(f->path, "deep"));
	store_close(s);
}

static void get_reply_embeds_turns_and_list_leaves_them_out(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	assert_int_equal(store_open(&s, f->path, NULL), 0);
	struct store_cdr c = cdr_make("call-g", 1000);
	c.turns_json = two_turns;
	assert_int_equal(store_call_begin(s, &c), 0);

	cJSON *o = get_call(s, "call-g");
	const cJSON *turns = cJSON_GetObjectItem(o, "turns");
	assert_true(cJSON_IsArray(turns));
	assert_int_equal(cJSON_GetArraySize(turns), 2);
	const cJSON *t0 = cJSON_GetArrayItem(turns, 0);
	assert_string_equal(
		cJSON_GetStringValue(cJSON_GetObjectItem(t0, "intent")),
		"check_balance");
	const cJSON *t_ms = cJSON_GetObjectItem(t0, "t_ms");
	assert_true(near(
		cJSON_GetNumberValue(cJSON_GetObjectItem(t_ms, "first_rtp")),
		80.2));
	assert_true(cJSON_IsNull(
		cJSON_GetObjectItem(cJSON_GetArrayItem(turns, 1), "intent")));
	cJSON_Delete(o);

	cJSON *doc = list_calls(s);
	const cJSON *calls = cJSON_GetObjectItem(doc, "calls");
	assert_int_equal(cJSON_GetArraySize(calls), 1);
	assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(calls, 0), "turns"));
	cJSON_Delete(doc);
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			v1_database_migrates_in_place_and_keeps_its_calls,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			two_turns_become_rows_with_every_column, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			update_with_fewer_turns_replaces_the_rows, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			malformed_turns_never_crash_and_keep_what_is_valid,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			huge_turns_are_capped_or_stored_as_null, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			get_reply_embeds_turns_and_list_leaves_them_out, setup,
			teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
