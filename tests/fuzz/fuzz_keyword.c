/*
 * fuzz_keyword: libFuzzer target for core/keyword's kw_classify().
 *
 * The body is whatever a phone sent, so any bytes at all must come back
 * KW_OK with a consistent kw_match, never a crash. The set has the
 * defaults, a French set and a custom category, as a real group would.
 * Invariants checked, with abort() so any fuzzer build reports them:
 *   - the result is KW_OK and a known category; past KW_BODY_MAX it is
 *     other;
 *   - other has no keyword, language or custom category; a match has both
 *     a keyword and a language, and a custom index and name exactly when
 *     the category is custom; a default is English and never custom;
 *   - the matched keyword classifies as itself (a stored key is stable);
 *   - white space before and punctuation after change nothing (trimming);
 *   - for ASCII bodies, flipping the case of every letter changes nothing.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/keyword.h"

static kw_set *fuzz_kw_set(void)
{
	static kw_set *s;

	if (s)
		return s;
	s = kw_set_new();
	if (!s ||
	    kw_add(s, "fr", KW_OPT_OUT, NULL, "ARR\xc3\x8aT", NULL) ||
	    kw_add(s, "fr", KW_OPT_IN, NULL, "OUI", NULL) ||
	    kw_add(s, "fr", KW_HELP, NULL, "AIDE", NULL) ||
	    kw_add(s, NULL, KW_CUSTOM, "promo", "DEAL", NULL) ||
	    kw_add(s, NULL, KW_CUSTOM, "promo", "E-MAIL", NULL) ||
	    kw_add(s, "fr", KW_CUSTOM, "promo", "SOLDES", NULL))
		abort();
	return s;
}

static void fuzz_kw_check(const kw_set *s, const kw_match *m)
{
	if ((unsigned)m->category >= KW_CATEGORY__COUNT)
		abort();
	if (m->category == KW_OTHER) {
		if (m->keyword || m->lang || m->custom_name ||
		    m->custom_index != -1 || m->is_default)
			abort();
		return;
	}
	if (!m->keyword || !m->lang || (m->is_default != 0 &&
					m->is_default != 1))
		abort();
	if (m->category == KW_CUSTOM) {
		if (m->custom_index < 0 || m->custom_index >= kw_custom_count(s)
		    || m->custom_name != kw_custom_name(s, m->custom_index) ||
		    m->is_default)
			abort();
	} else if (m->custom_index != -1 || m->custom_name) {
		abort();
	}
	if (m->is_default && strcmp(m->lang, KW_DEFAULT_LANG) != 0)
		abort();
}

static int fuzz_kw_same(const kw_match *a, const kw_match *b)
{
	return a->category == b->category &&
	       a->custom_index == b->custom_index && a->lang == b->lang &&
	       a->keyword == b->keyword && a->is_default == b->is_default;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[KW_BODY_MAX + 8];
	const kw_set *s = fuzz_kw_set();
	const char *body = (const char *)data;
	kw_match m, again;

	if (kw_classify(s, body, size, &m) != KW_OK)
		abort();
	fuzz_kw_check(s, &m);
	if (size > KW_BODY_MAX && m.category != KW_OTHER)
		abort();
	if (m.keyword && (kw_classify(s, m.keyword, strlen(m.keyword),
				      &again) != KW_OK ||
			  !fuzz_kw_same(&m, &again)))
		abort();
	if (size + 4 <= KW_BODY_MAX) {
		memcpy(buf, " \t", 2);
		memcpy(buf + 2, body, size);
		memcpy(buf + 2 + size, "!\n", 2);
		if (kw_classify(s, buf, size + 4, &again) != KW_OK ||
		    !fuzz_kw_same(&m, &again))
			abort();
	}
	for (size_t i = 0; i < size; i++)
		if (data[i] & 0x80)
			return 0;
	for (size_t i = 0; i < size && size <= KW_BODY_MAX; i++) {
		char c = body[i];

		buf[i] = (char)((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
				? c ^ 0x20 : c);
	}
	if (size <= KW_BODY_MAX &&
	    (kw_classify(s, buf, size, &again) != KW_OK ||
	     !fuzz_kw_same(&m, &again)))
		abort();
	return 0;
}
