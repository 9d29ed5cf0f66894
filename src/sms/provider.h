/*
 * provider: hand one outbox message to an SMS gateway and say what became
 * of it. Three providers: `log` (a JSON line per message in a local file),
 * `twilio` (the Messages API) and `kannel` (smsbox's sendsms, or
 * bearerbox itself through the box link, sms/kboxlink.h).
 *
 * Only src/sms/ speaks to gateways (libcurl). A provider is used by one
 * thread at a time (the outbox sender); it keeps its connection alive
 * between messages. sms_provider_send() never blocks longer than the
 * configured timeout, and classifies every outcome so the sender can
 * decide between done, retry later and give up:
 *   SMS_OK          the gateway accepted the message (provider_id set
 *                   where the gateway gives one), Kannel's "3: Queued
 *                   for later delivery" included: Kannel stored it and
 *                   sends it when its SMSC link is back;
 *   SMS_RETRY       worth trying again: connection refused or dropped,
 *                   timeout, HTTP 429 or 5xx;
 *   SMS_FAIL        never worth retrying: any other 4xx, a refusal;
 *   SMS_OPTED_OUT   the gateway says the recipient opted out (Twilio
 *                   21610): a failure that also changes consent.
 * Every attempt carries the message's dedupe key, so a gateway that
 * honours idempotency keys (and our fake Twilio) never sends twice.
 */
#ifndef OPTD_SMS_PROVIDER_H
#define OPTD_SMS_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#define SMS_URL_MAX 512
#define SMS_SECRET_MAX 128 /* tokens, passwords */
#define SMS_SID_MAX 64
#define SMS_PATH_MAX 1024
#define SMS_ERR_MAX 256
#define SMS_PROVIDER_ID_MAX 64
#define SMS_RESPONSE_MAX 65536 /* bytes of a gateway's answer we read */
#define SMS_TIMEOUT_MS_DEFAULT 10000

typedef enum {
	SMS_OK = 0,
	SMS_RETRY,
	SMS_FAIL,
	SMS_OPTED_OUT,
	SMS_ERR_CONFIG, /* the provider cannot work with these settings */
	SMS_ERR_NOMEM,
} sms_err;

typedef enum {
	SMS_PROVIDER_LOG = 0,
	SMS_PROVIDER_TWILIO,
	SMS_PROVIDER_KANNEL,
	SMS_PROVIDER__COUNT,
} sms_provider_kind;

typedef struct {
	sms_provider_kind kind;
	/* log */
	char log_path[SMS_PATH_MAX];
	/* twilio */
	char twilio_base[SMS_URL_MAX]; /* "https://api.twilio.com" */
	char twilio_sid[SMS_SID_MAX];
	char twilio_token[SMS_SECRET_MAX];
	char twilio_msid[SMS_SID_MAX]; /* MessagingServiceSid, or "" */
	/* kannel */
	char kannel_url[SMS_URL_MAX]; /* ".../cgi-bin/sendsms" */
	char kannel_user[SMS_SECRET_MAX];
	char kannel_pass[SMS_SECRET_MAX];
	char kannel_secret[SMS_SECRET_MAX]; /* put in the dlr-url */
	int kannel_dlr_mask;
	/* optd as a box of bearerbox (--kannel-box): messages go there, not
	 * to a sendsms URL, when the group sets no URL of its own */
	struct kbl *kannel_box;
	/* optd's own base URL as the gateway reaches it, for callbacks */
	char public_url[SMS_URL_MAX];
	long timeout_ms; /* 0 means SMS_TIMEOUT_MS_DEFAULT */
} sms_provider_conf;

typedef struct sms_provider sms_provider;

typedef struct {
	int64_t outbox_id;
	const char *dedupe;
	const char *to;
	const char *from; /* the group's number; twilio may use msid instead */
	const char *body;
	/* an earlier attempt may have reached the gateway (its sender died) */
	int recovered;
} sms_send_req;

typedef struct {
	char provider_id[SMS_PROVIDER_ID_MAX + 1]; /* Twilio's SM…, or "" */
	int http_status;                           /* 0 when none */
	int code;           /* the gateway's error code (21610), or 0 */
	char error[SMS_ERR_MAX]; /* what went wrong, for the outbox row */
	int64_t retry_after_ms;  /* from Retry-After, or 0 */
} sms_send_res;

const char *sms_provider_name(sms_provider_kind k); /* "log", ... */
int sms_provider_parse(const char *s, sms_provider_kind *out);
const char *sms_strerror(sms_err e);

/* Checks the settings the kind needs; err names a missing one. */
sms_err sms_provider_open(const sms_provider_conf *c, sms_provider **out,
			  char err[SMS_ERR_MAX]);
void sms_provider_close(sms_provider *p); /* NULL-safe */
sms_err sms_provider_send(sms_provider *p, const sms_send_req *r,
			  sms_send_res *res);
/*
 * Make every message this provider accepted since the last sync durable
 * (the log provider keeps its lines at send, and appends and fsyncs
 * them here, once for a whole batch; the gateways have nothing to do).
 * The sender calls it before recording any of those messages as sent; on
 * an error none of them counts as sent.
 */
sms_err sms_provider_sync(sms_provider *p, char err[SMS_ERR_MAX]);

/* What a status callback's state means for the outbox. */
typedef enum {
	SMS_STATUS_IGNORE = 0, /* queued, sending, accepted, unknown words */
	SMS_STATUS_SENT,
	SMS_STATUS_DELIVERED,
	SMS_STATUS_FAILED,
} sms_status;

/* Twilio's MessageStatus ("delivered", "undelivered", ...). */
sms_status sms_twilio_status(const char *message_status);
/* Kannel's DLR type (%d): 1 delivered, 2 failed, 4 buffered, 8 SMSC
 * accepted, 16 SMSC rejected. */
sms_status sms_kannel_status(int dlr_type);

#endif
