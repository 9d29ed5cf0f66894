/*
 * pg: the PostgreSQL backend of store.h (libpq), for one database shared
 * by any number of optd processes.
 *
 * Connections: one PGconn per calling thread (a pthread key), as in
 * sqlite.c, taken from a pool of at most `pool` slots per process; a
 * thread that finds the pool full waits up to PG_POOL_WAIT_MS, then gets
 * STORE_UNAVAILABLE. Every statement is prepared once per connection (all
 * of them in one round trip when the connection opens).
 *
 * Pipeline: each connection stays in libpq's pipeline mode. A statement
 * whose answer nobody needs (BEGIN, SAVEPOINT, and inside a transaction
 * the writes of pg__defer) is only sent; the next statement that must be
 * waited for sends a Sync and reads every answer queued before its own,
 * returning the first error among them. Inside a transaction, new
 * profiles, subscriptions and ledger entries are not even sent at once:
 * they wait in the connection's buffer (pg_rows) and go up to
 * PG_BULK_ROWS to a statement; reads of users merge the buffered profiles
 * in, and the buffer is sent before anything that reads subscriptions or
 * the ledger, before SAVEPOINT, RELEASE, COMMIT and store_flush(), and
 * dropped by ROLLBACK (TO). The profiles a batch announced
 * (store_want_user) come back together in one round trip
 * (pg_prefetch.c). The writer thus pays a round trip per batch for its
 * lookups, one per read it did not announce, and none for its writes.
 *
 * Lost connections: any sign that the server went away (a failed send,
 * CONNECTION_BAD, SQLSTATE class 08 or 57P) drops the PGconn and yields
 * STORE_UNAVAILABLE. The next call reconnects; a failed attempt makes the
 * following ones wait PG_BACKOFF_MIN_MS, doubling up to PG_BACKOFF_MAX_MS,
 * and return STORE_UNAVAILABLE at once in between. Invariant: a
 * transaction whose connection was lost stays failed (every call but
 * store_rollback() answers STORE_UNAVAILABLE, store_commit() included)
 * until store_rollback(), so nothing is ever committed half, and a lost
 * COMMIT is reported as STORE_UNAVAILABLE, never as success.
 *
 * Durability full keeps synchronous_commit on (COMMIT returns once the
 * WAL is flushed); normal sets it off for this connection.
 */
#include "store/pg_int.h"
#include "store/pg_schema.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/utf8.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PG_POOL_WAIT_MS 5000    /* wait this long for a free pool slot */
#define PG_BACKOFF_MIN_MS 100   /* after a failed connection attempt */
#define PG_BACKOFF_MAX_MS 2000
#define PG_CONNECT_TIMEOUT "3"  /* seconds, libpq's connect_timeout */
#define PG_TCP_USER_TIMEOUT_MS "15000" /* unacknowledged data, then fail */
#define PG_NAME_MAX 16          /* "q<id>" */
#define PG_LOCK_SQL_MAX 64      /* "SELECT pg_advisory_lock(<int>)" */

#define KEY_COLS "id, name, key_hash, scopes, rate_limit, created_ms, " \
		 "coalesce(revoked_ms, 0), sdk, origins"
#define USER_COLS "id, coalesce(external_id,''), coalesce(phone,''), " \
		  "phone_valid, coalesce(phone_type,''), coalesce(email,''), " \
		  "created_ms, updated_ms"
#define LEDGER_COLS "id, time_ms, user_id, coalesce(external_id,''), " \
		    "coalesce(phone,''), coalesce(email,''), group_id, " \
		    "old_state, new_state, source, coalesce(key_name,''), " \
		    "coalesce(request_id,''), coalesce(client_addr,''), " \
		    "coalesce(evidence,'')"
#define INBOUND_COLS "id, time_ms, provider, coalesce(provider_msg_id,''), " \
		     "from_addr, to_addr, coalesce(group_id,''), category, " \
		     "lang, keyword, action, body"
/* Named, so that the claim's outer SELECT can take them by name. */
#define OUTBOX_COLS "id, dedupe, coalesce(group_id,'') AS group_id, " \
		    "to_addr, from_addr, kind, " \
		    "coalesce(inbound_id,0) AS inbound_id, state, provider, " \
		    "coalesce(provider_id,'') AS provider_id, attempts, " \
		    "next_ms, error, encoding, segments, created_ms, " \
		    "updated_ms, body"

#define EVENT_COLS "id, user_id, name, time_ms, created_ms, props"
#define FLOW_COLS "id, name, version, enabled, coalesce(entry_event,''), " \
		  "coalesce(entry_group,''), created_ms, updated_ms"
#define RUN_COLS "id, flow_id, version, user_id, state, step, attempts, " \
		 "next_ms, created_ms, updated_ms, entry_props, event_props"
#define STEP_COLS "run_id, step, attempt, time_ms, outcome, http_status, " \
		  "detail"
#define FORM_COLS "id, title, coalesce(redirect_url,''), created_ms, " \
		  "updated_ms"
/* The columns of a new run after the flow and the user, as parameters
 * typed for an INSERT ... SELECT; "" props are none. */
#define RUN_VALUES "$4::text, $5::integer, $6::integer, $7::bigint, " \
		   "$8::bigint, $9::bigint, " \
		   "coalesce(nullif($10::text,''),'{}'), nullif($11::text,'')"
#define RUN_INSERT_HEAD "INSERT INTO flow_runs (flow_id, version, user_id, " \
			"state, step, attempts, next_ms, created_ms, " \
			"updated_ms, entry_props, event_props) SELECT " \
			"$1::text, $2::integer, $3::bigint, " RUN_VALUES

/* pg_prefetch.c's: for key i (kind $1[i]: 0 phone, 1 e-mail, 2
 * external_id; value $2[i]) the profiles it names, oldest first, each
 * with its subscription in group $3[i] ('' when none), and i last. A
 * branch whose kind does not match is skipped before it reads. */
#define PF_BRANCH(cond, limit) "(SELECT " USER_COLS " FROM users WHERE " \
			       cond " ORDER BY id" limit ")"

/*
 * A subscription row names a profile and a group that exist: subscriptions
 * have no foreign keys (pg_schema.h, version 8), so each row looks both up
 * by primary key, which costs a fraction of a foreign key's check (a query
 * through SPI taking a row lock), and a missing one fails the statement
 * as a foreign key would (optd_missing() raises 23503). The lookups are
 * scalar subqueries, run once per row whatever the tables' sizes: a join
 * could be planned as a scan of users while the table is young and stay
 * so in the prepared statement as it grows.
 */
#define SUB_INSERT_HEAD                                                     \
	"INSERT INTO subscriptions (user_id, group_id, state, source, "     \
	"double_opt_in, since_ms) SELECT coalesce((SELECT u.id FROM users " \
	"u WHERE u.id = v.uid), optd_missing(v.uid, 'users')), "            \
	"coalesce((SELECT g.id FROM subscription_groups g WHERE g.id = "    \
	"v.gid), optd_missing(v.gid, 'subscription_groups')), v.st, v.src, " \
	"v.doi, v.since FROM (VALUES "
#define SUB_INSERT_TAIL                                                     \
	") v(uid, gid, st, src, doi, since) "                               \
	"ON CONFLICT (user_id, group_id) DO UPDATE SET "                    \
	"state = excluded.state, source = excluded.source, "                \
	"double_opt_in = excluded.double_opt_in, "                          \
	"since_ms = excluded.since_ms"
/* Text is ordered byte by byte, as SQLite does, whatever the database's
 * collation. */
