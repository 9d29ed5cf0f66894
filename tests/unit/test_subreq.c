/*
 * test_subreq: unit tests for api/subreq (the bodies of
 * POST /subscription/status/set and /v2/subscription/status/set, from
 * JSON to validated structs).
 *
 * Everything a client can get wrong without the database is decided here,
 * before anything is written, so each rule is exercised on both sides:
 * which identifier fields are accepted and in which shapes (v1 takes a
 * string or an array, v2 only arrays), the pairing of external ids with
 * phones or e-mails, Braze's "not both" message, the 50-id and 25-group
 * limits, the types of the common fields, and that one bad phone among
 * fifty fails the whole request with a message that names the field and
 * quotes the value. Messages go back to the client, so their text is
 * checked too. Every result is freed: the tests run under ASan with leak
 * detection, which also checks that a failed parse leaves nothing behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/subreq.h"

#define BOTH_MSG "Either an email address or a phone number should be " \
		 "provided, but not both."

static json_t *load(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &e);

	if (!j)
		fail_msg("test JSON does not parse (%s): %s", e.text, text);
	return j;
}

static void assert_empty(const subreq *r)
{
	assert_int_equal(r->n, 0);
	assert_null(r->items);
	assert_null(r->root);
}

static void assert_contains(const char *err, const char *want)
{
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
}

/* A parse that must succeed; the caller frees *out. */
static void ok_with(int v2, json_t *root, const char *region, subreq *out)
{
	char err[SUBREQ_ERR_MAX] = "";
	subreq_err rc;

	rc = v2 ? subreq_parse_v2(root, region, out, err)
		: subreq_parse_v1(root, region, out, err);
	if (rc != SUBREQ_OK)
		fail_msg("parse failed (%d): %s", rc, err);
	assert_non_null(out->items);
	assert_ptr_equal(out->root, root);
	/* The request keeps its own reference: ours may go now. */
	json_decref(root);
}

static void ok_v1(const char *text, subreq *out)
{
	ok_with(0, load(text), "US", out);
}

static void ok_v2(const char *text, subreq *out)
{
	ok_with(1, load(text), "US", out);
}

/* A parse that must fail with a message containing `want`. */
static void err_with(int v2, json_t *root, const char *want,
		     char err[SUBREQ_ERR_MAX])
{
	subreq r;
	subreq_err rc;

	memset(&r, 0xa5, sizeof r);
	memset(err, 0, SUBREQ_ERR_MAX);
	rc = v2 ? subreq_parse_v2(root, "US", &r, err)
		: subreq_parse_v1(root, "US", &r, err);
	if (rc != SUBREQ_ERR_INVALID) {
		if (rc == SUBREQ_OK)
			subreq_free(&r);
		fail_msg("expected \"%s\", got %d (%s)", want, rc, err);
	}
	assert_empty(&r);
	assert_true(err[0] != '\0');
	assert_true(strlen(err) < SUBREQ_ERR_MAX);
	assert_contains(err, want);
	json_decref(root);
}

static void err_v1(const char *text, const char *want)
{
	char err[SUBREQ_ERR_MAX];

	err_with(0, load(text), want, err);
}

static void err_v2(const char *text, const char *want)
{
	char err[SUBREQ_ERR_MAX];

	err_with(1, load(text), want, err);
}

#define V1_HEAD "{\"subscription_group_id\":\"g1\"," \
		"\"subscription_state\":\"subscribed\","

/* ---- v1: identifiers ---- */

static void test_v1_external_id_string(void **state)
{
	subreq r;

	(void)state;
	ok_v1(V1_HEAD "\"external_id\":\"user-1\"}", &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.items[0].group_id, "g1");
	assert_int_equal(r.items[0].state, CONSENT_SUBSCRIBED);
	assert_int_equal(r.items[0].double_opt_in, 0);
	assert_int_equal(r.items[0].n_ext, 1);
	assert_string_equal(r.items[0].ext[0], "user-1");
	assert_int_equal(r.items[0].n_phone, 0);
	assert_int_equal(r.items[0].n_email, 0);
	assert_int_equal(r.items[0].paired, 0);
	subreq_free(&r);
	assert_empty(&r);
}

