/* The REST API end to end: a web loop thread, a real SQLite store in a temp
 * dir, the API on 127.0.0.1 (ephemeral port) and libcurl as the client. */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <re.h>
#include <sqlite3.h>

#include "core/loop.h"
#include "http/api.h"
#include "metrics/metrics.h"
#include "store/store.h"

static struct vg_loop *g_loop;

struct env {
	char dir[64];
	char path[128];
	struct store *store;
	struct api *api;
	uint16_t port;
	atomic_bool draining;
	atomic_uint active;
	sqlite3 *locker; /* holds the write lock to stall the store */
};

static void status_fn(struct api_status *st, void *arg)
{
	struct env *e = arg;
	st->draining = atomic_load(&e->draining);
	st->active_calls = atomic_load(&e->active);
	st->max_calls = 200;
	st->uptime_s = 42;
}

/* Run fn(arg) on the web loop and wait for it. */
struct on_loop {
	void (*fn)(struct env *e);
	struct env *e;
	sem_t done;
};

static void on_loop_run(void *arg)
{
	struct on_loop *c = arg;
	if (c->fn)
		c->fn(c->e);
	sem_post(&c->done);
}

static void run_on_loop(void (*fn)(struct env *e), struct env *e)
{
	struct on_loop c = { fn, e };
	sem_init(&c.done, 0, 0);
	assert_int_equal(loop_post(g_loop, on_loop_run, &c), 0);
	sem_wait(&c.done);
	sem_destroy(&c.done);
}

static int g_create_err;

static void create_api(struct env *e)
{
	g_create_err = api_create(&e->api, g_loop, "127.0.0.1:0", e->store,
				  status_fn, e);
	if (!g_create_err)
		e->port = api_port(e->api);
}

static void destroy_api(struct env *e)
{
	api_destroy(e->api);
	e->api = NULL;
}

static int group_setup(void **state)
{
	(void)state;
	if (libre_init() || curl_global_init(CURL_GLOBAL_DEFAULT))
		return -1;
	if (loop_create(&g_loop, "web") || loop_start(g_loop))
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	loop_destroy(g_loop);
	curl_global_cleanup();
	libre_close();
	metrics_reset();
	return 0;
}

static struct env *env_start(const struct store_opts *opts)
{
	struct env *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	snprintf(e->dir, sizeof(e->dir), "/tmp/vg-api-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(e->path, sizeof(e->path), "%s/voxgate.db", e->dir);
	assert_int_equal(store_open_opts(&e->store, e->path, opts, NULL), 0);
	run_on_loop(create_api, e);
	assert_int_equal(g_create_err, 0);
	assert_true(e->port > 0);
	return e;
}

static int setup(void **state)
{
	*state = env_start(NULL);
	return 0;
}

static void env_stop(struct env *e)
{
	if (e->api)
		run_on_loop(destroy_api, e);
	store_close(e->store);
	/* Replies the store posted before closing have run once this
	 * round-trip through the loop returns. */
	run_on_loop(NULL, e);
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < 3; i++) {
		char p[160];
		snprintf(p, sizeof(p), "%s%s", e->path, suffixes[i]);
		unlink(p);
	}
	rmdir(e->dir);
	free(e);
}

static int teardown(void **state)
{
	env_stop(*state);
	return 0;
}