static const char *const sql_text[P__COUNT] = {
	[P_KEY_INSERT] = "INSERT INTO api_keys (name, key_hash, scopes, "
			 "rate_limit, created_ms, sdk, origins) "
			 "VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id",
	[P_KEY_BY_HASH] = "SELECT " KEY_COLS " FROM api_keys "
			  "WHERE key_hash = $1 AND revoked_ms IS NULL",
	[P_KEY_BY_NAME] = "SELECT " KEY_COLS " FROM api_keys "
			  "WHERE name = $1 AND revoked_ms IS NULL",
	[P_KEY_GET] = "SELECT " KEY_COLS " FROM api_keys WHERE id = $1",
	[P_KEY_REVOKE] = "UPDATE api_keys SET revoked_ms = $1 "
			 "WHERE id = $2 AND revoked_ms IS NULL",
	[P_KEY_LIST] = "SELECT " KEY_COLS " FROM api_keys ORDER BY id",
	[P_KEY_ORIGIN_KNOWN] = "SELECT 1 FROM api_keys WHERE sdk = 1 AND "
			       "revoked_ms IS NULL AND strpos(' ' || origins "
			       "|| ' ', ' ' || $1 || ' ') > 0 LIMIT 1",
	[P_GROUP_INSERT] = "INSERT INTO subscription_groups (id, name, "
			   "channel, double_opt_in, created_ms, updated_ms) "
			   "VALUES ($1,$2,$3,$4,$5,$6)",
	[P_GROUP_GET] = "SELECT id, name, channel, double_opt_in, created_ms, "
			"updated_ms FROM subscription_groups WHERE id = $1",
	[P_GROUP_UPDATE] = "UPDATE subscription_groups SET name = $1, "
			   "double_opt_in = $2, updated_ms = $3 WHERE id = $4",
	[P_GROUP_LIST] = "SELECT id, name, channel, double_opt_in, "
			 "created_ms, updated_ms FROM subscription_groups "
			 "ORDER BY created_ms, id COLLATE \"C\"",
	[P_NUMBER_ADD] = "INSERT INTO group_numbers (number, group_id) "
			 "VALUES ($1,$2)",
	[P_NUMBERS_CLEAR] = "DELETE FROM group_numbers WHERE group_id = $1",
	[P_NUMBER_OWNER] = "SELECT group_id FROM group_numbers "
			   "WHERE number = $1",
	[P_GROUP_NUMBERS] = "SELECT number FROM group_numbers "
			    "WHERE group_id = $1 ORDER BY number COLLATE \"C\"",
	[P_USER_GET] = "SELECT " USER_COLS " FROM users WHERE id = $1",
	[P_USER_BY_EXT] = "SELECT " USER_COLS " FROM users "
			  "WHERE external_id = $1",
	[P_USERS_BY_PHONE] = "SELECT id FROM users WHERE phone = $1 "
			     "ORDER BY id LIMIT $2",
	[P_USERS_BY_EMAIL] = "SELECT id FROM users WHERE email = $1 "
			     "ORDER BY id LIMIT $2",
	[P_USER_INSERT] = "INSERT INTO users (external_id, phone, phone_valid, "
			  "phone_type, email, created_ms, updated_ms) "
			  "VALUES (nullif($1,''), nullif($2,''), $3, "
			  "nullif($4,''), nullif($5,''), $6, $7) RETURNING id",
	[P_USER_UPDATE_CONTACT] = "UPDATE users SET phone = nullif($1,''), "
				  "phone_valid = $2, phone_type = "
				  "nullif($3,''), email = nullif($4,''), "
				  "updated_ms = $5 WHERE id = $6",
	[P_SUB_GET] = "SELECT state, since_ms FROM subscriptions "
		      "WHERE user_id = $1 AND group_id = $2",
	[P_SUB_PUT] = SUB_INSERT_HEAD "($1::bigint,$2::text,$3::text,"
		      "$4::text,$5::integer,$6::bigint)" SUB_INSERT_TAIL,
	[P_USER_SUBS] = "SELECT s.group_id, g.name, g.channel, s.state, "
			"s.since_ms FROM subscriptions s JOIN "
			"subscription_groups g ON g.id = s.group_id "
			"WHERE s.user_id = $1 ORDER BY s.group_id COLLATE \"C\"",
	[P_LEDGER_APPEND] = "INSERT INTO consent_ledger (time_ms, user_id, "
			    "external_id, phone, email, group_id, old_state, "
			    "new_state, source, key_name, request_id, "
			    "client_addr, evidence) VALUES ($1, $2, "
			    "nullif($3,''), nullif($4,''), nullif($5,''), $6, "
			    "$7, $8, $9, nullif($10,''), nullif($11,''), "
			    "nullif($12,''), nullif($13,''))",
	[P_LEDGER_BY_PHONE] = "SELECT " LEDGER_COLS " FROM consent_ledger "
			      "WHERE phone = $1 AND id > $2 ORDER BY id "
			      "LIMIT $3",
	[P_LEDGER_BY_EMAIL] = "SELECT " LEDGER_COLS " FROM consent_ledger "
			      "WHERE email = $1 AND id > $2 ORDER BY id "
			      "LIMIT $3",
	[P_LEDGER_BY_EXT] = "SELECT " LEDGER_COLS " FROM consent_ledger "
			    "WHERE external_id = $1 AND id > $2 ORDER BY id "
			    "LIMIT $3",
	[P_GROUP_SMS_GET] = "SELECT sms_config FROM subscription_groups "
			    "WHERE id = $1",
	[P_GROUP_SMS_SET] = "UPDATE subscription_groups SET sms_config = $1, "
			    "updated_ms = $2 WHERE id = $3",
	/* A duplicate answers no row instead of failing: a failed statement
	 * would abort the writer's whole transaction. */
	[P_INBOUND_INSERT] = "INSERT INTO inbound (time_ms, provider, "
			     "provider_msg_id, from_addr, to_addr, group_id, "
			     "category, lang, keyword, action, body) VALUES "
			     "($1, $2, nullif($3,''), $4, $5, nullif($6,''), "
			     "$7, $8, $9, $10, $11) ON CONFLICT (provider, "
			     "provider_msg_id) DO NOTHING RETURNING id",
	[P_INBOUND_GET] = "SELECT " INBOUND_COLS " FROM inbound "
			  "WHERE provider = $1 AND provider_msg_id = $2",
	[P_INBOUND_LIST] = "SELECT " INBOUND_COLS " FROM inbound "
			   "WHERE id > $1 ORDER BY id LIMIT $2",
	[P_OUTBOX_INSERT] = "INSERT INTO outbox (dedupe, group_id, to_addr, "
			    "from_addr, kind, inbound_id, state, provider, "
			    "provider_id, attempts, next_ms, error, encoding, "
			    "segments, created_ms, updated_ms, body) VALUES "
			    "($1, nullif($2,''), $3, $4, $5, "
			    "nullif($6::bigint,0), $7, $8, nullif($9,''), $10, "
			    "$11, $12, $13, $14, $15, $16, $17) "
			    "ON CONFLICT (dedupe) DO NOTHING RETURNING id",
	/* SKIP LOCKED: a message another sender is claiming right now is
	 * passed over, not waited for; one whose claim has committed no
	 * longer matches. RETURNING has no order of its own. */
	[P_OUTBOX_CLAIM] = "WITH c AS (UPDATE outbox SET state = 'sending', "
			   "next_ms = $2, updated_ms = $1, "
			   "attempts = attempts + 1 WHERE id IN "
			   "(SELECT id FROM ("
			   "SELECT * FROM (SELECT id, next_ms FROM outbox "
			   "WHERE state = 'queued' AND next_ms <= $1 ORDER BY "
			   "next_ms LIMIT $3 FOR UPDATE SKIP LOCKED) q UNION ALL "
			   "SELECT * FROM (SELECT id, next_ms FROM outbox "
			   "WHERE state = 'sending' AND next_ms <= $1 ORDER BY "
			   "next_ms LIMIT $3 FOR UPDATE SKIP LOCKED) s) d "
			   "ORDER BY next_ms, id LIMIT $3) "
			   "RETURNING " OUTBOX_COLS ") "
			   "SELECT * FROM c ORDER BY id",
	[P_OUTBOX_UPDATE] = "UPDATE outbox SET state = $1, provider = $2, "
			    "provider_id = nullif($3,''), attempts = $4, "
			    "next_ms = $5, error = $6, updated_ms = $7 "
			    "WHERE id = $8",
	[P_OUTBOX_GET] = "SELECT " OUTBOX_COLS " FROM outbox WHERE id = $1",
	[P_OUTBOX_BY_PROVIDER_ID] = "SELECT " OUTBOX_COLS " FROM outbox "
				    "WHERE provider = $1 AND provider_id = $2"
				    " ORDER BY id LIMIT 1",
	[P_OUTBOX_LIST] = "SELECT " OUTBOX_COLS " FROM outbox WHERE id > $1 "
			  "AND ($2 = '' OR state = $2) ORDER BY id LIMIT $3",
	[P_OUTBOX_LIST_TO] = "SELECT " OUTBOX_COLS " FROM outbox "
			     "WHERE to_addr = $4 AND id > $1 "
			     "AND ($2 = '' OR state = $2) ORDER BY id LIMIT $3",
	[P_OUTBOX_NEXT_DUE] = "SELECT min(next_ms) FROM outbox "
			      "WHERE state = 'queued'",
	[P_DOI_GET] = "SELECT since_ms FROM doi_pending "
		      "WHERE phone = $1 AND group_id = $2",
	[P_DOI_PUT] = "INSERT INTO doi_pending (phone, group_id, since_ms) "
		      "VALUES ($1,$2,$3) ON CONFLICT (phone, group_id) "
		      "DO UPDATE SET since_ms = excluded.since_ms",
	[P_DOI_DELETE] = "DELETE FROM doi_pending "
			 "WHERE phone = $1 AND group_id = $2",
	[P_USER_ATTRS_GET] = "SELECT attributes FROM users WHERE id = $1",
	[P_USER_ATTRS_SET] = "UPDATE users SET attributes = $1, "
			     "updated_ms = $2 WHERE id = $3",
	[P_USER_BY_ALIAS] = "SELECT " USER_COLS " FROM users WHERE id = "
			    "(SELECT user_id FROM user_aliases "
			    "WHERE label = $1 AND name = $2)",
	/* The holder adding it again changes nothing and is no error;
	 * another user's is no row, not an error (see P_INBOUND_INSERT). */
	[P_ALIAS_ADD] = "INSERT INTO user_aliases (label, name, user_id) "
			"VALUES ($1,$2,$3) ON CONFLICT (label, name) DO UPDATE "
			"SET user_id = excluded.user_id "
			"WHERE user_aliases.user_id = excluded.user_id",
	[P_EVENT_INSERT] = "INSERT INTO events (user_id, name, time_ms, "
			   "created_ms, props) VALUES ($1, $2, $3, $4, "
			   "coalesce(nullif($5,''),'{}')) RETURNING id",
	[P_EVENTS_BY_USER] = "SELECT " EVENT_COLS " FROM events "
			     "WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
	[P_PURCHASE_INSERT] = "INSERT INTO purchases (user_id, product_id, "
			      "currency, price, quantity, time_ms, props) "
			      "VALUES ($1, $2, $3, $4, $5, $6, "
			      "coalesce(nullif($7,''),'{}'))",
	[P_IDEM_GET] = "SELECT status, body FROM idempotency "
		       "WHERE route = $1 AND key = $2",
	[P_IDEM_PUT] = "INSERT INTO idempotency (route, key, status, body, "
		       "created_ms) VALUES ($1,$2,$3,$4,$5) "
		       "ON CONFLICT (route, key) DO NOTHING",
	/* A flow and its first version in one statement: both or neither;
	 * a taken id makes no row. */
	[P_FLOW_INSERT] = "WITH f AS (INSERT INTO flows (id, name, version, "
			  "enabled, entry_event, entry_group, created_ms, "
			  "updated_ms) VALUES ($1, $2, 1, $3, nullif($4,''), "
			  "nullif($5,''), $6, $7) ON CONFLICT (id) DO NOTHING "
			  "RETURNING id, created_ms) INSERT INTO flow_versions "
			  "(flow_id, version, def, created_ms) "
			  "SELECT id, 1, $8::text, created_ms FROM f",
	/* The row lock on the flow gives concurrent saves distinct
	 * versions. */
	[P_FLOW_NEW_VERSION] = "WITH f AS (UPDATE flows SET version = "
			       "version + 1, name = $2, entry_event = "
			       "nullif($3,''), entry_group = nullif($4,''), "
			       "updated_ms = $5 WHERE id = $1 RETURNING id, "
			       "version, updated_ms) INSERT INTO flow_versions "
			       "(flow_id, version, def, created_ms) SELECT id, "
			       "version, $6::text, updated_ms FROM f "
			       "RETURNING version",
	[P_FLOW_GET] = "SELECT " FLOW_COLS " FROM flows WHERE id = $1",
	[P_FLOW_DEF] = "SELECT def FROM flow_versions "
		       "WHERE flow_id = $1 AND version = $2",
	[P_FLOW_SET_ENABLED] = "UPDATE flows SET enabled = $1, "
			       "updated_ms = $2 WHERE id = $3",
	[P_FLOW_LIST] = "SELECT " FLOW_COLS " FROM flows "
			"ORDER BY id COLLATE \"C\"",
	[P_FLOWS_FOR_EVENT] = "SELECT " FLOW_COLS " FROM flows "
			      "WHERE entry_event = $1 AND enabled = 1 "
			      "ORDER BY id COLLATE \"C\"",
	[P_FLOWS_FOR_GROUP] = "SELECT " FLOW_COLS " FROM flows "
			      "WHERE entry_group = $1 AND enabled = 1 "
			      "ORDER BY id COLLATE \"C\"",
	[P_RUN_INSERT] = RUN_INSERT_HEAD " RETURNING id",
	/* Re-entry off: a run only when the user has none of this flow and
	 * takes its flow_entries key. A concurrent taker of that key makes
	 * this statement wait for its transaction, then find the key taken:
	 * no row either way, never an error (see P_INBOUND_INSERT). */
	[P_RUN_INSERT_ONCE] = "WITH e AS (INSERT INTO flow_entries (flow_id, "
			      "user_id) SELECT $1::text, $3::bigint WHERE NOT "
			      "EXISTS (SELECT 1 FROM flow_runs WHERE flow_id = "
			      "$1::text AND user_id = $3::bigint) ON CONFLICT "
			      "DO NOTHING RETURNING 1) " RUN_INSERT_HEAD
			      " FROM e RETURNING id",
	/* As P_OUTBOX_CLAIM. */
	[P_RUN_CLAIM] = "WITH c AS (UPDATE flow_runs SET state = 'running', "
			"next_ms = $2, updated_ms = $1 WHERE id IN "
			"(SELECT id FROM ("
			"SELECT * FROM (SELECT id, next_ms FROM flow_runs "
			"WHERE state = 'active' AND next_ms <= $1 ORDER BY "
			"next_ms LIMIT $3 FOR UPDATE SKIP LOCKED) a UNION ALL "
			"SELECT * FROM (SELECT id, next_ms FROM flow_runs "
			"WHERE state = 'running' AND next_ms <= $1 ORDER BY "
			"next_ms LIMIT $3 FOR UPDATE SKIP LOCKED) r) d "
			"ORDER BY next_ms, id LIMIT $3) "
			"RETURNING " RUN_COLS ") SELECT * FROM c ORDER BY id",
	[P_RUN_UPDATE] = "UPDATE flow_runs SET state = $1, step = $2, "
			 "attempts = $3, next_ms = $4, updated_ms = $5 "
			 "WHERE id = $6",
	[P_RUN_GET] = "SELECT " RUN_COLS " FROM flow_runs WHERE id = $1",
	[P_RUNS_BY_FLOW] = "SELECT " RUN_COLS " FROM flow_runs "
			   "WHERE flow_id = $1 ORDER BY id DESC LIMIT $2",
	[P_RUN_NEXT_DUE] = "SELECT min(next_ms) FROM flow_runs "
			   "WHERE state = 'active'",
	[P_RUN_LAST_ENTRY] = "SELECT max(created_ms) FROM flow_runs "
			     "WHERE flow_id = $1 AND user_id = $2",
	[P_STEP_LOG_ADD] = "INSERT INTO step_logs (run_id, step, attempt, "
			   "time_ms, outcome, http_status, detail) "
			   "VALUES ($1,$2,$3,$4,$5,$6,$7)",
	[P_STEP_LOGS] = "SELECT " STEP_COLS " FROM step_logs "
			"WHERE run_id = $1 ORDER BY id",
	[P_TEXT_PUT] = "INSERT INTO consent_texts (sha256, text, created_ms) "
		       "VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING",
	[P_TEXT_GET] = "SELECT text FROM consent_texts WHERE sha256 = $1",
	/* The form and its groups in one statement, so neither is ever
	 * there without the other; group ids and hashes never hold ','
	 * (pg_form.c checks). No form row: the id was taken. */
	[P_FORM_INSERT] = "WITH f AS (INSERT INTO forms (id, title, "
			  "redirect_url, created_ms, updated_ms) VALUES ($1, "
			  "$2, nullif($3,''), $4, $5) ON CONFLICT (id) DO "
			  "NOTHING RETURNING id), g AS (INSERT INTO "
			  "form_groups (form_id, pos, group_id, "
			  "consent_sha256) SELECT f.id, x.pos - 1, x.gid, "
			  "x.sha FROM f, unnest(string_to_array($6, ','), "
			  "string_to_array($7, ',')) WITH ORDINALITY "
			  "AS x(gid, sha, pos) RETURNING 1) "
			  "SELECT (SELECT count(*) FROM f), "
			  "(SELECT count(*) FROM g)",
	[P_FORM_GET] = "SELECT " FORM_COLS " FROM forms WHERE id = $1",
	[P_FORM_GROUPS] = "SELECT group_id, consent_sha256 FROM form_groups "
			  "WHERE form_id = $1 ORDER BY pos",
	[P_FORM_LIST] = "SELECT " FORM_COLS " FROM forms "
			"ORDER BY id COLLATE \"C\"",
	[P_SECRET_PUT] = "INSERT INTO secrets (name, value, created_ms) "
			 "VALUES ($1, $2, (extract(epoch FROM now()) * 1000)"
			 "::bigint) ON CONFLICT (name) DO NOTHING",
	[P_SECRET_GET] = "SELECT value FROM secrets WHERE name = $1",
	[P_BEGIN] = "BEGIN",
	[P_COMMIT] = "COMMIT",
	[P_ROLLBACK] = "ROLLBACK",
	[P_SAVEPOINT] = "SAVEPOINT req",
	[P_RELEASE] = "RELEASE SAVEPOINT req",
	[P_ROLLBACK_TO] = "ROLLBACK TO SAVEPOINT req",
	[P_PING] = "SELECT count(*) FROM schema_migrations",
	[P_STMT_SAVEPOINT] = "SAVEPOINT stmt",
	[P_STMT_RELEASE] = "RELEASE SAVEPOINT stmt",
	[P_STMT_ROLLBACK_TO] = "ROLLBACK TO SAVEPOINT stmt",
	/* The sequence is looked up once, not once per id. */
	/* $2: the sequence's OID, found once at start (users_seq_of());
	 * pg_get_serial_sequence() here cost a catalog scan a block. */
	[P_USER_IDS] = "SELECT nextval($2::regclass) FROM generate_series(1, $1)",
	[P_USER_INSERT_ID] = "INSERT INTO users (id, external_id, phone, "
			     "phone_valid, phone_type, email, created_ms, "
			     "updated_ms) VALUES ($1, nullif($2,''), "
			     "nullif($3,''), $4, nullif($5,''), "
			     "nullif($6,''), $7, $8)",
	/* P_SUB_BULK, P_LEDGER_BULK, P_USER_BULK: see bulk_sql_init(). */
	[P_PF_USERS] = "SELECT u.*, coalesce(s.state,''), "
		       "coalesce(s.since_ms,0), k.i FROM unnest($1::int[], "
		       "$2::text[], $3::text[]) WITH ORDINALITY k(b, v, g, i) "
		       "CROSS JOIN LATERAL ("
		       PF_BRANCH("k.b = 0 AND phone = k.v", " LIMIT $4")
		       " UNION ALL "
		       PF_BRANCH("k.b = 1 AND email = k.v", " LIMIT $4")
		       " UNION ALL "
		       PF_BRANCH("k.b = 2 AND external_id = k.v", "")
		       ") u(id, ext, phone, pv, pt, email, c, m) LEFT JOIN "
		       "subscriptions s ON s.user_id = u.id AND s.group_id = "
		       "k.g ORDER BY k.i, u.id",
};

