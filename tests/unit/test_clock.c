/*
 * test_clock: unit tests for lib/clock's ISO 8601 formatting and parsing.
 * clock_iso() keeps the last second it formatted per thread, so the cases
 * come in orders that hit and miss that cache, and read back through
 * clock_parse_iso().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "lib/clock.h"

static void expect_iso(int64_t ms, const char *want)
{
	char out[CLOCK_ISO_MAX];
	int64_t back = -1;

	memset(out, 'x', sizeof out);
	clock_iso(ms, out);
	assert_string_equal(out, want);
	assert_int_equal(clock_parse_iso(out, &back), 0);
	assert_int_equal(back, ms);
}

static void test_iso(void **state)
{
	(void)state;
	expect_iso(0, "1970-01-01T00:00:00.000Z");
	expect_iso(1795679789123, "2026-11-26T07:56:29.123Z");
	expect_iso(1795679789007, "2026-11-26T07:56:29.007Z"); /* same second */
	expect_iso(1795679789999, "2026-11-26T07:56:29.999Z");
	expect_iso(1795679790000, "2026-11-26T07:56:30.000Z"); /* next one */
	expect_iso(1795679789050, "2026-11-26T07:56:29.050Z"); /* and back */
	expect_iso(951782400001, "2000-02-29T00:00:00.001Z");
	expect_iso(253402300799999, "9999-12-31T23:59:59.999Z");
}

static void test_iso_now_moves(void **state)
{
	char a[CLOCK_ISO_MAX], b[CLOCK_ISO_MAX];

	(void)state;
	clock_iso_now(a);
	clock_iso_now(b);
	assert_int_equal(strlen(a), 24);
	assert_true(strcmp(a, b) <= 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iso),
		cmocka_unit_test(test_iso_now_moves),
	};

	return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
