/*
 * template: the Liquid subset of flow steps (webhook bodies, SMS texts).
 *
 * Pure, no I/O: the caller hands tpl_render() a lookup callback that
 * knows where a user's values live. A template is compiled once (when a
 * flow is saved or loaded) and rendered once per user and step.
 *
 * The language, and nothing more (anything else is a parse error whose
 * message names the line, the column and the problem):
 *   - text, copied as it is;
 *   - output tags {{ EXPR | filter | filter: arg, arg }} where EXPR is
 *       ${user_id} ${phone_number} ${email_address} ${first_name}
 *       ${last_name} custom_attribute.${NAME}
 *       canvas_entry_properties.${NAME} event_properties.${NAME}
 *     (Braze's spelling; NAME is 1 to TPL_NAME_MAX bytes, anything but
 *     '}' and control characters) or a string literal "..." / '...'
 *     (no escapes: a backslash in a literal is refused, since Ruby's
 *     Liquid keeps it and liquidjs reads it as an escape);
 *   - filters, up to TPL_FILTERS_MAX per tag:
 *       default: OPERAND  replaces an empty, absent or false value;
 *       upcase, downcase  Unicode full case mapping in the root locale,
 *                         as JavaScript's (ß becomes SS);
 *       url_encode        RFC 3986 unreserved bytes kept, space as '+',
 *                         every other byte %XX: Ruby's CGI.escape, which
 *                         Braze runs (liquidjs also keeps !*'());
 *       strip             JavaScript's trim: ASCII and Unicode spaces;
 *       truncate: N[, E]  a value over N code points becomes its first
 *                         N - len(E) code points and E (default "...",
 *                         N 50); E alone when N is shorter (liquidjs 10);
 *   - {% if C %} ... {% elsif C %} ... {% else %} ... {% endif %},
 *     nested, where C is OPERAND, OPERAND == OPERAND or OPERAND !=
 *     OPERAND, joined by and/or; no parentheses, and as in Liquid the
 *     chain groups from the right: "a or b and c" is a or (b and c);
 *   - whitespace control: {{- {%- trim the white space before the tag,
 *     -}} -%} the white space after it (liquidjs's set of blanks).
 *
 * Values. Every value is UTF-8 text; an absent value is "". A condition
 * operand is true when its value is non-empty and not false (so an
 * attribute set to "" counts as absent: unlike Liquid, where "" is
 * true), and == compares the text, absent equal to "". A boolean false
 * is told apart by the lookup (TPL_FALSE): it prints "false", is false in
 * conditions, and default replaces it. Numbers arrive as text. Only the
 * values a render reaches are looked up, once per use: not those in
 * branches it skips.
 *
 * Escaping: the caller picks it per render. TPL_ESC_JSON escapes each
 * value an output tag prints as JSON string contents (the template is a
 * JSON body whose author wrote the quotes around the tag); TPL_ESC_NONE
 * prints values as they are (SMS text). Literal template text is never
 * escaped.
 *
 * Invariants: a compiled tpl is immutable, and any number of threads may
 * render the same one at once. Rendering never truncates: an output or a
 * value past its limit is an error. Output is well-formed UTF-8, because
 * templates and values must be. Jumps only go forward, so rendering
 * takes time linear in the template and the values (bounded again by
 * TPL_WORK_MAX).
 */
#ifndef OPTD_TEMPLATE_H
#define OPTD_TEMPLATE_H

#include <stddef.h>

#define TPL_SRC_MAX 65536      /* bytes of template source */
#define TPL_OUT_MAX 65536      /* bytes of rendered output */
#define TPL_VALUE_MAX 65536    /* bytes of a value, before or after a filter */
#define TPL_WORK_MAX (8u << 20) /* bytes filters may read in one render */
#define TPL_DEPTH_MAX 16       /* nested if blocks */
#define TPL_FILTERS_MAX 16     /* filters on one output tag */
#define TPL_COND_MAX 16        /* comparisons joined by and/or in one tag */
#define TPL_NAME_MAX 255       /* bytes of NAME in ${NAME} */
#define TPL_TRUNCATE_MAX 1000000 /* |N| in truncate: N */
#define TPL_ERR_MAX 256        /* bytes of an error message */

