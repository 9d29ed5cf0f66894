#!/bin/bash
# kannel_loop.sh: keyword messages through Kannel and back, in messages per
# second, against Kannel on its own, in one run:
#   - Kannel alone: bearerbox and smsbox, an sms-service answering every
#     message with a static text (max-messages = 1)
#   - Kannel with optd in the loop: the sms-service calls optd's
#     /sms/inbound/kannel (get-url, max-messages = 0); optd records the
#     message, changes consent, queues the reply, and its outbox sender
#     hands the reply to smsbox's sendsms, which gives it to bearerbox
# Kannel's fakesmsc is the phone network in both: it sends N messages
# (default 5,000, as fast as it can) from 1,000 phones, each START or STOP
# at random, to the group's number, and the clock runs until it has
# received N replies. optd runs on a fresh database, durability full.
# Target: with optd >= 80% of Kannel alone.
#
#   bench/kannel_loop.sh
#   N=20000 bench/kannel_loop.sh
#   OPTD_FLAGS="--kannel-dlr-mask 0" bench/kannel_loop.sh   more optd flags
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_init optd-bench-kannel
N=${N:-5000}
TIMEOUT=${TIMEOUT:-300}
NUMBER=+16502530000
FAKESMSC=/usr/lib/kannel/test/fakesmsc
secret=$(random_hex 12)

# Kannel's configuration, with this sms-service block, in $tmp/$1.conf.
kannel_conf() { # name service-lines...
	local name=$1
	shift
	cat >"$tmp/$name.conf" <<CONF
group = core
admin-port = $(free_port)
admin-password = bench
smsbox-port = $smsbox_port
box-allow-ip = "127.0.0.1"
admin-allow-ip = "127.0.0.1"
log-file = "$tmp/$name-bearerbox.log"
log-level = 2

group = smsc
smsc = fake
smsc-id = fake1
port = $smsc_port
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = $sendsms_port
log-file = "$tmp/$name-smsbox.log"
log-level = 2

group = sendsms-user
username = optd
password = $secret

group = sms-service
keyword = default
CONF
	printf '%s\n' "$@" >>"$tmp/$name.conf"
}

# bearerbox and smsbox on $tmp/$1.conf; returns once smsbox's sendsms
# port answers (smsbox opens it after connecting to bearerbox).
start_kannel() { # name
	/usr/sbin/bearerbox -v 2 "$tmp/$1.conf" >"$tmp/$1-bearerbox.out" 2>&1 &
	pids+=($!)
	sleep 0.5
	/usr/sbin/smsbox -v 2 "$tmp/$1.conf" >"$tmp/$1-smsbox.out" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do
		curl -s -o /dev/null "http://127.0.0.1:$sendsms_port/" && return
		sleep 0.1
	done
	echo "Kannel did not start:" >&2
	cat "$tmp/$1-bearerbox.out" "$tmp/$1-smsbox.out" >&2
	exit 1
}

# fakesmsc sends N messages from 1,000 phones, each START or STOP at
# random; prints "replies seconds send-seconds".
loop() {
	local msgs=() i
	for i in $(seq 0 999); do
		msgs+=("+1650$((3000000 + i)) $NUMBER text START"
			"+1650$((3000000 + i)) $NUMBER text STOP")
	done
	python3 bench/fakesmsc_clock.py "$N" "$TIMEOUT" \
		"$FAKESMSC" -H 127.0.0.1 -r "$smsc_port" -i 0 -m "$N" "${msgs[@]}"
}

smsbox_port=$(free_port)
smsc_port=$(free_port)
sendsms_port=$(free_port)
oport=$(free_port)

machine
echo "load: fakesmsc sends $N messages at once (START or STOP from 1,000 phones); the clock stops at the last reply"

# ---- Kannel alone ----
kannel_conf alone 'text = "You are subscribed to Bench. Reply STOP to stop."' \
	'max-messages = 1'
start_kannel alone
read -r alone_got alone_s alone_sent < <(loop)
stop_all
printf 'kannel       %6d replies in %7.3f s (sent in %.3f s)  %8.0f msg/s\n' \
	"$alone_got" "$alone_s" "$alone_sent" "$(echo "$alone_got $alone_s" | awk '{print $1 / $2}')"

# ---- Kannel with optd ----
start_optd "$tmp/optd.db" "$oport" "$tmp/optd.log" \
	--sms-provider kannel \
	--kannel-sendsms-url "http://127.0.0.1:$sendsms_port/cgi-bin/sendsms" \
	--kannel-username optd --kannel-password "$secret" \
	--kannel-secret "$secret" --public-url "http://127.0.0.1:$oport" \
	${OPTD_FLAGS:-}
admin_api "$oport" POST /admin/subscription_groups \
	"{\"id\":\"bench-group\",\"name\":\"Bench\",\"channel\":\"sms\",\"numbers\":[\"$NUMBER\"]}" >/dev/null
kannel_conf optd \
	"get-url = \"http://127.0.0.1:$oport/sms/inbound/kannel?from=%p&to=%P&text=%a&id=%I&secret=$secret\"" \
	'max-messages = 0'
start_kannel optd
read -r optd_got optd_s optd_sent < <(loop)
printf 'kannel+optd  %6d replies in %7.3f s (sent in %.3f s)  %8.0f msg/s\n' \
	"$optd_got" "$optd_s" "$optd_sent" "$(echo "$optd_got $optd_s" | awk '{print $1 / $2}')"
# A moment for the last delivery reports, so the states below are final.
sleep 1
stop_all

sql() { sqlite3 "$tmp/optd.db" "$1"; }
echo "optd stored $(sql "SELECT count(*) FROM inbound") inbound messages, $(sql "SELECT count(*) FROM consent_ledger") consent changes, $(sql "SELECT count(*) FROM outbox") replies ($(sql "SELECT group_concat(state || ' ' || n, ', ') FROM (SELECT state, count(*) n FROM outbox GROUP BY state)"))"
python3 - "$alone_got" "$alone_s" "$optd_got" "$optd_s" "$N" <<'PY'
import sys
ag, a_s, og, o_s, n = map(float, sys.argv[1:])
if ag < n or og < n:
    print("INCOMPLETE: %d of %d replies alone, %d with optd" % (ag, n, og))
print("kannel+optd / kannel  %.1f%%   (target >= 80%%)" % (100 * (og / o_s) / (ag / a_s)))
PY
