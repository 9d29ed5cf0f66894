/* outbox: see outbox.h. */
#include "work/outbox.h"
#include "core/smsenc.h"
#include "lib/secret.h"
#include "lib/str.h"
#include "sms/provider.h"
#include "work/subs.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int first_number(void *ctx, const char *number)
{
	snprintf(ctx, STORE_ADDR_MAX + 1, "%s", number);
	return 1; /* stop: the first is enough */
}

store_err outbox_group_number(store *st, const char *group,
			      char out[STORE_ADDR_MAX + 1])
{
	out[0] = '\0';
	return store_group_numbers(st, group, first_number, out);
}

int outbox_kind_is_reply(const char *kind)
{
	return strcmp(kind, OUTBOX_KIND_MESSAGE) != 0;
}

store_err outbox_phone_subscribed(store *st, const char *phone,
				  const char *group, int *yes)
{
	store_user_sub *us = malloc(STORE_PHONE_SHARE_MAX * sizeof *us);
	size_t n = 0;
	store_err e;

	*yes = 0;
	if (!us)
		return STORE_NOMEM;
	e = store_users_by_phone_in(st, phone, group, us,
				    STORE_PHONE_SHARE_MAX, &n);
	for (size_t i = 0; !e && i < n && !*yes; i++)
		*yes = us[i].state == CONSENT_SUBSCRIBED;
	free(us);
	return e;
}

store_err outbox_queue(store *st, const outbox_msg *m, store_outbox *o)
{
	smsenc_info enc;
	store_err e;
	int ok = 1;

	/* All but the body, which str_copy() writes below. */
	memset(o, 0, offsetof(store_outbox, body));
	if (m->dedupe)
		str_copy(o->dedupe, sizeof o->dedupe, m->dedupe);
	else if (m->inbound_id)
		snprintf(o->dedupe, sizeof o->dedupe, "in%lld-%s",
			 (long long)m->inbound_id, m->kind);
	else if (secret_uuid(o->dedupe))
		return STORE_IO;
	str_copy(o->group_id, sizeof o->group_id, m->group_id);
	str_copy(o->to, sizeof o->to, m->to);
	str_copy(o->from, sizeof o->from, m->from ? m->from : "");
	str_copy(o->kind, sizeof o->kind, m->kind);
	str_copy(o->body, sizeof o->body, m->body);
	o->inbound_id = m->inbound_id;
	o->state = STORE_OUT_QUEUED;
	o->next_ms = o->created_ms = o->updated_ms = m->now_ms;
	smsenc_measure(o->body, strlen(o->body), &enc);
	str_copy(o->encoding, sizeof o->encoding, smsenc_name(enc.encoding));
	o->segments = enc.segments;
	if (!outbox_kind_is_reply(m->kind)) {
		e = outbox_phone_subscribed(st, m->to, m->group_id, &ok);
		if (e)
			return e;
	}
	if (!ok) {
		o->state = STORE_OUT_REJECTED;
		snprintf(o->error, sizeof o->error, "unsubscribed");
	} else if (m->inline_provider && outbox_kind_is_reply(m->kind)) {
		o->state = STORE_OUT_SENT;
		o->attempts = 1;
		/* No provider id: the gateway gives none to a reply it takes
		 * inline, and its delivery reports name the row itself. */
		str_copy(o->provider, sizeof o->provider, m->inline_provider);
	}
	return store_outbox_insert(st, o);
}

store_err outbox_provider_opt_out(store *st, const store_outbox *m,
				  int64_t now_ms)
{
	char ev[STORE_EVIDENCE_MAX + 1];
	phone_info p;
	subs_result res;

	/* m->to is E.164, so the region only has to be a known one. */
	if (phone_normalize(m->to, strlen(m->to), OUTBOX_E164_REGION, &p) !=
	    PHONE_OK)
		return STORE_OK;
	snprintf(ev, sizeof ev, "{\"provider\":\"%s\",\"outbox_id\":%lld,"
		 "\"provider_error\":21610}", m->provider, (long long)m->id);
	subs_change ch = {
		.group_id = m->group_id,
		.state = CONSENT_UNSUBSCRIBED,
		.source = CONSENT_SRC_PROVIDER,
		.n_phone = 1,
		.phones = &p,
		.evidence = ev,
		.now_ms = now_ms,
	};
	return subs_apply(st, &ch, &res);
}

/* How far along a state is; reports only ever move a message forward. */
static int rank(store_out_state s)
{
	switch (s) {
	case STORE_OUT_QUEUED: return 0;
	case STORE_OUT_SENDING: return 1;
	case STORE_OUT_SENT: return 2;
	default: return 3; /* delivered, failed, rejected: final */
	}
}

int outbox_apply_status(store_outbox *m, int status, const char *error,
			int64_t now_ms)
{
	store_out_state to;

	switch (status) {
	case SMS_STATUS_SENT: to = STORE_OUT_SENT; break;
	case SMS_STATUS_DELIVERED: to = STORE_OUT_DELIVERED; break;
	case SMS_STATUS_FAILED: to = STORE_OUT_FAILED; break;
	default: return 0;
	}
	if (rank(to) <= rank(m->state) && m->state != STORE_OUT_SENT)
		return 0;
	if (m->state == STORE_OUT_SENT && to == STORE_OUT_SENT)
		return 0;
	m->state = to;
	m->updated_ms = now_ms;
	if (to == STORE_OUT_FAILED)
		snprintf(m->error, sizeof m->error, "%s", error ? error : "");
	return 1;
}

int outbox_report_apply(store *st, void *arg)
{
	outbox_report *c = arg;
	store_outbox m;
	store_err e;

	c->found = 0;
	e = c->id ? store_outbox_get(st, c->id, &m)
		  : store_outbox_by_provider_id(st, c->provider,
						c->provider_id, &m);
	if (e == STORE_NOTFOUND ||
	    (!e && c->dedupe[0] && strcmp(c->dedupe, m.dedupe) != 0))
		return 0; /* not ours, or long gone: nothing to do */
	c->found = !e;
	if (!e && outbox_apply_status(&m, c->status, c->error, c->now_ms))
		e = store_outbox_update(st, &m);
	if (!e && c->opted_out)
		e = outbox_provider_opt_out(st, &m, c->now_ms);
	c->err = e;
	return e != STORE_OK;
}
