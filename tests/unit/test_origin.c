/*
 * test_origin: unit tests for core/origin (the page origins an SDK key
 * allows, and the list they are stored in).
 *
 * A browser's Origin header is compared with the stored form byte for
 * byte, so normalisation must land exactly on what browsers send: lower
 * case, no default port, no trailing slash. Anything that is not an
 * origin (a path, a user, a bad port, another scheme, "null") is refused
 * with a reason, never stored half-understood.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "core/origin.h"

static void expect_norm(const char *in, const char *want)
{
	char out[ORIGIN_MAX + 1];
	const char *why = origin_normalize(in, out);

	if (why)
		fail_msg("\"%s\" refused: %s", in, why);
	assert_string_equal(out, want);
}

static void expect_refused(const char *in)
{
	char out[ORIGIN_MAX + 1];

	if (!origin_normalize(in, out))
		fail_msg("\"%s\" accepted as \"%s\"", in, out);
	assert_string_equal(out, "");
}

static void test_normal_forms(void **state)
{
	(void)state;
	expect_norm("https://shop.example", "https://shop.example");
	expect_norm("HTTPS://Shop.Example/", "https://shop.example");
	expect_norm("https://shop.example:443", "https://shop.example");
	expect_norm("http://shop.example:80", "http://shop.example");
	expect_norm("http://shop.example:443", "http://shop.example:443");
	expect_norm("http://127.0.0.1:8080", "http://127.0.0.1:8080");
	expect_norm("http://[::1]:3000", "http://[::1]:3000");
	expect_norm("https://xn--bcher-kva.example",
		    "https://xn--bcher-kva.example");
	expect_norm("http://localhost", "http://localhost");
}

static void test_refused(void **state)
{
	char long_host[300];

	(void)state;
	expect_refused(NULL);
	expect_refused("");
	expect_refused("null");
	expect_refused("shop.example");
	expect_refused("ftp://shop.example");
	expect_refused("https://");
	expect_refused("https://shop.example/path");
	expect_refused("https://shop.example?x=1");
	expect_refused("https://shop.example#top");
	expect_refused("https://user@shop.example");
	expect_refused("https://shop.example:0");
	expect_refused("https://shop.example:65536");
	expect_refused("https://shop.example:080");
	expect_refused("https://shop.example:");
	expect_refused("https://shop.example:-1");
	expect_refused("https://shop..example");
	expect_refused("https://-shop.example");
	expect_refused("https://shop_x.example");
	expect_refused("https://shop example");
	expect_refused("https://*.shop.example");
	expect_refused("http://[::1");
	expect_refused("http://[zz::1]");
	expect_refused("https://shop.example//");
	memset(long_host, 'a', sizeof long_host - 1);
	memcpy(long_host, "https://", 8);
	long_host[sizeof long_host - 1] = '\0';
	expect_refused(long_host);
}

static void test_listed(void **state)
{
	const char *list = "https://shop.example http://127.0.0.1:8080";

	(void)state;
	assert_true(origin_listed(list, "https://shop.example"));
	assert_true(origin_listed(list, "http://127.0.0.1:8080"));
	assert_false(origin_listed(list, "https://shop.exampl"));
	assert_false(origin_listed(list, "https://shop.example.evil"));
	assert_false(origin_listed(list, "http://127.0.0.1"));
	assert_false(origin_listed(list, "http://127.0.0.1:80"));
	assert_false(origin_listed(list, ""));
	assert_false(origin_listed(list, NULL));
	assert_false(origin_listed("", "https://shop.example"));
	assert_false(origin_listed(NULL, "https://shop.example"));
	/* A space in the header cannot match across two entries. */
	assert_false(origin_listed(list, "https://shop.example "
				   "http://127.0.0.1:8080"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normal_forms),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_listed),
	};

	return cmocka_run_group_tests_name("origin", tests, NULL, NULL);
}
