/*
 * admin: optd's management API, everything under /admin/ and only for
 * keys with the `admin` scope. The operations themselves live in
 * work/manage.c, shared with the command line; this file maps them to
 * HTTP. Writes run as writer jobs like every other change, so they are
 * serialised with the API traffic and committed before the reply.
 */
#include "api/api.h"
#include "api/app.h"
#include "lib/clock.h"
#include "work/manage.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef enum { OP_KEY_CREATE, OP_KEY_REVOKE, OP_GROUP_CREATE,
	       OP_GROUP_UPDATE, OP_GROUP_SMS_SET, OP_MESSAGE_SEND, OP_FLOW_ADD,
	       OP_FLOW_UPDATE, OP_FLOW_ENABLE, OP_FLOW_DISABLE,
	       OP_FORM_ADD } admin_op;

typedef struct {
	admin_op op;
	json_t *spec;
	char target[IDENT_GROUP_ID_MAX + IDENT_NAME_MAX + 2];
	char region[PHONE_REGION_MAX + 1];
	int64_t now_ms;
	json_t *out;
	manage_err m;
	char err[MANAGE_ERR_MAX];
	writer_job job;
} admin_ctx;

static void admin_ctx_free(void *p)
{
	admin_ctx *c = p;

	if (!c)
		return;
	json_decref(c->spec);
	json_decref(c->out);
	free(c);
}

static void reply_manage(http_req *r, manage_err m, const char *err,
			 unsigned ok_status, json_t *out)
{
	if (m == MANAGE_OK) {
		http_reply(r, ok_status, out ? out : json_pack("{s:s}",
			   "message", "success"));
		return;
	}
	json_decref(out);
	if (m == MANAGE_STORE)
		http_reply_header(r, "Retry-After", "1");
	http_reply_error(r, manage_http_status(m), NULL, "%s", err);
}

static int admin_apply(store *st, void *arg)
{
	admin_ctx *c = arg;

	json_decref(c->out); /* from an earlier run of a replayed batch */
	c->out = NULL;
	switch (c->op) {
	case OP_KEY_CREATE:
		c->m = manage_key_create(st, c->spec, c->now_ms, &c->out,
					 c->err);
		break;
	case OP_KEY_REVOKE:
		c->m = manage_key_revoke(st, c->target, c->now_ms, c->err);
		break;
	case OP_GROUP_CREATE:
		c->m = manage_group_create(st, c->spec, c->region, c->now_ms,
					   &c->out, c->err);
		break;
	case OP_GROUP_UPDATE:
		c->m = manage_group_update(st, c->target, c->spec, c->region,
					   c->now_ms, &c->out, c->err);
		break;
	case OP_GROUP_SMS_SET:
		c->m = manage_group_sms_set(st, c->target, c->spec, c->now_ms,
					    &c->out, c->err);
		break;
	case OP_MESSAGE_SEND:
		c->m = manage_message_send(st, c->spec, c->region, c->now_ms,
					   &c->out, c->err);
		break;
	case OP_FLOW_ADD:
	case OP_FLOW_UPDATE:
		c->m = manage_flow_save(st, c->op == OP_FLOW_ADD ? NULL
				       : c->target, c->spec, c->now_ms,
				       &c->out, c->err);
		break;
	case OP_FLOW_ENABLE:
	case OP_FLOW_DISABLE:
		c->m = manage_flow_enable(st, c->target, c->op == OP_FLOW_ENABLE,
					  c->now_ms, &c->out, c->err);
		break;
	case OP_FORM_ADD:
		c->m = manage_form_create(st, c->spec, c->now_ms, &c->out,
					  c->err);
		break;
	}
	return c->m != MANAGE_OK;
}

static void admin_done(writer_job *job)
{
	admin_ctx *c = job->arg;

	if (c->op == OP_MESSAGE_SEND && !job->commit && !job->rc)
		sender_wake(http_app(job->done_arg)->snd);
	http_wake(job->done_arg);
}

