#!/bin/bash
# sms_twilio.sh: Twilio's inbound-SMS webhook (POST /sms/inbound/twilio)
# under load, against its baseline, in one run:
#   - nginx answering every request with a static 200 <Response/> (text/xml)
#   - optd on a fresh database, durability full (the default), with the
#     log provider, and a group owning the number the messages go to
# Each gets wrk for $DURATION (default 10 s) with 64 connections and 2
# threads, replaying webhooks signed ahead of time (bench/twilio_requests.py,
# bench/sms_twilio.lua): START and STOP in turn from 100,000 phones, every
# request a consent change with its own MessageSid. Afterwards it waits for
# the outbox to be delivered to the log and counts what optd stored against
# what it acknowledged. nginx and optd take turns for $ROUNDS rounds
# (default 3), optd on a fresh database each time: nginx alone on this
# machine moves by a third from one minute to the next, so one pair of runs
# can say little. Targets: the median of optd's rounds >= 25% of the median
# of nginx's requests/s; p99 <= 25 ms in every round.
#
#   bench/sms_twilio.sh
#   DURATION=30s ROUNDS=5 bench/sms_twilio.sh
#   RATE_MAX=60000 bench/sms_twilio.sh   webhooks made per second of run
#   PERF=/tmp/sms.perf bench/sms_twilio.sh   also perf record -g on optd
#                                            in the first round
#                                            (PERF_OPTS replaces -g)
#   STMT_CPU=/tmp/stmt.txt bench/sms_twilio.sh   also the CPU of each SQL
#                                            statement in the first round
#                                            (bench/stmt_cpu.c)
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

ROUNDS=${ROUNDS:-3}

# optd's port changes each round, but the webhooks are signed once, for
# this URL: every optd is started with it as its --public-url, which is
# what it checks signatures against (as behind a proxy).
url=http://127.0.0.1:$(free_port)
seconds=$(python3 -c '
import sys; d = sys.argv[1]; u = {"s": 1, "m": 60, "h": 3600}
print(int(float(d[:-1]) * u[d[-1]]) if d[-1] in u else int(d))' "$DURATION")
count=$((RATE_MAX * seconds))
python3 bench/twilio_requests.py "$url/sms/inbound/twilio" "$token" \
	"$NUMBER" "$count" "$THREADS" "$reqs/req"
sync

machine
echo "load: wrk -t$THREADS -c$CONNS -d$DURATION, POST /sms/inbound/twilio, $count signed webhooks, START/STOP from 100,000 phones; $ROUNDS rounds, taking turns"
export WRK_SCRIPT=bench/sms_twilio.lua OPTD_BENCH_REQUESTS=$reqs/req

nginx_round() {
	local port
	port=$(free_port)
	start_nginx "$port" 200 text/xml '<?xml version="1.0" encoding="UTF-8"?><Response/>'
	run_wrk "http://127.0.0.1:$port/sms/inbound/twilio" nginx
	stop_nginx
	echo "$nginx_rps" >>"$tmp/nginx.rates"
}

# One round of optd on a fresh database; its rate goes to optd.rates, its
# p99 (ms) to optd.p99s, and a line to mismatches if anything it
# acknowledged was not stored, not in the ledger or not answered.
optd_round() { # round-number
	local port db=$tmp/optd-$1.db log=$tmp/sms-$1.log optd_pid cpu0 cpu1
	local repeated queued sent t0 drain inbound ledger replies perf_pid=
	port=$(free_port)
	start_optd "$db" "$port" "$tmp/optd-$1.log" \
		--sms-provider log --sms-log "$log" \
		--twilio-auth-token "$token" --public-url "$url"
	admin_api "$port" POST /admin/subscription_groups \
		"{\"id\":\"bench-group\",\"name\":\"Bench\",\"channel\":\"sms\",\"numbers\":[\"$NUMBER\"]}" >/dev/null
	optd_pid=${pids[-1]}
	if [ -n "${PERF:-}" ] && [ "$1" = 1 ]; then # optd's profile during the load
		perf record -q ${PERF_OPTS:--g} -o "$PERF" -p "$optd_pid" 2>"$tmp/perf.err" &
		perf_pid=$!
	fi
	cpu0=$(awk '{print $14 + $15}' /proc/"$optd_pid"/stat)
	run_wrk "http://127.0.0.1:$port/sms/inbound/twilio" optd
	cpu1=$(awk '{print $14 + $15}' /proc/"$optd_pid"/stat)
	if [ -n "$perf_pid" ]; then
		kill -INT "$perf_pid"
		wait "$perf_pid" || true
	fi
	repeated=$(awk '/^repeated requests:/ {print $3}' "$tmp/optd.wrk")

	# The outbox sender may still be behind the webhooks: give it a minute.
	t0=$(date +%s.%N)
	for _ in $(seq 300); do
		queued=$(sqlite3 "$db" "SELECT count(*) FROM outbox")
		sent=$(grep -c '^{' "$log" || true)
		[ "$sent" -ge "$queued" ] && break
		sleep 0.2
	done
	drain=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
	stop_all
	# The rest of the round is not timed: do not leave optd's files to the
	# next round's fsyncs.
	inbound=$(sqlite3 "$db" "SELECT count(*) FROM inbound")
	ledger=$(sqlite3 "$db" "SELECT count(*) FROM consent_ledger")
	replies=$(sqlite3 "$db" "SELECT count(*) FROM outbox")
	rm -f "$db" "$db-wal" "$db-shm" "$log"
	echo "optd       acknowledged $optd_ok webhooks ($repeated repeated a MessageSid); CPU $(awk -v t=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" -v n="$optd_ok" \
		'BEGIN {printf "%.2f s, %.0f us a webhook", t / hz, n ? 1e6 * t / hz / n : 0}')"
	echo "optd       stored $inbound inbound messages, $ledger consent changes, $replies replies; $sent replies in the log ${drain}s after the load"
	python3 - "$optd_ok" "$repeated" "$inbound" "$ledger" "$replies" "$sent" "$CONNS" >>"$tmp/mismatches" <<'PY'
import sys
ok, rep, inb, led, out, sent, conns = map(int, sys.argv[1:])
# Requests in flight when wrk stopped are stored but not counted as
# answered: up to one per connection.
fine = lambda n: ok - rep <= n <= ok + conns
if not (rep == 0 and fine(inb) and fine(led) and fine(out) and sent == out):
    print("acknowledged %d, repeated %d, inbound %d, ledger %d, "
          "replies %d, sent %d" % (ok, rep, inb, led, out, sent))
PY
	echo "$optd_rps" >>"$tmp/optd.rates"
	to_ms "$optd_p99" >>"$tmp/optd.p99s"
}

