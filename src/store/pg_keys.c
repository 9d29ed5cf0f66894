/*
 * pg_keys: live API keys answered from memory, so that an HTTP request
 * on PostgreSQL does not pay a round trip and a server process's time for
 * its key on every call.
 *
 * A key never changes once made, except that it may be revoked (or its
 * row deleted by hand), so a key found by hash can be kept as long as
 * nothing changed api_keys since. Every such change makes a trigger
 * (migration 7) NOTIFY optd_keys; each process has one listener thread,
 * on a connection of its own, that empties the cache on every
 * notification. A revocation made by this process empties it as soon as
 * it commits (pg.c), without waiting for the notification.
 *
 * Invariants:
 * - The cache answers only while the listener's LISTEN is in place;
 *   losing that connection empties and disables it until the listener is
 *   back, so no notification can be missed unseen.
 * - `gen` moves on every emptying. A lookup that missed reads gen first
 *   and keeps its row only if gen has not moved since, so a row read
 *   before a revocation can never be kept after the revocation emptied
 *   the cache.
 * - An entry is trusted PG_KEYS_TTL_MS at most, whatever happened to the
 *   notifications.
 * - Unknown keys are never kept: a key made on another node works at
 *   once.
 */
#include "store/pg_int.h"
#include "lib/clock.h"
#include "lib/hash.h"
#include "lib/log.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PG_KEYS_SLOTS 256        /* keys kept; a slot per hash value */
#define PG_KEYS_TTL_MS 5000 /* an entry is trusted this long */
#define PG_KEYS_BACKOFF_MIN_MS 100 /* after the listener lost its server */
#define PG_KEYS_BACKOFF_MAX_MS 2000
#define PG_KEYS_CHANNEL "optd_keys"

typedef struct {
	int used;
	int64_t until_ms; /* trusted until then */
	store_key key;
} pg_key_slot;

struct pg_keys {
	store *st;
	pthread_mutex_t mu; /* guards everything below */
	uint64_t gen;       /* moves whenever the cache is emptied */
	int live;           /* the listener's LISTEN is in place */
	int started, stop;
	int wake[2]; /* a byte written to wake[1] stops the listener */
	pthread_t thread;
	pg_key_slot *slots; /* PG_KEYS_SLOTS */
};

pg_keys *pg__keys_new(store *st)
{
	pg_keys *ks = calloc(1, sizeof *ks);

	if (!ks)
		return NULL;
	ks->slots = calloc(PG_KEYS_SLOTS, sizeof *ks->slots);
	if (!ks->slots || pipe(ks->wake) != 0) {
		free(ks->slots);
		free(ks);
		return NULL;
	}
	ks->st = st;
	pthread_mutex_init(&ks->mu, NULL);
	return ks;
}

void pg__keys_free(pg_keys *ks)
{
	int started;

	if (!ks)
		return;
	pthread_mutex_lock(&ks->mu);
	started = ks->started;
	ks->stop = 1;
	pthread_mutex_unlock(&ks->mu);
	if (started) {
		(void)!write(ks->wake[1], "x", 1);
		pthread_join(ks->thread, NULL);
	}
	close(ks->wake[0]);
	close(ks->wake[1]);
	pthread_mutex_destroy(&ks->mu);
	free(ks->slots);
	free(ks);
}

static size_t slot_of(const char *hash)
{
	return hash_str(hash) % PG_KEYS_SLOTS;
}

/* Under mu. */
static void empty(pg_keys *ks)
{
	ks->gen++;
	for (size_t i = 0; i < PG_KEYS_SLOTS; i++)
		ks->slots[i].used = 0;
}

void pg__keys_forget(pg_keys *ks)
{
	if (!ks)
		return;
	pthread_mutex_lock(&ks->mu);
	empty(ks);
	pthread_mutex_unlock(&ks->mu);
}

static void set_live(pg_keys *ks, int live)
{
	pthread_mutex_lock(&ks->mu);
	empty(ks);
	ks->live = live;
	pthread_mutex_unlock(&ks->mu);
}

/* ---- the listener ---- */

