#!/bin/bash
# sms_twilio.sh: Twilio's inbound-SMS webhook (POST /sms/inbound/twilio)
# under load, against its baseline, in one run:
#   - nginx answering every request with a static 200 <Response/> (text/xml)
#   - optd on a fresh database, durability full (the default), with the
#     log provider, and a group owning the number the messages go to
# Each gets wrk for $DURATION (default 10 s) with 64 connections and 2
# threads, replaying webhooks signed ahead of time (bench/twilio_requests.py,
# bench/sms_twilio.lua): START and STOP in turn from 100,000 phones, every
# request a consent change with its own MessageSid. Afterwards it counts
# what optd stored against what it acknowledged, and waits for the outbox
# to be delivered to the log. Targets: optd >= 25% of nginx's requests/s,
# p99 <= 25 ms.
#
#   bench/sms_twilio.sh
#   DURATION=30s bench/sms_twilio.sh
#   RATE_MAX=60000 bench/sms_twilio.sh   webhooks made per second of run
#   PERF=/tmp/sms.perf bench/sms_twilio.sh   also perf record -g on optd
#                                            (PERF_OPTS replaces -g)
#   STMT_CPU=/tmp/stmt.txt bench/sms_twilio.sh   also the CPU of each SQL
#                                            statement (bench/stmt_cpu.c)
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_init optd-bench-sms
# More webhooks are made than optd can take in the run (each is used once);
# a shortfall is reported as repeated requests.
RATE_MAX=${RATE_MAX:-40000}
NUMBER=+16502530000
# The signed requests live in memory, so that writing them out leaves no
# dirty pages for optd's fsyncs to wait behind.
reqs=$(mktemp -d /dev/shm/optd-bench-sms.XXXXXX)
on_exit() { rm -rf "$reqs"; }
token=$(random_hex 16)

nport=$(free_port)
oport=$(free_port)
url=http://127.0.0.1:$oport
seconds=$(python3 -c '
import sys; d = sys.argv[1]; u = {"s": 1, "m": 60, "h": 3600}
print(int(float(d[:-1]) * u[d[-1]]) if d[-1] in u else int(d))' "$DURATION")
count=$((RATE_MAX * seconds))
python3 bench/twilio_requests.py "$url/sms/inbound/twilio" "$token" \
	"$NUMBER" "$count" "$THREADS" "$reqs/req"
sync

machine
echo "load: wrk -t$THREADS -c$CONNS -d$DURATION, POST /sms/inbound/twilio, $count signed webhooks, START/STOP from 100,000 phones"
export WRK_SCRIPT=bench/sms_twilio.lua OPTD_BENCH_REQUESTS=$reqs/req

start_nginx "$nport" 200 text/xml '<?xml version="1.0" encoding="UTF-8"?><Response/>'
run_wrk "http://127.0.0.1:$nport/sms/inbound/twilio" nginx
kill "$(cat "$tmp/nginx.pid")"

if [ -n "${STMT_CPU:-}" ]; then
	gcc -O2 -shared -fPIC -o "$tmp/stmt_cpu.so" bench/stmt_cpu.c -ldl
	export OPTD_PRELOAD=$tmp/stmt_cpu.so STMT_CPU_OUT=$STMT_CPU
fi
start_optd "$tmp/optd.db" "$oport" "$tmp/optd.log" \
	--sms-provider log --sms-log "$tmp/sms.log" \
	--twilio-auth-token "$token" --public-url "$url"
admin_api "$oport" POST /admin/subscription_groups \
	"{\"id\":\"bench-group\",\"name\":\"Bench\",\"channel\":\"sms\",\"numbers\":[\"$NUMBER\"]}" >/dev/null
optd_pid=${pids[-1]}
if [ -n "${PERF:-}" ]; then # optd's profile during the load
	perf record -q ${PERF_OPTS:--g} -o "$PERF" -p "$optd_pid" 2>"$tmp/perf.err" &
	perf_pid=$!
fi
cpu0=$(awk '{print $14 + $15}' /proc/"$optd_pid"/stat)
run_wrk "$url/sms/inbound/twilio" optd
cpu1=$(awk '{print $14 + $15}' /proc/"$optd_pid"/stat)
if [ -n "${perf_pid:-}" ]; then
	kill -INT "$perf_pid"
	wait "$perf_pid" || true
fi
repeated=$(awk '/^repeated requests:/ {print $3}' "$tmp/optd.wrk")

# The outbox sender may still be behind the webhooks: give it a minute.
sql() { sqlite3 "$tmp/optd.db" "$1"; }
t0=$(date +%s.%N)
for _ in $(seq 300); do
	queued=$(sql "SELECT count(*) FROM outbox")
	sent=$(grep -c '^{' "$tmp/sms.log" || true)
	[ "$sent" -ge "$queued" ] && break
	sleep 0.2
done
drain=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
stop_all

inbound=$(sql "SELECT count(*) FROM inbound")
ledger=$(sql "SELECT count(*) FROM consent_ledger")
replies=$(sql "SELECT count(*) FROM outbox")
echo "optd acknowledged $optd_ok webhooks ($repeated of the requests repeated a MessageSid)"
echo "optd CPU during the load: $(awk -v t=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" -v n="$optd_ok" \
	'BEGIN {printf "%.2f s, %.0f us a webhook", t / hz, n ? 1e6 * t / hz / n : 0}')"
echo "optd stored $inbound inbound messages, $ledger consent changes, $replies replies; $sent replies in the log ${drain}s after the load"
python3 - "$optd_ok" "$repeated" "$inbound" "$ledger" "$replies" "$sent" "$CONNS" <<'PY'
import sys
ok, rep, inb, led, out, sent, conns = map(int, sys.argv[1:])
# Requests in flight when wrk stopped are stored but not counted as
# answered: up to one per connection.
fine = lambda n: ok - rep <= n <= ok + conns
if rep == 0 and fine(inb) and fine(led) and fine(out) and sent == out:
    print("every acknowledged webhook is stored, changed consent and got its reply")
else:
    print("MISMATCH: acknowledged %d, repeated %d, inbound %d, ledger %d, "
          "replies %d, sent %d" % (ok, rep, inb, led, out, sent))
PY
python3 - "$optd_rps" "$nginx_rps" "$(to_ms "$optd_p99")" <<'PY'
import sys
optd, nginx, p99 = map(float, sys.argv[1:])
print("optd/nginx  %.1f%%   (target >= 25%%)" % (100 * optd / nginx))
print("optd p99    %.2f ms  (target <= 25 ms)" % p99)
PY
if [ -n "${STMT_CPU:-}" ] && [ -s "$STMT_CPU" ]; then
	echo "CPU in SQL statements, us a webhook (all of $STMT_CPU):"
	sort -rn "$STMT_CPU" | head -12 | awk -F'\t' -v n="$optd_ok" \
		'{printf "  %6.1f  %.70s\n", n ? $1 / n : 0, $4}'
fi
