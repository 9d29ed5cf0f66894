/*
 * form: the hosted sign-up form, for brands without a backend of their
 * own (Braze's "Option 3").
 *
 *   GET  /f/{form}   the page, with a fresh token bound to a cookie
 *   POST /f/{form}   check, then subscribe through the writer (signup.h)
 *
 * Order of checks on a POST, cheapest and most telling first: the
 * per-address limit (FORM_RATE_LIMIT a minute, 429), the form, the body
 * size, the token (403: nothing changes without a page of ours), then the
 * fields (400 with every mistake beside its field and what was typed
 * kept). Only a clean submission reaches the writer; the answer is sent
 * after the commit, as for the API. Every answer is a page (or, after a
 * success with a redirect URL, a 303 to it), never JSON.
 */
#include "api/api.h"
#include "api/app.h"
#include "api/formpage.h"
#include "lib/clock.h"
#include "lib/secret.h"
#include "lib/utf8.h"
#include "work/signup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORM_RATE_LIMIT 10    /* submissions per address and window */
#define FORM_RATE_WINDOW_S 60
#define FORM_BODY_MAX 16384   /* bytes of a submission */
#define FORM_COOKIE "optd_form"
#define FORM_COOKIE_MAX 160   /* bytes of the Set-Cookie value */
#define FORM_PATH_MAX (IDENT_GROUP_ID_MAX + 4)

typedef struct {
	signup_form form;
	form_post post;
	signup_job job;
	writer_job wjob;
	char nonce[FORM_NONCE_HEX + 1];
} form_ctx;

static void reply_page(http_req *r, unsigned status, char *page)
{
	if (!page) {
		http_reply_error(r, 503, NULL, "out of memory; retry");
		return;
	}
	http_reply_header(r, "Cache-Control", "no-store");
	http_reply_header(r, "X-Content-Type-Options", "nosniff");
	http_reply_header(r, "Referrer-Policy", "same-origin");
	http_reply_header(r, "Content-Security-Policy",
			  "default-src 'none'; style-src 'unsafe-inline'; "
			  "frame-ancestors 'none'; base-uri 'none'");
	http_reply_text(r, status, "text/html; charset=utf-8", page);
	free(page);
}

static void reply_message(http_req *r, unsigned status, const char *heading,
			  const char *text, const char *link)
{
	reply_page(r, status, fpage_message(heading, heading, text, link));
}

static void reply_unavailable(http_req *r)
{
	http_reply_header(r, "Retry-After", "1");
	reply_message(r, 503, "Please try again", "We could not take your "
		      "answer just now. Nothing was changed; please send the "
		      "form again in a moment.", NULL);
}

/* The form named by the path, into c->form; 0, or -1 after replying. */
static int load(http_req *r, form_ctx *c)
{
	const char *id = http_path_rest(r);
	store_err e = ident_check_group_id(id) ? STORE_NOTFOUND
		: signup_form_load(http_app(r)->st, id, &c->form);

	if (e == STORE_NOTFOUND)
		reply_message(r, 404, "Form not found", "There is no sign-up "
			      "form at this address.", NULL);
	else if (e)
		reply_unavailable(r);
	return e ? -1 : 0;
}

/* The browser's cookie, or a new one (sent with this reply). */
static int nonce(http_req *r, form_ctx *c)
{
	const char *have = http_cookie(r, FORM_COOKIE);
	const char *url = http_app(r)->public_url;
	char cookie[FORM_COOKIE_MAX];

	if (form_nonce_ok(have)) {
		snprintf(c->nonce, sizeof c->nonce, "%s", have);
		return 0;
	}
	if (secret_hex(c->nonce, FORM_NONCE_HEX / 2) != 0)
		return -1;
	snprintf(cookie, sizeof cookie, FORM_COOKIE "=%s; Path=/; Max-Age=%lld;"
		 " HttpOnly; SameSite=Lax%s", c->nonce,
		 FORM_TOKEN_TTL_MS / 1000,
		 strncmp(url, "https:", 6) == 0 ? "; Secure" : "");
	http_reply_header_copy(r, "Set-Cookie", cookie);
	return 0;
}

/* The form page; post and notice may be NULL. */
static void show_form(http_req *r, form_ctx *c, unsigned status,
		      const form_post *post, const char *notice)
{
	char token[FORM_TOKEN_MAX + 1];
	fpage_args a = {&c->form, post, token, notice};

	if (nonce(r, c) || form_token_make(http_app(r)->form_secret,
					   c->form.f.id, c->nonce,
					   clock_now_ms(), token)) {
		reply_unavailable(r);
		return;
	}
	reply_page(r, status, fpage_form(&a));
}

static form_ctx *new_ctx(http_req *r)
{
	form_ctx *c = calloc(1, sizeof *c);

	if (!c)
		http_reply_error(r, 503, NULL, "out of memory; retry");
	else
		http_set_ctx(r, c, free);
	return c;
}