#define SUB_COLS 6     /* parameters of one subscription row */
#define USER_COLS_N 8  /* parameters of one users row */
#define LEDGER_COLS_N 13 /* parameters of one ledger row */
#define PG_BULK_SQL_MAX 16384

/* sub, ledger, user; 2, 3, ... PG_BULK_ROWS rows */
static char bulk_sql[3][PG_BULK_SIZES][PG_BULK_SQL_MAX];
static pthread_once_t bulk_once = PTHREAD_ONCE_INIT;

/* Rows in the bulk statement of size index i. */
#define BULK_ROWS_OF(i) ((i) + 2)
_Static_assert(BULK_ROWS_OF(PG_BULK_SIZES - 1) == PG_BULK_ROWS,
	       "the largest bulk statement holds PG_BULK_ROWS rows");

static void bulk_rows(char *dst, size_t cap, int rows, const char *head,
		      const char *row_fmt, int cols, const char *tail)
{
	size_t n = (size_t)snprintf(dst, cap, "%s", head);
	int p[LEDGER_COLS_N];

	for (int r = 0; r < rows && n < cap; r++) {
		for (int k = 0; k < LEDGER_COLS_N; k++)
			p[k] = r * cols + k + 1;
		n += (size_t)snprintf(dst + n, cap - n, "%s", r ? "," : "");
		if (n < cap)
			n += (size_t)snprintf(dst + n, cap - n, row_fmt, p[0],
					      p[1], p[2], p[3], p[4], p[5],
					      p[6], p[7], p[8], p[9], p[10],
					      p[11], p[12]);
	}
	if (n < cap)
		snprintf(dst + n, cap - n, "%s", tail);
}

