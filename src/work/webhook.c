/* webhook: see webhook.h. */
#include "work/webhook.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct webhook {
	CURL *c;
};

typedef struct {
	char *buf;
	size_t n;
} excerpt;

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

	if (w && !(w->c = curl_easy_init())) {
		free(w);
		w = NULL;
	}
	return w;
}

void webhook_free(webhook *w)
{
	if (!w)
		return;
	curl_easy_cleanup(w->c);
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

webhook_outcome webhook_call(webhook *w, const webhook_req *rq,
			     webhook_res *res)
{
	struct curl_slist *h = NULL;
	excerpt x = {res->excerpt, 0};
	CURL *c = w->c;
	CURLcode rc;

	memset(res, 0, sizeof *res);
	for (size_t i = 0; i < rq->n_headers; i++)
		h = curl_slist_append(h, rq->headers[i]);
	h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, rq->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, rq->timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	if (rq->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)rq->body_len);
	} else if (!strcmp(rq->method, "GET")) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	rc = curl_easy_perform(c);
	curl_slist_free_all(h);
	if (rc != CURLE_OK) {
		snprintf(res->excerpt, sizeof res->excerpt, "%s",
			 curl_easy_strerror(rc));
		/* a URL or protocol we refuse will never work */
		return rc == CURLE_UNSUPPORTED_PROTOCOL ||
				       rc == CURLE_URL_MALFORMAT
			       ? WEBHOOK_GIVE_UP : WEBHOOK_RETRY;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
	return classify(res->status);
}
