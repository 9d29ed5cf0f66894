/*
 * pg_prefetch: the profiles a transaction announced (store_want_user),
 * fetched in one round trip, and the lookups answered from them.
 *
 * The writer announces what a whole batch of jobs will look up; each
 * lookup would otherwise wait one round trip of its own, which is most
 * of a batch's time on PostgreSQL. store_prefetch() sends the announced
 * keys PF_CHUNK to a statement, as arrays (kinds, values, groups), and
 * gets back for each key the profiles with that phone, e-mail or
 * external_id, each with its subscription state in the key's group, after
 * one Sync: one round trip, shared with whatever was sent before it
 * (BEGIN).
 *
 * Invariant: an answer given from here is the one the database would
 * give now, in this transaction. The fetch sends the buffered rows first
 * (pg.c's needs_rows), so it sees every earlier write; every later write
 * that could change an answer forgets what it changes: a new profile the
 * keys of its contact, a changed profile every key that held it or names
 * its new contact, a subscription written its cached state. What is
 * forgotten is read from the database again, the usual way. Everything is
 * dropped when the transaction ends or rolls back to a savepoint, and
 * when the connection is lost.
 */
#include "store/pg_int.h"
#include "lib/hash.h"
#include "lib/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PF_KEYS_MAX 4096 /* announced lookups per transaction */
#define PF_ROWS_MAX 8192 /* profiles fetched per transaction */
#define PF_VALUE_MAX IDENT_EXTERNAL_ID_MAX /* the longest key value */
#define PF_COLS 11 /* a profile's 8 columns, state, since_ms, key */
#define PF_CHUNK 256 /* keys fetched by one statement */

enum { PF_WANTED, PF_READY, PF_GONE };

typedef struct {
	store_user u;
	consent_state state; /* in the key's group */
	int64_t since_ms;
	int sub_known; /* state is still the database's */
} pf_row;

typedef struct {
	store_by by;
	uint32_t hash; /* of value, to skip most comparisons */
	char value[PF_VALUE_MAX + 1];
	char group[IDENT_GROUP_ID_MAX + 1]; /* "" when none was named */
	int status;
	int full; /* PG_PF_LIMIT rows came back: there may be more */
	int first, n; /* its rows: rows[first .. first + n) */
} pf_key;

struct pg_pf {
	pf_key *keys;
	pf_row *rows;
	int n_keys, cap_keys, n_rows, cap_rows;
	int sent; /* keys before this one have been fetched */
};

/* arr (room for *cap items of `size`) with room for item n, grown when
 * needed up to max items; NULL when there is none (arr stays valid). */
static void *grow(void *arr, int *cap, int n, size_t size, int max)
{
	int want = *cap ? *cap * 2 : 64;
	void *bigger;

	if (n < *cap)
		return arr;
	if (n >= max)
		return NULL;
	if (want > max)
		want = max;
	bigger = realloc(arr, (size_t)want * size);
	if (bigger)
		*cap = want;
	return bigger;
}

pg_pf *pg__pf_new(void) { return calloc(1, sizeof(pg_pf)); }

void pg__pf_clear(pg_pf *pf)
{
	if (pf)
		pf->n_keys = pf->n_rows = pf->sent = 0;
}

void pg__pf_free(pg_pf *pf)
{
	if (!pf)
		return;
	free(pf->keys);
	free(pf->rows);
	free(pf);
}

static int key_is(const pf_key *k, store_by by, uint32_t h, const char *v)
{
	return k->by == by && k->hash == h && strcmp(k->value, v) == 0;
}

void pg_want_user(store *st, store_by by, const char *value,
		  const char *group)
{
	pg_pf *pf = pg__pf(st, 1);
	uint32_t h;
	pf_key *k;

	if (!group)
		group = "";
	/* What the lookup itself would answer without the database (""
	 * names no profile) or refuse, it is left to. */
	if (!pf || (unsigned)by > STORE_BY_EXTERNAL_ID || !value || !*value ||
	    strlen(value) > PF_VALUE_MAX ||
	    strlen(group) > IDENT_GROUP_ID_MAX ||
	    !utf8_valid(value, strlen(value)) ||
	    !utf8_valid(group, strlen(group)))
		return;
	h = hash_str(value);
	for (int i = 0; i < pf->n_keys; i++)
		if (key_is(&pf->keys[i], by, h, value) &&
		    pf->keys[i].status != PF_GONE &&
		    strcmp(pf->keys[i].group, group) == 0)
			return;
	k = grow(pf->keys, &pf->cap_keys, pf->n_keys, sizeof *k, PF_KEYS_MAX);
	if (!k)
		return;
	pf->keys = k;
	k = &pf->keys[pf->n_keys++];
	memset(k, 0, sizeof *k);
	k->by = by;
	k->hash = h;
	snprintf(k->value, sizeof k->value, "%s", value);
	snprintf(k->group, sizeof k->group, "%s", group);
	k->status = PF_WANTED;
}

