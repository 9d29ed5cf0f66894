/*
 * smscfg: one subscription group's SMS settings, parsed and checked.
 *
 * The settings are a JSON document (docs/sms.md, "Group SMS settings")
 * that the store keeps as text: brand and help contact, custom keywords
 * per category and language, custom categories with their replies, reply
 * texts per category and language, double opt-in confirming keywords and
 * window, and provider overrides. smscfg_parse() accepts a document only
 * when every part of it is valid, and names the first bad part otherwise;
 * an empty text means "all defaults".
 *
 * Invariants: a parsed smscfg is read-only, so any number of threads may
 * use one at once; the keyword set inside it holds the group's keywords
 * and its confirming keywords (as the reserved custom category
 * SMSCFG_CONFIRM); every reply it returns is at most SMSCFG_REPLY_MAX
 * characters, and the English defaults meet CTIA's content rules (brand,
 * HELP and STOP instructions, "Msg & data rates may apply").
 */
#ifndef OPTD_SMSCFG_H
#define OPTD_SMSCFG_H

#include <stddef.h>

#include "core/keyword.h"

#define SMSCFG_ERR_MAX 256
#define SMSCFG_REPLY_MAX 300        /* characters in a reply */
#define SMSCFG_BRAND_MAX 64         /* characters */
#define SMSCFG_CONTACT_MAX 100      /* characters of help_contact */
#define SMSCFG_CONFIRM_MAX 5        /* confirming keywords */
#define SMSCFG_WINDOW_DAYS 30       /* default double opt-in window */
#define SMSCFG_WINDOW_DAYS_MAX 365
#define SMSCFG_FIELD_MAX 512        /* bytes of a provider setting */
#define SMSCFG_TEXT_MAX (4 * SMSCFG_REPLY_MAX + 64) /* bytes of a reply */
#define SMSCFG_CONFIRM "doi_confirm" /* reserved custom category name */

typedef enum {
	SMSCFG_OK = 0,
	SMSCFG_ERR_INVALID, /* err names the bad part */
	SMSCFG_ERR_NOMEM,
} smscfg_err;

/* The replies optd sends on its own; names are the JSON keys. */
typedef enum {
	SMSCFG_R_OPT_IN = 0,
	SMSCFG_R_OPT_OUT,
	SMSCFG_R_HELP,
	SMSCFG_R_DOI_PROMPT,
	SMSCFG_R_DOI_CONFIRM,
	SMSCFG_R__COUNT,
} smscfg_reply;

/* Provider overrides; "" where the group keeps the global setting. */
typedef struct {
	char kind[16];
	char twilio_account_sid[SMSCFG_FIELD_MAX];
	char twilio_auth_token[SMSCFG_FIELD_MAX];
	char twilio_messaging_service_sid[SMSCFG_FIELD_MAX];
	char kannel_sendsms_url[SMSCFG_FIELD_MAX];
	char kannel_username[SMSCFG_FIELD_MAX];
	char kannel_password[SMSCFG_FIELD_MAX];
} smscfg_provider;

typedef struct smscfg smscfg;

/* `brand` is used when the document names none (the group's name). */
smscfg_err smscfg_parse(const char *json, size_t len, const char *brand,
			smscfg **out, char err[SMSCFG_ERR_MAX]);
void smscfg_free(smscfg *c);

const kw_set *smscfg_keywords(const smscfg *c);
const char *smscfg_reply_name(smscfg_reply which); /* "opt_in", ... */
/* The reply in `lang` (NULL: English), falling back to English and then
 * to the default text: the configuration's own, valid while c is. */
const char *smscfg_reply_of(const smscfg *c, smscfg_reply which,
			    const char *lang);
/* A custom category's reply in lang or English; 0 when it has none. */
int smscfg_custom_reply(const smscfg *c, const char *category,
			const char *lang, char out[SMSCFG_TEXT_MAX]);
int smscfg_window_days(const smscfg *c);
const smscfg_provider *smscfg_provider_of(const smscfg *c);

#endif
