/*
 * test_store: unit tests for the SQLite store (store/sqlite.c,
 * store/sqlite_records.c, store/sqlite_sms.c and store/sqlite_flow.c)
 * through store.h, on a file in a temporary directory.
 *
 * The store holds consent, which optd must be able to prove later, so the
 * tests pin what the rest of optd relies on: migrations run once however
 * often the file is opened; a revoked key can no longer authenticate while
 * its name becomes free again; uniqueness rules come back as
 * STORE_CONFLICT (not as an I/O error, which would be a 503); lookups are
 * ordered and bounded as documented; the consent ledger cannot be edited
 * (checked on the file through sqlite3 directly, since no store.h
 * function even tries to update it); a retried SMS webhook or a second
 * copy of an outgoing message is a CONFLICT, inside a transaction too;
 * and an outgoing message is claimed by one sender at a time, until its
 * lease runs out. The same for flows: a run is claimed by one runner at a
 * time, a user enters a flow without re-entry once however many writers
 * race for it, an idempotency key keeps its first answer, and a flow's
 * old definitions stay readable. Large documents (attributes, event
 * properties) come back whole, and one byte more is refused. A database
 * left at an older version is migrated.
 *
 * With OPTD_TEST_PG_URL set (the admin URL of a throwaway server, as
 * scripts/test.sh provides) the same tests run on the PostgreSQL backend,
 * each on a database of its own, and the direct checks go through libpq.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libpq-fe.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "store/pg_int.h" /* the key cache's pg__keys_find() */
#include "store/pg_schema.h"
#include "store/sqlite_schema.h"
#include "store/store.h"

typedef struct {
	char dir[64];
	char path[160]; /* a file in dir, or a database URL */
	store *st;
} fixture;

static const char *pg_admin; /* OPTD_TEST_PG_URL, or NULL for SQLite */

/* Run one statement on the PostgreSQL database `url`; its result. */
static PGresult *pg_exec(const char *url, const char *sql)
{
	PGconn *db = PQconnectdb(url);
	PGresult *r;

	assert_int_equal(PQstatus(db), CONNECTION_OK);
	r = PQexec(db, sql);
	PQfinish(db);
	return r;
}

/* A fresh database on the test server; its URL in f->path. */
static int pg_new_db(fixture *f)
{
	static int seq;
	char sql[128];
	const char *slash = strrchr(pg_admin, '/');
	PGresult *r;
	int ok;

	if (!slash)
		return -1;
	snprintf(sql, sizeof sql, "CREATE DATABASE optd_unit_%d_%d",
		 (int)getpid(), ++seq);
	r = pg_exec(pg_admin, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	snprintf(f->path, sizeof f->path, "%.*s/optd_unit_%d_%d",
		 (int)(slash - pg_admin), pg_admin, (int)getpid(), seq);
	return ok ? 0 : -1;
}

static void remove_db(const char *path)
{
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	char p[192];

	for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
		snprintf(p, sizeof p, "%s%s", path, suffix[i]);
		unlink(p);
	}
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);

	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/optd-test-store-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof f->path, "%s/optd.db", f->dir);
	if (pg_admin && pg_new_db(f) != 0)
		return -1;
	if (store_open(f->path, STORE_DURABLE_NORMAL, &f->st) != STORE_OK)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	store_close(f->st);
	if (!pg_admin)
		remove_db(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A scalar from the file, through a separate sqlite3 connection. */
static long long sql_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	long long v = -1;

	if (pg_admin) {
		PGresult *r = pg_exec(path, sql);
		assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
		if (PQntuples(r) > 0)
			v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
		return v;
	}
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
					 NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* ---- open and migrations ---- */

#define N_MIGRATIONS 10 /* what a fresh database records */

static void test_migrations_once(void **state)
{
	fixture *f = *state;
	store *again = NULL;

	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM "
				 "schema_migrations"), N_MIGRATIONS);
	assert_int_equal(sql_int(f->path, "SELECT max(version) FROM "
				 "schema_migrations"), N_MIGRATIONS);
	/* A second open of the same file, while the first is open... */
	assert_int_equal(store_open(f->path, STORE_DURABLE_FULL, &again),
			 STORE_OK);
	assert_non_null(again);
	assert_int_equal(store_ping(again), STORE_OK);
	store_close(again);
	/* ...and a third after every handle closed: nothing re-applied. */
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(store_open(f->path, STORE_DURABLE_NORMAL, &f->st),
			 STORE_OK);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM "
				 "schema_migrations"), N_MIGRATIONS);
	assert_int_equal(store_ping(f->st), STORE_OK);
}

/* Passwords never reach a log line. */
static void test_url_redact(void **state)
{
	char out[STORE_URL_MAX];

	(void)state;
	assert_string_equal(store_url_redact("postgres://optd:s3cret@db:5432/"
					     "optd?sslmode=require", out),
			    "postgres://optd:***@db:5432/optd?sslmode=require");
	assert_string_equal(store_url_redact("postgresql://u:p@h/d", out),
			    "postgresql://u:***@h/d");
	assert_string_equal(store_url_redact("postgres://optd@db/optd", out),
			    "postgres://optd@db/optd");
	assert_string_equal(store_url_redact("postgres:///optd?host=/run",
					     out),
			    "postgres:///optd?host=/run");
	assert_string_equal(store_url_redact("postgres://h/d?user=u&password="
					     "p&sslmode=require", out),
			    "postgres://h/d?user=u&password=***&sslmode=require");
	assert_string_equal(store_url_redact("postgres://h/d?password=p",
					     out),
			    "postgres://h/d?password=***");
	assert_string_equal(store_url_redact("/var/lib/optd:x@y.db", out),
			    "/var/lib/optd:x@y.db");
}

/* Data survives a reopen (and so does the schema it is stored in). */
static void test_reopen_keeps_data(void **state)
{
	fixture *f = *state;
	store_group g = {.id = "keep", .name = "Keep", .created_ms = 5,
			 .updated_ms = 5};

	assert_int_equal(store_group_insert(f->st, &g), STORE_OK);
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(store_open(f->path, STORE_DURABLE_NORMAL, &f->st),
			 STORE_OK);
	memset(&g, 0, sizeof g);
	assert_int_equal(store_group_get(f->st, "keep", &g), STORE_OK);
	assert_string_equal(g.name, "Keep");
}

static void test_open_urls(void **state)
{
	fixture *f = *state;
	char url[STORE_URL_MAX + 16];
	store *st = (store *)&st;

	if (pg_admin) {
		assert_string_equal(store_backend(f->st), "postgres");
		/* postgresql:// names the same database as postgres://. */
		snprintf(url, sizeof url, "postgresql%s",
			 f->path + strlen("postgres"));
		assert_int_equal(store_open(url, STORE_DURABLE_NORMAL, &st),
				 STORE_OK);
		assert_string_equal(store_backend(st), "postgres");
		store_close(st);
		return;
	}
	/* "sqlite:PATH" names the same file. */
	snprintf(url, sizeof url, "sqlite:%s", f->path);
	assert_int_equal(store_open(url, STORE_DURABLE_NORMAL, &st), STORE_OK);
	assert_string_equal(store_backend(st), "sqlite");
	store_close(st);

	st = (store *)&st;
	assert_int_equal(store_open("", STORE_DURABLE_NORMAL, &st),
			 STORE_INVALID);
	assert_null(st);
	st = (store *)&st;
	assert_int_equal(store_open("sqlite:", STORE_DURABLE_NORMAL, &st),
			 STORE_INVALID);
	assert_null(st);
	memset(url, 'a', sizeof url);
	url[0] = '/';
	url[STORE_URL_MAX] = '\0';
	assert_int_equal(store_open(url, STORE_DURABLE_NORMAL, &st),
			 STORE_INVALID);
	assert_null(st);
	/* A directory that does not exist is an error, not a crash. */
	assert_int_not_equal(store_open("/nonexistent-optd-dir/x.db",
					STORE_DURABLE_NORMAL, &st), STORE_OK);
	assert_null(st);
	store_close(NULL);
}

static void test_strerror_and_durability(void **state)
{
	store_durability d;

	(void)state;
	for (int e = STORE_OK; e <= STORE_IO; e++) {
		const char *s = store_strerror((store_err)e);

		assert_non_null(s);
		assert_true(s[0] != '\0');
		for (int k = STORE_OK; k < e; k++)
			assert_string_not_equal(s,
						store_strerror((store_err)k));
	}
	assert_int_equal(store_durability_parse("full", &d), 0);
	assert_int_equal(d, STORE_DURABLE_FULL);
	assert_int_equal(store_durability_parse("normal", &d), 0);
	assert_int_equal(d, STORE_DURABLE_NORMAL);
	assert_int_equal(store_durability_parse("FULL", &d), -1);
	assert_int_equal(store_durability_parse("off", &d), -1);
}

/* ---- keys ---- */

static store_key key_of(const char *name, const char *hash)
{
	store_key k;

	memset(&k, 0, sizeof k);
	snprintf(k.name, sizeof k.name, "%s", name);
	snprintf(k.hash, sizeof k.hash, "%s", hash);
	k.scopes = 0x03;
	k.rate_limit = 250;
	k.created_ms = 1000;
	return k;
}

static int key_list_cb(void *ctx, const store_key *k)
{
	store_key *seen = ctx;

	for (int i = 0; i < 8; i++) {
		if (seen[i].id == 0) {
			seen[i] = *k;
			return 0;
		}
	}
	return 1;
}

static int stop_after_one(void *ctx, const store_key *k)
{
	(void)k;
	(*(int *)ctx)++;
	return 1;
}

static void test_keys(void **state)
{
	fixture *f = *state;
	store_key a = key_of("alpha", "aaaa"), b = key_of("beta", "bbbb");
	store_key got;
	store_key seen[8];
	int calls = 0;

	assert_int_equal(store_key_insert(f->st, &a), STORE_OK);
	assert_int_equal(store_key_insert(f->st, &b), STORE_OK);
	assert_true(a.id > 0);
	assert_true(b.id > a.id);

	assert_int_equal(store_key_by_hash(f->st, "aaaa", &got), STORE_OK);
	assert_int_equal(got.id, a.id);
	assert_string_equal(got.name, "alpha");
	assert_string_equal(got.hash, "aaaa");
	assert_int_equal(got.scopes, 0x03);
	assert_int_equal(got.rate_limit, 250);
	assert_int_equal(got.created_ms, 1000);
	assert_int_equal(got.revoked_ms, 0);
	assert_int_equal(store_key_by_name(f->st, "beta", &got), STORE_OK);
	assert_int_equal(got.id, b.id);
	assert_int_equal(store_key_get(f->st, b.id, &got), STORE_OK);
	assert_string_equal(got.hash, "bbbb");

	assert_int_equal(store_key_by_hash(f->st, "zzzz", &got),
			 STORE_NOTFOUND);
	assert_int_equal(store_key_by_name(f->st, "gamma", &got),
			 STORE_NOTFOUND);
	assert_int_equal(store_key_get(f->st, 9999, &got), STORE_NOTFOUND);

	memset(seen, 0, sizeof seen);
	assert_int_equal(store_key_list(f->st, key_list_cb, seen), STORE_OK);
	assert_int_equal(seen[0].id, a.id);
	assert_int_equal(seen[1].id, b.id);
	assert_int_equal(seen[2].id, 0);
	/* A callback may stop the listing early; that is not an error. */
	assert_int_equal(store_key_list(f->st, stop_after_one, &calls),
			 STORE_OK);
	assert_int_equal(calls, 1);
}

static void test_key_conflicts(void **state)
{
	fixture *f = *state;
	store_key a = key_of("alpha", "aaaa");
	store_key same_name = key_of("alpha", "cccc");
	store_key same_hash = key_of("other", "aaaa");

	assert_int_equal(store_key_insert(f->st, &a), STORE_OK);
	assert_int_equal(store_key_insert(f->st, &same_name), STORE_CONFLICT);
	assert_int_equal(store_key_insert(f->st, &same_hash), STORE_CONFLICT);
}

static void test_key_revoke(void **state)
{
	fixture *f = *state;
	store_key a = key_of("alpha", "aaaa");
	store_key again = key_of("alpha", "dddd");
	store_key same_hash = key_of("alpha2", "aaaa");
	store_key got;

	assert_int_equal(store_key_insert(f->st, &a), STORE_OK);
	assert_int_equal(store_key_revoke(f->st, a.id, 2000), STORE_OK);
	/* A revoked key no longer authenticates, nor is found by name. */
	assert_int_equal(store_key_by_hash(f->st, "aaaa", &got),
			 STORE_NOTFOUND);
	assert_int_equal(store_key_by_name(f->st, "alpha", &got),
			 STORE_NOTFOUND);
	/* It is still there by id, with the time it was revoked. */
	assert_int_equal(store_key_get(f->st, a.id, &got), STORE_OK);
	assert_int_equal(got.revoked_ms, 2000);
	/* Revoking twice, or a key that never was, is NOTFOUND. */
	assert_int_equal(store_key_revoke(f->st, a.id, 3000), STORE_NOTFOUND);
	assert_int_equal(store_key_get(f->st, a.id, &got), STORE_OK);
	assert_int_equal(got.revoked_ms, 2000);
	assert_int_equal(store_key_revoke(f->st, 424242, 3000),
			 STORE_NOTFOUND);

	/* The name (and hash) are free again for a new live key. */
	assert_int_equal(store_key_insert(f->st, &again), STORE_OK);
	assert_true(again.id != a.id);
	assert_int_equal(store_key_by_name(f->st, "alpha", &got), STORE_OK);
	assert_int_equal(got.id, again.id);
	assert_string_equal(got.hash, "dddd");
	assert_int_equal(store_key_insert(f->st, &same_hash), STORE_OK);
	assert_int_equal(store_key_by_hash(f->st, "aaaa", &got), STORE_OK);
	assert_int_equal(got.id, same_hash.id);
}

/* SDK keys keep their origins; a preflight asks whether any live SDK key
 * lists an origin, whole entries only. */
static void test_sdk_key_origins(void **state)
{
	fixture *f = *state;
	store_key web = key_of("web", "eeee"), rest = key_of("rest", "ffff");
	store_key got;

	web.scopes = 0;
	web.sdk = 1;
	snprintf(web.origins, sizeof web.origins, "%s",
		 "https://shop.example http://127.0.0.1:8080");
	snprintf(rest.origins, sizeof rest.origins, "%s", "https://rest.example");
	assert_int_equal(store_key_insert(f->st, &web), STORE_OK);
	assert_int_equal(store_key_insert(f->st, &rest), STORE_OK);
	assert_int_equal(store_key_by_hash(f->st, "eeee", &got), STORE_OK);
	assert_int_equal(got.sdk, 1);
	assert_string_equal(got.origins, web.origins);
	assert_int_equal(store_key_get(f->st, rest.id, &got), STORE_OK);
	assert_int_equal(got.sdk, 0);
	assert_int_equal(store_key_origin_known(f->st, "https://shop.example"),
			 STORE_OK);
	assert_int_equal(store_key_origin_known(f->st, "http://127.0.0.1:8080"),
			 STORE_OK);
	assert_int_equal(store_key_origin_known(f->st, "https://shop.exampl"),
			 STORE_NOTFOUND);
	assert_int_equal(store_key_origin_known(f->st, "http://127.0.0.1"),
			 STORE_NOTFOUND);
	assert_int_equal(store_key_origin_known(f->st, "https://shop.example "
						"http://127.0.0.1:8080"),
			 STORE_NOTFOUND);
	assert_int_equal(store_key_origin_known(f->st, "%"), STORE_NOTFOUND);
	assert_int_equal(store_key_origin_known(f->st, ""), STORE_NOTFOUND);
	/* Only SDK keys count, and only live ones. */
	assert_int_equal(store_key_origin_known(f->st, "https://rest.example"),
			 STORE_NOTFOUND);
	assert_int_equal(store_key_revoke(f->st, web.id, 2000), STORE_OK);
	assert_int_equal(store_key_origin_known(f->st, "https://shop.example"),
			 STORE_NOTFOUND);
}

/* ---- PostgreSQL: live keys kept in memory (pg_keys.c) ---- */

#define KEY_WAIT_MS 10000 /* for the listener, on a loaded machine */
#define KEY_TTL_MS 5000   /* pg_keys.c's PG_KEYS_TTL_MS */

static int64_t now_ms(void)
{
	return clock_mono_us() / 1000;
}

static void pg_ok(const char *url, const char *sql)
{
	PGresult *r = pg_exec(url, sql);

	assert_true(PQresultStatus(r) == PGRES_COMMAND_OK ||
		    PQresultStatus(r) == PGRES_TUPLES_OK);
	PQclear(r);
}

static store_key key_kept(fixture *f, const char *name, const char *hash)
{
	store_key k = key_of(name, hash), got;
	uint64_t gen;

	assert_int_equal(store_key_insert(f->st, &k), STORE_OK);
	for (int i = 0; i < KEY_WAIT_MS / 10; i++) {
		assert_int_equal(store_key_by_hash(f->st, hash, &got), STORE_OK);
		if (pg__keys_find(pg__keys(f->st), hash, &got, &gen))
			return k;
		usleep(10000);
	}
	fail_msg("key %s never kept", hash);
	return k;
}

/* Revoked by hand with the trigger off: nobody is told. */
static void revoke_untold(fixture *f, const char *hash)
{
	char sql[256];

	snprintf(sql, sizeof sql, "BEGIN; ALTER TABLE api_keys DISABLE "
		 "TRIGGER api_keys_changed; UPDATE api_keys SET revoked_ms = 1 "
		 "WHERE key_hash = '%s'; ALTER TABLE api_keys ENABLE TRIGGER "
		 "api_keys_changed; COMMIT", hash);
	pg_ok(f->path, sql);
}

/* How long after `since` the key stopped being found (ms), or -1. */
static int64_t gone_after(fixture *f, const char *hash, int64_t since)
{
	store_key got;

	for (int i = 0; i < KEY_WAIT_MS / 5; i++) {
		store_err e = store_key_by_hash(f->st, hash, &got);
		if (e == STORE_NOTFOUND)
			return now_ms() - since;
		assert_int_equal(e, STORE_OK);
		usleep(5000);
	}
	return -1;
}

static long long listener_pid(fixture *f)
{
	return sql_int(f->path, "SELECT coalesce(max(pid), 0) FROM "
		       "pg_stat_activity WHERE application_name = 'optd-keys' "
		       "AND datname = current_database()");
}

/* A key found is kept: a revocation nobody is told of shows only when
 * the entry's time is up. */
static void test_pg_key_cache_ttl(void **state)
{
	fixture *f = *state;
	store_key got;
	int64_t t0, gone;

	if (!pg_admin)
		skip();
	key_kept(f, "k1", "k1k1");
	t0 = now_ms();
	revoke_untold(f, "k1k1");
	assert_int_equal(store_key_by_hash(f->st, "k1k1", &got), STORE_OK);
	gone = gone_after(f, "k1k1", t0);
	assert_true(gone >= 0 && gone <= KEY_TTL_MS + 1000);
}

/* Any other connection's change to api_keys reaches the cache at once
 * (long before the entry's time is up); so does the end of the listener's
 * connection. */
