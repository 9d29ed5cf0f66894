/*
 * fuzz_phone: libFuzzer target for core/phone's phone_normalize().
 *
 * Invariants checked, with abort() so any fuzzer build reports them: the
 * result is a known phone_err; past PHONE_INPUT_MAX bytes it is always
 * PHONE_ERR_TOO_LONG; on error *out is all zero bytes; on success e164 is
 * '+' and 1..15 digits, region is "" or two upper-case letters, valid is
 * 0 or 1, and normalising e164 again gives the same answer (it is stored
 * as a key, so a second pass must not move it).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/phone.h"

static void fuzz_phone_check_ok(const phone_info *info)
{
	size_t n = strnlen(info->e164, sizeof info->e164);

	if (n < 2 || n > PHONE_E164_MAX || info->e164[0] != '+')
		abort();
	for (size_t i = 1; i < n; i++)
		if (info->e164[i] < '0' || info->e164[i] > '9')
			abort();

	char region[PHONE_REGION_MAX + 1];
	phone_region_of(info->e164, region);
	n = strnlen(region, sizeof region);
	if (n != 0 && n != PHONE_REGION_MAX)
		abort();
	for (size_t i = 0; i < n; i++)
		if (region[i] < 'A' || region[i] > 'Z')
			abort();

	if (info->valid != 0 && info->valid != 1)
		abort();
	if ((int)info->type < PHONE_TYPE_UNKNOWN ||
	    (int)info->type > PHONE_TYPE_VOICEMAIL)
		abort();
}

static void fuzz_phone_one(const char *s, size_t len, const char *region)
{
	static const phone_info zero;
	phone_info info;
	phone_info again;
	phone_err err;

	memset(&info, 0xa5, sizeof info);
	err = phone_normalize(s, len, region, &info);
	if ((int)err < PHONE_OK || (int)err > PHONE_ERR_REGION)
		abort();
	if (len > PHONE_INPUT_MAX && err != PHONE_ERR_TOO_LONG)
		abort();
	if (phone_strerror(err) == NULL)
		abort();
	if (err != PHONE_OK) {
		if (memcmp(&info, &zero, sizeof info) != 0)
			abort();
		return;
	}
	fuzz_phone_check_ok(&info);
	if (phone_type_name(info.type) == NULL)
		abort();

	/* The other region must not matter once the country code is in. */
	if (phone_normalize(info.e164, strlen(info.e164),
			    strcmp(region, "US") == 0 ? "FR" : "US",
			    &again) != PHONE_OK ||
	    memcmp(&info, &again, sizeof info) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;

	fuzz_phone_one(s, size, "US");
	fuzz_phone_one(s, size, "FR");

	if (phone_is_short_code(s, size)) {
		if (size < 5 || size > 6)
			abort();
		for (size_t i = 0; i < size; i++)
			if (s[i] < '0' || s[i] > '9')
				abort();
	}
	return 0;
}
