/*
 * pg_flow: the operations of store.h for events and flows on PostgreSQL
 * (profiles' attributes and aliases, events, purchases, idempotent
 * answers, flows and their versions, runs and their step logs), made as
 * pg_sms.c makes the SMS ones and mirroring sqlite_flow.c.
 *
 * Inside the writer's pipelined transaction the writes whose caller needs
 * an answer wait for it: a new id (events, runs), "taken" (aliases,
 * idempotency keys, a user already in a flow without re-entry: no row
 * from ON CONFLICT, never an error that would abort the transaction), or
 * "no such row" (attributes, flows, runs). Purchases and step logs are
 * only sent (pg__defer()). Anything that refers to a user is sent after
 * the buffered new profiles (pg.c's needs_rows), so a profile made in the
 * same transaction is there for it.
 *
 * A flow and its version are written by one statement each time, so
 * neither is ever there without the other. Rows of a list point into the
 * result, valid during the callback; single reads hand out malloc'd text.
 */
#include "store/pg_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG_DOUBLE_MAX 32 /* "%.17g" of a double, sign and NUL */

/* Run a write that must change a row: `none` when it changed none. */
static store_err change_one(store *st, int q, const pg_args *a,
			    store_err none)
{
	long changed = 0;
	store_err err = pg__exec(st, q, a, &changed);

	return !err && changed == 0 ? none : err;
}

/* ---- attributes and aliases ---- */

store_err pg_user_attrs_get(store *st, int64_t user, char **json)
{
	pg_args a = {0};

	pg__int(&a, user);
	return pg__text_one(st, P_USER_ATTRS_GET, &a, json);
}

store_err pg_user_attrs_set(store *st, int64_t user, const char *json,
			    int64_t now_ms)
{
	pg_args a = {0};

	if (!store__fits(json, STORE_ATTRS_MAX))
		return STORE_INVALID;
	pg__pf_forget_user(st, user, NULL, NULL, NULL); /* updated_ms */
	pg__text(&a, json ? json : "{}");
	pg__int(&a, now_ms);
	pg__int(&a, user);
	return change_one(st, P_USER_ATTRS_SET, &a, STORE_NOTFOUND);
}

store_err pg_alias_add(store *st, int64_t user, const char *label,
		       const char *name)
{
	pg_args a = {0};

	if (!store__fits(label, STORE_ALIAS_MAX) ||
	    !store__fits(name, STORE_ALIAS_MAX))
		return STORE_INVALID;
	pg__text(&a, label);
	pg__text(&a, name);
	pg__int(&a, user);
	return change_one(st, P_ALIAS_ADD, &a, STORE_CONFLICT);
}

/* ---- events, purchases, idempotent answers ---- */

store_err pg_event_insert(store *st, store_event *e)
{
	pg_args a = {0};

	if (!store__fits(e->props, STORE_PROPS_MAX))
		return STORE_INVALID;
	pg__int(&a, e->user_id);
	pg__text(&a, e->name);
	pg__int(&a, e->time_ms);
	pg__int(&a, e->created_ms);
	pg__text(&a, e->props);
	return pg__insert_id(st, P_EVENT_INSERT, &a, &e->id);
}

store_err pg_events_by_user(store *st, int64_t user, size_t limit,
			    store_event_cb cb, void *ctx)
{
	pg_args a = {0};
	store_event e;
	PGresult *r;
	store_err err;

	pg__int(&a, user);
	pg__int(&a, store__limit(limit));
	err = pg__query(st, P_EVENTS_BY_USER, &a, &r);
	for (int i = 0; !err && i < PQntuples(r); i++) {
		memset(&e, 0, sizeof e);
		e.id = pg__int64(r, i, 0);
		e.user_id = pg__int64(r, i, 1);
		pg__copy(r, i, 2, e.name, sizeof e.name);
		e.time_ms = pg__int64(r, i, 3);
		e.created_ms = pg__int64(r, i, 4);
		e.props = PQgetvalue(r, i, 5);
		if (cb(ctx, &e))
			break;
	}
	PQclear(r);
	return err;
}

