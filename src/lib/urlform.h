/*
 * urlform: an application/x-www-form-urlencoded body split into its
 * fields and decoded in place, in the caller's buffer.
 *
 * Decoding is what browsers and Twilio encode: '+' is a space and %XX a
 * byte; a '%' not followed by two hex digits stays as it is (as most
 * servers read it), and empty pieces between '&'s are skipped. A field
 * with no '=' has an empty value. Decoded text only ever shrinks, so every
 * name and value ends up NUL-terminated inside the buffer, which must have
 * one byte beyond the body for the last one.
 * Invariant: on URLFORM_OK every field's bytes are free of NUL and
 * well-formed UTF-8 (lib/utf8), and no value is longer than the limit.
 */
#ifndef OPTD_URLFORM_H
#define OPTD_URLFORM_H

#include <stddef.h>

typedef enum {
	URLFORM_OK = 0,
	URLFORM_TOO_MANY, /* more fields than the caller has room for */
	URLFORM_TOO_LONG, /* a value past value_max bytes, decoded */
	URLFORM_NUL,      /* a name or value decodes to a NUL byte */
	URLFORM_NOT_UTF8, /* a name or value is not UTF-8 once decoded */
} urlform_err;

typedef struct {
	const char *name, *value; /* NUL-terminated, inside the buffer */
	size_t name_len, value_len;
} urlform_field;

/*
 * Parses buf[0..len) (buf has len + 1 bytes) into out[0..*n), at most max
 * fields in the order sent. On an error *n counts the fields parsed so far
 * and, unless the error is URLFORM_TOO_MANY, out[*n] is the guilty field
 * (its name decoded, so that it can be named back).
 */
urlform_err urlform_parse(char *buf, size_t len, urlform_field *out,
			  size_t max, size_t value_max, size_t *n);
/* Upper bound on the fields of buf[0..len): the pieces between '&'s. */
size_t urlform_pieces(const char *buf, size_t len);
const char *urlform_strerror(urlform_err e);

#endif
