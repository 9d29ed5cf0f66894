/*
 * test_sdkreq: unit tests for api/sdkreq (the Braze Web SDK's data
 * bodies, turned into /users/track objects).
 *
 * The bodies here are the ones the unmodified SDK sent from Chromium
 * (docs/sdk.md): a session start with events of an anonymous device, then
 * the custom event, purchase, array attribute and attributes of a user.
 * What matters: only custom events, purchases and attributes of a named
 * user are kept, with their user as external_id and their time turned
 * from seconds into ISO 8601; everything else is counted as ignored, not
 * refused (a newer SDK may send types optd does not know). A problem
 * anywhere fails the whole body with a message naming the place in the
 * SDK's own terms ("events[1]: ...", never the /users/track index), and
 * an SDK key can neither pick users by other ids nor touch consent. Large
 * bodies are cut into /users/track-sized chunks that keep the order
 * attributes, events, purchases. Every result is freed (ASan checks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/sdkreq.h"

#define NOW_MS 1795690900000LL /* after every time in the bodies below */

static const char *const session_start =
	"{\"respond_with\":{\"triggers\":true,\"user_id\":\"user-42\","
	"\"config\":{\"config_time\":0}},"
	"\"events\":["
	"{\"name\":\"ss\",\"time\":1795690841.07,\"data\":{},"
	"\"session_id\":\"aaac\"},"
	"{\"name\":\"ce\",\"time\":1795690841.075,"
	"\"data\":{\"n\":\"before_user\",\"p\":{\"a\":1}},"
	"\"session_id\":\"aaac\"},"
	"{\"name\":\"se\",\"time\":1795690841.082,\"data\":{\"d\":0.011},"
	"\"session_id\":\"aaac\"},"
	"{\"name\":\"ss\",\"time\":1795690841.086,\"data\":{},"
	"\"session_id\":\"4e25\",\"user_id\":\"user-42\"}],"
	"\"device\":{\"browser\":\"Chrome\",\"os_version\":\"Linux\"},"
	"\"api_key\":\"optd_sdk_x\",\"time\":1795690841,"
	"\"sdk_metadata\":[\"npm\"],\"sdk_version\":\"6.13.0\","
	"\"device_id\":\"3b07\"}";

static const char *const user_data =
	"{\"respond_with\":{\"user_id\":\"user-42\","
	"\"config\":{\"config_time\":0}},"
	"\"events\":["
	"{\"name\":\"set\",\"time\":1795690841.126,"
	"\"data\":{\"key\":\"tags\",\"value\":[\"a\",\"b\"]},"
	"\"user_id\":\"user-42\"},"
	"{\"name\":\"inc\",\"time\":1795690841.129,"
	"\"data\":{\"key\":\"visits\",\"value\":2},\"user_id\":\"user-42\"},"
	"{\"name\":\"sgu\",\"time\":1795690841.133,"
	"\"data\":{\"group_id\":\"promo\",\"status\":\"subscribed\"},"
	"\"user_id\":\"user-42\"},"
	"{\"name\":\"ce\",\"time\":1795690841.137,"
	"\"data\":{\"n\":\"phone_number_captured\","
	"\"p\":{\"phone_number\":\"+16502530000\",\"n\":1.5}},"
	"\"user_id\":\"user-42\"},"
	"{\"name\":\"p\",\"time\":1795690841.138,"
	"\"data\":{\"pid\":\"sku-1\",\"c\":\"USD\",\"p\":\"9.99\",\"q\":2,"
	"\"pr\":{\"color\":\"red\"}},\"user_id\":\"user-42\"}],"
	"\"attributes\":[{\"user_id\":\"user-42\",\"phone\":\"+16502530000\","
	"\"email\":\"ada@example.com\",\"first_name\":\"Ada\","
	"\"custom\":{\"plan\":\"gold\",\"gone\":null},\"country\":\"US\"}],"
	"\"api_key\":\"optd_sdk_x\",\"time\":1795690841}";

static json_t *load(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &e);

	if (!j)
		fail_msg("test JSON does not parse (%s): %s", e.text, text);
	return j;
}

static void parse_ok(const char *text, sdk_req *r)
{
	char err[SDK_ERR_MAX] = "";
	json_t *root = load(text);
	sdk_err e = sdk_parse(root, "US", NOW_MS, r, err);

	json_decref(root);
	if (e)
		fail_msg("parse failed (%d): %s", e, err);
}

