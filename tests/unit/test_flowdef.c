/*
 * test_flowdef: unit tests for core/flowdef, a flow's definition.
 *
 * Definitions come from admins, so each rule has a test that a good
 * definition is read as meant and that a bad one is refused with its
 * path named. The audience is evaluated against a fake user, so every
 * operator and the all/any logic are pinned down here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "core/flowdef.h"

#define SEED \
	"{\"id\":\"seed\",\"entry\":{\"event\":\"phone_number_captured\"}," \
	"\"audience\":{\"all\":[{\"attribute\":\"external_id\",\"op\":" \
	"\"is_not_blank\"}]},\"steps\":[{\"type\":\"webhook\",\"url\":" \
	"\"http://127.0.0.1:8080/subscription/status/set\",\"headers\":" \
	"{\"Content-Type\":\"application/json\",\"Authorization\":" \
	"\"Bearer k\"},\"body\":\"{\\\"external_id\\\":\\\"{{${user_id}}}\\\"}\"}," \
	"{\"type\":\"sms\",\"group_id\":\"promo\",\"body\":\"Hi " \
	"{{${first_name} | default: 'there'}}\"}]}"

static flowdef *ok(const char *json)
{
	char err[FLOW_ERR_MAX];
	flowdef *f = NULL;

	if (flowdef_parse(json, strlen(json), &f, err) != FLOW_OK)
		fail_msg("refused: %s", err);
	return f;
}

static void bad(const char *json, const char *part)
{
	char err[FLOW_ERR_MAX];
	flowdef *f = NULL;

	if (flowdef_parse(json, strlen(json), &f, err) != FLOW_ERR_INVALID)
		fail_msg("accepted: %s", json);
	assert_null(f);
	if (!strstr(err, part))
		fail_msg("error \"%s\" does not name \"%s\"", err, part);
}

/* A fake user: attributes from a JSON object, subscribed to "promo". */
typedef struct {
	json_t *attrs;
} fake;

static const json_t *fake_attr(void *ctx, const char *name)
{
	return json_object_get(((fake *)ctx)->attrs, name);
}

static int fake_sub(void *ctx, const char *group)
{
	(void)ctx;
	return strcmp(group, "promo") == 0;
}

static int audience(const char *def, const char *attrs, int phone_valid)
{
	flowdef *f = ok(def);
	fake fk = {json_loads(attrs, 0, NULL)};
	flow_user u = {fake_attr, fake_sub, phone_valid, &fk};
	int r = flowdef_audience(f, &u);

	json_decref(fk.attrs);
	flowdef_free(f);
	return r;
}

#define AUD(cond) \
	"{\"id\":\"a\",\"entry\":{\"event\":\"e\"},\"audience\":" cond \
	",\"steps\":[{\"type\":\"delay\",\"seconds\":1}]}"

static void test_seed_flow(void **state)
{
	flowdef *f = ok(SEED);
	const flow_step *s;

	(void)state;
	assert_string_equal(flowdef_id(f), "seed");
	assert_string_equal(flowdef_name(f), "seed");
	assert_string_equal(flowdef_entry_event(f), "phone_number_captured");
	assert_null(flowdef_entry_group(f));
	assert_int_equal(flowdef_reentry(f), 0);
	assert_int_equal(flowdef_steps(f), 2);
	s = flowdef_step(f, 0);
	assert_int_equal(s->kind, FLOW_STEP_WEBHOOK);
	assert_string_equal(s->method, "POST");
	assert_int_equal(s->n_headers, 2);
	assert_int_equal(s->json_body, 1);
	s = flowdef_step(f, 1);
	assert_int_equal(s->kind, FLOW_STEP_SMS);
	assert_string_equal(s->group_id, "promo");
	assert_null(flowdef_step(f, 2));
	flowdef_free(f);
}

