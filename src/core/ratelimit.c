/*
 * ratelimit: see ratelimit.h. An open-addressing hash table keyed by the
 * caller's string; one mutex, because a hit is a few dozen instructions.
 */
#include "core/ratelimit.h"
#include "lib/hash.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RL_SLOTS (RL_ENTRIES_MAX * 2) /* load factor at most one half */

typedef struct {
	char key[RL_KEY_MAX];
	int64_t window_start_s;
	uint32_t window_s;
	uint32_t count;
} rl_entry;

struct rl {
	pthread_mutex_t mu;
	rl_entry *slots;
	uint32_t used;
	int64_t last_sweep_s;
	rl_entry overflow;
	uint32_t share; /* divide every limit by this (0 or 1: whole) */
};

rl *rl_new(void)
{
	rl *r = calloc(1, sizeof *r);

	if (!r)
		return NULL;
	r->slots = calloc(RL_SLOTS, sizeof *r->slots);
	if (!r->slots) {
		free(r);
		return NULL;
	}
	pthread_mutex_init(&r->mu, NULL);
	return r;
}

void rl_free(rl *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->mu);
	free(r->slots);
	free(r);
}

/* Drop every window that has ended; rebuilding keeps probe chains valid. */
static void sweep(rl *r, int64_t now_s)
{
	rl_entry *old = r->slots;
	rl_entry *fresh = calloc(RL_SLOTS, sizeof *fresh);

	if (!fresh)
		return;
	r->slots = fresh;
	r->used = 0;
	for (uint32_t i = 0; i < RL_SLOTS; i++) {
		rl_entry *e = &old[i];
		if (!e->key[0] || e->window_start_s + e->window_s <= now_s)
			continue;
		uint32_t j = hash_str(e->key) % RL_SLOTS;
		while (fresh[j].key[0])
			j = (j + 1) % RL_SLOTS;
		fresh[j] = *e;
		r->used++;
	}
	free(old);
}

static rl_entry *lookup(rl *r, const char *key, int64_t now_s)
{
	uint32_t i = hash_str(key) % RL_SLOTS;

	while (r->slots[i].key[0]) {
		if (strcmp(r->slots[i].key, key) == 0)
			return &r->slots[i];
		i = (i + 1) % RL_SLOTS;
	}
	if (r->used >= RL_ENTRIES_MAX) {
		/* A sweep walks the whole table under the lock: at most one a
		 * second, or a flood of new keys would make every hit slow. */
		if (r->last_sweep_s == now_s)
			return &r->overflow;
		r->last_sweep_s = now_s;
		sweep(r, now_s);
		if (r->used >= RL_ENTRIES_MAX)
			return &r->overflow;
		return lookup(r, key, now_s);
	}
	r->used++;
	memcpy(r->slots[i].key, key, strlen(key) + 1); /* < RL_KEY_MAX */
	return &r->slots[i];
}

void rl_set_share(rl *r, uint32_t nodes)
{
	pthread_mutex_lock(&r->mu);
	r->share = nodes > RL_SHARE_MAX ? RL_SHARE_MAX : nodes;
	pthread_mutex_unlock(&r->mu);
}

void rl_hit(rl *r, const char *key, uint32_t limit, uint32_t window_s,
	    int64_t now_ms, rl_result *out)
{
	int64_t now_s = now_ms / 1000;
	char k[RL_KEY_MAX];
	rl_entry *e;

	/* Truncate here so lookup() compares what it stores. */
	snprintf(k, sizeof k, "%s", key);
	if (!k[0])
		strcpy(k, "-");
	key = k;
	if (window_s == 0)
		window_s = 1;
	pthread_mutex_lock(&r->mu);
	if (r->share > 1)
		limit = limit / r->share + (limit % r->share != 0);
	e = lookup(r, key, now_s);
	if (e->window_s != window_s ||
	    now_s >= e->window_start_s + (int64_t)window_s) {
		/* Windows align to multiples of their length, as Braze's do. */
		e->window_start_s = now_s - now_s % window_s;
		e->window_s = window_s;
		e->count = 0;
	}
	out->allowed = e->count < limit;
	if (out->allowed)
		e->count++;
	out->limit = limit;
	out->remaining = limit - (e->count < limit ? e->count : limit);
	out->reset_s = e->window_start_s + window_s;
	pthread_mutex_unlock(&r->mu);
}
