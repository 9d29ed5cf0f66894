/* scope: see scope.h. */
#include "core/scope.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	uint32_t bit;
} scopes[] = {
	{"subscription.status.set", SCOPE_STATUS_SET},
	{"subscription.status.get", SCOPE_STATUS_GET},
	{"subscription.groups.get", SCOPE_GROUPS_GET},
	{"users.track", SCOPE_USERS_TRACK},
	{"sms.inbound", SCOPE_SMS_INBOUND},
	{"admin", SCOPE_ADMIN},
};

#define NSCOPES (sizeof scopes / sizeof scopes[0])

uint32_t scope_from_name(const char *name)
{
	for (size_t i = 0; name && i < NSCOPES; i++)
		if (strcmp(scopes[i].name, name) == 0)
			return scopes[i].bit;
	return 0;
}

const char *scope_name_at(size_t i, uint32_t *bit)
{
	if (i >= NSCOPES)
		return NULL;
	if (bit)
		*bit = scopes[i].bit;
	return scopes[i].name;
}

void scope_format(uint32_t have, char *out, size_t cap)
{
	size_t o = 0;

	if (cap)
		out[0] = '\0';
	for (size_t i = 0; i < NSCOPES; i++) {
		if (!(have & scopes[i].bit))
			continue;
		int n = snprintf(out + o, cap - o, "%s%s", o ? "," : "",
				 scopes[i].name);
		if (n < 0 || (size_t)n >= cap - o)
			break;
		o += (size_t)n;
	}
}

int scope_allows(uint32_t have, uint32_t need)
{
	return (have & SCOPE_ADMIN) || (have & need) == need;
}
