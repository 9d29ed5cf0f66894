/*
 * fuzz_kannel_resp: libFuzzer target for sms_kannel_parse_response(), the
 * classifier of what Kannel's sendsms (or anything at its URL) answers.
 *
 * The first two bytes are the HTTP status (big-endian, modulo 1000); the
 * rest is the body. Invariants, checked with abort() so any fuzzer build
 * reports them:
 *   - the result is SMS_OK, SMS_RETRY or SMS_FAIL, and the same on a
 *     second call;
 *   - SMS_OK exactly for 2xx with a body starting "0:", "3:" or "Sent."
 *     (an smsbox with immediate-sendsms-reply); SMS_RETRY
 *     exactly for 429, 5xx and statuses outside 100-599;
 *   - http_status is the status when it is one (100-999), else 0; code,
 *     retry_after_ms and provider_id are left empty (the send fills the
 *     id in);
 *   - the error text keeps sms_res_check.h's rules.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sms/sms_int.h"
#include "sms_res_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sms_send_res res, again;
	const char *body = (const char *)data + 2;
	size_t len;
	long st;
	sms_err e;
	int ok, retry;

	if (size < 2)
		return 0;
	len = size - 2;
	st = ((long)data[0] << 8 | data[1]) % 1000;
	e = sms_kannel_parse_response(st, body, len, &res);
	if (e != SMS_OK && e != SMS_RETRY && e != SMS_FAIL)
		abort();
	ok = st >= 200 && st <= 299 &&
	     ((len >= 2 && (body[0] == '0' || body[0] == '3') &&
	       body[1] == ':') ||
	      (len >= 5 && memcmp(body, "Sent.", 5) == 0));
	retry = st == 429 || st >= 500 || st < 100;
	if ((e == SMS_OK) != ok || (e == SMS_RETRY) != retry)
		abort();
	if (res.http_status != (st >= 100 ? st : 0) || res.code ||
	    res.retry_after_ms || res.provider_id[0])
		abort();
	sms_res_check(&res, e);
	if (sms_kannel_parse_response(st, body, len, &again) != e ||
	    memcmp(&res, &again, sizeof res) != 0)
		abort();
	return 0;
}
