/* inbound: see inbound.h. */
#include "work/inbound.h"
#include "core/keyword.h"
#include "core/smscfg.h"
#include "lib/jsonstr.h"
#include "lib/str.h"
#include "work/flows.h"
#include "work/outbox.h"
#include "work/smsconf.h"
#include "work/subs.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INB_DAY_MS (24LL * 3600 * 1000)
/* Bytes of the text kept as evidence: what jsonstr_escape() takes whole. */
#define INB_EVIDENCE_BODY_MAX (JSONSTR_IN_MAX - 1)
#define INB_ESCAPED(n) ((n) * 6 + 1) /* JSON text of n bytes, at worst */

typedef struct {
	inb_job *j;
	const store_group *g;
	const smscfg *cfg;
	kw_match m;
	phone_info from;
	int pending; /* a double opt-in prompt within the window */
	int subscribed;
} inb_ctx;

static void set_str(char *dst, size_t cap, const char *s)
{
	str_copy(dst, cap, s);
}

/* A group number: a short code as it is, anything else in E.164 (what
 * gateways send, so that case skips the parser). */
static void number_key(const char *raw, const char *region,
		       char out[STORE_ADDR_MAX + 1])
{
	size_t n = strlen(raw), digits = strspn(raw + 1, "0123456789");
	phone_info p;

	if (raw[0] == '+' && digits == n - 1 && n >= 8 && n <= PHONE_E164_MAX)
		set_str(out, STORE_ADDR_MAX + 1, raw);
	else if (!phone_is_short_code(raw, n) &&
		 phone_normalize(raw, n, region, &p) == PHONE_OK)
		set_str(out, STORE_ADDR_MAX + 1, p.e164);
	else
		set_str(out, STORE_ADDR_MAX + 1, raw);
}

_Static_assert(offsetof(inb_job, body) < offsetof(inb_job, body_len) &&
	       offsetof(inb_job, body_len) < offsetof(inb_job, rec) &&
	       offsetof(inb_job, rec) < offsetof(inb_job, duplicate) &&
	       offsetof(inb_job, duplicate) < offsetof(inb_job, replies),
	       "inb_clear() skips body, rec and replies by their order");

void inb_clear(inb_job *j)
{
	memset(j, 0, offsetof(inb_job, body));
	j->body[0] = '\0';
	memset(&j->body_len, 0,
	       offsetof(inb_job, rec) - offsetof(inb_job, body_len));
	j->duplicate = 0;
	j->n_replies = 0;
	j->runs = 0;
	j->err = STORE_OK;
}

/* The addresses parsed, on the calling thread: phone parsing is the
 * costly part of a message, and the writer is one thread. */
static void inb_prepare(inb_job *j)
{
	number_key(j->to, j->region, j->to_key);
	j->from_ok = phone_normalize(j->from, strlen(j->from), j->region,
				     &j->sender) == PHONE_OK;
}

void inb_job_init(inb_job *j, writer_job *job)
{
	inb_prepare(j);
	job->fn = inb_apply;
	job->arg = j;
	job->lane_key = writer_key(j->from_ok ? j->sender.e164 : j->from);
}

static store_err reply(store *st, inb_ctx *c, const char *kind,
		       const char *text)
{
	inb_job *j = c->j;
	outbox_msg om = {
		.group_id = c->g->id,
		.to = c->from.e164,
		.from = j->rec.to,
		.kind = kind,
		.inbound_id = j->rec.id,
		.body = text,
		.now_ms = j->now_ms,
	};
	const char *kind_override = smscfg_provider_of(c->cfg)->kind;

	/* The gateway takes the reply in its answer to this webhook; a
	 * group that sends through another provider keeps the outbox. */
	om.inline_provider = j->inline_provider[0] && (!kind_override[0] ||
		!strcmp(kind_override, j->inline_provider))
		? j->inline_provider : NULL;
	if (j->n_replies >= INB_REPLIES_MAX)
		return STORE_INVALID;
	return outbox_queue(st, &om, &j->replies[j->n_replies++]);
}

