/*
 * api: the request handlers, one file per resource. Each is an
 * http_handler; the routing table in src/http/routes.c says which path,
 * method, scope and rate-limit bucket lead to which handler.
 */
#ifndef OPTD_API_H
#define OPTD_API_H

#include "http/http.h"

void api_healthz(http_req *r);

/* subscription.c: Braze's subscription endpoints */
void api_status_set_v1(http_req *r);
void api_status_set_v2(http_req *r);
void api_status_get(http_req *r);
void api_user_status(http_req *r);

/* track.c: Braze's POST /users/track */
void api_users_track(http_req *r);

/* admin.c: optd's own management API under /admin/ */
void api_admin_keys_list(http_req *r);
void api_admin_keys_create(http_req *r);
void api_admin_keys_revoke(http_req *r);
void api_admin_groups_list(http_req *r);
void api_admin_groups_create(http_req *r);
void api_admin_groups_get(http_req *r);
void api_admin_groups_update(http_req *r);
void api_admin_consent(http_req *r);
void api_admin_group_sms_get(http_req *r);
void api_admin_group_sms_put(http_req *r);

/* flows and events (admin.c) */
void api_admin_flows_add(http_req *r);
void api_admin_flows_update(http_req *r);
void api_admin_flows_enable(http_req *r);
void api_admin_flows_disable(http_req *r);
void api_admin_flows_list(http_req *r);
void api_admin_flows_get(http_req *r);
void api_admin_flows_runs(http_req *r);
void api_admin_user_events(http_req *r);

/* the outbox, under /admin/messages (admin.c) */
void api_admin_messages_list(http_req *r);
void api_admin_messages_get(http_req *r);
void api_admin_messages_send(http_req *r);

/* form.c: the hosted sign-up form, /f/{form} */
void api_form_get(http_req *r);
void api_form_post(http_req *r);

/* hosted forms and their consent texts (admin.c) */
void api_admin_forms_list(http_req *r);
void api_admin_forms_add(http_req *r);
void api_admin_forms_get(http_req *r);
void api_admin_consent_text(http_req *r);

/* sms.c: gateways' webhooks */
void api_sms_inbound_twilio(http_req *r);
void api_sms_inbound_kannel(http_req *r);
void api_sms_inbound(http_req *r);
void api_sms_status_twilio(http_req *r);
void api_sms_status_kannel(http_req *r);

#endif
