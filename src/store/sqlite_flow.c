/*
 * sqlite_flow: the operations of store.h for events and flows on SQLite
 * (profiles' attributes and aliases, events, purchases, idempotent
 * answers, flows and their versions, runs and their step logs), made as
 * sqlite_sms.c makes the SMS ones.
 *
 * The JSON documents (attributes, properties, definitions, answers) run
 * to hundreds of KB, so they are never copied into fixed buffers: a
 * single read hands out a malloc'd copy, and a list hands its callback
 * pointers into the row, valid during the call. A run read by
 * store_run_get() or shown by a claim owns copies of its props, since a
 * runner's callback goes on using the store (and these statements).
 *
 * A flow and its version are two rows written together or not at all:
 * both go in a savepoint of their own, whether or not the caller has a
 * transaction open. Claims need no lock of their own (see sqlite_sms.c).
 */
#include "store/sqlite_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- attributes and aliases ---- */

store_err sqlt_user_attrs_get(store *st, int64_t user, char **json)
{
	Q_OR_FAIL(s, st, Q_USER_ATTRS_GET);

	*json = NULL;
	sqlite3_bind_int64(s, 1, user);
	return sqlt__text_one(s, json);
}

store_err sqlt_user_attrs_set(store *st, int64_t user, const char *json,
			      int64_t now_ms)
{
	Q_OR_FAIL(s, st, Q_USER_ATTRS_SET);

	if (!store__fits(json, STORE_ATTRS_MAX))
		return STORE_INVALID;
	sqlt__bind_text(s, 1, json ? json : "{}");
	sqlite3_bind_int64(s, 2, now_ms);
	sqlite3_bind_int64(s, 3, user);
	return sqlt__change_one(s);
}

store_err sqlt_alias_add(store *st, int64_t user, const char *label,
			 const char *name)
{
	Q_OR_FAIL(s, st, Q_ALIAS_ADD);
	store_err err;

	if (!store__fits(label, STORE_ALIAS_MAX) ||
	    !store__fits(name, STORE_ALIAS_MAX))
		return STORE_INVALID;
	sqlt__bind_text(s, 1, label);
	sqlt__bind_text(s, 2, name);
	sqlite3_bind_int64(s, 3, user);
	/* No row changed: another user holds it. */
	err = sqlt__change_one(s);
	return err == STORE_NOTFOUND ? STORE_CONFLICT : err;
}

/* ---- events, purchases, idempotent answers ---- */

store_err sqlt_event_insert(store *st, store_event *e)
{
	Q_OR_FAIL(s, st, Q_EVENT_INSERT);

	if (!store__fits(e->props, STORE_PROPS_MAX))
		return STORE_INVALID;
	sqlite3_bind_int64(s, 1, e->user_id);
	sqlt__bind_text(s, 2, e->name);
	sqlite3_bind_int64(s, 3, e->time_ms);
	sqlite3_bind_int64(s, 4, e->created_ms);
	sqlt__bind_text(s, 5, e->props);
	return sqlt__insert_row(s, &e->id);
}

store_err sqlt_events_by_user(store *st, int64_t user, size_t limit,
			      store_event_cb cb, void *ctx)
{
	Q_OR_FAIL(s, st, Q_EVENTS_BY_USER);
	store_event e;
	int rc;

	sqlite3_bind_int64(s, 1, user);
	sqlite3_bind_int64(s, 2, store__limit(limit));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&e, 0, sizeof e);
		e.id = sqlite3_column_int64(s, 0);
		e.user_id = sqlite3_column_int64(s, 1);
		sqlt__col_copy(s, 2, e.name, sizeof e.name);
		e.time_ms = sqlite3_column_int64(s, 3);
		e.created_ms = sqlite3_column_int64(s, 4);
		e.props = (const char *)sqlite3_column_text(s, 5);
		if (cb(ctx, &e))
			break;
	}
	return sqlt__finish(s, rc == SQLITE_ROW ? SQLITE_DONE : rc);
}

