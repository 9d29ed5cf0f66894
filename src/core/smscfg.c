/*
 * smscfg: see smscfg.h. A document is checked part by part; the first bad
 * part stops the parse with a message that names it by its JSON path
 * ("languages.fr.replies.help: ..."), and nothing half-built escapes.
 */
#include "core/smscfg.h"
#include "lib/str.h"
#include "lib/utf8.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMSCFG_PATH_MAX 256 /* bytes of a JSON path in an error */

typedef struct {
	char lang[KW_LANG_TAG_MAX + 1];
	char *reply[SMSCFG_R__COUNT]; /* NULL: not set in this language */
} cfg_lang;

typedef struct {
	char name[KW_CATEGORY_NAME_MAX + 1];
	char lang[KW_LANG_MAX][KW_LANG_TAG_MAX + 1];
	char *reply[KW_LANG_MAX];
	int n;
} cfg_custom;

struct smscfg {
	kw_set *kw;
	char brand[4 * SMSCFG_BRAND_MAX + 1];
	char contact[4 * SMSCFG_CONTACT_MAX + 1];
	char confirm[KW_WORD_MAX_BYTES + 1]; /* the first confirming word */
	int window_days;
	cfg_lang langs[KW_LANG_MAX];
	int n_langs;
	cfg_custom custom[KW_CUSTOM_CATEGORIES_MAX];
	int n_custom;
	smscfg_provider provider;
	/* The built-in replies, made once from brand, contact and confirm:
	 * each message that needs one gets it without formatting. */
	char defaults[SMSCFG_R__COUNT][SMSCFG_TEXT_MAX];
};

static const char *const reply_names[SMSCFG_R__COUNT] = {
	"opt_in", "opt_out", "help", "doi_prompt", "doi_confirm",
};

const char *smscfg_reply_name(smscfg_reply which)
{
	return which < SMSCFG_R__COUNT ? reply_names[which] : "?";
}

static int fail(char err[SMSCFG_ERR_MAX], const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(char err[SMSCFG_ERR_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, SMSCFG_ERR_MAX, fmt, ap);
	va_end(ap);
	utf8_clean(err);
	return -1;
}

/* A string of 1..max characters, UTF-8, no control characters. */
static int text_field(json_t *v, const char *path, size_t max,
		      char err[SMSCFG_ERR_MAX])
{
	const char *s = json_string_value(v);

	if (!s)
		return fail(err, "%s must be a string", path);
	if (!*s)
		return fail(err, "%s must not be empty", path);
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\n')
			return fail(err, "%s holds a control character", path);
	if (utf8_chars(s) > max)
		return fail(err, "%s is longer than %zu characters", path, max);
	return 0;
}

static cfg_lang *lang_slot(smscfg *c, const char *lang)
{
	for (int i = 0; i < c->n_langs; i++)
		if (strcmp(c->langs[i].lang, lang) == 0)
			return &c->langs[i];
	if (c->n_langs >= KW_LANG_MAX)
		return NULL;
	cfg_lang *l = &c->langs[c->n_langs++];
	snprintf(l->lang, sizeof l->lang, "%s", lang);
	return l;
}

static int parse_replies(smscfg *c, cfg_lang *l, json_t *obj,
			 const char *path, char err[SMSCFG_ERR_MAX])
{
	const char *k;
	json_t *v;
	char p[SMSCFG_PATH_MAX];

	if (!json_is_object(obj))
		return fail(err, "%s must be an object", path);
	json_object_foreach(obj, k, v) {
		int which = -1;
		for (int i = 0; i < SMSCFG_R__COUNT; i++)
			if (strcmp(k, reply_names[i]) == 0)
				which = i;
		snprintf(p, sizeof p, "%.200s.%.40s", path, k);
		if (which < 0)
			return fail(err, "%s: unknown reply (expected opt_in, "
				    "opt_out, help, doi_prompt or doi_confirm)",
				    p);
		if (text_field(v, p, SMSCFG_REPLY_MAX, err))
			return -1;
		free(l->reply[which]);
		l->reply[which] = strdup(json_string_value(v));
		if (!l->reply[which])
			return fail(err, "out of memory");
	}
	(void)c;
	return 0;
}

static int add_word(smscfg *c, const char *lang, kw_category cat,
		    const char *custom, json_t *w, const char *path,
		    char err[SMSCFG_ERR_MAX])
{
	char kerr[KW_ERR_MAX];
	const char *s = json_string_value(w);

	if (!s)
		return fail(err, "%s: keywords must be strings", path);
	if (kw_add(c->kw, lang, cat, custom, s, kerr) != KW_OK)
		return fail(err, "%s: \"%.40s\": %s", path, s, kerr);
	return 0;
}

static int add_words(smscfg *c, const char *lang, kw_category cat,
		     const char *custom, json_t *arr, const char *path,
		     char err[SMSCFG_ERR_MAX])
{
	size_t i;
	json_t *w;

	if (!json_is_array(arr))
		return fail(err, "%s must be an array of keywords", path);
	if (json_array_size(arr) > KW_PER_CATEGORY_MAX)
		return fail(err, "%s: at most %d keywords", path,
			    KW_PER_CATEGORY_MAX);
	json_array_foreach(arr, i, w)
		if (add_word(c, lang, cat, custom, w, path, err))
			return -1;
	return 0;
}

static int lang_tag_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 2 || n > KW_LANG_TAG_MAX)
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      (*p == '-' && p != s)))
			return 0;
	return 1;
}

