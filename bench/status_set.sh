#!/bin/bash
# status_set.sh: POST /subscription/status/set under load, against its
# baselines, in one run:
#   - nginx serving a static 201 {"message":"success"} (the HTTP ceiling)
#   - optd on a fresh database, durability full (the default)
#   - SQLite's own one-commit-per-row rate on the same disk
# Each HTTP target gets wrk for $DURATION (default 10 s) with 64
# connections and 2 threads, one distinct phone per request.
#
#   bench/status_set.sh            prints the table and the ratios
#   DURATION=30s bench/status_set.sh
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh bench
make -s -j"$(nproc)" build/optd

DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
tmp=$(mktemp -d /tmp/optd-bench.XXXXXX)
admin=optd_bench_admin_$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
. bench/lib.sh

cleanup() {
	[ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null
	[ -n "${optd_pid:-}" ] && kill "$optd_pid" 2>/dev/null && wait "$optd_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# ---- nginx, static answer ----
nport=$(free_port)
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx.conf" <<CONF
worker_processes auto;
pid $tmp/nginx.pid;
error_log $tmp/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  server {
    listen 127.0.0.1:$nport;
    location / {
      default_type application/json;
      return 201 '{"message":"success"}';
    }
  }
}
CONF
nginx -c "$tmp/nginx.conf" -p "$tmp/nginx"

# ---- optd, fresh database ----
oport=$(free_port)
OPTD_ADMIN_KEY=$admin ./build/optd serve --port "$oport" --db "$tmp/optd.db" \
	>"$tmp/optd.out" 2>"$tmp/optd.log" &
optd_pid=$!
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$oport/healthz" >/dev/null && break
	sleep 0.1
done
prepare "$oport"

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME")"
echo "load: wrk -t$THREADS -c$CONNS -d$DURATION, POST /subscription/status/set, one new phone per request"
run_wrk "http://127.0.0.1:$nport/subscription/status/set" nginx
run_wrk "http://127.0.0.1:$oport/subscription/status/set" optd

kill "$optd_pid"; wait "$optd_pid" || true; optd_pid=
stored=$(sqlite3 "$tmp/optd.db" "SELECT count(*) FROM consent_ledger")
batches=$(sed -n 's/.*writer: \([0-9]*\) jobs in \([0-9]*\) batches.*/\1 jobs in \2 commits/p' "$tmp/optd.log")
echo "optd stored $stored consent changes ($batches)"

gcc -O2 -o "$tmp/sqlite_commit" bench/sqlite_commit.c -lsqlite3
sqlite_rate=$("$tmp/sqlite_commit" "$tmp/baseline.db" 5 | awk '{print $2}')
echo "sqlite   $sqlite_rate commits/s (one row per commit, WAL, synchronous=FULL)"

python3 - "$optd_rps" "$nginx_rps" "$sqlite_rate" "$optd_p99" <<'PY'
import sys
optd, nginx, sq, p99 = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
ms = float(p99[:-2]) if p99.endswith("ms") else float(p99[:-2]) / 1000 if p99.endswith("us") else float(p99[:-1]) * 1000
print("optd/nginx  %.1f%%   (target >= 30%%)" % (100 * optd / nginx))
print("optd/sqlite %.1fx    (optd commits many changes per fsync)" % (optd / sq))
print("optd p99    %.2f ms  (target <= 20 ms)" % ms)
PY
