/*
 * sqlite_int: what the SQLite backend's files share and nothing else sees.
 * The statement list lives here so sqlite.c (connections, transactions)
 * and sqlite_records.c, sqlite_sms.c, sqlite_flow.c and sqlite_form.c
 * (one function per store.h operation) agree on ids.
 */
#ifndef OPTD_SQLITE_INT_H
#define OPTD_SQLITE_INT_H

#include <sqlite3.h>

#include "store/store.h"
#include "store/store_int.h"

enum {
	Q_KEY_INSERT, Q_KEY_BY_HASH, Q_KEY_BY_NAME, Q_KEY_GET, Q_KEY_REVOKE,
	Q_KEY_LIST, Q_KEY_ORIGIN_KNOWN,
	Q_GROUP_INSERT, Q_GROUP_GET, Q_GROUP_UPDATE, Q_GROUP_LIST,
	Q_NUMBER_ADD, Q_NUMBERS_CLEAR, Q_NUMBER_OWNER, Q_GROUP_NUMBERS,
	Q_USER_GET, Q_USER_BY_EXT, Q_USERS_BY_PHONE, Q_USERS_BY_EMAIL,
	Q_USERS_BY_PHONE_IN,
	Q_USER_INSERT, Q_USER_UPDATE_CONTACT,
	Q_SUB_GET, Q_SUB_PUT, Q_USER_SUBS,
	Q_LEDGER_APPEND, Q_LEDGER_BY_PHONE, Q_LEDGER_BY_EMAIL, Q_LEDGER_BY_EXT,
	Q_GROUP_SMS_GET, Q_GROUP_SMS_SET, Q_INBOUND_INSERT, Q_INBOUND_GET,
	Q_INBOUND_LIST,
	Q_OUTBOX_INSERT, Q_OUTBOX_CLAIM, Q_OUTBOX_UPDATE, Q_OUTBOX_GET,
	Q_OUTBOX_BY_PROVIDER_ID, Q_OUTBOX_LIST, Q_OUTBOX_LIST_TO,
	Q_OUTBOX_NEXT_DUE, Q_DOI_GET, Q_DOI_PUT, Q_DOI_DELETE,
	Q_USER_ATTRS_GET, Q_USER_ATTRS_SET, Q_USER_BY_ALIAS, Q_ALIAS_ADD,
	Q_EVENT_INSERT, Q_EVENTS_BY_USER, Q_PURCHASE_INSERT, Q_IDEM_GET,
	Q_IDEM_PUT, Q_FLOW_INSERT, Q_FLOW_VERSION_ADD, Q_FLOW_BUMP, Q_FLOW_GET,
	Q_FLOW_DEF, Q_FLOW_SET_ENABLED, Q_FLOW_LIST, Q_FLOWS_FOR_EVENT,
	Q_FLOWS_FOR_GROUP, Q_RUN_INSERT, Q_RUN_CLAIM, Q_RUN_UPDATE, Q_RUN_GET,
	Q_RUNS_BY_FLOW, Q_RUN_NEXT_DUE, Q_RUN_LAST_ENTRY, Q_STEP_LOG_ADD, Q_STEP_LOGS,
	Q_FLOW_SAVEPOINT, Q_FLOW_RELEASE, Q_FLOW_ROLLBACK_TO,
	Q_TEXT_PUT, Q_TEXT_GET, Q_FORM_INSERT, Q_FORM_GROUP_ADD, Q_FORM_GET,
	Q_FORM_GROUPS, Q_FORM_LIST, Q_SECRET_PUT, Q_SECRET_GET,
	Q_FORM_SAVEPOINT, Q_FORM_RELEASE, Q_FORM_ROLLBACK_TO,
	Q_BEGIN, Q_COMMIT, Q_ROLLBACK, Q_SAVEPOINT, Q_RELEASE, Q_ROLLBACK_TO,
	Q_PING,
	Q__COUNT
};

/* A reset prepared statement for query q on the calling thread's conn. */
sqlite3_stmt *sqlt__stmt(store *st, int q, store_err *err);
/* Declare s as query q's statement, or return the error. */
#define Q_OR_FAIL(s, st, q)                  \
	store_err err_;                      \
	sqlite3_stmt *s = sqlt__stmt(st, q, &err_); \
	if (!s)                              \
		return err_