static void read_row(const PGresult *r, int i, pf_row *row, int grouped)
{
	const char *state = PQgetvalue(r, i, 8);

	memset(row, 0, sizeof *row);
	pg__read_user(r, i, &row->u);
	row->state = CONSENT_UNKNOWN;
	if (*state && consent_state_from_name(state, &row->state) != 0)
		grouped = 0; /* not a state optd wrote: ask again */
	row->since_ms = *state ? pg__int64(r, i, 9) : 0;
	row->sub_known = grouped;
}

/* pg__wait_each's callback: answer i is that of chunk i, whose rows
 * name their key by its place in the chunk (from 1), in key order. */
static void on_answer(void *ctx, int i, const PGresult *r)
{
	pg_pf *pf = ctx;
	int base = pf->sent + i * PF_CHUNK, last = -1;
	int end = base + PF_CHUNK < pf->n_keys ? base + PF_CHUNK : pf->n_keys;

	if (PQnfields(r) != PF_COLS)
		return; /* the keys stay WANTED, then GONE: never used */
	for (int j = 0; j < PQntuples(r); j++) {
		int at = base + (int)pg__int64(r, j, PF_COLS - 1) - 1;
		pf_key *k;
		pf_row *rows;

		if (at < base || at >= end || at < last)
			return; /* as above */
		k = &pf->keys[at];
		rows = grow(pf->rows, &pf->cap_rows, pf->n_rows, sizeof *rows,
			    PF_ROWS_MAX);
		if (!rows)
			return; /* as above */
		pf->rows = rows;
		if (at != last)
			k->first = pf->n_rows;
		last = at;
		read_row(r, j, &pf->rows[pf->n_rows++], k->group[0] != '\0');
		k->n++;
	}
	for (int j = base; j < end; j++) {
		pf->keys[j].full = pf->keys[j].n >= PG_PF_LIMIT;
		pf->keys[j].status = PF_READY;
	}
}

/* Append s to the array literal in *buf as a quoted element, leaving
 * room for the closing brace. */
static int array_add(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t need = *len + 2 * strlen(s) + 5; /* , "" } NUL */
	char *p;

	if (need > *cap) {
		size_t want = *cap ? *cap * 2 : 1024;
		char *bigger;

		while (want < need)
			want *= 2;
		if (!(bigger = realloc(*buf, want)))
			return -1;
		*buf = bigger;
		*cap = want;
	}
	p = *buf + *len;
	*p++ = *len ? ',' : '{';
	*p++ = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			*p++ = '\\';
		*p++ = *s;
	}
	*p++ = '"';
	*p = '\0';
	*len = (size_t)(p - *buf);
	return 0;
}

/* Keys [from, to) as one statement: their kinds, values and groups as
 * three array parameters. */
static store_err send_chunk(store *st, pg_pf *pf, int from, int to)
{
	static const char *const by_name[] = {"0", "1", "2"};
	char *arr[3] = {NULL, NULL, NULL};
	size_t len[3] = {0, 0, 0}, cap[3] = {0, 0, 0};
	store_err err = STORE_OK;
	pg_args a = {0};

	for (int i = from; i < to && !err; i++) {
		const pf_key *k = &pf->keys[i];
		if (array_add(&arr[0], &len[0], &cap[0], by_name[k->by]) ||
		    array_add(&arr[1], &len[1], &cap[1], k->value) ||
		    array_add(&arr[2], &len[2], &cap[2], k->group))
			err = STORE_NOMEM;
	}
	for (int j = 0; j < 3 && !err; j++) {
		arr[j][len[j]] = '}'; /* array_add left room for it */
		arr[j][len[j] + 1] = '\0';
		pg__text(&a, arr[j]);
	}
	pg__int(&a, PG_PF_LIMIT);
	if (!err)
		err = pg__send(st, P_PF_USERS, &a);
	for (int j = 0; j < 3; j++)
		free(arr[j]);
	return err;
}

