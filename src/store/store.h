/*
 * store: the one storage interface of optd.
 *
 * Everything durable goes through these functions; nothing outside
 * src/store/ knows which database is behind them or speaks SQL. Two
 * backends implement it (store.c picks one by the URL in store_open()):
 * SQLite (sqlite*.c, a file) and PostgreSQL (pg*.c, `postgres://` or
 * `postgresql://` URLs, shared by any number of optd processes).
 *
 * Threads: a `store` is shared by all threads. Each calling thread gets its
 * own connection, opened on first use and kept until store_thread_done()
 * or store_close(); transactions therefore belong to the calling thread.
 * Writes are made by the writer thread (src/work/writer.c) in batches, and
 * by the command-line tools; readers never wait for writers (WAL, MVCC).
 * Inside a transaction a backend may hold a write back or send it without
 * waiting for its answer (PostgreSQL: buffered rows, the pipeline); reads
 * in the transaction still see it, and its error surfaces later, at the
 * latest at store_flush(), store_release() or store_commit().
 *
 * Errors: every fallible function returns a store_err, STORE_OK (0) on
 * success. STORE_UNAVAILABLE means "try again later" and becomes a 503,
 * never a false success.
 */
#ifndef OPTD_STORE_H
#define OPTD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/consent.h"
#include "core/ident.h"
#include "core/phone.h"

typedef struct store store;

typedef enum {
	STORE_OK = 0,
	STORE_NOTFOUND,
	STORE_CONFLICT,    /* a uniqueness rule would be broken */
	STORE_INVALID,     /* the request breaks a rule of the schema */
	STORE_UNAVAILABLE, /* busy, locked or unreachable: retry later */
	STORE_NOMEM,
	STORE_IO, /* disk or database failure */
} store_err;

typedef enum { STORE_DURABLE_FULL = 0, STORE_DURABLE_NORMAL } store_durability;

#define STORE_URL_MAX 1024
#define STORE_HASH_MAX 64
#define STORE_ORIGINS_MAX 4096 /* bytes of an SDK key's origin list */
#define STORE_TYPE_MAX 24 /* phone line type name */
#define STORE_CLIENT_MAX 64
#define STORE_REQID_MAX 32

const char *store_strerror(store_err err);
int store_durability_parse(const char *s, store_durability *out);

#define STORE_POOL_MAX 256 /* connections one process may hold */

typedef struct {
	store_durability dur;
	/* PostgreSQL: connections this process may hold at once (one per
	 * calling thread); 0 means STORE_POOL_DEFAULT. SQLite ignores it. */
	unsigned pool;
} store_opts;

#define STORE_POOL_DEFAULT 8

/* `url` is a file path or "sqlite:PATH" (SQLite), or a libpq URL
 * "postgres://..." / "postgresql://..." (PostgreSQL). Runs pending
 * migrations, each once, in order, recorded in schema_migrations. */
store_err store_open(const char *url, store_durability dur, store **out);
store_err store_open_with(const char *url, const store_opts *o, store **out);
/* `url` fit for a log line: a password in it becomes "***". Returns out. */
const char *store_url_redact(const char *url, char out[STORE_URL_MAX]);
void store_close(store *st);
const char *store_backend(const store *st);
/* 1 when several threads' transactions may write at once (PostgreSQL);
 * 0 when the database takes one writer at a time (SQLite). */
int store_concurrent_writes(const store *st);
/* Release the calling thread's connection (call before a thread exits). */
void store_thread_done(store *st);
/* 0 when the database answers a trivial query; for /healthz. */
store_err store_ping(store *st);

/* Which contact a lookup goes by. */
typedef enum {
	STORE_BY_PHONE = 0,
	STORE_BY_EMAIL,
	STORE_BY_EXTERNAL_ID,
} store_by;