/* Reset s and map the step result rc to a store_err. */
store_err sqlt__finish(sqlite3_stmt *s, int rc);
store_err sqlt__step_done(sqlite3_stmt *s);
store_err sqlt__map_rc(sqlite3 *db, int rc);
void sqlt__bind_text(sqlite3_stmt *s, int i, const char *v);
void sqlt__col_copy(sqlite3_stmt *s, int i, char *dst, size_t cap);
/* Step s to its first row. STORE_OK leaves the row to read (then
 * sqlt__finish(s, SQLITE_ROW)); anything else has reset s already. */
store_err sqlt__first_row(sqlite3_stmt *s);
/* Run a write that must change a row: NOTFOUND when it changed none. */
store_err sqlt__change_one(sqlite3_stmt *s);
/* Run an insert; the new row's id into *id. */
store_err sqlt__insert_row(sqlite3_stmt *s, int64_t *id);
/* Run statement q, which returns no rows. */
store_err sqlt__exec(store *st, int q);
/* End a savepoint of a store operation: RELEASE (statement `release`)
 * when err is STORE_OK, else ROLLBACK TO (`rollback_to`) and RELEASE.
 * Returns err, or RELEASE's own error. */
store_err sqlt__sp_end(store *st, int release, int rollback_to,
		       store_err err);
/* The one value of statement q, a min() of milliseconds: NOTFOUND when
 * it is NULL (min() over no rows). */
store_err sqlt__min_of(store *st, int q, int64_t *out);
/* Column i of the current row as a malloc'd string ("" for NULL). */
store_err sqlt__col_dup(sqlite3_stmt *s, int i, char **out);
/* The first column of s's only row, malloc'd; NOTFOUND when no row. */
store_err sqlt__text_one(sqlite3_stmt *s, char **out);
/* The ids a claim statement (UPDATE ... RETURNING id) returns, sorted:
 * RETURNING has no order of its own. *ids is malloc'd. */
store_err sqlt__claimed_ids(sqlite3_stmt *s, int64_t **ids, size_t *n);

/* The backend's operations (sqlite.c, sqlite_records.c), one per entry
 * of STORE_OPS, collected into its table at the end of sqlite.c. */
#define SQLT_DECL(name, params, args) store_err sqlt_##name params;
STORE_OPS(SQLT_DECL)
#undef SQLT_DECL
void sqlt_thread_done(store *st);
void sqlt_rollback(store *st);
void sqlt_rollback_to(store *st);
uint64_t sqlt_tx_id(store *st);
/* The transaction wrote a group or its numbers: a new store_tx_id(). */
void sqlt__tx_changed(store *st);
/* At least `size` bytes that belong to the calling thread's connection
 * until its next call (a claim's rows: allocated once, not per claim, so
 * the pages stay mapped); NULL when out of memory. */
void *sqlt__scratch(store *st, size_t size);

/* sqlite_vfs.c: the VFS every connection opens with, see there. Register
 * once, before the first open; SQLITE_OK or SQLite's error. */
int sqlt_vfs_register(void);
/* Its name, or NULL (SQLite's default) when it is not registered. */
const char *sqlt_vfs_name(void);

/* sqlite_wal.c: the writer's connection, see there. */
typedef struct sqlt_wal sqlt_wal;
/* Starts the checkpointer; defer_sync: commits on attached connections
 * leave their fsync to sqlt_wal_sync(). NULL when out of resources. */
sqlt_wal *sqlt_wal_start(const char *db_path, int defer_sync);
/* Hands db's checkpoints to the checkpointer and, when deferring, its
 * fsyncs to the caller: returns 1 then, 0 if not, -1 on failure. */
int sqlt_wal_attach(sqlt_wal *w, sqlite3 *db);
/* Makes every commit so far durable; STORE_OK at once when not
 * deferring. Any thread, while others commit. NULL-safe. */
store_err sqlt_wal_sync(sqlt_wal *w);
/* After every attached connection is closed. NULL-safe. */
void sqlt_wal_stop(sqlt_wal *w);

#endif
