/* The CRM behind flows' lookup nodes (see sqlstore_crm.h, docs/CRM.md):
 * customer, accounts, cards and tickets queries as JSON replies, ticket
 * creation, caller number normalization and the demo bank. */
#include "store/sqlite/sqlstore_crm.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cJSON.h>

#include "core/log.h"
#include "core/utf8.h"
#include "store/store.h"

#define CUSTOMER_COLS                                               \
	"id, first_name, last_name, phone, email, tier, language, " \
	"coalesce(pin_hash, '') != ''"

enum stmt {
	ST_BY_ID,
	ST_BY_PHONE,
	ST_EXISTS,
	ST_ACCOUNTS,
	ST_CARDS,
	ST_TICKETS,
	ST_TICKET_INSERT,
	ST_COUNT
};

#define ROWS_MAX_STR "20"

static const char *const stmt_sql[ST_COUNT] = {
	/* Parenthesized: each entry is one statement spread over lines. */
	[ST_BY_ID] = ("SELECT " CUSTOMER_COLS " FROM customers WHERE id = ?1"),
	[ST_BY_PHONE] =
		("SELECT " CUSTOMER_COLS " FROM customers WHERE phone = ?1"),
	[ST_EXISTS] = "SELECT 1 FROM customers WHERE id = ?1",
	/* Everyday accounts first: "your checking balance" is what a
	 * caller most often asks, and flows read accounts.0. */
	[ST_ACCOUNTS] = ("SELECT number, type, balance_cents, currency, status "
			 "FROM accounts WHERE customer_id = ?1 ORDER BY "
			 "CASE type WHEN 'checking' THEN 0 WHEN 'savings' "
			 "THEN 1 ELSE 2 END, number LIMIT " ROWS_MAX_STR),
	[ST_CARDS] = ("SELECT last4, type, status, expires FROM cards "
		      "WHERE customer_id = ?1 ORDER BY id LIMIT " ROWS_MAX_STR),
	[ST_TICKETS] =
		("SELECT id, subject, status, created_ms FROM tickets "
		 "WHERE customer_id = ?1 "
		 "ORDER BY created_ms DESC, id DESC LIMIT " ROWS_MAX_STR),
	[ST_TICKET_INSERT] = ("INSERT INTO tickets (customer_id, subject, "
			      "status, created_ms) VALUES (?1, ?2, 'open', "
			      "?3)"),
};

struct sqlstore_crm {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
};

_Static_assert(SQLSTORE_CRM_ROWS_MAX == 20, "ROWS_MAX_STR");

static int rc_err(int rc)
{
	return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
}

int sqlstore_crm_open(sqlite3 *db, struct sqlstore_crm **out)
{
	struct sqlstore_crm *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->db = db;
	for (int i = 0; i < ST_COUNT; i++) {
		int rc = sqlite3_prepare_v3(db, stmt_sql[i], -1,
					    SQLITE_PREPARE_PERSISTENT,
					    &c->st[i], NULL);
		if (rc != SQLITE_OK) {
			LOGE(NULL, "store_prepare_failed", "what=crm err=%s",
			     log_esc(sqlite3_errmsg(db)));
			sqlstore_crm_close(c);
			return rc_err(rc);
		}
	}
	*out = c;
	return 0;
}

void sqlstore_crm_close(struct sqlstore_crm *c)
{
	if (!c)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(c->st[i]);
	free(c);
}

/* ---------- pure helpers ---------- */

static bool is_sep(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '-' || ch == '.' || ch == '(' ||
	       ch == ')' || ch == '/';
}

/* The user part of a SIP/tel URI, or the whole text: [*beg, *end). */
static void user_part(const char *in, const char **beg, const char **end)
{
	const char *p = in;
	/* The last '<': a quoted display name may hold one too. */
	const char *lt = strrchr(p, '<');
	if (lt)
		p = lt + 1;
	while (*p == ' ' || *p == '\t')
		p++;
	static const char *const schemes[] = { "sips:", "sip:", "tel:" };
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i]);
		if (!strncasecmp(p, schemes[i], n)) {
			p += n;
			break;
		}
	}
	*beg = p;
	*end = p + strcspn(p, "@;>?");
}

