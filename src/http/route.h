/*
 * route: the routing table, as data. Internal to src/http/.
 * A route matches a method and either an exact path or a prefix ending in
 * '/' followed by one segment (no '/') and then the route's suffix, if it
 * has one ("/admin/subscription_groups/" "{id}" "/sms"); the handler
 * reads the segment with http_path_rest().
 */
#ifndef OPTD_ROUTE_H
#define OPTD_ROUTE_H

#include <stdint.h>

#include "http/http.h"

typedef enum {
	RATE_NONE = 0,
	RATE_STATUS_SET, /* 5,000 a minute, both status/set endpoints */
	RATE_DEFAULT,    /* 250,000 an hour */
	RATE_ADMIN,      /* optd's own: 6,000 a minute */
	RATE_USERS_TRACK, /* 3,000 every three seconds */
	RATE_SDK,        /* per SDK key and client address: 300 a minute */
} route_bucket;

typedef struct {
	const char *method;
	const char *path;
	int prefix;
	http_handler fn;
	uint32_t scope; /* 0: public; SCOPE_SDK: an SDK key, CORS */
	route_bucket bucket;
	int json_body; /* requires Content-Type: application/json */
	const char *suffix; /* after the prefix's segment, or NULL */
} http_route;

/* Route for method and path; *path_ok tells 405 from 404 on NULL. */
const http_route *route_find(const char *method, const char *path,
			     int *path_ok, const char **rest,
			     char seg[HTTP_PATH_MAX]);
/* Limit and window of a bucket (key override applied). */
void route_bucket_limit(route_bucket b, uint32_t key_override,
			uint32_t *limit, uint32_t *window_s);
const char *route_bucket_name(route_bucket b);

#endif
