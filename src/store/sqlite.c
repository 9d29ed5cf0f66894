/*
 * sqlite: the embedded backend of store.h (the default), reached through
 * the table at the end of this file, which store.c picks for any URL that
 * is not a PostgreSQL one.
 *
 * One sqlite3 connection per calling thread (a pthread key), each with its
 * own cache of prepared statements, all on one WAL database. WAL lets the
 * HTTP threads read while the writer commits; synchronous=FULL makes every
 * commit durable before store_commit() returns, which is what allows the
 * API to answer 2xx only after a change is on disk. The writer's own
 * connections are the exception (store_writer_setup(), sqlite_wal.c):
 * they leave the fsync to store_sync() on another thread.
 * Invariant: a statement is reset before its function returns, so no
 * statement holds a read transaction open between calls.
 */
#include "store/store.h"
#include "store/sqlite_int.h"
#include "store/store_int.h"
#include "store/sqlite_schema.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/str.h"

#include <pthread.h>
#include <stdio.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define SQLITE_BUSY_MS 10000 /* wait this long for a lock before UNAVAILABLE */
#define SQLT_CLAIM_IDS 64   /* claimed ids collected per allocation */


#define KEY_COLS "id, name, key_hash, scopes, rate_limit, created_ms, " \
		 "coalesce(revoked_ms, 0), sdk, origins"
#define USER_COLS "id, coalesce(external_id,''), coalesce(phone,''), " \
		  "phone_valid, coalesce(phone_type,''), coalesce(email,''), " \
		  "created_ms, updated_ms"
#define LEDGER_COLS "id, time_ms, user_id, coalesce(external_id,''), " \
		    "coalesce(phone,''), coalesce(email,''), group_id, " \
		    "old_state, new_state, source, coalesce(key_name,''), " \
		    "coalesce(request_id,''), coalesce(client_addr,''), " \
		    "coalesce(evidence,'')"
#define INBOUND_COLS "id, time_ms, provider, coalesce(provider_msg_id,''), " \
		     "from_addr, to_addr, coalesce(group_id,''), category, " \
		     "lang, keyword, action, body"
#define OUTBOX_COLS "id, dedupe, coalesce(group_id,''), to_addr, " \
		    "from_addr, kind, coalesce(inbound_id,0), state, " \
		    "provider, coalesce(provider_id,''), attempts, next_ms, " \
		    "error, encoding, segments, created_ms, updated_ms, body"

#define EVENT_COLS "id, user_id, name, time_ms, created_ms, props"
#define FLOW_COLS "id, name, version, enabled, coalesce(entry_event,''), " \
		  "coalesce(entry_group,''), created_ms, updated_ms"
#define RUN_COLS "id, flow_id, version, user_id, state, step, attempts, " \
		 "next_ms, created_ms, updated_ms, entry_props, event_props"
#define STEP_COLS "run_id, step, attempt, time_ms, outcome, http_status, " \
		  "detail"
#define FORM_COLS "id, title, coalesce(redirect_url,''), created_ms, " \
		  "updated_ms"

