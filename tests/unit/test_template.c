/*
 * test_template: unit tests for core/template, the Liquid subset of flow
 * steps.
 *
 * A template error costs a whole flow step for every user it reaches, and
 * a wrong escape puts a user's text into the structure of a webhook's
 * JSON body. So every variable, filter, branch rule and limit in
 * template.h has a case here, the JSON mode is checked with the values
 * that break JSON (quotes, backslashes, control characters), and each
 * parse error is checked for the line, the column and the words that
 * tell the author what to fix. Values come from a fixed table through
 * the lookup callback, as the flow runner will hand them over.
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

#include "core/template.h"

#define BIG_LEN (TPL_VALUE_MAX + 1)

static char big[BIG_LEN + 1]; /* 'x' repeated, one byte too many */
static char half[TPL_OUT_MAX / 2 + 1]; /* 'y' repeated */
static char pct[30001]; /* '%' repeated: url_encode triples it */

static const struct {
	tpl_var_kind kind;
	const char *name;
	const char *val; /* NULL: a boolean false */
} values[] = {
	{TPL_VAR_USER_ID, "user_id", "u-42"},
	{TPL_VAR_PHONE, "phone_number", "+15551234567"},
	{TPL_VAR_EMAIL, "email_address", "ann@example.com"},
	{TPL_VAR_FIRST_NAME, "first_name", "Ann"},
	{TPL_VAR_LAST_NAME, "last_name", "O'Neil"},
	{TPL_VAR_CUSTOM_ATTRIBUTE, "city", "S\xc3\xa3o Paulo"},
	{TPL_VAR_CUSTOM_ATTRIBUTE, "empty", ""},
	{TPL_VAR_CUSTOM_ATTRIBUTE, "padded", " \t hi there \n"},
	{TPL_VAR_CUSTOM_ATTRIBUTE, "quote", "say \"hi\" \\o/\n\x01\x1f"},
	{TPL_VAR_CUSTOM_ATTRIBUTE, "vip", NULL},
	{TPL_VAR_CUSTOM_ATTRIBUTE, "yes", "true"},
	{TPL_VAR_CUSTOM_ATTRIBUTE, "plan", "gold"},
	{TPL_VAR_CUSTOM_ATTRIBUTE, "Favourite colour (2024)", "teal"},
	{TPL_VAR_CUSTOM_ATTRIBUTE, "\xc3\xa2ge", "41"},            /* âge */
	{TPL_VAR_CUSTOM_ATTRIBUTE, "bad", "\xff\xfe"},
	{TPL_VAR_CUSTOM_ATTRIBUTE, "big", big},
	{TPL_VAR_CUSTOM_ATTRIBUTE, "half", half},
	{TPL_VAR_CUSTOM_ATTRIBUTE, "pct", pct},
	{TPL_VAR_ENTRY_PROPERTY, "phone_number", "+15550001111"},
	{TPL_VAR_ENTRY_PROPERTY, "plan", "gold"},
	{TPL_VAR_EVENT_PROPERTY, "source", "web form"},
	{TPL_VAR_EVENT_PROPERTY, "phone_number", "+15552223333"},
};

static tpl_found lookup(void *ctx, tpl_var_kind kind, const char *name,
			const char **val, size_t *len)
{
	int *calls = ctx;

	if (calls)
		++*calls;
	for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
		if (values[i].kind != kind || strcmp(values[i].name, name))
			continue;
		if (!values[i].val)
			return TPL_FALSE;
		*val = values[i].val;
		*len = strlen(values[i].val);
		return TPL_TEXT;
	}
	return TPL_ABSENT;
}

static tpl *compile_ok(const char *src)
{
	char err[TPL_ERR_MAX];
	tpl *t = NULL;

	if (tpl_compile(src, strlen(src), &t, err) != TPL_OK)
		fail_msg("refused: %s\n  template: %s", err, src);
	return t;
}

/* src renders to want with escaping esc. */
static void render_esc(const char *src, tpl_escape esc, const char *want)
{
	char err[TPL_ERR_MAX], *out = NULL;
	size_t len = 0;
	tpl *t = compile_ok(src);

	if (tpl_render(t, lookup, NULL, esc, &out, &len, err) != TPL_OK)
		fail_msg("render failed: %s\n  template: %s", err, src);
	assert_int_equal(len, strlen(out));
	if (strcmp(out, want) != 0)
		fail_msg("template: %s\n  got:  [%s]\n  want: [%s]", src, out,
			 want);
	free(out);
	tpl_free(t);
}

static void render(const char *src, const char *want)
{
	render_esc(src, TPL_ESC_NONE, want);
}

/* src does not compile: code, and a message holding both parts. */
static void compile_bad(const char *src, size_t len, tpl_err code,
			const char *where, const char *what)
{
	char err[TPL_ERR_MAX];
	tpl *t = (tpl *)1;
	tpl_err e = tpl_compile(src, len, &t, err);

	if (e != code)
		fail_msg("template: %.200s\n  got %s (%s), want %s", src,
			 tpl_strerror(e), err, tpl_strerror(code));
	assert_null(t);
	if ((where && !strstr(err, where)) || !strstr(err, what))
		fail_msg("template: %.200s\n  error \"%s\" lacks \"%s\" / "
			 "\"%s\"", src, err, where ? where : "", what);
}

