/* SQLite backend of the store (see store.h). One writer thread owns the
 * connection; callers hand it owned copies through a bounded FIFO that
 * refuses with -EAGAIN when full, so a slow disk never stalls a loop. */
#include "store/store.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/utf8.h"
#include "metrics/metrics.h"
#include "store/migrations.h"
#include "store/sqlite/sqlstore_crm.h"
#include "store/sqlite/sqlstore_json.h"
#include "store/sqlite/sqlstore_turns.h"

enum {
	QUEUE_MAX_DEFAULT = 10000,
	BATCH_MAX_DEFAULT = 256,
	BUSY_TIMEOUT_DEFAULT_MS = 5000,
	ID_MAX = 128,
	END_REASON_MAX = 64,
	LIMIT_DEFAULT = 100,
	LIMIT_MAX = 1000,
	JSON_FIELD_MAX = 64 * 1024,
	/* SQLSTORE_TURNS_MAX turns of about 500 bytes. */
	TURNS_JSON_MAX = 256 * 1024,
	/* A reply waits this long (1 ms steps) for a wedged loop queue. */
	POST_TRIES = 1000,
	REJECT_LOG_INTERVAL_MS = 1000,
};

/* Text fields of a CDR, each with its cap and its parameter in the
 * insert/upsert statements. */
enum text_field {
	TF_ID,
	TF_SIP_CALL_ID,
	TF_PLATFORM,
	TF_FROM,
	TF_TO,
	TF_FLOW,
	TF_CODEC,
	TF_REMOTE,
	TF_END_REASON,
	TF_DTMF,
	TF_FLOW_PATH,
	TF_PROMPTS,
	TF_TURNS,
	TF_COUNT
};

static const struct {
	const char *name;
	size_t max;
	int param;
	bool json;
} text_fields[TF_COUNT] = {
	[TF_ID] = { "id", ID_MAX, 1, false },
	[TF_SIP_CALL_ID] = { "sip_call_id", 256, 2, false },
	[TF_PLATFORM] = { "platform", 32, 3, false },
	[TF_FROM] = { "from_uri", 512, 4, false },
	[TF_TO] = { "to_uri", 512, 5, false },
	[TF_FLOW] = { "flow", 128, 6, false },
	[TF_CODEC] = { "codec", 32, 7, false },
	[TF_REMOTE] = { "remote_addr", 64, 8, false },
	[TF_END_REASON] = { "end_reason", END_REASON_MAX, 12, false },
	[TF_DTMF] = { "dtmf", 256, 13, false },
	[TF_FLOW_PATH] = { "flow_path", JSON_FIELD_MAX, 14, true },
	[TF_PROMPTS] = { "prompts", JSON_FIELD_MAX, 15, true },
	[TF_TURNS] = { "turns", TURNS_JSON_MAX, 18, true },
};

#define CALL_INSERT                                                        \
	"INSERT INTO calls (id, sip_call_id, platform, from_uri, to_uri, " \
	"flow, codec, remote_addr, started_ms, answered_ms, ended_ms, "    \
	"end_reason, dtmf, flow_path, prompts, rtp_tx, rtp_rx, turns) "    \
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, " \
	"?14, ?15, ?16, ?17, ?18)"

/* Upsert parameter ?19: 1 when the update carries turns (then turns is
 * replaced, possibly by null), 0 to keep the stored ones. */
#define PARAM_TURNS_SET 19

static const char sql_insert[] = CALL_INSERT;
static const char sql_upsert[] =
	CALL_INSERT " ON CONFLICT(id) DO UPDATE SET "
		    "sip_call_id = excluded.sip_call_id, "
		    "platform = excluded.platform, "
		    "from_uri = excluded.from_uri, to_uri = excluded.to_uri, "
		    "flow = excluded.flow, codec = excluded.codec, "
		    "remote_addr = excluded.remote_addr, "
		    "started_ms = excluded.started_ms, "
		    "answered_ms = excluded.answered_ms, "
		    "ended_ms = excluded.ended_ms, "
		    "end_reason = excluded.end_reason, dtmf = excluded.dtmf, "
		    "flow_path = excluded.flow_path, "
		    "prompts = excluded.prompts, rtp_tx = excluded.rtp_tx, "
		    "rtp_rx = excluded.rtp_rx, "
		    "turns = CASE WHEN ?19 THEN excluded.turns "
		    "ELSE calls.turns END";
static const char sql_get[] =
	"SELECT " SQLSTORE_GET_COLS " FROM calls WHERE id = ?1";
static const char sql_list[] = "SELECT " SQLSTORE_LIST_COLS " FROM calls "
			       "WHERE (started_ms, id) < (?1, ?2) "
			       "ORDER BY started_ms DESC, id DESC LIMIT ?3";
static const char sql_list_reason[] =
	"SELECT " SQLSTORE_LIST_COLS " FROM calls "
	"WHERE end_reason = ?4 AND (started_ms, id) < (?1, ?2) "
	"ORDER BY started_ms DESC, id DESC LIMIT ?3";

enum op_type {
	OP_BEGIN,
	OP_UPDATE,
	OP_WAIT,
	OP_LIST,
	OP_GET,
	OP_CRM,
	OP_SESS_PUT, /* adapter_sessions: platform, id = key, subject = state */
	OP_SESS_DEL,
	OP_SESS_GET,
};

