/*
 * test_str: unit tests for lib/str (bounded copies and text built in a
 * fixed buffer). Log lines, evidence and signed URLs are built with it,
 * so what is pinned is that nothing is written past the buffer, the text
 * is always terminated, and a cut is reported.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <string.h>

#include "lib/str.h"

static void test_copy(void **state)
{
	char out[4] = "xyz";

	(void)state;
	assert_int_equal(str_copy(out, sizeof out, "abcdef"), 6);
	assert_string_equal(out, "abc");
	assert_int_equal(str_copy(out, sizeof out, NULL), 0);
	assert_string_equal(out, "");
	assert_int_equal(str_copy(out, 0, "ab"), 2);
}

static void test_buf_pieces(void **state)
{
	char out[32];
	str_buf b;

	(void)state;
	str_buf_init(&b, out, sizeof out);
	str_put(&b, "id=");
	str_put_int(&b, 42, 1);
	str_put(&b, " ms=");
	str_put_int(&b, 7, 3);
	str_put(&b, " neg=");
	str_put_int(&b, -5, 1);
	str_put(&b, NULL);
	assert_string_equal(out, "id=42 ms=007 neg=-5");
	assert_int_equal(b.n, strlen(out));
	assert_false(b.over);
}

static void test_buf_cut(void **state)
{
	char out[8 + 1];
	str_buf b;

	(void)state;
	memset(out, '#', sizeof out);
	str_buf_init(&b, out, 8);
	str_put(&b, "abcde");
	assert_false(b.over);
	str_put(&b, "fghij");
	assert_true(b.over);
	assert_string_equal(out, "abcdefg");
	assert_int_equal(out[8], '#'); /* nothing past the buffer */
	str_put(&b, "k");              /* still over, still terminated */
	assert_string_equal(out, "abcdefg");
}

static void test_buf_extremes(void **state)
{
	char out[32], none[1] = {'#'};
	str_buf b;

	(void)state;
	str_buf_init(&b, out, sizeof out);
	str_put_int(&b, LLONG_MIN, 1);
	assert_string_equal(out, "-9223372036854775808");
	str_buf_init(&b, out, sizeof out);
	str_put_int(&b, 0, 99); /* a width past the digits a number has */
	assert_string_equal(out, "00000000000000000000");
	str_buf_init(&b, none, 0);
	assert_true(b.over);
	str_put(&b, "a");
	assert_int_equal(none[0], '#');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_buf_pieces),
		cmocka_unit_test(test_buf_cut),
		cmocka_unit_test(test_buf_extremes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
