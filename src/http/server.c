/*
 * server: libmicrohttpd glue. The only file that calls MHD_*.
 *
 * A request moves through: first call (route, early 404/405/413/415, CORS
 * preflights) -> body chunks (copied into a buffer capped at
 * HTTP_BODY_MAX; past the cap the rest is read and dropped so the client
 * still gets a clean 413) -> final call (authenticate, rate-limit,
 * handler) -> optionally suspended until the writer commits -> reply ->
 * completion callback (access log, free). Invariant: `inflight` counts
 * requests between first call and completion, which is what a clean
 * shutdown waits for; once `closing` is set, a request whose first call
 * comes later is answered 503 before any handler runs, so nothing is
 * handed to a writer that the shutdown is about to stop.
 *
 * CORS is for the SDK routes only (route scope SCOPE_SDK): a page origin
 * gets Access-Control-Allow-Origin when its SDK key lists it, and a
 * preflight, which names no key, when some live SDK key lists it.
 */
#include "http/server.h"
#include "http/auth.h"
#include "http/route.h"
#include "api/app.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/secret.h"
#include "lib/utf8.h"
#include "core/ident.h"
#include "core/origin.h"
#include "core/scope.h"
#include "lib/str.h"
#include "lib/urlform.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define HTTP_HEADERS_EXTRA_MAX 8
#define HTTP_CORS_HEADERS_MAX 1024 /* bytes of Access-Control-Request-Headers */
#define HTTP_CORS_MAX_AGE "600"    /* seconds a browser may keep a preflight */
/* What a page's script may read of an SDK answer: the SDK backs off by
 * Retry-After. */
#define HTTP_CORS_EXPOSE "Retry-After, X-RateLimit-Limit, " \
			 "X-RateLimit-Remaining, X-RateLimit-Reset, X-Request-Id"

struct http_server {
	struct MHD_Daemon *d;
	MHD_socket quiesced_fd; /* listening socket once quiesced */
	app *a;
	atomic_uint inflight;
	atomic_int closing; /* set by http_server_quiesce() */
};

struct http_req {
	struct MHD_Connection *conn;
	http_server *srv;
	const http_route *rt;
	const char *rest;
	char method[16];
	http_form *form;
	json_t *json; /* the body, once parsed */
	char retry_after[24];
	char reqid[17];
	char *body;
	size_t body_len;
	int too_big;
	int64_t t0_us;
	http_key key;
	int have_key;
	rl_result rate;
	int have_rate;
	struct MHD_Response *resp;
	unsigned status;
	const char *extra[HTTP_HEADERS_EXTRA_MAX][2]; /* static strings */
	int nextra;
	char *owned[HTTP_HEADERS_EXTRA_MAX]; /* copied values among them */
	int nowned;
	int deferred;
	http_handler finish;
	void *ctx;
	void (*ctx_free)(void *);
	/* Strings, from here on: a new request zeroes the fields above and
	 * only the first byte of each of these (req_new()). */
	char path[HTTP_PATH_MAX];
	char uri[HTTP_URI_MAX];
	char seg[HTTP_PATH_MAX]; /* the path's segment when a suffix follows */
	char cors[ORIGIN_MAX + 1]; /* the allowed Origin, "" when none */
	char cors_headers[HTTP_CORS_HEADERS_MAX + 1]; /* preflight's ask */
	char client[HTTP_CLIENT_MAX];
};

const char *http_strerror(http_err err)
{
	switch (err) {
	case HTTP_OK: return "ok";
	case HTTP_ERR_ADDR: return "listen address is not an IP address";
	case HTTP_ERR_START: return "cannot listen (address in use?)";
	case HTTP_ERR_NOMEM: return "out of memory";
	}
	return "unknown error";
}

/* ---- accessors (http.h) ---- */

app *http_app(http_req *r) { return r->srv->a; }
const char *http_method(const http_req *r) { return r->method; }
const char *http_path(const http_req *r) { return r->path; }
const char *http_path_rest(const http_req *r) { return r->rest ? r->rest : ""; }
const char *http_client(const http_req *r) { return r->client; }
const char *http_request_id(const http_req *r) { return r->reqid; }
const http_key *http_key_of(const http_req *r)
{
	return r->have_key ? &r->key : NULL;
}

