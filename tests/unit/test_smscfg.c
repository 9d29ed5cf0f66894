/*
 * test_smscfg: unit tests for core/smscfg, a group's SMS settings.
 *
 * The document is what an admin PUTs, so every part has a test that a
 * good value works (keywords classify, replies come back in the right
 * language with the English fallback) and that a bad one is refused
 * with a message naming the part. The defaults are checked for CTIA's
 * required content, because they are what most brands will send.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/smscfg.h"

static smscfg *parse_ok(const char *json)
{
	char err[SMSCFG_ERR_MAX];
	smscfg *c = NULL;

	if (smscfg_parse(json, strlen(json), "Acme", &c, err) != SMSCFG_OK)
		fail_msg("refused: %s (%s)", err, json);
	return c;
}

/* The document is refused and the message names `part`. */
static void parse_bad(const char *json, const char *part)
{
	char err[SMSCFG_ERR_MAX];
	smscfg *c = NULL;

	if (smscfg_parse(json, strlen(json), "Acme", &c, err) !=
	    SMSCFG_ERR_INVALID)
		fail_msg("accepted: %s", json);
	assert_null(c);
	if (!strstr(err, part))
		fail_msg("error \"%s\" does not name \"%s\"", err, part);
}

static kw_category classify(const smscfg *c, const char *body, kw_match *m)
{
	kw_classify(smscfg_keywords(c), body, strlen(body), m);
	return m->category;
}

static void test_empty_means_defaults(void **state)
{
	const char *text;
	kw_match m;
	smscfg *c = parse_ok("");

	(void)state;
	assert_int_equal(classify(c, "STOP", &m), KW_OPT_OUT);
	assert_int_equal(classify(c, "start", &m), KW_OPT_IN);
	assert_int_equal(classify(c, "Help", &m), KW_HELP);
	/* "Y" confirms a double opt-in by default. */
	assert_int_equal(classify(c, "y", &m), KW_CUSTOM);
	assert_string_equal(m.custom_name, SMSCFG_CONFIRM);
	assert_int_equal(smscfg_window_days(c), SMSCFG_WINDOW_DAYS);
	text = smscfg_reply_of(c, SMSCFG_R_OPT_IN, NULL);
	assert_non_null(strstr(text, "Acme"));
	smscfg_free(c);
}

/* CTIA: brand, HELP and STOP instructions, rates; at most 300 chars. */
static void test_defaults_meet_ctia(void **state)
{
	const char *text;
	smscfg *c = parse_ok("{\"brand\":\"Bobs Bikes\","
			     "\"help_contact\":\"bobs.example/help\"}");

	(void)state;
	for (int i = 0; i < SMSCFG_R__COUNT; i++) {
		text = smscfg_reply_of(c, i, NULL);
		assert_true(strlen(text) <= SMSCFG_REPLY_MAX);
		assert_non_null(strstr(text, "Bobs Bikes"));
		if (i == SMSCFG_R_OPT_OUT) {
			/* One confirmation, no marketing: how to come back. */
			assert_non_null(strstr(text, "START"));
			continue;
		}
		assert_non_null(strstr(text, "STOP"));
		assert_non_null(strstr(text, "Msg & data rates may apply"));
	}
	text = smscfg_reply_of(c, SMSCFG_R_HELP, NULL);
	assert_non_null(strstr(text, "bobs.example/help"));
	text = smscfg_reply_of(c, SMSCFG_R_DOI_PROMPT, NULL);
	assert_non_null(strstr(text, "Reply Y"));
	smscfg_free(c);
}

static void test_french_keywords_and_replies(void **state)
{
	const char *text;
	kw_match m;
	smscfg *c = parse_ok(
		"{\"languages\":{\"fr\":{\"keywords\":{\"opt_out\":"
		"[\"ARR\xc3\x8aT\"],\"opt_in\":[\"OUI\"],\"help\":[\"AIDE\"]},"
		"\"replies\":{\"opt_out\":\"Vous \xc3\xaates d\xc3\xa9sinscrit.\"}},"
		"\"en\":{\"replies\":{\"help\":\"Custom help. Reply STOP.\"}}}}");

	(void)state;
	assert_int_equal(classify(c, "arr\xc3\xaat", &m), KW_OPT_OUT);
	assert_string_equal(m.lang, "fr");
	text = smscfg_reply_of(c, SMSCFG_R_OPT_OUT, m.lang);
	assert_string_equal(text, "Vous \xc3\xaates d\xc3\xa9sinscrit.");
	/* French opt-in has no French reply: English custom, then default. */
	text = smscfg_reply_of(c, SMSCFG_R_OPT_IN, "fr");
	assert_non_null(strstr(text, "Acme: You are subscribed"));
	text = smscfg_reply_of(c, SMSCFG_R_HELP, "fr");
	assert_string_equal(text, "Custom help. Reply STOP.");
	assert_int_equal(classify(c, "ARRET", &m), KW_OTHER);
	smscfg_free(c);
}

