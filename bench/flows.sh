#!/bin/bash
# flows.sh: the seed's two-step flow under a steady load, with POST
# /users/track alone as the reference, in one run:
#   - optd on a fresh database, no flow: /users/track as fast as $CONNS
#     connections go (what the entry alone can take)
#   - optd on another fresh database with the flow: entry event
#     phone_number_captured, audience external_id is not blank, step 1 a
#     webhook POST to this optd's own /subscription/status/set (Bearer
#     key, templated body), step 2 an SMS confirmation to the log
#     provider. wrk offers $RATE events/s (default 2,100) for $DURATION,
#     one new user per request; then the run waits until every flow run
#     is over.
# Durability full (the default), SQLite. Figures come from the database:
# flows/s = runs done / (last confirmation queued - first event accepted);
# a flow's latency = its outbox row's created_ms - its event's created_ms
# (when optd read the request, a little before it answered 201).
# Counts are checked: events = runs = outbox rows = ledger rows (api).
# Target: >= 2,000 flows/s with p99 <= 250 ms.
#
#   bench/flows.sh
#   RATE=1000 DURATION=30s OPTD_FLAGS="--flow-runners 8" bench/flows.sh
#   PERF=/tmp/flows.perf bench/flows.sh     also perf record -g on optd
#                                           (PERF_OPTS replaces -g)
#   KEEP=1 bench/flows.sh                   keeps the databases and logs
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh bench
make -s -j"$(nproc)" build/optd

DURATION=${DURATION:-10s}
# Events offered per second: flows/s as measured cannot exceed it, so the
# default is a little above the 2,000 flows/s target.
RATE=${RATE:-2100}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
OPTD_FLAGS=${OPTD_FLAGS:-}  # e.g. --flow-runners 8 --threads 4
DRAIN_MAX_S=${DRAIN_MAX_S:-300}
tmp=$(mktemp -d /tmp/optd-bench-flows.XXXXXX)
admin=optd_bench_admin_$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
pids=()
. bench/lib.sh
export WRK_SCRIPT=bench/flows.lua OPTD_BENCH_THREADS=$THREADS

cleanup() {
	stop_all
	if [ -n "${KEEP:-}" ]; then
		echo "kept: $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT

q() { sqlite3 "$tmp/flows.db" "$1"; }
# CPU time of a process so far, in clock ticks.
proc_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# The whole machine's busy and idle clock ticks so far.
machine_ticks() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6}' /proc/stat; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME"), load average $(cut -d' ' -f1 /proc/loadavg) at start"
echo "optd flags: ${OPTD_FLAGS:-(defaults)}"

# ---- reference: /users/track alone ----
port=$(free_port)
start_optd "$tmp/track.db" "$port" "$tmp/track.log" $OPTD_FLAGS
key=$(bench_key "$port" track users.track)
echo "track alone: wrk -t$THREADS -c$CONNS -d$DURATION, unpaced"
cpu0=$(proc_ticks "${pids[0]}")
OPTD_BENCH_RATE=0 run_wrk "http://127.0.0.1:$port/users/track" track
cpu1=$(proc_ticks "${pids[0]}")
stop_all
track_events=$(sqlite3 "$tmp/track.db" "SELECT count(*) FROM events")
track_done=$(awk '/requests in/ {print $1}' "$tmp/track.wrk")
echo "track alone: $track_events events stored, $track_done answered," \
	"$(( (cpu1 - cpu0) * 1000000 / $(getconf CLK_TCK) / track_events )) us of optd's cpu each"

# ---- the flow ----
port=$(free_port)
start_optd "$tmp/flows.db" "$port" "$tmp/flows.log" \
	--sms-log "$tmp/sms.log" $OPTD_FLAGS
pid=${pids[0]}
admin_api "$port" POST /admin/subscription_groups \
	'{"id":"bench-group","name":"Bench","channel":"sms","numbers":["+16502530000"]}' >/dev/null
key=$(bench_key "$port" track users.track)
hook_key=$(bench_key "$port" hook subscription.status.set)
python3 - "$port" "$hook_key" >"$tmp/flow.json" <<'PY'
import json, sys
port, key = sys.argv[1:]
print(json.dumps({
    "id": "bench-flow",
    "name": "Phone captured: subscribe and confirm",
    "entry": {"event": "phone_number_captured"},
    "audience": {"all": [{"attribute": "external_id", "op": "is_not_blank"}]},
    "steps": [
        {"type": "webhook", "method": "POST",
         "url": "http://127.0.0.1:%s/subscription/status/set" % port,
         "headers": {"Content-Type": "application/json",
                     "Authorization": "Bearer " + key},
         "body": '{"subscription_group_id":"bench-group",'
                 '"subscription_state":"subscribed",'
                 '"external_id":"{{${user_id}}}",'
                 '"phone":"{{canvas_entry_properties.${phone_number}}}"}'},
        {"type": "sms", "group_id": "bench-group",
         "body": 'Thanks {{${first_name} | default: "there"}}! '
                 'Reply STOP to cancel.'},
    ]}))
