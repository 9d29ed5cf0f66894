/*
 * twilio_sig: see twilio_sig.h.
 *
 * The signed text is never built: the URL and the sorted parameters are
 * fed to the MAC piece by piece, so a webhook costs no allocation beyond
 * OpenSSL's own context. TWSIG_TEXT_MAX still bounds what we agree to
 * hash. A parameter with a NULL value signs as the empty string (a form
 * field sent without '='); a NULL name is a caller's error.
 */
#include "sms/twilio_sig.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TWSIG_MAC_LEN 20 /* SHA-1 */

/* Fetching HMAC from OpenSSL's provider tables once, not per webhook. */
static EVP_MAC *twsig_hmac;
static pthread_once_t twsig_once = PTHREAD_ONCE_INIT;

static void twsig_fetch(void)
{
	twsig_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

static const char *twsig_value(const twsig_param *p)
{
	return p->value ? p->value : "";
}

/* By name in byte order; equal names (a repeated field) by value. */
static int twsig_cmp(const void *a, const void *b)
{
	const twsig_param *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(twsig_value(x), twsig_value(y));
}

/* 0 when every name is set and the whole text stays under the limit. */
static int twsig_measure(const char *url, const twsig_param *p, size_t n)
{
	size_t total = strlen(url);

	for (size_t i = 0; i < n; i++) {
		if (!p[i].name)
			return -1;
		total += strlen(p[i].name) + strlen(twsig_value(&p[i]));
		if (total > TWSIG_TEXT_MAX)
			return -1;
	}
	return 0;
}

static int twsig_update(EVP_MAC_CTX *ctx, const char *s)
{
	return EVP_MAC_update(ctx, (const unsigned char *)s, strlen(s)) ? 0
									 : -1;
}

/* HMAC-SHA1 of url and the sorted parameters into mac. */
static int twsig_mac(const char *token, const char *url,
		     const twsig_param *sorted, size_t n,
		     unsigned char mac[TWSIG_MAC_LEN])
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						 (char *)"SHA1", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC_CTX *ctx = NULL;
	size_t len = 0;
	int rc = -1;

	pthread_once(&twsig_once, twsig_fetch);
	if (!twsig_hmac || !(ctx = EVP_MAC_CTX_new(twsig_hmac)))
		goto out;
	if (!EVP_MAC_init(ctx, (const unsigned char *)token, strlen(token),
			  params) ||
	    twsig_update(ctx, url) != 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (twsig_update(ctx, sorted[i].name) != 0 ||
		    twsig_update(ctx, twsig_value(&sorted[i])) != 0)
			goto out;
	if (!EVP_MAC_final(ctx, mac, &len, TWSIG_MAC_LEN) ||
	    len != TWSIG_MAC_LEN)
		goto out;
	rc = 0;
out:
	EVP_MAC_CTX_free(ctx);
	return rc;
}

int twsig_compute(const char *token, const char *url, const twsig_param *p,
		  size_t n, char out[TWSIG_LEN + 1])
{
	twsig_param sorted[TWSIG_PARAMS_MAX];
	unsigned char mac[TWSIG_MAC_LEN];

	if (!token || !url || !out || (n > 0 && !p) || n > TWSIG_PARAMS_MAX ||
	    twsig_measure(url, p, n) != 0)
		return -1;
	if (n > 0) {
		memcpy(sorted, p, n * sizeof *p);
		qsort(sorted, n, sizeof *sorted, twsig_cmp);
	}
	if (twsig_mac(token, url, sorted, n, mac) != 0)
		return -1;
	if (EVP_EncodeBlock((unsigned char *)out, mac, TWSIG_MAC_LEN) !=
	    TWSIG_LEN)
		return -1;
	return 0;
}

int twsig_check(const char *token, const char *url, const twsig_param *p,
		size_t n, const char *header)
{
	char want[TWSIG_LEN + 1];

	if (!header || strnlen(header, TWSIG_LEN + 1) != TWSIG_LEN ||
	    twsig_compute(token, url, p, n, want) != 0)
		return 0;
	return CRYPTO_memcmp(want, header, TWSIG_LEN) == 0;
}
