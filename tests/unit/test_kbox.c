/*
 * test_kbox: unit tests for sms/kbox (Kannel's box protocol) and the
 * pure parts of sms/kboxlink (its address and dlr_url parsers).
 *
 * Two frames as Debian's bearerbox 1.4.5 sent them (a message from
 * fakesmsc, and the ack of a reply) are decoded field by field and
 * encoded back byte for byte; then every refusal, the text conversions
 * (UCS-2 with a surrogate pair and a lone one, Latin-1, the limits), and
 * the parsers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sms/kbox.h"
#include "sms/kboxlink.h"

/* An mo "Stop." from +16505551234 to +16502530000 (without its header). */
static const char real_mo[] =
	"\x00\x00\x00\x02\x00\x00\x00\x0c\x2b\x31\x36\x35\x30\x35\x35\x35"
	"\x31\x32\x33\x34\x00\x00\x00\x0c\x2b\x31\x36\x35\x30\x32\x35\x33"
	"\x30\x30\x30\x30\xff\xff\xff\xff\x00\x00\x00\x05\x53\x74\x6f\x70"
	"\x2e\x6b\x09\x3a\x1b\x00\x00\x00\x05\x66\x61\x6b\x65\x31\xff\xff"
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00"
	"\x00\x24\x65\x65\x35\x66\x32\x66\x61\x36\x2d\x35\x65\x39\x32\x2d"
	"\x34\x31\x39\x62\x2d\x62\x62\x30\x30\x2d\x37\x35\x31\x38\x37\x63"
	"\x66\x39\x65\x30\x37\x32\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff"
	"\xff\xff\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
	"\xff\xff\xff\xff\xff\xff";
/* bearerbox's ack of a reply we sent with this id and time. */
static const char real_ack[] =
	"\x00\x00\x00\x03\x00\x00\x00\x00\x65\x53\xf1\x00\x00\x00\x00\x24"
	"\x30\x66\x31\x65\x32\x64\x33\x63\x2d\x34\x62\x35\x61\x2d\x36\x39"
	"\x37\x38\x2d\x38\x37\x39\x36\x2d\x61\x35\x62\x34\x63\x33\x64\x32"
	"\x65\x31\x66\x30";

static int str_is(kbox_str s, const char *want)
{
	if (!want)
		return s.len == -1 && s.p == NULL;
	return s.len == (int32_t)strlen(want) &&
	       memcmp(s.p, want, (size_t)s.len) == 0;
}

static void check_round_trip(const char *body, size_t len)
{
	char buf[1024];
	size_t n;
	kbox_msg m;

	assert_int_equal(kbox_decode(body, len, &m), KBOX_OK);
	assert_int_equal(kbox_encode(&m, buf, sizeof buf, &n), KBOX_OK);
	assert_int_equal(n, len + KBOX_HEADER);
	assert_int_equal(kbox_frame_len((const unsigned char *)buf),
			 (int32_t)len);
	assert_memory_equal(buf + KBOX_HEADER, body, len);
}

static void test_real_mo(void **state)
{
	kbox_msg m;

	(void)state;
	assert_int_equal(kbox_decode(real_mo, sizeof real_mo - 1, &m),
			 KBOX_OK);
	assert_int_equal(m.type, KBOX_SMS);
	assert_true(str_is(m.sender, "+16505551234"));
	assert_true(str_is(m.receiver, "+16502530000"));
	assert_true(str_is(m.udhdata, NULL));
	assert_true(str_is(m.msgdata, "Stop."));
	assert_true(str_is(m.smsc_id, "fake1"));
	assert_int_equal(m.id.len, KBOX_UUID_LEN);
	assert_int_equal(m.sms_type, KBOX_MO);
	assert_int_equal(m.coding, KBOX_CODING_7BIT);
	assert_int_equal(m.mclass, KBOX_UNDEF);
	assert_int_equal(m.dlr_mask, KBOX_UNDEF);
	assert_true(str_is(m.meta_data, NULL));
	check_round_trip(real_mo, sizeof real_mo - 1);
}

