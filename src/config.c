/* config: see config.h. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct {
	const char *flag, *env;
} names[] = {
	{"listen", "OPTD_LISTEN"},
	{"port", "OPTD_PORT"},
	{"db", "OPTD_DB"},
	{"durability", "OPTD_DURABILITY"},
	{"log-format", "OPTD_LOG_FORMAT"},
	{"default-region", "OPTD_DEFAULT_REGION"},
	{"threads", "OPTD_THREADS"},
	{"db-pool", "OPTD_DB_POOL"},
	{"nodes", "OPTD_NODES"},
};

#define NNAMES (sizeof names / sizeof names[0])

static int parse_uint(const char *v, unsigned long max, unsigned *out)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10);

	if (!*v || *end || n > max || v[0] == '-')
		return -1;
	*out = (unsigned)n;
	return 0;
}

int config_set(config *c, const char *name, const char *v,
	       char err[CONFIG_ERR_MAX])
{
	if (strcmp(name, "listen") == 0) {
		unsigned char sa[sizeof(struct in6_addr)];
		if (strlen(v) >= sizeof c->http.addr ||
		    (inet_pton(AF_INET, v, sa) != 1 &&
		     inet_pton(AF_INET6, v, sa) != 1))
			goto bad;
		snprintf(c->http.addr, sizeof c->http.addr, "%s", v);
	} else if (strcmp(name, "port") == 0) {
		if (parse_uint(v, 65535, &c->http.port))
			goto bad;
	} else if (strcmp(name, "db") == 0) {
		if (!*v || strlen(v) >= sizeof c->db)
			goto bad;
		snprintf(c->db, sizeof c->db, "%s", v);
	} else if (strcmp(name, "durability") == 0) {
		if (store_durability_parse(v, &c->durability))
			goto bad;
	} else if (strcmp(name, "log-format") == 0) {
		if (log_parse_format(v, &c->log_format))
			goto bad;
	} else if (strcmp(name, "default-region") == 0) {
		if (strlen(v) != 2 || !phone_region_ok(v))
			goto bad;
		c->default_region[0] = (char)(v[0] & ~0x20);
		c->default_region[1] = (char)(v[1] & ~0x20);
		c->default_region[2] = '\0';
	} else if (strcmp(name, "db-pool") == 0) {
		if (parse_uint(v, STORE_POOL_MAX, &c->db_pool) ||
		    c->db_pool == 0)
			goto bad;
	} else if (strcmp(name, "nodes") == 0) {
		if (parse_uint(v, RL_SHARE_MAX, &c->nodes) || c->nodes == 0)
			goto bad;
	} else if (strcmp(name, "threads") == 0) {
		if (parse_uint(v, HTTP_THREADS_MAX, &c->http.threads) ||
		    c->http.threads == 0)
			goto bad;
	} else {
		return 1;
	}
	return 0;
bad:
	snprintf(err, CONFIG_ERR_MAX, "invalid --%s \"%.64s\"%s", name, v,
		 strcmp(name, "durability") == 0 ? " (full or normal)"
		 : strcmp(name, "log-format") == 0 ? " (text or json)"
		 : strcmp(name, "default-region") == 0 ? " (a two-letter "
		   "region such as US)"
		 : strcmp(name, "threads") == 0 ? " (1 to 64)"
		 : strcmp(name, "db-pool") == 0 ? " (1 to 256)"
		 : strcmp(name, "nodes") == 0 ? " (1 to 256)"
		 : strcmp(name, "listen") == 0 ? " (an IPv4 or IPv6 address)"
		 : "");
	return -1;
}

int config_from_env(config *c, char err[CONFIG_ERR_MAX])
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	memset(c, 0, sizeof *c);
	snprintf(c->http.addr, sizeof c->http.addr, "127.0.0.1");
	c->http.port = 8080;
	c->http.threads = cpus > 0 && cpus <= HTTP_THREADS_MAX ? (unsigned)cpus
							       : 2;
	snprintf(c->db, sizeof c->db, "./optd.db");
	c->durability = STORE_DURABLE_FULL;
	c->nodes = 1;
	c->log_format = LOG_TEXT;
	snprintf(c->default_region, sizeof c->default_region, "US");
	for (size_t i = 0; i < NNAMES; i++) {
		const char *v = getenv(names[i].env);
		if (v && config_set(c, names[i].flag, v, err) != 0) {
			char tmp[CONFIG_ERR_MAX];
			snprintf(tmp, sizeof tmp, "%s (from %s)", err,
				 names[i].env);
			memcpy(err, tmp, CONFIG_ERR_MAX);
			return -1;
		}
	}
	return 0;
}
