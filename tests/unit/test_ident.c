/*
 * test_ident: unit tests for core/ident (the shape rules for external ids,
 * e-mail addresses, group ids and names, and the UTF-8 check under them).
 *
 * These checks are the only thing between a client's bytes and the
 * database and the consent ledger. The UTF-8 cases matter because an
 * overlong form or a surrogate lets two different byte strings show as
 * the same text (one person, two ledgers), and a control character can
 * forge log lines. Limits are tested on both sides of the boundary, and
 * every refusal must come back as a lower-case phrase the API can put
 * after the field name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/ident.h"

/* A phrase that reads after a field name: "external_id is ..." */
static void assert_phrase(const char *why)
{
	assert_non_null(why);
	assert_true(why[0] != '\0');
	assert_false(isupper((unsigned char)why[0]));
	assert_true(why[strlen(why) - 1] != '.');
}

/* n bytes of c, NUL-terminated; the caller frees. */
static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* ---- ident_utf8_ok ---- */

static int utf8(const char *s)
{
	return ident_utf8_ok(s, strlen(s));
}

static void test_utf8_valid(void **state)
{
	(void)state;
	assert_int_equal(utf8(""), 1);
	assert_int_equal(utf8("hello"), 1);
	assert_int_equal(utf8("ARR\xc3\x8aT"), 1);              /* ARRÊT */
	assert_int_equal(utf8("\xc2\x80"), 1);                  /* U+0080 */
	assert_int_equal(utf8("\xdf\xbf"), 1);                  /* U+07FF */
	assert_int_equal(utf8("\xe0\xa0\x80"), 1);              /* U+0800 */
	assert_int_equal(utf8("\xe2\x82\xac"), 1);              /* € */
	assert_int_equal(utf8("\xed\x9f\xbf"), 1);              /* U+D7FF */
	assert_int_equal(utf8("\xee\x80\x80"), 1);              /* U+E000 */
	assert_int_equal(utf8("\xef\xbf\xbf"), 1);              /* U+FFFF */
	assert_int_equal(utf8("\xf0\x90\x80\x80"), 1);          /* U+10000 */
	assert_int_equal(utf8("\xf0\x9f\x98\x80"), 1);          /* 😀 */
	assert_int_equal(utf8("\xf4\x8f\xbf\xbf"), 1);          /* U+10FFFF */
	assert_int_equal(utf8(" ~"), 1);                        /* 0x20, 0x7e */
}

static void test_utf8_controls(void **state)
{
	(void)state;
	for (int c = 1; c < 0x20; c++) {
		char s[4] = {'a', (char)c, 'b', '\0'};

		assert_int_equal(ident_utf8_ok(s, 3), 0);
	}
	assert_int_equal(utf8("a\x7f"), 0);
	/* NUL inside the counted length is refused, not treated as an end. */
	assert_int_equal(ident_utf8_ok("ab\0cd", 5), 0);
	assert_int_equal(ident_utf8_ok("\0", 1), 0);
}

static void test_utf8_overlong(void **state)
{
	(void)state;
	assert_int_equal(utf8("\xc0\x80"), 0);             /* NUL */
	assert_int_equal(utf8("\xc0\xaf"), 0);             /* '/' */
	assert_int_equal(utf8("\xc1\xbf"), 0);             /* U+007F */
	assert_int_equal(utf8("\xe0\x80\x80"), 0);         /* NUL */
	assert_int_equal(utf8("\xe0\x9f\xbf"), 0);         /* U+07FF */
	assert_int_equal(utf8("\xf0\x80\x80\x80"), 0);     /* NUL */
	assert_int_equal(utf8("\xf0\x8f\xbf\xbf"), 0);     /* U+FFFF */
}

