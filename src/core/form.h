/*
 * form: the rules of optd's hosted sign-up form, without HTTP or SQL.
 *
 *  - What an SMS check box must say beside it (form_sms_text_missing()):
 *    the CTIA's disclosure, of which optd checks the parts a machine can
 *    see: how to stop (STOP), how to get help (HELP) and that message
 *    and data rates may apply.
 *  - What a submission means (form_post_read()): the fields as the
 *    browser sent them become a phone number in E.164, an e-mail
 *    address, and the boxes ticked; each mistake is told beside the field
 *    that caused it, in words for the person at the keyboard, and what
 *    they typed is kept (cut to a limit) so the page can show it again.
 *  - The token that proves a submission came from optd's own page
 *    (form_token_make(), form_token_check()): the time it was made and an
 *    HMAC-SHA256, under the database's shared secret, of the form, the
 *    browser's cookie and that time. A page from another site cannot
 *    read the cookie, so it cannot make a token that matches it.
 * Everything here is pure and thread-safe; inputs may be any bytes.
 */
#ifndef OPTD_FORM_H
#define OPTD_FORM_H

#include <stddef.h>
#include <stdint.h>

#include "core/consent.h"
#include "core/ident.h"
#include "core/phone.h"

#define FORM_GROUPS_MAX 8       /* check boxes on one form */
#define FORM_TEXT_MAX 2048      /* bytes of one consent text */
#define FORM_TITLE_MAX 200      /* bytes of a title */
#define FORM_URL_MAX 1024       /* bytes of a redirect URL */
#define FORM_INPUT_MAX 256      /* bytes of a typed value kept to show */
#define FORM_MSG_MAX 160        /* bytes of an error shown by a field */
#define FORM_NONCE_HEX 32       /* the cookie: 128 random bits in hex */
#define FORM_TOKEN_MAX 96       /* "<ms in hex>.<64 hex digits>" */
#define FORM_TOKEN_TTL_MS (24LL * 3600 * 1000) /* a page is good a day */

/* Field names of the page (the `name` of each input). */
#define FORM_F_PHONE "phone"
#define FORM_F_EMAIL "email"
#define FORM_F_GROUP "group" /* one per ticked box; value: the group id */
#define FORM_F_TOKEN "token"

/* NULL when an SMS consent text has what it must, else what it lacks
 * ("STOP", "HELP" or "\"rates may apply\""). Case-insensitive words. */
const char *form_sms_text_missing(const char *text);
/* NULL when url is an absolute http(s) URL fit for a Location header,
 * else a phrase saying what is wrong. */
const char *form_url_check(const char *url);

/* One check box of the form being answered. */
typedef struct {
	const char *group_id;
	consent_channel channel;
} form_box;

typedef struct {
	/* as typed, cut to FORM_INPUT_MAX at a character boundary */
	char phone_typed[FORM_INPUT_MAX + 1];
	char email_typed[FORM_INPUT_MAX + 1];
	char token[FORM_TOKEN_MAX + 1];
	unsigned char ticked[FORM_GROUPS_MAX]; /* by the form's box order */
	size_t n_ticked;
	/* the values, when given and valid */
	int has_phone;
	phone_info phone;
	int has_email;
	char email[IDENT_EMAIL_MAX + 1]; /* domain lower-cased */
	/* what to say beside each field; "" when nothing is wrong */
	char phone_err[FORM_MSG_MAX];
	char email_err[FORM_MSG_MAX];
	char boxes_err[FORM_MSG_MAX];
	int n_errors;
} form_post;

/*
 * Read a submission: n fields name[i] = value[i] (decoded; any bytes).
 * Unknown fields and boxes of other forms are ignored; a repeated field
 * counts once (its first value). A ticked SMS box needs a phone number,
 * an e-mail box an e-mail address, and at least one box must be ticked.
 */
void form_post_read(form_post *p, const char *const *name,
		    const char *const *value, size_t n, const form_box *boxes,
		    size_t n_boxes, const char *region);

/*
 * The token for `form` and the cookie `nonce` at now_ms, under `secret`
 * (text). check: 0 when token was made so, no more than
 * FORM_TOKEN_TTL_MS ago and not in the future; -1 otherwise.
 */
int form_token_make(const char *secret, const char *form, const char *nonce,
		    int64_t now_ms, char out[FORM_TOKEN_MAX + 1]);
int form_token_check(const char *secret, const char *form, const char *nonce,
		     const char *token, int64_t now_ms);
/* 1 when s is a cookie value optd could have made (FORM_NONCE_HEX hex). */
int form_nonce_ok(const char *s);

#endif
