/*
 * pg_sms: the SMS operations of store.h on PostgreSQL (a group's SMS
 * settings, inbound messages, the outbox, pending double opt-ins), made
 * as pg_records.c makes the others and mirroring sqlite_sms.c.
 *
 * Inside the writer's pipelined transaction, the two inserts whose caller
 * needs an answer at once (the new id, or "a retry: apply nothing") wait
 * for it; a duplicate comes back as no row (ON CONFLICT DO NOTHING), not
 * as an error, which would abort the whole transaction. The pending
 * double opt-in writes are only sent (pg__defer()): nothing waits on them.
 * A message is large (its body alone is up to STORE_SMS_BODY_MAX bytes),
 * so rows are read into one heap copy rather than onto the stack.
 */
#include "store/pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- group settings ---- */

store_err pg_group_sms_get(store *st, const char *group, char **json)
{
	pg_args a = {0};

	pg__text(&a, group);
	return pg__text_one(st, P_GROUP_SMS_GET, &a, json);
}

store_err pg_group_sms_set(store *st, const char *group, const char *json,
			   int64_t now_ms)
{
	pg_args a = {0};
	long changed = 0;
	store_err err;

	if (json && strlen(json) > STORE_SMS_CONFIG_MAX)
		return STORE_INVALID;
	pg__tx_changed(st);
	pg__text(&a, json);
	pg__int(&a, now_ms);
	pg__text(&a, group);
	err = pg__exec(st, P_GROUP_SMS_SET, &a, &changed);
	return !err && changed == 0 ? STORE_NOTFOUND : err;
}

/* ---- inbound messages ---- */

store_err pg_inbound_insert(store *st, store_inbound *m)
{
	pg_args a = {0};

	pg__int(&a, m->time_ms);
	pg__text(&a, m->provider);
	pg__text(&a, m->provider_msg_id);
	pg__text(&a, m->from);
	pg__text(&a, m->to);
	pg__text(&a, m->group_id);
	pg__text(&a, m->category);
	pg__text(&a, m->lang);
	pg__text(&a, m->keyword);
	pg__text(&a, m->action);
	pg__text(&a, m->body);
	return pg__insert_id(st, P_INBOUND_INSERT, &a, &m->id);
}

static void read_inbound(const PGresult *r, int i, store_inbound *m)
{
	memset(m, 0, sizeof *m);
	m->id = pg__int64(r, i, 0);
	m->time_ms = pg__int64(r, i, 1);
	pg__copy(r, i, 2, m->provider, sizeof m->provider);
	pg__copy(r, i, 3, m->provider_msg_id, sizeof m->provider_msg_id);
	pg__copy(r, i, 4, m->from, sizeof m->from);
	pg__copy(r, i, 5, m->to, sizeof m->to);
	pg__copy(r, i, 6, m->group_id, sizeof m->group_id);
	pg__copy(r, i, 7, m->category, sizeof m->category);
	pg__copy(r, i, 8, m->lang, sizeof m->lang);
	pg__copy(r, i, 9, m->keyword, sizeof m->keyword);
	pg__copy(r, i, 10, m->action, sizeof m->action);
	pg__copy(r, i, 11, m->body, sizeof m->body);
}

store_err pg_inbound_get(store *st, const char *provider,
			 const char *msgid, store_inbound *m)
{
	pg_args a = {0};
	PGresult *r;
	store_err err;

	pg__text(&a, provider);
	pg__text(&a, msgid);
	err = pg__one_row(st, P_INBOUND_GET, &a, &r);
	if (!err)
		read_inbound(r, 0, m);
	PQclear(r);
	return err;
}

store_err pg_inbound_list(store *st, int64_t after_id, size_t limit,
			  store_inbound_cb cb, void *ctx)
{
	pg_args a = {0};
	store_inbound *m = malloc(sizeof *m);
	PGresult *r;
	store_err err;

	if (!m)
		return STORE_NOMEM;
	pg__int(&a, after_id);
	pg__int(&a, store__limit(limit));
	err = pg__query(st, P_INBOUND_LIST, &a, &r);
	for (int i = 0; !err && i < PQntuples(r); i++) {
		read_inbound(r, i, m);
		if (cb(ctx, m))
			break;
	}
	PQclear(r);
	free(m);
	return err;
}

/* ---- the outbox ---- */

store_err pg_outbox_insert(store *st, store_outbox *m)
{
	pg_args a = {0};

	pg__text(&a, m->dedupe);
	pg__text(&a, m->group_id);
	pg__text(&a, m->to);
	pg__text(&a, m->from);
	pg__text(&a, m->kind);
	pg__int(&a, m->inbound_id);
	pg__text(&a, store_out_state_name(m->state));
	pg__text(&a, m->provider);
	pg__text(&a, m->provider_id);
	pg__int(&a, m->attempts);
	pg__int(&a, m->next_ms);
	pg__text(&a, m->error);
	pg__text(&a, m->encoding);
	pg__int(&a, m->segments);
	pg__int(&a, m->created_ms);
	pg__int(&a, m->updated_ms);
	pg__text(&a, m->body);
	return pg__insert_id(st, P_OUTBOX_INSERT, &a, &m->id);
}