static void test_v1_external_id_array(void **state)
{
	subreq r;

	(void)state;
	ok_v1("{\"subscription_group_id\":\"g1\","
	      "\"subscription_state\":\"unsubscribed\","
	      "\"external_id\":[\"a\",\"ARR\\u00caT\",\"\\ud83d\\ude00\"]}",
	      &r);
	assert_int_equal(r.items[0].state, CONSENT_UNSUBSCRIBED);
	assert_int_equal(r.items[0].n_ext, 3);
	assert_string_equal(r.items[0].ext[0], "a");
	assert_string_equal(r.items[0].ext[1], "ARR\xc3\x8aT");
	assert_string_equal(r.items[0].ext[2], "\xf0\x9f\x98\x80");
	subreq_free(&r);
}

static void test_v1_phone(void **state)
{
	subreq r;

	(void)state;
	ok_v1(V1_HEAD "\"phone\":\"(650) 253-0000\"}", &r);
	assert_int_equal(r.items[0].n_phone, 1);
	assert_int_equal(r.items[0].n_ext, 0);
	assert_string_equal(r.items[0].phone[0].e164, "+16502530000");
	assert_int_equal(r.items[0].phone[0].valid, 1);
	subreq_free(&r);

	ok_v1(V1_HEAD "\"phone\":[\"+1 (222) 333-4444\",\"0033 6 12 34 56 78\","
	      "\"650.253.0000\"]}", &r);
	assert_int_equal(r.items[0].n_phone, 3);
	assert_string_equal(r.items[0].phone[0].e164, "+12223334444");
	assert_string_equal(r.items[0].phone[1].e164, "+33612345678");
	assert_string_equal(r.items[0].phone[2].e164, "+16502530000");
	subreq_free(&r);
}

/* The region is the server's default, used for national numbers only. */
static void test_v1_phone_region(void **state)
{
	subreq r;

	(void)state;
	ok_with(0, load(V1_HEAD "\"phone\":\"06 12 34 56 78\"}"), "FR", &r);
	assert_string_equal(r.items[0].phone[0].e164, "+33612345678");
	subreq_free(&r);
	/* The same digits under "US" are not the French number. */
	ok_v1(V1_HEAD "\"phone\":\"06 12 34 56 78\"}", &r);
	assert_string_not_equal(r.items[0].phone[0].e164, "+33612345678");
	assert_int_equal(strncmp(r.items[0].phone[0].e164, "+1", 2), 0);
	subreq_free(&r);
	/* International numbers ignore the region. */
	ok_with(0, load(V1_HEAD "\"phone\":\"+16502530000\"}"), "FR", &r);
	assert_string_equal(r.items[0].phone[0].e164, "+16502530000");
	subreq_free(&r);
}

static void test_v1_email(void **state)
{
	subreq r;

	(void)state;
	ok_v1(V1_HEAD "\"email\":\"John.Doe@Example.COM\"}", &r);
	assert_int_equal(r.items[0].n_email, 1);
	/* Domain lower-cased, local part as given. */
	assert_string_equal(r.items[0].email[0], "John.Doe@example.com");
	subreq_free(&r);

	ok_v1(V1_HEAD "\"email\":[\"a@B.com\",\"C@d.ORG\"]}", &r);
	assert_int_equal(r.items[0].n_email, 2);
	assert_string_equal(r.items[0].email[0], "a@b.com");
	assert_string_equal(r.items[0].email[1], "C@d.org");
	subreq_free(&r);
}

static void test_v1_null_is_absent(void **state)
{
	subreq r;

	(void)state;
	ok_v1(V1_HEAD "\"external_id\":null,\"email\":null,"
	      "\"phone\":\"+12223334444\"}", &r);
	assert_int_equal(r.items[0].n_ext, 0);
	assert_int_equal(r.items[0].n_email, 0);
	assert_int_equal(r.items[0].n_phone, 1);
	subreq_free(&r);
}

