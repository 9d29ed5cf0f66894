/*
 * pg_records: the record operations of store.h on PostgreSQL, one
 * function per operation, mirroring sqlite_records.c: bind the parameters
 * (as text), run the prepared statement through pg.c, copy the rows into
 * the caller's fixed-size structs. Text longer than a field cannot occur
 * because every field's limit is enforced before insertion; pg__copy()
 * truncates all the same. The writes nobody reads back at once inside
 * the writer's transaction cost no round trip of their own: contact
 * updates and new profiles are sent without waiting (pg__defer()), and
 * subscriptions and ledger entries are buffered and sent in bulk
 * (pg__buffer_sub(), pg__buffer_ledger()).
 */
#include "store/pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- keys ---- */

static void read_key(const PGresult *r, int i, store_key *k)
{
	memset(k, 0, sizeof *k);
	k->id = pg__int64(r, i, 0);
	pg__copy(r, i, 1, k->name, sizeof k->name);
	pg__copy(r, i, 2, k->hash, sizeof k->hash);
	k->scopes = (uint32_t)pg__int64(r, i, 3);
	k->rate_limit = (uint32_t)pg__int64(r, i, 4);
	k->created_ms = pg__int64(r, i, 5);
	k->revoked_ms = pg__int64(r, i, 6);
	k->sdk = pg__int64(r, i, 7) != 0;
	pg__copy(r, i, 8, k->origins, sizeof k->origins);
}

store_err pg_key_insert(store *st, store_key *k)
{
	pg_args a = {0};
	PGresult *r;
	store_err err;

	pg__text(&a, k->name);
	pg__text(&a, k->hash);
	pg__int(&a, k->scopes);
	pg__int(&a, k->rate_limit);
	pg__int(&a, k->created_ms);
	pg__int(&a, k->sdk != 0);
	pg__text(&a, k->origins);
	err = pg__query(st, P_KEY_INSERT, &a, &r);
	if (!err)
		k->id = pg__int64(r, 0, 0);
	PQclear(r);
	return err;
}

static store_err key_one(store *st, int q, const pg_args *a, store_key *out)
{
	PGresult *r;
	store_err err = pg__query(st, q, a, &r);

	if (!err && PQntuples(r) == 0)
		err = STORE_NOTFOUND;
	if (!err)
		read_key(r, 0, out);
	PQclear(r);
	return err;
}

store_err pg_key_by_hash(store *st, const char *hash, store_key *out)
{
	pg_keys *ks = pg__keys(st);
	pg_args a = {0};
	uint64_t gen;
	store_err err;

	if (pg__keys_find(ks, hash, out, &gen))
		return STORE_OK;
	pg__text(&a, hash);
	err = key_one(st, P_KEY_BY_HASH, &a, out);
	if (!err)
		pg__keys_keep(ks, gen, out);
	return err;
}

store_err pg_key_by_name(store *st, const char *name, store_key *out)
{
	pg_args a = {0};

	pg__text(&a, name);
	return key_one(st, P_KEY_BY_NAME, &a, out);
}

store_err pg_key_get(store *st, int64_t id, store_key *out)
{
	pg_args a = {0};

	pg__int(&a, id);
	return key_one(st, P_KEY_GET, &a, out);
}

store_err pg_key_revoke(store *st, int64_t id, int64_t now_ms)
{
	pg_args a = {0};
	long changed = 0;
	store_err err;

	pg__int(&a, now_ms);
	pg__int(&a, id);
	err = pg__exec(st, P_KEY_REVOKE, &a, &changed);
	if (!err && changed > 0)
		pg__keys_changed(st);
	return !err && changed == 0 ? STORE_NOTFOUND : err;
}

store_err pg_key_list(store *st, store_key_cb cb, void *ctx)
{
	PGresult *r;
	store_key k;
	store_err err = pg__query(st, P_KEY_LIST, NULL, &r);

	for (int i = 0; !err && i < PQntuples(r); i++) {
		read_key(r, i, &k);
		if (cb(ctx, &k))
			break;
	}
	PQclear(r);
	return err;
}

