/*
 * sms_int: what the providers share inside src/sms/. Nothing outside
 * src/sms/ includes it except the unit tests and fuzz targets, which call
 * the pure response classifiers directly.
 *
 * One struct serves all three providers: `log` needs only its settings,
 * `twilio` and `kannel` use the curl handle, kept between messages so the
 * gateway's connection (and its TLS session) is reused. The response
 * buffer is allocated once with the provider and never grows.
 */
#ifndef OPTD_SMS_INT_H
#define OPTD_SMS_INT_H

#include "sms/provider.h"

#include <curl/curl.h>

#define SMS_DEDUPE_MAX 128  /* bytes of a dedupe key: printable ASCII */
#define SMS_ADDR_MAX 64     /* bytes of a To or From: E.164 or a name */
#define SMS_BODY_MAX 6400   /* bytes: Twilio's 1600 characters, 4 bytes each */
#define SMS_REQUEST_MAX 65536 /* bytes of a URL or form we build */
#define SMS_RETRY_AFTER_MAX_S 3600 /* a longer Retry-After is cut to this */
#define SMS_ERR_LINE_MAX 160 /* bytes of a gateway's text quoted in error */

#define SMS_TWILIO_OPTED_OUT 21610 /* "Attempt to send to unsubscribed" */

struct sms_provider {
	sms_provider_conf c;
	CURL *curl;  /* twilio, kannel */
	char curl_err[CURL_ERROR_SIZE];
	char *resp;  /* SMS_RESPONSE_MAX + 1 bytes */
	size_t resp_len;
	char *log_buf; /* log: lines accepted since the last sync */
	size_t log_len, log_cap;
};

/* A string that grows up to SMS_REQUEST_MAX bytes, then refuses. */
typedef struct {
	char *s;
	size_t len, cap;
	int failed; /* out of memory or past the limit: the string is bad */
} sms_buf;

void sms_buf_add(sms_buf *b, const char *s);
void sms_buf_addf(sms_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append sep, name, '=' and the value percent-encoded. */
void sms_buf_param(sms_buf *b, char sep, const char *name, const char *value);
/* Append v as a parameter's value (see sms_buf_param), and free v. */
void sms_buf_param_take(sms_buf *b, char sep, const char *name, sms_buf *v);
/* Append s without its trailing slashes (a base URL). */
void sms_buf_base(sms_buf *b, const char *s);
/* Append {public_url}/sms/status/{who}?id=OUTBOX_ID&dk=DEDUPE: the
 * status callback that names its message. */
void sms_buf_callback(sms_buf *b, const char *public_url, const char *who,
		      const sms_send_req *r);
void sms_buf_free(sms_buf *b);

/* Start res afresh for a gateway's answer with this HTTP status. */
void sms_res_reset(sms_send_res *res, long http_status);
/* A status worth retrying: 429, 5xx, or none that HTTP defines. */
int sms_status_transient(long http_status);
/* Set res->error, cut at SMS_ERR_MAX, made one line of valid UTF-8. */
void sms_res_error(sms_send_res *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* log.c */
sms_err sms_log_open(sms_provider *p, char err[SMS_ERR_MAX]);
sms_err sms_log_send(sms_provider *p, const sms_send_req *r,
		     sms_send_res *res);
sms_err sms_log_sync(sms_provider *p, char err[SMS_ERR_MAX]);

/* http.c: the curl handle of twilio and kannel */
sms_err sms_http_open(sms_provider *p, char err[SMS_ERR_MAX]);
void sms_http_close(sms_provider *p);
/* Sets the options every request shares; the caller then sets its own. */
void sms_http_reset(sms_provider *p);
/*
 * Run the request. SMS_OK when the gateway answered (its status in
 * *status, its body in p->resp[0..p->resp_len), NUL-terminated); else the
 * transport's failure is classified into res (SMS_RETRY almost always).
 */
sms_err sms_http_perform(sms_provider *p, const char *who, long *status,
			 sms_send_res *res);
/* Retry-After of the last answer, in ms (0 when absent), capped. */
int64_t sms_http_retry_after_ms(sms_provider *p);

/* twilio.c, kannel.c */
sms_err sms_twilio_send(sms_provider *p, const sms_send_req *r,
			sms_send_res *res);
sms_err sms_kannel_send(sms_provider *p, const sms_send_req *r,
			sms_send_res *res);

/*
 * Pure: classify a gateway's answer. body[0..len) need not be
 * NUL-terminated and may be anything at all; *res is filled from scratch
 * (http_status, code, provider_id for Twilio, error). Never SMS_ERR_*.
 */
sms_err sms_twilio_parse_response(long http_status, const char *body,
				  size_t len, sms_send_res *res);
sms_err sms_kannel_parse_response(long http_status, const char *body,
				  size_t len, sms_send_res *res);

#endif
