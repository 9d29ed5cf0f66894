/*
 * stmt_cpu: where the store's CPU goes, statement by statement. Loaded
 * into optd with LD_PRELOAD, it wraps sqlite3_step() and adds up, per SQL
 * text, the calling thread's CPU time in each step and the number of
 * steps; at exit it writes them to $STMT_CPU_OUT, costliest first is left
 * to sort(1): "total_us steps us_per_step sql". Thread CPU time, so a
 * step that waits (a lock, the disk) counts only what it computed.
 *
 *   gcc -O2 -shared -fPIC -o stmt_cpu.so bench/stmt_cpu.c -ldl
 *   STMT_CPU=/tmp/stmt.txt bench/sms_twilio.sh   (does both)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STMT_MAX 1024 /* distinct SQL texts counted; more are ignored */
#define STMT_SQL_SHOWN 160

typedef struct sqlite3_stmt sqlite3_stmt;
extern const char *sqlite3_sql(sqlite3_stmt *s);

static struct {
	const char *key; /* SQLite's own copy, the same for a statement */
	char *sql;
	long steps;
	long ns;
} stmts[STMT_MAX];
static int n_stmts;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static long thread_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec * 1000000000L + t.tv_nsec;
}

/* The slot of a statement's text (found by pointer, then by text, since
 * each connection prepares its own copy), or -1 when the table is full. */
static int slot(const char *sql)
{
	int i;

	for (i = 0; i < n_stmts; i++)
		if (stmts[i].key == sql)
			return i;
	for (i = 0; i < n_stmts; i++)
		if (strcmp(stmts[i].sql, sql) == 0)
			return i;
	if (n_stmts == STMT_MAX || !(stmts[i].sql = strdup(sql)))
		return -1;
	stmts[i].key = sql;
	return n_stmts++;
}

int sqlite3_step(sqlite3_stmt *s)
{
	static int (*real)(sqlite3_stmt *);
	const char *sql = sqlite3_sql(s);
	long t0, dt;
	int rc, i;

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "sqlite3_step");
	t0 = thread_ns();
	rc = real(s);
	dt = thread_ns() - t0;
	pthread_mutex_lock(&mu);
	if ((i = slot(sql ? sql : "?")) >= 0) {
		stmts[i].steps++;
		stmts[i].ns += dt;
	}
	pthread_mutex_unlock(&mu);
	return rc;
}

__attribute__((destructor)) static void report(void)
{
	const char *path = getenv("STMT_CPU_OUT");
	FILE *f;

	if (!path || !(f = fopen(path, "w")))
		return;
	for (int i = 0; i < n_stmts; i++)
		fprintf(f, "%ld\t%ld\t%.1f\t%.*s\n", stmts[i].ns / 1000,
			stmts[i].steps,
			stmts[i].ns / 1000.0 / (double)stmts[i].steps,
			STMT_SQL_SHOWN, stmts[i].sql);
	fclose(f);
}
