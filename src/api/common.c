/* common: see common.h. */
#include "api/common.h"
#include "api/app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *api_ctx_new(http_req *r, size_t size, void (*free_fn)(void *))
{
	void *c = calloc(1, size);

	if (!c) {
		http_reply_error(r, 503, NULL, "out of memory; retry");
		return NULL;
	}
	http_set_ctx(r, c, free_fn);
	return c;
}

void api_reply_store_error(http_req *r, store_err err)
{
	if (err == STORE_INVALID) {
		http_reply_error(r, 400, NULL, "the request breaks a rule of "
				 "the database (was a group removed?)");
		return;
	}
	http_reply_header(r, "Retry-After", "1");
	http_reply_error(r, 503, NULL, "the database could not complete the "
			 "request (%s); nothing was changed, retry",
			 store_strerror(err));
}

int api_read_ids(http_req *r, api_ids *q)
{
	static const char *const names[3] = {"external_id", "phone", "email"};
	const char **dst[3] = {q->ext, q->phone, q->email};
	size_t *cnt[3] = {&q->n_ext, &q->n_phone, &q->n_email};

	for (int k = 0; k < 3; k++) {
		size_t n = http_query_all(r, names[k], dst[k], SUBS_IDS_MAX);
		if (n > SUBS_IDS_MAX) {
			http_reply_error(r, 400, NULL, "The max number of ids "
					 "per request was exceeded: %s has %zu"
					 " values, the limit is %d", names[k],
					 n, SUBS_IDS_MAX);
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			const char *why = !*dst[k][i] ? "must not be empty"
				: k == 0 ? ident_check_external_id(dst[k][i])
				: k == 2 ? ident_check_email(dst[k][i]) : NULL;
			if (why) {
				http_reply_error(r, 400, NULL, "%s \"%.64s\" %s",
						 names[k], dst[k][i], why);
				return -1;
			}
		}
		*cnt[k] = n;
	}
	return 0;
}

int api_norm_phone(http_req *r, const char *raw, phone_info *p)
{
	phone_err pe = phone_normalize(raw, strlen(raw),
				       http_app(r)->default_region, p);

	if (pe)
		http_reply_error(r, 400, NULL, "phone \"%.64s\" %s", raw,
				 phone_strerror(pe));
	return pe ? -1 : 0;
}

