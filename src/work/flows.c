/* flows: the runner threads; see flows.h. Entry is in flows_entry.c. */
#include "work/flows.h"
#include "work/flows_int.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/utf8.h"
#include "lib/wake.h"
#include "work/outbox.h"
#include "work/subs.h"
#include "work/track.h"
#include "work/webhook.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* Runs one thread claims at once. Their webhooks are called together,
 * each run recorded as its call ends; the next claim waits for the
 * slowest call. */
#define FLOWS_BATCH 16
_Static_assert(FLOWS_BATCH <= WEBHOOK_PARALLEL_MAX,
	       "a batch's webhooks are called together");
#define FLOWS_IDLE_MS 1000
#define FLOWS_HEADER_MAX 8192 /* bytes of one rendered header line */
#define FLOWS_KEY_LINE_MAX 64  /* "Idempotency-Key: <run>-<step>" */

struct flows {
	store *st;
	writer *wr;
	sender *snd;
	flows_conf c;
	pthread_t th[FLOWS_THREADS_MAX];
	unsigned started;
	wake w;
};

/* One claimed run, its props copied out of the claim. */
typedef struct {
	store_run r;
	char *entry, *event;
} run_copy;

/* What a step did, for the record and the run's next state. */
typedef struct {
	flows *f;
	run_copy *rc;
	store_run r;              /* in the writer: the run as it moves on */
	const flowdef *def;
	webhook_outcome wo;       /* a webhook step's */
	webhook_res res;
	int64_t now_ms;
	int queued;               /* an SMS went to the outbox */
	store_err err;
} step_job;

/* A webhook request as rendered for one run. */
typedef struct {
	char *url, *body, *hv[FLOW_HEADERS_MAX], *lines[FLOW_HEADERS_MAX];
	char key[FLOWS_KEY_LINE_MAX];
} rendered;

/* A runner's claimed runs, done together: their webhooks are called at
 * once, and each record goes to the writer as soon as it can. */
typedef struct {
	flows *f;
	int64_t now_ms;
	size_t n;
	run_copy runs[FLOWS_BATCH];
	size_t released; /* runs[released..n) given back unstarted */
	webhook *wh;
	step_job jobs[FLOWS_BATCH];
	writer_job wj[FLOWS_BATCH]; /* wj[i] records jobs[i] */
	writer_group g;
	/* the calls: call i is jobs[call_job[i]]'s */
	size_t n_calls, call_job[FLOWS_BATCH];
	rendered rd[FLOWS_BATCH];
	webhook_req rq[FLOWS_BATCH];
	webhook_res res[FLOWS_BATCH];
} fbatch;

static void batch_clear(fbatch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->runs[i].entry);
		free(b->runs[i].event);
	}
	b->n = 0;
}

static int claimed(void *ctx, const store_run *r)
{
	fbatch *b = ctx;
	run_copy *c;

	if (b->n >= FLOWS_BATCH)
		return 1;
	c = &b->runs[b->n++];
	c->r = *r;
	c->entry = r->entry_props ? strdup(r->entry_props) : NULL;
	c->event = r->event_props ? strdup(r->event_props) : NULL;
	c->r.entry_props = c->entry;
	c->r.event_props = c->event;
	return 0;
}

static int claim_fn(store *st, void *arg)
{
	fbatch *b = arg;

	batch_clear(b); /* from an earlier run of a replayed batch */
	return store_run_claim(st, b->now_ms, b->f->c.lease_ms, FLOWS_BATCH,
			       claimed, b) != STORE_OK;
}

static void log_step(store *st, const step_job *j, const char *outcome,
		     int attempt, long status, const char *detail,
		     store_err *e)
{
	store_step_log l;

	if (*e)
		return;
	memset(&l, 0, sizeof l);
	l.run_id = j->r.id;
	l.step = j->r.step;
	l.attempt = attempt;
	l.time_ms = j->now_ms;
	snprintf(l.outcome, sizeof l.outcome, "%s", outcome);
	l.http_status = (int)status;
	snprintf(l.detail, sizeof l.detail, "%s", detail ? detail : "");
	utf8_clean(l.detail); /* an excerpt may end mid-character */
	*e = store_step_log_add(st, &l);
}

static void view_props(flows_view *v, const run_copy *rc)
{
	v->entry_props = rc->entry ? json_loads(rc->entry, 0, NULL) : NULL;
	v->event_props = rc->event ? json_loads(rc->event, 0, NULL) : NULL;
}

