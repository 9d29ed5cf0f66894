/*
 * provider: see provider.h. Names, the status maps, and the dispatch to
 * log.c, twilio.c and kannel.c.
 *
 * sms_provider_send() checks the request once for all providers, so a
 * provider never sees a dedupe key that could break an HTTP header, a
 * body that is not UTF-8 or longer than any gateway takes, or a missing
 * recipient. Such a request gets SMS_FAIL: retrying cannot mend it.
 */
#include "sms/sms_int.h"
#include "lib/utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *sms_kind_names[SMS_PROVIDER__COUNT] = {
	"log", "twilio", "kannel",
};

static const char *sms_err_names[] = {
	"ok",
	"retry later",
	"failed",
	"recipient opted out",
	"provider not configured",
	"out of memory",
};

const char *sms_provider_name(sms_provider_kind k)
{
	return (unsigned)k < SMS_PROVIDER__COUNT ? sms_kind_names[k]
						 : "unknown";
}

int sms_provider_parse(const char *s, sms_provider_kind *out)
{
	for (int i = 0; s && i < SMS_PROVIDER__COUNT; i++) {
		if (strcmp(s, sms_kind_names[i]) == 0) {
			*out = (sms_provider_kind)i;
			return 0;
		}
	}
	return -1;
}

const char *sms_strerror(sms_err e)
{
	return (unsigned)e < sizeof sms_err_names / sizeof *sms_err_names
		       ? sms_err_names[e]
		       : "unknown error";
}

/* Twilio's MessageStatus words; the rest (queued, sending, ...) ignored. */
sms_status sms_twilio_status(const char *s)
{
	static const struct {
		const char *word;
		sms_status st;
	} map[] = {
		{"sent", SMS_STATUS_SENT},
		{"delivered", SMS_STATUS_DELIVERED},
		{"read", SMS_STATUS_DELIVERED},
		{"failed", SMS_STATUS_FAILED},
		{"undelivered", SMS_STATUS_FAILED},
		{"canceled", SMS_STATUS_FAILED},
	};

	for (size_t i = 0; s && i < sizeof map / sizeof *map; i++)
		if (strcmp(s, map[i].word) == 0)
			return map[i].st;
	return SMS_STATUS_IGNORE;
}

/* One DLR is one event; a combined mask value (3) is not one we asked
 * Kannel to send, so it means nothing. */
sms_status sms_kannel_status(int dlr_type)
{
	switch (dlr_type) {
	case 1:
		return SMS_STATUS_DELIVERED;
	case 2:
	case 16:
		return SMS_STATUS_FAILED;
	case 8:
		return SMS_STATUS_SENT;
	default:
		return SMS_STATUS_IGNORE; /* 4: buffered, still trying */
	}
}

void sms_res_reset(sms_send_res *res, long st)
{
	memset(res, 0, sizeof *res);
	res->http_status = st >= 100 && st <= 999 ? (int)st : 0;
}

int sms_status_transient(long st)
{
	return st == 429 || st >= 500 || st < 100;
}

/* Drop a character that truncation left incomplete at the end of s. */
static void sms_trim_torn(char *s)
{
	size_t n = strlen(s), lead = n, k;
	uint32_t cp;

	for (k = 0; k < 4 && lead > 0; k++)
		if (((unsigned char)s[--lead] & 0xc0) != 0x80)
			break;
	if (lead < n && (unsigned char)s[lead] >= 0xc0 &&
	    !utf8_decode(s + lead, n - lead, &cp))
		s[lead] = '\0';
}

