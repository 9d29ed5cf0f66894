/*
 * fuzz_urlform: libFuzzer target for lib/urlform (form-encoded bodies, as
 * Twilio's webhooks and the hosted sign-up form send them).
 *
 * The input is the body. Invariants, checked with abort():
 *  - the parse never writes past the body's terminator byte;
 *  - at most the room given is used, and each field is NUL-terminated at
 *    its length, inside the buffer, NUL-free, UTF-8, within the limit;
 *  - a body that parses comes back the same when its fields are encoded
 *    again (every byte as %XX) and parsed once more.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/urlform.h"
#include "lib/utf8.h"

#define FUZZ_FIELDS_MAX 32
#define FUZZ_VALUE_MAX 64
#define FUZZ_BODY_MAX 4096

static void check_field(const urlform_field *f, const char *lo,
			const char *hi)
{
	if (f->name < lo || f->name + f->name_len >= hi ||
	    f->value < lo || f->value + f->value_len >= hi)
		abort();
	if (strlen(f->name) != f->name_len ||
	    strlen(f->value) != f->value_len)
		abort();
	if (f->value_len > FUZZ_VALUE_MAX ||
	    !utf8_valid(f->name, f->name_len) ||
	    !utf8_valid(f->value, f->value_len))
		abort();
}

static size_t encode(const char *s, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[3 * i] = '%';
		out[3 * i + 1] = hex[(unsigned char)s[i] >> 4];
		out[3 * i + 2] = hex[(unsigned char)s[i] & 15];
	}
	return 3 * len;
}

static void round_trip(const urlform_field *f, size_t n)
{
	static char again[3 * FUZZ_BODY_MAX + FUZZ_FIELDS_MAX * 2 + 1];
	urlform_field g[FUZZ_FIELDS_MAX];
	size_t len = 0, m;

	for (size_t i = 0; i < n; i++) {
		if (i)
			again[len++] = '&';
		len += encode(f[i].name, f[i].name_len, again + len);
		again[len++] = '=';
		len += encode(f[i].value, f[i].value_len, again + len);
	}
	if (urlform_parse(again, len, g, FUZZ_FIELDS_MAX, FUZZ_VALUE_MAX,
			  &m) != URLFORM_OK)
		abort();
	/* A field with an empty name and value encodes to "=" alone,
	 * which is still a field. */
	if (m != n)
		abort();
	for (size_t i = 0; i < n; i++)
		if (g[i].name_len != f[i].name_len ||
		    g[i].value_len != f[i].value_len ||
		    memcmp(g[i].name, f[i].name, f[i].name_len) ||
		    memcmp(g[i].value, f[i].value, f[i].value_len))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	urlform_field f[FUZZ_FIELDS_MAX];
	char *buf;
	size_t n = 0;
	urlform_err err;

	if (size > FUZZ_BODY_MAX)
		return 0;
	/* Exactly the body and its terminator byte: ASan sees any write
	 * beyond. */
	if (!(buf = malloc(size + 1)))
		return 0;
	memcpy(buf, data, size);
	buf[size] = 'X';
	err = urlform_parse(buf, size, f, FUZZ_FIELDS_MAX, FUZZ_VALUE_MAX,
			    &n);
	if (n > FUZZ_FIELDS_MAX || (err != URLFORM_OK && err !=
				    URLFORM_TOO_MANY && n >= FUZZ_FIELDS_MAX))
		abort();
	for (size_t i = 0; i < n; i++)
		check_field(&f[i], buf, buf + size + 1);
	if (err == URLFORM_OK)
		round_trip(f, n);
	free(buf);
	return 0;
}
