/* Tests of the CRM in the SQLite store (store_crm_query, the demo bank,
 * migration v3) against real database files in a temp dir. */
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
#include "store/sqlite/sqlstore_crm.h"
#include "store/store.h"

static struct vg_loop *g_loop;

struct fixture {
	char dir[64];
	char path[128];
	struct store *s;
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

static int setup_empty(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/vg-crm-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/voxgate.db", f->dir);
	*state = f;
	return 0;
}

/* A store with the demo bank. */
static int setup_demo(void **state)
{
	if (setup_empty(state))
		return -1;
	struct fixture *f = *state;
	if (store_open(&f->s, f->path, NULL) || store_crm_seed_demo(f->s))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_close(f->s);
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

/* Runs one query; returns the parsed reply, or NULL with *errp set. */
static cJSON *crm(struct store *s, enum store_crm_query q, const char *key,
		  const char *subject, int *errp)
{
	struct result r = { PTHREAD_MUTEX_INITIALIZER,
			    PTHREAD_COND_INITIALIZER };
	assert_int_equal(
		store_crm_query(s, q, key, subject, g_loop, on_json, &r), 0);
	pthread_mutex_lock(&r.mtx);
	while (!r.done)
		pthread_cond_wait(&r.cond, &r.mtx);
	pthread_mutex_unlock(&r.mtx);
	assert_true(r.on_loop);
	*errp = r.err;
	if (r.err) {
		assert_null(r.json);
		return NULL;
	}
	assert_non_null(r.json);
	assert_int_equal(r.len, strlen(r.json));
	cJSON *doc = cJSON_Parse(r.json);
	free(r.json);
	assert_non_null(doc);
	return doc;
}

/* A query that must succeed. */
static cJSON *crm_ok(struct store *s, enum store_crm_query q, const char *key)
{
	int err = 1;
	cJSON *doc = crm(s, q, key, NULL, &err);
	assert_int_equal(err, 0);
	return doc;
}

static int crm_err(struct store *s, enum store_crm_query q, const char *key)
{
	int err = 0;
	cJSON *doc = crm(s, q, key, NULL, &err);
	assert_null(doc);
	return err;
}

static const char *str_of(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	assert_true(cJSON_IsString(v));
	return cJSON_GetStringValue(v);
}

static const cJSON *at(const cJSON *arr, int i)
{
	assert_true(cJSON_IsArray(arr));
	const cJSON *o = cJSON_GetArrayItem(arr, i);
	assert_non_null(o);
	return o;
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

static int sql_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

/* ---------- pure helpers ---------- */

static void caller_numbers_normalize_to_e164(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} ok[] = {
		{ "+14155550101", "+14155550101" },
		{ "4155550101", "+14155550101" },
		{ "14155550101", "+14155550101" },
		{ "+1 (415) 555-0101", "+14155550101" },
		{ "(415) 555-0101", "+14155550101" },
		{ "415.555.0101", "+14155550101" },
		{ "sip:+14155550101@10.0.0.1:5060", "+14155550101" },
		{ "sip:4155550101@pbx.example.com;user=phone", "+14155550101" },
		{ "SIPS:+14155550101@h", "+14155550101" },
		{ "\"Alice M\" <sip:+14155550101@h>;tag=1", "+14155550101" },
		{ "\"a<b\" <sip:4155550101@h>", "+14155550101" },
		{ "<sip:%2B14155550101@h>", "+14155550101" },
		{ "tel:+1-415-555-0101;phone-context=x", "+14155550101" },
		{ "+44 20 7946 0958", "+442079460958" },
		{ "0044 20 7946 0958", "+442079460958" },
		{ "442079460958", "+442079460958" },
		{ "+123456789012345", "+123456789012345" },
		{ "+911", "+911" },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char out[SQLSTORE_CRM_PHONE_LEN] = "";
		int err = sqlstore_crm_phone_normalize(ok[i].in, out);
		if (err || strcmp(out, ok[i].out))
			fail_msg("'%s' -> %d '%s', want '%s'", ok[i].in, err,
				 out, ok[i].out);
	}
	static const char *const bad[] = {
		NULL,
		"",
		"anonymous",
		"sip:anonymous@anonymous.invalid",
		"+",
		"12",
		"911",
		"5550101",
		"+1234567890123456",	   /* 16 digits */
		"99999999999999999999999", /* long, no plus */
		"+0441234567",		   /* no country code starts with 0 */
		"020 7946 0958",	   /* national form: country unknown */
		"+1 415 555 0101 ext 3",
		"+1415+5550101",
		"1' OR '1'='1",
		"4155550101\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char out[SQLSTORE_CRM_PHONE_LEN] = "unchanged";
		int err = sqlstore_crm_phone_normalize(bad[i], out);
		if (err != -EINVAL)
			fail_msg("'%s' -> %d '%s', want -EINVAL",
				 bad[i] ? bad[i] : "(null)", err, out);
	}
}

static void money_prints_as_decimal_with_two_places(void **state)
{
	(void)state;
	static const struct {
		int64_t cents;
		const char *out;
	} cases[] = {
		{ 0, "0.00" },
		{ 5, "0.05" },
		{ 100, "1.00" },
		{ 125040, "1250.40" },
		{ -5, "-0.05" },
		{ -231099, "-2310.99" },
		{ INT64_MAX, "92233720368547758.07" },
		{ INT64_MIN, "-92233720368547758.08" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[24];
		sqlstore_crm_money_print(cases[i].cents, out);
		assert_string_equal(out, cases[i].out);
	}
}

/* ---------- customers ---------- */

static void alice_is_found_by_every_form_of_her_number(void **state)
{
	struct fixture *f = *state;
	static const char *const keys[] = {
		"+14155550101",
		"4155550101",
		"+1 (415) 555-0101",
		"sip:+14155550101@192.0.2.10:5060",
		"\"Alice\" <sip:4155550101@pbx;user=phone>",
		"tel:+1-415-555-0101",
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		cJSON *c = crm_ok(f->s, STORE_CRM_CUSTOMER_BY_PHONE, keys[i]);
		assert_string_equal(str_of(c, "id"), "C1001");
		cJSON_Delete(c);
	}
	cJSON *c = crm_ok(f->s, STORE_CRM_CUSTOMER_BY_PHONE, "+14155550101");
	assert_string_equal(str_of(c, "first_name"), "Alice");
	assert_string_equal(str_of(c, "last_name"), "Martin");
	assert_string_equal(str_of(c, "phone"), "+14155550101");
	assert_string_equal(str_of(c, "email"), "alice.martin@example.com");
	assert_string_equal(str_of(c, "tier"), "gold");
	assert_string_equal(str_of(c, "language"), "en");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(c, "pin_set")));
	/* The hash itself never leaves the store. */
	assert_null(cJSON_GetObjectItem(c, "pin_hash"));
	assert_int_equal(cJSON_GetArraySize(c), 8);
	cJSON_Delete(c);
}

static void bob_is_standard_without_a_pin(void **state)
{
	struct fixture *f = *state;
	cJSON *c = crm_ok(f->s, STORE_CRM_CUSTOMER_BY_PHONE,
			  "sip:+14155550102@10.1.1.1");
	assert_string_equal(str_of(c, "id"), "C1002");
	assert_string_equal(str_of(c, "first_name"), "Bob");
	assert_string_equal(str_of(c, "tier"), "standard");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(c, "pin_set")));
	cJSON_Delete(c);

	cJSON *cards = crm_ok(f->s, STORE_CRM_CARDS, "C1002");
	assert_int_equal(cJSON_GetArraySize(cards), 1);
	assert_string_equal(str_of(at(cards, 0), "status"), "blocked");
	assert_string_equal(str_of(at(cards, 0), "last4"), "1881");
	cJSON_Delete(cards);
}

