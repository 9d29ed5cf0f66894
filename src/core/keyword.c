/*
 * keyword: see keyword.h for the rules.
 *
 * Every keyword is reduced to a key at kw_add() time and every body at
 * kw_classify() time by the same two steps: ICU NFKC_Casefold, then
 * kw_key() (trim white space and punctuation at both ends, one space for
 * each inner run of white space and dashes). The keys, in UTF-16 as ICU
 * hands them back, are kept sorted so a classification is one binary
 * search. The entries are allocated at build time; classifying only reads.
 */
#include "core/keyword.h"
#include "lib/utf8.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

/*
 * NFKC_Casefold can grow text (U+FDFA becomes 18 letters), but white space
 * and punctuation never grow past one UTF-16 unit per UTF-8 byte, and a
 * body that matches is otherwise its keyword; so twice the body limit
 * holds every body that could match, and an overflow is simply other.
 */
#define KW_NORM_UNITS (2 * KW_BODY_MAX)
/* A key is at most 34 code points, so at most 68 UTF-16 units. */
#define KW_KEY_UNITS (2 * KW_WORD_MAX_CHARS)
#define KW_SLOTS (3 + KW_CUSTOM_CATEGORIES_MAX) /* opt_out, opt_in, help */

typedef struct {
	UChar *key;         /* folded, the search key */
	int32_t klen;       /* UTF-16 units */
	char *word;         /* NFKC_Casefold of the word, UTF-8, for kw_match */
	uint8_t category;   /* kw_category */
	int8_t custom;      /* custom category index, or -1 */
	uint8_t lang;       /* index in langs */
	uint8_t is_default;
} kw_entry;

struct kw_set {
	const UNormalizer2 *nfkc_cf; /* ICU's singleton, thread-safe */
	kw_entry *e;                 /* sorted by key */
	size_t n, cap;
	char langs[KW_LANG_MAX][KW_LANG_TAG_MAX + 1];
	int nlangs;
	char *custom[KW_CUSTOM_CATEGORIES_MAX];
	int ncustom;
	uint8_t count[KW_LANG_MAX][KW_SLOTS]; /* custom keywords only */
};

/* FCC's 2025 revocation words, Twilio's and Braze's lists, and CTIA HELP. */
static const struct {
	kw_category cat;
	const char *word;
} kw_defaults[] = {
	{KW_OPT_OUT, "STOP"},   {KW_OPT_OUT, "STOPALL"},
	{KW_OPT_OUT, "UNSUBSCRIBE"}, {KW_OPT_OUT, "CANCEL"},
	{KW_OPT_OUT, "END"},    {KW_OPT_OUT, "QUIT"},
	{KW_OPT_OUT, "REVOKE"}, {KW_OPT_OUT, "OPTOUT"},
	{KW_OPT_OUT, "STOP ALL"}, {KW_OPT_OUT, "OPT OUT"},
	{KW_OPT_IN, "START"},   {KW_OPT_IN, "YES"}, {KW_OPT_IN, "UNSTOP"},
	{KW_HELP, "HELP"},      {KW_HELP, "INFO"},
};

static const char *kw_category_names[KW_CATEGORY__COUNT] = {
	"other", "opt_out", "opt_in", "help", "custom",
};

static const char *kw_err_names[KW_ERR__COUNT] = {
	"success",
	"invalid argument",
	"out of memory",
	"Unicode normalisation data unavailable",
	"empty keyword",
	"not UTF-8 text",
	"keyword contains white space",
	"keyword starts or ends with punctuation",
	"keyword too long",
	"duplicate keyword",
	"default keyword cannot be changed",
	"limit reached",
	"invalid language tag",
	"invalid category",
	"no such keyword",
};

const char *kw_category_name(kw_category c)
{
	return (unsigned)c < KW_CATEGORY__COUNT ? kw_category_names[c] : "other";
}

kw_err kw_category_parse(const char *name, kw_category *out)
{
	for (int i = 0; name && i < KW_CATEGORY__COUNT; i++) {
		if (strcmp(name, kw_category_names[i]) == 0) {
			*out = (kw_category)i;
			return KW_OK;
		}
	}
	return KW_ERR_CATEGORY;
}

const char *kw_strerror(kw_err e)
{
	return (unsigned)e < KW_ERR__COUNT ? kw_err_names[e] : "unknown error";
}

int kw_custom_count(const kw_set *s)
{
	return s ? s->ncustom : 0;
}

const char *kw_custom_name(const kw_set *s, int index)
{
	return s && index >= 0 && index < s->ncustom ? s->custom[index] : NULL;
}