static void bad(const char *src, const char *where, const char *what)
{
	compile_bad(src, strlen(src), TPL_ERR_PARSE, where, what);
}

/* src compiles but does not render: code, and a message with what. */
static void render_bad(const char *src, tpl_escape esc, tpl_err code,
		       const char *what)
{
	char err[TPL_ERR_MAX], *out = (char *)1;
	size_t len = 1;
	tpl *t = compile_ok(src);
	tpl_err e = tpl_render(t, lookup, NULL, esc, &out, &len, err);

	if (e != code)
		fail_msg("template: %.200s\n  got %s, want %s", src,
			 tpl_strerror(e), tpl_strerror(code));
	assert_null(out);
	assert_int_equal(len, 0);
	if (!strstr(err, what))
		fail_msg("error \"%s\" lacks \"%s\"", err, what);
	tpl_free(t);
}

/* head, part n times, then tail: the templates that test limits. */
static const char *repeat(char *buf, size_t cap, const char *head,
			  const char *part, int n, const char *tail)
{
	size_t k = (size_t)snprintf(buf, cap, "%s", head);

	while (n-- > 0)
		k += (size_t)snprintf(buf + k, cap - k, "%s", part);
	snprintf(buf + k, cap - k, "%s", tail);
	assert_true(k < cap);
	return buf;
}

/* ---- text and variables ---- */

static void test_plain_text(void **state)
{
	(void)state;
	render("", "");
	render("Hello", "Hello");
	render("a } b }} c %} d { e {x", "a } b }} c %} d { e {x");
	render("caf\xc3\xa9 \xf0\x9f\x98\x80\nline two",
	       "caf\xc3\xa9 \xf0\x9f\x98\x80\nline two");
	render("${first_name} outside a tag", "${first_name} outside a tag");
}

static void test_profile_fields(void **state)
{
	(void)state;
	render("{{${user_id}}}", "u-42");
	render("{{${phone_number}}}", "+15551234567");
	render("{{${email_address}}}", "ann@example.com");
	render("{{${first_name}}}", "Ann");
	render("{{${last_name}}}", "O'Neil");
	render("Hi {{${first_name}}} {{${last_name}}}!", "Hi Ann O'Neil!");
}

static void test_maps(void **state)
{
	(void)state;
	render("{{custom_attribute.${city}}}", "S\xc3\xa3o Paulo");
	render("{{canvas_entry_properties.${plan}}}", "gold");
	render("{{event_properties.${source}}}", "web form");
	/* The same name in each kind is a different value. */
	render("{{${phone_number}}} "
	       "{{canvas_entry_properties.${phone_number}}} "
	       "{{event_properties.${phone_number}}} "
	       "{{custom_attribute.${phone_number}}}.",
	       "+15551234567 +15550001111 +15552223333 .");
}

static void test_names(void **state)
{
	(void)state;
	/* Anything but '}' and control characters. */
	render("{{custom_attribute.${Favourite colour (2024)}}}", "teal");
	render("{{custom_attribute.${\xc3\xa2ge}}}", "41");
	render("{{ custom_attribute.${ city } }}", ""); /* spaces are name */
}

static void test_absent(void **state)
{
	(void)state;
	render("[{{custom_attribute.${nope}}}]", "[]");
	render("[{{canvas_entry_properties.${city}}}]", "[]");
	render("[{{event_properties.${plan}}}]", "[]");
	render("[{{custom_attribute.${empty}}}]", "[]");
}

static void test_whitespace_inside_tags(void **state)
{
	(void)state;
	render("{{   ${first_name}   }}", "Ann");
	render("{{\n${first_name}\t|\nupcase\n}}", "ANN");
	render("{{${first_name}|upcase|truncate:2,\"\"}}", "AN");
	/* Unicode spaces are blanks too, as in liquidjs. */
	render("{{\xc2\xa0${first_name}\xe3\x80\x80}}", "Ann");
}

static void test_literals(void **state)
{
	(void)state;
	render("{{ \"x\" }}{{ 'y' }}", "xy");
	render("{{ \"it's\" }} {{ 'say \"hi\"' }}", "it's say \"hi\"");
	render("{{ \"a}}b{%c\" }}", "a}}b{%c");
	render("{{ \"\" }}.", ".");
	render("{{ \"caf\xc3\xa9\" | upcase }}", "CAF\xc3\x89");
}

static void test_false_value(void **state)
{
	(void)state;
	render("{{custom_attribute.${vip}}}", "false");
	render("{% if custom_attribute.${vip} %}y{% else %}n{% endif %}", "n");
	render("{{custom_attribute.${vip} | upcase}}", "FALSE");
	render("{% if custom_attribute.${vip} == \"false\" %}t{% endif %}",
	       "t");
}

/* ---- filters ---- */

