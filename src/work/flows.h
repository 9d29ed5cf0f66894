/*
 * flows: event-triggered flows (docs/flows.md): who enters, and the
 * runner threads that take each run through its steps.
 *
 * Entry happens inside the writer's transaction that stores the event
 * (or the inbound SMS): the enabled flows for it are looked up, each
 * flow's audience is checked against the user as the transaction sees
 * it, and a run row is inserted, so an acknowledged event has its runs
 * durably. Re-entry off: at most one run per user and flow, ever.
 *
 * Runner threads claim due runs through the writer (a lease, like the
 * outbox), call the webhooks of a claim together, and record each
 * outcome through the writer; the steps that follow and call nobody (sms,
 * user_update, delay) are done in the job that records the step before.
 * A step is at least once; it is made idempotent where it has effects: a
 * webhook carries Idempotency-Key <run>-<step>, an SMS step's outbox row
 * has dedupe key run<run>-<step>, a user update is one transaction with
 * the step's advance.
 */
#ifndef OPTD_FLOWS_H
#define OPTD_FLOWS_H

#include "core/phone.h"
#include "store/store.h"
#include "work/sender.h"
#include "work/writer.h"

#define FLOWS_THREADS_MAX 64

typedef struct {
	int64_t user_id;
	const char *event;   /* custom event name */
	const char *props;   /* its properties, JSON object text, or NULL */
	int64_t now_ms;
} flows_event;

/* In the writer's transaction: start the runs this event starts. */
store_err flows_enter_event(store *st, const flows_event *e,
			    unsigned *started);
/* In the writer's transaction: an inbound SMS of category other from
 * `from` to a number of `group`. The oldest profile with the phone enters
 * (an anonymous one is made when a flow matches and none has it). */
store_err flows_enter_sms(store *st, const char *group,
			  const phone_info *from, const char *to,
			  const char *body, int64_t now_ms, unsigned *started);

typedef struct {
	unsigned threads;
	int64_t lease_ms;          /* > webhook timeout */
	long webhook_timeout_ms;   /* 90 s, as Braze */
	int webhook_max_attempts;  /* 1 + 5 retries */
	int64_t retry_base_ms;     /* first retry delay; doubles */
} flows_conf;

typedef struct flows flows;

flows *flows_start(store *st, writer *wr, sender *snd, const flows_conf *c);
void flows_wake(flows *f); /* NULL-safe, thread-safe; wakes one runner */
void flows_stop(flows *f); /* NULL-safe */

#endif
