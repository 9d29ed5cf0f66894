/*
 * sqlite_records: the record operations of store.h on SQLite, one function
 * per operation, each a bind-step-read over a cached statement. Rows are
 * copied into the caller's fixed-size structs; text longer than a field
 * cannot occur because every field's limit is enforced before insertion.
 */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- keys ---- */

static void read_key(sqlite3_stmt *s, store_key *k)
{
	memset(k, 0, sizeof *k);
	k->id = sqlite3_column_int64(s, 0);
	sqlt__col_copy(s, 1, k->name, sizeof k->name);
	sqlt__col_copy(s, 2, k->hash, sizeof k->hash);
	k->scopes = (uint32_t)sqlite3_column_int64(s, 3);
	k->rate_limit = (uint32_t)sqlite3_column_int64(s, 4);
	k->created_ms = sqlite3_column_int64(s, 5);
	k->revoked_ms = sqlite3_column_int64(s, 6);
	k->sdk = sqlite3_column_int(s, 7) != 0;
	sqlt__col_copy(s, 8, k->origins, sizeof k->origins);
}

store_err sqlt_key_insert(store *st, store_key *k)
{
	Q_OR_FAIL(s, st, Q_KEY_INSERT);
	store_err err;

	sqlt__bind_text(s, 1, k->name);
	sqlt__bind_text(s, 2, k->hash);
	sqlite3_bind_int64(s, 3, k->scopes);
	sqlite3_bind_int64(s, 4, k->rate_limit);
	sqlite3_bind_int64(s, 5, k->created_ms);
	sqlite3_bind_int(s, 6, k->sdk != 0);
	sqlt__bind_text(s, 7, k->origins);
	err = sqlt__step_done(s);
	if (!err)
		k->id = sqlite3_last_insert_rowid(sqlite3_db_handle(s));
	return err;
}

static store_err key_one(sqlite3_stmt *s, store_key *out)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		read_key(s, out);
	if (rc == SQLITE_DONE) {
		sqlt__finish(s, rc);
		return STORE_NOTFOUND;
	}
	return sqlt__finish(s, rc);
}

store_err sqlt_key_by_hash(store *st, const char *hash, store_key *out)
{
	Q_OR_FAIL(s, st, Q_KEY_BY_HASH);
	sqlt__bind_text(s, 1, hash);
	return key_one(s, out);
}

store_err sqlt_key_by_name(store *st, const char *name, store_key *out)
{
	Q_OR_FAIL(s, st, Q_KEY_BY_NAME);
	sqlt__bind_text(s, 1, name);
	return key_one(s, out);
}

store_err sqlt_key_get(store *st, int64_t id, store_key *out)
{
	Q_OR_FAIL(s, st, Q_KEY_GET);
	sqlite3_bind_int64(s, 1, id);
	return key_one(s, out);
}

store_err sqlt_key_revoke(store *st, int64_t id, int64_t now_ms)
{
	Q_OR_FAIL(s, st, Q_KEY_REVOKE);
	store_err err;

	sqlite3_bind_int64(s, 1, now_ms);
	sqlite3_bind_int64(s, 2, id);
	err = sqlt__step_done(s);
	if (!err && sqlite3_changes(sqlite3_db_handle(s)) == 0)
		err = STORE_NOTFOUND;
	return err;
}

store_err sqlt_key_list(store *st, store_key_cb cb, void *ctx)
{
	Q_OR_FAIL(s, st, Q_KEY_LIST);
	store_key k;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		read_key(s, &k);
		if (cb(ctx, &k))
			break;
	}
	return sqlt__finish(s, rc == SQLITE_ROW ? SQLITE_DONE : rc);
}

store_err sqlt_key_origin_known(store *st, const char *origin)
{
	Q_OR_FAIL(s, st, Q_KEY_ORIGIN_KNOWN);
	store_err err;

	if (!*origin || strchr(origin, ' ')) /* the list's separator */
		return STORE_NOTFOUND;
	sqlt__bind_text(s, 1, origin);
	err = sqlt__first_row(s);
	if (!err)
		sqlt__finish(s, SQLITE_ROW);
	return err;
}

/* ---- groups and numbers ---- */

static void read_group(sqlite3_stmt *s, store_group *g)
{
	memset(g, 0, sizeof *g);
	sqlt__col_copy(s, 0, g->id, sizeof g->id);
	sqlt__col_copy(s, 1, g->name, sizeof g->name);
	g->channel = strcmp((const char *)sqlite3_column_text(s, 2), "email")
			     ? CHANNEL_SMS
			     : CHANNEL_EMAIL;
	g->double_opt_in = sqlite3_column_int(s, 3);
	g->created_ms = sqlite3_column_int64(s, 4);
	g->updated_ms = sqlite3_column_int64(s, 5);
}