static void test_pg_key_cache_told(void **state)
{
	fixture *f = *state;
	long long pid;
	store_key got;
	int64_t t0;

	if (!pg_admin)
		skip();
	key_kept(f, "k2", "k2k2");
	t0 = now_ms();
	pg_ok(f->path, "UPDATE api_keys SET revoked_ms = 2 "
		       "WHERE key_hash = 'k2k2'");
	assert_in_range(gone_after(f, "k2k2", t0), 0, KEY_TTL_MS - 1000);
	key_kept(f, "k3", "k3k3");
	t0 = now_ms();
	pg_ok(f->path, "DELETE FROM api_keys WHERE key_hash = 'k3k3'");
	assert_in_range(gone_after(f, "k3k3", t0), 0, KEY_TTL_MS - 1000);

	/* The listener's connection ends: once it is back, nothing it might
	 * have missed is served from memory. */
	key_kept(f, "k4", "k4k4");
	pid = listener_pid(f);
	assert_true(pid > 0);
	pg_ok(f->path, "SELECT pg_terminate_backend(pid) FROM "
		       "pg_stat_activity WHERE application_name = 'optd-keys' "
		       "AND datname = current_database()");
	for (int i = 0; i < KEY_WAIT_MS / 10; i++) {
		long long now = listener_pid(f);
		if (now > 0 && now != pid)
			break;
		usleep(10000);
	}
	assert_true(listener_pid(f) != pid);
	revoke_untold(f, "k4k4");
	assert_int_equal(store_key_by_hash(f->st, "k4k4", &got),
			 STORE_NOTFOUND);
}

/* This process's own revocation empties the cache when it commits,
 * without waiting to be told; a rolled back one changes nothing. */
static void test_pg_key_cache_own_revoke(void **state)
{
	fixture *f = *state;
	store_key k5, k6, got;

	if (!pg_admin)
		skip();
	k5 = key_kept(f, "k5", "k5k5");
	k6 = key_kept(f, "k6", "k6k6");
	pg_ok(f->path, "ALTER TABLE api_keys DISABLE TRIGGER api_keys_changed");
	assert_int_equal(store_begin(f->st), STORE_OK);
	assert_int_equal(store_key_revoke(f->st, k5.id, 2000), STORE_OK);
	store_rollback(f->st);
	assert_int_equal(store_key_by_hash(f->st, "k5k5", &got), STORE_OK);
	assert_int_equal(store_begin(f->st), STORE_OK);
	assert_int_equal(store_key_revoke(f->st, k5.id, 2000), STORE_OK);
	assert_int_equal(store_commit(f->st), STORE_OK);
	assert_int_equal(store_key_by_hash(f->st, "k5k5", &got),
			 STORE_NOTFOUND);
	assert_int_equal(store_key_revoke(f->st, k6.id, 2000), STORE_OK);
	assert_int_equal(store_key_by_hash(f->st, "k6k6", &got),
			 STORE_NOTFOUND);
	pg_ok(f->path, "ALTER TABLE api_keys ENABLE TRIGGER api_keys_changed");
}

/* ---- groups and numbers ---- */

static store_group group_of(const char *id, consent_channel ch, int64_t t)
{
	store_group g;

	memset(&g, 0, sizeof g);
	snprintf(g.id, sizeof g.id, "%s", id);
	snprintf(g.name, sizeof g.name, "Group %s", id);
	g.channel = ch;
	g.created_ms = g.updated_ms = t;
	return g;
}

static int group_list_cb(void *ctx, const store_group *g)
{
	char *out = ctx;

	strcat(out, g->id);
	strcat(out, ",");
	return 0;
}

/* What a transaction read of its groups holds while the id stays. */
static void test_tx_id(void **state)
{
	fixture *f = *state;
	store_group g = group_of("g", CHANNEL_SMS, 30);
	uint64_t a, b;

	assert_true(store_tx_id(f->st) == 0); /* no transaction */
	assert_int_equal(store_begin(f->st), STORE_OK);
	a = store_tx_id(f->st);
	assert_true(a != 0);
	assert_int_equal(store_group_get(f->st, "g", &g), STORE_NOTFOUND);
	assert_true(store_tx_id(f->st) == a); /* reads change nothing */
	assert_int_equal(store_group_insert(f->st, &g), STORE_OK);
	b = store_tx_id(f->st);
	assert_true(b != 0 && b != a);
	assert_int_equal(store_number_add(f->st, "+15550001111", "g"),
			 STORE_OK);
	assert_true(store_tx_id(f->st) != b);
	assert_int_equal(store_commit(f->st), STORE_OK);
	assert_true(store_tx_id(f->st) == 0);
	assert_int_equal(store_begin(f->st), STORE_OK);
	assert_true(store_tx_id(f->st) != 0 && store_tx_id(f->st) != b);
	store_rollback(f->st);
	assert_true(store_tx_id(f->st) == 0);
}

static void test_groups(void **state)
{
	fixture *f = *state;
	store_group sms = group_of("sms", CHANNEL_SMS, 30);
	store_group mail = group_of("mail", CHANNEL_EMAIL, 10);
	store_group b = group_of("b", CHANNEL_SMS, 30);
	store_group got;
	char order[128] = "";

	sms.double_opt_in = 1;
	assert_int_equal(store_group_insert(f->st, &sms), STORE_OK);
	assert_int_equal(store_group_insert(f->st, &mail), STORE_OK);
	assert_int_equal(store_group_insert(f->st, &b), STORE_OK);
	assert_int_equal(store_group_insert(f->st, &sms), STORE_CONFLICT);

	assert_int_equal(store_group_get(f->st, "sms", &got), STORE_OK);
	assert_string_equal(got.name, "Group sms");
	assert_int_equal(got.channel, CHANNEL_SMS);
	assert_int_equal(got.double_opt_in, 1);
	assert_int_equal(got.created_ms, 30);
	assert_int_equal(store_group_get(f->st, "mail", &got), STORE_OK);
	assert_int_equal(got.channel, CHANNEL_EMAIL);
	assert_int_equal(got.double_opt_in, 0);
	assert_int_equal(store_group_get(f->st, "nope", &got), STORE_NOTFOUND);
	/* Ids are exact, not case-folded. */
	assert_int_equal(store_group_get(f->st, "SMS", &got), STORE_NOTFOUND);

	/* Oldest first, then by id. */
	assert_int_equal(store_group_list(f->st, group_list_cb, order),
			 STORE_OK);
	assert_string_equal(order, "mail,b,sms,");

	sms.double_opt_in = 0;
	snprintf(sms.name, sizeof sms.name, "Renamed");
	sms.updated_ms = 99;
	sms.channel = CHANNEL_EMAIL; /* the channel never changes */
	assert_int_equal(store_group_update(f->st, &sms), STORE_OK);
	assert_int_equal(store_group_get(f->st, "sms", &got), STORE_OK);
	assert_string_equal(got.name, "Renamed");
	assert_int_equal(got.double_opt_in, 0);
	assert_int_equal(got.updated_ms, 99);
	assert_int_equal(got.created_ms, 30);
	assert_int_equal(got.channel, CHANNEL_SMS);
	store_group ghost = group_of("ghost", CHANNEL_SMS, 1);
	assert_int_equal(store_group_update(f->st, &ghost), STORE_NOTFOUND);
}

static int number_list_cb(void *ctx, const char *number)
{
	char *out = ctx;

	strcat(out, number);
	strcat(out, ",");
	return 0;
}

static void test_numbers(void **state)
{
	fixture *f = *state;
	store_group a = group_of("a", CHANNEL_SMS, 1);
	store_group b = group_of("b", CHANNEL_SMS, 2);
	char owner[IDENT_GROUP_ID_MAX + 1];
	char list[256] = "";

	assert_int_equal(store_group_insert(f->st, &a), STORE_OK);
	assert_int_equal(store_group_insert(f->st, &b), STORE_OK);
	assert_int_equal(store_number_add(f->st, "+15550000003", "a"),
			 STORE_OK);
	assert_int_equal(store_number_add(f->st, "+15550000001", "a"),
			 STORE_OK);
	assert_int_equal(store_number_add(f->st, "12345", "b"), STORE_OK);

	/* A sending number belongs to one group only. */
	assert_int_equal(store_number_add(f->st, "+15550000001", "b"),
			 STORE_CONFLICT);
	assert_int_equal(store_number_add(f->st, "+15550000001", "a"),
			 STORE_CONFLICT);
	/* Not to a group that does not exist. */
	assert_int_equal(store_number_add(f->st, "+15550000009", "ghost"),
			 STORE_INVALID);

	assert_int_equal(store_number_owner(f->st, "+15550000001", owner),
			 STORE_OK);
	assert_string_equal(owner, "a");
	assert_int_equal(store_number_owner(f->st, "12345", owner), STORE_OK);
	assert_string_equal(owner, "b");
	assert_int_equal(store_number_owner(f->st, "+15550000009", owner),
			 STORE_NOTFOUND);

	assert_int_equal(store_group_numbers(f->st, "a", number_list_cb, list),
			 STORE_OK);
	assert_string_equal(list, "+15550000001,+15550000003,");

	assert_int_equal(store_numbers_clear(f->st, "a"), STORE_OK);
	list[0] = '\0';
	assert_int_equal(store_group_numbers(f->st, "a", number_list_cb, list),
			 STORE_OK);
	assert_string_equal(list, "");
	assert_int_equal(store_number_owner(f->st, "+15550000001", owner),
			 STORE_NOTFOUND);
	/* Only a's numbers went, and a freed number may move. */
	assert_int_equal(store_number_owner(f->st, "12345", owner), STORE_OK);
	assert_int_equal(store_number_add(f->st, "+15550000001", "b"),
			 STORE_OK);
}

/* ---- users ---- */

static store_user user_of(const char *ext, const char *phone,
			  const char *email, int64_t t)
{
	store_user u;

	memset(&u, 0, sizeof u);
	snprintf(u.external_id, sizeof u.external_id, "%s", ext);
	snprintf(u.phone, sizeof u.phone, "%s", phone);
	snprintf(u.email, sizeof u.email, "%s", email);
	if (phone[0]) {
		u.phone_valid = 1;
		snprintf(u.phone_type, sizeof u.phone_type, "mobile");
	}
	u.created_ms = u.updated_ms = t;
	return u;
}

static void test_users(void **state)
{
	fixture *f = *state;
	store_user u1 = user_of("u1", "+12223334444", "", 1);
	store_user u2 = user_of("", "+12223334444", "", 2); /* anonymous */
	store_user u3 = user_of("", "", "a@example.com", 3);
	store_user u4 = user_of("u4", "+12223334444", "a@example.com", 4);
	store_user dup = user_of("u1", "", "", 5);
	store_user got;
	int64_t ids[8];
	size_t n = 99;

	assert_int_equal(store_user_insert(f->st, &u1), STORE_OK);
	assert_int_equal(store_user_insert(f->st, &u2), STORE_OK);
	assert_int_equal(store_user_insert(f->st, &u3), STORE_OK);
	assert_int_equal(store_user_insert(f->st, &u4), STORE_OK);
	assert_true(u1.id > 0 && u2.id > u1.id && u3.id > u2.id &&
		    u4.id > u3.id);
	/* external_id is unique; anonymous profiles are not limited. */
	assert_int_equal(store_user_insert(f->st, &dup), STORE_CONFLICT);

	assert_int_equal(store_user_by_external_id(f->st, "u1", &got),
			 STORE_OK);
	assert_int_equal(got.id, u1.id);
	assert_string_equal(got.phone, "+12223334444");
	assert_int_equal(got.phone_valid, 1);
	assert_string_equal(got.phone_type, "mobile");
	assert_string_equal(got.email, "");
	assert_int_equal(got.created_ms, 1);
	assert_int_equal(store_user_by_external_id(f->st, "nobody", &got),
			 STORE_NOTFOUND);
	/* "" is how anonymous is written, never a lookup key. */
	assert_int_equal(store_user_by_external_id(f->st, "", &got),
			 STORE_NOTFOUND);

	assert_int_equal(store_user_get(f->st, u2.id, &got), STORE_OK);
	assert_string_equal(got.external_id, "");
	assert_string_equal(got.phone, "+12223334444");
	assert_int_equal(store_user_get(f->st, 123456, &got), STORE_NOTFOUND);

	/* Oldest first, and never more than asked. */
	assert_int_equal(store_users_by_phone(f->st, "+12223334444", ids, 8,
					      &n), STORE_OK);
	assert_int_equal(n, 3);
	assert_int_equal(ids[0], u1.id);
	assert_int_equal(ids[1], u2.id);
	assert_int_equal(ids[2], u4.id);
	assert_int_equal(store_users_by_phone(f->st, "+12223334444", ids, 2,
					      &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(ids[1], u2.id);
	assert_int_equal(store_users_by_phone(f->st, "+19999999999", ids, 8,
					      &n), STORE_OK);
	assert_int_equal(n, 0);
	/* "" means "no phone": it must not match every phoneless user. */
	assert_int_equal(store_users_by_phone(f->st, "", ids, 8, &n),
			 STORE_OK);
	assert_int_equal(n, 0);

	assert_int_equal(store_users_by_email(f->st, "a@example.com", ids, 8,
					      &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], u3.id);
	assert_int_equal(ids[1], u4.id);
	assert_int_equal(store_users_by_email(f->st, "A@example.com", ids, 8,
					      &n), STORE_OK);
	assert_int_equal(n, 0);
}

static void test_user_update_contact(void **state)
{
	fixture *f = *state;
	store_user u = user_of("u", "+12223334444", "", 1);
	store_user got;
	int64_t ids[4];
	size_t n;

	assert_int_equal(store_user_insert(f->st, &u), STORE_OK);
	snprintf(u.phone, sizeof u.phone, "+16502530000");
	u.phone_valid = 0;
	snprintf(u.phone_type, sizeof u.phone_type, "fixed_line");
	snprintf(u.email, sizeof u.email, "u@example.com");
	u.updated_ms = 50;
	snprintf(u.external_id, sizeof u.external_id, "ignored");
	assert_int_equal(store_user_update_contact(f->st, &u), STORE_OK);
	assert_int_equal(store_user_get(f->st, u.id, &got), STORE_OK);
	assert_string_equal(got.phone, "+16502530000");
	assert_int_equal(got.phone_valid, 0);
	assert_string_equal(got.phone_type, "fixed_line");
	assert_string_equal(got.email, "u@example.com");
	assert_int_equal(got.updated_ms, 50);
	assert_int_equal(got.created_ms, 1);
	/* Only the contact fields change. */
	assert_string_equal(got.external_id, "u");
	assert_int_equal(store_users_by_phone(f->st, "+12223334444", ids, 4,
					      &n), STORE_OK);
	assert_int_equal(n, 0);
	/* Clearing with "" removes the phone from the index too. */
	u.phone[0] = '\0';
	assert_int_equal(store_user_update_contact(f->st, &u), STORE_OK);
	assert_int_equal(store_users_by_phone(f->st, "+16502530000", ids, 4,
					      &n), STORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_user_get(f->st, u.id, &got), STORE_OK);
	assert_string_equal(got.phone, "");
}

/* Inside a transaction a new profile is seen at once by every lookup,
 * before and after more of its kind (PostgreSQL buffers new rows and
 * sends them in bulk; reads must not notice), and the limit and the
 * order of a shared phone hold across rows sent and rows still waiting. */
static void test_users_within_transaction(void **state)
{
	fixture *f = *state;
	store_user u[40], got;
	int64_t ids[8];
	size_t n;

	assert_int_equal(store_begin(f->st), STORE_OK);
	for (int i = 0; i < 40; i++) {
		char ext[16];
		snprintf(ext, sizeof ext, "tx-%d", i);
		u[i] = user_of(ext, i % 2 ? "+12223334444" : "+16502530000",
			       "", 7);
		assert_int_equal(store_user_insert(f->st, &u[i]), STORE_OK);
		assert_true(i == 0 || u[i].id > u[i - 1].id);
		assert_int_equal(store_user_by_external_id(f->st, ext, &got),
				 STORE_OK);
		assert_int_equal(got.id, u[i].id);
		assert_int_equal(store_user_get(f->st, u[i].id, &got),
				 STORE_OK);
		assert_string_equal(got.external_id, ext);
		assert_int_equal(store_users_by_phone(f->st, u[i].phone, ids,
						      8, &n), STORE_OK);
		assert_int_equal(n, (size_t)(i / 2 + 1 < 8 ? i / 2 + 1 : 8));
		for (size_t k = 0; k < n; k++)
			assert_int_equal(ids[k], u[(i % 2) + 2 * k].id);
	}
	/* A contact change of a new profile is seen at once too. */
	snprintf(u[39].phone, sizeof u[39].phone, "+33612345678");
	assert_int_equal(store_user_update_contact(f->st, &u[39]), STORE_OK);
	assert_int_equal(store_users_by_phone(f->st, "+33612345678", ids, 8,
					      &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], u[39].id);
	assert_int_equal(store_commit(f->st), STORE_OK);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM users WHERE "
				 "external_id LIKE 'tx-%'"), 40);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM users WHERE "
				 "phone = '+33612345678'"), 1);
	/* And a rolled-back one is gone from every lookup. */
	assert_int_equal(store_begin(f->st), STORE_OK);
	got = user_of("tx-gone", "+14155550100", "", 8);
	assert_int_equal(store_user_insert(f->st, &got), STORE_OK);
	store_rollback(f->st);
	assert_int_equal(store_user_by_external_id(f->st, "tx-gone", &got),
			 STORE_NOTFOUND);
	assert_int_equal(store_users_by_phone(f->st, "+14155550100", ids, 8,
					      &n), STORE_OK);
	assert_int_equal(n, 0);
}

/* The same profile's state changed twice in one transaction, then read:
 * the last change wins and both ledger entries stay, in order. */
static void test_subs_within_transaction(void **state)
{
	fixture *f = *state;
	store_group g = group_of("tx-sub", CHANNEL_SMS, 1);
	store_user u = user_of("tx-s", "+12223334444", "", 1);
	store_ledger e;
	consent_state cs;

	assert_int_equal(store_group_insert(f->st, &g), STORE_OK);
	assert_int_equal(store_begin(f->st), STORE_OK);
	assert_int_equal(store_user_insert(f->st, &u), STORE_OK);
	for (int i = 0; i < 3; i++) {
		consent_state to = i % 2 ? CONSENT_UNSUBSCRIBED
					 : CONSENT_SUBSCRIBED;
		assert_int_equal(store_sub_put(f->st, u.id, "tx-sub", to,
					       CONSENT_SRC_API, 0, 10 + i),
				 STORE_OK);
		memset(&e, 0, sizeof e);
		e.time_ms = 10 + i;
		e.user_id = u.id;
		snprintf(e.phone, sizeof e.phone, "%s", u.phone);
		snprintf(e.group_id, sizeof e.group_id, "tx-sub");
		e.new_state = to;
		assert_int_equal(store_ledger_append(f->st, &e), STORE_OK);
	}
	assert_int_equal(store_sub_get(f->st, u.id, "tx-sub", &cs, NULL),
			 STORE_OK);
	assert_int_equal(cs, CONSENT_SUBSCRIBED);
	assert_int_equal(store_sub_put(f->st, u.id, "tx-sub",
				       CONSENT_UNSUBSCRIBED, CONSENT_SRC_API,
				       0, 20), STORE_OK);
	assert_int_equal(store_commit(f->st), STORE_OK);
	assert_int_equal(store_sub_get(f->st, u.id, "tx-sub", &cs, NULL),
			 STORE_OK);
	assert_int_equal(cs, CONSENT_UNSUBSCRIBED);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM "
				 "consent_ledger WHERE group_id = 'tx-sub'"),
			 3);
	assert_int_equal(sql_int(f->path, "SELECT max(id) - min(id) FROM "
				 "consent_ledger WHERE group_id = 'tx-sub' "
				 "AND time_ms IN (10, 12)"), 2);
	/* A subscription to a group that does not exist breaks a rule,
	 * at the latest when the transaction is flushed. */
	assert_int_equal(store_begin(f->st), STORE_OK);
	store_err e1 = store_sub_put(f->st, u.id, "no-such-group",
				     CONSENT_SUBSCRIBED, CONSENT_SRC_API, 0, 30);
	store_err e2 = e1 ? e1 : store_flush(f->st);
	assert_int_equal(e2, STORE_INVALID);
	store_rollback(f->st);
	assert_int_equal(store_ping(f->st), STORE_OK);
}

/* Lookups announced and fetched ahead (store_want_user, store_prefetch)
 * answer as the database would at the time they are made: they see the
 * transaction's own writes after the fetch, and nothing of a transaction
 * that ended. */
