/*
 * test_keyword: unit tests for core/keyword (the SMS keyword classifier).
 *
 * A wrong answer here is costly both ways: a missed STOP is a message sent
 * against the law (TCPA, the FCC's 2025 revocation rule), and a false one
 * ("We have got to STOP this bill!!") silently drops a subscriber. So the
 * table below pins the whole-message rule, the trimming, the Unicode
 * normalisation and each decision documented in keyword.h, and the
 * kw_add() tests pin every limit on both sides and the message that names
 * the problem. The last test classifies from several threads at once, as
 * the webhook handlers do with one shared const kw_set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/keyword.h"

/* A set with the defaults, French and Spanish sets and two custom
 * categories: the shape of a real group's configuration. */
static kw_set *build_set(void)
{
	static const struct {
		const char *lang;
		kw_category cat;
		const char *name;
		const char *word;
	} add[] = {
		{"fr", KW_OPT_OUT, NULL, "ARR\xc3\x8aT"},    /* ARRÊT */
		{"fr", KW_OPT_OUT, NULL, "DESABONNER"},
		{"fr", KW_OPT_IN, NULL, "OUI"},
		{"fr", KW_HELP, NULL, "AIDE"},
		{"es", KW_OPT_OUT, NULL, "ALTO"},
		{"es", KW_OPT_IN, NULL, "S\xc3\x8d"},         /* SÍ */
		{"es", KW_HELP, NULL, "AYUDA"},
		{NULL, KW_OPT_IN, NULL, "JOIN"},
		{"en", KW_CUSTOM, "promo", "DEAL"},
		{"en", KW_CUSTOM, "promo", "E-MAIL"},
		{"fr", KW_CUSTOM, "promo", "SOLDES"},
		{"en", KW_CUSTOM, "vip", "VIP"},
	};
	char err[KW_ERR_MAX];
	kw_set *s = kw_set_new();

	assert_non_null(s);
	for (size_t i = 0; i < sizeof add / sizeof *add; i++) {
		kw_err e = kw_add(s, add[i].lang, add[i].cat, add[i].name,
				  add[i].word, err);

		if (e != KW_OK)
			fail_msg("kw_add %s: %s", add[i].word, err);
	}
	return s;
}

/* ---- the classification table ---- */

typedef struct {
	const char *body;
	size_t len;          /* 0: strlen(body) */
	kw_category cat;
	const char *lang;    /* expected language, NULL: do not check */
	const char *custom;  /* expected custom category name */
	const char *keyword; /* expected normalised keyword, NULL: no check */
} row;

#define OUT KW_OPT_OUT
#define IN KW_OPT_IN
#define HLP KW_HELP
#define CUS KW_CUSTOM
#define OTH KW_OTHER

