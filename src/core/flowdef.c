/* flowdef: see flowdef.h. */
#include "core/flowdef.h"
#include "lib/utf8.h"

#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum { AUD_ALL, AUD_ANY, AUD_ATTR, AUD_SUBSCRIBED,
	       AUD_NOT_SUBSCRIBED, AUD_PHONE_VALID } aud_kind;
typedef enum { OP_BLANK, OP_NOT_BLANK, OP_EQUALS, OP_CONTAINS } aud_op;

typedef struct aud {
	aud_kind kind;
	aud_op op;
	char name[FLOW_NAME_MAX + 1]; /* attribute, or group */
	char *value;
	int want;                      /* phone_valid */
	struct aud *kids;
	size_t n;
} aud;

struct flowdef {
	char id[FLOW_ID_MAX + 1];
	char name[IDENT_NAME_MAX + 1];
	char event[FLOW_NAME_MAX + 1];
	char group[IDENT_GROUP_ID_MAX + 1];
	regex_t pattern;
	int has_pattern;
	int reentry;
	aud *audience; /* NULL: everyone */
	size_t n_steps;
	flow_step steps[FLOW_STEPS_MAX];
};

static int fail(char err[FLOW_ERR_MAX], const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(char err[FLOW_ERR_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, FLOW_ERR_MAX, fmt, ap);
	va_end(ap);
	utf8_clean(err);
	return -1;
}

/* Members of o not in the NULL-terminated list are errors. */
static int only(json_t *o, const char *path, const char *const *known,
		char err[FLOW_ERR_MAX])
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		size_t i = 0;
		while (known[i] && strcmp(known[i], k) != 0)
			i++;
		if (!known[i])
			return fail(err, "%s: unknown field \"%.64s\"", path, k);
	}
	return 0;
}

static int string_field(json_t *o, const char *key, const char *path,
			size_t max, int required, const char **out,
			char err[FLOW_ERR_MAX])
{
	json_t *v = json_object_get(o, key);

	*out = json_string_value(v);
	if (!v && !required)
		return 0;
	if (!*out || !**out || strlen(*out) > max)
		return fail(err, "%s.%s must be a string of 1 to %zu bytes",
			    path, key, max);
	return 0;
}

static int compile(const char *src, const char *path, tpl **out,
		   char err[FLOW_ERR_MAX])
{
	char terr[TPL_ERR_MAX];

	if (tpl_compile(src, strlen(src), out, terr) != TPL_OK)
		return fail(err, "%s: %s", path, terr);
	return 0;
}

/* ---- audience ---- */

static void aud_free(aud *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++)
		aud_free(&a->kids[i]);
	free(a->kids);
	free(a->value);
}

static int parse_aud(json_t *o, const char *path, int depth, size_t *count,
		     aud *a, char err[FLOW_ERR_MAX]);

static int parse_group(json_t *arr, const char *path, int depth,
		       size_t *count, aud *a, char err[FLOW_ERR_MAX])
{
	char p[FLOW_ERR_MAX];
	size_t i;
	json_t *x;

	if (depth >= FLOW_AUDIENCE_DEPTH_MAX)
		return fail(err, "%s: nested more than %d deep", path,
			    FLOW_AUDIENCE_DEPTH_MAX);
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return fail(err, "%s must be a non-empty array of conditions",
			    path);
	a->kids = calloc(json_array_size(arr), sizeof *a->kids);
	if (!a->kids)
		return fail(err, "out of memory");
	json_array_foreach(arr, i, x) {
		snprintf(p, sizeof p, "%.400s[%zu]", path, i);
		a->n = i + 1;
		if (parse_aud(x, p, depth + 1, count, &a->kids[i], err))
			return -1;
	}
	return 0;
}

