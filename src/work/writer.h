/*
 * writer: the threads that change the database while optd serves.
 *
 * Callers hand it jobs; a lane (a queue and its thread) runs up to
 * WRITER_BATCH_MAX queued jobs inside one transaction, then commits once
 * and tells every job how it ended. One fsync thus covers a whole batch
 * (group commit). A job that fails is rolled back alone: the batch is
 * rolled back and replayed with each job in its own savepoint, so no
 * request is ever half-applied and no other request in the batch is lost
 * because of it.
 *
 * Lanes: SQLite has one writer at a time, so it gets one lane. On
 * PostgreSQL several lanes keep the server busy while one waits for its
 * round trips and its commit; jobs with the same lane_key always take the
 * same lane, in the order submitted, so the requests about one contact
 * never race each other inside a node (across lanes they behave as on
 * separate nodes, see the README).
 *
 * Where the store leaves fsyncs to store_sync() (SQLite, durability
 * full), a lane's syncer thread makes each commit durable while the lane
 * goes on with its next batch, and tells the jobs after that; the next
 * batch takes in jobs until the syncer is free for it, up to
 * WRITER_BATCH_MAX.
 *
 * Contract: a job's `done` callback runs exactly once, on its lane's
 * thread or its syncer, after the commit is durable (or has failed);
 * until then the job and its argument belong to the writer. job->rc is
 * what fn returned; job->commit is STORE_OK only when the job's changes
 * are durably committed.
 */
#ifndef OPTD_WRITER_H
#define OPTD_WRITER_H

#include "store/store.h"

#include <pthread.h>

#define WRITER_BATCH_MAX 512
/* Jobs queued that wake a lane whose open batch waits for the syncer:
 * it takes them in a few at a time, not with a wake-up each. */
#define WRITER_WAKE_JOBS 8
#define WRITER_LANES_MAX 8

typedef struct writer writer;
typedef struct writer_job writer_job;

/*
 * Returns 0 to keep the job's changes; anything else rolls them back.
 * It may run twice for one job (when a neighbour in its batch fails): it
 * must depend on its argument alone and release what an earlier run left.
 */
typedef int (*writer_fn)(store *st, void *arg);
typedef void (*writer_done_fn)(writer_job *job);
/* Names the reads fn will make (store_want_user), so that the store can
 * fetch those of the whole batch at once; called just before, on the
 * writer thread, and only a hint. */
typedef void (*writer_want_fn)(store *st, void *arg);

struct writer_job {
	/* public: set by the caller */
	writer_fn fn;
	void *arg;
	writer_done_fn done; /* may be NULL for writer_run() */
	writer_want_fn want; /* may be NULL */
	void *done_arg;
	/* jobs with equal keys share a lane; 0 (the default) is lane 0 */
	unsigned lane_key;
	/* read-only: set by the writer before done() */
	int rc;
	store_err commit;
	/* private */
	writer_job *next;
	writer_job *next_batch; /* on the syncer's queue, if first */
};

/* A lane_key for the jobs about one contact (a phone in E.164, an e-mail,
 * an external id); never 0, so keyed jobs spread over every lane. */
unsigned writer_key(const char *contact);
/* lanes: 1 to WRITER_LANES_MAX; NULL when out of range or out of memory */
writer *writer_start(store *st, int lanes);
void writer_submit(writer *w, writer_job *job);
/* Submit and wait; returns job->rc, or -1 when the commit failed. */
int writer_run(writer *w, writer_fn fn, void *arg, store_err *commit);

/* Jobs submitted one by one and waited for together. The caller owns
 * the group (on its stack, say): init, submit any number of jobs, then
 * wait once, which returns when each has finished (its rc and commit say
 * how) and releases the group. */
typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t left;
	writer_done_fn each; /* if set (after init): each job's own done */
} writer_group;

void writer_group_init(writer_group *g);
/* writer_submit() with the group's done and done_arg; thread-safe. */
void writer_group_submit(writer *w, writer_group *g, writer_job *job);
void writer_group_wait(writer_group *g);
/* Finishes every queued job, then stops the thread. NULL-safe. */
void writer_stop(writer *w);

/* Batches and jobs processed so far, committed or not (for tests). */
void writer_stats(writer *w, uint64_t *batches, uint64_t *jobs);
/* fsyncs the syncers made so far, each for one batch or more (tests). */
uint64_t writer_syncs(writer *w);
/* 1 once an fsync has failed: no lane commits any more (see writer.c). */
int writer_broken(writer *w);

#endif