const char *http_header(http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_body(const http_req *r, size_t *len)
{
	*len = r->body_len;
	return r->body ? r->body : "";
}

void http_set_ctx(http_req *r, void *ctx, void (*free_fn)(void *))
{
	r->ctx = ctx;
	r->ctx_free = free_fn;
}

void *http_ctx(http_req *r) { return r->ctx; }

typedef struct {
	const char *name;
	size_t nlen;
	const char **out;
	size_t max, n;
} query_iter;

static int name_is(const char *key, const char *name, size_t nlen)
{
	return strncmp(key, name, nlen) == 0 &&
	       (key[nlen] == '\0' || strcmp(key + nlen, "[]") == 0);
}

static enum MHD_Result query_collect(void *cls, enum MHD_ValueKind kind,
				     const char *key, const char *value)
{
	query_iter *it = cls;

	(void)kind;
	if (key && name_is(key, it->name, it->nlen)) {
		if (it->n < it->max)
			it->out[it->n] = value ? value : "";
		it->n++;
	}
	return MHD_YES;
}

size_t http_query_all(http_req *r, const char *name, const char **out,
		      size_t max)
{
	query_iter it = {name, strlen(name), out, max, 0};

	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND,
				  query_collect, &it);
	return it.n;
}

const char *http_query(http_req *r, const char *name)
{
	const char *v = NULL;

	return http_query_all(r, name, &v, 1) ? v : NULL;
}

typedef struct {
	const char *const *known;
	const char *bad;
} unknown_iter;

static enum MHD_Result query_unknown(void *cls, enum MHD_ValueKind kind,
				     const char *key, const char *value)
{
	unknown_iter *it = cls;

	(void)kind, (void)value;
	for (const char *const *k = it->known; *k; k++)
		if (key && name_is(key, *k, strlen(*k)))
			return MHD_YES;
	it->bad = key ? key : "";
	return MHD_NO;
}

const char *http_query_unknown(http_req *r, const char *const *known)
{
	unknown_iter it = {known, NULL};

	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND,
				  query_unknown, &it);
	return it.bad;
}

const char *http_uri(const http_req *r) { return r->uri; }

/* ---- form-encoded bodies ---- */

/* One allocation: the fields, then the body's copy they point into. */
struct http_form {
	size_t n;
	urlform_field *f;
	char *buf;
};

