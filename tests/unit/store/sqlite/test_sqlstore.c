/* Tests of the SQLite store against real database files in a temp dir:
 * durability settings, migrations, crash recovery, queries, back-pressure. */
#include <errno.h>
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

#include "core/clock.h"
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
	snprintf(f->dir, sizeof(f->dir), "/tmp/vg-store-XXXXXX");
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
	bool on_loop;
	int err;
	char *json;
	size_t len;
};

static void on_json(int err, char *json, size_t len, void *arg)
{
	struct result *r = arg;
	pthread_mutex_lock(&r->mtx);
	r->on_loop = loop_is_current(g_loop);
	r->err = err;
	r->json = json;
	r->len = len;
	r->done = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->mtx);
}

/* Waits for the reply; returns the parsed document or NULL with *errp. */
static cJSON *wait_json(struct result *r, int *errp)
{
	pthread_mutex_lock(&r->mtx);
	while (!r->done)
		pthread_cond_wait(&r->cond, &r->mtx);
	pthread_mutex_unlock(&r->mtx);
	assert_true(r->on_loop);
	*errp = r->err;
	if (r->err) {
		assert_null(r->json);
		return NULL;
	}
	assert_non_null(r->json);
	assert_int_equal(r->len, strlen(r->json));
	cJSON *doc = cJSON_Parse(r->json);
	free(r->json);
	assert_non_null(doc);
	return doc;
}

static cJSON *get_call(struct store *s, const char *id, int *errp)
{
	struct result r = { PTHREAD_MUTEX_INITIALIZER,
			    PTHREAD_COND_INITIALIZER };
	assert_int_equal(store_call_get(s, id, g_loop, on_json, &r), 0);
	return wait_json(&r, errp);
}

static cJSON *list_calls(struct store *s, const struct store_call_query *q)
{
	struct result r = { PTHREAD_MUTEX_INITIALIZER,
			    PTHREAD_COND_INITIALIZER };
	int err;
	assert_int_equal(store_calls_list(s, q, g_loop, on_json, &r), 0);
	cJSON *doc = wait_json(&r, &err);
	assert_int_equal(err, 0);
	return doc;
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

static const char *str_of(const cJSON *o, const char *name)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));
}

static double num_of(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	assert_true(cJSON_IsNumber(v));
	return cJSON_GetNumberValue(v);
}

static bool is_null(const cJSON *o, const char *name)
{
	return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, name));
}

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

