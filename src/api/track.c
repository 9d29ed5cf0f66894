/*
 * track: POST /users/track (Braze's attributes, events and purchases).
 *
 * The body is parsed and checked on the HTTP thread (trackreq.c), then
 * applied by the writer (work/track.c); the 201 is sent after the
 * commit, with Braze's counts and the objects that were left out. An
 * Idempotency-Key header makes a retried request safe: its first answer
 * is replayed and nothing changes again.
 */
#include "api/api.h"
#include "api/app.h"
#include "api/common.h"
#include "lib/clock.h"
#include "work/flows.h"
#include "work/track.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
	track_req req;
	track_job j;
	writer_job job;
} track_ctx;

static void track_ctx_free(void *p)
{
	track_ctx *c = p;

	if (!c)
		return;
	track_req_free(&c->req);
	track_job_clear(&c->j);
	free(c);
}

static void track_done(writer_job *job)
{
	track_ctx *c = http_ctx(job->done_arg);
	app *a = http_app(job->done_arg);

	if (!job->commit && !job->rc) {
		if (c->j.runs)
			flows_wake(a->flows);
		if (c->j.prompts)
			sender_wake(a->snd);
	}
	http_wake(job->done_arg);
}

static void track_finish(http_req *r)
{
	track_ctx *c = http_ctx(r);

	if (c->job.commit || c->job.rc) {
		api_reply_store_error(r, c->job.commit ? c->job.commit
				      : c->j.err ? c->j.err : STORE_IO);
		return;
	}
	if (c->j.replayed)
		http_reply_header(r, "Idempotent-Replayed", "true");
	http_reply_text(r, (unsigned)c->j.status, "application/json",
			c->j.answer);
}

/* The Idempotency-Key header, checked; -1 after replying 400. */
int api_idempotency_key(http_req *r, char out[STORE_IDEM_KEY_MAX + 1])
{
	const char *k = http_header(r, "Idempotency-Key");

	out[0] = '\0';
	if (!k)
		return 0;
	if (!*k || strlen(k) > STORE_IDEM_KEY_MAX ||
	    !ident_utf8_ok(k, strlen(k))) {
		http_reply_error(r, 400, NULL, "Idempotency-Key must be 1 to "
				 "%d bytes of text", STORE_IDEM_KEY_MAX);
		return -1;
	}
	memcpy(out, k, strlen(k) + 1);
	return 0;
}

void api_users_track(http_req *r)
{
	app *a = http_app(r);
	char err[TRACK_ERR_MAX];
	json_t *body = http_body_json(r);
	track_ctx *c;
	track_err te;

	if (!body)
		return;
	c = calloc(1, sizeof *c);
	if (!c) {
		json_decref(body);
		http_reply_error(r, 503, NULL, "out of memory; retry");
		return;
	}
	http_set_ctx(r, c, track_ctx_free);
	c->j.now_ms = clock_now_ms();
	te = track_parse(body, a->default_region, c->j.now_ms, &c->req, err);
	json_decref(body);
	if (te) {
		http_reply_error(r, te == TRACK_ERR_NOMEM ? 503 : 400, NULL,
				 "%s", te == TRACK_ERR_NOMEM ? "out of memory"
				 : err);
		return;
	}
	if (api_idempotency_key(r, c->j.idem_key))
		return;
	c->j.req = &c->req;
	snprintf(c->j.key_name, sizeof c->j.key_name, "%s",
		 http_key_of(r)->name);
	snprintf(c->j.request_id, sizeof c->j.request_id, "%s",
		 http_request_id(r));
	snprintf(c->j.client, sizeof c->j.client, "%s", http_client(r));
	c->job.fn = track_apply;
	c->job.arg = &c->j;
	c->job.done = track_done;
	c->job.done_arg = r;
	http_defer(r, track_finish);
	writer_submit(a->wr, &c->job);
}