typedef enum {
	TPL_OK = 0,
	TPL_ERR_ARG,   /* NULL argument */
	TPL_ERR_PARSE, /* not in the language; err says where and why */
	TPL_ERR_LIMIT, /* a TPL_*_MAX was passed */
	TPL_ERR_NOMEM,
	TPL_ERR_UTF8,  /* template or value not UTF-8, or a NUL in a template */
	TPL_ERR_ICU,   /* ICU's case mapping is unavailable */
	TPL_ERR__COUNT,
} tpl_err;

/* The names (tpl_var_kind_name) are Braze's and are stored: never rename. */
typedef enum {
	TPL_VAR_USER_ID = 0,      /* ${user_id}: the external id */
	TPL_VAR_PHONE,            /* ${phone_number} */
	TPL_VAR_EMAIL,            /* ${email_address} */
	TPL_VAR_FIRST_NAME,       /* ${first_name} */
	TPL_VAR_LAST_NAME,        /* ${last_name} */
	TPL_VAR_CUSTOM_ATTRIBUTE, /* custom_attribute.${NAME} */
	TPL_VAR_ENTRY_PROPERTY,   /* canvas_entry_properties.${NAME} */
	TPL_VAR_EVENT_PROPERTY,   /* event_properties.${NAME} */
	TPL_VAR__COUNT,
} tpl_var_kind;

typedef enum {
	TPL_ESC_NONE = 0, /* values as they are: SMS text */
	TPL_ESC_JSON,     /* values as JSON string contents: webhook bodies */
} tpl_escape;

/* What a lookup found. */
typedef enum {
	TPL_ABSENT = 0, /* no such value (or JSON null): prints "" */
	TPL_TEXT,       /* *val, *len hold the text (need not end in NUL) */
	TPL_FALSE,      /* a boolean false; *val and *len are not read */
} tpl_found;

/*
 * Find one value. `name` is NUL-terminated: the NAME of ${NAME} for the
 * three maps, the field's name ("user_id", "first_name", ...) for the
 * others. *val must stay valid until tpl_render() returns. A text that
 * is not UTF-8 or is longer than TPL_VALUE_MAX fails the render.
 */
typedef tpl_found (*tpl_lookup)(void *ctx, tpl_var_kind kind,
				const char *name, const char **val,
				size_t *len);

typedef struct tpl tpl;

/*
 * Compile src[0..len) (need not be NUL-terminated). On success *out owns
 * a tpl; on error *out is NULL and err (when not NULL) holds a message
 * like "line 2, column 7: unknown filter 'upcas'".
 */
tpl_err tpl_compile(const char *src, size_t len, tpl **out,
		    char err[TPL_ERR_MAX]);
void tpl_free(tpl *t);

/*
 * Render with values from fn(ctx, ...). On success *out is a malloc'd,
 * NUL-terminated string of *out_len bytes (values may hold NUL bytes in
 * TPL_ESC_NONE) that the caller frees; on error *out is NULL, *out_len 0
 * and err (when not NULL) names the problem.
 */
tpl_err tpl_render(const tpl *t, tpl_lookup fn, void *ctx, tpl_escape esc,
		   char **out, size_t *out_len, char err[TPL_ERR_MAX]);

/*
 * The distinct variables a template reads, in order of first use, so a
 * flow can be checked when it is saved (event properties need an event
 * entry, for instance). tpl_var() returns 0 and fills *kind and *name
 * (owned by t) for i < tpl_var_count(t), -1 past the end.
 */
size_t tpl_var_count(const tpl *t);
int tpl_var(const tpl *t, size_t i, tpl_var_kind *kind, const char **name);

const char *tpl_var_kind_name(tpl_var_kind k); /* "custom_attribute", ... */
const char *tpl_strerror(tpl_err e);

#endif