static PGconn *listen_open(pg_keys *ks)
{
	PGconn *db = pg__connect(ks->st, "optd-keys");
	PGresult *r;

	if (!db)
		return NULL;
	r = PQexec(db, "LISTEN " PG_KEYS_CHANNEL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		log_warn("postgres: LISTEN " PG_KEYS_CHANNEL ": %s",
			 PQerrorMessage(db));
		PQclear(r);
		PQfinish(db);
		return NULL;
	}
	PQclear(r);
	return db;
}

/* Wait for the server or the stop byte; 1 when stopping. */
static int wait_for(pg_keys *ks, PGconn *db, int ms)
{
	struct pollfd p[2] = {{.fd = ks->wake[0], .events = POLLIN},
			      {.fd = db ? PQsocket(db) : -1,
			       .events = POLLIN}};
	int n = poll(p, db ? 2 : 1, ms);

	if (n < 0 && errno != EINTR)
		log_warn("postgres: key listener: poll: %s", strerror(errno));
	return n > 0 && (p[0].revents & POLLIN);
}

/* Read what the server sent: 0, or -1 when the connection is gone. */
static int drain(pg_keys *ks, PGconn *db)
{
	PGnotify *n;
	int any = 0;

	if (!PQconsumeInput(db) || PQstatus(db) != CONNECTION_OK)
		return -1;
	while ((n = PQnotifies(db)) != NULL) {
		PQfreemem(n);
		any = 1;
	}
	if (any)
		pg__keys_forget(ks);
	return 0;
}

static void *listen_main(void *arg)
{
	pg_keys *ks = arg;
	unsigned backoff = PG_KEYS_BACKOFF_MIN_MS;
	PGconn *db = NULL;

	for (;;) {
		if (!db && (db = listen_open(ks)) != NULL) {
			backoff = PG_KEYS_BACKOFF_MIN_MS;
			set_live(ks, 1);
			/* What came with LISTEN's answer is already read. */
			if (drain(ks, db) != 0)
				goto lost;
		}
		if (wait_for(ks, db, db ? -1 : (int)backoff))
			break;
		if (!db) {
			backoff = backoff * 2 > PG_KEYS_BACKOFF_MAX_MS
					  ? PG_KEYS_BACKOFF_MAX_MS
					  : backoff * 2;
			continue;
		}
		if (drain(ks, db) == 0)
			continue;
	lost:
		log_warn("postgres: key listener lost its connection; keys are "
			 "looked up on every request until it is back");
		set_live(ks, 0);
		PQfinish(db);
		db = NULL;
	}
	set_live(ks, 0);
	PQfinish(db);
	return NULL;
}

/* Under mu: start the listener on first use, in the processes that look
 * keys up (the command-line tools never do). */
static void start(pg_keys *ks)
{
	if (ks->started || ks->stop)
		return;
	if (pthread_create(&ks->thread, NULL, listen_main, ks) != 0) {
		log_warn("postgres: no key listener thread; keys are looked "
			 "up on every request");
		ks->stop = 1;
		return;
	}
	pthread_setname_np(ks->thread, "pg-key-listener");
	ks->started = 1;
}

/* ---- lookups ---- */

int pg__keys_find(pg_keys *ks, const char *hash, store_key *out,
		  uint64_t *gen)
{
	pg_key_slot *s = &ks->slots[slot_of(hash)];
	int found = 0;

	pthread_mutex_lock(&ks->mu);
	start(ks);
	*gen = ks->gen;
	if (ks->live && s->used && strcmp(s->key.hash, hash) == 0 &&
	    clock_now_ms() < s->until_ms) {
		*out = s->key;
		found = 1;
	}
	pthread_mutex_unlock(&ks->mu);
	return found;
}

void pg__keys_keep(pg_keys *ks, uint64_t gen, const store_key *k)
{
	pg_key_slot *s = &ks->slots[slot_of(k->hash)];

	if (k->revoked_ms)
		return;
	pthread_mutex_lock(&ks->mu);
	if (ks->live && ks->gen == gen) {
		s->key = *k;
		s->until_ms = clock_now_ms() + PG_KEYS_TTL_MS;
		s->used = 1;
	}
	pthread_mutex_unlock(&ks->mu);
}