static const char *const sql_text[Q__COUNT] = {
	[Q_KEY_INSERT] = "INSERT INTO api_keys (name, key_hash, scopes, "
			 "rate_limit, created_ms, sdk, origins) "
			 "VALUES (?,?,?,?,?,?,?)",
	[Q_KEY_BY_HASH] = "SELECT " KEY_COLS " FROM api_keys "
			  "WHERE key_hash = ? AND revoked_ms IS NULL",
	[Q_KEY_BY_NAME] = "SELECT " KEY_COLS " FROM api_keys "
			  "WHERE name = ? AND revoked_ms IS NULL",
	[Q_KEY_GET] = "SELECT " KEY_COLS " FROM api_keys WHERE id = ?",
	[Q_KEY_REVOKE] = "UPDATE api_keys SET revoked_ms = ? "
			 "WHERE id = ? AND revoked_ms IS NULL",
	[Q_KEY_LIST] = "SELECT " KEY_COLS " FROM api_keys ORDER BY id",
	[Q_KEY_ORIGIN_KNOWN] = "SELECT 1 FROM api_keys WHERE sdk = 1 AND "
			       "revoked_ms IS NULL AND instr(' ' || origins "
			       "|| ' ', ' ' || ? || ' ') > 0 LIMIT 1",
	[Q_GROUP_INSERT] = "INSERT INTO subscription_groups (id, name, "
			   "channel, double_opt_in, created_ms, updated_ms) "
			   "VALUES (?,?,?,?,?,?)",
	[Q_GROUP_GET] = "SELECT id, name, channel, double_opt_in, created_ms, "
			"updated_ms FROM subscription_groups WHERE id = ?",
	[Q_GROUP_UPDATE] = "UPDATE subscription_groups SET name = ?, "
			   "double_opt_in = ?, updated_ms = ? WHERE id = ?",
	[Q_GROUP_LIST] = "SELECT id, name, channel, double_opt_in, "
			 "created_ms, updated_ms FROM subscription_groups "
			 "ORDER BY created_ms, id",
	[Q_NUMBER_ADD] = "INSERT INTO group_numbers (number, group_id) "
			 "VALUES (?,?)",
	[Q_NUMBERS_CLEAR] = "DELETE FROM group_numbers WHERE group_id = ?",
	[Q_NUMBER_OWNER] = "SELECT group_id FROM group_numbers "
			   "WHERE number = ?",
	[Q_GROUP_NUMBERS] = "SELECT number FROM group_numbers "
			    "WHERE group_id = ? ORDER BY number",
	[Q_USER_GET] = "SELECT " USER_COLS " FROM users WHERE id = ?",
	[Q_USER_BY_EXT] = "SELECT " USER_COLS " FROM users "
			  "WHERE external_id = ?",
	[Q_USERS_BY_PHONE] = "SELECT id FROM users WHERE phone = ? "
			     "ORDER BY id LIMIT ?",
	[Q_USERS_BY_EMAIL] = "SELECT id FROM users WHERE email = ? "
			     "ORDER BY id LIMIT ?",
	[Q_USERS_BY_PHONE_IN] = "SELECT " USER_COLS ", coalesce(s.state,"
				"'unknown') FROM users LEFT JOIN subscriptions "
				"s ON s.user_id = users.id AND s.group_id = ?2 "
				"WHERE phone = ?1 ORDER BY users.id LIMIT ?3",
	[Q_USER_INSERT] = "INSERT INTO users (external_id, phone, phone_valid, "
			  "phone_type, email, created_ms, updated_ms) "
			  "VALUES (nullif(?,''), nullif(?,''), ?, "
			  "nullif(?,''), nullif(?,''), ?, ?)",
	[Q_USER_UPDATE_CONTACT] = "UPDATE users SET phone = nullif(?,''), "
				  "phone_valid = ?, phone_type = nullif(?,''),"
				  " email = nullif(?,''), updated_ms = ? "
				  "WHERE id = ?",
	[Q_SUB_GET] = "SELECT state, since_ms FROM subscriptions "
		      "WHERE user_id = ? AND group_id = ?",
	[Q_SUB_PUT] = "INSERT INTO subscriptions (user_id, group_id, state, "
		      "source, double_opt_in, since_ms) VALUES (?,?,?,?,?,?) "
		      "ON CONFLICT (user_id, group_id) DO UPDATE SET "
		      "state = excluded.state, source = excluded.source, "
		      "double_opt_in = excluded.double_opt_in, "
		      "since_ms = excluded.since_ms",
	[Q_USER_SUBS] = "SELECT s.group_id, g.name, g.channel, s.state, "
			"s.since_ms FROM subscriptions s JOIN "
			"subscription_groups g ON g.id = s.group_id "
			"WHERE s.user_id = ? ORDER BY s.group_id",
	[Q_LEDGER_APPEND] = "INSERT INTO consent_ledger (time_ms, user_id, "
			    "external_id, phone, email, group_id, old_state, "
			    "new_state, source, key_name, request_id, "
			    "client_addr, evidence) VALUES (?, ?, "
			    "nullif(?,''), nullif(?,''), nullif(?,''), ?, ?, "
			    "?, ?, nullif(?,''), nullif(?,''), nullif(?,''), "
			    "nullif(?,''))",
	[Q_LEDGER_BY_PHONE] = "SELECT " LEDGER_COLS " FROM consent_ledger "
			      "WHERE phone = ? AND id > ? ORDER BY id LIMIT ?",
	[Q_LEDGER_BY_EMAIL] = "SELECT " LEDGER_COLS " FROM consent_ledger "
			      "WHERE email = ? AND id > ? ORDER BY id LIMIT ?",
	[Q_LEDGER_BY_EXT] = "SELECT " LEDGER_COLS " FROM consent_ledger "
			    "WHERE external_id = ? AND id > ? ORDER BY id "
			    "LIMIT ?",
	[Q_GROUP_SMS_GET] = "SELECT sms_config FROM subscription_groups "
			    "WHERE id = ?",
	[Q_GROUP_SMS_SET] = "UPDATE subscription_groups SET sms_config = ?, "
			    "updated_ms = ? WHERE id = ?",
	[Q_INBOUND_INSERT] = "INSERT INTO inbound (time_ms, provider, "
			     "provider_msg_id, from_addr, to_addr, group_id, "
			     "category, lang, keyword, action, body) VALUES "
			     "(?, ?, nullif(?,''), ?, ?, nullif(?,''), ?, ?, "
			     "?, ?, ?)",
	[Q_INBOUND_GET] = "SELECT " INBOUND_COLS " FROM inbound "
			  "WHERE provider = ? AND provider_msg_id = ?",
	[Q_INBOUND_LIST] = "SELECT " INBOUND_COLS " FROM inbound "
			   "WHERE id > ? ORDER BY id LIMIT ?",
	[Q_OUTBOX_INSERT] = "INSERT INTO outbox (dedupe, group_id, to_addr, "
			    "from_addr, kind, inbound_id, state, provider, "
			    "provider_id, attempts, next_ms, error, encoding, "
			    "segments, created_ms, updated_ms, body) VALUES "
			    "(?, nullif(?,''), ?, ?, ?, nullif(?,0), ?, ?, "
			    "nullif(?,''), ?, ?, ?, ?, ?, ?, ?, ?)",
	/* RETURNING hands the rows back in no particular order: they are
	 * sorted by id after. The whole row comes back, so a claim is one
	 * statement however many messages it takes. */
	/* Each state is read through its own index (outbox_queued,
	 * outbox_sending: next_ms of that state's rows alone), earliest
	 * due first: an IN over both states made SQLite read and sort every
	 * due row, so a claim cost as much as the whole backlog. */
	[Q_OUTBOX_CLAIM] = "UPDATE outbox SET state = 'sending', next_ms = ?2, "
			   "updated_ms = ?1, attempts = attempts + 1 WHERE id IN (SELECT id FROM ("
			   "SELECT * FROM (SELECT id, next_ms FROM outbox "
			   "WHERE state = 'queued' AND next_ms <= ?1 "
			   "ORDER BY next_ms LIMIT ?3) UNION ALL "
			   "SELECT * FROM (SELECT id, next_ms FROM outbox "
			   "WHERE state = 'sending' AND next_ms <= ?1 "
			   "ORDER BY next_ms LIMIT ?3)) "
			   "ORDER BY next_ms, id LIMIT ?3) RETURNING "
			   OUTBOX_COLS,
	[Q_OUTBOX_UPDATE] = "UPDATE outbox SET state = ?, provider = ?, "
			    "provider_id = nullif(?,''), attempts = ?, "
			    "next_ms = ?, error = ?, updated_ms = ? "
			    "WHERE id = ?",
	[Q_OUTBOX_GET] = "SELECT " OUTBOX_COLS " FROM outbox WHERE id = ?",
	[Q_OUTBOX_BY_PROVIDER_ID] = "SELECT " OUTBOX_COLS " FROM outbox "
				    "WHERE provider = ? AND provider_id = ? "
				    "ORDER BY id LIMIT 1",
	[Q_OUTBOX_LIST] = "SELECT " OUTBOX_COLS " FROM outbox WHERE id > ?1 "
			  "AND (?2 = '' OR state = ?2) ORDER BY id LIMIT ?3",
	[Q_OUTBOX_LIST_TO] = "SELECT " OUTBOX_COLS " FROM outbox "
			     "WHERE to_addr = ?4 AND id > ?1 "
			     "AND (?2 = '' OR state = ?2) ORDER BY id LIMIT ?3",
	[Q_OUTBOX_NEXT_DUE] = "SELECT min(next_ms) FROM outbox "
			      "WHERE state = 'queued'",
	[Q_DOI_GET] = "SELECT since_ms FROM doi_pending "
		      "WHERE phone = ? AND group_id = ?",
	[Q_DOI_PUT] = "INSERT INTO doi_pending (phone, group_id, since_ms) "
		      "VALUES (?,?,?) ON CONFLICT (phone, group_id) "
		      "DO UPDATE SET since_ms = excluded.since_ms",
	[Q_DOI_DELETE] = "DELETE FROM doi_pending "
			 "WHERE phone = ? AND group_id = ?",
	[Q_USER_ATTRS_GET] = "SELECT attributes FROM users WHERE id = ?",
	[Q_USER_ATTRS_SET] = "UPDATE users SET attributes = ?, updated_ms = ? "
			     "WHERE id = ?",
	[Q_USER_BY_ALIAS] = "SELECT " USER_COLS " FROM users WHERE id = "
			    "(SELECT user_id FROM user_aliases "
			    "WHERE label = ? AND name = ?)",
	/* The holder adding it again changes nothing and is no error. */
	[Q_ALIAS_ADD] = "INSERT INTO user_aliases (label, name, user_id) "
			"VALUES (?,?,?) ON CONFLICT (label, name) DO UPDATE "
			"SET user_id = excluded.user_id "
			"WHERE user_id = excluded.user_id",
	[Q_EVENT_INSERT] = "INSERT INTO events (user_id, name, time_ms, "
			   "created_ms, props) VALUES (?, ?, ?, ?, "
			   "coalesce(nullif(?,''),'{}'))",
	[Q_EVENTS_BY_USER] = "SELECT " EVENT_COLS " FROM events "
			     "WHERE user_id = ? ORDER BY id DESC LIMIT ?",
	[Q_PURCHASE_INSERT] = "INSERT INTO purchases (user_id, product_id, "
			      "currency, price, quantity, time_ms, props) "
			      "VALUES (?, ?, ?, ?, ?, ?, "
			      "coalesce(nullif(?,''),'{}'))",
	[Q_IDEM_GET] = "SELECT status, body FROM idempotency "
		       "WHERE route = ? AND key = ?",
	[Q_IDEM_PUT] = "INSERT INTO idempotency (route, key, status, body, "
		       "created_ms) VALUES (?,?,?,?,?)",
	[Q_FLOW_INSERT] = "INSERT INTO flows (id, name, version, enabled, "
			  "entry_event, entry_group, created_ms, updated_ms) "
			  "VALUES (?, ?, 1, ?, nullif(?,''), nullif(?,''), "
			  "?, ?)",
	[Q_FLOW_VERSION_ADD] = "INSERT INTO flow_versions (flow_id, version, "
			       "def, created_ms) VALUES (?,?,?,?)",
	[Q_FLOW_BUMP] = "UPDATE flows SET version = version + 1, name = ?, "
			"entry_event = nullif(?,''), "
			"entry_group = nullif(?,''), updated_ms = ? "
			"WHERE id = ? RETURNING version",
	[Q_FLOW_GET] = "SELECT " FLOW_COLS " FROM flows WHERE id = ?",
	[Q_FLOW_DEF] = "SELECT def FROM flow_versions "
		       "WHERE flow_id = ? AND version = ?",
	[Q_FLOW_SET_ENABLED] = "UPDATE flows SET enabled = ?, updated_ms = ? "
			       "WHERE id = ?",
	[Q_FLOW_LIST] = "SELECT " FLOW_COLS " FROM flows ORDER BY id",
	[Q_FLOWS_FOR_EVENT] = "SELECT " FLOW_COLS " FROM flows WHERE "
			      "entry_event = ? AND enabled = 1 ORDER BY id",
	[Q_FLOWS_FOR_GROUP] = "SELECT " FLOW_COLS " FROM flows WHERE "
			      "entry_group = ? AND enabled = 1 ORDER BY id",
	/* ?12 = once: then no row is made when the user has a run of the
	 * flow; being one statement under the only write lock, nothing can
	 * come in between the look and the insert. */
	[Q_RUN_INSERT] = "INSERT INTO flow_runs (flow_id, version, user_id, "
			 "state, step, attempts, next_ms, created_ms, "
			 "updated_ms, entry_props, event_props) SELECT ?1, ?2, "
			 "?3, ?4, ?5, ?6, ?7, ?8, ?9, "
			 "coalesce(nullif(?10,''),'{}'), nullif(?11,'') "
			 "WHERE ?12 = 0 OR NOT EXISTS (SELECT 1 FROM flow_runs "
			 "WHERE flow_id = ?1 AND user_id = ?3)",
	/* As Q_OUTBOX_CLAIM. */
	[Q_RUN_CLAIM] = "UPDATE flow_runs SET state = 'running', next_ms = ?2, "
			"updated_ms = ?1 WHERE id IN (SELECT id FROM ("
			"SELECT * FROM (SELECT id, next_ms FROM flow_runs "
			"WHERE state = 'active' AND next_ms <= ?1 "
			"ORDER BY next_ms LIMIT ?3) UNION ALL "
			"SELECT * FROM (SELECT id, next_ms FROM flow_runs "
			"WHERE state = 'running' AND next_ms <= ?1 "
			"ORDER BY next_ms LIMIT ?3)) "
			"ORDER BY next_ms, id LIMIT ?3) RETURNING id",
	[Q_RUN_UPDATE] = "UPDATE flow_runs SET state = ?, step = ?, "
			 "attempts = ?, next_ms = ?, updated_ms = ? "
			 "WHERE id = ?",
	[Q_RUN_GET] = "SELECT " RUN_COLS " FROM flow_runs WHERE id = ?",
	[Q_RUNS_BY_FLOW] = "SELECT " RUN_COLS " FROM flow_runs "
			   "WHERE flow_id = ? ORDER BY id DESC LIMIT ?",
	[Q_RUN_NEXT_DUE] = "SELECT min(next_ms) FROM flow_runs "
			   "WHERE state = 'active'",
	[Q_RUN_LAST_ENTRY] = "SELECT max(created_ms) FROM flow_runs "
			     "WHERE flow_id = ? AND user_id = ?",
	[Q_STEP_LOG_ADD] = "INSERT INTO step_logs (run_id, step, attempt, "
			   "time_ms, outcome, http_status, detail) "
			   "VALUES (?,?,?,?,?,?,?)",
	[Q_STEP_LOGS] = "SELECT " STEP_COLS " FROM step_logs "
			"WHERE run_id = ? ORDER BY id",
	/* A flow and its version are written together or not at all, in a
	 * transaction of the caller's or not. */
	[Q_FLOW_SAVEPOINT] = "SAVEPOINT flow",
	[Q_FLOW_RELEASE] = "RELEASE flow",
	[Q_FLOW_ROLLBACK_TO] = "ROLLBACK TO flow",
	[Q_TEXT_PUT] = "INSERT INTO consent_texts (sha256, text, created_ms) "
		       "VALUES (?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
	[Q_TEXT_GET] = "SELECT text FROM consent_texts WHERE sha256 = ?",
	[Q_FORM_INSERT] = "INSERT INTO forms (id, title, redirect_url, "
			  "created_ms, updated_ms) "
			  "VALUES (?, ?, nullif(?,''), ?, ?)",
	[Q_FORM_GROUP_ADD] = "INSERT INTO form_groups (form_id, pos, "
			     "group_id, consent_sha256) VALUES (?, ?, ?, ?)",
	[Q_FORM_GET] = "SELECT " FORM_COLS " FROM forms WHERE id = ?",
	[Q_FORM_GROUPS] = "SELECT group_id, consent_sha256 FROM form_groups "
			  "WHERE form_id = ? ORDER BY pos",
	[Q_FORM_LIST] = "SELECT " FORM_COLS " FROM forms ORDER BY id",
	[Q_SECRET_PUT] = "INSERT INTO secrets (name, value, created_ms) "
			 "VALUES (?, ?, "
			 "CAST(strftime('%s','now') AS INTEGER) * 1000) "
			 "ON CONFLICT (name) DO NOTHING",
	[Q_SECRET_GET] = "SELECT value FROM secrets WHERE name = ?",
	[Q_FORM_SAVEPOINT] = "SAVEPOINT form",
	[Q_FORM_RELEASE] = "RELEASE form",
	[Q_FORM_ROLLBACK_TO] = "ROLLBACK TO form",
	/* IMMEDIATE: take the write lock now rather than fail mid-batch. */
	[Q_BEGIN] = "BEGIN IMMEDIATE",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
	[Q_SAVEPOINT] = "SAVEPOINT req",
	[Q_RELEASE] = "RELEASE req",
	[Q_ROLLBACK_TO] = "ROLLBACK TO req",
	[Q_PING] = "SELECT count(*) FROM schema_migrations",
};