static void test_custom_category(void **state)
{
	char text[SMSCFG_TEXT_MAX];
	kw_match m;
	smscfg *c = parse_ok(
		"{\"categories\":{\"deals\":{\"keywords\":{\"en\":[\"DEALS\"],"
		"\"fr\":[\"PROMOS\"]},\"reply\":{\"en\":\"Deals: shop.example\","
		"\"fr\":\"Promos : shop.example\"}},\"silent\":{\"keywords\":"
		"{\"en\":[\"HUSH\"]}}}}");

	(void)state;
	assert_int_equal(classify(c, "deals!", &m), KW_CUSTOM);
	assert_string_equal(m.custom_name, "deals");
	assert_int_equal(smscfg_custom_reply(c, "deals", "fr", text), 1);
	assert_string_equal(text, "Promos : shop.example");
	assert_int_equal(smscfg_custom_reply(c, "deals", "de", text), 1);
	assert_string_equal(text, "Deals: shop.example");
	assert_int_equal(classify(c, "hush", &m), KW_CUSTOM);
	assert_int_equal(smscfg_custom_reply(c, "silent", "en", text), 0);
	smscfg_free(c);
}

static void test_double_opt_in_settings(void **state)
{
	const char *text;
	kw_match m;
	smscfg *c = parse_ok("{\"double_opt_in\":{\"confirm_keywords\":"
			     "[\"OUI\",\"CONFIRM\"],\"window_days\":7}}");

	(void)state;
	assert_int_equal(smscfg_window_days(c), 7);
	assert_int_equal(classify(c, "confirm", &m), KW_CUSTOM);
	assert_string_equal(m.custom_name, SMSCFG_CONFIRM);
	/* Chosen words replace "Y". */
	assert_int_equal(classify(c, "Y", &m), KW_OTHER);
	text = smscfg_reply_of(c, SMSCFG_R_DOI_PROMPT, NULL);
	assert_non_null(strstr(text, "Reply OUI"));
	smscfg_free(c);
}

static void test_provider_override(void **state)
{
	smscfg *c = parse_ok("{\"provider\":{\"kind\":\"twilio\","
			     "\"twilio_account_sid\":\"AC123\","
			     "\"twilio_auth_token\":\"tok\"}}");
	const smscfg_provider *p = smscfg_provider_of(c);

	(void)state;
	assert_string_equal(p->kind, "twilio");
	assert_string_equal(p->twilio_account_sid, "AC123");
	assert_string_equal(p->kannel_sendsms_url, "");
	smscfg_free(c);
}

static void test_refusals(void **state)
{
	char big[400], doc[600];

	(void)state;
	memset(big, 'a', 301);
	big[301] = '\0';
	parse_bad("[]", "JSON object");
	parse_bad("{", "not valid JSON");
	parse_bad("{\"brand\":\"a\",\"brand\":\"b\"}", "not valid JSON");
	parse_bad("{\"colour\":1}", "colour");
	parse_bad("{\"brand\":\"\"}", "brand");
	parse_bad("{\"brand\":7}", "brand");
	parse_bad("{\"languages\":{\"FR\":{}}}", "FR");
	parse_bad("{\"languages\":{\"fr\":{\"keywords\":{\"stop\":[\"X\"]}}}}",
		  "languages.fr.keywords.stop");
	parse_bad("{\"languages\":{\"fr\":{\"keywords\":{\"opt_out\":"
		  "[\"STOP\"]}}}}", "STOP");
	parse_bad("{\"languages\":{\"fr\":{\"keywords\":{\"opt_out\":"
		  "[\"DEUX MOTS\"]}}}}", "DEUX MOTS");
	parse_bad("{\"languages\":{\"fr\":{\"keywords\":{\"opt_out\":"
		  "[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"]}}}}", "opt_out");
	parse_bad("{\"languages\":{\"fr\":{\"keywords\":{\"opt_out\":[\"A\","
		  "\"B\",\"C\",\"D\",\"E\",\"F\",\"G\",\"H\",\"I\",\"J\",\"K\","
		  "\"L\",\"M\",\"N\",\"O\",\"P\",\"Q\",\"R\",\"S\",\"T\",\"U\"]}}}}",
		  "at most 20");
	snprintf(doc, sizeof doc, "{\"languages\":{\"en\":{\"replies\":"
		 "{\"help\":\"%s\"}}}}", big);
	parse_bad(doc, "300 characters");
	parse_bad("{\"languages\":{\"en\":{\"replies\":{\"bye\":\"x\"}}}}",
		  "bye");
	parse_bad("{\"categories\":{\"help\":{\"keywords\":{\"en\":[\"X\"]}}}}",
		  "help");
	parse_bad("{\"categories\":{\"deals\":{\"reply\":{\"en\":\"x\"}}}}",
		  "keywords");
	parse_bad("{\"categories\":{\"a\":{\"keywords\":{\"en\":[\"DUP\"]}},"
		  "\"b\":{\"keywords\":{\"en\":[\"dup\"]}}}}", "already");
	parse_bad("{\"double_opt_in\":{\"window_days\":0}}", "window_days");
	parse_bad("{\"double_opt_in\":{\"confirm_keywords\":[]}}",
		  "confirm_keywords");
	parse_bad("{\"double_opt_in\":{\"confirm_keywords\":[\"YES\"]}}",
		  "YES");
	parse_bad("{\"provider\":{\"kind\":\"smoke\"}}", "provider.kind");
	parse_bad("{\"provider\":{\"password\":\"x\"}}", "provider.password");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_means_defaults),
		cmocka_unit_test(test_defaults_meet_ctia),
		cmocka_unit_test(test_french_keywords_and_replies),
		cmocka_unit_test(test_custom_category),
		cmocka_unit_test(test_double_opt_in_settings),
		cmocka_unit_test(test_provider_override),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