static int parse_cond(json_t *o, const char *path, aud *a,
		      char err[FLOW_ERR_MAX])
{
	static const char *const ops[] = {"is_blank", "is_not_blank",
					  "equals", "contains"};
	static const char *const known[] = {"attribute", "op", "value", NULL};
	const char *name, *op, *value;
	size_t i = 0;

	if (only(o, path, known, err) ||
	    string_field(o, "attribute", path, FLOW_NAME_MAX, 1, &name, err) ||
	    string_field(o, "op", path, 16, 1, &op, err))
		return -1;
	while (i < 4 && strcmp(ops[i], op) != 0)
		i++;
	if (i == 4)
		return fail(err, "%s.op must be is_blank, is_not_blank, equals "
			    "or contains", path);
	a->kind = AUD_ATTR;
	a->op = (aud_op)i;
	snprintf(a->name, sizeof a->name, "%s", name);
	value = json_string_value(json_object_get(o, "value"));
	if ((a->op >= OP_EQUALS) != (value != NULL))
		return fail(err, "%s.value: %s", path, a->op >= OP_EQUALS
			    ? "equals and contains need a string value"
			    : "is_blank and is_not_blank take no value");
	if (value && !(a->value = strdup(value)))
		return fail(err, "out of memory");
	return 0;
}

static int parse_aud(json_t *o, const char *path, int depth, size_t *count,
		     aud *a, char err[FLOW_ERR_MAX])
{
	json_t *v;

	if (!json_is_object(o) || json_object_size(o) == 0)
		return fail(err, "%s must be a condition object", path);
	if (++*count > FLOW_CONDS_MAX)
		return fail(err, "%s: more than %d conditions", path,
			    FLOW_CONDS_MAX);
	if ((v = json_object_get(o, "all")) || (v = json_object_get(o, "any"))) {
		a->kind = json_object_get(o, "all") ? AUD_ALL : AUD_ANY;
		if (json_object_size(o) != 1)
			return fail(err, "%s: all or any stands alone", path);
		char p[FLOW_ERR_MAX];
		snprintf(p, sizeof p, "%.400s.%s", path,
			 a->kind == AUD_ALL ? "all" : "any");
		return parse_group(v, p, depth, count, a, err);
	}
	if ((v = json_object_get(o, "subscribed")) ||
	    (v = json_object_get(o, "not_subscribed"))) {
		a->kind = json_object_get(o, "subscribed") ? AUD_SUBSCRIBED
							   : AUD_NOT_SUBSCRIBED;
		const char *g = json_string_value(v);
		if (json_object_size(o) != 1 || !g || ident_check_group_id(g))
			return fail(err, "%s: subscribed / not_subscribed take "
				    "a subscription group id", path);
		snprintf(a->name, sizeof a->name, "%s", g);
		return 0;
	}
	if ((v = json_object_get(o, "phone_valid"))) {
		if (json_object_size(o) != 1 || !json_is_boolean(v))
			return fail(err, "%s.phone_valid must be true or false",
				    path);
		a->kind = AUD_PHONE_VALID;
		a->want = json_is_true(v);
		return 0;
	}
	return parse_cond(o, path, a, err);
}

/* A value as text for equals/contains; NULL for blank ones. */
static int blank(const json_t *v)
{
	return !v || json_is_null(v) ||
	       (json_is_string(v) && !*json_string_value(v)) ||
	       (json_is_array(v) && json_array_size(v) == 0);
}

