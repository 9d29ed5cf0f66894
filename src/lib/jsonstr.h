/*
 * jsonstr: escape a C string into JSON string contents (no quotes) in a
 * fixed buffer. Used where a whole jansson value would be overkill, such as
 * log lines. Output is always NUL-terminated and truncated at a character
 * boundary of the escaped form, never mid-escape.
 */
#ifndef OPTD_JSONSTR_H
#define OPTD_JSONSTR_H

#include <stddef.h>

#define JSONSTR_IN_MAX 2048 /* longer input is cut (then cleaned) */

/* Invalid UTF-8 in `in` becomes '?'. */
void jsonstr_escape(const char *in, char *out, size_t cap);

#endif