/* Transactions and savepoints on the calling thread's connection. */
store_err store_begin(store *st);
store_err store_commit(store *st);
void store_rollback(store *st);
store_err store_savepoint(store *st);
store_err store_release(store *st);
void store_rollback_to(store *st);
/*
 * The calling thread becomes a writer's: its connection is set up for
 * that. Returns 1 when from then on its commits return before they are
 * on disk: nothing a commit did may be acknowledged until a store_sync()
 * begun after it returned STORE_OK (SQLite with durability full, which
 * thus fsyncs on another thread while the writer goes on). Returns 0 when
 * its commits stay durable as they return (PostgreSQL; SQLite with
 * durability normal never fsyncs a commit), -1 when the setup failed
 * (commits stay durable then too).
 */
int store_writer_setup(store *st);
/* Makes every commit made so far durable; from any thread, while others
 * commit. STORE_OK at once where store_writer_setup() returns 0. */
store_err store_sync(store *st);
/* Wait for every statement sent so far on this thread's connection and
 * return the first error among them (STORE_OK at once on SQLite, which
 * never defers). The writer calls it before committing a batch, so a
 * failed deferred write is replayed in savepoints rather than failing the
 * whole batch at commit. */
store_err store_flush(store *st);

/*
 * Reads announced ahead. Inside a transaction, a caller that knows which
 * profiles it is about to look up names them with store_want_user(): by
 * phone, e-mail or external_id, and with `group` (NULL: none) the
 * group whose subscription it will read for each. store_prefetch() then
 * lets a backend that pays a round trip per read (PostgreSQL) fetch all of
 * them at once; the lookups that follow in the transaction
 * (store_user_by_external_id, store_users_by_phone/_by_email,
 * store_user_get, store_sub_get) answer exactly as they would have
 * without, seeing the transaction's own writes. A hint only: SQLite
 * ignores both, and a lookup never announced still works. What was
 * fetched is forgotten at the transaction's end.
 */
void store_want_user(store *st, store_by by, const char *value,
		     const char *group);
store_err store_prefetch(store *st);

/* ---- API keys ---- */

typedef struct {
	int64_t id;
	char name[IDENT_NAME_MAX + 1];
	char hash[STORE_HASH_MAX + 1]; /* SHA-256 hex of the key */
	uint32_t scopes;               /* bit set, see http/auth.h */
	uint32_t rate_limit;           /* per minute; 0 = Braze defaults */
	int64_t created_ms;
	int64_t revoked_ms; /* 0 while live */
	/* An SDK key is public: it has no scopes, is taken only by the
	 * browser SDK's endpoints, and names the page origins (space
	 * separated, as core/origin.h writes them) that may use it. */
	int sdk;
	char origins[STORE_ORIGINS_MAX + 1];
} store_key;

typedef int (*store_key_cb)(void *ctx, const store_key *k);

/* CONFLICT when a live key has that name. Sets k->id. */
store_err store_key_insert(store *st, store_key *k);
/* Only live keys are found. */
store_err store_key_by_hash(store *st, const char *hash, store_key *out);
store_err store_key_by_name(store *st, const char *name, store_key *out);
store_err store_key_get(store *st, int64_t id, store_key *out);
store_err store_key_revoke(store *st, int64_t id, int64_t now_ms);
store_err store_key_list(store *st, store_key_cb cb, void *ctx);
/* STORE_OK when a live SDK key lists `origin`, NOTFOUND when none does
 * (a CORS preflight names its origin but not its key). */
store_err store_key_origin_known(store *st, const char *origin);

/* ---- Subscription groups and their sending numbers ---- */

#define STORE_NUMBERS_MAX 100 /* sending numbers per group */

typedef struct {
	char id[IDENT_GROUP_ID_MAX + 1];
	char name[IDENT_NAME_MAX + 1];
	consent_channel channel;
	int double_opt_in;
	int64_t created_ms;
	int64_t updated_ms;
} store_group;

typedef int (*store_group_cb)(void *ctx, const store_group *g);
typedef int (*store_number_cb)(void *ctx, const char *number);

store_err store_group_insert(store *st, const store_group *g);
store_err store_group_get(store *st, const char *id, store_group *out);
store_err store_group_update(store *st, const store_group *g);
store_err store_group_list(store *st, store_group_cb cb, void *ctx);
/* CONFLICT when the number already belongs to a group. */
store_err store_number_add(store *st, const char *number, const char *group);
store_err store_numbers_clear(store *st, const char *group);
store_err store_number_owner(store *st, const char *number,
			     char group_out[IDENT_GROUP_ID_MAX + 1]);

