/* adapter_sessions (migration v5): put, get, delete of control adapters'
 * session state by (platform, key), replies on the loop, state surviving a
 * reopen, platforms kept apart, and v4's twilio_calls rows carried over. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <re.h>
#include <sqlite3.h>

#include "core/loop.h"
#include "metrics/metrics.h"
#include "store/migrations.h"
#include "store/store.h"

static struct vg_loop *g_loop;
static char g_dir[64], g_path[128];

static int group_setup(void **state)
{
	(void)state;
	snprintf(g_dir, sizeof(g_dir), "/tmp/vg-sessstore-XXXXXX");
	if (!mkdtemp(g_dir))
		return -1;
	snprintf(g_path, sizeof(g_path), "%s/voxgate.db", g_dir);
	if (libre_init())
		return -1;
	return loop_create(&g_loop, "test-web") || loop_start(g_loop) ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	loop_destroy(g_loop);
	libre_close();
	metrics_reset();
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < 3; i++) {
		char p[160];
		snprintf(p, sizeof(p), "%s%s", g_path, suffixes[i]);
		unlink(p);
	}
	rmdir(g_dir);
	return 0;
}

struct result {
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	bool done, on_loop;
	int err;
	char *json;
};

static void on_state(int err, char *json, size_t len, void *arg)
{
	struct result *r = arg;
	pthread_mutex_lock(&r->mtx);
	r->on_loop = loop_is_current(g_loop);
	r->err = err;
	r->json = json;
	assert_true(!json || len == strlen(json));
	r->done = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->mtx);
}

/* The state of (platform, key), or NULL with *errp. Caller frees. */
static char *pget(struct store *s, const char *platform, const char *key,
		  int *errp)
{
	struct result r = { PTHREAD_MUTEX_INITIALIZER,
			    PTHREAD_COND_INITIALIZER };
	assert_int_equal(
		store_session_get(s, platform, key, g_loop, on_state, &r), 0);
	pthread_mutex_lock(&r.mtx);
	while (!r.done)
		pthread_cond_wait(&r.cond, &r.mtx);
	pthread_mutex_unlock(&r.mtx);
	assert_true(r.on_loop);
	*errp = r.err;
	return r.json;
}

static char *get(struct store *s, const char *sid, int *errp)
{
	return pget(s, "twilio", sid, errp);
}

static void put_get_replace_delete_and_reopen(void **state)
{
	(void)state;
	struct store *s;
	assert_int_equal(store_open(&s, g_path, NULL), 0);
	struct store_info info;
	assert_int_equal(store_info_get(s, false, &info), 0);
	assert_int_equal(info.schema_version, store_migration_latest());
	assert_true(info.schema_version >= 5);

	int err;
	assert_null(get(s, "CA1", &err));
	assert_int_equal(err, -ENOENT);

	assert_int_equal(store_session_put(s, "twilio", "CA1", "{\"v\":1}"), 0);
	assert_int_equal(store_session_put(s, "twilio", "CA2", "{\"v\":2}"), 0);
	char *j = get(s, "CA1", &err);
	assert_int_equal(err, 0);
	assert_string_equal(j, "{\"v\":1}");
	free(j);
	/* a later put replaces the state */
	assert_int_equal(store_session_put(s, "twilio", "CA1", "{\"v\":3}"), 0);
	j = get(s, "CA1", &err);
	assert_string_equal(j, "{\"v\":3}");
	free(j);
	assert_int_equal(store_session_del(s, "twilio", "CA1"), 0);
	assert_null(get(s, "CA1", &err));
	assert_int_equal(err, -ENOENT);
	store_close(s);

	/* what was put survives a restart */
	assert_int_equal(store_open(&s, g_path, NULL), 0);
	j = get(s, "CA2", &err);
	assert_int_equal(err, 0);
	assert_string_equal(j, "{\"v\":2}");
	free(j);
	store_close(s);
}

