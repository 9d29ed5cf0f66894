/*
 * writer: see writer.h. A mutex-protected FIFO and a condition variable;
 * the thread sleeps only while the queue is empty, so under load each
 * batch is simply whatever arrived while the previous fsync ran.
 */
#include "work/writer.h"
#include "lib/log.h"

#include <pthread.h>
#include <stdlib.h>

struct writer {
	store *st;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t wake;
	writer_job *head, *tail;
	int stopping;
	uint64_t batches, jobs;
};

static writer_job *take_batch(writer *w)
{
	writer_job *batch = w->head, *last = w->head;
	int n = 1;

	while (last->next && n < WRITER_BATCH_MAX) {
		last = last->next;
		n++;
	}
	w->head = last->next;
	if (!w->head)
		w->tail = NULL;
	last->next = NULL;
	return batch;
}

/*
 * Fast path: run every job straight in the transaction. Savepoints cost
 * two statements a job, and jobs are validated before they get here, so
 * they almost never fail; when one does, the caller rolls the whole batch
 * back and replays it with run_isolated().
 */
static int run_direct(writer *w, writer_job *batch)
{
	int failed = 0;

	/* The batch's lookups in one go rather than a wait each. */
	for (writer_job *j = batch; j; j = j->next)
		if (j->want)
			j->want(w->st, j->arg);
	if (store_prefetch(w->st) != STORE_OK)
		return 1;
	for (writer_job *j = batch; j; j = j->next) {
		j->rc = j->fn(w->st, j->arg);
		failed |= j->rc != 0;
	}
	/* Writes a backend deferred (PostgreSQL's pipeline) report at the
	 * commit, in the same round trip; see process(). */
	return failed;
}

/* Slow path: each job in its own savepoint, so a failure is its own. */
static void run_isolated(writer *w, writer_job *batch)
{
	for (writer_job *j = batch; j; j = j->next) {
		if (store_savepoint(w->st) != STORE_OK) {
			j->rc = -1;
			continue;
		}
		j->rc = j->fn(w->st, j->arg);
		/* A release can fail on the job's own deferred writes; the
		 * savepoint is then still there to go back to. */
		if (j->rc == 0 && store_release(w->st) != STORE_OK)
			j->rc = -1;
		if (j->rc != 0)
			store_rollback_to(w->st);
	}
}

static void finish_batch(writer *w, writer_job *batch, store_err commit)
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
	pthread_mutex_lock(&w->mu);
	w->batches++;
	w->jobs += n;
	pthread_mutex_unlock(&w->mu);
}

/* Roll back and run the batch again, each job in its own savepoint. */
static store_err replay(writer *w, writer_job *batch)
{
	store_err err;

	store_rollback(w->st);
	err = store_begin(w->st);
	if (err == STORE_OK)
		run_isolated(w, batch);
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

static void process(writer *w, writer_job *batch)
{
	store_err err = store_begin(w->st);
	int isolated = 0;

	if (err == STORE_OK && run_direct(w, batch)) {
		err = replay(w, batch);
		isolated = 1;
	}
	if (err == STORE_OK) {
		err = store_commit(w->st);
		if (err && !isolated && replayable(err)) {
			err = replay(w, batch);
			if (err == STORE_OK)
				err = store_commit(w->st);
		}
		if (err) {
			log_error("writer: commit failed: %s",
				  store_strerror(err));
			store_rollback(w->st);
		}
	} else {
		log_error("writer: begin failed: %s", store_strerror(err));
	}
	finish_batch(w, batch, err);
}

static void *writer_main(void *arg)
{
	writer *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->head && !w->stopping)
			pthread_cond_wait(&w->wake, &w->mu);
		if (!w->head)
			break; /* stopping and drained */
		writer_job *batch = take_batch(w);
		pthread_mutex_unlock(&w->mu);
		process(w, batch);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	store_thread_done(w->st);
	return NULL;
}

writer *writer_start(store *st)
{
	writer *w = calloc(1, sizeof *w);

	if (!w)
		return NULL;
	w->st = st;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->wake, NULL);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		pthread_cond_destroy(&w->wake);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return NULL;
	}
	return w;
}

void writer_submit(writer *w, writer_job *job)
{
	job->next = NULL;
	job->rc = 0;
	job->commit = STORE_OK;
	pthread_mutex_lock(&w->mu);
	if (w->tail)
		w->tail->next = job;
	else
		w->head = job;
	w->tail = job;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->mu);
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
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

void writer_stats(writer *w, uint64_t *batches, uint64_t *jobs)
{
	pthread_mutex_lock(&w->mu);
	*batches = w->batches;
	*jobs = w->jobs;
	pthread_mutex_unlock(&w->mu);
}