struct op_write {
	char *text[TF_COUNT];
	int64_t started_ms, answered_ms, ended_ms;
	int64_t rtp_tx, rtp_rx;
	/* The cdr had turns_json (text[TF_TURNS] may still be NULL: over the
	 * cap). Such a write rewrites the call's rows in turns. */
	bool turns_set;
};

struct op_query {
	struct vg_loop *loop;
	store_json_fn *cb;
	void *arg;
	int limit;
	int64_t before_ms;
	char *before_id;
	char *end_reason;
	char *id;	/* OP_GET: call id; OP_CRM, OP_SESS_*: key */
	char *platform; /* OP_SESS_* */
	/* OP_CRM */
	int crm;       /* enum store_crm_query */
	char *subject; /* CREATE_TICKET */
	int64_t now_ms;
};

/* A caller blocked in store_sync()/store_info_get(); lives on its stack. */
struct op_wait {
	bool done;
	int err;
	bool check_writes;  /* store_sync: fail if an earlier write failed */
	uint64_t errors_at; /* write errors when queued */
	struct store_info *info;
	bool integrity;
	bool seed_crm; /* store_crm_seed_demo */
};

struct op {
	struct op *next;
	enum op_type type;
	union {
		struct op_write w;
		struct op_query q;
		struct op_wait *wait;
	} u;
};

struct store {
	struct store_opts opts;
	char *path;
	pthread_t thread;

	pthread_mutex_t mtx;
	pthread_cond_t cond;	  /* ops queued, or stopping */
	pthread_cond_t done_cond; /* a wait op done, or the thread ready */
	struct op *head, *tail;
	unsigned depth;
	bool stopping;
	bool ready;
	int open_err;
	unsigned interrupted;
	uint64_t write_errors;

	/* Writer thread only. */
	sqlite3 *db;
	sqlite3_stmt *st_insert, *st_upsert, *st_get, *st_list, *st_list_reason;
	sqlite3_stmt *st_turns_del, *st_turns_ins;
	struct sqlstore_crm *crm;

	struct metric_counter *m_writes, *m_errors, *m_rejected;
	struct metric_gauge *m_depth;
	struct metric_histogram *m_write_s;
	atomic_int_fast64_t last_reject_log_ms;
};

/* Transaction state while the writer runs one batch. */
struct tx {
	bool open;
	uint64_t t0_us;
	unsigned nwrites;
};

/* Copy of src as valid UTF-8 of at most max bytes: invalid bytes become '?'
 * (JSON replies must be valid UTF-8; SIP headers need not be), and a cut
 * falls between characters. */
static char *text_copy(const char *src, size_t max)
{
	size_t n = strlen(src);
	char *out = malloc((n < max ? n : max) + 1);
	if (!out)
		return NULL;
	const unsigned char *p = (const unsigned char *)src;
	size_t i = 0, o = 0;
	while (i < n) {
		size_t len = utf8_seq_len(p + i, n - i);
		if (o + (len ? len : 1) > max)
			break;
		if (len) {
			memcpy(out + o, p + i, len);
			o += len;
			i += len;
		} else {
			out[o++] = '?';
			i++;
		}
	}
	out[o] = '\0';
	return out;
}

static void op_free(struct op *op)
{
	if (!op)
		return;
	switch (op->type) {
	case OP_BEGIN:
	case OP_UPDATE:
		for (int i = 0; i < TF_COUNT; i++)
			free(op->u.w.text[i]);
		break;
	case OP_LIST:
	case OP_GET:
	case OP_CRM:
	case OP_SESS_PUT:
	case OP_SESS_DEL:
	case OP_SESS_GET:
		free(op->u.q.before_id);
		free(op->u.q.end_reason);
		free(op->u.q.id);
		free(op->u.q.platform);
		free(op->u.q.subject);
		break;
	case OP_WAIT:
		break;
	}
	free(op);
}

