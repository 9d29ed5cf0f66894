/*
 * signup: what a hosted sign-up form is made of when it is shown, and
 * what sending it does, as one writer job.
 *
 * signup_form_load() reads a form with, for each check box, its group
 * (name, channel, double opt-in) and the consent text shown beside it.
 *
 * The job finds the person's profile (by phone, else by e-mail), creates
 * it when there is none, gives it the contacts typed, and then changes
 * consent for each ticked box through subs_apply(), the one consent path
 * the API also takes: source `form`, with the client's address, and as
 * evidence the form, the page's URL, the browser's User-Agent and the
 * SHA-256 of the consent text shown beside that box. An SMS group with
 * double opt-in is not subscribed: like the API, the job leaves a
 * subscribed phone as it is, records "never set" as unsubscribed, and
 * queues the prompt (inb_doi_prompt()). Unticked boxes change nothing.
 *
 * The job depends on its inputs alone: run twice (a writer replay), it
 * resets its outputs and does the same again.
 */
#ifndef OPTD_SIGNUP_H
#define OPTD_SIGNUP_H

#include "core/form.h"
#include "store/store.h"

#define SIGNUP_UA_MAX 512   /* bytes of User-Agent kept as evidence */
#define SIGNUP_PAGE_MAX 1536 /* bytes of the page URL kept as evidence */

typedef struct {
	char group_id[IDENT_GROUP_ID_MAX + 1];
	char name[IDENT_NAME_MAX + 1];
	consent_channel channel;
	int double_opt_in;
	char text_sha256[STORE_HASH_MAX + 1];
	char text[FORM_TEXT_MAX + 1];
} signup_box;

typedef struct {
	store_form f;
	signup_box box[FORM_GROUPS_MAX]; /* f.n_groups of them */
} signup_form;

/* NOTFOUND when there is no such form. */
store_err signup_form_load(store *st, const char *id, signup_form *out);

typedef struct {
	/* inputs */
	const signup_form *form;
	const form_post *post; /* read, without errors */
	char client[STORE_CLIENT_MAX + 1];
	char request_id[STORE_REQID_MAX + 1];
	char user_agent[SIGNUP_UA_MAX + 1];
	char page_url[SIGNUP_PAGE_MAX + 1];
	int64_t now_ms;
	/* outputs */
	unsigned changed; /* ledger entries written */
	unsigned prompts; /* double opt-in prompts queued */
	unsigned doi[FORM_GROUPS_MAX]; /* box i took the double opt-in path */
	store_err err;
} signup_job;

/* A writer_fn; arg is a signup_job. */
int signup_apply(store *st, void *arg);

#endif