static const struct {
	const char *name;
	kw_category cat;
} kw_cats[] = {
	{"opt_out", KW_OPT_OUT}, {"opt_in", KW_OPT_IN}, {"help", KW_HELP},
};

static int parse_lang_keywords(smscfg *c, const char *lang, json_t *obj,
			       const char *path, char err[SMSCFG_ERR_MAX])
{
	const char *k;
	json_t *v;
	char p[SMSCFG_PATH_MAX];

	if (!json_is_object(obj))
		return fail(err, "%s must be an object", path);
	json_object_foreach(obj, k, v) {
		size_t i = 0;
		while (i < 3 && strcmp(k, kw_cats[i].name) != 0)
			i++;
		snprintf(p, sizeof p, "%.200s.%.40s", path, k);
		if (i == 3)
			return fail(err, "%s: unknown category (expected "
				    "opt_out, opt_in or help; custom ones go "
				    "under \"categories\")", p);
		if (add_words(c, lang, kw_cats[i].cat, NULL, v, p, err))
			return -1;
	}
	return 0;
}

static int parse_language(smscfg *c, const char *lang, json_t *obj,
			  char err[SMSCFG_ERR_MAX])
{
	const char *k;
	json_t *v;
	char p[SMSCFG_PATH_MAX];
	cfg_lang *l;

	if (!lang_tag_ok(lang))
		return fail(err, "languages: \"%.40s\" is not a language tag "
			    "(lower-case, like \"fr\" or \"pt-br\")", lang);
	if (!json_is_object(obj))
		return fail(err, "languages.%s must be an object", lang);
	l = lang_slot(c, lang);
	if (!l)
		return fail(err, "languages: at most %d", KW_LANG_MAX);
	json_object_foreach(obj, k, v) {
		snprintf(p, sizeof p, "languages.%s.%.40s", lang, k);
		if (strcmp(k, "keywords") == 0) {
			if (parse_lang_keywords(c, lang, v, p, err))
				return -1;
		} else if (strcmp(k, "replies") == 0) {
			if (parse_replies(c, l, v, p, err))
				return -1;
		} else {
			return fail(err, "%s: unknown field (expected keywords "
				    "or replies)", p);
		}
	}
	return 0;
}

static int category_name_ok(const char *s)
{
	static const char *const reserved[] = {
		"opt_out", "opt_in", "help", "other", SMSCFG_CONFIRM,
	};
	size_t n = strlen(s);

	if (n == 0 || n > KW_CATEGORY_NAME_MAX)
		return 0;
	for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
		if (strcmp(s, reserved[i]) == 0)
			return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '-'))
			return 0;
	return 1;
}

static int parse_custom_reply(cfg_custom *cc, json_t *obj, const char *path,
			      char err[SMSCFG_ERR_MAX])
{
	const char *lang;
	json_t *v;
	char p[SMSCFG_PATH_MAX];

	if (!json_is_object(obj))
		return fail(err, "%s must be an object of language: text", path);
	json_object_foreach(obj, lang, v) {
		snprintf(p, sizeof p, "%.200s.%.20s", path, lang);
		if (!lang_tag_ok(lang))
			return fail(err, "%s: not a language tag", p);
		if (cc->n >= KW_LANG_MAX)
			return fail(err, "%s: at most %d languages", path,
				    KW_LANG_MAX);
		if (text_field(v, p, SMSCFG_REPLY_MAX, err))
			return -1;
		snprintf(cc->lang[cc->n], sizeof cc->lang[0], "%s", lang);
		cc->reply[cc->n] = strdup(json_string_value(v));
		if (!cc->reply[cc->n++])
			return fail(err, "out of memory");
	}
	return 0;
}