static int64_t clamp_u64(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

static int write_op_new(struct op **opp, enum op_type type,
			const struct store_cdr *cdr)
{
	if (!cdr || !cdr->id || !cdr->id[0] || strlen(cdr->id) > ID_MAX)
		return -EINVAL;
	struct op *op = calloc(1, sizeof(*op));
	if (!op)
		return -ENOMEM;
	op->type = type;
	const char *src[TF_COUNT] = {
		[TF_ID] = cdr->id,
		[TF_SIP_CALL_ID] = cdr->sip_call_id,
		[TF_PLATFORM] = cdr->platform,
		[TF_FROM] = cdr->from_uri,
		[TF_TO] = cdr->to_uri,
		[TF_FLOW] = cdr->flow,
		[TF_CODEC] = cdr->codec,
		[TF_REMOTE] = cdr->remote_addr,
		[TF_END_REASON] = cdr->end_reason,
		[TF_DTMF] = cdr->dtmf,
		[TF_FLOW_PATH] = cdr->flow_path_json,
		[TF_PROMPTS] = cdr->prompts_json,
		[TF_TURNS] = cdr->turns_json,
	};
	for (int i = 0; i < TF_COUNT; i++) {
		if (!src[i])
			continue;
		/* Cutting a JSON text would corrupt it: drop it instead. */
		if (text_fields[i].json &&
		    strlen(src[i]) > text_fields[i].max) {
			LOGW(cdr->id, "store_field_dropped", "field=%s len=%zu",
			     text_fields[i].name, strlen(src[i]));
			continue;
		}
		op->u.w.text[i] = text_copy(src[i], text_fields[i].max);
		if (!op->u.w.text[i]) {
			op_free(op);
			return -ENOMEM;
		}
	}
	op->u.w.started_ms = cdr->started_ms;
	op->u.w.answered_ms = cdr->answered_ms;
	op->u.w.ended_ms = cdr->ended_ms;
	op->u.w.rtp_tx = clamp_u64(cdr->rtp_tx);
	op->u.w.rtp_rx = clamp_u64(cdr->rtp_rx);
	op->u.w.turns_set = cdr->turns_json != NULL;
	*opp = op;
	return 0;
}

static void log_reject(struct store *s, const char *call_id)
{
	int64_t now = (int64_t)clock_mono_ms();
	int_fast64_t last = atomic_load(&s->last_reject_log_ms);
	/* At most one line a second: a full queue means overload, and a line
	 * per refused op would add to it. */
	if (now - last < REJECT_LOG_INTERVAL_MS ||
	    !atomic_compare_exchange_strong(&s->last_reject_log_ms, &last, now))
		return;
	LOGW(call_id, "store_queue_full", "queue_max=%u rejected_total=%llu",
	     s->opts.queue_max,
	     (unsigned long long)metric_counter_get(s->m_rejected));
}

/* Queue op (ownership passes on success). Waits are never refused for a
 * full queue: they carry no data and shutdown depends on them. */
static int enqueue(struct store *s, struct op *op, const char *call_id)
{
	pthread_mutex_lock(&s->mtx);
	if (s->stopping) {
		pthread_mutex_unlock(&s->mtx);
		return -ESHUTDOWN;
	}
	if (op->type != OP_WAIT && s->depth >= s->opts.queue_max) {
		pthread_mutex_unlock(&s->mtx);
		metric_counter_add(s->m_rejected, 1);
		log_reject(s, call_id);
		return -EAGAIN;
	}
	if (op->type == OP_WAIT)
		op->u.wait->errors_at = s->write_errors;
	op->next = NULL;
	if (s->tail)
		s->tail->next = op;
	else
		s->head = op;
	s->tail = op;
	s->depth++;
	/* Under the lock, so the gauge never shows a negative depth. */
	metric_gauge_add(s->m_depth, 1);
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->mtx);
	return 0;
}

static int rc_err(int rc)
{
	return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
}

static int exec(struct store *s, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		LOGE(NULL, "store_sql_failed", "sql=%s err=%s", log_esc(sql),
		     log_esc(msg ? msg : sqlite3_errstr(rc)));
		sqlite3_free(msg);
		return rc_err(rc);
	}
	return 0;
}

static void count_errors(struct store *s, unsigned n)
{
	if (!n)
		return;
	pthread_mutex_lock(&s->mtx);
	s->write_errors += n;
	pthread_mutex_unlock(&s->mtx);
	metric_counter_add(s->m_errors, n);
}

static void tx_commit(struct store *s, struct tx *tx)
{
	if (!tx->open)
		return;
	tx->open = false;
	if (exec(s, "COMMIT")) {
		/* Some failures have rolled back already. */
		if (!sqlite3_get_autocommit(s->db))
			(void)exec(s, "ROLLBACK");
		count_errors(s, tx->nwrites);
		return;
	}
	metric_counter_add(s->m_writes, tx->nwrites);
	metric_histogram_observe(s->m_write_s,
				 (double)(clock_mono_us() - tx->t0_us) / 1e6);
}

static int bind_write(sqlite3_stmt *st, const struct op_write *w, bool upsert)
{
	int rc = SQLITE_OK;
	for (int i = 0; i < TF_COUNT && rc == SQLITE_OK; i++) {
		if (w->text[i])
			rc = sqlite3_bind_text(st, text_fields[i].param,
					       w->text[i], -1, SQLITE_STATIC);
		else
			rc = sqlite3_bind_null(st, text_fields[i].param);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 9, w->started_ms);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 10, w->answered_ms);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 11, w->ended_ms);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 16, w->rtp_tx);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 17, w->rtp_rx);
	if (rc == SQLITE_OK && upsert)
		rc = sqlite3_bind_int(st, PARAM_TURNS_SET, w->turns_set);
	return rc;
}

/* A write failed: count it, and the writes of the transaction already
 * done if SQLite rolled it back (disk full, I/O errors do). */
static void write_failed(struct store *s, struct tx *tx, const char *id,
			 const char *what)
{
	LOGE(id, "store_write_failed", "op=%s err=%s", what,
	     log_esc(sqlite3_errmsg(s->db)));
	count_errors(s, 1);
	if (sqlite3_get_autocommit(s->db)) {
		tx->open = false;
		count_errors(s, tx->nwrites);
	}
}

