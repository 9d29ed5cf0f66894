/*
 * pg_int: what the PostgreSQL backend's files share and nothing else sees.
 * pg.c owns connections, the pipeline and transactions; pg_prefetch.c
 * the profiles fetched ahead; pg_records.c, pg_sms.c, pg_flow.c and
 * pg_form.c have one function per store.h operation and reach the
 * database only through the helpers declared here. The statement list
 * lives here so all of them agree on ids; every statement is prepared once
 * per connection, named "q<id>".
 */
#ifndef OPTD_PG_INT_H
#define OPTD_PG_INT_H

#include <libpq-fe.h>

#include "store/store.h"
#include "store/store_int.h"

#define PG_BULK_ROWS 32 /* rows of the largest bulk statement */
/* A bulk statement of every size from 2 to PG_BULK_ROWS rows: a batch's
 * rows of one kind go in one statement, whatever their number, since
 * each statement costs PostgreSQL an executor start and a bind. */
#define PG_BULK_SIZES (PG_BULK_ROWS - 1)

enum {
	P_KEY_INSERT, P_KEY_BY_HASH, P_KEY_BY_NAME, P_KEY_GET, P_KEY_REVOKE,
	P_KEY_LIST, P_KEY_ORIGIN_KNOWN,
	P_GROUP_INSERT, P_GROUP_GET, P_GROUP_UPDATE, P_GROUP_LIST,
	P_NUMBER_ADD, P_NUMBERS_CLEAR, P_NUMBER_OWNER, P_GROUP_NUMBERS,
	P_USER_GET, P_USER_BY_EXT, P_USERS_BY_PHONE, P_USERS_BY_EMAIL,
	P_USER_INSERT, P_USER_UPDATE_CONTACT,
	P_SUB_GET, P_SUB_PUT, P_USER_SUBS,
	P_LEDGER_APPEND, P_LEDGER_BY_PHONE, P_LEDGER_BY_EMAIL, P_LEDGER_BY_EXT,
	P_GROUP_SMS_GET, P_GROUP_SMS_SET, P_INBOUND_INSERT, P_INBOUND_GET,
	P_INBOUND_LIST,
	P_OUTBOX_INSERT, P_OUTBOX_CLAIM, P_OUTBOX_UPDATE, P_OUTBOX_GET,
	P_OUTBOX_BY_PROVIDER_ID, P_OUTBOX_LIST, P_OUTBOX_LIST_TO,
	P_OUTBOX_NEXT_DUE, P_DOI_GET, P_DOI_PUT, P_DOI_DELETE,
	P_USER_ATTRS_GET, P_USER_ATTRS_SET, P_USER_BY_ALIAS, P_ALIAS_ADD,
	P_EVENT_INSERT, P_EVENTS_BY_USER, P_PURCHASE_INSERT, P_IDEM_GET,
	P_IDEM_PUT, P_FLOW_INSERT, P_FLOW_NEW_VERSION, P_FLOW_GET, P_FLOW_DEF,
	P_FLOW_SET_ENABLED, P_FLOW_LIST, P_FLOWS_FOR_EVENT, P_FLOWS_FOR_GROUP,
	P_RUN_INSERT, P_RUN_INSERT_ONCE, P_RUN_CLAIM, P_RUN_UPDATE, P_RUN_GET,
	P_RUNS_BY_FLOW, P_RUN_NEXT_DUE, P_RUN_LAST_ENTRY, P_STEP_LOG_ADD, P_STEP_LOGS,
	P_TEXT_PUT, P_TEXT_GET, P_FORM_INSERT, P_FORM_GET, P_FORM_GROUPS,
	P_FORM_LIST, P_SECRET_PUT, P_SECRET_GET,
	P_BEGIN, P_COMMIT, P_ROLLBACK, P_SAVEPOINT, P_RELEASE, P_ROLLBACK_TO,
	P_PING,
	P_STMT_SAVEPOINT, P_STMT_RELEASE, P_STMT_ROLLBACK_TO,
	P_USER_IDS, P_USER_INSERT_ID,
	/* PG_BULK_SIZES statements of each kind, of 2, 3, ... PG_BULK_ROWS
	 * rows (pg.c's bulk_sql_init) */
	P_SUB_BULK, P_LEDGER_BULK = P_SUB_BULK + PG_BULK_SIZES,
	P_USER_BULK = P_LEDGER_BULK + PG_BULK_SIZES,
	P_PF_USERS = P_USER_BULK + PG_BULK_SIZES, /* pg_prefetch.c */
	P__COUNT
};

