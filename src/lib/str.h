/*
 * str: bounded string copies. str_copy() is what snprintf(dst, cap,
 * "%s", src) does, without the format machinery, which costs a request
 * path some twenty of them: the result is always NUL-terminated and
 * truncated to cap - 1 bytes; a NULL src copies as "".
 */
#ifndef OPTD_STR_H
#define OPTD_STR_H

#include <stddef.h>
#include <string.h>

/* The length of src (as snprintf would return it); cap 0 writes nothing. */
static inline size_t str_copy(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (cap == 0)
		return n;
	size_t k = n < cap ? n : cap - 1;
	memcpy(dst, src ? src : "", k);
	dst[k] = '\0';
	return n;
}

#endif
