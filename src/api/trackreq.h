/*
 * trackreq: the body of POST /users/track, parsed and checked.
 *
 * No HTTP and no storage, so it can be fuzzed alone. A body that cannot
 * be read at all (not an object, an array that is not one, more than
 * TRACK_OBJECTS_MAX objects, an unknown top-level field) is a fatal error
 * and nothing is applied; an object with a problem is left out and
 * reported in `errors` the way Braze does ({"type", "input_array",
 * "index"}), and the others are applied. Phones are normalised here, on
 * the HTTP thread, not in the writer.
 */
#ifndef OPTD_TRACKREQ_H
#define OPTD_TRACKREQ_H

#include <jansson.h>
#include <stdint.h>

#include "core/consent.h"
#include "core/ident.h"
#include "core/phone.h"
#include "store/store.h"

#define TRACK_OBJECTS_MAX 75   /* per array, Braze's limit */
#define TRACK_GROUPS_MAX 25    /* subscription_groups per attributes object */
#define TRACK_PROP_NAME_MAX 255
#define TRACK_NAME_CHARS 255   /* characters of an event name, product id */
#define TRACK_STRING_MAX 255   /* characters of an event property string */
#define TRACK_ERR_MAX 512

typedef enum { TRACK_BY_EXTERNAL_ID = 0, TRACK_BY_ALIAS, TRACK_BY_EMAIL,
	       TRACK_BY_PHONE } track_by;

typedef struct {
	track_by by;
	const char *ext;             /* borrowed from the body */
	const char *alias_label, *alias_name;
	char email[IDENT_EMAIL_MAX + 1];
	phone_info phone;
	int update_existing_only;
} track_who;

typedef struct {
	char group_id[IDENT_GROUP_ID_MAX + 1];
	consent_state state;
	int double_opt_in;
} track_sub;

typedef struct {
	int index;
	track_who who;
	int has_phone, has_email;
	phone_info phone;
	char email[IDENT_EMAIL_MAX + 1];
	json_t *set;   /* attributes to set (null removes); owned */
	size_t n_subs;
	track_sub subs[TRACK_GROUPS_MAX];
} track_attr;

typedef struct {
	int index;
	track_who who;
	const char *name;
	int64_t time_ms;
	char *props; /* JSON object text; owned */
} track_event;

typedef struct {
	int index;
	track_who who;
	const char *product_id;
	char currency[4];
	double price;
	int64_t quantity;
	int64_t time_ms;
	char *props; /* JSON object text or NULL; owned */
} track_purchase;

typedef struct {
	json_t *root; /* keeps the borrowed strings alive */
	size_t n_attrs, n_events, n_purchases;
	track_attr attrs[TRACK_OBJECTS_MAX];
	track_event events[TRACK_OBJECTS_MAX];
	track_purchase purchases[TRACK_OBJECTS_MAX];
	json_t *errors; /* the non-fatal ones, in Braze's shape */
} track_req;

typedef enum {
	TRACK_OK = 0,
	TRACK_ERR_INVALID, /* fatal: err says why */
	TRACK_ERR_NOMEM,
} track_err;

/* `root` is borrowed (a reference is kept). `now_ms` caps event times. */
track_err track_parse(json_t *root, const char *region, int64_t now_ms,
		      track_req *out, char err[TRACK_ERR_MAX]);
void track_req_free(track_req *r); /* NULL-safe */

#endif
