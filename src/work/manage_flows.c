/* manage_flows: the flow and event operations of manage.h. */
#include "core/flowdef.h"
#include "work/manage.h"
#include "work/manage_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *flow_json(const store_flow *f)
{
	return json_pack("{s:s,s:s,s:i,s:b,s:s?,s:s?,s:o,s:o}", "id", f->id,
			 "name", f->name, "version", f->version, "enabled",
			 f->enabled, "entry_event",
			 f->entry_event[0] ? f->entry_event : NULL,
			 "entry_group", f->entry_group[0] ? f->entry_group
							  : NULL,
			 "created_at", manage_iso(f->created_ms),
			 "updated_at", manage_iso(f->updated_ms));
}

manage_err manage_flow_save(store *st, const char *id, json_t *def,
			    int64_t now_ms, json_t **out,
			    char err[MANAGE_ERR_MAX])
{
	char ferr[FLOW_ERR_MAX];
	flowdef *fd = NULL;
	store_flow f;
	store_err e;
	char *text;

	*out = NULL;
	if (id && json_is_object(def) && !json_object_get(def, "id"))
		json_object_set_new(def, "id", json_string(id));
	text = json_dumps(def, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!text)
		return manage_fail(err, MANAGE_STORE, "out of memory");
	if (strlen(text) > STORE_FLOW_DEF_MAX) {
		free(text);
		return manage_fail(err, MANAGE_INVALID, "a flow definition is "
				   "at most %d bytes", STORE_FLOW_DEF_MAX);
	}
	if (flowdef_parse(text, strlen(text), &fd, ferr) != FLOW_OK) {
		free(text);
		return manage_fail(err, MANAGE_INVALID, "%s", ferr);
	}
	if (id && strcmp(id, flowdef_id(fd)) != 0) {
		manage_fail(err, MANAGE_INVALID, "id \"%.64s\" in the body is "
			    "not the flow's id", flowdef_id(fd));
		flowdef_free(fd);
		free(text);
		return MANAGE_INVALID;
	}
	memset(&f, 0, sizeof f);
	snprintf(f.id, sizeof f.id, "%s", flowdef_id(fd));
	snprintf(f.name, sizeof f.name, "%s", flowdef_name(fd));
	snprintf(f.entry_event, sizeof f.entry_event, "%s",
		 flowdef_entry_event(fd) ? flowdef_entry_event(fd) : "");
	snprintf(f.entry_group, sizeof f.entry_group, "%s",
		 flowdef_entry_group(fd) ? flowdef_entry_group(fd) : "");
	flowdef_free(fd);
	f.enabled = 1;
	f.version = 1;
	f.created_ms = f.updated_ms = now_ms;
	e = id ? store_flow_new_version(st, &f, text)
	       : store_flow_insert(st, &f, text);
	free(text);
	if (e == STORE_CONFLICT)
		return manage_fail(err, MANAGE_CONFLICT, "flow \"%s\" exists; "
				   "PUT /admin/flows/%s saves a new version",
				   f.id, f.id);
	if (e == STORE_NOTFOUND)
		return manage_fail(err, MANAGE_NOTFOUND, "no flow \"%.64s\"",
				   id);
	if (e)
		return manage_store_fail(err, e);
	return manage_flow_get(st, f.id, out, err);
}

manage_err manage_flow_get(store *st, const char *id, json_t **out,
			   char err[MANAGE_ERR_MAX])
{
	store_flow f;
	char *def = NULL;
	store_err e = store_flow_get(st, id, &f);

	*out = NULL;
	if (!e)
		e = store_flow_def(st, id, f.version, &def);
	if (e == STORE_NOTFOUND)
		return manage_fail(err, MANAGE_NOTFOUND, "no flow \"%.64s\"",
				   id);
	if (e)
		return manage_store_fail(err, e);
	*out = flow_json(&f);
	json_object_set_new(*out, "definition", json_loads(def, 0, NULL));
	free(def);
	return MANAGE_OK;
}

static int flow_add(void *ctx, const store_flow *f)
{
	return json_array_append_new(ctx, flow_json(f)) != 0;
}

manage_err manage_flow_list(store *st, json_t **out,
			    char err[MANAGE_ERR_MAX])
{
	json_t *list = json_array();
	store_err e = store_flow_list(st, flow_add, list);

	*out = NULL;
	if (e) {
		json_decref(list);
		return manage_store_fail(err, e);
	}
	*out = json_pack("{s:o}", "flows", list);
	return MANAGE_OK;
}