#define PG_PARAMS_MAX 20 /* parameters of the widest statement (17) */
#define PG_NUM_MAX 24    /* digits of an int64, sign and NUL */

/* Parameters of one statement, all sent as text. */
typedef struct {
	int n;
	const char *v[PG_PARAMS_MAX];
	char num[PG_PARAMS_MAX][PG_NUM_MAX];
} pg_args;

void pg__text(pg_args *a, const char *s);
void pg__int(pg_args *a, int64_t x);

/* Run statement q and wait for it: on STORE_OK *res holds its rows (the
 * caller PQclear()s it). Outside a transaction a statement that failed
 * because the connection was lost is retried once on a new connection. */
store_err pg__query(store *st, int q, const pg_args *a, PGresult **res);
/* A read of at most one row: NOTFOUND when it found none, else *r holds
 * the row (the caller PQclear()s it). */
store_err pg__one_row(store *st, int q, const pg_args *a, PGresult **r);
/* An INSERT ... ON CONFLICT DO NOTHING RETURNING id: the new id into *id,
 * CONFLICT when the statement gave no row. */
store_err pg__insert_id(store *st, int q, const pg_args *a, int64_t *id);
/* The same for a statement without rows; *changed (may be NULL) gets the
 * number of rows it changed. */
store_err pg__exec(store *st, int q, const pg_args *a, long *changed);
/* The first column of the only row of q, malloc'd; NOTFOUND: no row. */
store_err pg__text_one(store *st, int q, const pg_args *a, char **out);
/* The one value of q, a min() of milliseconds: NOTFOUND when it is NULL
 * (min() over no rows). */
store_err pg__min_of(store *st, int q, int64_t *out);
/* pg__exec for a write whose failure (a CONFLICT) the caller may survive
 * and go on in the same transaction, as SQLite allows: inside a
 * transaction it runs in a savepoint of its own, since a failed statement
 * otherwise aborts a PostgreSQL transaction. Not for the hot path (each
 * use costs a subtransaction). */
store_err pg__exec_guarded(store *st, int q, const pg_args *a);
/* Inside a transaction, send q and return without waiting: its error
 * surfaces at the next wait (store.h says where). Outside one, pg__exec. */
store_err pg__defer(store *st, int q, const pg_args *a);

/* Inside a transaction: a new users.id from this connection's block of
 * ids taken ahead from the table's sequence (PG_ID_BLOCK at a time, one
 * round trip per block), so that inserting a user can be deferred.
 * Returns 0 with *id set, or -1 when not in a transaction or on error
 * (*err says which; STORE_OK means "not in a transaction"). */
#define PG_ID_BLOCK 64
int pg__next_user_id(store *st, int64_t *id, store_err *err);

/*
 * Inside a transaction, subscription and ledger rows are not even sent
 * at once: they wait in the connection's buffer and go up to PG_BULK_ROWS
 * to a statement, which costs PostgreSQL far less than a statement per
 * row.
 * The buffer is sent before anything that could read those tables or
 * needs their errors (a subscription or ledger read, SAVEPOINT, RELEASE,
 * store_flush(), COMMIT) and dropped by ROLLBACK (TO). These return 1
 * when the row was taken (err set), 0 when not in a transaction.
 */
int pg__buffer_sub(store *st, int64_t user, const char *group,
		   consent_state state, consent_source src, int doi,
		   int64_t now_ms, store_err *err);
int pg__buffer_ledger(store *st, const store_ledger *e, store_err *err);
/*
 * New profiles wait in the same buffer (sent before their subscriptions,
 * which refer to them). Reads of users inside the transaction see them:
 * pg__buffered_user() finds one by id or external_id, and
 * pg__buffered_ids() adds those with a phone or e-mail to a result.
 */
