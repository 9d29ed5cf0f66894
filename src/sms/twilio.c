/*
 * twilio: the Messages API.
 *
 *   POST {base}/2010-04-01/Accounts/{sid}/Messages.json
 *   Authorization: Basic sid:token
 *   Idempotency-Key: {dedupe}
 *   To, From (or MessagingServiceSid), Body, StatusCallback
 *
 * The StatusCallback carries the outbox id and the dedupe key in its
 * query, so a status can find its message even when it arrives before
 * the outbox row has Twilio's sid (Twilio signs that full URL, query
 * included). An answer is classified by sms_twilio_parse_response(),
 * which is pure so the unit tests and a fuzz target can feed it anything.
 */
#include "sms/sms_int.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define TWILIO_API_VERSION "2010-04-01"

/* Twilio's sid (SM + 32 hex digits): printable and short, or nothing. */
static void twilio_copy_sid(const char *sid, sms_send_res *res)
{
	size_t n = sid ? strnlen(sid, SMS_PROVIDER_ID_MAX + 1) : 0;

	if (n == 0 || n > SMS_PROVIDER_ID_MAX)
		return;
	for (size_t i = 0; i < n; i++)
		if (sid[i] <= ' ' || sid[i] > '~')
			return;
	memcpy(res->provider_id, sid, n + 1);
}

/* Twilio's error document: {"code": 21610, "message": "...", ...}. */
static void twilio_error(long st, json_t *j, sms_send_res *res)
{
	json_t *code = json_object_get(j, "code");
	const char *msg = json_string_value(json_object_get(j, "message"));
	json_int_t c = json_integer_value(code);

	if (json_is_integer(code) && c > 0 && c <= INT32_MAX)
		res->code = (int)c;
	if (res->code && msg)
		sms_res_error(res, "twilio %d: %s", res->code, msg);
	else if (res->code)
		sms_res_error(res, "twilio %d (HTTP %ld)", res->code, st);
	else
		sms_res_error(res, "twilio HTTP %ld", st);
}

sms_err sms_twilio_parse_response(long st, const char *body, size_t len,
				  sms_send_res *res)
{
	json_t *j = NULL;
	sms_err e;

	sms_res_reset(res, st);
	if (body && len > 0 && len <= SMS_RESPONSE_MAX)
		j = json_loadb(body, len, 0, NULL);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	if (st >= 200 && st <= 299) {
		/* Accepted. A body we cannot read does not undo that:
		 * sending again would send twice. */
		twilio_copy_sid(json_string_value(json_object_get(j, "sid")),
				res);
		e = SMS_OK;
	} else if (sms_status_transient(st)) {
		e = SMS_RETRY;
	} else {
		e = SMS_FAIL; /* 4xx; also 1xx and 3xx: we follow no redirect */
	}
	if (e != SMS_OK) {
		twilio_error(st, j, res);
		/* Only a refusal says the recipient opted out. */
		if (st >= 400 && st <= 499 && e == SMS_FAIL &&
		    res->code == SMS_TWILIO_OPTED_OUT)
			e = SMS_OPTED_OUT;
	}
	json_decref(j);
	return e;
}

/* {base}/2010-04-01/Accounts/{sid}/Messages.json */
static void twilio_url(const sms_provider_conf *c, sms_buf *u)
{
	char *sid = curl_easy_escape(NULL, c->twilio_sid, 0);

	if (!sid) {
		u->failed = 1;
		return;
	}
	sms_buf_base(u, c->twilio_base);
	sms_buf_add(u, "/" TWILIO_API_VERSION "/Accounts/");
	sms_buf_add(u, sid);
	sms_buf_add(u, "/Messages.json");
	curl_free(sid);
}

static void twilio_form(const sms_provider_conf *c, const sms_send_req *r,
			sms_buf *f)
{
	sms_buf cb = {0};

	sms_buf_param(f, 0, "To", r->to);
	if (c->twilio_msid[0])
		sms_buf_param(f, '&', "MessagingServiceSid", c->twilio_msid);
	else
		sms_buf_param(f, '&', "From", r->from);
	sms_buf_param(f, '&', "Body", r->body);
	if (c->public_url[0]) {
		sms_buf_callback(&cb, c->public_url, "twilio", r);
		sms_buf_param_take(f, '&', "StatusCallback", &cb);
	}
}

sms_err sms_twilio_send(sms_provider *p, const sms_send_req *r,
			sms_send_res *res)
{
	const sms_provider_conf *c = &p->c;
	struct curl_slist *hdr = NULL, *h;
	char key[SMS_DEDUPE_MAX + 32];
	sms_buf url = {0}, form = {0};
	long st;
	sms_err e;

	if (!c->twilio_msid[0] && (!r->from || !r->from[0])) {
		sms_res_error(res, "twilio: no From number and no messaging "
			      "service");
		return SMS_FAIL;
	}
	twilio_url(c, &url);
	twilio_form(c, r, &form);
	snprintf(key, sizeof key, "Idempotency-Key: %s", r->dedupe);
	e = SMS_ERR_NOMEM;
	if (url.failed || form.failed || !(hdr = curl_slist_append(NULL, key)))
		goto out;
	if (!(h = curl_slist_append(hdr, "Accept: application/json")))
		goto out;
	hdr = h;
	sms_http_reset(p);
	curl_easy_setopt(p->curl, CURLOPT_URL, url.s);
	curl_easy_setopt(p->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(p->curl, CURLOPT_USERNAME, c->twilio_sid);
	curl_easy_setopt(p->curl, CURLOPT_PASSWORD, c->twilio_token);
	curl_easy_setopt(p->curl, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, form.s);
	curl_easy_setopt(p->curl, CURLOPT_POSTFIELDSIZE, (long)form.len);
	if ((e = sms_http_perform(p, "twilio", &st, res)) != SMS_OK)
		goto out;
	e = sms_twilio_parse_response(st, p->resp, p->resp_len, res);
	if (e == SMS_RETRY)
		res->retry_after_ms = sms_http_retry_after_ms(p);
out:
	if (e == SMS_ERR_NOMEM)
		sms_res_error(res, "twilio: out of memory or request too "
			      "large");
	curl_slist_free_all(hdr);
	sms_buf_free(&url);
	sms_buf_free(&form);
	return e;
}