static void sql_text(const char *path, const char *sql, char *out, size_t n)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void written_calls_read_back_after_reopen(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	unsigned interrupted = 99;
	struct metric_counter *writes =
		metrics_counter("voxgate_store_writes_total", NULL, "");
	uint64_t writes0 = metric_counter_get(writes);

	assert_int_equal(store_open(&s, f->path, &interrupted), 0);
	assert_int_equal(interrupted, 0);

	struct store_cdr a = cdr_make("call-a", 1700000000000);
	a.sip_call_id = "abc@10.0.0.1";
	assert_int_equal(store_call_begin(s, &a), 0);
	a.answered_ms = 1700000000800;
	a.codec = "PCMA";
	a.remote_addr = "10.0.0.1:4000";
	assert_int_equal(store_call_update(s, &a), 0);
	a.ended_ms = 1700000030800;
	a.end_reason = "caller_hangup";
	a.dtmf = "12#";
	a.flow_path_json = "[\"welcome\",\"menu\",\"bye\"]";
	a.prompts_json = "[{\"node\":\"welcome\",\"ms\":1200}]";
	a.rtp_tx = 1500;
	a.rtp_rx = 1490;
	assert_int_equal(store_call_update(s, &a), 0);

	struct store_cdr b = cdr_make("call-b", 1700000001000);
	b.ended_ms = 1700000002000;
	b.end_reason = "rejected";
	assert_int_equal(store_call_begin(s, &b), 0);
	assert_int_equal(store_sync(s), 0);
	assert_int_equal(metric_counter_get(writes) - writes0, 4);
	store_close(s);

	s = NULL;
	assert_int_equal(store_open(&s, f->path, &interrupted), 0);
	assert_int_equal(interrupted, 0);

	int err;
	cJSON *o = get_call(s, "call-a", &err);
	assert_int_equal(err, 0);
	assert_string_equal(str_of(o, "id"), "call-a");
	assert_string_equal(str_of(o, "sip_call_id"), "abc@10.0.0.1");
	assert_string_equal(str_of(o, "platform"), "sip");
	assert_string_equal(str_of(o, "from_uri"), "sip:alice@example.com");
	assert_string_equal(str_of(o, "to_uri"), "sip:ivr@voxgate");
	assert_string_equal(str_of(o, "flow"), "main");
	assert_string_equal(str_of(o, "codec"), "PCMA");
	assert_string_equal(str_of(o, "remote_addr"), "10.0.0.1:4000");
	assert_string_equal(str_of(o, "end_reason"), "caller_hangup");
	assert_string_equal(str_of(o, "dtmf"), "12#");
	assert_true(num_of(o, "started_ms") == 1700000000000.0);
	assert_true(num_of(o, "answered_ms") == 1700000000800.0);
	assert_true(num_of(o, "ended_ms") == 1700000030800.0);
	assert_true(num_of(o, "duration_ms") == 30000);
	assert_true(num_of(o, "answer_delay_ms") == 800);
	assert_true(num_of(o, "rtp_tx") == 1500);
	assert_true(num_of(o, "rtp_rx") == 1490);
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(o, "flow_path");
	assert_true(cJSON_IsArray(path));
	assert_int_equal(cJSON_GetArraySize(path), 3);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(path, 1)),
			    "menu");
	const cJSON *prompts = cJSON_GetObjectItemCaseSensitive(o, "prompts");
	assert_true(cJSON_IsArray(prompts));
	assert_true(num_of(cJSON_GetArrayItem(prompts, 0), "ms") == 1200);
	cJSON_Delete(o);

	/* Never answered: no answer delay, duration from the start. */
	o = get_call(s, "call-b", &err);
	assert_int_equal(err, 0);
	assert_true(is_null(o, "answer_delay_ms"));
	assert_true(num_of(o, "duration_ms") == 1000);
	assert_true(is_null(o, "sip_call_id"));
	assert_true(is_null(o, "flow_path"));
	cJSON_Delete(o);

	cJSON *doc = list_calls(s, NULL);
	const cJSON *calls = cJSON_GetObjectItemCaseSensitive(doc, "calls");
	assert_int_equal(cJSON_GetArraySize(calls), 2);
	assert_string_equal(str_of(cJSON_GetArrayItem(calls, 0), "id"),
			    "call-b");
	assert_string_equal(str_of(cJSON_GetArrayItem(calls, 1), "id"),
			    "call-a");
	/* Lists leave the bulky JSON fields to the single-call view. */
	assert_null(
		cJSON_GetObjectItem(cJSON_GetArrayItem(calls, 1), "flow_path"));
	assert_true(is_null(doc, "next_before_ms"));
	cJSON_Delete(doc);
	store_close(s);
}

static void calls_left_open_are_closed_as_interrupted_on_reopen(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	unsigned interrupted = 99;
	int64_t now = clock_wall_ms();

	assert_int_equal(store_open(&s, f->path, NULL), 0);
	struct store_cdr a = cdr_make("open-answered", now - 60000);
	a.answered_ms = now - 59000;
	struct store_cdr b = cdr_make("open-ringing", now - 30000);
	struct store_cdr c = cdr_make("ended", now - 20000);
	assert_int_equal(store_call_begin(s, &a), 0);
	assert_int_equal(store_call_begin(s, &b), 0);
	assert_int_equal(store_call_begin(s, &c), 0);
	c.ended_ms = now - 10000;
	c.end_reason = "hangup";
	assert_int_equal(store_call_update(s, &c), 0);
	/* No sync: closing must flush what is queued. */
	store_close(s);

	int64_t before_reopen = clock_wall_ms();
	assert_int_equal(store_open(&s, f->path, &interrupted), 0);
	assert_int_equal(interrupted, 2);

	int err;
	cJSON *o = get_call(s, "open-answered", &err);
	assert_int_equal(err, 0);
	assert_string_equal(str_of(o, "end_reason"), "interrupted");
	double ended = num_of(o, "ended_ms");
	assert_true(ended >= (double)before_reopen);
	assert_true(num_of(o, "duration_ms") == ended - (double)(now - 59000));
	cJSON_Delete(o);

	o = get_call(s, "open-ringing", &err);
	assert_string_equal(str_of(o, "end_reason"), "interrupted");
	assert_true(num_of(o, "duration_ms") ==
		    num_of(o, "ended_ms") - (double)(now - 30000));
	cJSON_Delete(o);

	o = get_call(s, "ended", &err);
	assert_string_equal(str_of(o, "end_reason"), "hangup");
	assert_true(num_of(o, "ended_ms") == (double)(now - 10000));
	cJSON_Delete(o);
	store_close(s);

	assert_int_equal(store_open(&s, f->path, &interrupted), 0);
	assert_int_equal(interrupted, 0);
	store_close(s);
}