/* Write a message to err (when given) and return code. */
static kw_err kw_fail(char *err, kw_err code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err, KW_ERR_MAX, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* ---- normalisation ---- */

static int kw_is_trim(UChar32 c)
{
	return u_isUWhiteSpace(c) || u_ispunct(c);
}

static int kw_is_gap(UChar32 c)
{
	return u_isUWhiteSpace(c) || u_charType(c) == U_DASH_PUNCTUATION;
}

/*
 * UTF-8 in[0..len) to NFKC_Casefold UTF-16 in norm[0..KW_NORM_UNITS).
 * len must be at most KW_BODY_MAX. Returns the length, or -1 for bytes
 * that are not well-formed UTF-8 (ICU refuses overlong forms, surrogates
 * and code points past U+10FFFF) or a result too long to be a keyword.
 */
static int32_t kw_normalize(const UNormalizer2 *nf, const char *in,
			    size_t len, UChar *norm)
{
	UChar raw[KW_BODY_MAX];
	UErrorCode st = U_ZERO_ERROR;
	int32_t rawlen = 0;

	if (len == 0)
		return 0;
	/* UTF-16 never takes more units than UTF-8 takes bytes. */
	u_strFromUTF8(raw, KW_BODY_MAX, &rawlen, in, (int32_t)len, &st);
	if (U_FAILURE(st))
		return -1;
	st = U_ZERO_ERROR; /* drop "not terminated": we pass lengths */
	rawlen = unorm2_normalize(nf, raw, rawlen, norm, KW_NORM_UNITS, &st);
	return U_FAILURE(st) ? -1 : rawlen;
}

/*
 * The search key of norm[0..n): ends trimmed of white space and
 * punctuation, each inner run of white space and dashes one U+0020.
 * Returns the key length, or -1 when it exceeds KW_KEY_UNITS (so it is no
 * keyword). An empty key (nothing but trimmed characters) is 0.
 */
static int32_t kw_key(const UChar *norm, int32_t n, UChar *key)
{
	int32_t start = 0, end = n, i, k = 0, prev;
	UChar32 c;
	int gap = 0;

	while (start < end) {
		prev = start;
		U16_NEXT(norm, start, end, c);
		if (!kw_is_trim(c)) {
			start = prev;
			break;
		}
	}
	while (end > start) {
		prev = end;
		U16_PREV(norm, start, end, c);
		if (!kw_is_trim(c)) {
			end = prev;
			break;
		}
	}
	for (i = start; i < end;) {
		prev = i;
		U16_NEXT(norm, i, end, c);
		if (kw_is_gap(c)) {
			gap = 1;
			continue;
		}
		if (k + (gap ? 1 : 0) + (i - prev) > KW_KEY_UNITS)
			return -1;
		if (gap)
			key[k++] = 0x20;
		gap = 0;
		while (prev < i)
			key[k++] = norm[prev++];
	}
	return k;
}

static int kw_cmp(const UChar *a, int32_t alen, const UChar *b, int32_t blen)
{
	int32_t m = alen < blen ? alen : blen;
	int r = m ? memcmp(a, b, (size_t)m * sizeof *a) : 0;

	/* Any consistent order works for the search: memcmp's is one. */
	if (r)
		return r;
	return alen < blen ? -1 : alen > blen;
}

/* Index of key in s->e, or -(insertion point) - 1 when absent. */
static long kw_find(const kw_set *s, const UChar *key, int32_t klen)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = kw_cmp(s->e[mid].key, s->e[mid].klen, key, klen);

		if (r == 0)
			return (long)mid;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

/* ---- building ---- */

/* Insert a prepared entry at position pos; takes ownership of its strings. */
static kw_err kw_insert(kw_set *s, size_t pos, const kw_entry *ent)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 32;
		kw_entry *e = realloc(s->e, cap * sizeof *e);

		if (!e)
			return KW_ERR_NOMEM;
		s->e = e;
		s->cap = cap;
	}
	memmove(s->e + pos + 1, s->e + pos, (s->n - pos) * sizeof *s->e);
	s->e[pos] = *ent;
	s->n++;
	return KW_OK;
}

/*
 * Build the entry for an already-normalised word norm[0..n): one
 * allocation holds the key and the UTF-8 word. *pos gets the insertion
 * point; a key already present gives KW_ERR_DUPLICATE with *pos its index.
 */
