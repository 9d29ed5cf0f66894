/*
 * routes: every path optd answers, with its scope and rate-limit bucket.
 * Bucket sizes are Braze's published defaults, so clients written against
 * Braze back off the same way here.
 */
#include "http/route.h"
#include "api/api.h"
#include "core/scope.h"

#include <string.h>

static const http_route routes[] = {
	{"GET", "/healthz", 0, api_healthz, 0, RATE_NONE, 0, NULL},
	{"POST", "/subscription/status/set", 0, api_status_set_v1,
	 SCOPE_STATUS_SET, RATE_STATUS_SET, 1, NULL},
	{"POST", "/v2/subscription/status/set", 0, api_status_set_v2,
	 SCOPE_STATUS_SET, RATE_STATUS_SET, 1, NULL},
	{"GET", "/subscription/status/get", 0, api_status_get,
	 SCOPE_STATUS_GET, RATE_DEFAULT, 0, NULL},
	{"POST", "/users/track", 0, api_users_track, SCOPE_USERS_TRACK,
	 RATE_USERS_TRACK, 1, NULL},
	{"GET", "/subscription/user/status", 0, api_user_status,
	 SCOPE_GROUPS_GET, RATE_DEFAULT, 0, NULL},
	{"GET", "/admin/api_keys", 0, api_admin_keys_list, SCOPE_ADMIN,
	 RATE_ADMIN, 0, NULL},
	{"POST", "/admin/api_keys", 0, api_admin_keys_create, SCOPE_ADMIN,
	 RATE_ADMIN, 1, NULL},
	{"DELETE", "/admin/api_keys/", 1, api_admin_keys_revoke, SCOPE_ADMIN,
	 RATE_ADMIN, 0, NULL},
	{"GET", "/admin/subscription_groups", 0, api_admin_groups_list,
	 SCOPE_ADMIN, RATE_ADMIN, 0, NULL},
	{"POST", "/admin/subscription_groups", 0, api_admin_groups_create,
	 SCOPE_ADMIN, RATE_ADMIN, 1, NULL},
	{"GET", "/admin/subscription_groups/", 1, api_admin_groups_get,
	 SCOPE_ADMIN, RATE_ADMIN, 0, NULL},
	{"PATCH", "/admin/subscription_groups/", 1, api_admin_groups_update,
	 SCOPE_ADMIN, RATE_ADMIN, 1, NULL},
	{"GET", "/admin/consent", 0, api_admin_consent, SCOPE_ADMIN,
	 RATE_ADMIN, 0, NULL},
	{"GET", "/admin/subscription_groups/", 1, api_admin_group_sms_get,
	 SCOPE_ADMIN, RATE_ADMIN, 0, "/sms"},
	{"PUT", "/admin/subscription_groups/", 1, api_admin_group_sms_put,
	 SCOPE_ADMIN, RATE_ADMIN, 1, "/sms"},
	{"GET", "/admin/messages", 0, api_admin_messages_list, SCOPE_ADMIN,
	 RATE_ADMIN, 0, NULL},
	{"POST", "/admin/messages", 0, api_admin_messages_send, SCOPE_ADMIN,
	 RATE_ADMIN, 1, NULL},
	{"GET", "/admin/messages/", 1, api_admin_messages_get, SCOPE_ADMIN,
	 RATE_ADMIN, 0, NULL},
	{"GET", "/admin/flows", 0, api_admin_flows_list, SCOPE_ADMIN,
	 RATE_ADMIN, 0, NULL},
	{"POST", "/admin/flows", 0, api_admin_flows_add, SCOPE_ADMIN,
	 RATE_ADMIN, 1, NULL},
	{"GET", "/admin/flows/", 1, api_admin_flows_get, SCOPE_ADMIN,
	 RATE_ADMIN, 0, NULL},
	{"PUT", "/admin/flows/", 1, api_admin_flows_update, SCOPE_ADMIN,
	 RATE_ADMIN, 1, NULL},
	{"POST", "/admin/flows/", 1, api_admin_flows_enable, SCOPE_ADMIN,
	 RATE_ADMIN, 0, "/enable"},
	{"POST", "/admin/flows/", 1, api_admin_flows_disable, SCOPE_ADMIN,
	 RATE_ADMIN, 0, "/disable"},
	{"GET", "/admin/flows/", 1, api_admin_flows_runs, SCOPE_ADMIN,
	 RATE_ADMIN, 0, "/runs"},
	{"GET", "/admin/users/", 1, api_admin_user_events, SCOPE_ADMIN,
	 RATE_ADMIN, 0, "/events"},
	{"GET", "/admin/forms", 0, api_admin_forms_list, SCOPE_ADMIN,
	 RATE_ADMIN, 0, NULL},
	{"POST", "/admin/forms", 0, api_admin_forms_add, SCOPE_ADMIN,
	 RATE_ADMIN, 1, NULL},
	{"GET", "/admin/forms/", 1, api_admin_forms_get, SCOPE_ADMIN,
	 RATE_ADMIN, 0, NULL},
	{"GET", "/admin/consent_texts/", 1, api_admin_consent_text,
	 SCOPE_ADMIN, RATE_ADMIN, 0, NULL},
	/* The hosted form is public: its POST is checked by a token bound
	 * to a cookie, and limited per address by its handler. */
	{"GET", "/f/", 1, api_form_get, 0, RATE_NONE, 0, NULL},
	{"POST", "/f/", 1, api_form_post, 0, RATE_NONE, 0, NULL},
	/* Gateways authenticate by signature or shared secret, not by key;
	 * the handlers check them. */
	{"POST", "/sms/inbound/twilio", 0, api_sms_inbound_twilio, 0,
	 RATE_NONE, 0, NULL},
	{"GET", "/sms/inbound/kannel", 0, api_sms_inbound_kannel, 0,
	 RATE_NONE, 0, NULL},
	{"POST", "/sms/inbound/kannel", 0, api_sms_inbound_kannel, 0,
	 RATE_NONE, 0, NULL},
	{"POST", "/sms/inbound", 0, api_sms_inbound, SCOPE_SMS_INBOUND,
	 RATE_DEFAULT, 1, NULL},
	{"POST", "/sms/status/twilio", 0, api_sms_status_twilio, 0,
	 RATE_NONE, 0, NULL},
	{"GET", "/sms/status/kannel", 0, api_sms_status_kannel, 0, RATE_NONE,
	 0, NULL},
	{"POST", "/sms/status/kannel", 0, api_sms_status_kannel, 0,
	 RATE_NONE, 0, NULL},
};

