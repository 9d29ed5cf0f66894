/* manage: see manage.h. */
#include "work/manage.h"
#include "work/manage_int.h"
#include "core/ident.h"
#include "core/origin.h"
#include "core/phone.h"
#include "core/scope.h"
#include "core/smscfg.h"
#include "lib/clock.h"
#include "lib/secret.h"
#include "work/outbox.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_RATE_LIMIT_MAX 100000000u /* requests a minute */

_Static_assert(ORIGIN_LIST_BYTES <= STORE_ORIGINS_MAX + 1,
	       "an SDK key's longest origin list fits its column");

unsigned manage_http_status(manage_err e)
{
	static const unsigned map[] = {200, 400, 404, 409, 503};

	return (unsigned)e < 5 ? map[e] : 500;
}


manage_err manage_fail(char *err, manage_err code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, MANAGE_ERR_MAX, fmt, ap);
	va_end(ap);
	return code;
}

manage_err manage_store_fail(char *err, store_err e)
{
	if (e == STORE_NOTFOUND)
		return manage_fail(err, MANAGE_NOTFOUND, "not found");
	if (e == STORE_CONFLICT)
		return manage_fail(err, MANAGE_CONFLICT, "already exists");
	return manage_fail(err, MANAGE_STORE, "database error: %s",
		    store_strerror(e));
}

json_t *manage_iso(int64_t ms)
{
	char buf[CLOCK_ISO_MAX];

	clock_iso(ms, buf);
	return json_string(buf);
}

/* Reject members of spec not in the NULL-terminated list. */
manage_err manage_only_fields(json_t *spec, const char *const *known,
			      char *err)
{
	const char *k;
	json_t *v;

	json_object_foreach(spec, k, v) {
		const char *const *p = known;
		while (*p && strcmp(*p, k) != 0)
			p++;
		if (!*p)
			return manage_fail(err, MANAGE_INVALID, "unknown field \"%.64s\"",
				    k);
	}
	return MANAGE_OK;
}

/* ---- keys ---- */

static json_t *origins_json(const char *list)
{
	json_t *arr = json_array();

	for (const char *p = list; *p;) {
		size_t n = strcspn(p, " ");
		if (n)
			json_array_append_new(arr, json_stringn(p, n));
		p += n;
		p += *p == ' ';
	}
	return arr;
}

static json_t *key_json(const store_key *k)
{
	json_t *scopes = json_array();
	uint32_t bit;
	const char *name;

	for (size_t i = 0; (name = scope_name_at(i, &bit)); i++)
		if (k->scopes & bit)
			json_array_append_new(scopes, json_string(name));
	json_t *o = json_pack("{s:I,s:s,s:o,s:I,s:o}", "id", (json_int_t)k->id,
			      "name", k->name, "scopes", scopes, "rate_limit",
			      (json_int_t)k->rate_limit, "created_at",
			      manage_iso(k->created_ms));
	json_object_set_new(o, "revoked_at",
			    k->revoked_ms ? manage_iso(k->revoked_ms) : json_null());
	json_object_set_new(o, "sdk", json_boolean(k->sdk));
	if (k->sdk)
		json_object_set_new(o, "origins", origins_json(k->origins));
	return o;
}

static manage_err parse_scopes(json_t *v, uint32_t *out, char *err)
{
	size_t i;
	json_t *x;

	*out = 0;
	if (!json_is_array(v) || json_array_size(v) == 0)
		return manage_fail(err, MANAGE_INVALID,
			    "scopes must be a non-empty array of scope names");
	json_array_foreach(v, i, x) {
		uint32_t bit = scope_from_name(json_string_value(x));
		if (!bit)
			return manage_fail(err, MANAGE_INVALID,
				    "scopes[%zu] is not a known scope "
				    "(subscription.status.set, "
				    "subscription.status.get, "
				    "subscription.groups.get, users.track, "
				    "admin)", i);
		*out |= bit;
	}
	return MANAGE_OK;
}

