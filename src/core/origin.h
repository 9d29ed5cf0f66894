/*
 * origin: the web page origins an SDK key may be used from (CORS).
 *
 * An origin is written the way a browser sends it in the Origin header:
 * scheme "http" or "https", "://", a host (a DNS name in ASCII, an IPv4
 * address or a bracketed IPv6 address), and a port only when it is not the
 * scheme's default. origin_normalize() brings what an operator types to
 * that form, so comparing with the header is a plain string comparison;
 * lists are stored space-separated.
 */
#ifndef OPTD_ORIGIN_H
#define OPTD_ORIGIN_H

#include <stddef.h>

#define ORIGIN_MAX 255      /* bytes of one origin */
#define ORIGIN_LIST_MAX 16  /* origins on one SDK key */
/* The space-separated list of ORIGIN_LIST_MAX origins, with its NUL. */
#define ORIGIN_LIST_BYTES (ORIGIN_LIST_MAX * (ORIGIN_MAX + 1))

/*
 * Lower-case the scheme and host, drop a default port and one trailing
 * '/'. Returns NULL on success (out filled), else why `in` is not an
 * origin, as words that follow its quoted value in a message.
 */
const char *origin_normalize(const char *in, char out[ORIGIN_MAX + 1]);
/* 1 when `origin` is one of the space-separated `list`, exactly. */
int origin_listed(const char *list, const char *origin);

#endif
