/*
 * test_twsig: unit tests for sms/twilio_sig (X-Twilio-Signature).
 *
 * The first vector is the example on Twilio's webhook security page; it
 * and the others were checked independently with
 *   printf '%s' "$TEXT" | openssl dgst -sha1 -hmac "$TOKEN" -binary | base64
 * where TEXT is the URL followed by each sorted name and value. A
 * signature that verified when it should not is a forged STOP or START,
 * so every way a request can differ from the signed one must fail: the
 * token, the URL, a value, a parameter added or dropped, the header
 * absent, short, long or differing in one character.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sms/twilio_sig.h"

#define DOC_TOKEN "12345"
#define DOC_URL "https://mycompany.com/myapp.php?foo=1&bar=2"
#define DOC_SIG "0/KCTR6DLpKmkAf8muzZqo1nDgQ="

/* Twilio's example parameters, deliberately out of order. */
static const twsig_param doc[] = {
	{"To", "+18005551212"},
	{"Caller", "+12349013030"},
	{"Digits", "1234"},
	{"CallSid", "CA1234567890ABCDE"},
	{"From", "+12349013030"},
};
#define NDOC (sizeof doc / sizeof *doc)

static void test_documented_vector(void **state)
{
	char sig[TWSIG_LEN + 1];

	(void)state;
	assert_int_equal(twsig_compute(DOC_TOKEN, DOC_URL, doc, NDOC, sig), 0);
	assert_string_equal(sig, DOC_SIG);
	assert_int_equal(twsig_check(DOC_TOKEN, DOC_URL, doc, NDOC, DOC_SIG),
			 1);
}

/* A text longer than the MAC is given at once, cut mid-value. */
static void test_long_value(void **state)
{
	static char body[5001];
	twsig_param p[] = {{"From", "+12349013030"}, {"Body", body}};
	char sig[TWSIG_LEN + 1];

	(void)state;
	memset(body, 'x', sizeof body - 1);
	assert_int_equal(twsig_compute(DOC_TOKEN, DOC_URL, p, 2, sig), 0);
	assert_string_equal(sig, "ovVZQ97mf2mS75sH1dNgKBU8+G8=");
	body[4999] = 'y';
	assert_int_equal(twsig_compute(DOC_TOKEN, DOC_URL, p, 2, sig), 0);
	assert_string_not_equal(sig, "ovVZQ97mf2mS75sH1dNgKBU8+G8=");
}

static void test_wrong_token(void **state)
{
	(void)state;
	assert_int_equal(twsig_check("12346", DOC_URL, doc, NDOC, DOC_SIG), 0);
	assert_int_equal(twsig_check("", DOC_URL, doc, NDOC, DOC_SIG), 0);
}

static void test_wrong_url(void **state)
{
	(void)state;
	/* The query string is signed; so is the scheme. */
	assert_int_equal(twsig_check(DOC_TOKEN,
				     "https://mycompany.com/myapp.php?foo=1",
				     doc, NDOC, DOC_SIG), 0);
	assert_int_equal(twsig_check(DOC_TOKEN,
				     "http://mycompany.com/myapp.php?foo=1&bar=2",
				     doc, NDOC, DOC_SIG), 0);
}

static void test_changed_param(void **state)
{
	twsig_param p[NDOC];

	(void)state;
	memcpy(p, doc, sizeof p);
	p[2].value = "1235";
	assert_int_equal(twsig_check(DOC_TOKEN, DOC_URL, p, NDOC, DOC_SIG), 0);
	/* A value moved from one name to another changes the text too. */
	memcpy(p, doc, sizeof p);
	p[2].name = "digits";
	assert_int_equal(twsig_check(DOC_TOKEN, DOC_URL, p, NDOC, DOC_SIG), 0);
}

