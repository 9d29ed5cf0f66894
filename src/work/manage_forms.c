/*
 * manage_forms: the hosted sign-up form operations of manage.h.
 *
 * A form is checked in full before anything is stored: its groups must
 * exist, and an SMS group's consent text must carry the disclosure's
 * STOP, HELP and "rates may apply" (core/form.h). Each text is stored
 * once under its SHA-256, the name the ledger's evidence will use; an
 * e-mail box without a text of its own shows (and stores) a default one.
 */
#include "core/form.h"
#include "lib/secret.h"
#include "work/manage.h"
#include "work/manage_int.h"
#include "work/signup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *form_json(const signup_form *sf)
{
	const store_form *f = &sf->f;
	json_t *groups = json_array();
	char path[IDENT_GROUP_ID_MAX + 8];

	for (size_t i = 0; i < f->n_groups; i++) {
		const signup_box *b = &sf->box[i];
		json_array_append_new(groups, json_pack(
			"{s:s,s:s,s:s,s:b,s:s,s:s}", "group_id", b->group_id,
			"name", b->name, "channel",
			consent_channel_name(b->channel), "double_opt_in",
			b->double_opt_in, "consent_text", b->text,
			"consent_text_sha256", b->text_sha256));
	}
	snprintf(path, sizeof path, "/f/%s", f->id);
	return json_pack("{s:s,s:s,s:s,s:s?,s:o,s:o}", "id", f->id, "path",
			 path, "title", f->title, "redirect_url",
			 f->redirect_url[0] ? f->redirect_url : NULL, "groups",
			 groups, "created_at", manage_iso(f->created_ms));
}

/* A text field of the spec: a string of 1..max bytes of UTF-8 text
 * without control characters; NULL when absent. */
static manage_err text_field(json_t *spec, const char *name, size_t max,
			     const char **out, char *err)
{
	json_t *v = json_object_get(spec, name);
	const char *s = json_string_value(v);

	*out = NULL;
	if (!v)
		return MANAGE_OK;
	if (!s || !*s)
		return manage_fail(err, MANAGE_INVALID, "%s must be a "
				   "non-empty string", name);
	if (strlen(s) > max)
		return manage_fail(err, MANAGE_INVALID, "%s is longer than %zu "
				   "bytes", name, max);
	if (!ident_utf8_ok(s, strlen(s)))
		return manage_fail(err, MANAGE_INVALID, "%s may not hold "
				   "control characters", name);
	*out = s;
	return MANAGE_OK;
}

/* groups[i]: {"group_id", "consent_text"?} into box i, text stored. */
static manage_err parse_box(store *st, json_t *item, size_t i,
			    store_form *f, int64_t now_ms, char *err)
{
	static const char *const known[] = {"group_id", "consent_text", NULL};
	char field[32], gid[IDENT_GROUP_ID_MAX + 1], text[FORM_TEXT_MAX + 1];
	char why_buf[MANAGE_ERR_MAX];
	const char *id = json_string_value(json_object_get(item, "group_id"));
	const char *t, *why;
	store_group g;
	store_err e;
	manage_err m;

	snprintf(field, sizeof field, "groups[%zu].consent_text", i);
	if (!json_is_object(item))
		return manage_fail(err, MANAGE_INVALID, "groups[%zu] must be an "
				   "object", i);
	if ((m = manage_only_fields(item, known, err)))
		return m;
	if (!id || (why = ident_check_group_id(id)))
		return manage_fail(err, MANAGE_INVALID, "groups[%zu].group_id "
				   "%s", i, id ? why : "must be a string");
	snprintf(gid, sizeof gid, "%s", id);
	for (size_t k = 0; k < i; k++)
		if (!strcmp(f->groups[k].group_id, gid))
			return manage_fail(err, MANAGE_INVALID, "groups[%zu]: "
					   "group \"%s\" is on the form twice",
					   i, gid);
	e = store_group_get(st, gid, &g);
	if (e == STORE_NOTFOUND)
		return manage_fail(err, MANAGE_INVALID, "groups[%zu].group_id: "
				   "no subscription group \"%s\"", i, gid);
	if (e)
		return manage_store_fail(err, e);
	if ((m = text_field(item, "consent_text", FORM_TEXT_MAX, &t, why_buf)))
		return manage_fail(err, m, "groups[%zu].%s", i, why_buf);
	if (g.channel == CHANNEL_SMS && !t)
		return manage_fail(err, MANAGE_INVALID, "%s is required for an "
				   "SMS group (the CTIA disclosure: brand, "
				   "frequency, \"Msg & data rates may apply\", "
				   "STOP and HELP)", field);
	if (g.channel == CHANNEL_SMS && (why = form_sms_text_missing(t)))
		return manage_fail(err, MANAGE_INVALID, "%s must mention %s "
				   "(the CTIA disclosure: brand, frequency, "
				   "\"Msg & data rates may apply\", STOP and "
				   "HELP)", field, why);
	snprintf(text, sizeof text, t ? "%s" : "Send me e-mail: %s.",
		 t ? t : g.name);
	memcpy(f->groups[i].group_id, gid, sizeof gid);
	secret_sha256_hex(text, strlen(text), f->groups[i].text_sha256);
	e = store_consent_text_put(st, f->groups[i].text_sha256, text, now_ms);
	return e ? manage_store_fail(err, e) : MANAGE_OK;
}

