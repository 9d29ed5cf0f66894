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

#include <stdlib.h>
#include <string.h>

typedef enum { OP_KEY_CREATE, OP_KEY_REVOKE, OP_GROUP_CREATE,
	       OP_GROUP_UPDATE } admin_op;

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
	}
	return c->m != MANAGE_OK;
}

static void admin_done(writer_job *job) { http_wake(job->done_arg); }

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
		     c->op == OP_KEY_CREATE || c->op == OP_GROUP_CREATE ? 201
									: 200,
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

void api_admin_keys_create(http_req *r) { submit(r, OP_KEY_CREATE, 1); }
void api_admin_keys_revoke(http_req *r) { submit(r, OP_KEY_REVOKE, 0); }
void api_admin_groups_create(http_req *r) { submit(r, OP_GROUP_CREATE, 1); }
void api_admin_groups_update(http_req *r) { submit(r, OP_GROUP_UPDATE, 1); }

void api_admin_keys_list(http_req *r)
{
	char err[MANAGE_ERR_MAX];
	json_t *out;
	manage_err m = manage_key_list(http_app(r)->st, &out, err);

	reply_manage(r, m, err, 200, out);
}

void api_admin_groups_list(http_req *r)
{
	char err[MANAGE_ERR_MAX];
	json_t *out;
	manage_err m = manage_group_list(http_app(r)->st, &out, err);

	reply_manage(r, m, err, 200, out);
}

void api_admin_groups_get(http_req *r)
{
	char err[MANAGE_ERR_MAX];
	json_t *out;
	manage_err m = manage_group_get(http_app(r)->st, http_path_rest(r),
					&out, err);

	reply_manage(r, m, err, 200, out);
}

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