store_err pg_purchase_insert(store *st, const store_purchase *p)
{
	char price[PG_DOUBLE_MAX];
	pg_args a = {0};

	/* PostgreSQL would keep NaN, SQLite NULL: neither is a price. */
	if (!isfinite(p->price) || !store__fits(p->props, STORE_PROPS_MAX))
		return STORE_INVALID;
	snprintf(price, sizeof price, "%.17g", p->price);
	pg__int(&a, p->user_id);
	pg__text(&a, p->product_id);
	pg__text(&a, p->currency);
	pg__text(&a, price);
	pg__int(&a, p->quantity);
	pg__int(&a, p->time_ms);
	pg__text(&a, p->props);
	return pg__defer(st, P_PURCHASE_INSERT, &a);
}

store_err pg_idem_get(store *st, const char *route, const char *key,
		      int *status, char **body)
{
	pg_args a = {0};
	PGresult *r;
	store_err err;

	*body = NULL;
	pg__text(&a, route);
	pg__text(&a, key);
	if ((err = pg__one_row(st, P_IDEM_GET, &a, &r)))
		return err;
	*status = (int)pg__int64(r, 0, 0);
	*body = strdup(PQgetvalue(r, 0, 1));
	PQclear(r);
	return *body ? STORE_OK : STORE_NOMEM;
}

store_err pg_idem_put(store *st, const char *route, const char *key,
		      int status, const char *body, int64_t now_ms)
{
	pg_args a = {0};

	if (!store__fits(key, STORE_IDEM_KEY_MAX) ||
	    !store__fits(body, STORE_IDEM_BODY_MAX))
		return STORE_INVALID;
	pg__text(&a, route);
	pg__text(&a, key);
	pg__int(&a, status);
	pg__text(&a, body);
	pg__int(&a, now_ms);
	return change_one(st, P_IDEM_PUT, &a, STORE_CONFLICT);
}

/* ---- flows and their versions ---- */

static void read_flow(const PGresult *r, int i, store_flow *f)
{
	memset(f, 0, sizeof *f);
	pg__copy(r, i, 0, f->id, sizeof f->id);
	pg__copy(r, i, 1, f->name, sizeof f->name);
	f->version = (int)pg__int64(r, i, 2);
	f->enabled = (int)pg__int64(r, i, 3);
	pg__copy(r, i, 4, f->entry_event, sizeof f->entry_event);
	pg__copy(r, i, 5, f->entry_group, sizeof f->entry_group);
	f->created_ms = pg__int64(r, i, 6);
	f->updated_ms = pg__int64(r, i, 7);
}

store_err pg_flow_insert(store *st, const store_flow *f, const char *def)
{
	pg_args a = {0};

	if (!def || !store__fits(def, STORE_FLOW_DEF_MAX))
		return STORE_INVALID;
	pg__text(&a, f->id);
	pg__text(&a, f->name);
	pg__int(&a, f->enabled != 0);
	pg__text(&a, f->entry_event);
	pg__text(&a, f->entry_group);
	pg__int(&a, f->created_ms);
	pg__int(&a, f->updated_ms);
	pg__text(&a, def);
	return change_one(st, P_FLOW_INSERT, &a, STORE_CONFLICT);
}

/* Name and entry come from f (a new definition may change them); the
 * flow stays enabled or disabled as it was. */
store_err pg_flow_new_version(store *st, store_flow *f, const char *def)
{
	pg_args a = {0};
	PGresult *r;
	store_err err;

	if (!def || !store__fits(def, STORE_FLOW_DEF_MAX))
		return STORE_INVALID;
	pg__text(&a, f->id);
	pg__text(&a, f->name);
	pg__text(&a, f->entry_event);
	pg__text(&a, f->entry_group);
	pg__int(&a, f->updated_ms);
	pg__text(&a, def);
	if ((err = pg__one_row(st, P_FLOW_NEW_VERSION, &a, &r)))
		return err;
	f->version = (int)pg__int64(r, 0, 0);
	PQclear(r);
	return STORE_OK;
}

