/*
 * fuzz_twilio_resp: libFuzzer target for sms_twilio_parse_response(), the
 * classifier of whatever Twilio (or anything posing as it) answers to a
 * send.
 *
 * The first two bytes are the HTTP status (big-endian, modulo 1000, so 0
 * and 600-999 come up too); the rest is the body. Invariants, checked with
 * abort() so any fuzzer build reports them:
 *   - the result is SMS_OK, SMS_RETRY, SMS_FAIL or SMS_OPTED_OUT, and the
 *     same on a second call;
 *   - SMS_OK exactly for 2xx, with no error and no code; SMS_RETRY exactly
 *     for 429, 5xx and statuses outside 100-599; SMS_OPTED_OUT only for
 *     4xx with code 21610, and a 4xx with code 21610 is always that;
 *   - http_status is the status when it is one (100-999), else 0;
 *     retry_after_ms is 0 (only the transport knows Retry-After);
 *   - the id and error texts keep sms_res_check.h's rules.
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
	long st;
	sms_err e;
	int ok, retry;

	if (size < 2)
		return 0;
	st = ((long)data[0] << 8 | data[1]) % 1000;
	e = sms_twilio_parse_response(st, (const char *)data + 2, size - 2,
				      &res);
	if (e != SMS_OK && e != SMS_RETRY && e != SMS_FAIL &&
	    e != SMS_OPTED_OUT)
		abort();
	ok = st >= 200 && st <= 299;
	retry = st == 429 || st >= 500 || st < 100;
	if ((e == SMS_OK) != ok || (e == SMS_RETRY) != retry)
		abort();
	if (e == SMS_OK && res.code != 0)
		abort();
	if ((e == SMS_OPTED_OUT) !=
	    (st >= 400 && st <= 499 && st != 429 && res.code == 21610))
		abort();
	if (res.http_status != (st >= 100 ? st : 0) || res.retry_after_ms)
		abort();
	sms_res_check(&res, e);
	if (sms_twilio_parse_response(st, (const char *)data + 2, size - 2,
				      &again) != e ||
	    memcmp(&res, &again, sizeof res) != 0)
		abort();
	return 0;
}