static void customer_by_id_and_null_columns(void **state)
{
	struct fixture *f = *state;
	cJSON *c = crm_ok(f->s, STORE_CRM_CUSTOMER, "C1004");
	assert_string_equal(str_of(c, "first_name"), "David");
	assert_string_equal(str_of(c, "phone"), "+442079460958");
	assert_string_equal(str_of(c, "language"), "en-GB");
	cJSON_Delete(c);
	/* A customer without a phone or an email: nulls, not "". */
	c = crm_ok(f->s, STORE_CRM_CUSTOMER, "C1010");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(c, "phone")));
	cJSON_Delete(c);
	c = crm_ok(f->s, STORE_CRM_CUSTOMER, "C1006");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(c, "email")));
	cJSON_Delete(c);
	/* The UK customer by an international-prefix number. */
	c = crm_ok(f->s, STORE_CRM_CUSTOMER_BY_PHONE, "00442079460958");
	assert_string_equal(str_of(c, "id"), "C1004");
	cJSON_Delete(c);
}

static void unknown_customers_are_not_found(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(
		crm_err(f->s, STORE_CRM_CUSTOMER_BY_PHONE, "+14155550199"),
		-ENOENT);
	assert_int_equal(crm_err(f->s, STORE_CRM_CUSTOMER_BY_PHONE,
				 "sip:anonymous@anonymous.invalid"),
			 -ENOENT);
	assert_int_equal(crm_err(f->s, STORE_CRM_CUSTOMER_BY_PHONE, ""),
			 -ENOENT);
	assert_int_equal(crm_err(f->s, STORE_CRM_CUSTOMER, "C9999"), -ENOENT);
	assert_int_equal(crm_err(f->s, STORE_CRM_CUSTOMER, ""), -ENOENT);
	/* Ids are exact: no case folding, no trimming. */
	assert_int_equal(crm_err(f->s, STORE_CRM_CUSTOMER, "c1001"), -ENOENT);
	assert_int_equal(crm_err(f->s, STORE_CRM_CUSTOMER, " C1001"), -ENOENT);
	assert_int_equal(crm_err(f->s, STORE_CRM_ACCOUNTS, "C9999"), -ENOENT);
	assert_int_equal(crm_err(f->s, STORE_CRM_CARDS, "C9999"), -ENOENT);
	assert_int_equal(crm_err(f->s, STORE_CRM_TICKETS, "C9999"), -ENOENT);
}

