/* sender: see sender.h. */
#include "work/sender.h"
#include "core/phone.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/wake.h"
#include "work/outbox.h"
#include "work/smsconf.h"
#include "work/subs.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define SENDER_IDLE_MS 1000   /* longest sleep without a wake-up */
#define SENDER_PROVIDERS 16   /* per-group providers kept per thread */

struct sender {
	store *st;
	writer *wr;
	sender_conf c;
	pthread_t th[SENDER_THREADS_MAX];
	unsigned started;
	wake w;
};

typedef struct {
	char group[IDENT_GROUP_ID_MAX + 1];
	int64_t updated_ms;
	sms_provider *p;
	sms_provider_kind kind;
} prov_slot;

/* One thread's batch: what was claimed and what became of it. */
typedef struct {
	sender *s;
	int64_t now_ms;
	size_t n;
	store_outbox m[SENDER_BATCH];
	int recovered[SENDER_BATCH];
	int skip[SENDER_BATCH]; /* rejected at claim: nothing to send */
	int opted_out[SENDER_BATCH];
	sms_provider *via[SENDER_BATCH]; /* the provider that accepted it */
	sms_provider *glob;
	prov_slot prov[SENDER_PROVIDERS];
	/* The previous message's group and provider: a batch is mostly one
	 * group's, whose settings are read once for it. */
	char last_group[IDENT_GROUP_ID_MAX + 1];
	sms_provider *last_p;
	sms_provider_kind last_kind;
	/* Providers replaced in their slot during the batch: messages the
	 * batch sent through them wait for their sync, so they are closed
	 * only once the batch is synced. At most one a message. */
	sms_provider *retired[SENDER_BATCH];
	size_t nretired;
	char err[SMS_ERR_MAX];
} batch;

static int claimed(void *ctx, const store_outbox *m)
{
	batch *b = ctx;

	if (b->n < SENDER_BATCH)
		b->m[b->n++] = *m;
	return 0;
}

/* Writer job: claim (which counts the attempt), apply the sending rule
 * again. A reply needs nothing more than the claim's own statement. */
static int claim_fn(store *st, void *arg)
{
	batch *b = arg;
	store_err e;

	b->n = 0;
	e = store_outbox_claim(st, b->now_ms, b->s->c.lease_ms, SENDER_BATCH,
			       claimed, b);
	for (size_t i = 0; !e && i < b->n; i++) {
		store_outbox *m = &b->m[i];
		int ok = 1;
		b->recovered[i] = m->attempts > 1;
		b->skip[i] = b->opted_out[i] = 0;
		if (outbox_kind_is_reply(m->kind))
			continue;
		e = outbox_phone_subscribed(st, m->to, m->group_id, &ok);
		if (e || ok)
			continue;
		/* Never tried: the claim's attempt is taken back. */
		b->skip[i] = 1;
		m->state = STORE_OUT_REJECTED;
		m->attempts--;
		snprintf(m->error, sizeof m->error, "unsubscribed");
		e = store_outbox_update(st, m);
	}
	return e != STORE_OK;
}

/* smscfg caps each override at its field's size here. */
static void override(char *dst, size_t cap, const char *v)
{
	size_t n = strlen(v);

	if (n && n < cap)
		memcpy(dst, v, n + 1);
}

/* The global settings with the group's overrides on top. */
static void group_conf(const sender_conf *c, const smscfg_provider *o,
		       sms_provider_conf *out)
{
	*out = c->provider;
	if (o->kind[0])
		sms_provider_parse(o->kind, &out->kind);
	override(out->twilio_sid, sizeof out->twilio_sid,
		 o->twilio_account_sid);
	override(out->twilio_token, sizeof out->twilio_token,
		 o->twilio_auth_token);
	override(out->twilio_msid, sizeof out->twilio_msid,
		 o->twilio_messaging_service_sid);
	override(out->kannel_url, sizeof out->kannel_url,
		 o->kannel_sendsms_url);
	override(out->kannel_user, sizeof out->kannel_user,
		 o->kannel_username);
	override(out->kannel_pass, sizeof out->kannel_pass,
		 o->kannel_password);
}

static int has_override(const smscfg_provider *o)
{
	return o->kind[0] || o->twilio_account_sid[0] ||
	       o->twilio_auth_token[0] || o->twilio_messaging_service_sid[0] ||
	       o->kannel_sendsms_url[0] || o->kannel_username[0] ||
	       o->kannel_password[0];
}

/* The provider for a group: the global one unless the group overrides
 * it; NULL (err set) when the group's settings cannot work. */
