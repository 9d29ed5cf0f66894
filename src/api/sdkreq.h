/*
 * sdkreq: the body the Braze Web SDK posts to {baseUrl}/data/, parsed
 * and turned into what POST /users/track would apply (api/trackreq.h).
 *
 * No HTTP and no storage, so it can be fuzzed alone. What the SDK sends
 * is described in docs/sdk.md: `attributes` (one object per user, the
 * standard ones beside `custom`) and `events` with short type codes. A
 * custom event ("ce"), a purchase ("p") and a custom attribute array
 * ("set") become /users/track objects, named by the SDK's `user_id` as
 * external_id; every other event type, and anything without a user_id
 * (an anonymous device), is ignored and counted. Every object is checked
 * by the same parser /users/track uses, and the request is all or
 * nothing: the first problem is a fatal error that names its place in the
 * SDK's body ("events[3].data.p: ..."), and nothing is applied.
 *
 * /users/track takes TRACK_OBJECTS_MAX objects of each kind, and the SDK
 * sends whatever it has queued, so the objects are cut into chunks of
 * that size that keep their order: every attribute, then every event,
 * then every purchase. An SDK key can only name users by external_id:
 * the fields that pick users otherwise, or change consent, are refused.
 */
#ifndef OPTD_SDKREQ_H
#define OPTD_SDKREQ_H

#include <jansson.h>
#include <stdint.h>

#include "api/trackreq.h"

#define SDK_EVENTS_MAX 1000  /* entries of the body's events array */
#define SDK_ATTRS_MAX 100    /* entries of its attributes array */
#define SDK_APPLIED_MAX 300  /* attributes, events and purchases applied */
#define SDK_CHUNKS_MAX (SDK_APPLIED_MAX / TRACK_OBJECTS_MAX + 3)
#define SDK_ERR_MAX TRACK_ERR_MAX

/* Where a /users/track object came from in the SDK's body. */
typedef struct {
	uint8_t from_events; /* 0: attributes[index], 1: events[index] */
	uint16_t index;
} sdk_src;

typedef struct {
	track_req req;
	sdk_src attrs[TRACK_OBJECTS_MAX];
	sdk_src events[TRACK_OBJECTS_MAX];
	sdk_src purchases[TRACK_OBJECTS_MAX];
} sdk_chunk;

typedef struct {
	size_t n_chunks;
	sdk_chunk *chunks[SDK_CHUNKS_MAX]; /* owned */
	int triggers;     /* respond_with.triggers: the SDK wants its list */
	unsigned ignored; /* events and attributes left aside */
} sdk_req;

typedef enum {
	SDK_OK = 0,
	SDK_ERR_INVALID, /* err says why and where */
	SDK_ERR_NOMEM,
} sdk_err;

/* `root` is borrowed. `now_ms` caps event times, as /users/track does. */
sdk_err sdk_parse(json_t *root, const char *region, int64_t now_ms,
		  sdk_req *out, char err[SDK_ERR_MAX]);
/* "events[3]" for an object of a chunk (a /users/track error's
 * input_array and index), into out. */
void sdk_src_name(const sdk_chunk *c, const char *input_array, int index,
		  char *out, size_t cap);
void sdk_req_free(sdk_req *r); /* NULL-safe */

#endif
