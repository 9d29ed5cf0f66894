/*
 * secret: random tokens and their hashes, for API keys and ids.
 *
 * Randomness comes from getrandom(2) only; hashing and constant-time
 * comparison from OpenSSL's libcrypto. A key is never stored or logged in
 * clear: callers keep SECRET_HASH_HEX of it and compare hashes with
 * secret_equal().
 */
#ifndef OPTD_SECRET_H
#define OPTD_SECRET_H

#include <stddef.h>

#define SECRET_HASH_HEX 64 /* SHA-256 in hex, without NUL */
#define SECRET_UUID_LEN 36 /* 8-4-4-4-12 */
#define SECRET_TOKEN_MAX 128

int secret_random(void *buf, size_t n); /* 0 on success */
/* "optd_" and 40 hex digits (160 bits): what `optd keys create` prints. */
int secret_token(char out[SECRET_TOKEN_MAX]);
/* A random (v4) UUID, the shape Braze uses for ids. */
int secret_uuid(char out[SECRET_UUID_LEN + 1]);
/* Short random hex id of 2*nbytes digits, e.g. request ids. */
int secret_hex(char *out, size_t nbytes);
/*
 * A 16-hex-digit id unique within this process and very likely across
 * processes: a random per-thread prefix and a counter, so a request id costs
 * no system call. Not secret; never use it as a key.
 */
void secret_request_id(char out[17]);
void secret_sha256_hex(const void *data, size_t n,
		       char out[SECRET_HASH_HEX + 1]);
/* HMAC-SHA256 of data under the text `key`, in hex; 0 on success. */
int secret_hmac_sha256_hex(const char *key, const void *data, size_t n,
			   char out[SECRET_HASH_HEX + 1]);
int secret_equal(const char *a, const char *b, size_t n); /* 1 if same */

#endif