static void test_prefetch(void **state)
{
	fixture *f = *state;
	store_group g = group_of("pf", CHANNEL_SMS, 1);
	store_user a = user_of("pf-a", "+12223334444", "a@example.com", 1);
	store_user b = user_of("", "+12223334444", "", 2), c, got;
	int64_t ids[8];
	consent_state cs;
	int64_t since;
	size_t n;

	assert_int_equal(store_group_insert(f->st, &g), STORE_OK);
	assert_int_equal(store_user_insert(f->st, &a), STORE_OK);
	assert_int_equal(store_sub_put(f->st, a.id, "pf", CONSENT_SUBSCRIBED,
				       CONSENT_SRC_API, 0, 5), STORE_OK);
	assert_int_equal(store_begin(f->st), STORE_OK);
	store_want_user(f->st, STORE_BY_PHONE, a.phone, "pf");
	store_want_user(f->st, STORE_BY_EMAIL, a.email, NULL);
	store_want_user(f->st, STORE_BY_EXTERNAL_ID, "pf-a", "pf");
	store_want_user(f->st, STORE_BY_EXTERNAL_ID, "pf-new", "pf");
	store_want_user(f->st, STORE_BY_PHONE, "+33612345678", "pf");
	store_want_user(f->st, STORE_BY_EXTERNAL_ID, "", "pf");
	assert_int_equal(store_prefetch(f->st), STORE_OK);
	assert_int_equal(store_users_by_phone(f->st, a.phone, ids, 8, &n),
			 STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], a.id);
	assert_int_equal(store_users_by_email(f->st, a.email, ids, 8, &n),
			 STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_user_get(f->st, a.id, &got), STORE_OK);
	assert_string_equal(got.external_id, "pf-a");
	assert_int_equal(store_user_by_external_id(f->st, "pf-new", &got),
			 STORE_NOTFOUND);
	assert_int_equal(store_user_by_external_id(f->st, "", &got),
			 STORE_NOTFOUND);
	assert_int_equal(store_sub_get(f->st, a.id, "pf", &cs, &since),
			 STORE_OK);
	assert_int_equal(cs, CONSENT_SUBSCRIBED);
	assert_int_equal(since, 5);
	/* The transaction's own writes, each seen by the next lookup. */
	assert_int_equal(store_sub_put(f->st, a.id, "pf", CONSENT_UNSUBSCRIBED,
				       CONSENT_SRC_API, 0, 6), STORE_OK);
	assert_int_equal(store_sub_get(f->st, a.id, "pf", &cs, &since),
			 STORE_OK);
	assert_int_equal(cs, CONSENT_UNSUBSCRIBED);
	assert_int_equal(since, 6);
	assert_int_equal(store_user_insert(f->st, &b), STORE_OK);
	assert_int_equal(store_users_by_phone(f->st, a.phone, ids, 8, &n),
			 STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(ids[1], b.id);
	c = user_of("pf-new", "", "", 3);
	assert_int_equal(store_user_insert(f->st, &c), STORE_OK);
	assert_int_equal(store_user_by_external_id(f->st, "pf-new", &got),
			 STORE_OK);
	assert_int_equal(got.id, c.id);
	snprintf(a.phone, sizeof a.phone, "+33612345678");
	a.updated_ms = 9;
	assert_int_equal(store_user_update_contact(f->st, &a), STORE_OK);
	assert_int_equal(store_users_by_phone(f->st, "+12223334444", ids, 8,
					      &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], b.id);
	assert_int_equal(store_users_by_phone(f->st, "+33612345678", ids, 8,
					      &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], a.id);
	assert_int_equal(store_user_get(f->st, a.id, &got), STORE_OK);
	assert_string_equal(got.phone, "+33612345678");
	assert_int_equal(got.updated_ms, 9);
	assert_int_equal(store_user_by_external_id(f->st, "pf-a", &got),
			 STORE_OK);
	assert_string_equal(got.phone, "+33612345678");
	assert_int_equal(store_user_attrs_set(f->st, a.id, "{}", 11),
			 STORE_OK);
	assert_int_equal(store_user_get(f->st, a.id, &got), STORE_OK);
	assert_int_equal(got.updated_ms, 11);
	/* Announcing again after the fetch works too. */
	store_want_user(f->st, STORE_BY_PHONE, "+33612345678", "pf");
	assert_int_equal(store_prefetch(f->st), STORE_OK);
	assert_int_equal(store_sub_get(f->st, a.id, "pf", &cs, NULL),
			 STORE_OK);
	assert_int_equal(cs, CONSENT_UNSUBSCRIBED);
	store_rollback(f->st);
	/* Nothing fetched outlives its transaction. */
	assert_int_equal(store_begin(f->st), STORE_OK);
	assert_int_equal(store_user_by_external_id(f->st, "pf-new", &got),
			 STORE_NOTFOUND);
	assert_int_equal(store_users_by_phone(f->st, "+12223334444", ids, 8,
					      &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], a.id);
	assert_int_equal(store_sub_get(f->st, a.id, "pf", &cs, NULL),
			 STORE_OK);
	assert_int_equal(cs, CONSENT_SUBSCRIBED);
	assert_int_equal(store_commit(f->st), STORE_OK);
	/* Many keys (more than one statement's worth), and values that
	 * need quoting. */
	c = user_of("q\"u\\o'te,{x}", "+16505550299", "", 4);
	assert_int_equal(store_user_insert(f->st, &c), STORE_OK);
	assert_int_equal(store_begin(f->st), STORE_OK);
	for (int i = 0; i < 600; i++) {
		char phone[32];
		snprintf(phone, sizeof phone, "+1650555%04d", i);
		store_want_user(f->st, STORE_BY_PHONE, phone, "pf");
	}
	store_want_user(f->st, STORE_BY_EXTERNAL_ID, c.external_id, "pf");
	assert_int_equal(store_prefetch(f->st), STORE_OK);
	for (int i = 0; i < 600; i++) {
		char phone[32];
		snprintf(phone, sizeof phone, "+1650555%04d", i);
		assert_int_equal(store_users_by_phone(f->st, phone, ids, 8, &n),
				 STORE_OK);
		assert_int_equal(n, i == 299);
	}
	assert_int_equal(store_user_by_external_id(f->st, c.external_id,
						   &got), STORE_OK);
	assert_int_equal(got.id, c.id);
	assert_int_equal(store_commit(f->st), STORE_OK);
}

/* Long fields at their limits round-trip whole. */
static void test_user_limits(void **state)
{
	fixture *f = *state;
	store_user u, got;

	memset(&u, 0, sizeof u);
	memset(u.external_id, 'e', IDENT_EXTERNAL_ID_MAX);
	memset(u.email, 'm', IDENT_EMAIL_MAX - 12);
	memcpy(u.email + IDENT_EMAIL_MAX - 12, "@example.com", 12);
	assert_int_equal(store_user_insert(f->st, &u), STORE_OK);
	assert_int_equal(store_user_by_external_id(f->st, u.external_id,
						   &got), STORE_OK);
	assert_int_equal(strlen(got.external_id), IDENT_EXTERNAL_ID_MAX);
	assert_string_equal(got.external_id, u.external_id);
	assert_int_equal(strlen(got.email), IDENT_EMAIL_MAX);
	assert_string_equal(got.email, u.email);
}

/* ---- subscriptions ---- */

static int sub_list_cb(void *ctx, const store_sub *s)
{
	store_sub *seen = ctx;

	for (int i = 0; i < 8; i++) {
		if (!seen[i].group_id[0]) {
			seen[i] = *s;
			return 0;
		}
	}
	return 1;
}

static void test_subscriptions(void **state)
{
	fixture *f = *state;
	store_group sms = group_of("zz-sms", CHANNEL_SMS, 1);
	store_group mail = group_of("aa-mail", CHANNEL_EMAIL, 2);
	store_user u = user_of("u", "+12223334444", "", 1);
	store_user other = user_of("o", "", "", 1);
	consent_state cs = CONSENT_SUBSCRIBED;
	int64_t since = -1;
	store_sub seen[8];

	assert_int_equal(store_group_insert(f->st, &sms), STORE_OK);
	assert_int_equal(store_group_insert(f->st, &mail), STORE_OK);
	assert_int_equal(store_user_insert(f->st, &u), STORE_OK);
	assert_int_equal(store_user_insert(f->st, &other), STORE_OK);

	/* Never set: UNKNOWN, and that is not an error. */
	assert_int_equal(store_sub_get(f->st, u.id, "zz-sms", &cs, &since),
			 STORE_OK);
	assert_int_equal(cs, CONSENT_UNKNOWN);
	assert_int_equal(since, 0);
	assert_int_equal(store_sub_get(f->st, u.id, "zz-sms", &cs, NULL),
			 STORE_OK);

	assert_int_equal(store_sub_put(f->st, u.id, "zz-sms",
				       CONSENT_SUBSCRIBED, CONSENT_SRC_API, 1,
				       100), STORE_OK);
	assert_int_equal(store_sub_get(f->st, u.id, "zz-sms", &cs, &since),
			 STORE_OK);
	assert_int_equal(cs, CONSENT_SUBSCRIBED);
	assert_int_equal(since, 100);
	/* A second put replaces the state and its time. */
	assert_int_equal(store_sub_put(f->st, u.id, "zz-sms",
				       CONSENT_UNSUBSCRIBED,
				       CONSENT_SRC_KEYWORD, 0, 200), STORE_OK);
	assert_int_equal(store_sub_get(f->st, u.id, "zz-sms", &cs, &since),
			 STORE_OK);
	assert_int_equal(cs, CONSENT_UNSUBSCRIBED);
	assert_int_equal(since, 200);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM "
				 "subscriptions"), 1);
	/* Another user's state is their own. */
	assert_int_equal(store_sub_get(f->st, other.id, "zz-sms", &cs, &since),
			 STORE_OK);
	assert_int_equal(cs, CONSENT_UNKNOWN);

	/* Rules of the schema: a real group, a settable state. */
	assert_int_equal(store_sub_put(f->st, u.id, "ghost",
				       CONSENT_SUBSCRIBED, CONSENT_SRC_API, 0,
				       300), STORE_INVALID);
	assert_int_equal(store_sub_put(f->st, u.id, "aa-mail",
				       CONSENT_UNKNOWN, CONSENT_SRC_API, 0,
				       300), STORE_INVALID);
	assert_int_equal(store_sub_put(f->st, 987654, "aa-mail",
				       CONSENT_SUBSCRIBED, CONSENT_SRC_API, 0,
				       300), STORE_INVALID);

	assert_int_equal(store_sub_put(f->st, u.id, "aa-mail",
				       CONSENT_SUBSCRIBED, CONSENT_SRC_FORM, 0,
				       400), STORE_OK);
	memset(seen, 0, sizeof seen);
	assert_int_equal(store_user_subs(f->st, u.id, sub_list_cb, seen),
			 STORE_OK);
	/* Ordered by group id, with each group's name and channel. */
	assert_string_equal(seen[0].group_id, "aa-mail");
	assert_string_equal(seen[0].group_name, "Group aa-mail");
	assert_int_equal(seen[0].channel, CHANNEL_EMAIL);
	assert_int_equal(seen[0].state, CONSENT_SUBSCRIBED);
	assert_int_equal(seen[0].since_ms, 400);
	assert_string_equal(seen[1].group_id, "zz-sms");
	assert_int_equal(seen[1].channel, CHANNEL_SMS);
	assert_int_equal(seen[1].state, CONSENT_UNSUBSCRIBED);
	assert_int_equal(seen[1].since_ms, 200);
	assert_string_equal(seen[2].group_id, "");

	memset(seen, 0, sizeof seen);
	assert_int_equal(store_user_subs(f->st, other.id, sub_list_cb, seen),
			 STORE_OK);
	assert_string_equal(seen[0].group_id, "");
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM subscriptions "
				 "WHERE source = 'form'"), 1);
}

/* ---- ledger ---- */

static store_ledger *entry(int64_t user, const char *ext, const char *phone,
			   const char *email, int64_t t)
{
	store_ledger *e = calloc(1, sizeof *e);

	assert_non_null(e);
	e->time_ms = t;
	e->user_id = user;
	snprintf(e->external_id, sizeof e->external_id, "%s", ext);
	snprintf(e->phone, sizeof e->phone, "%s", phone);
	snprintf(e->email, sizeof e->email, "%s", email);
	snprintf(e->group_id, sizeof e->group_id, "sms");
	e->old_state = CONSENT_UNKNOWN;
	e->new_state = CONSENT_SUBSCRIBED;
	e->source = CONSENT_SRC_KEYWORD;
	snprintf(e->key_name, sizeof e->key_name, "key-%lld", (long long)t);
	snprintf(e->request_id, sizeof e->request_id, "req-%lld",
		 (long long)t);
	snprintf(e->client_addr, sizeof e->client_addr, "192.0.2.%lld",
		 (long long)t % 250);
	snprintf(e->evidence, sizeof e->evidence, "{\"t\":%lld}",
		 (long long)t);
	return e;
}

static void append(store *st, store_ledger *e)
{
	assert_int_equal(store_ledger_append(st, e), STORE_OK);
	free(e);
}

typedef struct {
	int n;
	int64_t ids[64];
	int64_t times[64];
	store_ledger first;
	int stop_at; /* 0: never */
} ledger_seen;

static int ledger_cb(void *ctx, const store_ledger *e)
{
	ledger_seen *s = ctx;

	if (s->n == 0)
		s->first = *e;
	if (s->n < 64) {
		s->ids[s->n] = e->id;
		s->times[s->n] = e->time_ms;
	}
	s->n++;
	return s->stop_at && s->n >= s->stop_at;
}

static ledger_seen *find(store *st, store_by by, const char *v,
			 int64_t after, size_t limit)
{
	static ledger_seen s;

	memset(&s, 0, sizeof s);
	assert_int_equal(store_ledger_find(st, by, v, after, limit, ledger_cb,
					   &s), STORE_OK);
	return &s;
}

static void test_ledger(void **state)
{
	fixture *f = *state;
	ledger_seen *s;

	append(f->st, entry(1, "u1", "+12223334444", "", 10));
	append(f->st, entry(2, "", "+12223334444", "", 20));
	append(f->st, entry(3, "u3", "", "a@example.com", 30));
	append(f->st, entry(1, "u1", "+12223334444", "", 40));
	append(f->st, entry(4, "", "+16502530000", "", 50));
	append(f->st, entry(1, "u1", "", "", 60));

	s = find(f->st, STORE_BY_PHONE, "+12223334444", 0, 100);
	assert_int_equal(s->n, 3);
	assert_int_equal(s->times[0], 10);
	assert_int_equal(s->times[1], 20);
	assert_int_equal(s->times[2], 40);
	assert_true(s->ids[0] < s->ids[1] && s->ids[1] < s->ids[2]);
	/* Every field comes back as written. */
	assert_int_equal(s->first.user_id, 1);
	assert_string_equal(s->first.external_id, "u1");
	assert_string_equal(s->first.phone, "+12223334444");
	assert_string_equal(s->first.email, "");
	assert_string_equal(s->first.group_id, "sms");
	assert_int_equal(s->first.old_state, CONSENT_UNKNOWN);
	assert_int_equal(s->first.new_state, CONSENT_SUBSCRIBED);
	assert_int_equal(s->first.source, CONSENT_SRC_KEYWORD);
	assert_string_equal(s->first.key_name, "key-10");
	assert_string_equal(s->first.request_id, "req-10");
	assert_string_equal(s->first.client_addr, "192.0.2.10");
	assert_string_equal(s->first.evidence, "{\"t\":10}");

	s = find(f->st, STORE_BY_EMAIL, "a@example.com", 0, 100);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->first.user_id, 3);
	s = find(f->st, STORE_BY_EXTERNAL_ID, "u1", 0, 100);
	assert_int_equal(s->n, 3);
	assert_int_equal(s->times[2], 60);
	s = find(f->st, STORE_BY_EXTERNAL_ID, "nobody", 0, 100);
	assert_int_equal(s->n, 0);
	/* Empty fields are stored as absent, so "" finds nothing. */
	s = find(f->st, STORE_BY_EXTERNAL_ID, "", 0, 100);
	assert_int_equal(s->n, 0);
	s = find(f->st, STORE_BY_EMAIL, "", 0, 100);
	assert_int_equal(s->n, 0);
}

static void test_ledger_paging(void **state)
{
	fixture *f = *state;
	ledger_seen *s;
	int64_t all[20], after = 0;
	int got = 0;

	for (int i = 0; i < 20; i++) {
		append(f->st, entry(7, "pager", "", "", 100 + i));
		append(f->st, entry(8, "noise", "", "", 100 + i));
	}
	s = find(f->st, STORE_BY_EXTERNAL_ID, "pager", 0, 100);
	assert_int_equal(s->n, 20);
	memcpy(all, s->ids, sizeof all);

	/* Pages of 7 by after_id: 7, 7, 6, then nothing; none lost. */
	for (int page = 0; page < 5; page++) {
		s = find(f->st, STORE_BY_EXTERNAL_ID, "pager", after, 7);
		if (page < 2)
			assert_int_equal(s->n, 7);
		else if (page == 2)
			assert_int_equal(s->n, 6);
		else
			assert_int_equal(s->n, 0);
		for (int i = 0; i < s->n; i++) {
			assert_int_equal(s->ids[i], all[got]);
			assert_int_equal(s->times[i], 100 + got);
			got++;
		}
		if (s->n)
			after = s->ids[s->n - 1];
	}
	assert_int_equal(got, 20);

	/* after_id is exclusive. */
	s = find(f->st, STORE_BY_EXTERNAL_ID, "pager", all[4], 100);
	assert_int_equal(s->n, 15);
	assert_int_equal(s->ids[0], all[5]);
	/* limit 0 gives nothing; a limit of 1 gives the oldest. */
	s = find(f->st, STORE_BY_EXTERNAL_ID, "pager", 0, 0);
	assert_int_equal(s->n, 0);
	s = find(f->st, STORE_BY_EXTERNAL_ID, "pager", 0, 1);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->ids[0], all[0]);

	/* A callback may stop early. */
	static ledger_seen stop;
	memset(&stop, 0, sizeof stop);
	stop.stop_at = 3;
	assert_int_equal(store_ledger_find(f->st, STORE_BY_EXTERNAL_ID,
					   "pager", 0, 100, ledger_cb, &stop),
			 STORE_OK);
	assert_int_equal(stop.n, 3);

	/* An unknown lookup kind is refused. */
	assert_int_equal(store_ledger_find(f->st, (store_by)3, "pager", 0, 10,
					   ledger_cb, &stop), STORE_INVALID);
}

static void test_ledger_large_evidence(void **state)
{
	fixture *f = *state;
	store_ledger *e = entry(1, "big", "", "", 1);
	ledger_seen *s;

	e->evidence[0] = '"';
	memset(e->evidence + 1, 'v', STORE_EVIDENCE_MAX - 2);
	e->evidence[STORE_EVIDENCE_MAX - 1] = '"';
	e->evidence[STORE_EVIDENCE_MAX] = '\0';
	append(f->st, e);
	s = find(f->st, STORE_BY_EXTERNAL_ID, "big", 0, 10);
	assert_int_equal(s->n, 1);
	assert_int_equal(strlen(s->first.evidence), STORE_EVIDENCE_MAX);
}