if [ -n "${STMT_CPU:-}" ]; then
	gcc -O2 -shared -fPIC -o "$tmp/stmt_cpu.so" bench/stmt_cpu.c -ldl
	export STMT_CPU_OUT=$STMT_CPU
fi
: >"$tmp/mismatches"
for r in $(seq "$ROUNDS"); do
	nginx_round
	if [ "$r" = 1 ] && [ -n "${STMT_CPU:-}" ]; then
		OPTD_PRELOAD=$tmp/stmt_cpu.so optd_round "$r"
	else
		optd_round "$r"
	fi
	if [ "$r" = 1 ]; then first_ok=$optd_ok; fi
done

if [ -s "$tmp/mismatches" ]; then
	sed 's/^/MISMATCH: /' "$tmp/mismatches"
else
	echo "every round: every acknowledged webhook is stored, changed consent and got its reply"
fi
python3 - "$tmp/nginx.rates" "$tmp/optd.rates" "$tmp/optd.p99s" <<'PY'
import statistics, sys
nginx, optd, p99 = ([float(x) for x in open(f)] for f in sys.argv[1:])
n, o = statistics.median(nginx), statistics.median(optd)
print("median: nginx %.0f req/s, optd %.0f req/s" % (n, o))
print("optd/nginx  %.1f%%   (median of rounds; target >= 25%%)" % (100 * o / n))
print("optd p99    %.2f ms  (worst round; target <= 25 ms)" % max(p99))
PY
if [ -n "${STMT_CPU:-}" ] && [ -s "$STMT_CPU" ]; then
	echo "CPU in SQL statements, us a webhook, first round (all of $STMT_CPU):"
	sort -rn "$STMT_CPU" | head -12 | awk -F'\t' -v n="$first_ok" \
		'{printf "  %6.1f  %.70s\n", n ? $1 / n : 0, $4}'
fi
