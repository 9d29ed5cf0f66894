/*
 * app: the shared state every request handler may use. Built once by
 * `optd serve` before the HTTP server starts and read-only afterwards
 * (the pieces it points to are themselves thread-safe).
 */
#ifndef OPTD_APP_H
#define OPTD_APP_H

#include "core/phone.h"
#include "core/ratelimit.h"
#include "store/store.h"
#include "sms/provider.h"
#include "work/flows.h"
#include "work/sender.h"
#include "work/writer.h"

struct app {
	store *st;
	writer *wr;
	rl *limits;
	char default_region[PHONE_REGION_MAX + 1];
	sender *snd; /* woken when a commit queued messages; may be NULL */
	flows *flows; /* woken when a commit started runs; may be NULL */
	/* What gateways' webhooks are checked against. */
	char public_url[SMS_URL_MAX];      /* no trailing '/' */
	char twilio_token[SMS_SECRET_MAX]; /* "" : Twilio webhooks refused */
	char kannel_secret[SMS_SECRET_MAX]; /* "": Kannel webhooks refused */
	int kannel_inline; /* replies go back in the get-url's answer */
	struct kbl *kbox_link; /* --kannel-box, for /healthz; may be NULL */
	/* What hosted forms sign their tokens with; the same for every
	 * process on the database (it is kept there). */
	char form_secret[STORE_SECRET_MAX + 1];
};

#endif