static void test_utf8_surrogates(void **state)
{
	(void)state;
	assert_int_equal(utf8("\xed\xa0\x80"), 0);         /* U+D800 */
	assert_int_equal(utf8("\xed\xaf\xbf"), 0);         /* U+DBFF */
	assert_int_equal(utf8("\xed\xb0\x80"), 0);         /* U+DC00 */
	assert_int_equal(utf8("\xed\xbf\xbf"), 0);         /* U+DFFF */
	/* A CESU-8 pair for U+1F600 is still two surrogates. */
	assert_int_equal(utf8("\xed\xa0\xbd\xed\xb8\x80"), 0);
}

static void test_utf8_beyond_max(void **state)
{
	(void)state;
	assert_int_equal(utf8("\xf4\x90\x80\x80"), 0);     /* U+110000 */
	assert_int_equal(utf8("\xf7\xbf\xbf\xbf"), 0);     /* U+1FFFFF */
	assert_int_equal(utf8("\xf8\x88\x80\x80\x80"), 0); /* 5-byte form */
	assert_int_equal(utf8("\xfc\x84\x80\x80\x80\x80"), 0);
	assert_int_equal(utf8("\xfe"), 0);
	assert_int_equal(utf8("\xff"), 0);
}

static void test_utf8_truncated(void **state)
{
	(void)state;
	assert_int_equal(utf8("\xc3"), 0);
	assert_int_equal(utf8("ARR\xc3"), 0);
	assert_int_equal(utf8("\xe2\x82"), 0);
	assert_int_equal(utf8("\xf0\x9f\x98"), 0);
	assert_int_equal(utf8("\xf0\x9f"), 0);
	/* A lead byte followed by something that is not a continuation. */
	assert_int_equal(utf8("\xc3T"), 0);
	assert_int_equal(utf8("\xe2\x82T"), 0);
	assert_int_equal(utf8("\xf0\x9f\x98T"), 0);
	/* A continuation byte with no lead. */
	assert_int_equal(utf8("\x80"), 0);
	assert_int_equal(utf8("a\xbf"), 0);
	/* Valid bytes past len do not complete a sequence cut by len. */
	assert_int_equal(ident_utf8_ok("\xc3\x8a", 1), 0);
	assert_int_equal(ident_utf8_ok("\xf0\x9f\x98\x80", 3), 0);
	assert_int_equal(ident_utf8_ok("\xf0\x9f\x98\x80", 4), 1);
}

/* ---- external_id ---- */

static void test_external_id_ok(void **state)
{
	(void)state;
	assert_null(ident_check_external_id("user-1"));
	assert_null(ident_check_external_id("ARR\xc3\x8aT"));
	assert_null(ident_check_external_id("\xf0\x9f\x98\x80 emoji"));
	assert_null(ident_check_external_id(" "));
	assert_null(ident_check_external_id("a@b.c"));
}

static void test_external_id_empty(void **state)
{
	(void)state;
	assert_string_equal(ident_check_external_id(""), "must not be empty");
	assert_string_equal(ident_check_external_id(NULL), "must not be empty");
}

static void test_external_id_length(void **state)
{
	char *s;

	(void)state;
	s = repeat('x', IDENT_EXTERNAL_ID_MAX);
	assert_null(ident_check_external_id(s));
	free(s);
	s = repeat('x', IDENT_EXTERNAL_ID_MAX + 1);
	assert_string_equal(ident_check_external_id(s),
			    "is longer than 512 bytes");
	free(s);

	/* Bytes, not characters: 256 two-byte letters fill it exactly. */
	s = malloc(IDENT_EXTERNAL_ID_MAX + 2);
	assert_non_null(s);
	for (size_t i = 0; i < IDENT_EXTERNAL_ID_MAX; i += 2)
		memcpy(s + i, "\xc3\x8a", 2);
	s[IDENT_EXTERNAL_ID_MAX] = '\0';
	assert_null(ident_check_external_id(s));
	memcpy(s + IDENT_EXTERNAL_ID_MAX, "x", 2);
	assert_string_equal(ident_check_external_id(s),
			    "is longer than 512 bytes");
	free(s);
}