void api_form_get(http_req *r)
{
	form_ctx *c = new_ctx(r);

	if (c && load(r, c) == 0)
		show_form(r, c, 200, NULL, NULL);
}

/* 0 when this address may send one more form now. */
static int admit(http_req *r)
{
	char key[RL_KEY_MAX];
	char reset[24];
	rl_result res;

	snprintf(key, sizeof key, "form:%s", http_client(r));
	rl_hit(http_app(r)->limits, key, FORM_RATE_LIMIT, FORM_RATE_WINDOW_S,
	       clock_now_ms(), &res);
	if (res.allowed)
		return 0;
	snprintf(reset, sizeof reset, "%lld",
		 (long long)(res.reset_s - clock_now_ms() / 1000));
	http_reply_header_copy(r, "Retry-After", reset);
	reply_message(r, 429, "Too many tries", "This form was sent too many "
		      "times from your network in the last minute. Please wait "
		      "a minute and send it again.", NULL);
	return -1;
}

/* The fields of the body, read by core/form.h. */
static int read_post(http_req *r, form_ctx *c)
{
	const char *name[HTTP_FORM_FIELDS_MAX], *value[HTTP_FORM_FIELDS_MAX];
	form_box boxes[FORM_GROUPS_MAX];
	http_form *f = http_form_parse(r);
	size_t n = http_form_count(f);

	if (!f)
		return -1;
	for (size_t i = 0; i < n; i++) {
		name[i] = http_form_name(f, i);
		value[i] = http_form_value(f, i);
	}
	for (size_t i = 0; i < c->form.f.n_groups; i++) {
		boxes[i].group_id = c->form.box[i].group_id;
		boxes[i].channel = c->form.box[i].channel;
	}
	form_post_read(&c->post, name, value, n, boxes, c->form.f.n_groups,
		       http_app(r)->default_region);
	return 0;
}

static void post_done(writer_job *job)
{
	signup_job *j = job->arg;

	if (j->prompts && !job->commit && !job->rc)
		sender_wake(http_app(job->done_arg)->snd);
	http_wake(job->done_arg);
}

static void post_finish(http_req *r)
{
	form_ctx *c = http_ctx(r);

	if (c->wjob.commit || c->wjob.rc) {
		reply_unavailable(r);
		return;
	}
	if (c->form.f.redirect_url[0]) {
		http_reply_header_copy(r, "Location", c->form.f.redirect_url);
		reply_message(r, 303, "Thank you!", "You are signed up.", NULL);
		return;
	}
	reply_page(r, 200, fpage_done(&c->form, &c->post, &c->job));
}

/* What the ledger keeps of the request: bounded, and UTF-8 for JSON. */
static void evidence(http_req *r, form_ctx *c)
{
	const char *ua = http_header(r, "User-Agent");
	signup_job *j = &c->job;

	snprintf(j->user_agent, sizeof j->user_agent, "%s", ua ? ua : "");
	snprintf(j->page_url, sizeof j->page_url, "%s%s",
		 http_app(r)->public_url, http_uri(r));
	/* A cut may split a character: clean what is left of it. */
	utf8_clean(j->user_agent);
	utf8_clean(j->page_url);
	snprintf(j->client, sizeof j->client, "%s", http_client(r));
	snprintf(j->request_id, sizeof j->request_id, "%s",
		 http_request_id(r));
}

static void submit(http_req *r, form_ctx *c)
{
	app *a = http_app(r);

	c->job.form = &c->form;
	c->job.post = &c->post;
	c->job.now_ms = clock_now_ms();
	evidence(r, c);
	c->wjob.fn = signup_apply;
	c->wjob.arg = &c->job;
	c->wjob.done = post_done;
	c->wjob.done_arg = r;
	http_defer(r, post_finish);
	writer_submit(a->wr, &c->wjob);
}

void api_form_post(http_req *r)
{
	form_ctx *c;
	size_t len;
	const char *nonce_have;

	if (admit(r) || !(c = new_ctx(r)) || load(r, c))
		return;
	(void)http_body(r, &len);
	if (len > FORM_BODY_MAX) {
		reply_message(r, 413, "Too much text", "The form sent more "
			      "text than it can hold. Please check what you "
			      "typed and send it again.", NULL);
		return;
	}
	if (read_post(r, c))
		return;
	nonce_have = http_cookie(r, FORM_COOKIE);
	if (form_token_check(http_app(r)->form_secret, c->form.f.id, nonce_have,
			     c->post.token, clock_now_ms())) {
		show_form(r, c, 403, &c->post, "This page had expired, or it "
			  "was sent from somewhere else, so nothing was "
			  "changed. Please check the form and send it again.");
		return;
	}
	if (c->post.n_errors) {
		show_form(r, c, 400, &c->post, "Please correct the "
			  "highlighted fields.");
		return;
	}
	submit(r, c);
}
