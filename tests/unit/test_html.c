/*
 * test_html: unit tests for lib/html (the escaping of every text a page
 * shows, and the page buffer's limit).
 *
 * The hosted form puts back what a person typed, a form's title and its
 * consent texts; one unescaped character there is a script running on
 * the brand's page. Each of & < > " ' must come out as an entity, in
 * text and in attribute values alike, and a page past its limit must be
 * refused whole rather than cut inside a tag.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "lib/html.h"

static void test_escape_specials(void **state)
{
	char out[128];
	size_t n;

	(void)state;
	n = html_escape("<a href=\"x\">Tom & 'Jerry'</a>", out, sizeof out);
	assert_int_equal(n, strlen(out));
	assert_string_equal(out, "&lt;a href=&quot;x&quot;&gt;Tom &amp; "
				 "&#39;Jerry&#39;&lt;/a&gt;");
	html_escape("plain text, 100% fine", out, sizeof out);
	assert_string_equal(out, "plain text, 100% fine");
	html_escape("", out, sizeof out);
	assert_string_equal(out, "");
	html_escape(NULL, out, sizeof out);
	assert_string_equal(out, "");
}

static void test_escape_utf8_untouched(void **state)
{
	char out[64];

	(void)state;
	html_escape("ARR\xc3\x8aT \xe2\x9c\x93", out, sizeof out);
	assert_string_equal(out, "ARR\xc3\x8aT \xe2\x9c\x93");
}

/* A cut never leaves half an entity, and the length needed is told. */
static void test_escape_cut(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(html_escape("ab<cd", out, sizeof out), 8);
	assert_string_equal(out, "ab&lt;c");
	assert_int_equal(html_escape("abcde<x", out, sizeof out), 10);
	assert_string_equal(out, "abcde");
	assert_int_equal(html_escape("abcdefghij", out, sizeof out), 10);
	assert_string_equal(out, "abcdefg");
	assert_int_equal(html_escape("&", out, 5), 5);
	assert_string_equal(out, "");
	assert_int_equal(html_escape("&", out, 6), 5);
	assert_string_equal(out, "&amp;");
	assert_int_equal(html_escape("x", NULL, 0), 1);
}

static void test_page_text_and_raw(void **state)
{
	html *h = html_new(HTML_PAGE_MAX);

	(void)state;
	assert_non_null(h);
	html_raw(h, "<p title=\"");
	html_text(h, "\"><script>alert(1)</script>");
	html_raw(h, "\">");
	html_text(h, "a&b");
	html_raw(h, "</p>");
	assert_false(html_failed(h));
	assert_string_equal(html_str(h),
			    "<p title=\"&quot;&gt;&lt;script&gt;alert(1)"
			    "&lt;/script&gt;\">a&amp;b</p>");
	assert_int_equal(html_len(h), strlen(html_str(h)));
	html_text(h, NULL);
	html_raw(h, NULL);
	assert_false(html_failed(h));
	html_free(h);
	html_free(NULL);
}

/* Past the limit the page is refused whole, and stays refused. */
static void test_page_limit(void **state)
{
	html *h = html_new(10);

	(void)state;
	assert_non_null(h);
	html_raw(h, "0123456789");
	assert_false(html_failed(h));
	assert_string_equal(html_str(h), "0123456789");
	html_text(h, "<");
	assert_true(html_failed(h));
	assert_string_equal(html_str(h), "");
	assert_int_equal(html_len(h), 0);
	html_raw(h, "x");
	assert_true(html_failed(h));
	html_free(h);
}

/* Growth past the first chunk keeps every byte. */
static void test_page_grows(void **state)
{
	html *h = html_new(HTML_PAGE_MAX);
	size_t n = 0;

	(void)state;
	assert_non_null(h);
	for (int i = 0; i < 5000; i++) {
		html_text(h, "<&>");
		n += strlen("&lt;&amp;&gt;");
	}
	assert_false(html_failed(h));
	assert_int_equal(html_len(h), n);
	assert_memory_equal(html_str(h) + n - 13, "&lt;&amp;&gt;", 13);
	html_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_specials),
		cmocka_unit_test(test_escape_utf8_untouched),
		cmocka_unit_test(test_escape_cut),
		cmocka_unit_test(test_page_text_and_raw),
		cmocka_unit_test(test_page_limit),
		cmocka_unit_test(test_page_grows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