static void test_v1_pairing(void **state)
{
	subreq r;

	(void)state;
	ok_v1(V1_HEAD "\"external_id\":[\"a\",\"b\"],"
	      "\"phone\":[\"+12223334444\",\"+16502530000\"]}", &r);
	assert_int_equal(r.items[0].paired, 1);
	assert_int_equal(r.items[0].n_ext, 2);
	assert_int_equal(r.items[0].n_phone, 2);
	assert_string_equal(r.items[0].ext[1], "b");
	assert_string_equal(r.items[0].phone[1].e164, "+16502530000");
	subreq_free(&r);

	ok_v1(V1_HEAD "\"external_id\":\"a\",\"email\":\"a@x.com\"}", &r);
	assert_int_equal(r.items[0].paired, 1);
	subreq_free(&r);

	/*
	 * Unequal counts do not pair: as in Braze's own example (one
	 * external_id, two phones), each list then names profiles alone.
	 */
	ok_v1(V1_HEAD "\"external_id\":[\"a\",\"b\"],"
	      "\"phone\":\"+12223334444\"}",
	      &r);
	assert_int_equal(r.items[0].paired, 0);
	assert_int_equal(r.items[0].n_ext, 2);
	assert_int_equal(r.items[0].n_phone, 1);
	subreq_free(&r);
	ok_v1(V1_HEAD "\"external_id\":\"a\","
	      "\"email\":[\"a@x.com\",\"b@x.com\"]}",
	      &r);
	assert_int_equal(r.items[0].paired, 0);
	assert_int_equal(r.items[0].n_ext, 1);
	assert_int_equal(r.items[0].n_email, 2);
	subreq_free(&r);
	/* External ids alone pair with nothing. */
	ok_v1(V1_HEAD "\"external_id\":\"a\"}", &r);
	assert_int_equal(r.items[0].paired, 0);
	subreq_free(&r);
}

static void test_v1_not_both(void **state)
{
	char err[SUBREQ_ERR_MAX];

	(void)state;
	err_with(0, load(V1_HEAD "\"phone\":\"+12223334444\","
			 "\"email\":\"a@x.com\"}"), BOTH_MSG, err);
	/* Braze's message, exactly, since clients may match on it. */
	assert_string_equal(err, BOTH_MSG);
	err_v1(V1_HEAD "\"external_id\":[\"a\"],\"phone\":[\"+12223334444\"],"
	       "\"email\":[\"a@x.com\"]}", BOTH_MSG);
}

static void test_v1_no_identifier(void **state)
{
	(void)state;
	err_v1(V1_HEAD "\"other\":1}",
	       "one of external_id, phone or email is required");
	err_v1(V1_HEAD "\"external_id\":null}",
	       "one of external_id, phone or email is required");
	/* v2's names mean nothing in v1. */
	err_v1(V1_HEAD "\"external_ids\":[\"a\"]}",
	       "one of external_id, phone or email is required");
}

static json_t *array_of(const char *fmt, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		char buf[64];

		snprintf(buf, sizeof buf, fmt, i);
		json_array_append_new(a, json_string(buf));
	}
	return a;
}

static json_t *v1_with(const char *field, json_t *value)
{
	json_t *o = load(V1_HEAD "\"x\":0}");

	json_object_set_new(o, field, value);
	return o;
}

static void test_v1_limit_50(void **state)
{
	char err[SUBREQ_ERR_MAX];
	subreq r;

	(void)state;
	ok_with(0, v1_with("external_id", array_of("user-%zu", 50)), "US", &r);
	assert_int_equal(r.items[0].n_ext, 50);
	assert_string_equal(r.items[0].ext[49], "user-49");
	subreq_free(&r);

	err_with(0, v1_with("external_id", array_of("user-%zu", 51)),
		 "The max number of ids per request was exceeded: external_id"
		 " has 51 entries, the limit is 50", err);
	err_with(0, v1_with("phone", array_of("+1650253%04zu", 51)),
		 "phone has 51 entries", err);
	err_with(0, v1_with("email", array_of("u%zu@x.com", 1000)),
		 "email has 1000 entries", err);
}

static void test_v1_fifty_phones(void **state)
{
	subreq r;

	(void)state;
	ok_with(0, v1_with("phone", array_of("+1 650 253 %04zu", 50)), "US",
		&r);
	assert_int_equal(r.items[0].n_phone, 50);
	for (size_t i = 0; i < 50; i++) {
		char want[PHONE_E164_MAX + 1];

		snprintf(want, sizeof want, "+1650253%04zu", i);
		assert_string_equal(r.items[0].phone[i].e164, want);
	}
	subreq_free(&r);
}

/* One bad phone anywhere fails the request and is quoted in the message. */
static void test_v1_one_bad_phone_in_fifty(void **state)
{
	static const size_t at[] = {0, 31, 49};
	char err[SUBREQ_ERR_MAX];

	(void)state;
	for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
		json_t *a = array_of("+1 650 253 %04zu", 50);

		json_array_set_new(a, at[k], json_string("+1 555"));
		err_with(0, v1_with("phone", a),
			 "phone \"+1 555\" is not a possible phone number",
			 err);
	}
	err_with(0, v1_with("phone", json_string("call me")),
		 "phone \"call me\" is not a phone number", err);
	err_with(0, v1_with("phone", json_string("")),
		 "phone \"\" ", err);
}