static store_err reply_std(store *st, inb_ctx *c, smscfg_reply which)
{
	return reply(st, c, smscfg_reply_name(which),
		     smscfg_reply_of(c->cfg, which, c->m.lang));
}

/* The evidence object, written out by hand: a jansson object and its
 * text, or even snprintf, cost more than the rest of the message's
 * evidence path. Evidence that does not fit is left out whole, never
 * cut. */
static void evidence(const inb_ctx *c, char out[STORE_EVIDENCE_MAX + 1])
{
	const inb_job *j = c->j;
	size_t blen = j->body_len < INB_EVIDENCE_BODY_MAX
			      ? j->body_len : INB_EVIDENCE_BODY_MAX;
	char cut[INB_EVIDENCE_BODY_MAX + 1];
	char body[INB_ESCAPED(INB_EVIDENCE_BODY_MAX)];
	char kw[INB_ESCAPED(STORE_KEYWORD_MAX)], id[INB_ESCAPED(STORE_MSGID_MAX)];
	str_buf t;

	/* Cut on a character boundary so the JSON stays valid UTF-8. */
	while (blen > 0 && blen < j->body_len &&
	       ((unsigned char)j->body[blen] & 0xC0) == 0x80)
		blen--;
	memcpy(cut, j->body, blen);
	cut[blen] = '\0';
	jsonstr_escape(cut, body, sizeof body);
	jsonstr_escape(j->msgid, id, sizeof id);
	str_buf_init(&t, out, STORE_EVIDENCE_MAX + 1);
	str_put(&t, "{\"keyword\":");
	if (c->m.keyword) {
		jsonstr_escape(c->m.keyword, kw, sizeof kw);
		str_put(&t, "\"");
		str_put(&t, kw);
		str_put(&t, "\"");
	} else {
		str_put(&t, "null");
	}
	/* provider and to are optd's own: a name and a group's number. */
	str_put(&t, ",\"body\":\"");
	str_put(&t, body);
	str_put(&t, "\",\"provider\":\"");
	str_put(&t, j->provider);
	str_put(&t, "\",\"provider_message_id\":\"");
	str_put(&t, id);
	str_put(&t, "\",\"inbound_id\":");
	str_put_int(&t, (long long)j->rec.id, 1);
	str_put(&t, ",\"to\":\"");
	str_put(&t, j->rec.to);
	str_put(&t, "\"}");
	if (t.over)
		out[0] = '\0';
}

static store_err change(store *st, inb_ctx *c, consent_state state,
			int doi)
{
	char ev[STORE_EVIDENCE_MAX + 1];
	subs_change ch = {
		.group_id = c->g->id,
		.state = state,
		.double_opt_in = doi,
		.source = CONSENT_SRC_KEYWORD,
		.n_phone = 1,
		.phones = &c->from,
		.request_id = c->j->msgid,
		.evidence = ev,
		.now_ms = c->j->now_ms,
	};
	subs_result res;

	evidence(c, ev);
	return subs_apply(st, &ch, &res);
}

typedef enum {
	PLAN_NONE = 0,
	PLAN_UNSUBSCRIBE,
	PLAN_SUBSCRIBE,
	PLAN_DOI_PROMPT,
	PLAN_DOI_CONFIRM,
	PLAN_HELP,
	PLAN_CUSTOM_REPLY,
} inb_plan;

/* Recorded as the inbound row's action. */
static const char *const plan_action[] = {
	"none", "unsubscribed", "subscribed", "doi_prompt", "doi_confirmed",
	"help", "custom_reply",
};

static inb_plan plan_opt_in(const inb_ctx *c)
{
	if (!c->g->double_opt_in || c->subscribed)
		return PLAN_SUBSCRIBE;
	return c->pending ? PLAN_DOI_CONFIRM : PLAN_DOI_PROMPT;
}

