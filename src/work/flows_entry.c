/*
 * flows_entry: who enters a flow, and the per-thread pieces the runner
 * shares with entry (parsed definitions, the user view). See flows.h.
 */
#include "work/flows.h"
#include "work/flows_int.h"
#include "lib/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLOWS_ENTRY_MAX 32   /* flows one event may start */
#define FLOWS_REENTRY_MS 1000 /* re-entry: at most one entry this often */

typedef struct {
	char flow[STORE_FLOW_ID_MAX + 1];
	int version;
	flowdef *def;
	unsigned used;
} def_slot;

static _Thread_local def_slot defs[FLOWS_DEF_SLOTS];
static _Thread_local unsigned def_tick;
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

static void on_exit_free(void *unused)
{
	(void)unused;
	flows_thread_done();
}

static void exit_key_make(void) { pthread_key_create(&exit_key, on_exit_free); }

void flows_thread_done(void)
{
	for (int i = 0; i < FLOWS_DEF_SLOTS; i++) {
		flowdef_free(defs[i].def);
		defs[i].def = NULL;
	}
}

store_err flows_def(store *st, const char *flow, int version,
		    const flowdef **out)
{
	char err[FLOW_ERR_MAX];
	def_slot *victim = &defs[0];
	char *text = NULL;
	store_err e;

	for (int i = 0; i < FLOWS_DEF_SLOTS; i++) {
		def_slot *s = &defs[i];
		if (s->def && s->version == version && !strcmp(s->flow, flow)) {
			s->used = ++def_tick;
			*out = s->def;
			return STORE_OK;
		}
		if (!s->def || s->used < victim->used)
			victim = s;
	}
	e = store_flow_def(st, flow, version, &text);
	if (e)
		return e;
	pthread_once(&exit_once, exit_key_make);
	pthread_setspecific(exit_key, (void *)1);
	flowdef_free(victim->def);
	victim->def = NULL;
	if (flowdef_parse(text, strlen(text), &victim->def, err) != FLOW_OK) {
		log_warn("flow %s version %d: %s", flow, version, err);
		free(text);
		return STORE_INVALID;
	}
	free(text);
	snprintf(victim->flow, sizeof victim->flow, "%s", flow);
	victim->version = version;
	victim->used = ++def_tick;
	*out = victim->def;
	return STORE_OK;
}

/* ---- the user as templates and audiences see them ---- */

store_err flows_view_load(store *st, int64_t user, flows_view *v)
{
	char *text = NULL;
	store_err e;

	memset(v, 0, sizeof *v);
	v->st = st;
	e = store_user_get(st, user, &v->u);
	if (!e)
		e = store_user_attrs_get(st, user, &text);
	if (e)
		return e;
	v->attrs = json_loads(text, 0, NULL);
	free(text);
	v->texts = json_object();
	if (!json_is_object(v->attrs)) {
		json_decref(v->attrs);
		v->attrs = json_object();
	}
	return v->attrs && v->texts ? STORE_OK : STORE_NOMEM;
}

void flows_view_free(flows_view *v)
{
	json_decref(v->attrs);
	json_decref(v->texts);
	json_decref(v->entry_props);
	json_decref(v->event_props);
	memset(v, 0, sizeof *v);
}

/* A JSON value as template text; the text lives as long as the view. */
static tpl_found as_text(flows_view *v, const char *key, const json_t *x,
			 const char **val, size_t *len)
{
	json_t *t;
	char *s;

	if (!x || json_is_null(x))
		return TPL_ABSENT;
	if (json_is_false(x))
		return TPL_FALSE;
	if (json_is_string(x)) {
		*val = json_string_value(x);
		*len = json_string_length(x);
		return TPL_TEXT;
	}
	if (!(t = json_object_get(v->texts, key))) {
		s = json_is_boolean(x) ? strdup(json_is_true(x) ? "true"
								: "false")
				       : json_dumps(x, JSON_COMPACT |
							       JSON_ENCODE_ANY);
		t = s ? json_string(s) : NULL;
		free(s);
		if (!t || json_object_set_new(v->texts, key, t))
			return TPL_ABSENT;
	}
	*val = json_string_value(t);
	*len = json_string_length(t);
	return TPL_TEXT;
}

static tpl_found plain(const char *s, const char **val, size_t *len)
{
	if (!s[0])
		return TPL_ABSENT;
	*val = s;
	*len = strlen(s);
	return TPL_TEXT;
}

tpl_found flows_view_lookup(void *ctx, tpl_var_kind kind, const char *name,
			    const char **val, size_t *len)
{
	flows_view *v = ctx;
	char key[FLOW_NAME_MAX + 8];

	switch (kind) {
	case TPL_VAR_USER_ID: return plain(v->u.external_id, val, len);
	case TPL_VAR_PHONE: return plain(v->u.phone, val, len);
	case TPL_VAR_EMAIL: return plain(v->u.email, val, len);
	case TPL_VAR_FIRST_NAME:
		return as_text(v, "a:first_name",
			       json_object_get(v->attrs, "first_name"), val,
			       len);
	case TPL_VAR_LAST_NAME:
		return as_text(v, "a:last_name",
			       json_object_get(v->attrs, "last_name"), val,
			       len);
	case TPL_VAR_CUSTOM_ATTRIBUTE:
		snprintf(key, sizeof key, "a:%s", name);
		return as_text(v, key, json_object_get(v->attrs, name), val,
			       len);
	case TPL_VAR_ENTRY_PROPERTY:
		snprintf(key, sizeof key, "p:%s", name);
		return as_text(v, key, json_object_get(v->entry_props, name),
			       val, len);
	case TPL_VAR_EVENT_PROPERTY:
		snprintf(key, sizeof key, "e:%s", name);
		return as_text(v, key, json_object_get(v->event_props, name),
			       val, len);
	default:
		return TPL_ABSENT;
	}
}