struct res {
	long code;
	char body[1 << 16];
	size_t len;
	char ctype[128];
	char allow[64];
	char retry_after[16];
	CURLcode rc;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct res *r = arg;
	size_t len = size * n;
	if (r->len + len >= sizeof(r->body))
		return 0; /* cap: fails the transfer */
	memcpy(r->body + r->len, p, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

static void copy_header(char *dst, size_t size, const char *line, size_t len,
			const char *name)
{
	size_t n = strlen(name);
	if (len <= n || strncasecmp(line, name, n))
		return;
	line += n;
	len -= n;
	while (len && (*line == ' '))
		line++, len--;
	while (len && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	snprintf(dst, size, "%.*s", (int)len, line);
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct res *r = arg;
	copy_header(r->allow, sizeof(r->allow), p, size * n, "Allow:");
	copy_header(r->retry_after, sizeof(r->retry_after), p, size * n,
		    "Retry-After:");
	return size * n;
}

static struct res *request(struct env *e, const char *method, const char *path,
			   long timeout_ms)
{
	struct res *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	char url[512];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", e->port, path);
	CURL *c = curl_easy_init();
	assert_non_null(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	r->rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->code);
	char *ct = NULL;
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	if (ct)
		snprintf(r->ctype, sizeof(r->ctype), "%s", ct);
	curl_easy_cleanup(c);
	return r;
}

/* GET expecting a JSON body with the given status; returns the document. */
static cJSON *get_json(struct env *e, const char *path, long want)
{
	struct res *r = request(e, "GET", path, 5000);
	assert_int_equal(r->rc, CURLE_OK);
	if (r->code != want)
		fail_msg("GET %s: %ld, want %ld: %s", path, r->code, want,
			 r->body);
	assert_string_equal(r->ctype, "application/json");
	cJSON *doc = cJSON_Parse(r->body);
	assert_non_null(doc);
	free(r);
	return doc;
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

static void add_call(struct env *e, const char *id, int64_t started,
		     const char *reason)
{
	struct store_cdr c = {
		.id = id,
		.platform = "sip",
		.from_uri = "sip:alice@example.com",
		.to_uri = "sip:ivr@voxgate",
		.flow = "main",
		.started_ms = started,
		.answered_ms = started + 300,
		.ended_ms = started + 10300,
		.end_reason = reason,
		.flow_path_json = "[\"welcome\",\"bye\"]",
		.prompts_json = "[]",
		.turns_json = "[{\"seq\":1,\"node\":\"welcome\","
			      "\"input\":\"dtmf\",\"end\":\"dtmf\"}]",
	};
	assert_int_equal(store_call_begin(e->store, &c), 0);
}

static void healthz_is_ok_then_503_while_draining(void **state)
{
	struct env *e = *state;
	atomic_store(&e->active, 3);
	cJSON *doc = get_json(e, "/healthz", 200);
	assert_string_equal(str_of(doc, "status"), "ok");
	assert_true(num_of(doc, "active_calls") == 3);
	assert_true(num_of(doc, "max_calls") == 200);
	assert_true(num_of(doc, "uptime_s") == 42);
	assert_string_equal(str_of(doc, "version"), VOXGATE_VERSION);
	cJSON_Delete(doc);

	atomic_store(&e->draining, true);
	doc = get_json(e, "/healthz", 503);
	assert_string_equal(str_of(doc, "status"), "draining");
	cJSON_Delete(doc);
}

static void metrics_serves_prometheus_text(void **state)
{
	struct env *e = *state;
	cJSON_Delete(get_json(e, "/healthz", 200));
	struct res *r = request(e, "GET", "/metrics", 5000);
	assert_int_equal(r->rc, CURLE_OK);
	assert_int_equal(r->code, 200);
	assert_string_equal(r->ctype,
			    "text/plain; version=0.0.4; charset=utf-8");
	assert_non_null(
		strstr(r->body, "# TYPE voxgate_store_writes_total counter\n"));
	assert_non_null(strstr(
		r->body, "# TYPE voxgate_store_write_seconds histogram\n"));
	assert_non_null(strstr(r->body, "voxgate_store_queue_depth "));
	assert_non_null(strstr(r->body, "voxgate_http_requests_total{route="
					"\"healthz\",code=\"200\"} "));
	free(r);
}

static void calls_list_and_get_return_store_json(void **state)
{
	struct env *e = *state;
	add_call(e, "call-1", 1700000001000, "hangup");
	add_call(e, "call-2", 1700000002000, "caller_hangup");
	add_call(e, "call-3", 1700000003000, "caller_hangup");
	assert_int_equal(store_sync(e->store), 0);

	cJSON *doc = get_json(e, "/v1/calls?limit=2", 200);
	const cJSON *calls = cJSON_GetObjectItem(doc, "calls");
	assert_int_equal(cJSON_GetArraySize(calls), 2);
	assert_string_equal(str_of(cJSON_GetArrayItem(calls, 0), "id"),
			    "call-3");
	assert_string_equal(str_of(cJSON_GetArrayItem(calls, 1), "id"),
			    "call-2");
	/* Turns are for the single-call view only. */
	assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(calls, 0), "turns"));
	char next[256];
	snprintf(next, sizeof(next),
		 "/v1/calls?limit=2&before_ms=%.0f&"
		 "before_id=%s",
		 num_of(doc, "next_before_ms"), str_of(doc, "next_before_id"));
	cJSON_Delete(doc);

	doc = get_json(e, next, 200);
	calls = cJSON_GetObjectItem(doc, "calls");
	assert_int_equal(cJSON_GetArraySize(calls), 1);
	assert_string_equal(str_of(cJSON_GetArrayItem(calls, 0), "id"),
			    "call-1");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(doc, "next_before_ms")));
	cJSON_Delete(doc);

	doc = get_json(e, "/v1/calls?end_reason=hangup", 200);
	calls = cJSON_GetObjectItem(doc, "calls");
	assert_int_equal(cJSON_GetArraySize(calls), 1);
	assert_string_equal(str_of(cJSON_GetArrayItem(calls, 0), "end_reason"),
			    "hangup");
	cJSON_Delete(doc);

