/*
 * sms: the gateways' webhooks.
 *
 *   POST /sms/inbound/twilio        Twilio's form, X-Twilio-Signature
 *   GET|POST /sms/inbound/kannel    Kannel's get-url, secret= parameter
 *   POST /sms/inbound               {from, to, body, id}, Bearer key
 *   POST /sms/status/twilio         Twilio's status callbacks, signed
 *   GET|POST /sms/status/kannel     Kannel's delivery reports, secret=
 *
 * A webhook is authenticated before anything else is read, and a bad one
 * gets 403 and changes nothing. An inbound message is then checked
 * against the limits (STORE_ADDR_MAX, STORE_MSGID_MAX, SMS_BODY_CHARS)
 * and handed to the writer (work/inbound.h); the answer is sent after the
 * commit, so a 200 means the message and its effects are durable and a
 * gateway's retry after a 5xx or a timeout is safe.
 */
#include "api/api.h"
#include "api/app.h"
#include "api/common.h"
#include "lib/clock.h"
#include "lib/secret.h"
#include "lib/str.h"
#include "lib/utf8.h"
#include "sms/twilio_sig.h"
#include "work/inbound.h"
#include "work/outbox.h"
#include "work/smsconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SMS_BODY_CHARS 1600 /* Twilio's limit on a message body */
#define TWIML_EMPTY "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>"

typedef enum { ANSWER_TWIML, ANSWER_EMPTY, ANSWER_JSON } answer_kind;

typedef struct {
	inb_job in;
	writer_job job;
	answer_kind answer;
} in_ctx;

static void in_done(writer_job *job)
{
	in_ctx *c = http_ctx(job->done_arg);
	app *a = http_app(job->done_arg);

	if (!job->commit && !job->rc && c->in.n_replies)
		sender_wake(a->snd);
	if (!job->commit && !job->rc && c->in.runs)
		flows_wake(a->flows);
	http_wake(job->done_arg);
}

static json_t *replies_json(const inb_job *j)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < j->n_replies; i++) {
		const store_outbox *o = &j->replies[i];
		json_array_append_new(arr, json_pack(
			"{s:I,s:s,s:s,s:s}", "id", (json_int_t)o->id, "kind",
			o->kind, "state", store_out_state_name(o->state),
			"body", o->body));
	}
	return arr;
}

static void in_finish(http_req *r)
{
	in_ctx *c = http_ctx(r);
	const inb_job *j = &c->in;

	if (c->job.commit || c->job.rc) {
		api_reply_store_error(r, c->job.commit ? c->job.commit
				      : j->err ? j->err : STORE_IO);
		return;
	}
	if (c->answer == ANSWER_TWIML) {
		http_reply_text(r, 200, "text/xml", TWIML_EMPTY);
	} else if (c->answer == ANSWER_EMPTY) {
		/* Kannel sends a non-empty answer as the reply (max-messages
		 * 1, omit-empty); a reply the outbox holds goes there. */
		const store_outbox *o = j->n_replies ? &j->replies[0] : NULL;
		int inline_sent = o && o->state == STORE_OUT_SENT;
		http_reply_text(r, 200, "text/plain; charset=utf-8",
				inline_sent ? o->body : "");
	} else {
		http_reply(r, 200, json_pack(
			"{s:s,s:I,s:b,s:s,s:s,s:s,s:o}", "message", "success",
			"inbound_id", (json_int_t)j->rec.id, "duplicate",
			j->duplicate, "group_id", j->rec.group_id, "category",
			j->rec.category, "action", j->rec.action, "replies",
			replies_json(j)));
	}
}

/* Check one field against its limit; replies 400 naming it. */
static int field(http_req *r, const char *name, const char *v, size_t cap,
		 char *dst, int required)
{
	if (!v || !*v) {
		if (!required) {
			dst[0] = '\0';
			return 0;
		}
		http_reply_error(r, 400, NULL, "%s is required", name);
		return -1;
	}
	if (strlen(v) >= cap) {
		http_reply_error(r, 400, NULL, "%s is longer than %zu bytes",
				 name, cap - 1);
		return -1;
	}
	str_copy(dst, cap, v);
	return 0;
}

