/*
 * urlform: see urlform.h. One pass over the body, no allocation: a field
 * is found between '&'s, its name and value decoded where they lie, and
 * each terminated on the separator that followed it (decoding never grows
 * a text, so the terminator lands at or before that separator).
 */
#include "lib/urlform.h"
#include "lib/utf8.h"

#include <string.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..len) onto s itself; returns the decoded length. Reading
 * runs ahead of writing, so nothing is read after it was overwritten. */
static size_t decode(char *s, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] == '+') {
			s[o++] = ' ';
		} else if (s[i] == '%' && len - i > 2 &&
			   (hi = hexval(s[i + 1])) >= 0 &&
			   (lo = hexval(s[i + 2])) >= 0) {
			s[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			s[o++] = s[i];
		}
	}
	return o;
}

static urlform_err check(const urlform_field *f, size_t value_max)
{
	if (memchr(f->name, 0, f->name_len) ||
	    memchr(f->value, 0, f->value_len))
		return URLFORM_NUL;
	if (f->value_len > value_max)
		return URLFORM_TOO_LONG;
	if (!utf8_valid(f->name, f->name_len) ||
	    !utf8_valid(f->value, f->value_len))
		return URLFORM_NOT_UTF8;
	return URLFORM_OK;
}

/* The field in p[0..len) (no '&' in it), decoded in place. */
static void field_at(char *p, size_t len, urlform_field *f)
{
	char *eq = memchr(p, '=', len);
	size_t name_enc = eq ? (size_t)(eq - p) : len;

	f->name_len = decode(p, name_enc);
	p[f->name_len] = '\0';
	f->name = p;
	if (!eq) {
		f->value = p + f->name_len; /* its terminator: "" */
		f->value_len = 0;
		return;
	}
	f->value = eq + 1;
	f->value_len = decode(eq + 1, len - name_enc - 1);
	eq[1 + f->value_len] = '\0';
}

urlform_err urlform_parse(char *buf, size_t len, urlform_field *out,
			  size_t max, size_t value_max, size_t *n)
{
	char *p = buf, *end = buf + len;
	urlform_err err;

	*n = 0;
	while (p < end) {
		char *amp = memchr(p, '&', (size_t)(end - p));

		if (!amp)
			amp = end;
		if (amp > p) {
			if (*n >= max)
				return URLFORM_TOO_MANY;
			field_at(p, (size_t)(amp - p), &out[*n]);
			if ((err = check(&out[*n], value_max)) != URLFORM_OK)
				return err;
			(*n)++;
		}
		p = amp + 1;
	}
	return URLFORM_OK;
}

size_t urlform_pieces(const char *buf, size_t len)
{
	size_t n = 1;

	for (const char *p = buf, *end = buf + len;
	     (p = memchr(p, '&', (size_t)(end - p))); p++)
		n++;
	return n;
}

const char *urlform_strerror(urlform_err e)
{
	switch (e) {
	case URLFORM_OK:
		return "ok";
	case URLFORM_TOO_MANY:
		return "is one field too many";
	case URLFORM_TOO_LONG:
		return "is too long";
	case URLFORM_NUL:
		return "contains a NUL byte";
	case URLFORM_NOT_UTF8:
		return "is not UTF-8";
	}
	return "is malformed";
}
