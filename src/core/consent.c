/* consent: see consent.h. */
#include "core/consent.h"

#include <string.h>

static const char *state_names[] = {"unknown", "subscribed", "unsubscribed"};
static const char *state_labels[] = {"Unknown", "Subscribed", "Unsubscribed"};
static const char *source_names[CONSENT_SRC__COUNT] = {
	"api", "keyword", "flow", "form", "sdk", "import", "provider", "admin",
};

int consent_state_parse(const char *s, consent_state *out)
{
	if (!s)
		return -1;
	if (strcmp(s, "subscribed") == 0)
		*out = CONSENT_SUBSCRIBED;
	else if (strcmp(s, "unsubscribed") == 0)
		*out = CONSENT_UNSUBSCRIBED;
	else
		return -1;
	return 0;
}

int consent_state_from_name(const char *s, consent_state *out)
{
	if (s && strcmp(s, "unknown") == 0) {
		*out = CONSENT_UNKNOWN;
		return 0;
	}
	return consent_state_parse(s, out);
}

const char *consent_state_name(consent_state s)
{
	return (unsigned)s < 3 ? state_names[s] : "unknown";
}

const char *consent_state_label(consent_state s)
{
	return (unsigned)s < 3 ? state_labels[s] : "Unknown";
}

const char *consent_source_name(consent_source src)
{
	return (unsigned)src < CONSENT_SRC__COUNT ? source_names[src] : "api";
}

int consent_source_parse(const char *s, consent_source *out)
{
	for (int i = 0; s && i < CONSENT_SRC__COUNT; i++) {
		if (strcmp(s, source_names[i]) == 0) {
			*out = (consent_source)i;
			return 0;
		}
	}
	return -1;
}

int consent_channel_parse(const char *s, consent_channel *out)
{
	if (!s)
		return -1;
	if (strcmp(s, "sms") == 0)
		*out = CHANNEL_SMS;
	else if (strcmp(s, "email") == 0)
		*out = CHANNEL_EMAIL;
	else
		return -1;
	return 0;
}

const char *consent_channel_name(consent_channel c)
{
	return c == CHANNEL_EMAIL ? "email" : "sms";
}

int consent_is_change(consent_state old, consent_state want)
{
	return want != CONSENT_UNKNOWN && old != want;
}
