/*
 * fuzz_formpost: libFuzzer target for core/form (what a submission of the
 * hosted form means, and its token) and api/formpage (the page that shows
 * it back, where every typed byte must stay text).
 *
 * The input is a list of fields, one per line, "name=value" (split at the
 * first '='; bytes as they come, as after the form's decoding). They are
 * read by form_post_read() against a form with an SMS box ("promos") and
 * an e-mail box ("news"), region "US", and the page is rendered with the
 * result. Invariants, checked with abort():
 *  - every string of the result is NUL-terminated within its buffer, and
 *    what was typed is UTF-8;
 *  - n_errors counts the non-empty messages, n_ticked the ticked boxes;
 *  - a phone taken is E.164, an e-mail taken passes ident's check;
 *  - no errors means a box is ticked and each ticked box has its contact;
 *  - the page renders, and each '<' in it opens a tag this target knows
 *    (a typed "<script>" can only come out as text);
 *  - a token the input sent is refused unless it is the one made for the
 *    same form, cookie and time, which is accepted.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/formpage.h"
#include "core/form.h"
#include "lib/utf8.h"

#define FUZZ_FIELDS_MAX 64
#define FUZZ_NOW_MS 1800000000000LL

static const char *const tags[] = {
	"!doctype", "html", "/", "head", "meta", "title", "style", "body",
	"main", "h1", "h2", "p ", "p>", "form", "input", "div", "label",
	"fieldset", "legend", "button", "ul", "li", "strong", NULL,
};

static void check_str(const char *s, size_t cap)
{
	if (!memchr(s, '\0', cap))
		abort();
}

static void check_page(const char *page)
{
	if (!page)
		abort();
	for (const char *p = strchr(page, '<'); p; p = strchr(p + 1, '<')) {
		size_t i = 0;
		while (tags[i] && strncmp(p + 1, tags[i], strlen(tags[i])))
			i++;
		if (!tags[i])
			abort();
	}
}

static void check_post(const form_post *p, const form_box *boxes)
{
	int errs, sms = 0, email = 0;
	size_t ticked = 0;

	check_str(p->phone_typed, sizeof p->phone_typed);
	check_str(p->email_typed, sizeof p->email_typed);
	check_str(p->token, sizeof p->token);
	if (!utf8_valid(p->phone_typed, strlen(p->phone_typed)) ||
	    !utf8_valid(p->email_typed, strlen(p->email_typed)))
		abort();
	errs = !!p->phone_err[0] + !!p->email_err[0] + !!p->boxes_err[0];
	if (errs != p->n_errors)
		abort();
	for (size_t i = 0; i < 2; i++) {
		ticked += p->ticked[i];
		sms |= p->ticked[i] && boxes[i].channel == CHANNEL_SMS;
		email |= p->ticked[i] && boxes[i].channel == CHANNEL_EMAIL;
	}
	if (ticked != p->n_ticked)
		abort();
	if (p->has_phone && (p->phone.e164[0] != '+' ||
			     strlen(p->phone.e164) > PHONE_E164_MAX))
		abort();
	if (p->has_email && ident_check_email(p->email))
		abort();
	if (!p->n_errors && (!ticked || (sms && !p->has_phone) ||
			     (email && !p->has_email)))
		abort();
}

static void check_token(const form_post *p)
{
	const char *secret = "fuzz-secret", *nonce =
		"0123456789abcdef0123456789abcdef";
	char made[FORM_TOKEN_MAX + 1];
	int ok = form_token_check(secret, "join", nonce, p->token,
				  FUZZ_NOW_MS);

	if (form_token_make(secret, "join", nonce, FUZZ_NOW_MS, made))
		abort();
	if (ok == 0 && strcmp(made, p->token) != 0)
		abort(); /* a token optd did not make, accepted */
	if (form_token_check(secret, "join", nonce, made, FUZZ_NOW_MS) ||
	    !form_token_check(secret, "other", nonce, made, FUZZ_NOW_MS))
		abort();
}

static void render(const form_post *p, const form_box *boxes)
{
	static signup_form f;
	fpage_args a = {&f, p, p->token, "Please correct the fields."};
	signup_job j;
	char *page;

	memset(&f, 0, sizeof f);
	memset(&j, 0, sizeof j);
	strcpy(f.f.title, "Join <us>");
	f.f.n_groups = 2;
	for (size_t i = 0; i < 2; i++) {
		strcpy(f.box[i].group_id, boxes[i].group_id);
		strcpy(f.box[i].name, "Group & <name>");
		strcpy(f.box[i].text, "Text \"with\" <b>markup</b>");
		f.box[i].channel = boxes[i].channel;
	}
	page = fpage_form(&a);
	check_page(page);
	free(page);
	j.doi[0] = 1;
	page = fpage_done(&f, p, &j);
	check_page(page);
	free(page);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const form_box boxes[2] = {{"promos", CHANNEL_SMS},
					  {"news", CHANNEL_EMAIL}};
	const char *name[FUZZ_FIELDS_MAX], *value[FUZZ_FIELDS_MAX];
	char *buf = malloc(size + 1), *line, *eq;
	size_t n = 0;
	form_post p;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (line = buf; line && n < FUZZ_FIELDS_MAX; n++) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		eq = strchr(line, '=');
		if (eq)
			*eq++ = '\0';
		name[n] = line;
		value[n] = eq ? eq : "";
		line = next;
	}
	form_post_read(&p, name, value, n, boxes, 2, "US");
	check_post(&p, boxes);
	check_token(&p);
	render(&p, boxes);
	free(buf);
	return 0;
}