static int content_type_form(struct MHD_Connection *c)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     "Content-Type");
	const char *want = "application/x-www-form-urlencoded";
	size_t n = strlen(want);

	return ct && strncasecmp(ct, want, n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Room for the fields the body can hold (one past the limit, to tell
 * "too many") and for a copy of it, with its terminator. */
static http_form *form_alloc(const char *body, size_t len)
{
	size_t max = urlform_pieces(body, len);
	http_form *f;

	if (max > HTTP_FORM_FIELDS_MAX + 1)
		max = HTTP_FORM_FIELDS_MAX + 1;
	f = malloc(sizeof *f + max * sizeof *f->f + len + 1);
	if (!f)
		return NULL;
	f->n = 0;
	f->f = (urlform_field *)(f + 1);
	f->buf = (char *)(f->f + max);
	memcpy(f->buf, body, len);
	f->buf[len] = '\0';
	return f;
}

http_form *http_form_parse(http_req *r)
{
	http_form *f;
	urlform_err err;

	if (r->form)
		return r->form;
	if (!content_type_form(r->conn)) {
		http_reply_error(r, 415, NULL, "Content-Type must be "
				 "application/x-www-form-urlencoded");
		return NULL;
	}
	f = form_alloc(r->body ? r->body : "", r->body_len);
	if (!f) {
		http_reply_error(r, 503, NULL, "out of memory; retry");
		return NULL;
	}
	err = urlform_parse(f->buf, r->body_len, f->f, HTTP_FORM_FIELDS_MAX,
			    HTTP_FORM_VALUE_MAX, &f->n);
	if (err == URLFORM_TOO_MANY)
		http_reply_error(r, 400, NULL, "form has more than %d fields",
				 HTTP_FORM_FIELDS_MAX);
	else if (err)
		http_reply_error(r, 400, NULL, "form field \"%.64s\" %s",
				 f->f[f->n].name, urlform_strerror(err));
	if (err) {
		free(f);
		return NULL;
	}
	r->form = f;
	return f;
}

size_t http_form_count(const http_form *f) { return f ? f->n : 0; }
const char *http_form_name(const http_form *f, size_t i)
{
	return f && i < f->n ? f->f[i].name : NULL;
}
const char *http_form_value(const http_form *f, size_t i)
{
	return f && i < f->n ? f->f[i].value : NULL;
}
const char *http_form_get(const http_form *f, const char *name)
{
	for (size_t i = 0; f && i < f->n; i++)
		if (strcmp(f->f[i].name, name) == 0)
			return f->f[i].value;
	return NULL;
}

/* ---- replies ---- */

void http_reply_text(http_req *r, unsigned status, const char *content_type,
		     const char *text)
{
	size_t len = strlen(text);

	if (r->resp)
		return;
	r->resp = MHD_create_response_from_buffer(len, (void *)text,
						  MHD_RESPMEM_MUST_COPY);
	if (!r->resp)
		return;
	MHD_add_response_header(r->resp, "Content-Type", content_type);
	r->status = status;
}

void http_reply_header(http_req *r, const char *name, const char *value)
{
	if (r->nextra >= HTTP_HEADERS_EXTRA_MAX)
		return;
	r->extra[r->nextra][0] = name;
	r->extra[r->nextra][1] = value;
	r->nextra++;
}

void http_reply_header_copy(http_req *r, const char *name, const char *value)
{
	char *v;

	if (r->nextra >= HTTP_HEADERS_EXTRA_MAX ||
	    strnlen(value, HTTP_HEADER_VALUE_MAX + 1) > HTTP_HEADER_VALUE_MAX ||
	    !(v = strdup(value)))
		return;
	r->owned[r->nowned++] = v;
	http_reply_header(r, name, v);
}

const char *http_cookie(http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

void http_reply(http_req *r, unsigned status, json_t *body)
{
	char *text = NULL;
	size_t len = 0;

	if (r->resp) { /* a handler replied twice: keep the first answer */
		json_decref(body);
		return;
	}
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		len = text ? strlen(text) : 0;
	}
	r->resp = MHD_create_response_from_buffer(len, text ? text : (char *)"",
						  text ? MHD_RESPMEM_MUST_FREE
						       : MHD_RESPMEM_PERSISTENT);
	if (!r->resp) {
		free(text);
		return;
	}
	MHD_add_response_header(r->resp, "Content-Type", "application/json");
	r->status = status;
}

void http_reply_static(http_req *r, unsigned status, const char *json)
{
	if (r->resp)
		return;
	r->resp = MHD_create_response_from_buffer(strlen(json), (void *)json,
						  MHD_RESPMEM_PERSISTENT);
	if (!r->resp)
		return;
	MHD_add_response_header(r->resp, "Content-Type", "application/json");
	r->status = status;
}

void http_reply_error(http_req *r, unsigned status, json_t *errors,
		      const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* Messages quote what the client sent, which may not be UTF-8 (or
	 * may be cut mid-character); JSON strings must be. */
	utf8_clean(msg);
	json_t *body = json_pack("{s:s}", "message", msg);
	if (errors)
		json_object_set_new(body, "errors", errors);
	http_reply(r, status, body);
}

static int json_depth(json_t *v, int depth)
{
	size_t i;
	const char *k;
	json_t *x;
	int max = depth;

	if (depth > HTTP_JSON_DEPTH_MAX)
		return depth;
	if (json_is_array(v)) {
		json_array_foreach(v, i, x) {
			int d = json_depth(x, depth + 1);
			max = d > max ? d : max;
		}
	} else if (json_is_object(v)) {
		json_object_foreach(v, k, x) {
			int d = json_depth(x, depth + 1);
			max = d > max ? d : max;
		}
	}
	return max;
}

json_t *http_body_json(http_req *r)
{
	json_error_t e;
	json_t *v;

	if (r->json)
		return json_incref(r->json);
	if (r->body_len == 0) {
		http_reply_error(r, 400, NULL, "request body is empty; "
				 "expected a JSON object");
		return NULL;
	}
	v = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &e);
	if (!v) {
		http_reply_error(r, 400, NULL,
				 "request body is not valid JSON: %s "
				 "(line %d, column %d)",
				 e.text, e.line, e.column);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		http_reply_error(r, 400, NULL,
				 "request body must be a JSON object");
		return NULL;
	}
	if (json_depth(v, 1) > HTTP_JSON_DEPTH_MAX) {
		json_decref(v);
		http_reply_error(r, 400, NULL,
				 "request body nests deeper than %d levels",
				 HTTP_JSON_DEPTH_MAX);
		return NULL;
	}
	r->json = json_incref(v);
	return v;
}