/* ---------- accounts, cards, tickets ---------- */

static void alice_has_checking_then_savings(void **state)
{
	struct fixture *f = *state;
	cJSON *a = crm_ok(f->s, STORE_CRM_ACCOUNTS, "C1001");
	assert_int_equal(cJSON_GetArraySize(a), 2);
	assert_string_equal(str_of(at(a, 0), "type"), "checking");
	assert_string_equal(str_of(at(a, 0), "balance"), "1250.40");
	assert_string_equal(str_of(at(a, 0), "currency"), "USD");
	assert_string_equal(str_of(at(a, 0), "status"), "active");
	assert_string_equal(str_of(at(a, 0), "number"), "100200301");
	assert_string_equal(str_of(at(a, 1), "type"), "savings");
	assert_string_equal(str_of(at(a, 1), "balance"), "15200.00");
	assert_int_equal(cJSON_GetArraySize(at(a, 0)), 5);
	cJSON_Delete(a);

	cJSON *c = crm_ok(f->s, STORE_CRM_CARDS, "C1001");
	assert_int_equal(cJSON_GetArraySize(c), 1);
	assert_string_equal(str_of(at(c, 0), "last4"), "4242");
	assert_string_equal(str_of(at(c, 0), "type"), "debit");
	assert_string_equal(str_of(at(c, 0), "status"), "active");
	assert_string_equal(str_of(at(c, 0), "expires"), "2028-07");
	assert_int_equal(cJSON_GetArraySize(at(c, 0)), 4);
	cJSON_Delete(c);
}

static void credit_balances_are_negative(void **state)
{
	struct fixture *f = *state;
	cJSON *a = crm_ok(f->s, STORE_CRM_ACCOUNTS, "C1003");
	assert_int_equal(cJSON_GetArraySize(a), 3);
	assert_string_equal(str_of(at(a, 2), "type"), "credit");
	assert_string_equal(str_of(at(a, 2), "balance"), "-2310.99");
	cJSON_Delete(a);
}

