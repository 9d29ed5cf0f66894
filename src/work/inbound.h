/*
 * inbound: what an inbound SMS does, as one writer job.
 *
 * The job records the message, classifies it with its group's keywords,
 * changes consent through subs_apply() (source `keyword`, with the text
 * and the provider's message id as evidence) and queues the replies, all
 * in the writer's transaction: either all of it is committed or none.
 * A message whose (provider, message id) is already recorded is a retried
 * webhook: the job changes nothing and queues nothing (duplicate = 1).
 *
 * Double opt-in (a group with double_opt_in on): an opt-in keyword from a
 * phone that is not subscribed leaves its state as it is (creating an
 * unsubscribed profile when none has the phone), remembers a pending
 * prompt and queues the prompt; a confirming keyword (or an opt-in
 * keyword) within the group's window subscribes and confirms; after the
 * window a confirming keyword is an ordinary message.
 *
 * The job depends on its inputs alone: run twice (a writer replay), it
 * resets its outputs and does the same again.
 */
#ifndef OPTD_INBOUND_H
#define OPTD_INBOUND_H

#include "core/phone.h"
#include "store/store.h"
#include "work/writer.h"

#define INB_REPLIES_MAX 2

typedef struct {
	/* inputs */
	char provider[STORE_PROVIDER_MAX + 1];
	char msgid[STORE_MSGID_MAX + 1];
	char from[STORE_ADDR_MAX + 1]; /* as received */
	char to[STORE_ADDR_MAX + 1];
	char body[STORE_SMS_BODY_MAX + 1];
	size_t body_len;
	char region[PHONE_REGION_MAX + 1]; /* for numbers without a '+' */
	int64_t now_ms;
	/* "kannel" when the webhook's answer carries the reply (Kannel's
	 * get-url with max-messages 1): replies are stored already sent */
	char inline_provider[STORE_PROVIDER_MAX + 1];
	/* set by inb_job_init() */
	phone_info sender; /* the sender's phone, when from_ok */
	int from_ok;
	char to_key[STORE_ADDR_MAX + 1]; /* `to` as group numbers are kept */
	/* outputs */
	store_inbound rec; /* as recorded; rec.id is the inbound id */
	int duplicate;
	size_t n_replies;
	store_outbox replies[INB_REPLIES_MAX];
	unsigned runs; /* flow runs the message started */
	store_err err;
} inb_job;

/* Ready a job for new inputs, as zeroed, without writing its large
 * buffers (body, rec, replies), which are written before they are read:
 * a job reused at every message costs no 26 KB memset. */
void inb_clear(inb_job *j);

/* A writer_fn; arg is an inb_job. */
int inb_apply(store *st, void *arg);

/* Parse the addresses (call once the inputs are set, on the calling
 * thread: phone parsing is the costly part of a message, and the writer
 * is one thread), then set job to run j (inb_apply) on the lane of its
 * sender, so a phone's messages apply in order; done and done_arg are
 * left to the caller. */
void inb_job_init(inb_job *j, writer_job *job);

/*
 * The double opt-in prompt for `phone` in `group`, when it is not already
 * subscribed: remember it as pending and queue the prompt from the
 * group's first number. *queued is 1 when a prompt was queued.
 */
store_err inb_doi_prompt(store *st, const char *group, const char *phone,
			 int64_t now_ms, int *queued);

#endif
