#!/bin/bash
# kannel_loop.sh: keyword messages through Kannel and back, in messages per
# second, against Kannel on its own, in one run:
#   - Kannel alone: bearerbox and smsbox, sms-services answering START
#     and STOP each with a static text (max-messages = 1): by default the
#     texts optd's group sends, so both loops carry the same messages
#     (ALONE_TEXTS=short: one 49-character text for both, as before)
#   - Kannel with optd in the loop. LINK=box (the default): optd is a box
#     of bearerbox in smsbox's place (--kannel-box); it records the
#     message, changes consent and stores the reply, all committed, then
#     hands bearerbox the reply and the message's ack (REPLIES=inline,
#     the default), or its outbox sender sends the reply on the same link
#     (REPLIES=sendsms). LINK=geturl: smsbox runs and its sms-service
#     calls optd's /sms/inbound/kannel; optd answers with the reply, which
#     Kannel sends (REPLIES=inline, max-messages = 1), or answers empty
#     and its outbox sender hands the reply to smsbox's sendsms
#     (REPLIES=sendsms, max-messages = 0)
# Kannel's fakesmsc is the phone network in both: it sends N messages
# (default 5,000, as fast as it can) from 1,000 phones, each START or STOP
# at random, to the group's number, and the clock runs until it has
# received N replies. optd runs on a fresh database, durability full.
# Target: with optd >= 80% of Kannel alone.
#
#   bench/kannel_loop.sh
#   N=20000 bench/kannel_loop.sh
#   OPTD_FLAGS="--kannel-dlr-mask 0" bench/kannel_loop.sh   more optd flags
#   LINK=geturl bench/kannel_loop.sh         optd behind smsbox's get-url
#   REPLIES=sendsms bench/kannel_loop.sh     replies through the outbox
#   PENDING=64 bench/kannel_loop.sh          smsbox's max-pending-requests
#   MAX_PENDING=100 bench/kannel_loop.sh     bearerbox's smsbox-max-pending
#   DLR_MASK=27 bench/kannel_loop.sh         with delivery reports
#   ALONE_TEXTS=short bench/kannel_loop.sh   Kannel alone's one short text
#   PERF=/tmp/loop.perf bench/kannel_loop.sh also perf record -g on optd
#                                            (PERF_OPTS replaces -g)
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_init optd-bench-kannel
N=${N:-5000}
ROUNDS=${ROUNDS:-3}
REPLIES=${REPLIES:-inline}
LINK=${LINK:-box}
# bearerbox's messages in flight to a box at once (its smsbox-max-pending,
# 100 by default): optd acks each once its commit is durable, so it needs
# more in flight than smsbox's answer-at-once service does
MAX_PENDING=${MAX_PENDING:-1000}
# delivery reports optd asks for (--kannel-dlr-mask): none by default, as
# Kannel's static service asks for none; 27 (optd's default) adds two
# reports per reply through bearerbox and optd
DLR_MASK=${DLR_MASK:-0}
# smsbox's requests to a service in flight at once (its connections to
# optd); 512 is Kannel's default.
PENDING=${PENDING:-512}
TIMEOUT=${TIMEOUT:-300}
ALONE_TEXTS=${ALONE_TEXTS:-optd}
OPT_IN_TEXT="Bench: You are subscribed to recurring messages. Msg frequency varies. Msg & data rates may apply. Reply HELP for help, STOP to cancel."
OPT_OUT_TEXT="Bench: You are unsubscribed and will receive no more messages. Reply START to resubscribe."
NUMBER=+16502530000
FAKESMSC=/usr/lib/kannel/test/fakesmsc
secret=$(random_hex 12)