static const row table[] = {
	/* The whole message, case-insensitive. */
	{"stop", 0, OUT, "en", NULL, "stop"},
	{"STOP", 0, OUT, "en", NULL, "stop"},
	{"sToP", 0, OUT, "en", NULL, "stop"},
	{"STOPALL", 0, OUT, "en", NULL, "stopall"},
	{"UNSUBSCRIBE", 0, OUT, "en", NULL, "unsubscribe"},
	{"cancel", 0, OUT, "en", NULL, "cancel"},
	{"End.", 0, OUT, "en", NULL, "end"},
	{"quit!!!", 0, OUT, "en", NULL, "quit"},
	{"REVOKE", 0, OUT, "en", NULL, "revoke"},
	{"optout", 0, OUT, "en", NULL, "optout"},
	{"START", 0, IN, "en", NULL, "start"},
	{"yes", 0, IN, "en", NULL, "yes"},
	{"Unstop", 0, IN, "en", NULL, "unstop"},
	{"HELP", 0, HLP, "en", NULL, "help"},
	{"info?", 0, HLP, "en", NULL, "info"},
	/* Never a prefix, never a word in a sentence, no fuzzy matching. */
	{"stopwatch", 0, OTH, NULL, NULL, NULL},
	{"STOP PLEASE", 0, OTH, NULL, NULL, NULL},
	{"Stop. Thank you", 0, OTH, NULL, NULL, NULL},
	{"PLEASE CANCEL", 0, OTH, NULL, NULL, NULL},
	{"We have got to STOP this terrible bill!!", 0, OTH, NULL, NULL, NULL},
	{"HELP ME", 0, OTH, NULL, NULL, NULL},
	{"Stpo", 0, OTH, NULL, NULL, NULL},
	{"ST OP", 0, OTH, NULL, NULL, NULL},
	{"S.T.O.P.", 0, OTH, NULL, NULL, NULL},
	{"stop stop", 0, OTH, NULL, NULL, NULL},
	{"STOP\nSTOP", 0, OTH, NULL, NULL, NULL},
	/* White space and punctuation trimmed at both ends. */
	{" Stop. ", 0, OUT, "en", NULL, "stop"},
	{"STOP!", 0, OUT, "en", NULL, "stop"},
	{"STOP?!", 0, OUT, "en", NULL, "stop"},
	{"\tSTOP\r\n", 0, OUT, "en", NULL, "stop"},
	{"\n\n  start \t", 0, IN, "en", NULL, "start"},
	{"\xc2\xa0STOP\xc2\xa0", 0, OUT, "en", NULL, "stop"},   /* NBSP */
	{"\xe3\x80\x80STOP", 0, OUT, "en", NULL, "stop"},       /* U+3000 */
	{"\xe2\x80\x9cSTOP\xe2\x80\x9d", 0, OUT, "en", NULL, "stop"}, /* “” */
	{"...stop", 0, OUT, "en", NULL, "stop"},
	{"(STOP)", 0, OUT, "en", NULL, "stop"},
	{"<STOP>", 0, OTH, NULL, NULL, NULL}, /* < > are symbols */
	/* Compatibility forms, ignorables and composed accents. */
	{"\xef\xbc\xb3\xef\xbd\x94\xef\xbd\x8f\xef\xbd\x90", 0, OUT, "en",
	 NULL, "stop"},                                          /* Ｓｔｏｐ */
	{"\xef\xbc\xa8\xef\xbc\xa5\xef\xbc\xac\xef\xbc\xb0\xef\xbc\x81", 0,
	 HLP, "en", NULL, "help"},                              /* ＨＥＬＰ！ */
	{"S\xe2\x80\x8bTOP", 0, OUT, "en", NULL, "stop"},       /* ZWSP */
	{"STOP\xef\xb8\x8f", 0, OUT, "en", NULL, "stop"},       /* VS16 */
	{"STOP\xcc\x81", 0, OTH, NULL, NULL, NULL},             /* "stoṕ" */
	/* Emoji are text, not punctuation. */
	{"\xf0\x9f\x9b\x91", 0, OTH, NULL, NULL, NULL},         /* 🛑 */
	{"\xf0\x9f\x9b\x91 STOP", 0, OTH, NULL, NULL, NULL},
	{"STOP \xf0\x9f\x9b\x91", 0, OTH, NULL, NULL, NULL},
	{"\xf0\x9f\x91\x8d", 0, OTH, NULL, NULL, NULL},         /* 👍 */
	/* Empty, or nothing but what is trimmed. */
	{"", 0, OTH, NULL, NULL, NULL},
	{" \t\n\r ", 0, OTH, NULL, NULL, NULL},
	{"?!...", 0, OTH, NULL, NULL, NULL},
	{"\xe2\x80\x8b", 0, OTH, NULL, NULL, NULL},             /* ZWSP */
	/* Multi-word defaults: inner white space and dashes are one space. */
	{"stop all", 0, OUT, "en", NULL, "stop all"},
	{"STOP   ALL", 0, OUT, "en", NULL, "stop all"},
	{"STOP ALL!", 0, OUT, "en", NULL, "stop all"},
	{"STOP-ALL", 0, OUT, "en", NULL, "stop all"},
	{"Opt out", 0, OUT, "en", NULL, "opt out"},
	{"opt \t out", 0, OUT, "en", NULL, "opt out"},
	{"OPT-OUT", 0, OUT, "en", NULL, "opt out"},
	{"opt\xe2\x80\x93out", 0, OUT, "en", NULL, "opt out"},  /* en dash */
	{"opt - out", 0, OUT, "en", NULL, "opt out"},
	{"\xef\xbd\x93\xef\xbd\x94\xef\xbd\x8f\xef\xbd\x90\xe3\x80\x80"
	 "\xef\xbd\x81\xef\xbd\x8c\xef\xbd\x8c", 0, OUT, "en", NULL,
	 "stop all"},                                 /* ｓｔｏｐ　ａｌｌ */
	{"stop_all", 0, OTH, NULL, NULL, NULL},     /* '_' is not a dash */
	{"OPTOUT.", 0, OUT, "en", NULL, "optout"},
	/* Custom languages; accents are significant, as in Braze. */
	{"ARR\xc3\x8aT", 0, OUT, "fr", NULL, "arr\xc3\xaat"},
	{"arr\xc3\xaat", 0, OUT, "fr", NULL, "arr\xc3\xaat"},
	{"ARRE\xcc\x82T", 0, OUT, "fr", NULL, "arr\xc3\xaat"}, /* E+U+0302 */
	{"ARRET", 0, OTH, NULL, NULL, NULL},
	{"Oui !", 0, IN, "fr", NULL, "oui"},
	{"aide", 0, HLP, "fr", NULL, "aide"},
	{"\xc2\xbf" "AYUDA?", 0, HLP, "es", NULL, "ayuda"},    /* ¿AYUDA? */
	{"S\xc3\x8d", 0, IN, "es", NULL, "s\xc3\xad"},
	{"s\xc3\xad", 0, IN, "es", NULL, "s\xc3\xad"},
	{"si", 0, OTH, NULL, NULL, NULL},           /* "if", not "yes" */
	{"Alto.", 0, OUT, "es", NULL, "alto"},
	{"join", 0, IN, "en", NULL, "join"},
	/* Custom categories, in any language. */
	{"DEAL", 0, CUS, "en", "promo", "deal"},
	{"deal!", 0, CUS, "en", "promo", "deal"},
	{"e-mail", 0, CUS, "en", "promo", "e-mail"},
	{"E MAIL", 0, CUS, "en", "promo", "e-mail"},
	{"soldes", 0, CUS, "fr", "promo", "soldes"},
	{"VIP", 0, CUS, "en", "vip", "vip"},
	{"VIPS", 0, OTH, NULL, NULL, NULL},
	/* Bytes that are not UTF-8, and a NUL, are other. */
	{"STOP\xff", 0, OTH, NULL, NULL, NULL},
	{"\xc0\xafSTOP", 0, OTH, NULL, NULL, NULL},             /* overlong */
	{"\xed\xa0\x80STOP", 0, OTH, NULL, NULL, NULL},         /* surrogate */
	{"STO\xc3", 0, OTH, NULL, NULL, NULL},                  /* truncated */
	{"STOP\xf4\x90\x80\x80", 0, OTH, NULL, NULL, NULL},     /* >U+10FFFF */
	{"STOP\0", 5, OTH, NULL, NULL, NULL},
};