static void run_write(struct store *s, struct tx *tx, struct op *op)
{
	struct op_write *w = &op->u.w;
	const char *id = w->text[TF_ID];
	const char *what = op->type == OP_BEGIN ? "begin" : "update";

	if (!tx->open) {
		if (exec(s, "BEGIN IMMEDIATE")) {
			count_errors(s, 1);
			return;
		}
		tx->open = true;
		tx->nwrites = 0;
		tx->t0_us = clock_mono_us();
	}
	/* Parsed here, off the loops. Text that is not a turns array is
	 * stored as null, so calls.turns is either an array or null. */
	cJSON *turns = NULL;
	if (w->turns_set && w->text[TF_TURNS]) {
		turns = sqlstore_turns_parse(id, w->text[TF_TURNS],
					     strlen(w->text[TF_TURNS]));
		if (!turns) {
			free(w->text[TF_TURNS]);
			w->text[TF_TURNS] = NULL;
		}
	}
	sqlite3_stmt *st = op->type == OP_BEGIN ? s->st_insert : s->st_upsert;
	int rc = bind_write(st, w, op->type != OP_BEGIN);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		write_failed(s, tx, id, what);
		goto out;
	}
	/* Same transaction as the calls row: a reader never sees a call's
	 * turns column and rows from different updates. */
	if (w->turns_set &&
	    sqlstore_turns_write(s->st_turns_del, s->st_turns_ins, id, turns)) {
		write_failed(s, tx, id, "turns");
		goto out;
	}
	tx->nwrites++;
out:
	cJSON_Delete(turns);
}

struct reply {
	store_json_fn *cb;
	void *arg;
	int err;
	char *json;
	size_t len;
};

static void deliver_on_loop(void *arg)
{
	struct reply *r = arg;
	r->cb(r->err, r->json, r->len, r->arg);
	free(r);
}

static void deliver(const struct op_query *q, int err, char *json, size_t len)
{
	struct reply *r = malloc(sizeof(*r));
	if (!r) {
		LOGE(NULL, "store_reply_lost", "err=%d", -ENOMEM);
		free(json);
		return;
	}
	*r = (struct reply){ q->cb, q->arg, err, json, len };
	for (int tries = 0; tries < POST_TRIES; tries++) {
		if (loop_post(q->loop, deliver_on_loop, r) == 0)
			return;
		usleep(1000);
	}
	/* Running cb here would touch loop-owned objects from this thread;
	 * losing the reply is the lesser harm. */
	LOGE(NULL, "store_reply_lost", "loop=%s", loop_name(q->loop));
	free(json);
	free(r);
}

static void run_query(struct store *s, const struct op *op)
{
	const struct op_query *q = &op->u.q;
	char *json = NULL;
	size_t len = 0;
	int err;

	if (op->type == OP_GET)
		err = sqlstore_get_json(s->st_get, q->id, &json, &len);
	else
		err = sqlstore_list_json(q->end_reason ? s->st_list_reason
						       : s->st_list,
					 q->limit, q->before_ms, q->before_id,
					 q->end_reason, &json, &len);
	if (err && err != -ENOENT)
		LOGE(q->id, "store_query_failed", "err=%d sqlite=%s", err,
		     log_esc(sqlite3_errmsg(s->db)));
	deliver(q, err, err ? NULL : json, err ? 0 : len);
}

static void run_crm(struct store *s, const struct op *op)
{
	const struct op_query *q = &op->u.q;
	char *json = NULL;
	size_t len = 0;
	int err = sqlstore_crm_run(s->crm, q->crm, q->id, q->subject, q->now_ms,
				   &json, &len);
	if (err && err != -ENOENT)
		LOGE(NULL, "store_crm_failed", "query=%d err=%d sqlite=%s",
		     q->crm, err, log_esc(sqlite3_errmsg(s->db)));
	deliver(q, err, err ? NULL : json, err ? 0 : len);
}

/* adapter_sessions: put and delete join the batch's transaction like the CDR
 * writes (committed before any later query, so a get sees them); get runs
 * after a commit. */
static void run_session(struct store *s, struct tx *tx, const struct op *op)
{
	static const char *const sql[] = {
		[OP_SESS_PUT] = "INSERT OR REPLACE INTO adapter_sessions("
				"platform, session_key, state, updated_ms) "
				"VALUES (?4, ?1, ?2, ?3)",
		[OP_SESS_DEL] = "DELETE FROM adapter_sessions WHERE "
				"platform = ?4 AND session_key = ?1",
		[OP_SESS_GET] = "SELECT state FROM adapter_sessions WHERE "
				"platform = ?4 AND session_key = ?1",
	};
	const struct op_query *q = &op->u.q;
	sqlite3_stmt *st = NULL;
	char *json = NULL;
	size_t len = 0;
	int err = -EIO;
	if (op->type != OP_SESS_GET && !tx->open) {
		if (exec(s, "BEGIN IMMEDIATE"))
			goto out;
		tx->open = true;
		tx->nwrites = 0;
		tx->t0_us = clock_mono_us();
	}
	if (op->type != OP_SESS_GET)
		tx->nwrites++;
	int rc = sqlite3_prepare_v2(s->db, sql[op->type], -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, q->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, q->platform, -1, SQLITE_STATIC);
	if (op->type == OP_SESS_PUT) {
		sqlite3_bind_text(st, 2, q->subject, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, q->now_ms);
	}
	rc = sqlite3_step(st);
	if (op->type != OP_SESS_GET) {
		err = rc == SQLITE_DONE ? 0 : -EIO;
	} else if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		len = t ? (size_t)sqlite3_column_bytes(st, 0) : 0;
		json = malloc(len + 1);
		err = json ? 0 : -ENOMEM;
		if (json) {
			memcpy(json, t ? (const char *)t : "", len);
			json[len] = '\0';
		}
	} else {
		err = rc == SQLITE_DONE ? -ENOENT : -EIO;
	}