store_err pg_prefetch(store *st)
{
	pg_pf *pf = pg__pf(st, 0);
	store_err err = STORE_OK;
	int n = 0;

	if (!pf || pf->sent == pf->n_keys)
		return STORE_OK;
	for (int i = pf->sent; !err && i < pf->n_keys; i += PF_CHUNK) {
		int to = i + PF_CHUNK < pf->n_keys ? i + PF_CHUNK : pf->n_keys;
		err = send_chunk(st, pf, i, to);
		n += !err;
	}
	if (!err)
		err = pg__wait_each(st, n, on_answer, pf);
	for (int i = pf->sent; i < pf->n_keys; i++)
		if (pf->keys[i].status != PF_READY)
			pf->keys[i].status = PF_GONE;
	pf->sent = pf->n_keys;
	return err;
}

/* The ready key (by, v) with this group (NULL: any); NULL if none. */
static pf_key *ready_key(pg_pf *pf, store_by by, const char *v,
			 const char *group)
{
	uint32_t h = hash_str(v);

	for (int i = 0; pf && i < pf->n_keys; i++) {
		pf_key *k = &pf->keys[i];
		if (k->status == PF_READY && key_is(k, by, h, v) &&
		    (!group || strcmp(k->group, group) == 0))
			return k;
	}
	return NULL;
}

/* The fetched row of profile `id` (in a key of `group` unless NULL). */
static pf_row *row_of(pg_pf *pf, int64_t id, const char *group)
{
	for (int i = 0; pf && i < pf->n_keys; i++) {
		pf_key *k = &pf->keys[i];
		if (k->status != PF_READY ||
		    (group && strcmp(k->group, group) != 0))
			continue;
		for (int j = k->first; j < k->first + k->n; j++)
			if (pf->rows[j].u.id == id)
				return &pf->rows[j];
	}
	return NULL;
}

int pg__pf_by_ext(store *st, const char *ext, store_user *out,
		  store_err *err)
{
	pf_key *k = ready_key(pg__pf(st, 0), STORE_BY_EXTERNAL_ID, ext, NULL);

	if (!k)
		return 0;
	if (k->n == 0) {
		*err = STORE_NOTFOUND;
		return 1;
	}
	*out = pg__pf(st, 0)->rows[k->first].u;
	*err = STORE_OK;
	return 1;
}

int pg__pf_ids(store *st, store_by by, const char *v, int64_t *ids,
	       size_t max, size_t *n)
{
	pg_pf *pf = pg__pf(st, 0);
	pf_key *k = ready_key(pf, by, v, NULL);

	if (!k || (k->full && max > (size_t)k->n))
		return 0;
	*n = 0;
	for (int j = k->first; j < k->first + k->n && *n < max; j++)
		ids[(*n)++] = pf->rows[j].u.id;
	return 1;
}

int pg__pf_user(store *st, int64_t id, store_user *out)
{
	pf_row *row = row_of(pg__pf(st, 0), id, NULL);

	if (row)
		*out = row->u;
	return row != NULL;
}

int pg__pf_sub(store *st, int64_t user, const char *group,
	       consent_state *out, int64_t *since_ms)
{
	pf_row *row = row_of(pg__pf(st, 0), user, group);

	if (!row || !row->sub_known)
		return 0;
	*out = row->state;
	if (since_ms)
		*since_ms = row->since_ms;
	return 1;
}

static int key_holds(const pg_pf *pf, const pf_key *k, int64_t id)
{
	for (int j = k->first; j < k->first + k->n; j++)
		if (pf->rows[j].u.id == id)
			return 1;
	return 0;
}

/* Does key k name one of the contacts of u (NULL fields: none)? */
static int key_names(const pf_key *k, const char *ext, const char *phone,
		     const char *email)
{
	const char *v = k->by == STORE_BY_PHONE ? phone
			: k->by == STORE_BY_EMAIL ? email : ext;

	return v && *v && strcmp(k->value, v) == 0;
}

void pg__pf_forget_user(store *st, int64_t id, const char *ext,
			const char *phone, const char *email)
{
	pg_pf *pf = pg__pf(st, 0);

	for (int i = 0; pf && i < pf->n_keys; i++) {
		pf_key *k = &pf->keys[i];
		if (k->status == PF_READY &&
		    (key_names(k, ext, phone, email) ||
		     (id && key_holds(pf, k, id))))
			k->status = PF_GONE;
	}
}

void pg__pf_forget_sub(store *st, int64_t user, const char *group)
{
	pg_pf *pf = pg__pf(st, 0);

	for (int i = 0; pf && i < pf->n_keys; i++) {
		pf_key *k = &pf->keys[i];
		if (k->status != PF_READY || strcmp(k->group, group) != 0)
			continue;
		for (int j = k->first; j < k->first + k->n; j++)
			if (pf->rows[j].u.id == user)
				pf->rows[j].sub_known = 0;
	}
}