static void check_row(const kw_set *s, const row *r, size_t i)
{
	kw_match m;
	size_t len = r->len ? r->len : strlen(r->body);

	memset(&m, 0x5a, sizeof m);
	assert_int_equal(kw_classify(s, r->body, len, &m), KW_OK);
	if (m.category != r->cat)
		fail_msg("row %zu \"%s\": %s, want %s", i, r->body,
			 kw_category_name(m.category),
			 kw_category_name(r->cat));
	if (r->cat == KW_OTHER) {
		assert_null(m.lang);
		assert_null(m.keyword);
		assert_null(m.custom_name);
		assert_int_equal(m.custom_index, -1);
		return;
	}
	assert_non_null(m.keyword);
	assert_non_null(m.lang);
	if (r->lang)
		assert_string_equal(m.lang, r->lang);
	if (r->keyword)
		assert_string_equal(m.keyword, r->keyword);
	if (r->custom) {
		assert_non_null(m.custom_name);
		assert_string_equal(m.custom_name, r->custom);
		assert_string_equal(kw_custom_name(s, m.custom_index),
				    r->custom);
	} else {
		assert_null(m.custom_name);
		assert_int_equal(m.custom_index, -1);
	}
	assert_int_equal(m.is_default, !r->custom && strcmp(m.lang, "en") == 0
			 && strcmp(m.keyword, "join") != 0);
}

static void test_table(void **state)
{
	kw_set *s = build_set();

	(void)state;
	assert_true(sizeof table / sizeof *table >= 60);
	for (size_t i = 0; i < sizeof table / sizeof *table; i++)
		check_row(s, &table[i], i);
	kw_set_free(s);
}

