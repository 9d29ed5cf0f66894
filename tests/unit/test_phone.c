/*
 * test_phone: unit tests for core/phone (the libphonenumber shim).
 *
 * Expected numbers are pinned to Debian 12's libphonenumber 8.12 metadata;
 * only well-established ranges are used so a metadata update should not
 * flip them. Every error path also checks that *out comes back zeroed,
 * because callers may log or store it without looking at the result.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/phone.h"
#include "core/phone_int.h"

static phone_err norm(const char *s, const char *region, phone_info *out)
{
	return phone_normalize(s, strlen(s), region, out);
}

/* Poison first, so "zeroed on error" cannot pass by accident. */
static void expect_region(const char *e164, const char *want)
{
	char region[PHONE_REGION_MAX + 1];

	phone_region_of(e164, region);
	assert_string_equal(region, want);
}

static void expect_err(const char *s, size_t len, const char *region,
		       phone_err want)
{
	phone_info info;
	phone_info zero;

	memset(&info, 0xa5, sizeof info);
	memset(&zero, 0, sizeof zero);
	assert_int_equal(phone_normalize(s, len, region, &info), want);
	assert_memory_equal(&info, &zero, sizeof info);
}

static void expect_e164(const char *s, const char *region, const char *want)
{
	phone_info info;

	memset(&info, 0xa5, sizeof info);
	assert_int_equal(norm(s, region, &info), PHONE_OK);
	assert_string_equal(info.e164, want);
}

static void test_us_national_valid(void **state)
{
	phone_info info;

	(void)state;
	assert_int_equal(norm("(650) 253-0000", "US", &info), PHONE_OK);
	assert_string_equal(info.e164, "+16502530000");
	expect_region(info.e164, "US");
	assert_int_equal(info.valid, 1);
	assert_int_equal(info.type, PHONE_TYPE_FIXED_LINE_OR_MOBILE);
}

/* The seed's own number: possible, unassigned, and must be accepted. */
static void test_possible_not_valid(void **state)
{
	phone_info info;

	(void)state;
	assert_int_equal(norm("+1 (222) 333-4444", "US", &info), PHONE_OK);
	assert_string_equal(info.e164, "+12223334444");
	expect_region(info.e164, "");
	assert_int_equal(info.valid, 0);
	assert_int_equal(info.type, PHONE_TYPE_UNKNOWN);
}

static void test_e164_input(void **state)
{
	(void)state;
	expect_e164("+12223334444", "US", "+12223334444");
	expect_e164("+12223334444", "FR", "+12223334444");
	expect_e164("+33612345678", "US", "+33612345678");
}

static void test_fr_mobile(void **state)
{
	phone_info info;

	(void)state;
	assert_int_equal(norm("+33 6 12 34 56 78", "US", &info), PHONE_OK);
	assert_string_equal(info.e164, "+33612345678");
	expect_region(info.e164, "FR");
	assert_int_equal(info.valid, 1);
	assert_int_equal(info.type, PHONE_TYPE_MOBILE);
}

static void test_fr_national(void **state)
{
	(void)state;
	expect_e164("06 12 34 56 78", "FR", "+33612345678");
	expect_e164("06.12.34.56.78", "FR", "+33612345678");
}

/* The US dials 011 abroad, so without the rewrite this is +1 0033... */
static void test_double_zero_is_plus(void **state)
{
	(void)state;
	expect_e164("0033 6 12 34 56 78", "US", "+33612345678");
	expect_e164("0033 6 12 34 56 78", "FR", "+33612345678");
	expect_e164("00 33 6 12 34 56 78", "US", "+33612345678");
	expect_e164("001 650 253 0000", "FR", "+16502530000");
}

static void test_double_zero_after_space(void **state)
{
	(void)state;
	expect_e164("   0033612345678", "US", "+33612345678");
	expect_e164("\t 0033612345678\r\n", "US", "+33612345678");
	/* Nothing but the prefix left. */
	expect_err("00", 2, "US", PHONE_ERR_PARSE);
}

static void test_us_idd_011(void **state)
{
	(void)state;
	expect_e164("011 33 6 12 34 56 78", "US", "+33612345678");
}

