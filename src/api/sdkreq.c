/* sdkreq: see sdkreq.h. */
#include "api/sdkreq.h"
#include "core/ident.h"
#include "lib/clock.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SDK_SECONDS_MAX 253402300799.0 /* 9999-12-31T23:59:59Z */
#define SDK_WHERE_MAX 64               /* "attributes[99]" and the like */

/* Fields that pick an object's user or change consent in /users/track:
 * an SDK key names its user by user_id and never changes consent. */
static const char *const reserved[] = {
	"external_id", "user_alias", "braze_id", "_update_existing_only",
	"subscription_groups", NULL,
};

enum { K_ATTR = 0, K_EVENT, K_PURCHASE, K__COUNT };

static const char *const track_arrays[K__COUNT] = {
	"attributes", "events", "purchases",
};

/* The /users/track objects, in the SDK body's order, before chunking. */
typedef struct {
	json_t *objs[K__COUNT]; /* arrays */
	sdk_src src[K__COUNT][SDK_APPLIED_MAX];
	size_t total;
	unsigned ignored;
} builder;

static int fail(char err[SDK_ERR_MAX], const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(char err[SDK_ERR_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, SDK_ERR_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

static int is_reserved(const char *k, int contact_too)
{
	for (size_t i = 0; reserved[i]; i++)
		if (!strcmp(k, reserved[i]))
			return 1;
	return contact_too && (!strcmp(k, "phone") || !strcmp(k, "email"));
}

static int add(builder *b, int kind, json_t *obj, int from_events,
	       size_t index, char err[SDK_ERR_MAX])
{
	size_t n = json_array_size(b->objs[kind]);

	if (!obj)
		return fail(err, "out of memory");
	if (b->total >= SDK_APPLIED_MAX) {
		json_decref(obj);
		return fail(err, "more than %d attributes, custom events and "
			    "purchases in one request", SDK_APPLIED_MAX);
	}
	b->src[kind][n] = (sdk_src){(uint8_t)from_events, (uint16_t)index};
	b->total++;
	return json_array_append_new(b->objs[kind], obj) ? fail(err, "out of "
								 "memory") : 0;
}

/* An object's user_id: 1 with *ext set, 0 when it has none (an
 * anonymous device), -1 on error. */
static int user_of(json_t *o, const char *where, const char **ext,
		   char err[SDK_ERR_MAX])
{
	json_t *u = json_object_get(o, "user_id");
	const char *why;

	*ext = json_string_value(u);
	if (!u || json_is_null(u))
		return 0;
	why = *ext ? ident_check_external_id(*ext) : "must be a string";
	return why ? fail(err, "%s.user_id %s", where, why) : 1;
}

/* `custom` of an attributes object, beside its standard attributes. */
static int put_custom(json_t *obj, json_t *custom, const char *where,
		      char err[SDK_ERR_MAX])
{
	const char *k;
	json_t *v;

	if (!custom || json_is_null(custom))
		return 0;
	if (!json_is_object(custom))
		return fail(err, "%s.custom must be an object", where);
	json_object_foreach(custom, k, v) {
		if (is_reserved(k, 1) || !strcmp(k, "user_id"))
			return fail(err, "%s.custom.%.64s: an SDK key may not "
				    "set a custom attribute of that name", where,
				    k);
		if (json_object_get(obj, k))
			return fail(err, "%s.custom.%.64s repeats a standard "
				    "attribute", where, k);
		json_object_set(obj, k, v);
	}
	return 0;
}

static int attr_of(builder *b, json_t *o, size_t i, char err[SDK_ERR_MAX])
{
	char where[SDK_WHERE_MAX];
	const char *ext, *k;
	json_t *obj, *v;
	int rc;

	snprintf(where, sizeof where, "attributes[%zu]", i);
	if (!json_is_object(o))
		return fail(err, "%s is not an object", where);
	if ((rc = user_of(o, where, &ext, err)) <= 0) {
		b->ignored += rc == 0;
		return rc;
	}
	obj = json_pack("{s:s}", "external_id", ext);
	json_object_foreach(o, k, v) {
		if (!obj || !strcmp(k, "user_id") || !strcmp(k, "custom"))
			continue;
		if (is_reserved(k, 0)) {
			json_decref(obj);
			return fail(err, "%s.%.64s is not accepted with an SDK "
				    "key", where, k);
		}
		json_object_set(obj, k, v);
	}
	if (obj && put_custom(obj, json_object_get(o, "custom"), where, err)) {
		json_decref(obj);
		return -1;
	}
	return add(b, K_ATTR, obj, 0, i, err);
}

/* The event's time (Unix seconds, with a fraction) as ISO 8601. */
static int time_of(json_t *o, const char *where, char iso[CLOCK_ISO_MAX],
		   char err[SDK_ERR_MAX])
{
	json_t *t = json_object_get(o, "time");
	double s = json_number_value(t);

	if (!json_is_number(t) || !isfinite(s) || s < 0 ||
	    s > SDK_SECONDS_MAX)
		return fail(err, "%s.time must be a number of seconds since "
			    "1970", where);
	clock_iso((int64_t)llround(s * 1000.0), iso);
	return 0;
}

/* A price as the SDK sends it: a decimal string (or a number). */
static int price_of(json_t *v, double *out)
{
	const char *s = json_string_value(v);
	char *end;

	if (json_is_number(v)) {
		*out = json_number_value(v);
		return 0;
	}
	if (!s || !*s)
		return -1;
	*out = strtod(s, &end);
	return *end || !isfinite(*out) ? -1 : 0;
}

/* "ce": a custom event. */
static json_t *custom_event(const char *ext, json_t *data, const char *iso,
			    const char *where, char err[SDK_ERR_MAX])
{
	json_t *name = json_object_get(data, "n");
	json_t *props = json_object_get(data, "p");
	json_t *e;

	if (!json_is_string(name)) {
		fail(err, "%s.data.n (the event name) must be a string",
		     where);
		return NULL;
	}
	e = json_pack("{s:s,s:O,s:s}", "external_id", ext, "name", name,
		      "time", iso);
	if (e && props && !json_is_null(props))
		json_object_set(e, "properties", props);
	return e;
}

/* "p": a purchase; price comes as a string. */
static json_t *purchase(const char *ext, json_t *data, const char *iso,
			const char *where, char err[SDK_ERR_MAX])
{
	json_t *props = json_object_get(data, "pr");
	json_t *qty = json_object_get(data, "q");
	json_t *p;
	double price;

	if (price_of(json_object_get(data, "p"), &price)) {
		fail(err, "%s.data.p (the price) must be a number", where);
		return NULL;
	}
	p = json_pack("{s:s,s:O?,s:O?,s:f,s:s}", "external_id", ext,
		      "product_id", json_object_get(data, "pid"), "currency",
		      json_object_get(data, "c"), "price", price, "time", iso);
	if (p && qty && !json_is_null(qty))
		json_object_set(p, "quantity", qty);
	if (p && props && !json_is_null(props))
		json_object_set(p, "properties", props);
	return p;
}

/* "set": a custom attribute whose value is an array. */
static json_t *set_attr(const char *ext, json_t *data, const char *where,
			char err[SDK_ERR_MAX])
{
	const char *k = json_string_value(json_object_get(data, "key"));
	json_t *v = json_object_get(data, "value");

	if (!k || !v) {
		fail(err, "%s.data needs key and value", where);
		return NULL;
	}
	if (is_reserved(k, 1)) {
		fail(err, "%s.data.key: an SDK key may not set a custom "
		     "attribute named \"%.64s\"", where, k);
		return NULL;
	}
	return json_pack("{s:s,s:O}", "external_id", ext, k, v);
}

/* pass 0 takes "set" (attributes), pass 1 "ce" and "p", in order. */
static int event_of(builder *b, json_t *o, size_t i, int pass,
		    char err[SDK_ERR_MAX])
{
	char where[SDK_WHERE_MAX], iso[CLOCK_ISO_MAX];
	const char *type, *ext;
	json_t *data, *obj;
	int rc;

	snprintf(where, sizeof where, "events[%zu]", i);
	if (!json_is_object(o))
		return fail(err, "%s is not an object", where);
	type = json_string_value(json_object_get(o, "name"));
	if (!type)
		return fail(err, "%s.name must be a string", where);
	if (strcmp(type, pass ? "ce" : "set") &&
	    (!pass || strcmp(type, "p"))) {
		b->ignored += pass && strcmp(type, "set");
		return 0;
	}
	if ((rc = user_of(o, where, &ext, err)) <= 0) {
		b->ignored += rc == 0;
		return rc;
	}
	data = json_object_get(o, "data");
	if (!json_is_object(data))
		return fail(err, "%s.data must be an object", where);
	if (!pass)
		return (obj = set_attr(ext, data, where, err))
			? add(b, K_ATTR, obj, 1, i, err) : -1;
	if (time_of(o, where, iso, err))
		return -1;
	obj = !strcmp(type, "ce") ? custom_event(ext, data, iso, where, err)
				  : purchase(ext, data, iso, where, err);
	return obj ? add(b, strcmp(type, "ce") ? K_PURCHASE : K_EVENT, obj,
			 1, i, err)
		   : -1;
}

static json_t *array_of(json_t *root, const char *name, size_t max,
			char err[SDK_ERR_MAX])
{
	json_t *a = json_object_get(root, name);

	if (!a || json_is_null(a))
		return json_array(); /* so callers may iterate it */
	if (!json_is_array(a))
		fail(err, "%s must be an array", name);
	else if (json_array_size(a) > max)
		fail(err, "%s has more than %zu entries", name, max);
	else
		return json_incref(a);
	return NULL;
}

static int collect(builder *b, json_t *root, char err[SDK_ERR_MAX])
{
	json_t *attrs = array_of(root, "attributes", SDK_ATTRS_MAX, err);
	json_t *events = attrs ? array_of(root, "events", SDK_EVENTS_MAX, err)
			       : NULL;
	size_t i;
	json_t *o;
	int rc = events ? 0 : -1;

	json_array_foreach(attrs, i, o)
		if (!rc)
			rc = attr_of(b, o, i, err);
	for (int pass = 0; pass < 2; pass++)
		json_array_foreach(events, i, o)
			if (!rc)
				rc = event_of(b, o, i, pass, err);
	json_decref(attrs);
	json_decref(events);
	return rc;
}

void sdk_src_name(const sdk_chunk *c, const char *input_array, int index,
		  char *out, size_t cap)
{
	const sdk_src *s = NULL;

	if (index >= 0 && index < TRACK_OBJECTS_MAX) {
		if (!strcmp(input_array, "attributes"))
			s = &c->attrs[index];
		else if (!strcmp(input_array, "events"))
			s = &c->events[index];
		else if (!strcmp(input_array, "purchases"))
			s = &c->purchases[index];
	}
	if (s)
		snprintf(out, cap, "%s[%u]", s->from_events ? "events"
			 : "attributes", (unsigned)s->index);
	else
		snprintf(out, cap, "%s[%d]", input_array, index);
}

/* A chunk's first object error, as the SDK body names the object. */
static int chunk_error(const sdk_chunk *c, char err[SDK_ERR_MAX])
{
	json_t *e = json_array_get(c->req.errors, 0);
	char where[SDK_WHERE_MAX];

	if (!e)
		return 0;
	sdk_src_name(c, json_string_value(json_object_get(e, "input_array")),
		     (int)json_integer_value(json_object_get(e, "index")),
		     where, sizeof where);
	return fail(err, "%s: %s", where,
		    json_string_value(json_object_get(e, "type")));
}

/* One chunk's /users/track body: objects [from[k], to[k]) of each kind. */
static int chunk_parse(const builder *b, const size_t from[K__COUNT],
		       const size_t to[K__COUNT], const char *region,
		       int64_t now_ms, sdk_chunk *c, char err[SDK_ERR_MAX])
{
	sdk_src *src[K__COUNT] = {c->attrs, c->events, c->purchases};
	json_t *body = json_object();
	track_err te;

	for (int k = 0; body && k < K__COUNT; k++) {
		json_t *arr = json_array();
		for (size_t i = from[k]; arr && i < to[k]; i++) {
			json_array_append(arr, json_array_get(b->objs[k], i));
			src[k][i - from[k]] = b->src[k][i];
		}
		if (json_array_size(arr))
			json_object_set(body, track_arrays[k], arr);
		json_decref(arr);
	}
	if (!body)
		return fail(err, "out of memory");
	te = track_parse(body, region, now_ms, &c->req, err);
	json_decref(body);
	if (te == TRACK_ERR_NOMEM)
		return fail(err, "out of memory");
	return te ? -1 : chunk_error(c, err);
}

/*
 * Cut the objects into chunks of at most TRACK_OBJECTS_MAX of each kind
 * without reordering them: a kind starts in the chunk where the previous
 * kind ended (a chunk applies its attributes, then events, then
 * purchases).
 */
static sdk_err cut(const builder *b, const char *region, int64_t now_ms,
		   sdk_req *r, char err[SDK_ERR_MAX])
{
	size_t done[K__COUNT] = {0}, to[K__COUNT];
	int k = 0;

	while (k < K__COUNT) {
		sdk_chunk *c;
		if (r->n_chunks == SDK_CHUNKS_MAX) { /* total is capped below */
			fail(err, "too many objects");
			return SDK_ERR_INVALID;
		}
		if (!(c = calloc(1, sizeof *c)))
			return SDK_ERR_NOMEM;
		r->chunks[r->n_chunks++] = c;
		memcpy(to, done, sizeof to);
		for (; k < K__COUNT; k++) {
			size_t left = json_array_size(b->objs[k]) - done[k];
			to[k] = done[k] + (left < TRACK_OBJECTS_MAX
					   ? left : TRACK_OBJECTS_MAX);
			if (left > TRACK_OBJECTS_MAX)
				break; /* kind k goes on in the next chunk */
		}
		if (chunk_parse(b, done, to, region, now_ms, c, err))
			return SDK_ERR_INVALID;
		memcpy(done, to, sizeof done);
	}
	return SDK_OK;
}

sdk_err sdk_parse(json_t *root, const char *region, int64_t now_ms,
		  sdk_req *r, char err[SDK_ERR_MAX])
{
	json_t *rw = json_object_get(root, "respond_with");
	builder *b = calloc(1, sizeof *b);
	sdk_err e = SDK_ERR_NOMEM;

	memset(r, 0, sizeof *r);
	err[0] = '\0';
	for (int k = 0; b && k < K__COUNT; k++)
		if (!(b->objs[k] = json_array()))
			goto out;
	if (!b)
		goto out;
	e = SDK_ERR_INVALID;
	if (!json_is_object(root)) {
		fail(err, "request body must be a JSON object");
		goto out;
	}
	if (rw && !json_is_null(rw) && !json_is_object(rw)) {
		fail(err, "respond_with must be an object");
		goto out;
	}
	r->triggers = json_is_true(json_object_get(rw, "triggers"));
	if (collect(b, root, err))
		goto out;
	r->ignored = b->ignored;
	e = b->total ? cut(b, region, now_ms, r, err) : SDK_OK;
out:
	for (int k = 0; b && k < K__COUNT; k++)
		json_decref(b->objs[k]);
	free(b);
	if (e == SDK_ERR_NOMEM)
		fail(err, "out of memory");
	if (e)
		sdk_req_free(r); /* all or nothing */
	return e;
}

void sdk_req_free(sdk_req *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_chunks; i++) {
		track_req_free(&r->chunks[i]->req);
		free(r->chunks[i]);
	}
	memset(r, 0, sizeof *r);
}