# Kannel's configuration, with this sms-service block, in $tmp/$1.conf;
# each instance has its own ports.
declare -A smsbox_port smsc_port sendsms_port bearerbox_pid smsbox_pid
kannel_conf() { # name service-lines...
	local name=$1
	shift
	smsbox_port[$name]=$(free_port)
	smsc_port[$name]=$(free_port)
	sendsms_port[$name]=$(free_port)
	cat >"$tmp/$name.conf" <<CONF
group = core
admin-port = $(free_port)
admin-password = bench
smsbox-port = ${smsbox_port[$name]}
box-allow-ip = "127.0.0.1"
smsbox-max-pending = $MAX_PENDING
admin-allow-ip = "127.0.0.1"
log-file = "$tmp/$name-bearerbox.log"
log-level = 2

group = smsc
smsc = fake
smsc-id = fake1
port = ${smsc_port[$name]}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = ${sendsms_port[$name]}
max-pending-requests = $PENDING
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
# port answers (smsbox opens it after connecting to bearerbox). With a
# second argument "nosmsbox", bearerbox alone, once its box port answers.
start_kannel() { # name [nosmsbox]
	/usr/sbin/bearerbox -v 2 "$tmp/$1.conf" >"$tmp/$1-bearerbox.out" 2>&1 &
	pids+=($!)
	bearerbox_pid[$1]=$!
	sleep 0.5
	if [ "${2:-}" = nosmsbox ]; then
		smsbox_pid[$1]=
		for _ in $(seq 100); do
			(exec 3<>"/dev/tcp/127.0.0.1/${smsbox_port[$1]}") 2>/dev/null && return
			sleep 0.1
		done
		echo "bearerbox did not start:" >&2
		cat "$tmp/$1-bearerbox.out" >&2
		exit 1
	fi
	/usr/sbin/smsbox -v 2 "$tmp/$1.conf" >"$tmp/$1-smsbox.out" 2>&1 &
	pids+=($!)
	smsbox_pid[$1]=$!
	for _ in $(seq 100); do
		curl -s -m 1 -o /dev/null "http://127.0.0.1:${sendsms_port[$1]}/" && return
		sleep 0.1
	done
	echo "Kannel did not start:" >&2
	cat "$tmp/$1-bearerbox.out" "$tmp/$1-smsbox.out" >&2
	exit 1
}

# fakesmsc sends N messages from 1,000 phones, each START or STOP at
# random, through the named instance; prints "replies seconds
# send-seconds".
loop() { # name
	local msgs=() i
	for i in $(seq 0 999); do
		msgs+=("+1650$((3000000 + i)) $NUMBER text START"
			"+1650$((3000000 + i)) $NUMBER text STOP")
	done
	python3 bench/fakesmsc_clock.py "$N" "$TIMEOUT" "$FAKESMSC" \
		-H 127.0.0.1 -r "${smsc_port[$1]}" -i 0 -m "$N" "${msgs[@]}"
}

# CPU time (user + system, in clock ticks) of these processes so far.
ticks() { # pid...
	local t=0 p
	for p in "$@"; do
		t=$((t + $(awk '{print $14 + $15}' /proc/"$p"/stat)))
	done
	echo "$t"
}

# One round through the named instance: a line, and the rate in
# $tmp/$1.rates. With it, each process's CPU per message, in us.
round() { # name label
	local got s sent rate b0 s0 o0 b1 s1 o1 hz
	hz=$(getconf CLK_TCK)
	b0=$(ticks "${bearerbox_pid[$1]}")
	s0=$(ticks ${smsbox_pid[$1]})
	o0=$( [ "$1" = optd ] && ticks "$optd_pid" || echo 0)
	read -r got s sent < <(loop "$1")
	b1=$(ticks "${bearerbox_pid[$1]}")
	s1=$(ticks ${smsbox_pid[$1]})
	o1=$( [ "$1" = optd ] && ticks "$optd_pid" || echo 0)
	rate=$(awk -v n="$got" -v s="$s" 'BEGIN {printf "%.0f", n / s}')
	[ "$got" -lt "$N" ] && echo "INCOMPLETE: $got of $N replies"
	printf '%-12s %6d replies in %7.3f s (sent in %.3f s)  %6d msg/s' \
		"$2" "$got" "$s" "$sent" "$rate"
	awk -v n="$N" -v hz="$hz" -v b=$((b1 - b0)) -v s=$((s1 - s0)) \
		-v o=$((o1 - o0)) 'BEGIN {
		printf "   CPU/msg: bearerbox %.0f us, smsbox %.0f us, optd %.0f us\n",
			1e6 * b / hz / n, 1e6 * s / hz / n, 1e6 * o / hz / n }' 
	echo "$rate" >>"$tmp/$1.rates"
}