typedef struct conn {
	sqlite3 *db;
	uint64_t tx_id; /* store_tx_id() while a transaction is open */
	void *scratch;  /* sqlt__scratch() */
	size_t scratch_cap;
	sqlite3_stmt *stmt[Q__COUNT];
	struct conn *next;
} conn;

typedef struct sqlt_store {
	store base; /* first: store.c sees only this */
	char path[STORE_URL_MAX];
	store_durability dur;
	pthread_key_t tls;
	pthread_mutex_t mu; /* guards conns and wal */
	conn *conns;
	sqlt_wal *wal; /* the writers' checkpoints and fsyncs, once asked */
} sqlt_store;

#define SQ(st) ((sqlt_store *)(st))

static void sqlt_close(store *base);
static const store_vt sqlt_vt;

store_err sqlt__map_rc(sqlite3 *db, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return STORE_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return STORE_UNAVAILABLE;
	case SQLITE_NOMEM:
		return STORE_NOMEM;
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_UNIQUE ||
		    rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			return STORE_CONFLICT;
		return STORE_INVALID;
	default:
		log_error("sqlite: %s (%d)", db ? sqlite3_errmsg(db) : "?", rc);
		return STORE_IO;
	}
}

static void conn_free(conn *c)
{
	if (!c)
		return;
	for (int i = 0; i < Q__COUNT; i++)
		sqlite3_finalize(c->stmt[i]);
	sqlite3_close(c->db);
	free(c->scratch);
	free(c);
}