int pg__buffer_user(store *st, store_user *u, store_err *err);
int pg__buffered_user(store *st, int64_t id, const char *ext,
		      store_user *out);
int pg__buffered_update(store *st, const store_user *u);
void pg__buffered_ids(store *st, int by_email, const char *v, int64_t *ids,
		      size_t max, size_t *n);

/*
 * Profiles announced and fetched ahead (pg_prefetch.c). pg__pf() is the
 * calling thread's set while it is inside a live transaction (made on
 * first use when `make`), else NULL; pg.c clears it when the transaction
 * ends or rolls back and frees it with the connection. The lookups return
 * 1 when they answered from it, 0 when the database must be asked; every
 * write that changes a profile or a subscription forgets what it changes.
 */
#define PG_PF_LIMIT STORE_PHONE_SHARE_MAX /* profiles fetched per key */
typedef struct pg_pf pg_pf;
pg_pf *pg__pf(store *st, int make);
pg_pf *pg__pf_new(void);
void pg__pf_clear(pg_pf *pf);
void pg__pf_free(pg_pf *pf);
void pg_want_user(store *st, store_by by, const char *value,
		  const char *group);
int pg__pf_by_ext(store *st, const char *ext, store_user *out,
		  store_err *err);
int pg__pf_ids(store *st, store_by by, const char *v, int64_t *ids,
	       size_t max, size_t *n);
int pg__pf_user(store *st, int64_t id, store_user *out);
int pg__pf_sub(store *st, int64_t user, const char *group,
	       consent_state *out, int64_t *since_ms);
/* id 0 and NULL contacts name nothing. */
void pg__pf_forget_user(store *st, int64_t id, const char *ext,
			const char *phone, const char *email);
void pg__pf_forget_sub(store *st, int64_t user, const char *group);

/* Inside a transaction: send q without waiting for it. */
store_err pg__send(store *st, int q, const pg_args *a);
/* Wait for every statement sent so far, as store_flush() does; fn sees
 * the answer of each of the last n sent that succeeded, numbered from 0
 * in the order sent (only when there was no error). */
typedef void (*pg_answer_fn)(void *ctx, int i, const PGresult *r);
store_err pg__wait_each(store *st, int n, pg_answer_fn fn, void *ctx);

int64_t pg__int64(const PGresult *r, int row, int col);
/* Row i of a result whose first columns are pg.c's USER_COLS. */
void pg__read_user(const PGresult *r, int i, store_user *u);
void pg__copy(const PGresult *r, int row, int col, char *dst, size_t cap);

/* A new connection of the process's own, outside the pool (libpq's
 * defaults, application_name `app`); NULL when none can be made. */
PGconn *pg__connect(store *st, const char *app);

/*
 * Live API keys kept in memory (pg_keys.c, which says when they are
 * trusted). find: 1 with *out filled when the cache has `hash`, else 0;
 * either way *gen is what to pass to keep() with the row the database
 * gives.
 */
typedef struct pg_keys pg_keys;
pg_keys *pg__keys_new(store *st);
void pg__keys_free(pg_keys *ks); /* NULL-safe; stops the listener */
pg_keys *pg__keys(store *st);
int pg__keys_find(pg_keys *ks, const char *hash, store_key *out,
		  uint64_t *gen);
void pg__keys_keep(pg_keys *ks, uint64_t gen, const store_key *k);
void pg__keys_forget(pg_keys *ks);
/* This thread changed api_keys: the cache is emptied now, or inside a
 * transaction once it commits. */
void pg__keys_changed(store *st);

uint64_t pg_tx_id(store *st);
/* The transaction wrote a group or its numbers: a new store_tx_id(). */
void pg__tx_changed(store *st);

/* The backend's operations, one per entry of STORE_OPS, collected into
 * its table at the end of pg.c. */
#define PG_DECL(name, params, args) store_err pg_##name params;
STORE_OPS(PG_DECL)
#undef PG_DECL

#endif