static void admin_finish(http_req *r)
{
	admin_ctx *c = http_ctx(r);
	json_t *out = c->out;

	c->out = NULL;
	if (c->job.commit) {
		json_decref(out);
		http_reply_header(r, "Retry-After", "1");
		http_reply_error(r, 503, NULL, "the change could not be "
				 "committed (%s); retry",
				 store_strerror(c->job.commit));
		return;
	}
	reply_manage(r, c->m, c->err,
		     c->op == OP_KEY_CREATE || c->op == OP_GROUP_CREATE ||
				     c->op == OP_MESSAGE_SEND ||
				     c->op == OP_FLOW_ADD ||
				     c->op == OP_FORM_ADD ? 201 : 200,
		     out);
}

static void submit(http_req *r, admin_op op, int with_body)
{
	admin_ctx *c = calloc(1, sizeof *c);
	app *a = http_app(r);

	if (!c) {
		http_reply_error(r, 503, NULL, "out of memory; retry");
		return;
	}
	http_set_ctx(r, c, admin_ctx_free);
	if (with_body && !(c->spec = http_body_json(r)))
		return;
	c->op = op;
	snprintf(c->target, sizeof c->target, "%s", http_path_rest(r));
	memcpy(c->region, a->default_region, sizeof c->region);
	c->now_ms = clock_now_ms();
	c->job.fn = admin_apply;
	c->job.arg = c;
	c->job.done = admin_done;
	c->job.done_arg = r;
	http_defer(r, admin_finish);
	writer_submit(a->wr, &c->job);
}

/* Reads need no writer: they run on the HTTP thread's connection. */
static void read_all(http_req *r,
		     manage_err (*fn)(store *, json_t **, char *))
{
	char err[MANAGE_ERR_MAX];
	json_t *out = NULL;
	manage_err m = fn(http_app(r)->st, &out, err);

	reply_manage(r, m, err, 200, out);
}

/* The same for one resource named by the path's last segment. */
static void read_one(http_req *r, manage_err (*fn)(store *, const char *,
						   json_t **, char *))
{
	char err[MANAGE_ERR_MAX];
	json_t *out = NULL;
	manage_err m = fn(http_app(r)->st, http_path_rest(r), &out, err);

	reply_manage(r, m, err, 200, out);
}

void api_admin_keys_create(http_req *r) { submit(r, OP_KEY_CREATE, 1); }
void api_admin_keys_revoke(http_req *r) { submit(r, OP_KEY_REVOKE, 0); }
void api_admin_groups_create(http_req *r) { submit(r, OP_GROUP_CREATE, 1); }
void api_admin_groups_update(http_req *r) { submit(r, OP_GROUP_UPDATE, 1); }
void api_admin_group_sms_put(http_req *r) { submit(r, OP_GROUP_SMS_SET, 1); }
void api_admin_messages_send(http_req *r) { submit(r, OP_MESSAGE_SEND, 1); }

void api_admin_flows_add(http_req *r) { submit(r, OP_FLOW_ADD, 1); }
void api_admin_flows_update(http_req *r) { submit(r, OP_FLOW_UPDATE, 1); }
void api_admin_flows_enable(http_req *r) { submit(r, OP_FLOW_ENABLE, 0); }
void api_admin_flows_disable(http_req *r) { submit(r, OP_FLOW_DISABLE, 0); }

void api_admin_flows_list(http_req *r) { read_all(r, manage_flow_list); }

void api_admin_forms_add(http_req *r) { submit(r, OP_FORM_ADD, 1); }
void api_admin_forms_list(http_req *r) { read_all(r, manage_form_list); }
void api_admin_forms_get(http_req *r) { read_one(r, manage_form_get); }
void api_admin_consent_text(http_req *r)
{
	read_one(r, manage_consent_text);
}

void api_admin_flows_get(http_req *r) { read_one(r, manage_flow_get); }

static int query_int(http_req *r, const char *name, long long min,
		     long long max, long long *out);