store_err sqlt_purchase_insert(store *st, const store_purchase *p)
{
	Q_OR_FAIL(s, st, Q_PURCHASE_INSERT);

	/* SQLite would store NaN as NULL, PostgreSQL as NaN: neither. */
	if (!isfinite(p->price) || !store__fits(p->props, STORE_PROPS_MAX))
		return STORE_INVALID;
	sqlite3_bind_int64(s, 1, p->user_id);
	sqlt__bind_text(s, 2, p->product_id);
	sqlt__bind_text(s, 3, p->currency);
	sqlite3_bind_double(s, 4, p->price);
	sqlite3_bind_int64(s, 5, p->quantity);
	sqlite3_bind_int64(s, 6, p->time_ms);
	sqlt__bind_text(s, 7, p->props);
	return sqlt__step_done(s);
}

store_err sqlt_idem_get(store *st, const char *route, const char *key,
			int *status, char **body)
{
	Q_OR_FAIL(s, st, Q_IDEM_GET);
	store_err err;

	*body = NULL;
	sqlt__bind_text(s, 1, route);
	sqlt__bind_text(s, 2, key);
	if ((err = sqlt__first_row(s)))
		return err;
	*status = sqlite3_column_int(s, 0);
	err = sqlt__col_dup(s, 1, body);
	sqlt__finish(s, SQLITE_ROW);
	return err;
}

/* A key already answered is a CONFLICT (its primary key). */
store_err sqlt_idem_put(store *st, const char *route, const char *key,
			int status, const char *body, int64_t now_ms)
{
	Q_OR_FAIL(s, st, Q_IDEM_PUT);

	if (!store__fits(key, STORE_IDEM_KEY_MAX) ||
	    !store__fits(body, STORE_IDEM_BODY_MAX))
		return STORE_INVALID;
	sqlt__bind_text(s, 1, route);
	sqlt__bind_text(s, 2, key);
	sqlite3_bind_int(s, 3, status);
	sqlt__bind_text(s, 4, body);
	sqlite3_bind_int64(s, 5, now_ms);
	return sqlt__step_done(s);
}

/* ---- flows and their versions ---- */

static void read_flow(sqlite3_stmt *s, store_flow *f)
{
	memset(f, 0, sizeof *f);
	sqlt__col_copy(s, 0, f->id, sizeof f->id);
	sqlt__col_copy(s, 1, f->name, sizeof f->name);
	f->version = sqlite3_column_int(s, 2);
	f->enabled = sqlite3_column_int(s, 3);
	sqlt__col_copy(s, 4, f->entry_event, sizeof f->entry_event);
	sqlt__col_copy(s, 5, f->entry_group, sizeof f->entry_group);
	f->created_ms = sqlite3_column_int64(s, 6);
	f->updated_ms = sqlite3_column_int64(s, 7);
}

/* End the savepoint "flow": kept when err is STORE_OK, undone else. */
static store_err flow_sp_end(store *st, store_err err)
{
	return sqlt__sp_end(st, Q_FLOW_RELEASE, Q_FLOW_ROLLBACK_TO, err);
}

static store_err version_add(store *st, const char *flow, int version,
			     const char *def, int64_t now_ms)
{
	Q_OR_FAIL(s, st, Q_FLOW_VERSION_ADD);
	sqlt__bind_text(s, 1, flow);
	sqlite3_bind_int(s, 2, version);
	sqlt__bind_text(s, 3, def);
	sqlite3_bind_int64(s, 4, now_ms);
	return sqlt__step_done(s);
}