int sqlstore_crm_phone_normalize(const char *in,
				 char out[SQLSTORE_CRM_PHONE_LEN])
{
	enum { DIGITS_MAX = 15 };
	if (!in)
		return -EINVAL;
	const char *p, *end;
	user_part(in, &p, &end);
	while (p < end && is_sep(*p) && *p != '(')
		p++;
	bool plus = false;
	if (p < end && *p == '+') {
		plus = true;
		p++;
	} else if (end - p >= 3 && !strncasecmp(p, "%2b", 3)) {
		plus = true; /* an escaped '+' in a URI user part */
		p += 3;
	}
	/* Room for a "00" or "1" prefix beyond the 15 digits. */
	char digits[DIGITS_MAX + 3];
	size_t n = 0;
	for (; p < end; p++) {
		if (isdigit((unsigned char)*p)) {
			if (n == sizeof(digits) - 1)
				return -EINVAL;
			digits[n++] = *p;
		} else if (!is_sep(*p)) {
			return -EINVAL;
		}
	}
	digits[n] = '\0';
	const char *d = digits;
	if (!plus && n > 2 && d[0] == '0' && d[1] == '0') {
		plus = true; /* international prefix */
		d += 2;
		n -= 2;
	}
	const char *cc = "";
	if (!plus && n == 10)
		cc = "1"; /* NANP number without its country code */
	/* Without a '+', a short number is local: its country is unknown. */
	if (!plus && n < 10)
		return -EINVAL;
	n += strlen(cc);
	if (n < 3 || n > DIGITS_MAX || (!cc[0] && d[0] == '0'))
		return -EINVAL;
	size_t ncc = strlen(cc);
	out[0] = '+';
	memcpy(out + 1, cc, ncc);
	memcpy(out + 1 + ncc, d, n - ncc);
	out[1 + n] = '\0';
	return 0;
}

void sqlstore_crm_money_print(int64_t cents, char out[24])
{
	/* Through unsigned, so INT64_MIN has a magnitude too. */
	uint64_t mag = cents < 0 ? 0 - (uint64_t)cents : (uint64_t)cents;
	snprintf(out, 24, "%s%" PRIu64 ".%02" PRIu64, cents < 0 ? "-" : "",
		 mag / 100, mag % 100);
}

/* ---------- JSON from rows ---------- */

/* Column col as a JSON string (invalid UTF-8 bytes become '?': the CRM is
 * written by other programs, and replies must be valid JSON), or null. */
static bool add_text(cJSON *o, const char *name, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	if (!t)
		return cJSON_AddNullToObject(o, name) != NULL;
	size_t n = (size_t)sqlite3_column_bytes(st, col);
	char *copy = malloc(n + 1);
	if (!copy)
		return false;
	size_t i = 0, k = 0;
	while (i < n) {
		size_t len = t[i] ? utf8_seq_len(t + i, n - i) : 0;
		if (len) {
			memcpy(copy + k, t + i, len);
			k += len;
			i += len;
		} else {
			copy[k++] = '?'; /* also an embedded NUL */
			i++;
		}
	}
	copy[k] = '\0';
	bool ok = cJSON_AddStringToObject(o, name, copy) != NULL;
	free(copy);
	return ok;
}

static bool add_str(cJSON *o, const char *name, const char *v)
{
	return cJSON_AddStringToObject(o, name, v) != NULL;
}