store_err pg_key_origin_known(store *st, const char *origin)
{
	pg_args a = {0};
	PGresult *r = NULL;
	store_err err;

	if (!*origin || strchr(origin, ' ')) /* the list's separator */
		return STORE_NOTFOUND;
	pg__text(&a, origin);
	err = pg__one_row(st, P_KEY_ORIGIN_KNOWN, &a, &r);
	PQclear(r);
	return err;
}

/* ---- groups and numbers ---- */

static void read_group(const PGresult *r, int i, store_group *g)
{
	memset(g, 0, sizeof *g);
	pg__copy(r, i, 0, g->id, sizeof g->id);
	pg__copy(r, i, 1, g->name, sizeof g->name);
	g->channel = strcmp(PQgetvalue(r, i, 2), "email") ? CHANNEL_SMS
							   : CHANNEL_EMAIL;
	g->double_opt_in = (int)pg__int64(r, i, 3);
	g->created_ms = pg__int64(r, i, 4);
	g->updated_ms = pg__int64(r, i, 5);
}

store_err pg_group_insert(store *st, const store_group *g)
{
	pg_args a = {0};

	pg__tx_changed(st);
	pg__text(&a, g->id);
	pg__text(&a, g->name);
	pg__text(&a, consent_channel_name(g->channel));
	pg__int(&a, g->double_opt_in);
	pg__int(&a, g->created_ms);
	pg__int(&a, g->updated_ms);
	return pg__exec_guarded(st, P_GROUP_INSERT, &a);
}

store_err pg_group_get(store *st, const char *id, store_group *out)
{
	pg_args a = {0};
	PGresult *r;
	store_err err;

	pg__text(&a, id);
	err = pg__query(st, P_GROUP_GET, &a, &r);
	if (!err && PQntuples(r) == 0)
		err = STORE_NOTFOUND;
	if (!err)
		read_group(r, 0, out);
	PQclear(r);
	return err;
}

store_err pg_group_update(store *st, const store_group *g)
{
	pg_args a = {0};
	long changed = 0;
	store_err err;

	pg__tx_changed(st);
	pg__text(&a, g->name);
	pg__int(&a, g->double_opt_in);
	pg__int(&a, g->updated_ms);
	pg__text(&a, g->id);
	err = pg__exec(st, P_GROUP_UPDATE, &a, &changed);
	return !err && changed == 0 ? STORE_NOTFOUND : err;
}

store_err pg_group_list(store *st, store_group_cb cb, void *ctx)
{
	PGresult *r;
	store_group g;
	store_err err = pg__query(st, P_GROUP_LIST, NULL, &r);

	for (int i = 0; !err && i < PQntuples(r); i++) {
		read_group(r, i, &g);
		if (cb(ctx, &g))
			break;
	}
	PQclear(r);
	return err;
}

store_err pg_number_add(store *st, const char *number, const char *group)
{
	pg_args a = {0};

	pg__tx_changed(st);
	pg__text(&a, number);
	pg__text(&a, group);
	return pg__exec_guarded(st, P_NUMBER_ADD, &a);
}

store_err pg_numbers_clear(store *st, const char *group)
{
	pg_args a = {0};

	pg__tx_changed(st);
	pg__text(&a, group);
	return pg__exec(st, P_NUMBERS_CLEAR, &a, NULL);
}

store_err pg_number_owner(store *st, const char *number,
			  char group_out[IDENT_GROUP_ID_MAX + 1])
{
	pg_args a = {0};
	PGresult *r;
	store_err err;

	pg__text(&a, number);
	err = pg__query(st, P_NUMBER_OWNER, &a, &r);
	if (!err && PQntuples(r) == 0)
		err = STORE_NOTFOUND;
	if (!err)
		pg__copy(r, 0, 0, group_out, IDENT_GROUP_ID_MAX + 1);
	PQclear(r);
	return err;
}