/* Fill and submit the inbound job; on a bad field replies 400. */
typedef struct {
	const char *provider;
	const char *names[4]; /* from, to, body, id as the gateway calls them */
	int can_inline;       /* its answer may carry the reply */
} gateway;

static const gateway gw_twilio = {"twilio",
				  {"From", "To", "Body", "MessageSid"}, 0};
static const gateway gw_kannel = {"kannel", {"from", "to", "text", "id"},
				  1};
static const gateway gw_generic = {"generic", {"from", "to", "body", "id"},
				   0};

static void submit(http_req *r, answer_kind answer, const gateway *gw,
		   const char *from, const char *to, const char *body,
		   const char *id)
{
	app *a = http_app(r);
	in_ctx *c;

	if (!body)
		body = "";
	if (strlen(body) > STORE_SMS_BODY_MAX ||
	    utf8_chars(body) > SMS_BODY_CHARS) {
		http_reply_error(r, 400, NULL, "%s is longer than %d "
				 "characters", gw->names[2], SMS_BODY_CHARS);
		return;
	}
	/* Not calloc: the job's large buffers are written before they are
	 * read, and zeroing them cost more than the rest of the request. */
	c = malloc(sizeof *c);
	if (!c) {
		http_reply_error(r, 503, NULL, "out of memory; retry");
		return;
	}
	inb_clear(&c->in);
	memset(&c->job, 0, sizeof c->job);
	http_set_ctx(r, c, free);
	if (field(r, gw->names[0], from, sizeof c->in.from, c->in.from, 1) ||
	    field(r, gw->names[1], to, sizeof c->in.to, c->in.to, 1) ||
	    field(r, gw->names[3], id, sizeof c->in.msgid, c->in.msgid, 1))
		return;
	str_copy(c->in.provider, sizeof c->in.provider, gw->provider);
	if (gw->can_inline && a->kannel_inline)
		str_copy(c->in.inline_provider, sizeof c->in.inline_provider,
			 gw->provider);
	c->in.body_len = strlen(body);
	memcpy(c->in.body, body, c->in.body_len + 1);
	str_copy(c->in.region, sizeof c->in.region, a->default_region);
	c->in.now_ms = clock_now_ms();
	inb_job_init(&c->in, &c->job);
	c->answer = answer;
	c->job.done = in_done;
	c->job.done_arg = r;
	http_defer(r, in_finish);
	writer_submit(a->wr, &c->job);
}

/* ---- authentication ---- */

/* The auth token of the group owning `to`, when the group has its own. */
static int group_token(http_req *r, const char *to,
		       char out[SMSCFG_FIELD_MAX])
{
	char group[IDENT_GROUP_ID_MAX + 1];
	const smscfg *cfg;
	store_group g;
	store *st = http_app(r)->st;

	if (!to || strlen(to) > STORE_ADDR_MAX ||
	    store_number_owner(st, to, group) != STORE_OK ||
	    smsconf_get(st, group, &g, &cfg) != STORE_OK)
		return 0;
	snprintf(out, SMSCFG_FIELD_MAX, "%s",
		 smscfg_provider_of(cfg)->twilio_auth_token);
	return out[0] != '\0';
}

/*
 * Twilio signs public_url + the request target + the sorted form, with
 * the auth token of the account that owns the number: the global one, or
 * the group's own when the group overrides it.
 */
