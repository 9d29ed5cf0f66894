/*
 * test_smsenc: unit tests for core/smsenc (encoding and segment count).
 *
 * The counts are what the carrier bills and what the outbox shows, so
 * each boundary is pinned on both sides: 160/161 septets, 70/71 units,
 * 306/307 septets in two parts, and the cases where an escape pair or a
 * surrogate pair would straddle two segments and has to move whole (one
 * more segment than a plain division says). Then the alphabet: accents
 * that are in GSM 03.38 and their neighbours that are not, the Greek
 * capitals, the iOS ellipsis that silently turns a message into UCS-2,
 * and bytes that are not UTF-8.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/smsenc.h"

#define BODY_MAX 8192

/* Up to four pieces, each repeated: enough to build any boundary case. */
typedef struct {
	const char *s;
	int times;
} piece;

typedef struct {
	const char *name;
	piece p[4];
	smsenc_err err;
	smsenc_encoding enc;
	int segments;
	size_t chars;
	size_t units;
} row;

#define G SMSENC_GSM7
#define U SMSENC_UCS2
#define OK SMSENC_OK

static const row rows[] = {
	{"empty", {{"", 1}}, OK, G, 1, 0, 0},
	{"hello", {{"hello", 1}}, OK, G, 1, 5, 5},
	{"160 GSM", {{"a", 160}}, OK, G, 1, 160, 160},
	{"161 GSM", {{"a", 161}}, OK, G, 2, 161, 161},
	{"306 GSM, two parts", {{"a", 306}}, OK, G, 2, 306, 306},
	{"307 GSM, three parts", {{"a", 307}}, OK, G, 3, 307, 307},
	{"1600 GSM", {{"a", 1600}}, OK, G, 11, 1600, 1600},
	{"euro alone", {{"\xe2\x82\xac", 1}}, OK, G, 1, 1, 2},
	{"158 + euro = 160 septets", {{"a", 158}, {"\xe2\x82\xac", 1}},
	 OK, G, 1, 159, 160},
	{"159 + euro = 161 septets", {{"a", 159}, {"\xe2\x82\xac", 1}},
	 OK, G, 2, 160, 161},
	{"euro pair moves to part 2",
	 {{"a", 152}, {"\xe2\x82\xac", 1}, {"a", 152}}, OK, G, 3, 305, 306},
	{"euro pair fits part 1", {{"a", 151}, {"\xe2\x82\xac", 1},
				   {"a", 153}}, OK, G, 2, 305, 306},
	{"80 braces", {{"{", 80}}, OK, G, 1, 80, 160},
	{"81 braces", {{"{", 81}}, OK, G, 2, 81, 162},
	{"extension table", {{"^{}\\[~]|", 1}}, OK, G, 1, 8, 16},
	{"form feed", {{"\f", 1}}, OK, G, 1, 1, 2},
	{"CR LF", {{"a\r\nb", 1}}, OK, G, 1, 4, 4},
	{"GSM symbols", {{"@\xc2\xa3$\xc2\xa5_!?#%&\xc2\xa4\xc2\xa7"
			  "\xc2\xa1\xc2\xbf", 1}}, OK, G, 1, 14, 14},
	{"e acute in GSM", {{"caf\xc3\xa9", 1}}, OK, G, 1, 4, 4},
	{"e circumflex is not", {{"f\xc3\xaate", 1}}, OK, U, 1, 4, 4},
	{"capital C cedilla in GSM", {{"\xc3\x87", 1}}, OK, G, 1, 1, 1},
	{"small c cedilla is not", {{"\xc3\xa7", 1}}, OK, U, 1, 1, 1},
	{"Greek capitals in GSM",
	 {{"\xce\x94\xce\xa6\xce\x93\xce\x9b\xce\xa9\xce\xa0\xce\xa8\xce\xa3"
	   "\xce\x98\xce\x9e", 1}}, OK, G, 1, 10, 10},
	{"Greek Alpha is not", {{"\xce\x91", 1}}, OK, U, 1, 1, 1},
	{"Greek small delta is not", {{"\xce\xb4", 1}}, OK, U, 1, 1, 1},
	{"Nordic and German letters",
	 {{"\xc3\x85\xc3\xa5\xc3\x98\xc3\xb8\xc3\x86\xc3\xa6\xc3\x9f\xc3\x84"
	   "\xc3\x96\xc3\x9c\xc3\xa4\xc3\xb6\xc3\xbc", 1}}, OK, G, 1, 13, 13},
	{"ellipsis forces UCS-2", {{"Thanks\xe2\x80\xa6", 1}}, OK, U, 1, 7, 7},
	{"backtick is not GSM", {{"`", 1}}, OK, U, 1, 1, 1},
	{"tab is not GSM", {{"a\tb", 1}}, OK, U, 1, 3, 3},
	{"70 UCS-2", {{"\xc3\xaa", 70}}, OK, U, 1, 70, 70},
	{"71 UCS-2", {{"\xc3\xaa", 71}}, OK, U, 2, 71, 71},
	{"134 UCS-2, two parts", {{"\xc3\xaa", 134}}, OK, U, 2, 134, 134},
	{"135 UCS-2, three parts", {{"\xc3\xaa", 135}}, OK, U, 3, 135, 135},
	{"emoji", {{"\xf0\x9f\x98\x80", 1}}, OK, U, 1, 1, 2},
	{"35 emoji = 70 units", {{"\xf0\x9f\x98\x80", 35}}, OK, U, 1, 35, 70},
	{"69 + emoji = 71 units", {{"a", 69}, {"\xf0\x9f\x98\x80", 1}},
	 OK, U, 2, 70, 71},
	{"surrogate pair moves to part 2",
	 {{"\xc3\xaa", 66}, {"\xf0\x9f\x98\x80", 1}, {"\xc3\xaa", 66}},
	 OK, U, 3, 133, 134},
	{"GSM text turned UCS-2 by one emoji",
	 {{"a", 100}, {"\xf0\x9f\x91\x8d", 1}}, OK, U, 2, 101, 102},
	{"euro in UCS-2 is one unit", {{"\xe2\x82\xac\xc3\xaa", 1}},
	 OK, U, 1, 2, 2},
	{"invalid byte", {{"ok\xff", 1}}, SMSENC_ERR_UTF8, G, 1, 0, 0},
	{"overlong slash", {{"\xc0\xaf", 1}}, SMSENC_ERR_UTF8, G, 1, 0, 0},
	{"truncated euro", {{"\xe2\x82", 1}}, SMSENC_ERR_UTF8, G, 1, 0, 0},
	{"encoded surrogate", {{"\xed\xa0\x80", 1}}, SMSENC_ERR_UTF8, G, 1,
	 0, 0},
	{"past U+10FFFF", {{"\xf4\x90\x80\x80", 1}}, SMSENC_ERR_UTF8, G, 1,
	 0, 0},
	{"lone continuation", {{"\x80", 1}}, SMSENC_ERR_UTF8, G, 1, 0, 0},
};

