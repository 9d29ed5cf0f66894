/*
 * test_digitre: unit tests for lib/digitre.
 *
 * Besides fixed cases (the shapes phone-number metadata uses, and every
 * kind of refusal), a differential test: random patterns of the subset are
 * matched against random digit strings by digitre and by the C library's
 * POSIX regular expressions (the same pattern with "(?:" written "(" and
 * "\d" written "[0-9]"), which must agree on every one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "lib/digitre.h"

#define POSIX_MAX 1024

static digitre *compile(const char *p)
{
	digitre *re = NULL;

	assert_int_equal(digitre_compile(p, strlen(p), &re), DIGITRE_OK);
	assert_non_null(re);
	return re;
}

static int full(const digitre *re, const char *s)
{
	return digitre_full(re, s, strlen(s));
}

static void test_phone_shapes(void **state)
{
	digitre *re = compile("268(?:4(?:6[0-38]|84)|56[0-2])\\d{4}");

	(void)state;
	assert_true(full(re, "2684600000"));
	assert_true(full(re, "2684841234"));
	assert_true(full(re, "2685629999"));
	assert_false(full(re, "2684640000")); /* 4 is not in [0-38] */
	assert_false(full(re, "268460000"));  /* one digit short */
	assert_false(full(re, "26846000000"));
	assert_false(full(re, "26846000a0"));
	assert_false(full(re, ""));
	digitre_free(re);

	re = compile("(?:[58]\\d\\d|900)\\d{7}|52[34][2-9]1[02-9]\\d{4}");
	assert_true(full(re, "5551234567"));
	assert_true(full(re, "9001234567"));
	assert_true(full(re, "5232120000"));
	assert_false(full(re, "9011234567"));
	digitre_free(re);
}

static void test_counts(void **state)
{
	digitre *re = compile("1\\d{2,4}9?");

	(void)state;
	assert_false(full(re, "10"));
	assert_true(full(re, "100"));
	assert_true(full(re, "10000"));
	assert_true(full(re, "100009"));
	assert_true(full(re, "1009"));
	assert_false(full(re, "1000000"));
	digitre_free(re);

	re = compile("(?:12)+3*|4{2,}|5{0}6");
	assert_true(full(re, "12"));
	assert_true(full(re, "121212333"));
	assert_false(full(re, "3"));
	assert_true(full(re, "44444444"));
	assert_false(full(re, "4"));
	assert_true(full(re, "6"));
	assert_false(full(re, "56"));
	digitre_free(re);
}

static void test_prefix(void **state)
{
	digitre *re = compile("8001|8[024]9");

	(void)state;
	assert_true(digitre_prefix(re, "8001234567", 10));
	assert_true(digitre_prefix(re, "8294567890", 10));
	assert_false(digitre_prefix(re, "8194567890", 10));
	assert_false(digitre_prefix(re, "800", 3));
	assert_false(full(re, "80012"));
	digitre_free(re);

	re = compile("1?");
	assert_true(digitre_prefix(re, "x", 1)); /* the empty prefix */
	digitre_free(re);
}

static void expect_refused(const char *p, digitre_err want)
{
	digitre *re = (digitre *)1;

	assert_int_equal(digitre_compile(p, strlen(p), &re), want);
	assert_null(re);
	assert_non_null(digitre_strerror(want));
}

