/*
 * subs: apply one subscription change to the profiles it names, inside the
 * writer's transaction, and write the consent ledger.
 *
 * Every path that changes consent (the REST API today; keywords, flows,
 * forms and the SDK as they arrive) goes through subs_apply(), so the rules
 * live in one place:
 *  - a phone reaches every profile that shares it (STORE_PHONE_SHARE_MAX),
 *    and creates an anonymous profile when none has it; the same for e-mail;
 *  - an external_id names one profile, created when missing;
 *  - when as many external_ids as phones (or e-mails) are given, they pair
 *    up: external_id[i]'s profile gets phone[i] first; otherwise each list
 *    names its profiles independently;
 *  - a profile whose state would not change is left alone, and the ledger
 *    gets exactly one entry per profile whose state did change.
 * Inputs are already validated and normalised by the caller.
 */
#ifndef OPTD_SUBS_H
#define OPTD_SUBS_H

#include "core/consent.h"
#include "core/phone.h"
#include "store/store.h"

#define SUBS_IDS_MAX 50 /* Braze: at most 50 ids of each kind per request */

typedef struct {
	const char *group_id;
	consent_state state;
	int double_opt_in;
	consent_source source;

	size_t n_ext;
	const char *const *ext;
	size_t n_phone;
	const phone_info *phones;
	size_t n_email;
	const char *const *emails;
	int paired; /* ext[i] goes with phones[i] or emails[i] */
	/* profiles named by id (users/track, flows), on top of the above */
	size_t n_user;
	const int64_t *user_ids;
	/* Leave subscribed profiles as they are (a double opt-in request
	 * only turns "never set" into unsubscribed until confirmed). */
	int keep_subscribed;

	const char *key_name;
	const char *request_id;
	const char *client_addr;
	const char *evidence; /* JSON object text or NULL */
	int64_t now_ms;
} subs_change;

typedef struct {
	unsigned profiles;  /* profiles the change reached */
	unsigned created;   /* of which new */
	unsigned changed;   /* whose state changed (= ledger entries) */
} subs_result;

/* STORE_OK, or the store error that makes the caller roll back. */
store_err subs_apply(store *st, const subs_change *c, subs_result *res);
/* Announce the lookups subs_apply(st, c) will make (store_want_user), so
 * the writer can have a whole batch's fetched at once. */
void subs_want(store *st, const subs_change *c);

#endif