store_err pg_flow_get(store *st, const char *id, store_flow *out)
{
	pg_args a = {0};
	PGresult *r;
	store_err err;

	pg__text(&a, id);
	if ((err = pg__one_row(st, P_FLOW_GET, &a, &r)))
		return err;
	read_flow(r, 0, out);
	PQclear(r);
	return STORE_OK;
}

store_err pg_flow_def(store *st, const char *id, int version, char **def)
{
	pg_args a = {0};

	pg__text(&a, id);
	pg__int(&a, version);
	return pg__text_one(st, P_FLOW_DEF, &a, def);
}

store_err pg_flow_set_enabled(store *st, const char *id, int enabled,
			      int64_t now_ms)
{
	pg_args a = {0};

	pg__int(&a, enabled != 0);
	pg__int(&a, now_ms);
	pg__text(&a, id);
	return change_one(st, P_FLOW_SET_ENABLED, &a, STORE_NOTFOUND);
}

/* Every row of statement q (its one parameter `arg`, if any), to cb. */
static store_err flow_rows(store *st, int q, const char *arg,
			   store_flow_cb cb, void *ctx)
{
	pg_args a = {0};
	store_flow f;
	PGresult *r;
	store_err err;

	if (arg)
		pg__text(&a, arg);
	err = pg__query(st, q, &a, &r);
	for (int i = 0; !err && i < PQntuples(r); i++) {
		read_flow(r, i, &f);
		if (cb(ctx, &f))
			break;
	}
	PQclear(r);
	return err;
}

store_err pg_flow_list(store *st, store_flow_cb cb, void *ctx)
{
	return flow_rows(st, P_FLOW_LIST, NULL, cb, ctx);
}

store_err pg_flows_for_event(store *st, const char *event, store_flow_cb cb,
			     void *ctx)
{
	return flow_rows(st, P_FLOWS_FOR_EVENT, event ? event : "", cb, ctx);
}

store_err pg_flows_for_group(store *st, const char *group, store_flow_cb cb,
			     void *ctx)
{
	return flow_rows(st, P_FLOWS_FOR_GROUP, group ? group : "", cb, ctx);
}

/* ---- runs ---- */

/* Row i as a run whose props point into res. */
static void read_run(const PGresult *res, int i, store_run *r)
{
	memset(r, 0, sizeof *r);
	r->id = pg__int64(res, i, 0);
	pg__copy(res, i, 1, r->flow_id, sizeof r->flow_id);
	r->version = (int)pg__int64(res, i, 2);
	r->user_id = pg__int64(res, i, 3);
	/* The schema's CHECK admits only the names store.h knows. */
	store__run_state_parse(PQgetvalue(res, i, 4), &r->state);
	r->step = (int)pg__int64(res, i, 5);
	r->attempts = (int)pg__int64(res, i, 6);
	r->next_ms = pg__int64(res, i, 7);
	r->created_ms = pg__int64(res, i, 8);
	r->updated_ms = pg__int64(res, i, 9);
	r->entry_props = PQgetvalue(res, i, 10);
	r->event_props = PQgetisnull(res, i, 11) ? NULL
						 : PQgetvalue(res, i, 11);
}

/* Every row of statement q, in order, to cb. */
static store_err run_rows(store *st, int q, const pg_args *a,
			  store_run_cb cb, void *ctx)
{
	store_run run;
	PGresult *r;
	store_err err = pg__query(st, q, a, &r);

	for (int i = 0; !err && i < PQntuples(r); i++) {
		read_run(r, i, &run);
		if (cb(ctx, &run))
			break;
	}
	PQclear(r);
	return err;
}

store_err pg_run_insert(store *st, store_run *r, int once)
{
	pg_args a = {0};

	if (!store__fits(r->entry_props, STORE_PROPS_MAX) ||
	    !store__fits(r->event_props, STORE_PROPS_MAX))
		return STORE_INVALID;
	pg__text(&a, r->flow_id);
	pg__int(&a, r->version);
	pg__int(&a, r->user_id);
	pg__text(&a, store_run_state_name(r->state));
	pg__int(&a, r->step);
	pg__int(&a, r->attempts);
	pg__int(&a, r->next_ms);
	pg__int(&a, r->created_ms);
	pg__int(&a, r->updated_ms);
	pg__text(&a, r->entry_props);
	pg__text(&a, r->event_props);
	/* No row: the user has a run of this flow already. */
	return pg__insert_id(st, once ? P_RUN_INSERT_ONCE : P_RUN_INSERT, &a,
			     &r->id);
}

