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

#include <string.h>

#define STORE_OPS(X)                                                        \
	X(ping, (store * st), (st))                                         \
	X(begin, (store * st), (st))                                        \
	X(commit, (store * st), (st))                                       \
	X(savepoint, (store * st), (st))                                    \
	X(release, (store * st), (st))                                      \
	X(flush, (store * st), (st))                                        \
	X(prefetch, (store * st), (st))                                     \
	X(key_insert, (store * st, store_key * k), (st, k))                 \
	X(key_by_hash, (store * st, const char *h, store_key *o), (st, h, o)) \
	X(key_by_name, (store * st, const char *n, store_key *o), (st, n, o)) \
	X(key_get, (store * st, int64_t id, store_key *o), (st, id, o))     \
	X(key_revoke, (store * st, int64_t id, int64_t now), (st, id, now)) \
	X(key_list, (store * st, store_key_cb cb, void *ctx), (st, cb, ctx)) \
	X(key_origin_known, (store * st, const char *o), (st, o))           \
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
	X(users_by_phone_in, (store * st, const char *p, const char *g,     \
			      store_user_sub *o, size_t max, size_t *n),    \
	  (st, p, g, o, max, n))                                            \
	X(user_insert, (store * st, store_user * u), (st, u))               \
	X(user_update_contact, (store * st, const store_user *u), (st, u))  \
	X(sub_get, (store * st, int64_t u, const char *g, consent_state *o, \
		    int64_t *since), (st, u, g, o, since))                  \
	X(sub_put, (store * st, int64_t u, const char *g, consent_state s,  \
		    consent_source src, int doi, int64_t now),              \
	  (st, u, g, s, src, doi, now))                                     \
	X(user_subs, (store * st, int64_t u, store_sub_cb cb, void *ctx),   \
	  (st, u, cb, ctx))                                                 \
	X(run_last_entry, (store * st, const char *f, int64_t u, int64_t *o), \
	  (st, f, u, o))                                                    \
	X(ledger_append, (store * st, const store_ledger *e), (st, e))      \
	X(ledger_find, (store * st, store_by by, const char *v,             \
			int64_t after, size_t limit, store_ledger_cb cb,    \
			void *ctx), (st, by, v, after, limit, cb, ctx))     \
	X(group_sms_get, (store * st, const char *g, char **json),          \
	  (st, g, json))                                                    \
	X(group_sms_set, (store * st, const char *g, const char *json,      \
			  int64_t now), (st, g, json, now))                 \
	X(inbound_insert, (store * st, store_inbound * m), (st, m))         \
	X(inbound_get, (store * st, const char *p, const char *id,          \
			store_inbound *m), (st, p, id, m))                  \
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
	X(doi_delete, (store * st, const char *p, const char *g), (st, p, g)) \
	X(user_attrs_get, (store * st, int64_t u, char **json), (st, u, json)) \
	X(user_attrs_set, (store * st, int64_t u, const char *json,         \
			   int64_t now), (st, u, json, now))                \
	X(user_by_alias, (store * st, const char *l, const char *n,         \
			  store_user *o), (st, l, n, o))                    \
	X(alias_add, (store * st, int64_t u, const char *l, const char *n), \
	  (st, u, l, n))                                                    \
	X(event_insert, (store * st, store_event * e), (st, e))             \
	X(events_by_user, (store * st, int64_t u, size_t limit,             \
			   store_event_cb cb, void *ctx),                   \
	  (st, u, limit, cb, ctx))                                          \
	X(purchase_insert, (store * st, const store_purchase *p), (st, p))  \
	X(idem_get, (store * st, const char *r, const char *k, int *status, \
		     char **body), (st, r, k, status, body))                \
	X(idem_put, (store * st, const char *r, const char *k, int status,  \
		     const char *body, int64_t now),                        \
	  (st, r, k, status, body, now))                                    \
	X(flow_insert, (store * st, const store_flow *f, const char *def),  \
	  (st, f, def))                                                     \
	X(flow_new_version, (store * st, store_flow * f, const char *def),  \
	  (st, f, def))                                                     \
	X(flow_get, (store * st, const char *id, store_flow *o), (st, id, o)) \
	X(flow_def, (store * st, const char *id, int v, char **def),        \
	  (st, id, v, def))                                                 \
	X(flow_set_enabled, (store * st, const char *id, int on,            \
			     int64_t now), (st, id, on, now))               \
	X(flow_list, (store * st, store_flow_cb cb, void *ctx), (st, cb, ctx)) \
	X(flows_for_event, (store * st, const char *e, store_flow_cb cb,    \
			    void *ctx), (st, e, cb, ctx))                   \
	X(flows_for_group, (store * st, const char *g, store_flow_cb cb,    \
			    void *ctx), (st, g, cb, ctx))                   \
	X(run_insert, (store * st, store_run * r, int once), (st, r, once)) \
	X(run_claim, (store * st, int64_t now, int64_t lease, size_t limit, \
		      store_run_cb cb, void *ctx),                          \
	  (st, now, lease, limit, cb, ctx))                                 \
	X(run_update, (store * st, const store_run *r), (st, r))            \
	X(run_get, (store * st, int64_t id, store_run *o), (st, id, o))     \
	X(runs_by_flow, (store * st, const char *f, size_t limit,           \
			 store_run_cb cb, void *ctx),                       \
	  (st, f, limit, cb, ctx))                                          \
	X(run_next_due, (store * st, int64_t *next), (st, next))            \
	X(step_log_add, (store * st, const store_step_log *l), (st, l))     \
	X(step_logs, (store * st, int64_t run, store_step_cb cb, void *ctx), \
	  (st, run, cb, ctx))                                               \
	X(consent_text_put, (store * st, const char *h, const char *text,   \
			     int64_t now), (st, h, text, now))              \
	X(consent_text_get, (store * st, const char *h, char **text),       \
	  (st, h, text))                                                    \
	X(form_insert, (store * st, const store_form *f), (st, f))          \
	X(form_get, (store * st, const char *id, store_form *o), (st, id, o)) \
	X(form_list, (store * st, store_form_cb cb, void *ctx), (st, cb, ctx)) \
	X(secret_ensure, (store * st, const char *n,                        \
			  char v[STORE_SECRET_MAX + 1]), (st, n, v))