/* The ledger is an audit trail: SQL itself refuses to edit it. */
static void test_ledger_append_only(void **state)
{
	fixture *f = *state;
	sqlite3 *db = NULL;
	char *msg = NULL;
	int rc;

	append(f->st, entry(1, "u1", "+12223334444", "", 10));
	append(f->st, entry(2, "u2", "", "", 20));
	if (pg_admin) {
		static const char *const edits[] = {
			"UPDATE consent_ledger SET new_state = 'unsubscribed'"
			" WHERE external_id = 'u1'",
			"UPDATE consent_ledger SET time_ms = 0",
			"DELETE FROM consent_ledger WHERE id = 1",
			"TRUNCATE consent_ledger",
		};
		for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
			PGresult *r = pg_exec(f->path, edits[i]);
			assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
			assert_non_null(strstr(PQresultErrorMessage(r),
					       "append-only"));
			PQclear(r);
		}
		rc = SQLITE_OK;
		(void)msg;
		(void)db;
		goto check;
	}
	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE,
					 NULL), SQLITE_OK);
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, 5000);

	rc = sqlite3_exec(db, "UPDATE consent_ledger SET new_state = "
			  "'unsubscribed' WHERE external_id = 'u1'",
			  NULL, NULL, &msg);
	assert_int_equal(rc, SQLITE_CONSTRAINT_TRIGGER);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "append-only"));
	sqlite3_free(msg);
	msg = NULL;

	rc = sqlite3_exec(db, "UPDATE consent_ledger SET time_ms = 0",
			  NULL, NULL, &msg);
	assert_int_equal(rc, SQLITE_CONSTRAINT_TRIGGER);
	sqlite3_free(msg);
	msg = NULL;

	rc = sqlite3_exec(db, "DELETE FROM consent_ledger WHERE id = 1",
			  NULL, NULL, &msg);
	assert_int_equal(rc, SQLITE_CONSTRAINT_TRIGGER);
	sqlite3_free(msg);
	msg = NULL;

	/* Not even inside a transaction that commits. */
	assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL),
			 SQLITE_OK);
	rc = sqlite3_exec(db, "UPDATE consent_ledger SET phone = NULL",
			  NULL, NULL, NULL);
	assert_int_equal(rc, SQLITE_CONSTRAINT_TRIGGER);
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
check:
	/* Nothing changed. */
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM "
				 "consent_ledger"), 2);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM "
				 "consent_ledger WHERE new_state = "
				 "'subscribed' AND time_ms > 0 AND (phone IS "
				 "NOT NULL OR external_id = 'u2')"), 2);
	/* Appending still works after the refused edits. */
	append(f->st, entry(3, "u3", "", "", 30));
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM "
				 "consent_ledger"), 3);
}

/* ---- transactions ---- */

static void test_transactions(void **state)
{
	fixture *f = *state;
	store_group g;

	/* A rolled-back transaction leaves nothing. */
	assert_int_equal(store_begin(f->st), STORE_OK);
	g = group_of("t-rolled", CHANNEL_SMS, 1);
	assert_int_equal(store_group_insert(f->st, &g), STORE_OK);
	store_rollback(f->st);
	assert_int_equal(store_group_get(f->st, "t-rolled", &g),
			 STORE_NOTFOUND);

	/* Savepoints: the rolled-back one alone is undone. */
	assert_int_equal(store_begin(f->st), STORE_OK);
	assert_int_equal(store_savepoint(f->st), STORE_OK);
	g = group_of("t-kept", CHANNEL_SMS, 1);
	assert_int_equal(store_group_insert(f->st, &g), STORE_OK);
	assert_int_equal(store_release(f->st), STORE_OK);
	assert_int_equal(store_savepoint(f->st), STORE_OK);
	g = group_of("t-undone", CHANNEL_SMS, 1);
	assert_int_equal(store_group_insert(f->st, &g), STORE_OK);
	store_rollback_to(f->st);
	/* The savepoint is gone after rollback_to: another can be taken. */
	assert_int_equal(store_savepoint(f->st), STORE_OK);
	g = group_of("t-third", CHANNEL_SMS, 1);
	assert_int_equal(store_group_insert(f->st, &g), STORE_OK);
	assert_int_equal(store_release(f->st), STORE_OK);
	assert_int_equal(store_commit(f->st), STORE_OK);

	assert_int_equal(store_group_get(f->st, "t-kept", &g), STORE_OK);
	assert_int_equal(store_group_get(f->st, "t-undone", &g),
			 STORE_NOTFOUND);
	assert_int_equal(store_group_get(f->st, "t-third", &g), STORE_OK);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM "
				 "subscription_groups"), 2);

	/* A committed write is in the file, seen by any other connection. */
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM "
				 "subscription_groups WHERE id = 't-kept'"),
			 1);
	/* Commit with no transaction is an error, not a success. */
	assert_int_not_equal(store_commit(f->st), STORE_OK);
}

/* Each thread has its own connection; writes are seen across them. */
static void *reader_main(void *arg)
{
	fixture *f = arg;
	store_group g;
	long ok = store_group_get(f->st, "from-main", &g) == STORE_OK &&
		  strcmp(g.name, "Group from-main") == 0;

	store_thread_done(f->st);
	return (void *)ok;
}

static void test_threads_share_data(void **state)
{
	fixture *f = *state;
	store_group g = group_of("from-main", CHANNEL_SMS, 1);
	pthread_t t;
	void *ok = NULL;

	assert_int_equal(store_group_insert(f->st, &g), STORE_OK);
	assert_int_equal(pthread_create(&t, NULL, reader_main, f), 0);
	assert_int_equal(pthread_join(t, &ok), 0);
	assert_true(ok == (void *)1);
	/* This thread's connection still works after another's was let go. */
	assert_int_equal(store_ping(f->st), STORE_OK);
}

/* ---- SMS: group settings, inbound messages, the outbox ---- */

/* A database at `version`, made by hand as an older optd left it, with
 * one group and one user in it; its URL or path in `out`. */
static void make_old_db(fixture *f, int version, char *out, size_t cap)
{
	static const char *const head =
		"CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,"
		" name TEXT NOT NULL, applied_ms BIGINT NOT NULL);";
	static const char *const tail =
		"INSERT INTO subscription_groups (id, name, channel,"
		" created_ms, updated_ms) VALUES ('old', 'Old', 'sms', 5, 5);"
		"INSERT INTO users (external_id, created_ms, updated_ms)"
		" VALUES ('old-user', 5, 5);";
	char *sql, rec[96];
	size_t n = strlen(head) + strlen(tail) + 1;

	if (pg_admin) {
		fixture other;

		assert_int_equal(pg_new_db(&other), 0);
		snprintf(out, cap, "%s", other.path);
	} else {
		snprintf(out, cap, "%s/v%d.db", f->dir, version);
	}
	for (int i = 0; i < version; i++)
		n += strlen(pg_admin ? pg_migrations[i].sql
				     : sqlite_migrations[i].sql) + sizeof rec;
	sql = calloc(1, n);
	assert_non_null(sql);
	strcat(sql, head);
	for (int i = 0; i < version; i++) {
		strcat(sql, pg_admin ? pg_migrations[i].sql
				     : sqlite_migrations[i].sql);
		snprintf(rec, sizeof rec, "INSERT INTO schema_migrations "
			 "VALUES (%d, '%s', 1);", i + 1,
			 pg_admin ? pg_migrations[i].name
				  : sqlite_migrations[i].name);
		strcat(sql, rec);
	}
	strcat(sql, tail);
	if (pg_admin) {
		PGresult *r = pg_exec(out, sql);
		assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
		PQclear(r);
	} else {
		sqlite3 *db = NULL;
		assert_int_equal(sqlite3_open(out, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL),
				 SQLITE_OK);
		sqlite3_close(db);
	}
	free(sql);
}

static store_outbox *outbox_of(const char *dedupe, const char *to,
			       store_out_state s, int64_t next_ms)
{
	store_outbox *m = calloc(1, sizeof *m);

	assert_non_null(m);
	snprintf(m->dedupe, sizeof m->dedupe, "%s", dedupe);
	snprintf(m->group_id, sizeof m->group_id, "g");
	snprintf(m->to, sizeof m->to, "%s", to);
	snprintf(m->from, sizeof m->from, "+15550001111");
	snprintf(m->kind, sizeof m->kind, "opt_in");
	snprintf(m->encoding, sizeof m->encoding, "GSM-7");
	snprintf(m->body, sizeof m->body, "body of %s", dedupe);
	m->state = s;
	m->segments = 1;
	m->next_ms = next_ms;
	m->created_ms = m->updated_ms = 10;
	return m;
}

/* Insert a message; its id. */
static int64_t queue(store *st, const char *dedupe, const char *to,
		     store_out_state s, int64_t next_ms)
{
	store_outbox *m = outbox_of(dedupe, to, s, next_ms);
	int64_t id;

	assert_int_equal(store_outbox_insert(st, m), STORE_OK);
	id = m->id;
	free(m);
	return id;
}

/* Queue n messages, keys PREFIX0..; their ids into ids (may be NULL). */
static void queue_n(store *st, const char *prefix, int n, int64_t *ids)
{
	char d[STORE_DEDUPE_MAX + 1];

	for (int i = 0; i < n; i++) {
		snprintf(d, sizeof d, "%s%d", prefix, i);
		int64_t id = queue(st, d, "+1", STORE_OUT_QUEUED, 0);
		if (ids)
			ids[i] = id;
	}
}

static store_inbound *inbound_of(const char *provider, const char *msg_id,
				 const char *body)
{
	store_inbound *m = calloc(1, sizeof *m);

	assert_non_null(m);
	m->time_ms = 77;
	snprintf(m->provider, sizeof m->provider, "%s", provider);
	snprintf(m->provider_msg_id, sizeof m->provider_msg_id, "%s", msg_id);
	snprintf(m->from, sizeof m->from, "+15551234567");
	snprintf(m->to, sizeof m->to, "+15550001111");
	snprintf(m->category, sizeof m->category, "opt_in");
	snprintf(m->lang, sizeof m->lang, "en");
	snprintf(m->keyword, sizeof m->keyword, "START");
	snprintf(m->action, sizeof m->action, "subscribed");
	snprintf(m->body, sizeof m->body, "%s", body);
	return m;
}

/* What a claim or a list handed its callback, in order. */
typedef struct {
	size_t n, stop_at; /* stop_at: answer "stop" at that many; 0 never */
	int64_t id[64], next_ms[64], updated_ms[64];
	store_out_state state[64];
	char body[64][32];
} seen_out;

static int seen_out_cb(void *ctx, const store_outbox *m)
{
	seen_out *s = ctx;

	assert_true(s->n < 64);
	s->id[s->n] = m->id;
	s->next_ms[s->n] = m->next_ms;
	s->updated_ms[s->n] = m->updated_ms;
	s->state[s->n] = m->state;
	snprintf(s->body[s->n], sizeof s->body[0], "%.31s", m->body);
	s->n++;
	return s->stop_at && s->n >= s->stop_at;
}

static seen_out *claim(store *st, int64_t now, int64_t lease, size_t limit)
{
	seen_out *s = calloc(1, sizeof *s);

	assert_non_null(s);
	assert_int_equal(store_outbox_claim(st, now, lease, limit, seen_out_cb,
					    s), STORE_OK);
	return s;
}

/* Claim and expect `want` messages; the first one's id. */
static int64_t claim_n(store *st, int64_t now, int64_t lease, size_t limit,
		       size_t want)
{
	seen_out *s = claim(st, now, lease, limit);
	int64_t first = s->n ? s->id[0] : 0;

	assert_int_equal(s->n, want);
	free(s);
	return first;
}

static void test_migrate_from_v1(void **state)
{
	fixture *f = *state;
	char url[sizeof f->path];
	store *st = NULL;
	store_group g;
	char *json = NULL;
	int64_t id;

	make_old_db(f, 1, url, sizeof url);
	assert_int_equal(store_open(url, STORE_DURABLE_NORMAL, &st), STORE_OK);
	assert_int_equal(sql_int(url, "SELECT count(*) FROM "
				 "schema_migrations"), N_MIGRATIONS);
	assert_int_equal(sql_int(url, "SELECT count(*) FROM schema_migrations"
				 " WHERE version = 2 AND name = 'sms'"), 1);
	/* The old group is intact and has empty settings. */
	assert_int_equal(store_group_get(st, "old", &g), STORE_OK);
	assert_string_equal(g.name, "Old");
	assert_int_equal(store_group_sms_get(st, "old", &json), STORE_OK);
	assert_string_equal(json, "");
	free(json);
	assert_int_equal(store_group_sms_set(st, "old", "{\"brand\":\"B\"}",
					     9), STORE_OK);
	id = queue(st, "m1", "+15551234567", STORE_OUT_QUEUED, 0);
	assert_true(id > 0);
	assert_int_equal(store_doi_put(st, "+15551234567", "old", 3), STORE_OK);
	store_close(st);
	st = NULL;
	/* Opening again applies nothing more. */
	assert_int_equal(store_open(url, STORE_DURABLE_NORMAL, &st), STORE_OK);
	assert_int_equal(sql_int(url, "SELECT count(*) FROM "
				 "schema_migrations"), N_MIGRATIONS);
	assert_int_equal(store_group_sms_get(st, "old", &json), STORE_OK);
	assert_string_equal(json, "{\"brand\":\"B\"}");
	free(json);
	store_close(st);
	if (!pg_admin)
		remove_db(url);
}

static void test_group_sms(void **state)
{
	fixture *f = *state;
	store_group g = group_of("g", CHANNEL_SMS, 5);
	size_t big_n = STORE_SMS_CONFIG_MAX;
	char *json = (char *)&json, *big = malloc(big_n + 2);

	assert_non_null(big);
	assert_int_equal(store_group_sms_get(f->st, "g", &json),
			 STORE_NOTFOUND);
	assert_null(json);
	assert_int_equal(store_group_sms_set(f->st, "g", "{}", 6),
			 STORE_NOTFOUND);
	assert_int_equal(store_group_insert(f->st, &g), STORE_OK);
	/* Never set: "". */
	assert_int_equal(store_group_sms_get(f->st, "g", &json), STORE_OK);
	assert_string_equal(json, "");
	free(json);
	assert_int_equal(store_group_sms_set(f->st, "g", "{\"brand\":"
					     "\"Caf\xc3\xa9\"}", 50),
			 STORE_OK);
	assert_int_equal(store_group_sms_get(f->st, "g", &json), STORE_OK);
	assert_string_equal(json, "{\"brand\":\"Caf\xc3\xa9\"}");
	free(json);
	assert_int_equal(store_group_get(f->st, "g", &g), STORE_OK);
	assert_int_equal(g.updated_ms, 50);
	assert_int_equal(g.created_ms, 5);
	/* The largest document fits whole; one byte more is refused. */
	memset(big, 'x', big_n);
	big[0] = '"';
	big[big_n - 1] = '"';
	big[big_n] = '\0';
	assert_int_equal(store_group_sms_set(f->st, "g", big, 60), STORE_OK);
	assert_int_equal(store_group_sms_get(f->st, "g", &json), STORE_OK);
	assert_int_equal(strlen(json), big_n);
	assert_string_equal(json, big);
	free(json);
	big[big_n] = '"';
	big[big_n + 1] = '\0';
	assert_int_equal(store_group_sms_set(f->st, "g", big, 70),
			 STORE_INVALID);
	free(big);
	/* Other groups are untouched. */
	g = group_of("h", CHANNEL_SMS, 5);
	assert_int_equal(store_group_insert(f->st, &g), STORE_OK);
	assert_int_equal(store_group_sms_get(f->st, "h", &json), STORE_OK);
	assert_string_equal(json, "");
	free(json);
}

typedef struct {
	size_t n;
	int64_t id[16];
	char msg_id[16][STORE_MSGID_MAX + 1];
} seen_in;

static int seen_in_cb(void *ctx, const store_inbound *m)
{
	seen_in *s = ctx;

	assert_true(s->n < 16);
	s->id[s->n] = m->id;
	snprintf(s->msg_id[s->n], sizeof s->msg_id[0], "%s",
		 m->provider_msg_id);
	s->n++;
	return 0;
}

static void test_inbound(void **state)
{
	fixture *f = *state;
	store_inbound *a = inbound_of("twilio", "SM1", "START");
	store_inbound *b = inbound_of("twilio", "SM2", "stop");
	store_inbound *got = calloc(1, sizeof *got);
	seen_in seen;
	size_t i;

	assert_non_null(got);
	assert_int_equal(store_inbound_insert(f->st, a), STORE_OK);
	snprintf(b->group_id, sizeof b->group_id, "g");
	assert_int_equal(store_inbound_insert(f->st, b), STORE_OK);
	assert_true(a->id > 0 && b->id > a->id);
	/* A retried webhook: the same provider and id. */
	got->id = -1;
	*got = *a;
	assert_int_equal(store_inbound_insert(f->st, got), STORE_CONFLICT);
	/* ... is answered with the message first recorded under it. */
	memset(got, 0, sizeof *got);
	assert_int_equal(store_inbound_get(f->st, "twilio", "SM2", got),
			 STORE_OK);
	assert_int_equal(got->id, b->id);
	assert_string_equal(got->group_id, "g");
	assert_string_equal(got->body, "stop");
	assert_string_equal(got->action, "subscribed");
	assert_int_equal(store_inbound_get(f->st, "kannel", "SM2", got),
			 STORE_NOTFOUND);
	assert_int_equal(store_inbound_get(f->st, "twilio", "SM3", got),
			 STORE_NOTFOUND);
	*got = *a;
	/* The same id from another provider is another message; no id at
	 * all is never a retry. */
	snprintf(got->provider, sizeof got->provider, "kannel");
	assert_int_equal(store_inbound_insert(f->st, got), STORE_OK);
	snprintf(got->provider_msg_id, sizeof got->provider_msg_id, "%s", "");
	assert_int_equal(store_inbound_insert(f->st, got), STORE_OK);
	assert_int_equal(store_inbound_insert(f->st, got), STORE_OK);

	memset(&seen, 0, sizeof seen);
	assert_int_equal(store_inbound_list(f->st, 0, 100, seen_in_cb, &seen),
			 STORE_OK);
	assert_int_equal(seen.n, 5);
	for (i = 1; i < seen.n; i++)
		assert_true(seen.id[i] > seen.id[i - 1]);
	assert_string_equal(seen.msg_id[0], "SM1");
	assert_string_equal(seen.msg_id[4], "");
	memset(&seen, 0, sizeof seen);
	assert_int_equal(store_inbound_list(f->st, a->id, 2, seen_in_cb,
					    &seen), STORE_OK);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.id[0], b->id);
	memset(&seen, 0, sizeof seen);
	assert_int_equal(store_inbound_list(f->st, 0, 0, seen_in_cb, &seen),
			 STORE_OK);
	assert_int_equal(seen.n, 0);
	assert_int_equal(store_inbound_list(f->st, 0, SIZE_MAX, seen_in_cb,
					    &seen), STORE_OK);
	assert_int_equal(seen.n, 5);
	free(a);
	free(b);
	free(got);
}

/* Every field comes back as written, the largest body included. */
static int inbound_check_cb(void *ctx, const store_inbound *m)
{
	const store_inbound *want = ctx;

	assert_int_equal(m->id, want->id);
	assert_int_equal(m->time_ms, want->time_ms);
	assert_string_equal(m->provider, want->provider);
	assert_string_equal(m->provider_msg_id, want->provider_msg_id);
	assert_string_equal(m->from, want->from);
	assert_string_equal(m->to, want->to);
	assert_string_equal(m->group_id, want->group_id);
	assert_string_equal(m->category, want->category);
	assert_string_equal(m->lang, want->lang);
	assert_string_equal(m->keyword, want->keyword);
	assert_string_equal(m->action, want->action);
	assert_string_equal(m->body, want->body);
	return 1;
}

/* A body of STORE_SMS_BODY_MAX bytes: 1,600 four-byte characters. */
static void fill_body(char *body)
{
	for (int i = 0; i < STORE_SMS_BODY_MAX; i += 4)
		memcpy(body + i, "\xf0\x9f\x98\x80", 4);
	body[STORE_SMS_BODY_MAX] = '\0';
}