static void test_lower_case_region(void **state)
{
	phone_info info;

	(void)state;
	expect_e164("06 12 34 56 78", "fr", "+33612345678");
	expect_e164("06 12 34 56 78", "Fr", "+33612345678");
	assert_int_equal(norm("(650) 253-0000", "us", &info), PHONE_OK);
	assert_string_equal(info.e164, "+16502530000");
	/* The output region is always upper-case, whatever came in. */
	expect_region(info.e164, "US");
}

static void test_bad_region(void **state)
{
	static const char *const bad[] = {
		"XX", "ZZ", "zz", "", "U", "USA", "001", "1A", "U ",
		"\xc3\x9cS", /* "ÜS": a letter, but not an ASCII one */
	};

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_err("+33612345678", 12, bad[i], PHONE_ERR_REGION);
	expect_err("+33612345678", 12, NULL, PHONE_ERR_REGION);
}

static void test_region_ok(void **state)
{
	(void)state;
	assert_int_equal(phone_region_ok("US"), 1);
	assert_int_equal(phone_region_ok("fr"), 1);
	assert_int_equal(phone_region_ok("gB"), 1);
	assert_int_equal(phone_region_ok("ZZ"), 0);
	assert_int_equal(phone_region_ok("XX"), 0);
	assert_int_equal(phone_region_ok("001"), 0);
	assert_int_equal(phone_region_ok("USA"), 0);
	assert_int_equal(phone_region_ok(""), 0);
	assert_int_equal(phone_region_ok(NULL), 0);
}

static void test_empty(void **state)
{
	(void)state;
	expect_err("", 0, "US", PHONE_ERR_EMPTY);
	expect_err("   ", 3, "US", PHONE_ERR_EMPTY);
	expect_err(" \t\r\n\v\f", 6, "US", PHONE_ERR_EMPTY);
	expect_err(NULL, 0, "US", PHONE_ERR_EMPTY);
	/* Only len counts: the bytes past it are not looked at. */
	expect_err("+33612345678", 0, "US", PHONE_ERR_EMPTY);
}

/* 64 bytes is the last length looked at; 65 is refused unread. */
static void test_length_boundary(void **state)
{
	char buf[PHONE_INPUT_MAX + 2];
	phone_info info;

	(void)state;
	memset(buf, ' ', sizeof buf);
	memcpy(buf, "+33612345678", 12);
	assert_int_equal(phone_normalize(buf, PHONE_INPUT_MAX, "US", &info),
			 PHONE_OK);
	assert_string_equal(info.e164, "+33612345678");
	expect_err(buf, PHONE_INPUT_MAX + 1, "US", PHONE_ERR_TOO_LONG);

	/* Length is checked before anything else, content or region. */
	memset(buf, '\0', sizeof buf);
	expect_err(buf, PHONE_INPUT_MAX + 1, "XX", PHONE_ERR_TOO_LONG);
	expect_err(buf, PHONE_INPUT_MAX, "US", PHONE_ERR_PARSE);
	memset(buf, ' ', sizeof buf);
	expect_err(buf, PHONE_INPUT_MAX, "US", PHONE_ERR_EMPTY);
	expect_err(buf, PHONE_INPUT_MAX + 1, "US", PHONE_ERR_TOO_LONG);
}

static void test_not_a_number(void **state)
{
	(void)state;
	expect_err("abc", 3, "US", PHONE_ERR_PARSE);
	expect_err("+", 1, "US", PHONE_ERR_PARSE);
	expect_err("1", 1, "US", PHONE_ERR_PARSE);
	expect_err("hello world", 11, "FR", PHONE_ERR_PARSE);
	expect_err("\xe3\x80\x80", 3, "US", PHONE_ERR_PARSE); /* U+3000 */
}

static void test_impossible(void **state)
{
	(void)state;
	expect_err("+1 555", 6, "US", PHONE_ERR_IMPOSSIBLE);
	expect_err("12", 2, "US", PHONE_ERR_IMPOSSIBLE);
	expect_err("+999 1234", 9, "US", PHONE_ERR_IMPOSSIBLE);
	expect_err("+1 650 253 0000 1234567890", 26, "US",
		   PHONE_ERR_IMPOSSIBLE);
	/* Short codes are not numbers we can normalise. */
	expect_err("12345", 5, "US", PHONE_ERR_IMPOSSIBLE);
}