static const json_t *view_attr(void *ctx, const char *name)
{
	flows_view *v = ctx;
	static const char *const own[] = {"external_id", "phone", "email"};
	const char *vals[] = {v->u.external_id, v->u.phone, v->u.email};

	for (int i = 0; i < 3; i++)
		if (!strcmp(name, own[i])) {
			json_t *s = json_string(vals[i]);
			json_object_set_new(v->texts, name, s);
			return s;
		}
	return json_object_get(v->attrs, name);
}

static int view_subscribed(void *ctx, const char *group)
{
	flows_view *v = ctx;
	consent_state s;

	if (store_sub_get(v->st, v->u.id, group, &s, NULL) != STORE_OK)
		return -1;
	return s == CONSENT_SUBSCRIBED;
}

void flows_view_user(flows_view *v, flow_user *out)
{
	out->attr = view_attr;
	out->subscribed = view_subscribed;
	out->phone_valid = v->u.phone_valid;
	out->ctx = v;
}

/* ---- entry ---- */

typedef struct {
	size_t n;
	store_flow f[FLOWS_ENTRY_MAX];
} flow_list;

static int collect(void *ctx, const store_flow *f)
{
	flow_list *l = ctx;

	if (l->n < FLOWS_ENTRY_MAX)
		l->f[l->n++] = *f;
	return 0;
}

/* Start a run of flow f for the user when the audience lets them in. */
static store_err enter(store *st, const store_flow *sf, flows_view *v,
		       const char *entry_props, const char *event_props,
		       unsigned *started)
{
	const flowdef *def;
	flow_user fu;
	store_run r;
	store_err e = flows_def(st, sf->id, sf->version, &def);
	int in;

	if (e == STORE_INVALID)
		return STORE_OK; /* logged: a flow that cannot run starts none */
	if (e)
		return e;
	flows_view_user(v, &fu);
	in = flowdef_audience(def, &fu);
	if (in < 0)
		return STORE_IO;
	if (!in)
		return STORE_OK;
	if (flowdef_reentry(def)) {
		/* Braze: one entry a second, however often the event comes */
		int64_t last;
		e = store_run_last_entry(st, sf->id, v->u.id, &last);
		if (!e && v->now_ms - last < FLOWS_REENTRY_MS)
			return STORE_OK;
		if (e && e != STORE_NOTFOUND)
			return e;
	}
	memset(&r, 0, sizeof r);
	snprintf(r.flow_id, sizeof r.flow_id, "%s", sf->id);
	r.version = sf->version;
	r.user_id = v->u.id;
	r.state = STORE_RUN_ACTIVE;
	r.next_ms = r.created_ms = r.updated_ms = v->now_ms;
	r.entry_props = (char *)(entry_props ? entry_props : "{}");
	r.event_props = (char *)event_props;
	e = store_run_insert(st, &r, !flowdef_reentry(def));
	if (e == STORE_CONFLICT) /* been in it before, re-entry off */
		return STORE_OK;
	*started += !e;
	return e;
}

store_err flows_enter_event(store *st, const flows_event *e,
			    unsigned *started)
{
	flow_list l = {0};
	flows_view v;
	store_err err;

	*started = 0;
	err = store_flows_for_event(st, e->event, collect, &l);
	if (err || l.n == 0)
		return err;
	err = flows_view_load(st, e->user_id, &v);
	v.now_ms = e->now_ms;
	for (size_t i = 0; !err && i < l.n; i++)
		err = enter(st, &l.f[i], &v, e->props, e->props, started);
	flows_view_free(&v);
	return err;
}

/* The oldest profile with the phone, or a new anonymous one. */
static store_err sms_user(store *st, const phone_info *p, int64_t now_ms,
			  int64_t *id)
{
	store_user u;
	size_t n = 0;
	store_err e = store_users_by_phone(st, p->e164, id, 1, &n);

	if (e || n)
		return e;
	memset(&u, 0, sizeof u);
	snprintf(u.phone, sizeof u.phone, "%s", p->e164);
	u.phone_valid = p->valid;
	snprintf(u.phone_type, sizeof u.phone_type, "%s",
		 phone_type_name(p->type));
	u.created_ms = u.updated_ms = now_ms;
	e = store_user_insert(st, &u);
	*id = u.id;
	return e;
}

store_err flows_enter_sms(store *st, const char *group,
			  const phone_info *from, const char *to,
			  const char *body, int64_t now_ms, unsigned *started)
{
	flow_list l = {0}, hit = {0};
	const flowdef *def;
	flows_view v = {0};
	char *props = NULL;
	int64_t user;
	store_err err;

	*started = 0;
	err = store_flows_for_group(st, group, collect, &l);
	for (size_t i = 0; !err && i < l.n; i++) {
		err = flows_def(st, l.f[i].id, l.f[i].version, &def);
		if (err == STORE_INVALID)
			err = STORE_OK;
		else if (!err && flowdef_sms_match(def, body))
			hit.f[hit.n++] = l.f[i];
	}
	if (err || hit.n == 0)
		return err;
	json_t *p = json_pack("{s:s,s:s,s:s}", "body", body, "from",
			      from->e164, "to", to);
	props = p ? json_dumps(p, JSON_COMPACT) : NULL;
	json_decref(p);
	if (!props)
		return STORE_NOMEM;
	err = sms_user(st, from, now_ms, &user);
	if (!err)
		err = flows_view_load(st, user, &v);
	v.now_ms = now_ms;
	for (size_t i = 0; !err && i < hit.n; i++)
		err = enter(st, &hit.f[i], &v, props, NULL, started);
	flows_view_free(&v);
	free(props);
	return err;
}