/* An SDK key's origins, normalised, into the stored list; no repeats. */
static manage_err parse_origins(json_t *v, store_key *k, char *err)
{
	char one[ORIGIN_MAX + 1];
	size_t i, o = 0;
	json_t *x;

	if (!json_is_array(v) || json_array_size(v) > ORIGIN_LIST_MAX)
		return manage_fail(err, MANAGE_INVALID, "origins must be an "
			    "array of at most %d origins", ORIGIN_LIST_MAX);
	json_array_foreach(v, i, x) {
		const char *s = json_string_value(x);
		const char *why = s ? origin_normalize(s, one)
				    : "must be a string";
		if (why)
			return manage_fail(err, MANAGE_INVALID, "origins[%zu] "
				    "\"%.64s\" %s", i, s ? s : "", why);
		if (origin_listed(k->origins, one))
			continue;
		o += (size_t)snprintf(k->origins + o, sizeof k->origins - o,
				      "%s%s", o ? " " : "", one);
	}
	return MANAGE_OK;
}

/* {"sdk": true, "origins"?}: a public key with no scopes. */
static manage_err sdk_spec(json_t *spec, store_key *k, char *err)
{
	json_t *sdk = json_object_get(spec, "sdk");
	json_t *origins = json_object_get(spec, "origins");

	if (sdk && !json_is_boolean(sdk))
		return manage_fail(err, MANAGE_INVALID, "sdk must be a boolean");
	k->sdk = json_is_true(sdk);
	if (!k->sdk && origins)
		return manage_fail(err, MANAGE_INVALID, "origins are for SDK keys "
			    "only (\"sdk\": true)");
	if (k->sdk && json_object_get(spec, "scopes"))
		return manage_fail(err, MANAGE_INVALID, "an SDK key has no scopes: "
			    "it may only send events and attributes to "
			    "/api/v3/data/");
	return origins ? parse_origins(origins, k, err) : MANAGE_OK;
}

static manage_err key_spec(json_t *spec, store_key *k, char *err)
{
	static const char *const known[] = {"name", "scopes", "rate_limit",
					    "sdk", "origins", NULL};
	json_t *name = json_object_get(spec, "name");
	json_t *rate = json_object_get(spec, "rate_limit");
	const char *why;
	manage_err m;

	if ((m = manage_only_fields(spec, known, err)))
		return m;
	if (!json_is_string(name))
		return manage_fail(err, MANAGE_INVALID, "name is required and must be "
			    "a string");
	if ((why = ident_check_name(json_string_value(name))))
		return manage_fail(err, MANAGE_INVALID, "name %s", why);
	snprintf(k->name, sizeof k->name, "%s", json_string_value(name));
	if ((m = sdk_spec(spec, k, err)))
		return m;
	if (!k->sdk && (m = parse_scopes(json_object_get(spec, "scopes"),
					 &k->scopes, err)))
		return m;
	if (rate && (!json_is_integer(rate) || json_integer_value(rate) < 0 ||
		     json_integer_value(rate) > KEY_RATE_LIMIT_MAX))
		return manage_fail(err, MANAGE_INVALID, "rate_limit must be an integer"
			    " from 0 (Braze defaults) to %u", KEY_RATE_LIMIT_MAX);
	k->rate_limit = rate ? (uint32_t)json_integer_value(rate) : 0;
	return MANAGE_OK;
}

manage_err manage_key_create(store *st, json_t *spec, int64_t now_ms,
			     json_t **out, char err[MANAGE_ERR_MAX])
{
	char token[SECRET_TOKEN_MAX];
	store_key k;
	store_err e;
	manage_err m;

	memset(&k, 0, sizeof k);
	*out = NULL;
	if (!json_is_object(spec))
		return manage_fail(err, MANAGE_INVALID, "body must be a JSON object");
	if ((m = key_spec(spec, &k, err)))
		return m;
	if (secret_token(token) != 0)
		return manage_fail(err, MANAGE_STORE, "no randomness available");
	/* "optd_sdk_…": whoever finds it in a page's source can tell it is
	 * the public kind. */
	if (k.sdk) {
		memmove(token + 9, token + 5, strlen(token + 5) + 1);
		memcpy(token + 5, "sdk_", 4);
	}
	secret_sha256_hex(token, strlen(token), k.hash);
	k.created_ms = now_ms;
	e = store_key_insert(st, &k);
	if (e == STORE_CONFLICT)
		return manage_fail(err, MANAGE_CONFLICT, "a live key named \"%s\" "
			    "already exists", k.name);
	if (e)
		return manage_store_fail(err, e);
	*out = key_json(&k);
	json_object_set_new(*out, "key", json_string(token));
	return MANAGE_OK;
}

static int key_add(void *ctx, const store_key *k)
{
	json_array_append_new(ctx, key_json(k));
	return 0;
}

