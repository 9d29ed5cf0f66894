/* track: see track.h. */
#include "work/track.h"
#include "work/flows.h"
#include "work/inbound.h"
#include "work/subs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	track_job *j;
	store *st;
	json_t *errors; /* the parser's and this run's object errors */
	unsigned attrs, events, purchases;
} track_run;

static void obj_error(track_run *t, const char *array, int index,
		      const char *type)
{
	json_array_append_new(t->errors, json_pack("{s:s,s:s,s:i}", "type",
		type, "input_array", array, "index", index));
}

static store_err create(store *st, const track_who *w, int64_t now,
			store_user *u)
{
	memset(u, 0, sizeof *u);
	if (w->by == TRACK_BY_EXTERNAL_ID)
		snprintf(u->external_id, sizeof u->external_id, "%s", w->ext);
	if (w->by == TRACK_BY_EMAIL)
		snprintf(u->email, sizeof u->email, "%s", w->email);
	if (w->by == TRACK_BY_PHONE) {
		snprintf(u->phone, sizeof u->phone, "%s", w->phone.e164);
		u->phone_valid = w->phone.valid;
		snprintf(u->phone_type, sizeof u->phone_type, "%s",
			 phone_type_name(w->phone.type));
	}
	u->created_ms = u->updated_ms = now;
	store_err e = store_user_insert(st, u);
	if (!e && w->by == TRACK_BY_ALIAS)
		e = store_alias_add(st, u->id, w->alias_label, w->alias_name);
	return e;
}

/* The object's user; *found = 0 when it may not be created. */
static store_err resolve(track_run *t, const track_who *w, store_user *u,
			 int *found)
{
	store *st = t->st;
	int64_t id;
	size_t n = 0;
	store_err e;

	*found = 1;
	switch (w->by) {
	case TRACK_BY_EXTERNAL_ID:
		e = store_user_by_external_id(st, w->ext, u);
		break;
	case TRACK_BY_ALIAS:
		e = store_user_by_alias(st, w->alias_label, w->alias_name, u);
		break;
	default:
		e = w->by == TRACK_BY_EMAIL
			    ? store_users_by_email(st, w->email, &id, 1, &n)
			    : store_users_by_phone(st, w->phone.e164, &id, 1,
						   &n);
		if (!e)
			e = n ? store_user_get(st, id, u) : STORE_NOTFOUND;
	}
	if (e != STORE_NOTFOUND)
		return e;
	if (w->update_existing_only) {
		*found = 0;
		return STORE_OK;
	}
	return create(st, w, t->j->now_ms, u);
}

store_err track_merge_attrs(store *st, int64_t user, json_t *set,
			    int64_t now)
{
	char *text = NULL, *out = NULL;
	json_t *doc = NULL;
	const char *k;
	json_t *v;
	store_err e;

	if (json_object_size(set) == 0)
		return STORE_OK;
	e = store_user_attrs_get(st, user, &text);
	if (e)
		return e;
	doc = json_loads(text, 0, NULL);
	if (!json_is_object(doc)) {
		json_decref(doc);
		doc = json_object();
	}
	json_object_foreach(set, k, v) {
		if (json_is_null(v))
			json_object_del(doc, k);
		else
			json_object_set(doc, k, v);
	}
	out = json_dumps(doc, JSON_COMPACT);
	if (!out)
		e = STORE_NOMEM;
	else if (strlen(out) > STORE_ATTRS_MAX)
		e = STORE_INVALID;
	else
		e = store_user_attrs_set(st, user, out, now);
	free(text);
	free(out);
	json_decref(doc);
	return e;
}