static kw_err kw_entry_make(const kw_set *s, const UChar *norm, int32_t n,
			    kw_entry *ent, long *pos)
{
	UChar key[KW_KEY_UNITS];
	UErrorCode st = U_ZERO_ERROR;
	int32_t klen = kw_key(norm, n, key), wlen = 0;
	size_t wcap = (size_t)n * 3 + 1; /* UTF-8 needs <= 3 bytes a unit */
	char *mem;

	if (klen <= 0)
		return klen < 0 ? KW_ERR_TOO_LONG : KW_ERR_EMPTY;
	*pos = kw_find(s, key, klen);
	if (*pos >= 0)
		return KW_ERR_DUPLICATE;
	mem = malloc((size_t)klen * sizeof(UChar) + wcap);
	if (!mem)
		return KW_ERR_NOMEM;
	memcpy(mem, key, (size_t)klen * sizeof(UChar));
	ent->key = (UChar *)(void *)mem;
	ent->klen = klen;
	ent->word = mem + (size_t)klen * sizeof(UChar);
	u_strToUTF8(ent->word, (int32_t)wcap, &wlen, norm, n, &st);
	if (U_FAILURE(st)) {
		free(mem);
		return KW_ERR_UTF8;
	}
	ent->word[wlen] = '\0';
	*pos = -*pos - 1;
	return KW_OK;
}

static kw_err kw_add_default(kw_set *s, kw_category cat, const char *word)
{
	UChar norm[KW_NORM_UNITS];
	int32_t n = kw_normalize(s->nfkc_cf, word, strlen(word), norm);
	kw_entry ent = {.category = (uint8_t)cat, .custom = -1, .lang = 0,
			.is_default = 1};
	long pos;
	kw_err e;

	if (n <= 0)
		return KW_ERR_ICU;
	e = kw_entry_make(s, norm, n, &ent, &pos);
	if (e == KW_OK && (e = kw_insert(s, (size_t)pos, &ent)) != KW_OK)
		free(ent.key);
	return e;
}

kw_set *kw_set_new(void)
{
	UErrorCode st = U_ZERO_ERROR;
	kw_set *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	s->nfkc_cf = unorm2_getNFKCCasefoldInstance(&st);
	if (U_FAILURE(st) || !s->nfkc_cf)
		goto fail;
	strcpy(s->langs[0], KW_DEFAULT_LANG);
	s->nlangs = 1;
	for (size_t i = 0; i < sizeof kw_defaults / sizeof *kw_defaults; i++)
		if (kw_add_default(s, kw_defaults[i].cat, kw_defaults[i].word))
			goto fail;
	return s;
fail:
	kw_set_free(s);
	return NULL;
}

void kw_set_free(kw_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->e[i].key);
	for (int i = 0; i < s->ncustom; i++)
		free(s->custom[i]);
	free(s->e);
	free(s);
}

/* ---- kw_add and kw_remove ---- */

/* Bytes of w to quote in a message: at most 48, cut between characters. */
static int kw_qlen(const char *w)
{
	int n = (int)strnlen(w, 48);

	if (w[n] != '\0')
		while (n > 0 && ((unsigned char)w[n] & 0xc0) == 0x80)
			n--;
	return n;
}

static int kw_text_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return utf8_valid(s, n);
}

/*
 * Index of language tag `lang` (NULL: "en"): an existing one, or s->nlangs
 * for a new one when `create`; the tag is compared lower-case, as BCP 47
 * tags are case-insensitive.
 */
static kw_err kw_lang(const kw_set *s, const char *lang, int create,
		      int *idx, char *tag, char *err)
{
	size_t n = strlen(lang ? lang : (lang = KW_DEFAULT_LANG));

	if (n < 2 || n > KW_LANG_TAG_MAX)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		char c = lang[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (i >= 2 && ((c >= '0' &&
		      c <= '9') || c == '-'))))
			goto bad;
		tag[i] = c;
	}
	tag[n] = '\0';
	for (*idx = 0; *idx < s->nlangs; (*idx)++)
		if (strcmp(s->langs[*idx], tag) == 0)
			return KW_OK;
	if (!create)
		return kw_fail(err, KW_ERR_NOT_FOUND,
			       "language \"%s\" has no keywords", tag);
	if (s->nlangs == KW_LANG_MAX)
		return kw_fail(err, KW_ERR_LIMIT,
			       "a set has at most %d languages", KW_LANG_MAX);
	return KW_OK;
bad:
	return kw_fail(err, KW_ERR_LANG, "language must be a tag such as "
		       "\"fr\" or \"pt-br\" (2 to %d letters, digits, '-')",
		       KW_LANG_TAG_MAX);
}