static void bad_arguments_are_refused(void **state)
{
	(void)state;
	struct store *s;
	assert_int_equal(store_open(&s, g_path, NULL), 0);
	char sid[STORE_SESSION_KEY_MAX + 2];
	memset(sid, 'C', sizeof(sid) - 1);
	sid[sizeof(sid) - 1] = '\0';
	assert_int_equal(store_session_put(s, "twilio", sid, "{}"), -EINVAL);
	assert_int_equal(store_session_put(s, "twilio", "", "{}"), -EINVAL);
	assert_int_equal(store_session_put(s, "twilio", "CA1", NULL), -EINVAL);
	assert_int_equal(store_session_put(NULL, "twilio", "CA1", "{}"),
			 -EINVAL);
	assert_int_equal(store_session_del(s, "twilio", NULL), -EINVAL);
	assert_int_equal(store_session_put(s, "", "CA1", "{}"), -EINVAL);
	assert_int_equal(store_session_put(s, NULL, "CA1", "{}"), -EINVAL);
	char plat[STORE_SESSION_PLATFORM_MAX + 2];
	memset(plat, 'p', sizeof(plat) - 1);
	plat[sizeof(plat) - 1] = '\0';
	assert_int_equal(store_session_put(s, plat, "CA1", "{}"), -EINVAL);
	sid[STORE_SESSION_KEY_MAX] = '\0'; /* the longest key is fine */
	assert_int_equal(store_session_put(s, "connect", sid, "{}"), 0);
	assert_int_equal(store_session_del(s, "connect", sid), 0);
	assert_int_equal(
		store_session_get(s, "twilio", "CA1", NULL, on_state, NULL),
		-EINVAL);
	assert_int_equal(
		store_session_get(s, "twilio", "CA1", g_loop, NULL, NULL),
		-EINVAL);
	char *big = malloc(STORE_SESSION_STATE_MAX + 2);
	assert_non_null(big);
	memset(big, 'x', STORE_SESSION_STATE_MAX + 1);
	big[STORE_SESSION_STATE_MAX + 1] = '\0';
	assert_int_equal(store_session_put(s, "twilio", "CA1", big), -EINVAL);
	free(big);
	store_close(s);
}

static void platforms_are_kept_apart(void **state)
{
	(void)state;
	struct store *s;
	assert_int_equal(store_open(&s, g_path, NULL), 0);
	assert_int_equal(store_session_put(s, "twilio", "K1", "{\"p\":1}"), 0);
	assert_int_equal(store_session_put(s, "connect", "K1", "{\"p\":2}"), 0);
	int err;
	char *j = pget(s, "connect", "K1", &err);
	assert_int_equal(err, 0);
	assert_string_equal(j, "{\"p\":2}");
	free(j);
	assert_int_equal(store_session_del(s, "connect", "K1"), 0);
	assert_null(pget(s, "connect", "K1", &err));
	assert_int_equal(err, -ENOENT);
	j = pget(s, "twilio", "K1", &err); /* untouched */
	assert_int_equal(err, 0);
	assert_string_equal(j, "{\"p\":1}");
	free(j);
	assert_null(pget(s, "genesys-bot", "K1", &err));
	assert_int_equal(err, -ENOENT);
	assert_int_equal(store_session_del(s, "twilio", "K1"), 0);
	store_close(s);
}

/* A v4 database (twilio_calls) with a call in progress: the upgrade moves
 * it into adapter_sessions, where the Twilio adapter finds it. */
static void v4_twilio_calls_move_to_adapter_sessions(void **state)
{
	(void)state;
	char path[160];
	snprintf(path, sizeof(path), "%s/v4.db", g_dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "CREATE TABLE schema_migrations ("
				      "version INTEGER PRIMARY KEY NOT NULL, "
				      "applied_at INTEGER NOT NULL)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	for (unsigned v = 1; v <= 4; v++) {
		char ins[96];
		snprintf(ins, sizeof(ins),
			 "INSERT INTO schema_migrations VALUES (%u, 1)", v);
		assert_int_equal(sqlite3_exec(db, store_migration_sql(v), NULL,
					      NULL, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, ins, NULL, NULL, NULL),
				 SQLITE_OK);
	}
	assert_int_equal(sqlite3_exec(db,
				      "INSERT INTO twilio_calls VALUES "
				      "('CAold', '{\"old\":true}', 5)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);

	struct store *s;
	assert_int_equal(store_open(&s, path, NULL), 0);
	struct store_info info;
	assert_int_equal(store_info_get(s, true, &info), 0);
	assert_int_equal(info.schema_version, store_migration_latest());
	assert_int_equal(info.integrity_ok, 1);
	int err;
	char *j = get(s, "CAold", &err);
	assert_int_equal(err, 0);
	assert_string_equal(j, "{\"old\":true}");
	free(j);
	store_close(s);
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < 3; i++) {
		char p[192];
		snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
		unlink(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(put_get_replace_delete_and_reopen),
		cmocka_unit_test(bad_arguments_are_refused),
		cmocka_unit_test(platforms_are_kept_apart),
		cmocka_unit_test(v4_twilio_calls_move_to_adapter_sessions),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
