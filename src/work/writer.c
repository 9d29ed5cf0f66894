/*
 * writer: see writer.h. Each lane is a mutex-protected FIFO, a condition
 * variable and a thread; the thread sleeps only while its queue is empty,
 * so under load each batch is simply whatever arrived while the previous
 * commit ran. Lanes share nothing but the store.
 *
 * Where the store leaves a commit's fsync to store_sync() (SQLite), each
 * lane has a second thread, its syncer: the lane hands it each batch
 * after the commit and goes on with the next, and the syncer fsyncs once
 * for every batch that reached it meanwhile, then tells their jobs, in
 * commit order. While the syncer is in an fsync or still has a batch to
 * take, the lane keeps its transaction open and runs each job as it
 * arrives; it commits once the syncer is free. So at most one committed
 * batch waits for the syncer, batches are as large as the disk's pace
 * makes them, a job that arrives during an fsync is made durable by the
 * next one, and the disk's wait overlaps the next batch's work; still
 * nothing is acknowledged before it is on disk. Once an fsync
 * fails nothing more is committed (what the disk dropped cannot be
 * known): every later job fails until optd is restarted.
 */
#include "work/writer.h"
#include "lib/hash.h"
#include "lib/log.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct {
	store *st;
	pthread_t thread;
	pthread_mutex_t mu; /* guards the queues, flags and counts */
	pthread_cond_t wake;
	writer_job *head, *tail;
	int stopping, started;
	uint64_t batches, jobs, syncs;
	/* the syncer: committed batches (chained by next_batch) */
	int deferred; /* the store defers this lane's fsyncs */
	int broken;   /* an fsync failed */
	int fsyncing; /* the syncer is in an fsync */
	int full;     /* the writer's open batch is full and waits */
	int absorbing; /* ... or waits for more jobs to take in */
	int queued;    /* jobs in the queue */
	pthread_t syncer;
	pthread_cond_t sync_wake;
	writer_job *sync_head, *sync_tail;
	int sync_started, sync_stopping;
} lane;

struct writer {
	int n;
	lane lanes[WRITER_LANES_MAX];
};

/* Up to max (>= 1) of the queued jobs, of which there is at least one;
 * *taken gets how many, *tail the last of them. */
static writer_job *take_batch(lane *l, int max, int *taken,
			      writer_job **tail)
{
	writer_job *batch = l->head, *last = l->head;
	int n = 1;

	while (last->next && n < max) {
		last = last->next;
		n++;
	}
	l->head = last->next;
	if (!l->head)
		l->tail = NULL;
	last->next = NULL;
	*taken = n;
	*tail = last;
	l->queued -= n;
	return batch;
}

/*
 * Fast path: run every job straight in the transaction. Savepoints cost
 * two statements a job, and jobs are validated before they get here, so
 * they almost never fail; when one does, the caller rolls the whole batch
 * back and replays it with run_isolated().
 */
static int run_direct(lane *l, writer_job *batch)
{
	int failed = 0;

	/* The batch's lookups in one go rather than a wait each. */
	for (writer_job *j = batch; j; j = j->next)
		if (j->want)
			j->want(l->st, j->arg);
	if (store_prefetch(l->st) != STORE_OK)
		return 1;
	for (writer_job *j = batch; j; j = j->next) {
		j->rc = j->fn(l->st, j->arg);
		failed |= j->rc != 0;
	}
	/* Writes a backend deferred (PostgreSQL's pipeline) report at the
	 * commit, in the same round trip; see process(). */
	return failed;
}

/* Slow path: each job in its own savepoint, so a failure is its own. */
static void run_isolated(lane *l, writer_job *batch)
{
	for (writer_job *j = batch; j; j = j->next) {
		if (store_savepoint(l->st) != STORE_OK) {
			j->rc = -1;
			continue;
		}
		j->rc = j->fn(l->st, j->arg);
		/* A release can fail on the job's own deferred writes; the
		 * savepoint is then still there to go back to. */
		if (j->rc == 0 && store_release(l->st) != STORE_OK)
			j->rc = -1;
		if (j->rc != 0)
			store_rollback_to(l->st);
	}
}