static void test_default(void **state)
{
	(void)state;
	render("{{ ${first_name} | default: \"there\" }}", "Ann");
	render("{{ custom_attribute.${nope} | default: \"there\" }}", "there");
	render("{{ custom_attribute.${empty} | default: 'x' }}", "x");
	render("{{ custom_attribute.${vip} | default: \"no\" }}", "no");
	render("{{ custom_attribute.${nope} | default: ${first_name} }}",
	       "Ann");
	render("{{ custom_attribute.${nope} | default: "
	       "custom_attribute.${alsonope} }}.", ".");
	/* After strip, white space alone is empty. */
	render("{{ \"   \" | strip | default: \"blank\" }}", "blank");
	/* A false that survives truncate is still false (liquidjs). */
	render("{{ custom_attribute.${vip} | truncate: 9 | default: \"d\" }}",
	       "d");
	render("{{ custom_attribute.${vip} | strip | default: \"d\" }}",
	       "false");
}

static void test_case(void **state)
{
	(void)state;
	render("{{ ${first_name} | upcase }} {{ ${first_name} | downcase }}",
	       "ANN ann");
	render("{{ custom_attribute.${city} | upcase }}", "S\xc3\x83O PAULO");
	/* Full case mapping: ß grows to SS, final sigma in lower case. */
	render("{{ \"stra\xc3\x9f" "e\" | upcase }}", "STRASSE");
	render("{{ \"\xce\x9f\xce\x94\xce\x9f\xce\xa3\" | downcase }}",
	       "\xce\xbf\xce\xb4\xce\xbf\xcf\x82");
	render("{{ \"\xef\xac\x83\" | upcase }}", "FFI"); /* ﬃ */
	render("{{ \"\xf0\x9f\x98\x80 ok\" | upcase }}", "\xf0\x9f\x98\x80 OK");
}

static void test_url_encode(void **state)
{
	(void)state;
	render("{{ \"a b&c=d/e?f\" | url_encode }}", "a+b%26c%3Dd%2Fe%3Ff");
	render("{{ \"AZaz09-._~\" | url_encode }}", "AZaz09-._~");
	/* Ruby's CGI.escape, as Braze: sub-delims are encoded. */
	render("{{ \"!*'()+%\" | url_encode }}", "%21%2A%27%28%29%2B%25");
	render("{{ custom_attribute.${city} | url_encode }}", "S%C3%A3o+Paulo");
	render("{{ \"\xf0\x9f\x98\x80\" | url_encode }}", "%F0%9F%98%80");
	render("{{ ${phone_number} | url_encode }}", "%2B15551234567");
}

static void test_strip(void **state)
{
	(void)state;
	render("[{{ custom_attribute.${padded} | strip }}]", "[hi there]");
	render("[{{ \"\xc2\xa0 x \xe3\x80\x80\xef\xbb\xbf\" | strip }}]",
	       "[x]");
	render("[{{ \" \t\n \" | strip }}]", "[]");
	render("[{{ \"a\" | strip }}]", "[a]");
}

static void test_truncate(void **state)
{
	(void)state;
	render("{{ \"abcdef\" | truncate: 6 }}", "abcdef");
	render("{{ \"abcdef\" | truncate: 7 }}", "abcdef");
	render("{{ \"abcdefg\" | truncate: 6 }}", "abc...");
	render("{{ \"abcdef\" | truncate: 5, \"!\" }}", "abcd!");
	render("{{ \"abcdef\" | truncate: 3, \"\" }}", "abc");
	/* Shorter than the ellipsis: the ellipsis alone. */
	render("{{ \"abcdef\" | truncate: 2 }}", "...");
	render("{{ \"abcdef\" | truncate: 0 }}", "...");
	render("{{ \"abcdef\" | truncate: -3 }}", "...");
	render("[{{ \"\" | truncate: -1 }}]", "[]");
	render("[{{ \"\" | truncate: 0 }}]", "[]");
}

