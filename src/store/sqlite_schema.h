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
};

#define SQLITE_MIGRATIONS_COUNT \
	(sizeof sqlite_migrations / sizeof sqlite_migrations[0])

#endif
