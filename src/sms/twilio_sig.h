/*
 * twilio_sig: Twilio's request signature (X-Twilio-Signature).
 *
 * The signed text is the full URL Twilio called (query string included)
 * followed by every POST parameter, sorted by name (byte order), each as
 * name then value with no separator. The signature is the base64 of the
 * HMAC-SHA1 of that text keyed with the account's auth token. Checking
 * compares in constant time and covers every parameter received, since
 * Twilio adds parameters without notice.
 */
#ifndef OPTD_SMS_TWILIO_SIG_H
#define OPTD_SMS_TWILIO_SIG_H

#include <stddef.h>

#define TWSIG_LEN 28             /* base64 of a 20-byte SHA-1 MAC */
#define TWSIG_PARAMS_MAX 256     /* parameters one webhook may carry */
#define TWSIG_TEXT_MAX (1 << 20) /* bytes of signed text we will build */

typedef struct {
	const char *name;
	const char *value;
} twsig_param;

/* 0 on success; -1 on bad arguments, too many or too long parameters. */
int twsig_compute(const char *token, const char *url, const twsig_param *p,
		  size_t n, char out[TWSIG_LEN + 1]);
/* 1 when `header` is the signature of the request, else 0. */
int twsig_check(const char *token, const char *url, const twsig_param *p,
		size_t n, const char *header);

#endif