static int parse_category(smscfg *c, const char *name, json_t *obj,
			  char err[SMSCFG_ERR_MAX])
{
	json_t *kws = json_object_get(obj, "keywords");
	json_t *reply = json_object_get(obj, "reply");
	const char *lang;
	json_t *v;
	char p[SMSCFG_PATH_MAX];

	if (!category_name_ok(name))
		return fail(err, "categories: \"%.64s\" is not a category name "
			    "(a-z, 0-9, _ and -, at most %d, not a built-in "
			    "one)", name, KW_CATEGORY_NAME_MAX);
	if (!json_is_object(obj) || json_object_size(obj) !=
		    (size_t)(!!kws + !!reply))
		return fail(err, "categories.%s must be an object with "
			    "keywords and reply", name);
	if (!json_is_object(kws) || json_object_size(kws) == 0)
		return fail(err, "categories.%s.keywords must be an object of "
			    "language: [keywords], with at least one", name);
	if (c->n_custom >= KW_CUSTOM_CATEGORIES_MAX)
		return fail(err, "categories: at most %d",
			    KW_CUSTOM_CATEGORIES_MAX);
	cfg_custom *cc = &c->custom[c->n_custom++];
	snprintf(cc->name, sizeof cc->name, "%s", name);
	json_object_foreach(kws, lang, v) {
		snprintf(p, sizeof p, "categories.%s.keywords.%.20s", name,
			 lang);
		if (!lang_tag_ok(lang))
			return fail(err, "%s: not a language tag", p);
		if (add_words(c, lang, KW_CUSTOM, name, v, p, err))
			return -1;
	}
	snprintf(p, sizeof p, "categories.%s.reply", name);
	return reply ? parse_custom_reply(cc, reply, p, err) : 0;
}

static int parse_doi(smscfg *c, json_t *obj, char err[SMSCFG_ERR_MAX])
{
	json_t *words = json_object_get(obj, "confirm_keywords");
	json_t *days = json_object_get(obj, "window_days");
	size_t i;
	json_t *w;

	if (!json_is_object(obj) ||
	    json_object_size(obj) != (size_t)(!!words + !!days))
		return fail(err, "double_opt_in must be an object with "
			    "confirm_keywords and window_days");
	if (days) {
		if (!json_is_integer(days) || json_integer_value(days) < 1 ||
		    json_integer_value(days) > SMSCFG_WINDOW_DAYS_MAX)
			return fail(err, "double_opt_in.window_days must be an "
				    "integer from 1 to %d",
				    SMSCFG_WINDOW_DAYS_MAX);
		c->window_days = (int)json_integer_value(days);
	}
	if (!words)
		return 0;
	if (!json_is_array(words) || json_array_size(words) == 0 ||
	    json_array_size(words) > SMSCFG_CONFIRM_MAX)
		return fail(err, "double_opt_in.confirm_keywords must be an "
			    "array of 1 to %d keywords", SMSCFG_CONFIRM_MAX);
	json_array_foreach(words, i, w) {
		if (add_word(c, NULL, KW_CUSTOM, SMSCFG_CONFIRM, w,
			     "double_opt_in.confirm_keywords", err))
			return -1;
		if (i == 0)
			snprintf(c->confirm, sizeof c->confirm, "%s",
				 json_string_value(w));
	}
	return 0;
}

