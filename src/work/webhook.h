/*
 * webhook: one HTTP call of a flow's webhook step, with Braze's rules for
 * what counts as done, what is retried and what is not.
 *
 *   2xx                        done
 *   408, 429, 5xx, no answer   retry (connection refused, reset, timeout)
 *   3xx, any other 4xx         give up: not retried (redirects are not
 *                              followed, as Braze)
 *
 * Only http and https; at most WEBHOOK_EXCERPT_MAX bytes of the answer are
 * kept, for the run's record. A handle is used by one thread at a time,
 * makes up to WEBHOOK_PARALLEL_MAX calls at once, and keeps its
 * connections alive between calls.
 */
#ifndef OPTD_WEBHOOK_H
#define OPTD_WEBHOOK_H

#include <stddef.h>

#define WEBHOOK_EXCERPT_MAX 1024
#define WEBHOOK_HEADERS_MAX 34 /* the step's, Idempotency-Key, one spare */
#define WEBHOOK_PARALLEL_MAX 16

typedef enum {
	WEBHOOK_DONE = 0,
	WEBHOOK_RETRY,
	WEBHOOK_GIVE_UP,
} webhook_outcome;

typedef struct {
	const char *method;
	const char *url;
	const char *headers[WEBHOOK_HEADERS_MAX]; /* "Name: value" */
	size_t n_headers;
	const char *body; /* NULL: none */
	size_t body_len;
	long timeout_ms;
} webhook_req;

typedef struct {
	long status; /* 0 when there was no answer */
	char excerpt[WEBHOOK_EXCERPT_MAX + 1]; /* answer, or the error */
} webhook_res;

typedef struct webhook webhook;

webhook *webhook_new(void);
void webhook_free(webhook *w); /* NULL-safe */
/* Call i is over: its outcome and answer (res is res[i] of the call). */
typedef void (*webhook_ended_fn)(void *ctx, size_t i, webhook_outcome out,
				 const webhook_res *res);

/* Makes n calls at once (at most WEBHOOK_PARALLEL_MAX), tells `ended`
 * of each as it ends, on this thread, and returns when all have ended;
 * res[i] is rq[i]'s answer. */
void webhook_call_all(webhook *w, size_t n, const webhook_req *rq,
		      webhook_res *res, webhook_ended_fn ended, void *ctx);

#endif