static void a_customer_without_rows_gets_empty_arrays(void **state)
{
	struct fixture *f = *state;
	static const enum store_crm_query qs[] = { STORE_CRM_ACCOUNTS,
						   STORE_CRM_CARDS,
						   STORE_CRM_TICKETS };
	for (size_t i = 0; i < 3; i++) {
		cJSON *a = crm_ok(f->s, qs[i], "C1008");
		assert_true(cJSON_IsArray(a));
		assert_int_equal(cJSON_GetArraySize(a), 0);
		cJSON_Delete(a);
	}
}

static void replies_hold_at_most_twenty_rows(void **state)
{
	struct fixture *f = *state;
	char sql[4096];
	size_t n = (size_t)snprintf(sql, sizeof(sql), "BEGIN;");
	for (int i = 0; i < 25; i++)
		n += (size_t)snprintf(sql + n, sizeof(sql) - n,
				      "INSERT INTO cards (customer_id, last4, "
				      "type, expires) VALUES ('C1008', "
				      "'%04d', 'debit', '2030-01');",
				      i);
	snprintf(sql + n, sizeof(sql) - n, "COMMIT;");
	assert_int_equal(sql_exec(f->path, sql), SQLITE_OK);
	cJSON *c = crm_ok(f->s, STORE_CRM_CARDS, "C1008");
	assert_int_equal(cJSON_GetArraySize(c), SQLSTORE_CRM_ROWS_MAX);
	assert_string_equal(str_of(at(c, 0), "last4"), "0000");
	cJSON_Delete(c);
}

static void created_ticket_is_listed_first(void **state)
{
	struct fixture *f = *state;
	cJSON *t = crm_ok(f->s, STORE_CRM_TICKETS, "C1001");
	assert_int_equal(cJSON_GetArraySize(t), 1);
	assert_string_equal(str_of(at(t, 0), "status"), "closed");
	assert_string_equal(str_of(at(t, 0), "created"),
			    "2026-10-28T14:02:00Z");
	cJSON_Delete(t);

	int64_t t0 = clock_wall_ms();
	int err = 1;
	cJSON *r = crm(f->s, STORE_CRM_CREATE_TICKET, "C1001",
		       "Caller asked about a card replacement", &err);
	assert_int_equal(err, 0);
	const cJSON *id = cJSON_GetObjectItem(r, "id");
	assert_true(cJSON_IsNumber(id));
	double tid = cJSON_GetNumberValue(id);
	assert_true(tid >= 1);
	cJSON_Delete(r);
	/* Committed before the reply: another connection sees it. */
	char q[128];
	snprintf(q, sizeof(q),
		 "SELECT created_ms FROM tickets WHERE id = %lld "
		 "AND customer_id = 'C1001' AND status = 'open'",
		 (long long)tid);
	int64_t created = sql_int(f->path, q);
	assert_true(created >= t0 && created <= clock_wall_ms());

	t = crm_ok(f->s, STORE_CRM_TICKETS, "C1001");
	assert_int_equal(cJSON_GetArraySize(t), 2);
	assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(at(t, 0), "id")) ==
		    tid);
	assert_string_equal(str_of(at(t, 0), "subject"),
			    "Caller asked about a card replacement");
	assert_string_equal(str_of(at(t, 0), "status"), "open");
	const char *c = str_of(at(t, 0), "created");
	assert_int_equal(strlen(c), 20);
	assert_int_equal(c[10], 'T');
	assert_int_equal(c[19], 'Z');
	assert_string_equal(str_of(at(t, 1), "subject"),
			    "Card declined abroad");
	cJSON_Delete(t);

	/* Two tickets in the same millisecond keep creation order. */
	r = crm(f->s, STORE_CRM_CREATE_TICKET, "C1001", "second", &err);
	cJSON_Delete(r);
	r = crm(f->s, STORE_CRM_CREATE_TICKET, "C1001", "third", &err);
	cJSON_Delete(r);
	t = crm_ok(f->s, STORE_CRM_TICKETS, "C1001");
	assert_string_equal(str_of(at(t, 0), "subject"), "third");
	assert_string_equal(str_of(at(t, 1), "subject"), "second");
	cJSON_Delete(t);
}

