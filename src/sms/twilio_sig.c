/*
 * twilio_sig: see twilio_sig.h.
 *
 * The signed text is never built: the URL and the sorted parameters are
 * fed to the MAC piece by piece, so a webhook costs no allocation beyond
 * OpenSSL's own context. TWSIG_TEXT_MAX still bounds what we agree to
 * hash. A parameter with a NULL value signs as the empty string (a form
 * field sent without '='); a NULL name is a caller's error.
 *
 * Keying HMAC (which also looks SHA-1 up in OpenSSL's provider tables)
 * costs more than the MAC of a whole webhook, and a process mostly checks
 * one token, so each thread keeps one context keyed with the last token
 * it used and only re-initialises it (same key) for the next request.
 */
#include "sms/twilio_sig.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TWSIG_MAC_LEN 20   /* SHA-1 */
#define TWSIG_KEYED_MAX 128 /* bytes of a token kept keyed per thread */
#define TWSIG_CHUNK 2048    /* bytes of signed text given to the MAC at once */

/* A thread's context, keyed with `token`. */
typedef struct {
	EVP_MAC_CTX *ctx;
	char token[TWSIG_KEYED_MAX + 1];
} twsig_keyed;

/* Fetching HMAC from OpenSSL's provider tables once, not per webhook. */
static EVP_MAC *twsig_hmac;
static pthread_key_t twsig_key;
static pthread_once_t twsig_once = PTHREAD_ONCE_INIT;

static void twsig_keyed_free(void *p)
{
	twsig_keyed *k = p;

	if (k)
		EVP_MAC_CTX_free(k->ctx);
	free(k);
}

static void twsig_fetch(void)
{
	twsig_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (pthread_key_create(&twsig_key, twsig_keyed_free) != 0) {
		EVP_MAC_free(twsig_hmac);
		twsig_hmac = NULL;
	}
}

/* A context keyed with `token` and ready for its first update: this
 * thread's own when it holds that token (re-initialised: NULL key keeps
 * the key), else a new one, kept for next time when the token is short
 * enough. *own is 1 when the caller must not free it. */
static EVP_MAC_CTX *twsig_ctx(const char *token, int *own)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						 (char *)"SHA1", 0),
		OSSL_PARAM_construct_end(),
	};
	size_t len = strlen(token);
	twsig_keyed *k;
	EVP_MAC_CTX *ctx;

	*own = 0;
	k = pthread_getspecific(twsig_key);
	if (k && k->ctx && strcmp(k->token, token) == 0) {
		*own = 1;
		return EVP_MAC_init(k->ctx, NULL, 0, NULL) ? k->ctx : NULL;
	}
	ctx = EVP_MAC_CTX_new(twsig_hmac);
	if (!ctx || !EVP_MAC_init(ctx, (const unsigned char *)token, len,
				  params)) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	if (len > TWSIG_KEYED_MAX)
		return ctx;
	if (!k) {
		k = calloc(1, sizeof *k);
		if (!k || pthread_setspecific(twsig_key, k) != 0) {
			free(k);
			return ctx;
		}
	}
	EVP_MAC_CTX_free(k->ctx);
	k->ctx = ctx;
	memcpy(k->token, token, len + 1);
	*own = 1;
	return ctx;
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

/* The signed text goes to the MAC in chunks: a webhook's dozens of short
 * names and values, one EVP_MAC_update() each, cost more than the hash. */
typedef struct {
	EVP_MAC_CTX *ctx;
	size_t len;
	int failed;
	unsigned char buf[TWSIG_CHUNK];
} twsig_feed;

static void twsig_flush(twsig_feed *f)
{
	if (f->len && !f->failed &&
	    !EVP_MAC_update(f->ctx, f->buf, f->len))
		f->failed = 1;
	f->len = 0;
}

static void twsig_update(twsig_feed *f, const char *s)
{
	size_t n = strlen(s);

	while (n) {
		size_t take = sizeof f->buf - f->len;
		if (take > n)
			take = n;
		memcpy(f->buf + f->len, s, take);
		f->len += take;
		s += take;
		n -= take;
		if (f->len == sizeof f->buf)
			twsig_flush(f);
	}
}

/* HMAC-SHA1 of url and the sorted parameters into mac. */
static int twsig_mac(const char *token, const char *url,
		     const twsig_param *sorted, size_t n,
		     unsigned char mac[TWSIG_MAC_LEN])
{
	EVP_MAC_CTX *ctx = NULL;
	twsig_feed f;
	size_t len = 0;
	int rc = -1, own = 0;

	pthread_once(&twsig_once, twsig_fetch);
	if (!twsig_hmac || !(ctx = twsig_ctx(token, &own)))
		goto out;
	f.ctx = ctx;
	f.len = 0;
	f.failed = 0;
	twsig_update(&f, url);
	for (size_t i = 0; i < n; i++) {
		twsig_update(&f, sorted[i].name);
		twsig_update(&f, twsig_value(&sorted[i]));
	}
	twsig_flush(&f);
	if (f.failed || !EVP_MAC_final(ctx, mac, &len, TWSIG_MAC_LEN) ||
	    len != TWSIG_MAC_LEN)
		goto out;
	rc = 0;
out:
	if (!own)
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