store_err pg_group_numbers(store *st, const char *group, store_number_cb cb,
			   void *ctx)
{
	pg_args a = {0};
	PGresult *r;
	store_err err;

	pg__text(&a, group);
	err = pg__query(st, P_GROUP_NUMBERS, &a, &r);
	for (int i = 0; !err && i < PQntuples(r); i++)
		if (cb(ctx, PQgetvalue(r, i, 0)))
			break;
	PQclear(r);
	return err;
}

/* ---- users ---- */

void pg__read_user(const PGresult *r, int i, store_user *u)
{
	memset(u, 0, sizeof *u);
	u->id = pg__int64(r, i, 0);
	pg__copy(r, i, 1, u->external_id, sizeof u->external_id);
	pg__copy(r, i, 2, u->phone, sizeof u->phone);
	u->phone_valid = (int)pg__int64(r, i, 3);
	pg__copy(r, i, 4, u->phone_type, sizeof u->phone_type);
	pg__copy(r, i, 5, u->email, sizeof u->email);
	u->created_ms = pg__int64(r, i, 6);
	u->updated_ms = pg__int64(r, i, 7);
}

static store_err user_one(store *st, int q, const pg_args *a,
			  store_user *out)
{
	PGresult *r;
	store_err err = pg__query(st, q, a, &r);

	if (!err && PQntuples(r) == 0)
		err = STORE_NOTFOUND;
	if (!err)
		pg__read_user(r, 0, out);
	PQclear(r);
	return err;
}

store_err pg_user_get(store *st, int64_t id, store_user *out)
{
	pg_args a = {0};

	if (pg__buffered_user(st, id, NULL, out) || pg__pf_user(st, id, out))
		return STORE_OK;
	pg__int(&a, id);
	return user_one(st, P_USER_GET, &a, out);
}

store_err pg_user_by_external_id(store *st, const char *ext, store_user *out)
{
	pg_args a = {0};
	store_err err;

	if (pg__buffered_user(st, 0, ext, out))
		return STORE_OK;
	if (pg__pf_by_ext(st, ext, out, &err))
		return err;
	pg__text(&a, ext);
	return user_one(st, P_USER_BY_EXT, &a, out);
}

/* The alias was sent after its user's buffered row (pg.c's needs_rows),
 * so the user is in the table. */
store_err pg_user_by_alias(store *st, const char *label, const char *name,
			   store_user *out)
{
	pg_args a = {0};

	pg__text(&a, label);
	pg__text(&a, name);
	return user_one(st, P_USER_BY_ALIAS, &a, out);
}

static store_err ids_of(store *st, int q, const char *v, int64_t *ids,
			size_t max, size_t *n)
{
	pg_args a = {0};
	PGresult *r;
	store_err err;

	*n = 0;
	if (pg__pf_ids(st, q == P_USERS_BY_EMAIL ? STORE_BY_EMAIL
						 : STORE_BY_PHONE, v, ids, max,
		       n)) {
		pg__buffered_ids(st, q == P_USERS_BY_EMAIL, v, ids, max, n);
		return STORE_OK;
	}
	pg__text(&a, v);
	pg__int(&a, (int64_t)max);
	err = pg__query(st, q, &a, &r);
	for (int i = 0; !err && i < PQntuples(r) && *n < max; i++)
		ids[(*n)++] = pg__int64(r, i, 0);
	PQclear(r);
	if (!err)
		pg__buffered_ids(st, q == P_USERS_BY_EMAIL, v, ids, max, n);
	return err;
}

store_err pg_users_by_phone(store *st, const char *phone, int64_t *ids,
			    size_t max, size_t *n)
{
	return ids_of(st, P_USERS_BY_PHONE, phone, ids, max, n);
}

store_err pg_users_by_email(store *st, const char *email, int64_t *ids,
			    size_t max, size_t *n)
{
	return ids_of(st, P_USERS_BY_EMAIL, email, ids, max, n);
}