manage_err manage_key_list(store *st, json_t **out, char err[MANAGE_ERR_MAX])
{
	json_t *list = json_array();
	store_err e = store_key_list(st, key_add, list);

	*out = NULL;
	if (e) {
		json_decref(list);
		return manage_store_fail(err, e);
	}
	*out = json_pack("{s:o}", "api_keys", list);
	return MANAGE_OK;
}

manage_err manage_key_revoke(store *st, const char *which, int64_t now_ms,
			     char err[MANAGE_ERR_MAX])
{
	char *end;
	long long id = strtoll(which, &end, 10);
	store_key k;
	store_err e;

	if (*which && !*end)
		e = store_key_get(st, id, &k);
	else
		e = store_key_by_name(st, which, &k);
	if (e == STORE_NOTFOUND || (!e && k.revoked_ms))
		return manage_fail(err, MANAGE_NOTFOUND, "no live API key \"%.64s\"",
			    which);
	if (e)
		return manage_store_fail(err, e);
	e = store_key_revoke(st, k.id, now_ms);
	return e ? manage_store_fail(err, e) : MANAGE_OK;
}

manage_err manage_key_ensure(store *st, const char *name, const char *token,
			     uint32_t scopes, int64_t now_ms,
			     char err[MANAGE_ERR_MAX])
{
	char hash[SECRET_HASH_HEX + 1];
	store_key k;
	store_err e;

	secret_sha256_hex(token, strlen(token), hash);
	e = store_key_by_name(st, name, &k);
	if (!e && secret_equal(k.hash, hash, SECRET_HASH_HEX) &&
	    k.scopes == scopes)
		return MANAGE_OK;
	if (!e)
		e = store_key_revoke(st, k.id, now_ms);
	if (e && e != STORE_NOTFOUND)
		return manage_store_fail(err, e);
	memset(&k, 0, sizeof k);
	snprintf(k.name, sizeof k.name, "%s", name);
	memcpy(k.hash, hash, sizeof k.hash);
	k.scopes = scopes;
	k.created_ms = now_ms;
	e = store_key_insert(st, &k);
	return e ? manage_store_fail(err, e) : MANAGE_OK;
}

/* ---- subscription groups ---- */

typedef struct {
	char list[STORE_NUMBERS_MAX][PHONE_E164_MAX + 1];
	size_t n;
	int given;
} numbers;

static int number_add(void *ctx, const char *number)
{
	json_array_append_new(ctx, json_string(number));
	return 0;
}

static manage_err group_json(store *st, const store_group *g, json_t **out,
			     char *err)
{
	json_t *nums = json_array();
	store_err e = store_group_numbers(st, g->id, number_add, nums);

	if (e) {
		json_decref(nums);
		return manage_store_fail(err, e);
	}
	*out = json_pack("{s:s,s:s,s:s,s:o,s:b,s:o,s:o}", "id", g->id, "name",
			 g->name, "channel", consent_channel_name(g->channel),
			 "numbers", nums, "double_opt_in", g->double_opt_in,
			 "created_at", manage_iso(g->created_ms), "updated_at",
			 manage_iso(g->updated_ms));
	return MANAGE_OK;
}

/* A sending number: a 5-6 digit short code, or a phone number in E.164. */
static manage_err parse_number(const char *raw, const char *region,
			       char out[PHONE_E164_MAX + 1], char *err)
{
	phone_info p;
	phone_err pe;

	if (phone_is_short_code(raw, strlen(raw))) {
		snprintf(out, PHONE_E164_MAX + 1, "%s", raw);
		return MANAGE_OK;
	}
	pe = phone_normalize(raw, strlen(raw), region, &p);
	if (pe)
		return manage_fail(err, MANAGE_INVALID, "numbers: \"%.64s\" %s (a "
			    "sending number is a phone number or a short code"
			    " of 5 or 6 digits)", raw, phone_strerror(pe));
	snprintf(out, PHONE_E164_MAX + 1, "%s", p.e164);
	return MANAGE_OK;
}