static void test_sms_fields(void **state)
{
	fixture *f = *state;
	store_inbound *in = inbound_of("generic", "gw-1", "");
	store_outbox *out = outbox_of("d-big", "+15551234567",
				      STORE_OUT_QUEUED, 5);
	store_outbox *got = calloc(1, sizeof *got);

	assert_non_null(got);
	fill_body(in->body);
	memset(in->keyword, 'K', STORE_KEYWORD_MAX);
	snprintf(in->group_id, sizeof in->group_id, "g");
	assert_int_equal(store_inbound_insert(f->st, in), STORE_OK);
	assert_int_equal(store_inbound_list(f->st, 0, 1, inbound_check_cb,
					    in), STORE_OK);

	fill_body(out->body);
	memset(out->dedupe, 'd', STORE_DEDUPE_MAX);
	memset(out->error, 'e', STORE_ERRTEXT_MAX);
	snprintf(out->provider, sizeof out->provider, "twilio");
	snprintf(out->provider_id, sizeof out->provider_id, "SMx");
	snprintf(out->encoding, sizeof out->encoding, "UCS-2");
	out->inbound_id = in->id;
	out->attempts = 3;
	out->segments = 25;
	out->created_ms = 1700000000000LL;
	out->updated_ms = 1700000000001LL;
	assert_int_equal(store_outbox_insert(f->st, out), STORE_OK);
	assert_int_equal(store_outbox_get(f->st, out->id, got), STORE_OK);
	assert_int_equal(memcmp(got, out, sizeof *got), 0);
	/* No group and no inbound message read back as "" and 0. */
	memset(out->dedupe, 0, sizeof out->dedupe);
	snprintf(out->dedupe, sizeof out->dedupe, "d-bare");
	out->group_id[0] = '\0';
	out->inbound_id = 0;
	assert_int_equal(store_outbox_insert(f->st, out), STORE_OK);
	assert_int_equal(store_outbox_get(f->st, out->id, got), STORE_OK);
	assert_string_equal(got->group_id, "");
	assert_int_equal(got->inbound_id, 0);
	free(in);
	free(out);
	free(got);
}

static void test_outbox_insert(void **state)
{
	fixture *f = *state;
	store_outbox *m = outbox_of("d1", "+15551234567", STORE_OUT_QUEUED, 5);
	store_outbox *got = calloc(1, sizeof *got);
	int64_t first;

	assert_non_null(got);
	assert_int_equal(store_outbox_insert(f->st, m), STORE_OK);
	first = m->id;
	assert_true(first > 0);
	/* The dedupe key is taken, whatever else differs. */
	snprintf(m->to, sizeof m->to, "+15559999999");
	m->id = 0;
	assert_int_equal(store_outbox_insert(f->st, m), STORE_CONFLICT);
	assert_int_equal(store_outbox_get(f->st, first, got), STORE_OK);
	assert_string_equal(got->to, "+15551234567");
	/* A message needs a key, and a state store.h knows. */
	snprintf(m->dedupe, sizeof m->dedupe, "%s", "");
	assert_int_equal(store_outbox_insert(f->st, m), STORE_INVALID);
	snprintf(m->dedupe, sizeof m->dedupe, "d2");
	m->state = STORE_OUT__COUNT;
	assert_int_equal(store_outbox_insert(f->st, m), STORE_INVALID);
	assert_int_equal(store_outbox_get(f->st, first + 1000, got),
			 STORE_NOTFOUND);
	free(m);
	free(got);
}

/* Inside a transaction (the writer's, pipelined on PostgreSQL) a
 * duplicate is answered at once and the transaction goes on. */
static void test_sms_conflicts_within_transaction(void **state)
{
	fixture *f = *state;
	store_inbound *in = inbound_of("twilio", "SM1", "START");
	store_outbox *m = outbox_of("d1", "+15551234567", STORE_OUT_QUEUED, 5);
	store_user u = user_of("tx-user", "+15551234567", "", 1);
	store_group g = group_of("g", CHANNEL_SMS, 1);
	int64_t in_id, out_id;
	seen_out *s;

	assert_int_equal(store_group_insert(f->st, &g), STORE_OK);
	assert_int_equal(store_inbound_insert(f->st, in), STORE_OK);
	in_id = in->id;
	assert_int_equal(store_outbox_insert(f->st, m), STORE_OK);
	out_id = m->id;

	assert_int_equal(store_begin(f->st), STORE_OK);
	assert_int_equal(store_user_insert(f->st, &u), STORE_OK);
	assert_int_equal(store_sub_put(f->st, u.id, "g", CONSENT_SUBSCRIBED,
				       CONSENT_SRC_KEYWORD, 0, 2), STORE_OK);
	assert_int_equal(store_inbound_insert(f->st, in), STORE_CONFLICT);
	assert_int_equal(store_outbox_insert(f->st, m), STORE_CONFLICT);
	assert_int_equal(store_doi_put(f->st, "+15551234567", "g", 2),
			 STORE_OK);
	snprintf(in->provider_msg_id, sizeof in->provider_msg_id, "SM2");
	assert_int_equal(store_inbound_insert(f->st, in), STORE_OK);
	assert_true(in->id > in_id);
	snprintf(m->dedupe, sizeof m->dedupe, "d2");
	m->inbound_id = in->id;
	assert_int_equal(store_outbox_insert(f->st, m), STORE_OK);
	assert_true(m->id > out_id);
	/* Reads in the transaction see its writes. */
	s = claim(f->st, 10, 100, 10);
	assert_int_equal(s->n, 2);
	assert_int_equal(s->id[1], m->id);
	free(s);
	assert_int_equal(store_flush(f->st), STORE_OK);
	assert_int_equal(store_commit(f->st), STORE_OK);

	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM inbound"), 2);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM outbox WHERE "
				 "state = 'sending'"), 2);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM doi_pending"),
			 1);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM subscriptions"),
			 1);
	free(in);
	free(m);
}

static void test_outbox_claim(void **state)
{
	fixture *f = *state;
	int64_t id[6];
	store_outbox *got = calloc(1, sizeof *got);
	seen_out *s;

	assert_non_null(got);
	id[0] = queue(f->st, "q0", "+1", STORE_OUT_QUEUED, 100);
	id[1] = queue(f->st, "q1", "+1", STORE_OUT_QUEUED, 500); /* later */
	id[2] = queue(f->st, "q2", "+1", STORE_OUT_SENT, 0);
	id[3] = queue(f->st, "q3", "+1", STORE_OUT_QUEUED, 0);
	id[4] = queue(f->st, "q4", "+1", STORE_OUT_REJECTED, 0);
	id[5] = queue(f->st, "q5", "+1", STORE_OUT_QUEUED, 200);

	/* Due at 200: q0, q3, q5; oldest first, two at most. */
	s = claim(f->st, 200, 1000, 2);
	assert_int_equal(s->n, 2);
	assert_int_equal(s->id[0], id[0]);
	assert_int_equal(s->id[1], id[3]);
	for (size_t i = 0; i < s->n; i++) {
		assert_int_equal(s->state[i], STORE_OUT_SENDING);
		assert_int_equal(s->next_ms[i], 1200);
		assert_int_equal(s->updated_ms[i], 200);
	}
	assert_string_equal(s->body[1], "body of q3");
	free(s);
	assert_int_equal(store_outbox_get(f->st, id[0], got), STORE_OK);
	assert_int_equal(got->state, STORE_OUT_SENDING);
	assert_int_equal(got->next_ms, 1200);
	assert_int_equal(got->attempts, 1); /* the claim counts the attempt */

	/* What is claimed is not claimed again while its lease runs. */
	assert_int_equal(claim_n(f->st, 300, 1000, 10, 1), id[5]);
	claim_n(f->st, 400, 1000, 10, 0);
	/* q1 falls due; the rest are still leased. */
	assert_int_equal(claim_n(f->st, 1199, 1000, 10, 1), id[1]);
	/* The sender of q0 and q3 died: at the lease's end they come back,
	 * in order, with a new lease. */
	s = claim(f->st, 1200, 50, 10);
	assert_int_equal(s->n, 2);
	assert_int_equal(s->id[0], id[0]);
	assert_int_equal(s->id[1], id[3]);
	assert_int_equal(s->next_ms[0], 1250);
	free(s);
	/* Sent and rejected messages are never claimed. */
	s = claim(f->st, INT64_MAX, 1000, 100);
	assert_int_equal(s->n, 4);
	assert_int_equal(s->next_ms[0], INT64_MAX); /* no overflow */
	for (size_t i = 0; i < s->n; i++)
		assert_true(s->id[i] != id[2] && s->id[i] != id[4]);
	free(s);
	assert_int_equal(store_outbox_get(f->st, id[2], got), STORE_OK);
	assert_int_equal(got->state, STORE_OUT_SENT);
	/* A limit of 0 claims nothing. */
	claim_n(f->st, INT64_MAX, 0, 0, 0);
	free(got);
}

static void test_outbox_claim_stops(void **state)
{
	fixture *f = *state;
	seen_out *s = calloc(1, sizeof *s);

	assert_non_null(s);
	queue_n(f->st, "s", 5, NULL);
	/* The callback stops after two: all five are claimed all the same
	 * (they come back when their lease runs out). */
	s->stop_at = 2;
	assert_int_equal(store_outbox_claim(f->st, 10, 100, 5, seen_out_cb, s),
			 STORE_OK);
	assert_int_equal(s->n, 2);
	free(s);
	claim_n(f->st, 50, 100, 10, 0);
	claim_n(f->st, 110, 100, 10, 5);
}

static void test_outbox_update(void **state)
{
	fixture *f = *state;
	int64_t id = queue(f->st, "u1", "+15551234567", STORE_OUT_QUEUED, 0);
	store_outbox *m = calloc(1, sizeof *m), *got = calloc(1, sizeof *got);

	assert_non_null(m);
	assert_non_null(got);
	assert_int_equal(store_outbox_get(f->st, id, m), STORE_OK);
	m->state = STORE_OUT_SENT;
	snprintf(m->provider, sizeof m->provider, "twilio");
	snprintf(m->provider_id, sizeof m->provider_id, "SM0001");
	m->attempts = 2;
	m->next_ms = 0;
	snprintf(m->error, sizeof m->error, "none");
	m->updated_ms = 999;
	/* Only the sender's fields are written. */
	snprintf(m->body, sizeof m->body, "changed");
	snprintf(m->to, sizeof m->to, "+10000000000");
	m->segments = 9;
	assert_int_equal(store_outbox_update(f->st, m), STORE_OK);
	assert_int_equal(store_outbox_get(f->st, id, got), STORE_OK);
	assert_int_equal(got->state, STORE_OUT_SENT);
	assert_string_equal(got->provider, "twilio");
	assert_string_equal(got->provider_id, "SM0001");
	assert_int_equal(got->attempts, 2);
	assert_string_equal(got->error, "none");
	assert_int_equal(got->updated_ms, 999);
	assert_int_equal(got->created_ms, 10);
	assert_string_equal(got->body, "body of u1");
	assert_string_equal(got->to, "+15551234567");
	assert_int_equal(got->segments, 1);

	/* A status callback finds it by the provider's id. */
	memset(got, 0, sizeof *got);
	assert_int_equal(store_outbox_by_provider_id(f->st, "twilio", "SM0001",
						     got), STORE_OK);
	assert_int_equal(got->id, id);
	assert_int_equal(store_outbox_by_provider_id(f->st, "kannel", "SM0001",
						     got), STORE_NOTFOUND);
	assert_int_equal(store_outbox_by_provider_id(f->st, "twilio", "SM0002",
						     got), STORE_NOTFOUND);
	assert_int_equal(store_outbox_by_provider_id(f->st, "twilio",
						     "\xff\xfe", got),
			 STORE_NOTFOUND);
	/* An unsent message has no provider id to be found by. */
	queue(f->st, "u2", "+15551234567", STORE_OUT_QUEUED, 0);
	assert_int_equal(store_outbox_by_provider_id(f->st, "", "", got),
			 STORE_NOTFOUND);

	m->id = id + 1000;
	assert_int_equal(store_outbox_update(f->st, m), STORE_NOTFOUND);
	m->id = id;
	m->state = STORE_OUT__COUNT;
	assert_int_equal(store_outbox_update(f->st, m), STORE_INVALID);
	free(m);
	free(got);
}

static seen_out *list(store *st, int64_t after, size_t limit, int state,
		      const char *to)
{
	seen_out *s = calloc(1, sizeof *s);

	assert_non_null(s);
	assert_int_equal(store_outbox_list(st, after, limit, state, to,
					   seen_out_cb, s), STORE_OK);
	return s;
}

static void test_outbox_list(void **state)
{
	fixture *f = *state;
	int64_t id[5];
	seen_out *s;

	id[0] = queue(f->st, "l0", "+1111", STORE_OUT_QUEUED, 0);
	id[1] = queue(f->st, "l1", "+2222", STORE_OUT_SENT, 0);
	id[2] = queue(f->st, "l2", "+1111", STORE_OUT_SENT, 0);
	id[3] = queue(f->st, "l3", "+1111", STORE_OUT_REJECTED, 0);
	id[4] = queue(f->st, "l4", "+2222", STORE_OUT_QUEUED, 0);

	s = list(f->st, 0, 100, -1, NULL);
	assert_int_equal(s->n, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(s->id[i], id[i]);
	free(s);
	s = list(f->st, 0, 100, STORE_OUT_SENT, "");
	assert_int_equal(s->n, 2);
	assert_int_equal(s->id[0], id[1]);
	assert_int_equal(s->id[1], id[2]);
	free(s);
	s = list(f->st, 0, 100, -1, "+1111");
	assert_int_equal(s->n, 3);
	assert_int_equal(s->id[2], id[3]);
	free(s);
	s = list(f->st, 0, 100, STORE_OUT_QUEUED, "+2222");
	assert_int_equal(s->n, 1);
	assert_int_equal(s->id[0], id[4]);
	free(s);
	s = list(f->st, id[0], 2, -1, "+1111");
	assert_int_equal(s->n, 2);
	assert_int_equal(s->id[0], id[2]);
	assert_int_equal(s->id[1], id[3]);
	free(s);
	s = list(f->st, id[1], 2, -1, NULL);
	assert_int_equal(s->n, 2);
	assert_int_equal(s->id[0], id[2]);
	free(s);
	s = list(f->st, 0, 100, STORE_OUT_DELIVERED, NULL);
	assert_int_equal(s->n, 0);
	free(s);
	s = list(f->st, 0, 100, -1, "+9999");
	assert_int_equal(s->n, 0);
	free(s);
	s = list(f->st, 0, 100, -1, "\xff");
	assert_int_equal(s->n, 0);
	free(s);
	/* The callback may stop the list. */
	s = calloc(1, sizeof *s);
	assert_non_null(s);
	s->stop_at = 1;
	assert_int_equal(store_outbox_list(f->st, 0, 100, -1, NULL,
					   seen_out_cb, s), STORE_OK);
	assert_int_equal(s->n, 1);
	free(s);
	assert_int_equal(store_outbox_list(f->st, 0, 100, STORE_OUT__COUNT,
					   NULL, seen_out_cb, NULL),
			 STORE_INVALID);
}

static void test_out_state_names(void **state)
{
	store_out_state s;

	(void)state;
	for (int i = 0; i < STORE_OUT__COUNT; i++) {
		const char *name = store_out_state_name((store_out_state)i);

		assert_int_equal(store_out_state_parse(name, &s), 0);
		assert_int_equal(s, i);
	}
	assert_string_equal(store_out_state_name(STORE_OUT_REJECTED),
			    "rejected");
	assert_string_equal(store_out_state_name(STORE_OUT__COUNT), "unknown");
	assert_int_equal(store_out_state_parse("QUEUED", &s), -1);
	assert_int_equal(store_out_state_parse("", &s), -1);
	assert_int_equal(store_out_state_parse("unknown", &s), -1);
}

static void test_outbox_next_due(void **state)
{
	fixture *f = *state;
	int64_t next = -1;

	assert_int_equal(store_outbox_next_due(f->st, &next), STORE_NOTFOUND);
	queue(f->st, "n0", "+1", STORE_OUT_SENT, 5);
	queue(f->st, "n1", "+1", STORE_OUT_REJECTED, 6);
	assert_int_equal(store_outbox_next_due(f->st, &next), STORE_NOTFOUND);
	queue(f->st, "n2", "+1", STORE_OUT_QUEUED, 300);
	queue(f->st, "n3", "+1", STORE_OUT_QUEUED, 200);
	queue(f->st, "n4", "+1", STORE_OUT_QUEUED, 400);
	assert_int_equal(store_outbox_next_due(f->st, &next), STORE_OK);
	assert_int_equal(next, 200);
	/* Claimed messages no longer count. */
	claim_n(f->st, 250, 10000, 10, 1);
	assert_int_equal(store_outbox_next_due(f->st, &next), STORE_OK);
	assert_int_equal(next, 300);
}

static void test_doi(void **state)
{
	fixture *f = *state;
	store_group g = group_of("g", CHANNEL_SMS, 1);
	store_group h = group_of("h", CHANNEL_SMS, 1);
	int64_t since = -1;

	assert_int_equal(store_group_insert(f->st, &g), STORE_OK);
	assert_int_equal(store_group_insert(f->st, &h), STORE_OK);
	assert_int_equal(store_doi_get(f->st, "+15551234567", "g", &since),
			 STORE_NOTFOUND);
	assert_int_equal(store_doi_put(f->st, "+15551234567", "g", 100),
			 STORE_OK);
	assert_int_equal(store_doi_put(f->st, "+15551234567", "h", 150),
			 STORE_OK);
	assert_int_equal(store_doi_get(f->st, "+15551234567", "g", &since),
			 STORE_OK);
	assert_int_equal(since, 100);
	/* A second prompt restarts the window. */
	assert_int_equal(store_doi_put(f->st, "+15551234567", "g", 200),
			 STORE_OK);
	assert_int_equal(store_doi_get(f->st, "+15551234567", "g", &since),
			 STORE_OK);
	assert_int_equal(since, 200);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM doi_pending"),
			 2);
	assert_int_equal(store_doi_delete(f->st, "+15551234567", "g"),
			 STORE_OK);
	assert_int_equal(store_doi_get(f->st, "+15551234567", "g", &since),
			 STORE_NOTFOUND);
	/* Only that group's prompt went; deleting none is no error. */
	assert_int_equal(store_doi_get(f->st, "+15551234567", "h", &since),
			 STORE_OK);
	assert_int_equal(since, 150);
	assert_int_equal(store_doi_delete(f->st, "+15551234567", "g"),
			 STORE_OK);
	assert_int_equal(store_doi_get(f->st, "+15559999999", "h", &since),
			 STORE_NOTFOUND);
	/* Not for a group that does not exist. */
	assert_int_equal(store_doi_put(f->st, "+15551234567", "ghost", 1),
			 STORE_INVALID);
}

/* Senders (or flow runners) claiming at once, one message (or run) at a
 * time, each in a transaction of its own: every one is claimed exactly
 * once. */
#define CLAIMERS 4
#define CLAIM_MSGS 60

typedef struct {
	fixture *f;
	int runs; /* claim flow runs rather than messages */
	int64_t got[CLAIM_MSGS];
	size_t n;
	int failed, bad_props;
} claimer;

static int claimer_cb(void *ctx, const store_outbox *m)
{
	claimer *c = ctx;

	if (c->n < CLAIM_MSGS)
		c->got[c->n++] = m->id;
	return 0;
}

static int claimer_run_cb(void *ctx, const store_run *r)
{
	claimer *c = ctx;

	/* The props are there to read during the call. */
	if (strcmp(r->entry_props, "{\"phone_number\":\"+12223334444\"}"))
		c->bad_props++;
	if (c->n < CLAIM_MSGS)
		c->got[c->n++] = r->id;
	return 0;
}

static store_err claim_one(claimer *c)
{
	store *st = c->f->st;

	if (c->runs)
		return store_run_claim(st, 1000, 60000, 1, claimer_run_cb, c);
	return store_outbox_claim(st, 1000, 60000, 1, claimer_cb, c);
}