/* libphonenumber calls this possible; E.164 stops at 15 digits. */
static void test_over_fifteen_digits(void **state)
{
	(void)state;
	expect_err("+49 123456789012345", 19, "US", PHONE_ERR_IMPOSSIBLE);
}

/*
 * "+84 0 0234 5678" keeps its 0 in +8402345678, which reads back as
 * +842345678; a key that moves when re-read is refused.
 */
static void test_unstable_refused(void **state)
{
	(void)state;
	expect_err("+84 0 0234 5678", 15, "US", PHONE_ERR_IMPOSSIBLE);
	expect_err("011840 0234 5678", 16, "US", PHONE_ERR_IMPOSSIBLE);
	/* Its fixed point and a valid number with a trunk 0 still pass. */
	expect_e164("+842345678", "US", "+842345678");
	expect_e164("+84 0 90 123 45 67", "US", "+84901234567");
}

/* Possible "locally" only: without an area code it reaches nobody. */
static void test_local_only_refused(void **state)
{
	(void)state;
	expect_err("253-0000", 8, "US", PHONE_ERR_IMPOSSIBLE);
}

static void test_nul_byte(void **state)
{
	static const char mid[] = "+33612\0" "345678";
	static const char end[] = "+33612345678\0";

	(void)state;
	expect_err(mid, sizeof mid - 1, "US", PHONE_ERR_PARSE);
	expect_err(end, sizeof end, "US", PHONE_ERR_PARSE);
	expect_err("\0", 1, "US", PHONE_ERR_PARSE);
}

static void test_control_chars(void **state)
{
	(void)state;
	expect_err("+33612345678\x01", 13, "US", PHONE_ERR_PARSE);
	expect_err("\x1b[31m+33612345678", 17, "US", PHONE_ERR_PARSE);
	expect_err("+336123\x7f" "45678", 13, "US", PHONE_ERR_PARSE);
	expect_err("\x7f", 1, "US", PHONE_ERR_PARSE);
}

static void test_invalid_utf8(void **state)
{
	(void)state;
	expect_err("+33 6 12 \xc3 34 56 78", 19, "US", PHONE_ERR_PARSE);
	expect_err("+33 6 12 34 56 78 \xff", 19, "US", PHONE_ERR_PARSE);
}

/* People paste from CJK input methods; libphonenumber folds these. */
static void test_fullwidth_digits(void **state)
{
	(void)state;
	expect_e164("\xef\xbc\x8b\xef\xbc\x93\xef\xbc\x93"     /* +33 */
		    " \xef\xbc\x96\xef\xbc\x91\xef\xbc\x92"    /* 612 */
		    "\xef\xbc\x93\xef\xbc\x94\xef\xbc\x95"     /* 345 */
		    "\xef\xbc\x96\xef\xbc\x97\xef\xbc\x98",    /* 678 */
		    "US", "+33612345678");
}

static void test_not_nul_terminated(void **state)
{
	/* No terminator: ASan would see a read past len. */
	static const char buf[12] = {'+', '3', '3', '6', '1', '2',
				     '3', '4', '5', '6', '7', '8'};
	phone_info info;

	(void)state;
	assert_int_equal(phone_normalize(buf, sizeof buf, "US", &info),
			 PHONE_OK);
	assert_string_equal(info.e164, "+33612345678");
	/* A prefix of a longer string is read as exactly that prefix. */
	assert_int_equal(phone_normalize("+33612345678999", 12, "US", &info),
			 PHONE_OK);
	assert_string_equal(info.e164, "+33612345678");
}

static void test_vanity(void **state)
{
	phone_info info;

	(void)state;
	assert_int_equal(norm("1-800-FLOWERS", "US", &info), PHONE_OK);
	assert_string_equal(info.e164, "+18003569377");
	assert_int_equal(info.type, PHONE_TYPE_TOLL_FREE);
}

static void test_non_geographic(void **state)
{
	phone_info info;

	(void)state;
	assert_int_equal(norm("+800 1234 5678", "US", &info), PHONE_OK);
	assert_string_equal(info.e164, "+80012345678");
	expect_region(info.e164, "");
	assert_int_equal(info.valid, 1);
	assert_int_equal(info.type, PHONE_TYPE_TOLL_FREE);
}