static void finish_batch(lane *l, writer_job *batch, store_err commit)
{
	writer_job *next;
	uint64_t n = 0;

	for (writer_job *j = batch; j; j = next) {
		next = j->next;
		j->commit = commit;
		n++;
		if (j->done)
			j->done(j);
	}
	pthread_mutex_lock(&l->mu);
	l->batches++;
	l->jobs += n;
	pthread_mutex_unlock(&l->mu);
}

/* Roll back and run the batch again, each job in its own savepoint. */
static store_err replay(lane *l, writer_job *batch)
{
	store_err err;

	store_rollback(l->st);
	err = store_begin(l->st);
	if (err == STORE_OK)
		run_isolated(l, batch);
	return err;
}

/*
 * A deferred write that breaks a rule of the schema fails the COMMIT that
 * carried it: the transaction was rolled back for certain, so the batch is
 * replayed job by job and only the guilty job fails. Any other failed
 * COMMIT (the answer lost with the connection) may have committed after
 * all, so it is never replayed: its jobs get STORE_UNAVAILABLE.
 */
static int replayable(store_err err)
{
	return err == STORE_CONFLICT || err == STORE_INVALID;
}

static int lane_broken(lane *l)
{
	int b;

	pthread_mutex_lock(&l->mu);
	b = l->broken;
	pthread_mutex_unlock(&l->mu);
	return b;
}

static store_err sync_failed(lane *l, store_err err)
{
	log_error("writer: fsync failed (%s); nothing more is committed "
		  "until optd restarts", store_strerror(err));
	pthread_mutex_lock(&l->mu);
	l->broken = 1;
	pthread_mutex_unlock(&l->mu);
	return err;
}

/* A committed (or failed) batch goes to the syncer, or is synced here
 * when the lane has none. */
static void committed(lane *l, writer_job *batch, store_err err)
{
	if (!l->deferred) {
		finish_batch(l, batch, err);
		return;
	}
	if (!l->sync_started) {
		store_err e = err ? STORE_OK : store_sync(l->st);
		if (e)
			err = sync_failed(l, e);
		finish_batch(l, batch, err);
		return;
	}
	batch->commit = err;
	batch->next_batch = NULL;
	pthread_mutex_lock(&l->mu);
	if (l->sync_tail)
		l->sync_tail->next_batch = batch;
	else
		l->sync_head = batch;
	l->sync_tail = batch;
	pthread_cond_signal(&l->sync_wake);
	pthread_mutex_unlock(&l->mu);
}

static store_err commit(lane *l, writer_job *batch, int isolated)
{
	store_err err;

	if (lane_broken(l)) {
		store_rollback(l->st);
		return STORE_IO;
	}
	err = store_commit(l->st);
	if (err && !isolated && replayable(err)) {
		err = replay(l, batch);
		if (err == STORE_OK)
			err = store_commit(l->st);
	}
	if (err) {
		log_error("writer: commit failed: %s", store_strerror(err));
		store_rollback(l->st);
	}
	return err;
}

/*
 * While the syncer is busy with an fsync or has a batch waiting for the
 * next one, this batch's commit could only wait for it: the transaction
 * stays open instead and takes in the jobs that arrive meanwhile, so
 * that they are done by the time the syncer is free and are made durable
 * by its next fsync rather than the one after. *last is the batch's last
 * job, *n its size. Returns nonzero when a job failed (the caller
 * replays the batch).
 */
static int absorb(lane *l, writer_job **last, int *n)
{
	writer_job *tail;
	int failed = 0;

	pthread_mutex_lock(&l->mu);
	while (!failed && !l->stopping && (l->sync_head || l->fsyncing)) {
		if (*n < WRITER_BATCH_MAX && l->head) {
			int more;
			writer_job *chunk = take_batch(l, WRITER_BATCH_MAX - *n,
						       &more, &tail);

			pthread_mutex_unlock(&l->mu);
			(*last)->next = chunk;
			*last = tail;
			*n += more;
			failed = run_direct(l, chunk);
			pthread_mutex_lock(&l->mu);
			continue;
		}
		/* A full batch commits once the one before it was taken: at
		 * most one committed batch ever waits for the syncer. */
		if (*n >= WRITER_BATCH_MAX && !l->sync_head)
			break;
		l->full = *n >= WRITER_BATCH_MAX;
		l->absorbing = 1;
		pthread_cond_wait(&l->wake, &l->mu);
	}
	l->full = l->absorbing = 0;
	pthread_mutex_unlock(&l->mu);
	return failed;
}

