/* signup: see signup.h. */
#include "work/signup.h"
#include "work/inbound.h"
#include "work/subs.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(FORM_GROUPS_MAX == STORE_FORM_GROUPS_MAX &&
		       FORM_TEXT_MAX == STORE_CONSENT_TEXT_MAX &&
		       FORM_TITLE_MAX == STORE_FORM_TITLE_MAX &&
		       FORM_URL_MAX == STORE_FORM_URL_MAX,
	       "a form's limits are the store's");

store_err signup_form_load(store *st, const char *id, signup_form *out)
{
	store_group g;
	char *text = NULL;
	store_err e;

	memset(out, 0, sizeof *out);
	if ((e = store_form_get(st, id, &out->f)))
		return e;
	for (size_t i = 0; i < out->f.n_groups; i++) {
		signup_box *b = &out->box[i];
		const store_form_group *fg = &out->f.groups[i];
		if ((e = store_group_get(st, fg->group_id, &g)) ||
		    (e = store_consent_text_get(st, fg->text_sha256, &text)))
			return e == STORE_NOTFOUND ? STORE_IO : e;
		memcpy(b->group_id, g.id, sizeof b->group_id);
		memcpy(b->name, g.name, sizeof b->name);
		b->channel = g.channel;
		b->double_opt_in = g.double_opt_in;
		memcpy(b->text_sha256, fg->text_sha256, sizeof b->text_sha256);
		snprintf(b->text, sizeof b->text, "%s", text);
		free(text);
		text = NULL;
	}
	return STORE_OK;
}

/* The profile the form speaks for: the first with the phone, else with
 * the e-mail, else a new one; given the contacts typed. */
static store_err find_profile(store *st, const signup_job *j)
{
	const form_post *p = j->post;
	store_user u;
	int64_t id;
	size_t n = 0;
	store_err e = STORE_OK;

	if (p->has_phone)
		e = store_users_by_phone(st, p->phone.e164, &id, 1, &n);
	if (!e && !n && p->has_email)
		e = store_users_by_email(st, p->email, &id, 1, &n);
	if (!e && n)
		e = store_user_get(st, id, &u);
	if (e)
		return e;
	if (!n)
		memset(&u, 0, sizeof u);
	if (p->has_phone) {
		snprintf(u.phone, sizeof u.phone, "%s", p->phone.e164);
		u.phone_valid = p->phone.valid;
		snprintf(u.phone_type, sizeof u.phone_type, "%s",
			 phone_type_name(p->phone.type));
	}
	if (p->has_email)
		snprintf(u.email, sizeof u.email, "%s", p->email);
	u.updated_ms = j->now_ms;
	if (n)
		return store_user_update_contact(st, &u);
	u.created_ms = j->now_ms;
	return store_user_insert(st, &u);
}

/* The evidence of box b: JSON text in out (STORE_EVIDENCE_MAX). */
static store_err evidence(const signup_job *j, const signup_box *b, int doi,
			  char *out)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "form", j->form->f.id,
			      "page_url", j->page_url, "user_agent",
			      j->user_agent, "consent_text_sha256",
			      b->text_sha256);
	char *s;

	if (o && doi)
		json_object_set_new(o, "double_opt_in", json_true());
	s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (!s || strlen(s) > STORE_EVIDENCE_MAX) {
		free(s);
		return STORE_NOMEM;
	}
	memcpy(out, s, strlen(s) + 1);
	free(s);
	return STORE_OK;
}

static store_err apply_box(store *st, signup_job *j, size_t i)
{
	const signup_box *b = &j->form->box[i];
	const form_post *p = j->post;
	char ev[STORE_EVIDENCE_MAX + 1];
	const char *email = p->email;
	int doi = b->double_opt_in && b->channel == CHANNEL_SMS, queued = 0;
	subs_change c = {
		.group_id = b->group_id,
		.state = doi ? CONSENT_UNSUBSCRIBED : CONSENT_SUBSCRIBED,
		.double_opt_in = doi,
		.source = CONSENT_SRC_FORM,
		.keep_subscribed = doi,
		.key_name = "",
		.request_id = j->request_id,
		.client_addr = j->client,
		.evidence = ev,
		.now_ms = j->now_ms,
	};
	subs_result res;
	store_err e = evidence(j, b, doi, ev);

	if (b->channel == CHANNEL_SMS)
		c.n_phone = 1, c.phones = &p->phone;
	else
		c.n_email = 1, c.emails = &email;
	if (!e)
		e = subs_apply(st, &c, &res);
	j->changed += e ? 0 : res.changed;
	if (!e && doi)
		e = inb_doi_prompt(st, b->group_id, p->phone.e164, j->now_ms,
				   &queued);
	j->prompts += (unsigned)queued;
	j->doi[i] = (unsigned)doi;
	return e;
}

int signup_apply(store *st, void *arg)
{
	signup_job *j = arg;

	j->changed = j->prompts = 0;
	memset(j->doi, 0, sizeof j->doi);
	j->err = find_profile(st, j);
	for (size_t i = 0; !j->err && i < j->form->f.n_groups; i++)
		if (j->post->ticked[i])
			j->err = apply_box(st, j, i);
	return j->err != STORE_OK;
}
