/*
 * outbox: put a message in the outbox, inside the caller's transaction.
 *
 * Every outgoing SMS goes through outbox_queue(), so the sending rule
 * lives in one place: a reply to the phone's own message (a confirmation,
 * HELP, the opt-out confirmation, a double opt-in prompt, a custom
 * category's reply) may go to a phone that is not subscribed to the
 * group; any other message to such a phone is stored `rejected` with
 * reason `unsubscribed` and never reaches a provider. The sender checks
 * the rule again just before sending, since consent may change while a
 * message waits.
 *
 * Each row records its encoding and segment count, and a dedupe key:
 * "in<inbound id>-<kind>" for replies (so a replayed writer job cannot
 * queue a reply twice), the caller's (a flow step's "run<id>-<step>"),
 * or random.
 */
#ifndef OPTD_OUTBOX_H
#define OPTD_OUTBOX_H

#include "store/store.h"

#define OUTBOX_KIND_MESSAGE "message" /* the only kind that is not a reply */
#define OUTBOX_E164_REGION "US" /* any known region parses a +number */

typedef struct {
	const char *group_id;
	const char *to;
	const char *from;
	const char *kind;    /* a reply kind ("opt_out", ...) or "message" */
	int64_t inbound_id;  /* the message replied to; 0 for "message" */
	const char *body;
	int64_t now_ms;
	const char *dedupe; /* NULL: from inbound_id, or random */
	/* a reply handed to this provider in the webhook's answer: stored
	 * sent at once, never claimed by a sender; NULL otherwise */
	const char *inline_provider;
} outbox_msg;

/* The number a group sends from: its first one ("" when it has none). */
store_err outbox_group_number(store *st, const char *group,
			      char out[STORE_ADDR_MAX + 1]);

/* 1 when a message of this kind obeys the sending rule. */
int outbox_kind_is_reply(const char *kind);
/* 1 when some profile with this phone is subscribed to the group. */
store_err outbox_phone_subscribed(store *st, const char *phone,
				  const char *group, int *yes);
/* Stores the message (queued, or rejected by the sending rule); *out gets
 * the row as stored. */
store_err outbox_queue(store *st, const outbox_msg *m, store_outbox *out);

/* The provider refused the message because the phone opted out with it
 * (Twilio 21610): unsubscribe the phone from the message's group, source
 * `provider`, with the message as evidence. */
store_err outbox_provider_opt_out(store *st, const store_outbox *m,
				  int64_t now_ms);

/* A provider's status report for message m (sms/provider.h's
 * sms_status as an int, to keep this header free of it): moves m
 * forward, never back (a late "sent" does not undo "delivered"). Returns
 * 1 when m changed. */
int outbox_apply_status(store_outbox *m, int status, const char *error,
			int64_t now_ms);

/* A status report as a writer job: the message is named by its outbox id
 * (and, if given, its dedupe key) or by the provider's id. A report for
 * a message that is not ours, or long gone, changes nothing. */
typedef struct {
	int64_t id;            /* the outbox id, or 0: find by provider id */
	char dedupe[STORE_DEDUPE_MAX + 1];
	char provider[STORE_PROVIDER_MAX + 1];
	char provider_id[STORE_MSGID_MAX + 1];
	int status;            /* sms_status */
	int opted_out;         /* Twilio 21610 */
	char error[STORE_ERRTEXT_MAX + 1];
	int64_t now_ms;
	int found;             /* out */
	store_err err;         /* out */
} outbox_report;

/* A writer_fn; arg is an outbox_report. */
int outbox_report_apply(store *st, void *arg);

#endif
