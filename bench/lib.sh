# lib.sh: what the benchmark scripts share; sourced, not run.
# Callers set tmp (scratch dir), admin (the admin key optd was started
# with), pids=() (the optd processes started), and DURATION, CONNS, THREADS
# (wrk's load) before using these; WRK_SCRIPT picks another wrk script,
# OPTD_BIN another optd binary.

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Start optd in the background and wait until it answers; its pid goes
# to pids, its stderr to log.
start_optd() { # db port log [flags...]
	local db=$1 port=$2 log=$3
	shift 3
	OPTD_ADMIN_KEY=$admin "${OPTD_BIN:-./build/optd}" serve --port "$port" --db "$db" "$@" \
		>/dev/null 2>"$log" &
	pids+=($!)
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return
		sleep 0.1
	done
	echo "optd on $db did not start:" >&2
	cat "$log" >&2
	exit 1
}

stop_all() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
	pids=()
}

# An admin call to the optd on this port; prints the answer.
admin_api() { # port method path body
	curl -sf -X "$2" "http://127.0.0.1:$1$3" \
		-H "Authorization: Bearer $admin" \
		-H 'Content-Type: application/json' -d "$4"
}

# An API key with these scopes and a limit no load reaches; prints it.
# Braze's default limit (5,000 a minute) would turn most of a run into 429s.
bench_key() { # port name scope...
	local port=$1 name=$2 scopes
	shift 2
	scopes=$(printf '"%s",' "$@")
	admin_api "$port" POST /admin/api_keys \
		"{\"name\":\"$name\",\"scopes\":[${scopes%,}],\"rate_limit\":100000000}" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])'
}

# The bench group and a bench key through the optd on this port; sets key.
prepare() { # port
	local port=$1
	admin_api "$port" POST /admin/subscription_groups \
		'{"id":"bench-group","name":"Bench","channel":"sms"}' >/dev/null
	key=$(bench_key "$port" bench subscription.status.set)
}

# Load url with wrk; print a line and set ${label}_rps and ${label}_p99.
run_wrk() { # url label
	OPTD_BENCH_KEY=${key:-} OPTD_BENCH_GROUP=bench-group \
		wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency \
		-s "${WRK_SCRIPT:-bench/status_set.lua}" "$1" >"$tmp/$2.wrk"
	local rps p50 p99 bad
	rps=$(awk '/^Requests\/sec/ {print $2}' "$tmp/$2.wrk")
	p50=$(awk '$1=="50%" {print $2}' "$tmp/$2.wrk")
	p99=$(awk '$1=="99%" {print $2}' "$tmp/$2.wrk")
	bad=$(awk '/Non-2xx/ {print $5}' "$tmp/$2.wrk")
	printf '%-10s %10s req/s   p50 %8s   p99 %8s   non-2xx %s\n' \
		"$2" "$rps" "$p50" "$p99" "${bad:-0}"
	eval "${2}_rps=$rps; ${2}_p99=$p99"
}