static store_err conn_open(sqlt_store *st, conn **out)
{
	conn *c = calloc(1, sizeof *c);
	char pragmas[256];
	store_err err = STORE_NOMEM;
	int rc;

	*out = NULL;
	if (!c)
		goto out;
	rc = sqlite3_open_v2(st->path, &c->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOMUTEX,
			     sqlt_vfs_name());
	if (rc != SQLITE_OK) {
		err = sqlt__map_rc(c->db, rc);
		goto out;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, SQLITE_BUSY_MS);
	snprintf(pragmas, sizeof pragmas,
		 "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; "
		 "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;",
		 st->dur == STORE_DURABLE_FULL ? "FULL" : "NORMAL");
	rc = sqlite3_exec(c->db, pragmas, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		err = sqlt__map_rc(c->db, rc);
		goto out;
	}
	*out = c;
	c = NULL;
	err = STORE_OK;
out:
	conn_free(c);
	return err;
}

static void conn_unlink(sqlt_store *st, conn *c)
{
	pthread_mutex_lock(&st->mu);
	for (conn **p = &st->conns; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	pthread_mutex_unlock(&st->mu);
}

/* The calling thread's connection, opened on first use. */
static conn *conn_get(sqlt_store *st, store_err *err)
{
	conn *c = pthread_getspecific(st->tls);

	*err = STORE_OK;
	if (c)
		return c;
	*err = conn_open(st, &c);
	if (*err)
		return NULL;
	pthread_mutex_lock(&st->mu);
	c->next = st->conns;
	st->conns = c;
	pthread_mutex_unlock(&st->mu);
	pthread_setspecific(st->tls, c);
	return c;
}

void sqlt_thread_done(store *base)
{
	sqlt_store *st = SQ(base);
	conn *c = pthread_getspecific(st->tls);

	if (!c)
		return;
	pthread_setspecific(st->tls, NULL);
	conn_unlink(st, c);
	conn_free(c);
}

/* A reset prepared statement for query q on this thread's connection. */
sqlite3_stmt *sqlt__stmt(store *st, int q, store_err *err)
{
	conn *c = conn_get(SQ(st), err);
	int rc;

	if (!c)
		return NULL;
	if (!c->stmt[q]) {
		rc = sqlite3_prepare_v3(c->db, sql_text[q], -1,
					SQLITE_PREPARE_PERSISTENT, &c->stmt[q],
					NULL);
		if (rc != SQLITE_OK) {
			*err = sqlt__map_rc(c->db, rc);
			return NULL;
		}
	}
	return c->stmt[q];
}

store_err sqlt__finish(sqlite3_stmt *s, int rc)
{
	store_err err = sqlt__map_rc(sqlite3_db_handle(s), rc);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return err;
}

/* Run a statement that returns no rows. */
store_err sqlt__step_done(sqlite3_stmt *s)
{
	return sqlt__finish(s, sqlite3_step(s));
}

void sqlt__bind_text(sqlite3_stmt *s, int i, const char *v)
{
	sqlite3_bind_text(s, i, v ? v : "", -1, SQLITE_STATIC);
}

void sqlt__col_copy(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
	const unsigned char *v = sqlite3_column_text(s, i);

	str_copy(dst, cap, (const char *)v);
}

store_err sqlt__first_row(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return STORE_OK;
	if (rc == SQLITE_DONE) {
		sqlt__finish(s, rc);
		return STORE_NOTFOUND;
	}
	return sqlt__finish(s, rc);
}

store_err sqlt__change_one(sqlite3_stmt *s)
{
	sqlite3 *db = sqlite3_db_handle(s);
	store_err err = sqlt__step_done(s);

	if (!err && sqlite3_changes(db) == 0)
		err = STORE_NOTFOUND;
	return err;
}

store_err sqlt__insert_row(sqlite3_stmt *s, int64_t *id)
{
	sqlite3 *db = sqlite3_db_handle(s);
	store_err err = sqlt__step_done(s);

	if (!err)
		*id = sqlite3_last_insert_rowid(db);
	return err;
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

store_err sqlt__claimed_ids(sqlite3_stmt *s, int64_t **ids, size_t *n)
{
	size_t cap = 0;
	int64_t *grown;
	int rc;

	*ids = NULL;
	*n = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			cap += SQLT_CLAIM_IDS;
			grown = realloc(*ids, cap * sizeof **ids);
			if (!grown) {
				sqlt__finish(s, SQLITE_DONE);
				return STORE_NOMEM;
			}
			*ids = grown;
		}
		(*ids)[(*n)++] = sqlite3_column_int64(s, 0);
	}
	if (*n > 1)
		qsort(*ids, *n, sizeof **ids, cmp_id);
	return sqlt__finish(s, rc);
}