/* The defaults need no configuration at all. */
static void test_defaults_only(void **state)
{
	kw_set *s = kw_set_new();
	kw_match m;

	(void)state;
	assert_non_null(s);
	assert_int_equal(kw_classify(s, "Stop!", 5, &m), KW_OK);
	assert_int_equal(m.category, KW_OPT_OUT);
	assert_int_equal(m.is_default, 1);
	assert_int_equal(kw_classify(s, "ARRET", 5, &m), KW_OK);
	assert_int_equal(m.category, KW_OTHER);
	assert_int_equal(kw_custom_count(s), 0);
	assert_null(kw_custom_name(s, 0));
	kw_set_free(s);
}

/* KW_BODY_MAX bytes are classified; one more is other without looking. */
static void test_body_limit(void **state)
{
	kw_set *s = build_set();
	char *b = malloc(4096);
	kw_match m;

	(void)state;
	assert_non_null(b);
	memset(b, ' ', 4096);
	memcpy(b + KW_BODY_MAX - 4, "STOP", 4);
	assert_int_equal(kw_classify(s, b, KW_BODY_MAX, &m), KW_OK);
	assert_int_equal(m.category, KW_OPT_OUT);
	assert_int_equal(kw_classify(s, b, KW_BODY_MAX + 1, &m), KW_OK);
	assert_int_equal(m.category, KW_OTHER);
	/* A 2,000-character body, and 4,096 bytes of letters. */
	memcpy(b, "STOP", 4);
	assert_int_equal(kw_classify(s, b, 2000, &m), KW_OK);
	assert_int_equal(m.category, KW_OTHER);
	memset(b, 'a', 4096);
	assert_int_equal(kw_classify(s, b, 4096, &m), KW_OK);
	assert_int_equal(m.category, KW_OTHER);
	/* U+FDFA grows eighteen-fold under NFKC: 533 of them just fit. */
	for (int i = 0; i + 3 <= KW_BODY_MAX; i += 3)
		memcpy(b + i, "\xef\xb7\xba", 3);
	assert_int_equal(kw_classify(s, b, KW_BODY_MAX - 1, &m), KW_OK);
	assert_int_equal(m.category, KW_OTHER);
	/* 530 ideographic spaces (1,590 bytes) around a keyword. */
	for (int i = 0; i < 1590; i += 3)
		memcpy(b + i, "\xe3\x80\x80", 3);
	memcpy(b + 1590, "help", 4);
	assert_int_equal(kw_classify(s, b, 1594, &m), KW_OK);
	assert_int_equal(m.category, KW_HELP);
	memcpy(b + 1590, "!!", 2);             /* the ends are trimmed */
	memcpy(b + 3, "end", 3);               /* in place of one U+3000 */
	assert_int_equal(kw_classify(s, b, 1592, &m), KW_OK);
	assert_int_equal(m.category, KW_OPT_OUT);
	/* Cut inside the last U+3000: not UTF-8, so other. */
	assert_int_equal(kw_classify(s, b, 1589, &m), KW_OK);
	assert_int_equal(m.category, KW_OTHER);
	free(b);
	kw_set_free(s);
}

static void test_classify_args(void **state)
{
	kw_set *s = build_set();
	kw_match m;

	(void)state;
	m.category = KW_HELP;
	assert_int_equal(kw_classify(NULL, "STOP", 4, &m), KW_ERR_ARG);
	assert_int_equal(m.category, KW_OTHER);
	assert_int_equal(kw_classify(s, "STOP", 4, NULL), KW_ERR_ARG);
	assert_int_equal(kw_classify(s, NULL, 4, &m), KW_ERR_ARG);
	assert_int_equal(kw_classify(s, NULL, 0, &m), KW_OK);
	assert_int_equal(m.category, KW_OTHER);
	/* Not NUL-terminated: only len bytes are read. */
	assert_int_equal(kw_classify(s, "STOPWATCH", 4, &m), KW_OK);
	assert_int_equal(m.category, KW_OPT_OUT);
	kw_set_free(s);
}

/* ---- kw_add validation ---- */

/* err must be a phrase naming the problem, containing `needle`. */
static void assert_err(kw_err got, kw_err want, const char *err,
		       const char *needle)
{
	if (got != want)
		fail_msg("got %s (%s), want %s", kw_strerror(got), err,
			 kw_strerror(want));
	assert_true(err[0] != '\0');
	if (needle && !strstr(err, needle))
		fail_msg("\"%s\" does not mention \"%s\"", err, needle);
}