static store_err contact(store *st, const track_attr *a, store_user *u,
			 int64_t now)
{
	int changed = 0;

	if (a->has_phone && strcmp(u->phone, a->phone.e164) != 0) {
		snprintf(u->phone, sizeof u->phone, "%s", a->phone.e164);
		u->phone_valid = a->phone.valid;
		snprintf(u->phone_type, sizeof u->phone_type, "%s",
			 phone_type_name(a->phone.type));
		changed = 1;
	}
	if (a->has_email && strcmp(u->email, a->email) != 0) {
		snprintf(u->email, sizeof u->email, "%s", a->email);
		changed = 1;
	}
	if (!changed)
		return STORE_OK;
	u->updated_ms = now;
	return store_user_update_contact(st, u);
}

/* One subscription_groups entry, as /subscription/status/set would. */
static store_err subscribe(track_run *t, const track_attr *a,
			   const track_sub *s, const store_user *u)
{
	store_group g;
	subs_result res;
	int queued = 0;
	store_err e = store_group_get(t->st, s->group_id, &g);
	char type[IDENT_GROUP_ID_MAX + 64];

	if (e == STORE_NOTFOUND) {
		snprintf(type, sizeof type, "subscription_group_id \"%s\" does "
			 "not exist", s->group_id);
		obj_error(t, "attributes", a->index, type);
		return STORE_OK;
	}
	int doi = s->double_opt_in && g.double_opt_in &&
		  g.channel == CHANNEL_SMS && s->state == CONSENT_SUBSCRIBED;
	subs_change ch = {
		.group_id = s->group_id,
		.state = doi ? CONSENT_UNSUBSCRIBED : s->state,
		.keep_subscribed = doi,
		.double_opt_in = s->double_opt_in,
		.source = CONSENT_SRC_API,
		.n_user = 1,
		.user_ids = &u->id,
		.key_name = t->j->key_name,
		.request_id = t->j->request_id,
		.client_addr = t->j->client,
		.evidence = "{\"endpoint\":\"users/track\"}",
		.now_ms = t->j->now_ms,
	};
	if (!e)
		e = subs_apply(t->st, &ch, &res);
	if (!e && doi && u->phone[0])
		e = inb_doi_prompt(t->st, s->group_id, u->phone, t->j->now_ms,
				   &queued);
	t->j->prompts += queued;
	return e;
}

/* Every group the object names exists; else it is that object's error and
 * nothing of it is applied (not even its user is made). */
static store_err groups_exist(track_run *t, const track_attr *a, int *ok)
{
	char type[IDENT_GROUP_ID_MAX + 64];
	store_group g;
	store_err e = STORE_OK;

	*ok = 1;
	for (size_t i = 0; i < a->n_subs && *ok && !e; i++) {
		e = store_group_get(t->st, a->subs[i].group_id, &g);
		if (e != STORE_NOTFOUND)
			continue;
		e = STORE_OK;
		*ok = 0;
		snprintf(type, sizeof type, "subscription_group_id \"%s\" does "
			 "not exist", a->subs[i].group_id);
		obj_error(t, "attributes", a->index, type);
	}
	return e;
}

static store_err apply_attr(track_run *t, const track_attr *a)
{
	store_user u;
	store_err e;
	int found, ok;

	e = groups_exist(t, a, &ok);
	if (e || !ok)
		return e;
	e = resolve(t, &a->who, &u, &found);
	if (!e && !found) {
		obj_error(t, "attributes", a->index, "user does not exist "
			  "(_update_existing_only)");
		return STORE_OK;
	}
	/* The merge is the one step that can refuse (too large), so it goes
	 * first: a refused object has written nothing. */
	if (!e)
		e = track_merge_attrs(t->st, u.id, a->set, t->j->now_ms);
	if (e == STORE_INVALID) {
		obj_error(t, "attributes", a->index, "attributes would be "
			  "larger than 100 KB");
		return STORE_OK;
	}
	if (!e)
		e = contact(t->st, a, &u, t->j->now_ms);
	for (size_t i = 0; !e && i < a->n_subs; i++)
		e = subscribe(t, a, &a->subs[i], &u);
	t->attrs += !e;
	return e;
}