static void test_refusals(void **state)
{
	char big[DIGITRE_PATTERN_MAX + 2];

	(void)state;
	expect_refused("(?:12", DIGITRE_ERR_SYNTAX);
	expect_refused("12)", DIGITRE_ERR_SYNTAX);
	expect_refused("*1", DIGITRE_ERR_SYNTAX);
	expect_refused("1{3,2}", DIGITRE_ERR_SYNTAX);
	expect_refused("1{", DIGITRE_ERR_SYNTAX);
	expect_refused("1{,2}", DIGITRE_ERR_SYNTAX);
	expect_refused("[]", DIGITRE_ERR_SYNTAX);
	expect_refused("[5-3]", DIGITRE_ERR_SYNTAX);
	expect_refused("[12", DIGITRE_ERR_SYNTAX);
	expect_refused("[^1]", DIGITRE_ERR_UNSUPPORTED);
	expect_refused("1.", DIGITRE_ERR_UNSUPPORTED);
	expect_refused("^1$", DIGITRE_ERR_UNSUPPORTED);
	expect_refused("\\s", DIGITRE_ERR_UNSUPPORTED);
	expect_refused("(?=1)", DIGITRE_ERR_UNSUPPORTED);
	expect_refused("[a-z]", DIGITRE_ERR_UNSUPPORTED);
	expect_refused("1{33}", DIGITRE_ERR_TOO_BIG);
	/* Copies of copies: bounded by the NFA's limit, not by patience. */
	expect_refused("(?:(?:(?:(?:\\d{32}){32}){32}){32})", DIGITRE_ERR_TOO_BIG);
	memset(big, '1', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	expect_refused(big, DIGITRE_ERR_TOO_BIG);
	assert_int_equal(digitre_compile(NULL, 0, &(digitre *){ NULL }),
			 DIGITRE_ERR_SYNTAX);
	digitre_free(NULL);
}

/* ---- differential test against POSIX regex ---- */

static uint32_t rnd_state = 2463534242u;

static uint32_t rnd(uint32_t n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state % n;
}

static void gen(char *p, size_t *n, size_t cap, int depth)
{
	int alts = 1 + (int)rnd(depth ? 2 : 3);

	for (int a = 0; a < alts && *n + 40 < cap; a++) {
		if (a)
			p[(*n)++] = '|';
		int items = 1 + (int)rnd(3);
		for (int i = 0; i < items && *n + 40 < cap; i++) {
			switch (rnd(depth < 2 ? 5 : 4)) {
			case 0: case 1:
				p[(*n)++] = (char)('0' + rnd(3));
				break;
			case 2:
				*n += (size_t)snprintf(p + *n, cap - *n, "[%c-%c]",
					'0' + rnd(2), '1' + rnd(2));
				break;
			case 3:
				*n += (size_t)snprintf(p + *n, cap - *n, "\\d");
				break;
			default:
				*n += (size_t)snprintf(p + *n, cap - *n, "(?:");
				gen(p, n, cap, depth + 1);
				p[(*n)++] = ')';
			}
			switch (rnd(6)) {
			case 0: p[(*n)++] = '?'; break;
			case 1: *n += (size_t)snprintf(p + *n, cap - *n, "{%u}", rnd(3)); break;
			case 2: *n += (size_t)snprintf(p + *n, cap - *n, "{%u,%u}", rnd(2), 2 + rnd(2)); break;
			case 3: p[(*n)++] = rnd(2) ? '*' : '+'; break;
			default: break;
			}
		}
	}
	p[*n] = '\0';
}

static void to_posix(const char *p, char *out)
{
	size_t n = (size_t)snprintf(out, POSIX_MAX, "^(");

	for (; *p; p++) {
		if (p[0] == '(' && p[1] == '?') {
			out[n++] = '(';
			p += 2;
		} else if (p[0] == '\\') {
			n += (size_t)snprintf(out + n, POSIX_MAX - n, "[0-9]");
			p++;
		} else {
			out[n++] = *p;
		}
	}
	snprintf(out + n, POSIX_MAX - n, ")$");
}

static void test_against_posix(void **state)
{
	char p[256], posix[POSIX_MAX], s[8];

	(void)state;
	for (int round = 0; round < 400; round++) {
		size_t n = 0;
		regex_t rx;
		digitre *re;

		gen(p, &n, 200, 0);
		to_posix(p, posix);
		re = compile(p);
		assert_int_equal(regcomp(&rx, posix, REG_EXTENDED | REG_NOSUB), 0);
		for (int k = 0; k < 200; k++) {
			size_t len = rnd(7);
			int any_prefix = 0;

			for (size_t i = 0; i < len; i++)
				s[i] = (char)('0' + rnd(4));
			s[len] = '\0';
			int want = regexec(&rx, s, 0, NULL, 0) == 0;
			if (digitre_full(re, s, len) != want)
				fail_msg("pattern %s on \"%s\": posix says %d",
					 p, s, want);
			for (size_t i = 0; i <= len; i++)
				any_prefix |= digitre_full(re, s, i);
			assert_int_equal(digitre_prefix(re, s, len), any_prefix);
		}
		regfree(&rx);
		digitre_free(re);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_phone_shapes),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_against_posix),
	};

	return cmocka_run_group_tests_name("digitre", tests, NULL, NULL);
}