/* A parse that must fail with a message containing `want`. */
static void parse_bad(const char *text, const char *want)
{
	char err[SDK_ERR_MAX] = "";
	json_t *root = load(text);
	sdk_req r;
	sdk_err e = sdk_parse(root, "US", NOW_MS, &r, err);

	json_decref(root);
	sdk_req_free(&r);
	if (e != SDK_ERR_INVALID)
		fail_msg("expected a refusal naming \"%s\", got %d", want, e);
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
	assert_int_equal(r.n_chunks, 0);
}

static void test_session_start(void **state)
{
	sdk_req r;

	(void)state;
	parse_ok(session_start, &r);
	assert_true(r.triggers);
	assert_int_equal(r.n_chunks, 0); /* nothing named a user but "ss" */
	assert_int_equal(r.ignored, 4);
	sdk_req_free(&r);
}

static void test_user_data(void **state)
{
	char where[64];
	const track_req *t;
	sdk_req r;

	(void)state;
	parse_ok(user_data, &r);
	assert_false(r.triggers);
	assert_int_equal(r.ignored, 2); /* inc, sgu */
	assert_int_equal(r.n_chunks, 1);
	t = &r.chunks[0]->req;
	assert_int_equal(json_array_size(t->errors), 0);
	/* attributes[0], then the "set" event as an attribute */
	assert_int_equal(t->n_attrs, 2);
	assert_string_equal(t->attrs[0].who.ext, "user-42");
	assert_true(t->attrs[0].has_phone);
	assert_string_equal(t->attrs[0].phone.e164, "+16502530000");
	assert_string_equal(t->attrs[0].email, "ada@example.com");
	assert_string_equal(json_string_value(json_object_get(
		t->attrs[0].set, "first_name")), "Ada");
	assert_string_equal(json_string_value(json_object_get(
		t->attrs[0].set, "plan")), "gold");
	assert_true(json_is_null(json_object_get(t->attrs[0].set, "gone")));
	assert_null(json_object_get(t->attrs[0].set, "user_id"));
	assert_null(json_object_get(t->attrs[0].set, "custom"));
	assert_int_equal(json_array_size(json_object_get(t->attrs[1].set,
							 "tags")), 2);
	sdk_src_name(r.chunks[0], "attributes", 1, where, sizeof where);
	assert_string_equal(where, "events[0]");
	/* the custom event, its time from seconds */
	assert_int_equal(t->n_events, 1);
	assert_string_equal(t->events[0].name, "phone_number_captured");
	assert_string_equal(t->events[0].who.ext, "user-42");
	assert_int_equal(t->events[0].time_ms, 1795690841137LL);
	assert_non_null(strstr(t->events[0].props,
			       "\"phone_number\":\"+16502530000\""));
	sdk_src_name(r.chunks[0], "events", 0, where, sizeof where);
	assert_string_equal(where, "events[3]");
	/* the purchase, its price from a string */
	assert_int_equal(t->n_purchases, 1);
	assert_string_equal(t->purchases[0].product_id, "sku-1");
	assert_string_equal(t->purchases[0].currency, "USD");
	assert_true(t->purchases[0].price > 9.98 &&
		    t->purchases[0].price < 10.0);
	assert_int_equal(t->purchases[0].quantity, 2);
	sdk_req_free(&r);
}

static void test_future_time_is_now(void **state)
{
	sdk_req r;

	(void)state;
	parse_ok("{\"events\":[{\"name\":\"ce\",\"time\":4102444800,"
		 "\"user_id\":\"u\",\"data\":{\"n\":\"x\"}}]}", &r);
	assert_int_equal(r.chunks[0]->req.events[0].time_ms, NOW_MS);
	assert_null(r.chunks[0]->req.events[0].props);
	sdk_req_free(&r);
}

static void test_empty_bodies(void **state)
{
	sdk_req r;

	(void)state;
	parse_ok("{}", &r);
	assert_int_equal(r.n_chunks, 0);
	assert_int_equal(r.ignored, 0);
	sdk_req_free(&r);
	parse_ok("{\"events\":null,\"attributes\":[],\"respond_with\":null,"
		 "\"new_field\":{\"x\":1}}", &r);
	assert_int_equal(r.n_chunks, 0);
	sdk_req_free(&r);
	/* an attributes object of an anonymous device */
	parse_ok("{\"attributes\":[{\"custom\":{\"a\":1}}]}", &r);
	assert_int_equal(r.n_chunks, 0);
	assert_int_equal(r.ignored, 1);
	sdk_req_free(&r);
}