static cJSON *customer_json(sqlite3_stmt *st)
{
	static const char *const names[] = { "id",	  "first_name",
					     "last_name", "phone",
					     "email",	  "tier",
					     "language" };
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL;
	for (int i = 0; ok && i < 7; i++)
		ok = add_text(o, names[i], st, i);
	if (ok)
		ok = cJSON_AddBoolToObject(o, "pin_set",
					   sqlite3_column_int(st, 7) != 0);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static bool account_row(cJSON *o, sqlite3_stmt *st)
{
	char money[24];
	sqlstore_crm_money_print(sqlite3_column_int64(st, 2), money);
	return add_text(o, "number", st, 0) && add_text(o, "type", st, 1) &&
	       add_str(o, "balance", money) && add_text(o, "currency", st, 3) &&
	       add_text(o, "status", st, 4);
}

static bool card_row(cJSON *o, sqlite3_stmt *st)
{
	return add_text(o, "last4", st, 0) && add_text(o, "type", st, 1) &&
	       add_text(o, "status", st, 2) && add_text(o, "expires", st, 3);
}

static void iso_time(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (ms < 0 || !gmtime_r(&t, &tm) ||
	    !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "1970-01-01T00:00:00Z");
}

static bool ticket_row(cJSON *o, sqlite3_stmt *st)
{
	char created[32];
	iso_time(sqlite3_column_int64(st, 3), created);
	/* Ticket ids stay far below 2^53 (exact as a JSON number). */
	return cJSON_AddNumberToObject(
		       o, "id", (double)sqlite3_column_int64(st, 0)) != NULL &&
	       add_text(o, "subject", st, 1) && add_text(o, "status", st, 2) &&
	       add_str(o, "created", created);
}

static int print_json(cJSON *doc, char **jsonp, size_t *lenp)
{
	char *text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	if (!text)
		return -ENOMEM;
	*jsonp = text;
	*lenp = strlen(text);
	return 0;
}

/* ---------- queries ---------- */

static int exec(sqlite3 *db, const char *sql)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : rc_err(rc);
}

static int bind_key(sqlite3_stmt *st, const char *key)
{
	int rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	return rc == SQLITE_OK ? 0 : rc_err(rc);
}

static int customer_get(sqlite3_stmt *st, const char *key, cJSON **out)
{
	int err = bind_key(st, key);
	if (err)
		return err;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = customer_json(st);
		err = *out ? 0 : -ENOMEM;
	} else {
		err = rc == SQLITE_DONE ? -ENOENT : rc_err(rc);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return err;
}

static int customer_exists(struct sqlstore_crm *c, const char *id)
{
	sqlite3_stmt *st = c->st[ST_EXISTS];
	int err = bind_key(st, id);
	if (!err) {
		int rc = sqlite3_step(st);
		err = rc == SQLITE_ROW	  ? 0
		      : rc == SQLITE_DONE ? -ENOENT
					  : rc_err(rc);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return err;
}

typedef bool(row_fn)(cJSON *o, sqlite3_stmt *st);

static int rows_get(struct sqlstore_crm *c, sqlite3_stmt *st, const char *id,
		    row_fn *row, cJSON **out)
{
	int err = customer_exists(c, id);
	if (err)
		return err;
	cJSON *arr = cJSON_CreateArray();
	if (!arr)
		return -ENOMEM;
	err = bind_key(st, id);
	int rc = SQLITE_DONE;
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			err = -ENOMEM;
		} else if (!row(o, st)) {
			err = -ENOMEM;
		}
	}
	if (!err && rc != SQLITE_DONE)
		err = rc_err(rc);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (err) {
		cJSON_Delete(arr);
		return err;
	}
	*out = arr;
	return 0;
}

static int read_query(struct sqlstore_crm *c, int q, const char *key,
		      cJSON **out)
{
	char phone[SQLSTORE_CRM_PHONE_LEN];
	switch (q) {
	case STORE_CRM_CUSTOMER_BY_PHONE:
		/* Not a number (e.g. "anonymous"): nobody has it. */
		if (sqlstore_crm_phone_normalize(key, phone))
			return -ENOENT;
		return customer_get(c->st[ST_BY_PHONE], phone, out);
	case STORE_CRM_CUSTOMER:
		return customer_get(c->st[ST_BY_ID], key, out);
	case STORE_CRM_ACCOUNTS:
		return rows_get(c, c->st[ST_ACCOUNTS], key, account_row, out);
	case STORE_CRM_CARDS:
		return rows_get(c, c->st[ST_CARDS], key, card_row, out);
	case STORE_CRM_TICKETS:
		return rows_get(c, c->st[ST_TICKETS], key, ticket_row, out);
	default:
		return -EINVAL;
	}
}