store_err sqlt_flow_insert(store *st, const store_flow *f, const char *def)
{
	Q_OR_FAIL(s, st, Q_FLOW_INSERT);
	store_err err;

	if (!def || !store__fits(def, STORE_FLOW_DEF_MAX))
		return STORE_INVALID;
	if ((err = sqlt__exec(st, Q_FLOW_SAVEPOINT)))
		return err;
	sqlt__bind_text(s, 1, f->id);
	sqlt__bind_text(s, 2, f->name);
	sqlite3_bind_int(s, 3, f->enabled != 0);
	sqlt__bind_text(s, 4, f->entry_event);
	sqlt__bind_text(s, 5, f->entry_group);
	sqlite3_bind_int64(s, 6, f->created_ms);
	sqlite3_bind_int64(s, 7, f->updated_ms);
	err = sqlt__step_done(s);
	if (!err)
		err = version_add(st, f->id, 1, def, f->created_ms);
	return flow_sp_end(st, err);
}

/* Name and entry come from f (a new definition may change them); the
 * flow stays enabled or disabled as it was. */
store_err sqlt_flow_new_version(store *st, store_flow *f, const char *def)
{
	Q_OR_FAIL(s, st, Q_FLOW_BUMP);
	store_err err;
	int version = 0;

	if (!def || !store__fits(def, STORE_FLOW_DEF_MAX))
		return STORE_INVALID;
	if ((err = sqlt__exec(st, Q_FLOW_SAVEPOINT)))
		return err;
	sqlt__bind_text(s, 1, f->name);
	sqlt__bind_text(s, 2, f->entry_event);
	sqlt__bind_text(s, 3, f->entry_group);
	sqlite3_bind_int64(s, 4, f->updated_ms);
	sqlt__bind_text(s, 5, f->id);
	err = sqlt__first_row(s);
	if (!err) {
		version = sqlite3_column_int(s, 0);
		err = sqlt__finish(s, SQLITE_ROW);
	}
	if (!err)
		err = version_add(st, f->id, version, def, f->updated_ms);
	err = flow_sp_end(st, err);
	if (!err)
		f->version = version;
	return err;
}

store_err sqlt_flow_get(store *st, const char *id, store_flow *out)
{
	Q_OR_FAIL(s, st, Q_FLOW_GET);
	store_err err;

	sqlt__bind_text(s, 1, id);
	if ((err = sqlt__first_row(s)))
		return err;
	read_flow(s, out);
	return sqlt__finish(s, SQLITE_ROW);
}

store_err sqlt_flow_def(store *st, const char *id, int version, char **def)
{
	Q_OR_FAIL(s, st, Q_FLOW_DEF);

	*def = NULL;
	sqlt__bind_text(s, 1, id);
	sqlite3_bind_int(s, 2, version);
	return sqlt__text_one(s, def);
}

store_err sqlt_flow_set_enabled(store *st, const char *id, int enabled,
				int64_t now_ms)
{
	Q_OR_FAIL(s, st, Q_FLOW_SET_ENABLED);
	sqlite3_bind_int(s, 1, enabled != 0);
	sqlite3_bind_int64(s, 2, now_ms);
	sqlt__bind_text(s, 3, id);
	return sqlt__change_one(s);
}

/* Every row of statement q (its one parameter bound to arg, if any). */
static store_err flow_rows(store *st, int q, const char *arg,
			   store_flow_cb cb, void *ctx)
{
	Q_OR_FAIL(s, st, q);
	store_flow f;
	int rc;

	if (arg)
		sqlt__bind_text(s, 1, arg);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		read_flow(s, &f);
		if (cb(ctx, &f))
			break;
	}
	return sqlt__finish(s, rc == SQLITE_ROW ? SQLITE_DONE : rc);
}

store_err sqlt_flow_list(store *st, store_flow_cb cb, void *ctx)
{
	return flow_rows(st, Q_FLOW_LIST, NULL, cb, ctx);
}

store_err sqlt_flows_for_event(store *st, const char *event,
			       store_flow_cb cb, void *ctx)
{
	return flow_rows(st, Q_FLOWS_FOR_EVENT, event ? event : "", cb, ctx);
}