static int parse_provider(smscfg *c, json_t *obj, char err[SMSCFG_ERR_MAX])
{
	smscfg_provider *pv = &c->provider;
	/* Caps match the provider settings they override (sms/provider.h). */
	struct {
		const char *name;
		char *dst;
		size_t cap;
	} f[] = {
		{"kind", pv->kind, sizeof pv->kind},
		{"twilio_account_sid", pv->twilio_account_sid, 64},
		{"twilio_auth_token", pv->twilio_auth_token, 128},
		{"twilio_messaging_service_sid",
		 pv->twilio_messaging_service_sid, 64},
		{"kannel_sendsms_url", pv->kannel_sendsms_url, 512},
		{"kannel_username", pv->kannel_username, 128},
		{"kannel_password", pv->kannel_password, 128},
	};
	const size_t nf = sizeof f / sizeof f[0];
	const char *k;
	json_t *v;

	if (!json_is_object(obj))
		return fail(err, "provider must be an object");
	json_object_foreach(obj, k, v) {
		size_t i = 0;
		while (i < nf && strcmp(k, f[i].name) != 0)
			i++;
		if (i == nf)
			return fail(err, "provider.%.40s: unknown setting", k);
		const char *s = json_string_value(v);
		size_t cap = f[i].cap;
		if (!s || !*s || strlen(s) >= cap)
			return fail(err, "provider.%s must be a string of 1 to "
				    "%zu bytes", k, cap - 1);
		snprintf(f[i].dst, cap, "%s", s);
	}
	if (pv->kind[0] && strcmp(pv->kind, "log") != 0 &&
	    strcmp(pv->kind, "twilio") != 0 && strcmp(pv->kind, "kannel") != 0)
		return fail(err, "provider.kind must be log, twilio or kannel");
	return 0;
}

static int parse_top(smscfg *c, json_t *doc, char err[SMSCFG_ERR_MAX])
{
	const char *k;
	json_t *v;

	json_object_foreach(doc, k, v) {
		if (strcmp(k, "brand") == 0) {
			if (text_field(v, "brand", SMSCFG_BRAND_MAX, err))
				return -1;
			snprintf(c->brand, sizeof c->brand, "%s",
				 json_string_value(v));
		} else if (strcmp(k, "help_contact") == 0) {
			if (text_field(v, "help_contact", SMSCFG_CONTACT_MAX,
				       err))
				return -1;
			snprintf(c->contact, sizeof c->contact, "%s",
				 json_string_value(v));
		} else if (strcmp(k, "double_opt_in") == 0) {
			if (parse_doi(c, v, err))
				return -1;
		} else if (strcmp(k, "provider") == 0) {
			if (parse_provider(c, v, err))
				return -1;
		} else if (strcmp(k, "languages") == 0 ||
			   strcmp(k, "categories") == 0) {
			int langs = k[0] == 'l';
			const char *name;
			json_t *sub;
			if (!json_is_object(v))
				return fail(err, "%s must be an object", k);
			json_object_foreach(v, name, sub)
				if (langs ? parse_language(c, name, sub, err)
					  : parse_category(c, name, sub, err))
					return -1;
		} else {
			return fail(err, "unknown setting \"%.40s\" (expected "
				    "brand, help_contact, double_opt_in, "
				    "languages, categories or provider)", k);
		}
	}
	return 0;
}

static void default_reply(const smscfg *c, smscfg_reply which,
			  char out[SMSCFG_TEXT_MAX]);

smscfg_err smscfg_parse(const char *json, size_t len, const char *brand,
			smscfg **out, char err[SMSCFG_ERR_MAX])
{
	smscfg *c = calloc(1, sizeof *c);
	smscfg_err rc = SMSCFG_ERR_NOMEM;
	json_t *doc = NULL;
	json_error_t je;
	char kerr[KW_ERR_MAX];

	*out = NULL;
	err[0] = '\0';
	if (!c || !(c->kw = kw_set_new()))
		goto out;
	c->window_days = SMSCFG_WINDOW_DAYS;
	snprintf(c->brand, sizeof c->brand, "%s", brand ? brand : "optd");
	snprintf(c->confirm, sizeof c->confirm, "Y");
	rc = SMSCFG_ERR_INVALID;
	if (len > 0) {
		doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
		if (!doc) {
			fail(err, "not valid JSON: %s (at character %d)",
			     je.text, je.position);
			goto out;
		}
		if (!json_is_object(doc)) {
			fail(err, "SMS settings must be a JSON object");
			goto out;
		}
		if (parse_top(c, doc, err))
			goto out;
	}
	/* "Y" confirms unless the document chose its own words. */
	if (!json_object_get(doc, "double_opt_in") ||
	    !json_object_get(json_object_get(doc, "double_opt_in"),
			     "confirm_keywords"))
		if (kw_add(c->kw, NULL, KW_CUSTOM, SMSCFG_CONFIRM, "Y", kerr)) {
			fail(err, "double_opt_in: %s", kerr);
			goto out;
		}
	for (int i = 0; i < SMSCFG_R__COUNT; i++)
		default_reply(c, (smscfg_reply)i, c->defaults[i]);
	rc = SMSCFG_OK;
	*out = c;
	c = NULL;
out:
	if (rc == SMSCFG_ERR_NOMEM && !err[0])
		fail(err, "out of memory");
	json_decref(doc);
	smscfg_free(c);
	return rc;
}

