/* formpage: see formpage.h. */
#include "api/formpage.h"
#include "lib/html.h"

#include <stdio.h>
#include <string.h>

/* Simple, high-contrast, one column; large targets for a thumb, and a
 * focus ring anyone can see. */
#define FPAGE_CSS \
	"body{margin:0;background:#eef1f5;color:#1b1f24;" \
	"font:1.05rem/1.5 system-ui,-apple-system,'Segoe UI',sans-serif}" \
	"main{max-width:34rem;margin:0 auto;background:#fff;" \
	"padding:1.5rem 1.25rem 2rem;min-height:100vh;box-sizing:border-box}" \
	"@media(min-width:40rem){main{margin:2rem auto;min-height:0;" \
	"border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15)}}" \
	"h1{font-size:1.6rem;line-height:1.25;margin:0 0 1rem}" \
	".field{margin:0 0 1.1rem}" \
	".field label,legend{display:block;font-weight:600;margin:0 0 .3rem}" \
	"input[type=tel],input[type=email]{display:block;width:100%;" \
	"box-sizing:border-box;font:inherit;padding:.6rem .7rem;" \
	"border:1px solid #6b7280;border-radius:6px}" \
	"input[aria-invalid=true]{border:2px solid #b3261e}" \
	"fieldset{border:0;margin:0 0 1.2rem;padding:0}" \
	".box{display:flex;gap:.7rem;align-items:flex-start;margin:.7rem 0}" \
	".box input{flex:none;width:1.35rem;height:1.35rem;margin:.15rem 0 0}" \
	".box label{font-size:.95rem}" \
	".error{color:#b3261e;font-weight:600;margin:.35rem 0 0}" \
	".notice{border-left:4px solid #b3261e;background:#fdecea;" \
	"padding:.6rem .8rem;margin:0 0 1rem}" \
	"button{font:inherit;font-weight:600;color:#fff;background:#1d4ed8;" \
	"border:0;border-radius:6px;padding:.7rem 1.6rem;cursor:pointer}" \
	"button:hover{background:#1e40af}" \
	":focus-visible{outline:3px solid #f59e0b;outline-offset:2px}" \
	"a{color:#1d4ed8}"

static void head(html *h, const char *title)
{
	html_raw(h, "<!doctype html>\n<html lang=\"en\">\n<head>\n"
		    "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
		    "content=\"width=device-width, initial-scale=1\">\n"
		    "<title>");
	html_text(h, title);
	html_raw(h, "</title>\n<style>" FPAGE_CSS "</style>\n</head>\n"
		    "<body>\n<main>\n<h1>");
	html_text(h, title);
	html_raw(h, "</h1>\n");
}

static char *finish(html *h)
{
	html_raw(h, "</main>\n</body>\n</html>\n");
	return html_take(h);
}

/* A text input with its label, the value typed and its mistake. */
static void text_field(html *h, const char *name, const char *type,
		       const char *label, const char *extra,
		       const char *value, const char *err)
{
	html_raw(h, "<div class=\"field\">\n<label for=\"");
	html_raw(h, name);
	html_raw(h, "\">");
	html_text(h, label);
	html_raw(h, "</label>\n<input id=\"");
	html_raw(h, name);
	html_raw(h, "\" name=\"");
	html_raw(h, name);
	html_raw(h, "\" type=\"");
	html_raw(h, type);
	html_raw(h, "\" ");
	html_raw(h, extra);
	html_raw(h, " value=\"");
	html_text(h, value);
	html_raw(h, "\"");
	if (err[0]) {
		html_raw(h, " aria-invalid=\"true\" aria-describedby=\"");
		html_raw(h, name);
		html_raw(h, "-error\">\n<p class=\"error\" id=\"");
		html_raw(h, name);
		html_raw(h, "-error\">");
		html_text(h, err);
		html_raw(h, "</p>\n");
	} else {
		html_raw(h, ">\n");
	}
	html_raw(h, "</div>\n");
}