static size_t build(const row *r, char *buf)
{
	size_t n = 0;

	for (int i = 0; i < 4 && r->p[i].s; i++) {
		size_t len = strlen(r->p[i].s);

		for (int k = 0; k < r->p[i].times; k++) {
			assert_true(n + len < BODY_MAX);
			memcpy(buf + n, r->p[i].s, len);
			n += len;
		}
	}
	buf[n] = '\0';
	return n;
}

static void test_table(void **state)
{
	static char buf[BODY_MAX];
	smsenc_info info;

	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		const row *r = &rows[i];
		size_t n = build(r, buf);
		smsenc_err e = smsenc_measure(buf, n, &info);

		if (e != r->err || info.encoding != r->enc ||
		    info.segments != r->segments || info.chars != r->chars ||
		    info.units != r->units)
			fail_msg("%s: got err %d %s %d segments %zu chars "
				 "%zu units; want err %d %s %d %zu %zu",
				 r->name, e, smsenc_name(info.encoding),
				 info.segments, info.chars, info.units, r->err,
				 smsenc_name(r->enc), r->segments, r->chars,
				 r->units);
	}
}

/* A NUL byte is U+0000, which GSM's 0x00 (@) is not. */
static void test_nul(void **state)
{
	smsenc_info info;

	(void)state;
	assert_int_equal(smsenc_measure("a\0b", 3, &info), SMSENC_OK);
	assert_int_equal(info.encoding, SMSENC_UCS2);
	assert_int_equal(info.chars, 3);
}

