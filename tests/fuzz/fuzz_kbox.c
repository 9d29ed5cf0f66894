/*
 * fuzz_kbox: libFuzzer target for sms/kbox (Kannel's box protocol, what
 * bearerbox sends optd's box link) and the dlr_url parser of
 * sms/kboxlink.
 *
 * The input is one message without its header. Invariants, checked with
 * abort():
 *  - a message that decodes encodes back to exactly its own bytes (the
 *    encoding is canonical and decoding uses every byte);
 *  - every decoded string lies inside the input;
 *  - an sms's text comes out as UTF-8 within the room given, and a
 *    dlr_url that parses gives a positive id and a NUL-free key.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/utf8.h"
#include "sms/kbox.h"
#include "sms/kboxlink.h"

#define FUZZ_TEXT_MAX 512
#define FUZZ_DEDUPE_MAX 65

static void inside(kbox_str s, const char *lo, size_t len)
{
	if (s.len == -1 && s.p == NULL)
		return;
	if (s.len < 0 || !s.p || s.p < lo || s.p + s.len > lo + len)
		abort();
}

static void check_sms(const kbox_msg *m)
{
	char text[FUZZ_TEXT_MAX], dk[FUZZ_DEDUPE_MAX];
	size_t n;
	int64_t id;

	if (kbox_text_utf8(m, text, sizeof text, &n) == KBOX_OK &&
	    (n >= sizeof text || text[n] != '\0' || !utf8_valid(text, n)))
		abort();
	if (kbl_dlr_parse(&m->dlr_url, &id, dk, sizeof dk) == 0 &&
	    (id <= 0 || strlen(dk) == 0 || strlen(dk) >= sizeof dk))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[KBOX_HEADER + KBOX_FRAME_MAX];
	const char *in = (const char *)data;
	size_t n;
	kbox_msg m;

	if (size > KBOX_FRAME_MAX || kbox_decode(in, size, &m) != KBOX_OK)
		return 0;
	kbox_str all[] = {m.boxc_id, m.sender, m.receiver, m.udhdata,
			  m.msgdata, m.smsc_id, m.smsc_number, m.foreign_id,
			  m.service, m.account, m.id, m.dlr_url, m.charset,
			  m.binfo, m.meta_data, m.wdp_src_addr, m.wdp_dst_addr,
			  m.wdp_data};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		inside(all[i], in, size);
	if (kbox_encode(&m, out, sizeof out, &n) != KBOX_OK ||
	    n != size + KBOX_HEADER ||
	    kbox_frame_len((const unsigned char *)out) != (int32_t)size ||
	    memcmp(out + KBOX_HEADER, in, size) != 0)
		abort();
	if (m.type == KBOX_SMS)
		check_sms(&m);
	return 0;
}