/* The three bulk statements of size index i. */
static void bulk_sql_size(int i)
{
	int rows = BULK_ROWS_OF(i);

	bulk_rows(bulk_sql[0][i], PG_BULK_SQL_MAX, rows, SUB_INSERT_HEAD,
		  "($%d::bigint,$%d::text,$%d::text,$%d::text,$%d::integer,"
		  "$%d::bigint)", SUB_COLS, SUB_INSERT_TAIL);
	bulk_rows(bulk_sql[1][i], PG_BULK_SQL_MAX, rows,
		  "INSERT INTO consent_ledger (time_ms, user_id, external_id, "
		  "phone, email, group_id, old_state, new_state, source, "
		  "key_name, request_id, client_addr, evidence) VALUES ",
		  "($%d::bigint,$%d::bigint,nullif($%d::text,''),"
		  "nullif($%d::text,''),nullif($%d::text,''),$%d::text,"
		  "$%d::text,$%d::text,$%d::text,nullif($%d::text,''),"
		  "nullif($%d::text,''),nullif($%d::text,''),"
		  "nullif($%d::text,''))", LEDGER_COLS_N, "");
	bulk_rows(bulk_sql[2][i], PG_BULK_SQL_MAX, rows,
		  "INSERT INTO users (id, external_id, phone, phone_valid, "
		  "phone_type, email, created_ms, updated_ms) VALUES ",
		  "($%d::bigint,nullif($%d::text,''),nullif($%d::text,''),"
		  "$%d::integer,nullif($%d::text,''),nullif($%d::text,''),"
		  "$%d::bigint,$%d::bigint)", USER_COLS_N, "");
}

static void bulk_sql_init(void)
{
	for (int i = 0; i < PG_BULK_SIZES; i++)
		bulk_sql_size(i);
}

static int is_bulk(int q)
{
	return q >= P_SUB_BULK && q < P_USER_BULK + PG_BULK_SIZES;
}

static const char *statement_text(int q)
{
	if (is_bulk(q)) {
		pthread_once(&bulk_once, bulk_sql_init);
		return bulk_sql[(q - P_SUB_BULK) / PG_BULK_SIZES]
			       [(q - P_SUB_BULK) % PG_BULK_SIZES];
	}
	return sql_text[q];
}

/* Statements before which the buffered rows must be sent: they read the
 * buffered tables, or end a unit whose errors must be known. */
static const unsigned char needs_rows[P__COUNT] = {
	[P_SUB_GET] = 1, [P_USER_SUBS] = 1, [P_LEDGER_BY_PHONE] = 1,
	[P_LEDGER_BY_EMAIL] = 1, [P_LEDGER_BY_EXT] = 1, [P_COMMIT] = 1,
	[P_SAVEPOINT] = 1, [P_RELEASE] = 1, [P_STMT_SAVEPOINT] = 1,
	/* These read or refer to users, which may still be buffered. */
	[P_USER_ATTRS_GET] = 1, [P_USER_ATTRS_SET] = 1, [P_ALIAS_ADD] = 1,
	[P_EVENT_INSERT] = 1, [P_PURCHASE_INSERT] = 1, [P_RUN_INSERT] = 1,
	[P_RUN_INSERT_ONCE] = 1,
	/* What it fetches must hold the transaction's writes. */
	[P_PF_USERS] = 1,
};

typedef struct {
	int64_t user;
	char group[IDENT_GROUP_ID_MAX + 1];
	consent_state state;
	consent_source src;
	int doi;
	int64_t since_ms;
} sub_row;

/* Rows waiting to be sent (see pg_int.h); one per connection, made on
 * first use (only the writer's connection needs one). */
typedef struct {
	int n_user, n_sub, n_led;
	store_user user[PG_BULK_ROWS];
	sub_row sub[PG_BULK_ROWS];
	store_ledger led[PG_BULK_ROWS];
	const char *v[PG_BULK_ROWS * LEDGER_COLS_N];
	char num[PG_BULK_ROWS * 4][PG_NUM_MAX];
} pg_rows;

/* Statements that only read: text that is not UTF-8 cannot match a row,
 * so they answer "no rows" rather than send it (PostgreSQL refuses it). */
static const unsigned char is_read[P__COUNT] = {
	[P_KEY_BY_HASH] = 1, [P_KEY_BY_NAME] = 1, [P_KEY_GET] = 1,
	[P_KEY_LIST] = 1, [P_KEY_ORIGIN_KNOWN] = 1, [P_GROUP_GET] = 1,
	[P_GROUP_LIST] = 1,
	[P_NUMBER_OWNER] = 1, [P_GROUP_NUMBERS] = 1, [P_USER_GET] = 1,
	[P_USER_BY_EXT] = 1, [P_USERS_BY_PHONE] = 1, [P_USERS_BY_EMAIL] = 1,
	[P_SUB_GET] = 1, [P_USER_SUBS] = 1, [P_LEDGER_BY_PHONE] = 1,
	[P_LEDGER_BY_EMAIL] = 1, [P_LEDGER_BY_EXT] = 1, [P_PING] = 1,
	[P_USER_IDS] = 1, [P_GROUP_SMS_GET] = 1, [P_INBOUND_GET] = 1,
	[P_INBOUND_LIST] = 1,
	[P_OUTBOX_GET] = 1, [P_OUTBOX_BY_PROVIDER_ID] = 1, [P_OUTBOX_LIST] = 1,
	[P_OUTBOX_LIST_TO] = 1, [P_OUTBOX_NEXT_DUE] = 1, [P_DOI_GET] = 1,
	[P_USER_ATTRS_GET] = 1, [P_USER_BY_ALIAS] = 1, [P_EVENTS_BY_USER] = 1,
	[P_IDEM_GET] = 1, [P_FLOW_GET] = 1, [P_FLOW_DEF] = 1, [P_FLOW_LIST] = 1,
	[P_FLOWS_FOR_EVENT] = 1, [P_FLOWS_FOR_GROUP] = 1, [P_RUN_GET] = 1,
	[P_RUNS_BY_FLOW] = 1, [P_RUN_NEXT_DUE] = 1, [P_STEP_LOGS] = 1,
	[P_RUN_LAST_ENTRY] = 1,
	[P_TEXT_GET] = 1, [P_FORM_GET] = 1, [P_FORM_GROUPS] = 1,
	[P_FORM_LIST] = 1, [P_SECRET_GET] = 1,
	[P_PF_USERS] = 1,
};

typedef struct pconn {
	PGconn *db;          /* NULL while disconnected */
	int queued;          /* statements sent whose answers are unread */
	int in_tx;           /* BEGIN sent, no COMMIT or ROLLBACK yet */
	uint64_t tx_id;      /* store_tx_id() while in_tx */
	int lost_tx;         /* the connection died inside that transaction */
	int lost;            /* the last wait saw the connection die */
	int64_t retry_at_ms; /* no connection attempt before this */
	unsigned backoff_ms;
	int64_t ids[PG_ID_BLOCK]; /* users.id values taken ahead */
	int n_ids, next_id;
	pg_rows *rows;            /* buffered rows, NULL until needed */
	pg_pf *pf;                /* profiles fetched ahead, or NULL */
	int keys_changed;         /* the transaction changed api_keys */
	int bulk_ready;           /* the bulk statements are prepared */
	struct pconn *next;
} pconn;

