/* trackreq: see trackreq.h. */
#include "api/trackreq.h"
#include "lib/clock.h"
#include "lib/utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRACK_TYPE_MAX 256 /* bytes of one object error's "type" */

/* Keys of an object that say who it is about, not what to store. */
static const char *const who_keys[] = {
	"external_id", "user_alias", "braze_id", "_update_existing_only",
	NULL,
};

static int fatal(char err[TRACK_ERR_MAX], const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fatal(char err[TRACK_ERR_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, TRACK_ERR_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

/* One object's problem, reported and the object left out. */
static void object_error(track_req *r, const char *array, size_t index,
			 const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void object_error(track_req *r, const char *array, size_t index,
			 const char *fmt, ...)
{
	char type[TRACK_TYPE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(type, sizeof type, fmt, ap);
	va_end(ap);
	json_array_append_new(r->errors, json_pack("{s:s,s:s,s:I}", "type",
		type, "input_array", array, "index", (json_int_t)index));
}

/* Who the object is about. With email and phone both, email wins. */
static const char *parse_who(json_t *o, const char *region, int attrs,
			     track_who *w, char type[TRACK_TYPE_MAX])
{
	json_t *ext = json_object_get(o, "external_id");
	json_t *alias = json_object_get(o, "user_alias");
	json_t *email = json_object_get(o, "email");
	json_t *phone = json_object_get(o, "phone");
	json_t *upd = json_object_get(o, "_update_existing_only");

	memset(w, 0, sizeof *w);
	w->update_existing_only = json_is_true(upd);
	if (upd && !json_is_boolean(upd))
		return "_update_existing_only must be a boolean";
	if (json_object_get(o, "braze_id"))
		return "braze_id is not supported; use external_id, "
		       "user_alias, email or phone";
	if (ext) {
		const char *s = json_string_value(ext);
		const char *why = s ? ident_check_external_id(s) : "is not a "
								   "string";
		if (why) {
			snprintf(type, TRACK_TYPE_MAX, "external_id %s", why);
			return type;
		}
		w->by = TRACK_BY_EXTERNAL_ID;
		w->ext = s;
		return NULL;
	}
	if (alias) {
		w->alias_name = json_string_value(json_object_get(alias,
								  "alias_name"));
		w->alias_label = json_string_value(json_object_get(alias,
								   "alias_label"));
		if (!w->alias_name || !w->alias_label || !*w->alias_name ||
		    !*w->alias_label || strlen(w->alias_name) > STORE_ALIAS_MAX ||
		    strlen(w->alias_label) > STORE_ALIAS_MAX)
			return "user_alias needs alias_name and alias_label, "
			       "strings of 1 to 255 bytes";
		w->by = TRACK_BY_ALIAS;
		return NULL;
	}
	(void)attrs;
	if (email) {
		const char *s = json_string_value(email);
		const char *why = s ? ident_check_email(s) : "is not a string";
		if (why) {
			snprintf(type, TRACK_TYPE_MAX, "email %s", why);
			return type;
		}
		snprintf(w->email, sizeof w->email, "%s", s);
		ident_email_normalize(w->email);
		w->by = TRACK_BY_EMAIL;
		return NULL;
	}
	if (phone) {
		const char *s = json_string_value(phone);
		phone_err pe = s ? phone_normalize(s, strlen(s), region,
						   &w->phone)
				 : PHONE_ERR_PARSE;
		if (pe) {
			snprintf(type, TRACK_TYPE_MAX, "phone \"%.64s\" %s",
				 s ? s : "", phone_strerror(pe));
			return type;
		}
		w->by = TRACK_BY_PHONE;
		return NULL;
	}
	return "'external_id' or 'user_alias' or 'email' or 'phone' is "
	       "required";
}

static int is_who_key(const char *k)
{
	for (size_t i = 0; who_keys[i]; i++)
		if (strcmp(k, who_keys[i]) == 0)
			return 1;
	return 0;
}

static const char *parse_subs(json_t *arr, track_attr *a,
			      char type[TRACK_TYPE_MAX])
{
	size_t i;
	json_t *x;

	if (!json_is_array(arr) || json_array_size(arr) > TRACK_GROUPS_MAX)
		return "subscription_groups must be an array of at most 25 "
		       "objects";
	json_array_foreach(arr, i, x) {
		const char *g = json_string_value(
			json_object_get(x, "subscription_group_id"));
		const char *st = json_string_value(
			json_object_get(x, "subscription_state"));
		json_t *doi = json_object_get(x, "use_double_opt_in_logic");
		track_sub *t = &a->subs[a->n_subs];
		if (!g || ident_check_group_id(g) || !st ||
		    consent_state_parse(st, &t->state) ||
		    (doi && !json_is_boolean(doi))) {
			snprintf(type, TRACK_TYPE_MAX, "subscription_groups[%zu] "
				 "needs subscription_group_id and "
				 "subscription_state subscribed or "
				 "unsubscribed", i);
			return type;
		}
		snprintf(t->group_id, sizeof t->group_id, "%s", g);
		t->double_opt_in = json_is_true(doi);
		a->n_subs++;
	}
	return NULL;
}

/* phone and email as attributes to store (not as who). */
static const char *parse_contact(json_t *o, const char *region,
				 track_attr *a, char type[TRACK_TYPE_MAX])
{
	json_t *phone = json_object_get(o, "phone");
	json_t *email = json_object_get(o, "email");

	if (phone && !json_is_null(phone)) {
		const char *s = json_string_value(phone);
		phone_err pe = s ? phone_normalize(s, strlen(s), region,
						   &a->phone)
				 : PHONE_ERR_PARSE;
		if (pe) {
			snprintf(type, TRACK_TYPE_MAX, "phone \"%.64s\" %s",
				 s ? s : "", phone_strerror(pe));
			return type;
		}
		a->has_phone = 1;
	}
	if (email && !json_is_null(email)) {
		const char *s = json_string_value(email);
		const char *why = s ? ident_check_email(s) : "is not a string";
		if (why) {
			snprintf(type, TRACK_TYPE_MAX, "email %s", why);
			return type;
		}
		snprintf(a->email, sizeof a->email, "%s", s);
		ident_email_normalize(a->email);
		a->has_email = 1;
	}
	return NULL;
}

static int attr_value_ok(json_t *v)
{
	size_t i;
	json_t *x;

	if (!json_is_array(v))
		return !json_is_object(v);
	json_array_foreach(v, i, x)
		if (!json_is_string(x))
			return 0;
	return 1;
}

static const char *parse_attr(json_t *o, const char *region, track_attr *a,
			      char type[TRACK_TYPE_MAX])
{
	const char *why, *k;
	json_t *v;

	if ((why = parse_who(o, region, 1, &a->who, type)) ||
	    (why = parse_contact(o, region, a, type)))
		return why;
	a->set = json_object();
	json_object_foreach(o, k, v) {
		if (is_who_key(k) || !strcmp(k, "phone") || !strcmp(k, "email"))
			continue;
		if (!strcmp(k, "subscription_groups")) {
			if ((why = parse_subs(v, a, type)))
				return why;
			continue;
		}
		if (!*k || utf8_chars(k) > TRACK_PROP_NAME_MAX || k[0] == '$') {
			snprintf(type, TRACK_TYPE_MAX, "attribute name \"%.64s\""
				 " must be 1 to 255 characters, not starting "
				 "with $", k);
			return type;
		}
		if (!attr_value_ok(v)) {
			snprintf(type, TRACK_TYPE_MAX, "attribute \"%.64s\" must "
				 "be a string, number, boolean, array of "
				 "strings or null", k);
			return type;
		}
		json_object_set(a->set, k, v);
	}
	return NULL;
}

/* Event and purchase properties: Braze's naming and size rules. */
static const char *parse_props(json_t *p, char **out,
			       char type[TRACK_TYPE_MAX])
{
	const char *k;
	json_t *v;

	*out = NULL;
	if (!p)
		return NULL;
	if (!json_is_object(p))
		return "properties must be an object";
	json_object_foreach(p, k, v) {
		if (!*k || utf8_chars(k) > TRACK_PROP_NAME_MAX || k[0] == '$') {
			snprintf(type, TRACK_TYPE_MAX, "property name \"%.64s\" "
				 "must be 1 to 255 characters, not starting "
				 "with $", k);
			return type;
		}
		if (json_is_string(v) &&
		    utf8_chars(json_string_value(v)) > TRACK_STRING_MAX) {
			snprintf(type, TRACK_TYPE_MAX, "property \"%.64s\" is "
				 "longer than 255 characters", k);
			return type;
		}
	}
	*out = json_dumps(p, JSON_COMPACT);
	if (!*out)
		return "out of memory";
	if (strlen(*out) > STORE_PROPS_MAX)
		return "properties are larger than 50 KB";
	return NULL;
}

static const char *parse_time(json_t *t, int64_t now_ms, int64_t *ms)
{
	const char *s = json_string_value(t);

	if (!s || clock_parse_iso(s, ms))
		return "time must be an ISO 8601 date-time string";
	if (*ms > now_ms) /* Braze: a future time is now */
		*ms = now_ms;
	return NULL;
}

static const char *parse_event(json_t *o, const char *region,
			       int64_t now_ms, track_event *e,
			       char type[TRACK_TYPE_MAX])
{
	const char *why;

	if ((why = parse_who(o, region, 0, &e->who, type)))
		return why;
	e->name = json_string_value(json_object_get(o, "name"));
	if (!e->name || !*e->name || utf8_chars(e->name) > TRACK_NAME_CHARS)
		return "name must be a string of 1 to 255 characters";
	if ((why = parse_time(json_object_get(o, "time"), now_ms, &e->time_ms)))
		return why;
	return parse_props(json_object_get(o, "properties"), &e->props, type);
}

static const char *parse_purchase(json_t *o, const char *region,
				  int64_t now_ms, track_purchase *p,
				  char type[TRACK_TYPE_MAX])
{
	json_t *price = json_object_get(o, "price");
	json_t *qty = json_object_get(o, "quantity");
	const char *cur = json_string_value(json_object_get(o, "currency"));
	const char *why;

	if ((why = parse_who(o, region, 0, &p->who, type)))
		return why;
	p->product_id = json_string_value(json_object_get(o, "product_id"));
	if (!p->product_id || !*p->product_id ||
	    utf8_chars(p->product_id) > TRACK_NAME_CHARS)
		return "product_id must be a string of 1 to 255 characters";
	if (!cur || strlen(cur) != 3)
		return "currency must be a three-letter ISO 4217 code";
	snprintf(p->currency, sizeof p->currency, "%s", cur);
	if (!json_is_number(price))
		return "price must be a number";
	p->price = json_number_value(price);
	p->quantity = 1;
	if (qty && (!json_is_integer(qty) || json_integer_value(qty) < 1 ||
		    json_integer_value(qty) > 100))
		return "quantity must be a whole number from 1 to 100";
	if (qty)
		p->quantity = json_integer_value(qty);
	if ((why = parse_time(json_object_get(o, "time"), now_ms, &p->time_ms)))
		return why;
	return parse_props(json_object_get(o, "properties"), &p->props, type);
}

static int check_top(json_t *root, char err[TRACK_ERR_MAX])
{
	static const char *const arrays[] = {"attributes", "events",
					     "purchases"};
	const char *k;
	json_t *v;
	int any = 0;

	json_object_foreach(root, k, v) {
		size_t i = 0;
		while (i < 3 && strcmp(k, arrays[i]) != 0)
			i++;
		if (i == 3)
			return fatal(err, "unknown field \"%.64s\" (expected "
				     "attributes, events, purchases)", k);
		if (!json_is_array(v))
			return fatal(err, "%s must be an array", k);
		if (json_array_size(v) > TRACK_OBJECTS_MAX)
			return fatal(err, "Max Input Length Exceeded: %s has "
				     "more than %d objects", k,
				     TRACK_OBJECTS_MAX);
		any = 1;
	}
	return any ? 0 : fatal(err, "one of attributes, events or purchases "
			       "is required");
}

track_err track_parse(json_t *root, const char *region, int64_t now_ms,
		      track_req *r, char err[TRACK_ERR_MAX])
{
	char type[TRACK_TYPE_MAX];
	const char *why;
	size_t i;
	json_t *o;

	memset(r, 0, sizeof *r);
	r->errors = json_array();
	if (!r->errors)
		return TRACK_ERR_NOMEM;
	r->root = json_incref(root);
	if (check_top(root, err))
		return TRACK_ERR_INVALID;
	json_array_foreach(json_object_get(root, "attributes"), i, o) {
		track_attr *a = &r->attrs[r->n_attrs];
		memset(a, 0, sizeof *a);
		a->index = (int)i;
		why = json_is_object(o) ? parse_attr(o, region, a, type)
					: "not an object";
		if (!why) {
			r->n_attrs++;
			continue;
		}
		object_error(r, "attributes", i, "%s", why);
		json_decref(a->set);
		a->set = NULL;
	}
	json_array_foreach(json_object_get(root, "events"), i, o) {
		track_event *e = &r->events[r->n_events];
		memset(e, 0, sizeof *e);
		e->index = (int)i;
		why = json_is_object(o) ? parse_event(o, region, now_ms, e, type)
					: "not an object";
		if (!why) {
			r->n_events++;
			continue;
		}
		object_error(r, "events", i, "%s", why);
		free(e->props);
		e->props = NULL;
	}
	json_array_foreach(json_object_get(root, "purchases"), i, o) {
		track_purchase *p = &r->purchases[r->n_purchases];
		memset(p, 0, sizeof *p);
		p->index = (int)i;
		why = json_is_object(o) ? parse_purchase(o, region, now_ms, p,
							 type)
					: "not an object";
		if (!why) {
			r->n_purchases++;
			continue;
		}
		object_error(r, "purchases", i, "%s", why);
		free(p->props);
		p->props = NULL;
	}
	return TRACK_OK;
}

void track_req_free(track_req *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_attrs; i++)
		json_decref(r->attrs[i].set);
	for (size_t i = 0; i < r->n_events; i++)
		free(r->events[i].props);
	for (size_t i = 0; i < r->n_purchases; i++)
		free(r->purchases[i].props);
	json_decref(r->errors);
	json_decref(r->root);
	memset(r, 0, sizeof *r);
}