void smscfg_free(smscfg *c)
{
	if (!c)
		return;
	kw_set_free(c->kw);
	for (int i = 0; i < c->n_langs; i++)
		for (int j = 0; j < SMSCFG_R__COUNT; j++)
			free(c->langs[i].reply[j]);
	for (int i = 0; i < c->n_custom; i++)
		for (int j = 0; j < c->custom[i].n; j++)
			free(c->custom[i].reply[j]);
	free(c);
}

const kw_set *smscfg_keywords(const smscfg *c) { return c->kw; }
int smscfg_window_days(const smscfg *c) { return c->window_days; }
const smscfg_provider *smscfg_provider_of(const smscfg *c)
{
	return &c->provider;
}

static const char *lang_reply(const smscfg *c, smscfg_reply which,
			      const char *lang)
{
	for (int i = 0; i < c->n_langs; i++)
		if (strcmp(c->langs[i].lang, lang) == 0)
			return c->langs[i].reply[which];
	return NULL;
}

/* CTIA: brand, what the program is, how to get help and to stop, and
 * "Msg & data rates may apply"; never any marketing in an opt-out. */
static void default_reply(const smscfg *c, smscfg_reply which,
			  char out[SMSCFG_TEXT_MAX])
{
	char help[4 * SMSCFG_CONTACT_MAX + 16] = "";

	if (c->contact[0])
		snprintf(help, sizeof help, " Help: %s.", c->contact);
	switch (which) {
	case SMSCFG_R_OPT_IN:
		snprintf(out, SMSCFG_TEXT_MAX, "%s: You are subscribed to "
			 "recurring messages. Msg frequency varies. Msg & "
			 "data rates may apply. Reply HELP for help, STOP to "
			 "cancel.", c->brand);
		break;
	case SMSCFG_R_OPT_OUT:
		snprintf(out, SMSCFG_TEXT_MAX, "%s: You are unsubscribed and "
			 "will receive no more messages. Reply START to "
			 "resubscribe.", c->brand);
		break;
	case SMSCFG_R_HELP:
		snprintf(out, SMSCFG_TEXT_MAX, "%s: Recurring messages.%s Msg "
			 "frequency varies. Msg & data rates may apply. Reply "
			 "STOP to cancel, START to subscribe.", c->brand, help);
		break;
	case SMSCFG_R_DOI_PROMPT:
		snprintf(out, SMSCFG_TEXT_MAX, "%s: Reply %s to confirm you "
			 "want recurring messages. Msg frequency varies. Msg "
			 "& data rates may apply. Reply HELP for help, STOP to "
			 "cancel.", c->brand, c->confirm);
		break;
	default:
		snprintf(out, SMSCFG_TEXT_MAX, "%s: Thanks, you are confirmed "
			 "for recurring messages. Msg frequency varies. Msg & "
			 "data rates may apply. Reply HELP for help, STOP to "
			 "cancel.", c->brand);
		break;
	}
}

const char *smscfg_reply_of(const smscfg *c, smscfg_reply which,
			    const char *lang)
{
	const char *t = NULL;

	if ((unsigned)which >= SMSCFG_R__COUNT)
		which = SMSCFG_R_DOI_CONFIRM; /* as default_reply() does */
	if (lang)
		t = lang_reply(c, which, lang);
	if (!t)
		t = lang_reply(c, which, KW_DEFAULT_LANG);
	return t ? t : c->defaults[which];
}

int smscfg_custom_reply(const smscfg *c, const char *category,
			const char *lang, char out[SMSCFG_TEXT_MAX])
{
	for (int i = 0; i < c->n_custom; i++) {
		const cfg_custom *cc = &c->custom[i];
		int en = -1;
		if (strcmp(cc->name, category) != 0)
			continue;
		for (int j = 0; j < cc->n; j++) {
			if (lang && strcmp(cc->lang[j], lang) == 0) {
				snprintf(out, SMSCFG_TEXT_MAX, "%s",
					 cc->reply[j]);
				return 1;
			}
			if (strcmp(cc->lang[j], KW_DEFAULT_LANG) == 0)
				en = j;
		}
		if (en < 0 && cc->n > 0)
			en = 0;
		if (en >= 0) {
			snprintf(out, SMSCFG_TEXT_MAX, "%s", cc->reply[en]);
			return 1;
		}
	}
	return 0;
}