static void test_fixed_line_and_leading_zero(void **state)
{
	phone_info info;

	(void)state;
	/* Italy keeps its trunk 0 inside the international number. */
	assert_int_equal(norm("+39 06 1234 5678", "FR", &info), PHONE_OK);
	assert_string_equal(info.e164, "+390612345678");
	expect_region(info.e164, "IT");
	assert_int_equal(info.type, PHONE_TYPE_FIXED_LINE);
	assert_int_equal(norm("01 23 45 67 89", "FR", &info), PHONE_OK);
	assert_string_equal(info.e164, "+33123456789");
	assert_int_equal(info.type, PHONE_TYPE_FIXED_LINE);
}

static void test_extension_dropped(void **state)
{
	(void)state;
	expect_e164("+1 650 253 0000 ext. 123", "US", "+16502530000");
}

/* Output fed back in must come out unchanged: it is a storage key. */
static void test_idempotent(void **state)
{
	static const char *const in[] = {
		"(650) 253-0000", "+1 (222) 333-4444", "0033 6 12 34 56 78",
		"+39 06 1234 5678", "+800 1234 5678", "1-800-FLOWERS",
	};

	(void)state;
	for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
		phone_info a, b;

		assert_int_equal(norm(in[i], "US", &a), PHONE_OK);
		assert_int_equal(norm(a.e164, "FR", &b), PHONE_OK);
		assert_memory_equal(&a, &b, sizeof a);
	}
}

static void test_null_out(void **state)
{
	(void)state;
	assert_int_equal(phone_normalize("+33612345678", 12, "US", NULL),
			 PHONE_OK);
	assert_int_equal(phone_normalize("abc", 3, "US", NULL),
			 PHONE_ERR_PARSE);
}

static void test_short_code(void **state)
{
	static const char unterminated[5] = {'1', '2', '3', '4', '5'};

	(void)state;
	assert_int_equal(phone_is_short_code("12345", 5), 1);
	assert_int_equal(phone_is_short_code("123456", 6), 1);
	assert_int_equal(phone_is_short_code(unterminated, 5), 1);
	assert_int_equal(phone_is_short_code("1234", 4), 0);
	assert_int_equal(phone_is_short_code("1234567", 7), 0);
	assert_int_equal(phone_is_short_code("12a45", 5), 0);
	assert_int_equal(phone_is_short_code("12 45", 5), 0);
	assert_int_equal(phone_is_short_code(" 12345", 6), 0);
	assert_int_equal(phone_is_short_code("+12345", 6), 0);
	assert_int_equal(phone_is_short_code("12345\0", 6), 0);
	assert_int_equal(phone_is_short_code("", 0), 0);
	assert_int_equal(phone_is_short_code(NULL, 5), 0);
	/* Fullwidth digits are digits to libphonenumber, not to us. */
	assert_int_equal(phone_is_short_code("\xef\xbc\x91" "2345", 7), 0);
}

static int all_lower_phrase(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (isupper((unsigned char)*s) || !isprint((unsigned char)*s))
			return 0;
	return 1;
}

/*
 * "+1" and ten digits skip libphonenumber's Parse(); the same digits with
 * a space after "+1" take it. Both must give the same answer for every
 * area code (and exchanges that are toll-free, premium, unassigned or
 * special such as 555 and 911) and a spread of other numbers.
 */
static void expect_same_both_ways(const char *ten)
{
	char fast[40], slow[40];
	phone_info a, b;
	phone_err ea, eb;

	snprintf(fast, sizeof fast, "+1%s", ten);
	snprintf(slow, sizeof slow, "+1 %s", ten);
	ea = norm(fast, "US", &a);
	eb = norm(slow, "FR", &b);
	assert_int_equal(ea, eb);
	assert_memory_equal(&a, &b, sizeof a);
}

