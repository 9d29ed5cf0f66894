/*
 * user_status: GET /subscription/user/status, every group in the history
 * of each profile the query names. The answer has the shape Braze's live
 * API and its client libraries use:
 *   {"users":[{"external_id","email","phone","subscription_groups":
 *     [{"id","name","channel","status"}]}],"total_count":N,"message":"success"}
 */
#include "api/api.h"
#include "api/app.h"
#include "api/common.h"

#include <stdlib.h>
#include <string.h>

#define USER_STATUS_LIMIT_MAX 100
/* 50 ids of each kind, and a phone or e-mail may be shared by 100. */
#define USER_STATUS_IDS_MAX (SUBS_IDS_MAX * (1 + 2 * STORE_PHONE_SHARE_MAX))

typedef struct {
	int64_t *ids;
	size_t n;
} id_set;

static void id_add(id_set *s, int64_t id)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->ids[i] == id)
			return;
	if (s->n < USER_STATUS_IDS_MAX)
		s->ids[s->n++] = id;
}

static int parse_count(http_req *r, const char *name, long def, long min,
		       long max, long *out)
{
	const char *v = http_query(r, name);
	char *end;

	*out = def;
	if (!v)
		return 0;
	*out = strtol(v, &end, 10);
	if (!*v || *end || *out < min || *out > max) {
		http_reply_error(r, 400, NULL, "%s must be an integer from %ld "
				 "to %ld", name, min, max);
		return -1;
	}
	return 0;
}

static store_err gather(http_req *r, const api_ids *q, id_set *set)
{
	store *st = http_app(r)->st;
	int64_t ids[STORE_PHONE_SHARE_MAX];
	store_user u;
	phone_info p;
	size_t n;
	store_err e;

	for (size_t i = 0; i < q->n_ext; i++) {
		e = store_user_by_external_id(st, q->ext[i], &u);
		if (e && e != STORE_NOTFOUND)
			return e;
		if (!e)
			id_add(set, u.id);
	}
	for (size_t i = 0; i < q->n_phone; i++) {
		if (api_norm_phone(r, q->phone[i], &p))
			return STORE_INVALID;
		e = store_users_by_phone(st, p.e164, ids, STORE_PHONE_SHARE_MAX,
					 &n);
		for (size_t k = 0; !e && k < n; k++)
			id_add(set, ids[k]);
		if (e)
			return e;
	}
	for (size_t i = 0; i < q->n_email; i++) {
		char mail[IDENT_EMAIL_MAX + 1];
		snprintf(mail, sizeof mail, "%s", q->email[i]);
		ident_email_normalize(mail);
		e = store_users_by_email(st, mail, ids, STORE_PHONE_SHARE_MAX,
					 &n);
		for (size_t k = 0; !e && k < n; k++)
			id_add(set, ids[k]);
		if (e)
			return e;
	}
	return STORE_OK;
}

static int add_group(void *ctx, const store_sub *s)
{
	json_array_append_new(ctx, json_pack("{s:s,s:s,s:s,s:s}", "id",
		s->group_id, "name", s->group_name, "channel",
		consent_channel_name(s->channel), "status",
		consent_state_label(s->state)));
	return 0;
}

static json_t *nullable(const char *s) { return *s ? json_string(s) : json_null(); }

static store_err user_json(store *st, int64_t id, json_t **out)
{
	store_user u;
	json_t *groups = json_array();
	store_err e = store_user_get(st, id, &u);

	if (!e)
		e = store_user_subs(st, id, add_group, groups);
	if (e) {
		json_decref(groups);
		return e;
	}
	*out = json_pack("{s:o,s:o,s:o,s:o}", "external_id",
			 nullable(u.external_id), "email", nullable(u.email),
			 "phone", nullable(u.phone), "subscription_groups",
			 groups);
	return STORE_OK;
}

void api_user_status(http_req *r)
{
	id_set set = {0};
	long limit, offset;
	api_ids q;
	json_t *users = NULL;
	store_err e;

	if (api_read_ids(r, &q) ||
	    parse_count(r, "limit", USER_STATUS_LIMIT_MAX, 1,
			USER_STATUS_LIMIT_MAX, &limit) ||
	    parse_count(r, "offset", 0, 0, 1000000, &offset))
		return;
	if (!q.n_ext && !q.n_phone && !q.n_email) {
		http_reply_error(r, 400, NULL, "one of external_id, phone or "
				 "email is required");
		return;
	}
	set.ids = malloc(USER_STATUS_IDS_MAX * sizeof *set.ids);
	if (!set.ids) {
		api_reply_store_error(r, STORE_NOMEM);
		return;
	}
	e = gather(r, &q, &set);
	users = json_array();
	for (size_t i = (size_t)offset; !e && i < set.n &&
	     i < (size_t)offset + (size_t)limit; i++) {
		json_t *u = NULL;
		e = user_json(http_app(r)->st, set.ids[i], &u);
		if (!e)
			json_array_append_new(users, u);
	}
	if (e) {
		json_decref(users);
		if (e != STORE_INVALID)
			api_reply_store_error(r, e);
	} else {
		http_reply(r, 200, json_pack("{s:o,s:I,s:s}", "users", users,
					     "total_count", (json_int_t)set.n,
					     "message", "success"));
	}
	free(set.ids);
}