static void test_add_per_category_limit(void **state)
{
	kw_set *s = kw_set_new();
	char err[KW_ERR_MAX], w[32];
	kw_match m;

	(void)state;
	for (int i = 1; i <= KW_PER_CATEGORY_MAX; i++) {
		snprintf(w, sizeof w, "ARRET%d", i);
		assert_int_equal(kw_add(s, "fr", KW_OPT_OUT, NULL, w, err),
				 KW_OK);
	}
	assert_err(kw_add(s, "fr", KW_OPT_OUT, NULL, "ARRET21", err),
		   KW_ERR_LIMIT, err, "20");
	assert_int_equal(kw_classify(s, "ARRET21", 7, &m), KW_OK);
	assert_int_equal(m.category, KW_OTHER);
	/* Another language or category has its own twenty. */
	assert_int_equal(kw_add(s, "de", KW_OPT_OUT, NULL, "ARRET21", err),
			 KW_OK);
	assert_int_equal(kw_add(s, "fr", KW_OPT_IN, NULL, "OUI", err), KW_OK);
	/* The defaults do not count: English takes twenty customs too. */
	for (int i = 1; i <= KW_PER_CATEGORY_MAX; i++) {
		snprintf(w, sizeof w, "HALT%d", i);
		assert_int_equal(kw_add(s, NULL, KW_OPT_OUT, NULL, w, err),
				 KW_OK);
	}
	/* A removal frees a place. */
	assert_int_equal(kw_remove(s, "fr", "arret3", err), KW_OK);
	assert_int_equal(kw_add(s, "fr", KW_OPT_OUT, NULL, "ARRET21", err),
			 KW_ERR_DUPLICATE);
	assert_int_equal(kw_add(s, "fr", KW_OPT_OUT, NULL, "ARRET22", err),
			 KW_OK);
	kw_set_free(s);
}

static void test_add_length(void **state)
{
	kw_set *s = kw_set_new();
	char err[KW_ERR_MAX], w[KW_WORD_MAX_BYTES + 8];
	kw_match m;

	(void)state;
	memset(w, 'A', 34);
	w[34] = '\0';
	assert_int_equal(kw_add(s, NULL, KW_HELP, NULL, w, err), KW_OK);
	assert_int_equal(kw_classify(s, w, 34, &m), KW_OK);
	assert_int_equal(m.category, KW_HELP);
	memset(w, 'B', 35);
	w[35] = '\0';
	assert_err(kw_add(s, NULL, KW_HELP, NULL, w, err), KW_ERR_TOO_LONG,
		   err, "34 characters");
	/* Characters, not bytes: 34 full-width letters are 102 bytes. */
	w[0] = '\0';
	for (int i = 0; i < 34; i++)
		strcat(w, "\xef\xbc\xa3");                     /* Ｃ */
	assert_int_equal(kw_add(s, NULL, KW_HELP, NULL, w, err), KW_OK);
	strcat(w, "\xef\xbc\xa3");
	assert_err(kw_add(s, NULL, KW_HELP, NULL, w, err), KW_ERR_TOO_LONG,
		   err, "34 characters");
	/* Counted after normalisation: E + U+0301 is one character, É. */
	w[0] = '\0';
	for (int i = 0; i < 34; i++)
		strcat(w, "E\xcc\x81");
	assert_int_equal(kw_add(s, NULL, KW_HELP, NULL, w, err), KW_OK);
	/* One character is enough. */
	assert_int_equal(kw_add(s, NULL, KW_OPT_IN, NULL, "Y", err), KW_OK);
	memset(w, 'D', KW_WORD_MAX_BYTES + 1);
	w[KW_WORD_MAX_BYTES + 1] = '\0';
	assert_err(kw_add(s, NULL, KW_HELP, NULL, w, err), KW_ERR_TOO_LONG,
		   err, "bytes");
	kw_set_free(s);
}

