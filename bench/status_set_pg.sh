#!/bin/bash
# status_set_pg.sh: POST /subscription/status/set under load on PostgreSQL,
# next to SQLite, in one run:
#   - optd on SQLite (a fresh file), durability full        (the reference)
#   - one optd on PostgreSQL (a fresh database), durability full, over TCP
#     (127.0.0.1), as nodes on other machines would connect
#   - the same over PostgreSQL's Unix socket, as a node on the database's
#     own machine would
#   - three optd on one PostgreSQL database behind nginx (round-robin, TCP)
# PostgreSQL is a throwaway server (scripts/pg-test-server.sh) on this
# machine, with Debian's defaults (fsync on, synchronous_commit on, and
# its checkpoints rather than the test suites' frequent ones). Each
# target gets wrk for $DURATION (default 10 s), 64 connections, 2 threads,
# one distinct phone per request (bench/status_set.lua), and the ratios to
# SQLite are printed. Target: one node on PostgreSQL >= 50% of SQLite.
#
#   bench/status_set_pg.sh
#   DURATION=30s bench/status_set_pg.sh
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_init optd-bench-pg
chmod 755 "$tmp"
# optd on PostgreSQL runs with its defaults too (one HTTP thread a core):
# with API keys kept in memory an HTTP thread no longer waits for the
# database on every request, and 4 threads did no better than 2
# (14,280 and 13,863 req/s, 2026-11-26 16:40). PG_FLAGS adds flags.
PG_FLAGS=${PG_FLAGS:-}
on_exit() {
	scripts/pg-test-server.sh stop "$tmp/pg" >/dev/null 2>&1 || true
}

pgurl=$(PG_TEST_CHECKPOINTS=default scripts/pg-test-server.sh start "$tmp/pg")
base=${pgurl%/*}
psql() { command psql "$pgurl" -X -q -A -t -c "$1"; }

machine
echo "load: wrk -t$THREADS -c$CONNS -d$DURATION, POST /subscription/status/set, one new phone per request"
echo "postgres: $(command psql "$pgurl" -X -A -t -c 'SHOW server_version'), fsync $(command psql "$pgurl" -X -A -t -c 'SHOW fsync'), synchronous_commit on, checkpoint_timeout $(command psql "$pgurl" -X -A -t -c 'SHOW checkpoint_timeout')"

# ---- SQLite ----
port=$(free_port)
start_optd "$tmp/optd.db" "$port" "$tmp/sqlite.log"
prepare "$port"
run_wrk "http://127.0.0.1:$port/subscription/status/set" sqlite
stop_all
sqlite_rows=$(sqlite3 "$tmp/optd.db" "SELECT count(*) FROM consent_ledger")

# ---- PostgreSQL, one node ----
psql "CREATE DATABASE bench1"
port=$(free_port)
start_optd "$base/bench1" "$port" "$tmp/pg1.log" $PG_FLAGS
prepare "$port"
run_wrk "http://127.0.0.1:$port/subscription/status/set" pg_1node
stop_all
pg1_rows=$(command psql "$base/bench1" -X -A -t -c "SELECT count(*) FROM consent_ledger")

# ---- PostgreSQL, one node, Unix socket ----
psql "CREATE DATABASE bench1u"
port=$(free_port)
start_optd "postgres://postgres@/bench1u?host=$tmp/pg&port=$(cat "$tmp/pg/port")" "$port" "$tmp/pg1u.log" $PG_FLAGS
prepare "$port"
run_wrk "http://127.0.0.1:$port/subscription/status/set" pg_1unix
stop_all

# ---- PostgreSQL, three nodes behind nginx ----
psql "CREATE DATABASE bench3"
ports=()
for n in 1 2 3; do
	p=$(free_port)
	start_optd "$base/bench3" "$p" "$tmp/pg3-$n.log" --nodes 3 $PG_FLAGS
	ports+=("$p")
done
prepare "${ports[0]}"
nport=$(free_port)
mkdir -p "$tmp/nginx"
{
	echo "worker_processes 1; pid $tmp/nginx.pid; error_log $tmp/nginx/error.log;"
	echo "events { worker_connections 4096; }"
	echo "http { access_log off; client_body_temp_path $tmp/nginx/body;"
	echo "  proxy_temp_path $tmp/nginx/proxy; fastcgi_temp_path $tmp/nginx/fastcgi;"
	echo "  uwsgi_temp_path $tmp/nginx/uwsgi; scgi_temp_path $tmp/nginx/scgi;"
	echo "  upstream optd {"
	for p in "${ports[@]}"; do echo "    server 127.0.0.1:$p;"; done
	echo "    keepalive 64; }"
	echo "  server { listen 127.0.0.1:$nport; location / { proxy_pass http://optd;"
	echo "    proxy_http_version 1.1; proxy_set_header Connection \"\"; } } }"
} >"$tmp/nginx.conf"
nginx -c "$tmp/nginx.conf" -p "$tmp/nginx"
sleep 0.3
run_wrk "http://127.0.0.1:$nport/subscription/status/set" pg_3nodes
stop_nginx
stop_all
pg3_rows=$(command psql "$base/bench3" -X -A -t -c "SELECT count(*) FROM consent_ledger")

echo "stored consent changes: sqlite $sqlite_rows, pg 1 node $pg1_rows, pg 3 nodes $pg3_rows"
for f in "$tmp"/sqlite.log "$tmp"/pg1.log "$tmp"/pg1u.log "$tmp"/pg3-*.log; do
	sed -n "s|.*writer: \([0-9]*\) jobs in \([0-9]*\) batches.*|  ${f##*/}: \1 jobs in \2 commits|p" "$f"
done
python3 - "$sqlite_rps" "$pg_1node_rps" "$pg_3nodes_rps" "$pg_1unix_rps" <<'PY'
import sys
sq, p1, p3, pu = map(float, sys.argv[1:])
print("pg 1 node / sqlite   %5.1f%%   (target >= 50%%)" % (100 * p1 / sq))
print("pg 1 node, Unix socket / sqlite  %5.1f%%" % (100 * pu / sq))
print("pg 3 nodes / sqlite  %5.1f%%" % (100 * p3 / sq))
print("pg 3 nodes / 1 node  %5.2fx" % (p3 / p1))
PY