/* The custom category index for name: existing, or s->ncustom if new. */
static kw_err kw_custom(const kw_set *s, kw_category cat, const char *name,
			int *idx, char *err)
{
	size_t n = name ? strlen(name) : 0;

	*idx = -1;
	if (cat <= KW_OTHER || cat >= KW_CATEGORY__COUNT)
		return kw_fail(err, KW_ERR_CATEGORY, "category must be "
			       "opt_out, opt_in, help or custom");
	if (cat != KW_CUSTOM)
		return name ? kw_fail(err, KW_ERR_ARG, "a category name is "
				      "only for custom categories") : KW_OK;
	if (n == 0)
		return kw_fail(err, KW_ERR_EMPTY, "a custom category needs "
			       "a name");
	if (n > KW_CATEGORY_NAME_MAX || !kw_text_ok(name, n))
		return kw_fail(err, KW_ERR_ARG, "category name must be at most "
			       "%d bytes of UTF-8 text without control "
			       "characters", KW_CATEGORY_NAME_MAX);
	for (*idx = 0; *idx < s->ncustom; (*idx)++)
		if (strcmp(s->custom[*idx], name) == 0)
			return KW_OK;
	if (s->ncustom == KW_CUSTOM_CATEGORIES_MAX)
		return kw_fail(err, KW_ERR_LIMIT, "a set has at most %d "
			       "custom categories", KW_CUSTOM_CATEGORIES_MAX);
	return KW_OK;
}

/*
 * Check a custom keyword and normalise it into norm; returns its length
 * in *n. Custom keywords are single words (Braze) with no punctuation at
 * either end, since a body's ends are trimmed and could never match it.
 */
static kw_err kw_word(const kw_set *s, const char *w, UChar *norm,
		      int32_t *n, char *err)
{
	size_t len = strlen(w);
	int q = kw_qlen(w);
	int32_t i = 0, prev = 0;
	UChar32 c = 0;

	if (len == 0)
		return kw_fail(err, KW_ERR_EMPTY, "keyword must not be empty");
	if (len > KW_WORD_MAX_BYTES)
		return kw_fail(err, KW_ERR_TOO_LONG, "keyword is longer than "
			       "%d bytes", KW_WORD_MAX_BYTES);
	if (!utf8_valid(w, len) || (*n = kw_normalize(s->nfkc_cf, w, len,
						       norm)) < 0)
		return kw_fail(err, KW_ERR_UTF8, "keyword is not UTF-8 text");
	if (*n == 0)
		return kw_fail(err, KW_ERR_EMPTY, "keyword \"%.*s\" is only "
			       "invisible characters", q, w);
	while (i < *n) {
		prev = i;
		U16_NEXT(norm, i, *n, c);
		if (u_isUWhiteSpace(c))
			return kw_fail(err, KW_ERR_SPACE, "keyword \"%.*s\" "
				       "must be one word, without spaces",
				       q, w);
		if (u_charType(c) == U_CONTROL_CHAR)
			return kw_fail(err, KW_ERR_UTF8, "keyword must not "
				       "contain control characters");
		if ((prev == 0 || i == *n) && u_ispunct(c))
			return kw_fail(err, KW_ERR_PUNCT, "keyword \"%.*s\" "
				       "starts or ends with punctuation, "
				       "which messages are trimmed of", q, w);
	}
	if (u_countChar32(norm, *n) > KW_WORD_MAX_CHARS)
		return kw_fail(err, KW_ERR_TOO_LONG, "keyword \"%.*s\" is "
			       "longer than %d characters", q, w,
			       KW_WORD_MAX_CHARS);
	return KW_OK;
}

/* The message for a word whose key is already entry e. */
static kw_err kw_clash(const kw_set *s, const kw_entry *e, const char *w,
		       char *err)
{
	const char *cat = e->custom >= 0 ? s->custom[e->custom]
					 : kw_category_name(e->category);

	if (e->is_default)
		return kw_fail(err, KW_ERR_FIXED, "keyword \"%.*s\" is the "
			       "default %s keyword \"%s\" and cannot be "
			       "changed", kw_qlen(w), w, cat, e->word);
	return kw_fail(err, KW_ERR_DUPLICATE, "keyword \"%.*s\" is already "
		       "the %s keyword \"%s\" for \"%s\"", kw_qlen(w), w, cat,
		       e->word, s->langs[e->lang]);
}

/* Record a new language or custom category, once the entry is in. */
static void kw_commit(kw_set *s, const char *tag, int lang, char *name)
{
	if (lang == s->nlangs)
		strcpy(s->langs[s->nlangs++], tag);
	if (name)
		s->custom[s->ncustom++] = name;
}