static manage_err parse_form(store *st, json_t *spec, store_form *f,
			     int64_t now_ms, char *err)
{
	static const char *const known[] = {"id", "title", "groups",
					    "redirect_url", NULL};
	json_t *groups = json_object_get(spec, "groups");
	const char *id, *title, *url, *why;
	manage_err m;

	if (!json_is_object(spec))
		return manage_fail(err, MANAGE_INVALID, "body must be a JSON "
				   "object");
	if ((m = manage_only_fields(spec, known, err)) ||
	    (m = text_field(spec, "id", IDENT_GROUP_ID_MAX, &id, err)) ||
	    (m = text_field(spec, "title", FORM_TITLE_MAX, &title, err)) ||
	    (m = text_field(spec, "redirect_url", FORM_URL_MAX, &url, err)))
		return m;
	if (id && (why = ident_check_group_id(id)))
		return manage_fail(err, MANAGE_INVALID, "id %s", why);
	if (!title)
		return manage_fail(err, MANAGE_INVALID, "title is required");
	if (url && (why = form_url_check(url)))
		return manage_fail(err, MANAGE_INVALID, "redirect_url %s", why);
	if (!json_is_array(groups) || json_array_size(groups) == 0 ||
	    json_array_size(groups) > FORM_GROUPS_MAX)
		return manage_fail(err, MANAGE_INVALID, "groups must be an "
				   "array of 1 to %d groups", FORM_GROUPS_MAX);
	if (id)
		snprintf(f->id, sizeof f->id, "%s", id);
	else if (secret_uuid(f->id) != 0)
		return manage_fail(err, MANAGE_STORE, "no randomness available");
	snprintf(f->title, sizeof f->title, "%s", title);
	snprintf(f->redirect_url, sizeof f->redirect_url, "%s", url ? url : "");
	f->n_groups = json_array_size(groups);
	for (size_t i = 0; i < f->n_groups; i++)
		if ((m = parse_box(st, json_array_get(groups, i), i, f, now_ms,
				   err)))
			return m;
	f->created_ms = f->updated_ms = now_ms;
	return MANAGE_OK;
}

manage_err manage_form_create(store *st, json_t *spec, int64_t now_ms,
			      json_t **out, char err[MANAGE_ERR_MAX])
{
	store_form *f = calloc(1, sizeof *f);
	manage_err m;
	store_err e;

	*out = NULL;
	if (!f)
		return manage_fail(err, MANAGE_STORE, "out of memory");
	m = parse_form(st, spec, f, now_ms, err);
	e = m ? STORE_OK : store_form_insert(st, f);
	if (e == STORE_CONFLICT)
		m = manage_fail(err, MANAGE_CONFLICT, "form \"%s\" already "
				"exists", f->id);
	else if (e)
		m = manage_store_fail(err, e);
	if (!m)
		m = manage_form_get(st, f->id, out, err);
	free(f);
	return m;
}

manage_err manage_form_get(store *st, const char *id, json_t **out,
			   char err[MANAGE_ERR_MAX])
{
	signup_form *sf = calloc(1, sizeof *sf);
	store_err e = sf ? signup_form_load(st, id, sf) : STORE_NOMEM;

	*out = NULL;
	if (!e)
		*out = form_json(sf);
	free(sf);
	if (e == STORE_NOTFOUND)
		return manage_fail(err, MANAGE_NOTFOUND, "no form \"%.64s\"", id);
	return e ? manage_store_fail(err, e) : MANAGE_OK;
}

static int form_id_add(void *ctx, const store_form *f)
{
	return json_array_append_new(ctx, json_string(f->id)) != 0;
}

manage_err manage_form_list(store *st, json_t **out,
			    char err[MANAGE_ERR_MAX])
{
	json_t *ids = json_array(), *list = json_array(), *one, *v;
	store_err e = store_form_list(st, form_id_add, ids);
	manage_err m = e ? manage_store_fail(err, e) : MANAGE_OK;
	size_t i;

	*out = NULL;
	json_array_foreach(ids, i, v) {
		if (m || (m = manage_form_get(st, json_string_value(v), &one,
					      err)))
			break;
		json_array_append_new(list, one);
	}
	json_decref(ids);
	if (m) {
		json_decref(list);
		return m;
	}
	*out = json_pack("{s:o}", "forms", list);
	return MANAGE_OK;
}

manage_err manage_consent_text(store *st, const char *sha256, json_t **out,
			       char err[MANAGE_ERR_MAX])
{
	char *text = NULL;
	store_err e = store_consent_text_get(st, sha256, &text);

	*out = NULL;
	if (e == STORE_NOTFOUND)
		return manage_fail(err, MANAGE_NOTFOUND, "no consent text with "
				   "SHA-256 \"%.64s\"", sha256);
	if (e)
		return manage_store_fail(err, e);
	*out = json_pack("{s:s,s:s}", "sha256", sha256, "text", text);
	free(text);
	return MANAGE_OK;
}
