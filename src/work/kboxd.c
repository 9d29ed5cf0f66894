/* kboxd: see kboxd.h. */
#include "work/kboxd.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/utf8.h"
#include "sms/provider.h"
#include "work/inbound.h"
#include "work/outbox.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KBOXD_BODY_CHARS 1600 /* as the webhooks: Twilio's limit */

typedef struct mo_job {
	writer_job job;
	struct kboxd *d;
	kbl_ref ref;
	char smsc[KBL_SMSC_ID_MAX + 1]; /* the SMSC it came by, or "" */
	struct mo_job *free_next;
	inb_job in;
} mo_job;

struct kboxd {
	kboxd_conf c;
	kbl *link;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t inflight; /* jobs submitted and not done */
	/* Jobs kept for reuse: a message's job is large, and getting it from
	 * malloc and back from another thread made the heap shrink and grow
	 * again, a page fault per page, at every message. */
	mo_job *spare;
	size_t n_spare;
};

static mo_job *mo_get(kboxd *d)
{
	mo_job *j;

	pthread_mutex_lock(&d->mu);
	if ((j = d->spare)) {
		d->spare = j->free_next;
		d->n_spare--;
	}
	pthread_mutex_unlock(&d->mu);
	if (!j)
		return calloc(1, sizeof *j);
	memset(j, 0, offsetof(mo_job, in));
	inb_clear(&j->in);
	return j;
}

static void mo_put(kboxd *d, mo_job *j)
{
	pthread_mutex_lock(&d->mu);
	if (d->n_spare < KBOXD_SPARE_MAX) {
		j->free_next = d->spare;
		d->spare = j;
		d->n_spare++;
		j = NULL;
	}
	pthread_mutex_unlock(&d->mu);
	free(j);
}

