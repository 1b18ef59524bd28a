/* twilio_calls (migration v4): put, get, delete of Twilio call state by
 * CallSid, replies on the loop, state surviving a reopen. */
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

#include "core/loop.h"
#include "metrics/metrics.h"
#include "store/migrations.h"
#include "store/store.h"

static struct vg_loop *g_loop;
static char g_dir[64], g_path[128];

static int group_setup(void **state)
{
	(void)state;
	snprintf(g_dir, sizeof(g_dir), "/tmp/vg-twstore-XXXXXX");
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

/* The state of sid, or NULL with *errp. Caller frees. */
static char *get(struct store *s, const char *sid, int *errp)
{
	struct result r = { PTHREAD_MUTEX_INITIALIZER,
			    PTHREAD_COND_INITIALIZER };
	assert_int_equal(store_twilio_get(s, sid, g_loop, on_state, &r), 0);
	pthread_mutex_lock(&r.mtx);
	while (!r.done)
		pthread_cond_wait(&r.cond, &r.mtx);
	pthread_mutex_unlock(&r.mtx);
	assert_true(r.on_loop);
	*errp = r.err;
	return r.json;
}

static void put_get_replace_delete_and_reopen(void **state)
{
	(void)state;
	struct store *s;
	assert_int_equal(store_open(&s, g_path, NULL), 0);
	struct store_info info;
	assert_int_equal(store_info_get(s, false, &info), 0);
	assert_int_equal(info.schema_version, store_migration_latest());
	assert_true(info.schema_version >= 4);

	int err;
	assert_null(get(s, "CA1", &err));
	assert_int_equal(err, -ENOENT);

	assert_int_equal(store_twilio_put(s, "CA1", "{\"v\":1}"), 0);
	assert_int_equal(store_twilio_put(s, "CA2", "{\"v\":2}"), 0);
	char *j = get(s, "CA1", &err);
	assert_int_equal(err, 0);
	assert_string_equal(j, "{\"v\":1}");
	free(j);
	/* a later put replaces the state */
	assert_int_equal(store_twilio_put(s, "CA1", "{\"v\":3}"), 0);
	j = get(s, "CA1", &err);
	assert_string_equal(j, "{\"v\":3}");
	free(j);
	assert_int_equal(store_twilio_del(s, "CA1"), 0);
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
	char sid[80];
	memset(sid, 'C', sizeof(sid) - 1);
	sid[sizeof(sid) - 1] = '\0';
	assert_int_equal(store_twilio_put(s, sid, "{}"), -EINVAL);
	assert_int_equal(store_twilio_put(s, "", "{}"), -EINVAL);
	assert_int_equal(store_twilio_put(s, "CA1", NULL), -EINVAL);
	assert_int_equal(store_twilio_put(NULL, "CA1", "{}"), -EINVAL);
	assert_int_equal(store_twilio_del(s, NULL), -EINVAL);
	assert_int_equal(store_twilio_get(s, "CA1", NULL, on_state, NULL),
			 -EINVAL);
	assert_int_equal(store_twilio_get(s, "CA1", g_loop, NULL, NULL),
			 -EINVAL);
	char *big = malloc(STORE_TWILIO_STATE_MAX + 2);
	assert_non_null(big);
	memset(big, 'x', STORE_TWILIO_STATE_MAX + 1);
	big[STORE_TWILIO_STATE_MAX + 1] = '\0';
	assert_int_equal(store_twilio_put(s, "CA1", big), -EINVAL);
	free(big);
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(put_get_replace_delete_and_reopen),
		cmocka_unit_test(bad_arguments_are_refused),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