static int equals(const json_t *v, const char *want)
{
	char buf[64];

	if (json_is_string(v))
		return strcmp(json_string_value(v), want) == 0;
	if (json_is_integer(v))
		snprintf(buf, sizeof buf, "%lld",
			 (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, sizeof buf, "%.17g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, sizeof buf, "%s", json_is_true(v) ? "true"
								 : "false");
	else
		return 0;
	return strcmp(buf, want) == 0;
}

static int contains(const json_t *v, const char *want)
{
	size_t i;
	json_t *x;

	if (json_is_string(v))
		return strstr(json_string_value(v), want) != NULL;
	json_array_foreach((json_t *)v, i, x)
		if (equals(x, want))
			return 1;
	return 0;
}

static int aud_eval(const aud *a, const flow_user *u)
{
	const json_t *v;
	int r;

	switch (a->kind) {
	case AUD_ALL:
	case AUD_ANY:
		for (size_t i = 0; i < a->n; i++) {
			r = aud_eval(&a->kids[i], u);
			if (r < 0 || r == (a->kind == AUD_ANY))
				return r;
		}
		return a->kind == AUD_ALL;
	case AUD_SUBSCRIBED:
	case AUD_NOT_SUBSCRIBED:
		r = u->subscribed(u->ctx, a->name);
		return r < 0 ? r : r == (a->kind == AUD_SUBSCRIBED);
	case AUD_PHONE_VALID:
		return !!u->phone_valid == a->want;
	default:
		v = u->attr(u->ctx, a->name);
		switch (a->op) {
		case OP_BLANK: return blank(v);
		case OP_NOT_BLANK: return !blank(v);
		case OP_EQUALS: return v && equals(v, a->value);
		default: return v && contains(v, a->value);
		}
	}
}

int flowdef_audience(const flowdef *f, const flow_user *u)
{
	return f->audience ? aud_eval(f->audience, u) : 1;
}

/* ---- steps ---- */

static int parse_headers(json_t *h, const char *path, flow_step *s,
			 char err[FLOW_ERR_MAX])
{
	char p[FLOW_ERR_MAX];
	const char *k;
	json_t *v;

	if (!h)
		return 0;
	if (!json_is_object(h) || json_object_size(h) > FLOW_HEADERS_MAX)
		return fail(err, "%s.headers must be an object of at most %d "
			    "name: value", path, FLOW_HEADERS_MAX);
	json_object_foreach(h, k, v) {
		flow_header *fh = &s->headers[s->n_headers];
		snprintf(p, sizeof p, "%.300s.headers.%.64s", path, k);
		if (!*k || strlen(k) > FLOW_HEADER_NAME_MAX ||
		    strcspn(k, ":\r\n \t") != strlen(k) || !json_is_string(v))
			return fail(err, "%s: a header is a token name with a "
				    "string value", p);
		if (strpbrk(json_string_value(v), "\r\n"))
			return fail(err, "%s: a header value is one line", p);
		snprintf(fh->name, sizeof fh->name, "%s", k);
		s->n_headers++;
		if (compile(json_string_value(v), p, &fh->value, err))
			return -1;
		if (!strcasecmp(k, "Content-Type") &&
		    strstr(json_string_value(v), "json"))
			s->json_body = 1;
	}
	return 0;
}

static int parse_webhook(json_t *o, const char *path, flow_step *s,
			 char err[FLOW_ERR_MAX])
{
	static const char *const known[] = {"type", "method", "url", "headers",
					    "body", NULL};
	static const char *const methods[] = {"GET", "POST", "PUT", "PATCH",
					      "DELETE", NULL};
	const char *method = "POST", *url, *body;
	char p[FLOW_ERR_MAX];
	size_t i = 0;

	if (only(o, path, known, err) ||
	    string_field(o, "method", path, 7, 0, &method, err) ||
	    string_field(o, "url", path, 2048, 1, &url, err) ||
	    string_field(o, "body", path, 65536, 0, &body, err))
		return -1;
	if (!method)
		method = "POST";
	while (methods[i] && strcmp(methods[i], method) != 0)
		i++;
	if (!methods[i])
		return fail(err, "%s.method must be GET, POST, PUT, PATCH or "
			    "DELETE", path);
	snprintf(s->method, sizeof s->method, "%s", method);
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8) &&
	    strncmp(url, "{{", 2))
		return fail(err, "%s.url must be an http:// or https:// URL",
			    path);
	snprintf(p, sizeof p, "%.400s.url", path);
	if (compile(url, p, &s->url, err) ||
	    parse_headers(json_object_get(o, "headers"), path, s, err))
		return -1;
	snprintf(p, sizeof p, "%.400s.body", path);
	return body ? compile(body, p, &s->body, err) : 0;
}

static int parse_sms(json_t *o, const char *path, flow_step *s,
		     char err[FLOW_ERR_MAX])
{
	static const char *const known[] = {"type", "group_id", "body", NULL};
	const char *g, *body;
	char p[FLOW_ERR_MAX];

	if (only(o, path, known, err) ||
	    string_field(o, "group_id", path, IDENT_GROUP_ID_MAX, 1, &g, err) ||
	    string_field(o, "body", path, 6400, 1, &body, err))
		return -1;
	snprintf(s->group_id, sizeof s->group_id, "%s", g);
	snprintf(p, sizeof p, "%.400s.body", path);
	return compile(body, p, &s->text, err);
}