/* In the writer: render and queue the step's SMS, under the sending
 * rule; the dedupe key makes a replayed step queue nothing twice. */
static store_err do_sms(store *st, step_job *j, const flow_step *s)
{
	char from[STORE_ADDR_MAX + 1] = "", dedupe[STORE_DEDUPE_MAX + 1];
	char terr[TPL_ERR_MAX];
	flows_view v;
	store_outbox o;
	char *text = NULL;
	size_t len;
	store_err e = flows_view_load(st, j->r.user_id, &v);

	view_props(&v, j->rc);
	if (!e && !v.u.phone[0]) {
		log_step(st, j, "skipped", 1, 0, "the user has no phone", &e);
		goto out;
	}
	if (!e && tpl_render(s->text, flows_view_lookup, &v, TPL_ESC_NONE,
			     &text, &len, terr) != TPL_OK) {
		log_step(st, j, "failed", 1, 0, terr, &e);
		goto out;
	}
	if (!e)
		e = outbox_group_number(st, s->group_id, from);
	snprintf(dedupe, sizeof dedupe, "run%lld-%d",
		 (long long)j->r.id, j->r.step);
	outbox_msg om = {
		.group_id = s->group_id,
		.to = v.u.phone,
		.from = from,
		.kind = OUTBOX_KIND_MESSAGE,
		.body = text,
		.now_ms = j->now_ms,
		.dedupe = dedupe,
	};
	if (!e && len > STORE_SMS_BODY_MAX) {
		log_step(st, j, "failed", 1, 0, "the message is too long", &e);
		goto out;
	}
	if (!e)
		e = outbox_queue(st, &om, &o);
	if (e == STORE_CONFLICT) { /* queued by an earlier try of this step */
		e = STORE_OK;
		log_step(st, j, "queued", 1, 0, "already queued", &e);
		goto out;
	}
	j->queued |= !e && o.state == STORE_OUT_QUEUED;
	log_step(st, j, o.state == STORE_OUT_QUEUED ? "queued" : "rejected",
		 1, 0, o.state == STORE_OUT_QUEUED ? "" : o.error, &e);
out:
	free(text);
	flows_view_free(&v);
	return e;
}

/* In the writer: attributes and/or a subscription change (source flow). */
static store_err do_update(store *st, step_job *j, const flow_step *s)
{
	char ev[STORE_EVIDENCE_MAX + 1];
	subs_result res;
	store_err e = STORE_OK;
	int64_t user = j->r.user_id;

	if (s->attributes)
		e = track_merge_attrs(st, user, s->attributes, j->now_ms);
	if (e == STORE_INVALID) {
		e = STORE_OK;
		log_step(st, j, "failed", 1, 0, "attributes would be larger "
			 "than 100 KB", &e);
		return e;
	}
	snprintf(ev, sizeof ev, "{\"flow\":\"%s\",\"version\":%d,\"run\":%lld}",
		 j->r.flow_id, j->r.version, (long long)j->r.id);
	subs_change ch = {
		.group_id = s->sub_group,
		.state = s->sub_state,
		.source = CONSENT_SRC_FLOW,
		.n_user = 1,
		.user_ids = &user,
		.evidence = ev,
		.now_ms = j->now_ms,
	};
	if (!e && s->has_subscription) {
		store_group g;
		e = store_group_get(st, s->sub_group, &g);
		if (e == STORE_NOTFOUND) {
			e = STORE_OK;
			log_step(st, j, "failed", 1, 0, "no such subscription "
				 "group", &e);
			return e;
		}
		if (!e)
			e = subs_apply(st, &ch, &res);
	}
	log_step(st, j, "ok", 1, 0, "", &e);
	return e;
}

static int64_t backoff_ms(const flows_conf *c, int attempts)
{
	int64_t d = c->retry_base_ms;
	uint32_t r = 0;

	for (int i = 1; i < attempts; i++)
		d *= 2;
	/* Jitter above the step, never below: base, 2 x base, 4 x ... */
	if (getrandom(&r, sizeof r, 0) == sizeof r && d > 1)
		d += (int64_t)(r % (uint32_t)(d / 4 + 1));
	return d;
}