static void test_v1_empty_arrays(void **state)
{
	(void)state;
	err_v1(V1_HEAD "\"external_id\":[]}",
	       "external_id must not be an empty array");
	err_v1(V1_HEAD "\"phone\":[]}", "phone must not be an empty array");
	err_v1(V1_HEAD "\"email\":[]}", "email must not be an empty array");
	/* Even next to a good field. */
	err_v1(V1_HEAD "\"external_id\":\"a\",\"phone\":[]}",
	       "phone must not be an empty array");
}

static void test_v1_wrong_types(void **state)
{
	(void)state;
	err_v1(V1_HEAD "\"external_id\":5}",
	       "external_id must be a string or an array of strings");
	err_v1(V1_HEAD "\"external_id\":{\"a\":1}}",
	       "external_id must be a string or an array of strings");
	err_v1(V1_HEAD "\"phone\":true}",
	       "phone must be a string or an array of strings");
	err_v1(V1_HEAD "\"email\":1.5}",
	       "email must be a string or an array of strings");
	err_v1(V1_HEAD "\"external_id\":[\"a\",1]}",
	       "external_id[1] must be a string");
	err_v1(V1_HEAD "\"external_id\":[null]}",
	       "external_id[0] must be a string");
	err_v1(V1_HEAD "\"phone\":[[\"+12223334444\"]]}",
	       "phone[0] must be a string");
	err_v1(V1_HEAD "\"email\":[\"a@x.com\",{}]}",
	       "email[1] must be a string");
}

static void test_v1_bad_values(void **state)
{
	char err[SUBREQ_ERR_MAX];
	char ext[IDENT_EXTERNAL_ID_MAX + 2];

	(void)state;
	err_v1(V1_HEAD "\"external_id\":\"\"}",
	       "external_id \"\" must not be empty");
	err_v1(V1_HEAD "\"external_id\":[\"ok\",\"tab\\there\"]}",
	       "external_id \"tab\there\" must be UTF-8 text without "
	       "control characters");
	err_v1(V1_HEAD "\"email\":\"not-an-address\"}",
	       "email \"not-an-address\" is not an e-mail address");
	err_v1(V1_HEAD "\"external_id\":[\"a\",\"b\"],"
	       "\"email\":[\"a@x.com\",\"b@\"]}",
	       "email \"b@\" is not an e-mail address");

	/* A long value is quoted cut to 64 bytes, never whole. */
	memset(ext, 'x', sizeof ext);
	ext[IDENT_EXTERNAL_ID_MAX + 1] = '\0';
	err_with(0, v1_with("external_id", json_string(ext)),
		 "is longer than 512 bytes", err);
	ext[64] = '\0';
	assert_contains(err, ext);
	ext[64] = 'x';
	ext[65] = '\0';
	assert_null(strstr(err, ext));
}

/*
 * A multi-byte value is quoted cut at 64 bytes too, even inside a
 * character: 171 "€" are 513 bytes, and 64 bytes are 21 of them and one
 * byte of the 22nd. That is by design here; http_reply_error() cleans the
 * message into valid UTF-8 before it becomes JSON.
 */
static void test_v1_quote_cut_multibyte(void **state)
{
	char err[SUBREQ_ERR_MAX];
	char big[3 * 171 + 1];
	char want[3 * 21 + 16];

	(void)state;
	for (size_t i = 0; i < 171; i++)
		memcpy(big + 3 * i, "\xe2\x82\xac", 3);
	big[sizeof big - 1] = '\0';
	err_with(0, v1_with("external_id", json_string(big)),
		 "is longer than 512 bytes", err);
	snprintf(want, sizeof want, "external_id \"%.63s\xe2\"", big);
	assert_contains(err, want);

	big[3 * 22] = '\0'; /* 66 bytes: too long for a phone */
	err_with(0, v1_with("phone", json_string(big)),
		 "is longer than 64 bytes", err);
	snprintf(want, sizeof want, "phone \"%.63s\xe2\"", big);
	assert_contains(err, want);
}

/* ---- v1: common fields ---- */

