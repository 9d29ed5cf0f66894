/*
 * fuzz_smscfg: libFuzzer target for core/smscfg's smscfg_parse().
 *
 * The settings document comes from an admin's PUT, so any bytes must give
 * either a usable smscfg or SMSCFG_ERR_INVALID with a message, never a
 * crash or a leak. Checked with abort(): a parsed document answers every
 * reply, in any language, within SMSCFG_REPLY_MAX characters (4 bytes
 * each at most) and NUL-terminated; a refusal has a message and no smscfg.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/smscfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const langs[] = {NULL, "en", "fr", "xx"};
	char err[SMSCFG_ERR_MAX];
	smscfg *c = NULL;
	smscfg_err e = smscfg_parse((const char *)data, size, "Fuzz", &c, err);

	if (e != SMSCFG_OK) {
		if (c || !err[0] || !memchr(err, 0, sizeof err))
			abort();
		return 0;
	}
	for (int i = 0; i < SMSCFG_R__COUNT; i++)
		for (size_t l = 0; l < sizeof langs / sizeof *langs; l++) {
			const char *text = smscfg_reply_of(c, i, langs[l]);

			if (!text || strnlen(text, SMSCFG_TEXT_MAX) >=
					     SMSCFG_TEXT_MAX)
				abort();
		}
	if (smscfg_window_days(c) < 1 ||
	    smscfg_window_days(c) > SMSCFG_WINDOW_DAYS_MAX)
		abort();
	smscfg_free(c);
	return 0;
}
