/* origin: see origin.h. */
#include "core/origin.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ORIGIN_HOST_MAX 253 /* bytes of a DNS name */

static int host_char(int c)
{
	return isalnum(c) || c == '-' || c == '.';
}

/* [v6] with hex digits, ':' and '.' (an embedded IPv4) inside. */
static int ipv6_ok(const char *h, size_t n)
{
	if (n < 4 || h[0] != '[' || h[n - 1] != ']')
		return 0;
	for (size_t i = 1; i + 1 < n; i++)
		if (!isxdigit((unsigned char)h[i]) && h[i] != ':' &&
		    h[i] != '.')
			return 0;
	return 1;
}

static int name_ok(const char *h, size_t n)
{
	if (n == 0 || n > ORIGIN_HOST_MAX || h[0] == '.' || h[0] == '-' ||
	    h[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!host_char((unsigned char)h[i]) ||
		    (h[i] == '.' && i + 1 < n && h[i + 1] == '.'))
			return 0;
	return 1;
}

/* ":port" at p (n bytes): 1 to 65535, no sign, no leading zero. */
static long port_of(const char *p, size_t n)
{
	long v = 0;

	if (n < 2 || n > 6 || p[0] != ':' || p[1] == '0')
		return -1;
	for (size_t i = 1; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v <= 65535 ? v : -1;
}

const char *origin_normalize(const char *in, char out[ORIGIN_MAX + 1])
{
	const char *host, *end, *colon;
	size_t n = in ? strlen(in) : 0, hlen;
	int https;
	long port = 0;

	out[0] = '\0';
	if (n == 0 || n > ORIGIN_MAX)
		return "must be 1 to 255 bytes";
	if (!strncasecmp(in, "https://", 8))
		https = 1, host = in + 8;
	else if (!strncasecmp(in, "http://", 7))
		https = 0, host = in + 7;
	else
		return "must start with http:// or https://";
	end = in + n;
	if (end > host && end[-1] == '/') /* as an address bar shows it */
		end--;
	if (memchr(host, '/', (size_t)(end - host)) ||
	    memchr(host, '?', (size_t)(end - host)) ||
	    memchr(host, '#', (size_t)(end - host)) ||
	    memchr(host, '@', (size_t)(end - host)))
		return "must be scheme://host[:port], with no path, query or "
		       "user";
	colon = host[0] == '[' ? memchr(host, ']', (size_t)(end - host)) : host;
	colon = colon ? memchr(colon, ':', (size_t)(end - colon)) : NULL;
	hlen = (size_t)((colon ? colon : end) - host);
	if (colon && (port = port_of(colon, (size_t)(end - colon))) < 0)
		return "has a port that is not a number from 1 to 65535";
	if (!(host[0] == '[' ? ipv6_ok(host, hlen) : name_ok(host, hlen)))
		return "has a host that is not a DNS name or an IP address";
	if (port == (https ? 443 : 80))
		port = 0;
	n = (size_t)snprintf(out, ORIGIN_MAX + 1, "%s://%.*s",
			     https ? "https" : "http", (int)hlen, host);
	if (port)
		snprintf(out + n, ORIGIN_MAX + 1 - n, ":%ld", port);
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return NULL;
}

int origin_listed(const char *list, const char *origin)
{
	size_t n = origin ? strlen(origin) : 0;

	if (!list || n == 0)
		return 0;
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, " ");
		if (len == n && memcmp(p, origin, n) == 0)
			return 1;
		p += len;
		p += *p == ' ';
	}
	return 0;
}