static void read_outbox(const PGresult *r, int i, store_outbox *m)
{
	memset(m, 0, sizeof *m);
	m->id = pg__int64(r, i, 0);
	pg__copy(r, i, 1, m->dedupe, sizeof m->dedupe);
	pg__copy(r, i, 2, m->group_id, sizeof m->group_id);
	pg__copy(r, i, 3, m->to, sizeof m->to);
	pg__copy(r, i, 4, m->from, sizeof m->from);
	pg__copy(r, i, 5, m->kind, sizeof m->kind);
	m->inbound_id = pg__int64(r, i, 6);
	/* The schema's CHECK admits only the names store.h knows. */
	store_out_state_parse(PQgetvalue(r, i, 7), &m->state);
	pg__copy(r, i, 8, m->provider, sizeof m->provider);
	pg__copy(r, i, 9, m->provider_id, sizeof m->provider_id);
	m->attempts = (int)pg__int64(r, i, 10);
	m->next_ms = pg__int64(r, i, 11);
	pg__copy(r, i, 12, m->error, sizeof m->error);
	pg__copy(r, i, 13, m->encoding, sizeof m->encoding);
	m->segments = (int)pg__int64(r, i, 14);
	m->created_ms = pg__int64(r, i, 15);
	m->updated_ms = pg__int64(r, i, 16);
	pg__copy(r, i, 17, m->body, sizeof m->body);
}

/* Every row of statement q, in order, to cb. */
static store_err outbox_rows(store *st, int q, const pg_args *a,
			     store_outbox_cb cb, void *ctx)
{
	store_outbox *m = malloc(sizeof *m);
	PGresult *r;
	store_err err;

	if (!m)
		return STORE_NOMEM;
	err = pg__query(st, q, a, &r);
	for (int i = 0; !err && i < PQntuples(r); i++) {
		read_outbox(r, i, m);
		if (cb(ctx, m))
			break;
	}
	PQclear(r);
	free(m);
	return err;
}

static store_err outbox_one(store *st, int q, const pg_args *a,
			    store_outbox *out)
{
	PGresult *r;
	store_err err = pg__one_row(st, q, a, &r);

	if (!err)
		read_outbox(r, 0, out);
	PQclear(r);
	return err;
}

store_err pg_outbox_get(store *st, int64_t id, store_outbox *out)
{
	pg_args a = {0};

	pg__int(&a, id);
	return outbox_one(st, P_OUTBOX_GET, &a, out);
}

store_err pg_outbox_by_provider_id(store *st, const char *provider,
				   const char *provider_id, store_outbox *out)
{
	pg_args a = {0};

	pg__text(&a, provider);
	pg__text(&a, provider_id);
	return outbox_one(st, P_OUTBOX_BY_PROVIDER_ID, &a, out);
}

/* A nonzero answer from cb ends the calls; the messages it did not see
 * stay claimed until their lease runs out. */
store_err pg_outbox_claim(store *st, int64_t now_ms, int64_t lease_ms,
			  size_t limit, store_outbox_cb cb, void *ctx)
{
	pg_args a = {0};

	pg__int(&a, now_ms);
	pg__int(&a, store__lease_end(now_ms, lease_ms));
	pg__int(&a, store__limit(limit));
	return outbox_rows(st, P_OUTBOX_CLAIM, &a, cb, ctx);
}

store_err pg_outbox_update(store *st, const store_outbox *m)
{
	pg_args a = {0};
	long changed = 0;
	store_err err;

	pg__text(&a, store_out_state_name(m->state));
	pg__text(&a, m->provider);
	pg__text(&a, m->provider_id);
	pg__int(&a, m->attempts);
	pg__int(&a, m->next_ms);
	pg__text(&a, m->error);
	pg__int(&a, m->updated_ms);
	pg__int(&a, m->id);
	err = pg__exec(st, P_OUTBOX_UPDATE, &a, &changed);
	return !err && changed == 0 ? STORE_NOTFOUND : err;
}

store_err pg_outbox_list(store *st, int64_t after_id, size_t limit,
			 int state, const char *to, store_outbox_cb cb,
			 void *ctx)
{
	int by_to = to && *to;
	pg_args a = {0};

	if (state >= STORE_OUT__COUNT)
		return STORE_INVALID;
	pg__int(&a, after_id);
	pg__text(&a, state < 0 ? "" : store_out_state_name(state));
	pg__int(&a, store__limit(limit));
	if (by_to)
		pg__text(&a, to);
	return outbox_rows(st, by_to ? P_OUTBOX_LIST_TO : P_OUTBOX_LIST, &a,
			   cb, ctx);
}

store_err pg_outbox_next_due(store *st, int64_t *next_ms)
{
	return pg__min_of(st, P_OUTBOX_NEXT_DUE, next_ms);
}

/* ---- pending double opt-ins ---- */

store_err pg_doi_get(store *st, const char *phone, const char *group,
		     int64_t *since_ms)
{
	pg_args a = {0};
	PGresult *r;
	store_err err;

	pg__text(&a, phone);
	pg__text(&a, group);
	if ((err = pg__one_row(st, P_DOI_GET, &a, &r)))
		return err;
	*since_ms = pg__int64(r, 0, 0);
	PQclear(r);
	return STORE_OK;
}

store_err pg_doi_put(store *st, const char *phone, const char *group,
		     int64_t since_ms)
{
	pg_args a = {0};

	pg__text(&a, phone);
	pg__text(&a, group);
	pg__int(&a, since_ms);
	return pg__defer(st, P_DOI_PUT, &a);
}

store_err pg_doi_delete(store *st, const char *phone, const char *group)
{
	pg_args a = {0};

	pg__text(&a, phone);
	pg__text(&a, group);
	return pg__defer(st, P_DOI_DELETE, &a);
}
