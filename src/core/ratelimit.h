/*
 * ratelimit: fixed-window request counters, Braze style.
 *
 * Braze reports a limit, what remains of it, and when the window resets
 * (Unix seconds); a fixed window gives exactly those three numbers. The
 * table is bounded (RL_ENTRIES_MAX): when full, windows that have already
 * ended are dropped first, and if none has, the request is counted against
 * a shared overflow slot rather than growing without bound.
 * Thread-safe; time is passed in so the rules can be tested without sleeping.
 *
 * Many nodes: counters live in this process. When N optd processes serve
 * one database behind a load balancer, rl_set_share(r, N) makes each
 * enforce its share of every limit, ceil(limit / N), so together they
 * never allow more than the limit (plus at most N-1) in a window; with an
 * uneven spread of requests a key may be refused a little early.
 */
#ifndef OPTD_RATELIMIT_H
#define OPTD_RATELIMIT_H

#include <stdint.h>

#define RL_ENTRIES_MAX 65536
#define RL_KEY_MAX 96

typedef struct rl rl;

typedef struct {
	uint32_t limit;
	uint32_t remaining;
	int64_t reset_s; /* Unix seconds when the window ends */
	int allowed;     /* 0 when this request is over the limit */
} rl_result;

#define RL_SHARE_MAX 256 /* nodes a limit can be divided among */

rl *rl_new(void);
void rl_free(rl *r);
/* Enforce 1/nodes of every limit from now on (1 = the whole limit). */
void rl_set_share(rl *r, uint32_t nodes);

/* Count one request for `key` against `limit` per `window_s` seconds. */
void rl_hit(rl *r, const char *key, uint32_t limit, uint32_t window_s,
	    int64_t now_ms, rl_result *out);

#endif