manage_err manage_flow_enable(store *st, const char *id, int enabled,
			      int64_t now_ms, json_t **out,
			      char err[MANAGE_ERR_MAX])
{
	store_err e = store_flow_set_enabled(st, id, enabled, now_ms);

	*out = NULL;
	if (e == STORE_NOTFOUND)
		return manage_fail(err, MANAGE_NOTFOUND, "no flow \"%.64s\"",
				   id);
	if (e)
		return manage_store_fail(err, e);
	return manage_flow_get(st, id, out, err);
}

typedef struct {
	store *st;
	json_t *list;
	store_err e;
} run_iter;

static int step_add(void *ctx, const store_step_log *l)
{
	return json_array_append_new(ctx, json_pack(
		"{s:i,s:i,s:o,s:s,s:i,s:s}", "step", l->step, "attempt",
		l->attempt, "time", manage_iso(l->time_ms), "outcome",
		l->outcome, "http_status", l->http_status, "detail",
		l->detail)) != 0;
}

static int run_add(void *ctx, const store_run *r)
{
	run_iter *it = ctx;
	json_t *steps = json_array();
	json_t *o = json_pack("{s:I,s:i,s:I,s:s,s:i,s:i,s:o,s:o,s:o,s:o}",
			      "id", (json_int_t)r->id, "version", r->version,
			      "user_id", (json_int_t)r->user_id, "state",
			      store_run_state_name(r->state), "step", r->step,
			      "attempts", r->attempts, "next_at",
			      manage_iso(r->next_ms), "created_at",
			      manage_iso(r->created_ms), "updated_at",
			      manage_iso(r->updated_ms), "steps", steps);

	if (!o)
		return 1;
	json_object_set_new(o, "entry_properties",
			    r->entry_props ? json_loads(r->entry_props, 0, NULL)
					   : json_object());
	it->e = store_step_logs(it->st, r->id, step_add, steps);
	json_array_append_new(it->list, o);
	return it->e != STORE_OK;
}

manage_err manage_flow_runs(store *st, const char *id, size_t limit,
			    json_t **out, char err[MANAGE_ERR_MAX])
{
	run_iter it = {st, json_array(), STORE_OK};
	store_flow f;
	store_err e = store_flow_get(st, id, &f);

	*out = NULL;
	if (limit == 0 || limit > MANAGE_RUNS_PAGE_MAX)
		limit = MANAGE_RUNS_PAGE_MAX;
	if (!e)
		e = store_runs_by_flow(st, id, limit, run_add, &it);
	if (!e)
		e = it.e;
	if (e) {
		json_decref(it.list);
		return e == STORE_NOTFOUND
			       ? manage_fail(err, MANAGE_NOTFOUND, "no flow "
					     "\"%.64s\"", id)
			       : manage_store_fail(err, e);
	}
	*out = json_pack("{s:s,s:o}", "flow_id", id, "runs", it.list);
	return MANAGE_OK;
}

static int event_add(void *ctx, const store_event *e)
{
	json_t *o = json_pack("{s:I,s:s,s:o,s:o}", "id", (json_int_t)e->id,
			      "name", e->name, "time", manage_iso(e->time_ms),
			      "received_at", manage_iso(e->created_ms));

	if (o && e->props)
		json_object_set_new(o, "properties",
				    json_loads(e->props, 0, NULL));
	return json_array_append_new(ctx, o) != 0;
}

manage_err manage_user_events(store *st, const char *external_id,
			      size_t limit, json_t **out,
			      char err[MANAGE_ERR_MAX])
{
	json_t *list = json_array();
	store_user u;
	store_err e = store_user_by_external_id(st, external_id, &u);

	*out = NULL;
	if (limit == 0 || limit > MANAGE_RUNS_PAGE_MAX)
		limit = MANAGE_RUNS_PAGE_MAX;
	if (!e)
		e = store_events_by_user(st, u.id, limit, event_add, list);
	if (e) {
		json_decref(list);
		return e == STORE_NOTFOUND
			       ? manage_fail(err, MANAGE_NOTFOUND, "no user "
					     "with external_id \"%.64s\"",
					     external_id)
			       : manage_store_fail(err, e);
	}
	*out = json_pack("{s:s,s:o}", "external_id", external_id, "events",
			 list);
	return MANAGE_OK;
}
