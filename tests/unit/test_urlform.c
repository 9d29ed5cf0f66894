/*
 * test_urlform: unit tests for lib/urlform (form-encoded bodies).
 *
 * A table of bodies and the fields they must give, each field written as
 * "name=value" after decoding: what browsers send (spaces as '+', UTF-8
 * as %XX), what Twilio sends, the lenient cases ('%' not followed by two
 * hex digits, empty pieces, a field with no '='), then each refusal with
 * the field it names. Last, a round trip: random fields encoded the way a
 * browser does come back byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/urlform.h"

#define FIELDS_MAX 8
#define BODY_MAX 4096
#define VALUE_MAX 16

typedef struct {
	const char *body;
	urlform_err err;
	size_t n;                      /* fields parsed (before an error) */
	const char *want[FIELDS_MAX];  /* "name=value", decoded */
	const char *bad;               /* the field an error names */
} row;

static const row rows[] = {
	{"", URLFORM_OK, 0, {NULL}, NULL},
	{"a=1", URLFORM_OK, 1, {"a=1"}, NULL},
	{"a=1&b=2", URLFORM_OK, 2, {"a=1", "b=2"}, NULL},
	{"Body=Stop+please&From=%2B15551234567", URLFORM_OK, 2,
	 {"Body=Stop please", "From=+15551234567"}, NULL},
	{"Body=ARR%C3%8AT", URLFORM_OK, 1, {"Body=ARR\xc3\x8aT"}, NULL},
	{"Body=%e2%82%ac", URLFORM_OK, 1, {"Body=\xe2\x82\xac"}, NULL},
	{"k%3D=v%26w", URLFORM_OK, 1, {"k==v&w"}, NULL},
	{"a=100%", URLFORM_OK, 1, {"a=100%"}, NULL},
	{"a=%4", URLFORM_OK, 1, {"a=%4"}, NULL},
	{"a=%zz&b=%2", URLFORM_OK, 2, {"a=%zz", "b=%2"}, NULL},
	{"a=%%41", URLFORM_OK, 1, {"a=%A"}, NULL},
	{"&&a=1&&b=&", URLFORM_OK, 2, {"a=1", "b="}, NULL},
	{"flag&x=1", URLFORM_OK, 2, {"flag=", "x=1"}, NULL},
	{"=v", URLFORM_OK, 1, {"=v"}, NULL},
	{"a=b=c", URLFORM_OK, 1, {"a=b=c"}, NULL},
	{"a=1&a=2", URLFORM_OK, 2, {"a=1", "a=2"}, NULL},
	{"a=+++", URLFORM_OK, 1, {"a=   "}, NULL},
	{"a=1234567890123456", URLFORM_OK, 1, {"a=1234567890123456"}, NULL},
	{"a=%31234567890123456", URLFORM_OK, 1, {"a=1234567890123456"},
	 NULL},
	{"a=12345678901234567", URLFORM_TOO_LONG, 0, {NULL}, "a"},
	{"ok=1&b=%00", URLFORM_NUL, 1, {"ok=1"}, "b"},
	{"x%00y=1", URLFORM_NUL, 0, {NULL}, "x"},
	{"a=%ff", URLFORM_NOT_UTF8, 0, {NULL}, "a"},
	{"a=1&%c3=2", URLFORM_NOT_UTF8, 1, {"a=1"}, "\xc3"},
	{"a=%c0%af", URLFORM_NOT_UTF8, 0, {NULL}, "a"},
	{"1&2&3&4&5&6&7&8", URLFORM_OK, 8,
	 {"1=", "2=", "3=", "4=", "5=", "6=", "7=", "8="}, NULL},
	{"1&2&3&4&5&6&7&8&9", URLFORM_TOO_MANY, 8,
	 {"1=", "2=", "3=", "4=", "5=", "6=", "7=", "8="}, NULL},
	{"1&2&3&4&5&6&7&8&&&", URLFORM_OK, 8,
	 {"1=", "2=", "3=", "4=", "5=", "6=", "7=", "8="}, NULL},
};