typedef struct pg_store {
	store base; /* first: store.c sees only this */
	char url[STORE_URL_MAX];
	store_durability dur;
	unsigned pool_max, pool_used;
	pthread_key_t tls;
	pthread_mutex_t mu; /* guards conns and pool_used */
	pthread_cond_t freed;
	pconn *conns;
	pg_keys *keys; /* live API keys kept (pg_keys.c) */
	char users_seq[PG_NUM_MAX]; /* OID of users.id's sequence */
} pg_store;

#define PG(st) ((pg_store *)(st))

static const store_vt pg_vt;

/* ---- errors ---- */

static int sqlstate_is(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static store_err map_result(PGconn *db, const PGresult *r)
{
	const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	if (!db || PQstatus(db) == CONNECTION_BAD || sqlstate_is(s, "08") ||
	    sqlstate_is(s, "57P"))
		return STORE_UNAVAILABLE;
	if (!r)
		return STORE_NOMEM;
	if (sqlstate_is(s, "23505"))
		return STORE_CONFLICT;
	if (sqlstate_is(s, "23"))
		return STORE_INVALID;
	/* Busy rather than broken: retrying later can succeed. */
	if (sqlstate_is(s, "40001") || sqlstate_is(s, "40P01") ||
	    sqlstate_is(s, "53") || sqlstate_is(s, "55P03") ||
	    sqlstate_is(s, "58"))
		return STORE_UNAVAILABLE;
	log_error("postgres: %s (SQLSTATE %s)", PQresultErrorMessage(r),
		  s ? s : "?");
	return STORE_IO;
}

/* ---- connections ---- */

/* What the server says outside an answer (a notice, or why it ends the
 * connection) goes to optd's log, not bare to stderr. */
static void notice_log(void *arg, const char *msg)
{
	size_t n = strlen(msg);

	(void)arg;
	while (n > 0 && msg[n - 1] == '\n')
		n--;
	log_warn("postgres: %.*s", (int)n, msg);
}

static PGconn *connect_raw(pg_store *st, const char *app)
{
	/* Defaults first: the URL's own settings win over them. */
	/* Keepalives and tcp_user_timeout turn a server that vanished
	 * without a word (a cut network) into an error within seconds
	 * instead of a wait without end. */
	const char *kw[] = {"connect_timeout", "application_name",
			    "keepalives_idle", "keepalives_interval",
			    "keepalives_count", "tcp_user_timeout", "dbname",
			    NULL};
	const char *val[] = {PG_CONNECT_TIMEOUT, app, "10", "5", "3",
			     PG_TCP_USER_TIMEOUT_MS, st->url, NULL};
	PGconn *db = PQconnectdbParams(kw, val, 1);

	if (db && PQstatus(db) == CONNECTION_OK) {
		PQsetNoticeProcessor(db, notice_log, NULL);
		return db;
	}
	log_warn("postgres: cannot connect: %s",
		 db ? PQerrorMessage(db) : "out of memory");
	PQfinish(db);
	return NULL;
}

static void rows_drop(pconn *c)
{
	if (c->rows)
		c->rows->n_user = c->rows->n_sub = c->rows->n_led = 0;
}

static void conn_drop(pconn *c)
{
	PQfinish(c->db);
	c->db = NULL;
	c->queued = 0;
	rows_drop(c);
	pg__pf_clear(c->pf);
	if (c->in_tx)
		c->lost_tx = 1;
}

/*
 * Send a Sync and read every answer up to it. The answer of the last
 * statement sent is kept in *last (when last is not NULL and all went
 * well), and fn (when not NULL) sees those of the last n statements until
 * one fails; the first error among the answers is returned.
 */
static store_err conn_wait_each(pconn *c, PGresult **last, int n,
				pg_answer_fn fn, void *ctx)
{
	store_err first = STORE_OK;
	PGresult *keep = NULL;
	int seen = 0, nulls = 0, dead = 0, want = c->queued;

	if (last)
		*last = NULL;
	c->lost = 0;
	if (!PQpipelineSync(c->db))
		goto lost;
	for (;;) {
		PGresult *r = PQgetResult(c->db);
		ExecStatusType s;

		if (!r) {
			/* NULL ends each statement's answers; several in a
			 * row mean nothing more will come. */
			if (PQstatus(c->db) == CONNECTION_BAD || ++nulls > 2)
				goto lost;
			continue;
		}
		nulls = 0;
		s = PQresultStatus(r);
		if (s == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			break;
		}
		seen++;
		if (s == PGRES_FATAL_ERROR) {
			const char *code =
				PQresultErrorField(r, PG_DIAG_SQLSTATE);
			dead |= sqlstate_is(code, "08") ||
				sqlstate_is(code, "57P");
		}
		if (!first && s == PGRES_FATAL_ERROR)
			first = map_result(c->db, r);
		else if (!first && s == PGRES_PIPELINE_ABORTED)
			first = STORE_IO;
		else if (!first && s != PGRES_COMMAND_OK &&
			 s != PGRES_TUPLES_OK)
			first = map_result(c->db, r);
		if (fn && !first && seen > want - n)
			fn(ctx, seen - 1 - (want - n), r);
		if (last && seen == want && !keep)
			keep = r;
		else
			PQclear(r);
	}
	c->queued = 0;
	if (PQstatus(c->db) == CONNECTION_BAD || dead)
		goto lost;
	if (first) {
		/* Busy (deadlock, serialization, resources): the connection
		 * is fine and the transaction, if any, is the caller's to
		 * roll back. */
		PQclear(keep);
		return first;
	}
	if (last)
		*last = keep;
	return STORE_OK;
lost:
	PQclear(keep);
	log_warn("postgres: connection lost%s",
		 c->in_tx ? " inside a transaction" : "");
	conn_drop(c);
	c->lost = 1;
	return STORE_UNAVAILABLE;
}

static store_err conn_wait(pconn *c, PGresult **last)
{
	return conn_wait_each(c, last, 0, NULL, NULL);
}

/* Open c->db in pipeline mode with every statement prepared but the bulk
 * ones (only a writing thread's transactions use them). */
static store_err conn_open(pg_store *st, pconn *c)
{
	int64_t now = clock_now_ms();
	PGresult *r;
	char name[PG_NAME_MAX];
	store_err err;

	if (now < c->retry_at_ms)
		return STORE_UNAVAILABLE;
	c->db = connect_raw(st, "optd");
	if (!c->db)
		goto failed;
	r = PQexec(c->db, st->dur == STORE_DURABLE_FULL
				  ? "SET synchronous_commit TO on"
				  : "SET synchronous_commit TO off");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		PQclear(r);
		goto failed;
	}
	PQclear(r);
	if (!PQenterPipelineMode(c->db))
		goto failed;
	c->queued = 0;
	c->bulk_ready = 0;
	for (int q = 0; q < P__COUNT; q++) {
		if (is_bulk(q))
			continue; /* prepare_bulk(), by the threads that write */
		snprintf(name, sizeof name, "q%d", q);
		if (!PQsendPrepare(c->db, name, statement_text(q), 0, NULL))
			goto failed;
		c->queued++;
	}
	err = conn_wait(c, NULL);
	if (err) {
		log_error("postgres: cannot prepare statements: %s",
			  store_strerror(err));
		goto failed;
	}
	c->backoff_ms = 0;
	return STORE_OK;
failed:
	PQfinish(c->db);
	c->db = NULL;
	c->queued = 0;
	c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : PG_BACKOFF_MIN_MS;
	if (c->backoff_ms > PG_BACKOFF_MAX_MS)
		c->backoff_ms = PG_BACKOFF_MAX_MS;
	c->retry_at_ms = now + c->backoff_ms;
	return STORE_UNAVAILABLE;
}

/* The calling thread's slot, taken from the pool on first use. */
static pconn *slot_get(pg_store *st, store_err *err)
{
	pconn *c = pthread_getspecific(st->tls);
	struct timespec until;

	if (c)
		return c;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += PG_POOL_WAIT_MS / 1000;
	pthread_mutex_lock(&st->mu);
	while (st->pool_used >= st->pool_max) {
		if (pthread_cond_timedwait(&st->freed, &st->mu, &until)) {
			pthread_mutex_unlock(&st->mu);
			log_warn("postgres: all %u pool connections in use",
				 st->pool_max);
			*err = STORE_UNAVAILABLE;
			return NULL;
		}
	}
	c = calloc(1, sizeof *c);
	if (!c) {
		pthread_mutex_unlock(&st->mu);
		*err = STORE_NOMEM;
		return NULL;
	}
	st->pool_used++;
	c->next = st->conns;
	st->conns = c;
	pthread_mutex_unlock(&st->mu);
	pthread_setspecific(st->tls, c);
	return c;
}

/* The calling thread's connection, (re)connected when needed. */
static pconn *conn_get(store *base, store_err *err)
{
	pg_store *st = PG(base);
	pconn *c = slot_get(st, err);

	if (!c)
		return NULL;
	if (c->lost_tx) {
		*err = STORE_UNAVAILABLE;
		return NULL;
	}
	if (!c->db && (*err = conn_open(st, c)) != STORE_OK)
		return NULL;
	*err = STORE_OK;
	return c;
}

