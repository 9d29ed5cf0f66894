/* auth: see auth.h. */
#include "http/auth.h"
#include "core/scope.h"
#include "lib/secret.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

auth_err auth_check(store *st, const char *header, uint32_t need,
		    http_key *key, uint32_t *rate_override)
{
	char hash[SECRET_HASH_HEX + 1];
	const char *tok;
	store_key k;
	store_err err;
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
	if (n == 0 || n > AUTH_HEADER_MAX)
		return AUTH_INVALID;
	secret_sha256_hex(tok, n, hash);
	err = store_key_by_hash(st, hash, &k);
	if (err == STORE_NOTFOUND)
		return AUTH_INVALID;
	if (err)
		return AUTH_UNAVAILABLE;
	if (!secret_equal(k.hash, hash, SECRET_HASH_HEX))
		return AUTH_INVALID;
	key->id = k.id;
	snprintf(key->name, sizeof key->name, "%s", k.name);
	key->scopes = k.scopes;
	*rate_override = k.rate_limit;
	return scope_allows(k.scopes, need) ? AUTH_OK : AUTH_FORBIDDEN;
}
