/*
 * fuzz_digitre: libFuzzer target for lib/digitre.
 *
 * The input is a pattern, a NUL byte, then a subject. Any pattern must
 * compile or be refused with a known error, never crash or run long; a
 * compiled one is then checked for what holds whatever it says:
 *   - a full match is also a prefix match;
 *   - a prefix match means some prefix of the subject matches in full;
 *   - a subject with a byte that is not a digit never matches in full.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/digitre.h"

#define FUZZ_SUBJECT_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	const char *nul = memchr(p, '\0', size);
	size_t plen = nul ? (size_t)(nul - p) : size;
	const char *s = nul ? nul + 1 : "";
	size_t slen = nul ? size - plen - 1 : 0;
	digitre *re = NULL;
	digitre_err err;
	int any = 0, digits = 1;

	if (slen > FUZZ_SUBJECT_MAX)
		slen = FUZZ_SUBJECT_MAX;
	err = digitre_compile(p, plen, &re);
	if (err > DIGITRE_ERR_NOMEM || (err != DIGITRE_OK) != (re == NULL))
		abort();
	if (!re)
		return 0;
	for (size_t i = 0; i <= slen; i++)
		any |= digitre_full(re, s, i);
	for (size_t i = 0; i < slen; i++)
		digits &= s[i] >= '0' && s[i] <= '9';
	if (digitre_full(re, s, slen) && !digitre_prefix(re, s, slen))
		abort();
	if (digitre_prefix(re, s, slen) != any)
		abort();
	if (!digits && digitre_full(re, s, slen))
		abort();
	digitre_free(re);
	return 0;
}