/* The webhook's outcome: the run goes on unless it is worth a retry. */
static int webhook_record(store *st, step_job *j, store_run *r,
			  store_err *e)
{
	static const char *const names[] = {"ok", "retry", "failed"};
	int attempt = r->attempts + 1;
	int again = j->wo == WEBHOOK_RETRY &&
		    attempt < j->f->c.webhook_max_attempts;

	log_step(st, j, again || j->wo != WEBHOOK_RETRY ? names[j->wo]
							: "failed",
		 attempt, j->res.status, j->res.excerpt, e);
	if (!again)
		return 1;
	r->attempts = attempt;
	r->next_ms = j->now_ms + backoff_ms(&j->f->c, attempt);
	return 0;
}

/* In the writer: do one step (a webhook's was called already) and move
 * the run past it; 0 when it stays for a retry. */
static int step_once(store *st, step_job *j, const flow_step *s,
		     store_err *e)
{
	store_run *r = &j->r;

	if (s->kind == FLOW_STEP_WEBHOOK && !webhook_record(st, j, r, e))
		return 0;
	if (s->kind == FLOW_STEP_SMS)
		*e = do_sms(st, j, s);
	else if (s->kind == FLOW_STEP_USER_UPDATE)
		*e = do_update(st, j, s);
	else if (s->kind == FLOW_STEP_DELAY)
		log_step(st, j, "ok", 1, 0, "", e);
	r->step++;
	r->attempts = 0;
	r->next_ms = j->now_ms;
	if (s->kind == FLOW_STEP_DELAY)
		r->next_ms += s->delay_s * 1000;
	return 1;
}

/* A step that calls out (a webhook) waits for a claim, and so does
 * whatever follows a delay; the others are done at once, in the job
 * that records the step before them, so a run waits for no claim and
 * no commit between them and is never half-way through a step. */
static int at_once(const flow_step *done, const flow_step *next)
{
	return next && done->kind != FLOW_STEP_DELAY &&
	       next->kind != FLOW_STEP_WEBHOOK;
}

/* Writer job: do the step and those that follow it at once, and move
 * the run on, in one transaction. Starts from the claimed run each time,
 * so a replay starts from the same place. */
static int step_fn(store *st, void *arg)
{
	step_job *j = arg;
	const flow_step *s = flowdef_step(j->def, (size_t)j->rc->r.step);
	const flow_step *next;
	store_err e = STORE_OK;

	j->r = j->rc->r;
	j->queued = 0;
	while (s && !e && step_once(st, j, s, &e)) {
		next = flowdef_step(j->def, (size_t)j->r.step);
		if (!at_once(s, next))
			break;
		s = next;
	}
	/* A run is done when it is claimed past its last step, so a delay
	 * that ends a flow is waited out before the run counts as done. */
	j->r.state = !s ? STORE_RUN_DONE : STORE_RUN_ACTIVE;
	if (s && (size_t)j->r.step >= flowdef_steps(j->def) &&
	    s->kind != FLOW_STEP_DELAY)
		j->r.state = STORE_RUN_DONE;
	j->r.updated_ms = j->now_ms;
	if (!e)
		e = store_run_update(st, &j->r);
	j->err = e;
	return e != STORE_OK;
}

static void rendered_free(rendered *rd)
{
	free(rd->url);
	free(rd->body);
	for (size_t i = 0; i < FLOW_HEADERS_MAX; i++) {
		free(rd->hv[i]);
		free(rd->lines[i]);
	}
	memset(rd, 0, sizeof *rd);
}

/* "Name: value", cut at FLOWS_HEADER_MAX bytes; NULL when out of memory. */
static char *header_line(const char *name, const char *value)
{
	char *l = malloc(FLOWS_HEADER_MAX);

	if (l)
		snprintf(l, FLOWS_HEADER_MAX, "%s: %s", name, value);
	return l;
}

/* On the runner thread: render the step's request into rq. 0 when its
 * outcome is known without a call (j->wo and j->res say it). */