static manage_err parse_numbers(json_t *v, const char *region, numbers *ns,
				char *err)
{
	size_t i;
	json_t *x;
	manage_err m;

	ns->n = 0;
	ns->given = v != NULL;
	if (!v)
		return MANAGE_OK;
	if (!json_is_array(v))
		return manage_fail(err, MANAGE_INVALID,
			    "numbers must be an array of strings");
	if (json_array_size(v) > STORE_NUMBERS_MAX)
		return manage_fail(err, MANAGE_INVALID, "numbers has more than %d "
			    "entries", STORE_NUMBERS_MAX);
	json_array_foreach(v, i, x) {
		if (!json_is_string(x))
			return manage_fail(err, MANAGE_INVALID,
				    "numbers[%zu] must be a string", i);
		if ((m = parse_number(json_string_value(x), region,
				      ns->list[ns->n], err)))
			return m;
		for (size_t k = 0; k < ns->n; k++)
			if (strcmp(ns->list[k], ns->list[ns->n]) == 0)
				return manage_fail(err, MANAGE_INVALID, "numbers "
					    "lists %s twice", ns->list[k]);
		ns->n++;
	}
	return MANAGE_OK;
}

static manage_err put_numbers(store *st, const store_group *g,
			      const numbers *ns, char *err)
{
	char owner[IDENT_GROUP_ID_MAX + 1];
	store_err e;

	if (!ns->given)
		return MANAGE_OK;
	if (ns->n && g->channel != CHANNEL_SMS)
		return manage_fail(err, MANAGE_INVALID, "numbers: an e-mail group has "
			    "no sending numbers");
	e = store_numbers_clear(st, g->id);
	for (size_t i = 0; !e && i < ns->n; i++) {
		e = store_number_add(st, ns->list[i], g->id);
		if (e == STORE_CONFLICT &&
		    store_number_owner(st, ns->list[i], owner) == STORE_OK)
			return manage_fail(err, MANAGE_CONFLICT, "number %s already "
				    "belongs to subscription group %s",
				    ns->list[i], owner);
	}
	return e ? manage_store_fail(err, e) : MANAGE_OK;
}

/* name and double_opt_in, shared by create and update. */
static manage_err group_fields(json_t *spec, store_group *g, char *err)
{
	json_t *name = json_object_get(spec, "name");
	json_t *doi = json_object_get(spec, "double_opt_in");
	const char *why;

	if (name) {
		if (!json_is_string(name))
			return manage_fail(err, MANAGE_INVALID, "name must be a string");
		if ((why = ident_check_name(json_string_value(name))))
			return manage_fail(err, MANAGE_INVALID, "name %s", why);
		snprintf(g->name, sizeof g->name, "%s", json_string_value(name));
	}
	if (doi) {
		if (!json_is_boolean(doi))
			return manage_fail(err, MANAGE_INVALID,
				    "double_opt_in must be true or false");
		g->double_opt_in = json_is_true(doi);
	}
	return MANAGE_OK;
}

manage_err manage_group_create(store *st, json_t *spec, const char *region,
			       int64_t now_ms, json_t **out,
			       char err[MANAGE_ERR_MAX])
{
	static const char *const known[] = {"id", "name", "channel", "numbers",
					    "double_opt_in", NULL};
	json_t *id = json_object_get(spec, "id");
	json_t *ch = json_object_get(spec, "channel");
	numbers *ns = NULL;
	store_group g;
	store_err e;
	manage_err m;
	const char *why;

	*out = NULL;
	memset(&g, 0, sizeof g);
	if (!json_is_object(spec))
		return manage_fail(err, MANAGE_INVALID, "body must be a JSON object");
	if ((m = manage_only_fields(spec, known, err)))
		return m;
	if (!json_object_get(spec, "name"))
		return manage_fail(err, MANAGE_INVALID, "name is required");
	if (!ch || consent_channel_parse(json_string_value(ch), &g.channel))
		return manage_fail(err, MANAGE_INVALID,
			    "channel must be \"sms\" or \"email\"");
	if (id && !json_is_string(id))
		return manage_fail(err, MANAGE_INVALID, "id must be a string");
	if (id && (why = ident_check_group_id(json_string_value(id))))
		return manage_fail(err, MANAGE_INVALID, "id %s", why);
	if (id)
		snprintf(g.id, sizeof g.id, "%s", json_string_value(id));
	else if (secret_uuid(g.id) != 0)
		return manage_fail(err, MANAGE_STORE, "no randomness available");
	if ((m = group_fields(spec, &g, err)))
		return m;
	ns = calloc(1, sizeof *ns);
	if (!ns)
		return manage_fail(err, MANAGE_STORE, "out of memory");
	m = parse_numbers(json_object_get(spec, "numbers"), region, ns, err);
	if (m)
		goto out;
	g.created_ms = g.updated_ms = now_ms;
	e = store_group_insert(st, &g);
	if (e == STORE_CONFLICT) {
		m = manage_fail(err, MANAGE_CONFLICT, "subscription group \"%s\" "
			 "already exists", g.id);
		goto out;
	}
	m = e ? manage_store_fail(err, e) : put_numbers(st, &g, ns, err);
	if (!m)
		m = group_json(st, &g, out, err);
out:
	free(ns);
	return m;
}

