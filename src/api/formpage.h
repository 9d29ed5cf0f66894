/*
 * formpage: the HTML pages of the hosted sign-up form.
 *
 * Plain pages that work without JavaScript and without a mouse: every
 * input has a <label>, check boxes are native ones (Space ticks them,
 * Enter sends), a mistake is written beside its field and tied to it
 * with aria-describedby, and the layout is one column that reads on a
 * phone's width. Every text that is not markup from this file (titles,
 * consent texts, group names, what the person typed, messages) goes
 * through html_text(), so nothing of it can become markup.
 * Each function returns a malloc'd page, or NULL when out of memory.
 */
#ifndef OPTD_FORMPAGE_H
#define OPTD_FORMPAGE_H

#include "core/form.h"
#include "work/signup.h"

typedef struct {
	const signup_form *form;
	const form_post *post; /* NULL: an empty form */
	const char *token;     /* the hidden field's value */
	const char *notice;    /* NULL, or a message above the form */
} fpage_args;

char *fpage_form(const fpage_args *a);
/* The confirmation: what was subscribed, what waits for a reply. */
char *fpage_done(const signup_form *form, const form_post *post,
		 const signup_job *job);
/* A page with a heading, a paragraph and, if link is not NULL, a link
 * back to it (the form's path). */
char *fpage_message(const char *title, const char *heading,
		    const char *text, const char *link);

#endif
