/*
 * subscription: Braze's subscription endpoints.
 *
 *   POST /subscription/status/set      (v1)  -> 201 {"message":"success"}
 *   POST /v2/subscription/status/set   (v2)  -> 201 {"message":"success"}
 *   GET  /subscription/status/get             state per identifier
 *   GET  /subscription/user/status            groups per user
 *
 * Writes are validated completely on the HTTP thread (subreq.c, plus the
 * group checks here), then applied by the writer in one savepoint: either
 * every profile the request names is updated, or none is. The reply is
 * sent only after the writer's commit, so 201 means durable.
 */
#include "api/api.h"
#include "api/app.h"
#include "api/common.h"
#include "api/subreq.h"
#include "lib/clock.h"
#include "work/inbound.h"
#include "lib/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	subreq req;
	writer_job job;
	http_req *r;
	store_err err;
	char key_name[IDENT_NAME_MAX + 1];
	char request_id[STORE_REQID_MAX + 1];
	char client[STORE_CLIENT_MAX + 1];
	char evidence[256];
	int64_t now_ms;
	/* item i asks for double opt-in in a group that has it on */
	unsigned char doi[SUBREQ_GROUPS_MAX];
	unsigned prompts; /* double opt-in prompts queued */
	const char *route; /* for Idempotency-Key: "v1" or "v2" status/set */
	char idem_key[STORE_IDEM_KEY_MAX + 1];
	int replayed;      /* the key was known: the first answer stands */
	int idem_status;
	char *idem_body;
} set_ctx;

#define SET_ANSWER "{\"message\":\"success\"}"

static void set_ctx_free(void *p)
{
	set_ctx *c = p;

	if (!c)
		return;
	subreq_free(&c->req);
	free(c->idem_body);
	free(c);
}

/* Prompt every phone the item names (or its profiles hold). */
static store_err doi_prompts(store *st, set_ctx *c, const subreq_item *it)
{
	store_user u;
	store_err e = STORE_OK;
	int queued;

	for (size_t k = 0; k < it->n_phone && !e; k++) {
		e = inb_doi_prompt(st, it->group_id, it->phone[k].e164,
				   c->now_ms, &queued);
		c->prompts += queued;
	}
	for (size_t k = 0; k < it->n_ext && !e && !it->paired; k++) {
		e = store_user_by_external_id(st, it->ext[k], &u);
		if (e == STORE_NOTFOUND || (!e && !u.phone[0])) {
			e = STORE_OK;
			continue;
		}
		if (!e)
			e = inb_doi_prompt(st, it->group_id, u.phone,
					   c->now_ms, &queued);
		c->prompts += queued;
	}
	return e;
}

/* The change item i of the request makes. */
static void item_change(const set_ctx *c, size_t i, subs_change *ch)
{
	const subreq_item *it = &c->req.items[i];

	memset(ch, 0, sizeof *ch);
	ch->group_id = it->group_id;
	ch->state = it->state;
	ch->double_opt_in = it->double_opt_in;
	ch->source = CONSENT_SRC_API;
	ch->n_ext = it->n_ext;
	ch->ext = it->ext;
	ch->n_phone = it->n_phone;
	ch->phones = it->phone;
	ch->n_email = it->n_email;
	ch->emails = (const char *const *)it->email;
	ch->paired = it->paired;
	ch->key_name = c->key_name;
	ch->request_id = c->request_id;
	ch->client_addr = c->client;
	ch->evidence = it->double_opt_in ? c->evidence : NULL;
	ch->now_ms = c->now_ms;
	if (c->doi[i]) {
		ch->state = CONSENT_UNSUBSCRIBED;
		ch->keep_subscribed = 1;
	}
}

/* Writer thread, before set_apply: the profiles it will look up. */
static void set_want(store *st, void *arg)
{
	set_ctx *c = arg;
	subs_change ch;

	for (size_t i = 0; i < c->req.n; i++) {
		item_change(c, i, &ch);
		subs_want(st, &ch);
	}
}

/* Writer thread: every item of the request, or nothing. */
static int set_apply(store *st, void *arg)
{
	set_ctx *c = arg;

	c->prompts = 0;
	c->replayed = 0;
	free(c->idem_body);
	c->idem_body = NULL;
	if (c->idem_key[0]) {
		c->err = store_idem_get(st, c->route, c->idem_key,
					&c->idem_status, &c->idem_body);
		if (c->err == STORE_OK) {
			c->replayed = 1;
			return 0;
		}
		if (c->err != STORE_NOTFOUND)
			return 1;
	}
	for (size_t i = 0; i < c->req.n; i++) {
		subs_change ch;
		subs_result res;

		item_change(c, i, &ch);
		c->err = subs_apply(st, &ch, &res);
		if (!c->err && c->doi[i])
			c->err = doi_prompts(st, c, &c->req.items[i]);
		if (c->err)
			return 1;
	}
	if (c->idem_key[0])
		c->err = store_idem_put(st, c->route, c->idem_key, 201,
					SET_ANSWER, c->now_ms);
	return c->err != STORE_OK;
}

