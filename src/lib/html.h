/*
 * html: build an HTML page in a buffer with a hard size limit, escaping
 * everything that did not come from optd's own source.
 *
 * html_text() is the only way text of a person, a form's definition or a
 * request reaches a page: it escapes & < > " ' so the text can stand both
 * between tags and inside a quoted attribute value. html_raw() is for
 * markup written in optd's source alone. A buffer that would grow past
 * its limit, or cannot grow, stops taking input and says so from then on
 * (html_failed()), so a page is either whole or refused, never cut.
 */
#ifndef OPTD_HTML_H
#define OPTD_HTML_H

#include <stddef.h>

#define HTML_PAGE_MAX (256 * 1024) /* bytes of one page */

typedef struct html html;

/* NULL when out of memory; max is the page's limit in bytes. */
html *html_new(size_t max);
void html_free(html *h);
void html_raw(html *h, const char *markup);
void html_text(html *h, const char *text);
/* The page so far, NUL-terminated ("" once failed); owned by h. */
const char *html_str(const html *h);
size_t html_len(const html *h);
int html_failed(const html *h); /* 1 after overflow or out of memory */
/* The page, malloc'd for the caller, and h freed; NULL (h freed too)
 * when it failed. */
char *html_take(html *h);

/*
 * Escape `in` into out (cap bytes, always NUL-terminated); returns the
 * length the whole escaped text needs, without the NUL, like snprintf,
 * so a result >= cap means it was cut (never inside an entity).
 */
size_t html_escape(const char *in, char *out, size_t cap);

#endif