static store_err conn_send(pconn *c, int q, const pg_args *a);

/* libpq could not send: the connection is gone. */
static store_err send_failed(pconn *c)
{
	log_warn("postgres: send failed: %s", PQerrorMessage(c->db));
	conn_drop(c);
	c->lost = 1;
	return STORE_UNAVAILABLE;
}

static store_err send_v(pconn *c, int q, int n, const char *const *v)
{
	char name[PG_NAME_MAX];

	snprintf(name, sizeof name, "q%d", q);
	if (!PQsendQueryPrepared(c->db, name, n, v, NULL, NULL, 0))
		return send_failed(c);
	c->queued++;
	return STORE_OK;
}

static const char *num(pg_rows *b, int *k, int64_t x)
{
	snprintf(b->num[*k], PG_NUM_MAX, "%lld", (long long)x);
	return b->num[(*k)++];
}

/* One subscription row's parameters into v; returns the count. */
static int sub_params(pg_rows *b, const sub_row *r, const char **v, int *k)
{
	v[0] = num(b, k, r->user);
	v[1] = r->group;
	v[2] = consent_state_name(r->state);
	v[3] = consent_source_name(r->src);
	v[4] = num(b, k, r->doi);
	v[5] = num(b, k, r->since_ms);
	return SUB_COLS;
}

static int ledger_params(pg_rows *b, const store_ledger *e, const char **v,
			 int *k)
{
	v[0] = num(b, k, e->time_ms);
	v[1] = num(b, k, e->user_id);
	v[2] = e->external_id;
	v[3] = e->phone;
	v[4] = e->email;
	v[5] = e->group_id;
	v[6] = consent_state_name(e->old_state);
	v[7] = consent_state_name(e->new_state);
	v[8] = consent_source_name(e->source);
	v[9] = e->key_name;
	v[10] = e->request_id;
	v[11] = e->client_addr;
	v[12] = e->evidence;
	return LEDGER_COLS_N;
}

static int user_params(pg_rows *b, const store_user *u, const char **v,
		       int *k)
{
	v[0] = num(b, k, u->id);
	v[1] = u->external_id;
	v[2] = u->phone;
	v[3] = num(b, k, u->phone_valid);
	v[4] = u->phone_type;
	v[5] = u->email;
	v[6] = num(b, k, u->created_ms);
	v[7] = num(b, k, u->updated_ms);
	return USER_COLS_N;
}

/* Parameters of buffered row i of one kind, into v; returns how many. */
typedef int (*row_params_fn)(pg_rows *b, int i, const char **v, int *k);

static int user_row(pg_rows *b, int i, const char **v, int *k)
{
	return user_params(b, &b->user[i], v, k);
}

static int sub_row_params(pg_rows *b, int i, const char **v, int *k)
{
	return sub_params(b, &b->sub[i], v, k);
}

static int ledger_row(pg_rows *b, int i, const char **v, int *k)
{
	return ledger_params(b, &b->led[i], v, k);
}

/*
 * count rows in as few statements as the sizes allow: the largest bulk
 * statement that fits (q_bulk + size index), then the rest, a single row
 * by q_one; 40 rows go as 32 + 8, 33 as 32 + 1.
 */
static store_err send_kind(pconn *c, pg_rows *b, int count, row_params_fn fn,
			   int q_bulk, int q_one)
{
	store_err err = STORE_OK;

	for (int i = 0; !err && i < count;) {
		int size = PG_BULK_SIZES - 1, rows, k = 0, n = 0;

		while (size >= 0 && BULK_ROWS_OF(size) > count - i)
			size--;
		rows = size >= 0 ? BULK_ROWS_OF(size) : 1;
		for (int r = 0; r < rows; r++)
			n += fn(b, i + r, b->v + n, &k);
		err = send_v(c, size >= 0 ? q_bulk + size : q_one, n, b->v);
		i += rows;
	}
	return err;
}

/* Send the buffered rows (without waiting), profiles first since
 * subscriptions refer to them. */
static store_err rows_send(pconn *c)
{
	pg_rows *b = c->rows;
	store_err err;

	if (!b || (!b->n_user && !b->n_sub && !b->n_led))
		return STORE_OK;
	err = send_kind(c, b, b->n_user, user_row, P_USER_BULK,
			P_USER_INSERT_ID);
	b->n_user = 0;
	if (err)
		return err;
	err = send_kind(c, b, b->n_sub, sub_row_params, P_SUB_BULK, P_SUB_PUT);
	b->n_sub = 0;
	if (err)
		return err;
	err = send_kind(c, b, b->n_led, ledger_row, P_LEDGER_BULK,
			P_LEDGER_APPEND);
	b->n_led = 0;
	return err;
}

static store_err conn_send(pconn *c, int q, const pg_args *a)
{
	if (needs_rows[q]) {
		store_err err = rows_send(c);
		if (err)
			return err;
	}
	return send_v(c, q, a ? a->n : 0, a ? a->v : NULL);
}

/* The calling thread's buffer when it is inside a live transaction. */
static pg_rows *rows_of(store *st, store_err *err)
{
	pconn *c = pthread_getspecific(PG(st)->tls);

	*err = STORE_OK;
	if (!c || !c->in_tx)
		return NULL;
	if (c->lost_tx || !c->db) {
		*err = STORE_UNAVAILABLE;
		return NULL;
	}
	if (!c->rows && !(c->rows = calloc(1, sizeof *c->rows)))
		*err = STORE_NOMEM;
	return c->rows;
}

static int utf8_ok(const char *s) { return utf8_valid(s, strlen(s)); }

int pg__buffer_sub(store *st, int64_t user, const char *group,
		   consent_state state, consent_source src, int doi,
		   int64_t now_ms, store_err *err)
{
	pconn *c = pthread_getspecific(PG(st)->tls);
	pg_rows *b = rows_of(st, err);
	sub_row *r;

	if (!b)
		return *err != STORE_OK;
	if (!utf8_ok(group) || strlen(group) > IDENT_GROUP_ID_MAX) {
		*err = STORE_INVALID;
		return 1;
	}
	/* One statement may not upsert a row twice: send the earlier one. */
	for (int i = 0; i < b->n_sub; i++)
		if (b->sub[i].user == user && !strcmp(b->sub[i].group, group)) {
			if ((*err = rows_send(c)))
				return 1;
			break;
		}
	r = &b->sub[b->n_sub++];
	r->user = user;
	snprintf(r->group, sizeof r->group, "%s", group);
	r->state = state;
	r->src = src;
	r->doi = doi;
	r->since_ms = now_ms;
	*err = b->n_sub == PG_BULK_ROWS ? rows_send(c) : STORE_OK;
	return 1;
}

int pg__buffer_user(store *st, store_user *u, store_err *err)
{
	pconn *c = pthread_getspecific(PG(st)->tls);
	pg_rows *b = rows_of(st, err);
	int64_t id;

	if (!b)
		return *err != STORE_OK;
	if (!utf8_ok(u->external_id) || !utf8_ok(u->phone) ||
	    !utf8_ok(u->phone_type) || !utf8_ok(u->email)) {
		*err = STORE_INVALID;
		return 1;
	}
	if (pg__next_user_id(st, &id, err) != 0) {
		if (!*err)
			*err = STORE_IO;
		return 1;
	}
	u->id = id;
	b->user[b->n_user++] = *u;
	*err = b->n_user == PG_BULK_ROWS ? rows_send(c) : STORE_OK;
	return 1;
}

static store_user *buffered(store *st, int64_t id, const char *ext)
{
	pconn *c = pthread_getspecific(PG(st)->tls);
	pg_rows *b = c && c->in_tx ? c->rows : NULL;

	for (int i = 0; b && i < b->n_user; i++)
		if (ext ? !strcmp(b->user[i].external_id, ext)
			: b->user[i].id == id)
			return &b->user[i];
	return NULL;
}

int pg__buffered_user(store *st, int64_t id, const char *ext,
		      store_user *out)
{
	store_user *u = buffered(st, id, ext && *ext ? ext : NULL);

	if (u && ext && !*ext)
		u = NULL; /* "" names no profile */
	if (u)
		*out = *u;
	return u != NULL;
}

int pg__buffered_update(store *st, const store_user *u)
{
	store_user *b = buffered(st, u->id, NULL);

	if (!b)
		return 0;
	snprintf(b->phone, sizeof b->phone, "%s", u->phone);
	b->phone_valid = u->phone_valid;
	snprintf(b->phone_type, sizeof b->phone_type, "%s", u->phone_type);
	snprintf(b->email, sizeof b->email, "%s", u->email);
	b->updated_ms = u->updated_ms;
	return 1;
}

/* Merge the buffered profiles with this contact into ids[0..*n), which
 * holds the database's answer in id order; keep the first `max`. */
void pg__buffered_ids(store *st, int by_email, const char *v, int64_t *ids,
		      size_t max, size_t *n)
{
	pconn *c = pthread_getspecific(PG(st)->tls);
	pg_rows *b = c && c->in_tx ? c->rows : NULL;

	for (int i = 0; b && i < b->n_user; i++) {
		const char *have = by_email ? b->user[i].email
					    : b->user[i].phone;
		size_t at;

		if (!*v || strcmp(have, v) != 0)
			continue;
		at = *n;
		while (at > 0 && ids[at - 1] > b->user[i].id)
			at--;
		if (at >= max)
			continue;
		if (*n == max)
			(*n)--; /* the last one falls off the end */
		memmove(ids + at + 1, ids + at, (*n - at) * sizeof *ids);
		ids[at] = b->user[i].id;
		(*n)++;
	}
}