static void test_extra_and_missing_param(void **state)
{
	twsig_param p[NDOC + 1];

	(void)state;
	memcpy(p, doc, sizeof doc);
	p[NDOC] = (twsig_param){"OptOutType", "STOP"};
	assert_int_equal(twsig_check(DOC_TOKEN, DOC_URL, p, NDOC + 1, DOC_SIG),
			 0);
	/* Empty name and value add nothing to the text: still the same. */
	p[NDOC] = (twsig_param){"", ""};
	assert_int_equal(twsig_check(DOC_TOKEN, DOC_URL, p, NDOC + 1, DOC_SIG),
			 1);
	assert_int_equal(twsig_check(DOC_TOKEN, DOC_URL, doc, NDOC - 1,
				     DOC_SIG), 0);
	assert_int_equal(twsig_check(DOC_TOKEN, DOC_URL, NULL, 0, DOC_SIG), 0);
}

static void test_bad_header(void **state)
{
	char sig[TWSIG_LEN + 2];

	(void)state;
	assert_int_equal(twsig_check(DOC_TOKEN, DOC_URL, doc, NDOC, NULL), 0);
	assert_int_equal(twsig_check(DOC_TOKEN, DOC_URL, doc, NDOC, ""), 0);
	snprintf(sig, sizeof sig, "%.27s", DOC_SIG);
	assert_int_equal(twsig_check(DOC_TOKEN, DOC_URL, doc, NDOC, sig), 0);
	snprintf(sig, sizeof sig, "%sA", DOC_SIG);
	assert_int_equal(twsig_check(DOC_TOKEN, DOC_URL, doc, NDOC, sig), 0);
	for (int i = 0; i < TWSIG_LEN; i++) {
		memcpy(sig, DOC_SIG, TWSIG_LEN + 1);
		sig[i] = sig[i] == 'A' ? 'B' : 'A';
		assert_int_equal(twsig_check(DOC_TOKEN, DOC_URL, doc, NDOC,
					     sig), 0);
	}
}

static void test_too_many_params(void **state)
{
	static twsig_param p[TWSIG_PARAMS_MAX + 1];
	static char names[TWSIG_PARAMS_MAX + 1][16];
	char sig[TWSIG_LEN + 1];

	(void)state;
	for (int i = 0; i <= TWSIG_PARAMS_MAX; i++) {
		snprintf(names[i], sizeof names[i], "p%d", i);
		p[i] = (twsig_param){names[i], "v"};
	}
	assert_int_equal(twsig_compute(DOC_TOKEN, DOC_URL, p,
				       TWSIG_PARAMS_MAX, sig), 0);
	assert_int_equal(twsig_check(DOC_TOKEN, DOC_URL, p, TWSIG_PARAMS_MAX,
				     sig), 1);
	assert_int_equal(twsig_compute(DOC_TOKEN, DOC_URL, p,
				       TWSIG_PARAMS_MAX + 1, sig), -1);
	assert_int_equal(twsig_check(DOC_TOKEN, DOC_URL, p,
				     TWSIG_PARAMS_MAX + 1, sig), 0);
}

static void test_text_limit(void **state)
{
	char *big = malloc(TWSIG_TEXT_MAX + 1);
	char sig[TWSIG_LEN + 1];
	twsig_param p[1] = {{"Body", big}};
	size_t url_len = strlen(DOC_URL);

	(void)state;
	assert_non_null(big);
	/* Exactly at the limit: URL + "Body" + value. */
	memset(big, 'x', TWSIG_TEXT_MAX);
	big[TWSIG_TEXT_MAX - url_len - 4] = '\0';
	assert_int_equal(twsig_compute(DOC_TOKEN, DOC_URL, p, 1, sig), 0);
	big[TWSIG_TEXT_MAX - url_len - 4] = 'x';
	big[TWSIG_TEXT_MAX - url_len - 3] = '\0';
	assert_int_equal(twsig_compute(DOC_TOKEN, DOC_URL, p, 1, sig), -1);
	free(big);
}

/* Byte order: capitals sort before small letters ("B" < "a"). */
static void test_byte_order(void **state)
{
	const twsig_param p[] = {{"a", "1"}, {"B", "x"}};
	char sig[TWSIG_LEN + 1];

	(void)state;
	assert_int_equal(twsig_compute("tok", "https://x.test/hook", p, 2, sig),
			 0);
	assert_string_equal(sig, "73yrIq+VgTV5X7pMpnzXgxfRcTc=");
}