static int twilio_signed(http_req *r, const http_form *f)
{
	app *a = http_app(r);
	twsig_param p[TWSIG_PARAMS_MAX];
	const char *sig = http_header(r, "X-Twilio-Signature");
	char url[SMS_URL_MAX + HTTP_URI_MAX], token[SMSCFG_FIELD_MAX];
	size_t n = http_form_count(f);
	str_buf u;

	if (!sig || n > TWSIG_PARAMS_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		p[i].name = http_form_name(f, i);
		p[i].value = http_form_value(f, i);
	}
	str_buf_init(&u, url, sizeof url);
	str_put(&u, a->public_url);
	str_put(&u, http_uri(r));
	if (a->twilio_token[0] && twsig_check(a->twilio_token, url, p, n, sig))
		return 1;
	/* The group's number is To in a message, From in a status report. */
	return (group_token(r, http_form_get(f, "To"), token) &&
		twsig_check(token, url, p, n, sig)) ||
	       (group_token(r, http_form_get(f, "From"), token) &&
		twsig_check(token, url, p, n, sig));
}

static int kannel_secret_ok(http_req *r, const char *given)
{
	const char *want = http_app(r)->kannel_secret;
	size_t n = strlen(want);

	return n && given && strlen(given) == n && secret_equal(given, want, n);
}

/* Form fields first (POST), else the query string (Kannel's get-url). */
static const char *param(http_req *r, const http_form *f, const char *name)
{
	const char *v = f ? http_form_get(f, name) : NULL;

	return v ? v : http_query(r, name);
}

static const http_form *maybe_form(http_req *r, int *failed)
{
	const char *ct = http_header(r, "Content-Type");
	size_t len = 0;

	*failed = 0;
	http_body(r, &len);
	if (strcmp(http_method(r), "POST") != 0 || !len || !ct ||
	    strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0)
		return NULL;
	const http_form *f = http_form_parse(r);
	*failed = !f;
	return f;
}

/* ---- inbound ---- */

void api_sms_inbound_twilio(http_req *r)
{
	http_form *f = http_form_parse(r);

	if (!f)
		return;
	if (!twilio_signed(r, f)) {
		http_reply_error(r, 403, NULL, "X-Twilio-Signature is missing "
				 "or does not match this request");
		return;
	}
	submit(r, ANSWER_TWIML, &gw_twilio, http_form_get(f, "From"),
	       http_form_get(f, "To"), http_form_get(f, "Body"),
	       http_form_get(f, "MessageSid"));
}

void api_sms_inbound_kannel(http_req *r)
{
	int failed;
	const http_form *f = maybe_form(r, &failed);

	if (failed)
		return;
	if (!kannel_secret_ok(r, param(r, f, "secret"))) {
		http_reply_error(r, 403, NULL, "secret is missing or wrong");
		return;
	}
	submit(r, ANSWER_EMPTY, &gw_kannel, param(r, f, "from"),
	       param(r, f, "to"), param(r, f, "text"), param(r, f, "id"));
}

void api_sms_inbound(http_req *r)
{
	static const char *const known[] = {"from", "to", "body", "id"};
	json_t *o = http_body_json(r);
	const char *k, *v[4] = {NULL};
	json_t *x;

	if (!o)
		return;
	json_object_foreach(o, k, x) {
		size_t i = 0;
		while (i < 4 && strcmp(k, known[i]) != 0)
			i++;
		if (i == 4 || !json_is_string(x)) {
			http_reply_error(r, 400, NULL, i == 4
					 ? "unknown field \"%.64s\" (expected "
					   "from, to, body, id)"
					 : "%s must be a string", k);
			json_decref(o);
			return;
		}
		v[i] = json_string_value(x);
	}
	if (!v[2])
		http_reply_error(r, 400, NULL, "body is required");
	else
		submit(r, ANSWER_JSON, &gw_generic, v[0], v[1], v[2], v[3]);
	json_decref(o);
}

/* ---- status reports ---- */

typedef struct {
	writer_job job;
	outbox_report rep;
} status_ctx;

static void status_done(writer_job *job) { http_wake(job->done_arg); }

static void status_finish(http_req *r)
{
	status_ctx *c = http_ctx(r);

	if (c->job.commit || c->job.rc)
		api_reply_store_error(r, c->job.commit ? c->job.commit
				      : c->rep.err ? c->rep.err : STORE_IO);
	else if (!strcmp(c->rep.provider, "twilio"))
		http_reply_text(r, 200, "text/xml", TWIML_EMPTY);
	else
		http_reply_text(r, 200, "text/plain", "");
}

