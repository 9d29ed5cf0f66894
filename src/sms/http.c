/*
 * http: the libcurl side of the twilio and kannel providers.
 *
 * One easy handle per provider, reset (not recreated) before each
 * request: curl_easy_reset() drops the options (some point at the last
 * request's strings, freed since) but keeps the live connections, the DNS
 * cache and the TLS session, which is what makes the second message
 * cheap. Every request gets the same guards: http and
 * https only, no redirects (a moved gateway is a setting to fix, not
 * something to follow with credentials attached), no signals (the
 * sender is one thread of many), the configured timeout on both the
 * connection and the whole exchange, and at most SMS_RESPONSE_MAX bytes
 * of answer kept (the rest is read and dropped, so the connection stays
 * usable).
 */
#include "sms/sms_int.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t sms_curl_once = PTHREAD_ONCE_INIT;
static CURLcode sms_curl_init_rc = CURLE_FAILED_INIT;

static void sms_curl_global(void)
{
	sms_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- bounded strings ---- */

static void sms_buf_grow_add(sms_buf *b, const char *s, size_t n)
{
	size_t cap;
	char *t;

	if (b->failed)
		return;
	if (n > SMS_REQUEST_MAX - b->len) {
		b->failed = 1;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(t = realloc(b->s, cap))) {
			b->failed = 1;
			return;
		}
		b->s = t;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void sms_buf_add(sms_buf *b, const char *s)
{
	sms_buf_grow_add(b, s, strlen(s));
}

void sms_buf_addf(sms_buf *b, const char *fmt, ...)
{
	char tmp[SMS_URL_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp)
		b->failed = 1;
	else
		sms_buf_grow_add(b, tmp, (size_t)n);
}

void sms_buf_param(sms_buf *b, char sep, const char *name, const char *value)
{
	char *esc;

	if (b->failed)
		return;
	/* The handle argument has been ignored since libcurl 7.82. */
	esc = curl_easy_escape(NULL, value ? value : "", 0);
	if (!esc) {
		b->failed = 1;
		return;
	}
	if (sep)
		sms_buf_grow_add(b, &sep, 1);
	sms_buf_add(b, name);
	sms_buf_add(b, "=");
	sms_buf_add(b, esc);
	curl_free(esc);
}

void sms_buf_param_take(sms_buf *b, char sep, const char *name, sms_buf *v)
{
	if (v->failed)
		b->failed = 1;
	else
		sms_buf_param(b, sep, name, v->s);
	sms_buf_free(v);
}

void sms_buf_callback(sms_buf *b, const char *public_url, const char *who,
		      const sms_send_req *r)
{
	sms_buf_base(b, public_url);
	sms_buf_addf(b, "/sms/status/%s?id=%" PRId64, who, r->outbox_id);
	sms_buf_param(b, '&', "dk", r->dedupe);
}

void sms_buf_base(sms_buf *b, const char *s)
{
	size_t n = strlen(s);

	while (n > 0 && s[n - 1] == '/')
		n--;
	sms_buf_grow_add(b, s, n);
}

void sms_buf_free(sms_buf *b)
{
	free(b->s);
	*b = (sms_buf){0};
}

/* ---- the handle ---- */

/* An http or https URL curl can parse: a typo fails at start-up. */
static int sms_url_ok(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL;
	int ok;

	ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	     curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	     (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0);
	curl_free(scheme);
	curl_url_cleanup(u);
	return ok;
}

sms_err sms_http_open(sms_provider *p, char err[SMS_ERR_MAX])
{
	const char *url = p->c.kind == SMS_PROVIDER_TWILIO ? p->c.twilio_base
							    : p->c.kannel_url;

	pthread_once(&sms_curl_once, sms_curl_global);
	if (sms_curl_init_rc != CURLE_OK) {
		snprintf(err, SMS_ERR_MAX, "sms: libcurl: %s",
			 curl_easy_strerror(sms_curl_init_rc));
		return SMS_ERR_CONFIG;
	}
	if (!sms_url_ok(url)) {
		snprintf(err, SMS_ERR_MAX, "%s: not an http(s) URL: %.160s",
			 sms_provider_name(p->c.kind), url);
		return SMS_ERR_CONFIG;
	}
	if (p->c.public_url[0] && !sms_url_ok(p->c.public_url)) {
		snprintf(err, SMS_ERR_MAX, "sms: public URL is not an "
			 "http(s) URL: %.160s", p->c.public_url);
		return SMS_ERR_CONFIG;
	}
	p->resp = malloc(SMS_RESPONSE_MAX + 1);
	p->curl = curl_easy_init();
	return p->resp && p->curl ? SMS_OK : SMS_ERR_NOMEM;
}

void sms_http_close(sms_provider *p)
{
	if (p->curl)
		curl_easy_cleanup(p->curl);
	p->curl = NULL;
	free(p->resp);
	p->resp = NULL;
}

static size_t sms_http_write(char *data, size_t size, size_t n, void *arg)
{
	sms_provider *p = arg;
	size_t len = size * n, room = SMS_RESPONSE_MAX - p->resp_len;
	size_t keep = len < room ? len : room;

	memcpy(p->resp + p->resp_len, data, keep);
	p->resp_len += keep;
	return len;
}

void sms_http_reset(sms_provider *p)
{
	CURL *c = p->curl;

	curl_easy_reset(c);
	p->curl_err[0] = '\0';
	p->resp_len = 0;
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, p->curl_err);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, p->c.timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, p->c.timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sms_http_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, p);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "optd");
}

/*
 * What a transport failure means. Only a request that can never be made
 * (a URL curl refuses) is final; everything else, including a timeout
 * after the request went out, is retried under the same dedupe key.
 */
static sms_err sms_curl_classify(CURLcode rc)
{
	switch (rc) {
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return SMS_FAIL;
	default:
		return SMS_RETRY;
	}
}

sms_err sms_http_perform(sms_provider *p, const char *who, long *status,
			 sms_send_res *res)
{
	CURLcode rc = curl_easy_perform(p->curl);
	sms_err e;

	p->resp[p->resp_len] = '\0';
	*status = 0;
	if (rc != CURLE_OK) {
		e = sms_curl_classify(rc);
		sms_res_error(res, "%s: %s", who,
			      p->curl_err[0] ? p->curl_err
					     : curl_easy_strerror(rc));
		return e;
	}
	curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, status);
	return SMS_OK;
}

int64_t sms_http_retry_after_ms(sms_provider *p)
{
	curl_off_t s = 0;

	if (curl_easy_getinfo(p->curl, CURLINFO_RETRY_AFTER, &s) != CURLE_OK ||
	    s <= 0)
		return 0;
	if (s > SMS_RETRY_AFTER_MAX_S)
		s = SMS_RETRY_AFTER_MAX_S;
	return (int64_t)s * 1000;
}