store_err pg_run_get(store *st, int64_t id, store_run *out)
{
	pg_args a = {0};
	PGresult *r;
	store_err err;

	memset(out, 0, sizeof *out);
	pg__int(&a, id);
	if ((err = pg__one_row(st, P_RUN_GET, &a, &r)))
		return err;
	read_run(r, 0, out);
	err = store__run_own(out);
	PQclear(r);
	return err;
}

/* A nonzero answer from cb ends the calls; the runs it did not see stay
 * claimed until their lease runs out. */
store_err pg_run_claim(store *st, int64_t now_ms, int64_t lease_ms,
		       size_t limit, store_run_cb cb, void *ctx)
{
	pg_args a = {0};

	pg__int(&a, now_ms);
	pg__int(&a, store__lease_end(now_ms, lease_ms));
	pg__int(&a, store__limit(limit));
	return run_rows(st, P_RUN_CLAIM, &a, cb, ctx);
}

store_err pg_run_update(store *st, const store_run *r)
{
	pg_args a = {0};

	pg__text(&a, store_run_state_name(r->state));
	pg__int(&a, r->step);
	pg__int(&a, r->attempts);
	pg__int(&a, r->next_ms);
	pg__int(&a, r->updated_ms);
	pg__int(&a, r->id);
	return change_one(st, P_RUN_UPDATE, &a, STORE_NOTFOUND);
}

store_err pg_runs_by_flow(store *st, const char *flow, size_t limit,
			  store_run_cb cb, void *ctx)
{
	pg_args a = {0};

	pg__text(&a, flow);
	pg__int(&a, store__limit(limit));
	return run_rows(st, P_RUNS_BY_FLOW, &a, cb, ctx);
}

store_err pg_run_next_due(store *st, int64_t *next_ms)
{
	return pg__min_of(st, P_RUN_NEXT_DUE, next_ms);
}

store_err pg_run_last_entry(store *st, const char *flow, int64_t user,
			    int64_t *created_ms)
{
	pg_args a = {0};
	PGresult *r;
	store_err err;

	pg__text(&a, flow);
	pg__int(&a, user);
	err = pg__one_row(st, P_RUN_LAST_ENTRY, &a, &r);
	/* max() over no rows is one NULL row. */
	if (!err && PQgetisnull(r, 0, 0))
		err = STORE_NOTFOUND;
	if (!err)
		*created_ms = pg__int64(r, 0, 0);
	PQclear(r);
	return err;
}

/* ---- step logs ---- */

store_err pg_step_log_add(store *st, const store_step_log *l)
{
	pg_args a = {0};

	pg__int(&a, l->run_id);
	pg__int(&a, l->step);
	pg__int(&a, l->attempt);
	pg__int(&a, l->time_ms);
	pg__text(&a, l->outcome);
	pg__int(&a, l->http_status);
	pg__text(&a, l->detail);
	return pg__defer(st, P_STEP_LOG_ADD, &a);
}

store_err pg_step_logs(store *st, int64_t run, store_step_cb cb, void *ctx)
{
	pg_args a = {0};
	store_step_log l;
	PGresult *r;
	store_err err;

	pg__int(&a, run);
	err = pg__query(st, P_STEP_LOGS, &a, &r);
	for (int i = 0; !err && i < PQntuples(r); i++) {
		memset(&l, 0, sizeof l);
		l.run_id = pg__int64(r, i, 0);
		l.step = (int)pg__int64(r, i, 1);
		l.attempt = (int)pg__int64(r, i, 2);
		l.time_ms = pg__int64(r, i, 3);
		pg__copy(r, i, 4, l.outcome, sizeof l.outcome);
		l.http_status = (int)pg__int64(r, i, 5);
		pg__copy(r, i, 6, l.detail, sizeof l.detail);
		if (cb(ctx, &l))
			break;
	}
	PQclear(r);
	return err;
}
