/*
 * config: the settings of `optd serve` and the command line, from flags
 * and OPTD_* environment variables (a flag wins over the environment, the
 * environment over the default). Validated once, here, so the rest of optd
 * can trust every field.
 */
#ifndef OPTD_CONFIG_H
#define OPTD_CONFIG_H

#include "core/phone.h"
#include "core/ratelimit.h"
#include "http/server.h"
#include "lib/log.h"
#include "sms/provider.h"
#include "sms/kboxlink.h"
#include "store/store.h"
#include "work/flows.h"
#include "work/sender.h"
#include "work/writer.h"

#define CONFIG_ERR_MAX 256

typedef struct {
	http_config http;
	char db[STORE_URL_MAX];
	store_durability durability;
	log_format log_format;
	char default_region[PHONE_REGION_MAX + 1];
	/* PostgreSQL connections per process; 0 = enough for every thread
	 * (serve.c). */
	unsigned db_pool;
	/* Writer lanes on PostgreSQL (writer.h), 1 to WRITER_LANES_MAX; 0 =
	 * SERVE_PG_WRITERS, or 1 with several nodes. SQLite always has one. */
	unsigned db_writers;
	/* optd processes sharing the database: each enforces 1/nodes of
	 * every rate limit (core/ratelimit.h). */
	unsigned nodes;
	/* SMS (docs/sms.md, Settings): the global provider and the sender;
	 * sender.provider.public_url is "" until config_finish() fills the
	 * default from the port. */
	sender_conf sender;
	flows_conf flows; /* docs/flows.md, Settings */
	int kannel_inline; /* --kannel-replies inline: replies in the answer */
	/* --kannel-box HOST:PORT: bearerbox's smsbox-port, "" for none */
	kbl_conf kannel_box;
} config;

/* Defaults, then the environment. 0 or -1 with err filled. */
int config_from_env(config *c, char err[CONFIG_ERR_MAX]);
/* One flag (without its leading dashes) and its value. 1 if unknown. */
int config_set(config *c, const char *name, const char *value,
	       char err[CONFIG_ERR_MAX]);
/* Defaults that depend on other settings; checks that need them all. */
int config_finish(config *c, char err[CONFIG_ERR_MAX]);
/* The i-th flag name (without dashes), NULL past the last. */
const char *config_flag_at(size_t i);

#endif