PY
admin_api "$port" POST /admin/flows "@$tmp/flow.json" >/dev/null

# The scheduler's account of each optd thread, in creation order (main,
# writer, SMS senders, flow runners, HTTP workers, log flusher): "tid
# ns-on-cpu ns-waiting-for-a-cpu times-scheduled" lines.
thread_ticks() {
	for t in /proc/"$pid"/task/*; do
		echo "${t##*/} $(cat "$t/schedstat")"
	done | sort -n
}
thread_ticks >"$tmp/ticks0"
machine_ticks >"$tmp/machine0"
if [ -n "${PERF:-}" ]; then # a perf.data file: optd's profile, load and drain
	perf record -q ${PERF_OPTS:--g} -o "$PERF" -p "$pid" 2>"$tmp/perf.err" &
	perf_pid=$!
fi
echo "flow: wrk -t$THREADS -c$CONNS -d$DURATION, $RATE events/s offered"
start_s=$(date +%s.%N)
OPTD_BENCH_RATE=$RATE run_wrk "http://127.0.0.1:$port/users/track" flow
load_end=$(date +%s.%N)
# Every event has started its run in the same transaction; wait for the
# runs to be over.
for _ in $(seq $((DRAIN_MAX_S * 2))); do
	left=$(q "SELECT count(*) FROM flow_runs WHERE state IN ('active','running')")
	[ "$left" = 0 ] && break
	sleep 0.5
done
end_s=$(date +%s.%N)
thread_ticks >"$tmp/ticks1"
machine_ticks >"$tmp/machine1"
if [ -n "${perf_pid:-}" ]; then
	kill -INT "$perf_pid"
	wait "$perf_pid" || true
fi
stop_all
[ "$left" = 0 ] || echo "WARNING: $left runs still unfinished after ${DRAIN_MAX_S}s"
python3 - "$start_s" "$load_end" "$end_s" <<'PY'
import sys
s, l, e = map(float, sys.argv[1:])
print("load %.1f s, drained %.1f s after it" % (l - s, e - l))
PY

# ---- figures, from the database ----
read -r events runs done outbox ledger <<<"$(q "SELECT
	(SELECT count(*) FROM events),
	(SELECT count(*) FROM flow_runs),
	(SELECT count(*) FROM flow_runs WHERE state = 'done'),
	(SELECT count(*) FROM outbox WHERE state <> 'rejected'),
	(SELECT count(*) FROM consent_ledger WHERE source = 'api')" | tr '|' ' ')"
answered=$(awk '/requests in/ {print $1}' "$tmp/flow.wrk")
echo "counts: $answered answered, $events events, $runs runs ($done done), $outbox confirmations, $ledger ledger rows (api)"
if [ "$events" = "$runs" ] && [ "$runs" = "$done" ] &&
	[ "$done" = "$outbox" ] && [ "$outbox" = "$ledger" ] &&
	[ "$events" -ge "$answered" ]; then
	echo "counts: ok"
else
	echo "counts: MISMATCH"
fi
bad=$(q "SELECT count(*) FROM step_logs WHERE outcome NOT IN ('ok','queued')")
[ "$bad" = 0 ] || q "SELECT outcome, http_status, detail, count(*) FROM step_logs
	WHERE outcome NOT IN ('ok','queued') GROUP BY 1,2,3 LIMIT 5"

# One row per flow: event accepted, webhook received (the ledger row),
# webhook answered (step 0's log), confirmation queued (the outbox row).
q "CREATE TEMP TABLE f AS SELECT e.created_ms AS t0, l.time_ms AS t1,
	s.time_ms AS t2, o.created_ms AS t3
	FROM flow_runs r
	JOIN events e ON e.user_id = r.user_id
	JOIN consent_ledger l ON l.user_id = r.user_id AND l.source = 'api'
	JOIN step_logs s ON s.run_id = r.id AND s.step = 0
	JOIN outbox o ON o.dedupe = 'run' || r.id || '-1';
SELECT count(*), min(t0), max(t3) FROM f;
SELECT t3 - t0, t1 - t0, t2 - t1, t3 - t2 FROM f;" | tr '|' ' ' >"$tmp/lat"
sed -n 's/.*writer: \([0-9]*\) jobs in \([0-9]*\) batches.*/\1 \2/p' \
	"$tmp/flows.log" >"$tmp/writer"
python3 bench/flows_report.py "$tmp" "$OPTD_FLAGS" "$start_s" "$end_s" \
	"$RATE" "$track_rps"