/*
 * An id of the calling thread's open transaction, 0 outside one. It
 * changes at every begin and rollback to a savepoint, and whenever the
 * transaction writes a subscription group or its numbers, so a group or
 * number read under one id may be used again while the id is the same
 * (the writer's batch reads its groups once, not once per message).
 */
uint64_t store_tx_id(store *st);
store_err store_group_numbers(store *st, const char *group,
			      store_number_cb cb, void *ctx);

/* ---- Users ---- */

#define STORE_PHONE_SHARE_MAX 100 /* profiles updated per shared phone */

typedef struct {
	int64_t id;
	char external_id[IDENT_EXTERNAL_ID_MAX + 1]; /* "" when anonymous */
	char phone[PHONE_E164_MAX + 1];              /* "" when none */
	int phone_valid;
	char phone_type[STORE_TYPE_MAX + 1];
	char email[IDENT_EMAIL_MAX + 1];
	int64_t created_ms;
	int64_t updated_ms;
} store_user;

store_err store_user_get(store *st, int64_t id, store_user *out);
store_err store_user_by_external_id(store *st, const char *ext,
				    store_user *out);
/* Up to `max` ids of users with this phone, oldest first; *n is set. */
store_err store_users_by_phone(store *st, const char *phone, int64_t *ids,
			       size_t max, size_t *n);
store_err store_users_by_email(store *st, const char *email, int64_t *ids,
			       size_t max, size_t *n);

/* A profile and its state in one group. */
typedef struct {
	store_user user;
	consent_state state; /* CONSENT_UNKNOWN when never set */
} store_user_sub;

/* Up to `max` users with this phone, oldest first, each with its state in
 * `group`; *n is set. One read where store_users_by_phone() and
 * store_sub_get() take one per profile. */
store_err store_users_by_phone_in(store *st, const char *phone,
				  const char *group, store_user_sub *out,
				  size_t max, size_t *n);
/* Sets u->id. CONFLICT when the external_id is taken. */
store_err store_user_insert(store *st, store_user *u);
/* Writes phone, phone_valid, phone_type and email of an existing user. */
store_err store_user_update_contact(store *st, const store_user *u);

/* ---- Subscriptions ---- */

typedef struct {
	char group_id[IDENT_GROUP_ID_MAX + 1];
	char group_name[IDENT_NAME_MAX + 1];
	consent_channel channel;
	consent_state state;
	int64_t since_ms;
} store_sub;

typedef int (*store_sub_cb)(void *ctx, const store_sub *s);

/* CONSENT_UNKNOWN (and STORE_OK) when never set; since may be NULL. */
store_err store_sub_get(store *st, int64_t user, const char *group,
			consent_state *out, int64_t *since_ms);
store_err store_sub_put(store *st, int64_t user, const char *group,
			consent_state state, consent_source src,
			int double_opt_in, int64_t now_ms);
/* Every group in the user's history, ordered by group id. */
store_err store_user_subs(store *st, int64_t user, store_sub_cb cb,
			  void *ctx);

/* ---- Consent ledger (append-only) ---- */

#define STORE_EVIDENCE_MAX 4096 /* bytes of JSON evidence per entry */

typedef struct {
	int64_t id;
	int64_t time_ms;
	int64_t user_id;
	char external_id[IDENT_EXTERNAL_ID_MAX + 1];
	char phone[PHONE_E164_MAX + 1];
	char email[IDENT_EMAIL_MAX + 1];
	char group_id[IDENT_GROUP_ID_MAX + 1];
	consent_state old_state;
	consent_state new_state;
	consent_source source;
	char key_name[IDENT_NAME_MAX + 1];
	char request_id[STORE_REQID_MAX + 1];
	char client_addr[STORE_CLIENT_MAX + 1];
	char evidence[STORE_EVIDENCE_MAX + 1]; /* JSON object, "" if none */
} store_ledger;

typedef int (*store_ledger_cb)(void *ctx, const store_ledger *e);

store_err store_ledger_append(store *st, const store_ledger *e);

