/* jsonstr: see jsonstr.h. */
#include "lib/jsonstr.h"
#include "lib/str.h"
#include "lib/utf8.h"

#include <string.h>

void jsonstr_escape(const char *raw, char *out, size_t cap)
{
	char in[JSONSTR_IN_MAX];
	size_t o = 0;

	if (cap == 0)
		return;
	/* Paths and messages carry client bytes; JSON must be UTF-8. */
	str_copy(in, sizeof in, raw); /* NULL copies as "" */
	utf8_clean(in);
	for (const char *p = in; *p;) {
		unsigned char c = (unsigned char)*p;
		char tmp[8];
		size_t n, step = 1;

		if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			n = 2;
		} else if (c < 0x20) {
			memcpy(tmp, "\\u00", 4);
			tmp[4] = "0123456789abcdef"[c >> 4];
			tmp[5] = "0123456789abcdef"[c & 0xf];
			n = 6;
		} else {
			/* A whole character or nothing: never cut one in two. */
			step = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
			memcpy(tmp, p, step);
			n = step;
		}
		if (o + n >= cap)
			break;
		memcpy(out + o, tmp, n);
		o += n;
		p += step;
	}
	out[o] = '\0';
}
