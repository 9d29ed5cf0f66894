/*
 * hash: FNV-1a over a NUL-terminated string, for the in-memory tables
 * (key cache, prefetch, rate limits) and the writer's lanes. Not for
 * anything an attacker must not steer: callers bound their chains or
 * only spread work with it.
 */
#ifndef OPTD_HASH_H
#define OPTD_HASH_H

#include <stdint.h>

static inline uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

#endif