/*
 * The reads store_users_by_phone_in() stands for, one by one: the users
 * and subscriptions a batch has written may still be buffered here, and
 * these reads already know where to find them (a phone no profile has,
 * the common case of a sign-up, sends none of them).
 */
store_err pg_users_by_phone_in(store *st, const char *phone,
			       const char *group, store_user_sub *out,
			       size_t max, size_t *n)
{
	int64_t ids[STORE_PHONE_SHARE_MAX];
	store_err err;

	*n = 0;
	if (max > STORE_PHONE_SHARE_MAX)
		max = STORE_PHONE_SHARE_MAX;
	err = pg_users_by_phone(st, phone, ids, max, n);
	for (size_t i = 0; !err && i < *n; i++) {
		err = pg_user_get(st, ids[i], &out[i].user);
		if (!err)
			err = pg_sub_get(st, ids[i], group, &out[i].state,
					 NULL);
	}
	if (err)
		*n = 0;
	return err;
}

store_err pg_user_insert(store *st, store_user *u)
{
	pg_args a = {0};
	PGresult *r;
	store_err err;

	pg__pf_forget_user(st, 0, u->external_id, u->phone, u->email);
	/* In the writer's transaction: an id taken ahead, and the row
	 * buffered. A conflict on external_id then surfaces when the buffer
	 * is sent, which fails the job all the same. */
	if (pg__buffer_user(st, u, &err))
		return err;
	pg__text(&a, u->external_id);
	pg__text(&a, u->phone);
	pg__int(&a, u->phone_valid);
	pg__text(&a, u->phone_type);
	pg__text(&a, u->email);
	pg__int(&a, u->created_ms);
	pg__int(&a, u->updated_ms);
	err = pg__query(st, P_USER_INSERT, &a, &r);
	if (!err)
		u->id = pg__int64(r, 0, 0);
	PQclear(r);
	return err;
}

store_err pg_user_update_contact(store *st, const store_user *u)
{
	pg_args a = {0};

	pg__pf_forget_user(st, u->id, u->external_id, u->phone, u->email);
	if (pg__buffered_update(st, u))
		return STORE_OK;
	pg__text(&a, u->phone);
	pg__int(&a, u->phone_valid);
	pg__text(&a, u->phone_type);
	pg__text(&a, u->email);
	pg__int(&a, u->updated_ms);
	pg__int(&a, u->id);
	return pg__defer(st, P_USER_UPDATE_CONTACT, &a);
}

/* ---- subscriptions ---- */

store_err pg_sub_get(store *st, int64_t user, const char *group,
		     consent_state *out, int64_t *since_ms)
{
	pg_args a = {0};
	PGresult *r;
	store_err err;

	*out = CONSENT_UNKNOWN;
	if (since_ms)
		*since_ms = 0;
	if (pg__pf_sub(st, user, group, out, since_ms))
		return STORE_OK;
	pg__int(&a, user);
	pg__text(&a, group);
	err = pg__query(st, P_SUB_GET, &a, &r);
	if (!err && PQntuples(r) > 0) {
		consent_state_from_name(PQgetvalue(r, 0, 0), out);
		if (since_ms)
			*since_ms = pg__int64(r, 0, 1);
	}
	PQclear(r);
	return err;
}

store_err pg_sub_put(store *st, int64_t user, const char *group,
		     consent_state state, consent_source src,
		     int double_opt_in, int64_t now_ms)
{
	pg_args a = {0};
	store_err err;

	pg__pf_forget_sub(st, user, group);
	if (pg__buffer_sub(st, user, group, state, src, double_opt_in, now_ms,
			   &err))
		return err;
	pg__int(&a, user);
	pg__text(&a, group);
	pg__text(&a, consent_state_name(state));
	pg__text(&a, consent_source_name(src));
	pg__int(&a, double_opt_in);
	pg__int(&a, now_ms);
	return pg__exec(st, P_SUB_PUT, &a, NULL);
}

