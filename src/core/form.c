/* form: see form.h. */
#include "core/form.h"
#include "lib/secret.h"
#include "lib/utf8.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FORM_SKEW_MS 60000 /* a token from a node whose clock runs ahead */
#define FORM_TS_HEX_MAX 16 /* hex digits of a token's time */

/* 1 when `word` stands in text as a whole word, any case. */
static int has_word(const char *text, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = text; *p; p++) {
		if (strncasecmp(p, word, n) != 0)
			continue;
		if ((p == text || !isalnum((unsigned char)p[-1])) &&
		    !isalnum((unsigned char)p[n]))
			return 1;
	}
	return 0;
}

const char *form_sms_text_missing(const char *text)
{
	const char *t = text ? text : "";

	if (!has_word(t, "STOP"))
		return "STOP";
	if (!has_word(t, "HELP"))
		return "HELP";
	if (!strcasestr(t, "rates may apply"))
		return "\"rates may apply\"";
	return NULL;
}

const char *form_url_check(const char *url)
{
	size_t n = url ? strlen(url) : 0;
	const char *host;

	if (n == 0)
		return "must not be empty";
	if (n > FORM_URL_MAX)
		return "is longer than 1024 bytes";
	if (strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		host = url + 7;
	else
		return "must start with https:// or http://";
	if (!*host || *host == '/')
		return "has no host";
	/* A Location header ends at a line break; a space or control
	 * character is no part of a URL either. */
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return "may not hold spaces or control characters";
	return NULL;
}

/* s without leading and trailing white space, copied into out (cap),
 * cut at a character boundary; 1 when it had to be cut. */
static int trim_copy(const char *s, char *out, size_t cap)
{
	size_t n;
	int cut = 0;

	while (*s && isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (n >= cap) {
		cut = 1;
		n = cap - 1;
		while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--; /* s[n] continues a character: cut before it */
	}
	memcpy(out, s, n);
	out[n] = '\0';
	utf8_clean(out);
	return cut;
}

static void read_phone(form_post *p, int cut, const char *region)
{
	phone_err e;

	if (!p->phone_typed[0])
		return;
	e = cut || strlen(p->phone_typed) > PHONE_INPUT_MAX
		? PHONE_ERR_TOO_LONG
		: phone_normalize(p->phone_typed, strlen(p->phone_typed),
				  region, &p->phone);
	if (e == PHONE_OK) {
		p->has_phone = 1;
		return;
	}
	snprintf(p->phone_err, sizeof p->phone_err, "%s",
		 e == PHONE_ERR_TOO_LONG ? "This number is too long."
		 : e == PHONE_ERR_IMPOSSIBLE
		 ? "This number has too few or too many digits. Include the "
		   "country code, such as +44, outside the US."
		 : "Enter a phone number, such as (201) 555-0123 or "
		   "+44 7700 900123.");
	p->n_errors++;
}

static void read_email(form_post *p, int cut)
{
	size_t n = strlen(p->email_typed);

	if (!n)
		return;
	if (cut || n > IDENT_EMAIL_MAX || ident_check_email(p->email_typed)) {
		snprintf(p->email_err, sizeof p->email_err, "Enter an e-mail "
			 "address, such as name@example.com.");
		p->n_errors++;
		return;
	}
	memcpy(p->email, p->email_typed, n + 1);
	ident_email_normalize(p->email);
	p->has_email = 1;
}

static void tick(form_post *p, const char *group, const form_box *boxes,
		 size_t n_boxes)
{
	for (size_t i = 0; i < n_boxes && i < FORM_GROUPS_MAX; i++) {
		if (strcmp(boxes[i].group_id, group) != 0 || p->ticked[i])
			continue;
		p->ticked[i] = 1;
		p->n_ticked++;
	}
}

/* Each ticked box needs its contact; something must be ticked. */
static void need_contacts(form_post *p, const form_box *boxes,
			  size_t n_boxes)
{
	int sms = 0, email = 0;

	for (size_t i = 0; i < n_boxes && i < FORM_GROUPS_MAX; i++) {
		if (!p->ticked[i])
			continue;
		sms |= boxes[i].channel == CHANNEL_SMS;
		email |= boxes[i].channel == CHANNEL_EMAIL;
	}
	if (sms && !p->phone_typed[0] && !p->phone_err[0]) {
		snprintf(p->phone_err, sizeof p->phone_err, "Enter your mobile "
			 "number to get text messages.");
		p->n_errors++;
	}
	if (email && !p->email_typed[0] && !p->email_err[0]) {
		snprintf(p->email_err, sizeof p->email_err, "Enter your e-mail "
			 "address to get e-mail.");
		p->n_errors++;
	}
	if (!p->n_ticked) {
		snprintf(p->boxes_err, sizeof p->boxes_err, "Tick at least one "
			 "box to sign up.");
		p->n_errors++;
	}
}

void form_post_read(form_post *p, const char *const *name,
		    const char *const *value, size_t n, const form_box *boxes,
		    size_t n_boxes, const char *region)
{
	const char *phone = NULL, *email = NULL, *token = NULL;
	int phone_cut, email_cut;

	memset(p, 0, sizeof *p);
	for (size_t i = 0; i < n; i++) {
		const char *k = name[i] ? name[i] : "";
		const char *v = value[i] ? value[i] : "";
		if (!strcmp(k, FORM_F_PHONE) && !phone)
			phone = v;
		else if (!strcmp(k, FORM_F_EMAIL) && !email)
			email = v;
		else if (!strcmp(k, FORM_F_TOKEN) && !token)
			token = v;
		else if (!strcmp(k, FORM_F_GROUP))
			tick(p, v, boxes, n_boxes);
	}
	phone_cut = trim_copy(phone ? phone : "", p->phone_typed,
			      sizeof p->phone_typed);
	email_cut = trim_copy(email ? email : "", p->email_typed,
			      sizeof p->email_typed);
	if (token && strlen(token) <= FORM_TOKEN_MAX)
		snprintf(p->token, sizeof p->token, "%s", token);
	read_phone(p, phone_cut, region);
	read_email(p, email_cut);
	need_contacts(p, boxes, n_boxes);
}

int form_nonce_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n != FORM_NONCE_HEX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return 0;
	return 1;
}

/* The MAC of one token's parts; -1 when it cannot be made. */
static int token_mac(const char *secret, const char *form, const char *nonce,
		     const char *ts, char mac[SECRET_HASH_HEX + 1])
{
	char msg[IDENT_GROUP_ID_MAX + FORM_NONCE_HEX + FORM_TS_HEX_MAX + 16];
	int w = snprintf(msg, sizeof msg, "form\n%s\n%s\n%s", form, nonce, ts);

	if (w < 0 || (size_t)w >= sizeof msg || !secret || !*secret)
		return -1;
	return secret_hmac_sha256_hex(secret, msg, (size_t)w, mac);
}

int form_token_make(const char *secret, const char *form, const char *nonce,
		    int64_t now_ms, char out[FORM_TOKEN_MAX + 1])
{
	char ts[FORM_TS_HEX_MAX + 1], mac[SECRET_HASH_HEX + 1];

	out[0] = '\0';
	snprintf(ts, sizeof ts, "%llx", (unsigned long long)now_ms);
	if (now_ms < 0 || token_mac(secret, form, nonce, ts, mac))
		return -1;
	snprintf(out, FORM_TOKEN_MAX + 1, "%s.%s", ts, mac);
	return 0;
}

int form_token_check(const char *secret, const char *form, const char *nonce,
		     const char *token, int64_t now_ms)
{
	char ts[FORM_TS_HEX_MAX + 1], mac[SECRET_HASH_HEX + 1];
	const char *dot = token ? strchr(token, '.') : NULL;
	size_t n = dot ? (size_t)(dot - token) : 0;
	char *end;
	long long t;

	if (!dot || n == 0 || n > FORM_TS_HEX_MAX ||
	    strlen(dot + 1) != SECRET_HASH_HEX || !form_nonce_ok(nonce))
		return -1;
	memcpy(ts, token, n);
	ts[n] = '\0';
	t = strtoll(ts, &end, 16);
	if (*end || !isxdigit((unsigned char)ts[0]) || t < 0 ||
	    t > now_ms + FORM_SKEW_MS || now_ms - t > FORM_TOKEN_TTL_MS)
		return -1;
	if (token_mac(secret, form, nonce, ts, mac))
		return -1;
	return secret_equal(mac, dot + 1, SECRET_HASH_HEX) ? 0 : -1;
}