static int create_ticket(struct sqlstore_crm *c, const char *id,
			 const char *subject, int64_t now_ms, cJSON **out)
{
	if (!subject || !subject[0])
		return -EINVAL;
	int err = exec(c->db, "BEGIN IMMEDIATE");
	if (err)
		return err;
	err = customer_exists(c, id);
	sqlite3_stmt *st = c->st[ST_TICKET_INSERT];
	if (!err) {
		int rc = sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_text(st, 2, subject, -1,
					       SQLITE_STATIC);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int64(st, 3, now_ms);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(st);
		if (rc != SQLITE_DONE)
			err = rc_err(rc);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	int64_t ticket = sqlite3_last_insert_rowid(c->db);
	/* The reply promises a durable ticket: commit before answering. */
	if (!err)
		err = exec(c->db, "COMMIT");
	if (err) {
		if (!sqlite3_get_autocommit(c->db))
			(void)exec(c->db, "ROLLBACK");
		return err;
	}
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddNumberToObject(o, "id", (double)ticket)) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	*out = o;
	return 0;
}

int sqlstore_crm_run(struct sqlstore_crm *c, int q, const char *key,
		     const char *subject, int64_t now_ms, char **jsonp,
		     size_t *lenp)
{
	if (!c || !key)
		return -EINVAL;
	cJSON *doc = NULL;
	int err;
	if (q == STORE_CRM_CREATE_TICKET) {
		err = create_ticket(c, key, subject, now_ms, &doc);
	} else {
		/* One snapshot: a customer's rows and the check that the
		 * customer exists agree even while an ETL writes. */
		err = exec(c->db, "BEGIN");
		if (!err) {
			err = read_query(c, q, key, &doc);
			(void)exec(c->db, "COMMIT");
			if (!sqlite3_get_autocommit(c->db))
				(void)exec(c->db, "ROLLBACK");
		}
	}
	if (err)
		return err;
	return print_json(doc, jsonp, lenp);
}

/* ---------- demo bank ---------- */

/* Fictional people and numbers (NANP 555-01xx, Ofcom's drama range).
 * docs/CRM.md lists them; tests and the demo flow rely on C1001 (Alice)
 * and C1002 (Bob) exactly. The PIN hash is of the demo PIN 1234. */