static void ticket_for_unknown_customer_is_not_created(void **state)
{
	struct fixture *f = *state;
	int64_t before = sql_int(f->path, "SELECT count(*) FROM tickets");
	int err = 0;
	assert_null(crm(f->s, STORE_CRM_CREATE_TICKET, "C9999", "x", &err));
	assert_int_equal(err, -ENOENT);
	assert_null(crm(f->s, STORE_CRM_CREATE_TICKET, "", "x", &err));
	assert_int_equal(err, -ENOENT);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM tickets"),
			 before);
}

static void ticket_subject_is_capped_and_made_valid_utf8(void **state)
{
	struct fixture *f = *state;
	char subject[3000];
	memset(subject, 'a', sizeof(subject) - 1);
	subject[sizeof(subject) - 1] = '\0';
	subject[0] = (char)0xff; /* not UTF-8 */
	int err = 1;
	cJSON *r = crm(f->s, STORE_CRM_CREATE_TICKET, "C1002", subject, &err);
	assert_int_equal(err, 0);
	cJSON_Delete(r);
	cJSON *t = crm_ok(f->s, STORE_CRM_TICKETS, "C1002");
	const char *got = str_of(at(t, 0), "subject");
	assert_int_equal(strlen(got), SQLSTORE_CRM_SUBJECT_MAX);
	assert_int_equal(got[0], '?');
	assert_int_equal(got[1], 'a');
	cJSON_Delete(t);
}

/* ---------- bad keys ---------- */

static void bad_arguments_are_refused(void **state)
{
	struct fixture *f = *state;
	struct result r = { PTHREAD_MUTEX_INITIALIZER,
			    PTHREAD_COND_INITIALIZER };
	char long_key[SQLSTORE_CRM_KEY_MAX + 2];
	memset(long_key, '1', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';

	assert_int_equal(store_crm_query(f->s, STORE_CRM_CUSTOMER, NULL, NULL,
					 g_loop, on_json, &r),
			 -EINVAL);
	assert_int_equal(store_crm_query(f->s, STORE_CRM_CUSTOMER_BY_PHONE,
					 long_key, NULL, g_loop, on_json, &r),
			 -EINVAL);
	assert_int_equal(store_crm_query(f->s, (enum store_crm_query)99,
					 "C1001", NULL, g_loop, on_json, &r),
			 -EINVAL);
	assert_int_equal(store_crm_query(f->s, (enum store_crm_query) - 1,
					 "C1001", NULL, g_loop, on_json, &r),
			 -EINVAL);
	assert_int_equal(store_crm_query(f->s, STORE_CRM_CREATE_TICKET, "C1001",
					 NULL, g_loop, on_json, &r),
			 -EINVAL);
	assert_int_equal(store_crm_query(f->s, STORE_CRM_CREATE_TICKET, "C1001",
					 "", g_loop, on_json, &r),
			 -EINVAL);
	assert_int_equal(store_crm_query(f->s, STORE_CRM_CUSTOMER, "C1001",
					 NULL, NULL, on_json, &r),
			 -EINVAL);
	assert_int_equal(store_crm_query(f->s, STORE_CRM_CUSTOMER, "C1001",
					 NULL, g_loop, NULL, &r),
			 -EINVAL);
	assert_int_equal(store_crm_query(NULL, STORE_CRM_CUSTOMER, "C1001",
					 NULL, g_loop, on_json, &r),
			 -EINVAL);
	/* Exactly the cap is accepted (and is no customer). */
	long_key[SQLSTORE_CRM_KEY_MAX] = '\0';
	assert_int_equal(crm_err(f->s, STORE_CRM_CUSTOMER, long_key), -ENOENT);
	assert_false(r.done);
}

static void sql_in_keys_and_subjects_is_just_data(void **state)
{
	struct fixture *f = *state;
	static const char *const keys[] = {
		"C1001' OR '1'='1",
		"' OR 1=1 --",
		"C1001'; DROP TABLE customers; --",
		"%",
		"C100_",
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		assert_int_equal(crm_err(f->s, STORE_CRM_CUSTOMER, keys[i]),
				 -ENOENT);
		assert_int_equal(crm_err(f->s, STORE_CRM_ACCOUNTS, keys[i]),
				 -ENOENT);
		assert_int_equal(
			crm_err(f->s, STORE_CRM_CUSTOMER_BY_PHONE, keys[i]),
			-ENOENT);
	}
	static const char evil[] = "x'); DELETE FROM customers; --";
	int err = 1;
	cJSON *r = crm(f->s, STORE_CRM_CREATE_TICKET, "C1005", evil, &err);
	assert_int_equal(err, 0);
	cJSON_Delete(r);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM customers"),
			 10);
	cJSON *t = crm_ok(f->s, STORE_CRM_TICKETS, "C1005");
	assert_string_equal(str_of(at(t, 0), "subject"), evil);
	cJSON_Delete(t);
}