void api_admin_flows_runs(http_req *r)
{
	char err[MANAGE_ERR_MAX];
	long long limit = 100;
	json_t *out = NULL;
	manage_err m;

	if (query_int(r, "limit", 1, MANAGE_RUNS_PAGE_MAX, &limit))
		return;
	m = manage_flow_runs(http_app(r)->st, http_path_rest(r),
			     (size_t)limit, &out, err);
	reply_manage(r, m, err, 200, out);
}

void api_admin_user_events(http_req *r)
{
	char err[MANAGE_ERR_MAX];
	long long limit = 100;
	json_t *out = NULL;
	manage_err m;

	if (query_int(r, "limit", 1, MANAGE_RUNS_PAGE_MAX, &limit))
		return;
	m = manage_user_events(http_app(r)->st, http_path_rest(r),
			       (size_t)limit, &out, err);
	reply_manage(r, m, err, 200, out);
}

void api_admin_group_sms_get(http_req *r) { read_one(r, manage_group_sms_get); }

/* A query parameter that must be a whole number in [min, max]. */
static int query_int(http_req *r, const char *name, long long min,
		     long long max, long long *out)
{
	const char *v = http_query(r, name);
	char *end;

	if (!v)
		return 0;
	*out = strtoll(v, &end, 10);
	if (!*v || *end || *out < min || *out > max) {
		http_reply_error(r, 400, NULL, "%s must be a whole number from "
				 "%lld to %lld", name, min, max);
		return -1;
	}
	return 0;
}

void api_admin_messages_list(http_req *r)
{
	static const char *const known[] = {"state", "to", "after", "limit",
					    NULL};
	char err[MANAGE_ERR_MAX];
	long long after = 0, limit = 100;
	const char *bad = http_query_unknown(r, known);
	json_t *out = NULL;
	manage_err m;

	if (bad) {
		http_reply_error(r, 400, NULL, "unknown query parameter "
				 "\"%.64s\" (expected state, to, after, "
				 "limit)", bad);
		return;
	}
	if (query_int(r, "after", 0, INT64_MAX, &after) ||
	    query_int(r, "limit", 1, MANAGE_MESSAGES_PAGE_MAX, &limit))
		return;
	m = manage_messages(http_app(r)->st, http_query(r, "state"),
			    http_query(r, "to"), http_app(r)->default_region,
			    after, (size_t)limit, &out, err);
	reply_manage(r, m, err, 200, out);
}

void api_admin_messages_get(http_req *r)
{
	char err[MANAGE_ERR_MAX];
	const char *id = http_path_rest(r);
	char *end;
	long long n = strtoll(id, &end, 10);
	json_t *out = NULL;
	manage_err m;

	if (!*id || *end || n <= 0) {
		http_reply_error(r, 400, NULL, "\"%.64s\" is not a message "
				 "id", id);
		return;
	}
	m = manage_message_get(http_app(r)->st, n, &out, err);
	reply_manage(r, m, err, 200, out);
}

void api_admin_keys_list(http_req *r) { read_all(r, manage_key_list); }

void api_admin_groups_list(http_req *r) { read_all(r, manage_group_list); }

void api_admin_groups_get(http_req *r) { read_one(r, manage_group_get); }

void api_admin_consent(http_req *r)
{
	static const char *const by[] = {"phone", "email", "external_id"};
	char err[MANAGE_ERR_MAX];
	const char *after = http_query(r, "after_id");
	const char *limit = http_query(r, "limit");
	json_t *out = NULL;
	manage_err m = MANAGE_INVALID;
	int found = 0;

	snprintf(err, sizeof err, "one of phone, email or external_id is "
		 "required");
	for (size_t i = 0; i < 3 && !found; i++) {
		const char *v = http_query(r, by[i]);
		if (!v)
			continue;
		found = 1;
		m = manage_consent(http_app(r)->st, by[i], v,
				   http_app(r)->default_region,
				   after ? strtoll(after, NULL, 10) : 0,
				   limit ? strtoul(limit, NULL, 10) : 0, &out,
				   err);
	}
	reply_manage(r, m, err, 200, out);
}
