/*
 * kboxlink: optd's connection to Kannel's bearerbox as one of its boxes
 * (--kannel-box HOST:PORT), in the place smsbox would take. Messages from
 * phones (and delivery reports) arrive on it, replies leave on it; no
 * HTTP and no smsbox between optd and Kannel.
 *
 * Two threads: a reader connects (again and again, backing off, while
 * bearerbox is away), says who it is, and hands each sms to the caller's
 * recv function; a writer sends what is queued (acks, messages, a
 * heartbeat every KBL_HEARTBEAT_MS) many frames to a write.
 *
 * Invariants:
 *  - bearerbox keeps every message it handed over until it gets the ack;
 *    the caller acks (kbl_ack) once the message is durably handled. An ack
 *    for a connection that has gone is dropped: bearerbox hands that
 *    message over again, and the caller's idempotency makes it a no-op.
 *  - a message sent (kbl_send) stays with the link until bearerbox acks
 *    it: one written to a connection that broke is written again on the
 *    next (bearerbox may then have it twice, as with smsbox's sendsms);
 *    bearerbox's "try again" is retried KBL_TMP_TRIES times, a second
 *    apart.
 *  - frames are queued in order: a reply queued before the ack of the
 *    message it answers is written before it.
 */
#ifndef OPTD_KBOXLINK_H
#define OPTD_KBOXLINK_H

#include "sms/kbox.h"
#include "sms/provider.h"

#include <stdint.h>

#define KBL_HOST_MAX 256
#define KBL_BACKLOG_MAX 4096 /* messages waiting for bearerbox, past which
				kbl_send_wait refuses (SMS_RETRY) */
#define KBL_HEARTBEAT_MS 30000
#define KBL_TMP_TRIES 10
#define KBL_DLR_PREFIX "optd:" /* dlr_url: optd:OUTBOX_ID:DEDUPE */
#define KBL_SMSC_ID_MAX 64     /* bytes of an SMSC's id kept for replies */

typedef struct kbl kbl;

typedef struct {
	char host[KBL_HOST_MAX];
	unsigned port;
	int dlr_mask; /* asked for on each message; 0 for no reports */
} kbl_conf;

/* Names one message handed over on one connection, for its ack. */
typedef struct {
	uint64_t conn;
	char id[KBOX_UUID_LEN + 1];
	int32_t time;
} kbl_ref;

/* An sms arrived (mo or report_mo); m's strings live until it returns. */
typedef void (*kbl_recv_fn)(void *ctx, const kbox_msg *m, const kbl_ref *r);
/* Bearerbox refused a message sent with kbl_send (never called for one
 * it took): e is SMS_FAIL or SMS_RETRY, error says why. */
typedef void (*kbl_refused_fn)(void *ctx, int64_t outbox_id,
			       const char *dedupe, sms_err e,
			       const char *error);

/* "HOST:PORT" into c->host and c->port; -1 when it is not one. */
int kbl_parse_addr(const char *s, kbl_conf *c);

/* No thread yet: kbl_run starts them. */
kbl *kbl_new(const kbl_conf *c);
void kbl_run(kbl *l, kbl_recv_fn recv, kbl_refused_fn refused, void *ctx);
/* Take no more messages from bearerbox (they stay with it, unacked),
 * as the first step of a clean stop. */
void kbl_quiesce(kbl *l);
/* Wait until everything queued is written and every message sent is
 * acked, at most timeout_ms, or until the connection is gone; 0 when
 * all went. */
int kbl_flush(kbl *l, int64_t timeout_ms);
/* Stops the threads; later calls are no-ops. Queued frames are dropped
 * (bearerbox keeps what was not acked). */
void kbl_stop(kbl *l);
void kbl_free(kbl *l); /* NULL-safe; stops first */

/* Queue the ack of a message handed over, at once or after delay_ms. */
void kbl_ack(kbl *l, const kbl_ref *r, int nack, int64_t delay_ms);
/* Queue a message for bearerbox (reply kind: mt_reply), through the SMSC
 * smsc when not NULL (a reply leaves by the link its message came in
 * by, as smsbox's do); its fate goes to the refused function only if
 * bearerbox refuses it. */
sms_err kbl_send(kbl *l, const sms_send_req *r, const char *smsc,
		 char err[SMS_ERR_MAX]);
/* Send and wait up to timeout_ms for bearerbox's ack (the provider). */
sms_err kbl_send_wait(kbl *l, const sms_send_req *r, long timeout_ms,
		      sms_send_res *res);
int kbl_connected(kbl *l);

/* Pure: outbox id and dedupe key from a dlr_url we made; -1 if not. */
int kbl_dlr_parse(const kbox_str *url, int64_t *id, char *dedupe,
		  size_t cap);

#endif
