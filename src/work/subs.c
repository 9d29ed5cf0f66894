/* subs: see subs.h. */
#include "work/subs.h"

#include <stdio.h>
#include <string.h>

/* `fresh`: the profile was created by this change, so it has no state. */
static store_err set_state(store *st, const subs_change *c,
			   const store_user *u, int fresh, subs_result *res)
{
	consent_state old = CONSENT_UNKNOWN;
	store_ledger e;
	store_err err = STORE_OK;

	res->profiles++;
	if (!fresh)
		err = store_sub_get(st, u->id, c->group_id, &old, NULL);
	if (err || !consent_is_change(old, c->state) ||
	    (c->keep_subscribed && old == CONSENT_SUBSCRIBED))
		return err;
	err = store_sub_put(st, u->id, c->group_id, c->state, c->source,
			    c->double_opt_in, c->now_ms);
	if (err)
		return err;
	memset(&e, 0, sizeof e);
	e.time_ms = c->now_ms;
	e.user_id = u->id;
	memcpy(e.external_id, u->external_id, sizeof e.external_id);
	memcpy(e.phone, u->phone, sizeof e.phone);
	memcpy(e.email, u->email, sizeof e.email);
	snprintf(e.group_id, sizeof e.group_id, "%s", c->group_id);
	e.old_state = old;
	e.new_state = c->state;
	e.source = c->source;
	snprintf(e.key_name, sizeof e.key_name, "%s", c->key_name ? c->key_name : "");
	snprintf(e.request_id, sizeof e.request_id, "%s",
		 c->request_id ? c->request_id : "");
	snprintf(e.client_addr, sizeof e.client_addr, "%s",
		 c->client_addr ? c->client_addr : "");
	snprintf(e.evidence, sizeof e.evidence, "%s",
		 c->evidence ? c->evidence : "");
	res->changed++;
	return store_ledger_append(st, &e);
}

static void put_phone(store_user *u, const phone_info *p)
{
	snprintf(u->phone, sizeof u->phone, "%s", p->e164);
	u->phone_valid = p->valid;
	snprintf(u->phone_type, sizeof u->phone_type, "%s",
		 phone_type_name(p->type));
}

static store_err create(store *st, const subs_change *c, store_user *u,
			subs_result *res)
{
	u->created_ms = u->updated_ms = c->now_ms;
	res->created++;
	return store_user_insert(st, u);
}

/* The profile named by ext (created if missing), with its paired contact. */
static store_err by_external_id(store *st, const subs_change *c, size_t i,
				subs_result *res)
{
	const phone_info *p = c->paired && c->n_phone ? &c->phones[i] : NULL;
	const char *mail = c->paired && c->n_email ? c->emails[i] : NULL;
	store_user u;
	store_err err;
	int fresh = 0;

	err = store_user_by_external_id(st, c->ext[i], &u);
	if (err == STORE_NOTFOUND) {
		fresh = 1;
		memset(&u, 0, sizeof u);
		snprintf(u.external_id, sizeof u.external_id, "%s", c->ext[i]);
		if (p)
			put_phone(&u, p);
		if (mail)
			snprintf(u.email, sizeof u.email, "%s", mail);
		err = create(st, c, &u, res);
	} else if (!err && ((p && strcmp(u.phone, p->e164) != 0) ||
			    (mail && strcmp(u.email, mail) != 0))) {
		if (p)
			put_phone(&u, p);
		if (mail)
			snprintf(u.email, sizeof u.email, "%s", mail);
		u.updated_ms = c->now_ms;
		err = store_user_update_contact(st, &u);
	}
	return err ? err : set_state(st, c, &u, fresh, res);
}

/* Every profile sharing a phone or e-mail; one anonymous one if none. */
static store_err by_contact(store *st, const subs_change *c,
			    const phone_info *p, const char *mail,
			    subs_result *res)
{
	int64_t ids[STORE_PHONE_SHARE_MAX];
	store_user u;
	size_t n = 0;
	store_err err;

	err = p ? store_users_by_phone(st, p->e164, ids, STORE_PHONE_SHARE_MAX,
				       &n)
		: store_users_by_email(st, mail, ids, STORE_PHONE_SHARE_MAX,
				       &n);
	if (err)
		return err;
	if (n == 0) {
		memset(&u, 0, sizeof u);
		if (p)
			put_phone(&u, p);
		else
			snprintf(u.email, sizeof u.email, "%s", mail);
		err = create(st, c, &u, res);
		return err ? err : set_state(st, c, &u, 1, res);
	}
	for (size_t i = 0; i < n && !err; i++) {
		err = store_user_get(st, ids[i], &u);
		if (!err)
			err = set_state(st, c, &u, 0, res);
	}
	return err;
}

store_err subs_apply(store *st, const subs_change *c, subs_result *res)
{
	store_err err = STORE_OK;

	memset(res, 0, sizeof *res);
	for (size_t i = 0; i < c->n_user && !err; i++) {
		store_user u;
		err = store_user_get(st, c->user_ids[i], &u);
		if (!err)
			err = set_state(st, c, &u, 0, res);
	}
	for (size_t i = 0; i < c->n_ext && !err; i++)
		err = by_external_id(st, c, i, res);
	if (c->paired)
		return err;
	for (size_t i = 0; i < c->n_phone && !err; i++)
		err = by_contact(st, c, &c->phones[i], NULL, res);
	for (size_t i = 0; i < c->n_email && !err; i++)
		err = by_contact(st, c, NULL, c->emails[i], res);
	return err;
}

void subs_want(store *st, const subs_change *c)
{
	for (size_t i = 0; i < c->n_ext; i++)
		store_want_user(st, STORE_BY_EXTERNAL_ID, c->ext[i],
				c->group_id);
	if (c->paired)
		return;
	for (size_t i = 0; i < c->n_phone; i++)
		store_want_user(st, STORE_BY_PHONE, c->phones[i].e164,
				c->group_id);
	for (size_t i = 0; i < c->n_email; i++)
		store_want_user(st, STORE_BY_EMAIL, c->emails[i], c->group_id);
}
