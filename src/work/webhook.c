/*
 * webhook: see webhook.h. One curl multi handle per webhook handle, with
 * an easy handle per call in flight; the multi handle keeps the
 * connections, so the calls of one batch and the next share them.
 */
#include "work/webhook.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WEBHOOK_POLL_MS 1000 /* a wait for any socket; timeouts end calls */

typedef struct {
	char *buf;
	size_t n;
} excerpt;

/* One call in flight. */
typedef struct {
	CURL *c;
	struct curl_slist *h;
	excerpt x;
	CURLcode rc;
	int live; /* in the multi handle, not told to the caller yet */
} call;

struct webhook {
	CURLM *m;
	call calls[WEBHOOK_PARALLEL_MAX];
};

static size_t keep(char *p, size_t sz, size_t nm, void *ctx)
{
	excerpt *x = ctx;
	size_t len = sz * nm, room = WEBHOOK_EXCERPT_MAX - x->n;
	size_t take = len < room ? len : room;

	memcpy(x->buf + x->n, p, take);
	x->n += take;
	x->buf[x->n] = '\0';
	return len; /* read the rest, so the connection can be kept */
}

webhook *webhook_new(void)
{
	webhook *w = calloc(1, sizeof *w);

	if (!w)
		return NULL;
	w->m = curl_multi_init();
	for (size_t i = 0; w->m && i < WEBHOOK_PARALLEL_MAX; i++)
		if (!(w->calls[i].c = curl_easy_init())) {
			webhook_free(w);
			return NULL;
		}
	if (!w->m) {
		webhook_free(w);
		return NULL;
	}
	return w;
}

void webhook_free(webhook *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < WEBHOOK_PARALLEL_MAX; i++)
		curl_easy_cleanup(w->calls[i].c);
	curl_multi_cleanup(w->m);
	free(w);
}

static webhook_outcome classify(long status)
{
	if (status >= 200 && status < 300)
		return WEBHOOK_DONE;
	if (status == 408 || status == 429 || status >= 500)
		return WEBHOOK_RETRY;
	return WEBHOOK_GIVE_UP;
}

static void prepare(call *k, const webhook_req *rq, webhook_res *res)
{
	CURL *c = k->c;

	memset(res, 0, sizeof *res);
	k->x = (excerpt){res->excerpt, 0};
	k->h = NULL;
	k->rc = CURLE_FAILED_INIT; /* until the call ends */
	for (size_t i = 0; i < rq->n_headers; i++)
		k->h = curl_slist_append(k->h, rq->headers[i]);
	/* no 100-continue round trip */
	k->h = curl_slist_append(k->h, "Expect:");
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, rq->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, k->h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, rq->timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &k->x);
	curl_easy_setopt(c, CURLOPT_PRIVATE, k);
	if (rq->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)rq->body_len);
	} else if (!strcmp(rq->method, "GET")) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
}

static webhook_outcome finish(call *k, webhook_res *res)
{
	curl_slist_free_all(k->h);
	k->h = NULL;
	if (k->rc != CURLE_OK) {
		snprintf(res->excerpt, sizeof res->excerpt, "%s",
			 curl_easy_strerror(k->rc));
		/* a URL or protocol we refuse will never work */
		return k->rc == CURLE_UNSUPPORTED_PROTOCOL ||
				       k->rc == CURLE_URL_MALFORMAT
			       ? WEBHOOK_GIVE_UP : WEBHOOK_RETRY;
	}
	curl_easy_getinfo(k->c, CURLINFO_RESPONSE_CODE, &res->status);
	return classify(res->status);
}

/* Call i is over: out of the multi handle, and told to the caller. */
static void end_call(webhook *w, size_t i, webhook_res *res,
		     webhook_ended_fn ended, void *ctx)
{
	call *k = &w->calls[i];

	curl_multi_remove_handle(w->m, k->c);
	k->live = 0;
	ended(ctx, i, finish(k, &res[i]), &res[i]);
}

void webhook_call_all(webhook *w, size_t n, const webhook_req *rq,
		      webhook_res *res, webhook_ended_fn ended, void *ctx)
{
	int running = 1, left;
	CURLMsg *msg;
	call *k;

	if (n > WEBHOOK_PARALLEL_MAX)
		n = WEBHOOK_PARALLEL_MAX;
	for (size_t i = 0; i < n; i++) {
		prepare(&w->calls[i], &rq[i], &res[i]);
		w->calls[i].live = 1;
		curl_multi_add_handle(w->m, w->calls[i].c);
	}
	while (running) {
		if (curl_multi_perform(w->m, &running) != CURLM_OK)
			break;
		while ((msg = curl_multi_info_read(w->m, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
					  (char **)&k);
			k->rc = msg->data.result;
			end_call(w, (size_t)(k - w->calls), res, ended, ctx);
		}
		if (running && curl_multi_poll(w->m, NULL, 0, WEBHOOK_POLL_MS,
					       NULL) != CURLM_OK)
			break;
	}
	/* What the multi handle gave up on ends as it is (no answer). */
	for (size_t i = 0; i < n; i++)
		if (w->calls[i].live)
			end_call(w, i, res, ended, ctx);
}
