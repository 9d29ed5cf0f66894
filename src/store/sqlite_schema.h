/*
 * sqlite_schema: the SQLite migrations, in order. Each entry is applied once
 * inside its own transaction and recorded in schema_migrations; a released
 * entry is never edited, only followed by a new one.
 */
#ifndef OPTD_SQLITE_SCHEMA_H
#define OPTD_SQLITE_SCHEMA_H

typedef struct {
	int version;
	const char *name;
	const char *sql;
} sqlite_migration;

static const sqlite_migration sqlite_migrations[] = {
	{1, "core",
	 "CREATE TABLE api_keys ("
	 " id INTEGER PRIMARY KEY,"
	 " name TEXT NOT NULL,"
	 " key_hash TEXT NOT NULL,"
	 " scopes INTEGER NOT NULL,"
	 " rate_limit INTEGER NOT NULL DEFAULT 0,"
	 " created_ms INTEGER NOT NULL,"
	 " revoked_ms INTEGER);"
	 "CREATE UNIQUE INDEX api_keys_live_name ON api_keys(name)"
	 " WHERE revoked_ms IS NULL;"
	 "CREATE UNIQUE INDEX api_keys_live_hash ON api_keys(key_hash)"
	 " WHERE revoked_ms IS NULL;"
	 "CREATE TABLE subscription_groups ("
	 " id TEXT PRIMARY KEY,"
	 " name TEXT NOT NULL,"
	 " channel TEXT NOT NULL CHECK (channel IN ('sms','email')),"
	 " double_opt_in INTEGER NOT NULL DEFAULT 0,"
	 " created_ms INTEGER NOT NULL,"
	 " updated_ms INTEGER NOT NULL);"
	 "CREATE TABLE group_numbers ("
	 " number TEXT PRIMARY KEY,"
	 " group_id TEXT NOT NULL REFERENCES subscription_groups(id));"
	 "CREATE INDEX group_numbers_group ON group_numbers(group_id);"
	 "CREATE TABLE users ("
	 " id INTEGER PRIMARY KEY,"
	 " external_id TEXT UNIQUE,"
	 " phone TEXT,"
	 " phone_valid INTEGER NOT NULL DEFAULT 0,"
	 " phone_type TEXT,"
	 " email TEXT,"
	 " attributes TEXT NOT NULL DEFAULT '{}',"
	 " created_ms INTEGER NOT NULL,"
	 " updated_ms INTEGER NOT NULL);"
	 "CREATE INDEX users_phone ON users(phone) WHERE phone IS NOT NULL;"
	 "CREATE INDEX users_email ON users(email) WHERE email IS NOT NULL;"
	 "CREATE TABLE subscriptions ("
	 " user_id INTEGER NOT NULL REFERENCES users(id),"
	 " group_id TEXT NOT NULL REFERENCES subscription_groups(id),"
	 " state TEXT NOT NULL CHECK (state IN ('subscribed','unsubscribed')),"
	 " source TEXT NOT NULL,"
	 " double_opt_in INTEGER NOT NULL DEFAULT 0,"
	 " since_ms INTEGER NOT NULL,"
	 " PRIMARY KEY (user_id, group_id)) WITHOUT ROWID;"
	 "CREATE TABLE consent_ledger ("
	 " id INTEGER PRIMARY KEY,"
	 " time_ms INTEGER NOT NULL,"
	 " user_id INTEGER NOT NULL,"
	 " external_id TEXT,"
	 " phone TEXT,"
	 " email TEXT,"
	 " group_id TEXT NOT NULL,"
	 " old_state TEXT NOT NULL,"
	 " new_state TEXT NOT NULL,"
	 " source TEXT NOT NULL,"
	 " key_name TEXT,"
	 " request_id TEXT,"
	 " client_addr TEXT,"
	 " evidence TEXT);"
	 "CREATE INDEX consent_ledger_phone ON consent_ledger(phone, id)"
	 " WHERE phone IS NOT NULL;"
	 "CREATE INDEX consent_ledger_email ON consent_ledger(email, id)"
	 " WHERE email IS NOT NULL;"
	 "CREATE INDEX consent_ledger_ext ON consent_ledger(external_id, id)"
	 " WHERE external_id IS NOT NULL;"
	 /* An audit trail that can be edited is not one. */
	 "CREATE TRIGGER consent_ledger_no_update BEFORE UPDATE ON consent_ledger"
	 " BEGIN SELECT RAISE(ABORT, 'consent_ledger is append-only'); END;"
	 "CREATE TRIGGER consent_ledger_no_delete BEFORE DELETE ON consent_ledger"
	 " BEGIN SELECT RAISE(ABORT, 'consent_ledger is append-only'); END;"},
	/* Empty optional text (a provider's ids, the group) is stored as NULL:
	 * a message without an id is never taken for a retry of another. */
	{2, "sms",
	 "ALTER TABLE subscription_groups"
	 " ADD COLUMN sms_config TEXT NOT NULL DEFAULT '';"
	 "CREATE TABLE inbound ("
	 " id INTEGER PRIMARY KEY,"
	 " time_ms INTEGER NOT NULL,"
	 " provider TEXT NOT NULL,"
	 " provider_msg_id TEXT,"
	 " from_addr TEXT NOT NULL,"
	 " to_addr TEXT NOT NULL,"
	 " group_id TEXT,"
	 " category TEXT NOT NULL,"
	 " lang TEXT NOT NULL,"
	 " keyword TEXT NOT NULL,"
	 " action TEXT NOT NULL,"
	 " body TEXT NOT NULL,"
	 " UNIQUE (provider, provider_msg_id));"
	 "CREATE TABLE outbox ("
	 " id INTEGER PRIMARY KEY,"
	 " dedupe TEXT NOT NULL UNIQUE CHECK (dedupe <> ''),"
	 " group_id TEXT,"
	 " to_addr TEXT NOT NULL,"
	 " from_addr TEXT NOT NULL,"
	 " kind TEXT NOT NULL,"
	 " inbound_id INTEGER,"
	 " state TEXT NOT NULL CHECK (state IN ('queued','sending','sent',"
	 "'delivered','failed','rejected')),"
	 " provider TEXT NOT NULL,"
	 " provider_id TEXT,"
	 " attempts INTEGER NOT NULL,"
	 " next_ms INTEGER NOT NULL,"
	 " error TEXT NOT NULL,"
	 " encoding TEXT NOT NULL,"
	 " segments INTEGER NOT NULL,"
	 " created_ms INTEGER NOT NULL,"
	 " updated_ms INTEGER NOT NULL,"
	 " body TEXT NOT NULL);"
	 "CREATE INDEX outbox_due ON outbox(state, next_ms);"
	 "CREATE INDEX outbox_provider_id ON outbox(provider, provider_id)"
	 " WHERE provider_id IS NOT NULL;"
	 "CREATE INDEX outbox_to ON outbox(to_addr, id);"
	 "CREATE TABLE doi_pending ("
	 " phone TEXT NOT NULL,"
	 " group_id TEXT NOT NULL REFERENCES subscription_groups(id),"
	 " since_ms INTEGER NOT NULL,"
	 " PRIMARY KEY (phone, group_id)) WITHOUT ROWID;"},
	/* Events and flows (docs/flows.md). A JSON document is kept as the
	 * text it came in; empty optional text (a flow's entry) is NULL, so
	 * the entry indexes hold only what can be looked up. The runs of a
	 * flow without re-entry are told apart by (flow_id, user_id): one
	 * writer at a time makes "no run yet, then insert" one step here. */
	{3, "flows",
	 "CREATE TABLE user_aliases ("
	 " label TEXT NOT NULL CHECK (label <> ''),"
	 " name TEXT NOT NULL CHECK (name <> ''),"
	 " user_id INTEGER NOT NULL REFERENCES users(id),"
	 " PRIMARY KEY (label, name)) WITHOUT ROWID;"
	 "CREATE TABLE events ("
	 " id INTEGER PRIMARY KEY,"
	 " user_id INTEGER NOT NULL REFERENCES users(id),"
	 " name TEXT NOT NULL,"
	 " time_ms INTEGER NOT NULL,"
	 " created_ms INTEGER NOT NULL,"
	 " props TEXT NOT NULL DEFAULT '{}');"
	 "CREATE INDEX events_user ON events(user_id, id);"
	 "CREATE TABLE purchases ("
	 " id INTEGER PRIMARY KEY,"
	 " user_id INTEGER NOT NULL REFERENCES users(id),"
	 " product_id TEXT NOT NULL,"
	 " currency TEXT NOT NULL,"
	 " price REAL NOT NULL,"
	 " quantity INTEGER NOT NULL,"
	 " time_ms INTEGER NOT NULL,"
	 " props TEXT NOT NULL DEFAULT '{}');"
	 "CREATE INDEX purchases_user ON purchases(user_id, id);"
	 "CREATE TABLE idempotency ("
	 " route TEXT NOT NULL,"
	 " key TEXT NOT NULL CHECK (key <> ''),"
	 " status INTEGER NOT NULL,"
	 " body TEXT NOT NULL,"
	 " created_ms INTEGER NOT NULL,"
	 " PRIMARY KEY (route, key)) WITHOUT ROWID;"
	 "CREATE TABLE flows ("
	 " id TEXT PRIMARY KEY CHECK (id <> ''),"
	 " name TEXT NOT NULL,"
	 " version INTEGER NOT NULL,"
	 " enabled INTEGER NOT NULL CHECK (enabled IN (0,1)),"
	 " entry_event TEXT,"
	 " entry_group TEXT,"
	 " created_ms INTEGER NOT NULL,"
	 " updated_ms INTEGER NOT NULL);"
	 "CREATE INDEX flows_entry_event ON flows(entry_event)"
	 " WHERE enabled = 1 AND entry_event IS NOT NULL;"
	 "CREATE INDEX flows_entry_group ON flows(entry_group)"
	 " WHERE enabled = 1 AND entry_group IS NOT NULL;"
	 "CREATE TABLE flow_versions ("
	 " flow_id TEXT NOT NULL REFERENCES flows(id),"
	 " version INTEGER NOT NULL,"
	 " def TEXT NOT NULL,"
	 " created_ms INTEGER NOT NULL,"
	 " PRIMARY KEY (flow_id, version)) WITHOUT ROWID;"
	 "CREATE TABLE flow_runs ("
	 " id INTEGER PRIMARY KEY,"
	 " flow_id TEXT NOT NULL REFERENCES flows(id),"
	 " version INTEGER NOT NULL,"
	 " user_id INTEGER NOT NULL REFERENCES users(id),"
	 " state TEXT NOT NULL CHECK (state IN ('active','running','done',"
	 "'exited','failed')),"
	 " step INTEGER NOT NULL,"
	 " attempts INTEGER NOT NULL,"
	 " next_ms INTEGER NOT NULL,"
	 " created_ms INTEGER NOT NULL,"
	 " updated_ms INTEGER NOT NULL,"
	 " entry_props TEXT NOT NULL DEFAULT '{}',"
	 " event_props TEXT);"
	 "CREATE INDEX flow_runs_due ON flow_runs(state, next_ms);"
	 "CREATE INDEX flow_runs_flow ON flow_runs(flow_id, id);"
	 "CREATE INDEX flow_runs_user ON flow_runs(flow_id, user_id);"
	 "CREATE TABLE step_logs ("
	 " id INTEGER PRIMARY KEY,"
	 " run_id INTEGER NOT NULL REFERENCES flow_runs(id),"
	 " step INTEGER NOT NULL,"
	 " attempt INTEGER NOT NULL,"
	 " time_ms INTEGER NOT NULL,"
	 " outcome TEXT NOT NULL,"
	 " http_status INTEGER NOT NULL,"
	 " detail TEXT NOT NULL);"
	 "CREATE INDEX step_logs_run ON step_logs(run_id, id);"},
	/* Hosted sign-up forms. A consent text is kept once, under the
	 * SHA-256 of its exact bytes, which the ledger's evidence names; a
	 * form's check boxes point to their group and their text. `secrets`
	 * holds what every process on the database must share (the key
	 * that signs forms' tokens). */
	{4, "forms",
	 "CREATE TABLE consent_texts ("
	 " sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),"
	 " text TEXT NOT NULL,"
	 " created_ms INTEGER NOT NULL) WITHOUT ROWID;"
	 "CREATE TABLE forms ("
	 " id TEXT PRIMARY KEY CHECK (id <> ''),"
	 " title TEXT NOT NULL,"
	 " redirect_url TEXT,"
	 " created_ms INTEGER NOT NULL,"
	 " updated_ms INTEGER NOT NULL);"
	 "CREATE TABLE form_groups ("
	 " form_id TEXT NOT NULL REFERENCES forms(id),"
	 " pos INTEGER NOT NULL,"
	 " group_id TEXT NOT NULL REFERENCES subscription_groups(id),"
	 " consent_sha256 TEXT NOT NULL REFERENCES consent_texts(sha256),"
	 " PRIMARY KEY (form_id, pos)) WITHOUT ROWID;"
	 /* A text that evidence names must never change or go. */
	 "CREATE TRIGGER consent_texts_no_update BEFORE UPDATE ON consent_texts"
	 " BEGIN SELECT RAISE(ABORT, 'consent_texts is append-only'); END;"
	 "CREATE TRIGGER consent_texts_no_delete BEFORE DELETE ON consent_texts"
	 " BEGIN SELECT RAISE(ABORT, 'consent_texts is append-only'); END;"
	 "CREATE TABLE secrets ("
	 " name TEXT PRIMARY KEY CHECK (name <> ''),"
	 " value TEXT NOT NULL CHECK (value <> ''),"
	 " created_ms INTEGER NOT NULL) WITHOUT ROWID;"},
	/* SDK keys (docs/sdk.md): public keys for the browser SDK's
	 * endpoints, each with the page origins allowed to use it. The list
	 * is short and read whole, so it is one space-separated text. */
	{5, "sdk",
	 "ALTER TABLE api_keys"
	 " ADD COLUMN sdk INTEGER NOT NULL DEFAULT 0 CHECK (sdk IN (0,1));"
	 "ALTER TABLE api_keys ADD COLUMN origins TEXT NOT NULL DEFAULT '';"},
	/* The outbox's state check without IN: SQLite checks `x IN (more
	 * than two constants)` through a b-tree it builds and drops again
	 * every time a row is written, which made that a third of the cost
	 * of queueing a reply. SQLite cannot change a check in place, so the
	 * table is copied (ids kept) and its indexes made again. */
	{6, "outbox_check",
	 "CREATE TABLE outbox_new ("
	 " id INTEGER PRIMARY KEY,"
	 " dedupe TEXT NOT NULL UNIQUE CHECK (dedupe <> ''),"
	 " group_id TEXT,"
	 " to_addr TEXT NOT NULL,"
	 " from_addr TEXT NOT NULL,"
	 " kind TEXT NOT NULL,"
	 " inbound_id INTEGER,"
	 " state TEXT NOT NULL CHECK (state = 'queued' OR state = 'sending'"
	 " OR state = 'sent' OR state = 'delivered' OR state = 'failed'"
	 " OR state = 'rejected'),"
	 " provider TEXT NOT NULL,"
	 " provider_id TEXT,"
	 " attempts INTEGER NOT NULL,"
	 " next_ms INTEGER NOT NULL,"
	 " error TEXT NOT NULL,"
	 " encoding TEXT NOT NULL,"
	 " segments INTEGER NOT NULL,"
	 " created_ms INTEGER NOT NULL,"
	 " updated_ms INTEGER NOT NULL,"
	 " body TEXT NOT NULL);"
	 "INSERT INTO outbox_new SELECT id, dedupe, group_id, to_addr,"
	 " from_addr, kind, inbound_id, state, provider, provider_id, attempts,"
	 " next_ms, error, encoding, segments, created_ms, updated_ms, body"
	 " FROM outbox;"
	 "DROP TABLE outbox;"
	 "ALTER TABLE outbox_new RENAME TO outbox;"
	 "CREATE INDEX outbox_due ON outbox(state, next_ms);"
	 "CREATE INDEX outbox_provider_id ON outbox(provider, provider_id)"
	 " WHERE provider_id IS NOT NULL;"
	 "CREATE INDEX outbox_to ON outbox(to_addr, id);"},
	/* PostgreSQL's processes learn of revoked keys by a trigger (see
	 * pg_schema.h); one SQLite process has nothing to tell. The version
	 * keeps the two schemas numbered alike. */
	{7, "key_notify", "SELECT 1;"},
	/* The rule PostgreSQL's version 8 states: profiles and groups are
	 * never deleted and keep their ids. Here the foreign keys stay (they
	 * cost SQLite little). */
	{8, "subscription_refs",
	 "CREATE TRIGGER users_kept BEFORE DELETE ON users"
	 " BEGIN SELECT RAISE(ABORT, 'users rows are never deleted'); END;"
	 "CREATE TRIGGER users_id_kept BEFORE UPDATE OF id ON users"
	 " WHEN OLD.id IS NOT NEW.id"
	 " BEGIN SELECT RAISE(ABORT, 'users rows keep their id'); END;"
	 "CREATE TRIGGER subscription_groups_kept"
	 " BEFORE DELETE ON subscription_groups BEGIN SELECT"
	 " RAISE(ABORT, 'subscription_groups rows are never deleted'); END;"
	 "CREATE TRIGGER subscription_groups_id_kept"
	 " BEFORE UPDATE OF id ON subscription_groups"
	 " WHEN OLD.id IS NOT NEW.id BEGIN SELECT"
	 " RAISE(ABORT, 'subscription_groups rows keep their id'); END;"},
	/* The sender looks for queued and sending messages only, which are
	 * few however long the outbox grows: an index of them alone keeps
	 * the rows that are done out of every claim and every state change
	 * after the last (sent, delivered, failed), which touch no index. */
	{9, "outbox_pending",
	 "DROP INDEX outbox_due;"
	 "CREATE INDEX outbox_queued ON outbox(next_ms)"
	 " WHERE state = 'queued';"
	 "CREATE INDEX outbox_sending ON outbox(next_ms)"
	 " WHERE state = 'sending';"},
	/* Most profiles that texted a keyword have no external_id, and a
	 * column's UNIQUE indexes its NULLs too: one more b-tree written for
	 * every new phone, for entries no lookup reads. The uniqueness moves
	 * to an index of the ids that are set. SQLite cannot drop a
	 * column's constraint, so the table is copied (ids kept) and its
	 * indexes and triggers made again. */
	{10, "users_external_id",
	 "CREATE TABLE users_new ("
	 " id INTEGER PRIMARY KEY,"
	 " external_id TEXT,"
	 " phone TEXT,"
	 " phone_valid INTEGER NOT NULL DEFAULT 0,"
	 " phone_type TEXT,"
	 " email TEXT,"
	 " attributes TEXT NOT NULL DEFAULT '{}',"
	 " created_ms INTEGER NOT NULL,"
	 " updated_ms INTEGER NOT NULL);"
	 "INSERT INTO users_new SELECT id, external_id, phone, phone_valid,"
	 " phone_type, email, attributes, created_ms, updated_ms FROM users;"
	 "DROP TABLE users;"
	 "ALTER TABLE users_new RENAME TO users;"
	 "CREATE UNIQUE INDEX users_external_id ON users(external_id)"
	 " WHERE external_id IS NOT NULL;"
	 "CREATE INDEX users_phone ON users(phone) WHERE phone IS NOT NULL;"
	 "CREATE INDEX users_email ON users(email) WHERE email IS NOT NULL;"
	 "CREATE TRIGGER users_kept BEFORE DELETE ON users"
	 " BEGIN SELECT RAISE(ABORT, 'users rows are never deleted'); END;"
	 "CREATE TRIGGER users_id_kept BEFORE UPDATE OF id ON users"
	 " WHEN OLD.id IS NOT NEW.id"
	 " BEGIN SELECT RAISE(ABORT, 'users rows keep their id'); END;"},
};

#define SQLITE_MIGRATIONS_COUNT \
	(sizeof sqlite_migrations / sizeof sqlite_migrations[0])

#endif
