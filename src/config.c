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
	{"db-writers", "OPTD_DB_WRITERS"},
	{"nodes", "OPTD_NODES"},
	{"sms-provider", "OPTD_SMS_PROVIDER"},
	{"sms-log", "OPTD_SMS_LOG"},
	{"sms-max-attempts", "OPTD_SMS_MAX_ATTEMPTS"},
	{"sms-senders", "OPTD_SMS_SENDERS"},
	{"sms-timeout-ms", "OPTD_SMS_TIMEOUT_MS"},
	{"sms-lease-ms", "OPTD_SMS_LEASE_MS"},
	{"sms-retry-base-ms", "OPTD_SMS_RETRY_BASE_MS"},
	{"public-url", "OPTD_PUBLIC_URL"},
	{"twilio-account-sid", "OPTD_TWILIO_ACCOUNT_SID"},
	{"twilio-auth-token", "OPTD_TWILIO_AUTH_TOKEN"},
	{"twilio-messaging-service-sid", "OPTD_TWILIO_MESSAGING_SERVICE_SID"},
	{"twilio-api-base", "OPTD_TWILIO_API_BASE"},
	{"kannel-sendsms-url", "OPTD_KANNEL_SENDSMS_URL"},
	{"kannel-username", "OPTD_KANNEL_USERNAME"},
	{"kannel-password", "OPTD_KANNEL_PASSWORD"},
	{"kannel-secret", "OPTD_KANNEL_SECRET"},
	{"kannel-dlr-mask", "OPTD_KANNEL_DLR_MASK"},
	{"kannel-replies", "OPTD_KANNEL_REPLIES"},
	{"kannel-box", "OPTD_KANNEL_BOX"},
	{"flow-runners", "OPTD_FLOW_RUNNERS"},
	{"flow-webhook-timeout-ms", "OPTD_FLOW_WEBHOOK_TIMEOUT_MS"},
	{"flow-retry-base-ms", "OPTD_FLOW_RETRY_BASE_MS"},
	{"flow-lease-ms", "OPTD_FLOW_LEASE_MS"},
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

const char *config_flag_at(size_t i)
{
	return i < NNAMES ? names[i].flag : NULL;
}

/* String settings of the SMS provider: where each goes, and its size. */
static char *sms_string(config *c, const char *name, size_t *cap)
{
	sms_provider_conf *p = &c->sender.provider;
	struct {
		const char *name;
		char *dst;
		size_t cap;
	} f[] = {
		{"sms-log", p->log_path, sizeof p->log_path},
		{"public-url", p->public_url, sizeof p->public_url},
		{"twilio-account-sid", p->twilio_sid, sizeof p->twilio_sid},
		{"twilio-auth-token", p->twilio_token, sizeof p->twilio_token},
		{"twilio-messaging-service-sid", p->twilio_msid,
		 sizeof p->twilio_msid},
		{"twilio-api-base", p->twilio_base, sizeof p->twilio_base},
		{"kannel-sendsms-url", p->kannel_url, sizeof p->kannel_url},
		{"kannel-username", p->kannel_user, sizeof p->kannel_user},
		{"kannel-password", p->kannel_pass, sizeof p->kannel_pass},
		{"kannel-secret", p->kannel_secret, sizeof p->kannel_secret},
	};

	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		if (strcmp(name, f[i].name) == 0) {
			*cap = f[i].cap;
			return f[i].dst;
		}
	return NULL;
}

/* 0 set, 1 not an SMS setting, -1 bad value (err filled). */
static int set_sms(config *c, const char *name, const char *v,
		   char err[CONFIG_ERR_MAX])
{
	sender_conf *s = &c->sender;
	unsigned n = 0;
	size_t cap;
	char *dst = sms_string(c, name, &cap);

	if (dst) {
		if (strlen(v) >= cap)
			goto bad;
		snprintf(dst, cap, "%s", v);
		return 0;
	}
	if (strcmp(name, "kannel-box") == 0) {
		if (!*v) {
			c->kannel_box.host[0] = '\0';
			return 0;
		}
		if (kbl_parse_addr(v, &c->kannel_box) != 0) {
			snprintf(err, CONFIG_ERR_MAX, "invalid --kannel-box "
				 "\"%.64s\" (HOST:PORT, bearerbox's "
				 "smsbox-port)", v);
			return -1;
		}
		return 0;
	}
	if (strcmp(name, "kannel-replies") == 0) {
		if (strcmp(v, "inline") && strcmp(v, "sendsms")) {
			snprintf(err, CONFIG_ERR_MAX, "invalid --kannel-replies "
				 "\"%.32s\" (inline or sendsms)", v);
			return -1;
		}
		c->kannel_inline = !strcmp(v, "inline");
		return 0;
	}
	if (strcmp(name, "sms-provider") == 0)
		return sms_provider_parse(v, &s->provider.kind) ? (snprintf(
			err, CONFIG_ERR_MAX, "invalid --sms-provider \"%.32s\" "
			"(log, twilio or kannel)", v), -1) : 0;
	if (strcmp(name, "sms-max-attempts") == 0 &&
	    !parse_uint(v, 100, &n) && n > 0)
		s->max_attempts = (int)n;
	else if (strcmp(name, "sms-senders") == 0 &&
		 !parse_uint(v, SENDER_THREADS_MAX, &n) && n > 0)
		s->threads = n;
	else if (strcmp(name, "sms-timeout-ms") == 0 &&
		 !parse_uint(v, 600000, &n) && n >= 100)
		s->provider.timeout_ms = n;
	else if (strcmp(name, "sms-lease-ms") == 0 &&
		 !parse_uint(v, 3600000, &n) && n >= 200)
		s->lease_ms = n;
	else if (strcmp(name, "sms-retry-base-ms") == 0 &&
		 !parse_uint(v, 3600000, &n) && n > 0)
		s->retry_base_ms = n;
	else if (strcmp(name, "kannel-dlr-mask") == 0 &&
		 !parse_uint(v, 31, &n))
		s->provider.kannel_dlr_mask = (int)n;
	else if (strncmp(name, "sms-", 4) && strncmp(name, "kannel-", 7))
		return 1;
	else
		goto bad;
	return 0;
bad:
	snprintf(err, CONFIG_ERR_MAX, "invalid --%s \"%.64s\" (see docs/sms.md"
		 " for its range)", name, v);
	return -1;
}

