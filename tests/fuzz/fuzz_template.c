/*
 * fuzz_template: libFuzzer target for core/template.
 *
 * A template is whatever an admin saved in a flow, so any bytes must
 * either compile or be refused with a message, and a compiled template
 * must render (or fail with a message) in both escaping modes, never
 * crash or leak. The fake lookup answers by the name's first letter with
 * the values that are hard to print: quotes, backslashes, control
 * characters, NUL, non-ASCII, false, empty, invalid UTF-8 and long text.
 * Invariants checked with abort():
 *   - a refusal has a message and no tpl; a render error has a message,
 *     no output and length 0;
 *   - the variables listed have a known kind and a 1..TPL_NAME_MAX name;
 *   - output is NUL-terminated, at most TPL_OUT_MAX bytes, well-formed
 *     UTF-8, and the same when rendered again;
 *   - both modes fail alike, except that JSON escaping alone may pass
 *     the output limit;
 *   - when the source holds no '"', '\\' or control character (so every
 *     one in the output came from a value), the JSON output in quotes is
 *     a JSON string whose value is exactly the unescaped output.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/template.h"
#include "lib/utf8.h"

#define FUZZ_LONG 40000 /* bytes of the long value */

static tpl_found lookup(void *ctx, tpl_var_kind kind, const char *name,
			const char **val, size_t *len)
{
	static char long_val[FUZZ_LONG];

	(void)ctx;
	if (!long_val[0])
		for (size_t i = 0; i < FUZZ_LONG; i++)
			long_val[i] = "ab \"\\\n%~"[i % 8];
	switch (name[0]) {
	case 'n': return TPL_ABSENT;
	case 'f': return TPL_FALSE;
	case 'q': *val = "a\"b\\c\n\x01\x1f"; break;
	case 'u': *val = "\xc3\xa9\xf0\x9f\x98\x80\xe2\x80\xa8 \xc3\x9f"; break;
	case 'e': *val = ""; break;
	case 'b': *val = "ok\xff"; break;
	case 'z': *val = "a\0b"; *len = 3; return TPL_TEXT;
	case 'l': *val = long_val; *len = FUZZ_LONG; return TPL_TEXT;
	default: *val = kind == TPL_VAR_USER_ID ? "u-1" : name; break;
	}
	*len = strlen(*val);
	return TPL_TEXT;
}

/* Render; on success check the output and return it, else NULL. */
static char *render(const tpl *t, tpl_escape esc, size_t *len, tpl_err *e)
{
	char err[TPL_ERR_MAX], *out = (char *)1;

	*len = 1;
	*e = tpl_render(t, lookup, NULL, esc, &out, len, err);
	if (*e != TPL_OK) {
		if (out || *len || !err[0] || !memchr(err, 0, sizeof err))
			abort();
		return NULL;
	}
	if (!out || *len > TPL_OUT_MAX || out[*len] != '\0' ||
	    !utf8_valid(out, *len))
		abort();
	return out;
}

static int plain_source(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < size; i++)
		if (data[i] == '"' || data[i] == '\\' || data[i] < 0x20)
			return 0;
	return 1;
}

/* "\"" json "\"" decodes to exactly raw[0..len). */
static void check_json(const char *json, size_t jlen, const char *raw,
		       size_t len)
{
	char *quoted = malloc(jlen + 2);
	json_error_t jerr;
	json_t *v;

	if (!quoted)
		abort();
	quoted[0] = '"';
	memcpy(quoted + 1, json, jlen);
	quoted[jlen + 1] = '"';
	v = json_loadb(quoted, jlen + 2, JSON_DECODE_ANY | JSON_ALLOW_NUL,
		       &jerr);
	if (!json_is_string(v) || json_string_length(v) != len ||
	    memcmp(json_string_value(v), raw, len) != 0)
		abort();
	json_decref(v);
	free(quoted);
}

static void check_vars(const tpl *t)
{
	tpl_var_kind kind;
	const char *name;
	size_t n = tpl_var_count(t);

	for (size_t i = 0; i < n; i++) {
		if (tpl_var(t, i, &kind, &name) != 0 ||
		    (unsigned)kind >= TPL_VAR__COUNT || !name[0] ||
		    strlen(name) > TPL_NAME_MAX)
			abort();
	}
	if (tpl_var(t, n, &kind, &name) != -1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[TPL_ERR_MAX], *raw, *json, *again;
	size_t rlen, jlen, alen;
	tpl_err re, je, ae;
	tpl *t = (tpl *)1;

	if (tpl_compile((const char *)data, size, &t, err) != TPL_OK) {
		if (t || !err[0] || !memchr(err, 0, sizeof err))
			abort();
		return 0;
	}
	check_vars(t);
	raw = render(t, TPL_ESC_NONE, &rlen, &re);
	json = render(t, TPL_ESC_JSON, &jlen, &je);
	again = render(t, TPL_ESC_NONE, &alen, &ae);
	if (ae != re || (raw && (alen != rlen || memcmp(raw, again, rlen))))
		abort();
	/* JSON may reach the output limit before the error raw met. */
	if (!raw && (json || (je != re && je != TPL_ERR_LIMIT)))
		abort();
	if (raw && !json && je != TPL_ERR_LIMIT)
		abort();
	if (raw && json && plain_source(data, size))
		check_json(json, jlen, raw, rlen);
	free(raw);
	free(json);
	free(again);
	tpl_free(t);
	return 0;
}
