/*
 * flowdef: a flow's definition (docs/flows.md), parsed and checked, and
 * the rules that need it: does a user match the audience, does an SMS
 * body start the flow.
 *
 * A definition is accepted only when every part is valid, templates
 * included (core/template.h); the first problem is named by its path
 * ("steps[1].body: ..."). A parsed flowdef is immutable, so the runner
 * threads share one. The audience is evaluated through a flow_user, so
 * this module needs neither the store nor HTTP.
 */
#ifndef OPTD_FLOWDEF_H
#define OPTD_FLOWDEF_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/consent.h"
#include "core/ident.h"
#include "core/template.h"

#define FLOW_ERR_MAX 512
#define FLOW_ID_MAX 64
#define FLOW_STEPS_MAX 20
#define FLOW_HEADERS_MAX 32
#define FLOW_HEADER_NAME_MAX 128
#define FLOW_AUDIENCE_DEPTH_MAX 4
#define FLOW_CONDS_MAX 64         /* conditions in one audience */
#define FLOW_NAME_MAX 1020        /* bytes of an event or attribute name:
                                     255 characters of UTF-8 */
#define FLOW_PATTERN_MAX 512      /* bytes of an SMS entry pattern */
#define FLOW_DELAY_MAX_S (30 * 24 * 3600)

typedef enum {
	FLOW_OK = 0,
	FLOW_ERR_INVALID, /* err names the path */
	FLOW_ERR_NOMEM,
} flow_err;

typedef enum {
	FLOW_STEP_WEBHOOK = 0,
	FLOW_STEP_SMS,
	FLOW_STEP_DELAY,
	FLOW_STEP_USER_UPDATE,
} flow_step_kind;

typedef struct {
	char name[FLOW_HEADER_NAME_MAX + 1];
	tpl *value;
} flow_header;

typedef struct {
	flow_step_kind kind;
	/* webhook */
	char method[8];
	tpl *url;
	flow_header headers[FLOW_HEADERS_MAX];
	size_t n_headers;
	tpl *body;     /* NULL: no body */
	int json_body; /* Content-Type is JSON: values are JSON-escaped */
	/* sms */
	char group_id[IDENT_GROUP_ID_MAX + 1];
	tpl *text;
	/* delay */
	int64_t delay_s;
	/* user_update */
	json_t *attributes; /* NULL or an object; null values remove */
	int has_subscription;
	char sub_group[IDENT_GROUP_ID_MAX + 1];
	consent_state sub_state;
} flow_step;

typedef struct flowdef flowdef;

flow_err flowdef_parse(const char *json, size_t len, flowdef **out,
		       char err[FLOW_ERR_MAX]);
void flowdef_free(flowdef *f);

const char *flowdef_id(const flowdef *f);
const char *flowdef_name(const flowdef *f);
/* The entry: an event name, or (NULL) an SMS to entry_group. */
const char *flowdef_entry_event(const flowdef *f);
const char *flowdef_entry_group(const flowdef *f);
int flowdef_reentry(const flowdef *f);
size_t flowdef_steps(const flowdef *f);
const flow_step *flowdef_step(const flowdef *f, size_t i);

/* What the audience may ask about a user. */
typedef struct {
	/* external_id, phone, email, first_name, last_name or a custom
	 * attribute; NULL when absent. Borrowed. */
	const json_t *(*attr)(void *ctx, const char *name);
	/* 1 subscribed, 0 not, -1 could not tell */
	int (*subscribed)(void *ctx, const char *group);
	int phone_valid;
	void *ctx;
} flow_user;

/* 1 the user is in the audience (no audience: everyone), 0 not, -1 an
 * answer could not be had (the caller retries). */
int flowdef_audience(const flowdef *f, const flow_user *u);
/* 1 when an SMS body starts this flow (case-insensitive ERE). */
int flowdef_sms_match(const flowdef *f, const char *body);

#endif