static int parse_update(json_t *o, const char *path, flow_step *s,
			char err[FLOW_ERR_MAX])
{
	static const char *const known[] = {"type", "attributes",
					    "subscription", NULL};
	json_t *attrs = json_object_get(o, "attributes");
	json_t *sub = json_object_get(o, "subscription");
	const char *g, *state;
	char p[FLOW_ERR_MAX];

	if (only(o, path, known, err))
		return -1;
	if (!attrs && !sub)
		return fail(err, "%s needs attributes or subscription", path);
	if (attrs && !json_is_object(attrs))
		return fail(err, "%s.attributes must be an object", path);
	if (attrs)
		s->attributes = json_incref(attrs);
	if (!sub)
		return 0;
	snprintf(p, sizeof p, "%.400s.subscription", path);
	if (!json_is_object(sub) ||
	    string_field(sub, "group_id", p, IDENT_GROUP_ID_MAX, 1, &g, err) ||
	    string_field(sub, "state", p, 16, 1, &state, err))
		return json_is_object(sub) ? -1 : fail(err, "%s must be an "
						       "object", p);
	if (consent_state_parse(state, &s->sub_state))
		return fail(err, "%s.state must be subscribed or unsubscribed",
			    p);
	snprintf(s->sub_group, sizeof s->sub_group, "%s", g);
	s->has_subscription = 1;
	return 0;
}

static int parse_step(json_t *o, const char *path, flow_step *s,
		      char err[FLOW_ERR_MAX])
{
	const char *type;

	if (!json_is_object(o))
		return fail(err, "%s must be an object", path);
	if (string_field(o, "type", path, 16, 1, &type, err))
		return -1;
	if (!strcmp(type, "webhook")) {
		s->kind = FLOW_STEP_WEBHOOK;
		return parse_webhook(o, path, s, err);
	}
	if (!strcmp(type, "sms")) {
		s->kind = FLOW_STEP_SMS;
		return parse_sms(o, path, s, err);
	}
	if (!strcmp(type, "user_update")) {
		s->kind = FLOW_STEP_USER_UPDATE;
		return parse_update(o, path, s, err);
	}
	if (strcmp(type, "delay"))
		return fail(err, "%s.type must be webhook, sms, delay or "
			    "user_update", path);
	static const char *const known[] = {"type", "seconds", NULL};
	json_t *sec = json_object_get(o, "seconds");
	s->kind = FLOW_STEP_DELAY;
	if (only(o, path, known, err))
		return -1;
	if (!json_is_integer(sec) || json_integer_value(sec) < 1 ||
	    json_integer_value(sec) > FLOW_DELAY_MAX_S)
		return fail(err, "%s.seconds must be a whole number from 1 to "
			    "%d", path, FLOW_DELAY_MAX_S);
	s->delay_s = json_integer_value(sec);
	return 0;
}

/* ---- the definition ---- */

static int parse_entry(flowdef *f, json_t *e, char err[FLOW_ERR_MAX])
{
	static const char *const known[] = {"event", "sms", NULL};
	static const char *const sms_known[] = {"group_id", "pattern", NULL};
	json_t *sms = json_object_get(e, "sms");
	const char *ev, *g, *pat;

	if (!json_is_object(e) || json_object_size(e) != 1 ||
	    only(e, "entry", known, err))
		return fail(err, "entry must be {\"event\": NAME} or {\"sms\": "
			    "{\"group_id\", \"pattern\"}}");
	if (!sms) {
		if (string_field(e, "event", "entry", FLOW_NAME_MAX, 1, &ev,
				 err))
			return -1;
		snprintf(f->event, sizeof f->event, "%s", ev);
		return 0;
	}
	if (!json_is_object(sms) || only(sms, "entry.sms", sms_known, err) ||
	    string_field(sms, "group_id", "entry.sms", IDENT_GROUP_ID_MAX, 1,
			 &g, err) ||
	    string_field(sms, "pattern", "entry.sms", FLOW_PATTERN_MAX, 1,
			 &pat, err))
		return json_is_object(sms) ? -1 : fail(err, "entry.sms must be "
						       "an object");
	snprintf(f->group, sizeof f->group, "%s", g);
	if (regcomp(&f->pattern, pat, REG_EXTENDED | REG_ICASE | REG_NOSUB))
		return fail(err, "entry.sms.pattern is not a POSIX extended "
			    "regular expression");
	f->has_pattern = 1;
	return 0;
}

