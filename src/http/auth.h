/*
 * auth: who is calling. An API key arrives as "Authorization: Bearer KEY";
 * only its SHA-256 is looked up, and the stored hash is compared in
 * constant time, so neither the key nor its timing leaves a trace.
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

#endif
