/*
 * consent: the vocabulary of subscription state and its provenance.
 *
 * Pure rules, no I/O. The names returned here are what the database stores
 * and what the API prints, so they never change once released: a consent
 * ledger written today must read the same in five years.
 */
#ifndef OPTD_CONSENT_H
#define OPTD_CONSENT_H

typedef enum {
	CONSENT_UNKNOWN = 0, /* never set for this group */
	CONSENT_SUBSCRIBED,
	CONSENT_UNSUBSCRIBED,
} consent_state;

typedef enum {
	CONSENT_SRC_API = 0,
	CONSENT_SRC_KEYWORD,
	CONSENT_SRC_FLOW,
	CONSENT_SRC_FORM,
	CONSENT_SRC_SDK,
	CONSENT_SRC_IMPORT,
	CONSENT_SRC_PROVIDER,
	CONSENT_SRC_ADMIN,
	CONSENT_SRC__COUNT,
} consent_source;

typedef enum { CHANNEL_SMS = 0, CHANNEL_EMAIL } consent_channel;

/* Only "subscribed" and "unsubscribed" are settable; 0 on success. */
int consent_state_parse(const char *s, consent_state *out);
const char *consent_state_name(consent_state s);  /* "subscribed" */
const char *consent_state_label(consent_state s); /* "Subscribed" */
int consent_state_from_name(const char *s, consent_state *out);

const char *consent_source_name(consent_source src);
int consent_source_parse(const char *s, consent_source *out);

int consent_channel_parse(const char *s, consent_channel *out);
const char *consent_channel_name(consent_channel c);

/*
 * Whether moving from `old` to `want` is a change worth a ledger entry.
 * A repeated identical request must change nothing and append nothing.
 */
int consent_is_change(consent_state old, consent_state want);

#endif
