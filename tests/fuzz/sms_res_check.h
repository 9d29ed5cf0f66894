/*
 * sms_res_check: the invariants every classified gateway answer keeps,
 * shared by the provider fuzz targets. abort() on a breach, so any fuzzer
 * build reports it:
 *   - provider_id and error are NUL-terminated in their buffers;
 *   - the id is printable ASCII, and empty unless SMS_OK;
 *   - the error is empty exactly when SMS_OK, else one line of valid
 *     UTF-8 (it goes to the outbox row and out as JSON).
 */
#ifndef OPTD_FUZZ_SMS_RES_CHECK_H
#define OPTD_FUZZ_SMS_RES_CHECK_H

#include <stdlib.h>
#include <string.h>

#include "lib/utf8.h"
#include "sms/provider.h"

static void sms_res_check(const sms_send_res *res, sms_err e)
{
	size_t idn = strnlen(res->provider_id, sizeof res->provider_id);
	size_t en = strnlen(res->error, sizeof res->error);

	if (idn == sizeof res->provider_id || en == sizeof res->error)
		abort();
	for (size_t i = 0; i < idn; i++)
		if (res->provider_id[i] <= ' ' || res->provider_id[i] > '~')
			abort();
	for (size_t i = 0; i < en; i++)
		if ((unsigned char)res->error[i] < 0x20 || res->error[i] == 0x7f)
			abort();
	if (!utf8_valid(res->error, en) || (e == SMS_OK) != (en == 0) ||
	    (e != SMS_OK && idn != 0))
		abort();
}

#endif