store_err sqlt__min_of(store *st, int q, int64_t *out)
{
	Q_OR_FAIL(s, st, q);
	store_err err = sqlt__first_row(s);

	if (err)
		return err;
	/* min() over no rows is one NULL row. */
	if (sqlite3_column_type(s, 0) == SQLITE_NULL) {
		sqlt__finish(s, SQLITE_ROW);
		return STORE_NOTFOUND;
	}
	*out = sqlite3_column_int64(s, 0);
	return sqlt__finish(s, SQLITE_ROW);
}

store_err sqlt__col_dup(sqlite3_stmt *s, int i, char **out)
{
	const unsigned char *v = sqlite3_column_text(s, i);

	*out = strdup(v ? (const char *)v : "");
	return *out ? STORE_OK : STORE_NOMEM;
}

store_err sqlt__sp_end(store *st, int release, int rollback_to,
		       store_err err)
{
	if (!err && !(err = sqlt__exec(st, release)))
		return STORE_OK;
	(void)sqlt__exec(st, rollback_to);
	(void)sqlt__exec(st, release);
	return err;
}

store_err sqlt__text_one(sqlite3_stmt *s, char **out)
{
	store_err err = sqlt__first_row(s);

	*out = NULL;
	if (err)
		return err;
	err = sqlt__col_dup(s, 0, out);
	sqlt__finish(s, SQLITE_ROW);
	return err;
}