#define STORE_VT_FIELD(name, params, args) store_err(*name) params;

typedef struct store_vt {
	const char *name; /* "sqlite", "postgres" */
	int concurrent_writes; /* transactions may write at once */
	void (*close)(store *st);
	void (*thread_done)(store *st);
	void (*rollback)(store *st);
	void (*rollback_to)(store *st);
	uint64_t (*tx_id)(store *st);
	/* NULL when commits are durable as they return: see
	 * store_writer_setup() and store_sync(). */
	int (*writer_setup)(store *st);
	store_err (*sync)(store *st);
	/* NULL when the backend takes no hints (store_want_user). */
	void (*want_user)(store *st, store_by by, const char *v,
			  const char *group);
	STORE_OPS(STORE_VT_FIELD)
} store_vt;

struct store {
	const store_vt *vt;
};

/* A new id for store_tx_id(): never 0, never the same twice in a
 * process, whichever backend or thread asks. */
uint64_t store__tx_next(void);

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

/* Text within a limit of the schema (NULL counts as ""); what is longer
 * is refused with STORE_INVALID by both backends alike. */
static inline int store__fits(const char *s, size_t max)
{
	return !s || strnlen(s, max + 1) <= max;
}

/* A run's state from its name in the database; -1 when unknown. */
int store__run_state_parse(const char *s, store_run_state *out);
/* Replace the props of r, which point into a row being read, by
 * malloc'd copies (store_run_free() frees them); NOMEM leaves both
 * NULL. */
store_err store__run_own(store_run *r);

/* Each backend's opener; the url has already lost its scheme prefix where
 * the backend wants that ("sqlite:"), not where it does not (postgres). */
store_err sqlt_open(const char *path, const store_opts *o, store **out);
store_err pg_open(const char *url, const store_opts *o, store **out);

#endif