#define NROUTES (sizeof routes / sizeof routes[0])

static int path_matches(const http_route *rt, const char *path,
			const char **rest, char seg[HTTP_PATH_MAX])
{
	size_t n = strlen(rt->path), len = strlen(path), sl;

	if (!rt->prefix) {
		*rest = "";
		return strcmp(rt->path, path) == 0;
	}
	if (strncmp(rt->path, path, n) != 0 || !path[n])
		return 0;
	sl = rt->suffix ? strlen(rt->suffix) : 0;
	if (len < n + sl + 1 || (sl && strcmp(path + len - sl, rt->suffix)))
		return 0;
	if (memchr(path + n, '/', len - n - sl))
		return 0;
	if (!sl) {
		*rest = path + n;
		return 1;
	}
	memcpy(seg, path + n, len - n - sl);
	seg[len - n - sl] = '\0';
	*rest = seg;
	return 1;
}

const http_route *route_find(const char *method, const char *path,
			     int *path_ok, const char **rest,
			     char seg[HTTP_PATH_MAX])
{
	*path_ok = 0;
	for (size_t i = 0; i < NROUTES; i++) {
		if (!path_matches(&routes[i], path, rest, seg))
			continue;
		*path_ok = 1;
		if (strcmp(routes[i].method, method) == 0)
			return &routes[i];
	}
	return NULL;
}

void route_bucket_limit(route_bucket b, uint32_t key_override,
			uint32_t *limit, uint32_t *window_s)
{
	switch (b) {
	case RATE_STATUS_SET:
		*limit = 5000, *window_s = 60;
		break;
	case RATE_ADMIN:
		*limit = 6000, *window_s = 60;
		break;
	case RATE_USERS_TRACK:
		*limit = 3000, *window_s = 3;
		break;
	case RATE_DEFAULT:
	default:
		*limit = 250000, *window_s = 3600;
		break;
	}
	if (key_override)
		*limit = key_override, *window_s = 60;
}

const char *route_bucket_name(route_bucket b)
{
	switch (b) {
	case RATE_STATUS_SET: return "status_set";
	case RATE_ADMIN: return "admin";
	case RATE_USERS_TRACK: return "users_track";
	case RATE_DEFAULT: return "default";
	default: return "none";
	}
}
