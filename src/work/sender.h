/*
 * sender: the outbox sender threads.
 *
 * Each thread claims due messages (through the writer, so a claim is one
 * committed transaction), sends them through the group's provider and
 * records the outcome through the writer. Delivery is at least once: a
 * message is claimed with a lease and its attempt counted before it is
 * sent, so if optd dies mid-send the lease runs out and the next claim
 * retries it under the same dedupe key, flagged `recovered` (the log
 * provider then checks its file; Twilio gets the same Idempotency-Key).
 *
 * Outcomes: accepted -> sent; retryable (connection, timeout, 429, 5xx)
 * -> queued again after an exponential backoff with jitter, until
 * max_attempts, then failed; permanent -> failed with the provider's
 * error; Twilio 21610 -> failed, and the phone is unsubscribed from the
 * group (source `provider`). A non-reply message to a phone that is no
 * longer subscribed is rejected at claim time, never sent.
 */
#ifndef OPTD_SENDER_H
#define OPTD_SENDER_H

#include "sms/provider.h"
#include "store/store.h"
#include "work/writer.h"

#define SENDER_THREADS_MAX 16
#define SENDER_BATCH 32 /* messages one thread claims at once */

typedef struct {
	sms_provider_conf provider; /* the global provider */
	unsigned threads;           /* 1..SENDER_THREADS_MAX */
	int max_attempts;
	int64_t lease_ms;      /* > provider timeout */
	int64_t retry_base_ms; /* first retry delay; doubles each time */
	int64_t retry_max_ms;
} sender_conf;

typedef struct sender sender;

/* NULL when the global provider cannot start; err says why. */
sender *sender_start(store *st, writer *wr, const sender_conf *c,
		     char err[SMS_ERR_MAX]);
/* New messages may be due: wake the threads. Thread-safe, NULL-safe. */
void sender_wake(sender *s);
/* Finish the messages in hand, then stop. NULL-safe. */
void sender_stop(sender *s);

#endif