/* ---- deferral ---- */

void http_defer(http_req *r, http_handler finish)
{
	r->deferred = 1;
	r->finish = finish;
	/* Suspend before the work is handed off, so a fast wake cannot
	 * arrive at a connection that is not suspended yet. */
	MHD_suspend_connection(r->conn);
}

void http_wake(http_req *r) { MHD_resume_connection(r->conn); }


/* ---- connection life cycle ---- */

static void add_headers(http_req *r)
{
	char v[32];

	MHD_add_response_header(r->resp, "X-Request-Id", r->reqid);
	for (int i = 0; i < r->nextra; i++)
		MHD_add_response_header(r->resp, r->extra[i][0],
					r->extra[i][1]);
	if (r->cors[0]) {
		MHD_add_response_header(r->resp, "Access-Control-Allow-Origin",
					r->cors);
		MHD_add_response_header(r->resp, "Vary", "Origin");
		MHD_add_response_header(r->resp,
					"Access-Control-Expose-Headers",
					HTTP_CORS_EXPOSE);
	}
	if (!r->have_rate)
		return;
	if (!r->rate.allowed) {
		int64_t wait = r->rate.reset_s - clock_now_ms() / 1000;
		snprintf(r->retry_after, sizeof r->retry_after, "%lld",
			 (long long)(wait > 1 ? wait : 1));
		MHD_add_response_header(r->resp, "Retry-After",
					r->retry_after);
	}
	snprintf(v, sizeof v, "%u", r->rate.limit);
	MHD_add_response_header(r->resp, "X-RateLimit-Limit", v);
	snprintf(v, sizeof v, "%u", r->rate.remaining);
	MHD_add_response_header(r->resp, "X-RateLimit-Remaining", v);
	snprintf(v, sizeof v, "%lld", (long long)r->rate.reset_s);
	MHD_add_response_header(r->resp, "X-RateLimit-Reset", v);
}

static enum MHD_Result send_reply(http_req *r)
{
	enum MHD_Result ok;

	if (!r->resp) /* the handler forgot, or out of memory */
		http_reply_error(r, 500, NULL, "internal error");
	if (!r->resp)
		return MHD_NO;
	add_headers(r);
	ok = MHD_queue_response(r->conn, r->status, r->resp);
	MHD_destroy_response(r->resp);
	r->resp = NULL;
	return ok;
}

static void client_addr(struct MHD_Connection *c, char *out, size_t cap)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	str_copy(out, cap, "unknown");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
			  out, (socklen_t)cap);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
			  &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
			  (socklen_t)cap);
}