void sms_res_error(sms_send_res *res, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(res->error, sizeof res->error, fmt, ap);
	va_end(ap);
	/* The text goes to the outbox row and out as JSON: one line of
	 * UTF-8, even when cut mid-character or quoting a gateway's bytes. */
	if (n >= (int)sizeof res->error)
		sms_trim_torn(res->error);
	utf8_clean(res->error);
	for (char *c = res->error; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = ' ';
}

static sms_err sms_conf_fail(char *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static sms_err sms_conf_fail(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, SMS_ERR_MAX, fmt, ap);
	va_end(ap);
	return SMS_ERR_CONFIG;
}

/* The settings each kind cannot work without, named as the flags are. */
static sms_err sms_conf_check(const sms_provider_conf *c, char *err)
{
	switch (c->kind) {
	case SMS_PROVIDER_LOG:
		if (!c->log_path[0])
			return sms_conf_fail(err, "sms log: path not set "
					     "(--sms-log)");
		break;
	case SMS_PROVIDER_TWILIO:
		if (!c->twilio_base[0])
			return sms_conf_fail(err, "twilio: API base URL not "
					     "set (--twilio-api-base)");
		if (!c->twilio_sid[0])
			return sms_conf_fail(err, "twilio: account SID not "
					     "set (--twilio-account-sid)");
		if (!c->twilio_token[0])
			return sms_conf_fail(err, "twilio: auth token not set "
					     "(--twilio-auth-token)");
		break;
	case SMS_PROVIDER_KANNEL:
		if (!c->kannel_url[0] && !c->kannel_box)
			return sms_conf_fail(err, "kannel: neither a sendsms "
					     "URL (--kannel-sendsms-url) nor "
					     "a box link (--kannel-box)");
		break;
	default:
		return sms_conf_fail(err, "unknown sms provider %d",
				     (int)c->kind);
	}
	if (c->timeout_ms < 0)
		return sms_conf_fail(err, "sms: negative timeout");
	return SMS_OK;
}

sms_err sms_provider_open(const sms_provider_conf *c, sms_provider **out,
			  char err[SMS_ERR_MAX])
{
	char scratch[SMS_ERR_MAX];
	sms_provider *p = NULL;
	sms_err e;

	if (!err)
		err = scratch;
	err[0] = '\0';
	if (!out)
		return sms_conf_fail(err, "sms: no provider to open");
	*out = NULL;
	if (!c)
		return sms_conf_fail(err, "sms: no settings");
	if ((e = sms_conf_check(c, err)) != SMS_OK)
		return e;
	if (!(p = calloc(1, sizeof *p)))
		return SMS_ERR_NOMEM;
	p->c = *c;
	if (!p->c.timeout_ms)
		p->c.timeout_ms = SMS_TIMEOUT_MS_DEFAULT;
	/* a Kannel reached only through the box link needs no HTTP */
	e = c->kind == SMS_PROVIDER_LOG ? sms_log_open(p, err)
	    : c->kind == SMS_PROVIDER_KANNEL && !c->kannel_url[0]
		    ? SMS_OK
		    : sms_http_open(p, err);
	if (e != SMS_OK)
		goto out;
	*out = p;
	p = NULL;
out:
	sms_provider_close(p);
	return e;
}

void sms_provider_close(sms_provider *p)
{
	if (!p)
		return;
	free(p->log_buf);
	sms_http_close(p);
	free(p);
}

sms_err sms_provider_sync(sms_provider *p, char err[SMS_ERR_MAX])
{
	if (!p)
		return SMS_ERR_CONFIG;
	return p->c.kind == SMS_PROVIDER_LOG ? sms_log_sync(p, err) : SMS_OK;
}

/* Printable ASCII without spaces: it travels in a header and URLs. */
static int sms_dedupe_ok(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (n >= SMS_DEDUPE_MAX || s[n] <= ' ' || s[n] > '~')
			return 0;
	return n > 0;
}

static int sms_text_ok(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	return n <= max && utf8_valid(s, n);
}

/* A reason the request cannot be sent, or NULL. */
static const char *sms_req_problem(const sms_send_req *r)
{
	if (!r->dedupe || !sms_dedupe_ok(r->dedupe))
		return "dedupe key missing or not printable ASCII";
	if (!r->to || !r->to[0] || !sms_text_ok(r->to, SMS_ADDR_MAX))
		return "recipient missing, too long or not UTF-8";
	if (r->from && !sms_text_ok(r->from, SMS_ADDR_MAX))
		return "sender too long or not UTF-8";
	if (!r->body || !sms_text_ok(r->body, SMS_BODY_MAX))
		return "body missing, too long or not UTF-8";
	return NULL;
}

sms_err sms_provider_send(sms_provider *p, const sms_send_req *r,
			  sms_send_res *res)
{
	const char *problem;

	if (!p || !r || !res)
		return SMS_ERR_CONFIG;
	sms_res_reset(res, 0);
	if ((problem = sms_req_problem(r))) {
		sms_res_error(res, "invalid message: %s", problem);
		return SMS_FAIL;
	}
	switch (p->c.kind) {
	case SMS_PROVIDER_LOG:
		return sms_log_send(p, r, res);
	case SMS_PROVIDER_TWILIO:
		return sms_twilio_send(p, r, res);
	case SMS_PROVIDER_KANNEL:
		return sms_kannel_send(p, r, res);
	default:
		return SMS_ERR_CONFIG;
	}
}