int pg__buffer_ledger(store *st, const store_ledger *e, store_err *err)
{
	pconn *c = pthread_getspecific(PG(st)->tls);
	pg_rows *b = rows_of(st, err);

	if (!b)
		return *err != STORE_OK;
	if (!utf8_ok(e->external_id) || !utf8_ok(e->phone) ||
	    !utf8_ok(e->email) || !utf8_ok(e->group_id) ||
	    !utf8_ok(e->key_name) || !utf8_ok(e->request_id) ||
	    !utf8_ok(e->client_addr) || !utf8_ok(e->evidence)) {
		*err = STORE_INVALID;
		return 1;
	}
	b->led[b->n_led++] = *e;
	*err = b->n_led == PG_BULK_ROWS ? rows_send(c) : STORE_OK;
	return 1;
}

/* ---- helpers for pg_records.c ---- */

void pg__text(pg_args *a, const char *s)
{
	if (a->n < PG_PARAMS_MAX)
		a->v[a->n++] = s ? s : "";
}

void pg__int(pg_args *a, int64_t x)
{
	if (a->n >= PG_PARAMS_MAX)
		return;
	snprintf(a->num[a->n], PG_NUM_MAX, "%lld", (long long)x);
	a->v[a->n] = a->num[a->n];
	a->n++;
}

int64_t pg__int64(const PGresult *r, int row, int col)
{
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

void pg__copy(const PGresult *r, int row, int col, char *dst, size_t cap)
{
	snprintf(dst, cap, "%s", PQgetvalue(r, row, col));
}

static int args_utf8(const pg_args *a)
{
	for (int i = 0; a && i < a->n; i++)
		if (!utf8_valid(a->v[i], strlen(a->v[i])))
			return 0;
	return 1;
}

store_err pg__query(store *st, int q, const pg_args *a, PGresult **res)
{
	store_err err = STORE_OK;
	pconn *c;

	*res = NULL;
	if (!args_utf8(a)) {
		if (!is_read[q])
			return STORE_INVALID;
		*res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
		return *res ? STORE_OK : STORE_NOMEM;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		c = conn_get(st, &err);
		if (!c)
			return err;
		err = conn_send(c, q, a);
		if (!err)
			err = conn_wait(c, res);
		/* A connection that died while idle fails its first use;
		 * outside a transaction nothing is lost by trying again. */
		if (!(err == STORE_UNAVAILABLE && c->lost && !c->in_tx))
			break;
		c->retry_at_ms = 0;
	}
	return err;
}

store_err pg__one_row(store *st, int q, const pg_args *a, PGresult **r)
{
	store_err err = pg__query(st, q, a, r);

	if (!err && PQntuples(*r) == 0)
		err = STORE_NOTFOUND;
	if (err) {
		PQclear(*r);
		*r = NULL;
	}
	return err;
}

store_err pg__insert_id(store *st, int q, const pg_args *a, int64_t *id)
{
	PGresult *r;
	store_err err = pg__one_row(st, q, a, &r);

	if (err == STORE_NOTFOUND)
		return STORE_CONFLICT;
	if (!err)
		*id = pg__int64(r, 0, 0);
	PQclear(r);
	return err;
}

store_err pg__text_one(store *st, int q, const pg_args *a, char **out)
{
	PGresult *r;
	store_err err = pg__one_row(st, q, a, &r);

	*out = NULL;
	if (err)
		return err;
	*out = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return *out ? STORE_OK : STORE_NOMEM;
}

store_err pg__min_of(store *st, int q, int64_t *out)
{
	PGresult *r;
	store_err err = pg__one_row(st, q, NULL, &r);

	/* min() over no rows is one NULL row. */
	if (!err && PQgetisnull(r, 0, 0))
		err = STORE_NOTFOUND;
	if (!err)
		*out = pg__int64(r, 0, 0);
	PQclear(r);
	return err;
}

int pg__next_user_id(store *st, int64_t *id, store_err *err)
{
	pconn *c = pthread_getspecific(PG(st)->tls);
	pg_args a = {0};
	PGresult *r;

	*err = STORE_OK;
	if (!c || !c->in_tx || c->lost_tx || !c->db)
		return -1;
	if (c->next_id >= c->n_ids) {
		pg__int(&a, PG_ID_BLOCK);
		pg__text(&a, PG(st)->users_seq);
		*err = pg__query(st, P_USER_IDS, &a, &r);
		if (*err)
			return -1;
		c->n_ids = PQntuples(r) < PG_ID_BLOCK ? PQntuples(r)
						      : PG_ID_BLOCK;
		c->next_id = 0;
		for (int i = 0; i < c->n_ids; i++)
			c->ids[i] = pg__int64(r, i, 0);
		PQclear(r);
		if (c->n_ids == 0) {
			*err = STORE_IO;
			return -1;
		}
	}
	*id = c->ids[c->next_id++];
	return 0;
}

store_err pg__exec(store *st, int q, const pg_args *a, long *changed)
{
	PGresult *r;
	store_err err = pg__query(st, q, a, &r);

	if (!err && changed)
		*changed = strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return err;
}

pg_pf *pg__pf(store *st, int make)
{
	pconn *c = pthread_getspecific(PG(st)->tls);

	if (!c || !c->in_tx || c->lost_tx || !c->db)
		return NULL;
	if (!c->pf && make)
		c->pf = pg__pf_new();
	return c->pf;
}

store_err pg__send(store *st, int q, const pg_args *a)
{
	store_err err;
	pconn *c = conn_get(st, &err);

	if (!c)
		return err;
	return c->in_tx ? conn_send(c, q, a) : STORE_IO;
}

store_err pg__wait_each(store *st, int n, pg_answer_fn fn, void *ctx)
{
	store_err err;
	pconn *c = conn_get(st, &err);

	if (!c)
		return err;
	return conn_wait_each(c, NULL, n, fn, ctx);
}

store_err pg__defer(store *st, int q, const pg_args *a)
{
	store_err err;
	pconn *c = conn_get(st, &err);

	if (!c)
		return err;
	if (!c->in_tx || !args_utf8(a))
		return pg__exec(st, q, a, NULL);
	return conn_send(c, q, a);
}

store_err pg__exec_guarded(store *st, int q, const pg_args *a)
{
	store_err err;
	pconn *c = conn_get(st, &err);

	if (!c)
		return err;
	if (!c->in_tx || !args_utf8(a))
		return pg__exec(st, q, a, NULL);
	err = conn_send(c, P_STMT_SAVEPOINT, NULL);
	if (!err)
		err = conn_send(c, q, a);
	if (!err)
		err = conn_wait(c, NULL);
	if (err == STORE_UNAVAILABLE)
		return err;
	if (err) {
		if (conn_send(c, P_STMT_ROLLBACK_TO, NULL) == STORE_OK &&
		    conn_send(c, P_STMT_RELEASE, NULL) == STORE_OK)
			(void)conn_wait(c, NULL);
		return err;
	}
	return conn_send(c, P_STMT_RELEASE, NULL);
}

/* ---- transactions ---- */

/* The bulk statements, prepared on a connection's first transaction: a
 * round trip once, so that connections that never write (most HTTP
 * threads') do not parse the 3 * PG_BULK_SIZES of them. */
static store_err prepare_bulk(pconn *c)
{
	char name[PG_NAME_MAX];
	store_err err;

	for (int q = P_SUB_BULK; q < P_USER_BULK + PG_BULK_SIZES; q++) {
		snprintf(name, sizeof name, "q%d", q);
		if (!PQsendPrepare(c->db, name, statement_text(q), 0, NULL))
			return send_failed(c);
		c->queued++;
	}
	err = conn_wait(c, NULL);
	c->bulk_ready = err == STORE_OK;
	return err;
}

store_err pg_begin(store *st)
{
	store_err err;
	pconn *c = conn_get(st, &err);

	if (!c)
		return err;
	if (!c->bulk_ready && (err = prepare_bulk(c)) != STORE_OK)
		return err;
	pg__pf_clear(c->pf);
	err = conn_send(c, P_BEGIN, NULL);
	if (!err)
		c->in_tx = 1;
	c->tx_id = store__tx_next();
	return err;
}

PGconn *pg__connect(store *st, const char *app)
{
	return connect_raw(PG(st), app);
}

pg_keys *pg__keys(store *st)
{
	return PG(st)->keys;
}

void pg__keys_changed(store *st)
{
	pconn *c = pthread_getspecific(PG(st)->tls);

	if (c && c->in_tx)
		c->keys_changed = 1;
	else
		pg__keys_forget(PG(st)->keys);
}

void pg__tx_changed(store *st)
{
	pconn *c = pthread_getspecific(PG(st)->tls);

	if (c)
		c->tx_id = store__tx_next();
}

uint64_t pg_tx_id(store *st)
{
	pconn *c = pthread_getspecific(PG(st)->tls);

	return c && c->in_tx ? c->tx_id : 0;
}

store_err pg_commit(store *st)
{
	pconn *c = pthread_getspecific(PG(st)->tls);
	PGresult *r = NULL;
	store_err err;

	if (!c || !c->in_tx)
		return STORE_IO; /* no transaction: a caller's bug */
	if (c->lost_tx || !c->db)
		return STORE_UNAVAILABLE;
	pg__pf_clear(c->pf);
	err = conn_send(c, P_COMMIT, NULL);
	if (!err)
		err = conn_wait(c, &r);
	/* An aborted transaction "commits" as ROLLBACK, without an error. */
	if (!err && strcmp(PQcmdStatus(r), "COMMIT") != 0)
		err = STORE_IO;
	PQclear(r);
	if (!err) {
		c->in_tx = 0;
		if (c->keys_changed)
			pg__keys_forget(PG(st)->keys);
		c->keys_changed = 0;
	}
	return err;
}

void pg_rollback(store *st)
{
	pconn *c = pthread_getspecific(PG(st)->tls);

	if (!c)
		return;
	rows_drop(c);
	pg__pf_clear(c->pf);
	if (c->db && conn_send(c, P_ROLLBACK, NULL) == STORE_OK)
		(void)conn_wait(c, NULL);
	c->in_tx = 0;
	c->lost_tx = 0;
	c->keys_changed = 0;
}

store_err pg_savepoint(store *st)
{
	store_err err;
	pconn *c = conn_get(st, &err);

	return c ? conn_send(c, P_SAVEPOINT, NULL) : err;
}

store_err pg_release(store *st)
{
	store_err err;
	pconn *c = conn_get(st, &err);

	if (!c)
		return err;
	err = conn_send(c, P_RELEASE, NULL);
	return err ? err : conn_wait(c, NULL);
}

void pg_rollback_to(store *st)
{
	pconn *c = pthread_getspecific(PG(st)->tls);

	if (!c || !c->db || c->lost_tx)
		return;
	c->tx_id = store__tx_next();
	rows_drop(c); /* rows since the savepoint: SAVEPOINT sent the rest */
	pg__pf_clear(c->pf);
	if (conn_send(c, P_ROLLBACK_TO, NULL) == STORE_OK &&
	    conn_send(c, P_RELEASE, NULL) == STORE_OK)
		(void)conn_wait(c, NULL);
}

store_err pg_flush(store *st)
{
	pconn *c = pthread_getspecific(PG(st)->tls);

	if (!c)
		return STORE_OK;
	if (c->lost_tx)
		return STORE_UNAVAILABLE;
	if (c->db && rows_send(c) != STORE_OK)
		return STORE_UNAVAILABLE;
	if (!c->db || c->queued == 0)
		return STORE_OK;
	return conn_wait(c, NULL);
}

store_err pg_ping(store *st)
{
	PGresult *r;
	store_err err;
	pconn *c = slot_get(PG(st), &err);

	/* A health check asks the server now: the backoff that spares it a
	 * reconnect per request would have /healthz report, for up to
	 * PG_BACKOFF_MAX_MS, an outage that is over. */
	if (c)
		c->retry_at_ms = 0;
	err = pg__query(st, P_PING, NULL, &r);

	PQclear(r);
	return err;
}

/* ---- migrations ---- */

static store_err exec_ok(PGconn *db, PGresult *r)
{
	ExecStatusType s = PQresultStatus(r);
	store_err err = STORE_OK;

	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
		err = map_result(db, r);
	PQclear(r);
	return err;
}

/* One migration in its own transaction, unless already recorded. */
static store_err migrate_one(PGconn *db, const pg_migration *m)
{
	char ver[PG_NUM_MAX], now[PG_NUM_MAX];
	const char *p[3] = {ver, m->name, now};
	PGresult *r;
	store_err err;
	int done;

	snprintf(ver, sizeof ver, "%d", m->version);
	snprintf(now, sizeof now, "%lld", (long long)clock_now_ms());
	if ((err = exec_ok(db, PQexec(db, "BEGIN"))))
		return err;
	r = PQexecParams(db, "SELECT 1 FROM schema_migrations "
			 "WHERE version = $1", 1, NULL, p, NULL, NULL, 0);
	done = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0;
	err = exec_ok(db, r);
	if (!err && !done) {
		err = exec_ok(db, PQexec(db, m->sql));
		if (!err)
			err = exec_ok(db, PQexecParams(db,
				"INSERT INTO schema_migrations (version, "
				"name, applied_ms) VALUES ($1, $2, $3)",
				3, NULL, p, NULL, NULL, 0));
	}
	if (!err)
		err = exec_ok(db, PQexec(db, "COMMIT"));
	if (err) {
		PQclear(PQexec(db, "ROLLBACK"));
		return err;
	}
	if (!done)
		log_info("applied migration %d (%s)", m->version, m->name);
	return STORE_OK;
}

/* users.id's sequence never changes once the schema is made. */
static store_err users_seq_of(pg_store *st, PGconn *db)
{
	PGresult *r = PQexec(db, "SELECT pg_get_serial_sequence('users', "
			     "'id')::regclass::oid");
	store_err err = PQresultStatus(r) == PGRES_TUPLES_OK &&
				PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)
			? STORE_OK
			: STORE_IO;

	if (!err)
		str_copy(st->users_seq, sizeof st->users_seq,
			 PQgetvalue(r, 0, 0));
	else
		log_error("postgres: no sequence for users.id: %s",
			  PQresultErrorMessage(r));
	PQclear(r);
	return err;
}