store_err pg_user_subs(store *st, int64_t user, store_sub_cb cb, void *ctx)
{
	pg_args a = {0};
	PGresult *r;
	store_sub sub;
	store_err err;

	pg__int(&a, user);
	err = pg__query(st, P_USER_SUBS, &a, &r);
	for (int i = 0; !err && i < PQntuples(r); i++) {
		memset(&sub, 0, sizeof sub);
		pg__copy(r, i, 0, sub.group_id, sizeof sub.group_id);
		pg__copy(r, i, 1, sub.group_name, sizeof sub.group_name);
		consent_channel_parse(PQgetvalue(r, i, 2), &sub.channel);
		consent_state_from_name(PQgetvalue(r, i, 3), &sub.state);
		sub.since_ms = pg__int64(r, i, 4);
		if (cb(ctx, &sub))
			break;
	}
	PQclear(r);
	return err;
}

/* ---- consent ledger ---- */

store_err pg_ledger_append(store *st, const store_ledger *e)
{
	pg_args a = {0};
	store_err err;

	if (pg__buffer_ledger(st, e, &err))
		return err;
	pg__int(&a, e->time_ms);
	pg__int(&a, e->user_id);
	pg__text(&a, e->external_id);
	pg__text(&a, e->phone);
	pg__text(&a, e->email);
	pg__text(&a, e->group_id);
	pg__text(&a, consent_state_name(e->old_state));
	pg__text(&a, consent_state_name(e->new_state));
	pg__text(&a, consent_source_name(e->source));
	pg__text(&a, e->key_name);
	pg__text(&a, e->request_id);
	pg__text(&a, e->client_addr);
	pg__text(&a, e->evidence);
	return pg__exec(st, P_LEDGER_APPEND, &a, NULL);
}

static void read_ledger(const PGresult *r, int i, store_ledger *e)
{
	memset(e, 0, sizeof *e);
	e->id = pg__int64(r, i, 0);
	e->time_ms = pg__int64(r, i, 1);
	e->user_id = pg__int64(r, i, 2);
	pg__copy(r, i, 3, e->external_id, sizeof e->external_id);
	pg__copy(r, i, 4, e->phone, sizeof e->phone);
	pg__copy(r, i, 5, e->email, sizeof e->email);
	pg__copy(r, i, 6, e->group_id, sizeof e->group_id);
	consent_state_from_name(PQgetvalue(r, i, 7), &e->old_state);
	consent_state_from_name(PQgetvalue(r, i, 8), &e->new_state);
	consent_source_parse(PQgetvalue(r, i, 9), &e->source);
	pg__copy(r, i, 10, e->key_name, sizeof e->key_name);
	pg__copy(r, i, 11, e->request_id, sizeof e->request_id);
	pg__copy(r, i, 12, e->client_addr, sizeof e->client_addr);
	pg__copy(r, i, 13, e->evidence, sizeof e->evidence);
}

store_err pg_ledger_find(store *st, store_by by, const char *value,
			 int64_t after_id, size_t limit, store_ledger_cb cb,
			 void *ctx)
{
	static const int q_of[] = {P_LEDGER_BY_PHONE, P_LEDGER_BY_EMAIL,
				   P_LEDGER_BY_EXT};
	pg_args a = {0};
	store_ledger *e;
	PGresult *r;
	store_err err;

	if ((unsigned)by > STORE_BY_EXTERNAL_ID)
		return STORE_INVALID;
	/* Entries are large (evidence); keep them off the stack. */
	e = malloc(sizeof *e);
	if (!e)
		return STORE_NOMEM;
	pg__text(&a, value);
	pg__int(&a, after_id);
	pg__int(&a, (int64_t)limit);
	err = pg__query(st, q_of[by], &a, &r);
	for (int i = 0; !err && i < PQntuples(r); i++) {
		read_ledger(r, i, e);
		if (cb(ctx, e))
			break;
	}
	PQclear(r);
	free(e);
	return err;
}