store_err sqlt_group_insert(store *st, const store_group *g)
{
	Q_OR_FAIL(s, st, Q_GROUP_INSERT);
	sqlt__tx_changed(st);
	sqlt__bind_text(s, 1, g->id);
	sqlt__bind_text(s, 2, g->name);
	sqlt__bind_text(s, 3, consent_channel_name(g->channel));
	sqlite3_bind_int(s, 4, g->double_opt_in);
	sqlite3_bind_int64(s, 5, g->created_ms);
	sqlite3_bind_int64(s, 6, g->updated_ms);
	return sqlt__step_done(s);
}

store_err sqlt_group_get(store *st, const char *id, store_group *out)
{
	Q_OR_FAIL(s, st, Q_GROUP_GET);
	int rc;

	sqlt__bind_text(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		read_group(s, out);
	if (rc == SQLITE_DONE) {
		sqlt__finish(s, rc);
		return STORE_NOTFOUND;
	}
	return sqlt__finish(s, rc);
}

store_err sqlt_group_update(store *st, const store_group *g)
{
	Q_OR_FAIL(s, st, Q_GROUP_UPDATE);
	store_err err;

	sqlt__tx_changed(st);
	sqlt__bind_text(s, 1, g->name);
	sqlite3_bind_int(s, 2, g->double_opt_in);
	sqlite3_bind_int64(s, 3, g->updated_ms);
	sqlt__bind_text(s, 4, g->id);
	err = sqlt__step_done(s);
	if (!err && sqlite3_changes(sqlite3_db_handle(s)) == 0)
		err = STORE_NOTFOUND;
	return err;
}

store_err sqlt_group_list(store *st, store_group_cb cb, void *ctx)
{
	Q_OR_FAIL(s, st, Q_GROUP_LIST);
	store_group g;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		read_group(s, &g);
		if (cb(ctx, &g))
			break;
	}
	return sqlt__finish(s, rc == SQLITE_ROW ? SQLITE_DONE : rc);
}

store_err sqlt_number_add(store *st, const char *number, const char *group)
{
	Q_OR_FAIL(s, st, Q_NUMBER_ADD);
	sqlt__tx_changed(st);
	sqlt__bind_text(s, 1, number);
	sqlt__bind_text(s, 2, group);
	return sqlt__step_done(s);
}

store_err sqlt_numbers_clear(store *st, const char *group)
{
	Q_OR_FAIL(s, st, Q_NUMBERS_CLEAR);
	sqlt__tx_changed(st);
	sqlt__bind_text(s, 1, group);
	return sqlt__step_done(s);
}

store_err sqlt_number_owner(store *st, const char *number,
			     char group_out[IDENT_GROUP_ID_MAX + 1])
{
	Q_OR_FAIL(s, st, Q_NUMBER_OWNER);
	int rc;

	sqlt__bind_text(s, 1, number);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		sqlt__col_copy(s, 0, group_out, IDENT_GROUP_ID_MAX + 1);
	if (rc == SQLITE_DONE) {
		sqlt__finish(s, rc);
		return STORE_NOTFOUND;
	}
	return sqlt__finish(s, rc);
}

store_err sqlt_group_numbers(store *st, const char *group,
			      store_number_cb cb, void *ctx)
{
	Q_OR_FAIL(s, st, Q_GROUP_NUMBERS);
	int rc;

	sqlt__bind_text(s, 1, group);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (cb(ctx, (const char *)sqlite3_column_text(s, 0)))
			break;
	}
	return sqlt__finish(s, rc == SQLITE_ROW ? SQLITE_DONE : rc);
}

/* ---- users ---- */

static void read_user(sqlite3_stmt *s, store_user *u)
{
	memset(u, 0, sizeof *u);
	u->id = sqlite3_column_int64(s, 0);
	sqlt__col_copy(s, 1, u->external_id, sizeof u->external_id);
	sqlt__col_copy(s, 2, u->phone, sizeof u->phone);
	u->phone_valid = sqlite3_column_int(s, 3);
	sqlt__col_copy(s, 4, u->phone_type, sizeof u->phone_type);
	sqlt__col_copy(s, 5, u->email, sizeof u->email);
	u->created_ms = sqlite3_column_int64(s, 6);
	u->updated_ms = sqlite3_column_int64(s, 7);
}

static store_err user_one(sqlite3_stmt *s, store_user *out)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		read_user(s, out);
	if (rc == SQLITE_DONE) {
		sqlt__finish(s, rc);
		return STORE_NOTFOUND;
	}
	return sqlt__finish(s, rc);
}