static void test_add_duplicates(void **state)
{
	kw_set *s = build_set();
	char err[KW_ERR_MAX];

	(void)state;
	/* Across categories, languages, case and width. */
	assert_err(kw_add(s, NULL, KW_OPT_IN, NULL, "DEAL", err),
		   KW_ERR_DUPLICATE, err, "promo");
	assert_err(kw_add(s, "fr", KW_CUSTOM, "vip", "deal", err),
		   KW_ERR_DUPLICATE, err, "\"deal\"");
	assert_err(kw_add(s, "es", KW_HELP, NULL,
			  "\xef\xbc\xa4\xef\xbc\xa5\xef\xbc\xa1\xef\xbc\xac",
			  err), KW_ERR_DUPLICATE, err, "promo");
	assert_err(kw_add(s, "es", KW_OPT_OUT, NULL, "arr\xc3\xaat", err),
		   KW_ERR_DUPLICATE, err, "\"fr\"");
	/* ARRET is a different word from ARRÊT, so it may be added. */
	assert_int_equal(kw_add(s, "fr", KW_OPT_OUT, NULL, "ARRET", err),
			 KW_OK);
	/* A dash is a gap like a space, so E–MAIL is E-MAIL; EMAIL is not. */
	assert_err(kw_add(s, NULL, KW_HELP, NULL, "E\xe2\x80\x93MAIL", err),
		   KW_ERR_DUPLICATE, err, "e-mail");
	assert_int_equal(kw_add(s, NULL, KW_HELP, NULL, "EMAIL", err), KW_OK);
	/* The same keyword again in its own place is a duplicate too. */
	assert_err(kw_add(s, "fr", KW_OPT_IN, NULL, "oui", err),
		   KW_ERR_DUPLICATE, err, "opt_in");
	kw_set_free(s);
}

static void test_add_fixed(void **state)
{
	kw_set *s = build_set();
	char err[KW_ERR_MAX];
	kw_match m;

	(void)state;
	assert_err(kw_add(s, NULL, KW_OPT_OUT, NULL, "START", err),
		   KW_ERR_FIXED, err, "start");
	assert_err(kw_add(s, "fr", KW_CUSTOM, "promo", "yes", err),
		   KW_ERR_FIXED, err, "opt_in");
	assert_err(kw_add(s, NULL, KW_OPT_IN, NULL, "Unstop", err),
		   KW_ERR_FIXED, err, "cannot be changed");
	assert_err(kw_add(s, NULL, KW_HELP, NULL, "STOP", err),
		   KW_ERR_FIXED, err, "opt_out");
	assert_err(kw_add(s, NULL, KW_HELP, NULL, "OPT-OUT", err),
		   KW_ERR_FIXED, err, "opt out");
	assert_err(kw_remove(s, NULL, "START", err), KW_ERR_FIXED, err,
		   "cannot be removed");
	assert_err(kw_remove(s, "fr", "stop", err), KW_ERR_FIXED, err,
		   "cannot be removed");
	assert_err(kw_remove(s, NULL, "help", err), KW_ERR_FIXED, err, NULL);
	assert_int_equal(kw_classify(s, "START", 5, &m), KW_OK);
	assert_int_equal(m.category, KW_OPT_IN);
	/* Custom keywords can be removed, in their own language only. */
	assert_err(kw_remove(s, "fr", "DEAL", err), KW_ERR_NOT_FOUND, err,
		   "\"fr\"");
	assert_err(kw_remove(s, "de", "DEAL", err), KW_ERR_NOT_FOUND, err,
		   "\"de\"");
	assert_err(kw_remove(s, NULL, "NOPE", err), KW_ERR_NOT_FOUND, err,
		   NULL);
	assert_int_equal(kw_remove(s, "EN", "deal", err), KW_OK);
	assert_int_equal(kw_classify(s, "DEAL", 4, &m), KW_OK);
	assert_int_equal(m.category, KW_OTHER);
	assert_int_equal(kw_classify(s, "e-mail", 6, &m), KW_OK);
	assert_int_equal(m.category, KW_CUSTOM);
	kw_set_free(s);
}

