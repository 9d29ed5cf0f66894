/*
 * scope: what an API key may do. The names are Braze's permission names so
 * a marketer's existing key settings read the same here; `admin` is optd's
 * own and implies every other scope.
 */
#ifndef OPTD_SCOPE_H
#define OPTD_SCOPE_H

#include <stdint.h>
#include <stddef.h>

#define SCOPE_STATUS_SET 0x01u  /* subscription.status.set */
#define SCOPE_STATUS_GET 0x02u  /* subscription.status.get */
#define SCOPE_GROUPS_GET 0x04u  /* subscription.groups.get */
#define SCOPE_USERS_TRACK 0x08u /* users.track */
#define SCOPE_SMS_INBOUND 0x10u /* sms.inbound: optd's generic SMS webhook */
/* Not a permission any key is given, and no name: it marks the browser
 * SDK's routes, which take SDK keys only (docs/sdk.md). */
#define SCOPE_SDK 0x20u
#define SCOPE_ADMIN 0x80u       /* admin */
#define SCOPE_ALL 0x9fu

#define SCOPE_LIST_MAX 128 /* "a,b,c" rendering of every scope */

/* Bit for one scope name, 0 when the name is unknown. */
uint32_t scope_from_name(const char *name);
/* "subscription.status.set,users.track" into out (cap bytes). */
void scope_format(uint32_t scopes, char *out, size_t cap);
/* Each name in order, for listing; NULL past the end. */
const char *scope_name_at(size_t i, uint32_t *bit);
int scope_allows(uint32_t have, uint32_t need);

#endif