static void *claimer_main(void *arg)
{
	claimer *c = arg;
	store *st = c->f->st;

	for (;;) {
		size_t before = c->n;

		if (store_begin(st) != STORE_OK || claim_one(c) != STORE_OK ||
		    store_commit(st) != STORE_OK) {
			store_rollback(st);
			c->failed++;
			if (c->failed > 100)
				break;
			continue;
		}
		if (c->n == before)
			break;
	}
	store_thread_done(st);
	return NULL;
}

/* CLAIMERS threads claim the CLAIM_MSGS due ones whose ids are first,
 * first + 1, ...: each exactly once. */
static void claim_race(fixture *f, int runs, int64_t first)
{
	claimer *c = calloc(CLAIMERS, sizeof *c);
	pthread_t t[CLAIMERS];
	int seen[CLAIM_MSGS] = {0};
	size_t total = 0;

	assert_non_null(c);
	for (int i = 0; i < CLAIMERS; i++) {
		c[i].f = f;
		c[i].runs = runs;
		assert_int_equal(pthread_create(&t[i], NULL, claimer_main,
						&c[i]), 0);
	}
	for (int i = 0; i < CLAIMERS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < CLAIMERS; i++) {
		assert_true(c[i].failed <= 100);
		assert_int_equal(c[i].bad_props, 0);
		for (size_t k = 0; k < c[i].n; k++) {
			int64_t at = c[i].got[k] - first;

			assert_true(at >= 0 && at < CLAIM_MSGS);
			seen[at]++;
		}
		total += c[i].n;
	}
	assert_int_equal(total, CLAIM_MSGS);
	for (int i = 0; i < CLAIM_MSGS; i++)
		assert_int_equal(seen[i], 1);
	free(c);
}

static void test_outbox_claim_threads(void **state)
{
	fixture *f = *state;
	int64_t ids[CLAIM_MSGS];

	queue_n(f->st, "t", CLAIM_MSGS, ids);
	for (int i = 0; i < CLAIM_MSGS; i++)
		assert_int_equal(ids[i], ids[0] + i);
	claim_race(f, 0, ids[0]);
}

/* PostgreSQL: a claim in an open transaction holds its messages; another
 * sender's claim passes them over (SKIP LOCKED) instead of waiting. */
typedef struct {
	fixture *f;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int claimed, release;
	seen_out seen;
} holder;

static void *holder_main(void *arg)
{
	holder *h = arg;
	store *st = h->f->st;
	int ok = store_begin(st) == STORE_OK &&
		 store_outbox_claim(st, 1000, 60000, 3, seen_out_cb,
				    &h->seen) == STORE_OK;

	pthread_mutex_lock(&h->mu);
	h->claimed = ok ? 1 : -1;
	pthread_cond_broadcast(&h->cv);
	while (!h->release)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
	if (ok && store_commit(st) != STORE_OK)
		h->claimed = -1;
	store_thread_done(st);
	return NULL;
}

static void test_outbox_claim_skip_locked(void **state)
{
	fixture *f = *state;
	holder *h = calloc(1, sizeof *h);
	pthread_t t;
	seen_out *s;
	int64_t id[6];

	if (!pg_admin) {
		free(h);
		skip();
	}
	assert_non_null(h);
	queue_n(f->st, "k", 6, id);
	h->f = f;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	assert_int_equal(pthread_create(&t, NULL, holder_main, h), 0);
	pthread_mutex_lock(&h->mu);
	while (!h->claimed)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
	assert_int_equal(h->claimed, 1);
	assert_int_equal(h->seen.n, 3);
	assert_int_equal(h->seen.id[0], id[0]);

	/* The holder has not committed: its three are locked, not free. */
	assert_int_equal(store_begin(f->st), STORE_OK);
	s = claim(f->st, 1000, 60000, 10);
	assert_int_equal(store_commit(f->st), STORE_OK);
	assert_int_equal(s->n, 3);
	assert_int_equal(s->id[0], id[3]);
	assert_int_equal(s->id[2], id[5]);
	free(s);

	pthread_mutex_lock(&h->mu);
	h->release = 1;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(h->claimed, 1);
	/* Committed claims hold until the lease ends. */
	claim_n(f->st, 2000, 60000, 10, 0);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

/* ---- events and flows ---- */

/* A user with this external id; its id. */
static int64_t add_user(store *st, const char *ext)
{
	store_user u = user_of(ext, "", "", 1);

	assert_int_equal(store_user_insert(st, &u), STORE_OK);
	return u.id;
}

/* One statement through a separate connection; 0 when it ran, else 1 with
 * the database's message in msg. */
static int sql_try(const char *path, const char *sql, char *msg, size_t cap)
{
	sqlite3 *db = NULL;
	char *m = NULL;
	int failed;

	msg[0] = '\0';
	if (pg_admin) {
		PGresult *r = pg_exec(path, sql);

		failed = PQresultStatus(r) == PGRES_FATAL_ERROR;
		snprintf(msg, cap, "%s", PQresultErrorMessage(r));
		PQclear(r);
		return failed;
	}
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE,
					 NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	failed = sqlite3_exec(db, sql, NULL, NULL, &m) != SQLITE_OK;
	snprintf(msg, cap, "%s", m ? m : "");
	sqlite3_free(m);
	sqlite3_close(db);
	return failed;
}

/* Profiles and groups are never deleted and keep their ids, whoever asks:
 * subscriptions rely on it (PostgreSQL's have no foreign keys). */
static void test_profiles_and_groups_kept(void **state)
{
	fixture *f = *state;
	store_group g = group_of("kept", CHANNEL_SMS, 30);
	int64_t id = add_user(f->st, "k1");
	char sql[256], msg[512];
	const char *refused[6];
	size_t n = 0;

	assert_int_equal(store_group_insert(f->st, &g), STORE_OK);
	assert_int_equal(store_sub_put(f->st, id, "kept", CONSENT_SUBSCRIBED,
				       CONSENT_SRC_API, 0, 40), STORE_OK);
	refused[n++] = "DELETE FROM users";
	refused[n++] = "UPDATE users SET id = id + 1000";
	refused[n++] = "DELETE FROM subscription_groups WHERE id = 'kept'";
	refused[n++] = "UPDATE subscription_groups SET id = 'moved'";
	if (pg_admin) {
		refused[n++] = "TRUNCATE users CASCADE";
		refused[n++] = "TRUNCATE subscription_groups CASCADE";
	}
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(sql_try(f->path, refused[i], msg, sizeof msg),
				 1);
		assert_true(strstr(msg, "never deleted") ||
			    strstr(msg, "keep their id"));
	}
	/* Everything else about them may change. */
	snprintf(sql, sizeof sql, "UPDATE users SET updated_ms = 50, id = id"
		 " WHERE id = %lld", (long long)id);
	assert_int_equal(sql_try(f->path, sql, msg, sizeof msg), 0);
	assert_int_equal(sql_try(f->path, "UPDATE subscription_groups SET "
				 "name = 'Still kept'", msg, sizeof msg), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM users"), 1);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM subscriptions"
				 " s JOIN users u ON u.id = s.user_id JOIN "
				 "subscription_groups g ON g.id = s.group_id"),
			 1);
	assert_int_equal(sql_int(f->path, "SELECT max(updated_ms) FROM users"),
			 50);
}

/* A string of n bytes of 'x' inside a JSON object: {"a":"xxx"}. */
static char *json_of_size(size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	assert_true(n >= 8);
	memcpy(s, "{\"a\":\"", 6);
	memset(s + 6, 'x', n - 8);
	memcpy(s + n - 2, "\"}", 3);
	assert_int_equal(strlen(s), n);
	return s;
}

static void test_migrate_from_v2(void **state)
{
	fixture *f = *state;
	char url[sizeof f->path];
	store *st = NULL;
	store_user u;
	store_event e;
	char *json = NULL;

	make_old_db(f, 2, url, sizeof url);
	assert_int_equal(store_open(url, STORE_DURABLE_NORMAL, &st), STORE_OK);
	assert_int_equal(sql_int(url, "SELECT count(*) FROM "
				 "schema_migrations"), N_MIGRATIONS);
	assert_int_equal(sql_int(url, "SELECT count(*) FROM schema_migrations"
				 " WHERE version = 3 AND name = 'flows'"), 1);
	/* The old user is intact, with no attributes yet, and can take part
	 * in everything new. */
	assert_int_equal(store_user_by_external_id(st, "old-user", &u),
			 STORE_OK);
	assert_int_equal(store_user_attrs_get(st, u.id, &json), STORE_OK);
	assert_string_equal(json, "{}");
	free(json);
	assert_int_equal(store_user_attrs_set(st, u.id, "{\"plan\":\"gold\"}",
					      9), STORE_OK);
	assert_int_equal(store_alias_add(st, u.id, "crm", "c-1"), STORE_OK);
	memset(&e, 0, sizeof e);
	e.user_id = u.id;
	snprintf(e.name, sizeof e.name, "signup");
	assert_int_equal(store_event_insert(st, &e), STORE_OK);
	assert_true(e.id > 0);
	assert_int_equal(store_group_get(st, "old", &(store_group){0}),
			 STORE_OK);
	store_close(st);
	st = NULL;
	/* Opening again applies nothing more and keeps it all. */
	assert_int_equal(store_open(url, STORE_DURABLE_NORMAL, &st), STORE_OK);
	assert_int_equal(sql_int(url, "SELECT count(*) FROM "
				 "schema_migrations"), N_MIGRATIONS);
	assert_int_equal(store_user_attrs_get(st, u.id, &json), STORE_OK);
	assert_string_equal(json, "{\"plan\":\"gold\"}");
	free(json);
	assert_int_equal(store_user_by_alias(st, "crm", "c-1", &u), STORE_OK);
	assert_string_equal(u.external_id, "old-user");
	store_close(st);
	if (!pg_admin)
		remove_db(url);
}

/* Version 10 moves external_id's uniqueness to an index of the ids that
 * are set. The profiles keep their ids and their subscriptions; a taken
 * external_id is still refused; profiles without one add no entry to
 * the index; the rules on users and the references to them still hold. */
static void test_migrate_from_v9(void **state)
{
	fixture *f = *state;
	char url[sizeof f->path], msg[256];
	store *st = NULL;
	store_user u, dup = user_of("old-user", "", "", 9);
	store_user anon1 = user_of("", "+15550000002", "", 9);
	store_user anon2 = user_of("", "+15550000003", "", 9);
	consent_state cs;
	long long old_id, anon_id;
	store_err e;

	make_old_db(f, 9, url, sizeof url);
	assert_int_equal(sql_try(url,
		"INSERT INTO users (phone, created_ms, updated_ms)"
		" VALUES ('+15550000001', 6, 6);"
		"INSERT INTO subscriptions (user_id, group_id, state, source,"
		" since_ms) SELECT id, 'old', 'subscribed', 'api', 7 FROM users;",
		msg, sizeof msg), 0);
	old_id = sql_int(url, "SELECT id FROM users"
			 " WHERE external_id = 'old-user'");
	anon_id = sql_int(url, "SELECT id FROM users"
			  " WHERE phone = '+15550000001'");
	assert_int_equal(store_open(url, STORE_DURABLE_NORMAL, &st), STORE_OK);
	assert_int_equal(sql_int(url, "SELECT count(*) FROM schema_migrations"
				 " WHERE version = 10 AND name = "
				 "'users_external_id'"), 1);
	assert_int_equal(store_user_by_external_id(st, "old-user", &u),
			 STORE_OK);
	assert_int_equal(u.id, old_id);
	assert_int_equal(store_sub_get(st, anon_id, "old", &cs, NULL),
			 STORE_OK);
	assert_int_equal(cs, CONSENT_SUBSCRIBED);
	assert_int_equal(store_user_insert(st, &dup), STORE_CONFLICT);
	assert_int_equal(store_user_insert(st, &anon1), STORE_OK);
	assert_int_equal(store_user_insert(st, &anon2), STORE_OK);
	assert_true(anon2.id > anon1.id && anon1.id > anon_id);
	assert_int_equal(sql_int(url, pg_admin
		? "SELECT count(*) FROM pg_indexes WHERE indexname ="
		  " 'users_external_id' AND indexdef LIKE '%WHERE%'"
		: "SELECT count(*) FROM sqlite_master WHERE name ="
		  " 'users_external_id' AND sql LIKE '%WHERE%'"), 1);
	assert_int_equal(sql_int(url, pg_admin
		? "SELECT count(*) FROM pg_indexes WHERE tablename = 'users'"
		: "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
		  " AND tbl_name = 'users'"), pg_admin ? 4 : 3);
	assert_int_not_equal(sql_try(url, "DELETE FROM users",
				     msg, sizeof msg), 0);
	assert_non_null(strstr(msg, "never deleted"));
	assert_int_equal(store_begin(st), STORE_OK);
	e = store_sub_put(st, anon2.id + 1000, "old", CONSENT_SUBSCRIBED,
			  CONSENT_SRC_API, 0, 30);
	assert_int_equal(e ? e : store_flush(st), STORE_INVALID);
	store_rollback(st);
	store_close(st);
	if (!pg_admin)
		remove_db(url);
}

static void test_user_attrs(void **state)
{
	fixture *f = *state;
	int64_t id = add_user(f->st, "a1");
	char *json = (char *)&json, *big = json_of_size(STORE_ATTRS_MAX);
	char *over = json_of_size(STORE_ATTRS_MAX + 1);
	store_user u;

	/* No such user. */
	assert_int_equal(store_user_attrs_get(f->st, id + 100, &json),
			 STORE_NOTFOUND);
	assert_null(json);
	assert_int_equal(store_user_attrs_set(f->st, id + 100, "{}", 2),
			 STORE_NOTFOUND);
	/* A new user has none; a set replaces the whole document. */
	assert_int_equal(store_user_attrs_get(f->st, id, &json), STORE_OK);
	assert_string_equal(json, "{}");
	free(json);
	assert_int_equal(store_user_attrs_set(f->st, id, "{\"x\":1}", 5),
			 STORE_OK);
	assert_int_equal(store_user_attrs_set(f->st, id,
					      "{\"first_name\":\"Ada\"}", 6),
			 STORE_OK);
	assert_int_equal(store_user_attrs_get(f->st, id, &json), STORE_OK);
	assert_string_equal(json, "{\"first_name\":\"Ada\"}");
	free(json);
	assert_int_equal(store_user_get(f->st, id, &u), STORE_OK);
	assert_int_equal(u.updated_ms, 6);
	/* The largest document there may be, whole, and not a byte more. */
	assert_int_equal(store_user_attrs_set(f->st, id, big, 7), STORE_OK);
	assert_int_equal(store_user_attrs_get(f->st, id, &json), STORE_OK);
	assert_int_equal(strlen(json), STORE_ATTRS_MAX);
	assert_string_equal(json, big);
	free(json);
	assert_int_equal(store_user_attrs_set(f->st, id, over, 8),
			 STORE_INVALID);
	assert_int_equal(store_user_attrs_get(f->st, id, &json), STORE_OK);
	assert_int_equal(strlen(json), STORE_ATTRS_MAX);
	free(json);
	free(big);
	free(over);
}

static void test_aliases(void **state)
{
	fixture *f = *state;
	int64_t a = add_user(f->st, "al-a"), b = add_user(f->st, "al-b");
	char long_name[STORE_ALIAS_MAX + 2];
	store_user u;

	assert_int_equal(store_user_by_alias(f->st, "crm", "1", &u),
			 STORE_NOTFOUND);
	assert_int_equal(store_alias_add(f->st, a, "crm", "1"), STORE_OK);
	assert_int_equal(store_user_by_alias(f->st, "crm", "1", &u), STORE_OK);
	assert_int_equal(u.id, a);
	assert_string_equal(u.external_id, "al-a");
	/* Its holder may add it again; nobody else may take it. */
	assert_int_equal(store_alias_add(f->st, a, "crm", "1"), STORE_OK);
	assert_int_equal(store_alias_add(f->st, b, "crm", "1"),
			 STORE_CONFLICT);
	assert_int_equal(store_user_by_alias(f->st, "crm", "1", &u), STORE_OK);
	assert_int_equal(u.id, a);
	/* The same name under another label is another alias. */
	assert_int_equal(store_alias_add(f->st, b, "shop", "1"), STORE_OK);
	assert_int_equal(store_alias_add(f->st, b, "crm", "2"), STORE_OK);
	assert_int_equal(store_user_by_alias(f->st, "shop", "1", &u), STORE_OK);
	assert_int_equal(u.id, b);
	assert_int_equal(store_user_by_alias(f->st, "CRM", "1", &u),
			 STORE_NOTFOUND);
	/* Both parts are needed and bounded; the user must exist. */
	memset(long_name, 'n', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	assert_int_equal(store_alias_add(f->st, a, "crm", long_name),
			 STORE_INVALID);
	long_name[STORE_ALIAS_MAX] = '\0';
	assert_int_equal(store_alias_add(f->st, a, "crm", long_name),
			 STORE_OK);
	assert_int_equal(store_alias_add(f->st, a, "", "x"), STORE_INVALID);
	assert_int_equal(store_alias_add(f->st, a, "crm", ""), STORE_INVALID);
	assert_int_equal(store_alias_add(f->st, b + 100, "crm", "9"),
			 STORE_INVALID);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM user_aliases"),
			 4);
}

/* What an events list handed its callback, newest first. */
typedef struct {
	size_t n, stop_at;
	int64_t id[16];
	char name[16][32];
	char props[16][64];
} seen_ev;

static int seen_ev_cb(void *ctx, const store_event *e)
{
	seen_ev *s = ctx;

	assert_true(s->n < 16);
	s->id[s->n] = e->id;
	snprintf(s->name[s->n], sizeof s->name[0], "%.31s", e->name);
	snprintf(s->props[s->n], sizeof s->props[0], "%s", e->props);
	s->n++;
	return s->stop_at && s->n >= s->stop_at;
}

static int64_t add_event(store *st, int64_t user, const char *name,
			 const char *props, int64_t t)
{
	store_event e;

	memset(&e, 0, sizeof e);
	e.user_id = user;
	snprintf(e.name, sizeof e.name, "%s", name);
	e.time_ms = t;
	e.created_ms = t + 1;
	e.props = props;
	assert_int_equal(store_event_insert(st, &e), STORE_OK);
	return e.id;
}

static void test_events(void **state)
{
	fixture *f = *state;
	int64_t u1 = add_user(f->st, "ev-1"), u2 = add_user(f->st, "ev-2");
	int64_t id[5];
	char name[8], *big = json_of_size(STORE_PROPS_MAX);
	char *over = json_of_size(STORE_PROPS_MAX + 1);
	store_event e;
	seen_ev s = {0};

	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof name, "e%d", i);
		id[i] = add_event(f->st, u1, name, i == 2 ? NULL
							  : "{\"k\":\"v\"}",
				  100 + i);
		assert_true(i == 0 || id[i] > id[i - 1]);
	}
	add_event(f->st, u2, "other", "{}", 100);
	/* Newest first, at most three, the user's own only. */
	assert_int_equal(store_events_by_user(f->st, u1, 3, seen_ev_cb, &s),
			 STORE_OK);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.id[0], id[4]);
	assert_int_equal(s.id[2], id[2]);
	assert_string_equal(s.name[0], "e4");
	assert_string_equal(s.props[0], "{\"k\":\"v\"}");
	assert_string_equal(s.props[2], "{}"); /* none given */
	memset(&s, 0, sizeof s);
	assert_int_equal(store_events_by_user(f->st, u1, 100, seen_ev_cb, &s),
			 STORE_OK);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.id[4], id[0]);
	memset(&s, 0, sizeof s);
	s.stop_at = 2;
	assert_int_equal(store_events_by_user(f->st, u1, 100, seen_ev_cb, &s),
			 STORE_OK);
	assert_int_equal(s.n, 2);
	memset(&s, 0, sizeof s);
	assert_int_equal(store_events_by_user(f->st, u1, 0, seen_ev_cb, &s),
			 STORE_OK);
	assert_int_equal(s.n, 0);
	assert_int_equal(store_events_by_user(f->st, u2 + 100, 10, seen_ev_cb,
					      &s), STORE_OK);
	assert_int_equal(s.n, 0);
	/* Properties up to their limit, whole; a user that exists. */
	add_event(f->st, u2, "big", big, 200);
	memset(&e, 0, sizeof e);
	e.user_id = u2;
	snprintf(e.name, sizeof e.name, "too-big");
	e.props = over;
	assert_int_equal(store_event_insert(f->st, &e), STORE_INVALID);
	e.props = NULL;
	e.user_id = u2 + 100;
	assert_int_equal(store_event_insert(f->st, &e), STORE_INVALID);
	assert_int_equal(sql_int(f->path, "SELECT max(length(props)) FROM "
				 "events"), STORE_PROPS_MAX);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events"), 7);
	free(big);
	free(over);
}

