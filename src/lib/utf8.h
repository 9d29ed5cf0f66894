/*
 * utf8: is a byte string well-formed UTF-8, and make it so.
 *
 * Strict: overlong forms, surrogates and code points past U+10FFFF are
 * refused, because each lets one text hide behind another. Used wherever
 * outside bytes become JSON (which must be UTF-8) or identifiers.
 */
#ifndef OPTD_UTF8_H
#define OPTD_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* 1 when s[0..len) is well-formed UTF-8 (NUL bytes allowed). */
int utf8_valid(const char *s, size_t len);
/*
 * The well-formed sequence at s[0..n): its length (1 to 4) with its code
 * point in *cp, or 0 when the bytes there are not one (or n is 0).
 */
size_t utf8_decode(const char *s, size_t n, uint32_t *cp);
/* Code points in a NUL-terminated string already known to be UTF-8. */
size_t utf8_chars(const char *s);
/* Replace every byte that is not part of a well-formed sequence by '?'. */
void utf8_clean(char *s);

#endif
