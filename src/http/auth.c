/*
 * auth: see auth.h. Live keys are remembered per thread for at most
 * AUTH_CACHE_TTL_MS, which spares a database read on nearly every request;
 * the price is that a revoked key may still work for that long.
 */
#include "http/auth.h"
#include "core/scope.h"
#include "lib/clock.h"
#include "lib/secret.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define AUTH_CACHE_TTL_MS 1000
#define AUTH_CACHE_SLOTS 8

typedef struct {
	store_key key;
	int64_t fetched_ms;
} auth_slot;

static _Thread_local auth_slot cache[AUTH_CACHE_SLOTS];

static store_err key_lookup(store *st, const char *hash, store_key *out)
{
	int64_t now = clock_now_ms();
	auth_slot *slot = &cache[(unsigned char)hash[0] % AUTH_CACHE_SLOTS];
	store_err err;

	if (slot->fetched_ms && now - slot->fetched_ms < AUTH_CACHE_TTL_MS &&
	    secret_equal(slot->key.hash, hash, SECRET_HASH_HEX)) {
		*out = slot->key;
		return STORE_OK;
	}
	err = store_key_by_hash(st, hash, out);
	if (!err) {
		slot->key = *out;
		slot->fetched_ms = now;
	}
	return err;
}

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
	err = key_lookup(st, hash, &k);
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
