/* secret: see secret.h. */
#include "lib/secret.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

int secret_random(void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void to_hex(const unsigned char *in, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int secret_hex(char *out, size_t nbytes)
{
	unsigned char b[64];

	if (nbytes > sizeof b || secret_random(b, nbytes) != 0)
		return -1;
	to_hex(b, nbytes, out);
	return 0;
}

int secret_token(char out[SECRET_TOKEN_MAX])
{
	memcpy(out, "optd_", 5);
	return secret_hex(out + 5, 20);
}

int secret_uuid(char out[SECRET_UUID_LEN + 1])
{
	unsigned char b[16];
	char h[33];

	if (secret_random(b, sizeof b) != 0)
		return -1;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	to_hex(b, sizeof b, h);
	snprintf(out, SECRET_UUID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", h,
		 h + 8, h + 12, h + 16, h + 20);
	return 0;
}

/*
 * OpenSSL 3 looks an algorithm up in its provider tables on every
 * EVP_sha256() digest; fetching it once makes a key check several times
 * cheaper. The fetched object is kept for the life of the process.
 */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void) { sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL); }

void secret_sha256_hex(const void *data, size_t n,
		       char out[SECRET_HASH_HEX + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	pthread_once(&sha256_once, sha256_fetch);
	EVP_Digest(data, n, md, &len, sha256_md ? sha256_md : EVP_sha256(),
		   NULL);
	to_hex(md, len, out);
}

int secret_hmac_sha256_hex(const char *key, const void *data, size_t n,
			   char out[SECRET_HASH_HEX + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	pthread_once(&sha256_once, sha256_fetch);
	if (!HMAC(sha256_md ? sha256_md : EVP_sha256(), key, (int)strlen(key),
		  data, n, md, &len) || len * 2 != SECRET_HASH_HEX) {
		out[0] = '\0';
		return -1;
	}
	to_hex(md, len, out);
	return 0;
}

int secret_equal(const char *a, const char *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

void secret_request_id(char out[17])
{
	static _Thread_local uint32_t prefix, counter;
	static const char d[] = "0123456789abcdef";
	uint64_t v;

	if (!prefix && secret_random(&prefix, sizeof prefix) != 0)
		prefix = (uint32_t)(uintptr_t)&prefix;
	prefix |= 1; /* never 0, so it is drawn once per thread */
	v = ((uint64_t)prefix << 32) | ++counter;
	for (int i = 15; i >= 0; i--, v >>= 4)
		out[i] = d[v & 15];
	out[16] = '\0';
}
