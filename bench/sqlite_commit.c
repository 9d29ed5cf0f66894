/*
 * sqlite_commit: SQLite's own rate of durable single-row commits on this
 * disk, the floor any "one fsync per change" design would hit. Same
 * settings as optd's default: WAL, synchronous=FULL.
 *
 *   sqlite_commit DB_PATH SECONDS   -> prints "commits/s N"
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *ins = NULL;
	double secs = argc > 2 ? atof(argv[2]) : 5.0, t0;
	long n = 0;

	if (argc < 2 || sqlite3_open(argv[1], &db) != SQLITE_OK)
		return 1;
	if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			 "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY,"
			 " phone TEXT, state TEXT)", 0, 0, 0) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO t (phone, state) VALUES (?, "
			       "'subscribed')", -1, &ins, NULL) != SQLITE_OK)
		return 1;
	t0 = now();
	while (now() - t0 < secs) {
		char phone[32];
		snprintf(phone, sizeof phone, "+1650%07ld", 2000000 + n);
		sqlite3_bind_text(ins, 1, phone, -1, SQLITE_TRANSIENT);
		/* Autocommit: each step is its own transaction and fsync. */
		if (sqlite3_step(ins) != SQLITE_DONE)
			return 1;
		sqlite3_reset(ins);
		n++;
	}
	printf("commits/s %.0f\n", (double)n / (now() - t0));
	sqlite3_finalize(ins);
	sqlite3_close(db);
	return 0;
}