median() { # file
	sort -n "$1" | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

oport=$(free_port)
machine
echo "load: fakesmsc sends $N messages at once (START or STOP from 1,000 phones); the clock stops at the last reply; $ROUNDS rounds each, taking turns; optd as LINK=$LINK, REPLIES=$REPLIES, DLR_MASK=$DLR_MASK; bearerbox smsbox-max-pending $MAX_PENDING; Kannel alone's texts ALONE_TEXTS=$ALONE_TEXTS"

if [ "$ALONE_TEXTS" = short ]; then
	kannel_conf alone \
		'text = "You are subscribed to Bench. Reply STOP to stop."' \
		'max-messages = 1'
else
	# The default replies of optd's group (brand "Bench") to START and
	# STOP, word for word (src/core/smscfg.c); checked against what optd
	# stored, at the end.
	kannel_conf alone "text = \"$OPT_IN_TEXT\"" 'max-messages = 1' '' \
		'group = sms-service' 'keyword = stop' \
		"text = \"$OPT_OUT_TEXT\"" 'max-messages = 1'
fi
start_kannel alone

if [ "$REPLIES" = inline ]; then
	service_replies=('max-messages = 1' 'omit-empty = true')
else
	service_replies=('max-messages = 0')
fi
if [ "$LINK" = box ]; then
	# No sms-service: bearerbox hands every message to optd, its box.
	kannel_conf optd 'text = "unused: optd is the box"'
	start_kannel optd nosmsbox
	link_flags=(--kannel-box "127.0.0.1:${smsbox_port[optd]}")
else
	kannel_conf optd \
		"get-url = \"http://127.0.0.1:$oport/sms/inbound/kannel?from=%p&to=%P&text=%a&id=%I&secret=$secret\"" \
		"${service_replies[@]}"
	link_flags=(--kannel-sendsms-url "http://127.0.0.1:${sendsms_port[optd]}/cgi-bin/sendsms")
fi
start_optd "$tmp/optd.db" "$oport" "$tmp/optd.log" \
	--kannel-replies "$REPLIES" --kannel-dlr-mask "$DLR_MASK" \
	--sms-provider kannel "${link_flags[@]}" \
	--kannel-username optd --kannel-password "$secret" \
	--kannel-secret "$secret" --public-url "http://127.0.0.1:$oport" \
	${OPTD_FLAGS:-}
optd_pid=${pids[-1]}
if [ -n "${PERF:-}" ]; then # optd's profile, all rounds
	perf record -q ${PERF_OPTS:--g} -o "$PERF" -p "$optd_pid" 2>"$tmp/perf.err" &
	perf_pid=$!
fi
admin_api "$oport" POST /admin/subscription_groups \
	"{\"id\":\"bench-group\",\"name\":\"Bench\",\"channel\":\"sms\",\"numbers\":[\"$NUMBER\"]}" >/dev/null
if [ "$LINK" = box ]; then
	for _ in $(seq 100); do
		grep -q 'kannel box: connected' "$tmp/optd.log" && break
		sleep 0.1
	done
else
	start_kannel optd
fi

for _ in $(seq "$ROUNDS"); do
	round alone kannel
	round optd kannel+optd
	# The last delivery reports, before the next round is timed.
	sleep 1
done
if [ -n "${perf_pid:-}" ]; then
	kill -INT "$perf_pid"
	wait "$perf_pid" || true
fi
stop_all

sql() { sqlite3 "$tmp/optd.db" "$1"; }
echo "optd stored $(sql "SELECT count(*) FROM inbound") inbound messages, $(sql "SELECT count(*) FROM consent_ledger") consent changes, $(sql "SELECT count(*) FROM outbox") replies ($(sql "SELECT group_concat(state || ' ' || n, ', ') FROM (SELECT state, count(*) n FROM outbox GROUP BY state)"))"
if [ "$ALONE_TEXTS" = optd ] &&
	[ "$(sql "SELECT DISTINCT body FROM outbox ORDER BY body")" != \
	  "$(printf '%s\n%s' "$OPT_IN_TEXT" "$OPT_OUT_TEXT")" ]; then
	echo "MISMATCH: optd's replies are not the texts Kannel alone sends; the loops do not carry the same messages"
fi
alone=$(median "$tmp/alone.rates")
with=$(median "$tmp/optd.rates")
echo "median: kannel $alone msg/s, kannel+optd $with msg/s"
awk -v a="$alone" -v o="$with" 'BEGIN {printf "kannel+optd / kannel  %.1f%%   (target >= 80%%)\n", 100 * o / a}'