static void boxes(html *h, const signup_form *f, const form_post *p)
{
	char id[32];

	html_raw(h, "<fieldset");
	if (p && p->boxes_err[0])
		html_raw(h, " aria-describedby=\"groups-error\"");
	html_raw(h, ">\n<legend>What would you like to get?</legend>\n");
	if (p && p->boxes_err[0]) {
		html_raw(h, "<p class=\"error\" id=\"groups-error\">");
		html_text(h, p->boxes_err);
		html_raw(h, "</p>\n");
	}
	for (size_t i = 0; i < f->f.n_groups; i++) {
		snprintf(id, sizeof id, "group-%zu", i);
		html_raw(h, "<div class=\"box\">\n<input type=\"checkbox\" "
			    "name=\"" FORM_F_GROUP "\" id=\"");
		html_raw(h, id);
		html_raw(h, "\" value=\"");
		html_text(h, f->box[i].group_id);
		html_raw(h, p && p->ticked[i] ? "\" checked>\n<label for=\""
					      : "\">\n<label for=\"");
		html_raw(h, id);
		html_raw(h, "\">");
		html_text(h, f->box[i].text);
		html_raw(h, "</label>\n</div>\n");
	}
	html_raw(h, "</fieldset>\n");
}

char *fpage_form(const fpage_args *a)
{
	const signup_form *f = a->form;
	const form_post *p = a->post;
	html *h = html_new(HTML_PAGE_MAX);
	int sms = 0, email = 0;

	if (!h)
		return NULL;
	for (size_t i = 0; i < f->f.n_groups; i++) {
		sms |= f->box[i].channel == CHANNEL_SMS;
		email |= f->box[i].channel == CHANNEL_EMAIL;
	}
	head(h, f->f.title);
	if (a->notice) {
		html_raw(h, "<p class=\"notice\" role=\"alert\">");
		html_text(h, a->notice);
		html_raw(h, "</p>\n");
	}
	html_raw(h, "<form method=\"post\" novalidate>\n<input type=\"hidden\" "
		    "name=\"" FORM_F_TOKEN "\" value=\"");
	html_text(h, a->token);
	html_raw(h, "\">\n");
	if (sms)
		text_field(h, FORM_F_PHONE, "tel", "Mobile phone number",
			   "autocomplete=\"tel\" inputmode=\"tel\" "
			   "maxlength=\"64\"",
			   p ? p->phone_typed : "", p ? p->phone_err : "");
	if (email)
		text_field(h, FORM_F_EMAIL, "email", "E-mail address",
			   "autocomplete=\"email\" maxlength=\"254\"",
			   p ? p->email_typed : "", p ? p->email_err : "");
	boxes(h, f, p);
	html_raw(h, "<button type=\"submit\">Sign up</button>\n</form>\n");
	return finish(h);
}

char *fpage_done(const signup_form *form, const form_post *post,
		 const signup_job *job)
{
	html *h = html_new(HTML_PAGE_MAX);

	if (!h)
		return NULL;
	head(h, form->f.title);
	html_raw(h, "<div role=\"status\">\n<h2>Thank you!</h2>\n<ul>\n");
	for (size_t i = 0; i < form->f.n_groups; i++) {
		const signup_box *b = &form->box[i];
		if (!post->ticked[i])
			continue;
		html_raw(h, "<li><strong>");
		html_text(h, b->name);
		html_raw(h, "</strong>: ");
		if (job->doi[i]) {
			html_raw(h, "we have sent a text message to ");
			html_text(h, post->phone.e164);
			html_raw(h, ". Reply to it to confirm.");
		} else {
			html_raw(h, "you are signed up.");
		}
		html_raw(h, "</li>\n");
	}
	html_raw(h, "</ul>\n</div>\n");
	return finish(h);
}

char *fpage_message(const char *title, const char *heading,
		    const char *text, const char *link)
{
	html *h = html_new(HTML_PAGE_MAX);

	if (!h)
		return NULL;
	head(h, title);
	html_raw(h, "<div role=\"alert\">\n<h2>");
	html_text(h, heading);
	html_raw(h, "</h2>\n<p>");
	html_text(h, text);
	html_raw(h, "</p>\n");
	if (link) {
		html_raw(h, "<p><a href=\"");
		html_text(h, link);
		html_raw(h, "\">Back to the form</a></p>\n");
	}
	html_raw(h, "</div>\n");
	return finish(h);
}