/* ---------- seeding, ETL, migration ---------- */

static void seeding_twice_adds_nothing(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM customers"),
			 10);
	int64_t accounts = sql_int(f->path, "SELECT count(*) FROM accounts");
	int64_t cards = sql_int(f->path, "SELECT count(*) FROM cards");
	int64_t tickets = sql_int(f->path, "SELECT count(*) FROM tickets");
	assert_true(accounts >= 10 && cards >= 10 && tickets >= 5);
	assert_int_equal(store_crm_seed_demo(f->s), 0);
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(store_open(&f->s, f->path, NULL), 0);
	assert_int_equal(store_crm_seed_demo(f->s), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM customers"),
			 10);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM accounts"),
			 accounts);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM cards"), cards);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM tickets"),
			 tickets);
	/* No PAN anywhere: last4 holds four digits only. */
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM cards WHERE "
					  "length(last4) != 4"),
			 0);
}

static void users_own_data_is_never_seeded_over(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(store_open(&f->s, f->path, NULL), 0);
	/* An ETL writes while the daemon runs; the daemon reads it. */
	assert_int_equal(sql_exec(f->path,
				  "INSERT INTO customers (id, first_name, "
				  "phone, tier) VALUES ('X1', 'Zoe', "
				  "'+33142685300', 'platinum');"
				  "INSERT INTO accounts (number, customer_id, "
				  "type, balance_cents, currency) VALUES "
				  "('FR76', 'X1', 'savings', 99, 'EUR');"),
			 SQLITE_OK);
	assert_int_equal(store_crm_seed_demo(f->s), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM customers"), 1);
	cJSON *c =
		crm_ok(f->s, STORE_CRM_CUSTOMER_BY_PHONE, "+33 1 42 68 53 00");
	assert_string_equal(str_of(c, "id"), "X1");
	assert_string_equal(str_of(c, "last_name"), "");
	assert_string_equal(str_of(c, "language"), "en");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(c, "pin_set")));
	cJSON_Delete(c);
	cJSON *a = crm_ok(f->s, STORE_CRM_ACCOUNTS, "X1");
	assert_string_equal(str_of(at(a, 0), "balance"), "0.99");
	assert_string_equal(str_of(at(a, 0), "status"), "active");
	cJSON_Delete(a);
}

static void schema_refuses_what_lookups_could_not_match(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(store_open(&f->s, f->path, NULL), 0);
	static const char *const bad[] = {
		/* phones must be E.164 */
		"INSERT INTO customers (id, first_name, phone) VALUES "
		"('A', 'a', '4155550101')",
		"INSERT INTO customers (id, first_name, phone) VALUES "
		"('A', 'a', '+1 415 555 0101')",
		"INSERT INTO customers (id, first_name, tier) VALUES "
		"('A', 'a', 'bronze')",
		/* a full card number is refused (PCI) */
		"INSERT INTO customers (id, first_name) VALUES ('A', 'a');"
		"INSERT INTO cards (customer_id, last4, type, expires) VALUES "
		"('A', '4111111111111111', 'debit', '2030-01')",
		"INSERT INTO customers (id, first_name) VALUES ('A', 'a');"
		"INSERT INTO cards (customer_id, last4, type, expires) VALUES "
		"('A', '1234', 'debit', '01/30')",
		"INSERT INTO customers (id, first_name) VALUES ('A', 'a');"
		"INSERT INTO accounts (number, customer_id, type) VALUES "
		"('1', 'A', 'brokerage')",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char sql[512];
		snprintf(sql, sizeof(sql), "BEGIN; %s; COMMIT;", bad[i]);
		assert_int_not_equal(sql_exec(f->path, sql), SQLITE_OK);
		(void)sql_exec(f->path, "ROLLBACK");
	}
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM customers"), 0);
	/* Two customers cannot share a phone. */
	assert_int_equal(sql_exec(f->path,
				  "INSERT INTO customers (id, first_name, "
				  "phone) VALUES ('A', 'a', '+14155550111')"),
			 SQLITE_OK);
	assert_int_not_equal(sql_exec(f->path,
				      "INSERT INTO customers (id, first_name, "
				      "phone) VALUES ('B', 'b', "
				      "'+14155550111')"),
			     SQLITE_OK);
}