static void test_audience_ops(void **state)
{
	(void)state;
	assert_int_equal(audience(AUD("{\"attribute\":\"external_id\",\"op\":"
				      "\"is_not_blank\"}"),
				  "{\"external_id\":\"u1\"}", 1), 1);
	assert_int_equal(audience(AUD("{\"attribute\":\"external_id\",\"op\":"
				      "\"is_not_blank\"}"),
				  "{\"external_id\":\"\"}", 1), 0);
	assert_int_equal(audience(AUD("{\"attribute\":\"plan\",\"op\":"
				      "\"is_blank\"}"), "{}", 1), 1);
	assert_int_equal(audience(AUD("{\"attribute\":\"plan\",\"op\":"
				      "\"equals\",\"value\":\"gold\"}"),
				  "{\"plan\":\"gold\"}", 1), 1);
	assert_int_equal(audience(AUD("{\"attribute\":\"age\",\"op\":"
				      "\"equals\",\"value\":\"42\"}"),
				  "{\"age\":42}", 1), 1);
	assert_int_equal(audience(AUD("{\"attribute\":\"tags\",\"op\":"
				      "\"contains\",\"value\":\"vip\"}"),
				  "{\"tags\":[\"new\",\"vip\"]}", 1), 1);
	assert_int_equal(audience(AUD("{\"attribute\":\"bio\",\"op\":"
				      "\"contains\",\"value\":\"bike\"}"),
				  "{\"bio\":\"likes bikes\"}", 1), 1);
	assert_int_equal(audience(AUD("{\"subscribed\":\"promo\"}"), "{}", 1),
			 1);
	assert_int_equal(audience(AUD("{\"not_subscribed\":\"promo\"}"), "{}",
				  1), 0);
	assert_int_equal(audience(AUD("{\"phone_valid\":true}"), "{}", 0), 0);
	assert_int_equal(audience(AUD("{\"any\":[{\"phone_valid\":true},"
				      "{\"subscribed\":\"promo\"}]}"), "{}",
				  0), 1);
	assert_int_equal(audience(AUD("{\"all\":[{\"phone_valid\":true},"
				      "{\"subscribed\":\"promo\"}]}"), "{}",
				  0), 0);
}

static void test_sms_entry(void **state)
{
	flowdef *f = ok("{\"id\":\"s\",\"entry\":{\"sms\":{\"group_id\":"
			"\"promo\",\"pattern\":\"^join( now)?$\"}},\"reentry\":"
			"true,\"steps\":[{\"type\":\"user_update\","
			"\"subscription\":{\"group_id\":\"promo\",\"state\":"
			"\"subscribed\"}}]}");

	(void)state;
	assert_null(flowdef_entry_event(f));
	assert_string_equal(flowdef_entry_group(f), "promo");
	assert_int_equal(flowdef_reentry(f), 1);
	assert_int_equal(flowdef_sms_match(f, "JOIN now"), 1);
	assert_int_equal(flowdef_sms_match(f, "please join"), 0);
	assert_int_equal(flowdef_step(f, 0)->sub_state, CONSENT_SUBSCRIBED);
	flowdef_free(f);
}

static void test_refusals(void **state)
{
	(void)state;
	bad("[", "not valid JSON");
	bad("{\"id\":\"x\",\"entry\":{\"event\":\"e\"},\"steps\":[]}", "steps");
	bad("{\"id\":\"x\",\"entry\":{\"event\":\"e\"},\"steps\":[{\"type\":"
	    "\"fax\"}]}", "steps[0].type");
	bad("{\"id\":\"x\",\"entry\":{\"event\":\"e\"},\"steps\":[{\"type\":"
	    "\"sms\",\"group_id\":\"g\",\"body\":\"{{${first_name} | "
	    "upcasee}}\"}]}", "steps[0].body");
	bad("{\"id\":\"x\",\"entry\":{\"event\":\"e\"},\"steps\":[{\"type\":"
	    "\"webhook\",\"url\":\"ftp://h/\"}]}", "steps[0].url");
	bad("{\"id\":\"x\",\"entry\":{\"event\":\"e\"},\"steps\":[{\"type\":"
	    "\"webhook\",\"url\":\"http://h/\",\"method\":\"BREW\"}]}",
	    "steps[0].method");
	bad("{\"id\":\"x\",\"entry\":{\"event\":\"e\"},\"steps\":[{\"type\":"
	    "\"delay\",\"seconds\":0}]}", "steps[0].seconds");
	bad("{\"id\":\"x\",\"entry\":{},\"steps\":[{\"type\":\"delay\","
	    "\"seconds\":1}]}", "entry");
	bad("{\"id\":\"x\",\"entry\":{\"sms\":{\"group_id\":\"g\",\"pattern\":"
	    "\"(\"}},\"steps\":[{\"type\":\"delay\",\"seconds\":1}]}",
	    "pattern");
	bad(AUD("{\"attribute\":\"a\",\"op\":\"like\"}"), "audience.op");
	bad(AUD("{\"attribute\":\"a\",\"op\":\"equals\"}"), "audience.value");
	bad(AUD("{\"all\":[{\"all\":[{\"all\":[{\"all\":[{\"all\":[]}]}]}]}]}"),
	    "deep");
	bad("{\"id\":\"has space\",\"entry\":{\"event\":\"e\"},\"steps\":"
	    "[{\"type\":\"delay\",\"seconds\":1}]}", "id");
	bad("{\"id\":\"x\",\"colour\":1}", "colour");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_flow),
		cmocka_unit_test(test_audience_ops),
		cmocka_unit_test(test_sms_entry),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
