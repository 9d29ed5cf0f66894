/*
 * test_writer: unit tests for work/writer (the group-commit writer thread)
 * over a real SQLite store in a temporary directory.
 *
 * The writer is what makes a 201 mean "durable": every job must be
 * committed exactly once and told so exactly once, from however many
 * threads it was submitted. A failing job must take back only its own
 * changes while the rest of its batch commits, including when the batch
 * is replayed after a failure (a job's changes must not then be applied
 * twice). Effects are checked by reading the store afterwards, on another
 * connection, not by trusting the return codes. writer_stop() must finish
 * what was queued, since the server calls it on shutdown with requests
 * still waiting for their answer.
 *
 * With OPTD_TEST_PG_URL set the same tests run on the PostgreSQL backend
 * (a database per test on that server), where writes inside the batch are
 * deferred in libpq's pipeline and their errors surface later.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libpq-fe.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "store/store.h"
#include "work/writer.h"

typedef struct {
	char dir[64];
	char path[160]; /* a file in dir, or a database URL */
	store *st;
	writer *w;
} fixture;

static const char *pg_admin; /* OPTD_TEST_PG_URL, or NULL for SQLite */

/* A fresh database on the test server; its URL in f->path. */
static int pg_new_db(fixture *f)
{
	static int seq;
	char sql[128];
	const char *slash = strrchr(pg_admin, '/');
	PGconn *db;
	PGresult *r;
	int ok;

	if (!slash)
		return -1;
	seq++;
	snprintf(sql, sizeof sql, "CREATE DATABASE optd_writer_%d_%d",
		 (int)getpid(), seq);
	db = PQconnectdb(pg_admin);
	r = PQexec(db, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	PQfinish(db);
	snprintf(f->path, sizeof f->path, "%.*s/optd_writer_%d_%d",
		 (int)(slash - pg_admin), pg_admin, (int)getpid(), seq);
	return ok ? 0 : -1;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);

	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/optd-test-writer-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof f->path, "%s/optd.db", f->dir);
	if (pg_admin && pg_new_db(f) != 0)
		return -1;
	/* Durability full, optd's default: on SQLite the lane then has its
	 * syncer, which every test here goes through. */
	if (store_open(f->path, STORE_DURABLE_FULL, &f->st) != STORE_OK)
		return -1;
	f->w = writer_start(f->st, 1);
	if (!f->w)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	char p[192];

	writer_stop(f->w); /* NULL when a test stopped it already */
	store_close(f->st);
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; !pg_admin && i < sizeof suffix / sizeof suffix[0];
	     i++) {
		snprintf(p, sizeof p, "%s%s", f->path, suffix[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* ---- jobs ---- */

/*
 * One test job: insert group `gid` and a ledger row tagged with it, then
 * return `fail`. A ledger row has no uniqueness rule, so a job applied
 * twice would show as two rows.
 */
typedef struct {
	writer_job job;
	char gid[IDENT_GROUP_ID_MAX + 1];
	int fail;
	int bad_sub;       /* also subscribe a profile that does not exist */
	int runs;          /* fn calls: 2 when its batch was replayed */
	int done_calls;    /* must end at exactly 1 */
	int rc_seen;
	store_err commit_seen;
	pthread_mutex_t *mu; /* guards the counters below */
	pthread_cond_t *cv;
	int *done_total;
} tjob;

static int tjob_fn(store *st, void *arg)
{
	tjob *t = arg;
	store_group g;
	store_ledger *e;
	store_err err;

	/* Written by the writer, read by a test while it runs. */
	__atomic_add_fetch(&t->runs, 1, __ATOMIC_RELEASE);
	memset(&g, 0, sizeof g);
	snprintf(g.id, sizeof g.id, "%s", t->gid);
	snprintf(g.name, sizeof g.name, "group %s", t->gid);
	g.channel = CHANNEL_SMS;
	g.created_ms = g.updated_ms = 1;
	err = store_group_insert(st, &g);
	if (err)
		return 100 + (int)err;
	e = calloc(1, sizeof *e);
	if (!e)
		return 99;
	e->time_ms = 1;
	e->user_id = 1;
	snprintf(e->external_id, sizeof e->external_id, "%s", t->gid);
	snprintf(e->group_id, sizeof e->group_id, "%s", t->gid);
	e->new_state = CONSENT_SUBSCRIBED;
	err = store_ledger_append(st, e);
	free(e);
	if (err)
		return 200 + (int)err;
	/* On PostgreSQL the row is buffered: its error shows only when the
	 * batch is flushed, at the commit. */
	if (t->bad_sub &&
	    (err = store_sub_put(st, 424242, t->gid, CONSENT_SUBSCRIBED,
				 CONSENT_SRC_API, 0, 1)) != STORE_OK)
		return 300 + (int)err;
	return t->fail;
}

static void tjob_done(writer_job *job)
{
	tjob *t = job->done_arg;

	pthread_mutex_lock(t->mu);
	t->done_calls++;
	t->rc_seen = job->rc;
	t->commit_seen = job->commit;
	(*t->done_total)++;
	pthread_cond_broadcast(t->cv);
	pthread_mutex_unlock(t->mu);
}

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static int g_done;

static void tjob_init(tjob *t, const char *gid, int fail)
{
	memset(t, 0, sizeof *t);
	snprintf(t->gid, sizeof t->gid, "%s", gid);
	t->fail = fail;
	t->mu = &g_mu;
	t->cv = &g_cv;
	t->done_total = &g_done;
	t->job.fn = tjob_fn;
	t->job.arg = t;
	t->job.done = tjob_done;
	t->job.done_arg = t;
}

static void reset_done(void)
{
	pthread_mutex_lock(&g_mu);
	g_done = 0;
	pthread_mutex_unlock(&g_mu);
}

static void wait_done(int n)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 60;
	pthread_mutex_lock(&g_mu);
	while (g_done < n) {
		if (pthread_cond_timedwait(&g_cv, &g_mu, &until) != 0)
			break;
	}
	int got = g_done;
	pthread_mutex_unlock(&g_mu);
	if (got < n)
		fail_msg("only %d of %d jobs were reported done", got, n);
}

static int ledger_count_cb(void *ctx, const store_ledger *e)
{
	(void)e;
	(*(int *)ctx)++;
	return 0;
}

/* How many times job `gid` was applied: 0 or 1, anything else is a bug. */
static int applied(store *st, const char *gid)
{
	store_group g;
	store_err err = store_group_get(st, gid, &g);
	int rows = 0;

	assert_int_equal(store_ledger_find(st, STORE_BY_EXTERNAL_ID, gid, 0,
					   100, ledger_count_cb, &rows),
			 STORE_OK);
	if (err == STORE_NOTFOUND) {
		assert_int_equal(rows, 0);
		return 0;
	}
	assert_int_equal(err, STORE_OK);
	assert_string_equal(g.id, gid);
	return rows;
}

/*
 * A job that holds the writer until released, so that whatever is
 * submitted meanwhile is taken as one batch. It blocks on its first run
 * only, in case its batch is replayed.
 */
typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int started, released, runs;
} blocker;

static int blocker_fn(store *st, void *arg)
{
	blocker *b = arg;

	(void)st;
	pthread_mutex_lock(&b->mu);
	b->runs++;
	b->started = 1;
	pthread_cond_broadcast(&b->cv);
	while (!b->released)
		pthread_cond_wait(&b->cv, &b->mu);
	pthread_mutex_unlock(&b->mu);
	return 0;
}

static void blocker_done(writer_job *job)
{
	(void)job;
}

static void blocker_start(writer *w, blocker *b, writer_job *job)
{
	memset(b, 0, sizeof *b);
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	memset(job, 0, sizeof *job);
	job->fn = blocker_fn;
	job->arg = b;
	job->done = blocker_done;
	writer_submit(w, job);
	pthread_mutex_lock(&b->mu);
	while (!b->started)
		pthread_cond_wait(&b->cv, &b->mu);
	pthread_mutex_unlock(&b->mu);
}

static void blocker_release(blocker *b)
{
	pthread_mutex_lock(&b->mu);
	b->released = 1;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

static void blocker_destroy(blocker *b)
{
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cv);
}

/* ---- tests ---- */

static int plain_fn(store *st, void *arg)
{
	const char *gid = arg;
	store_group g;

	memset(&g, 0, sizeof g);
	snprintf(g.id, sizeof g.id, "%s", gid);
	snprintf(g.name, sizeof g.name, "plain");
	g.channel = CHANNEL_EMAIL;
	return store_group_insert(st, &g) == STORE_OK ? 0 : 1;
}

static int fail_fn(store *st, void *arg)
{
	plain_fn(st, arg);
	return 7;
}

static void test_run(void **state)
{
	fixture *f = *state;
	store_group g;
	store_err commit = STORE_IO;

	assert_int_equal(writer_run(f->w, plain_fn, "run-ok", &commit), 0);
	assert_int_equal(commit, STORE_OK);
	/* Visible on another connection as soon as writer_run returns. */
	assert_int_equal(store_group_get(f->st, "run-ok", &g), STORE_OK);
	assert_int_equal(g.channel, CHANNEL_EMAIL);

	/* fn's own answer comes back, and its changes are gone. */
	commit = STORE_IO;
	assert_int_equal(writer_run(f->w, fail_fn, "run-fail", &commit), 7);
	assert_int_equal(commit, STORE_OK);
	assert_int_equal(store_group_get(f->st, "run-fail", &g),
			 STORE_NOTFOUND);

	/* A store error inside fn (duplicate id) rolls back the same way. */
	assert_int_equal(writer_run(f->w, plain_fn, "run-ok", NULL), 1);
	assert_int_equal(store_group_get(f->st, "run-ok", &g), STORE_OK);
}

static void test_single_job_done_once(void **state)
{
	fixture *f = *state;
	tjob t;

	reset_done();
	tjob_init(&t, "single", 0);
	writer_submit(f->w, &t.job);
	wait_done(1);
	assert_int_equal(t.done_calls, 1);
	assert_int_equal(t.rc_seen, 0);
	assert_int_equal(t.commit_seen, STORE_OK);
	assert_int_equal(t.job.rc, 0);
	assert_int_equal(t.job.commit, STORE_OK);
	assert_int_equal(applied(f->st, "single"), 1);
}

/* The failing job and its neighbours share one batch. */
static void test_failure_isolated_in_batch(void **state)
{
	enum { N = 12 };
	fixture *f = *state;
	static tjob t[N];
	writer_job bjob;
	blocker b;
	uint64_t b0, j0, b1, j1;

	writer_stats(f->w, &b0, &j0);
	reset_done();
	blocker_start(f->w, &b, &bjob);
	for (int i = 0; i < N; i++) {
		char gid[32];

		snprintf(gid, sizeof gid, "iso-%d", i);
		/* Job 5 fails on its own; job 9 collides with job 2's id. */
		tjob_init(&t[i], i == 9 ? "iso-2" : gid, i == 5 ? 3 : 0);
		writer_submit(f->w, &t[i].job);
	}
	blocker_release(&b);
	wait_done(N);
	/* writer_stats is updated after the done callbacks: wait for it. */
	for (int tries = 0; tries < 5000; tries++) {
		writer_stats(f->w, &b1, &j1);
		if (j1 - j0 == N + 1)
			break;
		usleep(1000);
	}

	for (int i = 0; i < N; i++) {
		char gid[32];

		snprintf(gid, sizeof gid, "iso-%d", i);
		assert_int_equal(t[i].done_calls, 1);
		assert_int_equal(t[i].commit_seen, STORE_OK);
		assert_true(t[i].runs >= 1 && t[i].runs <= 2);
		if (i == 5) {
			assert_int_equal(t[i].rc_seen, 3);
			assert_int_equal(applied(f->st, gid), 0);
		} else if (i == 9) {
			assert_int_equal(t[i].rc_seen, 100 + STORE_CONFLICT);
			assert_int_equal(applied(f->st, gid), 0);
		} else {
			assert_int_equal(t[i].rc_seen, 0);
			/* Exactly once, even though the batch was replayed. */
			assert_int_equal(applied(f->st, gid), 1);
		}
	}
	/* One batch for the blocker, one for the twelve. */
	assert_int_equal(b1 - b0, 2);
	assert_int_equal(j1 - j0, N + 1);
	assert_int_equal(b.runs, 1);
	blocker_destroy(&b);
}

/* A write that breaks a rule only when the batch is flushed (PostgreSQL
 * defers it to the commit): the batch is replayed and the guilty job
 * alone fails; nothing is applied twice. */
static void test_deferred_failure_isolated(void **state)
{
	enum { N = 12, BAD = 7 };
	fixture *f = *state;
	static tjob t[N];
	writer_job bjob;
	blocker b;

	reset_done();
	blocker_start(f->w, &b, &bjob);
	for (int i = 0; i < N; i++) {
		char gid[32];

		snprintf(gid, sizeof gid, "def-%d", i);
		tjob_init(&t[i], gid, 0);
		t[i].bad_sub = i == BAD;
		writer_submit(f->w, &t[i].job);
	}
	blocker_release(&b);
	wait_done(N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(t[i].done_calls, 1);
		assert_int_equal(t[i].commit_seen, STORE_OK);
		assert_true(t[i].runs >= 1 && t[i].runs <= 2);
		if (i == BAD) {
			assert_int_not_equal(t[i].rc_seen, 0);
			assert_int_equal(applied(f->st, t[i].gid), 0);
		} else {
			assert_int_equal(t[i].rc_seen, 0);
			assert_int_equal(applied(f->st, t[i].gid), 1);
		}
	}
	blocker_destroy(&b);
}

/* A batch of successes only: no replay, every fn runs once. */
static void test_batch_all_ok(void **state)
{
	enum { N = 40 };
	fixture *f = *state;
	static tjob t[N];
	writer_job bjob;
	blocker b;

	reset_done();
	blocker_start(f->w, &b, &bjob);
	for (int i = 0; i < N; i++) {
		char gid[32];

		snprintf(gid, sizeof gid, "ok-%d", i);
		tjob_init(&t[i], gid, 0);
		writer_submit(f->w, &t[i].job);
	}
	blocker_release(&b);
	wait_done(N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(t[i].done_calls, 1);
		assert_int_equal(t[i].runs, 1);
		assert_int_equal(applied(f->st, t[i].gid), 1);
	}
	blocker_destroy(&b);
}

/* Every job of a batch fails: nothing is committed, all are told. */
static void test_batch_all_fail(void **state)
{
	enum { N = 8 };
	fixture *f = *state;
	static tjob t[N];
	writer_job bjob;
	blocker b;

	reset_done();
	blocker_start(f->w, &b, &bjob);
	for (int i = 0; i < N; i++) {
		char gid[32];

		snprintf(gid, sizeof gid, "allfail-%d", i);
		tjob_init(&t[i], gid, 1);
		writer_submit(f->w, &t[i].job);
	}
	blocker_release(&b);
	wait_done(N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(t[i].done_calls, 1);
		assert_int_equal(t[i].rc_seen, 1);
		assert_int_equal(applied(f->st, t[i].gid), 0);
	}
	blocker_destroy(&b);
}

/* ---- many submitters ---- */

#define SUBMITTERS 4
#define PER_SUBMITTER 250

struct submitter {
	writer *w;
	tjob *jobs;
	int base;
};

static void *submitter_main(void *arg)
{
	struct submitter *s = arg;

	for (int i = 0; i < PER_SUBMITTER; i++) {
		tjob *t = &s->jobs[i];

		writer_submit(s->w, &t->job);
		if (i % 64 == 0)
			sched_yield();
	}
	return NULL;
}

static int group_count_cb(void *ctx, const store_group *g)
{
	if (strncmp(g->id, "mt-", 3) == 0)
		(*(int *)ctx)++;
	return 0;
}

static void test_many_threads(void **state)
{
	fixture *f = *state;
	pthread_t tid[SUBMITTERS];
	struct submitter s[SUBMITTERS];
	tjob *jobs = calloc(SUBMITTERS * PER_SUBMITTER, sizeof *jobs);
	uint64_t b0, j0, b1, j1;
	int groups = 0;

	assert_non_null(jobs);
	writer_stats(f->w, &b0, &j0);
	reset_done();
	for (int k = 0; k < SUBMITTERS * PER_SUBMITTER; k++) {
		char gid[32];

		snprintf(gid, sizeof gid, "mt-%d", k);
		/* Every 97th job fails, so some batches are replayed. */
		tjob_init(&jobs[k], gid, k % 97 == 13);
	}
	for (int i = 0; i < SUBMITTERS; i++) {
		s[i] = (struct submitter){f->w, jobs + i * PER_SUBMITTER,
					  i * PER_SUBMITTER};
		assert_int_equal(pthread_create(&tid[i], NULL, submitter_main,
						&s[i]), 0);
	}
	for (int i = 0; i < SUBMITTERS; i++)
		assert_int_equal(pthread_join(tid[i], NULL), 0);
	wait_done(SUBMITTERS * PER_SUBMITTER);

	int want_groups = 0;
	for (int k = 0; k < SUBMITTERS * PER_SUBMITTER; k++) {
		int failing = k % 97 == 13;

		if (jobs[k].done_calls != 1)
			fail_msg("job %d: done ran %d times", k,
				 jobs[k].done_calls);
		assert_int_equal(jobs[k].commit_seen, STORE_OK);
		assert_int_equal(jobs[k].rc_seen, failing);
		if (applied(f->st, jobs[k].gid) != !failing)
			fail_msg("job %d (%s) applied %d times", k,
				 jobs[k].gid, applied(f->st, jobs[k].gid));
		want_groups += !failing;
	}
	assert_int_equal(store_group_list(f->st, group_count_cb, &groups),
			 STORE_OK);
	assert_int_equal(groups, want_groups);

	for (int tries = 0; tries < 5000; tries++) {
		writer_stats(f->w, &b1, &j1);
		if (j1 - j0 == SUBMITTERS * PER_SUBMITTER)
			break;
		usleep(1000);
	}
	assert_int_equal(j1 - j0, SUBMITTERS * PER_SUBMITTER);
	assert_true(b1 - b0 >= 1);
	assert_true(b1 - b0 <= SUBMITTERS * PER_SUBMITTER);
	free(jobs);
}

/* writer_run from several threads at once: each gets its own answer. */
struct runner {
	writer *w;
	int idx;
	int bad;
};

static int run_fn(store *st, void *arg)
{
	struct runner *r = arg;
	char gid[32];

	snprintf(gid, sizeof gid, "wr-%d", r->idx);
	plain_fn(st, gid);
	return r->idx % 3 == 0 ? r->idx + 1 : 0;
}

static void *runner_main(void *arg)
{
	struct runner *r = arg;
	int base = r->idx;

	for (int i = 0; i < 50; i++) {
		store_err commit = STORE_IO;

		r->idx = base * 1000 + i;
		int want = r->idx % 3 == 0 ? r->idx + 1 : 0;
		if (writer_run(r->w, run_fn, r, &commit) != want ||
		    commit != STORE_OK)
			r->bad++;
	}
	return NULL;
}

static void test_run_concurrent(void **state)
{
	fixture *f = *state;
	pthread_t tid[SUBMITTERS];
	struct runner r[SUBMITTERS];
	store_group g;

	for (int i = 0; i < SUBMITTERS; i++) {
		r[i] = (struct runner){f->w, i + 1, 0};
		assert_int_equal(pthread_create(&tid[i], NULL, runner_main,
						&r[i]), 0);
	}
	for (int i = 0; i < SUBMITTERS; i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		assert_int_equal(r[i].bad, 0);
	}
	for (int i = 1; i <= SUBMITTERS; i++) {
		for (int k = 0; k < 50; k++) {
			char gid[32];
			int idx = i * 1000 + k;

			snprintf(gid, sizeof gid, "wr-%d", idx);
			assert_int_equal(store_group_get(f->st, gid, &g),
					 idx % 3 == 0 ? STORE_NOTFOUND
						      : STORE_OK);
		}
	}
}

/*
 * Groups from several threads at once: each caller's wait returns once
 * every one of its own jobs has finished, however the batches fall; each
 * job reads its own rc, the group's `each` saw every job before the wait
 * returned, and a failing job takes back its changes alone.
 */
enum { GROUP_THREADS = 6, GROUP_JOBS = 5, GROUP_ROUNDS = 20,
       GROUP_GID_MAX = 48 };

struct group_caller {
	writer *w;
	int id, bad, each_seen;
};

/* A job's arg: its group id first, as plain_fn and fail_fn read it. */
struct group_arg {
	char gid[GROUP_GID_MAX];
	int seen; /* by the group's `each` */
};

static void group_each(writer_job *job)
{
	((struct group_arg *)job->arg)->seen++;
}

static void *group_main(void *arg)
{
	struct group_caller *c = arg;
	struct group_arg a[GROUP_JOBS];
	writer_job jobs[GROUP_JOBS];
	writer_group g;

	for (int k = 0; k < GROUP_ROUNDS; k++) {
		writer_group_init(&g);
		g.each = group_each;
		for (int i = 0; i < GROUP_JOBS; i++) {
			a[i].seen = 0;
			snprintf(a[i].gid, sizeof a[i].gid, "grp-%d-%d-%d",
				 c->id, k, i);
			jobs[i] = (writer_job){.fn = i == 2 ? fail_fn : plain_fn,
					       .arg = &a[i]};
			writer_group_submit(c->w, &g, &jobs[i]);
		}
		writer_group_wait(&g);
		for (int i = 0; i < GROUP_JOBS; i++) {
			c->each_seen += a[i].seen;
			if (jobs[i].commit != STORE_OK ||
			    jobs[i].rc != (i == 2 ? 7 : 0))
				c->bad++;
		}
	}
	return NULL;
}

static void test_group(void **state)
{
	fixture *f = *state;
	pthread_t tid[GROUP_THREADS];
	struct group_caller c[GROUP_THREADS];
	writer_group empty;
	store_group g;

	for (int i = 0; i < GROUP_THREADS; i++) {
		c[i] = (struct group_caller){f->w, i, 0, 0};
		assert_int_equal(pthread_create(&tid[i], NULL, group_main,
						&c[i]), 0);
	}
	for (int i = 0; i < GROUP_THREADS; i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		assert_int_equal(c[i].bad, 0);
		assert_int_equal(c[i].each_seen, GROUP_ROUNDS * GROUP_JOBS);
	}
	for (int i = 0; i < GROUP_THREADS; i++) {
		for (int k = 0; k < GROUP_ROUNDS; k++) {
			for (int j = 0; j < GROUP_JOBS; j++) {
				char gid[GROUP_GID_MAX];

				snprintf(gid, sizeof gid, "grp-%d-%d-%d", i,
					 k, j);
				assert_int_equal(store_group_get(f->st, gid,
								 &g),
						 j == 2 ? STORE_NOTFOUND
							: STORE_OK);
			}
		}
	}
	/* No job: nothing to wait for. */
	writer_group_init(&empty);
	writer_group_wait(&empty);
}

/* Jobs queued when writer_stop() is called still run and are answered. */
static void test_stop_drains(void **state)
{
	enum { N = 100 };
	fixture *f = *state;
	static tjob t[N];
	writer_job bjob;
	blocker b;

	reset_done();
	blocker_start(f->w, &b, &bjob);
	for (int i = 0; i < N; i++) {
		char gid[32];

		snprintf(gid, sizeof gid, "drain-%d", i);
		tjob_init(&t[i], gid, i == 50);
		writer_submit(f->w, &t[i].job);
	}
	blocker_release(&b);
	writer_stop(f->w);
	f->w = NULL;
	/* Every done callback ran before writer_stop returned. */
	assert_int_equal(g_done, N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(t[i].done_calls, 1);
		assert_int_equal(applied(f->st, t[i].gid), i == 50 ? 0 : 1);
	}
	blocker_destroy(&b);
}

static void test_stop_idle_and_null(void **state)
{
	fixture *f = *state;

	/* An idle writer stops at once; NULL is fine too. */
	writer_stop(f->w);
	f->w = NULL;
	writer_stop(NULL);
}

/* The writer waits for a write lock another connection holds (SQLite's
 * lock is database-wide; PostgreSQL has none to wait for here). */
static void test_waits_for_lock(void **state)
{
	fixture *f = *state;
	tjob t;

	if (pg_admin)
		skip();
	reset_done();
	assert_int_equal(store_begin(f->st), STORE_OK); /* this thread */
	tjob_init(&t, "after-lock", 0);
	writer_submit(f->w, &t.job);
	usleep(200 * 1000);
	pthread_mutex_lock(&g_mu);
	int early = g_done;
	pthread_mutex_unlock(&g_mu);
	assert_int_equal(early, 0);
	assert_int_equal(store_commit(f->st), STORE_OK);
	wait_done(1);
	assert_int_equal(t.commit_seen, STORE_OK);
	assert_int_equal(t.rc_seen, 0);
	assert_int_equal(applied(f->st, "after-lock"), 1);
}

/*
 * Lanes: jobs with one key always take one lane and finish in the order
 * they were submitted; on PostgreSQL the keys spread over several lanes
 * (threads). Every job is still applied and told exactly once.
 */
#define LANE_KEYS 8
#define LANE_JOBS_PER_KEY 40

typedef struct {
	tjob t;
	int key, seq;
} ljob;

static int lane_last[LANE_KEYS];
static pthread_t lane_thread[LANE_KEYS];
static int lane_broken;

static void ljob_done(writer_job *job)
{
	ljob *l = job->done_arg;

	pthread_mutex_lock(&g_mu);
	if (l->seq != lane_last[l->key] + 1)
		lane_broken = 1; /* out of order */
	if (l->seq == 1)
		lane_thread[l->key] = pthread_self();
	else if (!pthread_equal(lane_thread[l->key], pthread_self()))
		lane_broken = 2; /* another lane */
	lane_last[l->key] = l->seq;
	pthread_mutex_unlock(&g_mu);
	l->t.job.done_arg = &l->t;
	tjob_done(job);
}

static void test_lanes(void **state)
{
	fixture *f = *state;
	int lanes = store_concurrent_writes(f->st) ? 3 : 1, threads = 0;
	ljob *jobs = calloc(LANE_KEYS * LANE_JOBS_PER_KEY, sizeof *jobs);
	char key[16];

	assert_non_null(jobs);
	assert_null(writer_start(f->st, 0));
	assert_null(writer_start(f->st, WRITER_LANES_MAX + 1));
	writer_stop(f->w);
	f->w = writer_start(f->st, lanes);
	assert_non_null(f->w);
	reset_done();
	memset(lane_last, 0, sizeof lane_last);
	lane_broken = 0;
	for (int i = 0; i < LANE_KEYS * LANE_JOBS_PER_KEY; i++) {
		ljob *l = &jobs[i];
		char gid[32];

		l->key = i % LANE_KEYS;
		l->seq = i / LANE_KEYS + 1;
		snprintf(gid, sizeof gid, "lane-%d-%d", l->key, l->seq);
		tjob_init(&l->t, gid, 0);
		snprintf(key, sizeof key, "+1555000%04d", l->key);
		l->t.job.lane_key = writer_key(key);
		l->t.job.done = ljob_done;
		l->t.job.done_arg = l;
		writer_submit(f->w, &l->t.job);
	}
	wait_done(LANE_KEYS * LANE_JOBS_PER_KEY);
	assert_int_equal(lane_broken, 0);
	for (int i = 0; i < LANE_KEYS * LANE_JOBS_PER_KEY; i++) {
		assert_int_equal(jobs[i].t.done_calls, 1);
		assert_int_equal(jobs[i].t.commit_seen, STORE_OK);
		assert_int_equal(applied(f->st, jobs[i].t.gid), 1);
	}
	for (int k = 0; k < LANE_KEYS; k++) {
		int seen = 0;

		assert_int_equal(lane_last[k], LANE_JOBS_PER_KEY);
		for (int j = 0; j < k; j++)
			seen |= pthread_equal(lane_thread[j], lane_thread[k]);
		threads += !seen;
	}
	assert_true(lanes == 1 ? threads == 1 : threads >= 2);
	free(jobs);
}

static void test_stats(void **state)
{
	fixture *f = *state;
	uint64_t b0, j0, b1, j1;

	writer_stats(f->w, &b0, &j0);
	assert_int_equal(b0, 0);
	assert_int_equal(j0, 0);
	for (int i = 0; i < 5; i++) {
		char gid[32];

		snprintf(gid, sizeof gid, "stats-%d", i);
		assert_int_equal(writer_run(f->w, plain_fn, gid, NULL), 0);
	}
	/* writer_run returns after the job is marked, before the count. */
	for (int tries = 0; tries < 5000; tries++) {
		writer_stats(f->w, &b1, &j1);
		if (j1 == 5)
			break;
		usleep(1000);
	}
	/* writer_run waits for each, so each was a batch of its own. */
	assert_int_equal(b1, 5);
	assert_int_equal(j1, 5);
}

/* SQLite's commits are made durable by the syncer, several to an fsync
 * when they come faster than the disk; PostgreSQL's need none. */
static void test_syncs(void **state)
{
	fixture *f = *state;
	uint64_t b = 0, j = 0, syncs;

	for (int i = 0; i < 5; i++) {
		char gid[32];

		snprintf(gid, sizeof gid, "syncs-%d", i);
		assert_int_equal(writer_run(f->w, plain_fn, gid, NULL), 0);
	}
	for (int tries = 0; tries < 5000 && j < 5; tries++) {
		writer_stats(f->w, &b, &j);
		usleep(1000);
	}
	syncs = writer_syncs(f->w);
	if (pg_admin) {
		assert_int_equal(syncs, 0);
		return;
	}
	assert_true(syncs >= 1 && syncs <= b);
}

/*
 * An fsync that fails (here: the WAL is gone from under it) fails the
 * batch it was for, and nothing is committed after: a later job is rolled
 * back and told so, never acknowledged.
 */
static void test_sync_failure_stops_commits(void **state)
{
	fixture *f = *state;
	store_group g;
	store_err commit = STORE_OK;
	char wal[192];

	if (pg_admin)
		skip();
	assert_int_equal(writer_run(f->w, plain_fn, "before", &commit), 0);
	assert_int_equal(commit, STORE_OK);
	assert_false(writer_broken(f->w));
	snprintf(wal, sizeof wal, "%s-wal", f->path);
	assert_int_equal(unlink(wal), 0);
	assert_int_equal(writer_run(f->w, plain_fn, "lost", &commit), -1);
	assert_int_equal(commit, STORE_IO);
	assert_int_equal(writer_run(f->w, plain_fn, "after", &commit), -1);
	assert_int_equal(commit, STORE_IO);
	assert_int_equal(store_group_get(f->st, "after", &g), STORE_NOTFOUND);
	assert_int_equal(store_group_get(f->st, "before", &g), STORE_OK);
	assert_true(writer_broken(f->w));
}

#define WAL_JOBS 12000
#define WAL_MAX_BYTES (25 << 20)

/* A ledger row of about a page: twelve thousand of them are ~100 MB. */
/* A done callback that holds the syncer (SQLite's) until released. */
static void stall_done(writer_job *job)
{
	blocker *b = job->done_arg;

	pthread_mutex_lock(&b->mu);
	b->started = 1;
	pthread_cond_broadcast(&b->cv);
	while (!b->released)
		pthread_cond_wait(&b->cv, &b->mu);
	pthread_mutex_unlock(&b->mu);
}

/* How many of the n jobs have run, waiting up to two seconds for at
 * least `want` of them. */
static int ran_soon(tjob *t, int n, int want)
{
	int ran = 0;

	for (int tries = 0; tries < 2000; tries++) {
		ran = 0;
		for (int i = 0; i < n; i++)
			ran += __atomic_load_n(&t[i].runs, __ATOMIC_ACQUIRE) > 0;
		if (ran >= want)
			break;
		usleep(1000);
	}
	return ran;
}

/*
 * While the syncer is busy and a committed batch waits for it, the next
 * batch stays open and runs the jobs that arrive, a few at a time, so
 * that it is ready to commit the moment the syncer is free. A job of it
 * that fails is still its own failure: the batch so far, the jobs taken
 * in early as well, is replayed job by job and committed, and the jobs
 * after it make the next batch.
 */
static void test_open_batch_takes_in_arrivals(void **state)
{
	enum { N = 4 * WRITER_WAKE_JOBS, BAD = 2 * WRITER_WAKE_JOBS + 3 };
	fixture *f = *state;
	static tjob t[N];
	writer_job sjob, kjob;
	blocker stall, k;
	uint64_t b0, j0, b1 = 0, j1 = 0;

	if (pg_admin)
		skip(); /* no syncer: done callbacks run on the writer */
	writer_stats(f->w, &b0, &j0);
	reset_done();
	memset(&stall, 0, sizeof stall);
	pthread_mutex_init(&stall.mu, NULL);
	pthread_cond_init(&stall.cv, NULL);
	memset(&sjob, 0, sizeof sjob);
	sjob.fn = plain_fn;
	sjob.arg = "stall";
	sjob.done = stall_done;
	sjob.done_arg = &stall;
	writer_submit(f->w, &sjob);
	pthread_mutex_lock(&stall.mu);
	while (!stall.started)
		pthread_cond_wait(&stall.cv, &stall.mu);
	pthread_mutex_unlock(&stall.mu);
	/* The syncer is held: k's batch commits and waits for it. */
	blocker_start(f->w, &k, &kjob);
	blocker_release(&k);
	for (int i = 0; i < N; i++) {
		char gid[32];

		snprintf(gid, sizeof gid, "open-%d", i);
		tjob_init(&t[i], gid, i == BAD ? 4 : 0);
		writer_submit(f->w, &t[i].job);
		usleep(500);
	}
	/* All but the last few ran while the syncer was still held. */
	int ran = ran_soon(t, N, N - WRITER_WAKE_JOBS);

	blocker_release(&stall);
	assert_true(ran >= N - WRITER_WAKE_JOBS);
	wait_done(N);
	for (int tries = 0; tries < 5000 && j1 - j0 < N + 2; tries++) {
		writer_stats(f->w, &b1, &j1);
		usleep(1000);
	}
	for (int i = 0; i < N; i++) {
		assert_int_equal(t[i].done_calls, 1);
		assert_int_equal(t[i].commit_seen, STORE_OK);
		assert_int_equal(t[i].rc_seen, i == BAD ? 4 : 0);
		assert_int_equal(applied(f->st, t[i].gid), i != BAD);
	}
	assert_int_equal(j1 - j0, N + 2);
	/* Far fewer batches than jobs: they were taken in together. */
	assert_true(b1 - b0 <= 2 + N / WRITER_WAKE_JOBS + 2);
	blocker_destroy(&k);
	blocker_destroy(&stall);
}

static int page_fn(store *st, void *arg)
{
	store_ledger *e = calloc(1, sizeof *e);
	store_err err;

	(void)arg;
	if (!e)
		return 99;
	e->time_ms = 1;
	e->user_id = 1;
	snprintf(e->group_id, sizeof e->group_id, "wal");
	e->new_state = CONSENT_SUBSCRIBED;
	memcpy(e->evidence, "{\"pad\":\"", 8);
	memset(e->evidence + 8, 'x', 4000);
	memcpy(e->evidence + 4008, "\"}", 3);
	err = store_ledger_append(st, e);
	free(e);
	return err != STORE_OK;
}

static off_t file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/* Checkpoints happen while the writer runs, off its thread or (past the
 * limit) by it: the WAL stays bounded and the database file grows. */
static void test_wal_bounded(void **state)
{
	fixture *f = *state;
	writer_job *jobs;
	writer_group g;
	char wal[192];

	if (pg_admin)
		skip();
	jobs = calloc(WAL_JOBS, sizeof *jobs);
	assert_non_null(jobs);
	writer_group_init(&g);
	for (int i = 0; i < WAL_JOBS; i++) {
		jobs[i].fn = page_fn;
		writer_group_submit(f->w, &g, &jobs[i]);
	}
	writer_group_wait(&g);
	for (int i = 0; i < WAL_JOBS; i++)
		assert_int_equal(jobs[i].commit, STORE_OK);
	free(jobs);
	snprintf(wal, sizeof wal, "%s-wal", f->path);
	assert_true(file_size(wal) > 0 && file_size(wal) < WAL_MAX_BYTES);
	assert_true(file_size(f->path) > WAL_MAX_BYTES);
}

/* Below the writer's own limit the checkpointer alone copies the WAL
 * into the database file, soon after it has grown by a few hundred
 * pages (here some 750 pages, in two commits). */
static void test_checkpointer_runs(void **state)
{
	fixture *f = *state;
	writer_job jobs[600];
	writer_group g;
	off_t before = file_size(f->path);

	if (pg_admin)
		skip();
	memset(jobs, 0, sizeof jobs);
	writer_group_init(&g);
	for (size_t i = 0; i < sizeof jobs / sizeof jobs[0]; i++) {
		jobs[i].fn = page_fn;
		writer_group_submit(f->w, &g, &jobs[i]);
	}
	writer_group_wait(&g);
	for (int tries = 0; tries < 5000; tries++) {
		if (file_size(f->path) > before + (1 << 20))
			break;
		usleep(1000);
	}
	assert_true(file_size(f->path) > before + (1 << 20));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_job_done_once,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_isolated_in_batch,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_deferred_failure_isolated,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_all_ok, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_batch_all_fail, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_many_threads, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_run_concurrent, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_group, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stop_drains, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stop_idle_and_null, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_waits_for_lock, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lanes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syncs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_failure_stops_commits,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_open_batch_takes_in_arrivals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_bounded, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_checkpointer_runs, setup,
						teardown),
	};

	log_setup(LOG_TEXT, LOG_WARN); /* no "applied migration" per test */
	pg_admin = getenv("OPTD_TEST_PG_URL");
	if (pg_admin && !*pg_admin)
		pg_admin = NULL;
	return cmocka_run_group_tests_name(pg_admin ? "writer (postgres)"
						    : "writer", tests, NULL,
					   NULL);
}