static status_ctx *status_new(http_req *r, const char *provider)
{
	status_ctx *c = calloc(1, sizeof *c);

	if (!c) {
		http_reply_error(r, 503, NULL, "out of memory; retry");
		return NULL;
	}
	http_set_ctx(r, c, free);
	snprintf(c->rep.provider, sizeof c->rep.provider, "%s", provider);
	c->rep.now_ms = clock_now_ms();
	return c;
}

static void status_submit(http_req *r, status_ctx *c)
{
	c->job.fn = outbox_report_apply;
	c->job.arg = &c->rep;
	c->job.done = status_done;
	c->job.done_arg = r;
	http_defer(r, status_finish);
	writer_submit(http_app(r)->wr, &c->job);
}

void api_sms_status_twilio(http_req *r)
{
	http_form *f = http_form_parse(r);
	const char *code, *state;
	status_ctx *c;

	if (!f)
		return;
	if (!twilio_signed(r, f)) {
		http_reply_error(r, 403, NULL, "X-Twilio-Signature is missing "
				 "or does not match this request");
		return;
	}
	c = status_new(r, "twilio");
	state = http_form_get(f, "MessageStatus");
	code = http_form_get(f, "ErrorCode");
	if (!c || field(r, "MessageSid", http_form_get(f, "MessageSid"),
			sizeof c->rep.provider_id, c->rep.provider_id, 1) ||
	    field(r, "MessageStatus", state, 64, c->rep.error, 1))
		return;
	/* The callback URL names the outbox row (sms/twilio.c), which finds
	 * it even before the row has Twilio's id. */
	const char *id = http_query(r, "id");
	char *end;
	if (id && field(r, "dk", http_query(r, "dk"), sizeof c->rep.dedupe,
			c->rep.dedupe, 1))
		return;
	c->rep.id = id ? strtoll(id, &end, 10) : 0;
	if (id && (*end || c->rep.id <= 0)) {
		http_reply_error(r, 400, NULL, "id must be an outbox message "
				 "id");
		return;
	}
	c->rep.status = sms_twilio_status(state);
	c->rep.opted_out = code && strcmp(code, "21610") == 0 &&
		       c->rep.status == SMS_STATUS_FAILED;
	snprintf(c->rep.error, sizeof c->rep.error, "twilio %s%s%.16s", state,
		 code && *code ? ": error " : "", code ? code : "");
	status_submit(r, c);
}

void api_sms_status_kannel(http_req *r)
{
	int failed;
	const http_form *f = maybe_form(r, &failed);
	const char *id, *type;
	char *end;
	status_ctx *c;

	if (failed)
		return;
	if (!kannel_secret_ok(r, param(r, f, "secret"))) {
		http_reply_error(r, 403, NULL, "secret is missing or wrong");
		return;
	}
	id = param(r, f, "id");
	type = param(r, f, "type");
	c = status_new(r, "kannel");
	if (!c || field(r, "dk", param(r, f, "dk"), sizeof c->rep.dedupe,
			c->rep.dedupe, 0))
		return;
	c->rep.id = id ? strtoll(id, &end, 10) : 0;
	if (!id || *end || c->rep.id <= 0) {
		http_reply_error(r, 400, NULL, "id must be an outbox message "
				 "id");
		return;
	}
	long t = type ? strtol(type, &end, 10) : -1;
	if (!type || *end || t < 0 || t > 255) {
		http_reply_error(r, 400, NULL, "type must be Kannel's DLR "
				 "type (1, 2, 4, 8 or 16)");
		return;
	}
	c->rep.status = sms_kannel_status((int)t);
	snprintf(c->rep.error, sizeof c->rep.error, "kannel dlr %ld", t);
	status_submit(r, c);
}
