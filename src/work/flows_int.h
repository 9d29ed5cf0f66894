/*
 * flows_int: what flows.c (the runner) and flows_entry.c (who enters)
 * share. Internal to src/work/.
 */
#ifndef OPTD_FLOWS_INT_H
#define OPTD_FLOWS_INT_H

#include <jansson.h>

#include "core/flowdef.h"
#include "core/template.h"
#include "store/store.h"

#define FLOWS_DEF_SLOTS 32 /* parsed definitions cached per thread */

/* The definition of (flow, version), parsed once per thread. The result
 * stays valid until this thread's flows_thread_done(). */
store_err flows_def(store *st, const char *flow, int version,
		    const flowdef **out);
void flows_thread_done(void);

/* A user as templates and audiences see them. */
typedef struct {
	store *st;
	store_user u;
	json_t *attrs;       /* custom and standard attributes */
	json_t *entry_props; /* a run's entry properties, or NULL */
	json_t *event_props;
	json_t *texts;       /* non-string values as text, kept for the view */
	int64_t now_ms;
} flows_view;

store_err flows_view_load(store *st, int64_t user, flows_view *v);
void flows_view_free(flows_view *v);
/* A tpl_lookup over a flows_view. */
tpl_found flows_view_lookup(void *ctx, tpl_var_kind kind, const char *name,
			    const char **val, size_t *len);
/* A flow_user over a flows_view. */
void flows_view_user(flows_view *v, flow_user *out);

#endif