static inb_plan plan_of(const inb_ctx *c, char text[SMSCFG_TEXT_MAX])
{
	switch (c->m.category) {
	case KW_OPT_OUT: return PLAN_UNSUBSCRIBE;
	case KW_OPT_IN: return plan_opt_in(c);
	case KW_HELP: return PLAN_HELP;
	case KW_CUSTOM:
		if (strcmp(c->m.custom_name, SMSCFG_CONFIRM) == 0)
			return c->subscribed ? PLAN_NONE : PLAN_DOI_CONFIRM;
		return smscfg_custom_reply(c->cfg, c->m.custom_name,
					   c->m.lang, text)
			       ? PLAN_CUSTOM_REPLY : PLAN_NONE;
	default: return PLAN_NONE;
	}
}

/* Reads only: what the message will do, before anything is written. */
static store_err decide(store *st, inb_ctx *c, inb_plan *plan,
			char text[SMSCFG_TEXT_MAX])
{
	inb_job *j = c->j;
	int64_t since = 0;
	store_err e;

	kw_classify(smscfg_keywords(c->cfg), j->body, j->body_len, &c->m);
	if (c->g->double_opt_in) {
		/* Only double opt-in asks whether the phone is subscribed. */
		e = outbox_phone_subscribed(st, c->from.e164, c->g->id,
					    &c->subscribed);
		if (e)
			return e;
		e = store_doi_get(st, c->from.e164, c->g->id, &since);
		if (e && e != STORE_NOTFOUND)
			return e;
		c->pending = !e && j->now_ms - since <=
			smscfg_window_days(c->cfg) * INB_DAY_MS;
	}
	/* A confirming word with no prompt pending is just a message. */
	if (c->m.category == KW_CUSTOM && !c->pending &&
	    strcmp(c->m.custom_name, SMSCFG_CONFIRM) == 0)
		memset(&c->m, 0, sizeof c->m);
	*plan = plan_of(c, text);
	set_str(j->rec.category, sizeof j->rec.category,
		c->m.category == KW_CUSTOM ? c->m.custom_name
					   : kw_category_name(c->m.category));
	set_str(j->rec.lang, sizeof j->rec.lang, c->m.lang);
	set_str(j->rec.keyword, sizeof j->rec.keyword, c->m.keyword);
	set_str(j->rec.action, sizeof j->rec.action, plan_action[*plan]);
	return STORE_OK;
}

static store_err act(store *st, inb_ctx *c, inb_plan plan,
		     const char *text)
{
	const char *phone = c->from.e164, *group = c->g->id;
	store_err e = STORE_OK;

	switch (plan) {
	case PLAN_UNSUBSCRIBE:
		e = change(st, c, CONSENT_UNSUBSCRIBED, 0);
		if (!e && c->g->double_opt_in)
			e = store_doi_delete(st, phone, group);
		return e ? e : reply_std(st, c, SMSCFG_R_OPT_OUT);
	case PLAN_SUBSCRIBE:
		e = change(st, c, CONSENT_SUBSCRIBED, 0);
		return e ? e : reply_std(st, c, SMSCFG_R_OPT_IN);
	case PLAN_DOI_PROMPT:
		/* A profile holds the phone; none is subscribed (else this
		 * would be PLAN_SUBSCRIBE), so this only turns "never set"
		 * into unsubscribed until the confirmation. */
		e = change(st, c, CONSENT_UNSUBSCRIBED, 1);
		if (!e)
			e = store_doi_put(st, phone, group, c->j->now_ms);
		return e ? e : reply_std(st, c, SMSCFG_R_DOI_PROMPT);
	case PLAN_DOI_CONFIRM:
		e = change(st, c, CONSENT_SUBSCRIBED, 1);
		if (!e)
			e = store_doi_delete(st, phone, group);
		return e ? e : reply_std(st, c, SMSCFG_R_DOI_CONFIRM);
	case PLAN_HELP:
		return reply_std(st, c, SMSCFG_R_HELP);
	case PLAN_CUSTOM_REPLY:
		return reply(st, c, "custom", text);
	default:
		if (c->m.category != KW_OTHER)
			return STORE_OK;
		e = flows_enter_sms(st, group, &c->from, c->j->rec.to,
				    c->j->rec.body, c->j->now_ms,
				    &c->j->runs);
		return e;
	}
}

