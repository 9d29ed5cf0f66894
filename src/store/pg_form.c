/*
 * pg_form: the operations of store.h for hosted sign-up forms on
 * PostgreSQL, mirroring sqlite_form.c: consent texts under their SHA-256,
 * forms with their check boxes, and shared secrets.
 *
 * A form and its groups go in one statement (pg.c's P_FORM_INSERT), the
 * groups as two comma-separated lists: group ids and hex hashes can hold
 * no comma, which is checked here rather than trusted. Several processes
 * may ensure one secret at once: ON CONFLICT DO NOTHING lets the first
 * insert win, and every one of them reads back what won.
 */
#include "store/pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Group ids and hashes joined by ',' for string_to_array(). */
#define PG_FORM_LIST_MAX \
	(STORE_FORM_GROUPS_MAX * (IDENT_GROUP_ID_MAX + STORE_HASH_MAX + 2))

store_err pg_consent_text_put(store *st, const char *sha256,
			      const char *text, int64_t now_ms)
{
	pg_args a = {0};

	if (!text || !store__fits(text, STORE_CONSENT_TEXT_MAX) ||
	    !store__fits(sha256, STORE_HASH_MAX))
		return STORE_INVALID;
	pg__text(&a, sha256);
	pg__text(&a, text);
	pg__int(&a, now_ms);
	return pg__exec(st, P_TEXT_PUT, &a, NULL);
}

store_err pg_consent_text_get(store *st, const char *sha256, char **text)
{
	pg_args a = {0};

	pg__text(&a, sha256);
	return pg__text_one(st, P_TEXT_GET, &a, text);
}

/* Append s and a ',' (none before the first) to list; -1 when s holds a
 * comma or the list would not fit. */
static int list_add(char *list, size_t cap, const char *s)
{
	size_t n = strlen(list);
	int w;

	if (strchr(s, ','))
		return -1;
	w = snprintf(list + n, cap - n, "%s%s", n ? "," : "", s);
	return w < 0 || (size_t)w >= cap - n ? -1 : 0;
}

store_err pg_form_insert(store *st, const store_form *f)
{
	char gids[PG_FORM_LIST_MAX] = "", shas[PG_FORM_LIST_MAX] = "";
	pg_args a = {0};
	PGresult *r;
	store_err err;

	if (f->n_groups > STORE_FORM_GROUPS_MAX)
		return STORE_INVALID;
	for (size_t i = 0; i < f->n_groups; i++)
		if (!f->groups[i].group_id[0] ||
		    list_add(gids, sizeof gids, f->groups[i].group_id) ||
		    list_add(shas, sizeof shas, f->groups[i].text_sha256))
			return STORE_INVALID;
	pg__text(&a, f->id);
	pg__text(&a, f->title);
	pg__text(&a, f->redirect_url);
	pg__int(&a, f->created_ms);
	pg__int(&a, f->updated_ms);
	pg__text(&a, gids);
	pg__text(&a, shas);
	if ((err = pg__one_row(st, P_FORM_INSERT, &a, &r)))
		return err;
	err = pg__int64(r, 0, 0) == 0 ? STORE_CONFLICT : STORE_OK;
	PQclear(r);
	return err;
}

static void read_form(const PGresult *r, int row, store_form *f)
{
	memset(f, 0, sizeof *f);
	pg__copy(r, row, 0, f->id, sizeof f->id);
	pg__copy(r, row, 1, f->title, sizeof f->title);
	pg__copy(r, row, 2, f->redirect_url, sizeof f->redirect_url);
	f->created_ms = pg__int64(r, row, 3);
	f->updated_ms = pg__int64(r, row, 4);
}

store_err pg_form_get(store *st, const char *id, store_form *out)
{
	pg_args a = {0};
	PGresult *r;
	store_err err;

	pg__text(&a, id);
	if ((err = pg__one_row(st, P_FORM_GET, &a, &r)))
		return err;
	read_form(r, 0, out);
	PQclear(r);
	if ((err = pg__query(st, P_FORM_GROUPS, &a, &r)))
		return err;
	for (int i = 0; i < PQntuples(r) && i < STORE_FORM_GROUPS_MAX; i++) {
		store_form_group *g = &out->groups[out->n_groups++];
		pg__copy(r, i, 0, g->group_id, sizeof g->group_id);
		pg__copy(r, i, 1, g->text_sha256, sizeof g->text_sha256);
	}
	PQclear(r);
	return STORE_OK;
}

store_err pg_form_list(store *st, store_form_cb cb, void *ctx)
{
	pg_args a = {0};
	PGresult *r;
	store_form f;
	store_err err = pg__query(st, P_FORM_LIST, &a, &r);

	for (int i = 0; !err && i < PQntuples(r); i++) {
		read_form(r, i, &f);
		if (cb(ctx, &f))
			break;
	}
	PQclear(r);
	return err;
}

store_err pg_secret_ensure(store *st, const char *name,
			   char value[STORE_SECRET_MAX + 1])
{
	pg_args a = {0};
	char *stored = NULL;
	store_err err;

	if (!value[0] || !store__fits(value, STORE_SECRET_MAX))
		return STORE_INVALID;
	pg__text(&a, name);
	pg__text(&a, value);
	if ((err = pg__exec(st, P_SECRET_PUT, &a, NULL)))
		return err;
	a.n = 1;
	if ((err = pg__text_one(st, P_SECRET_GET, &a, &stored)))
		return err;
	snprintf(value, STORE_SECRET_MAX + 1, "%s", stored);
	free(stored);
	return STORE_OK;
}
