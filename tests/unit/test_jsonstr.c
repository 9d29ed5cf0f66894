/*
 * test_jsonstr: unit tests for lib/jsonstr (JSON string contents in a
 * fixed buffer). Evidence rows and log lines are built from it, so what
 * is pinned is that the output is always valid JSON text: quotes,
 * backslashes and control bytes escaped, invalid UTF-8 replaced, and a
 * full buffer cut between characters and escapes, never inside one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "lib/jsonstr.h"

static void test_escapes(void **state)
{
	char out[64];

	(void)state;
	jsonstr_escape("a\"b\\c", out, sizeof out);
	assert_string_equal(out, "a\\\"b\\\\c");
	jsonstr_escape("tab\there\nnl\x01\x1f", out, sizeof out);
	assert_string_equal(out, "tab\\u0009here\\u000anl\\u0001\\u001f");
	jsonstr_escape("ARRÊT ✓", out, sizeof out);
	assert_string_equal(out, "ARRÊT ✓");
	jsonstr_escape(NULL, out, sizeof out);
	assert_string_equal(out, "");
}

static void test_invalid_utf8(void **state)
{
	char out[64];

	(void)state;
	jsonstr_escape("a\xff" "b\xc3", out, sizeof out);
	assert_string_equal(out, "a?b?");
}

static void test_cut_whole(void **state)
{
	char out[8];

	(void)state;
	/* "ab" then an escape of six bytes that does not fit in 8 - 1. */
	jsonstr_escape("ab\x01z", out, sizeof out);
	assert_string_equal(out, "ab");
	jsonstr_escape("abcdéf", out, 6); /* é and the NUL need 7 */
	assert_string_equal(out, "abcd");
	jsonstr_escape("abc", out, 0);    /* nothing written, no crash */
}

static void test_long_input(void **state)
{
	static char in[JSONSTR_IN_MAX * 2], out[JSONSTR_IN_MAX * 2];

	(void)state;
	memset(in, 'x', sizeof in - 1);
	jsonstr_escape(in, out, sizeof out);
	assert_int_equal(strlen(out), JSONSTR_IN_MAX - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_cut_whole),
		cmocka_unit_test(test_long_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