static int parse_steps(flowdef *f, json_t *steps, char err[FLOW_ERR_MAX])
{
	char p[32];
	size_t i;
	json_t *x;

	if (!json_is_array(steps) || json_array_size(steps) == 0 ||
	    json_array_size(steps) > FLOW_STEPS_MAX)
		return fail(err, "steps must be an array of 1 to %d steps",
			    FLOW_STEPS_MAX);
	json_array_foreach(steps, i, x) {
		snprintf(p, sizeof p, "steps[%zu]", i);
		f->n_steps = i + 1;
		if (parse_step(x, p, &f->steps[i], err))
			return -1;
	}
	return 0;
}

static int parse_doc(flowdef *f, json_t *doc, char err[FLOW_ERR_MAX])
{
	static const char *const known[] = {"id", "name", "entry", "reentry",
					    "audience", "steps", NULL};
	json_t *re = json_object_get(doc, "reentry");
	json_t *audience = json_object_get(doc, "audience");
	const char *id, *name, *why;
	size_t count = 0;

	if (only(doc, "flow", known, err) ||
	    string_field(doc, "id", "flow", FLOW_ID_MAX, 1, &id, err) ||
	    string_field(doc, "name", "flow", IDENT_NAME_MAX, 0, &name, err))
		return -1;
	if ((why = ident_check_group_id(id)))
		return fail(err, "id %s", why);
	snprintf(f->id, sizeof f->id, "%s", id);
	snprintf(f->name, sizeof f->name, "%s", name ? name : id);
	if (re && !json_is_boolean(re))
		return fail(err, "reentry must be true or false");
	f->reentry = json_is_true(re);
	if (parse_entry(f, json_object_get(doc, "entry"), err))
		return -1;
	if (audience) {
		f->audience = calloc(1, sizeof *f->audience);
		if (!f->audience)
			return fail(err, "out of memory");
		if (parse_aud(audience, "audience", 0, &count, f->audience,
			      err))
			return -1;
	}
	return parse_steps(f, json_object_get(doc, "steps"), err);
}

flow_err flowdef_parse(const char *json, size_t len, flowdef **out,
		       char err[FLOW_ERR_MAX])
{
	flowdef *f = calloc(1, sizeof *f);
	json_error_t je;
	json_t *doc;
	flow_err rc = FLOW_ERR_INVALID;

	*out = NULL;
	err[0] = '\0';
	if (!f)
		return FLOW_ERR_NOMEM;
	doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!doc)
		fail(err, "not valid JSON: %s (at character %d)", je.text,
		     je.position);
	else if (!json_is_object(doc))
		fail(err, "a flow definition is a JSON object");
	else if (parse_doc(f, doc, err) == 0)
		rc = FLOW_OK;
	json_decref(doc);
	if (rc == FLOW_OK)
		*out = f;
	else
		flowdef_free(f);
	return rc;
}

static void step_free(flow_step *s)
{
	tpl_free(s->url);
	tpl_free(s->body);
	tpl_free(s->text);
	for (size_t i = 0; i < s->n_headers; i++)
		tpl_free(s->headers[i].value);
	json_decref(s->attributes);
}

void flowdef_free(flowdef *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n_steps; i++)
		step_free(&f->steps[i]);
	aud_free(f->audience);
	free(f->audience);
	if (f->has_pattern)
		regfree(&f->pattern);
	free(f);
}

const char *flowdef_id(const flowdef *f) { return f->id; }
const char *flowdef_name(const flowdef *f) { return f->name; }
const char *flowdef_entry_event(const flowdef *f)
{
	return f->event[0] ? f->event : NULL;
}
const char *flowdef_entry_group(const flowdef *f)
{
	return f->group[0] ? f->group : NULL;
}
int flowdef_reentry(const flowdef *f) { return f->reentry; }
size_t flowdef_steps(const flowdef *f) { return f->n_steps; }
const flow_step *flowdef_step(const flowdef *f, size_t i)
{
	return i < f->n_steps ? &f->steps[i] : NULL;
}

int flowdef_sms_match(const flowdef *f, const char *body)
{
	return f->has_pattern && regexec(&f->pattern, body, 0, NULL, 0) == 0;
}
