/*
 * manage_int: helpers the management files (manage.c, manage_flows.c)
 * share. Internal to src/work/.
 */
#ifndef OPTD_MANAGE_INT_H
#define OPTD_MANAGE_INT_H

#include "work/manage.h"

/* Fill err (MANAGE_ERR_MAX) and return code. */
manage_err manage_fail(char *err, manage_err code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A store error as a manage error: NOTFOUND, CONFLICT or STORE. */
manage_err manage_store_fail(char *err, store_err e);
json_t *manage_iso(int64_t ms); /* "2026-11-26T10:00:00.000Z" */
/* MANAGE_INVALID naming the first member of spec not in `known`. */
manage_err manage_only_fields(json_t *spec, const char *const *known,
			      char *err);

#endif
