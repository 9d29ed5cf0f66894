/*
 * test_form: unit tests for core/form (the hosted form's rules).
 *
 * The disclosure check is what stands between a brand and an SMS box
 * without STOP and HELP; the submission reader decides what a person
 * agreed to, so an unticked box must mean nothing and every mistake must
 * land beside its own field; the token is the form's only defence
 * against pages elsewhere sending it, so a token of another form, another
 * cookie, another secret or another day must be refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "core/form.h"

#define NONCE "0123456789abcdef0123456789abcdef"
#define NOW 1800000000000LL

static void test_sms_text(void **state)
{
	(void)state;
	assert_null(form_sms_text_missing("Acme: 4 msgs/mo. Msg & data rates "
					  "may apply. Reply STOP to cancel, "
					  "HELP for help."));
	assert_null(form_sms_text_missing("reply stop or help; rates may "
					  "apply"));
	assert_string_equal(form_sms_text_missing("Rates may apply. HELP."),
			    "STOP");
	assert_string_equal(form_sms_text_missing("STOPPED. HELP. rates may "
						  "apply"), "STOP");
	assert_string_equal(form_sms_text_missing("STOP. rates may apply"),
			    "HELP");
	assert_string_equal(form_sms_text_missing("STOP, HELP"),
			    "\"rates may apply\"");
	assert_string_equal(form_sms_text_missing(NULL), "STOP");
}

static void test_url(void **state)
{
	(void)state;
	assert_null(form_url_check("https://acme.example/thanks?a=1"));
	assert_null(form_url_check("http://127.0.0.1:8080/"));
	assert_non_null(form_url_check(""));
	assert_non_null(form_url_check("javascript:alert(1)"));
	assert_non_null(form_url_check("//evil.example/"));
	assert_non_null(form_url_check("https:///path"));
	assert_non_null(form_url_check("https://a.example/\r\nSet-Cookie: x"));
	assert_non_null(form_url_check("https://a.example/a b"));
}

static const form_box boxes[2] = {{"promos", CHANNEL_SMS},
				  {"news", CHANNEL_EMAIL}};

static void read(form_post *p, const char *const *kv, size_t n)
{
	const char *name[16], *value[16];

	for (size_t i = 0; i < n; i++) {
		name[i] = kv[2 * i];
		value[i] = kv[2 * i + 1];
	}
	form_post_read(p, name, value, n, boxes, 2, "US");
}

static void test_post_good(void **state)
{
	static const char *const kv[] = {
		"phone", "  (201) 555-0123 ", "email", "Ann@Example.COM",
		"group", "promos", "group", "promos", "group", "elsewhere",
		"token", "t", "phone", "ignored",
	};
	form_post p;

	(void)state;
	read(&p, kv, 7);
	assert_int_equal(p.n_errors, 0);
	assert_true(p.has_phone);
	assert_string_equal(p.phone.e164, "+12015550123");
	assert_string_equal(p.phone_typed, "(201) 555-0123");
	assert_true(p.has_email);
	assert_string_equal(p.email, "Ann@example.com");
	assert_int_equal(p.n_ticked, 1);
	assert_true(p.ticked[0]);
	assert_false(p.ticked[1]);
	assert_string_equal(p.token, "t");
}

static void test_post_errors(void **state)
{
	static const char *const bad_phone[] = {"phone", "<b>x", "group",
						"promos"};
	static const char *const no_phone[] = {"email", "a@b.example",
					       "group", "promos", "group",
					       "news"};
	static const char *const bad_email[] = {"email", "a@", "group",
						"news"};
	static const char *const nothing[] = {"phone", "+12015550123"};
	form_post p;

	(void)state;
	read(&p, bad_phone, 2);
	assert_int_equal(p.n_errors, 1);
	assert_true(p.phone_err[0]);
	assert_string_equal(p.phone_typed, "<b>x");
	assert_false(p.has_phone);
	read(&p, no_phone, 3);
	assert_int_equal(p.n_errors, 1);
	assert_true(p.phone_err[0] && !p.email_err[0]);
	read(&p, bad_email, 2);
	assert_int_equal(p.n_errors, 1);
	assert_true(p.email_err[0]);
	read(&p, nothing, 1);
	assert_int_equal(p.n_errors, 1);
	assert_true(p.boxes_err[0]);
	assert_true(p.has_phone);
}

/* What was typed is kept, cut to the limit at a character boundary. */
static void test_post_long(void **state)
{
	char big[FORM_INPUT_MAX * 2];
	const char *kv[] = {"phone", big, "group", "promos"};
	form_post p;

	(void)state;
	memset(big, '1', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	memcpy(big + FORM_INPUT_MAX - 1, "\xc3\xa9", 2); /* across the cut */
	read(&p, kv, 2);
	assert_true(p.phone_err[0]);
	assert_int_equal(strlen(p.phone_typed), FORM_INPUT_MAX - 1);
}

static void test_token(void **state)
{
	char t[FORM_TOKEN_MAX + 1], other[FORM_TOKEN_MAX + 1];

	(void)state;
	assert_int_equal(form_token_make("s3cret", "join", NONCE, NOW, t), 0);
	assert_int_equal(form_token_check("s3cret", "join", NONCE, t, NOW), 0);
	assert_int_equal(form_token_check("s3cret", "join", NONCE, t,
					  NOW + FORM_TOKEN_TTL_MS), 0);
	assert_int_equal(form_token_check("s3cret", "join", NONCE, t,
					  NOW + FORM_TOKEN_TTL_MS + 1), -1);
	assert_int_equal(form_token_check("s3cret", "join", NONCE, t,
					  NOW - 120000), -1);
	assert_int_equal(form_token_check("other", "join", NONCE, t, NOW), -1);
	assert_int_equal(form_token_check("s3cret", "news", NONCE, t, NOW), -1);
	assert_int_equal(form_token_check("s3cret", "join",
					  "fedcba9876543210fedcba9876543210",
					  t, NOW), -1);
	assert_int_equal(form_token_check("s3cret", "join", NULL, t, NOW), -1);
	assert_int_equal(form_token_check("s3cret", "join", NONCE, NULL, NOW),
			 -1);
	strcpy(other, t);
	other[strlen(other) - 1] ^= 1;
	assert_int_equal(form_token_check("s3cret", "join", NONCE, other, NOW),
			 -1);
	assert_int_equal(form_token_check("s3cret", "join", NONCE, "+1.x",
					  NOW), -1);
	assert_int_equal(form_token_make("", "join", NONCE, NOW, t), -1);
	assert_true(form_nonce_ok(NONCE));
	assert_false(form_nonce_ok("0123456789ABCDEF0123456789abcdef"));
	assert_false(form_nonce_ok("abc"));
	assert_false(form_nonce_ok(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sms_text),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_post_good),
		cmocka_unit_test(test_post_errors),
		cmocka_unit_test(test_post_long),
		cmocka_unit_test(test_token),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
