/*
 * sqlite_form: the operations of store.h for hosted sign-up forms on
 * SQLite: consent texts (kept once under their SHA-256), forms with their
 * check boxes, and the secrets every process on the database shares.
 *
 * A form and its groups are written in a savepoint of their own, so a
 * form is never there without its check boxes, whether or not the caller
 * has a transaction open. Text that already exists (a consent text, a
 * secret) is left as it is: the first one stored wins.
 */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

store_err sqlt_consent_text_put(store *st, const char *sha256,
				const char *text, int64_t now_ms)
{
	Q_OR_FAIL(s, st, Q_TEXT_PUT);

	if (!text || !store__fits(text, STORE_CONSENT_TEXT_MAX) ||
	    !store__fits(sha256, STORE_HASH_MAX))
		return STORE_INVALID;
	sqlt__bind_text(s, 1, sha256);
	sqlt__bind_text(s, 2, text);
	sqlite3_bind_int64(s, 3, now_ms);
	return sqlt__step_done(s);
}

store_err sqlt_consent_text_get(store *st, const char *sha256, char **text)
{
	Q_OR_FAIL(s, st, Q_TEXT_GET);

	*text = NULL;
	sqlt__bind_text(s, 1, sha256);
	return sqlt__text_one(s, text);
}

static store_err form_group_add(store *st, const char *form, int pos,
				const store_form_group *g)
{
	Q_OR_FAIL(s, st, Q_FORM_GROUP_ADD);

	sqlt__bind_text(s, 1, form);
	sqlite3_bind_int(s, 2, pos);
	sqlt__bind_text(s, 3, g->group_id);
	sqlt__bind_text(s, 4, g->text_sha256);
	return sqlt__step_done(s);
}

store_err sqlt_form_insert(store *st, const store_form *f)
{
	Q_OR_FAIL(s, st, Q_FORM_INSERT);
	store_err err;

	if (f->n_groups > STORE_FORM_GROUPS_MAX)
		return STORE_INVALID;
	if ((err = sqlt__exec(st, Q_FORM_SAVEPOINT)))
		return err;
	sqlt__bind_text(s, 1, f->id);
	sqlt__bind_text(s, 2, f->title);
	sqlt__bind_text(s, 3, f->redirect_url);
	sqlite3_bind_int64(s, 4, f->created_ms);
	sqlite3_bind_int64(s, 5, f->updated_ms);
	err = sqlt__step_done(s);
	for (size_t i = 0; !err && i < f->n_groups; i++)
		err = form_group_add(st, f->id, (int)i, &f->groups[i]);
	return sqlt__sp_end(st, Q_FORM_RELEASE, Q_FORM_ROLLBACK_TO, err);
}

static void read_form(sqlite3_stmt *s, store_form *f)
{
	memset(f, 0, sizeof *f);
	sqlt__col_copy(s, 0, f->id, sizeof f->id);
	sqlt__col_copy(s, 1, f->title, sizeof f->title);
	sqlt__col_copy(s, 2, f->redirect_url, sizeof f->redirect_url);
	f->created_ms = sqlite3_column_int64(s, 3);
	f->updated_ms = sqlite3_column_int64(s, 4);
}

static store_err form_groups(store *st, store_form *f)
{
	Q_OR_FAIL(s, st, Q_FORM_GROUPS);
	int rc;

	sqlt__bind_text(s, 1, f->id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW &&
	       f->n_groups < STORE_FORM_GROUPS_MAX) {
		store_form_group *g = &f->groups[f->n_groups++];
		sqlt__col_copy(s, 0, g->group_id, sizeof g->group_id);
		sqlt__col_copy(s, 1, g->text_sha256, sizeof g->text_sha256);
	}
	return sqlt__finish(s, rc == SQLITE_ROW ? SQLITE_DONE : rc);
}

store_err sqlt_form_get(store *st, const char *id, store_form *out)
{
	Q_OR_FAIL(s, st, Q_FORM_GET);
	store_err err;

	sqlt__bind_text(s, 1, id);
	if ((err = sqlt__first_row(s)))
		return err;
	read_form(s, out);
	if ((err = sqlt__finish(s, SQLITE_ROW)))
		return err;
	return form_groups(st, out);
}

store_err sqlt_form_list(store *st, store_form_cb cb, void *ctx)
{
	Q_OR_FAIL(s, st, Q_FORM_LIST);
	store_form f;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		read_form(s, &f);
		if (cb(ctx, &f))
			break;
	}
	return sqlt__finish(s, rc == SQLITE_ROW ? SQLITE_DONE : rc);
}

static store_err secret_put(store *st, const char *name, const char *value)
{
	Q_OR_FAIL(s, st, Q_SECRET_PUT);

	sqlt__bind_text(s, 1, name);
	sqlt__bind_text(s, 2, value);
	return sqlt__step_done(s);
}

store_err sqlt_secret_ensure(store *st, const char *name,
			     char value[STORE_SECRET_MAX + 1])
{
	Q_OR_FAIL(s, st, Q_SECRET_GET);
	char *stored = NULL;
	store_err err;

	if (!value[0] || !store__fits(value, STORE_SECRET_MAX))
		return STORE_INVALID;
	if ((err = secret_put(st, name, value)))
		return err;
	sqlt__bind_text(s, 1, name);
	if ((err = sqlt__text_one(s, &stored)))
		return err;
	snprintf(value, STORE_SECRET_MAX + 1, "%s", stored);
	free(stored);
	return STORE_OK;
}