static void test_add_shape(void **state)
{
	kw_set *s = kw_set_new();
	char err[KW_ERR_MAX];

	(void)state;
	assert_err(kw_add(s, NULL, KW_OPT_OUT, NULL, "", err), KW_ERR_EMPTY,
		   err, "empty");
	assert_err(kw_add(s, NULL, KW_OPT_OUT, NULL, "\xe2\x80\x8b", err),
		   KW_ERR_EMPTY, err, "invisible");
	assert_err(kw_add(s, NULL, KW_OPT_OUT, NULL, "GO AWAY", err),
		   KW_ERR_SPACE, err, "GO AWAY");
	assert_err(kw_add(s, NULL, KW_OPT_OUT, NULL, "GO\tAWAY", err),
		   KW_ERR_SPACE, err, "spaces");
	assert_err(kw_add(s, NULL, KW_OPT_OUT, NULL, "GO\xc2\xa0" "AWAY", err),
		   KW_ERR_SPACE, err, NULL);                   /* NBSP */
	assert_err(kw_add(s, NULL, KW_OPT_OUT, NULL, " GO", err),
		   KW_ERR_SPACE, err, NULL);
	assert_err(kw_add(s, NULL, KW_OPT_OUT, NULL, "GO\xff", err),
		   KW_ERR_UTF8, err, "UTF-8");
	assert_err(kw_add(s, NULL, KW_OPT_OUT, NULL, "\xed\xa0\x80", err),
		   KW_ERR_UTF8, err, "UTF-8");
	assert_err(kw_add(s, NULL, KW_OPT_OUT, NULL, "GO\x01", err),
		   KW_ERR_UTF8, err, "control");
	assert_err(kw_add(s, NULL, KW_OPT_OUT, NULL, "GO!", err),
		   KW_ERR_PUNCT, err, "punctuation");
	assert_err(kw_add(s, NULL, KW_OPT_OUT, NULL, "\xc2\xbfGO", err),
		   KW_ERR_PUNCT, err, NULL);
	/* Inside a word, punctuation and symbols are fine; so is emoji. */
	assert_int_equal(kw_add(s, NULL, KW_OPT_OUT, NULL, "O'STOP", err),
			 KW_OK);
	assert_int_equal(kw_add(s, NULL, KW_HELP, NULL, "\xf0\x9f\x86\x98",
				err), KW_OK);                  /* 🆘 */
	assert_err(kw_add(s, NULL, KW_OPT_OUT, NULL, NULL, err), KW_ERR_ARG,
		   err, NULL);
	assert_int_equal(kw_add(NULL, NULL, KW_OPT_OUT, NULL, "X", NULL),
			 KW_ERR_ARG);
	kw_set_free(s);
}

static void test_add_categories_and_langs(void **state)
{
	kw_set *s = kw_set_new();
	char err[KW_ERR_MAX], name[32], w[32];
	kw_match m;

	(void)state;
	assert_err(kw_add(s, NULL, KW_OTHER, NULL, "X", err), KW_ERR_CATEGORY,
		   err, "category");
	assert_err(kw_add(s, NULL, (kw_category)99, NULL, "X", err),
		   KW_ERR_CATEGORY, err, NULL);
	assert_err(kw_add(s, NULL, KW_CUSTOM, NULL, "X", err), KW_ERR_EMPTY,
		   err, "name");
	assert_err(kw_add(s, NULL, KW_CUSTOM, "", "X", err), KW_ERR_EMPTY,
		   err, "name");
	assert_err(kw_add(s, NULL, KW_OPT_IN, "promo", "X", err), KW_ERR_ARG,
		   err, "custom");
	assert_err(kw_add(s, NULL, KW_CUSTOM, "a\nb", "X", err), KW_ERR_ARG,
		   err, "name");
	for (int i = 0; i < KW_CUSTOM_CATEGORIES_MAX; i++) {
		snprintf(name, sizeof name, "cat%d", i);
		snprintf(w, sizeof w, "KW%d", i);
		assert_int_equal(kw_add(s, "fr", KW_CUSTOM, name, w, err),
				 KW_OK);
	}
	assert_int_equal(kw_custom_count(s), KW_CUSTOM_CATEGORIES_MAX);
	assert_err(kw_add(s, "fr", KW_CUSTOM, "one-too-many", "KW99", err),
		   KW_ERR_LIMIT, err, "25");
	assert_int_equal(kw_custom_count(s), KW_CUSTOM_CATEGORIES_MAX);
	/* An existing category still takes keywords. */
	assert_int_equal(kw_add(s, "fr", KW_CUSTOM, "cat7", "KW99", err),
			 KW_OK);
	assert_int_equal(kw_classify(s, "kw99", 4, &m), KW_OK);
	assert_int_equal(m.category, KW_CUSTOM);
	assert_int_equal(m.custom_index, 7);
	assert_string_equal(m.custom_name, "cat7");
	assert_string_equal(m.lang, "fr");
	/* Language tags. */
	assert_err(kw_add(s, "f", KW_HELP, NULL, "A1", err), KW_ERR_LANG, err,
		   "language");
	assert_err(kw_add(s, "1r", KW_HELP, NULL, "A1", err), KW_ERR_LANG,
		   err, NULL);
	assert_err(kw_add(s, "fr_FR", KW_HELP, NULL, "A1", err), KW_ERR_LANG,
		   err, NULL);
	assert_err(kw_add(s, "", KW_HELP, NULL, "A1", err), KW_ERR_LANG, err,
		   NULL);
	assert_int_equal(kw_add(s, "PT-BR", KW_HELP, NULL, "AJUDA", err),
			 KW_OK);
	assert_int_equal(kw_classify(s, "ajuda", 5, &m), KW_OK);
	assert_string_equal(m.lang, "pt-br");
	for (int i = 4; i <= KW_LANG_MAX; i++) { /* en, fr, pt-br so far */
		snprintf(name, sizeof name, "l%c", 'a' + i);
		snprintf(w, sizeof w, "HELPME%d", i);
		assert_int_equal(kw_add(s, name, KW_HELP, NULL, w, err), KW_OK);
	}
	assert_err(kw_add(s, "zz", KW_HELP, NULL, "A1", err), KW_ERR_LIMIT,
		   err, "16");
	/* A failed add leaves nothing behind: the language is not there. */
	assert_err(kw_remove(s, "zz", "A1", err), KW_ERR_NOT_FOUND, err, NULL);
	kw_set_free(s);
}