out:
	if (err && err != -ENOENT) {
		LOGE(q->id, "store_session_failed", "op=%d err=%d sqlite=%s",
		     op->type, err, log_esc(sqlite3_errmsg(s->db)));
		if (op->type != OP_SESS_GET)
			count_errors(s, 1);
	}
	sqlite3_finalize(st);
	if (op->type == OP_SESS_GET)
		deliver(q, err, err ? NULL : json, err ? 0 : len);
	else
		free(json);
}

static int pragma_text(struct store *s, const char *sql, char *out, size_t size)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc_err(rc);
	rc = sqlite3_step(st);
	int err = 0;
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		snprintf(out, size, "%s", t ? (const char *)t : "");
	} else {
		err = rc_err(rc);
	}
	sqlite3_finalize(st);
	return err;
}

static int query_int(struct store *s, const char *sql, int64_t *out)
{
	char buf[32];
	int err = pragma_text(s, sql, buf, sizeof(buf));
	if (!err)
		*out = strtoll(buf, NULL, 10);
	return err;
}

static int read_info(struct store *s, bool integrity, struct store_info *info)
{
	struct store_info in = { .integrity_ok = -1 };
	int64_t sync = 0, version = 0, calls = 0;
	int err = pragma_text(s, "PRAGMA journal_mode", in.journal_mode,
			      sizeof(in.journal_mode));
	if (!err)
		err = query_int(s, "PRAGMA synchronous", &sync);
	if (!err)
		err = query_int(s,
				"SELECT coalesce(max(version), 0) "
				"FROM schema_migrations",
				&version);
	if (!err)
		err = query_int(s, "SELECT count(*) FROM calls", &calls);
	if (!err && integrity) {
		/* The first row is "ok" exactly when nothing is wrong. */
		char res[8];
		err = pragma_text(s, "PRAGMA integrity_check", res,
				  sizeof(res));
		in.integrity_ok = !err && !strcmp(res, "ok");
	}
	if (err)
		return err;
	in.synchronous = (int)sync;
	in.schema_version = (unsigned)version;
	in.calls = (uint64_t)calls;
	*info = in;
	return 0;
}

static void run_wait(struct store *s, struct op_wait *w)
{
	int err = 0;
	unsigned seeded = 0;
	if (w->seed_crm) {
		err = sqlstore_crm_seed_demo(s->crm, &seeded);
		if (!err && seeded)
			LOGI(NULL, "crm_demo_seeded", "customers=%u", seeded);
	}
	if (w->info)
		err = read_info(s, w->integrity, w->info);
	pthread_mutex_lock(&s->mtx);
	if (!err && w->check_writes && s->write_errors != w->errors_at)
		err = -EIO;
	w->err = err;
	w->done = true;
	pthread_cond_broadcast(&s->done_cond);
	pthread_mutex_unlock(&s->mtx);
	/* w is gone as soon as the lock drops. */
}

/* Consecutive writes share one transaction; anything else commits first,
 * so a query or a sync sees every write queued before it. */
static void run_batch(struct store *s, struct op *ops)
{
	struct tx tx = { 0 };

	while (ops) {
		struct op *op = ops;
		ops = op->next;
		switch (op->type) {
		case OP_BEGIN:
		case OP_UPDATE:
			run_write(s, &tx, op);
			break;
		case OP_WAIT:
			tx_commit(s, &tx);
			run_wait(s, op->u.wait);
			break;
		case OP_LIST:
		case OP_GET:
			tx_commit(s, &tx);
			run_query(s, op);
			break;
		case OP_CRM:
			tx_commit(s, &tx);
			run_crm(s, op);
			break;
		case OP_SESS_PUT:
		case OP_SESS_DEL:
			run_session(s, &tx, op);
			break;
		case OP_SESS_GET:
			tx_commit(s, &tx);
			run_session(s, &tx, op);
			break;
		}
		op_free(op);
	}
	tx_commit(s, &tx);
}

static int migrate(struct store *s)
{
	int err = exec(s, "CREATE TABLE IF NOT EXISTS schema_migrations ("
			  "version INTEGER PRIMARY KEY NOT NULL, "
			  "applied_at INTEGER NOT NULL)");
	if (err)
		return err;
	const unsigned latest = store_migration_latest();
	for (unsigned v = 1; v <= latest; v++) {
		int64_t cur = 0;
		/* Check inside the write lock: another process may have
		 * migrated since. */
		err = exec(s, "BEGIN IMMEDIATE");
		if (!err)
			err = query_int(s,
					"SELECT coalesce(max(version), 0) "
					"FROM schema_migrations",
					&cur);
		if (!err && cur > (int64_t)latest) {
			LOGE(NULL, "store_schema_too_new",
			     "path=%s version=%lld known=%u", log_esc(s->path),
			     (long long)cur, latest);
			err = -EPROTO;
		}
		if (!err && cur < (int64_t)v) {
			char ins[96];
			snprintf(ins, sizeof(ins),
				 "INSERT INTO schema_migrations VALUES "
				 "(%u, %lld)",
				 v, (long long)clock_wall_ms());
			err = exec(s, store_migration_sql(v));
			if (!err)
				err = exec(s, ins);
			if (!err)
				LOGI(NULL, "store_migrated", "version=%u", v);
		}
		if (!err)
			err = exec(s, "COMMIT");
		if (err) {
			if (!sqlite3_get_autocommit(s->db))
				(void)exec(s, "ROLLBACK");
			return err;
		}
	}
	return 0;
}

