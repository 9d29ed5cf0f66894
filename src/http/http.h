/*
 * http: what a request handler sees of an HTTP request, without
 * libmicrohttpd. Only src/http/ touches libmicrohttpd; src/api/ handlers
 * are written against this header.
 *
 * A handler either replies before returning, or calls http_defer() and
 * hands work to another thread, which calls http_wake() when done; the
 * `finish` function then runs on an HTTP thread and must reply.
 * Every reply is JSON (but the hosted form's pages, http_reply_text());
 * errors have Braze's shape
 * {"message": "...", "errors": [...]}.
 */
#ifndef OPTD_HTTP_H
#define OPTD_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ident.h"

#define HTTP_BODY_MAX (1024 * 1024) /* bytes of request body */
#define HTTP_PATH_MAX 512
#define HTTP_JSON_DEPTH_MAX 32
#define HTTP_QUERY_VALUES_MAX 64 /* values of one repeated query name */
#define HTTP_CLIENT_MAX 64
#define HTTP_URI_MAX 4096        /* bytes of path and query as received */
#define HTTP_FORM_FIELDS_MAX 256 /* fields of a form-encoded body */
#define HTTP_FORM_VALUE_MAX 16384 /* bytes of one form value */

typedef struct http_req http_req;
typedef struct app app;
typedef void (*http_handler)(http_req *r);

typedef struct {
	int64_t id;
	char name[IDENT_NAME_MAX + 1];
	uint32_t scopes;
} http_key;

app *http_app(http_req *r);
const char *http_method(const http_req *r);
const char *http_path(const http_req *r);
/* The part of the path after the route's prefix ("" for exact routes). */
const char *http_path_rest(const http_req *r);
const char *http_header(http_req *r, const char *name);
/* First value of a query parameter `name` or `name[]`, or NULL. */
const char *http_query(http_req *r, const char *name);
/*
 * Every value of `name` and `name[]`, in order, up to `max`; returns how
 * many there were in all (which may exceed max).
 */
size_t http_query_all(http_req *r, const char *name, const char **out,
		      size_t max);
/* 1 when the query has a parameter not in the NULL-terminated list. */
const char *http_query_unknown(http_req *r, const char *const *known);
const char *http_body(const http_req *r, size_t *len);
/* The request target exactly as received: path and query string. */
const char *http_uri(const http_req *r);

/*
 * The body as application/x-www-form-urlencoded fields, decoded, in the
 * order received. On a bad or oversized form replies 400/415 naming the
 * problem and returns NULL. The form lives until the request ends.
 */
typedef struct http_form http_form;
http_form *http_form_parse(http_req *r);
size_t http_form_count(const http_form *f);
const char *http_form_name(const http_form *f, size_t i);
const char *http_form_value(const http_form *f, size_t i);
/* First value of `name`, or NULL. */
const char *http_form_get(const http_form *f, const char *name);
const char *http_client(const http_req *r);
const char *http_request_id(const http_req *r);
const http_key *http_key_of(const http_req *r); /* NULL if public route */

/* Per-request state that must outlive a deferral. */
void http_set_ctx(http_req *r, void *ctx, void (*free_fn)(void *));
void *http_ctx(http_req *r);

/* Reply with `body` (stolen; NULL for no body). */
void http_reply(http_req *r, unsigned status, json_t *body);
/* Reply with text of any type (copied); content_type must be static. */
void http_reply_text(http_req *r, unsigned status, const char *content_type,
		     const char *text);
/* Reply with a constant JSON text (static storage; nothing is copied). */
void http_reply_static(http_req *r, unsigned status, const char *json);
/* Reply {"message": fmt..., "errors": errors} (errors stolen, may be NULL). */
void http_reply_error(http_req *r, unsigned status, json_t *errors,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Add a response header; name and value must be static strings. */
void http_reply_header(http_req *r, const char *name, const char *value);
/* The same with a value made for this reply (copied; at most
 * HTTP_HEADER_VALUE_MAX bytes, else the header is left out): a
 * Set-Cookie, a Location. */
#define HTTP_HEADER_VALUE_MAX 2048
void http_reply_header_copy(http_req *r, const char *name, const char *value);
/* The value of the request's cookie `name`, or NULL. */
const char *http_cookie(http_req *r, const char *name);

/*
 * Parse the body as a JSON object with HTTP_JSON_DEPTH_MAX. On failure
 * replies 400 naming the problem and returns NULL.
 */
json_t *http_body_json(http_req *r);

void http_defer(http_req *r, http_handler finish);
void http_wake(http_req *r); /* thread-safe */

#endif