static void test_structure_refused(void **state)
{
	(void)state;
	parse_bad("[]", "must be a JSON object");
	parse_bad("{\"events\":{}}", "events must be an array");
	parse_bad("{\"attributes\":\"x\"}", "attributes must be an array");
	parse_bad("{\"respond_with\":1}", "respond_with must be an object");
	parse_bad("{\"events\":[1]}", "events[0] is not an object");
	parse_bad("{\"attributes\":[null]}", "attributes[0] is not an object");
	parse_bad("{\"events\":[{\"time\":1}]}", "events[0].name must be");
	parse_bad("{\"events\":[{\"name\":\"ss\"},{\"name\":\"ce\","
		  "\"user_id\":\"u\",\"time\":\"now\",\"data\":{\"n\":\"x\"}}]}",
		  "events[1].time must be a number of seconds");
	parse_bad("{\"events\":[{\"name\":\"ce\",\"user_id\":\"u\","
		  "\"time\":-1,\"data\":{\"n\":\"x\"}}]}", "events[0].time");
	parse_bad("{\"events\":[{\"name\":\"ce\",\"user_id\":\"u\","
		  "\"time\":1e300,\"data\":{\"n\":\"x\"}}]}", "events[0].time");
	parse_bad("{\"events\":[{\"name\":\"ce\",\"user_id\":\"u\","
		  "\"time\":1,\"data\":[]}]}", "events[0].data must be an "
		  "object");
	parse_bad("{\"events\":[{\"name\":\"ce\",\"user_id\":\"u\","
		  "\"time\":1,\"data\":{\"p\":{}}}]}",
		  "events[0].data.n (the event name) must be a string");
	parse_bad("{\"events\":[{\"name\":\"ce\",\"user_id\":7,"
		  "\"time\":1,\"data\":{\"n\":\"x\"}}]}",
		  "events[0].user_id must be a string");
	parse_bad("{\"attributes\":[{\"user_id\":\"\"}]}",
		  "attributes[0].user_id");
}

/* The /users/track rules, reported where the SDK put the object. */
static void test_object_rules(void **state)
{
	(void)state;
	parse_bad("{\"attributes\":[{\"user_id\":\"u\",\"phone\":\"12\"}]}",
		  "attributes[0]: phone \"12\"");
	parse_bad("{\"attributes\":[{\"user_id\":\"u\","
		  "\"email\":\"not-an-email\"}]}", "attributes[0]: email");
	parse_bad("{\"attributes\":[{\"user_id\":\"u\","
		  "\"custom\":{\"$bad\":1}}]}", "attributes[0]: attribute name");
	parse_bad("{\"events\":[{\"name\":\"ss\",\"user_id\":\"u\"},"
		  "{\"name\":\"ce\",\"user_id\":\"u\",\"time\":1,"
		  "\"data\":{\"n\":\"x\",\"p\":{\"$a\":1}}}]}",
		  "events[1]: property name \"$a\"");
	parse_bad("{\"events\":[{\"name\":\"ce\",\"user_id\":\"u\","
		  "\"time\":1,\"data\":{\"n\":\"\"}}]}",
		  "events[0]: name must be");
	parse_bad("{\"events\":[{\"name\":\"p\",\"user_id\":\"u\","
		  "\"time\":1,\"data\":{\"pid\":\"s\",\"c\":\"USD\","
		  "\"p\":\"9.9x\"}}]}", "events[0].data.p (the price)");
	parse_bad("{\"events\":[{\"name\":\"p\",\"user_id\":\"u\","
		  "\"time\":1,\"data\":{\"pid\":\"s\",\"c\":\"DOLLARS\","
		  "\"p\":1}}]}", "events[0]: currency");
	parse_bad("{\"events\":[{\"name\":\"p\",\"user_id\":\"u\","
		  "\"time\":1,\"data\":{\"c\":\"USD\",\"p\":1}}]}",
		  "events[0]: product_id");
	parse_bad("{\"events\":[{\"name\":\"set\",\"user_id\":\"u\","
		  "\"time\":1,\"data\":{\"key\":\"k\"}}]}",
		  "events[0].data needs key and value");
}