/* Oldest first; at most `limit` entries with id > after_id. */
store_err store_ledger_find(store *st, store_by by, const char *value,
			    int64_t after_id, size_t limit,
			    store_ledger_cb cb, void *ctx);

/* ---- SMS: group settings, inbound messages, the outbox ---- */

#define STORE_SMS_CONFIG_MAX 65536 /* bytes of a group's SMS settings JSON */
#define STORE_ADDR_MAX 32          /* an SMS address: E.164, short code */
#define STORE_PROVIDER_MAX 15      /* "twilio", "kannel", "log", "generic" */
#define STORE_MSGID_MAX 64         /* a provider's message id */
#define STORE_SMS_BODY_MAX 6400    /* bytes: 1,600 characters of UTF-8 */
#define STORE_CATEGORY_MAX 64      /* keyword category or custom name */
#define STORE_KEYWORD_MAX 160      /* normalised keyword, bytes */
#define STORE_LANG_MAX 15
#define STORE_ACTION_MAX 31
#define STORE_KIND_MAX 23
#define STORE_DEDUPE_MAX 64
#define STORE_ERRTEXT_MAX 255      /* a provider's error, as recorded */
#define STORE_ENCODING_MAX 7       /* "GSM-7", "UCS-2" */

/*
 * A group's SMS settings (keywords, replies, languages, double opt-in,
 * provider overrides) are one JSON document that core/smscfg.h validates;
 * the store keeps it as text. *json is malloc'd ("" when never set) and
 * the caller frees it; NOTFOUND when there is no such group.
 */
store_err store_group_sms_get(store *st, const char *group, char **json);
store_err store_group_sms_set(store *st, const char *group, const char *json,
			      int64_t now_ms);

/* An inbound message as received, and what optd made of it. */
typedef struct {
	int64_t id;
	int64_t time_ms;
	char provider[STORE_PROVIDER_MAX + 1];
	char provider_msg_id[STORE_MSGID_MAX + 1];
	char from[STORE_ADDR_MAX + 1];
	char to[STORE_ADDR_MAX + 1];
	char group_id[IDENT_GROUP_ID_MAX + 1]; /* "" when no group owns `to` */
	char category[STORE_CATEGORY_MAX + 1]; /* opt_out, ..., other */
	char lang[STORE_LANG_MAX + 1];
	char keyword[STORE_KEYWORD_MAX + 1];
	char action[STORE_ACTION_MAX + 1];     /* subscribed, none, ... */
	char body[STORE_SMS_BODY_MAX + 1];
} store_inbound;

typedef int (*store_inbound_cb)(void *ctx, const store_inbound *m);

/* Sets m->id. CONFLICT when (provider, provider_msg_id) is known: the
 * webhook is a retry and must apply nothing. A message without an id
 * ("") is never taken for a retry. */
store_err store_inbound_insert(store *st, store_inbound *m);
/* The message recorded under (provider, provider_msg_id): what a retry
 * is answered with. NOTFOUND when there is none. */
store_err store_inbound_get(store *st, const char *provider,
			    const char *msgid, store_inbound *m);
/* Oldest first; at most `limit` with id > after_id. */
store_err store_inbound_list(store *st, int64_t after_id, size_t limit,
			     store_inbound_cb cb, void *ctx);

typedef enum {
	STORE_OUT_QUEUED = 0,
	STORE_OUT_SENDING,   /* claimed by a sender until next_ms */
	STORE_OUT_SENT,      /* the provider accepted it */
	STORE_OUT_DELIVERED, /* the provider reported delivery */
	STORE_OUT_FAILED,    /* gave up; error says why */
	STORE_OUT_REJECTED,  /* never sent: the sending rule; error = reason */
	STORE_OUT__COUNT,
} store_out_state;

const char *store_out_state_name(store_out_state s); /* "queued", ... */
int store_out_state_parse(const char *s, store_out_state *out);

