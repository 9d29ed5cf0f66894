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
. bench/lib.sh
bench_init optd-bench

# ---- nginx, static answer ----
nport=$(free_port)
start_nginx "$nport" 201 application/json '{"message":"success"}'

# ---- optd, fresh database ----
oport=$(free_port)
start_optd "$tmp/optd.db" "$oport" "$tmp/optd.log"
prepare "$oport"

machine
echo "load: wrk -t$THREADS -c$CONNS -d$DURATION, POST /subscription/status/set, one new phone per request"
run_wrk "http://127.0.0.1:$nport/subscription/status/set" nginx
run_wrk "http://127.0.0.1:$oport/subscription/status/set" optd

stop_all
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