store_err sqlt_flows_for_group(store *st, const char *group,
			       store_flow_cb cb, void *ctx)
{
	return flow_rows(st, Q_FLOWS_FOR_GROUP, group ? group : "", cb, ctx);
}

/* ---- runs ---- */

/* r with its props pointing into the row, valid until s moves on. */
static void read_run(sqlite3_stmt *s, store_run *r)
{
	memset(r, 0, sizeof *r);
	r->id = sqlite3_column_int64(s, 0);
	sqlt__col_copy(s, 1, r->flow_id, sizeof r->flow_id);
	r->version = sqlite3_column_int(s, 2);
	r->user_id = sqlite3_column_int64(s, 3);
	/* The schema's CHECK admits only the names store.h knows. */
	store__run_state_parse((const char *)sqlite3_column_text(s, 4),
			       &r->state);
	r->step = sqlite3_column_int(s, 5);
	r->attempts = sqlite3_column_int(s, 6);
	r->next_ms = sqlite3_column_int64(s, 7);
	r->created_ms = sqlite3_column_int64(s, 8);
	r->updated_ms = sqlite3_column_int64(s, 9);
	r->entry_props = (char *)sqlite3_column_text(s, 10);
	r->event_props = (char *)sqlite3_column_text(s, 11);
}

store_err sqlt_run_insert(store *st, store_run *r, int once)
{
	Q_OR_FAIL(s, st, Q_RUN_INSERT);
	store_err err;

	if (!store__fits(r->entry_props, STORE_PROPS_MAX) ||
	    !store__fits(r->event_props, STORE_PROPS_MAX))
		return STORE_INVALID;
	sqlt__bind_text(s, 1, r->flow_id);
	sqlite3_bind_int(s, 2, r->version);
	sqlite3_bind_int64(s, 3, r->user_id);
	sqlt__bind_text(s, 4, store_run_state_name(r->state));
	sqlite3_bind_int(s, 5, r->step);
	sqlite3_bind_int(s, 6, r->attempts);
	sqlite3_bind_int64(s, 7, r->next_ms);
	sqlite3_bind_int64(s, 8, r->created_ms);
	sqlite3_bind_int64(s, 9, r->updated_ms);
	sqlt__bind_text(s, 10, r->entry_props);
	sqlt__bind_text(s, 11, r->event_props);
	sqlite3_bind_int(s, 12, once != 0);
	/* No row made: the user has a run of this flow already. */
	err = sqlt__change_one(s);
	if (err == STORE_NOTFOUND)
		return STORE_CONFLICT;
	if (!err)
		r->id = sqlite3_last_insert_rowid(sqlite3_db_handle(s));
	return err;
}

store_err sqlt_run_get(store *st, int64_t id, store_run *out)
{
	Q_OR_FAIL(s, st, Q_RUN_GET);
	store_err err;

	memset(out, 0, sizeof *out);
	sqlite3_bind_int64(s, 1, id);
	if ((err = sqlt__first_row(s)))
		return err;
	read_run(s, out);
	err = store__run_own(out);
	sqlt__finish(s, SQLITE_ROW);
	return err;
}

/* A nonzero answer from cb ends the calls; the runs it did not see stay
 * claimed until their lease runs out. */
store_err sqlt_run_claim(store *st, int64_t now_ms, int64_t lease_ms,
			 size_t limit, store_run_cb cb, void *ctx)
{
	Q_OR_FAIL(s, st, Q_RUN_CLAIM);
	store_err err;
	int64_t *ids = NULL;
	size_t n = 0;
	store_run r;
	int stop = 0;

	sqlite3_bind_int64(s, 1, now_ms);
	sqlite3_bind_int64(s, 2, store__lease_end(now_ms, lease_ms));
	sqlite3_bind_int64(s, 3, store__limit(limit));
	err = sqlt__claimed_ids(s, &ids, &n);
	for (size_t i = 0; !err && !stop && i < n; i++) {
		err = sqlt_run_get(st, ids[i], &r);
		if (!err)
			stop = cb(ctx, &r);
		store_run_free(&r);
	}
	free(ids);
	return err;
}