	doc = get_json(e, "/v1/calls/call-2", 200);
	assert_string_equal(str_of(doc, "id"), "call-2");
	assert_string_equal(str_of(doc, "from_uri"), "sip:alice@example.com");
	assert_true(num_of(doc, "duration_ms") == 10000);
	assert_true(num_of(doc, "answer_delay_ms") == 300);
	const cJSON *path = cJSON_GetObjectItem(doc, "flow_path");
	assert_true(cJSON_IsArray(path));
	assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(path, 0)),
			    "welcome");
	const cJSON *turns = cJSON_GetObjectItem(doc, "turns");
	assert_true(cJSON_IsArray(turns));
	assert_string_equal(str_of(cJSON_GetArrayItem(turns, 0), "input"),
			    "dtmf");
	cJSON_Delete(doc);

	doc = get_json(e, "/v1/calls/no-such-call", 404);
	assert_string_equal(str_of(doc, "error"), "not_found");
	cJSON_Delete(doc);
}

static void bad_query_parameters_get_400_with_a_message(void **state)
{
	struct env *e = *state;
	cJSON *doc = get_json(e, "/v1/calls?limit=0", 400);
	assert_string_equal(str_of(doc, "error"), "bad_request");
	assert_non_null(strstr(str_of(doc, "message"), "limit"));
	cJSON_Delete(doc);

	doc = get_json(e, "/v1/calls?lmit=5", 400);
	assert_string_equal(str_of(doc, "message"), "unknown parameter");
	cJSON_Delete(doc);

	doc = get_json(e, "/v1/calls?limit=%zz", 400);
	assert_string_equal(str_of(doc, "message"),
			    "malformed percent-encoding");
	cJSON_Delete(doc);

	doc = get_json(e, "/v1/calls/a%2Fb", 400);
	assert_string_equal(str_of(doc, "error"), "bad_request");
	cJSON_Delete(doc);
}

static void unknown_paths_get_404_and_other_methods_405(void **state)
{
	struct env *e = *state;
	static const char *const missing[] = { "/",	     "/nope",
					       "/v1/calls/", "/v1/calls/a/b",
					       "/healthz/x", "/v1/callsx" };
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		cJSON *doc = get_json(e, missing[i], 404);
		assert_string_equal(str_of(doc, "error"), "not_found");
		cJSON_Delete(doc);
	}

	static const char *const methods[] = { "POST", "DELETE", "PUT" };
	static const char *const paths[] = { "/healthz", "/metrics",
					     "/v1/calls", "/v1/calls/x" };
	for (size_t m = 0; m < 3; m++) {
		for (size_t p = 0; p < 4; p++) {
			struct res *r = request(e, methods[m], paths[p], 5000);
			assert_int_equal(r->rc, CURLE_OK);
			assert_int_equal(r->code, 405);
			assert_string_equal(r->allow, "GET");
			cJSON *doc = cJSON_Parse(r->body);
			assert_string_equal(str_of(doc, "error"),
					    "method_not_allowed");
			cJSON_Delete(doc);
			free(r);
		}
	}
}

/* Another connection takes the write lock: the store's writer then blocks
 * in its busy wait on the next write. */
static void stall_store(struct env *e)
{
	assert_int_equal(sqlite3_open(e->path, &e->locker), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(e->locker, "BEGIN IMMEDIATE", NULL, NULL, NULL),
		SQLITE_OK);
}

static void unstall_store(struct env *e)
{
	assert_int_equal(sqlite3_exec(e->locker, "COMMIT", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(e->locker);
	e->locker = NULL;
}

static void full_store_queue_answers_503(void **state)
{
	(void)state;
	const struct store_opts opts = { .queue_max = 2,
					 .batch_max = 1,
					 .busy_timeout_ms = 30000 };
	struct env *e = env_start(&opts);
	stall_store(e);
	/* Fill, give the writer time to take its op and block, fill again:
	 * then the queue is full for sure. */
	int rc = 0;
	for (int i = 0; i < 20; i++) {
		char id[24];
		snprintf(id, sizeof(id), "fill-%d", i);
		struct store_cdr c = { .id = id, .started_ms = 1000 + i };
		rc = store_call_begin(e->store, &c);
		if (rc == -EAGAIN && i < 10) {
			usleep(100 * 1000);
			i = 10;
		} else if (rc == -EAGAIN) {
			break;
		}
	}
	assert_int_equal(rc, -EAGAIN);

	struct res *r = request(e, "GET", "/v1/calls", 5000);
	assert_int_equal(r->rc, CURLE_OK);
	assert_int_equal(r->code, 503);
	assert_string_equal(r->retry_after, "1");
	cJSON *doc = cJSON_Parse(r->body);
	assert_string_equal(str_of(doc, "error"), "unavailable");
	cJSON_Delete(doc);
	free(r);

	unstall_store(e);
	assert_int_equal(store_sync(e->store), 0);
	env_stop(e);
}

static void reply_after_the_client_gave_up_is_dropped_safely(void **state)
{
	(void)state;
	const struct store_opts opts = { .busy_timeout_ms = 30000 };
	struct env *e = env_start(&opts);
	struct metric_counter *gone =
		metrics_counter("voxgate_http_requests_total",
				"route=\"calls_list\",code=\"499\"", "");
	uint64_t gone0 = metric_counter_get(gone);

	stall_store(e);
	add_call(e, "stuck", 1000, "hangup");
	struct res *r = request(e, "GET", "/v1/calls", 300);
	assert_int_equal(r->rc, CURLE_OPERATION_TIMEDOUT);
	free(r);
	/* Let the web loop see the close before the reply exists. */
	usleep(100 * 1000);
	unstall_store(e);
	assert_int_equal(store_sync(e->store), 0);
	run_on_loop(NULL, e);
	assert_int_equal(metric_counter_get(gone) - gone0, 1);

	/* The server is fine afterwards. */
	cJSON *doc = get_json(e, "/v1/calls", 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "calls")),
			 1);
	cJSON_Delete(doc);
	env_stop(e);
}