store_err sqlt_user_get(store *st, int64_t id, store_user *out)
{
	Q_OR_FAIL(s, st, Q_USER_GET);
	sqlite3_bind_int64(s, 1, id);
	return user_one(s, out);
}

store_err sqlt_user_by_external_id(store *st, const char *ext,
				    store_user *out)
{
	Q_OR_FAIL(s, st, Q_USER_BY_EXT);
	sqlt__bind_text(s, 1, ext);
	return user_one(s, out);
}

store_err sqlt_user_by_alias(store *st, const char *label, const char *name,
			     store_user *out)
{
	Q_OR_FAIL(s, st, Q_USER_BY_ALIAS);
	sqlt__bind_text(s, 1, label);
	sqlt__bind_text(s, 2, name);
	return user_one(s, out);
}

static store_err ids_of(sqlite3_stmt *s, const char *v, int64_t *ids,
			size_t max, size_t *n)
{
	int rc;

	*n = 0;
	sqlt__bind_text(s, 1, v);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < max)
		ids[(*n)++] = sqlite3_column_int64(s, 0);
	return sqlt__finish(s, rc == SQLITE_ROW ? SQLITE_DONE : rc);
}

store_err sqlt_users_by_phone(store *st, const char *phone, int64_t *ids,
			       size_t max, size_t *n)
{
	Q_OR_FAIL(s, st, Q_USERS_BY_PHONE);
	return ids_of(s, phone, ids, max, n);
}

store_err sqlt_users_by_email(store *st, const char *email, int64_t *ids,
			       size_t max, size_t *n)
{
	Q_OR_FAIL(s, st, Q_USERS_BY_EMAIL);
	return ids_of(s, email, ids, max, n);
}

store_err sqlt_users_by_phone_in(store *st, const char *phone,
				 const char *group, store_user_sub *out,
				 size_t max, size_t *n)
{
	Q_OR_FAIL(s, st, Q_USERS_BY_PHONE_IN);
	int rc;

	*n = 0;
	sqlt__bind_text(s, 1, phone);
	sqlt__bind_text(s, 2, group);
	sqlite3_bind_int64(s, 3, store__limit(max));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < max) {
		store_user_sub *u = &out[(*n)++];
		read_user(s, &u->user);
		u->state = CONSENT_UNKNOWN;
		consent_state_from_name(
			(const char *)sqlite3_column_text(s, 8), &u->state);
	}
	return sqlt__finish(s, rc == SQLITE_ROW ? SQLITE_DONE : rc);
}

store_err sqlt_user_insert(store *st, store_user *u)
{
	Q_OR_FAIL(s, st, Q_USER_INSERT);
	store_err err;

	sqlt__bind_text(s, 1, u->external_id);
	sqlt__bind_text(s, 2, u->phone);
	sqlite3_bind_int(s, 3, u->phone_valid);
	sqlt__bind_text(s, 4, u->phone_type);
	sqlt__bind_text(s, 5, u->email);
	sqlite3_bind_int64(s, 6, u->created_ms);
	sqlite3_bind_int64(s, 7, u->updated_ms);
	err = sqlt__step_done(s);
	if (!err)
		u->id = sqlite3_last_insert_rowid(sqlite3_db_handle(s));
	return err;
}

store_err sqlt_user_update_contact(store *st, const store_user *u)
{
	Q_OR_FAIL(s, st, Q_USER_UPDATE_CONTACT);
	sqlt__bind_text(s, 1, u->phone);
	sqlite3_bind_int(s, 2, u->phone_valid);
	sqlt__bind_text(s, 3, u->phone_type);
	sqlt__bind_text(s, 4, u->email);
	sqlite3_bind_int64(s, 5, u->updated_ms);
	sqlite3_bind_int64(s, 6, u->id);
	return sqlt__step_done(s);
}

/* ---- subscriptions ---- */

store_err sqlt_sub_get(store *st, int64_t user, const char *group,
			consent_state *out, int64_t *since_ms)
{
	Q_OR_FAIL(s, st, Q_SUB_GET);
	int rc;

	*out = CONSENT_UNKNOWN;
	if (since_ms)
		*since_ms = 0;
	sqlite3_bind_int64(s, 1, user);
	sqlt__bind_text(s, 2, group);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		consent_state_from_name(
			(const char *)sqlite3_column_text(s, 0), out);
		if (since_ms)
			*since_ms = sqlite3_column_int64(s, 1);
	}
	return sqlt__finish(s, rc);
}