typedef struct {
	int64_t id;
	char dedupe[STORE_DEDUPE_MAX + 1]; /* unique; also sent to providers */
	char group_id[IDENT_GROUP_ID_MAX + 1];
	char to[STORE_ADDR_MAX + 1];
	char from[STORE_ADDR_MAX + 1];
	char kind[STORE_KIND_MAX + 1];   /* reply kinds, or "message" */
	int64_t inbound_id;              /* the message it answers, or 0 */
	store_out_state state;
	char provider[STORE_PROVIDER_MAX + 1];
	char provider_id[STORE_MSGID_MAX + 1];
	int attempts;
	int64_t next_ms; /* queued: due time; sending: lease end */
	char error[STORE_ERRTEXT_MAX + 1];
	char encoding[STORE_ENCODING_MAX + 1];
	int segments;
	int64_t created_ms;
	int64_t updated_ms;
	char body[STORE_SMS_BODY_MAX + 1];
} store_outbox;

typedef int (*store_outbox_cb)(void *ctx, const store_outbox *m);

/* Sets m->id. CONFLICT when the dedupe key is taken. */
store_err store_outbox_insert(store *st, store_outbox *m);
/*
 * Claim up to `limit` due messages, oldest first: queued ones with
 * next_ms <= now_ms, and sending ones whose lease (next_ms) has run out
 * (their sender died). Each becomes `sending` with next_ms = now_ms +
 * lease_ms and one more attempt counted before cb sees it. Call inside a transaction; on PostgreSQL two
 * processes never claim the same message (SKIP LOCKED). When cb returns
 * nonzero it is called no more; the messages it was not shown stay claimed
 * until their lease runs out.
 */
store_err store_outbox_claim(store *st, int64_t now_ms, int64_t lease_ms,
			     size_t limit, store_outbox_cb cb, void *ctx);
/* Writes state, provider, provider_id, attempts, next_ms, error and
 * updated_ms of message m->id. NOTFOUND when there is none. */
store_err store_outbox_update(store *st, const store_outbox *m);
store_err store_outbox_get(store *st, int64_t id, store_outbox *out);
store_err store_outbox_by_provider_id(store *st, const char *provider,
				      const char *provider_id,
				      store_outbox *out);
/* Oldest first; at most `limit` with id > after_id; `state` < 0 means
 * any state, `to` NULL or "" any recipient. */
store_err store_outbox_list(store *st, int64_t after_id, size_t limit,
			    int state, const char *to, store_outbox_cb cb,
			    void *ctx);
/* The earliest next_ms among queued messages; NOTFOUND when none. */
store_err store_outbox_next_due(store *st, int64_t *next_ms);

/* Pending double opt-in prompts, one per (phone, group): get answers
 * NOTFOUND when none is pending, put replaces an earlier prompt, and
 * deleting one that is not there is no error. */
store_err store_doi_get(store *st, const char *phone, const char *group,
			int64_t *since_ms);
store_err store_doi_put(store *st, const char *phone, const char *group,
			int64_t since_ms);
store_err store_doi_delete(store *st, const char *phone, const char *group);

/* ---- Profiles' attributes, aliases, events, idempotent answers ---- */

#define STORE_ATTRS_MAX (100 * 1024) /* bytes of a user's attributes JSON */
#define STORE_ALIAS_MAX 255          /* bytes of an alias name or label */
#define STORE_EVENT_NAME_MAX 1020  /* bytes: 255 characters of UTF-8 */
#define STORE_PROPS_MAX (50 * 1024)  /* bytes of an event's properties */
#define STORE_IDEM_KEY_MAX 255
#define STORE_IDEM_BODY_MAX 65536

/* A JSON object ("{}" when none); *json is malloc'd. NOTFOUND: no user. */
store_err store_user_attrs_get(store *st, int64_t user, char **json);
store_err store_user_attrs_set(store *st, int64_t user, const char *json,
			       int64_t now_ms);
/* NOTFOUND when no user has this alias. */
store_err store_user_by_alias(store *st, const char *label, const char *name,
			      store_user *out);
/* CONFLICT when another user holds the alias. */
store_err store_alias_add(store *st, int64_t user, const char *label,
			  const char *name);

