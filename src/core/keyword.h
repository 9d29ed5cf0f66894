/*
 * keyword: which SMS keyword, if any, an inbound message is.
 *
 * Pure rules, no I/O. A kw_set holds one subscription group's keywords:
 * the English defaults (always present, never removable) plus the group's
 * custom keywords per category and per language. kw_classify() answers
 * with the category (opt_out, opt_in, help, a custom category, or other),
 * the language whose keyword matched and the keyword itself.
 *
 * Matching rules (DESIGN.md section 6, sms-peers.md "Anchors"):
 *   - the whole message must be the keyword: never a prefix, never a word
 *     inside a sentence ("stopwatch", "STOP PLEASE", "Stop. Thank you" are
 *     other), and there is no fuzzy matching;
 *   - both sides go through ICU's NFKC_Casefold, so case, full-width forms
 *     ("Ｓｔｏｐ"), ligatures, decomposed accents and invisible default
 *     ignorables (zero-width space, variation selectors) do not matter;
 *     accents do ("ARRET" is not "ARRÊT", "si" is not "sí"), as in Braze,
 *     which matches case-insensitively only;
 *   - Unicode white space and punctuation are trimmed from both ends.
 *     The anchor names trailing punctuation; leading is trimmed too, since
 *     “STOP” (phones curl the quotes), ¿AYUDA? and "...stop" mean what they
 *     say, a missed opt-out is the costly mistake, and what remains must
 *     still be the whole keyword;
 *   - inside, a run of white space and dashes counts as one space, so
 *     "STOP   ALL", "OPT-OUT" and "opt – out" are the two-word defaults:
 *     the FCC's 2025 rule names "opt out" and people hyphenate it (AWS
 *     honours OPT-OUT). Other inner punctuation stays ("stop_all",
 *     "S.T.O.P." are other);
 *   - emoji and other symbols are text: "STOP 🛑" is other;
 *   - bodies over KW_BODY_MAX bytes, and bodies that are not well-formed
 *     UTF-8, are other: never an error, never a crash.
 *
 * Invariants: keywords are unique across the whole set (every category and
 * every language) after normalisation, so a body matches at most one;
 * the defaults cannot be removed or given to another category. A set is
 * built on one thread with kw_add(), then only read: any number of threads
 * may call kw_classify() on the same const kw_set at once. kw_classify()
 * allocates nothing; it works in a bounded stack buffer (about 10 KiB).
 * Strings in a kw_match point into the set and live as long as it does.
 */
#ifndef OPTD_KEYWORD_H
#define OPTD_KEYWORD_H

#include <stddef.h>

#define KW_BODY_MAX 1600             /* bytes; longer bodies are other */
#define KW_WORD_MAX_CHARS 34         /* code points, after normalisation */
#define KW_WORD_MAX_BYTES 256        /* raw bytes kw_add() will look at */
#define KW_PER_CATEGORY_MAX 20       /* custom keywords per category+lang */
#define KW_CUSTOM_CATEGORIES_MAX 25  /* per set */
#define KW_CATEGORY_NAME_MAX 64      /* bytes in a custom category name */
#define KW_LANG_MAX 16               /* languages per set, "en" included */
#define KW_LANG_TAG_MAX 15           /* bytes in a language tag, "pt-br" */
#define KW_ERR_MAX 192               /* bytes of an error message */
#define KW_DEFAULT_LANG "en"         /* the language of the defaults */

/* The names (kw_category_name) are stored and printed: never rename. */
typedef enum {
	KW_OTHER = 0, /* not a keyword */
	KW_OPT_OUT,
	KW_OPT_IN,
	KW_HELP,
	KW_CUSTOM,    /* one of the set's named custom categories */
	KW_CATEGORY__COUNT,
} kw_category;

typedef enum {
	KW_OK = 0,
	KW_ERR_ARG,       /* NULL argument, or custom_name misused */
	KW_ERR_NOMEM,
	KW_ERR_ICU,       /* ICU's normalisation data is unavailable */
	KW_ERR_EMPTY,     /* keyword or name is empty */
	KW_ERR_UTF8,      /* not UTF-8, or holds a control character */
	KW_ERR_SPACE,     /* custom keywords are single words */
	KW_ERR_PUNCT,     /* starts or ends with punctuation: cannot match */
	KW_ERR_TOO_LONG,  /* over KW_WORD_MAX_CHARS or a byte limit */
	KW_ERR_DUPLICATE, /* already a custom keyword of this set */
	KW_ERR_FIXED,     /* a default keyword: cannot move or remove */
	KW_ERR_LIMIT,     /* per-category, category or language limit */
	KW_ERR_LANG,      /* not a language tag */
	KW_ERR_CATEGORY,  /* not a category a keyword can have */
	KW_ERR_NOT_FOUND, /* kw_remove(): no such custom keyword */
	KW_ERR__COUNT,
} kw_err;

typedef struct kw_set kw_set;

typedef struct {
	kw_category category;
	int custom_index;        /* 0-based for KW_CUSTOM, else -1 */
	const char *custom_name; /* for KW_CUSTOM, else NULL */
	const char *lang;        /* "en", "fr", ...; NULL for other */
	const char *keyword;     /* normalised ("stop", "opt out"); or NULL */
	int is_default;          /* 1 when a built-in keyword matched */
} kw_match;

/* A set holding the defaults only; NULL when out of memory or ICU data. */
kw_set *kw_set_new(void);
void kw_set_free(kw_set *s);

/*
 * Add a custom keyword. `lang` is a language tag (NULL means "en"; stored
 * lower-case); `custom_name` names the category when cat is KW_CUSTOM and
 * must be NULL otherwise (a new name creates the category). `err`, when
 * not NULL, receives a message naming the problem. On error the set is
 * unchanged.
 */
kw_err kw_add(kw_set *s, const char *lang, kw_category cat,
	      const char *custom_name, const char *word, char err[KW_ERR_MAX]);

/* Remove a custom keyword of `lang`; a default gives KW_ERR_FIXED. */
kw_err kw_remove(kw_set *s, const char *lang, const char *word,
		 char err[KW_ERR_MAX]);

/*
 * Classify body[0..len) (need not be NUL-terminated). *out is always
 * filled: KW_OTHER with NULL strings when nothing matched. The only error
 * is KW_ERR_ARG (NULL s or out, or NULL body with len > 0).
 */
kw_err kw_classify(const kw_set *s, const char *body, size_t len,
		   kw_match *out);

/* Number of custom categories; their names by index (NULL past the end). */
int kw_custom_count(const kw_set *s);
const char *kw_custom_name(const kw_set *s, int index);

const char *kw_category_name(kw_category c); /* "opt_out", ... "other" */
kw_err kw_category_parse(const char *name, kw_category *out);
const char *kw_strerror(kw_err e);

#endif