static void test_nanp_fast_path_matches_parse(void **state)
{
	static const char *exch[] = { "200", "211", "555", "911", "958",
				      "976", "234", "880" };
	uint32_t x = 12345;
	char ten[32];

	(void)state;
	for (int npa = 200; npa <= 999; npa++)
		for (size_t e = 0; e < sizeof exch / sizeof *exch; e += 3) {
			snprintf(ten, sizeof ten, "%03d%s%04d", npa,
				 exch[(e + (size_t)npa) % 8],
				 npa * 7 % 10000);
			expect_same_both_ways(ten);
		}
	for (int i = 0; i < 2000; i++) {
		x = x * 1103515245u + 12345u;
		snprintf(ten, sizeof ten, "%u%09u", 2 + (x >> 8) % 8,
			 (x ^ (x >> 13) * 2654435761u) % 1000000000u);
		expect_same_both_ways(ten);
	}
	/* Not the fast path's shape, through Parse() as before. */
	expect_same_both_ways("1234567890");
	expect_same_both_ways("0234567890");
}

/*
 * Line types of +1 numbers come from digit automata built from
 * libphonenumber's metadata; GetNumberType() must agree on every one.
 * Every area code with a spread of exchanges and lines, and every
 * exchange of the area codes whose types split finest (the Caribbean
 * regions, toll-free, premium and personal numbers).
 */
static void expect_types_agree(int npa, int nxx, int line)
{
	char e164[40];
	phone_type fast, slow;

	snprintf(e164, sizeof e164, "+1%03d%03d%04d", npa, nxx, line);
	assert_int_equal(phone__nanp_both(e164, &fast, &slow), 1);
	if (fast != slow)
		fail_msg("%s: automata say %s, libphonenumber %s", e164,
			 phone_type_name(fast), phone_type_name(slow));
}

static void test_nanp_types_match_libphonenumber(void **state)
{
	static const int fine[] = { 246, 264, 268, 284, 340, 345, 441, 473,
				    500, 521, 522, 523, 524, 525, 533, 544,
				    649, 658, 664, 670, 671, 684, 721, 758,
				    767, 784, 787, 800, 809, 829, 849, 868,
				    869, 876, 900, 939 };
	uint32_t x = 777;

	(void)state;
	for (int npa = 200; npa <= 999; npa++)
		for (int k = 0; k < 12; k++) {
			x = x * 1103515245u + 12345u;
			expect_types_agree(npa, (int)((x >> 8) % 1000),
					   (int)((x >> 3) % 10000));
		}
	for (size_t i = 0; i < sizeof fine / sizeof *fine; i++)
		for (int nxx = 0; nxx < 1000; nxx++) {
			x = x * 1103515245u + 12345u;
			expect_types_agree(fine[i], nxx, (int)((x >> 5) % 10000));
		}
	assert_int_equal(phone__nanp_both("+442079460000", &(phone_type){ 0 },
					  &(phone_type){ 0 }), -1);
}

static void test_strerror(void **state)
{
	const char *seen[PHONE_ERR_REGION + 1];

	(void)state;
	assert_string_equal(phone_strerror(PHONE_ERR_IMPOSSIBLE),
			    "is not a possible phone number");
	assert_string_equal(phone_strerror(PHONE_ERR_PARSE),
			    "is not a phone number");
	assert_string_equal(phone_strerror(PHONE_ERR_TOO_LONG),
			    "is longer than 64 bytes");
	for (int e = PHONE_OK; e <= PHONE_ERR_REGION; e++) {
		seen[e] = phone_strerror((phone_err)e);
		assert_true(all_lower_phrase(seen[e]));
		for (int j = 0; j < e; j++)
			assert_string_not_equal(seen[e], seen[j]);
	}
	assert_true(all_lower_phrase(phone_strerror((phone_err)99)));
}