typedef struct {
	int64_t id;
	int64_t user_id;
	char name[STORE_EVENT_NAME_MAX + 1];
	int64_t time_ms;    /* when it happened (never in the future) */
	int64_t created_ms; /* when optd stored it */
	const char *props;  /* JSON object text; insert: may be NULL */
} store_event;

typedef int (*store_event_cb)(void *ctx, const store_event *e);

/* Sets e->id. */
store_err store_event_insert(store *st, store_event *e);
/* Newest first; at most `limit`. e->props is valid during the call. */
store_err store_events_by_user(store *st, int64_t user, size_t limit,
			       store_event_cb cb, void *ctx);

typedef struct {
	int64_t user_id;
	char product_id[STORE_EVENT_NAME_MAX + 1];
	char currency[4];
	double price;
	int64_t quantity;
	int64_t time_ms;
	const char *props; /* JSON object text or NULL */
} store_purchase;

store_err store_purchase_insert(store *st, const store_purchase *p);

/*
 * Idempotency keys: the first answer to (route, key) is kept with the
 * change it made, in the same transaction. get: NOTFOUND when the key is
 * new; *body is malloc'd.
 */
store_err store_idem_get(store *st, const char *route, const char *key,
			 int *status, char **body);
store_err store_idem_put(store *st, const char *route, const char *key,
			 int status, const char *body, int64_t now_ms);

/* ---- Flows and their runs ---- */

#define STORE_FLOW_ID_MAX 64
#define STORE_FLOW_DEF_MAX (256 * 1024) /* bytes of a flow definition */
#define STORE_EXCERPT_MAX 1024          /* bytes of an answer kept */

typedef struct {
	char id[STORE_FLOW_ID_MAX + 1];
	char name[IDENT_NAME_MAX + 1];
	int version;            /* the latest */
	int enabled;
	/* what starts it, for the lookups at entry */
	char entry_event[STORE_EVENT_NAME_MAX + 1]; /* "" unless an event */
	char entry_group[IDENT_GROUP_ID_MAX + 1];   /* "" unless an SMS */
	int64_t created_ms;
	int64_t updated_ms;
} store_flow;

typedef int (*store_flow_cb)(void *ctx, const store_flow *f);

/* A new flow at version 1. CONFLICT when the id is taken. */
store_err store_flow_insert(store *st, const store_flow *f, const char *def);
/* A new version (f->version is set to it); NOTFOUND when no such flow. */
store_err store_flow_new_version(store *st, store_flow *f, const char *def);
store_err store_flow_get(store *st, const char *id, store_flow *out);
/* The definition of one version; *def is malloc'd. */
store_err store_flow_def(store *st, const char *id, int version, char **def);
store_err store_flow_set_enabled(store *st, const char *id, int enabled,
				 int64_t now_ms);
store_err store_flow_list(store *st, store_flow_cb cb, void *ctx);
/* Enabled flows entered by this event name / by SMS to this group. */
store_err store_flows_for_event(store *st, const char *event,
				store_flow_cb cb, void *ctx);
store_err store_flows_for_group(store *st, const char *group,
				store_flow_cb cb, void *ctx);

typedef enum {
	STORE_RUN_ACTIVE = 0, /* a step is due at next_ms */
	STORE_RUN_RUNNING,    /* claimed by a runner until next_ms */
	STORE_RUN_DONE,
	STORE_RUN_EXITED,     /* left early (the audience no longer matched) */
	STORE_RUN_FAILED,
	STORE_RUN__COUNT,
} store_run_state;

const char *store_run_state_name(store_run_state s);

typedef struct {
	int64_t id;
	char flow_id[STORE_FLOW_ID_MAX + 1];
	int version;
	int64_t user_id;
	store_run_state state;
	int step;        /* index of the step to run next */
	int attempts;    /* attempts of that step so far */
	int64_t next_ms; /* due (active) or lease end (running) */
	int64_t created_ms;
	int64_t updated_ms;
	char *entry_props; /* JSON object text; malloc'd on reads */
	char *event_props; /* the entry event's properties, or NULL */
} store_run;

typedef int (*store_run_cb)(void *ctx, const store_run *r);

/* Sets r->id. With once = 1, CONFLICT when this user already has a run of
 * this flow (re-entry off); the props are copied. */