static void test_truncate_unicode_and_default(void **state)
{
	char src[128], want[128];

	(void)state;
	/* Code points, not bytes. */
	render("{{ \"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\" | truncate: 4 }}",
	       "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
	render("{{ \"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\" | truncate: 4,"
	       " \"\xe2\x80\xa6\" }}", "\xc3\xa9\xc3\xa9\xc3\xa9\xe2\x80\xa6");
	render("{{ \"\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\" | "
	       "truncate: 2, \"\" }}", "\xf0\x9f\x98\x80\xf0\x9f\x98\x80");
	/* Liquid's default length is 50. */
	snprintf(src, sizeof src, "{{ \"%060d\" | truncate }}", 0);
	snprintf(want, sizeof want, "%047d...", 0);
	render(src, want);
	/* The ellipsis may be a variable. */
	render("{{ \"abcdef\" | truncate: 4, ${first_name} }}", "aAnn");
}

static void test_filter_chain(void **state)
{
	char src[1024];

	(void)state;
	render("{{ custom_attribute.${padded} | strip | upcase | truncate: 5 |"
	       " url_encode }}", "HI...");
	render("{{ custom_attribute.${nope} | default: \" Zed \" | strip |"
	       " downcase }}", "zed");
	render(repeat(src, sizeof src, "{{ \"a\"", " | upcase",
		      TPL_FILTERS_MAX, " }}"), "A");
	repeat(src, sizeof src, "{{ \"a\"", " | upcase", TPL_FILTERS_MAX + 1,
	       " }}");
	compile_bad(src, strlen(src), TPL_ERR_LIMIT, "column 152",
		    "more than 16 filters");
}

/* ---- conditions ---- */

static void test_if_presence(void **state)
{
	(void)state;
	render("{% if ${first_name} %}yes{% endif %}", "yes");
	render("{% if custom_attribute.${nope} %}yes{% endif %}.", ".");
	/* Unlike Liquid, "" is absent: presence means non-empty. */
	render("{% if custom_attribute.${empty} %}y{% else %}n{% endif %}",
	       "n");
	render("{% if \"x\" %}y{% endif %}{% if \"\" %}n{% endif %}", "y");
}

static void test_if_elsif_else(void **state)
{
	const char *src =
		"{% if custom_attribute.${plan} == \"silver\" %}S"
		"{% elsif custom_attribute.${plan} == \"gold\" %}G"
		"{% elsif ${first_name} %}F"
		"{% else %}E{% endif %}";

	(void)state;
	render(src, "G");
	render("{% if custom_attribute.${nope} %}a{% elsif custom_attribute."
	       "${empty} %}b{% else %}c{% endif %}", "c");
	render("{% if custom_attribute.${nope} %}a{% elsif ${user_id} %}b"
	       "{% endif %}", "b");
	render("{% if custom_attribute.${nope} %}a{% elsif custom_attribute."
	       "${empty} %}b{% endif %}.", ".");
	render("{% if ${user_id} %}{% else %}x{% endif %}.", ".");
}

static void test_if_nested(void **state)
{
	char src[2048];
	size_t k = 0;
	const char *nest = "{% if ${user_id} %}";

	(void)state;
	render("{% if ${first_name} %}A{% if custom_attribute.${nope} %}B"
	       "{% elsif custom_attribute.${plan} %}C{% if ${user_id} %}D"
	       "{% endif %}{% else %}E{% endif %}F{% else %}G{% endif %}",
	       "ACDF");
	render("{% if custom_attribute.${nope} %}{% if ${first_name} %}A"
	       "{% endif %}{% else %}{% if ${first_name} %}B{% else %}C"
	       "{% endif %}{% endif %}", "B");
	for (int i = 0; i < TPL_DEPTH_MAX; i++)
		k += (size_t)snprintf(src + k, sizeof src - k,
				      "{%% if ${user_id} %%}%d", i % 10);
	for (int i = 0; i < TPL_DEPTH_MAX; i++)
		k += (size_t)snprintf(src + k, sizeof src - k, "{%% endif %%}");
	render(src, "0123456789012345");
	repeat(src, sizeof src, "", nest, TPL_DEPTH_MAX + 1, "");
	compile_bad(src, strlen(src), TPL_ERR_LIMIT, "column 305",
		    "nested deeper than 16");
}

static void test_equality(void **state)
{
	(void)state;
	render("{% if ${first_name} == \"Ann\" %}y{% else %}n{% endif %}", "y");
	render("{% if ${first_name} == \"ann\" %}y{% else %}n{% endif %}", "n");
	render("{% if ${first_name} != \"Bob\" %}y{% else %}n{% endif %}", "y");
	render("{% if ${first_name} != 'Ann' %}y{% else %}n{% endif %}", "n");
	render("{% if \"gold\" == custom_attribute.${plan} %}y{% endif %}",
	       "y");
	render("{% if custom_attribute.${plan} == canvas_entry_properties."
	       "${plan} %}same{% endif %}", "same");
	render("{% if ${first_name} == ${last_name} %}s{% else %}d{% endif %}",
	       "d");
	/* Absent equals "", so authors can test for it either way. */
	render("{% if custom_attribute.${nope} == \"\" %}e{% endif %}", "e");
	render("{% if custom_attribute.${nope} == custom_attribute.${empty} %}"
	       "e{% endif %}", "e");
	render("{% if custom_attribute.${yes} == \"true\" %}t{% endif %}", "t");
}

static void test_and_or(void **state)
{
	(void)state;
	render("{% if ${first_name} and ${user_id} %}y{% endif %}", "y");
	render("{% if ${first_name} and custom_attribute.${nope} %}y"
	       "{% else %}n{% endif %}", "n");
	render("{% if custom_attribute.${nope} or ${user_id} %}y{% endif %}",
	       "y");
	render("{% if custom_attribute.${nope} or custom_attribute.${empty} %}"
	       "y{% else %}n{% endif %}", "n");
	render("{% if ${first_name} == \"Ann\" and custom_attribute.${plan} "
	       "!= \"silver\" %}y{% endif %}", "y");
	/* Grouped from the right: false and (false or true) is false, where
	 * (false and false) or true would be true. */
	render("{% if custom_attribute.${nope} and custom_attribute.${empty} "
	       "or ${user_id} %}y{% else %}n{% endif %}", "n");
	/* true or (false and false) is true. */
	render("{% if ${user_id} or custom_attribute.${nope} and "
	       "custom_attribute.${empty} %}y{% else %}n{% endif %}", "y");
	/* "and" inside a name or literal is no operator. */
	render("{% if \"sand\" == \"sand\"and\"or\"%}y{% endif %}", "y");
}

static void test_condition_limit(void **state)
{
	char src[1024];

	(void)state;
	render(repeat(src, sizeof src, "{% if ${user_id}", " and ${user_id}",
		      TPL_COND_MAX - 1, " %}y{% endif %}"), "y");
	repeat(src, sizeof src, "{% if ${user_id}", " or ${user_id}",
	       TPL_COND_MAX, " %}y{% endif %}");
	compile_bad(src, strlen(src), TPL_ERR_LIMIT, "column 231",
		    "more than 16 comparisons");
}

static void test_whitespace_control(void **state)
{
	(void)state;
	render("a  \n {{- \"x\" -}} \n  b", "axb");
	render("a {{- \"x\" }} b", "ax b");
	render("a {{ \"x\" -}} b", "a xb");
	render("<ul>\n  {%- if ${first_name} -%}\n  <li>{{ ${first_name} }}"
	       "</li>\n  {%- endif -%}\n</ul>", "<ul><li>Ann</li></ul>");
	render("x\xe3\x80\x80 {{- \"y\" }}", "xy");
	render("{{- \"y\" -}}", "y");
}

/* ---- escaping ---- */

static void test_json_escaping(void **state)
{
	(void)state;
	render_esc("{\"text\": \"{{custom_attribute.${quote}}}\"}",
		   TPL_ESC_JSON,
		   "{\"text\": \"say \\\"hi\\\" \\\\o/\\n\\u0001\\u001f\"}");
	/* Without escaping the value is as it is. */
	render_esc("{{custom_attribute.${quote}}}", TPL_ESC_NONE,
		   "say \"hi\" \\o/\n\x01\x1f");
	/* Non-ASCII is valid in JSON strings and stays. */
	render_esc("\"{{custom_attribute.${city}}}\"", TPL_ESC_JSON,
		   "\"S\xc3\xa3o Paulo\"");
	/* Literal template text is never escaped; literals in tags are
	 * values. */
	render_esc("{\"a\": \"\\\\\n\", \"b\": \"{{ 'x\"y' }}\"}",
		   TPL_ESC_JSON, "{\"a\": \"\\\\\n\", \"b\": \"x\\\"y\"}");
	render_esc("{{ \"\t\r\b\f\" }}", TPL_ESC_JSON, "\\t\\r\\b\\f");
	render_esc("{{ custom_attribute.${vip} }}", TPL_ESC_JSON, "false");
}

static void test_json_escaping_after_filters(void **state)
{
	(void)state;
	render_esc("{\"u\": \"{{ ${last_name} | upcase }}\", \"q\": \"{{ "
		   "custom_attribute.${quote} | truncate: 8, '\"' }}\"}",
		   TPL_ESC_JSON,
		   "{\"u\": \"O'NEIL\", \"q\": \"say \\\"hi\\\"\"}");
	render_esc("{{ custom_attribute.${nope} | default: '\"' }}",
		   TPL_ESC_JSON, "\\\"");
}

/* ---- parse errors ---- */

static void test_unclosed(void **state)
{
	(void)state;
	bad("Hi {{ ${first_name}", "line 1, column 4", "'{{' is not closed");
	bad("Hi\n  {{ ${first_name} | upcase", "line 2, column 3",
	    "'{{' is not closed");
	bad("x {% if ${first_name}", "line 1, column 3", "'{%' is not closed");
	bad("{{", "line 1, column 1", "'{{' is not closed");
	bad("{%", "line 1, column 1", "'{%' is not closed");
	bad("{% if ${user_id} %}a\n{% if ${user_id} %}b{% endif %}",
	    "line 1, column 1", "if is not closed by endif");
	bad("{{ \"abc }}", "line 1, column 4", "string literal is not closed");
	bad("{{ ${first_name", "line 1, column 4", "'${' is not closed");
	bad("{{ ${first_name }}", "line 1, column 4",
	    "unknown variable ${first_name }");
}

static void test_stray_tags(void **state)
{
	(void)state;
	bad("a{% endif %}", "line 1, column 2", "'endif' without an open if");
	bad("{% else %}", "line 1, column 1", "'else' without an open if");
	bad("{% elsif ${user_id} %}", "column 1", "'elsif' without an open if");
	bad("{% if ${user_id} %}{% else %}{% else %}{% endif %}", "column 30",
	    "'else' after else");
	bad("{% if ${user_id} %}{% else %}{% elsif ${user_id} %}{% endif %}",
	    "column 30", "'elsif' after else");
	bad("{% for x in y %}{% endfor %}", "column 4", "unknown tag 'for'");
	bad("{% assign x = 1 %}", "column 4", "unknown tag 'assign'");
	bad("{% %}", "column 4", "expected a tag name");
	bad("{% if %}{% endif %}", "column 7", "expected a condition");
	bad("{% endif extra %}", "column 1", "without an open if");
	bad("{% if ${user_id} %}{% else if %}{% endif %}", "column 28",
	    "unexpected 'i' (expected '%}')");
}

static void test_bad_variables(void **state)
{
	(void)state;
	bad("{{ first_name }}", "column 4", "unknown variable 'first_name'");
	bad("{{ ${firstname} }}", "column 4", "unknown variable ${firstname}");
	bad("{{ ${braze_id} }}", "column 4", "unknown variable ${braze_id}");
	bad("{{ custom_attribute.city }}", "column 20",
	    "expected .${NAME} after custom_attribute");
	bad("{{ custom_attribute ${city} }}", "column 20",
	    "expected .${NAME}");
	bad("{{ custom_attribute.${} }}", "column 21", "empty variable name");
	bad("{{ custom_attribute.${a\tb} }}", "column 24",
	    "control character in a variable name");
	bad("{{ }}", "column 1", "empty output tag");
	bad("{{ | upcase }}", "column 4", "expected a variable or a string");
	bad("{{ 42 }}", "column 4", "unknown variable '42'");
	bad("{{ ${first_name} ${last_name} }}", "column 18",
	    "unexpected '$' (expected '|' or '}}')");
	bad("{{ \"a\\\"b\" }}", "column 6", "backslash in a string literal");
}

static void test_name_limit(void **state)
{
	char src[TPL_NAME_MAX + 64];

	(void)state;
	snprintf(src, sizeof src, "{{custom_attribute.${%0*d}}}", TPL_NAME_MAX,
		 0);
	tpl_free(compile_ok(src));
	snprintf(src, sizeof src, "{{custom_attribute.${%0*d}}}",
		 TPL_NAME_MAX + 1, 0);
	compile_bad(src, strlen(src), TPL_ERR_LIMIT, "column 20",
		    "longer than 255 bytes");
}

static void test_bad_filters(void **state)
{
	(void)state;
	bad("x {{ ${first_name} | upcas }}", "line 1, column 22",
	    "unknown filter 'upcas'");
	bad("{{ ${first_name} | capitalize }}", "column 20",
	    "unknown filter 'capitalize'");
	bad("{{ ${first_name} | }}", "column 20", "expected a filter name");
	bad("{{ ${first_name} | upcase: 1 }}", "column 20",
	    "upcase takes no arguments");
	bad("{{ ${first_name} | default }}", "column 20",
	    "default needs a value");
	bad("{{ ${first_name} | default: \"a\", \"b\" }}", "column 34",
	    "default takes at most 1 argument");
	bad("{{ ${first_name} | truncate: 2, \"a\", \"b\" }}", "column 38",
	    "truncate takes at most 2 arguments");
	bad("{{ ${first_name} | truncate: 2.5 }}", "column 30",
	    "whole number");
	bad("{{ ${first_name} | truncate: \"3\" }}", "column 30",
	    "whole number");
	bad("{{ ${first_name} | truncate: ${user_id} }}", "column 30",
	    "whole number");
	compile_bad("{{ \"a\" | truncate: -1000001 }}", 30, TPL_ERR_LIMIT,
		    "column 20", "past 1000000");
}

static void test_bad_operators(void **state)
{
	(void)state;
	bad("{% if ${first_name} > \"a\" %}{% endif %}", "column 21",
	    "operator '>' is not supported");
	bad("{% if ${first_name} contains \"a\" %}{% endif %}", "column 21",
	    "operator 'contains' is not supported");
	bad("{% if ${first_name} = \"a\" %}{% endif %}", "column 21",
	    "operator '=' is not supported");
	bad("{% if ${first_name} == %}{% endif %}", "column 24",
	    "expected a variable or a string literal");
	bad("{% if ${first_name} and %}{% endif %}", "column 25",
	    "expected a variable or a string literal");
	bad("{% if ${first_name} == 3 %}{% endif %}", "column 24",
	    "unknown variable '3'");
}

static void test_position_counts_characters(void **state)
{
	(void)state;
	/* Columns count characters, not bytes, so editors agree. */
	bad("\xc3\xa9\xc3\xa9 {{ x }}", "line 1, column 7", "unknown variable");
	bad("one\ntwo\n\xf0\x9f\x98\x80{{ x }}", "line 3, column 5",
	    "unknown variable 'x'");
}

static void test_bad_utf8(void **state)
{
	(void)state;
	compile_bad("ab\xff", 3, TPL_ERR_UTF8, "line 1, column 3", "not UTF-8");
	compile_bad("a\nb\xc0\xaf", 5, TPL_ERR_UTF8, "line 2, column 2",
		    "not UTF-8");                       /* overlong '/' */
	compile_bad("\xed\xa0\x80", 3, TPL_ERR_UTF8, "column 1",
		    "not UTF-8");                       /* a surrogate */
	compile_bad("a\0b", 3, TPL_ERR_UTF8, "column 2", "NUL byte");
	compile_bad("{{ custom_attribute.${\xe2\x82} }}", 28, TPL_ERR_UTF8,
		    "column 23", "not UTF-8");
}

/* ---- limits ---- */

static void test_source_limit(void **state)
{
	char *src = malloc(TPL_SRC_MAX + 1);
	char *out = NULL, err[TPL_ERR_MAX];
	size_t len;
	tpl *t = NULL;

	(void)state;
	assert_non_null(src);
	memset(src, 'a', TPL_SRC_MAX + 1);
	assert_int_equal(tpl_compile(src, TPL_SRC_MAX, &t, err), TPL_OK);
	assert_int_equal(tpl_render(t, lookup, NULL, TPL_ESC_NONE, &out, &len,
				    err), TPL_OK);
	assert_int_equal(len, TPL_SRC_MAX);
	free(out);
	tpl_free(t);
	compile_bad(src, TPL_SRC_MAX + 1, TPL_ERR_LIMIT, NULL,
		    "longer than 65536 bytes");
	free(src);
}

static void test_output_limit(void **state)
{
	(void)state;
	/* Two halves fill the output exactly; one byte more is an error,
	 * never a silent cut. */
	render_bad("{{custom_attribute.${half}}}{{custom_attribute.${half}}}!",
		   TPL_ESC_NONE, TPL_ERR_LIMIT, "output longer than 65536");
	render_bad("\"{{custom_attribute.${half}}}{{custom_attribute.${half}}}"
		   , TPL_ESC_NONE, TPL_ERR_LIMIT, "output");
	/* Escaping counts: 65535 bytes, but 65537 once quotes double. */
	render_bad("{% if ${user_id} %}{{custom_attribute.${half}}}"
		   "{{custom_attribute.${half} | truncate: 32767, '\"\"'}}"
		   "{% endif %}", TPL_ESC_JSON, TPL_ERR_LIMIT, "output");
}

static void test_output_exactly_full(void **state)
{
	char err[TPL_ERR_MAX], *out = NULL;
	size_t len = 0;
	tpl *t = compile_ok("{{custom_attribute.${half}}}"
			    "{{custom_attribute.${half}}}");

	(void)state;
	assert_int_equal(tpl_render(t, lookup, NULL, TPL_ESC_JSON, &out, &len,
				    err), TPL_OK);
	assert_int_equal(len, TPL_OUT_MAX);
	assert_int_equal(out[len], '\0');
	free(out);
	tpl_free(t);
}

static void test_value_limits(void **state)
{
	(void)state;
	render_bad("{{custom_attribute.${big}}}", TPL_ESC_NONE, TPL_ERR_LIMIT,
		   "custom_attribute big: value longer than 65536 bytes");
	/* Even when a filter would make it short again. */
	render_bad("{{custom_attribute.${big} | truncate: 3}}", TPL_ESC_NONE,
		   TPL_ERR_LIMIT, "value longer");
	/* A filter that grows a value past the limit. */
	render_bad("{{custom_attribute.${pct} | url_encode}}",
		   TPL_ESC_NONE, TPL_ERR_LIMIT, "filtered value longer");
	render_bad("{{custom_attribute.${bad}}}", TPL_ESC_NONE, TPL_ERR_UTF8,
		   "custom_attribute bad: value is not UTF-8");
	/* Not read, not checked: only values a render uses count. */
	render("{% if custom_attribute.${nope} %}{{custom_attribute.${bad}}}"
	       "{% endif %}ok", "ok");
}

static void test_work_limit(void **state)
{
	char *src = malloc(TPL_SRC_MAX);
	size_t k = 0;

	(void)state;
	assert_non_null(src);
	/* 16 filters over a 32 KiB value, again and again: too much work
	 * for one message even though the output stays small. */
	while (k + 200 < TPL_SRC_MAX)
		k += (size_t)snprintf(src + k, TPL_SRC_MAX - k,
				      "{{custom_attribute.${half} | strip | "
				      "strip | strip | strip | strip | strip | "
				      "truncate: 0, \"\"}}");
	render_bad(src, TPL_ESC_NONE, TPL_ERR_LIMIT, "reads more than");
	free(src);
}

/* ---- the API ---- */

static void test_vars_listed(void **state)
{
	tpl *t = compile_ok(
		"{{${first_name}}} {{custom_attribute.${city}}} "
		"{% if event_properties.${source} == ${first_name} %}"
		"{{custom_attribute.${city} | default: "
		"canvas_entry_properties.${city}}}{% endif %}"
		"{{ 'literal' }}{{ ${first_name} }}");
	tpl_var_kind kind;
	const char *name;

	(void)state;
	assert_int_equal(tpl_var_count(t), 4);
	assert_int_equal(tpl_var(t, 0, &kind, &name), 0);
	assert_int_equal(kind, TPL_VAR_FIRST_NAME);
	assert_string_equal(name, "first_name");
	assert_int_equal(tpl_var(t, 1, &kind, &name), 0);
	assert_int_equal(kind, TPL_VAR_CUSTOM_ATTRIBUTE);
	assert_string_equal(name, "city");
	assert_int_equal(tpl_var(t, 2, &kind, &name), 0);
	assert_int_equal(kind, TPL_VAR_EVENT_PROPERTY);
	assert_string_equal(name, "source");
	assert_int_equal(tpl_var(t, 3, &kind, &name), 0);
	assert_int_equal(kind, TPL_VAR_ENTRY_PROPERTY);
	assert_string_equal(name, "city");
	assert_int_equal(tpl_var(t, 4, &kind, &name), -1);
	tpl_free(t);
	t = compile_ok("no variables");
	assert_int_equal(tpl_var_count(t), 0);
	tpl_free(t);
}

static void test_lookup_calls(void **state)
{
	char err[TPL_ERR_MAX], *out = NULL;
	size_t len;
	int calls = 0;
	tpl *t = compile_ok("{% if custom_attribute.${nope} %}{{${user_id}}}"
			    "{% else %}{{${first_name}}}{% endif %}");

	(void)state;
	/* Only the branch taken is looked up. */
	assert_int_equal(tpl_render(t, lookup, &calls, TPL_ESC_NONE, &out,
				    &len, err), TPL_OK);
	assert_string_equal(out, "Ann");
	assert_int_equal(calls, 2);
	free(out);
	tpl_free(t);
}

static void test_args(void **state)
{
	char err[TPL_ERR_MAX], *out = (char *)1;
	size_t len = 1;
	tpl *t = (tpl *)1;

	(void)state;
	assert_int_equal(tpl_compile("x", 1, NULL, err), TPL_ERR_ARG);
	assert_int_equal(tpl_compile(NULL, 1, &t, err), TPL_ERR_ARG);
	assert_int_equal(tpl_compile(NULL, 0, &t, NULL), TPL_OK);
	assert_int_equal(tpl_render(t, NULL, NULL, TPL_ESC_NONE, &out, &len,
				    err), TPL_ERR_ARG);
	assert_null(out);
	assert_int_equal(len, 0);
	assert_int_equal(tpl_render(NULL, lookup, NULL, TPL_ESC_NONE, &out,
				    &len, NULL), TPL_ERR_ARG);
	assert_int_equal(tpl_render(t, lookup, NULL, TPL_ESC_NONE, &out, &len,
				    NULL), TPL_OK);
	assert_string_equal(out, "");
	free(out);
	tpl_free(t);
	tpl_free(NULL);
	/* No err buffer: errors still come back as codes. */
	assert_int_equal(tpl_compile("{{", 2, &t, NULL), TPL_ERR_PARSE);
	assert_int_equal(tpl_var_count(NULL), 0);
}

static void test_names_and_strerror(void **state)
{
	(void)state;
	assert_string_equal(tpl_var_kind_name(TPL_VAR_USER_ID), "user_id");
	assert_string_equal(tpl_var_kind_name(TPL_VAR_ENTRY_PROPERTY),
			    "canvas_entry_properties");
	assert_string_equal(tpl_var_kind_name(TPL_VAR__COUNT), "?");
	for (int e = 0; e < TPL_ERR__COUNT; e++)
		assert_true(strlen(tpl_strerror((tpl_err)e)) > 0);
	assert_string_equal(tpl_strerror(TPL_OK), "success");
	assert_string_equal(tpl_strerror(TPL_ERR__COUNT), "unknown error");
}

#define THREADS 4

static void *render_many(void *arg)
{
	const tpl *t = arg;
	long bad = 0;

	for (int i = 0; i < 2000; i++) {
		char *out = NULL;
		size_t len;

		if (tpl_render(t, lookup, NULL, i & 1 ? TPL_ESC_JSON :
			       TPL_ESC_NONE, &out, &len, NULL) != TPL_OK ||
		    strcmp(out, i & 1 ? "ANN \\\"hi\\\"" : "ANN \"hi\"") != 0)
			bad++;
		free(out);
	}
	return (void *)bad;
}

/* One compiled template, rendered from several threads at once. */
static void test_threads(void **state)
{
	pthread_t th[THREADS];
	tpl *t = compile_ok("{{ ${first_name} | upcase }} "
			    "{{ custom_attribute.${quote} | truncate: 8, '' |"
			    " strip | downcase | url_encode | default: 'x' |"
			    " truncate: 0, '\"hi\"' }}");

	(void)state;
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, render_many, t),
				 0);
	for (int i = 0; i < THREADS; i++) {
		void *bad;

		assert_int_equal(pthread_join(th[i], &bad), 0);
		assert_int_equal((long)bad, 0);
	}
	tpl_free(t);
}

