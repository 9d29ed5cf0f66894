/*
 * test_sqlite_vfs: the VFS that gathers a WAL's frame writes
 * (store/sqlite_vfs.c), on files in a temporary directory, through
 * SQLite's own API.
 *
 * Gathering writes must change nothing SQLite promises: a reader on
 * another connection sees each commit whole as soon as it returns; a
 * transaction larger than the page cache (whose pages spill into the WAL
 * before the commit, and may be read back or overwritten in place) comes
 * back intact; a commit larger than one write is split as the unix VFS
 * needs; and a process that dies after a commit returned, with a later
 * transaction half-written, leaves every returned commit in the file and
 * nothing of the unfinished one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/sqlite_int.h"

#define BLOB 3000 /* bytes a row: a page of its own, nearly */

typedef struct {
	char dir[64];
	char path[96];
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);

	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/optd-vfs-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static sqlite3 *open_db(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db,
					 SQLITE_OPEN_READWRITE |
						 SQLITE_OPEN_CREATE,
					 sqlt_vfs_name()),
			 SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "PRAGMA journal_mode=WAL;"
				      "PRAGMA synchronous=NORMAL;"
				      "PRAGMA wal_autocheckpoint=0;"
				      "CREATE TABLE IF NOT EXISTS t ("
				      " id INTEGER PRIMARY KEY, b BLOB);",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	return db;
}

static void exec(sqlite3 *db, const char *sql)
{
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
}

static int64_t one(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* Rows id first..first+n-1, each blob filled with its id's low byte. */
static void insert(sqlite3 *db, int first, int n)
{
	sqlite3_stmt *s = NULL;
	unsigned char b[BLOB];

	assert_int_equal(sqlite3_prepare_v2(db,
					    "INSERT INTO t VALUES (?1, ?2)",
					    -1, &s, NULL),
			 SQLITE_OK);
	for (int i = first; i < first + n; i++) {
		memset(b, i & 0xff, sizeof b);
		sqlite3_bind_int(s, 1, i);
		sqlite3_bind_blob(s, 2, b, sizeof b, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(s), SQLITE_DONE);
		sqlite3_reset(s);
	}
	sqlite3_finalize(s);
}

/* Rows 1..n there, in order, each with its own bytes, and no other. */
static void check_rows(sqlite3 *db, int n)
{
	sqlite3_stmt *s = NULL;
	unsigned char want[BLOB];
	int i = 0;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT id, b FROM t"
					    " ORDER BY id", -1, &s, NULL),
			 SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		i++;
		assert_int_equal(sqlite3_column_int(s, 0), i);
		assert_int_equal(sqlite3_column_bytes(s, 1), BLOB);
		memset(want, i & 0xff, sizeof want);
		assert_memory_equal(sqlite3_column_blob(s, 1), want, BLOB);
	}
	sqlite3_finalize(s);
	assert_int_equal(i, n);
}

static void check_integrity(sqlite3 *db)
{
	assert_int_equal(one(db, "SELECT count(*) FROM pragma_integrity_check"
				 " WHERE integrity_check <> 'ok'"), 0);
}

static void test_registered(void **state)
{
	(void)state;
	assert_non_null(sqlt_vfs_name());
	assert_non_null(sqlite3_vfs_find(sqlt_vfs_name()));
	/* Not the default: only optd's own connections ask for it. */
	assert_ptr_not_equal(sqlite3_vfs_find(NULL),
			     sqlite3_vfs_find(sqlt_vfs_name()));
}

/* Each commit, small or larger than one write, is whole for a reader on
 * another connection the moment it returns. */
static void test_reader_sees_each_commit(void **state)
{
	fixture *f = *state;
	sqlite3 *w = open_db(f->path), *r = open_db(f->path);
	int n = 0;

	for (int round = 0; round < 12; round++) {
		int rows = round % 3 == 0 ? 200 : 1 + round; /* 200: ~800 KB */
		exec(w, "BEGIN");
		insert(w, n + 1, rows);
		exec(w, "COMMIT");
		n += rows;
		check_rows(r, n);
	}
	check_integrity(r);
	sqlite3_close(r);
	sqlite3_close(w);
}

/* A transaction larger than the cache spills pages into the WAL before
 * its commit, reads some back and rewrites them in place. */
static void test_spilled_transaction(void **state)
{
	fixture *f = *state;
	sqlite3 *w = open_db(f->path), *r;

	exec(w, "PRAGMA cache_size=16");
	exec(w, "BEGIN");
	insert(w, 1, 1500);
	exec(w, "UPDATE t SET b = b WHERE id % 7 = 0");
	check_rows(w, 1500);
	exec(w, "COMMIT");
	r = open_db(f->path);
	check_rows(r, 1500);
	exec(w, "PRAGMA wal_checkpoint(TRUNCATE)");
	check_rows(r, 1500);
	check_integrity(r);
	sqlite3_close(r);
	sqlite3_close(w);
}

/* A child commits, reporting each commit once it returns, then dies:
 * mid_tx, in the middle of a transaction that has spilled into the WAL;
 * else right after a commit that rewrote pages it had spilled, for which
 * SQLite writes the frames' headers again, the commit frame's last. */
static void child_dies(const char *path, int fd, int mid_tx)
{
	sqlite3 *db = open_db(path);
	int n = 0;

	for (int round = 1; round <= 20; round++) {
		exec(db, "BEGIN");
		insert(db, n + 1, round * 7);
		exec(db, "COMMIT");
		n += round * 7;
		if (write(fd, &n, sizeof n) != sizeof n)
			_exit(2);
	}
	exec(db, "PRAGMA cache_size=16");
	exec(db, "BEGIN");
	insert(db, n + 1, 600);
	if (mid_tx)
		_exit(0); /* no rollback, no close: as a crash leaves it */
	exec(db, "UPDATE t SET b = b WHERE id > 1400");
	exec(db, "COMMIT");
	n += 600;
	if (write(fd, &n, sizeof n) != sizeof n)
		_exit(2);
	_exit(0);
}

static void crash_keeps_commits(const char *path, int mid_tx)
{
	int p[2], n = 0, got, status = 0;
	sqlite3 *db;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		child_dies(path, p[1], mid_tx);
	}
	close(p[1]);
	while (read(p[0], &got, sizeof got) == sizeof got)
		n = got;
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(n, 7 * 20 * 21 / 2 + (mid_tx ? 0 : 600));
	db = open_db(path);
	check_rows(db, n);
	check_integrity(db);
	sqlite3_close(db);
}

static void test_crash_mid_transaction(void **state)
{
	fixture *f = *state;

	crash_keeps_commits(f->path, 1);
}

static void test_crash_after_rewritten_commit(void **state)
{
	fixture *f = *state;

	crash_keeps_commits(f->path, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registered),
		cmocka_unit_test_setup_teardown(test_reader_sees_each_commit,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_spilled_transaction,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_mid_transaction,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_crash_after_rewritten_commit, setup, teardown),
	};

	if (sqlt_vfs_register() != SQLITE_OK)
		return 1;
	return cmocka_run_group_tests_name("sqlite_vfs", tests, NULL, NULL);
}
