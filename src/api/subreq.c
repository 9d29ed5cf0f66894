/* subreq: see subreq.h. */
#include "api/subreq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BOTH_MSG "Either an email address or a phone number should be " \
		 "provided, but not both."

/* Collect `name` as a string or (when !arrays_only) array of strings. */
static int ids_of(json_t *obj, const char *name, int arrays_only,
		  const char **out, size_t *n, char *err)
{
	json_t *v = json_object_get(obj, name), *x;
	size_t i;

	*n = 0;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v) && !arrays_only) {
		out[(*n)++] = json_string_value(v);
		return 0;
	}
	if (!json_is_array(v)) {
		snprintf(err, SUBREQ_ERR_MAX, arrays_only
			 ? "%s must be an array of strings"
			 : "%s must be a string or an array of strings", name);
		return -1;
	}
	if (json_array_size(v) == 0) {
		snprintf(err, SUBREQ_ERR_MAX, "%s must not be an empty array",
			 name);
		return -1;
	}
	if (json_array_size(v) > SUBS_IDS_MAX) {
		snprintf(err, SUBREQ_ERR_MAX,
			 "The max number of ids per request was exceeded: "
			 "%s has %zu entries, the limit is %d",
			 name, json_array_size(v), SUBS_IDS_MAX);
		return -1;
	}
	json_array_foreach(v, i, x) {
		if (!json_is_string(x)) {
			snprintf(err, SUBREQ_ERR_MAX,
				 "%s[%zu] must be a string", name, i);
			return -1;
		}
		out[(*n)++] = json_string_value(x);
	}
	return 0;
}

static int check_ext(subreq_item *it, const char *name, char *err)
{
	for (size_t i = 0; i < it->n_ext; i++) {
		const char *why = ident_check_external_id(it->ext[i]);
		if (why) {
			snprintf(err, SUBREQ_ERR_MAX, "%s \"%.64s\" %s", name,
				 it->ext[i], why);
			return -1;
		}
	}
	return 0;
}

static int take_phones(subreq_item *it, const char **raw, size_t n,
		       const char *name, const char *region, char *err)
{
	for (size_t i = 0; i < n; i++) {
		phone_err pe = phone_normalize(raw[i], strlen(raw[i]), region,
					       &it->phone[i]);
		if (pe) {
			snprintf(err, SUBREQ_ERR_MAX, "%s \"%.64s\" %s", name,
				 raw[i], phone_strerror(pe));
			return -1;
		}
	}
	it->n_phone = n;
	return 0;
}

static int take_emails(subreq_item *it, const char **raw, size_t n,
		       const char *name, char *err)
{
	for (size_t i = 0; i < n; i++) {
		const char *why = ident_check_email(raw[i]);
		if (why) {
			snprintf(err, SUBREQ_ERR_MAX, "%s \"%.64s\" %s", name,
				 raw[i], why);
			return -1;
		}
		it->email[i] = strdup(raw[i]);
		if (!it->email[i])
			return -2;
		it->n_email = i + 1;
		ident_email_normalize(it->email[i]);
	}
	return 0;
}

static int common_fields(json_t *obj, subreq_item *it, int inherit_doi,
			 char *err)
{
	json_t *g = json_object_get(obj, "subscription_group_id");
	json_t *s = json_object_get(obj, "subscription_state");
	json_t *d = json_object_get(obj, "use_double_opt_in_logic");
	const char *why;

	if (!g || !json_is_string(g)) {
		snprintf(err, SUBREQ_ERR_MAX, g ? "subscription_group_id must "
			 "be a string" : "subscription_group_id is required");
		return -1;
	}
	why = ident_check_group_id(json_string_value(g));
	if (why) {
		snprintf(err, SUBREQ_ERR_MAX, "subscription_group_id %s", why);
		return -1;
	}
	snprintf(it->group_id, sizeof it->group_id, "%s", json_string_value(g));
	if (!s || !json_is_string(s) ||
	    consent_state_parse(json_string_value(s), &it->state) != 0) {
		snprintf(err, SUBREQ_ERR_MAX, s ? "subscription_state must be "
			 "\"subscribed\" or \"unsubscribed\""
			 : "subscription_state is required");
		return -1;
	}
	if (d && !json_is_boolean(d)) {
		snprintf(err, SUBREQ_ERR_MAX,
			 "use_double_opt_in_logic must be true or false");
		return -1;
	}
	it->double_opt_in = d ? json_is_true(d) : inherit_doi;
	return 0;
}