kw_err kw_add(kw_set *s, const char *lang, kw_category cat,
	      const char *custom_name, const char *word, char err[KW_ERR_MAX])
{
	UChar norm[KW_NORM_UNITS];
	char tag[KW_LANG_TAG_MAX + 1], *name = NULL;
	int li, ci, slot;
	int32_t n = 0;
	long pos;
	kw_entry ent = {0};
	kw_err e;

	if (!s || !word)
		return kw_fail(err, KW_ERR_ARG, "keyword must not be NULL");
	if ((e = kw_lang(s, lang, 1, &li, tag, err)) ||
	    (e = kw_custom(s, cat, custom_name, &ci, err)) ||
	    (e = kw_word(s, word, norm, &n, err)))
		return e;
	slot = ci >= 0 ? 3 + ci : (int)cat - KW_OPT_OUT;
	if (s->count[li][slot] >= KW_PER_CATEGORY_MAX)
		return kw_fail(err, KW_ERR_LIMIT, "%s has at most %d keywords "
			       "for \"%s\"", ci >= 0 ? custom_name :
			       kw_category_name(cat), KW_PER_CATEGORY_MAX, tag);
	e = kw_entry_make(s, norm, n, &ent, &pos);
	if (e == KW_ERR_DUPLICATE)
		return kw_clash(s, &s->e[pos], word, err);
	if (e)
		return kw_fail(err, e, "keyword \"%.*s\": %s", kw_qlen(word),
			       word, kw_strerror(e));
	if (ci == s->ncustom && !(name = strdup(custom_name)))
		goto nomem;
	ent.category = (uint8_t)cat;
	ent.custom = (int8_t)ci;
	ent.lang = (uint8_t)li;
	if (kw_insert(s, (size_t)pos, &ent))
		goto nomem;
	s->count[li][slot]++;
	kw_commit(s, tag, li, name);
	return KW_OK;
nomem:
	free(name);
	free(ent.key);
	return kw_fail(err, KW_ERR_NOMEM, "out of memory");
}

kw_err kw_remove(kw_set *s, const char *lang, const char *word,
		 char err[KW_ERR_MAX])
{
	UChar norm[KW_NORM_UNITS], key[KW_KEY_UNITS];
	char tag[KW_LANG_TAG_MAX + 1];
	int li;
	int32_t n, klen;
	long i;
	kw_entry *e;
	kw_err rc;

	if (!s || !word)
		return kw_fail(err, KW_ERR_ARG, "keyword must not be NULL");
	if ((rc = kw_lang(s, lang, 0, &li, tag, err)))
		return rc;
	n = strlen(word) <= KW_WORD_MAX_BYTES ?
	    kw_normalize(s->nfkc_cf, word, strlen(word), norm) : -1;
	klen = n > 0 ? kw_key(norm, n, key) : -1;
	i = klen > 0 ? kw_find(s, key, klen) : -1;
	if (i < 0 || (!s->e[i].is_default && s->e[i].lang != li))
		return kw_fail(err, KW_ERR_NOT_FOUND, "\"%s\" has no custom "
			       "keyword \"%.*s\"", tag,
			       n >= 0 ? kw_qlen(word) : 0, word);
	e = &s->e[i];
	if (e->is_default)
		return kw_fail(err, KW_ERR_FIXED, "\"%s\" is a default %s "
			       "keyword and cannot be removed", e->word,
			       kw_category_name(e->category));
	s->count[li][e->custom >= 0 ? 3 + e->custom :
		     e->category - KW_OPT_OUT]--;
	free(e->key);
	memmove(e, e + 1, (s->n - (size_t)i - 1) * sizeof *e);
	s->n--;
	return KW_OK;
}

/* ---- classifying ---- */

kw_err kw_classify(const kw_set *s, const char *body, size_t len,
		   kw_match *out)
{
	UChar norm[KW_NORM_UNITS], key[KW_KEY_UNITS];
	const kw_entry *e;
	int32_t n, klen;
	long i;

	if (out)
		*out = (kw_match){.category = KW_OTHER, .custom_index = -1};
	if (!s || !out || (!body && len))
		return KW_ERR_ARG;
	/* Too long, not UTF-8, or nothing left after trimming: other. */
	if (len == 0 || len > KW_BODY_MAX ||
	    (n = kw_normalize(s->nfkc_cf, body, len, norm)) <= 0 ||
	    (klen = kw_key(norm, n, key)) <= 0 ||
	    (i = kw_find(s, key, klen)) < 0)
		return KW_OK;
	e = &s->e[i];
	out->category = e->custom >= 0 ? KW_CUSTOM : (kw_category)e->category;
	out->custom_index = e->custom;
	out->custom_name = e->custom >= 0 ? s->custom[e->custom] : NULL;
	out->lang = s->langs[e->lang];
	out->keyword = e->word;
	out->is_default = e->is_default;
	return KW_OK;
}