/* A repeated name sorts by value, whatever order it arrived in. */
static void test_repeated_name(void **state)
{
	const twsig_param a[] = {{"A", "2"}, {"A", "1"}};
	const twsig_param b[] = {{"A", "1"}, {"A", "2"}};
	char sa[TWSIG_LEN + 1], sb[TWSIG_LEN + 1];

	(void)state;
	assert_int_equal(twsig_compute("tok", "https://x.test/hook", a, 2, sa),
			 0);
	assert_int_equal(twsig_compute("tok", "https://x.test/hook", b, 2, sb),
			 0);
	assert_string_equal(sa, "wAOYfzBnH4UxY+jTtZnQwLhUxHM=");
	assert_string_equal(sb, sa);
}

/* No parameters (a GET): the URL alone; a NULL value signs as "". */
static void test_url_only_and_null_value(void **state)
{
	const twsig_param p[] = {{"X", ""}, {"Empty", NULL}};
	char sig[TWSIG_LEN + 1];

	(void)state;
	assert_int_equal(twsig_compute("tok", "https://x.test/hook?k=v", NULL,
				       0, sig), 0);
	assert_string_equal(sig, "7SaKw0+CyrqwGz9DxNTjIRTmJP8=");
	assert_int_equal(twsig_compute("tok", "https://x.test/hook", p, 2, sig),
			 0);
	assert_string_equal(sig, "ziJK4RCBPdjsMazh+r9dsIDzPU4=");
}

static void test_bad_args(void **state)
{
	const twsig_param p[] = {{NULL, "x"}};
	char sig[TWSIG_LEN + 1];

	(void)state;
	assert_int_equal(twsig_compute(NULL, DOC_URL, doc, NDOC, sig), -1);
	assert_int_equal(twsig_compute(DOC_TOKEN, NULL, doc, NDOC, sig), -1);
	assert_int_equal(twsig_compute(DOC_TOKEN, DOC_URL, NULL, 1, sig), -1);
	assert_int_equal(twsig_compute(DOC_TOKEN, DOC_URL, doc, NDOC, NULL),
			 -1);
	assert_int_equal(twsig_compute(DOC_TOKEN, DOC_URL, p, 1, sig), -1);
	assert_int_equal(twsig_check(NULL, DOC_URL, doc, NDOC, DOC_SIG), 0);
}

/* A thread keeps its last token keyed: switching tokens back and forth,
 * and a token too long to keep, give the same answers every time. */
static void test_token_changes(void **state)
{
	char long_token[300];

	(void)state;
	memset(long_token, 'k', sizeof long_token - 1);
	long_token[sizeof long_token - 1] = '\0';
	for (int i = 0; i < 3; i++) {
		assert_int_equal(twsig_check(DOC_TOKEN, DOC_URL, doc, NDOC,
					     DOC_SIG), 1);
		assert_int_equal(twsig_check("12346", DOC_URL, doc, NDOC,
					     DOC_SIG), 0);
		assert_int_equal(twsig_check(long_token, DOC_URL, doc, NDOC,
					     DOC_SIG), 0);
	}
	/* A failed check leaves nothing half-fed for the next one. */
	assert_int_equal(twsig_check(DOC_TOKEN, DOC_URL, doc, NDOC, "short"),
			 0);
	assert_int_equal(twsig_check(DOC_TOKEN, DOC_URL, doc, NDOC, DOC_SIG),
			 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_documented_vector),
		cmocka_unit_test(test_long_value),
		cmocka_unit_test(test_wrong_token),
		cmocka_unit_test(test_wrong_url),
		cmocka_unit_test(test_changed_param),
		cmocka_unit_test(test_extra_and_missing_param),
		cmocka_unit_test(test_bad_header),
		cmocka_unit_test(test_too_many_params),
		cmocka_unit_test(test_text_limit),
		cmocka_unit_test(test_byte_order),
		cmocka_unit_test(test_repeated_name),
		cmocka_unit_test(test_url_only_and_null_value),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_token_changes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