static void test_names(void **state)
{
	kw_category c;

	(void)state;
	for (int i = 0; i < KW_CATEGORY__COUNT; i++) {
		assert_int_equal(kw_category_parse(kw_category_name(i), &c),
				 KW_OK);
		assert_int_equal(c, i);
	}
	assert_string_equal(kw_category_name(KW_OPT_OUT), "opt_out");
	assert_string_equal(kw_category_name(KW_OPT_IN), "opt_in");
	assert_string_equal(kw_category_name(KW_HELP), "help");
	assert_string_equal(kw_category_name(KW_CUSTOM), "custom");
	assert_string_equal(kw_category_name(KW_OTHER), "other");
	assert_string_equal(kw_category_name((kw_category)42), "other");
	assert_int_equal(kw_category_parse("STOP", &c), KW_ERR_CATEGORY);
	assert_int_equal(kw_category_parse(NULL, &c), KW_ERR_CATEGORY);
	for (int i = 0; i < KW_ERR__COUNT; i++)
		assert_true(kw_strerror(i)[0] != '\0');
	assert_string_equal(kw_strerror(KW_OK), "success");
	assert_string_equal(kw_strerror((kw_err)999), "unknown error");
	kw_set_free(NULL);
}

/* ---- threads ---- */

#define THREADS 4
#define ROUNDS 300

static void *classify_all(void *arg)
{
	const kw_set *s = arg;
	size_t bad = 0;
	kw_match m;

	for (int r = 0; r < ROUNDS; r++) {
		for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
			const row *t = &table[i];
			size_t len = t->len ? t->len : strlen(t->body);

			if (kw_classify(s, t->body, len, &m) != KW_OK ||
			    m.category != t->cat ||
			    (t->keyword && strcmp(m.keyword, t->keyword)))
				bad++;
		}
	}
	return (void *)bad;
}

static void test_threads(void **state)
{
	kw_set *s = build_set();
	pthread_t th[THREADS];
	void *bad;

	(void)state;
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, classify_all, s),
				 0);
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(th[i], &bad), 0);
		assert_int_equal((size_t)bad, 0);
	}
	kw_set_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_defaults_only),
		cmocka_unit_test(test_body_limit),
		cmocka_unit_test(test_classify_args),
		cmocka_unit_test(test_add_per_category_limit),
		cmocka_unit_test(test_add_length),
		cmocka_unit_test(test_add_duplicates),
		cmocka_unit_test(test_add_fixed),
		cmocka_unit_test(test_add_shape),
		cmocka_unit_test(test_add_categories_and_langs),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