static void set_done(writer_job *job)
{
	set_ctx *c = job->arg;

	if (c->prompts && !job->commit && !job->rc)
		sender_wake(http_app(job->done_arg)->snd);
	http_wake(job->done_arg);
}

static void set_finish(http_req *r)
{
	set_ctx *c = http_ctx(r);

	if (c->job.commit)
		api_reply_store_error(r, c->job.commit);
	else if (c->job.rc)
		api_reply_store_error(r, c->err ? c->err : STORE_IO);
	else if (c->replayed) {
		http_reply_header(r, "Idempotent-Replayed", "true");
		http_reply_text(r, (unsigned)c->idem_status, "application/json",
				c->idem_body);
	} else
		http_reply_static(r, 201, SET_ANSWER);
}

/*
 * Groups are read on every write request and almost never change (their
 * channel never does, and they are never deleted), so each thread keeps
 * the last few for GROUP_CACHE_TTL_MS. The writer still enforces that the
 * group exists, through the foreign key.
 */
#define GROUP_CACHE_TTL_MS 1000
#define GROUP_CACHE_SLOTS 16

typedef struct {
	store_group g;
	int64_t fetched_ms;
} group_slot;

static _Thread_local group_slot group_cache[GROUP_CACHE_SLOTS];

static store_err group_lookup(store *st, const char *id, store_group *out)
{
	int64_t now = clock_now_ms();
	unsigned h = 0;
	store_err e;

	for (const char *p = id; *p; p++)
		h = h * 31 + (unsigned char)*p;
	group_slot *slot = &group_cache[h % GROUP_CACHE_SLOTS];
	if (slot->fetched_ms && now - slot->fetched_ms < GROUP_CACHE_TTL_MS &&
	    strcmp(slot->g.id, id) == 0) {
		*out = slot->g;
		return STORE_OK;
	}
	e = store_group_get(st, id, out);
	if (!e) {
		slot->g = *out;
		slot->fetched_ms = now;
	}
	return e;
}

/* Group checks that need the database, on this thread's read connection;
 * notes which items take the double opt-in path. */
static int check_groups(http_req *r, store *st, subreq *q,
			unsigned char doi[SUBREQ_GROUPS_MAX])
{
	char err[SUBREQ_ERR_MAX];
	store_group g;

	for (size_t i = 0; i < q->n; i++) {
		store_err e = group_lookup(st, q->items[i].group_id, &g);
		if (e == STORE_NOTFOUND) {
			http_reply_error(r, 400, NULL, "subscription_group_id "
					 "\"%s\" does not exist",
					 q->items[i].group_id);
			return -1;
		}
		if (e) {
			api_reply_store_error(r, e);
			return -1;
		}
		if (subreq_channel_error(&q->items[i], g.channel, err)) {
			http_reply_error(r, 400, NULL, "%s", err);
			return -1;
		}
		doi[i] = q->items[i].double_opt_in && g.double_opt_in &&
			 g.channel == CHANNEL_SMS &&
			 q->items[i].state == CONSENT_SUBSCRIBED;
	}
	return 0;
}

/* The lane of a request's first contact, a phone before an e-mail before
 * an external id: an SMS keyword from that phone takes the same lane. */
static unsigned lane_key_of(const subreq *q)
{
	const subreq_item *it = q->n ? &q->items[0] : NULL;

	if (!it)
		return 0;
	if (it->n_phone)
		return writer_key(it->phone[0].e164);
	if (it->n_email)
		return writer_key(it->email[0]);
	return it->n_ext ? writer_key(it->ext[0]) : 0;
}