static void inflight(kboxd *d, int delta)
{
	pthread_mutex_lock(&d->mu);
	d->inflight += (size_t)delta;
	if (!d->inflight)
		pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

typedef struct {
	writer_job job;
	kboxd *d;
	kbl_ref ref; /* conn 0: nothing to ack (a refusal) */
	outbox_report rep;
} report_job;

static void mo_done(writer_job *job)
{
	mo_job *j = job->done_arg;
	kboxd *d = j->d;
	const inb_job *in = &j->in;
	char err[SMS_ERR_MAX];
	int queued = 0;

	if (job->commit || job->rc) {
		log_warn("kannel box: message %s not stored (%s); bearerbox "
			 "keeps it", j->ref.id, store_strerror(job->commit
			 ? job->commit : in->err ? in->err : STORE_IO));
		kbl_ack(d->link, &j->ref, KBOX_ACK_FAILED_TMP, KBOXD_RETRY_MS);
		mo_put(d, j);
		inflight(d, -1);
		return;
	}
	for (size_t i = 0; i < in->n_replies; i++) {
		const store_outbox *o = &in->replies[i];
		sms_send_req r = {.outbox_id = o->id, .dedupe = o->dedupe,
				  .to = o->to, .from = o->from,
				  .body = o->body};
		if (o->state == STORE_OUT_QUEUED)
			queued = 1;
		else if (o->state == STORE_OUT_SENT &&
			 kbl_send(d->link, &r, j->smsc, err) != SMS_OK)
			log_error("kannel box: reply %lld not sent: %s",
				  (long long)o->id, err);
	}
	if (queued)
		sender_wake(d->c.snd);
	if (in->runs)
		flows_wake(d->c.flows);
	kbl_ack(d->link, &j->ref, KBOX_ACK_SUCCESS, 0);
	mo_put(d, j);
	inflight(d, -1);
}

/* The message's fields into j->in; NULL, or what is wrong with it. */
static const char *mo_fill(mo_job *j, const kbox_msg *m)
{
	inb_job *in = &j->in;
	size_t len;

	if (m->sender.len <= 0)
		return "no sender";
	if (m->sender.len > STORE_ADDR_MAX)
		return "sender longer than 32 bytes";
	if (m->receiver.len <= 0)
		return "no receiver";
	if (m->receiver.len > STORE_ADDR_MAX)
		return "receiver longer than 32 bytes";
	memcpy(in->from, m->sender.p, (size_t)m->sender.len);
	memcpy(in->to, m->receiver.p, (size_t)m->receiver.len);
	if (strlen(in->from) != (size_t)m->sender.len ||
	    strlen(in->to) != (size_t)m->receiver.len ||
	    !utf8_valid(in->from, strlen(in->from)) ||
	    !utf8_valid(in->to, strlen(in->to)))
		return "sender or receiver is not text";
	if (kbox_text_utf8(m, in->body, sizeof in->body, &len) != KBOX_OK)
		return "body longer than 6400 bytes";
	if (strlen(in->body) != len)
		return "body has a NUL byte";
	if (utf8_chars(in->body) > KBOXD_BODY_CHARS)
		return "body longer than 1600 characters";
	in->body_len = len;
	return NULL;
}

static void on_message(kboxd *d, const kbox_msg *m, const kbl_ref *r)
{
	mo_job *j = mo_get(d);
	const char *problem;

	if (!j) {
		kbl_ack(d->link, r, KBOX_ACK_FAILED_TMP, KBOXD_RETRY_MS);
		return;
	}
	if ((problem = mo_fill(j, m))) {
		log_warn("kannel box: message %s refused: %s", r->id, problem);
		kbl_ack(d->link, r, KBOX_ACK_FAILED, 0);
		mo_put(d, j);
		return;
	}
	j->d = d;
	j->ref = *r;
	if (m->smsc_id.len > 0 && m->smsc_id.len <= KBL_SMSC_ID_MAX &&
	    !memchr(m->smsc_id.p, '\0', (size_t)m->smsc_id.len))
		memcpy(j->smsc, m->smsc_id.p, (size_t)m->smsc_id.len);
	str_copy(j->in.provider, sizeof j->in.provider, "kannel");
	str_copy(j->in.msgid, sizeof j->in.msgid, r->id);
	if (d->c.inline_replies)
		str_copy(j->in.inline_provider, sizeof j->in.inline_provider,
			 "kannel");
	memcpy(j->in.region, d->c.region, sizeof j->in.region);
	j->in.now_ms = clock_now_ms();
	inb_job_init(&j->in, &j->job);
	j->job.done = mo_done;
	j->job.done_arg = j;
	inflight(d, 1);
	writer_submit(d->c.wr, &j->job);
}

static void report_done(writer_job *job)
{
	report_job *j = job->done_arg;
	kboxd *d = j->d;
	int ok = !job->commit && !job->rc;

	if (j->ref.conn)
		kbl_ack(j->d->link, &j->ref, ok ? KBOX_ACK_SUCCESS
			: KBOX_ACK_FAILED_TMP, ok ? 0 : KBOXD_RETRY_MS);
	else if (!ok)
		log_error("kannel box: message %lld: cannot record that "
			  "bearerbox refused it", (long long)j->rep.id);
	free(j);
	inflight(d, -1);
}

static void submit_report(kboxd *d, report_job *j)
{
	j->d = d;
	snprintf(j->rep.provider, sizeof j->rep.provider, "kannel");
	j->rep.now_ms = clock_now_ms();
	j->job.fn = outbox_report_apply;
	j->job.arg = &j->rep;
	j->job.done = report_done;
	j->job.done_arg = j;
	inflight(d, 1);
	writer_submit(d->c.wr, &j->job);
}

static void on_report(kboxd *d, const kbox_msg *m, const kbl_ref *r)
{
	report_job *j = calloc(1, sizeof *j);

	if (!j) {
		kbl_ack(d->link, r, KBOX_ACK_FAILED_TMP, KBOXD_RETRY_MS);
		return;
	}
	if (kbl_dlr_parse(&m->dlr_url, &j->rep.id, j->rep.dedupe,
			  sizeof j->rep.dedupe) != 0) {
		kbl_ack(d->link, r, KBOX_ACK_SUCCESS, 0); /* not ours */
		free(j);
		return;
	}
	j->ref = *r;
	j->rep.status = sms_kannel_status((int)m->dlr_mask);
	snprintf(j->rep.error, sizeof j->rep.error, "kannel dlr %d",
		 (int)m->dlr_mask);
	submit_report(d, j);
}

static void on_recv(void *ctx, const kbox_msg *m, const kbl_ref *r)
{
	if (m->sms_type == KBOX_REPORT_MO)
		on_report(ctx, m, r);
	else
		on_message(ctx, m, r);
}

/* Bearerbox refused a reply stored sent: the row says so. */
static void on_refused(void *ctx, int64_t outbox_id, const char *dedupe,
		       sms_err e, const char *error)
{
	report_job *j = calloc(1, sizeof *j);

	(void)e;
	log_warn("kannel box: message %lld: %s", (long long)outbox_id, error);
	if (!j)
		return;
	j->rep.id = outbox_id;
	str_copy(j->rep.dedupe, sizeof j->rep.dedupe, dedupe);
	j->rep.status = SMS_STATUS_FAILED;
	str_copy(j->rep.error, sizeof j->rep.error, error);
	submit_report(ctx, j);
}

kboxd *kboxd_start(const kboxd_conf *c, kbl *link)
{
	kboxd *d = calloc(1, sizeof *d);

	if (!d)
		return NULL;
	d->c = *c;
	d->link = link;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	kbl_run(link, on_recv, on_refused, d);
	return d;
}

/* Whether the jobs in the writer finished in time. */
static int drained(kboxd *d)
{
	struct timespec ts = clock_deadline(CLOCK_REALTIME, KBOXD_DRAIN_MS);
	int rc = 0;

	pthread_mutex_lock(&d->mu);
	while (d->inflight && rc == 0)
		rc = pthread_cond_timedwait(&d->cv, &d->mu, &ts);
	rc = d->inflight == 0;
	pthread_mutex_unlock(&d->mu);
	return rc;
}

void kboxd_stop(kboxd *d)
{
	if (!d)
		return;
	kbl_quiesce(d->link);
	if (!drained(d) || kbl_flush(d->link, KBOXD_DRAIN_MS) != 0)
		log_warn("kannel box: stopping with messages not yet "
			 "answered; bearerbox hands them over again");
	kbl_stop(d->link);
}

void kboxd_free(kboxd *d)
{
	if (!d)
		return;
	while (d->spare) {
		mo_job *j = d->spare;
		d->spare = j->free_next;
		free(j);
	}
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	free(d);
}
