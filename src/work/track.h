/*
 * track: apply a parsed POST /users/track as one writer job.
 *
 * Order as Braze: every attributes object, then every event, then every
 * purchase. An object whose user cannot be found (with
 * _update_existing_only) or whose subscription group does not exist is
 * reported in `errors` and the others go on; a storage failure rolls the
 * whole request back. Events start their flows (work/flows.h) in the same
 * transaction. With an Idempotency-Key the first answer is stored with
 * the change; a repeat finds it and changes nothing.
 *
 * The job may run twice (a writer replay): it resets its outputs first.
 */
#ifndef OPTD_TRACK_H
#define OPTD_TRACK_H

#include <jansson.h>

#include "api/trackreq.h"
#include "store/store.h"

#define TRACK_ROUTE "users/track" /* idempotency keys are per route */

typedef struct {
	/* inputs */
	track_req *req;
	char idem_key[STORE_IDEM_KEY_MAX + 1]; /* "" when none */
	int64_t now_ms;
	/* for the consent ledger, as /subscription/status/set records */
	char key_name[IDENT_NAME_MAX + 1];
	char request_id[STORE_REQID_MAX + 1];
	char client[STORE_CLIENT_MAX + 1];
	/* outputs */
	int replayed;       /* the key was known: answer is the first one */
	int status;         /* HTTP status of the answer */
	char *answer;       /* JSON text, malloc'd */
	unsigned runs;      /* flow runs started */
	unsigned prompts;   /* double opt-in prompts queued */
	store_err err;
} track_job;

int track_apply(store *st, void *arg); /* a writer_fn */
/* Merge attributes into a user's (null removes). STORE_INVALID when the
 * result would pass STORE_ATTRS_MAX; nothing is written then. */
store_err track_merge_attrs(store *st, int64_t user, json_t *set,
			    int64_t now);
void track_job_clear(track_job *j);    /* frees the outputs */

#endif
