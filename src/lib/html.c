/* html: see html.h. */
#include "lib/html.h"

#include <stdlib.h>
#include <string.h>

#define HTML_CHUNK 4096 /* bytes the buffer grows by, at least */

struct html {
	char *buf;
	size_t len, cap, max;
	int failed;
};

static const char *entity(char c)
{
	switch (c) {
	case '&': return "&amp;";
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '"': return "&quot;";
	case '\'': return "&#39;";
	}
	return NULL;
}

size_t html_escape(const char *in, char *out, size_t cap)
{
	size_t need = 0, used = 0, w;
	int full = cap == 0;
	char one[2] = {0, 0};
	const char *e;

	for (; in && *in; in++) {
		if (!(e = entity(*in))) {
			one[0] = *in;
			e = one;
		}
		w = strlen(e);
		/* Once one piece does not fit, no later one is written. */
		if (!full && used + w < cap) {
			memcpy(out + used, e, w);
			used += w;
		} else {
			full = 1;
		}
		need += w;
	}
	if (cap)
		out[used] = '\0';
	return need;
}

html *html_new(size_t max)
{
	html *h = calloc(1, sizeof *h);

	if (!h)
		return NULL;
	h->max = max;
	h->cap = HTML_CHUNK < max + 1 ? HTML_CHUNK : max + 1;
	h->buf = malloc(h->cap);
	if (!h->buf) {
		free(h);
		return NULL;
	}
	h->buf[0] = '\0';
	return h;
}

void html_free(html *h)
{
	if (!h)
		return;
	free(h->buf);
	free(h);
}

/* Room for n more bytes and the NUL; 0 when there is. */
static int reserve(html *h, size_t n)
{
	size_t want;
	char *grown;

	if (h->failed)
		return -1;
	if (n > h->max - h->len) {
		h->failed = 1;
		return -1;
	}
	if (h->len + n + 1 <= h->cap)
		return 0;
	want = h->cap * 2 > h->len + n + 1 ? h->cap * 2 : h->len + n + 1;
	if (want > h->max + 1)
		want = h->max + 1;
	grown = realloc(h->buf, want);
	if (!grown) {
		h->failed = 1;
		return -1;
	}
	h->buf = grown;
	h->cap = want;
	return 0;
}

static void append(html *h, const char *s, size_t n)
{
	if (reserve(h, n))
		return;
	memcpy(h->buf + h->len, s, n);
	h->len += n;
	h->buf[h->len] = '\0';
}

void html_raw(html *h, const char *markup)
{
	if (markup)
		append(h, markup, strlen(markup));
}

void html_text(html *h, const char *text)
{
	const char *run = text, *e;

	for (const char *p = text; p && *p; p++) {
		if (!(e = entity(*p)))
			continue;
		append(h, run, (size_t)(p - run));
		append(h, e, strlen(e));
		run = p + 1;
	}
	if (run)
		append(h, run, strlen(run));
}

const char *html_str(const html *h) { return h->failed ? "" : h->buf; }
size_t html_len(const html *h) { return h->failed ? 0 : h->len; }
int html_failed(const html *h) { return h->failed; }

char *html_take(html *h)
{
	char *page = h && !h->failed ? h->buf : NULL;

	if (h && page)
		h->buf = NULL;
	html_free(h);
	return page;
}