manage_err manage_group_update(store *st, const char *id, json_t *spec,
			       const char *region, int64_t now_ms,
			       json_t **out, char err[MANAGE_ERR_MAX])
{
	static const char *const known[] = {"name", "numbers", "double_opt_in",
					    "channel", "id", NULL};
	numbers *ns = NULL;
	store_group g;
	store_err e;
	manage_err m;
	json_t *v;

	*out = NULL;
	if (!json_is_object(spec))
		return manage_fail(err, MANAGE_INVALID, "body must be a JSON object");
	if ((m = manage_only_fields(spec, known, err)))
		return m;
	e = store_group_get(st, id, &g);
	if (e == STORE_NOTFOUND)
		return manage_fail(err, MANAGE_NOTFOUND, "no subscription group "
			    "\"%.64s\"", id);
	if (e)
		return manage_store_fail(err, e);
	if ((v = json_object_get(spec, "channel")) &&
	    (!json_is_string(v) ||
	     strcmp(json_string_value(v), consent_channel_name(g.channel))))
		return manage_fail(err, MANAGE_INVALID, "channel cannot be changed");
	if ((v = json_object_get(spec, "id")) &&
	    (!json_is_string(v) || strcmp(json_string_value(v), g.id)))
		return manage_fail(err, MANAGE_INVALID, "id cannot be changed");
	if ((m = group_fields(spec, &g, err)))
		return m;
	ns = calloc(1, sizeof *ns);
	if (!ns)
		return manage_fail(err, MANAGE_STORE, "out of memory");
	m = parse_numbers(json_object_get(spec, "numbers"), region, ns, err);
	if (m)
		goto out;
	g.updated_ms = now_ms;
	e = store_group_update(st, &g);
	m = e ? manage_store_fail(err, e) : put_numbers(st, &g, ns, err);
	if (!m)
		m = group_json(st, &g, out, err);
out:
	free(ns);
	return m;
}

manage_err manage_group_get(store *st, const char *id, json_t **out,
			    char err[MANAGE_ERR_MAX])
{
	store_group g;
	store_err e = store_group_get(st, id, &g);

	*out = NULL;
	if (e == STORE_NOTFOUND)
		return manage_fail(err, MANAGE_NOTFOUND, "no subscription group "
			    "\"%.64s\"", id);
	if (e)
		return manage_store_fail(err, e);
	return group_json(st, &g, out, err);
}

typedef struct {
	store *st;
	json_t *list;
	manage_err m;
	char *err;
} group_iter;

static int group_add(void *ctx, const store_group *g)
{
	group_iter *it = ctx;
	json_t *o;

	it->m = group_json(it->st, g, &o, it->err);
	if (it->m)
		return 1;
	json_array_append_new(it->list, o);
	return 0;
}

manage_err manage_group_list(store *st, json_t **out,
			     char err[MANAGE_ERR_MAX])
{
	group_iter it = {st, json_array(), MANAGE_OK, err};
	store_err e = store_group_list(st, group_add, &it);

	*out = NULL;
	if (e || it.m) {
		json_decref(it.list);
		return e ? manage_store_fail(err, e) : it.m;
	}
	*out = json_pack("{s:o}", "subscription_groups", it.list);
	return MANAGE_OK;
}

/* ---- consent ledger ---- */

static int ledger_add(void *ctx, const store_ledger *e)
{
	json_t *ev = e->evidence[0] ? json_loads(e->evidence, 0, NULL) : NULL;
	json_t *o = json_pack(
		"{s:I,s:o,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id",
		(json_int_t)e->id, "time", manage_iso(e->time_ms), "user_id",
		(json_int_t)e->user_id, "group_id", e->group_id, "from",
		consent_state_name(e->old_state), "to",
		consent_state_name(e->new_state), "source",
		consent_source_name(e->source), "key_name", e->key_name,
		"request_id", e->request_id, "client_addr", e->client_addr);

	json_object_set_new(o, "external_id", e->external_id[0]
			    ? json_string(e->external_id) : json_null());
	json_object_set_new(o, "phone", e->phone[0] ? json_string(e->phone)
			    : json_null());
	json_object_set_new(o, "email", e->email[0] ? json_string(e->email)
			    : json_null());
	json_object_set_new(o, "evidence", ev ? ev : json_object());
	json_array_append_new(ctx, o);
	return 0;
}