static int content_type_json(struct MHD_Connection *c)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     "Content-Type");
	size_t n = strlen("application/json");

	return ct && strncasecmp(ct, "application/json", n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

typedef struct {
	const char *bad;
	const char *why;
} args_check;

static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind,
				 const char *key, size_t key_size,
				 const char *value, size_t value_size)
{
	args_check *c = cls;

	(void)kind;
	if (!key || strlen(key) != key_size ||
	    (value && strlen(value) != value_size))
		c->why = "contains a NUL byte";
	else if (!ident_utf8_ok(key, key_size) ||
		 (value && !ident_utf8_ok(value, value_size)))
		c->why = "is not UTF-8 text without control characters";
	else
		return MHD_YES;
	c->bad = key ? key : "";
	return MHD_NO;
}

/* A header list as browsers write it: names, commas and spaces. */
static int header_list_ok(const char *s)
{
	size_t n = strlen(s);

	if (n > HTTP_CORS_HEADERS_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_, ", s[i]))
			return 0;
	return 1;
}

/*
 * OPTIONS on an SDK route: a browser asks before it posts JSON from a
 * page. The ask names no key, so the origin passes when any live SDK key
 * lists it; the POST itself is then checked against its own key's list.
 */
static void preflight(http_req *r)
{
	const char *origin = http_header(r, "Origin");
	const char *want = http_header(r, "Access-Control-Request-Headers");
	const char *pna;
	store_err err;

	http_reply_header(r, "Allow", "POST, OPTIONS");
	if (!origin) { /* not a preflight: just what the path allows */
		http_reply(r, 204, NULL);
		return;
	}
	err = strlen(origin) > ORIGIN_MAX ? STORE_NOTFOUND
		: store_key_origin_known(r->srv->a->st, origin);
	if (err == STORE_NOTFOUND) {
		http_reply_error(r, 403, NULL, "origin %.255s is not allowed "
				 "by any SDK key", origin);
		return;
	}
	if (err) {
		http_reply_header(r, "Retry-After", "1");
		http_reply_error(r, 503, NULL, "database unavailable; retry");
		return;
	}
	str_copy(r->cors, sizeof r->cors, origin);
	http_reply_header(r, "Access-Control-Allow-Methods", "POST");
	http_reply_header(r, "Access-Control-Max-Age", HTTP_CORS_MAX_AGE);
	if (want && header_list_ok(want)) {
		str_copy(r->cors_headers, sizeof r->cors_headers, want);
		http_reply_header(r, "Access-Control-Allow-Headers",
				  r->cors_headers);
	}
	/* A public page reaching an optd on a private network: the listed
	 * origin is exactly what the browser asks optd to vouch for. */
	pna = http_header(r, "Access-Control-Request-Private-Network");
	if (pna && !strcmp(pna, "true"))
		http_reply_header(r, "Access-Control-Allow-Private-Network",
				  "true");
	http_reply(r, 204, NULL);
}

/* Checks that need no body: route, method, declared size, content type. */
static void first_call(http_req *r)
{
	int path_ok;
	const char *cl;

	if (!strcmp(r->method, "OPTIONS")) {
		const http_route *post = route_find("POST", r->path, &path_ok,
						    &r->rest, r->seg);
		if (post && post->scope == SCOPE_SDK) {
			preflight(r);
			return;
		}
	}
	r->rt = route_find(r->method, r->path, &path_ok, &r->rest, r->seg);
	if (!r->rt && !path_ok) {
		http_reply_error(r, 404, NULL, "no such endpoint: %s",
				 r->path);
		return;
	}
	if (!r->rt) {
		http_reply_error(r, 405, NULL,
				 "method %s is not allowed on %s", r->method,
				 r->path);
		return;
	}
	cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
					 "Content-Length");
	if (cl && strtoull(cl, NULL, 10) > HTTP_BODY_MAX) {
		http_reply_error(r, 413, NULL,
				 "request body is larger than %d bytes",
				 HTTP_BODY_MAX);
		return;
	}
	if (r->rt->json_body && !content_type_json(r->conn)) {
		http_reply_error(r, 415, NULL,
				 "Content-Type must be application/json");
		return;
	}
	args_check ac = {NULL, NULL};
	MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, check_arg,
				    &ac);
	if (ac.bad)
		http_reply_error(r, 400, NULL, "query parameter \"%.64s\" %s",
				 ac.bad, ac.why);
}

