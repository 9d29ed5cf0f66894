/*
 * digitre: the regular expressions phone-number metadata is written in,
 * compiled to a table-driven automaton over the digits '0'..'9'.
 *
 * The subset is exactly what that metadata uses for national numbers:
 * digits, classes of digits ("[02-9]"), "\d", non-capturing groups
 * "(?:...)", alternation, and the quantifiers "{n}", "{n,}", "{n,m}",
 * "?", "*", "+". Anything else is refused at compile time, never
 * approximated, so a caller can fall back to a general engine.
 *
 * Invariants: a compiled expression is immutable and may be shared by
 * threads; matching allocates nothing and costs one table step per digit;
 * a character that is not a digit never matches.
 */
#ifndef OPTD_DIGITRE_H
#define OPTD_DIGITRE_H

#include <stddef.h>

#define DIGITRE_PATTERN_MAX 16384 /* bytes of pattern text */
#define DIGITRE_NFA_MAX 65536     /* states before determinisation */
#define DIGITRE_DFA_MAX 65536     /* states after */
#define DIGITRE_REPEAT_MAX 32     /* the n and m of {n,m} */
#define DIGITRE_DEPTH_MAX 32      /* groups inside groups */

typedef enum {
	DIGITRE_OK = 0,
	DIGITRE_ERR_SYNTAX,      /* not a well-formed expression */
	DIGITRE_ERR_UNSUPPORTED, /* well-formed, but outside the subset */
	DIGITRE_ERR_TOO_BIG,     /* over one of the limits above */
	DIGITRE_ERR_NOMEM,
} digitre_err;

typedef struct digitre digitre;

/* Compile pattern[0..len); on error *out is NULL. */
digitre_err digitre_compile(const char *pattern, size_t len, digitre **out);
void digitre_free(digitre *re);

/* 1 when the whole of s[0..n) matches. */
int digitre_full(const digitre *re, const char *s, size_t n);
/* 1 when some prefix of s[0..n), perhaps empty, matches. */
int digitre_prefix(const digitre *re, const char *s, size_t n);

const char *digitre_strerror(digitre_err err);

#endif