/* Migrations run with foreign keys off, since a table others refer to
 * can only be changed by copying, dropping and renaming it, which the
 * checks would refuse midway; the references are checked as a whole
 * before each commits instead: 1 when none is broken. */
static int references_hold(sqlite3 *db)
{
	sqlite3_stmt *s = NULL;
	int ok;

	ok = sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &s,
				NULL) == SQLITE_OK &&
	     sqlite3_step(s) == SQLITE_DONE;
	sqlite3_finalize(s);
	return ok;
}

static store_err db_err(conn *c)
{
	store_err err = sqlt__map_rc(c->db, sqlite3_errcode(c->db));

	return err ? err : STORE_IO;
}

/* One migration in its own transaction, unless it is recorded already. */
static store_err migrate_one(conn *c, const sqlite_migration *m)
{
	char sql[128];
	sqlite3_stmt *q = NULL;
	store_err err = STORE_OK;
	int done;

	if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", 0, 0, 0) != SQLITE_OK)
		return db_err(c);
	snprintf(sql, sizeof sql,
		 "SELECT 1 FROM schema_migrations WHERE version = %d",
		 m->version);
	sqlite3_prepare_v2(c->db, sql, -1, &q, NULL);
	done = q && sqlite3_step(q) == SQLITE_ROW;
	sqlite3_finalize(q);
	if (done)
		goto out;
	snprintf(sql, sizeof sql,
		 "INSERT INTO schema_migrations VALUES (%d, '%s', %lld)",
		 m->version, m->name, (long long)clock_now_ms());
	if (sqlite3_exec(c->db, m->sql, 0, 0, 0) != SQLITE_OK ||
	    sqlite3_exec(c->db, sql, 0, 0, 0) != SQLITE_OK) {
		err = db_err(c);
		goto out;
	}
	if (!references_hold(c->db)) {
		log_error("migration %d (%s): a reference no longer holds",
			  m->version, m->name);
		err = STORE_IO;
		goto out;
	}
	log_info("applied migration %d (%s)", m->version, m->name);
out:
	if (err)
		sqlite3_exec(c->db, "ROLLBACK", 0, 0, 0);
	else if (sqlite3_exec(c->db, "COMMIT", 0, 0, 0) != SQLITE_OK)
		err = db_err(c);
	return err;
}