manage_err manage_consent(store *st, const char *by, const char *value,
			  const char *region, int64_t after_id, size_t limit,
			  json_t **out, char err[MANAGE_ERR_MAX])
{
	char key[IDENT_EXTERNAL_ID_MAX + 1];
	store_by kind;
	phone_info p;
	phone_err pe;
	json_t *list;
	store_err e;

	*out = NULL;
	if (!value || !*value)
		return manage_fail(err, MANAGE_INVALID, "one of phone, email or "
			    "external_id is required");
	if (limit == 0 || limit > MANAGE_LEDGER_PAGE_MAX)
		limit = MANAGE_LEDGER_PAGE_MAX;
	snprintf(key, sizeof key, "%s", value);
	if (strcmp(by, "phone") == 0) {
		kind = STORE_BY_PHONE;
		pe = phone_normalize(value, strlen(value), region, &p);
		if (pe)
			return manage_fail(err, MANAGE_INVALID, "phone \"%.64s\" %s",
				    value, phone_strerror(pe));
		snprintf(key, sizeof key, "%s", p.e164);
	} else if (strcmp(by, "email") == 0) {
		kind = STORE_BY_EMAIL;
		ident_email_normalize(key);
	} else if (strcmp(by, "external_id") == 0) {
		kind = STORE_BY_EXTERNAL_ID;
	} else {
		return manage_fail(err, MANAGE_INVALID, "unknown lookup \"%.32s\"", by);
	}
	list = json_array();
	e = store_ledger_find(st, kind, key, after_id, limit, ledger_add, list);
	if (e) {
		json_decref(list);
		return manage_store_fail(err, e);
	}
	*out = json_pack("{s:o}", "consent", list);
	return MANAGE_OK;
}

/* ---- SMS settings and the outbox ---- */

manage_err manage_group_sms_set(store *st, const char *id, json_t *spec,
				int64_t now_ms, json_t **out,
				char err[MANAGE_ERR_MAX])
{
	char cerr[SMSCFG_ERR_MAX];
	smscfg *cfg = NULL;
	store_group g;
	store_err e;
	char *text;

	*out = NULL;
	e = store_group_get(st, id, &g);
	if (e == STORE_NOTFOUND)
		return manage_fail(err, MANAGE_NOTFOUND, "no subscription group "
			    "\"%.64s\"", id);
	if (e)
		return manage_store_fail(err, e);
	text = json_dumps(spec, JSON_COMPACT);
	if (!text)
		return manage_fail(err, MANAGE_STORE, "out of memory");
	if (strlen(text) > STORE_SMS_CONFIG_MAX) {
		free(text);
		return manage_fail(err, MANAGE_INVALID, "SMS settings are larger than "
			    "%d bytes", STORE_SMS_CONFIG_MAX);
	}
	if (smscfg_parse(text, strlen(text), g.name, &cfg, cerr)) {
		free(text);
		return manage_fail(err, MANAGE_INVALID, "%s", cerr);
	}
	smscfg_free(cfg);
	e = store_group_sms_set(st, id, text, now_ms);
	free(text);
	if (e)
		return manage_store_fail(err, e);
	*out = json_incref(spec);
	return MANAGE_OK;
}

manage_err manage_group_sms_get(store *st, const char *id, json_t **out,
				char err[MANAGE_ERR_MAX])
{
	char *text = NULL;
	store_err e = store_group_sms_get(st, id, &text);

	*out = NULL;
	if (e == STORE_NOTFOUND)
		return manage_fail(err, MANAGE_NOTFOUND, "no subscription group "
			    "\"%.64s\"", id);
	if (e)
		return manage_store_fail(err, e);
	*out = text[0] ? json_loads(text, 0, NULL) : json_object();
	free(text);
	return *out ? MANAGE_OK
		    : manage_fail(err, MANAGE_STORE, "stored SMS settings unreadable");
}