/* Identifier fields of one item; names differ between v1 and v2. */
static int identifiers(json_t *obj, subreq_item *it, const char *region,
		       const char *const names[3], int arrays_only, char *err)
{
	const char *phones[SUBS_IDS_MAX], *emails[SUBS_IDS_MAX];
	size_t np, ne;
	int rc;

	if (ids_of(obj, names[0], arrays_only, it->ext, &it->n_ext, err) ||
	    ids_of(obj, names[1], arrays_only, phones, &np, err) ||
	    ids_of(obj, names[2], arrays_only, emails, &ne, err))
		return -1;
	if (np && ne) {
		snprintf(err, SUBREQ_ERR_MAX, BOTH_MSG);
		return -1;
	}
	if (!it->n_ext && !np && !ne) {
		snprintf(err, SUBREQ_ERR_MAX, "one of %s, %s or %s is required",
			 names[0], names[1], names[2]);
		return -1;
	}
	/*
	 * Equal counts pair up: external_id[i] gets phone[i] (the seed's
	 * sign-up call). Otherwise, as in Braze's own example of one
	 * external_id with two phones, each list names profiles on its own.
	 */
	it->paired = it->n_ext && it->n_ext == (np ? np : ne);
	if (check_ext(it, names[0], err) ||
	    take_phones(it, phones, np, names[1], region, err))
		return -1;
	rc = take_emails(it, emails, ne, names[2], err);
	return rc;
}

static subreq_err start(json_t *root, subreq *out, size_t n)
{
	memset(out, 0, sizeof *out);
	out->items = calloc(n, sizeof *out->items);
	if (!out->items)
		return SUBREQ_ERR_NOMEM;
	out->root = json_incref(root);
	return SUBREQ_OK;
}

static subreq_err fail(subreq *out, int rc)
{
	subreq_free(out);
	return rc == -2 ? SUBREQ_ERR_NOMEM : SUBREQ_ERR_INVALID;
}

subreq_err subreq_parse_v1(json_t *root, const char *region, subreq *out,
			   char err[SUBREQ_ERR_MAX])
{
	static const char *const names[3] = {"external_id", "phone", "email"};
	int rc;

	if (start(root, out, 1))
		return SUBREQ_ERR_NOMEM;
	out->n = 1;
	rc = common_fields(root, &out->items[0], 0, err);
	if (!rc)
		rc = identifiers(root, &out->items[0], region, names, 0, err);
	return rc ? fail(out, rc) : SUBREQ_OK;
}

subreq_err subreq_parse_v2(json_t *root, const char *region, subreq *out,
			   char err[SUBREQ_ERR_MAX])
{
	static const char *const names[3] = {"external_ids", "phones",
					     "emails"};
	json_t *groups = json_object_get(root, "subscription_groups"), *g;
	json_t *d = json_object_get(root, "use_double_opt_in_logic");
	size_t i, n;
	int rc = 0;

	memset(out, 0, sizeof *out);
	if (!groups || !json_is_array(groups) || !json_array_size(groups)) {
		snprintf(err, SUBREQ_ERR_MAX, groups ? "subscription_groups "
			 "must be a non-empty array" : "subscription_groups "
			 "is required");
		return SUBREQ_ERR_INVALID;
	}
	n = json_array_size(groups);
	if (n > SUBREQ_GROUPS_MAX) {
		snprintf(err, SUBREQ_ERR_MAX, "subscription_groups has %zu "
			 "entries, the limit is %d", n, SUBREQ_GROUPS_MAX);
		return SUBREQ_ERR_INVALID;
	}
	if (d && !json_is_boolean(d)) {
		snprintf(err, SUBREQ_ERR_MAX,
			 "use_double_opt_in_logic must be true or false");
		return SUBREQ_ERR_INVALID;
	}
	if (start(root, out, n))
		return SUBREQ_ERR_NOMEM;
	out->n = n;
	json_array_foreach(groups, i, g) {
		char sub[SUBREQ_ERR_MAX];
		if (!json_is_object(g)) {
			snprintf(sub, sizeof sub, "must be an object");
			rc = -1;
		} else {
			rc = common_fields(g, &out->items[i], json_is_true(d),
					   sub);
			if (!rc)
				rc = identifiers(g, &out->items[i], region,
						 names, 1, sub);
		}
		if (rc) {
			snprintf(err, SUBREQ_ERR_MAX,
				 "subscription_groups[%zu]: %.400s", i, sub);
			break;
		}
	}
	return rc ? fail(out, rc) : SUBREQ_OK;
}

void subreq_free(subreq *r)
{
	if (!r)
		return;
	for (size_t i = 0; r->items && i < r->n; i++)
		for (size_t k = 0; k < r->items[i].n_email; k++)
			free(r->items[i].email[k]);
	free(r->items);
	json_decref(r->root);
	memset(r, 0, sizeof *r);
}

const char *subreq_channel_error(const subreq_item *it, consent_channel ch,
				 char err[SUBREQ_ERR_MAX])
{
	if (ch == CHANNEL_SMS && it->n_email)
		snprintf(err, SUBREQ_ERR_MAX, "subscription group %s is an SMS "
			 "group: send external_id or phone, not email",
			 it->group_id);
	else if (ch == CHANNEL_EMAIL && it->n_phone)
		snprintf(err, SUBREQ_ERR_MAX, "subscription group %s is an "
			 "e-mail group: send external_id or email, not phone",
			 it->group_id);
	else
		return NULL;
	return err;
}