static void test_purchases(void **state)
{
	fixture *f = *state;
	store_purchase p;

	memset(&p, 0, sizeof p);
	p.user_id = add_user(f->st, "buyer");
	snprintf(p.product_id, sizeof p.product_id, "sku-1");
	snprintf(p.currency, sizeof p.currency, "USD");
	p.price = 9.99;
	p.quantity = 2;
	p.time_ms = 50;
	assert_int_equal(store_purchase_insert(f->st, &p), STORE_OK);
	p.props = "{\"size\":\"L\"}";
	assert_int_equal(store_purchase_insert(f->st, &p), STORE_OK);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM purchases "
				 "WHERE props = '{}' AND quantity = 2 AND "
				 "currency = 'USD'"), 1);
	assert_int_equal(sql_int(f->path, "SELECT round(sum(price) * 100) "
				 "FROM purchases"), 1998);
	p.price = NAN;
	assert_int_equal(store_purchase_insert(f->st, &p), STORE_INVALID);
	p.price = INFINITY;
	assert_int_equal(store_purchase_insert(f->st, &p), STORE_INVALID);
	p.price = 1;
	p.user_id += 100;
	assert_int_equal(store_purchase_insert(f->st, &p), STORE_INVALID);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM purchases"), 2);
}

/* Forms: consent texts kept once, a form and its boxes together or not
 * at all, and a secret that the first process to store it sets. */
static void test_forms(void **state)
{
	fixture *f = *state;
	store_group sms = group_of("f-sms", CHANNEL_SMS, 1);
	store_group mail = group_of("f-mail", CHANNEL_EMAIL, 1);
	char h1[STORE_HASH_MAX + 1], h2[STORE_HASH_MAX + 1];
	char secret[STORE_SECRET_MAX + 1] = "first", *text = NULL;
	store_form form, got;

	memset(h1, '1', STORE_HASH_MAX);
	memset(h2, '2', STORE_HASH_MAX);
	h1[STORE_HASH_MAX] = h2[STORE_HASH_MAX] = '\0';

	assert_int_equal(store_group_insert(f->st, &sms), STORE_OK);
	assert_int_equal(store_group_insert(f->st, &mail), STORE_OK);
	assert_int_equal(store_consent_text_put(f->st, h1, "Reply STOP", 5),
			 STORE_OK);
	assert_int_equal(store_consent_text_put(f->st, h1, "other", 6),
			 STORE_OK);
	assert_int_equal(store_consent_text_get(f->st, h1, &text), STORE_OK);
	assert_string_equal(text, "Reply STOP");
	free(text);
	assert_int_equal(store_consent_text_get(f->st, h2, &text),
			 STORE_NOTFOUND);
	assert_null(text);
	assert_int_equal(store_consent_text_put(f->st, h2, "E-mail me", 7),
			 STORE_OK);

	memset(&form, 0, sizeof form);
	strcpy(form.id, "join");
	strcpy(form.title, "Join us");
	strcpy(form.redirect_url, "https://a.example/");
	form.n_groups = 2;
	strcpy(form.groups[0].group_id, "f-mail");
	strcpy(form.groups[0].text_sha256, h2);
	strcpy(form.groups[1].group_id, "f-sms");
	strcpy(form.groups[1].text_sha256, h1);
	form.created_ms = form.updated_ms = 9;
	assert_int_equal(store_form_insert(f->st, &form), STORE_OK);
	assert_int_equal(store_form_insert(f->st, &form), STORE_CONFLICT);
	assert_int_equal(store_form_get(f->st, "join", &got), STORE_OK);
	assert_memory_equal(&got, &form, sizeof got);
	assert_int_equal(store_form_get(f->st, "nope", &got), STORE_NOTFOUND);
	/* A box of a group that does not exist: no form at all. */
	strcpy(form.id, "broken");
	strcpy(form.groups[1].group_id, "no-such-group");
	assert_int_equal(store_form_insert(f->st, &form), STORE_INVALID);
	assert_int_equal(store_form_get(f->st, "broken", &got), STORE_NOTFOUND);

	assert_int_equal(store_secret_ensure(f->st, "k", secret), STORE_OK);
	assert_string_equal(secret, "first");
	strcpy(secret, "second");
	assert_int_equal(store_secret_ensure(f->st, "k", secret), STORE_OK);
	assert_string_equal(secret, "first");
	secret[0] = '\0';
	assert_int_equal(store_secret_ensure(f->st, "k", secret),
			 STORE_INVALID);
}

static void test_idempotency(void **state)
{
	fixture *f = *state;
	char *body = (char *)&body, key[STORE_IDEM_KEY_MAX + 2];
	char *big = json_of_size(STORE_IDEM_BODY_MAX);
	char *over = json_of_size(STORE_IDEM_BODY_MAX + 1);
	int status = 0;

	assert_int_equal(store_idem_get(f->st, "/users/track", "k1", &status,
					&body), STORE_NOTFOUND);
	assert_null(body);
	assert_int_equal(store_idem_put(f->st, "/users/track", "k1", 201,
					"{\"message\":\"success\"}", 10),
			 STORE_OK);
	assert_int_equal(store_idem_get(f->st, "/users/track", "k1", &status,
					&body), STORE_OK);
	assert_int_equal(status, 201);
	assert_string_equal(body, "{\"message\":\"success\"}");
	free(body);
	/* The first answer is kept. */
	assert_int_equal(store_idem_put(f->st, "/users/track", "k1", 400,
					"{}", 11), STORE_CONFLICT);
	assert_int_equal(store_idem_get(f->st, "/users/track", "k1", &status,
					&body), STORE_OK);
	assert_int_equal(status, 201);
	free(body);
	/* Keys belong to their route. */
	assert_int_equal(store_idem_put(f->st, "/subscription/status/set",
					"k1", 201, big, 12), STORE_OK);
	assert_int_equal(store_idem_get(f->st, "/subscription/status/set",
					"k1", &status, &body), STORE_OK);
	assert_string_equal(body, big);
	free(body);
	/* It is kept with the change: a rolled-back answer is no answer. */
	assert_int_equal(store_begin(f->st), STORE_OK);
	assert_int_equal(store_idem_put(f->st, "/users/track", "k2", 201,
					"{}", 13), STORE_OK);
	assert_int_equal(store_idem_put(f->st, "/users/track", "k1", 201,
					"{}", 13), STORE_CONFLICT);
	assert_int_equal(store_idem_get(f->st, "/users/track", "k2", &status,
					&body), STORE_OK);
	free(body);
	store_rollback(f->st);
	assert_int_equal(store_idem_get(f->st, "/users/track", "k2", &status,
					&body), STORE_NOTFOUND);
	/* Bounded key and answer; a key is needed. */
	memset(key, 'k', sizeof key - 1);
	key[sizeof key - 1] = '\0';
	assert_int_equal(store_idem_put(f->st, "/r", key, 201, "{}", 14),
			 STORE_INVALID);
	key[STORE_IDEM_KEY_MAX] = '\0';
	assert_int_equal(store_idem_put(f->st, "/r", key, 201, "{}", 14),
			 STORE_OK);
	assert_int_equal(store_idem_put(f->st, "/r", "k3", 201, over, 14),
			 STORE_INVALID);
	assert_int_equal(store_idem_put(f->st, "/r", "", 201, "{}", 14),
			 STORE_INVALID);
	free(big);
	free(over);
}

static store_flow flow_of(const char *id, const char *event,
			  const char *group, int enabled)
{
	store_flow fl;

	memset(&fl, 0, sizeof fl);
	snprintf(fl.id, sizeof fl.id, "%s", id);
	snprintf(fl.name, sizeof fl.name, "Flow %s", id);
	snprintf(fl.entry_event, sizeof fl.entry_event, "%s", event);
	snprintf(fl.entry_group, sizeof fl.entry_group, "%s", group);
	fl.enabled = enabled;
	fl.created_ms = fl.updated_ms = 20;
	return fl;
}

static void add_flow(store *st, const char *id, const char *event,
		     const char *group, int enabled)
{
	store_flow fl = flow_of(id, event, group, enabled);

	assert_int_equal(store_flow_insert(st, &fl, "{\"v\":1}"), STORE_OK);
}

/* Flow ids a list handed its callback, joined by spaces. */
static int flow_ids_cb(void *ctx, const store_flow *fl)
{
	char *s = ctx;
	size_t n = strlen(s);

	snprintf(s + n, 256 - n, "%s%s", n ? " " : "", fl->id);
	return 0;
}

static const char *flows_for(store *st, const char *event,
			     const char *group, char out[256])
{
	out[0] = '\0';
	if (event)
		assert_int_equal(store_flows_for_event(st, event, flow_ids_cb,
						       out), STORE_OK);
	else if (group)
		assert_int_equal(store_flows_for_group(st, group, flow_ids_cb,
						       out), STORE_OK);
	else
		assert_int_equal(store_flow_list(st, flow_ids_cb, out),
				 STORE_OK);
	return out;
}

static void test_flows(void **state)
{
	fixture *f = *state;
	store_flow fl = flow_of("welcome", "signup", "", 1), got;
	char *def = (char *)&def;

	assert_int_equal(store_flow_get(f->st, "welcome", &got),
			 STORE_NOTFOUND);
	assert_int_equal(store_flow_insert(f->st, &fl, "{\"v\":1}"), STORE_OK);
	assert_int_equal(store_flow_insert(f->st, &fl, "{\"v\":9}"),
			 STORE_CONFLICT);
	assert_int_equal(store_flow_get(f->st, "welcome", &got), STORE_OK);
	assert_string_equal(got.name, "Flow welcome");
	assert_int_equal(got.version, 1);
	assert_int_equal(got.enabled, 1);
	assert_string_equal(got.entry_event, "signup");
	assert_string_equal(got.entry_group, "");
	assert_int_equal(got.created_ms, 20);
	/* A new version: the old definition stays readable. */
	snprintf(fl.name, sizeof fl.name, "Welcome, renamed");
	fl.enabled = 0; /* not the new version's business */
	fl.updated_ms = 30;
	assert_int_equal(store_flow_new_version(f->st, &fl, "{\"v\":2}"),
			 STORE_OK);
	assert_int_equal(fl.version, 2);
	assert_int_equal(store_flow_def(f->st, "welcome", 1, &def), STORE_OK);
	assert_string_equal(def, "{\"v\":1}");
	free(def);
	assert_int_equal(store_flow_def(f->st, "welcome", 2, &def), STORE_OK);
	assert_string_equal(def, "{\"v\":2}");
	free(def);
	assert_int_equal(store_flow_def(f->st, "welcome", 3, &def),
			 STORE_NOTFOUND);
	assert_null(def);
	assert_int_equal(store_flow_get(f->st, "welcome", &got), STORE_OK);
	assert_int_equal(got.version, 2);
	assert_int_equal(got.enabled, 1);
	assert_string_equal(got.name, "Welcome, renamed");
	assert_int_equal(got.updated_ms, 30);
	assert_int_equal(got.created_ms, 20);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM "
				 "flow_versions"), 2);
	snprintf(fl.id, sizeof fl.id, "ghost");
	assert_int_equal(store_flow_new_version(f->st, &fl, "{}"),
			 STORE_NOTFOUND);
	assert_int_equal(store_flow_set_enabled(f->st, "ghost", 1, 5),
			 STORE_NOTFOUND);
	/* Definitions are bounded, and needed. */
	{
		char *over = json_of_size(STORE_FLOW_DEF_MAX + 1);
		store_flow big = flow_of("big", "", "", 0);

		assert_int_equal(store_flow_insert(f->st, &big, over),
				 STORE_INVALID);
		assert_int_equal(store_flow_insert(f->st, &big, NULL),
				 STORE_INVALID);
		assert_int_equal(store_flow_get(f->st, "big", &got),
				 STORE_NOTFOUND);
		free(over);
	}
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM "
				 "flow_versions"), 2);
}

static void test_flows_for_entry(void **state)
{
	fixture *f = *state;
	store_flow fl = flow_of("c", "signup", "", 1);
	char ids[256];

	add_flow(f->st, "b", "signup", "", 1);
	add_flow(f->st, "a", "signup", "", 0);
	add_flow(f->st, "sms-1", "", "promo", 1);
	add_flow(f->st, "sms-2", "", "promo", 0);
	add_flow(f->st, "Z", "purchase", "", 1);
	assert_int_equal(store_flow_insert(f->st, &fl, "{}"), STORE_OK);
	/* Enabled ones only, in id order, byte by byte. */
	assert_string_equal(flows_for(f->st, "signup", NULL, ids), "b c");
	assert_string_equal(flows_for(f->st, NULL, "promo", ids), "sms-1");
	assert_string_equal(flows_for(f->st, "none", NULL, ids), "");
	assert_string_equal(flows_for(f->st, "", NULL, ids), "");
	assert_string_equal(flows_for(f->st, NULL, "", ids), "");
	assert_string_equal(flows_for(f->st, NULL, NULL, ids),
			    "Z a b c sms-1 sms-2");
	assert_int_equal(store_flow_set_enabled(f->st, "a", 1, 40), STORE_OK);
	assert_int_equal(store_flow_set_enabled(f->st, "b", 0, 40), STORE_OK);
	assert_string_equal(flows_for(f->st, "signup", NULL, ids), "a c");
	/* A new version may move a flow to another entry. */
	snprintf(fl.entry_event, sizeof fl.entry_event, "purchase");
	assert_int_equal(store_flow_new_version(f->st, &fl, "{}"), STORE_OK);
	assert_string_equal(flows_for(f->st, "signup", NULL, ids), "a");
	assert_string_equal(flows_for(f->st, "purchase", NULL, ids), "Z c");
}

static store_run run_of(const char *flow, int64_t user, store_run_state s,
			int64_t next_ms)
{
	store_run r;

	memset(&r, 0, sizeof r);
	snprintf(r.flow_id, sizeof r.flow_id, "%s", flow);
	r.version = 1;
	r.user_id = user;
	r.state = s;
	r.next_ms = next_ms;
	r.created_ms = r.updated_ms = 10;
	r.entry_props = "{\"phone_number\":\"+12223334444\"}";
	return r;
}

static int64_t add_run(store *st, const char *flow, int64_t user,
		       store_run_state s, int64_t next_ms)
{
	store_run r = run_of(flow, user, s, next_ms);

	assert_int_equal(store_run_insert(st, &r, 0), STORE_OK);
	return r.id;
}

/* What a claim or list of runs handed its callback, in order. */
typedef struct {
	size_t n, stop_at;
	int64_t id[64], next_ms[64], user[64];
	store_run_state state[64];
	char entry[64][48], event[64][16];
} seen_run;

static int seen_run_cb(void *ctx, const store_run *r)
{
	seen_run *s = ctx;

	assert_true(s->n < 64);
	s->id[s->n] = r->id;
	s->next_ms[s->n] = r->next_ms;
	s->user[s->n] = r->user_id;
	s->state[s->n] = r->state;
	snprintf(s->entry[s->n], sizeof s->entry[0], "%s", r->entry_props);
	snprintf(s->event[s->n], sizeof s->event[0], "%s",
		 r->event_props ? r->event_props : "(null)");
	s->n++;
	return s->stop_at && s->n >= s->stop_at;
}

static seen_run *claim_runs(store *st, int64_t now, int64_t lease,
			    size_t limit)
{
	seen_run *s = calloc(1, sizeof *s);

	assert_non_null(s);
	assert_int_equal(store_run_claim(st, now, lease, limit, seen_run_cb,
					 s), STORE_OK);
	return s;
}

static void test_runs(void **state)
{
	fixture *f = *state;
	int64_t u = add_user(f->st, "run-u"), v = add_user(f->st, "run-v");
	store_run r, got;
	seen_run *s;
	int64_t next;

	add_flow(f->st, "fl", "signup", "", 1);
	add_flow(f->st, "other", "signup", "", 1);
	r = run_of("fl", u, STORE_RUN_ACTIVE, 100);
	r.event_props = "{\"k\":1}";
	assert_int_equal(store_run_insert(f->st, &r, 1), STORE_OK);
	assert_true(r.id > 0);
	assert_int_equal(store_run_get(f->st, r.id, &got), STORE_OK);
	assert_string_equal(got.flow_id, "fl");
	assert_int_equal(got.user_id, u);
	assert_int_equal(got.state, STORE_RUN_ACTIVE);
	assert_int_equal(got.next_ms, 100);
	assert_string_equal(got.entry_props,
			    "{\"phone_number\":\"+12223334444\"}");
	assert_string_equal(got.event_props, "{\"k\":1}");
	store_run_free(&got);
	assert_null(got.entry_props);
	store_run_free(&got); /* twice is harmless */
	/* Re-entry off: one run of a flow per user, ever. */
	assert_int_equal(store_run_insert(f->st, &r, 1), STORE_CONFLICT);
	r.state = STORE_RUN_DONE;
	assert_int_equal(store_run_update(f->st, &r), STORE_OK);
	assert_int_equal(store_run_insert(f->st, &r, 1), STORE_CONFLICT);
	/* Re-entry on: as many as come; and then off finds them too. */
	r = run_of("fl", v, STORE_RUN_ACTIVE, 200);
	r.entry_props = NULL;
	assert_int_equal(store_run_insert(f->st, &r, 0), STORE_OK);
	assert_int_equal(store_run_insert(f->st, &r, 0), STORE_OK);
	assert_int_equal(store_run_insert(f->st, &r, 1), STORE_CONFLICT);
	assert_int_equal(store_run_get(f->st, r.id, &got), STORE_OK);
	assert_string_equal(got.entry_props, "{}");
	assert_null(got.event_props);
	store_run_free(&got);
	/* Another flow is another matter. */
	r = run_of("other", u, STORE_RUN_ACTIVE, 50);
	assert_int_equal(store_run_insert(f->st, &r, 1), STORE_OK);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM flow_runs"),
			 4);
	/* Newest first, of one flow, bounded. */
	s = calloc(1, sizeof *s);
	assert_non_null(s);
	assert_int_equal(store_runs_by_flow(f->st, "fl", 2, seen_run_cb, s),
			 STORE_OK);
	assert_int_equal(s->n, 2);
	assert_true(s->id[0] > s->id[1]);
	assert_int_equal(s->user[0], v);
	assert_string_equal(s->event[0], "(null)");
	free(s);
	/* Only active runs are due. */
	assert_int_equal(store_run_next_due(f->st, &next), STORE_OK);
	assert_int_equal(next, 50);
	s = claim_runs(f->st, 60, 1000, 10);
	assert_int_equal(s->n, 1);
	free(s);
	assert_int_equal(store_run_next_due(f->st, &next), STORE_OK);
	assert_int_equal(next, 200);
	/* Bad input, and no such run / flow / user. */
	r = run_of("fl", u, STORE_RUN__COUNT, 0);
	assert_int_equal(store_run_insert(f->st, &r, 0), STORE_INVALID);
	r = run_of("ghost", u, STORE_RUN_ACTIVE, 0);
	assert_int_equal(store_run_insert(f->st, &r, 0), STORE_INVALID);
	r = run_of("fl", v + 100, STORE_RUN_ACTIVE, 0);
	assert_int_equal(store_run_insert(f->st, &r, 0), STORE_INVALID);
	r = run_of("fl", u, STORE_RUN_ACTIVE, 0);
	r.entry_props = json_of_size(STORE_PROPS_MAX + 1);
	assert_int_equal(store_run_insert(f->st, &r, 0), STORE_INVALID);
	free(r.entry_props);
	r = run_of("fl", u, STORE_RUN_ACTIVE, 0);
	r.id = 1000000;
	assert_int_equal(store_run_update(f->st, &r), STORE_NOTFOUND);
	assert_int_equal(store_run_get(f->st, r.id, &got), STORE_NOTFOUND);
	assert_null(got.entry_props);
}