static sms_provider *provider_lookup(batch *b, const char *group,
				     sms_provider_kind *kind)
{
	const smscfg *cfg;
	store_group g;
	prov_slot *slot = &b->prov[0];
	sms_provider_conf pc;

	*kind = b->s->c.provider.kind;
	if (smsconf_get(b->s->st, group, &g, &cfg) != STORE_OK ||
	    !has_override(smscfg_provider_of(cfg)))
		return b->glob;
	for (int i = 0; i < SENDER_PROVIDERS; i++) {
		prov_slot *p = &b->prov[i];
		if (p->p && strcmp(p->group, group) == 0) {
			if (p->updated_ms == g.updated_ms) {
				*kind = p->kind;
				return p->p;
			}
			slot = p;
			break;
		}
		if (!p->p)
			slot = p;
	}
	if (slot->p && b->nretired < SENDER_BATCH)
		b->retired[b->nretired++] = slot->p;
	else
		sms_provider_close(slot->p);
	slot->p = NULL;
	group_conf(&b->s->c, smscfg_provider_of(cfg), &pc);
	if (sms_provider_open(&pc, &slot->p, b->err) != SMS_OK)
		return NULL;
	snprintf(slot->group, sizeof slot->group, "%s", group);
	slot->updated_ms = g.updated_ms;
	slot->kind = *kind = pc.kind;
	return slot->p;
}

static sms_provider *provider_for(batch *b, const char *group,
				  sms_provider_kind *kind)
{
	if (b->last_p && strcmp(b->last_group, group) == 0) {
		*kind = b->last_kind;
		return b->last_p;
	}
	b->last_p = provider_lookup(b, group, kind);
	if (b->last_p) {
		str_copy(b->last_group, sizeof b->last_group, group);
		b->last_kind = *kind;
	}
	return b->last_p;
}

static int64_t backoff_ms(const sender_conf *c, int attempts,
			  int64_t retry_after_ms)
{
	int64_t d = c->retry_base_ms;
	uint32_t r = 0;

	for (int i = 1; i < attempts && d < c->retry_max_ms; i++)
		d *= 2;
	if (d > c->retry_max_ms)
		d = c->retry_max_ms;
	/* Jitter: anywhere in the upper half, so retries spread out. */
	if (getrandom(&r, sizeof r, 0) == sizeof r && d > 1)
		d = d / 2 + (int64_t)(r % (uint32_t)(d / 2 + 1));
	return retry_after_ms > d ? retry_after_ms : d;
}

/* Set the message's next state from what the provider said. */
static void outcome(batch *b, size_t i, sms_err rc, const sms_send_res *res)
{
	store_outbox *m = &b->m[i];
	const sender_conf *c = &b->s->c;
	int64_t now = clock_now_ms();

	m->updated_ms = now;
	snprintf(m->error, sizeof m->error, "%s", res->error);
	if (rc == SMS_OK) {
		m->state = STORE_OUT_SENT;
		snprintf(m->provider_id, sizeof m->provider_id, "%s",
			 res->provider_id);
		m->error[0] = '\0';
	} else if (rc == SMS_RETRY && m->attempts < c->max_attempts) {
		m->state = STORE_OUT_QUEUED;
		m->next_ms = now + backoff_ms(c, m->attempts,
					      res->retry_after_ms);
	} else {
		m->state = STORE_OUT_FAILED;
		b->opted_out[i] = rc == SMS_OPTED_OUT;
		if (!m->error[0])
			snprintf(m->error, sizeof m->error, "%s",
				 sms_strerror(rc));
	}
}

/* Back to queued, due now, its attempt not counted: it was never tried. */
static void release(batch *b, size_t i)
{
	store_outbox *m = &b->m[i];

	m->state = STORE_OUT_QUEUED;
	m->attempts--;
	m->next_ms = m->updated_ms = clock_now_ms();
}

static void send_one(batch *b, size_t i)
{
	store_outbox *m = &b->m[i];
	sms_send_res res;
	sms_provider_kind kind;
	sms_provider *p = provider_for(b, m->group_id, &kind);
	sms_err rc;

	memset(&res, 0, sizeof res);
	if (!p) {
		snprintf(res.error, sizeof res.error, "%s", b->err);
		outcome(b, i, SMS_FAIL, &res);
		return;
	}
	snprintf(m->provider, sizeof m->provider, "%s",
		 sms_provider_name(kind));
	sms_send_req rq = {
		.outbox_id = m->id,
		.dedupe = m->dedupe,
		.to = m->to,
		.from = m->from,
		.body = m->body,
		.recovered = b->recovered[i],
	};
	rc = sms_provider_send(p, &rq, &res);
	b->via[i] = rc == SMS_OK ? p : NULL;
	if (rc != SMS_OK)
		log_warn("sms %lld to %s: attempt %d: %s",
			 (long long)m->id, m->to, m->attempts,
			 res.error[0] ? res.error : sms_strerror(rc));
	outcome(b, i, rc, &res);
}

/* Writer job: what became of each message of the batch. */
static int record_fn(store *st, void *arg)
{
	batch *b = arg;
	store_err e = STORE_OK;

	for (size_t i = 0; !e && i < b->n; i++) {
		store_outbox now;
		if (b->skip[i])
			continue;
		/* A status report may have overtaken this attempt's answer;
		 * the log provider sends none, so its messages skip the read. */
		now.state = STORE_OUT_SENDING;
		if (strcmp(b->m[i].provider, "log") != 0 &&
		    (e = store_outbox_get(st, b->m[i].id, &now)))
			break;
		if (now.state == STORE_OUT_DELIVERED ||
		    (now.state == STORE_OUT_FAILED && b->m[i].state ==
		     STORE_OUT_SENT)) {
			now.updated_ms = b->m[i].updated_ms;
			memcpy(now.provider, b->m[i].provider,
			       sizeof now.provider);
			memcpy(now.provider_id, b->m[i].provider_id,
			       sizeof now.provider_id);
			b->m[i] = now;
		}
		e = store_outbox_update(st, &b->m[i]);
		if (!e && b->opted_out[i])
			e = outbox_provider_opt_out(st, &b->m[i],
						    b->m[i].updated_ms);
	}
	return e != STORE_OK;
}