static store_err apply_event(track_run *t, const track_event *ev)
{
	store_user u;
	store_event se;
	unsigned runs = 0;
	int found;
	store_err e = resolve(t, &ev->who, &u, &found);

	if (!e && !found) {
		obj_error(t, "events", ev->index, "user does not exist "
			  "(_update_existing_only)");
		return STORE_OK;
	}
	if (e)
		return e;
	memset(&se, 0, sizeof se);
	se.user_id = u.id;
	snprintf(se.name, sizeof se.name, "%s", ev->name);
	se.time_ms = ev->time_ms;
	se.created_ms = t->j->now_ms;
	se.props = ev->props;
	e = store_event_insert(t->st, &se);
	flows_event fe = {
		.user_id = u.id,
		.event = ev->name,
		.props = ev->props,
		.now_ms = t->j->now_ms,
	};
	if (!e)
		e = flows_enter_event(t->st, &fe, &runs);
	t->j->runs += runs;
	t->events += !e;
	return e;
}

static store_err apply_purchase(track_run *t, const track_purchase *p)
{
	store_user u;
	int found;
	store_err e = resolve(t, &p->who, &u, &found);

	if (!e && !found) {
		obj_error(t, "purchases", p->index, "user does not exist "
			  "(_update_existing_only)");
		return STORE_OK;
	}
	store_purchase sp = {
		.user_id = u.id,
		.price = p->price,
		.quantity = p->quantity,
		.time_ms = p->time_ms,
		.props = p->props,
	};
	snprintf(sp.product_id, sizeof sp.product_id, "%s", p->product_id);
	memcpy(sp.currency, p->currency, sizeof sp.currency);
	if (!e)
		e = store_purchase_insert(t->st, &sp);
	t->purchases += !e;
	return e;
}

static char *answer_of(track_run *t)
{
	json_t *o = json_pack("{s:s,s:i,s:i,s:i}", "message", "success",
			      "attributes_processed", t->attrs,
			      "events_processed", t->events,
			      "purchases_processed", t->purchases);
	char *s;

	if (o && json_array_size(t->errors))
		json_object_set(o, "errors", t->errors);
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

void track_job_clear(track_job *j)
{
	free(j->answer);
	j->answer = NULL;
	j->replayed = 0;
	j->status = 0;
	j->runs = j->prompts = 0;
	j->err = STORE_OK;
}

static store_err run_all(track_run *t)
{
	const track_req *r = t->j->req;
	store_err e = STORE_OK;

	for (size_t i = 0; !e && i < r->n_attrs; i++)
		e = apply_attr(t, &r->attrs[i]);
	for (size_t i = 0; !e && i < r->n_events; i++)
		e = apply_event(t, &r->events[i]);
	for (size_t i = 0; !e && i < r->n_purchases; i++)
		e = apply_purchase(t, &r->purchases[i]);
	return e;
}

int track_apply(store *st, void *arg)
{
	track_job *j = arg;
	track_run t = {.j = j, .st = st};
	store_err e;

	track_job_clear(j);
	if (j->idem_key[0]) {
		e = store_idem_get(st, TRACK_ROUTE, j->idem_key, &j->status,
				   &j->answer);
		if (e == STORE_OK) {
			j->replayed = 1;
			return 0;
		}
		if (e != STORE_NOTFOUND)
			goto out;
	}
	t.errors = json_copy(j->req->errors);
	e = t.errors ? run_all(&t) : STORE_NOMEM;
	if (!e) {
		j->status = 201;
		j->answer = answer_of(&t);
		e = j->answer ? STORE_OK : STORE_NOMEM;
	}
	if (!e && j->idem_key[0])
		e = store_idem_put(st, TRACK_ROUTE, j->idem_key, j->status,
				   j->answer, j->now_ms);
out:
	json_decref(t.errors);
	j->err = e;
	return e != STORE_OK;
}