/* Calls a crash left open can never end now; close them so they stop
 * looking active and get a duration. */
static int close_interrupted(struct store *s, unsigned *countp)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(
		s->db,
		"UPDATE calls SET ended_ms = max(?1, started_ms, answered_ms), "
		"end_reason = 'interrupted' WHERE ended_ms = 0",
		-1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc_err(rc);
	rc = sqlite3_bind_int64(st, 1, clock_wall_ms());
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rc_err(rc);
	*countp = (unsigned)sqlite3_changes(s->db);
	return 0;
}

static void db_close(struct store *s)
{
	sqlite3_finalize(s->st_insert);
	sqlite3_finalize(s->st_upsert);
	sqlite3_finalize(s->st_get);
	sqlite3_finalize(s->st_list);
	sqlite3_finalize(s->st_list_reason);
	sqlite3_finalize(s->st_turns_del);
	sqlite3_finalize(s->st_turns_ins);
	sqlstore_crm_close(s->crm);
	s->crm = NULL;
	s->st_insert = s->st_upsert = s->st_get = NULL;
	s->st_list = s->st_list_reason = NULL;
	s->st_turns_del = s->st_turns_ins = NULL;
	if (s->db && sqlite3_close(s->db) != SQLITE_OK)
		LOGE(NULL, "store_close_failed", "err=%s",
		     log_esc(sqlite3_errmsg(s->db)));
	s->db = NULL;
}

static int prepare(struct store *s, const char *sql, sqlite3_stmt **stp)
{
	int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
				    stp, NULL);
	if (rc != SQLITE_OK) {
		LOGE(NULL, "store_prepare_failed", "err=%s",
		     log_esc(sqlite3_errmsg(s->db)));
		return rc_err(rc);
	}
	return 0;
}

static int db_open(struct store *s, unsigned *interruptedp)
{
	/* NOMUTEX: only this thread ever touches the connection. */
	int rc = sqlite3_open_v2(s->path, &s->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
					 SQLITE_OPEN_NOMUTEX,
				 NULL);
	if (rc != SQLITE_OK) {
		LOGE(NULL, "store_open_failed", "path=%s err=%s",
		     log_esc(s->path),
		     log_esc(s->db ? sqlite3_errmsg(s->db)
				   : sqlite3_errstr(rc)));
		int err = rc_err(rc);
		db_close(s);
		return err;
	}
	sqlite3_busy_timeout(s->db, (int)s->opts.busy_timeout_ms);
	sqlite3_extended_result_codes(s->db, 1);

	char mode[16];
	int err =
		pragma_text(s, "PRAGMA journal_mode = WAL", mode, sizeof(mode));
	if (!err && strcasecmp(mode, "wal") != 0) {
		/* E.g. a file system without shared memory: refuse rather
		 * than run with weaker durability than documented. */
		LOGE(NULL, "store_wal_unavailable", "path=%s mode=%s",
		     log_esc(s->path), mode);
		err = -EIO;
	}
	if (!err)
		err = exec(s, "PRAGMA synchronous = FULL");
	/* Per connection, and a no-op inside a transaction: set it before
	 * any. Only the CRM tables have foreign keys. */
	if (!err)
		err = exec(s, "PRAGMA foreign_keys = ON");
	if (!err)
		err = migrate(s);
	if (!err)
		err = close_interrupted(s, interruptedp);
	if (!err)
		err = prepare(s, sql_insert, &s->st_insert);
	if (!err)
		err = prepare(s, sql_upsert, &s->st_upsert);
	if (!err)
		err = prepare(s, sql_get, &s->st_get);
	if (!err)
		err = prepare(s, sql_list, &s->st_list);
	if (!err)
		err = prepare(s, sql_list_reason, &s->st_list_reason);
	if (!err)
		err = prepare(s, SQLSTORE_TURNS_DELETE, &s->st_turns_del);
	if (!err)
		err = prepare(s, SQLSTORE_TURNS_INSERT, &s->st_turns_ins);
	if (!err)
		err = sqlstore_crm_open(s->db, &s->crm);
	if (err)
		db_close(s);
	return err;
}

static void *writer_main(void *arg)
{
	struct store *s = arg;
	unsigned interrupted = 0;

	pthread_setname_np(pthread_self(), "store");
	int err = db_open(s, &interrupted);
	pthread_mutex_lock(&s->mtx);
	s->open_err = err;
	s->interrupted = interrupted;
	s->ready = true;
	pthread_cond_broadcast(&s->done_cond);
	pthread_mutex_unlock(&s->mtx);
	if (err)
		return NULL;

	for (;;) {
		pthread_mutex_lock(&s->mtx);
		while (!s->head && !s->stopping)
			pthread_cond_wait(&s->cond, &s->mtx);
		if (!s->head) {
			pthread_mutex_unlock(&s->mtx);
			break; /* stopping, and everything is done */
		}
		struct op *batch = s->head, *last = s->head;
		unsigned n = 1;
		while (last->next && n < s->opts.batch_max) {
			last = last->next;
			n++;
		}
		s->head = last->next;
		if (!s->head)
			s->tail = NULL;
		last->next = NULL;
		s->depth -= n;
		metric_gauge_add(s->m_depth, -(int64_t)n);
		pthread_mutex_unlock(&s->mtx);
		run_batch(s, batch);
	}
	db_close(s);
	return NULL;
}