static void test_type_name(void **state)
{
	const char *seen[PHONE_TYPE_VOICEMAIL + 1];

	(void)state;
	assert_string_equal(phone_type_name(PHONE_TYPE_UNKNOWN), "unknown");
	assert_string_equal(phone_type_name(PHONE_TYPE_MOBILE), "mobile");
	assert_string_equal(phone_type_name(PHONE_TYPE_FIXED_LINE),
			    "fixed_line");
	assert_string_equal(phone_type_name(PHONE_TYPE_FIXED_LINE_OR_MOBILE),
			    "fixed_line_or_mobile");
	assert_string_equal(phone_type_name(PHONE_TYPE_TOLL_FREE), "toll_free");
	assert_string_equal(phone_type_name(PHONE_TYPE_VOICEMAIL), "voicemail");
	for (int t = PHONE_TYPE_UNKNOWN; t <= PHONE_TYPE_VOICEMAIL; t++) {
		seen[t] = phone_type_name((phone_type)t);
		assert_true(all_lower_phrase(seen[t]));
		for (int j = 0; j < t; j++)
			assert_string_not_equal(seen[t], seen[j]);
	}
	assert_string_equal(phone_type_name((phone_type)99), "unknown");
}

/*
 * Threads: cmocka's asserts are not thread-safe, so workers only count
 * mismatches and the main thread asserts on the totals.
 */
struct phone_case {
	const char *in;
	const char *region;
	phone_err err;
	const char *e164;
};

static const struct phone_case thread_cases[] = {
	{"(650) 253-0000", "US", PHONE_OK, "+16502530000"},
	{"+1 (222) 333-4444", "fr", PHONE_OK, "+12223334444"},
	{"0033 6 12 34 56 78", "US", PHONE_OK, "+33612345678"},
	{"06 12 34 56 78", "FR", PHONE_OK, "+33612345678"},
	{"+1 555", "US", PHONE_ERR_IMPOSSIBLE, ""},
	{"abc", "US", PHONE_ERR_PARSE, ""},
	{"  ", "US", PHONE_ERR_EMPTY, ""},
	{"+33612345678", "XX", PHONE_ERR_REGION, ""},
};

#define PHONE_THREADS 4
#define PHONE_ROUNDS 300

static void *phone_worker(void *arg)
{
	int *bad = arg;
	size_t n = sizeof thread_cases / sizeof thread_cases[0];

	for (int r = 0; r < PHONE_ROUNDS; r++) {
		for (size_t i = 0; i < n; i++) {
			const struct phone_case *c = &thread_cases[i];
			phone_info info;

			if (phone_normalize(c->in, strlen(c->in), c->region,
					    &info) != c->err ||
			    strcmp(info.e164, c->e164) != 0)
				(*bad)++;
		}
	}
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t tid[PHONE_THREADS];
	int bad[PHONE_THREADS] = {0};

	(void)state;
	for (int i = 0; i < PHONE_THREADS; i++)
		assert_int_equal(pthread_create(&tid[i], NULL, phone_worker,
						&bad[i]), 0);
	for (int i = 0; i < PHONE_THREADS; i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		assert_int_equal(bad[i], 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads), /* first: races the lazy init */
		cmocka_unit_test(test_us_national_valid),
		cmocka_unit_test(test_possible_not_valid),
		cmocka_unit_test(test_e164_input),
		cmocka_unit_test(test_fr_mobile),
		cmocka_unit_test(test_fr_national),
		cmocka_unit_test(test_double_zero_is_plus),
		cmocka_unit_test(test_double_zero_after_space),
		cmocka_unit_test(test_us_idd_011),
		cmocka_unit_test(test_lower_case_region),
		cmocka_unit_test(test_bad_region),
		cmocka_unit_test(test_region_ok),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_length_boundary),
		cmocka_unit_test(test_not_a_number),
		cmocka_unit_test(test_impossible),
		cmocka_unit_test(test_over_fifteen_digits),
		cmocka_unit_test(test_local_only_refused),
		cmocka_unit_test(test_unstable_refused),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_control_chars),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_fullwidth_digits),
		cmocka_unit_test(test_not_nul_terminated),
		cmocka_unit_test(test_vanity),
		cmocka_unit_test(test_non_geographic),
		cmocka_unit_test(test_fixed_line_and_leading_zero),
		cmocka_unit_test(test_extension_dropped),
		cmocka_unit_test(test_idempotent),
		cmocka_unit_test(test_null_out),
		cmocka_unit_test(test_short_code),
		cmocka_unit_test(test_nanp_fast_path_matches_parse),
		cmocka_unit_test(test_nanp_types_match_libphonenumber),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_type_name),
	};

	return cmocka_run_group_tests_name("phone", tests, NULL, NULL);
}