static void take_chunk(http_req *r, const char *data, size_t n)
{
	char *grown;

	if (r->too_big)
		return;
	if (r->body_len + n > HTTP_BODY_MAX) {
		r->too_big = 1;
		return;
	}
	grown = realloc(r->body, r->body_len + n + 1);
	if (!grown) {
		r->too_big = 1;
		return;
	}
	r->body = grown;
	memcpy(r->body + r->body_len, data, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
}

static void rate_limit(http_req *r, uint32_t override, const char *who)
{
	char k[RL_KEY_MAX];
	uint32_t limit, window;

	route_bucket_limit(r->rt->bucket, override, &limit, &window);
	snprintf(k, sizeof k, "%s:%s", route_bucket_name(r->rt->bucket), who);
	rl_hit(r->srv->a->limits, k, limit, window, clock_now_ms(), &r->rate);
	r->have_rate = 1;
}

/* The SDK key: X-Braze-Api-Key, or the body's api_key (the SDK sends
 * both; they must agree). NULL with *bad set after replying 400. */
static const char *sdk_token(http_req *r, int *bad)
{
	const char *hdr = http_header(r, "X-Braze-Api-Key");
	json_t *body = http_body_json(r), *k;
	const char *tok;

	*bad = !body;
	if (!body)
		return NULL;
	k = json_object_get(body, "api_key");
	tok = json_string_value(k); /* r->json keeps it alive */
	json_decref(body);
	if (k && !tok) {
		http_reply_error(r, 400, NULL, "api_key must be a string");
		*bad = 1;
		return NULL;
	}
	if (hdr && tok && strcmp(hdr, tok) != 0) {
		http_reply_error(r, 400, NULL, "api_key and X-Braze-Api-Key "
				 "name different keys");
		*bad = 1;
		return NULL;
	}
	return hdr ? hdr : tok;
}

/*
 * SDK routes: the key is public, so what limits a caller is its address:
 * each (key, address) pair has its own budget (the key's rate_limit a
 * minute, or RATE_SDK's), and unknown keys share one per address. A page
 * from an origin the key does not list is refused, and gets no CORS
 * header, so the browser shows it nothing either.
 */
static int admit_sdk(http_req *r)
{
	char origins[STORE_ORIGINS_MAX + 1];
	char who[HTTP_CLIENT_MAX + 32];
	const char *origin = http_header(r, "Origin");
	const char *tok;
	uint32_t override = 0;
	auth_err err;
	int bad;

	tok = sdk_token(r, &bad);
	if (bad)
		return -1;
	err = auth_sdk(r->srv->a->st, tok, &r->key, &override, origins);
	if (err == AUTH_UNAVAILABLE) {
		http_reply_header(r, "Retry-After", "1");
		http_reply_error(r, 503, NULL, "database unavailable; retry");
		return -1;
	}
	r->have_key = err == AUTH_OK || err == AUTH_FORBIDDEN;
	if (err == AUTH_OK && origin && origin_listed(origins, origin))
		str_copy(r->cors, sizeof r->cors, origin);
	if (err == AUTH_OK)
		snprintf(who, sizeof who, "key%lld:%s", (long long)r->key.id,
			 r->client);
	else
		snprintf(who, sizeof who, "addr:%s", r->client);
	rate_limit(r, err == AUTH_OK ? override : 0, who);
	if (!r->rate.allowed) {
		http_reply_error(r, 429, NULL, "rate limit exceeded; retry "
				 "after Retry-After seconds");
		return -1;
	}
	if (err == AUTH_MISSING || err == AUTH_INVALID) {
		http_reply_error(r, 401, NULL, err == AUTH_MISSING
				 ? "missing SDK key: send api_key in the body"
				 : "invalid SDK key");
		return -1;
	}
	if (err == AUTH_FORBIDDEN) {
		http_reply_error(r, 403, NULL, "API key '%s' is a REST API key; "
				 "this endpoint takes an SDK key (a REST key "
				 "must never be in a web page)", r->key.name);
		return -1;
	}
	if (origin && !r->cors[0]) {
		http_reply_error(r, 403, NULL, "origin %.255s is not allowed "
				 "for SDK key '%s'", origin, r->key.name);
		return -1;
	}
	return 0;
}

/* Authenticate and count the request; 0 when the handler may run. */
static int admit(http_req *r)
{
	uint32_t override = 0;
	char who[HTTP_CLIENT_MAX + 8];
	auth_err err;

	if (!r->rt->scope)
		return 0;
	if (r->rt->scope == SCOPE_SDK)
		return admit_sdk(r);
	err = auth_check(r->srv->a->st, http_header(r, "Authorization"),
			 r->rt->scope, &r->key, &override);
	if (err == AUTH_UNAVAILABLE) {
		http_reply_header(r, "Retry-After", "1");
		http_reply_error(r, 503, NULL, "database unavailable; retry");
		return -1;
	}
	if (err == AUTH_OK || err == AUTH_FORBIDDEN) {
		r->have_key = 1;
		snprintf(who, sizeof who, "key%lld", (long long)r->key.id);
	} else {
		/* Unknown callers share a per-address budget, so guessing
		 * keys is rate-limited too. */
		snprintf(who, sizeof who, "addr:%s", r->client);
	}
	rate_limit(r, override, who);
	if (!r->rate.allowed) {
		http_reply_error(r, 429, NULL, "rate limit exceeded; retry "
				 "after X-RateLimit-Reset");
		return -1;
	}
	if (err == AUTH_MISSING || err == AUTH_INVALID) {
		http_reply_header(r, "WWW-Authenticate", "Bearer");
		http_reply_error(r, 401, NULL, err == AUTH_MISSING
				 ? "missing API key: send Authorization: "
				   "Bearer YOUR-REST-API-KEY"
				 : "invalid API key");
		return -1;
	}
	if (err == AUTH_FORBIDDEN) {
		http_reply_error(r, 403, NULL, r->key.sdk
				 ? "API key '%s' is an SDK key; it is only "
				   "taken by /api/v3/data/"
				 : "API key '%s' lacks the permission this "
				   "endpoint needs", r->key.name);
		return -1;
	}
	return 0;
}

/* Not calloc: zeroing the 6 KB of strings cost more than routing. */
static http_req *req_new(void)
{
	http_req *r = malloc(sizeof *r);

	if (!r)
		return NULL;
	memset(r, 0, offsetof(http_req, path));
	r->path[0] = r->uri[0] = r->seg[0] = '\0';
	r->cors[0] = r->cors_headers[0] = r->client[0] = '\0';
	return r;
}

/* Runs first for every request: the one place the raw query string is
 * seen (Twilio signs the URL exactly as it called it). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	http_req *r = req_new();

	(void)cls, (void)conn;
	if (r)
		str_copy(r->uri, sizeof r->uri, uri);
	return r;
}

/* A connection accepted before the listening socket was closed may send
 * its request while optd stops. */
static void refuse_closing(http_req *r)
{
	http_reply_error(r, 503, NULL, "optd is stopping; retry");
	http_reply_header(r, "Retry-After", "1");
	http_reply_header(r, "Connection", "close");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	http_server *srv = cls;
	http_req *r = *con_cls;

	(void)version;
	if (!r)
		return MHD_NO; /* on_uri ran out of memory */
	if (!r->conn) {
		r->conn = conn;
		r->srv = srv;
		r->t0_us = clock_mono_us();
		str_copy(r->method, sizeof r->method, method);
		str_copy(r->path, sizeof r->path, url);
		client_addr(conn, r->client, sizeof r->client);
		secret_request_id(r->reqid);
		*con_cls = r;
		/* Counted before `closing` is read: a drain that saw no
		 * request in flight saw every later one refused. */
		atomic_fetch_add(&srv->inflight, 1);
		if (atomic_load(&srv->closing))
			refuse_closing(r);
		else if (strlen(url) >= HTTP_PATH_MAX)
			http_reply_error(r, 414, NULL, "path is too long");
		else
			first_call(r);
		return r->resp ? send_reply(r) : MHD_YES;
	}
	if (*upload_size) {
		take_chunk(r, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->deferred) { /* woken: the writer is done */
		r->deferred = 0;
		r->finish(r);
		return send_reply(r);
	}
	if (r->too_big)
		http_reply_error(r, 413, NULL,
				 "request body is larger than %d bytes",
				 HTTP_BODY_MAX);
	else if (admit(r) == 0)
		r->rt->fn(r);
	if (r->deferred)
		return MHD_YES; /* r now belongs to the writer until woken */
	return send_reply(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
			 void **con_cls, enum MHD_RequestTerminationCode toe)
{
	http_server *srv = cls;
	http_req *r = *con_cls;

	(void)conn, (void)toe;
	if (!r)
		return;
	if (!r->conn) { /* never reached on_request: nothing was counted */
		free(r);
		*con_cls = NULL;
		return;
	}
	log_request(r->method, r->path, r->status,
		    (int64_t)(clock_mono_us() - r->t0_us),
		    r->have_key ? r->key.name : "", r->reqid);
	if (r->ctx_free)
		r->ctx_free(r->ctx);
	json_decref(r->json);
	if (r->resp)
		MHD_destroy_response(r->resp);
	free(r->form);
	for (int i = 0; i < r->nowned; i++)
		free(r->owned[i]);
	free(r->body);
	free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&srv->inflight, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof msg, fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_warn("http: %s", msg);
}

static int parse_addr(const http_config *cfg, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, cfg->addr, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)cfg->port);
		*len = sizeof *v4;
		return 0;
	}
	if (inet_pton(AF_INET6, cfg->addr, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)cfg->port);
		*len = sizeof *v6;
		return 0;
	}
	return -1;
}