/* 0 set, 1 not a flow setting, -1 bad value (err filled). */
static int set_flows(config *c, const char *name, const char *v,
		     char err[CONFIG_ERR_MAX])
{
	flows_conf *f = &c->flows;
	unsigned n = 0;

	if (strncmp(name, "flow-", 5))
		return 1;
	if (!strcmp(name, "flow-runners") &&
	    !parse_uint(v, FLOWS_THREADS_MAX, &n) && n > 0)
		f->threads = n;
	else if (!strcmp(name, "flow-webhook-timeout-ms") &&
		 !parse_uint(v, 600000, &n) && n >= 100)
		f->webhook_timeout_ms = n;
	else if (!strcmp(name, "flow-retry-base-ms") &&
		 !parse_uint(v, 3600000, &n) && n > 0)
		f->retry_base_ms = n;
	else if (!strcmp(name, "flow-lease-ms") &&
		 !parse_uint(v, 3600000, &n) && n >= 200)
		f->lease_ms = n;
	else {
		snprintf(err, CONFIG_ERR_MAX, "invalid --%s \"%.64s\" (see "
			 "docs/flows.md for its range)", name, v);
		return -1;
	}
	return 0;
}

int config_set(config *c, const char *name, const char *v,
	       char err[CONFIG_ERR_MAX])
{
	int rc = set_sms(c, name, v, err);

	if (rc == 1)
		rc = set_flows(c, name, v, err);
	if (rc <= 0)
		return rc;
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
	} else if (strcmp(name, "db-writers") == 0) {
		if (parse_uint(v, WRITER_LANES_MAX, &c->db_writers) ||
		    c->db_writers == 0)
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
		 : strcmp(name, "db-writers") == 0 ? " (1 to 8)"
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
	c->sender.provider.kind = SMS_PROVIDER_LOG;
	snprintf(c->sender.provider.log_path, sizeof c->sender.provider.log_path,
		 "optd-sms.log");
	snprintf(c->sender.provider.twilio_base,
		 sizeof c->sender.provider.twilio_base,
		 "https://api.twilio.com");
	c->sender.provider.kannel_dlr_mask = 27; /* final states and SMSC's */
	c->sender.provider.timeout_ms = SMS_TIMEOUT_MS_DEFAULT;
	c->sender.threads = 2;
	c->sender.max_attempts = 8;
	c->sender.lease_ms = 60000;
	c->sender.retry_base_ms = 1000;
	c->sender.retry_max_ms = 600000;
	c->flows.threads = 16; /* runners mostly wait on commits */
	c->flows.webhook_timeout_ms = 90000; /* Braze's */
	c->flows.webhook_max_attempts = 6;   /* the first and 5 retries */
	c->flows.retry_base_ms = 10000;
	c->flows.lease_ms = 120000;
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

int config_finish(config *c, char err[CONFIG_ERR_MAX])
{
	sms_provider_conf *p = &c->sender.provider;
	size_t n;

	if (!p->public_url[0])
		snprintf(p->public_url, sizeof p->public_url,
			 "http://127.0.0.1:%u", c->http.port);
	n = strlen(p->public_url);
	while (n > 0 && p->public_url[n - 1] == '/')
		p->public_url[--n] = '\0';
	if (strncmp(p->public_url, "http://", 7) != 0 &&
	    strncmp(p->public_url, "https://", 8) != 0) {
		snprintf(err, CONFIG_ERR_MAX, "invalid --public-url \"%.64s\" "
			 "(an http:// or https:// URL)", p->public_url);
		return -1;
	}
	/* A lease shorter than an attempt would let two senders send. */
	if (c->sender.lease_ms <= p->timeout_ms) {
		snprintf(err, CONFIG_ERR_MAX, "--sms-lease-ms (%lld) must be "
			 "longer than --sms-timeout-ms (%ld)",
			 (long long)c->sender.lease_ms, p->timeout_ms);
		return -1;
	}
	if (c->flows.lease_ms <= c->flows.webhook_timeout_ms) {
		snprintf(err, CONFIG_ERR_MAX, "--flow-lease-ms (%lld) must be "
			 "longer than --flow-webhook-timeout-ms (%ld)",
			 (long long)c->flows.lease_ms,
			 c->flows.webhook_timeout_ms);
		return -1;
	}
	if (c->sender.retry_max_ms < c->sender.retry_base_ms)
		c->sender.retry_max_ms = c->sender.retry_base_ms;
	return 0;
}