static void store_runs_wal_with_synchronous_full_and_stays_intact(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	struct store_info info;

	assert_int_equal(store_open(&s, f->path, NULL), 0);
	for (int i = 0; i < 50; i++) {
		char id[16];
		snprintf(id, sizeof(id), "c%02d", i);
		struct store_cdr c = cdr_make(id, 1000 + i);
		assert_int_equal(store_call_begin(s, &c), 0);
	}
	assert_int_equal(store_info_get(s, true, &info), 0);
	assert_string_equal(info.journal_mode, "wal");
	assert_int_equal(info.synchronous, 2);
	assert_int_equal(info.schema_version, store_migration_latest());
	assert_int_equal(info.integrity_ok, 1);
	assert_int_equal(info.calls, 50);
	assert_int_equal(store_info_get(s, false, &info), 0);
	assert_int_equal(info.integrity_ok, -1);
	store_close(s);

	/* Seen from another connection: WAL persists in the file. */
	char txt[32];
	sql_text(f->path, "PRAGMA journal_mode", txt, sizeof(txt));
	assert_string_equal(txt, "wal");
	sql_text(f->path, "PRAGMA integrity_check", txt, sizeof(txt));
	assert_string_equal(txt, "ok");
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM calls"), 50);
}

static void migrations_are_applied_once_and_reopen_is_idempotent(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	const unsigned latest = store_migration_latest();

	assert_true(latest >= 1);
	assert_null(store_migration_sql(0));
	assert_null(store_migration_sql(latest + 1));

	assert_int_equal(store_open(&s, f->path, NULL), 0);
	store_close(s);
	int64_t applied = sql_int(
		f->path, "SELECT max(applied_at) FROM schema_migrations");
	assert_true(applied > 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(store_open(&s, f->path, NULL), 0);
		store_close(s);
	}
	assert_int_equal(
		sql_int(f->path, "SELECT count(*) FROM schema_migrations"),
		latest);
	assert_int_equal(
		sql_int(f->path, "SELECT max(version) FROM schema_migrations"),
		latest);
	assert_int_equal(
		sql_int(f->path,
			"SELECT max(applied_at) FROM schema_migrations"),
		applied);
	assert_int_equal(sql_int(f->path,
				 "SELECT count(*) FROM sqlite_master WHERE "
				 "type = 'index' AND tbl_name = 'calls' AND "
				 "sql LIKE '%started_ms%'"),
			 2);
}

static void database_from_a_newer_build_is_refused(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	assert_int_equal(store_open(&s, f->path, NULL), 0);
	store_close(s);

	sqlite3 *db;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	char sql[96];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO schema_migrations VALUES (%u, 1)",
		 store_migration_latest() + 1);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	s = (struct store *)(uintptr_t)0x1;
	assert_int_equal(store_open(&s, f->path, NULL), -EPROTO);
	assert_ptr_equal(s, (struct store *)(uintptr_t)0x1);
}

static void get_of_an_unknown_id_returns_enoent(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	int err = 0;
	assert_int_equal(store_open(&s, f->path, NULL), 0);
	cJSON *o = get_call(s, "no-such-call", &err);
	assert_null(o);
	assert_int_equal(err, -ENOENT);
	store_close(s);
}