http_err http_server_start(const http_config *cfg, app *a,
			   http_server **out)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	/*
	 * poll(2), not epoll: with a thread pool, libmicrohttpd 0.9.75's
	 * MHD_quiesce_daemon() edits each worker's epoll set from our thread
	 * while the worker may be editing it too, and aborts the process when
	 * it loses that race. poll also spares the two epoll_ctl calls that
	 * suspending and resuming a connection cost.
	 */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG;
	http_server *s;

	*out = NULL;
	if (parse_addr(cfg, &ss, &sslen) != 0)
		return HTTP_ERR_ADDR;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s = calloc(1, sizeof *s);
	if (!s)
		return HTTP_ERR_NOMEM;
	s->a = a;
	s->quiesced_fd = MHD_INVALID_SOCKET;
	s->d = MHD_start_daemon(
		flags, (uint16_t)cfg->port, NULL, NULL, on_request, s,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_THREAD_POOL_SIZE,
		cfg->threads ? cfg->threads : 1,
		MHD_OPTION_CONNECTION_LIMIT, HTTP_CONNECTIONS_MAX,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
		MHD_OPTION_CONNECTION_TIMEOUT, HTTP_CONN_TIMEOUT_S,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
		MHD_OPTION_END);
	if (!s->d) {
		free(s);
		return HTTP_ERR_START;
	}
	*out = s;
	return HTTP_OK;
}

unsigned http_server_port(http_server *s)
{
	const union MHD_DaemonInfo *di =
		MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);

	return di ? di->port : 0;
}

void http_server_quiesce(http_server *s)
{
	/* The workers may still be polling the listening socket; it is
	 * closed once they have stopped. */
	atomic_store(&s->closing, 1);
	s->quiesced_fd = MHD_quiesce_daemon(s->d);
}

unsigned http_server_drain(http_server *s, unsigned timeout_ms)
{
	for (unsigned waited = 0; waited < timeout_ms; waited += 10) {
		if (atomic_load(&s->inflight) == 0)
			break;
		usleep(10000);
	}
	return atomic_load(&s->inflight);
}

void http_server_stop(http_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->d);
	if (s->quiesced_fd != MHD_INVALID_SOCKET)
		close(s->quiesced_fd);
	free(s);
}