static void check_row(const row *r)
{
	char buf[BODY_MAX + 1], got[2 * BODY_MAX];
	urlform_field f[FIELDS_MAX];
	size_t len = strlen(r->body), n = 99;
	urlform_err err;

	memcpy(buf, r->body, len + 1);
	err = urlform_parse(buf, len, f, FIELDS_MAX, VALUE_MAX, &n);
	if (err != r->err || n != r->n)
		fail_msg("%s: err %d n %zu, want %d n %zu", r->body, err, n,
			 r->err, r->n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(strlen(f[i].name), f[i].name_len);
		assert_int_equal(strlen(f[i].value), f[i].value_len);
		snprintf(got, sizeof got, "%s=%s", f[i].name, f[i].value);
		if (strcmp(got, r->want[i]) != 0)
			fail_msg("%s: field %zu is \"%s\", want \"%s\"",
				 r->body, i, got, r->want[i]);
	}
	if (r->bad && strcmp(f[n].name, r->bad) != 0)
		fail_msg("%s: names \"%s\", want \"%s\"", r->body, f[n].name,
			 r->bad);
}

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		check_row(&rows[i]);
}

/* A body that ends exactly at its buffer's last byte but one: the last
 * terminator goes in the byte the contract reserves, and no further. */
static void test_terminator_stays_inside(void **state)
{
	char *buf = malloc(4);

	(void)state;
	urlform_field f[1];
	size_t n;

	memcpy(buf, "a=b", 3);
	buf[3] = 'X';
	assert_int_equal(urlform_parse(buf, 3, f, 1, VALUE_MAX, &n),
			 URLFORM_OK);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].value, "b");
	free(buf);
}

static void test_pieces(void **state)
{
	(void)state;
	assert_int_equal(urlform_pieces("", 0), 1);
	assert_int_equal(urlform_pieces("a=1", 3), 1);
	assert_int_equal(urlform_pieces("a=1&b&&", 7), 4);
	assert_string_equal(urlform_strerror(URLFORM_NUL),
			    "contains a NUL byte");
}

/* Browser encoding: unreserved bytes as they are, space as '+', every
 * other byte as %XX. */
static size_t encode(const char *s, size_t len, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._*", c)) {
			out[o++] = (char)c;
		} else if (c == ' ') {
			out[o++] = '+';
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	return o;
}

static void test_round_trip(void **state)
{
	static const char *const alphabet[] = {
		"a", "Z", "0", " ", "+", "%", "&", "=", "~", "\xc3\xa9",
		"\xe2\x82\xac", "\xf0\x9f\x98\x80", "%2", "\n",
	};
	char fields[FIELDS_MAX][2][VALUE_MAX + 1];
	char body[BODY_MAX + 1];
	urlform_field f[FIELDS_MAX];

	(void)state;
	srand(7);
	for (int round = 0; round < 2000; round++) {
		size_t nf = 1 + (size_t)rand() % FIELDS_MAX, len = 0, n;

		for (size_t i = 0; i < nf; i++) {
			for (int part = 0; part < 2; part++) {
				char *s = fields[i][part];

				s[0] = '\0';
				for (int k = rand() % 4; k > 0; k--)
					strcat(s, alphabet[rand() % 14]);
				if (part == 0 && !*s)
					strcat(s, "k"); /* a name */
			}
			if (i)
				body[len++] = '&';
			len += encode(fields[i][0], strlen(fields[i][0]),
				      body + len);
			body[len++] = '=';
			len += encode(fields[i][1], strlen(fields[i][1]),
				      body + len);
		}
		assert_int_equal(urlform_parse(body, len, f, FIELDS_MAX,
					       VALUE_MAX, &n), URLFORM_OK);
		assert_int_equal(n, nf);
		for (size_t i = 0; i < nf; i++) {
			assert_string_equal(f[i].name, fields[i][0]);
			assert_string_equal(f[i].value, fields[i][1]);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_terminator_stays_inside),
		cmocka_unit_test(test_pieces),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