static void list_pages_newest_first_without_skipping_ties(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	static const struct {
		const char *id;
		int64_t started;
		const char *reason;
	} rows[] = {
		{ "a", 1000, "hangup" },	{ "b", 2000, "caller_hangup" },
		{ "c", 2000, "hangup" },	{ "d", 2000, "caller_hangup" },
		{ "e", 3000, "caller_hangup" },
	};
	assert_int_equal(store_open(&s, f->path, NULL), 0);
	for (size_t i = 0; i < 5; i++) {
		struct store_cdr c = cdr_make(rows[i].id, rows[i].started);
		c.ended_ms = rows[i].started + 500;
		c.end_reason = rows[i].reason;
		assert_int_equal(store_call_begin(s, &c), 0);
	}

	char seen[8] = "";
	struct store_call_query q = { .limit = 2 };
	char before_id[16] = "";
	for (int page = 0; page < 5; page++) {
		cJSON *doc = list_calls(s, &q);
		const cJSON *calls = cJSON_GetObjectItem(doc, "calls");
		const cJSON *c;
		cJSON_ArrayForEach(c, calls) strncat(seen, str_of(c, "id"), 1);
		if (is_null(doc, "next_before_ms")) {
			cJSON_Delete(doc);
			break;
		}
		q.before_ms = (int64_t)num_of(doc, "next_before_ms");
		snprintf(before_id, sizeof(before_id), "%s",
			 str_of(doc, "next_before_id"));
		q.before_id = before_id;
		cJSON_Delete(doc);
	}
	assert_string_equal(seen, "edcba");

	/* before_ms alone: strictly earlier starts. */
	struct store_call_query q2 = { .before_ms = 2000 };
	cJSON *doc = list_calls(s, &q2);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "calls")),
			 1);
	cJSON_Delete(doc);

	struct store_call_query q3 = { .end_reason = "hangup" };
	doc = list_calls(s, &q3);
	const cJSON *calls = cJSON_GetObjectItem(doc, "calls");
	assert_int_equal(cJSON_GetArraySize(calls), 2);
	assert_string_equal(str_of(cJSON_GetArrayItem(calls, 0), "id"), "c");
	assert_string_equal(str_of(cJSON_GetArrayItem(calls, 1), "id"), "a");
	cJSON_Delete(doc);
	store_close(s);
}

static void full_queue_refuses_with_eagain_and_counts_it(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	const struct store_opts opts = { .queue_max = 4,
					 .batch_max = 1,
					 .busy_timeout_ms = 20000 };
	struct metric_counter *rejected =
		metrics_counter("voxgate_store_queue_rejected_total", NULL, "");
	uint64_t rejected0 = metric_counter_get(rejected);

	assert_int_equal(store_open_opts(&s, f->path, &opts, NULL), 0);

	/* Another connection holds the write lock, so the writer blocks in
	 * its busy wait with at most one op taken off the queue. */
	sqlite3 *db;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
			 SQLITE_OK);

	/* Fill until refused, let the writer take its one op and block, then
	 * fill again: now the queue is full whatever the timing was. */
	int accepted = 0, refused = 0, rc = 0;
	char id[16];
	for (int i = 0; i < 50 && refused < 2; i++) {
		snprintf(id, sizeof(id), "q%d", i);
		struct store_cdr c = cdr_make(id, 1000 + i);
		rc = store_call_begin(s, &c);
		if (rc == -EAGAIN) {
			refused++;
			usleep(100 * 1000);
			continue;
		}
		assert_int_equal(rc, 0);
		accepted++;
	}
	assert_int_equal(refused, 2);
	/* queue_max in the queue plus the one the writer holds. */
	assert_in_range(accepted, 4, 5);
	struct result r = { PTHREAD_MUTEX_INITIALIZER,
			    PTHREAD_COND_INITIALIZER };
	assert_int_equal(store_calls_list(s, NULL, g_loop, on_json, &r),
			 -EAGAIN);
	assert_int_equal(metric_counter_get(rejected) - rejected0, 3);

	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_sync(s), 0);
	struct store_info info;
	assert_int_equal(store_info_get(s, false, &info), 0);
	assert_int_equal(info.calls, (uint64_t)accepted);
	store_close(s);
}

static void failed_write_makes_sync_report_eio_once(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	assert_int_equal(store_open(&s, f->path, NULL), 0);
	struct store_cdr c = cdr_make("dup", 1000);
	assert_int_equal(store_call_begin(s, &c), 0);
	assert_int_equal(store_call_begin(s, &c), 0); /* same primary key */
	assert_int_equal(store_sync(s), -EIO);
	assert_int_equal(store_sync(s), 0);
	/* An update of a call whose begin was lost still records it. */
	struct store_cdr lost = cdr_make("lost-begin", 2000);
	lost.ended_ms = 3000;
	assert_int_equal(store_call_update(s, &lost), 0);
	assert_int_equal(store_sync(s), 0);
	store_close(s);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM calls"), 2);
}