static int render_call(fbatch *b, step_job *j, const flow_step *s,
		       rendered *rd, webhook_req *rq)
{
	char terr[TPL_ERR_MAX];
	size_t len, blen = 0;
	flows_view v;
	tpl_err te = TPL_OK;

	memset(rq, 0, sizeof *rq);
	rq->method = s->method;
	rq->timeout_ms = b->f->c.webhook_timeout_ms;
	if (flows_view_load(b->f->st, j->rc->r.user_id, &v)) {
		flows_view_free(&v);
		j->wo = WEBHOOK_RETRY;
		snprintf(j->res.excerpt, sizeof j->res.excerpt, "the user "
			 "could not be read");
		return 0;
	}
	view_props(&v, j->rc);
	te = tpl_render(s->url, flows_view_lookup, &v, TPL_ESC_NONE, &rd->url,
			&len, terr);
	for (size_t i = 0; te == TPL_OK && i < s->n_headers; i++) {
		te = tpl_render(s->headers[i].value, flows_view_lookup, &v,
				TPL_ESC_NONE, &rd->hv[i], &len, terr);
		if (te == TPL_OK &&
		    !(rd->lines[i] = header_line(s->headers[i].name,
						 rd->hv[i]))) {
			te = TPL_ERR_NOMEM;
			snprintf(terr, sizeof terr, "out of memory");
		}
		if (te == TPL_OK)
			rq->headers[rq->n_headers++] = rd->lines[i];
	}
	if (te == TPL_OK && s->body)
		te = tpl_render(s->body, flows_view_lookup, &v,
				s->json_body ? TPL_ESC_JSON : TPL_ESC_NONE,
				&rd->body, &blen, terr);
	flows_view_free(&v);
	if (te != TPL_OK) {
		rendered_free(rd);
		j->wo = WEBHOOK_GIVE_UP;
		snprintf(j->res.excerpt, sizeof j->res.excerpt, "%s", terr);
		return 0;
	}
	snprintf(rd->key, sizeof rd->key, "Idempotency-Key: %lld-%d",
		 (long long)j->rc->r.id, j->rc->r.step);
	rq->headers[rq->n_headers++] = rd->key;
	rq->url = rd->url;
	rq->body = rd->body;
	rq->body_len = blen;
	return 1;
}

/* Hand the job's record to the writer; run_batch waits for them all. */
static void record(fbatch *b, step_job *j)
{
	writer_job *wj = &b->wj[j - b->jobs];

	j->now_ms = clock_now_ms();
	*wj = (writer_job){.fn = step_fn, .arg = j};
	writer_group_submit(b->f->wr, &b->g, wj);
}

/* A webhook call is over: its run is recorded at once, whatever the
 * other calls of the batch are still doing. */
static void call_ended(void *ctx, size_t i, webhook_outcome out,
		       const webhook_res *res)
{
	fbatch *b = ctx;
	step_job *j = &b->jobs[b->call_job[i]];

	j->wo = out;
	j->res = *res;
	rendered_free(&b->rd[i]);
	record(b, j);
}

static int fail_fn(store *st, void *arg)
{
	store_run r = *(const store_run *)arg;

	r.state = STORE_RUN_FAILED;
	r.updated_ms = clock_now_ms();
	return store_run_update(st, &r) != STORE_OK;
}

/* A definition that no longer parses (written by a newer optd): the run
 * cannot go on, and says so. */
static void fail_run(fbatch *b, run_copy *rc)
{
	store_err commit;

	log_warn("flow run %lld: flow %s version %d cannot be read; the run "
		 "fails", (long long)rc->r.id, rc->r.flow_id, rc->r.version);
	writer_run(b->f->wr, fail_fn, &rc->r, &commit);
}

/* Runs this batch could not start inside their lease go back to active,
 * due now, for any runner to take. */
static int release_fn(store *st, void *arg)
{
	fbatch *b = arg;
	store_err e = STORE_OK;

	for (size_t i = b->released; i < b->n && !e; i++) {
		store_run r = b->runs[i].r;
		r.state = STORE_RUN_ACTIVE;
		r.next_ms = r.updated_ms = clock_now_ms();
		e = store_run_update(st, &r);
	}
	return e != STORE_OK;
}

/* On the runner thread: the run's definition and, for a webhook step,
 * its request. 0 when the run cannot go on now. */
static int prepare(fbatch *b, step_job *j)
{
	run_copy *rc = j->rc;
	const flow_step *s;
	store_err de = flows_def(b->f->st, rc->r.flow_id, rc->r.version,
				 &j->def);

	if (de == STORE_INVALID) {
		fail_run(b, rc);
		return 0;
	}
	if (de) {
		log_warn("flow run %lld: its definition cannot be read (%s); "
			 "the run is retried when its lease ends",
			 (long long)rc->r.id, store_strerror(de));
		return 0;
	}
	s = flowdef_step(j->def, (size_t)rc->r.step);
	if (s && s->kind == FLOW_STEP_WEBHOOK &&
	    render_call(b, j, s, &b->rd[b->n_calls], &b->rq[b->n_calls]))
		b->call_job[b->n_calls++] = (size_t)(j - b->jobs);
	return 1;
}

