/*
 * store_int: the contract between store.c (the public store.h functions)
 * and the backends (sqlite*.c, pg*.c). Nothing outside src/store/ sees it.
 *
 * Every backend's store struct begins with a `store` whose `vt` points to
 * the backend's table; store.c forwards each store.h call through it, so a
 * backend only implements the operations listed here, with the same
 * meaning store.h documents. STORE_OPS lists the operations that return a
 * store_err, as X(name, parameters, arguments); the few others are in the
 * table by hand.
 */
#ifndef OPTD_STORE_INT_H
#define OPTD_STORE_INT_H

#include "store/store.h"

#define STORE_OPS(X)                                                        \
	X(ping, (store * st), (st))                                         \
	X(begin, (store * st), (st))                                        \
	X(commit, (store * st), (st))                                       \
	X(savepoint, (store * st), (st))                                    \
	X(release, (store * st), (st))                                      \
	X(flush, (store * st), (st))                                        \
	X(key_insert, (store * st, store_key * k), (st, k))                 \
	X(key_by_hash, (store * st, const char *h, store_key *o), (st, h, o)) \
	X(key_by_name, (store * st, const char *n, store_key *o), (st, n, o)) \
	X(key_get, (store * st, int64_t id, store_key *o), (st, id, o))     \
	X(key_revoke, (store * st, int64_t id, int64_t now), (st, id, now)) \
	X(key_list, (store * st, store_key_cb cb, void *ctx), (st, cb, ctx)) \
	X(group_insert, (store * st, const store_group *g), (st, g))        \
	X(group_get, (store * st, const char *id, store_group *o), (st, id, o)) \
	X(group_update, (store * st, const store_group *g), (st, g))        \
	X(group_list, (store * st, store_group_cb cb, void *ctx), (st, cb, ctx)) \
	X(number_add, (store * st, const char *n, const char *g), (st, n, g)) \
	X(numbers_clear, (store * st, const char *g), (st, g))              \
	X(number_owner, (store * st, const char *n,                         \
			 char g[IDENT_GROUP_ID_MAX + 1]), (st, n, g))       \
	X(group_numbers, (store * st, const char *g, store_number_cb cb,    \
			  void *ctx), (st, g, cb, ctx))                     \
	X(user_get, (store * st, int64_t id, store_user *o), (st, id, o))   \
	X(user_by_external_id, (store * st, const char *x, store_user *o),  \
	  (st, x, o))                                                       \
	X(users_by_phone, (store * st, const char *p, int64_t *ids,         \
			   size_t max, size_t *n), (st, p, ids, max, n))    \
	X(users_by_email, (store * st, const char *e, int64_t *ids,         \
			   size_t max, size_t *n), (st, e, ids, max, n))    \
	X(user_insert, (store * st, store_user * u), (st, u))               \
	X(user_update_contact, (store * st, const store_user *u), (st, u))  \
	X(sub_get, (store * st, int64_t u, const char *g, consent_state *o, \
		    int64_t *since), (st, u, g, o, since))                  \
	X(sub_put, (store * st, int64_t u, const char *g, consent_state s,  \
		    consent_source src, int doi, int64_t now),              \
	  (st, u, g, s, src, doi, now))                                     \
	X(user_subs, (store * st, int64_t u, store_sub_cb cb, void *ctx),   \
	  (st, u, cb, ctx))                                                 \
	X(ledger_append, (store * st, const store_ledger *e), (st, e))      \
	X(ledger_find, (store * st, store_by by, const char *v,             \
			int64_t after, size_t limit, store_ledger_cb cb,    \
			void *ctx), (st, by, v, after, limit, cb, ctx))     \
	X(group_sms_get, (store * st, const char *g, char **json),          \
	  (st, g, json))                                                    \
	X(group_sms_set, (store * st, const char *g, const char *json,      \
			  int64_t now), (st, g, json, now))                 \
	X(inbound_insert, (store * st, store_inbound * m), (st, m))         \
	X(inbound_list, (store * st, int64_t after, size_t limit,           \
			 store_inbound_cb cb, void *ctx),                   \
	  (st, after, limit, cb, ctx))                                      \
	X(outbox_insert, (store * st, store_outbox * m), (st, m))           \
	X(outbox_claim, (store * st, int64_t now, int64_t lease,            \
			 size_t limit, store_outbox_cb cb, void *ctx),      \
	  (st, now, lease, limit, cb, ctx))                                 \
	X(outbox_update, (store * st, const store_outbox *m), (st, m))      \
	X(outbox_get, (store * st, int64_t id, store_outbox *o), (st, id, o)) \
	X(outbox_by_provider_id, (store * st, const char *p,                \
				  const char *pid, store_outbox *o),        \
	  (st, p, pid, o))                                                  \
	X(outbox_list, (store * st, int64_t after, size_t limit, int state, \
			const char *to, store_outbox_cb cb, void *ctx),     \
	  (st, after, limit, state, to, cb, ctx))                           \
	X(outbox_next_due, (store * st, int64_t *next), (st, next))         \
	X(doi_get, (store * st, const char *p, const char *g,               \
		    int64_t *since), (st, p, g, since))                     \
	X(doi_put, (store * st, const char *p, const char *g,               \
		    int64_t since), (st, p, g, since))                      \
	X(doi_delete, (store * st, const char *p, const char *g), (st, p, g))

#define STORE_VT_FIELD(name, params, args) store_err(*name) params;

typedef struct store_vt {
	const char *name; /* "sqlite", "postgres" */
	void (*close)(store *st);
	void (*thread_done)(store *st);
	void (*rollback)(store *st);
	void (*rollback_to)(store *st);
	STORE_OPS(STORE_VT_FIELD)
} store_vt;

struct store {
	const store_vt *vt;
};

/* now_ms + lease_ms, the end of a sender's claim, without overflow. */
static inline int64_t store__lease_end(int64_t now_ms, int64_t lease_ms)
{
	if (lease_ms <= 0)
		return now_ms;
	return now_ms > INT64_MAX - lease_ms ? INT64_MAX : now_ms + lease_ms;
}

/* A row count for SQL's LIMIT: a size_t past INT64_MAX would wrap to a
 * negative number, which SQLite reads as "no limit" and PostgreSQL
 * refuses. */
static inline int64_t store__limit(size_t limit)
{
	return limit > (size_t)INT64_MAX ? INT64_MAX : (int64_t)limit;
}

/* Each backend's opener; the url has already lost its scheme prefix where
 * the backend wants that ("sqlite:"), not where it does not (postgres). */
store_err sqlt_open(const char *path, const store_opts *o, store **out);
store_err pg_open(const char *url, const store_opts *o, store **out);

#endif