store_err store_run_insert(store *st, store_run *r, int once);
/* Like store_outbox_claim: due active runs and expired running ones
 * become running until now + lease. cb sees each; strings are valid
 * during the call. */
store_err store_run_claim(store *st, int64_t now_ms, int64_t lease_ms,
			  size_t limit, store_run_cb cb, void *ctx);
/* Writes state, step, attempts, next_ms, updated_ms of run r->id. */
store_err store_run_update(store *st, const store_run *r);
store_err store_run_get(store *st, int64_t id, store_run *out);
void store_run_free(store_run *r); /* frees the props of a read run */
/* Newest first, at most `limit`, of one flow. */
store_err store_runs_by_flow(store *st, const char *flow, size_t limit,
			     store_run_cb cb, void *ctx);
/* The earliest next_ms among active runs; NOTFOUND when none. */
store_err store_run_next_due(store *st, int64_t *next_ms);
/* When this user last entered this flow (created_ms of the newest run);
 * NOTFOUND when never. */
store_err store_run_last_entry(store *st, const char *flow, int64_t user,
			       int64_t *created_ms);

typedef struct {
	int64_t run_id;
	int step;
	int attempt;
	int64_t time_ms;
	char outcome[24]; /* "ok", "retry", "failed", "skipped", "sent" ... */
	int http_status;  /* 0 when none */
	char detail[STORE_EXCERPT_MAX + 1]; /* answer excerpt or error */
} store_step_log;

typedef int (*store_step_cb)(void *ctx, const store_step_log *l);

store_err store_step_log_add(store *st, const store_step_log *l);
/* Oldest first. */
store_err store_step_logs(store *st, int64_t run, store_step_cb cb,
			  void *ctx);

/* ---- Hosted sign-up forms, the consent texts they show, secrets ---- */

#define STORE_FORM_GROUPS_MAX 8      /* check boxes on one form */
#define STORE_FORM_TITLE_MAX 200     /* bytes of a form's title */
#define STORE_FORM_URL_MAX 1024      /* bytes of a form's redirect URL */
#define STORE_CONSENT_TEXT_MAX 2048  /* bytes of one consent text */
#define STORE_SECRET_MAX 128         /* bytes of a stored secret */

typedef struct {
	char group_id[IDENT_GROUP_ID_MAX + 1];
	char text_sha256[STORE_HASH_MAX + 1]; /* its consent text's hash */
} store_form_group;

typedef struct {
	char id[IDENT_GROUP_ID_MAX + 1];
	char title[STORE_FORM_TITLE_MAX + 1];
	char redirect_url[STORE_FORM_URL_MAX + 1]; /* "" when none */
	size_t n_groups;
	store_form_group groups[STORE_FORM_GROUPS_MAX]; /* in page order */
	int64_t created_ms;
	int64_t updated_ms;
} store_form;

typedef int (*store_form_cb)(void *ctx, const store_form *f);

/*
 * Consent texts are kept once each, keyed by the SHA-256 (hex) of their
 * exact bytes, which is what ledger evidence names. Putting a text that
 * is already there is no error; texts are never changed or removed.
 * get: *text is malloc'd; NOTFOUND when no text has that hash.
 */
store_err store_consent_text_put(store *st, const char *sha256,
				 const char *text, int64_t now_ms);
store_err store_consent_text_get(store *st, const char *sha256, char **text);
/* A form and its groups, all or nothing; CONFLICT when the id is taken.
 * Every group and every text hash must exist (INVALID otherwise). */
store_err store_form_insert(store *st, const store_form *f);
store_err store_form_get(store *st, const char *id, store_form *out);
/* Ordered by id; the groups are not read (n_groups is 0). */
store_err store_form_list(store *st, store_form_cb cb, void *ctx);

/*
 * A secret every process on this database shares (the key forms sign
 * their tokens with): `value` comes in holding a fresh candidate, which is
 * stored if `name` has no value yet, and goes out holding the stored one,
 * so that racing processes all end up with the first one stored.
 */
store_err store_secret_ensure(store *st, const char *name,
			      char value[STORE_SECRET_MAX + 1]);

#endif