static void store_free(struct store *s)
{
	pthread_mutex_destroy(&s->mtx);
	pthread_cond_destroy(&s->cond);
	pthread_cond_destroy(&s->done_cond);
	free(s->path);
	free(s);
}

int store_open_opts(struct store **sp, const char *path,
		    const struct store_opts *opts, unsigned *interruptedp)
{
	if (!sp || !path || !path[0])
		return -EINVAL;
	struct store *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->path = strdup(path);
	if (!s->path) {
		free(s);
		return -ENOMEM;
	}
	if (opts)
		s->opts = *opts;
	if (!s->opts.queue_max)
		s->opts.queue_max = QUEUE_MAX_DEFAULT;
	if (!s->opts.batch_max)
		s->opts.batch_max = BATCH_MAX_DEFAULT;
	if (!s->opts.busy_timeout_ms)
		s->opts.busy_timeout_ms = BUSY_TIMEOUT_DEFAULT_MS;
	pthread_mutex_init(&s->mtx, NULL);
	pthread_cond_init(&s->cond, NULL);
	pthread_cond_init(&s->done_cond, NULL);
	atomic_init(&s->last_reject_log_ms, INT64_MIN / 2);

	s->m_writes = metrics_counter("voxgate_store_writes_total", NULL,
				      "CDR writes committed.");
	s->m_errors = metrics_counter("voxgate_store_write_errors_total", NULL,
				      "CDR writes that failed or were rolled "
				      "back.");
	s->m_rejected = metrics_counter(
		"voxgate_store_queue_rejected_total", NULL,
		"Store operations refused because the queue was full.");
	s->m_depth = metrics_gauge("voxgate_store_queue_depth", NULL,
				   "Store operations waiting for the writer.");
	s->m_write_s = metrics_histogram(
		"voxgate_store_write_seconds", NULL,
		"Time from BEGIN to a durable COMMIT of one write transaction.",
		NULL, 0);

	/* The writer takes no process signals; the main thread owns them. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int err = -pthread_create(&s->thread, NULL, writer_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		store_free(s);
		return err;
	}

	pthread_mutex_lock(&s->mtx);
	while (!s->ready)
		pthread_cond_wait(&s->done_cond, &s->mtx);
	err = s->open_err;
	pthread_mutex_unlock(&s->mtx);
	if (err) {
		pthread_join(s->thread, NULL);
		store_free(s);
		return err;
	}
	LOGI(NULL, "store_open", "path=%s schema=%u interrupted=%u",
	     log_esc(path), store_migration_latest(), s->interrupted);
	if (interruptedp)
		*interruptedp = s->interrupted;
	*sp = s;
	return 0;
}

int store_open(struct store **sp, const char *path, unsigned *interruptedp)
{
	return store_open_opts(sp, path, NULL, interruptedp);
}

void store_close(struct store *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mtx);
	s->stopping = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->mtx);
	/* The writer drains the queue before it exits. */
	pthread_join(s->thread, NULL);
	store_free(s);
}

static int queue_write(struct store *s, enum op_type type,
		       const struct store_cdr *cdr)
{
	if (!s)
		return -EINVAL;
	struct op *op;
	int err = write_op_new(&op, type, cdr);
	if (err)
		return err;
	err = enqueue(s, op, cdr->id);
	if (err)
		op_free(op);
	return err;
}

int store_call_begin(struct store *s, const struct store_cdr *cdr)
{
	return queue_write(s, OP_BEGIN, cdr);
}

int store_call_update(struct store *s, const struct store_cdr *cdr)
{
	return queue_write(s, OP_UPDATE, cdr);
}

static int wait_op(struct store *s, struct op_wait *w)
{
	if (!s)
		return -EINVAL;
	struct op *op = calloc(1, sizeof(*op));
	if (!op)
		return -ENOMEM;
	op->type = OP_WAIT;
	op->u.wait = w;
	int err = enqueue(s, op, NULL);
	if (err) {
		op_free(op);
		return err;
	}
	pthread_mutex_lock(&s->mtx);
	while (!w->done)
		pthread_cond_wait(&s->done_cond, &s->mtx);
	pthread_mutex_unlock(&s->mtx);
	return w->err;
}

int store_sync(struct store *s)
{
	struct op_wait w = { .check_writes = true };
	return wait_op(s, &w);
}

int store_info_get(struct store *s, bool integrity, struct store_info *info)
{
	if (!info)
		return -EINVAL;
	struct store_info in = { 0 }; /* filled by the store thread */
	struct op_wait w = { .info = &in, .integrity = integrity };
	int err = wait_op(s, &w);
	if (!err)
		*info = in;
	return err;
}

