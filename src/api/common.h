/*
 * common: small pieces several handlers share: how a storage failure is
 * answered, and how identifiers are read from a query string.
 */
#ifndef OPTD_API_COMMON_H
#define OPTD_API_COMMON_H

#include "http/http.h"
#include "store/store.h"
#include "work/subs.h"

typedef struct {
	const char *ext[SUBS_IDS_MAX], *phone[SUBS_IDS_MAX],
		*email[SUBS_IDS_MAX];
	size_t n_ext, n_phone, n_email;
} api_ids;

/* A zeroed context of `size` bytes for a request that goes to the
 * writer, freed by free_fn when the request ends; NULL after a 503. */
void *api_ctx_new(http_req *r, size_t size, void (*free_fn)(void *));
/* 400 for STORE_INVALID; otherwise 503 with Retry-After, never a 2xx. */
void api_reply_store_error(http_req *r, store_err err);
/* external_id, phone and email (each also as name[]), at most 50 each. */
int api_read_ids(http_req *r, api_ids *q);
/* The Idempotency-Key header, checked (1..STORE_IDEM_KEY_MAX bytes of
 * text); "" when absent; -1 after replying 400 to a bad one. */
int api_idempotency_key(http_req *r, char out[STORE_IDEM_KEY_MAX + 1]);
/* Normalise with the default region; replies 400 quoting it on error. */
int api_norm_phone(http_req *r, const char *raw, phone_info *p);

#endif