static store_err migrate(sqlt_store *st)
{
	store_err err;
	conn *c = conn_get(st, &err);

	if (!c)
		return err;
	if (sqlite3_exec(c->db,
			 "CREATE TABLE IF NOT EXISTS schema_migrations ("
			 " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
			 " applied_ms INTEGER NOT NULL)",
			 NULL, NULL, NULL) != SQLITE_OK)
		return db_err(c);
	/* The setting takes only outside a transaction. */
	if (sqlite3_exec(c->db, "PRAGMA foreign_keys=OFF", 0, 0, 0) !=
	    SQLITE_OK)
		return db_err(c);
	err = STORE_OK;
	for (size_t i = 0; i < SQLITE_MIGRATIONS_COUNT && !err; i++)
		err = migrate_one(c, &sqlite_migrations[i]);
	if (sqlite3_exec(c->db, "PRAGMA foreign_keys=ON", 0, 0, 0) !=
	    SQLITE_OK && !err)
		err = db_err(c);
	return err;
}

static void tls_free(void *p)
{
	/* The thread ended without store_thread_done(); its conn stays listed
	 * and is closed by store_close(). */
	(void)p;
}

/* SQLite counts every allocation under one process-wide mutex unless
 * told not to, and optd reads none of those counts: the writer, the
 * checkpointer and the request threads would take turns on it for
 * nothing. The setting only takes before SQLite's first use. */
static pthread_once_t sqlt_config_once = PTHREAD_ONCE_INIT;

static void sqlt_config(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	/* Without it, SQLite's own VFS: slower, as correct. */
	if (sqlt_vfs_register() != SQLITE_OK)
		log_warn("sqlite: WAL write gathering unavailable");
}

store_err sqlt_open(const char *url, const store_opts *o, store **out)
{
	sqlt_store *st = NULL;
	store_err err = STORE_NOMEM;

	*out = NULL;
	if (!*url || strlen(url) >= STORE_URL_MAX)
		return STORE_INVALID;
	pthread_once(&sqlt_config_once, sqlt_config);
	st = calloc(1, sizeof *st);
	if (!st)
		goto out;
	str_copy(st->path, sizeof st->path, url);
	st->base.vt = &sqlt_vt;
	st->dur = o->dur;
	pthread_mutex_init(&st->mu, NULL);
	if (pthread_key_create(&st->tls, tls_free) != 0) {
		pthread_mutex_destroy(&st->mu);
		free(st);
		st = NULL;
		goto out;
	}
	err = migrate(st);
	if (err)
		goto out;
	*out = &st->base;
	st = NULL;
out:
	if (st)
		sqlt_close(&st->base);
	return err;
}

