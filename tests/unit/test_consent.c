/*
 * test_consent: unit tests for core/consent (state, source and channel
 * vocabulary, and the "is this a change" rule).
 *
 * The names are what the database stores and the API prints, so they are
 * pinned here letter for letter: renaming one would silently orphan every
 * ledger row written before. consent_is_change() decides whether a ledger
 * entry is appended, so its whole truth table is checked: a repeated
 * request must append nothing, and "unknown" is never a target.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "core/consent.h"

static void test_state_parse_settable(void **state)
{
	consent_state s;

	(void)state;
	s = CONSENT_UNKNOWN;
	assert_int_equal(consent_state_parse("subscribed", &s), 0);
	assert_int_equal(s, CONSENT_SUBSCRIBED);
	assert_int_equal(consent_state_parse("unsubscribed", &s), 0);
	assert_int_equal(s, CONSENT_UNSUBSCRIBED);
}

/* "unknown" is readable from storage but never settable by a client. */
static void test_state_parse_refuses(void **state)
{
	static const char *const bad[] = {
		"unknown", "Subscribed", "SUBSCRIBED", "subscribed ",
		" subscribed", "subscribe", "", "opted_in", "unsubscribed\n",
	};
	consent_state s;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		s = CONSENT_SUBSCRIBED;
		assert_int_equal(consent_state_parse(bad[i], &s), -1);
		/* A refused value leaves the output alone. */
		assert_int_equal(s, CONSENT_SUBSCRIBED);
	}
	assert_int_equal(consent_state_parse(NULL, &s), -1);
}

static void test_state_from_name(void **state)
{
	consent_state s;

	(void)state;
	s = CONSENT_SUBSCRIBED;
	assert_int_equal(consent_state_from_name("unknown", &s), 0);
	assert_int_equal(s, CONSENT_UNKNOWN);
	assert_int_equal(consent_state_from_name("subscribed", &s), 0);
	assert_int_equal(s, CONSENT_SUBSCRIBED);
	assert_int_equal(consent_state_from_name("unsubscribed", &s), 0);
	assert_int_equal(s, CONSENT_UNSUBSCRIBED);
	assert_int_equal(consent_state_from_name("Unknown", &s), -1);
	assert_int_equal(consent_state_from_name("", &s), -1);
	assert_int_equal(consent_state_from_name(NULL, &s), -1);
}

static void test_state_names_and_labels(void **state)
{
	(void)state;
	assert_string_equal(consent_state_name(CONSENT_UNKNOWN), "unknown");
	assert_string_equal(consent_state_name(CONSENT_SUBSCRIBED),
			    "subscribed");
	assert_string_equal(consent_state_name(CONSENT_UNSUBSCRIBED),
			    "unsubscribed");
	assert_string_equal(consent_state_label(CONSENT_UNKNOWN), "Unknown");
	assert_string_equal(consent_state_label(CONSENT_SUBSCRIBED),
			    "Subscribed");
	assert_string_equal(consent_state_label(CONSENT_UNSUBSCRIBED),
			    "Unsubscribed");
	/* Out of range (a corrupt row, a bad cast) reads as unknown. */
	assert_string_equal(consent_state_name((consent_state)3), "unknown");
	assert_string_equal(consent_state_name((consent_state)-1), "unknown");
	assert_string_equal(consent_state_label((consent_state)99), "Unknown");
	assert_string_equal(consent_state_label((consent_state)-1), "Unknown");
}

/* Every stored name reads back as the state it was written from. */
static void test_state_round_trip(void **state)
{
	(void)state;
	for (int i = CONSENT_UNKNOWN; i <= CONSENT_UNSUBSCRIBED; i++) {
		consent_state s = (consent_state)-1;

		assert_int_equal(consent_state_from_name(
					 consent_state_name((consent_state)i),
					 &s), 0);
		assert_int_equal(s, i);
	}
}

