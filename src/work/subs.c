/* subs: see subs.h. */
#include "work/subs.h"
#include "lib/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Profiles a phone is read for before the heap is needed. */
#define SUBS_PHONE_FEW 4

/* `known`: the profile's state in the group when the caller has read it
 * already (CONSENT_UNKNOWN for a profile this change created), else NULL. */
static store_err set_state(store *st, const subs_change *c,
			   const store_user *u, const consent_state *known,
			   subs_result *res)
{
	consent_state old = CONSENT_UNKNOWN;
	store_ledger e;
	store_err err = STORE_OK;

	res->profiles++;
	if (known)
		old = *known;
	else
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
	str_copy(e.group_id, sizeof e.group_id, c->group_id);
	e.old_state = old;
	e.new_state = c->state;
	e.source = c->source;
	str_copy(e.key_name, sizeof e.key_name, c->key_name);
	str_copy(e.request_id, sizeof e.request_id, c->request_id);
	str_copy(e.client_addr, sizeof e.client_addr, c->client_addr);
	str_copy(e.evidence, sizeof e.evidence, c->evidence);
	res->changed++;
	return store_ledger_append(st, &e);
}

static void put_phone(store_user *u, const phone_info *p)
{
	str_copy(u->phone, sizeof u->phone, p->e164);
	u->phone_valid = p->valid;
	str_copy(u->phone_type, sizeof u->phone_type, phone_type_name(p->type));
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
	static const consent_state never = CONSENT_UNKNOWN;
	const consent_state *known = NULL;
	store_user u;
	store_err err;

	err = store_user_by_external_id(st, c->ext[i], &u);
	if (err == STORE_NOTFOUND) {
		known = &never;
		memset(&u, 0, sizeof u);
		str_copy(u.external_id, sizeof u.external_id, c->ext[i]);
		if (p)
			put_phone(&u, p);
		if (mail)
			str_copy(u.email, sizeof u.email, mail);
		err = create(st, c, &u, res);
	} else if (!err && ((p && strcmp(u.phone, p->e164) != 0) ||
			    (mail && strcmp(u.email, mail) != 0))) {
		if (p)
			put_phone(&u, p);
		if (mail)
			str_copy(u.email, sizeof u.email, mail);
		u.updated_ms = c->now_ms;
		err = store_user_update_contact(st, &u);
	}
	return err ? err : set_state(st, c, &u, known, res);
}

/* The anonymous profile made for a contact no profile has. */
static store_err by_new_contact(store *st, const subs_change *c,
				const phone_info *p, const char *mail,
				subs_result *res)
{
	static const consent_state never = CONSENT_UNKNOWN;
	store_user u;
	store_err err;

	memset(&u, 0, sizeof u);
	if (p)
		put_phone(&u, p);
	else
		str_copy(u.email, sizeof u.email, mail);
	err = create(st, c, &u, res);
	return err ? err : set_state(st, c, &u, &never, res);
}

/* Every profile sharing a phone, read with its state in the group. Most
 * phones have one profile: they are read onto the stack, and only a phone
 * that fills it is read again into STORE_PHONE_SHARE_MAX on the heap, so
 * the common webhook allocates nothing here (an 84 KB block a message
 * otherwise). */
static store_err by_phone(store *st, const subs_change *c,
			  const phone_info *p, subs_result *res)
{
	store_user_sub few[SUBS_PHONE_FEW], *us = few;
	size_t n = 0;
	store_err err;

	err = store_users_by_phone_in(st, p->e164, c->group_id, few,
				      SUBS_PHONE_FEW, &n);
	if (!err && n == SUBS_PHONE_FEW) {
		us = malloc(STORE_PHONE_SHARE_MAX * sizeof *us);
		if (!us)
			return STORE_NOMEM;
		err = store_users_by_phone_in(st, p->e164, c->group_id, us,
					      STORE_PHONE_SHARE_MAX, &n);
	}
	if (!err && n == 0)
		err = by_new_contact(st, c, p, NULL, res);
	for (size_t i = 0; i < n && !err; i++)
		err = set_state(st, c, &us[i].user, &us[i].state, res);
	if (us != few)
		free(us);
	return err;
}

/* Every profile sharing an e-mail; one anonymous one if none. */
static store_err by_email(store *st, const subs_change *c, const char *mail,
			  subs_result *res)
{
	int64_t ids[STORE_PHONE_SHARE_MAX];
	store_user u;
	size_t n = 0;
	store_err err;

	err = store_users_by_email(st, mail, ids, STORE_PHONE_SHARE_MAX, &n);
	if (!err && n == 0)
		return by_new_contact(st, c, NULL, mail, res);
	for (size_t i = 0; i < n && !err; i++) {
		err = store_user_get(st, ids[i], &u);
		if (!err)
			err = set_state(st, c, &u, NULL, res);
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
			err = set_state(st, c, &u, NULL, res);
	}
	for (size_t i = 0; i < c->n_ext && !err; i++)
		err = by_external_id(st, c, i, res);
	if (c->paired)
		return err;
	for (size_t i = 0; i < c->n_phone && !err; i++)
		err = by_phone(st, c, &c->phones[i], res);
	for (size_t i = 0; i < c->n_email && !err; i++)
		err = by_email(st, c, c->emails[i], res);
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
