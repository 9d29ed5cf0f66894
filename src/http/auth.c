/* auth: see auth.h. */
#include "http/auth.h"
#include "core/scope.h"
#include "lib/secret.h"
#include "lib/str.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The live key whose hash is the token's (n bytes); fills *key. */
static auth_err lookup(store *st, const char *tok, size_t n, store_key *k,
		       http_key *key, uint32_t *rate_override)
{
	char hash[SECRET_HASH_HEX + 1];
	store_err err;

	if (n == 0 || n > AUTH_HEADER_MAX)
		return AUTH_INVALID;
	secret_sha256_hex(tok, n, hash);
	err = store_key_by_hash(st, hash, k);
	if (err == STORE_NOTFOUND)
		return AUTH_INVALID;
	if (err)
		return AUTH_UNAVAILABLE;
	if (!secret_equal(k->hash, hash, SECRET_HASH_HEX))
		return AUTH_INVALID;
	key->id = k->id;
	str_copy(key->name, sizeof key->name, k->name);
	key->scopes = k->scopes;
	key->sdk = k->sdk;
	*rate_override = k->rate_limit;
	return AUTH_OK;
}

auth_err auth_check(store *st, const char *header, uint32_t need,
		    http_key *key, uint32_t *rate_override)
{
	const char *tok;
	store_key k;
	auth_err err;
	size_t n;

	memset(key, 0, sizeof *key);
	*rate_override = 0;
	if (!header || strncasecmp(header, "Bearer ", 7) != 0)
		return AUTH_MISSING;
	tok = header + 7;
	while (*tok == ' ')
		tok++;
	n = strlen(tok);
	while (n > 0 && tok[n - 1] == ' ')
		n--;
	err = lookup(st, tok, n, &k, key, rate_override);
	if (err)
		return err;
	return !k.sdk && scope_allows(k.scopes, need) ? AUTH_OK
						      : AUTH_FORBIDDEN;
}

auth_err auth_sdk(store *st, const char *token, http_key *key,
		  uint32_t *rate_override,
		  char origins[STORE_ORIGINS_MAX + 1])
{
	store_key k;
	auth_err err;

	memset(key, 0, sizeof *key);
	*rate_override = 0;
	origins[0] = '\0';
	if (!token)
		return AUTH_MISSING;
	err = lookup(st, token, strlen(token), &k, key, rate_override);
	if (err)
		return err;
	if (!k.sdk)
		return AUTH_FORBIDDEN;
	memcpy(origins, k.origins, sizeof k.origins);
	return AUTH_OK;
}