static void status_set(http_req *r, int v2)
{
	app *a = http_app(r);
	char err[SUBREQ_ERR_MAX];
	json_t *body = http_body_json(r);
	set_ctx *c;
	subreq_err pe;

	if (!body)
		return;
	if (!(c = api_ctx_new(r, sizeof *c, set_ctx_free))) {
		json_decref(body);
		return;
	}
	pe = v2 ? subreq_parse_v2(body, a->default_region, &c->req, err)
		: subreq_parse_v1(body, a->default_region, &c->req, err);
	json_decref(body);
	if (pe) {
		http_reply_error(r, pe == SUBREQ_ERR_NOMEM ? 503 : 400, NULL,
				 "%s", pe == SUBREQ_ERR_NOMEM ? "out of memory"
				 : err);
		return;
	}
	if (check_groups(r, a->st, &c->req, c->doi) ||
	    api_idempotency_key(r, c->idem_key))
		return;
	c->route = v2 ? "v2/subscription/status/set" : "subscription/status/set";
	str_copy(c->key_name, sizeof c->key_name, http_key_of(r)->name);
	str_copy(c->request_id, sizeof c->request_id, http_request_id(r));
	str_copy(c->client, sizeof c->client, http_client(r));
	snprintf(c->evidence, sizeof c->evidence,
		 "{\"use_double_opt_in_logic\":true}");
	c->now_ms = clock_now_ms();
	c->job.fn = set_apply;
	c->job.want = set_want;
	c->job.lane_key = lane_key_of(&c->req);
	c->job.arg = c;
	c->job.done = set_done;
	c->job.done_arg = r;
	http_defer(r, set_finish);
	writer_submit(a->wr, &c->job);
}

void api_status_set_v1(http_req *r) { status_set(r, 0); }
void api_status_set_v2(http_req *r) { status_set(r, 1); }

/* ---- reads ---- */

/* The newest state among profiles sharing a contact; Unknown if none. */
static store_err shared_state(store *st, const char *group, const int64_t *ids,
			      size_t n, consent_state *out)
{
	int64_t best = -1, since;
	consent_state s;

	*out = CONSENT_UNKNOWN;
	for (size_t i = 0; i < n; i++) {
		store_err e = store_sub_get(st, ids[i], group, &s, &since);
		if (e)
			return e;
		if (s != CONSENT_UNKNOWN && since > best) {
			best = since;
			*out = s;
		}
	}
	return STORE_OK;
}

static store_err state_of(http_req *r, const char *group, int kind,
			  const char *raw, consent_state *out)
{
	store *st = http_app(r)->st;
	int64_t ids[STORE_PHONE_SHARE_MAX];
	store_user u;
	phone_info p;
	size_t n = 0;
	store_err e;
	char mail[IDENT_EMAIL_MAX + 1];

	if (kind == 0) {
		e = store_user_by_external_id(st, raw, &u);
		if (e == STORE_NOTFOUND) {
			*out = CONSENT_UNKNOWN;
			return STORE_OK;
		}
		return e ? e : store_sub_get(st, u.id, group, out, NULL);
	}
	if (kind == 1) {
		if (api_norm_phone(r, raw, &p))
			return STORE_INVALID;
		e = store_users_by_phone(st, p.e164, ids, STORE_PHONE_SHARE_MAX,
					 &n);
	} else {
		str_copy(mail, sizeof mail, raw);
		ident_email_normalize(mail);
		e = store_users_by_email(st, mail, ids, STORE_PHONE_SHARE_MAX,
					 &n);
	}
	return e ? e : shared_state(st, group, ids, n, out);
}

void api_status_get(http_req *r)
{
	const char *group = http_query(r, "subscription_group_id");
	api_ids q;
	store_group g;
	store_err e;
	json_t *status;

	if (!group || !*group) {
		http_reply_error(r, 400, NULL,
				 "subscription_group_id is required");
		return;
	}
	if (api_read_ids(r, &q))
		return;
	if (!q.n_ext && !q.n_phone && !q.n_email) {
		http_reply_error(r, 400, NULL, "one of external_id, phone or "
				 "email is required");
		return;
	}
	if (!q.n_ext && q.n_phone && q.n_email) {
		http_reply_error(r, 400, NULL, "Either an email address or a "
				 "phone number should be provided, but not "
				 "both.");
		return;
	}
	e = store_group_get(http_app(r)->st, group, &g);
	if (e) {
		if (e == STORE_NOTFOUND)
			http_reply_error(r, 400, NULL, "subscription_group_id "
					 "\"%.64s\" does not exist", group);
		else
			api_reply_store_error(r, e);
		return;
	}
	status = json_object();
	/* With external_id present, Braze queries by it alone. */
	const char **vals[3] = {q.ext, q.phone, q.email};
	size_t cnt[3] = {q.n_ext, q.n_ext ? 0 : q.n_phone,
			 q.n_ext ? 0 : q.n_email};
	for (int k = 0; k < 3; k++) {
		for (size_t i = 0; i < cnt[k]; i++) {
			consent_state s;
			e = state_of(r, group, k, vals[k][i], &s);
			if (e) {
				json_decref(status);
				if (e != STORE_INVALID) /* else: replied */
					api_reply_store_error(r, e);
				return;
			}
			json_object_set_new(status, vals[k][i],
					    json_string(consent_state_label(s)));
		}
	}
	http_reply(r, 200, json_pack("{s:o,s:s}", "status", status, "message",
				     "success"));
}
