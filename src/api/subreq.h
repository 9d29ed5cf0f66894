/*
 * subreq: the body of POST /subscription/status/set (v1) and
 * /v2/subscription/status/set, parsed and validated into plain structs.
 *
 * No HTTP and no storage here, so it can be fuzzed alone. Every rule that
 * can be checked without the database is checked here, and every phone is
 * normalised here, so that one bad entry among fifty fails the whole
 * request before anything is written. Errors are written into a buffer as
 * a message that names the field and quotes the bad value.
 */
#ifndef OPTD_SUBREQ_H
#define OPTD_SUBREQ_H

#include <jansson.h>

#include "core/consent.h"
#include "core/ident.h"
#include "core/phone.h"
#include "work/subs.h"

#define SUBREQ_GROUPS_MAX 25 /* v2: groups per request */
#define SUBREQ_ERR_MAX 512

typedef struct {
	char group_id[IDENT_GROUP_ID_MAX + 1];
	consent_state state;
	int double_opt_in;
	size_t n_ext, n_phone, n_email;
	const char *ext[SUBS_IDS_MAX];     /* point into the JSON body */
	char *email[SUBS_IDS_MAX];         /* normalised copies */
	phone_info phone[SUBS_IDS_MAX];
	int paired; /* same number of external ids and phones (or emails) */
} subreq_item;

typedef struct {
	size_t n;
	subreq_item *items; /* n of them */
	json_t *root;       /* keeps ext strings alive */
} subreq;

typedef enum {
	SUBREQ_OK = 0,
	SUBREQ_ERR_INVALID, /* err says why */
	SUBREQ_ERR_NOMEM,
} subreq_err;

/* `root` is borrowed and must outlive `out` (a reference is kept). */
subreq_err subreq_parse_v1(json_t *root, const char *region, subreq *out,
			   char err[SUBREQ_ERR_MAX]);
subreq_err subreq_parse_v2(json_t *root, const char *region, subreq *out,
			   char err[SUBREQ_ERR_MAX]);
void subreq_free(subreq *r); /* NULL-safe; leaves *r empty */

/*
 * Channel rules that need the group: an SMS group takes external_id or
 * phone, an e-mail group external_id or email. NULL when fine.
 */
const char *subreq_channel_error(const subreq_item *it, consent_channel ch,
				 char err[SUBREQ_ERR_MAX]);

#endif
