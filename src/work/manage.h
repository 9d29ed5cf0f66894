/*
 * manage: the management operations that both the admin API (/admin/...)
 * and the command line (optd keys|groups|consent ...) perform, so the two
 * can never disagree. Input and output are JSON objects (jansson) because
 * that is what both edges speak; no HTTP here.
 *
 * Write operations expect to run inside a transaction the caller owns (a
 * writer job, or the command line's own), and change nothing when they
 * fail. Every error fills `err` with a message naming the field.
 */
#ifndef OPTD_MANAGE_H
#define OPTD_MANAGE_H

#include <jansson.h>

#include "store/store.h"

#define MANAGE_ERR_MAX 512
#define MANAGE_LEDGER_PAGE_MAX 1000 /* entries per consent listing */

typedef enum {
	MANAGE_OK = 0,
	MANAGE_INVALID,  /* 400 */
	MANAGE_NOTFOUND, /* 404 */
	MANAGE_CONFLICT, /* 409 */
	MANAGE_STORE,    /* 503: the database failed; retry */
} manage_err;

unsigned manage_http_status(manage_err e);

/* {"name", "scopes":[...], "rate_limit"?} -> key JSON with "key" shown once */
manage_err manage_key_create(store *st, json_t *spec, int64_t now_ms,
			     json_t **out, char err[MANAGE_ERR_MAX]);
manage_err manage_key_list(store *st, json_t **out, char err[MANAGE_ERR_MAX]);
/* `which` is a key id or a key name. */
manage_err manage_key_revoke(store *st, const char *which, int64_t now_ms,
			     char err[MANAGE_ERR_MAX]);
/* Make `token` the live key `name` with `scopes` (for OPTD_ADMIN_KEY). */
manage_err manage_key_ensure(store *st, const char *name, const char *token,
			     uint32_t scopes, int64_t now_ms,
			     char err[MANAGE_ERR_MAX]);

/* {"id"?, "name", "channel", "numbers"?, "double_opt_in"?} */
manage_err manage_group_create(store *st, json_t *spec, const char *region,
			       int64_t now_ms, json_t **out,
			       char err[MANAGE_ERR_MAX]);
/* {"name"?, "numbers"? (replaces), "double_opt_in"?} */
manage_err manage_group_update(store *st, const char *id, json_t *spec,
			       const char *region, int64_t now_ms,
			       json_t **out, char err[MANAGE_ERR_MAX]);
manage_err manage_group_get(store *st, const char *id, json_t **out,
			    char err[MANAGE_ERR_MAX]);
manage_err manage_group_list(store *st, json_t **out,
			     char err[MANAGE_ERR_MAX]);

/* A group's SMS settings (docs/sms.md): checked by core/smscfg.h in
 * full before anything is stored; out is the stored document. */
manage_err manage_group_sms_set(store *st, const char *id, json_t *spec,
				int64_t now_ms, json_t **out,
				char err[MANAGE_ERR_MAX]);
manage_err manage_group_sms_get(store *st, const char *id, json_t **out,
				char err[MANAGE_ERR_MAX]);

#define MANAGE_MESSAGES_PAGE_MAX 1000 /* outbox rows per listing */

/* The outbox, oldest first: state (NULL: any), to (NULL: anyone). */
manage_err manage_messages(store *st, const char *state, const char *to,
			   const char *region, int64_t after_id, size_t limit,
			   json_t **out, char err[MANAGE_ERR_MAX]);
manage_err manage_message_get(store *st, int64_t id, json_t **out,
			      char err[MANAGE_ERR_MAX]);
/* {"group_id", "to", "body"}: a message from the brand, under the
 * sending rule (work/outbox.h): stored queued, or rejected. */
manage_err manage_message_send(store *st, json_t *spec, const char *region,
			       int64_t now_ms, json_t **out,
			       char err[MANAGE_ERR_MAX]);

/* ---- flows (docs/flows.md), in manage_flows.c ---- */

#define MANAGE_RUNS_PAGE_MAX 1000

/* A definition, checked in full: a new flow (201) or, with `id`, a new
 * version of an existing one (id in the body, if any, must match). */
manage_err manage_flow_save(store *st, const char *id, json_t *def,
			    int64_t now_ms, json_t **out,
			    char err[MANAGE_ERR_MAX]);
manage_err manage_flow_get(store *st, const char *id, json_t **out,
			   char err[MANAGE_ERR_MAX]);
manage_err manage_flow_list(store *st, json_t **out,
			    char err[MANAGE_ERR_MAX]);
manage_err manage_flow_enable(store *st, const char *id, int enabled,
			      int64_t now_ms, json_t **out,
			      char err[MANAGE_ERR_MAX]);
/* Newest first, each with its step attempts. */
manage_err manage_flow_runs(store *st, const char *id, size_t limit,
			    json_t **out, char err[MANAGE_ERR_MAX]);
/* A user's events, newest first. */
manage_err manage_user_events(store *st, const char *external_id,
			      size_t limit, json_t **out,
			      char err[MANAGE_ERR_MAX]);

/* ---- hosted sign-up forms, in manage_forms.c ---- */

/* {"id"?, "title", "groups": [{"group_id", "consent_text"?}, ...],
 *  "redirect_url"?}: checked in full, then stored with its texts. */
manage_err manage_form_create(store *st, json_t *spec, int64_t now_ms,
			      json_t **out, char err[MANAGE_ERR_MAX]);
manage_err manage_form_get(store *st, const char *id, json_t **out,
			   char err[MANAGE_ERR_MAX]);
manage_err manage_form_list(store *st, json_t **out,
			    char err[MANAGE_ERR_MAX]);
/* The consent text whose SHA-256 (hex) a ledger entry names. */
manage_err manage_consent_text(store *st, const char *sha256, json_t **out,
			       char err[MANAGE_ERR_MAX]);

/* by is "phone", "email" or "external_id"; oldest first. */
manage_err manage_consent(store *st, const char *by, const char *value,
			  const char *region, int64_t after_id, size_t limit,
			  json_t **out, char err[MANAGE_ERR_MAX]);

#endif