static void sqlt_close(store *base)
{
	sqlt_store *st = SQ(base);

	pthread_mutex_lock(&st->mu);
	while (st->conns) {
		conn *c = st->conns;
		st->conns = c->next;
		conn_free(c);
	}
	pthread_mutex_unlock(&st->mu);
	sqlt_wal_stop(st->wal);
	pthread_setspecific(st->tls, NULL);
	pthread_key_delete(st->tls);
	pthread_mutex_destroy(&st->mu);
	free(st);
}

store_err sqlt__exec(store *st, int q)
{
	store_err err;
	sqlite3_stmt *s = sqlt__stmt(st, q, &err);

	return s ? sqlt__step_done(s) : err;
}

store_err sqlt_ping(store *st)
{
	store_err err;
	sqlite3_stmt *s = sqlt__stmt(st, Q_PING, &err);

	if (!s)
		return err;
	return sqlt__finish(s, sqlite3_step(s));
}

void *sqlt__scratch(store *st, size_t size)
{
	conn *c = pthread_getspecific(SQ(st)->tls);
	void *grown;

	if (!c)
		return NULL;
	if (size > c->scratch_cap) {
		grown = realloc(c->scratch, size);
		if (!grown)
			return NULL;
		c->scratch = grown;
		c->scratch_cap = size;
	}
	return c->scratch;
}

void sqlt__tx_changed(store *st)
{
	conn *c = pthread_getspecific(SQ(st)->tls);

	if (c)
		c->tx_id = store__tx_next();
}

uint64_t sqlt_tx_id(store *st)
{
	conn *c = pthread_getspecific(SQ(st)->tls);

	return c && !sqlite3_get_autocommit(c->db) ? c->tx_id : 0;
}

store_err sqlt_begin(store *st)
{
	store_err err = sqlt__exec(st, Q_BEGIN);

	sqlt__tx_changed(st);
	return err;
}
store_err sqlt_commit(store *st) { return sqlt__exec(st, Q_COMMIT); }
void sqlt_rollback(store *st) { (void)sqlt__exec(st, Q_ROLLBACK); }
store_err sqlt_savepoint(store *st) { return sqlt__exec(st, Q_SAVEPOINT); }
store_err sqlt_release(store *st) { return sqlt__exec(st, Q_RELEASE); }
void sqlt_rollback_to(store *st)
{
	/* ROLLBACK TO keeps the savepoint open; release it too. */
	(void)sqlt__exec(st, Q_ROLLBACK_TO);
	(void)sqlt__exec(st, Q_RELEASE);
	sqlt__tx_changed(st);
}

/* Nothing is ever deferred: every statement has finished when its
 * function returns. */
store_err sqlt_flush(store *st)
{
	(void)st;
	return STORE_OK;
}

/* Every read is a call into the library, cheap enough one at a time. */
store_err sqlt_prefetch(store *st)
{
	(void)st;
	return STORE_OK;
}

/* Only a database file in WAL mode has a WAL to fsync apart. */
static int in_wal_mode(sqlite3 *db)
{
	sqlite3_stmt *s = NULL;
	int wal = 0;

	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL) ==
	    SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		wal = sqlite3_stricmp((const char *)sqlite3_column_text(s, 0),
				      "wal") == 0;
	sqlite3_finalize(s);
	return wal;
}

static int sqlt_writer_setup(store *base)
{
	sqlt_store *st = SQ(base);
	store_err err;
	conn *c = conn_get(st, &err);
	int r = -1;

	if (!c || !in_wal_mode(c->db))
		return c ? 0 : -1;
	pthread_mutex_lock(&st->mu);
	if (!st->wal)
		st->wal = sqlt_wal_start(st->path,
					 st->dur == STORE_DURABLE_FULL);
	if (st->wal)
		r = sqlt_wal_attach(st->wal, c->db);
	pthread_mutex_unlock(&st->mu);
	return r;
}

static store_err sqlt_sync(store *base)
{
	return sqlt_wal_sync(SQ(base)->wal);
}

#define SQLT_VT_INIT(name, params, args) .name = sqlt_##name,
static const store_vt sqlt_vt = {
	.name = "sqlite",
	.close = sqlt_close,
	.thread_done = sqlt_thread_done,
	.rollback = sqlt_rollback,
	.rollback_to = sqlt_rollback_to,
	.tx_id = sqlt_tx_id,
	.writer_setup = sqlt_writer_setup,
	.sync = sqlt_sync,
	STORE_OPS(SQLT_VT_INIT)
};
