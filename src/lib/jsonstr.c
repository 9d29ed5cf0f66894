/* jsonstr: see jsonstr.h. */
#include "lib/jsonstr.h"
#include "lib/utf8.h"

#include <stdio.h>
#include <string.h>

void jsonstr_escape(const char *raw, char *out, size_t cap)
{
	char in[JSONSTR_IN_MAX];
	size_t o = 0;

	if (cap == 0)
		return;
	/* Paths and messages carry client bytes; JSON must be UTF-8. */
	snprintf(in, sizeof in, "%s", raw ? raw : "");
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
			n = (size_t)snprintf(tmp, sizeof tmp, "\\u%04x", c);
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