/* On the writer thread, once a record is committed: its SMS can go. */
static void recorded(writer_job *job)
{
	step_job *j = job->arg;

	if (!job->commit && !job->rc && j->queued)
		sender_wake(j->f->snd);
}

/* Each run's step: a run without a call is recorded at once, the
 * others as their calls end; then wait for every record. */
static void run_batch(fbatch *b)
{
	size_t m = 0;

	writer_group_init(&b->g);
	b->g.each = recorded;
	for (size_t i = 0; i < b->n; i++) {
		step_job *j = &b->jobs[m];
		size_t calls = b->n_calls;

		memset(j, 0, sizeof *j);
		j->f = b->f;
		j->rc = &b->runs[i];
		if (!prepare(b, j))
			continue;
		m++;
		if (b->n_calls == calls)
			record(b, j);
	}
	webhook_call_all(b->wh, b->n_calls, b->rq, b->res, call_ended, b);
	b->n_calls = 0;
	writer_group_wait(&b->g);
	for (size_t i = 0; i < m; i++) {
		step_job *j = &b->jobs[i];
		if (b->wj[i].rc || b->wj[i].commit)
			log_warn("flow run %lld step %d: not recorded (%s); "
				 "retried when its lease ends",
				 (long long)j->rc->r.id, j->rc->r.step,
				 store_strerror(b->wj[i].commit
						? b->wj[i].commit : j->err));
	}
}

/* Sleep until woken, the next run is due, or FLOWS_IDLE_MS. The signal
 * count is taken before looking for due runs: a run entered after the
 * look was signalled after it, and cuts the sleep short. Signals from
 * before the look do not, so a runner claims only when there is work. */
static void idle(flows *f)
{
	int64_t next = 0, wait_ms = FLOWS_IDLE_MS;
	unsigned long seen = 0;

	if (wake_stopping(&f->w, &seen))
		return;
	if (store_run_next_due(f->st, &next) == STORE_OK) {
		int64_t d = next - clock_now_ms();
		wait_ms = d < 0 ? 0 : d < wait_ms ? d : wait_ms;
	}
	wake_sleep(&f->w, seen, wait_ms);
}

static void *flows_main(void *arg)
{
	flows *f = arg;
	fbatch *b = calloc(1, sizeof *b);
	unsigned long seen = 0;
	store_err commit;

	if (!b || !(b->wh = webhook_new())) {
		log_warn("flow runner: out of memory");
		goto out;
	}
	b->f = f;
	while (!wake_stopping(&f->w, &seen)) {
		b->now_ms = clock_now_ms();
		if (writer_run(f->wr, claim_fn, b, &commit) != 0 || commit)
			batch_clear(b);
		/* More may be due: one more runner looks, and so on. */
		if (b->n == FLOWS_BATCH)
			wake_signal_one(&f->w);
		/* A step may take up to the webhook timeout: a batch that
		 * could not end inside the claim's lease is not started. */
		int64_t deadline = b->now_ms + f->c.lease_ms -
				   f->c.webhook_timeout_ms;
		b->released = 0;
		if (b->n && clock_now_ms() < deadline) {
			run_batch(b);
			b->released = b->n;
		}
		if (b->released < b->n)
			writer_run(f->wr, release_fn, b, &commit);
		if (b->n < FLOWS_BATCH)
			idle(f);
		batch_clear(b);
	}
out:
	if (b)
		webhook_free(b->wh);
	free(b);
	flows_thread_done();
	store_thread_done(f->st);
	return NULL;
}

flows *flows_start(store *st, writer *wr, sender *snd, const flows_conf *c)
{
	flows *f = calloc(1, sizeof *f);

	if (!f)
		return NULL;
	f->st = st;
	f->wr = wr;
	f->snd = snd;
	f->c = *c;
	wake_init(&f->w);
	for (unsigned i = 0; i < c->threads && i < FLOWS_THREADS_MAX; i++)
		if (pthread_create(&f->th[f->started], NULL, flows_main, f) == 0)
			pthread_setname_np(f->th[f->started++], "flows");
	return f;
}

void flows_wake(flows *f)
{
	if (!f)
		return;
	wake_signal_one(&f->w); /* it wakes another if it finds plenty */
}

void flows_stop(flows *f)
{
	if (!f)
		return;
	wake_stop(&f->w);
	for (unsigned i = 0; i < f->started; i++)
		pthread_join(f->th[i], NULL);
	wake_destroy(&f->w);
	free(f);
}