static const char demo_sql[] =
	"INSERT INTO customers (id, first_name, last_name, phone, email, "
	"tier, language, pin_hash, created_ms) VALUES "
	"('C1001', 'Alice', 'Martin', '+14155550101', "
	" 'alice.martin@example.com', 'gold', 'en', "
	" 'sha256$voxgate-demo-salt-1$3f022a80c480b5ea23182074133cd626"
	"cf351d3549583f8ad2737085b16f4895', 1710238500000),"
	"('C1002', 'Bob', 'Chen', '+14155550102', 'bob.chen@example.com', "
	" 'standard', 'en', NULL, 1710238500000),"
	"('C1003', 'Carmen', 'Diaz', '+14155550103', "
	" 'carmen.diaz@example.com', 'platinum', 'es', NULL, 1710238500000),"
	"('C1004', 'David', 'Okafor', '+442079460958', "
	" 'david.okafor@example.co.uk', 'standard', 'en-GB', NULL, "
	" 1793196120000),"
	"('C1005', 'Emma', 'Schmidt', '+14155550105', "
	" 'emma.schmidt@example.com', 'gold', 'de', NULL, 1793196120000),"
	"('C1006', 'Farid', 'Haddad', '+14155550106', NULL, 'standard', "
	" 'en', NULL, 1793611800000),"
	"('C1007', 'Grace', 'Liu', '+14155550107', 'grace.liu@example.com', "
	" 'platinum', 'en', NULL, 1793611800000),"
	"('C1008', 'Hiro', 'Tanaka', '+14155550108', "
	" 'hiro.tanaka@example.com', 'standard', 'ja', NULL, 1795020300000),"
	"('C1009', 'Ines', 'Costa', '+14155550109', "
	" 'ines.costa@example.com', 'gold', 'pt', NULL, 1795020300000),"
	"('C1010', 'Jamal', 'Wright', NULL, 'jamal.wright@example.com', "
	" 'standard', 'en', NULL, 1795172700000);"
	"INSERT INTO accounts (number, customer_id, type, balance_cents, "
	"currency, status) VALUES "
	"('100200301', 'C1001', 'checking', 125040, 'USD', 'active'),"
	"('100200302', 'C1001', 'savings', 1520000, 'USD', 'active'),"
	"('100200401', 'C1002', 'checking', 8211, 'USD', 'active'),"
	"('100200501', 'C1003', 'checking', 4830075, 'USD', 'active'),"
	"('100200502', 'C1003', 'savings', 25000000, 'USD', 'active'),"
	"('100200503', 'C1003', 'credit', -231099, 'USD', 'active'),"
	"('100200601', 'C1004', 'checking', 91250, 'GBP', 'active'),"
	"('100200701', 'C1005', 'checking', 310000, 'USD', 'active'),"
	"('100200702', 'C1005', 'savings', 0, 'USD', 'closed'),"
	"('100200801', 'C1006', 'checking', -4510, 'USD', 'frozen'),"
	"('100200802', 'C1006', 'credit', -120000, 'USD', 'active'),"
	"('100200901', 'C1007', 'checking', 1200000, 'USD', 'active'),"
	"('100201001', 'C1009', 'savings', 770005, 'USD', 'active'),"
	"('100201101', 'C1010', 'checking', 15099, 'USD', 'active');"
	"INSERT INTO cards (customer_id, last4, type, status, expires) "
	"VALUES "
	"('C1001', '4242', 'debit', 'active', '2028-07'),"
	"('C1002', '1881', 'debit', 'blocked', '2027-03'),"
	"('C1003', '5100', 'debit', 'active', '2029-01'),"
	"('C1003', '3782', 'credit', 'active', '2027-11'),"
	"('C1004', '0005', 'debit', 'active', '2028-02'),"
	"('C1005', '7712', 'debit', 'pending_activation', '2030-05'),"
	"('C1006', '6011', 'credit', 'lost', '2027-09'),"
	"('C1006', '3056', 'debit', 'active', '2028-12'),"
	"('C1007', '9000', 'credit', 'active', '2029-06'),"
	"('C1009', '2221', 'debit', 'active', '2028-10'),"
	"('C1010', '4000', 'debit', 'active', '2026-12');"
	"INSERT INTO tickets (customer_id, subject, status, created_ms) "
	"VALUES "
	"('C1001', 'Card declined abroad', 'closed', 1793196120000),"
	"('C1002', 'Card blocked after three wrong PINs', 'open', "
	" 1795249200000),"
	"('C1003', 'Raise credit limit', 'open', 1795172700000),"
	"('C1003', 'Wire transfer to Spain delayed', 'closed', "
	" 1793611800000),"
	"('C1006', 'Lost credit card', 'open', 1795354800000),"
	"('C1007', 'New card not received', 'open', 1795020300000);";

static int count_customers(sqlite3 *db, int64_t *np)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM customers", -1,
				    &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*np = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc_err(rc);
}

int sqlstore_crm_seed_demo(struct sqlstore_crm *c, unsigned *addedp)
{
	/* IMMEDIATE: the emptiness check and the inserts hold the write
	 * lock together, so two daemons on one file seed it once. */
	int err = exec(c->db, "BEGIN IMMEDIATE");
	if (err)
		return err;
	int64_t before = 0, after = 0;
	err = count_customers(c->db, &before);
	if (!err && before == 0) {
		err = exec(c->db, demo_sql);
		if (!err)
			err = count_customers(c->db, &after);
	}
	if (!err)
		err = exec(c->db, "COMMIT");
	if (err) {
		LOGE(NULL, "crm_seed_failed", "err=%s",
		     log_esc(sqlite3_errmsg(c->db)));
		if (!sqlite3_get_autocommit(c->db))
			(void)exec(c->db, "ROLLBACK");
		return err;
	}
	if (addedp)
		*addedp = (unsigned)after;
	return 0;
}
