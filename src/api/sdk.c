/*
 * sdk: the endpoints the Braze Web SDK calls under its baseUrl, and the
 * capture widget's script (docs/sdk.md).
 *
 * POST /api/v3/data/: by the time the handler runs, server.c has checked
 * the SDK key (the body's api_key), the page's origin and the address's
 * budget. The body becomes /users/track chunks (api/sdkreq.c) that the
 * writer applies as one strict job (work/track.h): every attribute and
 * event, flows started as /users/track starts them, or nothing. The
 * answer comes after the commit. The SDK reads only "error" and
 * "auth_error" (absent: all went well) and, when it asked for them, its
 * in-app message triggers (optd has none); the counts are for people.
 * Any other status makes the SDK keep the batch and retry it later with
 * backoff (10 s to 5 min), which is right for a 429 or a 503.
 */
#include "api/api.h"
#include "api/app.h"
#include "api/common.h"
#include "api/sdkreq.h"
#include "lib/assets.h"
#include "lib/clock.h"
#include "work/flows.h"
#include "work/track.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SDK_WIDGET "widget.js"

typedef struct {
	sdk_req req;
	track_job jobs[SDK_CHUNKS_MAX];
	track_all all;
	writer_job job;
} sdk_ctx;

static void sdk_ctx_free(void *p)
{
	sdk_ctx *c = p;

	if (!c)
		return;
	for (size_t i = 0; i < c->req.n_chunks; i++)
		track_job_clear(&c->jobs[i]);
	sdk_req_free(&c->req);
	free(c);
}

static void sdk_done(writer_job *job)
{
	sdk_ctx *c = http_ctx(job->done_arg);
	app *a = http_app(job->done_arg);
	unsigned runs = 0, prompts = 0;

	for (size_t i = 0; !job->commit && !job->rc && i < c->all.n; i++) {
		runs += c->jobs[i].runs;
		prompts += c->jobs[i].prompts;
	}
	if (runs)
		flows_wake(a->flows);
	if (prompts)
		sender_wake(a->snd);
	http_wake(job->done_arg);
}

static void reply_ok(http_req *r, const sdk_ctx *c)
{
	size_t n[3] = {0, 0, 0};
	json_t *o;

	for (size_t i = 0; i < c->req.n_chunks; i++) {
		const track_req *t = &c->req.chunks[i]->req;
		n[0] += t->n_attrs, n[1] += t->n_events, n[2] += t->n_purchases;
	}
	o = json_pack("{s:s,s:I,s:I,s:I,s:I}", "message", "success",
		      "attributes_processed", (json_int_t)n[0],
		      "events_processed", (json_int_t)n[1],
		      "purchases_processed", (json_int_t)n[2], "ignored",
		      (json_int_t)c->req.ignored);
	if (o && c->req.triggers)
		json_object_set_new(o, "triggers", json_array());
	http_reply(r, 200, o);
}

/* A strict job that failed on an object: 400 naming it in SDK terms. */
static int reply_object_error(http_req *r, sdk_ctx *c)
{
	const track_job *j = &c->jobs[c->all.failed];
	json_t *ans = j->status == 400 ? json_loads(j->answer, 0, NULL) : NULL;
	json_t *e = json_array_get(json_object_get(ans, "errors"), 0);
	const char *arr = json_string_value(json_object_get(e, "input_array"));
	char where[64];

	if (!arr) {
		json_decref(ans);
		return -1;
	}
	sdk_src_name(c->req.chunks[c->all.failed], arr,
		     (int)json_integer_value(json_object_get(e, "index")),
		     where, sizeof where);
	http_reply_error(r, 400, NULL, "%s: %s", where,
			 json_string_value(json_object_get(e, "type")));
	json_decref(ans);
	return 0;
}

static void sdk_finish(http_req *r)
{
	sdk_ctx *c = http_ctx(r);

	if (c->job.commit) {
		api_reply_store_error(r, c->job.commit);
		return;
	}
	if (c->job.rc) {
		if (c->all.failed < c->all.n && reply_object_error(r, c) == 0)
			return;
		api_reply_store_error(r, c->all.failed < c->all.n &&
				      c->jobs[c->all.failed].err
				      ? c->jobs[c->all.failed].err : STORE_IO);
		return;
	}
	reply_ok(r, c);
}

void api_sdk_data(http_req *r)
{
	app *a = http_app(r);
	char err[SDK_ERR_MAX];
	json_t *body = http_body_json(r);
	int64_t now = clock_now_ms();
	sdk_ctx *c;
	sdk_err se;

	if (!body)
		return;
	if (!(c = api_ctx_new(r, sizeof *c, sdk_ctx_free))) {
		json_decref(body);
		return;
	}
	se = sdk_parse(body, a->default_region, now, &c->req, err);
	json_decref(body);
	if (se) {
		http_reply_error(r, se == SDK_ERR_NOMEM ? 503 : 400, NULL, "%s",
				 err);
		return;
	}
	if (c->req.n_chunks == 0) { /* sessions and anonymous devices only */
		reply_ok(r, c);
		return;
	}
	for (size_t i = 0; i < c->req.n_chunks; i++) {
		track_job *j = &c->jobs[i];
		j->req = &c->req.chunks[i]->req;
		j->now_ms = now;
		j->strict = 1;
		snprintf(j->key_name, sizeof j->key_name, "%s",
			 http_key_of(r)->name);
		snprintf(j->request_id, sizeof j->request_id, "%s",
			 http_request_id(r));
		snprintf(j->client, sizeof j->client, "%s", http_client(r));
	}
	c->all = (track_all){c->jobs, c->req.n_chunks, 0};
	c->job.fn = track_apply_all;
	c->job.arg = &c->all;
	c->job.done = sdk_done;
	c->job.done_arg = r;
	http_defer(r, sdk_finish);
	writer_submit(a->wr, &c->job);
}

/* Content cards, feature flags, banners: the SDK asks for them only when
 * a server's config turns them on, which optd's answers never do; an
 * empty answer is "nothing new". */
void api_sdk_sync(http_req *r)
{
	http_reply_static(r, 200, "{}");
}

void api_sdk_widget(http_req *r)
{
	const asset *w = asset_find(SDK_WIDGET);

	if (!w) {
		http_reply_error(r, 404, NULL, "no such file: %s", SDK_WIDGET);
		return;
	}
	http_reply_header(r, "Cache-Control", "public, max-age=300");
	http_reply_header(r, "X-Content-Type-Options", "nosniff");
	http_reply_text(r, 200, "text/javascript; charset=utf-8",
			(const char *)w->data);
}