/*
 * Migrations run on a connection of their own, in the simple protocol
 * (a migration is several statements), under an advisory lock so that
 * nodes starting together apply each migration once.
 */
static store_err migrate(pg_store *st)
{
	PGconn *db = connect_raw(st, "optd");
	char lock[PG_LOCK_SQL_MAX];
	store_err err;

	if (!db)
		return STORE_UNAVAILABLE;
	snprintf(lock, sizeof lock, "SELECT pg_advisory_lock(%d)",
		 PG_MIGRATE_LOCK);
	err = exec_ok(db, PQexec(db, lock));
	if (!err)
		err = exec_ok(db, PQexec(db,
			"SET client_min_messages TO warning;"
			"CREATE TABLE IF NOT EXISTS schema_migrations ("
			" version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
			" applied_ms BIGINT NOT NULL)"));
	for (size_t i = 0; !err && i < PG_MIGRATIONS_COUNT; i++)
		err = migrate_one(db, &pg_migrations[i]);
	if (!err)
		err = users_seq_of(st, db);
	PQfinish(db); /* also releases the advisory lock */
	return err;
}

/* ---- open and close ---- */

static void tls_free(void *p)
{
	/* The thread ended without store_thread_done(); its slot stays listed
	 * and is closed by store_close(). */
	(void)p;
}

static void pg_close(store *base)
{
	pg_store *st = PG(base);

	pg__keys_free(st->keys);
	pthread_mutex_lock(&st->mu);
	while (st->conns) {
		pconn *c = st->conns;
		st->conns = c->next;
		PQfinish(c->db);
		free(c->rows);
		pg__pf_free(c->pf);
		free(c);
	}
	pthread_mutex_unlock(&st->mu);
	pthread_setspecific(st->tls, NULL);
	pthread_key_delete(st->tls);
	pthread_cond_destroy(&st->freed);
	pthread_mutex_destroy(&st->mu);
	free(st);
}

static void pg_thread_done(store *base)
{
	pg_store *st = PG(base);
	pconn *c = pthread_getspecific(st->tls);

	if (!c)
		return;
	pthread_setspecific(st->tls, NULL);
	pthread_mutex_lock(&st->mu);
	for (pconn **p = &st->conns; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	st->pool_used--;
	pthread_cond_signal(&st->freed);
	pthread_mutex_unlock(&st->mu);
	PQfinish(c->db);
	free(c->rows);
	pg__pf_free(c->pf);
	free(c);
}

store_err pg_open(const char *url, const store_opts *o, store **out)
{
	pg_store *st = calloc(1, sizeof *st);
	store_err err;

	*out = NULL;
	if (!st)
		return STORE_NOMEM;
	st->base.vt = &pg_vt;
	snprintf(st->url, sizeof st->url, "%s", url);
	st->dur = o->dur;
	st->pool_max = o->pool ? o->pool : STORE_POOL_DEFAULT;
	if (st->pool_max > STORE_POOL_MAX)
		st->pool_max = STORE_POOL_MAX;
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->freed, NULL);
	if (pthread_key_create(&st->tls, tls_free) != 0) {
		pthread_cond_destroy(&st->freed);
		pthread_mutex_destroy(&st->mu);
		free(st);
		return STORE_NOMEM;
	}
	st->keys = pg__keys_new(&st->base);
	err = st->keys ? migrate(st) : STORE_NOMEM;
	if (err) {
		pg_close(&st->base);
		return err;
	}
	*out = &st->base;
	return STORE_OK;
}

#define PG_VT_INIT(name, params, args) .name = pg_##name,
static const store_vt pg_vt = {
	.name = "postgres",
	.concurrent_writes = 1,
	.close = pg_close,
	.thread_done = pg_thread_done,
	.rollback = pg_rollback,
	.rollback_to = pg_rollback_to,
	.tx_id = pg_tx_id,
	.want_user = pg_want_user,
	STORE_OPS(PG_VT_INIT)
};
