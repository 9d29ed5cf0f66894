/*
 * sqlite_sms: the SMS operations of store.h on SQLite (a group's SMS
 * settings, inbound messages, the outbox, pending double opt-ins), made
 * as sqlite_records.c makes the others. A message is large (its body
 * alone is up to STORE_SMS_BODY_MAX bytes), so the lists read rows into
 * one heap copy rather than onto the stack. Text longer than a field is
 * cut to the field's size, never written past it.
 *
 * Claims need no lock of their own: the caller's transaction (BEGIN
 * IMMEDIATE) already holds the database's only write lock, so no two
 * claims ever overlap.
 */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQLT_CLAIM_ROWS 8 /* claimed messages read per allocation */

/* ---- group settings ---- */

store_err sqlt_group_sms_get(store *st, const char *group, char **json)
{
	Q_OR_FAIL(s, st, Q_GROUP_SMS_GET);

	*json = NULL;
	sqlt__bind_text(s, 1, group);
	return sqlt__text_one(s, json);
}

store_err sqlt_group_sms_set(store *st, const char *group, const char *json,
			     int64_t now_ms)
{
	Q_OR_FAIL(s, st, Q_GROUP_SMS_SET);

	sqlt__tx_changed(st);
	if (json && strlen(json) > STORE_SMS_CONFIG_MAX)
		return STORE_INVALID;
	sqlt__bind_text(s, 1, json);
	sqlite3_bind_int64(s, 2, now_ms);
	sqlt__bind_text(s, 3, group);
	return sqlt__change_one(s);
}

/* ---- inbound messages ---- */

store_err sqlt_inbound_insert(store *st, store_inbound *m)
{
	Q_OR_FAIL(s, st, Q_INBOUND_INSERT);
	sqlite3_bind_int64(s, 1, m->time_ms);
	sqlt__bind_text(s, 2, m->provider);
	sqlt__bind_text(s, 3, m->provider_msg_id);
	sqlt__bind_text(s, 4, m->from);
	sqlt__bind_text(s, 5, m->to);
	sqlt__bind_text(s, 6, m->group_id);
	sqlt__bind_text(s, 7, m->category);
	sqlt__bind_text(s, 8, m->lang);
	sqlt__bind_text(s, 9, m->keyword);
	sqlt__bind_text(s, 10, m->action);
	sqlt__bind_text(s, 11, m->body);
	return sqlt__insert_row(s, &m->id);
}

static void read_inbound(sqlite3_stmt *s, store_inbound *m)
{
	memset(m, 0, sizeof *m);
	m->id = sqlite3_column_int64(s, 0);
	m->time_ms = sqlite3_column_int64(s, 1);
	sqlt__col_copy(s, 2, m->provider, sizeof m->provider);
	sqlt__col_copy(s, 3, m->provider_msg_id, sizeof m->provider_msg_id);
	sqlt__col_copy(s, 4, m->from, sizeof m->from);
	sqlt__col_copy(s, 5, m->to, sizeof m->to);
	sqlt__col_copy(s, 6, m->group_id, sizeof m->group_id);
	sqlt__col_copy(s, 7, m->category, sizeof m->category);
	sqlt__col_copy(s, 8, m->lang, sizeof m->lang);
	sqlt__col_copy(s, 9, m->keyword, sizeof m->keyword);
	sqlt__col_copy(s, 10, m->action, sizeof m->action);
	sqlt__col_copy(s, 11, m->body, sizeof m->body);
}

store_err sqlt_inbound_get(store *st, const char *provider,
			   const char *msgid, store_inbound *m)
{
	Q_OR_FAIL(s, st, Q_INBOUND_GET);
	store_err err;

	sqlt__bind_text(s, 1, provider);
	sqlt__bind_text(s, 2, msgid);
	if ((err = sqlt__first_row(s)))
		return err;
	read_inbound(s, m);
	return sqlt__finish(s, SQLITE_ROW);
}

store_err sqlt_inbound_list(store *st, int64_t after_id, size_t limit,
			    store_inbound_cb cb, void *ctx)
{
	Q_OR_FAIL(s, st, Q_INBOUND_LIST);
	store_inbound *m = malloc(sizeof *m);
	int rc;

	if (!m)
		return STORE_NOMEM;
	sqlite3_bind_int64(s, 1, after_id);
	sqlite3_bind_int64(s, 2, store__limit(limit));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		read_inbound(s, m);
		if (cb(ctx, m))
			break;
	}
	free(m);
	return sqlt__finish(s, rc == SQLITE_ROW ? SQLITE_DONE : rc);
}