static void test_external_id_refused(void **state)
{
	static const char *const bad[] = {
		"a\tb", "line\n", "\x1b[31mred", "del\x7f", "\xc0\x80",
		"\xed\xa0\x80", "\xf4\x90\x80\x80", "ARR\xc3", "\xff",
		"\xe0\x80\xaf",
	};
	const char *want = "must be UTF-8 text without control characters";

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_string_equal(ident_check_external_id(bad[i]), want);
}

/* ---- e-mail ---- */

static void test_email_ok(void **state)
{
	static const char *const good[] = {
		"a@b.co", "john.doe@example.com", "John.Doe+tag@Example.COM",
		"x_y-z@sub.domain.example", "caf\xc3\xa9@example.fr",
		"a@b.c.d",
	};

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_null(ident_check_email(good[i]));
}

static void test_email_refused(void **state)
{
	static const char *const bad[] = {
		"plain", "@example.com", "a@", "a@@b.com", "a@b@c.com",
		"a@example", "a@.example.com", "a@example.com.",
		"a b@example.com", "a@exa mple.com", "<a@example.com>",
		"a@example.com,b@example.com", "a;b@example.com",
		"\"a\"@example.com", "a@[127.0.0.1]", "a(b)@example.com",
		"a:b@example.com", "a\\b@example.com",
	};

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *why = ident_check_email(bad[i]);

		assert_non_null(why);
		assert_string_equal(why, "is not an e-mail address");
	}
	assert_string_equal(ident_check_email(""), "must not be empty");
	assert_string_equal(ident_check_email(NULL), "must not be empty");
	assert_string_equal(ident_check_email("a\n@example.com"),
			    "must be UTF-8 text without control characters");
	assert_string_equal(ident_check_email("a\xc3@example.com"),
			    "must be UTF-8 text without control characters");
}

static void test_email_length(void **state)
{
	char s[IDENT_EMAIL_MAX + 2];

	(void)state;
	/* local@ + domain of x's ending ".com", exactly 254 bytes */
	memset(s, 'x', sizeof s);
	memcpy(s, "local@", 6);
	memcpy(s + IDENT_EMAIL_MAX - 4, ".com", 5);
	assert_int_equal(strlen(s), IDENT_EMAIL_MAX);
	assert_null(ident_check_email(s));

	memset(s, 'x', sizeof s);
	memcpy(s, "local@", 6);
	memcpy(s + IDENT_EMAIL_MAX - 3, ".com", 5);
	assert_int_equal(strlen(s), IDENT_EMAIL_MAX + 1);
	assert_string_equal(ident_check_email(s), "is longer than 254 bytes");
}

static void test_email_normalize(void **state)
{
	char a[] = "John.Doe+Tag@Example.COM";
	char b[] = "lower@example.com";
	char c[] = "NoAtSign.EXAMPLE";
	char d[] = "MiXeD@SuB.ExAmPlE.Org";

	(void)state;
	ident_email_normalize(a);
	/* The local part may be case-sensitive at the owner's server. */
	assert_string_equal(a, "John.Doe+Tag@example.com");
	ident_email_normalize(b);
	assert_string_equal(b, "lower@example.com");
	/* No '@': nothing is known to be a domain, so nothing changes. */
	ident_email_normalize(c);
	assert_string_equal(c, "NoAtSign.EXAMPLE");
	ident_email_normalize(d);
	assert_string_equal(d, "MiXeD@sub.example.org");
	/* Normalising twice changes nothing more: it is a lookup key. */
	ident_email_normalize(d);
	assert_string_equal(d, "MiXeD@sub.example.org");
}

/* Non-ASCII domain bytes are left as they are (no locale surprises). */
static void test_email_normalize_non_ascii(void **state)
{
	char s[] = "A@\xc3\x89XAMPLE.COM"; /* ÉXAMPLE.COM */

	(void)state;
	ident_email_normalize(s);
	assert_string_equal(s, "A@\xc3\x89xample.com");
}

