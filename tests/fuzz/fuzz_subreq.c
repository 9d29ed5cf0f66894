/*
 * fuzz_subreq: libFuzzer target for api/subreq, the parser of the
 * subscription status bodies (v1 and v2) that every write request goes
 * through before anything touches the database.
 *
 * The input is parsed as the server parses a body (json_loadb with
 * JSON_REJECT_DUPLICATES); an object is then given to both
 * subreq_parse_v1() and subreq_parse_v2() with region "US". Invariants,
 * checked with abort() so any fuzzer build reports them:
 *  - the result is a known subreq_err;
 *  - on success: 1 <= n <= SUBREQ_GROUPS_MAX (exactly 1 for v1); each item
 *    has a valid group id and a settable state, double_opt_in 0 or 1, at
 *    most SUBS_IDS_MAX of each identifier and at least one of them, never
 *    both phones and e-mails, phones that start with '+', e-mails and
 *    external ids that pass ident's checks, e-mails already normalised,
 *    and `paired` only with equal counts;
 *  - on failure: the request comes back empty, and the error is non-empty
 *    and NUL-terminated within SUBREQ_ERR_MAX;
 *  - subreq_free() leaves the request empty (and, under ASan, frees all).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/subreq.h"
#include "core/ident.h"

static void check_empty(const subreq *r)
{
	if (r->n != 0 || r->items != NULL || r->root != NULL)
		abort();
}

static void check_item(const subreq_item *it)
{
	size_t kinds = 0;

	if (memchr(it->group_id, '\0', sizeof it->group_id) == NULL ||
	    ident_check_group_id(it->group_id) != NULL)
		abort();
	if (it->state != CONSENT_SUBSCRIBED &&
	    it->state != CONSENT_UNSUBSCRIBED)
		abort();
	if (it->double_opt_in != 0 && it->double_opt_in != 1)
		abort();
	if (it->n_ext > SUBS_IDS_MAX || it->n_phone > SUBS_IDS_MAX ||
	    it->n_email > SUBS_IDS_MAX)
		abort();
	kinds = (it->n_ext > 0) + (it->n_phone > 0) + (it->n_email > 0);
	if (kinds == 0 || (it->n_phone > 0 && it->n_email > 0))
		abort();
	if (it->paired && (it->n_ext == 0 ||
			   it->n_ext != (it->n_phone ? it->n_phone
						     : it->n_email)))
		abort();

	for (size_t i = 0; i < it->n_ext; i++)
		if (it->ext[i] == NULL ||
		    ident_check_external_id(it->ext[i]) != NULL)
			abort();
	for (size_t i = 0; i < it->n_phone; i++) {
		const char *e = it->phone[i].e164;
		size_t n = strnlen(e, sizeof it->phone[i].e164);

		if (n < 2 || n > PHONE_E164_MAX || e[0] != '+')
			abort();
		for (size_t k = 1; k < n; k++)
			if (e[k] < '0' || e[k] > '9')
				abort();
	}
	for (size_t i = 0; i < it->n_email; i++) {
		char again[IDENT_EMAIL_MAX + 1];
		const char *e = it->email[i];

		if (e == NULL || ident_check_email(e) != NULL)
			abort();
		/* Stored as a lookup key: normalising twice changes nothing. */
		memcpy(again, e, strlen(e) + 1);
		ident_email_normalize(again);
		if (strcmp(again, e) != 0)
			abort();
	}
}

static void fuzz_subreq_one(json_t *root, int v2)
{
	char err[SUBREQ_ERR_MAX];
	subreq r;
	subreq_err rc;

	memset(err, 0xa5, sizeof err);
	memset(&r, 0xa5, sizeof r);
	rc = v2 ? subreq_parse_v2(root, "US", &r, err)
		: subreq_parse_v1(root, "US", &r, err);
	switch (rc) {
	case SUBREQ_OK:
		if (r.n < 1 || r.n > SUBREQ_GROUPS_MAX || (!v2 && r.n != 1))
			abort();
		if (r.items == NULL || r.root != root)
			abort();
		for (size_t i = 0; i < r.n; i++)
			check_item(&r.items[i]);
		break;
	case SUBREQ_ERR_INVALID:
		if (err[0] == '\0' || memchr(err, '\0', sizeof err) == NULL)
			abort();
		check_empty(&r);
		break;
	case SUBREQ_ERR_NOMEM:
		check_empty(&r);
		break;
	default:
		abort();
	}
	subreq_free(&r);
	check_empty(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t e;
	json_t *root = json_loadb((const char *)data, size,
				  JSON_REJECT_DUPLICATES, &e);

	if (root == NULL)
		return 0;
	if (json_is_object(root)) {
		fuzz_subreq_one(root, 0);
		fuzz_subreq_one(root, 1);
		/* The parses borrowed root and gave their references back. */
		if (root->refcount != 1)
			abort();
	}
	json_decref(root);
	return 0;
}