struct bg_request {
	struct env *e;
	struct res *r;
};

static void *bg_get(void *arg)
{
	struct bg_request *b = arg;
	b->r = request(b->e, "GET", "/v1/calls/stuck", 10000);
	return NULL;
}

static void api_destroyed_while_a_query_waits_is_safe(void **state)
{
	(void)state;
	const struct store_opts opts = { .busy_timeout_ms = 30000 };
	struct env *e = env_start(&opts);
	stall_store(e);
	add_call(e, "stuck", 1000, "hangup");

	struct bg_request b = { e, NULL };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, bg_get, &b), 0);
	usleep(200 * 1000); /* the request is now waiting for the store */
	run_on_loop(destroy_api, e);
	pthread_join(t, NULL);
	/* The connection was closed under the client: no HTTP status. */
	assert_int_not_equal(b.r->rc, CURLE_OK);
	assert_int_equal(b.r->code, 0);
	free(b.r);

	unstall_store(e);
	assert_int_equal(store_sync(e->store), 0);
	run_on_loop(NULL, e);
	env_stop(e);
}

static void create_off_the_web_loop_is_refused(void **state)
{
	(void)state;
	struct api *a = NULL;
	/* Called from the test thread, not the loop's. */
	assert_int_equal(
		api_create(&a, g_loop, "127.0.0.1:0", NULL, NULL, NULL),
		-EINVAL);
	assert_null(a);
}

static const char *g_listen;

static void create_at(struct env *e)
{
	g_create_err = api_create(&e->api, g_loop, g_listen, NULL, NULL, NULL);
}

static void listen_address_errors_are_reported(void **state)
{
	struct env *e = *state;
	struct env other = { 0 };
	char busy[32];

	g_listen = "not-an-address";
	run_on_loop(create_at, &other);
	assert_int_equal(g_create_err, -EINVAL);
	assert_null(other.api);

	snprintf(busy, sizeof(busy), "127.0.0.1:%u", e->port);
	g_listen = busy;
	run_on_loop(create_at, &other);
	assert_int_equal(g_create_err, -EADDRINUSE);
	assert_null(other.api);

	/* Without a store, /v1/calls says so instead of failing oddly. */
	g_listen = "127.0.0.1:0";
	run_on_loop(create_at, &other);
	assert_int_equal(g_create_err, 0);
	other.port = api_port(other.api);
	cJSON *doc = get_json(&other, "/v1/calls", 503);
	assert_string_equal(str_of(doc, "message"), "no store configured");
	cJSON_Delete(doc);
	doc = get_json(&other, "/healthz", 200);
	assert_string_equal(str_of(doc, "status"), "ok");
	cJSON_Delete(doc);
	run_on_loop(destroy_api, &other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			healthz_is_ok_then_503_while_draining, setup, teardown),
		cmocka_unit_test_setup_teardown(metrics_serves_prometheus_text,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			calls_list_and_get_return_store_json, setup, teardown),
		cmocka_unit_test_setup_teardown(
			bad_query_parameters_get_400_with_a_message, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			unknown_paths_get_404_and_other_methods_405, setup,
			teardown),
		cmocka_unit_test(full_store_queue_answers_503),
		cmocka_unit_test(
			reply_after_the_client_gave_up_is_dropped_safely),
		cmocka_unit_test(api_destroyed_while_a_query_waits_is_safe),
		cmocka_unit_test(create_off_the_web_loop_is_refused),
		cmocka_unit_test_setup_teardown(
			listen_address_errors_are_reported, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