static void test_v1_group_id(void **state)
{
	char err[SUBREQ_ERR_MAX];
	char gid[IDENT_GROUP_ID_MAX + 2];
	subreq r;

	(void)state;
	err_v1("{\"subscription_state\":\"subscribed\",\"external_id\":\"a\"}",
	       "subscription_group_id is required");
	err_v1("{\"subscription_group_id\":7,\"subscription_state\":"
	       "\"subscribed\",\"external_id\":\"a\"}",
	       "subscription_group_id must be a string");
	err_v1("{\"subscription_group_id\":null,\"subscription_state\":"
	       "\"subscribed\",\"external_id\":\"a\"}",
	       "subscription_group_id must be a string");
	err_v1("{\"subscription_group_id\":\"\",\"subscription_state\":"
	       "\"subscribed\",\"external_id\":\"a\"}",
	       "subscription_group_id must not be empty");
	err_v1("{\"subscription_group_id\":\"a b\",\"subscription_state\":"
	       "\"subscribed\",\"external_id\":\"a\"}",
	       "subscription_group_id may hold only letters, digits");

	memset(gid, 'g', sizeof gid);
	gid[IDENT_GROUP_ID_MAX] = '\0';
	json_t *o = load("{\"subscription_state\":\"subscribed\","
			 "\"external_id\":\"a\"}");
	json_object_set_new(o, "subscription_group_id", json_string(gid));
	ok_with(0, o, "US", &r);
	assert_string_equal(r.items[0].group_id, gid);
	subreq_free(&r);

	gid[IDENT_GROUP_ID_MAX] = 'g';
	gid[IDENT_GROUP_ID_MAX + 1] = '\0';
	o = load("{\"subscription_state\":\"subscribed\","
		 "\"external_id\":\"a\"}");
	json_object_set_new(o, "subscription_group_id", json_string(gid));
	err_with(0, o, "subscription_group_id is longer than 64 characters",
		 err);
}

static void test_v1_state(void **state)
{
	static const char *const bad[] = {
		"\"unknown\"", "\"Subscribed\"", "\"\"", "1", "true", "null",
		"[\"subscribed\"]", "\"opted_in\"",
	};

	(void)state;
	err_v1("{\"subscription_group_id\":\"g\",\"external_id\":\"a\"}",
	       "subscription_state is required");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[256];

		snprintf(text, sizeof text, "{\"subscription_group_id\":\"g\","
			 "\"external_id\":\"a\",\"subscription_state\":%s}",
			 bad[i]);
		err_v1(text, "subscription_state must be \"subscribed\" or "
		       "\"unsubscribed\"");
	}
}

static void test_v1_double_opt_in(void **state)
{
	static const char *const bad[] = {
		"\"true\"", "1", "0", "\"yes\"", "null", "[]", "{}",
	};
	subreq r;

	(void)state;
	ok_v1(V1_HEAD "\"external_id\":\"a\",\"use_double_opt_in_logic\":true}",
	      &r);
	assert_int_equal(r.items[0].double_opt_in, 1);
	subreq_free(&r);
	ok_v1(V1_HEAD "\"external_id\":\"a\","
	      "\"use_double_opt_in_logic\":false}",
	      &r);
	assert_int_equal(r.items[0].double_opt_in, 0);
	subreq_free(&r);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[256];

		snprintf(text, sizeof text, V1_HEAD "\"external_id\":\"a\","
			 "\"use_double_opt_in_logic\":%s}", bad[i]);
		err_v1(text, "use_double_opt_in_logic must be true or false");
	}
}

/* Whatever the root is, v1 answers with a message, not a crash. */
static void test_v1_not_an_object(void **state)
{
	char err[SUBREQ_ERR_MAX];

	(void)state;
	err_with(0, load("[1,2]"), "subscription_group_id is required", err);
	err_with(0, json_string("x"), "subscription_group_id is required",
		 err);
	err_with(0, json_object(), "subscription_group_id is required", err);
}

/* Emails copied before a later one failed are freed (ASan checks). */
static void test_v1_partial_failure_frees(void **state)
{
	char err[SUBREQ_ERR_MAX];
	json_t *a = array_of("user%zu@example.com", 50);

	(void)state;
	json_array_set_new(a, 49, json_string("broken"));
	err_with(0, v1_with("email", a), "email \"broken\"", err);
}

/* ---- v2 ---- */

#define G(id, extra) "{\"subscription_group_id\":\"" id "\"," \
		     "\"subscription_state\":\"subscribed\"," extra "}"

