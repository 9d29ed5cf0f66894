/*
 * store: the public face of store.h. store_open() picks the backend by the
 * URL's scheme (postgres:// or postgresql:// -> pg.c, anything else ->
 * sqlite.c); every other call is forwarded through the backend's table
 * (store_int.h). Invariant: this file holds no SQL and no state of its
 * own but the counter behind store_tx_id(); what a call means is the same
 * whichever backend answers it.
 */
#include "store/store.h"
#include "store/store_int.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Atomic uint64_t tx_last;

const char *store_strerror(store_err err)
{
	switch (err) {
	case STORE_OK: return "ok";
	case STORE_NOTFOUND: return "not found";
	case STORE_CONFLICT: return "already exists";
	case STORE_INVALID: return "breaks a rule of the database";
	case STORE_UNAVAILABLE: return "database unavailable";
	case STORE_NOMEM: return "out of memory";
	case STORE_IO: return "database input/output error";
	}
	return "unknown error";
}

int store_durability_parse(const char *s, store_durability *out)
{
	if (strcmp(s, "full") == 0)
		*out = STORE_DURABLE_FULL;
	else if (strcmp(s, "normal") == 0)
		*out = STORE_DURABLE_NORMAL;
	else
		return -1;
	return 0;
}

static const char *const out_state_names[STORE_OUT__COUNT] = {
	"queued", "sending", "sent", "delivered", "failed", "rejected",
};

const char *store_out_state_name(store_out_state s)
{
	return (unsigned)s < STORE_OUT__COUNT ? out_state_names[s] : "unknown";
}

/* The index of s in names[0..n), or -1. */
static int name_index(const char *const *names, int n, const char *s)
{
	for (int i = 0; s && i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

int store_out_state_parse(const char *s, store_out_state *out)
{
	int i = name_index(out_state_names, STORE_OUT__COUNT, s);

	if (i < 0)
		return -1;
	*out = (store_out_state)i;
	return 0;
}

static const char *const run_state_names[STORE_RUN__COUNT] = {
	"active", "running", "done", "exited", "failed",
};

const char *store_run_state_name(store_run_state s)
{
	return (unsigned)s < STORE_RUN__COUNT ? run_state_names[s] : "unknown";
}

int store__run_state_parse(const char *s, store_run_state *out)
{
	int i = name_index(run_state_names, STORE_RUN__COUNT, s);

	if (i < 0)
		return -1;
	*out = (store_run_state)i;
	return 0;
}

store_err store__run_own(store_run *r)
{
	const char *entry = r->entry_props, *event = r->event_props;

	r->entry_props = strdup(entry ? entry : "{}");
	r->event_props = event ? strdup(event) : NULL;
	if (r->entry_props && (r->event_props || !event))
		return STORE_OK;
	store_run_free(r);
	return STORE_NOMEM;
}

void store_run_free(store_run *r)
{
	if (!r)
		return;
	free(r->entry_props);
	free(r->event_props);
	r->entry_props = r->event_props = NULL;
}

static int is_pg_url(const char *url)
{
	return strncmp(url, "postgres://", 11) == 0 ||
	       strncmp(url, "postgresql://", 13) == 0;
}

store_err store_open_with(const char *url, const store_opts *o, store **out)
{
	*out = NULL;
	if (!url || !*url || strlen(url) >= STORE_URL_MAX)
		return STORE_INVALID;
	if (is_pg_url(url))
		return pg_open(url, o, out);
	if (strncmp(url, "sqlite:", 7) == 0)
		url += 7;
	return sqlt_open(url, o, out);
}

store_err store_open(const char *url, store_durability dur, store **out)
{
	store_opts o = {.dur = dur, .pool = 0};

	return store_open_with(url, &o, out);
}

/* user:PASSWORD@ in the authority, and ?password=... / &password=... */
const char *store_url_redact(const char *url, char out[STORE_URL_MAX])
{
	char tmp[STORE_URL_MAX];
	const char *scheme = strstr(url, "://");
	const char *at, *colon, *pw, *end;

	snprintf(out, STORE_URL_MAX, "%s", url);
	if (!is_pg_url(url) || !scheme)
		return out;
	at = strchr(scheme + 3, '@');
	colon = at ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;
	if (colon && !memchr(scheme + 3, '/', (size_t)(at - scheme - 3)))
		snprintf(out, STORE_URL_MAX, "%.*s:***%s",
			 (int)(colon - url), url, at);
	for (pw = strstr(out, "password="); pw; pw = strstr(pw, "password=")) {
		if (pw == out || (pw[-1] != '?' && pw[-1] != '&')) {
			pw++;
			continue;
		}
		pw += strlen("password=");
		end = strchr(pw, '&');
		snprintf(tmp, sizeof tmp, "%.*s***%s", (int)(pw - out), out,
			 end ? end : "");
		snprintf(out, STORE_URL_MAX, "%s", tmp);
		pw = out + (pw - out) + 3;
	}
	return out;
}

void store_close(store *st)
{
	if (st)
		st->vt->close(st);
}

const char *store_backend(const store *st) { return st->vt->name; }
int store_concurrent_writes(const store *st)
{
	return st->vt->concurrent_writes;
}
void store_thread_done(store *st) { st->vt->thread_done(st); }
void store_rollback(store *st) { st->vt->rollback(st); }
void store_rollback_to(store *st) { st->vt->rollback_to(st); }
uint64_t store_tx_id(store *st) { return st->vt->tx_id(st); }
uint64_t store__tx_next(void) { return atomic_fetch_add(&tx_last, 1) + 1; }

int store_writer_setup(store *st)
{
	return st->vt->writer_setup ? st->vt->writer_setup(st) : 0;
}

store_err store_sync(store *st)
{
	return st->vt->sync ? st->vt->sync(st) : STORE_OK;
}

void store_want_user(store *st, store_by by, const char *value,
		     const char *group)
{
	if (st->vt->want_user)
		st->vt->want_user(st, by, value, group);
}

#define STORE_FORWARD(name, params, args) \
	store_err store_##name params { return st->vt->name args; }
STORE_OPS(STORE_FORWARD)