static void test_source_names(void **state)
{
	static const char *const want[CONSENT_SRC__COUNT] = {
		[CONSENT_SRC_API] = "api",
		[CONSENT_SRC_KEYWORD] = "keyword",
		[CONSENT_SRC_FLOW] = "flow",
		[CONSENT_SRC_FORM] = "form",
		[CONSENT_SRC_SDK] = "sdk",
		[CONSENT_SRC_IMPORT] = "import",
		[CONSENT_SRC_PROVIDER] = "provider",
		[CONSENT_SRC_ADMIN] = "admin",
	};

	(void)state;
	for (int i = 0; i < CONSENT_SRC__COUNT; i++) {
		consent_source src = (consent_source)-1;
		const char *name = consent_source_name((consent_source)i);

		assert_non_null(want[i]);
		assert_string_equal(name, want[i]);
		assert_int_equal(consent_source_parse(name, &src), 0);
		assert_int_equal(src, i);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(name, want[j]);
	}
}

static void test_source_out_of_range(void **state)
{
	(void)state;
	assert_string_equal(consent_source_name(CONSENT_SRC__COUNT), "api");
	assert_string_equal(consent_source_name((consent_source)-1), "api");
	assert_string_equal(consent_source_name((consent_source)1000), "api");
}

static void test_source_parse_refuses(void **state)
{
	static const char *const bad[] = {
		"API", "Api", "", "api ", "keywords", "unknown", "sms",
	};
	consent_source src;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		src = CONSENT_SRC_FLOW;
		assert_int_equal(consent_source_parse(bad[i], &src), -1);
		assert_int_equal(src, CONSENT_SRC_FLOW);
	}
	assert_int_equal(consent_source_parse(NULL, &src), -1);
}

static void test_channel(void **state)
{
	static const char *const bad[] = {
		"SMS", "Email", "e-mail", "mail", "", "sms ", "push",
	};
	consent_channel c;

	(void)state;
	c = CHANNEL_EMAIL;
	assert_int_equal(consent_channel_parse("sms", &c), 0);
	assert_int_equal(c, CHANNEL_SMS);
	assert_int_equal(consent_channel_parse("email", &c), 0);
	assert_int_equal(c, CHANNEL_EMAIL);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		c = CHANNEL_EMAIL;
		assert_int_equal(consent_channel_parse(bad[i], &c), -1);
		assert_int_equal(c, CHANNEL_EMAIL);
	}
	assert_int_equal(consent_channel_parse(NULL, &c), -1);

	assert_string_equal(consent_channel_name(CHANNEL_SMS), "sms");
	assert_string_equal(consent_channel_name(CHANNEL_EMAIL), "email");
	/* The schema only knows 'sms' and 'email'; nothing else comes out. */
	assert_string_equal(consent_channel_name((consent_channel)7), "sms");
	for (int i = CHANNEL_SMS; i <= CHANNEL_EMAIL; i++) {
		const char *name = consent_channel_name((consent_channel)i);

		assert_int_equal(consent_channel_parse(name, &c), 0);
		assert_int_equal(c, i);
	}
}

static void test_is_change_truth_table(void **state)
{
	/* want[old][want]: only a real move to a settable state counts. */
	static const int want[3][3] = {
		/*               UNKNOWN SUBSCRIBED UNSUBSCRIBED */
		/* UNKNOWN */      {0,     1,         1},
		/* SUBSCRIBED */   {0,     0,         1},
		/* UNSUBSCRIBED */ {0,     1,         0},
	};

	(void)state;
	for (int o = 0; o < 3; o++)
		for (int w = 0; w < 3; w++)
			assert_int_equal(consent_is_change((consent_state)o,
							   (consent_state)w),
					 want[o][w]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_parse_settable),
		cmocka_unit_test(test_state_parse_refuses),
		cmocka_unit_test(test_state_from_name),
		cmocka_unit_test(test_state_names_and_labels),
		cmocka_unit_test(test_state_round_trip),
		cmocka_unit_test(test_source_names),
		cmocka_unit_test(test_source_out_of_range),
		cmocka_unit_test(test_source_parse_refuses),
		cmocka_unit_test(test_channel),
		cmocka_unit_test(test_is_change_truth_table),
	};

	return cmocka_run_group_tests_name("consent", tests, NULL, NULL);
}
