/* utf8: see utf8.h. */
#include "lib/utf8.h"

#include <string.h>

/*
 * Length of the well-formed sequence at p (at most n bytes), 0 if none;
 * its code point in *cp.
 */
static size_t seq_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
	uint32_t c = p[0], min;
	size_t len;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0)
		len = 2, min = 0x80, c &= 0x1f;
	else if ((c & 0xf0) == 0xe0)
		len = 3, min = 0x800, c &= 0x0f;
	else if ((c & 0xf8) == 0xf0)
		len = 4, min = 0x10000, c &= 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[k] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static size_t seq_len(const unsigned char *p, size_t n)
{
	uint32_t cp;

	return seq_decode(p, n, &cp);
}

size_t utf8_decode(const char *s, size_t n, uint32_t *cp)
{
	return n ? seq_decode((const unsigned char *)s, n, cp) : 0;
}

int utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		size_t n;
		if (p[i] < 0x80) { /* most text: no decoding needed */
			i++;
			continue;
		}
		if (!(n = seq_len(p + i, len - i)))
			return 0;
		i += n;
	}
	return 1;
}

void utf8_clean(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t len = strlen(s), i = 0;

	while (i < len) {
		size_t n = seq_len(p + i, len - i);
		if (!n) {
			p[i] = '?';
			n = 1;
		}
		i += n;
	}
}

size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80; /* not a continuation */
	return n;
}
