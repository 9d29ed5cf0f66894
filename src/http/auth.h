/*
 * auth: who is calling. An API key arrives as "Authorization: Bearer KEY";
 * only its SHA-256 is looked up, and the stored hash is compared in
 * constant time, so neither the key nor its timing leaves a trace.
 *
 * SDK keys (docs/sdk.md) are public and of another kind: REST routes
 * refuse them (403), and the SDK routes take nothing else, sent the way
 * the Braze Web SDK sends it (the body's api_key, X-Braze-Api-Key).
 */
#ifndef OPTD_AUTH_H
#define OPTD_AUTH_H

#include "http/http.h"
#include "store/store.h"

#define AUTH_HEADER_MAX 256

typedef enum {
	AUTH_OK = 0,
	AUTH_MISSING,     /* no Authorization header, or not Bearer */
	AUTH_INVALID,     /* no live key matches */
	AUTH_FORBIDDEN,   /* the key lacks the scope */
	AUTH_UNAVAILABLE, /* the database did not answer */
} auth_err;

/* On AUTH_OK and AUTH_FORBIDDEN, *key and *rate_override are filled. */
auth_err auth_check(store *st, const char *header, uint32_t need,
		    http_key *key, uint32_t *rate_override);
/*
 * `token` (NULL: AUTH_MISSING) as an SDK key: AUTH_OK for a live SDK key,
 * with its origin list in `origins`; AUTH_FORBIDDEN for a REST key, which
 * must never travel from a web page. *key and *rate_override as above.
 */
auth_err auth_sdk(store *st, const char *token, http_key *key,
		  uint32_t *rate_override,
		  char origins[STORE_ORIGINS_MAX + 1]);

#endif