static void test_real_ack(void **state)
{
	kbox_msg m;

	(void)state;
	assert_int_equal(kbox_decode(real_ack, sizeof real_ack - 1, &m),
			 KBOX_OK);
	assert_int_equal(m.type, KBOX_ACK);
	assert_int_equal(m.nack, KBOX_ACK_SUCCESS);
	assert_int_equal(m.time, 1700000000);
	assert_true(str_is(m.id, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"));
	check_round_trip(real_ack, sizeof real_ack - 1);
}

/* Every type, with empty and absent strings kept apart. */
static void test_round_trips(void **state)
{
	char buf[512];
	size_t n;
	kbox_msg m, d;

	(void)state;
	for (int t = 0; t < KBOX__TYPES; t++) {
		kbox_init(&m, (kbox_type)t);
		m.load = 7;
		m.command = KBOX_CMD_IDENTIFY;
		m.boxc_id = kbox_cstr("");
		m.id = kbox_cstr("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
		m.msgdata = kbox_cstr("a\0b");
		m.msgdata.len = 3;
		m.dlr_url = kbox_cstr("optd:1:in1-opt_in");
		m.wdp_data = kbox_cstr("x");
		m.priority = 0;
		assert_int_equal(kbox_encode(&m, buf, sizeof buf, &n), KBOX_OK);
		check_round_trip(buf + KBOX_HEADER, n - KBOX_HEADER);
		assert_int_equal(kbox_decode(buf + KBOX_HEADER,
					     n - KBOX_HEADER, &d), KBOX_OK);
		assert_int_equal(d.type, t);
		if (t == KBOX_ADMIN)
			assert_true(str_is(d.boxc_id, ""));
		if (t == KBOX_SMS) {
			assert_int_equal(d.msgdata.len, 3);
			assert_true(str_is(d.sender, NULL));
			assert_int_equal(d.priority, 0);
			assert_int_equal(d.time, KBOX_UNDEF);
		}
	}
	assert_string_equal(kbox_type_name(KBOX_WDP), "wdp_datagram");
	assert_string_equal(kbox_type_name((kbox_type)9), "unknown");
}

static void test_refusals(void **state)
{
	char buf[256], small[16];
	size_t n;
	kbox_msg m;

	(void)state;
	assert_int_equal(kbox_decode("\0\0\0", 3, &m), KBOX_ERR_SHORT);
	assert_int_equal(kbox_decode("\0\0\0\x09", 4, &m), KBOX_ERR_TYPE);
	assert_int_equal(kbox_decode("\xff\xff\xff\xff", 4, &m),
			 KBOX_ERR_TYPE);
	/* heartbeat: its one integer cut short, then a byte too many */
	assert_int_equal(kbox_decode("\0\0\0\0\0\0", 6, &m), KBOX_ERR_SHORT);
	assert_int_equal(kbox_decode("\0\0\0\0\0\0\0\1\0", 9, &m),
			 KBOX_ERR_TRAIL);
	/* admin: a string of length -2, then one past the end */
	assert_int_equal(kbox_decode("\0\0\0\1\0\0\0\3\xff\xff\xff\xfe", 12,
				     &m), KBOX_ERR_LENGTH);
	assert_int_equal(kbox_decode("\0\0\0\1\0\0\0\3\0\0\0\5abc", 15, &m),
			 KBOX_ERR_LENGTH);
	/* ack: an id of 3 bytes */
	assert_int_equal(kbox_decode("\0\0\0\3\0\0\0\0\0\0\0\0\0\0\0\3abc",
				     19, &m), KBOX_ERR_UUID);
	/* the real mo cut at every length is refused, never read past */
	for (size_t len = 0; len < sizeof real_mo - 1; len++) {
		char *cut = malloc(len ? len : 1);
		memcpy(cut, real_mo, len);
		assert_int_not_equal(kbox_decode(cut, len, &m), KBOX_OK);
		free(cut);
	}
	kbox_init(&m, KBOX_ACK);
	m.id = kbox_cstr("short");
	assert_int_equal(kbox_encode(&m, buf, sizeof buf, &n), KBOX_ERR_UUID);
	m.id = kbox_cstr("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
	assert_int_equal(kbox_encode(&m, small, sizeof small, &n),
			 KBOX_ERR_SIZE);
	assert_int_equal(n, 0);
	m.type = (kbox_type)7;
	assert_int_equal(kbox_encode(&m, buf, sizeof buf, &n), KBOX_ERR_TYPE);
	assert_int_equal(kbox_frame_len((const unsigned char *)"\0\1\0\0"),
			 65536);
	assert_int_equal(kbox_frame_len((const unsigned char *)"\0\1\0\1"),
			 -1);
	assert_int_equal(kbox_frame_len((const unsigned char *)"\x80\0\0\0"),
			 -1);
	assert_string_equal(kbox_strerror(KBOX_ERR_UUID),
			    "id is not a 36-character UUID");
}

static void text_is(int coding, const char *data, size_t len,
		    const char *want)
{
	char out[64];
	size_t n;
	kbox_msg m;

	kbox_init(&m, KBOX_SMS);
	m.coding = coding;
	m.msgdata.p = data;
	m.msgdata.len = (int32_t)len;
	assert_int_equal(kbox_text_utf8(&m, out, sizeof out, &n), KBOX_OK);
	assert_int_equal(n, strlen(want));
	assert_string_equal(out, want);
}

static void test_text(void **state)
{
	char out[8], u16[16];
	size_t n;
	kbox_msg m;

	(void)state;
	text_is(KBOX_CODING_7BIT, "ARR\xc3\x8aT", 6, "ARR\xc3\x8aT");
	text_is(KBOX_UNDEF, "caf\xe9", 4, "caf\xc3\xa9"); /* Latin-1 */
	text_is(KBOX_CODING_UCS2, "\0S\xff\x33", 4, "S\xef\xbc\xb3");
	/* U+1F600 as a pair; a lone high surrogate; an odd byte dropped */
	text_is(KBOX_CODING_UCS2, "\xd8\x3d\xde\x00", 4, "\xf0\x9f\x98\x80");
	text_is(KBOX_CODING_UCS2, "\xd8\x3d\0A", 4, "\xef\xbf\xbd" "A");
	text_is(KBOX_CODING_UCS2, "\0A\0", 3, "A");
	text_is(KBOX_CODING_7BIT, NULL, 0, "");
	kbox_init(&m, KBOX_SMS);
	m.msgdata = kbox_cstr("12345678");
	assert_int_equal(kbox_text_utf8(&m, out, sizeof out, &n),
			 KBOX_ERR_SIZE);
	assert_int_equal(kbox_utf16be("a\xc3\xa9\xf0\x9f\x98\x80", 7, u16,
				      sizeof u16, &n), KBOX_OK);
	assert_int_equal(n, 8);
	assert_memory_equal(u16, "\0a\0\xe9\xd8\x3d\xde\x00", 8);
	assert_int_equal(kbox_utf16be("\xff", 1, u16, sizeof u16, &n),
			 KBOX_ERR_LENGTH);
	assert_int_equal(kbox_utf16be("abc", 3, u16, 4, &n), KBOX_ERR_SIZE);
}

static void test_parsers(void **state)
{
	kbl_conf c;
	int64_t id;
	char dk[8];
	kbox_str s;

	(void)state;
	assert_int_equal(kbl_parse_addr("127.0.0.1:13001", &c), 0);
	assert_string_equal(c.host, "127.0.0.1");
	assert_int_equal(c.port, 13001);
	assert_int_equal(kbl_parse_addr("[::1]:1", &c), 0);
	assert_string_equal(c.host, "[::1]");
	const char *bad[] = {"", "host", ":1", "h:", "h:0", "h:65536",
			     "h:1x", NULL};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(kbl_parse_addr(bad[i], &c), -1);

	s = kbox_cstr("optd:42:in7-help");
	assert_int_equal(kbl_dlr_parse(&s, &id, dk, sizeof dk), -1); /* dk */
	s = kbox_cstr("optd:42:in7");
	assert_int_equal(kbl_dlr_parse(&s, &id, dk, sizeof dk), 0);
	assert_int_equal(id, 42);
	assert_string_equal(dk, "in7");
	const char *no[] = {"optd:", "optd:x:a", "optd:0:a", "optd:1:",
			    "optd:1", "http://x/?id=1",
			    "optd:99999999999999999999:a",
			    NULL};
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
		s = kbox_cstr(no[i]);
		assert_int_equal(kbl_dlr_parse(&s, &id, dk, sizeof dk), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_mo),
		cmocka_unit_test(test_real_ack),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_parsers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