store_err sqlt_sub_put(store *st, int64_t user, const char *group,
			consent_state state, consent_source src,
			int double_opt_in, int64_t now_ms)
{
	Q_OR_FAIL(s, st, Q_SUB_PUT);
	sqlite3_bind_int64(s, 1, user);
	sqlt__bind_text(s, 2, group);
	sqlt__bind_text(s, 3, consent_state_name(state));
	sqlt__bind_text(s, 4, consent_source_name(src));
	sqlite3_bind_int(s, 5, double_opt_in);
	sqlite3_bind_int64(s, 6, now_ms);
	return sqlt__step_done(s);
}

store_err sqlt_user_subs(store *st, int64_t user, store_sub_cb cb,
			  void *ctx)
{
	Q_OR_FAIL(s, st, Q_USER_SUBS);
	store_sub sub;
	int rc;

	sqlite3_bind_int64(s, 1, user);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&sub, 0, sizeof sub);
		sqlt__col_copy(s, 0, sub.group_id, sizeof sub.group_id);
		sqlt__col_copy(s, 1, sub.group_name, sizeof sub.group_name);
		consent_channel_parse((const char *)sqlite3_column_text(s, 2),
				      &sub.channel);
		consent_state_from_name(
			(const char *)sqlite3_column_text(s, 3), &sub.state);
		sub.since_ms = sqlite3_column_int64(s, 4);
		if (cb(ctx, &sub))
			break;
	}
	return sqlt__finish(s, rc == SQLITE_ROW ? SQLITE_DONE : rc);
}

/* ---- consent ledger ---- */

store_err sqlt_ledger_append(store *st, const store_ledger *e)
{
	Q_OR_FAIL(s, st, Q_LEDGER_APPEND);
	sqlite3_bind_int64(s, 1, e->time_ms);
	sqlite3_bind_int64(s, 2, e->user_id);
	sqlt__bind_text(s, 3, e->external_id);
	sqlt__bind_text(s, 4, e->phone);
	sqlt__bind_text(s, 5, e->email);
	sqlt__bind_text(s, 6, e->group_id);
	sqlt__bind_text(s, 7, consent_state_name(e->old_state));
	sqlt__bind_text(s, 8, consent_state_name(e->new_state));
	sqlt__bind_text(s, 9, consent_source_name(e->source));
	sqlt__bind_text(s, 10, e->key_name);
	sqlt__bind_text(s, 11, e->request_id);
	sqlt__bind_text(s, 12, e->client_addr);
	sqlt__bind_text(s, 13, e->evidence);
	return sqlt__step_done(s);
}

static void read_ledger(sqlite3_stmt *s, store_ledger *e)
{
	memset(e, 0, sizeof *e);
	e->id = sqlite3_column_int64(s, 0);
	e->time_ms = sqlite3_column_int64(s, 1);
	e->user_id = sqlite3_column_int64(s, 2);
	sqlt__col_copy(s, 3, e->external_id, sizeof e->external_id);
	sqlt__col_copy(s, 4, e->phone, sizeof e->phone);
	sqlt__col_copy(s, 5, e->email, sizeof e->email);
	sqlt__col_copy(s, 6, e->group_id, sizeof e->group_id);
	consent_state_from_name((const char *)sqlite3_column_text(s, 7),
				&e->old_state);
	consent_state_from_name((const char *)sqlite3_column_text(s, 8),
				&e->new_state);
	consent_source_parse((const char *)sqlite3_column_text(s, 9),
			     &e->source);
	sqlt__col_copy(s, 10, e->key_name, sizeof e->key_name);
	sqlt__col_copy(s, 11, e->request_id, sizeof e->request_id);
	sqlt__col_copy(s, 12, e->client_addr, sizeof e->client_addr);
	sqlt__col_copy(s, 13, e->evidence, sizeof e->evidence);
}

store_err sqlt_ledger_find(store *st, store_by by, const char *value,
			    int64_t after_id, size_t limit,
			    store_ledger_cb cb, void *ctx)
{
	static const int q_of[] = {Q_LEDGER_BY_PHONE, Q_LEDGER_BY_EMAIL,
				   Q_LEDGER_BY_EXT};
	store_err err;
	sqlite3_stmt *s;
	store_ledger *e;
	int rc;

	if ((unsigned)by > STORE_BY_EXTERNAL_ID)
		return STORE_INVALID;
	s = sqlt__stmt(st, q_of[by], &err);
	if (!s)
		return err;
	/* Entries are large (evidence); keep them off the stack. */
	e = malloc(sizeof *e);
	if (!e)
		return STORE_NOMEM;
	sqlt__bind_text(s, 1, value);
	sqlite3_bind_int64(s, 2, after_id);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		read_ledger(s, e);
		if (cb(ctx, e))
			break;
	}
	free(e);
	return sqlt__finish(s, rc == SQLITE_ROW ? SQLITE_DONE : rc);
}