static void inb_reset(inb_job *j)
{
	store_inbound *r = &j->rec;

	/* All but the body, which is written next: a message's 6 KB memset
	 * was a tenth of the writer's work on it. */
	memset(r, 0, offsetof(store_inbound, body));
	j->duplicate = 0;
	j->n_replies = 0;
	j->runs = 0;
	j->err = STORE_OK;
	r->time_ms = j->now_ms;
	set_str(r->provider, sizeof r->provider, j->provider);
	set_str(r->provider_msg_id, sizeof r->provider_msg_id, j->msgid);
	set_str(r->from, sizeof r->from, j->from_ok ? j->sender.e164 : j->from);
	set_str(r->to, sizeof r->to, j->to_key);
	memcpy(r->body, j->body, j->body_len);
	r->body[j->body_len] = '\0';
}

/* Record the message first: a known message id is a retried webhook,
 * found before anything is written. A retry is answered with what the
 * first delivery was made of, not with what its body would do now. */
static store_err record(store *st, inb_job *j)
{
	store_err e = store_inbound_insert(st, &j->rec);

	if (e == STORE_CONFLICT) {
		j->duplicate = 1;
		e = store_inbound_get(st, j->rec.provider,
				      j->rec.provider_msg_id, &j->rec);
	}
	return e;
}

static store_err apply(store *st, inb_job *j)
{
	char text[SMSCFG_TEXT_MAX];
	inb_ctx c = {.j = j};
	inb_plan plan = PLAN_NONE;
	store_group g;
	store_err e;

	e = smsconf_number_owner(st, j->rec.to, j->rec.group_id);
	if (e == STORE_NOTFOUND) {
		set_str(j->rec.action, sizeof j->rec.action, "no_group");
		return record(st, j);
	}
	if (!e)
		e = smsconf_get(st, j->rec.group_id, &g, &c.cfg);
	if (e)
		return e;
	c.g = &g;
	if (!j->from_ok) {
		set_str(j->rec.action, sizeof j->rec.action, "bad_sender");
		return record(st, j);
	}
	c.from = j->sender;
	e = decide(st, &c, &plan, text);
	if (!e)
		e = record(st, j);
	if (e || j->duplicate)
		return e;
	return act(st, &c, plan, text);
}

int inb_apply(store *st, void *arg)
{
	inb_job *j = arg;

	inb_reset(j);
	j->err = apply(st, j);
	if (j->err)
		j->n_replies = 0;
	return j->err != STORE_OK;
}

store_err inb_doi_prompt(store *st, const char *group, const char *phone,
			 int64_t now_ms, int *queued)
{
	char from[STORE_ADDR_MAX + 1] = "";
	const smscfg *cfg;
	store_outbox o;
	store_group g;
	int subscribed;
	store_err e;

	*queued = 0;
	e = smsconf_get(st, group, &g, &cfg);
	if (!e)
		e = outbox_phone_subscribed(st, phone, group, &subscribed);
	if (e || subscribed)
		return e;
	e = outbox_group_number(st, group, from);
	if (!e)
		e = store_doi_put(st, phone, group, now_ms);
	if (e)
		return e;
	outbox_msg om = {
		.group_id = group,
		.to = phone,
		.from = from,
		.kind = smscfg_reply_name(SMSCFG_R_DOI_PROMPT),
		.body = smscfg_reply_of(cfg, SMSCFG_R_DOI_PROMPT, NULL),
		.now_ms = now_ms,
	};
	e = outbox_queue(st, &om, &o);
	*queued = !e;
	return e;
}
