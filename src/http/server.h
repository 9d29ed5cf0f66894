/*
 * server: the HTTP server (libmicrohttpd, poll thread pool, suspend and
 * resume for requests waiting on the writer).
 *
 * Shutdown order matters: http_server_quiesce() stops accepting, the
 * caller waits with http_server_drain() until no request is in flight, and
 * only then stops the writer and calls http_server_stop(). That way every
 * request that was accepted gets its answer.
 */
#ifndef OPTD_SERVER_H
#define OPTD_SERVER_H

#include "http/http.h"

#define HTTP_ADDR_MAX 64
#define HTTP_THREADS_MAX 64
#define HTTP_CONNECTIONS_MAX 4096
#define HTTP_CONN_TIMEOUT_S 30
/*
 * Per-connection memory for the request line, headers and read buffer.
 * libmicrohttpd zeroes this pool for every request on a connection, so its
 * size is paid per request: 16 KiB, enough for Braze's largest usual query
 * (50 ids of each kind), rather than the library's 32 KiB default. A longer
 * request line gets a 414, larger headers a 431.
 */
#define HTTP_CONN_MEMORY (16 * 1024)

typedef struct http_server http_server;

typedef struct {
	char addr[HTTP_ADDR_MAX]; /* IPv4 or IPv6 literal */
	unsigned port;            /* 0: any free port */
	unsigned threads;
} http_config;

typedef enum {
	HTTP_OK = 0,
	HTTP_ERR_ADDR,  /* not an IP address */
	HTTP_ERR_START, /* bind or thread start failed */
	HTTP_ERR_NOMEM,
} http_err;

http_err http_server_start(const http_config *cfg, app *a,
			   http_server **out);
unsigned http_server_port(http_server *s);
void http_server_quiesce(http_server *s);
/* Wait up to timeout_ms for in-flight requests; returns how many remain. */
unsigned http_server_drain(http_server *s, unsigned timeout_ms);
void http_server_stop(http_server *s); /* NULL-safe */
const char *http_strerror(http_err err);

#endif