static void v2_database_migrates_and_keeps_its_calls(void **state)
{
	struct fixture *f = *state;
	/* A v2 database as v2 builds left it (released migrations never
	 * change), with a call. */
	sqlite3 *db;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "CREATE TABLE schema_migrations ("
				      "version INTEGER PRIMARY KEY NOT NULL, "
				      "applied_at INTEGER NOT NULL)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	for (unsigned v = 1; v <= 2; v++) {
		char ins[96];
		snprintf(ins, sizeof(ins),
			 "INSERT INTO schema_migrations VALUES (%u, 1)", v);
		assert_int_equal(sqlite3_exec(db, store_migration_sql(v), NULL,
					      NULL, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, ins, NULL, NULL, NULL),
				 SQLITE_OK);
	}
	assert_int_equal(
		sqlite3_exec(db,
			     "INSERT INTO calls (id, platform, started_ms, "
			     "ended_ms, end_reason) VALUES ('old-call', "
			     "'sip', 1600000000000, 1600000001000, "
			     "'hangup')",
			     NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);

	assert_true(store_migration_latest() >= 3);
	assert_int_equal(store_open(&f->s, f->path, NULL), 0);
	struct store_info info;
	assert_int_equal(store_info_get(f->s, true, &info), 0);
	assert_int_equal(info.schema_version, store_migration_latest());
	assert_int_equal(info.integrity_ok, 1);
	assert_int_equal(info.calls, 1);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM calls WHERE "
					  "id = 'old-call' AND "
					  "end_reason = 'hangup'"),
			 1);
	assert_int_equal(sql_int(f->path, "SELECT applied_at FROM "
					  "schema_migrations WHERE "
					  "version = 2"),
			 1);
	/* The new tables work. */
	assert_int_equal(crm_err(f->s, STORE_CRM_CUSTOMER, "C1001"), -ENOENT);
	assert_int_equal(store_crm_seed_demo(f->s), 0);
	cJSON *c = crm_ok(f->s, STORE_CRM_CUSTOMER, "C1001");
	cJSON_Delete(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(caller_numbers_normalize_to_e164),
		cmocka_unit_test(money_prints_as_decimal_with_two_places),
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_demo, teardown)
		T(alice_is_found_by_every_form_of_her_number),
		T(bob_is_standard_without_a_pin),
		T(customer_by_id_and_null_columns),
		T(unknown_customers_are_not_found),
		T(alice_has_checking_then_savings),
		T(credit_balances_are_negative),
		T(a_customer_without_rows_gets_empty_arrays),
		T(replies_hold_at_most_twenty_rows),
		T(created_ticket_is_listed_first),
		T(ticket_for_unknown_customer_is_not_created),
		T(ticket_subject_is_capped_and_made_valid_utf8),
		T(bad_arguments_are_refused),
		T(sql_in_keys_and_subjects_is_just_data),
		T(seeding_twice_adds_nothing),
#undef T
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_empty, teardown)
		T(users_own_data_is_never_seeded_over),
		T(schema_refuses_what_lookups_could_not_match),
		T(v2_database_migrates_and_keeps_its_calls),
#undef T
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