static void test_v2_basic(void **state)
{
	subreq r;

	(void)state;
	ok_v2("{\"subscription_groups\":[" G("g1", "\"external_ids\":[\"a\"]")
	      "]}", &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.items[0].group_id, "g1");
	assert_int_equal(r.items[0].n_ext, 1);
	assert_string_equal(r.items[0].ext[0], "a");
	assert_int_equal(r.items[0].double_opt_in, 0);
	subreq_free(&r);
	assert_empty(&r);
}

static void test_v2_several_groups(void **state)
{
	subreq r;

	(void)state;
	ok_v2("{\"subscription_groups\":["
	      G("sms", "\"phones\":[\"(650) 253-0000\",\"+33612345678\"]") ","
	      G("mail", "\"emails\":[\"X@Example.COM\"]") ","
	      "{\"subscription_group_id\":\"both\","
	      "\"subscription_state\":\"unsubscribed\","
	      "\"external_ids\":[\"e1\",\"e2\"],"
	      "\"phones\":[\"+12223334444\",\"+16502530000\"]}"
	      "]}", &r);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.items[0].n_phone, 2);
	assert_string_equal(r.items[0].phone[0].e164, "+16502530000");
	assert_string_equal(r.items[0].phone[1].e164, "+33612345678");
	assert_int_equal(r.items[0].paired, 0);
	assert_int_equal(r.items[1].n_email, 1);
	assert_string_equal(r.items[1].email[0], "X@example.com");
	assert_string_equal(r.items[2].group_id, "both");
	assert_int_equal(r.items[2].state, CONSENT_UNSUBSCRIBED);
	assert_int_equal(r.items[2].paired, 1);
	assert_int_equal(r.items[2].n_ext, 2);
	assert_int_equal(r.items[2].n_phone, 2);
	subreq_free(&r);

	/* Unequal counts are accepted and left unpaired, as in v1. */
	ok_v2("{\"subscription_groups\":["
	      G("a", "\"external_ids\":[\"x\",\"y\"],"
	      "\"emails\":[\"a@x.com\"]") "]}", &r);
	assert_int_equal(r.items[0].paired, 0);
	assert_int_equal(r.items[0].n_ext, 2);
	assert_int_equal(r.items[0].n_email, 1);
	subreq_free(&r);
}

static void test_v2_double_opt_in_inherited(void **state)
{
	subreq r;

	(void)state;
	ok_v2("{\"use_double_opt_in_logic\":true,\"subscription_groups\":["
	      G("a", "\"external_ids\":[\"x\"]") ","
	      G("b", "\"external_ids\":[\"x\"],"
		"\"use_double_opt_in_logic\":false") ","
	      G("c", "\"external_ids\":[\"x\"],"
		"\"use_double_opt_in_logic\":true") "]}", &r);
	assert_int_equal(r.items[0].double_opt_in, 1);
	assert_int_equal(r.items[1].double_opt_in, 0);
	assert_int_equal(r.items[2].double_opt_in, 1);
	subreq_free(&r);

	ok_v2("{\"use_double_opt_in_logic\":false,\"subscription_groups\":["
	      G("a", "\"external_ids\":[\"x\"]") ","
	      G("b", "\"external_ids\":[\"x\"],"
		"\"use_double_opt_in_logic\":true") "]}", &r);
	assert_int_equal(r.items[0].double_opt_in, 0);
	assert_int_equal(r.items[1].double_opt_in, 1);
	subreq_free(&r);

	err_v2("{\"use_double_opt_in_logic\":\"true\",\"subscription_groups\":["
	       G("a", "\"external_ids\":[\"x\"]") "]}",
	       "use_double_opt_in_logic must be true or false");
	err_v2("{\"subscription_groups\":["
	       G("a", "\"external_ids\":[\"x\"],\"use_double_opt_in_logic\":1")
	       "]}", "subscription_groups[0]: use_double_opt_in_logic must be "
	       "true or false");
}

static void test_v2_groups_field(void **state)
{
	(void)state;
	err_v2("{}", "subscription_groups is required");
	err_v2("{\"subscription_groups\":null}",
	       "subscription_groups must be a non-empty array");
	err_v2("{\"subscription_groups\":[]}",
	       "subscription_groups must be a non-empty array");
	err_v2("{\"subscription_groups\":{}}",
	       "subscription_groups must be a non-empty array");
	err_v2("{\"subscription_groups\":\"g1\"}",
	       "subscription_groups must be a non-empty array");
	/* A v1 body sent to v2. */
	err_v2(V1_HEAD "\"external_id\":\"a\"}",
	       "subscription_groups is required");
}