/* The length is what counts, not a terminator: "abc" measured as 2. */
static void test_length_not_nul(void **state)
{
	smsenc_info info;

	(void)state;
	assert_int_equal(smsenc_measure("abc", 2, &info), SMSENC_OK);
	assert_int_equal(info.chars, 2);
	/* Cut in the middle of é: the bytes given are not UTF-8. */
	assert_int_equal(smsenc_measure("caf\xc3\xa9", 4, &info),
			 SMSENC_ERR_UTF8);
}

static void test_args_and_limit(void **state)
{
	static char big[SMSENC_BYTES_MAX + 1];
	smsenc_info info;

	(void)state;
	assert_int_equal(smsenc_measure("a", 1, NULL), SMSENC_ERR_ARG);
	assert_int_equal(smsenc_measure(NULL, 1, &info), SMSENC_ERR_ARG);
	assert_int_equal(smsenc_measure(NULL, 0, &info), SMSENC_OK);
	assert_int_equal(info.encoding, SMSENC_GSM7);
	assert_int_equal(info.segments, 1);
	memset(big, 'a', sizeof big);
	assert_int_equal(smsenc_measure(big, SMSENC_BYTES_MAX, &info),
			 SMSENC_OK);
	assert_int_equal(info.segments,
			 (SMSENC_BYTES_MAX + SMSENC_GSM7_PART - 1) /
				 SMSENC_GSM7_PART);
	assert_int_equal(smsenc_measure(big, sizeof big, &info),
			 SMSENC_ERR_TOO_LONG);
	/* On error the answer is the empty body's, never stale. */
	assert_int_equal(info.segments, 1);
	assert_int_equal(info.chars, 0);
}

/* Every code point below U+0400 once: exactly the characters of GSM
 * 03.38 come out GSM-7, which pins the tables against a typo. */
static void test_alphabet_size(void **state)
{
	char buf[8];
	int gsm = 0;
	smsenc_info info;

	(void)state;
	for (uint32_t cp = 1; cp < 0x400; cp++) {
		size_t n;

		if (cp < 0x80) {
			buf[0] = (char)cp;
			n = 1;
		} else {
			buf[0] = (char)(0xc0 | (cp >> 6));
			buf[1] = (char)(0x80 | (cp & 0x3f));
			n = 2;
		}
		assert_int_equal(smsenc_measure(buf, n, &info), SMSENC_OK);
		gsm += info.encoding == SMSENC_GSM7;
	}
	/* The default alphabet has 128 positions, less ESC, which is no
	 * character ('@' is 0x00, met here at U+0040); all but the euro
	 * sign of the 10 in the extension table lie below U+0400 too. */
	assert_int_equal(gsm, 127 + 9);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(smsenc_name(SMSENC_GSM7), "GSM-7");
	assert_string_equal(smsenc_name(SMSENC_UCS2), "UCS-2");
	assert_string_equal(smsenc_strerror(SMSENC_ERR_UTF8),
			    "not UTF-8 text");
	assert_string_equal(smsenc_strerror((smsenc_err)99), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_length_not_nul),
		cmocka_unit_test(test_args_and_limit),
		cmocka_unit_test(test_alphabet_size),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
