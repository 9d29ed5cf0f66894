/*
 * sqlite_wal: the writer's connection kept off the disk's critical path.
 *
 * Two waits used to sit on the one thread every write goes through: the
 * fsync of each commit, and every thousand pages or so a checkpoint
 * (copy the WAL into the database, fsync both). Here:
 *  - the writer's connection commits with synchronous=NORMAL and the
 *    caller fsyncs the WAL from its own thread (sqlt_wal_sync()) before
 *    it acknowledges anything; a WAL frame cannot count before the
 *    commit frames that precede it, so one fsync makes every commit
 *    before it durable, and a crash loses only what was never answered;
 *  - checkpoints run on a thread of their own, with their own
 *    connection, each time the WAL has grown SQLT_CKPT_FRAMES since the
 *    last. The WAL can only start over from its beginning once a
 *    checkpoint has copied all of it before the writer's next
 *    transaction, which a checkpoint running beside a busy writer never
 *    does; so past SQLT_WAL_FRAMES the writer checkpoints once itself,
 *    right after its commit (what is left to copy is small by then).
 * Invariant: a connection given sqlt_wal_attach() is one whose commits
 * nobody acknowledges before sqlt_wal_sync() returns STORE_OK, when the
 * sync is deferred.
 */
#include "store/sqlite_int.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SQLT_CKPT_FRAMES 500   /* WAL growth that wakes the checkpointer */
/* Past this the writer checkpoints too, which costs it two fsyncs and
 * the copy of what the checkpointer has not done yet. With 2,000 frames
 * (8 MB) and the checkpointer every 500, webhook p99 stayed at 14-15 ms;
 * 4,000 made rarer but longer stalls (p99 24-25 ms), 16,000 longer still
 * (45 ms). */
#define SQLT_WAL_FRAMES 2000
#define SQLT_WAL_PATH_MAX (STORE_URL_MAX + 8)
#define SQLT_CKPT_BUSY_MS 10000

struct sqlt_wal {
	char db_path[STORE_URL_MAX];
	char wal_path[SQLT_WAL_PATH_MAX];
	int defer;
	pthread_mutex_t mu; /* guards the checkpointer's fields */
	pthread_cond_t cv;
	pthread_t thread;
	int started, stopping;
	int frames;    /* the WAL's size after the latest commit */
	int last;      /* its size when the checkpointer last ran */
	pthread_mutex_t sync_mu; /* guards fd, held through an fsync */
	int fd;        /* the WAL, for sqlt_wal_sync(); -1 until needed */
};

/* After each commit on an attached connection, on the writer's thread. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	sqlt_wal *w = arg;

	if (frames >= SQLT_WAL_FRAMES) {
		/* Busy (the checkpointer is at it) is fine: next commit. */
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
					  NULL, NULL);
		return SQLITE_OK;
	}
	pthread_mutex_lock(&w->mu);
	w->frames = frames;
	if (frames < w->last) /* the WAL started over */
		w->last = 0;
	if (frames - w->last >= SQLT_CKPT_FRAMES)
		pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return SQLITE_OK;
}

static void checkpoint(sqlite3 *db)
{
	int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE,
					   NULL, NULL);

	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		log_warn("sqlite: checkpoint: %s", sqlite3_errmsg(db));
}

static void *ckpt_main(void *arg)
{
	sqlt_wal *w = arg;
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(w->db_path, &db, SQLITE_OPEN_READWRITE |
			    SQLITE_OPEN_NOMUTEX, sqlt_vfs_name()) != SQLITE_OK) {
		log_warn("sqlite: checkpointer: %s", sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_busy_timeout(db, SQLT_CKPT_BUSY_MS);
	/* A connection finds the WAL at its first read; until then it has
	 * none to checkpoint (and says so with -1 frames). */
	if (sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", NULL, NULL,
			 NULL) != SQLITE_OK)
		log_warn("sqlite: checkpointer: %s", sqlite3_errmsg(db));
	pthread_mutex_lock(&w->mu);
	while (!w->stopping) {
		if (w->frames - w->last < SQLT_CKPT_FRAMES) {
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		w->last = w->frames;
		pthread_mutex_unlock(&w->mu);
		checkpoint(db);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
out:
	sqlite3_close(db);
	return NULL;
}

sqlt_wal *sqlt_wal_start(const char *db_path, int defer_sync)
{
	sqlt_wal *w = calloc(1, sizeof *w);

	if (!w)
		return NULL;
	snprintf(w->db_path, sizeof w->db_path, "%s", db_path);
	snprintf(w->wal_path, sizeof w->wal_path, "%s-wal", db_path);
	w->defer = defer_sync;
	w->fd = -1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	pthread_mutex_init(&w->sync_mu, NULL);
	if (pthread_create(&w->thread, NULL, ckpt_main, w) != 0) {
		sqlt_wal_stop(w);
		return NULL;
	}
	pthread_setname_np(w->thread, "checkpointer");
	w->started = 1;
	return w;
}

int sqlt_wal_attach(sqlt_wal *w, sqlite3 *db)
{
	if (w->defer && sqlite3_exec(db, "PRAGMA synchronous=NORMAL", NULL,
				     NULL, NULL) != SQLITE_OK)
		return -1;
	sqlite3_wal_autocheckpoint(db, 0);
	sqlite3_wal_hook(db, wal_hook, w);
	return w->defer;
}

/* The WAL's descriptor, opened at the first fsync (after the writer's
 * first commit made the file). SQLite deletes the WAL only when its last
 * connection closes, and the writer's is open; if it was removed all the
 * same, the writer's frames are in a file no restart will read: that is
 * a failed fsync, not one to make on whatever file has the name now.
 * Called with sync_mu held. */
static int wal_fd(sqlt_wal *w)
{
	struct stat sb;

	if (w->fd < 0)
		w->fd = open(w->wal_path, O_RDWR | O_CLOEXEC);
	else if (fstat(w->fd, &sb) != 0 || sb.st_nlink == 0) {
		errno = ENOENT;
		return -1;
	}
	return w->fd;
}

store_err sqlt_wal_sync(sqlt_wal *w)
{
	store_err err = STORE_OK;
	int fd;

	if (!w || !w->defer)
		return STORE_OK;
	/* Not mu: the writer's hook must never wait on the disk. */
	pthread_mutex_lock(&w->sync_mu);
	fd = wal_fd(w);
	if (fd < 0 || fdatasync(fd) != 0) {
		log_error("sqlite: fsync %s: %s", w->wal_path,
			  strerror(errno));
		err = STORE_IO;
	}
	pthread_mutex_unlock(&w->sync_mu);
	return err;
}

void sqlt_wal_stop(sqlt_wal *w)
{
	if (!w)
		return;
	if (w->started) {
		pthread_mutex_lock(&w->mu);
		w->stopping = 1;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
	}
	if (w->fd >= 0)
		close(w->fd);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	pthread_mutex_destroy(&w->sync_mu);
	free(w);
}