static json_t *v2_groups(size_t n)
{
	json_t *root = json_object();
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		char gid[32];

		snprintf(gid, sizeof gid, "group-%zu", i);
		json_array_append_new(a, json_pack(
			"{s:s,s:s,s:[s]}", "subscription_group_id", gid,
			"subscription_state", "subscribed", "external_ids",
			"someone"));
	}
	json_object_set_new(root, "subscription_groups", a);
	return root;
}

static void test_v2_limit_25(void **state)
{
	char err[SUBREQ_ERR_MAX];
	subreq r;

	(void)state;
	ok_with(1, v2_groups(25), "US", &r);
	assert_int_equal(r.n, 25);
	assert_string_equal(r.items[24].group_id, "group-24");
	subreq_free(&r);
	err_with(1, v2_groups(26), "subscription_groups has 26 entries, the "
		 "limit is 25", err);
	/* The limit is checked before any group is looked at. */
	json_t *root = v2_groups(30);
	json_array_set_new(json_object_get(root, "subscription_groups"), 0,
			   json_integer(1));
	err_with(1, root, "subscription_groups has 30 entries", err);
}

static void test_v2_group_errors_prefixed(void **state)
{
	char err[SUBREQ_ERR_MAX];

	(void)state;
	err_v2("{\"subscription_groups\":[1]}",
	       "subscription_groups[0]: must be an object");
	err_v2("{\"subscription_groups\":[" G("a", "\"external_ids\":[\"x\"]")
	       ",[]]}", "subscription_groups[1]: must be an object");
	err_v2("{\"subscription_groups\":[" G("a", "\"external_ids\":[\"x\"]")
	       "," G("b", "\"external_ids\":[\"x\"]") ","
	       "{\"subscription_state\":\"subscribed\","
	       "\"external_ids\":[\"x\"]}]}",
	       "subscription_groups[2]: subscription_group_id is required");
	err_v2("{\"subscription_groups\":[{\"subscription_group_id\":\"a\","
	       "\"external_ids\":[\"x\"]}]}",
	       "subscription_groups[0]: subscription_state is required");
	err_v2("{\"subscription_groups\":[" G("a", "\"x\":1") "]}",
	       "subscription_groups[0]: one of external_ids, phones or emails "
	       "is required");
	err_v2("{\"subscription_groups\":[" G("a", "\"external_ids\":[]") "]}",
	       "subscription_groups[0]: external_ids must not be an empty "
	       "array");
	err_v2("{\"subscription_groups\":["
	       G("a", "\"phones\":[\"+12223334444\"],"
	       "\"emails\":[\"a@x.com\"]") "]}",
	       "subscription_groups[0]: " BOTH_MSG);

	/* The prefix starts the message. */
	err_with(1, load("{\"subscription_groups\":[" G("a", "\"external_ids\":"
			 "[\"x\"]") "," G("b", "\"phones\":[\"+1 555\"]") "]}"),
		 "phones \"+1 555\" is not a possible phone number", err);
	assert_int_equal(strncmp(err, "subscription_groups[1]: ", 24), 0);
}

/* v2 takes arrays only, and only its own field names. */
static void test_v2_arrays_only(void **state)
{
	(void)state;
	err_v2("{\"subscription_groups\":["
	       G("a", "\"external_ids\":\"x\"") "]}",
	       "subscription_groups[0]: external_ids must be an array of "
	       "strings");
	err_v2("{\"subscription_groups\":["
	       G("a", "\"phones\":\"+12223334444\"")
	       "]}", "subscription_groups[0]: phones must be an array of "
	       "strings");
	err_v2("{\"subscription_groups\":["
	       G("a", "\"emails\":\"a@x.com\"") "]}",
	       "subscription_groups[0]: emails must be an array of strings");
	err_v2("{\"subscription_groups\":[" G("a", "\"emails\":[5]") "]}",
	       "subscription_groups[0]: emails[0] must be a string");
	err_v2("{\"subscription_groups\":[" G("a", "\"external_id\":\"x\","
	       "\"phone\":\"+12223334444\"") "]}",
	       "one of external_ids, phones or emails is required");
}

static void test_v2_limit_50_per_group(void **state)
{
	char err[SUBREQ_ERR_MAX];
	json_t *root = v2_groups(3);
	json_t *g = json_array_get(json_object_get(root,
						   "subscription_groups"), 2);

	(void)state;
	json_object_set_new(g, "external_ids", array_of("e%zu", 51));
	err_with(1, root, "subscription_groups[2]: The max number of ids per "
		 "request was exceeded: external_ids has 51 entries, the limit "
		 "is 50", err);
}

