/*
 * fuzz_trackreq: libFuzzer target for api/trackreq, the parser of
 * POST /users/track bodies.
 *
 * The input is read as the server reads a body (json_loadb with
 * JSON_REJECT_DUPLICATES); an object goes to track_parse() with region
 * "US". Checked with abort(): the result is a known track_err; on success
 * every array holds at most TRACK_OBJECTS_MAX objects, the objects kept
 * plus the errors reported never exceed the objects sent, every kept
 * event has a name and a time not in the future, every phone kept is
 * E.164, and every error has Braze's shape (type, input_array, index);
 * track_req_free() frees everything (ASan).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/trackreq.h"

#define NOW_MS 1795689052000LL

static void check(const track_req *r, json_t *root)
{
	size_t sent = 0, i;
	json_t *e;

	for (const char *const *k = (const char *const[]){"attributes",
			"events", "purchases", NULL}; *k; k++)
		sent += json_array_size(json_object_get(root, *k));
	if (r->n_attrs > TRACK_OBJECTS_MAX || r->n_events > TRACK_OBJECTS_MAX ||
	    r->n_purchases > TRACK_OBJECTS_MAX ||
	    r->n_attrs + r->n_events + r->n_purchases +
			    json_array_size(r->errors) > sent)
		abort();
	for (i = 0; i < r->n_events; i++)
		if (!r->events[i].name || r->events[i].time_ms > NOW_MS)
			abort();
	for (i = 0; i < r->n_attrs; i++)
		if (r->attrs[i].has_phone && r->attrs[i].phone.e164[0] != '+')
			abort();
	json_array_foreach(r->errors, i, e)
		if (!json_is_string(json_object_get(e, "type")) ||
		    !json_is_string(json_object_get(e, "input_array")) ||
		    !json_is_integer(json_object_get(e, "index")))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static track_req r;
	char err[TRACK_ERR_MAX];
	json_t *root = json_loadb((const char *)data, size,
				  JSON_REJECT_DUPLICATES, NULL);
	track_err te;

	if (!json_is_object(root)) {
		json_decref(root);
		return 0;
	}
	te = track_parse(root, "US", NOW_MS, &r, err);
	if (te == TRACK_OK)
		check(&r, root);
	else if (te != TRACK_ERR_INVALID && te != TRACK_ERR_NOMEM)
		abort();
	else if (!err[0] && te == TRACK_ERR_INVALID)
		abort();
	track_req_free(&r);
	json_decref(root);
	return 0;
}
