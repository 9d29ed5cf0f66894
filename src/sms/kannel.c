/*
 * kannel: smsbox's sendsms interface, or bearerbox's box link when optd
 * runs as a box (--kannel-box) and the group names no sendsms URL.
 *
 *   GET {sendsms-url}?username&password&from&to&text&charset=UTF-8
 *       &coding=0|2&dlr-mask&dlr-url
 *
 * coding is 2 (UCS-2) exactly when core/smsenc says the body needs it, so
 * Kannel never has to guess and a GSM body is never sent as UCS-2 (twice
 * the segments). The dlr-url names the outbox row, its dedupe key and the
 * shared secret, and ends in type=%d for Kannel to fill in; it is one
 * parameter of the sendsms URL, so it is percent-encoded as a whole and
 * Kannel decodes it back to ...&type=%d before substituting.
 *
 * Kannel answers 202 "0: Accepted for delivery" or 202 "3: Queued for
 * later delivery". The second means Kannel stored the message and will
 * send it once its SMSC link is back: accepted, so SMS_OK, because
 * sending it again would deliver it twice.
 */
#include "sms/sms_int.h"
#include "core/smsenc.h"
#include "sms/kboxlink.h"

#include <stdio.h>
#include <string.h>

#define KANNEL_CODING_GSM 0
#define KANNEL_CODING_UCS2 2

/* The first line of Kannel's answer, for an error message. */
static int kannel_line_len(const char *body, size_t len)
{
	size_t n = 0;

	while (n < len && n < SMS_ERR_LINE_MAX && body[n] != '\n' &&
	       body[n] != '\r')
		n++;
	return (int)n;
}

/* "0: Accepted…", "3: Queued…", or "Sent." from an smsbox that answers
 * before the bearerbox does (immediate-sendsms-reply = true). */
static int kannel_accepted(const char *body, size_t len)
{
	return (len >= 2 && (body[0] == '0' || body[0] == '3') &&
		body[1] == ':') ||
	       (len >= 5 && memcmp(body, "Sent.", 5) == 0);
}

sms_err sms_kannel_parse_response(long st, const char *body, size_t len,
				  sms_send_res *res)
{
	int n;

	sms_res_reset(res, st);
	if (!body)
		len = 0;
	n = kannel_line_len(body, len);
	if (st >= 200 && st <= 299) {
		if (kannel_accepted(body, len))
			return SMS_OK;
		sms_res_error(res, "kannel HTTP %ld: unexpected answer: %.*s",
			      st, n, n ? body : "");
		return SMS_FAIL;
	}
	sms_res_error(res, "kannel HTTP %ld: %.*s", st, n, n ? body : "");
	if (sms_status_transient(st))
		return SMS_RETRY;
	return SMS_FAIL; /* "Authorization failed", bad number, 3xx, ... */
}

/* {public}/sms/status/kannel?id=ID&dk=DEDUPE[&secret=S]&type=%d */
static void kannel_dlr_url(const sms_provider_conf *c, const sms_send_req *r,
			   sms_buf *d)
{
	sms_buf_callback(d, c->public_url, "kannel", r);
	if (c->kannel_secret[0])
		sms_buf_param(d, '&', "secret", c->kannel_secret);
	sms_buf_add(d, "&type=%d");
}

static void kannel_url(const sms_provider_conf *c, const sms_send_req *r,
		       int coding, sms_buf *u)
{
	sms_buf dlr = {0};

	sms_buf_add(u, c->kannel_url);
	sms_buf_param(u, strchr(c->kannel_url, '?') ? '&' : '?', "username",
		      c->kannel_user);
	sms_buf_param(u, '&', "password", c->kannel_pass);
	if (r->from && r->from[0])
		sms_buf_param(u, '&', "from", r->from);
	sms_buf_param(u, '&', "to", r->to);
	sms_buf_param(u, '&', "text", r->body);
	sms_buf_add(u, "&charset=UTF-8");
	sms_buf_addf(u, "&coding=%d", coding);
	if (c->public_url[0] && c->kannel_dlr_mask > 0) {
		kannel_dlr_url(c, r, &dlr);
		sms_buf_addf(u, "&dlr-mask=%d", c->kannel_dlr_mask);
		sms_buf_param_take(u, '&', "dlr-url", &dlr);
	}
}

/* Through bearerbox itself: done once bearerbox has stored it. */
static sms_err kannel_box_send(sms_provider *p, const sms_send_req *r,
			       sms_send_res *res)
{
	long timeout = p->c.timeout_ms ? p->c.timeout_ms
				       : SMS_TIMEOUT_MS_DEFAULT;

	sms_res_reset(res, 0);
	return kbl_send_wait(p->c.kannel_box, r, timeout, res);
}

sms_err sms_kannel_send(sms_provider *p, const sms_send_req *r,
			sms_send_res *res)
{
	smsenc_info enc;
	sms_buf url = {0};
	long st;
	sms_err e;

	if (p->c.kannel_box && !p->c.kannel_url[0])
		return kannel_box_send(p, r, res);
	if (smsenc_measure(r->body, strlen(r->body), &enc) != SMSENC_OK) {
		sms_res_error(res, "kannel: body cannot be encoded");
		return SMS_FAIL;
	}
	kannel_url(&p->c, r, enc.encoding == SMSENC_UCS2 ? KANNEL_CODING_UCS2
							 : KANNEL_CODING_GSM,
		   &url);
	if (url.failed) {
		sms_res_error(res, "kannel: out of memory or request too "
			      "large");
		e = SMS_ERR_NOMEM;
		goto out;
	}
	sms_http_reset(p);
	curl_easy_setopt(p->curl, CURLOPT_URL, url.s);
	curl_easy_setopt(p->curl, CURLOPT_HTTPGET, 1L);
	if ((e = sms_http_perform(p, "kannel", &st, res)) != SMS_OK)
		goto out;
	/* Kannel gives a message no id of its own ("0: Accepted for
	 * delivery"); its delivery reports name the outbox row. */
	e = sms_kannel_parse_response(st, p->resp, p->resp_len, res);
	if (e == SMS_RETRY)
		res->retry_after_ms = sms_http_retry_after_ms(p);
out:
	sms_buf_free(&url);
	return e;
}