static json_t *message_json(const store_outbox *m)
{
	json_t *o = json_pack(
		"{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:i,s:o,s:o}",
		"id", (json_int_t)m->id, "group_id", m->group_id, "to", m->to,
		"from", m->from, "kind", m->kind, "state",
		store_out_state_name(m->state), "body", m->body, "provider",
		m->provider, "provider_id", m->provider_id, "attempts",
		m->attempts, "error", m->error, "encoding", m->encoding,
		"segments", m->segments, "created_at", manage_iso(m->created_ms),
		"updated_at", manage_iso(m->updated_ms));

	if (o && m->inbound_id)
		json_object_set_new(o, "in_reply_to",
				    json_integer(m->inbound_id));
	if (o && m->state == STORE_OUT_QUEUED)
		json_object_set_new(o, "next_attempt_at", manage_iso(m->next_ms));
	return o;
}

static int message_add(void *ctx, const store_outbox *m)
{
	return json_array_append_new(ctx, message_json(m)) != 0;
}

manage_err manage_messages(store *st, const char *state, const char *to,
			   const char *region, int64_t after_id, size_t limit,
			   json_t **out, char err[MANAGE_ERR_MAX])
{
	char num[PHONE_E164_MAX + 1] = "";
	store_out_state s = 0;
	json_t *list;
	store_err e;

	*out = NULL;
	if (state && store_out_state_parse(state, &s))
		return manage_fail(err, MANAGE_INVALID, "state must be queued, "
			    "sending, sent, delivered, failed or rejected");
	if (to && *to && parse_number(to, region, num, err))
		return MANAGE_INVALID;
	if (limit == 0 || limit > MANAGE_MESSAGES_PAGE_MAX)
		limit = MANAGE_MESSAGES_PAGE_MAX;
	list = json_array();
	e = store_outbox_list(st, after_id, limit, state ? (int)s : -1, num,
			      message_add, list);
	if (e) {
		json_decref(list);
		return manage_store_fail(err, e);
	}
	*out = json_pack("{s:o}", "messages", list);
	return MANAGE_OK;
}

manage_err manage_message_get(store *st, int64_t id, json_t **out,
			      char err[MANAGE_ERR_MAX])
{
	store_outbox m;
	store_err e = store_outbox_get(st, id, &m);

	*out = NULL;
	if (e == STORE_NOTFOUND)
		return manage_fail(err, MANAGE_NOTFOUND, "no message %lld",
			    (long long)id);
	if (e)
		return manage_store_fail(err, e);
	*out = message_json(&m);
	return MANAGE_OK;
}

manage_err manage_message_send(store *st, json_t *spec, const char *region,
			       int64_t now_ms, json_t **out,
			       char err[MANAGE_ERR_MAX])
{
	static const char *const known[] = {"group_id", "to", "body", NULL};
	const char *group, *to, *body;
	char from[STORE_ADDR_MAX + 1] = "";
	store_outbox o;
	store_group g;
	phone_info p;
	store_err e;

	*out = NULL;
	if (manage_only_fields(spec, known, err))
		return MANAGE_INVALID;
	group = json_string_value(json_object_get(spec, "group_id"));
	to = json_string_value(json_object_get(spec, "to"));
	body = json_string_value(json_object_get(spec, "body"));
	if (!group || !to || !body)
		return manage_fail(err, MANAGE_INVALID, "group_id, to and body are "
			    "required strings");
	if (!*body || strlen(body) > STORE_SMS_BODY_MAX)
		return manage_fail(err, MANAGE_INVALID, "body must hold 1 to %d bytes",
			    STORE_SMS_BODY_MAX);
	if (phone_normalize(to, strlen(to), region, &p))
		return manage_fail(err, MANAGE_INVALID, "to: \"%.64s\" is not a "
			    "phone number", to);
	e = store_group_get(st, group, &g);
	if (!e)
		e = outbox_group_number(st, group, from);
	if (e == STORE_NOTFOUND)
		return manage_fail(err, MANAGE_INVALID, "group_id: no subscription "
			    "group \"%.64s\"", group);
	outbox_msg om = {
		.group_id = group,
		.to = p.e164,
		.from = from,
		.kind = OUTBOX_KIND_MESSAGE,
		.body = body,
		.now_ms = now_ms,
	};
	if (!e)
		e = outbox_queue(st, &om, &o);
	if (e)
		return manage_store_fail(err, e);
	*out = message_json(&o);
	return MANAGE_OK;
}