int main(void)
{
	memset(big, 'x', BIG_LEN);
	memset(half, 'y', sizeof half - 1);
	memset(pct, '%', sizeof pct - 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_text),
		cmocka_unit_test(test_profile_fields),
		cmocka_unit_test(test_maps),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_absent),
		cmocka_unit_test(test_whitespace_inside_tags),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_false_value),
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_case),
		cmocka_unit_test(test_url_encode),
		cmocka_unit_test(test_strip),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_truncate_unicode_and_default),
		cmocka_unit_test(test_filter_chain),
		cmocka_unit_test(test_if_presence),
		cmocka_unit_test(test_if_elsif_else),
		cmocka_unit_test(test_if_nested),
		cmocka_unit_test(test_equality),
		cmocka_unit_test(test_and_or),
		cmocka_unit_test(test_condition_limit),
		cmocka_unit_test(test_whitespace_control),
		cmocka_unit_test(test_json_escaping),
		cmocka_unit_test(test_json_escaping_after_filters),
		cmocka_unit_test(test_unclosed),
		cmocka_unit_test(test_stray_tags),
		cmocka_unit_test(test_bad_variables),
		cmocka_unit_test(test_name_limit),
		cmocka_unit_test(test_bad_filters),
		cmocka_unit_test(test_bad_operators),
		cmocka_unit_test(test_position_counts_characters),
		cmocka_unit_test(test_bad_utf8),
		cmocka_unit_test(test_source_limit),
		cmocka_unit_test(test_output_limit),
		cmocka_unit_test(test_output_exactly_full),
		cmocka_unit_test(test_value_limits),
		cmocka_unit_test(test_work_limit),
		cmocka_unit_test(test_vars_listed),
		cmocka_unit_test(test_lookup_calls),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_names_and_strerror),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