static void bad_arguments_are_refused(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	char long_id[200];
	memset(long_id, 'x', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	struct result r = { PTHREAD_MUTEX_INITIALIZER,
			    PTHREAD_COND_INITIALIZER };

	assert_int_equal(store_open(&s, "", NULL), -EINVAL);
	assert_int_equal(store_open(&s, "/nonexistent-dir/x/y.db", NULL), -EIO);
	assert_int_equal(store_open(&s, f->path, NULL), 0);
	struct store_cdr c = cdr_make(NULL, 1);
	assert_int_equal(store_call_begin(s, &c), -EINVAL);
	c.id = "";
	assert_int_equal(store_call_update(s, &c), -EINVAL);
	c.id = long_id;
	assert_int_equal(store_call_begin(s, &c), -EINVAL);
	assert_int_equal(store_call_begin(s, NULL), -EINVAL);

	struct store_call_query q = { .limit = 1001 };
	assert_int_equal(store_calls_list(s, &q, g_loop, on_json, &r), -EINVAL);
	q.limit = -1;
	assert_int_equal(store_calls_list(s, &q, g_loop, on_json, &r), -EINVAL);
	q = (struct store_call_query){ .before_ms = -5 };
	assert_int_equal(store_calls_list(s, &q, g_loop, on_json, &r), -EINVAL);
	q = (struct store_call_query){ .end_reason = "" };
	assert_int_equal(store_calls_list(s, &q, g_loop, on_json, &r), -EINVAL);
	assert_int_equal(store_call_get(s, long_id, g_loop, on_json, &r),
			 -EINVAL);
	assert_int_equal(store_call_get(s, "x", NULL, on_json, &r), -EINVAL);
	assert_int_equal(store_call_get(s, "x", g_loop, NULL, &r), -EINVAL);
	store_close(s);
	store_close(NULL);
}

static void outside_text_is_stored_as_valid_utf8_within_caps(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	assert_int_equal(store_open(&s, f->path, NULL), 0);

	char long_uri[1200];
	memset(long_uri, 'u', sizeof(long_uri) - 1);
	long_uri[sizeof(long_uri) - 1] = '\0';
	size_t big_len = 70 * 1024;
	char *big = malloc(big_len + 1);
	assert_non_null(big);
	big[0] = '[';
	memset(big + 1, ' ', big_len - 2);
	big[big_len - 1] = ']';
	big[big_len] = '\0';

	struct store_cdr c = cdr_make("utf8", 1000);
	/* Invalid bytes, an overlong slash, and a valid "é". */
	c.from_uri = "\xff\xfe<sip:\xc0\xaf\xc3\xa9@x>";
	c.to_uri = long_uri;
	c.prompts_json = big;
	c.flow_path_json = "[\"unterminated";
	assert_int_equal(store_call_begin(s, &c), 0);
	free(big);

	int err;
	struct result r = { PTHREAD_MUTEX_INITIALIZER,
			    PTHREAD_COND_INITIALIZER };
	assert_int_equal(store_call_get(s, "utf8", g_loop, on_json, &r), 0);
	cJSON *o = wait_json(&r, &err);
	assert_int_equal(err, 0);
	assert_string_equal(str_of(o, "from_uri"), "?"
						   "?<sip:?"
						   "?\xc3\xa9@x>");
	assert_int_equal(strlen(str_of(o, "to_uri")), 512);
	assert_true(is_null(o, "prompts"));
	assert_true(is_null(o, "flow_path"));
	cJSON_Delete(o);
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			written_calls_read_back_after_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(
			calls_left_open_are_closed_as_interrupted_on_reopen,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			store_runs_wal_with_synchronous_full_and_stays_intact,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			migrations_are_applied_once_and_reopen_is_idempotent,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			database_from_a_newer_build_is_refused, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			get_of_an_unknown_id_returns_enoent, setup, teardown),
		cmocka_unit_test_setup_teardown(
			list_pages_newest_first_without_skipping_ties, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			full_queue_refuses_with_eagain_and_counts_it, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			failed_write_makes_sync_report_eio_once, setup,
			teardown),
		cmocka_unit_test_setup_teardown(bad_arguments_are_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			outside_text_is_stored_as_valid_utf8_within_caps, setup,
			teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
