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

/* Text built piece by piece in a fixed buffer, again without printf: a
 * piece that does not fit is cut to what does and sets `over` (so a
 * caller that wants all or nothing can drop the whole); the text is
 * always NUL-terminated. */
typedef struct {
	char *p;
	size_t n, cap;
	int over;
} str_buf;

static inline void str_buf_init(str_buf *b, char *p, size_t cap)
{
	b->p = p;
	b->n = 0;
	b->cap = cap;
	b->over = cap == 0;
	if (cap)
		p[0] = '\0';
}

static inline void str_put_n(str_buf *b, const char *s, size_t k)
{
	if (b->cap == 0)
		return;
	if (b->n + k >= b->cap) {
		k = b->cap - 1 - b->n;
		b->over = 1;
	}
	memcpy(b->p + b->n, s, k);
	b->n += k;
	b->p[b->n] = '\0';
}

static inline void str_put(str_buf *b, const char *s)
{
	str_put_n(b, s ? s : "", s ? strlen(s) : 0);
}

/* v in decimal, at least `width` digits (zeros in front). */
static inline void str_put_int(str_buf *b, long long v, int width)
{
	char d[24], *e = d + sizeof d;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
				     : (unsigned long long)v;

	if (width > 20) /* the most digits a long long has, less its sign */
		width = 20;
	do
		*--e = (char)('0' + u % 10);
	while ((u /= 10) || d + sizeof d - e < width);
	if (v < 0)
		*--e = '-';
	str_put_n(b, e, (size_t)(d + sizeof d - e));
}

#endif
