/*
 * fuzz_sdkreq: libFuzzer target for api/sdkreq, the parser of what the
 * Braze Web SDK posts to /api/v3/data/ with a public SDK key.
 *
 * The input is read as the server reads a body (json_loadb with
 * JSON_REJECT_DUPLICATES, nesting at most 32) and given to sdk_parse()
 * with region "US". Checked with abort(): the result is a known sdk_err;
 * on success there are at most SDK_CHUNKS_MAX chunks, no chunk is empty
 * or over TRACK_OBJECTS_MAX of a kind, no chunk holds an object error
 * (the SDK's requests are all or nothing), at most SDK_APPLIED_MAX
 * objects in all, every object names its user by external_id (never an
 * alias, e-mail or phone) and changes no subscription, every event has a
 * name and a time not in the future, every source names an entry that
 * exists in the body; on failure there are no chunks and the message is
 * non-empty. sdk_req_free() frees everything (ASan).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/sdkreq.h"

#define NOW_MS 1795689052000LL
#define DEPTH_MAX 32 /* what the server lets through (HTTP_JSON_DEPTH_MAX) */

static int depth(json_t *v)
{
	int max = 0, d;
	const char *k;
	size_t i;
	json_t *x;

	if (json_is_array(v))
		json_array_foreach(v, i, x)
			if ((d = depth(x)) > max)
				max = d;
	if (json_is_object(v))
		json_object_foreach(v, k, x)
			if ((d = depth(x)) > max)
				max = d;
	return max + 1;
}

static void check_who(const track_who *w)
{
	if (w->by != TRACK_BY_EXTERNAL_ID || !w->ext || !*w->ext)
		abort();
}

static void check_src(const sdk_src *s, json_t *root)
{
	const char *arr = s->from_events ? "events" : "attributes";

	if (s->index >= json_array_size(json_object_get(root, arr)))
		abort();
}

static void check_chunk(const sdk_chunk *c, json_t *root)
{
	const track_req *t = &c->req;

	if (json_array_size(t->errors) ||
	    t->n_attrs + t->n_events + t->n_purchases == 0 ||
	    t->n_attrs > TRACK_OBJECTS_MAX || t->n_events > TRACK_OBJECTS_MAX ||
	    t->n_purchases > TRACK_OBJECTS_MAX)
		abort();
	for (size_t i = 0; i < t->n_attrs; i++) {
		check_who(&t->attrs[i].who);
		check_src(&c->attrs[i], root);
		if (t->attrs[i].n_subs)
			abort();
	}
	for (size_t i = 0; i < t->n_events; i++) {
		check_who(&t->events[i].who);
		check_src(&c->events[i], root);
		if (!t->events[i].name || t->events[i].time_ms > NOW_MS)
			abort();
	}
	for (size_t i = 0; i < t->n_purchases; i++) {
		check_who(&t->purchases[i].who);
		check_src(&c->purchases[i], root);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[SDK_ERR_MAX];
	json_t *root = json_loadb((const char *)data, size,
				  JSON_REJECT_DUPLICATES, NULL);
	size_t total = 0;
	sdk_req r;
	sdk_err e;

	if (!json_is_object(root) || depth(root) > DEPTH_MAX) {
		json_decref(root);
		return 0;
	}
	e = sdk_parse(root, "US", NOW_MS, &r, err);
	if (e == SDK_OK) {
		if (r.n_chunks > SDK_CHUNKS_MAX)
			abort();
		for (size_t i = 0; i < r.n_chunks; i++) {
			const track_req *t = &r.chunks[i]->req;
			check_chunk(r.chunks[i], root);
			total += t->n_attrs + t->n_events + t->n_purchases;
		}
		if (total > SDK_APPLIED_MAX)
			abort();
	} else if (e != SDK_ERR_INVALID && e != SDK_ERR_NOMEM) {
		abort();
	} else if (r.n_chunks || !err[0]) {
		abort();
	}
	sdk_req_free(&r);
	json_decref(root);
	return 0;
}