static int query_new(struct store *s, enum op_type type, struct vg_loop *loop,
		     store_json_fn *cb, void *arg, struct op **opp)
{
	if (!s || !loop || !cb)
		return -EINVAL;
	struct op *op = calloc(1, sizeof(*op));
	if (!op)
		return -ENOMEM;
	op->type = type;
	op->u.q.loop = loop;
	op->u.q.cb = cb;
	op->u.q.arg = arg;
	*opp = op;
	return 0;
}

/* Copy an optional string of 1..max bytes (NULL stays NULL). */
static int dup_opt(char **dst, const char *src, size_t max)
{
	if (!src)
		return 0;
	if (!src[0] || strlen(src) > max)
		return -EINVAL;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

int store_calls_list(struct store *s, const struct store_call_query *q,
		     struct vg_loop *loop, store_json_fn *cb, void *arg)
{
	static const struct store_call_query none = { 0 };
	if (!q)
		q = &none;
	if (q->limit < 0 || q->limit > LIMIT_MAX || q->before_ms < 0)
		return -EINVAL;
	struct op *op;
	int err = query_new(s, OP_LIST, loop, cb, arg, &op);
	if (err)
		return err;
	op->u.q.limit = q->limit ? q->limit : LIMIT_DEFAULT;
	op->u.q.before_ms = q->before_ms;
	err = dup_opt(&op->u.q.before_id, q->before_id, ID_MAX);
	if (!err)
		err = dup_opt(&op->u.q.end_reason, q->end_reason,
			      END_REASON_MAX);
	if (!err)
		err = enqueue(s, op, NULL);
	if (err)
		op_free(op);
	return err;
}

int store_call_get(struct store *s, const char *id, struct vg_loop *loop,
		   store_json_fn *cb, void *arg)
{
	if (!id)
		return -EINVAL;
	struct op *op;
	int err = query_new(s, OP_GET, loop, cb, arg, &op);
	if (err)
		return err;
	err = dup_opt(&op->u.q.id, id, ID_MAX);
	if (!err)
		err = enqueue(s, op, id);
	if (err)
		op_free(op);
	return err;
}

int store_crm_query(struct store *s, enum store_crm_query q, const char *key,
		    const char *subject, struct vg_loop *loop,
		    store_json_fn *cb, void *arg)
{
	if (!key || strlen(key) > SQLSTORE_CRM_KEY_MAX ||
	    (int)q < STORE_CRM_CUSTOMER_BY_PHONE || q > STORE_CRM_CREATE_TICKET)
		return -EINVAL;
	if (q == STORE_CRM_CREATE_TICKET && (!subject || !subject[0]))
		return -EINVAL;
	struct op *op;
	int err = query_new(s, OP_CRM, loop, cb, arg, &op);
	if (err)
		return err;
	op->u.q.crm = (int)q;
	op->u.q.now_ms = clock_wall_ms();
	op->u.q.id = strdup(key);
	if (!op->u.q.id)
		err = -ENOMEM;
	if (!err && q == STORE_CRM_CREATE_TICKET) {
		op->u.q.subject = text_copy(subject, SQLSTORE_CRM_SUBJECT_MAX);
		if (!op->u.q.subject)
			err = -ENOMEM;
	}
	if (!err)
		err = enqueue(s, op, NULL);
	if (err)
		op_free(op);
	return err;
}

int store_crm_seed_demo(struct store *s)
{
	struct op_wait w = { .seed_crm = true };
	return wait_op(s, &w);
}

static int session_op(struct store *s, enum op_type type, const char *platform,
		      const char *key, const char *state, struct vg_loop *loop,
		      store_json_fn *cb, void *arg)
{
	if (!s || !platform || !platform[0] ||
	    strlen(platform) > STORE_SESSION_PLATFORM_MAX || !key || !key[0] ||
	    strlen(key) > STORE_SESSION_KEY_MAX ||
	    (type == OP_SESS_PUT &&
	     (!state || strlen(state) > STORE_SESSION_STATE_MAX)))
		return -EINVAL;
	struct op *op = calloc(1, sizeof(*op));
	if (!op)
		return -ENOMEM;
	op->type = type;
	op->u.q.loop = loop;
	op->u.q.cb = cb;
	op->u.q.arg = arg;
	op->u.q.now_ms = clock_wall_ms();
	op->u.q.id = strdup(key);
	op->u.q.platform = strdup(platform);
	int err = op->u.q.id && op->u.q.platform ? 0 : -ENOMEM;
	if (!err && state) {
		op->u.q.subject = strdup(state);
		if (!op->u.q.subject)
			err = -ENOMEM;
	}
	if (!err)
		err = enqueue(s, op, key);
	if (err)
		op_free(op);
	return err;
}

int store_session_put(struct store *s, const char *platform, const char *key,
		      const char *state)
{
	return session_op(s, OP_SESS_PUT, platform, key, state, NULL, NULL,
			  NULL);
}

int store_session_del(struct store *s, const char *platform, const char *key)
{
	return session_op(s, OP_SESS_DEL, platform, key, NULL, NULL, NULL,
			  NULL);
}

int store_session_get(struct store *s, const char *platform, const char *key,
		      struct vg_loop *loop, store_json_fn *cb, void *arg)
{
	if (!loop || !cb)
		return -EINVAL;
	return session_op(s, OP_SESS_GET, platform, key, NULL, loop, cb, arg);
}