static void process(lane *l, writer_job *batch, writer_job *last, int n)
{
	store_err err = store_begin(l->st);
	int isolated = 0, failed = 0;

	if (err == STORE_OK) {
		failed = run_direct(l, batch);
		if (!failed && l->sync_started)
			failed = absorb(l, &last, &n);
	}
	if (err == STORE_OK && failed) {
		err = replay(l, batch);
		isolated = 1;
	}
	if (err == STORE_OK)
		err = commit(l, batch, isolated);
	else
		log_error("writer: begin failed: %s", store_strerror(err));
	committed(l, batch, err);
}

/* One fsync for every batch committed since the last, then their jobs
 * are told, in commit order. */
static void *syncer_main(void *arg)
{
	lane *l = arg;

	pthread_mutex_lock(&l->mu);
	for (;;) {
		while (!l->sync_head && !l->sync_stopping)
			pthread_cond_wait(&l->sync_wake, &l->mu);
		if (!l->sync_head)
			break; /* stopping and drained */
		writer_job *list = l->sync_head, *next;
		store_err e = STORE_OK;
		int any = 0;

		l->sync_head = l->sync_tail = NULL;
		l->fsyncing = 1;
		if (l->full) /* it may commit now */
			pthread_cond_signal(&l->wake);
		pthread_mutex_unlock(&l->mu);
		for (writer_job *b = list; b; b = b->next_batch)
			any |= b->commit == STORE_OK;
		if (any && (e = store_sync(l->st)) != STORE_OK)
			sync_failed(l, e);
		pthread_mutex_lock(&l->mu);
		l->fsyncing = 0;
		pthread_cond_signal(&l->wake); /* the lane may commit again */
		pthread_mutex_unlock(&l->mu);
		for (writer_job *b = list; b; b = next) {
			next = b->next_batch;
			finish_batch(l, b, b->commit ? b->commit : e);
		}
		pthread_mutex_lock(&l->mu);
		l->syncs += any;
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

static void *writer_main(void *arg)
{
	lane *l = arg;

	/* Before the first batch, on this thread: it is the connection's. */
	l->deferred = store_writer_setup(l->st) == 1;
	if (l->deferred &&
	    pthread_create(&l->syncer, NULL, syncer_main, l) == 0) {
		pthread_setname_np(l->syncer, "syncer");
		l->sync_started = 1;
	}
	pthread_mutex_lock(&l->mu);
	for (;;) {
		while (!l->head && !l->stopping)
			pthread_cond_wait(&l->wake, &l->mu);
		if (!l->head)
			break; /* stopping and drained */
		int n;
		writer_job *last;
		writer_job *batch = take_batch(l, WRITER_BATCH_MAX, &n, &last);

		pthread_mutex_unlock(&l->mu);
		process(l, batch, last, n);
		pthread_mutex_lock(&l->mu);
	}
	pthread_mutex_unlock(&l->mu);
	store_thread_done(l->st);
	return NULL;
}

static void lane_stop(lane *l)
{
	if (!l->started)
		return;
	pthread_mutex_lock(&l->mu);
	l->stopping = 1;
	pthread_cond_signal(&l->wake);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->thread, NULL);
	l->started = 0;
	if (!l->sync_started)
		return;
	pthread_mutex_lock(&l->mu);
	l->sync_stopping = 1;
	pthread_cond_signal(&l->sync_wake);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->syncer, NULL);
	l->sync_started = 0;
}

static void lane_destroy(lane *l)
{
	pthread_cond_destroy(&l->sync_wake);
	pthread_cond_destroy(&l->wake);
	pthread_mutex_destroy(&l->mu);
}

