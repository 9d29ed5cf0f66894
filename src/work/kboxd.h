/*
 * kboxd: what optd does with what arrives on the Kannel box link
 * (sms/kboxlink.h, --kannel-box).
 *
 * A message from a phone becomes the same writer job as a webhook's
 * (work/inbound.h), under provider "kannel" and Kannel's message id, so a
 * message bearerbox hands over twice is applied once. Bearerbox gets its
 * ack only once the job's commit is durable. With inline replies the
 * replies are stored sent in that commit and queued on the link before
 * the ack; otherwise they wait in the outbox for a sender, whose kannel
 * provider sends them on the link too.
 *
 * A delivery report (report_mo) updates the outbox row its dlr_url names
 * and is acked after that commit. A message that cannot be read (no
 * sender, a body past the limits) is logged and acked as failed, so that
 * bearerbox drops it; a job that fails is answered "try again" a second
 * later, so that bearerbox keeps the message without spinning on it.
 */
#ifndef OPTD_KBOXD_H
#define OPTD_KBOXD_H

#include "core/phone.h"
#include "sms/kboxlink.h"
#include "store/store.h"
#include "work/flows.h"
#include "work/sender.h"
#include "work/writer.h"

#define KBOXD_RETRY_MS 1000 /* before "try again" after a failed job */
#define KBOXD_SPARE_MAX 1024 /* message jobs kept for reuse */
#define KBOXD_DRAIN_MS 5000 /* a stop waits this long for each of the
			       jobs in the writer and the link's queue */

typedef struct {
	store *st;
	writer *wr;
	sender *snd;  /* woken when replies were queued; may be NULL */
	flows *flows; /* woken when runs started; may be NULL */
	char region[PHONE_REGION_MAX + 1];
	int inline_replies;
} kboxd_conf;

typedef struct kboxd kboxd;

/* Starts the link's threads with kboxd as its receiver. */
kboxd *kboxd_start(const kboxd_conf *c, kbl *link);
/* A clean stop: take no more messages, wait for the jobs in the writer
 * and for the link to hand bearerbox their replies and acks, then stop
 * the link. Whatever did not make it in time stays with bearerbox. */
void kboxd_stop(kboxd *d);
/* Once the writer has stopped (every job's done has run). NULL-safe. */
void kboxd_free(kboxd *d);

#endif