/* ---- the outbox ---- */

store_err sqlt_outbox_insert(store *st, store_outbox *m)
{
	Q_OR_FAIL(s, st, Q_OUTBOX_INSERT);
	sqlt__bind_text(s, 1, m->dedupe);
	sqlt__bind_text(s, 2, m->group_id);
	sqlt__bind_text(s, 3, m->to);
	sqlt__bind_text(s, 4, m->from);
	sqlt__bind_text(s, 5, m->kind);
	sqlite3_bind_int64(s, 6, m->inbound_id);
	sqlt__bind_text(s, 7, store_out_state_name(m->state));
	sqlt__bind_text(s, 8, m->provider);
	sqlt__bind_text(s, 9, m->provider_id);
	sqlite3_bind_int(s, 10, m->attempts);
	sqlite3_bind_int64(s, 11, m->next_ms);
	sqlt__bind_text(s, 12, m->error);
	sqlt__bind_text(s, 13, m->encoding);
	sqlite3_bind_int(s, 14, m->segments);
	sqlite3_bind_int64(s, 15, m->created_ms);
	sqlite3_bind_int64(s, 16, m->updated_ms);
	sqlt__bind_text(s, 17, m->body);
	return sqlt__insert_row(s, &m->id);
}

static void read_outbox(sqlite3_stmt *s, store_outbox *m)
{
	memset(m, 0, sizeof *m);
	m->id = sqlite3_column_int64(s, 0);
	sqlt__col_copy(s, 1, m->dedupe, sizeof m->dedupe);
	sqlt__col_copy(s, 2, m->group_id, sizeof m->group_id);
	sqlt__col_copy(s, 3, m->to, sizeof m->to);
	sqlt__col_copy(s, 4, m->from, sizeof m->from);
	sqlt__col_copy(s, 5, m->kind, sizeof m->kind);
	m->inbound_id = sqlite3_column_int64(s, 6);
	/* The schema's CHECK admits only the names store.h knows. */
	store_out_state_parse((const char *)sqlite3_column_text(s, 7),
			      &m->state);
	sqlt__col_copy(s, 8, m->provider, sizeof m->provider);
	sqlt__col_copy(s, 9, m->provider_id, sizeof m->provider_id);
	m->attempts = sqlite3_column_int(s, 10);
	m->next_ms = sqlite3_column_int64(s, 11);
	sqlt__col_copy(s, 12, m->error, sizeof m->error);
	sqlt__col_copy(s, 13, m->encoding, sizeof m->encoding);
	m->segments = sqlite3_column_int(s, 14);
	m->created_ms = sqlite3_column_int64(s, 15);
	m->updated_ms = sqlite3_column_int64(s, 16);
	sqlt__col_copy(s, 17, m->body, sizeof m->body);
}

static store_err outbox_one(sqlite3_stmt *s, store_outbox *out)
{
	store_err err = sqlt__first_row(s);

	if (err)
		return err;
	read_outbox(s, out);
	return sqlt__finish(s, SQLITE_ROW);
}

store_err sqlt_outbox_get(store *st, int64_t id, store_outbox *out)
{
	Q_OR_FAIL(s, st, Q_OUTBOX_GET);
	sqlite3_bind_int64(s, 1, id);
	return outbox_one(s, out);
}

store_err sqlt_outbox_by_provider_id(store *st, const char *provider,
				     const char *provider_id,
				     store_outbox *out)
{
	Q_OR_FAIL(s, st, Q_OUTBOX_BY_PROVIDER_ID);
	sqlt__bind_text(s, 1, provider);
	sqlt__bind_text(s, 2, provider_id);
	return outbox_one(s, out);
}

static int cmp_outbox_id(const void *a, const void *b)
{
	int64_t x = ((const store_outbox *)a)->id;
	int64_t y = ((const store_outbox *)b)->id;

	return (x > y) - (x < y);
}

/* Every row the claim returns, into *rows (the connection's scratch
 * space), sorted by id. */