writer *writer_start(store *st, int lanes)
{
	writer *w;

	if (lanes < 1 || lanes > WRITER_LANES_MAX)
		return NULL;
	if (!(w = calloc(1, sizeof *w)))
		return NULL;
	w->n = lanes;
	for (int i = 0; i < lanes; i++) {
		lane *l = &w->lanes[i];

		l->st = st;
		pthread_mutex_init(&l->mu, NULL);
		pthread_cond_init(&l->wake, NULL);
		pthread_cond_init(&l->sync_wake, NULL);
	}
	for (int i = 0; i < lanes; i++) {
		lane *l = &w->lanes[i];

		if (pthread_create(&l->thread, NULL, writer_main, l) != 0) {
			writer_stop(w);
			return NULL;
		}
		pthread_setname_np(l->thread, "writer");
		l->started = 1;
	}
	return w;
}

unsigned writer_key(const char *contact)
{
	uint32_t h = hash_str(contact);

	return h ? h : 1;
}

void writer_submit(writer *w, writer_job *job)
{
	lane *l = &w->lanes[job->lane_key % (unsigned)w->n];

	job->next = NULL;
	job->rc = 0;
	job->commit = STORE_OK;
	pthread_mutex_lock(&l->mu);
	if (l->tail)
		l->tail->next = job;
	else
		l->head = job;
	l->tail = job;
	/* An open batch takes jobs in a few at a time: a wake-up each
	 * would cost more than running them a little later. */
	if (++l->queued >= WRITER_WAKE_JOBS || !l->absorbing)
		pthread_cond_signal(&l->wake);
	pthread_mutex_unlock(&l->mu);
}

/* A group's caller waits on the group's own condition variable, so a
 * finished job wakes its caller alone, not every caller waiting. */
static void group_done(writer_job *job)
{
	writer_group *g = job->done_arg;

	if (g->each)
		g->each(job);
	pthread_mutex_lock(&g->mu);
	if (--g->left == 0)
		pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

void writer_group_init(writer_group *g)
{
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->left = 0;
	g->each = NULL;
}

void writer_group_submit(writer *w, writer_group *g, writer_job *job)
{
	job->done = group_done;
	job->done_arg = g;
	pthread_mutex_lock(&g->mu);
	g->left++;
	pthread_mutex_unlock(&g->mu);
	writer_submit(w, job);
}

void writer_group_wait(writer_group *g)
{
	pthread_mutex_lock(&g->mu);
	while (g->left)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
}

int writer_run(writer *w, writer_fn fn, void *arg, store_err *commit)
{
	writer_job job = {.fn = fn, .arg = arg};
	writer_group g;

	writer_group_init(&g);
	writer_group_submit(w, &g, &job);
	writer_group_wait(&g);
	if (commit)
		*commit = job.commit;
	return job.commit ? -1 : job.rc;
}

void writer_stop(writer *w)
{
	if (!w)
		return;
	for (int i = 0; i < w->n; i++)
		lane_stop(&w->lanes[i]);
	for (int i = 0; i < w->n; i++)
		lane_destroy(&w->lanes[i]);
	free(w);
}

void writer_stats(writer *w, uint64_t *batches, uint64_t *jobs)
{
	*batches = *jobs = 0;
	for (int i = 0; i < w->n; i++) {
		lane *l = &w->lanes[i];

		pthread_mutex_lock(&l->mu);
		*batches += l->batches;
		*jobs += l->jobs;
		pthread_mutex_unlock(&l->mu);
	}
}

uint64_t writer_syncs(writer *w)
{
	uint64_t n = 0;

	for (int i = 0; i < w->n; i++) {
		lane *l = &w->lanes[i];

		pthread_mutex_lock(&l->mu);
		n += l->syncs;
		pthread_mutex_unlock(&l->mu);
	}
	return n;
}

int writer_broken(writer *w)
{
	for (int i = 0; i < w->n; i++)
		if (lane_broken(&w->lanes[i]))
			return 1;
	return 0;
}