static void test_run_update(void **state)
{
	fixture *f = *state;
	int64_t u = add_user(f->st, "upd");
	store_run r, got;

	add_flow(f->st, "fl", "signup", "", 1);
	r = run_of("fl", u, STORE_RUN_ACTIVE, 100);
	assert_int_equal(store_run_insert(f->st, &r, 0), STORE_OK);
	r.state = STORE_RUN_FAILED;
	r.step = 3;
	r.attempts = 5;
	r.next_ms = 0;
	r.updated_ms = 77;
	/* Only the runner's fields are written. */
	r.user_id = u + 1;
	r.entry_props = "{\"changed\":1}";
	r.version = 9;
	assert_int_equal(store_run_update(f->st, &r), STORE_OK);
	assert_int_equal(store_run_get(f->st, r.id, &got), STORE_OK);
	assert_int_equal(got.state, STORE_RUN_FAILED);
	assert_int_equal(got.step, 3);
	assert_int_equal(got.attempts, 5);
	assert_int_equal(got.next_ms, 0);
	assert_int_equal(got.updated_ms, 77);
	assert_int_equal(got.created_ms, 10);
	assert_int_equal(got.user_id, u);
	assert_int_equal(got.version, 1);
	assert_string_equal(got.entry_props,
			    "{\"phone_number\":\"+12223334444\"}");
	store_run_free(&got);
	r.state = STORE_RUN__COUNT;
	assert_int_equal(store_run_update(f->st, &r), STORE_INVALID);
}

static void test_run_state_names(void **state)
{
	static const char *const want[] = {"active", "running", "done",
					   "exited", "failed"};

	(void)state;
	for (int i = 0; i < STORE_RUN__COUNT; i++)
		assert_string_equal(store_run_state_name((store_run_state)i),
				    want[i]);
	assert_string_equal(store_run_state_name(STORE_RUN__COUNT),
			    "unknown");
	store_run_free(NULL);
}

static void test_run_claim(void **state)
{
	fixture *f = *state;
	int64_t u = add_user(f->st, "claim"), id[6];
	store_run got;
	seen_run *s;

	add_flow(f->st, "fl", "signup", "", 1);
	id[0] = add_run(f->st, "fl", u, STORE_RUN_ACTIVE, 100);
	id[1] = add_run(f->st, "fl", u, STORE_RUN_ACTIVE, 500); /* later */
	id[2] = add_run(f->st, "fl", u, STORE_RUN_DONE, 0);
	id[3] = add_run(f->st, "fl", u, STORE_RUN_ACTIVE, 0);
	id[4] = add_run(f->st, "fl", u, STORE_RUN_EXITED, 0);
	id[5] = add_run(f->st, "fl", u, STORE_RUN_ACTIVE, 200);

	/* Due at 200: 0, 3, 5; oldest first, two at most. */
	s = claim_runs(f->st, 200, 1000, 2);
	assert_int_equal(s->n, 2);
	assert_int_equal(s->id[0], id[0]);
	assert_int_equal(s->id[1], id[3]);
	for (size_t i = 0; i < s->n; i++) {
		assert_int_equal(s->state[i], STORE_RUN_RUNNING);
		assert_int_equal(s->next_ms[i], 1200);
	}
	assert_string_equal(s->entry[1], "{\"phone_number\":\"+12223334444\"}");
	free(s);
	assert_int_equal(store_run_get(f->st, id[0], &got), STORE_OK);
	assert_int_equal(got.state, STORE_RUN_RUNNING);
	assert_int_equal(got.next_ms, 1200);
	assert_int_equal(got.updated_ms, 200);
	store_run_free(&got);
	/* Claimed runs are not claimed again while their lease runs. */
	s = claim_runs(f->st, 300, 1000, 10);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->id[0], id[5]);
	free(s);
	s = claim_runs(f->st, 1199, 1000, 10);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->id[0], id[1]);
	free(s);
	/* A runner died: at its lease's end its runs come back, in order. */
	s = claim_runs(f->st, 1200, 50, 10);
	assert_int_equal(s->n, 2);
	assert_int_equal(s->id[0], id[0]);
	assert_int_equal(s->id[1], id[3]);
	assert_int_equal(s->next_ms[0], 1250);
	free(s);
	/* Finished runs never; no overflow; a limit of 0 claims none. */
	s = claim_runs(f->st, INT64_MAX, 1000, 100);
	assert_int_equal(s->n, 4);
	assert_int_equal(s->next_ms[0], INT64_MAX);
	for (size_t i = 0; i < s->n; i++)
		assert_true(s->id[i] != id[2] && s->id[i] != id[4]);
	free(s);
	s = claim_runs(f->st, INT64_MAX, 0, 0);
	assert_int_equal(s->n, 0);
	free(s);
	/* A callback that stops: the rest stay claimed all the same. */
	assert_int_equal(store_run_update(f->st, &(store_run){
		.id = id[0], .state = STORE_RUN_ACTIVE, .next_ms = 0}),
		STORE_OK);
	assert_int_equal(store_run_update(f->st, &(store_run){
		.id = id[3], .state = STORE_RUN_ACTIVE, .next_ms = 0}),
		STORE_OK);
	s = calloc(1, sizeof *s);
	assert_non_null(s);
	s->stop_at = 1;
	assert_int_equal(store_run_claim(f->st, 10, 100, 5, seen_run_cb, s),
			 STORE_OK);
	assert_int_equal(s->n, 1);
	free(s);
	s = claim_runs(f->st, 50, 100, 10);
	assert_int_equal(s->n, 0);
	free(s);
}

static void test_run_claim_threads(void **state)
{
	fixture *f = *state;
	int64_t u = add_user(f->st, "many"), first = 0;

	add_flow(f->st, "fl", "signup", "", 1);
	for (int i = 0; i < CLAIM_MSGS; i++) {
		int64_t id = add_run(f->st, "fl", u, STORE_RUN_ACTIVE, 0);

		if (i == 0)
			first = id;
		assert_int_equal(id, first + i);
	}
	claim_race(f, 1, first);
}

/* Writers letting the same users into a flow without re-entry at once,
 * each in a transaction of its own: one run per user, whoever wins. */
#define ENTRANTS 4
#define ENTRY_USERS 20

typedef struct {
	fixture *f;
	pthread_barrier_t *go;
	const int64_t *users;
	int won[ENTRY_USERS], failed;
} entrant;

static void *entrant_main(void *arg)
{
	entrant *e = arg;
	store *st = e->f->st;

	for (int i = 0; i < ENTRY_USERS; i++) {
		store_run r = run_of("once", e->users[i], STORE_RUN_ACTIVE, 0);
		store_err err;

		pthread_barrier_wait(e->go);
		if (store_begin(st) != STORE_OK) {
			e->failed++;
			continue;
		}
		err = store_run_insert(st, &r, 1);
		if (err == STORE_OK && store_commit(st) == STORE_OK)
			e->won[i] = 1;
		else if (err == STORE_CONFLICT && store_commit(st) == STORE_OK)
			continue;
		else {
			store_rollback(st);
			e->failed++;
		}
	}
	store_thread_done(st);
	return NULL;
}

static void test_run_once_race(void **state)
{
	fixture *f = *state;
	entrant *e = calloc(ENTRANTS, sizeof *e);
	pthread_barrier_t go;
	pthread_t t[ENTRANTS];
	int64_t users[ENTRY_USERS];
	char ext[24];

	assert_non_null(e);
	add_flow(f->st, "once", "signup", "", 1);
	for (int i = 0; i < ENTRY_USERS; i++) {
		snprintf(ext, sizeof ext, "race-%d", i);
		users[i] = add_user(f->st, ext);
	}
	assert_int_equal(pthread_barrier_init(&go, NULL, ENTRANTS), 0);
	for (int i = 0; i < ENTRANTS; i++) {
		e[i].f = f;
		e[i].go = &go;
		e[i].users = users;
		assert_int_equal(pthread_create(&t[i], NULL, entrant_main,
						&e[i]), 0);
	}
	for (int i = 0; i < ENTRANTS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (int u = 0; u < ENTRY_USERS; u++) {
		int winners = 0;

		for (int i = 0; i < ENTRANTS; i++)
			winners += e[i].won[u];
		assert_int_equal(winners, 1);
	}
	for (int i = 0; i < ENTRANTS; i++)
		assert_int_equal(e[i].failed, 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM flow_runs"),
			 ENTRY_USERS);
	pthread_barrier_destroy(&go);
	free(e);
}

/* The loser of a race for a user's entry while the winner's transaction
 * is still open: it waits for that transaction, then finds the run. */
typedef struct {
	fixture *f;
	int64_t user;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int inserted;
	store_err second;
} entry_holder;

static void *entry_holder_main(void *arg)
{
	entry_holder *h = arg;
	store_run r = run_of("once", h->user, STORE_RUN_ACTIVE, 0);
	int ok = store_begin(h->f->st) == STORE_OK &&
		 store_run_insert(h->f->st, &r, 1) == STORE_OK;

	pthread_mutex_lock(&h->mu);
	h->inserted = ok ? 1 : -1;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	usleep(200 * 1000); /* the other one is waiting by now */
	if (ok && store_commit(h->f->st) != STORE_OK)
		h->inserted = -1;
	store_thread_done(h->f->st);
	return NULL;
}

static void *entry_second_main(void *arg)
{
	entry_holder *h = arg;
	store_run r = run_of("once", h->user, STORE_RUN_ACTIVE, 0);

	h->second = store_begin(h->f->st);
	if (h->second == STORE_OK) {
		h->second = store_run_insert(h->f->st, &r, 1);
		if (store_commit(h->f->st) != STORE_OK)
			h->second = STORE_IO;
	}
	store_thread_done(h->f->st);
	return NULL;
}

static void test_run_once_waits(void **state)
{
	fixture *f = *state;
	entry_holder *h = calloc(1, sizeof *h);
	pthread_t t1, t2;

	assert_non_null(h);
	add_flow(f->st, "once", "signup", "", 1);
	h->f = f;
	h->user = add_user(f->st, "waiter");
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	assert_int_equal(pthread_create(&t1, NULL, entry_holder_main, h), 0);
	pthread_mutex_lock(&h->mu);
	while (!h->inserted)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
	assert_int_equal(h->inserted, 1);
	assert_int_equal(pthread_create(&t2, NULL, entry_second_main, h), 0);
	assert_int_equal(pthread_join(t1, NULL), 0);
	assert_int_equal(pthread_join(t2, NULL), 0);
	assert_int_equal(h->inserted, 1);
	assert_int_equal(h->second, STORE_CONFLICT);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM flow_runs"), 1);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

/* What a step log list handed its callback. */
typedef struct {
	size_t n;
	int step[8], attempt[8], http[8];
	char outcome[8][24];
	size_t detail_len[8];
} seen_logs;

static int seen_logs_cb(void *ctx, const store_step_log *l)
{
	seen_logs *s = ctx;

	assert_true(s->n < 8);
	s->step[s->n] = l->step;
	s->attempt[s->n] = l->attempt;
	s->http[s->n] = l->http_status;
	snprintf(s->outcome[s->n], sizeof s->outcome[0], "%s", l->outcome);
	s->detail_len[s->n] = strlen(l->detail);
	s->n++;
	return 0;
}

static store_step_log *log_of(int64_t run, int step, int attempt,
			      const char *outcome, int http)
{
	store_step_log *l = calloc(1, sizeof *l);

	assert_non_null(l);
	l->run_id = run;
	l->step = step;
	l->attempt = attempt;
	l->time_ms = 1000 + attempt;
	snprintf(l->outcome, sizeof l->outcome, "%s", outcome);
	l->http_status = http;
	return l;
}

static void test_step_logs(void **state)
{
	fixture *f = *state;
	int64_t u = add_user(f->st, "logs"), run, other;
	store_step_log *l;
	seen_logs s = {0};

	add_flow(f->st, "fl", "signup", "", 1);
	run = add_run(f->st, "fl", u, STORE_RUN_ACTIVE, 0);
	other = add_run(f->st, "fl", u, STORE_RUN_ACTIVE, 0);
	l = log_of(run, 0, 1, "retry", 503);
	memset(l->detail, 'd', STORE_EXCERPT_MAX);
	assert_int_equal(store_step_log_add(f->st, l), STORE_OK);
	free(l);
	l = log_of(run, 0, 2, "ok", 201);
	snprintf(l->detail, sizeof l->detail, "{\"message\":\"success\"}");
	assert_int_equal(store_step_log_add(f->st, l), STORE_OK);
	free(l);
	l = log_of(other, 1, 1, "sent", 0);
	assert_int_equal(store_step_log_add(f->st, l), STORE_OK);
	free(l);
	assert_int_equal(store_step_logs(f->st, run, seen_logs_cb, &s),
			 STORE_OK);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.attempt[0], 1);
	assert_string_equal(s.outcome[0], "retry");
	assert_int_equal(s.http[0], 503);
	assert_int_equal(s.detail_len[0], STORE_EXCERPT_MAX);
	assert_int_equal(s.attempt[1], 2);
	assert_int_equal(s.http[1], 201);
	memset(&s, 0, sizeof s);
	assert_int_equal(store_step_logs(f->st, other + 100, seen_logs_cb,
					 &s), STORE_OK);
	assert_int_equal(s.n, 0);
	/* Only for a run that exists. */
	l = log_of(other + 100, 0, 1, "ok", 200);
	assert_int_equal(store_step_log_add(f->st, l), STORE_INVALID);
	free(l);
}

/* The writer's path on /users/track: a profile made in the transaction
 * (buffered on PostgreSQL) gets attributes, an alias, an event and a run;
 * a taken alias, key or entry is answered at once and the transaction
 * goes on. */
static void test_flow_writes_within_transaction(void **state)
{
	fixture *f = *state;
	store_user u = user_of("tx-flow", "+15551234567", "", 1);
	int64_t other = add_user(f->st, "holder");
	store_purchase p;
	store_step_log *l;
	store_run r, got;
	store_user by;
	char *json = NULL;
	int64_t ev;

	add_flow(f->st, "fl", "signup", "", 1);
	assert_int_equal(store_alias_add(f->st, other, "crm", "taken"),
			 STORE_OK);
	assert_int_equal(store_idem_put(f->st, "/users/track", "seen", 201,
					"{}", 1), STORE_OK);

	assert_int_equal(store_begin(f->st), STORE_OK);
	assert_int_equal(store_user_insert(f->st, &u), STORE_OK);
	assert_int_equal(store_user_attrs_get(f->st, u.id, &json), STORE_OK);
	assert_string_equal(json, "{}");
	free(json);
	assert_int_equal(store_user_attrs_set(f->st, u.id, "{\"a\":1}", 2),
			 STORE_OK);
	assert_int_equal(store_alias_add(f->st, u.id, "crm", "taken"),
			 STORE_CONFLICT);
	assert_int_equal(store_alias_add(f->st, u.id, "crm", "mine"),
			 STORE_OK);
	assert_int_equal(store_user_by_alias(f->st, "crm", "mine", &by),
			 STORE_OK);
	assert_int_equal(by.id, u.id);
	ev = add_event(f->st, u.id, "signup", "{\"p\":1}", 3);
	assert_true(ev > 0);
	memset(&p, 0, sizeof p);
	p.user_id = u.id;
	snprintf(p.product_id, sizeof p.product_id, "sku");
	snprintf(p.currency, sizeof p.currency, "EUR");
	p.price = 1.5;
	p.quantity = 1;
	assert_int_equal(store_purchase_insert(f->st, &p), STORE_OK);
	r = run_of("fl", u.id, STORE_RUN_ACTIVE, 5);
	r.event_props = "{\"p\":1}";
	assert_int_equal(store_run_insert(f->st, &r, 1), STORE_OK);
	assert_int_equal(store_run_insert(f->st, &r, 1), STORE_CONFLICT);
	l = log_of(r.id, 0, 1, "ok", 0);
	assert_int_equal(store_step_log_add(f->st, l), STORE_OK);
	free(l);
	assert_int_equal(store_idem_put(f->st, "/users/track", "seen", 201,
					"{}", 4), STORE_CONFLICT);
	assert_int_equal(store_idem_put(f->st, "/users/track", "new", 201,
					"{}", 4), STORE_OK);
	/* Reads in the transaction see its writes. */
	assert_int_equal(store_run_get(f->st, r.id, &got), STORE_OK);
	assert_string_equal(got.event_props, "{\"p\":1}");
	store_run_free(&got);
	assert_int_equal(store_flush(f->st), STORE_OK);
	assert_int_equal(store_commit(f->st), STORE_OK);

	assert_int_equal(store_user_attrs_get(f->st, u.id, &json), STORE_OK);
	assert_string_equal(json, "{\"a\":1}");
	free(json);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events"), 1);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM purchases"), 1);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM flow_runs"), 1);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM step_logs"), 1);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM user_aliases"),
			 2);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM idempotency"),
			 2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_migrations_once),
		T(test_reopen_keeps_data),
		T(test_open_urls),
		T(test_url_redact),
		T(test_strerror_and_durability),
		T(test_keys),
		T(test_key_conflicts),
		T(test_key_revoke),
		T(test_sdk_key_origins),
		T(test_pg_key_cache_ttl),
		T(test_pg_key_cache_told),
		T(test_pg_key_cache_own_revoke),
		T(test_groups),
		T(test_tx_id),
		T(test_numbers),
		T(test_users),
		T(test_user_update_contact),
		T(test_users_within_transaction),
		T(test_subs_within_transaction),
		T(test_prefetch),
		T(test_user_limits),
		T(test_subscriptions),
		T(test_ledger),
		T(test_ledger_paging),
		T(test_ledger_large_evidence),
		T(test_ledger_append_only),
		T(test_profiles_and_groups_kept),
		T(test_transactions),
		T(test_threads_share_data),
		T(test_migrate_from_v1),
		T(test_group_sms),
		T(test_inbound),
		T(test_sms_fields),
		T(test_outbox_insert),
		T(test_sms_conflicts_within_transaction),
		T(test_outbox_claim),
		T(test_outbox_claim_stops),
		T(test_outbox_update),
		T(test_outbox_list),
		T(test_out_state_names),
		T(test_outbox_next_due),
		T(test_doi),
		T(test_outbox_claim_threads),
		T(test_outbox_claim_skip_locked),
		T(test_migrate_from_v2),
		T(test_migrate_from_v9),
		T(test_user_attrs),
		T(test_aliases),
		T(test_events),
		T(test_purchases),
		T(test_idempotency),
		T(test_forms),
		T(test_flows),
		T(test_flows_for_entry),
		T(test_runs),
		T(test_run_update),
		T(test_run_state_names),
		T(test_run_claim),
		T(test_run_claim_threads),
		T(test_run_once_race),
		T(test_run_once_waits),
		T(test_step_logs),
		T(test_flow_writes_within_transaction),
	};
#undef T

	/* No "applied migration" per test; the few errors provoked on
	 * purpose (a missing directory, COMMIT outside a transaction) still
	 * print one line each. */
	log_setup(LOG_TEXT, LOG_ERROR);
	pg_admin = getenv("OPTD_TEST_PG_URL");
	if (pg_admin && !*pg_admin)
		pg_admin = NULL;
	return cmocka_run_group_tests_name(pg_admin ? "store (postgres)"
						    : "store", tests, NULL,
					   NULL);
}