/* An SDK key names users by user_id only and never changes consent. */
static void test_reserved_fields(void **state)
{
	(void)state;
	parse_bad("{\"attributes\":[{\"user_id\":\"u\","
		  "\"subscription_groups\":[]}]}",
		  "attributes[0].subscription_groups is not accepted");
	parse_bad("{\"attributes\":[{\"user_id\":\"u\","
		  "\"external_id\":\"other\"}]}",
		  "attributes[0].external_id is not accepted");
	parse_bad("{\"attributes\":[{\"user_id\":\"u\","
		  "\"user_alias\":{}}]}", "attributes[0].user_alias");
	parse_bad("{\"attributes\":[{\"user_id\":\"u\","
		  "\"custom\":{\"subscription_groups\":[]}}]}",
		  "attributes[0].custom.subscription_groups");
	parse_bad("{\"attributes\":[{\"user_id\":\"u\","
		  "\"custom\":{\"phone\":\"+16502530000\"}}]}",
		  "attributes[0].custom.phone");
	parse_bad("{\"attributes\":[{\"user_id\":\"u\",\"first_name\":\"A\","
		  "\"custom\":{\"first_name\":\"B\"}}]}",
		  "attributes[0].custom.first_name repeats a standard");
	parse_bad("{\"attributes\":[{\"user_id\":\"u\",\"custom\":[]}]}",
		  "attributes[0].custom must be an object");
	parse_bad("{\"events\":[{\"name\":\"set\",\"user_id\":\"u\","
		  "\"time\":1,\"data\":{\"key\":\"external_id\","
		  "\"value\":[\"x\"]}}]}", "events[0].data.key");
}

/* A body of n custom events and m attributes of user "u". */
static char *big_body(size_t n_events, size_t n_attrs)
{
	json_t *root = json_object(), *ev = json_array(), *at = json_array();
	char *text;

	for (size_t i = 0; i < n_events; i++)
		json_array_append_new(ev, json_pack(
			"{s:s,s:f,s:s,s:{s:s,s:{s:I}}}", "name", "ce", "time",
			1795690841.0, "user_id", "u", "data", "n", "e", "p",
			"i", (json_int_t)i));
	for (size_t i = 0; i < n_attrs; i++)
		json_array_append_new(at, json_pack("{s:s,s:{s:I}}", "user_id",
						    "u", "custom", "i",
						    (json_int_t)i));
	json_object_set_new(root, "events", ev);
	json_object_set_new(root, "attributes", at);
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return text;
}

static void test_chunks_keep_order(void **state)
{
	char *text = big_body(160, 80);
	char where[64];
	sdk_req r;
	size_t attrs = 0, events = 0;

	(void)state;
	parse_ok(text, &r);
	free(text);
	/* 75 attributes; the other 5 with the first 75 events; 75 more
	 * events; the last 10. No event comes before an attribute. */
	assert_int_equal(r.n_chunks, 4);
	assert_int_equal(r.chunks[0]->req.n_attrs, 75);
	assert_int_equal(r.chunks[0]->req.n_events, 0);
	assert_int_equal(r.chunks[1]->req.n_attrs, 5);
	assert_int_equal(r.chunks[1]->req.n_events, 75);
	assert_int_equal(r.chunks[2]->req.n_attrs, 0);
	assert_int_equal(r.chunks[2]->req.n_events, 75);
	assert_int_equal(r.chunks[3]->req.n_events, 10);
	for (size_t i = 0; i < r.n_chunks; i++) {
		attrs += r.chunks[i]->req.n_attrs;
		events += r.chunks[i]->req.n_events;
	}
	assert_int_equal(attrs, 80);
	assert_int_equal(events, 160);
	sdk_src_name(r.chunks[1], "attributes", 4, where, sizeof where);
	assert_string_equal(where, "attributes[79]");
	sdk_src_name(r.chunks[3], "events", 9, where, sizeof where);
	assert_string_equal(where, "events[159]");
	assert_non_null(strstr(r.chunks[3]->req.events[9].props, "159"));
	sdk_req_free(&r);
}

static void test_limits(void **state)
{
	char *text;
	sdk_req r;

	(void)state;
	text = big_body(SDK_APPLIED_MAX, 0);
	parse_ok(text, &r);
	free(text);
	assert_int_equal(r.n_chunks, SDK_APPLIED_MAX / TRACK_OBJECTS_MAX);
	sdk_req_free(&r);
	text = big_body(SDK_APPLIED_MAX - 1, 2);
	parse_bad(text, "more than 300 attributes, custom events and "
		  "purchases");
	free(text);
	text = big_body(0, SDK_ATTRS_MAX + 1);
	parse_bad(text, "attributes has more than 100 entries");
	free(text);
	text = big_body(SDK_EVENTS_MAX + 1, 0);
	parse_bad(text, "events has more than 1000 entries");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_start),
		cmocka_unit_test(test_user_data),
		cmocka_unit_test(test_future_time_is_now),
		cmocka_unit_test(test_empty_bodies),
		cmocka_unit_test(test_structure_refused),
		cmocka_unit_test(test_object_rules),
		cmocka_unit_test(test_reserved_fields),
		cmocka_unit_test(test_chunks_keep_order),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests_name("sdkreq", tests, NULL, NULL);
}