/* Emails already copied for earlier groups are freed on a later error. */
static void test_v2_late_failure_frees(void **state)
{
	char err[SUBREQ_ERR_MAX];

	(void)state;
	err_with(1, load("{\"subscription_groups\":["
			 G("a", "\"emails\":[\"a@x.com\",\"b@x.com\"]") ","
			 G("b", "\"emails\":[\"c@x.com\",\"bad\"]") "]}"),
		 "subscription_groups[1]: emails \"bad\" is not an e-mail "
		 "address", err);
}

/* ---- channel rules ---- */

static void test_channel_error(void **state)
{
	char err[SUBREQ_ERR_MAX];
	subreq r;

	(void)state;
	ok_v2("{\"subscription_groups\":["
	      G("sms-g", "\"emails\":[\"a@x.com\"]") ","
	      G("mail-g", "\"phones\":[\"+12223334444\"]") ","
	      G("ext-g", "\"external_ids\":[\"a\"]") "]}", &r);

	memset(err, 0, sizeof err);
	assert_ptr_equal(subreq_channel_error(&r.items[0], CHANNEL_SMS, err),
			 err);
	assert_contains(err, "subscription group sms-g is an SMS group");
	assert_contains(err, "not email");
	assert_null(subreq_channel_error(&r.items[0], CHANNEL_EMAIL, err));

	assert_ptr_equal(subreq_channel_error(&r.items[1], CHANNEL_EMAIL, err),
			 err);
	assert_contains(err, "subscription group mail-g is an e-mail group");
	assert_contains(err, "not phone");
	assert_null(subreq_channel_error(&r.items[1], CHANNEL_SMS, err));

	/* external ids suit either channel. */
	assert_null(subreq_channel_error(&r.items[2], CHANNEL_SMS, err));
	assert_null(subreq_channel_error(&r.items[2], CHANNEL_EMAIL, err));
	subreq_free(&r);
}

static void test_free_is_safe(void **state)
{
	subreq r;

	(void)state;
	subreq_free(NULL);
	ok_v1(V1_HEAD "\"email\":[\"a@x.com\",\"b@x.com\"]}", &r);
	subreq_free(&r);
	assert_empty(&r);
	subreq_free(&r); /* a second free of an emptied request is a no-op */
	assert_empty(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_external_id_string),
		cmocka_unit_test(test_v1_external_id_array),
		cmocka_unit_test(test_v1_phone),
		cmocka_unit_test(test_v1_phone_region),
		cmocka_unit_test(test_v1_email),
		cmocka_unit_test(test_v1_null_is_absent),
		cmocka_unit_test(test_v1_pairing),
		cmocka_unit_test(test_v1_not_both),
		cmocka_unit_test(test_v1_no_identifier),
		cmocka_unit_test(test_v1_limit_50),
		cmocka_unit_test(test_v1_fifty_phones),
		cmocka_unit_test(test_v1_one_bad_phone_in_fifty),
		cmocka_unit_test(test_v1_empty_arrays),
		cmocka_unit_test(test_v1_wrong_types),
		cmocka_unit_test(test_v1_bad_values),
		cmocka_unit_test(test_v1_quote_cut_multibyte),
		cmocka_unit_test(test_v1_group_id),
		cmocka_unit_test(test_v1_state),
		cmocka_unit_test(test_v1_double_opt_in),
		cmocka_unit_test(test_v1_not_an_object),
		cmocka_unit_test(test_v1_partial_failure_frees),
		cmocka_unit_test(test_v2_basic),
		cmocka_unit_test(test_v2_several_groups),
		cmocka_unit_test(test_v2_double_opt_in_inherited),
		cmocka_unit_test(test_v2_groups_field),
		cmocka_unit_test(test_v2_limit_25),
		cmocka_unit_test(test_v2_group_errors_prefixed),
		cmocka_unit_test(test_v2_arrays_only),
		cmocka_unit_test(test_v2_limit_50_per_group),
		cmocka_unit_test(test_v2_late_failure_frees),
		cmocka_unit_test(test_channel_error),
		cmocka_unit_test(test_free_is_safe),
	};

	return cmocka_run_group_tests_name("subreq", tests, NULL, NULL);
}