/* ---- group id ---- */

static void test_group_id(void **state)
{
	static const char *const good[] = {
		"g", "sms-main", "Group_1", "a.b.c", "0", "-", "_", ".",
		"abcdefghijklmnopqrstuvwxyz" "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"0123456789",
	};
	static const char *const bad[] = {
		"a b", "a/b", "a:b", "a@b", "caf\xc3\xa9", "a\tb", "a+b",
		"a,b", "\"a\"", "a\x7f", "a%20b", "a?b", "a#b",
	};
	const char *want = "may hold only letters, digits, '-', '_' and '.'";

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_null(ident_check_group_id(good[i]));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_string_equal(ident_check_group_id(bad[i]), want);
	assert_string_equal(ident_check_group_id(""), "must not be empty");
	assert_string_equal(ident_check_group_id(NULL), "must not be empty");
}

static void test_group_id_length(void **state)
{
	char *s;

	(void)state;
	s = repeat('g', IDENT_GROUP_ID_MAX);
	assert_null(ident_check_group_id(s));
	free(s);
	s = repeat('g', IDENT_GROUP_ID_MAX + 1);
	assert_string_equal(ident_check_group_id(s),
			    "is longer than 64 characters");
	free(s);
	/* Length is checked first: a long id of bad bytes says "longer". */
	s = repeat(' ', IDENT_GROUP_ID_MAX + 1);
	assert_string_equal(ident_check_group_id(s),
			    "is longer than 64 characters");
	free(s);
}

/* ---- names ---- */

static void test_name(void **state)
{
	char *s;

	(void)state;
	assert_null(ident_check_name("Marketing SMS"));
	assert_null(ident_check_name("Caf\xc3\xa9 \xf0\x9f\x98\x80"));
	assert_string_equal(ident_check_name(""), "must not be empty");
	assert_string_equal(ident_check_name(NULL), "must not be empty");
	assert_string_equal(ident_check_name("tab\there"),
			    "must be UTF-8 text without control characters");
	assert_string_equal(ident_check_name("\xed\xa0\x80"),
			    "must be UTF-8 text without control characters");
	s = repeat('n', IDENT_NAME_MAX);
	assert_null(ident_check_name(s));
	free(s);
	s = repeat('n', IDENT_NAME_MAX + 1);
	assert_string_equal(ident_check_name(s), "is longer than 128 bytes");
	free(s);
}

/* Every refusal phrase fits after a field name in a message. */
static void test_phrases(void **state)
{
	char *long_ext = repeat('x', IDENT_EXTERNAL_ID_MAX + 1);

	(void)state;
	assert_phrase(ident_check_external_id(""));
	assert_phrase(ident_check_external_id(long_ext));
	assert_phrase(ident_check_external_id("\x01"));
	assert_phrase(ident_check_email("nope"));
	assert_phrase(ident_check_email(long_ext));
	assert_phrase(ident_check_group_id("a b"));
	assert_phrase(ident_check_group_id(long_ext));
	assert_phrase(ident_check_name(long_ext));
	free(long_ext);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_controls),
		cmocka_unit_test(test_utf8_overlong),
		cmocka_unit_test(test_utf8_surrogates),
		cmocka_unit_test(test_utf8_beyond_max),
		cmocka_unit_test(test_utf8_truncated),
		cmocka_unit_test(test_external_id_ok),
		cmocka_unit_test(test_external_id_empty),
		cmocka_unit_test(test_external_id_length),
		cmocka_unit_test(test_external_id_refused),
		cmocka_unit_test(test_email_ok),
		cmocka_unit_test(test_email_refused),
		cmocka_unit_test(test_email_length),
		cmocka_unit_test(test_email_normalize),
		cmocka_unit_test(test_email_normalize_non_ascii),
		cmocka_unit_test(test_group_id),
		cmocka_unit_test(test_group_id_length),
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_phrases),
	};

	return cmocka_run_group_tests_name("ident", tests, NULL, NULL);
}