static store_err claimed_rows(store *st, sqlite3_stmt *s,
			      store_outbox **rows, size_t *n)
{
	size_t cap = 0;
	store_outbox *grown;
	int rc;

	*rows = NULL;
	*n = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			cap += SQLT_CLAIM_ROWS;
			grown = sqlt__scratch(st, cap * sizeof **rows);
			if (!grown) {
				sqlt__finish(s, SQLITE_DONE);
				return STORE_NOMEM;
			}
			*rows = grown;
		}
		read_outbox(s, &(*rows)[(*n)++]);
	}
	if (*n > 1)
		qsort(*rows, *n, sizeof **rows, cmp_outbox_id);
	return sqlt__finish(s, rc);
}

/* A nonzero answer from cb ends the calls; the messages it did not see
 * stay claimed until their lease runs out. */
store_err sqlt_outbox_claim(store *st, int64_t now_ms, int64_t lease_ms,
			    size_t limit, store_outbox_cb cb, void *ctx)
{
	Q_OR_FAIL(s, st, Q_OUTBOX_CLAIM);
	store_outbox *rows = NULL;
	size_t n = 0;
	store_err err;

	sqlite3_bind_int64(s, 1, now_ms);
	sqlite3_bind_int64(s, 2, store__lease_end(now_ms, lease_ms));
	sqlite3_bind_int64(s, 3, store__limit(limit));
	err = claimed_rows(st, s, &rows, &n);
	for (size_t i = 0; !err && i < n; i++)
		if (cb(ctx, &rows[i]))
			break;
	return err;
}

store_err sqlt_outbox_update(store *st, const store_outbox *m)
{
	Q_OR_FAIL(s, st, Q_OUTBOX_UPDATE);
	sqlt__bind_text(s, 1, store_out_state_name(m->state));
	sqlt__bind_text(s, 2, m->provider);
	sqlt__bind_text(s, 3, m->provider_id);
	sqlite3_bind_int(s, 4, m->attempts);
	sqlite3_bind_int64(s, 5, m->next_ms);
	sqlt__bind_text(s, 6, m->error);
	sqlite3_bind_int64(s, 7, m->updated_ms);
	sqlite3_bind_int64(s, 8, m->id);
	return sqlt__change_one(s);
}

store_err sqlt_outbox_list(store *st, int64_t after_id, size_t limit,
			   int state, const char *to, store_outbox_cb cb,
			   void *ctx)
{
	int by_to = to && *to;
	store_outbox *m;
	sqlite3_stmt *s;
	store_err err;
	int rc;

	if (state >= STORE_OUT__COUNT)
		return STORE_INVALID;
	s = sqlt__stmt(st, by_to ? Q_OUTBOX_LIST_TO : Q_OUTBOX_LIST, &err);
	if (!s)
		return err;
	m = malloc(sizeof *m);
	if (!m)
		return STORE_NOMEM;
	sqlite3_bind_int64(s, 1, after_id);
	sqlt__bind_text(s, 2, state < 0 ? ""
				       : store_out_state_name(state));
	sqlite3_bind_int64(s, 3, store__limit(limit));
	if (by_to)
		sqlt__bind_text(s, 4, to);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		read_outbox(s, m);
		if (cb(ctx, m))
			break;
	}
	free(m);
	return sqlt__finish(s, rc == SQLITE_ROW ? SQLITE_DONE : rc);
}

store_err sqlt_outbox_next_due(store *st, int64_t *next_ms)
{
	return sqlt__min_of(st, Q_OUTBOX_NEXT_DUE, next_ms);
}

/* ---- pending double opt-ins ---- */

store_err sqlt_doi_get(store *st, const char *phone, const char *group,
		       int64_t *since_ms)
{
	Q_OR_FAIL(s, st, Q_DOI_GET);
	store_err err;

	sqlt__bind_text(s, 1, phone);
	sqlt__bind_text(s, 2, group);
	if ((err = sqlt__first_row(s)))
		return err;
	*since_ms = sqlite3_column_int64(s, 0);
	return sqlt__finish(s, SQLITE_ROW);
}

store_err sqlt_doi_put(store *st, const char *phone, const char *group,
		       int64_t since_ms)
{
	Q_OR_FAIL(s, st, Q_DOI_PUT);
	sqlt__bind_text(s, 1, phone);
	sqlt__bind_text(s, 2, group);
	sqlite3_bind_int64(s, 3, since_ms);
	return sqlt__step_done(s);
}

store_err sqlt_doi_delete(store *st, const char *phone, const char *group)
{
	Q_OR_FAIL(s, st, Q_DOI_DELETE);
	sqlt__bind_text(s, 1, phone);
	sqlt__bind_text(s, 2, group);
	return sqlt__step_done(s);
}