/* Sleep until woken, the next item is due, or SENDER_IDLE_MS. */
static void idle(sender *s, unsigned long seen)
{
	int64_t next = 0, wait_ms = SENDER_IDLE_MS;

	if (store_outbox_next_due(s->st, &next) == STORE_OK) {
		int64_t d = next - clock_now_ms();
		wait_ms = d < 0 ? 0 : d < wait_ms ? d : wait_ms;
	}
	wake_sleep(&s->w, seen, wait_ms);
}

/* Make the batch's accepted messages durable with their providers before
 * any is recorded as sent; a provider that cannot, has sent none. */
static void sync_all(batch *b)
{
	char err[SMS_ERR_MAX];
	sms_send_res res;

	for (size_t i = 0; i < b->n; i++) {
		sms_provider *p = b->via[i];
		if (!p || sms_provider_sync(p, err) == SMS_OK)
			continue;
		log_warn("sms: %s", err);
		for (size_t k = i; k < b->n; k++) {
			if (b->via[k] != p)
				continue;
			memset(&res, 0, sizeof res);
			snprintf(res.error, sizeof res.error, "%s", err);
			b->m[k].state = STORE_OUT_SENDING;
			outcome(b, k, SMS_RETRY, &res);
			b->via[k] = NULL;
		}
	}
}

static void run_batch(batch *b)
{
	store_err commit;

	b->now_ms = clock_now_ms();
	b->last_p = NULL; /* settings are read again for each batch */
	if (writer_run(b->s->wr, claim_fn, b, &commit) != 0 || commit) {
		b->n = 0;
		return;
	}
	/* The lease covers the whole batch; a message that could not be
	 * tried inside it is given back, so no other sender claims a message
	 * this one may still be sending. */
	int64_t deadline = b->now_ms + b->s->c.lease_ms -
			   b->s->c.provider.timeout_ms;
	for (size_t i = 0; i < b->n; i++) {
		b->via[i] = NULL;
		if (b->skip[i])
			continue;
		if (clock_now_ms() >= deadline) {
			release(b, i);
			continue;
		}
		send_one(b, i);
	}
	sync_all(b);
	while (b->nretired)
		sms_provider_close(b->retired[--b->nretired]);
	if (b->n && (writer_run(b->s->wr, record_fn, b, &commit) != 0 ||
		     commit))
		log_warn("sms: outcomes of %zu messages not recorded; they "
			 "are retried when their lease ends", b->n);
}

static void *sender_main(void *arg)
{
	sender *s = arg;
	batch *b = calloc(1, sizeof *b);
	unsigned long seen = 0;

	if (!b || sms_provider_open(&s->c.provider, &b->glob, b->err)) {
		log_warn("sms sender: %s", b ? b->err : "out of memory");
		goto out;
	}
	b->s = s;
	while (!wake_stopping(&s->w, &seen)) {
		run_batch(b);
		if (b->n < SENDER_BATCH)
			idle(s, seen);
	}
out:
	if (b) {
		sms_provider_close(b->glob);
		for (int i = 0; i < SENDER_PROVIDERS; i++)
			sms_provider_close(b->prov[i].p);
	}
	free(b);
	smsconf_thread_done();
	store_thread_done(s->st);
	return NULL;
}

sender *sender_start(store *st, writer *wr, const sender_conf *c,
		     char err[SMS_ERR_MAX])
{
	sender *s = calloc(1, sizeof *s);
	sms_provider *probe = NULL;

	if (!s) {
		snprintf(err, SMS_ERR_MAX, "out of memory");
		return NULL;
	}
	/* Refuse to start with settings the provider cannot use. */
	if (sms_provider_open(&c->provider, &probe, err) != SMS_OK) {
		free(s);
		return NULL;
	}
	sms_provider_close(probe);
	s->st = st;
	s->wr = wr;
	s->c = *c;
	wake_init(&s->w);
	for (unsigned i = 0; i < c->threads && i < SENDER_THREADS_MAX; i++)
		if (pthread_create(&s->th[s->started], NULL, sender_main, s) ==
		    0)
			pthread_setname_np(s->th[s->started++], "sender");
	return s;
}

void sender_wake(sender *s)
{
	if (!s)
		return;
	wake_signal(&s->w);
}

void sender_stop(sender *s)
{
	if (!s)
		return;
	wake_stop(&s->w);
	for (unsigned i = 0; i < s->started; i++)
		pthread_join(s->th[i], NULL);
	wake_destroy(&s->w);
	free(s);
}