store_err sqlt_run_update(store *st, const store_run *r)
{
	Q_OR_FAIL(s, st, Q_RUN_UPDATE);
	sqlt__bind_text(s, 1, store_run_state_name(r->state));
	sqlite3_bind_int(s, 2, r->step);
	sqlite3_bind_int(s, 3, r->attempts);
	sqlite3_bind_int64(s, 4, r->next_ms);
	sqlite3_bind_int64(s, 5, r->updated_ms);
	sqlite3_bind_int64(s, 6, r->id);
	return sqlt__change_one(s);
}

store_err sqlt_runs_by_flow(store *st, const char *flow, size_t limit,
			    store_run_cb cb, void *ctx)
{
	Q_OR_FAIL(s, st, Q_RUNS_BY_FLOW);
	store_run r;
	int rc;

	sqlt__bind_text(s, 1, flow);
	sqlite3_bind_int64(s, 2, store__limit(limit));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		read_run(s, &r);
		if (cb(ctx, &r))
			break;
	}
	return sqlt__finish(s, rc == SQLITE_ROW ? SQLITE_DONE : rc);
}

store_err sqlt_run_next_due(store *st, int64_t *next_ms)
{
	return sqlt__min_of(st, Q_RUN_NEXT_DUE, next_ms);
}

store_err sqlt_run_last_entry(store *st, const char *flow, int64_t user,
			      int64_t *created_ms)
{
	Q_OR_FAIL(s, st, Q_RUN_LAST_ENTRY);
	sqlt__bind_text(s, 1, flow);
	sqlite3_bind_int64(s, 2, user);
	store_err err = sqlt__first_row(s);

	if (err)
		return err;
	/* max() over no rows is one NULL row. */
	if (sqlite3_column_type(s, 0) == SQLITE_NULL) {
		sqlt__finish(s, SQLITE_ROW);
		return STORE_NOTFOUND;
	}
	*created_ms = sqlite3_column_int64(s, 0);
	return sqlt__finish(s, SQLITE_ROW);
}

/* ---- step logs ---- */

store_err sqlt_step_log_add(store *st, const store_step_log *l)
{
	Q_OR_FAIL(s, st, Q_STEP_LOG_ADD);
	sqlite3_bind_int64(s, 1, l->run_id);
	sqlite3_bind_int(s, 2, l->step);
	sqlite3_bind_int(s, 3, l->attempt);
	sqlite3_bind_int64(s, 4, l->time_ms);
	sqlt__bind_text(s, 5, l->outcome);
	sqlite3_bind_int(s, 6, l->http_status);
	sqlt__bind_text(s, 7, l->detail);
	return sqlt__step_done(s);
}

store_err sqlt_step_logs(store *st, int64_t run, store_step_cb cb,
			 void *ctx)
{
	Q_OR_FAIL(s, st, Q_STEP_LOGS);
	store_step_log l;
	int rc;

	sqlite3_bind_int64(s, 1, run);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&l, 0, sizeof l);
		l.run_id = sqlite3_column_int64(s, 0);
		l.step = sqlite3_column_int(s, 1);
		l.attempt = sqlite3_column_int(s, 2);
		l.time_ms = sqlite3_column_int64(s, 3);
		sqlt__col_copy(s, 4, l.outcome, sizeof l.outcome);
		l.http_status = sqlite3_column_int(s, 5);
		sqlt__col_copy(s, 6, l.detail, sizeof l.detail);
		if (cb(ctx, &l))
			break;
	}
	return sqlt__finish(s, rc == SQLITE_ROW ? SQLITE_DONE : rc);
}
